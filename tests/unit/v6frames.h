/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test helper for the IPv6 XDP tests (test_bpf_steer6.c, test_bpf_decap6.c):
 * Ethernet/IPv6 frames with extension headers, TCP, UDP and ICMPv6, built
 * byte by byte here (no lb/ code), checksums computed with fr_csum().
 * Header-only, static: each test file gets its own copy.
 */
#ifndef XLB_TEST_V6FRAMES_H
#define XLB_TEST_V6FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <criterion/criterion.h>

#include "frames.h"

#define V6_HOP		0
#define V6_ROUTING	43
#define V6_FRAGMENT	44
#define V6_ICMP		58
#define V6_DSTOPTS	60
#define V6_NONE		59

static inline void v6_addr(uint8_t out[16], const char *text)
{
	cr_assert_eq(inet_pton(AF_INET6, text, out), 1, "bad address %s", text);
}

static inline void v6_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Transport checksum over the IPv6 pseudo-header (RFC 8200 8.1). */
static inline uint16_t v6_l4_csum(const uint8_t *src, const uint8_t *dst,
				  uint8_t proto, const uint8_t *l4, size_t len)
{
	uint8_t ph[40] = { 0 };

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	ph[32] = (uint8_t)(len >> 24);
	ph[33] = (uint8_t)(len >> 16);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[39] = proto;
	return fr_csum(l4, len, (uint32_t)(uint16_t)~fr_csum(ph, sizeof(ph), 0));
}

/* A TCP (ACK, 20 bytes) or UDP header plus payload at p; checksum filled
 * for src -> dst. Returns its length. */
static inline size_t v6_l4(uint8_t *p, uint8_t proto, const uint8_t *src,
			   const uint8_t *dst, uint16_t sport, uint16_t dport,
			   const void *payload, size_t plen)
{
	size_t hl = proto == IPPROTO_TCP ? 20 : 8, n = hl + plen;
	uint16_t c;

	memset(p, 0, hl);
	v6_put16(p, sport);
	v6_put16(p + 2, dport);
	if (proto == IPPROTO_TCP) {
		p[4] = 0x11;		/* seq */
		p[11] = 0x22;		/* ack */
		p[12] = 5 << 4;
		p[13] = 0x10;		/* ACK */
		v6_put16(p + 14, 65535);
	} else {
		v6_put16(p + 4, (uint16_t)n);
	}
	if (plen)
		memcpy(p + hl, payload, plen);
	c = v6_l4_csum(src, dst, proto, p, n);
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	v6_put16(p + (proto == IPPROTO_TCP ? 16 : 6), c);
	return n;
}

/* An extension header (hop-by-hop, destination options: PadN filling;
 * routing: type 4 with segleft) of (len8 + 1) * 8 bytes at p. */
static inline size_t v6_ext(uint8_t *p, uint8_t type, uint8_t next,
			    uint8_t len8, uint8_t segleft)
{
	size_t n = ((size_t)len8 + 1) * 8;

	memset(p, 0, n);
	p[0] = next;
	p[1] = len8;
	if (type == V6_ROUTING) {
		p[2] = 4;		/* segment routing */
		p[3] = segleft;
	} else {
		p[2] = 1;		/* PadN over the rest */
		p[3] = (uint8_t)(n - 4);
	}
	return n;
}

/* A fragment header at p. */
static inline size_t v6_frag(uint8_t *p, uint8_t next, uint16_t offset8,
			     bool more)
{
	memset(p, 0, 8);
	p[0] = next;
	v6_put16(p + 2, (uint16_t)(offset8 << 3 | (more ? 1 : 0)));
	p[7] = 0x42;		/* identification */
	return 8;
}

/* Fixed IPv6 header at p: payload length plen, next header nh. */
static inline size_t v6_hdr(uint8_t *p, const uint8_t *src, const uint8_t *dst,
			    uint8_t nh, size_t plen, uint8_t hop_limit)
{
	p[0] = 0x60;
	p[1] = 0;
	p[2] = 0x12;		/* a flow label */
	p[3] = 0x34;
	v6_put16(p + 4, (uint16_t)plen);
	p[6] = nh;
	p[7] = hop_limit;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	return 40;
}

/* Ethernet header (02:..:01 <- 02:..:02, optional 802.1Q tag 7) with
 * ethertype at p. */
static inline size_t v6_eth(uint8_t *p, bool vlan, uint16_t ethertype)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	memcpy(p, macs, sizeof(macs));
	if (vlan) {
		v6_put16(p + 12, 0x8100);
		v6_put16(p + 14, 7);
		v6_put16(p + 16, ethertype);
		return 18;
	}
	v6_put16(p + 12, ethertype);
	return 14;
}

#endif
