// SPDX-License-Identifier: GPL-2.0
/*
 * sed: shortest expected delay (IPVS's ip_vs_sed.c): the least
 * (active + 1) / weight, inactive connections not counted.
 */
#include "sched.h"

static int sed_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	(void)f;
	return xlb_sched_least(svc, xlb_dest_active_plus1, true);
}

const struct xlb_sched xlb_sched_sed = {
	.name = "sed",
	.desc = "shortest expected delay: the least (active connections + 1) / weight",
	.schedule = sed_schedule,
};
