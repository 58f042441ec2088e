/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlbd's health checker: one thread, one epoll loop with non-blocking
 * sockets and a timer heap, never on a datapath worker. It checks each
 * real server whose service (or itself) has a --check, with the real
 * server's own address and port (or --check-port), as keepalived does.
 *
 * Threads: the control thread calls xlb_health_tick() (every control
 * tick): when the tables changed, it hands the thread a new plan (the
 * checked servers with their effective checks and health generations);
 * and it applies the results the thread queued with xlb_tables_set_health,
 * so the tables keep their one writer. A server whose check and
 * generation are unchanged in a new plan keeps its state and its probe in
 * flight (an unrelated edit resets nothing); a re-added or re-checked one
 * starts afresh (up, as keepalived's checkers without "alpha").
 *
 * Probes are spread over the interval (each server's first probe at a
 * point of the interval given by a hash of its address), then run every
 * interval from the start of the previous one.
 *
 * UDP (keepalived's UDP_CHECK): a datagram is sent; an ICMP error (port
 * unreachable: ECONNREFUSED) within the timeout is a failure; a reply, or
 * silence for the whole timeout, is a success.
 * exec (MISC_CHECK): /bin/sh -c COMMAND xlb-check ADDR PORT, environment
 * plus XLB_RS_ADDR, XLB_RS_PORT, XLB_CHECK_PORT, XLB_VS_ADDR, XLB_VS_PORT,
 * XLB_VS_PROTO; exit 0 = up; killed (its process group) at the timeout.
 */
#ifndef XLB_HEALTH_H
#define XLB_HEALTH_H

#include <stddef.h>
#include <stdint.h>
#include "tables.h"

struct xlb_health;

/* Start the thread (no server checked until the first tick). 0 or -errno
 * with a sentence. */
int  xlb_health_start(struct xlb_health **out, struct xlb_tables *t, char *err, size_t errlen);
/* Stop the thread, kill probes in flight, free. NULL-safe. */
void xlb_health_stop(struct xlb_health *h);
/* Control thread: hand over a new plan when the tables changed, apply the
 * thread's results to the tables. */
void xlb_health_tick(struct xlb_health *h);
/* Control thread (any thread): the health of one checked server; 0, or
 * -ENOENT when it is not checked. */
int  xlb_health_info(struct xlb_health *h, const struct xlb_svc_key *svc,
		     const union xlb_inaddr *addr, uint16_t port, struct xlb_health_info *out);
/* Counters, group "health": checks, failed, changes, down, up, per kind
 * (tcp, http, udp, exec), servers checked, and the thread's CPU time. */
int  xlb_health_dump_counters(struct xlb_health *h, xlb_counter_emit_fn emit, void *arg);
/* CPU time the health thread used, nanoseconds. */
uint64_t xlb_health_cpu_ns(struct xlb_health *h);

#endif /* XLB_HEALTH_H */
