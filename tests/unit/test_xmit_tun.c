// SPDX-License-Identifier: GPL-2.0
/* TUN (IP-in-IP) and the ICMP frag-needed it may call for: byte-for-byte
 * against frames built independently, checksums recomputed from scratch. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <criterion/criterion.h>

#include "frames.h"
#include "xmit.h"

#define HEADROOM 64

static struct xlb_xmit_bind tb;
static uint8_t umem[2048];	/* HEADROOM, then the frame */
static uint8_t want[2048];

static void setup(void)
{
	static const uint8_t dsmac[6] = { 0x02, 0xD1, 0, 0, 0, 0x01 };
	static const uint8_t rsmac[6] = { 0x02, 0xAA, 0, 0, 0, 0x05 };

	memset(&tb, 0, sizeof(tb));
	memcpy(tb.smac, dsmac, 6);
	memcpy(tb.dmac, rsmac, 6);
	tb.rip = fr_ip("192.168.10.5");
	tb.rport = htons(80);
	tb.vip = fr_ip("10.0.0.100");
	tb.vport = htons(80);
	tb.dip = fr_ip("192.168.10.1");
	tb.mtu = 1500;
}

TestSuite(xmit_tun, .init = setup);

static struct xlb_frame frame_of(const struct fr_spec *s, uint32_t headroom)
{
	struct xlb_frame f = {
		.data = umem + headroom,
		.headroom = headroom,
	};

	f.len = (uint32_t)fr_build(f.data, sizeof(umem) - headroom, s);
	f.tailroom = (uint32_t)(sizeof(umem) - headroom - f.len);
	return f;
}

/* The expected frame: s's MACs replaced, outer header as given, s's
 * datagram (without Ethernet padding) as the payload. */
static size_t expected(const struct fr_spec *s, uint16_t id, uint16_t frag,
		       uint8_t ttl)
{
	static uint8_t inner[2048];
	struct fr_spec is = *s, os = *s;
	size_t in;

	is.no_eth = true;
	is.eth_pad = 0;
	in = fr_build(inner, sizeof(inner), &is);

	memset(&os, 0, sizeof(os));
	memcpy(os.dmac, tb.dmac, 6);
	memcpy(os.smac, tb.smac, 6);
	os.vlan = s->vlan;
	os.vlan_tci = s->vlan_tci;
	os.tos = s->tos;
	os.ttl = ttl;
	os.id = id;
	os.frag = frag;
	os.proto = IPPROTO_IPIP;
	os.saddr = tb.dip;
	os.daddr = tb.rip;
	os.payload = inner;
	os.payload_len = (uint16_t)in;
	return fr_build(want, sizeof(want), &os);
}

static void run_tun(struct xlb_frame *f, struct xlb_pkt *p)
{
	cr_assert_eq(xlb_pkt_parse(f->data, f->len, p), XLB_PKT_OK);
	cr_assert_eq(xlb_xmit_tun(f, p, &tb), 0);
}

Test(xmit_tun, df_packet_gets_outer_header_with_df_id_0_and_copied_tos)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	struct xlb_frame f;
	struct xlb_pkt p;
	size_t wn;

	s.frag = XLB_IP_DF;
	s.tos = 0xB8;
	f = frame_of(&s, HEADROOM);
	run_tun(&f, &p);
	wn = expected(&s, 0, XLB_IP_DF, 64);
	cr_assert_eq(f.len, wn);
	cr_expect_eq(f.data, umem + HEADROOM - 20, "grew into headroom");
	cr_expect_eq(f.headroom, HEADROOM - 20);
	cr_expect_arr_eq(f.data, want, wn);
	cr_expect_null(fr_verify(f.data, f.len), "%s",
		       fr_verify(f.data, f.len));
}

Test(xmit_tun, non_df_packet_takes_its_outer_id_from_the_bound_counter)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	uint16_t ctr = 0xFFFE;
	struct xlb_frame f;
	struct xlb_pkt p;
	size_t wn;
	int i;

	tb.ip_id = &ctr;
	for (i = 0; i < 3; i++) {
		f = frame_of(&s, HEADROOM);
		run_tun(&f, &p);
		wn = expected(&s, (uint16_t)(0xFFFE + i), 0, 64);
		cr_assert_eq(f.len, wn);
		cr_expect_arr_eq(f.data, want, wn, "packet %d", i);
		cr_expect_null(fr_verify(f.data, f.len));
	}
	cr_expect_eq(ctr, 1, "counter advanced once per packet, wrapping");
}

Test(xmit_tun, non_df_packet_without_counter_gets_an_id_that_follows_inner_id)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	struct xlb_frame f;
	struct xlb_pkt p;
	uint16_t id1, id2;

	f = frame_of(&s, HEADROOM);
	run_tun(&f, &p);
	id1 = fr_get16(f.data, 14 + 4);
	cr_expect_eq(fr_get16(f.data, 14 + 6), 0, "no DF, no offset");
	cr_expect_null(fr_verify(f.data, f.len));
	s.id++;
	f = frame_of(&s, HEADROOM);
	run_tun(&f, &p);
	id2 = fr_get16(f.data, 14 + 4);
	cr_expect_neq(id1, id2);
}

