// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP fast path (issue 11) as fixtures, after Katran's: an input frame
 * and an installed fp_flows entry -> the XDP action and the output frame,
 * run by the kernel on the real compiled xlb_steer with BPF_PROG_TEST_RUN.
 * Expected frames are built from scratch by tests/unit/frames.c (its own
 * checksum code, not lb/ nor bpf/xlb_rewrite.h). Punted frames must come
 * out untouched and take the AF_XDP path: with a service configured and no
 * socket in xsks_map that is XDP_DROP + redirect_failed, exactly as
 * tests/unit/test_bpf_steer.c observes steering.
 * Needs root; skipped loudly otherwise.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/bpf.h>

#include <criterion/criterion.h>

#include "fp_harness.h"
#include "frames.h"

static const uint8_t DIR_MAC[6] = { 0x02, 0xD1, 0xD1, 0xD1, 0xD1, 0x01 };
static const uint8_t RS_MAC[6]  = { 0x02, 0xAA, 0xBB, 0xCC, 0xDD, 0x05 };
static const uint8_t GW_MAC[6]  = { 0x02, 0x66, 0x77, 0x88, 0x99, 0x09 };

#define CLIENT	"10.0.0.1"
#define VIP	"10.0.0.100"
#define RIP	"10.0.1.5"
#define DIP	"10.0.1.1"
#define LO_IFINDEX 1	/* test runs arrive on the namespace's lo */

static void setup(void)
{
	fph_open(1024, true);
}

TestSuite(bpf_fp, .init = setup, .fini = fph_close);

/* A service for the client -> VIP frames and a NAT real server for the
 * replies, so that a punted frame is steered (not passed). */
static void add_services(void)
{
	fph_add_service(fr_ip(VIP), htons(80), IPPROTO_TCP);
	fph_add_service(fr_ip(VIP), htons(80), IPPROTO_UDP);
	fph_add_nat_rs(fr_ip(RIP), htons(8080), IPPROTO_TCP);
	fph_add_nat_rs(fr_ip(RIP), htons(8080), IPPROTO_UDP);
}

static struct xlb_fp_val entry(uint8_t op)
{
	struct xlb_fp_val v = {
		.op = op, .mtu = 1500, .ifindex = LO_IFINDEX,
		.addr = fr_ip(RIP), .port = htons(8080),
	};

	memcpy(v.dmac, RS_MAC, 6);
	memcpy(v.smac, DIR_MAC, 6);
	if (op == XLB_FP_NAT_OUT) {
		v.addr = fr_ip(VIP);
		v.port = htons(80);
		memcpy(v.dmac, GW_MAC, 6);
	}
	if (op == XLB_FP_TUN)
		v.tun_saddr = fr_ip(DIP);
	return v;
}

static struct fr_spec client_pkt(uint8_t proto, uint16_t payload_len)
{
	static uint8_t pay[2048];
	struct fr_spec s = fr_default(proto);

	for (size_t i = 0; i < sizeof(pay); i++)
		pay[i] = (uint8_t)(i * 7 + 3);
	s.saddr = fr_ip(CLIENT);
	s.daddr = fr_ip(VIP);
	s.payload = pay;
	s.payload_len = payload_len;
	return s;
}

static struct fr_spec reply_pkt(uint8_t proto, uint16_t payload_len)
{
	struct fr_spec s = client_pkt(proto, payload_len);

	s.saddr = fr_ip(RIP);
	s.daddr = fr_ip(CLIENT);
	s.sport = 8080;
	s.dport = 40000;
	return s;
}

/* Builds s, installs v for its tuple, runs it; expects act and the frame
 * want (of wn bytes), all checksums right, and the hit counted. */
static void expect_hit(const struct fr_spec *s, const struct xlb_fp_val *v,
		       uint32_t act, const uint8_t *want, size_t wn)
{
	uint8_t in[FPH_FRAME_MAX];
	struct fph_run r;
	size_t n = fr_build(in, sizeof(in), s);
	struct xlb_fp_key k = fph_key_of(in);
	struct xlb_fp_val got;

	fph_install(&k, v);
	fph_run(in, n, &r);
	cr_assert_eq(r.act, act, "action %u, want %u", r.act, act);
	cr_assert_eq(r.d[act == XDP_TX ? XLB_CNT_FP_TX : XLB_CNT_FP_REDIRECTED],
		     1);
	cr_assert_eq(r.out_len, wn, "frame of %u bytes, want %zu", r.out_len,
		     wn);
	cr_assert_arr_eq(r.out, want, wn, "output frame differs");
	cr_assert_null(fr_verify(r.out, r.out_len), "%s",
		       fr_verify(r.out, r.out_len));
	cr_assert(fph_lookup(&k, &got));
	cr_assert_eq(got.pkts, 1);
	cr_assert_eq(got.bytes, 14u + fr_get16(in, 16), "bytes %llu",
		     (unsigned long long)got.bytes);
	cr_assert_neq(got.last_ns, 0);
}

