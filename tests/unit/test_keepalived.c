// SPDX-License-Identifier: GPL-2.0
/*
 * keepalived.conf into xlb rules (lb/keepalived.c, xlbctl
 * --from-keepalived): keepalived's syntax (comments, quotes, braces,
 * includes with globs, loops, depth), every construct it translates with
 * the value keepalived would use, every error with its file and line, and
 * keepalived's own sample configurations (tests/keepalived-samples/),
 * whose converted rules must also parse with xlb's rules parser.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "ipvsadm.h"
#include "keepalived.h"
#include "xlb-t.h"

/* What one conversion gave. */
struct conv {
	int rc;
	char *out;	/* the rules ("" on error) */
	size_t outlen;
	char msgs[16384];	/* notes and warnings, one per line */
	char err[1024];
};

static void collect(const char *line, void *ctx)
{
	struct conv *cv = ctx;
	size_t l = strlen(cv->msgs);

	snprintf(cv->msgs + l, sizeof(cv->msgs) - l, "%s\n", line);
}

static void conv_free(struct conv *cv)
{
	free(cv->out);
	cv->out = NULL;
}

/* Convert text held in memory, named "t.conf" (includes refused). */
static void conv_text(struct conv *cv, const char *text)
{
	struct xlb_kad_params p = { .msg = collect, .ctx = cv,
				    .no_include = true };
	FILE *f;

	memset(cv, 0, sizeof(*cv));
	f = open_memstream(&cv->out, &cv->outlen);
	cr_assert(f);
	cv->rc = xlb_kad_convert_buf("t.conf", text, strlen(text), f, &p,
				     cv->err, sizeof(cv->err));
	fclose(f);
}

static void conv_file(struct conv *cv, const char *path)
{
	struct xlb_kad_params p = { .msg = collect, .ctx = cv };
	FILE *f;

	memset(cv, 0, sizeof(*cv));
	f = open_memstream(&cv->out, &cv->outlen);
	cr_assert(f);
	cv->rc = xlb_kad_convert_file(path, f, &p, cv->err, sizeof(cv->err));
	fclose(f);
}

/* The rules without the two header comment lines. */
static const char *rules(const struct conv *cv)
{
	const char *p = cv->out;

	for (int i = 0; i < 2 && p && *p == '#'; i++) {
		p = strchr(p, '\n');
		p = p ? p + 1 : "";
	}
	return p ? p : "";
}

static void converts_to(const char *text, const char *want)
{
	struct conv cv;

	conv_text(&cv, text);
	cr_assert_eq(cv.rc, 0, "conversion failed: %s\n--- input\n%s", cv.err, text);
	cr_assert_str_eq(rules(&cv), want, "\n--- got\n%s--- want\n%s--- messages\n%s",
			 rules(&cv), want, cv.msgs);
	conv_free(&cv);
}

/* Fails with exactly this error, and writes nothing. */
static void fails_with(const char *text, const char *want)
{
	struct conv cv;

	conv_text(&cv, text);
	cr_assert_neq(cv.rc, 0, "should fail with '%s', converted to\n%s", want, cv.out);
	cr_assert_str_eq(cv.err, want);
	cr_assert_eq(cv.outlen, 0, "nothing is written on error, got\n%s", cv.out);
	conv_free(&cv);
}

/* Converts, and the messages contain want. */
static void says(const char *text, const char *want)
{
	struct conv cv;

	conv_text(&cv, text);
	cr_assert_eq(cv.rc, 0, "conversion failed: %s", cv.err);
	cr_assert(strstr(cv.msgs, want), "messages should contain\n  %s\ngot\n%s",
		  want, cv.msgs);
	conv_free(&cv);
}

static void says_not(const char *text, const char *unwanted)
{
	struct conv cv;

	conv_text(&cv, text);
	cr_assert_eq(cv.rc, 0, "conversion failed: %s", cv.err);
	cr_assert(!strstr(cv.msgs, unwanted), "messages should not contain\n  %s\ngot\n%s",
		  unwanted, cv.msgs);
	conv_free(&cv);
}

/* One virtual server around a body, and one around a real server body. */
#define VS(body) "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n" body "}\n"
#define RS(body) VS(" real_server 10.0.1.1 80 {\n" body " }\n")

#define CHK_TAIL "--check-interval 60 --check-timeout 5 --check-rise 1 --check-fall 2"

/* ------------------------------------------------------------------ */
/* syntax                                                             */

TestSuite(keepalived_syntax);

Test(keepalived_syntax, comments_with_hash_and_bang_anywhere)
{
	converts_to("# leading comment\n"
		    "! another one\n"
		    "virtual_server 10.0.0.1 80 {   # trailing\n"
		    "  lb_algo wrr ! bang comment\n"
		    "  lb_kind DR\n"
		    "  real_server 10.0.1.1 80 { weight 3 } # after a brace\n"
		    "}\n",
		    "-A -t 10.0.0.1:80 -s wrr\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 3\n");
}

Test(keepalived_syntax, braces_on_their_own_lines_and_inline)
{
	converts_to("virtual_server 10.0.0.1 80\n"
		    "{\n"
		    "lb_algo rr\nlb_kind DR\n"
		    "real_server 10.0.1.1 80 {weight 2}\n"
		    "real_server 10.0.1.2 80\n{\n weight 4\n}}\n",
		    "-A -t 10.0.0.1:80 -s rr\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 2\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 4\n");
}

