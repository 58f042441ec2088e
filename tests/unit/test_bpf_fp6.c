// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP fast path for IPv6 (issue 14): an fp_flows6 entry and an input
 * frame -> the XDP action and the output frame, run by the kernel on the
 * real compiled xlb_steer (BPF_PROG_TEST_RUN). Every hit is compared byte
 * for byte with what userspace sends for the same frame and decision
 * (xlb_pkt_parse_dual() + lb/xmit_* IPv6 functions, as lb/dp.c binds
 * them), and its TCP/UDP checksum checked from scratch (v6frames.h's own
 * code). Punted frames must come out untouched and take the AF_XDP path:
 * with the VIP in services6 and no socket in xsks_map that is XDP_DROP +
 * redirect_failed, as tests/unit/test_bpf_steer6.c observes steering.
 * Needs root; skipped loudly otherwise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/bpf.h>

#include <criterion/criterion.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fp_harness.h"
#include "v6frames.h"
#include "pkt.h"
#include "xmit.h"
#include "xlb_steer.skel.h"

static const uint8_t DIR_MAC[6] = { 0x02, 0xD1, 0xD1, 0xD1, 0xD1, 0x01 };
static const uint8_t RS_MAC[6]  = { 0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0x05 };
static const uint8_t GW_MAC[6]  = { 0x02, 0x66, 0x77, 0x88, 0x99, 0x09 };

#define CLIENT	"fd00:1::1"
#define VIP	"fd00:1::100"
#define RIP	"fd00:2::5"
#define DIP	"fd00:2::1"
#define LO_IFINDEX 1	/* test runs arrive on the namespace's lo */
#define MISSING_IFINDEX 4242

static int ncpu;

static void setup(void)
{
	fph_open(1024, true);
	ncpu = libbpf_num_possible_cpus();
}

TestSuite(bpf_fp6, .init = setup, .fini = fph_close);

static int map_fd(int which)
{
	struct xlb_steer *sk = fph_skel();

	return which == 0 ? bpf_map__fd(sk->maps.fp_flows6) :
	       which == 1 ? bpf_map__fd(sk->maps.services6) :
			    bpf_map__fd(sk->maps.nat_rs6);
}

/* The VIP (both protocols, port 80) in services6 and the RIP:8080 in
 * nat_rs6, so that a punted frame is steered (not passed). */
static void add_services(void)
{
	struct xlb_svc_val sv = { 0 };
	struct xlb_rs_val rv = { 0 };

	for (int i = 0; i < 2; i++) {
		uint8_t proto = i ? IPPROTO_UDP : IPPROTO_TCP;
		struct xlb_svc6_key sk = { .port = htons(80), .proto = proto };
		struct xlb_rs6_key rk = { .port = htons(8080), .proto = proto };

		v6_addr(sk.addr, VIP);
		v6_addr(rk.addr, RIP);
		cr_assert_eq(bpf_map_update_elem(map_fd(1), &sk, &sv, BPF_ANY), 0);
		cr_assert_eq(bpf_map_update_elem(map_fd(2), &rk, &rv, BPF_ANY), 0);
	}
}

static void install6(const struct xlb_fp6_key *k, const struct xlb_fp6_val *v)
{
	struct xlb_fp6_val vals[ncpu];

	for (int i = 0; i < ncpu; i++)
		vals[i] = *v;
	cr_assert_eq(bpf_map_update_elem(map_fd(0), k, vals, BPF_ANY), 0,
		     "fp_flows6 update: %s", strerror(errno));
}

/* Sums the entry of k over the CPUs (decision from CPU 0). */
static bool lookup6(const struct xlb_fp6_key *k, struct xlb_fp6_val *sum)
{
	struct xlb_fp6_val vals[ncpu];

	if (bpf_map_lookup_elem(map_fd(0), k, vals))
		return false;
	*sum = vals[0];
	sum->pkts = sum->bytes = sum->last_ns = 0;
	for (int i = 0; i < ncpu; i++) {
		sum->pkts += vals[i].pkts;
		sum->bytes += vals[i].bytes;
		if (vals[i].last_ns > sum->last_ns)
			sum->last_ns = vals[i].last_ns;
	}
	return true;
}

