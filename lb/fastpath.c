// SPDX-License-Identifier: GPL-2.0
/*
 * The fast path's userspace side: installs from the workers, removal and
 * reconciliation from the control thread. See fastpath.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dp-int.h"
#include "fastpath.h"
#include "log.h"
#include "pkt.h"
#include "tables.h"
#include "../bpf/xlb_fp.h"
#include "../bpf/xlb_shared.h"

/* The control thread's reconciliation: every second, and at the next
 * tick after anything that may change a decision. */
#define FP_SYNC_MS		1000
#define FP_BATCH		256	/* entries per lookup_batch call */
/* A worker that just installed a flow sees its packets already queued
 * for AF_XDP: they must not each cost a syscall. */
#define FP_RECENT_SLOTS		256
#define FP_RECENT_MS		200
#define ETH_HLEN_FP		14	/* XDP counts frames; --stats counts IP */

struct fp_recent {
	uint32_t hash;
	uint32_t ms;
};

struct fp_worker {
	struct xlb_fp_val *vals;	/* one per possible CPU */
	struct xlb_fp6_val *vals6;	/* the same for fp_flows6 */
	struct fp_recent recent[FP_RECENT_SLOTS];
} __attribute__((aligned(64)));

/* An entry to remove at the end of a sync, of either cache. */
struct fp_del {
	bool v6;
	union {
		struct xlb_fp_key k4;
		struct xlb_fp6_key k6;
	};
};

struct xlb_fp {
	bool enabled;
	int flows_fd;
	int flows6_fd;			/* fp_flows6 (IPv6 flows), or -1 */
	int devs_fd;
	int ncpus;
	uint32_t gen;			/* this xlbd's: never 0 */
	int n_workers;
	struct fp_worker *w;
	/* control thread */
	struct xlb_fp_key *bkeys;
	struct xlb_fp_val *bvals;	/* FP_BATCH * ncpus */
	struct xlb_fp_val *cvals;	/* ncpus: one entry's rewrite */
	struct xlb_fp6_key *bkeys6;	/* the same three for fp_flows6 */
	struct xlb_fp6_val *bvals6;
	struct xlb_fp6_val *cvals6;
	struct fp_del *dels;
	size_t n_dels, cap_dels;
	/* counters: workers add with atomics (once per flow, not per packet) */
	_Atomic uint64_t installs, removals, updates, evictions, failures, install_ns;
	uint64_t entries, syncs, sync_us_last;
};

bool xlb_fp_enabled(const struct xlb_fp *fp)
{
	return fp && fp->enabled;
}

void xlb_fp_get_stats(const struct xlb_fp *fp, struct xlb_fp_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!fp)
		return;
	s->enabled = fp->enabled;
	s->installs = atomic_load(&fp->installs);
	s->removals = atomic_load(&fp->removals);
	s->updates = atomic_load(&fp->updates);
	s->evictions = atomic_load(&fp->evictions);
	s->install_failures = atomic_load(&fp->failures);
	s->install_ns = atomic_load(&fp->install_ns);
	s->entries = fp->entries;
	s->syncs = fp->syncs;
	s->sync_us_last = fp->sync_us_last;
}

int xlb_fp_init(struct xlb_fp **out, const struct xlb_fp_params *p,
		char *err, size_t errlen)
{
	struct xlb_fp *fp;
	int i;

	*out = NULL;
	fp = calloc(1, sizeof(*fp));
	if (!fp)
		return -ENOMEM;
	fp->enabled = p->enabled;
	fp->flows_fd = p->flows_fd;
	fp->flows6_fd = p->flows6_fd > 0 ? p->flows6_fd : -1;
	fp->devs_fd = p->devs_fd;
	fp->n_workers = p->n_workers;
	if (!fp->enabled) {
		*out = fp;
		return 0;
	}
	fp->ncpus = libbpf_num_possible_cpus();
	if (fp->ncpus <= 0) {
		int rc = fp->ncpus ? fp->ncpus : -EINVAL;

		snprintf(err, errlen, "fast path: counting the possible CPUs: %s",
			 strerror(-rc));
		free(fp);
		return rc;
	}
	/* A generation of this process: an entry of another one is the
	 * previous xlbd's, to adopt or remove. */
	while (!fp->gen)
		if (getrandom(&fp->gen, sizeof(fp->gen), 0) != sizeof(fp->gen))
			fp->gen = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	fp->w = aligned_alloc(64, sizeof(*fp->w) * (size_t)p->n_workers);
	fp->bkeys = calloc(FP_BATCH, sizeof(*fp->bkeys));
	fp->bvals = calloc((size_t)FP_BATCH * (size_t)fp->ncpus, sizeof(*fp->bvals));
	fp->cvals = calloc((size_t)fp->ncpus, sizeof(*fp->cvals));
	fp->bkeys6 = calloc(FP_BATCH, sizeof(*fp->bkeys6));
	fp->bvals6 = calloc((size_t)FP_BATCH * (size_t)fp->ncpus, sizeof(*fp->bvals6));
	fp->cvals6 = calloc((size_t)fp->ncpus, sizeof(*fp->cvals6));
	if (!fp->w || !fp->bkeys || !fp->bvals || !fp->cvals || !fp->bkeys6 ||
	    !fp->bvals6 || !fp->cvals6)
		goto nomem;
	memset(fp->w, 0, sizeof(*fp->w) * (size_t)p->n_workers);
	for (i = 0; i < p->n_workers; i++) {
		fp->w[i].vals = calloc((size_t)fp->ncpus, sizeof(struct xlb_fp_val));
		fp->w[i].vals6 = calloc((size_t)fp->ncpus, sizeof(struct xlb_fp6_val));
		if (!fp->w[i].vals || !fp->w[i].vals6)
			goto nomem;
	}
	/* Every interface a flow can leave by: the served ones. */
	for (i = 0; i < p->n_ifindex; i++) {
		uint32_t k = (uint32_t)p->ifindex[i], v[2] = { k, 0 };

		if (bpf_map_update_elem(p->devs_fd, &k, v, BPF_ANY)) {
			int e = errno;

			snprintf(err, errlen, "fast path: interface %u into fp_devs: %s",
				 k, strerror(e));
			xlb_fp_free(fp);
			return -e;
		}
	}
	*out = fp;
	return 0;
nomem:
	xlb_fp_free(fp);
	snprintf(err, errlen, "fast path: out of memory");
	return -ENOMEM;
}