/* The frame s with MACs to dmac from the director. */
static size_t rebuilt(uint8_t *buf, struct fr_spec s, const uint8_t *dmac)
{
	memcpy(s.dmac, dmac, 6);
	memcpy(s.smac, DIR_MAC, 6);
	return fr_build(buf, FPH_FRAME_MAX, &s);
}

/* What the director sends for client frame s on a NAT-in entry: to the
 * real server's address, port and MAC. */
static size_t nat_in_want(uint8_t *buf, struct fr_spec s)
{
	s.daddr = fr_ip(RIP);
	s.dport = 8080;
	return rebuilt(buf, s, RS_MAC);
}

/* ... and for reply s on a NAT-out entry: from the VIP, to the gateway. */
static size_t nat_out_want(uint8_t *buf, struct fr_spec s)
{
	s.saddr = fr_ip(VIP);
	s.sport = 80;
	return rebuilt(buf, s, GW_MAC);
}

/* Services, and v installed for the flow of frame in: its key. */
static struct xlb_fp_key install_for(const uint8_t *in, const struct xlb_fp_val *v)
{
	struct xlb_fp_key k = fph_key_of(in);

	add_services();
	fph_install(&k, v);
	return k;
}

/* ---- rewrites ---- */

Test(bpf_fp, dr_hit_gets_the_rs_mac_and_leaves_by_xdp_tx)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 100);
	struct xlb_fp_val v = entry(XLB_FP_DR);
	uint8_t want[FPH_FRAME_MAX];

	expect_hit(&s, &v, XDP_TX, want, rebuilt(want, s, RS_MAC));
}

Test(bpf_fp, dr_hit_for_another_interface_is_redirected_through_fp_devs)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 300);
	struct xlb_fp_val v = entry(XLB_FP_DR);
	uint8_t want[FPH_FRAME_MAX];

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	fph_close();
	fph_open(1024, true);
	v.ifindex = fph_make_veth("fpv0");
	cr_assert_eq(fph_add_dev(v.ifindex), 0);
	expect_hit(&s, &v, XDP_REDIRECT, want, rebuilt(want, s, RS_MAC));
}

Test(bpf_fp, dr_keeps_ethernet_padding_ttl_and_tos)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 0);
	struct xlb_fp_val v = entry(XLB_FP_DR);
	uint8_t want[FPH_FRAME_MAX];

	s.eth_pad = 6;
	s.ttl = 1;
	s.tos = 0xB8;
	expect_hit(&s, &v, XDP_TX, want, rebuilt(want, s, RS_MAC));
}

Test(bpf_fp, nat_in_tcp_hit_translates_destination_with_checksums)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 512);
	struct xlb_fp_val v = entry(XLB_FP_NAT_IN);
	uint8_t want[FPH_FRAME_MAX];

	expect_hit(&s, &v, XDP_TX, want, nat_in_want(want, s));
}

Test(bpf_fp, nat_in_udp_hit_translates_destination_with_checksums)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 33);
	struct xlb_fp_val v = entry(XLB_FP_NAT_IN);
	uint8_t want[FPH_FRAME_MAX];

	expect_hit(&s, &v, XDP_TX, want, nat_in_want(want, s));
}

Test(bpf_fp, nat_in_udp_without_checksum_keeps_it_zero)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 40);
	struct xlb_fp_val v = entry(XLB_FP_NAT_IN);
	uint8_t want[FPH_FRAME_MAX];
	size_t wn;

	s.udp_no_csum = true;
	wn = nat_in_want(want, s);
	cr_assert_eq(fr_get16(want, 14 + 20 + 6), 0);
	expect_hit(&s, &v, XDP_TX, want, wn);
}

