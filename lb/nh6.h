/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IPv6 next hops, minimal (issue 14, phase 2): the kernel's IPv6 route to a
 * destination (RTM_GETROUTE) and its neighbour's MAC (RTM_GETNEIGH, NDP
 * done by the kernel: a datagram to port 9 makes it resolve), cached for
 * the workers in a fixed table the control thread refreshes each tick.
 * A stand-in until lb/nexthop.c learns IPv6 (routes and neighbour events):
 * no netlink events, a fixed refresh interval, no eviction (a full table
 * refuses new destinations, counted as a pending next hop).
 */
#ifndef XLB_NH6_H
#define XLB_NH6_H

#include <stdbool.h>
#include <stdint.h>

#include "inaddr.h"

struct xlb_nh6s {
	int      ifindex;		/* egress interface */
	uint8_t  smac[6];		/* its MAC */
	uint8_t  dmac[6];		/* the next hop's MAC */
	union xlb_inaddr src;		/* director's address towards addr */
	uint32_t mtu;			/* egress MTU: link, or route if lower */
	bool     gw;			/* through a gateway (not on-link) */
};

/* Resolves addr now (control thread). 0 with *out complete; -EAGAIN when
 * the neighbour is not known yet (the kernel was asked to resolve it);
 * -ENETUNREACH etc. without a usable route. */
int xlb_nh6_route(const union xlb_inaddr *addr, struct xlb_nh6s *out);

struct xlb_nh6_cache;

int xlb_nh6_cache_init(struct xlb_nh6_cache **out);
void xlb_nh6_cache_free(struct xlb_nh6_cache *c);	/* NULL is fine */

/* Workers: 0 with *out; -EAGAIN while pending (the first call asks the
 * control thread for it); -ENOSPC when the table is full; other negative
 * errno when the kernel has no route. Lock-free. */
int xlb_nh6_lookup(struct xlb_nh6_cache *c, const union xlb_inaddr *addr,
		   struct xlb_nh6s *out);

/* Control thread: resolves what workers asked for and refreshes the rest
 * (every XLB_NH6_REFRESH_MS, pending ones every 200 ms). */
#define XLB_NH6_REFRESH_MS	2000
void xlb_nh6_cache_tick(struct xlb_nh6_cache *c, uint64_t now_ms);

#endif
