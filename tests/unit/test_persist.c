// SPDX-License-Identifier: GPL-2.0
/*
 * Persistence templates in the connection table, as IPVS's: made by a
 * client's first connection to a persistent service, reused by its later
 * connections without the scheduler, held while they live, expiring
 * TIMEOUT after the last one is gone, grouped by the netmask, kept for a
 * quiesced server and dropped for a deleted one, listed as ipvsadm -Lnc
 * shows them, and handed over through the state file.
 *
 * The fake daemon does what dp.c does around the table: a scheduler that
 * defers a persistent service's new flow (XLB_CONN_SCHED_DEFER), then
 * binds it to its template's server; templates are scheduled by a round
 * robin over live servers of non-zero weight, so that any connection that
 * asked the scheduler again would land elsewhere.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "conn.h"
#include "xlb-t.h"

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_ACK	0x10

#define SEC	1000ull
#define T0	(1000 * SEC)
#define TMO	60		/* the service's persistence timeout, s */
#define NDEST	4

#define CIP(n)	(0x0a010000u + (n))	/* 10.1.x.y clients */
#define VIP	0xc0000201u
#define RIP(n)	(0x0a000001u + (n))

struct dest {
	int id;
	uint32_t addr;
	uint16_t port;
	uint32_t weight;
	uint8_t fwd;
	bool alive;
	long active, inactive, persist;	/* atomic in the stress test */
};

struct fake {
	struct dest d[NDEST];
	int ndest;
	uint32_t mask;			/* network order */
	unsigned int rr;		/* round robin position */
	long sched_calls;		/* times a server was chosen */
	const struct xlb_conn_view *tmpl;
};

static struct fake F;
static struct xlb_conn_tab *T;

static void on_count(void *arg, const void *dest, int da, int di)
{
	struct dest *d = (struct dest *)dest;

	(void)arg;
	__atomic_fetch_add(&d->active, da, __ATOMIC_RELAXED);
	__atomic_fetch_add(&d->inactive, di, __ATOMIC_RELAXED);
}

static void on_persist(void *arg, const void *dest, int delta)
{
	(void)arg;
	__atomic_fetch_add(&((struct dest *)dest)->persist, delta, __ATOMIC_RELAXED);
}

static bool dest_alive(void *arg, const void *dest)
{
	(void)arg;
	return ((const struct dest *)dest)->alive;
}

static void bind_to(struct dest *d, struct xlb_conn_target *tg)
{
	tg->dest = d;
	tg->daddr = d->addr;
	tg->dport = d->port;
	tg->fwd = d->fwd;
	memset(tg->bind, d->id + 1, sizeof(tg->bind));
}

/* The scheduler proper: round robin over live servers of weight > 0. */
static int choose(struct xlb_conn_target *tg)
{
	for (int i = 0; i < F.ndest; i++) {
		struct dest *d = &F.d[F.rr++ % (unsigned int)F.ndest];

		if (d->alive && d->weight) {
			F.sched_calls++;
			bind_to(d, tg);
			return 0;
		}
	}
	return -EHOSTUNREACH;
}

/* For a template's port-0 tuple. */
static int sched_tmpl(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *tg)
{
	(void)arg;
	cr_assert_eq(k->sport, 0);
	return choose(tg);
}

/* For a connection: deferred until its template is known (dp_persist_pick). */
static int sched_conn(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *tg)
{
	(void)arg;
	(void)k;
	if (!F.tmpl)
		return XLB_CONN_SCHED_DEFER;
	for (int i = 0; i < F.ndest; i++)
		if (F.d[i].addr == F.tmpl->reply.saddr && F.d[i].port == F.tmpl->reply.sport) {
			bind_to(&F.d[i], tg);
			return 0;
		}
	return choose(tg);
}

static struct xlb_conn_key key(uint8_t proto, uint32_t caddr, uint16_t cport)
{
	struct xlb_conn_key k;

	memset(&k, 0, sizeof(k));
	k.proto = proto;
	k.saddr = htonl(caddr);
	k.sport = htons(cport);
	k.daddr = htonl(VIP);
	k.dport = htons(80);
	return k;
}

