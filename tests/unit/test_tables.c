// SPDX-License-Identifier: GPL-2.0
/*
 * xlbd's tables: operation semantics (as IPVS: duplicates, missing entries,
 * DR/TUN ports, edits that keep what was not named), atomic refusal (a
 * refused request publishes nothing), rings rebuilt only where something
 * changed, long-lived counters, and QSBR reclamation of old snapshots.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <criterion/criterion.h>
#include <bpf/bpf.h>

#include "dp.h"
#include "ring.h"
#include "tables.h"
#include "xdp.h"

static struct xlb_tables *t;
static char err[256];

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

TestSuite(tables, .init = setup, .fini = teardown);

static uint32_t ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static struct xlb_svc_key key(uint8_t proto, const char *addr, uint16_t port)
{
	return (struct xlb_svc_key){ .addr.ip = ip(addr), .port = htons(port), .proto = proto };
}

static struct xlb_svc_cfg svc(uint8_t proto, const char *addr, uint16_t port)
{
	return (struct xlb_svc_cfg){ .key = key(proto, addr, port) };
}

static struct xlb_dest_cfg dest(const char *addr, uint16_t port, uint8_t fwd, uint32_t w)
{
	return (struct xlb_dest_cfg){ .addr.ip = ip(addr), .port = htons(port), .fwd = fwd,
				      .weight = w };
}

#define DEST_ALL (XLB_DEST_SET_PORT | XLB_DEST_SET_FWD | XLB_DEST_SET_WEIGHT)

static void add_svc(uint8_t proto, const char *addr, uint16_t port)
{
	struct xlb_svc_cfg c = svc(proto, addr, port);

	cr_assert_eq(xlb_tables_add_svc(t, &c, 0, err, sizeof(err)), 0, "%s", err);
}

static void add_dest(const struct xlb_svc_key *k, const char *addr, uint16_t port,
		     uint8_t fwd, uint32_t w)
{
	struct xlb_dest_cfg d = dest(addr, port, fwd, w);

	cr_assert_eq(xlb_tables_add_dest(t, k, &d, DEST_ALL, err, sizeof(err)), 0, "%s", err);
}

static const struct xlb_snap_svc *find(const struct xlb_svc_key *k)
{
	return xlb_snap_find(xlb_tables_current(t), k->proto, k->addr.ip, k->port);
}

Test(tables, new_tables_have_ipvs_default_timeouts_and_the_fixed_seed)
{
	const struct xlb_snap *s = xlb_tables_current(t);

	cr_expect_eq(s->nsvcs, 0);
	cr_expect_eq(s->timeouts.tcp, 900);
	cr_expect_eq(s->timeouts.tcp_fin, 120);
	cr_expect_eq(s->timeouts.udp, 300);
	cr_expect_eq(s->seed, XLB_TABLES_SEED_DEFAULT);
}

Test(tables, added_service_gets_defaults_for_unnamed_fields)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	const struct xlb_snap_svc *s;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	s = find(&k);
	cr_assert_not_null(s);
	cr_expect_str_eq(s->cfg.sched, "ring");
	cr_expect_eq(s->cfg.flags, 0);
	cr_expect_eq(s->cfg.netmask, 0xffffffff);
	cr_expect_eq(s->cfg.vnodes, XLB_VNODES_DEFAULT);
	cr_expect_eq(s->ndests, 0);
	cr_expect_not_null(s->ring, "an empty service still has a (pointless) ring");
	cr_expect_eq(xlb_ring_lookup(s->ring, 12345), -ENOENT);
}

Test(tables, persistent_service_without_timeout_gets_300_seconds)
{
	struct xlb_svc_cfg c = svc(IPPROTO_TCP, "10.0.0.1", 80);

	c.flags = XLB_SVC_F_PERSISTENT;
	cr_assert_eq(xlb_tables_add_svc(t, &c, XLB_SVC_SET_PERSIST, err, sizeof(err)), 0);
	cr_expect_eq(find(&c.key)->cfg.timeout, 300);
}

Test(tables, adding_an_existing_service_is_eexist_and_publishes_nothing)
{
	struct xlb_svc_cfg c = svc(IPPROTO_TCP, "10.0.0.1", 80);
	const struct xlb_snap *before;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	before = xlb_tables_current(t);
	cr_expect_eq(xlb_tables_add_svc(t, &c, 0, err, sizeof(err)), -EEXIST);
	cr_expect_str_eq(err, "service 10.0.0.1:80/tcp already exists");
	cr_expect_eq(xlb_tables_current(t), before);
	cr_expect_eq(before->nsvcs, 1);
}

Test(tables, same_address_and_port_with_another_protocol_is_another_service)
{
	add_svc(IPPROTO_TCP, "10.0.0.1", 53);
	add_svc(IPPROTO_UDP, "10.0.0.1", 53);
	cr_expect_eq(xlb_tables_current(t)->nsvcs, 2);
}

Test(tables, deleting_a_missing_service_is_esrch_as_ipvs)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.9", 80);
	const struct xlb_snap *before = xlb_tables_current(t);

	cr_expect_eq(xlb_tables_del_svc(t, &k, err, sizeof(err)), -ESRCH);
	cr_expect_str_eq(err, "no such service 10.0.0.9:80/tcp");
	cr_expect_eq(xlb_tables_current(t), before);
}

Test(tables, adding_a_server_to_a_missing_service_is_esrch)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.9", 80);
	struct xlb_dest_cfg d = dest("10.0.1.1", 80, XLB_FWD_DR, 1);

	cr_expect_eq(xlb_tables_add_dest(t, &k, &d, DEST_ALL, err, sizeof(err)), -ESRCH);
}

Test(tables, deleting_a_missing_server_is_enoent)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.1", 80, XLB_FWD_DR, 1);
	cr_expect_eq(xlb_tables_del_dest(t, &k, &(union xlb_inaddr){ .ip = ip("10.0.1.2") }, htons(80), err, sizeof(err)),
		     -ENOENT);
	cr_expect_str_eq(err, "no such real server 10.0.1.2:80 in service 10.0.0.1:80/tcp");
	cr_expect_eq(find(&k)->ndests, 1);
}

Test(tables, adding_an_existing_server_is_eexist)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_dest_cfg d = dest("10.0.1.1", 80, XLB_FWD_DR, 5);

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.1", 80, XLB_FWD_DR, 1);
	cr_expect_eq(xlb_tables_add_dest(t, &k, &d, DEST_ALL, err, sizeof(err)), -EEXIST);
	cr_expect_eq(find(&k)->dests[0].cfg.weight, 1);
}

Test(tables, server_port_defaults_to_the_service_port)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_dest_cfg d = { .addr.ip = ip("10.0.1.1") };

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	cr_assert_eq(xlb_tables_add_dest(t, &k, &d, 0, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(find(&k)->dests[0].cfg.port, htons(80));
	cr_expect_eq(find(&k)->dests[0].cfg.fwd, XLB_FWD_DR);
	cr_expect_eq(find(&k)->dests[0].cfg.weight, 1);
}

Test(tables, dr_server_with_another_port_is_einval_and_publishes_nothing)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_dest_cfg d = dest("10.0.1.1", 8080, XLB_FWD_DR, 1);
	const struct xlb_snap *before;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	before = xlb_tables_current(t);
	cr_expect_eq(xlb_tables_add_dest(t, &k, &d, DEST_ALL, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "DR requires the real-server port to equal the service port"),
		  "message: %s", err);
	cr_expect_eq(xlb_tables_current(t), before);
}

Test(tables, tun_server_with_another_port_is_einval)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_dest_cfg d = dest("10.0.1.1", 8080, XLB_FWD_TUN, 1);

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	cr_expect_eq(xlb_tables_add_dest(t, &k, &d, DEST_ALL, err, sizeof(err)), -EINVAL);
}

Test(tables, nat_server_may_use_another_port)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.1", 8080, XLB_FWD_NAT, 1);
	cr_expect_eq(find(&k)->dests[0].cfg.port, htons(8080));
}

Test(tables, switching_a_nat_server_with_another_port_to_dr_is_refused)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_dest_cfg d = dest("10.0.1.1", 8080, XLB_FWD_DR, 0);

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.1", 8080, XLB_FWD_NAT, 1);
	cr_expect_eq(xlb_tables_edit_dest(t, &k, &d, XLB_DEST_SET_FWD, err, sizeof(err)), -EINVAL);
	cr_expect_eq(find(&k)->dests[0].cfg.fwd, XLB_FWD_NAT);
}

Test(tables, refused_values_change_nothing)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_svc_cfg c = svc(IPPROTO_TCP, "10.0.0.2", 80);
	struct xlb_dest_cfg d = dest("10.0.1.2", 80, XLB_FWD_DR, 70000);
	const struct xlb_snap *before;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.1", 80, XLB_FWD_DR, 3);
	before = xlb_tables_current(t);

	cr_expect_eq(xlb_tables_add_dest(t, &k, &d, DEST_ALL, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "weight 70000 out of range 0..65535");
	strcpy(c.sched, "nosuch");
	cr_expect_eq(xlb_tables_add_svc(t, &c, XLB_SVC_SET_SCHED, err, sizeof(err)), -EINVAL);
	cr_expect_str_eq(err, "unknown scheduler \"nosuch\" (known: " XLB_SCHED_LIST ")");
	c = svc(IPPROTO_TCP, "10.0.0.1", 80);
	c.vnodes = 0;
	cr_expect_eq(xlb_tables_edit_svc(t, &c, XLB_SVC_SET_VNODES, err, sizeof(err)), -EINVAL);
	c.netmask = htonl(0xff00ff00);
	cr_expect_eq(xlb_tables_edit_svc(t, &c, XLB_SVC_SET_NETMASK, err, sizeof(err)), -EINVAL);
	c = svc(IPPROTO_ICMP, "10.0.0.3", 80);
	cr_expect_eq(xlb_tables_add_svc(t, &c, 0, err, sizeof(err)), -EPROTONOSUPPORT);

	cr_expect_eq(xlb_tables_current(t), before, "no snapshot was published");
	cr_expect_eq(before->nsvcs, 1);
	cr_expect_eq(before->svcs[0].ndests, 1);
	cr_expect_eq(before->svcs[0].dests[0].cfg.weight, 3);
	cr_expect_eq(before->svcs[0].cfg.vnodes, XLB_VNODES_DEFAULT);
}

Test(tables, editing_a_service_keeps_the_fields_not_named)
{
	struct xlb_svc_cfg c = svc(IPPROTO_TCP, "10.0.0.1", 80);
	const struct xlb_snap_svc *s;

	c.flags = XLB_SVC_F_PERSISTENT;
	c.timeout = 600;
	c.netmask = htonl(0xffffff00);
	cr_assert_eq(xlb_tables_add_svc(t, &c, XLB_SVC_SET_PERSIST | XLB_SVC_SET_NETMASK,
					err, sizeof(err)), 0, "%s", err);
	c = svc(IPPROTO_TCP, "10.0.0.1", 80);
	c.vnodes = 40;
	cr_assert_eq(xlb_tables_edit_svc(t, &c, XLB_SVC_SET_VNODES, err, sizeof(err)), 0, "%s", err);
	s = find(&c.key);
	cr_expect_eq(s->cfg.vnodes, 40);
	cr_expect_eq(s->cfg.flags, XLB_SVC_F_PERSISTENT);
	cr_expect_eq(s->cfg.timeout, 600);
	cr_expect_eq(s->cfg.netmask, htonl(0xffffff00));
}

Test(tables, editing_a_server_keeps_the_fields_not_named_and_its_counters)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_dest_cfg d = dest("10.0.1.1", 8080, XLB_FWD_DR, 9);
	struct xlb_cnt *cnt;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.1", 8080, XLB_FWD_NAT, 1);
	cnt = find(&k)->dests[0].cnt;
	cr_assert_eq(xlb_tables_edit_dest(t, &k, &d, XLB_DEST_SET_WEIGHT, err, sizeof(err)), 0,
		     "%s", err);
	cr_expect_eq(find(&k)->dests[0].cfg.weight, 9);
	cr_expect_eq(find(&k)->dests[0].cfg.fwd, XLB_FWD_NAT);
	cr_expect_eq(find(&k)->dests[0].cnt, cnt, "same long-lived counters");
}

Test(tables, weight_zero_server_is_kept_but_never_chosen_by_the_ring)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	const struct xlb_snap_svc *s;
	int zero, counts[2] = { 0 };

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.1", 80, XLB_FWD_DR, 1);
	add_dest(&k, "10.0.1.2", 80, XLB_FWD_DR, 0);
	s = find(&k);
	cr_assert_eq(s->ndests, 2);
	zero = xlb_snap_find_dest(s, ip("10.0.1.2"), htons(80));
	cr_assert_geq(zero, 0);
	for (uint32_t h = 0; h < 100000; h++) {
		int i = xlb_ring_lookup(s->ring, h * 2654435761u);

		cr_assert(i == 0 || i == 1);
		counts[i]++;
	}
	cr_expect_eq(counts[zero], 0, "weight 0 got %d of 100000 keys", counts[zero]);
}

Test(tables, services_are_sorted_and_found_whatever_the_insertion_order)
{
	const char *addrs[] = { "10.0.0.5", "10.0.0.1", "192.168.1.1", "10.0.0.3", "9.9.9.9" };
	const struct xlb_snap *s;

	for (size_t i = 0; i < 5; i++)
		add_svc(IPPROTO_UDP, addrs[i], 53);
	add_svc(IPPROTO_TCP, "200.0.0.1", 80);
	s = xlb_tables_current(t);
	cr_assert_eq(s->nsvcs, 6);
	cr_expect_eq(s->svcs[0].cfg.key.proto, IPPROTO_TCP, "TCP (6) before UDP (17)");
	cr_expect_eq(s->svcs[1].cfg.key.addr.ip, ip("9.9.9.9"));
	cr_expect_eq(s->svcs[5].cfg.key.addr.ip, ip("192.168.1.1"));
	for (size_t i = 0; i < 5; i++)
		cr_expect_not_null(xlb_snap_find(s, IPPROTO_UDP, ip(addrs[i]), htons(53)));
	cr_expect_null(xlb_snap_find(s, IPPROTO_TCP, ip("10.0.0.1"), htons(53)));
	cr_expect_null(xlb_snap_find(s, IPPROTO_UDP, ip("10.0.0.1"), htons(54)));
}

Test(tables, servers_are_sorted_by_address_and_ring_index_is_server_index)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	const struct xlb_snap_svc *s;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.30", 80, XLB_FWD_DR, 1);
	add_dest(&k, "10.0.1.4", 80, XLB_FWD_DR, 1);
	add_dest(&k, "10.0.1.200", 80, XLB_FWD_DR, 1);
	s = find(&k);
	cr_expect_eq(s->dests[0].cfg.addr.ip, ip("10.0.1.4"));
	cr_expect_eq(s->dests[1].cfg.addr.ip, ip("10.0.1.30"));
	cr_expect_eq(s->dests[2].cfg.addr.ip, ip("10.0.1.200"));
	cr_expect_eq(xlb_ring_members(s->ring), 3);
	/* A member owns a point whose identity matches the dest at its index:
	 * rebuild a ring over the dests in that order and compare. */
	struct xlb_ring_member m[3];
	struct xlb_ring *r;

	for (int i = 0; i < 3; i++)
		m[i] = (struct xlb_ring_member){ .addr = s->dests[i].cfg.addr.ip,
			.port = s->dests[i].cfg.port, .weight = 1 };
	cr_assert_eq(xlb_ring_build(&r, m, 3, s->cfg.vnodes, XLB_TABLES_SEED_DEFAULT), 0);
	for (uint32_t h = 0; h < 1000; h++)
		cr_expect_eq(xlb_ring_lookup(s->ring, h * 7919u), xlb_ring_lookup(r, h * 7919u));
	xlb_ring_free(r);
}

