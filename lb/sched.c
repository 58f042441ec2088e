// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduler registry, ipvsadm's scheduler flags (-b) and the mutable
 * per-service state. See sched.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sched.h"

/* ring first: the default when -s is omitted. */
const struct xlb_sched *const xlb_scheds[] = {
	&xlb_sched_ring, &xlb_sched_rr, &xlb_sched_wrr, &xlb_sched_lc,
	&xlb_sched_wlc, &xlb_sched_lblc, &xlb_sched_lblcr, &xlb_sched_dh,
	&xlb_sched_sh, &xlb_sched_sed, &xlb_sched_nq, &xlb_sched_fo,
	&xlb_sched_ovf, &xlb_sched_mh, &xlb_sched_twos,
};
const unsigned int xlb_nscheds = sizeof(xlb_scheds) / sizeof(xlb_scheds[0]);

const struct xlb_sched *xlb_sched_find(const char *name)
{
	if (!name)
		return NULL;
	for (unsigned int i = 0; i < xlb_nscheds; i++)
		if (!strcmp(xlb_scheds[i]->name, name))
			return xlb_scheds[i];
	return NULL;
}

/* ipvsadm's names of the three flag bits, per scheduler. */
static const char *flag_name(const char *sched, unsigned int bit)
{
	static const char *const generic[] = { "flag-1", "flag-2", "flag-3" };

	if (sched && !strcmp(sched, "sh") && bit < 2)
		return bit ? "sh-port" : "sh-fallback";
	if (sched && !strcmp(sched, "mh") && bit < 2)
		return bit ? "mh-port" : "mh-fallback";
	return generic[bit];
}

const char *xlb_sched_flags_str(const char *sched, uint32_t flags, char *buf, size_t len)
{
	static const uint32_t bits[] = { XLB_SVC_F_SCHED1, XLB_SVC_F_SCHED2, XLB_SVC_F_SCHED3 };
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	/* As ipvsadm's print_sched_flags(): sh and mh name two bits only. */
	bool named = sched && (!strcmp(sched, "sh") || !strcmp(sched, "mh"));

	for (unsigned int i = 0; i < (named ? 2u : 3u); i++) {
		if (!(flags & bits[i]))
			continue;
		int n = snprintf(buf + off, off < len ? len - off : 0, "%s%s",
				 off ? "," : "", flag_name(sched, i));
		if (n > 0)
			off += (size_t)n;
	}
	return buf;
}

/* As ipvsadm's parse_sched_flags(): sh-* only with sh, mh-* only with mh. */
int xlb_sched_flags_parse(const char *sched, const char *list, uint32_t *flags,
			  char *err, size_t errlen)
{
	static const struct { const char *name, *sched; uint32_t bit; } tab[] = {
		{ "flag-1", NULL, XLB_SVC_F_SCHED1 },
		{ "flag-2", NULL, XLB_SVC_F_SCHED2 },
		{ "flag-3", NULL, XLB_SVC_F_SCHED3 },
		{ "sh-fallback", "sh", XLB_SVC_F_SH_FALLBACK },
		{ "sh-port", "sh", XLB_SVC_F_SH_PORT },
		{ "mh-fallback", "mh", XLB_SVC_F_MH_FALLBACK },
		{ "mh-port", "mh", XLB_SVC_F_MH_PORT },
	};
	const char *p = list;
	uint32_t f = 0;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		unsigned int i;

		for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
			if (strlen(tab[i].name) == n && !strncmp(tab[i].name, p, n))
				break;
		if (i == sizeof(tab) / sizeof(tab[0])) {
			xlb_seterr(err, errlen,
				   "invalid scheduler flag '%.*s' (known: sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3)",
				   (int)n, p);
			return -EINVAL;
		}
		if (tab[i].sched && sched && strcmp(tab[i].sched, sched)) {
			xlb_seterr(err, errlen,
				   "incompatible scheduler flag '%s' (it is for -s %s, not -s %s)",
				   tab[i].name, tab[i].sched, sched);
			return -EINVAL;
		}
		f |= tab[i].bit;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!f) {
		xlb_seterr(err, errlen, "empty scheduler flag list");
		return -EINVAL;
	}
	*flags = f;
	return 0;
}

struct xlb_sched_state *xlb_sched_state_new(const struct xlb_sched *ops)
{
	struct xlb_sched_state *s;
	size_t sz = sizeof(*s) + ops->state_size;

	sz = (sz + 63) & ~(size_t)63;
	s = aligned_alloc(64, sz);
	if (!s)
		return NULL;
	memset(s, 0, sz);
	s->refs = 1;
	s->ops = ops;
	if (ops->init)
		ops->init(s->priv);
	return s;
}

void xlb_sched_state_put(struct xlb_sched_state *s)
{
	if (!s || --s->refs)
		return;
	if (s->ops->done)
		s->ops->done(s->priv);
	free(s);
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

uint32_t xlb_sched_weights_gcd(const struct xlb_snap_dest *dests, uint32_t n,
			       uint32_t *max)
{
	uint32_t g = 0, mw = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t w = xlb_dest_weight(&dests[i]);

		if (!w)
			continue;
		g = g ? gcd(w, g) : w;
		if (w > mw)
			mw = w;
	}
	*max = mw;
	return g;
}

uint32_t xlb_sched_random(void)
{
	static __thread uint64_t x;

	if (!x) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)(uintptr_t)&x ^
		    (uint64_t)ts.tv_sec ^ 0x9e3779b97f4a7c15ull;
		if (!x)
			x = 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}
