// SPDX-License-Identifier: GPL-2.0
/*
 * ring: xlb's consistent-hash ring with virtual nodes (ring.h), the
 * default. The ring is a function of the configuration alone (servers,
 * weights, vnodes, seed), so every director with the same configuration,
 * and a restarted one, sends a flow to the same server without sharing
 * any state. Keyed on the 5-tuple, or on the client address (masked by
 * -M) for a persistent service.
 */
#include <stdlib.h>
#include "hash.h"
#include "ring.h"
#include "sched.h"

static int ring_update(const struct xlb_sched_conf *c, void **data, uint64_t *cost)
{
	struct xlb_ring_member *m = calloc(c->n ? c->n : 1, sizeof(*m));
	struct xlb_ring *r = NULL;
	int ret;

	if (!m)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->n; i++) {
		m[i].addr = c->dests[i].cfg.addr.ip;
		if (xlb_af(c->dests[i].cfg.af) == AF_INET6) {
			m[i].af = AF_INET6;
			m[i].addr = 0;
			m[i].addr6 = c->dests[i].cfg.addr;
		}
		m[i].port = c->dests[i].cfg.port;
		m[i].weight = xlb_dest_weight(&c->dests[i]);
	}
	ret = xlb_ring_build(&r, m, c->n, c->svc->vnodes, c->seed);
	free(m);
	if (ret)
		return ret;
	*data = r;
	*cost = xlb_ring_points(r);
	return 0;
}

static void ring_free(void *data)
{
	xlb_ring_free(data);
}

static int ring_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	uint32_t hash;
	int idx;

	if (f->af == AF_INET6) {
		/* All 16 bytes (the ring is every director's: no fold). */
		if (svc->cfg.flags & XLB_SVC_F_PERSISTENT) {
			union xlb_inaddr m = xlb_persist_mask(AF_INET6, &f->saddr6,
							      svc->cfg.netmask);

			hash = xlb_hash_addr6(m.ip6, f->seed);
		} else {
			hash = xlb_hash_flow6(f->saddr6.ip6, f->daddr6.ip6, f->sport, f->dport,
					      f->proto, f->seed);
		}
	} else if (svc->cfg.flags & XLB_SVC_F_PERSISTENT)
		hash = xlb_hash_addr(f->saddr & svc->cfg.netmask, f->seed);
	else if (svc->cfg.flags & XLB_SVC_F_ONEPACKET)
		/* Each datagram on its own (-o): its IP id spreads one flow. */
		hash = xlb_hash_flow(f->saddr, f->daddr, f->sport ^ f->ip_id, f->dport,
				     f->proto, f->seed);
	else
		hash = xlb_hash_flow(f->saddr, f->daddr, f->sport, f->dport, f->proto, f->seed);
	idx = xlb_ring_lookup(svc->sched_data, hash);
	/* The ring holds no weight-0 server; an overloaded one is passed
	 * over, as IPVS passes over IP_VS_DEST_F_OVERLOAD, by walking on to
	 * the next member clockwise (nginx's hash walks past down peers). */
	if (idx >= 0 && xlb_sched_dest_overloaded(&svc->dests[idx])) {
		const struct xlb_ring *r = svc->sched_data;
		uint32_t np = xlb_ring_points(r), v, lo = 0, hi = np, i;

		/* The point we landed on (the first >= hash), then walk on. */
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (xlb_ring_point(r, mid, &v) >= 0 && v < hash)
				lo = mid + 1;
			else
				hi = mid;
		}
		i = lo;
		for (uint32_t k = 1; k <= np; k++) {
			int j = xlb_ring_point(r, (i + k) % np, &v);

			if (j >= 0 && !xlb_sched_dest_unavailable(&svc->dests[j]))
				return j;
		}
		return -ENOENT;
	}
	return idx;
}

const struct xlb_sched xlb_sched_ring = {
	.name = "ring",
	.desc = "consistent-hash ring with virtual nodes (xlb's default): directors agree without sharing state",
	.update = ring_update,
	.free_data = ring_free,
	.schedule = ring_schedule,
};
