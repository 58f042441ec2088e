// SPDX-License-Identifier: GPL-2.0
/*
 * Drop-in ipvsadm 1.31 syntax: every option ipvsadm accepts for TCP/UDP
 * services parses (on the command line and in a rules file), everything
 * xlb cannot do is refused with a sentence that says why and what to use,
 * `-S -n` then `-R` gives back every persistence, one-packet and threshold
 * setting, and ipvsadm-save -n files (tests/unit/fixtures) restore
 * unchanged through the real tables.
 *
 * The restore path here is the daemon's own: xlb_rules_parse() (what -R
 * and xlbd --rules read), xlb_tables_apply_reqs() (what xlbd applies as
 * one batch), and the save printer over the published snapshot (what -S
 * prints, in ipvsadm's order: services by protocol, address, port; their
 * servers by address, port).
 *
 * NEEDS THE `sched` BRANCH: the fixtures ipvsadm-save-NAME.rules name the
 * IPVS schedulers (rr wrr lc wlc sed nq fo ovf lblc lblcr dh sh mh twos).
 * On a build whose only scheduler is 'ring' their restore runs them as
 * ring and -S says "-s ring": those tests (sched_fixture_*) fail for that
 * reason only, and pass once the schedulers are merged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ipvsadm.h"
#include "tables.h"
#include "ctl.h"

#ifndef XLB_FIXTURES
#define XLB_FIXTURES "tests/unit/fixtures"
#endif

static char err[512];

static void quiet(const char *msg, void *ctx)
{
	(void)msg;
	(void)ctx;
}

static int parse(const char *line, struct xlb_req *req, bool rule)
{
	static char buf[1024];
	char *argv[64], *w, *save = NULL;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	argv[argc++] = (char *)"xlbctl";
	for (w = strtok_r(buf, " ", &save); w && argc < 63; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	memset(err, 0, sizeof(err));
	return rule ? xlb_ipvsadm_parse_rule(argc, argv, req, NULL, 0, err, sizeof(err)) :
		      xlb_ipvsadm_parse(argc, argv, req, err, sizeof(err));
}

static void accepted(const char *line)
{
	struct xlb_req req;

	cr_expect_eq(parse(line, &req, false), 0, "'%s' should parse: %s", line, err);
}

static void refused(const char *line, const char *want)
{
	struct xlb_req req;
	int rc = parse(line, &req, false);

	cr_expect_eq(rc, -EINVAL, "'%s' should be refused, got %d", line, rc);
	cr_expect(strstr(err, want), "'%s': '%s' should say '%s'", line, err, want);
	/* The same in a rules file (-R, xlbd --rules). */
	if (line[1] != 'L') {
		rc = parse(line, &req, true);
		cr_expect_eq(rc, -EINVAL, "rule '%s' should be refused, got %d", line, rc);
		cr_expect(strstr(err, want), "rule '%s': '%s' should say '%s'", line, err, want);
	}
}

TestSuite(ipvsadm_compat, .timeout = 30);

/* ---- every option ---------------------------------------------------- */

