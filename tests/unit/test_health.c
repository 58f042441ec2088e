// SPDX-License-Identifier: GPL-2.0
/*
 * Health checks (issue 13): the rise/fall state machine, the HTTP response
 * parser (pieces, bad lines, status mismatch, --check-expect), the options
 * (parsing, refusals, -S printing and re-reading every option), the control
 * protocol's check attributes, and the tables' health state (weight 0 when
 * down, kept across unrelated changes, reset by re-checking, stale results
 * ignored, sorry server and quorum).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "check.h"
#include "ctl.h"
#include "ipvsadm.h"
#include "ring.h"
#include "tables.h"

static char err[512];

static uint32_t ip(const char *s)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* ---- rise/fall ---- */

Test(health_sm, a_server_starts_up_and_goes_down_after_fall_consecutive_failures)
{
	struct xlb_health_sm sm;

	xlb_health_sm_init(&sm);
	cr_assert(sm.up);
	cr_assert_not(xlb_health_sm_step(&sm, false, 2, 3));
	cr_assert_not(xlb_health_sm_step(&sm, false, 2, 3));
	cr_assert(sm.up, "two failures of three: still up");
	cr_assert(xlb_health_sm_step(&sm, false, 2, 3), "the third changes the state");
	cr_assert_not(sm.up);
	cr_assert_not(xlb_health_sm_step(&sm, false, 2, 3), "a fourth changes nothing");
}

Test(health_sm, a_success_between_failures_starts_the_count_again)
{
	struct xlb_health_sm sm;

	xlb_health_sm_init(&sm);
	for (int i = 0; i < 10; i++) {
		cr_assert_not(xlb_health_sm_step(&sm, false, 2, 3));
		cr_assert_not(xlb_health_sm_step(&sm, false, 2, 3));
		cr_assert_not(xlb_health_sm_step(&sm, true, 2, 3));
	}
	cr_assert(sm.up);
}

Test(health_sm, a_down_server_comes_up_after_rise_consecutive_successes)
{
	struct xlb_health_sm sm;

	xlb_health_sm_init(&sm);
	cr_assert(xlb_health_sm_step(&sm, false, 3, 1), "fall 1: one failure is enough");
	cr_assert_not(xlb_health_sm_step(&sm, true, 3, 1));
	cr_assert_not(xlb_health_sm_step(&sm, true, 3, 1));
	cr_assert_not(xlb_health_sm_step(&sm, false, 3, 1), "a failure while down");
	cr_assert_not(xlb_health_sm_step(&sm, true, 3, 1));
	cr_assert_not(xlb_health_sm_step(&sm, true, 3, 1));
	cr_assert_not(sm.up, "the failure started the successes again");
	cr_assert(xlb_health_sm_step(&sm, true, 3, 1));
	cr_assert(sm.up);
	cr_assert(xlb_health_sm_step(&sm, false, 3, 1), "counts start afresh once up");
}

/* ---- HTTP response parser ---- */

static enum xlb_http_verdict feed_all(const char *resp, size_t piece, uint16_t status,
				      const char *expect, char *why)
{
	struct xlb_http_parse p;
	enum xlb_http_verdict v = XLB_HTTP_MORE;
	size_t len = strlen(resp);

	xlb_http_parse_init(&p, status, expect);
	for (size_t off = 0; off < len && v == XLB_HTTP_MORE; off += piece)
		v = xlb_http_parse_feed(&p, resp + off, len - off < piece ? len - off : piece);
	if (v == XLB_HTTP_MORE)
		v = xlb_http_parse_eof(&p);
	if (why)
		snprintf(why, XLB_HEALTH_ERR_MAX, "%s", p.error);
	return v;
}

Test(http_parse, status_200_is_ok_in_one_read_and_byte_by_byte)
{
	const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nrs1\n";

	cr_assert_eq(feed_all(r, 4096, 200, NULL, NULL), XLB_HTTP_OK);
	cr_assert_eq(feed_all(r, 1, 200, NULL, NULL), XLB_HTTP_OK);
	cr_assert_eq(feed_all("HTTP/1.0 200\r\n\r\n", 3, 200, NULL, NULL), XLB_HTTP_OK,
		     "a status line without a reason");
}

Test(http_parse, the_status_line_decides_before_the_rest_arrives)
{
	struct xlb_http_parse p;

	xlb_http_parse_init(&p, 200, NULL);
	cr_assert_eq(xlb_http_parse_feed(&p, "HTTP/1.1 2", 10), XLB_HTTP_MORE);
	cr_assert_eq(xlb_http_parse_feed(&p, "00 OK\r", 6), XLB_HTTP_MORE);
	cr_assert_eq(xlb_http_parse_feed(&p, "\n", 1), XLB_HTTP_OK);
}

Test(http_parse, another_status_fails_and_says_which)
{
	char why[XLB_HEALTH_ERR_MAX];

	cr_assert_eq(feed_all("HTTP/1.1 503 Service Unavailable\r\n\r\n", 7, 200, NULL, why),
		     XLB_HTTP_FAIL);
	cr_assert(strstr(why, "status 503, expected 200"), "%s", why);
	cr_assert_eq(feed_all("HTTP/1.1 204 No Content\r\n\r\n", 100, 204, NULL, NULL),
		     XLB_HTTP_OK, "--check-status 204");
	cr_assert_eq(feed_all("HTTP/1.1 200 OK\r\n\r\n", 100, 204, NULL, NULL), XLB_HTTP_FAIL);
}

Test(http_parse, bad_status_lines_fail)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n", "FOO 200 OK\r\n\r\n", "HTTP/1.1 20\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 200\x01OK\r\n", "\r\n", "SSH-2.0-OpenSSH_9.2\r\n",
	};
	char why[XLB_HEALTH_ERR_MAX];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(feed_all(bad[i], 2, 200, NULL, why), XLB_HTTP_FAIL, "%s", bad[i]);
		cr_assert(why[0], "a reason for %s", bad[i]);
	}
}

