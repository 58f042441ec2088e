// SPDX-License-Identifier: GPL-2.0
/*
 * ipvsadm's language: command lines and rules files into struct xlb_req,
 * and xlb_req's configuration back into ipvsadm-save lines.
 *
 * The parser is our own rather than getopt_long: ipvsadm (popt) lets -p
 * take its optional value as the next word ("-p 300", which is what
 * ipvsadm-save writes), getopt cannot, and the parser must be re-entrant
 * because xlbd and -R call it once per rules line.
 *
 * Parsing is two passes: the first collects the command, the options
 * and their raw values; the second interprets them in a fixed order, so
 * "-r RIP" may come before "-t VIP:PORT" and still inherit its port.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ipvsadm.h"
#include "check.h"
#include "log.h"
#include "sched.h"

/* Options, in the order of ipvsadm's optnames[] where they exist. */
enum xlb_opt {
	OPT_NUMERIC,
	OPT_CONNECTION,
	OPT_SERVICE,
	OPT_SCHEDULER,
	OPT_PERSISTENT,
	OPT_NETMASK,
	OPT_SERVER,
	OPT_FORWARD,
	OPT_WEIGHT,
	OPT_UTHRESHOLD,
	OPT_LTHRESHOLD,
	OPT_TIMEOUT,
	OPT_STATS,
	OPT_RATE,
	OPT_EXACT,
	OPT_VNODES,
	OPT_OPS,
	OPT_SCHED_FLAGS,
	OPT_THRESHOLDS,
	OPT_PERSISTCONN,
	OPT_NOSORT,
	OPT_SORT,
	OPT_TUN_TYPE,
	OPT_TUN_PORT,
	OPT_TUN_NOCSUM,
	OPT_TUN_CSUM,
	OPT_TUN_REMCSUM,
	OPT_TUN_INFO,
	OPT_DAEMON,
	OPT_COUNT
};

static const char *const optnames[OPT_COUNT] = {
	"numeric", "connection", "service-address", "scheduler", "persistent",
	"netmask", "real-server", "forwarding-method", "weight", "u-threshold",
	"l-threshold", "timeout", "stats", "rate", "exact", "vnodes",
	"ops", "sched-flags", "thresholds", "persistent-conn", "nosort", "sort",
	"tun-type", "tun-port", "tun-nocsum", "tun-csum", "tun-remcsum",
	"tun-info", "daemon",
};

/* Commands, indexed by enum xlb_req_op. */
static const char *const cmdnames[] = {
	[XLB_REQ_ADD_SVC] = "add-service",
	[XLB_REQ_EDIT_SVC] = "edit-service",
	[XLB_REQ_DEL_SVC] = "delete-service",
	[XLB_REQ_CLEAR] = "clear",
	[XLB_REQ_ADD_DEST] = "add-server",
	[XLB_REQ_EDIT_DEST] = "edit-server",
	[XLB_REQ_DEL_DEST] = "delete-server",
	[XLB_REQ_LIST] = "list",
	[XLB_REQ_ZERO] = "zero",
	[XLB_REQ_SAVE] = "save",
	[XLB_REQ_RESTORE] = "restore",
	[XLB_REQ_SET_TIMEOUT] = "set",
	[XLB_REQ_HELP] = "help",
	[XLB_REQ_VERSION] = "version",
};

/*
 * Which options go with which command, as ipvsadm's commands_v_options:
 * '+' compulsory, 'x' illegal, '1' at most one of the '1's, ' ' optional.
 * Columns: -n -c svc -s -p -M -r fwd -w -x -y tmo sta rat exa vn
 *          ops -b thr pc nosort sort tun-type tun-port tun-nocsum tun-csum
 *          tun-remcsum tun-info daemon
 */
static const char cmd_opts[][OPT_COUNT] = {
	[XLB_REQ_ADD_SVC]     = "xx+   xxxxxxxxx   xxxxxxxxxxx",
	[XLB_REQ_EDIT_SVC]    = "xx+   xxxxxxxxx   xxxxxxxxxxx",
	[XLB_REQ_DEL_SVC]     = "xx+xxxxxxxxxxxxxxxxxxxxxxxxxx",
	[XLB_REQ_CLEAR]       = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[XLB_REQ_ADD_DEST]    = "xx+xxx+    xxxxxxxxxxx     xx",
	[XLB_REQ_EDIT_DEST]   = "xx+xxx+    xxxxxxxxxxx     xx",
	[XLB_REQ_DEL_DEST]    = "xx+xxx+xxxxxxxxxxxxxxxxxxxxxx",
	[XLB_REQ_LIST]        = " 11xxxxxxxx1   xxx    xxxxx 1",
	[XLB_REQ_ZERO]        = "xx xxxxxxxxxxxxxxxxxxxxxxxxxx",
	[XLB_REQ_SAVE]        = " xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[XLB_REQ_RESTORE]     = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	[XLB_REQ_SET_TIMEOUT] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
};

/* Values outside the ASCII range for long-only options. */
enum {
	TAG_SET = 256,
	TAG_TIMEOUT,
	TAG_STATS,
	TAG_RATE,
	TAG_VNODES,
	TAG_THRESHOLDS,
	TAG_PERSISTCONN,
	TAG_NOSORT,
	TAG_SORT,
	TAG_TUN_TYPE,
	TAG_TUN_PORT,
	TAG_TUN_NOCSUM,
	TAG_TUN_CSUM,
	TAG_TUN_REMCSUM,
	TAG_TUN_INFO,
	TAG_DAEMON,
	TAG_PE,
	/* What xlb refuses with a sentence (refusal()). */
	TAG_START_DAEMON,
	TAG_STOP_DAEMON,
	TAG_SYNC_OPT,
	TAG_FWMARK,
	TAG_IPV6,
	/* Health checks (xlb extension): long only, outside cmd_opts. */
	TAG_CHECK,
	TAG_CHECK_PORT,
	TAG_CHECK_PATH,
	TAG_CHECK_STATUS,
	TAG_CHECK_EXPECT,
	TAG_CHECK_EXEC,
	TAG_CHECK_INTERVAL,
	TAG_CHECK_TIMEOUT,
	TAG_CHECK_RISE,
	TAG_CHECK_FALL,
	TAG_SORRY,
	TAG_QUORUM,
	TAG_HEALTH,
	TAG_END
};

#define XOPT(tag)	(1u << ((tag) - TAG_CHECK))
#define XOPT_CHECKS	(XOPT(TAG_SORRY) - 1)	/* every --check* */

enum { ARG_NONE, ARG_REQ, ARG_OPT };

struct xlb_optdef {
	const char *lng;
	int shrt;	/* 0: long only */
	int arg;
	int tag;
};

