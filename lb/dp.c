// SPDX-License-Identifier: GPL-2.0
/*
 * The datapath's packet path: the worker loop (one per queue index).
 *
 * Per packet a worker parses, finds the service in the published snapshot,
 * finds or creates the connection entry (the scheduler runs only for a new
 * flow), and calls the transmit function bound in the entry: the method
 * is chosen once per connection, as IPVS binds cp->packet_xmit. The next
 * hop (egress port, MACs, MTU, tunnel source) is read again per packet
 * from the next-hop cache, starting at the slot the entry remembers, so
 * established flows follow MAC, gateway and route changes. No allocation,
 * lock (beyond the entry's bucket stripe) or syscall per packet; the TX
 * kick is per batch.
 *
 * What the control thread does on a commit is in dp_commit.c; setup,
 * teardown and housekeeping in dp_setup.c.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dp-int.h"
#include "hash.h"
#include "log.h"
#include "nexthop.h"
#include "pkt.h"
#include "ring.h"
#include "sched.h"
#include "sync.h"
#include "tables.h"
#include "xmit.h"
#include "../bpf/xlb_shared.h"

/* ---- scheduling a new flow (under the entry's bucket lock) ---- */

struct sched_ctx {
	struct xlb_dp *dp;
	const struct xlb_snap *snap;
	const struct xlb_snap_svc *svc;
	const struct xlb_pkt *p;	/* the packet that starts the flow */
	/* The next hop dp_sched found for it (also when it refused the
	 * packet as too big): the packet goes out with it, not looked up
	 * again. */
	struct xlb_xmit_bind ib;
	int port;
	/* Persistence (dp_persist_pick): the client's template once found,
	 * and whether this call chooses the server of a new template. */
	const struct xlb_conn_view *tmpl;
	bool for_tmpl;
};

static xlb_xmit_fn xmit_for(uint8_t fwd, uint8_t af)
{
	if (af == AF_INET6) {
		switch (fwd) {
		case XLB_FWD_NAT:
			return xlb_xmit_nat6_in;
		case XLB_FWD_TUN:
			return xlb_xmit_tun6;
		default:
			return xlb_xmit_dr;
		}
	}
	switch (fwd) {
	case XLB_FWD_NAT:
		return xlb_xmit_nat_in;
	case XLB_FWD_TUN:
		return xlb_xmit_tun;
	default:
		return xlb_xmit_dr;
	}
}

/*
 * The real-server half of an entry's binding, from the RIP's next hop of
 * now. DR needs the real server on-link: through a gateway, the frame
 * (still addressed to the VIP) would come back to the director.
 *
 * This is the IPv6 form (RIP rip6): the next-hop cache's IPv6 table (the
 * commit wants every IPv6 real server), starting at *slot as IPv4 does.
 * Pending (no NDP answer yet) is -EAGAIN: dropped and counted, never sent
 * to a guessed MAC. IPv4's dp_in_bind follows.
 */
static int dp_in_bind6(struct xlb_dp *dp, const struct dp_bind *b,
		       const struct xlb_conn_key *orig, const union xlb_inaddr *rip6,
		       uint32_t *slot, struct xlb_xmit_bind *ib, int *port)
{
	struct xlb_nh6 nh;
	int rc;

	rc = xlb_nh_lookup6_at(dp->nh, &rip6->in6, slot, &nh);
	if (rc == -EAGAIN)
		return -EAGAIN;
	if (rc < 0)
		return -ENETUNREACH;
	if (b->fwd == XLB_FWD_DR && !IN6_IS_ADDR_UNSPECIFIED(&nh.gw))
		return -ELOOP;
	*port = dp_port(dp, nh.ifindex);
	if (*port < 0)
		return -ENXIO;
	*ib = (struct xlb_xmit_bind){
		.ifindex = nh.ifindex,
		.rport = b->rport,
		.vport = orig->dport,
		.ttl = XLB_TUN_TTL_DEFAULT,
		.mtu = nh.mtu > 0xffff ? 0xffff : (uint16_t)nh.mtu,
		.rip6 = *rip6,
		.vip6 = orig->daddr6,
	};
	ib->dip6.in6 = nh.src;
	memcpy(ib->smac, nh.smac, 6);
	memcpy(ib->dmac, nh.dmac, 6);
	return 0;
}

static int dp_in_bind(struct xlb_dp *dp, const struct dp_bind *b,
		      const struct xlb_conn_key *orig, uint32_t *slot,
		      struct xlb_xmit_bind *ib, int *port)
{
	struct xlb_nh nh;
	int rc;

	rc = xlb_nh_lookup_at(dp->nh, b->rip, slot, &nh);
	if (rc == -EAGAIN)
		return -EAGAIN;
	if (rc < 0)
		return -ENETUNREACH;
	if (b->fwd == XLB_FWD_DR && nh.gw)
		return -ELOOP;
	*port = dp_port(dp, nh.ifindex);
	if (*port < 0)
		return -ENXIO;
	*ib = (struct xlb_xmit_bind){
		.ifindex = nh.ifindex,
		.rip = b->rip,
		.rport = b->rport,
		.vip = orig->daddr,
		.vport = orig->dport,
		.dip = nh.src,
		.ttl = XLB_TUN_TTL_DEFAULT,
		.mtu = nh.mtu > 0xffff ? 0xffff : (uint16_t)nh.mtu,
	};
	memcpy(ib->smac, nh.smac, 6);
	memcpy(ib->dmac, nh.dmac, 6);
	return 0;
}

