/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The datapath's own structures, shared by its three files and by nothing
 * else: dp.c (the workers' packet path), dp_commit.c (what the control
 * thread does when the configuration changes) and dp_setup.c (start, stop,
 * housekeeping, counters and dumps).
 */
#ifndef XLB_DP_INT_H
#define XLB_DP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "conn.h"
#include "dp.h"
#include "nexthop.h"
#include "pkt.h"
#include "xmit.h"

struct xlb_cnt;

/*
 * What a connection entry binds at creation (its opaque bind blob): the
 * method and the real server, once. The next hops are not copied: the
 * entry keeps where they were found (a next-hop cache slot, a route hint)
 * and every packet reads them again, so that a MAC that changes (a host
 * replaced, a bond failing over, announced by gratuitous ARP), a gateway
 * that fails over or a route that moves are followed by the established
 * connections too, for the cost of one seqlocked cache line per packet.
 */
struct dp_bind {
	xlb_xmit_fn xmit;		/* DR, NAT in or TUN: bound once */
	uint32_t rip;			/* network order */
	uint16_t rport;
	uint8_t  fwd;			/* enum xlb_fwd */
	/* The fast path (fastpath.c), changed under the entry's lock with
	 * xlb_conn_edit(): which directions this xlbd installed (bit 0 the
	 * original tuple, bit 1 NAT's reply tuple; valid only while fp_gen
	 * is this xlbd's), and per direction the entry's packet and byte
	 * sums already merged into the counters (mod 2^32). */
	uint8_t  fp_dirs;
	uint32_t in_slot;		/* next-hop cache slot of rip (a hint) */
	struct xlb_nh_hint out;		/* NAT: towards the client (a hint) */
	uint32_t fp_gen;
	uint32_t fp_base_pkts[2];
	uint32_t fp_base_bytes[2];
};
_Static_assert(sizeof(struct dp_bind) <= XLB_CONN_BIND_SIZE,
	       "dp_bind must fit in a connection entry");

/* The last service lookup of a batch: a batch's packets mostly go to one
 * VIP (or are replies of one service), so most lookups skip the snapshot's
 * binary search. Valid for one batch only: a snapshot's address may be
 * reused by a later one. */
struct dp_svc_cache {
	bool valid;
	uint8_t proto;
	uint16_t port;			/* network order */
	uint32_t addr;			/* network order */
	const struct xlb_snap_svc *svc;	/* NULL: no such service */
};

/* A deleted real server whose connections wait for a grace period. */
struct dp_gone {
	struct xlb_cnt *cnt;		/* the datapath's reference */
	uint64_t gp;			/* xlb_tables_grace_begin() token */
	bool ready;
};

struct dp_worker {
	struct xlb_dp *dp;
	struct xlb_xsk_worker *xw;
	int id;
	int reader;
	pthread_t thread;
	bool started;
	struct dp_svc_cache sc;
	/* Connection sync (sync.h), master only: this worker's ring, or
	 * NULL. Set by the sync thread while the worker runs (atomic). */
	struct xlb_sync_ring *sync_ring;
	uint64_t cnt[XLB_DP_CNT_MAX];
	uint64_t parse_drops[XLB_PKT_ERR_COUNT];
	struct xlb_icmp_limit icmp_limit;	/* frag-needed we send */
	uint16_t tun_frag_id;		/* outer ids of fragmented TUN datagrams */
	/* Loops done, for the control thread's "is it making progress"
	 * (xlb_dp_worker_beats): written by this worker only, relaxed. */
	uint64_t beat;
} __attribute__((aligned(64)));

struct xlb_fp;

