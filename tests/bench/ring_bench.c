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
 *
 * Then ring, mh (Maglev, 65537 entries) and sh (IPVS's source hashing) side
 * by side, each called through the scheduler interface (sched.h) as the
 * datapath calls it, flow hash included: lookup ns per new flow, build ms
 * (the scheduler's update), balance (max / mean flows per server over
 * 1,000,000 random clients) and the share of those flows that change
 * server when one server is added or removed (ideal: 1/N).
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
#include "sched.h"
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

#define CMP_KEYS	1000000u

/* A service of n equal servers, 10.0.0.1.. (plus skip: leave out the
 * first), built by sched's update as the tables would. */
struct bsvc {
	struct xlb_snap_svc svc;
	struct xlb_snap_dest *d;
	void *data;
	struct xlb_sched_state *st;
};

static struct xlb_cnt bench_cnt;

static int bsvc_build(struct bsvc *b, const struct xlb_sched *ops, uint32_t n, uint32_t first)
{
	struct xlb_sched_conf c;
	uint64_t cost = 0;
	int ret = 0;

	memset(b, 0, sizeof(*b));
	b->svc.cfg.key.addr.ip = htonl(0xc0000201);
	b->svc.cfg.key.port = htons(80);
	b->svc.cfg.key.proto = IPPROTO_TCP;
	snprintf(b->svc.cfg.sched, sizeof(b->svc.cfg.sched), "%s", ops->name);
	b->svc.cfg.netmask = 0xffffffff;
	b->svc.cfg.vnodes = XLB_VNODES_DEFAULT;
	b->d = calloc(n, sizeof(*b->d));
	if (!b->d)
		return -ENOMEM;
	for (uint32_t j = 0; j < n; j++) {
		b->d[j].cfg.addr.ip = htonl(0x0a000001 + first + j);
		b->d[j].cfg.port = htons(80);
		b->d[j].cfg.fwd = XLB_FWD_DR;
		b->d[j].cfg.weight = 1;
		b->d[j].cnt = &bench_cnt;
	}
	c = (struct xlb_sched_conf){ .svc = &b->svc.cfg, .dests = b->d, .n = n,
				     .seed = RING_SEED };
	if (ops->update)
		ret = ops->update(&c, &b->data, &cost);
	if (ret)
		return ret;
	b->st = xlb_sched_state_new(ops);
	b->svc.ndests = n;
	b->svc.dests = b->d;
	b->svc.sched = ops;
	b->svc.sched_data = b->data;
	b->svc.sched_state = b->st;
	return b->st ? 0 : -ENOMEM;
}

static void bsvc_free(struct bsvc *b)
{
	if (b->svc.sched && b->svc.sched->free_data && b->data)
		b->svc.sched->free_data(b->data);
	xlb_sched_state_put(b->st);
	free(b->d);
}

static struct xlb_sched_flow bench_flow(uint64_t x)
{
	return (struct xlb_sched_flow){
		.saddr = (uint32_t)x, .daddr = htonl(0xc0000201),
		.sport = (uint16_t)(x >> 32), .dport = htons(80),
		.proto = IPPROTO_TCP, .seed = FLOW_SEED,
	};
}

/* Server (address) of each of CMP_KEYS clients. */
static void bench_owners(const struct bsvc *b, uint32_t *own)
{
	prng_state = 7;
	for (uint32_t k = 0; k < CMP_KEYS; k++) {
		struct xlb_sched_flow f = bench_flow(prng());
		int i = xlb_sched_schedule(&b->svc, &f);

		own[k] = i < 0 ? 0 : b->d[i].cfg.addr.ip;
	}
}

static double moved(const uint32_t *a, const uint32_t *b)
{
	uint32_t m = 0;

	for (uint32_t k = 0; k < CMP_KEYS; k++)
		m += a[k] != b[k];
	return (double)m / CMP_KEYS;
}

static int compare(uint64_t nlookups)
{
	static const uint32_t sizes[] = { 10, 100, 1000 };
	const struct xlb_sched *ops[] = { &xlb_sched_ring, &xlb_sched_mh, &xlb_sched_sh };
	uint32_t *own = malloc(CMP_KEYS * sizeof(*own)), *own2 = malloc(CMP_KEYS * sizeof(*own2));
	double t[RUNS], t0;

	if (!own || !own2)
		return -ENOMEM;
	printf("\nring, mh and sh through the scheduler interface (flow hash included),\n"
	       "%llu lookups per run; balance and moves over %u random clients:\n",
	       (unsigned long long)nlookups, CMP_KEYS);
	printf("%6s %8s %10s %10s %14s %10s %8s %10s %8s\n", "sched", "servers", "build ms",
	       "lookup ns", "max/mean keys", "moved +1", "ideal", "moved -1", "ideal");
	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			uint32_t n = sizes[s], *cnt = calloc(n, sizeof(*cnt)), max = 0;
			struct bsvc b, b2;
			uint64_t acc = 0;
			double build_ms, lookup_ns, add, del;
			int ret;

			if (!cnt)
				return -ENOMEM;
			for (int run = 0; run < RUNS; run++) {
				t0 = now_ns();
				ret = bsvc_build(&b, ops[o], n, 0);
				t[run] = (now_ns() - t0) / 1e6;
				if (ret)
					return ret;
				if (run < RUNS - 1)
					bsvc_free(&b);
			}
			build_ms = median(t);
			for (int run = 0; run < RUNS; run++) {
				prng_state = 1;
				t0 = now_ns();
				for (uint64_t i = 0; i < nlookups; i++) {
					struct xlb_sched_flow f = bench_flow(prng());

					acc += (uint32_t)xlb_sched_schedule(&b.svc, &f);
				}
				t[run] = (now_ns() - t0) / nlookups;
			}
			sink = acc;
			lookup_ns = median(t);
			bench_owners(&b, own);
			for (uint32_t k = 0; k < CMP_KEYS; k++)
				cnt[ntohl(own[k]) - 0x0a000001]++;
			for (uint32_t j = 0; j < n; j++)
				if (cnt[j] > max)
					max = cnt[j];
			/* One server more (the next address), one less (the first). */
			if ((ret = bsvc_build(&b2, ops[o], n + 1, 0)))
				return ret;
			bench_owners(&b2, own2);
			add = moved(own, own2);
			bsvc_free(&b2);
			if ((ret = bsvc_build(&b2, ops[o], n - 1, 1)))
				return ret;
			bench_owners(&b2, own2);
			del = moved(own, own2);
			bsvc_free(&b2);
			printf("%6s %8u %10.3f %10.2f %14.3f %9.2f%% %7.2f%% %9.2f%% %7.2f%%\n",
			       ops[o]->name, n, build_ms, lookup_ns,
			       (double)max / ((double)CMP_KEYS / n), add * 100, 100.0 / (n + 1),
			       del * 100, 100.0 / n);
			bsvc_free(&b);
			free(cnt);
		}
	}
	free(own);
	free(own2);
	return 0;
}

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
	s = (size_t)compare(nlookups);
	if (s) {
		fprintf(stderr, "ring_bench: compare: %s\n", strerror(-(int)s));
		return 1;
	}
	return 0;
}
