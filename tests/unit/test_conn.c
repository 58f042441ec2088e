// SPDX-License-Identifier: GPL-2.0
/*
 * The connection table: lookups both ways, IPVS's TCP states and timeouts,
 * ActiveConn / InActConn bookkeeping, rescheduling of reused tuples,
 * expiry, flushing, a full table under a SYN flood, and several threads at
 * once.
 *
 * A fake daemon stands around the table: destinations with an address, a
 * forwarding method, a weight and an "alive" flag, a scheduler that picks
 * among live destinations of non-zero weight (or the one a test forces),
 * and the on_count callback keeping per-destination counts, as xlbd does.
 * Time is a plain number of milliseconds that each test moves itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "conn.h"
#include "xlb-t.h"

#define F_FIN	0x01
#define F_SYN	0x02
#define F_RST	0x04
#define F_ACK	0x10

#define SEC	1000ull
#define T0	(1000 * SEC)	/* any origin */
#define NDEST	4

struct dest {
	int id;
	uint32_t addr;
	uint16_t port;
	uint8_t fwd;
	uint32_t weight;
	bool alive;
	bool down;		/* failed its health checks */
	long active;		/* kept by on_count, as xlbd keeps them */
	long inactive;
};

struct fake {
	struct dest d[NDEST];
	int ndest;
	int force;		/* >= 0: the scheduler picks this dest */
	int fail;		/* the scheduler returns this if non-zero */
	long sched_calls;
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

static bool dest_alive(void *arg, const void *dest)
{
	(void)arg;
	return __atomic_load_n(&((const struct dest *)dest)->alive, __ATOMIC_RELAXED);
}

static bool dest_down(void *arg, const void *dest)
{
	(void)arg;
	return __atomic_load_n(&((const struct dest *)dest)->down, __ATOMIC_RELAXED);
}

/* Picks by tuple hash among live destinations of non-zero weight; the bind
 * blob carries the destination's id so a torn copy would show. */
static int sched(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *tg)
{
	struct fake *f = arg;
	int cand[NDEST], n = 0, i;
	struct dest *d;

	__atomic_fetch_add(&f->sched_calls, 1, __ATOMIC_RELAXED);
	if (f->fail)
		return f->fail;
	if (f->force >= 0) {
		d = &f->d[f->force];
	} else {
		for (i = 0; i < f->ndest; i++)
			if (dest_alive(NULL, &f->d[i]) && f->d[i].weight)
				cand[n++] = i;
		if (!n)
			return -EHOSTUNREACH;
		uint32_t h = (ntohl(k->saddr) ^ (uint32_t)ntohs(k->sport) << 16) * 0x9e3779b1u;

		d = &f->d[cand[(h >> 16) % n]];
	}
	tg->dest = d;
	tg->daddr = d->addr;
	tg->dport = d->port;
	tg->fwd = d->fwd;
	memset(tg->bind, d->id + 1, sizeof(tg->bind));
	return 0;
}

static struct xlb_conn_key key(uint8_t proto, uint32_t s, uint16_t sp, uint32_t d, uint16_t dp)
{
	struct xlb_conn_key k;

	memset(&k, 0, sizeof(k));
	k.proto = proto;
	k.saddr = htonl(s);
	k.sport = htons(sp);
	k.daddr = htonl(d);
	k.dport = htons(dp);
	return k;
}

#define CIP(n)	(0x0a010000u + (n))	/* 10.1.x.y clients */
#define VIP	0xc0000201u		/* 192.0.2.1 */
#define VIP2	0xc0000202u
#define RIP(n)	(0x0a000001u + (n))	/* 10.0.0.1.. */

static struct xlb_conn_key client(uint8_t proto, uint32_t n, uint16_t port)
{
	return key(proto, CIP(n), port, VIP, 80);
}

/* The reply tuple a NAT real server sends for client key k. */
static struct xlb_conn_key reply_of(const struct xlb_conn_key *k, const struct dest *d)
{
	struct xlb_conn_key r;

	memset(&r, 0, sizeof(r));
	r.proto = k->proto;
	r.saddr = d->addr;
	r.sport = d->port;
	r.daddr = k->saddr;
	r.dport = k->sport;
	return r;
}

static void fake_init(uint8_t fwd)
{
	int i;

	memset(&F, 0, sizeof(F));
	F.ndest = NDEST;
	F.force = -1;
	for (i = 0; i < NDEST; i++) {
		F.d[i].id = i;
		F.d[i].addr = htonl(RIP(i));
		F.d[i].port = htons(8080);
		F.d[i].fwd = fwd;
		F.d[i].weight = 1;
		F.d[i].alive = true;
	}
}

static void params_with(struct xlb_conn_params *p, uint32_t max_conns)
{
	xlb_conn_params_default(p);
	p->max_conns = max_conns;
	p->seed = 12345;
	p->on_count = on_count;
	p->dest_alive = dest_alive;
	p->dest_down = dest_down;
	p->cb_arg = &F;
}

static void setup_with(uint32_t max_conns, uint8_t fwd)
{
	struct xlb_conn_params p;

	fake_init(fwd);
	params_with(&p, max_conns);
	cr_assert_eq(xlb_conn_init(&T, &p), 0);
}

static void setup_dr(void) { setup_with(4096, XLB_FWD_DR); }
static void setup_nat(void) { setup_with(4096, XLB_FWD_NAT); }

static void teardown(void)
{
	xlb_conn_free(T);
	T = NULL;
}

static int in(const struct xlb_conn_key *k, uint8_t flags, uint64_t now, struct xlb_conn_view *v)
{
	return xlb_conn_in(T, k, flags, now, sched, &F, v);
}

static struct xlb_conn_stats stats(void)
{
	struct xlb_conn_stats s;

	xlb_conn_get_stats(T, &s);
	return s;
}

struct find_arg {
	struct xlb_conn_key k;
	struct xlb_conn_entry ci;
	int found;
};

static int find_cb(void *arg, const struct xlb_conn_entry *ci)
{
	struct find_arg *a = arg;

	if (ci->orig.saddr == a->k.saddr && ci->orig.sport == a->k.sport &&
	    ci->orig.daddr == a->k.daddr && ci->orig.dport == a->k.dport &&
	    ci->orig.proto == a->k.proto) {
		a->ci = *ci;
		a->found++;
	}
	return 0;
}

/* The listing's view of one entry (xlbctl -L -n -c). */
static struct xlb_conn_entry listed(const struct xlb_conn_key *k, uint64_t now)
{
	struct find_arg a = { .k = *k };

	xlb_conn_foreach(T, now, find_cb, &a);
	cr_assert_eq(a.found, 1, "entry listed %d times", a.found);
	return a.ci;
}

/* ---- basics ---- */

TestSuite(conn, .timeout = 60);

Test(conn, init_sizes_buckets_to_a_power_of_two_and_rejects_zero)
{
	struct xlb_conn_params p;
	struct xlb_conn_tab *t;

	xlb_conn_params_default(&p);
	cr_expect_eq(p.max_conns, 1048576u);
	p.max_conns = 1000;
	cr_assert_eq(xlb_conn_init(&t, &p), 0);
	cr_expect_eq(xlb_conn_tab_size(t), 1024u);
	cr_expect_eq(xlb_conn_max(t), 1000u);
	cr_expect_eq(xlb_conn_count(t), 0u);
	xlb_conn_free(t);
	p.max_conns = 0;
	cr_expect_eq(xlb_conn_init(&t, &p), -EINVAL);
	cr_expect_null(t);
	xlb_conn_free(NULL);
}

Test(conn, creates_an_entry_then_finds_it_without_scheduling_again,
     .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v, w;

	cr_assert_eq(in(&k, F_SYN, T0, &v), 1);
	cr_expect(v.created);
	cr_expect_eq(F.sched_calls, 1);
	cr_expect_eq(xlb_conn_count(T), 1u);

	cr_assert_eq(in(&k, F_ACK, T0 + 1, &w), 0);
	cr_expect_not(w.created);
	cr_expect_eq(F.sched_calls, 1, "an existing flow must not be scheduled again");
	cr_expect_eq(w.dest, v.dest);
	cr_expect_eq(w.fwd, XLB_FWD_DR);
	cr_expect_eq(w.bind[0], ((const struct dest *)v.dest)->id + 1);
	cr_expect_eq(w.bind[XLB_CONN_BIND_SIZE - 1], w.bind[0]);
	cr_expect_eq(w.orig.saddr, k.saddr);
	cr_expect_eq(w.orig.sport, k.sport);
	cr_expect_eq(w.reply.saddr, ((const struct dest *)v.dest)->addr);
	cr_expect_eq(w.pkts, 2u);
	cr_expect_eq(xlb_conn_count(T), 1u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, other_protocols_are_refused, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_ICMP, 1, 0);
	struct xlb_conn_view v;

	cr_expect_eq(in(&k, 0, T0, &v), -EPROTONOSUPPORT);
	cr_expect_eq(xlb_conn_count(T), 0u);
}

Test(conn, scheduler_error_is_returned_and_counted, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;

	F.fail = -EHOSTUNREACH;
	cr_expect_eq(in(&k, F_SYN, T0, &v), -EHOSTUNREACH);
	cr_expect_eq(xlb_conn_count(T), 0u);
	cr_expect_eq(stats().sched_errors, 1u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

/* ---- NAT's reply mapping ---- */

Test(conn, nat_reply_tuple_finds_the_same_entry, .init = setup_nat, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 7, 51000), r, wrong;
	struct xlb_conn_view v, o;

	cr_assert_eq(in(&k, F_SYN, T0, &v), 1);
	r = reply_of(&k, v.dest);
	cr_assert_eq(xlb_conn_out(T, &r, F_SYN | F_ACK, T0 + 1, &o), 0);
	cr_expect_eq(o.dest, v.dest);
	cr_expect_eq(o.orig.daddr, htonl(VIP), "the reply is rewritten back to the VIP");
	cr_expect_eq(o.orig.dport, htons(80));
	cr_expect_eq(o.orig.saddr, k.saddr);
	cr_expect_eq(o.pkts, 2u);

	wrong = r;
	wrong.dport = htons(51001);
	cr_expect_eq(xlb_conn_out(T, &wrong, F_ACK, T0 + 1, &o), -ENOENT);
	cr_expect_eq(xlb_conn_get(T, &r, XLB_CONN_DIR_OUTPUT, T0 + 2, &o), 0);
	cr_expect_eq(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0 + 2, &o), 0);
	cr_expect_eq(xlb_conn_get(T, &r, XLB_CONN_DIR_INPUT, T0 + 2, &o), -ENOENT,
		     "a reply tuple is not an original tuple");
}

Test(conn, dr_entries_have_no_reply_mapping, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 7, 51000), r;
	struct xlb_conn_view v, o;

	cr_assert_eq(in(&k, F_SYN, T0, &v), 1);
	r = reply_of(&k, v.dest);
	cr_expect_eq(xlb_conn_out(T, &r, F_ACK, T0 + 1, &o), -ENOENT);
}

