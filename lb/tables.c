/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlbd's configuration tables: copy-on-write snapshots published with one
 * atomic pointer, QSBR reclamation. See tables.h.
 *
 * A change copies the service array of the current snapshot into a
 * candidate (small entries: the real-server arrays and rings are shared,
 * reference-counted, between snapshots), applies the operation to the
 * candidate, and publishes it. Any error discards the candidate, so a
 * refused request changes nothing. Only the service whose real servers,
 * weights or vnodes changed gets a new real-server set and a new ring.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "log.h"
#include "tables.h"
#include "ring.h"
#include "sched.h"

#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

/* Real servers of a service and its scheduler's data for them (e.g. the
 * ring): immutable, shared by all the snapshots in which the service has
 * these servers and this scheduler. Refs: control thread only (snapshots
 * are made and freed there). */
struct xlb_dest_set {
	unsigned int refs;
	uint32_t n;
	const struct xlb_sched *sched;
	void *sdata;			/* sched->update's */
	uint64_t cost;			/* its size in ring points (the budget) */
	struct xlb_snap_dest d[];
};

struct snap_node {
	struct xlb_snap s;
	size_t cap;			/* of s.svcs */
	uint64_t retire_gen;		/* gen of the snapshot that replaced it */
	struct snap_node *next;		/* retired list */
};

struct reader {
	atomic_bool used;
	_Atomic uint64_t seen;		/* gen at its last quiescent point */
} __attribute__((aligned(64)));

#define READER_OFFLINE	UINT64_MAX

/*
 * Grace periods: gp counts them. Readers record the gp they saw at their
 * last quiescent point; something retired when gp was raised to g may be
 * freed once every online reader has recorded g or more (it then passed a
 * quiescent point after the retirement). Each publication raises gp, and
 * so does each batch of counters whose last reference went (see
 * xlb_cnt_put): the two kinds of retirement share one clock.
 */
struct xlb_tables {
	_Atomic(struct xlb_snap *) cur;
	_Atomic uint64_t gp;		/* grace-period clock, from 1 */
	struct reader readers[XLB_MAX_WORKERS];
	struct snap_node *retired;
	size_t nretired;
	/* Counters whose last reference went: pushed by any thread... */
	_Atomic(struct xlb_cnt *) dead;
	/* ...then stamped and kept here (control thread) until freed. */
	struct xlb_cnt *waiting;
	size_t nwaiting;
	uint32_t nslots;
	xlb_tables_commit_fn commit_fn;
	void *commit_arg;
	xlb_tables_prepare_fn prepare_fn;
	void *prepare_arg;
	struct xlb_tables_provider prov;
	uint64_t hgen;			/* last health generation given */
};


static const char *svc_str(const struct xlb_svc_key *k, char *buf)
{
	return xlb_ctl_svc_str(k, buf, XLB_CTL_SVC_STR);
}

/* "10.0.0.1:80" or "[2001:db8::1]:80" (ipvsadm's forms). */
static const char *ap_str(uint8_t af, const union xlb_inaddr *addr, uint16_t port, char *buf,
			  size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(xlb_af(af), addr, a, sizeof(a));
	snprintf(buf, len, xlb_af(af) == AF_INET6 ? "[%s]:%u" : "%s:%u", a, ntohs(port));
	return buf;
}

#define AP_STR	64	/* ap_str's buffer: "[" INET6_ADDRSTRLEN "]:65535" */

/* Addresses order by family (IPv4 first), then as numbers: the IPv4 order
 * of old (ntohl) is memcmp's on the four network-order bytes. */
static int addr_cmp(uint8_t afa, const union xlb_inaddr *a, uint8_t afb,
		    const union xlb_inaddr *b)
{
	int fa = xlb_af(afa), fb = xlb_af(afb);

	if (fa != fb)
		return fa < fb ? -1 : 1;
	if (fa == AF_INET) {	/* the datapath's lookups: as before IPv6 */
		uint32_t ha = ntohl(a->ip), hb = ntohl(b->ip);

		return ha == hb ? 0 : ha < hb ? -1 : 1;
	}
	return memcmp(a, b, sizeof(*a));
}

static bool addr_zero(uint8_t af, const union xlb_inaddr *a)
{
	static const union xlb_inaddr zero;

	return !memcmp(a, &zero, xlb_inaddr_len(xlb_af(af)));
}

/* ---- counters ---- */

static struct xlb_cnt *cnt_new(struct xlb_tables *t)
{
	uint32_t nslots = t->nslots;
	size_t sz = sizeof(struct xlb_cnt) + nslots * sizeof(struct xlb_cnt_slot);
	struct xlb_cnt *c;

	sz = (sz + 63) & ~(size_t)63;
	c = aligned_alloc(64, sz);
	if (!c)
		return NULL;
	memset(c, 0, sz);
	c->nslots = nslots;
	c->owner = t;
	atomic_init(&c->refs, 1);
	return c;
}

void xlb_cnt_get(struct xlb_cnt *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

/*
 * The last reference may go while a worker still holds the pointer it
 * copied out of a connection entry (struct xlb_conn_view.dest) and is about
 * to count into it: the entry was flushed, rescheduled or expired by
 * another thread after the worker dropped the stripe lock. So the object is
 * not freed here but pushed (lock-free: any thread may be last) onto the
 * owner's dead list, and freed by the control thread once every worker has
 * passed a quiescent point (xlb_tables_reclaim).
 */
void xlb_cnt_put(struct xlb_cnt *c)
{
	struct xlb_tables *t;
	struct xlb_cnt *head;

	if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	t = c->owner;
	head = atomic_load_explicit(&t->dead, memory_order_relaxed);
	do
		c->next_dead = head;
	while (!atomic_compare_exchange_weak_explicit(&t->dead, &head, c,
						      memory_order_release,
						      memory_order_relaxed));
}

static void cnt_sum(const struct xlb_cnt *c, struct xlb_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0; i < c->nslots; i++) {
		const struct xlb_cnt_slot *sl = &c->slot[i];

		s->conns += __atomic_load_n(&sl->conns, __ATOMIC_RELAXED);
		s->inpkts += __atomic_load_n(&sl->inpkts, __ATOMIC_RELAXED);
		s->outpkts += __atomic_load_n(&sl->outpkts, __ATOMIC_RELAXED);
		s->inbytes += __atomic_load_n(&sl->inbytes, __ATOMIC_RELAXED);
		s->outbytes += __atomic_load_n(&sl->outbytes, __ATOMIC_RELAXED);
	}
}

void xlb_cnt_read(const struct xlb_cnt *c, struct xlb_stats *st, struct xlb_rates *rt)
{
	if (st) {
		cnt_sum(c, st);
		st->conns -= c->base.conns;
		st->inpkts -= c->base.inpkts;
		st->outpkts -= c->base.outpkts;
		st->inbytes -= c->base.inbytes;
		st->outbytes -= c->base.outbytes;
	}
	if (rt) {
		/* Rounded, as IPVS's (e->cps + 0x1FF) >> 10. */
		rt->cps = (c->est[0] + 0x1ff) >> 10;
		rt->inpps = (c->est[1] + 0x1ff) >> 10;
		rt->outpps = (c->est[2] + 0x1ff) >> 10;
		rt->inbps = (c->est[3] + 0xf) >> 10;
		rt->outbps = (c->est[4] + 0xf) >> 10;
	}
}

static void cnt_zero(struct xlb_cnt *c)
{
	cnt_sum(c, &c->base);
	c->last = c->base;
	memset(c->est, 0, sizeof(c->est));
}

/* IPVS's estimator: a rate sampled every 2 s, smoothed with weight 1/4. */
static void cnt_estimate(struct xlb_cnt *c)
{
	struct xlb_stats now;
	const uint64_t *n = (const uint64_t *)&now, *l = (const uint64_t *)&c->last;

	cnt_sum(c, &now);
	for (int i = 0; i < 5; i++) {
		int64_t rate = (int64_t)(((n[i] - l[i]) << 10) / XLB_EST_INTERVAL_S);

		c->est[i] = (uint64_t)((int64_t)c->est[i] + ((rate - (int64_t)c->est[i]) >> 2));
	}
	c->last = now;
}

/* ---- check options: immutable, shared by snapshots (control thread) ---- */

struct check_obj {
	unsigned int refs;
	struct xlb_check c;
};

