// SPDX-License-Identifier: GPL-2.0
/*
 * The differential test of issue 11 item 4: random flows and packets (DR,
 * NAT in, NAT out, TUN; TCP and UDP; payloads of 0..1400 bytes, TCP
 * options, UDP without checksum, DF set or not, Ethernet padding, TOS,
 * TTL, ids) go through the userspace path (xlb_pkt_parse() + the
 * lb/xmit.h function of the entry's method) and through the real
 * xlb_steer with the entry installed in fp_flows (BPF_PROG_TEST_RUN). A
 * packet the fast path takes must come out of both byte for byte the same,
 * with the same length. Packets the fast path must leave to userspace
 * (SYN/FIN/RST, IP options, first fragments, TTL 0, over the entry's MTU)
 * are mixed in: they must come out untouched, steered to AF_XDP, with the
 * right punt counter; and each entry must count exactly its fast-path
 * packets and bytes. Seeded: a failure names the seed and the packet.
 * Needs root; skipped loudly otherwise.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/bpf.h>

#include <criterion/criterion.h>

#include "fp_harness.h"
#include "frames.h"

#define DIFF_FLOWS	2500
#define DIFF_PER_FLOW	4	/* 10,000 packets */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: reproducible from the seed, good enough here. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static uint32_t below(uint32_t n)
{
	return rnd() % n;
}

static bool chance(uint32_t pct)
{
	return below(100) < pct;
}

struct flow {
	struct fr_spec s;	/* the tuple and MACs of its packets */
	struct xlb_fp_key k;
	struct xlb_fp_val v;
	uint64_t want_pkts, want_bytes;
};

static uint32_t addr10(uint32_t b, uint32_t c, uint32_t d)
{
	return htonl(10u << 24 | b << 16 | c << 8 | d);
}

static void new_flow(struct flow *f, uint32_t veth)
{
	struct xlb_fp_val *v = &f->v;
	uint8_t ops[] = { XLB_FP_DR, XLB_FP_NAT_IN, XLB_FP_NAT_OUT, XLB_FP_TUN };

	memset(f, 0, sizeof(*f));
	f->s = fr_default(chance(50) ? IPPROTO_TCP : IPPROTO_UDP);
	for (int i = 0; i < 6; i++) {
		f->s.dmac[i] = (uint8_t)rnd();
		f->s.smac[i] = (uint8_t)rnd();
		v->dmac[i] = (uint8_t)rnd();
		v->smac[i] = (uint8_t)rnd();
	}
	v->op = ops[below(4)];
	/* Clients anywhere in 10.64/10; VIPs and RIPs from a few. */
	if (v->op == XLB_FP_NAT_OUT) {
		f->s.saddr = addr10(1, 0, 1 + below(8));	/* RIP */
		f->s.sport = (uint16_t)(8000 + below(4));
		f->s.daddr = addr10(64 + below(64), below(256), 1 + below(254));
		f->s.dport = (uint16_t)(1024 + below(60000));
		v->addr = addr10(0, 0, 100 + below(8));		/* VIP */
		v->port = htons((uint16_t)(80 + below(4)));
		fph_add_nat_rs(f->s.saddr, htons(f->s.sport), f->s.proto);
	} else {
		f->s.saddr = addr10(64 + below(64), below(256), 1 + below(254));
		f->s.sport = (uint16_t)(1024 + below(60000));
		f->s.daddr = addr10(0, 0, 100 + below(8));	/* VIP */
		f->s.dport = (uint16_t)(80 + below(4));
		v->addr = addr10(1, 0, 1 + below(8));		/* RIP */
		v->port = htons((uint16_t)(8000 + below(4)));
		v->tun_saddr = addr10(1, 0, 200 + below(4));
		v->ttl = chance(30) ? 0 : (uint8_t)(1 + below(255));
		fph_add_service(f->s.daddr, htons(f->s.dport), f->s.proto);
	}
	v->ifindex = chance(50) ? 1 : veth;	/* lo: XDP_TX */
	/* MTU: unchecked, the usual, or one some packets pass. */
	switch (below(3)) {
	case 0:
		v->mtu = 0;
		break;
	case 1:
		v->mtu = 1500;
		break;
	default:
		v->mtu = (uint16_t)(576 + below(1000));
	}
	v->gen = rnd();
}

static uint8_t payload[1500];

/* A packet of flow f (its tuple, random everything else). */
static size_t new_packet(const struct flow *f, uint8_t *buf, uint8_t *opts)
{
	struct fr_spec s = f->s;

	s.payload_len = (uint16_t)(chance(20) ? below(16) : below(1401));
	s.payload = payload + below(64);
	s.tos = chance(50) ? 0 : (uint8_t)rnd();
	s.ttl = chance(2) ? 0 : (uint8_t)(1 + below(255));
	s.id = (uint16_t)rnd();
	s.frag = chance(50) ? 0x4000 : 0;
	if (chance(3))
		s.frag = 0x2000;		/* first fragment */
	if (chance(8)) {
		s.ip_opts_len = (uint8_t)(4 * (1 + below(10)));
		memset(opts, 1, s.ip_opts_len);	/* NOPs */
		s.ip_opts = opts;
	}
	if (s.proto == IPPROTO_TCP) {
		s.tcp_flags = (uint8_t)(0x10 | (below(256) & 0xE8));
		if (chance(10))
			s.tcp_flags |= (uint8_t)(1u << below(3)); /* FIN/SYN/RST */
		s.tcp_opts_len = (uint8_t)(chance(30) ? 4 * below(11) : 0);
	} else {
		s.udp_no_csum = chance(15);
	}
	s.eth_pad = (uint16_t)(chance(15) ? below(40) : 0);
	return fr_build(buf, FPH_FRAME_MAX, &s);
}