Test(tables, ring_is_rebuilt_only_for_the_changed_service)
{
	struct xlb_svc_key a = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_svc_key b = key(IPPROTO_TCP, "10.0.0.2", 80);
	const struct xlb_ring *ra, *rb;
	struct xlb_svc_cfg c = svc(IPPROTO_TCP, "10.0.0.2", 80);

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_svc(IPPROTO_TCP, "10.0.0.2", 80);
	add_dest(&a, "10.0.1.1", 80, XLB_FWD_DR, 1);
	add_dest(&b, "10.0.2.1", 80, XLB_FWD_DR, 1);
	ra = find(&a)->ring;
	rb = find(&b)->ring;
	add_dest(&a, "10.0.1.2", 80, XLB_FWD_DR, 1);
	cr_expect_neq(find(&a)->ring, ra, "A changed: new ring");
	cr_expect_eq(find(&b)->ring, rb, "B unchanged: same ring");
	c.flags = XLB_SVC_F_PERSISTENT;
	cr_assert_eq(xlb_tables_edit_svc(t, &c, XLB_SVC_SET_PERSIST, err, sizeof(err)), 0);
	cr_expect_eq(find(&b)->ring, rb, "persistence does not change the ring");
	c.vnodes = 10;
	cr_assert_eq(xlb_tables_edit_svc(t, &c, XLB_SVC_SET_VNODES, err, sizeof(err)), 0);
	cr_expect_neq(find(&b)->ring, rb, "vnodes do");
}