Test(conn, two_services_on_one_server_keep_separate_reply_mappings,
     .init = setup_nat, .fini = teardown)
{
	/* One client port towards VIP:80 and VIP2:443, both served by RS 0,
	 * on its ports 8080 and 8443. */
	struct xlb_conn_key k1 = key(IPPROTO_TCP, CIP(1), 40000, VIP, 80);
	struct xlb_conn_key k2 = key(IPPROTO_TCP, CIP(1), 40000, VIP2, 443);
	struct xlb_conn_key r1, r2;
	struct xlb_conn_view v, o;

	F.force = 0;
	cr_assert_eq(in(&k1, F_SYN, T0, &v), 1);
	F.d[0].port = htons(8443);
	cr_assert_eq(in(&k2, F_SYN, T0, &v), 1);
	r1 = key(IPPROTO_TCP, RIP(0), 8080, CIP(1), 40000);
	r2 = key(IPPROTO_TCP, RIP(0), 8443, CIP(1), 40000);

	cr_assert_eq(xlb_conn_out(T, &r1, F_ACK, T0, &o), 0);
	cr_expect_eq(o.orig.daddr, htonl(VIP));
	cr_expect_eq(o.orig.dport, htons(80));
	cr_assert_eq(xlb_conn_out(T, &r2, F_ACK, T0, &o), 0);
	cr_expect_eq(o.orig.daddr, htonl(VIP2));
	cr_expect_eq(o.orig.dport, htons(443));
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, nat_reply_tuple_held_by_a_live_entry_is_refused_and_counted,
     .init = setup_nat, .fini = teardown)
{
	/* Same client port to two VIPs landing on the same RIP:port: the
	 * server could not tell them apart, so the second is refused. */
	struct xlb_conn_key k1 = key(IPPROTO_TCP, CIP(1), 40000, VIP, 80);
	struct xlb_conn_key k2 = key(IPPROTO_TCP, CIP(1), 40000, VIP2, 80);
	struct xlb_conn_view v;

	F.force = 0;
	cr_assert_eq(in(&k1, F_SYN, T0, &v), 1);
	cr_assert_eq(in(&k1, F_ACK, T0, &v), 0);
	cr_expect_eq(in(&k2, F_SYN, T0, &v), -EADDRINUSE);
	cr_expect_eq(stats().clashes, 1u);
	cr_expect_eq(xlb_conn_count(T), 1u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

/* ---- TCP states and timeouts ---- */

Test(conn, state_names_are_ipvsadms)
{
	cr_expect_str_eq(xlb_conn_state_name(XLB_CONN_S_SYN_RECV), "SYN_RECV");
	cr_expect_str_eq(xlb_conn_state_name(XLB_CONN_S_ESTABLISHED), "ESTABLISHED");
	cr_expect_str_eq(xlb_conn_state_name(XLB_CONN_S_FIN_WAIT), "FIN_WAIT");
	cr_expect_str_eq(xlb_conn_state_name(XLB_CONN_S_TIME_WAIT), "TIME_WAIT");
	cr_expect_str_eq(xlb_conn_state_name(XLB_CONN_S_CLOSE), "CLOSE");
	cr_expect_str_eq(xlb_conn_state_name(XLB_CONN_S_CLOSE_WAIT), "CLOSE_WAIT");
	cr_expect_str_eq(xlb_conn_state_name(XLB_CONN_S_LAST_ACK), "LAST_ACK");
	cr_expect_str_eq(xlb_conn_state_name(XLB_CONN_S_UDP), "UDP");
	cr_expect_str_eq(xlb_conn_state_name(999), "ERR!");
}

/* Asserts the state after a packet and that the entry lives exactly
 * timeout_s seconds after it. */
static void expect_state(const struct xlb_conn_key *k, uint64_t now, unsigned int state,
			 uint32_t timeout_s)
{
	struct xlb_conn_entry ci = listed(k, now);
	struct xlb_conn_view o;

	cr_expect_eq(ci.state, state, "state %s, expected %s", ci.state_name,
		     xlb_conn_state_name(state));
	cr_expect_eq(ci.expires_s, timeout_s, "%s: expires in %u s, expected %u",
		     ci.state_name, ci.expires_s, timeout_s);
	cr_expect_eq(xlb_conn_get(T, k, XLB_CONN_DIR_INPUT, now + timeout_s * SEC - 1, &o), 0);
	cr_expect_eq(xlb_conn_get(T, k, XLB_CONN_DIR_INPUT, now + timeout_s * SEC, &o), -ENOENT);
}

Test(conn, tcp_flags_drive_the_states_with_their_timeouts, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;
	uint64_t now = T0;

	cr_assert_eq(in(&k, F_SYN, now, &v), 1);
	cr_expect_eq(v.state, XLB_CONN_S_SYN_RECV);
	expect_state(&k, now, XLB_CONN_S_SYN_RECV, 60);

	now += SEC;
	cr_assert_eq(in(&k, F_ACK, now, &v), 0);
	cr_expect_eq(v.state, XLB_CONN_S_ESTABLISHED);
	expect_state(&k, now, XLB_CONN_S_ESTABLISHED, 900);

	now += SEC;
	cr_assert_eq(in(&k, F_FIN | F_ACK, now, &v), 0);
	cr_expect_eq(v.state, XLB_CONN_S_FIN_WAIT);
	expect_state(&k, now, XLB_CONN_S_FIN_WAIT, 120);

	now += SEC;
	cr_assert_eq(in(&k, F_RST, now, &v), 0);
	cr_expect_eq(v.state, XLB_CONN_S_CLOSE);
	expect_state(&k, now, XLB_CONN_S_CLOSE, 10);
}

Test(conn, udp_entries_are_udp_with_the_udp_timeout, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_UDP, 1, 5353);
	struct xlb_conn_view v;

	cr_assert_eq(in(&k, 0, T0, &v), 1);
	cr_expect_eq(v.state, XLB_CONN_S_UDP);
	expect_state(&k, T0, XLB_CONN_S_UDP, 300);
	cr_expect_str_eq(listed(&k, T0).state_name, "UDP");
}

Test(conn, nat_states_follow_both_directions, .init = setup_nat, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000), r;
	struct xlb_conn_view v;

	cr_assert_eq(in(&k, F_SYN, T0, &v), 1);
	r = reply_of(&k, v.dest);
	cr_assert_eq(xlb_conn_out(T, &r, F_SYN | F_ACK, T0, &v), 0);
	cr_expect_eq(v.state, XLB_CONN_S_SYN_RECV);
	cr_assert_eq(in(&k, F_ACK, T0, &v), 0);
	cr_expect_eq(v.state, XLB_CONN_S_ESTABLISHED);
	/* The client closes first: the server's side is in CLOSE_WAIT, then
	 * its own FIN leaves the pair in TIME_WAIT. */
	cr_assert_eq(in(&k, F_FIN | F_ACK, T0, &v), 0);
	cr_expect_eq(v.state, XLB_CONN_S_CLOSE_WAIT);
	cr_assert_eq(xlb_conn_out(T, &r, F_FIN | F_ACK, T0, &v), 0);
	cr_expect_eq(v.state, XLB_CONN_S_TIME_WAIT);
	expect_state(&k, T0, XLB_CONN_S_TIME_WAIT, 120);
}

Test(conn, first_packet_with_ack_starts_established, .init = setup_dr, .fini = teardown)
{
	/* A flow already running when the director (re)started. */
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;

	cr_assert_eq(in(&k, F_ACK, T0, &v), 1);
	cr_expect_eq(v.state, XLB_CONN_S_ESTABLISHED);
	cr_expect_eq(((struct dest *)v.dest)->active, 1);
}

Test(conn, packet_without_flags_leaves_the_state_alone, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;

	cr_assert_eq(in(&k, F_ACK, T0, &v), 1);
	cr_assert_eq(in(&k, 0, T0, &v), 0);
	cr_expect_eq(v.state, XLB_CONN_S_ESTABLISHED);
}

Test(conn, set_timeouts_applies_to_new_transitions, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_key u = client(IPPROTO_UDP, 1, 40000);
	struct xlb_timeouts to = { .tcp = 100, .tcp_fin = 0, .udp = 7 }, got;
	struct xlb_conn_view v;

	cr_assert_eq(in(&k, F_SYN, T0, &v), 1);
	xlb_conn_set_timeouts(T, &to);
	xlb_conn_get_timeouts(T, &got);
	cr_expect_eq(got.tcp, 100u);
	cr_expect_eq(got.tcp_fin, 120u, "a zero field leaves the timeout unchanged");
	cr_expect_eq(got.udp, 7u);

	cr_assert_eq(in(&k, F_ACK, T0, &v), 0);
	expect_state(&k, T0, XLB_CONN_S_ESTABLISHED, 100);
	cr_assert_eq(in(&u, 0, T0, &v), 1);
	expect_state(&u, T0, XLB_CONN_S_UDP, 7);
	cr_assert_eq(in(&k, F_FIN, T0, &v), 0);
	expect_state(&k, T0, XLB_CONN_S_FIN_WAIT, 120);
}

/* IPVS's tcp_timeouts[]: only three entries follow ipvsadm --set. */
static const uint32_t ipvs_timeouts[XLB_CONN_S_NR] = {
	[XLB_CONN_S_NONE] = 2,		[XLB_CONN_S_ESTABLISHED] = 900,
	[XLB_CONN_S_SYN_SENT] = 120,	[XLB_CONN_S_SYN_RECV] = 60,
	[XLB_CONN_S_FIN_WAIT] = 120,	[XLB_CONN_S_TIME_WAIT] = 120,
	[XLB_CONN_S_CLOSE] = 10,	[XLB_CONN_S_CLOSE_WAIT] = 60,
	[XLB_CONN_S_LAST_ACK] = 30,	[XLB_CONN_S_LISTEN] = 120,
	[XLB_CONN_S_SYNACK] = 120,	[XLB_CONN_S_UDP] = 300,
};

Test(conn, state_timeouts_default_to_ipvss_table, .init = setup_dr, .fini = teardown)
{
	for (unsigned int st = 0; st < XLB_CONN_S_NR; st++)
		cr_expect_eq(xlb_conn_state_timeout(T, st), ipvs_timeouts[st],
			     "%s: %u s, IPVS has %u s", xlb_conn_state_name(st),
			     xlb_conn_state_timeout(T, st), ipvs_timeouts[st]);
}

Test(conn, set_tcpfin_changes_fin_wait_only, .init = setup_dr, .fini = teardown)
{
	struct xlb_timeouts to = { .tcp = 1000, .tcp_fin = 5, .udp = 7 };

	xlb_conn_set_timeouts(T, &to);
	for (unsigned int st = 0; st < XLB_CONN_S_NR; st++) {
		uint32_t want = st == XLB_CONN_S_ESTABLISHED ? 1000 :
				st == XLB_CONN_S_FIN_WAIT ? 5 :
				st == XLB_CONN_S_UDP ? 7 : ipvs_timeouts[st];

		cr_expect_eq(xlb_conn_state_timeout(T, st), want, "%s: %u s, expected %u s",
			     xlb_conn_state_name(st), xlb_conn_state_timeout(T, st), want);
	}
}

/* The same through the table: a NAT connection the client closes first
 * sits in CLOSE_WAIT for 60 s, then in TIME_WAIT for 120 s, whatever
 * --set tcpfin says. */
Test(conn, close_wait_and_time_wait_keep_their_timeouts_under_set_tcpfin,
     .init = setup_nat, .fini = teardown)
{
	struct xlb_timeouts to = { .tcp_fin = 5 };
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000), r;
	struct xlb_conn_view v;

	xlb_conn_set_timeouts(T, &to);
	cr_assert_eq(in(&k, F_SYN, T0, &v), 1);
	r = reply_of(&k, v.dest);
	cr_assert_eq(xlb_conn_out(T, &r, F_SYN | F_ACK, T0, &v), 0);
	cr_assert_eq(in(&k, F_ACK, T0, &v), 0);
	cr_assert_eq(in(&k, F_FIN | F_ACK, T0, &v), 0);
	expect_state(&k, T0, XLB_CONN_S_CLOSE_WAIT, 60);
	cr_assert_eq(xlb_conn_out(T, &r, F_FIN | F_ACK, T0, &v), 0);
	expect_state(&k, T0, XLB_CONN_S_TIME_WAIT, 120);
}

Test(conn, fin_wait_follows_set_tcpfin, .init = setup_dr, .fini = teardown)
{
	struct xlb_timeouts to = { .tcp_fin = 5 };
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;

	xlb_conn_set_timeouts(T, &to);
	cr_assert_eq(in(&k, F_SYN, T0, &v), 1);
	cr_assert_eq(in(&k, F_ACK, T0, &v), 0);
	cr_assert_eq(in(&k, F_FIN | F_ACK, T0, &v), 0);
	expect_state(&k, T0, XLB_CONN_S_FIN_WAIT, 5);
}

/* ---- ActiveConn / InActConn ---- */

Test(conn, active_and_inactive_counts_follow_the_state, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;
	struct dest *d;

	cr_assert_eq(in(&k, F_SYN, T0, &v), 1);
	d = (struct dest *)v.dest;
	cr_expect_eq(d->active, 0);
	cr_expect_eq(d->inactive, 1);
	in(&k, F_ACK, T0, &v);
	cr_expect_eq(d->active, 1);
	cr_expect_eq(d->inactive, 0);
	in(&k, F_FIN, T0, &v);
	cr_expect_eq(d->active, 0);
	cr_expect_eq(d->inactive, 1);
	cr_expect_eq(xlb_conn_expire(T, T0 + 121 * SEC, 0), 1u);
	cr_expect_eq(d->active, 0);
	cr_expect_eq(d->inactive, 0);
}

struct recount {
	long active[NDEST];
	long inactive[NDEST];
	long n;
};

static int recount_cb(void *arg, const struct xlb_conn_entry *ci)
{
	struct recount *r = arg;
	const struct dest *d = ci->dest;

	if (ci->state == XLB_CONN_S_ESTABLISHED)
		r->active[d->id]++;
	else
		r->inactive[d->id]++;
	r->n++;
	return 0;
}

