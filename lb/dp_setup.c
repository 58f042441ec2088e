// SPDX-License-Identifier: GPL-2.0
/*
 * The datapath's setup and teardown, housekeeping (next-hop events,
 * connection expiry), counters and the connection dump, all on the
 * control thread.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dp-int.h"
#include "hash.h"
#include "log.h"
#include "nexthop.h"
#include "pkt.h"
#include "ring.h"
#include "tables.h"
#include "xmit.h"
#include "../bpf/xlb_shared.h"

const char *const xlb_dp_cnt_names[XLB_DP_CNT_MAX] = {
	[XLB_DP_RX]		= "rx",
	[XLB_DP_TX]		= "tx",
	[XLB_DP_NAT_REPLIES]	= "nat_replies",
	[XLB_DP_ICMP_FWD]	= "icmp_errors_forwarded",
	[XLB_DP_FRAG_NEEDED]	= "frag_needed_sent",
	[XLB_DP_DROP_MALFORMED]	= "drop_malformed",
	[XLB_DP_DROP_FRAGMENT]	= "drop_fragment",
	[XLB_DP_DROP_TTL]	= "drop_ttl_zero",
	[XLB_DP_DROP_NO_SERVICE] = "drop_no_service",
	[XLB_DP_DROP_NO_DEST]	= "drop_no_real_server",
	[XLB_DP_DROP_NEIGH]	= "drop_neigh_pending",
	[XLB_DP_DROP_NO_PORT]	= "drop_egress_not_served",
	[XLB_DP_DROP_CONN_FULL]	= "drop_conn_table_full",
	[XLB_DP_DROP_ICMP]	= "drop_icmp_unknown_flow",
	[XLB_DP_DROP_TOO_BIG]	= "drop_too_big",
	[XLB_DP_DROP_XMIT]	= "drop_xmit_error",
	[XLB_DP_DROP_DR_GATEWAY] = "drop_dr_via_gateway",
	[XLB_DP_DROP_VLAN]	= "drop_vlan_other_egress",
};

/* Parse classes, by -error (lb/pkt.h), as `malformed NAME` counters. */
const char *const xlb_dp_parse_names[XLB_PKT_ERR_COUNT] = {
	[-XLB_PKT_E_ETH_TRUNC]		= "eth_trunc",
	[-XLB_PKT_E_VLAN_TRUNC]		= "vlan_trunc",
	[-XLB_PKT_E_IP_TRUNC]		= "ip_trunc",
	[-XLB_PKT_E_IP_VERSION]		= "ip_version",
	[-XLB_PKT_E_IHL_SHORT]		= "ihl_short",
	[-XLB_PKT_E_IHL_TRUNC]		= "ihl_trunc",
	[-XLB_PKT_E_TOTLEN_TRUNC]	= "totlen_trunc",
	[-XLB_PKT_E_TOTLEN_SHORT]	= "totlen_short",
	[-XLB_PKT_E_FRAG]		= "frag",
	[-XLB_PKT_E_TCP_TRUNC]		= "tcp_trunc",
	[-XLB_PKT_E_TCP_DOFF_SHORT]	= "tcp_doff_short",
	[-XLB_PKT_E_TCP_DOFF_TRUNC]	= "tcp_doff_trunc",
	[-XLB_PKT_E_UDP_TRUNC]		= "udp_trunc",
	[-XLB_PKT_E_UDP_LEN_SHORT]	= "udp_len_short",
	[-XLB_PKT_E_UDP_LEN_LONG]	= "udp_len_long",
	[-XLB_PKT_E_ICMP_TRUNC]		= "icmp_trunc",
	[-XLB_PKT_E_ICMP_INNER_TRUNC]	= "icmp_inner_trunc",
	[-XLB_PKT_E_ICMP_INNER_BAD]	= "icmp_inner_bad",
};


struct dump_ctx {
	xlb_conn_emit_fn emit;
	void *arg;
};