static const struct xlb_optdef optdefs[] = {
	{ "add-service",	'A', ARG_NONE, 'A' },
	{ "edit-service",	'E', ARG_NONE, 'E' },
	{ "delete-service",	'D', ARG_NONE, 'D' },
	{ "clear",		'C', ARG_NONE, 'C' },
	{ "list",		'L', ARG_NONE, 'L' },
	{ NULL,			'l', ARG_NONE, 'L' },
	{ "zero",		'Z', ARG_NONE, 'Z' },
	{ "add-server",		'a', ARG_NONE, 'a' },
	{ "edit-server",	'e', ARG_NONE, 'e' },
	{ "delete-server",	'd', ARG_NONE, 'd' },
	{ "set",		0,   ARG_NONE, TAG_SET },
	{ "help",		'h', ARG_NONE, 'h' },
	{ "version",		'v', ARG_NONE, 'v' },
	{ "restore",		'R', ARG_NONE, 'R' },
	{ "save",		'S', ARG_NONE, 'S' },
	{ "tcp-service",	't', ARG_REQ,  't' },
	{ "udp-service",	'u', ARG_REQ,  'u' },
	{ "scheduler",		's', ARG_REQ,  's' },
	{ "persistent",		'p', ARG_OPT,  'p' },
	{ "netmask",		'M', ARG_REQ,  'M' },
	{ "real-server",	'r', ARG_REQ,  'r' },
	{ "masquerading",	'm', ARG_NONE, 'm' },
	{ "ipip",		'i', ARG_NONE, 'i' },
	{ "gatewaying",		'g', ARG_NONE, 'g' },
	{ "weight",		'w', ARG_REQ,  'w' },
	{ "u-threshold",	'x', ARG_REQ,  'x' },
	{ "l-threshold",	'y', ARG_REQ,  'y' },
	{ "numeric",		'n', ARG_NONE, 'n' },
	{ "connection",		'c', ARG_NONE, 'c' },
	{ "timeout",		0,   ARG_NONE, TAG_TIMEOUT },
	{ "stats",		0,   ARG_NONE, TAG_STATS },
	{ "rate",		0,   ARG_NONE, TAG_RATE },
	{ "exact",		'X', ARG_NONE, 'X' },
	{ "vnodes",		0,   ARG_REQ,  TAG_VNODES },
	{ "ops",		'o', ARG_NONE, 'o' },
	{ "sched-flags",	'b', ARG_REQ,  'b' },
	{ "pe",			0,   ARG_REQ,  TAG_PE },
	{ "thresholds",		0,   ARG_NONE, TAG_THRESHOLDS },
	{ "persistent-conn",	0,   ARG_NONE, TAG_PERSISTCONN },
	{ "nosort",		0,   ARG_NONE, TAG_NOSORT },
	{ "sort",		0,   ARG_NONE, TAG_SORT },
	{ "tun-type",		0,   ARG_REQ,  TAG_TUN_TYPE },
	{ "tun-port",		0,   ARG_REQ,  TAG_TUN_PORT },
	{ "tun-nocsum",		0,   ARG_NONE, TAG_TUN_NOCSUM },
	{ "tun-csum",		0,   ARG_NONE, TAG_TUN_CSUM },
	{ "tun-remcsum",	0,   ARG_NONE, TAG_TUN_REMCSUM },
	{ "tun-info",		0,   ARG_NONE, TAG_TUN_INFO },
	{ "daemon",		0,   ARG_NONE, TAG_DAEMON },
	{ "start-daemon",	0,   ARG_REQ,  TAG_START_DAEMON },
	{ "stop-daemon",	0,   ARG_REQ,  TAG_STOP_DAEMON },
	{ "syncid",		0,   ARG_REQ,  TAG_SYNC_OPT },
	{ "mcast-interface",	0,   ARG_REQ,  TAG_SYNC_OPT },
	{ "mcast-group",	0,   ARG_REQ,  TAG_SYNC_OPT },
	{ "mcast-port",		0,   ARG_REQ,  TAG_SYNC_OPT },
	{ "mcast-ttl",		0,   ARG_REQ,  TAG_SYNC_OPT },
	{ "sync-maxlen",	0,   ARG_REQ,  TAG_SYNC_OPT },
	{ "fwmark-service",	'f', ARG_REQ,  TAG_FWMARK },
	{ "ipv6",		'6', ARG_NONE, TAG_IPV6 },
	{ "check",		0,   ARG_REQ,  TAG_CHECK },
	{ "check-port",		0,   ARG_REQ,  TAG_CHECK_PORT },
	{ "check-path",		0,   ARG_REQ,  TAG_CHECK_PATH },
	{ "check-status",	0,   ARG_REQ,  TAG_CHECK_STATUS },
	{ "check-expect",	0,   ARG_REQ,  TAG_CHECK_EXPECT },
	{ "check-exec",		0,   ARG_REQ,  TAG_CHECK_EXEC },
	{ "check-interval",	0,   ARG_REQ,  TAG_CHECK_INTERVAL },
	{ "check-timeout",	0,   ARG_REQ,  TAG_CHECK_TIMEOUT },
	{ "check-rise",		0,   ARG_REQ,  TAG_CHECK_RISE },
	{ "check-fall",		0,   ARG_REQ,  TAG_CHECK_FALL },
	{ "sorry-server",	0,   ARG_REQ,  TAG_SORRY },
	{ "quorum",		0,   ARG_REQ,  TAG_QUORUM },
	{ "health",		0,   ARG_NONE, TAG_HEALTH },
};


#define MAX_POSITIONAL 8

/* What the first pass collects. */
struct xlb_raw {
	enum xlb_req_op cmd;
	const char *cmd_word;		/* how the command was spelled */
	unsigned int opts;		/* 1 << enum xlb_opt */
	uint8_t proto;
	const char *svc, *sched, *persist, *netmask, *server, *weight;
	const char *uthresh, *lthresh, *vnodes;
	const char *sched_flags, *tun_type, *tun_port;
	bool persist_given;
	uint8_t fwd;
	unsigned int xopts;		/* XOPT(TAG_*) */
	const char *xval[TAG_END - TAG_CHECK];
	const char *pos[MAX_POSITIONAL];
	int npos;
};

static xlb_ipvsadm_warn_fn warn_fn;
static void *warn_ctx;

void xlb_ipvsadm_set_warn(xlb_ipvsadm_warn_fn fn, void *ctx)
{
	warn_fn = fn;
	warn_ctx = ctx;
}

const char *xlb_ipvsadm_known_scheds(void)
{
	return XLB_SCHED_LIST;
}

static const struct xlb_optdef *find_long(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(optdefs) / sizeof(optdefs[0]); i++)
		if (optdefs[i].lng && strlen(optdefs[i].lng) == len &&
		    !strncmp(optdefs[i].lng, name, len))
			return &optdefs[i];
	return NULL;
}

static const struct xlb_optdef *find_short(int c)
{
	size_t i;

	for (i = 0; i < sizeof(optdefs) / sizeof(optdefs[0]); i++)
		if (optdefs[i].shrt == c)
			return &optdefs[i];
	return NULL;
}

static int set_command(struct xlb_raw *raw, enum xlb_req_op op,
		       char *err, size_t errlen)
{
	if (raw->cmd != XLB_REQ_NONE)
		return xlb_seterr_inval(err, errlen,
			    "multiple commands specified ('%s' and '%s')",
			    cmdnames[raw->cmd], cmdnames[op]);
	raw->cmd = op;
	return 0;
}

static int set_option(struct xlb_raw *raw, enum xlb_opt opt,
		      char *err, size_t errlen)
{
	if (raw->opts & (1u << opt))
		return xlb_seterr_inval(err, errlen, "multiple '%s' options specified",
			    optnames[opt]);
	raw->opts |= 1u << opt;
	return 0;
}

/*
 * What ipvsadm 1.31 accepts and xlb cannot do: refused on sight, with why
 * and what to use instead, never accepted and ignored.
 */
static int refusal(const struct xlb_optdef *d, const char *val, char *err, size_t errlen)
{
	switch (d->tag) {
	case TAG_FWMARK:
		return xlb_seterr_inval(err, errlen,
			    "firewall-mark services (-f %s) are not supported: xlb steers packets in XDP, before netfilter, where no packet carries an skb mark; give each virtual service as -t or -u VIP:PORT instead",
			    val ? val : "");
	case TAG_IPV6:
		return xlb_seterr_inval(err, errlen,
			    "-6 is for IPv6 firewall-mark services, which xlb does not support: give an IPv6 service as -t or -u [ADDR]:PORT");
	case TAG_PE:
		return xlb_seterr_inval(err, errlen,
			    "persistence engine '--pe %s' is not supported: xlb's persistence is by client address only (IPVS's SIP engine groups by Call-ID, which would need every datagram's payload parsed); use -p [timeout] with -M netmask",
			    val ? val : "");
	case TAG_START_DAEMON:
	case TAG_STOP_DAEMON:
	case TAG_SYNC_OPT:
		return xlb_seterr_inval(err, errlen,
			    "the connection synchronisation daemon ('--%s') is not supported: xlbd keeps its connections across a restart itself (--state-file), and directors behind ECMP with the same rules choose the same real server for a flow (the ring); there is no backup director to sync to",
			    d->lng);
	}
	return xlb_seterr_inval(err, errlen, "internal error: unhandled refusal");
}

/*
 * -b's value (scheduler flags: sh-fallback, sh-port, mh-fallback, mh-port,
 * flag-1..3), checked against the scheduler when it is known (-A, or -E
 * with -s; -E without -s: the service's scheduler is not known here).
 */
