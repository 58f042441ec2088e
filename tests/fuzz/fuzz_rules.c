// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: ipvsadm's language (lb/ipvsadm.h) into the tables.
 *
 *  1. The input as a rules file (xlbctl -R, xlbd --rules): parsed with
 *     xlb_rules_parse_lines() and applied as one change to fresh tables
 *     (xlb_tables_apply_reqs): all or nothing. What was applied is saved
 *     again as ipvsadm-save lines (xlb_rules_print_*, i.e. xlbctl -S), and
 *     that must restore to the same services and real servers.
 *  2. The input split into words, as a command line: xlb_ipvsadm_parse()
 *     and xlb_ipvsadm_parse_rule(), each change applied to the tables.
 *
 * Host and service names never reach DNS: getaddrinfo/getservbyname are
 * wrapped at link time (see fuzz.mk) by a fixed table below.
 */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ipvsadm.h"
#include "log.h"
#include "tables.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_rules: invariant failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);		\
			__builtin_trap();				\
		}							\
	} while (0)

#define MAX_WORDS	64

/* ---- resolver stand-ins (-Wl,--wrap) ---- */

int __wrap_getaddrinfo(const char *node, const char *service,
		       const struct addrinfo *hints, struct addrinfo **res);
void __wrap_freeaddrinfo(struct addrinfo *ai);
struct servent *__wrap_getservbyname(const char *name, const char *proto);

int __wrap_getaddrinfo(const char *node, const char *service,
		       const struct addrinfo *hints, struct addrinfo **res)
{
	static const struct { const char *name; uint32_t addr; } hosts[] = {
		{ "localhost", 0x7f000001 }, { "vip.example", 0xc0a80001 },
		{ "rs1.example", 0x0a000102 }, { "rs2.example", 0x0a000103 },
	};
	struct { struct addrinfo ai; struct sockaddr_in sin; } *r;

	(void)service;
	(void)hints;
	for (size_t i = 0; node && i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		if (strcmp(node, hosts[i].name))
			continue;
		r = calloc(1, sizeof(*r));
		if (!r)
			return EAI_MEMORY;
		r->sin.sin_family = AF_INET;
		r->sin.sin_addr.s_addr = htonl(hosts[i].addr);
		r->ai.ai_family = AF_INET;
		r->ai.ai_addrlen = sizeof(r->sin);
		r->ai.ai_addr = (struct sockaddr *)&r->sin;
		*res = &r->ai;
		return 0;
	}
	return EAI_NONAME;
}

void __wrap_freeaddrinfo(struct addrinfo *ai)
{
	free(ai);	/* one block, addrinfo first */
}

struct servent *__wrap_getservbyname(const char *name, const char *proto)
{
	static const struct { const char *name; uint16_t port; } svcs[] = {
		{ "http", 80 }, { "https", 443 }, { "domain", 53 }, { "ssh", 22 },
	};
	static struct servent se;

	for (size_t i = 0; i < sizeof(svcs) / sizeof(svcs[0]); i++) {
		if (strcmp(name, svcs[i].name))
			continue;
		se = (struct servent){ .s_name = (char *)svcs[i].name,
				       .s_port = htons(svcs[i].port),
				       .s_proto = (char *)proto };
		return &se;
	}
	return NULL;
}

/* ---- helpers ---- */

static void quiet_log(enum xlb_log_level level, const char *line, void *ctx)
{
	(void)level;
	(void)line;
	(void)ctx;
}

static void quiet_warn(const char *msg, void *ctx)
{
	(void)msg;
	(void)ctx;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xlb_log_set_hook(quiet_log, NULL);
	xlb_ipvsadm_set_warn(quiet_warn, NULL);
	return 0;
}

static struct xlb_tables *tables_new(void)
{
	struct xlb_tables *t;

	if (xlb_tables_new(&t) || xlb_tables_set_workers(t, 1))
		abort();
	return t;
}

/* xlbctl -S of the tables, as text (malloc'd). */
static char *save(const struct xlb_snap *s, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		abort();
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		xlb_rules_print_svc(f, &s->svcs[i].cfg);
		for (uint32_t j = 0; j < s->svcs[i].ndests; j++)
			/* The sorry server is the service's (--sorry-server), not
			 * one of its real servers: xlbd's -S leaves it out too. */
			if (!s->svcs[i].dests[j].sorry)
				xlb_rules_print_dest(f, &s->svcs[i].cfg, &s->svcs[i].dests[j].cfg);
	}
	fclose(f);
	return text;
}

static void same_config(const struct xlb_snap *a, const struct xlb_snap *b)
{
	CHECK(a->nsvcs == b->nsvcs);
	for (uint32_t i = 0; i < a->nsvcs; i++) {
		const struct xlb_snap_svc *x = &a->svcs[i], *y = &b->svcs[i];

		CHECK(x->cfg.key.af == y->cfg.key.af &&
		      xlb_inaddr_eq(&x->cfg.key.addr, &y->cfg.key.addr) &&
		      x->cfg.key.port == y->cfg.key.port &&
		      x->cfg.key.proto == y->cfg.key.proto);
		CHECK(!strncmp(x->cfg.sched, y->cfg.sched, sizeof(x->cfg.sched)));
		CHECK(x->cfg.flags == y->cfg.flags && x->cfg.vnodes == y->cfg.vnodes);
		if (x->cfg.flags & XLB_SVC_F_PERSISTENT)
			CHECK(x->cfg.timeout == y->cfg.timeout &&
			      x->cfg.netmask == y->cfg.netmask);
		CHECK(x->ndests == y->ndests);
		for (uint32_t j = 0; j < x->ndests; j++) {
			const struct xlb_dest_cfg *d = &x->dests[j].cfg, *e = &y->dests[j].cfg;

			CHECK(d->af == e->af && xlb_inaddr_eq(&d->addr, &e->addr) &&
			      d->port == e->port && d->fwd == e->fwd &&
			      d->weight == e->weight && d->u_thresh == e->u_thresh &&
			      d->l_thresh == e->l_thresh);
		}
	}
}