int xlb_dp_in_nexthop(struct xlb_dp *dp, const struct xlb_conn_view *v,
		      struct xlb_xmit_bind *ib, int *port)
{
	const struct dp_bind *b = (const struct dp_bind *)v->bind;
	uint32_t slot = b->in_slot;

	if (xlb_conn_key_is6(&v->orig))
		return dp_in_bind6(dp, b, &v->orig, &v->reply.saddr6, &slot, ib, port);
	return dp_in_bind(dp, b, &v->orig, &slot, ib, port);
}

/* The entry's binding to real server d: the method and the server, never
 * its next hop (read again per packet). The scheduler's second half, and
 * what an entry adopted from the previous xlbd is rebound with: no hint
 * yet, any stale slot or hint is safe. */
void xlb_dp_bind(const struct xlb_snap_dest *d, struct xlb_conn_target *t)
{
	struct dp_bind *b = (struct dp_bind *)t->bind;

	memset(b, 0, sizeof(*b));
	b->xmit = xmit_for(d->cfg.fwd, d->cfg.af);
	b->rip = d->cfg.addr.ip;
	b->rport = d->cfg.port;
	b->fwd = d->cfg.fwd;
	b->in_slot = UINT32_MAX;

	t->dest = d->cnt;
	t->daddr = d->cfg.addr.ip;
	t->dport = d->cfg.port;
	t->fwd = d->cfg.fwd;
	if (d->cfg.af == AF_INET6) {
		/* The RIP lives in the entry's reply tuple (16 bytes); dp_bind
		 * keeps only its fold. */
		t->daddr6 = d->cfg.addr;
		t->daddr = xlb_inaddr_fold(AF_INET6, &d->cfg.addr);
		b->rip = t->daddr;
	}
}

/*
 * Persistence, before any scheduler (IPVS's ip_vs_sched_persist): a new
 * connection of a persistent service goes to its client's template's
 * server. The first call has no template yet and defers (xlb_conn_in()
 * returns -EINPROGRESS, dp_persist_in() finds or makes the template and
 * comes back); a template is made by scheduling its port-0 tuple as usual.
 * *d is the server, or NULL to schedule as usual: also when the template's
 * server is no longer this service's (a race with a delete; the template
 * is re-bound at its next use).
 */
static int dp_persist_pick(const struct sched_ctx *c, const struct xlb_snap_dest **d)
{
	const struct xlb_snap_svc *svc = c->svc;
	int idx;

	*d = NULL;
	if (!(svc->cfg.flags & XLB_SVC_F_PERSISTENT) || c->for_tmpl)
		return 0;
	if (!c->tmpl)
		return XLB_CONN_SCHED_DEFER;
	idx = xlb_conn_key_is6(&c->tmpl->reply) ?
	      xlb_snap_find_dest_af(svc, AF_INET6, &c->tmpl->reply.saddr6,
				    c->tmpl->reply.sport) :
	      xlb_snap_find_dest(svc, c->tmpl->reply.saddr, c->tmpl->reply.sport);
	/* A template never sends a new connection to a server that failed
	 * its checks, to the sorry server, or anywhere while the service is
	 * below quorum: the client is scheduled afresh (and the template
	 * re-bound), as keepalived's removal of a failed server does. */
	if (idx >= 0 && svc->dests[idx].cnt == c->tmpl->dest &&
	    !svc->dests[idx].down && !svc->dests[idx].sorry &&
	    !xlb_snap_below_quorum(svc))
		*d = &svc->dests[idx];
	return 0;
}

static int dp_sched(void *arg, const struct xlb_conn_key *k,
		    struct xlb_conn_target *t)
{
	struct sched_ctx *c = arg;
	const struct xlb_snap_svc *svc = c->svc;
	struct dp_bind *b = (struct dp_bind *)t->bind;
	const struct xlb_snap_dest *d;
	struct xlb_nh onh;
	int idx, rc;
	struct xlb_sched_flow f = {
		.saddr = k->saddr, .daddr = k->daddr, .sport = k->sport,
		.dport = k->dport, .proto = k->proto, .seed = c->snap->seed,
		.ip_id = c->p->ip_id,
	};

	if (xlb_conn_key_is6(k))
		xlb_sched_flow_set6(&f, &k->saddr6, &k->daddr6);
	rc = dp_persist_pick(c, &d);
	if (rc)
		return rc;
	if (d)
		goto bind;
	/* Below quorum, or no server up: the sorry server, or refused. */
	idx = xlb_snap_below_quorum(svc) ? -1 : xlb_sched_schedule(svc, &f);
	if (idx < 0)
		idx = xlb_snap_fallback(svc);
	if (idx < 0)
		return -EHOSTUNREACH;
	d = &svc->dests[idx];
bind:
	xlb_dp_bind(d, t);
	if (c->for_tmpl)
		return 0;	/* a template binds the server only */
	/* A flow whose real server cannot be reached now gets no entry. */
	if (xlb_conn_key_is6(k)) {
		rc = dp_in_bind6(c->dp, b, k, &t->daddr6, &b->in_slot, &c->ib, &c->port);
		if (rc < 0)
			return rc;
		/* IPv6 is never fragmented on the way: a packet that does
		 * not fit gets "Packet Too Big" (dp_too_big). */
		if (d->cfg.fwd == XLB_FWD_TUN && xlb_xmit_tun6_check(c->p, c->ib.mtu) < 0)
			return -EMSGSIZE;
		/* NAT66: ask for the client's next hop now, so that it is
		 * resolved by the time the server answers. */
		if (d->cfg.fwd == XLB_FWD_NAT) {
			struct xlb_nh6 onh6;

			b->out.slot = UINT32_MAX;
			(void)xlb_nh_lookup_host6(c->dp->nh, &k->saddr6.in6, &b->out.slot, &onh6);
		}
		return 0;
	}
	rc = dp_in_bind(c->dp, b, k, &b->in_slot, &c->ib, &c->port);
	if (rc < 0)
		return rc;
	/* Nor does a packet TUN cannot send at all (DF set and too big once
	 * encapsulated): the client learns the MTU from our frag-needed and
	 * starts again smaller. */
	if (d->cfg.fwd == XLB_FWD_TUN && xlb_xmit_tun_nfrags(c->p, c->ib.mtu) < 0)
		return -EMSGSIZE;
	if (d->cfg.fwd == XLB_FWD_NAT)
		(void)xlb_nh_lookup_route_at(c->dp->nh, k->saddr, &b->out, &onh);
	return 0;
}

