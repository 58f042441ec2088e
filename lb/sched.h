/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Schedulers: how a service chooses the real server of a new flow.
 *
 * As IPVS's struct ip_vs_scheduler, one file per scheduler (lb/sched_*.c)
 * fills one struct xlb_sched; the core (tables.c, dp.c) never knows which
 * one runs. The life of a scheduler's data follows the tables' snapshots
 * (tables.h):
 *
 *   update    control thread, whenever a snapshot is built with new real
 *             servers, weights, thresholds, vnodes, seed or scheduler for
 *             the service: builds the scheduler's immutable data (a ring,
 *             a Maglev table, wrr's gcd and max weight) from the servers.
 *             The data is shared by every snapshot in which the service
 *             has these servers and freed (free_data) with the last one,
 *             i.e. after a QSBR grace period.
 *   init      control thread, once per service (and again when its
 *             scheduler changes): zeroes and prepares the scheduler's
 *             mutable state (rr's cursor, lblc's table). The state object
 *             survives snapshot swaps, is shared by all datapath workers at
 *             once (atomics or tiny per-entry locks) and is freed (done,
 *             then free) when the last snapshot holding it is freed, again
 *             after a grace period, so no worker can still hold it.
 *   schedule  datapath worker, once per new flow, under a connection-table
 *             stripe lock: short, no allocation, no blocking, no syscall.
 *             Returns an index into svc->dests, or -ENOENT when no server
 *             can take the flow (all weight 0 or overloaded).
 *
 * Every scheduler reads a server's weight through xlb_dest_weight() only,
 * and gives no new flow to a server that xlb_sched_dest_unavailable() calls
 * unavailable: weight 0 (quiesced) or overloaded by its -x/-y thresholds.
 */
#ifndef XLB_SCHED_H
#define XLB_SCHED_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "tables.h"

/* One new flow, as the scheduler sees it (network order). */
struct xlb_sched_flow {
	uint32_t saddr;		/* IPv4; AF_INET6: IPVS's fold of saddr6 */
	uint32_t daddr;		/* IPv4; AF_INET6: IPVS's fold of daddr6 */
	uint16_t sport;
	uint16_t dport;
	uint8_t  proto;
	uint8_t  af;		/* 0 or AF_INET; AF_INET6: saddr6/daddr6 hold it */
	uint16_t ip_id;		/* the datagram's IP id (IPv6: 0): -o spreads one flow */
	uint32_t seed;		/* the snapshot's hash seed */
	union xlb_inaddr saddr6;	/* AF_INET6 only */
	union xlb_inaddr daddr6;	/* AF_INET6 only */
};

/*
 * IPVS folds an IPv6 address into 32 bits for its table schedulers (sh,
 * dh, lblc, lblcr, mh: ip_vs_*_hashkey XOR the four words); xlb does the
 * same, so those keep their IPv4 code and IPv4 results. An IPv4 address
 * folds to itself.
 */
static inline uint32_t xlb_inaddr_fold(int af, const union xlb_inaddr *a)
{
	return af == AF_INET6 ? a->ip6[0] ^ a->ip6[1] ^ a->ip6[2] ^ a->ip6[3] : a->ip;
}

/* Fill an IPv6 flow (what the datapath will call): the full addresses and
 * their folds. */
static inline void xlb_sched_flow_set6(struct xlb_sched_flow *f, const union xlb_inaddr *s,
				       const union xlb_inaddr *d)
{
	f->af = AF_INET6;
	f->saddr6 = *s;
	f->daddr6 = *d;
	f->saddr = xlb_inaddr_fold(AF_INET6, s);
	f->daddr = xlb_inaddr_fold(AF_INET6, d);
}

/* The flow's destination (client) address as 16 bytes, either family. */
static inline union xlb_inaddr xlb_sched_flow_daddr(const struct xlb_sched_flow *f)
{
	return f->af == AF_INET6 ? f->daddr6 : xlb_inaddr_v4(f->daddr);
}

/*
 * Persistence granularity (-M) of a client address: IPv4 ANDs the mask,
 * IPv6 keeps the first netmask bits (IPVS's ipv6_addr_prefix), the rest
 * zero.
 */
static inline union xlb_inaddr xlb_persist_mask(int af, const union xlb_inaddr *a,
						uint32_t netmask)
{
	union xlb_inaddr m = { .ip6 = { 0 } };

	if (af != AF_INET6) {
		m.ip = a->ip & netmask;
		return m;
	}
	if (netmask > 128)
		netmask = 128;
	for (unsigned int i = 0; i < netmask / 8; i++)
		m.b[i] = a->b[i];
	if (netmask % 8)
		m.b[netmask / 8] = a->b[netmask / 8] & (uint8_t)(0xff00u >> (netmask % 8));
	return m;
}