Test(http_parse, a_status_line_that_never_ends_fails_at_its_limit)
{
	struct xlb_http_parse p;
	char junk[1000];

	memset(junk, 'A', sizeof(junk));
	memcpy(junk, "HTTP/1.1 200 ", 13);
	xlb_http_parse_init(&p, 200, NULL);
	cr_assert_eq(xlb_http_parse_feed(&p, junk, sizeof(junk)), XLB_HTTP_FAIL);
	cr_assert(strstr(p.error, "longer than"), "%s", p.error);
}

Test(http_parse, a_close_before_or_inside_the_status_line_fails)
{
	char why[XLB_HEALTH_ERR_MAX];

	cr_assert_eq(feed_all("", 1, 200, NULL, why), XLB_HTTP_FAIL);
	cr_assert(strstr(why, "without a response"), "%s", why);
	cr_assert_eq(feed_all("HTTP/1.1 200 O", 1, 200, NULL, why), XLB_HTTP_FAIL);
	cr_assert(strstr(why, "status line"), "%s", why);
}

Test(http_parse, expect_is_found_in_the_body_split_at_any_point)
{
	const char *r = "HTTP/1.1 200 OK\r\nX-Status: maintenance\r\n\r\n<html>status: healthy</html>";

	for (size_t piece = 1; piece < strlen(r); piece++)
		cr_assert_eq(feed_all(r, piece, 200, "healthy", NULL), XLB_HTTP_OK, "pieces of %zu",
			     piece);
}

Test(http_parse, expect_missing_from_the_body_fails_even_if_a_header_has_it)
{
	char why[XLB_HEALTH_ERR_MAX];

	cr_assert_eq(feed_all("HTTP/1.1 200 OK\r\nX-Note: healthy\r\n\r\nsick", 5, 200, "healthy",
			      why), XLB_HTTP_FAIL);
	cr_assert(strstr(why, "does not contain \"healthy\""), "%s", why);
	cr_assert_eq(feed_all("HTTP/1.1 500 Oops\r\n\r\nhealthy", 5, 200, "healthy", NULL),
		     XLB_HTTP_FAIL, "the status comes first");
}

Test(http_parse, expect_with_a_repeated_prefix_is_found)
{
	/* "aab" in "aaab": a naive restart after the mismatch misses it. */
	cr_assert_eq(feed_all("HTTP/1.1 200 OK\r\n\r\naaab", 1, 200, "aab", NULL), XLB_HTTP_OK);
	cr_assert_eq(feed_all("HTTP/1.1 200 OK\r\n\r\nababac", 1, 200, "abac", NULL), XLB_HTTP_OK);
}

/* ---- options ---- */

static int parse_line(const char *line, struct xlb_req *req)
{
	static char buf[2048];
	char *argv[64];
	int argc = 0;
	char *w, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", line);
	argv[argc++] = (char *)"xlbctl";
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	err[0] = '\0';
	return xlb_ipvsadm_parse(argc, argv, req, err, sizeof(err));
}

static void refused(const char *line, const char *want)
{
	struct xlb_req req;
	int rc = parse_line(line, &req);

	cr_assert_eq(rc, -EINVAL, "'%s' should be refused (%d)", line, rc);
	cr_assert(strstr(err, want), "'%s': '%s' should contain '%s'", line, err, want);
}

Test(check_opts, every_option_is_parsed)
{
	struct xlb_req r;

	cr_assert_eq(parse_line("-A -t 10.0.0.1:80 --check http --check-port 8080 --check-path /hc "
				"--check-status 204 --check-expect ok --check-interval 0.5 "
				"--check-timeout 0.25 --check-rise 4 --check-fall 5 "
				"--sorry-server 10.0.9.9:8080 --quorum 3", &r), 0, "%s", err);
	cr_assert_eq(r.check.set, XLB_CHECK_SET_ALL & ~XLB_CHECK_SET_EXEC);
	cr_assert_eq(r.check.kind, XLB_CHECK_HTTP);
	cr_assert_eq(ntohs(r.check.port), 8080);
	cr_assert_str_eq(r.check.path, "/hc");
	cr_assert_eq(r.check.status, 204);
	cr_assert_str_eq(r.check.expect, "ok");
	cr_assert_eq(r.check.interval_ms, 500);
	cr_assert_eq(r.check.timeout_ms, 250);
	cr_assert_eq(r.check.rise, 4);
	cr_assert_eq(r.check.fall, 5);
	cr_assert_eq(r.svc.sorry_addr.ip, ip("10.0.9.9"));
	cr_assert_eq(ntohs(r.svc.sorry_port), 8080);
	cr_assert_eq(r.svc.quorum, 3);
	cr_assert(r.svc_set & XLB_SVC_SET_SORRY);
	cr_assert(r.svc_set & XLB_SVC_SET_QUORUM);
	cr_assert_eq(parse_line("-a -t 10.0.0.1:80 -r 10.0.1.1 --check exec --check-exec /bin/true",
				&r), 0, "%s", err);
	cr_assert_eq(r.check.kind, XLB_CHECK_EXEC);
	cr_assert_str_eq(r.check.exec, "/bin/true");
	cr_assert_eq(parse_line("-L -n --health", &r), 0, "%s", err);
	cr_assert(r.list_flags & XLB_LIST_HEALTH);
}

Test(check_opts, no_option_means_no_check)
{
	struct xlb_req r;

	cr_assert_eq(parse_line("-A -t 10.0.0.1:80", &r), 0, "%s", err);
	cr_assert_eq(r.check.set, 0);
	cr_assert_eq(r.svc.sorry_addr.ip, 0);
	cr_assert_eq(r.svc.quorum, 0);
}

Test(check_opts, seconds_take_up_to_three_decimals)
{
	uint32_t ms;

	cr_assert_eq(xlb_check_parse_secs("2", 10, 3600000, &ms), 0);
	cr_assert_eq(ms, 2000);
	cr_assert_eq(xlb_check_parse_secs("0.1", 10, 3600000, &ms), 0);
	cr_assert_eq(ms, 100);
	cr_assert_eq(xlb_check_parse_secs("1.025", 10, 3600000, &ms), 0);
	cr_assert_eq(ms, 1025);
	cr_assert_neq(xlb_check_parse_secs("1.0001", 10, 3600000, &ms), 0);
	cr_assert_neq(xlb_check_parse_secs(".5", 10, 3600000, &ms), 0);
	cr_assert_neq(xlb_check_parse_secs("5.", 10, 3600000, &ms), 0);
	cr_assert_neq(xlb_check_parse_secs("1e3", 10, 3600000, &ms), 0);
	cr_assert_neq(xlb_check_parse_secs("-1", 10, 3600000, &ms), 0);
	cr_assert_neq(xlb_check_parse_secs("0.001", 10, 3600000, &ms), 0, "below the minimum");
	cr_assert_neq(xlb_check_parse_secs("99999999999", 10, 3600000, &ms), 0);
}