static int dp_dump_one(void *arg, const struct xlb_conn_entry *ce)
{
	struct dump_ctx *c = arg;
	struct xlb_conn_info ci = {
		.proto = ce->orig.proto,
		.caddr = ce->orig.saddr, .cport = ce->orig.sport,
		.vaddr = ce->orig.daddr, .vport = ce->orig.dport,
		.daddr = ce->daddr, .dport = ce->dport,
		.expires = ce->expires_s,
	};

	snprintf(ci.state, sizeof(ci.state), "%s", ce->state_name);
	return c->emit(&ci, c->arg);
}

static int dp_dump_conns(xlb_conn_emit_fn emit, void *emit_arg, void *arg)
{
	struct xlb_dp *dp = arg;
	struct dump_ctx c = { .emit = emit, .arg = emit_arg };
	int rc = xlb_conn_foreach(dp->conns, now_ms(), dp_dump_one, &c);

	return rc < 0 ? rc : 0;
}

static uint64_t worker_sum(const struct xlb_dp *dp, size_t off)
{
	uint64_t sum = 0;

	for (int i = 0; i < dp->n_workers; i++)
		sum += __atomic_load_n((const uint64_t *)((const char *)&dp->workers[i] + off),
				       __ATOMIC_RELAXED);
	return sum;
}

/* AF_XDP: the kernel's drops (ring full, fill ring empty) and ours, summed
 * over every socket. */
static int dump_xsk_counters(const struct xlb_dp *dp, xlb_counter_emit_fn emit,
			     void *emit_arg)
{
	struct xlb_xsk_stats sum = { 0 }, st;
	int rc;

	for (int p = 0; p < dp->n_ports; p++) {
		if (xlb_xsk_port_stats(dp->xsk, p, -1, &st) < 0)
			continue;
#define XSK_ADD(f) sum.f += st.f
		XSK_ADD(rx_dropped);
		XSK_ADD(rx_ring_full);
		XSK_ADD(rx_fill_ring_empty_descs);
		XSK_ADD(rx_invalid_descs);
		XSK_ADD(tx_invalid_descs);
		XSK_ADD(tx_full);
		XSK_ADD(tx_no_port);
		XSK_ADD(pool_empty);
		XSK_ADD(kicks);
#undef XSK_ADD
	}
#define XSK_STAT(f) if ((rc = emit("xsk", #f, sum.f, emit_arg))) return rc
	XSK_STAT(rx_dropped);
	XSK_STAT(rx_ring_full);
	XSK_STAT(rx_fill_ring_empty_descs);
	XSK_STAT(rx_invalid_descs);
	XSK_STAT(tx_invalid_descs);
	XSK_STAT(tx_full);
	XSK_STAT(tx_no_port);
	XSK_STAT(pool_empty);
	XSK_STAT(kicks);
#undef XSK_STAT
	return 0;
}