/* ---- frames ---- */

struct spec6 {
	uint8_t proto;
	bool reply;		/* RIP:8080 -> client (NAT reply) */
	uint16_t payload;	/* bytes after the TCP/UDP header */
	uint8_t hop_limit;
	uint8_t tcp_flags;	/* 0: ACK */
	bool hbh;		/* a hop-by-hop header first */
	bool zero_label;	/* flow label 0 (TUN6 derives one) */
	bool udp_csum_zero;
	uint16_t pad;		/* Ethernet padding after the datagram */
	int plen_delta;		/* added to the payload length field */
	int ulen_delta;		/* added to the UDP length field */
};

static struct spec6 spec(uint8_t proto, uint16_t payload)
{
	return (struct spec6){ .proto = proto, .payload = payload,
			       .hop_limit = 64 };
}

static size_t build(uint8_t *f, const struct spec6 *s)
{
	uint8_t src[16], dst[16], pay[1600];
	size_t off, l4n, ext = 0;
	uint8_t *ip, *l4;

	cr_assert_leq(s->payload, sizeof(pay));
	for (size_t i = 0; i < s->payload; i++)
		pay[i] = (uint8_t)(i * 13 + 5);
	v6_addr(src, s->reply ? RIP : CLIENT);
	v6_addr(dst, s->reply ? CLIENT : VIP);
	off = v6_eth(f, false, 0x86DD);
	ip = f + off;
	off += 40;
	if (s->hbh)
		ext = v6_ext(f + off, V6_HOP, s->proto, 0, 0);
	l4 = f + off + ext;
	l4n = v6_l4(l4, s->proto, src, dst, s->reply ? 8080 : 40000,
		    s->reply ? 40000 : 80, pay, s->payload);
	if (s->proto == IPPROTO_TCP && s->tcp_flags)
		l4[13] = s->tcp_flags;	/* checksum left as is: punted */
	if (s->proto == IPPROTO_UDP && s->udp_csum_zero)
		v6_put16(l4 + 6, 0);
	if (s->proto == IPPROTO_UDP && s->ulen_delta)
		v6_put16(l4 + 4, (uint16_t)(l4n + s->ulen_delta));
	v6_hdr(ip, src, dst, s->hbh ? V6_HOP : s->proto,
	       (size_t)((int)(ext + l4n) + s->plen_delta), s->hop_limit);
	if (s->zero_label) {
		ip[1] &= 0xF0;
		ip[2] = ip[3] = 0;
	}
	off += ext + l4n;
	memset(f + off, 0, s->pad);
	return off + s->pad;
}

static struct xlb_fp6_key key_of(const uint8_t *f)
{
	struct xlb_fp6_key k = { .proto = f[14 + 6] };

	memcpy(k.saddr, f + 14 + 8, 16);
	memcpy(k.daddr, f + 14 + 24, 16);
	memcpy(&k.sport, f + 54, 2);
	memcpy(&k.dport, f + 56, 2);
	return k;
}

static struct xlb_fp6_val entry(uint8_t op)
{
	struct xlb_fp6_val v = {
		.op = op, .mtu = 1500, .ifindex = LO_IFINDEX,
		.port = htons(8080),
	};

	v6_addr(v.addr, RIP);
	memcpy(v.dmac, RS_MAC, 6);
	memcpy(v.smac, DIR_MAC, 6);
	if (op == XLB_FP_NAT_OUT) {
		v6_addr(v.addr, VIP);
		v.port = htons(80);
		memcpy(v.dmac, GW_MAC, 6);
	}
	if (op == XLB_FP_TUN)
		v6_addr(v.tun_saddr, DIP);
	return v;
}