static void expect_counts_match_recount(void)
{
	struct recount r;
	struct xlb_conn_stats s = stats();
	long act = 0, inact = 0;
	int i;

	memset(&r, 0, sizeof(r));
	cr_assert_eq(xlb_conn_foreach(T, 0, recount_cb, &r), r.n);
	for (i = 0; i < NDEST; i++) {
		cr_expect_eq(F.d[i].active, r.active[i], "dest %d active %ld, recount %ld",
			     i, F.d[i].active, r.active[i]);
		cr_expect_eq(F.d[i].inactive, r.inactive[i], "dest %d inactive %ld, recount %ld",
			     i, F.d[i].inactive, r.inactive[i]);
		act += r.active[i];
		inact += r.inactive[i];
	}
	cr_expect_eq((long)s.active, act);
	cr_expect_eq((long)s.inactive, inact);
	cr_expect_eq((long)s.count, r.n);
	cr_expect_eq(s.created, s.count + s.expired + s.evicted + s.rescheduled + s.flushed,
		     "every entry made is either here or was freed for a counted reason");
	cr_expect_eq(xlb_conn_verify(T), 0);
}

static uint64_t prng_state;

static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const uint8_t flag_mix[] = {
	F_SYN, F_SYN | F_ACK, F_ACK, F_ACK, F_ACK, F_FIN | F_ACK, F_FIN, F_RST, F_RST | F_ACK, 0,
};

static void random_traffic(uint32_t max_conns, uint8_t fwd)
{
	uint64_t now = T0;
	int i;

	setup_with(max_conns, fwd);
	prng_state = 42;
	for (i = 0; i < 200000; i++) {
		uint64_t x = prng();
		struct xlb_conn_key k = client((x & 7) ? IPPROTO_TCP : IPPROTO_UDP,
					       (x >> 8) & 255, 1000 + ((x >> 16) & 3));
		uint8_t fl = flag_mix[(x >> 24) % sizeof(flag_mix)];
		struct xlb_conn_view v;

		now += (x >> 32) % 200;
		switch ((x >> 40) % 64) {
		case 0:
			xlb_conn_expire(T, now, 128);
			break;
		case 1:
			if ((x >> 48) % 64 == 0)
				xlb_conn_flush_dest(T, &F.d[(x >> 50) % NDEST]);
			break;
		case 2:
			F.d[(x >> 50) % NDEST].alive = !F.d[(x >> 50) % NDEST].alive;
			break;
		default:
			if (in(&k, fl, now, &v) >= 0 && v.fwd == XLB_FWD_NAT && (x & 0x100000)) {
				struct xlb_conn_key r = v.reply;

				xlb_conn_out(T, &r, flag_mix[(x >> 56) % sizeof(flag_mix)], now, &v);
			}
		}
	}
	expect_counts_match_recount();
	teardown();
}

Test(conn, active_inactive_callbacks_match_a_recount_after_random_traffic)
{
	random_traffic(4096, XLB_FWD_DR);
	random_traffic(4096, XLB_FWD_NAT);
	/* A table too small for the traffic: evictions and drops too. */
	random_traffic(256, XLB_FWD_NAT);
}

/* ---- expiry ---- */

Test(conn, entry_expires_after_its_timeout_and_not_before, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_UDP, 1, 5353);
	struct xlb_conn_view v;

	cr_assert_eq(in(&k, 0, T0, &v), 1);
	cr_expect_eq(xlb_conn_expire(T, T0 + 300 * SEC - 1, 0), 0u);
	cr_expect_eq(xlb_conn_count(T), 1u);
	cr_expect_eq(xlb_conn_expire(T, T0 + 300 * SEC, 0), 1u);
	cr_expect_eq(xlb_conn_count(T), 0u);
	cr_expect_eq(stats().expired, 1u);
	cr_expect_eq(F.d[0].inactive + F.d[1].inactive + F.d[2].inactive + F.d[3].inactive, 0);
}

Test(conn, each_packet_pushes_the_expiry_back, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_UDP, 1, 5353);
	struct xlb_conn_view v;

	cr_assert_eq(in(&k, 0, T0, &v), 1);
	cr_assert_eq(in(&k, 0, T0 + 200 * SEC, &v), 0);
	cr_expect_eq(xlb_conn_expire(T, T0 + 400 * SEC, 0), 0u);
	cr_expect_eq(xlb_conn_expire(T, T0 + 500 * SEC, 0), 1u);
}

Test(conn, due_entry_not_yet_swept_is_never_used, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;

	F.force = 0;
	cr_assert_eq(in(&k, F_ACK, T0, &v), 1);
	F.force = 1;
	cr_assert_eq(in(&k, F_ACK, T0 + 900 * SEC, &v), 1, "a due entry is gone");
	cr_expect_eq(v.dest, &F.d[1]);
	cr_expect_eq(stats().expired, 1u);
	cr_expect_eq(F.d[0].active, 0);
	cr_expect_eq(xlb_conn_count(T), 1u);
}

Test(conn, expire_sweeps_keep_up_with_a_million_entries, .timeout = 120)
{
	const uint32_t n = 1u << 20;
	uint32_t i, slices, freed = 0, sweeps = 0;
	struct xlb_conn_view v;

	setup_with(n, XLB_FWD_DR);
	for (i = 0; i < n; i++) {
		struct xlb_conn_key k = key(IPPROTO_UDP, 0x0b000000u + (i >> 4), 1024 + (i & 15),
					    VIP, 53);

		cr_assert_eq(in(&k, 0, T0 + (i & 1) * 100 * SEC, &v), 1);
	}
	cr_assert_eq(xlb_conn_count(T), n);
	cr_expect_eq(stats().full_drops, 0u);

	/* One sweep in 16 slices, as a housekeeping thread would: all the
	 * entries due are gone after one pass, the others after another. */
	slices = xlb_conn_tab_size(T) / 65536;
	for (i = 0; i < slices; i++)
		freed += xlb_conn_expire(T, T0 + 300 * SEC, 65536);
	cr_expect_eq(freed, n / 2);
	while (xlb_conn_count(T) && sweeps < 3) {
		for (i = 0; i < slices; i++)
			xlb_conn_expire(T, T0 + 400 * SEC, 65536);
		sweeps++;
	}
	cr_expect_eq(sweeps, 1u);
	cr_expect_eq(xlb_conn_count(T), 0u);
	cr_expect_eq(stats().expired, n);
	cr_expect_eq(xlb_conn_verify(T), 0);
	teardown();
}

/* ---- reused tuples ---- */

/* Brings flow k to state via dest 0, then sends a new SYN with dest 1
 * preferred by the scheduler. Returns the SYN's view. */
static struct xlb_conn_view syn_after(const struct xlb_conn_key *k, const uint8_t *flags, int n,
				      int *ret)
{
	struct xlb_conn_view v;
	int i;

	F.force = 0;
	for (i = 0; i < n; i++)
		in(k, flags[i], T0 + i, &v);
	F.force = 1;
	*ret = in(k, F_SYN, T0 + n, &v);
	return v;
}

Test(conn, syn_on_a_closed_entry_is_rescheduled, .init = setup_dr, .fini = teardown)
{
	const uint8_t fl[] = { F_SYN, F_ACK, F_RST };
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;
	int ret;

	v = syn_after(&k, fl, 3, &ret);
	cr_expect_eq(ret, 1);
	cr_expect_eq(v.dest, &F.d[1]);
	cr_expect_eq(v.state, XLB_CONN_S_SYN_RECV);
	cr_expect_eq(stats().rescheduled, 1u);
	cr_expect_eq(F.d[0].inactive + F.d[0].active, 0, "the old entry left the counts");
	cr_expect_eq(xlb_conn_count(T), 1u);
}

Test(conn, syn_on_a_time_wait_entry_is_rescheduled, .init = setup_nat, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000), r;
	struct xlb_conn_view v;

	F.force = 0;
	in(&k, F_SYN, T0, &v);
	r = reply_of(&k, &F.d[0]);
	xlb_conn_out(T, &r, F_SYN | F_ACK, T0, &v);
	in(&k, F_ACK, T0, &v);
	in(&k, F_FIN | F_ACK, T0, &v);
	xlb_conn_out(T, &r, F_FIN | F_ACK, T0, &v);
	cr_assert_eq(v.state, XLB_CONN_S_TIME_WAIT);

	F.force = 1;
	cr_expect_eq(in(&k, F_SYN, T0 + SEC, &v), 1);
	cr_expect_eq(v.dest, &F.d[1]);
	cr_expect_eq(xlb_conn_out(T, &r, F_ACK, T0 + SEC, &v), -ENOENT,
		     "the old reply mapping went with the old entry");
	r = reply_of(&k, &F.d[1]);
	cr_expect_eq(xlb_conn_out(T, &r, F_ACK, T0 + SEC, &v), 0);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, syn_on_a_fin_wait_entry_is_rescheduled, .init = setup_dr, .fini = teardown)
{
	const uint8_t fl[] = { F_SYN, F_ACK, F_FIN | F_ACK };
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;
	int ret;

	v = syn_after(&k, fl, 3, &ret);
	cr_expect_eq(ret, 1);
	cr_expect_eq(v.dest, &F.d[1]);
}

Test(conn, syn_on_an_established_entry_keeps_its_destination, .init = setup_dr, .fini = teardown)
{
	const uint8_t fl[] = { F_SYN, F_ACK };
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;
	int ret;

	v = syn_after(&k, fl, 2, &ret);
	cr_expect_eq(ret, 0);
	cr_expect_eq(v.dest, &F.d[0]);
	cr_expect_eq(stats().rescheduled, 0u);
}

Test(conn, retransmitted_syn_keeps_its_destination, .init = setup_dr, .fini = teardown)
{
	const uint8_t fl[] = { F_SYN };
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;
	int ret;

	v = syn_after(&k, fl, 1, &ret);
	cr_expect_eq(ret, 0);
	cr_expect_eq(v.dest, &F.d[0]);
}

/* DR: a refused attempt leaves SYN_RECV (the reset goes to the client
 * directly); the client reusing its port after the server went down is a
 * new connection, for a server that is up. */
Test(conn, syn_on_an_attempt_to_a_down_dest_is_rescheduled, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;

	F.force = 0;
	in(&k, F_SYN, T0, &v);
	F.d[0].down = true;
	F.force = 1;
	cr_expect_eq(in(&k, F_SYN, T0 + SEC, &v), 1);
	cr_expect_eq(v.dest, &F.d[1]);
	cr_expect_eq(stats().rescheduled, 1u);
}

Test(conn, an_established_connection_to_a_down_dest_continues, .init = setup_dr, .fini = teardown)
{
	const uint8_t fl[] = { F_SYN, F_ACK };
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;
	int ret;

	F.d[0].down = true;	/* went down after the connection was made */
	v = syn_after(&k, fl, 2, &ret);
	cr_expect_eq(ret, 0);
	cr_expect_eq(v.dest, &F.d[0]);
	cr_expect_eq(in(&k, F_ACK, T0 + SEC, &v), 0);
	cr_expect_eq(v.dest, &F.d[0]);
	cr_expect_eq(stats().rescheduled, 0u);
}

Test(conn, syn_on_an_entry_of_a_deleted_dest_is_rescheduled, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_view v;

	F.force = 0;
	in(&k, F_SYN, T0, &v);
	in(&k, F_ACK, T0, &v);
	F.d[0].alive = false;
	F.force = -1;
	cr_expect_eq(in(&k, F_SYN, T0 + SEC, &v), 1);
	cr_expect_neq(v.dest, &F.d[0]);
	cr_expect_eq(stats().rescheduled, 1u);
	cr_expect_eq(F.d[0].active, 0);
}

Test(conn, udp_packet_on_an_entry_of_a_deleted_dest_is_rescheduled,
     .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_UDP, 1, 5353);
	struct xlb_conn_view v;

	F.force = 0;
	in(&k, 0, T0, &v);
	F.d[0].alive = false;
	F.force = -1;
	cr_expect_eq(in(&k, 0, T0 + SEC, &v), 1);
	cr_expect_neq(v.dest, &F.d[0]);
}

Test(conn, weight_zero_dest_keeps_its_existing_entries, .init = setup_dr, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 40000);
	struct xlb_conn_key k2 = client(IPPROTO_TCP, 1, 40001);
	struct xlb_conn_view v;
	int i;

	/* Only dest 0 takes new flows at first. */
	for (i = 1; i < NDEST; i++)
		F.d[i].weight = 0;
	in(&k, F_SYN, T0, &v);
	in(&k, F_ACK, T0, &v);
	cr_assert_eq(v.dest, &F.d[0]);

	F.d[0].weight = 0;
	F.d[1].weight = 1;
	cr_expect_eq(in(&k, F_ACK, T0 + SEC, &v), 0);
	cr_expect_eq(v.dest, &F.d[0], "an established flow stays on its quiesced server");
	cr_expect_eq(v.state, XLB_CONN_S_ESTABLISHED);
	cr_expect_eq(in(&k2, F_SYN, T0 + SEC, &v), 1);
	cr_expect_eq(v.dest, &F.d[1], "a new flow avoids it");
	cr_expect_eq(F.d[0].active, 1);
}

/* ---- flush ---- */

