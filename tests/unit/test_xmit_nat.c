// SPDX-License-Identifier: GPL-2.0
/* NAT in/out and NAT of ICMP errors: byte-for-byte against frames built
 * independently, and every checksum recomputed from scratch. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <criterion/criterion.h>

#include "frames.h"
#include "xmit.h"

#define CIP	"198.51.100.7"
#define VIP	"10.0.0.100"
#define RIP	"192.168.10.5"
#define CPORT	51000
#define VPORT	80
#define RPORT	8080

static struct xlb_xmit_bind nat_bind;

static void setup(void)
{
	static const uint8_t dsmac[6] = { 0x02, 0xD1, 0, 0, 0, 0x01 };
	static const uint8_t nhmac[6] = { 0x02, 0xAA, 0, 0, 0, 0x05 };

	memset(&nat_bind, 0, sizeof(nat_bind));
	memcpy(nat_bind.smac, dsmac, 6);
	memcpy(nat_bind.dmac, nhmac, 6);
	nat_bind.rip = fr_ip(RIP);
	nat_bind.rport = htons(RPORT);
	nat_bind.vip = fr_ip(VIP);
	nat_bind.vport = htons(VPORT);
	nat_bind.dip = fr_ip("192.168.10.1");
	nat_bind.mtu = 1500;
}

TestSuite(xmit_nat, .init = setup);

/* Client -> VIP:vport. */
static struct fr_spec client_pkt(uint8_t proto)
{
	struct fr_spec s = fr_default(proto);

	s.saddr = fr_ip(CIP);
	s.sport = CPORT;
	s.daddr = fr_ip(VIP);
	s.dport = VPORT;
	return s;
}

/* RS -> client, before the rewrite. */
static struct fr_spec rs_reply(uint8_t proto)
{
	struct fr_spec s = fr_default(proto);

	s.saddr = fr_ip(RIP);
	s.sport = RPORT;
	s.daddr = fr_ip(CIP);
	s.dport = CPORT;
	s.tcp_flags = XLB_TCP_SYN | XLB_TCP_ACK;
	return s;
}

static uint8_t in[512], want[512];

/* Runs fn on the frame built from s and expects the frame built from w
 * (with the bind's MACs). */
static void expect_xmit(xlb_xmit_fn fn, const struct fr_spec *s,
			struct fr_spec w, struct xlb_pkt *p)
{
	struct xlb_frame f = { .data = in };
	size_t wn;

	f.len = (uint32_t)fr_build(in, sizeof(in), s);
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, p), XLB_PKT_OK);
	cr_assert_eq(fn(&f, p, &nat_bind), 0);
	memcpy(w.dmac, nat_bind.dmac, 6);
	memcpy(w.smac, nat_bind.smac, 6);
	wn = fr_build(want, sizeof(want), &w);
	cr_assert_eq(f.len, wn);
	cr_expect_arr_eq(f.data, want, wn);
	cr_expect_null(fr_verify(f.data, f.len), "%s",
		       fr_verify(f.data, f.len));
}

Test(xmit_nat, tcp_in_rewrites_destination_to_rip_and_rport)
{
	struct fr_spec s = client_pkt(IPPROTO_TCP), w = s;
	uint8_t pay[41];
	struct xlb_pkt p;

	memset(pay, 0x5A, sizeof(pay));
	s.payload = w.payload = pay;
	s.payload_len = w.payload_len = sizeof(pay);
	w.daddr = fr_ip(RIP);
	w.dport = RPORT;
	expect_xmit(xlb_xmit_nat_in, &s, w, &p);
	cr_expect_eq(p.daddr, nat_bind.rip, "the parsed view follows the frame");
	cr_expect_eq(p.dport, nat_bind.rport);
}

