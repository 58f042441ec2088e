// SPDX-License-Identifier: GPL-2.0
/*
 * sh: source hashing (IPVS's ip_vs_sh.c). A table of 256 buckets is
 * filled by walking the servers in order, each taking as many consecutive
 * buckets as its weight; the client address (plus its port with -b
 * sh-port) picks a bucket with Linux's hash_32. The bucket's server is
 * used unless it is unavailable (weight 0, overloaded): then no server,
 * or, with -b sh-fallback, the next available bucket in IPVS's rehash
 * order. The table is a function of the configuration alone.
 *
 * IPVS has 256 buckets (CONFIG_IP_VS_SH_TAB_BITS 8), which cannot hold
 * more than 256 servers; past 256 the table grows to the smallest power
 * of two that gives each server a bucket (xlb's only difference).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include "sched.h"

#define SH_TAB_BITS	8

int xlb_sh_build(const struct xlb_snap_dest *dests, uint32_t n, struct xlb_sh_table **out)
{
	uint32_t bits = SH_TAB_BITS, size, di = 0, dc = 0;
	struct xlb_sh_table *t;

	while ((1u << bits) < n && bits < 20)
		bits++;
	size = 1u << bits;
	t = malloc(sizeof(*t) + (size_t)size * sizeof(t->slot[0]));
	if (!t)
		return -ENOMEM;
	t->bits = bits;
	t->ndests = n;
	for (uint32_t i = 0; i < size; i++) {
		if (!n) {
			t->slot[i] = 0;
			continue;
		}
		t->slot[i] = di;
		/* As IPVS: a weight-0 server still takes one bucket. */
		if (++dc >= xlb_dest_weight(&dests[di])) {
			di = di + 1 == n ? 0 : di + 1;
			dc = 0;
		}
	}
	*out = t;
	return 0;
}

static inline uint32_t sh_hashkey(const struct xlb_sh_table *t, uint32_t addr,
				  uint16_t port, uint32_t offset)
{
	return (offset + xlb_sched_hash_32(ntohs(port) + ntohl(addr), t->bits)) &
	       ((1u << t->bits) - 1);
}

int xlb_sh_lookup(const struct xlb_snap_svc *svc, const struct xlb_sh_table *t,
		  uint32_t addr, uint16_t port, bool fallback)
{
	uint32_t size = 1u << t->bits, ihash;

	if (!t->ndests)
		return -ENOENT;
	ihash = sh_hashkey(t, addr, port, 0);
	if (!xlb_sched_dest_unavailable(&svc->dests[t->slot[ihash]]))
		return (int)t->slot[ihash];
	if (!fallback)
		return -ENOENT;
	for (uint32_t off = 0; off < size; off++) {
		uint32_t h = sh_hashkey(t, addr, port, (off + ihash) % size);

		if (!xlb_sched_dest_unavailable(&svc->dests[t->slot[h]]))
			return (int)t->slot[h];
	}
	return -ENOENT;
}

static int sh_update(const struct xlb_sched_conf *c, void **data, uint64_t *cost)
{
	struct xlb_sh_table *t;
	int ret = xlb_sh_build(c->dests, c->n, &t);

	if (ret)
		return ret;
	*data = t;
	*cost = ((1ull << t->bits) * sizeof(t->slot[0])) / 8;
	return 0;
}

static void sh_free(void *d)
{
	free(d);
}

static int sh_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	uint16_t port = svc->cfg.flags & XLB_SVC_F_SH_PORT ? f->sport : 0;

	return xlb_sh_lookup(svc, svc->sched_data, f->saddr, port,
			     svc->cfg.flags & XLB_SVC_F_SH_FALLBACK);
}

const struct xlb_sched xlb_sched_sh = {
	.name = "sh",
	.desc = "source hashing: a client address (and port with -b sh-port) keeps its server; -b sh-fallback",
	.update = sh_update,
	.free_data = sh_free,
	.schedule = sh_schedule,
};
