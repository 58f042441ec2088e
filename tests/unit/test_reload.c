// SPDX-License-Identifier: GPL-2.0
/*
 * xlb_tables_replace() (xlbd's SIGHUP): the rules file becomes the whole
 * configuration in one publication; kept services and real servers keep
 * their counter objects (which the datapath's connections are bound to:
 * a new object would flush them), dropped ones go, new ones come; a file
 * the tables refuse changes nothing and names the request to blame.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ipvsadm.h"
#include "log.h"
#include "reload.h"
#include "tables.h"

static struct xlb_tables *t;

static void quiet(enum xlb_log_level level, const char *line, void *ctx)
{
	(void)level; (void)line; (void)ctx;
}

static void setup(void)
{
	xlb_log_set_hook(quiet, NULL);
	cr_assert_eq(xlb_tables_new(&t), 0);
	cr_assert_eq(xlb_tables_set_workers(t, 2), 0);
}

static void teardown(void)
{
	xlb_tables_free(t);
	xlb_log_set_hook(NULL, NULL);
}

TestSuite(reload, .init = setup, .fini = teardown);

static struct xlb_req *parse(const char *text, size_t *n)
{
	struct xlb_req *reqs = NULL;
	char err[256];
	FILE *f = fmemopen((void *)text, strlen(text), "r");

	cr_assert(f);
	cr_assert_eq(xlb_rules_parse(f, &reqs, n, err, sizeof(err)), 0, "%s", err);
	fclose(f);
	return reqs;
}

/* Replace with text: the return value, *failed in failed. */
static int replace(const char *text, size_t *failed)
{
	size_t n, f = 0;
	struct xlb_req *reqs = parse(text, &n);
	char err[256] = "";
	int ret = xlb_tables_replace(t, reqs, n, &f, NULL, err, sizeof(err));

	if (failed)
		*failed = f;
	free(reqs);
	return ret;
}

static const struct xlb_snap_svc *svc(const char *vip, int port)
{
	return xlb_snap_find(xlb_tables_current(t), IPPROTO_TCP, inet_addr(vip), htons(port));
}

static const struct xlb_snap_dest *dest(const struct xlb_snap_svc *s, const char *rip, int port)
{
	int j = s ? xlb_snap_find_dest(s, inet_addr(rip), htons(port)) : -1;

	return j < 0 ? NULL : &s->dests[j];
}

#define V1 "-A -t 10.0.0.1:80 -s rr\n"				\
	   "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 1\n"		\
	   "-a -t 10.0.0.1:80 -r 10.1.0.2:80 -g -w 1\n"		\
	   "-A -t 10.0.0.2:80 -s wlc\n"				\
	   "-a -t 10.0.0.2:80 -r 10.1.0.3:80 -g\n"

Test(reload, the_file_is_the_whole_configuration)
{
	const struct xlb_snap_dest *d1, *d2;
	struct xlb_cnt *c1, *cs;
	uint64_t gen;

	cr_assert_eq(replace(V1, NULL), 0);
	cr_assert_eq(xlb_tables_current(t)->nsvcs, 2);
	c1 = dest(svc("10.0.0.1", 80), "10.1.0.1", 80)->cnt;
	cs = svc("10.0.0.1", 80)->cnt;
	gen = xlb_tables_current(t)->gen;

	cr_assert_eq(replace("-A -t 10.0.0.1:80 -s wrr\n"
			     "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g -w 5\n"
			     "-a -t 10.0.0.1:80 -r 10.1.0.4:80 -g\n", NULL), 0);
	cr_expect_eq(xlb_tables_current(t)->gen, gen + 1, "one publication");
	cr_expect_eq(xlb_tables_current(t)->nsvcs, 1, "10.0.0.2:80 removed");
	cr_expect_null(svc("10.0.0.2", 80));
	cr_expect_str_eq(svc("10.0.0.1", 80)->cfg.sched, "wrr");
	cr_expect_eq(svc("10.0.0.1", 80)->ndests, 2);
	cr_expect_eq(svc("10.0.0.1", 80)->cnt, cs, "kept service: the same counters");
	d1 = dest(svc("10.0.0.1", 80), "10.1.0.1", 80);
	cr_assert_not_null(d1);
	cr_expect_eq(d1->cnt, c1, "kept server: the same counters (its connections stay)");
	cr_expect_eq(d1->cfg.weight, 5);
	cr_expect_null(dest(svc("10.0.0.1", 80), "10.1.0.2", 80), "removed");
	d2 = dest(svc("10.0.0.1", 80), "10.1.0.4", 80);
	cr_expect_not_null(d2, "added");
}