/* A shared copy of c, NULL when c gives nothing; *ok false when out of
 * memory. */
static const struct xlb_check *check_new(const struct xlb_check *c, bool *ok)
{
	struct check_obj *o;

	*ok = true;
	if (!c || !c->set)
		return NULL;
	o = malloc(sizeof(*o));
	if (!o) {
		*ok = false;
		return NULL;
	}
	o->refs = 1;
	o->c = *c;
	return &o->c;
}

static void check_ref(const struct xlb_check *c)
{
	if (c)
		container_of(c, struct check_obj, c)->refs++;
}

static void check_unref(const struct xlb_check *c)
{
	struct check_obj *o;

	if (!c)
		return;
	o = container_of(c, struct check_obj, c);
	if (!--o->refs)
		free(o);
}

static bool check_same(const struct xlb_check *a, const struct xlb_check *b)
{
	static const struct xlb_check none;

	return xlb_check_equal(a ? a : &none, b ? b : &none);
}

/* ---- real-server sets ---- */

static struct xlb_dest_set *set_alloc(uint32_t n)
{
	struct xlb_dest_set *s = calloc(1, sizeof(*s) + (size_t)n * sizeof(s->d[0]));

	if (s) {
		s->refs = 1;
		s->n = n;
	}
	return s;
}

static void set_put(struct xlb_dest_set *s)
{
	if (!s || --s->refs)
		return;
	for (uint32_t i = 0; i < s->n; i++) {
		xlb_cnt_put(s->d[i].cnt);
		check_unref(s->d[i].check);
	}
	if (s->sched && s->sched->free_data && s->sdata)
		s->sched->free_data(s->sdata);
	free(s);
}

/* The scheduler's data for the set's servers (its update). */
static int set_build(struct xlb_dest_set *s, const struct xlb_svc_cfg *cfg, uint32_t seed)
{
	const struct xlb_sched *ops = xlb_sched_find(cfg->sched);
	struct xlb_sched_conf c = { .svc = cfg, .dests = s->d, .n = s->n, .seed = seed };
	int ret = 0;

	if (!ops)
		return -EINVAL;
	s->sched = ops;
	s->sdata = NULL;
	s->cost = 0;
	if (ops->update)
		ret = ops->update(&c, &s->sdata, &s->cost);
	return ret;
}

static void svc_attach(struct xlb_snap_svc *svc, struct xlb_dest_set *s)
{
	svc->set = s;
	svc->ndests = s->n;
	svc->dests = s->d;
	svc->sched = s->sched;
	svc->sched_data = s->sdata;
	svc->ring = s->sched == &xlb_sched_ring ? s->sdata : NULL;
	svc->sorry_idx = -1;
	svc->up_weight = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->d[i].sorry)
			svc->sorry_idx = (int32_t)i;
		svc->up_weight += xlb_dest_weight(&s->d[i]);
	}
}

static int dest_key_cmp(const struct xlb_dest_cfg *a, const struct xlb_dest_cfg *b)
{
	int c = addr_cmp(a->af, &a->addr, b->af, &b->addr);

	if (c)
		return c;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	return 0;
}

/*
 * New set for svc, not yet installed: its current servers, minus index
 * del (or -1), plus *add at index ins (or none), with *edit at index ed
 * (its cfg, check, down and hgen; the counters stay); every server's
 * health reset when reset (the service's check changed). The sorry entry
 * is made again from svc->cfg: the method of the service's first real
 * server (DR when it has none), its counters kept while it stays the
 * same server.
 */
static int svc_make_set(struct xlb_tables *t, struct xlb_snap_svc *svc, int del,
			const struct xlb_snap_dest *add, uint32_t ins, int ed,
			const struct xlb_snap_dest *edit, bool reset,
			struct xlb_dest_set **out, char *err, size_t errlen)
{
	const struct xlb_dest_set *old = svc->set;
	struct xlb_snap_dest sorry = { 0 };
	const struct xlb_snap_dest *old_sorry = NULL;
	uint32_t n = old->n + 2, j = 0, k;
	struct xlb_dest_set *s = set_alloc(n);

	if (!s)
		return -ENOMEM;
	for (uint32_t i = 0; i <= old->n; i++) {
		if (add && i == ins) {
			s->d[j] = *add;
			xlb_cnt_get(s->d[j].cnt);	/* the caller keeps its own ref */
			check_ref(s->d[j].check);
			j++;
		}
		if (i == old->n)
			break;
		if (old->d[i].sorry) {
			old_sorry = &old->d[i];
			continue;
		}
		if ((int)i == del)
			continue;
		s->d[j] = old->d[i];
		if ((int)i == ed) {
			s->d[j].cfg = edit->cfg;
			s->d[j].check = edit->check;
			s->d[j].down = edit->down;
			s->d[j].hgen = edit->hgen;
		}
		if (reset) {
			s->d[j].down = false;
			s->d[j].hgen = ++t->hgen;
		}
		xlb_cnt_get(s->d[j].cnt);
		check_ref(s->d[j].check);
		j++;
	}
	if (!addr_zero(svc->cfg.key.af, &svc->cfg.sorry_addr)) {
		char ds[AP_STR];

		sorry.cfg.addr = svc->cfg.sorry_addr;
		sorry.cfg.af = xlb_af(svc->cfg.key.af);
		sorry.cfg.port = svc->cfg.sorry_port ? svc->cfg.sorry_port : svc->cfg.key.port;
		sorry.cfg.fwd = j ? s->d[0].cfg.fwd : XLB_FWD_DR;
		sorry.sorry = true;
		for (k = 0; k < j && dest_key_cmp(&s->d[k].cfg, &sorry.cfg) < 0; k++)
			;
		ap_str(sorry.cfg.af, &sorry.cfg.addr, sorry.cfg.port, ds, sizeof(ds));
		if (k < j && !dest_key_cmp(&s->d[k].cfg, &sorry.cfg)) {
			xlb_seterr(err, errlen, "sorry server %s is also a real server of the service",
				   ds);
			s->n = j;
			set_put(s);
			return -EEXIST;
		}
		if (sorry.cfg.fwd != XLB_FWD_NAT && sorry.cfg.port != svc->cfg.key.port) {
			xlb_seterr(err, errlen, "sorry server %s: %s keeps the service's port %u (give no port, or use NAT servers)",
				   ds, sorry.cfg.fwd == XLB_FWD_TUN ? "tunnelling" : "direct routing",
				   ntohs(svc->cfg.key.port));
			s->n = j;
			set_put(s);
			return -EINVAL;
		}
		if (old_sorry && !dest_key_cmp(&old_sorry->cfg, &sorry.cfg)) {
			sorry.cnt = old_sorry->cnt;
			xlb_cnt_get(sorry.cnt);
		} else {
			sorry.cnt = cnt_new(t);
			if (!sorry.cnt) {
				s->n = j;
				set_put(s);
				return -ENOMEM;
			}
		}
		memmove(&s->d[k + 1], &s->d[k], (j - k) * sizeof(s->d[0]));
		s->d[k] = sorry;
		j++;
	}
	s->n = j;
	*out = s;
	return 0;
}

/* Build s's scheduler data and make it svc's (dropping the candidate's old ref). */
static int svc_install(struct xlb_snap_svc *svc, struct xlb_dest_set *s, uint32_t seed)
{
	int ret = set_build(s, &svc->cfg, seed);

	if (ret) {
		set_put(s);
		return ret;
	}
	set_put(svc->set);
	svc_attach(svc, s);
	return 0;
}

static int svc_new_set(struct xlb_tables *t, struct xlb_snap_svc *svc, int del,
		       const struct xlb_snap_dest *add, uint32_t ins, int ed,
		       const struct xlb_snap_dest *edit, bool reset, uint32_t seed,
		       char *err, size_t errlen)
{
	struct xlb_dest_set *s;
	int ret = svc_make_set(t, svc, del, add, ins, ed, edit, reset, &s, err, errlen);

	return ret ? ret : svc_install(svc, s, seed);
}

/* ---- snapshots ---- */

static void snap_free(struct xlb_snap *snap)
{
	struct snap_node *n;

	if (!snap)
		return;
	n = container_of(snap, struct snap_node, s);
	/* A state whose last snapshot this was is freed here, after the
	 * grace period that retired the snapshot: no worker holds it. */
	for (uint32_t i = 0; i < snap->nsvcs; i++) {
		set_put(snap->svcs[i].set);
		xlb_sched_state_put(snap->svcs[i].sched_state);
		xlb_cnt_put(snap->svcs[i].cnt);
		check_unref(snap->svcs[i].check);
	}
	free(snap->svcs);
	free(n);
}