Test(xmit_tun, bound_ttl_is_the_outer_ttl_and_inner_ttl_is_untouched)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	struct xlb_frame f;
	struct xlb_pkt p;
	size_t wn;

	s.frag = XLB_IP_DF;
	s.ttl = 3;
	tb.ttl = 17;
	f = frame_of(&s, HEADROOM);
	run_tun(&f, &p);
	wn = expected(&s, 0, XLB_IP_DF, 17);
	cr_assert_eq(f.len, wn);
	cr_expect_arr_eq(f.data, want, wn);
}

Test(xmit_tun, vlan_tag_is_kept_in_front_of_the_outer_header)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	struct xlb_frame f;
	struct xlb_pkt p;
	size_t wn;

	s.vlan = true;
	s.vlan_tci = 0x0123;
	s.frag = XLB_IP_DF;
	f = frame_of(&s, HEADROOM);
	run_tun(&f, &p);
	wn = expected(&s, 0, XLB_IP_DF, 64);
	cr_assert_eq(f.len, wn);
	cr_expect_arr_eq(f.data, want, wn);
	cr_expect_null(fr_verify(f.data, f.len));
	cr_expect_eq(p.l3_off, 18 + 20, "p describes the inner datagram");
	cr_expect_eq(p.l4_off, 18 + 20 + 20);
}

Test(xmit_tun, ethernet_padding_is_dropped_into_tailroom)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	struct xlb_frame f;
	struct xlb_pkt p;
	uint32_t tail;
	size_t wn;

	s.frag = XLB_IP_DF;
	s.eth_pad = 18;
	f = frame_of(&s, HEADROOM);
	tail = f.tailroom;
	run_tun(&f, &p);
	wn = expected(&s, 0, XLB_IP_DF, 64);
	cr_assert_eq(f.len, wn);
	cr_expect_eq(f.tailroom, tail + 18);
	cr_expect_arr_eq(f.data, want, wn);
}

static void expect_same_frame(const struct xlb_frame *f,
			      const struct xlb_frame *f0)
{
	cr_expect_eq(f->data, f0->data);
	cr_expect_eq(f->len, f0->len);
	cr_expect_eq(f->headroom, f0->headroom);
	cr_expect_eq(f->tailroom, f0->tailroom);
}

Test(xmit_tun, headroom_under_20_bytes_is_enospc_and_frame_unchanged)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	struct xlb_frame f = frame_of(&s, 19), f0;
	struct xlb_pkt p, p0;
	uint8_t copy[2048];

	memcpy(copy, umem, sizeof(umem));
	f0 = f;
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	p0 = p;
	cr_expect_eq(xlb_xmit_tun(&f, &p, &tb), -ENOSPC);
	cr_expect_arr_eq(umem, copy, sizeof(umem));
	expect_same_frame(&f, &f0);
	cr_expect_eq(p.l3_off, p0.l3_off);
	cr_expect_eq(p.l4_off, p0.l4_off);
}

Test(xmit_tun, packet_over_mtu_once_encapsulated_is_emsgsize_and_unchanged)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	static uint8_t pay[1460];
	struct xlb_frame f, f0;
	struct xlb_pkt p;
	uint8_t copy[2048];

	s.frag = XLB_IP_DF;
	s.payload = pay;
	s.payload_len = sizeof(pay) - 19;	/* 1481 + 20 = 1501 */
	f = frame_of(&s, HEADROOM);
	memcpy(copy, umem, sizeof(umem));
	f0 = f;
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_tun(&f, &p, &tb), -EMSGSIZE);
	cr_expect_arr_eq(umem, copy, sizeof(umem));
	expect_same_frame(&f, &f0);
}

Test(xmit_tun, packet_exactly_at_mtu_once_encapsulated_is_sent)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	static uint8_t pay[1460];
	struct xlb_frame f;
	struct xlb_pkt p;

	s.frag = XLB_IP_DF;
	s.payload = pay;
	s.payload_len = sizeof(pay) - 20;	/* 1480 + 20 = 1500 */
	f = frame_of(&s, HEADROOM);
	run_tun(&f, &p);
	cr_expect_eq(fr_get16(f.data, 14 + 2), 1500);
	cr_expect_null(fr_verify(f.data, f.len));
}

/* ---- ICMP frag-needed ---- */

