// SPDX-License-Identifier: GPL-2.0
/* Parser: valid frames give the right fields, each malformed class gives its
 * own error, and nothing reads outside the buffer. */
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <criterion/criterion.h>

#include "frames.h"
#include "pkt.h"

#define CAP 2048

static uint8_t buf[CAP];
static struct xlb_pkt p;

/* Parses a copy of f[0..len) in a heap block of exactly len bytes, so that
 * valgrind or ASan see any read past the end. */
static int parse_exact(const uint8_t *f, size_t len, struct xlb_pkt *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	cr_assert_not_null(copy);
	memcpy(copy, f, len);
	r = xlb_pkt_parse(copy, (uint32_t)len, out);
	free(copy);
	return r;
}

static size_t build(const struct fr_spec *s)
{
	return fr_build(buf, sizeof(buf), s);
}

/* ---- valid frames ---- */

Test(pkt, tcp_frame_gives_offsets_addresses_ports_and_flags)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n;

	s.tcp_flags = XLB_TCP_SYN;
	s.tos = 0x10;
	n = build(&s);
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.l3_off, 14);
	cr_expect_not(p.has_vlan);
	cr_expect_eq(p.ihl, 20);
	cr_expect_eq(p.ip_len, 40);
	cr_expect_eq(p.proto, IPPROTO_TCP);
	cr_expect_eq(p.tos, 0x10);
	cr_expect_eq(p.ttl, 64);
	cr_expect_eq(p.ip_id, htons(0x1234));
	cr_expect_eq(p.saddr, fr_ip("10.0.0.1"));
	cr_expect_eq(p.daddr, fr_ip("10.0.0.100"));
	cr_expect_eq(p.l4_off, 34);
	cr_expect_eq(p.l4_len, 20);
	cr_expect_eq(p.l4_hlen, 20);
	cr_expect_eq(p.sport, htons(40000));
	cr_expect_eq(p.dport, htons(80));
	cr_expect_eq(p.tcp_flags, XLB_TCP_SYN);
	cr_expect_not(p.df);
	cr_expect_not(p.mf);
	cr_expect_not(p.frag_nonfirst);
	cr_expect_not(p.icmp_err);
}

Test(pkt, tcp_options_give_l4_header_length_from_data_offset)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n;

	s.tcp_opts_len = 12;
	n = build(&s);
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.l4_hlen, 32);
	cr_expect_eq(p.l4_len, 32);
}

Test(pkt, vlan_tagged_frame_parses_with_offsets_shifted_by_four)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	size_t n;

	s.vlan = true;
	s.vlan_tci = 0x2064;	/* PCP 1, VID 100 */
	n = build(&s);
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect(p.has_vlan);
	cr_expect_eq(p.vlan_tci, 0x2064);
	cr_expect_eq(p.l3_off, 18);
	cr_expect_eq(p.l4_off, 38);
	cr_expect_eq(p.proto, IPPROTO_UDP);
	cr_expect_eq(p.dport, htons(80));
}

Test(pkt, ipv4_options_move_l4_after_the_options)
{
	/* Record route (7), length 11, pointer 4, two slots, then EOL. */
	static const uint8_t opts[12] = { 7, 11, 4 };
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n;

	s.ip_opts = opts;
	s.ip_opts_len = sizeof(opts);
	n = build(&s);
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.ihl, 32);
	cr_expect_eq(p.l4_off, 14 + 32);
	cr_expect_eq(p.l4_len, 20);
	cr_expect_eq(p.sport, htons(40000));
}

Test(pkt, ethernet_padding_after_total_length_is_ignored)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	size_t n;

	s.payload_len = 0;
	s.eth_pad = 18;		/* 14 + 28 + 18 = 60, the minimum frame */
	n = build(&s);
	cr_assert_eq(n, 60);
	memset(buf + 42, 0xEE, 18);	/* padding is not always zero */
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.ip_len, 28);
	cr_expect_eq(p.l4_len, 8, "L4 length comes from the IP total length");
}

Test(pkt, ttl_zero_is_not_a_parse_error)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n;

	s.ttl = 0;
	n = build(&s);
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.ttl, 0);
}

