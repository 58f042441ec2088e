// SPDX-License-Identifier: GPL-2.0
/*
 * The steering XDP program, run by the kernel on crafted frames with
 * BPF_PROG_TEST_RUN, loaded and fed through lb/xdp.c (unattached).
 *
 * How the steering decision is observed: bpf_redirect_map() on an XSKMAP
 * returns XDP_REDIRECT only if an AF_XDP socket sits at the RX queue's
 * slot, else its XDP_DROP fallback. So:
 *  - the "is redirected" tests put a real AF_XDP socket (copy mode, on the
 *    loopback of a private network namespace, where test runs are
 *    delivered) into xsks_map, exactly as lb/xsk.c does with
 *    xsk_socket__update_xskmap(), and expect XDP_REDIRECT;
 *  - the other tests run without a socket and read the decision from the
 *    program's counters: a steered packet counts REDIRECT_FAILED plus its
 *    reason (SVC, NAT_REPLY, ICMP_ERR), a passed one counts PASSED.
 * Needs root (CAP_BPF, CAP_NET_ADMIN); skipped loudly otherwise.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <net/if.h>
#include <stdio.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>

#include <criterion/criterion.h>
#include <bpf/bpf.h>
#include <xdp/xsk.h>

#include "xdp.h"
#include "xlb_decap.skel.h"
#include "frames.h"

static struct xlb_xdp *x;

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (CAP_BPF)");
}

static void setup(void)
{
	int err;

	need_root();
	err = xlb_xdp_open(&x, XLB_XDP_NATIVE);
	cr_assert_eq(err, 0, "xlb_xdp_open: %d %s", err, xlb_xdp_errmsg());
}

static void teardown(void)
{
	xlb_xdp_close(x);
	x = NULL;
}

TestSuite(bpf_steer, .init = setup, .fini = teardown);

static struct xlb_bpf_svc_key svc(const char *vip, uint16_t port, uint8_t proto)
{
	struct xlb_bpf_svc_key k = {
		.addr = fr_ip(vip), .port = htons(port), .proto = proto,
	};
	return k;
}

static void add_svc(const char *vip, uint16_t port, uint8_t proto)
{
	struct xlb_bpf_svc_key k = svc(vip, port, proto);

	cr_assert_eq(xlb_xdp_svc_set(x, &k, true), 0, "%s", xlb_xdp_errmsg());
}

static void add_nat_rs(const char *rip, uint16_t port, uint8_t proto)
{
	struct xlb_rs_key k = {
		.addr = fr_ip(rip), .port = htons(port), .proto = proto,
	};

	cr_assert_eq(xlb_xdp_nat_rs_set(x, &k, true), 0, "%s",
		     xlb_xdp_errmsg());
}

/* Runs the program once on frame; returns the XDP action and leaves the
 * counter deltas in d. */
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
	/* The program never rewrites a packet. */
	cr_assert_eq(o.data_size_out, len);
	cr_assert_arr_eq(out, frame, len, "the program changed the packet");
	/* Exactly one outcome per packet (the fast path's are off here). */
	cr_assert_eq(d[XLB_CNT_PASSED] + d[XLB_CNT_REDIRECTED] +
		     d[XLB_CNT_REDIRECT_FAILED] + d[XLB_CNT_FP_TX] +
		     d[XLB_CNT_FP_REDIRECTED] + d[XLB_CNT_FP_DROPPED], 1);
	cr_assert_eq(d[XLB_CNT_FP_MISS], 0, "fast path on by default");
	return o.retval;
}

/* Steered, with no AF_XDP socket on the queue: fallback XDP_DROP (the
 * client retransmits to a restarted xlbd instead of being reset by the
 * director's kernel), counted as redirect_failed plus the reason. */
static void expect_steered(const uint8_t *f, size_t n, enum xlb_xdp_cnt why)
{
	uint64_t d[XLB_CNT_MAX];

	cr_assert_eq(run(f, n, d), XDP_DROP);
	cr_expect_eq(d[XLB_CNT_REDIRECT_FAILED], 1, "not steered");
	cr_expect_eq(d[why], 1, "steered for another reason than %s",
		     xlb_cnt_names[why]);
}

