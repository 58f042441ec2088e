// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: keepalived.conf into xlb rules (lb/keepalived.h).
 *
 * The input is a keepalived configuration held in memory (includes are
 * refused: the target reads no file). Invariants:
 *  - no crash, leak or sanitizer report, whatever the input;
 *  - an error writes nothing and says "t.conf:LINE: ..." (or "t.conf: ...");
 *  - a success writes only comment lines and "-A "/"-a " lines, the first
 *    rule an -A, and the same input converts to the same bytes twice;
 *  - the rules, health-check options and quoted --check-exec commands
 *    included, parse with xlb_rules_parse(), one request per line.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipvsadm.h"
#include "keepalived.h"
#include "log.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_keepalived: invariant failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);		\
			__builtin_trap();				\
		}							\
	} while (0)

static void quiet_msg(const char *line, void *ctx)
{
	(void)ctx;
	CHECK(line && !strchr(line, '\n'));
}

static void quiet_warn(const char *msg, void *ctx)
{
	(void)msg;
	(void)ctx;
}

static void quiet_log(enum xlb_log_level level, const char *line, void *ctx)
{
	(void)level;
	(void)line;
	(void)ctx;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xlb_log_set_hook(quiet_log, NULL);
	xlb_ipvsadm_set_warn(quiet_warn, NULL);
	return 0;
}

static int convert(const uint8_t *data, size_t size, char **out,
		   size_t *len, char *err, size_t errlen)
{
	struct xlb_kad_params p = { .msg = quiet_msg, .no_include = true };
	FILE *f = open_memstream(out, len);
	int rc;

	CHECK(f);
	rc = xlb_kad_convert_buf("t.conf", (const char *)data, size, f, &p,
				 err, errlen);
	CHECK(fclose(f) == 0);
	return rc;
}

/* Count the rule lines: comments, then "-A "/"-a " lines, an -A first. */
static size_t count_rules(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t lines = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		CHECK(nl);	/* every line ends in a newline */
		if (p[0] != '#') {
			CHECK(nl - p >= 3 && (!strncmp(p, "-A ", 3) ||
					      !strncmp(p, "-a ", 3)));
			if (!lines)
				CHECK(p[1] == 'A');
			lines++;
		}
		p = nl + 1;
	}
	return lines;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL, *again = NULL;
	size_t len = 0, len2 = 0, lines, n = 0;
	char err[768], err2[768];
	struct xlb_req *reqs = NULL;
	FILE *f;
	int rc, rc2;

	if (size > 64 * 1024)
		return 0;
	rc = convert(data, size, &out, &len, err, sizeof(err));
	if (rc) {
		CHECK(rc < 0);
		CHECK(len == 0);
		CHECK(!strncmp(err, "t.conf:", 7) || !strncmp(err, "t.conf: ", 8) ||
		      rc == -ENOMEM);
		free(out);
		return 0;
	}
	rc2 = convert(data, size, &again, &len2, err2, sizeof(err2));
	CHECK(rc2 == 0 && len2 == len && !memcmp(out, again, len));
	free(again);

	lines = count_rules(out, len);
	CHECK(lines > 0);
	f = fmemopen(out, len, "r");
	CHECK(f);
	rc = xlb_rules_parse(f, &reqs, &n, err, sizeof(err));
	fclose(f);
	if (rc)
		fprintf(stderr, "fuzz_keepalived: rules refused: %s\n%s", err, out);
	CHECK(rc == 0);
	CHECK(n == lines);
	free(reqs);
	free(out);
	return 0;
}