Test(ipvsadm_compat, every_ipvsadm_option_for_tcp_and_udp_services_parses)
{
	static const char *const lines[] = {
		"-A -t 10.0.0.1:80", "--add-service --tcp-service 10.0.0.1:80",
		"-A -t 10.0.0.1:80 -s ring", "-A -t 10.0.0.1:80 --scheduler ring",
		"-A -t 10.0.0.1:80 -p", "-A -t 10.0.0.1:80 -p 600", "-A -t 10.0.0.1:80 --persistent 600",
		"-A -t 10.0.0.1:80 -p 600 -M 255.255.255.0",
		"-A -t 10.0.0.1:80 -p --netmask 255.255.0.0",
		"-A -u 10.0.0.1:53 -o", "-A -u 10.0.0.1:53 --ops", "-A -u 10.0.0.1:53 -p 60 -o",
		"-E -u 10.0.0.1:53 -o", "--edit-service -t 10.0.0.1:80 -p 30",
		"-D -t 10.0.0.1:80", "--delete-service -u 10.0.0.1:53",
		"-C", "--clear",
		"-a -t 10.0.0.1:80 -r 10.0.1.1", "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 2",
		"-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m", "-a -t 10.0.0.1:80 -r 10.0.1.1 --masquerading",
		"-a -t 10.0.0.1:80 -r 10.0.1.1 -i", "-a -t 10.0.0.1:80 -r 10.0.1.1 --ipip",
		"-a -t 10.0.0.1:80 -r 10.0.1.1 --gatewaying", "-a -t 10.0.0.1:80 -r 10.0.1.1 --weight 0",
		"-a -t 10.0.0.1:80 -r 10.0.1.1 -x 100 -y 50",
		"-a -t 10.0.0.1:80 -r 10.0.1.1 --u-threshold 100 --l-threshold 50",
		"-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-type ipip",
		"-a -t 10.0.0.1:80 --real-server 10.0.1.1",
		"-e -t 10.0.0.1:80 -r 10.0.1.1 -w 3", "--edit-server -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-type ipip",
		"-d -t 10.0.0.1:80 -r 10.0.1.1", "--delete-server -t 10.0.0.1:80 -r 10.0.1.1",
		"-L", "-l", "--list", "-L -n", "-L --numeric", "-Ln", "-L -c", "-L --connection",
		"-L -n -c --persistent-conn", "-L --stats", "-L --rate", "-L --thresholds",
		"-L --persistent-conn", "-L --nosort", "-L --sort", "-L -n --exact --stats",
		"-L -X --rate", "-L --timeout", "-L --tun-info", "-L --daemon", "-L -t 10.0.0.1:80",
		"-Z", "--zero", "-Z -t 10.0.0.1:80",
		"-S", "--save", "-S -n", "-R", "--restore",
		"--set 900 120 300", "-h", "--help", "-v", "--version",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		accepted(lines[i]);
}

Test(ipvsadm_compat, ops_sets_the_one_packet_flag_and_only_it)
{
	struct xlb_req req;

	cr_assert_eq(parse("-A -u 10.0.0.1:53 -p 60 -o", &req, false), 0, "%s", err);
	cr_expect_eq(req.svc.flags, XLB_SVC_F_PERSISTENT | XLB_SVC_F_ONEPACKET);
	cr_expect(req.svc_set & XLB_SVC_SET_OPS);
	cr_expect(req.svc_set & XLB_SVC_SET_PERSIST);
	cr_assert_eq(parse("-E -u 10.0.0.1:53 -o", &req, false), 0, "%s", err);
	cr_expect_eq(req.svc_set, XLB_SVC_SET_OPS, "an edit with -o changes -o alone");
	cr_assert_eq(parse("-E -u 10.0.0.1:53 -p 0", &req, false), 0, "%s", err);
	cr_expect_not(req.svc_set & XLB_SVC_SET_OPS);
}

Test(ipvsadm_compat, list_options_set_their_layouts)
{
	struct xlb_req req;

	cr_assert_eq(parse("-L -n --thresholds", &req, false), 0);
	cr_expect(req.list_flags & XLB_LIST_THRESHOLDS);
	cr_assert_eq(parse("-L -n --persistent-conn", &req, false), 0);
	cr_expect(req.list_flags & XLB_LIST_PERSISTCONN);
	cr_assert_eq(parse("-L -n --tun-info", &req, false), 0);
	cr_expect(req.list_flags & XLB_LIST_TUNINFO);
	cr_assert_eq(parse("-L --nosort", &req, false), 0);
	cr_expect(req.list_flags & XLB_LIST_NOSORT);
}

/* ---- every refusal --------------------------------------------------- */

Test(ipvsadm_compat, what_xlb_cannot_do_is_refused_with_why_and_what_instead)
{
	refused("-A -f 1 -s ring", "firewall-mark services (-f 1) are not supported: xlb steers packets in XDP");
	refused("-A --fwmark-service 7", "give each virtual service as -t or -u VIP:PORT");
	refused("-a -f 1 -r 10.0.1.1", "no packet carries an skb mark");
	refused("-A -t 10.0.0.1:80 -6", "-6 is for IPv6 firewall-mark services, which xlb does not support");
	refused("-A -t 10.0.0.1:80 -p --pe sip", "persistence engine '--pe sip' is not supported");
	refused("-A -t 10.0.0.1:80 --pe sip", "use -p [timeout] with -M netmask");
	refused("--start-daemon master", "the connection synchronisation daemon ('--start-daemon') is not supported");
	refused("--start-daemon backup --mcast-interface eth0", "--state-file");
	refused("--stop-daemon master", "'--stop-daemon'");
	refused("--start-daemon master --syncid 3", "ECMP");
	refused("--start-daemon master --mcast-group 224.0.0.81", "not supported");
	refused("--start-daemon master --mcast-port 8848", "not supported");
	refused("--start-daemon master --mcast-ttl 2", "not supported");
	refused("--start-daemon master --sync-maxlen 1400", "not supported");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-type gue --tun-port 6080",
		"tunnel type 'gue' is not supported: xlb's tunnelling is IP-in-IP only");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-type gre", "tunnel type 'gre' is not supported");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-type vxlan", "illegal tunnel type 'vxlan'");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -g --tun-type ipip",
		"tunnel options conflict with the forwarding method");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 --tun-type ipip", "go with tunnelling (-i)");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-type ipip --tun-port 6080",
		"illegal 'tun-port' option with the 'ipip' tunnel type");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-nocsum", "illegal 'tun-nocsum' option");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-csum", "illegal 'tun-csum' option");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-remcsum", "illegal 'tun-remcsum' option");
	refused("-A -t 10.0.0.1:80 -o", "one-packet scheduling (-o) is for UDP services");
	refused("-E -t 10.0.0.1:80 --ops", "drop -o, or use -u");
	/* Options in the wrong command, as ipvsadm's table says. */
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -o", "illegal 'ops' option with the 'add-server' command");
	refused("-A -t 10.0.0.1:80 --tun-type ipip", "illegal 'tun-type' option");
	refused("-L --tun-type ipip", "illegal 'tun-type' option with the 'list' command");
	refused("-L -c --daemon", "conflicts");
	refused("-A -u 10.0.0.1:53 --thresholds", "illegal 'thresholds' option");
}

