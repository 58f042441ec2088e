/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a scrape says: services, real servers, the connection table and the
 * daemon counters as Prometheus families (metrics.h; the HTTP side is
 * metrics_http.c).
 *
 * The daemon counters (xlbctl --counters, GROUP NAME VALUE) are mapped by
 * one rule per group, and within a group counter or gauge is decided per
 * name (a gauge can go down: entries, capacities, "now" values):
 *
 *   xdp NAME          xlb_xdp_NAME_packets_total (xlb_xdp_NAME_total when
 *                     NAME ends in _packets): all counters
 *   datapath drop_R   xlb_datapath_dropped_packets_total{reason="R"}
 *   datapath NAME     xlb_datapath_NAME_packets_total
 *   malformed CLASS   xlb_datapath_malformed_packets_total{class="CLASS"}
 *   xsk NAME          xlb_xsk_NAME_total; queues_unserved: a gauge
 *   xsk_queue IF:rxN  xlb_xsk_queue_packets_total{interface,queue,direction}
 *   nexthop NAME      gauges xlb_nexthop_NAME (route_memory_kib: _bytes);
 *                     requests_dropped: a counter
 *   fastpath NAME     counters xlb_fastpath_NAME_total (installs, removals,
 *                     updates, evictions, install_failures, syncs, hits,
 *                     misses); gauges enabled, entries, and the durations in
 *                     seconds; its copies of XDP counters are left out (they
 *                     are xlb_xdp_fp_*)
 *   sync NAME         connection sync (xlbd --sync-role): all counters,
 *                     xlb_sync_NAME_total
 *   conn NAME         counters xlb_conn_NAME_total (evicted: evictions);
 *                     gauges count (xlb_conn_entries), active, inactive,
 *                     templates (xlb_conn_*_entries)
 *   health NAME       checks, failed, changes, went_up/went_down, checks_KIND
 *                     (probes started), late, thread_cpu_ms: counters;
 *                     servers_checked: a gauge
 *   announce NAME     routes, table, workers_stalled, guard_alive: gauges
 *                     xlb_announce_NAME; the others counters
 *                     xlb_announce_NAME_total
 *
 * A name no rule knows is written untyped as xlb_GROUP_NAME rather than
 * lost; the lab test fails on an untyped family, so a new counter gets its
 * rule when it is added.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "metrics.h"
#include "tables.h"
#include "xlb-t.h"
#include "../bpf/xlb_shared.h"

