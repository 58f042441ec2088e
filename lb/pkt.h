/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet parsing for the datapath: Ethernet (+ one 802.1Q tag), IPv4 (with
 * options), TCP, UDP, ICMP, and the original datagram embedded in ICMP
 * errors; and, through xlb_pkt_parse_dual(), IPv6 (extension headers
 * skipped to the transport header), TCP, UDP and ICMPv6 the same way. Pure functions over a byte buffer: no allocation, no syscalls,
 * and every read is checked against the buffer length, so a malformed frame
 * gives an error code and never an out-of-bounds read.
 *
 * Lengths: L3/L4 lengths come from the IPv4 total length, never from the
 * buffer length, because a short frame carries Ethernet padding after the
 * datagram (legal, ignored). A buffer shorter than the total length is
 * truncated (an error).
 *
 * Byte order: addresses, ports, IP id and ICMP echo id are in network order
 * (as in the packet, as in xlb-t.h); lengths, offsets and the VLAN TCI are
 * host order.
 */
#ifndef XLB_PKT_H
#define XLB_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inaddr.h"

#define XLB_ETH_HLEN		14
#define XLB_VLAN_HLEN		4
#define XLB_ETH_P_IP		0x0800
#define XLB_ETH_P_8021Q		0x8100
#define XLB_IP_HLEN		20	/* without options */
#define XLB_IPIP_HLEN		20	/* the outer header added by TUN */
#define XLB_ETH_P_IPV6		0x86DD
#define XLB_IP6_HLEN		40	/* fixed header, no extensions */
#define XLB_IP6IP6_HLEN		40	/* the outer header added by TUN6 */
#define XLB_IP6_EXT_MAX		8	/* extension headers walked, at most */
#define XLB_IP6_MIN_MTU		1280	/* RFC 8200 5 */

/* IPv6 next header values the parser knows */
#define XLB_IP6_NH_HOPOPTS	0
#define XLB_IP6_NH_ROUTING	43
#define XLB_IP6_NH_FRAGMENT	44
#define XLB_IP6_NH_ICMPV6	58
#define XLB_IP6_NH_NONE		59
#define XLB_IP6_NH_DSTOPTS	60

/* IPv4 fragment field (host order) */
#define XLB_IP_DF		0x4000
#define XLB_IP_MF		0x2000
#define XLB_IP_OFFMASK		0x1FFF

/* TCP flags (byte 13 of the TCP header) */
#define XLB_TCP_FIN		0x01
#define XLB_TCP_SYN		0x02
#define XLB_TCP_RST		0x04
#define XLB_TCP_PSH		0x08
#define XLB_TCP_ACK		0x10

/* ICMP types the parser knows */
#define XLB_ICMP_ECHOREPLY	0
#define XLB_ICMP_DEST_UNREACH	3
#define XLB_ICMP_SOURCE_QUENCH	4
#define XLB_ICMP_ECHO		8
#define XLB_ICMP_TIME_EXCEEDED	11
#define XLB_ICMP_PARAMETERPROB	12
#define XLB_ICMP_FRAG_NEEDED	4	/* code, with DEST_UNREACH */

/* ICMPv6 types the parser knows (RFC 4443, RFC 4861) */
#define XLB_ICMP6_DEST_UNREACH	1
#define XLB_ICMP6_PKT_TOOBIG	2
#define XLB_ICMP6_TIME_EXCEEDED	3
#define XLB_ICMP6_PARAMPROB	4
#define XLB_ICMP6_ECHO		128
#define XLB_ICMP6_ECHOREPLY	129
#define XLB_ICMP6_ND_FIRST	133	/* router solicitation */
#define XLB_ICMP6_ND_LAST	137	/* redirect */

/*
 * Result of xlb_pkt_parse(). 0 is a usable packet; XLB_PKT_NOT_OURS (> 0)
 * is a well-formed frame that is not IPv4 (ARP, IPv6, LLDP, a second VLAN
 * tag...; for xlb_pkt_parse_dual(), not IPv4 nor IPv6), to be passed to the
 * kernel, not counted as a drop. Each negative
 * value is one class of malformed (or unusable) packet, so the datapath can
 * keep one drop counter per class: counters[-err], an array of
 * XLB_PKT_ERR_COUNT entries (entry 0 unused).
 */
