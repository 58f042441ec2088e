// SPDX-License-Identifier: GPL-2.0
/*
 * The real servers' IP-in-IP decapsulation program, run by the kernel on
 * crafted frames with BPF_PROG_TEST_RUN (as Katran tests its decap): the
 * expected output of a tunnelled frame is the frame the client's packet
 * would be without the tunnel, byte for byte. Needs root; skipped loudly
 * otherwise.
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
#include "frames.h"

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

TestSuite(bpf_decap, .init = setup, .fini = teardown);

struct result {
	uint32_t action;
	uint8_t out[2048];
	uint32_t out_len;
	uint64_t d[XLB_DECAP_CNT_MAX];	/* counter deltas */
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
	uint64_t before[XLB_DECAP_CNT_MAX];
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out),
		    .repeat = 1);
	uint32_t i;
	uint64_t outcomes = 0;

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

/* The client's packet as a real server should see it (with Ethernet),
 * and the same packet tunnelled by the director: outer IPv4 (proto 4,
 * DIP -> RIP, outer_opts bytes of options) around the IP datagram. */
static size_t client_frame(uint8_t *buf, bool vlan)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	static const uint8_t payload[] = "GET / HTTP/1.0\r\n\r\n";

	s.vlan = vlan;
	s.vlan_tci = 7;
	s.payload = payload;
	s.payload_len = sizeof(payload) - 1;
	return fr_build(buf, 2048, &s);
}

static size_t tunnelled(uint8_t *buf, const uint8_t *inner_frame,
			size_t inner_len, bool vlan, uint8_t outer_opts)
{
	static const uint8_t nops[40] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	struct fr_spec s = fr_default(4);
	size_t l2 = vlan ? 18 : 14;

	s.vlan = vlan;
	s.vlan_tci = 7;
	s.saddr = fr_ip("192.168.1.1");		/* DIP */
	s.daddr = fr_ip("192.168.1.10");	/* RIP */
	s.frag = 0x4000;			/* DF */
	s.ip_opts = nops;
	s.ip_opts_len = outer_opts;
	s.payload = inner_frame + l2;
	s.payload_len = (uint16_t)(inner_len - l2);
	return fr_build(buf, 2048, &s);
}