/* ---- daemon counters ---- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static bool in_list(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return true;
	return false;
}

static void __attribute__((format(printf, 3, 4)))
fam(struct xlb_metrics_ctr *o, enum xlb_prom_type type, const char *fmt, ...)
{
	va_list ap;

	o->type = type;
	va_start(ap, fmt);
	vsnprintf(o->family, sizeof(o->family), fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
help(struct xlb_metrics_ctr *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->help, sizeof(o->help), fmt, ap);
	va_end(ap);
}

static void label(struct xlb_metrics_ctr *o, const char *name, const char *value, size_t n)
{
	size_t i = o->nlabels++;

	if (n >= sizeof(o->lval[i]))
		n = sizeof(o->lval[i]) - 1;
	memcpy(o->lval[i], value, n);
	o->lval[i][n] = '\0';
	o->labels[i].name = name;
	o->labels[i].value = o->lval[i];
}

/* A metric name out of anything: [a-zA-Z0-9_] kept, the rest '_'. */
static void unclassified(const char *group, const char *name, struct xlb_metrics_ctr *o)
{
	fam(o, XLB_PROM_UNTYPED, "xlb_%s_%s", group, name);
	for (char *c = o->family; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			*c = '_';
	/* A gauge's name may not end in _total. */
	if (ends_with(o->family, "_total"))
		o->family[strlen(o->family) - 6] = '\0';
	help(o, "xlbctl --counters: %s %s (not classified as counter or gauge)", group, name);
	o->classified = false;
}

static bool is_xdp_counter(const char *name)
{
	for (int i = 0; i < XLB_CNT_MAX; i++)
		if (xlb_cnt_names[i] && !strcmp(xlb_cnt_names[i], name))
			return true;
	return false;
}

/* "IF:rxN" / "IF:txN" (dp_setup.c's per-queue counters). */
static bool map_xsk_queue(const char *name, struct xlb_metrics_ctr *o)
{
	const char *colon = strrchr(name, ':');
	const char *q;

	if (!colon || colon == name || (strncmp(colon + 1, "rx", 2) && strncmp(colon + 1, "tx", 2)))
		return false;
	q = colon + 3;
	if (!*q || strspn(q, "0123456789") != strlen(q))
		return false;
	fam(o, XLB_PROM_COUNTER, "xlb_xsk_queue_packets_total");
	help(o, "Packets through each AF_XDP socket, by interface, queue and direction "
		"(xlbctl --counters: xsk_queue IF:rxN, IF:txN)");
	label(o, "interface", name, (size_t)(colon - name));
	label(o, "queue", q, strlen(q));
	label(o, "direction", colon + 1, 2);
	return true;
}

static bool map_conn(const char *name, struct xlb_metrics_ctr *o)
{
	static const char *const counters[] = {
		"created", "expired", "full_drops", "rescheduled", "flushed", "clashes",
		"sched_errors", "adopted", NULL };

	if (!strcmp(name, "evicted"))
		fam(o, XLB_PROM_COUNTER, "xlb_conn_evictions_total");
	else if (!strcmp(name, "onepacket"))
		fam(o, XLB_PROM_COUNTER, "xlb_conn_onepacket_datagrams_total");
	else if (in_list(name, counters))
		fam(o, XLB_PROM_COUNTER, "xlb_conn_%s_total", name);
	else if (!strcmp(name, "count"))
		fam(o, XLB_PROM_GAUGE, "xlb_conn_entries");
	else if (!strcmp(name, "active") || !strcmp(name, "inactive"))
		fam(o, XLB_PROM_GAUGE, "xlb_conn_%s_entries", name);
	else if (!strcmp(name, "templates"))
		fam(o, XLB_PROM_GAUGE, "xlb_conn_template_entries");
	else
		return false;
	help(o, "Connection table: %s (xlbctl --counters: conn %s)", name, name);
	return true;
}

static bool map_fastpath(const char *name, struct xlb_metrics_ctr *o)
{
	static const char *const counters[] = {
		"installs", "removals", "updates", "evictions", "install_failures", "syncs",
		"hits", "misses", NULL };
	static const char *const gauges[] = { "enabled", "entries", NULL };

	if (is_xdp_counter(name)) {
		o->skip = true;		/* = xlb_xdp_NAME_packets_total */
		return true;
	}
	if (in_list(name, counters))
		fam(o, XLB_PROM_COUNTER, "xlb_fastpath_%s_total", name);
	else if (in_list(name, gauges))
		fam(o, XLB_PROM_GAUGE, "xlb_fastpath_%s", name);
	else if (!strcmp(name, "sync_us_last")) {
		fam(o, XLB_PROM_GAUGE, "xlb_fastpath_last_sync_duration_seconds");
		o->scale = 1e-6;
	} else if (!strcmp(name, "install_ns_avg")) {
		fam(o, XLB_PROM_GAUGE, "xlb_fastpath_install_average_duration_seconds");
		o->scale = 1e-9;
	} else
		return false;
	help(o, "XDP fast path: %s (xlbctl --counters: fastpath %s)", name, name);
	return true;
}

static bool map_sync(const char *name, struct xlb_metrics_ctr *o)
{
	fam(o, XLB_PROM_COUNTER, "xlb_sync_%s_total", name);
	help(o, "Connection sync: %s (xlbctl --counters: sync %s)", name, name);
	return true;
}

static bool map_nexthop(const char *name, struct xlb_metrics_ctr *o)
{
	static const char *const gauges[] = {
		"routes", "routes_max", "route_targets", "entries", "capacity", "hosts",
		"hosts_max", "entries6", "capacity6", "hosts6", "hosts6_max", NULL };

	if (!strcmp(name, "requests_dropped"))
		fam(o, XLB_PROM_COUNTER, "xlb_nexthop_requests_dropped_total");
	else if (!strcmp(name, "route_memory_kib")) {
		fam(o, XLB_PROM_GAUGE, "xlb_nexthop_route_memory_bytes");
		o->scale = 1024;
	} else if (in_list(name, gauges))
		fam(o, XLB_PROM_GAUGE, "xlb_nexthop_%s", name);
	else
		return false;
	help(o, "Next-hop cache: %s (xlbctl --counters: nexthop %s)", name, name);
	return true;
}

static bool map_health(const char *name, struct xlb_metrics_ctr *o)
{
	if (!strcmp(name, "checks"))
		fam(o, XLB_PROM_COUNTER, "xlb_health_checks_total");
	else if (!strcmp(name, "failed"))
		fam(o, XLB_PROM_COUNTER, "xlb_health_checks_failed_total");
	else if (!strcmp(name, "changes"))
		fam(o, XLB_PROM_COUNTER, "xlb_health_state_changes_total");
	else if (!strcmp(name, "went_down") || !strcmp(name, "went_up")) {
		fam(o, XLB_PROM_COUNTER, "xlb_health_transitions_total");
		label(o, "to", name + 5, strlen(name + 5));
		help(o, "Real servers that went down or up (xlbctl --counters: health went_down, went_up)");
		return true;
	} else if (!strncmp(name, "checks_", 7) && name[7]) {
		fam(o, XLB_PROM_COUNTER, "xlb_health_probes_started_total");
		label(o, "kind", name + 7, strlen(name + 7));
		help(o, "Health probes started, by kind (xlbctl --counters: health checks_KIND)");
		return true;
	} else if (!strcmp(name, "late"))
		fam(o, XLB_PROM_COUNTER, "xlb_health_checks_late_total");
	else if (!strcmp(name, "servers_checked"))
		fam(o, XLB_PROM_GAUGE, "xlb_health_servers_checked");
	else if (!strcmp(name, "thread_cpu_ms")) {
		fam(o, XLB_PROM_COUNTER, "xlb_health_thread_cpu_seconds_total");
		o->scale = 1e-3;
	} else
		return false;
	help(o, "Health checker: %s (xlbctl --counters: health %s)", name, name);
	return true;
}

static bool map_announce(const char *name, struct xlb_metrics_ctr *o)
{
	static const char *const gauges[] = { "routes", "table", "workers_stalled",
					      "guard_alive", NULL };
	static const char *const counters[] = { "announcements", "withdrawals",
						"guard_withdrawals", "worker_stalls",
						"netlink_errors", NULL };

	if (in_list(name, gauges))
		fam(o, XLB_PROM_GAUGE, "xlb_announce_%s", name);
	else if (in_list(name, counters))
		fam(o, XLB_PROM_COUNTER, "xlb_announce_%s_total", name);
	else
		return false;
	help(o, "VIP routes announced (--announce-table): %s (xlbctl --counters: "
		"announce %s)", name, name);
	return true;
}

static bool map_xsk(const char *name, struct xlb_metrics_ctr *o)
{
	static const char *const counters[] = {
		"rx_dropped", "rx_ring_full", "rx_fill_ring_empty_descs", "rx_invalid_descs",
		"tx_invalid_descs", "tx_full", "pool_empty", "kicks", "slab_swaps",
		"queue_changes", NULL };

	if (in_list(name, counters))
		fam(o, XLB_PROM_COUNTER, "xlb_xsk_%s_total", name);
	else if (!strcmp(name, "queues_unserved"))
		fam(o, XLB_PROM_GAUGE, "xlb_xsk_queues_unserved");
	else
		return false;
	help(o, "AF_XDP sockets, all queues: %s (xlbctl --counters: xsk %s)", name, name);
	return true;
}

void xlb_metrics_map_counter(const char *group, const char *name, struct xlb_metrics_ctr *o)
{
	bool ok = false;

	memset(o, 0, sizeof(*o));
	o->scale = 1;
	o->classified = true;
	if (!strcmp(group, "xdp")) {
		/* The XDP program's per-CPU counters all count packets. */
		fam(o, XLB_PROM_COUNTER, ends_with(name, "_packets") ? "xlb_xdp_%s_total" :
		    "xlb_xdp_%s_packets_total", name);
		help(o, "XDP steering program: packets counted as %s (xlbctl --counters: xdp %s)",
		     name, name);
		ok = true;
	} else if (!strcmp(group, "datapath")) {
		/* The workers' counters all count packets; drops by reason. */
		if (!strncmp(name, "drop_", 5) && name[5]) {
			fam(o, XLB_PROM_COUNTER, "xlb_datapath_dropped_packets_total");
			label(o, "reason", name + 5, strlen(name + 5));
			help(o, "Packets the AF_XDP datapath dropped, by reason "
				"(xlbctl --counters: datapath drop_REASON)");
		} else {
			fam(o, XLB_PROM_COUNTER, ends_with(name, "_packets") ?
			    "xlb_datapath_%s_total" : "xlb_datapath_%s_packets_total", name);
			help(o, "AF_XDP datapath: packets counted as %s (xlbctl --counters: datapath %s)",
			     name, name);
		}
		ok = true;
	} else if (!strcmp(group, "malformed")) {
		fam(o, XLB_PROM_COUNTER, "xlb_datapath_malformed_packets_total");
		label(o, "class", name, strlen(name));
		help(o, "Malformed packets the AF_XDP datapath dropped, by class "
			"(xlbctl --counters: malformed CLASS)");
		ok = true;
	} else if (!strcmp(group, "xsk")) {
		ok = map_xsk(name, o);
	} else if (!strcmp(group, "xsk_queue")) {
		ok = map_xsk_queue(name, o);
	} else if (!strcmp(group, "nexthop")) {
		ok = map_nexthop(name, o);
	} else if (!strcmp(group, "fastpath")) {
		ok = map_fastpath(name, o);
	} else if (!strcmp(group, "sync")) {
		ok = map_sync(name, o);
	} else if (!strcmp(group, "conn")) {
		ok = map_conn(name, o);
	} else if (!strcmp(group, "health")) {
		ok = map_health(name, o);
	} else if (!strcmp(group, "announce")) {
		ok = map_announce(name, o);
	}
	if (ok && o->skip)
		return;
	if (!ok || !xlb_prom_metric_name_ok(o->family)) {
		memset(o, 0, sizeof(*o));
		o->scale = 1;
		unclassified(group, name, o);
	}
}

int xlb_metrics_write_counters(struct xlb_prom *p, const struct xlb_counter_info *c, size_t n)
{
	struct xlb_metrics_ctr *m = calloc(n ? n : 1, sizeof(*m));
	size_t *fid = calloc(n ? n : 1, sizeof(*fid));	/* family of each */
	size_t *first = calloc(n ? n : 1, sizeof(*first));	/* first counter of each family */
	size_t nfam = 0;
	int ret = 0;

	if (!m || !fid || !first) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t f;

		xlb_metrics_map_counter(c[i].group, c[i].name, &m[i]);
		/* The labels point into m[i] itself: fix them after the copy. */
		for (size_t l = 0; l < m[i].nlabels; l++)
			m[i].labels[l].value = m[i].lval[l];
		if (m[i].skip)
			continue;
		for (f = 0; f < nfam; f++)
			if (!strcmp(m[first[f]].family, m[i].family))
				break;
		if (f == nfam)
			first[nfam++] = i;
		fid[i] = f;
	}
	/* Each family's samples together, families in the order of their
	 * first counter: the format wants one group per family. */
	for (size_t f = 0; f < nfam && !ret; f++) {
		const struct xlb_metrics_ctr *h = &m[first[f]];

		ret = xlb_prom_family(p, h->family, h->type, h->help);
		for (size_t j = first[f]; j < n && !ret; j++) {
			if (m[j].skip || fid[j] != f)
				continue;
			if (m[j].scale == 1)
				ret = xlb_prom_u64(p, m[j].labels, m[j].nlabels, c[j].value);
			else
				ret = xlb_prom_double(p, m[j].labels, m[j].nlabels,
						      (double)c[j].value * m[j].scale);
		}
	}
out:
	free(m);
	free(fid);
	free(first);
	return ret;
}

