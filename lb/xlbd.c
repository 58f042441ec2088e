/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlbd: the xlb daemon. Foreground, logs to stderr (with sd-daemon
 * priorities when that is the journal); tells systemd through
 * $NOTIFY_SOCKET when it is ready, reloading and stopping.
 *
 *   xlbd -i IFACE [-i IFACE ...] [--socket PATH] [--rules FILE] [--group NAME]
 *        [--metrics ADDR:PORT] [-v]
 *   xlbd --detach -i IFACE [-i IFACE ...]
 *
 * Steps: init (arguments, tables, rules, datapath), serve (the control
 * thread's poll loop, which also keeps the datapath's next hops and
 * connection expiry going, until SIGINT/SIGTERM; SIGHUP reloads the
 * --rules file), fini (the datapath stops before the tables go). Exit status 0 after a signal, 1 when it cannot
 * start.
 *
 * Stopping is not removing: SIGTERM and SIGINT (alike) stop the workers
 * and close the sockets but leave the XDP program attached, so until the
 * next xlbd takes over in one step, VIP packets are dropped (the clients
 * retransmit) instead of being reset by the director's kernel. The
 * connection table lives in the state file (--state-file, default
 * xlbd.state beside the control socket), which the next xlbd adopts. A
 * SIGKILL leaves the same state. --detach removes both for good.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "announce.h"