/* What update builds from: the service and its servers, sorted. */
struct xlb_sched_conf {
	const struct xlb_svc_cfg *svc;
	const struct xlb_snap_dest *dests;
	uint32_t n;
	uint32_t seed;
};

struct xlb_sched {
	const char *name;	/* as ipvsadm -s */
	const char *desc;	/* one line, for help and README */
	size_t state_size;	/* mutable per-service state (zeroed); 0: none */
	/* Mutable state just allocated (zeroed): set it up. NULL: nothing. */
	void (*init)(void *state);
	/* State about to be freed (no reader left). NULL: nothing. */
	void (*done)(void *state);
	/* Immutable data for conf: *data (NULL allowed) and its cost in ring
	 * points of 8 bytes (the tables' memory budget). 0 or -errno. NULL:
	 * no data. */
	int  (*update)(const struct xlb_sched_conf *c, void **data, uint64_t *cost);
	void (*free_data)(void *data);
	int  (*schedule)(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f);
};

/* The registry: every scheduler, ring first (the default). */
extern const struct xlb_sched *const xlb_scheds[];
extern const unsigned int xlb_nscheds;
const struct xlb_sched *xlb_sched_find(const char *name);	/* NULL if unknown */
/* Names as ipvsadm -b spells them for sched (sh-port, flag-1, ...), ","-
 * separated, of the XLB_SVC_F_SCHED* bits in flags; "" when none. */
const char *xlb_sched_flags_str(const char *sched, uint32_t flags, char *buf, size_t len);
/* Parse ipvsadm's -b list for sched (NULL: unknown, no compatibility
 * check): 0 and *flags, or -EINVAL with a sentence. */
int xlb_sched_flags_parse(const char *sched, const char *list, uint32_t *flags,
			  char *err, size_t errlen);

/* Mutable per-service state (control thread: new/get/put; the last put
 * happens only from the freeing of a snapshot or a discarded candidate). */
struct xlb_sched_state {
	unsigned int refs;
	const struct xlb_sched *ops;
	_Alignas(64) unsigned char priv[];
};
struct xlb_sched_state *xlb_sched_state_new(const struct xlb_sched *ops);
void xlb_sched_state_put(struct xlb_sched_state *s);		/* NULL-safe */

/* ---- helpers for the schedulers (datapath) ---- */

static inline uint32_t xlb_dest_active(const struct xlb_snap_dest *d)
{
	return atomic_load_explicit(&d->cnt->activeconns, memory_order_relaxed);
}

static inline uint32_t xlb_dest_inactive(const struct xlb_snap_dest *d)
{
	return atomic_load_explicit(&d->cnt->inactconns, memory_order_relaxed);
}

/* IPVS's ip_vs_dest_conn_overhead: an active connection weighs 256 idle ones. */
static inline uint64_t xlb_dest_overhead(const struct xlb_snap_dest *d)
{
	return ((uint64_t)xlb_dest_active(d) << 8) + xlb_dest_inactive(d);
}

/*
 * IPVS's IP_VS_DEST_F_OVERLOAD: set once the server's connections (active +
 * inactive) reach the upper threshold, cleared only when they fall below
 * the lower one (0: 3/4 of the upper). IPVS updates the flag when a
 * connection is bound or unbound; here it is updated when a flow is
 * scheduled, which is the only moment it is read, so the hysteresis is the
 * same. The flag lives in the server's long-lived counters.
 */
static inline bool xlb_sched_dest_overloaded(const struct xlb_snap_dest *d)
{
	uint32_t u = d->cfg.u_thresh, l = d->cfg.l_thresh;
	uint64_t tot;
	bool ov;

	if (!u)
		return false;
	tot = (uint64_t)xlb_dest_active(d) + xlb_dest_inactive(d);
	ov = atomic_load_explicit(&d->cnt->overload, memory_order_relaxed);
	if (tot >= u) {
		if (!ov)
			atomic_store_explicit(&d->cnt->overload, true, memory_order_relaxed);
		return true;
	}
	if (!ov)
		return false;
	if (l ? tot < l : tot * 4 < (uint64_t)u * 3) {
		atomic_store_explicit(&d->cnt->overload, false, memory_order_relaxed);
		return false;
	}
	return true;
}

/* IPVS's is_unavailable(): quiesced or overloaded. */
static inline bool xlb_sched_dest_unavailable(const struct xlb_snap_dest *d)
{
	return xlb_dest_weight(d) == 0 || xlb_sched_dest_overloaded(d);
}

/* Linux's hash_32() (GOLDEN_RATIO_32), as IPVS's sh and dh use it. */
static inline uint32_t xlb_sched_hash_32(uint32_t v, unsigned int bits)
{
	return (v * 0x61C88647u) >> (32 - bits);
}

