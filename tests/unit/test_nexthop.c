// SPDX-License-Identifier: GPL-2.0
/*
 * Next hops from the kernel's tables. Each test runs in its own process
 * (Criterion forks one per test) and first moves into a fresh network
 * namespace, where it builds the interfaces, addresses, routes and
 * neighbours it needs with ip(8): nothing on the host is touched, and the
 * namespace disappears with the test process. Needs root; skipped loudly
 * otherwise.
 *
 * The usual lab: veth lbx0 (02:00:00:00:00:0a, 10.1.0.1/24, MTU 1400) whose
 * peer lbx1 (02:00:00:00:00:0b) either stays here without an address (then
 * neighbours are static entries) or moves into a child process's own
 * namespace as 10.1.0.2, a real host that answers ARP.
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

static const uint8_t MAC_A[6]  = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t MAC_B[6]  = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t MAC_1[6]  = { 0x02, 0x11, 0x11, 0x11, 0x11, 0x11 };
static const uint8_t MAC_2[6]  = { 0x06, 0x22, 0x22, 0x22, 0x22, 0x22 };

static uint32_t ip(const char *s)
{
	return inet_addr(s);
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

static void fresh_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (builds interfaces in a "
			     "private network namespace)");
	if (unshare(CLONE_NEWNET) != 0)
		cr_skip_test("SKIPPED: unshare(CLONE_NEWNET): %s",
			     strerror(errno));
	sh("ip link set lo up");
}

static void veth_lab(void)
{
	fresh_netns();
	sh("ip link add name lbx0 address 02:00:00:00:00:0a mtu 1400 type veth "
	   "peer name lbx1 address 02:00:00:00:00:0b");
	sh("ip addr add 10.1.0.1/24 dev lbx0");
	sh("ip link set dev lbx0 up && ip link set dev lbx1 up");
}

/*
 * Moves lbx1 into the network namespace of a child process, where it becomes
 * 10.1.0.2/24: a real neighbour that answers ARP. The child dies with the
 * test process (PR_SET_PDEATHSIG), taking its namespace and the veth along.
 */
static pid_t peer_pid;

static void peer_b_in_own_netns(void)
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
			    "ip addr add 10.1.0.2/24 dev lbx1 && ip link set dev lbx1 up");
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

/* What on_change reported. */
static struct {
	int      calls;
	uint32_t addr;
	bool     usable;
	struct xlb_nh nh;
} seen;

static void record_change(uint32_t addr, const struct xlb_nh *nh, void *arg)
{
	(void)arg;
	seen.calls++;
	seen.addr = addr;
	seen.usable = nh != NULL;
	if (nh)
		seen.nh = *nh;
}

static struct xlb_nh_cache *cache_new(void)
{
	struct xlb_nh_cache_params p;
	struct xlb_nh_cache *c;

	xlb_nh_cache_params_default(&p);
	p.on_change = record_change;
	p.retry_ms = 200;
	cr_assert_eq(xlb_nh_cache_init(&c, &p), 0);
	return c;
}

/* Runs the control thread's loop (poll, process, tick) until cond holds
 * or timeout_ms passes. Returns whether cond held. */
typedef bool (*cond_fn)(struct xlb_nh_cache *c, const void *arg);

static bool control_loop_until(struct xlb_nh_cache *c, cond_fn cond,
			       const void *arg, int timeout_ms)
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

struct expect {
	uint32_t addr;
	const uint8_t *dmac;	/* NULL: any */
	uint32_t mtu;		/* 0: any */
	uint32_t src;		/* 0: any */
};

static bool lookup_matches(struct xlb_nh_cache *c, const void *arg)
{
	const struct expect *x = arg;
	struct xlb_nh nh;

	if (xlb_nh_lookup(c, x->addr, &nh) != 0)
		return false;
	return (!x->dmac || !memcmp(nh.dmac, x->dmac, 6)) &&
	       (!x->mtu || nh.mtu == x->mtu) && (!x->src || nh.src == x->src);
}

static bool lookup_route_resolves(struct xlb_nh_cache *c, const void *arg)
{
	struct xlb_nh nh;

	return xlb_nh_lookup_route(c, *(const uint32_t *)arg, &nh) == 0;
}

static bool lookup_route_unreachable(struct xlb_nh_cache *c, const void *arg)
{
	struct xlb_nh nh;

	return xlb_nh_lookup_route(c, *(const uint32_t *)arg, &nh) == -ENETUNREACH;
}

