/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlbd's configuration tables: services, their real servers and rings, the
 * timeouts and the hash seed.
 *
 * One writer, many readers. Only the control thread changes the tables
 * (every xlb_tables_* operation below except the reader calls). Each
 * successful change builds a new immutable snapshot (struct xlb_snap) and
 * publishes it with one atomic pointer store (release); datapath threads
 * read it lock-free with xlb_tables_snap() (acquire) and never see a
 * half-applied change. A refused request publishes nothing.
 *
 * Reclamation is quiescent-state based (QSBR). A datapath thread registers
 * as a reader, and calls xlb_tables_quiescent() once per loop at a point
 * where it holds no pointer into any snapshot or counter. An old snapshot
 * (or a counter whose last reference went) is freed by
 * the writer (at the next change or xlb_tables_reclaim()) once every
 * registered, online reader has passed a quiescent point after the swap
 * that retired it; with no reader registered it is freed at once. A reader
 * that blocks (poll) goes offline first so that it holds nothing back.
 *
 * Counters are long-lived: one struct xlb_cnt per service and per real
 * server survives snapshot swaps (a new snapshot points at the same
 * object), is reference-counted (snapshots hold a reference each; the
 * datapath may hold more, e.g. from a connection entry) and carries per-
 * worker slots, so that each worker counts without atomics or sharing.
 * When the last reference goes, the object is freed only after a grace
 * period (every online reader passed a quiescent point), like a snapshot:
 * a worker may still count into a pointer it copied out of a connection
 * entry that another thread freed meanwhile.
 *
 * A change is a transaction with the datapath: a prepare callback sees the
 * candidate snapshot before it is published and may refuse it (e.g. the
 * XDP maps cannot hold its services); the change then fails with the
 * callback's sentence and nothing is published. Once the callback said
 * yes, the change is published and the commit callback runs.
 */
#ifndef XLB_TABLES_H
#define XLB_TABLES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xlb-t.h"
#include "ctl.h"

struct xlb_ring;
struct xlb_sched;
struct xlb_sched_state;

#define XLB_MAX_WORKERS		256	/* = XLB_XSK_QUEUES_MAX */
#define XLB_TABLES_MAX_SVCS	4096	/* bounds on what requests can make
					 * (= the XDP services map) */
#define XLB_TABLES_MAX_POINTS	(1u << 23)	/* all rings together, ~80 MiB */
#define XLB_TABLES_MAX_DESTS	65536	/* xlbd allocate (per service) */
/*
 * Default hash seed of every ring: a fixed constant, so that a restarted
 * director, and every director with the same configuration, builds the
 * same rings and sends each flow to the same real server.
 */
#define XLB_TABLES_SEED_DEFAULT	0x786c6230u	/* "xlb0" */

/* One worker's counters: written by that worker only. */
struct xlb_cnt_slot {
	uint64_t conns;
	uint64_t inpkts;
	uint64_t outpkts;
	uint64_t inbytes;
	uint64_t outbytes;
} __attribute__((aligned(64)));

/* Long-lived counters of a service or a real server. */
struct xlb_cnt {
	atomic_uint activeconns;	/* datapath: connection entries */
	atomic_uint inactconns;
	atomic_uint persistconns;
	atomic_bool deleted;		/* removed from the configuration */
	atomic_bool overload;		/* IPVS's IP_VS_DEST_F_OVERLOAD (sched.h) */
	atomic_bool down;		/* a real server's: failed its checks (as published) */
	atomic_uint refs;
	/* Control thread only: zero point and rate estimator (IPVS style). */
	struct xlb_stats base;		/* sums at the last -Z */
	struct xlb_stats last;		/* sums at the last estimate */
	uint64_t est[5];		/* rates << 10, smoothed */
	uint64_t mark;			/* last snapshot that referenced it */
	/* Deferred free (xlb_cnt_put at zero, xlb_tables_reclaim). */
	struct xlb_tables *owner;
	struct xlb_cnt *next_dead;
	uint64_t free_gp;		/* grace period it waits for */
	uint32_t nslots;
	struct xlb_cnt_slot slot[];	/* one per worker */
};

