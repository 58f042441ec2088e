// SPDX-License-Identifier: GPL-2.0
/*
 * nq: never queue (IPVS's ip_vs_nq.c): the first idle server (no active
 * connection) if there is one, else the least (active + 1) / weight.
 */
#include "sched.h"

static int nq_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	(void)f;
	for (uint32_t i = 0; i < svc->ndests; i++) {
		const struct xlb_snap_dest *d = &svc->dests[i];

		if (!xlb_sched_dest_unavailable(d) && xlb_dest_active(d) == 0)
			return (int)i;
	}
	/* No idle server: as sed. */
	return xlb_sched_least(svc, xlb_dest_active_plus1, true);
}

const struct xlb_sched xlb_sched_nq = {
	.name = "nq",
	.desc = "never queue: an idle server if there is one, else as sed",
	.schedule = nq_schedule,
};
