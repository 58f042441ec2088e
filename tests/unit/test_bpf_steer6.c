// SPDX-License-Identifier: GPL-2.0
/*
 * xlb_steer's IPv6 path (issue 14), run by the kernel on crafted frames
 * with BPF_PROG_TEST_RUN, the maps filled through lb/xdp.c's IPv6 loaders.
 * As test_bpf_steer.c: "redirected" is seen with a real AF_XDP socket in
 * xsks_map (copy mode, on the loopback of a private network namespace);
 * without one a steered packet counts redirect_failed plus its reason, a
 * passed one passed (plus not_ipv4, as IPv6 always counted, and the IPv6
 * reason). Needs root; skipped loudly otherwise.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>

#include <criterion/criterion.h>
#include <bpf/bpf.h>
#include <xdp/xsk.h>

#include "xdp.h"
#include "inaddr.h"
#include "v6frames.h"
#include "../bpf/xlb_ip6.h"

static struct xlb_xdp *x;

static void setup(void)
{
	int err;

	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (CAP_BPF)");
	err = xlb_xdp_open(&x, XLB_XDP_NATIVE);
	cr_assert_eq(err, 0, "xlb_xdp_open: %d %s", err, xlb_xdp_errmsg());
}

static void teardown(void)
{
	xlb_xdp_close(x);
	x = NULL;
}

TestSuite(bpf_steer6, .init = setup, .fini = teardown);

#define CLIENT	"fd00:1::50"
#define VIP	"fd00:1::100"
#define RIP	"fd00:2::11"
#define DIR	"fd00:2::1"	/* the director's own address */

static void add_svc6(const char *vip, uint16_t port, uint8_t proto)
{
	struct xlb_svc6_key k = { .port = htons(port), .proto = proto,
				  .pad = 0x5a /* ignored */ };

	v6_addr(k.addr, vip);
	cr_assert_eq(xlb_xdp_svc6_set(x, &k, true), 0, "%s", xlb_xdp_errmsg());
}

static void add_rs6(const char *rip, uint16_t port, uint8_t proto)
{
	struct xlb_rs6_key k = { .port = htons(port), .proto = proto };

	v6_addr(k.addr, rip);
	cr_assert_eq(xlb_xdp_nat_rs6_set(x, &k, true), 0, "%s",
		     xlb_xdp_errmsg());
}

static void add_local6(const char *a)
{
	uint8_t b[16];

	v6_addr(b, a);
	cr_assert_eq(xlb_xdp_local6_set(x, b, true), 0, "%s", xlb_xdp_errmsg());
}

static uint32_t run(const uint8_t *frame, size_t len, uint64_t d[XLB_CNT_MAX])
{
	uint64_t before[XLB_CNT_MAX], after[XLB_CNT_MAX];
	uint8_t out[2048];
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = frame, .data_size_in = (uint32_t)len,
		    .data_out = out, .data_size_out = sizeof(out),
		    .repeat = 1);
	int i, err;

	cr_assert_eq(xlb_xdp_counters(x, before), 0);
	err = bpf_prog_test_run_opts(xlb_xdp_prog_fd(x), &o);
	cr_assert_eq(err, 0, "test run: %s", strerror(errno));
	cr_assert_eq(xlb_xdp_counters(x, after), 0);
	for (i = 0; i < XLB_CNT_MAX; i++)
		d[i] = after[i] - before[i];
	cr_assert_eq(o.data_size_out, len);
	cr_assert_arr_eq(out, frame, len, "the program changed the packet");
	cr_assert_eq(d[XLB_CNT_PASSED] + d[XLB_CNT_REDIRECTED] +
		     d[XLB_CNT_REDIRECT_FAILED] + d[XLB_CNT_FP_TX] +
		     d[XLB_CNT_FP_REDIRECTED] + d[XLB_CNT_FP_DROPPED], 1);
	cr_assert_eq(d[XLB_CNT_FP_MISS], 0, "IPv6 looked fp_flows up");
	return o.retval;
}

static void expect_steered(const uint8_t *f, size_t n, enum xlb_xdp_cnt why)
{
	uint64_t d[XLB_CNT_MAX];

	cr_assert_eq(run(f, n, d), XDP_DROP, "not steered");
	cr_expect_eq(d[XLB_CNT_REDIRECT_FAILED], 1, "not steered");
	cr_expect_eq(d[why], 1, "steered for another reason than %s",
		     xlb_cnt_names[why]);
	cr_expect_eq(d[XLB_CNT_IPV6], 1, "ipv6_packets not counted");
	cr_expect_eq(d[XLB_CNT_NOT_IPV4], 0);
}

