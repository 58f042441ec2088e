// SPDX-License-Identifier: GPL-2.0
/*
 * The consistent-hash ring: balance, proportion to weight, minimal movement
 * when servers come and go, independence from input order, and the edges
 * (weight 0, empty ring, huge weights, bad arguments, wrap-around).
 *
 * Keys are xlb_hash_flow() of random 5-tuples from a fixed-seed PRNG, so
 * every run measures the same numbers; the measured figures are printed to
 * stderr, which Criterion shows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "hash.h"
#include "ring.h"
#include "xlb-t.h"

#define NKEYS		1000000
#define FLOW_SEED	0x9e3779b9u
#define RING_SEED	0x2545f491u
#define V		XLB_VNODES_DEFAULT

static uint64_t prng_state;

/* splitmix64: small, fixed-seed, good enough to draw tuples. */
static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* NKEYS flow hashes of random TCP/UDP tuples towards one VIP:port. */
static uint32_t *random_keys(uint64_t seed)
{
	uint32_t *k = malloc(NKEYS * sizeof(*k));
	uint32_t i;

	cr_assert_not_null(k);
	prng_state = seed;
	for (i = 0; i < NKEYS; i++) {
		uint64_t x = prng();

		k[i] = xlb_hash_flow((uint32_t)x, htonl(0xc0000201), (uint16_t)(x >> 32),
				     htons(80), (x >> 48) & 1 ? IPPROTO_TCP : IPPROTO_UDP,
				     FLOW_SEED);
	}
	return k;
}

/* Servers 10.0.x.y:80, all of weight w. */
static void fill_members(struct xlb_ring_member *m, uint32_t n, uint32_t w)
{
	uint32_t i;

	memset(m, 0, n * sizeof(*m));
	for (i = 0; i < n; i++) {
		m[i].addr = htonl(0x0a000001 + i);
		m[i].port = htons(80);
		m[i].weight = w;
	}
}

static struct xlb_ring *build(const struct xlb_ring_member *m, uint32_t n, uint32_t vnodes)
{
	struct xlb_ring *r = NULL;
	int err = xlb_ring_build(&r, m, n, vnodes, RING_SEED);

	cr_assert_eq(err, 0, "xlb_ring_build: %d", err);
	cr_assert_not_null(r);
	return r;
}

/* counts[i] = keys whose lookup gives member i. */
static void count_keys(const struct xlb_ring *r, const uint32_t *keys, uint32_t n,
		       uint64_t *counts)
{
	uint32_t i;

	memset(counts, 0, n * sizeof(*counts));
	for (i = 0; i < NKEYS; i++) {
		int idx = xlb_ring_lookup(r, keys[i]);

		cr_assert(idx >= 0 && (uint32_t)idx < n, "lookup gave %d", idx);
		counts[idx]++;
	}
}

static bool same_member(const struct xlb_ring_member *a, const struct xlb_ring_member *b)
{
	return a->addr == b->addr && a->port == b->port;
}

static void shuffle(struct xlb_ring_member *m, uint32_t n)
{
	uint32_t i;

	for (i = n - 1; i > 0; i--) {
		uint32_t j = prng() % (i + 1);
		struct xlb_ring_member t = m[i];

		m[i] = m[j];
		m[j] = t;
	}
}

Test(ring, ten_equal_servers_load_at_most_1_25_of_the_mean)
{
	struct xlb_ring_member m[10];
	uint64_t counts[10], max = 0;
	uint32_t *keys = random_keys(1);
	struct xlb_ring *r;
	double ratio;
	int i;

	fill_members(m, 10, 1);
	r = build(m, 10, V);
	count_keys(r, keys, 10, counts);
	for (i = 0; i < 10; i++)
		if (counts[i] > max)
			max = counts[i];
	ratio = (double)max / (NKEYS / 10.0);
	fprintf(stderr, "ring: 10 equal servers, V=%d, %u points: max/mean = %.3f\n",
		V, xlb_ring_points(r), ratio);
	cr_expect_leq(ratio, 1.25, "max/mean %.3f > 1.25", ratio);
	xlb_ring_free(r);
	free(keys);
}