Test(bpf_fp, nat_out_tcp_hit_translates_source_back_to_the_vip)
{
	struct fr_spec s = reply_pkt(IPPROTO_TCP, 1000);
	struct xlb_fp_val v = entry(XLB_FP_NAT_OUT);
	uint8_t want[FPH_FRAME_MAX];

	expect_hit(&s, &v, XDP_TX, want, nat_out_want(want, s));
}

Test(bpf_fp, nat_out_udp_hit_translates_source_back_to_the_vip)
{
	struct fr_spec s = reply_pkt(IPPROTO_UDP, 7);
	struct xlb_fp_val v = entry(XLB_FP_NAT_OUT);
	uint8_t want[FPH_FRAME_MAX];

	expect_hit(&s, &v, XDP_TX, want, nat_out_want(want, s));
}

/* The TUN frame for inner datagram s: Ethernet to the RS, outer header
 * DIP -> RIP with tos, id, frag and ttl given, built by frames.c. */
static size_t tun_want(uint8_t *want, const struct fr_spec *s, uint16_t id,
		       uint16_t frag, uint8_t ttl)
{
	uint8_t inner[FPH_FRAME_MAX];
	struct fr_spec o = fr_default(4), si = *s;
	size_t in_len;

	si.no_eth = true;
	si.eth_pad = 0;
	in_len = fr_build(inner, sizeof(inner), &si);
	memcpy(o.dmac, RS_MAC, 6);
	memcpy(o.smac, DIR_MAC, 6);
	o.tos = s->tos;
	o.ttl = ttl;
	o.id = id;
	o.frag = frag;
	o.saddr = fr_ip(DIP);
	o.daddr = fr_ip(RIP);
	o.payload = inner;
	o.payload_len = (uint16_t)in_len;
	return fr_build(want, FPH_FRAME_MAX, &o);
}

/* s on TUN entry v leaves by XDP_TX as tun_want builds it. */
static void expect_tun_hit(const struct fr_spec *s, const struct xlb_fp_val *v,
			   uint16_t id, uint16_t frag, uint8_t ttl)
{
	uint8_t want[FPH_FRAME_MAX];

	expect_hit(s, v, XDP_TX, want, tun_want(want, s, id, frag, ttl));
}

Test(bpf_fp, tun_hit_with_df_gets_an_outer_header_with_id_zero)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 200);
	struct xlb_fp_val v = entry(XLB_FP_TUN);

	s.frag = 0x4000;
	s.tos = 0x28;
	v.ttl = 17;
	expect_tun_hit(&s, &v, 0, 0x4000, 17);
}

Test(bpf_fp, tun_hit_without_df_derives_the_outer_id_and_default_ttl)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 64);
	struct xlb_fp_val v = entry(XLB_FP_TUN);
	/* inner id 0x1234 ^ 10.0 ^ 0.1 (xmit.h's rule for no ip_id). */
	uint16_t id = 0x1234 ^ 0x0A00 ^ 0x0001;

	expect_tun_hit(&s, &v, id, 0, 64);
}

Test(bpf_fp, tun_hit_loses_the_ethernet_padding)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 0);
	struct xlb_fp_val v = entry(XLB_FP_TUN);

	s.frag = 0x4000;
	s.eth_pad = 6;
	expect_tun_hit(&s, &v, 0, 0x4000, 64);
}

Test(bpf_fp, tun_hit_at_exactly_the_mtu_is_sent)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 1000);
	struct xlb_fp_val v = entry(XLB_FP_TUN);

	s.frag = 0x4000;
	v.mtu = 20 + 8 + 1000 + 20;
	expect_tun_hit(&s, &v, 0, 0x4000, 64);
}

/* ---- per-entry counters ---- */