/* Passed; why counted (XLB_CNT_PASSED: no reason counter moved). */
static void expect_passed(const uint8_t *f, size_t n, enum xlb_xdp_cnt why)
{
	static const enum xlb_xdp_cnt reasons[] = {
		XLB_CNT_BAD_L4, XLB_CNT_OWN_TRAFFIC, XLB_CNT_IPV6_FRAGMENT,
		XLB_CNT_IPV6_BAD_HDR, XLB_CNT_IPV6_EXT_PASSED, XLB_CNT_VLAN,
	};
	uint64_t d[XLB_CNT_MAX];
	size_t i;

	cr_assert_eq(run(f, n, d), XDP_PASS, "not passed");
	cr_expect_eq(d[XLB_CNT_PASSED], 1, "not passed");
	cr_expect_eq(d[XLB_CNT_REDIRECT_FAILED], 0, "steered");
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		cr_expect_eq(d[reasons[i]], reasons[i] == why,
			     "%s: %llu", xlb_cnt_names[reasons[i]],
			     (unsigned long long)d[reasons[i]]);
	if (why != XLB_CNT_VLAN) {
		cr_expect_eq(d[XLB_CNT_NOT_IPV4], 1, "not_ipv4 not counted");
		cr_expect_eq(d[XLB_CNT_IPV6], 1, "ipv6_packets not counted");
	}
}

/*
 * Ethernet + IPv6 src -> dst, with the extension headers ext (next headers
 * chained by the caller: first_nh is the fixed header's), then an L4
 * header of proto (TCP/UDP sport -> dport, or raw bytes l4 for anything
 * else). Returns the frame length.
 */
static size_t frame6(uint8_t *buf, const char *src, const char *dst,
		     uint8_t first_nh, const uint8_t *ext, size_t ext_len,
		     uint8_t proto, uint16_t sport, uint16_t dport,
		     const uint8_t *l4, size_t l4_len)
{
	static const char payload[] = "GET / HTTP/1.0\r\n\r\n";
	uint8_t s[16], d[16];
	size_t off = v6_eth(buf, false, 0x86dd), n;

	v6_addr(s, src);
	v6_addr(d, dst);
	if (ext_len)
		memcpy(buf + off + 40, ext, ext_len);
	if (l4)
		memcpy(buf + off + 40 + ext_len, l4, l4_len), n = l4_len;
	else
		n = v6_l4(buf + off + 40 + ext_len, proto, s, d, sport, dport,
			  payload, sizeof(payload) - 1);
	v6_hdr(buf + off, s, d, ext_len ? first_nh : proto, ext_len + n, 64);
	return off + 40 + ext_len + n;
}

static size_t tcp6(uint8_t *buf, const char *src, const char *dst,
		   uint16_t sport, uint16_t dport)
{
	return frame6(buf, src, dst, 0, NULL, 0, IPPROTO_TCP, sport, dport,
		      NULL, 0);
}

/* ---- a real AF_XDP socket in the map ---- */

struct test_xsk {
	void *area;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
};

#define UMEM_SIZE (4096 * XSK_RING_PROD__DEFAULT_NUM_DESCS * 2)