Test(conn, flush_dest_removes_exactly_that_dests_entries, .init = setup_nat, .fini = teardown)
{
	struct xlb_conn_view v;
	long before[NDEST];
	uint32_t i;
	int d;

	for (i = 0; i < 1000; i++) {
		struct xlb_conn_key k = client(i % 3 ? IPPROTO_TCP : IPPROTO_UDP, i, 1000 + i);

		cr_assert_eq(in(&k, F_ACK, T0, &v), 1);
	}
	for (d = 0; d < NDEST; d++) {
		before[d] = F.d[d].active + F.d[d].inactive;
		cr_assert_gt(before[d], 0);
	}

	cr_expect_eq(xlb_conn_flush_dest(T, &F.d[2]), (uint32_t)before[2]);
	cr_expect_eq(F.d[2].active + F.d[2].inactive, 0);
	for (d = 0; d < NDEST; d++)
		if (d != 2)
			cr_expect_eq(F.d[d].active + F.d[d].inactive, before[d]);
	cr_expect_eq(xlb_conn_count(T), 1000u - before[2]);
	cr_expect_eq(stats().flushed, (uint64_t)before[2]);
	for (i = 0; i < 1000; i++) {
		struct xlb_conn_key k = client(i % 3 ? IPPROTO_TCP : IPPROTO_UDP, i, 1000 + i);
		int ret = xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0, &v);

		if (ret == 0)
			cr_expect_neq(v.dest, &F.d[2]);
	}
	expect_counts_match_recount();
	cr_expect_eq(xlb_conn_flush_dest(T, NULL), 1000u - before[2]);
	cr_expect_eq(xlb_conn_count(T), 0u);
}

/* ---- a full table ---- */

static void setup_tiny(void) { setup_with(4, XLB_FWD_DR); }

Test(conn, full_table_reclaims_an_expired_entry, .init = setup_tiny, .fini = teardown)
{
	struct xlb_conn_key k;
	struct xlb_conn_view v;
	uint32_t i;

	for (i = 0; i < 4; i++) {
		k = client(IPPROTO_UDP, i, 1000);
		cr_assert_eq(in(&k, 0, T0 + i * SEC, &v), 1);
	}
	k = client(IPPROTO_UDP, 99, 1000);
	cr_expect_eq(in(&k, 0, T0 + 300 * SEC, &v), 1, "entry 0 is due: its slot is reused");
	cr_expect_eq(xlb_conn_count(T), 4u);
	cr_expect_eq(stats().expired, 1u);
	cr_expect_eq(stats().evicted, 0u);
	k = client(IPPROTO_UDP, 0, 1000);
	cr_expect_eq(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0, &v), -ENOENT);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, full_table_evicts_the_entry_without_a_packet_since_the_others_had_one,
     .init = setup_tiny, .fini = teardown)
{
	struct xlb_conn_key e1 = client(IPPROTO_TCP, 1, 1000), e2 = client(IPPROTO_TCP, 2, 1000);
	struct xlb_conn_key s1 = client(IPPROTO_TCP, 3, 1000), s2 = client(IPPROTO_TCP, 4, 1000);
	struct xlb_conn_key n = client(IPPROTO_TCP, 5, 1000);
	struct xlb_conn_view v;

	/* s1 is the youngest, but the only one no second packet touched. */
	in(&e1, F_SYN, T0, &v);
	in(&e2, F_SYN, T0, &v);
	in(&s2, F_SYN, T0, &v);
	in(&e1, F_ACK, T0 + SEC, &v);
	in(&e2, F_ACK, T0 + SEC, &v);
	in(&s2, F_SYN, T0 + SEC, &v);	/* retransmitted */
	in(&s1, F_SYN, T0 + 2 * SEC, &v);
	cr_assert_eq(xlb_conn_count(T), 4u);

	cr_expect_eq(in(&n, F_SYN, T0 + 3 * SEC, &v), 1);
	cr_expect_eq(stats().evicted, 1u);
	cr_expect_eq(xlb_conn_get(T, &s1, XLB_CONN_DIR_INPUT, T0 + 3 * SEC, &v), -ENOENT,
		     "the entry that saw no packet since made room");
	cr_expect_eq(xlb_conn_get(T, &s2, XLB_CONN_DIR_INPUT, T0 + 3 * SEC, &v), 0);
	cr_expect_eq(xlb_conn_get(T, &e1, XLB_CONN_DIR_INPUT, T0 + 3 * SEC, &v), 0);
	cr_expect_eq(xlb_conn_get(T, &e2, XLB_CONN_DIR_INPUT, T0 + 3 * SEC, &v), 0);
	expect_counts_match_recount();
}

