// SPDX-License-Identifier: GPL-2.0
/*
 * Frame parser. Every access is preceded by a length check against what
 * is known to be in the buffer: first the buffer length, then, once the IP
 * header is validated, the IP total length (which is <= the buffer).
 */
#include <string.h>
#include <netinet/in.h>

#include "bytes.h"
#include "pkt.h"

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool icmp_is_error(uint8_t type)
{
	return type == XLB_ICMP_DEST_UNREACH ||
	       type == XLB_ICMP_SOURCE_QUENCH ||
	       type == XLB_ICMP_TIME_EXCEEDED ||
	       type == XLB_ICMP_PARAMETERPROB;
}

/* The datagram quoted by an ICMP error: ip[0..avail) with avail bytes of
 * ICMP payload. Only its header and the first 8 bytes of L4 are promised
 * (RFC 792), so its total length is not held against avail. */
static int parse_icmp_inner(const uint8_t *data, uint32_t off, uint32_t avail,
			    struct xlb_pkt *p)
{
	const uint8_t *ip = data + off;
	uint32_t ihl;
	uint16_t frag;

	if (avail < XLB_IP_HLEN)
		return XLB_PKT_E_ICMP_INNER_TRUNC;
	if ((ip[0] >> 4) != 4)
		return XLB_PKT_E_ICMP_INNER_BAD;
	ihl = (uint32_t)(ip[0] & 0x0F) * 4;
	if (ihl < XLB_IP_HLEN)
		return XLB_PKT_E_ICMP_INNER_BAD;
	if (ihl + 8 > avail)
		return XLB_PKT_E_ICMP_INNER_TRUNC;

	p->icmp_err = true;
	p->inner_ihl = (uint8_t)ihl;
	p->inner_proto = ip[9];
	p->inner_l3_off = (uint16_t)off;
	p->inner_l4_off = (uint16_t)(off + ihl);
	p->inner_l4_avail = (uint16_t)(avail - ihl);
	p->inner_saddr = xlb_load32(ip + 12);
	p->inner_daddr = xlb_load32(ip + 16);
	frag = get_be16(ip + 6);
	if (frag & XLB_IP_OFFMASK) {
		p->inner_frag_nonfirst = true;
		return XLB_PKT_OK;
	}
	switch (p->inner_proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		p->inner_sport = xlb_load16(ip + ihl);
		p->inner_dport = xlb_load16(ip + ihl + 2);
		break;
	case IPPROTO_ICMP:
		p->inner_sport = p->inner_dport = xlb_load16(ip + ihl + 4);
		break;
	}
	return XLB_PKT_OK;
}

static int parse_tcp(const uint8_t *l4, struct xlb_pkt *p)
{
	uint32_t doff;

	if (p->l4_len < 20)
		return XLB_PKT_E_TCP_TRUNC;
	doff = (uint32_t)(l4[12] >> 4) * 4;
	if (doff < 20)
		return XLB_PKT_E_TCP_DOFF_SHORT;
	if (doff > p->l4_len)
		return XLB_PKT_E_TCP_DOFF_TRUNC;
	p->l4_hlen = (uint16_t)doff;
	p->sport = xlb_load16(l4);
	p->dport = xlb_load16(l4 + 2);
	p->tcp_flags = l4[13];
	return XLB_PKT_OK;
}

static int parse_udp(const uint8_t *l4, struct xlb_pkt *p)
{
	uint16_t ulen;

	if (p->l4_len < 8)
		return XLB_PKT_E_UDP_TRUNC;
	ulen = get_be16(l4 + 4);
	if (ulen < 8)
		return XLB_PKT_E_UDP_LEN_SHORT;
	/* A first fragment carries only part of the datagram. A UDP length
	 * below the IP payload is accepted (the rest is padding), as the
	 * kernel's udp_rcv() does. */
	if (ulen > p->l4_len && !p->mf)
		return XLB_PKT_E_UDP_LEN_LONG;
	p->l4_hlen = 8;
	p->sport = xlb_load16(l4);
	p->dport = xlb_load16(l4 + 2);
	return XLB_PKT_OK;
}

static int parse_icmp(const uint8_t *data, const uint8_t *l4,
		      struct xlb_pkt *p)
{
	if (p->l4_len < 8)
		return XLB_PKT_E_ICMP_TRUNC;
	p->l4_hlen = 8;
	p->icmp_type = l4[0];
	p->icmp_code = l4[1];
	if (p->icmp_type == XLB_ICMP_ECHO || p->icmp_type == XLB_ICMP_ECHOREPLY)
		p->icmp_id = xlb_load16(l4 + 4);
	if (!icmp_is_error(p->icmp_type))
		return XLB_PKT_OK;
	return parse_icmp_inner(data, p->l4_off + 8u, p->l4_len - 8u, p);
}