/* A writable copy of src (sharing its sets and counters). */
static struct xlb_snap *snap_copy(const struct xlb_snap *src)
{
	struct snap_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->s.timeouts = src->timeouts;
	n->s.seed = src->seed;
	n->cap = src->nsvcs ? src->nsvcs + 1 : 4;
	n->s.svcs = calloc(n->cap, sizeof(n->s.svcs[0]));
	if (!n->s.svcs) {
		free(n);
		return NULL;
	}
	for (uint32_t i = 0; i < src->nsvcs; i++) {
		n->s.svcs[i] = src->svcs[i];
		n->s.svcs[i].set->refs++;
		n->s.svcs[i].sched_state->refs++;
		xlb_cnt_get(n->s.svcs[i].cnt);
		check_ref(n->s.svcs[i].check);
	}
	n->s.nsvcs = src->nsvcs;
	return &n->s;
}

static int key_cmp(uint8_t pa, uint8_t afa, const union xlb_inaddr *aa, uint16_t pta,
		   uint8_t pb, uint8_t afb, const union xlb_inaddr *ab, uint16_t ptb)
{
	int c;

	if (pa != pb)
		return pa < pb ? -1 : 1;
	c = addr_cmp(afa, aa, afb, ab);
	if (c)
		return c;
	if (pta != ptb)
		return ntohs(pta) < ntohs(ptb) ? -1 : 1;
	return 0;
}

/* Index of the service, or -(insertion point) - 1. */
static long svc_search(const struct xlb_snap *s, uint8_t proto, uint8_t af,
		       const union xlb_inaddr *addr, uint16_t port)
{
	long lo = 0, hi = (long)s->nsvcs - 1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;
		const struct xlb_svc_key *k = &s->svcs[mid].cfg.key;
		int c = key_cmp(k->proto, k->af, &k->addr, k->port, proto, af, addr, port);

		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

static long dest_search(const struct xlb_snap_svc *svc, uint8_t af,
			const union xlb_inaddr *addr, uint16_t port)
{
	long lo = 0, hi = (long)svc->ndests - 1;

	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;
		const struct xlb_dest_cfg *d = &svc->dests[mid].cfg;
		int c = key_cmp(0, d->af, &d->addr, d->port, 0, af, addr, port);

		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -lo - 1;
}

const struct xlb_snap_svc *xlb_snap_find(const struct xlb_snap *s, uint8_t proto,
					 uint32_t addr, uint16_t port)
{
	union xlb_inaddr a = xlb_inaddr_v4(addr);
	long i = svc_search(s, proto, AF_INET, &a, port);

	return i >= 0 ? &s->svcs[i] : NULL;
}

int xlb_snap_find_dest(const struct xlb_snap_svc *svc, uint32_t addr, uint16_t port)
{
	union xlb_inaddr a = xlb_inaddr_v4(addr);
	long i = dest_search(svc, AF_INET, &a, port);

	return i >= 0 ? (int)i : -1;
}

const struct xlb_snap_svc *xlb_snap_find_key(const struct xlb_snap *s,
					     const struct xlb_svc_key *key)
{
	long i = svc_search(s, key->proto, key->af, &key->addr, key->port);

	return i >= 0 ? &s->svcs[i] : NULL;
}

int xlb_snap_find_dest_af(const struct xlb_snap_svc *svc, uint8_t af,
			  const union xlb_inaddr *addr, uint16_t port)
{
	long i = dest_search(svc, af, addr, port);

	return i >= 0 ? (int)i : -1;
}

/* ---- tables, readers, publication ---- */

static void cnt_free_list(struct xlb_cnt *c)
{
	while (c) {
		struct xlb_cnt *next = c->next_dead;

		free(c);
		c = next;
	}
}

int xlb_tables_new(struct xlb_tables **out)
{
	struct xlb_tables *t = aligned_alloc(64, (sizeof(*t) + 63) & ~(size_t)63);
	struct snap_node *n;

	if (!t)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	n = calloc(1, sizeof(*n));
	if (!n) {
		free(t);
		return -ENOMEM;
	}
	n->s.gen = 1;
	n->s.seed = XLB_TABLES_SEED_DEFAULT;
	n->s.timeouts = (struct xlb_timeouts){ XLB_TIMEOUT_TCP_DEFAULT,
		XLB_TIMEOUT_TCPFIN_DEFAULT, XLB_TIMEOUT_UDP_DEFAULT };
	atomic_init(&t->cur, &n->s);
	atomic_init(&t->gp, 1);
	atomic_init(&t->dead, NULL);
	for (int i = 0; i < XLB_MAX_WORKERS; i++) {
		atomic_init(&t->readers[i].used, false);
		atomic_init(&t->readers[i].seen, READER_OFFLINE);
	}
	t->nslots = XLB_MAX_WORKERS;
	*out = t;
	return 0;
}

void xlb_tables_free(struct xlb_tables *t)
{
	if (!t)
		return;
	while (t->retired) {
		struct snap_node *n = t->retired;

		t->retired = n->next;
		snap_free(&n->s);
	}
	snap_free(atomic_load(&t->cur));
	/* No reader is left: every counter whose last reference went (the
	 * snapshots' just now) can go. */
	cnt_free_list(atomic_exchange(&t->dead, NULL));
	cnt_free_list(t->waiting);
	free(t);
}

int xlb_tables_set_workers(struct xlb_tables *t, unsigned int n)
{
	if (n < 1 || n > XLB_MAX_WORKERS)
		return -EINVAL;
	if (xlb_tables_current(t)->nsvcs)
		return -EBUSY;
	t->nslots = n;
	return 0;
}

unsigned int xlb_tables_workers(const struct xlb_tables *t)
{
	return t->nslots;
}

void xlb_tables_set_commit_cb(struct xlb_tables *t, xlb_tables_commit_fn fn, void *arg)
{
	t->commit_fn = fn;
	t->commit_arg = arg;
}

void xlb_tables_set_prepare_cb(struct xlb_tables *t, xlb_tables_prepare_fn fn, void *arg)
{
	t->prepare_fn = fn;
	t->prepare_arg = arg;
}

void xlb_tables_set_provider(struct xlb_tables *t, const struct xlb_tables_provider *p)
{
	if (p)
		t->prov = *p;
	else
		memset(&t->prov, 0, sizeof(t->prov));
}

const struct xlb_tables_provider *xlb_tables_provider(const struct xlb_tables *t)
{
	return &t->prov;
}

const struct xlb_snap *xlb_tables_current(const struct xlb_tables *t)
{
	return atomic_load_explicit(&((struct xlb_tables *)t)->cur, memory_order_relaxed);
}

const struct xlb_snap *xlb_tables_snap(struct xlb_tables *t)
{
	/* seq_cst rather than acquire: it pairs with the writer's check of
	 * reader registration (see xlb_tables_reader_register). */
	return atomic_load(&t->cur);
}

int xlb_tables_reader_register(struct xlb_tables *t)
{
	for (int i = 0; i < XLB_MAX_WORKERS; i++) {
		bool f = false;

		/* seen before used: the writer never sees a used reader with a
		 * stale seen from a previous owner of the slot. */
		if (atomic_load(&t->readers[i].used))
			continue;
		atomic_store(&t->readers[i].seen, atomic_load(&t->gp));
		if (atomic_compare_exchange_strong(&t->readers[i].used, &f, true))
			return i;
	}
	return -ENOSPC;
}

void xlb_tables_reader_unregister(struct xlb_tables *t, int id)
{
	if (id < 0 || id >= XLB_MAX_WORKERS)
		return;
	atomic_store(&t->readers[id].seen, READER_OFFLINE);
	atomic_store(&t->readers[id].used, false);
}

void xlb_tables_quiescent(struct xlb_tables *t, int id)
{
	/* Everything this reader did with older snapshots happens before this
	 * store; the writer's load of seen then frees them. */
	atomic_store(&t->readers[id].seen, atomic_load(&t->gp));
}

void xlb_tables_reader_offline(struct xlb_tables *t, int id)
{
	atomic_store(&t->readers[id].seen, READER_OFFLINE);
}

void xlb_tables_reader_online(struct xlb_tables *t, int id)
{
	atomic_store(&t->readers[id].seen, atomic_load(&t->gp));
}

/* The oldest grace period some registered, online reader may still be in. */
static uint64_t readers_min_seen(struct xlb_tables *t)
{
	uint64_t min = READER_OFFLINE;

	for (int i = 0; i < XLB_MAX_WORKERS; i++) {
		uint64_t s;

		if (!atomic_load(&t->readers[i].used))
			continue;
		s = atomic_load(&t->readers[i].seen);
		if (s < min)
			min = s;
	}
	return min;
}

uint64_t xlb_tables_grace_begin(struct xlb_tables *t)
{
	uint64_t g = atomic_load(&t->gp) + 1;

	atomic_store(&t->gp, g);
	return g;
}

bool xlb_tables_grace_passed(struct xlb_tables *t, uint64_t g)
{
	return readers_min_seen(t) >= g;
}

bool xlb_tables_grace_wait(struct xlb_tables *t, uint64_t g, unsigned int max_us)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!xlb_tables_grace_passed(t, g)) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((uint64_t)(now.tv_sec - t0.tv_sec) * 1000000 +
		    (uint64_t)(now.tv_nsec - t0.tv_nsec) / 1000 >= max_us)
			return false;
		sched_yield();
	}
	return true;
}

