// SPDX-License-Identifier: GPL-2.0
/* Internet checksum helpers: see csum.h for the byte-order convention. */
#include <string.h>
#include <arpa/inet.h>

#include "bytes.h"
#include "csum.h"
#include "../bpf/xlb_rewrite.h"

/* The fold and the incremental updates are the ones the XDP fast path
 * compiles too (bpf/xlb_rewrite.h): written once. */

uint32_t xlb_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;

	/* 32-bit words into a 64-bit accumulator: no carry is lost for any
	 * buffer an IPv4 packet can hold. */
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		acc += xlb_load16(p);
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the first byte of a zero-padded word; a
		 * native load of {b, 0} gives that word in packet order. */
		uint16_t w = 0;

		memcpy(&w, p, 1);
		acc += w;
	}
	acc = (acc & 0xFFFFFFFF) + (acc >> 32);
	acc = (acc & 0xFFFFFFFF) + (acc >> 32);
	return xlb_rw_fold32((uint32_t)(acc & 0xFFFF) + (uint32_t)(acc >> 16));
}

uint16_t xlb_csum_fold(uint32_t sum)
{
	return (uint16_t)~xlb_rw_fold32(sum);
}

uint16_t xlb_csum(const void *buf, size_t len)
{
	return xlb_csum_fold(xlb_csum_add(0, buf, len));
}

uint32_t xlb_csum_pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto,
			 uint16_t l4_len)
{
	uint32_t s = 0;

	s += saddr & 0xFFFF;
	s += saddr >> 16;
	s += daddr & 0xFFFF;
	s += daddr >> 16;
	s += htons(proto);
	s += htons(l4_len);
	return s;
}

uint16_t xlb_csum_l4(uint32_t saddr, uint32_t daddr, uint8_t proto,
		     const void *l4, uint16_t len)
{
	return xlb_csum_fold(xlb_csum_add(xlb_csum_pseudo(saddr, daddr, proto,
							  len), l4, len));
}

uint16_t xlb_csum_update16(uint16_t hc, uint16_t old, uint16_t new_)
{
	return xlb_rw_csum_update16(hc, old, new_);
}

uint16_t xlb_csum_update32(uint16_t hc, uint32_t old, uint32_t new_)
{
	return xlb_rw_csum_update32(hc, old, new_);
}

void xlb_csum_replace2(uint8_t *field, uint16_t old, uint16_t new_)
{
	xlb_rw_csum_replace2(field, old, new_);
}

void xlb_csum_replace4(uint8_t *field, uint32_t old, uint32_t new_)
{
	xlb_rw_csum_replace4(field, old, new_);
}

void xlb_csum_udp_replace2(uint8_t *field, uint16_t old, uint16_t new_)
{
	xlb_rw_udp_replace2(field, old, new_);
}

void xlb_csum_udp_replace4(uint8_t *field, uint32_t old, uint32_t new_)
{
	xlb_rw_udp_replace4(field, old, new_);
}

uint32_t xlb_csum_pseudo6(const void *saddr, const void *daddr, uint8_t proto,
			  uint32_t l4_len)
{
	uint32_t s = 0;

	/* The two addresses, then the length and next header as 32-bit
	 * words (RFC 8200 8.1), each summed as two 16-bit words. */
	s = xlb_csum_add(s, saddr, 16);
	s = xlb_csum_add(s, daddr, 16);
	s += htons((uint16_t)(l4_len >> 16));
	s += htons((uint16_t)l4_len);
	s += htons(proto);
	return s;
}

uint16_t xlb_csum_l4_6(const void *saddr, const void *daddr, uint8_t proto,
		       const void *l4, uint32_t len)
{
	return xlb_csum_fold(xlb_csum_add(xlb_csum_pseudo6(saddr, daddr, proto,
							   len), l4, len));
}

uint16_t xlb_csum_update128(uint16_t hc, const void *old, const void *new_)
{
	return xlb_rw_csum_update128(hc, old, new_);
}

void xlb_csum_replace16(uint8_t *field, const void *old, const void *new_)
{
	xlb_rw_csum_replace16(field, old, new_);
}