Test(check_opts, bad_values_are_refused_with_a_sentence)
{
	refused("-A -t 10.0.0.1:80 --check icmp", "unknown check 'icmp'");
	refused("-A -t 10.0.0.1:80 --check-port 0", "--check-port '0' out of range 1..65535");
	refused("-A -t 10.0.0.1:80 --check-port 70000", "out of range");
	refused("-A -t 10.0.0.1:80 --check-path health", "must start with '/'");
	refused("-A -t 10.0.0.1:80 --check-status 99", "--check-status '99' out of range 100..599");
	refused("-A -t 10.0.0.1:80 --check-interval 0", "--check-interval '0'");
	refused("-A -t 10.0.0.1:80 --check-interval 2s", "--check-interval '2s'");
	refused("-A -t 10.0.0.1:80 --check-timeout 1.5555", "--check-timeout");
	refused("-A -t 10.0.0.1:80 --check-rise 0", "--check-rise '0' out of range 1..1000");
	refused("-A -t 10.0.0.1:80 --check-fall 1001", "--check-fall '1001' out of range");
	refused("-A -t 10.0.0.1:80 --quorum -1", "--quorum");
	refused("-A -t 10.0.0.1:80 --sorry-server 10.0.0.300", "sorry server");
	refused("-A -t 10.0.0.1:80 --check tcp --check tcp", "multiple '--check' options");
	refused("-D -t 10.0.0.1:80 --check tcp", "--check options go with -A, -E, -a or -e");
	refused("-a -t 10.0.0.1:80 -r 10.0.1.1 --sorry-server 10.0.0.9", "go with -A or -E");
	refused("-A -t 10.0.0.1:80 --health", "--health goes with -L");
}

/* Print the service and server lines, read them back as a rules file. */
static void round_trip(const char *svc_line, const char *dest_line)
{
	struct xlb_req a[2], *b = NULL;
	char *text = NULL;
	size_t len = 0, n = 0;
	FILE *f;

	cr_assert_eq(parse_line(svc_line, &a[0]), 0, "%s", err);
	cr_assert_eq(parse_line(dest_line, &a[1]), 0, "%s", err);
	f = open_memstream(&text, &len);
	xlb_rules_print_svc_ex(f, &a[0].svc, &a[0].check, true);
	xlb_rules_print_dest_ex(f, &a[0].svc, &a[1].dest, &a[1].check, true);
	fclose(f);
	f = fmemopen(text, len, "r");
	cr_assert_eq(xlb_rules_parse(f, &b, &n, err, sizeof(err)), 0, "%s\n%s", err, text);
	fclose(f);
	cr_assert_eq(n, 2, "%s", text);
	cr_assert(xlb_check_equal(&a[0].check, &b[0].check), "service check differs:\n%s", text);
	cr_assert(xlb_check_equal(&a[1].check, &b[1].check), "server check differs:\n%s", text);
	cr_assert_eq(a[0].svc.sorry_addr.ip, b[0].svc.sorry_addr.ip, "%s", text);
	cr_assert_eq(a[0].svc.sorry_port, b[0].svc.sorry_port, "%s", text);
	cr_assert_eq(a[0].svc.quorum, b[0].svc.quorum, "%s", text);
	free(b);
	free(text);
}

Test(check_opts, save_and_restore_give_back_every_option)
{
	round_trip("-A -t 10.0.0.1:80 --check http --check-port 8080 --check-path /a/b?c=d "
		   "--check-status 301 --check-expect OK --check-interval 0.75 --check-timeout 0.3 "
		   "--check-rise 7 --check-fall 9 --sorry-server 10.0.9.9:8080 --quorum 12",
		   "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 3 --check tcp --check-port 81 "
		   "--check-interval 1.5 --check-fall 1");
	round_trip("-A -u 10.0.0.1:53 --check udp --check-timeout 2 --sorry-server 10.0.9.9",
		   "-a -u 10.0.0.1:53 -r 10.0.1.1 --check-rise 1");
	round_trip("-A -t 10.0.0.1:80 --check none",
		   "-a -t 10.0.0.1:80 -r 10.0.1.1 --check exec --check-exec /usr/local/bin/hc");
}

Test(check_opts, strings_with_spaces_and_quotes_survive_save_and_restore)
{
	struct xlb_req r = { 0 }, *b = NULL;
	static const char *const cmds[] = {
		"curl -sf http://$XLB_RS_ADDR:$XLB_RS_PORT/ | grep -q 'up and running'",
		"echo \"it's \"'\"'fine'\"'\"",
		"a  b",
	};
	char *text = NULL;
	size_t len = 0, n = 0;
	FILE *f;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.svc.key.addr.ip = ip("10.0.0.1");
		r.svc.key.port = htons(80);
		r.svc.key.proto = IPPROTO_TCP;
		snprintf(r.svc.sched, sizeof(r.svc.sched), "ring");
		r.svc.vnodes = XLB_VNODES_DEFAULT;
		r.svc.netmask = 0xffffffff;
		r.check.set = XLB_CHECK_SET_KIND | XLB_CHECK_SET_EXEC | XLB_CHECK_SET_EXPECT;
		r.check.kind = XLB_CHECK_EXEC;
		snprintf(r.check.exec, sizeof(r.check.exec), "%s", cmds[i]);
		snprintf(r.check.expect, sizeof(r.check.expect), "%s", cmds[i]);
		f = open_memstream(&text, &len);
		xlb_rules_print_svc_ex(f, &r.svc, &r.check, true);
		fclose(f);
		f = fmemopen(text, len, "r");
		cr_assert_eq(xlb_rules_parse(f, &b, &n, err, sizeof(err)), 0, "%s: %s", text, err);
		fclose(f);
		cr_assert_str_eq(b[0].check.exec, cmds[i], "printed as %s", text);
		cr_assert_str_eq(b[0].check.expect, cmds[i], "printed as %s", text);
		free(b);
		free(text);
		text = NULL;
	}
}

