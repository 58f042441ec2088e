// SPDX-License-Identifier: GPL-2.0
/*
 * The flow hashes: seeded, avalanching, using every input field.
 * Inputs come from a fixed-seed PRNG so every run measures the same numbers.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "hash.h"

#define SAMPLES		20000

static uint64_t prng_state;

static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct tuple {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	uint8_t proto;
};

static struct tuple random_tuple(void)
{
	uint64_t a = prng(), b = prng();
	struct tuple t = {
		.saddr = (uint32_t)a, .daddr = (uint32_t)(a >> 32),
		.sport = (uint16_t)b, .dport = (uint16_t)(b >> 16),
		.proto = (uint8_t)(b >> 32),
	};
	return t;
}

static uint32_t hash_tuple(const struct tuple *t, uint32_t seed)
{
	return xlb_hash_flow(t->saddr, t->daddr, t->sport, t->dport, t->proto, seed);
}

/* The 104 bits of a 5-tuple plus the 32 of the seed: flip bit i. */
#define FLOW_BITS	(32 + 32 + 16 + 16 + 8 + 32)
static void flip(struct tuple *t, uint32_t *seed, int bit)
{
	if (bit < 32)
		t->saddr ^= 1u << bit;
	else if (bit < 64)
		t->daddr ^= 1u << (bit - 32);
	else if (bit < 80)
		t->sport ^= 1u << (bit - 64);
	else if (bit < 96)
		t->dport ^= 1u << (bit - 80);
	else if (bit < 104)
		t->proto ^= 1u << (bit - 96);
	else
		*seed ^= 1u << (bit - 104);
}

Test(hash, different_seeds_give_different_flow_hashes)
{
	int i, same = 0;

	prng_state = 1;
	for (i = 0; i < SAMPLES; i++) {
		struct tuple t = random_tuple();

		same += hash_tuple(&t, 1) == hash_tuple(&t, 2);
	}
	/* A chance equality has probability 2^-32 per tuple. */
	cr_expect_leq(same, 1, "%d of %d tuples hash the same under two seeds", same, SAMPLES);
}

Test(hash, different_seeds_give_different_address_hashes)
{
	int i, same = 0;

	prng_state = 2;
	for (i = 0; i < SAMPLES; i++) {
		uint32_t a = (uint32_t)prng();

		same += xlb_hash_addr(a, 1) == xlb_hash_addr(a, 0x80000000u);
	}
	cr_expect_leq(same, 1, "%d of %d addresses hash the same under two seeds", same, SAMPLES);
}

Test(hash, flipping_any_flow_input_bit_flips_about_half_the_output_bits)
{
	double worst_lo = 1, worst_hi = 0;
	int bit, i;

	prng_state = 3;
	for (bit = 0; bit < FLOW_BITS; bit++) {
		uint64_t flipped = 0;
		double frac;

		for (i = 0; i < SAMPLES / 10; i++) {
			struct tuple t = random_tuple(), u = t;
			uint32_t seed = (uint32_t)prng(), s2 = seed;

			flip(&u, &s2, bit);
			flipped += __builtin_popcount(hash_tuple(&t, seed) ^ hash_tuple(&u, s2));
		}
		frac = flipped / (32.0 * (SAMPLES / 10));
		if (frac < worst_lo)
			worst_lo = frac;
		if (frac > worst_hi)
			worst_hi = frac;
		cr_expect(frac >= 0.40 && frac <= 0.60, "input bit %d flips %.3f of output bits",
			  bit, frac);
	}
	fprintf(stderr, "hash: flow avalanche, output bits flipped per input bit: %.3f..%.3f\n",
		worst_lo, worst_hi);
}

Test(hash, flipping_any_address_bit_flips_about_half_the_output_bits)
{
	double worst_lo = 1, worst_hi = 0;
	int bit, i;

	prng_state = 4;
	for (bit = 0; bit < 64; bit++) {
		uint64_t flipped = 0;
		double frac;

		for (i = 0; i < SAMPLES / 10; i++) {
			uint64_t x = prng(), y = x ^ (1ull << bit);

			flipped += __builtin_popcount(xlb_hash_addr((uint32_t)x, x >> 32) ^
						      xlb_hash_addr((uint32_t)y, y >> 32));
		}
		frac = flipped / (32.0 * (SAMPLES / 10));
		if (frac < worst_lo)
			worst_lo = frac;
		if (frac > worst_hi)
			worst_hi = frac;
		cr_expect(frac >= 0.40 && frac <= 0.60, "input bit %d flips %.3f of output bits",
			  bit, frac);
	}
	fprintf(stderr, "hash: address avalanche, output bits flipped per input bit: %.3f..%.3f\n",
		worst_lo, worst_hi);
}

