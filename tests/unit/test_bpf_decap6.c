// SPDX-License-Identifier: GPL-2.0
/*
 * xlb_decap with an IPv6 outer header (issue 14): ip6ip6 (next header 41)
 * and IPv4-in-IPv6 (next header 4), run with BPF_PROG_TEST_RUN as
 * test_bpf_decap.c does; the expected output of a tunnelled frame is the
 * client's frame without the tunnel, byte for byte. Needs root.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/if_link.h>

#include <criterion/criterion.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../bpf/xlb_shared.h"
#include "xlb_decap.skel.h"
#include "v6frames.h"

static struct xlb_decap *skel;

static void setup(void)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (CAP_BPF)");
	skel = xlb_decap__open_and_load();
	cr_assert_not_null(skel, "cannot load xlb_decap: %s", strerror(errno));
}

static void teardown(void)
{
	xlb_decap__destroy(skel);
	skel = NULL;
}

TestSuite(bpf_decap6, .init = setup, .fini = teardown);

struct result {
	uint32_t action;
	uint8_t out[2048];
	uint32_t out_len;
	uint64_t d[XLB_DECAP_CNT_MAX];
};

static uint64_t counter(uint32_t idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[ncpu], sum = 0;
	int c;

	cr_assert_eq(bpf_map__lookup_elem(skel->maps.decap_counters, &idx,
					  sizeof(idx), v, sizeof(v), 0), 0);
	for (c = 0; c < ncpu; c++)
		sum += v[c];
	return sum;
}

static void run(const uint8_t *frame, size_t len, struct result *r)
{
	uint64_t before[XLB_DECAP_CNT_MAX], outcomes = 0;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out),
		    .repeat = 1);
	uint32_t i;

	for (i = 0; i < XLB_DECAP_CNT_MAX; i++)
		before[i] = counter(i);
	cr_assert_eq(bpf_prog_test_run_opts(
			     bpf_program__fd(skel->progs.xlb_decap), &o), 0,
		     "test run: %s", strerror(errno));
	for (i = 0; i < XLB_DECAP_CNT_MAX; i++) {
		r->d[i] = counter(i) - before[i];
		outcomes += r->d[i];
	}
	cr_assert_eq(outcomes, 1, "one counted outcome per packet");
	r->action = o.retval;
	r->out_len = o.data_size_out;
}

#define DIP	"fd00:2::1"	/* the director (tunnel source) */
#define RIP	"fd00:2::11"	/* the real server (tunnel destination) */

/* The client's IPv6 TCP packet to the VIP, as the real server should see
 * it, with Ethernet (and an 802.1Q tag). */
static size_t client6(uint8_t *f, bool vlan)
{
	static const char payload[] = "GET / HTTP/1.0\r\n\r\n";
	uint8_t s[16], d[16];
	size_t l2 = v6_eth(f, vlan, 0x86dd), n;

	v6_addr(s, "fd00:1::50");
	v6_addr(d, "fd00:1::100");
	n = v6_l4(f + l2 + 40, IPPROTO_TCP, s, d, 40000, 80, payload,
		  sizeof(payload) - 1);
	v6_hdr(f + l2, s, d, IPPROTO_TCP, n, 63);
	return l2 + 40 + n;
}

/* The client's IPv4 TCP packet (frames.c), with Ethernet. */
static size_t client4(uint8_t *f, bool vlan)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	static const uint8_t payload[] = "GET / HTTP/1.0\r\n\r\n";

	s.vlan = vlan;
	s.vlan_tci = 7;
	s.payload = payload;
	s.payload_len = sizeof(payload) - 1;
	return fr_build(f, 2048, &s);
}

/* inner (a frame with l2 bytes of Ethernet and tag) tunnelled by the
 * director: outer IPv6 DIP -> RIP, next header nh, around the inner
 * datagram; the Ethernet header (and tag) say IPv6. */
static size_t tunnel6(uint8_t *f, const uint8_t *inner, size_t inner_len,
		      bool vlan, uint8_t nh)
{
	size_t l2 = vlan ? 18 : 14, dlen = inner_len - l2;
	uint8_t s[16], d[16];

	v6_eth(f, vlan, 0x86dd);
	v6_addr(s, DIP);
	v6_addr(d, RIP);
	v6_hdr(f + l2, s, d, nh, dlen, 64);
	memcpy(f + l2 + 40, inner + l2, dlen);
	return l2 + 40 + dlen;
}