/* Connection-table callbacks: the entry holds a reference on its real
 * server's counters from creation (+1 in a column) to free (-1). */
void xlb_dp_on_count(void *arg, const void *dest, int d_active, int d_inactive)
{
	struct xlb_cnt *c = (struct xlb_cnt *)dest;

	(void)arg;
	if (d_active)
		atomic_fetch_add(&c->activeconns, (unsigned int)d_active);
	if (d_inactive)
		atomic_fetch_add(&c->inactconns, (unsigned int)d_inactive);
	if (d_active + d_inactive > 0)
		xlb_cnt_get(c);
	else if (d_active + d_inactive < 0)
		xlb_cnt_put(c);
}

/* A persistence template holds a reference too, counted as PersistConn
 * (IPVS's persistconns) rather than as a connection. */
void xlb_dp_on_persist(void *arg, const void *dest, int delta)
{
	struct xlb_cnt *c = (struct xlb_cnt *)dest;

	(void)arg;
	atomic_fetch_add(&c->persistconns, (unsigned int)delta);
	if (delta > 0)
		xlb_cnt_get(c);
	else if (delta < 0)
		xlb_cnt_put(c);
}

bool xlb_dp_dest_alive(void *arg, const void *dest)
{
	(void)arg;
	return !atomic_load(&((const struct xlb_cnt *)dest)->deleted);
}

bool xlb_dp_dest_down(void *arg, const void *dest)
{
	(void)arg;
	return atomic_load_explicit(&((const struct xlb_cnt *)dest)->down, memory_order_relaxed);
}

/* ---- per packet ---- */

struct dp_pkt {
	struct xlb_xsk_desc *d;
	struct xlb_frame f;
	struct xlb_pkt p;
};

static inline void count(struct dp_worker *w, enum xlb_dp_cnt c)
{
	w->cnt[c]++;
}

static inline const struct xlb_snap_svc *
dp_find_svc(struct dp_worker *w, const struct xlb_snap *snap, uint8_t proto,
	    uint32_t addr, uint16_t port)
{
	struct dp_svc_cache *c = &w->sc;

	if (c->valid && c->addr == addr && c->port == port && c->proto == proto)
		return c->svc;
	c->svc = xlb_snap_find(snap, proto, addr, port);
	c->addr = addr;
	c->port = port;
	c->proto = proto;
	c->valid = true;
	return c->svc;
}

/* IPv6 services: no per-batch cache (IPv4's is keyed by 32 bits). */
static const struct xlb_snap_svc *dp_find_svc6(const struct xlb_snap *snap, uint8_t proto,
					       const union xlb_inaddr *addr, uint16_t port)
{
	struct xlb_svc_key key = { .addr = *addr, .port = port, .proto = proto,
				   .af = AF_INET6 };

	return xlb_snap_find_key(snap, &key);
}

/* The service of entry orig (client -> VIP:vport), either family. */
static inline const struct xlb_snap_svc *dp_find_svc_of(struct dp_worker *w,
							const struct xlb_snap *snap,
							const struct xlb_conn_key *orig)
{
	if (xlb_conn_key_is6(orig))
		return dp_find_svc6(snap, orig->proto, &orig->daddr6, orig->dport);
	return dp_find_svc(w, snap, orig->proto, orig->daddr, orig->dport);
}

static void dp_tx(struct dp_worker *w, struct dp_pkt *k, int port)
{
	/* The frame may have grown at the front (TUN). */
	uint64_t addr = k->d->addr - (uint64_t)(k->d->data - k->f.data);

	xlb_xsk_tx(w->xw, port, addr, k->f.len);
	count(w, XLB_DP_TX);
}

static void count_in(struct dp_worker *w, const struct xlb_snap_svc *svc,
		     struct xlb_cnt *dest, const struct xlb_pkt *p, bool created)
{
	XLB_CNT_ADD(svc->cnt, w->id, inpkts, 1);
	XLB_CNT_ADD(svc->cnt, w->id, inbytes, p->ip_len);
	XLB_CNT_ADD(dest, w->id, inpkts, 1);
	XLB_CNT_ADD(dest, w->id, inbytes, p->ip_len);
	if (created) {
		XLB_CNT_ADD(svc->cnt, w->id, conns, 1);
		XLB_CNT_ADD(dest, w->id, conns, 1);
	}
}

