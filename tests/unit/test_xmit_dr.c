// SPDX-License-Identifier: GPL-2.0
/* DR rewrites the two MAC addresses and nothing else. */
#include <string.h>
#include <netinet/in.h>
#include <criterion/criterion.h>

#include "frames.h"
#include "xmit.h"

static const struct xlb_xmit_bind dr_bind = {
	.ifindex = 3,
	.smac = { 0x02, 0xD1, 0xD1, 0xD1, 0xD1, 0x01 },
	.dmac = { 0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0x05 },
	.rip = 0x0501000A,	/* 10.0.1.5 */
	.rport = 0x5000,	/* 80 */
	.vip = 0x6400000A,
	.vport = 0x5000,
};

/* Builds s, runs DR on it and expects exactly the frame built from s with
 * the bind's MACs. */
static void expect_dr(struct fr_spec s)
{
	uint8_t in[256], want[256];
	struct xlb_frame f = { .data = in };
	struct xlb_pkt p;
	size_t n = fr_build(in, sizeof(in), &s), wn;

	f.len = (uint32_t)n;
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	cr_assert_eq(xlb_xmit_dr(&f, &p, &dr_bind), 0);

	memcpy(s.dmac, dr_bind.dmac, 6);
	memcpy(s.smac, dr_bind.smac, 6);
	wn = fr_build(want, sizeof(want), &s);
	cr_assert_eq(f.len, wn);
	cr_assert_eq(f.data, in);
	cr_expect_arr_eq(f.data, want, wn);
	cr_expect_null(fr_verify(f.data, f.len));
}

Test(xmit_dr, tcp_frame_gets_rs_mac_and_director_mac_only)
{
	expect_dr(fr_default(IPPROTO_TCP));
}

Test(xmit_dr, udp_frame_gets_rs_mac_and_director_mac_only)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	uint8_t pay[33] = { 9 };

	s.payload = pay;
	s.payload_len = sizeof(pay);
	expect_dr(s);
}

Test(xmit_dr, vlan_tag_is_kept_as_is)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);

	s.vlan = true;
	s.vlan_tci = 0xE00A;
	expect_dr(s);
}

Test(xmit_dr, ip_options_ttl_and_padding_are_untouched)
{
	static const uint8_t opts[4] = { 1, 1, 1, 0 };
	struct fr_spec s = fr_default(IPPROTO_UDP);

	s.ip_opts = opts;
	s.ip_opts_len = 4;
	s.ttl = 1;
	s.eth_pad = 14;
	expect_dr(s);
}

/* ---- IPv6: the same function, the same two fields ---- */

static void expect_dr6(struct fr6_spec s)
{
	uint8_t in[256], want[256];
	struct xlb_frame f = { .data = in };
	struct xlb_pkt p;
	size_t n = fr6_build(in, sizeof(in), &s), wn;

	f.len = (uint32_t)n;
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_assert_eq(p.af, AF_INET6);
	cr_assert_eq(xlb_xmit_dr(&f, &p, &dr_bind), 0);

	memcpy(s.dmac, dr_bind.dmac, 6);
	memcpy(s.smac, dr_bind.smac, 6);
	wn = fr6_build(want, sizeof(want), &s);
	cr_assert_eq(f.len, wn);
	cr_assert_eq(f.data, in);
	cr_expect_arr_eq(f.data, want, wn);
	cr_expect_null(fr_verify(f.data, f.len));
}

Test(xmit_dr, ipv6_tcp_frame_gets_rs_mac_and_director_mac_only)
{
	expect_dr6(fr6_default(IPPROTO_TCP));
}

Test(xmit_dr, ipv6_hop_limit_extension_headers_vlan_and_padding_are_untouched)
{
	static const uint8_t types[2] = { 0, 60 };
	uint8_t ext[16], pay[3] = { 1, 2, 3 };
	struct fr6_spec s = fr6_default(IPPROTO_UDP);

	s.ext = ext;
	s.ext_len = (uint16_t)fr6_ext(ext, types, 2, IPPROTO_UDP);
	s.ext_nh = 0;
	s.hlim = 1;
	s.vlan = true;
	s.vlan_tci = 0x0005;
	s.payload = pay;
	s.payload_len = sizeof(pay);
	s.eth_pad = 3;
	expect_dr6(s);
}
