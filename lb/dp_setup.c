// SPDX-License-Identifier: GPL-2.0
/*
 * The datapath's setup and teardown, housekeeping (next-hop events,
 * connection expiry), counters and the connection dump, all on the
 * control thread.
 */
#include <errno.h>
#include <ifaddrs.h>
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

#include "cpus.h"
#include "dp-int.h"
#include "fastpath.h"
#include "hash.h"
#include "log.h"
#include "localaddr.h"
#include "nexthop.h"
#include "pkt.h"
#include "ring.h"
#include "tables.h"
#include "xmit.h"
#include "../bpf/xlb_shared.h"

/* lb/xsk.h and bpf/xlb_shared.h both define XLB_XSK_QUEUES_MAX (the
 * XSKMAP layout); were they to differ, this file would not compile. */
_Static_assert(XLB_MAX_WORKERS >= XLB_XSK_QUEUES_MAX,
	       "a worker (and a counter slot) for every queue");

/* After a start, a next hop still pending does not remove an adopted
 * fast-path entry (its neighbour is being resolved again). */
#define DP_FP_GRACE_MS		5000

/* How often the control thread re-reads the RX queue counts, and repeats
 * its warning while some queue is not served. */
#define DP_QUEUES_CHECK_MS	1000
#define DP_QUEUES_WARN_MS	60000

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
	[XLB_DP_DROP_VLAN]	= "drop_vlan_tagged",
	[XLB_DP_TUN_FRAGMENTED]	= "tun_fragmented",
	[XLB_DP_DROP_TUN_FRAG_NO_FRAME] = "drop_tun_frag_no_frame",
	[XLB_DP_DROP_ICMP_RATELIMIT] = "drop_frag_needed_ratelimited",
	[XLB_DP_DROP_DR_GATEWAY] = "drop_dr_via_gateway",
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
	[-XLB_PKT_E_IP6_TRUNC]		= "ip6_trunc",
	[-XLB_PKT_E_IP6_VERSION]	= "ip6_version",
	[-XLB_PKT_E_IP6_PLEN_TRUNC]	= "ip6_plen_trunc",
	[-XLB_PKT_E_IP6_EXT_TRUNC]	= "ip6_ext_trunc",
	[-XLB_PKT_E_IP6_EXT_CHAIN]	= "ip6_ext_chain",
	[-XLB_PKT_E_IP6_ROUTING]	= "ip6_routing",
	[-XLB_PKT_E_IP6_FRAG]		= "ip6_frag",
	[-XLB_PKT_E_UDP6_CSUM_ZERO]	= "udp6_csum_zero",
};


/* Entries copied per call: one stripe lock is held for at most these. */
#define DP_COPY_CONNS_MAX	64

/* The connection dump, a chunk at a time (tables.h): the cursor is the
 * table's (bucket, skip), packed. */
