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