Test(reload, timeouts_default_when_the_file_sets_none)
{
	cr_assert_eq(replace("--set 10 20 30\n", NULL), 0);
	cr_expect_eq(xlb_tables_current(t)->timeouts.tcp, 10);
	cr_assert_eq(replace(V1, NULL), 0);
	cr_expect_eq(xlb_tables_current(t)->timeouts.tcp, XLB_TIMEOUT_TCP_DEFAULT);
	cr_expect_eq(xlb_tables_current(t)->timeouts.udp, XLB_TIMEOUT_UDP_DEFAULT);
}

Test(reload, an_empty_file_clears)
{
	cr_assert_eq(replace(V1, NULL), 0);
	cr_assert_eq(replace("# nothing\n", NULL), 0);
	cr_expect_eq(xlb_tables_current(t)->nsvcs, 0);
}

Test(reload, a_refused_file_changes_nothing_and_names_its_request)
{
	size_t failed = 99;
	uint64_t gen;

	cr_assert_eq(replace(V1, NULL), 0);
	gen = xlb_tables_current(t)->gen;
	cr_expect_neq(replace("-A -t 10.0.0.1:80 -s rr\n"
			      "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g\n"
			      "-a -t 10.0.0.9:80 -r 10.1.0.2:80 -g\n", &failed), 0);
	cr_expect_eq(failed, 2, "the third request: %zu", failed);
	cr_expect_eq(xlb_tables_current(t)->gen, gen, "nothing published");
	cr_expect_eq(xlb_tables_current(t)->nsvcs, 2);
	cr_expect_not_null(dest(svc("10.0.0.1", 80), "10.1.0.2", 80));
}

Test(reload, the_files_own_edits_and_deletes_count)
{
	cr_assert_eq(replace(V1 "-D -t 10.0.0.2:80\n-e -t 10.0.0.1:80 -r 10.1.0.2:80 -g -w 7\n",
			     NULL), 0);
	cr_expect_eq(xlb_tables_current(t)->nsvcs, 1);
	cr_expect_eq(dest(svc("10.0.0.1", 80), "10.1.0.2", 80)->cfg.weight, 7);
}

Test(reload, health_checks_and_sorry_servers)
{
	const struct xlb_snap_svc *s;
	struct xlb_cnt *c1;

	cr_assert_eq(replace("-A -t 10.0.0.1:80 -s rr --check tcp --check-interval 2\n"
			     "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g\n", NULL), 0);
	c1 = dest(svc("10.0.0.1", 80), "10.1.0.1", 80)->cnt;
	/* A check that names more: an edit; a sorry server comes. */
	cr_assert_eq(replace("-A -t 10.0.0.1:80 -s rr --check tcp --check-interval 3 "
			     "--check-rise 4 --sorry-server 10.1.0.9:80\n"
			     "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g\n", NULL), 0);
	s = svc("10.0.0.1", 80);
	cr_assert_not_null(s->check);
	cr_expect_eq(s->check->interval_ms, 3000);
	cr_expect_eq(s->check->rise, 4);
	cr_expect_eq(s->cfg.sorry_addr.ip, inet_addr("10.1.0.9"));
	cr_expect_eq(dest(s, "10.1.0.1", 80)->cnt, c1, "server kept");
	/* No check any more, no sorry server. */
	cr_assert_eq(replace("-A -t 10.0.0.1:80 -s rr\n"
			     "-a -t 10.0.0.1:80 -r 10.1.0.1:80 -g\n", NULL), 0);
	s = svc("10.0.0.1", 80);
	cr_expect_null(s->check, "check removed");
	cr_expect_eq(s->cfg.sorry_addr.ip, 0);
	cr_expect_eq(s->ndests, 1, "the sorry server went with it");
}
