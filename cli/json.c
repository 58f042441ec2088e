// SPDX-License-Identifier: GPL-2.0
/* The JSON writer of xlbctl --json (json.h). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "json.h"

void xlb_json_init(struct xlb_json *j, FILE *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
}

static void put(struct xlb_json *j, const char *s, size_t n)
{
	if (!j->err && n && fwrite(s, 1, n, j->out) != n)
		j->err = -EIO;
}

static void puts_(struct xlb_json *j, const char *s)
{
	put(j, s, strlen(s));
}

static void indent(struct xlb_json *j)
{
	static const char sp[] = "                                                                ";

	put(j, "\n", 1);
	for (int n = j->depth * 2; n > 0 && !j->err; n -= (int)sizeof(sp) - 1)
		put(j, sp, n < (int)sizeof(sp) - 1 ? (size_t)n : sizeof(sp) - 1);
}

/* Before any value: the comma and the line break its place needs, or an
 * error when no value may come here. */
static bool value_begin(struct xlb_json *j)
{
	if (j->err)
		return false;
	if (j->done) {
		j->err = -EINVAL;	/* one document only */
		return false;
	}
	if (j->depth == 0)
		return true;
	if (j->kind[j->depth - 1] == '{') {
		if (!j->after_key) {
			j->err = -EINVAL;	/* a member needs its key */
			return false;
		}
		j->after_key = false;
		return true;
	}
	if (!j->first[j->depth - 1])
		put(j, ",", 1);
	j->first[j->depth - 1] = false;
	indent(j);
	return !j->err;
}

static void value_end(struct xlb_json *j)
{
	if (j->depth == 0)
		j->done = true;
}

static void open_(struct xlb_json *j, char kind)
{
	if (!value_begin(j))
		return;
	if (j->depth >= XLB_JSON_DEPTH_MAX) {
		j->err = -E2BIG;
		return;
	}
	put(j, kind == '{' ? "{" : "[", 1);
	j->kind[j->depth] = kind;
	j->first[j->depth] = true;
	j->depth++;
}

static void close_(struct xlb_json *j, char kind)
{
	if (j->err)
		return;
	if (j->depth == 0 || j->kind[j->depth - 1] != kind || j->after_key) {
		j->err = -EINVAL;
		return;
	}
	j->depth--;
	if (!j->first[j->depth])
		indent(j);
	put(j, kind == '{' ? "}" : "]", 1);
	value_end(j);
}

void xlb_json_obj_begin(struct xlb_json *j) { open_(j, '{'); }
void xlb_json_obj_end(struct xlb_json *j) { close_(j, '{'); }
void xlb_json_arr_begin(struct xlb_json *j) { open_(j, '['); }
void xlb_json_arr_end(struct xlb_json *j) { close_(j, '['); }

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 if s[0] starts none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void put_string(struct xlb_json *j, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;
	char esc[8];

	put(j, "\"", 1);
	while (i < n && !j->err) {
		unsigned char c = s[i];
		size_t u;

		/* Plain ASCII and well-formed UTF-8 go out as runs. */
		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			run++, i++;
			continue;
		}
		if (c >= 0x80 && (u = utf8_len(s + i, n - i))) {
			run += u, i += u;
			continue;
		}
		put(j, (const char *)s + i - run, run);
		run = 0;
		switch (c) {
		case '"':  puts_(j, "\\\""); break;
		case '\\': puts_(j, "\\\\"); break;
		case '\b': puts_(j, "\\b"); break;
		case '\f': puts_(j, "\\f"); break;
		case '\n': puts_(j, "\\n"); break;
		case '\r': puts_(j, "\\r"); break;
		case '\t': puts_(j, "\\t"); break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				puts_(j, esc);
			} else {
				puts_(j, "\\ufffd");	/* not UTF-8 */
			}
		}
		i++;
	}
	put(j, (const char *)s + i - run, run);
	put(j, "\"", 1);
}

void xlb_json_key(struct xlb_json *j, const char *key)
{
	if (j->err)
		return;
	if (j->depth == 0 || j->kind[j->depth - 1] != '{' || j->after_key) {
		j->err = -EINVAL;
		return;
	}
	if (!j->first[j->depth - 1])
		put(j, ",", 1);
	j->first[j->depth - 1] = false;
	indent(j);
	put_string(j, key, strlen(key));
	put(j, ": ", 2);
	j->after_key = true;
}

void xlb_json_strn(struct xlb_json *j, const char *s, size_t len)
{
	if (!value_begin(j))
		return;
	put_string(j, s, len);
	value_end(j);
}

void xlb_json_str(struct xlb_json *j, const char *s)
{
	xlb_json_strn(j, s, strlen(s));
}

static void put_raw(struct xlb_json *j, const char *lit)
{
	if (!value_begin(j))
		return;
	puts_(j, lit);
	value_end(j);
}

void xlb_json_u64(struct xlb_json *j, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	put_raw(j, b);
}

void xlb_json_i64(struct xlb_json *j, int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRId64, v);
	put_raw(j, b);
}

void xlb_json_bool(struct xlb_json *j, bool v) { put_raw(j, v ? "true" : "false"); }
void xlb_json_null(struct xlb_json *j) { put_raw(j, "null"); }

void xlb_json_kstr(struct xlb_json *j, const char *key, const char *s)
{
	xlb_json_key(j, key);
	xlb_json_str(j, s);
}

void xlb_json_ku64(struct xlb_json *j, const char *key, uint64_t v)
{
	xlb_json_key(j, key);
	xlb_json_u64(j, v);
}

void xlb_json_kbool(struct xlb_json *j, const char *key, bool v)
{
	xlb_json_key(j, key);
	xlb_json_bool(j, v);
}

void xlb_json_knull(struct xlb_json *j, const char *key)
{
	xlb_json_key(j, key);
	xlb_json_null(j);
}

int xlb_json_end(struct xlb_json *j)
{
	if (!j->err && (!j->done || j->depth))
		j->err = -EINVAL;
	put(j, "\n", 1);
	if (!j->err && fflush(j->out))
		j->err = -EIO;
	return j->err;
}
