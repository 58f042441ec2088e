// SPDX-License-Identifier: GPL-2.0
/*
 * lc: least connection (IPVS's ip_vs_lc.c): the available server with the
 * least overhead (active * 256 + inactive connections of this director),
 * the first one on ties.
 */
#include "sched.h"

static int lc_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	(void)f;
	return xlb_sched_least(svc, xlb_dest_overhead, false);
}

const struct xlb_sched xlb_sched_lc = {
	.name = "lc",
	.desc = "least connection: the server with the fewest connections (active x 256 + inactive)",
	.schedule = lc_schedule,
};