Test(tables, rings_depend_only_on_the_configuration)
{
	struct xlb_tables *t2;
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_svc_cfg c = svc(IPPROTO_TCP, "10.0.0.1", 80);
	const char *addrs[] = { "10.0.1.1", "10.0.1.2", "10.0.1.3" };

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	for (int i = 0; i < 3; i++)
		add_dest(&k, addrs[i], 80, XLB_FWD_DR, (uint32_t)i + 1);
	cr_assert_eq(xlb_tables_new(&t2), 0);
	cr_assert_eq(xlb_tables_add_svc(t2, &c, 0, err, sizeof(err)), 0);
	for (int i = 2; i >= 0; i--) {
		struct xlb_dest_cfg d = dest(addrs[i], 80, XLB_FWD_DR, (uint32_t)i + 1);

		cr_assert_eq(xlb_tables_add_dest(t2, &k, &d, DEST_ALL, err, sizeof(err)), 0);
	}
	cr_expect(xlb_ring_equal(find(&k)->ring,
				 xlb_snap_find(xlb_tables_current(t2), IPPROTO_TCP, k.addr.ip, k.port)->ring),
		  "same configuration in another order, another process: same ring");
	xlb_tables_free(t2);
}

Test(tables, flush_removes_every_service_and_keeps_timeouts)
{
	struct xlb_timeouts to = { .tcp = 100 };
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_cnt *c;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_svc(IPPROTO_UDP, "10.0.0.1", 53);
	add_dest(&k, "10.0.1.1", 80, XLB_FWD_DR, 1);
	c = find(&k)->dests[0].cnt;
	xlb_cnt_get(c);		/* as a connection entry would */
	cr_assert_eq(xlb_tables_set_timeouts(t, &to, err, sizeof(err)), 0);
	cr_assert_eq(xlb_tables_flush(t, err, sizeof(err)), 0);
	cr_expect_eq(xlb_tables_current(t)->nsvcs, 0);
	cr_expect_eq(xlb_tables_current(t)->timeouts.tcp, 100);
	cr_expect(atomic_load(&c->deleted), "the datapath is told the server is gone");
	xlb_cnt_put(c);
}

Test(tables, deleting_a_server_flags_its_counters_deleted_and_keeps_the_others)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_cnt *c1, *c2;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.1", 80, XLB_FWD_DR, 1);
	add_dest(&k, "10.0.1.2", 80, XLB_FWD_DR, 1);
	c1 = find(&k)->dests[0].cnt;
	c2 = find(&k)->dests[1].cnt;
	xlb_cnt_get(c1);
	cr_assert_eq(xlb_tables_del_dest(t, &k, &(union xlb_inaddr){ .ip = ip("10.0.1.1") }, htons(80), err, sizeof(err)), 0);
	cr_expect(atomic_load(&c1->deleted));
	cr_expect_not(atomic_load(&c2->deleted));
	cr_expect_not(atomic_load(&find(&k)->cnt->deleted));
	xlb_cnt_put(c1);
}

