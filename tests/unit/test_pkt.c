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

/* ==== IPv6 (xlb_pkt_parse_dual) ==== */

static int parse6_exact(const uint8_t *f, size_t len, struct xlb_pkt *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	cr_assert_not_null(copy);
	memcpy(copy, f, len);
	r = xlb_pkt_parse_dual(copy, (uint32_t)len, out);
	free(copy);
	return r;
}

static size_t build6(const struct fr6_spec *s)
{
	return fr6_build(buf, sizeof(buf), s);
}

static bool addr_is(const union xlb_inaddr *a, const char *text)
{
	uint8_t b[16];

	fr6_ip(b, text);
	return !memcmp(a->b, b, 16);
}

Test(pkt6, tcp_frame_gives_family_addresses_ports_and_ipv6_fields)
{
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	size_t n;

	s.tcp_flags = XLB_TCP_SYN;
	s.tclass = 0xB8;
	s.hlim = 63;
	n = build6(&s);
	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.af, AF_INET6);
	cr_expect_eq(p.l3_off, 14);
	cr_expect_eq(p.ip_len, 60);
	cr_expect_eq(p.tos, 0xB8);
	cr_expect_eq(p.flow_lbl, 0x12345);
	cr_expect_eq(p.ttl, 63);
	cr_expect_eq(p.proto, IPPROTO_TCP);
	cr_expect(addr_is(&p.saddr6, "2001:db8::1"));
	cr_expect(addr_is(&p.daddr6, "2001:db8::100"));
	cr_expect_eq(p.saddr, 0, "no IPv4 address for an IPv6 packet");
	cr_expect_eq(p.ihl, 0);
	cr_expect_eq(p.ip6_ext_len, 0);
	cr_expect_eq(p.l4_off, 54);
	cr_expect_eq(p.l4_len, 20);
	cr_expect_eq(p.l4_hlen, 20);
	cr_expect_eq(p.sport, htons(40000));
	cr_expect_eq(p.dport, htons(80));
	cr_expect_eq(p.tcp_flags, XLB_TCP_SYN);
	cr_expect_not(p.ip6_frag);
	cr_expect_not(p.icmp_err);
}

Test(pkt6, udp_behind_a_vlan_tag_parses_with_offsets_shifted_by_four)
{
	struct fr6_spec s = fr6_default(IPPROTO_UDP);
	uint8_t pay[5] = { 1 };
	size_t n;

	s.vlan = true;
	s.vlan_tci = 0x0064;
	s.payload = pay;
	s.payload_len = sizeof(pay);
	n = build6(&s);
	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect(p.has_vlan);
	cr_expect_eq(p.vlan_tci, 0x64);
	cr_expect_eq(p.l3_off, 18);
	cr_expect_eq(p.l4_off, 58);
	cr_expect_eq(p.l4_len, 13);
	cr_expect_eq(p.l4_hlen, 8);
	cr_expect_eq(p.dport, htons(80));
}

Test(pkt6, the_ipv4_only_parser_still_passes_ipv6_on)
{
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	size_t n = build6(&s);

	cr_expect_eq(parse_exact(buf, n, &p), XLB_PKT_NOT_OURS);
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
}

Test(pkt6, ipv4_frames_parse_exactly_as_with_the_ipv4_parser)
{
	struct xlb_pkt a, b;
	int k;

	for (k = 0; k < 4; k++) {
		size_t n = template_frame(k);
		int ra, rb;

		memset(&a, 0x5A, sizeof(a));
		memset(&b, 0xA5, sizeof(b));
		ra = parse_exact(buf, n, &a);
		rb = parse6_exact(buf, n, &b);
		cr_expect_eq(ra, rb, "frame %d", k);
		cr_expect_eq(a.af, AF_INET);
		cr_expect_arr_eq(&a, &b, XLB_PKT_V4_SIZE, "frame %d", k);
	}
}

Test(pkt6, ethernet_padding_after_the_payload_length_is_ignored)
{
	struct fr6_spec s = fr6_default(IPPROTO_UDP);
	size_t n;

	s.eth_pad = 6;		/* 54 + 8 bytes, padded */
	n = build6(&s);
	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.ip_len, 48);
	cr_expect_eq(p.l4_len, 8);
}

