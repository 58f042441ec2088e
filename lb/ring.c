// SPDX-License-Identifier: GPL-2.0
/*
 * Consistent-hash ring: build (sort the members' points) apart from lookup
 * (table on the top bits, then a binary search in one bucket). See ring.h
 * for the rules the ring follows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "ring.h"
#include "xlb-t.h"

struct xlb_ring {
	uint32_t npoints;
	uint32_t nmembers;
	uint32_t shift;		/* bucket of a hash = hash >> shift */
	uint32_t first_step;	/* w / 2, w = smallest 2^k >= largest bucket */
	uint32_t *value;	/* npoints ascending values, then w x UINT32_MAX */
	uint32_t *owner;	/* npoints member indices */
	uint32_t *bucket;	/* (1 << (32 - shift)) + 1 first-point indices */
	struct xlb_ring_member *member;	/* copy: identities for xlb_ring_equal */
};

static bool member_v6(const struct xlb_ring_member *m)
{
	return m->af == AF_INET6;
}

/* Identity order: family (IPv4 first), address then port, in host order so
 * it reads naturally. */
static int member_cmp(const struct xlb_ring_member *a, const struct xlb_ring_member *b)
{
	uint32_t aa = ntohl(a->addr), ba = ntohl(b->addr);
	uint16_t ap = ntohs(a->port), bp = ntohs(b->port);

	if (member_v6(a) != member_v6(b))
		return member_v6(a) ? 1 : -1;
	if (member_v6(a)) {
		int c = memcmp(&a->addr6, &b->addr6, sizeof(a->addr6));

		if (c)
			return c < 0 ? -1 : 1;
	} else if (aa != ba)
		return aa < ba ? -1 : 1;
	if (ap != bp)
		return ap < bp ? -1 : 1;
	return 0;
}

static int rank_cmp(const void *x, const void *y, void *arg)
{
	const struct xlb_ring_member *m = arg;

	return member_cmp(&m[*(const uint32_t *)x], &m[*(const uint32_t *)y]);
}

/* Points of one member at scale 2^-k: rounded, never 0 for weight > 0. */
static uint64_t member_points(uint32_t weight, uint32_t vnodes, unsigned int k)
{
	uint64_t units = (uint64_t)weight * vnodes;	/* < 2^48 */
	uint64_t p;

	if (!weight)
		return 0;
	p = k ? (units + (1ull << (k - 1))) >> k : units;
	return p ? p : 1;
}

/* Total points at scale 2^-k, or XLB_RING_POINTS_MAX + 1 once past the cap. */
static uint64_t total_points(const struct xlb_ring_member *m, uint32_t n, uint32_t vnodes,
			     unsigned int k)
{
	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i < n; i++) {
		sum += member_points(m[i].weight, vnodes, k);
		if (sum > XLB_RING_POINTS_MAX)
			return XLB_RING_POINTS_MAX + 1ull;
	}
	return sum;
}

/*
 * LSD radix sort on bytes, skipping the bytes that are equal in every key
 * (the high bytes of the rank, for any real number of members): linear time
 * keeps building a million points in milliseconds. Returns the buffer that
 * holds the sorted keys.
 */
