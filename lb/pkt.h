/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet parsing for the datapath: Ethernet (+ one 802.1Q tag), IPv4 (with
 * options), TCP, UDP, ICMP, and the original datagram embedded in ICMP
 * errors. Pure functions over a byte buffer: no allocation, no syscalls,
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
#include <stdint.h>

#define XLB_ETH_HLEN		14
#define XLB_VLAN_HLEN		4
#define XLB_ETH_P_IP		0x0800
#define XLB_ETH_P_8021Q		0x8100
#define XLB_IP_HLEN		20	/* without options */
#define XLB_IPIP_HLEN		20	/* the outer header added by TUN */

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

/*
 * Result of xlb_pkt_parse(). 0 is a usable packet; XLB_PKT_NOT_OURS (> 0)
 * is a well-formed frame that is not IPv4 (ARP, IPv6, LLDP, a second VLAN
 * tag...), to be passed to the kernel, not counted as a drop. Each negative
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
	XLB_PKT_E_ICMP_INNER_BAD	= -18,	/* inner not IPv4 or IHL < 5 */
};

#define XLB_PKT_ERR_COUNT	19	/* counters[-err] for every err <= 0 */

struct xlb_pkt {
	/* L2: the Ethernet header is at offset 0 */
	uint16_t l3_off;	/* 14, or 18 with an 802.1Q tag */
	uint16_t vlan_tci;	/* host order, valid if has_vlan */
	bool     has_vlan;

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
};

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

/* A short constant description of a parse result (any int). */
const char *xlb_pkt_strerror(int err);

#endif /* XLB_PKT_H */