static int take_sched_flags(const struct xlb_raw *raw, struct xlb_req *req,
			    char *err, size_t errlen)
{
	uint32_t f = 0;
	char msg[160];

	if (raw->cmd != XLB_REQ_ADD_SVC && raw->cmd != XLB_REQ_EDIT_SVC)
		return xlb_seterr_inval(err, errlen,
			    "illegal 'sched-flags' option with the '%s' command",
			    cmdnames[raw->cmd]);
	if (xlb_sched_flags_parse(raw->opts & (1u << OPT_SCHEDULER) ? raw->sched :
				  raw->cmd == XLB_REQ_ADD_SVC ? XLB_SCHED_DEFAULT : NULL,
				  raw->sched_flags, &f, msg, sizeof(msg)))
		return xlb_seterr_inval(err, errlen, "%s", msg);
	req->svc.flags |= f;
	req->svc_set |= XLB_SVC_SET_SCHED_FLAGS;
	return 0;
}

/* Record one option (first pass). */
static int take(struct xlb_raw *raw, const struct xlb_optdef *d,
		const char *val, char *err, size_t errlen)
{
	switch (d->tag) {
	case TAG_FWMARK:
	case TAG_IPV6:
	case TAG_PE:
	case TAG_START_DAEMON:
	case TAG_STOP_DAEMON:
	case TAG_SYNC_OPT:
		return refusal(d, val, err, errlen);
	case 'o': return set_option(raw, OPT_OPS, err, errlen);
	case 'b':
		raw->sched_flags = val;
		return set_option(raw, OPT_SCHED_FLAGS, err, errlen);
	case TAG_THRESHOLDS: return set_option(raw, OPT_THRESHOLDS, err, errlen);
	case TAG_PERSISTCONN: return set_option(raw, OPT_PERSISTCONN, err, errlen);
	case TAG_NOSORT: return set_option(raw, OPT_NOSORT, err, errlen);
	case TAG_SORT: return set_option(raw, OPT_SORT, err, errlen);
	case TAG_TUN_INFO: return set_option(raw, OPT_TUN_INFO, err, errlen);
	case TAG_DAEMON: return set_option(raw, OPT_DAEMON, err, errlen);
	case TAG_TUN_TYPE:
		raw->tun_type = val;
		return set_option(raw, OPT_TUN_TYPE, err, errlen);
	case TAG_TUN_PORT:
		raw->tun_port = val;
		return set_option(raw, OPT_TUN_PORT, err, errlen);
	case TAG_TUN_NOCSUM: return set_option(raw, OPT_TUN_NOCSUM, err, errlen);
	case TAG_TUN_CSUM: return set_option(raw, OPT_TUN_CSUM, err, errlen);
	case TAG_TUN_REMCSUM: return set_option(raw, OPT_TUN_REMCSUM, err, errlen);
	case 'A': return set_command(raw, XLB_REQ_ADD_SVC, err, errlen);
	case 'E': return set_command(raw, XLB_REQ_EDIT_SVC, err, errlen);
	case 'D': return set_command(raw, XLB_REQ_DEL_SVC, err, errlen);
	case 'C': return set_command(raw, XLB_REQ_CLEAR, err, errlen);
	case 'L': return set_command(raw, XLB_REQ_LIST, err, errlen);
	case 'Z': return set_command(raw, XLB_REQ_ZERO, err, errlen);
	case 'a': return set_command(raw, XLB_REQ_ADD_DEST, err, errlen);
	case 'e': return set_command(raw, XLB_REQ_EDIT_DEST, err, errlen);
	case 'd': return set_command(raw, XLB_REQ_DEL_DEST, err, errlen);
	case 'R': return set_command(raw, XLB_REQ_RESTORE, err, errlen);
	case 'S': return set_command(raw, XLB_REQ_SAVE, err, errlen);
	case 'h': return set_command(raw, XLB_REQ_HELP, err, errlen);
	case 'v': return set_command(raw, XLB_REQ_VERSION, err, errlen);
	case TAG_SET: return set_command(raw, XLB_REQ_SET_TIMEOUT, err, errlen);
	case 't':
	case 'u':
		raw->proto = d->tag == 't' ? IPPROTO_TCP : IPPROTO_UDP;
		raw->svc = val;
		return set_option(raw, OPT_SERVICE, err, errlen);
	case 's':
		raw->sched = val;
		return set_option(raw, OPT_SCHEDULER, err, errlen);
	case 'p':
		raw->persist = val;
		return set_option(raw, OPT_PERSISTENT, err, errlen);
	case 'M':
		raw->netmask = val;
		return set_option(raw, OPT_NETMASK, err, errlen);
	case 'r':
		raw->server = val;
		return set_option(raw, OPT_SERVER, err, errlen);
	case 'g':
	case 'm':
	case 'i':
		raw->fwd = d->tag == 'g' ? XLB_FWD_DR :
			   d->tag == 'm' ? XLB_FWD_NAT : XLB_FWD_TUN;
		return set_option(raw, OPT_FORWARD, err, errlen);
	case 'w':
		raw->weight = val;
		return set_option(raw, OPT_WEIGHT, err, errlen);
	case 'x':
		raw->uthresh = val;
		return set_option(raw, OPT_UTHRESHOLD, err, errlen);
	case 'y':
		raw->lthresh = val;
		return set_option(raw, OPT_LTHRESHOLD, err, errlen);
	case 'n': return set_option(raw, OPT_NUMERIC, err, errlen);
	case 'c': return set_option(raw, OPT_CONNECTION, err, errlen);
	case TAG_TIMEOUT: return set_option(raw, OPT_TIMEOUT, err, errlen);
	case TAG_STATS: return set_option(raw, OPT_STATS, err, errlen);
	case TAG_RATE: return set_option(raw, OPT_RATE, err, errlen);
	case 'X': return set_option(raw, OPT_EXACT, err, errlen);
	case TAG_VNODES:
		raw->vnodes = val;
		return set_option(raw, OPT_VNODES, err, errlen);
	}
	if (d->tag >= TAG_CHECK && d->tag < TAG_END) {
		if (raw->xopts & XOPT(d->tag))
			return xlb_seterr_inval(err, errlen, "multiple '--%s' options specified", d->lng);
		raw->xopts |= XOPT(d->tag);
		raw->xval[d->tag - TAG_CHECK] = val;
		return 0;
	}
	return xlb_seterr_inval(err, errlen, "internal error: unhandled option");
}

/* An optional value is the next word unless that looks like an option
 * (popt's rule), so "-p 300" and "-p -M 255.255.255.0" both work. */
static const char *optional_value(int argc, char **argv, int *i)
{
	if (*i + 1 < argc && argv[*i + 1][0] != '-')
		return argv[++*i];
	return NULL;
}

static int collect(int argc, char **argv, struct xlb_raw *raw,
		   char *err, size_t errlen)
{
	bool only_pos = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (raw->npos == MAX_POSITIONAL)
				return xlb_seterr_inval(err, errlen,
					    "unexpected argument '%s'", a);
			raw->pos[raw->npos++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_pos = true;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct xlb_optdef *d = find_long(name, len);
			const char *val = NULL;

			if (!d)
				return xlb_seterr_inval(err, errlen, "unknown option '%.*s'",
					    (int)len + 2, a);
			if (d->arg == ARG_NONE && eq)
				return xlb_seterr_inval(err, errlen,
					    "option '--%s' takes no value",
					    d->lng);
			if (eq)
				val = eq + 1;
			else if (d->arg == ARG_REQ && i + 1 >= argc)
				return xlb_seterr_inval(err, errlen,
					    "option '--%s' needs a value",
					    d->lng);
			else if (d->arg == ARG_REQ)
				val = argv[++i];
			else if (d->arg == ARG_OPT)
				val = optional_value(argc, argv, &i);
			rc = take(raw, d, val, err, errlen);
			if (rc)
				return rc;
			continue;
		}
		/* Short options, possibly bundled: "-Ln", "-t10.0.0.1:80". */
		for (const char *p = a + 1; *p; p++) {
			const struct xlb_optdef *d = find_short((unsigned char)*p);
			const char *val = NULL;

			if (!d)
				return xlb_seterr_inval(err, errlen, "unknown option '-%c'",
					    *p);
			if (d->arg != ARG_NONE && p[1])
				val = p + 1;
			else if (d->arg == ARG_REQ && i + 1 >= argc)
				return xlb_seterr_inval(err, errlen,
					    "option '-%c' needs a value", *p);
			else if (d->arg == ARG_REQ)
				val = argv[++i];
			else if (d->arg == ARG_OPT)
				val = optional_value(argc, argv, &i);
			rc = take(raw, d, val, err, errlen);
			if (rc)
				return rc;
			if (d->arg != ARG_NONE)
				break;	/* the rest of the word was its value */
		}
	}
	return 0;
}