Test(xmit_tun, frag_needed_quotes_the_header_and_8_bytes_with_mtu_minus_20)
{
	struct fr_spec s = fr_default(IPPROTO_TCP), w;
	static const uint8_t opts[4] = { 1, 1, 1, 0 };
	static uint8_t pay[1480];
	uint8_t out[256];
	struct xlb_frame f;
	struct xlb_pkt p;
	int n;

	s.vlan = true;
	s.vlan_tci = 42;
	s.frag = XLB_IP_DF;
	s.ip_opts = opts;
	s.ip_opts_len = 4;
	s.payload = pay;
	s.payload_len = sizeof(pay) - 24;
	f = frame_of(&s, HEADROOM);
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	cr_assert_eq(xlb_xmit_tun(&f, &p, &tb), -EMSGSIZE);
	n = xlb_icmp_frag_needed(out, sizeof(out), f.data, &p, tb.dip, tb.mtu);

	w = fr_default(IPPROTO_ICMP);
	memcpy(w.dmac, s.smac, 6);
	memcpy(w.smac, s.dmac, 6);
	w.vlan = true;
	w.vlan_tci = 42;
	w.tos = 0xC0;
	w.id = 0;
	w.saddr = tb.dip;
	w.daddr = s.saddr;
	w.icmp_type = 3;
	w.icmp_code = 4;
	w.icmp_rest = 1480;
	w.payload = f.data + 18;
	w.payload_len = 24 + 8;
	cr_assert_eq(n, (int)fr_build(want, sizeof(want), &w));
	cr_expect_arr_eq(out, want, (size_t)n);
	cr_expect_null(fr_verify(out, (size_t)n));
	cr_assert_eq(xlb_pkt_parse(out, (uint32_t)n, &p), XLB_PKT_OK,
		     "our own error parses as one");
	cr_expect(p.icmp_err);
	cr_expect_eq(p.inner_sport, htons(40000));
}

Test(xmit_tun, frag_needed_refuses_small_buffers_and_mtus)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	struct xlb_frame f = frame_of(&s, HEADROOM);
	struct xlb_pkt p;
	uint8_t out[128];

	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_icmp_frag_needed(out, 14 + 20 + 8 + 27, f.data, &p,
					  tb.dip, 1500), -ENOSPC);
	cr_expect_eq(xlb_icmp_frag_needed(out, 14 + 20 + 8 + 28, f.data, &p,
					  tb.dip, 1500), 14 + 20 + 8 + 28);
	cr_expect_eq(xlb_icmp_frag_needed(out, sizeof(out), f.data, &p,
					  tb.dip, 87), -EINVAL);
}

/* ---- outer fragments (DF clear, too big once encapsulated) ---- */

#define FRAG_BUF 4096

static uint8_t jumbo[HEADROOM + FRAG_BUF];	/* a received frame's chunk */
static uint8_t fr_out[XLB_TUN_FRAG_MAX - 1][FRAG_BUF];
static uint8_t *const fr_outp[XLB_TUN_FRAG_MAX - 1] = {
	fr_out[0], fr_out[1], fr_out[2], fr_out[3], fr_out[4], fr_out[5],
	fr_out[6], fr_out[7], fr_out[8], fr_out[9], fr_out[10], fr_out[11],
};

/* A UDP datagram of ip_len bytes in total (DF as given), in jumbo[]. */
static struct xlb_frame big_frame(struct fr_spec *s, uint16_t ip_len,
				  bool df, bool vlan)
{
	static uint8_t pay[FRAG_BUF];
	struct xlb_frame f = { .data = jumbo + HEADROOM, .headroom = HEADROOM };

	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)(i * 7 + 3);
	*s = fr_default(IPPROTO_UDP);
	s->frag = df ? XLB_IP_DF : 0;
	s->id = 0x4242;
	s->vlan = vlan;
	s->vlan_tci = 0x0123;
	s->payload = pay;
	s->payload_len = (uint16_t)(ip_len - 28);
	f.len = (uint32_t)fr_build(f.data, FRAG_BUF, s);
	f.tailroom = FRAG_BUF - f.len;
	return f;
}

/* The inner datagram as the client sent it (no Ethernet, no padding). */
static size_t inner_of(const struct fr_spec *s, uint8_t *buf, size_t cap)
{
	struct fr_spec is = *s;

	is.no_eth = true;
	is.eth_pad = 0;
	return fr_build(buf, cap, &is);
}

/* Fragment k expected independently: the outer header built by
 * frames.c with the given fields, carrying inner[off..off+len). */
static size_t expected_frag(const struct fr_spec *s, const uint8_t *inner,
			    uint16_t id, uint16_t frag, size_t off, size_t len)
{
	struct fr_spec os;

	memset(&os, 0, sizeof(os));
	memcpy(os.dmac, tb.dmac, 6);
	memcpy(os.smac, tb.smac, 6);
	os.vlan = s->vlan;
	os.vlan_tci = s->vlan_tci;
	os.tos = s->tos;
	os.ttl = tb.ttl ? tb.ttl : 64;
	os.id = id;
	os.frag = frag;
	os.proto = IPPROTO_IPIP;
	os.saddr = tb.dip;
	os.daddr = tb.rip;
	os.payload = inner + off;
	os.payload_len = (uint16_t)len;
	return fr_build(want, sizeof(want), &os);
}

/*
 * Cuts the frame of s (ip_len bytes) at tb.mtu and checks every fragment
 * byte for byte: frame length, outer total length, id, MF on all but the
 * last, offset in 8-byte units, header checksum (from scratch), pieces of
 * (mtu - 20) & ~7 bytes, and that the pieces concatenated are the inner
 * datagram exactly. Returns the number of fragments.
 */