Test(tables, timeouts_zero_means_unchanged_and_out_of_range_is_refused)
{
	struct xlb_timeouts to = { .tcp_fin = 60 };
	const struct xlb_snap *before;

	cr_assert_eq(xlb_tables_set_timeouts(t, &to, err, sizeof(err)), 0);
	cr_expect_eq(xlb_tables_current(t)->timeouts.tcp, 900);
	cr_expect_eq(xlb_tables_current(t)->timeouts.tcp_fin, 60);
	cr_expect_eq(xlb_tables_current(t)->timeouts.udp, 300);
	before = xlb_tables_current(t);
	to = (struct xlb_timeouts){ .tcp = 10, .udp = XLB_TIMEOUT_MAX + 1 };
	cr_expect_eq(xlb_tables_set_timeouts(t, &to, err, sizeof(err)), -EINVAL);
	cr_expect_eq(xlb_tables_current(t), before);
	cr_expect_eq(before->timeouts.tcp, 900);
}

Test(tables, zero_resets_the_counters_of_all_or_of_one_service)
{
	struct xlb_svc_key a = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_svc_key b = key(IPPROTO_TCP, "10.0.0.2", 80);
	struct xlb_stats st;
	struct xlb_cnt *ca, *cb;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_svc(IPPROTO_TCP, "10.0.0.2", 80);
	ca = find(&a)->cnt;
	cb = find(&b)->cnt;
	XLB_CNT_ADD(ca, 0, inpkts, 5);
	XLB_CNT_ADD(ca, 3, inpkts, 7);
	XLB_CNT_ADD(ca, 3, inbytes, 700);
	XLB_CNT_ADD(cb, 1, conns, 2);
	xlb_cnt_read(ca, &st, NULL);
	cr_expect_eq(st.inpkts, 12, "sum over the worker slots");
	cr_expect_eq(st.inbytes, 700);

	cr_assert_eq(xlb_tables_zero(t, &a, err, sizeof(err)), 0);
	xlb_cnt_read(ca, &st, NULL);
	cr_expect_eq(st.inpkts, 0);
	cr_expect_eq(st.inbytes, 0);
	xlb_cnt_read(cb, &st, NULL);
	cr_expect_eq(st.conns, 2, "the other service keeps its counters");
	XLB_CNT_ADD(ca, 0, inpkts, 1);
	xlb_cnt_read(ca, &st, NULL);
	cr_expect_eq(st.inpkts, 1, "counting goes on after a zero");

	cr_assert_eq(xlb_tables_zero(t, NULL, err, sizeof(err)), 0);
	xlb_cnt_read(cb, &st, NULL);
	cr_expect_eq(st.conns, 0);
	b.port = htons(81);
	cr_expect_eq(xlb_tables_zero(t, &b, err, sizeof(err)), -ESRCH);
}

Test(tables, rate_estimator_converges_to_the_packet_rate)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_rates rt;
	struct xlb_cnt *c;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	c = find(&k)->cnt;
	xlb_tables_estimate(t);
	for (int i = 0; i < 60; i++) {
		/* 1000 packets and 10 connections per 2 s interval */
		XLB_CNT_ADD(c, i % 4, inpkts, 1000);
		XLB_CNT_ADD(c, i % 4, inbytes, 1000 * 100);
		XLB_CNT_ADD(c, 0, conns, 10);
		xlb_tables_estimate(t);
	}
	xlb_cnt_read(c, NULL, &rt);
	cr_expect_eq(rt.inpps, 500);
	cr_expect_eq(rt.cps, 5);
	cr_expect_eq(rt.inbps, 50000);
	cr_expect_eq(rt.outpps, 0);
}

static int commits;
static const struct xlb_snap *committed;

static void on_commit(const struct xlb_snap *s, void *arg)
{
	commits++;
	committed = s;
	cr_expect_eq(arg, &commits);
}

Test(tables, commit_callback_sees_each_published_snapshot_and_no_refused_one)
{
	struct xlb_svc_cfg c = svc(IPPROTO_TCP, "10.0.0.1", 80);

	commits = 0;
	xlb_tables_set_commit_cb(t, on_commit, &commits);
	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	cr_expect_eq(commits, 1);
	cr_expect_eq(committed, xlb_tables_current(t));
	cr_expect_eq(xlb_tables_add_svc(t, &c, 0, err, sizeof(err)), -EEXIST);
	cr_expect_eq(commits, 1);
}

