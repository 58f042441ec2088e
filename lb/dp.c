// SPDX-License-Identifier: GPL-2.0
/*
 * The datapath: setup and teardown, the commit hook that keeps the XDP
 * maps, next hops and connection table in step with the configuration,
 * and the worker loop.
 *
 * Per packet a worker parses, finds the service in the published snapshot,
 * finds or creates the connection entry (the scheduler runs only for a new
 * flow), and calls the transmit function bound in the entry: the method,
 * egress port and MACs are chosen once per connection, as IPVS binds
 * cp->packet_xmit. No allocation, lock (beyond the entry's bucket stripe)
 * or syscall per packet; the TX kick is per batch.
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

#include "conn.h"
#include "dp.h"
#include "hash.h"
#include "log.h"
#include "nexthop.h"
#include "pkt.h"
#include "ring.h"
#include "tables.h"
#include "xmit.h"
#include "../bpf/xlb_shared.h"

const char *const xlb_dp_cnt_names[XLB_DP_CNT_MAX] = {
	[XLB_DP_RX]		= "rx",
	[XLB_DP_TX]		= "tx",
	[XLB_DP_NAT_REPLIES]	= "nat_replies",
	[XLB_DP_ICMP_FWD]	= "icmp_errors_forwarded",
	[XLB_DP_FRAG_NEEDED]	= "frag_needed_sent",
	[XLB_DP_DROP_MALFORMED]	= "drop_malformed",
	[XLB_DP_DROP_FRAGMENT]	= "drop_fragment",
	[XLB_DP_DROP_TTL]	= "drop_ttl_zero",
	[XLB_DP_DROP_NO_SERVICE] = "drop_no_service",
	[XLB_DP_DROP_NO_DEST]	= "drop_no_real_server",
	[XLB_DP_DROP_NEIGH]	= "drop_neigh_pending",
	[XLB_DP_DROP_NO_PORT]	= "drop_egress_not_served",
	[XLB_DP_DROP_CONN_FULL]	= "drop_conn_table_full",
	[XLB_DP_DROP_ICMP]	= "drop_icmp_unknown_flow",
	[XLB_DP_DROP_TOO_BIG]	= "drop_too_big",
	[XLB_DP_DROP_XMIT]	= "drop_xmit_error",
	[XLB_DP_DROP_VLAN]	= "drop_vlan_other_egress",
};

/* Parse classes, by -error (lb/pkt.h), as `malformed NAME` counters. */
static const char *const parse_names[XLB_PKT_ERR_COUNT] = {
	[-XLB_PKT_E_ETH_TRUNC]		= "eth_trunc",
	[-XLB_PKT_E_VLAN_TRUNC]		= "vlan_trunc",
	[-XLB_PKT_E_IP_TRUNC]		= "ip_trunc",
	[-XLB_PKT_E_IP_VERSION]		= "ip_version",
	[-XLB_PKT_E_IHL_SHORT]		= "ihl_short",
	[-XLB_PKT_E_IHL_TRUNC]		= "ihl_trunc",
	[-XLB_PKT_E_TOTLEN_TRUNC]	= "totlen_trunc",
	[-XLB_PKT_E_TOTLEN_SHORT]	= "totlen_short",
	[-XLB_PKT_E_FRAG]		= "frag",
	[-XLB_PKT_E_TCP_TRUNC]		= "tcp_trunc",
	[-XLB_PKT_E_TCP_DOFF_SHORT]	= "tcp_doff_short",
	[-XLB_PKT_E_TCP_DOFF_TRUNC]	= "tcp_doff_trunc",
	[-XLB_PKT_E_UDP_TRUNC]		= "udp_trunc",
	[-XLB_PKT_E_UDP_LEN_SHORT]	= "udp_len_short",
	[-XLB_PKT_E_UDP_LEN_LONG]	= "udp_len_long",
	[-XLB_PKT_E_ICMP_TRUNC]		= "icmp_trunc",
	[-XLB_PKT_E_ICMP_INNER_TRUNC]	= "icmp_inner_trunc",
	[-XLB_PKT_E_ICMP_INNER_BAD]	= "icmp_inner_bad",
};

/* What a connection entry binds at creation (its opaque bind blob). */
struct dp_bind {
	struct xlb_xmit_bind in;	/* towards the real server */
	xlb_xmit_fn xmit;		/* DR, NAT in or TUN: bound once */
	uint8_t out_dmac[6];		/* NAT: next hop towards the client */
	int8_t  in_port;		/* xsk port index towards the RS */
	int8_t  out_port;		/* towards the client; -1: unresolved */
};
_Static_assert(sizeof(struct dp_bind) <= XLB_CONN_BIND_SIZE,
	       "dp_bind must fit in a connection entry");

