// SPDX-License-Identifier: GPL-2.0
/*
 * xlbctl -L --json: what the listings show (-L, --stats, --rate, --health,
 * -c, --timeout, --counters) as one JSON document, fetched through the
 * same control-protocol dumps as list.c. The schema is doc/json.md and
 * doc/xlbctl-list.schema.json: change them together, and bump
 * XLBCTL_JSON_SCHEMA when a field changes meaning or goes away (new
 * fields do not bump it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "ctl.h"
#include "ipvsadm.h"
#include "json.h"
#include "sched.h"
#include "xlbctl.h"

#define XLBCTL_JSON_SCHEMA	1

static void kaddr(struct xlb_json *j, const char *key, uint8_t af, const union xlb_inaddr *addr)
{
	char a[INET6_ADDRSTRLEN];

	xlb_json_kstr(j, key, inet_ntop(xlb_af(af), addr, a, sizeof(a)) ? a : "?");
}

/* "family": "inet" or "inet6", as ip(8) names them. */
static void kfamily(struct xlb_json *j, uint8_t af)
{
	xlb_json_kstr(j, "family", xlb_af(af) == AF_INET6 ? "inet6" : "inet");
}

/* "ADDR:PORT" or "[ADDR]:PORT" as ipvsadm -n prints it. */
static void kaddrport(struct xlb_json *j, const char *key, uint8_t af,
		      const union xlb_inaddr *addr, uint16_t port, uint8_t proto)
{
	char b[80];

	xlb_json_kstr(j, key, xlb_ipvsadm_addrport(b, sizeof(b), af, addr, port, proto, true));
}

static void stats(struct xlb_json *j, const struct xlb_stats *st)
{
	xlb_json_key(j, "stats");
	xlb_json_obj_begin(j);
	xlb_json_ku64(j, "conns", st->conns);
	xlb_json_ku64(j, "inpkts", st->inpkts);
	xlb_json_ku64(j, "outpkts", st->outpkts);
	xlb_json_ku64(j, "inbytes", st->inbytes);
	xlb_json_ku64(j, "outbytes", st->outbytes);
	xlb_json_obj_end(j);
}

static void rates(struct xlb_json *j, const struct xlb_rates *rt)
{
	xlb_json_key(j, "rates");
	xlb_json_obj_begin(j);
	xlb_json_ku64(j, "cps", rt->cps);
	xlb_json_ku64(j, "inpps", rt->inpps);
	xlb_json_ku64(j, "outpps", rt->outpps);
	xlb_json_ku64(j, "inbps", rt->inbps);
	xlb_json_ku64(j, "outbps", rt->outbps);
	xlb_json_obj_end(j);
}

/* An effective check (every field meaningful); port 0: the server's. */
static void check(struct xlb_json *j, const struct xlb_check *c, uint32_t given)
{
	static const struct { uint32_t bit; const char *name; } opts[] = {
		{ XLB_CHECK_SET_KIND, "check" }, { XLB_CHECK_SET_PORT, "check-port" },
		{ XLB_CHECK_SET_PATH, "check-path" }, { XLB_CHECK_SET_STATUS, "check-status" },
		{ XLB_CHECK_SET_EXPECT, "check-expect" }, { XLB_CHECK_SET_EXEC, "check-exec" },
		{ XLB_CHECK_SET_INTERVAL, "check-interval" },
		{ XLB_CHECK_SET_TIMEOUT, "check-timeout" },
		{ XLB_CHECK_SET_RISE, "check-rise" }, { XLB_CHECK_SET_FALL, "check-fall" },
	};
	const char *kind = xlb_check_kind_name(c->kind);

	xlb_json_key(j, "check");
	xlb_json_obj_begin(j);
	xlb_json_kstr(j, "kind", kind ? kind : "unknown");
	xlb_json_ku64(j, "port", ntohs(c->port));
	xlb_json_kstr(j, "path", c->path);
	xlb_json_ku64(j, "status", c->status);
	xlb_json_kstr(j, "expect", c->expect);
	xlb_json_kstr(j, "exec", c->exec);
	xlb_json_ku64(j, "interval_ms", c->interval_ms);
	xlb_json_ku64(j, "timeout_ms", c->timeout_ms);
	xlb_json_ku64(j, "rise", c->rise);
	xlb_json_ku64(j, "fall", c->fall);
	xlb_json_key(j, "given");
	xlb_json_arr_begin(j);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (given & opts[i].bit)
			xlb_json_str(j, opts[i].name);
	xlb_json_arr_end(j);
	xlb_json_obj_end(j);
}