static struct xlb_conn_key tmpl_key(const struct xlb_conn_key *k)
{
	struct xlb_conn_key tk = *k;

	tk.saddr &= F.mask;
	tk.sport = 0;
	return tk;
}

/* One packet of flow k, as dp_in() does it: 1 created, 0 existed. */
static int pkt(const struct xlb_conn_key *k, uint8_t flags, uint64_t now,
	       struct xlb_conn_view *v)
{
	struct xlb_conn_key tk = tmpl_key(k);
	struct xlb_conn_view tv;
	uint32_t ref;
	int rc;

	rc = xlb_conn_in(T, k, flags, now, sched_conn, &F, v);
	if (rc != -EINPROGRESS)
		return rc;
	rc = xlb_conn_tmpl_get(T, &tk, TMO, now, sched_tmpl, &F, &tv, &ref);
	if (rc < 0)
		return rc;
	cr_assert_neq(ref, 0u);
	F.tmpl = &tv;
	rc = xlb_conn_in_tmpl(T, k, flags, now, sched_conn, &F, ref, v);
	F.tmpl = NULL;
	return rc;
}

/* The server a new connection of client c (port p) lands on. */
static int server_of(uint32_t c, uint16_t p, uint64_t now)
{
	struct xlb_conn_key k = key(IPPROTO_TCP, c, p);
	struct xlb_conn_view v;

	cr_assert_eq(pkt(&k, F_SYN, now, &v), 1, "connection %u:%u not created", c, p);
	return ((const struct dest *)v.dest)->id;
}

/* T, a table of max_conns with the fake's callbacks (state_path: NULL,
 * or the state file it keeps over a restart). */
static void open_table(uint32_t max_conns, uint32_t seed, const char *state_path)
{
	struct xlb_conn_params p;

	xlb_conn_params_default(&p);
	p.max_conns = max_conns;
	p.seed = seed;
	p.on_count = on_count;
	p.on_persist = on_persist;
	p.dest_alive = dest_alive;
	p.cb_arg = &F;
	p.state_path = state_path;
	cr_assert_eq(xlb_conn_init(&T, &p), 0);
}

/* The servers' counts back to zero, as a new table sees them. */
static void zero_counts(void)
{
	for (int i = 0; i < NDEST; i++)
		F.d[i].persist = F.d[i].active = F.d[i].inactive = 0;
}

static void setup(void)
{
	memset(&F, 0, sizeof(F));
	F.ndest = 3;		/* d[3] is added by tests */
	F.mask = 0xffffffff;
	for (int i = 0; i < NDEST; i++) {
		F.d[i].id = i;
		F.d[i].addr = htonl(RIP(i));
		F.d[i].port = htons(80);
		F.d[i].weight = 1;
		F.d[i].fwd = XLB_FWD_DR;
		F.d[i].alive = true;
	}
	open_table(4096, 777, NULL);
}

static void teardown(void)
{
	cr_expect_eq(xlb_conn_verify(T), 0, "table invariants");
	xlb_conn_free(T);
	T = NULL;
}

static struct xlb_conn_stats stats(void)
{
	struct xlb_conn_stats s;

	xlb_conn_get_stats(T, &s);
	return s;
}

struct listing {
	struct xlb_conn_entry tmpl[8];
	int ntmpl, nconn;
};

static int list_cb(void *arg, const struct xlb_conn_entry *ci)
{
	struct listing *l = arg;

	if (ci->tmpl && l->ntmpl < 8)
		l->tmpl[l->ntmpl++] = *ci;
	else if (!ci->tmpl)
		l->nconn++;
	return 0;
}

static struct listing list(uint64_t now)
{
	struct listing l;

	memset(&l, 0, sizeof(l));
	xlb_conn_foreach(T, now, list_cb, &l);
	return l;
}

/* The template of client c, as xlb_conn_tmpl_get() would give it (and
 * its reference dropped again): how many connections it controls. */
