// SPDX-License-Identifier: GPL-2.0
/*
 * xlbctl -L / -S: ipvsadm's layouts, character for character (the format
 * strings of ipvsadm.c), so that scripts that parse "ipvsadm -Ln" and
 * "ipvsadm -Sn" work unchanged on xlbctl's output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include "check.h"
#include "ctl.h"
#include "ipvsadm.h"
#include "sched.h"
#include "xlbctl.h"

#define FMT_NUMERIC	XLB_LIST_NUMERIC
#define FMT_STATS	XLB_LIST_STATS
#define FMT_RATE	XLB_LIST_RATE
#define FMT_EXACT	XLB_LIST_EXACT
#define FMT_THRESHOLDS	XLB_LIST_THRESHOLDS
#define FMT_PERSISTENTCONN XLB_LIST_PERSISTCONN
#define FMT_TUN_INFO	XLB_LIST_TUNINFO

/* ipvsadm's print_largenum: 9 columns, K/M/G/T above 8 digits. */
static void print_largenum(unsigned long long i, unsigned int format)
{
	char tmp[32];
	int len;

	if (format & FMT_EXACT) {
		len = snprintf(tmp, sizeof(tmp), "%llu", i);
		printf("%*llu", len <= 8 ? 9 : len + 1, i);
		return;
	}
	if (i < 100000000ULL)
		printf("%9llu", i);
	else if (i < 1000000000ULL)
		printf("%8lluK", i / 1000);
	else if (i < 100000000000ULL)
		printf("%8lluM", i / 1000000);
	else if (i < 100000000000000ULL)
		printf("%8lluG", i / 1000000000ULL);
	else
		printf("%8lluT", i / 1000000000000ULL);
}

static void print_title(unsigned int format)
{
	if (format & XLB_LIST_HEALTH) {
		printf("Prot LocalAddress:Port Check\n"
		       "  -> RemoteAddress:Port           State Since                Checks Last   Error\n");
		return;
	}
	if (format & FMT_STATS)
		printf("%-33s %8s %8s %8s %8s %8s\n"
		       "  -> RemoteAddress:Port\n",
		       "Prot LocalAddress:Port",
		       "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes");
	else if (format & FMT_THRESHOLDS)
		printf("%-33s %-10s %-10s %-10s %-10s\n"
		       "  -> RemoteAddress:Port\n",
		       "Prot LocalAddress:Port",
		       "Uthreshold", "Lthreshold", "ActiveConn", "InActConn");
	else if (format & FMT_RATE)
		printf("%-33s %8s %8s %8s %8s %8s\n"
		       "  -> RemoteAddress:Port\n",
		       "Prot LocalAddress:Port",
		       "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS");
	else if (format & FMT_THRESHOLDS)
		printf("%-33s %-10s %-10s %-10s %-10s\n"
		       "  -> RemoteAddress:Port\n",
		       "Prot LocalAddress:Port",
		       "Uthreshold", "Lthreshold", "ActiveConn", "InActConn");
	else if (format & FMT_PERSISTENTCONN)
		printf("%-33s %-9s %-11s %-10s %-10s\n"
		       "  -> RemoteAddress:Port\n",
		       "Prot LocalAddress:Port",
		       "Weight", "PersistConn", "ActiveConn", "InActConn");
	else if (format & FMT_TUN_INFO)
		printf("Prot LocalAddress:Port Scheduler Flags\n"
		       "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n");
	else
		printf("Prot LocalAddress:Port Scheduler Flags\n"
		       "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
}

const char *xlbctl_proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "UDP" : proto == IPPROTO_TCP ? "TCP" : "???";
}

bool xlbctl_dest_checked(const struct xlb_svc_info *se, const struct xlb_dest_info *e,
			 struct xlb_check *eff)
{
	xlb_check_effective(eff, &se->check, &e->check);
	return eff->kind != XLB_CHECK_NONE && e->health.state != XLB_HEALTH_UNCHECKED;
}

