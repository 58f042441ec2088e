/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The director's own IPv4 addresses, followed from the kernel over
 * rtnetlink (RTM_GETADDR once, then RTM_NEWADDR / RTM_DELADDR events), for
 * xlb_steer's local_addrs map: packets from a NAT real server to one of
 * them are the director's own traffic, not replies to translate.
 *
 * An address held by several interfaces (a VIP on lo and on eth0) is
 * reported present while any of them holds it. After an event overrun
 * (ENOBUFS) everything is read again and only the differences reported.
 *
 * One control thread; errors are negative errno.
 */
#ifndef XLB_LOCALADDR_H
#define XLB_LOCALADDR_H

#include <stdbool.h>
#include <stdint.h>

/* addr (network order) became the director's (present) or stopped being. */
typedef void (*xlb_local_fn)(void *arg, uint32_t addr, bool present);

struct xlb_local_addrs;

/* Subscribes, then reads every current address, calling fn for each. */
int xlb_local_addrs_init(struct xlb_local_addrs **out, xlb_local_fn fn,
			 void *arg);
/* Applies every pending event (never blocks); the number of changes
 * reported, or -errno. */
int xlb_local_addrs_process(struct xlb_local_addrs *l);
/* The event socket, for a poll loop (optional: process() may just be
 * called now and then). */
int xlb_local_addrs_fd(const struct xlb_local_addrs *l);
void xlb_local_addrs_free(struct xlb_local_addrs *l);	/* NULL is fine */

#endif /* XLB_LOCALADDR_H */
