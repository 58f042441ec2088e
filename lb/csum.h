/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internet checksum helpers (RFC 1071, RFC 1624).
 *
 * Byte order: every 16- and 32-bit value passed to or returned by these
 * helpers is "as in the packet", i.e. loaded from or stored to the wire
 * bytes with memcpy, with no ntohs/ntohl. The one's complement sum is byte
 * order independent (RFC 1071 section 2(B)), so the helpers never swap and
 * a returned checksum is stored back with memcpy as is.
 *
 * Sums (uint32_t "sum" arguments) are partial, unfolded one's complement
 * accumulators; xlb_csum_fold() turns one into the 16-bit value to store.
 */
#ifndef XLB_CSUM_H
#define XLB_CSUM_H

#include <stddef.h>
#include <stdint.h>

#include "../bpf/xlb_rewrite.h"

/* Adds buf[0..len) to a partial sum. len may be odd (the last byte is
 * padded with a zero byte, as the RFC says). len is at most 64 KiB. */
uint32_t xlb_csum_add(uint32_t sum, const void *buf, size_t len);

/* Folds a partial sum to 16 bits and complements it: the checksum field. */
uint16_t xlb_csum_fold(uint32_t sum);

/* Full Internet checksum of a buffer (e.g. an IPv4 header whose checksum
 * field is zero, or an ICMP message). */
uint16_t xlb_csum(const void *buf, size_t len);

/* Partial sum of the IPv4 pseudo-header. saddr/daddr as in the packet;
 * proto and l4_len (TCP/UDP header + payload length) in host order. */
uint32_t xlb_csum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto,
			 uint16_t l4_len);

/* Full TCP/UDP checksum over pseudo-header + l4[0..len), the checksum field
 * inside l4 being zero. For UDP a result of 0 must be sent as 0xFFFF: use
 * xlb_csum_udp_fix(). */
uint16_t xlb_csum_l4(uint32_t saddr, uint32_t daddr, uint8_t proto,
		     const void *l4, uint16_t len);

/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the new checksum after a 16-bit
 * field changes from old to new. */
uint16_t xlb_csum_update16(uint16_t hc, uint16_t old, uint16_t new_);

/* Same for a 32-bit field (two 16-bit words), e.g. an IPv4 address. */
uint16_t xlb_csum_update32(uint16_t hc, uint32_t old, uint32_t new_);

/* In-place variants: field points at the checksum in the packet (any
 * alignment). */
void xlb_csum_replace2(uint8_t *field, uint16_t old, uint16_t new_);
void xlb_csum_replace4(uint8_t *field, uint32_t old, uint32_t new_);

/* UDP variants: a checksum of 0 means "no checksum" and stays 0; a
 * computed checksum of 0 is sent as 0xFFFF (RFC 768). */
void xlb_csum_udp_replace2(uint8_t *field, uint16_t old, uint16_t new_);
void xlb_csum_udp_replace4(uint8_t *field, uint32_t old, uint32_t new_);

/* ---- IPv6 (RFC 8200 8.1) ---- */

/* Partial sum of the IPv6 pseudo-header: saddr, daddr (16 bytes each, as
 * in the packet), the upper-layer length l4_len and next header proto
 * (host order). TCP, UDP and ICMPv6 (unlike ICMP) all cover it. */
uint32_t xlb_csum_pseudo6(const void *saddr, const void *daddr, uint8_t proto,
			  uint32_t l4_len);

/* Full TCP/UDP/ICMPv6 checksum over the IPv6 pseudo-header + l4[0..len),
 * the checksum field inside l4 being zero. For UDP a result of 0 must be
 * sent as 0xFFFF (xlb_csum_udp_fix()): over IPv6 a zero UDP checksum is
 * not "none" but invalid. */
uint16_t xlb_csum_l4_6(const void *saddr, const void *daddr, uint8_t proto,
		       const void *l4, uint32_t len);

/* RFC 1624 for a 16-byte field (an IPv6 address, in a pseudo-header). */
uint16_t xlb_csum_update128(uint16_t hc, const void *old, const void *new_);

/* In place (field: the checksum in the packet, any alignment). */
void xlb_csum_replace16(uint8_t *field, const void *old, const void *new_);

static inline uint16_t xlb_csum_udp_fix(uint16_t csum)
{
	return xlb_rw_udp_fix(csum);
}

#endif /* XLB_CSUM_H */
