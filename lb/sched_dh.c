// SPDX-License-Identifier: GPL-2.0
/*
 * dh: destination hashing (IPVS's ip_vs_dh.c): sh's table, keyed on the
 * flow's destination address, no fallback: a destination keeps its server
 * (for caches in front of many origins).
 */
#include <stdlib.h>
#include "sched.h"

static int dh_update(const struct xlb_sched_conf *c, void **data, uint64_t *cost)
{
	struct xlb_sh_table *t;
	int ret = xlb_sh_build(c->dests, c->n, &t);

	if (ret)
		return ret;
	*data = t;
	*cost = ((1ull << t->bits) * sizeof(t->slot[0])) / 8;
	return 0;
}

static void dh_free(void *d)
{
	free(d);
}

static int dh_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	return xlb_sh_lookup(svc, svc->sched_data, f->daddr, 0, false);
}

const struct xlb_sched xlb_sched_dh = {
	.name = "dh",
	.desc = "destination hashing: a destination address keeps its server",
	.update = dh_update,
	.free_data = dh_free,
	.schedule = dh_schedule,
};