Test(tables, a_batch_of_requests_is_applied_whole_or_not_at_all)
{
	struct xlb_req r[3] = { 0 };
	size_t failed = 99;
	const struct xlb_snap *before = xlb_tables_current(t);
	uint64_t gen;

	r[0].op = XLB_REQ_ADD_SVC;
	r[0].svc = svc(IPPROTO_TCP, "10.0.0.1", 80);
	r[1].op = XLB_REQ_ADD_DEST;
	r[1].svc = r[0].svc;
	r[1].dest = dest("10.0.1.1", 80, XLB_FWD_DR, 1);
	r[2].op = XLB_REQ_ADD_DEST;
	r[2].svc = svc(IPPROTO_TCP, "10.0.0.2", 80);	/* no such service */
	r[2].dest = dest("10.0.1.1", 80, XLB_FWD_DR, 1);
	cr_expect_eq(xlb_tables_apply_reqs(t, r, 3, &failed, err, sizeof(err)), -ESRCH);
	cr_expect_eq(failed, 2);
	cr_expect_eq(xlb_tables_current(t), before);
	cr_expect_eq(before->nsvcs, 0);
	gen = before->gen;	/* before is freed by the next publication */
	cr_expect_eq(xlb_tables_apply_reqs(t, r, 2, &failed, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(xlb_tables_current(t)->nsvcs, 1);
	cr_expect_eq(xlb_tables_current(t)->gen, gen + 1, "one snapshot for the batch");
}

/* ---- QSBR ---- */

Test(tables, without_readers_an_old_snapshot_is_freed_at_once)
{
	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_svc(IPPROTO_TCP, "10.0.0.2", 80);
	cr_expect_eq(xlb_tables_retired(t), 0);
}

Test(tables, old_snapshot_is_kept_until_the_reader_passes_a_quiescent_point)
{
	int r = xlb_tables_reader_register(t);
	const struct xlb_snap *held;

	cr_assert_geq(r, 0);
	held = xlb_tables_snap(t);
	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	cr_expect_eq(xlb_tables_retired(t), 1, "the reader may hold it");
	cr_expect_eq(held->nsvcs, 0, "still readable");
	xlb_tables_reclaim(t);
	cr_expect_eq(xlb_tables_retired(t), 1);
	xlb_tables_quiescent(t, r);
	xlb_tables_reclaim(t);
	cr_expect_eq(xlb_tables_retired(t), 0);
	xlb_tables_reader_unregister(t, r);
}

Test(tables, every_registered_reader_must_pass_a_quiescent_point)
{
	int r1 = xlb_tables_reader_register(t), r2 = xlb_tables_reader_register(t);

	cr_assert(r1 >= 0 && r2 >= 0 && r1 != r2);
	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_svc(IPPROTO_TCP, "10.0.0.2", 80);
	cr_expect_eq(xlb_tables_retired(t), 2);
	xlb_tables_quiescent(t, r1);
	xlb_tables_reclaim(t);
	cr_expect_eq(xlb_tables_retired(t), 2, "r2 has not passed");
	xlb_tables_quiescent(t, r2);
	xlb_tables_reclaim(t);
	cr_expect_eq(xlb_tables_retired(t), 0);
	xlb_tables_reader_unregister(t, r1);
	xlb_tables_reader_unregister(t, r2);
}

Test(tables, a_reader_passed_before_the_swap_still_holds_the_new_retiree)
{
	int r = xlb_tables_reader_register(t);

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	xlb_tables_quiescent(t, r);
	add_svc(IPPROTO_TCP, "10.0.0.2", 80);
	xlb_tables_reclaim(t);
	cr_expect_eq(xlb_tables_retired(t), 1,
		     "the first retiree is free, the second was retired after the quiescent point");
	xlb_tables_reader_unregister(t, r);
}

Test(tables, an_offline_or_unregistered_reader_holds_nothing)
{
	int r = xlb_tables_reader_register(t);

	xlb_tables_reader_offline(t, r);
	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	cr_expect_eq(xlb_tables_retired(t), 0);
	xlb_tables_reader_online(t, r);
	add_svc(IPPROTO_TCP, "10.0.0.2", 80);
	cr_expect_eq(xlb_tables_retired(t), 1);
	xlb_tables_reader_unregister(t, r);
	xlb_tables_reclaim(t);
	cr_expect_eq(xlb_tables_retired(t), 0);
}

Test(tables, reader_slots_are_bounded)
{
	int ids[XLB_MAX_WORKERS];

	for (int i = 0; i < XLB_MAX_WORKERS; i++)
		cr_assert_geq(ids[i] = xlb_tables_reader_register(t), 0);
	cr_expect_eq(xlb_tables_reader_register(t), -ENOSPC);
	for (int i = 0; i < XLB_MAX_WORKERS; i++)
		xlb_tables_reader_unregister(t, ids[i]);
}

/*
 * A reader thread and a writer at full speed: the reader must only ever see
 * whole snapshots (every server of service i has weight i + 1, a new
 * snapshot has a larger gen). Meant for SAN=1 / valgrind too, where a
 * reclamation bug shows as a use after free.
 */
struct stress {
	struct xlb_tables *t;
	atomic_bool stop;
	int id;
	long bad, loops;
};

static void *stress_reader(void *arg)
{
	struct stress *s = arg;
	uint64_t last = 0;

	while (!atomic_load(&s->stop)) {
		const struct xlb_snap *snap = xlb_tables_snap(s->t);

		if (snap->gen < last)
			s->bad++;
		last = snap->gen;
		for (uint32_t i = 0; i < snap->nsvcs; i++)
			for (uint32_t j = 0; j < snap->svcs[i].ndests; j++)
				if (snap->svcs[i].dests[j].cfg.weight !=
				    (uint32_t)(ntohs(snap->svcs[i].cfg.key.port) - 1000 + 1))
					s->bad++;
		s->loops++;
		xlb_tables_quiescent(s->t, s->id);
	}
	return NULL;
}

Test(tables, concurrent_reader_sees_only_whole_snapshots)
{
	struct stress s = { .t = t };
	pthread_t th;

	s.id = xlb_tables_reader_register(t);
	cr_assert_eq(pthread_create(&th, NULL, stress_reader, &s), 0);
	for (int round = 0; round < 300; round++) {
		uint16_t port = 1000 + round % 8;
		struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", port);
		struct xlb_svc_cfg c = { .key = k };

		if (!find(&k)) {
			cr_assert_eq(xlb_tables_add_svc(t, &c, 0, err, sizeof(err)), 0);
			for (int d = 0; d < 4; d++) {
				char a[32];

				snprintf(a, sizeof(a), "10.0.%d.%d", round % 8, d + 1);
				add_dest(&k, a, port, XLB_FWD_DR, port - 1000 + 1);
			}
		} else {
			cr_assert_eq(xlb_tables_del_svc(t, &k, err, sizeof(err)), 0);
		}
		xlb_tables_reclaim(t);
	}
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	xlb_tables_reader_unregister(t, s.id);
	xlb_tables_reclaim(t);
	cr_expect_eq(s.bad, 0, "%ld inconsistent reads in %ld loops", s.bad, s.loops);
	cr_expect_eq(xlb_tables_retired(t), 0, "nothing leaks once the reader is gone");
}

/* A request is ~100 bytes, a weight-65535 ring ~10 MiB: the sum of all
 * rings' points is bounded, so requests cannot grow xlbd without bound. */
Test(tables, ring_points_beyond_the_budget_are_refused_and_change_nothing)
{
	const struct xlb_snap *before;
	uint64_t total = 0;
	int i, ret = 0;

	for (i = 1; i < 200 && ret == 0; i++) {
		char vip[32];
		struct xlb_svc_cfg c;
		struct xlb_dest_cfg d = dest("10.9.0.1", 80, XLB_FWD_DR, XLB_WEIGHT_MAX);

		snprintf(vip, sizeof(vip), "10.8.%d.%d", i / 250, i % 250 + 1);
		c = svc(IPPROTO_TCP, vip, 80);
		add_svc(IPPROTO_TCP, vip, 80);
		before = xlb_tables_current(t);
		ret = xlb_tables_add_dest(t, &c.key, &d, DEST_ALL, err, sizeof(err));
		if (ret == 0)
			total += xlb_ring_points(find(&c.key)->ring);
	}
	cr_assert_eq(ret, -ENOSPC, "refused after %d services, %llu points", i - 1,
		     (unsigned long long)total);
	cr_assert_leq(total, XLB_TABLES_MAX_POINTS);
	cr_assert_eq(xlb_tables_current(t), before, "a refused request publishes nothing");
	cr_assert(strstr(err, "points"), "the refusal says why: %s", err);
	fprintf(stderr, "tables: ring budget held at %llu points after %d services of weight 65535\n",
		(unsigned long long)total, i - 2);
}

/* ---- lifetime of a deleted server's counters (issue 10, item 8) ---- */

/*
 * The interleaving that freed a server's counters under a worker: the
 * worker is already on the snapshot without the server (so that snapshot
 * no longer holds the counters), copies the counter pointer out of the
 * server's connection entry (struct xlb_conn_view.dest) and drops the
 * stripe lock; the control thread then flushes the entry, dropping the
 * last reference, and reclaims. The worker still counts into the pointer
 * before its next quiescent point: that memory must still be the counters.
 * (Before the fix the last put freed it at once: SAN=1 reports the
 * worker's write as a heap-use-after-free.)
 */
Test(tables, a_counter_dropped_to_zero_lives_until_every_reader_passes_a_quiescent_point)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_stats st;
	struct xlb_cnt *c, *view_dest;
	int r = xlb_tables_reader_register(t);

	cr_assert_geq(r, 0);
	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.1", 80, XLB_FWD_NAT, 1);
	c = find(&k)->dests[0].cnt;
	xlb_cnt_get(c);			/* a connection entry bound to it */
	XLB_CNT_ADD(c, 0, inpkts, 41);

	cr_assert_eq(xlb_tables_del_dest(t, &k, &(union xlb_inaddr){ .ip = ip("10.0.1.1") }, htons(80), err, sizeof(err)), 0);
	xlb_tables_quiescent(t, r);	/* the worker moves to the new snapshot */
	xlb_tables_reclaim(t);		/* the old one (and its reference) goes */
	cr_expect_eq(xlb_tables_retired(t), 0);

	view_dest = c;			/* xlb_conn_out() copied it out */
	xlb_cnt_put(c);			/* the control thread flushes the entry */
	xlb_tables_reclaim(t);
	cr_expect_eq(xlb_tables_cnt_waiting(t), 1,
		     "unreferenced, but a reader has not passed a quiescent point since");

	XLB_CNT_ADD(view_dest, 0, inpkts, 1);	/* count_out() */
	xlb_cnt_read(view_dest, &st, NULL);
	cr_expect_eq(st.inpkts, 42, "the worker's pointer is still the server's counters");

	xlb_tables_quiescent(t, r);
	xlb_tables_reclaim(t);
	cr_expect_eq(xlb_tables_cnt_waiting(t), 0, "freed once the reader passed");
	xlb_tables_reader_unregister(t, r);
}

static void *put_thread(void *c)
{
	xlb_cnt_put(c);
	return NULL;
}

Test(tables, a_counter_last_put_from_another_thread_is_freed_by_the_writer)
{
	struct xlb_svc_key k = key(IPPROTO_TCP, "10.0.0.1", 80);
	struct xlb_cnt *c;
	pthread_t th;

	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	add_dest(&k, "10.0.1.1", 80, XLB_FWD_DR, 1);
	c = find(&k)->dests[0].cnt;
	xlb_cnt_get(c);
	cr_assert_eq(xlb_tables_del_dest(t, &k, &(union xlb_inaddr){ .ip = ip("10.0.1.1") }, htons(80), err, sizeof(err)), 0);
	/* A worker rescheduling or expiring the last entry drops the last ref. */
	cr_assert_eq(pthread_create(&th, NULL, put_thread, c), 0);
	pthread_join(th, NULL);
	cr_expect_eq(xlb_tables_cnt_waiting(t), 1, "queued for the writer, not freed");
	xlb_tables_reclaim(t);
	cr_expect_eq(xlb_tables_cnt_waiting(t), 0, "no reader registered: freed at once");
}

Test(tables, a_grace_period_passes_when_every_online_reader_has_quiesced)
{
	int r1 = xlb_tables_reader_register(t), r2 = xlb_tables_reader_register(t);
	uint64_t g;

	cr_assert(r1 >= 0 && r2 >= 0);
	g = xlb_tables_grace_begin(t);
	cr_expect_not(xlb_tables_grace_passed(t, g));
	xlb_tables_quiescent(t, r1);
	cr_expect_not(xlb_tables_grace_passed(t, g), "r2 has not passed");
	xlb_tables_reader_offline(t, r2);
	cr_expect(xlb_tables_grace_passed(t, g), "an offline reader holds nothing");
	cr_expect(xlb_tables_grace_wait(t, g, 1000));
	xlb_tables_reader_online(t, r2);
	g = xlb_tables_grace_begin(t);
	cr_expect_not(xlb_tables_grace_wait(t, g, 1000), "nobody quiesces: times out");
	xlb_tables_reader_unregister(t, r1);
	xlb_tables_reader_unregister(t, r2);
}

/* ---- the prepare callback: a change is refused before publication ---- */

static int refuse_udp(const struct xlb_snap *cand, void *arg, char *e, size_t elen)
{
	(*(int *)arg)++;
	for (uint32_t i = 0; i < cand->nsvcs; i++)
		if (cand->svcs[i].cfg.key.proto == IPPROTO_UDP) {
			snprintf(e, elen, "no UDP here");
			return -ENOSPC;
		}
	return 0;
}

Test(tables, a_change_the_prepare_callback_refuses_publishes_nothing)
{
	struct xlb_req r[2] = { 0 };
	const struct xlb_snap *before;
	size_t failed = 99;
	int calls = 0;

	xlb_tables_set_prepare_cb(t, refuse_udp, &calls);
	add_svc(IPPROTO_TCP, "10.0.0.1", 80);
	cr_expect_eq(calls, 1);
	before = xlb_tables_current(t);
	r[0].op = XLB_REQ_ADD_SVC;
	r[0].svc = svc(IPPROTO_TCP, "10.0.0.2", 80);
	r[1].op = XLB_REQ_ADD_SVC;
	r[1].svc = svc(IPPROTO_UDP, "10.0.0.2", 53);
	cr_expect_eq(xlb_tables_apply_reqs(t, r, 2, &failed, err, sizeof(err)), -ENOSPC);
	cr_expect_str_eq(err, "no UDP here");
	cr_expect_eq(failed, 2, "the whole batch was refused, not one request");
	cr_expect_eq(xlb_tables_current(t), before);
	cr_expect_eq(xlb_tables_apply_req(t, &r[1], err, sizeof(err)), -ENOSPC);
	cr_expect_eq(xlb_tables_current(t), before);
	cr_expect_eq(xlb_tables_apply_req(t, &r[0], err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(xlb_tables_current(t)->nsvcs, 2);
}

/* ---- the XDP maps are part of the transaction (issue 10, item 5) ----
 * A real steering program's maps (xlb_xdp_open: needs root; skipped loudly
 * otherwise), fed by the datapath's own prepare step. */

static struct xlb_xdp *xx;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int xdp_prepare(const struct xlb_snap *cand, void *arg, char *e, size_t elen)
{
	return xlb_dp_prepare_xdp(arg, cand, e, elen);
}

static void xdp_setup(void)
{
	int rc;

	if (geteuid() != 0)
		cr_skip_test("SKIPPED: needs root (CAP_BPF) for the XDP maps");
	setup();
	rc = xlb_xdp_open(&xx, XLB_XDP_NATIVE);
	cr_assert_eq(rc, 0, "xlb_xdp_open: %s", xlb_xdp_errmsg());
	xlb_tables_set_prepare_cb(t, xdp_prepare, xx);
}

static void xdp_teardown(void)
{
	teardown();
	xlb_xdp_close(xx);
	xx = NULL;
}

TestSuite(tables_xdp, .init = xdp_setup, .fini = xdp_teardown, .timeout = 120);

/* Every key of a map, sorted. */
static size_t map_keys(int fd, uint64_t **out)
{
	uint64_t cur, prev, *k = NULL;
	size_t n = 0, cap = 0;
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : &prev, &cur) == 0) {
		first = false;
		prev = cur;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			k = realloc(k, cap * sizeof(*k));
			cr_assert_not_null(k);
		}
		k[n++] = cur;
	}
	qsort(k, n, sizeof(*k), cmp_u64);
	*out = k;
	return n;
}

