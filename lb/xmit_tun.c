// SPDX-License-Identifier: GPL-2.0
/*
 * TUN: IP-in-IP (protocol 4, RFC 2003). The client's datagram is carried
 * untouched inside an outer IPv4 header DIP -> RIP; the RS decapsulates and
 * answers the client directly.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "csum.h"
#include "xmit.h"

/* Outer id when the inner packet may be fragmented: see xmit.h. */
static uint16_t tun_id(const struct xlb_pkt *p, const struct xlb_xmit_bind *b)
{
	if (p->df)
		return 0;
	if (b->ip_id)
		return htons((*b->ip_id)++);
	return p->ip_id ^ (uint16_t)p->saddr ^ (uint16_t)(p->saddr >> 16);
}

int xlb_xmit_tun(struct xlb_frame *f, struct xlb_pkt *p,
		 const struct xlb_xmit_bind *b)
{
	uint32_t tot = (uint32_t)p->ip_len + XLB_IPIP_HLEN;
	uint32_t l2 = p->l3_off;
	uint8_t *data, *oh;
	uint16_t v;

	if (tot > 0xFFFF || (b->mtu && tot > b->mtu))
		return -EMSGSIZE;
	if (f->headroom < XLB_IPIP_HLEN)
		return -ENOSPC;

	data = f->data - XLB_IPIP_HLEN;
	memmove(data, f->data, l2);
	oh = data + l2;
	oh[0] = 0x45;
	oh[1] = p->tos;
	v = htons((uint16_t)tot);
	memcpy(oh + 2, &v, 2);
	v = tun_id(p, b);
	memcpy(oh + 4, &v, 2);
	v = htons(p->df ? XLB_IP_DF : 0);
	memcpy(oh + 6, &v, 2);
	oh[8] = b->ttl ? b->ttl : XLB_TUN_TTL_DEFAULT;
	oh[9] = IPPROTO_IPIP;
	memset(oh + 10, 0, 2);
	memcpy(oh + 12, &b->dip, 4);
	memcpy(oh + 16, &b->rip, 4);
	v = xlb_csum(oh, XLB_IPIP_HLEN);
	memcpy(oh + 10, &v, 2);

	/* Ethernet padding after the inner datagram would now sit inside
	 * nothing; drop it (the NIC pads short frames again). */
	f->tailroom += f->len - (l2 + p->ip_len);
	f->len = l2 + tot;
	f->headroom -= XLB_IPIP_HLEN;
	f->data = data;

	p->l3_off += XLB_IPIP_HLEN;
	p->l4_off += XLB_IPIP_HLEN;
	if (p->icmp_err) {
		p->inner_l3_off += XLB_IPIP_HLEN;
		p->inner_l4_off += XLB_IPIP_HLEN;
	}
	return xlb_xmit_dr(f, p, b);
}