/* ---- userspace's answer for the same frame and decision ---- */

#define HEADROOM 256

static int userspace6(const uint8_t *frame, size_t len,
		      const struct xlb_fp6_val *v, uint8_t *out, uint32_t *out_len)
{
	uint8_t buf[HEADROOM + FPH_FRAME_MAX + 64];
	struct xlb_frame f = {
		.data = buf + HEADROOM, .len = (uint32_t)len,
		.headroom = HEADROOM,
		.tailroom = (uint32_t)(sizeof(buf) - HEADROOM - len),
	};
	/* As lb/dp.c's dp_in_bind6 / dp_out_bind fill it. */
	struct xlb_xmit_bind b = {
		.ifindex = (int)v->ifindex,
		.ttl = v->hop_limit,
		.mtu = v->mtu,
		.rport = v->port,
		.vport = v->port,
	};
	struct xlb_pkt p;
	int rc;

	memcpy(f.data, frame, len);
	memcpy(b.smac, v->smac, 6);
	memcpy(b.dmac, v->dmac, 6);
	memcpy(b.rip6.b, v->addr, 16);
	memcpy(b.vip6.b, v->addr, 16);
	memcpy(b.dip6.b, v->tun_saddr, 16);
	rc = xlb_pkt_parse_dual(f.data, f.len, &p);
	cr_assert_eq(rc, XLB_PKT_OK, "parse: %s", xlb_pkt_strerror(rc));
	cr_assert_eq(p.af, AF_INET6);
	switch (v->op) {
	case XLB_FP_DR:
		rc = xlb_xmit_dr(&f, &p, &b);
		break;
	case XLB_FP_NAT_IN:
		rc = xlb_xmit_nat6_in(&f, &p, &b);
		break;
	case XLB_FP_NAT_OUT:
		rc = xlb_xmit_nat6_out(&f, &p, &b);
		break;
	case XLB_FP_TUN:
		rc = xlb_xmit_tun6(&f, &p, &b);
		break;
	default:
		cr_assert_fail("op %u", v->op);
	}
	memcpy(out, f.data, f.len);
	*out_len = f.len;
	return rc;
}

/* The TCP/UDP checksum of the IPv6 datagram at ip (the inner one for
 * TUN6), from scratch: 0 when right. */
static uint16_t l4_check(const uint8_t *ip)
{
	size_t plen = (size_t)ip[4] << 8 | ip[5];

	return v6_l4_csum(ip + 8, ip + 24, ip[6], ip + 40, plen);
}

/* Builds s, installs v for it, runs it: a hit (act), byte for byte what
 * userspace sends, checksum right, counted in the entry. */
static void expect_hit(const struct spec6 *s, const struct xlb_fp6_val *v,
		       uint32_t act)
{
	uint8_t in[FPH_FRAME_MAX], want[FPH_FRAME_MAX + 64];
	uint32_t wn;
	struct fph_run r;
	size_t n = build(in, s);
	struct xlb_fp6_key k = key_of(in);
	struct xlb_fp6_val got;
	const uint8_t *ip;

	add_services();
	install6(&k, v);
	cr_assert_eq(userspace6(in, n, v, want, &wn), 0, "userspace refused it");
	fph_run(in, n, &r);
	cr_assert_eq(r.act, act, "action %u, want %u", r.act, act);
	cr_assert_eq(r.d[act == XDP_TX ? XLB_CNT_FP_TX : XLB_CNT_FP_REDIRECTED], 1);
	cr_assert_eq(r.d[XLB_CNT_IPV6], 1);
	cr_assert_eq(r.out_len, wn, "frame of %u bytes, userspace's %u",
		     r.out_len, wn);
	cr_assert_arr_eq(r.out, want, wn, "XDP and userspace frames differ");
	ip = r.out + 14 + (v->op == XLB_FP_TUN ? 40 : 0);
	cr_assert_eq(l4_check(ip), 0, "TCP/UDP checksum wrong after rewrite");
	cr_assert(lookup6(&k, &got));
	cr_assert_eq(got.pkts, 1);
	cr_assert_eq(got.bytes, 14u + 40u + ((uint32_t)in[18] << 8 | in[19]),
		     "bytes %llu", (unsigned long long)got.bytes);
	cr_assert_neq(got.last_ns, 0);
}