/* Digits only, within [min, max]; strtoul alone would take "-1" and " 7". */
static bool parse_uint(const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno == ERANGE || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool has_alpha(const char *s)
{
	for (; *s; s++)
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
			return true;
	return false;
}

/* Numeric IPv4 or IPv6 always; a host name (IPv4 only, as ipvsadm's
 * host_to_addr) when it looks like one, so that a mistyped dotted quad is
 * refused without a resolver round trip. */
static bool parse_addr(const char *s, uint8_t *af, union xlb_inaddr *addr)
{
	struct addrinfo hints = { .ai_family = AF_INET };
	struct addrinfo *res = NULL;
	struct in_addr in;

	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, s, &in) == 1) {
		*af = AF_INET;
		addr->ip = in.s_addr;
		return true;
	}
	if (inet_pton(AF_INET6, s, &addr->in6) == 1) {
		*af = AF_INET6;
		return true;
	}
	if (!*s || !has_alpha(s) || strchr(s, ':'))
		return false;
	if (getaddrinfo(s, NULL, &hints, &res) || !res)
		return false;
	*af = AF_INET;
	addr->ip = ((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr;
	freeaddrinfo(res);
	return true;
}

static bool parse_port(const char *s, uint8_t proto, uint16_t *port)
{
	struct servent *se;
	unsigned long v;

	if (parse_uint(s, 0, 65535, &v)) {
		*port = htons((uint16_t)v);
		return true;
	}
	if (!*s || !has_alpha(s))
		return false;
	se = getservbyname(s, proto == IPPROTO_UDP ? "udp" : "tcp");
	if (!se)
		return false;
	*port = (uint16_t)se->s_port;
	return true;
}

/*
 * "host[:port]" for a service (what = "service") or a real server, as
 * ipvsadm 1.31's parse_service: "[IPv6]:port", or a bare IPv6 address
 * (no port), or "IPv4-or-host[:port]".
 */
static int parse_addrport(const char *arg, uint8_t proto, const char *what,
			  uint8_t *af, union xlb_inaddr *addr, uint16_t *port, bool *has_port,
			  char *err, size_t errlen)
{
	char buf[256];
	char *colon = NULL, *host = buf;

	if (!arg || !*arg)
		return xlb_seterr_inval(err, errlen, "missing %s address", what);
	if (strlen(arg) >= sizeof(buf))
		return xlb_seterr_inval(err, errlen, "bad %s address '%.40s...': too long",
			    what, arg);
	strcpy(buf, arg);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || close[1] != ':' || !close[2])
			return xlb_seterr_inval(err, errlen,
				    "bad %s address '%s' (expected [IPv6 address]:port)", what, arg);
		*close = '\0';
		host = buf + 1;
		colon = close + 1;
		if (!parse_addr(host, af, addr) || *af != AF_INET6)
			return xlb_seterr_inval(err, errlen,
				    "bad %s address '%s' (expected an IPv6 address in brackets)",
				    what, host);
	} else if (strchr(buf, ':') != strrchr(buf, ':')) {
		/* Two colons or more: an IPv6 address without a port. */
		if (!parse_addr(buf, af, addr) || *af != AF_INET6)
			return xlb_seterr_inval(err, errlen,
				    "bad %s address '%s' (an IPv6 address with a port goes in brackets: [2001:db8::1]:80)",
				    what, arg);
	} else {
		colon = strchr(buf, ':');
		if (colon)
			*colon = '\0';
		if (!parse_addr(buf, af, addr) || *af != AF_INET)
			return xlb_seterr_inval(err, errlen,
				    "bad %s address '%s' (expected an IPv4 address, a host name or [IPv6]:port)",
				    what, buf);
	}
	*has_port = colon != NULL;
	if (colon && !parse_port(colon + 1, proto, port))
		return xlb_seterr_inval(err, errlen,
			    "bad %s port '%s' (expected 0..65535 or a service name)",
			    what, colon + 1);
	return 0;
}

/* A netmask must be dotted and contiguous (ones then zeros): anything
 * else cannot describe a client subnet. */
static bool parse_netmask(const char *s, uint32_t *mask)
{
	struct in_addr in;
	uint32_t h;

	if (inet_pton(AF_INET, s, &in) != 1)
		return false;
	h = ntohl(in.s_addr);
	if (h & (~h >> 1))
		return false;
	*mask = in.s_addr;
	return true;
}

static int check_opts(const struct xlb_raw *raw, char *err, size_t errlen)
{
	const char *row = cmd_opts[raw->cmd];
	int j, first1 = -1;

	for (j = 0; j < OPT_COUNT; j++) {
		bool given = raw->opts & (1u << j);

		if (!given && row[j] == '+')
			return xlb_seterr_inval(err, errlen,
				    "the '%s' command needs the '%s' option%s",
				    cmdnames[raw->cmd], optnames[j],
				    j == OPT_SERVICE ? " (-t or -u)" :
				    j == OPT_SERVER ? " (-r)" : "");
		if (!given)
			continue;
		if (row[j] == 'x')
			return xlb_seterr_inval(err, errlen,
				    "illegal '%s' option with the '%s' command",
				    optnames[j], cmdnames[raw->cmd]);
		if (row[j] == '1') {
			if (first1 >= 0)
				return xlb_seterr_inval(err, errlen,
					    "the option '%s' conflicts with the '%s' option in the '%s' command",
					    optnames[j], optnames[first1],
					    cmdnames[raw->cmd]);
			first1 = j;
		}
	}
	return 0;
}

#define HAS(raw, o) ((raw)->opts & (1u << (o)))

static int interpret_svc(const struct xlb_raw *raw, struct xlb_req *req,
			 bool rules, char *foreign, size_t foreignlen,
			 char *err, size_t errlen)
{
	unsigned long v;
	bool has_port = false;
	int rc;

	if (HAS(raw, OPT_SERVICE)) {
		req->has_svc = true;
		req->svc.key.proto = raw->proto;
		rc = parse_addrport(raw->svc, raw->proto, "service", &req->svc.key.af,
				    &req->svc.key.addr, &req->svc.key.port,
				    &has_port, err, errlen);
		if (rc)
			return rc;
		/* IPVS: an IPv6 service's netmask is a prefix length, 128
		 * unless -M says otherwise. */
		if (req->svc.key.af == AF_INET6 && req->svc.netmask == 0xffffffff)
			req->svc.netmask = 128;
	}
	if (HAS(raw, OPT_SCHEDULER)) {
		const char *s = raw->sched;

		(void)rules;
		(void)foreign;
		(void)foreignlen;
		if (!xlb_sched_known(s))
			return xlb_seterr_inval(err, errlen,
				    "unknown scheduler '%s' (known schedulers: %s)",
				    s, xlb_ipvsadm_known_scheds());
		snprintf(req->svc.sched, sizeof(req->svc.sched), "%s", s);
		req->svc_set |= XLB_SVC_SET_SCHED;
	}
	if (HAS(raw, OPT_PERSISTENT)) {
		/* -p 0 is xlb's way to turn persistence off with -E, which
		 * edits only the fields it names. */
		unsigned long min = raw->cmd == XLB_REQ_EDIT_SVC ? 0 : 1;

		v = XLB_PERSIST_DEFAULT;
		if (raw->persist &&
		    !parse_uint(raw->persist, min, XLB_IPVSADM_MAX_TIMEOUT, &v))
			return xlb_seterr_inval(err, errlen,
				    "invalid persistence timeout '%s' (%lu..%d seconds)",
				    raw->persist, min, XLB_IPVSADM_MAX_TIMEOUT);
		req->svc.timeout = (uint32_t)v;
		req->svc.flags = (req->svc.flags & ~XLB_SVC_F_PERSISTENT) |
				 (v ? XLB_SVC_F_PERSISTENT : 0);
		req->svc_set |= XLB_SVC_SET_PERSIST;
	}
	if (HAS(raw, OPT_NETMASK) && req->svc.key.af == AF_INET6) {
		/* ipvsadm 1.31: -M is a prefix length 1..128 for IPv6. */
		if (!parse_uint(raw->netmask, 1, 128, &v))
			return xlb_seterr_inval(err, errlen,
				    "bad IPv6 persistence netmask '%s' (expected a prefix length 1..128, like 64)",
				    raw->netmask);
		req->svc.netmask = (uint32_t)v;
		req->svc_set |= XLB_SVC_SET_NETMASK;
	} else if (HAS(raw, OPT_NETMASK)) {
		if (!parse_netmask(raw->netmask, &req->svc.netmask))
			return xlb_seterr_inval(err, errlen,
				    "bad persistence netmask '%s' (expected a dotted mask like 255.255.255.0)",
				    raw->netmask);
		req->svc_set |= XLB_SVC_SET_NETMASK;
	}
	if (HAS(raw, OPT_VNODES)) {
		if (!parse_uint(raw->vnodes, XLB_IPVSADM_VNODES_MIN,
				XLB_IPVSADM_VNODES_MAX, &v))
			return xlb_seterr_inval(err, errlen,
				    "vnodes '%s' out of range %d..%d",
				    raw->vnodes, XLB_IPVSADM_VNODES_MIN,
				    XLB_IPVSADM_VNODES_MAX);
		req->svc.vnodes = (uint32_t)v;
		req->svc_set |= XLB_SVC_SET_VNODES;
	}
	if (HAS(raw, OPT_OPS)) {
		if (raw->proto == IPPROTO_TCP)
			return xlb_seterr_inval(err, errlen,
				    "one-packet scheduling (-o) is for UDP services: every TCP packet of a connection must reach the same real server, which needs the connection's entry (drop -o, or use -u)");
		req->svc.flags |= XLB_SVC_F_ONEPACKET;
		req->svc_set |= XLB_SVC_SET_OPS;
	}
	if (HAS(raw, OPT_SCHED_FLAGS)) {
		rc = take_sched_flags(raw, req, err, errlen);
		if (rc)
			return rc;
	}
	/* As ipvsadm: only a persistent service may cover every port. */
	if (raw->cmd == XLB_REQ_ADD_SVC && !req->svc.key.port &&
	    !(req->svc.flags & XLB_SVC_F_PERSISTENT))
		return xlb_seterr_inval(err, errlen,
			    "zero port specified for non-persistent service '%s' (give VIP:PORT, or -p for an all-ports service)",
			    raw->svc);
	return 0;
}

