// SPDX-License-Identifier: GPL-2.0
/*
 * The IPv6 rewrites written once (bpf/xlb_rewrite.h) give the same bytes
 * compiled for BPF (tests/unit/rw6.bpf.c, run by BPF_PROG_TEST_RUN) as
 * through lb/xmit_nat.c and lb/xmit_tun.c: random flows (TCP and UDP,
 * payloads of 0..1400 bytes, 0..2 extension headers, flow label 0 or not,
 * any traffic class, hop limit) through NAT66 in, NAT66 out and TUN6 (IPv6
 * and IPv4 inside). Seeded; needs root (skipped loudly otherwise).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <criterion/criterion.h>

#include "frames.h"
#include "xmit.h"
#include "rw6.h"
#include "tests/unit/rw6.skel.h"

#define RUNS		3000
#define HEADROOM	256

static uint64_t rng_state = 0x5EED6;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

static void rnd_bytes(uint8_t *b, size_t n)
{
	while (n--)
		*b++ = (uint8_t)rnd();
}

static struct rw6 *sk;

static void open_prog(void)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (CAP_BPF) to load rw6.bpf.o");
	sk = rw6__open_and_load();
	cr_assert_not_null(sk, "rw6__open_and_load: %s", strerror(errno));
}

static void close_prog(void)
{
	rw6__destroy(sk);
	sk = NULL;
}

TestSuite(rw6_diff, .init = open_prog, .fini = close_prog);

/* Runs the BPF program on frame[0..len) with cfg; out gets the result. */
static uint32_t bpf_run(const uint8_t *frame, uint32_t len, uint8_t *out,
			uint32_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .data_out = out, .data_size_out = 4096, .repeat = 1);
	int err = bpf_prog_test_run_opts(bpf_program__fd(sk->progs.rw6), &o);

	cr_assert_eq(err, 0, "BPF_PROG_TEST_RUN: %d", err);
	*out_len = o.data_size_out;
	return o.retval;
}

struct case6 {
	uint8_t frame[2048];
	uint32_t len;
	struct xlb_xmit_bind b;
};

static void random_bind(struct xlb_xmit_bind *b)
{
	memset(b, 0, sizeof(*b));
	rnd_bytes(b->smac, 6);
	rnd_bytes(b->dmac, 6);
	rnd_bytes(b->rip6.b, 16);
	rnd_bytes(b->vip6.b, 16);
	rnd_bytes(b->dip6.b, 16);
	b->rport = (uint16_t)rnd();
	b->vport = (uint16_t)rnd();
	b->ttl = (uint8_t)(rnd() % 3 ? rnd() : 0);
}

static void random_frame6(struct case6 *c, uint8_t proto)
{
	static const uint8_t types[2] = { 0, 60 };
	static uint8_t pay[1400];
	struct fr6_spec s = fr6_default(proto);
	uint8_t ext[16];
	int n_ext = (int)(rnd() % 3);

	rnd_bytes(s.saddr, 16);
	rnd_bytes(s.daddr, 16);
	s.sport = (uint16_t)rnd();
	s.dport = (uint16_t)rnd();
	s.tclass = (uint8_t)rnd();
	s.flow = rnd() % 2 ? rnd() & 0xFFFFF : 0;
	s.hlim = (uint8_t)rnd();
	rnd_bytes(pay, sizeof(pay));
	s.payload = pay;
	s.payload_len = (uint16_t)(rnd() % (proto == IPPROTO_UDP ? 1400 : 1380));
	if (proto == IPPROTO_UDP && s.payload_len < 10)
		s.payload_len = 10;
	if (n_ext) {
		s.ext = ext;
		s.ext_len = (uint16_t)fr6_ext(ext, types + 2 - n_ext, n_ext, proto);
		s.ext_nh = types[2 - n_ext];
	}
	c->len = (uint32_t)fr6_build(c->frame, sizeof(c->frame), &s);
}

static void random_frame4(struct case6 *c)
{
	static uint8_t pay[1400];
	struct fr_spec s = fr_default(rnd() % 2 ? IPPROTO_TCP : IPPROTO_UDP);

	s.saddr = rnd();
	s.daddr = rnd();
	s.sport = (uint16_t)rnd();
	s.dport = (uint16_t)rnd();
	s.tos = (uint8_t)rnd();
	s.frag = rnd() % 2 ? XLB_IP_DF : 0;
	rnd_bytes(pay, sizeof(pay));
	s.payload = pay;
	s.payload_len = (uint16_t)(rnd() % 1400);
	c->len = (uint32_t)fr_build(c->frame, sizeof(c->frame), &s);
}

/* Userspace and BPF on the same case; both outputs must be equal. */
static void compare(const struct case6 *c, uint32_t op, int i)
{
	static uint8_t umem[HEADROOM + 2048], out[4096];
	static const xlb_xmit_fn fns[] = { xlb_xmit_nat6_in, xlb_xmit_nat6_out,
					   xlb_xmit_tun6 };
	struct xlb_frame f = { .data = umem + HEADROOM, .len = c->len,
			       .headroom = HEADROOM,
			       .tailroom = (uint32_t)sizeof(umem) - HEADROOM - c->len };
	struct xlb_pkt p;
	uint32_t act, out_len;
	int rc;

	memcpy(f.data, c->frame, c->len);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK, "case %d", i);
	sk->bss->cfg = (struct rw6_cfg){
		.op = op, .l4_off = p.l4_off, .l4_len = p.l4_len, .proto = p.proto,
		.inner_v6 = p.af == AF_INET6, .port = op == RW6_NAT_IN ? c->b.rport : c->b.vport,
		.hl = c->b.ttl,
	};
	memcpy(sk->bss->cfg.addr, op == RW6_NAT_OUT ? c->b.vip6.b : c->b.rip6.b, 16);
	memcpy(sk->bss->cfg.saddr, c->b.dip6.b, 16);
	memcpy(sk->bss->cfg.dmac, c->b.dmac, 6);
	memcpy(sk->bss->cfg.smac, c->b.smac, 6);
	act = bpf_run(c->frame, c->len, out, &out_len);
	cr_assert_eq(act, XDP_TX, "case %d: BPF said %u", i, act);

	rc = fns[op](&f, &p, &c->b);
	cr_assert_eq(rc, 0, "case %d: userspace %d", i, rc);
	cr_assert_eq(f.len, out_len, "case %d (op %u): userspace %u bytes, BPF %u",
		     i, op, f.len, out_len);
	cr_assert_arr_eq(f.data, out, out_len, "case %d (op %u): frames differ", i, op);
	cr_assert_null(fr_verify(out, out_len), "case %d: %s", i, fr_verify(out, out_len));
}

Test(rw6_diff, nat66_in_and_out_give_the_same_bytes_in_bpf_and_userspace)
{
	struct case6 c;
	int i;

	for (i = 0; i < RUNS; i++) {
		random_frame6(&c, rnd() % 2 ? IPPROTO_TCP : IPPROTO_UDP);
		random_bind(&c.b);
		compare(&c, i % 2 ? RW6_NAT_OUT : RW6_NAT_IN, i);
	}
}

Test(rw6_diff, tun6_gives_the_same_bytes_and_flow_label_in_bpf_and_userspace)
{
	struct case6 c;
	int i;

	for (i = 0; i < RUNS; i++) {
		if (i % 3 == 2)
			random_frame4(&c);	/* IPv4 in IPv6 */
		else
			random_frame6(&c, rnd() % 2 ? IPPROTO_TCP : IPPROTO_UDP);
		random_bind(&c.b);
		compare(&c, RW6_TUN, i);
	}
}