static bool map_has_svc(const struct xlb_svc_key *sk)
{
	struct xlb_bpf_svc_key k = { .addr = sk->addr.ip, .port = sk->port, .proto = sk->proto };
	uint64_t v = 0;

	return bpf_map_lookup_elem(xlb_xdp_services_fd(xx), &k, &v) == 0;
}

static bool map_has_rs(uint32_t addr, uint16_t port, uint8_t proto)
{
	struct xlb_rs_key k = { .addr = addr, .port = port, .proto = proto };
	uint64_t v = 0;

	return bpf_map_lookup_elem(xlb_xdp_nat_rs_fd(xx), &k, &v) == 0;
}

static struct xlb_req req_svc(enum xlb_req_op op, uint32_t vip, uint16_t port)
{
	struct xlb_req r = { .op = op };

	r.svc.key = (struct xlb_svc_key){ .addr.ip = vip, .port = htons(port), .proto = IPPROTO_TCP };
	r.svc.vnodes = XLB_VNODES_MIN;	/* keeps 16384 servers' rings small */
	return r;
}

static struct xlb_req req_nat(enum xlb_req_op op, uint32_t vip, uint32_t rip, uint16_t rport)
{
	struct xlb_req r = req_svc(op, vip, 80);

	r.dest = (struct xlb_dest_cfg){ .addr.ip = rip, .port = htons(rport),
					.fwd = XLB_FWD_NAT, .weight = 1 };
	return r;
}