static uint64_t *radix_sort(uint64_t *a, uint64_t *tmp, size_t n)
{
	size_t count[256];
	unsigned int byte;
	size_t i;

	for (byte = 0; byte < 8; byte++) {
		unsigned int shift = byte * 8;
		size_t pos = 0;
		uint64_t *t;

		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(a[i] >> shift) & 0xff]++;
		if (n == 0 || count[(a[0] >> shift) & 0xff] == n)
			continue;
		for (i = 0; i < 256; i++) {
			size_t c = count[i];

			count[i] = pos;
			pos += c;
		}
		for (i = 0; i < n; i++)
			tmp[count[(a[i] >> shift) & 0xff]++] = a[i];
		t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

static unsigned int bucket_bits(uint32_t npoints)
{
	unsigned int b = 1;

	/* About two points per bucket: a table half the size of the points. */
	while (b < 24 && (2ull << b) < npoints)
		b++;
	return b;
}

int xlb_ring_build(struct xlb_ring **out, const struct xlb_ring_member *m, uint32_t n,
		   uint32_t vnodes, uint32_t seed)
{
	uint64_t *keys = NULL, *tmp = NULL, *sorted, total;
	uint32_t *rank = NULL, i, j, d, w, run, nbuckets;
	struct xlb_ring *r = NULL;
	unsigned int k, b;
	size_t size;
	uint64_t t;
	int err;

	if (!out || (!m && n) || !vnodes || n > INT_MAX)
		return -EINVAL;
	*out = NULL;
	for (i = 0; i < n; i++)
		if (m[i].weight > XLB_WEIGHT_MAX)
			return -EINVAL;

	/* Ranks in identity order: finds duplicates and breaks point ties. */
	rank = malloc((n ? n : 1) * sizeof(*rank));
	if (!rank)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		rank[i] = i;
	qsort_r(rank, n, sizeof(*rank), rank_cmp, (void *)m);
	for (i = 1; i < n; i++) {
		if (!member_cmp(&m[rank[i - 1]], &m[rank[i]])) {
			err = -EINVAL;
			goto out_err;
		}
	}

	/* Smallest power-of-two scale that fits the cap (see ring.h). */
	for (k = 0; k < 49; k++)
		if (total_points(m, n, vnodes, k) <= XLB_RING_POINTS_MAX)
			break;
	total = 0;
	for (i = 0; i < n; i++)
		total += member_points(m[i].weight, vnodes, k);
	/* total <= max(cap, n) <= INT_MAX: point indices fit in uint32_t. */

	keys = malloc((total ? total : 1) * sizeof(*keys));
	tmp = malloc((total ? total : 1) * sizeof(*tmp));
	if (!keys || !tmp) {
		err = -ENOMEM;
		goto out_err;
	}
	/* key = point value, then owner's identity rank: the sort order. */
	t = 0;
	for (i = 0; i < n; i++) {
		const struct xlb_ring_member *mi = &m[rank[i]];
		uint64_t p = member_points(mi->weight, vnodes, k), pj;

		for (pj = 0; pj < p; pj++)
			keys[t++] = (uint64_t)(member_v6(mi) ?
				xlb_hash_point6(mi->addr6.ip6, mi->port, pj, seed) :
				xlb_hash_point(mi->addr, mi->port, pj, seed)) << 32 | i;
	}
	sorted = radix_sort(keys, tmp, total);

	/* Equal values: the lowest identity sorts first and keeps the point. */
	d = 0;
	for (t = 0; t < total; t++)
		if (!t || sorted[t] >> 32 != sorted[d - 1] >> 32)
			sorted[d++] = sorted[t];

	/* Window of 2^k >= the largest bucket: the search has k + 1 steps. */
	b = bucket_bits(d);
	nbuckets = 1u << b;
	w = 1;
	for (t = 0, run = 0; t < d; t++) {
		if (t && sorted[t] >> (64 - b) != sorted[t - 1] >> (64 - b))
			run = 0;
		while (w < ++run)
			w <<= 1;
	}

	/* The window may run past the last point: w values of padding. */
	size = sizeof(*r) + ((size_t)d * 2 + w + nbuckets + 1) * sizeof(uint32_t) +
	       (size_t)n * sizeof(*r->member);
	r = calloc(1, size);
	if (!r) {
		err = -ENOMEM;
		goto out_err;
	}
	r->npoints = d;
	r->nmembers = n;
	r->shift = 32 - b;
	r->first_step = w / 2;
	r->value = (uint32_t *)(r + 1);
	r->owner = r->value + d + w;
	r->bucket = r->owner + d;
	r->member = (struct xlb_ring_member *)(r->bucket + nbuckets + 1);
	if (n)
		memcpy(r->member, m, (size_t)n * sizeof(*m));

	for (j = 0; j < d; j++) {
		r->value[j] = sorted[j] >> 32;
		r->owner[j] = rank[(uint32_t)sorted[j]];
	}
	for (j = d; j < d + w; j++)
		r->value[j] = UINT32_MAX;
	/* bucket[x] = index of the first point >= x << shift. */
	j = 0;
	for (i = 0; i <= nbuckets; i++) {
		uint64_t start = (uint64_t)i << r->shift;

		while (j < d && r->value[j] < start)
			j++;
		r->bucket[i] = j;
	}

	free(keys);
	free(tmp);
	free(rank);
	*out = r;
	return 0;

out_err:
	free(keys);
	free(tmp);
	free(rank);
	return err;
}

int xlb_ring_lookup(const struct xlb_ring *r, uint32_t hash)
{
	const uint32_t *v;
	uint32_t i, step;

	if (!r || !r->npoints)
		return -ENOENT;
	v = r->value;
	i = r->bucket[hash >> r->shift];
	/*
	 * The points < hash in [i, i + 2 * first_step) are those of this
	 * bucket, a prefix of the window; count them by halving steps. The
	 * number of steps is the same for every lookup and the compare is a
	 * conditional move, so nothing here mispredicts: random hashes would
	 * mispredict a data-dependent branch about every other lookup. Points
	 * of later buckets and the UINT32_MAX padding compare as >= hash.
	 */
	for (step = r->first_step; step; step >>= 1)
		i = v[i + step - 1] < hash ? i + step : i;
	i += v[i] < hash;
	if (i >= r->npoints)
		i = 0;		/* past the last point: wrap to the first */
	return (int)r->owner[i];
}

void xlb_ring_free(struct xlb_ring *r)
{
	free(r);
}

uint32_t xlb_ring_points(const struct xlb_ring *r)
{
	return r ? r->npoints : 0;
}

uint32_t xlb_ring_members(const struct xlb_ring *r)
{
	return r ? r->nmembers : 0;
}

int xlb_ring_point(const struct xlb_ring *r, uint32_t i, uint32_t *value)
{
	if (!r || i >= r->npoints)
		return -ERANGE;
	if (value)
		*value = r->value[i];
	return (int)r->owner[i];
}

bool xlb_ring_equal(const struct xlb_ring *a, const struct xlb_ring *b)
{
	uint32_t i;

	if (!a || !b)
		return a == b;
	if (a->npoints != b->npoints)
		return false;
	for (i = 0; i < a->npoints; i++) {
		const struct xlb_ring_member *ma = &a->member[a->owner[i]];
		const struct xlb_ring_member *mb = &b->member[b->owner[i]];

		if (a->value[i] != b->value[i] || member_cmp(ma, mb))
			return false;
	}
	return true;
}
