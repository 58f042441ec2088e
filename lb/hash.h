/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Flow hashes for the scheduler.
 *
 * All inputs are taken as the raw values the caller holds (network byte order
 * for addresses and ports, as everywhere in xlb), so the datapath hashes the
 * header fields without swapping them. The hashes are therefore only
 * comparable between hosts of the same endianness; directors behind one ECMP
 * group are expected to be of one architecture.
 *
 * The mixing is MurmurHash3 (x86_32): one multiply-rotate-multiply per 32-bit
 * word and the fmix32 finalizer, which avalanches (each input bit flips each
 * output bit with probability close to 1/2). Each function hashes a different
 * length, so the same bits fed to two of them give unrelated results.
 */
#ifndef XLB_HASH_H
#define XLB_HASH_H

#include <stdint.h>

/* MurmurHash3 (x86_32) building blocks, also used by the connection table. */
static inline uint32_t xlb_mm3_round(uint32_t h, uint32_t k)
{
	k *= 0xcc9e2d51u;
	k = (k << 15) | (k >> 17);
	k *= 0x1b873593u;
	h ^= k;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64u;
}

/* The finalizer: full avalanche over the last block. */
static inline uint32_t xlb_mm3_fmix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Default key of a service: the 5-tuple. */
uint32_t xlb_hash_flow(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		       uint8_t proto, uint32_t seed);

/* Persistent services (-p): the client address only, as IPVS persistence. */
uint32_t xlb_hash_addr(uint32_t saddr, uint32_t seed);

/*
 * Position on the ring of point number index of the member (addr, port):
 * depends on configuration only, never on where the member sits in an array.
 */
uint32_t xlb_hash_point(uint32_t addr, uint16_t port, uint32_t index, uint32_t seed);

/*
 * The same three for IPv6 (addresses as four network-order words, as
 * union xlb_inaddr's ip6): each hashes a length of its own, so an IPv6
 * input never collides by construction with an IPv4 one, and the IPv4
 * functions above are unchanged.
 */
uint32_t xlb_hash_flow6(const uint32_t saddr[4], const uint32_t daddr[4], uint16_t sport,
			uint16_t dport, uint8_t proto, uint32_t seed);
uint32_t xlb_hash_addr6(const uint32_t saddr[4], uint32_t seed);
uint32_t xlb_hash_point6(const uint32_t addr[4], uint16_t port, uint32_t index, uint32_t seed);

#endif /* XLB_HASH_H */