static void xsk_on_private_lo(struct test_xsk *t)
{
	struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	int err;

	memset(t, 0, sizeof(*t));	/* libxdp 1.3.1: zeroed rings */
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	t->area = mmap(NULL, UMEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(t->area, MAP_FAILED);
	err = xsk_umem__create(&t->umem, t->area, UMEM_SIZE, &t->fill,
			       &t->comp, NULL);
	cr_assert_eq(err, 0, "xsk_umem__create: %s", strerror(-err));
	err = xsk_socket__create(&t->xsk, "lo", 0, t->umem, &t->rx, &t->tx,
				 &cfg);
	cr_assert_eq(err, 0, "xsk_socket__create: %s", strerror(-err));
	err = xsk_socket__update_xskmap(t->xsk, xlb_xdp_xsks_map_fd(x));
	cr_assert_eq(err, 0, "xsk_socket__update_xskmap: %s", strerror(-err));
}

static void xsk_free(struct test_xsk *t)
{
	xsk_socket__delete(t->xsk);
	xsk_umem__delete(t->umem);
	munmap(t->area, UMEM_SIZE);
}

Test(bpf_steer6, tcp_to_an_ipv6_vip_is_redirected_to_the_socket_of_its_queue)
{
	struct test_xsk t;
	uint8_t f[2048];
	uint64_t d[XLB_CNT_MAX];
	size_t n;

	xsk_on_private_lo(&t);
	add_svc6(VIP, 80, IPPROTO_TCP);
	n = tcp6(f, CLIENT, VIP, 40000, 80);
	cr_expect_eq(run(f, n, d), XDP_REDIRECT);
	cr_expect_eq(d[XLB_CNT_REDIRECTED], 1);
	cr_expect_eq(d[XLB_CNT_SVC], 1);
	cr_expect_eq(d[XLB_CNT_IPV6], 1);
	xsk_free(&t);
}

Test(bpf_steer6, udp_to_an_ipv6_vip_is_redirected_to_the_socket_of_its_queue)
{
	struct test_xsk t;
	uint8_t f[2048];
	uint64_t d[XLB_CNT_MAX];
	size_t n;

	xsk_on_private_lo(&t);
	add_svc6(VIP, 53, IPPROTO_UDP);
	n = frame6(f, CLIENT, VIP, 0, NULL, 0, IPPROTO_UDP, 40000, 53, NULL, 0);
	cr_expect_eq(run(f, n, d), XDP_REDIRECT);
	cr_expect_eq(d[XLB_CNT_REDIRECTED], 1);
	cr_expect_eq(d[XLB_CNT_SVC], 1);
	xsk_free(&t);
}

Test(bpf_steer6, non_vip_ipv6_is_passed_even_with_a_socket_on_the_queue)
{
	struct test_xsk t;
	uint8_t f[2048];
	uint64_t d[XLB_CNT_MAX];
	size_t n;

	xsk_on_private_lo(&t);
	add_svc6(VIP, 80, IPPROTO_TCP);
	n = tcp6(f, CLIENT, VIP, 40000, 22);	/* the director's ssh */
	cr_expect_eq(run(f, n, d), XDP_PASS);
	n = tcp6(f, CLIENT, "fd00:1::101", 40000, 80);
	cr_expect_eq(run(f, n, d), XDP_PASS);
	cr_expect_eq(d[XLB_CNT_NOT_IPV4], 1);
	xsk_free(&t);
}

/* ---- the decision, read from the counters ---- */

Test(bpf_steer6, service_is_matched_on_address_port_and_protocol)
{
	uint8_t f[2048];
	size_t n;

	add_svc6(VIP, 80, IPPROTO_TCP);
	expect_steered(f, tcp6(f, CLIENT, VIP, 40000, 80), XLB_CNT_SVC);
	expect_passed(f, tcp6(f, CLIENT, VIP, 40000, 81), XLB_CNT_PASSED);
	expect_passed(f, tcp6(f, CLIENT, "fd00:1::1:100", 40000, 80),
		      XLB_CNT_PASSED);
	n = frame6(f, CLIENT, VIP, 0, NULL, 0, IPPROTO_UDP, 40000, 80, NULL, 0);
	expect_passed(f, n, XLB_CNT_PASSED);
}

Test(bpf_steer6, ipv4_and_ipv6_services_do_not_see_each_other)
{
	struct xlb_bpf_svc_key k4 = { .addr = htonl(0x0a000064), .port = htons(80),
				  .proto = IPPROTO_TCP };
	uint8_t f[2048];

	/* The IPv4 VIP 10.0.0.100 in the IPv4 map; IPv6 frames to the
	 * v4-mapped and the first-bytes address are not services. */
	cr_assert_eq(xlb_xdp_svc_set(x, &k4, true), 0);
	expect_passed(f, tcp6(f, CLIENT, "::ffff:10.0.0.100", 40000, 80),
		      XLB_CNT_PASSED);
	expect_passed(f, tcp6(f, CLIENT, "a00:64::", 40000, 80), XLB_CNT_PASSED);
}

Test(bpf_steer6, removed_service_is_passed_again)
{
	struct xlb_svc6_key k = { .port = htons(80), .proto = IPPROTO_TCP };
	uint8_t f[2048];
	size_t n = tcp6(f, CLIENT, VIP, 40000, 80);

	v6_addr(k.addr, VIP);
	cr_assert_eq(xlb_xdp_svc6_set(x, &k, true), 0);
	expect_steered(f, n, XLB_CNT_SVC);
	cr_assert_eq(xlb_xdp_svc6_set(x, &k, false), 0);
	expect_passed(f, n, XLB_CNT_PASSED);
	cr_assert_eq(xlb_xdp_svc6_set(x, &k, false), 0, "absent: not 0");
}

Test(bpf_steer6, ndp_router_advertisements_and_echo_to_the_vip_are_passed)
{
	static const uint8_t types[] = { 133, 134, 135, 136, 137, 128, 129, 143 };
	uint8_t f[2048], icmp[32], s[16], d[16];
	size_t i, n;

	add_svc6(VIP, 80, IPPROTO_TCP);
	add_svc6(VIP, 80, IPPROTO_UDP);
	v6_addr(s, CLIENT);
	v6_addr(d, VIP);
	for (i = 0; i < sizeof(types); i++) {
		memset(icmp, 0, sizeof(icmp));
		icmp[0] = types[i];
		memcpy(icmp + 8, d, 16);	/* NS/NA target: the VIP */
		v6_put16(icmp + 2, v6_l4_csum(s, d, V6_ICMP, icmp, 24));
		n = frame6(f, CLIENT, VIP, 0, NULL, 0, V6_ICMP, 0, 0, icmp, 24);
		expect_passed(f, n, XLB_CNT_PASSED);
	}
	/* An MLD report behind hop-by-hop (router alert): passed too. */
	{
		uint8_t ext[8];

		v6_ext(ext, V6_HOP, V6_ICMP, 0, 0);
		icmp[0] = 143;
		n = frame6(f, CLIENT, "ff02::16", V6_HOP, ext, 8, V6_ICMP, 0, 0,
			   icmp, 24);
		expect_passed(f, n, XLB_CNT_PASSED);
	}
}

Test(bpf_steer6, vlan_tagged_ipv6_is_passed_as_ipv4_is)
{
	uint8_t f[2048], g[2048];
	size_t n;

	add_svc6(VIP, 80, IPPROTO_TCP);
	n = tcp6(g, CLIENT, VIP, 40000, 80);
	v6_eth(f, true, 0x86dd);
	memcpy(f + 18, g + 14, n - 14);
	expect_passed(f, n + 4, XLB_CNT_VLAN);
}

/* Each extension header type, alone and all in a chain, is walked past to
 * the TCP header: steered, and counted as carrying extension headers. */
Test(bpf_steer6, each_extension_header_type_is_skipped)
{
	static const uint8_t kinds[] = { V6_HOP, V6_DSTOPTS, V6_ROUTING };
	uint8_t f[2048], ext[256];
	uint64_t d[XLB_CNT_MAX];
	size_t i, n, e;

	add_svc6(VIP, 80, IPPROTO_TCP);
	for (i = 0; i < sizeof(kinds); i++) {
		e = v6_ext(ext, kinds[i], IPPROTO_TCP, (uint8_t)i, 0);
		n = frame6(f, CLIENT, VIP, kinds[i], ext, e, IPPROTO_TCP,
			   40000, 80, NULL, 0);
		expect_steered(f, n, XLB_CNT_SVC);
		run(f, n, d);
		cr_expect_eq(d[XLB_CNT_IPV6_EXT], 1, "kind %u", kinds[i]);
	}
	/* hop-by-hop, destination options, routing, destination options. */
	e = v6_ext(ext, V6_HOP, V6_DSTOPTS, 0, 0);
	e += v6_ext(ext + e, V6_DSTOPTS, V6_ROUTING, 1, 0);
	e += v6_ext(ext + e, V6_ROUTING, V6_DSTOPTS, 2, 0);
	e += v6_ext(ext + e, V6_DSTOPTS, IPPROTO_TCP, 0, 0);
	n = frame6(f, CLIENT, VIP, V6_HOP, ext, e, IPPROTO_TCP, 40000, 80,
		   NULL, 0);
	expect_steered(f, n, XLB_CNT_SVC);
	/* No extension header: not counted as carrying any. */
	n = tcp6(f, CLIENT, VIP, 40000, 80);
	run(f, n, d);
	cr_expect_eq(d[XLB_CNT_IPV6_EXT], 0);
}

/* A chain of n destination-options headers before TCP. */
static size_t chain(uint8_t *f, unsigned int count)
{
	uint8_t ext[512];
	size_t e = 0;
	unsigned int i;

	for (i = 0; i < count; i++)
		e += v6_ext(ext + e, V6_DSTOPTS,
			    i + 1 == count ? IPPROTO_TCP : V6_DSTOPTS, 0, 0);
	return frame6(f, CLIENT, VIP, V6_DSTOPTS, ext, e, IPPROTO_TCP, 40000,
		      80, NULL, 0);
}

Test(bpf_steer6, up_to_the_limit_of_extension_headers_is_steered_one_more_passed)
{
	uint8_t f[2048];

	add_svc6(VIP, 80, IPPROTO_TCP);
	expect_steered(f, chain(f, XLB_IPV6_EXT_MAX), XLB_CNT_SVC);
	expect_passed(f, chain(f, XLB_IPV6_EXT_MAX + 1), XLB_CNT_IPV6_EXT_PASSED);
	expect_passed(f, chain(f, 20), XLB_CNT_IPV6_EXT_PASSED);
}

Test(bpf_steer6, extension_header_cut_short_is_passed_and_counted)
{
	uint8_t f[2048], ext[16];
	size_t n;

	add_svc6(VIP, 80, IPPROTO_TCP);
	/* A destination-options header claiming 88 bytes in a 16-byte
	 * payload: the next header would lie past the frame. */
	v6_ext(ext, V6_DSTOPTS, IPPROTO_TCP, 0, 0);
	ext[1] = 10;
	n = frame6(f, CLIENT, VIP, V6_DSTOPTS, ext, 8, IPPROTO_TCP, 0, 0, ext, 8);
	expect_passed(f, n, XLB_CNT_IPV6_EXT_PASSED);
	/* The frame ends inside the extension header's first bytes. */
	n = frame6(f, CLIENT, VIP, V6_HOP, ext, 2, IPPROTO_TCP, 0, 0, ext, 0);
	expect_passed(f, n, XLB_CNT_IPV6_EXT_PASSED);
}

Test(bpf_steer6, routing_header_with_segments_left_is_passed)
{
	uint8_t f[2048], ext[64];
	size_t n, e;

	add_svc6(VIP, 80, IPPROTO_TCP);
	e = v6_ext(ext, V6_ROUTING, IPPROTO_TCP, 2, 1);
	n = frame6(f, CLIENT, VIP, V6_ROUTING, ext, e, IPPROTO_TCP, 40000, 80,
		   NULL, 0);
	expect_passed(f, n, XLB_CNT_IPV6_EXT_PASSED);
}

Test(bpf_steer6, fragments_first_or_not_are_passed_and_counted)
{
	uint8_t f[2048], ext[64];
	size_t n, e;

	add_svc6(VIP, 80, IPPROTO_TCP);
	/* First fragment, ports and all. */
	e = v6_frag(ext, IPPROTO_TCP, 0, true);
	n = frame6(f, CLIENT, VIP, V6_FRAGMENT, ext, e, IPPROTO_TCP, 40000, 80,
		   NULL, 0);
	expect_passed(f, n, XLB_CNT_IPV6_FRAGMENT);
	/* A later one. */
	e = v6_frag(ext, IPPROTO_TCP, 185, false);
	n = frame6(f, CLIENT, VIP, V6_FRAGMENT, ext, e, IPPROTO_TCP, 40000, 80,
		   NULL, 0);
	expect_passed(f, n, XLB_CNT_IPV6_FRAGMENT);
	/* Behind a hop-by-hop header. */
	e = v6_ext(ext, V6_HOP, V6_FRAGMENT, 0, 0);
	e += v6_frag(ext + e, IPPROTO_TCP, 0, true);
	n = frame6(f, CLIENT, VIP, V6_HOP, ext, e, IPPROTO_TCP, 40000, 80,
		   NULL, 0);
	expect_passed(f, n, XLB_CNT_IPV6_FRAGMENT);
}

Test(bpf_steer6, bad_fixed_header_is_passed_and_counted)
{
	uint8_t f[2048];
	size_t n;

	add_svc6(VIP, 80, IPPROTO_TCP);
	n = tcp6(f, CLIENT, VIP, 40000, 80);
	/* Cut inside the fixed header. */
	expect_passed(f, 14 + 39, XLB_CNT_IPV6_BAD_HDR);
	/* Version 4 under EtherType 0x86dd. */
	f[14] = 0x40;
	expect_passed(f, n, XLB_CNT_IPV6_BAD_HDR);
	f[14] = 0x60;
	/* Payload length one past the frame; 0 (jumbogram). */
	v6_put16(f + 18, (uint16_t)(n - 54 + 1));
	expect_passed(f, n, XLB_CNT_IPV6_BAD_HDR);
	v6_put16(f + 18, 0);
	expect_passed(f, n, XLB_CNT_IPV6_BAD_HDR);
	/* Ethernet padding after the payload is fine. */
	v6_put16(f + 18, (uint16_t)(n - 54));
	memset(f + n, 0, 6);
	expect_steered(f, n + 6, XLB_CNT_SVC);
}

Test(bpf_steer6, truncated_transport_header_is_passed_as_malformed)
{
	uint8_t f[2048];
	size_t n;

	add_svc6(VIP, 80, IPPROTO_TCP);
	n = tcp6(f, CLIENT, VIP, 40000, 80);
	/* 19 bytes of TCP header, payload length to match. */
	v6_put16(f + 18, 19);
	expect_passed(f, 54 + 19, XLB_CNT_BAD_L4);
	(void)n;
}

Test(bpf_steer6, nat66_reply_is_steered_unless_addressed_to_the_director)
{
	uint8_t f[2048];

	add_rs6(RIP, 8080, IPPROTO_TCP);
	add_rs6(RIP, 53, IPPROTO_UDP);
	add_local6(DIR);
	expect_steered(f, tcp6(f, RIP, CLIENT, 8080, 40000), XLB_CNT_NAT_REPLY);
	expect_steered(f, frame6(f, RIP, CLIENT, 0, NULL, 0, IPPROTO_UDP, 53,
				 40000, NULL, 0), XLB_CNT_NAT_REPLY);
	/* The director's own health check of the server. */
	expect_passed(f, tcp6(f, RIP, DIR, 8080, 40000), XLB_CNT_OWN_TRAFFIC);
	/* Another port of the server. */
	expect_passed(f, tcp6(f, RIP, CLIENT, 22, 40000), XLB_CNT_PASSED);
}

/* An ICMPv6 error (type, code) from src to dst quoting the packet qsrc:
 * qsport -> qdst:qdport (TCP). */
static size_t icmp6_err(uint8_t *f, const char *src, const char *dst,
			uint8_t type, const char *qsrc, uint16_t qsport,
			const char *qdst, uint16_t qdport, size_t cut)
{
	uint8_t msg[1280], s[16], d[16], qs[16], qd[16];
	size_t q;

	v6_addr(s, src);
	v6_addr(d, dst);
	v6_addr(qs, qsrc);
	v6_addr(qd, qdst);
	memset(msg, 0, 8);
	msg[0] = type;
	if (type == 2)
		v6_put16(msg + 6, 1280);	/* packet too big: MTU */
	q = v6_l4(msg + 48, IPPROTO_TCP, qs, qd, qsport, qdport, "x", 1);
	v6_hdr(msg + 8, qs, qd, IPPROTO_TCP, q, 1);
	q += 48;
	if (cut)
		q = cut;
	v6_put16(msg + 2, v6_l4_csum(s, d, V6_ICMP, msg, q));
	return frame6(f, src, dst, 0, NULL, 0, V6_ICMP, 0, 0, msg, q);
}

Test(bpf_steer6, icmpv6_error_about_a_vip_flow_is_steered)
{
	static const uint8_t errs[] = { 1, 2, 3, 4 };
	uint8_t f[2048];
	size_t i;

	add_svc6(VIP, 80, IPPROTO_TCP);
	/* A router on the way back to the client: the reply VIP:80 ->
	 * client did not fit / could not be delivered. */
	for (i = 0; i < sizeof(errs); i++)
		expect_steered(f, icmp6_err(f, "fd00:9::1", VIP, errs[i], VIP, 80,
					    CLIENT, 40000, 0), XLB_CNT_ICMP_ERR);
	/* About another flow of the VIP's address: not ours. */
	expect_passed(f, icmp6_err(f, "fd00:9::1", VIP, 2, VIP, 22, CLIENT,
				   40000, 0), XLB_CNT_PASSED);
	/* Other ICMPv6 error types (e.g. 100, private experimentation). */
	expect_passed(f, icmp6_err(f, "fd00:9::1", VIP, 100, VIP, 80, CLIENT,
				   40000, 0), XLB_CNT_PASSED);
}

Test(bpf_steer6, icmpv6_error_about_a_packet_to_a_nat_server_is_steered)
{
	uint8_t f[2048];

	add_rs6(RIP, 8080, IPPROTO_TCP);
	add_local6(DIR);
	/* Our translated packet client -> RIP:8080 errored on the way;
	 * the error goes to the client's address. */
	expect_steered(f, icmp6_err(f, "fd00:2::fe", CLIENT, 1, CLIENT, 40000,
				    RIP, 8080, 0), XLB_CNT_ICMP_ERR);
	/* About the director's own packet to the server. */
	expect_passed(f, icmp6_err(f, "fd00:2::fe", DIR, 1, DIR, 40000, RIP,
				   8080, 0), XLB_CNT_OWN_TRAFFIC);
}

Test(bpf_steer6, icmpv6_error_with_a_short_quote_is_passed_as_malformed)
{
	uint8_t f[2048];

	add_svc6(VIP, 80, IPPROTO_TCP);
	/* 8 + 40 + 3: the quote ends inside the ports. */
	expect_passed(f, icmp6_err(f, "fd00:9::1", VIP, 2, VIP, 80, CLIENT,
				   40000, 8 + 40 + 3), XLB_CNT_BAD_L4);
	/* 8 + 20: not even the quoted IPv6 header. */
	expect_passed(f, icmp6_err(f, "fd00:9::1", VIP, 2, VIP, 80, CLIENT,
				   40000, 8 + 20), XLB_CNT_BAD_L4);
	/* Whole quote: steered. */
	expect_steered(f, icmp6_err(f, "fd00:9::1", VIP, 2, VIP, 80, CLIENT,
				    40000, 8 + 40 + 4), XLB_CNT_ICMP_ERR);
}

/* ---- the loaders ---- */

Test(bpf_steer6, family_setters_reach_the_map_of_their_family)
{
	union xlb_inaddr a = { 0 };
	uint8_t f[2048];

	v6_addr(a.b, VIP);
	cr_assert_eq(xlb_xdp_svc_set_af(x, AF_INET6, &a, htons(80),
					IPPROTO_TCP, true), 0);
	expect_steered(f, tcp6(f, CLIENT, VIP, 40000, 80), XLB_CNT_SVC);
	v6_addr(a.b, RIP);
	cr_assert_eq(xlb_xdp_nat_rs_set_af(x, AF_INET6, &a, htons(8080),
					   IPPROTO_TCP, true), 0);
	expect_steered(f, tcp6(f, RIP, CLIENT, 8080, 40000), XLB_CNT_NAT_REPLY);
	v6_addr(a.b, CLIENT);
	cr_assert_eq(xlb_xdp_local_set_af(x, AF_INET6, &a, true), 0);
	expect_passed(f, tcp6(f, RIP, CLIENT, 8080, 40000), XLB_CNT_OWN_TRAFFIC);
	cr_assert_eq(xlb_xdp_local_set_af(x, AF_INET6, &a, false), 0);
	expect_steered(f, tcp6(f, RIP, CLIENT, 8080, 40000), XLB_CNT_NAT_REPLY);

	a = xlb_inaddr_v4(htonl(0x0a000064));
	cr_assert_eq(xlb_xdp_svc_set_af(x, AF_INET, &a, htons(80),
					IPPROTO_TCP, true), 0);
	{
		struct xlb_bpf_svc_key k = { .addr = a.ip, .port = htons(80),
					 .proto = IPPROTO_TCP };
		uint32_t v;

		cr_assert_eq(bpf_map_lookup_elem(xlb_xdp_services_fd(x), &k, &v), 0,
			     "the IPv4 setter did not reach services");
	}
	cr_assert_eq(xlb_xdp_svc_set_af(x, AF_PACKET, &a, 0, 6, true),
		     -EAFNOSUPPORT);
}

static size_t map_count(int fd, size_t keylen)
{
	uint8_t k[64], prev[64];
	size_t n = 0;

	while (bpf_map_get_next_key(fd, n ? prev : NULL, k) == 0) {
		memcpy(prev, k, keylen);
		n++;
	}
	return n;
}

Test(bpf_steer6, sync6_makes_the_maps_hold_exactly_the_keys)
{
	struct xlb_svc6_key s[3] = { 0 };
	struct xlb_rs6_key r[2] = { 0 };
	uint8_t f[2048];
	uint32_t max;

	v6_addr(s[0].addr, VIP);
	s[0].port = htons(80);
	s[0].proto = IPPROTO_TCP;
	s[1] = s[0];
	s[1].pad = 9;			/* a duplicate, pad ignored */
	s[2] = s[0];
	s[2].proto = IPPROTO_UDP;
	v6_addr(r[0].addr, RIP);
	r[0].port = htons(8080);
	r[0].proto = IPPROTO_TCP;
	r[1] = r[0];
	r[1].port = htons(8081);
	cr_assert_eq(xlb_xdp_sync6(x, s, 3, r, 2), 0, "%s", xlb_xdp_errmsg());
	cr_expect_eq(map_count(xlb_xdp_services6_fd(x), 20), 2);
	cr_expect_eq(map_count(xlb_xdp_nat_rs6_fd(x), 20), 2);
	expect_steered(f, tcp6(f, CLIENT, VIP, 40000, 80), XLB_CNT_SVC);
	expect_steered(f, tcp6(f, RIP, CLIENT, 8081, 40000), XLB_CNT_NAT_REPLY);

	/* Now only the UDP service and the second server. */
	cr_assert_eq(xlb_xdp_sync6(x, &s[2], 1, &r[1], 1), 0, "%s",
		     xlb_xdp_errmsg());
	cr_expect_eq(map_count(xlb_xdp_services6_fd(x), 20), 1);
	cr_expect_eq(map_count(xlb_xdp_nat_rs6_fd(x), 20), 1);
	expect_passed(f, tcp6(f, CLIENT, VIP, 40000, 80), XLB_CNT_PASSED);
	expect_passed(f, tcp6(f, RIP, CLIENT, 8080, 40000), XLB_CNT_PASSED);
	expect_steered(f, tcp6(f, RIP, CLIENT, 8081, 40000), XLB_CNT_NAT_REPLY);

	/* Too many: refused, nothing changed. */
	cr_assert_eq(xlb_xdp_capacity6(x, &max, NULL), 0);
	{
		struct xlb_svc6_key *many = calloc(max + 1, sizeof(*many));
		uint32_t i;

		cr_assert_not_null(many);
		for (i = 0; i <= max; i++) {
			many[i] = s[0];
			many[i].port = htons((uint16_t)(i + 1));
		}
		cr_expect_eq(xlb_xdp_sync6(x, many, max + 1, NULL, 0), -ENOSPC);
		cr_expect(strstr(xlb_xdp_errmsg(), "services6"), "%s",
			  xlb_xdp_errmsg());
		free(many);
	}
	cr_expect_eq(map_count(xlb_xdp_services6_fd(x), 20), 1);
	cr_expect_eq(map_count(xlb_xdp_nat_rs6_fd(x), 20), 1);
	cr_assert_eq(xlb_xdp_sync6(x, NULL, 0, NULL, 0), 0);
	cr_expect_eq(map_count(xlb_xdp_services6_fd(x), 20), 0);
}

Test(bpf_steer6, ipv4_path_is_unchanged_beside_ipv6_services)
{
	struct xlb_bpf_svc_key k4 = { .addr = htonl(0x0a000064), .port = htons(80),
				  .proto = IPPROTO_TCP };
	struct fr_spec sp = fr_default(IPPROTO_TCP);
	uint8_t f[2048];
	uint64_t d[XLB_CNT_MAX];
	size_t n;

	add_svc6(VIP, 80, IPPROTO_TCP);
	cr_assert_eq(xlb_xdp_svc_set(x, &k4, true), 0);
	n = fr_build(f, sizeof(f), &sp);	/* 10.0.0.1 -> 10.0.0.100:80 */
	cr_assert_eq(run(f, n, d), XDP_DROP);
	cr_expect_eq(d[XLB_CNT_SVC], 1);
	cr_expect_eq(d[XLB_CNT_IPV6], 0, "an IPv4 packet counted as IPv6");
}

Test(bpf_steer6, sync_all_applies_both_families_or_neither)
{
	struct xlb_bpf_svc_key s4 = { .addr = htonl(0x0a000064), .port = htons(80),
				  .proto = IPPROTO_TCP };
	struct xlb_bpf_svc_key s4b = s4;
	struct xlb_svc6_key s6 = { .port = htons(80), .proto = IPPROTO_TCP };
	struct xlb_svc6_key *many;
	struct fr_spec sp = fr_default(IPPROTO_TCP);
	uint8_t f[2048];
	uint32_t max, i;
	size_t n4;

	v6_addr(s6.addr, VIP);
	cr_assert_eq(xlb_xdp_sync_all(x, &s4, 1, NULL, 0, &s6, 1, NULL, 0), 0,
		     "%s", xlb_xdp_errmsg());
	n4 = fr_build(f, sizeof(f), &sp);	/* 10.0.0.1 -> 10.0.0.100:80 */
	{
		uint64_t d[XLB_CNT_MAX];

		cr_expect_eq(run(f, n4, d), XDP_DROP);
		cr_expect_eq(d[XLB_CNT_SVC], 1, "the IPv4 service not steered");
	}
	expect_steered(f, tcp6(f, CLIENT, VIP, 40000, 80), XLB_CNT_SVC);
	cr_expect_eq(map_count(xlb_xdp_services_fd(x), 8), 1);

	/* An IPv6 set the map cannot hold: -ENOSPC, and the new IPv4
	 * service is not added either. */
	cr_assert_eq(xlb_xdp_capacity6(x, &max, NULL), 0);
	many = calloc(max + 1, sizeof(*many));
	cr_assert_not_null(many);
	for (i = 0; i <= max; i++) {
		many[i] = s6;
		many[i].port = htons((uint16_t)(i + 1));
	}
	s4b.port = htons(443);
	{
		struct xlb_bpf_svc_key two[2] = { s4, s4b };

		cr_expect_eq(xlb_xdp_sync_all(x, two, 2, NULL, 0, many, max + 1,
					      NULL, 0), -ENOSPC);
	}
	free(many);
	cr_expect(strstr(xlb_xdp_errmsg(), "services6"), "%s", xlb_xdp_errmsg());
	cr_expect_eq(map_count(xlb_xdp_services_fd(x), 8), 1,
		     "the IPv4 map changed");
	cr_expect_eq(map_count(xlb_xdp_services6_fd(x), 20), 1);
}

/* A fixed pseudo-random sequence (the same frames on every run). */
static uint32_t rnd(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) & 0x7fff;
}

