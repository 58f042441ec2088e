/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlbd: the xlb daemon. Foreground, logs to stderr.
 *
 *   xlbd -i IFACE [-i IFACE ...] [--socket PATH] [--rules FILE] [--group NAME] [-v]
 *
 * Steps: init (arguments, tables, rules, datapath), serve (the control
 * thread's poll loop, which also keeps the datapath's next hops and
 * connection expiry going, until SIGINT/SIGTERM), fini (the datapath stops
 * and detaches before the tables go). Exit status 0 after a signal, 1 when
 * it cannot start.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>

#include "ctl.h"
#include "conn.h"
#include "cpus.h"
#include "ctl_server.h"
#include "dp.h"
#include "ipvsadm.h"
#include "log.h"
#include "tables.h"

#define XLBD_MAX_IFACES	XLB_XSK_MAX_IFACES

struct xlbd {
	/* arguments */
	const char *ifnames[XLBD_MAX_IFACES];
	unsigned int ifindex[XLBD_MAX_IFACES];
	unsigned int nifaces;
	const char *socket_path;
	const char *rules;
	const char *group;
	bool verbose;
	const char *cpus;		/* --cpus LIST, or NULL */
	struct xlb_dp_params dpp;
	/* state */
	struct xlb_dp *dp;
	struct xlb_tables *tables;
	struct xlb_ctl_server *srv;
	int sigfd;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xlbd -i IFACE [-i IFACE ...] [--socket PATH] [--rules FILE]\n"
		"            [--group NAME] [--xdp-mode native|skb] [--zerocopy auto|on|off]\n"
		"            [--max-conns N] [--queues N] [--cpus LIST] [-v]\n"
		"\n"
		"  -i, --interface IFACE  serve this interface (repeatable, up to %d)\n"
		"      --socket PATH      control socket (default %s)\n"
		"      --rules FILE       load rules in ipvsadm-save format at start\n"
		"      --group NAME       members of NAME may change tables too (socket 0660)\n"
		"      --xdp-mode MODE    native (default) or skb (generic XDP)\n"
		"      --zerocopy MODE    AF_XDP zero-copy: auto (default), on, off\n"
		"      --max-conns N      connection table size (default %u)\n"
		"      --queues N         refuse to start if an interface has more than N\n"
		"                         RX queues (every queue is always served)\n"
		"      --cpus LIST        run on these CPUs (e.g. 0-3,8), workers round robin\n"
		"                         (default: the CPUs xlbd was started with)\n"
		"  -v, --verbose          debug logging\n"
		"  -h, --help             this help\n"
		"      --version          print the version\n",
		XLBD_MAX_IFACES, XLB_CTL_SOCKET_DEFAULT, XLB_CONN_MAX_DEFAULT);
}

static int parse_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* 0 to go on, 1 to exit with success (help/version), -1 on error. */
static int parse_args(struct xlbd *d, int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_RULES, OPT_GROUP, OPT_VERSION, OPT_XDP_MODE,
	       OPT_ZEROCOPY, OPT_MAX_CONNS, OPT_QUEUES, OPT_CPUS };
	static const struct option opts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "rules", required_argument, NULL, OPT_RULES },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "xdp-mode", required_argument, NULL, OPT_XDP_MODE },
		{ "zerocopy", required_argument, NULL, OPT_ZEROCOPY },
		{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
		{ "queues", required_argument, NULL, OPT_QUEUES },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "i:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (d->nifaces == XLBD_MAX_IFACES) {
				pr_warn("at most %d interfaces", XLBD_MAX_IFACES);
				return -1;
			}
			d->ifnames[d->nifaces++] = optarg;
			break;
		case OPT_SOCKET:
			d->socket_path = optarg;
			break;
		case OPT_RULES:
			d->rules = optarg;
			break;
		case OPT_GROUP:
			d->group = optarg;
			break;
		case OPT_XDP_MODE:
			if (xlb_xdp_mode_parse(optarg, &d->dpp.xdp_mode) < 0) {
				pr_warn("--xdp-mode: \"%s\": use native or skb", optarg);
				return -1;
			}
			break;
		case OPT_ZEROCOPY:
			if (xlb_xsk_zc_parse(optarg, &d->dpp.zerocopy) < 0) {
				pr_warn("--zerocopy: \"%s\": use auto, on or off", optarg);
				return -1;
			}
			break;
		case OPT_MAX_CONNS:
			if (parse_uint(optarg, 1, XLB_CONN_MAX_LIMIT, &d->dpp.max_conns) < 0) {
				pr_warn("--max-conns: \"%s\": a number from 1 to %u", optarg,
					XLB_CONN_MAX_LIMIT);
				return -1;
			}
			break;
		case OPT_QUEUES: {
			uint32_t q;

			if (parse_uint(optarg, 1, XLB_XSK_QUEUES_MAX, &q) < 0) {
				pr_warn("--queues: \"%s\": a number from 1 to %d", optarg,
					XLB_XSK_QUEUES_MAX);
				return -1;
			}
			d->dpp.n_queues = (int)q;
			break;
		}
		case OPT_CPUS:
			d->cpus = optarg;
			break;
		case 'v':
			d->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case OPT_VERSION:
			printf("xlbd %s\n", XLB_VERSION_STRING);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		pr_warn("unexpected argument \"%s\"", argv[optind]);
		usage(stderr);
		return -1;
	}
	if (!d->nifaces) {
		pr_warn("at least one -i IFACE is required");
		usage(stderr);
		return -1;
	}
	return 0;
}

