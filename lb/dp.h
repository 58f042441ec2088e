/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The datapath: the steering XDP program on every interface, one AF_XDP
 * socket per RX queue (one UMEM), one worker thread per queue index, the
 * connection table and the next-hop cache, glued to xlbd's tables.
 *
 * Threads: xlb_dp_start/stop, xlb_dp_commit, xlb_dp_process and
 * xlb_dp_tick belong to the control thread; the workers only read the
 * published table snapshot (QSBR readers) and the next-hop cache
 * (lock-free), and share the connection table (striped locks).
 */
#ifndef XLB_DP_H
#define XLB_DP_H

#include <stddef.h>
#include <stdint.h>

#include "xdp.h"
#include "xsk.h"

struct xlb_tables;
struct xlb_snap;

/* Per-worker datapath counters (summed by xlb_dp_counters()). */
enum xlb_dp_cnt {
	XLB_DP_RX = 0,		/* frames taken from the RX rings */
	XLB_DP_TX,		/* frames handed to a TX ring */
	XLB_DP_NAT_REPLIES,	/* NAT replies translated back */
	XLB_DP_ICMP_FWD,	/* ICMP errors forwarded to a real server */
	XLB_DP_FRAG_NEEDED,	/* ICMP frag-needed sent to clients (TUN) */
	XLB_DP_DROP_MALFORMED,	/* parse errors (by class: xlb_dp_parse_drops) */
	XLB_DP_DROP_FRAGMENT,	/* non-first fragments (no ports) */
	XLB_DP_DROP_TTL,	/* TTL 0 */
	XLB_DP_DROP_NO_SERVICE,	/* steered but no service / no NAT entry */
	XLB_DP_DROP_NO_DEST,	/* service without a usable real server */
	XLB_DP_DROP_NEIGH,	/* next hop not resolved yet */
	XLB_DP_DROP_NO_PORT,	/* egress interface not served by xlbd */
	XLB_DP_DROP_CONN_FULL,	/* connection table full */
	XLB_DP_DROP_ICMP,	/* ICMP not about a tracked flow */
	XLB_DP_DROP_TOO_BIG,	/* TUN: too big and cannot be fragmented */
	XLB_DP_DROP_XMIT,	/* the rewrite refused (no headroom, ...) */
	XLB_DP_DROP_VLAN,	/* 802.1Q-tagged (the steering program passes
				 * them to the kernel; an older one did not) */
	XLB_DP_TUN_FRAGMENTED,	/* TUN datagrams (DF clear) sent in fragments */
	XLB_DP_DROP_TUN_FRAG_NO_FRAME,	/* ... not sent: no spare frame */
	XLB_DP_DROP_ICMP_RATELIMIT,	/* too big with DF, frag-needed over
					 * the ICMP rate limit: not sent */
	XLB_DP_DROP_DR_GATEWAY,	/* DR real server now behind a gateway */
	XLB_DP_CNT_MAX
};

extern const char *const xlb_dp_cnt_names[XLB_DP_CNT_MAX];

struct xlb_dp_params {
	const char **ifnames;
	int n_ifaces;
	int n_queues;			/* 0: every RX queue; N: refuse to start if
					 * an interface has more than N */
	enum xlb_xdp_mode xdp_mode;
	enum xlb_xsk_zc zerocopy;
	uint32_t max_conns;
	struct xlb_tables *tables;
	/* The connection table's file (NULL: private memory): its entries
	 * outlive the process and the next xlbd adopts them. */
	const char *state_path;
	/* --fast-path on|off (default on), --fast-path-entries (0: the
	 * default, XLB_FP_ENTRIES_DEFAULT): lb/fastpath.h. */
	bool fast_path;
	uint32_t fast_path_entries;
};

void xlb_dp_params_default(struct xlb_dp_params *p);

/* Where xlb_dp_start() pins the fast path's maps for a state file (""
 * without one): for xlbd --detach, which removes them. */
void xlb_dp_fp_pin_dir(const char *state_path, char *buf, size_t len);

/* Workers (and so counter slots, xlb_tables_set_workers()) that
 * xlb_dp_start() will run for p: the most RX queues of any interface. Or
 * -errno with a sentence in err: an interface with more RX queues than
 * p->n_queues (they would go unserved) or than XLB_XSK_QUEUES_MAX. */
int  xlb_dp_workers_needed(const struct xlb_dp_params *p, char *err, size_t errlen);

struct xlb_dp;

/* Sets everything up and starts the workers, one per RX queue index (the
 * interface with the most queues decides), worker i pinned to the i-th CPU
 * of the calling thread's affinity, round robin: sockets, maps, connection
 * table, first commit, then the XDP attach (replacing an earlier run's
 * program in one step), then the workers. 0 or -errno with a sentence in
 * err; on error an interface that had no xlb_steer before has none. */
int  xlb_dp_start(struct xlb_dp **out, const struct xlb_dp_params *p,
		  char *err, size_t errlen);
/* Stops the workers, closes the sockets, frees. The XDP program stays
 * attached (it drops VIP traffic until the next xlbd replaces it; see
 * xdp.h). NULL-safe. */
void xlb_dp_stop(struct xlb_dp *dp);

/* Before each table commit (the tables' prepare callback, control
 * thread): the XDP maps take the candidate as one transaction, or refuse
 * it whole (-ENOSPC naming the map's limit, or the map error, with the
 * maps as they were). xlb_dp_prepare_xdp() is the same on an XDP object
 * alone. 0 or -errno with a sentence in err. */
int  xlb_dp_prepare(const struct xlb_snap *cand, void *dp, char *err, size_t errlen);
int  xlb_dp_prepare_xdp(struct xlb_xdp *x, const struct xlb_snap *cand, char *err,
			size_t errlen);
/* After each table commit (control thread): next hops, timeouts, and the
 * connections of deleted real servers, flushed once every worker has
 * passed a quiescent point (at once if they do within 5 ms, else from
 * xlb_dp_tick). */
void xlb_dp_commit(const struct xlb_snap *snap, void *dp);

/* The next-hop cache's rtnetlink fd, for the control thread's poll. */
int  xlb_dp_fd(const struct xlb_dp *dp);
void xlb_dp_process(struct xlb_dp *dp);
/* Housekeeping, every ~100 ms: next-hop retries, connection expiry,
 * deleted servers' connections. */
void xlb_dp_tick(struct xlb_dp *dp, uint64_t now_ms);

void xlb_dp_counters(const struct xlb_dp *dp, uint64_t out[XLB_DP_CNT_MAX]);
/* Each worker's loop count (bumped once per loop, idle or not: an idle
 * worker's poll times out every 100 ms) into out[0..max); returns how many
 * were copied. Control thread (announce.h judges progress with it). */
unsigned int xlb_dp_worker_beats(const struct xlb_dp *dp, uint64_t *out, unsigned int max);
void xlb_dp_log_stats(const struct xlb_dp *dp);

#endif /* XLB_DP_H */