Test(pkt, first_fragment_parses_l4_and_may_carry_part_of_a_udp_datagram)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	uint8_t pay[32] = { 0 };
	size_t n;

	s.payload = pay;
	s.payload_len = sizeof(pay);
	s.frag = XLB_IP_MF;
	n = build(&s);
	buf[14 + 20 + 4] = 0x05;	/* UDP length 1280 > this fragment */
	buf[14 + 20 + 5] = 0x00;
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect(p.mf);
	cr_expect_not(p.frag_nonfirst);
	cr_expect_eq(p.dport, htons(80));
}

Test(pkt, df_flag_is_reported)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n;

	s.frag = XLB_IP_DF;
	n = build(&s);
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect(p.df);
	cr_expect_not(p.mf);
}

Test(pkt, udp_length_below_ip_payload_is_accepted)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	uint8_t pay[8] = { 0 };
	size_t n;

	s.payload = pay;
	s.payload_len = sizeof(pay);
	n = build(&s);
	buf[14 + 20 + 5] = 10;	/* UDP says 10, IP payload is 16 */
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
}

Test(pkt, icmp_echo_gives_type_and_id)
{
	struct fr_spec s = fr_default(IPPROTO_ICMP);
	size_t n;

	s.icmp_type = XLB_ICMP_ECHO;
	s.icmp_rest = 0xBEEF0001;
	n = build(&s);
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.icmp_type, XLB_ICMP_ECHO);
	cr_expect_eq(p.icmp_code, 0);
	cr_expect_eq(p.icmp_id, htons(0xBEEF));
	cr_expect_not(p.icmp_err);
}

/* An ICMP error from 192.0.2.1 to 10.0.0.1 quoting quote_len bytes of a
 * UDP datagram 10.0.0.1:40000 -> 10.0.0.100:53. */
static size_t build_icmp_err(uint8_t type, uint8_t code, size_t quote_len)
{
	struct fr_spec in = fr_default(IPPROTO_UDP), out;
	uint8_t inner[64], pay[12] = { 0 };
	size_t ilen;

	in.no_eth = true;
	in.dport = 53;
	in.payload = pay;
	in.payload_len = sizeof(pay);
	ilen = fr_build(inner, sizeof(inner), &in);
	out = fr_default(IPPROTO_ICMP);
	out.saddr = fr_ip("192.0.2.1");
	out.daddr = fr_ip("10.0.0.1");
	out.icmp_type = type;
	out.icmp_code = code;
	out.icmp_rest = type == XLB_ICMP_DEST_UNREACH &&
			code == XLB_ICMP_FRAG_NEEDED ? 1400 : 0;
	out.payload = inner;
	out.payload_len = (uint16_t)(quote_len < ilen ? quote_len : ilen);
	return build(&out);
}

static void expect_inner_tuple(void)
{
	cr_expect(p.icmp_err);
	cr_expect_eq(p.inner_proto, IPPROTO_UDP);
	cr_expect_eq(p.inner_l3_off, 14 + 20 + 8);
	cr_expect_eq(p.inner_l4_off, 14 + 20 + 8 + 20);
	cr_expect_eq(p.inner_saddr, fr_ip("10.0.0.1"));
	cr_expect_eq(p.inner_daddr, fr_ip("10.0.0.100"));
	cr_expect_eq(p.inner_sport, htons(40000));
	cr_expect_eq(p.inner_dport, htons(53));
}

Test(pkt, icmp_port_unreachable_gives_the_quoted_tuple)
{
	size_t n = build_icmp_err(XLB_ICMP_DEST_UNREACH, 3, 1000);

	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.icmp_type, XLB_ICMP_DEST_UNREACH);
	cr_expect_eq(p.icmp_code, 3);
	expect_inner_tuple();
	cr_expect_eq(p.inner_l4_avail, 8 + 12);
}

Test(pkt, icmp_frag_needed_with_header_plus_8_bytes_gives_the_quoted_tuple)
{
	size_t n = build_icmp_err(XLB_ICMP_DEST_UNREACH, XLB_ICMP_FRAG_NEEDED,
				  28);

	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.icmp_code, XLB_ICMP_FRAG_NEEDED);
	expect_inner_tuple();
	cr_expect_eq(p.inner_l4_avail, 8);
}

