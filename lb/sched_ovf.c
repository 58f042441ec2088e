// SPDX-License-Identifier: GPL-2.0
/*
 * ovf: overflow connection (IPVS's ip_vs_ovf.c): the highest-weight server
 * whose active connections do not exceed its weight; when it has more, the
 * next one in weight takes the overflow.
 */
#include "sched.h"

static int ovf_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	uint32_t hw = 0;
	int h = -ENOENT;

	(void)f;
	for (uint32_t i = 0; i < svc->ndests; i++) {
		const struct xlb_snap_dest *d = &svc->dests[i];
		uint32_t w = xlb_dest_weight(d);

		if (w == 0 || xlb_dest_active(d) > w || xlb_sched_dest_overloaded(d))
			continue;
		if (h < 0 || w > hw) {
			h = (int)i;
			hw = w;
		}
	}
	return h;
}

const struct xlb_sched xlb_sched_ovf = {
	.name = "ovf",
	.desc = "overflow: the highest-weight server until its active connections exceed its weight, then the next",
	.schedule = ovf_schedule,
};
