// SPDX-License-Identifier: GPL-2.0
/*
 * xlbctl: ipvsadm's command language for xlbd. The words are parsed by
 * lb/ipvsadm.c (shared with xlbd --rules), sent by lb/ctl.c, and listed in
 * ipvsadm's layouts by list.c. This file only dispatches and turns errors
 * into sentences and exit statuses.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ipvsadm.h"
#include "keepalived.h"
#include "xlbctl.h"

static const char *prog = "xlbctl";

static void usage(FILE *f)
{
	fprintf(f,
"xlbctl " XLB_VERSION_STRING " - configure xlbd with ipvsadm's commands\n"
"Usage:\n"
"  %1$s -A|E -t|u service-address [-s scheduler [-b sched-flags]] [-p [timeout]] [-M netmask] [-o] [--vnodes N]\n"
"  %1$s -D -t|u service-address\n"
"  %1$s -C\n"
"  %1$s -R\n"
"  %1$s -S [-n]\n"
"  %1$s -a|e -t|u service-address -r server-address [options]\n"
"  %1$s -d -t|u service-address -r server-address\n"
"  %1$s -L|l [options]\n"
"  %1$s -Z [-t|u service-address]\n"
"  %1$s --set tcp tcpfin udp\n"
"  %1$s --counters\n"
"  %1$s --from-keepalived FILE\n"
"  %1$s -h\n"
"\n"
"Commands:\n"
"Either long or short options are allowed.\n"
"  --add-service     -A        add virtual service with options\n"
"  --edit-service    -E        edit virtual service (only the options given change)\n"
"  --delete-service  -D        delete virtual service\n"
"  --clear           -C        clear the whole table\n"
"  --restore         -R        restore rules from stdin (ipvsadm-save format)\n"
"  --save            -S        save rules to stdout\n"
"  --add-server      -a        add real server with options\n"
"  --edit-server     -e        edit real server (only the options given change)\n"
"  --delete-server   -d        delete real server\n"
"  --list            -L|-l     list the table\n"
"  --zero            -Z        zero counters in a service or all services\n"
"  --set tcp tcpfin udp        set connection timeout values (0 = unchanged)\n"
"  --counters [--json]         daemon counters: XDP program, datapath drops by reason, malformed packets by class, connection table\n"
"  --from-keepalived FILE      print the LVS part of a keepalived.conf as rules for -R\n"
"                              (notes and warnings on stderr; needs no xlbd)\n"
"  --help            -h        display this help message\n"
"  --version         -v        display the version\n"
"\n"
"Options:\n"
"  --tcp-service  -t service-address   service-address is host[:port]\n"
"  --udp-service  -u service-address   service-address is host[:port]\n"
"  --scheduler    -s scheduler         one of: %2$s;\n"
"                                      the default is ring, a consistent-hash ring\n"
"                                      with virtual nodes (directors agree)\n"
"  --sched-flags  -b flags             scheduler flags: sh-fallback, sh-port (sh),\n"
"                                      mh-fallback, mh-port (mh), flag-1..3\n"
"  --persistent   -p [timeout]         persistent service (default 300 s), as IPVS: a\n"
"                                      template per client (masked) keeps it on its\n"
"                                      real server for timeout seconds after its last\n"
"                                      connection; with -E, -p 0 turns it off\n"
"  --netmask      -M netmask           persistent granularity mask (e.g. 255.255.255.0;\n"
"                                      IPv6: a prefix length, e.g. 64)\n"
"  --ops          -o                   one-packet scheduling (UDP only): every datagram\n"
"                                      is scheduled on its own, no connection entry\n"
"  --vnodes N                          ring points per unit of weight, 1..%3$d\n"
"                                      (xlb extension, default %4$d)\n"
"  --real-server  -r server-address    server-address is host (and port)\n"
"  --gatewaying   -g                   gatewaying (direct routing) (default)\n"
"  --ipip         -i                   ipip encapsulation (tunneling)\n"
"  --masquerading -m                   masquerading (NAT)\n"
"  --tun-type     ipip                 the tunnel of -i (the only one xlb has)\n"
"                                      with -g and -i the real server's port must\n"
"                                      be the service's port (default when omitted)\n"
"  --weight       -w weight            capacity of real server, 0..65535 (default 1;\n"
"                                      0 quiesces: no new connections)\n"
"  --u-threshold  -x uthreshold        upper threshold of connections: at that many\n"
"                                      (active + inactive) no new ones (0: none)\n"
"  --l-threshold  -y lthreshold        lower threshold: new ones again below it\n"
"                                      (0: 3/4 of the upper)\n"
"  --connection   -c                   output of current connections\n"
"  --timeout                           output of timeout (tcp tcpfin udp)\n"
"  --stats                             output of statistics information\n"
"  --rate                              output of rate information\n"
"  --thresholds                        output of thresholds information\n"
"  --exact        -X                   expand numbers (display exact values)\n"
"  --persistent-conn                   output of persistent connection info\n"
"  --tun-info                          output of tunnel information\n"
"  --nosort, --sort                    accepted (xlbd lists in ipvsadm's order)\n"
"  --numeric      -n                   numeric output of addresses and ports\n"
"  --health                            with -L: each real server's health (state,\n"
"                                      since, checks, last result, error)\n"
"  --json                              with -L (or --counters): one JSON document\n"
"                                      (doc/json.md): -L everything (services,\n"
"                                      servers, stats, rates, health, connections,\n"
"                                      counters, timeouts); -t/-u one service and\n"
"                                      its connections; -c connections only;\n"
"                                      --timeout timeouts only; numeric always\n"
"Health checks (xlb extension; with -A/-E for every real server of the service,\n"
"with -a/-e for one, overriding the service's):\n"
"  --check tcp|http|udp|exec|none      kind of check (default none: always up)\n"
"  --check-port PORT                   port probed (default the server's)\n"
"  --check-path PATH                   http: path to GET (default /)\n"
"  --check-status CODE                 http: status wanted (default 200)\n"
"  --check-expect TEXT                 http: the body must contain TEXT\n"
"  --check-exec 'COMMAND'              exec: /bin/sh -c COMMAND; exit 0 = up;\n"
"                                      $XLB_RS_ADDR $XLB_RS_PORT (also $1 $2)\n"
"  --check-interval SECONDS            between checks (default 2; fractions allowed)\n"
"  --check-timeout SECONDS             per check (default 1)\n"
"  --check-rise N                      successes to come up (default 2)\n"
"  --check-fall N                      failures to go down (default 3)\n"
"  --sorry-server ADDR[:PORT]          -A/-E: takes new connections while no server\n"
"                                      is up (none: remove)\n"
"  --quorum W                          -A/-E: below W of healthy weight, new\n"
"                                      connections go to the sorry server (or are\n"
"                                      refused)\n"
"  --socket PATH                       xlbd's control socket (default $XLB_SOCKET,\n"
"                                      else " XLB_CTL_SOCKET_DEFAULT ")\n"
"\n"
"Schedulers: every IPVS scheduler (rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf\n"
"mh twos) and xlb's ring, the default. Connection counts are this director's.\n"
"IPv6 addresses are written as ipvsadm writes them: -t [2001:db8::1]:80,\n"
"-r [2001:db8::11]:80; xlbctl reads, prints and saves them, xlbd refuses IPv6\n"
"services until its datapath forwards IPv6.\n"
"Refused, with the reason: -f and -6 (firewall marks: XDP sees no skb mark),\n"
"--pe (persistence engines), --start-daemon and the sync options\n"
"(xlbd keeps connections across restarts itself), --tun-type gue|gre.\n"
"-R is all or nothing: every line is parsed before anything is sent, then\n"
"xlbd applies the whole file as one change (a batch), or, when it refuses a\n"
"line, nothing at all and xlbctl says 'line N: reason'.\n"
"\n"
"--counters prints one counter per line, 'GROUP NAME VALUE' separated by single\n"
"spaces, in xlbd's order, zeros included (an xlb extension, for scripts).\n"
"\n"
"Exit status: 0 done; 1 bad command line or rules file; 2 xlbd refused the\n"
"request (its reason is printed); 3 cannot reach xlbd.\n",
		prog, xlb_ipvsadm_known_scheds(), XLB_IPVSADM_VNODES_MAX,
		XLB_VNODES_DEFAULT);
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "%s: %s\n", prog, msg);
	fprintf(stderr, "Try `%s -h' or '%s --help' for more information.\n",
		prog, prog);
	return XLBCTL_EXIT_USAGE;
}

static void warn_stderr(const char *msg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "%s: warning: %s\n", prog, msg);
}

/* Take --socket PATH / --socket=PATH out of argv (the shared parser knows
 * nothing of sockets). Returns the path or NULL; *bad when the value is
 * missing. */