/* The last service lookup of a batch: a batch's packets mostly go to one
 * VIP (or are replies of one service), so most lookups skip the snapshot's
 * binary search. Valid for one batch only: a snapshot's address may be
 * reused by a later one. */
struct dp_svc_cache {
	bool valid;
	uint8_t proto;
	uint16_t port;			/* network order */
	uint32_t addr;			/* network order */
	const struct xlb_snap_svc *svc;	/* NULL: no such service */
};

struct dp_worker {
	struct xlb_dp *dp;
	struct xlb_xsk_worker *xw;
	int id;
	int reader;
	pthread_t thread;
	bool started;
	struct dp_svc_cache sc;
	uint64_t cnt[XLB_DP_CNT_MAX];
	uint64_t parse_drops[XLB_PKT_ERR_COUNT];
} __attribute__((aligned(64)));

struct xlb_dp {
	struct xlb_tables *tables;
	struct xlb_xdp *xdp;
	struct xlb_xsk *xsk;
	struct xlb_conn_tab *conns;
	struct xlb_nh_cache *nh;
	int n_ports;
	int ifindex[XLB_XSK_MAX_IFACES];
	uint8_t mac[XLB_XSK_MAX_IFACES][6];	/* each port's own MAC */
	int n_workers;
	struct dp_worker *workers;
	atomic_bool stop;
	/* Control thread: what the last commit made us hold. */
	uint32_t *wanted;		/* next hops (RIPs), sorted */
	size_t n_wanted;
	struct xlb_cnt **dests;		/* real servers' counters, sorted */
	size_t n_dests;
	uint32_t expire_budget;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int dp_port(const struct xlb_dp *dp, int ifindex)
{
	for (int i = 0; i < dp->n_ports; i++)
		if (dp->ifindex[i] == ifindex)
			return i;
	return -1;
}

/* ---- scheduling a new flow (under the entry's bucket lock) ---- */

struct sched_ctx {
	struct xlb_dp *dp;
	const struct xlb_snap *snap;
	const struct xlb_snap_svc *svc;
};

static xlb_xmit_fn xmit_for(uint8_t fwd)
{
	switch (fwd) {
	case XLB_FWD_NAT:
		return xlb_xmit_nat_in;
	case XLB_FWD_TUN:
		return xlb_xmit_tun;
	default:
		return xlb_xmit_dr;
	}
}

static int dp_sched(void *arg, const struct xlb_conn_key *k,
		    struct xlb_conn_target *t)
{
	struct sched_ctx *c = arg;
	const struct xlb_snap_svc *svc = c->svc;
	struct dp_bind *b = (struct dp_bind *)t->bind;
	const struct xlb_snap_dest *d;
	struct xlb_nh nh, onh;
	uint32_t hash;
	int idx, port, rc;

	if (svc->cfg.flags & XLB_SVC_F_PERSISTENT)
		hash = xlb_hash_addr(k->saddr & svc->cfg.netmask, c->snap->seed);
	else
		hash = xlb_hash_flow(k->saddr, k->daddr, k->sport, k->dport,
				     k->proto, c->snap->seed);
	idx = xlb_ring_lookup(svc->ring, hash);
	if (idx < 0)
		return -EHOSTUNREACH;
	d = &svc->dests[idx];

	rc = xlb_nh_lookup(c->dp->nh, d->cfg.addr, &nh);
	if (rc == -EAGAIN)
		return -EAGAIN;
	if (rc < 0)
		return -ENETUNREACH;
	port = dp_port(c->dp, nh.ifindex);
	if (port < 0)
		return -ENXIO;

	memset(b, 0, sizeof(*b));
	b->in.ifindex = nh.ifindex;
	memcpy(b->in.smac, nh.smac, 6);
	memcpy(b->in.dmac, nh.dmac, 6);
	b->in.rip = d->cfg.addr;
	b->in.rport = d->cfg.port;
	b->in.vip = k->daddr;
	b->in.vport = k->dport;
	b->in.dip = nh.src;
	b->in.ttl = XLB_TUN_TTL_DEFAULT;
	b->in.mtu = nh.mtu > 0xffff ? 0xffff : (uint16_t)nh.mtu;
	b->xmit = xmit_for(d->cfg.fwd);
	b->in_port = (int8_t)port;
	b->out_port = -1;
	if (d->cfg.fwd == XLB_FWD_NAT &&
	    xlb_nh_lookup_route(c->dp->nh, k->saddr, &onh) == 0 &&
	    (port = dp_port(c->dp, onh.ifindex)) >= 0) {
		memcpy(b->out_dmac, onh.dmac, 6);
		b->out_port = (int8_t)port;
	}