Test(pkt6, hop_by_hop_routing_and_destination_options_are_skipped)
{
	static const uint8_t types[3] = { 0, 43, 60 };
	uint8_t ext[24];
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	size_t n;

	s.ext = ext;
	s.ext_len = (uint16_t)fr6_ext(ext, types, 3, IPPROTO_TCP);
	s.ext_nh = types[0];
	n = build6(&s);
	cr_assert_null(fr_verify(buf, n));
	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.proto, IPPROTO_TCP);
	cr_expect_eq(p.ip6_n_ext, 3);
	cr_expect_eq(p.ip6_ext_len, 24);
	cr_expect_eq(p.l4_off, 14 + 40 + 24);
	cr_expect_eq(p.l4_len, 20);
	cr_expect_eq(p.sport, htons(40000));
}

Test(pkt6, a_longer_extension_header_is_skipped_by_its_length)
{
	uint8_t ext[24] = { IPPROTO_UDP, 2, 1, 20 };	/* 24 bytes of PadN */
	struct fr6_spec s = fr6_default(IPPROTO_UDP);
	size_t n;

	s.ext = ext;
	s.ext_len = sizeof(ext);
	s.ext_nh = XLB_IP6_NH_DSTOPTS;
	n = build6(&s);
	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.l4_off, 14 + 40 + 24);
	cr_expect_eq(p.proto, IPPROTO_UDP);
}

static size_t build_chain(int n_ext, uint8_t first)
{
	uint8_t types[12], ext[96];
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	int i;

	for (i = 0; i < n_ext; i++)
		types[i] = i ? XLB_IP6_NH_DSTOPTS : first;
	s.ext = ext;
	s.ext_len = (uint16_t)fr6_ext(ext, types, n_ext, IPPROTO_TCP);
	s.ext_nh = types[0];
	return build6(&s);
}

Test(pkt6, eight_extension_headers_are_walked_nine_are_ext_chain)
{
	size_t n = build_chain(8, XLB_IP6_NH_HOPOPTS);

	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.ip6_n_ext, 8);
	n = build_chain(9, XLB_IP6_NH_HOPOPTS);
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_EXT_CHAIN);
}

Test(pkt6, hop_by_hop_after_another_header_is_ext_chain)
{
	static const uint8_t types[2] = { 60, 0 };
	uint8_t ext[16];
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	size_t n;

	s.ext = ext;
	s.ext_len = (uint16_t)fr6_ext(ext, types, 2, IPPROTO_TCP);
	s.ext_nh = types[0];
	n = build6(&s);
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_EXT_CHAIN);
}

Test(pkt6, extension_header_cut_by_the_payload_length_is_ext_trunc)
{
	size_t n = build_chain(2, XLB_IP6_NH_HOPOPTS);

	/* payload length 12: the second header is 4 bytes short */
	buf[18] = 0;
	buf[19] = 12;
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_EXT_TRUNC);
	/* payload length 4: not even the first header's 8 bytes */
	buf[19] = 4;
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_EXT_TRUNC);
}

Test(pkt6, extension_header_length_beyond_the_payload_is_ext_trunc)
{
	size_t n = build_chain(1, XLB_IP6_NH_DSTOPTS);

	buf[14 + 40 + 1] = 3;	/* 32 bytes claimed, 28 in the datagram */
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_EXT_TRUNC);
}

Test(pkt6, routing_header_with_segments_left_is_ip6_routing)
{
	size_t n = build_chain(1, XLB_IP6_NH_ROUTING);

	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	buf[14 + 40 + 3] = 1;
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_ROUTING);
}

static size_t build_frag6(uint16_t off_field)
{
	uint8_t ext[8] = { IPPROTO_UDP, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF };
	struct fr6_spec s = fr6_default(IPPROTO_UDP);

	ext[2] = (uint8_t)(off_field >> 8);
	ext[3] = (uint8_t)off_field;
	s.ext = ext;
	s.ext_len = sizeof(ext);
	s.ext_nh = XLB_IP6_NH_FRAGMENT;
	return build6(&s);
}