void xlb_fp_free(struct xlb_fp *fp)
{
	if (!fp)
		return;
	if (fp->w)
		for (int i = 0; i < fp->n_workers; i++) {
			free(fp->w[i].vals);
			free(fp->w[i].vals6);
		}
	free(fp->w);
	free(fp->bkeys);
	free(fp->bvals);
	free(fp->cvals);
	free(fp->bkeys6);
	free(fp->bvals6);
	free(fp->cvals6);
	free(fp->dels);
	free(fp);
}

/* ---- shared by both sides ---- */

static inline struct xlb_conn_key fp_conn_key(const struct xlb_fp_key *k)
{
	return (struct xlb_conn_key){ .saddr = k->saddr, .daddr = k->daddr,
				      .sport = k->sport, .dport = k->dport,
				      .proto = k->proto };
}

static inline struct xlb_fp_key fp_key(const struct xlb_conn_key *k)
{
	return (struct xlb_fp_key){ .saddr = k->saddr, .daddr = k->daddr,
				    .sport = k->sport, .dport = k->dport,
				    .proto = k->proto };
}

/* The same two for IPv6 flows (fp_flows6): the 16-byte addresses of the
 * connection key, the folds left to xlb_conn_key_set6(). */
static inline struct xlb_conn_key fp6_conn_key(const struct xlb_fp6_key *k)
{
	struct xlb_conn_key ck = { .sport = k->sport, .dport = k->dport,
				   .proto = k->proto };
	union xlb_inaddr s, d;

	memcpy(s.b, k->saddr, 16);
	memcpy(d.b, k->daddr, 16);
	xlb_conn_key_set6(&ck, &s, &d);
	return ck;
}

static inline struct xlb_fp6_key fp6_key(const struct xlb_conn_key *k)
{
	struct xlb_fp6_key f = { .sport = k->sport, .dport = k->dport,
				 .proto = k->proto };

	memcpy(f.saddr, k->saddr6.b, 16);
	memcpy(f.daddr, k->daddr6.b, 16);
	return f;
}

/* Which connections XDP may carry: decided, and nothing to track. */
static inline bool fp_state_ok(uint8_t proto, uint8_t state)
{
	return proto == IPPROTO_UDP ? state == XLB_CONN_S_UDP :
				      state == XLB_CONN_S_ESTABLISHED;
}

/* The decision a direction's entry carries, from the next hop the packet
 * path used (dir 0: original tuple, ib from dp_in_bind; dir 1: NAT reply,
 * ob from dp_out_bind). The counters stay zero. */
static void fp_decide(struct xlb_fp *fp, int dir, uint8_t fwd,
		      const struct xlb_xmit_bind *b, struct xlb_fp_val *v)
{
	memset(v, 0, sizeof(*v));
	v->ifindex = (uint32_t)b->ifindex;
	memcpy(v->dmac, b->dmac, 6);
	memcpy(v->smac, b->smac, 6);
	v->mtu = b->mtu;
	v->gen = fp->gen;
	if (dir) {
		v->op = XLB_FP_NAT_OUT;
		v->addr = b->vip;
		v->port = b->vport;
		return;
	}
	switch (fwd) {
	case XLB_FWD_NAT:
		v->op = XLB_FP_NAT_IN;
		v->addr = b->rip;
		v->port = b->rport;
		break;
	case XLB_FWD_TUN:
		v->op = XLB_FP_TUN;
		v->addr = b->rip;
		v->tun_saddr = b->dip;
		v->ttl = b->ttl;
		break;
	default:
		v->op = XLB_FP_DR;
		break;
	}
}