#include "ctl.h"
#include "conn.h"
#include "cpus.h"
#include "ctl_server.h"
#include "dp.h"
#include "health.h"
#include "ipvsadm.h"
#include "log.h"
#include "reload.h"
#include "sdnotify.h"
#include "sync.h"
#include "metrics.h"
#include "tables.h"
#include "fastpath.h"
#include "../bpf/xlb_fp.h"

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
	bool detach;
	bool withdraw;			/* --withdraw */
	const char *state_file;		/* --state-file, or NULL: the default */
	char state_buf[4096];
	const char *cpus;		/* --cpus LIST, or NULL */
	const char *metrics_addr;	/* --metrics ADDR:PORT, or NULL */
	char **argv;			/* main's, for the guard's name */
	uint32_t announce_table;	/* --announce-table N, or 0 */
	struct xlb_dp_params dpp;
	/* state */
	struct xlb_dp *dp;
	struct xlb_tables *tables;
	struct xlb_sync_params syncp;	/* --sync-* */
	struct xlb_sync *sync;
	struct xlb_ctl_server *srv;
	struct xlb_health *health;
	struct xlb_metrics *metrics;
	struct xlb_announce *announce;
	int sigfd;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xlbd -i IFACE [-i IFACE ...] [--socket PATH] [--rules FILE]\n"
		"            [--group NAME] [--xdp-mode native|skb] [--zerocopy auto|on|off]\n"
		"            [--max-conns N] [--queues N] [--cpus LIST] [--state-file PATH]\n"
		"            [--sync-role master|backup --sync-key FILE\n"
		"             (--sync-peer ADDR[:PORT] | --sync-interface IF [--sync-group ADDR])\n"
		"             [--sync-id N]]\n"
		"            [--fast-path on|off] [--fast-path-entries N]\n"
		"            [--metrics ADDR:PORT] [--announce-table N] [-v]\n"
		"       xlbd --detach -i IFACE [-i IFACE ...] [--socket PATH] [--state-file PATH]\n"
		"       xlbd --withdraw -i IFACE [--announce-table N] [other options, ignored]\n"
		"\n"
		"SIGTERM and SIGINT stop xlbd but leave its XDP program attached, dropping\n"
		"VIP packets (clients retransmit) until the next xlbd takes over without\n"
		"a gap, adopting the connections kept in the state file. To remove xlb\n"
		"for good, stop xlbd, then run xlbd --detach (it removes the state file).\n"
		"SIGHUP re-reads --rules as the whole configuration, in one change (kept\n"
		"servers keep their connections; a bad file changes nothing). Under systemd\n"
		"($NOTIFY_SOCKET) xlbd says READY=1 once it serves, RELOADING=1, STOPPING=1.\n"
		"\n"
		"  -i, --interface IFACE  serve this interface (repeatable, up to %d; or a\n"
		"                         blank-separated list: -i \"eth0 eth1\")\n"
		"      --socket PATH      control socket (default %s)\n"
		"      --rules FILE       load rules in ipvsadm-save format at start; SIGHUP\n"
		"                         makes the file the whole configuration again\n"
		"      --group NAME       members of NAME may change tables too (socket 0660)\n"
		"      --xdp-mode MODE    native (default) or skb (generic XDP)\n"
		"      --zerocopy MODE    AF_XDP zero-copy: auto (default), on, off\n"
		"      --max-conns N      connection table size (default %u)\n"
		"      --queues N         refuse to start if an interface has more than N\n"
		"                         RX queues (every queue is always served)\n"
		"      --cpus LIST        run on these CPUs (e.g. 0-3,8), workers round robin\n"
		"                         (default: the CPUs xlbd was started with)\n"
		"      --state-file PATH  connection table, kept for the next xlbd (default:\n"
		"                         xlbd.state beside the control socket)\n"
		"      --fast-path on|off forward established flows inside XDP (default on;\n"
		"                         off: every packet through the userspace datapath)\n"
		"      --fast-path-entries N  flows the XDP flow cache holds, per direction\n"
		"                         (default %u; an LRU: the least recent are dropped)\n"
		"      --sync-role ROLE   NAT connection sync: master (streams its connections)\n"
		"                         or backup (keeps the master's, for a failover)\n"
		"      --sync-peer ADDR[:PORT]  unicast: master sends to ADDR; backup takes\n"
		"                         datagrams from ADDR only (port default " XLB_SYNC_PORT_STR ")\n"
		"      --sync-interface IF  multicast on IF instead (or as well: the backup\n"
		"                         then takes only --sync-peer's datagrams)\n"
		"      --sync-group ADDR[:PORT]  multicast group (default " XLB_SYNC_GROUP ")\n"
		"      --sync-key FILE    shared secret (HMAC-SHA256); mode 0600, not empty\n"
		"      --sync-id N        0-255 (default 0): both directors of a pair alike\n"
		"      --metrics ADDR:PORT  serve Prometheus metrics over HTTP at\n"
		"                         http://ADDR:PORT/metrics (ADDR: IPv4, [IPv6] or *)\n"
		"      --announce-table N keep a route \"blackhole VIP/32 proto %d\" in routing\n"
		"                         table N (%d-%d) for each VIP xlbd can serve now (workers\n"
		"                         making progress, a server up or a sorry server), for\n"
		"                         BIRD to announce; a guard process withdraws them\n"
		"                         within 1 s if xlbd dies or hangs, and so does a stop\n"
		"      --withdraw         remove the routes of --announce-table (none without it)\n"
		"                         and exit, for ExecStopPost=; refused while an xlbd runs\n"
		"      --detach           remove xlb's XDP program from the interfaces, the\n"
		"                         state file and the fast path's pinned maps, then exit\n"
		"  -v, --verbose          debug logging\n"
		"  -h, --help             this help\n"
		"      --version          print the version\n",
		XLBD_MAX_IFACES, XLB_CTL_SOCKET_DEFAULT, XLB_CONN_MAX_DEFAULT,
		XLB_FP_ENTRIES_DEFAULT, XLB_RTPROT, XLB_ANNOUNCE_TABLE_MIN,
		XLB_ANNOUNCE_TABLE_MAX);
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

/* --sync-* (sync.h), numbered apart from the other long options. */
enum { OPT_SYNC_ROLE = 512, OPT_SYNC_PEER, OPT_SYNC_IF, OPT_SYNC_GROUP, OPT_SYNC_KEY,
       OPT_SYNC_ID };