/* NAT server i of n: 64 services of 256 servers, every (RIP, port) distinct. */
static uint32_t vip_of(unsigned int s) { return htonl(0x0a000000u | (s + 1)); }
static uint32_t rip_of(unsigned int i) { return htonl(0x0b000000u | (i + 1)); }

/* The tables (and maps) at the nat_rs limit: 64 services, 16384 NAT servers. */
static void fill_nat(unsigned int n)
{
	struct xlb_req *r = calloc(64 + n, sizeof(*r));
	size_t k = 0, failed = 0;
	int rc;

	cr_assert_not_null(r);
	for (unsigned int s = 0; s < 64; s++)
		r[k++] = req_svc(XLB_REQ_ADD_SVC, vip_of(s), 80);
	for (unsigned int i = 0; i < n; i++)
		r[k++] = req_nat(XLB_REQ_ADD_DEST, vip_of(i % 64), rip_of(i), 8080);
	rc = xlb_tables_apply_reqs(t, r, k, &failed, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	free(r);
}

Test(tables_xdp, a_batch_past_the_nat_rs_map_is_refused_whole_and_the_maps_stay_as_they_were)
{
	uint64_t *before_s, *before_r, *after_s, *after_r;
	size_t nbs, nbr, nas, nar, failed = 0;
	uint32_t max_rs;
	const struct xlb_snap *before;
	struct xlb_req r[3];

	xlb_xdp_capacity(xx, NULL, &max_rs);
	cr_assert_eq(max_rs, 16384);
	fill_nat(max_rs);
	nbs = map_keys(xlb_xdp_services_fd(xx), &before_s);
	nbr = map_keys(xlb_xdp_nat_rs_fd(xx), &before_r);
	cr_assert_eq(nbs, 64);
	cr_assert_eq(nbr, max_rs, "16384 NAT servers: the map is full, every one translated");

	/* A new service with one more NAT server: 16385 keys. */
	before = xlb_tables_current(t);
	r[0] = req_svc(XLB_REQ_ADD_SVC, vip_of(100), 80);
	r[1] = req_nat(XLB_REQ_ADD_DEST, vip_of(100), rip_of(max_rs), 8080);
	cr_expect_eq(xlb_tables_apply_reqs(t, r, 2, &failed, err, sizeof(err)), -ENOSPC);
	cr_expect(strstr(err, "nat_rs") && strstr(err, "16384") && strstr(err, "16385"),
		  "the message names the map, its limit and the need: %s", err);
	cr_expect_eq(xlb_tables_current(t), before, "nothing published");
	nas = map_keys(xlb_xdp_services_fd(xx), &after_s);
	nar = map_keys(xlb_xdp_nat_rs_fd(xx), &after_r);
	cr_expect_eq(nas, nbs);
	cr_expect_eq(nar, nbr);
	cr_expect_arr_eq(after_s, before_s, nbs * 8, "services map exactly as before");
	cr_expect_arr_eq(after_r, before_r, nbr * 8, "nat_rs map exactly as before");
	cr_expect_not(map_has_svc(&r[0].svc.key), "the new VIP is not steered");

	/* The same server on a port already in the map is the same key. */
	r[1] = req_nat(XLB_REQ_ADD_DEST, vip_of(100), rip_of(0), 8080);
	cr_expect_eq(xlb_tables_apply_reqs(t, r, 2, &failed, err, sizeof(err)), 0,
		     "a key shared by two services counts once: %s", err);
	cr_expect(map_has_svc(&r[0].svc.key));
	free(before_s);
	free(before_r);
	free(after_s);
	free(after_r);
}

Test(tables_xdp, swapping_one_vip_or_one_nat_server_at_the_maps_limits_works)
{
	uint32_t max_svc, max_rs;
	struct xlb_req *r, sw[2];
	struct xlb_svc_key gone, added;
	size_t failed = 0;
	uint64_t *keys;

	xlb_xdp_capacity(xx, &max_svc, &max_rs);
	cr_assert_eq(max_svc, XLB_TABLES_MAX_SVCS);
	r = calloc(max_svc, sizeof(*r));
	cr_assert_not_null(r);
	for (unsigned int s = 0; s < max_svc; s++)
		r[s] = req_svc(XLB_REQ_ADD_SVC, vip_of(s), 80);
	cr_assert_eq(xlb_tables_apply_reqs(t, r, max_svc, &failed, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(map_keys(xlb_xdp_services_fd(xx), &keys), max_svc);
	free(keys);
	free(r);

	/* One batch: delete VIP 7, add a new one (the services map is full). */
	sw[0] = req_svc(XLB_REQ_DEL_SVC, vip_of(7), 80);
	sw[1] = req_svc(XLB_REQ_ADD_SVC, vip_of(max_svc + 1), 80);
	gone = sw[0].svc.key;
	added = sw[1].svc.key;
	cr_expect_eq(xlb_tables_apply_reqs(t, sw, 2, &failed, err, sizeof(err)), 0, "%s", err);
	cr_expect(map_has_svc(&added), "the new VIP is steered");
	cr_expect_not(map_has_svc(&gone), "the old VIP is not");
	cr_expect_eq(map_keys(xlb_xdp_services_fd(xx), &keys), max_svc);
	free(keys);

	/* Back to 64 services, then the nat_rs map full: swap one server. */
	cr_assert_eq(xlb_tables_flush(t, err, sizeof(err)), 0, "%s", err);
	fill_nat(max_rs);
	sw[0] = req_nat(XLB_REQ_DEL_DEST, vip_of(5), rip_of(5), 8080);
	sw[1] = req_nat(XLB_REQ_ADD_DEST, vip_of(5), rip_of(max_rs + 7), 8080);
	cr_expect_eq(xlb_tables_apply_reqs(t, sw, 2, &failed, err, sizeof(err)), 0, "%s", err);
	cr_expect(map_has_rs(rip_of(max_rs + 7), htons(8080), IPPROTO_TCP),
		  "the new NAT server's replies are translated");
	cr_expect_not(map_has_rs(rip_of(5), htons(8080), IPPROTO_TCP));
	cr_expect_eq(map_keys(xlb_xdp_nat_rs_fd(xx), &keys), max_rs);
	free(keys);
}

/*
 * A map failure in the middle of a change: someone else's entries fill the
 * nat_rs map behind xlbd's back, so that the capacity check passes but the
 * second add fails (E2BIG) after a delete, a service add and one NAT add
 * were done. All of it is undone and nothing is published.
 */
Test(tables_xdp, a_map_failure_mid_change_is_rolled_back_and_publishes_nothing)
{
	uint64_t *before_s, *before_r, *after_s, *after_r;
	size_t nbs, nbr, nas, nar, failed = 0;
	const struct xlb_snap *before;
	struct xlb_req r[4];
	uint32_t max_rs, i;
	struct xlb_rs_key fk;

	xlb_xdp_capacity(xx, NULL, &max_rs);
	fill_nat(100);
	for (i = 0; i < max_rs - 100; i++) {
		fk = (struct xlb_rs_key){ .addr = htonl(0x0c000000u | i), .port = htons(9),
					  .proto = IPPROTO_UDP };
		cr_assert_eq(xlb_xdp_nat_rs_set(xx, &fk, true), 0, "%s", xlb_xdp_errmsg());
	}
	nbs = map_keys(xlb_xdp_services_fd(xx), &before_s);
	nbr = map_keys(xlb_xdp_nat_rs_fd(xx), &before_r);
	cr_assert_eq(nbr, max_rs);
	before = xlb_tables_current(t);

	r[0] = req_nat(XLB_REQ_DEL_DEST, vip_of(3), rip_of(3), 8080);
	r[1] = req_svc(XLB_REQ_ADD_SVC, vip_of(200), 80);
	r[2] = req_nat(XLB_REQ_ADD_DEST, vip_of(200), rip_of(1000), 8080);
	r[3] = req_nat(XLB_REQ_ADD_DEST, vip_of(200), rip_of(1001), 8080);
	cr_expect_eq(xlb_tables_apply_reqs(t, r, 4, &failed, err, sizeof(err)), -E2BIG);
	cr_expect(strstr(err, "nat_rs") && strstr(err, "undone"), "%s", err);
	cr_expect_eq(failed, 4);
	cr_expect_eq(xlb_tables_current(t), before, "nothing published");
	nas = map_keys(xlb_xdp_services_fd(xx), &after_s);
	nar = map_keys(xlb_xdp_nat_rs_fd(xx), &after_r);
	cr_expect_eq(nas, nbs);
	cr_expect_eq(nar, nbr);
	cr_expect_arr_eq(after_s, before_s, nbs * 8, "services map exactly as before");
	cr_expect_arr_eq(after_r, before_r, nbr * 8, "nat_rs map exactly as before");
	cr_expect(map_has_rs(rip_of(3), htons(8080), IPPROTO_TCP), "the deleted server is back");

	/* With room again, the same change goes through. */
	fk.addr = htonl(0x0c000000u);
	cr_assert_eq(xlb_xdp_nat_rs_set(xx, &fk, false), 0);
	cr_expect_eq(xlb_tables_apply_reqs(t, r, 4, &failed, err, sizeof(err)), 0, "%s", err);
	cr_expect(map_has_rs(rip_of(1001), htons(8080), IPPROTO_TCP));
	cr_expect_not(map_has_rs(rip_of(3), htons(8080), IPPROTO_TCP));
	free(before_s);
	free(before_r);
	free(after_s);
	free(after_r);
}

/* The datapath's boundary (issue 14, phase 1): the tables know IPv6
 * services, the XDP maps and the datapath do not yet, so a change that
 * adds one is refused whole with a sentence, and nothing is published. */
Test(tables_xdp, an_ipv6_service_goes_to_services6_and_its_nat_servers_to_nat_rs6)
{
	struct xlb_req r[3] = { req_svc(XLB_REQ_ADD_SVC, vip_of(1), 80),
				req_svc(XLB_REQ_ADD_SVC, 0, 80),
				req_svc(XLB_REQ_ADD_SVC, 0, 80) };
	struct xlb_req d;
	struct xlb_svc6_key k6 = { .port = htons(80), .proto = IPPROTO_TCP }, next6;
	struct xlb_rs6_key r6 = { .port = htons(8080), .proto = IPPROTO_TCP };
	struct xlb_svc_val val;
	struct xlb_rs_val rval;
	size_t failed;
	int n = 0;

	r[1].svc.key.af = AF_INET6;
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8::1", &r[1].svc.key.addr.in6), 1);
	r[1].svc.netmask = 128;
	cr_expect_eq(xlb_tables_apply_reqs(t, r, 2, &failed, err, sizeof(err)), 0, "%s", err);
	cr_expect(map_has_svc(&r[0].svc.key), "the IPv4 service in services");
	memcpy(k6.addr, &r[1].svc.key.addr, 16);
	cr_expect_eq(bpf_map_lookup_elem(xlb_xdp_services6_fd(xx), &k6, &val), 0,
		     "the IPv6 service in services6");
	/* Nothing else in services6: the IPv4 VIP is not put there too. */
	for (void *prev = NULL; !bpf_map_get_next_key(xlb_xdp_services6_fd(xx), prev, &next6);
	     prev = &next6)
		n++;
	cr_expect_eq(n, 1);

	/* A NAT server of the IPv6 service goes into nat_rs6. */
	d = req_nat(XLB_REQ_ADD_DEST, 0, 0, 8080);
	d.svc = r[1].svc;
	d.dest.af = AF_INET6;
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8::11", &d.dest.addr.in6), 1);
	d.dest.port = htons(8080);
	d.dest.fwd = XLB_FWD_NAT;
	d.dest.weight = 1;
	cr_expect_eq(xlb_tables_apply_reqs(t, &d, 1, &failed, err, sizeof(err)), 0, "%s", err);
	memcpy(r6.addr, &d.dest.addr, 16);
	cr_expect_eq(bpf_map_lookup_elem(xlb_xdp_nat_rs6_fd(xx), &r6, &rval), 0,
		     "the IPv6 NAT server in nat_rs6");
	(void)r[2];
}