/* The same for an IPv6 flow's entry (fp_flows6): the bind's IPv6
 * addresses (lb/dp.c dp_in_bind6, dp_out_bind), the hop limit userspace's
 * TUN6 writes. */
static void fp_decide6(struct xlb_fp *fp, int dir, uint8_t fwd,
		       const struct xlb_xmit_bind *b, struct xlb_fp6_val *v)
{
	memset(v, 0, sizeof(*v));
	v->ifindex = (uint32_t)b->ifindex;
	memcpy(v->dmac, b->dmac, 6);
	memcpy(v->smac, b->smac, 6);
	v->mtu = b->mtu;
	v->gen = fp->gen;
	if (dir) {
		v->op = XLB_FP_NAT_OUT;
		memcpy(v->addr, b->vip6.b, 16);
		v->port = b->vport;
		return;
	}
	switch (fwd) {
	case XLB_FWD_NAT:
		v->op = XLB_FP_NAT_IN;
		memcpy(v->addr, b->rip6.b, 16);
		v->port = b->rport;
		break;
	case XLB_FWD_TUN:
		v->op = XLB_FP_TUN;
		memcpy(v->addr, b->rip6.b, 16);
		memcpy(v->tun_saddr, b->dip6.b, 16);
		v->hop_limit = b->ttl;
		break;
	default:
		v->op = XLB_FP_DR;
		break;
	}
}

/* The decision part of an entry (everything before the counters). */
static inline bool fp_same_decision(const struct xlb_fp_val *a, const struct xlb_fp_val *b)
{
	return !memcmp(a, b, offsetof(struct xlb_fp_val, pkts));
}

static inline bool fp6_same_decision(const struct xlb_fp6_val *a,
				     const struct xlb_fp6_val *b)
{
	return !memcmp(a, b, offsetof(struct xlb_fp6_val, pkts));
}

/* Sums ncpus copies of an entry of either cache: stride bytes apart, the
 * counters (pkts, bytes, last_ns, as both values end) at off. */
static void fp_sum_at(const void *vals, size_t stride, size_t off, int ncpus,
		      uint64_t *pkts, uint64_t *bytes, uint64_t *last_ns)
{
	*pkts = *bytes = *last_ns = 0;
	for (int c = 0; c < ncpus; c++) {
		uint64_t n[3];

		memcpy(n, (const uint8_t *)vals + (size_t)c * stride + off, sizeof(n));
		*pkts += n[0];
		*bytes += n[1];
		if (n[2] > *last_ns)
			*last_ns = n[2];
	}
}

static void fp_sum(const struct xlb_fp_val *v, int ncpus, uint64_t *pkts,
		   uint64_t *bytes, uint64_t *last_ns)
{
	fp_sum_at(v, sizeof(*v), offsetof(struct xlb_fp_val, pkts), ncpus, pkts,
		  bytes, last_ns);
}

static void fp6_sum(const struct xlb_fp6_val *v, int ncpus, uint64_t *pkts,
		    uint64_t *bytes, uint64_t *last_ns)
{
	fp_sum_at(v, sizeof(*v), offsetof(struct xlb_fp6_val, pkts), ncpus, pkts,
		  bytes, last_ns);
}

/* Merges an entry's sums into its connection's record (under the entry's
 * lock): what was not merged yet is returned, and the entry's expiry and
 * packet count follow. Sums read earlier than the record (another thread
 * merged a later read) give nothing. */
static void fp_merge(uint8_t *bind, int dir, uint32_t pkts, uint32_t bytes,
		     uint32_t *dp_out, uint32_t *db_out)
{
	struct dp_bind *b = (struct dp_bind *)bind;
	uint32_t dp = pkts - b->fp_base_pkts[dir];
	uint32_t db = bytes - b->fp_base_bytes[dir];

	*dp_out = *db_out = 0;
	if ((int32_t)dp <= 0)
		return;
	b->fp_base_pkts[dir] = pkts;
	b->fp_base_bytes[dir] = bytes;
	*dp_out = dp;
	*db_out = db;
}

/* One counter set's share of the merged deltas: dir 0 in, else out. */
static void fp_count_one(struct xlb_cnt *c, unsigned int slot, int dir,
			 uint32_t dp, uint64_t ipb)
{
	if (!c)
		return;
	if (dir) {
		XLB_CNT_ADD(c, slot, outpkts, dp);
		XLB_CNT_ADD(c, slot, outbytes, ipb);
	} else {
		XLB_CNT_ADD(c, slot, inpkts, dp);
		XLB_CNT_ADD(c, slot, inbytes, ipb);
	}
}

/* The merged deltas into the counters of the service and the server, in
 * counter slot `slot` (the caller's own). */
static void fp_count(unsigned int slot, int dir, struct xlb_cnt *svc,
		     struct xlb_cnt *dest, uint32_t dp, uint32_t db)
{
	uint64_t ipb = (uint64_t)db - (uint64_t)dp * ETH_HLEN_FP;

