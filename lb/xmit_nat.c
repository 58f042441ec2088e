// SPDX-License-Identifier: GPL-2.0
/*
 * NAT (masquerading): destination VIP:vport -> RIP:rport on the way in,
 * source RIP:rport -> VIP:vport on the way out, and the same for the
 * datagram quoted inside ICMP errors. Checksums are updated incrementally
 * (RFC 1624) except the ICMP one, recomputed whole as IPVS does: errors are
 * rare and its covered bytes change in several places.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "bytes.h"
#include "csum.h"
#include "xmit.h"

#define IP_OFF_CSUM	10
#define IP_OFF_SADDR	12
#define IP_OFF_DADDR	16
#define TCP_OFF_CSUM	16
#define UDP_OFF_CSUM	6
#define ICMP_OFF_CSUM	2
#define L4_OFF_SPORT	0
#define L4_OFF_DPORT	2

/* Replaces the address at ip + addr_off, fixing the header checksum;
 * returns the old address. */
static uint32_t nat_ip(uint8_t *ip, int addr_off, uint32_t addr)
{
	uint32_t old = xlb_load32(ip + addr_off);

	memcpy(ip + addr_off, &addr, 4);
	xlb_csum_replace4(ip + IP_OFF_CSUM, old, addr);
	return old;
}

/* Replaces the port at l4 + port_off and fixes the L4 checksum for it and
 * for the pseudo-header address change old_addr -> addr. The TCP checksum
 * is only touched if it lies within avail bytes (quoted datagrams). */
static void nat_l4(uint8_t *l4, uint32_t avail, uint8_t proto, int port_off,
		   uint16_t port, uint32_t old_addr, uint32_t addr)
{
	uint16_t old_port = xlb_load16(l4 + port_off);

	memcpy(l4 + port_off, &port, 2);
	if (proto == IPPROTO_TCP) {
		if (avail < TCP_OFF_CSUM + 2)
			return;
		xlb_csum_replace4(l4 + TCP_OFF_CSUM, old_addr, addr);
		xlb_csum_replace2(l4 + TCP_OFF_CSUM, old_port, port);
	} else {
		xlb_csum_udp_replace4(l4 + UDP_OFF_CSUM, old_addr, addr);
		xlb_csum_udp_replace2(l4 + UDP_OFF_CSUM, old_port, port);
	}
}

static bool nat_proto_ok(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

int xlb_xmit_nat_in(struct xlb_frame *f, struct xlb_pkt *p,
		    const struct xlb_xmit_bind *b)
{
	uint32_t old;

	if (!nat_proto_ok(p->proto) || p->frag_nonfirst)
		return -EPROTONOSUPPORT;
	old = nat_ip(f->data + p->l3_off, IP_OFF_DADDR, b->rip);
	nat_l4(f->data + p->l4_off, p->l4_len, p->proto, L4_OFF_DPORT,
	       b->rport, old, b->rip);
	p->daddr = b->rip;
	p->dport = b->rport;
	return xlb_xmit_dr(f, p, b);
}

int xlb_xmit_nat_out(struct xlb_frame *f, struct xlb_pkt *p,
		     const struct xlb_xmit_bind *b)
{
	uint32_t old;

	if (!nat_proto_ok(p->proto) || p->frag_nonfirst)
		return -EPROTONOSUPPORT;
	old = nat_ip(f->data + p->l3_off, IP_OFF_SADDR, b->vip);
	nat_l4(f->data + p->l4_off, p->l4_len, p->proto, L4_OFF_SPORT,
	       b->vport, old, b->vip);
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
	nat_ip(f->data + p->l3_off, IP_OFF_DADDR, b->rip);
	/* The quote is our reply VIP:vport -> client, seen by the client
	 * side; the RS must see its own RIP:rport -> client. */
	old = nat_ip(f->data + p->inner_l3_off, IP_OFF_SADDR, b->rip);
	nat_l4(f->data + p->inner_l4_off, p->inner_l4_avail, p->inner_proto,
	       L4_OFF_SPORT, b->rport, old, b->rip);
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
	nat_ip(f->data + p->l3_off, IP_OFF_SADDR, b->vip);
	/* The quote is the client's packet as the RS got it,
	 * client -> RIP:rport; the client must see client -> VIP:vport. */
	old = nat_ip(f->data + p->inner_l3_off, IP_OFF_DADDR, b->vip);
	nat_l4(f->data + p->inner_l4_off, p->inner_l4_avail, p->inner_proto,
	       L4_OFF_DPORT, b->vport, old, b->vip);
	icmp_recsum(f, p);
	p->saddr = b->vip;
	p->inner_daddr = b->vip;
	p->inner_dport = b->vport;
	return xlb_xmit_dr(f, p, b);
}