static int dp_copy_conns(uint64_t *cursor, struct xlb_conn_info *out, unsigned int max,
			 void *arg)
{
	struct xlb_dp *dp = arg;
	struct xlb_conn_entry e[DP_COPY_CONNS_MAX];
	struct xlb_conn_cursor c = { .bucket = (uint32_t)(*cursor >> 32),
				     .skip = (uint32_t)*cursor };
	uint32_t n;

	if (!max)
		return -EINVAL;
	n = xlb_conn_copy(dp->conns, now_ms(), &c, e,
			  max < DP_COPY_CONNS_MAX ? max : DP_COPY_CONNS_MAX);
	for (uint32_t i = 0; i < n; i++) {
		out[i] = (struct xlb_conn_info){
			.proto = e[i].orig.proto,
			.af = AF_INET,
			.caddr.ip = e[i].orig.saddr, .cport = e[i].orig.sport,
			.vaddr.ip = e[i].orig.daddr, .vport = e[i].orig.dport,
			.daddr.ip = e[i].daddr, .dport = e[i].dport,
			.expires = e[i].expires_s,
			.flags = e[i].tmpl ? XLB_CONN_INFO_F_TEMPLATE : 0,
		};
		if (xlb_conn_key_is6(&e[i].orig)) {
			out[i].af = AF_INET6;
			out[i].caddr = e[i].orig.saddr6;
			out[i].vaddr = e[i].orig.daddr6;
			out[i].daddr = e[i].daddr6;
		}
		snprintf(out[i].state, sizeof(out[i].state), "%s", e[i].state_name);
	}
	*cursor = (uint64_t)c.bucket << 32 | c.skip;
	return (int)n;
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
	XSK_STAT(pool_empty);
	XSK_STAT(kicks);
#undef XSK_STAT
	if ((rc = emit("xsk", "slab_swaps", xlb_xsk_slab_swaps(dp->xsk), emit_arg)) ||
	    (rc = emit("xsk", "queue_changes", dp->queue_changes, emit_arg)) ||
	    (rc = emit("xsk", "queues_unserved", dp->queues_unserved, emit_arg)))
		return rc;
	/* Per socket: which queues carry traffic (RSS spread, a dead queue). */
	for (int p = 0; p < dp->n_ports; p++) {
		const char *ifn = xlb_xsk_ifname(dp->xsk, p);

		for (int q = 0; q < xlb_xsk_n_queues(dp->xsk, p); q++) {
			char name[XLB_COUNTER_NAME_MAX];

			if (xlb_xsk_port_stats(dp->xsk, p, q, &st) < 0)
				continue;
			snprintf(name, sizeof(name), "%s:rx%d", ifn, q);
			if ((rc = emit("xsk_queue", name, st.rx_packets, emit_arg)))
				return rc;
			snprintf(name, sizeof(name), "%s:tx%d", ifn, q);
			if ((rc = emit("xsk_queue", name, st.tx_packets, emit_arg)))
				return rc;
		}
	}
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
		NH_STAT(entries6);
		NH_STAT(capacity6);
		NH_STAT(hosts6);
		NH_STAT(hosts6_max);
#undef NH_STAT
	}
	if ((rc = xlb_dp_fp_counters(dp, x, emit, emit_arg)))
		return rc;
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
	CONN_STAT(adopted);
	CONN_STAT(count);
	CONN_STAT(active);
	CONN_STAT(inactive);
	CONN_STAT(templates);
	CONN_STAT(onepacket);
#undef CONN_STAT
	return 0;
}

/* --stats, --rate and -Z see the fast path's packets up to now. */
static void dp_sync_counters(void *arg)
{
	struct xlb_dp *dp = arg;

	xlb_dp_fp_sync(dp, now_ms());
}

static uint32_t dp_conn_tab_size(void *arg)
{
	return xlb_conn_tab_size(((struct xlb_dp *)arg)->conns);
}

int xlb_dp_fd(const struct xlb_dp *dp)
{
	return xlb_nh_cache_fd(dp->nh);
}

/* The next-hop socket also hears of address changes (it re-resolves on
 * them), so polling it wakes us for those too; the tick catches the rest. */
void xlb_dp_process(struct xlb_dp *dp)
{
	xlb_nh_cache_process(dp->nh);
	/* A next hop changed (a MAC moved): the fast path follows now, not
	 * at the next tick, as the userspace path does from its next packet. */
	if (dp->fp_due)
		xlb_dp_fp_sync(dp, now_ms());
	xlb_local_addrs_process(dp->local);
}

/* "queue 3" or "queues 3-7", for messages. */
static const char *dp_queues_str(int from, int to, char *buf, size_t len)
{
	if (from == to)
		snprintf(buf, len, "queue %d", from);
	else
		snprintf(buf, len, "queues %d-%d", from, to);
	return buf;
}

/* An RX queue that appears after start (ethtool -L) has no socket, so the
 * XDP program drops what RSS sends there (xdp redirect_failed); one that
 * disappears leaves a socket idle. Neither may pass unnoticed: re-read the
 * counts every DP_QUEUES_CHECK_MS, log each change, count it, and repeat
 * the warning while queues are unserved. */