static void rules_warn(const char *msg, void *ctx)
{
	pr_warn("%s: %s", (const char *)ctx, msg);
}

/* Line number of the idx-th rule of the file (blank and # lines skipped,
 * as the rules parser does), for messages; 0 if unknown. */
static unsigned int rule_line(FILE *f, size_t idx)
{
	char buf[4096];
	unsigned int line = 0;
	size_t seen = 0;

	rewind(f);
	while (fgets(buf, sizeof(buf), f)) {
		const char *p = buf + strspn(buf, " \t\r\n");

		line++;
		if (!*p || *p == '#')
			continue;
		if (seen++ == idx)
			return line;
	}
	return 0;
}

static int load_rules(struct xlbd *d)
{
	struct xlb_req *reqs = NULL;
	size_t n = 0, failed = 0;
	char err[512];
	FILE *f = fopen(d->rules, "re");
	int ret;

	if (!f) {
		pr_warn("%s: %s", d->rules, strerror(errno));
		return -errno;
	}
	xlb_ipvsadm_set_warn(rules_warn, (void *)d->rules);
	ret = xlb_rules_parse(f, &reqs, &n, err, sizeof(err));
	xlb_ipvsadm_set_warn(NULL, NULL);
	if (ret) {
		pr_warn("%s: %s", d->rules, err);
		fclose(f);
		return ret;
	}
	/* The same table operations as the control socket, as one change:
	 * all the rules or none. */
	ret = xlb_tables_apply_reqs(d->tables, reqs, n, &failed, err, sizeof(err));
	if (ret) {
		unsigned int line = rule_line(f, failed);

		if (line)
			pr_warn("%s: line %u: %s", d->rules, line, err);
		else
			pr_warn("%s: rule %zu: %s", d->rules, failed + 1, err);
	} else {
		pr_info("%s: %zu rules loaded, %u services", d->rules, n,
			xlb_tables_current(d->tables)->nsvcs);
	}
	free(reqs);
	fclose(f);
	return ret;
}

static void dp_on_fd(void *dp)
{
	xlb_dp_process(dp);
}

static void dp_on_tick(void *dp, uint64_t now_ms)
{
	xlb_dp_tick(dp, now_ms);
}

/* --cpus: the whole process (this thread, and so every thread it starts
 * later) moves to LIST, which must lie within the CPUs xlbd was started
 * with: an operator's taskset, CPUAffinity= or cpuset is never widened. */
static int apply_cpus(struct xlbd *d)
{
	char have[256], bad[256];
	cpu_set_t allowed, want, outside;
	int ret;

	if (!d->cpus)
		return 0;
	ret = xlb_cpus_parse(d->cpus, &want);
	if (ret == -ERANGE) {
		pr_warn("--cpus: \"%s\": CPU numbers go up to %d", d->cpus, CPU_SETSIZE - 1);
		return ret;
	}
	if (ret) {
		pr_warn("--cpus: \"%s\": a list of CPU numbers and ranges, e.g. 0-3,8,10-11",
			d->cpus);
		return ret;
	}
	if (sched_getaffinity(0, sizeof(allowed), &allowed)) {
		ret = -errno;
		pr_warn("--cpus: reading the CPU affinity: %s", strerror(errno));
		return ret;
	}
	CPU_XOR(&outside, &want, &allowed);
	CPU_AND(&outside, &outside, &want);
	if (CPU_COUNT(&outside)) {
		pr_warn("--cpus %s: CPU %s not allowed (xlbd may run on %s)", d->cpus,
			xlb_cpus_format(&outside, bad, sizeof(bad)),
			xlb_cpus_format(&allowed, have, sizeof(have)));
		return -EINVAL;
	}
	if (sched_setaffinity(0, sizeof(want), &want)) {
		ret = -errno;
		pr_warn("--cpus %s: %s", d->cpus, strerror(errno));
		return ret;
	}
	return 0;
}

