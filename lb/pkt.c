// SPDX-License-Identifier: GPL-2.0
/*
 * Frame parser. Every access is preceded by a length check against what
 * is known to be in the buffer: first the buffer length, then, once the IP
 * header is validated, the IP total length (which is <= the buffer); for
 * IPv6, 40 + the payload length.
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

/* Both parsers inline these, so the IPv4-only one compiles to what it was
 * before IPv6 (no call, no extra load). */
#define PKT_INLINE	static inline __attribute__((always_inline))

/* Ethernet and one 802.1Q tag: the EtherType behind them, or an error. */
PKT_INLINE int parse_l2(const uint8_t *data, uint32_t len,
			   struct xlb_pkt *p, uint16_t *etype)
{
	uint32_t l3 = XLB_ETH_HLEN;

	if (len < XLB_ETH_HLEN)
		return XLB_PKT_E_ETH_TRUNC;
	*etype = get_be16(data + 12);
	if (*etype == XLB_ETH_P_8021Q) {
		if (len < XLB_ETH_HLEN + XLB_VLAN_HLEN)
			return XLB_PKT_E_VLAN_TRUNC;
		p->has_vlan = true;
		p->vlan_tci = get_be16(data + 14);
		*etype = get_be16(data + 16);
		l3 += XLB_VLAN_HLEN;
	}
	p->l3_off = (uint16_t)l3;
	return XLB_PKT_OK;
}

PKT_INLINE int parse_ip4(const uint8_t *data, uint32_t len,
			    struct xlb_pkt *p)
{
	const uint8_t *ip, *l4;
	uint32_t l3 = p->l3_off, ihl, tot;
	uint16_t frag;

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

	p->af = AF_INET;
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

int xlb_pkt_parse(const uint8_t *data, uint32_t len, struct xlb_pkt *p)
{
	uint16_t etype;
	int rc;

	memset(p, 0, XLB_PKT_V4_SIZE);
	rc = parse_l2(data, len, p, &etype);
	if (rc)
		return rc;
	if (etype != XLB_ETH_P_IP)
		return XLB_PKT_NOT_OURS;
	return parse_ip4(data, len, p);
}

/* ---- IPv6 ---- */

/* What walking an extension header chain found. */
struct ip6_walk {
	uint32_t off;		/* transport header, from the IPv6 header */
	uint8_t  proto;		/* its next header value */
	uint8_t  n_ext;
	bool     frag;		/* stopped at a fragment header */
	uint16_t frag_field;	/* its offset/flags word, host order */
	uint32_t frag_id;	/* network order */
};

/* Walk failures, mapped by each caller to its own error class. */
#define IP6_WALK_TRUNC		-1
#define IP6_WALK_CHAIN		-2
#define IP6_WALK_ROUTING	-3

/*
 * Follows the extension headers of the IPv6 header at ip6, whose datagram
 * has end bytes (40 + payload length, or what an ICMPv6 error quotes of
 * it), from next header nh: hop-by-hop (first only), routing and
 * destination options are skipped, at most XLB_IP6_EXT_MAX of them, each
 * wholly within end; it stops at a fragment header (frag, its fields
 * read) or at any other next header (the transport, or one xlb does not
 * look into: AH, ESP, no next header...). strict: a routing header with
 * segments left is refused (the outer datagram: its transport is not for
 * this address yet); a quoted one is skipped whatever it says.
 */
static int ip6_walk(const uint8_t *ip6, uint32_t end, bool strict,
		    struct ip6_walk *w)
{
	uint32_t off = XLB_IP6_HLEN, n;
	uint8_t nh = ip6[6];

