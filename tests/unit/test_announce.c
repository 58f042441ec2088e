// SPDX-License-Identifier: GPL-2.0
/*
 * Announce while healthy (announce.h): which VIPs are announced, given
 * the tables (servers up, down by their checks, quiesced, a sorry server,
 * a quorum) and the workers' progress; and --announce-table's argument.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>
#include <criterion/criterion.h>

#include "announce.h"
#include "ipvsadm.h"
#include "metrics.h"
#include "tables.h"

static struct xlb_tables *t;
static char err[512];

static uint32_t ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void apply(const char *line)
{
	static char buf[2048];
	char *argv[64], *w, *save = NULL;
	struct xlb_req r;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	argv[argc++] = (char *)"xlbctl";
	for (w = strtok_r(buf, " ", &save); w && argc < 63; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	cr_assert_eq(xlb_ipvsadm_parse(argc, argv, &r, err, sizeof(err)), 0, "%s: %s", line, err);
	cr_assert_eq(xlb_tables_apply_req(t, &r, err, sizeof(err)), 0, "%s: %s", line, err);
}

/* Real server rip of service vip:port (TCP) down or up, as the checker
 * would report it. */
static void health(const char *vip, uint16_t port, const char *rip, bool down)
{
	const struct xlb_snap_svc *s = xlb_snap_find(xlb_tables_current(t), IPPROTO_TCP,
						     ip(vip), htons(port));
	struct xlb_health_change c = { .addr.ip = ip(rip), .port = htons(port), .down = down };
	size_t applied = 0;
	int j;

	cr_assert(s, "%s:%u", vip, port);
	j = xlb_snap_find_dest(s, ip(rip), htons(port));
	cr_assert_geq(j, 0, "%s", rip);
	c.svc = s->cfg.key;
	c.hgen = s->dests[j].hgen;
	cr_assert_eq(xlb_tables_set_health(t, &c, 1, &applied, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(applied, 1);
}

/* The announced VIPs as "a b c" (dotted, in order). */
static const char *vips(bool workers_ok)
{
	static char out[1024];
	struct xlb_announce_vip v[64];
	size_t n = xlb_announce_vips(xlb_tables_current(t), workers_ok, v, 64), len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(v[i].af, &v[i].addr, a, sizeof(a));
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? " " : "", a);
	}
	return out;
}

static void setup(void)
{
	cr_assert_eq(xlb_tables_new(&t), 0);
	err[0] = '\0';
}

static void teardown(void)
{
	xlb_tables_free(t);
	t = NULL;
}

TestSuite(announce_decision, .init = setup, .fini = teardown);

Test(announce_decision, no_service_no_route)
{
	cr_assert_str_eq(vips(true), "");
}

Test(announce_decision, a_vip_with_a_server_up_is_announced_once_sorted)
{
	apply("-A -t 10.0.0.9:80");
	apply("-a -t 10.0.0.9:80 -r 10.0.1.1");
	apply("-A -t 10.0.0.1:443");
	apply("-a -t 10.0.0.1:443 -r 10.0.1.1");
	apply("-A -t 10.0.0.1:80");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.2");
	apply("-A -u 10.0.0.1:53");
	apply("-a -u 10.0.0.1:53 -r 10.0.1.2");
	/* 10.0.0.9 sorts after 10.0.0.1 by host order, not by bytes in
	 * memory (on a little-endian host its uint32 is smaller). */
	cr_assert_str_eq(vips(true), "10.0.0.1 10.0.0.9",
			 "one route per VIP, whatever the number of its services");
}

Test(announce_decision, a_service_without_real_servers_does_not_announce)
{
	apply("-A -t 10.0.0.1:80");
	cr_assert_str_eq(vips(true), "");
}