/* ---- rewrites, each against userspace ---- */

Test(bpf_fp6, dr6_tcp_hit_gets_the_rs_mac_and_leaves_by_xdp_tx)
{
	struct spec6 s = spec(IPPROTO_TCP, 100);
	struct xlb_fp6_val v = entry(XLB_FP_DR);

	expect_hit(&s, &v, XDP_TX);
}

Test(bpf_fp6, dr6_udp_hit_keeps_padding_and_hop_limit)
{
	struct spec6 s = spec(IPPROTO_UDP, 3);
	struct xlb_fp6_val v = entry(XLB_FP_DR);

	s.pad = 9;
	s.hop_limit = 2;
	expect_hit(&s, &v, XDP_TX);
}

Test(bpf_fp6, nat66_in_tcp_hit_translates_destination_with_checksum)
{
	struct spec6 s = spec(IPPROTO_TCP, 700);
	struct xlb_fp6_val v = entry(XLB_FP_NAT_IN);

	expect_hit(&s, &v, XDP_TX);
}

Test(bpf_fp6, nat66_in_udp_hit_translates_destination_with_checksum)
{
	struct spec6 s = spec(IPPROTO_UDP, 333);
	struct xlb_fp6_val v = entry(XLB_FP_NAT_IN);

	expect_hit(&s, &v, XDP_TX);
}

Test(bpf_fp6, nat66_out_tcp_hit_translates_source_back_to_the_vip)
{
	struct spec6 s = spec(IPPROTO_TCP, 1200);
	struct xlb_fp6_val v = entry(XLB_FP_NAT_OUT);

	s.reply = true;
	expect_hit(&s, &v, XDP_TX);
}

Test(bpf_fp6, nat66_out_udp_hit_translates_source_back_to_the_vip)
{
	struct spec6 s = spec(IPPROTO_UDP, 1);
	struct xlb_fp6_val v = entry(XLB_FP_NAT_OUT);

	s.reply = true;
	expect_hit(&s, &v, XDP_TX);
}

Test(bpf_fp6, nat66_many_payloads_and_ports_agree_with_userspace)
{
	/* Random translated addresses (many 0xFF words, which make the
	 * one's complement sums carry), ports and payload lengths move the
	 * checksum through its whole range, end-around carries included. */
	srand(14);
	for (int i = 0; i < 400; i++) {
		struct spec6 s = spec(i & 1 ? IPPROTO_UDP : IPPROTO_TCP,
				      (uint16_t)(rand() % 1400));
		struct xlb_fp6_val v = entry(i & 2 ? XLB_FP_NAT_OUT : XLB_FP_NAT_IN);

		s.reply = v.op == XLB_FP_NAT_OUT;
		v.port = (uint16_t)rand();
		for (int b = 0; b < 16; b++)
			v.addr[b] = rand() % 3 ? 0xFF : (uint8_t)rand();
		expect_hit(&s, &v, XDP_TX);
	}
}

Test(bpf_fp6, random_dr6_and_tun6_frames_agree_with_userspace)
{
	/* Payload lengths, Ethernet padding, hop limits, labels set or 0
	 * (TUN6 derives userspace's), outer addresses and hop limits. */
	srand(66);
	for (int i = 0; i < 300; i++) {
		struct spec6 s = spec(i & 1 ? IPPROTO_UDP : IPPROTO_TCP,
				      (uint16_t)(rand() % 1400));
		struct xlb_fp6_val v = entry(i % 3 ? XLB_FP_TUN : XLB_FP_DR);

		s.hop_limit = (uint8_t)(2 + rand() % 254);
		s.zero_label = rand() & 1;
		s.pad = (uint16_t)(rand() % 3 ? 0 : rand() % 40);
		v.hop_limit = (uint8_t)(rand() % 3 ? 0 : rand());
		for (int b = 0; b < 16; b++) {
			v.addr[b] = (uint8_t)rand();
			v.tun_saddr[b] = (uint8_t)rand();
		}
		expect_hit(&s, &v, XDP_TX);
	}
}

