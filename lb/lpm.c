// SPDX-License-Identifier: GPL-2.0
/*
 * Longest-prefix match for IPv4 routes: DIR-16-8 plus a hash of the long
 * prefixes. See lpm.h for the shape and the reasons.
 *
 * An entry of tbl16 / tbl24 is one 32-bit word:
 *   bit 31      EXT   (tbl16) this /16's answer is in tbl24
 *   bit 30      LONG  (tbl24) prefixes longer than /24 exist in this /24
 *   bits 24..29 D1    length of the route + 1 (0: no route)
 *   bits 0..23        the route's value
 * Updates follow DPDK's rte_lpm: setting a prefix overwrites the entries in
 * its range whose route is not longer than it; deleting one rewrites the
 * entries it set (D1 equal to its own) with the route that covers it, found
 * by exact lookups of ever shorter prefixes in the writer's index.
 *
 * The writer's index (store) holds every route: (prefix, length, metric) ->
 * value, an open-addressing multimap keyed by (prefix, length), so that the
 * routes of one prefix sit on one probe chain. Only the writer reads it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/mman.h>

#include "lpm.h"

#define E_EXT		(1u << 31)
#define E_LONG		(1u << 30)
#define E_D1(e)		(((e) >> 24) & 0x3f)
#define E_VAL(e)	((e) & 0xffffffu)

#define TBL16_N		(1u << 16)
#define TBL24_N		(1u << 24)
#define LH_TOMB		1ull	/* a deleted long prefix (length field 0) */
#define LH_PROBE_MAX	64	/* bound on a long-hash probe chain */
#define LPM_READ_SPINS	4096	/* a reader gives up (-EAGAIN) after this */
#define ST_MIN		1024

enum { REC_EMPTY = 0, REC_LIVE, REC_TOMB };

struct lpm_rec {
	uint32_t dst;		/* host order, masked */
	uint8_t  plen;
	uint8_t  state;		/* REC_* */
	uint16_t mark;		/* resync round that last saw it */
	uint32_t prio;
	uint32_t val;
};

struct xlb_lpm {
	/* reader-visible */
	uint32_t seq __attribute__((aligned(64)));
	uint32_t long_bm;	/* bit (len - 25): such prefixes exist */
	uint32_t *tbl16;
	uint32_t *tbl24;
	uint64_t *lh;		/* long prefixes: addr << 32 | len << 24 | val */
	uint32_t lh_mask;

	/* writer only */
	struct xlb_lpm_params p;
	unsigned wdepth;
	uint32_t lh_live, lh_tomb;
	uint32_t long_cnt[33];	/* distinct prefixes per length (> 24) */
	uint32_t long_n;
	struct lpm_rec *st;
	uint32_t st_mask;
	uint32_t st_live, st_tomb;
	uint16_t mark;
};

void xlb_lpm_params_default(struct xlb_lpm_params *p)
{
	p->routes_max = 4u << 20;
	p->long_max = 1u << 20;
}