Test(announce_decision, every_server_down_withdraws_only_that_vip)
{
	apply("-A -t 10.0.0.1:80 --check tcp");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.2");
	apply("-A -t 10.0.0.2:80 --check tcp");
	apply("-a -t 10.0.0.2:80 -r 10.0.1.3");
	cr_assert_str_eq(vips(true), "10.0.0.1 10.0.0.2");
	health("10.0.0.1", 80, "10.0.1.1", true);
	cr_assert_str_eq(vips(true), "10.0.0.1 10.0.0.2", "one server left up: still served");
	health("10.0.0.1", 80, "10.0.1.2", true);
	cr_assert_str_eq(vips(true), "10.0.0.2", "every server of 10.0.0.1 down");
	health("10.0.0.1", 80, "10.0.1.2", false);
	cr_assert_str_eq(vips(true), "10.0.0.1 10.0.0.2", "back when one comes back");
}

Test(announce_decision, one_serving_service_is_enough_for_its_vip)
{
	apply("-A -t 10.0.0.1:80 --check tcp");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1");
	apply("-A -t 10.0.0.1:443");
	apply("-a -t 10.0.0.1:443 -r 10.0.1.2");
	health("10.0.0.1", 80, "10.0.1.1", true);
	cr_assert_str_eq(vips(true), "10.0.0.1", ":443 still takes connections");
}

Test(announce_decision, quiesced_servers_do_not_serve)
{
	apply("-A -t 10.0.0.1:80");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1 -w 0");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.2 -w 0");
	cr_assert_str_eq(vips(true), "", "weight 0 takes no new connection");
	apply("-e -t 10.0.0.1:80 -r 10.0.1.2 -w 3");
	cr_assert_str_eq(vips(true), "10.0.0.1");
}

Test(announce_decision, a_sorry_server_keeps_the_vip_announced)
{
	apply("-A -t 10.0.0.1:80 --check tcp --sorry-server 10.0.2.1:80");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1");
	health("10.0.0.1", 80, "10.0.1.1", true);
	cr_assert_str_eq(vips(true), "10.0.0.1", "new connections go to the sorry server");
}

Test(announce_decision, below_quorum_without_a_sorry_server_does_not_serve)
{
	apply("-A -t 10.0.0.1:80 --check tcp --quorum 2");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.2");
	cr_assert_str_eq(vips(true), "10.0.0.1");
	health("10.0.0.1", 80, "10.0.1.1", true);
	cr_assert_str_eq(vips(true), "", "weight 1 up, quorum 2: connections refused");
	apply("-E -t 10.0.0.1:80 --sorry-server 10.0.2.1:80");
	cr_assert_str_eq(vips(true), "10.0.0.1", "below quorum with a sorry server");
}

Test(announce_decision, stalled_workers_withdraw_everything)
{
	apply("-A -t 10.0.0.1:80");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1");
	apply("-A -t 10.0.0.2:80 --sorry-server 10.0.2.1:80");
	cr_assert_str_eq(vips(false), "");
	cr_assert_str_eq(vips(true), "10.0.0.1 10.0.0.2");
}

Test(announce_decision, out_is_bounded_by_max)
{
	struct xlb_announce_vip v[2] = { { .addr.ip = 0 }, { .addr.ip = 0xdeadbeef } };

	apply("-A -t 10.0.0.1:80");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1");
	apply("-A -t 10.0.0.2:80");
	apply("-a -t 10.0.0.2:80 -r 10.0.1.1");
	cr_assert_eq(xlb_announce_vips(xlb_tables_current(t), true, v, 1), 1);
	cr_assert_eq(v[1].addr.ip, 0xdeadbeef, "nothing written past max");
}

/* ---- worker progress ---- */

Test(announce_progress, moving_workers_never_stall)
{
	struct xlb_announce_progress p = { 0 };
	uint64_t b[2] = { 0, 0 };

	for (uint64_t ms = 1000; ms < 10000; ms += 100) {
		b[0]++;
		b[1] += 7;
		cr_assert_eq(xlb_announce_progress(&p, b, 2, ms), 0, "at %lu ms", (unsigned long)ms);
	}
}

