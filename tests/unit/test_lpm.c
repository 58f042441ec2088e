// SPDX-License-Identifier: GPL-2.0
/*
 * The route table of the datapath (lb/lpm.c): longest-prefix match checked
 * against an independent reference (every prefix length tried, longest
 * first, by binary search in a sorted copy of the routes), on crafted cases
 * and on a million routes shaped like a BGP table, before and after half of
 * them are deleted. Memory and build time are printed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "lpm.h"

static uint32_t ip(const char *s)
{
	return inet_addr(s);
}

static struct xlb_lpm *lpm_new(void)
{
	struct xlb_lpm *l;

	cr_assert_eq(xlb_lpm_new(&l, NULL), 0);
	return l;
}

static int find(struct xlb_lpm *l, const char *a)
{
	uint32_t v;
	int rc = xlb_lpm_lookup(l, ip(a), &v);

	return rc ? rc : (int)v;
}

Test(lpm, longest_prefix_wins_and_deleting_it_restores_the_covering_one)
{
	struct xlb_lpm *l = lpm_new();
	uint32_t old;

	cr_expect_eq(find(l, "10.1.2.3"), -ENOENT, "empty table: no route");
	cr_assert_eq(xlb_lpm_add(l, ip("0.0.0.0"), 0, 0, 1, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("10.0.0.0"), 8, 0, 2, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("10.1.0.0"), 16, 0, 3, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("10.1.2.0"), 23, 0, 4, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("10.1.2.0"), 28, 0, 5, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("10.1.2.3"), 32, 0, 6, &old), 0);
	cr_expect_eq(find(l, "10.1.2.3"), 6);
	cr_expect_eq(find(l, "10.1.2.4"), 5);
	cr_expect_eq(find(l, "10.1.2.200"), 4);
	cr_expect_eq(find(l, "10.1.3.1"), 4);
	cr_expect_eq(find(l, "10.1.4.1"), 3);
	cr_expect_eq(find(l, "10.200.0.1"), 2);
	cr_expect_eq(find(l, "192.0.2.1"), 1);

	cr_assert_eq(xlb_lpm_del(l, ip("10.1.2.0"), 23, 0, &old), 0);
	cr_expect_eq(old, 4u);
	cr_expect_eq(find(l, "10.1.2.200"), 3, "the /16 covers the deleted /23");
	cr_expect_eq(find(l, "10.1.2.4"), 5, "the /28 under it stays");
	cr_assert_eq(xlb_lpm_del(l, ip("10.1.2.3"), 32, 0, &old), 0);
	cr_expect_eq(find(l, "10.1.2.3"), 5);
	cr_assert_eq(xlb_lpm_del(l, ip("10.1.2.0"), 28, 0, &old), 0);
	cr_expect_eq(find(l, "10.1.2.3"), 3);
	cr_assert_eq(xlb_lpm_del(l, ip("10.0.0.0"), 8, 0, &old), 0);
	cr_expect_eq(find(l, "10.200.0.1"), 1);
	cr_expect_eq(find(l, "10.1.9.9"), 3);
	cr_expect_eq(xlb_lpm_del(l, ip("10.0.0.0"), 8, 0, &old), -ENOENT);
	cr_expect_eq(xlb_lpm_count(l), 2u);
	xlb_lpm_free(l);
}

Test(lpm, lowest_metric_of_a_prefix_is_the_one_used)
{
	struct xlb_lpm *l = lpm_new();
	uint32_t old;

	cr_assert_eq(xlb_lpm_add(l, ip("10.2.0.0"), 16, 100, 7, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("10.2.0.0"), 16, 50, 8, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("10.2.0.0"), 16, 200, 9, &old), 0);
	cr_expect_eq(find(l, "10.2.3.4"), 8);
	cr_assert_eq(xlb_lpm_add(l, ip("10.2.0.0"), 16, 50, 10, &old), 1, "replace");
	cr_expect_eq(old, 8u);
	cr_expect_eq(find(l, "10.2.3.4"), 10);
	cr_assert_eq(xlb_lpm_del(l, ip("10.2.0.0"), 16, 50, &old), 0);
	cr_expect_eq(find(l, "10.2.3.4"), 7);
	cr_assert_eq(xlb_lpm_add(l, ip("10.2.3.4"), 32, 5, 11, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("10.2.3.4"), 32, 1, 12, &old), 0);
	cr_expect_eq(find(l, "10.2.3.4"), 12);
	cr_assert_eq(xlb_lpm_del(l, ip("10.2.3.4"), 32, 1, &old), 0);
	cr_expect_eq(find(l, "10.2.3.4"), 11);
	xlb_lpm_free(l);
}

Test(lpm, limits_are_refused_without_a_change)
{
	struct xlb_lpm_params p = { .routes_max = 3, .long_max = 1 };
	struct xlb_lpm *l;
	uint32_t old;

	cr_assert_eq(xlb_lpm_new(&l, &p), 0);
	cr_expect_eq(xlb_lpm_add(l, ip("10.0.0.0"), 33, 0, 1, &old), -EINVAL);
	cr_expect_eq(xlb_lpm_add(l, ip("10.0.0.0"), 8, 0, 1u << 24, &old), -EINVAL);
	cr_assert_eq(xlb_lpm_add(l, ip("10.9.9.9"), 32, 0, 1, &old), 0);
	cr_expect_eq(xlb_lpm_add(l, ip("10.9.9.8"), 32, 0, 2, &old), -ENOSPC,
		     "long_max");
	cr_expect_eq(find(l, "10.9.9.8"), -ENOENT);
	cr_assert_eq(xlb_lpm_add(l, ip("10.0.0.0"), 8, 0, 3, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("11.0.0.0"), 8, 0, 4, &old), 0);
	cr_expect_eq(xlb_lpm_add(l, ip("12.0.0.0"), 8, 0, 5, &old), -ENOSPC,
		     "routes_max");
	cr_expect_eq(find(l, "12.1.1.1"), -ENOENT);
	cr_expect_eq(find(l, "10.9.9.8"), 3);
	xlb_lpm_free(l);
}

Test(lpm, resync_sweeps_only_the_routes_the_dump_did_not_show)
{
	struct xlb_lpm *l = lpm_new();
	uint32_t old;

	cr_assert_eq(xlb_lpm_add(l, ip("10.0.0.0"), 8, 0, 1, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("10.3.0.0"), 16, 0, 2, &old), 0);
	cr_assert_eq(xlb_lpm_add(l, ip("10.3.3.3"), 32, 0, 3, &old), 0);
	xlb_lpm_mark(l);
	cr_assert_eq(xlb_lpm_add(l, ip("10.0.0.0"), 8, 0, 1, &old), 1);
	cr_assert_eq(xlb_lpm_add(l, ip("10.3.3.3"), 32, 0, 4, &old), 1);
	cr_expect_eq(xlb_lpm_sweep(l, NULL, NULL), 1u);
	cr_expect_eq(find(l, "10.3.3.3"), 4);
	cr_expect_eq(find(l, "10.3.4.4"), 1);
	xlb_lpm_free(l);
}

/* ---- a million routes against the reference ---- */

