// SPDX-License-Identifier: GPL-2.0
/*
 * bpf/xlb_ip6.h's extension-header walk, compiled for userspace (the same
 * function xlb_steer runs; test_bpf_steer6.c's walk_matches_the_program
 * compares the two on the same frames). No privileges needed.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "../bpf/xlb_ip6.h"
#include "v6frames.h"

/* Walks the extension headers of an IPv6 packet (no Ethernet) of len
 * bytes: the result, and the transport header's offset and type. */
static int walk(const uint8_t *pkt, size_t len, uint32_t *off, uint8_t *nh,
		int *n_ext)
{
	*off = XLB_IP6_HLEN;
	*nh = pkt[6];
	*n_ext = -1;
	return xlb_ip6_skip_ext(pkt, pkt + len, off, nh, n_ext);
}

TestSuite(ip6ext);

Test(ip6ext, no_extension_header_is_the_transport_header_at_40)
{
	uint8_t p[64] = { 0x60, [6] = IPPROTO_TCP };
	uint32_t off;
	uint8_t nh;
	int n;

	cr_assert_eq(walk(p, sizeof(p), &off, &nh, &n), XLB_IP6_L4);
	cr_expect_eq(off, 40);
	cr_expect_eq(nh, IPPROTO_TCP);
	cr_expect_eq(n, 0);
}

Test(ip6ext, hop_by_hop_routing_and_destination_options_are_walked)
{
	uint8_t p[256] = { 0x60, [6] = V6_HOP };
	size_t e = 40;
	uint32_t off;
	uint8_t nh;
	int n;

	e += v6_ext(p + e, V6_HOP, V6_ROUTING, 0, 0);
	e += v6_ext(p + e, V6_ROUTING, V6_DSTOPTS, 2, 0);
	e += v6_ext(p + e, V6_DSTOPTS, IPPROTO_UDP, 1, 0);
	cr_assert_eq(walk(p, e + 8, &off, &nh, &n), XLB_IP6_L4);
	cr_expect_eq(off, 40 + 8 + 24 + 16);
	cr_expect_eq(nh, IPPROTO_UDP);
	cr_expect_eq(n, 3);
}

Test(ip6ext, the_limit_is_XLB_IPV6_EXT_MAX_headers)
{
	uint8_t p[512] = { 0x60, [6] = V6_DSTOPTS };
	uint32_t off;
	uint8_t nh;
	size_t e;
	int i, n;

	for (e = 40, i = 0; i < XLB_IPV6_EXT_MAX; i++)
		e += v6_ext(p + e, V6_DSTOPTS,
			    i + 1 == XLB_IPV6_EXT_MAX ? IPPROTO_TCP : V6_DSTOPTS, 0, 0);
	cr_assert_eq(walk(p, e + 20, &off, &nh, &n), XLB_IP6_L4);
	cr_expect_eq(n, XLB_IPV6_EXT_MAX);
	for (e = 40, i = 0; i <= XLB_IPV6_EXT_MAX; i++)
		e += v6_ext(p + e, V6_DSTOPTS,
			    i == XLB_IPV6_EXT_MAX ? IPPROTO_TCP : V6_DSTOPTS, 0, 0);
	off = 7;
	cr_assert_eq(walk(p, e + 20, &off, &nh, &n), XLB_IP6_EXT_BAD);
	cr_expect_eq(n, -1, "outputs touched on failure");
}

Test(ip6ext, a_header_cut_by_the_end_of_the_frame_is_bad)
{
	uint8_t p[128] = { 0x60, [6] = V6_HOP };
	uint32_t off;
	uint8_t nh;
	int n;

	v6_ext(p + 40, V6_HOP, IPPROTO_TCP, 1, 0);	/* 16 bytes */
	cr_expect_eq(walk(p, 40 + 16, &off, &nh, &n), XLB_IP6_L4);
	cr_expect_eq(walk(p, 40 + 15, &off, &nh, &n), XLB_IP6_EXT_BAD);
	cr_expect_eq(walk(p, 40 + 3, &off, &nh, &n), XLB_IP6_EXT_BAD);
	cr_expect_eq(walk(p, 40, &off, &nh, &n), XLB_IP6_EXT_BAD);
}

Test(ip6ext, fragment_and_routing_with_segments_left_stop_the_walk)
{
	uint8_t p[128] = { 0x60, [6] = V6_HOP };
	uint32_t off;
	uint8_t nh;
	int n;

	v6_ext(p + 40, V6_HOP, V6_FRAGMENT, 0, 0);
	v6_frag(p + 48, IPPROTO_TCP, 0, true);
	cr_expect_eq(walk(p, 80, &off, &nh, &n), XLB_IP6_FRAG);
	p[6] = V6_ROUTING;
	v6_ext(p + 40, V6_ROUTING, IPPROTO_TCP, 2, 1);
	cr_expect_eq(walk(p, 80, &off, &nh, &n), XLB_IP6_ROUTED);
	p[40 + 3] = 0;
	cr_expect_eq(walk(p, 80, &off, &nh, &n), XLB_IP6_L4);
}
