// SPDX-License-Identifier: GPL-2.0
/*
 * wrr: weighted round robin (IPVS's ip_vs_wrr.c). The current weight cw
 * starts at the largest weight mw and steps down by the gcd of the weights
 * di each time the cursor wraps; a server is chosen while its weight is at
 * least cw. Weights 1:2:3 give the sequence c, b c, a b c: exactly 1:2:3.
 * update precomputes mw and di; the cursor and cw are one 64-bit word
 * (cursor + 1 in the high half, 0 = before the first server; cw in the
 * low half) advanced with compare-and-swap, so several workers follow one
 * sequence.
 */
#include <stdlib.h>
#include "sched.h"

struct wrr_data {
	uint32_t mw;		/* max weight (- (di - 1), as IPVS) */
	uint32_t di;		/* gcd of the weights > 0 */
};

struct wrr_state {
	_Atomic uint64_t mark;	/* (cl + 1) << 32 | cw */
};

static int wrr_update(const struct xlb_sched_conf *c, void **data, uint64_t *cost)
{
	struct wrr_data *d = calloc(1, sizeof(*d));
	uint32_t g, mw;

	if (!d)
		return -ENOMEM;
	g = xlb_sched_weights_gcd(c->dests, c->n, &mw);
	d->di = g ? g : 1;
	d->mw = mw ? mw - (d->di - 1) : 0;
	*data = d;
	*cost = 1;
	return 0;
}

static int wrr_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	const struct wrr_data *d = svc->sched_data;
	struct wrr_state *st = (struct wrr_state *)svc->sched_state->priv;
	uint32_t n = svc->ndests;
	uint64_t old = atomic_load_explicit(&st->mark, memory_order_relaxed);
	int found = -ENOENT;

	(void)f;
	if (!d->mw)
		return -ENOENT;
	for (unsigned int tries = 0; tries < 64; tries++) {
		int64_t cl = (int64_t)(old >> 32) - 1;
		int64_t cw = (int64_t)(uint32_t)old;
		/* Every (cursor, cw) pair once, and one pass more: then none. */
		uint64_t steps = ((uint64_t)d->mw / d->di + 2) * (n + 1);

		found = -ENOENT;
		if (cl >= (int64_t)n || cw > d->mw || cw <= 0) {
			cl = -1;
			cw = d->mw;
		}
		while (steps--) {
			if (++cl == (int64_t)n) {
				cl = -1;
				cw -= d->di;
				if (cw <= 0)
					cw = d->mw;
				continue;
			}
			const struct xlb_snap_dest *dd = &svc->dests[cl];

			if (xlb_dest_weight(dd) >= (uint64_t)cw && !xlb_sched_dest_overloaded(dd)) {
				found = (int)cl;
				break;
			}
		}
		if (found < 0)
			return -ENOENT;
		uint64_t nw = ((uint64_t)(cl + 1) << 32) | (uint32_t)cw;

		if (atomic_compare_exchange_weak_explicit(&st->mark, &old, nw,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return found;
	}
	/* Contended beyond reason: the last choice is still a good one. */
	return found;
}

static void wrr_free(void *d)
{
	free(d);
}

const struct xlb_sched xlb_sched_wrr = {
	.name = "wrr",
	.desc = "weighted round robin: servers in turn, each in proportion to its weight",
	.state_size = sizeof(struct wrr_state),
	.update = wrr_update,
	.free_data = wrr_free,
	.schedule = wrr_schedule,
};
