/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Announce while healthy (xlbd --announce-table N): xlbd keeps, in the
 * kernel routing table N, one route
 *
 *	blackhole VIP/32 table N proto 250	(IPv4)
 *	blackhole VIP/128 table N proto 250	(IPv6, in the same table number)
 *
 * per VIP it can serve now, for a BGP (or OSPF) speaker such as BIRD to
 * import from that table and announce. A VIP is announced while xlbd
 * runs, every datapath worker's loop made progress within the last
 * XLB_ANNOUNCE_STALL_MS, and at least one service on the VIP can take a
 * new connection (xlb_announce_svc_serves). Only routes of protocol
 * XLB_RTPROT in table N are ever added or removed; at start the ones an
 * earlier run left are removed first.
 *
 * A guard process, forked before any thread exists, withdraws every such
 * route when xlbd dies (the socket between them reaches EOF, or
 * PR_SET_PDEATHSIG fires) or stops sending its heartbeat for
 * XLB_ANNOUNCE_GUARD_TIMEOUT_MS (xlbd hung or stopped), and tells xlbd so
 * (a 'W' byte back), which re-announces once it runs again.
 *
 * Everything but xlb_announce_new() (the fork) runs on the control thread.
 */
#ifndef XLB_ANNOUNCE_H
#define XLB_ANNOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tables.h"

/* The routing protocol number of xlbd's routes (rtnetlink rtm_protocol;
 * iproute2 shows it as "proto 250"). */
#define XLB_RTPROT			250
#define XLB_ANNOUNCE_TABLE_MIN		1
#define XLB_ANNOUNCE_TABLE_MAX		252	/* 253..255: default, main, local */
#define XLB_ANNOUNCE_STALL_MS		1000	/* a worker without progress: stalled */
#define XLB_ANNOUNCE_BEAT_MS		200	/* xlbd -> guard heartbeat */
#define XLB_ANNOUNCE_GUARD_TIMEOUT_MS	1000	/* guard withdraws after this */
#define XLB_ANNOUNCE_RESYNC_MS		1000	/* table re-read from the kernel */

/* "--announce-table" argument: 1..252. 0 or -EINVAL with a sentence. */
int xlb_announce_parse_table(const char *s, uint32_t *out, char *err, size_t errlen);

/* Every protocol-XLB_RTPROT route of table removed (xlbd --withdraw):
 * how many, or -errno with a sentence in err. */
int xlb_announce_withdraw_table(uint32_t table, char *err, size_t errlen);

/* ---- the decision (pure, unit-tested) ---- */

/* Whether the service can take a new connection now, as the datapath
 * would schedule it: a real server with xlb_dest_weight() > 0 while the
 * service is not below its quorum, or its sorry server. */
bool xlb_announce_svc_serves(const struct xlb_snap_svc *svc);

/* A VIP of either family (addr as in struct xlb_svc_key: IPv4 in the
 * first four bytes, the rest zero). */
struct xlb_announce_vip {
	union xlb_inaddr addr;
	uint8_t af;			/* AF_INET or AF_INET6 */
};

/* The VIPs to announce: none unless workers_ok, else every VIP with at
 * least one serving service. Written to out (IPv4 first, each family in
 * numeric order, no duplicates), at most max; returns how many. */
size_t xlb_announce_vips(const struct xlb_snap *s, bool workers_ok,
			 struct xlb_announce_vip *out, size_t max);

/* Worker progress, from counters each worker bumps once per loop. */
struct xlb_announce_progress {
	unsigned int n;
	uint64_t last_ms;			/* the previous call; 0: none */
	uint64_t beat[XLB_MAX_WORKERS];
	uint64_t moved_ms[XLB_MAX_WORKERS];	/* when beat last changed */
};

/* Record beats[0..n) at now_ms; returns how many workers made no progress
 * for XLB_ANNOUNCE_STALL_MS or more. A first call, a change of n, or a gap
 * of that long since the previous call (the caller itself did not run)
 * restarts every worker's clock. */
unsigned int xlb_announce_progress(struct xlb_announce_progress *p, const uint64_t *beats,
				   unsigned int n, uint64_t now_ms);

/* ---- the daemon side ---- */

struct xlb_announce;

/* Each worker's progress counter, copied into out[0..max); returns how many
 * workers there are (the datapath's xlb_dp_worker_beats). */
typedef unsigned int (*xlb_announce_beats_fn)(void *arg, uint64_t *out, unsigned int max);

/*
 * Forks the guard (call before any thread exists), opens rtnetlink and
 * removes the protocol-250 routes an earlier run left in table. argv:
 * main's (may be NULL): the guard writes its name over its copy of the
 * strings. 0 or -errno with a sentence in err (nothing left behind).
 */
int  xlb_announce_new(struct xlb_announce **out, uint32_t table, char **argv, char *err,
		      size_t errlen);
/* What to judge: the tables and the workers' progress (the datapath).
 * Until this is called, nothing is announced. */
void xlb_announce_attach(struct xlb_announce *a, struct xlb_tables *t,
			 xlb_announce_beats_fn beats, void *beats_arg);
/* Every control tick (~100 ms): heartbeat to the guard, its news, worker
 * progress, the decision over the current snapshot, routes added and
 * removed. */
void xlb_announce_tick(struct xlb_announce *a, uint64_t now_ms);
/* A graceful stop: every route withdrawn now, none announced again, the
 * guard told to exit. why: for the log ("SIGTERM"). */
void xlb_announce_stop(struct xlb_announce *a, const char *why);
/* Counters as "announce NAME VALUE" (xlbctl --counters). NULL: none. */
int  xlb_announce_dump_counters(struct xlb_announce *a, xlb_counter_emit_fn emit, void *arg);
/* Stops (if not yet), reaps the guard, frees. NULL-safe. */
void xlb_announce_free(struct xlb_announce *a);

#endif /* XLB_ANNOUNCE_H */