/* ---- one-shot resolution --------------------------------------------- */

Test(nexthop, route_to_an_on_link_address_gives_egress_source_mtu_and_macs)
{
	struct xlb_nh nh;

	veth_lab();
	sh("ip neigh add 10.1.0.2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");

	cr_assert_eq(xlb_nh_route(ip("10.1.0.2"), &nh), 0);
	cr_expect_eq(nh.ifindex, (int)if_nametoindex("lbx0"));
	cr_expect_eq(nh.src, ip("10.1.0.1"));
	cr_expect_eq(nh.gw, 0, "on-link: no gateway");
	cr_expect_eq(nh.mtu, 1400);
	cr_expect_arr_eq(nh.smac, MAC_A, 6, "source MAC is a's");
	cr_expect_arr_eq(nh.dmac, MAC_1, 6, "destination MAC is the neighbour's");
}

Test(nexthop, route_through_a_gateway_gives_the_gateways_mac)
{
	struct xlb_nh nh;

	veth_lab();
	sh("ip neigh add 10.1.0.254 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	sh("ip route add 10.9.0.0/16 via 10.1.0.254");

	cr_assert_eq(xlb_nh_route(ip("10.9.3.4"), &nh), 0);
	cr_expect_eq(nh.gw, ip("10.1.0.254"));
	cr_expect_eq(nh.ifindex, (int)if_nametoindex("lbx0"));
	cr_expect_eq(nh.src, ip("10.1.0.1"));
	cr_expect_arr_eq(nh.dmac, MAC_1, 6);
}

Test(nexthop, route_mtu_lower_than_the_links_is_the_egress_mtu)
{
	struct xlb_nh nh;

	veth_lab();
	sh("ip neigh add 10.1.0.254 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	sh("ip route add 10.9.0.0/16 via 10.1.0.254 mtu 1300");

	cr_assert_eq(xlb_nh_route(ip("10.9.3.4"), &nh), 0);
	cr_expect_eq(nh.mtu, 1300);
}

Test(nexthop, unroutable_and_local_addresses_are_refused)
{
	struct xlb_nh nh;

	veth_lab();
	cr_expect_eq(xlb_nh_route(ip("10.77.0.1"), &nh), -ENETUNREACH);
	cr_expect_eq(xlb_nh_route(ip("10.1.0.1"), &nh), -EOPNOTSUPP,
		     "our own address has no next hop");
}

Test(nexthop, unresolved_neighbour_is_pending_until_the_kernel_resolves_it,
     .fini = peer_stop)
{
	struct xlb_nh nh;
	uint64_t end;
	int rc;

	veth_lab();
	peer_b_in_own_netns();

	rc = xlb_nh_route(ip("10.1.0.2"), &nh);
	cr_assert_eq(rc, -EAGAIN, "no ARP entry yet: pending, got %d", rc);
	cr_expect_eq(nh.ifindex, (int)if_nametoindex("lbx0"),
		     "a pending next hop still knows its egress");
	cr_expect_eq(nh.src, ip("10.1.0.1"));

	/* Nothing else sends to 10.1.0.2: only our trigger resolves it. */
	end = now_ms() + 3000;
	do {
		usleep(20000);
		rc = xlb_nh_route(ip("10.1.0.2"), &nh);
	} while (rc == -EAGAIN && now_ms() < end);
	cr_assert_eq(rc, 0, "resolved after the trigger, got %d", rc);
	cr_expect_arr_eq(nh.dmac, MAC_B, 6, "the peer's MAC, learnt by ARP");
}

/* ---- the cache ------------------------------------------------------- */

Test(nexthop, cache_reports_pending_then_resolves_from_the_neighbour_event,
     .fini = peer_stop)
{
	struct expect x = { .addr = ip("10.1.0.2"), .dmac = MAC_B };
	struct xlb_nh_cache *c;
	struct xlb_nh nh;

	veth_lab();
	peer_b_in_own_netns();
	c = cache_new();

	cr_assert_eq(xlb_nh_want(c, x.addr), 0);
	cr_expect_eq(xlb_nh_lookup(c, x.addr, &nh), -EAGAIN);
	cr_expect_eq(seen.calls, 0, "nothing usable yet, nothing to announce");

	cr_assert(control_loop_until(c, lookup_matches, &x, 3000),
		  "the ARP reply reaches readers");
	cr_expect_eq(seen.calls, 1);
	cr_expect_eq(seen.addr, x.addr);
	cr_expect(seen.usable);
	cr_expect_arr_eq(seen.nh.dmac, MAC_B, 6);
	xlb_nh_cache_free(c);
}

Test(nexthop, unwanted_address_is_not_found_and_wants_are_counted)
{
	struct xlb_nh_cache *c;
	struct xlb_nh nh;
	uint32_t rip = ip("10.1.0.2");

	veth_lab();
	sh("ip neigh add 10.1.0.2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	c = cache_new();

	cr_expect_eq(xlb_nh_lookup(c, rip, &nh), -ENOENT);
	cr_assert_eq(xlb_nh_want(c, rip), 0);
	cr_assert_eq(xlb_nh_want(c, rip), 0);
	cr_expect_eq(xlb_nh_lookup(c, rip, &nh), 0, "resolved at once: static entry");
	cr_expect_eq(seen.calls, 1);

	cr_assert_eq(xlb_nh_unwant(c, rip), 0);
	cr_expect_eq(xlb_nh_lookup(c, rip, &nh), 0, "still wanted once");
	cr_assert_eq(xlb_nh_unwant(c, rip), 0);
	cr_expect_eq(xlb_nh_lookup(c, rip, &nh), -ENOENT);
	cr_expect_eq(seen.calls, 2);
	cr_expect_not(seen.usable, "removal announced as not usable");
	cr_expect_eq(xlb_nh_unwant(c, rip), -ENOENT);
	cr_expect_eq(xlb_nh_want(c, 0), -EINVAL);
	xlb_nh_cache_free(c);
}

Test(nexthop, neighbour_mac_change_reaches_readers_through_process)
{
	struct expect x = { .addr = ip("10.1.0.2"), .dmac = MAC_2 };
	struct xlb_nh_cache *c;
	struct xlb_nh nh;

	veth_lab();
	sh("ip neigh add 10.1.0.2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	c = cache_new();
	cr_assert_eq(xlb_nh_want(c, x.addr), 0);
	cr_assert_eq(xlb_nh_lookup(c, x.addr, &nh), 0);
	cr_assert_arr_eq(nh.dmac, MAC_1, 6);

	sh("ip neigh replace 10.1.0.2 lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	cr_assert_eq(xlb_nh_lookup(c, x.addr, &nh), 0);
	cr_expect_arr_eq(nh.dmac, MAC_1, 6, "readers see only what was published");

	cr_assert(control_loop_until(c, lookup_matches, &x, 2000));
	cr_expect_eq(seen.calls, 2, "once resolved, once changed");
	cr_expect_arr_eq(seen.nh.dmac, MAC_2, 6);
	xlb_nh_cache_free(c);
}

Test(nexthop, mtu_change_reaches_readers_through_process)
{
	struct expect x = { .addr = ip("10.1.0.2"), .mtu = 1280 };
	struct xlb_nh_cache *c;

	veth_lab();
	sh("ip neigh add 10.1.0.2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	c = cache_new();
	cr_assert_eq(xlb_nh_want(c, x.addr), 0);

	sh("ip link set dev lbx0 mtu 1280");
	cr_assert(control_loop_until(c, lookup_matches, &x, 2000));
	cr_expect(seen.usable);
	cr_expect_eq(seen.nh.mtu, 1280);
	xlb_nh_cache_free(c);
}

Test(nexthop, address_change_reaches_readers_through_process)
{
	struct expect x = { .addr = ip("10.1.0.2"), .src = ip("10.1.0.77") };
	struct xlb_nh_cache *c;
	struct xlb_nh nh;

	veth_lab();
	sh("sysctl -qw net.ipv4.conf.lbx0.promote_secondaries=1");
	sh("ip neigh add 10.1.0.2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	c = cache_new();
	cr_assert_eq(xlb_nh_want(c, x.addr), 0);
	cr_assert_eq(xlb_nh_lookup(c, x.addr, &nh), 0);
	cr_assert_eq(nh.src, ip("10.1.0.1"));

	/* 10.1.0.77 comes in as a secondary and is promoted when the
	 * primary goes: the subnet route's source changes. */
	sh("ip addr add 10.1.0.77/24 dev lbx0 && ip addr del 10.1.0.1/24 dev lbx0");
	cr_assert(control_loop_until(c, lookup_matches, &x, 2000));
	cr_expect_eq(seen.nh.src, ip("10.1.0.77"));
	xlb_nh_cache_free(c);
}

Test(nexthop, link_down_makes_the_next_hop_unusable_until_it_returns)
{
	struct expect x = { .addr = ip("10.1.0.2"), .dmac = MAC_1 };
	struct xlb_nh_cache *c;
	struct xlb_nh nh;
	uint64_t end;

	veth_lab();
	sh("ip neigh add 10.1.0.2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	c = cache_new();
	cr_assert_eq(xlb_nh_want(c, x.addr), 0);

	sh("ip link set dev lbx0 down");
	end = now_ms() + 2000;
	while (xlb_nh_lookup(c, x.addr, &nh) == 0 && now_ms() < end) {
		usleep(20000);
		xlb_nh_cache_process(c);
	}
	cr_expect_neq(xlb_nh_lookup(c, x.addr, &nh), 0, "no route while down");
	cr_expect_not(seen.usable, "announced as unusable");

	sh("ip link set dev lbx0 up && "
	   "ip neigh replace 10.1.0.2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	cr_assert(control_loop_until(c, lookup_matches, &x, 2000));
	cr_expect(seen.usable);
	xlb_nh_cache_free(c);
}

/* ---- routes for NAT replies ------------------------------------------ */

Test(nexthop, lookup_route_uses_the_longest_prefix_and_its_gateways_mac)
{
	struct xlb_nh_cache *c;
	struct xlb_nh nh;

	veth_lab();
	sh("ip neigh add 10.1.0.254 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	sh("ip neigh add 10.1.0.253 lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	sh("ip route add default via 10.1.0.254");
	sh("ip route add 10.200.0.0/16 via 10.1.0.253");
	c = cache_new();

	cr_assert_eq(xlb_nh_lookup_route(c, ip("10.200.1.1"), &nh), 0,
		     "gateways of the main table are resolved up front");
	cr_expect_eq(nh.gw, ip("10.1.0.253"));
	cr_expect_arr_eq(nh.dmac, MAC_2, 6);
	cr_expect_eq(nh.ifindex, (int)if_nametoindex("lbx0"));
	cr_expect_eq(nh.src, ip("10.1.0.1"));

	cr_assert_eq(xlb_nh_lookup_route(c, ip("10.201.1.1"), &nh), 0);
	cr_expect_eq(nh.gw, ip("10.1.0.254"), "the default route");
	cr_expect_arr_eq(nh.dmac, MAC_1, 6);
	xlb_nh_cache_free(c);
}

Test(nexthop, lookup_route_to_an_on_link_client_is_pending_until_the_control_thread_takes_it)
{
	uint32_t client = ip("10.1.0.2");
	struct xlb_nh_cache *c;
	struct xlb_nh nh;

	veth_lab();
	sh("ip neigh add 10.1.0.2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	c = cache_new();

	cr_expect_eq(xlb_nh_lookup_route(c, client, &nh), -EAGAIN);
	cr_expect_eq(xlb_nh_lookup(c, client, &nh), -ENOENT,
		     "a worker only queues the request");
	cr_assert_geq(xlb_nh_cache_tick(c, now_ms()), 0);

	cr_assert_eq(xlb_nh_lookup_route(c, client, &nh), 0);
	cr_expect_eq(nh.gw, 0);
	cr_expect_arr_eq(nh.dmac, MAC_1, 6);
	xlb_nh_cache_free(c);
}

Test(nexthop, route_event_refreshes_the_snapshot_used_by_lookup_route)
{
	uint32_t client = ip("10.55.0.1");
	struct xlb_nh_cache *c;
	struct xlb_nh nh;

	veth_lab();
	sh("ip neigh add 10.1.0.254 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	c = cache_new();
	cr_expect_eq(xlb_nh_lookup_route(c, client, &nh), -ENETUNREACH);

	sh("ip route add 10.55.0.0/16 via 10.1.0.254");
	cr_assert(control_loop_until(c, lookup_route_resolves, &client, 2000));
	cr_assert_eq(xlb_nh_lookup_route(c, client, &nh), 0);
	cr_expect_eq(nh.gw, ip("10.1.0.254"));
	cr_expect_arr_eq(nh.dmac, MAC_1, 6);

	sh("ip route del 10.55.0.0/16");
	cr_assert(control_loop_until(c, lookup_route_unreachable, &client, 2000),
		  "the route's removal reaches readers too");
	xlb_nh_cache_free(c);
}

struct route_expect {
	uint32_t addr;
	int      rc;		/* what lookup_route returns */
	uint32_t gw;		/* when 0 */
};

static bool lookup_route_gives(struct xlb_nh_cache *c, const void *arg)
{
	const struct route_expect *x = arg;
	struct xlb_nh nh;
	int rc = xlb_nh_lookup_route(c, x->addr, &nh);

	return rc == x->rc && (rc || nh.gw == x->gw);
}

/* The main table once stopped at 1,024 routes (and was then not used at
 * all). Thousands are read at start; later ones arrive route by route. */
Test(nexthop, a_main_table_of_thousands_of_routes_is_used_and_followed_route_by_route,
     .timeout = 60)
{
	struct route_expect x = { .addr = ip("10.110.5.7"), .gw = ip("10.1.0.253") };
	struct xlb_nh_cache *c;
	struct xlb_nh nh;
	FILE *f;
	int a, b;

	veth_lab();
	sh("ip neigh add 10.1.0.254 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	sh("ip neigh add 10.1.0.253 lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	f = fopen("/tmp/xlb-nh-routes.batch", "w");
	cr_assert_not_null(f);
	for (a = 100; a < 120; a++)
		for (b = 0; b < 250; b++)
			fprintf(f, "route add 10.%d.%d.0/24 via 10.1.0.254\n", a, b);
	fclose(f);
	sh("ip -batch /tmp/xlb-nh-routes.batch && rm -f /tmp/xlb-nh-routes.batch");
	c = cache_new();
	cr_expect_geq(xlb_nh_route_count(c), 5000u, "%u routes held",
		      xlb_nh_route_count(c));
	cr_assert_eq(xlb_nh_lookup_route(c, x.addr, &nh), 0);
	cr_expect_eq(nh.gw, ip("10.1.0.254"));
	cr_expect_arr_eq(nh.dmac, MAC_1, 6);

	sh("ip route add 10.110.5.7/32 via 10.1.0.253");
	cr_assert(control_loop_until(c, lookup_route_gives, &x, 2000),
		  "a more specific route, from its event");
	cr_assert_eq(xlb_nh_lookup_route(c, x.addr, &nh), 0);
	cr_expect_arr_eq(nh.dmac, MAC_2, 6);
	sh("ip route del 10.110.5.7/32");
	x.gw = ip("10.1.0.254");
	cr_assert(control_loop_until(c, lookup_route_gives, &x, 2000),
		  "its removal gives the /24 back");
	sh("ip route del 10.110.5.0/24");
	x.rc = -ENETUNREACH;
	cr_assert(control_loop_until(c, lookup_route_gives, &x, 2000),
		  "the /24 removed, nothing covers it");
	sh("ip route add 10.110.0.0/16 via 10.1.0.253");
	x.rc = 0;
	x.gw = ip("10.1.0.253");
	cr_assert(control_loop_until(c, lookup_route_gives, &x, 2000),
		  "a covering /16 added later");
	x.addr = ip("10.110.6.1");
	x.gw = ip("10.1.0.254");
	cr_expect(lookup_route_gives(c, &x), "the other /24s stay more specific");
	xlb_nh_cache_free(c);
}

static bool lookup_via(struct xlb_nh_cache *c, const void *arg)
{
	const uint32_t *x = arg;	/* { addr, gw } */
	struct xlb_nh nh;

	return xlb_nh_lookup(c, x[0], &nh) == 0 && nh.gw == x[1];
}

/* A real server's next hop follows a route that moves it behind a gateway
 * (and back), while routes elsewhere leave it alone. */
Test(nexthop, a_route_change_over_a_wanted_address_is_followed)
{
	uint32_t x[2] = { ip("10.1.0.2"), ip("10.1.0.254") };
	struct xlb_nh_cache *c;
	struct xlb_nh nh;

	veth_lab();
	sh("ip neigh add 10.1.0.2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	sh("ip neigh add 10.1.0.254 lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	c = cache_new();
	cr_assert_eq(xlb_nh_want(c, x[0]), 0);
	cr_assert_eq(xlb_nh_lookup(c, x[0], &nh), 0);
	cr_expect_eq(nh.gw, 0);
	sh("ip route add 10.77.0.0/16 via 10.1.0.254");
	sh("ip route add 10.1.0.2/32 via 10.1.0.254");
	cr_assert(control_loop_until(c, lookup_via, x, 2000));
	cr_assert_eq(xlb_nh_lookup(c, x[0], &nh), 0);
	cr_expect_arr_eq(nh.dmac, MAC_2, 6, "the gateway's MAC");
	sh("ip route del 10.1.0.2/32");
	x[1] = 0;
	cr_assert(control_loop_until(c, lookup_via, x, 2000), "and back on-link");
	cr_assert_eq(xlb_nh_lookup(c, x[0], &nh), 0);
	cr_expect_arr_eq(nh.dmac, MAC_1, 6);
	xlb_nh_cache_free(c);
}

/* What a connection keeps: the slot of its real server's entry. A MAC
 * change is seen through it; a stale slot is never trusted. */
Test(nexthop, lookup_at_a_slot_sees_the_mac_of_now_and_never_another_address)
{
	struct expect x = { .addr = ip("10.1.0.2"), .dmac = MAC_2 };
	uint32_t slot = UINT32_MAX, slot2;
	struct xlb_nh_cache *c;
	struct xlb_nh nh;

	veth_lab();
	sh("ip neigh add 10.1.0.2 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	sh("ip neigh add 10.1.0.3 lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	c = cache_new();
	cr_assert_eq(xlb_nh_want(c, x.addr), 0);
	cr_assert_eq(xlb_nh_lookup_at(c, x.addr, &slot, &nh), 0);
	cr_assert_neq(slot, UINT32_MAX, "where it was found is kept");
	cr_expect_arr_eq(nh.dmac, MAC_1, 6);

	sh("ip neigh replace 10.1.0.2 lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	cr_assert(control_loop_until(c, lookup_matches, &x, 2000));
	slot2 = slot;
	cr_assert_eq(xlb_nh_lookup_at(c, x.addr, &slot2, &nh), 0);
	cr_expect_arr_eq(nh.dmac, MAC_2, 6, "the same slot gives the new MAC");
	cr_expect_eq(slot2, slot);

	cr_assert_eq(xlb_nh_unwant(c, x.addr), 0);
	cr_assert_eq(xlb_nh_want(c, ip("10.1.0.3")), 0);
	slot2 = slot;
	cr_expect_eq(xlb_nh_lookup_at(c, x.addr, &slot2, &nh), -ENOENT,
		     "a slot that no longer holds the address is not trusted");
	slot2 = 12345678;
	cr_expect_eq(xlb_nh_lookup_at(c, ip("10.1.0.3"), &slot2, &nh), 0,
		     "any hint is safe");
	cr_expect_arr_eq(nh.dmac, MAC_2, 6);
	xlb_nh_cache_free(c);
}

static bool hint_route_via(struct xlb_nh_cache *c, const void *arg)
{
	const uint32_t *gw = arg;
	static struct xlb_nh_hint h;
	struct xlb_nh nh;

	if (!*gw) {			/* reset */
		memset(&h, 0, sizeof(h));
		return true;
	}
	return xlb_nh_lookup_route_at(c, ip("10.55.1.1"), &h, &nh) == 0 &&
	       nh.gw == *gw && h.nhaddr == *gw;
}

/* What a NAT connection keeps for its replies: the neighbour towards the
 * client, trusted while no route changed. */
Test(nexthop, route_hint_is_trusted_only_until_a_route_changes)
{
	struct xlb_nh_hint h = { 0 };
	struct xlb_nh_cache *c;
	struct xlb_nh nh;
	uint32_t gen, gw = 0;

	veth_lab();
	sh("ip neigh add 10.1.0.254 lladdr 02:11:11:11:11:11 dev lbx0 nud permanent");
	sh("ip neigh add 10.1.0.253 lladdr 06:22:22:22:22:22 dev lbx0 nud permanent");
	sh("ip route add 10.55.0.0/16 via 10.1.0.254");
	c = cache_new();
	cr_assert_eq(xlb_nh_lookup_route_at(c, ip("10.55.1.1"), &h, &nh), 0);
	cr_expect_eq(h.nhaddr, ip("10.1.0.254"));
	cr_expect_eq(h.gen, xlb_nh_route_gen(c));
	cr_expect_arr_eq(nh.dmac, MAC_1, 6);
	gen = h.gen;

	(void)hint_route_via(c, &gw);
	gw = ip("10.1.0.254");
	cr_assert(hint_route_via(c, &gw));
	sh("ip route replace 10.55.0.0/16 via 10.1.0.253");
	gw = ip("10.1.0.253");
	cr_assert(control_loop_until(c, hint_route_via, &gw, 2000),
		  "the gateway change reaches a reader holding a hint");
	cr_expect_neq(xlb_nh_route_gen(c), gen, "the route generation moved");
	cr_assert_eq(xlb_nh_lookup_route_at(c, ip("10.55.1.1"), &h, &nh), 0);
	cr_expect_eq(nh.gw, ip("10.1.0.253"), "an old hint is not trusted");
	cr_expect_arr_eq(nh.dmac, MAC_2, 6);
	xlb_nh_cache_free(c);
}

/* ---- readers against the writer ------------------------------------- */

/* Every field is a function of k, so a mix of two publications shows. */
static struct xlb_nh pattern(uint32_t k)
{
	struct xlb_nh nh;
	int j;

	memset(&nh, 0, sizeof(nh));
	nh.ifindex = (int)k;
	for (j = 0; j < 6; j++) {
		nh.smac[j] = (uint8_t)(k >> (j % 4 * 8)) ^ (uint8_t)j;
		nh.dmac[j] = (uint8_t)(k * 7 + (uint32_t)j);
	}
	nh.src = k * 2654435761u;
	nh.gw = ~k;
	nh.mtu = k ^ 0x5a5a5a5au;
	return nh;
}

struct race {
	struct xlb_nh_cache *c;
	uint32_t addr;
	int      stop;
	uint64_t reads, torn, seen_changes;	/* atomic */
};

static void *reader(void *arg)
{
	struct race *r = arg;
	uint32_t last = 0;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct xlb_nh nh, want;

		if (xlb_nh_lookup(r->c, r->addr, &nh) != 0)
			continue;
		__atomic_fetch_add(&r->reads, 1, __ATOMIC_RELAXED);
		want = pattern((uint32_t)nh.ifindex);
		if (memcmp(&nh, &want, sizeof(nh)))
			__atomic_fetch_add(&r->torn, 1, __ATOMIC_RELAXED);
		if ((uint32_t)nh.ifindex != last)
			__atomic_fetch_add(&r->seen_changes, 1, __ATOMIC_RELAXED);
		last = (uint32_t)nh.ifindex;
	}
	return NULL;
}

Test(nexthop, lookups_concurrent_with_updates_never_return_a_torn_entry, .timeout = 30)
{
	struct xlb_nh_cache_params p;
	struct race r = { .addr = ip("10.1.0.2") };
	struct xlb_nh first = pattern(1);
	uint64_t end;
	pthread_t t;
	uint32_t k;

	fresh_netns();
	xlb_nh_cache_params_default(&p);
	cr_assert_eq(xlb_nh_cache_init(&r.c, &p), 0);
	cr_assert_eq(xlb_nh_want(r.c, r.addr), 0);
	cr_assert_eq(xlb_nh_cache_publish(r.c, r.addr, &first, 0), 0);
	cr_assert_eq(pthread_create(&t, NULL, reader, &r), 0);
	while (!__atomic_load_n(&r.reads, __ATOMIC_RELAXED))
		sched_yield();

	/* Publish until the reader has seen plenty of different entries,
	 * at most 15 s: other tests share the two CPUs, and on a loaded
	 * machine the reader may run beside the writer only now and then. */
	end = now_ms() + 15000;
	for (k = 2; now_ms() < end; k++) {
		struct xlb_nh nh = pattern(k);

		cr_assert_eq(xlb_nh_cache_publish(r.c, r.addr, &nh, 0), 0);
		if (!(k & 0xfff) &&
		    __atomic_load_n(&r.seen_changes, __ATOMIC_RELAXED) >= 100000)
			break;
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);

	cr_expect_geq(r.seen_changes, 1000,
		      "the reader overlapped the writer (%llu changes seen)",
		      (unsigned long long)r.seen_changes);
	cr_expect_eq(r.torn, 0, "%llu torn entries in %llu reads",
		     (unsigned long long)r.torn, (unsigned long long)r.reads);
	xlb_nh_cache_free(r.c);
}