static int dp_dump_counters(xlb_counter_emit_fn emit, void *emit_arg, void *arg)
{
	const struct xlb_dp *dp = arg;
	uint64_t x[XLB_CNT_MAX];
	struct xlb_conn_stats cs;
	int i, rc;

	if ((rc = xlb_xdp_counters(dp->xdp, x)) < 0)
		return rc;
	for (i = 0; i < XLB_CNT_MAX; i++)
		if ((rc = emit("xdp", xlb_cnt_names[i], x[i], emit_arg)))
			return rc;
	for (i = 0; i < XLB_DP_CNT_MAX; i++)
		if ((rc = emit("datapath", xlb_dp_cnt_names[i],
			       worker_sum(dp, offsetof(struct dp_worker, cnt[i])), emit_arg)))
			return rc;
	for (i = 1; i < XLB_PKT_ERR_COUNT; i++)
		if ((rc = emit("malformed", xlb_dp_parse_names[i],
			       worker_sum(dp, offsetof(struct dp_worker, parse_drops[i])),
			       emit_arg)))
			return rc;
	if ((rc = dump_xsk_counters(dp, emit, emit_arg)))
		return rc;
	{
		struct xlb_nh_stats ns;

		xlb_nh_cache_stats(dp->nh, &ns);
#define NH_STAT(f) if ((rc = emit("nexthop", #f, ns.f, emit_arg))) return rc
		NH_STAT(routes);
		NH_STAT(routes_max);
		NH_STAT(route_targets);
		NH_STAT(route_memory_kib);
		NH_STAT(entries);
		NH_STAT(capacity);
		NH_STAT(hosts);
		NH_STAT(hosts_max);
		NH_STAT(requests_dropped);
#undef NH_STAT
	}
	xlb_conn_get_stats(dp->conns, &cs);
#define CONN_STAT(f) if ((rc = emit("conn", #f, cs.f, emit_arg))) return rc
	CONN_STAT(created);
	CONN_STAT(expired);
	CONN_STAT(evicted);
	CONN_STAT(full_drops);
	CONN_STAT(rescheduled);
	CONN_STAT(flushed);
	CONN_STAT(clashes);
	CONN_STAT(sched_errors);
	CONN_STAT(count);
	CONN_STAT(active);
	CONN_STAT(inactive);
#undef CONN_STAT
	return 0;
}

static uint32_t dp_conn_tab_size(void *arg)
{
	return xlb_conn_tab_size(((struct xlb_dp *)arg)->conns);
}

int xlb_dp_fd(const struct xlb_dp *dp)
{
	return xlb_nh_cache_fd(dp->nh);
}

void xlb_dp_process(struct xlb_dp *dp)
{
	xlb_nh_cache_process(dp->nh);
}

void xlb_dp_tick(struct xlb_dp *dp, uint64_t now)
{
	xlb_nh_cache_tick(dp->nh, now);
	xlb_conn_expire(dp->conns, now_ms(), dp->expire_budget);
}

void xlb_dp_counters(const struct xlb_dp *dp, uint64_t out[XLB_DP_CNT_MAX])
{
	memset(out, 0, sizeof(uint64_t) * XLB_DP_CNT_MAX);
	for (int i = 0; i < dp->n_workers; i++)
		for (int c = 0; c < XLB_DP_CNT_MAX; c++)
			out[c] += __atomic_load_n(&dp->workers[i].cnt[c], __ATOMIC_RELAXED);
}

void xlb_dp_log_stats(const struct xlb_dp *dp)
{
	uint64_t c[XLB_DP_CNT_MAX], x[XLB_CNT_MAX];
	char line[1024];
	size_t off = 0;

	xlb_dp_counters(dp, c);
	for (int i = 0; i < XLB_DP_CNT_MAX && off < sizeof(line); i++)
		if (c[i])
			off += (size_t)snprintf(line + off, sizeof(line) - off, " %s=%llu",
						xlb_dp_cnt_names[i], (unsigned long long)c[i]);
	pr_info("datapath:%s", off ? line : " no packets");
	if (xlb_xdp_counters(dp->xdp, x) == 0) {
		off = 0;
		for (int i = 0; i < XLB_CNT_MAX && off < sizeof(line); i++)
			if (x[i])
				off += (size_t)snprintf(line + off, sizeof(line) - off,
							" %s=%llu", xlb_cnt_names[i],
							(unsigned long long)x[i]);
		pr_info("xdp:%s", off ? line : " no packets");
	}
}

void xlb_dp_params_default(struct xlb_dp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->xdp_mode = XLB_XDP_NATIVE;
	p->zerocopy = XLB_XSK_ZC_AUTO;
	p->max_conns = XLB_CONN_MAX_DEFAULT;
}

static void nh_log(void *arg, const char *fmt, ...)
{
	va_list ap;

	(void)arg;
	va_start(ap, fmt);
	xlb_vlog(XLB_LOG_INFO, fmt, ap);
	va_end(ap);
}

