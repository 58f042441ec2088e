// SPDX-License-Identifier: GPL-2.0
/*
 * IPv6 next hops (issue 14): routes and NDP neighbours from the kernel, as
 * test_nexthop.c does for IPv4. Each test moves into a fresh network
 * namespace and builds what it needs with ip(8); nothing on the host is
 * touched. Needs root; skipped loudly otherwise.
 *
 * The lab: veth lbx0 (02:00:00:00:00:0a, fd00:1::1/64, MTU 1400) whose peer
 * lbx1 (02:00:00:00:00:0b) stays here without an address (neighbours are
 * static entries) or moves into a child's namespace as fd00:1::2, a real
 * host that answers Neighbour Solicitations.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "nexthop.h"

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t MAC_1[6] = { 0x02, 0x11, 0x11, 0x11, 0x11, 0x11 };
static const uint8_t MAC_2[6] = { 0x06, 0x22, 0x22, 0x22, 0x22, 0x22 };

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;

	cr_assert_eq(inet_pton(AF_INET6, s, &a), 1, "%s", s);
	return a;
}

static bool eq6(const struct in6_addr *a, const char *s)
{
	struct in6_addr b = ip6(s);

	return !memcmp(a, &b, 16);
}

static const char *str6(const struct in6_addr *a)
{
	static char buf[4][INET6_ADDRSTRLEN];
	static int k;

	k = (k + 1) & 3;
	inet_ntop(AF_INET6, a, buf[k], sizeof(buf[k]));
	return buf[k];
}

static void sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	cr_assert_eq(rc, 0, "command failed (%d): %s", rc, cmd);
}

static void veth_lab6(void)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (builds interfaces in a "
			     "private network namespace)");
	if (unshare(CLONE_NEWNET) != 0)
		cr_skip_test("SKIPPED: unshare(CLONE_NEWNET): %s", strerror(errno));
	sh("ip link set lo up");
	sh("ip link add name lbx0 address 02:00:00:00:00:0a mtu 1400 type veth "
	   "peer name lbx1 address 02:00:00:00:00:0b");
	/* nodad: usable at once (DAD would hold it tentative for a second). */
	sh("ip -6 addr add fd00:1::1/64 dev lbx0 nodad");
	sh("ip link set dev lbx0 up && ip link set dev lbx1 up");
}

static pid_t peer_pid;

