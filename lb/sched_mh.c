// SPDX-License-Identifier: GPL-2.0
/*
 * mh: Maglev hashing (Eisenbud et al., NSDI 2016, section 3.4; IPVS's
 * ip_vs_mh.c). Each server has a permutation of the M table entries
 * (M prime, 65537 here): offset = h1(server) mod M, skip = h2(server) mod
 * (M - 1) + 1, its j-th preference (offset + j * skip) mod M. The table is
 * filled in rounds: in each round every server takes its next preferred
 * free entry, `turns` times, turns = weight / gcd of the weights (shifted
 * right, as IPVS, when the largest ratio needs more than 8 bits), until
 * all M entries are taken. So every server owns entries in proportion to
 * its weight, and a change of one server moves about 1/N of the keys.
 * A flow's client address (plus its port with -b mh-port) hashes to an
 * entry; an unavailable server there (weight 0 takes no entries;
 * overloaded) gives no server, or with -b mh-fallback the first available
 * one in IPVS's rehash order. The table depends on the configuration and
 * the seed only: directors agree.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "sched.h"

#define MH_TAB_BITS	8	/* precision of the weight ratios (turns) */

static uint32_t hash2(uint32_t a, uint32_t b, uint32_t seed)
{
	return xlb_mm3_fmix(xlb_mm3_round(xlb_mm3_round(seed, a), b) ^ 8u);
}

void xlb_mh_perm(uint32_t addr, uint16_t port, uint32_t size, uint32_t seed,
		 uint32_t *offset, uint32_t *skip)
{
	uint32_t a = ntohl(addr), p = ntohs(port);

	/* Two independent hashes of the server's identity, as the paper's
	 * h1 and h2 (IPVS: two siphash keys). */
	*offset = hash2(a, p, seed ^ 0x9e3779b1u) % size;
	*skip = hash2(a, p, seed ^ 0x85ebca77u) % (size - 1) + 1;
}

uint32_t xlb_mh_key(const struct xlb_mh_table *t, uint32_t addr, uint16_t port,
		    uint32_t offset)
{
	/* IPVS: hash(offset + port + addr). */
	return xlb_mm3_fmix(xlb_mm3_round(t->seed ^ 0xc2b2ae35u,
					  offset + ntohs(port) + ntohl(addr)) ^ 4u) % t->size;
}

int xlb_mh_build(const struct xlb_snap_dest *dests, uint32_t n, uint32_t size,
		 uint32_t seed, struct xlb_mh_table **out)
{
	struct xlb_mh_table *t;
	uint32_t *next = NULL, *skip = NULL, *turns = NULL, *bitmap = NULL;
	uint32_t g, mw, shift = 0, filled = 0;
	int ret = -ENOMEM;

	if (size < 2 || n > 65536)
		return -EINVAL;
	t = malloc(sizeof(*t) + (size_t)size * sizeof(t->slot[0]));
	if (!t)
		return -ENOMEM;
	t->size = size;
	t->seed = seed;
	t->ndests = 0;
	memset(t->slot, 0, (size_t)size * sizeof(t->slot[0]));
	g = xlb_sched_weights_gcd(dests, n, &mw);
	if (!g) {		/* no server with weight: an empty table */
		*out = t;
		return 0;
	}
	while ((mw / g) >> shift >= (1u << MH_TAB_BITS))
		shift++;
	next = calloc(n, sizeof(*next));
	skip = calloc(n, sizeof(*skip));
	turns = calloc(n, sizeof(*turns));
	bitmap = calloc((size + 31) / 32, sizeof(*bitmap));
	if (!next || !skip || !turns || !bitmap)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t w = xlb_dest_weight(&dests[i]);

		xlb_mh_perm(xlb_inaddr_fold(xlb_af(dests[i].cfg.af), &dests[i].cfg.addr), dests[i].cfg.port, size, seed, &next[i], &skip[i]);
		turns[i] = (w / g) >> shift;
		if (!turns[i] && w)
			turns[i] = 1;
	}
	while (filled < size) {
		for (uint32_t i = 0; i < n && filled < size; i++) {
			for (uint32_t k = 0; k < turns[i] && filled < size; k++) {
				uint32_t c = next[i];

				while (bitmap[c / 32] & (1u << (c % 32))) {
					c += skip[i];
					if (c >= size)
						c -= size;
				}
				bitmap[c / 32] |= 1u << (c % 32);
				t->slot[c] = (uint16_t)i;
				next[i] = c;
				filled++;
			}
		}
	}
	t->ndests = n;
	*out = t;
	t = NULL;
	ret = 0;
out:
	free(next);
	free(skip);
	free(turns);
	free(bitmap);
	free(t);
	return ret;
}

static int mh_update(const struct xlb_sched_conf *c, void **data, uint64_t *cost)
{
	struct xlb_mh_table *t;
	int ret = xlb_mh_build(c->dests, c->n, XLB_MH_TAB_SIZE_DEFAULT, c->seed, &t);

	if (ret)
		return ret;
	*data = t;
	*cost = ((uint64_t)t->size * sizeof(t->slot[0])) / 8;
	return 0;
}

static void mh_free(void *d)
{
	free(d);
}

static int mh_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	const struct xlb_mh_table *t = svc->sched_data;
	uint16_t port = svc->cfg.flags & XLB_SVC_F_MH_PORT ? f->sport : 0;
	uint32_t ihash;

	if (!t->ndests)
		return -ENOENT;
	ihash = xlb_mh_key(t, f->saddr, port, 0);
	if (!xlb_sched_dest_unavailable(&svc->dests[t->slot[ihash]]))
		return t->slot[ihash];
	if (!(svc->cfg.flags & XLB_SVC_F_MH_FALLBACK))
		return -ENOENT;
	for (uint32_t off = 0; off < t->size; off++) {
		uint32_t h = xlb_mh_key(t, f->saddr, port, (off + ihash) % t->size);

		if (!xlb_sched_dest_unavailable(&svc->dests[t->slot[h]]))
			return t->slot[h];
	}
	return -ENOENT;
}

const struct xlb_sched xlb_sched_mh = {
	.name = "mh",
	.desc = "Maglev hashing: a client address (and port with -b mh-port) keeps its server, 1/N moves on a change; -b mh-fallback",
	.update = mh_update,
	.free_data = mh_free,
	.schedule = mh_schedule,
};
