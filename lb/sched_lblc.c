// SPDX-License-Identifier: GPL-2.0
/*
 * lblc: locality-based least connection (IPVS's ip_vs_lblc.c). A table
 * maps a destination address to the server last chosen for it; that
 * server keeps the destination while it is available and not overloaded
 * in IPVS's sense (more active connections than its weight while another
 * server has less than half its weight active); else wlc chooses again
 * and the entry is updated. Entries unused for 24 hours (IPVS's
 * lblc_expiration default) are forgotten.
 *
 * The table is the service's mutable state: 1024 entries (IPVS's default
 * table size), direct-mapped by destination; each entry has a one-byte
 * spin lock held for a few loads and stores, so several workers use it at
 * once. Entries name servers by (address, port), never by index, so they
 * stay right across snapshot swaps.
 */
#include <arpa/inet.h>
#include <time.h>
#include "sched.h"

#define LBLC_TAB_BITS	10
#define LBLC_EXPIRE_S	(24 * 3600)

struct lblc_ent {
	atomic_flag lock;
	bool used;
	uint16_t rport;
	uint8_t  raf;		/* the server's family */
	union xlb_inaddr daddr;	/* the flow's destination, either family */
	union xlb_inaddr rip;
	uint32_t lastuse;	/* monotonic seconds */
};

struct lblc_state {
	struct lblc_ent e[1u << LBLC_TAB_BITS];
};

uint32_t xlb_sched_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

/* IPVS's is_overloaded() of lblc and lblcr. */
bool xlb_sched_lblc_overloaded(const struct xlb_snap_svc *svc, const struct xlb_snap_dest *d)
{
	if (xlb_dest_active(d) <= xlb_dest_weight(d))
		return false;
	for (uint32_t i = 0; i < svc->ndests; i++)
		if ((uint64_t)xlb_dest_active(&svc->dests[i]) * 2 <
		    xlb_dest_weight(&svc->dests[i]))
			return true;
	return false;
}

static void lblc_init(void *p)
{
	struct lblc_state *st = p;

	for (size_t i = 0; i < sizeof(st->e) / sizeof(st->e[0]); i++)
		atomic_flag_clear(&st->e[i].lock);
}

static int lblc_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	struct lblc_state *st = (struct lblc_state *)svc->sched_state->priv;
	struct lblc_ent *e = &st->e[xlb_sched_hash_32(ntohl(f->daddr), LBLC_TAB_BITS)];
	union xlb_inaddr fd = xlb_sched_flow_daddr(f), rip = { .ip6 = { 0 } };
	uint32_t now = xlb_sched_now_s();
	uint16_t rport = 0;
	uint8_t raf = 0;
	bool hit = false;
	int idx;

	while (atomic_flag_test_and_set_explicit(&e->lock, memory_order_acquire))
		;
	if (e->used && xlb_inaddr_eq(&e->daddr, &fd) && now - e->lastuse <= LBLC_EXPIRE_S) {
		hit = true;
		rip = e->rip;
		raf = e->raf;
		rport = e->rport;
		e->lastuse = now;
	}
	atomic_flag_clear_explicit(&e->lock, memory_order_release);
	if (hit) {
		idx = xlb_snap_find_dest_af(svc, raf, &rip, rport);
		if (idx >= 0 && !xlb_sched_dest_unavailable(&svc->dests[idx]) &&
		    !xlb_sched_lblc_overloaded(svc, &svc->dests[idx]))
			return idx;
	}
	idx = xlb_sched_wlc_pick(svc);
	if (idx < 0)
		return idx;
	while (atomic_flag_test_and_set_explicit(&e->lock, memory_order_acquire))
		;
	e->used = true;
	e->daddr = fd;
	e->rip = svc->dests[idx].cfg.addr;
	e->raf = svc->dests[idx].cfg.af;
	e->rport = svc->dests[idx].cfg.port;
	e->lastuse = now;
	atomic_flag_clear_explicit(&e->lock, memory_order_release);
	return idx;
}

const struct xlb_sched xlb_sched_lblc = {
	.name = "lblc",
	.desc = "locality-based least connection: a destination keeps its server unless it is overloaded, then wlc",
	.state_size = sizeof(struct lblc_state),
	.init = lblc_init,
	.schedule = lblc_schedule,
};