Test(pkt6, first_fragment_is_ip6_frag_with_l3_fields_filled)
{
	size_t n = build_frag6(0x0001);		/* offset 0, M */

	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_FRAG);
	cr_expect_eq(p.af, AF_INET6);
	cr_expect(p.ip6_frag);
	cr_expect(p.mf);
	cr_expect_not(p.frag_nonfirst);
	cr_expect_eq(p.ip6_frag_id, htonl(0xDEADBEEF));
	cr_expect_eq(p.proto, IPPROTO_UDP);
	cr_expect(addr_is(&p.saddr6, "2001:db8::1"));
}

Test(pkt6, later_and_atomic_fragments_are_ip6_frag)
{
	size_t n = build_frag6(0x00A8);		/* offset 168, last */

	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_FRAG);
	cr_expect_eq(p.frag_off, 168);
	cr_expect(p.frag_nonfirst);
	cr_expect_not(p.mf);
	n = build_frag6(0);
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_FRAG);
}

Test(pkt6, fewer_than_40_ipv6_bytes_is_ip6_trunc)
{
	struct fr6_spec s = fr6_default(IPPROTO_TCP);

	build6(&s);
	cr_expect_eq(parse6_exact(buf, 14 + 39, &p), XLB_PKT_E_IP6_TRUNC);
	cr_expect_eq(parse6_exact(buf, 14, &p), XLB_PKT_E_IP6_TRUNC);
}

Test(pkt6, ip_version_other_than_6_is_ip6_version)
{
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	size_t n = build6(&s);

	buf[14] = 0x40 | (buf[14] & 0x0F);
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_VERSION);
}

Test(pkt6, payload_length_beyond_the_buffer_is_ip6_plen_trunc)
{
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	size_t n = build6(&s);

	buf[19] = 21;
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_PLEN_TRUNC);
	buf[18] = 0xFF;
	buf[19] = 0xFF;
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_IP6_PLEN_TRUNC);
}

Test(pkt6, payload_length_below_the_transport_header_is_its_trunc)
{
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	size_t n = build6(&s);

	buf[19] = 19;		/* the frame still holds 20 */
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_TCP_TRUNC);
	s = fr6_default(IPPROTO_UDP);
	n = build6(&s);
	buf[19] = 0;
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_UDP_TRUNC);
	s = fr6_default(IPPROTO_ICMPV6);
	n = build6(&s);
	buf[19] = 7;
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_ICMP_TRUNC);
}

Test(pkt6, udp_length_beyond_the_payload_is_udp_len_long)
{
	struct fr6_spec s = fr6_default(IPPROTO_UDP);
	size_t n = build6(&s);

	buf[14 + 40 + 5] = 9;
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_UDP_LEN_LONG);
}

Test(pkt6, udp_without_checksum_is_udp6_csum_zero)
{
	struct fr6_spec s = fr6_default(IPPROTO_UDP);
	size_t n;

	s.udp_no_csum = true;
	n = build6(&s);
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_UDP6_CSUM_ZERO);
}

Test(pkt6, no_next_header_and_esp_parse_without_l4_fields)
{
	struct fr6_spec s = fr6_default(XLB_IP6_NH_NONE);
	size_t n = build6(&s);

	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.l4_hlen, 0);
	cr_expect_eq(p.l4_len, 0);
	s = fr6_default(50);
	n = build6(&s);
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.proto, 50);
	cr_expect_eq(p.sport, 0);
}

Test(pkt6, echo_gives_type_and_id_and_is_for_the_kernel)
{
	struct fr6_spec s = fr6_default(IPPROTO_ICMPV6);
	size_t n;

	s.icmp_type = XLB_ICMP6_ECHO;
	s.icmp_rest = 0x42420001;
	n = build6(&s);
	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_eq(p.icmp_type, XLB_ICMP6_ECHO);
	cr_expect_eq(p.icmp_id, htons(0x4242));
	cr_expect_not(p.icmp6_nd);
	cr_expect(xlb_pkt_icmp6_for_kernel(&p));
}