/* Counters pushed dead since the last call start their grace period now;
 * those whose grace period has passed are freed. */
static void cnt_reclaim(struct xlb_tables *t, uint64_t min)
{
	struct xlb_cnt *fresh = atomic_exchange_explicit(&t->dead, NULL, memory_order_acquire);
	struct xlb_cnt **pp;

	if (fresh) {
		uint64_t g = xlb_tables_grace_begin(t);
		struct xlb_cnt *last = fresh;

		for (;;) {
			last->free_gp = g;
			t->nwaiting++;
			if (!last->next_dead)
				break;
			last = last->next_dead;
		}
		/* Newest first: the oldest, first to be freed, are at the tail. */
		last->next_dead = t->waiting;
		t->waiting = fresh;
	}
	for (pp = &t->waiting; *pp;) {
		struct xlb_cnt *c = *pp;

		if (c->free_gp <= min) {
			*pp = c->next_dead;
			t->nwaiting--;
			free(c);
		} else {
			pp = &c->next_dead;
		}
	}
}

void xlb_tables_reclaim(struct xlb_tables *t)
{
	uint64_t min = readers_min_seen(t);
	struct snap_node **pp = &t->retired;

	while (*pp) {
		struct snap_node *n = *pp;

		if (n->retire_gen <= min) {
			*pp = n->next;
			t->nretired--;
			snap_free(&n->s);
		} else {
			pp = &n->next;
		}
	}
	/* After the snapshots: freeing them may drop counters' last refs. */
	cnt_reclaim(t, readers_min_seen(t));
}

size_t xlb_tables_retired(const struct xlb_tables *t)
{
	return t->nretired;
}

size_t xlb_tables_cnt_waiting(const struct xlb_tables *t)
{
	size_t n = t->nwaiting;

	for (const struct xlb_cnt *c = atomic_load(&((struct xlb_tables *)t)->dead); c;
	     c = c->next_dead)
		n++;
	return n;
}

static void publish(struct xlb_tables *t, struct xlb_snap *cand)
{
	struct xlb_snap *old = atomic_load(&t->cur);
	struct snap_node *on = container_of(old, struct snap_node, s);

	cand->gen = old->gen + 1;
	/* Counters that the new snapshot no longer references were deleted:
	 * tell the datapath (connections pinned to them). */
	for (uint32_t i = 0; i < cand->nsvcs; i++) {
		cand->svcs[i].cnt->mark = cand->gen;
		for (uint32_t j = 0; j < cand->svcs[i].ndests; j++) {
			cand->svcs[i].dests[j].cnt->mark = cand->gen;
			/* For the connection table (a SYN on an attempt to a
			 * down server goes elsewhere). */
			atomic_store_explicit(&cand->svcs[i].dests[j].cnt->down,
					      cand->svcs[i].dests[j].down, memory_order_relaxed);
		}
	}
	for (uint32_t i = 0; i < old->nsvcs; i++) {
		if (old->svcs[i].cnt->mark != cand->gen)
			atomic_store(&old->svcs[i].cnt->deleted, true);
		for (uint32_t j = 0; j < old->svcs[i].ndests; j++)
			if (old->svcs[i].dests[j].cnt->mark != cand->gen)
				atomic_store(&old->svcs[i].dests[j].cnt->deleted, true);
	}

	atomic_store(&t->cur, cand);
	on->retire_gen = xlb_tables_grace_begin(t);
	on->next = t->retired;
	t->retired = on;
	t->nretired++;
	xlb_tables_reclaim(t);
	if (t->commit_fn)
		t->commit_fn(cand, t->commit_arg);
}

/* ---- validation ---- */

/* The service fields named in set (XLB_SVC_SET_*) from in into c. */
static void svc_cfg_merge(struct xlb_svc_cfg *c, const struct xlb_svc_cfg *in, uint32_t set)
{
	if (set & XLB_SVC_SET_SCHED)
		memcpy(c->sched, in->sched, sizeof(c->sched));
	/* The flags word holds persistence, -o and the scheduler flags (-b):
	 * each only with what names it, so -E -p keeps -o and -b. */
	if (set & XLB_SVC_SET_PERSIST) {
		c->flags = (c->flags & ~XLB_SVC_F_PERSISTENT) | (in->flags & XLB_SVC_F_PERSISTENT);
		c->timeout = in->timeout;
	}
	if (set & XLB_SVC_SET_OPS)
		c->flags = (c->flags & ~XLB_SVC_F_ONEPACKET) | (in->flags & XLB_SVC_F_ONEPACKET);
	if (set & XLB_SVC_SET_SCHED_FLAGS)
		c->flags = (c->flags & ~XLB_SVC_F_SCHED_ALL) | (in->flags & XLB_SVC_F_SCHED_ALL);
	if (set & XLB_SVC_SET_NETMASK)
		c->netmask = in->netmask;
	if (set & XLB_SVC_SET_VNODES)
		c->vnodes = in->vnodes;
	if (set & XLB_SVC_SET_SORRY) {
		c->sorry_addr = in->sorry_addr;
		c->sorry_port = addr_zero(c->key.af, &in->sorry_addr) ? 0 : in->sorry_port;
	}
	if (set & XLB_SVC_SET_QUORUM)
		c->quorum = in->quorum;
}

static int check_svc_cfg(struct xlb_svc_cfg *c, char *err, size_t errlen)
{
	char ks[XLB_CTL_SVC_STR];

	if (c->key.proto != IPPROTO_TCP && c->key.proto != IPPROTO_UDP) {
		xlb_seterr(err, errlen, "protocol %u not supported (TCP or UDP)", c->key.proto);
		return -EPROTONOSUPPORT;
	}
	if (c->key.af != AF_INET && c->key.af != AF_INET6) {
		xlb_seterr(err, errlen, "address family %u not supported (AF_INET or AF_INET6)",
			   c->key.af);
		return -EAFNOSUPPORT;
	}
	if (addr_zero(c->key.af, &c->key.addr) || !c->key.port) {
		xlb_seterr(err, errlen, "service %s: address and port must not be 0",
		       svc_str(&c->key, ks));
		return -EINVAL;
	}
	if (strnlen(c->sched, sizeof(c->sched)) == sizeof(c->sched) ||
	    !xlb_sched_known(c->sched)) {
		xlb_seterr(err, errlen, "unknown scheduler \"%.*s\" (known: %s)",
		       (int)sizeof(c->sched), c->sched, XLB_SCHED_LIST);
		return -EINVAL;
	}
	if (c->flags & ~(XLB_SVC_F_PERSISTENT | XLB_SVC_F_ONEPACKET | XLB_SVC_F_SCHED_ALL)) {
		xlb_seterr(err, errlen, "service flags 0x%x not supported",
		       c->flags & ~(XLB_SVC_F_PERSISTENT | XLB_SVC_F_ONEPACKET | XLB_SVC_F_SCHED_ALL));
		return -EOPNOTSUPP;
	}
	if ((c->flags & XLB_SVC_F_ONEPACKET) && c->key.proto != IPPROTO_UDP) {
		xlb_seterr(err, errlen, "service %s: one-packet scheduling (-o) is for UDP services only: a TCP connection needs its entry (drop -o)",
		       svc_str(&c->key, ks));
		return -EINVAL;
	}
	if ((c->flags & XLB_SVC_F_PERSISTENT) && !c->timeout)
		c->timeout = XLB_PERSIST_DEFAULT;
	if (c->timeout > XLB_TIMEOUT_MAX) {
		xlb_seterr(err, errlen, "persistence timeout %u out of range 1..%u",
		       c->timeout, XLB_TIMEOUT_MAX);
		return -EINVAL;
	}
	uint32_t inv = ~ntohl(c->netmask);
	if (c->key.af == AF_INET6) {
		/* IPVS: an IPv6 service's netmask is a prefix length. */
		if (c->netmask < 1 || c->netmask > 128) {
			xlb_seterr(err, errlen, "IPv6 netmask (prefix length) %u out of range 1..128",
				   c->netmask);
			return -EINVAL;
		}
	} else if (inv & (inv + 1)) {
		xlb_seterr(err, errlen, "netmask is not contiguous");
		return -EINVAL;
	}
	if (c->vnodes < XLB_VNODES_MIN || c->vnodes > XLB_VNODES_MAX) {
		xlb_seterr(err, errlen, "vnodes %u out of range %u..%u", c->vnodes,
		       XLB_VNODES_MIN, XLB_VNODES_MAX);
		return -EINVAL;
	}
	return 0;
}

