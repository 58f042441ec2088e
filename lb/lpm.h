/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Longest-prefix match over IPv4 routes for the datapath: a full BGP table
 * (a million routes and more) with lookups that cost two memory reads, no
 * lock and no syscall, updated route by route as the kernel announces them.
 *
 * Why this and not the kernel's FIB. An RTM_GETROUTE per lookup is a
 * syscall and a context switch per packet; bpf_fib_lookup() exists only in
 * BPF programs, not on an AF_XDP worker. A private copy kept in step with
 * rtnetlink events is what routing daemons (and DPDK's rte_lpm users) do.
 *
 * Shape (DIR-16-8 plus a hash for long prefixes):
 *  - tbl16: one 32-bit entry per /16: the best route of length <= 16, or
 *    "extended": look at this /16's 256 entries of tbl24;
 *  - tbl24: one 32-bit entry per /24 (2^24 entries, reserved virtually
 *    and touched only for the /16s that hold longer prefixes, 1 KiB each):
 *    the best route of length <= 24, and a flag when longer prefixes
 *    exist inside this /24;
 *  - prefixes /25../32 in one open-addressing hash table (one 64-bit word
 *    per prefix), probed longest first over the lengths present (a bitmap),
 *    only for a /24 that is flagged.
 *  So 1,000,000 random /32s cost tens of MB, not the gigabyte a tbl8 group
 *  per /24 would (DIR-24-8).
 *
 * Each prefix may carry several routes (metrics); the lowest metric is the
 * one published, as the kernel chooses. Values are 24-bit (the caller's
 * next-hop ids). Every entry is one aligned word, updates go word by word,
 * and a sequence counter around every change lets readers detect (and
 * retry) a lookup that overlapped one; memory never moves or unmaps while
 * the table lives, so a racing read is never a fault.
 *
 * Threads: one writer (every function but the reader ones), any number of
 * readers. Addresses are in network order. Errors are negative errno.
 */
#ifndef XLB_LPM_H
#define XLB_LPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XLB_LPM_VAL_MAX		((1u << 24) - 1)

struct xlb_lpm_params {
	uint32_t routes_max;	/* routes held (all lengths, all metrics) */
	uint32_t long_max;	/* of which distinct /25../32 prefixes */
};

struct xlb_lpm;

void xlb_lpm_params_default(struct xlb_lpm_params *p);
int xlb_lpm_new(struct xlb_lpm **out, const struct xlb_lpm_params *p);	/* p may be NULL */
void xlb_lpm_free(struct xlb_lpm *l);	/* NULL is fine */

/*
 * Add or replace the route (dst/plen, metric prio) with value val. dst's
 * host bits are ignored. Returns 0 when new, 1 when it replaced a route
 * (its value in *old), -EINVAL (plen > 32, val > XLB_LPM_VAL_MAX), -ENOSPC
 * (routes_max or long_max reached: nothing changed).
 */
int xlb_lpm_add(struct xlb_lpm *l, uint32_t dst, uint8_t plen, uint32_t prio,
		uint32_t val, uint32_t *old);
/* Delete the route; its value in *old. 0 or -ENOENT. */
int xlb_lpm_del(struct xlb_lpm *l, uint32_t dst, uint8_t plen, uint32_t prio,
		uint32_t *old);

/*
 * Resynchronisation with a full dump: xlb_lpm_mark() starts a round, every
 * xlb_lpm_add() after it marks its route, and xlb_lpm_sweep() deletes the
 * routes not marked since, calling gone(val) for each. Readers see every
 * route that survives at all times (no empty table in between).
 */
void xlb_lpm_mark(struct xlb_lpm *l);
uint32_t xlb_lpm_sweep(struct xlb_lpm *l, void (*gone)(uint32_t val, void *arg),
		       void *arg);

/* Group several changes (and the caller's own data the values refer to)
 * under one sequence window; nests with the changes above. */
void xlb_lpm_write_begin(struct xlb_lpm *l);
void xlb_lpm_write_end(struct xlb_lpm *l);

uint32_t xlb_lpm_count(const struct xlb_lpm *l);	/* routes held */
/* Bytes of memory actually touched (resident), tables and index. */
size_t xlb_lpm_memory(const struct xlb_lpm *l);

/* ---- readers ---- */

/* The value of the longest prefix holding addr: 0, or -ENOENT (no route),
 * or -EAGAIN (the writer stayed inside a change for too long: try later). */
int xlb_lpm_lookup(const struct xlb_lpm *l, uint32_t addr, uint32_t *val);

/* For a reader that reads the caller's data behind the value too: begin
 * returns a sequence (odd: a change is under way, retry); retry() says
 * whether what was read since begin may be torn. */
uint32_t xlb_lpm_read_begin(const struct xlb_lpm *l);
bool xlb_lpm_read_retry(const struct xlb_lpm *l, uint32_t seq);
/* The lookup itself, inside a read_begin / read_retry pair. */
int xlb_lpm_find(const struct xlb_lpm *l, uint32_t addr, uint32_t *val);

#endif /* XLB_LPM_H */