Test(xmit_nat, udp_in_rewrites_destination_and_updates_the_checksum)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP), w;
	uint8_t pay[17] = { 1, 2, 3 };
	struct xlb_pkt p;

	s.payload = pay;
	s.payload_len = sizeof(pay);
	w = s;
	w.daddr = fr_ip(RIP);
	w.dport = RPORT;
	expect_xmit(xlb_xmit_nat_in, &s, w, &p);
	cr_expect_neq(fr_get16(in, 14 + 20 + 6), 0);
}

Test(xmit_nat, udp_zero_checksum_stays_zero_after_nat)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP), w;
	struct xlb_pkt p;

	s.udp_no_csum = true;
	w = s;
	w.daddr = fr_ip(RIP);
	w.dport = RPORT;
	expect_xmit(xlb_xmit_nat_in, &s, w, &p);
	cr_expect_eq(fr_get16(in, 14 + 20 + 6), 0);
}

Test(xmit_nat, tcp_out_rewrites_source_to_vip_and_vport)
{
	struct fr_spec s = rs_reply(IPPROTO_TCP), w = s;
	struct xlb_pkt p;

	w.saddr = fr_ip(VIP);
	w.sport = VPORT;
	expect_xmit(xlb_xmit_nat_out, &s, w, &p);
	cr_expect_eq(p.saddr, nat_bind.vip);
	cr_expect_eq(p.sport, nat_bind.vport);
}

Test(xmit_nat, udp_out_rewrites_source_to_vip_and_vport)
{
	struct fr_spec s = rs_reply(IPPROTO_UDP), w;
	uint8_t pay[100];
	struct xlb_pkt p;

	memset(pay, 0xC3, sizeof(pay));
	s.payload = pay;
	s.payload_len = sizeof(pay);
	w = s;
	w.saddr = fr_ip(VIP);
	w.sport = VPORT;
	expect_xmit(xlb_xmit_nat_out, &s, w, &p);
}

Test(xmit_nat, vlan_ip_options_and_padding_survive_nat)
{
	static const uint8_t opts[8] = { 0x94, 4, 0, 0, 1, 1, 1, 0 };
	struct fr_spec s = client_pkt(IPPROTO_TCP), w;
	struct xlb_pkt p;

	s.vlan = true;
	s.vlan_tci = 7;
	s.ip_opts = opts;
	s.ip_opts_len = sizeof(opts);
	s.eth_pad = 6;
	w = s;
	w.daddr = fr_ip(RIP);
	w.dport = RPORT;
	expect_xmit(xlb_xmit_nat_in, &s, w, &p);
}

Test(xmit_nat, first_fragment_gets_ports_and_checksum_rewritten)
{
	struct fr_spec s = client_pkt(IPPROTO_UDP), w;
	uint8_t pay[64] = { 7 };
	struct xlb_frame f = { .data = in };
	struct xlb_pkt p;
	uint16_t c0;

	/* The UDP checksum covers the whole datagram, which this test cannot
	 * see, so compare with the full recompute of the whole unfragmented
	 * datagram instead: only the first 8 + 24 bytes go out here. */
	s.payload = pay;
	s.payload_len = sizeof(pay);
	w = s;
	w.daddr = fr_ip(RIP);
	w.dport = RPORT;
	fr_build(want, sizeof(want), &w);
	f.len = (uint32_t)fr_build(in, sizeof(in), &s);
	in[14 + 6] = 0x20;		/* MF */
	in[14 + 3] = 20 + 8 + 24;	/* total length: this fragment */
	in[14 + 10] = in[14 + 11] = 0;
	c0 = fr_csum(in + 14, 20, 0);
	in[14 + 10] = c0 >> 8;
	in[14 + 11] = c0 & 0xFF;
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	cr_assert_eq(xlb_xmit_nat_in(&f, &p, &nat_bind), 0);
	cr_expect_eq(fr_get16(in, 14 + 20 + 6), fr_get16(want, 14 + 20 + 6),
		     "UDP checksum of the whole datagram");
	cr_expect_eq(fr_csum(in + 14, 20, 0), 0, "IP header checksum");
}