/*
 * --tun-type and its options, as ipvsadm 1.31 checks them: only with -i;
 * ipip takes none of --tun-port and the checksum options. xlb's TUN is
 * IP-in-IP, so ipip is what -i already is, and gue and gre are refused.
 */
static int interpret_tunnel(const struct xlb_raw *raw, struct xlb_req *req,
			    char *err, size_t errlen)
{
	static const int opts[] = { OPT_TUN_PORT, OPT_TUN_NOCSUM, OPT_TUN_CSUM, OPT_TUN_REMCSUM };
	const char *type = raw->tun_type ? raw->tun_type : "ipip";
	bool any = HAS(raw, OPT_TUN_TYPE);
	size_t i;

	(void)req;
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		any |= HAS(raw, opts[i]);
	if (!any)
		return 0;
	if (raw->fwd != XLB_FWD_TUN || !HAS(raw, OPT_FORWARD))
		return xlb_seterr_inval(err, errlen,
			    "tunnel options conflict with the forwarding method: --tun-type and its options go with tunnelling (-i)");
	if (!strcmp(type, "gue") || !strcmp(type, "gre"))
		return xlb_seterr_inval(err, errlen,
			    "tunnel type '%s' is not supported: xlb's tunnelling is IP-in-IP only (--tun-type ipip, the default of -i)",
			    type);
	if (strcmp(type, "ipip"))
		return xlb_seterr_inval(err, errlen,
			    "illegal tunnel type '%s' (one of ipip, gue, gre; xlb has ipip)", type);
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (HAS(raw, opts[i]))
			return xlb_seterr_inval(err, errlen,
				    "illegal '%s' option with the 'ipip' tunnel type",
				    optnames[opts[i]]);
	return 0;
}

static int interpret_dest(const struct xlb_raw *raw, struct xlb_req *req,
			  char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN];
	unsigned long v;
	bool has_port = false;
	int rc;

	if (HAS(raw, OPT_SERVER)) {
		req->dest.port = req->svc.key.port;
		rc = parse_addrport(raw->server, raw->proto, "real server", &req->dest.af,
				    &req->dest.addr, &req->dest.port,
				    &has_port, err, errlen);
		if (rc)
			return rc;
		if (has_port)
			req->dest_set |= XLB_DEST_SET_PORT;
		if (has_port && !req->dest.port && req->svc.key.port)
			return xlb_seterr_inval(err, errlen,
				    "bad real server port 0 in '%s'",
				    raw->server);
	}
	if (HAS(raw, OPT_FORWARD)) {
		req->dest.fwd = raw->fwd;
		req->dest_set |= XLB_DEST_SET_FWD;
	}
	if (HAS(raw, OPT_WEIGHT)) {
		if (!parse_uint(raw->weight, 0, XLB_WEIGHT_MAX, &v))
			return xlb_seterr_inval(err, errlen,
				    "weight %s out of range 0..%d",
				    raw->weight, XLB_WEIGHT_MAX);
		req->dest.weight = (uint32_t)v;
		req->dest_set |= XLB_DEST_SET_WEIGHT;
	}
	if (HAS(raw, OPT_UTHRESHOLD)) {
		if (!parse_uint(raw->uthresh, 0, INT_MAX, &v))
			return xlb_seterr_inval(err, errlen,
				    "upper threshold %s out of range 0..%d",
				    raw->uthresh, INT_MAX);
		req->dest.u_thresh = (uint32_t)v;
		req->dest_set |= XLB_DEST_SET_UTHRESH;
	}
	if (HAS(raw, OPT_LTHRESHOLD)) {
		if (!parse_uint(raw->lthresh, 0, INT_MAX, &v))
			return xlb_seterr_inval(err, errlen,
				    "lower threshold %s out of range 0..%d",
				    raw->lthresh, INT_MAX);
		req->dest.l_thresh = (uint32_t)v;
		req->dest_set |= XLB_DEST_SET_LTHRESH;
	}
	rc = interpret_tunnel(raw, req, err, errlen);
	if (rc)
		return rc;
	/*
	 * DR and TUN deliver the client's packet unchanged, so the real
	 * server sees the virtual port. ipvsadm silently overrides a
	 * different port; we refuse it so nobody believes it was applied.
	 * -e without -g/-i keeps the server's method: the daemon checks.
	 */
	if ((raw->cmd == XLB_REQ_ADD_DEST ||
	     (raw->cmd == XLB_REQ_EDIT_DEST && HAS(raw, OPT_FORWARD))) &&
	    req->dest.fwd != XLB_FWD_NAT &&
	    req->dest.port != req->svc.key.port) {
		inet_ntop(xlb_af(req->dest.af), &req->dest.addr, a, sizeof(a));
		return xlb_seterr_inval(err, errlen,
			    xlb_af(req->dest.af) == AF_INET6 ?
			    "real server port %u differs from the service port %u: %s cannot change the port (use -m, or give [%s]:%u)" :
			    "real server port %u differs from the service port %u: %s cannot change the port (use -m, or give %s:%u)",
			    ntohs(req->dest.port), ntohs(req->svc.key.port),
			    req->dest.fwd == XLB_FWD_TUN ?
			    "tunnelling (-i)" : "direct routing (-g)",
			    a, ntohs(req->svc.key.port));
	}
	return 0;
}

#define XVAL(raw, tag) ((raw)->xval[(tag) - TAG_CHECK])

static int check_uint(const struct xlb_raw *raw, int tag, const char *name,
		      unsigned long min, unsigned long max, unsigned long *v,
		      char *err, size_t errlen)
{
	if (!parse_uint(XVAL(raw, tag), min, max, v))
		return xlb_seterr_inval(err, errlen, "--%s '%s' out of range %lu..%lu", name,
			    XVAL(raw, tag), min, max);
	return 0;
}

static int check_str(const char *v, char *dst, size_t n, const char *name,
		     char *err, size_t errlen)
{
	if (strlen(v) >= n)
		return xlb_seterr_inval(err, errlen, "--%s is longer than %zu characters", name, n - 1);
	snprintf(dst, n, "%s", v);
	return 0;
}