Test(check_opts, effective_check_is_defaults_then_service_then_server)
{
	struct xlb_check s = { 0 }, d = { 0 }, e;

	xlb_check_effective(&e, NULL, NULL);
	cr_assert_eq(e.kind, XLB_CHECK_NONE, "no check by default: existing setups unchanged");
	cr_assert_eq(e.interval_ms, 2000);
	cr_assert_eq(e.timeout_ms, 1000);
	cr_assert_eq(e.rise, 2);
	cr_assert_eq(e.fall, 3);
	cr_assert_eq(e.status, 200);
	cr_assert_str_eq(e.path, "/");
	s.set = XLB_CHECK_SET_KIND | XLB_CHECK_SET_PATH | XLB_CHECK_SET_FALL;
	s.kind = XLB_CHECK_HTTP;
	snprintf(s.path, sizeof(s.path), "/svc");
	s.fall = 5;
	d.set = XLB_CHECK_SET_PATH | XLB_CHECK_SET_PORT;
	snprintf(d.path, sizeof(d.path), "/rs");
	d.port = htons(8080);
	xlb_check_effective(&e, &s, &d);
	cr_assert_eq(e.kind, XLB_CHECK_HTTP);
	cr_assert_str_eq(e.path, "/rs", "the server's own option wins");
	cr_assert_eq(e.fall, 5, "the service's where the server names none");
	cr_assert_eq(ntohs(e.port), 8080);
	cr_assert_eq(e.rise, 2);
}

/* ---- control protocol ---- */

Test(check_ctl, check_attributes_round_trip_through_a_message)
{
	struct xlb_req r;
	struct xlb_ctl_msg m;
	char buf[4096];
	int len;

	cr_assert_eq(parse_line("-A -t 10.0.0.1:80 --check http --check-port 8080 --check-path /x "
				"--check-status 204 --check-expect yes --check-interval 0.5 "
				"--check-timeout 0.2 --check-rise 3 --check-fall 4 "
				"--sorry-server 10.0.0.9 --quorum 2", &r), 0, "%s", err);
	len = xlb_ctl_build_req(buf, sizeof(buf), &r, 1);
	cr_assert_gt(len, 0);
	cr_assert_eq(xlb_ctl_parse((struct nlmsghdr *)buf, &m, err, sizeof(err)), 0, "%s", err);
	cr_assert(m.has & XLB_CTL_HAS_SVC_CHECK);
	cr_assert(xlb_check_equal(&m.svc.check, &r.check));
	cr_assert_eq(m.svc.cfg.sorry_addr.ip, ip("10.0.0.9"));
	cr_assert_eq(m.svc.cfg.quorum, 2);
	cr_assert(m.svc_set & XLB_SVC_SET_SORRY);
	cr_assert(m.svc_set & XLB_SVC_SET_QUORUM);

	cr_assert_eq(parse_line("-e -t 10.0.0.1:80 -r 10.0.1.1 --check-fall 9", &r), 0, "%s", err);
	len = xlb_ctl_build_req(buf, sizeof(buf), &r, 2);
	cr_assert_gt(len, 0);
	cr_assert_eq(xlb_ctl_parse((struct nlmsghdr *)buf, &m, err, sizeof(err)), 0, "%s", err);
	cr_assert(m.has & XLB_CTL_HAS_DEST_CHECK);
	cr_assert_eq(m.dest.check.set, XLB_CHECK_SET_FALL, "only what was named");
	cr_assert_eq(m.dest.check.fall, 9);
}

Test(check_ctl, the_daemon_refuses_bad_check_values_with_a_sentence)
{
	struct xlb_req r;
	struct xlb_ctl_msg m;
	char buf[4096];
	int len;

	cr_assert_eq(parse_line("-A -t 10.0.0.1:80 --check http", &r), 0, "%s", err);
	/* What a foreign client could send: out of every range. */
	r.check.set |= XLB_CHECK_SET_STATUS;
	r.check.status = 42;
	len = xlb_ctl_build_req(buf, sizeof(buf), &r, 1);
	cr_assert_gt(len, 0);
	cr_assert_eq(xlb_ctl_parse((struct nlmsghdr *)buf, &m, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "--check-status 42 out of range"), "%s", err);
	r.check.status = 200;
	r.check.kind = 9;
	len = xlb_ctl_build_req(buf, sizeof(buf), &r, 1);
	cr_assert_eq(xlb_ctl_parse((struct nlmsghdr *)buf, &m, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "unknown check kind 9"), "%s", err);
}

/* ---- tables ---- */

static struct xlb_tables *t;

static void setup(void)
{
	cr_assert_eq(xlb_tables_new(&t), 0);
	err[0] = '\0';
}

static void teardown(void)
{
	xlb_tables_free(t);
	t = NULL;
}

static void apply(const char *line)
{
	struct xlb_req r;

	cr_assert_eq(parse_line(line, &r), 0, "%s: %s", line, err);
	cr_assert_eq(xlb_tables_apply_req(t, &r, err, sizeof(err)), 0, "%s: %s", line, err);
}

static int apply_rc(const char *line)
{
	struct xlb_req r;

	cr_assert_eq(parse_line(line, &r), 0, "%s: %s", line, err);
	return xlb_tables_apply_req(t, &r, err, sizeof(err));
}

static const struct xlb_snap_svc *svc80(void)
{
	const struct xlb_snap_svc *s = xlb_snap_find(xlb_tables_current(t), IPPROTO_TCP,
						     ip("10.0.0.1"), htons(80));

	cr_assert(s);
	return s;
}

static const struct xlb_snap_dest *dest(const char *a)
{
	const struct xlb_snap_svc *s = svc80();
	int j = xlb_snap_find_dest(s, ip(a), htons(80));

	cr_assert_geq(j, 0, "%s", a);
	return &s->dests[j];
}