/* -b's values belong to the schedulers that honour them (the sched
 * branch). On this build -b is part of the grammar and refused with a
 * sentence rather than an "unknown option". */
Test(ipvsadm_compat, sched_flags_are_in_the_grammar)
{
	struct xlb_req req;
	int rc = parse("-A -t 10.0.0.1:80 -s sh -b sh-port", &req, false);

	cr_expect(rc == 0, "got %d: %s", rc, err);
	refused("-A -t 10.0.0.1:80 -s ring -b sh-port", "incompatible scheduler flag");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 -b sh-port", "illegal 'sched-flags' option");
}

/* ---- the daemon's restore and save --------------------------------- */

/* Restores text as -R does into fresh tables and returns what -S -n
 * prints (malloc'd), or NULL with err set. */
static char *restore_save(const char *text)
{
	struct xlb_tables *t;
	struct xlb_req *reqs = NULL;
	const struct xlb_snap *s;
	size_t n = 0, failed = 0, len = 0;
	char *out = NULL;
	FILE *in, *o;
	int rc;

	xlb_ipvsadm_set_warn(quiet, NULL);
	in = fmemopen((void *)text, strlen(text), "r");
	cr_assert_not_null(in);
	rc = xlb_rules_parse(in, &reqs, &n, err, sizeof(err));
	fclose(in);
	if (rc)
		return NULL;
	cr_assert_eq(xlb_tables_new(&t), 0);
	rc = xlb_tables_apply_reqs(t, reqs, n, &failed, err, sizeof(err));
	free(reqs);
	if (rc) {
		xlb_tables_free(t);
		return NULL;
	}
	s = xlb_tables_current(t);
	o = open_memstream(&out, &len);
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		xlb_rules_print_svc(o, &s->svcs[i].cfg);
		for (uint32_t j = 0; j < s->svcs[i].ndests; j++)
			xlb_rules_print_dest(o, &s->svcs[i].cfg, &s->svcs[i].dests[j].cfg);
	}
	fclose(o);
	xlb_tables_free(t);
	return out;
}

static char *slurp(const char *name)
{
	char path[256], *buf = NULL;
	size_t len = 0;
	FILE *f, *o;
	int c;

	snprintf(path, sizeof(path), "%s/%s", XLB_FIXTURES, name);
	f = fopen(path, "r");
	cr_assert_not_null(f, "fixture %s (run from the top of the tree)", path);
	o = open_memstream(&buf, &len);
	while ((c = fgetc(f)) != EOF)
		fputc(c, o);
	fclose(f);
	fclose(o);
	return buf;
}

/* Restore then save gives the file back byte for byte. */
static void restores_unchanged(const char *name, const char *why)
{
	char *want = slurp(name), *got = restore_save(want);

	cr_assert_not_null(got, "%s refused: %s%s", name, err, why);
	cr_expect_str_eq(got, want, "%s: -S after -R differs%s", name, why);
	free(got);
	free(want);
}