/*
 * The loop of the connection-count schedulers (lc, wlc, sed, nq): the
 * available server with the least cost(d), or, when weighted, the least
 * cost(d) / weight(d), compared as IPVS does without a division
 * (loh * dw > doh * lw: d is less loaded); the first one on ties.
 * Inline, so each caller's cost is a direct call the compiler folds.
 */
static inline int xlb_sched_least(const struct xlb_snap_svc *svc,
				  uint64_t (*cost)(const struct xlb_snap_dest *d),
				  bool weighted)
{
	uint64_t loh = 0;
	int least = -ENOENT;

	for (uint32_t i = 0; i < svc->ndests; i++) {
		const struct xlb_snap_dest *d = &svc->dests[i];
		uint64_t doh;
		bool less;

		if (xlb_sched_dest_unavailable(d))
			continue;
		doh = cost(d);
		if (least < 0)
			less = true;
		else if (weighted)
			less = (unsigned __int128)loh * xlb_dest_weight(d) >
			       (unsigned __int128)doh * xlb_dest_weight(&svc->dests[least]);
		else
			less = doh < loh;
		if (less) {
			least = (int)i;
			loh = doh;
		}
	}
	return least;
}

/* sed's and nq's cost: the active connections plus the one to come. */
static inline uint64_t xlb_dest_active_plus1(const struct xlb_snap_dest *d)
{
	return (uint64_t)xlb_dest_active(d) + 1;
}

/* wlc's choice (sched_wlc.c), also lblc's and lblcr's for a new entry. */
int xlb_sched_wlc_pick(const struct xlb_snap_svc *svc);

/* IPVS's is_overloaded() of lblc and lblcr (sched_lblc.c): more active
 * connections than its weight while another server has less than half. */
bool xlb_sched_lblc_overloaded(const struct xlb_snap_svc *svc, const struct xlb_snap_dest *d);
/* Coarse monotonic seconds (vDSO, no syscall): lblc/lblcr expiry. */
uint32_t xlb_sched_now_s(void);

/* Update time (wrr, mh): the gcd of the servers' weights above 0 (0: no
 * such server) and, in *max, the largest weight. */
uint32_t xlb_sched_weights_gcd(const struct xlb_snap_dest *dests, uint32_t n,
			       uint32_t *max);

/* Per-thread pseudo-random numbers (twos): xorshift64*, no syscall. */
uint32_t xlb_sched_random(void);

/* Call the service's scheduler for one new flow: a dests index or -ENOENT. */
static inline int xlb_sched_schedule(const struct xlb_snap_svc *svc,
				     const struct xlb_sched_flow *f)
{
	if (!svc->ndests)
		return -ENOENT;
	return svc->sched->schedule(svc, f);
}

/* The schedulers (one file each). */
extern const struct xlb_sched xlb_sched_ring, xlb_sched_rr, xlb_sched_wrr,
	xlb_sched_lc, xlb_sched_wlc, xlb_sched_sed, xlb_sched_nq, xlb_sched_fo,
	xlb_sched_ovf, xlb_sched_lblc, xlb_sched_lblcr, xlb_sched_dh, xlb_sched_sh,
	xlb_sched_mh, xlb_sched_twos;

/* Maglev (sched_mh.c), exposed for tests and the benchmark. */
#define XLB_MH_TAB_SIZE_DEFAULT	65537	/* prime */
struct xlb_mh_table {
	uint32_t size;		/* prime */
	uint32_t ndests;	/* 0: empty */
	uint32_t seed;
	uint16_t slot[];	/* dests index per entry */
};
int xlb_mh_build(const struct xlb_snap_dest *dests, uint32_t n, uint32_t size,
		 uint32_t seed, struct xlb_mh_table **out);
/* The entry a key (address, port, attempt offset) hashes to. */
uint32_t xlb_mh_key(const struct xlb_mh_table *t, uint32_t addr, uint16_t port,
		    uint32_t offset);
/* A server's permutation: offset and skip (the paper's two hashes). */
void xlb_mh_perm(uint32_t addr, uint16_t port, uint32_t size, uint32_t seed,
		 uint32_t *offset, uint32_t *skip);

/* sh/dh table (sched_sh.c), shared by dh. */
struct xlb_sh_table {
	uint32_t bits;		/* 8 as IPVS; more only past 256 servers */
	uint32_t ndests;
	uint32_t slot[];
};
int xlb_sh_build(const struct xlb_snap_dest *dests, uint32_t n, struct xlb_sh_table **out);
/* The bucket's server for (addr, port), or with fallback the next available
 * in IPVS's rehash order; -ENOENT. */
int xlb_sh_lookup(const struct xlb_snap_svc *svc, const struct xlb_sh_table *t,
		  uint32_t addr, uint16_t port, bool fallback);

#endif /* XLB_SCHED_H */