/* The walk of bpf/xlb_ip6.h, compiled for userspace here, and the program
 * agree on 400 pseudo-random chains (types, lengths, segments left, cut
 * points): L4 -> steered, fragment -> ipv6_fragments_passed, bad or routed
 * -> ipv6_ext_headers_passed. What lb/pkt.c will accept (when it calls the
 * same walk) is then exactly what XDP steers. */
Test(bpf_steer6, walk_matches_the_program)
{
	static const uint8_t kinds[] = { V6_HOP, V6_ROUTING, V6_DSTOPTS,
					 V6_FRAGMENT, IPPROTO_TCP };
	uint32_t seed = 12345, off;
	uint8_t f[2048], ext[1024], nh;
	uint64_t d[XLB_CNT_MAX];
	int round, i, n_ext, want;
	size_t e, n, cut;
	unsigned int seen[XLB_CNT_MAX] = { 0 };

	add_svc6(VIP, 80, IPPROTO_TCP);
	for (round = 0; round < 400; round++) {
		uint8_t first = kinds[rnd(&seed) % 3], cur = first, next;
		int count = (int)(rnd(&seed) % 11);

		e = 0;
		for (i = 0; i < count && cur != V6_FRAGMENT; i++) {
			next = i + 1 == count ? IPPROTO_TCP : kinds[rnd(&seed) % 5];
			if (next == IPPROTO_TCP && i + 1 < count)
				next = V6_DSTOPTS;
			e += v6_ext(ext + e, cur, next, (uint8_t)(rnd(&seed) % 3),
				    rnd(&seed) % 8 == 0);
			cur = next;
		}
		if (cur == V6_FRAGMENT)
			e += v6_frag(ext + e, IPPROTO_TCP, 0, true);
		if (!e)
			e = v6_ext(ext, first, IPPROTO_TCP, 0, 0);
		n = frame6(f, CLIENT, VIP, first, ext, e, IPPROTO_TCP, 40000, 80,
			   NULL, 0);
		/* Sometimes cut the frame (the payload length with it). */
		cut = n;
		if (rnd(&seed) % 4 == 0)
			cut = 54 + rnd(&seed) % (n - 54);
		v6_put16(f + 18, (uint16_t)(cut - 54));

		off = 54;
		nh = first;
		switch (xlb_ip6_skip_ext(f, f + cut, &off, &nh, &n_ext)) {
		case XLB_IP6_L4:
			want = off + 20 <= cut ? XLB_CNT_SVC : XLB_CNT_BAD_L4;
			break;
		case XLB_IP6_FRAG:
			want = XLB_CNT_IPV6_FRAGMENT;
			break;
		default:
			want = XLB_CNT_IPV6_EXT_PASSED;
			break;
		}
		if (cut - 54 == 0)
			want = XLB_CNT_IPV6_BAD_HDR;	/* payload length 0 */
		run(f, cut, d);
		cr_assert_eq(d[want], 1, "round %d (%zu of %zu bytes): %s not "
			     "counted", round, cut, n, xlb_cnt_names[want]);
		seen[want]++;
	}
	/* Every outcome came up often enough to mean something. */
	cr_log_info("steered %u, fragments %u, ext passed %u, bad l4 %u, "
		    "bad hdr %u", seen[XLB_CNT_SVC], seen[XLB_CNT_IPV6_FRAGMENT],
		    seen[XLB_CNT_IPV6_EXT_PASSED], seen[XLB_CNT_BAD_L4],
		    seen[XLB_CNT_IPV6_BAD_HDR]);
	cr_expect_geq(seen[XLB_CNT_SVC], 20);
	cr_expect_geq(seen[XLB_CNT_IPV6_FRAGMENT], 20);
	cr_expect_geq(seen[XLB_CNT_IPV6_EXT_PASSED], 20);
	cr_expect_geq(seen[XLB_CNT_BAD_L4], 5);
}