static void count_out(struct dp_worker *w, const struct xlb_snap *snap,
		      const struct xlb_conn_view *v, const struct xlb_pkt *p)
{
	const struct xlb_snap_svc *svc;
	struct xlb_cnt *dest = (struct xlb_cnt *)v->dest;

	XLB_CNT_ADD(dest, w->id, outpkts, 1);
	XLB_CNT_ADD(dest, w->id, outbytes, p->ip_len);
	svc = dp_find_svc_of(w, snap, &v->orig);
	if (svc) {
		XLB_CNT_ADD(svc->cnt, w->id, outpkts, 1);
		XLB_CNT_ADD(svc->cnt, w->id, outbytes, p->ip_len);
	}
}

/* TUN over the egress MTU with DF set: tell the client, as IPVS does,
 * at most as often as the kernel's global ICMP limit allows (spoofed
 * sources must not turn the director into a reflector). */
static bool dp_frag_needed(struct dp_worker *w, struct dp_pkt *k,
			   uint16_t mtu, uint64_t now)
{
	uint8_t buf[18 + 1280];	/* IPv6's Packet Too Big is up to 1280 bytes */
	int n;

	/* The limit first: a flood over it costs no reply built in vain. */
	if (!xlb_icmp_limit_allow(&w->icmp_limit, now)) {
		count(w, XLB_DP_DROP_ICMP_RATELIMIT);
		return false;
	}
	/* IPv6 (any method; TUN6 reports the room inside the tunnel): from
	 * the VIP, as IPv4's. */
	if (k->p.af == AF_INET6)
		n = xlb_icmp6_pkt_too_big(buf, sizeof(buf), k->f.data, &k->p,
					  &k->p.daddr6, mtu);
	else
		n = xlb_icmp_frag_needed(buf, sizeof(buf), k->f.data, &k->p,
					 k->p.daddr, mtu);
	if (n < 0 || (uint32_t)n > k->f.len + k->f.tailroom) {
		count(w, XLB_DP_DROP_TOO_BIG);
		return false;
	}
	memcpy(k->f.data, buf, (size_t)n);
	k->f.len = (uint32_t)n;
	dp_tx(w, k, k->d->port);
	count(w, XLB_DP_FRAG_NEEDED);
	return true;
}

/* TUN over the egress MTU with DF clear: outer fragments, the first in
 * the received frame, the others in spare frames of the worker's pool, all
 * on the real server's port in order. The outer id is the worker's,
 * interleaved with the other workers' so that no two datagrams to a real
 * server share one until the 16 bits wrap. */
static bool dp_tun_frag(struct dp_worker *w, struct dp_pkt *k,
			const struct xlb_xmit_bind *ib, int port)
{
	uint8_t *out[XLB_TUN_FRAG_MAX - 1];
	uint64_t addr[XLB_TUN_FRAG_MAX - 1];
	uint32_t len[XLB_TUN_FRAG_MAX - 1], cap = 0;
	uint16_t id;
	int n, got, i;

	n = xlb_xmit_tun_nfrags(&k->p, ib->mtu);
	if (n < 2) {
		count(w, XLB_DP_DROP_TOO_BIG);
		return false;
	}
	for (got = 0; got < n - 1; got++)
		if (!(out[got] = xlb_xsk_alloc(w->xw, &addr[got], &cap)))
			break;
	if (got < n - 1) {
		count(w, XLB_DP_DROP_TUN_FRAG_NO_FRAME);
		goto drop;
	}
	id = (uint16_t)(w->tun_frag_id++ * (unsigned int)w->dp->n_workers +
			(unsigned int)w->id);
	if (xlb_xmit_tun_frag(&k->f, &k->p, ib, id, out, len,
			      (uint32_t)got, cap) != n) {
		count(w, XLB_DP_DROP_XMIT);
		goto drop;
	}
	dp_tx(w, k, port);
	for (i = 0; i < got; i++) {
		xlb_xsk_tx(w->xw, port, addr[i], len[i]);
		count(w, XLB_DP_TX);
	}
	count(w, XLB_DP_TUN_FRAGMENTED);
	return true;
drop:
	for (i = 0; i < got; i++)
		xlb_xsk_drop(w->xw, addr[i]);
	return false;
}

/* Connection sync, master only: a record for the sync thread, nothing
 * more (sync.h). */
static inline void dp_sync_push(struct dp_worker *w, const struct xlb_conn_view *v,
				uint32_t timeout_s)
{
	struct xlb_sync_ring *r = __atomic_load_n(&w->sync_ring, __ATOMIC_ACQUIRE);
	struct xlb_sync_rec rec;

	/* Sync records are IPv4 (IPVS's v0 format): IPv6 entries are not
	 * synced. */
	if (!r || xlb_conn_key_is6(&v->orig))
		return;
	xlb_sync_rec_of(&rec, v, timeout_s);
	xlb_sync_ring_push(r, &rec);
}

static int sched_error(int rc)
{
	switch (rc) {
	case -EMSGSIZE:
		return XLB_DP_DROP_TOO_BIG;
	case -ENOSPC:
		return XLB_DP_DROP_CONN_FULL;
	case -EAGAIN:
		return XLB_DP_DROP_NEIGH;
	case -ENXIO:
		return XLB_DP_DROP_NO_PORT;
	case -ELOOP:
		return XLB_DP_DROP_DR_GATEWAY;
	default:
		return XLB_DP_DROP_NO_DEST;
	}
}

