// SPDX-License-Identifier: GPL-2.0
/*
 * The datapath's commit side, on the control thread. Before a change of
 * the tables is published, the XDP maps take it as one transaction, or
 * refuse it whole (xlb_dp_prepare). After it is published, the wanted
 * next hops, the timeouts and, once no worker can still schedule onto
 * them, the connections of deleted real servers follow (xlb_dp_commit).
 */
#include <errno.h>
#include <arpa/inet.h>
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

/* ---- control thread ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;

	return x < y ? -1 : x > y;
}

/* n == 0 comes with v == NULL (no destinations yet): bsearch must not see it. */
static bool has_u32(const uint32_t *v, size_t n, uint32_t x)
{
	return n && bsearch(&x, v, n, sizeof(*v), cmp_u32) != NULL;
}

static int cmp_in6(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct in6_addr));
}

static bool has_in6(const struct in6_addr *v, size_t n, const struct in6_addr *x)
{
	return n && bsearch(x, v, n, sizeof(*v), cmp_in6) != NULL;
}

static bool has_ptr(struct xlb_cnt *const *v, size_t n, struct xlb_cnt *x)
{
	return n && bsearch(&x, v, n, sizeof(*v), cmp_ptr) != NULL;
}

/* ---- before publication: the XDP maps ---- */

int xlb_dp_prepare_xdp(struct xlb_xdp *x, const struct xlb_snap *cand, char *err,
		       size_t errlen)
{
	struct xlb_bpf_svc_key *svcs;
	struct xlb_rs_key *rs;
	struct xlb_svc6_key *svcs6;
	struct xlb_rs6_key *rs6;
	size_t ndests = 0, nsvcs = 0, nrs = 0, nsvcs6 = 0, nrs6 = 0, i, j;
	int rc;

	for (i = 0; i < cand->nsvcs; i++)
		ndests += cand->svcs[i].ndests;
	svcs = calloc(cand->nsvcs + 1, sizeof(*svcs));
	rs = calloc(ndests + 1, sizeof(*rs));
	svcs6 = calloc(cand->nsvcs + 1, sizeof(*svcs6));
	rs6 = calloc(ndests + 1, sizeof(*rs6));
	if (!svcs || !rs || !svcs6 || !rs6) {
		free(svcs);
		free(rs);
		free(svcs6);
		free(rs6);
		xlb_seterr(err, errlen, "out of memory applying the configuration to the XDP maps");
		return -ENOMEM;
	}
	/* Each family into its own maps: an IPv4 VIP never goes into
	 * services6 (the tables keep real servers in their service's
	 * family). */
	for (i = 0; i < cand->nsvcs; i++) {
		const struct xlb_snap_svc *s = &cand->svcs[i];

		if (xlb_af(s->cfg.key.af) == AF_INET6) {
			struct xlb_svc6_key *k6 = &svcs6[nsvcs6++];

			memcpy(k6->addr, &s->cfg.key.addr, 16);
			k6->port = s->cfg.key.port;
			k6->proto = s->cfg.key.proto;
			for (j = 0; j < s->ndests; j++) {
				struct xlb_rs6_key *r6;

				if (s->dests[j].cfg.fwd != XLB_FWD_NAT)
					continue;
				r6 = &rs6[nrs6++];
				memcpy(r6->addr, &s->dests[j].cfg.addr, 16);
				r6->port = s->dests[j].cfg.port;
				r6->proto = s->cfg.key.proto;
			}
			continue;
		}
		svcs[nsvcs++] = (struct xlb_bpf_svc_key){ .addr = s->cfg.key.addr.ip,
							  .port = s->cfg.key.port,
							  .proto = s->cfg.key.proto };
		for (j = 0; j < s->ndests; j++)
			if (s->dests[j].cfg.fwd == XLB_FWD_NAT)
				rs[nrs++] = (struct xlb_rs_key){
					.addr = s->dests[j].cfg.addr.ip, .port = s->dests[j].cfg.port,
					.proto = s->cfg.key.proto };
	}
	rc = xlb_xdp_sync_all(x, svcs, nsvcs, rs, nrs, svcs6, nsvcs6, rs6, nrs6);
	if (rc < 0)
		xlb_seterr(err, errlen, "%s", xlb_xdp_errmsg());
	free(svcs);
	free(rs);
	free(svcs6);
	free(rs6);
	return rc;
}