static void expect_passed(const uint8_t *f, size_t n, enum xlb_xdp_cnt why)
{
	uint64_t d[XLB_CNT_MAX];

	cr_assert_eq(run(f, n, d), XDP_PASS);
	cr_expect_eq(d[XLB_CNT_PASSED], 1, "not passed");
	cr_expect_eq(d[XLB_CNT_REDIRECT_FAILED], 0, "steered");
	if (why != XLB_CNT_PASSED)
		cr_expect_eq(d[why], 1, "%s not counted", xlb_cnt_names[why]);
}

static size_t tcp_to(uint8_t *buf, const char *daddr, uint16_t dport)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);

	s.daddr = fr_ip(daddr);
	s.dport = dport;
	return fr_build(buf, 2048, &s);
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

/* A copy-mode socket on queue 0 of lo in a private network namespace (the
 * test runs in its own process, so the namespace is this test's only). */
static void xsk_on_private_lo(struct test_xsk *t)
{
	struct xsk_socket_config cfg = {
		.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS,
		.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	int err;

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

Test(bpf_steer, service_packet_is_redirected_to_the_socket_of_its_queue)
{
	struct test_xsk t;
	uint8_t f[2048];
	uint64_t d[XLB_CNT_MAX];
	size_t n;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	xsk_on_private_lo(&t);
	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	n = tcp_to(f, "10.0.0.100", 80);

	cr_expect_eq(run(f, n, d), XDP_REDIRECT);
	cr_expect_eq(d[XLB_CNT_REDIRECTED], 1);
	cr_expect_eq(d[XLB_CNT_SVC], 1);
	xsk_free(&t);
}

Test(bpf_steer, non_service_packet_is_passed_even_with_a_socket_on_the_queue)
{
	struct test_xsk t;
	uint8_t f[2048];
	uint64_t d[XLB_CNT_MAX];
	size_t n;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	xsk_on_private_lo(&t);
	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	n = tcp_to(f, "10.0.0.100", 22);	/* the director's own ssh */

	cr_expect_eq(run(f, n, d), XDP_PASS);
	cr_expect_eq(d[XLB_CNT_PASSED], 1);
	xsk_free(&t);
}

/* ---- the decision, read from the counters ---- */

Test(bpf_steer, service_packet_without_a_socket_falls_back_to_the_kernel)
{
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	n = tcp_to(f, "10.0.0.100", 80);
	expect_steered(f, n, XLB_CNT_SVC);
}

Test(bpf_steer, udp_to_a_udp_service_is_steered)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 53, IPPROTO_UDP);
	s.dport = 53;
	n = fr_build(f, sizeof(f), &s);
	expect_steered(f, n, XLB_CNT_SVC);
}

Test(bpf_steer, other_port_of_a_vip_is_passed)
{
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	n = tcp_to(f, "10.0.0.100", 443);
	expect_passed(f, n, XLB_CNT_PASSED);
}

Test(bpf_steer, udp_to_a_tcp_service_port_is_passed)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	s.dport = 80;
	n = fr_build(f, sizeof(f), &s);
	expect_passed(f, n, XLB_CNT_PASSED);
}

