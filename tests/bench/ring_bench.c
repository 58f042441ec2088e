// SPDX-License-Identifier: GPL-2.0
/*
 * Ring micro-benchmark: build time and lookup time of the consistent-hash
 * ring for 10, 100 and 1000 equal servers at the default V, plus the balance
 * the ring gives (max / mean keys per server) and the cost of the flow hash.
 *
 *   build/bench/ring_bench [LOOKUPS]      (default 10,000,000)
 *
 * Each figure is the median of 5 runs, timed with CLOCK_MONOTONIC. Hashes
 * are precomputed from random 5-tuples (fixed seed) so the lookup loop times
 * the ring alone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "ring.h"
#include "xlb-t.h"

#define RUNS		5
#define RING_SEED	0x2545f491u
#define FLOW_SEED	0x9e3779b9u

static uint64_t prng_state = 1;

static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, RUNS, sizeof(*v), cmp_double);
	return v[RUNS / 2];
}

/* Keeps the compiler from dropping loops whose results are otherwise unused. */
static volatile uint64_t sink;

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 10, 100, 1000 };
	uint64_t nlookups = argc > 1 ? strtoull(argv[1], NULL, 0) : 10000000;
	struct xlb_ring_member *m;
	double t[RUNS], t0;
	uint32_t *keys;
	uint64_t i;
	size_t s;
	int run;

	if (!nlookups) {
		fprintf(stderr, "usage: %s [LOOKUPS]\n", argv[0]);
		return 2;
	}
	keys = malloc(nlookups * sizeof(*keys));
	m = calloc(1000, sizeof(*m));
	if (!keys || !m) {
		fprintf(stderr, "ring_bench: out of memory\n");
		return 1;
	}

	/* The flow hash, on the tuples whose hashes the lookups use. */
	for (run = 0; run < RUNS; run++) {
		prng_state = 1;
		t0 = now_ns();
		for (i = 0; i < nlookups; i++) {
			uint64_t x = prng();

			keys[i] = xlb_hash_flow((uint32_t)x, htonl(0xc0000201), (uint16_t)(x >> 32),
						htons(80), IPPROTO_TCP, FLOW_SEED);
		}
		t[run] = (now_ns() - t0) / nlookups;
	}
	/* The PRNG is inside that loop: time it alone and subtract it. */
	{
		double p[RUNS];
		uint64_t acc = 0;

		for (run = 0; run < RUNS; run++) {
			prng_state = 1;
			t0 = now_ns();
			for (i = 0; i < nlookups; i++)
				acc += prng();
			p[run] = (now_ns() - t0) / nlookups;
		}
		sink = acc;
		printf("ring_bench: %llu lookups per run, median of %d runs, V = %d\n",
		       (unsigned long long)nlookups, RUNS, XLB_VNODES_DEFAULT);
		printf("flow hash (xlb_hash_flow): %.2f ns per hash\n\n",
		       median(t) - median(p));
	}

	printf("%8s %10s %10s %10s %14s\n", "servers", "points", "build ms", "lookup ns",
	       "max/mean keys");
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s], j;
		struct xlb_ring *r = NULL;
		uint64_t counts[1000] = { 0 }, max = 0, acc = 0;
		int err;

		for (j = 0; j < n; j++) {
			m[j].addr = htonl(0x0a000001 + j);
			m[j].port = htons(80);
			m[j].weight = 1;
		}
		for (run = 0; run < RUNS; run++) {
			t0 = now_ns();
			err = xlb_ring_build(&r, m, n, XLB_VNODES_DEFAULT, RING_SEED);
			t[run] = (now_ns() - t0) / 1e6;
			if (err) {
				fprintf(stderr, "ring_bench: build: %s\n", strerror(-err));
				return 1;
			}
			if (run < RUNS - 1)
				xlb_ring_free(r);
		}
		double build_ms = median(t);

		for (run = 0; run < RUNS; run++) {
			t0 = now_ns();
			for (i = 0; i < nlookups; i++)
				acc += (uint32_t)xlb_ring_lookup(r, keys[i]);
			t[run] = (now_ns() - t0) / nlookups;
		}
		sink = acc;
		double lookup_ns = median(t);

		for (i = 0; i < nlookups; i++)
			counts[xlb_ring_lookup(r, keys[i])]++;
		for (j = 0; j < n; j++)
			if (counts[j] > max)
				max = counts[j];

		printf("%8u %10u %10.3f %10.2f %14.3f\n", n, xlb_ring_points(r), build_ms,
		       lookup_ns, (double)max / ((double)nlookups / n));
		xlb_ring_free(r);
	}
	free(keys);
	free(m);
	return 0;
}