/* --check* (-A/-E/-a/-e), --sorry-server and --quorum (-A/-E), --health (-L). */
static int interpret_checks(const struct xlb_raw *raw, struct xlb_req *req,
			    char *err, size_t errlen)
{
	struct xlb_check *c = &req->check;
	bool svc_cmd = raw->cmd == XLB_REQ_ADD_SVC || raw->cmd == XLB_REQ_EDIT_SVC;
	bool dest_cmd = raw->cmd == XLB_REQ_ADD_DEST || raw->cmd == XLB_REQ_EDIT_DEST;
	unsigned long v;
	uint32_t ms;
	int rc;

	if ((raw->xopts & XOPT_CHECKS) && !svc_cmd && !dest_cmd)
		return xlb_seterr_inval(err, errlen, "--check options go with -A, -E, -a or -e, not with the '%s' command",
			    cmdnames[raw->cmd]);
	if ((raw->xopts & (XOPT(TAG_SORRY) | XOPT(TAG_QUORUM))) && !svc_cmd)
		return xlb_seterr_inval(err, errlen, "--sorry-server and --quorum go with -A or -E, not with the '%s' command",
			    cmdnames[raw->cmd]);
	if ((raw->xopts & XOPT(TAG_HEALTH)) && raw->cmd != XLB_REQ_LIST)
		return xlb_seterr_inval(err, errlen, "--health goes with -L");
	if (raw->xopts & XOPT(TAG_HEALTH))
		req->list_flags |= XLB_LIST_HEALTH;
	if (raw->xopts & XOPT(TAG_CHECK)) {
		if (xlb_check_kind_parse(XVAL(raw, TAG_CHECK), &c->kind))
			return xlb_seterr_inval(err, errlen, "unknown check '%s' (tcp, http, udp, exec or none)",
				    XVAL(raw, TAG_CHECK));
		c->set |= XLB_CHECK_SET_KIND;
	}
	if (raw->xopts & XOPT(TAG_CHECK_PORT)) {
		if ((rc = check_uint(raw, TAG_CHECK_PORT, "check-port", 1, 65535, &v, err, errlen)))
			return rc;
		c->port = htons((uint16_t)v);
		c->set |= XLB_CHECK_SET_PORT;
	}
	if (raw->xopts & XOPT(TAG_CHECK_PATH)) {
		if ((rc = check_str(XVAL(raw, TAG_CHECK_PATH), c->path, sizeof(c->path),
				    "check-path", err, errlen)))
			return rc;
		c->set |= XLB_CHECK_SET_PATH;
	}
	if (raw->xopts & XOPT(TAG_CHECK_STATUS)) {
		if ((rc = check_uint(raw, TAG_CHECK_STATUS, "check-status", 100, 599, &v, err, errlen)))
			return rc;
		c->status = (uint16_t)v;
		c->set |= XLB_CHECK_SET_STATUS;
	}
	if (raw->xopts & XOPT(TAG_CHECK_EXPECT)) {
		if ((rc = check_str(XVAL(raw, TAG_CHECK_EXPECT), c->expect, sizeof(c->expect),
				    "check-expect", err, errlen)))
			return rc;
		c->set |= XLB_CHECK_SET_EXPECT;
	}
	if (raw->xopts & XOPT(TAG_CHECK_EXEC)) {
		if ((rc = check_str(XVAL(raw, TAG_CHECK_EXEC), c->exec, sizeof(c->exec),
				    "check-exec", err, errlen)))
			return rc;
		if (!c->exec[0])
			return xlb_seterr_inval(err, errlen, "--check-exec needs a command");
		c->set |= XLB_CHECK_SET_EXEC;
	}
	if (raw->xopts & XOPT(TAG_CHECK_INTERVAL)) {
		if (xlb_check_parse_secs(XVAL(raw, TAG_CHECK_INTERVAL), XLB_CHECK_INTERVAL_MIN_MS,
					 XLB_CHECK_INTERVAL_MAX_MS, &ms))
			return xlb_seterr_inval(err, errlen, "--check-interval '%s': seconds from 0.01 to 3600 (e.g. 2 or 0.5)",
				    XVAL(raw, TAG_CHECK_INTERVAL));
		c->interval_ms = ms;
		c->set |= XLB_CHECK_SET_INTERVAL;
	}
	if (raw->xopts & XOPT(TAG_CHECK_TIMEOUT)) {
		if (xlb_check_parse_secs(XVAL(raw, TAG_CHECK_TIMEOUT), XLB_CHECK_INTERVAL_MIN_MS,
					 XLB_CHECK_INTERVAL_MAX_MS, &ms))
			return xlb_seterr_inval(err, errlen, "--check-timeout '%s': seconds from 0.01 to 3600 (e.g. 1 or 0.5)",
				    XVAL(raw, TAG_CHECK_TIMEOUT));
		c->timeout_ms = ms;
		c->set |= XLB_CHECK_SET_TIMEOUT;
	}
	if (raw->xopts & XOPT(TAG_CHECK_RISE)) {
		if ((rc = check_uint(raw, TAG_CHECK_RISE, "check-rise", 1, XLB_CHECK_RISE_MAX, &v,
				     err, errlen)))
			return rc;
		c->rise = (uint16_t)v;
		c->set |= XLB_CHECK_SET_RISE;
	}
	if (raw->xopts & XOPT(TAG_CHECK_FALL)) {
		if ((rc = check_uint(raw, TAG_CHECK_FALL, "check-fall", 1, XLB_CHECK_RISE_MAX, &v,
				     err, errlen)))
			return rc;
		c->fall = (uint16_t)v;
		c->set |= XLB_CHECK_SET_FALL;
	}
	rc = xlb_check_validate(c, err, errlen);
	if (rc)
		return rc;
	if (raw->xopts & XOPT(TAG_SORRY)) {
		const char *sv = XVAL(raw, TAG_SORRY);
		bool has_port = false;

		if (!strcmp(sv, "none")) {
			memset(&req->svc.sorry_addr, 0, sizeof(req->svc.sorry_addr));
			req->svc.sorry_port = 0;
		} else {
			static const union xlb_inaddr zero;
			uint8_t saf = AF_INET;

			req->svc.sorry_port = 0;
			rc = parse_addrport(sv, raw->proto, "sorry server", &saf, &req->svc.sorry_addr,
					    &req->svc.sorry_port, &has_port, err, errlen);
			if (rc)
				return rc;
			if (xlb_inaddr_eq(&req->svc.sorry_addr, &zero))
				return xlb_seterr_inval(err, errlen, "bad sorry server '%s'", sv);
			if (req->has_svc && saf != xlb_af(req->svc.key.af))
				return xlb_seterr_inval(err, errlen,
					    "sorry server '%s' is not of the service's address family", sv);
		}
		req->svc_set |= XLB_SVC_SET_SORRY;
	}
	if (raw->xopts & XOPT(TAG_QUORUM)) {
		if ((rc = check_uint(raw, TAG_QUORUM, "quorum", 0, UINT32_MAX, &v, err, errlen)))
			return rc;
		req->svc.quorum = (uint32_t)v;
		req->svc_set |= XLB_SVC_SET_QUORUM;
	}
	return 0;
}

static int interpret_set(const struct xlb_raw *raw, struct xlb_req *req,
			 char *err, size_t errlen)
{
	uint32_t *dst[3] = { &req->timeouts.tcp, &req->timeouts.tcp_fin,
			     &req->timeouts.udp };
	unsigned long v;
	int k;

	if (raw->npos != 3)
		return xlb_seterr_inval(err, errlen,
			    "--set needs 3 timeout values (tcp tcpfin udp), got %d",
			    raw->npos);
	for (k = 0; k < 3; k++) {
		if (!parse_uint(raw->pos[k], 0, XLB_IPVSADM_MAX_TIMEOUT, &v))
			return xlb_seterr_inval(err, errlen,
				    "invalid timeout value '%s' (0..%d seconds)",
				    raw->pos[k], XLB_IPVSADM_MAX_TIMEOUT);
		*dst[k] = (uint32_t)v;
	}
	return 0;
}

static void req_defaults(struct xlb_req *req)
{
	memset(req, 0, sizeof(*req));
	snprintf(req->svc.sched, sizeof(req->svc.sched), "%s",
		 XLB_SCHED_DEFAULT);
	req->svc.vnodes = XLB_VNODES_DEFAULT;
	req->svc.netmask = 0xffffffff;
	req->dest.weight = 1;
	req->dest.fwd = XLB_FWD_DR;
}

