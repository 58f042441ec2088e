/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An IPv4 or IPv6 address, as IPVS's union nf_inet_addr: the family travels
 * beside it (AF_INET or AF_INET6), never inside. An IPv4 address is in the
 * first four bytes (network order) and the other twelve are zero, so that
 * two addresses of one family compare and hash as 16 bytes.
 */
#ifndef XLB_INADDR_H
#define XLB_INADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

union xlb_inaddr {
	uint32_t ip;		/* AF_INET, network order */
	uint32_t ip6[4];	/* AF_INET6, network order */
	uint8_t  b[16];
	struct in6_addr in6;
};

_Static_assert(sizeof(union xlb_inaddr) == 16, "xlb_inaddr layout");

static inline union xlb_inaddr xlb_inaddr_v4(uint32_t ip_be)
{
	union xlb_inaddr a = { .ip6 = { ip_be, 0, 0, 0 } };

	return a;
}

static inline bool xlb_inaddr_eq(const union xlb_inaddr *a, const union xlb_inaddr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* Bytes of the address that count for a family: 4 or 16. */
static inline unsigned int xlb_inaddr_len(int af)
{
	return af == AF_INET6 ? 16 : 4;
}

#endif