static int controlled(uint32_t c, uint64_t now)
{
	struct xlb_conn_key k = key(IPPROTO_TCP, c, 1), tk = tmpl_key(&k);
	struct xlb_conn_view tv;
	uint32_t ref;
	int n, rc;

	rc = xlb_conn_tmpl_get(T, &tk, TMO, now, sched_tmpl, &F, &tv, &ref);
	cr_assert_geq(rc, 0);
	n = xlb_conn_tmpl_controlled(T, ref) - 1;	/* less our own */
	xlb_conn_tmpl_put(T, ref, now);
	return n;
}

TestSuite(persist, .init = setup, .fini = teardown, .timeout = 30);

Test(persist, a_clients_first_connection_makes_a_template_listed_as_ipvsadm_shows_it)
{
	struct xlb_conn_key k = key(IPPROTO_TCP, CIP(1), 40000);
	struct xlb_conn_view v;
	struct listing l;
	int id;

	cr_assert_eq(pkt(&k, F_SYN, T0, &v), 1);
	id = ((const struct dest *)v.dest)->id;
	cr_expect_eq(stats().templates, 1u);
	cr_expect_eq(stats().count, 2u, "the connection and its template");
	cr_expect_eq(F.d[id].persist, 1, "PersistConn counts the template");
	cr_expect_eq(F.d[id].inactive, 1, "the connection alone is a connection");
	cr_expect_eq(F.d[id].active, 0);

	l = list(T0 + 1500);
	cr_assert_eq(l.ntmpl, 1);
	cr_expect_eq(l.nconn, 1);
	/* TCP 00:59  NONE  10.1.0.1:0  192.0.2.1:80  10.0.0.x:80 */
	cr_expect_eq(l.tmpl[0].orig.saddr, htonl(CIP(1)));
	cr_expect_eq(l.tmpl[0].orig.sport, 0);
	cr_expect_eq(l.tmpl[0].orig.daddr, htonl(VIP));
	cr_expect_eq(l.tmpl[0].orig.dport, htons(80));
	cr_expect_eq(l.tmpl[0].daddr, F.d[id].addr);
	cr_expect_eq(l.tmpl[0].dport, F.d[id].port);
	cr_expect_str_eq(l.tmpl[0].state_name, "NONE");
	cr_expect_eq(l.tmpl[0].expires_s, TMO - 1);
}

Test(persist, a_udp_template_is_listed_in_state_UDP)
{
	struct xlb_conn_key k = key(IPPROTO_UDP, CIP(1), 5353);
	struct xlb_conn_view v;
	struct listing l;

	cr_assert_eq(pkt(&k, 0, T0, &v), 1);
	l = list(T0);
	cr_assert_eq(l.ntmpl, 1);
	cr_expect_str_eq(l.tmpl[0].state_name, "UDP");
	cr_expect_eq(l.tmpl[0].orig.proto, IPPROTO_UDP);
}

Test(persist, later_connections_reuse_the_template_while_servers_are_added_and_weights_change)
{
	int first = server_of(CIP(1), 1000, T0), i;

	cr_expect_eq(F.sched_calls, 1, "only the template asked the scheduler");
	for (i = 1; i <= 5; i++)
		cr_expect_eq(server_of(CIP(1), (uint16_t)(1000 + i), T0 + i * SEC), first);
	/* A heavier server arrives, the others' weights change: the
	 * scheduler would now choose differently. */
	F.ndest = 4;
	F.d[3].weight = 10;
	F.d[first].weight = 1;
	F.d[(first + 1) % 3].weight = 7;
	for (i = 6; i <= 20; i++)
		cr_expect_eq(server_of(CIP(1), (uint16_t)(1000 + i), T0 + i * SEC), first);
	cr_expect_eq(F.sched_calls, 1);
	cr_expect_eq(stats().templates, 1u);
	cr_expect_eq(controlled(CIP(1), T0 + 30 * SEC), 21);
	/* Other clients are scheduled: round robin spreads them. */
	cr_expect_neq(server_of(CIP(2), 1, T0 + 31 * SEC), server_of(CIP(3), 1, T0 + 31 * SEC));
	cr_expect_eq(stats().templates, 3u);
}