static int parse(int argc, char **argv, struct xlb_req *req, bool rules,
		 char *foreign, size_t foreignlen, char *err, size_t errlen)
{
	struct xlb_raw raw = { .cmd = XLB_REQ_NONE };
	int rc;

	req_defaults(req);
	if (foreign && foreignlen)
		foreign[0] = '\0';
	if (err && errlen)
		err[0] = '\0';

	/* Like ipvsadm: no argument at all lists the table. */
	if (argc <= 1 && !rules) {
		req->op = XLB_REQ_LIST;
		return 0;
	}
	rc = collect(argc, argv, &raw, err, errlen);
	if (rc)
		return rc;
	if (raw.cmd == XLB_REQ_NONE)
		return xlb_seterr_inval(err, errlen,
			    "no command given (one of -A -E -D -C -a -e -d -L -Z -S -R --set -h -v)");
	if (rules && (raw.cmd == XLB_REQ_LIST || raw.cmd == XLB_REQ_SAVE ||
		      raw.cmd == XLB_REQ_RESTORE || raw.cmd == XLB_REQ_HELP ||
		      raw.cmd == XLB_REQ_VERSION))
		return xlb_seterr_inval(err, errlen,
			    "the '%s' command is not allowed in a rules file",
			    cmdnames[raw.cmd]);
	req->op = raw.cmd;
	if (raw.cmd == XLB_REQ_HELP || raw.cmd == XLB_REQ_VERSION)
		return 0;
	rc = check_opts(&raw, err, errlen);
	if (rc)
		return rc;
	if (raw.cmd == XLB_REQ_SET_TIMEOUT) {
		rc = interpret_set(&raw, req, err, errlen);
		if (rc)
			return rc;
	} else if (raw.npos) {
		return xlb_seterr_inval(err, errlen, "unexpected argument '%s'",
			    raw.pos[0]);
	}
	if (raw.cmd == XLB_REQ_LIST &&
	    (HAS(&raw, OPT_CONNECTION) || HAS(&raw, OPT_TIMEOUT)) &&
	    (HAS(&raw, OPT_STATS) || HAS(&raw, OPT_RATE)))
		return xlb_seterr_inval(err, errlen, "options conflict in the list command: -c and --timeout cannot be combined with --stats or --rate");
	if (HAS(&raw, OPT_STATS) && HAS(&raw, OPT_RATE))
		return xlb_seterr_inval(err, errlen, "options conflict in the list command: choose one of --stats and --rate");

	rc = interpret_svc(&raw, req, rules, foreign, foreignlen, err, errlen);
	if (rc)
		return rc;
	rc = interpret_dest(&raw, req, err, errlen);
	if (rc)
		return rc;
	rc = interpret_checks(&raw, req, err, errlen);
	if (rc)
		return rc;

	if (HAS(&raw, OPT_NUMERIC))
		req->list_flags |= XLB_LIST_NUMERIC;
	if (HAS(&raw, OPT_CONNECTION))
		req->list_flags |= XLB_LIST_CONN;
	if (HAS(&raw, OPT_STATS))
		req->list_flags |= XLB_LIST_STATS;
	if (HAS(&raw, OPT_RATE))
		req->list_flags |= XLB_LIST_RATE;
	if (HAS(&raw, OPT_EXACT))
		req->list_flags |= XLB_LIST_EXACT;
	if (HAS(&raw, OPT_TIMEOUT))
		req->list_flags |= XLB_LIST_TIMEOUT;
	if (HAS(&raw, OPT_THRESHOLDS)) {
		if (raw.cmd != XLB_REQ_LIST)
			return xlb_seterr_inval(err, errlen,
				    "illegal 'thresholds' option with the '%s' command",
				    cmdnames[raw.cmd]);
		if (HAS(&raw, OPT_STATS) || HAS(&raw, OPT_RATE) ||
		    HAS(&raw, OPT_CONNECTION) || HAS(&raw, OPT_TIMEOUT))
			return xlb_seterr_inval(err, errlen, "options conflict in the list command: --thresholds cannot be combined with -c, --timeout, --stats or --rate");
		req->list_flags |= XLB_LIST_THRESHOLDS;
	}
	if (HAS(&raw, OPT_PERSISTCONN))
		req->list_flags |= XLB_LIST_PERSISTCONN;
	if (HAS(&raw, OPT_NOSORT))
		req->list_flags |= XLB_LIST_NOSORT;
	if (HAS(&raw, OPT_TUN_INFO))
		req->list_flags |= XLB_LIST_TUNINFO;
	if (HAS(&raw, OPT_DAEMON))
		req->list_flags |= XLB_LIST_DAEMON;
	return 0;
}

int xlb_ipvsadm_parse(int argc, char **argv, struct xlb_req *req,
		      char *err, size_t errlen)
{
	return parse(argc, argv, req, false, NULL, 0, err, errlen);
}

int xlb_ipvsadm_parse_rule(int argc, char **argv, struct xlb_req *req,
			   char *foreign, size_t foreignlen,
			   char *err, size_t errlen)
{
	return parse(argc, argv, req, true, foreign, foreignlen, err, errlen);
}

/*
 * Split a line into words in place: whitespace separates, "..." and '...'
 * group, a word starting with '#' ends the line. Returns the word count,
 * or -1 when there are more than max words or a quote is left open.
 */
static int split_words(char *s, char **words, int max)
{
	int n = 0;

	for (;;) {
		char *w, quote = 0;

		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (!*s || *s == '#')
			return n;
		if (n == max)
			return -1;
		w = s;
		words[n++] = w;
		/* Copy down over quote characters. */
		for (char *d = s;; s++) {
			if (quote) {
				if (!*s)
					return -1;
				if (*s == quote) {
					quote = 0;
					continue;
				}
			} else if (*s == '"' || *s == '\'') {
				quote = *s;
				continue;
			} else if (!*s || *s == ' ' || *s == '\t' ||
				   *s == '\r' || *s == '\n') {
				bool end = !*s;

				*d = '\0';
				if (end)
					return n;
				s++;
				break;
			}
			*d++ = *s;
		}
	}
}

static bool is_program_word(const char *w)
{
	const char *base = strrchr(w, '/');

	base = base ? base + 1 : w;
	return !strcmp(base, "ipvsadm") || !strcmp(base, "xlbctl");
}

#define RULE_MAX_WORDS	64

int xlb_rules_parse(FILE *in, struct xlb_req **reqs, size_t *n,
		    char *err, size_t errlen)
{
	return xlb_rules_parse_lines(in, reqs, NULL, n, err, errlen);
}

int xlb_rules_parse_lines(FILE *in, struct xlb_req **reqs, size_t **lines,
			  size_t *n, char *err, size_t errlen)
{
	struct xlb_req *out = NULL, *grown;
	size_t *lout = NULL, *lgrown;
	size_t count = 0, cap = 0, lineno = 0;
	char *line = NULL;
	size_t linecap = 0;
	char warned[16][XLB_SCHED_NAME_MAX];
	int nwarned = 0;
	char msg[256];
	int rc = 0;

	*reqs = NULL;
	*n = 0;
	if (lines)
		*lines = NULL;
	if (err && errlen)
		err[0] = '\0';
	while (getline(&line, &linecap, in) >= 0) {
		char *words[RULE_MAX_WORDS + 1];
		char foreign[XLB_SCHED_NAME_MAX];
		int nw, skip;

		lineno++;
		nw = split_words(line, words + 1, RULE_MAX_WORDS);
		if (nw < 0) {
			rc = xlb_seterr_inval(err, errlen,
				  "line %zu: unbalanced quote or more than %d words",
				  lineno, RULE_MAX_WORDS);
			goto out;
		}
		if (nw == 0)
			continue;
		skip = is_program_word(words[1]) ? 1 : 0;
		/* argv[0] for the parser: the program word or a stand-in. */
		words[skip] = (char *)"rules";
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(out, cap * sizeof(*out));
			if (!grown) {
				rc = -ENOMEM;
				xlb_seterr_inval(err, errlen, "line %zu: out of memory",
				     lineno);
				goto out;
			}
			out = grown;
			lgrown = realloc(lout, cap * sizeof(*lout));
			if (!lgrown) {
				rc = -ENOMEM;
				xlb_seterr_inval(err, errlen, "line %zu: out of memory",
				     lineno);
				goto out;
			}
			lout = lgrown;
		}
		rc = xlb_ipvsadm_parse_rule(nw + 1 - skip, words + skip,
					    &out[count], foreign,
					    sizeof(foreign), msg, sizeof(msg));
		if (rc) {
			xlb_seterr_inval(err, errlen, "line %zu: %s", lineno, msg);
			goto out;
		}
		lout[count] = lineno;
		count++;
		if (foreign[0]) {
			int k;

			for (k = 0; k < nwarned; k++)
				if (!strcmp(warned[k], foreign))
					break;
			if (k == nwarned && nwarned < 16) {
				snprintf(warned[nwarned++], XLB_SCHED_NAME_MAX,
					 "%s", foreign);
				snprintf(msg, sizeof(msg),
					 "line %zu: scheduler '%s' is not available, using 'ring' (the consistent-hash ring) instead",
					 lineno, foreign);
				if (warn_fn)
					warn_fn(msg, warn_ctx);
				else
					pr_warn("%s", msg);
			}
		}
	}
	if (ferror(in)) {
		rc = -EIO;
		xlb_seterr_inval(err, errlen, "line %zu: read error", lineno + 1);
		goto out;
	}