Test(xmit_nat, icmp_echo_is_refused_and_left_unchanged)
{
	struct fr_spec s = client_pkt(IPPROTO_ICMP);
	struct xlb_frame f = { .data = in };
	struct xlb_pkt p;
	uint8_t copy[512];

	s.icmp_type = XLB_ICMP_ECHO;
	f.len = (uint32_t)fr_build(in, sizeof(in), &s);
	memcpy(copy, in, f.len);
	cr_assert_eq(xlb_pkt_parse(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_nat_in(&f, &p, &nat_bind), -EPROTONOSUPPORT);
	cr_expect_eq(xlb_xmit_nat_icmp_in(&f, &p, &nat_bind), -EPROTONOSUPPORT);
	cr_expect_arr_eq(in, copy, f.len);
}

/* ---- ICMP errors ---- */

/* An ICMP error from src to dst quoting quote_len bytes of the datagram q
 * (built from IP on). */
static struct fr_spec icmp_err(const char *src, const char *dst, uint8_t type,
			       uint8_t code, const uint8_t *q, size_t qlen)
{
	struct fr_spec s = fr_default(IPPROTO_ICMP);

	s.saddr = fr_ip(src);
	s.daddr = fr_ip(dst);
	s.icmp_type = type;
	s.icmp_code = code;
	s.icmp_rest = code == XLB_ICMP_FRAG_NEEDED ? 1400 : 0;
	s.payload = q;
	s.payload_len = (uint16_t)qlen;
	return s;
}

static size_t quote(uint8_t *q, struct fr_spec s, size_t max)
{
	size_t n;

	s.no_eth = true;
	n = fr_build(q, 256, &s);
	return n < max ? n : max;
}

/* The client's router says our reply (VIP:vport -> client) could not be
 * delivered; the RS must get it about RIP:rport -> client. */
static void expect_icmp_in(uint8_t proto, size_t max)
{
	uint8_t q[256], wq[256];
	struct fr_spec r = rs_reply(proto), s, w;
	struct xlb_pkt p;
	size_t qn, wqn;

	r.saddr = fr_ip(VIP);
	r.sport = VPORT;
	qn = quote(q, r, max);
	r.saddr = fr_ip(RIP);
	r.sport = RPORT;
	wqn = quote(wq, r, max);
	s = icmp_err("203.0.113.1", VIP, XLB_ICMP_DEST_UNREACH, 1, q, qn);
	w = icmp_err("203.0.113.1", RIP, XLB_ICMP_DEST_UNREACH, 1, wq, wqn);
	expect_xmit(xlb_xmit_nat_icmp_in, &s, w, &p);
	cr_expect_eq(p.daddr, nat_bind.rip);
	cr_expect_eq(p.inner_saddr, nat_bind.rip);
	cr_expect_eq(p.inner_sport, nat_bind.rport);
}

Test(xmit_nat, icmp_in_quoting_a_whole_udp_datagram_is_fully_rewritten)
{
	expect_icmp_in(IPPROTO_UDP, 1000);
}

Test(xmit_nat, icmp_in_quoting_a_whole_tcp_segment_is_fully_rewritten)
{
	expect_icmp_in(IPPROTO_TCP, 1000);
}

Test(xmit_nat, icmp_in_quoting_header_plus_8_bytes_of_tcp_is_rewritten)
{
	expect_icmp_in(IPPROTO_TCP, 28);
}

/* The RS's host or a router behind it says the client's packet (client ->
 * RIP:rport, as the RS saw it) was too big; the client must get it about
 * client -> VIP:vport, from the VIP. */
static void expect_icmp_out(uint8_t proto, size_t max, uint8_t type,
			    uint8_t code)
{
	uint8_t q[256], wq[256];
	struct fr_spec c = client_pkt(proto), s, w;
	uint8_t pay[20] = { 3 };
	struct xlb_pkt p;
	size_t qn, wqn;

	c.payload = pay;
	c.payload_len = sizeof(pay);
	c.frag = XLB_IP_DF;
	c.ttl = 1;
	wqn = quote(wq, c, max);
	c.daddr = fr_ip(RIP);
	c.dport = RPORT;
	qn = quote(q, c, max);
	s = icmp_err(RIP, CIP, type, code, q, qn);
	w = icmp_err(VIP, CIP, type, code, wq, wqn);
	expect_xmit(xlb_xmit_nat_icmp_out, &s, w, &p);
	cr_expect_eq(p.saddr, nat_bind.vip);
	cr_expect_eq(p.inner_daddr, nat_bind.vip);
	cr_expect_eq(p.inner_dport, nat_bind.vport);
}

Test(xmit_nat, icmp_out_frag_needed_quoting_udp_is_rewritten)
{
	expect_icmp_out(IPPROTO_UDP, 1000, XLB_ICMP_DEST_UNREACH,
			XLB_ICMP_FRAG_NEEDED);
}

Test(xmit_nat, icmp_out_time_exceeded_quoting_8_bytes_of_tcp_is_rewritten)
{
	expect_icmp_out(IPPROTO_TCP, 28, XLB_ICMP_TIME_EXCEEDED, 0);
}

Test(xmit_nat, icmp_out_port_unreachable_quoting_24_bytes_of_tcp_is_rewritten)
{
	/* The quoted TCP checksum (bytes 16..17) is present: updated. */
	expect_icmp_out(IPPROTO_TCP, 20 + 24, XLB_ICMP_DEST_UNREACH, 3);
}

Test(xmit_nat, icmp_out_quoting_udp_with_zero_checksum_keeps_it_zero)
{
	uint8_t q[256], wq[256];
	struct fr_spec c = client_pkt(IPPROTO_UDP), s, w;
	struct xlb_pkt p;
	size_t qn, wqn;

	c.udp_no_csum = true;
	wqn = quote(wq, c, 1000);
	c.daddr = fr_ip(RIP);
	c.dport = RPORT;
	qn = quote(q, c, 1000);
	s = icmp_err(RIP, CIP, XLB_ICMP_DEST_UNREACH, 3, q, qn);
	w = icmp_err(VIP, CIP, XLB_ICMP_DEST_UNREACH, 3, wq, wqn);
	expect_xmit(xlb_xmit_nat_icmp_out, &s, w, &p);
	cr_expect_eq(fr_get16(in, p.inner_l4_off + 6), 0);
}

/* ==== NAT66: against Scapy's frames (tests/unit/golden6.h) and frames.c's
 * IPv6 builder, every checksum verified from scratch ==== */

#include "golden6.h"

static struct xlb_xmit_bind nat6_bind;

static void setup6(void)
{
	static const uint8_t dsmac[6] = { 0x02, 0xD1, 0, 0, 0, 0x01 };
	static const uint8_t nhmac[6] = { 0x02, 0xAA, 0, 0, 0, 0x05 };

	memset(&nat6_bind, 0, sizeof(nat6_bind));
	memcpy(nat6_bind.smac, dsmac, 6);
	memcpy(nat6_bind.dmac, nhmac, 6);
	fr6_ip(nat6_bind.rip6.b, "2001:db8:10::5");
	fr6_ip(nat6_bind.vip6.b, "2001:db8::100");
	fr6_ip(nat6_bind.dip6.b, "2001:db8:10::1");
	nat6_bind.rport = htons(RPORT);
	nat6_bind.vport = htons(VPORT);
	nat6_bind.mtu = 1500;
}

TestSuite(xmit_nat6, .init = setup6);

static uint8_t g6buf[2048];

/* Runs fn on Scapy's input frame and expects Scapy's output frame. */
static void expect_golden(xlb_xmit_fn fn, const uint8_t *gin, size_t nin,
			  const uint8_t *gout, size_t nout, struct xlb_pkt *p)
{
	struct xlb_frame f = { .data = g6buf, .len = (uint32_t)nin };
	struct xlb_pkt q;
	const char *why;

	memcpy(g6buf, gin, nin);
	cr_assert_null(fr_verify(gin, nin), "Scapy's input: %s", fr_verify(gin, nin));
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, p), XLB_PKT_OK);
	cr_assert_eq(p->af, AF_INET6);
	cr_assert_eq(fn(&f, p, &nat6_bind), 0);
	cr_assert_eq(f.len, nout);
	cr_expect_arr_eq(f.data, gout, nout);
	why = fr_verify(f.data, f.len);
	cr_expect_null(why, "%s", why);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &q), XLB_PKT_OK);
	cr_expect_arr_eq(&q.saddr6, &p->saddr6, 16, "the parsed view follows the frame");
	cr_expect_arr_eq(&q.daddr6, &p->daddr6, 16);
	cr_expect_eq(q.sport, p->sport);
	cr_expect_eq(q.dport, p->dport);
}