Test(pkt, icmp_time_exceeded_gives_the_quoted_tuple)
{
	size_t n = build_icmp_err(XLB_ICMP_TIME_EXCEEDED, 0, 28);

	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	expect_inner_tuple();
}

Test(pkt, icmp_parameter_problem_gives_the_quoted_tuple)
{
	size_t n = build_icmp_err(XLB_ICMP_PARAMETERPROB, 0, 28);

	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	expect_inner_tuple();
}

Test(pkt, icmp_source_quench_gives_the_quoted_tuple)
{
	size_t n = build_icmp_err(XLB_ICMP_SOURCE_QUENCH, 0, 28);

	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	expect_inner_tuple();
}

Test(pkt, arp_is_not_ours)
{
	uint8_t arp[42] = { 0 };

	arp[12] = 0x08;
	arp[13] = 0x06;
	cr_expect_eq(parse_exact(arp, sizeof(arp), &p), XLB_PKT_NOT_OURS);
}

Test(pkt, ipv6_behind_a_vlan_tag_is_not_ours)
{
	uint8_t f[80] = { 0 };

	f[12] = 0x81;
	f[16] = 0x86;
	f[17] = 0xDD;
	f[18] = 0x60;
	cr_expect_eq(parse_exact(f, sizeof(f), &p), XLB_PKT_NOT_OURS);
}

Test(pkt, other_ip_protocols_parse_without_l4_fields)
{
	struct fr_spec s = fr_default(47);	/* GRE */
	uint8_t pay[4] = { 0 };
	size_t n;

	s.payload = pay;
	s.payload_len = 4;
	n = build(&s);
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.proto, 47);
	cr_expect_eq(p.l4_hlen, 0);
	cr_expect_eq(p.sport, 0);
}

/* ---- malformed: one class per test ---- */

Test(pkt, frame_shorter_than_ethernet_header_is_eth_trunc)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);

	build(&s);
	cr_expect_eq(parse_exact(buf, 13, &p), XLB_PKT_E_ETH_TRUNC);
	cr_expect_eq(parse_exact(buf, 0, &p), XLB_PKT_E_ETH_TRUNC);
}

Test(pkt, cut_vlan_tag_is_vlan_trunc)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);

	s.vlan = true;
	build(&s);
	cr_expect_eq(parse_exact(buf, 17, &p), XLB_PKT_E_VLAN_TRUNC);
}

Test(pkt, fewer_than_20_ip_bytes_is_ip_trunc)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);

	build(&s);
	cr_expect_eq(parse_exact(buf, 14 + 19, &p), XLB_PKT_E_IP_TRUNC);
}

Test(pkt, ip_version_other_than_4_is_ip_version)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n = build(&s);

	buf[14] = 0x65;
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_IP_VERSION);
}

Test(pkt, ihl_below_5_is_ihl_short)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n = build(&s);

	buf[14] = 0x44;
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_IHL_SHORT);
}

Test(pkt, ihl_beyond_the_buffer_is_ihl_trunc)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	size_t n = build(&s);	/* 14 + 28 */

	buf[14] = 0x4F;		/* 60 bytes of header */
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_IHL_TRUNC);
}

Test(pkt, total_length_beyond_the_buffer_is_totlen_trunc)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n = build(&s);

	cr_expect_eq(parse_exact(buf, n - 1, &p), XLB_PKT_E_TOTLEN_TRUNC);
}

Test(pkt, total_length_below_the_header_is_totlen_short)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n = build(&s);

	buf[16] = 0;
	buf[17] = 19;
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_TOTLEN_SHORT);
}

