// SPDX-License-Identifier: GPL-2.0
/*
 * MurmurHash3 x86_32 (Austin Appleby, public domain) specialised to a few
 * 32-bit words, so the compiler unrolls it into straight-line code with no
 * byte loads or tail handling.
 */
#include "hash.h"

#define MM3_C1	0xcc9e2d51u
#define MM3_C2	0x1b873593u

static inline uint32_t rotl32(uint32_t x, unsigned int r)
{
	return (x << r) | (x >> (32 - r));
}

static inline uint32_t mm3_round(uint32_t h, uint32_t k)
{
	k *= MM3_C1;
	k = rotl32(k, 15);
	k *= MM3_C2;
	h ^= k;
	h = rotl32(h, 13);
	return h * 5 + 0xe6546b64u;
}

/* The finalizer is what gives full avalanche over the last block. */
static inline uint32_t mm3_fmix(uint32_t h, uint32_t len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

uint32_t xlb_hash_flow(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		       uint8_t proto, uint32_t seed)
{
	uint32_t h = seed;

	h = mm3_round(h, saddr);
	h = mm3_round(h, daddr);
	/* Ports in one word in a fixed order: swapping them changes the hash. */
	h = mm3_round(h, (uint32_t)sport | (uint32_t)dport << 16);
	h = mm3_round(h, proto);
	return mm3_fmix(h, 13);
}

uint32_t xlb_hash_addr(uint32_t saddr, uint32_t seed)
{
	return mm3_fmix(mm3_round(seed, saddr), 4);
}

uint32_t xlb_hash_point(uint32_t addr, uint16_t port, uint32_t index, uint32_t seed)
{
	uint32_t h = seed;

	h = mm3_round(h, addr);
	h = mm3_round(h, port);
	h = mm3_round(h, index);
	return mm3_fmix(h, 10);
}
