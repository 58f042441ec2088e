// SPDX-License-Identifier: GPL-2.0
/*
 * twos: power of two random choices (IPVS's ip_vs_twos.c): two servers
 * drawn at random in proportion to their weights, and of the two the one
 * with the least overhead per unit of weight.
 */
#include "sched.h"

static int twos_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	int64_t total = 0, r1, r2;
	int c1 = -ENOENT, c2 = -ENOENT, last = -ENOENT;
	uint64_t w1 = 0, w2 = 0;

	(void)f;
	for (uint32_t i = 0; i < svc->ndests; i++) {
		if (!xlb_sched_dest_unavailable(&svc->dests[i])) {
			total += xlb_dest_weight(&svc->dests[i]);
			last = (int)i;
		}
	}
	if (last < 0)
		return -ENOENT;
	/* As IPVS: random weights in [0, total] inclusive. */
	total += 1;
	r1 = (int64_t)(xlb_sched_random() % (uint64_t)total);
	r2 = (int64_t)(xlb_sched_random() % (uint64_t)total);
	for (uint32_t i = 0; i < svc->ndests && (c1 < 0 || c2 < 0); i++) {
		const struct xlb_snap_dest *d = &svc->dests[i];
		uint32_t w;

		/* The flag was settled in the first pass: read, do not move it. */
		if (xlb_dest_weight(d) == 0 ||
		    (d->cfg.u_thresh && atomic_load_explicit(&d->cnt->overload,
							     memory_order_relaxed)))
			continue;
		w = xlb_dest_weight(d);
		r1 -= w;
		r2 -= w;
		if (r1 <= 0 && c1 < 0) {
			c1 = (int)i;
			w1 = w;
		}
		if (r2 <= 0 && c2 < 0) {
			c2 = (int)i;
			w2 = w;
		}
	}
	if (c1 < 0)
		c1 = last;
	if (c2 >= 0 && w1 &&
	    (unsigned __int128)w2 * xlb_dest_overhead(&svc->dests[c1]) >
	    (unsigned __int128)w1 * xlb_dest_overhead(&svc->dests[c2]))
		c1 = c2;
	return c1;
}

const struct xlb_sched xlb_sched_twos = {
	.name = "twos",
	.desc = "power of two choices: two servers drawn by weight, the less loaded of the two",
	.schedule = twos_schedule,
};
