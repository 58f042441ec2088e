// SPDX-License-Identifier: GPL-2.0
/*
 * wlc: weighted least connection (IPVS's ip_vs_wlc.c, IPVS's default):
 * the least overhead per unit of weight, compared as IPVS does without a
 * division (loh * dw > doh * lw: d is less loaded), the first on ties.
 */
#include "sched.h"

int xlb_sched_wlc_pick(const struct xlb_snap_svc *svc)
{
	return xlb_sched_least(svc, xlb_dest_overhead, true);
}

static int wlc_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	(void)f;
	return xlb_sched_wlc_pick(svc);
}

const struct xlb_sched xlb_sched_wlc = {
	.name = "wlc",
	.desc = "weighted least connection: fewest connections per unit of weight (IPVS's default)",
	.schedule = wlc_schedule,
};
