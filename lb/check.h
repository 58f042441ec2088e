/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Health checks: the configuration's vocabulary (options, merging,
 * validation, printing) and the pure parts of a probe (the rise/fall state
 * machine, the HTTP response parser), apart from health.c's thread so that
 * xlbctl, the tables and the unit tests share them without the daemon.
 */
#ifndef XLB_CHECK_H
#define XLB_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "xlb-t.h"

/* "none", "tcp", "http", "udp", "exec"; NULL if unknown. */
const char *xlb_check_kind_name(uint8_t kind);
/* 0 and *kind, or -EINVAL. */
int xlb_check_kind_parse(const char *s, uint8_t *kind);

/* "2", "0.5", "1.25" (seconds, up to 3 decimals) into milliseconds within
 * [min_ms, max_ms]; 0 or -EINVAL. */
int xlb_check_parse_secs(const char *s, uint32_t min_ms, uint32_t max_ms, uint32_t *ms);
/* Milliseconds as the shortest seconds string ("2", "0.5"). Returns buf. */
char *xlb_check_fmt_secs(char *buf, size_t len, uint32_t ms);

/* Fields of src named in src->set into dst (dst->set grows). */
void xlb_check_merge(struct xlb_check *dst, const struct xlb_check *src);
/* What a real server is checked with: defaults, then the service's
 * fields, then the server's (either may be NULL). out->set = ALL. */
void xlb_check_effective(struct xlb_check *out, const struct xlb_check *svc,
			 const struct xlb_check *dest);
/* Each field named in c->set within range, strings terminated and
 * printable: 0 or -EINVAL with a sentence. */
/* Terminated within n, printable, and (when !spaces) without blanks: what
 * --check-path (n = XLB_CHECK_PATH_MAX), --check-expect and --check-exec
 * (spaces allowed) may hold. */
bool xlb_check_str_ok(const char *s, size_t n, bool spaces);
int xlb_check_validate(const struct xlb_check *c, char *err, size_t errlen);
/* An effective check (xlb_check_effective) that can run: 0 or -EINVAL
 * (e.g. --check exec without a command). */
int xlb_check_validate_effective(const struct xlb_check *c, char *err, size_t errlen);
/* Same fields given, same values (the set masks and named fields only). */
bool xlb_check_equal(const struct xlb_check *a, const struct xlb_check *b);

/* The options of c->set as xlbctl words, each preceded by a space
 * (" --check http --check-path /health"), shell-quoted where needed:
 * what -S prints after the ipvsadm options. */
void xlb_check_print(FILE *out, const struct xlb_check *c);

/* ---- rise/fall ----
 * A server starts up (as keepalived's checkers do without "alpha"); fall
 * consecutive failures make it down, rise consecutive successes up again. */
struct xlb_health_sm {
	bool up;
	uint16_t oks;		/* consecutive successes while down */
	uint16_t fails;		/* consecutive failures while up */
};

void xlb_health_sm_init(struct xlb_health_sm *sm);
/* One probe result: true when the state changed. */
bool xlb_health_sm_step(struct xlb_health_sm *sm, bool ok, uint16_t rise, uint16_t fall);

/* ---- HTTP response ----
 * Fed the response as it arrives, in any pieces: decides on the status
 * line (HTTP/1.x CODE ...) and, with expect, on the body containing it. */
enum xlb_http_verdict {
	XLB_HTTP_MORE = 0,	/* undecided: feed more, or finish at EOF */
	XLB_HTTP_OK,
	XLB_HTTP_FAIL,		/* p->error says why */
};

#define XLB_HTTP_LINE_MAX	256	/* status line, header line */

struct xlb_http_parse {
	uint16_t want_status;
	const char *expect;	/* NULL or "": no body check */
	size_t expect_len;
	int phase;		/* private */
	unsigned int status;
	char line[XLB_HTTP_LINE_MAX];
	size_t line_len;
	size_t matched;		/* expect bytes matched so far (KMP state) */
	uint16_t kmp[XLB_CHECK_EXPECT_MAX];
	enum xlb_http_verdict verdict;
	char error[XLB_HEALTH_ERR_MAX];
};

void xlb_http_parse_init(struct xlb_http_parse *p, uint16_t want_status, const char *expect);
enum xlb_http_verdict xlb_http_parse_feed(struct xlb_http_parse *p, const char *data, size_t len);
/* The peer closed: the verdict, FAIL if still undecided. */
enum xlb_http_verdict xlb_http_parse_eof(struct xlb_http_parse *p);

#endif /* XLB_CHECK_H */