	t->dest = d->cnt;
	t->daddr = d->cfg.addr;
	t->dport = d->cfg.port;
	t->fwd = d->cfg.fwd;
	return 0;
}

/* Connection-table callbacks: the entry holds a reference on its real
 * server's counters from creation (+1 in a column) to free (-1). */
static void dp_on_count(void *arg, const void *dest, int d_active, int d_inactive)
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

static bool dp_dest_alive(void *arg, const void *dest)
{
	(void)arg;
	return !atomic_load(&((const struct xlb_cnt *)dest)->deleted);
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
	svc = dp_find_svc(w, snap, v->orig.proto, v->orig.daddr, v->orig.dport);
	if (svc) {
		XLB_CNT_ADD(svc->cnt, w->id, outpkts, 1);
		XLB_CNT_ADD(svc->cnt, w->id, outbytes, p->ip_len);
	}
}

/* TUN over the egress MTU with DF set: tell the client, as IPVS does. */
static bool dp_frag_needed(struct dp_worker *w, struct dp_pkt *k,
			   const struct dp_bind *b)
{
	uint8_t buf[256];
	int n;

	n = xlb_icmp_frag_needed(buf, sizeof(buf), k->f.data, &k->p,
				 k->p.daddr, b->in.mtu);
	if (n < 0 || (uint32_t)n > k->f.len + k->f.tailroom)
		return false;
	memcpy(k->f.data, buf, (size_t)n);
	k->f.len = (uint32_t)n;
	dp_tx(w, k, k->d->port);
	count(w, XLB_DP_FRAG_NEEDED);
	return true;
}

static int sched_error(int rc)
{
	switch (rc) {
	case -ENOSPC:
		return XLB_DP_DROP_CONN_FULL;
	case -EAGAIN:
		return XLB_DP_DROP_NEIGH;
	case -ENXIO:
		return XLB_DP_DROP_NO_PORT;
	default:
		return XLB_DP_DROP_NO_DEST;
	}
}

/* Client -> VIP. Returns true when the frame was queued for TX. */
static bool dp_in(struct dp_worker *w, const struct xlb_snap *snap,
		  const struct xlb_snap_svc *svc, struct dp_pkt *k, uint64_t now)
{
	struct sched_ctx sc = { .dp = w->dp, .snap = snap, .svc = svc };
	struct xlb_conn_key key = {
		.saddr = k->p.saddr, .daddr = k->p.daddr,
		.sport = k->p.sport, .dport = k->p.dport, .proto = k->p.proto,
	};
	struct xlb_conn_view v;
	const struct dp_bind *b;
	bool created;
	int rc;

	rc = xlb_conn_in(w->dp->conns, &key, k->p.tcp_flags, now, dp_sched, &sc, &v);
	if (rc < 0) {
		count(w, sched_error(rc));
		return false;
	}
	b = (const struct dp_bind *)v.bind;
	if (k->p.has_vlan && b->in_port != k->d->port) {
		count(w, XLB_DP_DROP_VLAN);
		return false;
	}
	created = rc == 1;
	rc = b->xmit(&k->f, &k->p, &b->in);
	if (rc == -EMSGSIZE) {
		if (k->p.df && dp_frag_needed(w, k, b))
			return true;
		count(w, XLB_DP_DROP_TOO_BIG);
		return false;
	}
	if (rc < 0) {
		count(w, XLB_DP_DROP_XMIT);
		return false;
	}
	/* Counted as IPVS does: what went to the real server. */
	count_in(w, svc, (struct xlb_cnt *)v.dest, &k->p, created);
	dp_tx(w, k, b->in_port);
	return true;
}

/* The client-side half of a NAT entry's binding, resolved late if the
 * client's next hop was unknown when the flow began. */
static int dp_out_bind(struct dp_worker *w, const struct xlb_conn_view *v,
		       struct xlb_xmit_bind *ob, int *port)
{
	const struct dp_bind *b = (const struct dp_bind *)v->bind;
	struct xlb_nh onh;