/*
 * Datapath counting: worker w owns slot w and is its only writer, so a
 * relaxed load + store is enough (no locked instruction); the control
 * thread reads the slots with relaxed loads. Example:
 * XLB_CNT_ADD(d->cnt, worker, inpkts, 1).
 */
#define XLB_CNT_ADD(c, w, field, v)					\
	__atomic_store_n(&(c)->slot[(w)].field,				\
			 __atomic_load_n(&(c)->slot[(w)].field, __ATOMIC_RELAXED) + (v), \
			 __ATOMIC_RELAXED)

/* A reference for the datapath (e.g. a connection entry pinned to a real
 * server): take it while holding the snapshot, drop it from any thread.
 * Every reference must be dropped before xlb_tables_free(). */
void xlb_cnt_get(struct xlb_cnt *c);
void xlb_cnt_put(struct xlb_cnt *c);

struct xlb_snap_dest {
	struct xlb_dest_cfg cfg;
	struct xlb_cnt *cnt;
	/* Health (issue 13). check: the server's own --check options, NULL
	 * when it has none (the service's apply). down: failed its checks
	 * (set by xlb_tables_set_health), kept across unrelated changes and
	 * cleared when the server is added or its check changes, which also
	 * gives it a new hgen. sorry: the service's --sorry-server, which the
	 * scheduler never picks by weight (xlb_snap_fallback does). */
	const struct xlb_check *check;
	uint64_t hgen;
	bool down;
	bool sorry;
};

/*
 * The weight a scheduler uses: 0 for a server that is down (it takes no
 * new connection; its established ones continue, as keepalived's
 * inhibit_on_failure) and for the sorry server; the configured weight
 * otherwise. Rings and every scheduler read weights through this only.
 */
static inline uint32_t xlb_dest_weight(const struct xlb_snap_dest *d)
{
	return d->down || d->sorry ? 0 : d->cfg.weight;
}

struct xlb_dest_set;			/* private: dests + ring, shared by snapshots */

struct xlb_snap_svc {
	struct xlb_svc_cfg cfg;
	struct xlb_cnt *cnt;
	uint32_t ndests;
	struct xlb_snap_dest *dests;	/* sorted by (addr, port), host order */
	/* Members in dests order: a lookup's index is a dests index. The
	 * "ring" scheduler's data; NULL under another scheduler. */
	const struct xlb_ring *ring;
	struct xlb_dest_set *set;	/* private */
	/* The scheduler (sched.h): its immutable data, built with the set,
	 * and its mutable per-service state, shared by snapshots. */
	const struct xlb_sched *sched;
	const void *sched_data;
	struct xlb_sched_state *sched_state;
	const struct xlb_check *check;	/* the service's --check options; NULL: none */
	int32_t sorry_idx;		/* dests index of the sorry server, or -1 */
	uint64_t up_weight;		/* sum of xlb_dest_weight() */
};

/* The service's healthy weight is below its --quorum: new connections go
 * to the sorry server, or are refused. */
static inline bool xlb_snap_below_quorum(const struct xlb_snap_svc *svc)
{
	return svc->cfg.quorum && svc->up_weight < svc->cfg.quorum;
}

/*
 * Where a new connection goes when the scheduler found no server (or the
 * service is below quorum): the dests index of the sorry server, or -1 to
 * refuse it. The datapath calls it where it decides "no server".
 */
static inline int xlb_snap_fallback(const struct xlb_snap_svc *svc)
{
	return svc->sorry_idx;
}

struct xlb_snap {
	uint64_t gen;			/* publication number, from 1 */
	uint32_t nsvcs;
	struct xlb_snap_svc *svcs;	/* sorted by (proto, addr, port), host order */
	struct xlb_timeouts timeouts;
	uint32_t seed;
};