char *xlbctl_fmt_since(char *buf, size_t len, uint64_t since)
{
	time_t t = (time_t)since;
	struct tm tm;

	snprintf(buf, len, "-");
	if (since && gmtime_r(&t, &tm))
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int xlbctl_get_svcs(int fd, const struct xlb_req *req, struct xlb_svc_info **svcs,
		    size_t *n, char *err, size_t errlen)
{
	int rc;

	if (!req->has_svc)
		return xlb_ctl_get_services(fd, svcs, n, err, errlen);
	*svcs = calloc(1, sizeof(**svcs));
	if (!*svcs)
		return -ENOMEM;
	rc = xlb_ctl_get_service(fd, &req->svc.key, *svcs, err, errlen);
	if (rc) {
		free(*svcs);
		*svcs = NULL;
		return rc;
	}
	*n = 1;
	return 0;
}

static void print_dest(const struct xlb_svc_cfg *svc,
		       const struct xlb_dest_info *e, unsigned int format)
{
	char dname[NI_MAXHOST + 40];

	xlb_ipvsadm_addrport(dname, sizeof(dname), e->cfg.af, &e->cfg.addr, e->cfg.port,
			     svc->key.proto, format & FMT_NUMERIC);
	/* ipvsadm cuts IPv4 names to the column, never IPv6 ones. */
	if (xlb_af(e->cfg.af) != AF_INET6)
		dname[28] = '\0';
	if (format & FMT_STATS) {
		printf("  -> %-28s", dname);
		print_largenum(e->stats.conns, format);
		print_largenum(e->stats.inpkts, format);
		print_largenum(e->stats.outpkts, format);
		print_largenum(e->stats.inbytes, format);
		print_largenum(e->stats.outbytes, format);
		printf("\n");
	} else if (format & FMT_RATE) {
		printf("  -> %-28s %8llu %8llu %8llu", dname,
		       (unsigned long long)e->rates.cps,
		       (unsigned long long)e->rates.inpps,
		       (unsigned long long)e->rates.outpps);
		print_largenum(e->rates.inbps, format);
		print_largenum(e->rates.outbps, format);
		printf("\n");
	} else if (format & FMT_THRESHOLDS) {
		printf("  -> %-28s %-10u %-10u %-10u %-10u\n", dname,
		       e->cfg.u_thresh, e->cfg.l_thresh,
		       e->activeconns, e->inactconns);
	} else if (format & FMT_PERSISTENTCONN) {
		printf("  -> %-28s %-9u %-11u %-10u %-10u\n", dname,
		       e->cfg.weight, e->persistconns,
		       e->activeconns, e->inactconns);
	} else if (format & FMT_TUN_INFO) {
		/* xlb's tunnel is IP-in-IP: "ipip" for -i, as ipvsadm. */
		printf("  -> %-28s %-7s %-13s %-6d %-10u %-10u\n", dname,
		       xlb_ipvsadm_fwd_name(e->cfg.fwd),
		       e->cfg.fwd == XLB_FWD_TUN ? "ipip" : "n/a",
		       (int)e->cfg.weight, e->activeconns, e->inactconns);
	} else {
		printf("  -> %-28s %-7s %-6d %-10u %-10u\n", dname,
		       xlb_ipvsadm_fwd_name(e->cfg.fwd), (int)e->cfg.weight,
		       e->activeconns, e->inactconns);
	}
}

/* -L --health: a server's state, since when (UTC), the probes run since
 * then, the last result and the last error. */
static void print_health(const struct xlb_svc_info *se, const struct xlb_dest_info *e,
			 unsigned int format)
{
	char dname[NI_MAXHOST + 40], since[32];
	const struct xlb_health_info *h = &e->health;
	struct xlb_check eff;

	xlb_ipvsadm_addrport(dname, sizeof(dname), e->cfg.af, &e->cfg.addr, e->cfg.port,
			     se->cfg.key.proto, format & FMT_NUMERIC);
	if (xlb_af(e->cfg.af) != AF_INET6)
		dname[28] = '\0';
	if (!xlbctl_dest_checked(se, e, &eff)) {
		printf("  -> %-28s %-5s %-20s %-6s %-6s %s\n", dname, "up", "-", "-", "-",
		       "(not checked)");
		return;
	}
	xlbctl_fmt_since(since, sizeof(since), h->since);
	printf("  -> %-28s %-5s %-20s %-6u %-6s %s\n", dname,
	       h->state == XLB_HEALTH_DOWN ? "down" : "up", since, h->checks,
	       !h->checks ? "-" : h->last_ok ? "ok" : "failed", h->error[0] ? h->error : "-");
}

static int print_service(int fd, const struct xlb_svc_info *se,
			 unsigned int format, char *err, size_t errlen)
{
	struct xlb_dest_info *d = NULL;
	char vname[NI_MAXHOST + 40], svc_name[NI_MAXHOST + 48];
	size_t i, n = 0;
	int rc;

	rc = xlb_ctl_get_dests(fd, &se->cfg.key, &d, &n, err, errlen);
	if (rc)
		return rc;
	xlb_ipvsadm_addrport(vname, sizeof(vname), se->cfg.key.af, &se->cfg.key.addr,
			     se->cfg.key.port, se->cfg.key.proto,
			     format & FMT_NUMERIC);
	snprintf(svc_name, sizeof(svc_name), "%s  %s",
		 xlbctl_proto_name(se->cfg.key.proto), vname);
	if (xlb_af(se->cfg.key.af) != AF_INET6)
		svc_name[33] = '\0';	/* as ipvsadm: IPv4 names only */

	if (format & XLB_LIST_HEALTH) {
		struct xlb_check eff;

		xlb_check_effective(&eff, &se->check, NULL);
		printf("%s %s", svc_name, xlb_check_kind_name(eff.kind));
		if (!xlb_inaddr_eq(&se->cfg.sorry_addr, &(union xlb_inaddr){ .ip6 = { 0 } })) {
			char a[INET6_ADDRSTRLEN];

			printf(" sorry %s", inet_ntop(xlb_af(se->cfg.key.af), &se->cfg.sorry_addr,
						      a, sizeof(a)));
		}
		if (se->cfg.quorum)
			printf(" quorum %u", se->cfg.quorum);
		printf("\n");
		for (i = 0; i < n; i++)
			print_health(se, &d[i], format);
		free(d);
		return 0;
	}
	if (format & FMT_STATS) {
		printf("%-33s", svc_name);
		print_largenum(se->stats.conns, format);
		print_largenum(se->stats.inpkts, format);
		print_largenum(se->stats.outpkts, format);
		print_largenum(se->stats.inbytes, format);
		print_largenum(se->stats.outbytes, format);
	} else if (format & FMT_RATE) {
		printf("%-33s", svc_name);
		print_largenum(se->rates.cps, format);
		print_largenum(se->rates.inpps, format);
		print_largenum(se->rates.outpps, format);
		print_largenum(se->rates.inbps, format);
		print_largenum(se->rates.outbps, format);
	} else {
		printf("%s %s", svc_name, se->cfg.sched);
		if (se->cfg.flags & XLB_SVC_F_SCHED_ALL) {
			char fl[64];

			/* As ipvsadm: " ()" when no bit has a name here. */
			printf(" (%s)", xlb_sched_flags_str(se->cfg.sched, se->cfg.flags,
							    fl, sizeof(fl)));
		}
		if (se->cfg.flags & XLB_SVC_F_PERSISTENT) {
			printf(" persistent %u", se->cfg.timeout);
			/* ipvsadm 1.31: an IPv6 mask is its prefix length. */
			if (xlb_af(se->cfg.key.af) == AF_INET6) {
				if (se->cfg.netmask != 128)
					printf(" mask %u", se->cfg.netmask);
			} else if (se->cfg.netmask != 0xffffffff) {
				struct in_addr m = { .s_addr = se->cfg.netmask };
				char ms[INET_ADDRSTRLEN];

				printf(" mask %s",
				       inet_ntop(AF_INET, &m, ms, sizeof(ms)));
			}
		}
		/* ipvsadm 1.31 prints ops after persistence, either way. */
		if (se->cfg.flags & XLB_SVC_F_ONEPACKET)
			printf(" ops");
	}
	printf("\n");
	for (i = 0; i < n; i++)
		print_dest(&se->cfg, &d[i], format);
	free(d);
	return 0;
}

static int list_conns(int fd, unsigned int format, char *err, size_t errlen)
{
	struct xlb_conn_info *c = NULL;
	size_t i, n = 0;
	int rc;

	rc = xlb_ctl_get_conns(fd, &c, &n, err, errlen);
	if (rc)
		return rc;
	printf("IPVS connection entries\n");
	/* No persistence engine, so no entry has the pe columns: ipvsadm
	 * then prints the rows as without --persistent-conn. */
	if (format & FMT_PERSISTENTCONN)
		printf("pro expire %-11s %-18s %-18s %-18s %-16s %s\n",
		       "state", "source", "virtual", "destination",
		       "pe name", "pe_data");
	else
		printf("pro expire %-11s %-18s %-18s %s\n",
		       "state", "source", "virtual", "destination");
	for (i = 0; i < n; i++) {
		char cname[NI_MAXHOST + 40], vname[NI_MAXHOST + 40];
		char dname[NI_MAXHOST + 40], expire[16];

		xlb_ipvsadm_addrport(cname, sizeof(cname), c[i].af, &c[i].caddr,
				     c[i].cport, c[i].proto, format & FMT_NUMERIC);
		xlb_ipvsadm_addrport(vname, sizeof(vname), c[i].af, &c[i].vaddr,
				     c[i].vport, c[i].proto, format & FMT_NUMERIC);
		xlb_ipvsadm_addrport(dname, sizeof(dname), c[i].af, &c[i].daddr,
				     c[i].dport, c[i].proto, format & FMT_NUMERIC);
		snprintf(expire, sizeof(expire), "%02u:%02u",
			 c[i].expires / 60, c[i].expires % 60);
		printf("%-3s %-6s %-11s %-18s %-18s %s\n",
		       xlbctl_proto_name(c[i].proto), expire, c[i].state,
		       cname, vname, dname);
	}
	free(c);
	return 0;
}

int xlbctl_list(int fd, const struct xlb_req *req, char *err, size_t errlen)
{
	unsigned int format = req->list_flags;
	struct xlb_svc_info *svcs = NULL;
	struct xlb_timeouts to;
	struct xlb_info info = { 0 };
	size_t i, n = 0;
	int rc;

	if (format & XLB_LIST_CONN)
		return list_conns(fd, format, err, errlen);
	/* No sync daemon ever runs: ipvsadm -L --daemon prints nothing then. */
	if (format & XLB_LIST_DAEMON)
		return 0;
	if (format & XLB_LIST_TIMEOUT) {
		rc = xlb_ctl_get_timeouts(fd, &to, err, errlen);
		if (rc)
			return rc;
		printf("Timeout (tcp tcpfin udp): %u %u %u\n",
		       to.tcp, to.tcp_fin, to.udp);
		return 0;
	}
	if (!req->has_svc) {
		rc = xlb_ctl_get_info(fd, &info, err, errlen);
		if (rc)
			return rc;
	}
	rc = xlbctl_get_svcs(fd, req, &svcs, &n, err, errlen);
	if (rc)
		return rc;
	/* As ipvsadm's list_service: no version line for one service. */
	if (!req->has_svc)
		printf("IP Virtual Server version %u.%u.%u (size=%u)\n",
		       (info.version >> 16) & 0xff, (info.version >> 8) & 0xff,
		       info.version & 0xff, info.conn_tab_size);
	print_title(format);
	for (i = 0; i < n && !rc; i++)
		rc = print_service(fd, &svcs[i], format, err, errlen);
	free(svcs);
	return rc;
}

int xlbctl_save(int fd, bool numeric, char *err, size_t errlen)
{
	struct xlb_svc_info *svcs = NULL;
	struct xlb_dest_info *d;
	size_t i, j, n = 0, nd;
	int rc;

	rc = xlb_ctl_get_services(fd, &svcs, &n, err, errlen);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		d = NULL;
		nd = 0;
		rc = xlb_ctl_get_dests(fd, &svcs[i].cfg.key, &d, &nd, err,
				       errlen);
		if (rc)
			break;
		xlb_rules_print_svc_ex(stdout, &svcs[i].cfg, &svcs[i].check, numeric);
		for (j = 0; j < nd; j++)
			xlb_rules_print_dest_ex(stdout, &svcs[i].cfg, &d[j].cfg, &d[j].check,
						numeric);
		free(d);
	}
	free(svcs);
	return rc;
}