static struct xlb_health_change change(const char *a, bool down)
{
	struct xlb_health_change c = { .addr.ip = ip(a), .port = htons(80), .down = down };

	c.svc.proto = IPPROTO_TCP;
	c.svc.addr.ip = ip("10.0.0.1");
	c.svc.port = htons(80);
	c.hgen = dest(a)->hgen;
	return c;
}

/* Ring points of the server at addr (0: the ring never picks it). */
static uint32_t ring_share(const char *a)
{
	const struct xlb_snap_svc *s = svc80();
	int j = xlb_snap_find_dest(s, ip(a), htons(80));
	uint32_t hits = 0;

	for (uint32_t h = 0; h < 20000; h++)
		if (xlb_ring_lookup(s->ring, h * 214013u + 2531011u) == j)
			hits++;
	return hits;
}

static void three_servers(void)
{
	apply("-A -t 10.0.0.1:80 --check tcp");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1 -w 1");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.2 -w 1");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.3 -w 1");
}

TestSuite(health_tables, .init = setup, .fini = teardown);

Test(health_tables, a_down_server_has_weight_0_and_no_ring_share_and_keeps_its_weight)
{
	struct xlb_health_change c;
	size_t applied;
	uint64_t gen;

	three_servers();
	cr_assert_gt(ring_share("10.0.1.1"), 0);
	cr_assert_eq(svc80()->up_weight, 3);
	c = change("10.0.1.1", true);
	gen = xlb_tables_current(t)->gen;
	cr_assert_eq(xlb_tables_set_health(t, &c, 1, &applied, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(applied, 1);
	cr_assert_eq(xlb_tables_current(t)->gen, gen + 1, "published");
	cr_assert(dest("10.0.1.1")->down);
	cr_assert_eq(xlb_dest_weight(dest("10.0.1.1")), 0);
	cr_assert_eq(dest("10.0.1.1")->cfg.weight, 1, "the configured weight is kept (-L -n)");
	cr_assert_eq(ring_share("10.0.1.1"), 0);
	cr_assert_eq(svc80()->up_weight, 2);
	c.down = false;
	cr_assert_eq(xlb_tables_set_health(t, &c, 1, &applied, err, sizeof(err)), 0, "%s", err);
	cr_assert_gt(ring_share("10.0.1.1"), 0);
}

Test(health_tables, health_survives_unrelated_changes)
{
	struct xlb_health_change c;

	three_servers();
	c = change("10.0.1.2", true);
	cr_assert_eq(xlb_tables_set_health(t, &c, 1, NULL, err, sizeof(err)), 0, "%s", err);
	apply("-A -t 10.0.0.2:80");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.4");
	apply("-e -t 10.0.0.1:80 -r 10.0.1.2 -w 5");
	apply("-E -t 10.0.0.1:80 --vnodes 100");
	apply("-d -t 10.0.0.1:80 -r 10.0.1.1");
	cr_assert(dest("10.0.1.2")->down, "still down after five unrelated changes");
	cr_assert_eq(ring_share("10.0.1.2"), 0);
	cr_assert_eq(dest("10.0.1.2")->cfg.weight, 5);
}

Test(health_tables, a_new_check_or_a_re_added_server_starts_up_and_old_results_are_ignored)
{
	struct xlb_health_change c, stale;
	size_t applied = 9;

	three_servers();
	c = change("10.0.1.1", true);
	stale = c;
	cr_assert_eq(xlb_tables_set_health(t, &c, 1, NULL, err, sizeof(err)), 0, "%s", err);
	apply("-e -t 10.0.0.1:80 -r 10.0.1.1 --check-port 81");
	cr_assert_not(dest("10.0.1.1")->down, "a server's new check starts it afresh");
	cr_assert_neq(dest("10.0.1.1")->hgen, stale.hgen);
	cr_assert_eq(xlb_tables_set_health(t, &stale, 1, &applied, err, sizeof(err)), 0);
	cr_assert_eq(applied, 0, "a result of the old check is stale");
	cr_assert_not(dest("10.0.1.1")->down);

	c = change("10.0.1.2", true);
	cr_assert_eq(xlb_tables_set_health(t, &c, 1, NULL, err, sizeof(err)), 0, "%s", err);
	apply("-E -t 10.0.0.1:80 --check http");
	cr_assert_not(dest("10.0.1.2")->down, "the service's new check starts all afresh");

	c = change("10.0.1.3", true);
	cr_assert_eq(xlb_tables_set_health(t, &c, 1, NULL, err, sizeof(err)), 0, "%s", err);
	apply("-d -t 10.0.0.1:80 -r 10.0.1.3");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.3");
	cr_assert_not(dest("10.0.1.3")->down, "re-added: afresh");
	cr_assert_eq(xlb_tables_set_health(t, &c, 1, &applied, err, sizeof(err)), 0);
	cr_assert_eq(applied, 0);
}

Test(health_tables, the_sorry_server_is_the_fallback_and_not_a_real_server)
{
	struct xlb_health_change c[2];
	const struct xlb_snap_svc *s;

	apply("-A -t 10.0.0.1:80 --check tcp --sorry-server 10.0.9.9");
	s = svc80();
	cr_assert_geq(xlb_snap_fallback(s), 0, "a sorry server even without real servers");
	cr_assert_eq(s->dests[xlb_snap_fallback(s)].cfg.addr.ip, ip("10.0.9.9"));
	cr_assert_eq(s->dests[xlb_snap_fallback(s)].cfg.fwd, XLB_FWD_DR);
	cr_assert_lt(xlb_ring_lookup(s->ring, 12345), 0, "the ring never picks it");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1 -m");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.2 -m");
	s = svc80();
	cr_assert_eq(s->dests[xlb_snap_fallback(s)].cfg.fwd, XLB_FWD_NAT,
		     "the method of the service's servers");
	cr_assert_eq(apply_rc("-a -t 10.0.0.1:80 -r 10.0.9.9 -m"), -EEXIST);
	cr_assert(strstr(err, "sorry server"), "%s", err);
	cr_assert_eq(apply_rc("-d -t 10.0.0.1:80 -r 10.0.9.9"), -ENOENT);
	cr_assert_eq(apply_rc("-e -t 10.0.0.1:80 -r 10.0.9.9 -w 3"), -ENOENT);
	c[0] = change("10.0.1.1", true);
	c[1] = change("10.0.1.2", true);
	cr_assert_eq(xlb_tables_set_health(t, c, 2, NULL, err, sizeof(err)), 0, "%s", err);
	s = svc80();
	cr_assert_lt(xlb_ring_lookup(s->ring, 12345), 0, "no server up");
	cr_assert_eq(s->dests[xlb_snap_fallback(s)].cfg.addr.ip, ip("10.0.9.9"));
	apply("-E -t 10.0.0.1:80 --sorry-server none");
	cr_assert_lt(xlb_snap_fallback(svc80()), 0, "refused without a sorry server");
}

Test(health_tables, below_quorum_is_the_healthy_weight_under_w)
{
	struct xlb_health_change c;

	apply("-A -t 10.0.0.1:80 --check tcp --quorum 4");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.1 -w 2");
	apply("-a -t 10.0.0.1:80 -r 10.0.1.2 -w 2");
	cr_assert_not(xlb_snap_below_quorum(svc80()), "4 of 4");
	c = change("10.0.1.1", true);
	cr_assert_eq(xlb_tables_set_health(t, &c, 1, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert(xlb_snap_below_quorum(svc80()), "2 < 4");
	apply("-E -t 10.0.0.1:80 --quorum 2");
	cr_assert_not(xlb_snap_below_quorum(svc80()));
	apply("-E -t 10.0.0.1:80 --quorum 0");
	cr_assert_not(xlb_snap_below_quorum(svc80()), "0: no quorum");
}

Test(health_tables, refused_check_changes_change_nothing)
{
	uint64_t gen;

	three_servers();
	gen = xlb_tables_current(t)->gen;
	cr_assert_eq(apply_rc("-E -t 10.0.0.1:80 --check exec"), -EINVAL);
	cr_assert(strstr(err, "--check exec needs --check-exec"), "%s", err);
	cr_assert_eq(apply_rc("-a -t 10.0.0.1:80 -r 10.0.1.9 --check exec"), -EINVAL);
	cr_assert_eq(apply_rc("-E -t 10.0.0.1:80 --sorry-server 10.0.1.2"), -EEXIST);
	cr_assert(strstr(err, "also a real server"), "%s", err);
	cr_assert_eq(apply_rc("-E -t 10.0.0.1:80 --sorry-server 10.0.9.9:8080"), -EINVAL,
		     "DR keeps the port");
	cr_assert_eq(xlb_tables_current(t)->gen, gen, "nothing published");
	cr_assert_eq(svc80()->check->kind, XLB_CHECK_TCP);
	cr_assert_eq(svc80()->cfg.sorry_addr.ip, 0);
}

/* ---- the checker thread, against real listeners ---- */

#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "health.h"

#define NT 64

static int listen_on(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sin.sin_port = htons(*port);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0, "%s", strerror(errno));
	cr_assert_eq(listen(fd, 512), 0);
	getsockname(fd, (struct sockaddr *)&sin, &l);
	*port = ntohs(sin.sin_port);
	return fd;
}

static unsigned int count_down(const uint16_t *ports, unsigned int n)
{
	const struct xlb_snap_svc *s = xlb_snap_find(xlb_tables_current(t), IPPROTO_TCP,
						     ip("10.0.0.1"), htons(80));
	unsigned int down = 0;

	for (unsigned int i = 0; i < n; i++) {
		int j = xlb_snap_find_dest(s, htonl(INADDR_LOOPBACK), htons(ports[i]));

		cr_assert_geq(j, 0);
		down += s->dests[j].down;
	}
	return down;
}

/* Tick as xlbd's control thread does until want servers are down (or the
 * deadline); the seconds it took. */
static double tick_until(struct xlb_health *h, const uint16_t *ports, unsigned int want,
			 double max_s)
{
	struct timespec a, b;
	double el = 0;

	clock_gettime(CLOCK_MONOTONIC, &a);
	while (el < max_s) {
		xlb_health_tick(h);
		if (count_down(ports, NT) == want)
			break;
		usleep(10000);
		clock_gettime(CLOCK_MONOTONIC, &b);
		el = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	}
	return el;
}

Test(health_thread, servers_that_stop_listening_go_down_and_come_back,
     .init = setup, .fini = teardown, .timeout = 30)
{
	uint16_t ports[NT];
	int fds[NT];
	struct xlb_health *h;
	char line[128];
	double el;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) ||
	    system("ip link set lo up 2>/dev/null"))
		cr_skip_test("needs root: a network namespace of its own");
	apply("-A -t 10.0.0.1:80 --check tcp --check-interval 0.05 --check-timeout 0.04 "
	      "--check-rise 1 --check-fall 1");
	for (int i = 0; i < NT; i++) {
		ports[i] = 0;
		fds[i] = listen_on(&ports[i]);
		snprintf(line, sizeof(line), "-a -t 10.0.0.1:80 -r 127.0.0.1:%u -m", ports[i]);
		apply(line);
	}
	cr_assert_eq(xlb_health_start(&h, t, err, sizeof(err)), 0, "%s", err);
	el = tick_until(h, ports, 0, 0.5);
	/* Every change publishes tables and a new plan for the thread: the
	 * servers' timers are rebuilt each time, and none may be lost. */
	for (int round = 0; round < 4; round++) {
		for (int i = round; i < NT; i += 4) {
			close(fds[i]);
			fds[i] = -1;
		}
		el = tick_until(h, ports, (unsigned int)(NT / 4 * (round + 1)), 3);
		cr_assert_eq(count_down(ports, NT), NT / 4 * (round + 1),
			     "round %d: %u down after %.2f s", round, count_down(ports, NT), el);
		cr_assert_lt(el, 1.0, "round %d: fall 1 x 0.05 s took %.2f s", round, el);
	}
	for (int i = 0; i < NT; i++)
		fds[i] = listen_on(&ports[i]);
	el = tick_until(h, ports, 0, 3);
	cr_assert_eq(count_down(ports, NT), 0, "%u still down after %.2f s",
		     count_down(ports, NT), el);
	xlb_health_stop(h);
	for (int i = 0; i < NT; i++)
		close(fds[i]);
}