/* Service by (proto, VIP, port), all network order: binary search. */
const struct xlb_snap_svc *xlb_snap_find(const struct xlb_snap *s, uint8_t proto,
					 uint32_t addr, uint16_t port);
/* Real server of a service by (addr, port), network order; -1 if none. */
int xlb_snap_find_dest(const struct xlb_snap_svc *svc, uint32_t addr, uint16_t port);
/* The same two for any family (the two above are IPv4's, for the
 * datapath): a service by its key (af 0 is AF_INET), a real server by
 * (family, address, port). */
const struct xlb_snap_svc *xlb_snap_find_key(const struct xlb_snap *s,
					     const struct xlb_svc_key *key);
int xlb_snap_find_dest_af(const struct xlb_snap_svc *svc, uint8_t af,
			  const union xlb_inaddr *addr, uint16_t port);

struct xlb_tables;

/* Called (control thread) after each successful swap. */
typedef void (*xlb_tables_commit_fn)(const struct xlb_snap *snap, void *arg);
/*
 * Called (control thread) with each candidate snapshot that passed
 * validation, before it is published (cand->gen is not set yet): 0 to go
 * on, or -errno with a sentence in err (err may be NULL) to refuse the
 * whole change, which then publishes nothing. Whatever it changed outside
 * the tables it must have undone before refusing.
 */
typedef int (*xlb_tables_prepare_fn)(const struct xlb_snap *cand, void *arg,
				     char *err, size_t errlen);

/* Things the datapath owns, asked for by the control thread. */
typedef int (*xlb_counter_emit_fn)(const char *group, const char *name,
				   uint64_t value, void *emit_arg);
struct xlb_tables_provider {
	/* The connection dump, resumable: copy up to max (>= 1) entries from
	 * *cursor (0: the first) into buf and advance *cursor. Returns how
	 * many, 0 only at the end, or -errno. No lock is held between calls,
	 * so the control thread may wait as long as it likes between two
	 * (a client that does not read) without stalling the workers. */
	int (*copy_conns)(uint64_t *cursor, struct xlb_conn_info *buf, unsigned int max,
			  void *arg);
	uint32_t (*conn_tab_size)(void *arg);
	/* Call emit for each daemon counter (GROUP NAME VALUE: xlbctl
	 * --counters), zeros included; stop and return emit's error if it
	 * returns non-zero. 0 or -errno. Called once per dump, which sends
	 * what it collected afterwards. */
	int (*dump_counters)(xlb_counter_emit_fn emit, void *emit_arg, void *arg);
	/* A real server about to be added or edited (fields final): 0, or
	 * -errno with a sentence in err to refuse it (e.g. DR through a
	 * gateway). May be NULL. */
	int (*check_dest)(const struct xlb_dest_cfg *d, char *err, size_t errlen,
			  void *arg);
	void *arg;
	/* Brings into the counters what the datapath counted elsewhere (the
	 * XDP fast path's per-entry counters): called before a service or
	 * real-server dump reads them (--stats, --rate) and before -Z zeroes
	 * them. May be NULL. */
	void (*sync_counters)(void *arg);
	/* The health of a real server of a service (xlbctl -L --health),
	 * for the control thread's dumps: 0, or -ENOENT when it is not
	 * checked. May be NULL. Has its own argument (another module). */
	int (*health_info)(const struct xlb_svc_key *svc, const union xlb_inaddr *addr,
			   uint16_t port,
			   struct xlb_health_info *out, void *arg);
	void *health_arg;
};

int  xlb_tables_new(struct xlb_tables **out);
/* Number of counter slots (datapath workers, 1..XLB_MAX_WORKERS; default
 * XLB_MAX_WORKERS): only while no service exists, else -EBUSY. */