#define GOLDEN(fn, name, p) \
	expect_golden(fn, g6_##name##_in, sizeof(g6_##name##_in), \
		      g6_##name##_out, sizeof(g6_##name##_out), p)

Test(xmit_nat6, tcp_in_rewrites_destination_to_rip_and_rport_as_scapy_does)
{
	struct xlb_pkt p;

	GOLDEN(xlb_xmit_nat6_in, nat6_in_tcp, &p);
	cr_expect_arr_eq(p.daddr6.b, nat6_bind.rip6.b, 16);
	cr_expect_eq(p.dport, htons(RPORT));
}

Test(xmit_nat6, udp_in_behind_extension_headers_is_rewritten_as_scapy_does)
{
	struct xlb_pkt p;

	GOLDEN(xlb_xmit_nat6_in, nat6_in_udp_ext, &p);
	cr_expect_eq(p.ip6_n_ext, 2);
}

Test(xmit_nat6, udp_out_rewrites_source_to_vip_and_vport_as_scapy_does)
{
	struct xlb_pkt p;

	GOLDEN(xlb_xmit_nat6_out, nat6_out_udp, &p);
	cr_expect_arr_eq(p.saddr6.b, nat6_bind.vip6.b, 16);
	cr_expect_eq(p.sport, htons(VPORT));
}

Test(xmit_nat6, tcp_out_rewrites_source_to_vip_and_vport_as_scapy_does)
{
	struct xlb_pkt p;

	GOLDEN(xlb_xmit_nat6_out, nat6_out_tcp, &p);
}

Test(xmit_nat6, icmp_in_unreachable_rewrites_outer_and_quoted_headers_as_scapy_does)
{
	struct xlb_pkt p;

	GOLDEN(xlb_xmit_nat6_icmp_in, nat6_icmp_in_unreach, &p);
	cr_expect_arr_eq(p.inner_saddr6.b, nat6_bind.rip6.b, 16);
	cr_expect_eq(p.inner_sport, htons(RPORT));
}

Test(xmit_nat6, icmp_out_packet_too_big_quoting_udp_is_rewritten_as_scapy_does)
{
	struct xlb_pkt p;

	GOLDEN(xlb_xmit_nat6_icmp_out, nat6_icmp_out_ptb, &p);
	cr_expect_arr_eq(p.inner_daddr6.b, nat6_bind.vip6.b, 16);
	cr_expect_eq(p.inner_dport, htons(VPORT));
}

Test(xmit_nat6, icmp_out_quoting_8_bytes_of_tcp_is_rewritten_as_scapy_does)
{
	struct xlb_pkt p;

	GOLDEN(xlb_xmit_nat6_icmp_out, nat6_icmp_out_time_exceeded_cut, &p);
	cr_expect_eq(p.inner_l4_avail, 8);
}

/* frames.c's builder: client -> VIP, and what NAT66 in must make of it. */
static struct fr6_spec client6(uint8_t proto)
{
	struct fr6_spec s = fr6_default(proto);

	fr6_ip(s.saddr, "2001:db8:c::7");
	fr6_ip(s.daddr, "2001:db8::100");
	s.sport = CPORT;
	s.dport = VPORT;
	return s;
}

static void expect_xmit6(xlb_xmit_fn fn, const struct fr6_spec *s,
			 struct fr6_spec w, struct xlb_pkt *p)
{
	struct xlb_frame f = { .data = in };
	size_t wn;

	f.len = (uint32_t)fr6_build(in, sizeof(in), s);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, p), XLB_PKT_OK);
	cr_assert_eq(fn(&f, p, &nat6_bind), 0);
	memcpy(w.dmac, nat6_bind.dmac, 6);
	memcpy(w.smac, nat6_bind.smac, 6);
	wn = fr6_build(want, sizeof(want), &w);
	cr_assert_eq(f.len, wn);
	cr_expect_arr_eq(f.data, want, wn);
	cr_expect_null(fr_verify(f.data, f.len), "%s", fr_verify(f.data, f.len));
}