Test(pkt6, neighbour_discovery_133_to_137_is_flagged_for_the_kernel)
{
	int t;

	for (t = 130; t <= 140; t++) {
		struct fr6_spec s = fr6_default(IPPROTO_ICMPV6);
		uint8_t target[16] = { 0xfe, 0x80 };
		size_t n;

		s.icmp_type = (uint8_t)t;
		s.hlim = 255;
		s.payload = target;
		s.payload_len = sizeof(target);
		n = build6(&s);
		cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK, "type %d", t);
		cr_expect_eq(p.icmp6_nd, t >= 133 && t <= 137, "type %d", t);
		cr_expect(xlb_pkt_icmp6_for_kernel(&p), "type %d", t);
		cr_expect_not(p.icmp_err);
	}
}

/* An ICMPv6 error (type, code) from 2001:db8:ff::1 quoting qlen bytes of
 * the reply [2001:db8::100]:80 -> [2001:db8::1]:40000 (TCP, with
 * n_ext destination options headers). */
static size_t build_icmp6_err(uint8_t type, uint8_t code, size_t qlen,
			      int n_ext)
{
	static const uint8_t types[4] = { 60, 60, 60, 60 };
	uint8_t q[256], ext[32];
	struct fr6_spec in = fr6_default(IPPROTO_TCP);
	struct fr6_spec s = fr6_default(IPPROTO_ICMPV6);
	uint8_t pay[24] = { 0x77 };
	size_t qn;

	in.no_eth = true;
	memcpy(in.saddr, s.daddr, 16);
	memcpy(in.daddr, s.saddr, 16);
	in.sport = 80;
	in.dport = 40000;
	in.payload = pay;
	in.payload_len = sizeof(pay);
	if (n_ext) {
		in.ext = ext;
		in.ext_len = (uint16_t)fr6_ext(ext, types, n_ext, IPPROTO_TCP);
		in.ext_nh = 60;
	}
	qn = fr6_build(q, sizeof(q), &in);
	cr_assert_leq(qlen, qn);
	fr6_ip(s.saddr, "2001:db8:ff::1");
	s.icmp_type = type;
	s.icmp_code = code;
	s.icmp_rest = type == XLB_ICMP6_PKT_TOOBIG ? 1400 : 0;
	s.payload = q;
	s.payload_len = (uint16_t)qlen;
	return build6(&s);
}

static void expect_inner6(size_t inner_l4_off)
{
	cr_expect(p.icmp_err);
	cr_expect_eq(p.inner_proto, IPPROTO_TCP);
	cr_expect_eq(p.inner_l3_off, 14 + 40 + 8);
	cr_expect_eq(p.inner_l4_off, inner_l4_off);
	cr_expect_eq(p.inner_l4_off + p.inner_l4_avail, p.l4_off + p.l4_len);
	cr_expect(addr_is(&p.inner_saddr6, "2001:db8::100"));
	cr_expect(addr_is(&p.inner_daddr6, "2001:db8::1"));
	cr_expect_eq(p.inner_sport, htons(80));
	cr_expect_eq(p.inner_dport, htons(40000));
	cr_expect_not(xlb_pkt_icmp6_for_kernel(&p));
}

Test(pkt6, the_four_icmpv6_errors_give_the_quoted_tuple)
{
	uint8_t t;

	for (t = 1; t <= 4; t++) {
		size_t n = build_icmp6_err(t, 0, 40 + 44, 0);

		cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK, "type %d", t);
		cr_expect_eq(p.icmp_type, t);
		expect_inner6(14 + 40 + 8 + 40);
	}
}

Test(pkt6, icmpv6_error_quoting_header_plus_8_bytes_gives_the_tuple)
{
	size_t n = build_icmp6_err(XLB_ICMP6_PKT_TOOBIG, 0, 48, 0);

	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	expect_inner6(14 + 40 + 8 + 40);
	cr_expect_eq(p.inner_l4_avail, 8);
}

Test(pkt6, icmpv6_error_quoting_extension_headers_skips_them)
{
	size_t n = build_icmp6_err(XLB_ICMP6_DEST_UNREACH, 4, 40 + 16 + 8, 2);

	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	expect_inner6(14 + 40 + 8 + 40 + 16);
}

Test(pkt6, icmpv6_error_quoting_under_40_bytes_is_inner_trunc)
{
	size_t n = build_icmp6_err(XLB_ICMP6_DEST_UNREACH, 1, 39, 0);

	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_ICMP_INNER_TRUNC);
}