/* The template of flow key's client (masked) for service sc->svc, found or
 * made, with a reference for one connection (xlb_conn_tmpl_get). */
static int dp_persist_tmpl(struct xlb_dp *dp, struct sched_ctx *sc,
			   const struct xlb_conn_key *key, uint64_t now,
			   struct xlb_conn_view *tv, uint32_t *ref)
{
	struct xlb_conn_key tk = {
		.saddr = key->saddr & sc->svc->cfg.netmask,
		.daddr = key->daddr, .dport = sc->svc->cfg.key.port,
		.proto = key->proto,
	};
	int rc;

	if (xlb_conn_key_is6(key)) {
		union xlb_inaddr m = xlb_persist_mask(AF_INET6, &key->saddr6,
						      sc->svc->cfg.netmask);

		xlb_conn_key_set6(&tk, &m, &key->daddr6);
	}

	sc->for_tmpl = true;
	rc = xlb_conn_tmpl_get(dp->conns, &tk, sc->svc->cfg.timeout, now, dp_sched, sc,
			       tv, ref);
	sc->for_tmpl = false;
	return rc < 0 ? rc : 0;
}

/* A new connection of a persistent service, after xlb_conn_in() deferred:
 * made controlled by its client's template. */
static int dp_persist_in(struct dp_worker *w, struct sched_ctx *sc,
			 const struct xlb_conn_key *key, uint8_t tcp_flags, uint64_t now,
			 struct xlb_conn_view *v)
{
	struct xlb_conn_view tv;
	uint32_t ref;
	int rc;

	rc = dp_persist_tmpl(w->dp, sc, key, now, &tv, &ref);
	if (rc < 0)
		return rc;
	if (tv.created)
		dp_sync_push(w, &tv, sc->svc->cfg.timeout);
	sc->tmpl = &tv;
	rc = xlb_conn_in_tmpl(w->dp->conns, key, tcp_flags, now, dp_sched, sc, ref, v);
	sc->tmpl = NULL;
	return rc;
}

/*
 * One-packet scheduling (-o, IP_VS_SVC_F_ONEPACKET) of a UDP datagram:
 * scheduled on its own, no entry kept. A persistent service still has its
 * templates (their clock restarts with each datagram). Fills *v as a new
 * entry would be and returns 1, or a negative errno as xlb_conn_in().
 */
static int dp_onepacket(struct dp_worker *w, struct sched_ctx *sc,
			const struct xlb_conn_key *key, uint64_t now,
			struct xlb_conn_view *v)
{
	struct xlb_conn_target tg;
	struct xlb_conn_view tv;
	uint32_t ref = 0;
	int rc;

	if (sc->svc->cfg.flags & XLB_SVC_F_PERSISTENT) {
		rc = dp_persist_tmpl(w->dp, sc, key, now, &tv, &ref);
		if (rc < 0)
			return rc;
		sc->tmpl = &tv;
	}
	memset(&tg, 0, sizeof(tg));
	rc = dp_sched(sc, key, &tg);
	sc->tmpl = NULL;
	xlb_conn_tmpl_put(w->dp->conns, ref, now);
	if (rc < 0)
		return rc;
	memset(v, 0, sizeof(*v));
	v->dest = tg.dest;
	v->orig = *key;
	v->fwd = tg.fwd;
	v->created = true;
	memcpy(v->bind, tg.bind, sizeof(v->bind));
	xlb_conn_count_onepacket(w->dp->conns);
	return 1;
}

/* Client -> VIP. Returns true when the frame was queued for TX. */
static bool dp_in(struct dp_worker *w, const struct xlb_snap *snap,
		  const struct xlb_snap_svc *svc, struct dp_pkt *k, uint64_t now)
{
	struct sched_ctx sc = { .dp = w->dp, .snap = snap, .svc = svc, .p = &k->p };
	struct xlb_conn_key key = {
		.saddr = k->p.saddr, .daddr = k->p.daddr,
		.sport = k->p.sport, .dport = k->p.dport, .proto = k->p.proto,
	};
	struct xlb_conn_view v;
	struct xlb_xmit_bind ib;
	const struct dp_bind *b;
	uint32_t slot;
	bool created, v6 = k->p.af == AF_INET6;
	int rc, port;

	if (v6)
		xlb_conn_key_set6(&key, &k->p.saddr6, &k->p.daddr6);

	if ((svc->cfg.flags & XLB_SVC_F_ONEPACKET) && key.proto == IPPROTO_UDP) {
		rc = dp_onepacket(w, &sc, &key, now, &v);
	} else {
		rc = xlb_conn_in(w->dp->conns, &key, k->p.tcp_flags, now, dp_sched, &sc, &v);
		if (rc == -EINPROGRESS)
			rc = dp_persist_in(w, &sc, &key, k->p.tcp_flags, now, &v);
	}
	if (rc == -EMSGSIZE && (k->p.df || v6))
		return dp_frag_needed(w, k, sc.ib.mtu, now);
	if (rc < 0) {
		count(w, sched_error(rc));
		return false;
	}
	created = rc == 1;
	/* A one-packet datagram made no entry: nothing to sync. */
	if ((created || v.changed) && !((svc->cfg.flags & XLB_SVC_F_ONEPACKET) &&
					 key.proto == IPPROTO_UDP))
		dp_sync_push(w, &v, 0);
	b = (const struct dp_bind *)v.bind;
	if (created) {
		ib = sc.ib;
		port = sc.port;
	} else {
		slot = b->in_slot;
		rc = v6 ? dp_in_bind6(w->dp, b, &v.orig, &v.reply.saddr6, &slot, &ib, &port) :
			  dp_in_bind(w->dp, b, &v.orig, &slot, &ib, &port);
		if (rc < 0) {
			count(w, sched_error(rc));
			return false;
		}
	}
	rc = b->xmit(&k->f, &k->p, &ib);
	if (rc == -EMSGSIZE) {
		/* An entry made by a smaller packet, or one whose path MTU
		 * shrank since. IPv6 is never fragmented on the way. */
		if (k->p.df || v6)
			return dp_frag_needed(w, k, ib.mtu, now);
		if (v.fwd != XLB_FWD_TUN) {
			count(w, XLB_DP_DROP_TOO_BIG);
			return false;
		}
		if (!dp_tun_frag(w, k, &ib, port))
			return false;
	} else if (rc < 0) {
		count(w, XLB_DP_DROP_XMIT);
		return false;
	} else {
		dp_tx(w, k, port);
		/* A one-packet service schedules every datagram: none of its
		 * flows may be decided once for XDP. */
		if (w->dp->fp_on && !(svc->cfg.flags & XLB_SVC_F_ONEPACKET))
			xlb_dp_fp_in(w, svc->cnt, &v, &k->p, &ib);
	}
	/* Counted as IPVS does: what went to the real server. */
	count_in(w, svc, (struct xlb_cnt *)v.dest, &k->p, created);
	return true;
}

