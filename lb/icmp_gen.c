// SPDX-License-Identifier: GPL-2.0
/*
 * ICMP "fragmentation needed" for packets that no longer fit once TUN adds
 * its 20-byte header, so the client's path MTU discovery shrinks its
 * segments instead of the flow black-holing; and the token bucket that
 * keeps the director from sending them at whatever rate spoofed packets
 * arrive.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "csum.h"
#include "xmit.h"

#define ICMP_HLEN		8
#define ICMP_QUOTE_L4		8	/* RFC 792: header + 64 bits */
#define IP_MIN_MTU		68	/* RFC 791 */
#define IPTOS_PREC_INTERNETCONTROL 0xC0	/* as the kernel's icmp_send() */

int xlb_icmp_frag_needed(uint8_t *buf, uint32_t cap, const uint8_t *frame,
			 const struct xlb_pkt *p, uint32_t saddr, uint16_t mtu)
{
	uint32_t l2 = p->l3_off;
	uint32_t quote = p->ihl + ICMP_QUOTE_L4;
	uint32_t tot, n;
	uint8_t *ip, *icmp;
	uint16_t v;

	if (mtu < IP_MIN_MTU + XLB_IPIP_HLEN)
		return -EINVAL;
	if (quote > p->ip_len)
		quote = p->ip_len;
	tot = XLB_IP_HLEN + ICMP_HLEN + quote;
	n = l2 + tot;
	if (n > cap)
		return -ENOSPC;

	memcpy(buf, frame + 6, 6);
	memcpy(buf + 6, frame, 6);
	memcpy(buf + 12, frame + 12, l2 - 12);	/* VLAN tag, EtherType */

	ip = buf + l2;
	ip[0] = 0x45;
	ip[1] = IPTOS_PREC_INTERNETCONTROL;
	v = htons((uint16_t)tot);
	memcpy(ip + 2, &v, 2);
	memset(ip + 4, 0, 4);			/* id, no DF, offset 0 */
	ip[8] = XLB_TUN_TTL_DEFAULT;
	ip[9] = IPPROTO_ICMP;
	memset(ip + 10, 0, 2);
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &p->saddr, 4);
	v = xlb_csum(ip, XLB_IP_HLEN);
	memcpy(ip + 10, &v, 2);

	icmp = ip + XLB_IP_HLEN;
	icmp[0] = XLB_ICMP_DEST_UNREACH;
	icmp[1] = XLB_ICMP_FRAG_NEEDED;
	memset(icmp + 2, 0, 4);			/* checksum, unused */
	v = htons((uint16_t)(mtu - XLB_IPIP_HLEN));
	memcpy(icmp + 6, &v, 2);
	memcpy(icmp + ICMP_HLEN, frame + p->l3_off, quote);
	v = xlb_csum(icmp, ICMP_HLEN + quote);
	memcpy(icmp + 2, &v, 2);
	return (int)n;
}

void xlb_icmp_limit_init(struct xlb_icmp_limit *l, uint32_t per_sec,
			 uint32_t burst, uint64_t now_ms)
{
	l->per_sec = per_sec;
	l->burst = burst;
	l->credit = per_sec ? burst : 0;
	l->frac = 0;
	l->stamp_ms = now_ms;
}

bool xlb_icmp_limit_allow(struct xlb_icmp_limit *l, uint64_t now_ms)
{
	if (now_ms > l->stamp_ms) {
		/* Capped so that the product cannot overflow; any bucket is
		 * full long before. */
		uint64_t dt = now_ms - l->stamp_ms;
		uint64_t add;

		if (dt > 10000000)
			dt = 10000000;
		add = (uint64_t)l->per_sec * dt + l->frac;
		l->frac = (uint32_t)(add % 1000);
		add /= 1000;
		l->credit = l->credit + add > l->burst ? l->burst : (uint32_t)(l->credit + add);
		if (l->credit == l->burst)
			l->frac = 0;
		l->stamp_ms = now_ms;
	}
	if (!l->credit)
		return false;
	l->credit--;
	return true;
}

/* ---- IPv6: Packet Too Big (RFC 4443 3.2) ---- */

#define ICMP6_PTB_MAX		XLB_IP6_MIN_MTU	/* the whole ICMPv6 packet */

int xlb_icmp6_pkt_too_big(uint8_t *buf, uint32_t cap, const uint8_t *frame,
			  const struct xlb_pkt *p, const void *saddr,
			  uint16_t mtu)
{
	uint32_t l2 = p->l3_off, quote, plen, n, m;
	uint8_t *ip6, *icmp;
	uint16_t v;

	if (p->af != AF_INET6)
		return -EINVAL;
	if (mtu < XLB_IP6_MIN_MTU + XLB_IP6IP6_HLEN)
		return -EINVAL;
	quote = ICMP6_PTB_MAX - XLB_IP6_HLEN - ICMP_HLEN;
	if (quote > p->ip_len)
		quote = p->ip_len;
	plen = ICMP_HLEN + quote;
	n = l2 + XLB_IP6_HLEN + plen;
	if (n > cap)
		return -ENOSPC;

	memcpy(buf, frame + 6, 6);
	memcpy(buf + 6, frame, 6);
	memcpy(buf + 12, frame + 12, l2 - 12);	/* VLAN tag, EtherType */

	ip6 = buf + l2;
	/* Traffic class 0 and no flow label, as the kernel's icmp6_send(). */
	ip6[0] = 0x60;
	ip6[1] = 0;
	ip6[2] = ip6[3] = 0;
	v = htons((uint16_t)plen);
	memcpy(ip6 + 4, &v, 2);
	ip6[6] = IPPROTO_ICMPV6;
	ip6[7] = XLB_TUN_TTL_DEFAULT;
	memcpy(ip6 + 8, saddr, 16);
	memcpy(ip6 + 24, &p->saddr6, 16);

	icmp = ip6 + XLB_IP6_HLEN;
	icmp[0] = XLB_ICMP6_PKT_TOOBIG;
	icmp[1] = 0;
	memset(icmp + 2, 0, 2);
	m = htonl((uint32_t)mtu - XLB_IP6IP6_HLEN);
	memcpy(icmp + 4, &m, 4);
	memcpy(icmp + ICMP_HLEN, frame + p->l3_off, quote);
	v = xlb_csum_l4_6(ip6 + 8, ip6 + 24, IPPROTO_ICMPV6, icmp, plen);
	memcpy(icmp + 2, &v, 2);
	return (int)n;
}

int xlb_icmp_frag_needed_tun6(uint8_t *buf, uint32_t cap, const uint8_t *frame,
			      const struct xlb_pkt *p, uint32_t saddr,
			      uint16_t mtu)
{
	/* xlb_icmp_frag_needed() takes off 20 (the IPv4 outer header);
	 * IPv6's is 20 bytes more. */
	if (mtu < IP_MIN_MTU + XLB_IP6IP6_HLEN)
		return -EINVAL;
	return xlb_icmp_frag_needed(buf, cap, frame, p, saddr,
				    (uint16_t)(mtu - (XLB_IP6IP6_HLEN -
						      XLB_IPIP_HLEN)));
}
