// SPDX-License-Identifier: GPL-2.0
/*
 * The datapath's side of connection sync (sync.h): the workers' rings and
 * the binding of a synced entry to this director's own tables.
 */
#include <errno.h>

#include "dp-int.h"
#include "sync.h"
#include "tables.h"

struct xlb_conn_tab *xlb_dp_conns(struct xlb_dp *dp)
{
	return dp->conns;
}

int xlb_dp_n_workers(const struct xlb_dp *dp)
{
	return dp->n_workers;
}

/* The ring of the thread that runs: a worker's own (set per batch), the
 * control thread's, or none. */
static __thread struct xlb_sync_ring *dp_thread_ring;

void xlb_dp_sync_thread_ring(struct xlb_sync_ring *r)
{
	dp_thread_ring = r;
}

void xlb_dp_on_release(void *arg, const struct xlb_conn_key *orig, uint8_t fwd,
		       uint8_t state, bool tmpl)
{
	struct xlb_sync_ring *r = dp_thread_ring;
	struct xlb_sync_rec rec;

	(void)arg;
	/* Sync records are IPv4 (IPVS's v0 format): IPv6 entries are not
	 * synced. */
	if (!r || xlb_conn_key_is6(orig))
		return;
	rec = (struct xlb_sync_rec){
		.op = XLB_SYNC_OP_REMOVE, .proto = orig->proto, .fwd = fwd, .state = state,
		.flags = tmpl ? XLB_SYNC_F_TEMPLATE : 0,
		.caddr = orig->saddr, .cport = orig->sport,
		.vaddr = orig->daddr, .vport = orig->dport,
	};
	xlb_sync_ring_push(r, &rec);
}

void xlb_dp_set_sync_ring(struct xlb_dp *dp, int i, struct xlb_sync_ring *r)
{
	if (i >= 0 && i < dp->n_workers)
		__atomic_store_n(&dp->workers[i].sync_ring, r, __ATOMIC_RELEASE);
}

int xlb_dp_sync_bind(const struct xlb_snap *snap, uint8_t proto, uint32_t vaddr,
		     uint16_t vport, uint32_t raddr, uint16_t rport, uint8_t fwd,
		     bool tmpl, struct xlb_conn_target *t)
{
	const struct xlb_snap_svc *svc = xlb_snap_find(snap, proto, vaddr, vport);
	int idx;

	if (!svc)
		return -ENOENT;
	if (tmpl && !(svc->cfg.flags & XLB_SVC_F_PERSISTENT))
		return -ENOENT;
	idx = xlb_snap_find_dest(svc, raddr, rport);
	if (idx < 0)
		return -ENOENT;
	if (svc->dests[idx].cfg.fwd != fwd)
		return -ESTALE;
	xlb_dp_bind(&svc->dests[idx], t);
	return 0;
}
