// SPDX-License-Identifier: GPL-2.0
/*
 * NAT (masquerading): destination VIP:vport -> RIP:rport on the way in,
 * source RIP:rport -> VIP:vport on the way out, and the same for the
 * datagram quoted inside ICMP errors. Checksums are updated incrementally
 * (RFC 1624) except the ICMP one, recomputed whole as IPVS does: errors are
 * rare and its covered bytes change in several places. The address and
 * port rewrites with their checksum updates are the XDP fast path's too
 * (bpf/xlb_rewrite.h): written once.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "csum.h"
#include "xmit.h"
#include "../bpf/xlb_rewrite.h"

#define ICMP_OFF_CSUM	2

static bool nat_proto_ok(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

int xlb_xmit_nat_in(struct xlb_frame *f, struct xlb_pkt *p,
		    const struct xlb_xmit_bind *b)
{
	if (!nat_proto_ok(p->proto) || p->frag_nonfirst)
		return -EPROTONOSUPPORT;
	xlb_rw_nat_in(f->data + p->l3_off, f->data + p->l4_off, p->l4_len,
		      p->proto, b->rip, b->rport);
	p->daddr = b->rip;
	p->dport = b->rport;
	return xlb_xmit_dr(f, p, b);
}

int xlb_xmit_nat_out(struct xlb_frame *f, struct xlb_pkt *p,
		     const struct xlb_xmit_bind *b)
{
	if (!nat_proto_ok(p->proto) || p->frag_nonfirst)
		return -EPROTONOSUPPORT;
	xlb_rw_nat_out(f->data + p->l3_off, f->data + p->l4_off, p->l4_len,
		       p->proto, b->vip, b->vport);
	p->saddr = b->vip;
	p->sport = b->vport;
	return xlb_xmit_dr(f, p, b);
}

static void icmp_recsum(struct xlb_frame *f, const struct xlb_pkt *p)
{
	uint8_t *icmp = f->data + p->l4_off;
	uint16_t c;

	memset(icmp + ICMP_OFF_CSUM, 0, 2);
	c = xlb_csum(icmp, p->l4_len);
	memcpy(icmp + ICMP_OFF_CSUM, &c, 2);
}

static bool nat_icmp_ok(const struct xlb_pkt *p)
{
	return p->proto == IPPROTO_ICMP && p->icmp_err &&
	       !p->inner_frag_nonfirst && nat_proto_ok(p->inner_proto);
}

int xlb_xmit_nat_icmp_in(struct xlb_frame *f, struct xlb_pkt *p,
			 const struct xlb_xmit_bind *b)
{
	uint32_t old;

	if (!nat_icmp_ok(p))
		return -EPROTONOSUPPORT;
	xlb_rw_nat_ip(f->data + p->l3_off, XLB_RW_IP_DADDR, b->rip);
	/* The quote is our reply VIP:vport -> client, seen by the client
	 * side; the RS must see its own RIP:rport -> client. */
	old = xlb_rw_nat_ip(f->data + p->inner_l3_off, XLB_RW_IP_SADDR,
			    b->rip);
	xlb_rw_nat_l4(f->data + p->inner_l4_off, p->inner_l4_avail,
		      p->inner_proto, XLB_RW_L4_SPORT, b->rport, old, b->rip);
	icmp_recsum(f, p);
	p->daddr = b->rip;
	p->inner_saddr = b->rip;
	p->inner_sport = b->rport;
	return xlb_xmit_dr(f, p, b);
}

int xlb_xmit_nat_icmp_out(struct xlb_frame *f, struct xlb_pkt *p,
			  const struct xlb_xmit_bind *b)
{
	uint32_t old;

	if (!nat_icmp_ok(p))
		return -EPROTONOSUPPORT;
	xlb_rw_nat_ip(f->data + p->l3_off, XLB_RW_IP_SADDR, b->vip);
	/* The quote is the client's packet as the RS got it,
	 * client -> RIP:rport; the client must see client -> VIP:vport. */
	old = xlb_rw_nat_ip(f->data + p->inner_l3_off, XLB_RW_IP_DADDR,
			    b->vip);
	xlb_rw_nat_l4(f->data + p->inner_l4_off, p->inner_l4_avail,
		      p->inner_proto, XLB_RW_L4_DPORT, b->vport, old, b->vip);
	icmp_recsum(f, p);
	p->saddr = b->vip;
	p->inner_daddr = b->vip;
	p->inner_dport = b->vport;
	return xlb_xmit_dr(f, p, b);
}

/* ---- NAT66 ---- */

static bool nat6_ok(const struct xlb_pkt *p)
{
	return p->af == AF_INET6 && !p->ip6_frag && nat_proto_ok(p->proto);
}

/* Over IPv6 a UDP checksum is never "none" (RFC 8200 8.1): a zero one
 * (which the parser refuses, but a caller may have built p otherwise) is
 * computed whole before the incremental update, so it is never kept. */