Test(bpf_fp, hits_are_counted_in_the_entry_and_punts_are_not)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 0);
	struct xlb_fp_val v = entry(XLB_FP_DR), got;
	uint8_t in[FPH_FRAME_MAX], syn[FPH_FRAME_MAX];
	size_t n, sn;
	struct xlb_fp_key k;
	struct fph_run r;
	uint64_t t0;

	s.eth_pad = 6;		/* a 54-byte ACK padded to 60: IP bytes count */
	n = fr_build(in, sizeof(in), &s);
	k = fph_key_of(in);

	add_services();
	fph_install(&k, &v);
	cr_assert(fph_lookup(&k, &got));
	t0 = got.last_ns;
	for (int i = 0; i < 3; i++) {
		fph_run(in, n, &r);
		cr_assert_eq(r.act, XDP_TX);
	}
	s.tcp_flags = 0x11;	/* FIN */
	sn = fr_build(syn, sizeof(syn), &s);
	fph_run(syn, sn, &r);
	cr_assert_eq(r.d[XLB_CNT_FP_PUNT_TCP_FLAGS], 1);
	cr_assert(fph_lookup(&k, &got));
	cr_expect_eq(got.pkts, 3);
	cr_expect_eq(got.bytes, 3 * (n - 6));
	cr_expect_gt(got.last_ns, t0);
	cr_expect_eq(got.op, XLB_FP_DR);
	cr_expect_arr_eq(got.dmac, RS_MAC, 6);
}

/* ---- punts: untouched, to the AF_XDP path ---- */

static void expect_punt(const struct fr_spec *s, const struct xlb_fp_val *v,
			enum xlb_xdp_cnt why)
{
	uint8_t in[FPH_FRAME_MAX];
	size_t n = fr_build(in, sizeof(in), s);
	struct xlb_fp_key k = fph_key_of(in);
	struct xlb_fp_val got;
	struct fph_run r;

	add_services();
	if (v)
		fph_install(&k, v);
	fph_run(in, n, &r);
	cr_assert_eq(r.act, XDP_DROP, "action %u: not steered", r.act);
	cr_assert_eq(r.d[XLB_CNT_REDIRECT_FAILED], 1, "not steered to AF_XDP");
	cr_assert_eq(r.d[XLB_CNT_FP_TX] + r.d[XLB_CNT_FP_REDIRECTED], 0);
	if (why != XLB_CNT_MAX)
		cr_assert_eq(r.d[why], 1, "%s not counted", xlb_cnt_names[why]);
	cr_assert_eq(r.out_len, n);
	cr_assert_arr_eq(r.out, in, n, "a punted frame was changed");
	if (v) {
		cr_assert(fph_lookup(&k, &got));
		cr_assert_eq(got.pkts, 0, "a punt counted as a hit");
	}
}

Test(bpf_fp, syn_of_a_cached_flow_goes_to_userspace)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 0);
	struct xlb_fp_val v = entry(XLB_FP_NAT_IN);

	s.tcp_flags = 0x02;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_TCP_FLAGS);
}

Test(bpf_fp, fin_of_a_cached_flow_goes_to_userspace)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 10);
	struct xlb_fp_val v = entry(XLB_FP_DR);

	s.tcp_flags = 0x19;	/* FIN PSH ACK */
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_TCP_FLAGS);
}

Test(bpf_fp, rst_of_a_cached_reply_goes_to_userspace)
{
	struct fr_spec s = reply_pkt(IPPROTO_TCP, 0);
	struct xlb_fp_val v = entry(XLB_FP_NAT_OUT);

	s.tcp_flags = 0x14;	/* RST ACK */
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_TCP_FLAGS);
}

Test(bpf_fp, ip_options_go_to_userspace)
{
	static const uint8_t opts[4] = { 1, 1, 1, 0 };
	struct fr_spec s = client_pkt(IPPROTO_UDP, 20);
	struct xlb_fp_val v = entry(XLB_FP_DR);

	s.ip_opts = opts;
	s.ip_opts_len = 4;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_IP_OPTIONS);
}

Test(bpf_fp, first_fragment_goes_to_userspace)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 64);
	struct xlb_fp_val v = entry(XLB_FP_NAT_IN);

	s.frag = 0x2000;	/* MF, offset 0 */
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_FRAGMENT);
}

Test(bpf_fp, non_first_fragment_is_never_looked_up)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 64);
	uint8_t in[FPH_FRAME_MAX];
	size_t n;
	struct fph_run r;

	s.frag = 0x0010;
	n = fr_build(in, sizeof(in), &s);
	add_services();
	fph_run(in, n, &r);
	cr_assert_eq(r.act, XDP_PASS);
	cr_assert_eq(r.d[XLB_CNT_FRAGMENT], 1);
	cr_assert_eq(r.d[XLB_CNT_FP_MISS], 0);
}

