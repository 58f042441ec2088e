// SPDX-License-Identifier: GPL-2.0
/*
 * lc: least connection (IPVS's ip_vs_lc.c): the available server with the
 * least overhead (active * 256 + inactive connections of this director),
 * the first one on ties.
 */
#include "sched.h"

static int lc_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	uint64_t loh = 0;
	int least = -ENOENT;

	(void)f;
	for (uint32_t i = 0; i < svc->ndests; i++) {
		const struct xlb_snap_dest *d = &svc->dests[i];
		uint64_t doh;

		if (xlb_sched_dest_unavailable(d))
			continue;
		doh = xlb_dest_overhead(d);
		if (least < 0 || doh < loh) {
			least = (int)i;
			loh = doh;
		}
	}
	return least;
}

const struct xlb_sched xlb_sched_lc = {
	.name = "lc",
	.desc = "least connection: the server with the fewest connections (active x 256 + inactive)",
	.schedule = lc_schedule,
};