Test(persist, the_netmask_groups_clients_into_one_template)
{
	int a, b, c;

	F.mask = htonl(0xffffff00);	/* -M 255.255.255.0 */
	a = server_of(0x0a010001u, 1, T0);		/* 10.1.0.1 */
	b = server_of(0x0a01004du, 1, T0);		/* 10.1.0.77 */
	c = server_of(0x0a010105u, 1, T0);		/* 10.1.1.5 */
	cr_expect_eq(a, b, "one /24, one server");
	cr_expect_neq(a, c, "another /24 asked the round robin again");
	cr_expect_eq(stats().templates, 2u);
	cr_expect_eq(F.sched_calls, 2);
	struct listing l = list(T0);

	cr_assert_eq(l.ntmpl, 2);
	for (int i = 0; i < 2; i++)
		cr_expect(l.tmpl[i].orig.saddr == htonl(0x0a010000u) ||
			  l.tmpl[i].orig.saddr == htonl(0x0a010100u),
			  "the template's source is the masked address");
}

Test(persist, the_template_is_held_while_it_controls_connections_and_expires_timeout_after_the_last)
{
	struct xlb_conn_key k = key(IPPROTO_TCP, CIP(1), 40000);
	struct xlb_conn_view v;
	struct listing l;
	uint64_t t1;

	cr_assert_eq(pkt(&k, F_SYN, T0, &v), 1);
	cr_assert_eq(pkt(&k, F_ACK, T0 + 1, &v), 0);	/* ESTABLISHED: 900 s */
	/* Far past the template's own timeout: the connection holds it. */
	xlb_conn_expire(T, T0 + 5 * TMO * SEC, 0);
	l = list(T0 + 5 * TMO * SEC);
	cr_assert_eq(l.ntmpl, 1, "a controlled template never expires");
	cr_expect_gt(l.tmpl[0].expires_s, 0u, "shown as IPVS's re-armed timer");
	cr_expect_leq(l.tmpl[0].expires_s, (uint32_t)TMO);
	cr_expect_eq(controlled(CIP(1), T0 + 5 * TMO * SEC), 1);

	/* The connection resets and is freed when its CLOSE state (10 s)
	 * runs out. */
	cr_assert_eq(pkt(&k, F_RST, T0 + 5 * TMO * SEC, &v), 0);
	t1 = T0 + 5 * TMO * SEC + 10 * SEC;
	cr_expect_eq(xlb_conn_expire(T, t1, 0), 1u, "the connection, not the template");
	cr_expect_eq(stats().templates, 1u);
	xlb_conn_expire(T, t1 + TMO * SEC - 1, 0);
	cr_expect_eq(stats().templates, 1u, "held for TIMEOUT after the last connection");
	cr_expect_eq(xlb_conn_expire(T, t1 + TMO * SEC, 0), 1u);
	cr_expect_eq(stats().templates, 0u, "gone TIMEOUT after the last connection");
	cr_expect_eq(F.d[0].persist + F.d[1].persist + F.d[2].persist, 0);
}

Test(persist, a_new_connection_restarts_an_idle_templates_clock)
{
	struct xlb_conn_key k = key(IPPROTO_UDP, CIP(1), 1);
	struct xlb_conn_view v;
	int first;

	F.d[0].weight = 1;
	cr_assert_eq(pkt(&k, 0, T0, &v), 1);
	first = ((const struct dest *)v.dest)->id;
	/* The datagram's entry (UDP, 300 s) outlives TMO: swept at 300 s. */
	xlb_conn_expire(T, T0 + 300 * SEC, 0);
	cr_expect_eq(stats().templates, 1u);
	cr_expect_eq(stats().count, 1u);
	/* Just before it would expire, the client comes back. */
	k.sport = htons(2);
	cr_assert_eq(pkt(&k, 0, T0 + 300 * SEC + (TMO - 1) * SEC, &v), 1);
	cr_expect_eq(((const struct dest *)v.dest)->id, first);
	cr_expect_eq(F.sched_calls, 1);
}

Test(persist, an_expired_template_is_made_anew_by_the_scheduler)
{
	struct xlb_conn_key k = key(IPPROTO_UDP, CIP(1), 1);
	struct xlb_conn_view v;

	cr_assert_eq(pkt(&k, 0, T0, &v), 1);
	xlb_conn_expire(T, T0 + 300 * SEC, 0);	/* the entry goes */
	k.sport = htons(2);
	cr_assert_eq(pkt(&k, 0, T0 + 300 * SEC + TMO * SEC, &v), 1);
	cr_expect_eq(F.sched_calls, 2, "the old template was due: scheduled again");
	cr_expect_eq(stats().templates, 1u);
}