static int check_frags(const struct fr_spec *s, struct xlb_frame *f,
		       uint16_t ip_len)
{
	static uint8_t inner[FRAG_BUF], joined[FRAG_BUF];
	uint32_t len[XLB_TUN_FRAG_MAX - 1];
	uint32_t l2 = s->vlan ? 18 : 14;
	uint32_t step = (uint32_t)(tb.mtu - 20) & ~7u, off = 0;
	struct xlb_pkt p;
	size_t in, wn;
	int n, k;

	in = inner_of(s, inner, sizeof(inner));
	cr_assert_eq(in, ip_len);
	cr_assert_eq(xlb_pkt_parse(f->data, f->len, &p), XLB_PKT_OK);
	cr_assert_eq(xlb_xmit_tun(f, &p, &tb), -EMSGSIZE, "does not fit whole");
	n = xlb_xmit_tun_nfrags(&p, tb.mtu);
	cr_assert_eq(n, (int)((ip_len + step - 1) / step));
	cr_assert_eq(xlb_xmit_tun_frag(f, &p, &tb, 0xBEEF, fr_outp, len,
				       XLB_TUN_FRAG_MAX - 1, FRAG_BUF), n);
	cr_expect_eq(f->data, jumbo + HEADROOM - 20, "grew into headroom");
	cr_expect_eq(f->headroom, HEADROOM - 20);
	cr_expect_eq(p.l3_off, l2 + 20, "p describes the inner datagram");

	for (k = 0; k < n; k++) {
		const uint8_t *fr = k ? fr_outp[k - 1] : f->data;
		uint32_t flen = k ? len[k - 1] : f->len;
		bool last = k == n - 1;
		size_t chunk = last ? ip_len - off : step;

		wn = expected_frag(s, inner, 0xBEEF,
				   (uint16_t)((last ? 0 : XLB_IP_MF) | (off / 8)),
				   off, chunk);
		cr_assert_eq(flen, wn, "fragment %d: %u bytes, want %zu", k + 1,
			     flen, wn);
		cr_expect_leq(flen - l2, tb.mtu, "fragment %d over the MTU", k + 1);
		cr_expect_arr_eq(fr, want, wn, "fragment %d", k + 1);
		cr_expect_eq(fr_csum(fr + l2, 20, 0), 0, "fragment %d checksum", k + 1);
		cr_expect_eq(fr_get16(fr, l2 + 2), 20 + chunk);
		cr_expect_eq(fr_get16(fr, l2 + 4), 0xBEEF, "one id per datagram");
		cr_expect_eq(fr_get16(fr, l2 + 6), (last ? 0 : 0x2000) | (off / 8));
		if (!last)
			cr_expect_eq(chunk % 8, 0);
		memcpy(joined + off, fr + l2 + 20, chunk);
		off += (uint32_t)chunk;
	}
	cr_expect_eq(off, ip_len, "the fragments carry the whole datagram");
	cr_expect_arr_eq(joined, inner, in, "reassembled = the client's datagram");
	return n;
}

Test(xmit_tun, non_df_1500_byte_datagram_goes_in_two_fragments_of_1480_and_20)
{
	struct fr_spec s;
	struct xlb_frame f = big_frame(&s, 1500, false, false);

	cr_expect_eq(check_frags(&s, &f, 1500), 2);
}

Test(xmit_tun, jumbo_datagram_goes_in_three_fragments_and_reassembles_exactly)
{
	struct fr_spec s;
	struct xlb_frame f = big_frame(&s, 3000, false, false);

	/* 1480 + 1480 + 40 inner bytes, offsets 0, 185, 370. */
	cr_expect_eq(check_frags(&s, &f, 3000), 3);
}

Test(xmit_tun, odd_mtu_cuts_at_a_multiple_of_8_below_it)
{
	struct fr_spec s;
	struct xlb_frame f;

	tb.mtu = 1006;		/* 986 bytes left: pieces of 984 */
	f = big_frame(&s, 2500, false, false);
	cr_expect_eq(check_frags(&s, &f, 2500), 3);
	tb.mtu = 576;		/* the smallest MTU a host must take: 552 */
	f = big_frame(&s, 3000, false, false);
	cr_expect_eq(check_frags(&s, &f, 3000), 6);
}

Test(xmit_tun, every_fragment_keeps_the_vlan_tag_and_the_bound_ttl)
{
	struct fr_spec s;
	struct xlb_frame f = big_frame(&s, 3000, false, true);

	tb.ttl = 9;
	cr_expect_eq(check_frags(&s, &f, 3000), 3);
}

Test(xmit_tun, padding_after_a_fragmented_datagram_is_not_sent)
{
	struct fr_spec s;
	struct xlb_frame f = big_frame(&s, 1500, false, false);

	/* A frame longer than its datagram: the trailing bytes are not
	 * part of any fragment. */
	memset(f.data + f.len, 0xEE, 10);
	f.len += 10;
	f.tailroom -= 10;
	cr_expect_eq(check_frags(&s, &f, 1500), 2);
}