/* 0 to go on, 1 to exit with success (help/version), -1 on error. */
static int parse_args(struct xlbd *d, int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_RULES, OPT_GROUP, OPT_VERSION, OPT_XDP_MODE,
	       OPT_ZEROCOPY, OPT_MAX_CONNS, OPT_QUEUES, OPT_DETACH, OPT_STATE_FILE,
	       OPT_CPUS, OPT_FAST_PATH, OPT_FAST_PATH_ENTRIES, OPT_METRICS,
	       OPT_ANNOUNCE_TABLE, OPT_WITHDRAW };
	static const struct option opts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "sync-role", required_argument, NULL, OPT_SYNC_ROLE },
		{ "sync-peer", required_argument, NULL, OPT_SYNC_PEER },
		{ "sync-interface", required_argument, NULL, OPT_SYNC_IF },
		{ "sync-group", required_argument, NULL, OPT_SYNC_GROUP },
		{ "sync-key", required_argument, NULL, OPT_SYNC_KEY },
		{ "sync-id", required_argument, NULL, OPT_SYNC_ID },
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
		{ "detach", no_argument, NULL, OPT_DETACH },
		{ "state-file", required_argument, NULL, OPT_STATE_FILE },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "fast-path", required_argument, NULL, OPT_FAST_PATH },
		{ "fast-path-entries", required_argument, NULL, OPT_FAST_PATH_ENTRIES },
		{ "metrics", required_argument, NULL, OPT_METRICS },
		{ "announce-table", required_argument, NULL, OPT_ANNOUNCE_TABLE },
		{ "withdraw", no_argument, NULL, OPT_WITHDRAW },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "i:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			/* A list too ("eth0 eth1", as XLB_INTERFACES in
			 * /etc/default/xlb): names have no blanks. */
			for (char *save = NULL, *name = strtok_r(optarg, " \t\n", &save); name;
			     name = strtok_r(NULL, " \t\n", &save)) {
				if (d->nifaces == XLBD_MAX_IFACES) {
					pr_warn("at most %d interfaces", XLBD_MAX_IFACES);
					return -1;
				}
				d->ifnames[d->nifaces++] = name;
			}
			break;
		case OPT_SYNC_ROLE:
			if (!strcmp(optarg, "master"))
				d->syncp.role = XLB_SYNC_ROLE_MASTER;
			else if (!strcmp(optarg, "backup"))
				d->syncp.role = XLB_SYNC_ROLE_BACKUP;
			else {
				pr_warn("--sync-role: \"%s\": use master or backup", optarg);
				return -1;
			}
			break;
		case OPT_SYNC_PEER: {
			struct sockaddr_in sa;

			if (xlb_sync_parse_addr(optarg, &sa) < 0) {
				pr_warn("--sync-peer: \"%s\": an IPv4 address, with :PORT if not %d",
					optarg, XLB_SYNC_PORT);
				return -1;
			}
			d->syncp.peer = optarg;
			break;
		}
		case OPT_SYNC_IF:
			d->syncp.ifname = optarg;
			break;
		case OPT_SYNC_GROUP: {
			struct sockaddr_in sa;

			if (xlb_sync_parse_addr(optarg, &sa) < 0 ||
			    !IN_MULTICAST(ntohl(sa.sin_addr.s_addr))) {
				pr_warn("--sync-group: \"%s\": an IPv4 multicast address, with "
					":PORT if not %d", optarg, XLB_SYNC_PORT);
				return -1;
			}
			d->syncp.group = optarg;
			break;
		}
		case OPT_SYNC_KEY:
			d->syncp.key_file = optarg;
			break;
		case OPT_SYNC_ID: {
			uint32_t id;

			if (parse_uint(optarg, 0, 255, &id) < 0) {
				pr_warn("--sync-id: \"%s\": a number from 0 to 255", optarg);
				return -1;
			}
			d->syncp.sync_id = (uint8_t)id;
			break;
		}
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
		case OPT_DETACH:
			d->detach = true;
			break;
		case OPT_STATE_FILE:
			if (!*optarg || strlen(optarg) >= sizeof(d->state_buf)) {
				pr_warn("--state-file: a path, shorter than %zu bytes",
					sizeof(d->state_buf));
				return -1;
			}
			d->state_file = optarg;
			break;
		case OPT_CPUS:
			d->cpus = optarg;
			break;
		case OPT_FAST_PATH:
			if (!strcmp(optarg, "on"))
				d->dpp.fast_path = true;
			else if (!strcmp(optarg, "off"))
				d->dpp.fast_path = false;
			else {
				pr_warn("--fast-path: \"%s\": use on or off", optarg);
				return -1;
			}
			break;
		case OPT_FAST_PATH_ENTRIES:
			if (parse_uint(optarg, 1, XLB_FP_ENTRIES_MAX,
				       &d->dpp.fast_path_entries) < 0) {
				pr_warn("--fast-path-entries: \"%s\": a number from 1 to %u",
					optarg, XLB_FP_ENTRIES_MAX);
				return -1;
			}
			break;
		case OPT_METRICS: {
			struct sockaddr_storage ss;
			socklen_t sl;
			char err[256];

			/* The syntax now; the address itself when it is bound. */
			if (xlb_metrics_parse_addr(optarg, &ss, &sl, err, sizeof(err)) < 0) {
				pr_warn("%s", err);
				return -1;
			}
			d->metrics_addr = optarg;
			break;
		}
		case OPT_WITHDRAW:
			d->withdraw = true;
			break;
		case OPT_ANNOUNCE_TABLE: {
			char err[256];

			if (xlb_announce_parse_table(optarg, &d->announce_table, err,
						     sizeof(err)) < 0) {
				pr_warn("%s", err);
				return -1;
			}
			break;
		}
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
	if (!d->syncp.role && (d->syncp.peer || d->syncp.ifname || d->syncp.group ||
			       d->syncp.key_file)) {
		pr_warn("--sync-peer, --sync-interface, --sync-group and --sync-key need "
			"--sync-role master|backup");
		return -1;
	}
	if (d->syncp.role && !d->syncp.key_file) {
		pr_warn("--sync-role needs --sync-key FILE (the shared secret that "
			"authenticates the sync datagrams)");
		return -1;
	}
	if (d->syncp.role && !d->syncp.peer && !d->syncp.ifname) {
		pr_warn("--sync-role needs --sync-peer ADDR[:PORT] (unicast) or "
			"--sync-interface IF (multicast)");
		return -1;
	}
	if (d->syncp.group && !d->syncp.ifname) {
		pr_warn("--sync-group needs --sync-interface IF");
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

/*
 * The --rules file. At start it fills the empty tables; on SIGHUP
 * (reload) it replaces their configuration (reload.h): services and
 * servers not in the file go, kept ones keep their connections. Either
 * way the whole file is one change, or nothing changes: a file that does
 * not parse, or that the tables refuse, is logged with its file:line and
 * what was configured stays.
 */
static int load_rules(struct xlbd *d, bool reload)
{
	struct xlb_req *reqs = NULL;
	size_t *lines = NULL, n = 0, failed = 0, changes = 0;
	const char *keep = reload ? " (configuration unchanged)" : "";
	char err[512];
	FILE *f = fopen(d->rules, "re");
	int ret;

	if (!f) {
		ret = -errno;
		pr_warn("%s: %s%s", d->rules, strerror(errno), keep);
		return ret;
	}
	xlb_ipvsadm_set_warn(rules_warn, (void *)d->rules);
	ret = xlb_rules_parse_lines(f, &reqs, &lines, &n, err, sizeof(err));
	xlb_ipvsadm_set_warn(NULL, NULL);
	fclose(f);
	if (ret) {
		/* err says "line N: ...", as below. */
		pr_warn("%s: %s%s", d->rules, err, keep);
		return ret;
	}
	if (reload)
		ret = xlb_tables_replace(d->tables, reqs, n, &failed, &changes, err,
					 sizeof(err));
	else
		ret = xlb_tables_apply_reqs(d->tables, reqs, n, &failed, err, sizeof(err));
	if (ret && failed >= n)
		pr_warn("%s: %s (the file as a whole)%s", d->rules, err, keep);
	else if (ret)
		pr_warn("%s: line %zu: %s%s", d->rules, lines ? lines[failed] : failed + 1,
			err, keep);
	else if (reload)
		pr_info("%s: reloaded: %zu rules, %u services (%zu table operations)",
			d->rules, n, xlb_tables_current(d->tables)->nsvcs, changes);
	else
		pr_info("%s: %zu rules loaded, %u services", d->rules, n,
			xlb_tables_current(d->tables)->nsvcs);
	free(reqs);
	free(lines);
	return ret;
}

/* The state file: --state-file, or xlbd.state in the control socket's
 * directory (so two xlbds with their own sockets never share one). */
static const char *state_path(struct xlbd *d)
{
	const char *sock = d->socket_path ? d->socket_path : XLB_CTL_SOCKET_DEFAULT;
	const char *slash = strrchr(sock, '/');

	if (d->state_file)
		return d->state_file;
	if (!slash)
		return "xlbd.state";
	snprintf(d->state_buf, sizeof(d->state_buf), "%.*s/xlbd.state",
		 (int)(slash - sock), sock);
	return d->state_buf;
}

/* The state file's directory, as the control server makes the socket's
 * (it may not exist yet: /run/xlb on a fresh boot). */
static void state_dir_make(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path || (size_t)(slash - path) >= sizeof(dir))
		return;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		pr_debug("%s: %s", dir, strerror(errno));
}

