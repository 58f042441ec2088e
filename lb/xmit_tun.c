// SPDX-License-Identifier: GPL-2.0
/*
 * TUN: IP-in-IP (protocol 4, RFC 2003). The client's datagram is carried
 * untouched inside an outer IPv4 header DIP -> RIP; the RS decapsulates and
 * answers the client directly.
 *
 * A datagram without DF that no longer fits the egress MTU once
 * encapsulated is sent in outer fragments, as IPVS's tunnel transmit ends
 * in ip_fragment(): the real server's kernel reassembles the outer
 * datagram, then decapsulates.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "xmit.h"
#include "../bpf/xlb_rewrite.h"

#define IP_MIN_MTU	68	/* RFC 791: every host can forward this */

_Static_assert(XLB_TUN_TTL_DEFAULT == XLB_RW_TTL_DEFAULT,
	       "one default outer TTL for both datapaths");

/* Writes the 20-byte outer header at oh (the code the XDP fast path
 * compiles too, bpf/xlb_rewrite.h). id as in the packet, frag (DF, MF,
 * offset in 8-byte units) in host order. */
static void tun_outer(uint8_t *oh, const struct xlb_pkt *p,
		      const struct xlb_xmit_bind *b, uint32_t tot, uint16_t id,
		      uint16_t frag)
{
	xlb_rw_tun_outer(oh, p->tos, (uint16_t)tot, id, frag, b->ttl, b->dip,
			 b->rip);
}

/* Moves the L2 header 20 bytes into headroom, leaving room for the outer
 * header between it and the inner datagram, and keeps *f and *p in step;
 * the frame ends after inner byte `carried`. Returns where the outer
 * header goes. */
static uint8_t *tun_room(struct xlb_frame *f, struct xlb_pkt *p,
			 uint32_t carried)
{
	uint32_t l2 = p->l3_off;
	uint8_t *data = f->data - XLB_IPIP_HLEN;

	memmove(data, f->data, l2);

	/* Ethernet padding (or, for a first fragment, the rest of the
	 * datagram) after the carried bytes is no longer part of the frame
	 * (the NIC pads short frames again). */
	f->tailroom += f->len - (l2 + carried);
	f->len = l2 + XLB_IPIP_HLEN + carried;
	f->headroom -= XLB_IPIP_HLEN;
	f->data = data;

	p->l3_off += XLB_IPIP_HLEN;
	p->l4_off += XLB_IPIP_HLEN;
	if (p->icmp_err) {
		p->inner_l3_off += XLB_IPIP_HLEN;
		p->inner_l4_off += XLB_IPIP_HLEN;
	}
	return data + l2;
}

int xlb_xmit_tun(struct xlb_frame *f, struct xlb_pkt *p,
		 const struct xlb_xmit_bind *b)
{
	uint32_t tot = (uint32_t)p->ip_len + XLB_IPIP_HLEN;
	uint8_t *oh;

	if (tot > 0xFFFF || (b->mtu && tot > b->mtu))
		return -EMSGSIZE;
	if (f->headroom < XLB_IPIP_HLEN)
		return -ENOSPC;

	oh = tun_room(f, p, p->ip_len);
	/* The outer id: see xmit.h. A per-worker counter (b->ip_id) only
	 * where the packet may be fragmented; else the rule the XDP fast
	 * path shares (xlb_rw_tun_id()). */
	if (b->ip_id && !p->df)
		tun_outer(oh, p, b, tot, htons((*b->ip_id)++), 0);
	else
		xlb_rw_tun_encap(oh, oh + XLB_IPIP_HLEN, b->ttl, b->dip,
				 b->rip);
	return xlb_xmit_dr(f, p, b);
}

/* Inner bytes per fragment but the last: what the MTU leaves after the
 * outer header, in whole 8-byte units (ip_do_fragment() does the same). */
static uint32_t tun_frag_step(uint16_t mtu)
{
	return (uint32_t)(mtu - XLB_IPIP_HLEN) & ~7u;
}

int xlb_xmit_tun_nfrags(const struct xlb_pkt *p, uint16_t mtu)
{
	uint32_t tot = (uint32_t)p->ip_len + XLB_IPIP_HLEN, step, n;

	if (tot > 0xFFFF)
		return -EMSGSIZE;
	if (!mtu || tot <= mtu)
		return 1;
	if (p->df || mtu < IP_MIN_MTU)
		return -EMSGSIZE;
	step = tun_frag_step(mtu);
	n = (p->ip_len + step - 1) / step;
	return n > XLB_TUN_FRAG_MAX ? -EMSGSIZE : (int)n;
}