Test(bpf_fp6, tun6_hit_gets_an_ip6ip6_header_with_the_inner_flow_label)
{
	struct spec6 s = spec(IPPROTO_TCP, 500);
	struct xlb_fp6_val v = entry(XLB_FP_TUN);
	uint8_t in[FPH_FRAME_MAX];
	struct fph_run r;
	size_t n;

	expect_hit(&s, &v, XDP_TX);
	/* The outer header itself, spelled out. */
	n = build(in, &s);
	fph_run(in, n, &r);
	cr_assert_eq(r.out_len, n + 40);
	cr_assert_eq(r.out[12] << 8 | r.out[13], 0x86DD);
	cr_assert_eq(r.out[14] >> 4, 6);
	cr_assert_eq(r.out[14 + 6], 41, "next header");
	cr_assert_eq(r.out[14 + 7], 64, "default hop limit");
	cr_assert_eq((r.out[15] & 15) << 16 | r.out[16] << 8 | r.out[17], 0x01234,
		     "inner flow label copied");
	cr_assert_eq(r.out[18] << 8 | r.out[19], n - 14, "payload length");
	cr_assert_arr_eq(r.out + 14 + 40, in + 14, n - 14, "inner changed");
}

Test(bpf_fp6, tun6_udp_without_a_flow_label_derives_userspaces_and_drops_padding)
{
	struct spec6 s = spec(IPPROTO_UDP, 20);
	struct xlb_fp6_val v = entry(XLB_FP_TUN);

	s.zero_label = true;
	s.pad = 6;
	v.hop_limit = 9;
	expect_hit(&s, &v, XDP_TX);
}

Test(bpf_fp6, tun6_hit_at_exactly_the_mtu_is_sent)
{
	/* 40 + 20 + 1380 = 1440 inner, 1480 outer. */
	struct spec6 s = spec(IPPROTO_TCP, 1380);
	struct xlb_fp6_val v = entry(XLB_FP_TUN);

	v.mtu = 1480;
	expect_hit(&s, &v, XDP_TX);
}

/* ---- what goes to userspace ---- */

/* Builds s, installs v, runs it: not forwarded here, counted as why, the
 * frame untouched and steered (XDP_DROP: no AF_XDP socket). */
static void expect_punt(const struct spec6 *s, const struct xlb_fp6_val *v,
			uint32_t why)
{
	uint8_t in[FPH_FRAME_MAX];
	struct fph_run r;
	size_t n = build(in, s);
	struct xlb_fp6_key k = key_of(in);
	struct xlb_fp6_val got;

	add_services();
	if (s->hbh) {
		/* key_of() reads fixed offsets: the ports sit 8 further,
		 * the protocol is the hop-by-hop header's next header. */
		k.proto = s->proto;
		memcpy(&k.sport, in + 62, 2);
		memcpy(&k.dport, in + 64, 2);
	}
	install6(&k, v);
	fph_run(in, n, &r);
	cr_assert_eq(r.d[why], 1, "reason counter %u not counted", why);
	cr_assert_eq(r.d[XLB_CNT_FP_TX] + r.d[XLB_CNT_FP_REDIRECTED], 0);
	cr_assert_eq(r.act, XDP_DROP, "action %u", r.act);
	cr_assert_eq(r.d[XLB_CNT_REDIRECT_FAILED], 1, "not steered");
	cr_assert_eq(r.out_len, n);
	cr_assert_arr_eq(r.out, in, n, "punted frame was changed");
	cr_assert(lookup6(&k, &got));
	cr_assert_eq(got.pkts, 0, "a punt counted as a hit");
}

