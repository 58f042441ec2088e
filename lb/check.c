// SPDX-License-Identifier: GPL-2.0
/*
 * Health checks: options, merging, validation, printing, the rise/fall
 * state machine and the HTTP response parser (see check.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "check.h"
#include "log.h"

static const char *const kind_names[] = {
	[XLB_CHECK_NONE] = "none",
	[XLB_CHECK_TCP] = "tcp",
	[XLB_CHECK_HTTP] = "http",
	[XLB_CHECK_UDP] = "udp",
	[XLB_CHECK_EXEC] = "exec",
};

const char *xlb_check_kind_name(uint8_t kind)
{
	return kind < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[kind] : NULL;
}

int xlb_check_kind_parse(const char *s, uint8_t *kind)
{
	for (uint8_t k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (!strcmp(s, kind_names[k])) {
			*kind = k;
			return 0;
		}
	return -EINVAL;
}

int xlb_check_parse_secs(const char *s, uint32_t min_ms, uint32_t max_ms, uint32_t *ms)
{
	uint64_t v = 0;
	int dec = -1;

	if (!s || !*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (dec >= 0 || p == s || !p[1])
				return -EINVAL;
			dec = 0;
			continue;
		}
		if (*p < '0' || *p > '9' || dec == 3)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
		if (dec >= 0)
			dec++;
		if (v > (uint64_t)UINT32_MAX * 1000)
			return -EINVAL;
	}
	for (int d = dec < 0 ? 0 : dec; d < 3; d++)
		v *= 10;
	if (v < min_ms || v > max_ms)
		return -EINVAL;
	*ms = (uint32_t)v;
	return 0;
}

char *xlb_check_fmt_secs(char *buf, size_t len, uint32_t ms)
{
	uint32_t frac = ms % 1000;

	if (!frac)
		snprintf(buf, len, "%u", ms / 1000);
	else if (frac % 100 == 0)
		snprintf(buf, len, "%u.%u", ms / 1000, frac / 100);
	else if (frac % 10 == 0)
		snprintf(buf, len, "%u.%02u", ms / 1000, frac / 10);
	else
		snprintf(buf, len, "%u.%03u", ms / 1000, frac);
	return buf;
}

void xlb_check_merge(struct xlb_check *dst, const struct xlb_check *src)
{
	uint32_t s = src->set;

	if (s & XLB_CHECK_SET_KIND)
		dst->kind = src->kind;
	if (s & XLB_CHECK_SET_PORT)
		dst->port = src->port;
	if (s & XLB_CHECK_SET_PATH)
		memcpy(dst->path, src->path, sizeof(dst->path));
	if (s & XLB_CHECK_SET_STATUS)
		dst->status = src->status;
	if (s & XLB_CHECK_SET_EXPECT)
		memcpy(dst->expect, src->expect, sizeof(dst->expect));
	if (s & XLB_CHECK_SET_EXEC)
		memcpy(dst->exec, src->exec, sizeof(dst->exec));
	if (s & XLB_CHECK_SET_INTERVAL)
		dst->interval_ms = src->interval_ms;
	if (s & XLB_CHECK_SET_TIMEOUT)
		dst->timeout_ms = src->timeout_ms;
	if (s & XLB_CHECK_SET_RISE)
		dst->rise = src->rise;
	if (s & XLB_CHECK_SET_FALL)
		dst->fall = src->fall;
	dst->set |= s;
}

void xlb_check_effective(struct xlb_check *out, const struct xlb_check *svc,
			 const struct xlb_check *dest)
{
	memset(out, 0, sizeof(*out));
	out->kind = XLB_CHECK_NONE;
	out->status = XLB_CHECK_STATUS_DEFAULT;
	out->rise = XLB_CHECK_RISE_DEFAULT;
	out->fall = XLB_CHECK_FALL_DEFAULT;
	out->interval_ms = XLB_CHECK_INTERVAL_DEFAULT_MS;
	out->timeout_ms = XLB_CHECK_TIMEOUT_DEFAULT_MS;
	out->path[0] = '/';
	if (svc)
		xlb_check_merge(out, svc);
	if (dest)
		xlb_check_merge(out, dest);
	out->set = XLB_CHECK_SET_ALL;
}

bool xlb_check_str_ok(const char *s, size_t n, bool spaces)
{
	size_t len = strnlen(s, n);

	if (len == n)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || (!spaces && c == ' '))
			return false;
	}
	return true;
}

int xlb_check_validate(const struct xlb_check *c, char *err, size_t errlen)
{
	uint32_t s = c->set;

	if (s & ~XLB_CHECK_SET_ALL)
		return xlb_seterr_inval(err, errlen, "unknown check fields 0x%x", s & ~XLB_CHECK_SET_ALL);
	if ((s & XLB_CHECK_SET_KIND) && !xlb_check_kind_name(c->kind))
		return xlb_seterr_inval(err, errlen, "unknown check kind %u (none, tcp, http, udp or exec)",
			   c->kind);
	if ((s & XLB_CHECK_SET_PATH) &&
	    (!xlb_check_str_ok(c->path, sizeof(c->path), false) || c->path[0] != '/'))
		return xlb_seterr_inval(err, errlen, "--check-path must start with '/' and hold at most %d printable characters without spaces",
			   XLB_CHECK_PATH_MAX - 1);
	if ((s & XLB_CHECK_SET_STATUS) && (c->status < 100 || c->status > 599))
		return xlb_seterr_inval(err, errlen, "--check-status %u out of range 100..599", c->status);
	if ((s & XLB_CHECK_SET_EXPECT) && !xlb_check_str_ok(c->expect, sizeof(c->expect), true))
		return xlb_seterr_inval(err, errlen, "--check-expect must hold at most %d printable characters",
			   XLB_CHECK_EXPECT_MAX - 1);
	/* Empty is "none given" here; an exec check needs one (effective). */
	if ((s & XLB_CHECK_SET_EXEC) && !xlb_check_str_ok(c->exec, sizeof(c->exec), true))
		return xlb_seterr_inval(err, errlen, "--check-exec needs a command of 1..%d printable characters",
			   XLB_CHECK_EXEC_MAX - 1);
	if ((s & XLB_CHECK_SET_INTERVAL) &&
	    (c->interval_ms < XLB_CHECK_INTERVAL_MIN_MS || c->interval_ms > XLB_CHECK_INTERVAL_MAX_MS))
		return xlb_seterr_inval(err, errlen, "--check-interval out of range 0.01..3600 seconds");
	if ((s & XLB_CHECK_SET_TIMEOUT) &&
	    (c->timeout_ms < XLB_CHECK_INTERVAL_MIN_MS || c->timeout_ms > XLB_CHECK_INTERVAL_MAX_MS))
		return xlb_seterr_inval(err, errlen, "--check-timeout out of range 0.01..3600 seconds");
	if ((s & XLB_CHECK_SET_RISE) && (c->rise < 1 || c->rise > XLB_CHECK_RISE_MAX))
		return xlb_seterr_inval(err, errlen, "--check-rise %u out of range 1..%d", c->rise,
			   XLB_CHECK_RISE_MAX);
	if ((s & XLB_CHECK_SET_FALL) && (c->fall < 1 || c->fall > XLB_CHECK_RISE_MAX))
		return xlb_seterr_inval(err, errlen, "--check-fall %u out of range 1..%d", c->fall,
			   XLB_CHECK_RISE_MAX);
	return 0;
}