int  xlb_tables_set_workers(struct xlb_tables *t, unsigned int n);
unsigned int xlb_tables_workers(const struct xlb_tables *t);	/* counter slots */
void xlb_tables_free(struct xlb_tables *t);		/* NULL-safe; no reader left */

void xlb_tables_set_commit_cb(struct xlb_tables *t, xlb_tables_commit_fn fn, void *arg);
void xlb_tables_set_prepare_cb(struct xlb_tables *t, xlb_tables_prepare_fn fn, void *arg);
void xlb_tables_set_provider(struct xlb_tables *t, const struct xlb_tables_provider *p);
const struct xlb_tables_provider *xlb_tables_provider(const struct xlb_tables *t);
/* Hash seed of the rings (default XLB_TABLES_SEED_DEFAULT); rebuilds all. */
int  xlb_tables_set_seed(struct xlb_tables *t, uint32_t seed);

/* ---- readers (datapath threads) ---- */
int  xlb_tables_reader_register(struct xlb_tables *t);	/* id >= 0 or -ENOSPC */
void xlb_tables_reader_unregister(struct xlb_tables *t, int id);
const struct xlb_snap *xlb_tables_snap(struct xlb_tables *t);	/* acquire */
void xlb_tables_quiescent(struct xlb_tables *t, int id);
void xlb_tables_reader_offline(struct xlb_tables *t, int id);
void xlb_tables_reader_online(struct xlb_tables *t, int id);

/* ---- writer (control thread) ----
 * Every operation validates everything before changing anything: 0, or
 * -errno with a sentence in err and the published snapshot unchanged.
 *   -EEXIST service / real server exists; -ESRCH no such service (as IPVS);
 *   -ENOENT no such real server; -EINVAL bad value (DR/TUN port != service
 *   port, weight, scheduler, vnodes, netmask, port 0, address 0, ...).
 */
/* Add: fields not in set (XLB_SVC_SET_*) take their defaults (ring, not
 * persistent, netmask /32, vnodes 160); persistent with timeout 0 = 300. */
int xlb_tables_add_svc(struct xlb_tables *t, const struct xlb_svc_cfg *cfg,
		       uint32_t set, char *err, size_t errlen);
/* Edit: only the fields in set change (PERSIST = flags and timeout). */
int xlb_tables_edit_svc(struct xlb_tables *t, const struct xlb_svc_cfg *cfg,
			uint32_t set, char *err, size_t errlen);
int xlb_tables_del_svc(struct xlb_tables *t, const struct xlb_svc_key *key,
		       char *err, size_t errlen);
/* Add: fields not in set (XLB_DEST_SET_*) take defaults (port = service
 * port, DR, weight 1, thresholds 0); a port of 0 means the service's. */
int xlb_tables_add_dest(struct xlb_tables *t, const struct xlb_svc_key *key,
			const struct xlb_dest_cfg *d, uint32_t set,
			char *err, size_t errlen);
/* Edit the real server (d->addr, d->port): fields in set (not PORT) change. */
int xlb_tables_edit_dest(struct xlb_tables *t, const struct xlb_svc_key *key,
			 const struct xlb_dest_cfg *d, uint32_t set,
			 char *err, size_t errlen);
int xlb_tables_del_dest(struct xlb_tables *t, const struct xlb_svc_key *key,
			const union xlb_inaddr *addr, uint16_t port, char *err, size_t errlen);
int xlb_tables_flush(struct xlb_tables *t, char *err, size_t errlen);
/* Zero the counters of every service and server, or of one service (key). */
int xlb_tables_zero(struct xlb_tables *t, const struct xlb_svc_key *key,
		    char *err, size_t errlen);
/* Timeouts: a 0 field leaves that one unchanged. */
int xlb_tables_set_timeouts(struct xlb_tables *t, const struct xlb_timeouts *to,
			    char *err, size_t errlen);