static inline uint32_t ld(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t ld64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint32_t hmask(uint8_t plen)
{
	return plen ? ~0u << (32 - plen) : 0;
}

static inline uint32_t mix(uint32_t h, uint8_t plen)
{
	uint64_t x = (((uint64_t)h << 8) | plen) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(x >> 32);
}

static inline uint32_t mk(uint8_t d1, uint32_t val)
{
	return (uint32_t)d1 << 24 | val;
}

static void *lpm_map(size_t bytes)
{
	/* Reserved, not committed: pages cost memory once written. */
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* ---- sequence window ---- */

void xlb_lpm_write_begin(struct xlb_lpm *l)
{
	if (l->wdepth++ == 0) {
		st(&l->seq, l->seq + 1);
		/* Readers that see any store below also see the odd seq. */
		__atomic_thread_fence(__ATOMIC_RELEASE);
	}
}

void xlb_lpm_write_end(struct xlb_lpm *l)
{
	if (--l->wdepth == 0)
		__atomic_store_n(&l->seq, l->seq + 1, __ATOMIC_RELEASE);
}

uint32_t xlb_lpm_read_begin(const struct xlb_lpm *l)
{
	return __atomic_load_n(&l->seq, __ATOMIC_ACQUIRE);
}

bool xlb_lpm_read_retry(const struct xlb_lpm *l, uint32_t seq)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return (seq & 1) || ld(&l->seq) != seq;
}

/* ---- long-prefix hash (reader-visible) ---- */

static inline uint64_t lh_key(uint32_t h, uint8_t plen)
{
	return ((uint64_t)h << 8) | plen;	/* the word's top 40 bits */
}

static int lh_get(const struct xlb_lpm *l, uint32_t h, uint8_t plen, uint32_t *val)
{
	uint64_t key = lh_key(h, plen);
	uint32_t i = mix(h, plen) & l->lh_mask, n;

	for (n = 0; n < LH_PROBE_MAX; n++, i = (i + 1) & l->lh_mask) {
		uint64_t w = ld64(&l->lh[i]);

		if (!w)
			return -ENOENT;
		if ((w >> 24) == key) {
			*val = (uint32_t)(w & 0xffffffu);
			return 0;
		}
	}
	return -ENOENT;
}

static int lh_put_raw(struct xlb_lpm *l, uint32_t h, uint8_t plen, uint32_t val)
{
	uint64_t key = lh_key(h, plen);
	uint32_t i = mix(h, plen) & l->lh_mask, n;
	int64_t tomb = -1;

	for (n = 0; n < LH_PROBE_MAX; n++, i = (i + 1) & l->lh_mask) {
		uint64_t w = l->lh[i];

		if ((w >> 24) == key && w != LH_TOMB) {
			st64(&l->lh[i], key << 24 | val);
			return 0;
		}
		if (w == LH_TOMB && tomb < 0)
			tomb = i;
		if (!w)
			break;
	}
	if (tomb >= 0) {
		l->lh_tomb--;
		i = (uint32_t)tomb;
	} else if (n == LH_PROBE_MAX) {
		return -ENOSPC;
	}
	st64(&l->lh[i], key << 24 | val);
	l->lh_live++;
	return 0;
}

static int st_best(const struct xlb_lpm *l, uint32_t h, uint8_t plen);

/* Too many tombstones: rebuild the hash in place from the index (inside
 * the write window, so a reader meanwhile retries). */
static void lh_rehash(struct xlb_lpm *l)
{
	uint32_t i;

	for (i = 0; i <= l->lh_mask; i++)
		st64(&l->lh[i], 0);
	l->lh_live = l->lh_tomb = 0;
	for (i = 0; i <= l->st_mask; i++) {
		const struct lpm_rec *r = &l->st[i];
		int b;

		if (r->state != REC_LIVE || r->plen <= 24)
			continue;
		b = st_best(l, r->dst, r->plen);
		(void)lh_put_raw(l, r->dst, r->plen, l->st[b].val);
	}
}

static int lh_put(struct xlb_lpm *l, uint32_t h, uint8_t plen, uint32_t val)
{
	int rc = lh_put_raw(l, h, plen, val);

	if (rc == -ENOSPC && l->lh_tomb) {
		lh_rehash(l);
		rc = lh_put_raw(l, h, plen, val);
	}
	if (!rc && (uint64_t)(l->lh_live + l->lh_tomb) * 4 > (uint64_t)l->lh_mask * 3)
		lh_rehash(l);
	return rc;
}

static void lh_del(struct xlb_lpm *l, uint32_t h, uint8_t plen)
{
	uint64_t key = lh_key(h, plen);
	uint32_t i = mix(h, plen) & l->lh_mask, n;

	for (n = 0; n < LH_PROBE_MAX; n++, i = (i + 1) & l->lh_mask) {
		uint64_t w = l->lh[i];

		if (!w)
			return;
		if ((w >> 24) == key && w != LH_TOMB) {
			st64(&l->lh[i], LH_TOMB);
			l->lh_live--;
			l->lh_tomb++;
			return;
		}
	}
}

/* ---- the writer's index ---- */

static int st_find(const struct xlb_lpm *l, uint32_t h, uint8_t plen, uint32_t prio)
{
	uint32_t i = mix(h, plen) & l->st_mask;

	for (;; i = (i + 1) & l->st_mask) {
		const struct lpm_rec *r = &l->st[i];

		if (r->state == REC_EMPTY)
			return -1;
		if (r->state == REC_LIVE && r->dst == h && r->plen == plen &&
		    r->prio == prio)
			return (int)i;
	}
}

/* The route of (h, plen) with the lowest metric, or -1. */
static int st_best(const struct xlb_lpm *l, uint32_t h, uint8_t plen)
{
	uint32_t i = mix(h, plen) & l->st_mask;
	int best = -1;

	for (;; i = (i + 1) & l->st_mask) {
		const struct lpm_rec *r = &l->st[i];

		if (r->state == REC_EMPTY)
			return best;
		if (r->state == REC_LIVE && r->dst == h && r->plen == plen &&
		    (best < 0 || r->prio < l->st[best].prio))
			best = (int)i;
	}
}

static void st_place(struct lpm_rec *tab, uint32_t mask, const struct lpm_rec *r)
{
	uint32_t i = mix(r->dst, r->plen) & mask;

	while (tab[i].state == REC_LIVE)
		i = (i + 1) & mask;
	tab[i] = *r;
	tab[i].state = REC_LIVE;
}

/* Room for one more (load <= 0.7; rebuilt at <= 0.5, tombstones gone). */
static int st_reserve(struct xlb_lpm *l)
{
	uint32_t cap = l->st_mask + 1, ncap = cap, i;
	struct lpm_rec *n;

	if ((uint64_t)(l->st_live + l->st_tomb + 1) * 10 <= (uint64_t)cap * 7)
		return 0;
	while ((uint64_t)(l->st_live + 1) * 2 > ncap)
		ncap *= 2;
	n = calloc(ncap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < cap; i++)
		if (l->st[i].state == REC_LIVE)
			st_place(n, ncap - 1, &l->st[i]);
	free(l->st);
	l->st = n;
	l->st_mask = ncap - 1;
	l->st_tomb = 0;
	return 0;
}

static void st_remove(struct xlb_lpm *l, int i)
{
	l->st[i].state = REC_TOMB;
	l->st_live--;
	l->st_tomb++;
}

/* ---- publishing ---- */

/* Rewrite the entry at p if its route's D1 is in [lo, hi]; keep LONG. */
static inline void apply(uint32_t *p, uint8_t lo, uint8_t hi, uint32_t nv)
{
	uint32_t e = ld(p), d1 = E_D1(e);

	if (d1 >= lo && d1 <= hi)
		st(p, (e & E_LONG) | nv);
}

static void ensure_ext(struct xlb_lpm *l, uint32_t i16)
{
	uint32_t e = ld(&l->tbl16[i16]), j, *g = &l->tbl24[i16 << 8];

	if (e & E_EXT)
		return;
	for (j = 0; j < 256; j++)
		st(&g[j], e);
	st(&l->tbl16[i16], E_EXT);
}

/* A /16 whose 256 entries came back to one route of length <= 16. */
static void try_collapse(struct xlb_lpm *l, uint32_t i16)
{
	uint32_t *g = &l->tbl24[i16 << 8], first = g[0], j;

	if (!(ld(&l->tbl16[i16]) & E_EXT) || (first & E_LONG) || E_D1(first) > 17)
		return;
	for (j = 1; j < 256; j++)
		if (g[j] != first)
			return;
	st(&l->tbl16[i16], first);
}

static void publish_short(struct xlb_lpm *l, uint32_t h, uint8_t plen,
			  uint8_t lo, uint32_t nv)
{
	uint8_t hi = (uint8_t)(plen + 1);
	uint32_t i, j, n;

	if (plen <= 16) {
		uint32_t i0 = h >> 16;

		n = 1u << (16 - plen);
		for (i = i0; i < i0 + n; i++) {
			if (ld(&l->tbl16[i]) & E_EXT) {
				uint32_t *g = &l->tbl24[i << 8];

				for (j = 0; j < 256; j++)
					apply(&g[j], lo, hi, nv);
			} else {
				apply(&l->tbl16[i], lo, hi, nv);
			}
		}
		return;
	}
	ensure_ext(l, h >> 16);
	n = 1u << (24 - plen);
	for (j = h >> 8; j < (h >> 8) + n; j++)
		apply(&l->tbl24[j], lo, hi, nv);
}

/* What covers (h, plen) from above: the entry its range falls back to. */
static uint32_t cover(const struct xlb_lpm *l, uint32_t h, uint8_t plen)
{
	uint8_t q;

	for (q = plen; q-- > 0;) {
		int b = st_best(l, h & hmask(q), q);

		if (b >= 0)
			return mk((uint8_t)(q + 1), l->st[b].val);
	}
	return 0;
}

static bool long_under(const struct xlb_lpm *l, uint32_t h24)
{
	uint8_t q;

	for (q = 25; q <= 32; q++) {
		uint32_t k, n = 1u << (q - 24), v;

		if (!l->long_cnt[q])
			continue;
		for (k = 0; k < n; k++)
			if (!lh_get(l, h24 | (k << (32 - q)), q, &v))
				return true;
	}
	return false;
}

/* Publish val as the route of (h, plen); fresh: the prefix had none. */
static int publish_set(struct xlb_lpm *l, uint32_t h, uint8_t plen, uint32_t val,
		       bool fresh)
{
	uint32_t *e;
	int rc;

	if (plen <= 24) {
		publish_short(l, h, plen, 0, mk((uint8_t)(plen + 1), val));
		return 0;
	}
	ensure_ext(l, h >> 16);
	rc = lh_put(l, h, plen, val);
	if (rc)
		return rc;
	if (fresh) {
		l->long_n++;
		if (l->long_cnt[plen]++ == 0)
			st(&l->long_bm, l->long_bm | 1u << (plen - 25));
	}
	e = &l->tbl24[h >> 8];
	st(e, ld(e) | E_LONG);
	return 0;
}

static void publish_clear(struct xlb_lpm *l, uint32_t h, uint8_t plen)
{
	uint32_t *e;

	if (plen <= 24) {
		publish_short(l, h, plen, (uint8_t)(plen + 1), cover(l, h, plen));
		if (plen > 16)
			try_collapse(l, h >> 16);
		return;
	}
	lh_del(l, h, plen);
	l->long_n--;
	if (--l->long_cnt[plen] == 0)
		st(&l->long_bm, l->long_bm & ~(1u << (plen - 25)));
	if (!long_under(l, h & 0xffffff00u)) {
		e = &l->tbl24[h >> 8];
		st(e, ld(e) & ~E_LONG);
		try_collapse(l, h >> 16);
	}
}

/* ---- writer API ---- */

int xlb_lpm_add(struct xlb_lpm *l, uint32_t dst, uint8_t plen, uint32_t prio,
		uint32_t val, uint32_t *old)
{
	uint32_t h, prev = 0, k;
	int i, b, rc, ret;
	bool had;

	if (plen > 32 || val > XLB_LPM_VAL_MAX)
		return -EINVAL;
	h = ntohl(dst) & hmask(plen);
	b = st_best(l, h, plen);
	had = b >= 0;
	prev = had ? l->st[b].val : 0;
	i = st_find(l, h, plen, prio);
	if (i >= 0) {
		*old = l->st[i].val;
		l->st[i].val = val;
		l->st[i].mark = l->mark;
		ret = 1;
	} else {
		struct lpm_rec r = { .dst = h, .plen = plen, .prio = prio,
				     .val = val, .mark = l->mark };

		if (l->st_live >= l->p.routes_max ||
		    (plen > 24 && !had && l->long_n >= l->p.long_max))
			return -ENOSPC;
		rc = st_reserve(l);
		if (rc)
			return rc;
		k = mix(h, plen) & l->st_mask;
		while (l->st[k].state == REC_LIVE)
			k = (k + 1) & l->st_mask;
		if (l->st[k].state == REC_TOMB)
			l->st_tomb--;
		l->st[k] = r;
		l->st[k].state = REC_LIVE;
		l->st_live++;
		i = (int)k;
		ret = 0;
	}
	b = st_best(l, h, plen);
	if (had && l->st[b].val == prev)
		return ret;
	xlb_lpm_write_begin(l);
	rc = publish_set(l, h, plen, l->st[b].val, !had);
	xlb_lpm_write_end(l);
	if (rc) {
		/* Only a long prefix can fail, before anything was published. */
		if (ret == 1)
			l->st[i].val = *old;
		else
			st_remove(l, i);
		return rc;
	}
	return ret;
}

static void del_at(struct xlb_lpm *l, int i)
{
	uint32_t h = l->st[i].dst;
	uint8_t plen = l->st[i].plen;
	uint32_t prev = l->st[st_best(l, h, plen)].val;
	int b;

	st_remove(l, i);
	b = st_best(l, h, plen);
	xlb_lpm_write_begin(l);
	if (b < 0)
		publish_clear(l, h, plen);
	else if (l->st[b].val != prev)
		(void)publish_set(l, h, plen, l->st[b].val, false);
	xlb_lpm_write_end(l);
}

int xlb_lpm_del(struct xlb_lpm *l, uint32_t dst, uint8_t plen, uint32_t prio,
		uint32_t *old)
{
	uint32_t h;
	int i;

	if (plen > 32)
		return -EINVAL;
	h = ntohl(dst) & hmask(plen);
	i = st_find(l, h, plen, prio);
	if (i < 0)
		return -ENOENT;
	*old = l->st[i].val;
	del_at(l, i);
	return 0;
}

void xlb_lpm_mark(struct xlb_lpm *l)
{
	l->mark++;
}

uint32_t xlb_lpm_sweep(struct xlb_lpm *l, void (*gone)(uint32_t val, void *arg),
		       void *arg)
{
	uint32_t i, n = 0;

	/* One window per route: readers never wait for the whole sweep. */
	for (i = 0; i <= l->st_mask; i++) {
		uint32_t v;

		if (l->st[i].state != REC_LIVE || l->st[i].mark == l->mark)
			continue;
		v = l->st[i].val;
		del_at(l, (int)i);
		if (gone)
			gone(v, arg);
		n++;
	}
	return n;
}

uint32_t xlb_lpm_count(const struct xlb_lpm *l)
{
	return l->st_live;
}

static size_t resident(const void *p, size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (bytes + page - 1) / page, i, r = 0;
	unsigned char *v = malloc(n);

	if (!v)
		return bytes;
	if (mincore((void *)p, bytes, v) < 0) {
		free(v);
		return bytes;
	}
	for (i = 0; i < n; i++)
		r += v[i] & 1;
	free(v);
	return r * page;
}

size_t xlb_lpm_memory(const struct xlb_lpm *l)
{
	return resident(l->tbl16, TBL16_N * sizeof(uint32_t)) +
	       resident(l->tbl24, TBL24_N * sizeof(uint32_t)) +
	       resident(l->lh, ((size_t)l->lh_mask + 1) * sizeof(uint64_t)) +
	       ((size_t)l->st_mask + 1) * sizeof(struct lpm_rec);
}

int xlb_lpm_new(struct xlb_lpm **out, const struct xlb_lpm_params *p)
{
	struct xlb_lpm *l;
	uint32_t slots = 1024;

	*out = NULL;
	l = aligned_alloc(64, (sizeof(*l) + 63) & ~(size_t)63);
	if (!l)
		return -ENOMEM;
	memset(l, 0, sizeof(*l));
	if (p)
		l->p = *p;
	else
		xlb_lpm_params_default(&l->p);
	if (!l->p.routes_max || l->p.routes_max > (1u << 28) ||
	    l->p.long_max > (1u << 26)) {
		free(l);
		return -EINVAL;
	}
	/* The long hash never moves (readers): sized once, at most half full. */
	while (slots < 2 * l->p.long_max)
		slots <<= 1;
	l->lh_mask = slots - 1;
	l->st_mask = ST_MIN - 1;
	l->tbl16 = lpm_map(TBL16_N * sizeof(uint32_t));
	l->tbl24 = lpm_map(TBL24_N * sizeof(uint32_t));
	l->lh = lpm_map((size_t)slots * sizeof(uint64_t));
	l->st = calloc(ST_MIN, sizeof(*l->st));
	if (!l->tbl16 || !l->tbl24 || !l->lh || !l->st) {
		xlb_lpm_free(l);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

void xlb_lpm_free(struct xlb_lpm *l)
{
	if (!l)
		return;
	if (l->tbl16)
		munmap(l->tbl16, TBL16_N * sizeof(uint32_t));
	if (l->tbl24)
		munmap(l->tbl24, TBL24_N * sizeof(uint32_t));
	if (l->lh)
		munmap(l->lh, ((size_t)l->lh_mask + 1) * sizeof(uint64_t));
	free(l->st);
	free(l);
}

/* ---- readers ---- */

int xlb_lpm_find(const struct xlb_lpm *l, uint32_t addr, uint32_t *val)
{
	uint32_t h = ntohl(addr), e = ld(&l->tbl16[h >> 16]);

	if (e & E_EXT)
		e = ld(&l->tbl24[h >> 8]);
	if (e & E_LONG) {
		uint32_t bm = ld(&l->long_bm);

		while (bm) {
			unsigned q = 31u - (unsigned)__builtin_clz(bm);
			uint8_t plen = (uint8_t)(25 + q);

			if (!lh_get(l, h & hmask(plen), plen, val))
				return 0;
			bm &= ~(1u << q);
		}
	}
	if (!E_D1(e))
		return -ENOENT;
	*val = E_VAL(e);
	return 0;
}

int xlb_lpm_lookup(const struct xlb_lpm *l, uint32_t addr, uint32_t *val)
{
	unsigned spins;

	for (spins = 0; spins < LPM_READ_SPINS; spins++) {
		uint32_t s = xlb_lpm_read_begin(l), v = 0;
		int rc;

		if (s & 1)
			continue;
		rc = xlb_lpm_find(l, addr, &v);
		if (!xlb_lpm_read_retry(l, s)) {
			if (!rc)
				*val = v;
			return rc;
		}
	}
	return -EAGAIN;
}