Test(ring, weight_two_server_gets_about_twice_the_keys_of_a_weight_one_server)
{
	struct xlb_ring_member m[10];
	uint64_t counts[10], rest = 0;
	uint32_t *keys = random_keys(2);
	struct xlb_ring *r;
	double ratio;
	int i;

	fill_members(m, 10, 1);
	m[0].weight = 2;
	r = build(m, 10, V);
	count_keys(r, keys, 10, counts);
	for (i = 1; i < 10; i++)
		rest += counts[i];
	ratio = counts[0] / (rest / 9.0);
	fprintf(stderr, "ring: weight 2 vs mean of nine weight 1: %.3f (want 1.6..2.4)\n", ratio);
	cr_expect(ratio >= 1.6 && ratio <= 2.4, "ratio %.3f", ratio);
	xlb_ring_free(r);
	free(keys);
}

Test(ring, removing_a_server_moves_only_its_keys)
{
	struct xlb_ring_member before[10], after[9];
	uint32_t *keys = random_keys(3), i, on_removed = 0, moved = 0, wrong = 0;
	struct xlb_ring *a, *b;
	const uint32_t gone = 3;

	fill_members(before, 10, 1);
	memcpy(after, before, gone * sizeof(*after));
	memcpy(after + gone, before + gone + 1, (9 - gone) * sizeof(*after));
	a = build(before, 10, V);
	b = build(after, 9, V);
	for (i = 0; i < NKEYS; i++) {
		const struct xlb_ring_member *x = &before[xlb_ring_lookup(a, keys[i])];
		const struct xlb_ring_member *y = &after[xlb_ring_lookup(b, keys[i])];

		if (same_member(x, &before[gone]))
			on_removed++;
		if (!same_member(x, y)) {
			moved++;
			if (!same_member(x, &before[gone]))
				wrong++;
		}
	}
	fprintf(stderr, "ring: remove 1 of 10: %u keys were on it, %u moved, %u moved from others\n",
		on_removed, moved, wrong);
	cr_expect_gt(on_removed, 0);
	cr_expect_eq(moved, on_removed, "moved %u, on removed server %u", moved, on_removed);
	cr_expect_eq(wrong, 0, "%u keys moved from servers that stayed", wrong);
	xlb_ring_free(a);
	xlb_ring_free(b);
	free(keys);
}

Test(ring, quiescing_a_server_moves_only_its_keys)
{
	struct xlb_ring_member m[10];
	uint32_t *keys = random_keys(4), i, on_it = 0, moved = 0, wrong = 0;
	struct xlb_ring *a, *b;

	fill_members(m, 10, 1);
	a = build(m, 10, V);
	m[7].weight = 0;
	b = build(m, 10, V);
	for (i = 0; i < NKEYS; i++) {
		int x = xlb_ring_lookup(a, keys[i]), y = xlb_ring_lookup(b, keys[i]);

		on_it += x == 7;
		if (x != y) {
			moved++;
			wrong += x != 7;
		}
	}
	fprintf(stderr, "ring: weight 1 -> 0 on 1 of 10: %u keys were on it, %u moved\n",
		on_it, moved);
	cr_expect_gt(on_it, 0);
	cr_expect_eq(moved, on_it);
	cr_expect_eq(wrong, 0, "%u keys moved from servers that kept their weight", wrong);
	xlb_ring_free(a);
	xlb_ring_free(b);
	free(keys);
}

Test(ring, adding_a_server_moves_about_its_share_and_only_onto_it)
{
	struct xlb_ring_member m[11];
	uint32_t *keys = random_keys(5), i, moved = 0, elsewhere = 0;
	struct xlb_ring *a, *b;
	double frac, share = 1.0 / 11;

	fill_members(m, 11, 1);
	a = build(m, 10, V);
	b = build(m, 11, V);
	for (i = 0; i < NKEYS; i++) {
		int x = xlb_ring_lookup(a, keys[i]), y = xlb_ring_lookup(b, keys[i]);

		if (x != y) {
			moved++;
			elsewhere += y != 10;
		}
	}
	frac = (double)moved / NKEYS;
	fprintf(stderr, "ring: 10 -> 11 servers: %.4f of keys moved (1/11 = %.4f, ratio %.3f)\n",
		frac, share, frac / share);
	cr_expect_leq(frac, 1.35 * share, "moved %.4f > 1.35/11", frac);
	cr_expect_geq(frac, 0.65 * share, "moved %.4f < 0.65/11", frac);
	cr_expect_eq(elsewhere, 0, "%u keys moved to an old server", elsewhere);
	xlb_ring_free(a);
	xlb_ring_free(b);
	free(keys);
}