static int check_dest_cfg(const struct xlb_svc_cfg *svc, const struct xlb_dest_cfg *d,
			  char *err, size_t errlen)
{
	char ds[AP_STR];

	ap_str(d->af, &d->addr, d->port, ds, sizeof(ds));
	if (addr_zero(d->af, &d->addr) || !d->port) {
		xlb_seterr(err, errlen, "real server %s: address and port must not be 0", ds);
		return -EINVAL;
	}
	/* IPVS refuses a real server of another family but for tunnels
	 * (ip_vs_add_dest); xlb does not tunnel across families yet. */
	if (xlb_af(d->af) != xlb_af(svc->key.af)) {
		xlb_seterr(err, errlen, d->fwd == XLB_FWD_TUN ?
			   "real server %s: an %s real server of an %s service is not supported (tunnels across address families are not implemented yet)" :
			   "real server %s: an %s real server of an %s service needs tunnelling (-i), which xlb does not do across address families",
			   ds, xlb_af(d->af) == AF_INET6 ? "IPv6" : "IPv4",
			   xlb_af(svc->key.af) == AF_INET6 ? "IPv6" : "IPv4");
		return -EAFNOSUPPORT;
	}
	if (d->fwd != XLB_FWD_NAT && d->fwd != XLB_FWD_DR && d->fwd != XLB_FWD_TUN) {
		xlb_seterr(err, errlen, "forwarding method %u not supported", d->fwd);
		return -EINVAL;
	}
	if (d->weight > XLB_WEIGHT_MAX) {
		xlb_seterr(err, errlen, "weight %u out of range 0..%u", d->weight, XLB_WEIGHT_MAX);
		return -EINVAL;
	}
	/* As IPVS (ip_vs_add_dest): -ERANGE. */
	if (d->l_thresh > d->u_thresh) {
		xlb_seterr(err, errlen, "real server %s: lower threshold %u is above the upper threshold %u",
		       ds, d->l_thresh, d->u_thresh);
		return -ERANGE;
	}
	if (d->fwd != XLB_FWD_NAT && d->port != svc->key.port) {
		xlb_seterr(err, errlen, "%s requires the real-server port to equal the service port (%u, not %u)",
		       d->fwd == XLB_FWD_DR ? "DR" : "TUN", ntohs(svc->key.port),
		       ntohs(d->port));
		return -EINVAL;
	}
	if ((svc->flags & XLB_SVC_F_ONEPACKET) && d->fwd == XLB_FWD_NAT) {
		xlb_seterr(err, errlen, "real server %s: NAT (-m) cannot serve a one-packet (-o) service: -o keeps no connection entry and NAT needs one to rewrite the replies (use -g or -i, or drop -o)",
		       ds);
		return -EINVAL;
	}
	return 0;
}

/* ---- operations on a candidate ---- */

static int find_svc(struct xlb_snap *s, const struct xlb_svc_key *key, char *err,
		    size_t errlen)
{
	long i = svc_search(s, key->proto, key->af, &key->addr, key->port);
	char ks[XLB_CTL_SVC_STR];

	if (i < 0) {
		xlb_seterr(err, errlen, "no such service %s", svc_str(key, ks));
		return -ESRCH;
	}
	return (int)i;
}

/* The service's check (svc: its options) runs, and so does every real
 * server's with its own options over it. */
static int check_svc_checks(const struct xlb_snap_svc *svc, const struct xlb_check *chk,
			    char *err, size_t errlen)
{
	struct xlb_check eff;
	char ds[AP_STR];
	int ret;

	xlb_check_effective(&eff, chk, NULL);
	ret = xlb_check_validate_effective(&eff, err, errlen);
	if (ret)
		return ret;
	for (uint32_t j = 0; svc && j < svc->ndests; j++) {
		if (!svc->dests[j].check)
			continue;
		xlb_check_effective(&eff, chk, svc->dests[j].check);
		ret = xlb_check_validate_effective(&eff, err, errlen);
		if (ret) {
			size_t l = err ? strlen(err) : 0;

			if (err && l + 1 < errlen)
				snprintf(err + l, errlen - l, " (real server %s)",
					 ap_str(svc->dests[j].cfg.af, &svc->dests[j].cfg.addr,
						svc->dests[j].cfg.port,
						ds, sizeof(ds)));
			return ret;
		}
	}
	return 0;
}

static int c_add_svc(struct xlb_tables *t, struct xlb_snap *s, const struct xlb_svc_cfg *in,
		     uint32_t set, const struct xlb_check *chk, char *err, size_t errlen)
{
	struct snap_node *n = container_of(s, struct snap_node, s);
	struct xlb_svc_cfg c = { .key = in->key, .sched = XLB_SCHED_DEFAULT,
				 .netmask = 0xffffffff, .vnodes = XLB_VNODES_DEFAULT };
	struct xlb_snap_svc svc = { 0 };
	char ks[XLB_CTL_SVC_STR];
	bool ok;
	long i;
	int ret;

	c.key.af = xlb_af(c.key.af);
	if (c.key.af == AF_INET6)
		c.netmask = 128;	/* IPVS's default prefix length */
	svc_cfg_merge(&c, in, set);
	ret = check_svc_cfg(&c, err, errlen);
	if (!ret && chk)
		ret = xlb_check_validate(chk, err, errlen);
	if (!ret)
		ret = check_svc_checks(NULL, chk, err, errlen);
	if (ret)
		return ret;
	i = svc_search(s, c.key.proto, c.key.af, &c.key.addr, c.key.port);
	if (i >= 0) {
		xlb_seterr(err, errlen, "service %s already exists", svc_str(&c.key, ks));
		return -EEXIST;
	}
	if (s->nsvcs >= XLB_TABLES_MAX_SVCS) {
		xlb_seterr(err, errlen, "too many services (%u)", XLB_TABLES_MAX_SVCS);
		return -ENOSPC;
	}
	i = -i - 1;
	if (s->nsvcs == n->cap) {
		size_t cap = n->cap * 2;
		void *p = realloc(s->svcs, cap * sizeof(s->svcs[0]));

		if (!p)
			return -ENOMEM;
		s->svcs = p;
		n->cap = cap;
	}
	svc.cfg = c;
	svc.cnt = cnt_new(t);
	svc.set = set_alloc(0);
	svc.sched_state = xlb_sched_state_new(xlb_sched_find(c.sched));
	svc.check = check_new(chk, &ok);
	if (!ok || !svc.cnt || !svc.set || !svc.sched_state || set_build(svc.set, &c, s->seed)) {
		xlb_cnt_put(svc.cnt);
		set_put(svc.set);
		xlb_sched_state_put(svc.sched_state);
		check_unref(svc.check);
		return -ENOMEM;
	}
	svc_attach(&svc, svc.set);
	if (!addr_zero(c.key.af, &c.sorry_addr)) {
		ret = svc_new_set(t, &svc, -1, NULL, 0, -1, NULL, false, s->seed, err, errlen);
		if (ret) {
			xlb_cnt_put(svc.cnt);
			set_put(svc.set);
			xlb_sched_state_put(svc.sched_state);
			check_unref(svc.check);
			return ret;
		}
	}
	memmove(&s->svcs[i + 1], &s->svcs[i], (s->nsvcs - i) * sizeof(s->svcs[0]));
	s->svcs[i] = svc;
	s->nsvcs++;
	return 0;
}