Test(ipvsadm_compat, xlb_save_file_restores_unchanged)
{
	restores_unchanged("xlb-save-ring.rules", "");
}

Test(ipvsadm_compat, every_persistence_and_ops_setting_restores_unchanged)
{
	restores_unchanged("xlb-save-ring-persistence.rules", "");
}

#define SCHED_FIXTURE(name)							\
Test(ipvsadm_compat, sched_fixture_##name##_restores_unchanged,			\
     .description = "NEEDS the sched branch: scheduler '" #name "'")		\
{										\
	restores_unchanged("ipvsadm-save-" #name ".rules",			\
			   " (NEEDS the sched branch: scheduler '" #name	\
			   "' runs as 'ring' on a build without it)");		\
}

SCHED_FIXTURE(rr)
SCHED_FIXTURE(wrr)
SCHED_FIXTURE(lc)
SCHED_FIXTURE(wlc)
SCHED_FIXTURE(sed)
SCHED_FIXTURE(nq)
SCHED_FIXTURE(fo)
SCHED_FIXTURE(ovf)
SCHED_FIXTURE(lblc)
SCHED_FIXTURE(lblcr)
SCHED_FIXTURE(dh)
SCHED_FIXTURE(sh)
SCHED_FIXTURE(mh)
SCHED_FIXTURE(twos)

/* Each setting alone, from a command line: -S -n prints it, and -R of
 * that line gives the same configuration back. */
Test(ipvsadm_compat, save_then_restore_gives_back_each_setting)
{
	static const struct { const char *svc, *dest, *saved; } cases[] = {
		{ "-A -t 10.0.0.1:80 -p", NULL, "-A -t 10.0.0.1:80 -s ring -p 300\n" },
		{ "-A -t 10.0.0.1:80 -p 1", NULL, "-A -t 10.0.0.1:80 -s ring -p 1\n" },
		{ "-A -t 10.0.0.1:80 -p 2678400 -M 255.255.255.0", NULL,
		  "-A -t 10.0.0.1:80 -s ring -p 2678400 -M 255.255.255.0\n" },
		{ "-A -t 10.0.0.1:80 -M 255.255.255.0", NULL,
		  "-A -t 10.0.0.1:80 -s ring\n" },	/* a mask alone: ipvsadm saves none */
		{ "-A -u 10.0.0.1:53 -o", NULL, "-A -u 10.0.0.1:53 -s ring -o\n" },
		{ "-A -u 10.0.0.1:53 -o -p 90 -M 255.255.0.0", NULL,
		  "-A -u 10.0.0.1:53 -s ring -p 90 -M 255.255.0.0 -o\n" },
		{ "-A -t 10.0.0.1:80", "-a -t 10.0.0.1:80 -r 10.0.1.1 -x 1000 -y 800",
		  "-A -t 10.0.0.1:80 -s ring\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1 -x 1000 -y 800\n" },
		{ "-A -t 10.0.0.1:80", "-a -t 10.0.0.1:80 -r 10.0.1.1 -i -x 5",
		  "-A -t 10.0.0.1:80 -s ring\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -i -w 1 --tun-type ipip -x 5\n" },
		{ "-A -t 10.0.0.1:80", "-a -t 10.0.0.1:80 -r 10.0.1.1 -i --tun-type ipip",
		  "-A -t 10.0.0.1:80 -s ring\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -i -w 1 --tun-type ipip\n" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512], *once, *twice;

		snprintf(text, sizeof(text), "%s\n%s\n", cases[i].svc,
			 cases[i].dest ? cases[i].dest : "");
		once = restore_save(text);
		cr_assert_not_null(once, "'%s' refused: %s", cases[i].svc, err);
		cr_expect_str_eq(once, cases[i].saved, "case %zu", i);
		twice = restore_save(once);
		cr_assert_not_null(twice, "-R of '%s' refused: %s", once, err);
		cr_expect_str_eq(twice, once, "case %zu: -S -n then -R", i);
		free(once);
		free(twice);
	}
}

Test(ipvsadm_compat, the_tables_refuse_ops_for_tcp_and_for_nat_servers)
{
	struct xlb_tables *t;
	struct xlb_svc_cfg c;
	struct xlb_dest_cfg d;
	struct xlb_req req;

	cr_assert_eq(xlb_tables_new(&t), 0);
	cr_assert_eq(parse("-A -u 10.0.0.1:53 -o", &req, false), 0);
	c = req.svc;
	c.key.proto = IPPROTO_TCP;	/* as a hand-made control message could */
	cr_expect_eq(xlb_tables_add_svc(t, &c, XLB_SVC_SET_OPS, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "one-packet scheduling (-o) is for UDP services only"), "%s", err);
	cr_assert_eq(xlb_tables_add_svc(t, &req.svc, req.svc_set, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(parse("-a -u 10.0.0.1:53 -r 10.0.1.1:5353 -m", &req, false), 0, "%s", err);
	d = req.dest;
	cr_expect_eq(xlb_tables_add_dest(t, &req.svc.key, &d, req.dest_set, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "NAT (-m) cannot serve a one-packet (-o) service"), "%s", err);
	/* -E -p keeps -o: the flags are edited one by one. */
	cr_assert_eq(parse("-E -u 10.0.0.1:53 -p 30", &req, false), 0);
	cr_assert_eq(xlb_tables_edit_svc(t, &req.svc, req.svc_set, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(xlb_tables_current(t)->svcs[0].cfg.flags,
		     XLB_SVC_F_PERSISTENT | XLB_SVC_F_ONEPACKET);
	/* A NAT server already there keeps -o off. */
	cr_assert_eq(parse("-A -u 10.0.0.2:53", &req, false), 0);
	cr_assert_eq(xlb_tables_add_svc(t, &req.svc, req.svc_set, err, sizeof(err)), 0);
	cr_assert_eq(parse("-a -u 10.0.0.2:53 -r 10.0.1.1:5353 -m", &req, false), 0);
	cr_assert_eq(xlb_tables_add_dest(t, &req.svc.key, &req.dest, req.dest_set, err,
					 sizeof(err)), 0, "%s", err);
	cr_assert_eq(parse("-E -u 10.0.0.2:53 -o", &req, false), 0);
	cr_expect_eq(xlb_tables_edit_svc(t, &req.svc, req.svc_set, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "NAT (-m)"), "%s", err);
	xlb_tables_free(t);
}

/* ---- on the control socket ------------------------------------------ */

/* The message xlbctl sends for line, decoded as xlbd decodes it. */
static void sent(const char *line, struct xlb_ctl_msg *m)
{
	static uint8_t buf[4096];
	struct xlb_req req;

	cr_assert_eq(parse(line, &req, false), 0, "%s", err);
	cr_assert_gt(xlb_ctl_build_req(buf, sizeof(buf), &req, 1), 0);
	cr_assert_eq(xlb_ctl_parse((struct nlmsghdr *)buf, m, err, sizeof(err)), 0, "%s", err);
}

/* IPVS's FLAGS attribute is a {flags, mask} pair: an edit names in the
 * mask only the flags it sets, so -E -p leaves -o alone and -E -o leaves
 * persistence alone; an add sends both. */
Test(ipvsadm_compat, the_flags_attribute_masks_only_the_flags_a_request_names)
{
	struct xlb_ctl_msg m;

	sent("-A -u 10.0.0.1:53 -p 60 -o", &m);
	cr_expect_eq(m.svc.cfg.flags, XLB_SVC_F_PERSISTENT | XLB_SVC_F_ONEPACKET);
	cr_expect_eq(m.svc_flags_mask, XLB_SVC_F_PERSISTENT | XLB_SVC_F_ONEPACKET);
	sent("-A -u 10.0.0.1:53 -o", &m);
	cr_expect_eq(m.svc.cfg.flags, XLB_SVC_F_ONEPACKET);
	sent("-E -u 10.0.0.1:53 -p 30", &m);
	cr_expect_eq(m.svc_flags_mask, XLB_SVC_F_PERSISTENT);
	cr_expect_eq(m.svc.cfg.flags, XLB_SVC_F_PERSISTENT);
	cr_expect_eq(m.svc.cfg.timeout, 30u);
	sent("-E -u 10.0.0.1:53 -o", &m);
	cr_expect_eq(m.svc_flags_mask, XLB_SVC_F_ONEPACKET);
	cr_expect_eq(m.svc.cfg.flags, XLB_SVC_F_ONEPACKET);
	cr_expect_not(m.svc_set & XLB_SVC_SET_PERSIST, "no timeout sent with -o alone");
}