/* One xlb_req (as from a rules file): the matching operation above. */
int xlb_tables_apply_req(struct xlb_tables *t, const struct xlb_req *req,
			 char *err, size_t errlen);
/* Several requests as one change (a rules file): all applied and published
 * as one snapshot, or none; on error *failed is the index of the request
 * that was refused, or n when the batch as a whole was (the ring budget,
 * or the prepare callback). */
int xlb_tables_apply_reqs(struct xlb_tables *t, const struct xlb_req *reqs, size_t n,
			  size_t *failed, char *err, size_t errlen);

/* The same four with health checks (check: the service's, for -A/-E, or
 * the real server's own, for -a/-e; NULL or check->set 0: none given). */
int xlb_tables_add_svc_chk(struct xlb_tables *t, const struct xlb_svc_cfg *cfg, uint32_t set,
			   const struct xlb_check *check, char *err, size_t errlen);
int xlb_tables_edit_svc_chk(struct xlb_tables *t, const struct xlb_svc_cfg *cfg, uint32_t set,
			    const struct xlb_check *check, char *err, size_t errlen);
int xlb_tables_add_dest_chk(struct xlb_tables *t, const struct xlb_svc_key *key,
			    const struct xlb_dest_cfg *d, uint32_t set,
			    const struct xlb_check *check, char *err, size_t errlen);
int xlb_tables_edit_dest_chk(struct xlb_tables *t, const struct xlb_svc_key *key,
			     const struct xlb_dest_cfg *d, uint32_t set,
			     const struct xlb_check *check, char *err, size_t errlen);

/* A health result for the tables (from the health thread, applied by the
 * control thread): real server (addr, port) of service svc is down or up,
 * as judged with the check it had at hgen. */
struct xlb_health_change {
	struct xlb_svc_key svc;
	union xlb_inaddr addr;	/* the service's family */
	uint16_t port;
	bool down;
	uint64_t hgen;
};

/*
 * Apply health results as one change: servers whose hgen still matches
 * (not re-added nor re-checked since) get down set; the rings of their
 * services are rebuilt and one snapshot is published, or nothing when no
 * result applies. *applied (may be NULL) counts those applied. 0 or -errno.
 */
int xlb_tables_set_health(struct xlb_tables *t, const struct xlb_health_change *c, size_t n,
			  size_t *applied, char *err, size_t errlen);

/* The current snapshot, for the writer's own reads (no QSBR needed). */
const struct xlb_snap *xlb_tables_current(const struct xlb_tables *t);
/* Free retired snapshots that no reader can hold any more. */
void xlb_tables_reclaim(struct xlb_tables *t);
/* Snapshots retired but not yet freed (for tests and logs). */
size_t xlb_tables_retired(const struct xlb_tables *t);
/* Counters unreferenced but not yet freed (for tests and logs). */
size_t xlb_tables_cnt_waiting(const struct xlb_tables *t);

/*
 * Grace periods, for the writer's own deferred work (e.g. flushing the
 * connections of a deleted server once no worker can still schedule onto
 * it from an older snapshot): begin returns a token; passed says whether
 * every registered, online reader has passed a quiescent point since;
 * wait polls passed for at most max_us microseconds.
 */
uint64_t xlb_tables_grace_begin(struct xlb_tables *t);
bool xlb_tables_grace_passed(struct xlb_tables *t, uint64_t g);
bool xlb_tables_grace_wait(struct xlb_tables *t, uint64_t g, unsigned int max_us);

/* Counters as listed (sums of the worker slots minus the last zero). */
void xlb_cnt_read(const struct xlb_cnt *c, struct xlb_stats *st, struct xlb_rates *rt);
/* Rate estimator step: call every XLB_EST_INTERVAL_S from the control thread. */
#define XLB_EST_INTERVAL_S	2
void xlb_tables_estimate(struct xlb_tables *t);

#endif /* XLB_TABLES_H */