	if (!dp)
		return;
	if ((uint64_t)db < (uint64_t)dp * ETH_HLEN_FP)
		ipb = 0;
	fp_count_one(svc, slot, dir, dp, ipb);
	fp_count_one(dest, slot, dir, dp, ipb);
}

static inline uint64_t fp_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- workers ---- */

struct fp_mark {
	uint32_t gen;
	int dir;
	int op;			/* 0 mark (base 0), 1 unmark dir, 2 unmark all */
	/* unmark: the last sums read, merged first */
	bool have_sums;
	uint32_t pkts[2], bytes[2];
	uint32_t dp[2], db[2];
};

static void fp_mark_cb(void *arg, struct xlb_conn_edit *e)
{
	struct fp_mark *m = arg;
	struct dp_bind *b = (struct dp_bind *)e->bind;
	int d;

	if (m->op == 0) {
		if (b->fp_gen != m->gen) {
			b->fp_gen = m->gen;
			b->fp_dirs = 0;
		}
		b->fp_dirs |= (uint8_t)(1u << m->dir);
		b->fp_base_pkts[m->dir] = 0;
		b->fp_base_bytes[m->dir] = 0;
		return;
	}
	if (b->fp_gen != m->gen)
		return;
	for (d = 0; d < 2; d++) {
		if (m->op == 1 && d != m->dir)
			continue;
		if (m->have_sums && (b->fp_dirs & (1u << d))) {
			fp_merge(e->bind, d, m->pkts[d], m->bytes[d], &m->dp[d], &m->db[d]);
			e->add_pkts += m->dp[d];
		}
		b->fp_dirs &= (uint8_t)~(1u << d);
	}
}

static bool fp_recent(struct fp_worker *fw, const struct xlb_conn_key *k, uint64_t now)
{
	uint32_t h = k->saddr * 0x9e3779b1u ^ k->daddr * 0x85ebca77u ^
		     ((uint32_t)k->sport << 16 | k->dport) * 0xc2b2ae3du ^ k->proto;
	struct fp_recent *r = &fw->recent[(h >> 8) % FP_RECENT_SLOTS];

	if (r->hash == h && (uint32_t)now - r->ms < FP_RECENT_MS)
		return true;
	r->hash = h;
	r->ms = (uint32_t)now;
	return false;
}

/* The worker's removal of a closing connection's entries (FIN, RST):
 * their last counters are merged, then the connection forgets them. */
static void fp_remove_conn(struct dp_worker *w, struct xlb_cnt *svc_cnt,
			   const struct xlb_conn_view *v)
{
	struct xlb_fp *fp = w->dp->fp;
	const struct dp_bind *b = (const struct dp_bind *)v->bind;
	struct xlb_fp_val *vals = fp->w[w->id].vals;
	struct fp_mark m = { .gen = fp->gen, .op = 2, .have_sums = true };
	const struct xlb_conn_key *keys[2] = { &v->orig, &v->reply };
	uint64_t p, by, last;
	int d;

	for (d = 0; d < 2; d++) {
		struct xlb_fp_key k;
		int rc;

		if (!(b->fp_dirs & (1u << d)))
			continue;
		if (xlb_conn_key_is6(keys[d])) {
			struct xlb_fp6_key k6 = fp6_key(keys[d]);
			struct xlb_fp6_val *vals6 = fp->w[w->id].vals6;

			rc = bpf_map_lookup_and_delete_elem(fp->flows6_fd, &k6, vals6);
			if (rc == 0)
				fp6_sum(vals6, fp->ncpus, &p, &by, &last);
		} else {
			k = fp_key(keys[d]);
			rc = bpf_map_lookup_and_delete_elem(fp->flows_fd, &k, vals);
			if (rc == 0)
				fp_sum(vals, fp->ncpus, &p, &by, &last);
		}
		if (rc == 0) {
			atomic_fetch_add(&fp->removals, 1);
			m.pkts[d] = (uint32_t)p;
			m.bytes[d] = (uint32_t)by;
		} else {
			/* Gone already (the LRU, the sync): nothing new. */
			m.pkts[d] = b->fp_base_pkts[d];
			m.bytes[d] = b->fp_base_bytes[d];
		}
	}
	if (xlb_conn_edit(w->dp->conns, &v->orig, XLB_CONN_DIR_INPUT, now_ms(),
			  fp_mark_cb, &m) < 0)
		return;
	for (d = 0; d < 2; d++)
		fp_count((unsigned int)w->id, d, svc_cnt, (struct xlb_cnt *)v->dest,
			 m.dp[d], m.db[d]);
}