/* lbx1 into a child's namespace as fd00:1::2/64: answers NDP. */
static void peer_b6_in_own_netns(void)
{
	int up[2], down[2];
	char ch = 0;

	cr_assert_eq(pipe(up), 0);
	cr_assert_eq(pipe(down), 0);
	peer_pid = fork();
	cr_assert_geq(peer_pid, 0);
	if (peer_pid == 0) {
		int rc;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(up[0]);
		close(down[1]);
		if (unshare(CLONE_NEWNET) != 0)
			_exit(1);
		if (write(up[1], "r", 1) != 1 || read(down[0], &ch, 1) != 1)
			_exit(1);
		rc = system("ip link set lo up && "
			    "ip -6 addr add fd00:1::2/64 dev lbx1 nodad && ip link set dev lbx1 up");
		if (write(up[1], rc == 0 ? "y" : "n", 1) != 1)
			_exit(1);
		while (read(down[0], &ch, 1) > 0)
			;
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	cr_assert_eq(read(up[0], &ch, 1), 1);
	sh("ip link set dev lbx1 netns %d", (int)peer_pid);
	cr_assert_eq(write(down[1], "g", 1), 1);
	cr_assert_eq(read(up[0], &ch, 1), 1);
	cr_assert_eq(ch, 'y', "peer namespace setup failed");
	sh("ip link set dev lbx0 up");
}

static void peer_stop(void)
{
	if (peer_pid > 0) {
		kill(peer_pid, SIGKILL);
		waitpid(peer_pid, NULL, 0);
		peer_pid = 0;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct {
	int calls;
	struct in6_addr addr;
	bool usable;
	struct xlb_nh6 nh;
} seen;

static void record_change6(const struct in6_addr *addr, const struct xlb_nh6 *nh, void *arg)
{
	(void)arg;
	seen.calls++;
	seen.addr = *addr;
	seen.usable = nh != NULL;
	if (nh)
		seen.nh = *nh;
}

static struct xlb_nh_cache *cache_new(void)
{
	struct xlb_nh_cache_params p;
	struct xlb_nh_cache *c;

	xlb_nh_cache_params_default(&p);
	p.on_change6 = record_change6;
	p.retry_ms = 200;
	cr_assert_eq(xlb_nh_cache_init(&c, &p), 0);
	return c;
}

typedef bool (*cond_fn)(struct xlb_nh_cache *c, const void *arg);

static bool control_loop_until(struct xlb_nh_cache *c, cond_fn cond, const void *arg,
			       int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	struct pollfd pfd = { .fd = xlb_nh_cache_fd(c), .events = POLLIN };

	while (!cond(c, arg)) {
		if (now_ms() > end)
			return false;
		if (poll(&pfd, 1, 50) > 0)
			cr_assert_geq(xlb_nh_cache_process(c), 0);
		cr_assert_geq(xlb_nh_cache_tick(c, now_ms()), 0);
	}
	return true;
}

struct expect6 {
	const char *addr;
	const uint8_t *dmac;	/* NULL: any */
	uint32_t mtu;		/* 0: any */
	const char *gw;		/* NULL: any */
	int err;		/* what the lookup returns */
};

static bool lookup6_matches(struct xlb_nh_cache *c, const void *arg)
{
	const struct expect6 *x = arg;
	struct in6_addr a = ip6(x->addr);
	struct xlb_nh6 nh;
	int rc = xlb_nh_lookup6(c, &a, &nh);

	if (rc != x->err)
		return false;
	if (rc)
		return true;
	return (!x->dmac || !memcmp(nh.dmac, x->dmac, 6)) && (!x->mtu || nh.mtu == x->mtu) &&
	       (!x->gw || eq6(&nh.gw, x->gw));
}

/* ---- one-shot resolution --------------------------------------------- */

Test(nexthop6, route_to_an_on_link_address_gives_egress_source_mtu_and_macs)
{
	struct in6_addr a = ip6("fd00:1::2");
	struct xlb_nh6 nh;

	veth_lab6();
	sh("ip -6 neigh add fd00:1::2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	cr_assert_eq(xlb_nh_route6(&a, &nh), 0);
	cr_expect_eq(nh.ifindex, (int)if_nametoindex("lbx0"));
	cr_expect(eq6(&nh.src, "fd00:1::1"), "src %s", str6(&nh.src));
	cr_expect(eq6(&nh.gw, "::"), "on-link: no gateway, got %s", str6(&nh.gw));
	cr_expect_eq(nh.mtu, 1400);
	cr_expect_arr_eq(nh.smac, MAC_A, 6, "source MAC is a's");
	cr_expect_arr_eq(nh.dmac, MAC_1, 6, "destination MAC is the neighbour's");
}

Test(nexthop6, route_through_a_gateway_global_or_link_local_gives_its_mac_and_route_mtu)
{
	struct in6_addr a = ip6("fd00:9::5"), b = ip6("fd00:8::5");
	struct xlb_nh6 nh;

	veth_lab6();
	sh("ip -6 neigh add fd00:1::fe lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	sh("ip -6 neigh add fe80::fe lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	sh("ip -6 route add fd00:9::/64 via fd00:1::fe dev lbx0 mtu 1300");
	sh("ip -6 route add fd00:8::/64 via fe80::fe dev lbx0");
	cr_assert_eq(xlb_nh_route6(&a, &nh), 0);
	cr_expect(eq6(&nh.gw, "fd00:1::fe"), "gw %s", str6(&nh.gw));
	cr_expect_arr_eq(nh.dmac, MAC_2, 6, "the gateway's MAC");
	cr_expect_eq(nh.mtu, 1300, "the route's MTU is lower than the link's");
	cr_expect(eq6(&nh.src, "fd00:1::1"), "src %s", str6(&nh.src));
	cr_assert_eq(xlb_nh_route6(&b, &nh), 0);
	cr_expect(eq6(&nh.gw, "fe80::fe"), "gw %s", str6(&nh.gw));
	cr_expect_arr_eq(nh.dmac, MAC_1, 6, "the link-local gateway's MAC");
	cr_expect_eq(nh.mtu, 1400);
}

Test(nexthop6, unroutable_local_and_bad_addresses_are_refused)
{
	struct in6_addr a;
	struct xlb_nh6 nh;

	veth_lab6();
	sh("ip -6 route add blackhole fd00:66::/64");
	sh("ip -6 route add unreachable fd00:67::/64");
	sh("ip -6 route add prohibit fd00:68::/64");
	a = ip6("fd00:99::1");
	cr_expect_eq(xlb_nh_route6(&a, &nh), -ENETUNREACH, "no route");
	a = ip6("fd00:66::1");
	cr_expect_eq(xlb_nh_route6(&a, &nh), -ENETUNREACH, "blackhole");
	a = ip6("fd00:67::1");
	cr_expect_eq(xlb_nh_route6(&a, &nh), -EHOSTUNREACH, "unreachable");
	a = ip6("fd00:68::1");
	cr_expect_eq(xlb_nh_route6(&a, &nh), -EACCES, "prohibit");
	a = ip6("fd00:1::1");
	cr_expect_eq(xlb_nh_route6(&a, &nh), -EOPNOTSUPP, "our own address");
	a = ip6("ff02::1");
	cr_expect_eq(xlb_nh_route6(&a, &nh), -EOPNOTSUPP, "multicast");
	a = ip6("::");
	cr_expect_eq(xlb_nh_route6(&a, &nh), -EINVAL);
	a = ip6("::ffff:10.1.0.2");
	cr_expect_eq(xlb_nh_route6(&a, &nh), -EINVAL, "v4-mapped is IPv4's business");
}

Test(nexthop6, unresolved_neighbour_is_pending_until_the_kernel_solicits_it, .timeout = 20)
{
	struct in6_addr a = ip6("fd00:1::2");
	struct xlb_nh6 nh;
	uint64_t end;
	int rc;

	veth_lab6();
	peer_b6_in_own_netns();
	rc = xlb_nh_route6(&a, &nh);
	cr_assert_eq(rc, -EAGAIN, "no NDP entry yet: pending (%d)", rc);
	cr_expect_eq(nh.ifindex, (int)if_nametoindex("lbx0"), "the route is known");
	end = now_ms() + 5000;
	while ((rc = xlb_nh_route6(&a, &nh)) == -EAGAIN && now_ms() < end)
		usleep(20000);
	cr_assert_eq(rc, 0, "the kernel's Neighbour Solicitation got an answer");
	cr_expect_arr_eq(nh.dmac, MAC_B, 6, "the real neighbour's MAC");
	peer_stop();
}

/* ---- the cache ------------------------------------------------------- */

Test(nexthop6, cache_reports_pending_then_resolves_from_the_ndp_event, .timeout = 20)
{
	struct expect6 x = { .addr = "fd00:1::2", .dmac = MAC_B };
	struct in6_addr a = ip6("fd00:1::2");
	struct xlb_nh_cache *c;
	struct xlb_nh6 nh;

	veth_lab6();
	peer_b6_in_own_netns();
	c = cache_new();
	cr_assert_eq(xlb_nh_want6(c, &a), 0);
	cr_assert_eq(xlb_nh_lookup6(c, &a, &nh), -EAGAIN, "pending: never a guessed MAC");
	cr_assert(control_loop_until(c, lookup6_matches, &x, 5000),
		  "the neighbour event brought the MAC");
	cr_expect_eq(seen.calls, 1);
	cr_expect(seen.usable);
	cr_expect(eq6(&seen.addr, "fd00:1::2"));
	cr_expect_arr_eq(seen.nh.dmac, MAC_B, 6);
	xlb_nh_cache_free(c);
	peer_stop();
}

Test(nexthop6, wants_are_counted_and_an_unwanted_address_is_not_found)
{
	struct in6_addr a = ip6("fd00:1::2"), z = ip6("::");
	struct xlb_nh_cache *c;
	struct xlb_nh6 nh;
	struct xlb_nh ignored;

	veth_lab6();
	sh("ip -6 neigh add fd00:1::2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	c = cache_new();
	cr_expect_eq(xlb_nh_lookup6(c, &a, &nh), -ENOENT);
	cr_expect_eq(xlb_nh_want6(c, &z), -EINVAL);
	cr_assert_eq(xlb_nh_want6(c, &a), 0);
	cr_assert_eq(xlb_nh_want6(c, &a), 0);
	{
		struct xlb_nh_stats st;

		xlb_nh_cache_stats(c, &st);
		cr_expect_eq(st.entries6, 1, "one IPv6 entry, wanted twice");
		cr_expect_eq(st.entries, 0, "none in the IPv4 table");
		cr_expect_eq(st.capacity6, 4096);
	}
	cr_assert_eq(xlb_nh_lookup6(c, &a, &nh), 0);
	cr_expect_arr_eq(nh.dmac, MAC_1, 6);
	/* The IPv4 table never sees it (its first word as an IPv4 key). */
	cr_expect_eq(xlb_nh_lookup(c, a.s6_addr32[0], &ignored), -ENOENT);
	cr_assert_eq(xlb_nh_unwant6(c, &a), 0);
	cr_expect_eq(xlb_nh_lookup6(c, &a, &nh), 0, "one want left");
	cr_assert_eq(xlb_nh_unwant6(c, &a), 0);
	cr_expect_eq(xlb_nh_lookup6(c, &a, &nh), -ENOENT);
	cr_expect_eq(xlb_nh_unwant6(c, &a), -ENOENT);
	xlb_nh_cache_free(c);
}

Test(nexthop6, neighbour_mac_change_and_mtu_change_reach_readers_through_process)
{
	struct expect6 x = { .addr = "fd00:1::2", .dmac = MAC_2 };
	struct expect6 y = { .addr = "fd00:1::2", .dmac = MAC_2, .mtu = 1280 };
	struct in6_addr a = ip6("fd00:1::2");
	struct xlb_nh_cache *c;
	struct xlb_nh6 nh;

	veth_lab6();
	sh("ip -6 neigh add fd00:1::2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	c = cache_new();
	cr_assert_eq(xlb_nh_want6(c, &a), 0);
	cr_assert_eq(xlb_nh_lookup6(c, &a, &nh), 0);
	cr_assert_arr_eq(nh.dmac, MAC_1, 6);
	sh("ip -6 neigh replace fd00:1::2 lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	cr_assert_eq(xlb_nh_lookup6(c, &a, &nh), 0);
	cr_expect_arr_eq(nh.dmac, MAC_1, 6, "readers see only what was published");
	cr_assert(control_loop_until(c, lookup6_matches, &x, 2000));
	cr_expect_eq(seen.calls, 2, "once resolved, once changed");
	sh("ip link set dev lbx0 mtu 1280");
	cr_assert(control_loop_until(c, lookup6_matches, &y, 2000), "the link's new MTU");
	xlb_nh_cache_free(c);
}

Test(nexthop6, a_route_change_over_a_wanted_address_is_followed)
{
	struct expect6 x1 = { .addr = "fd00:9::5", .dmac = MAC_1, .gw = "fd00:1::fd" };
	struct expect6 x2 = { .addr = "fd00:9::5", .dmac = MAC_2, .gw = "fd00:1::fe" };
	struct expect6 gone = { .addr = "fd00:9::5", .err = -ENETUNREACH };
	struct in6_addr a = ip6("fd00:9::5");
	struct xlb_nh_cache *c;

	veth_lab6();
	sh("ip -6 neigh add fd00:1::fd lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	sh("ip -6 neigh add fd00:1::fe lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	sh("ip -6 route add fd00:9::/64 via fd00:1::fd dev lbx0");
	c = cache_new();
	cr_assert_eq(xlb_nh_want6(c, &a), 0);
	cr_assert(lookup6_matches(c, &x1));
	sh("ip -6 route replace fd00:9::/64 via fd00:1::fe dev lbx0");
	cr_assert(control_loop_until(c, lookup6_matches, &x2, 2000), "the new gateway");
	sh("ip -6 route del fd00:9::/64");
	cr_assert(control_loop_until(c, lookup6_matches, &gone, 2000), "no route left");
	cr_expect(!seen.usable, "told it is no longer usable");
	xlb_nh_cache_free(c);
}

static bool host6_resolves(struct xlb_nh_cache *c, const void *arg)
{
	struct in6_addr a = ip6(arg);
	uint32_t slot = UINT32_MAX;
	struct xlb_nh6 nh;

	return xlb_nh_lookup_host6(c, &a, &slot, &nh) == 0 && !memcmp(nh.dmac, MAC_2, 6);
}

Test(nexthop6, a_client_asked_for_by_a_worker_is_pending_then_resolved_by_the_control_thread)
{
	struct in6_addr a = ip6("2001:db8::77");
	struct xlb_nh_cache *c;
	uint32_t slot = UINT32_MAX;
	struct xlb_nh6 nh;

	veth_lab6();
	sh("ip -6 neigh add fd00:1::fe lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	sh("ip -6 route add default via fd00:1::fe dev lbx0");
	c = cache_new();
	cr_assert_eq(xlb_nh_lookup_host6(c, &a, &slot, &nh), -EAGAIN,
		     "not held: queued, pending");
	cr_expect_eq(xlb_nh_lookup6(c, &a, &nh), -ENOENT, "held only once the control thread ran");
	cr_assert(control_loop_until(c, host6_resolves, "2001:db8::77", 2000));
	cr_expect_eq(xlb_nh_lookup6(c, &a, &nh), 0);
	cr_expect(eq6(&nh.gw, "fd00:1::fe"));
	xlb_nh_cache_free(c);
}

/* ---- clients and capacity -------------------------------------------- */

/* A client asked for by a worker, taken by the control thread. */
static void take_host6(struct xlb_nh_cache *c, const char *s)
{
	struct in6_addr a = ip6(s);
	uint32_t slot = UINT32_MAX;
	struct xlb_nh6 nh;

	cr_assert_eq(xlb_nh_lookup_host6(c, &a, &slot, &nh), -EAGAIN, "%s: queued", s);
	cr_assert_geq(xlb_nh_cache_process(c), 0);
	cr_assert_eq(xlb_nh_lookup6(c, &a, &nh), 0, "%s: held and resolved", s);
}

static int held6(struct xlb_nh_cache *c, const char *s)
{
	struct in6_addr a = ip6(s);
	struct xlb_nh6 nh;

	return xlb_nh_lookup6(c, &a, &nh);
}

static struct {
	int calls;
	char last[160];
} logged;

static void record_log(void *arg, const char *fmt, ...)
{
	va_list ap;

	(void)arg;
	logged.calls++;
	va_start(ap, fmt);
	vsnprintf(logged.last, sizeof(logged.last), fmt, ap);
	va_end(ap);
}

Test(nexthop6, clients_past_hosts6_max_evict_the_oldest_never_a_wanted_address)
{
	struct in6_addr w = ip6("fd00:1::2"), a = ip6("2001:db8::a");
	struct xlb_nh_cache_params p;
	struct xlb_nh_cache *c;
	struct xlb_nh_stats st;

	veth_lab6();
	sh("ip -6 neigh add fd00:1::fe lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	sh("ip -6 neigh add fd00:1::2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	sh("ip -6 route add default via fd00:1::fe dev lbx0");
	xlb_nh_cache_params_default(&p);
	p.hosts6_max = 2;
	p.log = record_log;
	cr_assert_eq(xlb_nh_cache_init(&c, &p), 0);
	cr_assert_eq(xlb_nh_want6(c, &w), 0, "a real server");
	take_host6(c, "2001:db8::a");
	take_host6(c, "2001:db8::b");
	xlb_nh_cache_stats(c, &st);
	cr_expect_eq(st.hosts6, 2);
	cr_expect_eq(st.entries6, 3);
	cr_expect_eq(st.hosts6_max, 2);

	/* a is wanted too now: never evicted while it is. */
	cr_assert_eq(xlb_nh_want6(c, &a), 0);
	logged.calls = 0;
	take_host6(c, "2001:db8::d");
	cr_expect_eq(held6(c, "2001:db8::b"), -ENOENT, "b, the oldest client nobody wants, went");
	cr_expect_eq(held6(c, "2001:db8::a"), 0, "a is wanted: kept");
	cr_expect_eq(held6(c, "2001:db8::d"), 0);
	cr_expect_eq(held6(c, "fd00:1::2"), 0, "the real server is never a client");
	cr_expect_eq(logged.calls, 1, "the limit is said (once): %s", logged.last);
	xlb_nh_cache_stats(c, &st);
	cr_expect_eq(st.hosts6, 2, "a and d");
	cr_expect_eq(st.entries6, 3);

	/* Unwanted, a is a client again, and now the oldest one. */
	cr_assert_eq(xlb_nh_unwant6(c, &a), 0);
	cr_expect_eq(held6(c, "2001:db8::a"), 0, "still a client");
	take_host6(c, "2001:db8::b");
	cr_expect_eq(held6(c, "2001:db8::a"), -ENOENT, "a, the oldest client, went");
	cr_expect_eq(held6(c, "2001:db8::d"), 0);
	cr_expect_eq(held6(c, "2001:db8::b"), 0);
	cr_expect_eq(logged.calls, 1, "said once");
	xlb_nh_cache_free(c);
}

Test(nexthop6, a_full_table_refuses_new_addresses_until_one_goes)
{
	struct in6_addr x1 = ip6("fd00:1::11"), x2 = ip6("fd00:1::12"), x3 = ip6("fd00:1::13");
	struct in6_addr h = ip6("fd00:1::14");
	struct xlb_nh_cache_params p;
	struct xlb_nh_cache *c;
	struct xlb_nh_stats st;
	uint32_t slot = UINT32_MAX;
	struct xlb_nh6 nh;

	veth_lab6();
	xlb_nh_cache_params_default(&p);
	p.capacity6 = 2;
	p.log = record_log;
	cr_assert_eq(xlb_nh_cache_init(&c, &p), 0);
	logged.calls = 0;
	cr_assert_eq(xlb_nh_want6(c, &x1), 0);
	cr_assert_eq(xlb_nh_want6(c, &x2), 0);
	cr_expect_eq(xlb_nh_want6(c, &x3), -ENOSPC);
	cr_expect_eq(xlb_nh_lookup6(c, &x3, &nh), -ENOENT);
	/* A client asked for meanwhile is not held either (and not a crash). */
	cr_expect_eq(xlb_nh_lookup_host6(c, &h, &slot, &nh), -EAGAIN);
	cr_assert_geq(xlb_nh_cache_process(c), 0);
	cr_expect_eq(xlb_nh_lookup6(c, &h, &nh), -ENOENT);
	cr_expect_eq(xlb_nh_want6(c, &x3), -ENOSPC);
	cr_expect_eq(logged.calls, 1, "full is said once: %s", logged.last);
	cr_expect(strstr(logged.last, "IPv6 next-hop cache full (capacity 2)") != NULL,
		  "%s", logged.last);
	xlb_nh_cache_stats(c, &st);
	cr_expect_eq(st.entries6, 2);
	cr_expect_eq(st.capacity6, 2);
	/* One goes: room again, and the next "full" is said again. */
	cr_assert_eq(xlb_nh_unwant6(c, &x1), 0);
	cr_expect_eq(xlb_nh_want6(c, &x3), 0);
	cr_expect_eq(xlb_nh_lookup6(c, &x1, &nh), -ENOENT);
	cr_expect_eq(xlb_nh_want6(c, &x1), -ENOSPC);
	cr_expect_eq(logged.calls, 2);
	xlb_nh_cache_free(c);
}

/* ---- readers against the writer ------------------------------------- */

/* Every field is a function of k, so a mix of two publications shows. */
static struct xlb_nh6 pattern6(uint32_t k)
{
	struct xlb_nh6 nh;

	memset(&nh, 0, sizeof(nh));
	nh.ifindex = (int)k;
	for (int j = 0; j < 6; j++) {
		nh.smac[j] = (uint8_t)(k >> (j % 4 * 8)) ^ (uint8_t)j;
		nh.dmac[j] = (uint8_t)(k * 7 + (uint32_t)j);
	}
	for (int j = 0; j < 4; j++) {
		nh.src.s6_addr32[j] = k * 2654435761u + (uint32_t)j;
		nh.gw.s6_addr32[j] = ~k ^ (uint32_t)j;
	}
	nh.mtu = k ^ 0x5a5a5a5au;
	return nh;
}

struct race6 {
	struct xlb_nh_cache *c;
	struct in6_addr addr;
	int stop;
	uint64_t reads, torn, seen_changes;	/* atomic */
};

static void *reader6(void *arg)
{
	struct race6 *r = arg;
	uint32_t last = 0, slot = UINT32_MAX;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct xlb_nh6 nh, want;

		if (xlb_nh_lookup6_at(r->c, &r->addr, &slot, &nh) != 0)
			continue;
		__atomic_fetch_add(&r->reads, 1, __ATOMIC_RELAXED);
		want = pattern6((uint32_t)nh.ifindex);
		if (memcmp(&nh, &want, sizeof(nh)))
			__atomic_fetch_add(&r->torn, 1, __ATOMIC_RELAXED);
		if ((uint32_t)nh.ifindex != last)
			__atomic_fetch_add(&r->seen_changes, 1, __ATOMIC_RELAXED);
		last = (uint32_t)nh.ifindex;
	}
	return NULL;
}

Test(nexthop6, lookups_concurrent_with_updates_never_return_a_torn_entry, .timeout = 30)
{
	struct xlb_nh_cache_params p;
	struct race6 r;
	struct xlb_nh6 first = pattern6(1);
	uint64_t end;
	pthread_t t;
	uint32_t k;

	memset(&r, 0, sizeof(r));
	veth_lab6();
	r.addr = ip6("fd00:1::2");
	xlb_nh_cache_params_default(&p);
	cr_assert_eq(xlb_nh_cache_init(&r.c, &p), 0);
	cr_assert_eq(xlb_nh_want6(r.c, &r.addr), 0);
	cr_assert_eq(xlb_nh_cache_publish6(r.c, &r.addr, &first, 0), 0);
	cr_assert_eq(pthread_create(&t, NULL, reader6, &r), 0);
	while (!__atomic_load_n(&r.reads, __ATOMIC_RELAXED))
		sched_yield();
	/* At most 15 s, as the IPv4 test: a loaded machine overlaps the
	 * reader with the writer only now and then. */
	end = now_ms() + 15000;
	for (k = 2; now_ms() < end; k++) {
		struct xlb_nh6 nh = pattern6(k);

		cr_assert_eq(xlb_nh_cache_publish6(r.c, &r.addr, &nh, 0), 0);
		if (!(k & 0xfff) &&
		    __atomic_load_n(&r.seen_changes, __ATOMIC_RELAXED) >= 100000)
			break;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	cr_expect_geq(r.seen_changes, 1000, "the reader overlapped the writer (%llu changes seen)",
		      (unsigned long long)r.seen_changes);
	cr_expect_eq(r.torn, 0, "%llu torn entries in %llu reads",
		     (unsigned long long)r.torn, (unsigned long long)r.reads);
	xlb_nh_cache_free(r.c);
}