	memset(ob, 0, sizeof(*ob));
	ob->vip = v->orig.daddr;
	ob->vport = v->orig.dport;
	ob->rip = v->reply.saddr;
	ob->rport = v->reply.sport;
	if (b->out_port >= 0) {
		memcpy(ob->smac, w->dp->mac[b->out_port], 6);
		memcpy(ob->dmac, b->out_dmac, 6);
		*port = b->out_port;
		return 0;
	}
	if (xlb_nh_lookup_route(w->dp->nh, v->orig.saddr, &onh) < 0)
		return -EAGAIN;
	*port = dp_port(w->dp, onh.ifindex);
	if (*port < 0)
		return -ENXIO;
	memcpy(ob->smac, onh.smac, 6);
	memcpy(ob->dmac, onh.dmac, 6);
	return 0;
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
	int port, rc;

	if (xlb_conn_out(w->dp->conns, &key, k->p.tcp_flags, now, &v) < 0) {
		count(w, XLB_DP_DROP_NO_SERVICE);
		return false;
	}
	rc = dp_out_bind(w, &v, &ob, &port);
	if (rc < 0) {
		count(w, sched_error(rc));
		return false;
	}
	if (k->p.has_vlan && port != k->d->port) {
		count(w, XLB_DP_DROP_VLAN);
		return false;
	}
	if (xlb_xmit_nat_out(&k->f, &k->p, &ob) < 0) {
		count(w, XLB_DP_DROP_XMIT);
		return false;
	}
	count_out(w, snap, &v, &k->p);
	count(w, XLB_DP_NAT_REPLIES);
	dp_tx(w, k, port);
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
	int rc;

	if ((p->inner_proto != IPPROTO_TCP && p->inner_proto != IPPROTO_UDP) ||
	    p->inner_frag_nonfirst)
		goto unknown;

	if (dp_find_svc(w, snap, p->inner_proto, p->inner_saddr, p->inner_sport) &&
	    xlb_conn_get(w->dp->conns, &key, XLB_CONN_DIR_INPUT, now, &v) == 0) {
		const struct dp_bind *b = (const struct dp_bind *)v.bind;

		if (v.fwd == XLB_FWD_NAT)
			rc = xlb_xmit_nat_icmp_in(&k->f, &k->p, &b->in);
		else
			rc = b->xmit(&k->f, &k->p, &b->in);
		if (rc < 0) {
			count(w, XLB_DP_DROP_XMIT);
			return false;
		}
		count(w, XLB_DP_ICMP_FWD);
		dp_tx(w, k, b->in_port);
		return true;
	}