Test(xmit_tun, df_datagram_is_never_fragmented_and_gets_frag_needed)
{
	uint32_t len[XLB_TUN_FRAG_MAX - 1];
	static uint8_t copy[sizeof(jumbo)];
	struct xlb_frame f, f0;
	struct fr_spec s;
	struct xlb_pkt p;
	uint8_t out[256];
	int n;

	f = big_frame(&s, 1500, true, false);
	memcpy(copy, jumbo, sizeof(jumbo));
	f0 = f;
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, tb.mtu), -EMSGSIZE);
	cr_expect_eq(xlb_xmit_tun_frag(&f, &p, &tb, 1, fr_outp, len,
				       XLB_TUN_FRAG_MAX - 1, FRAG_BUF), -EMSGSIZE);
	cr_expect_arr_eq(jumbo, copy, sizeof(jumbo), "frame unchanged");
	expect_same_frame(&f, &f0);
	n = xlb_icmp_frag_needed(out, sizeof(out), f.data, &p, tb.dip, tb.mtu);
	cr_assert_gt(n, 0);
	cr_expect_eq(n, 14 + 20 + 8 + 28);
	cr_expect_eq(out[14 + 20], 3, "destination unreachable");
	cr_expect_eq(out[14 + 21], 4, "fragmentation needed");
	cr_expect_eq(fr_get16(out, 14 + 20 + 6), 1480, "next-hop MTU");
	cr_expect_null(fr_verify(out, (size_t)n));
}

Test(xmit_tun, nfrags_says_whole_fragments_or_impossible)
{
	struct fr_spec s;
	struct xlb_frame f;
	struct xlb_pkt p;

	f = big_frame(&s, 1480, false, false);
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, 1500), 1, "fits exactly");
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, 0), 1, "unchecked");
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, 1499), 2);
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, 68), 31, "48 bytes a fragment");
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, 67), -EMSGSIZE, "below 68");
	f = big_frame(&s, 3072, false, false);
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, 68), 64, "XLB_TUN_FRAG_MAX");
	f = big_frame(&s, 3073, false, false);
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, 68), -EMSGSIZE,
		     "65 fragments: over XLB_TUN_FRAG_MAX");
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, 76), 55, "56 bytes a fragment");
	p.ip_len = 65516;
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, 1500), -EMSGSIZE, "outer over 64 KiB");
	p.ip_len = 65515;
	cr_expect_eq(xlb_xmit_tun_nfrags(&p, 1500), 45);
}

Test(xmit_tun, fragmenting_without_room_is_refused_and_the_frame_unchanged)
{
	uint32_t len[XLB_TUN_FRAG_MAX - 1];
	static uint8_t copy[sizeof(jumbo)];
	struct xlb_frame f, f0;
	struct fr_spec s;
	struct xlb_pkt p, p0;

	f = big_frame(&s, 3000, false, false);
	memcpy(copy, jumbo, sizeof(jumbo));
	f0 = f;
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	p0 = p;
	cr_expect_eq(xlb_xmit_tun_frag(&f, &p, &tb, 1, fr_outp, len, 1, FRAG_BUF),
		     -EMSGSIZE, "3 fragments, room for 1 + 1");
	cr_expect_eq(xlb_xmit_tun_frag(&f, &p, &tb, 1, fr_outp, len, 2,
				       14 + 1500 - 1), -ENOSPC, "buffers too small");
	cr_expect_eq(xlb_xmit_tun_frag(&f, &p, &tb, 1, fr_outp, len, 2,
				       14 + 1500), 3, "just big enough");
	f = big_frame(&s, 3000, false, false);
	f.data = jumbo + 19;
	f.headroom = 19;
	memmove(f.data, jumbo + HEADROOM, f.len);
	memcpy(copy, jumbo, sizeof(jumbo));
	f0 = f;
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	p0 = p;
	cr_expect_eq(xlb_xmit_tun_frag(&f, &p, &tb, 1, fr_outp, len, 2, FRAG_BUF),
		     -ENOSPC, "headroom 19");
	cr_expect_arr_eq(jumbo, copy, sizeof(jumbo));
	expect_same_frame(&f, &f0);
	cr_expect_eq(p.l3_off, p0.l3_off);
}

/* ---- the rate limit on the frag-needed we send ---- */

Test(xmit_tun, icmp_limit_allows_the_burst_then_the_rate)
{
	struct xlb_icmp_limit l;
	int i, got = 0;

	xlb_icmp_limit_init(&l, XLB_ICMP_RATE_DEFAULT, XLB_ICMP_BURST_DEFAULT, 5000);
	for (i = 0; i < 1000; i++)
		got += xlb_icmp_limit_allow(&l, 5000);
	cr_expect_eq(got, 50, "a full bucket is the burst: 50");
	/* 1000 a second: one more each millisecond, whatever is asked. */
	for (uint64_t t = 5001; t <= 6000; t++) {
		for (i = 0, got = 0; i < 10; i++)
			got += xlb_icmp_limit_allow(&l, t);
		cr_assert_eq(got, 1, "at %llu ms: %d", (unsigned long long)t, got);
	}
	cr_expect_eq(xlb_icmp_limit_allow(&l, 6000), false);
}

Test(xmit_tun, icmp_limit_over_a_flood_is_burst_plus_rate_times_time)
{
	struct xlb_icmp_limit l;
	uint64_t t, got = 0;

	/* 2 s of 100 packets a millisecond (100,000 pps). */
	xlb_icmp_limit_init(&l, 1000, 50, 0);
	for (t = 0; t < 2000; t++)
		for (int i = 0; i < 100; i++)
			got += xlb_icmp_limit_allow(&l, t);
	cr_expect_eq(got, 50 + 1999, "burst + 1 per ms after the first");
}

