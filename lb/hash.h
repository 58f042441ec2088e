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

#endif /* XLB_HASH_H */