Test(xmit_nat6, vlan_routing_header_hop_limit_and_padding_survive_nat66)
{
	static const uint8_t types[2] = { 43, 60 };
	uint8_t ext[16], pay[11] = { 3 };
	struct fr6_spec s = client6(IPPROTO_TCP), w;
	struct xlb_pkt p;

	s.vlan = true;
	s.vlan_tci = 0x0ABC;
	s.hlim = 1;
	s.tclass = 0xFF;
	s.ext = ext;
	s.ext_len = (uint16_t)fr6_ext(ext, types, 2, IPPROTO_TCP);
	s.ext_nh = 43;
	s.payload = pay;
	s.payload_len = sizeof(pay);
	s.eth_pad = 0;
	w = s;
	fr6_ip(w.daddr, "2001:db8:10::5");
	w.dport = RPORT;
	expect_xmit6(xlb_xmit_nat6_in, &s, w, &p);
}

Test(xmit_nat6, udp_checksum_becoming_zero_is_sent_as_ffff)
{
	/* Search a payload whose rewritten checksum is 0 (0xFFFF on the
	 * wire): frames.c's builder sends it as 0xFFFF too. */
	struct fr6_spec s = client6(IPPROTO_UDP), w;
	uint8_t pay[2] = { 0, 0 };
	struct xlb_pkt p;
	int v;

	s.payload = pay;
	s.payload_len = sizeof(pay);
	for (v = 0; v < 0x10000; v++) {
		pay[0] = (uint8_t)(v >> 8);
		pay[1] = (uint8_t)v;
		w = s;
		fr6_ip(w.daddr, "2001:db8:10::5");
		w.dport = RPORT;
		fr6_build(want, sizeof(want), &w);
		if (fr_get16(want, 14 + 40 + 6) == 0xFFFF)
			break;
	}
	cr_assert_lt(v, 0x10000, "no payload gives checksum 0xFFFF");
	expect_xmit6(xlb_xmit_nat6_in, &s, w, &p);
	cr_expect_eq(fr_get16(in, 14 + 40 + 6), 0xFFFF);
}