/* The client-side half of a NAT entry's binding: the next hop towards the
 * client of now (the neighbour the entry found, while no route changed;
 * else a new longest-prefix lookup). */
static int dp_out_bind(struct xlb_dp *dp, const struct xlb_conn_view *v,
		       struct xlb_xmit_bind *ob, int *port)
{
	const struct dp_bind *b = (const struct dp_bind *)v->bind;
	struct xlb_nh_hint h = b->out;
	struct xlb_nh onh;

	memset(ob, 0, sizeof(*ob));
	ob->vip = v->orig.daddr;
	ob->vport = v->orig.dport;
	ob->rip = v->reply.saddr;
	ob->rport = v->reply.sport;
	if (xlb_conn_key_is6(&v->orig)) {
		uint32_t slot = h.slot;
		struct xlb_nh6 nh6;

		/* The client itself is the cache's key (a "host" entry the
		 * control thread resolves with the kernel's routes on the
		 * first ask): the IPv6 table keeps no copy of the routes. */
		ob->vip6 = v->orig.daddr6;
		ob->rip6 = v->reply.saddr6;
		if (xlb_nh_lookup_host6(dp->nh, &v->orig.saddr6.in6, &slot, &nh6) < 0)
			return -EAGAIN;
		*port = dp_port(dp, nh6.ifindex);
		if (*port < 0)
			return -ENXIO;
		ob->ifindex = nh6.ifindex;
		ob->mtu = nh6.mtu > 0xffff ? 0xffff : (uint16_t)nh6.mtu;
		memcpy(ob->smac, nh6.smac, 6);
		memcpy(ob->dmac, nh6.dmac, 6);
		return 0;
	}
	if (xlb_nh_lookup_route_at(dp->nh, v->orig.saddr, &h, &onh) < 0)
		return -EAGAIN;
	*port = dp_port(dp, onh.ifindex);
	if (*port < 0)
		return -ENXIO;
	ob->ifindex = onh.ifindex;
	ob->mtu = onh.mtu > 0xffff ? 0xffff : (uint16_t)onh.mtu;
	memcpy(ob->smac, onh.smac, 6);
	memcpy(ob->dmac, onh.dmac, 6);
	return 0;
}

int xlb_dp_out_nexthop(struct xlb_dp *dp, const struct xlb_conn_view *v,
		       struct xlb_xmit_bind *ob, int *port)
{
	return dp_out_bind(dp, v, ob, port);
}

/* RS -> client reply of a NAT connection. */
static bool dp_out(struct dp_worker *w, const struct xlb_snap *snap,
		   struct dp_pkt *k, uint64_t now)
{
	struct xlb_conn_key key = {
		.saddr = k->p.saddr, .daddr = k->p.daddr,
		.sport = k->p.sport, .dport = k->p.dport, .proto = k->p.proto,
	};
	struct xlb_xmit_bind ob;
	struct xlb_conn_view v;
	bool v6 = k->p.af == AF_INET6;
	int port, rc;

	if (v6)
		xlb_conn_key_set6(&key, &k->p.saddr6, &k->p.daddr6);
	if (xlb_conn_out(w->dp->conns, &key, k->p.tcp_flags, now, &v) < 0) {
		count(w, XLB_DP_DROP_NO_SERVICE);
		return false;
	}
	if (v.changed)
		dp_sync_push(w, &v, 0);
	rc = dp_out_bind(w->dp, &v, &ob, &port);
	if (rc < 0) {
		count(w, sched_error(rc));
		return false;
	}
	if ((v6 ? xlb_xmit_nat6_out(&k->f, &k->p, &ob) :
		  xlb_xmit_nat_out(&k->f, &k->p, &ob)) < 0) {
		count(w, XLB_DP_DROP_XMIT);
		return false;
	}
	count_out(w, snap, &v, &k->p);
	count(w, XLB_DP_NAT_REPLIES);
	dp_tx(w, k, port);
	if (w->dp->fp_on) {
		const struct xlb_snap_svc *svc = dp_find_svc_of(w, snap, &v.orig);

		if (svc)
			xlb_dp_fp_out(w, svc->cnt, &v, &k->p, &ob, port);
	}
	return true;
}