static void fp_worker_dir(struct dp_worker *w, struct xlb_cnt *svc_cnt,
			  const struct xlb_conn_view *v, const struct xlb_pkt *p,
			  const struct xlb_xmit_bind *xb, int dir)
{
	struct xlb_fp *fp = w->dp->fp;
	struct fp_worker *fw;
	const struct dp_bind *b = (const struct dp_bind *)v->bind;
	const struct xlb_conn_key *ck = dir ? &v->reply : &v->orig;
	struct fp_mark m = { .gen = fp->gen, .dir = dir, .op = 0 };
	struct xlb_fp_key k;
	struct xlb_fp6_key k6;
	bool mine = b->fp_gen == fp->gen;
	bool marked = mine && (b->fp_dirs & (1u << dir));
	bool v6 = xlb_conn_key_is6(ck);
	const void *key;
	void *vals;
	uint64_t t0, now;
	uint16_t mtu;
	uint8_t op;
	int c, rc, e, fd;

	if (!fp->enabled || (v6 && fp->flows6_fd < 0))
		return;
	if (!fp_state_ok(v->orig.proto, v->state) || !xlb_dp_dest_alive(NULL, v->dest)) {
		if (mine && b->fp_dirs)
			fp_remove_conn(w, svc_cnt, v);
		return;
	}
	/* What XDP hands to userspace anyway must not install (IPv6: any
	 * extension header, hop limit 0 or 1; see fast_path6()). */
	if ((v6 ? p->ip6_n_ext != 0 || p->ttl <= 1 : p->ihl != XLB_IP_HLEN) ||
	    (p->proto == IPPROTO_TCP &&
	     (p->tcp_flags & (XLB_TCP_SYN | XLB_TCP_FIN | XLB_TCP_RST))))
		return;
	fw = &fp->w[w->id];
	now = now_ms();
	if (marked && fp_recent(fw, ck, now))
		return;		/* in flight: queued before the install */
	if (v6) {
		fp_decide6(fp, dir, v->fwd, xb, &fw->vals6[0]);
		mtu = fw->vals6[0].mtu;
		op = fw->vals6[0].op;
	} else {
		fp_decide(fp, dir, v->fwd, xb, &fw->vals[0]);
		mtu = fw->vals[0].mtu;
		op = fw->vals[0].op;
	}
	/* XDP sends nothing over the egress MTU once rewritten (TUN: the
	 * outer header, 20 or 40 bytes), so such a packet does not show a
	 * miss. */
	if (!mtu ||
	    p->ip_len + (op == XLB_FP_TUN ? (v6 ? 40u : 20u) : 0u) > mtu)
		return;
	if (v6) {
		for (c = 1; c < fp->ncpus; c++)
			fw->vals6[c] = fw->vals6[0];
		k6 = fp6_key(ck);
		key = &k6;
		vals = fw->vals6;
		fd = fp->flows6_fd;
	} else {
		for (c = 1; c < fp->ncpus; c++)
			fw->vals[c] = fw->vals[0];
		k = fp_key(ck);
		key = &k;
		vals = fw->vals;
		fd = fp->flows_fd;
	}
	/* Marked first: the sync never takes our entry for an orphan. */
	if (!marked &&
	    xlb_conn_edit(w->dp->conns, &v->orig, XLB_CONN_DIR_INPUT, now,
			  fp_mark_cb, &m) < 0)
		return;
	t0 = fp_ns();
	rc = bpf_map_update_elem(fd, key, vals, BPF_NOEXIST);
	e = rc ? errno : 0;
	if (e == EEXIST && !marked)
		/* Not ours (the previous xlbd's, an older connection of the
		 * tuple): ours from now on. */
		rc = bpf_map_update_elem(fd, key, vals, BPF_EXIST), e = rc ? errno : 0;
	atomic_fetch_add(&fp->install_ns, fp_ns() - t0);
	if (rc == 0) {
		if (marked) {
			/* Installed, then dropped by the LRU: counted from 0. */
			atomic_fetch_add(&fp->evictions, 1);
			(void)xlb_conn_edit(w->dp->conns, &v->orig, XLB_CONN_DIR_INPUT,
					    now, fp_mark_cb, &m);
		}
		atomic_fetch_add(&fp->installs, 1);
		if (!marked)
			(void)fp_recent(fw, ck, now);
		return;
	}
	if (e == EEXIST)
		return;		/* marked and present: an in-flight packet */
	atomic_fetch_add(&fp->failures, 1);
	m.op = 1;
	(void)xlb_conn_edit(w->dp->conns, &v->orig, XLB_CONN_DIR_INPUT, now,
			    fp_mark_cb, &m);
}

void xlb_dp_fp_in(struct dp_worker *w, struct xlb_cnt *svc_cnt,
		  const struct xlb_conn_view *v, const struct xlb_pkt *p,
		  const struct xlb_xmit_bind *ib)
{
	fp_worker_dir(w, svc_cnt, v, p, ib, 0);
}

void xlb_dp_fp_out(struct dp_worker *w, struct xlb_cnt *svc_cnt,
		   const struct xlb_conn_view *v, const struct xlb_pkt *p,
		   const struct xlb_xmit_bind *ob, int port)
{
	struct xlb_xmit_bind b = *ob;

	b.ifindex = w->dp->ifindex[port];
	fp_worker_dir(w, svc_cnt, v, p, &b, 1);
}

