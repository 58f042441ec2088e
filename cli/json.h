/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small streaming JSON writer (RFC 8259) for xlbctl --json: objects,
 * arrays, strings, unsigned/signed 64-bit integers (exact: printed as
 * integers, never through a double), booleans and null, two-space
 * indented. Commas and nesting are the writer's business; the caller only
 * says what comes next. Errors stick: the first one is kept and every
 * later call does nothing, so a caller checks once, at xlb_json_end().
 */
#ifndef XLB_JSON_H
#define XLB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define XLB_JSON_DEPTH_MAX	32

struct xlb_json {
	FILE *out;
	int depth;
	int err;			/* first error, -errno; 0: none */
	bool after_key;			/* a key was written, its value is next */
	bool done;			/* the top-level value is complete */
	bool first[XLB_JSON_DEPTH_MAX];	/* nothing yet in this container */
	char kind[XLB_JSON_DEPTH_MAX];	/* '{' or '[' */
};

void xlb_json_init(struct xlb_json *j, FILE *out);

void xlb_json_obj_begin(struct xlb_json *j);
void xlb_json_obj_end(struct xlb_json *j);
void xlb_json_arr_begin(struct xlb_json *j);
void xlb_json_arr_end(struct xlb_json *j);
/* A member's name, inside an object only (else -EINVAL). */
void xlb_json_key(struct xlb_json *j, const char *key);

/* s as a JSON string: '"' and '\\' escaped, control characters as \n, \t,
 * ... or \u00XX, valid UTF-8 passed through, each byte of an invalid
 * UTF-8 sequence as U+FFFD (so the output is always valid JSON). */
void xlb_json_str(struct xlb_json *j, const char *s);
void xlb_json_strn(struct xlb_json *j, const char *s, size_t len);
void xlb_json_u64(struct xlb_json *j, uint64_t v);
void xlb_json_i64(struct xlb_json *j, int64_t v);
void xlb_json_bool(struct xlb_json *j, bool v);
void xlb_json_null(struct xlb_json *j);

/* key + value in one call. */
void xlb_json_kstr(struct xlb_json *j, const char *key, const char *s);
void xlb_json_ku64(struct xlb_json *j, const char *key, uint64_t v);
void xlb_json_kbool(struct xlb_json *j, const char *key, bool v);
void xlb_json_knull(struct xlb_json *j, const char *key);

/* The document is complete: a newline after it. 0, or the first error
 * (-EINVAL: misuse such as unbalanced nesting or a key outside an object;
 * -E2BIG: nesting deeper than XLB_JSON_DEPTH_MAX; -EIO: a write failed). */
int xlb_json_end(struct xlb_json *j);

#endif /* XLB_JSON_H */