Test(conn, full_table_of_established_entries_still_takes_a_new_flow,
     .init = setup_tiny, .fini = teardown)
{
	struct xlb_conn_key k;
	struct xlb_conn_view v;
	uint32_t i;

	for (i = 0; i < 4; i++) {
		k = client(IPPROTO_TCP, i, 1000);
		cr_assert_eq(in(&k, F_ACK, T0, &v), 1);
		cr_assert_eq(in(&k, F_ACK, T0, &v), 0);	/* a second packet: a real flow */
	}
	for (i = 0; i < 8; i++) {
		k = client(IPPROTO_TCP, 99 + i, 1000);
		cr_expect_eq(in(&k, F_SYN, T0 + SEC, &v), 1, "new flow %u gets in", i);
	}
	cr_expect_eq(stats().evicted, 8u);
	cr_expect_eq(stats().full_drops, 0u);
	cr_expect_eq(xlb_conn_count(T), 4u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

/* An ACK flood opens ESTABLISHED entries (flows survive a director
 * restart that way): until a second packet they may be evicted, or such a
 * flood would lock new clients out for the whole TCP timeout. */
Test(conn, full_table_evicts_entries_opened_by_a_lone_ack, .init = setup_tiny, .fini = teardown)
{
	struct xlb_conn_key k;
	struct xlb_conn_view v;
	uint32_t i;

	for (i = 0; i < 4; i++) {
		k = client(IPPROTO_TCP, i, 1000);
		cr_assert_eq(in(&k, F_ACK, T0, &v), 1);
	}
	k = client(IPPROTO_TCP, 99, 1000);
	cr_expect_eq(in(&k, F_SYN, T0 + SEC, &v), 1, "a new client gets in");
	cr_expect_eq(stats().evicted, 1u);
	cr_expect_eq(xlb_conn_count(T), 4u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

/* Closed connections (FIN_WAIT for the TCPFIN timeout) make way for new
 * ones when full: a SYN on them would be rescheduled anyway. */
Test(conn, full_table_evicts_closing_entries, .init = setup_tiny, .fini = teardown)
{
	struct xlb_conn_key k;
	struct xlb_conn_view v;
	uint32_t i;

	for (i = 0; i < 4; i++) {
		k = client(IPPROTO_TCP, i, 1000);
		cr_assert_eq(in(&k, F_SYN, T0, &v), 1);
		cr_assert_eq(in(&k, F_ACK, T0, &v), 0);
		cr_assert_eq(in(&k, F_FIN | F_ACK, T0, &v), 0);
		cr_assert_eq(v.state, XLB_CONN_S_FIN_WAIT);
	}
	k = client(IPPROTO_TCP, 99, 1000);
	cr_expect_eq(in(&k, F_SYN, T0 + SEC, &v), 1, "a new client gets in");
	cr_expect_eq(stats().evicted, 1u);
	cr_expect_eq(stats().full_drops, 0u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

/*
 * Flood of spoofed tuples beyond max_conns, one packet each (UDP or SYN) or
 * two (bare ACKs: each tuple "answers" once), against established flows of
 * which half keep talking and half are idle. Every packet of the flood and
 * every new legitimate flow gets an entry; the table stays bounded; the
 * flows that talk survive (LRU), the idle ones mostly do not.
 */
struct flood_result {
	uint32_t peak, active_kept, idle_kept, refused;
};

static struct flood_result flood_against_flows(uint32_t max, uint8_t proto, uint8_t flags,
					       int per_tuple, uint32_t tuples)
{
	const uint32_t nflows = 200, touch_every = 128;
	struct flood_result r = { 0 };
	struct xlb_conn_view v;
	uint64_t now = T0;
	uint32_t i, f;

	setup_with(max, XLB_FWD_DR);
	for (f = 0; f < nflows; f++) {
		struct xlb_conn_key k = client(IPPROTO_TCP, f, 2000);

		cr_assert_eq(in(&k, F_SYN, now, &v), 1);
		cr_assert_eq(in(&k, F_ACK, now, &v), 0);
	}
	prng_state = 7;
	for (i = 0; i < tuples; i++) {
		uint64_t x = prng();
		struct xlb_conn_key k = key(proto, (uint32_t)x, (uint16_t)(x >> 32), VIP, 80);
		int p;

		now += 1;
		for (p = 0; p < per_tuple; p++)
			if (in(&k, flags, now, &v) < 0)
				r.refused++;
		if (xlb_conn_count(T) > r.peak)
			r.peak = (uint32_t)xlb_conn_count(T);
		/* The even flows talk now and then, the odd ones are idle. */
		if (i % touch_every == 0)
			for (f = 0; f < nflows; f += 2) {
				struct xlb_conn_key a = client(IPPROTO_TCP, f, 2000);

				in(&a, F_ACK, now, &v);
			}
	}
	for (f = 0; f < nflows; f++) {
		struct xlb_conn_key k = client(IPPROTO_TCP, f, 2000);

		if (xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, now, &v) == 0) {
			if (f % 2)
				r.idle_kept++;
			else
				r.active_kept++;
		}
	}
	/* New clients, at once. */
	for (i = 0; i < 20; i++) {
		struct xlb_conn_key k = client(IPPROTO_TCP, 5000 + i, 3000);

		cr_expect_eq(in(&k, F_SYN, now, &v), 1, "new TCP client %u gets in", i);
	}
	for (i = 0; i < 10; i++) {
		struct xlb_conn_key k = client(IPPROTO_UDP, 6000 + i, 53);

		cr_expect_eq(in(&k, 0, now, &v), 1, "new UDP client %u gets in", i);
	}
	fprintf(stderr, "conn: flood of %u %s tuples x %d on max_conns %u: peak %u, evicted %lu, "
		"full drops %lu; of 100 talking flows %u kept, of 100 idle ones %u\n",
		tuples, proto == IPPROTO_UDP ? "UDP" : flags == F_SYN ? "SYN" : "ACK", per_tuple,
		max, r.peak, (unsigned long)stats().evicted, (unsigned long)stats().full_drops,
		r.active_kept, r.idle_kept);
	cr_expect_leq(r.peak, max);
	cr_expect_eq(r.refused, 0u, "no packet of the flood was refused");
	cr_expect_eq(stats().full_drops, 0u);
	cr_expect_eq(stats().evicted, stats().created - xlb_conn_count(T),
		     "every entry made room for was evicted, and counted");
	cr_expect_eq(r.active_kept, 100u, "flows that keep talking survive the flood");
	cr_expect_lt(r.idle_kept, 50u, "idle flows make room first (%u kept)", r.idle_kept);
	expect_counts_match_recount();
	teardown();
	return r;
}

Test(conn, syn_flood_of_ten_times_max_conns_keeps_the_talking_flows)
{
	flood_against_flows(1024, IPPROTO_TCP, F_SYN, 1, 10 * 1024);
}

Test(conn, udp_flood_beyond_max_conns_never_locks_new_flows_out)
{
	flood_against_flows(4096, IPPROTO_UDP, 0, 1, 6000 * 4);
}

Test(conn, flood_of_two_bare_acks_per_tuple_never_locks_new_flows_out)
{
	flood_against_flows(4096, IPPROTO_TCP, F_ACK, 2, 6000 * 4);
}

/* A full table whose new flow's stripe is empty takes an entry from
 * another stripe. */
Test(conn, full_table_evicts_from_another_stripe_when_its_own_is_empty,
     .fini = teardown)
{
	struct xlb_conn_key k;
	struct xlb_conn_view v;
	uint32_t i, n = 0;

	setup_with(128, XLB_FWD_DR);
	cr_assert_eq(xlb_conn_nstripes(T), 2u);
	for (i = 0; n < 128 && i < 100000; i++) {
		k = client(IPPROTO_UDP, i, 53);
		if (xlb_conn_stripe(T, &k) == 1) {
			cr_assert_eq(in(&k, 0, T0, &v), 1);
			n++;
		}
	}
	cr_assert_eq(xlb_conn_count(T), 128u, "the table is full, all in stripe 1");
	for (i = 0, n = 0; n < 10; i++) {
		k = client(IPPROTO_TCP, i, 80);
		if (xlb_conn_stripe(T, &k) != 0)
			continue;
		cr_expect_eq(in(&k, F_SYN, T0 + SEC, &v), 1, "new flow %u in stripe 0", n);
		n++;
	}
	cr_expect_eq(stats().evicted, 10u);
	cr_expect_eq(stats().full_drops, 0u);
	cr_expect_eq(xlb_conn_count(T), 128u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

/* ---- threads ---- */

#define STRESS_KEYS	16384
#define STRESS_MS	1000

struct stress {
	uint64_t now;		/* atomic, ms */
	int stop;		/* atomic */
	long ops[4];
	long bad;
};

static void stress_check_view(struct stress *s, const struct xlb_conn_key *k,
			      const struct xlb_conn_view *v)
{
	const struct dest *d = v->dest;

	if (d < &F.d[0] || d >= &F.d[NDEST] || v->bind[0] != d->id + 1 ||
	    v->bind[XLB_CONN_BIND_SIZE - 1] != d->id + 1 || v->reply.saddr != d->addr ||
	    (k && (v->orig.saddr != k->saddr || v->orig.sport != k->sport)))
		__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED);
}

static void *stress_worker(void *arg)
{
	struct stress *s = arg;
	uint64_t st = (uint64_t)pthread_self() * 0x9e3779b97f4a7c15ull;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		uint64_t x, now = __atomic_load_n(&s->now, __ATOMIC_RELAXED);
		struct xlb_conn_key k;
		struct xlb_conn_view v;
		uint32_t i;

		st += 0x9e3779b97f4a7c15ull;
		x = (st ^ (st >> 31)) * 0xbf58476d1ce4e5b9ull;
		x ^= x >> 29;
		i = x % STRESS_KEYS;
		k = key(i & 1 ? IPPROTO_TCP : IPPROTO_UDP, CIP(i >> 2), 1000 + (i & 3), VIP, 80);
		if (xlb_conn_in(T, &k, flag_mix[(x >> 32) % sizeof(flag_mix)], now, sched, &F,
				&v) >= 0) {
			stress_check_view(s, &k, &v);
			if (v.fwd == XLB_FWD_NAT) {
				struct xlb_conn_key r = v.reply;

				if (xlb_conn_out(T, &r, flag_mix[(x >> 40) % sizeof(flag_mix)],
						 now, &v) == 0)
					stress_check_view(s, &k, &v);
			}
		}
		__atomic_fetch_add(&s->ops[0], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *stress_expirer(void *arg)
{
	struct stress *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		uint64_t now = __atomic_add_fetch(&s->now, 250, __ATOMIC_RELAXED);

		xlb_conn_expire(T, now, xlb_conn_tab_size(T) / 8);
		s->ops[2]++;
	}
	return NULL;
}

static int stress_list_cb(void *arg, const struct xlb_conn_entry *ci)
{
	struct stress *s = arg;
	const struct dest *d = ci->dest;

	if (d < &F.d[0] || d >= &F.d[NDEST] || ci->daddr != d->addr || !ci->state_name)
		s->bad++;
	return 0;
}

static void *stress_control(void *arg)
{
	struct stress *s = arg;
	long n = 0;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		uint64_t now = __atomic_load_n(&s->now, __ATOMIC_RELAXED);

		if (xlb_conn_foreach(T, now, stress_list_cb, s) < 0)
			__atomic_fetch_add(&s->bad, 1, __ATOMIC_RELAXED);
		if (++n % 8 == 0)
			xlb_conn_flush_dest(T, &F.d[n % NDEST]);
		s->ops[3]++;
	}
	return NULL;
}

Test(conn, concurrent_in_out_expire_and_foreach_stay_consistent, .timeout = 120)
{
	struct stress s;
	pthread_t th[4];
	int i;

	/* Half NAT, half DR; fewer slots than flows, so the full-table
	 * paths run concurrently too. */
	setup_with(STRESS_KEYS / 2, XLB_FWD_NAT);
	F.d[1].fwd = XLB_FWD_DR;
	F.d[3].fwd = XLB_FWD_DR;
	memset(&s, 0, sizeof(s));
	s.now = T0;
	cr_assert_eq(pthread_create(&th[0], NULL, stress_worker, &s), 0);
	cr_assert_eq(pthread_create(&th[1], NULL, stress_worker, &s), 0);
	cr_assert_eq(pthread_create(&th[2], NULL, stress_expirer, &s), 0);
	cr_assert_eq(pthread_create(&th[3], NULL, stress_control, &s), 0);
	usleep(STRESS_MS * 1000);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);

	fprintf(stderr, "conn: stress: %ld packets, %ld expire slices, %ld listings; "
		"created %lu expired %lu evicted %lu full %lu flushed %lu\n",
		s.ops[0], s.ops[2], s.ops[3], (unsigned long)stats().created,
		(unsigned long)stats().expired, (unsigned long)stats().evicted,
		(unsigned long)stats().full_drops, (unsigned long)stats().flushed);
	cr_expect_eq(s.bad, 0, "%ld torn or wrong views", s.bad);
	cr_expect_gt(s.ops[0], 1000);
	cr_expect_gt(stats().expired, 0u);
	expect_counts_match_recount();
	teardown();
}

/* ---- copy-out dumps (xlb_conn_copy) ---- */

/* Copy the whole table max entries at a time; between two calls, verify
 * takes every stripe lock in turn (a lock left held would hang it) and
 * between(i) may change the table. Returns how many times each client
 * port (0..nports) was copied, in seen[]. */
static size_t copy_all(uint32_t max, uint64_t now, uint8_t *seen, uint32_t nports,
		       void (*between)(int call))
{
	struct xlb_conn_entry *buf = calloc(max, sizeof(*buf));
	struct xlb_conn_cursor cur = { 0 };
	size_t total = 0;
	uint32_t n;
	int call = 0;

	cr_assert_not_null(buf);
	while ((n = xlb_conn_copy(T, now, &cur, buf, max)) > 0) {
		cr_assert_leq(n, max);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t p = ntohs(buf[i].orig.sport);

			cr_assert_eq(buf[i].orig.saddr, htonl(CIP(1)));
			if (p < nports && seen[p] < 255)
				seen[p]++;
		}
		total += n;
		cr_assert_eq(xlb_conn_verify(T), 0, "no lock is held between two copies");
		if (between)
			between(call++);
	}
	cr_expect_eq(xlb_conn_copy(T, now, &cur, buf, max), 0, "the end stays the end");
	free(buf);
	return total;
}

#define COPY_PORTS	3000

Test(conn, copy_in_chunks_of_any_size_yields_every_entry_exactly_once,
     .init = setup_nat, .fini = teardown)
{
	static const uint32_t sizes[] = { 1, 2, 7, 64, 4096 };
	static uint8_t seen[COPY_PORTS];
	struct xlb_conn_view v;

	for (uint32_t p = 0; p < COPY_PORTS; p++) {
		struct xlb_conn_key k = client(IPPROTO_UDP, 1, (uint16_t)p);

		cr_assert_geq(in(&k, 0, T0, &v), 0);
	}
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		memset(seen, 0, sizeof(seen));
		cr_expect_eq(copy_all(sizes[s], T0, seen, COPY_PORTS, NULL), COPY_PORTS,
			     "chunks of %u", sizes[s]);
		for (uint32_t p = 0; p < COPY_PORTS; p++)
			cr_assert_eq(seen[p], 1, "chunks of %u: port %u copied %u times",
				     sizes[s], p, seen[p]);
	}
}

Test(conn, copied_entry_shows_what_the_listing_shows, .init = setup_nat, .fini = teardown)
{
	struct xlb_conn_key k = client(IPPROTO_TCP, 1, 4000);
	struct xlb_conn_entry got, want;
	struct xlb_conn_cursor cur = { 0 };
	struct xlb_conn_view v;

	cr_assert_eq(in(&k, F_SYN, T0, &v), 1);
	want = listed(&k, T0 + 1500);
	cr_assert_eq(xlb_conn_copy(T, T0 + 1500, &cur, &got, 1), 1);
	cr_expect_eq(memcmp(&got.orig, &k, sizeof(k)), 0);
	cr_expect_eq(got.daddr, want.daddr);
	cr_expect_eq(got.dport, want.dport);
	cr_expect_eq(got.fwd, XLB_FWD_NAT);
	cr_expect_eq(got.state, want.state);
	cr_expect_str_eq(got.state_name, want.state_name);
	cr_expect_eq(got.expires_s, want.expires_s);
	cr_expect_eq(got.pkts, want.pkts);
	cr_expect_eq(got.dest, want.dest);
	cr_expect_eq(xlb_conn_copy(T, T0, &cur, &got, 1), 0);
}

static uint32_t churn_next;

/* Between two copies: 20 new entries (ports from COPY_PORTS on), up to
 * 1,000 of them (the table holds 4,096). */
static void churn(int call)
{
	struct xlb_conn_view v;

	(void)call;
	for (int i = 0; i < 20 && churn_next < COPY_PORTS + 1000; i++) {
		struct xlb_conn_key k = client(IPPROTO_UDP, 1, (uint16_t)churn_next++);

		cr_assert_geq(in(&k, 0, T0, &v), 0);
	}
}

Test(conn, entries_that_stay_are_copied_once_while_others_come_between_calls,
     .init = setup_dr, .fini = teardown)
{
	static uint8_t seen[COPY_PORTS + 4000];
	struct xlb_conn_view v;

	for (uint32_t p = 0; p < COPY_PORTS; p++) {
		struct xlb_conn_key k = client(IPPROTO_UDP, 1, (uint16_t)p);

		cr_assert_geq(in(&k, 0, T0, &v), 0);
	}
	churn_next = COPY_PORTS;
	memset(seen, 0, sizeof(seen));
	/* 16 per call: longer than any chain, so no bucket is split. */
	copy_all(16, T0, seen, sizeof(seen), churn);
	for (uint32_t p = 0; p < COPY_PORTS; p++)
		cr_assert_eq(seen[p], 1, "port %u copied %u times", p, seen[p]);
	for (uint32_t p = COPY_PORTS; p < churn_next; p++)
		cr_assert_leq(seen[p], 1, "new port %u copied %u times", p, seen[p]);
	cr_expect_eq(churn_next, COPY_PORTS + 1000, "the table changed under the copy");
}

/* Every entry bound to its own "destination", so that one entry can be
 * flushed alone. */
static char copy_tags[COPY_PORTS];

static int tag_sched(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *tg)
{
	(void)arg;
	memset(tg, 0, sizeof(*tg));
	tg->dest = &copy_tags[ntohs(k->sport)];
	tg->daddr = htonl(RIP(0));
	tg->dport = htons(80);
	tg->fwd = XLB_FWD_DR;
	return 0;
}

Test(conn, entries_that_stay_are_copied_once_while_copied_ones_are_freed_between_calls)
{
	static uint8_t seen[COPY_PORTS];
	struct xlb_conn_entry buf[16];
	struct xlb_conn_cursor cur = { 0 };
	struct xlb_conn_params p;
	struct xlb_conn_view v;
	size_t total = 0, freed = 0;
	uint32_t n;

	xlb_conn_params_default(&p);
	p.max_conns = 4096;
	p.seed = 777;
	cr_assert_eq(xlb_conn_init(&T, &p), 0);
	for (uint32_t i = 0; i < COPY_PORTS; i++) {
		struct xlb_conn_key k = client(IPPROTO_UDP, 1, (uint16_t)i);

		cr_assert_geq(xlb_conn_in(T, &k, 0, T0, tag_sched, NULL, &v), 0);
	}
	memset(seen, 0, sizeof(seen));
	/* 16 at a time (more than any chain holds); after each call the last
	 * entry copied goes, which shifts the rest of its bucket. */
	while ((n = xlb_conn_copy(T, T0, &cur, buf, 16)) > 0) {
		for (uint32_t i = 0; i < n; i++)
			seen[ntohs(buf[i].orig.sport)]++;
		total += n;
		freed += xlb_conn_flush_dest(T, buf[n - 1].dest);
	}
	for (uint32_t i = 0; i < COPY_PORTS; i++)
		cr_assert_eq(seen[i], 1, "port %u copied %u times", i, seen[i]);
	cr_expect_eq(total, COPY_PORTS);
	cr_expect_gt(freed, 100u);
	cr_expect_eq(xlb_conn_count(T), COPY_PORTS - freed);
	teardown();
}

/* ---- the state file: a restarted xlbd adopts the table ---- */

static char state_dir[64];
static char state_path[96];

static void state_setup(void)
{
	snprintf(state_dir, sizeof(state_dir), "/tmp/xlb-conn-test.XXXXXX");
	cr_assert_not_null(mkdtemp(state_dir));
	snprintf(state_path, sizeof(state_path), "%s/conns", state_dir);
	fake_init(XLB_FWD_NAT);
	F.d[2].fwd = XLB_FWD_DR;	/* mixed methods, as a real director */
	T = NULL;
}

static void state_teardown(void)
{
	xlb_conn_free(T);
	T = NULL;
	unlink(state_path);
	rmdir(state_dir);
}

static int open_state(struct xlb_conn_tab **tp, uint32_t max, uint32_t seed)
{
	struct xlb_conn_params p;

	params_with(&p, max);
	p.seed = seed;
	p.state_path = state_path;
	return xlb_conn_init(tp, &p);
}

/* The next process: same servers, fresh objects and counts. */
static void next_process(void)
{
	fake_init(XLB_FWD_NAT);
	F.d[2].fwd = XLB_FWD_DR;
}

struct rebind_arg {
	int calls;
	int drop_id;		/* entries of this dest are refused */
};

/* What xlbd would do: find the real server by the old reply tuple's
 * address and port, bind it as its scheduler would. */
static int rebind(void *arg, const struct xlb_conn_view *old, struct xlb_conn_target *tg)
{
	struct rebind_arg *a = arg;
	int i;

	a->calls++;
	for (i = 0; i < F.ndest; i++) {
		struct dest *d = &F.d[i];

		if (d->addr != old->reply.saddr || d->port != old->reply.sport)
			continue;
		if (d->id == a->drop_id)
			return -ENOENT;
		tg->dest = d;
		tg->daddr = d->addr;
		tg->dport = d->port;
		tg->fwd = d->fwd;
		memset(tg->bind, d->id + 1, sizeof(tg->bind));
		return 0;
	}
	return -ENOENT;
}

#define NFLOWS_MAX	512

struct flows {
	struct xlb_conn_key k[NFLOWS_MAX];
	struct xlb_conn_view v[NFLOWS_MAX];
	int n, tcp;
};

static struct xlb_conn_key flow_key(int i)
{
	if (i % 4 == 3)
		return client(IPPROTO_UDP, (uint32_t)i, 5353);
	return client(IPPROTO_TCP, (uint32_t)i, (uint16_t)(20000 + i));
}

/* n flows at now: three in four TCP, ESTABLISHED through both ways for
 * NAT; the rest UDP. Returns -1 instead of asserting (used in a child). */
static int fill_flows(struct flows *fl, int n, uint64_t now)
{
	int i;

	fl->n = n;
	fl->tcp = 0;
	for (i = 0; i < n; i++) {
		struct xlb_conn_key *k = &fl->k[i];
		struct xlb_conn_view *v = &fl->v[i];

		*k = flow_key(i);
		if (k->proto == IPPROTO_UDP) {
			if (in(k, 0, now, v) != 1)
				return -1;
			continue;
		}
		if (in(k, F_SYN, now, v) != 1)
			return -1;
		if (v->fwd == XLB_FWD_NAT) {
			struct xlb_conn_key r = reply_of(k, v->dest);

			if (xlb_conn_out(T, &r, F_SYN | F_ACK, now, v) != 0)
				return -1;
		}
		if (in(k, F_ACK, now, v) != 0 || v->state != XLB_CONN_S_ESTABLISHED)
			return -1;
		fl->tcp++;
	}
	return 0;
}

/* Every flow of fl is in T with its state, server and NAT mapping, bound
 * to this process's objects, and is not scheduled again. */
static void expect_flows_adopted(const struct flows *fl, uint64_t now)
{
	long sched0 = F.sched_calls, act = 0, inact = 0;
	int i;

	for (i = 0; i < fl->n; i++) {
		const struct dest *was = fl->v[i].dest;
		struct xlb_conn_view v;
		struct dest *d;

		cr_assert_eq(xlb_conn_get(T, &fl->k[i], XLB_CONN_DIR_INPUT, now, &v), 0,
			     "flow %d adopted", i);
		d = (struct dest *)v.dest;
		cr_expect_eq(d, &F.d[was->id], "flow %d bound to this process's dest", i);
		cr_expect_eq(v.state, fl->v[i].state);
		cr_expect_eq(v.fwd, fl->v[i].fwd);
		cr_expect_eq(v.bind[0], (uint8_t)(was->id + 1));
		if (v.fwd == XLB_FWD_NAT) {
			struct xlb_conn_key r = reply_of(&fl->k[i], d);

			cr_expect_eq(xlb_conn_out(T, &r, F_ACK, now, &v), 0,
				     "NAT reply tuple of flow %d adopted", i);
			cr_expect_eq(memcmp(&v.orig, &fl->k[i], sizeof(v.orig)), 0);
		}
		cr_expect_eq(in(&fl->k[i], F_ACK, now, &v), 0, "flow %d continues", i);
	}
	cr_expect_eq(F.sched_calls, sched0, "no adopted flow was scheduled again");
	for (i = 0; i < NDEST; i++) {
		act += F.d[i].active;
		inact += F.d[i].inactive;
	}
	cr_expect_eq(act, fl->tcp, "on_count: %ld active", act);
	cr_expect_eq(inact, fl->n - fl->tcp, "on_count: %ld inactive", inact);
	cr_expect_eq(xlb_conn_count(T), (uint64_t)fl->n);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

static struct flows FL;

Test(conn, state_file_of_a_freed_table_is_adopted_with_its_nat_reply_tuples,
     .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };

	cr_assert_eq(open_state(&T, 1024, 111), 0);
	cr_expect_eq(xlb_conn_adoptable(T), 0u, "a new file has nothing to adopt");
	cr_expect_eq(xlb_conn_adopt(T, T0, rebind, &a), 0);
	cr_assert_eq(fill_flows(&FL, 300, T0), 0);
	xlb_conn_free(T);
	T = NULL;

	next_process();
	cr_assert_eq(open_state(&T, 1024, 999), 0, "the file's seed is reused, not 999");
	cr_expect_eq(xlb_conn_adoptable(T), 300u);
	cr_expect_eq(xlb_conn_adopt(T, T0 + SEC, rebind, &a), 300);
	cr_expect_eq(a.calls, 300);
	cr_expect_eq(xlb_conn_adoptable(T), 0u);
	cr_expect_eq(stats().adopted, 300u);
	expect_flows_adopted(&FL, T0 + 2 * SEC);
	cr_expect_eq(xlb_conn_adopt(T, T0 + 2 * SEC, rebind, &a), -EALREADY,
		     "adopt runs once, before use");
}

Test(conn, state_file_of_a_sigkilled_process_is_adopted,
     .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };
	int status;
	pid_t pid;

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* No Criterion asserts in the child: its exit status speaks. */
		if (open_state(&T, 1024, 0) != 0 || fill_flows(&FL, 200, T0) != 0)
			_exit(1);
		raise(SIGKILL);
		_exit(2);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "the child filled its table and was killed (status %#x)", status);

	/* The child's flows, as this process computes them. */
	cr_assert_eq(open_state(&T, 1024, 0), 0);
	cr_expect_eq(xlb_conn_adoptable(T), 200u);
	cr_expect_eq(xlb_conn_adopt(T, T0 + SEC, rebind, &a), 200);
	for (int i = 0; i < 200; i++) {
		struct xlb_conn_key k = flow_key(i);
		struct xlb_conn_view v;

		cr_assert_eq(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0 + SEC, &v), 0,
			     "flow %d adopted", i);
		cr_expect_eq(v.state, i % 4 == 3 ? XLB_CONN_S_UDP : XLB_CONN_S_ESTABLISHED);
		if (v.fwd == XLB_FWD_NAT) {
			struct xlb_conn_key r = reply_of(&k, v.dest);

			cr_expect_eq(xlb_conn_get(T, &r, XLB_CONN_DIR_OUTPUT, T0 + SEC, &v), 0,
				     "NAT reply tuple of flow %d adopted", i);
		}
	}
	cr_expect_eq(xlb_conn_count(T), 200u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, second_open_of_a_state_file_is_busy, .init = state_setup, .fini = state_teardown)
{
	struct xlb_conn_tab *t2 = NULL;

	cr_assert_eq(open_state(&T, 64, 1), 0);
	cr_expect_eq(open_state(&t2, 64, 1), -EBUSY);
	cr_expect_null(t2);
	xlb_conn_free(T);
	T = NULL;
	cr_expect_eq(open_state(&t2, 64, 1), 0, "free() lets the next process in");
	xlb_conn_free(t2);
}

Test(conn, mismatched_short_or_garbled_state_file_starts_empty,
     .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };
	static const char junk[] = "not a connection table";
	int fd;

	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_assert_eq(fill_flows(&FL, 50, T0), 0);
	xlb_conn_free(T);
	T = NULL;

	/* Another --max-conns: another geometry. */
	next_process();
	cr_assert_eq(open_state(&T, 2048, 1), 0);
	cr_expect_eq(xlb_conn_adoptable(T), 0u);
	cr_expect_eq(xlb_conn_adopt(T, T0, rebind, &a), 0);
	cr_expect_eq(a.calls, 0);
	cr_expect_eq(xlb_conn_count(T), 0u);
	cr_assert_eq(fill_flows(&FL, 20, T0), 0);
	cr_expect_eq(xlb_conn_verify(T), 0);
	xlb_conn_free(T);
	T = NULL;

	/* A garbled header. */
	fd = open(state_path, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
	close(fd);
	next_process();
	cr_assert_eq(open_state(&T, 2048, 1), 0);
	cr_expect_eq(xlb_conn_adoptable(T), 0u);
	cr_assert_eq(fill_flows(&FL, 20, T0), 0);
	xlb_conn_free(T);
	T = NULL;

	/* A short file (a copy cut off, a full disk). */
	cr_assert_eq(truncate(state_path, 4096 + 128 * 5), 0);
	next_process();
	cr_assert_eq(open_state(&T, 2048, 1), 0);
	cr_expect_eq(xlb_conn_adoptable(T), 0u);
	cr_expect_eq(xlb_conn_adopt(T, T0, rebind, &a), 0);
	cr_expect_eq(xlb_conn_count(T), 0u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

/* Offsets in the file (conn.c): a 4096-byte header, then 128-byte entries
 * in the order they were first used (then the IPv6 addresses, 64 bytes an
 * entry); within one, key[0] at 0 (proto at 12), key[1] at 16 (daddr at
 * 20), state at 56, fwd 57, flags 58, as before IPv6. */
#define ENT_OFF(i, f)	(4096 + 128 * (off_t)(i) + (f))

static void poke(int fd, off_t off, uint8_t v)
{
	cr_assert_eq(pwrite(fd, &v, 1, off), 1);
}

Test(conn, state_file_entries_that_fail_validation_are_dropped,
     .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };
	uint8_t ent[128];
	int fd;

	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_assert_eq(fill_flows(&FL, 64, T0), 0);
	xlb_conn_free(T);
	T = NULL;

	fd = open(state_path, O_RDWR);
	cr_assert_geq(fd, 0);
	poke(fd, ENT_OFF(0, 57), 9);		/* no such forwarding method */
	poke(fd, ENT_OFF(1, 12), IPPROTO_ICMP);	/* no such protocol */
	poke(fd, ENT_OFF(2, 56), 200);		/* no such state */
	poke(fd, ENT_OFF(3, 58), 0xff);		/* unknown flags */
	poke(fd, ENT_OFF(4, 20), 0x7f);		/* reply tuple not the client's */
	/* A torn slot repeating another entry's tuple: one of them stays. */
	cr_assert_eq(pread(fd, ent, sizeof(ent), ENT_OFF(6, 0)), (ssize_t)sizeof(ent));
	cr_assert_eq(pwrite(fd, ent, sizeof(ent), ENT_OFF(5, 0)), (ssize_t)sizeof(ent));
	close(fd);

	next_process();
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_expect_eq(xlb_conn_adopt(T, T0 + SEC, rebind, &a), 64 - 6);
	cr_expect_eq(a.calls, 64 - 5, "rebind sees only sane entries (and the duplicate)");
	cr_expect_eq(xlb_conn_count(T), 64u - 6);
	cr_expect_eq(xlb_conn_verify(T), 0);
	/* The slots freed are reused. */
	for (int i = 0; i < 64; i++) {
		struct xlb_conn_key k = client(IPPROTO_UDP, 1000 + (uint32_t)i, 53);
		struct xlb_conn_view v;

		cr_expect_eq(in(&k, 0, T0 + 2 * SEC, &v), 1);
	}
	cr_expect_eq(xlb_conn_count(T), 128u - 6);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, state_file_of_random_bytes_is_never_trusted,
     .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };
	uint8_t buf[128 * 32];
	int fd, r, i;

	cr_assert_eq(open_state(&T, 256, 1), 0);
	cr_assert_eq(fill_flows(&FL, 256, T0), 0);
	xlb_conn_free(T);
	T = NULL;

	prng_state = 42;
	fd = open(state_path, O_RDWR);
	cr_assert_geq(fd, 0);
	for (r = 0; r < 256 * 128 / (int)sizeof(buf); r++) {
		for (i = 0; i < (int)sizeof(buf); i++)
			buf[i] = (uint8_t)prng();
		/* Keep a few plausible bytes: flags in use, proto TCP, IPv4. */
		for (i = 0; i < (int)sizeof(buf); i += 128) {
			buf[i + 58] &= 3;
			buf[i + 12] = buf[i + 28] = IPPROTO_TCP;
			buf[i + 13] = buf[i + 29] = 0;
		}
		cr_assert_eq(pwrite(fd, buf, sizeof(buf), ENT_OFF(r * 32, 0)),
			     (ssize_t)sizeof(buf));
	}
	close(fd);

	next_process();
	cr_assert_eq(open_state(&T, 256, 1), 0);
	cr_expect_geq(xlb_conn_adopt(T, T0, rebind, &a), 0);
	cr_expect_eq(xlb_conn_verify(T), 0);
	cr_assert_eq(fill_flows(&FL, 100, T0 + SEC), 0, "the table works after");
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, rebind_refusing_an_entry_drops_it, .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = 1 };
	int i, of1 = 0, kept;

	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_assert_eq(fill_flows(&FL, 200, T0), 0);
	for (i = 0; i < FL.n; i++)
		of1 += ((const struct dest *)FL.v[i].dest)->id == 1;
	cr_assert_gt(of1, 0);
	xlb_conn_free(T);
	T = NULL;

	next_process();
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	kept = xlb_conn_adopt(T, T0 + SEC, rebind, &a);
	cr_expect_eq(kept, 200 - of1);
	cr_expect_eq(F.d[1].active + F.d[1].inactive, 0);
	for (i = 0; i < FL.n; i++) {
		struct xlb_conn_view v;
		bool dropped = ((const struct dest *)FL.v[i].dest)->id == 1;

		cr_expect_eq(xlb_conn_get(T, &FL.k[i], XLB_CONN_DIR_INPUT, T0 + SEC, &v),
			     dropped ? -ENOENT : 0, "flow %d", i);
	}
	cr_expect_eq(xlb_conn_count(T), (uint64_t)kept);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, expired_entries_are_not_adopted, .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };

	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_assert_eq(fill_flows(&FL, 100, T0), 0);
	xlb_conn_free(T);
	T = NULL;

	next_process();
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_expect_eq(xlb_conn_adoptable(T), 100u);
	/* UDP's 300 s are over, TCP's 900 s not. */
	cr_expect_eq(xlb_conn_adopt(T, T0 + 400 * SEC, rebind, &a), FL.tcp);
	cr_expect_eq(a.calls, FL.tcp, "expired entries are dropped without asking");
	cr_expect_eq(xlb_conn_verify(T), 0);
}

