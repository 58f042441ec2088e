// SPDX-License-Identifier: GPL-2.0
/*
 * MurmurHash3 x86_32 (Austin Appleby, public domain) specialised to a few
 * 32-bit words, so the compiler unrolls it into straight-line code with no
 * byte loads or tail handling.
 */
#include "hash.h"

/* Murmur's finalizer takes the input length first. */
static inline uint32_t mm3_fmix(uint32_t h, uint32_t len)
{
	return xlb_mm3_fmix(h ^ len);
}

uint32_t xlb_hash_flow(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		       uint8_t proto, uint32_t seed)
{
	uint32_t h = seed;

	h = xlb_mm3_round(h, saddr);
	h = xlb_mm3_round(h, daddr);
	/* Ports in one word in a fixed order: swapping them changes the hash. */
	h = xlb_mm3_round(h, (uint32_t)sport | (uint32_t)dport << 16);
	h = xlb_mm3_round(h, proto);
	return mm3_fmix(h, 13);
}

uint32_t xlb_hash_addr(uint32_t saddr, uint32_t seed)
{
	return mm3_fmix(xlb_mm3_round(seed, saddr), 4);
}

uint32_t xlb_hash_flow6(const uint32_t saddr[4], const uint32_t daddr[4], uint16_t sport,
			uint16_t dport, uint8_t proto, uint32_t seed)
{
	uint32_t h = seed;

	for (int i = 0; i < 4; i++)
		h = xlb_mm3_round(h, saddr[i]);
	for (int i = 0; i < 4; i++)
		h = xlb_mm3_round(h, daddr[i]);
	h = xlb_mm3_round(h, (uint32_t)sport | (uint32_t)dport << 16);
	h = xlb_mm3_round(h, proto);
	return mm3_fmix(h, 37);
}

uint32_t xlb_hash_addr6(const uint32_t saddr[4], uint32_t seed)
{
	uint32_t h = seed;

	for (int i = 0; i < 4; i++)
		h = xlb_mm3_round(h, saddr[i]);
	return mm3_fmix(h, 16);
}

uint32_t xlb_hash_point6(const uint32_t addr[4], uint16_t port, uint32_t index, uint32_t seed)
{
	uint32_t h = seed;

	for (int i = 0; i < 4; i++)
		h = xlb_mm3_round(h, addr[i]);
	h = xlb_mm3_round(h, port);
	h = xlb_mm3_round(h, index);
	return mm3_fmix(h, 22);
}

uint32_t xlb_hash_point(uint32_t addr, uint16_t port, uint32_t index, uint32_t seed)
{
	uint32_t h = seed;

	h = xlb_mm3_round(h, addr);
	h = xlb_mm3_round(h, port);
	h = xlb_mm3_round(h, index);
	return mm3_fmix(h, 10);
}