/* Strict avalanche: each output bit flips with probability near 1/2. */
Test(hash, each_output_bit_flips_with_about_even_odds_for_each_input_bit)
{
	static uint32_t flips[FLOW_BITS][32];
	double worst = 0;
	int bit, ob, i;

	prng_state = 5;
	for (bit = 0; bit < FLOW_BITS; bit++) {
		for (i = 0; i < SAMPLES / 4; i++) {
			struct tuple t = random_tuple(), u = t;
			uint32_t seed = (uint32_t)prng(), s2 = seed;
			uint32_t d;

			flip(&u, &s2, bit);
			d = hash_tuple(&t, seed) ^ hash_tuple(&u, s2);
			for (ob = 0; ob < 32; ob++)
				flips[bit][ob] += (d >> ob) & 1;
		}
	}
	for (bit = 0; bit < FLOW_BITS; bit++) {
		for (ob = 0; ob < 32; ob++) {
			double p = flips[bit][ob] / (double)(SAMPLES / 4), dev = p > 0.5 ? p - 0.5 : 0.5 - p;

			if (dev > worst)
				worst = dev;
			/* 5000 trials: sd 0.007, so 0.05 is 7 sd off. */
			cr_expect(dev <= 0.05, "input bit %d -> output bit %d flips with p %.3f",
				  bit, ob, p);
		}
	}
	fprintf(stderr, "hash: strict avalanche, worst |p - 0.5| = %.4f\n", worst);
}

Test(hash, every_tuple_field_changes_the_hash)
{
	uint32_t base = xlb_hash_flow(0x0100000a, 0x0200000a, 1000, 80, IPPROTO_TCP, 0);

	cr_expect_neq(base, xlb_hash_flow(0x0300000a, 0x0200000a, 1000, 80, IPPROTO_TCP, 0));
	cr_expect_neq(base, xlb_hash_flow(0x0100000a, 0x0300000a, 1000, 80, IPPROTO_TCP, 0));
	cr_expect_neq(base, xlb_hash_flow(0x0100000a, 0x0200000a, 1001, 80, IPPROTO_TCP, 0));
	cr_expect_neq(base, xlb_hash_flow(0x0100000a, 0x0200000a, 1000, 81, IPPROTO_TCP, 0));
	cr_expect_neq(base, xlb_hash_flow(0x0100000a, 0x0200000a, 1000, 80, IPPROTO_UDP, 0));
	/* Swapped ports (or addresses) are another flow. */
	cr_expect_neq(base, xlb_hash_flow(0x0100000a, 0x0200000a, 80, 1000, IPPROTO_TCP, 0));
	cr_expect_neq(base, xlb_hash_flow(0x0200000a, 0x0100000a, 1000, 80, IPPROTO_TCP, 0));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* 1M distinct tuples: about n^2 / 2^33 = 116 colliding pairs for an ideal
 * 32-bit hash; many more would mean the hash loses input bits. */
Test(hash, distinct_tuples_collide_no_more_than_a_random_function)
{
	enum { N = 1000000 };
	uint32_t *h = malloc(N * sizeof(*h));
	int i, coll = 0;

	cr_assert_not_null(h);
	prng_state = 6;
	/* Sequential client ports from a few clients: the structured input a
	 * weak hash would fold together. */
	for (i = 0; i < N; i++)
		h[i] = xlb_hash_flow(htonl(0x0a000000 + i / 50000), htonl(0xc0000201),
				     htons(1024 + i % 50000), htons(80), IPPROTO_TCP, 42);
	qsort(h, N, sizeof(*h), cmp_u32);
	for (i = 1; i < N; i++)
		coll += h[i] == h[i - 1];
	fprintf(stderr, "hash: %d colliding pairs among %d structured tuples (random ~116)\n",
		coll, N);
	cr_expect_leq(coll, 250);
	free(h);
}

Test(hash, address_hash_spreads_a_subnet_evenly_over_the_top_bits)
{
	uint32_t buckets[256] = { 0 }, i, max = 0, min = UINT32_MAX;

	/* A /16 of clients: the top byte picks one of 256 buckets. */
	for (i = 0; i < 65536; i++)
		buckets[xlb_hash_addr(htonl(0xc0a80000 + i), 7) >> 24]++;
	for (i = 0; i < 256; i++) {
		if (buckets[i] > max)
			max = buckets[i];
		if (buckets[i] < min)
			min = buckets[i];
	}
	fprintf(stderr, "hash: /16 over 256 buckets: min %u max %u (mean 256)\n", min, max);
	/* Binomial(65536, 1/256): sd 16; 5 sd either side. */
	cr_expect(min >= 176 && max <= 336, "min %u max %u", min, max);
}