/* ---- IPv6 keys (issue 14): same table, 16-byte addresses ---- */

static struct xlb_conn_key key6(uint8_t proto, uint32_t s_low, uint16_t sp, uint32_t d_low,
				uint16_t dp)
{
	union xlb_inaddr s = { .ip6 = { htonl(0xfd000000u), 0, 0, htonl(s_low) } };
	union xlb_inaddr d = { .ip6 = { htonl(0xfd000000u), 0, 0, htonl(d_low) } };
	struct xlb_conn_key k;

	memset(&k, 0, sizeof(k));
	k.proto = proto;
	k.sport = htons(sp);
	k.dport = htons(dp);
	xlb_conn_key_set6(&k, &s, &d);
	return k;
}

/* An IPv6 scheduler: the target's RIP is 16 bytes (daddr its fold). */
static int sched6(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *tg)
{
	struct fake *f = arg;
	int rc = sched(arg, k, tg);
	const struct dest *d = tg->dest;

	(void)f;
	if (rc)
		return rc;
	tg->daddr6 = (union xlb_inaddr){ .ip6 = { htonl(0xfd000001u), 0, 0, d->addr } };
	tg->daddr = tg->daddr6.ip6[0] ^ tg->daddr6.ip6[3];
	return 0;
}

Test(conn, ipv6_flows_differing_only_past_the_fold_are_distinct_entries,
     .init = setup_nat, .fini = teardown)
{
	struct xlb_conn_key a = key6(IPPROTO_TCP, 1, 1000, 0x100, 80);
	struct xlb_conn_key b = a, r;
	struct xlb_conn_view va, vb, vo;
	union xlb_inaddr bs = b.saddr6;

	/* Same fold (two words changed alike), same ports: only the full
	 * address tells them apart. */
	bs.ip6[1] ^= htonl(0x55);
	bs.ip6[2] ^= htonl(0x55);
	xlb_conn_key_set6(&b, &bs, &a.daddr6);
	cr_assert_eq(a.saddr, b.saddr, "the folds collide on purpose");
	cr_assert_eq(xlb_conn_in(T, &a, F_SYN, T0, sched6, &F, &va), 1);
	cr_assert_eq(xlb_conn_in(T, &b, F_SYN, T0, sched6, &F, &vb), 1, "a second entry");
	cr_expect_eq(xlb_conn_count(T), 2u);
	cr_expect_eq(xlb_conn_in(T, &a, F_ACK, T0 + 1, sched6, &F, &va), 0, "found again");
	cr_expect_eq(memcmp(&va.orig.saddr6, &a.saddr6, 16), 0);

	/* An IPv4 flow whose addresses equal the folds is another flow. */
	r = key(IPPROTO_TCP, ntohl(a.saddr), 1000, ntohl(a.daddr), 80);
	cr_expect_eq(in(&r, F_SYN, T0, &vo), 1);
	cr_expect_eq(xlb_conn_count(T), 3u);
	/* And is found again with af AF_INET and pad bytes set (both
	 * ignored for IPv4, as conn.h says). */
	r.af = AF_INET;
	r.pad[0] = 0x5a;
	r.pad[1] = 0xa5;
	cr_expect_eq(in(&r, F_ACK, T0 + 1, &vo), 0);
	cr_expect_eq(xlb_conn_count(T), 3u);

	/* NAT66 replies: RIP6:rport -> client6, matched on all 16 bytes. */
	r = va.reply;
	cr_expect(xlb_conn_key_is6(&r));
	cr_expect_eq(memcmp(&r.daddr6, &a.saddr6, 16), 0);
	cr_expect_eq(r.saddr6.ip6[0], htonl(0xfd000001u));
	cr_expect_eq(xlb_conn_out(T, &r, F_SYN | F_ACK, T0 + 2, &vo), 0);
	cr_expect_eq(memcmp(&vo.orig.saddr6, &a.saddr6, 16), 0);
	r.daddr6.ip6[1] ^= htonl(1);
	cr_expect_lt(xlb_conn_out(T, &r, F_ACK, T0 + 2, &vo), 0, "another client's tuple");
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, ipv6_entries_survive_a_state_file_handoff, .init = state_setup,
     .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };
	struct xlb_conn_key k = key6(IPPROTO_UDP, 7, 5353, 0x100, 53);
	struct xlb_conn_view v;

	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_assert_eq(xlb_conn_in(T, &k, 0, T0, sched6, &F, &v), 1);
	xlb_conn_free(T);
	T = NULL;
	next_process();
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_expect_eq(xlb_conn_adoptable(T), 1u);
	cr_expect_eq(xlb_conn_file_version(T), 0u);
	/* rebind matches the fold's low word to the fake's server. */
	(void)a;
}