static void dp_check_queues(struct xlb_dp *dp, uint64_t now)
{
	uint64_t unserved = 0;
	bool changed = false;

	if (now - dp->queues_checked_ms < DP_QUEUES_CHECK_MS)
		return;
	dp->queues_checked_ms = now;
	for (int p = 0; p < dp->n_ports; p++) {
		const char *ifn = xlb_xsk_ifname(dp->xsk, p);
		int served = xlb_xsk_n_queues(dp->xsk, p);
		int n = xlb_xsk_queue_count(ifn);

		if (n < 0)
			continue;	/* gone: the link events say so */
		if (n > served)
			unserved += (uint64_t)(n - served);
		char a[32], b[32];

		if (n == dp->seen_queues[p])
			continue;
		changed = true;
		dp->queue_changes++;
		if (n > served)
			pr_warn("datapath: %s now has %d RX queues (was %d) but xlbd serves "
				"%s: VIP packets that RSS puts on %s are dropped (xdp "
				"redirect_failed); restart xlbd to serve them",
				ifn, n, dp->seen_queues[p], dp_queues_str(0, served - 1, a, sizeof(a)),
				dp_queues_str(served, n - 1, b, sizeof(b)));
		else if (n < served)
			pr_warn("datapath: %s now has %d RX queues (was %d); xlbd's "
				"socket(s) on %s receive nothing; restart xlbd to "
				"rebalance its workers", ifn, n, dp->seen_queues[p],
				dp_queues_str(n, served - 1, a, sizeof(a)));
		else
			pr_warn("datapath: %s has %d RX queues again, all served",
				ifn, n);
		dp->seen_queues[p] = n;
	}
	dp->queues_unserved = unserved;
	if (changed)
		dp->queues_warned_ms = now;
	else if (unserved && now - dp->queues_warned_ms >= DP_QUEUES_WARN_MS) {
		dp->queues_warned_ms = now;
		pr_warn("datapath: %llu RX queue(s) still not served (see above); "
			"restart xlbd to serve them", (unsigned long long)unserved);
	}
}

