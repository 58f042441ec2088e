/* SPDX-License-Identifier: GPL-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <sys/stat.h>
#include "log.h"

static enum xlb_log_level log_level = XLB_LOG_INFO;
static xlb_log_fn log_hook;
static void *log_hook_ctx;
static bool log_journal;

bool xlb_log_is_journal(const char *env, uint64_t dev, uint64_t ino)
{
	unsigned long long d, i;
	int end = 0;

	if (!env || sscanf(env, "%llu:%llu%n", &d, &i, &end) != 2 || env[end])
		return false;
	return d == dev && i == ino;
}

void xlb_log_set_journal(bool on)
{
	log_journal = on;
}

bool xlb_log_journal(void)
{
	return log_journal;
}

void xlb_log_init(void)
{
	struct stat st;

	log_journal = fstat(2, &st) == 0 &&
		xlb_log_is_journal(getenv("JOURNAL_STREAM"), (uint64_t)st.st_dev,
				   (uint64_t)st.st_ino);
}

int xlb_log_format(char *buf, size_t len, bool journal, enum xlb_log_level level,
		   const char *prog, const char *line)
{
	static const char *const word[] = { "error: ", "warning: ", "", "debug: " };
	static const char prio[] = { '3', '4', '6', '7' };
	int i = level < XLB_LOG_ERR ? 0 : level > XLB_LOG_DEBUG ? 3 : (int)level + 1;

	if (journal)
		return snprintf(buf, len, "<%c>%s\n", prio[i], line);
	return snprintf(buf, len, "%s: %s%s\n", prog, word[i], line);
}

void xlb_log_set_level(enum xlb_log_level level)
{
	log_level = level;
}

enum xlb_log_level xlb_log_get_level(void)
{
	return log_level;
}

void xlb_log_set_hook(xlb_log_fn fn, void *ctx)
{
	log_hook = fn;
	log_hook_ctx = ctx;
}

void xlb_vlog(enum xlb_log_level level, const char *fmt, va_list ap)
{
	char line[1024], out[1200];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	/* Lines are given with or without '\n'; store them without. */
	if (n > 0 && (size_t)n < sizeof(line) && line[n - 1] == '\n')
		line[n - 1] = '\0';
	if (log_hook) {
		log_hook(level, line, log_hook_ctx);
		return;
	}
	/* One write per line so lines from several threads do not mix. */
	n = xlb_log_format(out, sizeof(out), log_journal, level,
			   program_invocation_short_name, line);
	if (n >= (int)sizeof(out))
		out[sizeof(out) - 2] = '\n';
	fputs(out, stderr);
}

void xlb_log(enum xlb_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xlb_vlog(level, fmt, ap);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool xlb_ratelimit_ok(struct xlb_ratelimit *rl)
{
	uint64_t now = now_ms();

	if (!rl->begin_ms || now - rl->begin_ms >= rl->interval_ms) {
		if (rl->missed)
			pr_warn("%u similar messages suppressed", rl->missed);
		rl->begin_ms = now ? now : 1;
		rl->printed = 0;
		rl->missed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		return true;
	}
	rl->missed++;
	return false;
}

void xlb_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int xlb_seterr_inval(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}