/* Whether an xlbd answers on the control socket: --detach under a running
 * one would leave it serving nothing. */
static bool xlbd_running(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0;
}

static void detach_lib_log(const char *line)
{
	pr_debug("libxdp: %s", line);
}

/* xlbd --detach: xlb_steer off every -i interface. 0 when every one had
 * it and lost it. */
static int xlbd_detach(struct xlbd *d)
{
	const char *sock = d->socket_path ? d->socket_path : XLB_CTL_SOCKET_DEFAULT;
	int bad = 0;

	if (xlbd_running(sock)) {
		pr_warn("an xlbd is running (it answers on %s): stop it first, "
			"then run --detach", sock);
		return -EBUSY;
	}
	xlb_xdp_set_lib_log(detach_lib_log);
	for (unsigned int i = 0; i < d->nifaces; i++) {
		unsigned int ifindex = if_nametoindex(d->ifnames[i]);
		int rc;

		if (!ifindex) {
			pr_warn("interface %s: %s", d->ifnames[i], strerror(errno));
			bad++;
			continue;
		}
		rc = xlb_xdp_detach_iface((int)ifindex);
		if (rc < 0) {
			pr_warn("%s", xlb_xdp_errmsg());
			bad++;
			continue;
		}
		pr_info("%s: %s detached", d->ifnames[i], XLB_STEER_PROG_NAME);
	}
	/* Nor can the flows in the fast path's cache. */
	{
		char dir[256];
		int rc;

		xlb_dp_fp_pin_dir(state_path(d), dir, sizeof(dir));
		rc = *dir ? xlb_xdp_fp_unpin(dir) : 0;
		if (rc < 0) {
			pr_warn("%s: %s", dir, strerror(-rc));
			bad++;
		}
	}
	/* Its connections cannot be adopted by anything any more. */
	if (unlink(state_path(d)) == 0)
		pr_info("%s removed", state_path(d));
	else if (errno != ENOENT) {
		pr_warn("%s: %s", state_path(d), strerror(errno));
		bad++;
	}
	return bad ? -ENOENT : 0;
}

