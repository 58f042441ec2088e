// SPDX-License-Identifier: GPL-2.0
/*
 * sed: shortest expected delay (IPVS's ip_vs_sed.c): the least
 * (active + 1) / weight, inactive connections not counted.
 */
#include "sched.h"

static int sed_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	uint64_t loh = 0;
	int least = -ENOENT;

	(void)f;
	for (uint32_t i = 0; i < svc->ndests; i++) {
		const struct xlb_snap_dest *d = &svc->dests[i];
		uint64_t doh;

		if (xlb_sched_dest_unavailable(d))
			continue;
		doh = (uint64_t)xlb_dest_active(d) + 1;
		if (least < 0 || loh * xlb_dest_weight(d) >
				 doh * xlb_dest_weight(&svc->dests[least])) {
			least = (int)i;
			loh = doh;
		}
	}
	return least;
}

const struct xlb_sched xlb_sched_sed = {
	.name = "sed",
	.desc = "shortest expected delay: the least (active connections + 1) / weight",
	.schedule = sed_schedule,
};