Test(bpf_fp6, syn_fin_rst_of_a_cached_flow_go_to_userspace)
{
	static const uint8_t flags[] = { 0x02, 0x11, 0x04, 0x12 };

	for (size_t i = 0; i < sizeof(flags); i++) {
		struct spec6 s = spec(IPPROTO_TCP, 0);
		struct xlb_fp6_val v = entry(XLB_FP_DR);

		s.tcp_flags = flags[i];
		expect_punt(&s, &v, XLB_CNT_FP_PUNT_TCP_FLAGS);
	}
}

Test(bpf_fp6, extension_header_goes_to_userspace)
{
	struct spec6 s = spec(IPPROTO_UDP, 10);
	struct xlb_fp6_val v = entry(XLB_FP_NAT_IN);

	s.hbh = true;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_IP_OPTIONS);
}

Test(bpf_fp6, hop_limit_one_and_zero_go_to_userspace)
{
	for (uint8_t hl = 0; hl <= 1; hl++) {
		struct spec6 s = spec(IPPROTO_TCP, 10);
		struct xlb_fp6_val v = entry(XLB_FP_DR);

		s.hop_limit = hl;
		expect_punt(&s, &v, XLB_CNT_FP_PUNT_ODD);
	}
}

Test(bpf_fp6, udp_length_past_the_payload_goes_to_userspace)
{
	struct spec6 s = spec(IPPROTO_UDP, 10);
	struct xlb_fp6_val v = entry(XLB_FP_NAT_IN);

	s.ulen_delta = 1;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_ODD);
}

Test(bpf_fp6, udp_length_below_its_header_goes_to_userspace)
{
	struct spec6 s = spec(IPPROTO_UDP, 10);
	struct xlb_fp6_val v = entry(XLB_FP_NAT_IN);

	s.ulen_delta = -11;	/* 7 */
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_ODD);
}

Test(bpf_fp6, udp_with_a_zero_checksum_goes_to_userspace)
{
	struct spec6 s = spec(IPPROTO_UDP, 10);
	struct xlb_fp6_val v = entry(XLB_FP_NAT_IN);

	s.udp_csum_zero = true;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_ODD);
}

Test(bpf_fp6, tcp_data_offset_past_the_payload_goes_to_userspace)
{
	/* Payload length 16: less than the 20-byte TCP header it carries
	 * (the rest of the frame is padding to the kernel). */
	struct spec6 s = spec(IPPROTO_TCP, 0);
	struct xlb_fp6_val v = entry(XLB_FP_DR);

	s.plen_delta = -4;
	s.pad = 4;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_ODD);
}

Test(bpf_fp6, dr6_frame_over_the_mtu_goes_to_userspace)
{
	struct spec6 s = spec(IPPROTO_TCP, 1381);	/* 1441 > 1440 */
	struct xlb_fp6_val v = entry(XLB_FP_DR);

	v.mtu = 1440;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_TOO_BIG);
}

Test(bpf_fp6, tun6_frame_over_the_mtu_once_encapsulated_goes_to_userspace)
{
	/* 1441 inner + 40 = 1481 > 1480: userspace's Packet Too Big. */
	struct spec6 s = spec(IPPROTO_TCP, 1381);
	struct xlb_fp6_val v = entry(XLB_FP_TUN);

	v.mtu = 1480;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_TOO_BIG);
}

Test(bpf_fp6, egress_missing_from_fp_devs_goes_to_userspace_untouched)
{
	struct spec6 s = spec(IPPROTO_TCP, 10);
	struct xlb_fp6_val v = entry(XLB_FP_NAT_IN);

	v.ifindex = MISSING_IFINDEX;
	expect_punt(&s, &v, XLB_CNT_FP_REDIRECT_FAILED);
}