/* ---- the control thread's reconciliation ---- */

enum fp_verdict { FP_KEEP, FP_DELETE };

struct fp_sync_one {
	uint32_t gen;
	int dir;
	uint32_t pkts, bytes;
	uint64_t seen_ms;
	enum fp_verdict verdict;
	uint32_t dp, db;
	struct xlb_conn_view v;	/* the connection, for the decision */
};

static void fp_sync_cb(void *arg, struct xlb_conn_edit *e)
{
	struct fp_sync_one *s = arg;
	struct dp_bind *b = (struct dp_bind *)e->bind;
	bool marked = b->fp_gen == s->gen && (b->fp_dirs & (1u << s->dir));

	s->v.orig = *e->orig;
	s->v.reply = *e->reply;
	s->v.dest = e->dest;
	s->v.fwd = e->fwd;
	s->v.state = e->state;
	memcpy(s->v.bind, e->bind, sizeof(s->v.bind));
	if (!fp_state_ok(e->orig->proto, e->state) ||
	    !xlb_dp_dest_alive(NULL, e->dest)) {
		if (marked) {
			fp_merge(e->bind, s->dir, s->pkts, s->bytes, &s->dp, &s->db);
			e->add_pkts = s->dp;
			b->fp_dirs &= (uint8_t)~(1u << s->dir);
		}
		s->verdict = FP_DELETE;
		return;
	}
	if (!marked) {
		/* Adopted (the previous xlbd's entry), or one this xlbd
		 * lost track of: ours now, counted from here on. */
		if (b->fp_gen != s->gen) {
			b->fp_gen = s->gen;
			b->fp_dirs = 0;
		}
		b->fp_dirs |= (uint8_t)(1u << s->dir);
		b->fp_base_pkts[s->dir] = s->pkts;
		b->fp_base_bytes[s->dir] = s->bytes;
	} else {
		fp_merge(e->bind, s->dir, s->pkts, s->bytes, &s->dp, &s->db);
		e->add_pkts = s->dp;
	}
	if (s->seen_ms) {
		e->seen_ms = s->seen_ms;
		/* Hits since the last merge: the last one is the entry's last
		 * packet, and sets its expiry as a packet would. */
		e->seen_new = s->dp > 0;
	}
	s->verdict = FP_KEEP;
}

static void fp_unmark_cb(void *arg, struct xlb_conn_edit *e)
{
	const struct fp_sync_one *s = arg;
	struct dp_bind *b = (struct dp_bind *)e->bind;

	if (b->fp_gen == s->gen)
		b->fp_dirs &= (uint8_t)~(1u << s->dir);
}

static void fp_del_later(struct xlb_fp *fp, bool v6, const void *k)
{
	int fd = v6 ? fp->flows6_fd : fp->flows_fd;

	if (fp->n_dels == fp->cap_dels) {
		size_t cap = fp->cap_dels ? fp->cap_dels * 2 : 256;
		struct fp_del *n = realloc(fp->dels, cap * sizeof(*n));

		if (!n) {
			/* Now, then: the batch cursor survives a deletion. */
			if (bpf_map_delete_elem(fd, k) == 0)
				atomic_fetch_add(&fp->removals, 1);
			return;
		}
		fp->dels = n;
		fp->cap_dels = cap;
	}
	fp->dels[fp->n_dels].v6 = v6;
	if (v6)
		fp->dels[fp->n_dels].k6 = *(const struct xlb_fp6_key *)k;
	else
		fp->dels[fp->n_dels].k4 = *(const struct xlb_fp_key *)k;
	fp->n_dels++;
}

/* The service of connection v, either family. */
static const struct xlb_snap_svc *fp_find_svc(const struct xlb_snap *snap,
					      const struct xlb_conn_key *orig)
{
	struct xlb_svc_key key = { .addr = orig->daddr6, .port = orig->dport,
				   .proto = orig->proto, .af = AF_INET6 };

	if (!xlb_conn_key_is6(orig))
		return xlb_snap_find(snap, orig->proto, orig->daddr, orig->dport);
	return xlb_snap_find_key(snap, &key);
}

/* One entry of either cache (v6: fp_flows6's key and values): returns
 * true when it stays. */