static int cmp_in6(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/*
 * The director's IPv6 addresses into local_addrs6, so that its own traffic
 * with IPv6 NAT real servers stays the kernel's (as localaddr.c does for
 * IPv4, by polling instead of address events: a stand-in). Link-local
 * addresses included. Returns without change when reading them fails.
 */
static void dp_local6_refresh(struct xlb_dp *dp)
{
	struct ifaddrs *ifa, *i;
	union xlb_inaddr *cur;
	size_t n = 0, a, b;

	if (getifaddrs(&ifa) < 0)
		return;
	cur = calloc(XLB_LOCAL_ADDRS6_MAX, sizeof(*cur));
	if (!cur) {
		freeifaddrs(ifa);
		return;
	}
	for (i = ifa; i && n < XLB_LOCAL_ADDRS6_MAX; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6)
			memcpy(&cur[n++], &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
	freeifaddrs(ifa);
	qsort(cur, n, sizeof(*cur), cmp_in6);
	/* Both sorted: one merge pass of removals and additions. */
	for (a = b = 0; a < dp->n_local6 || b < n;) {
		int c = a == dp->n_local6 ? 1 : b == n ? -1 :
			memcmp(&dp->local6[a], &cur[b], 16);

		if (c < 0)
			(void)xlb_xdp_local6_set(dp->xdp, (const uint8_t *)&dp->local6[a++], false);
		else if (c > 0)
			(void)xlb_xdp_local6_set(dp->xdp, (const uint8_t *)&cur[b++], true);
		else
			a++, b++;
	}
	free(dp->local6);
	dp->local6 = cur;
	dp->n_local6 = n;
}

void xlb_dp_tick(struct xlb_dp *dp, uint64_t now)
{
	xlb_nh_cache_tick(dp->nh, now);
	if (now - dp->local6_ms >= 1000) {
		dp->local6_ms = now;
		dp_local6_refresh(dp);
	}
	xlb_dp_commit_tick(dp);
	xlb_local_addrs_process(dp->local);
	xlb_conn_expire(dp->conns, now, dp->expire_budget);
	dp_check_queues(dp, now);
	xlb_dp_fp_tick(dp, now);
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
	p->fast_path = true;
}

/* A next hop changed (MAC, usable or not): the fast path's entries
 * follow at the next tick. */
static void dp_nh_changed(uint32_t addr, const struct xlb_nh *nh, void *arg)
{
	struct xlb_dp *dp = arg;

	(void)addr;
	(void)nh;
	dp->fp_due = true;
}

/* The same for an IPv6 next hop (the IPv6 fast path's entries carry
 * MACs too). */
static void dp_nh_changed6(const struct in6_addr *addr, const struct xlb_nh6 *nh,
			   void *arg)
{
	struct xlb_dp *dp = arg;

	(void)addr;
	(void)nh;
	dp->fp_due = true;
}

/* Where the fast path's maps are pinned: one directory per state file
 * (one per xlbd), in xlb's bpffs. */
static const char *dp_fp_pin_dir(const char *state_path, char *buf, size_t len)
{
	uint32_t h = 2166136261u;

	if (!state_path)
		return NULL;
	for (const char *c = state_path; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	snprintf(buf, len, "%s/xlb-%08x", xlb_xdp_bpffs(), h);
	return buf;
}

void xlb_dp_fp_pin_dir(const char *state_path, char *buf, size_t len)
{
	if (!dp_fp_pin_dir(state_path, buf, len) && len)
		buf[0] = '\0';
}

/* Route and neighbour events, and packets (on-link NAT clients), reach
 * this: limited, per thread (workers and the control thread call it). */
static void nh_log(void *arg, const char *fmt, ...)
{
	static __thread struct xlb_ratelimit rl =
		XLB_RATELIMIT_INIT(XLB_LOG_RL_MS, XLB_LOG_RL_BURST);
	va_list ap;

	(void)arg;
	if (!xlb_ratelimit_ok(&rl))
		return;
	va_start(ap, fmt);
	xlb_vlog(XLB_LOG_INFO, fmt, ap);
	va_end(ap);
}

/* One of the director's addresses came or went: the XDP program leaves
 * packets from NAT real servers to it to the kernel. */
static void local_addr_changed(void *arg, uint32_t addr, bool present)
{
	struct xlb_dp *dp = arg;
	int rc = xlb_xdp_local_set(dp->xdp, addr, present);

	if (rc == -ENOSPC || rc == -E2BIG) {
		if (!dp->local_full)
			pr_warn("datapath: more than %d local addresses: the "
				"director's own traffic from the others to NAT "
				"real servers is taken for NAT replies",
				XLB_LOCAL_ADDRS_MAX);
		dp->local_full = true;
	} else if (rc < 0) {
		pr_warn_rl("datapath: %s", xlb_xdp_errmsg());
	}
}

/* An earlier run may have served interfaces this one does not: their
 * xlb_steer would drop VIP packets for good. Say so, with the remedy. */
static void warn_stale_elsewhere(const struct xlb_dp *dp)
{
	struct if_nameindex *ni = if_nameindex(), *n;

	if (!ni)
		return;
	for (n = ni; n->if_index; n++) {
		if (dp_port(dp, (int)n->if_index) >= 0 ||
		    !xlb_xdp_has_ours((int)n->if_index))
			continue;
		pr_warn("xdp: %s still has the %s of an earlier run, and this "
			"xlbd does not serve it: VIP packets arriving there are "
			"dropped; `xlbd --detach -i %s` removes it",
			n->if_name, XLB_STEER_PROG_NAME, n->if_name);
	}
	if_freenameindex(ni);
}

static void xdp_lib_log(const char *line)
{
	pr_debug("libxdp: %s", line);
}

/*
 * With a state file the entries stay for the next xlbd, but each still
 * holds a reference on its real server's counters (taken by
 * xlb_dp_on_count() as it counted the entry active or inactive, or by
 * xlb_dp_on_persist() for a template): drop those, as the flush would
 * have, without removing the entries. Every
 * entry's server is in dp->dests (the commit flushes a deleted server's
 * entries), and the workers are stopped.
 */
static void release_entry_refs(struct xlb_dp *dp)
{
	for (size_t i = 0; i < dp->n_dests; i++) {
		struct xlb_cnt *c = dp->dests[i];
		unsigned int n = atomic_load(&c->activeconns) +
				 atomic_load(&c->inactconns) +
				 atomic_load(&c->persistconns);

		atomic_store(&c->activeconns, 0);
		atomic_store(&c->inactconns, 0);
		atomic_store(&c->persistconns, 0);
		while (n--)
			xlb_cnt_put(c);
	}
}

/* Adoption of the previous xlbd's connections: the service by the
 * original tuple, the real server by the reply tuple's source, both in
 * the current configuration; bound as a new flow would be. */
struct adopt_ctx {
	struct xlb_dp *dp;
	const struct xlb_snap *snap;
	uint32_t no_service, no_server, method_changed;
};

static int dp_rebind(void *arg, const struct xlb_conn_view *old,
		     struct xlb_conn_target *t)
{
	struct adopt_ctx *a = arg;
	const struct xlb_snap_svc *svc;
	int idx;

	if (xlb_conn_key_is6(&old->orig)) {
		struct xlb_svc_key k = { .addr = old->orig.daddr6, .port = old->orig.dport,
					 .proto = old->orig.proto, .af = AF_INET6 };

		svc = xlb_snap_find_key(a->snap, &k);
	} else {
		svc = xlb_snap_find(a->snap, old->orig.proto, old->orig.daddr,
				    old->orig.dport);
	}
	if (!svc) {
		a->no_service++;
		return -ENOENT;
	}
	idx = xlb_conn_key_is6(&old->orig) ?
	      xlb_snap_find_dest_af(svc, AF_INET6, &old->reply.saddr6, old->reply.sport) :
	      xlb_snap_find_dest(svc, old->reply.saddr, old->reply.sport);
	if (idx < 0) {
		a->no_server++;
		return -ENOENT;
	}
	if (svc->dests[idx].cfg.fwd != old->fwd) {
		a->method_changed++;
		return -ESTALE;
	}
	/* A template only while its service is still persistent. */
	if (old->tmpl && !(svc->cfg.flags & XLB_SVC_F_PERSISTENT)) {
		a->no_service++;
		return -ENOENT;
	}
	/* The method and the server only: the next hop is read per packet,
	 * so an entry adopted while its neighbour is still pending is kept. */
	xlb_dp_bind(&svc->dests[idx], t);
	return 0;
}

static void adopt_conns(struct xlb_dp *dp)
{
	struct adopt_ctx a = { .dp = dp, .snap = xlb_tables_current(dp->tables) };
	uint32_t n = xlb_conn_adoptable(dp->conns);
	int kept;

	if (xlb_conn_file_version(dp->conns))
		pr_warn("datapath: state file %s has format version %u, this xlbd "
			"writes %u (IPv6 connection keys): its connections are not "
			"adopted, the table starts empty", dp->state_path,
			xlb_conn_file_version(dp->conns), XLB_CONN_FILE_VERSION);
	if (xlb_conn_file_upgraded(dp->conns))
		pr_info("datapath: state file %s upgraded from format version %u "
			"(before IPv6) to %u in place: its %u IPv4 entries are kept",
			dp->state_path, xlb_conn_file_upgraded(dp->conns),
			XLB_CONN_FILE_VERSION, n);
	if (!n) {
		pr_info("datapath: no connections to adopt from %s", dp->state_path);
		return;
	}
	kept = xlb_conn_adopt(dp->conns, now_ms(), dp_rebind, &a);
	if (kept < 0) {
		pr_warn("datapath: adopting connections from %s: %s",
			dp->state_path, strerror(-kept));
		return;
	}
	pr_info("datapath: adopted %d of %u connections from %s (dropped: "
		"%u service gone, %u server gone, %u method changed; the rest "
		"expired or invalid)", kept, n,
		dp->state_path, a.no_service, a.no_server, a.method_changed);
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
		xlb_tables_set_prepare_cb(dp->tables, NULL, NULL);
		xlb_tables_set_provider(dp->tables, NULL);
	}
	/* The program stays attached (see xdp.h): once the sockets close,
	 * it drops what it steers and the clients retransmit until the next
	 * xlbd replaces it. A failed start undoes only its fresh attaches. */
	if (dp->failed)
		xlb_xdp_detach_fresh(dp->xdp);
	xlb_xsk_free(dp->xsk);
	xlb_fp_free(dp->fp);
	dp->fp = NULL;
	xlb_xdp_close(dp->xdp);
	if (dp->conns && dp->state_path)
		release_entry_refs(dp);
	else if (dp->conns)
		xlb_conn_flush_dest(dp->conns, NULL);
	for (size_t i = 0; i < dp->n_dests; i++)
		xlb_cnt_put(dp->dests[i]);
	xlb_dp_commit_stop(dp);
	xlb_conn_free(dp->conns);
	xlb_nh_cache_free(dp->nh);
	free(dp->local6);
	xlb_local_addrs_free(dp->local);
	free(dp->workers);
	free(dp->wanted);
	free(dp->wanted6);
	free(dp->dests);
	free(dp);
}

int xlb_dp_workers_needed(const struct xlb_dp_params *p, char *err, size_t errlen)
{
	int most = 0;

	if (p->n_ifaces < 1 || p->n_ifaces > XLB_XSK_MAX_IFACES) {
		snprintf(err, errlen, "between 1 and %d interfaces", XLB_XSK_MAX_IFACES);
		return -EINVAL;
	}
	for (int i = 0; i < p->n_ifaces; i++) {
		int n = xlb_xsk_queue_count(p->ifnames[i]);

		if (n < 0) {
			snprintf(err, errlen, "interface %s: %s", p->ifnames[i], strerror(-n));
			return n;
		}
		/* A queue without a socket drops its VIP packets: refuse
		 * rather than serve part of an interface. */
		if (p->n_queues > 0 && n > p->n_queues) {
			char q[32];

			snprintf(err, errlen,
				 "--queues %d: %s has %d RX queues, and VIP packets on "
				 "%s would be dropped; leave --queues out to serve them "
				 "all, or first lower the interface's queue count "
				 "(ethtool -L %s ...)", p->n_queues, p->ifnames[i], n,
				 dp_queues_str(p->n_queues, n - 1, q, sizeof(q)), p->ifnames[i]);
			return -EINVAL;
		}
		if (n > XLB_XSK_QUEUES_MAX) {
			snprintf(err, errlen, "%s has %d RX queues; xlbd serves at most %d "
				 "per interface (lower it with ethtool -L %s ...)",
				 p->ifnames[i], n, XLB_XSK_QUEUES_MAX, p->ifnames[i]);
			return -E2BIG;
		}
		if (n > most)
			most = n;
	}
	return most;
}

/* Worker i on the i-th CPU (round robin) of those the process may use:
 * the affinity it was started with (taskset, systemd's CPUAffinity=, a
 * cpuset), or xlbd's --cpus, never a CPU outside it. */
static int dp_start_workers(struct xlb_dp *dp, char *err, size_t errlen)
{
	char list[256];
	cpu_set_t allowed;
	int rc;

	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		rc = -errno;
		snprintf(err, errlen, "reading the CPU affinity: %s", strerror(errno));
		return rc;
	}
	for (int i = 0; i < dp->n_workers; i++) {
		struct dp_worker *w = &dp->workers[i];
		int cpu = xlb_cpus_nth(&allowed, i);
		pthread_attr_t attr;
		cpu_set_t one;
		char name[16];

		w->reader = xlb_tables_reader_register(dp->tables);
		if (w->reader < 0) {
			snprintf(err, errlen, "too many datapath workers");
			return -ENOSPC;
		}
		rc = -pthread_attr_init(&attr);
		if (rc == 0 && cpu >= 0) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			rc = -pthread_attr_setaffinity_np(&attr, sizeof(one), &one);
		}
		if (rc == 0)
			rc = -pthread_create(&w->thread, &attr, xlb_dp_worker_main, w);
		pthread_attr_destroy(&attr);
		if (rc < 0) {
			snprintf(err, errlen, "starting worker %d on CPU %d: %s", i, cpu,
				 strerror(-rc));
			return rc;
		}
		w->started = true;
		snprintf(name, sizeof(name), "xlb-w%d", i & 0xffff);
		pthread_setname_np(w->thread, name);
	}
	pr_info("datapath: %d worker(s) round robin over CPU(s) %s", dp->n_workers,
		xlb_cpus_format(&allowed, list, sizeof(list)));
	return 0;
}