Test(xmit_tun, icmp_limit_refills_to_the_burst_only_and_keeps_fractions)
{
	struct xlb_icmp_limit l;
	int i, got = 0;

	xlb_icmp_limit_init(&l, 10, 5, 0);	/* one token per 100 ms */
	for (i = 0; i < 5; i++)
		cr_expect(xlb_icmp_limit_allow(&l, 0));
	cr_expect_not(xlb_icmp_limit_allow(&l, 0));
	/* Asked every 30 ms, fractions add up: 1 s gives 10 tokens. */
	for (uint64_t t = 30; t <= 1000; t += 30)
		got += xlb_icmp_limit_allow(&l, t);
	cr_expect_eq(got, 9, "990 ms at 10/s: 9 tokens");
	/* An hour idle refills the bucket, not more. */
	for (i = 0, got = 0; i < 100; i++)
		got += xlb_icmp_limit_allow(&l, 3600000);
	cr_expect_eq(got, 5);
	/* A clock that goes back refills nothing. */
	cr_expect_not(xlb_icmp_limit_allow(&l, 1000));
	xlb_icmp_limit_init(&l, 0, 5, 0);
	cr_expect_not(xlb_icmp_limit_allow(&l, 100000), "rate 0: never");
}

/* ==== TUN6: IPv6-in-IPv6 and IPv4-in-IPv6, and Packet Too Big ==== */

#include "golden6.h"

static void bind6(void)
{
	fr6_ip(tb.rip6.b, "2001:db8:10::5");
	fr6_ip(tb.dip6.b, "2001:db8:10::1");
	fr6_ip(tb.vip6.b, "2001:db8::100");
}

static struct xlb_frame frame6_of(const uint8_t *bytes, size_t n,
				  uint32_t headroom)
{
	struct xlb_frame f = { .data = umem + headroom, .headroom = headroom };

	memcpy(f.data, bytes, n);
	f.len = (uint32_t)n;
	f.tailroom = (uint32_t)(sizeof(umem) - headroom - n);
	return f;
}

/* The expected TUN6 frame for the datagram dgram[0..dn): MACs of the bind,
 * VLAN tag as given, outer header DIP6 -> RIP6 with nh, tc, fl, hop limit,
 * written here byte by byte. */
static size_t expected6(const uint8_t *dgram, size_t dn, bool vlan,
			uint16_t tci, uint8_t nh, uint8_t tc, uint32_t fl,
			uint8_t hl)
{
	size_t l2 = vlan ? 18 : 14;
	uint8_t *o = want + l2;

	memcpy(want, tb.dmac, 6);
	memcpy(want + 6, tb.smac, 6);
	if (vlan) {
		want[12] = 0x81;
		want[13] = 0x00;
		want[14] = (uint8_t)(tci >> 8);
		want[15] = (uint8_t)tci;
	}
	want[l2 - 2] = 0x86;
	want[l2 - 1] = 0xDD;
	o[0] = (uint8_t)(0x60 | tc >> 4);
	o[1] = (uint8_t)(tc << 4 | (fl >> 16 & 0x0F));
	o[2] = (uint8_t)(fl >> 8);
	o[3] = (uint8_t)fl;
	o[4] = (uint8_t)(dn >> 8);
	o[5] = (uint8_t)dn;
	o[6] = nh;
	o[7] = hl;
	memcpy(o + 8, tb.dip6.b, 16);
	memcpy(o + 24, tb.rip6.b, 16);
	memcpy(o + 40, dgram, dn);
	return l2 + 40 + dn;
}

Test(xmit_tun, tun6_puts_the_datagram_in_ipv6_with_nh_41_as_scapy_does)
{
	struct xlb_frame f;
	struct xlb_pkt p;

	bind6();
	f = frame6_of(g6_tun6_tcp_in, sizeof(g6_tun6_tcp_in), HEADROOM);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_assert_eq(xlb_xmit_tun6(&f, &p, &tb), 0);
	cr_assert_eq(f.len, sizeof(g6_tun6_tcp_out));
	cr_expect_arr_eq(f.data, g6_tun6_tcp_out, f.len);
	cr_expect_eq(f.data, umem + HEADROOM - 40);
	cr_expect_eq(f.headroom, HEADROOM - 40);
	cr_expect_null(fr_verify(f.data, f.len), "%s", fr_verify(f.data, f.len));
	/* *p follows the inner datagram */
	cr_expect_eq(p.l3_off, 14 + 40);
	cr_expect_eq(p.l4_off, 14 + 40 + 40);
	cr_expect_eq(f.data[p.l3_off] >> 4, 6);
}