	for (n = 0; n <= XLB_IP6_EXT_MAX; n++) {
		uint32_t hlen;

		switch (nh) {
		case XLB_IP6_NH_HOPOPTS:
			if (n)
				return IP6_WALK_CHAIN;
			break;
		case XLB_IP6_NH_ROUTING:
		case XLB_IP6_NH_DSTOPTS:
			break;
		case XLB_IP6_NH_FRAGMENT:
			if (n == XLB_IP6_EXT_MAX)
				return IP6_WALK_CHAIN;
			if (end - off < 8)
				return IP6_WALK_TRUNC;
			w->frag = true;
			w->frag_field = get_be16(ip6 + off + 2);
			w->frag_id = xlb_load32(ip6 + off + 4);
			w->off = off + 8;
			w->proto = ip6[off];
			w->n_ext = (uint8_t)(n + 1);
			return 0;
		default:
			w->off = off;
			w->proto = nh;
			w->n_ext = (uint8_t)n;
			return 0;
		}
		if (n == XLB_IP6_EXT_MAX)
			return IP6_WALK_CHAIN;
		if (end - off < 8)	/* the smallest extension header */
			return IP6_WALK_TRUNC;
		hlen = ((uint32_t)ip6[off + 1] + 1) * 8;
		if (hlen > end - off)
			return IP6_WALK_TRUNC;
		if (strict && nh == XLB_IP6_NH_ROUTING && ip6[off + 3])
			return IP6_WALK_ROUTING;
		nh = ip6[off];
		off += hlen;
	}
	return IP6_WALK_CHAIN;	/* not reached: the loop returns */
}

/* The datagram quoted by an ICMPv6 error (RFC 4443 2.4(c): as much of it
 * as fits in the minimum MTU, so its payload length is not held against
 * avail). Its header, extension headers and 8 bytes of transport must be
 * there; a quoted non-first fragment gives no ports. */
static int parse_icmp6_inner(const uint8_t *data, uint32_t off,
			     uint32_t avail, struct xlb_pkt *p)
{
	const uint8_t *ip6 = data + off;
	struct ip6_walk w = { 0 };
	int rc;

	if (avail < XLB_IP6_HLEN)
		return XLB_PKT_E_ICMP_INNER_TRUNC;
	if ((ip6[0] >> 4) != 6)
		return XLB_PKT_E_ICMP_INNER_BAD;
	rc = ip6_walk(ip6, avail, false, &w);
	if (rc == IP6_WALK_TRUNC)
		return XLB_PKT_E_ICMP_INNER_TRUNC;
	if (rc)
		return XLB_PKT_E_ICMP_INNER_BAD;
	if (w.frag && (w.frag_field & ~7u)) {
		p->inner_frag_nonfirst = true;
	} else if (w.frag) {
		/* a first fragment: its transport header follows, unless
		 * more extension headers do (not looked into) */
		if (w.proto == XLB_IP6_NH_HOPOPTS ||
		    w.proto == XLB_IP6_NH_ROUTING ||
		    w.proto == XLB_IP6_NH_DSTOPTS ||
		    w.proto == XLB_IP6_NH_FRAGMENT)
			return XLB_PKT_E_ICMP_INNER_BAD;
	}
	if (w.off + 8 > avail)
		return XLB_PKT_E_ICMP_INNER_TRUNC;

	p->icmp_err = true;
	p->inner_proto = w.proto;
	p->inner_l3_off = (uint16_t)off;
	p->inner_l4_off = (uint16_t)(off + w.off);
	p->inner_l4_avail = (uint16_t)(avail - w.off);
	memcpy(&p->inner_saddr6, ip6 + 8, 16);
	memcpy(&p->inner_daddr6, ip6 + 24, 16);
	if (p->inner_frag_nonfirst)
		return XLB_PKT_OK;
	switch (p->inner_proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		p->inner_sport = xlb_load16(ip6 + w.off);
		p->inner_dport = xlb_load16(ip6 + w.off + 2);
		break;
	case XLB_IP6_NH_ICMPV6:
		p->inner_sport = p->inner_dport = xlb_load16(ip6 + w.off + 4);
		break;
	}
	return XLB_PKT_OK;
}

static bool icmp6_is_error(uint8_t type)
{
	return type >= XLB_ICMP6_DEST_UNREACH && type <= XLB_ICMP6_PARAMPROB;
}

static int parse_icmp6(const uint8_t *data, const uint8_t *l4,
		       struct xlb_pkt *p)
{
	if (p->l4_len < 8)
		return XLB_PKT_E_ICMP_TRUNC;
	p->l4_hlen = 8;
	p->icmp_type = l4[0];
	p->icmp_code = l4[1];
	if (p->icmp_type == XLB_ICMP6_ECHO || p->icmp_type == XLB_ICMP6_ECHOREPLY)
		p->icmp_id = xlb_load16(l4 + 4);
	p->icmp6_nd = p->icmp_type >= XLB_ICMP6_ND_FIRST &&
		      p->icmp_type <= XLB_ICMP6_ND_LAST;
	if (!icmp6_is_error(p->icmp_type))
		return XLB_PKT_OK;
	return parse_icmp6_inner(data, p->l4_off + 8u, p->l4_len - 8u, p);
}

static int parse_ip6(const uint8_t *data, uint32_t len, struct xlb_pkt *p)
{
	const uint8_t *ip6, *l4;
	uint32_t l3 = p->l3_off, tot;
	struct ip6_walk w = { 0 };
	int rc;

	if (len - l3 < XLB_IP6_HLEN)
		return XLB_PKT_E_IP6_TRUNC;
	ip6 = data + l3;
	if ((ip6[0] >> 4) != 6)
		return XLB_PKT_E_IP6_VERSION;
	/* Jumbograms (payload length 0 and a jumbo option, RFC 2675) are
	 * not for links xlb serves: 0 is just an empty payload. */
	tot = XLB_IP6_HLEN + (uint32_t)get_be16(ip6 + 4);
	if (tot > len - l3 || tot > 0xFFFF)
		return XLB_PKT_E_IP6_PLEN_TRUNC;

	p->af = AF_INET6;
	p->tos = (uint8_t)(get_be16(ip6) >> 4);
	p->flow_lbl = (uint32_t)(ip6[1] & 0x0F) << 16 | get_be16(ip6 + 2);
	p->ip_len = (uint16_t)tot;
	p->ttl = ip6[7];
	memcpy(&p->saddr6, ip6 + 8, 16);
	memcpy(&p->daddr6, ip6 + 24, 16);

	rc = ip6_walk(ip6, tot, true, &w);
	if (rc == IP6_WALK_TRUNC)
		return XLB_PKT_E_IP6_EXT_TRUNC;
	if (rc == IP6_WALK_CHAIN)
		return XLB_PKT_E_IP6_EXT_CHAIN;
	if (rc)
		return XLB_PKT_E_IP6_ROUTING;
	p->proto = w.proto;
	p->ip6_n_ext = w.n_ext;
	p->ip6_ext_len = (uint16_t)(w.off - XLB_IP6_HLEN);
	p->l4_off = (uint16_t)(l3 + w.off);
	p->l4_len = (uint16_t)(tot - w.off);
	if (w.frag) {
		p->ip6_frag = true;
		p->ip6_frag_id = w.frag_id;
		p->frag_off = (uint16_t)(w.frag_field & ~7u);
		p->mf = w.frag_field & 1;
		p->frag_nonfirst = p->frag_off != 0;
		return XLB_PKT_E_IP6_FRAG;
	}

	l4 = data + p->l4_off;
	switch (p->proto) {
	case IPPROTO_TCP:
		return parse_tcp(l4, p);
	case IPPROTO_UDP:
		rc = parse_udp(l4, p);
		if (rc == XLB_PKT_OK && !xlb_load16(l4 + 6))
			return XLB_PKT_E_UDP6_CSUM_ZERO;
		return rc;
	case XLB_IP6_NH_ICMPV6:
		return parse_icmp6(data, l4, p);
	default:
		return XLB_PKT_OK;
	}
}

int xlb_pkt_parse_dual(const uint8_t *data, uint32_t len, struct xlb_pkt *p)
{
	uint16_t etype;
	int rc;

	memset(p, 0, XLB_PKT_V4_SIZE);
	rc = parse_l2(data, len, p, &etype);
	if (rc)
		return rc;
	if (etype == XLB_ETH_P_IP)
		return parse_ip4(data, len, p);
	if (etype != XLB_ETH_P_IPV6)
		return XLB_PKT_NOT_OURS;
	memset((uint8_t *)p + XLB_PKT_V4_SIZE, 0,
	       sizeof(*p) - XLB_PKT_V4_SIZE);
	return parse_ip6(data, len, p);
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
	case XLB_PKT_E_IP6_TRUNC:		return "truncated IPv6 header";
	case XLB_PKT_E_IP6_VERSION:		return "IP version is not 6";
	case XLB_PKT_E_IP6_PLEN_TRUNC:		return "IPv6 payload length beyond frame";
	case XLB_PKT_E_IP6_EXT_TRUNC:		return "IPv6 extension header beyond payload";
	case XLB_PKT_E_IP6_EXT_CHAIN:		return "IPv6 extension header chain too long or out of order";
	case XLB_PKT_E_IP6_ROUTING:		return "IPv6 routing header with segments left";
	case XLB_PKT_E_IP6_FRAG:		return "IPv6 fragment";
	case XLB_PKT_E_UDP6_CSUM_ZERO:		return "UDP over IPv6 without checksum";
	default:				return "unknown packet error";
	}
}

_Static_assert(-XLB_PKT_E_UDP6_CSUM_ZERO + 1 == XLB_PKT_ERR_COUNT,
	       "XLB_PKT_ERR_COUNT must cover every error class");