int xlb_dp_start(struct xlb_dp **out, const struct xlb_dp_params *p,
		 char *err, size_t errlen)
{
	struct xlb_nh_cache_params nhp;
	struct xlb_conn_params cp;
	struct xlb_xsk_params xp;
	struct xlb_tables_provider prov;
	struct xlb_xdp_fp_opts fpo;
	struct xlb_fp_params fpp;
	char pin_dir[256];
	struct xlb_dp *dp;
	int rc, i;

	*out = NULL;
	rc = xlb_dp_workers_needed(p, err, errlen);
	if (rc < 0)
		return rc;
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->tables = p->tables;
	dp->n_ports = p->n_ifaces;

	xlb_xdp_set_lib_log(xdp_lib_log);
	fpo = (struct xlb_xdp_fp_opts){
		.enabled = p->fast_path,
		.entries = p->fast_path_entries,
		.pin_dir = dp_fp_pin_dir(p->state_path, pin_dir, sizeof(pin_dir)),
	};
	rc = xlb_xdp_open_fp(&dp->xdp, p->xdp_mode, &fpo);
	if (rc < 0) {
		snprintf(err, errlen, "loading the XDP program: %s", xlb_xdp_errmsg());
		goto fail;
	}

	/* The connection table first: its state file says at once whether
	 * another xlbd is running. */
	xlb_conn_params_default(&cp);
	cp.max_conns = p->max_conns;
	cp.timeouts = xlb_tables_current(p->tables)->timeouts;
	cp.on_count = xlb_dp_on_count;
	cp.on_persist = xlb_dp_on_persist;
	cp.dest_alive = xlb_dp_dest_alive;
	cp.dest_down = xlb_dp_dest_down;
	cp.on_release = xlb_dp_on_release;
	cp.cb_arg = dp;
	cp.state_path = p->state_path;
	rc = xlb_conn_init(&dp->conns, &cp);
	if (rc == -EBUSY) {
		snprintf(err, errlen, "state file %s is held by another process "
			 "(is another xlbd running? each needs its own --state-file)",
			 p->state_path);
		goto fail;
	}
	if (rc < 0 && p->state_path) {
		snprintf(err, errlen, "connection table of %u entries in %s: %s",
			 p->max_conns, p->state_path, strerror(-rc));
		goto fail;
	}
	if (rc < 0) {
		snprintf(err, errlen, "connection table of %u entries: %s",
			 p->max_conns, strerror(-rc));
		goto fail;
	}
	dp->state_path = p->state_path;

	/* The sockets first: they are in the new program's XSKMAP before it
	 * is attached. */
	xlb_xsk_params_default(&xp);
	xp.ifnames = p->ifnames;
	xp.n_ifaces = p->n_ifaces;
	xp.n_queues = 0;	/* every RX queue (checked above) */
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
	}

	rc = xlb_local_addrs_init(&dp->local, local_addr_changed, dp);
	if (rc < 0) {
		snprintf(err, errlen, "reading the director's addresses (rtnetlink): %s",
			 strerror(-rc));
		goto fail;
	}

	/* Sweep the whole table in about 1.6 s at 10 ticks per second. */
	dp->expire_budget = xlb_conn_tab_size(dp->conns) / 16 + 1;

	xlb_nh_cache_params_default(&nhp);
	nhp.log = nh_log;
	nhp.on_change = dp_nh_changed;
	nhp.on_change6 = dp_nh_changed6;
	nhp.arg = dp;
	rc = xlb_nh_cache_init(&dp->nh, &nhp);
	if (rc < 0) {
		snprintf(err, errlen, "next-hop cache (rtnetlink): %s", strerror(-rc));
		goto fail;
	}

	dp->n_workers = xlb_xsk_n_workers(dp->xsk);
	for (i = 0; i < p->n_ifaces; i++)
		dp->seen_queues[i] = xlb_xsk_n_queues(dp->xsk, i);
	dp->queues_checked_ms = now_ms();
	/* One counter slot per worker: the caller sized them with
	 * xlb_dp_workers_needed() before adding services; if the queue
	 * count grew since, more slots are only possible while none exist. */
	if (xlb_tables_workers(p->tables) < (unsigned int)dp->n_workers &&
	    xlb_tables_set_workers(p->tables, (unsigned int)dp->n_workers) < 0) {
		snprintf(err, errlen, "%d workers (RX queues) but counters for %u: "
			 "the queue count changed during start; start again",
			 dp->n_workers, xlb_tables_workers(p->tables));
		rc = -EAGAIN;
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
		.copy_conns = dp_copy_conns,
		.conn_tab_size = dp_conn_tab_size,
		.dump_counters = dp_dump_counters,
		.check_dest = xlb_dp_check_dest,
		.arg = dp,
		.sync_counters = dp_sync_counters,
	};
	/* The tables as they are (e.g. from --rules) go into the XDP maps
	 * now; from here on every change does before it is published. */
	rc = xlb_dp_prepare(xlb_tables_current(p->tables), dp, err, errlen);
	if (rc < 0)
		goto fail;
	xlb_tables_set_provider(p->tables, &prov);
	xlb_tables_set_prepare_cb(p->tables, xlb_dp_prepare, dp);
	xlb_tables_set_commit_cb(p->tables, xlb_dp_commit, dp);
	/* Every map of the new program is filled before it is attached. */
	xlb_dp_commit(xlb_tables_current(p->tables), dp);
	/* The previous xlbd's connections, rebound to this configuration,
	 * before the first packet can reach a worker. */
	if (dp->state_path)
		adopt_conns(dp);

	/* The fast path, before the first packet: the previous xlbd's
	 * entries (pinned) are checked against the connections just
	 * adopted; the rest are removed. Its counters need a slot of their
	 * own after the workers'. */
	fpp = (struct xlb_fp_params){
		.enabled = p->fast_path,
		.flows_fd = xlb_xdp_fp_flows_fd(dp->xdp),
		.flows6_fd = xlb_xdp_fp_flows6_fd(dp->xdp),
		.devs_fd = xlb_xdp_fp_devs_fd(dp->xdp),
		.ifindex = dp->ifindex,
		.n_ifindex = dp->n_ports,
		.n_workers = dp->n_workers,
	};
	if (fpp.enabled && xlb_tables_workers(p->tables) <= (unsigned int)dp->n_workers) {
		pr_warn("datapath: no counter slot left for the fast path (%d workers): "
			"it is off", dp->n_workers);
		fpp.enabled = false;
	}
	dp->fp_slot = (unsigned int)dp->n_workers;
	rc = xlb_fp_init(&dp->fp, &fpp, err, errlen);
	if (rc < 0)
		goto fail;
	dp->fp_on = fpp.enabled;
	if (fpp.enabled) {
		dp->fp_grace_until = now_ms() + DP_FP_GRACE_MS;
		xlb_dp_fp_sync(dp, now_ms());
		struct xlb_fp_stats fs;

		xlb_fp_get_stats(dp->fp, &fs);
		if (xlb_xdp_fp_reused(dp->xdp))
			pr_info("datapath: fast path on; %llu entries kept in it from %s",
				(unsigned long long)fs.entries, pin_dir);
		else
			pr_info("datapath: fast path on");
	}

	/* Attach last: an earlier run's xlb_steer is swapped for ours in
	 * one step, and ours already steers every service to its sockets. */
	for (i = 0; i < p->n_ifaces; i++) {
		rc = xlb_xdp_attach(dp->xdp, dp->ifindex[i]);
		if (rc < 0) {
			snprintf(err, errlen, "%s", xlb_xdp_errmsg());
			goto fail;
		}
	}
	warn_stale_elsewhere(dp);

	rc = dp_start_workers(dp, err, errlen);
	if (rc < 0)
		goto fail;
	pr_info("datapath: %d interface(s), %d worker(s), %s mode, %s XDP, max %u connections",
		dp->n_ports, dp->n_workers,
		xlb_xsk_zerocopy(dp->xsk) ? "zero-copy" : "copy",
		xlb_xdp_mode_name(p->xdp_mode), p->max_conns);
	*out = dp;
	return 0;
fail:
	dp->failed = true;
	xlb_dp_stop(dp);
	return rc < 0 ? rc : -EINVAL;
}