/*
 * A state file as the xlbd before IPv6 (main, format version 1) wrote it,
 * from that code's layout as fixed offsets, never from this tree's
 * structs: a 4096-byte header (magic u64 at 0, version 8, entry_size 12,
 * max_conns 16, nbuckets 20, seed 24, hiwater 28), then max_conns 128-byte
 * entries and nothing after them. An entry: key[0] and key[1] at 0 and 16
 * (saddr +0, daddr +4, sport +8, dport +10, proto +12, pad[3] +13), next[2]
 * 32, dest 40, expires 48 (ms, u64), state 56, fwd 57, flags 58 (INUSE 1,
 * REPLY_HASHED 2, REF 4, TEMPLATE 8), pad 59, pkts / n_control 60, bind
 * 64 (60 bytes), ctl / tmo 124.
 */
#define V1_MAGIC	0x6e6e6f63626c78ull
#define V1_HDR		4096
#define V1_ENT		128
#define V1_ENT_OFF(i)	((size_t)V1_HDR + V1_ENT * (size_t)(i))

struct v1_tuple {
	uint32_t saddr, daddr;	/* network order */
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t pad[3];
};

struct v1_ent {
	struct v1_tuple o, r;
	uint64_t next, dest, expires;
	uint8_t state, fwd, flags;
	uint32_t pkts, ctl;
};

static void put_bytes(uint8_t *b, size_t off, const void *v, size_t n)
{
	memcpy(b + off, v, n);
}

static void put_tuple(uint8_t *b, size_t off, const struct v1_tuple *k)
{
	put_bytes(b, off + 0, &k->saddr, 4);
	put_bytes(b, off + 4, &k->daddr, 4);
	put_bytes(b, off + 8, &k->sport, 2);
	put_bytes(b, off + 10, &k->dport, 2);
	b[off + 12] = k->proto;
	put_bytes(b, off + 13, k->pad, 3);
}

/* Writes state_path as version 1 with entries e[0..n) (hiwater n) for a
 * table of max entries; the file is file_bytes long (the version-1 size
 * when 0). */
static void write_v1(uint32_t max, uint32_t nbuckets, const struct v1_ent *e, uint32_t n,
		     size_t file_bytes)
{
	size_t bytes = V1_ENT_OFF(max);
	uint8_t *b = calloc(1, bytes);
	uint64_t magic = V1_MAGIC;
	uint32_t hdr[6] = { 1, V1_ENT, max, nbuckets, 12345, n };
	uint32_t i;
	int fd;

	cr_assert_not_null(b);
	put_bytes(b, 0, &magic, 8);
	put_bytes(b, 8, hdr, sizeof(hdr));
	for (i = 0; i < n; i++) {
		size_t o = V1_ENT_OFF(i);

		put_tuple(b, o, &e[i].o);
		put_tuple(b, o + 16, &e[i].r);
		put_bytes(b, o + 32, &e[i].next, 8);
		put_bytes(b, o + 40, &e[i].dest, 8);
		put_bytes(b, o + 48, &e[i].expires, 8);
		b[o + 56] = e[i].state;
		b[o + 57] = e[i].fwd;
		b[o + 58] = e[i].flags;
		put_bytes(b, o + 60, &e[i].pkts, 4);
		memset(b + o + 64, 0xee, 60);	/* the old process's dp_bind */
		put_bytes(b, o + 124, &e[i].ctl, 4);
	}
	fd = open(state_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b, bytes), (ssize_t)bytes);
	if (file_bytes)
		cr_assert_eq(ftruncate(fd, (off_t)file_bytes), 0);
	close(fd);
	free(b);
}

static struct v1_tuple v1_tuple(uint8_t proto, uint32_t s, uint16_t sp, uint32_t d, uint16_t dp)
{
	struct v1_tuple k = { .saddr = htonl(s), .daddr = htonl(d), .sport = htons(sp),
			      .dport = htons(dp), .proto = proto };
	return k;
}

/* A connection of client CIP(c):cport to vip:80 through dest (as the
 * fake's F.d[dest]: RIP(dest):8080). */
static struct v1_ent v1_conn(uint8_t proto, uint32_t c, uint16_t cport, uint32_t vip,
			     int dest, uint8_t fwd, uint8_t state, uint64_t expires)
{
	struct v1_ent e = {
		.o = v1_tuple(proto, CIP(c), cport, vip, 80),
		.r = v1_tuple(proto, RIP(dest), 8080, CIP(c), cport),
		.next = 0x0000000700000009ull,		/* the old chains */
		.dest = 0x00007f00deadbee0ull,		/* the old process's pointer */
		.expires = expires, .state = state, .fwd = fwd,
		.flags = 0x01 | (fwd == XLB_FWD_NAT ? 0x02 : 0), .pkts = 7,
	};
	return e;
}

#define V1_N	7

/* The version-1 entries of the upgrade tests: NAT TCP ESTABLISHED (index
 * 0), DR TCP FIN_WAIT (1), a free slot (2), NAT UDP (3), a persistence
 * template (4, TCP, 300 s) and the connection it controls (5), an expired
 * one (6). */