static int c_edit_svc(struct xlb_tables *t, struct xlb_snap *s, const struct xlb_svc_cfg *in,
		      uint32_t set, const struct xlb_check *chk, char *err, size_t errlen)
{
	int i = find_svc(s, &in->key, err, errlen), ret;
	const struct xlb_check *nchk = NULL;
	struct xlb_snap_svc *svc;
	struct xlb_svc_cfg c, oc;
	struct xlb_check merged = { 0 };
	struct xlb_sched_state *ns = NULL;
	bool recheck = false, ok;

	if (i < 0)
		return i;
	svc = &s->svcs[i];
	c = svc->cfg;
	svc_cfg_merge(&c, in, set);
	ret = check_svc_cfg(&c, err, errlen);
	if (ret)
		return ret;
	for (uint32_t j = 0; j < svc->ndests && (c.flags & XLB_SVC_F_ONEPACKET); j++) {
		if (svc->dests[j].sorry)
			continue;
		ret = check_dest_cfg(&c, &svc->dests[j].cfg, err, errlen);
		if (ret)
			return ret;
	}
	if (chk && chk->set) {
		ret = xlb_check_validate(chk, err, errlen);
		if (ret)
			return ret;
		if (svc->check)
			merged = *svc->check;
		xlb_check_merge(&merged, chk);
		ret = check_svc_checks(svc, &merged, err, errlen);
		if (ret)
			return ret;
		recheck = !check_same(&merged, svc->check);
	}
	if (recheck) {
		nchk = check_new(&merged, &ok);
		if (!ok)
			return -ENOMEM;
	}
	if (strncmp(c.sched, svc->cfg.sched, sizeof(c.sched))) {
		/* A new scheduler starts from fresh state (IPVS: done_service
		 * of the old one, init_service of the new). */
		ns = xlb_sched_state_new(xlb_sched_find(c.sched));
		if (!ns) {
			check_unref(nchk);
			return -ENOMEM;
		}
	}
	oc = svc->cfg;
	svc->cfg = c;
	if (recheck || ns || c.vnodes != oc.vnodes || !xlb_inaddr_eq(&c.sorry_addr, &oc.sorry_addr) ||
	    c.sorry_port != oc.sorry_port) {
		/* A new check starts every server afresh (up, counts zero). */
		ret = svc_new_set(t, svc, -1, NULL, 0, -1, NULL, recheck, s->seed, err, errlen);
		if (ret) {
			svc->cfg = oc;
			check_unref(nchk);
			xlb_sched_state_put(ns);
			return ret;
		}
	}
	if (ns) {
		xlb_sched_state_put(svc->sched_state);
		svc->sched_state = ns;
	}
	if (recheck) {
		check_unref(svc->check);
		svc->check = nchk;
	}
	return 0;
}

static int c_del_svc(struct xlb_snap *s, const struct xlb_svc_key *key, char *err, size_t errlen)
{
	int i = find_svc(s, key, err, errlen);

	if (i < 0)
		return i;
	set_put(s->svcs[i].set);
	xlb_sched_state_put(s->svcs[i].sched_state);
	xlb_cnt_put(s->svcs[i].cnt);
	check_unref(s->svcs[i].check);
	memmove(&s->svcs[i], &s->svcs[i + 1], (s->nsvcs - i - 1) * sizeof(s->svcs[0]));
	s->nsvcs--;
	return 0;
}

static int c_add_dest(struct xlb_tables *t, struct xlb_snap *s, const struct xlb_svc_key *key,
		      const struct xlb_dest_cfg *in, uint32_t set, const struct xlb_check *chk,
		      char *err, size_t errlen)
{
	int i = find_svc(s, key, err, errlen), ret;
	struct xlb_snap_dest nd = { 0 };
	struct xlb_snap_svc *svc;
	struct xlb_check eff;
	char ds[AP_STR], ks[XLB_CTL_SVC_STR];
	bool ok;
	long j;

	if (i < 0)
		return i;
	svc = &s->svcs[i];
	nd.cfg.addr = in->addr;
	nd.cfg.af = xlb_af(in->af);
	nd.cfg.port = (set & XLB_DEST_SET_PORT) && in->port ? in->port : svc->cfg.key.port;
	nd.cfg.fwd = set & XLB_DEST_SET_FWD ? in->fwd : XLB_FWD_DR;
	nd.cfg.weight = set & XLB_DEST_SET_WEIGHT ? in->weight : 1;
	nd.cfg.u_thresh = set & XLB_DEST_SET_UTHRESH ? in->u_thresh : 0;
	nd.cfg.l_thresh = set & XLB_DEST_SET_LTHRESH ? in->l_thresh : 0;
	ret = check_dest_cfg(&svc->cfg, &nd.cfg, err, errlen);
	if (!ret && chk && chk->set) {
		ret = xlb_check_validate(chk, err, errlen);
		if (!ret) {
			xlb_check_effective(&eff, svc->check, chk);
			ret = xlb_check_validate_effective(&eff, err, errlen);
		}
	}
	if (!ret && t->prov.check_dest)
		ret = t->prov.check_dest(&nd.cfg, err, errlen, t->prov.arg);
	if (ret)
		return ret;
	j = dest_search(svc, nd.cfg.af, &nd.cfg.addr, nd.cfg.port);
	if (j >= 0) {
		xlb_seterr(err, errlen, svc->dests[j].sorry ?
			   "real server %s is the sorry server of service %s" :
			   "real server %s already exists in service %s",
		       ap_str(nd.cfg.af, &nd.cfg.addr, nd.cfg.port, ds, sizeof(ds)),
		       svc_str(key, ks));
		return -EEXIST;
	}
	if (svc->ndests >= XLB_TABLES_MAX_DESTS) {
		xlb_seterr(err, errlen, "too many real servers (%u)", XLB_TABLES_MAX_DESTS);
		return -ENOSPC;
	}
	nd.check = check_new(chk, &ok);
	if (!ok)
		return -ENOMEM;
	nd.hgen = ++t->hgen;
	nd.cnt = cnt_new(t);
	if (!nd.cnt) {
		check_unref(nd.check);
		return -ENOMEM;
	}
	ret = svc_new_set(t, svc, -1, &nd, (uint32_t)(-j - 1), -1, NULL, false, s->seed,
			  err, errlen);
	xlb_cnt_put(nd.cnt);
	check_unref(nd.check);
	return ret;
}

/* A real server (never the sorry server, which is not one). */
static int find_dest(struct xlb_snap_svc *svc, uint8_t af, const union xlb_inaddr *addr,
		     uint16_t port, char *err, size_t errlen)
{
	long j = dest_search(svc, af, addr, port);
	char ds[AP_STR], ks[XLB_CTL_SVC_STR];

	if (j < 0 || svc->dests[j].sorry) {
		xlb_seterr(err, errlen, "no such real server %s in service %s",
		       ap_str(af, addr, port, ds, sizeof(ds)), svc_str(&svc->cfg.key, ks));
		return -ENOENT;
	}
	return (int)j;
}