/* ---- IPv6 real servers (issue 14): the same probes over AF_INET6 ----
 * Against real listeners on ::1 in a namespace of the test's own; the
 * service [fd00::1]:80 is never reached (checks go to the servers). */

#include <pthread.h>
#include <sys/stat.h>

static union xlb_inaddr ip6(const char *s)
{
	union xlb_inaddr a = { .ip6 = { 0 } };

	cr_assert_eq(inet_pton(AF_INET6, s, &a.in6), 1, "%s", s);
	return a;
}

static struct xlb_svc_key svc6_key(uint8_t proto)
{
	struct xlb_svc_key k;

	memset(&k, 0, sizeof(k));
	k.af = AF_INET6;
	k.proto = proto;
	k.addr = ip6("fd00::1");
	k.port = htons(80);
	return k;
}

/* -1: no such server; else its down flag. */
static int down6(uint8_t proto, const char *a, uint16_t port)
{
	struct xlb_svc_key k = svc6_key(proto);
	union xlb_inaddr ra = ip6(a);
	const struct xlb_snap_svc *s = xlb_snap_find_key(xlb_tables_current(t), &k);
	int j;

	cr_assert(s, "no service [fd00::1]:80");
	j = xlb_snap_find_dest_af(s, AF_INET6, &ra, htons(port));
	return j < 0 ? -1 : s->dests[j].down;
}

