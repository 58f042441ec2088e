// SPDX-License-Identifier: GPL-2.0
/*
 * lblcr: locality-based least connection with replication (IPVS's
 * ip_vs_lblcr.c). Each destination address maps to a set of servers; the
 * least loaded of the set (overhead / weight) takes the flow unless it is
 * overloaded in IPVS's sense, in which case wlc picks a server that joins
 * the set. A set that has not changed for 24 hours (IPVS's
 * lblcr_expiration) drops its most loaded member. Same table layout and
 * locking as lblc; a set holds at most 8 servers (the oldest gives way).
 */
#include <arpa/inet.h>
#include "sched.h"

#define LBLCR_TAB_BITS	10
#define LBLCR_EXPIRE_S	(24 * 3600)
#define LBLCR_SET_MAX	8

struct lblcr_ent {
	atomic_flag lock;
	bool used;
	uint8_t n;
	uint8_t raf;		/* the servers' family (the service's) */
	union xlb_inaddr daddr;	/* the flow's destination, either family */
	uint32_t lastuse;
	uint32_t lastmod;
	union xlb_inaddr rip[LBLCR_SET_MAX];
	uint16_t rport[LBLCR_SET_MAX];
};

struct lblcr_state {
	struct lblcr_ent e[1u << LBLCR_TAB_BITS];
};

static void lblcr_init(void *p)
{
	struct lblcr_state *st = p;

	for (size_t i = 0; i < sizeof(st->e) / sizeof(st->e[0]); i++)
		atomic_flag_clear(&st->e[i].lock);
}

static bool less_loaded(const struct xlb_snap_dest *d, uint64_t doh,
			const struct xlb_snap_dest *l, uint64_t loh)
{
	return (unsigned __int128)loh * xlb_dest_weight(d) >
	       (unsigned __int128)doh * xlb_dest_weight(l);
}

static void lock(struct lblcr_ent *e)
{
	while (atomic_flag_test_and_set_explicit(&e->lock, memory_order_acquire))
		;
}

static void unlock(struct lblcr_ent *e)
{
	atomic_flag_clear_explicit(&e->lock, memory_order_release);
}

static int lblcr_schedule(const struct xlb_snap_svc *svc, const struct xlb_sched_flow *f)
{
	struct lblcr_state *st = (struct lblcr_state *)svc->sched_state->priv;
	struct lblcr_ent *e = &st->e[xlb_sched_hash_32(ntohl(f->daddr), LBLCR_TAB_BITS)];
	union xlb_inaddr fd = xlb_sched_flow_daddr(f);
	uint32_t now = xlb_sched_now_s();
	int idx[LBLCR_SET_MAX], n = 0, least = -1, most = -1;
	uint64_t loh = 0, moh = 0;

	lock(e);
	if (e->used && xlb_inaddr_eq(&e->daddr, &fd) && now - e->lastuse <= LBLCR_EXPIRE_S) {
		e->lastuse = now;
		for (int i = 0; i < e->n; i++)
			idx[n++] = xlb_snap_find_dest_af(svc, e->raf, &e->rip[i], e->rport[i]);
	} else {
		e->used = false;
	}
	unlock(e);
	/* ip_vs_dest_set_min() and _max() */
	for (int i = 0; i < n; i++) {
		const struct xlb_snap_dest *d;
		uint64_t doh;

		if (idx[i] < 0)
			continue;
		d = &svc->dests[idx[i]];
		doh = xlb_dest_overhead(d);
		if (most < 0 || less_loaded(&svc->dests[most], moh, d, doh)) {
			most = idx[i];
			moh = doh;
		}
		if (xlb_sched_dest_unavailable(d))
			continue;
		if (least < 0 || less_loaded(d, doh, &svc->dests[least], loh)) {
			least = idx[i];
			loh = doh;
		}
	}
	lock(e);
	if (e->used && xlb_inaddr_eq(&e->daddr, &fd) && e->n > 1 && most >= 0 &&
	    now - e->lastmod > LBLCR_EXPIRE_S) {
		for (int i = 0; i < e->n; i++) {
			if (xlb_inaddr_eq(&e->rip[i], &svc->dests[most].cfg.addr) &&
			    e->rport[i] == svc->dests[most].cfg.port) {
				e->rip[i] = e->rip[e->n - 1];
				e->rport[i] = e->rport[e->n - 1];
				e->n--;
				e->lastmod = now;
				break;
			}
		}
	}
	unlock(e);
	if (least >= 0 && !xlb_sched_lblc_overloaded(svc, &svc->dests[least]))
		return least;
	least = xlb_sched_wlc_pick(svc);
	if (least < 0)
		return least;
	lock(e);
	if (!e->used || !xlb_inaddr_eq(&e->daddr, &fd)) {
		e->used = true;
		e->daddr = fd;
		e->raf = svc->dests[least].cfg.af;
		e->n = 0;
		e->lastuse = now;
	}
	{
		union xlb_inaddr rip = svc->dests[least].cfg.addr;
		uint16_t rport = svc->dests[least].cfg.port;
		int i;

		for (i = 0; i < e->n; i++)
			if (xlb_inaddr_eq(&e->rip[i], &rip) && e->rport[i] == rport)
				break;
		if (i == e->n) {
			if (e->n == LBLCR_SET_MAX) {
				for (int k = 1; k < e->n; k++) {
					e->rip[k - 1] = e->rip[k];
					e->rport[k - 1] = e->rport[k];
				}
				e->n--;
			}
			e->rip[e->n] = rip;
			e->rport[e->n] = rport;
			e->n++;
			e->lastmod = now;
		}
	}
	unlock(e);
	return least;
}

const struct xlb_sched xlb_sched_lblcr = {
	.name = "lblcr",
	.desc = "locality-based least connection with replication: a destination has a set of servers, the least loaded serves",
	.state_size = sizeof(struct lblcr_state),
	.init = lblcr_init,
	.schedule = lblcr_schedule,
};