Test(persist, a_quiesced_server_keeps_its_persistent_clients)
{
	int first = server_of(CIP(1), 1, T0);

	F.d[first].weight = 0;			/* -e -w 0 */
	for (int i = 2; i < 10; i++)
		cr_expect_eq(server_of(CIP(1), (uint16_t)i, T0 + (uint64_t)i * SEC), first);
	cr_expect_eq(F.sched_calls, 1);
	/* A new client never lands on it. */
	for (uint32_t c = 2; c < 8; c++)
		cr_expect_neq(server_of(CIP(c), 1, T0), first);
}

Test(persist, a_deleted_servers_clients_are_rescheduled_and_the_template_follows)
{
	int first = server_of(CIP(1), 1, T0), next;

	cr_expect_eq(F.d[first].persist, 1);
	F.d[first].alive = false;		/* -d: deleted */
	next = server_of(CIP(1), 2, T0 + SEC);
	cr_expect_neq(next, first);
	cr_expect_eq(F.d[first].persist, 0, "the template left the deleted server");
	cr_expect_eq(F.d[next].persist, 1);
	cr_expect_eq(stats().templates, 1u);
	cr_expect_eq(server_of(CIP(1), 3, T0 + 2 * SEC), next, "and stays on the new one");
	cr_expect_eq(F.sched_calls, 2);
}

Test(persist, flushing_a_servers_connections_flushes_its_templates_too)
{
	int first = server_of(CIP(1), 1, T0);

	server_of(CIP(1), 2, T0);
	cr_expect_eq(xlb_conn_flush_dest(T, &F.d[first]), 3u, "two connections and the template");
	cr_expect_eq(stats().templates, 0u);
	cr_expect_eq(F.d[first].persist, 0);
	cr_expect_eq(F.d[first].inactive, 0);
}

Test(persist, an_existing_connection_gives_back_the_reference)
{
	struct xlb_conn_key k = key(IPPROTO_TCP, CIP(1), 40000), tk = tmpl_key(&k);
	struct xlb_conn_view v, tv;
	uint32_t ref;

	cr_assert_eq(pkt(&k, F_SYN, T0, &v), 1);
	/* Another worker raced: it also got a reference, but the entry
	 * exists by the time it comes back. */
	cr_assert_geq(xlb_conn_tmpl_get(T, &tk, TMO, T0, sched_tmpl, &F, &tv, &ref), 0);
	F.tmpl = &tv;
	cr_expect_eq(xlb_conn_in_tmpl(T, &k, F_ACK, T0, sched_conn, &F, ref, &v), 0);
	F.tmpl = NULL;
	cr_expect_eq(controlled(CIP(1), T0), 1, "the reference was dropped");
}

Test(persist, a_full_table_never_evicts_a_controlled_template)
{
	struct xlb_conn_view v;
	int first;

	xlb_conn_free(T);
	open_table(64, 5, NULL);
	zero_counts();

	struct xlb_conn_key k = key(IPPROTO_TCP, CIP(1), 40000);

	cr_assert_eq(pkt(&k, F_SYN, T0, &v), 1);
	cr_assert_eq(pkt(&k, F_ACK, T0, &v), 0);
	first = ((const struct dest *)v.dest)->id;
	/* 2,000 one-packet flows of other clients through 64 entries. */
	for (uint32_t c = 0; c < 2000; c++) {
		struct xlb_conn_key o = key(IPPROTO_TCP, 0x0b000000u + c, 1);

		pkt(&o, F_SYN, T0 + 1, &v);
	}
	cr_expect_gt(stats().evicted, 1000u);
	/* Our client's connection may have been evicted, but a template
	 * that controls a connection is not. */
	struct listing l = list(T0 + 2);
	bool found = false;

	for (int i = 0; i < l.ntmpl; i++)
		found |= l.tmpl[i].orig.saddr == htonl(CIP(1));
	if (xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0 + 2, &v) == 0)
		cr_expect(found, "the template of a live connection stays");
	cr_expect_eq(server_of(CIP(1), 2, T0 + 3), first);
}