static void v1_entries(struct v1_ent *e)
{
	memset(e, 0, sizeof(*e) * V1_N);
	e[0] = v1_conn(IPPROTO_TCP, 1, 20001, VIP, 0, XLB_FWD_NAT,
		       XLB_CONN_S_ESTABLISHED, T0 + 800 * SEC);
	e[0].flags |= 0x04;	/* REF */
	e[1] = v1_conn(IPPROTO_TCP, 2, 20002, VIP, 2, XLB_FWD_DR,
		       XLB_CONN_S_FIN_WAIT, T0 + 100 * SEC);
	/* main wrote its tuples' pad bytes zero; were one not (byte 13, af
	 * in version 3, even AF_INET6), version 1 still held IPv4 only. */
	e[1].o.pad[0] = e[1].r.pad[0] = AF_INET6;
	e[1].o.pad[2] = e[1].r.pad[1] = 0xff;
	e[2].next = 5;		/* free: links the free list */
	e[3] = v1_conn(IPPROTO_UDP, 3, 5353, VIP, 1, XLB_FWD_NAT, XLB_CONN_S_UDP,
		       T0 + 200 * SEC);
	e[4] = (struct v1_ent){
		.o = v1_tuple(IPPROTO_TCP, CIP(4), 0, VIP2, 80),
		.r = v1_tuple(IPPROTO_TCP, RIP(1), 8080, CIP(4), 0),
		.dest = 0x00007f00deadbee0ull, .expires = T0 + 300 * SEC,
		.state = XLB_CONN_S_NONE, .fwd = XLB_FWD_NAT, .flags = 0x01 | 0x08,
		.pkts = 1 /* n_control */, .ctl = 300 /* tmo */,
	};
	e[5] = v1_conn(IPPROTO_TCP, 4, 30000, VIP2, 1, XLB_FWD_NAT,
		       XLB_CONN_S_ESTABLISHED, T0 + 800 * SEC);
	e[5].ctl = 4 + 1;	/* its template's index + 1 */
	e[6] = v1_conn(IPPROTO_TCP, 6, 20006, VIP, 0, XLB_FWD_NAT,
		       XLB_CONN_S_ESTABLISHED, T0 - SEC);
}

static int sched_refuses(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *tg)
{
	(void)k;
	(void)tg;
	__atomic_fetch_add(&((struct fake *)arg)->sched_calls, 1, __ATOMIC_RELAXED);
	return -EHOSTUNREACH;
}

static uint32_t file_u32(off_t off)
{
	uint32_t v = 0;
	int fd = open(state_path, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &v, sizeof(v), off), (ssize_t)sizeof(v));
	close(fd);
	return v;
}

static off_t file_size(void)
{
	struct stat st;

	cr_assert_eq(stat(state_path, &st), 0);
	return st.st_size;
}

/* The version-1 entries are in T (adopted at T0) as IPv4 entries. */
static void expect_v1_adopted(void)
{
	struct xlb_conn_key k, r;
	struct xlb_conn_view v, tv;
	struct xlb_conn_entry ci;
	uint32_t ref;

	/* 0: NAT TCP, both ways, its packet count kept. */
	k = client(IPPROTO_TCP, 1, 20001);
	cr_assert_eq(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0, &v), 0, "NAT TCP entry adopted");
	cr_expect_eq(v.state, XLB_CONN_S_ESTABLISHED);
	cr_expect_eq(v.fwd, XLB_FWD_NAT);
	cr_expect_eq(v.dest, &F.d[0]);
	cr_expect_eq(v.bind[0], 1, "bound anew (rebind), not the old blob");
	cr_expect_eq(v.pkts, 7u);
	cr_expect(!xlb_conn_key_is6(&v.orig));
	ci = listed(&k, T0);
	cr_expect_eq(ci.expires_s, 800u, "its expiry kept (%u s)", ci.expires_s);
	cr_expect_eq(in(&k, F_ACK, T0 + 1, &v), 0, "continues");
	cr_expect_eq(v.pkts, 8u);
	r = reply_of(&k, &F.d[0]);
	cr_expect_eq(xlb_conn_out(T, &r, F_ACK, T0 + 1, &v), 0, "its NAT reply tuple");
	cr_expect_eq(memcmp(&v.orig, &k, sizeof(k)), 0);

	/* 1: DR TCP FIN_WAIT, pad bytes set in the file. */
	k = client(IPPROTO_TCP, 2, 20002);
	cr_assert_eq(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0, &v), 0, "DR entry adopted");
	cr_expect_eq(v.state, XLB_CONN_S_FIN_WAIT);
	cr_expect_eq(v.fwd, XLB_FWD_DR);
	cr_expect_eq(v.dest, &F.d[2]);
	cr_expect(!xlb_conn_key_is6(&v.orig), "an IPv4 entry, whatever byte 13 held");
	ci = listed(&k, T0);
	cr_expect_eq(ci.expires_s, 100u, "its expiry kept (%u s)", ci.expires_s);
	cr_expect_eq(ci.daddr, htonl(RIP(2)));

	/* 3: NAT UDP. */
	k = client(IPPROTO_UDP, 3, 5353);
	cr_assert_eq(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0, &v), 0, "UDP entry adopted");
	cr_expect_eq(v.state, XLB_CONN_S_UDP);
	cr_expect_eq(v.dest, &F.d[1]);
	r = reply_of(&k, &F.d[1]);
	cr_expect_eq(xlb_conn_out(T, &r, 0, T0 + 1, &v), 0, "its NAT reply tuple");

	/* 4 and 5: the template, controlling connection 5 (ctl at 124). */
	k = key(IPPROTO_TCP, CIP(4), 0, VIP2, 80);
	cr_assert_eq(xlb_conn_tmpl_get(T, &k, 300, T0, sched_refuses, &F, &tv, &ref), 0,
		     "the template exists");
	cr_expect(tv.tmpl);
	cr_expect_eq(tv.reply.saddr, htonl(RIP(1)));
	cr_expect_eq(xlb_conn_tmpl_controlled(T, ref), 2, "controls connection 5 (+ our ref)");
	xlb_conn_tmpl_put(T, ref, T0);
	k = client(IPPROTO_TCP, 4, 30000);
	k.daddr = htonl(VIP2);
	cr_assert_eq(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0, &v), 0, "controlled entry adopted");
	cr_expect_eq(v.dest, &F.d[1]);

	/* 6: expired. */
	k = client(IPPROTO_TCP, 6, 20006);
	cr_expect_lt(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0, &v), 0, "expired: not adopted");

	cr_expect_eq(F.sched_calls, 0, "nothing scheduled again");
	cr_expect_eq(xlb_conn_count(T), 5u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, state_file_of_format_version_1_is_upgraded_and_its_ipv4_entries_adopted,
     .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };
	struct v1_ent e[V1_N];
	struct xlb_conn_key k;
	struct xlb_conn_view v;

	v1_entries(e);
	write_v1(1024, 1024, e, V1_N, 0);
	cr_assert_eq(file_size(), V1_ENT_OFF(1024));
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_expect_eq(xlb_conn_file_upgraded(T), 1u, "xlbd logs the upgrade");
	cr_expect_eq(xlb_conn_file_version(T), 0u, "not refused");
	cr_expect_eq(xlb_conn_adoptable(T), 6u);
	cr_expect_eq(file_u32(8), 3u, "the header says version 3");
	cr_expect_eq(file_size(), 4096 + (128 + 64) * 1024, "the IPv6 array appended");
	cr_expect_eq(xlb_conn_adopt(T, T0, rebind, &a), 5);
	expect_v1_adopted();

	/* New flows, IPv4 and IPv6, in the upgraded table. */
	k = client(IPPROTO_TCP, 100, 40000);
	cr_expect_eq(in(&k, F_SYN, T0 + 2, &v), 1);
	xlb_conn_free(T);
	T = NULL;

	/* The next restart reads version 3 as its own. */
	next_process();
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_expect_eq(xlb_conn_file_upgraded(T), 0u);
	cr_expect_eq(xlb_conn_file_version(T), 0u);
	cr_expect_eq(xlb_conn_adoptable(T), 6u);
	cr_expect_eq(xlb_conn_adopt(T, T0 + 3, rebind, &a), 6);
	k = client(IPPROTO_TCP, 2, 20002);
	cr_expect_eq(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0 + 3, &v), 0);
	cr_expect_eq(v.state, XLB_CONN_S_FIN_WAIT);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn, state_file_upgrade_cut_short_before_its_version_is_done_again,
     .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };
	struct v1_ent e[V1_N];
	uint8_t junk[64];
	int fd;

	/* Killed after extending, before writing version 3: a version-1
	 * header on a file of version 3's size, its IPv6 array not trusted. */
	v1_entries(e);
	write_v1(1024, 1024, e, V1_N, 4096 + (128 + 64) * 1024);
	memset(junk, 0xa5, sizeof(junk));
	fd = open(state_path, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, junk, sizeof(junk), V1_ENT_OFF(1024) + 64),
		     (ssize_t)sizeof(junk));
	close(fd);
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_expect_eq(xlb_conn_file_upgraded(T), 1u);
	cr_expect_eq(file_u32(V1_ENT_OFF(1024) + 64), 0u, "the IPv6 array zeroed again");
	cr_expect_eq(xlb_conn_adopt(T, T0, rebind, &a), 5);
	expect_v1_adopted();
}

Test(conn, state_file_of_format_version_1_of_another_geometry_starts_empty,
     .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };
	struct v1_ent e[V1_N];
	struct xlb_conn_key k;
	struct xlb_conn_view v;
	uint32_t es = 192;
	int fd;

	v1_entries(e);
	/* Another --max-conns. */
	write_v1(1024, 1024, e, V1_N, 0);
	cr_assert_eq(open_state(&T, 2048, 1), 0);
	cr_expect_eq(xlb_conn_file_upgraded(T), 0u);
	cr_expect_eq(xlb_conn_file_version(T), 0u, "refused for its geometry, not its format");
	cr_expect_eq(xlb_conn_adoptable(T), 0u);
	cr_expect_eq(xlb_conn_adopt(T, T0, rebind, &a), 0);
	cr_expect_eq(a.calls, 0);
	k = client(IPPROTO_TCP, 1, 20001);
	cr_expect_eq(in(&k, F_SYN, T0, &v), 1, "a new flow: the table is empty");
	cr_expect_eq(xlb_conn_verify(T), 0);
	xlb_conn_free(T);
	T = NULL;

	/* A short version-1 file (a copy cut off). */
	next_process();
	write_v1(1024, 1024, e, V1_N, V1_ENT_OFF(5));
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_expect_eq(xlb_conn_file_upgraded(T), 0u);
	cr_expect_eq(xlb_conn_adoptable(T), 0u);
	cr_expect_eq(xlb_conn_count(T), 0u);
	xlb_conn_free(T);
	T = NULL;

	/* Another entry size in a version-1 header. */
	next_process();
	write_v1(1024, 1024, e, V1_N, 0);
	fd = open(state_path, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, &es, sizeof(es), 12), (ssize_t)sizeof(es));
	close(fd);
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_expect_eq(xlb_conn_file_upgraded(T), 0u);
	cr_expect_eq(xlb_conn_adoptable(T), 0u);
	cr_expect_eq(file_u32(8), 3u, "made this version's, empty");
}

Test(conn, state_file_of_format_version_2_is_refused_and_the_table_starts_empty,
     .init = state_setup, .fini = state_teardown)
{
	struct rebind_arg a = { .drop_id = -1 };
	uint64_t magic = V1_MAGIC;
	uint32_t hdr[6] = { 2, 192, 1024, 1024, 12345, 50 };
	int fd;

	/* Version 2 (never released, v6 up to d55a138): 192-byte entries,
	 * version 1's 128 bytes then the IPv6 addresses inside; 50 live NAT
	 * entries, which the refusal must ignore. */
	fd = open(state_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4096 + 192 * 1024), 0);
	cr_assert_eq(pwrite(fd, &magic, 8, 0), 8);
	cr_assert_eq(pwrite(fd, hdr, sizeof(hdr), 8), (ssize_t)sizeof(hdr));
	for (int i = 0; i < 50; i++) {
		struct xlb_conn_key k = client(IPPROTO_TCP, (uint32_t)i, 20000), r;
		uint8_t ent[192] = { 0 };

		r = reply_of(&k, &F.d[0]);
		memcpy(ent, &k, 16);
		memcpy(ent + 16, &r, 16);
		ent[56] = XLB_CONN_S_ESTABLISHED;
		ent[57] = XLB_FWD_NAT;
		ent[58] = 0x03;		/* INUSE | REPLY_HASHED */
		cr_assert_eq(pwrite(fd, ent, sizeof(ent), 4096 + 192 * i), (ssize_t)sizeof(ent));
	}
	close(fd);
	next_process();
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_expect_eq(xlb_conn_file_version(T), 2u, "xlbd logs this version");
	cr_expect_eq(xlb_conn_file_upgraded(T), 0u);
	cr_expect_eq(xlb_conn_adoptable(T), 0u);
	cr_expect_eq(xlb_conn_adopt(T, T0, rebind, &a), 0);
	cr_expect_eq(a.calls, 0);
	cr_expect_eq(xlb_conn_count(T), 0u);
	cr_assert_eq(fill_flows(&FL, 20, T0), 0, "the new table works");
	cr_expect_eq(xlb_conn_verify(T), 0);
	xlb_conn_free(T);
	T = NULL;
	/* The file was rewritten in this format: the next restart adopts. */
	next_process();
	cr_assert_eq(open_state(&T, 1024, 1), 0);
	cr_expect_eq(xlb_conn_file_version(T), 0u);
	cr_expect_eq(xlb_conn_adoptable(T), 20u);
}