static void nat6_udp_zero(struct xlb_frame *f, const struct xlb_pkt *p)
{
	uint8_t *l4 = f->data + p->l4_off;
	uint16_t ulen, c;

	if (p->proto != IPPROTO_UDP || xlb_rw_load16(l4 + XLB_RW_UDP_CSUM))
		return;
	ulen = (uint16_t)(l4[4] << 8 | l4[5]);
	if (ulen < 8 || ulen > p->l4_len)
		ulen = p->l4_len;
	c = xlb_csum_udp_fix(xlb_csum_l4_6(&p->saddr6, &p->daddr6, IPPROTO_UDP,
					   l4, ulen));
	memcpy(l4 + XLB_RW_UDP_CSUM, &c, 2);
}

int xlb_xmit_nat6_in(struct xlb_frame *f, struct xlb_pkt *p,
		     const struct xlb_xmit_bind *b)
{
	if (!nat6_ok(p))
		return -EPROTONOSUPPORT;
	nat6_udp_zero(f, p);
	xlb_rw_nat6_in(f->data + p->l3_off, f->data + p->l4_off, p->l4_len,
		       p->proto, b->rip6.b, b->rport);
	p->daddr6 = b->rip6;
	p->dport = b->rport;
	return xlb_xmit_dr(f, p, b);
}

int xlb_xmit_nat6_out(struct xlb_frame *f, struct xlb_pkt *p,
		      const struct xlb_xmit_bind *b)
{
	if (!nat6_ok(p))
		return -EPROTONOSUPPORT;
	nat6_udp_zero(f, p);
	xlb_rw_nat6_out(f->data + p->l3_off, f->data + p->l4_off, p->l4_len,
			p->proto, b->vip6.b, b->vport);
	p->saddr6 = b->vip6;
	p->sport = b->vport;
	return xlb_xmit_dr(f, p, b);
}

/* The ICMPv6 checksum covers the (outer) pseudo-header: recomputed whole
 * once both the outer and the quoted headers are rewritten. */
static void icmp6_recsum(struct xlb_frame *f, const struct xlb_pkt *p)
{
	uint8_t *icmp = f->data + p->l4_off;
	uint16_t c;

	memset(icmp + ICMP_OFF_CSUM, 0, 2);
	c = xlb_csum_l4_6(&p->saddr6, &p->daddr6, IPPROTO_ICMPV6, icmp,
			  p->l4_len);
	memcpy(icmp + ICMP_OFF_CSUM, &c, 2);
}

static bool nat6_icmp_ok(const struct xlb_pkt *p)
{
	return p->af == AF_INET6 && !p->ip6_frag &&
	       p->proto == IPPROTO_ICMPV6 && p->icmp_err &&
	       !p->inner_frag_nonfirst && nat_proto_ok(p->inner_proto);
}

int xlb_xmit_nat6_icmp_in(struct xlb_frame *f, struct xlb_pkt *p,
			  const struct xlb_xmit_bind *b)
{
	uint8_t old[16];

	if (!nat6_icmp_ok(p))
		return -EPROTONOSUPPORT;
	xlb_rw_nat6_ip(f->data + p->l3_off, XLB_RW_IP6_DADDR, b->rip6.b, old);
	/* The quote is our reply VIP:vport -> client; the RS must see its
	 * own RIP:rport -> client. */
	xlb_rw_nat6_ip(f->data + p->inner_l3_off, XLB_RW_IP6_SADDR, b->rip6.b,
		       old);
	xlb_rw_nat6_l4(f->data + p->inner_l4_off, p->inner_l4_avail,
		       p->inner_proto, XLB_RW_L4_SPORT, b->rport, old,
		       b->rip6.b);
	p->daddr6 = b->rip6;
	p->inner_saddr6 = b->rip6;
	p->inner_sport = b->rport;
	icmp6_recsum(f, p);
	return xlb_xmit_dr(f, p, b);
}

int xlb_xmit_nat6_icmp_out(struct xlb_frame *f, struct xlb_pkt *p,
			   const struct xlb_xmit_bind *b)
{
	uint8_t old[16];

	if (!nat6_icmp_ok(p))
		return -EPROTONOSUPPORT;
	xlb_rw_nat6_ip(f->data + p->l3_off, XLB_RW_IP6_SADDR, b->vip6.b, old);
	/* The quote is the client's packet as the RS got it,
	 * client -> RIP:rport; the client must see client -> VIP:vport. */
	xlb_rw_nat6_ip(f->data + p->inner_l3_off, XLB_RW_IP6_DADDR, b->vip6.b,
		       old);
	xlb_rw_nat6_l4(f->data + p->inner_l4_off, p->inner_l4_avail,
		       p->inner_proto, XLB_RW_L4_DPORT, b->vport, old,
		       b->vip6.b);
	p->saddr6 = b->vip6;
	p->inner_daddr6 = b->vip6;
	p->inner_dport = b->vport;
	icmp6_recsum(f, p);
	return xlb_xmit_dr(f, p, b);
}
