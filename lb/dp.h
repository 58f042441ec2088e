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
	XLB_DP_DROP_TOO_BIG,	/* TUN: too big, DF clear */
	XLB_DP_DROP_XMIT,	/* the rewrite refused (no headroom, ...) */
	XLB_DP_DROP_DR_GATEWAY,	/* DR real server now behind a gateway */
	XLB_DP_DROP_VLAN,	/* 802.1Q-tagged, but leaving by another
				 * interface: the tag would mean nothing there */
	XLB_DP_CNT_MAX
};

extern const char *const xlb_dp_cnt_names[XLB_DP_CNT_MAX];

struct xlb_dp_params {
	const char **ifnames;
	int n_ifaces;
	int n_queues;			/* 0: every RX queue */
	enum xlb_xdp_mode xdp_mode;
	enum xlb_xsk_zc zerocopy;
	uint32_t max_conns;
	struct xlb_tables *tables;
};

void xlb_dp_params_default(struct xlb_dp_params *p);

struct xlb_dp;

/* Sets everything up and starts the workers. 0 or -errno with a sentence
 * in err; on error nothing is left attached. */
int  xlb_dp_start(struct xlb_dp **out, const struct xlb_dp_params *p,
		  char *err, size_t errlen);
/* Stops the workers, detaches, frees. NULL-safe. */
void xlb_dp_stop(struct xlb_dp *dp);

/* After each table commit (control thread): XDP maps, next hops, flushing
 * the connections of deleted real servers, timeouts. */
void xlb_dp_commit(const struct xlb_snap *snap, void *dp);

/* The next-hop cache's rtnetlink fd, for the control thread's poll. */
int  xlb_dp_fd(const struct xlb_dp *dp);
void xlb_dp_process(struct xlb_dp *dp);
/* Housekeeping, every ~100 ms: next-hop retries, connection expiry. */
void xlb_dp_tick(struct xlb_dp *dp, uint64_t now_ms);

void xlb_dp_counters(const struct xlb_dp *dp, uint64_t out[XLB_DP_CNT_MAX]);
void xlb_dp_log_stats(const struct xlb_dp *dp);

#endif /* XLB_DP_H */
