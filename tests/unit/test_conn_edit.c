// SPDX-License-Identifier: GPL-2.0
/*
 * xlb_conn_edit(): what the fast path's sync does to a connection it
 * cannot see packets of (lb/fastpath.c): the entry's bind bytes changed
 * under its lock, its expiry moved to the later of its own and "seen"
 * (XDP's last hit) + the state's timeout, its packet count raised; never
 * an expiry moved earlier, never an expired entry found.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <criterion/criterion.h>

#include "conn.h"
#include "xlb-t.h"

#define SEC	1000ull
#define T0	(1000 * SEC)

static struct xlb_conn_tab *T;
static int dest_obj;

static int sched(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *t)
{
	(void)arg;
	(void)k;
	t->dest = &dest_obj;
	t->daddr = htonl(0x0a000b01);
	t->dport = htons(5353);
	t->fwd = XLB_FWD_DR;
	memset(t->bind, 0, sizeof(t->bind));
	return 0;
}

static void setup(void)
{
	struct xlb_conn_params p;

	xlb_conn_params_default(&p);
	p.max_conns = 64;
	p.timeouts.udp = 3;		/* seconds */
	cr_assert_eq(xlb_conn_init(&T, &p), 0);
}

static void teardown(void)
{
	xlb_conn_free(T);
	T = NULL;
}

static struct xlb_conn_key udp_key(void)
{
	return (struct xlb_conn_key){ .saddr = htonl(0x0a000132), .daddr = htonl(0x0a000164),
				      .sport = htons(40000), .dport = htons(5353),
				      .proto = IPPROTO_UDP };
}

struct edit_arg {
	uint64_t seen;
	uint32_t add;
	uint8_t mark;
	int calls;
	uint8_t state_seen;
};

static void edit_cb(void *arg, struct xlb_conn_edit *e)
{
	struct edit_arg *a = arg;

	a->calls++;
	a->state_seen = e->state;
	e->bind[10] = a->mark;
	e->seen_ms = a->seen;
	e->add_pkts = a->add;
}

static void edit_cb_new(void *arg, struct xlb_conn_edit *e)
{
	edit_cb(arg, e);
	e->seen_new = true;
}

TestSuite(conn_edit, .init = setup, .fini = teardown, .timeout = 30);

Test(conn_edit, seen_by_xdp_keeps_an_idle_entry_alive_and_counts_its_packets)
{
	struct xlb_conn_key k = udp_key();
	struct xlb_conn_view v;
	struct edit_arg a = { .seen = T0 + 2 * SEC, .add = 500, .mark = 0x5a };

	cr_assert_eq(xlb_conn_in(T, &k, 0, T0, sched, NULL, &v), 1);
	/* Userspace saw it at T0 only: due at T0 + 3 s. XDP saw it at T0 + 2 s. */
	cr_assert_eq(xlb_conn_edit(T, &k, XLB_CONN_DIR_INPUT, T0 + 2500, edit_cb, &a), 0);
	cr_expect_eq(a.calls, 1);
	cr_expect_eq(a.state_seen, XLB_CONN_S_UDP);
	cr_expect_eq(xlb_conn_expire(T, T0 + 4 * SEC, 0), 0u,
		     "due at T0 + 5 s now, not T0 + 3 s");
	cr_assert_eq(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0 + 4900, &v), 0);
	cr_expect_eq(v.bind[10], 0x5a, "the bind bytes are the entry's own");
	cr_expect_eq(v.pkts, 501u);
	cr_expect_eq(xlb_conn_expire(T, T0 + 5 * SEC, 0), 1u);
	cr_expect_eq(xlb_conn_verify(T), 0);
}

Test(conn_edit, an_older_seen_never_moves_the_expiry_earlier)
{
	struct xlb_conn_key k = udp_key();
	struct xlb_conn_view v;
	struct edit_arg a = { .seen = T0 - 2 * SEC };

	cr_assert_eq(xlb_conn_in(T, &k, 0, T0, sched, NULL, &v), 1);
	cr_assert_eq(xlb_conn_edit(T, &k, XLB_CONN_DIR_INPUT, T0 + 1, edit_cb, &a), 0);
	cr_expect_eq(xlb_conn_expire(T, T0 + 2 * SEC, 0), 0u);
	cr_expect_eq(xlb_conn_get(T, &k, XLB_CONN_DIR_INPUT, T0 + 2900, &v), 0);
}

Test(conn_edit, missing_or_expired_entries_are_not_found)
{
	struct xlb_conn_key k = udp_key(), other = udp_key();
	struct xlb_conn_view v;
	struct edit_arg a = { 0 };

	other.sport = htons(40001);
	cr_assert_eq(xlb_conn_in(T, &k, 0, T0, sched, NULL, &v), 1);
	cr_expect_eq(xlb_conn_edit(T, &other, XLB_CONN_DIR_INPUT, T0, edit_cb, &a), -ENOENT);
	cr_expect_eq(xlb_conn_edit(T, &k, XLB_CONN_DIR_OUTPUT, T0, edit_cb, &a), -ENOENT,
		     "a DR entry has no reply tuple");
	cr_expect_eq(xlb_conn_edit(T, &k, XLB_CONN_DIR_INPUT, T0 + 3 * SEC, edit_cb, &a), -ENOENT,
		     "due: gone, even before the sweep");
	cr_expect_eq(a.calls, 0);
}

Test(conn_edit, new_packets_seen_apply_a_lowered_timeout_as_a_packet_would)
{
	struct xlb_conn_key k = udp_key();
	struct xlb_conn_view v;
	struct xlb_timeouts to = { .udp = 300 };
	struct edit_arg a = { .seen = T0 + 1 * SEC };

	xlb_conn_set_timeouts(T, &to);
	cr_assert_eq(xlb_conn_in(T, &k, 0, T0, sched, NULL, &v), 1);	/* due T0 + 300 s */
	to.udp = 1;
	xlb_conn_set_timeouts(T, &to);
	/* Without new packets an older "seen" never shortens it ... */
	cr_assert_eq(xlb_conn_edit(T, &k, XLB_CONN_DIR_INPUT, T0 + 1500, edit_cb, &a), 0);
	cr_expect_eq(xlb_conn_expire(T, T0 + 10 * SEC, 0), 0u);
	/* ... new packets (the last at T0 + 1 s) set it: due at T0 + 2 s. */
	a.seen = T0 + 1 * SEC;
	a.add = 7;
	cr_assert_eq(xlb_conn_edit(T, &k, XLB_CONN_DIR_INPUT, T0 + 1500, edit_cb_new, &a), 0);
	cr_expect_eq(xlb_conn_expire(T, T0 + 2 * SEC, 0), 1u);
}