Test(xmit_tun, tun6_keeps_the_vlan_tag_drops_padding_and_uses_the_bound_hop_limit)
{
	struct fr6_spec s = fr6_default(IPPROTO_UDP), is;
	uint8_t frame[256], dgram[256];
	struct xlb_frame f;
	struct xlb_pkt p;
	size_t n, dn, wn;

	bind6();
	tb.ttl = 9;
	s.vlan = true;
	s.vlan_tci = 0x2007;
	s.tclass = 0x03;	/* ECN bits: copied */
	s.eth_pad = 4;
	n = fr6_build(frame, sizeof(frame), &s);
	is = s;
	is.no_eth = true;
	is.eth_pad = 0;
	dn = fr6_build(dgram, sizeof(dgram), &is);
	f = frame6_of(frame, n, HEADROOM);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_assert_eq(xlb_xmit_tun6(&f, &p, &tb), 0);
	wn = expected6(dgram, dn, true, 0x2007, 41, 0x03, 0x12345, 9);
	cr_assert_eq(f.len, wn);
	cr_expect_arr_eq(f.data, want, wn);
	cr_expect_eq(f.headroom + f.len + f.tailroom, sizeof(umem));
}

Test(xmit_tun, tun6_derives_a_stable_nonzero_flow_label_when_the_inner_has_none)
{
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	uint8_t frame[256];
	uint32_t fl[3];
	int k;

	bind6();
	s.flow = 0;
	for (k = 0; k < 3; k++) {
		struct xlb_frame f;
		struct xlb_pkt p;
		size_t n;

		s.sport = (uint16_t)(k == 2 ? 40001 : 40000);
		n = fr6_build(frame, sizeof(frame), &s);
		f = frame6_of(frame, n, HEADROOM);
		cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
		cr_assert_eq(xlb_xmit_tun6(&f, &p, &tb), 0);
		fl[k] = (uint32_t)(f.data[15] & 0x0F) << 16 | fr_get16(f.data, 16);
		cr_expect_eq(fr_get16(f.data, 54) & 0x000F, 0,
			     "the inner label stays 0");
	}
	cr_expect_neq(fl[0], 0);
	cr_expect_eq(fl[0], fl[1], "one flow, one label");
	cr_expect_neq(fl[0], fl[2], "another flow, another label");
}

Test(xmit_tun, ipv4_in_ipv6_has_next_header_4_tos_as_traffic_class_and_ethertype_86dd)
{
	struct fr_spec s = fr_default(IPPROTO_TCP), is;
	uint8_t dgram[256];
	struct xlb_frame f;
	struct xlb_pkt p;
	size_t dn, wn;
	uint32_t fl;

	bind6();
	s.tos = 0x2E;
	s.frag = XLB_IP_DF;
	is = s;
	is.no_eth = true;
	dn = fr_build(dgram, sizeof(dgram), &is);
	f = frame_of(&s, HEADROOM);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_assert_eq(xlb_xmit_tun6(&f, &p, &tb), 0);
	fl = (uint32_t)(f.data[15] & 0x0F) << 16 | fr_get16(f.data, 16);
	cr_expect_neq(fl, 0, "a derived flow label");
	wn = expected6(dgram, dn, false, 0, 4, 0x2E, fl, 64);
	cr_assert_eq(f.len, wn);
	cr_expect_arr_eq(f.data, want, wn);
	cr_expect_null(fr_verify(f.data, f.len), "%s", fr_verify(f.data, f.len));
	cr_expect_eq(p.af, AF_INET, "*p still describes the IPv4 datagram");
	cr_expect_eq(p.l3_off, 14 + 40);
}

Test(xmit_tun, tun6_over_the_mtu_or_without_headroom_is_refused_and_unchanged)
{
	static uint8_t pay[1500];
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	uint8_t frame[2048], copy[2048];
	struct xlb_frame f;
	struct xlb_pkt p;
	size_t n;

	bind6();
	s.payload = pay;
	s.payload_len = 1500 - 40 - 20 - 40;	/* exactly the MTU inside */
	n = fr6_build(frame, sizeof(frame), &s);
	f = frame6_of(frame, n, HEADROOM);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_tun6_check(&p, tb.mtu), 0);
	cr_expect_eq(xlb_xmit_tun6(&f, &p, &tb), 0, "1500 bytes: fits");

	s.payload_len++;
	n = fr6_build(frame, sizeof(frame), &s);
	f = frame6_of(frame, n, HEADROOM);
	memcpy(copy, f.data, n);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_tun6_check(&p, tb.mtu), -EMSGSIZE);
	cr_expect_eq(xlb_xmit_tun6_check(&p, 0), 0, "MTU 0: unchecked");
	cr_expect_eq(xlb_xmit_tun6(&f, &p, &tb), -EMSGSIZE);
	cr_expect_eq(f.data, umem + HEADROOM);
	cr_expect_arr_eq(f.data, copy, n);

	s.payload_len = 10;
	n = fr6_build(frame, sizeof(frame), &s);
	f = frame6_of(frame, n, 39);
	memcpy(copy, f.data, n);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_tun6(&f, &p, &tb), -ENOSPC);
	cr_expect_eq(f.len, n);
	cr_expect_arr_eq(f.data, copy, n);
}