static int sock6(int type, uint16_t *port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t l = sizeof(sin6);
	int fd = socket(AF_INET6, type, 0), one = 1;

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0, "%s", strerror(errno));
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 64), 0);
	getsockname(fd, (struct sockaddr *)&sin6, &l);
	*port = ntohs(sin6.sin6_port);
	return fd;
}

/* A port on ::1 nobody listens on (bound then closed). */
static uint16_t dead_port6(int type)
{
	uint16_t p = 0;

	close(sock6(type, &p));
	return p;
}

static void netns_or_skip(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) ||
	    system("ip link set lo up 2>/dev/null"))
		cr_skip_test("needs root: a network namespace of its own");
}

struct want6 {
	uint8_t proto;
	const char *addr;
	uint16_t port;
	int down;
};

/* Tick until every server has its wanted state (or max_s): true if so. */
static bool tick_until6(struct xlb_health *h, const struct want6 *w, size_t n, double max_s)
{
	for (int i = 0; i < (int)(max_s * 100); i++) {
		size_t ok = 0;

		xlb_health_tick(h);
		for (size_t k = 0; k < n; k++)
			ok += down6(w[k].proto, w[k].addr, w[k].port) == w[k].down;
		if (ok == n)
			return true;
		usleep(10000);
	}
	return false;
}

/* Tick until the server has been probed n times: a server starts up, so
 * "up" alone does not say a probe reached it. */
static bool checked6(struct xlb_health *h, uint8_t proto, const char *a, uint16_t port,
		     uint64_t n)
{
	struct xlb_svc_key k = svc6_key(proto);
	union xlb_inaddr ra = ip6(a);
	struct xlb_health_info hi;

	for (int i = 0; i < 300; i++) {
		xlb_health_tick(h);
		if (!xlb_health_info(h, &k, &ra, htons(port), &hi) && hi.checks >= n)
			return true;
		usleep(10000);
	}
	return false;
}

#define CHK6 "--check-interval 0.05 --check-timeout 0.2 --check-rise 1 --check-fall 1"

Test(health_ipv6, tcp_probes_reach_ipv6_servers_and_closed_ones_go_down,
     .init = setup, .fini = teardown, .timeout = 30)
{
	uint16_t live, dead;
	int fd;
	struct xlb_health *h;
	struct xlb_health_info hi;
	struct xlb_svc_key k = svc6_key(IPPROTO_TCP);
	union xlb_inaddr lo6 = ip6("::1");
	char line[160];

	netns_or_skip();
	fd = sock6(SOCK_STREAM, &live);
	dead = dead_port6(SOCK_STREAM);
	apply("-A -t [fd00::1]:80 --check tcp " CHK6);
	snprintf(line, sizeof(line), "-a -t [fd00::1]:80 -r [::1]:%u -m", live);
	apply(line);
	snprintf(line, sizeof(line), "-a -t [fd00::1]:80 -r [::1]:%u -m", dead);
	apply(line);
	cr_assert_eq(xlb_health_start(&h, t, err, sizeof(err)), 0, "%s", err);
	{
		const struct want6 w[] = { { IPPROTO_TCP, "::1", live, 0 },
					   { IPPROTO_TCP, "::1", dead, 1 } };

		cr_assert(tick_until6(h, w, 2, 3), "live down %d, dead down %d",
			  down6(IPPROTO_TCP, "::1", live), down6(IPPROTO_TCP, "::1", dead));
	}
	/* The checks are answered by family: the info is there, with why. */
	cr_assert_eq(xlb_health_info(h, &k, &lo6, htons(dead), &hi), 0);
	cr_assert_eq(hi.state, XLB_HEALTH_DOWN);
	cr_assert(strstr(hi.error, "refused"), "error: %s", hi.error);
	cr_assert(checked6(h, IPPROTO_TCP, "::1", live, 2), "the listener was never checked");
	cr_assert_eq(xlb_health_info(h, &k, &lo6, htons(live), &hi), 0);
	cr_assert_eq(hi.state, XLB_HEALTH_UP);
	cr_assert_gt(hi.checks, 0);
	/* The listener goes: its server goes down. */
	close(fd);
	{
		const struct want6 w[] = { { IPPROTO_TCP, "::1", live, 1 } };

		cr_assert(tick_until6(h, w, 1, 3), "closed listener still up");
	}
	xlb_health_stop(h);
}

struct http6 {
	int fd;
	int status;
	char host[128];		/* the Host header of the last request */
};