Test(bpf_fp6, entry_with_no_method_is_a_miss)
{
	struct spec6 s = spec(IPPROTO_UDP, 10);
	struct xlb_fp6_val v = entry(XLB_FP_NONE);

	expect_punt(&s, &v, XLB_CNT_FP_MISS);
}

Test(bpf_fp6, flow_without_an_entry_is_a_miss_and_goes_to_userspace)
{
	uint8_t in[FPH_FRAME_MAX];
	struct spec6 s = spec(IPPROTO_TCP, 10);
	struct fph_run r;
	size_t n = build(in, &s);

	add_services();
	fph_run(in, n, &r);
	cr_assert_eq(r.d[XLB_CNT_FP_MISS], 1);
	cr_assert_eq(r.d[XLB_CNT_REDIRECT_FAILED], 1);
	cr_assert_arr_eq(r.out, in, n);
}

Test(bpf_fp6, an_ipv4_entry_of_the_same_ports_is_not_used_for_ipv6)
{
	/* fp_flows6 is the only IPv6 cache: a full fp_flows has no say. */
	uint8_t in[FPH_FRAME_MAX];
	struct spec6 s = spec(IPPROTO_TCP, 10);
	struct fph_run r;
	size_t n = build(in, &s);
	struct xlb_fp_key k4 = { .sport = htons(40000), .dport = htons(80),
				 .proto = IPPROTO_TCP };
	struct xlb_fp_val v4 = { .op = XLB_FP_DR, .mtu = 1500,
				 .ifindex = LO_IFINDEX };

	add_services();
	fph_install(&k4, &v4);
	fph_run(in, n, &r);
	cr_assert_eq(r.d[XLB_CNT_FP_MISS], 1);
	cr_assert_eq(r.d[XLB_CNT_FP_TX], 0);
}

Test(bpf_fp6, disabled_fast_path_leaves_a_cached_flow_to_userspace)
{
	uint8_t in[FPH_FRAME_MAX];
	struct spec6 s = spec(IPPROTO_TCP, 10);
	struct xlb_fp6_val v = entry(XLB_FP_DR);
	struct xlb_fp6_key k;
	struct fph_run r;
	size_t n = build(in, &s);

	k = key_of(in);
	add_services();
	install6(&k, &v);
	fph_enable(false);
	fph_run(in, n, &r);
	cr_assert_eq(r.d[XLB_CNT_FP_MISS] + r.d[XLB_CNT_FP_TX], 0,
		     "looked up while off");
	cr_assert_eq(r.d[XLB_CNT_SVC], 1);
	cr_assert_arr_eq(r.out, in, n);
}

Test(bpf_fp6, hits_and_punts_are_told_apart_in_the_entry)
{
	uint8_t in[FPH_FRAME_MAX];
	struct spec6 s = spec(IPPROTO_UDP, 50);
	struct xlb_fp6_val v = entry(XLB_FP_DR), got;
	struct xlb_fp6_key k;
	struct fph_run r;
	size_t n = build(in, &s);

	k = key_of(in);
	add_services();
	install6(&k, &v);
	for (int i = 0; i < 3; i++)
		fph_run(in, n, &r);
	in[14 + 7] = 1;		/* hop limit 1: punted */
	fph_run(in, n, &r);
	cr_assert(lookup6(&k, &got));
	cr_assert_eq(got.pkts, 3);
	cr_assert_eq(got.bytes, 3u * (14 + 40 + 8 + 50));
}

/* ---- fp_flows6 pinned beside fp_flows (lb/xdp.c) ---- */

#include <sys/stat.h>
#include <unistd.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "xdp.h"

static char pin_dir[128];

static void pins_setup(void)
{
	struct statfs st;

	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (CAP_BPF) to load xlb_steer");
	if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC)
		cr_skip_test("SKIPPED: no bpffs at /sys/fs/bpf");
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/xlb-unit-fp6-%d", (int)getpid());
	ncpu = libbpf_num_possible_cpus();
}