Test(bpf_steer, removed_service_is_passed)
{
	struct xlb_bpf_svc_key k = svc("10.0.0.100", 80, IPPROTO_TCP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	cr_assert_eq(xlb_xdp_svc_set(x, &k, false), 0);
	n = tcp_to(f, "10.0.0.100", 80);
	expect_passed(f, n, XLB_CNT_PASSED);
}

Test(bpf_steer, sync_keeps_listed_services_and_drops_stale_ones)
{
	struct xlb_bpf_svc_key keep = svc("10.0.0.100", 80, IPPROTO_TCP);
	struct xlb_rs_key rs = {
		.addr = fr_ip("192.168.1.10"), .port = htons(8080),
		.proto = IPPROTO_TCP,
	};
	struct fr_spec s = fr_default(IPPROTO_TCP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	add_svc("10.0.0.100", 443, IPPROTO_TCP);
	add_nat_rs("192.168.1.20", 8080, IPPROTO_TCP);
	cr_assert_eq(xlb_xdp_sync(x, &keep, 1, &rs, 1), 0, "%s",
		     xlb_xdp_errmsg());

	n = tcp_to(f, "10.0.0.100", 80);
	expect_steered(f, n, XLB_CNT_SVC);
	n = tcp_to(f, "10.0.0.100", 443);
	expect_passed(f, n, XLB_CNT_PASSED);

	s.saddr = fr_ip("192.168.1.10");
	s.sport = 8080;
	s.daddr = fr_ip("10.0.0.1");
	n = fr_build(f, sizeof(f), &s);
	expect_steered(f, n, XLB_CNT_NAT_REPLY);
	s.saddr = fr_ip("192.168.1.20");
	n = fr_build(f, sizeof(f), &s);
	expect_passed(f, n, XLB_CNT_PASSED);
}

/* xlb's next hops know nothing of VLANs: a tagged frame is the kernel's
 * (its VLAN device), even to a service, so it never leaves its L2 domain
 * through xlb. The same frame untagged is steered. */
Test(bpf_steer, service_packet_with_a_vlan_tag_is_passed_to_the_kernel)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	s.vlan = true;
	s.vlan_tci = 42;
	n = fr_build(f, sizeof(f), &s);
	expect_passed(f, n, XLB_CNT_VLAN);
	s.vlan = false;
	n = fr_build(f, sizeof(f), &s);
	expect_steered(f, n, XLB_CNT_SVC);
}

Test(bpf_steer, arp_is_passed)
{
	static const uint8_t arp[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2,
		0x08, 0x06,
		0, 1, 0x08, 0, 6, 4, 0, 1,		/* request */
		2, 0, 0, 0, 0, 2, 10, 0, 0, 1,		/* sender */
		0, 0, 0, 0, 0, 0, 10, 0, 0, 100,	/* target: the VIP */
	};

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	expect_passed(arp, sizeof(arp), XLB_CNT_NOT_IPV4);
}

Test(bpf_steer, ipv6_is_passed)
{
	uint8_t f[54] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd,
			  0x60 };

	expect_passed(f, sizeof(f), XLB_CNT_NOT_IPV4);
}

Test(bpf_steer, truncated_vlan_header_is_counted_malformed_and_passed)
{
	uint8_t f[16] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00,
			  0, 42 };

	expect_passed(f, sizeof(f), XLB_CNT_BAD_ETH);
}

Test(bpf_steer, truncated_ip_header_is_counted_malformed_and_passed)
{
	uint8_t f[2048];
	size_t n = tcp_to(f, "10.0.0.100", 80);

	(void)n;
	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	expect_passed(f, 14 + 12, XLB_CNT_BAD_IP);
}

Test(bpf_steer, ihl_below_five_is_counted_malformed_and_passed)
{
	uint8_t f[2048];
	size_t n = tcp_to(f, "10.0.0.100", 80);

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	f[14] = 0x44;
	expect_passed(f, n, XLB_CNT_BAD_IHL);
}

Test(bpf_steer, ip_options_cut_short_are_counted_malformed_and_passed)
{
	uint8_t f[2048];

	tcp_to(f, "10.0.0.100", 80);
	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	f[14] = 0x4f;			/* 60-byte header ... */
	f[16] = 0;
	f[17] = 80;			/* (a consistent total length) */
	expect_passed(f, 14 + 40, XLB_CNT_BAD_IP);	/* ... in 40 bytes */
}

Test(bpf_steer, truncated_tcp_header_is_counted_malformed_and_passed)
{
	uint8_t f[2048];

	tcp_to(f, "10.0.0.100", 80);
	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	expect_passed(f, 14 + 20 + 10, XLB_CNT_BAD_L4);
}

Test(bpf_steer, non_first_fragment_is_passed_and_counted)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_UDP);
	s.frag = 185;			/* offset 1480 bytes, last fragment */
	n = fr_build(f, sizeof(f), &s);
	expect_passed(f, n, XLB_CNT_FRAGMENT);
}

Test(bpf_steer, first_fragment_of_a_service_packet_is_steered)
{
	struct fr_spec s = fr_default(IPPROTO_UDP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_UDP);
	s.frag = 0x2000;		/* MF, offset 0: ports present */
	n = fr_build(f, sizeof(f), &s);
	expect_steered(f, n, XLB_CNT_SVC);
}