Test(ring, raising_a_weight_moves_keys_only_onto_that_server)
{
	struct xlb_ring_member m[10];
	uint32_t *keys = random_keys(6), i, moved = 0, elsewhere = 0;
	struct xlb_ring *a, *b;

	fill_members(m, 10, 1);
	a = build(m, 10, V);
	m[2].weight = 3;
	b = build(m, 10, V);
	for (i = 0; i < NKEYS; i++) {
		int x = xlb_ring_lookup(a, keys[i]), y = xlb_ring_lookup(b, keys[i]);

		if (x != y) {
			moved++;
			elsewhere += y != 2;
		}
	}
	fprintf(stderr, "ring: weight 1 -> 3 on 1 of 10: %.4f of keys moved onto it\n",
		(double)moved / NKEYS);
	cr_expect_gt(moved, 0);
	cr_expect_eq(elsewhere, 0, "%u keys moved to a server whose weight did not change",
		     elsewhere);
	xlb_ring_free(a);
	xlb_ring_free(b);
	free(keys);
}

Test(ring, rings_built_from_shuffled_members_are_identical)
{
	enum { N = 2000 };
	struct xlb_ring_member *m = malloc(N * sizeof(*m));
	struct xlb_ring *ref, *r;
	int round;

	cr_assert_not_null(m);
	fill_members(m, N, 1);
	m[5].weight = 3;
	m[17].weight = 0;
	ref = build(m, N, V);
	/* 320k points from 2000 servers: a few equal values are all but certain,
	 * so this also checks that ties are broken by identity. */
	fprintf(stderr, "ring: %d servers: %u distinct of %u points\n", N,
		xlb_ring_points(ref), (N + 1) * V);
	cr_expect_lt(xlb_ring_points(ref), (N + 1) * V, "no tie between points to break");
	prng_state = 7;
	for (round = 0; round < 5; round++) {
		shuffle(m, N);
		r = build(m, N, V);
		cr_expect(xlb_ring_equal(ref, r), "shuffle %d built a different ring", round);
		xlb_ring_free(r);
	}
	xlb_ring_free(ref);
	free(m);
}

Test(ring, rings_with_different_seeds_differ)
{
	struct xlb_ring_member m[10];
	struct xlb_ring *a = NULL, *b = NULL;

	fill_members(m, 10, 1);
	cr_assert_eq(xlb_ring_build(&a, m, 10, V, 1), 0);
	cr_assert_eq(xlb_ring_build(&b, m, 10, V, 2), 0);
	cr_expect_not(xlb_ring_equal(a, b));
	xlb_ring_free(a);
	xlb_ring_free(b);
}

Test(ring, weight_zero_server_is_never_chosen)
{
	struct xlb_ring_member m[10];
	uint64_t counts[10];
	uint32_t *keys = random_keys(8);
	struct xlb_ring *r;
	int i;

	fill_members(m, 10, 1);
	m[4].weight = 0;
	r = build(m, 10, V);
	count_keys(r, keys, 10, counts);
	cr_expect_eq(counts[4], 0, "weight-0 server got %lu keys", (unsigned long)counts[4]);
	for (i = 0; i < 10; i++)
		if (i != 4)
			cr_expect_gt(counts[i], 0, "server %d got no key", i);
	cr_expect_eq(xlb_ring_points(r), 9 * V);
	xlb_ring_free(r);
	free(keys);
}

Test(ring, all_zero_weights_lookup_is_enoent)
{
	struct xlb_ring_member m[4];
	struct xlb_ring *r;

	fill_members(m, 4, 0);
	r = build(m, 4, V);
	cr_expect_eq(xlb_ring_points(r), 0);
	cr_expect_eq(xlb_ring_lookup(r, 0), -ENOENT);
	cr_expect_eq(xlb_ring_lookup(r, 0x80000000u), -ENOENT);
	cr_expect_eq(xlb_ring_lookup(r, UINT32_MAX), -ENOENT);
	xlb_ring_free(r);
}

Test(ring, empty_ring_lookup_is_enoent)
{
	struct xlb_ring *r = build(NULL, 0, V);

	cr_expect_eq(xlb_ring_points(r), 0);
	cr_expect_eq(xlb_ring_lookup(r, 0), -ENOENT);
	cr_expect_eq(xlb_ring_lookup(r, 12345), -ENOENT);
	cr_expect_eq(xlb_ring_lookup(r, UINT32_MAX), -ENOENT);
	xlb_ring_free(r);
}