struct ref_rt {
	uint32_t dst;		/* host order, masked */
	uint8_t  plen;
	bool     gone;
	uint32_t prio;
	uint32_t val;
};

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* About a BGP table: mostly /24, the rest /16../23, a few short ones, and
 * 15 % longer than /24 (which real tables rarely carry, to exercise them). */
static uint8_t rnd_plen(void)
{
	uint32_t r = rnd() % 1000;

	if (r < 550)
		return 24;
	if (r < 845)
		return (uint8_t)(16 + rnd() % 8);
	if (r < 850)
		return (uint8_t)(8 + rnd() % 8);
	return (uint8_t)(25 + rnd() % 8);
}

static int ref_cmp(const void *a, const void *b)
{
	const struct ref_rt *x = a, *y = b;

	if (x->plen != y->plen)
		return x->plen < y->plen ? -1 : 1;
	if (x->dst != y->dst)
		return x->dst < y->dst ? -1 : 1;
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return 0;
}

static uint32_t mask_of(uint8_t plen)
{
	return plen ? ~0u << (32 - plen) : 0;
}

/* The reference: every length from 32 down, binary search for the first
 * live route of (addr & mask, length) in metric order. */
static int ref_lookup(const struct ref_rt *r, size_t n, uint32_t h, uint32_t *val)
{
	for (int q = 32; q >= 0; q--) {
		struct ref_rt key = { .dst = h & mask_of((uint8_t)q), .plen = (uint8_t)q };
		size_t lo = 0, hi = n;

		while (lo < hi) {		/* first element >= key (prio 0) */
			size_t mid = (lo + hi) / 2;

			if (ref_cmp(&r[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < n && r[lo].plen == key.plen && r[lo].dst == key.dst; lo++)
			if (!r[lo].gone) {
				*val = r[lo].val;
				return 0;
			}
	}
	return -ENOENT;
}

static double secs_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static unsigned check_random(struct xlb_lpm *l, const struct ref_rt *r, size_t n,
			     unsigned queries)
{
	unsigned bad = 0, hits = 0;

	for (unsigned i = 0; i < queries; i++) {
		uint32_t h, want = 0, got = 0;
		int rw, rg;

		/* Half anywhere, half inside a route (host bits random). */
		if (i & 1)
			h = rnd();
		else {
			const struct ref_rt *x = &r[rnd() % n];

			h = x->dst | (rnd() & ~mask_of(x->plen));
		}
		rw = ref_lookup(r, n, h, &want);
		rg = xlb_lpm_lookup(l, htonl(h), &got);
		hits += rw == 0;
		if (rw != rg || (rw == 0 && want != got)) {
			if (bad++ < 5)
				cr_log_error("%08x: reference %d/%u, lpm %d/%u", h, rw,
					     want, rg, got);
		}
	}
	cr_expect_gt(hits, queries / 3, "the queries mostly match a route");
	return bad;
}

Test(lpm, a_million_routes_match_the_reference_before_and_after_deletes,
     .timeout = 600)
{
	const size_t N = 1000000;
	struct ref_rt *r = calloc(N + N / 10, sizeof(*r));
	struct xlb_lpm *l = lpm_new();
	struct timespec t0;
	size_t n = 0, i, dup = 0;
	unsigned bad;
	uint32_t old;
	double t_add, t_del;

	cr_assert_not_null(r);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (n < N) {
		struct ref_rt x = { .plen = rnd_plen() };

		x.dst = rnd() & mask_of(x.plen);
		/* One in ten prefixes gets a second route, at a lower metric. */
		for (int k = 0; k < (n % 10 == 0 && n + 1 < N ? 2 : 1); k++) {
			int rc;

			x.prio = k ? 150 : 200;
			x.val = rnd() & XLB_LPM_VAL_MAX;
			rc = xlb_lpm_add(l, htonl(x.dst), x.plen, x.prio, x.val, &old);
			cr_assert_geq(rc, 0, "add %zu: %d", n, rc);
			if (rc == 1) {
				/* A random repeat of a route: put the old one back. */
				uint32_t mine;

				dup++;
				cr_assert_eq(xlb_lpm_add(l, htonl(x.dst), x.plen, x.prio,
							 old, &mine), 1);
				cr_assert_eq(mine, x.val);
				continue;
			}
			r[n++] = x;
		}
	}
	t_add = secs_since(&t0);
	cr_assert_eq(xlb_lpm_count(l), N);
	fprintf(stderr, "lpm: %zu routes (%zu duplicate adds) built in %.2f s, "
		"%.1f MiB resident\n", N, dup, t_add,
		(double)xlb_lpm_memory(l) / (1 << 20));

	/* Lookup cost, random addresses (mostly cache misses on a 2^24
	 * table): a figure, not a test. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0, old = 0; i < 2000000; i++) {
		uint32_t v = 0;

		(void)xlb_lpm_lookup(l, rnd(), &v);
		old += v;
	}
	fprintf(stderr, "lpm: %.0f ns per lookup of a random address (sum %u)\n",
		secs_since(&t0) * 1e9 / 2e6, old);

	qsort(r, n, sizeof(*r), ref_cmp);
	bad = check_random(l, r, n, 200000);
	cr_expect_eq(bad, 0u, "%u of 200000 lookups differ from the reference", bad);

	/* Delete every other route (in an order unrelated to insertion). */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i += 2) {
		cr_assert_eq(xlb_lpm_del(l, htonl(r[i].dst), r[i].plen, r[i].prio,
					 &old), 0);
		cr_assert_eq(old, r[i].val);
		r[i].gone = true;
	}
	t_del = secs_since(&t0);
	cr_assert_eq(xlb_lpm_count(l), N / 2);
	fprintf(stderr, "lpm: %zu routes deleted in %.2f s, %.1f MiB resident\n",
		N / 2, t_del, (double)xlb_lpm_memory(l) / (1 << 20));
	bad = check_random(l, r, n, 200000);
	cr_expect_eq(bad, 0u, "after deletes, %u of 200000 lookups differ", bad);

	/* And everything else: the table is empty again. */
	for (i = 1; i < n; i += 2)
		cr_assert_eq(xlb_lpm_del(l, htonl(r[i].dst), r[i].plen, r[i].prio,
					 &old), 0);
	cr_expect_eq(xlb_lpm_count(l), 0u);
	for (i = 0; i < 1000; i++)
		cr_expect_eq(xlb_lpm_lookup(l, rnd(), &old), -ENOENT);
	xlb_lpm_free(l);
	free(r);
}

/* ---- readers against the writer ---- */

struct lpm_race {
	struct xlb_lpm *l;
	int stop;
	uint64_t reads, bad;	/* atomic */
};

/*
 * The answers readers check never change: 10.1.0.0/17 -> 2 (through
 * 10.1/16) and 64 /32s in 10.1.64.0/24 -> 7. The writer churns the other
 * half, 10.1.128.0/17 (prefixes /17../32: the /16 is extended and
 * collapsed again and again, the long hash fills with tombstones and is
 * rebuilt), so a reader that ever sees a half-made group or a hash being
 * rebuilt gets another answer.
 */
static void *lpm_reader(void *arg)
{
	struct lpm_race *r = arg;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		uint32_t v = 0, h, want;
		int rc;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		if (x & 1) {
			h = (10u << 24) | (1u << 16) | (64u << 8) | (uint32_t)(x >> 8) % 64;
			want = 7;
		} else {
			h = (10u << 24) | (1u << 16) | (uint32_t)(x >> 16) % 0x8000;
			want = (h >> 8 & 0xff) == 64 && (h & 0xff) < 64 ? 7 : 2;
		}
		rc = xlb_lpm_lookup(r->l, htonl(h), &v);
		if (rc == -EAGAIN)
			continue;
		__atomic_fetch_add(&r->reads, 1, __ATOMIC_RELAXED);
		if (rc || v != want)
			__atomic_fetch_add(&r->bad, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

Test(lpm, lookups_concurrent_with_updates_never_see_a_half_made_change,
     .timeout = 60)
{
	struct lpm_race r = { 0 };
	struct xlb_lpm_params p = { .routes_max = 1u << 20, .long_max = 4096 };
	struct timespec t0;
	pthread_t t;
	uint32_t old, k, b;

	cr_assert_eq(xlb_lpm_new(&r.l, &p), 0);
	cr_assert_eq(xlb_lpm_add(r.l, ip("10.0.0.0"), 8, 0, 1, &old), 0);
	cr_assert_eq(xlb_lpm_add(r.l, ip("10.1.0.0"), 16, 0, 2, &old), 0);
	for (b = 0; b < 64; b++)
		cr_assert_eq(xlb_lpm_add(r.l, htonl(0x0a014000u | b), 32, 0, 7, &old), 0);
	cr_assert_eq(pthread_create(&t, NULL, lpm_reader, &r), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (k = 0; secs_since(&t0) < 3.0; k++) {
		uint8_t plen = (uint8_t)(17 + rnd() % 16);
		uint32_t h = (0x0a018000u | (rnd() & 0x7fff)) & (~0u << (32 - plen));

		if (xlb_lpm_add(r.l, htonl(h), plen, 0, 5, &old) == 0 && (k % 3))
			(void)xlb_lpm_del(r.l, htonl(h), plen, 0, &old);
		if (xlb_lpm_count(r.l) > 2000) {	/* a resync drops the churn */
			xlb_lpm_mark(r.l);
			(void)xlb_lpm_add(r.l, ip("10.0.0.0"), 8, 0, 1, &old);
			(void)xlb_lpm_add(r.l, ip("10.1.0.0"), 16, 0, 2, &old);
			for (b = 0; b < 64; b++)
				(void)xlb_lpm_add(r.l, htonl(0x0a014000u | b), 32, 0, 7, &old);
			(void)xlb_lpm_sweep(r.l, NULL, NULL);
		}
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	fprintf(stderr, "lpm race: %u updates, %llu reads, %llu wrong\n", k,
		(unsigned long long)r.reads, (unsigned long long)r.bad);
	cr_expect_geq(r.reads, 100000, "the reader ran alongside the writer");
	cr_expect_eq(r.bad, 0, "%llu wrong answers in %llu reads",
		     (unsigned long long)r.bad, (unsigned long long)r.reads);
	xlb_lpm_free(r.l);
}
