// SPDX-License-Identifier: GPL-2.0
/* Checksum helpers against known vectors, against the independent
 * fr_csum(), and RFC 1624 incremental updates against full recomputes. */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <criterion/criterion.h>

#include "csum.h"
#include "frames.h"

static uint32_t rng_state = 0x12345678;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static uint16_t load16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

Test(csum, rfc1071_example_sums_to_ddf2)
{
	static const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03,
				     0xf4, 0xf5, 0xf6, 0xf7 };

	cr_expect_eq(ntohs(xlb_csum(b, sizeof(b))), (uint16_t)~0xddf2);
}

Test(csum, ipv4_header_checksum_matches_a_captured_header)
{
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00,
			  0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01,
			  0xc0, 0xa8, 0x00, 0xc7 };
	uint16_t c = xlb_csum(h, sizeof(h));

	cr_expect_eq(ntohs(c), 0xb861);
	memcpy(h + 10, &c, 2);
	cr_expect_eq(xlb_csum(h, sizeof(h)), 0, "a valid header sums to 0");
}

Test(csum, odd_length_pads_the_last_byte_with_zero)
{
	static const uint8_t odd[3] = { 0x12, 0x34, 0x56 };
	static const uint8_t even[4] = { 0x12, 0x34, 0x56, 0x00 };

	cr_expect_eq(xlb_csum(odd, 3), xlb_csum(even, 4));
}

Test(csum, full_checksum_equals_the_bytewise_reference_on_random_buffers)
{
	uint8_t b[1501];
	int i;
	size_t j, len;

	for (i = 0; i < 2000; i++) {
		len = rnd() % sizeof(b);
		for (j = 0; j < len; j++)
			b[j] = (uint8_t)rnd();
		cr_assert_eq(ntohs(xlb_csum(b, len)), fr_csum(b, len, 0),
			     "len %zu", len);
	}
}

Test(csum, l4_checksum_with_pseudo_header_matches_a_built_tcp_frame)
{
	uint8_t f[128];
	struct fr_spec s = fr_default(IPPROTO_TCP);
	uint8_t pay[7] = { 1, 2, 3, 4, 5, 6, 7 };
	uint32_t sa, da;
	uint16_t want, got;
	size_t n;

	s.payload = pay;
	s.payload_len = sizeof(pay);
	n = fr_build(f, sizeof(f), &s);
	want = load16(f + 34 + 16);
	memset(f + 34 + 16, 0, 2);
	memcpy(&sa, f + 26, 4);
	memcpy(&da, f + 30, 4);
	got = xlb_csum_l4(sa, da, IPPROTO_TCP, f + 34, (uint16_t)(n - 34));
	cr_expect_eq(got, want);
}

Test(csum, update16_equals_full_recompute_over_10000_random_changes)
{
	uint8_t h[60];
	int i;

	for (i = 0; i < 10000; i++) {
		size_t len = 20 + 4 * (rnd() % 11), off = 2 * (rnd() % (len / 2));
		uint16_t c, old, new_, inc;
		size_t j;

		/* Random header with the checksum field (10) filled in. */
		for (j = 0; j < len; j++)
			h[j] = (uint8_t)rnd();
		if (off == 10)
			off = 12;
		memset(h + 10, 0, 2);
		c = xlb_csum(h, len);
		memcpy(h + 10, &c, 2);

		old = load16(h + off);
		new_ = (uint16_t)rnd();
		if (i % 16 == 0)	/* the edge values too */
			new_ = (i & 32) ? 0xFFFF : 0;
		memcpy(h + off, &new_, 2);
		xlb_csum_replace2(h + 10, old, new_);
		inc = load16(h + 10);

		memset(h + 10, 0, 2);
		cr_assert_eq(inc, xlb_csum(h, len), "case %d", i);
	}
}

Test(csum, update32_on_tcp_address_and_port_equals_full_recompute)
{
	uint8_t f[256];
	int i;

	for (i = 0; i < 10000; i++) {
		struct fr_spec s = fr_default(IPPROTO_TCP);
		uint8_t pay[64];
		uint32_t old_a, new_a = rnd();
		uint16_t old_p, new_p = (uint16_t)rnd(), want;
		size_t n, j;

		for (j = 0; j < sizeof(pay); j++)
			pay[j] = (uint8_t)rnd();
		s.saddr = rnd();
		s.daddr = rnd();
		s.sport = (uint16_t)rnd();
		s.dport = (uint16_t)rnd();
		s.payload = pay;
		s.payload_len = (uint16_t)(rnd() % sizeof(pay));
		n = fr_build(f, sizeof(f), &s);

		memcpy(&old_a, f + 30, 4);	/* daddr */
		memcpy(f + 30, &new_a, 4);
		memcpy(&old_p, f + 36, 2);	/* dport */
		memcpy(f + 36, &new_p, 2);
		xlb_csum_replace4(f + 50, old_a, new_a);
		xlb_csum_replace2(f + 50, old_p, new_p);

		memcpy(&want, f + 50, 2);
		memset(f + 50, 0, 2);
		cr_assert_eq(xlb_csum_l4(s.saddr, new_a, IPPROTO_TCP, f + 34,
					 (uint16_t)(n - 34)), want,
			     "case %d", i);
	}
}

Test(csum, udp_zero_checksum_stays_zero_after_replace)
{
	uint8_t c[2] = { 0, 0 };

	xlb_csum_udp_replace4(c, 0x0100000A, 0x0200000A);
	xlb_csum_udp_replace2(c, htons(80), htons(8080));
	cr_expect_eq(c[0], 0);
	cr_expect_eq(c[1], 0);
}