Test(ring, max_weights_build_within_the_point_cap)
{
	static struct xlb_ring_member m[1000];
	struct xlb_ring *r;

	fill_members(m, 10, XLB_WEIGHT_MAX);
	r = build(m, 10, V);
	fprintf(stderr, "ring: 10 x weight 65535: %u points (cap %u)\n", xlb_ring_points(r),
		XLB_RING_POINTS_MAX);
	cr_expect_leq(xlb_ring_points(r), XLB_RING_POINTS_MAX);
	cr_expect_geq(xlb_ring_points(r), XLB_RING_POINTS_MAX / 2,
		      "scaled further than needed: %u", xlb_ring_points(r));
	xlb_ring_free(r);

	fill_members(m, 1000, XLB_WEIGHT_MAX);
	r = build(m, 1000, UINT32_MAX);
	fprintf(stderr, "ring: 1000 x weight 65535, V=2^32-1: %u points\n", xlb_ring_points(r));
	cr_expect_leq(xlb_ring_points(r), XLB_RING_POINTS_MAX);
	xlb_ring_free(r);
}

Test(ring, max_weights_balance_by_weight_proportion)
{
	struct xlb_ring_member m[2];
	uint64_t counts[2];
	uint32_t *keys = random_keys(9);
	struct xlb_ring *r;
	double ratio;

	fill_members(m, 2, 0);
	m[0].weight = 65535;
	m[1].weight = 32767;
	r = build(m, 2, V);
	count_keys(r, keys, 2, counts);
	ratio = (double)counts[0] / counts[1];
	fprintf(stderr, "ring: weight 65535 vs 32767 (%u points): keys ratio %.3f\n",
		xlb_ring_points(r), ratio);
	cr_expect(ratio >= 1.9 && ratio <= 2.1, "ratio %.3f, want about 2", ratio);
	xlb_ring_free(r);
	free(keys);
}

Test(ring, small_weight_beside_huge_weights_keeps_a_point)
{
	struct xlb_ring_member m[3];
	struct xlb_ring *r;
	uint32_t i, mine = 0;

	fill_members(m, 3, XLB_WEIGHT_MAX);
	m[1].weight = 1;
	r = build(m, 3, V);
	for (i = 0; i < xlb_ring_points(r); i++)
		mine += xlb_ring_point(r, i, NULL) == 1;
	cr_expect_geq(mine, 1, "weight-1 server lost all its points to scaling");
	xlb_ring_free(r);
}

Test(ring, duplicate_member_is_einval)
{
	struct xlb_ring_member m[5];
	struct xlb_ring *r = NULL;

	fill_members(m, 5, 1);
	m[3].addr = m[1].addr;
	cr_expect_eq(xlb_ring_build(&r, m, 5, V, RING_SEED), -EINVAL);
	cr_expect_null(r);
	/* Even a quiesced duplicate is a configuration error. */
	m[3].weight = 0;
	cr_expect_eq(xlb_ring_build(&r, m, 5, V, RING_SEED), -EINVAL);
	/* Same address, other port: a different member. */
	m[3].port = htons(8080);
	cr_expect_eq(xlb_ring_build(&r, m, 5, V, RING_SEED), 0);
	xlb_ring_free(r);
}

Test(ring, zero_vnodes_is_einval)
{
	struct xlb_ring_member m[3];
	struct xlb_ring *r = NULL;

	fill_members(m, 3, 1);
	cr_expect_eq(xlb_ring_build(&r, m, 3, 0, RING_SEED), -EINVAL);
	cr_expect_null(r);
}

Test(ring, weight_above_max_is_einval)
{
	struct xlb_ring_member m[3];
	struct xlb_ring *r = NULL;

	fill_members(m, 3, 1);
	m[2].weight = XLB_WEIGHT_MAX + 1;
	cr_expect_eq(xlb_ring_build(&r, m, 3, V, RING_SEED), -EINVAL);
	cr_expect_null(r);
}