/* The distinct real-server addresses of a snapshot, sorted, in *out (NULL
 * when there are none): each needs a next-hop cache entry. 0 or -ENOMEM. */
static int snap_rips(const struct xlb_snap *s, uint32_t **out, size_t *n)
{
	size_t total = 0, i, j, u = 0;
	uint32_t *a;

	*out = NULL;
	*n = 0;
	for (i = 0; i < s->nsvcs; i++)
		total += s->svcs[i].ndests;
	if (!total)
		return 0;
	a = malloc(total * sizeof(*a));
	if (!a)
		return -ENOMEM;
	/* IPv6 servers are snap_rips6's. */
	for (i = total = 0; i < s->nsvcs; i++)
		for (j = 0; j < s->svcs[i].ndests; j++)
			if (xlb_af(s->svcs[i].dests[j].cfg.af) != AF_INET6)
				a[total++] = s->svcs[i].dests[j].cfg.addr.ip;
	qsort(a, total, sizeof(*a), cmp_u32);
	for (i = 0; i < total; i++)
		if (u == 0 || a[u - 1] != a[i])
			a[u++] = a[i];
	*out = a;
	*n = u;
	return 0;
}

/* The same for the IPv6 real servers (the cache's IPv6 table). */
static int snap_rips6(const struct xlb_snap *s, struct in6_addr **out, size_t *n)
{
	size_t total = 0, i, j, u = 0;
	struct in6_addr *a;

	*out = NULL;
	*n = 0;
	for (i = 0; i < s->nsvcs; i++)
		for (j = 0; j < s->svcs[i].ndests; j++)
			total += xlb_af(s->svcs[i].dests[j].cfg.af) == AF_INET6;
	if (!total)
		return 0;
	a = malloc(total * sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (i = total = 0; i < s->nsvcs; i++)
		for (j = 0; j < s->svcs[i].ndests; j++)
			if (xlb_af(s->svcs[i].dests[j].cfg.af) == AF_INET6)
				a[total++] = s->svcs[i].dests[j].cfg.addr.in6;
	qsort(a, total, sizeof(*a), cmp_in6);
	for (i = 0; i < total; i++)
		if (u == 0 || memcmp(&a[u - 1], &a[i], sizeof(*a)))
			a[u++] = a[i];
	*out = a;
	*n = u;
	return 0;
}

/* A change needing n real-server entries where the cache holds cap, of
 * which hosts for clients: refused, naming the limit. */
static int nh_cap_refuse(char *err, size_t errlen, const char *fam, const char *clients,
			 size_t n, uint64_t cap, uint64_t hosts)
{
	xlb_seterr(err, errlen, "the next-hop cache holds at most %llu %sreal-server "
		   "addresses (capacity %llu, of which %llu for %s clients); this "
		   "change needs %zu", (unsigned long long)(cap - hosts), fam,
		   (unsigned long long)cap, (unsigned long long)hosts, clients, n);
	return -ENOSPC;
}

int xlb_dp_prepare(const struct xlb_snap *cand, void *arg, char *err, size_t errlen)
{
	struct xlb_dp *dp = arg;
	struct xlb_nh_stats st;
	struct in6_addr *rips6;
	uint32_t *rips;
	size_t n, n6;

	/* Every real server needs a next-hop cache entry, beside the on-link
	 * NAT clients' share of it: a server that gets none would never be
	 * reached, so such a change is refused, naming the limit. */
	xlb_nh_cache_stats(dp->nh, &st);
	if (snap_rips(cand, &rips, &n) < 0) {
		xlb_seterr(err, errlen, "out of memory checking the next-hop cache");
		return -ENOMEM;
	}
	free(rips);
	if (snap_rips6(cand, &rips6, &n6) < 0) {
		xlb_seterr(err, errlen, "out of memory checking the next-hop cache");
		return -ENOMEM;
	}
	free(rips6);
	if (n > st.capacity - st.hosts_max)
		return nh_cap_refuse(err, errlen, "", "on-link NAT", n, st.capacity,
				     st.hosts_max);
	if (n6 > st.capacity6 - st.hosts6_max)
		return nh_cap_refuse(err, errlen, "IPv6 ", "NAT66", n6, st.capacity6,
				     st.hosts6_max);
	return xlb_dp_prepare_xdp(dp->xdp, cand, err, errlen);
}

/* ---- after publication ---- */

/*
 * Deleted real servers: their connections are flushed once every worker
 * has passed a quiescent point after the publication, so that no worker
 * still on the older snapshot can bind a new entry to a server after its
 * flush. The commit waits this long for that (workers pass one per batch,
 * or are offline in poll), else the tick does it.
 */
#define DP_GONE_WAIT_US	5000

static int dp_gone_add(struct xlb_dp *dp, struct xlb_cnt *c, uint64_t gp)
{
	if (dp->n_gone == dp->cap_gone) {
		size_t cap = dp->cap_gone ? 2 * dp->cap_gone : 16;
		struct dp_gone *g = realloc(dp->gone, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		dp->gone = g;
		dp->cap_gone = cap;
	}
	dp->gone[dp->n_gone++] = (struct dp_gone){ .cnt = c, .gp = gp };
	return 0;
}

/* Flushes the connections of the gone servers whose grace period has
 * passed, and drops the datapath's reference on each. */
static void dp_gone_flush(struct xlb_dp *dp)
{
	size_t i, j, ready = 0;

	for (i = 0; i < dp->n_gone; i++) {
		dp->gone[i].ready = xlb_tables_grace_passed(dp->tables, dp->gone[i].gp);
		ready += dp->gone[i].ready;
	}
	if (!ready)
		return;
	/* Gone servers are marked deleted: one sweep for all of them (it
	 * also takes those still waiting; the sweep after their grace period
	 * takes any entry bound to them meanwhile). */
	xlb_conn_flush_dead(dp->conns);
	for (i = j = 0; i < dp->n_gone; i++) {
		if (dp->gone[i].ready)
			xlb_cnt_put(dp->gone[i].cnt);
		else
			dp->gone[j++] = dp->gone[i];
	}
	dp->n_gone = j;
}

void xlb_dp_commit_tick(struct xlb_dp *dp)
{
	if (dp->n_gone)
		dp_gone_flush(dp);
}

void xlb_dp_commit_stop(struct xlb_dp *dp)
{
	/* The workers are stopped: no grace period to wait for. */
	for (size_t i = 0; i < dp->n_gone; i++)
		xlb_cnt_put(dp->gone[i].cnt);
	free(dp->gone);
	dp->gone = NULL;
	dp->n_gone = dp->cap_gone = 0;
}

static const char *ip_str(uint32_t addr, char *buf, size_t len)
{
	struct in_addr a = { .s_addr = addr };

	return inet_ntop(AF_INET, &a, buf, (socklen_t)len) ? buf : "?";
}

static const char *ip6_str(const struct in6_addr *addr, char *buf, size_t len)
{
	return inet_ntop(AF_INET6, addr, buf, (socklen_t)len) ? buf : "?";
}

/*
 * DR rewrites only the MACs: the frame still carries the VIP, so a gateway
 * would route it back here (or drop it). Refused when the kernel's route to
 * the real server has a gateway; a real server whose route the kernel does
 * not know yet is accepted (the datapath counts drop_dr_via_gateway if its
 * route later turns out to need one). TUN and NAT through gateways are fine.
 */
int xlb_dp_check_dest(const struct xlb_dest_cfg *d, char *err, size_t errlen,
		      void *arg)
{
	char rs[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
	struct xlb_nh nh;
	int rc;

	(void)arg;
	if (d->fwd != XLB_FWD_DR)
		return 0;
	if (xlb_af(d->af) == AF_INET6) {
		char rs6[INET6_ADDRSTRLEN], gw6[INET6_ADDRSTRLEN];
		struct xlb_nh6 nh6;

		rc = xlb_nh_route6(&d->addr.in6, &nh6);
		if ((rc != 0 && rc != -EAGAIN) || IN6_IS_ADDR_UNSPECIFIED(&nh6.gw))
			return 0;
		xlb_seterr(err, errlen, "real server %s: direct routing (-g) needs it on a "
			   "directly connected network, but the director reaches it through "
			   "gateway %s (frames for the VIP would loop); use -m (NAT) or -i (TUN)",
			   ip6_str(&d->addr.in6, rs6, sizeof(rs6)),
			   ip6_str(&nh6.gw, gw6, sizeof(gw6)));
		return -EHOSTUNREACH;
	}
	rc = xlb_nh_route(d->addr.ip, &nh);
	if ((rc != 0 && rc != -EAGAIN) || !nh.gw)
		return 0;
	xlb_seterr(err, errlen, "real server %s: direct routing (-g) needs it on a "
		   "directly connected network, but the director reaches it through "
		   "gateway %s (frames for the VIP would loop); use -m (NAT) or -i (TUN)",
		   ip_str(d->addr.ip, rs, sizeof(rs)), ip_str(nh.gw, gw, sizeof(gw)));
	return -EHOSTUNREACH;
}

void xlb_dp_commit(const struct xlb_snap *snap, void *arg)
{
	struct xlb_dp *dp = arg;
	struct xlb_cnt **dests;
	struct in6_addr *wanted6 = NULL;
	uint32_t *wanted = NULL;
	size_t ndests = 0, nw = 0, nw6 = 0, i, j;
	int rc;

	/* A server deleted, a service gone or edited: the fast path's
	 * entries are checked against it at the next tick. */
	dp->fp_due = true;

	/* The XDP maps took this snapshot already (xlb_dp_prepare). */
	for (i = 0; i < snap->nsvcs; i++)
		ndests += snap->svcs[i].ndests;
	dests = calloc(ndests + 1, sizeof(*dests));
	if (!dests || snap_rips(snap, &wanted, &nw) < 0 ||
	    snap_rips6(snap, &wanted6, &nw6) < 0) {
		pr_warn("datapath: out of memory applying the configuration");
		goto out;
	}
	for (i = ndests = 0; i < snap->nsvcs; i++)
		for (j = 0; j < snap->svcs[i].ndests; j++)
			dests[ndests++] = snap->svcs[i].dests[j].cnt;

	/* Next hops: want the new real servers, drop the gone ones. */
	for (i = 0; i < nw; i++) {
		char rs[INET_ADDRSTRLEN];

		if (!has_u32(dp->wanted, dp->n_wanted, wanted[i]) &&
		    (rc = xlb_nh_want(dp->nh, wanted[i])) < 0)
			pr_warn("datapath: cannot resolve real server %s: %s%s",
				ip_str(wanted[i], rs, sizeof(rs)), strerror(-rc),
				rc == -ENOSPC ? " (next-hop cache capacity reached)" : "");
	}
	/* Rules loaded before the datapath started were not checked by
	 * xlb_dp_check_dest(): say so once for a new DR server behind a
	 * gateway (its packets are counted as drop_dr_via_gateway). */
	for (i = 0; i < snap->nsvcs; i++)
		for (j = 0; j < snap->svcs[i].ndests; j++) {
			const struct xlb_dest_cfg *d = &snap->svcs[i].dests[j].cfg;
			char rs[INET_ADDRSTRLEN], gw[INET_ADDRSTRLEN];
			struct xlb_nh nh;

			if (d->fwd != XLB_FWD_DR ||
			    has_u32(dp->wanted, dp->n_wanted, d->addr.ip))
				continue;
			rc = xlb_nh_lookup(dp->nh, d->addr.ip, &nh);
			if ((rc == 0 || rc == -EAGAIN) && nh.gw)
				pr_warn("datapath: DR real server %s is reached through "
					"gateway %s: DR needs it on-link, its packets are "
					"dropped (drop_dr_via_gateway)",
					ip_str(d->addr.ip, rs, sizeof(rs)),
					ip_str(nh.gw, gw, sizeof(gw)));
		}
	for (i = 0; i < dp->n_wanted; i++)
		if (!has_u32(wanted, nw, dp->wanted[i]))
			xlb_nh_unwant(dp->nh, dp->wanted[i]);
	free(dp->wanted);
	dp->wanted = wanted;
	dp->n_wanted = nw;
	wanted = NULL;

	/* The same for the IPv6 real servers: want the new set first (a
	 * server in both sets keeps its entry), then drop the old. */
	for (i = 0; i < nw6; i++) {
		char rs[INET6_ADDRSTRLEN];

		if (!has_in6(dp->wanted6, dp->n_wanted6, &wanted6[i]) &&
		    (rc = xlb_nh_want6(dp->nh, &wanted6[i])) < 0)
			pr_warn("datapath: cannot resolve real server %s: %s%s",
				ip6_str(&wanted6[i], rs, sizeof(rs)), strerror(-rc),
				rc == -ENOSPC ? " (next-hop cache capacity reached)" : "");
	}
	for (i = 0; i < snap->nsvcs; i++)
		for (j = 0; j < snap->svcs[i].ndests; j++) {
			const struct xlb_dest_cfg *d = &snap->svcs[i].dests[j].cfg;
			char rs[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];
			struct xlb_nh6 nh6;

			if (d->fwd != XLB_FWD_DR || xlb_af(d->af) != AF_INET6 ||
			    has_in6(dp->wanted6, dp->n_wanted6, &d->addr.in6))
				continue;
			rc = xlb_nh_lookup6(dp->nh, &d->addr.in6, &nh6);
			if ((rc == 0 || rc == -EAGAIN) && !IN6_IS_ADDR_UNSPECIFIED(&nh6.gw))
				pr_warn("datapath: DR real server %s is reached through "
					"gateway %s: DR needs it on-link, its packets are "
					"dropped (drop_dr_via_gateway)",
					ip6_str(&d->addr.in6, rs, sizeof(rs)),
					ip6_str(&nh6.gw, gw, sizeof(gw)));
		}
	for (i = 0; i < dp->n_wanted6; i++)
		if (!has_in6(wanted6, nw6, &dp->wanted6[i]))
			xlb_nh_unwant6(dp->nh, &dp->wanted6[i]);
	free(dp->wanted6);
	dp->wanted6 = wanted6;
	dp->n_wanted6 = nw6;
	wanted6 = NULL;

	/* Real servers that are gone: their connections go after a grace
	 * period (the datapath keeps its reference on each until then). */
	qsort(dests, ndests, sizeof(*dests), cmp_ptr);
	for (i = 0; i < ndests; i++)
		if (!has_ptr(dp->dests, dp->n_dests, dests[i]))
			xlb_cnt_get(dests[i]);
	for (i = j = 0; i < dp->n_dests; i++)
		if (!has_ptr(dests, ndests, dp->dests[i]))
			dp->dests[j++] = dp->dests[i];
	if (j) {
		uint64_t gp = xlb_tables_grace_begin(dp->tables);

		for (i = 0; i < j; i++) {
			if (dp_gone_add(dp, dp->dests[i], gp) < 0) {
				/* No memory to wait: flush now, as before. */
				xlb_conn_flush_dead(dp->conns);
				xlb_cnt_put(dp->dests[i]);
			}
		}
		if (xlb_tables_grace_wait(dp->tables, gp, DP_GONE_WAIT_US))
			dp_gone_flush(dp);
	}
	free(dp->dests);
	dp->dests = dests;
	dp->n_dests = ndests;
	dests = NULL;
	/* A server (or a service) deleted: its flows leave the fast path
	 * before the change is acknowledged, so no packet reaches it after
	 * the operator was told it is gone. */
	if (j)
		xlb_dp_fp_sync(dp, now_ms());

	{
		struct xlb_timeouts cur;

		/* Packets XDP forwarded before a timeout change count under
		 * the timeout of their time, as userspace's did. */
		xlb_conn_get_timeouts(dp->conns, &cur);
		if (memcmp(&cur, &snap->timeouts, sizeof(cur)))
			xlb_dp_fp_sync(dp, now_ms());
	}
	xlb_conn_set_timeouts(dp->conns, &snap->timeouts);
out:
	free(dests);
	free(wanted);
	free(wanted6);
}