enum xlb_pkt_err {
	XLB_PKT_OK			= 0,
	XLB_PKT_NOT_OURS		= 1,
	XLB_PKT_E_ETH_TRUNC		= -1,	/* < 14 bytes */
	XLB_PKT_E_VLAN_TRUNC		= -2,	/* 802.1Q tag cut short */
	XLB_PKT_E_IP_TRUNC		= -3,	/* < 20 bytes of IPv4 header */
	XLB_PKT_E_IP_VERSION		= -4,	/* EtherType IPv4, version != 4 */
	XLB_PKT_E_IHL_SHORT		= -5,	/* IHL < 5 */
	XLB_PKT_E_IHL_TRUNC		= -6,	/* IHL beyond the buffer */
	XLB_PKT_E_TOTLEN_TRUNC		= -7,	/* total length beyond buffer */
	XLB_PKT_E_TOTLEN_SHORT		= -8,	/* total length < IHL */
	/* Not malformed, but without an L4 header: L3 fields are filled. */
	XLB_PKT_E_FRAG			= -9,	/* non-first fragment */
	XLB_PKT_E_TCP_TRUNC		= -10,	/* < 20 bytes of TCP header */
	XLB_PKT_E_TCP_DOFF_SHORT	= -11,	/* data offset < 5 */
	XLB_PKT_E_TCP_DOFF_TRUNC	= -12,	/* data offset beyond datagram */
	XLB_PKT_E_UDP_TRUNC		= -13,	/* < 8 bytes of UDP header */
	XLB_PKT_E_UDP_LEN_SHORT		= -14,	/* UDP length < 8 */
	XLB_PKT_E_UDP_LEN_LONG		= -15,	/* UDP length > IP payload */
	XLB_PKT_E_ICMP_TRUNC		= -16,	/* < 8 bytes of ICMP header */
	XLB_PKT_E_ICMP_INNER_TRUNC	= -17,	/* error without inner IP
						 * header + 8 bytes */
	XLB_PKT_E_ICMP_INNER_BAD	= -18,	/* inner not IPv4 or IHL < 5;
						 * ICMPv6: inner not IPv6, or
						 * its extension chain too long */
	/* IPv6 (xlb_pkt_parse_dual() only). TCP, UDP and ICMPv6 headers
	 * give the classes above (ICMP_* for ICMPv6 too). */
	XLB_PKT_E_IP6_TRUNC		= -19,	/* < 40 bytes of IPv6 header */
	XLB_PKT_E_IP6_VERSION		= -20,	/* EtherType IPv6, version != 6 */
	XLB_PKT_E_IP6_PLEN_TRUNC	= -21,	/* payload length beyond the
						 * buffer (or the datagram over
						 * 65,535 bytes) */
	XLB_PKT_E_IP6_EXT_TRUNC		= -22,	/* extension header beyond the
						 * payload length */
	XLB_PKT_E_IP6_EXT_CHAIN		= -23,	/* > XLB_IP6_EXT_MAX extension
						 * headers, or hop-by-hop not
						 * first */
	XLB_PKT_E_IP6_ROUTING		= -24,	/* routing header with segments
						 * left: not the final
						 * destination yet */
	/* Not malformed, but reassembly is the kernel's: L3 fields filled. */
	XLB_PKT_E_IP6_FRAG		= -25,	/* fragment header (any) */
	XLB_PKT_E_UDP6_CSUM_ZERO	= -26,	/* UDP over IPv6 without a
						 * checksum (RFC 8200 8.1) */
};

#define XLB_PKT_ERR_COUNT	27	/* counters[-err] for every err <= 0 */

struct xlb_pkt {
	/* L2: the Ethernet header is at offset 0 */
	uint16_t l3_off;	/* 14, or 18 with an 802.1Q tag */
	uint16_t vlan_tci;	/* host order, valid if has_vlan */
	bool     has_vlan;
	uint8_t  af;		/* AF_INET or AF_INET6 once the L3 header
				 * parsed, else 0 */

	/* L3 */
	uint8_t  ihl;		/* header length in bytes, 20..60 */
	uint8_t  tos;
	uint8_t  ttl;		/* 0 is not a parse error: the caller decides */
	uint8_t  proto;
	uint16_t ip_len;	/* total length, host order */
	uint16_t ip_id;		/* network order */
	uint16_t frag_off;	/* fragment offset in BYTES (field * 8) */
	bool     df;
	bool     mf;		/* more fragments: a first fragment if
				 * frag_off == 0 */
	bool     frag_nonfirst;	/* frag_off != 0: no L4 header here */
	uint32_t saddr;
	uint32_t daddr;

	/* L4 (valid when the parse returned 0) */
	uint16_t l4_off;
	uint16_t l4_len;	/* ip_len - ihl: L4 header + payload */
	uint16_t l4_hlen;	/* TCP data offset in bytes, 8 for UDP and
				 * ICMP, 0 for other protocols */
	uint16_t sport;		/* TCP/UDP only */
	uint16_t dport;
	uint8_t  tcp_flags;
	uint8_t  icmp_type;
	uint8_t  icmp_code;
	uint16_t icmp_id;	/* echo request / reply only */