Test(announce_progress, a_worker_without_progress_for_a_second_stalls_and_recovers)
{
	struct xlb_announce_progress p = { 0 };
	uint64_t b[3] = { 5, 5, 5 };
	uint64_t ms = 1000;

	cr_assert_eq(xlb_announce_progress(&p, b, 3, ms), 0, "the first call starts the clocks");
	for (int i = 0; i < 9; i++) {
		ms += 100;
		b[0]++;
		b[2]++;
		cr_assert_eq(xlb_announce_progress(&p, b, 3, ms), 0, "900 ms is not a stall");
	}
	ms += 100;
	b[0]++;
	b[2]++;
	cr_assert_eq(xlb_announce_progress(&p, b, 3, ms), 1, "worker 1, 1000 ms without progress");
	ms += 100;
	b[1]++;
	cr_assert_eq(xlb_announce_progress(&p, b, 3, ms), 0, "worker 1 moved again");
	/* Now only worker 0 moves: worker 2 (last moved at 2000 ms) stalls at
	 * 3000, worker 1 (2100) at 3100. */
	for (int i = 0; i < 8; i++) {
		ms += 100;
		b[0]++;
		cr_assert_eq(xlb_announce_progress(&p, b, 3, ms), 0);
	}
	ms += 100;
	cr_assert_eq(xlb_announce_progress(&p, b, 3, ms), 1, "worker 2 at 3000 ms");
	ms += 100;
	cr_assert_eq(xlb_announce_progress(&p, b, 3, ms), 2, "and worker 1 at 3100 ms");
}

Test(announce_progress, a_gap_in_the_callers_ticks_is_not_a_stall)
{
	struct xlb_announce_progress p = { 0 };
	uint64_t b[1] = { 1 };

	cr_assert_eq(xlb_announce_progress(&p, b, 1, 1000), 0);
	/* The control thread itself did not run for 5 s (SIGSTOP): the
	 * workers get a fresh second before they are judged. */
	cr_assert_eq(xlb_announce_progress(&p, b, 1, 6000), 0);
	cr_assert_eq(xlb_announce_progress(&p, b, 1, 6900), 0);
	cr_assert_eq(xlb_announce_progress(&p, b, 1, 7000), 1);
}

Test(announce_progress, a_new_worker_count_restarts_the_clocks)
{
	struct xlb_announce_progress p = { 0 };
	uint64_t b[2] = { 1, 1 };
	uint64_t ms;

	cr_assert_eq(xlb_announce_progress(&p, b, 1, 1000), 0);
	for (ms = 1100; ms <= 2000; ms += 100)
		(void)xlb_announce_progress(&p, b, 1, ms);
	cr_assert_eq(xlb_announce_progress(&p, b, 1, 2100), 1);
	cr_assert_eq(xlb_announce_progress(&p, b, 2, 2200), 0);
}

/* ---- --announce-table ---- */

static void refused(const char *arg)
{
	uint32_t v = 77;

	err[0] = '\0';
	cr_assert_eq(xlb_announce_parse_table(arg, &v, err, sizeof(err)), -EINVAL, "\"%s\"", arg);
	cr_assert_eq(v, 77, "\"%s\": nothing written", arg);
	cr_assert(strstr(err, "--announce-table") && strstr(err, "from 1 to 252"),
		  "\"%s\": %s", arg, err);
}

