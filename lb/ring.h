/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Consistent-hash ring with virtual nodes: the "ring" scheduler.
 *
 * As nginx's hash module, building the ring (configuration time) is apart
 * from finding a point (per new flow): xlb_ring_build() makes an immutable
 * ring, xlb_ring_lookup() only reads it, so any number of datapath threads
 * may look up concurrently while the control thread builds the next ring and
 * swaps a pointer; nothing is ever modified in place.
 *
 * Points. Member i owns about weight_i x vnodes points on a 32-bit ring; the
 * position of its point j is xlb_hash_point(addr, port, j, seed), so it
 * depends on the member's identity (addr, port), never on its position in
 * the array. The points are sorted by (value, identity); when two members
 * hash a point to the same value, the one with the lower identity (address,
 * then port, compared in host order) owns it and the other copy is dropped.
 * So the ring is a function of the configuration alone (members, weights,
 * vnodes, seed): a restarted director, or several directors behind ECMP,
 * choose the same member for the same flow, whatever order the members were
 * given in. Two rings are equal when their sequences of (point, owner
 * identity) are; xlb_ring_equal() compares exactly that.
 *
 * Because point j of a member does not depend on its count of points, a
 * member whose count grows keeps all its old points and only gains new ones:
 * raising one weight moves keys onto that member only, removing a member or
 * setting its weight to 0 moves only that member's keys. (This holds while
 * the scale below stays the same, which it does unless the total crosses
 * the point cap.)
 *
 * Size. weight x vnodes points per member while the total stays within
 * XLB_RING_POINTS_MAX (2^20). Beyond that every member's count is divided by
 * the same power of two 2^k (rounded to nearest, and at least 1 point for any
 * weight > 0), with the smallest k that brings the total within the cap;
 * proportions are kept to within one point per member. A ring therefore
 * needs at most 2^20 x 8 bytes = 8 MiB (plus a lookup table of at most 2 MiB)
 * however large the weights, which matters because the daemon holds one ring
 * per service and two of them while swapping. The only way past the cap is
 * more than 2^20 members of weight > 0, each of which keeps its one point.
 *
 * Why not divide the weights by their gcd first, as DPVS does: the gcd
 * changes when one member's weight changes (weights 2,2,2,1 -> 2,2,2 halves
 * every member's points) and that would move keys between members that were
 * not touched. The power-of-two scale changes only when the total crosses
 * the cap, i.e. with very large weights.
 *
 * Lookup. The first point clockwise from the hash (the first point >= hash,
 * wrapping past the last point to the first) names the member. A table
 * indexed by the top bits of the hash (about one bucket per two points)
 * gives the first point of the hash's bucket; a search with the same number
 * of branch-free halving steps for every lookup (log2 of the largest bucket,
 * typically 3 to 4) finishes in the bucket. No data-dependent branch, so no
 * misprediction per lookup: see tests/bench/ring_bench.c for the numbers.
 *
 * Building sorts the points with a radix sort in linear time; it needs
 * 16 bytes per point of scratch memory while it runs (16 MiB at the cap).
 */
#ifndef XLB_RING_H
#define XLB_RING_H

#include <stdbool.h>
#include <stdint.h>
#include "inaddr.h"

#define XLB_RING_POINTS_MAX	(1u << 20)

struct xlb_ring_member {	/* identity of a real server on the ring */
	uint32_t addr;		/* IPv4 RIP, network order (af 0 or AF_INET) */
	uint16_t port;		/* network order */
	uint8_t  af;		/* 0 or AF_INET: addr; AF_INET6: addr6 */
	uint8_t  pad;
	uint32_t weight;	/* 0..65535; 0 = no points (quiesced) */
	union xlb_inaddr addr6;	/* IPv6 RIP, network order (AF_INET6) */
};

struct xlb_ring;		/* immutable once built */

/*
 * Build a ring over n members, vnodes points per unit of (scaled) weight,
 * hash seed. 0 or -errno: -EINVAL on bad arguments (out NULL, m NULL with
 * n > 0, n > INT_MAX, vnodes == 0, a weight above XLB_WEIGHT_MAX, two
 * members with the same (addr, port), even of weight 0), -ENOMEM. n == 0 or all weights 0 build a ring with no
 * points, on which every lookup is -ENOENT.
 */
int xlb_ring_build(struct xlb_ring **out, const struct xlb_ring_member *m, uint32_t n,
		   uint32_t vnodes, uint32_t seed);

/*
 * Index (into the member array given to build) of the member owning the
 * first point clockwise from hash, or -ENOENT when no member has
 * weight > 0. Lock-free, read-only.
 */
int xlb_ring_lookup(const struct xlb_ring *r, uint32_t hash);

void xlb_ring_free(struct xlb_ring *r);		/* NULL-safe */

/* Number of distinct points on the ring. */
uint32_t xlb_ring_points(const struct xlb_ring *r);

/* Number of members given to build (including weight-0 ones). */
uint32_t xlb_ring_members(const struct xlb_ring *r);

/*
 * Point i (0 <= i < xlb_ring_points(), ascending): its value in *value and,
 * as return value, its owner's index into the member array; -ERANGE when i
 * is out of range. For tests and for showing the ring to an operator.
 */
int xlb_ring_point(const struct xlb_ring *r, uint32_t i, uint32_t *value);

/* Same sequence of (point, owner identity): the same scheduling decisions. */
bool xlb_ring_equal(const struct xlb_ring *a, const struct xlb_ring *b);

#endif /* XLB_RING_H */