static int c_edit_dest(struct xlb_tables *t, struct xlb_snap *s, const struct xlb_svc_key *key,
		       const struct xlb_dest_cfg *in, uint32_t set, const struct xlb_check *chk,
		       char *err, size_t errlen)
{
	int i = find_svc(s, key, err, errlen), j, ret;
	struct xlb_snap_svc *svc;
	struct xlb_snap_dest ed;
	struct xlb_check merged = { 0 }, eff;
	bool recheck = false, ok;
	uint16_t port;

	if (i < 0)
		return i;
	svc = &s->svcs[i];
	port = in->port ? in->port : svc->cfg.key.port;
	j = find_dest(svc, in->af ? in->af : svc->cfg.key.af, &in->addr, port, err, errlen);
	if (j < 0)
		return j;
	ed = svc->dests[j];
	if (set & XLB_DEST_SET_FWD)
		ed.cfg.fwd = in->fwd;
	if (set & XLB_DEST_SET_WEIGHT)
		ed.cfg.weight = in->weight;
	if (set & XLB_DEST_SET_UTHRESH)
		ed.cfg.u_thresh = in->u_thresh;
	if (set & XLB_DEST_SET_LTHRESH)
		ed.cfg.l_thresh = in->l_thresh;
	ret = check_dest_cfg(&svc->cfg, &ed.cfg, err, errlen);
	if (!ret && t->prov.check_dest && ed.cfg.fwd != svc->dests[j].cfg.fwd)
		ret = t->prov.check_dest(&ed.cfg, err, errlen, t->prov.arg);
	if (!ret && chk && chk->set) {
		ret = xlb_check_validate(chk, err, errlen);
		if (!ret) {
			if (ed.check)
				merged = *ed.check;
			xlb_check_merge(&merged, chk);
			xlb_check_effective(&eff, svc->check, &merged);
			ret = xlb_check_validate_effective(&eff, err, errlen);
			recheck = !check_same(&merged, ed.check);
		}
	}
	if (ret)
		return ret;
	if (!recheck && !memcmp(&ed.cfg, &svc->dests[j].cfg, sizeof(ed.cfg)))
		return 0;
	if (recheck) {
		/* A new check starts the server afresh. */
		ed.check = check_new(&merged, &ok);
		if (!ok)
			return -ENOMEM;
		ed.down = false;
		ed.hgen = ++t->hgen;
	}
	/* Sets are immutable: even a forwarding-method change makes a new one
	 * (the ring is rebuilt, identical when the weight is unchanged). */
	ret = svc_new_set(t, svc, -1, NULL, 0, j, &ed, false, s->seed, err, errlen);
	if (recheck)
		check_unref(ed.check);	/* the set took its own */
	return ret;
}

static int c_del_dest(struct xlb_tables *t, struct xlb_snap *s, const struct xlb_svc_key *key,
		      const union xlb_inaddr *addr, uint16_t port, char *err, size_t errlen)
{
	int i = find_svc(s, key, err, errlen), j;

	if (i < 0)
		return i;
	j = find_dest(&s->svcs[i], s->svcs[i].cfg.key.af, addr, port ? port : key->port, err,
		      errlen);
	if (j < 0)
		return j;
	return svc_new_set(t, &s->svcs[i], j, NULL, 0, -1, NULL, false, s->seed, err, errlen);
}

static int c_set_timeouts(struct xlb_snap *s, const struct xlb_timeouts *to, char *err,
			  size_t errlen)
{
	const uint32_t v[] = { to->tcp, to->tcp_fin, to->udp };
	static const char *const name[] = { "tcp", "tcpfin", "udp" };

	for (int i = 0; i < 3; i++) {
		if (v[i] > XLB_TIMEOUT_MAX) {
			xlb_seterr(err, errlen, "%s timeout %u out of range 1..%u", name[i], v[i],
			       XLB_TIMEOUT_MAX);
			return -EINVAL;
		}
	}
	if (to->tcp)
		s->timeouts.tcp = to->tcp;
	if (to->tcp_fin)
		s->timeouts.tcp_fin = to->tcp_fin;
	if (to->udp)
		s->timeouts.udp = to->udp;
	return 0;
}

static int c_flush(struct xlb_snap *s)
{
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		set_put(s->svcs[i].set);
		xlb_sched_state_put(s->svcs[i].sched_state);
		xlb_cnt_put(s->svcs[i].cnt);
		check_unref(s->svcs[i].check);
	}
	s->nsvcs = 0;
	return 0;
}

static int c_seed(struct xlb_tables *t, struct xlb_snap *s, uint32_t seed)
{
	s->seed = seed;
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		int ret = svc_new_set(t, &s->svcs[i], -1, NULL, 0, -1, NULL, false, seed, NULL, 0);

		if (ret)
			return ret;
	}
	return 0;
}

/* Health results onto the candidate: each touched service gets one new
 * set (copied, then changed before its ring is built). */
static int c_set_health(struct xlb_tables *t, struct xlb_snap *s,
			const struct xlb_health_change *c, size_t n, size_t *applied)
{
	size_t done = 0;

	for (size_t k = 0; k < n; k++) {
		long i = svc_search(s, c[k].svc.proto, c[k].svc.af, &c[k].svc.addr, c[k].svc.port);
		struct xlb_snap_svc *svc;
		struct xlb_dest_set *ns;
		bool any = false;
		int ret;

		if (i < 0)
			continue;
		svc = &s->svcs[i];
		/* Every later change of the same service is taken with this one. */
		for (size_t m = k; m < n; m++) {
			long j;

			if (memcmp(&c[m].svc, &c[k].svc, sizeof(c[k].svc)))
				continue;
			j = dest_search(svc, c[m].svc.af, &c[m].addr, c[m].port);
			if (j >= 0 && !svc->dests[j].sorry && svc->dests[j].hgen == c[m].hgen &&
			    svc->dests[j].down != c[m].down)
				any = true;
		}
		if (!any)
			continue;
		ret = svc_make_set(t, svc, -1, NULL, 0, -1, NULL, false, &ns, NULL, 0);
		if (ret)
			return ret;
		for (size_t m = k; m < n; m++) {
			long lo = 0, hi = (long)ns->n - 1;

			if (memcmp(&c[m].svc, &c[k].svc, sizeof(c[k].svc)))
				continue;
			while (lo <= hi) {
				long mid = lo + (hi - lo) / 2;
				int cmp = key_cmp(0, ns->d[mid].cfg.af, &ns->d[mid].cfg.addr,
						  ns->d[mid].cfg.port, 0, c[m].svc.af, &c[m].addr,
						  c[m].port);

				if (!cmp) {
					struct xlb_snap_dest *d = &ns->d[mid];

					if (!d->sorry && d->hgen == c[m].hgen && d->down != c[m].down) {
						d->down = c[m].down;
						done++;
					}
					break;
				}
				if (cmp < 0)
					lo = mid + 1;
				else
					hi = mid - 1;
			}
		}
		ret = svc_install(svc, ns, s->seed);
		if (ret)
			return ret;
		/* Skip the rest of this service's changes: done above. */
		while (k + 1 < n && !memcmp(&c[k + 1].svc, &c[k].svc, sizeof(c[k].svc)))
			k++;
	}
	if (applied)
		*applied = done;
	return 0;
}

/* Fields an ADD takes from a request; other operations: what was named. */
static uint32_t req_svc_fields(const struct xlb_req *req)
{
	return req->op == XLB_REQ_ADD_SVC ? xlb_req_add_svc_fields(req) : req->svc_set;
}

static int c_apply_req(struct xlb_tables *t, struct xlb_snap *s, const struct xlb_req *r,
		       char *err, size_t errlen)
{
	const uint32_t dest_all = XLB_DEST_SET_PORT | XLB_DEST_SET_FWD |
		XLB_DEST_SET_WEIGHT | XLB_DEST_SET_UTHRESH | XLB_DEST_SET_LTHRESH;

	switch (r->op) {
	case XLB_REQ_ADD_SVC:
		return c_add_svc(t, s, &r->svc, req_svc_fields(r), &r->check, err, errlen);
	case XLB_REQ_EDIT_SVC:
		return c_edit_svc(t, s, &r->svc, r->svc_set, &r->check, err, errlen);
	case XLB_REQ_DEL_SVC:
		return c_del_svc(s, &r->svc.key, err, errlen);
	case XLB_REQ_CLEAR:
		return c_flush(s);
	case XLB_REQ_ADD_DEST:
		return c_add_dest(t, s, &r->svc.key, &r->dest, dest_all, &r->check, err, errlen);
	case XLB_REQ_EDIT_DEST:
		return c_edit_dest(t, s, &r->svc.key, &r->dest, r->dest_set, &r->check, err,
				   errlen);
	case XLB_REQ_DEL_DEST:
		return c_del_dest(t, s, &r->svc.key, &r->dest.addr, r->dest.port, err, errlen);
	case XLB_REQ_SET_TIMEOUT:
		return c_set_timeouts(s, &r->timeouts, err, errlen);
	default:
		xlb_seterr(err, errlen, "request %d does not change the tables", r->op);
		return -EINVAL;
	}
}

