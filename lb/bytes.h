/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unaligned loads and stores of packet fields, as they sit in the packet
 * (no byte swapping): memcpy, which compilers turn into one move.
 */
#ifndef XLB_BYTES_H
#define XLB_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint16_t xlb_load16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static inline uint32_t xlb_load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline void xlb_store16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static inline void xlb_store32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

#endif /* XLB_BYTES_H */
