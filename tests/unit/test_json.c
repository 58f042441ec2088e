// SPDX-License-Identifier: GPL-2.0
/* xlbctl's JSON writer (cli/json.c): each case writes into a memory
 * stream and compares the exact bytes (RFC 8259 escaping, exact 64-bit
 * integers, nesting and commas, misuse refused). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>

#include "../../cli/json.h"

struct out {
	FILE *f;
	char *buf;
	size_t len;
	struct xlb_json j;
};

static void out_open(struct out *o)
{
	memset(o, 0, sizeof(*o));
	o->f = open_memstream(&o->buf, &o->len);
	cr_assert(o->f);
	xlb_json_init(&o->j, o->f);
}

/* Ends the document: its result, the text in o->buf. */
static int out_close(struct out *o)
{
	int rc = xlb_json_end(&o->j);

	fclose(o->f);
	return rc;
}

/* One string value as a whole document. */
static char *str_doc(const char *s, size_t len)
{
	struct out o;

	out_open(&o);
	xlb_json_strn(&o.j, s, len);
	cr_assert_eq(out_close(&o), 0);
	return o.buf;
}

#define ASSERT_STR(in, len, want) do {					\
		char *got_ = str_doc((in), (len));			\
		cr_expect_str_eq(got_, want "\n");			\
		free(got_);						\
	} while (0)

Test(json, quotes_and_backslash_are_escaped)
{
	ASSERT_STR("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
}

Test(json, control_characters_are_escaped)
{
	ASSERT_STR("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
	ASSERT_STR("\x01\x1f", 2, "\"\\u0001\\u001f\"");
	/* An embedded NUL (strn) is a character like another. */
	ASSERT_STR("a\0b", 3, "\"a\\u0000b\"");
	/* DEL is not a control character for JSON: as it is. */
	ASSERT_STR("\x7f", 1, "\"\x7f\"");
}

Test(json, utf8_passes_through)
{
	const char *s = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";	/* é € 😀 */

	ASSERT_STR(s, strlen(s), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

Test(json, invalid_utf8_becomes_replacement_characters)
{
	/* A lone continuation byte, a truncated sequence, an overlong '/',
	 * a UTF-16 surrogate, a byte never in UTF-8. */
	ASSERT_STR("\x80", 1, "\"\\ufffd\"");
	ASSERT_STR("a\xc3", 2, "\"a\\ufffd\"");
	ASSERT_STR("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");
	ASSERT_STR("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");
	ASSERT_STR("\xff", 1, "\"\\ufffd\"");
}

Test(json, integers_are_exact_up_to_2_64_minus_1)
{
	struct out o;

	out_open(&o);
	xlb_json_arr_begin(&o.j);
	xlb_json_u64(&o.j, 0);
	xlb_json_u64(&o.j, 9007199254740993ULL);	/* 2^53 + 1: not a double */
	xlb_json_u64(&o.j, UINT64_MAX);
	xlb_json_i64(&o.j, INT64_MIN);
	xlb_json_arr_end(&o.j);
	cr_assert_eq(out_close(&o), 0);
	cr_expect_str_eq(o.buf, "[\n  0,\n  9007199254740993,\n  18446744073709551615,\n"
				"  -9223372036854775808\n]\n");
	free(o.buf);
}

Test(json, nesting_commas_and_empty_containers)
{
	struct out o;

	out_open(&o);
	xlb_json_obj_begin(&o.j);
	xlb_json_ku64(&o.j, "schema", 1);
	xlb_json_key(&o.j, "a");
	xlb_json_arr_begin(&o.j);
	xlb_json_obj_begin(&o.j);
	xlb_json_kbool(&o.j, "t", true);
	xlb_json_knull(&o.j, "n");
	xlb_json_obj_end(&o.j);
	xlb_json_arr_begin(&o.j);
	xlb_json_arr_end(&o.j);
	xlb_json_obj_begin(&o.j);
	xlb_json_obj_end(&o.j);
	xlb_json_arr_end(&o.j);
	xlb_json_kstr(&o.j, "k\"ey", "v");
	xlb_json_obj_end(&o.j);
	cr_assert_eq(out_close(&o), 0);
	cr_expect_str_eq(o.buf,
		"{\n"
		"  \"schema\": 1,\n"
		"  \"a\": [\n"
		"    {\n"
		"      \"t\": true,\n"
		"      \"n\": null\n"
		"    },\n"
		"    [],\n"
		"    {}\n"
		"  ],\n"
		"  \"k\\\"ey\": \"v\"\n"
		"}\n");
	free(o.buf);
}

Test(json, deep_nesting_is_refused_past_the_limit)
{
	struct out o;
	int i;

	out_open(&o);
	for (i = 0; i < XLB_JSON_DEPTH_MAX; i++)
		xlb_json_arr_begin(&o.j);
	cr_expect_eq(o.j.err, 0);
	xlb_json_arr_begin(&o.j);
	cr_expect_eq(out_close(&o), -E2BIG);
	free(o.buf);
}

Test(json, misuse_is_an_error_not_bad_output)
{
	struct out o;

	/* A value in an object without its key. */
	out_open(&o);
	xlb_json_obj_begin(&o.j);
	xlb_json_u64(&o.j, 1);
	xlb_json_obj_end(&o.j);
	cr_expect_eq(out_close(&o), -EINVAL);
	free(o.buf);
	/* A key in an array. */
	out_open(&o);
	xlb_json_arr_begin(&o.j);
	xlb_json_key(&o.j, "k");
	cr_expect_eq(out_close(&o), -EINVAL);
	free(o.buf);
	/* Unbalanced: an object left open, a wrong closer. */
	out_open(&o);
	xlb_json_obj_begin(&o.j);
	cr_expect_eq(out_close(&o), -EINVAL);
	free(o.buf);
	out_open(&o);
	xlb_json_obj_begin(&o.j);
	xlb_json_arr_end(&o.j);
	cr_expect_eq(out_close(&o), -EINVAL);
	free(o.buf);
	/* A second top-level value. */
	out_open(&o);
	xlb_json_u64(&o.j, 1);
	xlb_json_u64(&o.j, 2);
	cr_expect_eq(out_close(&o), -EINVAL);
	free(o.buf);
}