Test(persist, bad_template_requests_are_refused)
{
	struct xlb_conn_key k = key(IPPROTO_TCP, CIP(1), 0);
	struct xlb_conn_view tv;
	uint32_t ref = 7;

	k.sport = htons(1);
	cr_expect_eq(xlb_conn_tmpl_get(T, &k, TMO, T0, sched_tmpl, &F, &tv, &ref), -EINVAL);
	cr_expect_eq(ref, 0u);
	k.sport = 0;
	cr_expect_eq(xlb_conn_tmpl_get(T, &k, 0, T0, sched_tmpl, &F, &tv, &ref), -EINVAL);
	k.proto = IPPROTO_ICMP;
	cr_expect_eq(xlb_conn_tmpl_get(T, &k, TMO, T0, sched_tmpl, &F, &tv, &ref),
		     -EPROTONOSUPPORT);
	cr_expect_eq(stats().count, 0u);
}

/* ---- the state file ---- */

static char dir[64], path[96];

static int rebind(void *arg, const struct xlb_conn_view *old, struct xlb_conn_target *tg)
{
	(void)arg;
	for (int i = 0; i < NDEST; i++)
		if (F.d[i].addr == old->reply.saddr && F.d[i].port == old->reply.sport) {
			bind_to(&F.d[i], tg);
			return 0;
		}
	return -ENOENT;
}

static void open_file(void)
{
	open_table(1024, 9, path);
}

static void restart_keeps_the_template(uint8_t fwd)
{
	struct xlb_conn_key k = key(IPPROTO_TCP, CIP(1), 40000);
	struct xlb_conn_view v;
	int first, kept;

	for (int i = 0; i < NDEST; i++)
		F.d[i].fwd = fwd;
	xlb_conn_free(T);
	snprintf(dir, sizeof(dir), "/tmp/xlb-persist-test.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/conns", dir);
	open_file();
	cr_assert_eq(pkt(&k, F_SYN, T0, &v), 1);
	cr_assert_eq(pkt(&k, F_ACK, T0, &v), 0);
	first = ((const struct dest *)v.dest)->id;
	server_of(CIP(2), 1, T0);
	xlb_conn_free(T);			/* xlbd stops */

	zero_counts();
	F.sched_calls = 0;
	open_file();				/* the next xlbd */
	cr_expect_eq(xlb_conn_adoptable(T), 4u);
	/* Past TIMEOUT and CIP(2)'s SYN_RECV (60 s): its connection and then
	 * its idle template are dropped; CIP(1)'s ESTABLISHED connection
	 * holds its template. */
	kept = xlb_conn_adopt(T, T0 + 5 * TMO * SEC, rebind, NULL);
	cr_expect_eq(kept, 2, "one connection and its template");
	cr_expect_eq(stats().templates, 1u);
	cr_expect_eq(F.d[first].persist, 1);
	/* Long past TIMEOUT, but its connection still holds it. */
	cr_expect_eq(controlled(CIP(1), T0 + 5 * TMO * SEC), 1);
	cr_expect_eq(server_of(CIP(1), 2, T0 + 5 * TMO * SEC), first);
	cr_expect_eq(F.sched_calls, 0, "the adopted template chose");
	cr_expect_eq(xlb_conn_verify(T), 0);
	xlb_conn_free(T);
	T = NULL;
	unlink(path);
	rmdir(dir);
	/* teardown needs a table */
	setup();
}

Test(persist, templates_and_their_counts_survive_a_restart_through_the_state_file)
{
	restart_keeps_the_template(XLB_FWD_DR);
}

/* A NAT server's connection has a reply tuple, its template none: the
 * adoption must not look for one. */
Test(persist, a_nat_servers_template_survives_a_restart_too)
{
	restart_keeps_the_template(XLB_FWD_NAT);
}

/* ---- several threads at once ---- */

struct worker_ctx {
	const struct xlb_conn_view *tmpl;
	unsigned int seed;
};