int xlb_pkt_parse(const uint8_t *data, uint32_t len, struct xlb_pkt *p)
{
	const uint8_t *ip, *l4;
	uint32_t l3, ihl, tot;
	uint16_t etype, frag;

	memset(p, 0, sizeof(*p));
	if (len < XLB_ETH_HLEN)
		return XLB_PKT_E_ETH_TRUNC;
	etype = get_be16(data + 12);
	l3 = XLB_ETH_HLEN;
	if (etype == XLB_ETH_P_8021Q) {
		if (len < XLB_ETH_HLEN + XLB_VLAN_HLEN)
			return XLB_PKT_E_VLAN_TRUNC;
		p->has_vlan = true;
		p->vlan_tci = get_be16(data + 14);
		etype = get_be16(data + 16);
		l3 += XLB_VLAN_HLEN;
	}
	p->l3_off = (uint16_t)l3;
	if (etype != XLB_ETH_P_IP)
		return XLB_PKT_NOT_OURS;

	if (len - l3 < XLB_IP_HLEN)
		return XLB_PKT_E_IP_TRUNC;
	ip = data + l3;
	if ((ip[0] >> 4) != 4)
		return XLB_PKT_E_IP_VERSION;
	ihl = (uint32_t)(ip[0] & 0x0F) * 4;
	if (ihl < XLB_IP_HLEN)
		return XLB_PKT_E_IHL_SHORT;
	if (ihl > len - l3)
		return XLB_PKT_E_IHL_TRUNC;
	tot = get_be16(ip + 2);
	if (tot < ihl)
		return XLB_PKT_E_TOTLEN_SHORT;
	if (tot > len - l3)
		return XLB_PKT_E_TOTLEN_TRUNC;

	p->ihl = (uint8_t)ihl;
	p->tos = ip[1];
	p->ip_len = (uint16_t)tot;
	p->ip_id = xlb_load16(ip + 4);
	frag = get_be16(ip + 6);
	p->df = frag & XLB_IP_DF;
	p->mf = frag & XLB_IP_MF;
	p->frag_off = (uint16_t)((frag & XLB_IP_OFFMASK) << 3);
	p->ttl = ip[8];
	p->proto = ip[9];
	p->saddr = xlb_load32(ip + 12);
	p->daddr = xlb_load32(ip + 16);
	p->l4_off = (uint16_t)(l3 + ihl);
	p->l4_len = (uint16_t)(tot - ihl);
	if (p->frag_off) {
		p->frag_nonfirst = true;
		return XLB_PKT_E_FRAG;
	}

	l4 = data + p->l4_off;
	switch (p->proto) {
	case IPPROTO_TCP:
		return parse_tcp(l4, p);
	case IPPROTO_UDP:
		return parse_udp(l4, p);
	case IPPROTO_ICMP:
		return parse_icmp(data, l4, p);
	default:
		return XLB_PKT_OK;
	}
}

const char *xlb_pkt_strerror(int err)
{
	switch (err) {
	case XLB_PKT_OK:			return "ok";
	case XLB_PKT_NOT_OURS:			return "not IPv4";
	case XLB_PKT_E_ETH_TRUNC:		return "truncated Ethernet header";
	case XLB_PKT_E_VLAN_TRUNC:		return "truncated VLAN tag";
	case XLB_PKT_E_IP_TRUNC:		return "truncated IPv4 header";
	case XLB_PKT_E_IP_VERSION:		return "IP version is not 4";
	case XLB_PKT_E_IHL_SHORT:		return "IPv4 header length below 20";
	case XLB_PKT_E_IHL_TRUNC:		return "IPv4 header length beyond frame";
	case XLB_PKT_E_TOTLEN_TRUNC:		return "IPv4 total length beyond frame";
	case XLB_PKT_E_TOTLEN_SHORT:		return "IPv4 total length below header length";
	case XLB_PKT_E_FRAG:			return "non-first fragment";
	case XLB_PKT_E_TCP_TRUNC:		return "truncated TCP header";
	case XLB_PKT_E_TCP_DOFF_SHORT:		return "TCP data offset below 5";
	case XLB_PKT_E_TCP_DOFF_TRUNC:		return "TCP data offset beyond datagram";
	case XLB_PKT_E_UDP_TRUNC:		return "truncated UDP header";
	case XLB_PKT_E_UDP_LEN_SHORT:		return "UDP length below 8";
	case XLB_PKT_E_UDP_LEN_LONG:		return "UDP length beyond IP payload";
	case XLB_PKT_E_ICMP_TRUNC:		return "truncated ICMP header";
	case XLB_PKT_E_ICMP_INNER_TRUNC:	return "ICMP error with truncated inner header";
	case XLB_PKT_E_ICMP_INNER_BAD:		return "ICMP error with invalid inner header";
	default:				return "unknown packet error";
	}
}

_Static_assert(-XLB_PKT_E_ICMP_INNER_BAD + 1 == XLB_PKT_ERR_COUNT,
	       "XLB_PKT_ERR_COUNT must cover every error class");