Test(bpf_steer, service_packet_with_ip_options_is_steered_and_counted)
{
	static const uint8_t opts[8] = { 0x01, 0x01, 0x01, 0x01,
					 0x01, 0x01, 0x01, 0x00 };
	struct fr_spec s = fr_default(IPPROTO_TCP);
	uint64_t d[XLB_CNT_MAX];
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	s.ip_opts = opts;
	s.ip_opts_len = sizeof(opts);
	n = fr_build(f, sizeof(f), &s);
	cr_assert_eq(run(f, n, d), XDP_DROP);
	cr_expect_eq(d[XLB_CNT_SVC], 1);
	cr_expect_eq(d[XLB_CNT_REDIRECT_FAILED], 1);
	cr_expect_eq(d[XLB_CNT_IP_OPTIONS], 1);
}

Test(bpf_steer, reply_from_a_nat_real_server_is_steered)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	uint8_t f[2048];
	size_t n;

	add_nat_rs("192.168.1.10", 8080, IPPROTO_TCP);
	s.saddr = fr_ip("192.168.1.10");
	s.sport = 8080;
	s.daddr = fr_ip("10.0.0.1");
	s.dport = 40000;
	n = fr_build(f, sizeof(f), &s);
	expect_steered(f, n, XLB_CNT_NAT_REPLY);
}

Test(bpf_steer, other_port_of_a_nat_real_server_is_passed)
{
	struct fr_spec s = fr_default(IPPROTO_TCP);
	uint8_t f[2048];
	size_t n;

	add_nat_rs("192.168.1.10", 8080, IPPROTO_TCP);
	s.saddr = fr_ip("192.168.1.10");
	s.sport = 22;
	n = fr_build(f, sizeof(f), &s);
	expect_passed(f, n, XLB_CNT_PASSED);
}