static void pins_teardown(void)
{
	(void)xlb_xdp_fp_unpin(pin_dir);
}

TestSuite(fp6_pins, .init = pins_setup, .fini = pins_teardown);

static struct xlb_xdp *open_pinned(uint32_t entries)
{
	struct xlb_xdp_fp_opts o = { .enabled = true, .entries = entries,
				     .pin_dir = pin_dir };
	struct xlb_xdp *x = NULL;

	cr_assert_eq(xlb_xdp_open_fp(&x, XLB_XDP_NATIVE, &o), 0, "%s",
		     xlb_xdp_errmsg());
	return x;
}

static bool pinned(const char *name)
{
	char p[200];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", pin_dir, name);
	return stat(p, &st) == 0;
}

static void put(int fd, const void *k, size_t vsz)
{
	uint8_t vals[ncpu][vsz];

	memset(vals, 0, sizeof(vals));
	for (int c = 0; c < ncpu; c++)
		vals[c][0] = XLB_FP_DR;
	cr_assert_eq(bpf_map_update_elem(fd, k, vals, BPF_ANY), 0, "%s", strerror(errno));
}

static bool has(int fd, const void *k, size_t vsz)
{
	uint8_t vals[ncpu][vsz];

	return bpf_map_lookup_elem(fd, k, vals) == 0;
}

Test(fp6_pins, fp_flows6_is_pinned_and_the_next_xlbd_reuses_its_entries)
{
	struct xlb_fp6_key k6 = { .sport = 1, .dport = 2, .proto = IPPROTO_TCP };
	struct xlb_xdp *x = open_pinned(64);

	k6.saddr[15] = 1;
	cr_assert_not(xlb_xdp_fp_reused(x));
	cr_assert(pinned("fp_flows") && pinned("fp_devs") && pinned("fp_flows6"));
	put(xlb_xdp_fp_flows6_fd(x), &k6, sizeof(struct xlb_fp6_val));
	xlb_xdp_close(x);
	x = open_pinned(64);
	cr_assert(xlb_xdp_fp_reused(x));
	cr_assert(has(xlb_xdp_fp_flows6_fd(x), &k6, sizeof(struct xlb_fp6_val)),
		  "the IPv6 entry did not survive the restart");
	xlb_xdp_close(x);
	/* Another size: both caches replaced, empty. */
	x = open_pinned(128);
	cr_assert_not(xlb_xdp_fp_reused(x));
	cr_assert_not(has(xlb_xdp_fp_flows6_fd(x), &k6, sizeof(struct xlb_fp6_val)));
	xlb_xdp_close(x);
	cr_assert_eq(xlb_xdp_fp_unpin(pin_dir), 0);
	cr_assert_not(pinned("fp_flows6"), "--detach left fp_flows6 pinned");
}

Test(fp6_pins, a_pin_without_fp_flows6_keeps_its_ipv4_flows_and_gets_one)
{
	/* What an xlbd from before the IPv6 fast path leaves behind. */
	struct xlb_fp_key k4 = { .saddr = 1, .daddr = 2, .sport = 3, .dport = 4,
				 .proto = IPPROTO_UDP };
	struct xlb_xdp *x = open_pinned(64);
	char p[200];

	put(xlb_xdp_fp_flows_fd(x), &k4, sizeof(struct xlb_fp_val));
	xlb_xdp_close(x);
	snprintf(p, sizeof(p), "%s/fp_flows6", pin_dir);
	cr_assert_eq(unlink(p), 0);
	x = open_pinned(64);
	cr_assert(xlb_xdp_fp_reused(x), "the IPv4 cache was not reused");
	cr_assert(has(xlb_xdp_fp_flows_fd(x), &k4, sizeof(struct xlb_fp_val)),
		  "the IPv4 entry was lost");
	cr_assert(pinned("fp_flows6"), "fp_flows6 not pinned for the next xlbd");
	xlb_xdp_close(x);
}