	/* ICMP errors (dest unreachable, source quench, time exceeded,
	 * parameter problem): the original datagram they quote. Its inner
	 * IPv4 header is complete and at least 8 bytes of its L4 header are
	 * present; its total length is not checked (it is quoted, cut). */
	bool     icmp_err;
	bool     inner_frag_nonfirst;	/* then inner ports are 0 */
	uint8_t  inner_ihl;
	uint8_t  inner_proto;
	uint16_t inner_l3_off;
	uint16_t inner_l4_off;
	uint16_t inner_l4_avail;	/* inner L4 bytes present, >= 8 */
	uint32_t inner_saddr;
	uint32_t inner_daddr;
	uint16_t inner_sport;		/* TCP/UDP; ICMP echo id in both */
	uint16_t inner_dport;

	/*
	 * IPv6 (af == AF_INET6). Only an IPv6 parse writes (and zeroes) what
	 * follows, so that an IPv4 parse costs what it did before IPv6: read
	 * it only when af == AF_INET6. An IPv6 parse fills the fields above
	 * the IPv4 way where they mean the same: l3_off, tos (traffic
	 * class), ttl (hop limit), proto (the transport's next header, after
	 * the extension headers), ip_len (40 + payload length: the whole
	 * datagram), l4_off, l4_len, l4_hlen, ports, flags, icmp_* (ICMPv6
	 * types), inner_* but the addresses; frag_off / mf / frag_nonfirst
	 * from a fragment header. ihl, ip_id, df, saddr, daddr and the
	 * inner IPv4 addresses are 0.
	 */
	union xlb_inaddr saddr6;
	union xlb_inaddr daddr6;
	uint32_t flow_lbl;		/* 20 bits, host order */
	uint16_t ip6_ext_len;		/* bytes of extension headers:
					 * l4_off = l3_off + 40 + this */
	uint8_t  ip6_n_ext;		/* how many, <= XLB_IP6_EXT_MAX */
	bool     ip6_frag;		/* a fragment header was found */
	uint32_t ip6_frag_id;		/* its identification, network order */
	bool     icmp6_nd;		/* neighbour discovery (133..137): the
					 * kernel's, never balanced */
	union xlb_inaddr inner_saddr6;	/* ICMPv6 errors: the quoted IPv6
					 * datagram (its extension headers
					 * skipped: inner_l4_off is its
					 * transport header) */
	union xlb_inaddr inner_daddr6;
};

/* Where the IPv6 part of struct xlb_pkt starts (see above). */
#define XLB_PKT_V4_SIZE		offsetof(struct xlb_pkt, saddr6)

/*
 * Parses the frame data[0..len) into *p. Returns XLB_PKT_OK, XLB_PKT_NOT_OURS
 * or a negative enum xlb_pkt_err. On XLB_PKT_E_FRAG the L2/L3 fields are
 * filled (for counting, or reassembly); on other errors *p is partial.
 *
 * A first fragment (MF set, offset 0) parses normally: its L4 header must be
 * in this fragment, and the UDP length may exceed this fragment's payload.
 * Protocols other than TCP/UDP/ICMP parse as OK with l4_hlen = 0.
 */
int xlb_pkt_parse(const uint8_t *data, uint32_t len, struct xlb_pkt *p);

/*
 * The same, and IPv6 frames too (EtherType 0x86DD, after an optional
 * 802.1Q tag): an IPv4 frame gives exactly what xlb_pkt_parse() gives (and
 * leaves the IPv6 part of *p alone); an IPv6 one sets af = AF_INET6 and the
 * fields struct xlb_pkt lists. Hop-by-hop (first only), routing (with no
 * segments left) and destination options headers are skipped, at most
 * XLB_IP6_EXT_MAX of them, each within the payload length; a fragment
 * header is XLB_PKT_E_IP6_FRAG (for the kernel: xlb never reassembles).
 * The transport is parsed as for IPv4: TCP, UDP (its checksum may not be
 * 0), ICMPv6 (errors 1..4 with the quoted IPv6 header, its extension
 * headers and 8 bytes of its transport header; echo id; icmp6_nd for
 * neighbour discovery); any other next header parses as OK with
 * l4_hlen = 0. Informational ICMPv6 (echo, ND, MLD...) is for the
 * kernel: see xlb_pkt_icmp6_for_kernel().
 */
int xlb_pkt_parse_dual(const uint8_t *data, uint32_t len, struct xlb_pkt *p);

/* An ICMPv6 message the datapath must hand to the kernel and never
 * balance nor translate: anything but the four errors (neighbour and
 * router discovery, echo, multicast listener...). */
static inline bool xlb_pkt_icmp6_for_kernel(const struct xlb_pkt *p)
{
	return p->af == AF_INET6 && p->proto == XLB_IP6_NH_ICMPV6 &&
	       !p->icmp_err;
}

/* A short constant description of a parse result (any int). */
const char *xlb_pkt_strerror(int err);

#endif /* XLB_PKT_H */