Test(bpf_steer, echo_request_to_a_vip_is_left_to_the_kernel)
{
	struct fr_spec s = fr_default(IPPROTO_ICMP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	s.icmp_type = 8;
	s.icmp_rest = 0x00010001;
	n = fr_build(f, sizeof(f), &s);
	expect_passed(f, n, XLB_CNT_PASSED);
}

/* An ICMP error from a router (172.16.0.1) quoting the datagram q. */
static size_t icmp_error_about(uint8_t *buf, uint8_t type, uint8_t code,
			       const struct fr_spec *q, size_t quote_len)
{
	struct fr_spec s = fr_default(IPPROTO_ICMP);
	uint8_t inner[256];
	size_t n = fr_build(inner, sizeof(inner), q);

	s.saddr = fr_ip("172.16.0.1");
	s.daddr = q->saddr;
	s.icmp_type = type;
	s.icmp_code = code;
	s.icmp_rest = type == 3 && code == 4 ? 1400 : 0;
	s.payload = inner;
	s.payload_len = (uint16_t)(quote_len < n ? quote_len : n);
	return fr_build(buf, 2048, &s);
}

Test(bpf_steer, frag_needed_about_a_service_reply_is_steered)
{
	struct fr_spec q = fr_default(IPPROTO_TCP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	q.no_eth = true;		/* VIP:80 -> client, as the RS sent it */
	q.saddr = fr_ip("10.0.0.100");
	q.sport = 80;
	q.daddr = fr_ip("10.0.0.1");
	q.dport = 40000;
	n = icmp_error_about(f, 3, 4, &q, 28);
	expect_steered(f, n, XLB_CNT_ICMP_ERR);
}

Test(bpf_steer, time_exceeded_about_a_packet_to_a_nat_real_server_is_steered)
{
	struct fr_spec q = fr_default(IPPROTO_UDP);
	uint8_t f[2048];
	size_t n;

	add_nat_rs("192.168.1.10", 5353, IPPROTO_UDP);
	q.no_eth = true;		/* client -> RIP:5353 after NAT */
	q.saddr = fr_ip("10.0.0.1");
	q.daddr = fr_ip("192.168.1.10");
	q.dport = 5353;
	n = icmp_error_about(f, 11, 0, &q, 28);
	expect_steered(f, n, XLB_CNT_ICMP_ERR);
}

Test(bpf_steer, icmp_error_about_an_unknown_flow_is_passed)
{
	struct fr_spec q = fr_default(IPPROTO_TCP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	q.no_eth = true;		/* the director's own ssh session */
	q.saddr = fr_ip("10.0.0.100");
	q.sport = 22;
	n = icmp_error_about(f, 3, 1, &q, 28);
	expect_passed(f, n, XLB_CNT_PASSED);
}

Test(bpf_steer, icmp_error_quoting_less_than_the_ports_is_malformed)
{
	struct fr_spec q = fr_default(IPPROTO_TCP);
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	q.no_eth = true;
	q.saddr = fr_ip("10.0.0.100");
	q.sport = 80;
	n = icmp_error_about(f, 3, 4, &q, 22);	/* IP header + 2 bytes */
	expect_passed(f, n, XLB_CNT_BAD_L4);
}

/* ---- attaching, on a veth pair in this test's private netns ---- */

/* libxdp's expected chatter (dispatcher check, fallback, the refused
 * attach) would drown the report; the tests check xlb_xdp_errmsg(). */
static void attach_setup(void)
{
	need_root();
	xlb_xdp_set_lib_log(NULL);
}

static int veth_in_private_netns(void)
{
	int ifindex;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(system("ip link add xlbt0 type veth peer name xlbt1 && "
			    "ip link set xlbt0 up && ip link set xlbt1 up"), 0);
	ifindex = (int)if_nametoindex("xlbt0");
	cr_assert_gt(ifindex, 0);
	return ifindex;
}

static uint32_t attached_id(int ifindex)
{
	uint32_t id = 0;

	cr_assert_eq(bpf_xdp_query_id(ifindex, 0, &id), 0);
	return id;
}

static uint32_t prog_id(int fd)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);

	cr_assert_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

Test(xdp_attach, attach_puts_the_program_on_the_interface_and_close_leaves_it,
     .init = attach_setup)
{
	struct xlb_xdp *a;
	int ifindex = veth_in_private_netns();
	uint32_t id;

	cr_assert_eq(xlb_xdp_open(&a, XLB_XDP_NATIVE), 0, "%s",
		     xlb_xdp_errmsg());
	cr_assert_eq(xlb_xdp_attach(a, ifindex), 0, "%s", xlb_xdp_errmsg());
	id = prog_id(xlb_xdp_prog_fd(a));
	cr_expect_eq(attached_id(ifindex), id);
	cr_expect_eq(xlb_xdp_attach(a, ifindex), -EALREADY);
	/* A stopping xlbd leaves its program to the next one. */
	xlb_xdp_close(a);
	cr_expect_eq(attached_id(ifindex), id, "detached by close");
	cr_expect_eq(xlb_xdp_detach_iface(ifindex), 0, "%s", xlb_xdp_errmsg());
	cr_expect_eq(attached_id(ifindex), 0, "still attached after detach");
}

Test(xdp_attach, skb_mode_attaches_as_generic_xdp, .init = attach_setup)
{
	struct xlb_xdp *a;
	int ifindex = veth_in_private_netns();
	uint32_t id = 0;

	cr_assert_eq(xlb_xdp_open(&a, XLB_XDP_SKB), 0);
	cr_assert_eq(xlb_xdp_attach(a, ifindex), 0, "%s", xlb_xdp_errmsg());
	cr_assert_eq(bpf_xdp_query_id(ifindex, XDP_FLAGS_SKB_MODE, &id), 0);
	cr_expect_eq(id, prog_id(xlb_xdp_prog_fd(a)));
	xlb_xdp_close(a);
	cr_expect_eq(xlb_xdp_detach_iface(ifindex), 0, "%s", xlb_xdp_errmsg());
	cr_expect_eq(attached_id(ifindex), 0);
}

Test(xdp_attach, stale_program_of_a_crashed_run_is_replaced, .init = attach_setup)
{
	struct xlb_xdp *crashed, *next;
	int ifindex = veth_in_private_netns();

	cr_assert_eq(xlb_xdp_open(&crashed, XLB_XDP_NATIVE), 0);
	cr_assert_eq(xlb_xdp_attach(crashed, ifindex), 0);
	/* A second daemon starts while the first's program is attached. */
	cr_assert_eq(xlb_xdp_open(&next, XLB_XDP_NATIVE), 0);
	cr_assert_eq(xlb_xdp_attach(next, ifindex), 0, "%s", xlb_xdp_errmsg());
	cr_expect_eq(attached_id(ifindex), prog_id(xlb_xdp_prog_fd(next)));
	/* The old one's close must not remove the new program. */
	xlb_xdp_close(crashed);
	cr_expect_eq(attached_id(ifindex), prog_id(xlb_xdp_prog_fd(next)));
	xlb_xdp_close(next);
}

Test(xdp_attach, program_in_skb_mode_is_replaced_by_one_in_native_mode,
     .init = attach_setup)
{
	struct xlb_xdp *old, *next;
	int ifindex = veth_in_private_netns();

	cr_assert_eq(xlb_xdp_open(&old, XLB_XDP_SKB), 0);
	cr_assert_eq(xlb_xdp_attach(old, ifindex), 0, "%s", xlb_xdp_errmsg());
	xlb_xdp_close(old);
	cr_assert_eq(xlb_xdp_open(&next, XLB_XDP_NATIVE), 0);
	cr_assert_eq(xlb_xdp_attach(next, ifindex), 0, "%s", xlb_xdp_errmsg());
	cr_expect_eq(attached_id(ifindex), prog_id(xlb_xdp_prog_fd(next)));
	xlb_xdp_close(next);
}

Test(xdp_attach, failed_start_removes_only_what_it_attached_afresh,
     .init = attach_setup)
{
	struct xlb_xdp *old, *a;
	int if0 = veth_in_private_netns(), if1 = (int)if_nametoindex("xlbt1");

	/* xlbt1 has an earlier run's program, xlbt0 none. */
	cr_assert_eq(xlb_xdp_open(&old, XLB_XDP_NATIVE), 0);
	cr_assert_eq(xlb_xdp_attach(old, if1), 0, "%s", xlb_xdp_errmsg());
	xlb_xdp_close(old);
	cr_assert_eq(xlb_xdp_open(&a, XLB_XDP_NATIVE), 0);
	cr_assert_eq(xlb_xdp_attach(a, if0), 0, "%s", xlb_xdp_errmsg());
	cr_assert_eq(xlb_xdp_attach(a, if1), 0, "%s", xlb_xdp_errmsg());
	xlb_xdp_detach_fresh(a);
	cr_expect_eq(attached_id(if0), 0, "the fresh attach stayed");
	cr_expect_eq(attached_id(if1), prog_id(xlb_xdp_prog_fd(a)),
		     "the replacement went");
	xlb_xdp_close(a);
}

Test(xdp_attach, detach_of_an_interface_without_xlb_says_so, .init = attach_setup)
{
	int ifindex = veth_in_private_netns();

	cr_expect_eq(xlb_xdp_detach_iface(ifindex), -ENOENT);
	cr_expect_not_null(strstr(xlb_xdp_errmsg(), "xlbt0"), "%s",
			   xlb_xdp_errmsg());
	cr_expect_not_null(strstr(xlb_xdp_errmsg(), "no xlb_steer"), "%s",
			   xlb_xdp_errmsg());
}

Test(xdp_attach, foreign_program_is_refused_and_named, .init = attach_setup)
{
	struct xlb_xdp *a;
	struct xlb_decap *foreign;
	int ifindex = veth_in_private_netns(), fd;

	foreign = xlb_decap__open_and_load();
	cr_assert_not_null(foreign);
	fd = bpf_program__fd(foreign->progs.xlb_decap);
	cr_assert_eq(bpf_xdp_attach(ifindex, fd, XDP_FLAGS_DRV_MODE, NULL), 0);

	cr_assert_eq(xlb_xdp_open(&a, XLB_XDP_NATIVE), 0);
	cr_expect_eq(xlb_xdp_attach(a, ifindex), -EBUSY);
	cr_expect_not_null(strstr(xlb_xdp_errmsg(), "'xlb_decap'"), "%s",
			   xlb_xdp_errmsg());
	cr_expect_eq(attached_id(ifindex), prog_id(fd), "foreign prog removed");
	xlb_xdp_close(a);
	cr_expect_eq(attached_id(ifindex), prog_id(fd), "foreign prog removed");
	/* --detach leaves it alone too. */
	cr_expect_eq(xlb_xdp_detach_iface(ifindex), -EBUSY);
	cr_expect_not_null(strstr(xlb_xdp_errmsg(), "'xlb_decap'"), "%s",
			   xlb_xdp_errmsg());
	cr_expect_eq(attached_id(ifindex), prog_id(fd), "foreign prog removed");
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	xlb_decap__destroy(foreign);
}

Test(xdp_attach, native_mode_on_a_device_without_xdp_names_mode_and_device,
     .init = attach_setup)
{
	struct xlb_xdp *a;

	cr_assert_eq(unshare(CLONE_NEWNET), 0);
	cr_assert_eq(system("ip link add xlbbr0 type bridge"), 0);
	cr_assert_eq(xlb_xdp_open(&a, XLB_XDP_NATIVE), 0);
	cr_expect_eq(xlb_xdp_attach(a, (int)if_nametoindex("xlbbr0")),
		     -EOPNOTSUPP);
	cr_expect_not_null(strstr(xlb_xdp_errmsg(), "native"), "%s",
			   xlb_xdp_errmsg());
	cr_expect_not_null(strstr(xlb_xdp_errmsg(), "xlbbr0"), "%s",
			   xlb_xdp_errmsg());
	xlb_xdp_close(a);
}

/* ---- the director's own traffic with its NAT real servers ---- */

static void add_local(const char *addr)
{
	cr_assert_eq(xlb_xdp_local_set(x, fr_ip(addr), true), 0, "%s",
		     xlb_xdp_errmsg());
}

/* RIP:8080 -> dst:40000, the shape of a NAT reply. */
static size_t from_nat_rs(uint8_t *buf, uint8_t proto, const char *dst)
{
	struct fr_spec s = fr_default(proto);

	s.saddr = fr_ip("192.168.1.10");
	s.sport = 8080;
	s.daddr = fr_ip(dst);
	s.dport = 40000;
	return fr_build(buf, 2048, &s);
}

Test(bpf_steer, tcp_from_a_nat_real_server_to_the_director_is_passed)
{
	uint8_t f[2048];
	size_t n;

	add_nat_rs("192.168.1.10", 8080, IPPROTO_TCP);
	add_local("192.168.1.1");	/* the director's DIP */
	n = from_nat_rs(f, IPPROTO_TCP, "192.168.1.1");
	expect_passed(f, n, XLB_CNT_OWN_TRAFFIC);
}

Test(bpf_steer, udp_from_a_nat_real_server_to_the_director_is_passed)
{
	uint8_t f[2048];
	size_t n;

	add_nat_rs("192.168.1.10", 8080, IPPROTO_UDP);
	add_local("10.0.0.2");		/* another of the director's addresses */
	n = from_nat_rs(f, IPPROTO_UDP, "10.0.0.2");
	expect_passed(f, n, XLB_CNT_OWN_TRAFFIC);
}

Test(bpf_steer, reply_from_a_nat_real_server_to_a_client_is_still_steered)
{
	uint8_t f[2048];
	size_t n;

	add_nat_rs("192.168.1.10", 8080, IPPROTO_TCP);
	add_local("192.168.1.1");
	add_local("10.0.0.2");
	n = from_nat_rs(f, IPPROTO_TCP, "10.0.0.1");
	expect_steered(f, n, XLB_CNT_NAT_REPLY);
}

Test(bpf_steer, removed_local_address_is_steered_again)
{
	uint8_t f[2048];
	size_t n;

	add_nat_rs("192.168.1.10", 8080, IPPROTO_TCP);
	add_local("192.168.1.1");
	cr_assert_eq(xlb_xdp_local_set(x, fr_ip("192.168.1.1"), false), 0);
	n = from_nat_rs(f, IPPROTO_TCP, "192.168.1.1");
	expect_steered(f, n, XLB_CNT_NAT_REPLY);
}

Test(bpf_steer, service_packet_to_a_vip_the_director_holds_is_still_steered)
{
	uint8_t f[2048];
	size_t n;

	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	add_local("10.0.0.100");	/* the VIP is an address of the director */
	n = tcp_to(f, "10.0.0.100", 80);
	expect_steered(f, n, XLB_CNT_SVC);
}

Test(bpf_steer, icmp_error_to_the_director_about_its_own_packet_to_a_nat_rs_is_passed)
{
	struct fr_spec q = fr_default(IPPROTO_UDP);
	uint8_t f[2048];
	size_t n;

	add_nat_rs("192.168.1.10", 5353, IPPROTO_UDP);
	add_local("192.168.1.1");
	q.no_eth = true;		/* director -> RIP:5353, its own query */
	q.saddr = fr_ip("192.168.1.1");
	q.daddr = fr_ip("192.168.1.10");
	q.dport = 5353;
	/* The error goes to the quoted source: the director. */
	n = icmp_error_about(f, 3, 3, &q, 28);
	expect_passed(f, n, XLB_CNT_OWN_TRAFFIC);
}

/* ---- XSKMAP ranges ---- */

/* Runs the program once on frame as received on (ifindex, rx_queue). */
static uint32_t run_on_queue(const uint8_t *frame, size_t len, int ifindex,
			     uint32_t rx_queue, uint64_t d[XLB_CNT_MAX])
{
	uint64_t before[XLB_CNT_MAX], after[XLB_CNT_MAX];
	struct xdp_md ctx = {
		.data_end = (uint32_t)len,
		.ingress_ifindex = (uint32_t)ifindex,
		.rx_queue_index = rx_queue,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = frame, .data_size_in = (uint32_t)len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	int err;

	cr_assert_eq(xlb_xdp_counters(x, before), 0);
	err = bpf_prog_test_run_opts(xlb_xdp_prog_fd(x), &o);
	cr_assert_eq(err, 0, "test run on queue %u: %s", rx_queue, strerror(errno));
	cr_assert_eq(xlb_xdp_counters(x, after), 0);
	for (int i = 0; i < XLB_CNT_MAX; i++)
		d[i] = after[i] - before[i];
	return o.retval;
}

/*
 * Interface i's queue q is XSKMAP key i * XLB_XSK_QUEUES_MAX + q. An RX
 * queue at or past XLB_XSK_QUEUES_MAX (an interface grown with ethtool -L
 * after xlbd started: xlbd refuses more at start) has no socket: dropped
 * and counted, never sent to the next interface's range, where the kernel
 * would drop it uncounted (a socket of another device).
 */
Test(bpf_steer, queue_past_the_xskmap_range_is_not_sent_to_the_next_interface)
{
	struct test_xsk t;
	uint8_t f[2048];
	uint64_t d[XLB_CNT_MAX];
	uint32_t key = XLB_XSK_QUEUES_MAX;
	int fd, big, lo;
	size_t n;
	char cmd[256];

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare: %s", strerror(errno));
	snprintf(cmd, sizeof(cmd),
		 "ip link add xlbq0 numtxqueues %d numrxqueues %d type veth peer name xlbq1 "
		 "numtxqueues %d numrxqueues %d && ip link set xlbq0 up && ip link set xlbq1 up "
		 "&& ip link set lo up", XLB_XSK_QUEUES_MAX + 4, XLB_XSK_QUEUES_MAX + 4,
		 XLB_XSK_QUEUES_MAX + 4, XLB_XSK_QUEUES_MAX + 4);
	cr_assert_eq(system(cmd), 0);
	big = (int)if_nametoindex("xlbq0");
	lo = (int)if_nametoindex("lo");
	xlb_xdp_set_lib_log(NULL);
	/* Attached, so the veth's queues have XDP RX queue info. */
	cr_assert_eq(xlb_xdp_attach(x, big), 0, "%s", xlb_xdp_errmsg());
	/* Interface 1 (lo, base XLB_XSK_QUEUES_MAX) has a socket on queue 0. */
	xsk_on_private_lo(&t);
	fd = xsk_socket__fd(t.xsk);
	cr_assert_eq(bpf_map_update_elem(xlb_xdp_xsks_map_fd(x), &key, &fd, BPF_ANY), 0);
	cr_assert_eq(xlb_xdp_set_xsk_base(x, lo, XLB_XSK_QUEUES_MAX), 0);
	cr_assert_eq(xlb_xdp_set_xsk_base(x, big, 0), 0);
	add_svc("10.0.0.100", 80, IPPROTO_TCP);
	n = tcp_to(f, "10.0.0.100", 80);

	cr_expect_eq(run_on_queue(f, n, lo, 0, d), XDP_REDIRECT,
		     "lo's queue 0 reaches its socket at key %u", key);
	cr_expect_eq(d[XLB_CNT_REDIRECTED], 1);
	cr_expect_eq(run_on_queue(f, n, big, XLB_XSK_QUEUES_MAX, d), XDP_DROP,
		     "queue %d of interface 0 is not lo's queue 0", XLB_XSK_QUEUES_MAX);
	cr_expect_eq(d[XLB_CNT_REDIRECT_FAILED], 1, "and counted as having no socket");
	cr_expect_eq(d[XLB_CNT_REDIRECTED], 0);
	cr_expect_eq(run_on_queue(f, n, big, XLB_XSK_QUEUES_MAX + 3, d), XDP_DROP);
	cr_expect_eq(d[XLB_CNT_REDIRECT_FAILED], 1);
	xsk_free(&t);
}