/*
 * ICMP errors about a tracked flow. Two kinds reach us:
 *  - about a packet the VIP sent (inner source = VIP:vport): it belongs to
 *    the real server of the flow client -> VIP, so it goes there, the way
 *    the flow's own packets go (DR / TUN as they are; NAT translated);
 *  - about a packet sent to a NAT real server (inner destination =
 *    RIP:rport), on its way from the RS (or the path) to the client:
 *    translated back to the VIP and sent towards the client.
 */
static bool dp_icmp(struct dp_worker *w, const struct xlb_snap *snap,
		    struct dp_pkt *k, uint64_t now)
{
	const struct xlb_pkt *p = &k->p;
	struct xlb_conn_key key = {
		.saddr = p->inner_daddr, .daddr = p->inner_saddr,
		.sport = p->inner_dport, .dport = p->inner_sport,
		.proto = p->inner_proto,
	};
	struct xlb_conn_view v;
	bool v6 = p->af == AF_INET6;
	int rc;

	if ((p->inner_proto != IPPROTO_TCP && p->inner_proto != IPPROTO_UDP) ||
	    p->inner_frag_nonfirst)
		goto unknown;
	if (v6)
		xlb_conn_key_set6(&key, &p->inner_daddr6, &p->inner_saddr6);

	if ((v6 ? dp_find_svc6(snap, p->inner_proto, &p->inner_saddr6, p->inner_sport) :
		  dp_find_svc(w, snap, p->inner_proto, p->inner_saddr, p->inner_sport)) &&
	    xlb_conn_get(w->dp->conns, &key, XLB_CONN_DIR_INPUT, now, &v) == 0) {
		const struct dp_bind *b = (const struct dp_bind *)v.bind;
		struct xlb_xmit_bind ib;
		uint32_t slot = b->in_slot;
		int port;

		rc = v6 ? dp_in_bind6(w->dp, b, &v.orig, &v.reply.saddr6, &slot, &ib, &port) :
			  dp_in_bind(w->dp, b, &v.orig, &slot, &ib, &port);
		if (rc < 0) {
			count(w, sched_error(rc));
			return false;
		}
		if (v.fwd == XLB_FWD_NAT)
			rc = v6 ? xlb_xmit_nat6_icmp_in(&k->f, &k->p, &ib) :
				  xlb_xmit_nat_icmp_in(&k->f, &k->p, &ib);
		else
			rc = b->xmit(&k->f, &k->p, &ib);
		if (rc < 0) {
			count(w, XLB_DP_DROP_XMIT);
			return false;
		}
		count(w, XLB_DP_ICMP_FWD);
		dp_tx(w, k, port);
		return true;
	}

	/* The same key is the NAT entry's reply tuple, RIP:rport -> client. */
	if (xlb_conn_get(w->dp->conns, &key, XLB_CONN_DIR_OUTPUT, now, &v) == 0 &&
	    v.fwd == XLB_FWD_NAT) {
		struct xlb_xmit_bind ob;
		int port;

		rc = dp_out_bind(w->dp, &v, &ob, &port);
		if (rc < 0) {
			count(w, sched_error(rc));
			return false;
		}
		if ((v6 ? xlb_xmit_nat6_icmp_out(&k->f, &k->p, &ob) :
			  xlb_xmit_nat_icmp_out(&k->f, &k->p, &ob)) < 0) {
			count(w, XLB_DP_DROP_XMIT);
			return false;
		}
		count(w, XLB_DP_ICMP_FWD);
		dp_tx(w, k, port);
		return true;
	}
unknown:
	count(w, XLB_DP_DROP_ICMP);
	return false;
}

/* IPv6, past the checks both families share. ND, RA, echo and the other
 * informational ICMPv6 are the kernel's: the steering program passes
 * them, so one that gets here is dropped and counted. */
static __attribute__((noinline)) bool dp_packet6(struct dp_worker *w,
						 const struct xlb_snap *snap,
						 struct dp_pkt *k, uint64_t now)
{
	const struct xlb_snap_svc *svc;

	if (k->p.proto == IPPROTO_TCP || k->p.proto == IPPROTO_UDP) {
		svc = dp_find_svc6(snap, k->p.proto, &k->p.daddr6, k->p.dport);
		if (svc)
			return dp_in(w, snap, svc, k, now);
		return dp_out(w, snap, k, now);
	}
	if (k->p.proto == IPPROTO_ICMPV6 && k->p.icmp_err && !xlb_pkt_icmp6_for_kernel(&k->p))
		return dp_icmp(w, snap, k, now);
	count(w, XLB_DP_DROP_NO_SERVICE);
	return false;
}

static bool dp_packet(struct dp_worker *w, const struct xlb_snap *snap,
		      struct xlb_xsk_desc *d, uint64_t now)
{
	struct dp_pkt k = {
		.d = d,
		.f = { .data = d->data, .len = d->len,
		       .headroom = d->headroom, .tailroom = d->tailroom },
	};
	const struct xlb_snap_svc *svc;
	int rc;

