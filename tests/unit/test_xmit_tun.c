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