Test(xmit_nat6, zero_udp_checksum_is_computed_never_kept)
{
	struct fr6_spec s = client6(IPPROTO_UDP), w;
	struct xlb_frame f = { .data = in };
	uint8_t pay[9] = { 7 };
	struct xlb_pkt p;
	size_t wn;

	s.payload = pay;
	s.payload_len = sizeof(pay);
	f.len = (uint32_t)fr6_build(in, sizeof(in), &s);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	/* The parser refuses a zero checksum; a caller that has p some other
	 * way must still get a valid datagram. */
	in[14 + 40 + 6] = in[14 + 40 + 7] = 0;
	cr_assert_eq(xlb_xmit_nat6_in(&f, &p, &nat6_bind), 0);
	w = s;
	fr6_ip(w.daddr, "2001:db8:10::5");
	w.dport = RPORT;
	memcpy(w.dmac, nat6_bind.dmac, 6);
	memcpy(w.smac, nat6_bind.smac, 6);
	wn = fr6_build(want, sizeof(want), &w);
	cr_expect_arr_eq(f.data, want, wn);
	cr_expect_null(fr_verify(f.data, f.len));
}

Test(xmit_nat6, echo_fragments_and_ipv4_packets_are_refused_and_left_unchanged)
{
	struct fr6_spec s = fr6_default(IPPROTO_ICMPV6);
	struct fr_spec s4 = client_pkt(IPPROTO_TCP);
	struct xlb_frame f = { .data = in };
	uint8_t copy[512];
	struct xlb_pkt p;

	s.icmp_type = XLB_ICMP6_ECHO;
	f.len = (uint32_t)fr6_build(in, sizeof(in), &s);
	memcpy(copy, in, f.len);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_nat6_in(&f, &p, &nat6_bind), -EPROTONOSUPPORT);
	cr_expect_eq(xlb_xmit_nat6_out(&f, &p, &nat6_bind), -EPROTONOSUPPORT);
	cr_expect_eq(xlb_xmit_nat6_icmp_in(&f, &p, &nat6_bind), -EPROTONOSUPPORT);
	cr_expect_eq(xlb_xmit_nat6_icmp_out(&f, &p, &nat6_bind), -EPROTONOSUPPORT);
	cr_expect_arr_eq(in, copy, f.len);

	f.len = (uint32_t)fr_build(in, sizeof(in), &s4);
	memcpy(copy, in, f.len);
	cr_assert_eq(xlb_pkt_parse_dual(f.data, f.len, &p), XLB_PKT_OK);
	cr_expect_eq(xlb_xmit_nat6_in(&f, &p, &nat6_bind), -EPROTONOSUPPORT);
	cr_expect_eq(xlb_xmit_nat6_out(&f, &p, &nat6_bind), -EPROTONOSUPPORT);
	cr_expect_arr_eq(in, copy, f.len);
}