Test(bpf_fp, dr_frame_over_the_mtu_goes_to_userspace)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 1000);
	struct xlb_fp_val v = entry(XLB_FP_DR);

	v.mtu = 20 + 8 + 1000 - 1;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_TOO_BIG);
}

Test(bpf_fp, tun_frame_over_the_mtu_once_encapsulated_goes_to_userspace)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 1000);
	struct xlb_fp_val v = entry(XLB_FP_TUN);

	s.frag = 0x4000;	/* userspace answers frag-needed */
	v.mtu = 20 + 20 + 1000 + 20 - 1;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_TOO_BIG);
}

Test(bpf_fp, vlan_tagged_frame_of_a_cached_flow_is_the_kernels)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 10);
	struct xlb_fp_val v = entry(XLB_FP_DR);
	uint8_t in[FPH_FRAME_MAX], plain[FPH_FRAME_MAX];
	struct fr_spec p = s;
	struct xlb_fp_key k;
	struct fph_run r;
	size_t n;

	s.vlan = true;
	s.vlan_tci = 10;
	n = fr_build(in, sizeof(in), &s);
	fr_build(plain, sizeof(plain), &p);
	k = fph_key_of(plain);
	add_services();
	fph_install(&k, &v);
	fph_run(in, n, &r);
	cr_assert_eq(r.act, XDP_PASS);
	cr_assert_eq(r.d[XLB_CNT_VLAN], 1);
	cr_assert_eq(r.d[XLB_CNT_FP_TX] + r.d[XLB_CNT_FP_REDIRECTED], 0);
	cr_assert_arr_eq(r.out, in, n);
}

Test(bpf_fp, disabled_fast_path_leaves_a_cached_flow_to_userspace)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 10);
	struct xlb_fp_val v = entry(XLB_FP_DR);
	uint8_t in[FPH_FRAME_MAX];
	size_t n = fr_build(in, sizeof(in), &s);
	struct fph_run r;

	fph_enable(false);
	expect_punt(&s, &v, XLB_CNT_MAX);
	fph_run(in, n, &r);
	cr_assert_eq(r.d[XLB_CNT_FP_MISS], 0, "looked up while disabled");
	fph_enable(true);
	fph_run(in, n, &r);
	cr_assert_eq(r.act, XDP_TX, "enabled again: a hit");
}

Test(bpf_fp, flow_without_an_entry_is_a_miss_and_goes_to_userspace)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 10);

	expect_punt(&s, NULL, XLB_CNT_FP_MISS);
}

Test(bpf_fp, entry_with_no_method_is_a_miss)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 10);
	struct xlb_fp_val v = entry(XLB_FP_NONE);

	expect_punt(&s, &v, XLB_CNT_FP_MISS);
}

Test(bpf_fp, egress_missing_from_fp_devs_goes_to_userspace_untouched)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 10);
	struct xlb_fp_val v = entry(XLB_FP_NAT_IN);

	v.ifindex = 4242;
	expect_punt(&s, &v, XLB_CNT_FP_REDIRECT_FAILED);
}

Test(bpf_fp, ttl_zero_goes_to_userspace_which_drops_it)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP, 10);
	struct xlb_fp_val v = entry(XLB_FP_DR);

	s.ttl = 0;
	expect_punt(&s, &v, XLB_CNT_FP_PUNT_ODD);
}

Test(bpf_fp, truncated_datagram_goes_to_userspace_which_drops_it)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 100);
	struct xlb_fp_val v = entry(XLB_FP_DR);
	uint8_t in[FPH_FRAME_MAX];
	size_t n = fr_build(in, sizeof(in), &s);
	struct fph_run r;

	install_for(in, &v);
	fph_run(in, n - 10, &r);	/* total length says 10 more bytes */
	cr_assert_eq(r.act, XDP_DROP);
	cr_assert_eq(r.d[XLB_CNT_FP_PUNT_ODD], 1);
	cr_assert_arr_eq(r.out, in, n - 10);
}

Test(bpf_fp, udp_length_past_the_datagram_goes_to_userspace)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 100);
	struct xlb_fp_val v = entry(XLB_FP_DR);
	uint8_t in[FPH_FRAME_MAX];
	size_t n = fr_build(in, sizeof(in), &s);
	struct fph_run r;

	install_for(in, &v);		/* the key of the well-formed frame */
	in[14 + 20 + 4] = 0x10;	/* UDP length 4096+ */
	fph_run(in, n, &r);
	cr_assert_eq(r.act, XDP_DROP);
	cr_assert_eq(r.d[XLB_CNT_FP_PUNT_ODD], 1);
}