static bool fp_sync_entry(struct xlb_dp *dp, const struct xlb_snap *snap,
			  bool v6, const void *key, const void *values,
			  uint64_t now)
{
	struct xlb_fp *fp = dp->fp;
	struct fp_sync_one s = { .gen = fp->gen };
	const struct xlb_snap_svc *svc;
	const struct xlb_fp_val *vals = values;
	const struct xlb_fp6_val *vals6 = values;
	struct xlb_conn_key ck = v6 ? fp6_conn_key(key) : fp_conn_key(key);
	struct xlb_xmit_bind xb;
	struct xlb_fp_val want;
	struct xlb_fp6_val want6;
	uint64_t p, by, last;
	uint8_t op = v6 ? vals6[0].op : vals[0].op;
	int port, rc, c;

	if (op == XLB_FP_NONE || op > XLB_FP_TUN)
		goto drop;
	s.dir = op == XLB_FP_NAT_OUT;
	if (v6)
		fp6_sum(vals6, fp->ncpus, &p, &by, &last);
	else
		fp_sum(vals, fp->ncpus, &p, &by, &last);
	s.pkts = (uint32_t)p;
	s.bytes = (uint32_t)by;
	s.seen_ms = last / 1000000;
	if (s.seen_ms > now)
		s.seen_ms = now;
	if (xlb_conn_edit(dp->conns, &ck, s.dir ? XLB_CONN_DIR_OUTPUT : XLB_CONN_DIR_INPUT,
			  now, fp_sync_cb, &s) < 0)
		goto drop;		/* no connection: expired, evicted, flushed */
	svc = fp_find_svc(snap, &s.v.orig);
	fp_count(dp->fp_slot, s.dir, svc ? svc->cnt : NULL, (struct xlb_cnt *)s.v.dest,
		 s.dp, s.db);
	if (s.verdict == FP_DELETE)
		goto drop;
	if (!svc)
		goto unmark;		/* the service is gone */
	rc = s.dir ? xlb_dp_out_nexthop(dp, &s.v, &xb, &port) :
		     xlb_dp_in_nexthop(dp, &s.v, &xb, &port);
	if (rc == -EAGAIN && now < dp->fp_grace_until)
		return true;		/* being resolved again after a start */
	if (rc < 0)
		goto unmark;		/* no usable next hop: userspace's call */
	if (!s.dir)
		xb.ifindex = dp->ifindex[port];
	if (v6) {
		fp_decide6(fp, s.dir, s.v.fwd, &xb, &want6);
		if (!want6.mtu)
			goto unmark;
		if (fp6_same_decision(&want6, &vals6[0]))
			return true;
		for (c = 0; c < fp->ncpus; c++) {
			fp->cvals6[c] = want6;
			fp->cvals6[c].pkts = vals6[c].pkts;
			fp->cvals6[c].bytes = vals6[c].bytes;
			fp->cvals6[c].last_ns = vals6[c].last_ns;
		}
		rc = bpf_map_update_elem(fp->flows6_fd, key, fp->cvals6, BPF_EXIST);
	} else {
		fp_decide(fp, s.dir, s.v.fwd, &xb, &want);
		if (!want.mtu)
			goto unmark;
		if (fp_same_decision(&want, &vals[0]))
			return true;
		/* A new next hop, or the previous xlbd's entry: rewritten
		 * with the counters it has (a hit between the read and the
		 * write is lost). */
		for (c = 0; c < fp->ncpus; c++) {
			fp->cvals[c] = want;
			fp->cvals[c].pkts = vals[c].pkts;
			fp->cvals[c].bytes = vals[c].bytes;
			fp->cvals[c].last_ns = vals[c].last_ns;
		}
		rc = bpf_map_update_elem(fp->flows_fd, key, fp->cvals, BPF_EXIST);
	}
	if (rc == 0) {
		atomic_fetch_add(&fp->updates, 1);
		return true;
	}
unmark:
	(void)xlb_conn_edit(dp->conns, &ck, s.dir ? XLB_CONN_DIR_OUTPUT : XLB_CONN_DIR_INPUT,
			    now, fp_unmark_cb, &s);
drop:
	fp_del_later(fp, v6, key);
	return false;
}

/* One pass over one cache (v6: fp_flows6): the entries kept. */
static uint64_t fp_sync_map(struct xlb_dp *dp, const struct xlb_snap *snap,
			    bool v6, uint64_t now)
{
	struct xlb_fp *fp = dp->fp;
	uint64_t in_batch = 0, out_batch = 0, kept = 0;
	bool first = true;
	int fd = v6 ? fp->flows6_fd : fp->flows_fd;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (int rounds = 0; rounds < (1 << 22); rounds++) {
		__u32 n = FP_BATCH;
		int rc, e;

		rc = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch,
					  v6 ? (void *)fp->bkeys6 : (void *)fp->bkeys,
					  v6 ? (void *)fp->bvals6 : (void *)fp->bvals,
					  &n, &opts);
		e = rc ? errno : 0;
		if (rc && e != ENOENT) {
			pr_warn_rl("fast path: reading %s: %s",
				   v6 ? "fp_flows6" : "fp_flows", strerror(e));
			break;
		}
		for (__u32 i = 0; i < n; i++) {
			size_t at = (size_t)i * (size_t)fp->ncpus;

			if (v6)
				kept += fp_sync_entry(dp, snap, true, &fp->bkeys6[i],
						      &fp->bvals6[at], now);
			else
				kept += fp_sync_entry(dp, snap, false, &fp->bkeys[i],
						      &fp->bvals[at], now);
		}
		if (e == ENOENT)
			break;
		in_batch = out_batch;
		first = false;
	}
	return kept;
}