static const char *take_socket_opt(int *argc, char **argv, bool *bad)
{
	const char *path = NULL;
	int i, j;

	*bad = false;
	for (i = 1, j = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[j++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--socket")) {
			if (i + 1 >= *argc) {
				*bad = true;
				return NULL;
			}
			path = argv[++i];
			continue;
		}
		if (!strncmp(argv[i], "--socket=", 9)) {
			path = argv[i] + 9;
			continue;
		}
		argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*argc = j;
	return path;
}

static int connect_daemon(const char *path)
{
	char err[256];
	int fd;

	fd = xlb_ctl_open(path, err, sizeof(err));
	if (fd >= 0)
		return fd;
	if (fd == -ENOENT || fd == -ECONNREFUSED)
		fprintf(stderr, "%s: cannot connect to %s: %s (is xlbd running?)\n",
			prog, path, strerror(-fd));
	else if (fd == -EACCES || fd == -EPERM)
		fprintf(stderr, "%s: cannot connect to %s: %s (only root or members of xlbd's --group may use it)\n",
			prog, path, strerror(-fd));
	else
		fprintf(stderr, "%s: cannot connect to %s: %s\n", prog, path,
			strerror(-fd));
	return -1;
}

static int failure_status(int rc)
{
	/* A transport failure is not a refusal. */
	if (rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN ||
	    rc == -ETIMEDOUT || rc == -EAGAIN || rc == -EPROTO)
		return XLBCTL_EXIT_NODAEMON;
	return XLBCTL_EXIT_REFUSED;
}

/* The daemon said no (or the conversation failed): its sentence, status. */
static int refused(int rc, const char *err)
{
	fprintf(stderr, "%s: %s\n", prog, err[0] ? err : strerror(-rc));
	return failure_status(rc);
}

/* Take --json out of argv (before a "--"): the ipvsadm parser has no such
 * option, and with it any list option means what it means for -L. */
static bool take_json_opt(int *argc, char **argv)
{
	bool json = false;
	int i, j;

	for (i = 1, j = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[j++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*argc = j;
	return json;
}

/* Is --counters on the command line (before a "--")? */
static bool wants_counters(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--counters"))
			return true;
	return false;
}

/* Where --from-keepalived FILE is (its index in argv), 0 when absent. */
static int find_from_keepalived(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--from-keepalived") ||
		    !strncmp(argv[i], "--from-keepalived=", 18))
			return i;
	return 0;
}

static void kad_msg_stderr(const char *line, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "%s: %s\n", prog, line);
}

/* xlbctl --from-keepalived FILE: rules on stdout, nothing on error. */
static int from_keepalived(const char *file)
{
	struct xlb_kad_params p = { .msg = kad_msg_stderr };
	char err[768];
	int rc;

	rc = xlb_kad_convert_file(file, stdout, &p, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: --from-keepalived: %s\n", prog, err);
		return XLBCTL_EXIT_USAGE;
	}
	if (fflush(stdout) != 0)
		return XLBCTL_EXIT_USAGE;
	return 0;
}

/* xlbctl --counters: "GROUP NAME VALUE" lines, for scripts. */
static int counters(const char *path, bool json)
{
	struct xlb_counter_info *c = NULL;
	size_t n = 0;
	char err[512] = "";
	int fd, rc, status = 0;

	fd = connect_daemon(path);
	if (fd < 0)
		return XLBCTL_EXIT_NODAEMON;
	if (json) {
		rc = xlbctl_counters_json(fd, err, sizeof(err));
		if (rc)
			status = refused(rc, err);
		xlb_ctl_close(fd);
		return status;
	}
	rc = xlb_ctl_get_counters(fd, &c, &n, err, sizeof(err));
	if (rc)
		status = refused(rc, err);
	for (size_t i = 0; i < n; i++)
		printf("%s %s %" PRIu64 "\n", c[i].group, c[i].name, c[i].value);
	free(c);
	xlb_ctl_close(fd);
	if (fflush(stdout) != 0 && !status)
		status = XLBCTL_EXIT_USAGE;
	return status;
}

static int restore(const char *path)
{
	struct xlb_req *reqs = NULL;
	size_t *lines = NULL, n = 0, failed;
	char err[512];
	int fd, rc, status = 0;

	xlb_ipvsadm_set_warn(warn_stderr, NULL);
	rc = xlb_rules_parse_lines(stdin, &reqs, &lines, &n, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: -R: %s (nothing applied)\n", prog, err);
		return XLBCTL_EXIT_USAGE;
	}
	if (!n)
		return 0;
	fd = connect_daemon(path);
	if (fd < 0) {
		status = XLBCTL_EXIT_NODAEMON;
		goto out;
	}
	/* One batch: xlbd publishes all the lines as one change, or none. */
	err[0] = '\0';
	rc = xlb_ctl_apply_batch(fd, reqs, n, &failed, err, sizeof(err));
	if (rc && failed < n) {
		fprintf(stderr, "%s: -R: line %zu: %s (nothing applied)\n",
			prog, lines[failed], err[0] ? err : strerror(-rc));
		status = XLBCTL_EXIT_REFUSED;
	} else if (rc) {
		/* BEGIN refused, or the conversation broke: no line to blame. */
		fprintf(stderr, "%s: -R: %s\n", prog, err[0] ? err : strerror(-rc));
		status = failure_status(rc);
	}
	xlb_ctl_close(fd);
out:
	free(reqs);
	free(lines);
	return status;
}

int main(int argc, char **argv)
{
	const char *path, *opt_path;
	struct xlb_req req;
	char err[512];
	bool bad, json;
	int fd, rc, i, status = 0;

	opt_path = take_socket_opt(&argc, argv, &bad);
	if (bad)
		return usage_error("option '--socket' needs a value");
	path = opt_path ? opt_path : getenv("XLB_SOCKET");
	if (!path || !*path)
		path = XLB_CTL_SOCKET_DEFAULT;
	json = take_json_opt(&argc, argv);

	/* --counters is xlbctl's own (ipvsadm has no such command): a list
	 * of its own that takes no other option. */
	if (wants_counters(argc, argv)) {
		if (argc != 2)
			return usage_error("--counters cannot be combined with other options (only --socket and --json)");
		return counters(path, json);
	}

	/* --from-keepalived is xlbctl's own too: a converter that talks to
	 * no daemon. */
	if ((i = find_from_keepalived(argc, argv))) {
		const char *file = argv[i][17] == '=' ? argv[i] + 18 :
				   i + 1 < argc ? argv[i + 1] : NULL;
		int want = argv[i][17] == '=' ? 2 : 3;

		if (!file || !*file)
			return usage_error("option '--from-keepalived' needs a file");
		if (argc != want || json)
			return usage_error("--from-keepalived cannot be combined with other options");
		return from_keepalived(file);
	}

	if (xlb_ipvsadm_parse(argc, argv, &req, err, sizeof(err)))
		return usage_error(err);
	if (json && req.op != XLB_REQ_LIST)
		return usage_error("--json goes with -L (or --counters)");

	switch (req.op) {
	case XLB_REQ_HELP:
		usage(stdout);
		return 0;
	case XLB_REQ_VERSION:
		printf("xlbctl %s (ipvsadm-compatible, IPVS layout 1.2.1)\n",
		       XLB_VERSION_STRING);
		return 0;
	case XLB_REQ_RESTORE:
		return restore(path);
	default:
		break;
	}

	fd = connect_daemon(path);
	if (fd < 0)
		return XLBCTL_EXIT_NODAEMON;
	err[0] = '\0';
	switch (req.op) {
	case XLB_REQ_LIST:
		rc = json ? xlbctl_list_json(fd, &req, err, sizeof(err)) :
			    xlbctl_list(fd, &req, err, sizeof(err));
		break;
	case XLB_REQ_SAVE:
		rc = xlbctl_save(fd, req.list_flags & XLB_LIST_NUMERIC,
				 err, sizeof(err));
		break;
	default:
		rc = xlb_ctl_apply(fd, &req, err, sizeof(err));
		break;
	}
	if (rc)
		status = refused(rc, err);
	xlb_ctl_close(fd);
	if (fflush(stdout) != 0 && !status)
		status = XLBCTL_EXIT_USAGE;
	return status;
}
