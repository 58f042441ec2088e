// SPDX-License-Identifier: GPL-2.0
/*
 * rr: round robin (IPVS's ip_vs_rr.c). One atomic cursor per service,
 * shared by every worker, so the rotation is exact across workers: n new
 * flows over n available servers give one each. Unavailable servers
 * (weight 0, overloaded) are skipped, as IPVS skips them.
 */
#include "sched.h"

struct rr_state {
	_Atomic uint32_t cursor;
};

static int rr_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	struct rr_state *st = (struct rr_state *)svc->sched_state->priv;
	uint32_t n = svc->ndests;
	uint32_t start = atomic_fetch_add_explicit(&st->cursor, 1, memory_order_relaxed) % n;

	(void)f;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = start + i < n ? start + i : start + i - n;

		if (!xlb_sched_dest_unavailable(&svc->dests[j]))
			return (int)j;
	}
	return -ENOENT;
}

const struct xlb_sched xlb_sched_rr = {
	.name = "rr",
	.desc = "round robin: each new connection to the next server in turn",
	.state_size = sizeof(struct rr_state),
	.schedule = rr_schedule,
};