out:
	free(line);
	if (rc || !count) {
		free(out);
		free(lout);
		return rc;
	}
	*reqs = out;
	*n = count;
	if (lines)
		*lines = lout;
	else
		free(lout);
	return 0;
}

const char *xlb_ipvsadm_fwd_name(uint8_t fwd)
{
	switch (fwd) {
	case XLB_FWD_NAT: return "Masq";
	case XLB_FWD_TUN: return "Tunnel";
	case XLB_FWD_DR: return "Route";
	}
	return "Local";
}

const char *xlb_ipvsadm_fwd_switch(uint8_t fwd)
{
	switch (fwd) {
	case XLB_FWD_NAT: return "-m";
	case XLB_FWD_TUN: return "-i";
	}
	return "-g";
}

char *xlb_ipvsadm_addrport(char *buf, size_t len, uint8_t af, const union xlb_inaddr *addr,
			   uint16_t port, uint8_t proto, bool numeric)
{
	char host[NI_MAXHOST];
	char pname[32];

	af = xlb_af(af);
	inet_ntop(af, addr, host, sizeof(host));
	snprintf(pname, sizeof(pname), "%u", ntohs(port));
	if (!numeric) {
		struct sockaddr_storage ss = { 0 };
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		struct servent *se;

		if (af == AF_INET6) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_addr = addr->in6;
		} else {
			sin->sin_family = AF_INET;
			sin->sin_addr.s_addr = addr->ip;
		}
		if (getnameinfo((struct sockaddr *)&ss, af == AF_INET6 ? sizeof(*sin6) :
				sizeof(*sin), host, sizeof(host), NULL, 0, NI_NAMEREQD))
			inet_ntop(af, addr, host, sizeof(host));
		se = getservbyport(port, proto == IPPROTO_UDP ? "udp" : "tcp");
		if (se)
			snprintf(pname, sizeof(pname), "%s", se->s_name);
	}
	/* ipvsadm 1.31's addrport_to_anyname: an IPv6 host in brackets. */
	snprintf(buf, len, af == AF_INET6 ? "[%s]:%s" : "%s:%s", host, pname);
	return buf;
}

static void print_svc_switch(FILE *out, const struct xlb_svc_cfg *svc,
			     bool numeric)
{
	char ap[NI_MAXHOST + 40];

	fprintf(out, "%s %s", svc->key.proto == IPPROTO_UDP ? "-u" : "-t",
		xlb_ipvsadm_addrport(ap, sizeof(ap), svc->key.af, &svc->key.addr,
				     svc->key.port, svc->key.proto, numeric));
}

void xlb_rules_print_svc_fmt(FILE *out, const struct xlb_svc_cfg *svc,
			     bool numeric)
{
	xlb_rules_print_svc_ex(out, svc, NULL, numeric);
}

void xlb_rules_print_svc_ex(FILE *out, const struct xlb_svc_cfg *svc,
			    const struct xlb_check *check, bool numeric)
{
	struct in_addr mask = { .s_addr = svc->netmask };
	char m[INET_ADDRSTRLEN];

	fputs("-A ", out);
	print_svc_switch(out, svc, numeric);
	fprintf(out, " -s %s", svc->sched[0] ? svc->sched : XLB_SCHED_DEFAULT);
	if (svc->flags & XLB_SVC_F_PERSISTENT) {
		fprintf(out, " -p %u", svc->timeout);
		/* ipvsadm 1.31: an IPv6 service's -M is its prefix length,
		 * printed when it is not 128. */
		if (xlb_af(svc->key.af) == AF_INET6) {
			if (svc->netmask != 128)
				fprintf(out, " -M %u", svc->netmask);
		} else if (svc->netmask != 0xffffffff) {
			fprintf(out, " -M %s",
				inet_ntop(AF_INET, &mask, m, sizeof(m)));
		}
	}
	/* ipvsadm 1.31's order: -p, -M, --pe, -o, -b. */
	if (svc->flags & XLB_SVC_F_ONEPACKET)
		fputs(" -o", out);
	if (svc->flags & XLB_SVC_F_SCHED_ALL) {
		char fl[64];

		xlb_sched_flags_str(svc->sched, svc->flags, fl, sizeof(fl));
		if (fl[0])
			fprintf(out, " -b %s", fl);
	}
	/* xlb's extension, only when it is not the default, so a default
	 * configuration's save stays readable by ipvsadm -R. */
	if (svc->vnodes && svc->vnodes != XLB_VNODES_DEFAULT)
		fprintf(out, " --vnodes %u", svc->vnodes);
	/* Health checks (xlb's extensions), after ipvsadm's options. */
	if (check)
		xlb_check_print(out, check);
	if (!xlb_inaddr_eq(&svc->sorry_addr, &(union xlb_inaddr){ .ip6 = { 0 } })) {
		char ap[NI_MAXHOST + 40];

		/* Without a port it follows the service's. */
		if (svc->sorry_port)
			xlb_ipvsadm_addrport(ap, sizeof(ap), svc->key.af, &svc->sorry_addr,
					     svc->sorry_port, svc->key.proto, true);
		else
			inet_ntop(xlb_af(svc->key.af), &svc->sorry_addr, ap, sizeof(ap));
		fprintf(out, " --sorry-server %s", ap);
	}
	if (svc->quorum)
		fprintf(out, " --quorum %u", svc->quorum);
	fputc('\n', out);
}

void xlb_rules_print_dest_fmt(FILE *out, const struct xlb_svc_cfg *svc,
			      const struct xlb_dest_cfg *d, bool numeric)
{
	xlb_rules_print_dest_ex(out, svc, d, NULL, numeric);
}

void xlb_rules_print_dest_ex(FILE *out, const struct xlb_svc_cfg *svc,
			     const struct xlb_dest_cfg *d, const struct xlb_check *check,
			     bool numeric)
{
	char ap[NI_MAXHOST + 40];

	fputs("-a ", out);
	print_svc_switch(out, svc, numeric);
	fprintf(out, " -r %s %s -w %u",
		xlb_ipvsadm_addrport(ap, sizeof(ap), d->af, &d->addr, d->port,
				     svc->key.proto, numeric),
		xlb_ipvsadm_fwd_switch(d->fwd), d->weight);
	/* As ipvsadm 1.31 saves a tunnelling server: its tunnel type. */
	if (d->fwd == XLB_FWD_TUN)
		fputs(" --tun-type ipip", out);
	/* ipvsadm accepts -x/-y but does not save them; we do when set. */
	if (d->u_thresh)
		fprintf(out, " -x %u", d->u_thresh);
	if (d->l_thresh)
		fprintf(out, " -y %u", d->l_thresh);
	if (check)
		xlb_check_print(out, check);
	fputc('\n', out);
}

void xlb_rules_print_svc(FILE *out, const struct xlb_svc_cfg *svc)
{
	xlb_rules_print_svc_fmt(out, svc, true);
}

void xlb_rules_print_dest(FILE *out, const struct xlb_svc_cfg *svc,
			  const struct xlb_dest_cfg *d)
{
	xlb_rules_print_dest_fmt(out, svc, d, true);
}
