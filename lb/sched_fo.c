// SPDX-License-Identifier: GPL-2.0
/*
 * fo: weighted failover (IPVS's ip_vs_fo.c): every new connection to the
 * available server with the highest weight (the first on ties).
 */
#include "sched.h"

static int fo_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	uint32_t hw = 0;
	int h = -ENOENT;

	(void)f;
	for (uint32_t i = 0; i < svc->ndests; i++) {
		const struct xlb_snap_dest *d = &svc->dests[i];

		if (xlb_dest_weight(d) > hw && !xlb_sched_dest_overloaded(d)) {
			h = (int)i;
			hw = xlb_dest_weight(d);
		}
	}
	return h;
}

const struct xlb_sched xlb_sched_fo = {
	.name = "fo",
	.desc = "weighted failover: the available server with the highest weight",
	.schedule = fo_schedule,
};