/* What the fast path must do with this frame of flow f: XLB_CNT_MAX for
 * "take it", else the punt counter, checked in the program's order. */
static enum xlb_xdp_cnt predict(const struct flow *f, const uint8_t *fr)
{
	const uint8_t *ip = fr + 14;
	uint32_t tot = fr_get16(ip, 2);

	if (ip[9] == IPPROTO_TCP && (ip[20 + (ip[0] & 15) * 4 - 20 + 13] & 7))
		return XLB_CNT_FP_PUNT_TCP_FLAGS;
	if (fr_get16(ip, 6) & 0x2000)
		return XLB_CNT_FP_PUNT_FRAGMENT;
	if ((ip[0] & 15) != 5)
		return XLB_CNT_FP_PUNT_IP_OPTIONS;
	if (ip[8] == 0)
		return XLB_CNT_FP_PUNT_ODD;
	if (f->v.op == XLB_FP_TUN)
		tot += 20;
	if (f->v.mtu && tot > f->v.mtu)
		return XLB_CNT_FP_PUNT_TOO_BIG;
	return XLB_CNT_MAX;
}

static struct flow flows[DIFF_FLOWS];

Test(fp_diff, ten_thousand_random_packets_leave_xdp_as_they_leave_userspace,
     .timeout = 120)
{
	uint8_t in[FPH_FRAME_MAX], want[FPH_FRAME_MAX + 64], opts[40];
	uint64_t seed = 0x5eed0011;
	const char *env = getenv("XLB_FP_DIFF_SEED");
	unsigned int taken = 0, punted = 0, per_op[5] = { 0 }, tcp = 0, tx = 0;
	struct fph_run r;
	uint32_t veth, want_len;

	if (env)
		seed = strtoull(env, NULL, 0);
	rng_state = seed | 1;
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	fph_open(DIFF_FLOWS * 2, true);
	veth = fph_make_veth("fpd0");
	cr_assert_eq(fph_add_dev(veth), 0);
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)rnd();

	for (int fi = 0; fi < DIFF_FLOWS; fi++) {
		struct flow *f = &flows[fi];

		new_flow(f, veth);
		fr_build(in, sizeof(in), &f->s);
		f->k = fph_key_of(in);
		fph_install(&f->k, &f->v);
		for (int pi = 0; pi < DIFF_PER_FLOW; pi++) {
			size_t n = new_packet(f, in, opts);
			enum xlb_xdp_cnt why = predict(f, in);
			int rc;

			fph_run(in, n, &r);
			if (why != XLB_CNT_MAX) {
				cr_assert_eq(r.act, XDP_DROP,
					     "seed %#llx flow %d pkt %d: %s "
					     "expected, action %u",
					     (unsigned long long)seed, fi, pi,
					     xlb_cnt_names[why], r.act);
				cr_assert_eq(r.d[why], 1, "seed %#llx flow %d "
					     "pkt %d: %s not counted",
					     (unsigned long long)seed, fi, pi,
					     xlb_cnt_names[why]);
				cr_assert_eq(r.out_len, n);
				cr_assert_arr_eq(r.out, in, n);
				punted++;
				continue;
			}
			rc = fph_userspace(in, n, &f->v, want, &want_len);
			cr_assert_eq(rc, 0, "seed %#llx flow %d pkt %d: "
				     "userspace xmit %d",
				     (unsigned long long)seed, fi, pi, rc);
			cr_assert_eq(r.act, f->v.ifindex == 1 ? XDP_TX :
				     XDP_REDIRECT, "seed %#llx flow %d pkt %d: "
				     "action %u", (unsigned long long)seed, fi,
				     pi, r.act);
			cr_assert_eq(r.out_len, want_len, "seed %#llx flow %d "
				     "pkt %d (op %u): %u bytes, userspace %u",
				     (unsigned long long)seed, fi, pi,
				     f->v.op, r.out_len, want_len);
			cr_assert_arr_eq(r.out, want, want_len,
					 "seed %#llx flow %d pkt %d (op %u): "
					 "frames differ",
					 (unsigned long long)seed, fi, pi,
					 f->v.op);
			cr_assert_null(fr_verify(r.out, r.out_len));
			f->want_pkts++;
			f->want_bytes += 14u + fr_get16(in, 16);
			taken++;
			per_op[f->v.op]++;
			tcp += f->s.proto == IPPROTO_TCP;
			tx += r.act == XDP_TX;
		}
	}
	for (int fi = 0; fi < DIFF_FLOWS; fi++) {
		struct xlb_fp_val got;

		cr_assert(fph_lookup(&flows[fi].k, &got), "flow %d evicted", fi);
		cr_assert_eq(got.pkts, flows[fi].want_pkts, "flow %d pkts", fi);
		cr_assert_eq(got.bytes, flows[fi].want_bytes, "flow %d bytes",
			     fi);
	}
	cr_log_info("fp_diff seed %#llx: %u packets identical (DR %u, NAT in "
		    "%u, NAT out %u, TUN %u; TCP %u; XDP_TX %u), %u punted",
		    (unsigned long long)seed, taken, per_op[XLB_FP_DR],
		    per_op[XLB_FP_NAT_IN], per_op[XLB_FP_NAT_OUT],
		    per_op[XLB_FP_TUN], tcp, tx, punted);
	cr_assert_gt(taken, DIFF_FLOWS * DIFF_PER_FLOW / 2);
	for (int op = XLB_FP_DR; op <= XLB_FP_TUN; op++)
		cr_assert_gt(per_op[op], 1000);
	fph_close();
}