/* xlbd --withdraw (ExecStopPost=): what a SIGKILL of xlbd and its guard
 * together (systemctl kill -s KILL) would leave. Takes the unit's whole
 * command line, so the table comes from xlbd's own parser. */
static int xlbd_withdraw(struct xlbd *d)
{
	const char *sock = d->socket_path ? d->socket_path : XLB_CTL_SOCKET_DEFAULT;
	char err[256];
	int ret;

	if (!d->announce_table)
		return 0;
	if (xlbd_running(sock)) {
		pr_warn("an xlbd is running (it answers on %s): its routes stay", sock);
		return -EBUSY;
	}
	ret = xlb_announce_withdraw_table(d->announce_table, err, sizeof(err));
	if (ret < 0) {
		pr_warn("--withdraw: %s", err);
		return ret;
	}
	if (ret)
		pr_info("--withdraw: removed %d route%s of table %u", ret, ret == 1 ? "" : "s",
			d->announce_table);
	return 0;
}

static void dp_on_fd(void *arg)
{
	xlb_dp_process(((struct xlbd *)arg)->dp);
}

static void dp_on_tick(void *arg, uint64_t now_ms)
{
	struct xlbd *d = arg;

	xlb_dp_tick(d->dp, now_ms);
	if (d->metrics)
		xlb_metrics_tick(d->metrics, now_ms);
	/* Health results into the tables, new plans to the checker: here,
	 * on the control thread, the tables' one writer. */
	xlb_health_tick(d->health);
	/* After the health results: a transition counts at once. */
	xlb_announce_tick(d->announce, now_ms);
}