static int xlbd_init(struct xlbd *d)
{
	struct xlb_ctl_server_params sp = { 0 };
	char err[512] = "";
	sigset_t mask;
	int ret;

	for (unsigned int i = 0; i < d->nifaces; i++) {
		d->ifindex[i] = if_nametoindex(d->ifnames[i]);
		if (!d->ifindex[i]) {
			pr_warn("interface %s: %s", d->ifnames[i], strerror(errno));
			return -ENODEV;
		}
	}
	ret = apply_cpus(d);
	if (ret)
		return ret;
	ret = xlb_tables_new(&d->tables);
	if (ret) {
		pr_warn("tables: %s", strerror(-ret));
		return ret;
	}
	/* One counter slot per worker (per RX queue), fixed before any
	 * service exists; refuses --queues smaller than a queue count. */
	d->dpp.ifnames = d->ifnames;
	d->dpp.n_ifaces = (int)d->nifaces;
	ret = xlb_dp_workers_needed(&d->dpp, err, sizeof(err));
	if (ret < 0) {
		pr_warn("datapath: %s", err);
		return ret;
	}
	ret = xlb_tables_set_workers(d->tables, (unsigned int)ret);
	if (ret) {
		pr_warn("tables: %s", strerror(-ret));
		return ret;
	}
	if (d->rules) {
		ret = load_rules(d);
		if (ret)
			return ret;
	}

	/* Signals arrive through the poll loop, never as handlers. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (d->sigfd < 0) {
		ret = -errno;
		pr_warn("signalfd: %s", strerror(errno));
		return ret;
	}

	/* Tables are ready: the datapath (XDP, AF_XDP, workers) starts. */
	d->dpp.ifnames = d->ifnames;
	d->dpp.n_ifaces = (int)d->nifaces;
	d->dpp.tables = d->tables;
	ret = xlb_dp_start(&d->dp, &d->dpp, err, sizeof(err));
	if (ret) {
		pr_warn("datapath: %s", err[0] ? err : strerror(-ret));
		return ret;
	}
	sp.aux_fd = xlb_dp_fd(d->dp);
	sp.on_fd = dp_on_fd;
	sp.on_tick = dp_on_tick;
	sp.hook_arg = d->dp;

	sp.path = d->socket_path;
	sp.group = d->group;
	sp.tables = d->tables;
	ret = xlb_ctl_server_new(&d->srv, &sp, err, sizeof(err));
	if (ret) {
		pr_warn("%s", err[0] ? err : strerror(-ret));
		return ret;
	}
	pr_info("listening on %s (%s)", d->socket_path ? d->socket_path : XLB_CTL_SOCKET_DEFAULT,
		d->group ? "root and group members may change" : "only root may change");
	return 0;
}

static int xlbd_run(struct xlbd *d)
{
	struct signalfd_siginfo si;
	int ret = xlb_ctl_server_run(d->srv, d->sigfd);

	if (ret) {
		pr_warn("control loop: %s", strerror(-ret));
		return ret;
	}
	if (read(d->sigfd, &si, sizeof(si)) == sizeof(si))
		pr_info("%s: exiting", strsignal((int)si.ssi_signo));
	return 0;
}

static void xlbd_fini(struct xlbd *d)
{
	xlb_ctl_server_free(d->srv);
	/* The datapath stops (and detaches) before the tables go. */
	if (d->dp)
		xlb_dp_log_stats(d->dp);
	xlb_dp_stop(d->dp);
	xlb_tables_free(d->tables);
	if (d->sigfd >= 0)
		close(d->sigfd);
}

int main(int argc, char **argv)
{
	struct xlbd d = { .sigfd = -1 };
	int ret;

	xlb_dp_params_default(&d.dpp);
	ret = parse_args(&d, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 1;
	if (d.verbose)
		xlb_log_set_level(XLB_LOG_DEBUG);
	ret = xlbd_init(&d);
	if (!ret)
		ret = xlbd_run(&d);
	xlbd_fini(&d);
	return ret ? 1 : 0;
}
