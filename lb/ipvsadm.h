/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ipvsadm's language, written once for xlbctl (command line, -R, -S) and
 * xlbd (--rules): a command-line parser into struct xlb_req, a rules-file
 * parser (ipvsadm-save format), and the save-line printer.
 *
 * Library code: nothing here prints to stdout/stderr or exits. Errors are
 * -EINVAL with one sentence in the caller's buffer; warnings go to
 * pr_warn() (log.h) or to the hook set with xlb_ipvsadm_set_warn().
 */
#ifndef XLB_IPVSADM_H
#define XLB_IPVSADM_H

#include <stddef.h>
#include <stdio.h>
#include "xlb-t.h"

/* Longest timeout ipvsadm accepts (-p, --set): 31 days. */
#define XLB_IPVSADM_MAX_TIMEOUT	(86400 * 31)
/* Range of --vnodes (xlb extension: ring points per unit of weight). */
#define XLB_IPVSADM_VNODES_MIN	1
#define XLB_IPVSADM_VNODES_MAX	4096

/*
 * Parse one ipvsadm-style command line (argv[0] is the program name; no
 * global state, so it can be called any number of times). Fills req (zeroed
 * first, defaults applied: sched "ring", vnodes 160, weight 1, fwd DR, dest
 * port = service port when omitted, persistence timeout 300 when -p has no
 * value, netmask 255.255.255.255). Returns 0, or -EINVAL with a sentence in
 * err. Validates ranges, the scheduler name (every IPVS scheduler and
 * "ring", as sched.h registers them; the error lists the known names), -b
 * (ipvsadm's names, sh-* only with -s sh, mh-* only with -s mh), DR/TUN
 * port == service port, and which options go with which command
 * (ipvsadm's table).
 */
int xlb_ipvsadm_parse(int argc, char **argv, struct xlb_req *req,
		      char *err, size_t errlen);

/*
 * Same as xlb_ipvsadm_parse() for one line of a rules file; -L, -S, -R,
 * -h and -v are refused. Every IPVS scheduler exists, so *foreign (kept
 * for callers) is always "".
 */
int xlb_ipvsadm_parse_rule(int argc, char **argv, struct xlb_req *req,
			   char *foreign, size_t foreignlen,
			   char *err, size_t errlen);

/* Names of the schedulers xlb knows, ", "-separated (XLB_SCHED_LIST). */
const char *xlb_ipvsadm_known_scheds(void);

/* Warning hook (default: pr_warn() of log.h). msg is one sentence without
 * newline. */
typedef void (*xlb_ipvsadm_warn_fn)(const char *msg, void *ctx);
void xlb_ipvsadm_set_warn(xlb_ipvsadm_warn_fn fn, void *ctx);

/*
 * Read a rules file in ipvsadm-save format (lines like
 * "-A -t 10.0.0.1:80 -s ring", "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1";
 * blank lines and # comments skipped; a leading "ipvsadm" or "xlbctl" word
 * is skipped). All lines are parsed first; on any error nothing is returned
 * and err says "line N: ...". On success *reqs is a malloc'd array of *n
 * requests (free() it; NULL when *n is 0).
 */
int xlb_rules_parse(FILE *in, struct xlb_req **reqs, size_t *n,
		    char *err, size_t errlen);
/* The same, and when lines is not NULL, *lines is a malloc'd array of the
 * line number of each request (free() it), to report "line N" when the
 * daemon refuses request i. */
int xlb_rules_parse_lines(FILE *in, struct xlb_req **reqs, size_t **lines,
			  size_t *n, char *err, size_t errlen);

/* Print one service / one destination as an ipvsadm-save line (for -S),
 * numeric, newline-terminated. */
void xlb_rules_print_svc(FILE *out, const struct xlb_svc_cfg *svc);
void xlb_rules_print_dest(FILE *out, const struct xlb_svc_cfg *svc,
			  const struct xlb_dest_cfg *d);
/* The same with names resolved (ipvsadm -S without -n) when !numeric. */
void xlb_rules_print_svc_fmt(FILE *out, const struct xlb_svc_cfg *svc,
			     bool numeric);
void xlb_rules_print_dest_fmt(FILE *out, const struct xlb_svc_cfg *svc,
			      const struct xlb_dest_cfg *d, bool numeric);

/* The same, followed by the health-check options of check (may be NULL)
 * and the service's --sorry-server and --quorum. */
void xlb_rules_print_svc_ex(FILE *out, const struct xlb_svc_cfg *svc,
			    const struct xlb_check *check, bool numeric);
void xlb_rules_print_dest_ex(FILE *out, const struct xlb_svc_cfg *svc,
			     const struct xlb_dest_cfg *d, const struct xlb_check *check,
			     bool numeric);

/*
 * "ADDR:PORT" (IPv4) or "[ADDR]:PORT" (IPv6, af AF_INET6) as ipvsadm prints it: numeric, or with the host name
 * (getnameinfo) and service name (getservbyport for proto) when they
 * resolve. addr and port in network order. Returns buf.
 */
char *xlb_ipvsadm_addrport(char *buf, size_t len, uint8_t af, const union xlb_inaddr *addr,
			   uint16_t port, uint8_t proto, bool numeric);

/* Forwarding method as ipvsadm names it: "Masq", "Route", "Tunnel";
 * and as its switch: "-m", "-g", "-i". */
const char *xlb_ipvsadm_fwd_name(uint8_t fwd);
const char *xlb_ipvsadm_fwd_switch(uint8_t fwd);

#endif /* XLB_IPVSADM_H */