Test(pkt, non_first_fragment_is_frag_with_l3_fields_filled)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	uint8_t pay[16] = { 0 };
	size_t n;

	s.payload = pay;
	s.payload_len = sizeof(pay);
	s.frag = XLB_IP_MF | 185;	/* offset 1480 bytes */
	n = build(&s);
	cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_E_FRAG);
	cr_expect(p.frag_nonfirst);
	cr_expect(p.mf);
	cr_expect_eq(p.frag_off, 1480);
	cr_expect_eq(p.proto, IPPROTO_UDP);
	cr_expect_eq(p.saddr, fr_ip("10.0.0.1"));
	cr_expect_eq(p.daddr, fr_ip("10.0.0.100"));
	cr_expect_eq(p.ip_id, htons(0x1234));
	cr_expect_eq(p.l4_len, 24);
	cr_expect_eq(p.sport, 0, "no L4 header in a non-first fragment");
}

Test(pkt, last_fragment_without_mf_is_frag)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n;

	s.frag = 10;
	n = build(&s);
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_FRAG);
}

/* Sets the IP total length to 20 + l4 and cuts the frame there. */
static size_t cut_l4(size_t l4)
{
	buf[16] = (uint8_t)((20 + l4) >> 8);
	buf[17] = (uint8_t)(20 + l4);
	return 14 + 20 + l4;
}

Test(pkt, tcp_header_cut_short_is_tcp_trunc)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);

	build(&s);
	cr_expect_eq(parse_exact(buf, cut_l4(19), &p), XLB_PKT_E_TCP_TRUNC);
}

Test(pkt, tcp_header_cut_by_total_length_not_buffer_is_tcp_trunc)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n = build(&s);

	cut_l4(10);		/* the bytes are there, but not in the datagram */
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_TCP_TRUNC);
}

Test(pkt, tcp_data_offset_below_5_is_doff_short)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n = build(&s);

	buf[14 + 20 + 12] = 4 << 4;
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_TCP_DOFF_SHORT);
}

Test(pkt, tcp_data_offset_beyond_the_datagram_is_doff_trunc)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	size_t n = build(&s);

	buf[14 + 20 + 12] = 6 << 4;
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_TCP_DOFF_TRUNC);
}

Test(pkt, udp_header_cut_short_is_udp_trunc)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);

	build(&s);
	cr_expect_eq(parse_exact(buf, cut_l4(7), &p), XLB_PKT_E_UDP_TRUNC);
}

Test(pkt, udp_length_below_8_is_udp_len_short)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	size_t n = build(&s);

	buf[14 + 20 + 5] = 7;
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_UDP_LEN_SHORT);
}

Test(pkt, udp_length_beyond_the_ip_payload_is_udp_len_long)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	size_t n = build(&s);

	buf[14 + 20 + 5] = 9;
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_UDP_LEN_LONG);
}

Test(pkt, icmp_header_cut_short_is_icmp_trunc)
{
	struct fr_spec s = fr_default(IPPROTO_ICMP);

	s.icmp_type = XLB_ICMP_ECHO;
	build(&s);
	cr_expect_eq(parse_exact(buf, cut_l4(7), &p), XLB_PKT_E_ICMP_TRUNC);
}

Test(pkt, icmp_error_quoting_part_of_an_ip_header_is_inner_trunc)
{
	size_t n = build_icmp_err(XLB_ICMP_DEST_UNREACH, 1, 12);

	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_ICMP_INNER_TRUNC);
}

Test(pkt, icmp_error_quoting_under_8_l4_bytes_is_inner_trunc)
{
	size_t n = build_icmp_err(XLB_ICMP_TIME_EXCEEDED, 0, 20 + 7);

	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_ICMP_INNER_TRUNC);
}

Test(pkt, icmp_error_quoting_options_past_the_quote_is_inner_trunc)
{
	size_t n = build_icmp_err(XLB_ICMP_TIME_EXCEEDED, 0, 28);

	buf[14 + 20 + 8] = 0x46;	/* inner IHL 24: 4 L4 bytes left */
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_ICMP_INNER_TRUNC);
}

Test(pkt, icmp_error_quoting_a_non_ipv4_header_is_inner_bad)
{
	size_t n = build_icmp_err(XLB_ICMP_DEST_UNREACH, 3, 28);

	buf[14 + 20 + 8] = 0x65;
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_ICMP_INNER_BAD);
	buf[14 + 20 + 8] = 0x44;
	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_E_ICMP_INNER_BAD);
}