void xlb_dp_fp_sync(struct xlb_dp *dp, uint64_t now)
{
	struct xlb_fp *fp = dp->fp;
	const struct xlb_snap *snap;
	uint64_t kept, t0;

	if (!xlb_fp_enabled(fp))
		return;
	snap = xlb_tables_current(dp->tables);
	t0 = fp_ns();
	fp->n_dels = 0;
	kept = fp_sync_map(dp, snap, false, now);
	if (fp->flows6_fd >= 0)
		kept += fp_sync_map(dp, snap, true, now);
	for (size_t i = 0; i < fp->n_dels; i++) {
		const struct fp_del *d = &fp->dels[i];

		if (bpf_map_delete_elem(d->v6 ? fp->flows6_fd : fp->flows_fd,
					d->v6 ? (const void *)&d->k6 :
						(const void *)&d->k4) == 0)
			atomic_fetch_add(&fp->removals, 1);
	}
	fp->entries = kept;
	fp->syncs++;
	fp->sync_us_last = (fp_ns() - t0) / 1000;
	dp->fp_synced_ms = now;
	dp->fp_due = false;
	dp->fp_route_gen = xlb_nh_route_gen(dp->nh);
}

/*
 * The periodic pass: every second, or less often when it is long, so that
 * it takes at most 1/FP_SYNC_SHARE of the control thread's CPU (a pass
 * costs about 0.75 us an entry here: every 4 s at 262,144 entries), and
 * always within half the shortest timeout of a state the cache carries
 * (ESTABLISHED, UDP; at least 200 ms), so that a flow busy in XDP is
 * refreshed in time.
 */
#define FP_SYNC_SHARE	20

static uint64_t fp_sync_interval(struct xlb_dp *dp)
{
	struct xlb_timeouts to;
	uint64_t ms = dp->fp->sync_us_last * FP_SYNC_SHARE / 1000, cap;

	xlb_conn_get_timeouts(dp->conns, &to);
	cap = (uint64_t)(to.tcp < to.udp ? to.tcp : to.udp) * 1000 / 2;
	if (cap < 200)
		cap = 200;
	if (ms < FP_SYNC_MS)
		ms = FP_SYNC_MS;
	return ms < cap ? ms : cap;
}

void xlb_dp_fp_tick(struct xlb_dp *dp, uint64_t now)
{
	if (!xlb_fp_enabled(dp->fp))
		return;
	if (dp->fp_due || xlb_nh_route_gen(dp->nh) != dp->fp_route_gen ||
	    now - dp->fp_synced_ms >= fp_sync_interval(dp))
		xlb_dp_fp_sync(dp, now);
}

/* The XDP program's own fast-path counters (hits, misses, punts) are
 * shown again in this group, found by name. */
static bool fp_xdp_counter(const char *name)
{
	return !strncmp(name, "fp_", 3) || !strncmp(name, "fast_path", 9) ||
	       !strncmp(name, "fastpath", 8);
}

int xlb_dp_fp_counters(const struct xlb_dp *dp, const uint64_t *xdp_cnt,
		       int (*emit)(const char *group, const char *name,
				   uint64_t value, void *arg), void *arg)
{
	struct xlb_fp_stats s;
	int rc;

	xlb_fp_get_stats(dp->fp, &s);
#define FP_STAT(f) if ((rc = emit("fastpath", #f, s.f, arg))) return rc
	FP_STAT(enabled);
	FP_STAT(installs);
	FP_STAT(removals);
	FP_STAT(updates);
	FP_STAT(evictions);
	FP_STAT(install_failures);
	FP_STAT(entries);
	FP_STAT(syncs);
	FP_STAT(sync_us_last);
#undef FP_STAT
	if ((rc = emit("fastpath", "install_ns_avg",
		       s.installs ? s.install_ns / s.installs : 0, arg)))
		return rc;
	{
		/* hits: the XDP outcomes of a hit; misses: lookups that found
		 * no entry (found by name: the XDP side owns the enum). */
		uint64_t hits = 0, misses = 0;

		for (int i = 0; xdp_cnt && i < XLB_CNT_MAX; i++) {
			const char *n = xlb_cnt_names[i];

			if (!n)
				continue;
			if (!strcmp(n, "fp_tx") || !strcmp(n, "fp_redirected"))
				hits += xdp_cnt[i];
			else if (!strcmp(n, "fp_misses"))
				misses += xdp_cnt[i];
		}
		if ((rc = emit("fastpath", "hits", hits, arg)) ||
		    (rc = emit("fastpath", "misses", misses, arg)))
			return rc;
	}
	for (int i = 0; xdp_cnt && i < XLB_CNT_MAX; i++)
		if (xlb_cnt_names[i] && fp_xdp_counter(xlb_cnt_names[i]) &&
		    (rc = emit("fastpath", xlb_cnt_names[i], xdp_cnt[i], arg)))
			return rc;
	return 0;
}