static unsigned int dp_beats(void *arg, uint64_t *out, unsigned int max)
{
	return xlb_dp_worker_beats(((struct xlbd *)arg)->dp, out, max);
}

/* Scrapes are served by the control thread (metrics.h says why). */
static void metrics_on_fd(void *arg)
{
	xlb_metrics_process(((struct xlbd *)arg)->metrics);
}

/* The datapath's counters, then the checker's ("health" group). */
static int (*dp_dump_counters_fn)(xlb_counter_emit_fn emit, void *emit_arg, void *arg);
static struct xlb_health *counters_health;
static struct xlb_announce *counters_announce;

static int xlbd_dump_counters(xlb_counter_emit_fn emit, void *emit_arg, void *arg)
{
	int ret = dp_dump_counters_fn ? dp_dump_counters_fn(emit, emit_arg, arg) : 0;

	if (!ret)
		ret = xlb_health_dump_counters(counters_health, emit, emit_arg);
	return ret ? ret : xlb_announce_dump_counters(counters_announce, emit, emit_arg);
}

static int health_info(const struct xlb_svc_key *svc, const union xlb_inaddr *addr,
		       uint16_t port,
		       struct xlb_health_info *out, void *arg)
{
	return xlb_health_info(arg, svc, addr, port, out);
}

/* The checker thread, and its place in the provider the datapath set. */
static int health_start(struct xlbd *d)
{
	struct xlb_tables_provider prov = *xlb_tables_provider(d->tables);
	char err[256] = "";
	int ret = xlb_health_start(&d->health, d->tables, err, sizeof(err));

	if (ret) {
		pr_warn("%s", err[0] ? err : strerror(-ret));
		return ret;
	}
	dp_dump_counters_fn = prov.dump_counters;
	counters_health = d->health;
	counters_announce = d->announce;
	prov.dump_counters = xlbd_dump_counters;
	prov.health_info = health_info;
	prov.health_arg = d->health;
	xlb_tables_set_provider(d->tables, &prov);
	return 0;
}

/* Everything else's counters, then connection sync's ("sync" group). */
static int (*pre_sync_dump_fn)(xlb_counter_emit_fn emit, void *emit_arg, void *arg);
static struct xlb_sync *counters_sync;

static int xlbd_sync_dump_counters(xlb_counter_emit_fn emit, void *emit_arg, void *arg)
{
	int ret = pre_sync_dump_fn ? pre_sync_dump_fn(emit, emit_arg, arg) : 0;

	return ret ? ret : xlb_sync_dump_counters(counters_sync, emit, emit_arg);
}