/* ---- the scrape ---- */

struct ctr_vec {
	struct xlb_counter_info *v;
	size_t n, cap;
};

static int collect(const char *group, const char *name, uint64_t value, void *arg)
{
	struct ctr_vec *cv = arg;
	struct xlb_counter_info *c;

	if (strlen(group) >= sizeof(c->group) || strlen(name) >= sizeof(c->name))
		return 0;	/* the control socket's dump fails on it; here it is left out */
	if (cv->n == cv->cap) {
		size_t cap = cv->cap ? cv->cap * 2 : 256;

		if (cap > (1u << 20))
			return -E2BIG;
		c = realloc(cv->v, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		cv->v = c;
		cv->cap = cap;
	}
	c = &cv->v[cv->n++];
	memset(c, 0, sizeof(*c));
	memcpy(c->group, group, strlen(group) + 1);
	memcpy(c->name, name, strlen(name) + 1);
	c->value = value;
	return 0;
}

/* Labels of a service: proto, vip, port; of a real server: + server. */
struct svc_labels {
	char vip[INET6_ADDRSTRLEN], port[8], server[INET6_ADDRSTRLEN + 8];
	struct xlb_prom_label l[6];
};

static size_t svc_labels(struct svc_labels *s, const struct xlb_snap_svc *svc)
{
	inet_ntop(xlb_af(svc->cfg.key.af), &svc->cfg.key.addr, s->vip, sizeof(s->vip));
	snprintf(s->port, sizeof(s->port), "%u", ntohs(svc->cfg.key.port));
	s->l[0] = (struct xlb_prom_label){ "proto",
		svc->cfg.key.proto == IPPROTO_UDP ? "UDP" : "TCP" };
	s->l[1] = (struct xlb_prom_label){ "vip", s->vip };
	s->l[2] = (struct xlb_prom_label){ "port", s->port };
	return 3;
}

static size_t dest_labels(struct svc_labels *s, const struct xlb_snap_svc *svc,
			  const struct xlb_snap_dest *d)
{
	char ip[INET6_ADDRSTRLEN];
	size_t n = svc_labels(s, svc);
	int af = xlb_af(d->cfg.af);

	inet_ntop(af, &d->cfg.addr, ip, sizeof(ip));
	snprintf(s->server, sizeof(s->server), af == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		 ntohs(d->cfg.port));
	s->l[n] = (struct xlb_prom_label){ "server", s->server };
	return n + 1;
}

/* What one service or server's families read, read once per scrape so
 * that its packets and bytes agree. */
struct obj {
	struct xlb_stats st;
	uint64_t active, inactive, persist;
	uint64_t weight, up;		/* real servers: configured weight, 1 unless down */
	bool checked;
	struct xlb_health_info hi;
};

/* F_CHECKS and F_SINCE exist for checked real servers only. */
enum field { F_CONNS, F_INPKTS, F_OUTPKTS, F_INBYTES, F_OUTBYTES, F_ACTIVE, F_INACTIVE,
	     F_PERSIST, F_WEIGHT, F_UP, F_CHECKS, F_SINCE };

static uint64_t field(const struct obj *o, enum field f)
{
	switch (f) {
	case F_CONNS: return o->st.conns;
	case F_INPKTS: return o->st.inpkts;
	case F_OUTPKTS: return o->st.outpkts;
	case F_INBYTES: return o->st.inbytes;
	case F_OUTBYTES: return o->st.outbytes;
	case F_ACTIVE: return o->active;
	case F_INACTIVE: return o->inactive;
	case F_WEIGHT: return o->weight;
	case F_UP: return o->up;
	case F_CHECKS: return o->hi.checks;
	case F_SINCE: return o->hi.since;
	default: return o->persist;
	}
}

/* A real server listed: the sorry server is the service's, not one of
 * its servers (as xlbctl -L). */
static bool listed(const struct xlb_snap_dest *d)
{
	return !d->sorry;
}

struct scrape {
	struct xlb_prom *p;
	const struct xlb_snap *snap;
	struct obj *svc;		/* per service */
	struct obj **dest;		/* per service, per server */
};

/* One family over every service: f (and f2 for direction="out"). */
static void svc_family(struct scrape *s, const char *name, enum xlb_prom_type type,
		       const char *help, enum field f, int f2)
{
	xlb_prom_family(s->p, name, type, help);
	for (uint32_t i = 0; i < s->snap->nsvcs; i++) {
		struct svc_labels sl;
		size_t n = svc_labels(&sl, &s->snap->svcs[i]);

		if (f2 < 0) {
			xlb_prom_u64(s->p, sl.l, n, field(&s->svc[i], f));
			continue;
		}
		sl.l[n] = (struct xlb_prom_label){ "direction", "in" };
		xlb_prom_u64(s->p, sl.l, n + 1, field(&s->svc[i], f));
		sl.l[n].value = "out";
		xlb_prom_u64(s->p, sl.l, n + 1, field(&s->svc[i], (enum field)f2));
	}
}

static void dest_family(struct scrape *s, const char *name, enum xlb_prom_type type,
			const char *help, enum field f, int f2)
{
	xlb_prom_family(s->p, name, type, help);
	for (uint32_t i = 0; i < s->snap->nsvcs; i++) {
		const struct xlb_snap_svc *svc = &s->snap->svcs[i];

		for (uint32_t j = 0; j < svc->ndests; j++) {
			const struct obj *o = &s->dest[i][j];
			struct svc_labels sl;
			size_t n;

			if (!listed(&svc->dests[j]) ||
			    ((f == F_CHECKS || f == F_SINCE) && !o->checked))
				continue;
			n = dest_labels(&sl, svc, &svc->dests[j]);
			if (f2 < 0) {
				xlb_prom_u64(s->p, sl.l, n, field(o, f));
				continue;
			}
			sl.l[n] = (struct xlb_prom_label){ "direction", "in" };
			xlb_prom_u64(s->p, sl.l, n + 1, field(o, f));
			sl.l[n].value = "out";
			xlb_prom_u64(s->p, sl.l, n + 1, field(o, (enum field)f2));
		}
	}
}

static const char *fwd_name(uint8_t fwd)
{
	switch (fwd) {
	case XLB_FWD_NAT: return "nat";
	case XLB_FWD_TUN: return "tun";
	default: return "dr";
	}
}

static void write_services(struct scrape *s)
{
	struct xlb_prom *p = s->p;
	const struct xlb_snap *snap = s->snap;

	xlb_prom_family(p, "xlb_service_info", XLB_PROM_GAUGE,
			"A virtual service (always 1), with its scheduler");
	for (uint32_t i = 0; i < snap->nsvcs; i++) {
		struct svc_labels sl;
		size_t n = svc_labels(&sl, &snap->svcs[i]);

		sl.l[n] = (struct xlb_prom_label){ "scheduler", snap->svcs[i].cfg.sched };
		xlb_prom_u64(p, sl.l, n + 1, 1);
	}
	svc_family(s, "xlb_service_connections_total", XLB_PROM_COUNTER,
		   "Connections scheduled to the service (xlbctl -L --stats: Conns)", F_CONNS, -1);
	svc_family(s, "xlb_service_packets_total", XLB_PROM_COUNTER,
		   "Packets of the service: in from clients, out to clients (NAT only; "
		   "xlbctl -L --stats: InPkts, OutPkts)", F_INPKTS, F_OUTPKTS);
	svc_family(s, "xlb_service_bytes_total", XLB_PROM_COUNTER,
		   "Bytes of the service: in from clients, out to clients (NAT only; "
		   "xlbctl -L --stats: InBytes, OutBytes)", F_INBYTES, F_OUTBYTES);
	svc_family(s, "xlb_service_active_connections", XLB_PROM_GAUGE,
		   "Connections ESTABLISHED, over the service's real servers", F_ACTIVE, -1);
	svc_family(s, "xlb_service_inactive_connections", XLB_PROM_GAUGE,
		   "Connections in any other state (UDP too), over the service's real servers",
		   F_INACTIVE, -1);
	svc_family(s, "xlb_service_persistent_connections", XLB_PROM_GAUGE,
		   "Persistence templates, over the service's real servers", F_PERSIST, -1);

	xlb_prom_family(p, "xlb_real_server_info", XLB_PROM_GAUGE,
			"A real server of a service (always 1), with its forwarding method");
	for (uint32_t i = 0; i < snap->nsvcs; i++) {
		const struct xlb_snap_svc *svc = &snap->svcs[i];

		for (uint32_t j = 0; j < svc->ndests; j++) {
			struct svc_labels sl;
			size_t n;

			if (!listed(&svc->dests[j]))
				continue;
			n = dest_labels(&sl, svc, &svc->dests[j]);
			sl.l[n] = (struct xlb_prom_label){ "method",
							   fwd_name(svc->dests[j].cfg.fwd) };
			xlb_prom_u64(p, sl.l, n + 1, 1);
		}
	}
	dest_family(s, "xlb_real_server_weight", XLB_PROM_GAUGE,
		    "The real server's configured weight (0: quiesced)", F_WEIGHT, -1);
	/* The tables' word: the one the scheduler uses. */
	dest_family(s, "xlb_real_server_up", XLB_PROM_GAUGE,
		    "1: the real server takes new connections by its health (up, or not "
		    "checked); 0: it failed its checks (down)", F_UP, -1);
	dest_family(s, "xlb_real_server_health_checks_total", XLB_PROM_COUNTER,
		    "Health probes of the real server since its check was (re)set "
		    "(checked servers only)", F_CHECKS, -1);
	dest_family(s, "xlb_real_server_health_last_change_timestamp_seconds",
		    XLB_PROM_GAUGE,
		    "When the real server's health last changed or was reset (unix time; "
		    "checked servers only)", F_SINCE, -1);
	dest_family(s, "xlb_real_server_connections_total", XLB_PROM_COUNTER,
		    "Connections scheduled to the real server (xlbctl -L --stats: Conns)",
		    F_CONNS, -1);
	dest_family(s, "xlb_real_server_packets_total", XLB_PROM_COUNTER,
		    "Packets of the real server: in from clients, out to clients (NAT only)",
		    F_INPKTS, F_OUTPKTS);
	dest_family(s, "xlb_real_server_bytes_total", XLB_PROM_COUNTER,
		    "Bytes of the real server: in from clients, out to clients (NAT only)",
		    F_INBYTES, F_OUTBYTES);
	dest_family(s, "xlb_real_server_active_connections", XLB_PROM_GAUGE,
		    "Connections ESTABLISHED (xlbctl -L: ActiveConn)", F_ACTIVE, -1);
	dest_family(s, "xlb_real_server_inactive_connections", XLB_PROM_GAUGE,
		    "Connections in any other state, UDP too (xlbctl -L: InActConn)",
		    F_INACTIVE, -1);
	dest_family(s, "xlb_real_server_persistent_connections", XLB_PROM_GAUGE,
		    "Persistence templates (xlbctl -L --persistent-conn: PersistConn)",
		    F_PERSIST, -1);
}

/* Read every service's and server's counters once. */
static int read_objs(struct scrape *s, struct xlb_tables *t)
{
	const struct xlb_tables_provider *prov = xlb_tables_provider(t);
	const struct xlb_snap *snap = s->snap;

	s->svc = calloc(snap->nsvcs ? snap->nsvcs : 1, sizeof(*s->svc));
	s->dest = calloc(snap->nsvcs ? snap->nsvcs : 1, sizeof(*s->dest));
	if (!s->svc || !s->dest)
		return -ENOMEM;
	for (uint32_t i = 0; i < snap->nsvcs; i++) {
		const struct xlb_snap_svc *svc = &snap->svcs[i];
		struct xlb_rates rt;

		s->dest[i] = calloc(svc->ndests ? svc->ndests : 1, sizeof(**s->dest));
		if (!s->dest[i])
			return -ENOMEM;
		xlb_cnt_read(svc->cnt, &s->svc[i].st, &rt);
		for (uint32_t j = 0; j < svc->ndests; j++) {
			const struct xlb_snap_dest *d = &svc->dests[j];
			struct obj *o = &s->dest[i][j];

			xlb_cnt_read(d->cnt, &o->st, &rt);
			o->active = atomic_load_explicit(&d->cnt->activeconns, memory_order_relaxed);
			o->inactive = atomic_load_explicit(&d->cnt->inactconns, memory_order_relaxed);
			o->persist = atomic_load_explicit(&d->cnt->persistconns, memory_order_relaxed);
			o->weight = d->cfg.weight;
			o->up = d->down ? 0 : 1;
			s->svc[i].active += o->active;
			s->svc[i].inactive += o->inactive;
			s->svc[i].persist += o->persist;
			o->checked = listed(d) && prov->health_info &&
				     !prov->health_info(&svc->cfg.key, &d->cfg.addr, d->cfg.port,
							&o->hi, prov->health_arg);
		}
	}
	return 0;
}

static void write_self(struct xlb_prom *p, const struct xlb_metrics_self *self)
{
	static const char *const codes[XLB_METRICS_NCODES] = {
		[XLB_METRICS_200] = "200", [XLB_METRICS_400] = "400", [XLB_METRICS_404] = "404",
		[XLB_METRICS_405] = "405", [XLB_METRICS_431] = "431", [XLB_METRICS_503] = "503",
		[XLB_METRICS_505] = "505" };
	struct xlb_prom_label l;

	xlb_prom_family(p, "xlb_metrics_http_responses_total", XLB_PROM_COUNTER,
			"Responses of this metrics server, by status code");
	for (int i = 0; i < XLB_METRICS_NCODES; i++) {
		l = (struct xlb_prom_label){ "code", codes[i] };
		xlb_prom_u64(p, &l, 1, self->responses[i]);
	}
	xlb_prom_family(p, "xlb_metrics_http_connections_total", XLB_PROM_COUNTER,
			"Connections to this metrics server, by outcome: accepted, refused "
			"(too many at once), timed_out (dropped after the timeout)");
	l = (struct xlb_prom_label){ "outcome", "accepted" };
	xlb_prom_u64(p, &l, 1, self->accepted);
	l.value = "refused";
	xlb_prom_u64(p, &l, 1, self->refused);
	l.value = "timed_out";
	xlb_prom_u64(p, &l, 1, self->timed_out);
	xlb_prom_family(p, "xlb_metrics_http_clients", XLB_PROM_GAUGE,
			"Clients connected to this metrics server now");
	xlb_prom_u64(p, NULL, 0, self->clients);
	xlb_prom_family(p, "xlb_metrics_last_render_duration_seconds", XLB_PROM_GAUGE,
			"How long the previous scrape took to render");
	xlb_prom_double(p, NULL, 0, self->last_render_s);
}

int xlb_metrics_render(struct xlb_prom *p, struct xlb_tables *t, double start_time,
		       const struct xlb_metrics_self *self)
{
	const struct xlb_tables_provider *prov = xlb_tables_provider(t);
	struct scrape s = { .p = p };
	struct ctr_vec cv = { 0 };
	struct xlb_prom_label l;
	int ret;

	/* Bring the fast path's packets in first, as --stats does. */
	if (prov->sync_counters)
		prov->sync_counters(prov->arg);
	s.snap = xlb_tables_current(t);
	ret = read_objs(&s, t);
	if (ret)
		goto out;
	if (prov->dump_counters) {
		ret = prov->dump_counters(collect, &cv, prov->arg);
		if (ret)
			goto out;
	}

	xlb_prom_family(p, "xlb_build_info", XLB_PROM_GAUGE,
			"xlbd's version (always 1)");
	l = (struct xlb_prom_label){ "version", XLB_VERSION_STRING };
	xlb_prom_u64(p, &l, 1, 1);
	/* The client libraries' standard name, without xlb_: dashboards
	 * compute uptime as time() - process_start_time_seconds. */
	xlb_prom_family(p, "process_start_time_seconds", XLB_PROM_GAUGE,
			"Start time of the process since unix epoch in seconds");
	xlb_prom_double(p, NULL, 0, start_time);
	write_services(&s);
	xlb_prom_family(p, "xlb_conn_capacity", XLB_PROM_GAUGE,
			"Entries the connection table holds (--max-conns)");
	xlb_prom_u64(p, NULL, 0, prov->conn_tab_size ? prov->conn_tab_size(prov->arg) : 0);
	ret = xlb_prom_error(p);
	if (!ret)
		ret = xlb_metrics_write_counters(p, cv.v, cv.n);
	if (!ret && self)
		write_self(p, self);
	if (!ret)
		ret = xlb_prom_error(p);
out:
	if (s.dest)
		for (uint32_t i = 0; s.snap && i < s.snap->nsvcs; i++)
			free(s.dest[i]);
	free(s.dest);
	free(s.svc);
	free(cv.v);
	return ret;
}