Test(announce_args, table_numbers_1_to_252_are_taken)
{
	uint32_t v = 0;

	cr_assert_eq(xlb_announce_parse_table("1", &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 1);
	cr_assert_eq(xlb_announce_parse_table("100", &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 100);
	cr_assert_eq(xlb_announce_parse_table("252", &v, err, sizeof(err)), 0);
	cr_assert_eq(v, 252);
}

Test(announce_args, others_are_refused_with_a_sentence)
{
	refused("0");
	refused("253");
	refused("254");
	refused("255");
	refused("abc");
	refused("");
	refused("-1");
	refused("+5");
	refused("1x");
	refused("4294967397");
	refused("99999999999999999999999");
	cr_assert(strstr(err, "\"99999999999999999999999\""), "names the value: %s", err);
}

/* ---- Prometheus ---- */

Test(announce_metrics, every_counter_has_a_typed_family)
{
	struct { const char *n, *family; enum xlb_prom_type t; } want[] = {
		{ "routes", "xlb_announce_routes", XLB_PROM_GAUGE },
		{ "table", "xlb_announce_table", XLB_PROM_GAUGE },
		{ "workers_stalled", "xlb_announce_workers_stalled", XLB_PROM_GAUGE },
		{ "guard_alive", "xlb_announce_guard_alive", XLB_PROM_GAUGE },
		{ "announcements", "xlb_announce_announcements_total", XLB_PROM_COUNTER },
		{ "withdrawals", "xlb_announce_withdrawals_total", XLB_PROM_COUNTER },
		{ "guard_withdrawals", "xlb_announce_guard_withdrawals_total", XLB_PROM_COUNTER },
		{ "worker_stalls", "xlb_announce_worker_stalls_total", XLB_PROM_COUNTER },
		{ "netlink_errors", "xlb_announce_netlink_errors_total", XLB_PROM_COUNTER },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct xlb_metrics_ctr m;

		xlb_metrics_map_counter("announce", want[i].n, &m);
		cr_assert_str_eq(m.family, want[i].family, "%s", want[i].n);
		cr_assert_eq(m.type, want[i].t, "%s", want[i].n);
		cr_assert(m.classified, "%s", want[i].n);
	}
}

/* ---- IPv6 VIPs (issue 14) ---- */

static void health6(const char *vip, const char *rip, bool down)
{
	struct xlb_svc_key k;
	union xlb_inaddr ra = { .ip6 = { 0 } };
	const struct xlb_snap_svc *s;
	struct xlb_health_change c;
	size_t applied = 0;
	int j;

	memset(&k, 0, sizeof(k));
	memset(&c, 0, sizeof(c));
	k.af = AF_INET6;
	k.proto = IPPROTO_TCP;
	k.port = htons(80);
	cr_assert_eq(inet_pton(AF_INET6, vip, &k.addr.in6), 1);
	cr_assert_eq(inet_pton(AF_INET6, rip, &ra.in6), 1);
	s = xlb_snap_find_key(xlb_tables_current(t), &k);
	cr_assert(s, "[%s]:80", vip);
	j = xlb_snap_find_dest_af(s, AF_INET6, &ra, htons(80));
	cr_assert_geq(j, 0, "%s", rip);
	c.svc = s->cfg.key;
	c.addr = ra;
	c.port = htons(80);
	c.down = down;
	c.hgen = s->dests[j].hgen;
	cr_assert_eq(xlb_tables_set_health(t, &c, 1, &applied, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(applied, 1);
}

Test(announce_decision, ipv6_vips_follow_ipv4_in_numeric_order_once_each)
{
	apply("-A -t [fd00::9]:80");
	apply("-a -t [fd00::9]:80 -r [fd00::11]:80");
	apply("-A -t [fd00::1]:443");
	apply("-a -t [fd00::1]:443 -r [fd00::11]:443");
	apply("-A -t [fd00::1]:80 --check tcp");
	apply("-a -t [fd00::1]:80 -r [fd00::12]:80");
	apply("-A -t [fd00::2]:80");
	apply("-a -t [fd00::2]:80 -r [fd00::13]:80 -w 0");
	apply("-A -t 10.0.0.1:80");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1");
	cr_assert_str_eq(vips(true), "10.0.0.1 fd00::1 fd00::9",
			 "a quiesced IPv6 service does not serve");
	cr_assert_str_eq(vips(false), "", "stalled workers withdraw IPv6 too");
	apply("-D -t [fd00::1]:443");
	cr_assert_str_eq(vips(true), "10.0.0.1 fd00::1 fd00::9");
	health6("fd00::1", "fd00::12", true);
	cr_assert_str_eq(vips(true), "10.0.0.1 fd00::9", "its only server down");
}

/* The routes of table 42 of protocol 250 in family (-4/-6), one line. */
static const char *routes42(const char *fam)
{
	static char out[1024];
	char cmd[128];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ip %s route show table 42 proto 250 | tr '\\n' ';'", fam);
	p = popen(cmd, "r");
	cr_assert(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

struct an_ctr {
	const char *name;
	uint64_t v;
};

static int an_ctr_get(const char *group, const char *name, uint64_t v, void *arg)
{
	struct an_ctr *k = arg;

	(void)group;
	if (!strcmp(name, k->name))
		k->v = v;
	return 0;
}

Test(announce_kernel, ipv6_vips_get_a_128_blackhole_and_every_flush_takes_both_families,
     .init = setup, .fini = teardown, .timeout = 30)
{
	struct xlb_announce *a;
	uint64_t now = 1000000;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) ||
	    system("ip link set lo up 2>/dev/null"))
		cr_skip_test("needs root: a network namespace of its own");
	/* An earlier run's routes of both families, and someone else's. */
	cr_assert_eq(system("ip route add blackhole 10.9.9.9/32 table 42 proto 250 && "
			    "ip -6 route add blackhole fd00::77/128 table 42 proto 250 && "
			    "ip -6 route add blackhole fd00::78/128 table 42 proto static"), 0);
	cr_assert_eq(xlb_announce_new(&a, 42, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(routes42("-4"), "", "stale IPv4 route removed at start");
	cr_assert_str_eq(routes42("-6"), "", "stale IPv6 route removed at start");
	apply("-A -t [fd00::1]:80 --check tcp");
	apply("-a -t [fd00::1]:80 -r [fd00::12]:80");
	apply("-A -t 10.0.0.1:80");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1");
	/* A VIP another protocol routes already: the IPv6 table holds one
	 * route per prefix and metric, so it is left alone (not ours). */
	apply("-A -t [fd00::78]:80");
	apply("-a -t [fd00::78]:80 -r [fd00::12]:80");
	xlb_announce_attach(a, t, NULL, NULL);
	xlb_announce_tick(a, now);
	cr_assert(strstr(routes42("-4"), "blackhole 10.0.0.1"), "%s", routes42("-4"));
	cr_assert(strstr(routes42("-6"), "blackhole fd00::1 "), "%s", routes42("-6"));
	cr_assert(!strstr(routes42("-6"), "fd00::78"), "%s", routes42("-6"));
	{
		struct an_ctr k = { "routes", UINT64_MAX };

		cr_assert_eq(xlb_announce_dump_counters(a, an_ctr_get, &k), 0);
		cr_expect_eq(k.v, 2, "routes held: 10.0.0.1 and fd00::1, not fd00::78");
	}
	/* Someone removes ours: the resync puts it back. */
	cr_assert_eq(system("ip -6 route del blackhole fd00::1/128 table 42 proto 250"), 0);
	xlb_announce_tick(a, now += 1500);
	cr_assert(strstr(routes42("-6"), "blackhole fd00::1 "), "re-added: %s", routes42("-6"));
	/* Its only server down: withdrawn, the IPv4 one stays. */
	health6("fd00::1", "fd00::12", true);
	xlb_announce_tick(a, now += 100);
	cr_assert_str_eq(routes42("-6"), "");
	cr_assert(strstr(routes42("-4"), "blackhole 10.0.0.1"), "%s", routes42("-4"));
	health6("fd00::1", "fd00::12", false);
	xlb_announce_tick(a, now += 100);
	cr_assert(strstr(routes42("-6"), "blackhole fd00::1 "), "%s", routes42("-6"));
	/* Stopping withdraws both families; someone else's route stays. */
	xlb_announce_free(a);
	cr_assert_str_eq(routes42("-4"), "");
	cr_assert_str_eq(routes42("-6"), "");
	cr_assert_eq(system("ip -6 route show table 42 | grep -q 'fd00::78 .*proto static'"), 0,
		     "another protocol's route is never touched");
	/* xlbd --withdraw takes both too. */
	cr_assert_eq(system("ip route add blackhole 10.9.9.9/32 table 42 proto 250 && "
			    "ip -6 route add blackhole fd00::77/128 table 42 proto 250"), 0);
	cr_assert_eq(xlb_announce_withdraw_table(42, err, sizeof(err)), 2, "%s", err);
	cr_assert_str_eq(routes42("-6"), "");
}