/*
 * Rings are the only thing a small request can make big (one weight-65535
 * server is 2^20 points): the points of all rings together are bounded,
 * so no sequence of requests makes xlbd allocate without bound.
 */
static int check_budget(const struct xlb_snap *s, char *err, size_t errlen)
{
	uint64_t points = 0;

	for (uint32_t i = 0; i < s->nsvcs; i++)
		points += s->svcs[i].set->cost;
	if (points > XLB_TABLES_MAX_POINTS) {
		xlb_seterr(err, errlen, "the rings would hold %llu points, over the limit of %u: "
		       "lower the weights or --vnodes", (unsigned long long)points,
		       XLB_TABLES_MAX_POINTS);
		return -ENOSPC;
	}
	return 0;
}

/* ---- writer API: candidate, operation, publish or discard ---- */

/* A candidate that the operation made: within budget, accepted by the
 * datapath (prepare), then published; else discarded. */
static int finish(struct xlb_tables *t, struct xlb_snap *s, char *err, size_t errlen)
{
	int r = check_budget(s, err, errlen);

	if (!r && t->prepare_fn) {
		if (err && errlen)
			err[0] = '\0';
		r = t->prepare_fn(s, t->prepare_arg, err, errlen);
		if (r > 0)
			r = -EINVAL;
		if (r < 0 && err && errlen && !err[0])
			xlb_seterr(err, errlen, "the datapath refused the change: %s",
				   strerror(-r));
	}
	if (r < 0) {
		snap_free(s);
		return r;
	}
	publish(t, s);
	return 0;
}


#define WITH_CANDIDATE(t, err, errlen, op)				\
	({								\
		struct xlb_snap *s = snap_copy(xlb_tables_current(t));	\
		int r_;							\
		if (!s) {						\
			xlb_seterr(err, errlen, "out of memory");		\
			r_ = -ENOMEM;					\
		} else if ((r_ = (op)) < 0) {				\
			if (r_ == -ENOMEM)				\
				xlb_seterr(err, errlen, "out of memory");	\
			snap_free(s);					\
		} else {						\
			r_ = finish(t, s, err, errlen);			\
		}							\
		r_;							\
	})

int xlb_tables_add_svc(struct xlb_tables *t, const struct xlb_svc_cfg *cfg,
		       uint32_t set, char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_add_svc(t, s, cfg, set, NULL, err, errlen));
}

int xlb_tables_add_svc_chk(struct xlb_tables *t, const struct xlb_svc_cfg *cfg, uint32_t set,
			   const struct xlb_check *check, char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_add_svc(t, s, cfg, set, check, err, errlen));
}

int xlb_tables_edit_svc_chk(struct xlb_tables *t, const struct xlb_svc_cfg *cfg, uint32_t set,
			    const struct xlb_check *check, char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_edit_svc(t, s, cfg, set, check, err, errlen));
}

int xlb_tables_add_dest_chk(struct xlb_tables *t, const struct xlb_svc_key *key,
			    const struct xlb_dest_cfg *d, uint32_t set,
			    const struct xlb_check *check, char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_add_dest(t, s, key, d, set, check, err, errlen));
}

int xlb_tables_edit_dest_chk(struct xlb_tables *t, const struct xlb_svc_key *key,
			     const struct xlb_dest_cfg *d, uint32_t set,
			     const struct xlb_check *check, char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_edit_dest(t, s, key, d, set, check, err, errlen));
}

int xlb_tables_set_health(struct xlb_tables *t, const struct xlb_health_change *c, size_t n,
			  size_t *applied, char *err, size_t errlen)
{
	const struct xlb_snap *cur = xlb_tables_current(t);
	bool any = false;

	if (applied)
		*applied = 0;
	/* Stale results (the server was re-added or re-checked) publish nothing. */
	for (size_t k = 0; k < n && !any; k++) {
		const struct xlb_snap_svc *svc = xlb_snap_find_key(cur, &c[k].svc);
		long j = svc ? dest_search(svc, c[k].svc.af, &c[k].addr, c[k].port) : -1;

		any = j >= 0 && !svc->dests[j].sorry && svc->dests[j].hgen == c[k].hgen &&
		      svc->dests[j].down != c[k].down;
	}
	if (!any)
		return 0;
	return WITH_CANDIDATE(t, err, errlen, c_set_health(t, s, c, n, applied));
}

int xlb_tables_edit_svc(struct xlb_tables *t, const struct xlb_svc_cfg *cfg,
			uint32_t set, char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_edit_svc(t, s, cfg, set, NULL, err, errlen));
}

int xlb_tables_del_svc(struct xlb_tables *t, const struct xlb_svc_key *key,
		       char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_del_svc(s, key, err, errlen));
}

int xlb_tables_add_dest(struct xlb_tables *t, const struct xlb_svc_key *key,
			const struct xlb_dest_cfg *d, uint32_t set,
			char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_add_dest(t, s, key, d, set, NULL, err, errlen));
}

int xlb_tables_edit_dest(struct xlb_tables *t, const struct xlb_svc_key *key,
			 const struct xlb_dest_cfg *d, uint32_t set,
			 char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_edit_dest(t, s, key, d, set, NULL, err, errlen));
}

int xlb_tables_del_dest(struct xlb_tables *t, const struct xlb_svc_key *key,
			const union xlb_inaddr *addr, uint16_t port, char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_del_dest(t, s, key, addr, port, err, errlen));
}

int xlb_tables_flush(struct xlb_tables *t, char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_flush(s));
}

int xlb_tables_set_timeouts(struct xlb_tables *t, const struct xlb_timeouts *to,
			    char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, c_set_timeouts(s, to, err, errlen));
}

int xlb_tables_set_seed(struct xlb_tables *t, uint32_t seed)
{
	return WITH_CANDIDATE(t, NULL, 0, c_seed(t, s, seed));
}

int xlb_tables_zero(struct xlb_tables *t, const struct xlb_svc_key *key,
		    char *err, size_t errlen)
{
	const struct xlb_snap *s = xlb_tables_current(t);
	uint32_t from = 0, to = s->nsvcs;

	/* What the datapath counted elsewhere is zeroed too. */
	if (t->prov.sync_counters)
		t->prov.sync_counters(t->prov.arg);
	/* Counters are not configuration: nothing to publish. */
	if (key) {
		int i = find_svc((struct xlb_snap *)s, key, err, errlen);

		if (i < 0)
			return i;
		from = i;
		to = i + 1;
	}
	for (uint32_t i = from; i < to; i++) {
		cnt_zero(s->svcs[i].cnt);
		for (uint32_t j = 0; j < s->svcs[i].ndests; j++)
			cnt_zero(s->svcs[i].dests[j].cnt);
	}
	return 0;
}

void xlb_tables_estimate(struct xlb_tables *t)
{
	const struct xlb_snap *s = xlb_tables_current(t);

	for (uint32_t i = 0; i < s->nsvcs; i++) {
		cnt_estimate(s->svcs[i].cnt);
		for (uint32_t j = 0; j < s->svcs[i].ndests; j++)
			cnt_estimate(s->svcs[i].dests[j].cnt);
	}
}

int xlb_tables_apply_req(struct xlb_tables *t, const struct xlb_req *req,
			 char *err, size_t errlen)
{
	if (req->op == XLB_REQ_ZERO)
		return xlb_tables_zero(t, req->has_svc ? &req->svc.key : NULL, err, errlen);
	return WITH_CANDIDATE(t, err, errlen, c_apply_req(t, s, req, err, errlen));
}

static int apply_all(struct xlb_tables *t, struct xlb_snap *s, const struct xlb_req *reqs,
		     size_t n, size_t *failed, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int ret;

		if (reqs[i].op == XLB_REQ_ZERO)
			continue;	/* nothing to zero in tables being made */
		ret = c_apply_req(t, s, &reqs[i], err, errlen);
		if (ret) {
			if (failed)
				*failed = i;
			return ret;
		}
	}
	/* A refusal from here on (ring budget, the datapath) is the whole
	 * batch's, not one request's. */
	if (failed)
		*failed = n;
	return 0;
}

int xlb_tables_apply_reqs(struct xlb_tables *t, const struct xlb_req *reqs, size_t n,
			  size_t *failed, char *err, size_t errlen)
{
	return WITH_CANDIDATE(t, err, errlen, apply_all(t, s, reqs, n, failed, err, errlen));
}
