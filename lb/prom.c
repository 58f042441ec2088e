/* SPDX-License-Identifier: GPL-2.0 */
/* The text exposition writer: see prom.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

void xlb_prom_init(struct xlb_prom *p, size_t max)
{
	memset(p, 0, sizeof(*p));
	p->max = max ? max : XLB_PROM_MAX_DEFAULT;
}

void xlb_prom_free(struct xlb_prom *p)
{
	size_t max;

	if (!p)
		return;
	max = p->max;
	for (size_t i = 0; i < p->nseen; i++)
		free(p->seen[i]);
	free(p->seen);
	free(p->buf);
	xlb_prom_init(p, max);
}

char *xlb_prom_take(struct xlb_prom *p, size_t *len)
{
	char *b = p->buf;

	*len = p->len;
	p->buf = NULL;
	p->len = p->cap = 0;
	xlb_prom_free(p);
	return b;
}

static int fail(struct xlb_prom *p, int err)
{
	if (!p->error)
		p->error = err;
	return p->error;
}

/* Room for n more bytes and the NUL. */
static int reserve(struct xlb_prom *p, size_t n)
{
	size_t cap;
	char *b;

	if (p->len + n + 1 <= p->cap)
		return 0;
	if (p->len + n + 1 > p->max)
		return fail(p, -E2BIG);
	cap = p->cap ? p->cap : 4096;
	while (cap < p->len + n + 1)
		cap *= 2;
	if (cap > p->max)
		cap = p->max;
	b = realloc(p->buf, cap);
	if (!b)
		return fail(p, -ENOMEM);
	p->buf = b;
	p->cap = cap;
	return 0;
}

static void put(struct xlb_prom *p, const char *s, size_t n)
{
	if (p->error || reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void puts_(struct xlb_prom *p, const char *s)
{
	put(p, s, strlen(s));
}

/* s with \ and newline escaped, and " too when quote (label values). */
static void put_escaped(struct xlb_prom *p, const char *s, bool quote)
{
	const char *run = s;

	for (; *s; s++) {
		const char *esc = NULL;

		if (*s == '\\')
			esc = "\\\\";
		else if (*s == '\n')
			esc = "\\n";
		else if (*s == '"' && quote)
			esc = "\\\"";
		if (!esc)
			continue;
		put(p, run, (size_t)(s - run));
		puts_(p, esc);
		run = s + 1;
	}
	put(p, run, (size_t)(s - run));
}

static bool name_ok(const char *s, bool colon)
{
	size_t n = strlen(s);

	if (!n || n >= XLB_PROM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (colon && c == ':');

		if (!alpha && !(i && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

bool xlb_prom_metric_name_ok(const char *name)
{
	return name && name_ok(name, true);
}

bool xlb_prom_label_name_ok(const char *name)
{
	return name && name_ok(name, false) && strncmp(name, "__", 2) != 0;
}

const char *xlb_prom_type_name(enum xlb_prom_type type)
{
	switch (type) {
	case XLB_PROM_COUNTER: return "counter";
	case XLB_PROM_GAUGE: return "gauge";
	default: return "untyped";
	}
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static int seen_add(struct xlb_prom *p, const char *name)
{
	char *copy;

	for (size_t i = 0; i < p->nseen; i++)
		if (!strcmp(p->seen[i], name))
			return -EEXIST;
	if (p->nseen == p->capseen) {
		size_t cap = p->capseen ? p->capseen * 2 : 64;
		char **s = realloc(p->seen, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		p->seen = s;
		p->capseen = cap;
	}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	p->seen[p->nseen++] = copy;
	return 0;
}

int xlb_prom_family(struct xlb_prom *p, const char *name, enum xlb_prom_type type,
		    const char *help)
{
	bool total;
	int ret;

	if (p->error)
		return p->error;
	if (!xlb_prom_metric_name_ok(name) || !help ||
	    (type != XLB_PROM_COUNTER && type != XLB_PROM_GAUGE && type != XLB_PROM_UNTYPED))
		return fail(p, -EINVAL);
	total = ends_with(name, "_total");
	if ((type == XLB_PROM_COUNTER) != total)
		return fail(p, -EINVAL);
	ret = seen_add(p, name);
	if (ret)
		return fail(p, ret);
	puts_(p, "# HELP ");
	puts_(p, name);
	puts_(p, " ");
	put_escaped(p, help, false);
	puts_(p, "\n# TYPE ");
	puts_(p, name);
	puts_(p, " ");
	puts_(p, xlb_prom_type_name(type));
	puts_(p, "\n");
	if (!p->error)
		snprintf(p->family, sizeof(p->family), "%s", name);
	return p->error;
}

static int sample_head(struct xlb_prom *p, const struct xlb_prom_label *l, size_t nl)
{
	if (p->error)
		return p->error;
	if (!p->family[0] || (nl && !l))
		return fail(p, -EINVAL);
	for (size_t i = 0; i < nl; i++) {
		if (!xlb_prom_label_name_ok(l[i].name) || !l[i].value)
			return fail(p, -EINVAL);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(l[i].name, l[j].name))
				return fail(p, -EINVAL);
	}
	puts_(p, p->family);
	for (size_t i = 0; i < nl; i++) {
		puts_(p, i ? "," : "{");
		puts_(p, l[i].name);
		puts_(p, "=\"");
		put_escaped(p, l[i].value, true);
		puts_(p, "\"");
	}
	if (nl)
		puts_(p, "}");
	puts_(p, " ");
	return p->error;
}

int xlb_prom_u64(struct xlb_prom *p, const struct xlb_prom_label *l, size_t nl, uint64_t v)
{
	char num[32];

	if (sample_head(p, l, nl))
		return p->error;
	snprintf(num, sizeof(num), "%llu\n", (unsigned long long)v);
	puts_(p, num);
	return p->error;
}

int xlb_prom_double(struct xlb_prom *p, const struct xlb_prom_label *l, size_t nl, double v)
{
	char num[64];

	if (sample_head(p, l, nl))
		return p->error;
	if (isnan(v))
		snprintf(num, sizeof(num), "NaN\n");
	else if (isinf(v))
		snprintf(num, sizeof(num), "%cInf\n", v > 0 ? '+' : '-');
	else {
		/* The shortest of %.15g and %.17g that reads back as v. */
		snprintf(num, sizeof(num), "%.15g", v);
		if (strtod(num, NULL) != v)
			snprintf(num, sizeof(num), "%.17g", v);
		strcat(num, "\n");
	}
	puts_(p, num);
	return p->error;
}