Test(pkt6, icmpv6_error_quoting_under_8_transport_bytes_is_inner_trunc)
{
	size_t n = build_icmp6_err(XLB_ICMP6_TIME_EXCEEDED, 0, 47, 0);

	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_ICMP_INNER_TRUNC);
	n = build_icmp6_err(XLB_ICMP6_TIME_EXCEEDED, 0, 40 + 12, 2);
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_ICMP_INNER_TRUNC,
		     "quote cut inside the extension headers");
}

Test(pkt6, icmpv6_error_quoting_a_non_ipv6_header_is_inner_bad)
{
	size_t n = build_icmp6_err(XLB_ICMP6_PARAMPROB, 0, 48, 0);

	buf[14 + 40 + 8] = 0x45;
	cr_expect_eq(parse6_exact(buf, n, &p), XLB_PKT_E_ICMP_INNER_BAD);
}

Test(pkt6, icmpv6_error_quoting_a_later_fragment_gives_no_ports)
{
	size_t n = build_icmp6_err(XLB_ICMP6_DEST_UNREACH, 0, 40 + 16 + 8, 2);

	/* the first quoted header becomes a fragment header, offset 8 */
	buf[14 + 40 + 8 + 6] = XLB_IP6_NH_FRAGMENT;
	buf[14 + 40 + 8 + 40 + 2] = 0;
	buf[14 + 40 + 8 + 40 + 3] = 8;
	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect(p.icmp_err);
	cr_expect(p.inner_frag_nonfirst);
	cr_expect_eq(p.inner_sport, 0);
}

Test(pkt6, unknown_icmpv6_error_types_are_not_errors_for_xlb)
{
	size_t n = build_icmp6_err(5, 0, 48, 0);

	cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK);
	cr_expect_not(p.icmp_err);
	cr_expect(xlb_pkt_icmp6_for_kernel(&p));
}

static size_t template6(int k)
{
	struct fr6_spec s;
	uint8_t pay[24] = { 1, 2, 3 }, ext[16];
	static const uint8_t types[2] = { 0, 60 };

	switch (k) {
	case 0:
		s = fr6_default(IPPROTO_TCP);
		break;
	case 1:
		s = fr6_default(IPPROTO_UDP);
		s.vlan = true;
		s.ext = ext;
		s.ext_len = (uint16_t)fr6_ext(ext, types, 2, IPPROTO_UDP);
		s.ext_nh = 0;
		break;
	case 2:
		s = fr6_default(IPPROTO_ICMPV6);
		s.icmp_type = XLB_ICMP6_ECHO;
		break;
	default:
		return build_icmp6_err(XLB_ICMP6_DEST_UNREACH, 3, 40 + 16 + 44, 2);
	}
	s.payload = pay;
	s.payload_len = sizeof(pay);
	return build6(&s);
}

Test(pkt6, every_truncation_of_a_valid_frame_is_an_error_not_a_crash)
{
	int k;
	size_t cut, n;

	for (k = 0; k < 4; k++) {
		n = template6(k);
		cr_assert_eq(parse6_exact(buf, n, &p), XLB_PKT_OK, "frame %d", k);
		for (cut = 0; cut < n; cut++) {
			int r = parse6_exact(buf, cut, &p);

			check_result(r, cut);
			cr_expect_lt(r, 0, "frame %d cut at %zu gave %d", k, cut, r);
		}
	}
}

Test(pkt6, random_mutations_of_valid_frames_never_crash)
{
	uint8_t f[CAP];
	int i, m;

	for (i = 0; i < 20000; i++) {
		size_t n = template6(i & 3), len;
		int r;

		memcpy(f, buf, n);
		for (m = rnd() % 4; m >= 0; m--)
			f[rnd() % n] = (uint8_t)rnd();
		len = rnd() % (n + 1);
		r = parse6_exact(f, len, &p);
		check_result(r, len);
		if (r == XLB_PKT_OK && p.af == AF_INET6)
			cr_assert_leq(p.l4_off + (size_t)p.l4_len,
				      p.l3_off + (size_t)p.ip_len);
	}
}