static void xdp_lib_log(const char *line)
{
	pr_debug("libxdp: %s", line);
}

void xlb_dp_stop(struct xlb_dp *dp)
{
	if (!dp)
		return;
	atomic_store(&dp->stop, true);
	for (int i = 0; i < dp->n_workers; i++) {
		struct dp_worker *w = &dp->workers[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		if (w->reader >= 0)
			xlb_tables_reader_unregister(dp->tables, w->reader);
	}
	if (dp->tables) {
		xlb_tables_set_commit_cb(dp->tables, NULL, NULL);
		xlb_tables_set_provider(dp->tables, NULL);
	}
	/* Detach first: from here on the kernel handles the VIPs again. */
	xlb_xdp_close(dp->xdp);
	xlb_xsk_free(dp->xsk);
	if (dp->conns)
		xlb_conn_flush_dest(dp->conns, NULL);
	for (size_t i = 0; i < dp->n_dests; i++)
		xlb_cnt_put(dp->dests[i]);
	xlb_conn_free(dp->conns);
	xlb_nh_cache_free(dp->nh);
	free(dp->workers);
	free(dp->wanted);
	free(dp->dests);
	free(dp);
}

int xlb_dp_start(struct xlb_dp **out, const struct xlb_dp_params *p,
		 char *err, size_t errlen)
{
	struct xlb_nh_cache_params nhp;
	struct xlb_conn_params cp;
	struct xlb_xsk_params xp;
	struct xlb_tables_provider prov;
	struct xlb_dp *dp;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int rc, i;

	*out = NULL;
	if (p->n_ifaces < 1 || p->n_ifaces > XLB_XSK_MAX_IFACES) {
		snprintf(err, errlen, "between 1 and %d interfaces", XLB_XSK_MAX_IFACES);
		return -EINVAL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->tables = p->tables;
	dp->n_ports = p->n_ifaces;

	xlb_xdp_set_lib_log(xdp_lib_log);
	rc = xlb_xdp_open(&dp->xdp, p->xdp_mode);
	if (rc < 0) {
		snprintf(err, errlen, "loading the XDP program: %s", xlb_xdp_errmsg());
		goto fail;
	}

	/* The sockets first, then the program: steered packets never find
	 * an empty queue in the XSKMAP for long. */
	xlb_xsk_params_default(&xp);
	xp.ifnames = p->ifnames;
	xp.n_ifaces = p->n_ifaces;
	xp.n_queues = p->n_queues;
	xp.zerocopy = p->zerocopy;
	xp.inhibit_prog_load = true;
	xp.xsks_map_fd = xlb_xdp_xsks_map_fd(dp->xdp);
	rc = xlb_xsk_init(&dp->xsk, &xp);
	if (rc < 0) {
		snprintf(err, errlen, "creating the AF_XDP sockets: %s", strerror(-rc));
		goto fail;
	}
	for (i = 0; i < p->n_ifaces; i++) {
		dp->ifindex[i] = xlb_xsk_ifindex(dp->xsk, i);
		rc = xlb_nh_if_mac(p->ifnames[i], dp->mac[i]);
		if (rc < 0) {
			snprintf(err, errlen, "%s: reading its MAC: %s", p->ifnames[i],
				 strerror(-rc));
			goto fail;
		}
		rc = xlb_xdp_set_xsk_base(dp->xdp, dp->ifindex[i],
					  (uint32_t)i * XLB_XSK_QUEUES_MAX);
		if (rc < 0) {
			snprintf(err, errlen, "%s: XSKMAP range: %s", p->ifnames[i],
				 strerror(-rc));
			goto fail;
		}
		rc = xlb_xdp_attach(dp->xdp, dp->ifindex[i]);
		if (rc < 0) {
			snprintf(err, errlen, "%s", xlb_xdp_errmsg());
			goto fail;
		}
	}

	xlb_conn_params_default(&cp);
	cp.max_conns = p->max_conns;
	cp.timeouts = xlb_tables_current(p->tables)->timeouts;
	cp.on_count = xlb_dp_on_count;
	cp.dest_alive = xlb_dp_dest_alive;
	cp.cb_arg = dp;
	rc = xlb_conn_init(&dp->conns, &cp);
	if (rc < 0) {
		snprintf(err, errlen, "connection table of %u entries: %s",
			 p->max_conns, strerror(-rc));
		goto fail;
	}
	/* Sweep the whole table in about 1.6 s at 10 ticks per second. */
	dp->expire_budget = xlb_conn_tab_size(dp->conns) / 16 + 1;

	xlb_nh_cache_params_default(&nhp);
	nhp.log = nh_log;
	rc = xlb_nh_cache_init(&dp->nh, &nhp);
	if (rc < 0) {
		snprintf(err, errlen, "next-hop cache (rtnetlink): %s", strerror(-rc));
		goto fail;
	}

	dp->n_workers = xlb_xsk_n_workers(dp->xsk);
	if (dp->n_workers > XLB_MAX_WORKERS) {
		snprintf(err, errlen, "%d queues: at most %d workers", dp->n_workers,
			 XLB_MAX_WORKERS);
		rc = -E2BIG;
		goto fail;
	}
	dp->workers = aligned_alloc(64, sizeof(*dp->workers) * (size_t)dp->n_workers);
	if (!dp->workers) {
		rc = -ENOMEM;
		goto fail;
	}
	memset(dp->workers, 0, sizeof(*dp->workers) * (size_t)dp->n_workers);
	for (i = 0; i < dp->n_workers; i++) {
		dp->workers[i].reader = -1;
		dp->workers[i].dp = dp;
		dp->workers[i].id = i;
		dp->workers[i].xw = xlb_xsk_worker(dp->xsk, i);
	}

	prov = (struct xlb_tables_provider){
		.dump_conns = dp_dump_conns,
		.conn_tab_size = dp_conn_tab_size,
		.dump_counters = dp_dump_counters,
		.check_dest = xlb_dp_check_dest,
		.arg = dp,
	};
	xlb_tables_set_provider(p->tables, &prov);
	xlb_tables_set_commit_cb(p->tables, xlb_dp_commit, dp);
	xlb_dp_commit(xlb_tables_current(p->tables), dp);

	for (i = 0; i < dp->n_workers; i++) {
		struct dp_worker *w = &dp->workers[i];

		w->reader = xlb_tables_reader_register(p->tables);
		if (w->reader < 0) {
			snprintf(err, errlen, "too many datapath workers");
			rc = -ENOSPC;
			goto fail;
		}
		rc = -pthread_create(&w->thread, NULL, xlb_dp_worker_main, w);
		if (rc < 0) {
			snprintf(err, errlen, "starting worker %d: %s", i, strerror(-rc));
			goto fail;
		}
		w->started = true;
		if (ncpu > 0) {
			cpu_set_t set;
			char name[16];

			CPU_ZERO(&set);
			CPU_SET(i % ncpu, &set);
			pthread_setaffinity_np(w->thread, sizeof(set), &set);
			snprintf(name, sizeof(name), "xlb-w%d", i & 0xffff);
			pthread_setname_np(w->thread, name);
		}
	}
	pr_info("datapath: %d interface(s), %d worker(s), %s mode, %s XDP, max %u connections",
		dp->n_ports, dp->n_workers,
		xlb_xsk_zerocopy(dp->xsk) ? "zero-copy" : "copy",
		xlb_xdp_mode_name(p->xdp_mode), p->max_conns);
	*out = dp;
	return 0;
fail:
	xlb_dp_stop(dp);
	return rc < 0 ? rc : -EINVAL;
}