/* --sync-role: the sync thread, and its counters in the provider. */
static int sync_start(struct xlbd *d)
{
	struct xlb_tables_provider prov = *xlb_tables_provider(d->tables);
	char err[256] = "";
	int ret;

	if (!d->syncp.role)
		return 0;
	ret = xlb_sync_start(&d->sync, &d->syncp, d->dp, d->tables, err, sizeof(err));
	if (ret) {
		pr_warn("%s", err[0] ? err : strerror(-ret));
		return ret;
	}
	pre_sync_dump_fn = prov.dump_counters;
	counters_sync = d->sync;
	prov.dump_counters = xlbd_sync_dump_counters;
	xlb_tables_set_provider(d->tables, &prov);
	return 0;
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
	/* The guard is forked before any thread exists (announce.h). */
	if (d->announce_table) {
		ret = xlb_announce_new(&d->announce, d->announce_table, d->argv, err,
				       sizeof(err));
		if (ret) {
			pr_warn("%s", err[0] ? err : strerror(-ret));
			return ret;
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
	/* And one more for the fast path's merged counters (fastpath.h). */
	ret = xlb_tables_set_workers(d->tables, (unsigned int)ret +
				     (ret < XLB_MAX_WORKERS ? 1 : 0));
	if (ret) {
		pr_warn("tables: %s", strerror(-ret));
		return ret;
	}
	if (d->rules) {
		ret = load_rules(d, false);
		if (ret)
			return ret;
	}

	/* Metrics: bound before the datapath starts, so that an address that
	 * cannot be had stops xlbd before it touches an interface. */
	if (d->metrics_addr) {
		struct xlb_metrics_params mp = { .listen = d->metrics_addr,
						 .tables = d->tables };

		ret = xlb_metrics_new(&d->metrics, &mp, err, sizeof(err));
		if (ret) {
			pr_warn("%s", err[0] ? err : strerror(-ret));
			return ret;
		}
		pr_info("metrics on http://%s/metrics", d->metrics_addr);
	}

	/* Signals arrive through the poll loop, never as handlers. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (d->sigfd < 0) {
		ret = -errno;
		pr_warn("signalfd: %s", strerror(errno));
		return ret;
	}

	/* A bad --sync-key stops xlbd before it touches an interface (the
	 * sync thread reads it again when it starts). */
	if (d->syncp.role) {
		uint8_t key[XLB_SYNC_KEY_MAX];
		size_t klen;

		ret = xlb_sync_key_load(d->syncp.key_file, key, &klen, err, sizeof(err));
		memset(key, 0, sizeof(key));
		if (ret) {
			pr_warn("%s", err);
			return ret;
		}
	}

	/* Tables are ready: the datapath (XDP, AF_XDP, workers) starts. */
	d->dpp.tables = d->tables;
	d->dpp.state_path = state_path(d);
	state_dir_make(d->dpp.state_path);
	ret = xlb_dp_start(&d->dp, &d->dpp, err, sizeof(err));
	if (ret) {
		pr_warn("datapath: %s", err[0] ? err : strerror(-ret));
		return ret;
	}
	xlb_announce_attach(d->announce, d->tables, dp_beats, d);
	ret = health_start(d);
	if (ret)
		return ret;
	ret = sync_start(d);
	if (ret)
		return ret;
	sp.aux_fd = xlb_dp_fd(d->dp);
	sp.on_fd = dp_on_fd;
	sp.on_tick = dp_on_tick;
	sp.hook_arg = d;
	sp.extra_fd = d->metrics ? xlb_metrics_fd(d->metrics) : -1;
	sp.on_extra_fd = d->metrics ? metrics_on_fd : NULL;

	sp.path = d->socket_path;
	sp.group = d->group;
	sp.tables = d->tables;
	sp.ipv6 = XLB_CTL_IPV6;	/* issue 14: false until the datapath forwards IPv6 */
	ret = xlb_ctl_server_new(&d->srv, &sp, err, sizeof(err));
	if (ret) {
		pr_warn("%s", err[0] ? err : strerror(-ret));
		return ret;
	}
	pr_info("listening on %s (%s)", d->socket_path ? d->socket_path : XLB_CTL_SOCKET_DEFAULT,
		d->group ? "root and group members may change" : "only root may change");
	return 0;
}

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void notify_status(struct xlbd *d, const char *what)
{
	xlb_sd_notifyf("%sSTATUS=serving %u interface%s, %u service%s", what, d->nifaces,
		       d->nifaces == 1 ? "" : "s", xlb_tables_current(d->tables)->nsvcs,
		       xlb_tables_current(d->tables)->nsvcs == 1 ? "" : "s");
}

/* SIGHUP: the rules file again, between RELOADING=1 and READY=1 (systemd
 * waits for the READY=1 before it calls the reload done). */
static void xlbd_reload(struct xlbd *d)
{
	xlb_sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
		       (unsigned long long)mono_usec(), d->rules ? d->rules : "");
	if (!d->rules)
		pr_warn("SIGHUP: no --rules file to reload");
	else
		(void)load_rules(d, true);
	notify_status(d, "READY=1\n");
}

static int xlbd_run(struct xlbd *d)
{
	struct signalfd_siginfo si;

	/* The datapath runs and the control socket listens (a client that
	 * connects now is served as soon as the loop below polls). */
	notify_status(d, "READY=1\n");
	for (;;) {
		int ret = xlb_ctl_server_run(d->srv, d->sigfd);

		if (ret) {
			xlb_announce_stop(d->announce, "control loop failed");
			pr_err("control loop: %s", strerror(-ret));
			xlb_sd_notifyf("STOPPING=1\nSTATUS=control loop: %s", strerror(-ret));
			return ret;
		}
		if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			xlbd_reload(d);
			continue;
		}
		xlb_sd_notify("STOPPING=1\nSTATUS=stopping");
		/* The routers stop sending before the workers stop serving. */
		xlb_announce_stop(d->announce, strsignal((int)si.ssi_signo));
		pr_info("%s: exiting; the XDP program stays attached and drops VIP "
			"packets until the next xlbd (xlbd --detach removes it)",
			strsignal((int)si.ssi_signo));
		return 0;
	}
}