static void *http6_main(void *arg)
{
	struct http6 *s = arg;

	for (;;) {
		char buf[1024], out[128];
		int c = accept(s->fd, NULL, NULL);
		ssize_t n;
		char *hp;

		if (c < 0)
			return NULL;	/* the test shut the socket down */
		n = recv(c, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		hp = strstr(buf, "Host: ");
		if (hp) {
			size_t l = strcspn(hp + 6, "\r\n");

			snprintf(s->host, sizeof(s->host), "%.*s", (int)l, hp + 6);
		}
		n = snprintf(out, sizeof(out), "HTTP/1.0 %d X\r\nContent-Length: 2\r\n\r\nok",
			     s->status);
		if (send(c, out, (size_t)n, MSG_NOSIGNAL) < 0)
			(void)0;
		close(c);
	}
}

Test(health_ipv6, http_probes_get_from_ipv6_servers_with_a_bracketed_host,
     .init = setup, .fini = teardown, .timeout = 30)
{
	struct http6 ok = { .status = 200 }, bad = { .status = 500 };
	uint16_t pok, pbad;
	pthread_t tok, tbad;
	struct xlb_health *h;
	char line[160], want[64];

	netns_or_skip();
	ok.fd = sock6(SOCK_STREAM, &pok);
	bad.fd = sock6(SOCK_STREAM, &pbad);
	cr_assert_eq(pthread_create(&tok, NULL, http6_main, &ok), 0);
	cr_assert_eq(pthread_create(&tbad, NULL, http6_main, &bad), 0);
	apply("-A -t [fd00::1]:80 --check http --check-path /hc " CHK6);
	snprintf(line, sizeof(line), "-a -t [fd00::1]:80 -r [::1]:%u -m", pok);
	apply(line);
	snprintf(line, sizeof(line), "-a -t [fd00::1]:80 -r [::1]:%u -m", pbad);
	apply(line);
	cr_assert_eq(xlb_health_start(&h, t, err, sizeof(err)), 0, "%s", err);
	{
		const struct want6 w[] = { { IPPROTO_TCP, "::1", pok, 0 },
					   { IPPROTO_TCP, "::1", pbad, 1 } };

		cr_assert(tick_until6(h, w, 2, 3), "200 down %d, 500 down %d",
			  down6(IPPROTO_TCP, "::1", pok), down6(IPPROTO_TCP, "::1", pbad));
	}
	cr_assert(checked6(h, IPPROTO_TCP, "::1", pok, 2), "the 200 server was never checked");
	cr_assert_eq(down6(IPPROTO_TCP, "::1", pok), 0);
	xlb_health_stop(h);
	shutdown(ok.fd, SHUT_RDWR);
	shutdown(bad.fd, SHUT_RDWR);
	pthread_join(tok, NULL);
	pthread_join(tbad, NULL);
	close(ok.fd);
	close(bad.fd);
	snprintf(want, sizeof(want), "[::1]:%u", pok);
	cr_assert_str_eq(ok.host, want);
}

Test(health_ipv6, udp_probes_see_icmpv6_port_unreachable,
     .init = setup, .fini = teardown, .timeout = 30)
{
	uint16_t live, dead;
	int fd;
	struct xlb_health *h;
	char line[160];

	netns_or_skip();
	fd = sock6(SOCK_DGRAM, &live);	/* bound, silent: up (keepalived) */
	dead = dead_port6(SOCK_DGRAM);
	apply("-A -u [fd00::1]:80 --check udp " CHK6);
	snprintf(line, sizeof(line), "-a -u [fd00::1]:80 -r [::1]:%u -m", live);
	apply(line);
	snprintf(line, sizeof(line), "-a -u [fd00::1]:80 -r [::1]:%u -m", dead);
	apply(line);
	cr_assert_eq(xlb_health_start(&h, t, err, sizeof(err)), 0, "%s", err);
	{
		const struct want6 w[] = { { IPPROTO_UDP, "::1", live, 0 },
					   { IPPROTO_UDP, "::1", dead, 1 } };

		cr_assert(tick_until6(h, w, 2, 3), "bound down %d, unbound down %d",
			  down6(IPPROTO_UDP, "::1", live), down6(IPPROTO_UDP, "::1", dead));
	}
	cr_assert(checked6(h, IPPROTO_UDP, "::1", live, 3), "the bound server was never checked");
	cr_assert_eq(down6(IPPROTO_UDP, "::1", live), 0);
	xlb_health_stop(h);
	close(fd);
}

Test(health_ipv6, exec_gets_the_bare_ipv6_addresses_as_misc_check,
     .init = setup, .fini = teardown, .timeout = 30)
{
	struct xlb_health *h;
	char script[] = "/tmp/xlb-test-exec6-XXXXXX", line[160];
	int fd;
	FILE *f;

	netns_or_skip();
	/* Up only for the server whose address the command is given (a
	 * script: the test's rule parser splits on every space). */
	fd = mkstemp(script);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "#!/bin/sh\ntest \"$XLB_RS_ADDR\" = fd00::11 && "
		"test \"$XLB_VS_ADDR\" = fd00::1 && test \"$XLB_RS_PORT\" = 8080\n");
	fclose(f);
	chmod(script, 0700);
	snprintf(line, sizeof(line), "-A -t [fd00::1]:80 --check exec --check-exec %s " CHK6,
		 script);
	apply(line);
	apply("-a -t [fd00::1]:80 -r [fd00::11]:8080 -m");
	apply("-a -t [fd00::1]:80 -r [fd00::12]:8080 -m");
	cr_assert_eq(xlb_health_start(&h, t, err, sizeof(err)), 0, "%s", err);
	{
		const struct want6 w[] = { { IPPROTO_TCP, "fd00::11", 8080, 0 },
					   { IPPROTO_TCP, "fd00::12", 8080, 1 } };

		cr_assert(tick_until6(h, w, 2, 5), "::11 down %d, ::12 down %d",
			  down6(IPPROTO_TCP, "fd00::11", 8080), down6(IPPROTO_TCP, "fd00::12", 8080));
	}
	cr_assert(checked6(h, IPPROTO_TCP, "fd00::11", 8080, 3), "fd00::11 never checked");
	cr_assert_eq(down6(IPPROTO_TCP, "fd00::11", 8080), 0);
	xlb_health_stop(h);
	unlink(script);
}