/* Parse a rules text; 0 and the requests, or -errno. */
static int rules(const char *text, size_t len, struct xlb_req **reqs, size_t **lines,
		 size_t *n, char *err, size_t errlen)
{
	FILE *f;
	int ret;

	if (!len) {
		*reqs = NULL;
		*n = 0;
		if (lines)
			*lines = NULL;
		return 0;
	}
	f = fmemopen((void *)text, len, "r");
	if (!f)
		abort();
	ret = xlb_rules_parse_lines(f, reqs, lines, n, err, errlen);
	fclose(f);
	return ret;
}

static void rules_file(const uint8_t *data, size_t size)
{
	struct xlb_tables *t, *t2;
	struct xlb_req *reqs, *reqs2;
	size_t *lines, n, n2, failed = (size_t)-1, len;
	char err[512] = "", *text;
	uint64_t gen;
	int ret;

	ret = rules((const char *)data, size, &reqs, &lines, &n, err, sizeof(err));
	if (ret) {
		CHECK(ret < 0 && err[0] && !reqs && !n);
		return;
	}
	CHECK(!n == !reqs);
	for (size_t i = 0; i < n; i++)
		CHECK(lines[i] >= 1 && (!i || lines[i] > lines[i - 1]));

	t = tables_new();
	gen = xlb_tables_current(t)->gen;
	ret = xlb_tables_apply_reqs(t, reqs, n, &failed, err, sizeof(err));
	if (ret) {
		/* All or nothing: the request is named, nothing published. */
		CHECK(ret < 0 && failed < n && err[0]);
		CHECK(xlb_tables_current(t)->gen == gen && !xlb_tables_current(t)->nsvcs);
		goto out;
	}

	/* -S then -R gives the same services and real servers. */
	text = save(xlb_tables_current(t), &len);
	ret = rules(text, len, &reqs2, NULL, &n2, err, sizeof(err));
	if (ret)
		fprintf(stderr, "fuzz_rules: saved rules do not parse: %s\n%s", err, text);
	CHECK(ret == 0);
	t2 = tables_new();
	ret = xlb_tables_apply_reqs(t2, reqs2, n2, &failed, err, sizeof(err));
	if (ret)
		fprintf(stderr, "fuzz_rules: saved rules do not apply: %s\n%s", err, text);
	CHECK(ret == 0);
	same_config(xlb_tables_current(t), xlb_tables_current(t2));
	xlb_tables_free(t2);
	free(reqs2);
	free(text);
out:
	xlb_tables_free(t);
	free(reqs);
	free(lines);
}

/* The input as one command line (words split on white space and NUL). */
static void command_line(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1), *argv[MAX_WORDS + 2];
	struct xlb_req req;
	struct xlb_tables *t;
	char err[512], foreign[XLB_SCHED_NAME_MAX];
	int argc = 1;

	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	argv[0] = (char *)"xlbctl";
	for (size_t i = 0; i < size && argc <= MAX_WORDS; ) {
		while (i < size && (copy[i] == ' ' || copy[i] == '\n' || copy[i] == '\t' ||
				    !copy[i]))
			copy[i++] = '\0';
		if (i >= size)
			break;
		argv[argc++] = copy + i;
		while (i < size && copy[i] && copy[i] != ' ' && copy[i] != '\n' &&
		       copy[i] != '\t')
			i++;
	}
	argv[argc] = NULL;

	t = tables_new();
	err[0] = '\0';
	if (!xlb_ipvsadm_parse(argc, argv, &req, err, sizeof(err))) {
		if (req.op != XLB_REQ_NONE && req.op < XLB_REQ_LIST)
			xlb_tables_apply_req(t, &req, err, sizeof(err));
		else if (req.op == XLB_REQ_SET_TIMEOUT)
			xlb_tables_apply_req(t, &req, err, sizeof(err));
	} else {
		CHECK(err[0]);
	}
	err[0] = '\0';
	if (!xlb_ipvsadm_parse_rule(argc, argv, &req, foreign, sizeof(foreign),
				    err, sizeof(err))) {
		CHECK(req.op != XLB_REQ_LIST && req.op != XLB_REQ_SAVE &&
		      req.op != XLB_REQ_RESTORE && req.op != XLB_REQ_HELP &&
		      req.op != XLB_REQ_VERSION);
		xlb_tables_apply_req(t, &req, err, sizeof(err));
	} else {
		CHECK(err[0]);
	}
	xlb_tables_free(t);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rules_file(data, size);
	command_line(data, size);
	return 0;
}