static void xlbd_fini(struct xlbd *d)
{
	/* A start that failed half-way withdraws what an earlier run left. */
	xlb_announce_stop(d->announce, "stopping");
	xlb_ctl_server_free(d->srv);
	xlb_metrics_free(d->metrics);
	xlb_health_stop(d->health);
	xlb_sync_stop(d->sync);
	/* The datapath stops before the tables go. */
	if (d->dp)
		xlb_dp_log_stats(d->dp);
	xlb_dp_stop(d->dp);
	counters_sync = NULL;
	xlb_sync_free(d->sync);
	xlb_tables_free(d->tables);
	xlb_announce_free(d->announce);
	if (d->sigfd >= 0)
		close(d->sigfd);
}

int main(int argc, char **argv)
{
	struct xlbd d = { .sigfd = -1 };
	int ret;

	xlb_log_init();
	xlb_dp_params_default(&d.dpp);
	d.argv = argv;
	ret = parse_args(&d, argc, argv);
	if (ret)
		return ret > 0 ? 0 : 1;
	if (d.verbose)
		xlb_log_set_level(XLB_LOG_DEBUG);
	if (d.detach)
		return xlbd_detach(&d) ? 1 : 0;
	if (d.withdraw)
		return xlbd_withdraw(&d) ? 1 : 0;
	ret = xlbd_init(&d);
	if (!ret)
		ret = xlbd_run(&d);
	else
		xlb_sd_notify("STATUS=failed to start (see the log)");
	xlbd_fini(&d);
	return ret ? 1 : 0;
}