	/* The reply tuple of the NAT entry is RIP:rport -> client. */
	key = (struct xlb_conn_key){
		.saddr = p->inner_daddr, .daddr = p->inner_saddr,
		.sport = p->inner_dport, .dport = p->inner_sport,
		.proto = p->inner_proto,
	};
	if (xlb_conn_get(w->dp->conns, &key, XLB_CONN_DIR_OUTPUT, now, &v) == 0 &&
	    v.fwd == XLB_FWD_NAT) {
		struct xlb_xmit_bind ob;
		int port;

		rc = dp_out_bind(w, &v, &ob, &port);
		if (rc < 0) {
			count(w, sched_error(rc));
			return false;
		}
		if (xlb_xmit_nat_icmp_out(&k->f, &k->p, &ob) < 0) {
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

	rc = xlb_pkt_parse(d->data, d->len, &k.p);
	if (rc != XLB_PKT_OK) {
		if (rc == XLB_PKT_E_FRAG) {
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

static void *dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct xlb_dp *dp = w->dp;
	struct xlb_xsk_desc descs[XLB_XSK_BATCH];
	int idle = 0;

	while (!atomic_load_explicit(&dp->stop, memory_order_relaxed)) {
		const struct xlb_snap *snap;
		uint32_t n, i;
		uint64_t now;

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

/* ---- control thread ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

/* n == 0 comes with v == NULL (no destinations yet): bsearch must not see it. */
static bool has_u32(const uint32_t *v, size_t n, uint32_t x)
{
	return n && bsearch(&x, v, n, sizeof(*v), cmp_u32) != NULL;
}

static bool has_ptr(struct xlb_cnt *const *v, size_t n, struct xlb_cnt *x)
{
	return n && bsearch(&x, v, n, sizeof(*v), cmp_ptr) != NULL;
}

void xlb_dp_commit(const struct xlb_snap *snap, void *arg)
{
	struct xlb_dp *dp = arg;
	struct xlb_svc_key *svcs;
	struct xlb_rs_key *rs;
	struct xlb_cnt **dests;
	uint32_t *wanted;
	size_t ndests = 0, nrs = 0, nw = 0, i, j;
	int rc;

	for (i = 0; i < snap->nsvcs; i++)
		ndests += snap->svcs[i].ndests;
	svcs = calloc(snap->nsvcs + 1, sizeof(*svcs));
	rs = calloc(ndests + 1, sizeof(*rs));
	dests = calloc(ndests + 1, sizeof(*dests));
	wanted = calloc(ndests + 1, sizeof(*wanted));
	if (!svcs || !rs || !dests || !wanted) {
		pr_warn("datapath: out of memory applying the configuration");
		goto out;
	}
	for (i = 0; i < snap->nsvcs; i++) {
		const struct xlb_snap_svc *s = &snap->svcs[i];

		svcs[i] = s->cfg.key;
		svcs[i].pad = 0;
		for (j = 0; j < s->ndests; j++) {
			const struct xlb_snap_dest *d = &s->dests[j];

			dests[nw] = d->cnt;
			wanted[nw++] = d->cfg.addr;
			if (d->cfg.fwd == XLB_FWD_NAT)
				rs[nrs++] = (struct xlb_rs_key){
					.addr = d->cfg.addr, .port = d->cfg.port,
					.proto = s->cfg.key.proto };
		}
	}
	ndests = nw;
	rc = xlb_xdp_sync(dp->xdp, svcs, snap->nsvcs, rs, nrs);
	if (rc < 0)
		pr_warn("datapath: updating the XDP maps: %s", xlb_xdp_errmsg());

	/* Next hops: want the new real servers, drop the gone ones. */
	qsort(wanted, nw, sizeof(*wanted), cmp_u32);
	for (i = j = 0; i < nw; i++)
		if (j == 0 || wanted[j - 1] != wanted[i])
			wanted[j++] = wanted[i];
	nw = j;
	for (i = 0; i < nw; i++)
		if (!has_u32(dp->wanted, dp->n_wanted, wanted[i]) &&
		    (rc = xlb_nh_want(dp->nh, wanted[i])) < 0)
			pr_warn("datapath: cannot resolve a real server: %s", strerror(-rc));
	for (i = 0; i < dp->n_wanted; i++)
		if (!has_u32(wanted, nw, dp->wanted[i]))
			xlb_nh_unwant(dp->nh, dp->wanted[i]);
	free(dp->wanted);
	dp->wanted = wanted;
	dp->n_wanted = nw;
	wanted = NULL;

	/* Real servers that are gone: their connections expire now. */
	qsort(dests, ndests, sizeof(*dests), cmp_ptr);
	for (i = 0; i < ndests; i++)
		if (!has_ptr(dp->dests, dp->n_dests, dests[i]))
			xlb_cnt_get(dests[i]);
	for (i = j = 0; i < dp->n_dests; i++)
		if (!has_ptr(dests, ndests, dp->dests[i]))
			dp->dests[j++] = dp->dests[i];
	if (j) {
		/* Gone servers are marked deleted by now: one sweep for all. */
		xlb_conn_flush_dead(dp->conns);
		for (i = 0; i < j; i++)
			xlb_cnt_put(dp->dests[i]);
	}
	free(dp->dests);
	dp->dests = dests;
	dp->n_dests = ndests;
	dests = NULL;

	xlb_conn_set_timeouts(dp->conns, &snap->timeouts);
out:
	free(svcs);
	free(rs);
	free(dests);
	free(wanted);
}

struct dump_ctx {
	xlb_conn_emit_fn emit;
	void *arg;
};

static int dp_dump_one(void *arg, const struct xlb_conn_entry *ce)
{
	struct dump_ctx *c = arg;
	struct xlb_conn_info ci = {
		.proto = ce->orig.proto,
		.caddr = ce->orig.saddr, .cport = ce->orig.sport,
		.vaddr = ce->orig.daddr, .vport = ce->orig.dport,
		.daddr = ce->daddr, .dport = ce->dport,
		.expires = ce->expires_s,
	};

	snprintf(ci.state, sizeof(ci.state), "%s", ce->state_name);
	return c->emit(&ci, c->arg);
}

static int dp_dump_conns(xlb_conn_emit_fn emit, void *emit_arg, void *arg)
{
	struct xlb_dp *dp = arg;
	struct dump_ctx c = { .emit = emit, .arg = emit_arg };
	int rc = xlb_conn_foreach(dp->conns, now_ms(), dp_dump_one, &c);

	return rc < 0 ? rc : 0;
}

static uint64_t worker_sum(const struct xlb_dp *dp, size_t off)
{
	uint64_t sum = 0;

	for (int i = 0; i < dp->n_workers; i++)
		sum += __atomic_load_n((const uint64_t *)((const char *)&dp->workers[i] + off),
				       __ATOMIC_RELAXED);
	return sum;
}

/* AF_XDP: the kernel's drops (ring full, fill ring empty) and ours, summed
 * over every socket. */
static int dump_xsk_counters(const struct xlb_dp *dp, xlb_counter_emit_fn emit,
			     void *emit_arg)
{
	struct xlb_xsk_stats sum = { 0 }, st;
	int rc;

	for (int p = 0; p < dp->n_ports; p++) {
		if (xlb_xsk_port_stats(dp->xsk, p, -1, &st) < 0)
			continue;
#define XSK_ADD(f) sum.f += st.f
		XSK_ADD(rx_dropped);
		XSK_ADD(rx_ring_full);
		XSK_ADD(rx_fill_ring_empty_descs);
		XSK_ADD(rx_invalid_descs);
		XSK_ADD(tx_invalid_descs);
		XSK_ADD(tx_full);
		XSK_ADD(tx_no_port);
		XSK_ADD(pool_empty);
		XSK_ADD(kicks);
#undef XSK_ADD
	}
#define XSK_STAT(f) if ((rc = emit("xsk", #f, sum.f, emit_arg))) return rc
	XSK_STAT(rx_dropped);
	XSK_STAT(rx_ring_full);
	XSK_STAT(rx_fill_ring_empty_descs);
	XSK_STAT(rx_invalid_descs);
	XSK_STAT(tx_invalid_descs);
	XSK_STAT(tx_full);
	XSK_STAT(tx_no_port);
	XSK_STAT(pool_empty);
	XSK_STAT(kicks);
#undef XSK_STAT
	return 0;
}

static int dp_dump_counters(xlb_counter_emit_fn emit, void *emit_arg, void *arg)
{
	const struct xlb_dp *dp = arg;
	uint64_t x[XLB_CNT_MAX];
	struct xlb_conn_stats cs;
	int i, rc;

	if ((rc = xlb_xdp_counters(dp->xdp, x)) < 0)
		return rc;
	for (i = 0; i < XLB_CNT_MAX; i++)
		if ((rc = emit("xdp", xlb_cnt_names[i], x[i], emit_arg)))
			return rc;
	for (i = 0; i < XLB_DP_CNT_MAX; i++)
		if ((rc = emit("datapath", xlb_dp_cnt_names[i],
			       worker_sum(dp, offsetof(struct dp_worker, cnt[i])), emit_arg)))
			return rc;
	for (i = 1; i < XLB_PKT_ERR_COUNT; i++)
		if ((rc = emit("malformed", parse_names[i],
			       worker_sum(dp, offsetof(struct dp_worker, parse_drops[i])),
			       emit_arg)))
			return rc;
	if ((rc = dump_xsk_counters(dp, emit, emit_arg)))
		return rc;
	xlb_conn_get_stats(dp->conns, &cs);
#define CONN_STAT(f) if ((rc = emit("conn", #f, cs.f, emit_arg))) return rc
	CONN_STAT(created);
	CONN_STAT(expired);
	CONN_STAT(evicted);
	CONN_STAT(full_drops);
	CONN_STAT(rescheduled);
	CONN_STAT(flushed);
	CONN_STAT(clashes);
	CONN_STAT(sched_errors);
	CONN_STAT(count);
	CONN_STAT(active);
	CONN_STAT(inactive);
#undef CONN_STAT
	return 0;
}

static uint32_t dp_conn_tab_size(void *arg)
{
	return xlb_conn_tab_size(((struct xlb_dp *)arg)->conns);
}

int xlb_dp_fd(const struct xlb_dp *dp)
{
	return xlb_nh_cache_fd(dp->nh);
}

void xlb_dp_process(struct xlb_dp *dp)
{
	xlb_nh_cache_process(dp->nh);
}

void xlb_dp_tick(struct xlb_dp *dp, uint64_t now)
{
	xlb_nh_cache_tick(dp->nh, now);
	xlb_conn_expire(dp->conns, now_ms(), dp->expire_budget);
}

void xlb_dp_counters(const struct xlb_dp *dp, uint64_t out[XLB_DP_CNT_MAX])
{
	memset(out, 0, sizeof(uint64_t) * XLB_DP_CNT_MAX);
	for (int i = 0; i < dp->n_workers; i++)
		for (int c = 0; c < XLB_DP_CNT_MAX; c++)
			out[c] += __atomic_load_n(&dp->workers[i].cnt[c], __ATOMIC_RELAXED);
}

void xlb_dp_log_stats(const struct xlb_dp *dp)
{
	uint64_t c[XLB_DP_CNT_MAX], x[XLB_CNT_MAX];
	char line[1024];
	size_t off = 0;

	xlb_dp_counters(dp, c);
	for (int i = 0; i < XLB_DP_CNT_MAX && off < sizeof(line); i++)
		if (c[i])
			off += (size_t)snprintf(line + off, sizeof(line) - off, " %s=%llu",
						xlb_dp_cnt_names[i], (unsigned long long)c[i]);
	pr_info("datapath:%s", off ? line : " no packets");
	if (xlb_xdp_counters(dp->xdp, x) == 0) {
		off = 0;
		for (int i = 0; i < XLB_CNT_MAX && off < sizeof(line); i++)
			if (x[i])
				off += (size_t)snprintf(line + off, sizeof(line) - off,
							" %s=%llu", xlb_cnt_names[i],
							(unsigned long long)x[i]);
		pr_info("xdp:%s", off ? line : " no packets");
	}
}

void xlb_dp_params_default(struct xlb_dp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->xdp_mode = XLB_XDP_NATIVE;
	p->zerocopy = XLB_XSK_ZC_AUTO;
	p->max_conns = XLB_CONN_MAX_DEFAULT;
}

static void nh_log(void *arg, const char *fmt, ...)
{
	va_list ap;

	(void)arg;
	va_start(ap, fmt);
	xlb_vlog(XLB_LOG_INFO, fmt, ap);
	va_end(ap);
}

static void xdp_lib_log(const char *line)
{
	pr_debug("libxdp: %s", line);
}

void xlb_dp_stop(struct xlb_dp *dp)
{
	if (!dp)
		return;
	atomic_store(&dp->stop, true);
	for (int i = 0; i < dp->n_workers; i++) {
		struct dp_worker *w = &dp->workers[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		if (w->reader >= 0)
			xlb_tables_reader_unregister(dp->tables, w->reader);
	}
	if (dp->tables) {
		xlb_tables_set_commit_cb(dp->tables, NULL, NULL);
		xlb_tables_set_provider(dp->tables, NULL);
	}
	/* Detach first: from here on the kernel handles the VIPs again. */
	xlb_xdp_close(dp->xdp);
	xlb_xsk_free(dp->xsk);
	if (dp->conns)
		xlb_conn_flush_dest(dp->conns, NULL);
	for (size_t i = 0; i < dp->n_dests; i++)
		xlb_cnt_put(dp->dests[i]);
	xlb_conn_free(dp->conns);
	xlb_nh_cache_free(dp->nh);
	free(dp->workers);
	free(dp->wanted);
	free(dp->dests);
	free(dp);
}

int xlb_dp_start(struct xlb_dp **out, const struct xlb_dp_params *p,
		 char *err, size_t errlen)
{
	struct xlb_nh_cache_params nhp;
	struct xlb_conn_params cp;
	struct xlb_xsk_params xp;
	struct xlb_tables_provider prov;
	struct xlb_dp *dp;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int rc, i;

	*out = NULL;
	if (p->n_ifaces < 1 || p->n_ifaces > XLB_XSK_MAX_IFACES) {
		snprintf(err, errlen, "between 1 and %d interfaces", XLB_XSK_MAX_IFACES);
		return -EINVAL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->tables = p->tables;
	dp->n_ports = p->n_ifaces;

	xlb_xdp_set_lib_log(xdp_lib_log);
	rc = xlb_xdp_open(&dp->xdp, p->xdp_mode);
	if (rc < 0) {
		snprintf(err, errlen, "loading the XDP program: %s", xlb_xdp_errmsg());
		goto fail;
	}

	/* The sockets first, then the program: steered packets never find
	 * an empty queue in the XSKMAP for long. */
	xlb_xsk_params_default(&xp);
	xp.ifnames = p->ifnames;
	xp.n_ifaces = p->n_ifaces;
	xp.n_queues = p->n_queues;
	xp.zerocopy = p->zerocopy;
	xp.inhibit_prog_load = true;
	xp.xsks_map_fd = xlb_xdp_xsks_map_fd(dp->xdp);
	rc = xlb_xsk_init(&dp->xsk, &xp);
	if (rc < 0) {
		snprintf(err, errlen, "creating the AF_XDP sockets: %s", strerror(-rc));
		goto fail;
	}
	for (i = 0; i < p->n_ifaces; i++) {
		dp->ifindex[i] = xlb_xsk_ifindex(dp->xsk, i);
		rc = xlb_nh_if_mac(p->ifnames[i], dp->mac[i]);
		if (rc < 0) {
			snprintf(err, errlen, "%s: reading its MAC: %s", p->ifnames[i],
				 strerror(-rc));
			goto fail;
		}
		rc = xlb_xdp_set_xsk_base(dp->xdp, dp->ifindex[i],
					  (uint32_t)i * XLB_XSK_QUEUES_MAX);
		if (rc < 0) {
			snprintf(err, errlen, "%s: XSKMAP range: %s", p->ifnames[i],
				 strerror(-rc));
			goto fail;
		}
		rc = xlb_xdp_attach(dp->xdp, dp->ifindex[i]);
		if (rc < 0) {
			snprintf(err, errlen, "%s", xlb_xdp_errmsg());
			goto fail;
		}
	}

	xlb_conn_params_default(&cp);
	cp.max_conns = p->max_conns;
	cp.timeouts = xlb_tables_current(p->tables)->timeouts;
	cp.on_count = dp_on_count;
	cp.dest_alive = dp_dest_alive;
	cp.cb_arg = dp;
	rc = xlb_conn_init(&dp->conns, &cp);
	if (rc < 0) {
		snprintf(err, errlen, "connection table of %u entries: %s",
			 p->max_conns, strerror(-rc));
		goto fail;
	}
	/* Sweep the whole table in about 1.6 s at 10 ticks per second. */
	dp->expire_budget = xlb_conn_tab_size(dp->conns) / 16 + 1;

	xlb_nh_cache_params_default(&nhp);
	nhp.log = nh_log;
	rc = xlb_nh_cache_init(&dp->nh, &nhp);
	if (rc < 0) {
		snprintf(err, errlen, "next-hop cache (rtnetlink): %s", strerror(-rc));
		goto fail;
	}

	dp->n_workers = xlb_xsk_n_workers(dp->xsk);
	if (dp->n_workers > XLB_MAX_WORKERS) {
		snprintf(err, errlen, "%d queues: at most %d workers", dp->n_workers,
			 XLB_MAX_WORKERS);
		rc = -E2BIG;
		goto fail;
	}
	dp->workers = aligned_alloc(64, sizeof(*dp->workers) * (size_t)dp->n_workers);
	if (!dp->workers) {
		rc = -ENOMEM;
		goto fail;
	}
	memset(dp->workers, 0, sizeof(*dp->workers) * (size_t)dp->n_workers);
	for (i = 0; i < dp->n_workers; i++) {
		dp->workers[i].reader = -1;
		dp->workers[i].dp = dp;
		dp->workers[i].id = i;
		dp->workers[i].xw = xlb_xsk_worker(dp->xsk, i);
	}

	prov = (struct xlb_tables_provider){
		.dump_conns = dp_dump_conns,
		.conn_tab_size = dp_conn_tab_size,
		.dump_counters = dp_dump_counters,
		.arg = dp,
	};
	xlb_tables_set_provider(p->tables, &prov);
	xlb_tables_set_commit_cb(p->tables, xlb_dp_commit, dp);
	xlb_dp_commit(xlb_tables_current(p->tables), dp);

	for (i = 0; i < dp->n_workers; i++) {
		struct dp_worker *w = &dp->workers[i];

		w->reader = xlb_tables_reader_register(p->tables);
		if (w->reader < 0) {
			snprintf(err, errlen, "too many datapath workers");
			rc = -ENOSPC;
			goto fail;
		}
		rc = -pthread_create(&w->thread, NULL, dp_worker_main, w);
		if (rc < 0) {
			snprintf(err, errlen, "starting worker %d: %s", i, strerror(-rc));
			goto fail;
		}
		w->started = true;
		if (ncpu > 0) {
			cpu_set_t set;
			char name[16];

			CPU_ZERO(&set);
			CPU_SET(i % ncpu, &set);
			pthread_setaffinity_np(w->thread, sizeof(set), &set);
			snprintf(name, sizeof(name), "xlb-w%d", i & 0xffff);
			pthread_setname_np(w->thread, name);
		}
	}
	pr_info("datapath: %d interface(s), %d worker(s), %s mode, %s XDP, max %u connections",
		dp->n_ports, dp->n_workers,
		xlb_xsk_zerocopy(dp->xsk) ? "zero-copy" : "copy",
		xlb_xdp_mode_name(p->xdp_mode), p->max_conns);
	*out = dp;
	return 0;
fail:
	xlb_dp_stop(dp);
	return rc < 0 ? rc : -EINVAL;
}