int xlb_xmit_tun_frag(struct xlb_frame *f, struct xlb_pkt *p,
		      const struct xlb_xmit_bind *b, uint16_t id,
		      uint8_t *const out[], uint32_t out_len[], uint32_t n_out,
		      uint32_t cap)
{
	uint32_t l2 = p->l3_off, step, off, chunk, i;
	const uint8_t *inner = f->data + l2;
	uint16_t nid = htons(id);
	int n;

	n = xlb_xmit_tun_nfrags(p, b->mtu);
	if (n < 0)
		return n;
	if (n < 2 || (uint32_t)n - 1 > n_out)
		return -EMSGSIZE;
	if (f->headroom < XLB_IPIP_HLEN)
		return -ENOSPC;
	step = tun_frag_step(b->mtu);
	/* Only the second fragment can be the largest of the others. */
	chunk = p->ip_len - step < step ? p->ip_len - step : step;
	if (l2 + XLB_IPIP_HLEN + chunk > cap)
		return -ENOSPC;

	/* Fragments 2..n first, while the inner datagram's L2 header is
	 * still in front of it. */
	for (i = 1, off = step; i < (uint32_t)n; i++, off += chunk) {
		uint8_t *o = out[i - 1];
		bool last = i == (uint32_t)n - 1;

		chunk = last ? p->ip_len - off : step;
		memcpy(o, b->dmac, 6);
		memcpy(o + 6, b->smac, 6);
		memcpy(o + 12, f->data + 12, l2 - 12);	/* VLAN tag, EtherType */
		tun_outer(o + l2, p, b, XLB_IPIP_HLEN + chunk, nid,
			  (uint16_t)((last ? 0 : XLB_IP_MF) | (off >> 3)));
		memcpy(o + l2 + XLB_IPIP_HLEN, inner + off, chunk);
		out_len[i - 1] = l2 + XLB_IPIP_HLEN + chunk;
	}

	tun_outer(tun_room(f, p, step), p, b, XLB_IPIP_HLEN + step, nid,
		  XLB_IP_MF);
	xlb_xmit_dr(f, p, b);
	return n;
}

/* ---- TUN6: IPv6-in-IPv6 (next header 41, RFC 2473), IPv4-in-IPv6 (4) ---- */

/* The flow label for an inner datagram without one (xlb_rw_flowlabel()):
 * from its addresses, protocol and, where p has them, ports. */
static uint32_t tun6_flowlabel(const uint8_t *frame, const struct xlb_pkt *p)
{
	const uint8_t *ip = frame + p->l3_off;
	uint32_t ports = 0;

	if ((p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) &&
	    !p->frag_nonfirst)
		ports = xlb_rw_load32(frame + p->l4_off);
	if (p->af == AF_INET6)
		return xlb_rw_flowlabel(ip + XLB_RW_IP6_SADDR,
					ip + XLB_RW_IP6_DADDR, 16, p->proto,
					ports);
	return xlb_rw_flowlabel(ip + XLB_RW_IP_SADDR, ip + XLB_RW_IP_DADDR, 4,
				p->proto, ports);
}

int xlb_xmit_tun6_check(const struct xlb_pkt *p, uint16_t mtu)
{
	uint32_t tot = (uint32_t)p->ip_len + XLB_IP6IP6_HLEN;

	if (p->af != AF_INET && p->af != AF_INET6)
		return -EPROTONOSUPPORT;
	if (tot > 0xFFFF || (mtu && tot > mtu))
		return -EMSGSIZE;
	return 0;
}

int xlb_xmit_tun6(struct xlb_frame *f, struct xlb_pkt *p,
		  const struct xlb_xmit_bind *b)
{
	uint32_t l2 = p->l3_off, tot = (uint32_t)p->ip_len + XLB_IP6IP6_HLEN;
	uint32_t fl;
	uint8_t *data;
	uint16_t et = htons(XLB_ETH_P_IPV6);
	int rc;

	rc = xlb_xmit_tun6_check(p, b->mtu);
	if (rc)
		return rc;
	if (f->headroom < XLB_IP6IP6_HLEN)
		return -ENOSPC;

	fl = tun6_flowlabel(f->data, p);
	data = f->data - XLB_IP6IP6_HLEN;
	memmove(data, f->data, l2);
	memcpy(data + l2 - 2, &et, 2);
	f->tailroom += f->len - (l2 + p->ip_len);
	f->len = l2 + tot;
	f->headroom -= XLB_IP6IP6_HLEN;
	f->data = data;
	p->l3_off += XLB_IP6IP6_HLEN;
	p->l4_off += XLB_IP6IP6_HLEN;
	if (p->icmp_err) {
		p->inner_l3_off += XLB_IP6IP6_HLEN;
		p->inner_l4_off += XLB_IP6IP6_HLEN;
	}
	xlb_rw_tun6_encap(data + l2, data + l2 + XLB_IP6IP6_HLEN, fl, b->ttl,
			  b->dip6.b, b->rip6.b);
	return xlb_xmit_dr(f, p, b);
}