Test(xmit_tun, packet_too_big_quotes_1232_bytes_with_mtu_minus_40_as_scapy_does)
{
	struct xlb_frame f;
	struct xlb_pkt p, q;
	uint8_t out[1600];
	int n;

	bind6();
	tb.mtu = 1400;
	f = frame6_of(g6_ptb_big_tcp_in, sizeof(g6_ptb_big_tcp_in), HEADROOM);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_assert_eq(xlb_xmit_tun6(&f, &p, &tb), -EMSGSIZE);
	n = xlb_icmp6_pkt_too_big(out, sizeof(out), f.data, &p, tb.dip6.b, tb.mtu);
	cr_assert_eq(n, (int)sizeof(g6_ptb_big_tcp_out));
	cr_expect_arr_eq(out, g6_ptb_big_tcp_out, (size_t)n);
	cr_expect_eq(n - 14, 1280, "the minimum MTU, no more");
	cr_expect_null(fr_verify(out, (size_t)n), "%s", fr_verify(out, (size_t)n));
	cr_assert_eq(xlb_pkt_parse_dual(out, (uint32_t)n, &q), XLB_PKT_OK,
		     "our own error parses as one");
	cr_expect(q.icmp_err);
	cr_expect_eq(q.icmp_type, XLB_ICMP6_PKT_TOOBIG);
	cr_expect_eq(q.inner_sport, p.sport);
}

Test(xmit_tun, packet_too_big_for_a_small_packet_quotes_it_whole)
{
	struct fr6_spec s = fr6_default(IPPROTO_UDP);
	uint8_t frame[256], out[512];
	struct xlb_frame f;
	struct xlb_pkt p;
	size_t n;
	int r;

	bind6();
	s.vlan = true;
	s.vlan_tci = 12;
	s.eth_pad = 2;
	n = fr6_build(frame, sizeof(frame), &s);
	f = frame6_of(frame, n, HEADROOM);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	r = xlb_icmp6_pkt_too_big(out, sizeof(out), f.data, &p, tb.dip6.b, 1500);
	cr_assert_eq(r, 18 + 40 + 8 + 48);
	cr_expect_arr_eq(out, frame + 6, 6);
	cr_expect_arr_eq(out + 6, frame, 6);
	cr_expect_eq(fr_get16(out, 14), 12, "VLAN tag kept");
	cr_expect_eq(out[18 + 7], 64);
	cr_expect_arr_eq(out + 18 + 8, tb.dip6.b, 16);
	cr_expect_arr_eq(out + 18 + 24, s.saddr, 16);
	cr_expect_eq(fr_get16(out, 18 + 40 + 4), 0);
	cr_expect_eq(fr_get16(out, 18 + 40 + 6), 1460);
	cr_expect_arr_eq(out + 18 + 48, frame + 18, 48);
	cr_expect_null(fr_verify(out, (size_t)r), "%s", fr_verify(out, (size_t)r));
}

Test(xmit_tun, packet_too_big_refuses_small_buffers_mtus_and_ipv4)
{
	struct fr6_spec s = fr6_default(IPPROTO_TCP);
	struct fr_spec s4 = fr_default(IPPROTO_TCP);
	uint8_t frame[256], out[256];
	struct xlb_frame f;
	struct xlb_pkt p;
	size_t n;

	bind6();
	n = fr6_build(frame, sizeof(frame), &s);
	cr_assert_eq(xlb_pkt_parse_dual(frame, (uint32_t)n, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_icmp6_pkt_too_big(out, 14 + 40 + 8 + 60 - 1, frame, &p,
					   tb.dip6.b, 1500), -ENOSPC);
	cr_expect_eq(xlb_icmp6_pkt_too_big(out, sizeof(out), frame, &p,
					   tb.dip6.b, 1319), -EINVAL,
		     "1279 is no IPv6 MTU");
	cr_expect_eq(xlb_icmp6_pkt_too_big(out, sizeof(out), frame, &p,
					   tb.dip6.b, 1320), 14 + 40 + 8 + 60);
	f = frame_of(&s4, HEADROOM);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_icmp6_pkt_too_big(out, sizeof(out), f.data, &p,
					   tb.dip6.b, 1500), -EINVAL);
}

Test(xmit_tun, ipv4_over_tun6_too_big_gets_frag_needed_with_mtu_minus_40)
{
	static uint8_t pay[1500];
	struct fr_spec s = fr_default(IPPROTO_TCP);
	uint8_t out[256];
	struct xlb_frame f;
	struct xlb_pkt p, q;
	int n;

	bind6();
	s.frag = XLB_IP_DF;
	s.payload = pay;
	s.payload_len = 1500 - 40;	/* 1500 bytes: no room for 40 more */
	f = frame_of(&s, HEADROOM);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_assert_eq(xlb_xmit_tun6(&f, &p, &tb), -EMSGSIZE);
	n = xlb_icmp_frag_needed_tun6(out, sizeof(out), f.data, &p, tb.dip, 1500);
	cr_assert_gt(n, 0);
	cr_expect_null(fr_verify(out, (size_t)n));
	cr_assert_eq(xlb_pkt_parse(out, (uint32_t)n, &q), XLB_PKT_OK);
	cr_expect_eq(fr_get16(out, 14 + 20 + 6), 1460);
	cr_expect_eq(xlb_icmp_frag_needed_tun6(out, sizeof(out), f.data, &p,
					       tb.dip, 107), -EINVAL);
}