Test(bpf_decap, ipip_packet_becomes_the_inner_packet_byte_for_byte)
{
	uint8_t want[2048], f[2048];
	size_t wn = client_frame(want, false);
	size_t n = tunnelled(f, want, wn, false, 0);
	struct result r;

	run(f, n, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_expect_eq(r.d[XLB_DECAP_CNT_DECAPPED], 1);
	cr_assert_eq(r.out_len, wn, "length %u, want %zu", r.out_len, wn);
	cr_assert_arr_eq(r.out, want, wn);
}

Test(bpf_decap, vlan_tag_is_kept_in_front_of_the_inner_packet)
{
	uint8_t want[2048], f[2048];
	size_t wn = client_frame(want, true);
	size_t n = tunnelled(f, want, wn, true, 0);
	struct result r;

	run(f, n, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_assert_eq(r.out_len, wn);
	cr_assert_arr_eq(r.out, want, wn);
}

Test(bpf_decap, outer_header_with_options_is_stripped_whole)
{
	uint8_t want[2048], f[2048];
	size_t wn = client_frame(want, false);
	size_t n = tunnelled(f, want, wn, false, 12);
	struct result r;

	run(f, n, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_assert_eq(r.out_len, wn);
	cr_assert_arr_eq(r.out, want, wn);
}

Test(bpf_decap, non_ipip_packet_is_passed_untouched)
{
	uint8_t f[2048];
	size_t n = client_frame(f, false);
	struct result r;

	run(f, n, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_expect_eq(r.d[XLB_DECAP_CNT_PASSED], 1);
	cr_assert_eq(r.out_len, n);
	cr_assert_arr_eq(r.out, f, n);
}

Test(bpf_decap, ipip_cut_inside_the_inner_header_is_dropped)
{
	uint8_t in[2048], f[2048];
	size_t n = tunnelled(f, in, client_frame(in, false), false, 0);
	struct result r;

	(void)n;
	/* Outer header claims 20 + 12 bytes; the inner header needs 20. */
	f[16] = 0;
	f[17] = 32;
	run(f, 14 + 32, &r);
	cr_assert_eq(r.action, XDP_DROP);
	cr_expect_eq(r.d[XLB_DECAP_CNT_DROP_INNER], 1);
}

Test(bpf_decap, ipip_frame_shorter_than_its_outer_length_is_dropped)
{
	uint8_t in[2048], f[2048];
	size_t n = tunnelled(f, in, client_frame(in, false), false, 0);
	struct result r;

	run(f, n - 10, &r);
	cr_assert_eq(r.action, XDP_DROP);
	cr_expect_eq(r.d[XLB_DECAP_CNT_DROP_OUTER], 1);
}

Test(bpf_decap, ipip_with_outer_ihl_below_five_is_dropped)
{
	uint8_t in[2048], f[2048];
	size_t n = tunnelled(f, in, client_frame(in, false), false, 0);
	struct result r;

	f[14] = 0x44;
	run(f, n, &r);
	cr_assert_eq(r.action, XDP_DROP);
	cr_expect_eq(r.d[XLB_DECAP_CNT_DROP_OUTER], 1);
}

Test(bpf_decap, inner_packet_longer_than_the_outer_payload_is_dropped)
{
	uint8_t in[2048], f[2048];
	size_t n = tunnelled(f, in, client_frame(in, false), false, 0);
	struct result r;

	f[14 + 20 + 3] += 1;	/* inner total length one byte too long */
	run(f, n, &r);
	cr_assert_eq(r.action, XDP_DROP);
	cr_expect_eq(r.d[XLB_DECAP_CNT_DROP_INNER], 1);
}

Test(bpf_decap, inner_packet_that_is_not_ipv4_is_dropped)
{
	uint8_t in[2048], f[2048];
	size_t n = tunnelled(f, in, client_frame(in, false), false, 0);
	struct result r;

	f[14 + 20] = 0x65;	/* version 6 */
	run(f, n, &r);
	cr_assert_eq(r.action, XDP_DROP);
	cr_expect_eq(r.d[XLB_DECAP_CNT_DROP_INNER], 1);
}

Test(bpf_decap, outer_fragment_is_dropped_and_counted)
{
	uint8_t in[2048], f[2048];
	size_t n = tunnelled(f, in, client_frame(in, false), false, 0);
	struct result r;

	f[20] = 0x20;		/* MF (checksum not rechecked in XDP) */
	run(f, n, &r);
	cr_assert_eq(r.action, XDP_DROP);
	cr_expect_eq(r.d[XLB_DECAP_CNT_DROP_FRAGMENT], 1);
}

static void restrict_to(const char *addr)
{
	struct xlb_decap_config cfg = { .flags = XLB_DECAP_F_RESTRICT_DST };
	uint32_t zero = 0, a = fr_ip(addr);
	uint8_t one = 1;

	cr_assert_eq(bpf_map__update_elem(skel->maps.decap_config, &zero,
					  sizeof(zero), &cfg, sizeof(cfg), 0),
		     0);
	cr_assert_eq(bpf_map__update_elem(skel->maps.decap_addrs, &a,
					  sizeof(a), &one, sizeof(one), 0), 0);
}

Test(bpf_decap, restricted_to_local_addresses_passes_others_untouched)
{
	uint8_t in[2048], f[2048];
	size_t n = tunnelled(f, in, client_frame(in, false), false, 0);
	struct result r;

	restrict_to("192.168.1.99");
	run(f, n, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_expect_eq(r.d[XLB_DECAP_CNT_NOT_LOCAL], 1);
	cr_assert_eq(r.out_len, n);
	cr_assert_arr_eq(r.out, f, n);
}

Test(bpf_decap, restricted_to_local_addresses_decapsulates_those)
{
	uint8_t want[2048], f[2048];
	size_t wn = client_frame(want, false);
	size_t n = tunnelled(f, want, wn, false, 0);
	struct result r;

	restrict_to("192.168.1.10");
	run(f, n, &r);
	cr_assert_eq(r.action, XDP_PASS);
	cr_expect_eq(r.d[XLB_DECAP_CNT_DECAPPED], 1);
	cr_assert_eq(r.out_len, wn);
	cr_assert_arr_eq(r.out, want, wn);
}