static void health(struct xlb_json *j, const struct xlb_svc_info *se,
		   const struct xlb_dest_info *e)
{
	const struct xlb_health_info *h = &e->health;
	struct xlb_check eff;
	bool checked = xlbctl_dest_checked(se, e, &eff);
	char since[32];

	xlb_json_key(j, "health");
	xlb_json_obj_begin(j);
	xlb_json_kbool(j, "checked", checked);
	xlb_json_kstr(j, "state", checked && h->state == XLB_HEALTH_DOWN ? "down" : "up");
	if (checked && h->since) {
		xlb_json_ku64(j, "since", h->since);
		xlb_json_kstr(j, "since_utc", xlbctl_fmt_since(since, sizeof(since), h->since));
	} else {
		xlb_json_knull(j, "since");
		xlb_json_knull(j, "since_utc");
	}
	if (checked)
		xlb_json_ku64(j, "checks", h->checks);
	else
		xlb_json_knull(j, "checks");
	if (checked && h->checks)
		xlb_json_kstr(j, "last", h->last_ok ? "ok" : "failed");
	else
		xlb_json_knull(j, "last");
	if (checked && h->error[0])
		xlb_json_kstr(j, "error", h->error);
	else
		xlb_json_knull(j, "error");
	xlb_json_obj_end(j);
}

static void server(struct xlb_json *j, const struct xlb_svc_info *se,
		   const struct xlb_dest_info *e)
{
	struct xlb_check eff;

	xlb_json_obj_begin(j);
	kfamily(j, e->cfg.af);
	kaddr(j, "address", e->cfg.af, &e->cfg.addr);
	xlb_json_ku64(j, "port", ntohs(e->cfg.port));
	kaddrport(j, "addrport", e->cfg.af, &e->cfg.addr, e->cfg.port, se->cfg.key.proto);
	xlb_json_kstr(j, "forward", xlb_ipvsadm_fwd_name(e->cfg.fwd));
	xlb_json_ku64(j, "weight", e->cfg.weight);
	xlb_json_ku64(j, "u_threshold", e->cfg.u_thresh);
	xlb_json_ku64(j, "l_threshold", e->cfg.l_thresh);
	xlb_json_ku64(j, "active_conns", e->activeconns);
	xlb_json_ku64(j, "inactive_conns", e->inactconns);
	xlb_json_ku64(j, "persistent_conns", e->persistconns);
	stats(j, &e->stats);
	rates(j, &e->rates);
	xlb_check_effective(&eff, &se->check, &e->check);
	check(j, &eff, e->check.set);
	health(j, se, e);
	xlb_json_obj_end(j);
}