Test(pkt, every_error_class_has_its_own_text_and_counter_slot)
{
	int e, f;

	for (e = 0; e > -XLB_PKT_ERR_COUNT; e--) {
		const char *s = xlb_pkt_strerror(e);

		cr_expect_str_neq(s, "unknown packet error", "err %d", e);
		for (f = e - 1; f > -XLB_PKT_ERR_COUNT; f--)
			cr_expect_str_neq(s, xlb_pkt_strerror(f),
					  "%d and %d share a text", e, f);
	}
	cr_expect_str_eq(xlb_pkt_strerror(-XLB_PKT_ERR_COUNT),
			 "unknown packet error");
}

/* ---- fuzz-ish ---- */

static uint32_t rng_state = 0x9E3779B9;

static uint32_t rnd(void)
{
	/* xorshift32: fixed seed, reproducible failures */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* What every parse result must satisfy, whatever the input. */
static void check_result(int r, size_t len)
{
	cr_assert(r == XLB_PKT_NOT_OURS ||
		  (r <= 0 && r > -XLB_PKT_ERR_COUNT), "result %d", r);
	if (r != XLB_PKT_OK)
		return;
	cr_assert_leq(p.l3_off + (size_t)p.ip_len, len);
	cr_assert_leq(p.l4_off + (size_t)p.l4_hlen, p.l3_off + (size_t)p.ip_len);
	if (p.icmp_err)
		cr_assert_leq(p.inner_l4_off + (size_t)8,
			      p.l3_off + (size_t)p.ip_len);
}

Test(pkt, random_buffers_never_crash_nor_read_out_of_bounds)
{
	uint8_t raw[200];
	int i;
	size_t j;

	for (i = 0; i < 100000; i++) {
		size_t len = rnd() % 201;

		for (j = 0; j < len; j++)
			raw[j] = (uint8_t)rnd();
		/* Make most of them reach the IP parser. */
		if (len > 14 && (i & 1)) {
			raw[12] = 0x08;
			raw[13] = 0x00;
			raw[14] = (raw[14] & 0x0F) | 0x40;
		}
		check_result(parse_exact(raw, len, &p), len);
	}
}

static size_t template_frame(int k)
{
	struct fr_spec s;
	uint8_t pay[24] = { 1, 2, 3 };
	static const uint8_t opts[8] = { 1, 1, 1, 0 };

	switch (k) {
	case 0:
		s = fr_default(IPPROTO_TCP);
		s.tcp_opts_len = 8;
		break;
	case 1:
		s = fr_default(IPPROTO_UDP);
		s.vlan = true;
		s.ip_opts = opts;
		s.ip_opts_len = sizeof(opts);
		break;
	case 2:
		s = fr_default(IPPROTO_ICMP);
		s.icmp_type = XLB_ICMP_ECHO;
		break;
	default:
		return build_icmp_err(XLB_ICMP_DEST_UNREACH, 3, 1000);
	}
	s.payload = pay;
	s.payload_len = sizeof(pay);
	return build(&s);
}

Test(pkt, every_truncation_of_a_valid_frame_is_an_error_not_a_crash)
{
	int k;
	size_t cut, n;

	for (k = 0; k < 4; k++) {
		n = template_frame(k);
		cr_assert_eq(parse_exact(buf, n, &p), XLB_PKT_OK, "frame %d", k);
		for (cut = 0; cut < n; cut++) {
			int r = parse_exact(buf, cut, &p);

			check_result(r, cut);
			cr_expect_lt(r, 0, "frame %d cut at %zu gave %d",
				     k, cut, r);
		}
	}
}

Test(pkt, random_mutations_of_valid_frames_never_crash)
{
	uint8_t f[CAP];
	int i, k, m;

	for (i = 0; i < 20000; i++) {
		size_t n = template_frame(i & 3), len;

		memcpy(f, buf, n);
		for (m = rnd() % 4; m >= 0; m--)
			f[rnd() % n] = (uint8_t)rnd();
		len = rnd() % (n + 1);
		k = parse_exact(f, len, &p);
		check_result(k, len);
	}
}