int xlb_check_validate_effective(const struct xlb_check *c, char *err, size_t errlen)
{
	int ret = xlb_check_validate(c, err, errlen);

	if (ret)
		return ret;
	if (c->kind == XLB_CHECK_EXEC && !c->exec[0])
		return xlb_seterr_inval(err, errlen, "--check exec needs --check-exec 'COMMAND'");
	return 0;
}

bool xlb_check_equal(const struct xlb_check *a, const struct xlb_check *b)
{
	struct xlb_check x = { 0 }, y = { 0 };

	if (a->set != b->set)
		return false;
	xlb_check_merge(&x, a);
	xlb_check_merge(&y, b);
	return !memcmp(&x, &y, sizeof(x));
}

/* One word for a shell and for the rules-file splitter (ipvsadm.c, which
 * groups '...' and "..." and joins adjacent pieces, without escapes): bare
 * when plain, else quoted, runs of single quotes inside double quotes. */
static void print_word(FILE *out, const char *w)
{
	bool plain = *w != '\0';

	for (const char *p = w; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/._-:=,+%@", *p)))
			plain = false;
	if (plain) {
		fputs(w, out);
		return;
	}
	if (!*w) {
		fputs("''", out);
		return;
	}
	for (const char *p = w; *p;) {
		size_t n = strcspn(p, "'");

		if (n) {
			fprintf(out, "'%.*s'", (int)n, p);
		} else {
			n = strspn(p, "'");
			fprintf(out, "\"%.*s\"", (int)n, p);
		}
		p += n;
	}
}

void xlb_check_print(FILE *out, const struct xlb_check *c)
{
	uint32_t s = c->set;
	char b[32];

	if ((s & XLB_CHECK_SET_KIND) && xlb_check_kind_name(c->kind))
		fprintf(out, " --check %s", xlb_check_kind_name(c->kind));
	if (s & XLB_CHECK_SET_PORT)
		fprintf(out, " --check-port %u", ntohs(c->port));
	if (s & XLB_CHECK_SET_PATH) {
		fputs(" --check-path ", out);
		print_word(out, c->path);
	}
	if (s & XLB_CHECK_SET_STATUS)
		fprintf(out, " --check-status %u", c->status);
	if (s & XLB_CHECK_SET_EXPECT) {
		fputs(" --check-expect ", out);
		print_word(out, c->expect);
	}
	if (s & XLB_CHECK_SET_EXEC) {
		fputs(" --check-exec ", out);
		print_word(out, c->exec);
	}
	if (s & XLB_CHECK_SET_INTERVAL)
		fprintf(out, " --check-interval %s", xlb_check_fmt_secs(b, sizeof(b), c->interval_ms));
	if (s & XLB_CHECK_SET_TIMEOUT)
		fprintf(out, " --check-timeout %s", xlb_check_fmt_secs(b, sizeof(b), c->timeout_ms));
	if (s & XLB_CHECK_SET_RISE)
		fprintf(out, " --check-rise %u", c->rise);
	if (s & XLB_CHECK_SET_FALL)
		fprintf(out, " --check-fall %u", c->fall);
}

/* ---- rise/fall ---- */

void xlb_health_sm_init(struct xlb_health_sm *sm)
{
	sm->up = true;
	sm->oks = 0;
	sm->fails = 0;
}

bool xlb_health_sm_step(struct xlb_health_sm *sm, bool ok, uint16_t rise, uint16_t fall)
{
	if (sm->up) {
		if (ok) {
			sm->fails = 0;
			return false;
		}
		if (++sm->fails < (fall ? fall : 1))
			return false;
		sm->up = false;
		sm->fails = 0;
		sm->oks = 0;
		return true;
	}
	if (!ok) {
		sm->oks = 0;
		return false;
	}
	if (++sm->oks < (rise ? rise : 1))
		return false;
	sm->up = true;
	sm->oks = 0;
	sm->fails = 0;
	return true;
}

/* ---- HTTP response ---- */

enum { PH_STATUS, PH_HEADERS, PH_BODY, PH_DONE };

void xlb_http_parse_init(struct xlb_http_parse *p, uint16_t want_status, const char *expect)
{
	memset(p, 0, sizeof(*p));
	p->want_status = want_status;
	p->expect = expect && *expect ? expect : NULL;
	p->expect_len = p->expect ? strlen(p->expect) : 0;
	if (p->expect_len > XLB_CHECK_EXPECT_MAX)
		p->expect_len = XLB_CHECK_EXPECT_MAX;
	/* KMP failure function, so a match split across reads is found. */
	for (size_t i = 1, k = 0; i < p->expect_len; i++) {
		while (k && p->expect[i] != p->expect[k])
			k = p->kmp[k - 1];
		if (p->expect[i] == p->expect[k])
			k++;
		p->kmp[i] = (uint16_t)k;
	}
}

static enum xlb_http_verdict decide(struct xlb_http_parse *p, enum xlb_http_verdict v)
{
	p->verdict = v;
	p->phase = PH_DONE;
	return v;
}

__attribute__((format(printf, 2, 3)))
static enum xlb_http_verdict http_fail(struct xlb_http_parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	return decide(p, XLB_HTTP_FAIL);
}

/* "HTTP/1.x SSS[ reason]" */
static enum xlb_http_verdict status_line(struct xlb_http_parse *p)
{
	const char *l = p->line;
	unsigned int code;

	if (p->line_len < 12 || strncmp(l, "HTTP/1.", 7) || l[7] < '0' || l[7] > '9' ||
	    l[8] != ' ' || l[9] < '1' || l[9] > '5' || l[10] < '0' || l[10] > '9' ||
	    l[11] < '0' || l[11] > '9' || (p->line_len > 12 && l[12] != ' '))
		return http_fail(p, "bad status line \"%.40s\"", l);
	code = (unsigned int)(l[9] - '0') * 100 + (unsigned int)(l[10] - '0') * 10 +
	       (unsigned int)(l[11] - '0');
	p->status = code;
	if (code != p->want_status)
		return http_fail(p, "status %u, expected %u", code, p->want_status);
	if (!p->expect)
		return decide(p, XLB_HTTP_OK);
	p->phase = PH_HEADERS;
	return XLB_HTTP_MORE;
}

enum xlb_http_verdict xlb_http_parse_feed(struct xlb_http_parse *p, const char *data, size_t len)
{
	for (size_t i = 0; i < len && p->phase != PH_DONE; i++) {
		char c = data[i];

		if (p->phase == PH_BODY) {
			while (p->matched && c != p->expect[p->matched])
				p->matched = p->kmp[p->matched - 1];
			if (c == p->expect[p->matched] && ++p->matched == p->expect_len)
				return decide(p, XLB_HTTP_OK);
			continue;
		}
		if (c == '\n') {
			if (p->line_len && p->line[p->line_len - 1] == '\r')
				p->line_len--;
			p->line[p->line_len] = '\0';
			if (p->phase == PH_STATUS) {
				if (status_line(p) != XLB_HTTP_MORE)
					return p->verdict;
			} else if (!p->line_len) {
				p->phase = PH_BODY;	/* end of headers */
			}
			p->line_len = 0;
			continue;
		}
		if (p->line_len + 1 >= sizeof(p->line)) {
			if (p->phase == PH_STATUS)
				return http_fail(p, "status line longer than %d bytes",
						 XLB_HTTP_LINE_MAX - 2);
			p->line_len = 1;	/* a long header: only its end matters */
			continue;
		}
		if (p->phase == PH_STATUS && (c == '\0' || (c != '\r' && (unsigned char)c < 0x20)))
			return http_fail(p, "bad status line (control character)");
		p->line[p->line_len++] = c;
	}
	return p->verdict;
}

enum xlb_http_verdict xlb_http_parse_eof(struct xlb_http_parse *p)
{
	if (p->phase == PH_DONE)
		return p->verdict;
	if (p->phase == PH_STATUS)
		return http_fail(p, p->line_len ? "connection closed in the status line"
					       : "connection closed without a response");
	return http_fail(p, "body does not contain \"%.40s\"", p->expect);
}