Test(xmit_nat6, icmp_error_about_udp_in_both_directions_matches_the_builder)
{
	/* in: a router's unreachable about VIP:80 -> client (UDP, quoted
	 * whole) becomes one to the RIP about RIP:8080 -> client. */
	struct fr6_spec q = fr6_default(IPPROTO_UDP), s = fr6_default(IPPROTO_ICMPV6), w;
	uint8_t qb[128], wq[128], pay[10] = { 9 };
	struct xlb_pkt p;
	size_t qn;

	q.no_eth = true;
	fr6_ip(q.saddr, "2001:db8::100");
	fr6_ip(q.daddr, "2001:db8:c::7");
	q.sport = VPORT;
	q.dport = CPORT;
	q.payload = pay;
	q.payload_len = sizeof(pay);
	qn = fr6_build(qb, sizeof(qb), &q);
	fr6_ip(s.saddr, "2001:db8:ff::1");
	fr6_ip(s.daddr, "2001:db8::100");
	s.icmp_type = XLB_ICMP6_DEST_UNREACH;
	s.icmp_code = 4;
	s.payload = qb;
	s.payload_len = (uint16_t)qn;
	w = s;
	fr6_ip(w.daddr, "2001:db8:10::5");
	fr6_ip(q.saddr, "2001:db8:10::5");
	q.sport = RPORT;
	fr6_build(wq, sizeof(wq), &q);
	w.payload = wq;
	expect_xmit6(xlb_xmit_nat6_icmp_in, &s, w, &p);
}