	rc = xlb_pkt_parse_dual(d->data, d->len, &k.p);
	if (rc != XLB_PKT_OK) {
		if (rc == XLB_PKT_E_FRAG || rc == XLB_PKT_E_IP6_FRAG) {
			w->parse_drops[-rc]++;
			count(w, XLB_DP_DROP_FRAGMENT);
		} else if (rc < 0 && -rc < XLB_PKT_ERR_COUNT) {
			w->parse_drops[-rc]++;
			count(w, XLB_DP_DROP_MALFORMED);
		} else
			count(w, XLB_DP_DROP_NO_SERVICE);
		return false;
	}
	if (k.p.ttl == 0) {
		count(w, XLB_DP_DROP_TTL);
		return false;
	}
	/* The steering program passes 802.1Q frames to the kernel: nothing
	 * here knows which L2 domain a next hop is in, so a tagged frame
	 * could not be kept in its own. One that gets here anyway (an older
	 * program) is dropped before it can make an entry. */
	if (k.p.has_vlan) {
		count(w, XLB_DP_DROP_VLAN);
		return false;
	}
	if (__builtin_expect(k.p.af == AF_INET6, 0))
		return dp_packet6(w, snap, &k, now);
	if (k.p.proto == IPPROTO_TCP || k.p.proto == IPPROTO_UDP) {
		svc = dp_find_svc(w, snap, k.p.proto, k.p.daddr, k.p.dport);
		if (svc)
			return dp_in(w, snap, svc, &k, now);
		return dp_out(w, snap, &k, now);
	}
	if (k.p.proto == IPPROTO_ICMP && k.p.icmp_err)
		return dp_icmp(w, snap, &k, now);
	count(w, XLB_DP_DROP_NO_SERVICE);
	return false;
}

/*
 * Connection tables past this many entries no longer fit in the caches:
 * the batch's bucket heads and locks are then prefetched before the first
 * packet is looked up, so their misses overlap instead of adding up. Below
 * it the extra hashing costs more than the misses it hides.
 */
#define DP_PREFETCH_MIN_CONNS	32768

/* The client -> VIP or reply tuple of a plain IPv4 TCP/UDP frame without
 * the full parse (anything else is simply not prefetched). */
static void dp_prefetch_one(struct dp_worker *w, const struct xlb_snap *snap,
			    const struct xlb_xsk_desc *d)
{
	const uint8_t *b = d->data;
	struct xlb_conn_key k;
	uint8_t proto;

	if (d->len < 14 + 20 + 8 || b[12] != 0x08 || b[13] != 0x00 || b[14] != 0x45)
		return;
	proto = b[14 + 9];
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return;
	memcpy(&k.saddr, b + 14 + 12, 4);
	memcpy(&k.daddr, b + 14 + 16, 4);
	memcpy(&k.sport, b + 14 + 20, 2);
	memcpy(&k.dport, b + 14 + 22, 2);
	k.proto = proto;
	xlb_conn_prefetch(w->dp->conns, &k,
			  dp_find_svc(w, snap, proto, k.daddr, k.dport) ?
			  XLB_CONN_DIR_INPUT : XLB_CONN_DIR_OUTPUT);
}

void *xlb_dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct xlb_dp *dp = w->dp;
	struct xlb_xsk_desc descs[XLB_XSK_BATCH];
	int idle = 0;

	xlb_icmp_limit_init(&w->icmp_limit, XLB_ICMP_RATE_DEFAULT,
			    XLB_ICMP_BURST_DEFAULT, now_ms());

	while (!atomic_load_explicit(&dp->stop, memory_order_relaxed)) {
		const struct xlb_snap *snap;
		uint32_t n, i;
		uint64_t now;

		__atomic_store_n(&w->beat, w->beat + 1, __ATOMIC_RELAXED);
		n = xlb_xsk_rx(w->xw, descs, XLB_XSK_BATCH);
		if (n == 0) {
			xlb_xsk_flush(w->xw);
			xlb_tables_quiescent(dp->tables, w->reader);
			/* Spin a little, then sleep in poll() offline so the
			 * control thread can reclaim snapshots meanwhile. */
			if (++idle > 64) {
				xlb_tables_reader_offline(dp->tables, w->reader);
				xlb_xsk_wait(w->xw, 100);
				xlb_tables_reader_online(dp->tables, w->reader);
			}
			continue;
		}
		idle = 0;
		w->cnt[XLB_DP_RX] += n;
		/* Entries this worker removes become sync removal records. */
		xlb_dp_sync_thread_ring(__atomic_load_n(&w->sync_ring, __ATOMIC_ACQUIRE));
		now = now_ms();
		snap = xlb_tables_snap(dp->tables);
		w->sc.valid = false;
		if (n > 1 && xlb_conn_count(dp->conns) >= DP_PREFETCH_MIN_CONNS)
			for (i = 0; i < n; i++)
				dp_prefetch_one(w, snap, &descs[i]);
		for (i = 0; i < n; i++)
			if (!dp_packet(w, snap, &descs[i], now))
				xlb_xsk_drop(w->xw, descs[i].addr);
		xlb_xsk_flush(w->xw);
		xlb_tables_quiescent(dp->tables, w->reader);
	}
	return NULL;
}

unsigned int xlb_dp_worker_beats(const struct xlb_dp *dp, uint64_t *out, unsigned int max)
{
	unsigned int n = dp && dp->workers ? (unsigned int)dp->n_workers : 0;

	for (unsigned int i = 0; i < n && i < max; i++)
		out[i] = __atomic_load_n(&dp->workers[i].beat, __ATOMIC_RELAXED);
	return n < max ? n : max;
}
