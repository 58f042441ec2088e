// SPDX-License-Identifier: GPL-2.0
/*
 * Connection table micro-benchmark: cost per packet of creating entries,
 * of finding them again (client -> VIP and NAT replies), of a full expiry
 * sweep, and the rate of two threads hitting the table at once.
 *
 *   build/bench/conn_bench [max_conns]     (default 1048576)
 *
 * Figures are ns per operation on this machine; compare runs side by side,
 * not across machines.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"

#define SEC		1000ull
#define T0		(1000 * SEC)
#define TCP_SYN		0x02
#define TCP_ACK		0x10

struct dest {
	uint32_t addr;
	uint16_t port;
};

static struct dest dests[8];
static struct xlb_conn_key *keys;
static uint32_t nkeys;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int sched(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *t)
{
	const struct dest *d = &dests[(ntohl(k->saddr) * 0x9e3779b1u) >> 29];

	(void)arg;
	t->dest = d;
	t->daddr = d->addr;
	t->dport = d->port;
	t->fwd = XLB_FWD_NAT;
	memset(t->bind, 0xab, 48);	/* about a struct xlb_xmit_bind */
	return 0;
}

static uint64_t mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct thr {
	struct xlb_conn_tab *t;
	uint32_t seed;
	uint32_t n;
	double ns;
};

static void *hit_thread(void *arg)
{
	struct thr *a = arg;
	struct xlb_conn_view v;
	double t0 = now_ns();
	uint32_t i;

	for (i = 0; i < a->n; i++)
		xlb_conn_in(a->t, &keys[mix(i + a->seed) % nkeys], TCP_ACK, T0 + SEC, sched,
			    NULL, &v);
	a->ns = now_ns() - t0;
	return NULL;
}

int main(int argc, char **argv)
{
	struct xlb_conn_params p;
	struct xlb_conn_tab *t;
	struct xlb_conn_view v;
	struct thr th[2];
	pthread_t tid[2];
	uint32_t i, ok = 0;
	double t0, dt;

	xlb_conn_params_default(&p);
	if (argc > 1)
		p.max_conns = (uint32_t)strtoul(argv[1], NULL, 0);
	p.seed = 1;
	if (xlb_conn_init(&t, &p) < 0) {
		fprintf(stderr, "conn_bench: cannot make a table of %u\n", p.max_conns);
		return 1;
	}
	for (i = 0; i < 8; i++) {
		dests[i].addr = htonl(0x0a000001 + i);
		dests[i].port = htons(80);
	}
	nkeys = p.max_conns;
	keys = calloc(nkeys, sizeof(*keys));
	if (!keys)
		return 1;
	for (i = 0; i < nkeys; i++) {
		uint64_t x = mix(i);

		keys[i].proto = IPPROTO_TCP;
		keys[i].saddr = htonl(0x0b000000u + (uint32_t)(i >> 6));
		keys[i].sport = htons(1024 + (i & 63) * 7 + (uint16_t)(x & 3));
		keys[i].daddr = htonl(0xc0000201);
		keys[i].dport = htons(80);
	}

	printf("conn_bench: max_conns %u, buckets %u, entry+links %zu B\n",
	       xlb_conn_max(t), xlb_conn_tab_size(t), (size_t)128);

	t0 = now_ns();
	for (i = 0; i < nkeys; i++)
		ok += xlb_conn_in(t, &keys[i], TCP_SYN, T0, sched, NULL, &v) == 1;
	dt = now_ns() - t0;
	printf("  create (SYN, NAT)     %8.1f ns/op  (%u created)\n", dt / nkeys, ok);

	t0 = now_ns();
	for (i = 0; i < nkeys; i++)
		xlb_conn_in(t, &keys[mix(i) % nkeys], TCP_ACK, T0 + SEC, sched, NULL, &v);
	dt = now_ns() - t0;
	printf("  in, hit (random)      %8.1f ns/op\n", dt / nkeys);

	/* As a worker would: a burst of 64 prefetched first. */
	t0 = now_ns();
	for (i = 0; i + 64 <= nkeys; i += 64) {
		const struct xlb_conn_key *b[64];
		uint32_t j;

		for (j = 0; j < 64; j++) {
			b[j] = &keys[mix(i + j + 3) % nkeys];
			xlb_conn_prefetch(t, b[j], XLB_CONN_DIR_INPUT);
		}
		for (j = 0; j < 64; j++)
			xlb_conn_in(t, b[j], TCP_ACK, T0 + SEC, sched, NULL, &v);
	}
	dt = now_ns() - t0;
	printf("  in, hit, prefetched   %8.1f ns/op  (bursts of 64)\n", dt / i);

	t0 = now_ns();
	for (i = 0; i < nkeys; i++) {
		const struct xlb_conn_key *k = &keys[mix(i + 7) % nkeys];
		struct xlb_conn_key r;

		memset(&r, 0, sizeof(r));
		r.proto = k->proto;
		r.saddr = dests[(ntohl(k->saddr) * 0x9e3779b1u) >> 29].addr;
		r.sport = htons(80);
		r.daddr = k->saddr;
		r.dport = k->sport;
		xlb_conn_out(t, &r, TCP_ACK, T0 + 2 * SEC, &v);
	}
	dt = now_ns() - t0;
	printf("  out, hit (NAT reply)  %8.1f ns/op\n", dt / nkeys);

	for (i = 0; i < 2; i++) {
		th[i].t = t;
		th[i].seed = 1000003 * (i + 1);
		th[i].n = nkeys;
		pthread_create(&tid[i], NULL, hit_thread, &th[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	printf("  in, hit, 2 threads    %8.1f ns/op per thread, %.2f Mops/s total\n",
	       (th[0].ns + th[1].ns) / 2 / nkeys,
	       2.0 * nkeys / ((th[0].ns > th[1].ns ? th[0].ns : th[1].ns) / 1e9) / 1e6);

	t0 = now_ns();
	ok = xlb_conn_expire(t, T0 + 2000 * SEC, 0);
	dt = now_ns() - t0;
	printf("  expire sweep          %8.1f ms for %u entries (%.1f ns/entry)\n",
	       dt / 1e6, ok, dt / (ok ? ok : 1));

	xlb_conn_free(t);
	free(keys);
	return 0;
}
