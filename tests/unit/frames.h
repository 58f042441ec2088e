/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test helper: crafts Ethernet/IPv4/TCP/UDP/ICMP/IP-in-IP frames with
 * correct checksums, and verifies every checksum of a frame from scratch.
 * Written independently of lb/ (no lb/csum.c), so that a test compares the
 * library's output with a second implementation.
 */
#ifndef XLB_TEST_FRAMES_H
#define XLB_TEST_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fr_spec {
	bool     no_eth;	/* start at the IP header (for quoting) */
	uint8_t  dmac[6];
	uint8_t  smac[6];
	bool     vlan;
	uint16_t vlan_tci;

	uint8_t  tos;
	uint8_t  ttl;		/* as given: 0 stays 0 */
	uint16_t id;		/* host order */
	uint16_t frag;		/* DF/MF flags + offset field, host order */
	const uint8_t *ip_opts;	/* multiple of 4 bytes, <= 40 */
	uint8_t  ip_opts_len;
	uint8_t  proto;		/* TCP, UDP, ICMP; anything else: payload
				 * only (e.g. 4 for IP-in-IP) */
	uint32_t saddr;		/* network order */
	uint32_t daddr;

	uint16_t sport;		/* host order */
	uint16_t dport;
	uint8_t  tcp_flags;
	uint8_t  tcp_opts_len;	/* NOPs, multiple of 4 */
	bool     udp_no_csum;	/* send a zero UDP checksum */
	uint8_t  icmp_type;
	uint8_t  icmp_code;
	uint32_t icmp_rest;	/* bytes 4..7 of the ICMP header, host order */

	const uint8_t *payload;
	uint16_t payload_len;
	uint16_t eth_pad;	/* zero bytes after the datagram */
};

/* Default spec: MACs 02:00:00:00:00:01 <- 02:00:00:00:00:02, TTL 64,
 * 10.0.0.1:40000 -> 10.0.0.100:80, TCP ACK. */
struct fr_spec fr_default(uint8_t proto);

/* Writes the frame into buf and returns its length; aborts if cap is too
 * small. */
size_t fr_build(uint8_t *buf, size_t cap, const struct fr_spec *s);

/* Network-order IPv4 address from dotted text. */
uint32_t fr_ip(const char *dotted);

/* RFC 1071 checksum, computed bytewise big-endian (no lb/ code). */
uint16_t fr_csum(const uint8_t *buf, size_t len, uint32_t initial);

/*
 * Checks every checksum of an Ethernet frame (vlan optional): the IPv4
 * header, TCP/UDP with pseudo-header (a zero UDP checksum is accepted),
 * ICMP over the whole message, and inside ICMP errors the quoted IPv4
 * header and (if quoted whole) the quoted TCP/UDP; IP-in-IP recursively.
 * Returns NULL if all are right, else a description of the first wrong one.
 */
const char *fr_verify(const uint8_t *frame, size_t len);

/* 16-bit big-endian field at off, as a host value. */
uint16_t fr_get16(const uint8_t *buf, size_t off);

/* ---- IPv6 (fr_verify() checks these too: TCP/UDP/ICMPv6 checksums over
 * the IPv6 pseudo-header, a zero UDP checksum being an error, quoted
 * datagrams of ICMPv6 errors, IPv6-in-IPv6 and IPv4-in-IPv6) ---- */

struct fr6_spec {
	bool     no_eth;	/* start at the IPv6 header (for quoting) */
	uint8_t  dmac[6];
	uint8_t  smac[6];
	bool     vlan;
	uint16_t vlan_tci;

	uint8_t  tclass;
	uint32_t flow;		/* 20 bits */
	uint8_t  hlim;		/* as given: 0 stays 0 */
	uint8_t  saddr[16];
	uint8_t  daddr[16];
	/* Extension headers, raw, in front of the transport header: the
	 * IPv6 next header is ext_nh when ext_len > 0 (the caller chains
	 * them, the last one naming proto; fr6_ext() does). */
	const uint8_t *ext;
	uint16_t ext_len;
	uint8_t  ext_nh;
	uint8_t  proto;		/* TCP, UDP, ICMPv6 (58); anything else:
				 * payload only (41, 4 for tunnels) */

	uint16_t sport;		/* host order */
	uint16_t dport;
	uint8_t  tcp_flags;
	bool     udp_no_csum;
	uint8_t  icmp_type;
	uint8_t  icmp_code;
	uint32_t icmp_rest;	/* bytes 4..7, host order */

	const uint8_t *payload;
	uint16_t payload_len;
	uint16_t eth_pad;
};

/* MACs as fr_default(), hop limit 64, flow label 0x12345, traffic class 0,
 * [2001:db8::1]:40000 -> [2001:db8::100]:80, TCP ACK. */
struct fr6_spec fr6_default(uint8_t proto);

size_t fr6_build(uint8_t *buf, size_t cap, const struct fr6_spec *s);

/* 16 bytes of an IPv6 address from text, into out. */
void fr6_ip(uint8_t out[16], const char *text);

/* Writes n extension headers of 8 bytes (PadN options; a routing header
 * type 4 with 0 segments left) of the given types into out, chained, the
 * last naming proto. Returns 8 * n. */
size_t fr6_ext(uint8_t *out, const uint8_t *types, int n, uint8_t proto);

#endif /* XLB_TEST_FRAMES_H */