static uint64_t stress_now;
static bool stress_stop;

static int st_choose(struct xlb_conn_target *tg, unsigned int *seed)
{
	struct dest *d = &F.d[rand_r(seed) % 3];

	bind_to(d, tg);
	return 0;
}

static int st_sched_tmpl(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *tg)
{
	(void)k;
	return st_choose(tg, &((struct worker_ctx *)arg)->seed);
}

static int st_sched_conn(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *tg)
{
	struct worker_ctx *c = arg;

	(void)k;
	if (!c->tmpl)
		return XLB_CONN_SCHED_DEFER;
	for (int i = 0; i < 3; i++)
		if (F.d[i].addr == c->tmpl->reply.saddr) {
			bind_to(&F.d[i], tg);
			return 0;
		}
	return -EHOSTUNREACH;
}

static void *stress_worker(void *arg)
{
	struct worker_ctx c = { .seed = (unsigned int)(uintptr_t)arg };
	long n = 0;

	while (!__atomic_load_n(&stress_stop, __ATOMIC_RELAXED)) {
		uint64_t now = __atomic_load_n(&stress_now, __ATOMIC_RELAXED);
		struct xlb_conn_key k = key(IPPROTO_TCP, CIP(rand_r(&c.seed) % 16),
					    (uint16_t)(1 + rand_r(&c.seed) % 4000));
		struct xlb_conn_key tk = k;
		struct xlb_conn_view v, tv;
		uint8_t fl = (uint8_t[]){ F_SYN, F_ACK, F_RST, F_FIN }[rand_r(&c.seed) % 4];
		uint32_t ref;
		int rc;

		tk.sport = 0;
		rc = xlb_conn_in(T, &k, fl, now, st_sched_conn, &c, &v);
		if (rc == -EINPROGRESS &&
		    xlb_conn_tmpl_get(T, &tk, 2, now, st_sched_tmpl, &c, &tv, &ref) >= 0) {
			c.tmpl = &tv;
			rc = xlb_conn_in_tmpl(T, &k, fl, now, st_sched_conn, &c, ref, &v);
			c.tmpl = NULL;
		}
		n++;
	}
	return (void *)n;
}

/* Workers make, reuse and close connections of 16 clients through their
 * templates while the clock runs, the sweeper expires and flushes take
 * servers away; afterwards every template counts exactly the connections
 * that name it (xlb_conn_verify) and the PersistConn counts add up. */
Test(persist, templates_stay_consistent_under_several_threads)
{
	pthread_t th[3];
	long total = 0;

	stress_now = T0;
	stress_stop = false;
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, stress_worker,
					    (void *)(uintptr_t)(i + 1)), 0);
	for (int round = 0; round < 400; round++) {
		__atomic_fetch_add(&stress_now, 50, __ATOMIC_RELAXED);
		xlb_conn_expire(T, __atomic_load_n(&stress_now, __ATOMIC_RELAXED), 256);
		if (round % 50 == 49)
			xlb_conn_flush_dest(T, &F.d[round / 50 % 3]);
		usleep(500);
	}
	__atomic_store_n(&stress_stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < 3; i++) {
		void *r;

		pthread_join(th[i], &r);
		total += (long)r;
	}
	cr_log_info("persist: %ld packets by 3 threads; created %lu, templates now %lu",
		    total, (unsigned long)stats().created, (unsigned long)stats().templates);
	cr_expect_gt(total, 1000);
	cr_expect_eq(xlb_conn_verify(T), 0, "every template counts its connections");
	cr_expect_eq(F.d[0].persist + F.d[1].persist + F.d[2].persist, (long)stats().templates);
	/* Everything expires in the end: nothing is held by a lost count. */
	/* The connections first; their templates' clocks start then. */
	xlb_conn_expire(T, stress_now + 3600 * SEC, 0);
	cr_expect_eq(stats().count, stats().templates);
	xlb_conn_expire(T, stress_now + 3600 * SEC + 2 * SEC, 0);
	cr_expect_eq(stats().count, 0u, "a template held by a count nobody owns would stay");
	cr_expect_eq(F.d[0].persist + F.d[1].persist + F.d[2].persist, 0);
}