/* ---- real frames on real veths ---- */

#include <poll.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "xlb_steer.skel.h"

/* A veth only delivers an XDP_TX'd or redirected frame to a peer that
 * runs NAPI: an XDP program (this one passes everything) or GRO. */
static void attach_pass(uint32_t ifindex)
{
	static const struct bpf_insn pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "pass", "GPL", pass, 2, NULL);

	cr_assert_geq(fd, 0, "load: %s", strerror(errno));
	cr_assert_eq(bpf_xdp_attach((int)ifindex, fd, XDP_FLAGS_DRV_MODE,
				    NULL), 0, "attach pass: %s",
		     strerror(errno));
}

static int packet_socket(uint32_t ifindex)
{
	struct sockaddr_ll a = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)ifindex,
	};
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* The next IPv4 frame arriving (not leaving) on fd within 2 s; 0 if
 * none. */
static ssize_t recv_ipv4(int fd, uint8_t *buf, size_t cap)
{
	for (int i = 0; i < 50; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&p, 1, 2000) <= 0)
			return 0;
		n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&from, &fl);
		if (n >= 14 && from.sll_pkttype != PACKET_OUTGOING &&
		    buf[12] == 0x08 && buf[13] == 0x00)
			return n;
	}
	return 0;
}

/*
 * The whole way, as on a director: a frame sent into veth fpa1 reaches
 * xlb_steer, attached natively to its peer fpa0; the entry sends it on by
 * the other veth (redirect through fp_devs, out of fpb0 to fpb1), or back
 * out of fpa0 (XDP_TX, to fpa1), rewritten (NAT in), and arrives as
 * frames.c builds the translated frame.
 */
Test(bpf_fp, hits_leave_real_veths_rewritten_by_redirect_and_by_xdp_tx)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP, 200);
	struct xlb_fp_val v = entry(XLB_FP_NAT_IN);
	uint8_t in[FPH_FRAME_MAX], want[FPH_FRAME_MAX], got[FPH_FRAME_MAX];
	uint32_t a0, a1, b0, b1, want_len;
	struct xlb_fp_key k;
	struct xlb_fp_val c;
	int sa, sb, prog;
	size_t n;
	ssize_t r;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	fph_close();
	fph_open(1024, true);
	a0 = fph_make_veth("fpa");	/* fpa <-> fpap */
	b0 = fph_make_veth("fpb");
	a1 = if_nametoindex("fpap");
	b1 = if_nametoindex("fpbp");
	prog = bpf_program__fd(fph_skel()->progs.xlb_steer);
	cr_assert_eq(bpf_xdp_attach((int)a0, prog, XDP_FLAGS_DRV_MODE, NULL),
		     0, "attach xlb_steer: %s", strerror(errno));
	attach_pass(a1);
	attach_pass(b1);
	cr_assert_eq(fph_add_dev(b0), 0);

	n = fr_build(in, sizeof(in), &s);
	k = fph_key_of(in);
	sa = packet_socket(a1);
	sb = packet_socket(b1);

	/* Redirected: out of fpb0, into fpb1. */
	v.ifindex = b0;
	fph_install(&k, &v);
	want_len = (uint32_t)nat_in_want(want, s);
	cr_assert_eq(send(sa, in, n, 0), (ssize_t)n);
	r = recv_ipv4(sb, got, sizeof(got));
	cr_assert_eq(r, (ssize_t)want_len, "redirected frame: %zd bytes", r);
	cr_assert_arr_eq(got, want, want_len);
	cr_assert(fph_lookup(&k, &c));
	cr_assert_eq(c.pkts, 1);

	/* XDP_TX: back out of fpa0, into fpa1. */
	v.ifindex = a0;
	fph_install(&k, &v);
	cr_assert_eq(send(sa, in, n, 0), (ssize_t)n);
	r = recv_ipv4(sa, got, sizeof(got));
	cr_assert_eq(r, (ssize_t)want_len, "XDP_TX frame: %zd bytes", r);
	cr_assert_arr_eq(got, want, want_len);
	cr_assert(fph_lookup(&k, &c));
	cr_assert_eq(c.pkts, 1);
	close(sa);
	close(sb);
}