static int service(struct xlb_json *j, int fd, const struct xlb_svc_info *se,
		   char *err, size_t errlen)
{
	const struct xlb_svc_cfg *c = &se->cfg;
	struct xlb_dest_info *d = NULL;
	struct xlb_check eff;
	char fl[64], *tok, *save = NULL;
	size_t i, n = 0;
	int rc;

	rc = xlb_ctl_get_dests(fd, &c->key, &d, &n, err, errlen);
	if (rc)
		return rc;
	xlb_json_obj_begin(j);
	xlb_json_kstr(j, "proto", xlbctl_proto_name(c->key.proto));
	kfamily(j, c->key.af);
	kaddr(j, "vip", c->key.af, &c->key.addr);
	xlb_json_ku64(j, "port", ntohs(c->key.port));
	kaddrport(j, "addrport", c->key.af, &c->key.addr, c->key.port, c->key.proto);
	xlb_json_kstr(j, "scheduler", c->sched);
	xlb_json_key(j, "sched_flags");
	xlb_json_arr_begin(j);
	xlb_sched_flags_str(c->sched, c->flags, fl, sizeof(fl));
	for (tok = strtok_r(fl, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		xlb_json_str(j, tok);
	xlb_json_arr_end(j);
	xlb_json_key(j, "persistent");
	if (c->flags & XLB_SVC_F_PERSISTENT) {
		xlb_json_obj_begin(j);
		xlb_json_ku64(j, "timeout", c->timeout);
		if (xlb_af(c->key.af) == AF_INET6) {
			/* The prefix length as a mask, in IPv6 notation. */
			union xlb_inaddr m = { .ip6 = { 0 } };

			for (uint32_t b = 0; b < c->netmask && b < 128; b++)
				m.b[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			kaddr(j, "netmask", AF_INET6, &m);
			xlb_json_ku64(j, "prefix_len", c->netmask);
		} else {
			union xlb_inaddr m = xlb_inaddr_v4(c->netmask);

			kaddr(j, "netmask", AF_INET, &m);	/* as before IPv6 */
		}
		xlb_json_obj_end(j);
	} else {
		xlb_json_null(j);
	}
	xlb_json_kbool(j, "one_packet", c->flags & XLB_SVC_F_ONEPACKET);
	xlb_json_ku64(j, "vnodes", c->vnodes);
	xlb_json_key(j, "sorry_server");
	if (!xlb_inaddr_eq(&c->sorry_addr, &(union xlb_inaddr){ .ip6 = { 0 } })) {
		uint16_t port = c->sorry_port ? c->sorry_port : c->key.port;

		xlb_json_obj_begin(j);
		kaddr(j, "address", c->key.af, &c->sorry_addr);
		xlb_json_ku64(j, "port", ntohs(port));
		kaddrport(j, "addrport", c->key.af, &c->sorry_addr, port, c->key.proto);
		xlb_json_obj_end(j);
	} else {
		xlb_json_null(j);
	}
	xlb_json_ku64(j, "quorum", c->quorum);
	xlb_check_effective(&eff, &se->check, NULL);
	check(j, &eff, se->check.set);
	stats(j, &se->stats);
	rates(j, &se->rates);
	xlb_json_key(j, "servers");
	xlb_json_arr_begin(j);
	for (i = 0; i < n; i++)
		server(j, se, &d[i]);
	xlb_json_arr_end(j);
	xlb_json_obj_end(j);
	free(d);
	return 0;
}

static int services(struct xlb_json *j, int fd, const struct xlb_req *req,
		    char *err, size_t errlen)
{
	struct xlb_svc_info *svcs = NULL;
	size_t i, n = 0;
	int rc;

	rc = xlbctl_get_svcs(fd, req, &svcs, &n, err, errlen);
	if (rc)
		return rc;
	xlb_json_key(j, "services");
	xlb_json_arr_begin(j);
	for (i = 0; i < n && !rc; i++)
		rc = service(j, fd, &svcs[i], err, errlen);
	xlb_json_arr_end(j);
	free(svcs);
	return rc;
}

/* -c: every entry, or -t/-u's service's (its templates included). */
static int connections(struct xlb_json *j, int fd, const struct xlb_req *req,
		       char *err, size_t errlen)
{
	const struct xlb_svc_key *k = &req->svc.key;
	struct xlb_conn_info *c = NULL;
	size_t i, n = 0;
	int rc;

	rc = xlb_ctl_get_conns(fd, &c, &n, err, errlen);
	if (rc)
		return rc;
	xlb_json_key(j, "connections");
	xlb_json_arr_begin(j);
	for (i = 0; i < n; i++) {
		if (req->has_svc && (c[i].proto != k->proto || xlb_af(c[i].af) != xlb_af(k->af) ||
				     !xlb_inaddr_eq(&c[i].vaddr, &k->addr) || c[i].vport != k->port))
			continue;
		xlb_json_obj_begin(j);
		xlb_json_kstr(j, "proto", xlbctl_proto_name(c[i].proto));
		xlb_json_ku64(j, "expire", c[i].expires);
		xlb_json_kstr(j, "state", c[i].state);
		kfamily(j, c[i].af);
		kaddrport(j, "client", c[i].af, &c[i].caddr, c[i].cport, c[i].proto);
		kaddrport(j, "virtual", c[i].af, &c[i].vaddr, c[i].vport, c[i].proto);
		kaddrport(j, "destination", c[i].af, &c[i].daddr, c[i].dport, c[i].proto);
		xlb_json_kbool(j, "template", c[i].flags & XLB_CONN_INFO_F_TEMPLATE);
		xlb_json_obj_end(j);
	}
	xlb_json_arr_end(j);
	free(c);
	return 0;
}

/* --counters: group -> name -> value, in xlbd's order. */
static int counters(struct xlb_json *j, int fd, char *err, size_t errlen)
{
	struct xlb_counter_info *c = NULL;
	size_t i, n = 0;
	int rc;

	rc = xlb_ctl_get_counters(fd, &c, &n, err, errlen);
	if (rc)
		return rc;
	xlb_json_key(j, "counters");
	xlb_json_obj_begin(j);
	/* Each group once, where it first appears (xlbd sends a group's
	 * counters together; a JSON object must not repeat a key). */
	for (i = 0; i < n; i++) {
		bool seen = false;

		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(c[k].group, c[i].group);
		if (seen)
			continue;
		xlb_json_key(j, c[i].group);
		xlb_json_obj_begin(j);
		for (size_t k = i; k < n; k++)
			if (!strcmp(c[k].group, c[i].group))
				xlb_json_ku64(j, c[k].name, c[k].value);
		xlb_json_obj_end(j);
	}
	xlb_json_obj_end(j);
	free(c);
	return 0;
}

static int timeouts(struct xlb_json *j, int fd, char *err, size_t errlen)
{
	struct xlb_timeouts to;
	int rc;

	rc = xlb_ctl_get_timeouts(fd, &to, err, errlen);
	if (rc)
		return rc;
	xlb_json_key(j, "timeouts");
	xlb_json_obj_begin(j);
	xlb_json_ku64(j, "tcp", to.tcp);
	xlb_json_ku64(j, "tcp_fin", to.tcp_fin);
	xlb_json_ku64(j, "udp", to.udp);
	xlb_json_obj_end(j);
	return 0;
}

static int daemon_info(struct xlb_json *j, int fd, char *err, size_t errlen)
{
	struct xlb_info info;
	char v[32];
	int rc;

	rc = xlb_ctl_get_info(fd, &info, err, errlen);
	if (rc)
		return rc;
	snprintf(v, sizeof(v), "%u.%u.%u", (info.version >> 16) & 0xff,
		 (info.version >> 8) & 0xff, info.version & 0xff);
	xlb_json_key(j, "daemon");
	xlb_json_obj_begin(j);
	xlb_json_kstr(j, "ipvs_version", v);
	xlb_json_ku64(j, "conn_tab_size", info.conn_tab_size);
	xlb_json_obj_end(j);
	return 0;
}

/* The document is built in memory and printed only when complete: a
 * failure part-way prints nothing on stdout (the error goes to stderr). */
struct doc {
	struct xlb_json j;
	char *buf;
	size_t len;
};

static int head(struct doc *d)
{
	FILE *f = open_memstream(&d->buf, &d->len);

	if (!f)
		return -errno;
	xlb_json_init(&d->j, f);
	xlb_json_obj_begin(&d->j);
	xlb_json_ku64(&d->j, "schema", XLBCTL_JSON_SCHEMA);
	xlb_json_kstr(&d->j, "xlbctl_version", XLB_VERSION_STRING);
	return 0;
}

static int tail(struct doc *d, int rc, char *err, size_t errlen)
{
	if (!rc) {
		xlb_json_obj_end(&d->j);
		rc = xlb_json_end(&d->j);
		if (rc)
			snprintf(err, errlen, "building the JSON document: %s", strerror(-rc));
	}
	if (fclose(d->j.out) && !rc)
		rc = -EIO;
	if (!rc && fwrite(d->buf, 1, d->len, stdout) != d->len)
		rc = -EIO;
	free(d->buf);
	return rc;
}

int xlbctl_list_json(int fd, const struct xlb_req *req, char *err, size_t errlen)
{
	unsigned int format = req->list_flags;
	struct doc d;
	struct xlb_json *j = &d.j;
	int rc;

	rc = head(&d);
	if (rc)
		return rc;
	if (format & XLB_LIST_CONN) {
		rc = connections(j, fd, req, err, errlen);
	} else if (format & XLB_LIST_DAEMON) {
		/* No sync daemon ever runs (as the text listing: none). */
		xlb_json_key(j, "sync_daemons");
		xlb_json_arr_begin(j);
		xlb_json_arr_end(j);
	} else if (format & XLB_LIST_TIMEOUT) {
		rc = timeouts(j, fd, err, errlen);
	} else if (req->has_svc) {
		rc = services(j, fd, req, err, errlen);
		if (!rc)
			rc = connections(j, fd, req, err, errlen);
	} else {
		rc = daemon_info(j, fd, err, errlen);
		if (!rc)
			rc = services(j, fd, req, err, errlen);
		if (!rc)
			rc = connections(j, fd, req, err, errlen);
		if (!rc)
			rc = counters(j, fd, err, errlen);
		if (!rc)
			rc = timeouts(j, fd, err, errlen);
	}
	return tail(&d, rc, err, errlen);
}

int xlbctl_counters_json(int fd, char *err, size_t errlen)
{
	struct doc d;
	int rc = head(&d);

	if (rc)
		return rc;
	return tail(&d, counters(&d.j, fd, err, errlen), err, errlen);
}