Test(keepalived_syntax, quoted_words_keep_blanks_and_comment_characters)
{
	converts_to(RS("  MISC_CHECK {\n   misc_path \"/bin/check -x '#1' !2\"\n  }\n"),
		    "-A -t 10.0.0.1:80 -s rr --check exec --check-exec '/bin/check -x '\"'\"'#1'\"'\"' !2' --check-interval 60 --check-timeout 60 --check-rise 1 --check-fall 1\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
}

Test(keepalived_syntax, escaped_comment_characters_outside_quotes)
{
	converts_to(RS("  MISC_CHECK {\n   misc_path /bin/check\\#1\n  }\n"),
		    "-A -t 10.0.0.1:80 -s rr --check exec --check-exec '/bin/check#1' --check-interval 60 --check-timeout 60 --check-rise 1 --check-fall 1\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
}

Test(keepalived_syntax, crlf_line_ends)
{
	converts_to("virtual_server 10.0.0.1 80 {\r\n lb_algo rr\r\n lb_kind DR\r\n"
		    " real_server 10.0.1.1 80 {\r\n weight 1\r\n }\r\n}\r\n",
		    "-A -t 10.0.0.1:80 -s rr\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
}

Test(keepalived_syntax, missing_close_brace_names_the_open_block)
{
	fails_with("virtual_server 10.0.0.1 80 {\n lb_algo rr\n real_server 10.0.1.1 80 {\n weight 1\n}\n",
		   "t.conf:5: end of file inside the block 'virtual_server' opened at t.conf:1 (missing '}')");
}

Test(keepalived_syntax, extra_close_brace)
{
	fails_with(VS(" real_server 10.0.1.1 80 {\n }\n") "}\n",
		   "t.conf:7: '}' without a block to close");
}

Test(keepalived_syntax, open_brace_without_keyword)
{
	fails_with("{\n}\n", "t.conf:1: '{' without a keyword before it");
}

Test(keepalived_syntax, unterminated_quote)
{
	fails_with(VS(" real_server 10.0.1.1 80 {\n  MISC_CHECK {\n   misc_path \"/bin/x\n  }\n }\n"),
		   "t.conf:6: unterminated quote");
}

Test(keepalived_syntax, definitions_and_conditionals_are_refused)
{
	fails_with("$PORT=80\n" VS(""),
		   "t.conf:1: keepalived definitions ($NAME=...) are not supported: expand them first (keepalived -t -d shows the result)");
	fails_with("@high " VS(""),
		   "t.conf:1: conditional configuration (@ID ...) is not supported: keep the lines that apply to this director");
}

Test(keepalived_syntax, nul_byte_is_an_error)
{
	struct xlb_kad_params p = { .no_include = true };
	char err[256];
	const char text[] = "virtual_server 10.0.0.1 80 {\n lb\0algo rr\n}\n";
	FILE *f = fopen("/dev/null", "w");
	int rc;

	rc = xlb_kad_convert_buf("t.conf", text, sizeof(text) - 1, f, &p, err,
				 sizeof(err));
	fclose(f);
	cr_assert_eq(rc, -EINVAL);
	cr_assert_str_eq(err, "t.conf:2: NUL byte in the line");
}

Test(keepalived_syntax, output_is_deterministic)
{
	const char *text = RS("  HTTP_GET {\n   url {\n    path /h\n   }\n  }\n");
	struct conv a, b;

	conv_text(&a, text);
	conv_text(&b, text);
	cr_assert_eq(a.rc, 0);
	cr_assert_eq(a.outlen, b.outlen);
	cr_assert_eq(memcmp(a.out, b.out, a.outlen), 0);
	cr_assert_str_eq(a.msgs, b.msgs);
	conv_free(&a);
	conv_free(&b);
}

Test(keepalived_syntax, header_says_inhibit_always)
{
	struct conv cv;

	conv_text(&cv, RS(""));
	cr_assert_eq(cv.rc, 0);
	const char *want = "# xlb rules converted from t.conf by xlbctl --from-keepalived\n"
			   "# a failed real server gets no new connections and keeps its established ones (keepalived's inhibit_on_failure)\n";

	cr_assert(!strncmp(cv.out, want, strlen(want)), "header:\n%s", cv.out);
	conv_free(&cv);
}

/* ------------------------------------------------------------------ */
/* virtual servers                                                    */

TestSuite(keepalived_vs);

Test(keepalived_vs, every_ipvs_scheduler_and_lvs_sched_synonym)
{
	static const char *const s[] = {
		"rr", "wrr", "lc", "wlc", "lblc", "sh", "mh", "dh", "fo",
		"ovf", "lblcr", "sed", "nq", "twos",
	};
	char in[512], want[256];

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		snprintf(in, sizeof(in),
			 "virtual_server 10.0.0.1 80 {\n %s %s\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n}\n",
			 i % 2 ? "lvs_sched" : "lb_algo", s[i]);
		snprintf(want, sizeof(want),
			 "-A -t 10.0.0.1:80 -s %s\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n",
			 s[i]);
		converts_to(in, want);
	}
}

Test(keepalived_vs, unknown_or_missing_scheduler)
{
	fails_with("virtual_server 10.0.0.1 80 {\n lb_algo ring\n real_server 10.0.1.1 80 {\n }\n}\n",
		   "t.conf:2: lb_algo 'ring' is not a scheduler keepalived knows (rr wrr lc wlc lblc sh mh dh fo ovf lblcr sed nq twos)");
	fails_with("virtual_server 10.0.0.1 80 {\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n}\n",
		   "t.conf:1: virtual_server without lb_algo: name the scheduler (xlb does not guess keepalived's)");
}

Test(keepalived_vs, lb_kind_nat_dr_tun_and_lvs_method)
{
	converts_to("virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n real_server 10.0.1.1 8080 {\n }\n}\n"
		    "virtual_server 10.0.0.2 80 {\n lb_algo rr\n lvs_method TUN\n real_server 10.0.1.1 80 {\n }\n}\n"
		    "virtual_server 10.0.0.3 80 {\n lb_algo rr\n lb_kind NAT\n"
		    " real_server 10.0.1.1 80 {\n  lvs_method DR\n }\n"
		    " real_server 10.0.1.2 81 {\n }\n}\n",
		    "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 1\n"
		    "-A -t 10.0.0.2:80 -s rr\n-a -t 10.0.0.2:80 -r 10.0.1.1:80 -i -w 1\n"
		    "-A -t 10.0.0.3:80 -s rr\n-a -t 10.0.0.3:80 -r 10.0.1.1:80 -g -w 1\n"
		    "-a -t 10.0.0.3:80 -r 10.0.1.2:81 -m -w 1\n");
	fails_with("virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind TUN type gue port 6080\n real_server 10.0.1.1 80 {\n }\n}\n",
		   "t.conf:3: lb_kind TUN: 'type' is not supported (xlb tunnels with plain IP-in-IP only)");
	fails_with("virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind FOO\n}\n",
		   "t.conf:3: lb_kind 'FOO': not NAT, DR or TUN");
}

Test(keepalived_vs, no_lb_kind_is_nat_with_a_note)
{
	converts_to("virtual_server 10.0.0.1 80 {\n lb_algo rr\n real_server 10.0.1.1 80 {\n }\n}\n",
		    "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 1\n");
	says("virtual_server 10.0.0.1 80 {\n lb_algo rr\n real_server 10.0.1.1 80 {\n }\n}\n",
	     "t.conf:1: note: virtual_server without lb_kind: NAT, as keepalived");
}

/* DR cannot change the port: IPVS ignores a real server's port, but
 * keepalived's checker still probes it. */
Test(keepalived_vs, dr_real_server_port_becomes_the_check_port)
{
	converts_to(VS(" real_server 10.0.1.1 8080 {\n  TCP_CHECK {\n  }\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr --check tcp --check-port 8080 " CHK_TAIL "\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
}

Test(keepalived_vs, real_server_without_port_takes_the_service_port)
{
	converts_to("virtual_server 10.0.0.1 443 {\n lb_algo rr\n lb_kind NAT\n real_server 10.0.1.1 {\n }\n}\n",
		    "-A -t 10.0.0.1:443 -s rr\n-a -t 10.0.0.1:443 -r 10.0.1.1:443 -m -w 1\n");
}

Test(keepalived_vs, persistence_timeout_and_granularity)
{
	converts_to(VS(" persistence_timeout 600\n persistence_granularity 255.255.255.0\n real_server 10.0.1.1 80 {\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr -p 600 -M 255.255.255.0\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	/* keepalived's IPVS_SVC_PERSISTENT_TIMEOUT: 360 s, with no value
	 * or with a granularity alone. */
	converts_to(VS(" persistence_timeout\n real_server 10.0.1.1 80 {\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr -p 360\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	converts_to(VS(" persistence_granularity 255.255.0.0\n real_server 10.0.1.1 80 {\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr -p 360 -M 255.255.0.0\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	fails_with(VS(" persistence_granularity 255.0.255.0\n"),
		   "t.conf:4: persistence_granularity 255.0.255.0: xlb needs a contiguous netmask (like 255.255.255.0)");
	fails_with(VS(" persistence_timeout 0\n"),
		   "t.conf:4: persistence_timeout '0' is not 1..2678400");
}

Test(keepalived_vs, every_port_needs_persistence)
{
	fails_with("virtual_server 10.0.0.1 0 {\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 {\n }\n}\n",
		   "t.conf:1: port 0 (every port) needs persistence_timeout, as in ipvsadm");
	converts_to("virtual_server 10.0.0.1 0 {\n lb_algo sh\n lb_kind DR\n persistence_timeout 60\n real_server 10.0.1.1 {\n }\n}\n",
		    "-A -t 10.0.0.1:0 -s sh -p 60\n-a -t 10.0.0.1:0 -r 10.0.1.1:0 -g -w 1\n");
}

Test(keepalived_vs, protocol_tcp_udp_and_sctp)
{
	converts_to(VS(" protocol UDP\n real_server 10.0.1.1 80 {\n }\n"),
		    "-A -u 10.0.0.1:80 -s rr\n-a -u 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	converts_to(VS(" protocol tcp\n real_server 10.0.1.1 80 {\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	fails_with(VS(" protocol SCTP\n"),
		   "t.conf:4: protocol SCTP is not supported by xlb (TCP and UDP)");
}

Test(keepalived_vs, sorry_server_and_quorum)
{
	converts_to(VS(" sorry_server 10.0.9.9 8080\n quorum 3\n real_server 10.0.1.1 80 {\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr --sorry-server 10.0.9.9:8080 --quorum 3\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	/* No port: the service's, as keepalived. */
	converts_to(VS(" sorry_server 10.0.9.9\n real_server 10.0.1.1 80 {\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr --sorry-server 10.0.9.9:80\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says(VS(" sorry_server 10.0.9.9 80\n sorry_server_lvs_method NAT\n real_server 10.0.1.1 80 {\n }\n"),
	     "t.conf:5: warning: virtual_server: 'sorry_server_lvs_method' is not translated (xlb's --sorry-server has no forwarding method of its own)");
	says(VS(" quorum 2\n hysteresis 1\n real_server 10.0.1.1 80 {\n }\n"),
	     "t.conf:5: warning: virtual_server: 'hysteresis' is not translated (xlb's quorum has no hysteresis)");
}

Test(keepalived_vs, weights_thresholds_and_the_service_default_weight)
{
	converts_to(VS(" weight 5\n real_server 10.0.1.1 80 {\n }\n"
		       " real_server 10.0.1.2 80 {\n  weight 0\n  uthreshold 100\n  lthreshold 10\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 5\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 0 -x 100 -y 10\n");
	fails_with(RS("  weight 70000\n"), "t.conf:5: weight '70000' is not 0..65535");
}

Test(keepalived_vs, inhibit_on_failure_is_always_what_xlb_does)
{
	const char *none = RS("");
	const char *all = RS("  inhibit_on_failure\n");
	const char *vs = VS(" inhibit_on_failure\n real_server 10.0.1.1 80 {\n }\n");

	says(none, "t.conf:4: note: xlb always inhibits a failed real server (no new connections, established ones continue: keepalived's inhibit_on_failure); without inhibit_on_failure keepalived would remove it");
	says_not(all, "xlb always inhibits");
	says_not(vs, "xlb always inhibits");
	says(RS("  inhibit_on_failure off\n"), "xlb always inhibits");
}

Test(keepalived_vs, no_real_server_is_skipped_as_keepalived_does)
{
	/* Dropped, so the same service further down is no duplicate. */
	converts_to(VS("") RS(""),
		    "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	converts_to("virtual_server 10.0.0.2 80 {\n lb_algo rr\n lb_kind DR\n}\n" RS(""),
		    "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says("virtual_server 10.0.0.2 80 {\n lb_algo rr\n lb_kind DR\n}\n" RS(""),
	     "t.conf:1: warning: virtual_server 10.0.0.2 80 has no real_server: skipped, as keepalived does");
}

Test(keepalived_vs, duplicates_are_errors)
{
	fails_with(RS("") RS(""), "t.conf:7: TCP 10.0.0.1:80 is already defined at t.conf:1");
	fails_with(VS(" real_server 10.0.1.1 80 {\n }\n real_server 10.0.1.1 80 {\n }\n"),
		   "t.conf:6: real_server 10.0.1.1 80 is already in this virtual_server (t.conf:4)");
}

Test(keepalived_vs, untranslated_options_are_named)
{
	says(VS(" hashed\n real_server 10.0.1.1 80 {\n }\n"),
	     "t.conf:4: warning: virtual_server: 'hashed' is not translated");
	says(RS("  notify_down /bin/alert\n"),
	     "t.conf:5: warning: real_server: 'notify_down' is not translated (xlb logs and counts state changes; it runs no notify script)");
}

Test(keepalived_vs, ops_and_scheduler_flags_become_o_and_b)
{
	/* ipvsadm's order: -p, -M, -o, -b. */
	converts_to("virtual_server 10.0.0.1 53 {\n lb_algo sh\n lb_kind DR\n protocol UDP\n"
		    " persistence_timeout 60\n ops\n sh-port\n sh-fallback\n"
		    " real_server 10.0.1.1 53 {\n }\n}\n",
		    "-A -u 10.0.0.1:53 -s sh -p 60 -o -b sh-port,sh-fallback\n"
		    "-a -u 10.0.0.1:53 -r 10.0.1.1:53 -g -w 1\n");
	converts_to(VS(" flag-3\n real_server 10.0.1.1 80 {\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr -b flag-3\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	/* IPVS applies ops to UDP only. */
	says(VS(" ops\n real_server 10.0.1.1 80 {\n }\n"),
	     "t.conf:4: warning: ops on a TCP service: IPVS ignores it there, so xlb's rules leave it out");
	converts_to(VS(" ops\n real_server 10.0.1.1 80 {\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	fails_with(VS(" mh-port\n real_server 10.0.1.1 80 {\n }\n"),
		   "t.conf:4: incompatible scheduler flag 'mh-port' (it is for -s mh, not -s rr)");
	fails_with("virtual_server 10.0.0.1 53 {\n lb_algo rr\n lb_kind NAT\n protocol UDP\n ops\n"
		   " real_server 10.0.1.1 53 {\n }\n}\n",
		   "t.conf:5: ops with NAT real servers: xlb's NAT needs each connection's entry to translate the replies (use DR or TUN, or drop ops)");
}

Test(keepalived_vs, unknown_keywords_are_errors)
{
	fails_with(VS(" lb_algorithm rr\n"), "t.conf:4: unknown keyword 'lb_algorithm' in virtual_server");
	fails_with(RS("  wieght 1\n"), "t.conf:5: unknown keyword 'wieght' in real_server");
	fails_with("virtual_servers 10.0.0.1 80 {\n}\n", "t.conf:1: unknown keyword 'virtual_servers'");
	fails_with(RS("  TCP_CHECK {\n   conect_port 80\n  }\n"), "t.conf:6: unknown keyword 'conect_port' in TCP_CHECK");
	fails_with("real_server 10.0.1.1 80 {\n}\n", "t.conf:1: real_server outside a virtual_server");
}

Test(keepalived_vs, fwmark_and_ipv6_are_errors)
{
	fails_with("virtual_server fwmark 1 {\n lb_algo rr\n}\n",
		   "t.conf:1: virtual_server fwmark 1: firewall-mark services are not supported by xlb");
	/* IPv6 (issue 14): a server of the other family is refused. */
	fails_with(VS(" real_server fd00::2 80 {\n }\n"),
		   "t.conf:4: real_server fd00::2: an IPv6 real server of an IPv4 virtual_server is not supported by xlb");
	fails_with(VS(" ip_family inet6\n"),
		   "t.conf:4: ip_family inet6: the virtual_server's address is of the other family");
	fails_with("virtual_server fd00::1 80 {\n real_server 10.0.1.1 80 {\n }\n}\n",
		   "t.conf:2: real_server 10.0.1.1: an IPv4 real server of an IPv6 virtual_server is not supported by xlb");
	fails_with("virtual_server fd00::1 80 {\n real_server fd00::zz 80 {\n }\n}\n",
		   "t.conf:2: real_server 'fd00::zz' is not an IPv6 address");
	fails_with("virtual_server 10.0.0.256 80 {\n lb_algo rr\n}\n",
		   "t.conf:1: virtual_server '10.0.0.256' is not an IPv4 address");
}

Test(keepalived_vs, persistence_engine_is_an_error)
{
	fails_with(VS(" persistence_engine sip\n"),
		   "t.conf:4: persistence_engine sip is not supported by xlb");
}

/* ------------------------------------------------------------------ */
/* virtual_server_group                                               */

TestSuite(keepalived_group);

Test(keepalived_group, members_ranges_and_prefixes_each_become_a_service)
{
	converts_to("virtual_server group WEB {\n lb_algo wlc\n lb_kind DR\n real_server 10.0.1.1 {\n }\n}\n"
		    "virtual_server_group WEB {\n"
		    " 10.0.0.1 80\n"
		    " 10.0.0.5-7 80\n"
		    " 10.0.0.9-10.0.0.10 443\n"
		    " 10.0.0.12/31 8080\n"
		    "}\n",
		    "-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n"
		    "-A -t 10.0.0.5:80 -s wlc\n-a -t 10.0.0.5:80 -r 10.0.1.1:80 -g -w 1\n"
		    "-A -t 10.0.0.6:80 -s wlc\n-a -t 10.0.0.6:80 -r 10.0.1.1:80 -g -w 1\n"
		    "-A -t 10.0.0.7:80 -s wlc\n-a -t 10.0.0.7:80 -r 10.0.1.1:80 -g -w 1\n"
		    "-A -t 10.0.0.9:443 -s wlc\n-a -t 10.0.0.9:443 -r 10.0.1.1:443 -g -w 1\n"
		    "-A -t 10.0.0.10:443 -s wlc\n-a -t 10.0.0.10:443 -r 10.0.1.1:443 -g -w 1\n"
		    "-A -t 10.0.0.12:8080 -s wlc\n-a -t 10.0.0.12:8080 -r 10.0.1.1:8080 -g -w 1\n"
		    "-A -t 10.0.0.13:8080 -s wlc\n-a -t 10.0.0.13:8080 -r 10.0.1.1:8080 -g -w 1\n");
}

Test(keepalived_group, group_with_nat_keeps_the_real_server_port)
{
	converts_to("virtual_server_group G {\n 10.0.0.1 80\n 10.0.0.2 81\n}\n"
		    "virtual_server group G {\n lb_algo rr\n lb_kind NAT\n real_server 10.0.1.1 8080 {\n  TCP_CHECK {\n  }\n }\n}\n",
		    "-A -t 10.0.0.1:80 -s rr --check tcp " CHK_TAIL "\n-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 1\n"
		    "-A -t 10.0.0.2:81 -s rr --check tcp " CHK_TAIL "\n-a -t 10.0.0.2:81 -r 10.0.1.1:8080 -m -w 1\n");
}

Test(keepalived_group, errors)
{
	fails_with("virtual_server_group G {\n 10.0.0.1 80\n fwmark 7\n}\n",
		   "t.conf:3: virtual_server_group G: fwmark 7: firewall-mark services are not supported by xlb");
	fails_with("virtual_server group H {\n lb_algo rr\n}\n",
		   "t.conf:1: virtual_server group H: no virtual_server_group of that name");
	fails_with("virtual_server_group G {\n 10.0.0.9-3 80\n}\n",
		   "t.conf:2: '10.0.0.9-3': the range's end must be above 9 and at most 255");
	fails_with("virtual_server_group G {\n 10.0.0.1/30 80\n}\n",
		   "t.conf:2: '10.0.0.1/30': address bits set beyond the prefix");
	fails_with("virtual_server_group G {\n fd00::1 80\n}\nvirtual_server group G {\n lb_algo rr\n}\n",
		   "t.conf:2: virtual_server_group G: fd00::1: IPv6 groups are not supported by xlb yet (give each IPv6 virtual_server on its own)");
	fails_with("virtual_server_group G {\n}\n",
		   "t.conf:1: virtual_server_group G has no entries");
	fails_with("virtual_server_group G {\n 10.0.0.0/8 80\n}\n",
		   "t.conf:2: virtual_server_group G has more than 4096 addresses");
	fails_with("virtual_server_group G {\n 10.0.0.1 80\n}\nvirtual_server_group G {\n 10.0.0.2 80\n}\n",
		   "t.conf:4: virtual_server_group G is already defined at t.conf:1");
}

/* ------------------------------------------------------------------ */
/* checkers                                                           */

TestSuite(keepalived_check);

/* keepalived's defaults: delay_loop 60 s, connect_timeout 5 s, retry 1
 * (so down after 2 failures), up after 1 success. */
Test(keepalived_check, tcp_check_defaults)
{
	converts_to(RS("  TCP_CHECK {\n  }\n"),
		    "-A -t 10.0.0.1:80 -s rr --check tcp " CHK_TAIL "\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
}

Test(keepalived_check, delay_loop_connect_timeout_retry_connect_port)
{
	converts_to(VS(" delay_loop 2.5\n real_server 10.0.1.1 80 {\n  TCP_CHECK {\n   connect_port 8081\n   connect_timeout 0.25\n   retry 4\n   delay_before_retry 2.5\n  }\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr --check tcp --check-port 8081 --check-interval 2.5 --check-timeout 0.25 --check-rise 1 --check-fall 5\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
}

/* Checker over real server over virtual server (validate_check_config). */
Test(keepalived_check, settings_are_inherited_checker_over_rs_over_vs)
{
	converts_to(VS(" delay_loop 10\n connect_timeout 4\n retry 6\n"
		       " real_server 10.0.1.1 80 {\n  connect_timeout 3\n  TCP_CHECK {\n  }\n }\n"
		       " real_server 10.0.1.2 80 {\n  retry 2\n  TCP_CHECK {\n   delay_loop 7\n  }\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1 --check tcp --check-interval 10 --check-timeout 3 --check-rise 1 --check-fall 7\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 1 --check tcp --check-interval 7 --check-timeout 4 --check-rise 1 --check-fall 3\n");
}

/* keepalived resolves what a checker inherits once everything is read:
 * the service's settings may come after its real servers. */
Test(keepalived_check, service_settings_after_the_real_servers_apply)
{
	converts_to("virtual_server 10.0.0.1 80 {\n real_server 10.0.1.1 80 {\n  TCP_CHECK {\n  }\n }\n"
		    " delay_loop 3\n connect_timeout 2\n retry 0\n lb_algo rr\n lb_kind NAT\n weight 4\n}\n",
		    "-A -t 10.0.0.1:80 -s rr --check tcp --check-interval 3 --check-timeout 2 --check-rise 1 --check-fall 1\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 4\n");
}

Test(keepalived_check, delay_before_retry_difference_is_a_warning)
{
	says(RS("  TCP_CHECK {\n   retry 3\n   delay_before_retry 1\n  }\n"),
	     "t.conf:5: warning: keepalived retries a failed check 3 times 1 s apart (retry, delay_before_retry); xlb repeats it at the check interval (60 s): a failed server is out after 4 failed checks 60 s apart");
	says_not(RS("  TCP_CHECK {\n   retry 0\n  }\n"), "retries a failed check");
	says_not(VS(" delay_loop 1\n real_server 10.0.1.1 80 {\n  TCP_CHECK {\n  }\n }\n"),
		 "retries a failed check");
}

Test(keepalived_check, alpha_is_a_warning)
{
	says(VS(" alpha\n real_server 10.0.1.1 80 {\n  TCP_CHECK {\n  }\n }\n"),
	     "warning: alpha (start each server as down until its first successful check) is not translated: xlb's own start state applies");
}

Test(keepalived_check, http_get_path_status_and_nb_get_retry)
{
	converts_to(RS("  HTTP_GET {\n   url {\n    path /health\n    status_code 204\n   }\n   nb_get_retry 2\n   delay_before_retry 60\n  }\n"),
		    "-A -t 10.0.0.1:80 -s rr --check http --check-path /health --check-status 204 --check-interval 60 --check-timeout 5 --check-rise 1 --check-fall 3\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
}

Test(keepalived_check, http_get_without_status_code_checks_200_and_says_so)
{
	const char *in = RS("  HTTP_GET {\n   url {\n    path /\n   }\n  }\n");

	converts_to(in, "-A -t 10.0.0.1:80 -s rr --check http --check-path / --check-status 200 --check-interval 60 --check-timeout 5 --check-rise 1 --check-fall 2\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says(in, "t.conf:6: warning: url without status_code: keepalived accepts any 2xx status, xlb's --check-status takes one code: 200 is checked");
}

Test(keepalived_check, digest_status_ranges_and_second_url_are_warnings)
{
	const char *in = RS("  HTTP_GET {\n   url {\n    path /a\n    digest 9b3a0c85a887a256d6939da88aabd8cd\n    status_code 200-299 301\n   }\n"
			    "   url {\n    path /b\n   }\n  }\n");

	converts_to(in, "-A -t 10.0.0.1:80 -s rr --check http --check-path /a --check-status 200 " CHK_TAIL "\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says(in, "t.conf:8: warning: digest: xlb's HTTP check does not verify the body's MD5: only the status code is checked");
	says(in, "t.conf:9: warning: status_code 200-299 ...: xlb's --check-status takes one code: 200 is checked");
	says(in, "t.conf:11: warning: HTTP_GET: only the first url (t.conf:6) is checked by xlb; this one is not");
}

Test(keepalived_check, http_get_errors)
{
	fails_with(RS("  HTTP_GET {\n  }\n"), "t.conf:5: HTTP_GET without a url { path ... } block");
	fails_with(RS("  HTTP_GET {\n   url {\n    status_code 200\n   }\n  }\n"), "t.conf:6: url without a path");
	fails_with(RS("  HTTP_GET {\n   url {\n    path /\n    status_code 2xx\n   }\n  }\n"),
		   "t.conf:8: status_code '2xx' is not a code or a range like 200-299");
}

/* What the rules parser would refuse is refused here, with the line:
 * control characters or more than 127 characters in a url path, and a
 * misc_path command with control characters or over 255 characters. */
Test(keepalived_check, path_and_command_the_rules_could_not_hold)
{
	char big[400], in[1024];

	fails_with(RS("  HTTP_GET {\n   url {\n    path /a\025b\n   }\n  }\n"),
		   "t.conf:7: path '/a\025b' must start with '/' and hold at most 127 printable characters, no blank or quote");
	memset(big, 'a', 200);
	big[0] = '/';
	big[200] = '\0';
	snprintf(in, sizeof(in), RS("  HTTP_GET {\n   url {\n    path %s\n   }\n  }\n"), big);
	fails_with(in, "t.conf:7: path '/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' must start with '/' and hold at most 127 printable characters, no blank or quote");
	fails_with(RS("  MISC_CHECK {\n   misc_path \"/bin/check \001\"\n  }\n"),
		   "t.conf:6: misc_path: the command must hold at most 255 printable characters");
	memset(big, 'a', 300);
	big[300] = '\0';
	snprintf(in, sizeof(in), RS("  MISC_CHECK {\n   misc_path \"/bin/x %s\"\n  }\n"), big);
	fails_with(in, "t.conf:6: misc_path: the command must hold at most 255 printable characters");
}

/* SSL_GET: xlb's checks have no TLS, so the nearest check that still
 * takes a dead server out: a TCP connect to the same port. */
Test(keepalived_check, ssl_get_becomes_tcp_with_a_warning)
{
	const char *in = RS("  SSL_GET {\n   url {\n    path /\n    digest ff20ad2481f97b1754ef3e12ecd3a9cc\n   }\n   connect_port 443\n  }\n");

	converts_to(in, "-A -t 10.0.0.1:80 -s rr --check tcp --check-port 443 " CHK_TAIL "\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says(in, "t.conf:5: warning: SSL_GET: xlb has no HTTPS check; translated as a TCP check of the same port (the TLS handshake, the path and the status are not verified)");
	says_not(in, "digest");
}

Test(keepalived_check, udp_check)
{
	converts_to(VS(" protocol UDP\n real_server 10.0.1.1 80 {\n  UDP_CHECK {\n   connect_timeout 1\n   require_reply\n  }\n }\n"),
		    "-A -u 10.0.0.1:80 -s rr --check udp --check-interval 60 --check-timeout 1 --check-rise 1 --check-fall 2\n"
		    "-a -u 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says(VS(" protocol UDP\n real_server 10.0.1.1 80 {\n  UDP_CHECK {\n   require_reply\n  }\n }\n"),
	     "warning: UDP_CHECK: 'require_reply' is not translated (xlb's UDP check decides by its own rule)");
}

/* MISC_CHECK: retry defaults to 0, the timeout to delay_loop. */
Test(keepalived_check, misc_check_path_timeout_and_defaults)
{
	converts_to(VS(" delay_loop 5\n real_server 10.0.1.1 80 {\n  MISC_CHECK {\n   misc_path \"/usr/bin/check.sh 10.0.1.1\"\n  }\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr --check exec --check-exec '/usr/bin/check.sh 10.0.1.1' --check-interval 5 --check-timeout 5 --check-rise 1 --check-fall 1\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	converts_to(RS("  MISC_CHECK {\n   misc_path /bin/true\n   misc_timeout 3\n   retry 2\n  }\n"),
		    "-A -t 10.0.0.1:80 -s rr --check exec --check-exec /bin/true --check-interval 60 --check-timeout 3 --check-rise 1 --check-fall 3\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says(RS("  MISC_CHECK {\n   misc_path /bin/true\n   misc_dynamic\n  }\n"),
	     "warning: MISC_CHECK: 'misc_dynamic' is not translated (exit codes 2..255 set the weight in keepalived; xlb treats every non-zero exit as down)");
	fails_with(RS("  MISC_CHECK {\n   misc_timeout 3\n  }\n"), "t.conf:5: MISC_CHECK without misc_path");
}

Test(keepalived_check, connect_ip_elsewhere_is_an_error)
{
	converts_to(RS("  TCP_CHECK {\n   connect_ip 10.0.1.1\n  }\n"),
		    "-A -t 10.0.0.1:80 -s rr --check tcp " CHK_TAIL "\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	fails_with(RS("  TCP_CHECK {\n   connect_ip 10.0.7.7\n  }\n"),
		   "t.conf:6: connect_ip 10.0.7.7: xlb probes the real server's own address (use a MISC_CHECK whose script probes 10.0.7.7)");
}

Test(keepalived_check, servers_with_different_checks_carry_their_own)
{
	converts_to(VS(" real_server 10.0.1.1 80 {\n  TCP_CHECK {\n  }\n }\n"
		       " real_server 10.0.1.2 80 {\n }\n"),
		    "-A -t 10.0.0.1:80 -s rr\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1 --check tcp " CHK_TAIL "\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.2:80 -g -w 1 --check none\n");
}

Test(keepalived_check, one_check_per_server_the_first)
{
	const char *in = RS("  TCP_CHECK {\n  }\n  MISC_CHECK {\n   misc_path /bin/true\n  }\n");

	converts_to(in, "-A -t 10.0.0.1:80 -s rr --check tcp " CHK_TAIL "\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says(in, "t.conf:7: warning: MISC_CHECK: xlb runs one check per server, the first (TCP_CHECK at t.conf:5); this one is not run");
}

/* SMTP_CHECK: xlb's checks speak no SMTP, so, as SSL_GET, the nearest
 * check that still takes a dead server out: a TCP connect to the same
 * port, with keepalived's timing (retry and connect_timeout as for
 * TCP_CHECK; SMTP_CHECK's defaults are TCP_CHECK's). */
Test(keepalived_check, smtp_check_becomes_tcp_with_a_warning)
{
	const char *in = RS("  SMTP_CHECK {\n   connect_timeout 3\n   retry 3\n   delay_before_retry 60\n   helo_name \"foo.bar.com\"\n  }\n");

	converts_to(in, "-A -t 10.0.0.1:80 -s rr --check tcp --check-interval 60 --check-timeout 3 --check-rise 1 --check-fall 4\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says(in, "t.conf:5: warning: SMTP_CHECK: xlb has no SMTP check; translated as a TCP check of the same port (the greeting, HELO and the reply codes are not verified)");
	says_not(in, "helo");
	converts_to(RS("  SMTP_CHECK {\n   connect_port 587\n  }\n"),
		    "-A -t 10.0.0.1:80 -s rr --check tcp --check-port 587 " CHK_TAIL "\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	fails_with(RS("  SMTP_CHECK {\n   helo_name\n  }\n"),
		   "t.conf:6: 'helo_name' needs a value");
	fails_with(RS("  SMTP_CHECK {\n   url {\n    path /\n   }\n  }\n"),
		   "t.conf:6: unknown keyword 'url' in SMTP_CHECK");
}

/* keepalived checks each host { } of an SMTP_CHECK (one checker each;
 * the first host is the main one when the SMTP_CHECK itself names no
 * connect_*); xlb runs one check per server: the first host's, of the
 * server's own address, and names each host it does not check. */
Test(keepalived_check, smtp_check_hosts_the_first_is_checked_the_others_are_named)
{
	const char *in = RS("  SMTP_CHECK {\n   retry 2\n   delay_before_retry 60\n"
			    "   host {\n    connect_ip 10.0.1.1\n    connect_port 2525\n    connect_timeout 2\n    bindto 10.0.0.2\n   }\n"
			    "   host {\n    connect_ip 192.168.155.10\n   }\n"
			    "   host {\n    connect_port 587\n   }\n"
			    "  }\n");

	converts_to(in, "-A -t 10.0.0.1:80 -s rr --check tcp --check-port 2525 --check-interval 60 --check-timeout 2 --check-rise 1 --check-fall 3\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says(in, "t.conf:14: warning: SMTP_CHECK: host 192.168.155.10:80 is not checked: keepalived takes the server out when any host fails; xlb runs one check per server (the host at t.conf:8)");
	says(in, "t.conf:17: warning: SMTP_CHECK: host 10.0.1.1:587 is not checked: keepalived takes the server out when any host fails; xlb runs one check per server (the host at t.conf:8)");
	says(in, "t.conf:12: warning: SMTP_CHECK host: 'bindto' is not translated (xlb's checks leave from the director's own address)");
	/* The SMTP_CHECK's own connect_* make it the main check: every
	 * host is then another. */
	in = RS("  SMTP_CHECK {\n   host {\n    connect_port 2525\n   }\n   connect_port 587\n  }\n");
	converts_to(in, "-A -t 10.0.0.1:80 -s rr --check tcp --check-port 587 " CHK_TAIL "\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says(in, "t.conf:6: warning: SMTP_CHECK: host 10.0.1.1:2525 is not checked: keepalived takes the server out when any host fails; xlb runs one check per server (the SMTP_CHECK's own, at t.conf:5)");
	/* A host with the main check's target is checked: not named. */
	in = RS("  SMTP_CHECK {\n   connect_timeout 2\n   host {\n    connect_ip 10.0.1.1\n   }\n  }\n");
	converts_to(in, "-A -t 10.0.0.1:80 -s rr --check tcp --check-interval 60 --check-timeout 2 --check-rise 1 --check-fall 2\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	says_not(in, "is not checked");
	/* A checked host elsewhere cannot be probed: as connect_ip. */
	fails_with(RS("  SMTP_CHECK {\n   host {\n    connect_ip 10.0.7.7\n   }\n  }\n"),
		   "t.conf:7: connect_ip 10.0.7.7: xlb probes the real server's own address (use a MISC_CHECK whose script probes 10.0.7.7)");
	fails_with(RS("  SMTP_CHECK {\n   host {\n    connect_port 0\n   }\n  }\n"),
		   "t.conf:7: connect_port '0' is not 1..65535");
	fails_with(RS("  SMTP_CHECK {\n   host {\n    helo_name x\n   }\n  }\n"),
		   "t.conf:7: unknown keyword 'helo_name' in SMTP_CHECK host");
	fails_with(RS("  SMTP_CHECK {\n   host 10.0.1.1\n  }\n"),
		   "t.conf:6: 'host' needs a block { ... }");
}

/* IPv6 (issue 14): the same over an IPv6 real server. */
Test(keepalived_check, smtp_check_of_an_ipv6_server)
{
	converts_to("virtual_server 2001:db8::1 25 {\n lb_algo rr\n lb_kind DR\n"
		    " real_server 2001:db8::11 25 {\n  SMTP_CHECK {\n   host {\n    connect_ip 2001:db8::11\n   }\n  }\n }\n}\n",
		    "-A -t [2001:db8::1]:25 -s rr --check tcp " CHK_TAIL "\n"
		    "-a -t [2001:db8::1]:25 -r [2001:db8::11]:25 -g -w 1\n");
	fails_with("virtual_server 2001:db8::1 25 {\n lb_algo rr\n lb_kind DR\n"
		   " real_server 2001:db8::11 25 {\n  SMTP_CHECK {\n   host {\n    connect_ip 2001:db8::12\n   }\n  }\n }\n}\n",
		   "t.conf:7: connect_ip 2001:db8::12: xlb probes the real server's own address (use a MISC_CHECK whose script probes 2001:db8::12)");
}

Test(keepalived_check, unsupported_checkers_are_errors)
{
	static const char *const k[] = {
		"DNS_CHECK", "BFD_CHECK", "FILE_CHECK", "PING_CHECK",
	};
	char in[512], want[512];

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		snprintf(in, sizeof(in), RS("  %s {\n  }\n"), k[i]);
		snprintf(want, sizeof(want),
			 "t.conf:5: %s is not supported by xlb (its checks are TCP, HTTP, UDP and commands: a MISC_CHECK script can do what %s does)",
			 k[i], k[i]);
		fails_with(in, want);
	}
}

Test(keepalived_check, bad_values_name_their_line)
{
	fails_with(RS("  TCP_CHECK {\n   connect_timeout 0\n  }\n"),
		   "t.conf:6: connect_timeout '0' is not a time in seconds above 0");
	fails_with(RS("  TCP_CHECK {\n   connect_timeout 1.1234567\n  }\n"),
		   "t.conf:6: connect_timeout '1.1234567' is not a time in seconds above 0");
	fails_with(RS("  TCP_CHECK {\n   retry many\n  }\n"),
		   "t.conf:6: retry 'many' is not 0..65535");
	fails_with(RS("  TCP_CHECK {\n   connect_port 70000\n  }\n"),
		   "t.conf:6: connect_port '70000' is not 1..65535");
}

/* ------------------------------------------------------------------ */
/* top level: skipped blocks                                          */

TestSuite(keepalived_top);

Test(keepalived_top, vrrp_global_and_static_blocks_get_one_note_each)
{
	const char *in = "global_defs {\n router_id X\n}\n"
			 "vrrp_script chk {\n script /bin/true\n}\n"
			 "vrrp_instance VI_1 {\n state MASTER\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n"
			 "vrrp_instance VI_2 {\n}\n"
			 "vrrp_sync_group G {\n group {\n  VI_1\n }\n}\n"
			 "static_ipaddress {\n 10.0.0.9/24 dev eth0\n}\n"
			 RS("");
	struct conv cv;

	conv_text(&cv, in);
	cr_assert_eq(cv.rc, 0, "%s", cv.err);
	cr_assert_str_eq(cv.msgs,
		"t.conf:1: note: global_defs skipped: global settings (mail, router_id, scripts) have no xlb equivalent\n"
		"t.conf:4: note: vrrp_script chk skipped: VRRP is not part of xlb\n"
		"t.conf:7: note: vrrp_instance VI_1 skipped: VRRP is not part of xlb (keep keepalived for the addresses, or announce them with BGP)\n"
		"t.conf:13: note: vrrp_instance VI_2 skipped: VRRP is not part of xlb (keep keepalived for the addresses, or announce them with BGP)\n"
		"t.conf:15: note: vrrp_sync_group G skipped: VRRP is not part of xlb\n"
		"t.conf:20: note: static_ipaddress skipped: addresses are configured outside xlb\n"
		"t.conf:26: note: xlb always inhibits a failed real server (no new connections, established ones continue: keepalived's inhibit_on_failure); without inhibit_on_failure keepalived would remove it\n");
	cr_assert_str_eq(rules(&cv), "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	conv_free(&cv);
}

Test(keepalived_top, nothing_to_convert_is_an_error)
{
	fails_with("global_defs {\n}\n", "t.conf: no virtual_server to convert (VRRP and global blocks only?)");
}

/* ------------------------------------------------------------------ */
/* includes (real files in a fresh directory)                         */

static char tmpdir[256];

static void mkfile(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	f = fopen(p, "w");
	cr_assert(f, "create %s: %s", p, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void mksub(const char *rel)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s: %s", p, strerror(errno));
}

static void inc_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xlb-kad-XXXXXX");
	cr_assert(mkdtemp(tmpdir));
}

static void inc_teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd)) {
		/* best effort */
	}
}

static void conv_main(struct conv *cv)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/keepalived.conf", tmpdir);
	conv_file(cv, p);
}

/* The error with the temporary directory written as "D". */
static const char *rel_err(const struct conv *cv)
{
	static char buf[1024];
	const char *s = cv->err;
	size_t n = strlen(tmpdir), o = 0;

	while (*s && o + 2 < sizeof(buf)) {
		if (!strncmp(s, tmpdir, n)) {
			buf[o++] = 'D';
			s += n;
		} else {
			buf[o++] = *s++;
		}
	}
	buf[o] = '\0';
	return buf;
}

TestSuite(keepalived_include, .init = inc_setup, .fini = inc_teardown);

Test(keepalived_include, relative_to_the_including_file_nested)
{
	mksub("conf.d");
	mksub("conf.d/rs");
	mkfile("keepalived.conf", "include conf.d/web.conf\n");
	/* conf.d/web.conf includes rs/a.conf: relative to conf.d/. */
	mkfile("conf.d/web.conf", "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n include rs/a.conf\n}\n");
	mkfile("conf.d/rs/a.conf", "real_server 10.0.1.1 80 {\n weight 7\n}\n");
	{
		struct conv cv;

		conv_main(&cv);
		cr_assert_eq(cv.rc, 0, "%s", cv.err);
		cr_assert_str_eq(rules(&cv), "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 7\n");
		conv_free(&cv);
	}
}

Test(keepalived_include, glob_in_sorted_order_and_brace_patterns)
{
	/* Written out of order, so that directory order is not sorted. */
	static const int order[] = { 3, 1, 5, 2, 4, 9, 7, 8, 6 };
	char name[64], text[256], want[2048] = "";
	struct conv cv;

	mksub("vs");
	mkfile("keepalived.conf", "include vs/*.conf\ninclude {b,a}.extra\n");
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		snprintf(name, sizeof(name), "vs/%d0-x.conf", order[i]);
		snprintf(text, sizeof(text), "virtual_server 10.0.0.%d 80 {\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n}\n",
			 order[i]);
		mkfile(name, text);
	}
	for (int i = 1; i <= 9; i++) {
		size_t l = strlen(want);

		snprintf(want + l, sizeof(want) - l,
			 "-A -t 10.0.0.%d:80 -s rr\n-a -t 10.0.0.%d:80 -r 10.0.1.1:80 -g -w 1\n", i, i);
	}
	strcat(want, "-A -t 10.0.0.21:80 -s rr\n-a -t 10.0.0.21:80 -r 10.0.1.1:80 -g -w 1\n"
		     "-A -t 10.0.0.20:80 -s rr\n-a -t 10.0.0.20:80 -r 10.0.1.1:80 -g -w 1\n");
	mkfile("vs/ignored.txt", "garbage {\n");
	mkfile("a.extra", "virtual_server 10.0.0.20 80 {\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n}\n");
	mkfile("b.extra", "virtual_server 10.0.0.21 80 {\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n }\n}\n");
	conv_main(&cv);
	cr_assert_eq(cv.rc, 0, "%s", cv.err);
	/* glob sorts each brace alternative's matches; the alternatives
	 * keep their written order (GLOB_BRACE), as in keepalived. */
	cr_assert_str_eq(rules(&cv), want);
	conv_free(&cv);
}

Test(keepalived_include, errors_name_the_included_file_and_line)
{
	struct conv cv;

	mkfile("keepalived.conf", "include part.conf\n");
	mkfile("part.conf", "\n\nvirtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n real_server 10.0.1.1 80 {\n  DNS_CHECK {\n  }\n }\n}\n");
	conv_main(&cv);
	cr_assert_neq(cv.rc, 0);
	cr_assert_str_eq(rel_err(&cv), "D/part.conf:7: DNS_CHECK is not supported by xlb (its checks are TCP, HTTP, UDP and commands: a MISC_CHECK script can do what DNS_CHECK does)");
	conv_free(&cv);
}

Test(keepalived_include, missing_file_is_an_error_unmatched_glob_a_note)
{
	struct conv cv;

	mkfile("keepalived.conf", RS("") "include nothere.conf\n");
	conv_main(&cv);
	cr_assert_neq(cv.rc, 0);
	cr_assert_str_eq(rel_err(&cv), "D/keepalived.conf:7: include: cannot open 'D/nothere.conf': No such file or directory");
	conv_free(&cv);

	mkfile("keepalived.conf", RS("") "include conf.d/*.conf\n");
	conv_main(&cv);
	cr_assert_eq(cv.rc, 0, "%s", cv.err);
	cr_assert(strstr(cv.msgs, "keepalived.conf:7: note: include: no file matches '"), "%s", cv.msgs);
	conv_free(&cv);

	/* includew: a wildcard that matches nothing is an error there too. */
	mkfile("keepalived.conf", RS("") "includew conf.d/*.conf\n");
	conv_main(&cv);
	cr_assert_neq(cv.rc, 0);
	cr_assert_str_eq(rel_err(&cv), "D/keepalived.conf:7: include: no file matches 'D/conf.d/*.conf'");
	conv_free(&cv);
}

Test(keepalived_include, loop_is_an_error)
{
	struct conv cv;

	mkfile("keepalived.conf", RS("") "include a.conf\n");
	mkfile("a.conf", "include b.conf\n");
	mkfile("b.conf", "include a.conf\n");
	conv_main(&cv);
	cr_assert_neq(cv.rc, 0);
	cr_assert_str_eq(rel_err(&cv), "D/b.conf:1: include loop: D/a.conf -> D/b.conf -> D/a.conf");
	conv_free(&cv);

	mkfile("keepalived.conf", RS("") "include keepalived.conf\n");
	conv_main(&cv);
	cr_assert_neq(cv.rc, 0);
	cr_assert_str_eq(rel_err(&cv), "D/keepalived.conf:7: include loop: D/keepalived.conf -> D/keepalived.conf");
	conv_free(&cv);
}

/* The same file twice, one after the other, is no loop (but the same
 * service twice is a duplicate). */
Test(keepalived_include, same_file_twice_is_not_a_loop)
{
	struct conv cv;

	mkfile("keepalived.conf", "include rs.conf\n" "include vs.conf\n");
	mkfile("rs.conf", "# nothing but a comment\n");
	mkfile("vs.conf", VS(" include ../rs.conf\n include rs2.conf\n"));
	mkfile("rs2.conf", " real_server 10.0.1.1 80 {\n }\n");
	/* vs.conf's "../rs.conf" is relative to tmpdir: a file outside. */
	conv_main(&cv);
	cr_assert_neq(cv.rc, 0, "../rs.conf is relative to the including file's directory");
	conv_free(&cv);

	mkfile("vs.conf", VS(" include rs.conf\n include rs2.conf\n"));
	conv_main(&cv);
	cr_assert_eq(cv.rc, 0, "%s", cv.err);
	cr_assert_str_eq(rules(&cv), "-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	conv_free(&cv);
}

Test(keepalived_include, depth_is_bounded)
{
	struct conv cv;
	char name[32], text[64];

	mkfile("keepalived.conf", RS("") "include d1.conf\n");
	for (int i = 1; i <= XLB_KAD_INCLUDE_DEPTH + 1; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		snprintf(text, sizeof(text), "include d%d.conf\n", i + 1);
		mkfile(name, text);
	}
	conv_main(&cv);
	cr_assert_neq(cv.rc, 0);
	cr_assert_str_eq(rel_err(&cv), "D/d7.conf:1: include 'd8.conf': includes nested deeper than 8");
	conv_free(&cv);
}

Test(keepalived_include, main_file_missing)
{
	struct conv cv;

	conv_main(&cv);
	cr_assert_eq(cv.rc, -ENOENT);
	cr_assert_str_eq(rel_err(&cv), "cannot open 'D/keepalived.conf': No such file or directory");
	conv_free(&cv);
}

/* ------------------------------------------------------------------ */
/* keepalived's own samples                                           */

/* The samples, from the source tree: $XLB_SRCDIR, the working directory
 * (make unit runs there), or beside the test binary (build/..). */
static const char *samples_dir(void)
{
	static char dir[PATH_MAX + 64];
	const char *src = getenv("XLB_SRCDIR");
	char exe[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(dir, sizeof(dir), "%s/tests/keepalived-samples", src ? src : ".");
	if (!stat(dir, &st) || src)
		goto out;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		*(strrchr(exe, '/') ?: exe) = '\0';
		snprintf(dir, sizeof(dir), "%s/../tests/keepalived-samples", exe);
	}
out:
	cr_assert_eq(stat(dir, &st), 0,
		     "%s missing: run the unit tests from the source tree (or set XLB_SRCDIR)", dir);
	return dir;
}

static char *slurp(const char *path, bool must)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int ch;

	if (!f) {
		cr_assert(!must, "cannot open %s", path);
		return NULL;
	}
	m = open_memstream(&buf, &len);
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, m);
	fclose(m);
	fclose(f);
	return buf;
}

static const char *const samples[] = {
	"keepalived.conf.HTTP_GET.port", "keepalived.conf.IPv6",
	"keepalived.conf.PING_CHECK", "keepalived.conf.SMTP_CHECK",
	"keepalived.conf.SSL_GET", "keepalived.conf.UDP_CHECK",
	"keepalived.conf.conditional_conf", "keepalived.conf.fwmark",
	"keepalived.conf.inhibit", "keepalived.conf.misc_check",
	"keepalived.conf.misc_check_arg", "keepalived.conf.quorum",
	"keepalived.conf.sample", "keepalived.conf.status_code",
	"keepalived.conf.track_interface",
	"keepalived.conf.virtual_server_group", "keepalived.conf.virtualhost",
	"keepalived.conf.vrrp", "keepalived.conf.vrrp.localcheck",
	"keepalived.conf.vrrp.lvs_syncd", "keepalived.conf.vrrp.routes",
	"keepalived.conf.vrrp.rules", "keepalived.conf.vrrp.scripts",
	"keepalived.conf.vrrp.static_ipaddress", "keepalived.conf.vrrp.sync",
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

TestSuite(keepalived_samples);

/* Each sample converts to its .rules, or fails with its .err; its notes
 * and warnings are its .msgs. */
Test(keepalived_samples, each_converts_or_fails_as_expected)
{
	unsigned converted = 0, refused = 0;

	cr_assert_eq(chdir(samples_dir()), 0);
	for (size_t i = 0; i < NSAMPLES; i++) {
		char p[256];
		char *want_rules, *want_err, *want_msgs;
		struct conv cv;

		snprintf(p, sizeof(p), "expected/%s.rules", samples[i]);
		want_rules = slurp(p, false);
		snprintf(p, sizeof(p), "expected/%s.err", samples[i]);
		want_err = slurp(p, false);
		snprintf(p, sizeof(p), "expected/%s.msgs", samples[i]);
		want_msgs = slurp(p, true);
		cr_assert(!want_rules != !want_err, "%s: one of .rules and .err", samples[i]);

		conv_file(&cv, samples[i]);
		if (want_rules) {
			cr_assert_eq(cv.rc, 0, "%s: %s", samples[i], cv.err);
			cr_assert_str_eq(cv.out, want_rules, "%s:\n--- got\n%s--- want\n%s",
					 samples[i], cv.out, want_rules);
			converted++;
		} else {
			size_t l = strlen(want_err);

			if (l && want_err[l - 1] == '\n')
				want_err[l - 1] = '\0';
			cr_assert_neq(cv.rc, 0, "%s should fail", samples[i]);
			cr_assert_str_eq(cv.err, want_err, "%s", samples[i]);
			cr_assert_eq(cv.outlen, 0);
			refused++;
		}
		cr_assert_str_eq(cv.msgs, want_msgs, "%s messages:\n--- got\n%s--- want\n%s",
				 samples[i], cv.msgs, want_msgs);
		free(want_rules);
		free(want_err);
		free(want_msgs);
		conv_free(&cv);
	}
	cr_log_info("keepalived samples: %u converted, %u refused as expected",
		    converted, refused);
	cr_assert_eq(converted + refused, NSAMPLES);
	cr_assert_geq(converted, 13);	/* IPv6 and SMTP_CHECK since issue 14 */
}

static bool is_check_opt(const char *w)
{
	return !strncmp(w, "--check", 7) || !strcmp(w, "--sorry-server") ||
	       !strcmp(w, "--quorum");
}

/* Does the rules parser on this tree know the health-check options yet
 * (they arrive with the health-check branch)? */
static void quiet(const char *msg, void *ctx)
{
	(void)msg;
	(void)ctx;
}

static bool parser_knows_checks(void)
{
	static const char *line = "-A -t 10.0.0.1:80 -s rr --check tcp --check-interval 2 --check-timeout 1 --check-rise 1 --check-fall 2 --sorry-server 10.0.0.2:80 --quorum 1\n";
	struct xlb_req *reqs = NULL;
	size_t n = 0;
	char err[256];
	FILE *f = fmemopen((void *)line, strlen(line), "r");
	int rc;

	rc = xlb_rules_parse(f, &reqs, &n, err, sizeof(err));
	fclose(f);
	free(reqs);
	return rc == 0;
}

/* Take the xlb health-check options (with their values) out of each line. */
static char *strip_checks(const char *text, unsigned *stripped)
{
	char *out = NULL, *copy = strdup(text), *line, *save = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool skip_val = false;
		char *w, *ws = NULL;

		if (line[0] == '#')
			continue;
		for (w = strtok_r(line, " ", &ws); w; w = strtok_r(NULL, " ", &ws)) {
			if (skip_val) {
				/* a quoted --check-exec value may hold blanks */
				if (w[0] == '\'' && (strlen(w) == 1 || w[strlen(w) - 1] != '\'')) {
					while ((w = strtok_r(NULL, " ", &ws)) && w[strlen(w) - 1] != '\'')
						;
				}
				skip_val = false;
				continue;
			}
			if (is_check_opt(w)) {
				skip_val = true;
				(*stripped)++;
				continue;
			}
			fprintf(m, "%s ", w);
		}
		fputc('\n', m);
	}
	fclose(m);
	free(copy);
	return out;
}

/* Every converted sample is read back by xlb's own rules parser, with
 * one request per -A/-a line in order. Until the health-check options
 * are merged the parser knows only the ipvsadm part: the check options
 * are then taken out first (and must have been there). */
Test(keepalived_samples, converted_rules_parse_with_xlbs_rules_parser)
{
	bool full;
	unsigned stripped = 0;

	/* "scheduler 'rr' is not available" until the schedulers land */
	xlb_ipvsadm_set_warn(quiet, NULL);
	full = parser_knows_checks();

	cr_log_info("rules parser %s the health-check options: checking %s",
		    full ? "knows" : "does not know yet",
		    full ? "whole lines" : "the ipvsadm part");
	cr_assert_eq(chdir(samples_dir()), 0);
	for (size_t i = 0; i < NSAMPLES; i++) {
		char p[256], err[512];
		char *text, *parsed;
		struct xlb_req *reqs = NULL;
		size_t n = 0, lines = 0;
		FILE *f;
		int rc;

		snprintf(p, sizeof(p), "expected/%s.rules", samples[i]);
		text = slurp(p, false);
		if (!text)
			continue;
		parsed = full ? strdup(text) : strip_checks(text, &stripped);
		for (const char *s = text; (s = strstr(s, "\n-")); s++)
			lines++;
		f = fmemopen(parsed, strlen(parsed), "r");
		rc = xlb_rules_parse(f, &reqs, &n, err, sizeof(err));
		fclose(f);
		cr_assert_eq(rc, 0, "%s: %s\n%s", samples[i], err, parsed);
		cr_assert_eq(n, lines, "%s: %zu requests for %zu lines", samples[i], n, lines);
		for (size_t r = 0; r < n; r++)
			cr_assert(reqs[r].op == XLB_REQ_ADD_SVC || reqs[r].op == XLB_REQ_ADD_DEST);
		cr_assert_eq(reqs[0].op, XLB_REQ_ADD_SVC);
		free(reqs);
		free(text);
		free(parsed);
	}
	if (!full)
		cr_assert_gt(stripped, 10, "the samples' rules carry check options");
}

/* One sample's numbers, read back: the quorum sample's ten NAT servers
 * on port 8080 behind 10.0.1.1:80, persistence 900. */
Test(keepalived_samples, quorum_sample_reads_back_as_configured)
{
	char *text, *parsed;
	unsigned stripped = 0;
	struct xlb_req *reqs = NULL;
	size_t n = 0;
	char err[256];
	FILE *f;

	xlb_ipvsadm_set_warn(quiet, NULL);
	cr_assert_eq(chdir(samples_dir()), 0);
	text = slurp("expected/keepalived.conf.quorum.rules", true);
	parsed = strip_checks(text, &stripped);
	f = fmemopen(parsed, strlen(parsed), "r");
	cr_assert_eq(xlb_rules_parse(f, &reqs, &n, err, sizeof(err)), 0, "%s", err);
	fclose(f);
	cr_assert_eq(n, 11);
	cr_assert_eq(reqs[0].svc.key.addr.ip, inet_addr("10.0.1.1"));
	cr_assert_eq(reqs[0].svc.key.port, htons(80));
	cr_assert_eq(reqs[0].svc.timeout, 900);
	for (size_t i = 1; i < n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "10.0.0.%zu", i);
		cr_assert_eq(reqs[i].dest.addr.ip, inet_addr(want));
		cr_assert_eq(reqs[i].dest.port, htons(8080));
		cr_assert_eq(reqs[i].dest.fwd, XLB_FWD_NAT);
		cr_assert_eq(reqs[i].dest.weight, 1);
	}
	cr_assert(strstr(text, "--check tcp --check-port 80 --check-interval 6 --check-timeout 3 --check-rise 1 --check-fall 2 --quorum 7\n"));
	free(reqs);
	free(text);
	free(parsed);
}

/* IPv6 (issue 14): keepalived's IPv6 virtual servers convert to
 * ipvsadm's IPv6 syntax ([addr]:port, -M as a prefix length), which the
 * rules parser reads back (test_ipvsadm). */
Test(keepalived_vs, ipv6_virtual_server_converts_to_bracketed_rules)
{
	converts_to("virtual_server 2001:db8::1 80 {\n"
		    " lb_algo wrr\n lb_kind NAT\n protocol TCP\n"
		    " persistence_timeout 300\n persistence_granularity 64\n"
		    " ip_family inet6\n"
		    " sorry_server 2001:db8::99 8080\n"
		    " real_server 2001:db8::11 8080 {\n  weight 2\n }\n"
		    " real_server 2001:db8::12 8080 {\n }\n"
		    "}\n"
		    "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind DR\n"
		    " real_server 10.0.1.1 80 {\n }\n}\n",
		    "-A -t [2001:db8::1]:80 -s wrr -p 300 -M 64 --sorry-server [2001:db8::99]:8080\n"
		    "-a -t [2001:db8::1]:80 -r [2001:db8::11]:8080 -m -w 2\n"
		    "-a -t [2001:db8::1]:80 -r [2001:db8::12]:8080 -m -w 1\n"
		    "-A -t 10.0.0.1:80 -s rr\n"
		    "-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n");
	fails_with("virtual_server 2001:db8::1 80 {\n persistence_timeout 60\n"
		   " persistence_granularity 255.255.255.0\n real_server 2001:db8::11 80 {\n }\n}\n",
		   "t.conf:3: persistence_granularity '255.255.255.0' is not an IPv6 prefix length (1..128)");
	fails_with("virtual_server 2001:db8::1 80 {\n sorry_server 10.0.0.9 80\n"
		   " real_server 2001:db8::11 80 {\n }\n}\n",
		   "t.conf:2: sorry_server 10.0.0.9 is not of the virtual_server's address family");
}

/* keepalived's IPv6 sample (issue 14 item 4) converts whole, and xlb's
 * rules parser reads it back as the IPv6 service it configures: ae00::1
 * port 80, NAT to ae00::10 port 25, persistence 50 s over the whole
 * address (-M 128, IPVS's IPv6 default), its SMTP_CHECK a TCP check. */
Test(keepalived_samples, ipv6_sample_reads_back_as_ipv6)
{
	struct xlb_req *reqs = NULL;
	struct in6_addr vip, rip;
	size_t n = 0;
	char err[256];
	char *text;
	FILE *f;

	xlb_ipvsadm_set_warn(quiet, NULL);
	cr_assert_eq(chdir(samples_dir()), 0);
	text = slurp("expected/keepalived.conf.IPv6.rules", true);
	cr_assert(parser_knows_checks());
	f = fmemopen(text, strlen(text), "r");
	cr_assert_eq(xlb_rules_parse(f, &reqs, &n, err, sizeof(err)), 0, "%s", err);
	fclose(f);
	cr_assert_eq(n, 2);
	cr_assert_eq(inet_pton(AF_INET6, "ae00::1", &vip), 1);
	cr_assert_eq(inet_pton(AF_INET6, "ae00::10", &rip), 1);
	cr_assert_eq(reqs[0].op, XLB_REQ_ADD_SVC);
	cr_assert_eq(reqs[0].svc.key.af, AF_INET6);
	cr_assert_eq(memcmp(&reqs[0].svc.key.addr.in6, &vip, 16), 0);
	cr_assert_eq(reqs[0].svc.key.port, htons(80));
	cr_assert_eq(reqs[0].svc.timeout, 50);
	cr_assert_eq(reqs[0].svc.netmask, 128);
	cr_assert_eq(reqs[1].op, XLB_REQ_ADD_DEST);
	cr_assert_eq(memcmp(&reqs[1].dest.addr.in6, &rip, 16), 0);
	cr_assert_eq(reqs[1].dest.port, htons(25));
	cr_assert_eq(reqs[1].dest.fwd, XLB_FWD_NAT);
	cr_assert(strstr(text, "--check tcp --check-interval 6 --check-timeout 3 --check-rise 1 --check-fall 4\n"));
	free(reqs);
	free(text);
}