struct xlb_dp {
	struct xlb_tables *tables;
	struct xlb_fp *fp;		/* the fast path (fastpath.c) */
	bool fp_on;			/* --fast-path on: workers call it */
	unsigned int fp_slot;		/* its counter slot (after the workers') */
	bool fp_due;			/* sync at the next tick */
	uint32_t fp_route_gen;		/* xlb_nh_route_gen() at the last sync */
	uint64_t fp_synced_ms;
	uint64_t fp_grace_until;	/* ms: pending next hops keep entries */
	struct xlb_xdp *xdp;
	struct xlb_xsk *xsk;
	struct xlb_conn_tab *conns;
	struct xlb_nh_cache *nh;
	/* The director's IPv6 addresses as last put into local_addrs6
	 * (polled each second: localaddr.c follows IPv4 only). */
	union xlb_inaddr *local6;
	size_t n_local6;
	uint64_t local6_ms;
	struct xlb_local_addrs *local;	/* the director's addresses -> XDP */
	bool local_full;		/* local_addrs map full (warned once) */
	int n_ports;
	int ifindex[XLB_XSK_MAX_IFACES];
	uint8_t mac[XLB_XSK_MAX_IFACES][6];	/* each port's own MAC */
	int n_workers;
	struct dp_worker *workers;
	atomic_bool stop;
	bool failed;			/* xlb_dp_start() is unwinding */
	const char *state_path;		/* connection table's file, or NULL */
	/* Control thread: what the last commit made us hold. */
	uint32_t *wanted;		/* next hops (RIPs), sorted */
	size_t n_wanted;
	struct in6_addr *wanted6;	/* IPv6 RIPs, sorted (memcmp) */
	size_t n_wanted6;
	struct xlb_cnt **dests;		/* real servers' counters, sorted */
	size_t n_dests;
	struct dp_gone *gone;		/* deleted, connections not flushed yet */
	size_t n_gone, cap_gone;
	uint32_t expire_budget;
	/* Control thread: RX queue counts as last seen (xlb_dp_tick), to
	 * report a change (ethtool -L) that leaves queues unserved. */
	int seen_queues[XLB_XSK_MAX_IFACES];
	uint64_t queues_checked_ms;
	uint64_t queues_warned_ms;
	uint64_t queue_changes;
	uint64_t queues_unserved;
};

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline int dp_port(const struct xlb_dp *dp, int ifindex)
{
	for (int i = 0; i < dp->n_ports; i++)
		if (dp->ifindex[i] == ifindex)
			return i;
	return -1;
}

/* dp.c: the worker thread, and the connection table's callbacks (called
 * by workers and the control thread under a stripe lock). */
void *xlb_dp_worker_main(void *arg);
/* Fills t (bind blob included) for flow k on real server d, as the
 * scheduler does for a new flow; -EAGAIN (next hop pending), -ENETUNREACH,
 * -ENXIO (egress not served). Any thread. */
struct xlb_snap_dest;
void xlb_dp_bind(const struct xlb_snap_dest *d, struct xlb_conn_target *t);
void xlb_dp_on_count(void *arg, const void *dest, int d_active, int d_inactive);
bool xlb_dp_dest_alive(void *arg, const void *dest);
void xlb_dp_on_persist(void *arg, const void *dest, int delta);

/* dp.c: the next hop of now for a connection's original direction (ib,
 * egress port), and for NAT's reply direction (ob, port); for the fast
 * path's sync. 0 or what the packet path would drop for (sched_error). */
int xlb_dp_in_nexthop(struct xlb_dp *dp, const struct xlb_conn_view *v,
		      struct xlb_xmit_bind *ib, int *port);
int xlb_dp_out_nexthop(struct xlb_dp *dp, const struct xlb_conn_view *v,
		       struct xlb_xmit_bind *ob, int *port);

/* fastpath.c: after a worker forwarded a packet of connection v, in its
 * original direction (ib: how it went) or NAT's reply direction (ob, and
 * the egress port): installs, or removes, its fast-path entry. svc_cnt,
 * dest_cnt: where the entry's last counters go on removal. */
struct xlb_snap_svc;
void xlb_dp_fp_in(struct dp_worker *w, struct xlb_cnt *svc_cnt,
		  const struct xlb_conn_view *v, const struct xlb_pkt *p,
		  const struct xlb_xmit_bind *ib);
void xlb_dp_fp_out(struct dp_worker *w, struct xlb_cnt *svc_cnt,
		   const struct xlb_conn_view *v, const struct xlb_pkt *p,
		   const struct xlb_xmit_bind *ob, int port);
/* fastpath.c, control thread: reconcile the cache with the connections
 * (see fastpath.h); the tick runs it when due. */
void xlb_dp_fp_sync(struct xlb_dp *dp, uint64_t now);
void xlb_dp_fp_tick(struct xlb_dp *dp, uint64_t now);
/* The fast-path counters, as emit() calls (group "fastpath"). */
int xlb_dp_fp_counters(const struct xlb_dp *dp, const uint64_t *xdp_cnt,
		       int (*emit)(const char *group, const char *name,
				   uint64_t value, void *arg), void *arg);
bool xlb_dp_dest_down(void *arg, const void *dest);
/* dp_sync.c: the connection table's on_release (sync removal records). */
void xlb_dp_on_release(void *arg, const struct xlb_conn_key *orig, uint8_t fwd,
		       uint8_t state, bool tmpl);

/* dp_commit.c: deleted servers' flush when due (every tick), and the
 * references still held at stop (workers stopped). */
void xlb_dp_commit_tick(struct xlb_dp *dp);
void xlb_dp_commit_stop(struct xlb_dp *dp);

/* dp_commit.c: the tables' check of a real server (DR must be on-link). */
int xlb_dp_check_dest(const struct xlb_dest_cfg *d, char *err, size_t errlen,
		      void *arg);

/* dp_setup.c: parse classes by -error, as `malformed NAME` counters. */
extern const char *const xlb_dp_parse_names[XLB_PKT_ERR_COUNT];

#endif /* XLB_DP_INT_H */