Test(csum, udp_checksum_computing_to_zero_is_sent_as_ffff)
{
	uint8_t f[128];
	struct fr_spec s = fr_default(IPPROTO_UDP);
	uint16_t c, old_p, new_p;
	uint32_t sum;
	size_t n = fr_build(f, sizeof(f), &s);

	/* Choose the new source port so that the true checksum becomes 0:
	 * S' = S - old + new must be 0xFFFF, i.e. new = old + ~S = old + C. */
	c = fr_get16(f, 40);
	old_p = fr_get16(f, 34);
	sum = (uint32_t)old_p + c;
	new_p = (uint16_t)((sum & 0xFFFF) + (sum >> 16));
	old_p = htons(old_p);
	new_p = htons(new_p);
	memcpy(f + 34, &new_p, 2);
	xlb_csum_udp_replace2(f + 40, old_p, new_p);

	cr_expect_eq(fr_get16(f, 40), 0xFFFF);
	cr_expect_null(fr_verify(f, n));
	memset(f + 40, 0, 2);
	cr_expect_eq(xlb_csum_l4(s.saddr, s.daddr, IPPROTO_UDP, f + 34,
				 (uint16_t)(n - 34)), 0,
		     "the full computation gives 0, which UDP cannot send");
}

Test(csum, pseudo_header_sum_folds_to_the_reference)
{
	uint32_t sa = fr_ip("192.168.1.1"), da = fr_ip("10.1.2.3");
	uint8_t ph[12];
	uint16_t len = 1234;

	memcpy(ph, &sa, 4);
	memcpy(ph + 4, &da, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP;
	ph[10] = len >> 8;
	ph[11] = len & 0xFF;
	cr_expect_eq(ntohs(xlb_csum_fold(xlb_csum_pseudo(sa, da, IPPROTO_UDP,
							  len))),
		     fr_csum(ph, sizeof(ph), 0));
}

/* ---- IPv6 ---- */

/* Scapy's TCP checksum of tests/unit/golden6.h's first frame (computed by
 * Scapy, not by this code): the pseudo-header and the sum must give it. */
#include "golden6.h"

Test(csum, ipv6_tcp_checksum_equals_scapys)
{
	uint8_t f[sizeof(g6_nat6_in_tcp_in)];
	uint8_t *ip6 = f + 14, *tcp = f + 54;
	uint16_t want, got;
	uint32_t len = (uint32_t)sizeof(f) - 54;

	memcpy(f, g6_nat6_in_tcp_in, sizeof(f));
	memcpy(&want, tcp + 16, 2);
	memset(tcp + 16, 0, 2);
	got = xlb_csum_l4_6(ip6 + 8, ip6 + 24, IPPROTO_TCP, tcp, len);
	cr_expect_eq(got, want, "got %04x, Scapy %04x", ntohs(got), ntohs(want));
}

Test(csum, ipv6_icmp_checksum_covers_the_pseudo_header_as_scapys)
{
	uint8_t f[sizeof(g6_nat6_icmp_in_unreach_in)];
	uint8_t *ip6 = f + 14, *icmp = f + 54;
	uint16_t want;

	memcpy(f, g6_nat6_icmp_in_unreach_in, sizeof(f));
	memcpy(&want, icmp + 2, 2);
	memset(icmp + 2, 0, 2);
	cr_expect_eq(xlb_csum_l4_6(ip6 + 8, ip6 + 24, IPPROTO_ICMPV6, icmp,
				   (uint32_t)sizeof(f) - 54), want);
	cr_expect_neq(xlb_csum(icmp, sizeof(f) - 54), want,
		      "without the pseudo-header the sum differs");
}

Test(csum, pseudo6_sum_folds_to_the_bytewise_reference)
{
	uint8_t ph[40] = { 0 }, s[16], d[16];
	int i;

	for (i = 0; i < 200; i++) {
		uint32_t len = rnd() % 70000;
		uint8_t proto = (uint8_t)rnd();
		int j;

		for (j = 0; j < 16; j++) {
			s[j] = (uint8_t)rnd();
			d[j] = (uint8_t)rnd();
		}
		memcpy(ph, s, 16);
		memcpy(ph + 16, d, 16);
		ph[32] = (uint8_t)(len >> 24);
		ph[33] = (uint8_t)(len >> 16);
		ph[34] = (uint8_t)(len >> 8);
		ph[35] = (uint8_t)len;
		ph[39] = proto;
		cr_assert_eq(ntohs(xlb_csum_fold(xlb_csum_pseudo6(s, d, proto, len))),
			     fr_csum(ph, 40, 0));
	}
}

Test(csum, update128_on_an_ipv6_address_equals_full_recompute)
{
	uint8_t seg[64], a[16], b[16], ph[40];
	int i, j;

	for (i = 0; i < 10000; i++) {
		uint16_t c, c2;

		for (j = 0; j < 64; j++)
			seg[j] = (uint8_t)rnd();
		for (j = 0; j < 16; j++) {
			a[j] = (uint8_t)rnd();
			b[j] = (uint8_t)(i & 1 ? rnd() : a[j] ^ (j == 15));
		}
		memset(seg + 16, 0, 2);
		memset(ph, 0, sizeof(ph));
		memcpy(ph + 16, b, 16);	/* the other address: fixed */
		c = xlb_csum_l4_6(a, ph + 16, IPPROTO_TCP, seg, sizeof(seg));
		memcpy(seg + 16, &c, 2);
		xlb_csum_replace16(seg + 16, a, b);
		memcpy(&c2, seg + 16, 2);
		memset(seg + 16, 0, 2);
		c = xlb_csum_l4_6(b, ph + 16, IPPROTO_TCP, seg, sizeof(seg));
		cr_assert(c2 == c,
			  "iteration %d: %04x vs %04x", i, c2, c);
	}
}