Test(ring, hash_above_the_last_point_wraps_to_the_first_point_owner)
{
	struct xlb_ring_member m[10];
	uint32_t first, last, np;
	int first_owner, last_owner;
	struct xlb_ring *r;

	fill_members(m, 10, 1);
	r = build(m, 10, V);
	np = xlb_ring_points(r);
	first_owner = xlb_ring_point(r, 0, &first);
	last_owner = xlb_ring_point(r, np - 1, &last);
	cr_assert(first > 0 && last < UINT32_MAX, "points at the very ends: pick another seed");
	cr_assert_neq(first_owner, last_owner, "ends owned by one server: test cannot tell");
	cr_expect_eq(xlb_ring_lookup(r, last), last_owner);
	cr_expect_eq(xlb_ring_lookup(r, last + 1), first_owner);
	cr_expect_eq(xlb_ring_lookup(r, last + (UINT32_MAX - last) / 2), first_owner);
	cr_expect_eq(xlb_ring_lookup(r, UINT32_MAX), first_owner);
	cr_expect_eq(xlb_ring_lookup(r, 0), first_owner);
	cr_expect_eq(xlb_ring_lookup(r, first), first_owner);
	xlb_ring_free(r);
}

Test(ring, each_point_value_and_the_gap_before_it_belong_to_its_owner)
{
	struct xlb_ring_member m[10];
	struct xlb_ring *r;
	uint32_t i, v, prev;

	fill_members(m, 10, 1);
	r = build(m, 10, V);
	for (i = 1; i < xlb_ring_points(r); i++) {
		int owner = xlb_ring_point(r, i, &v);

		xlb_ring_point(r, i - 1, &prev);
		cr_assert_lt(prev, v, "points not strictly ascending at %u", i);
		cr_expect_eq(xlb_ring_lookup(r, v), owner);
		cr_expect_eq(xlb_ring_lookup(r, prev + 1), owner);
	}
	cr_expect_eq(xlb_ring_point(r, xlb_ring_points(r), NULL), -ERANGE);
	xlb_ring_free(r);
}

/* Lookups through the top-bits table and the fixed-step search, compared
 * with a plain binary search over all the ring's points. */
static uint32_t check_against_binary_search(const struct xlb_ring *r)
{
	uint32_t np = xlb_ring_points(r), *val, *own, i, bad = 0;
	int step, sh;

	val = malloc(np * sizeof(*val));
	own = malloc(np * sizeof(*own));
	cr_assert(val && own);
	for (i = 0; i < np; i++)
		own[i] = xlb_ring_point(r, i, &val[i]);

#define CHECK(hash) do {						\
		uint32_t h_ = (hash), lo_ = 0, hi_ = np;		\
		while (lo_ < hi_) {					\
			uint32_t mid_ = lo_ + (hi_ - lo_) / 2;		\
			if (val[mid_] < h_)				\
				lo_ = mid_ + 1;				\
			else						\
				hi_ = mid_;				\
		}							\
		bad += xlb_ring_lookup(r, h_) != (int)own[lo_ == np ? 0 : lo_]; \
	} while (0)

	prng_state = 11;
	for (i = 0; i < NKEYS / 4; i++)
		CHECK((uint32_t)prng());
	for (i = 0; i < np; i++) {
		CHECK(val[i] - 1);
		CHECK(val[i]);
		CHECK(val[i] + 1);
	}
	/* Bucket edges for any table size. */
	for (sh = 8; sh < 32; sh++)
		for (step = -1; step <= 1; step++)
			for (i = 0; i < 64; i++)
				CHECK((uint32_t)(((uint64_t)prng() >> (64 - (32 - sh))) << sh) + step);
	CHECK(0);
	CHECK(UINT32_MAX);
#undef CHECK
	free(val);
	free(own);
	return bad;
}

Test(ring, lookup_agrees_with_a_binary_search_over_all_points)
{
	static const struct { uint32_t n, vnodes, wmod; } cfg[] = {
		{ 1, 1, 0 }, { 1, 3, 0 }, { 2, 1, 0 }, { 10, 160, 0 },
		{ 300, 160, 7 }, { 50, 160, 65535 },
	};
	static struct xlb_ring_member m[300];
	struct xlb_ring *r;
	uint32_t c, i, bad;

	for (c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		fill_members(m, cfg[c].n, 1);
		for (i = 0; cfg[c].wmod && i < cfg[c].n; i++)
			m[i].weight = 1 + (i * 7919) % cfg[c].wmod;
		r = build(m, cfg[c].n, cfg[c].vnodes);
		bad = check_against_binary_search(r);
		cr_expect_eq(bad, 0, "%u servers, V=%u, %u points: %u lookups disagree",
			     cfg[c].n, cfg[c].vnodes, xlb_ring_points(r), bad);
		xlb_ring_free(r);
	}
}