static void expect_decapped(const uint8_t *f, size_t n, const uint8_t *want,
			    size_t wn)
{
	struct result r;

	run(f, n, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_expect_eq(r.d[XLB_DECAP_CNT_DECAPPED6], 1, "not counted decapsulated6");
	cr_assert_eq(r.out_len, wn, "length %u, want %zu", r.out_len, wn);
	cr_assert_arr_eq(r.out, want, wn, "not the inner frame byte for byte");
}

static void expect_dropped(const uint8_t *f, size_t n, enum xlb_decap_cnt why)
{
	struct result r;

	run(f, n, &r);
	cr_assert_eq(r.action, XDP_DROP);
	cr_expect_eq(r.d[why], 1, "%s not counted", xlb_decap_cnt_names[why]);
}

Test(bpf_decap6, ip6ip6_packet_becomes_the_inner_packet_byte_for_byte)
{
	uint8_t want[2048], f[2048];
	size_t wn = client6(want, false), n = tunnel6(f, want, wn, false, 41);

	expect_decapped(f, n, want, wn);
}

Test(bpf_decap6, ip6ip6_keeps_the_vlan_tag_in_front_of_the_inner_packet)
{
	uint8_t want[2048], f[2048];
	size_t wn = client6(want, true), n = tunnel6(f, want, wn, true, 41);

	expect_decapped(f, n, want, wn);
}

Test(bpf_decap6, ipv4_in_ipv6_becomes_the_ipv4_frame_byte_for_byte)
{
	uint8_t want[2048], f[2048];
	size_t wn = client4(want, false), n = tunnel6(f, want, wn, false, 4);

	expect_decapped(f, n, want, wn);
	cr_expect_eq(fr_verify(want, wn), NULL);
}

Test(bpf_decap6, ipv4_in_ipv6_behind_a_vlan_tag_gets_the_ipv4_ethertype)
{
	uint8_t want[2048], f[2048];
	size_t wn = client4(want, true), n = tunnel6(f, want, wn, true, 4);

	expect_decapped(f, n, want, wn);
}

Test(bpf_decap6, ethernet_padding_after_the_outer_payload_stays)
{
	uint8_t want[2048], f[2048];
	size_t wn = client6(want, false), n = tunnel6(f, want, wn, false, 41);
	struct result r;

	memset(f + n, 0, 8);
	run(f, n + 8, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_assert_eq(r.out_len, wn + 8);
	cr_assert_arr_eq(r.out, want, wn);
}

Test(bpf_decap6, plain_ipv6_is_passed_untouched)
{
	uint8_t f[2048];
	size_t n = client6(f, false);
	struct result r;

	run(f, n, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_expect_eq(r.d[XLB_DECAP_CNT_PASSED], 1);
	cr_assert_eq(r.out_len, n);
	cr_assert_arr_eq(r.out, f, n);
}

Test(bpf_decap6, outer_cut_inside_the_fixed_header_is_passed_for_the_kernel)
{
	uint8_t in[2048], f[2048];
	struct result r;

	tunnel6(f, in, client6(in, false), false, 41);
	run(f, 14 + 39, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_expect_eq(r.d[XLB_DECAP_CNT_PASSED], 1);
}

Test(bpf_decap6, outer_payload_length_past_the_frame_or_zero_is_dropped)
{
	uint8_t in[2048], f[2048];
	size_t n = tunnel6(f, in, client6(in, false), false, 41);

	expect_dropped(f, n - 1, XLB_DECAP_CNT_DROP_OUTER6);
	v6_put16(f + 18, 0);
	expect_dropped(f, n, XLB_DECAP_CNT_DROP_OUTER6);
}

Test(bpf_decap6, outer_version_not_6_is_dropped)
{
	uint8_t in[2048], f[2048];
	size_t n = tunnel6(f, in, client6(in, false), false, 41);

	f[14] = 0x40;
	expect_dropped(f, n, XLB_DECAP_CNT_DROP_OUTER6);
}

Test(bpf_decap6, inner_header_short_wrong_version_or_too_long_is_dropped)
{
	uint8_t in[2048], f[2048], in4[2048];
	size_t n = tunnel6(f, in, client6(in, false), false, 41), n4;

	/* Outer payload of 39 bytes: no whole inner IPv6 header. */
	v6_put16(f + 18, 39);
	expect_dropped(f, 14 + 40 + 39, XLB_DECAP_CNT_DROP_INNER6);
	n = tunnel6(f, in, client6(in, false), false, 41);
	f[54] = 0x45;				/* inner version 4 under 41 */
	expect_dropped(f, n, XLB_DECAP_CNT_DROP_INNER6);
	n = tunnel6(f, in, client6(in, false), false, 41);
	f[54 + 5] += 1;				/* inner payload one too long */
	expect_dropped(f, n, XLB_DECAP_CNT_DROP_INNER6);

	n4 = tunnel6(f, in4, client4(in4, false), false, 4);
	f[54] = 0x65;				/* inner version 6 under 4 */
	expect_dropped(f, n4, XLB_DECAP_CNT_DROP_INNER6);
	n4 = tunnel6(f, in4, client4(in4, false), false, 4);
	f[54] = 0x44;				/* IHL 4 */
	expect_dropped(f, n4, XLB_DECAP_CNT_DROP_INNER6);
	n4 = tunnel6(f, in4, client4(in4, false), false, 4);
	f[54 + 3] += 1;				/* total length one too long */
	expect_dropped(f, n4, XLB_DECAP_CNT_DROP_INNER6);
}

static void restrict6_to(const char *addr)
{
	struct xlb_decap_config cfg = { .flags = XLB_DECAP_F_RESTRICT_DST };
	struct xlb_local6_key k;
	uint32_t zero = 0;
	uint8_t one = 1;

	v6_addr(k.addr, addr);
	cr_assert_eq(bpf_map__update_elem(skel->maps.decap_config, &zero,
					  sizeof(zero), &cfg, sizeof(cfg), 0), 0);
	cr_assert_eq(bpf_map__update_elem(skel->maps.decap_addrs6, &k,
					  sizeof(k), &one, sizeof(one), 0), 0);
}

Test(bpf_decap6, restricted_passes_other_destinations_untouched)
{
	uint8_t in[2048], f[2048];
	size_t n = tunnel6(f, in, client6(in, false), false, 41);
	struct result r;

	restrict6_to("fd00:2::99");
	run(f, n, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_expect_eq(r.d[XLB_DECAP_CNT_NOT_LOCAL6], 1);
	cr_assert_eq(r.out_len, n);
	cr_assert_arr_eq(r.out, f, n);
}

Test(bpf_decap6, restricted_decapsulates_to_its_own_addresses)
{
	uint8_t want[2048], f[2048];
	size_t wn = client6(want, false), n = tunnel6(f, want, wn, false, 41);

	restrict6_to(RIP);
	expect_decapped(f, n, want, wn);
}
