// SPDX-License-Identifier: GPL-2.0
/*
 * Logging (lb/log.c): the journal is recognised only when JOURNAL_STREAM
 * names stderr's own dev:ino; journal lines carry the sd-daemon priority
 * and nothing else, lines by hand the program's name and a level word; the
 * rate limiter lets burst lines through per interval, counts the rest and
 * says how many it suppressed with the next line that gets through.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "log.h"

Test(log, journal_stream_must_match_dev_and_ino)
{
	cr_expect(xlb_log_is_journal("8:1234", 8, 1234));
	cr_expect(!xlb_log_is_journal("8:1235", 8, 1234), "another inode");
	cr_expect(!xlb_log_is_journal("9:1234", 8, 1234), "another device");
	cr_expect(!xlb_log_is_journal(NULL, 8, 1234), "unset");
	cr_expect(!xlb_log_is_journal("", 8, 1234), "empty");
	cr_expect(!xlb_log_is_journal("8:1234x", 8, 1234), "trailing junk");
	cr_expect(!xlb_log_is_journal("8", 8, 1234), "no inode");
	cr_expect(xlb_log_is_journal("18446744073709551615:1", UINT64_MAX, 1));
}

Test(log, init_follows_stderr)
{
	struct stat st;
	char env[64];

	cr_assert(fstat(2, &st) == 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	xlb_log_init();
	cr_expect(xlb_log_journal(), "JOURNAL_STREAM is stderr: journal");
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	xlb_log_init();
	cr_expect(!xlb_log_journal(), "stderr redirected elsewhere: not the journal");
	unsetenv("JOURNAL_STREAM");
	xlb_log_init();
	cr_expect(!xlb_log_journal(), "by hand");
}

Test(log, journal_lines_carry_the_priority_only)
{
	char b[128];

	xlb_log_format(b, sizeof(b), true, XLB_LOG_ERR, "xlbd", "x");
	cr_expect_str_eq(b, "<3>x\n");
	xlb_log_format(b, sizeof(b), true, XLB_LOG_WARN, "xlbd", "x");
	cr_expect_str_eq(b, "<4>x\n");
	xlb_log_format(b, sizeof(b), true, XLB_LOG_INFO, "xlbd", "x");
	cr_expect_str_eq(b, "<6>x\n");
	xlb_log_format(b, sizeof(b), true, XLB_LOG_DEBUG, "xlbd", "x");
	cr_expect_str_eq(b, "<7>x\n");
}

Test(log, lines_by_hand_carry_name_and_level_word)
{
	char b[128];

	xlb_log_format(b, sizeof(b), false, XLB_LOG_ERR, "xlbd", "x");
	cr_expect_str_eq(b, "xlbd: error: x\n");
	xlb_log_format(b, sizeof(b), false, XLB_LOG_WARN, "xlbd", "x");
	cr_expect_str_eq(b, "xlbd: warning: x\n");
	xlb_log_format(b, sizeof(b), false, XLB_LOG_INFO, "xlbd", "x");
	cr_expect_str_eq(b, "xlbd: x\n");
	xlb_log_format(b, sizeof(b), false, XLB_LOG_DEBUG, "xlbd", "x");
	cr_expect_str_eq(b, "xlbd: debug: x\n");
}

static char seen[8][128];
static int nseen;

static void catch_line(enum xlb_log_level level, const char *line, void *ctx)
{
	(void)ctx;
	if (nseen < 8)
		snprintf(seen[nseen++], sizeof(seen[0]), "%d %s", (int)level, line);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

Test(log, ratelimit_burst_then_suppressed_then_counted)
{
	struct xlb_ratelimit rl = XLB_RATELIMIT_INIT(200, 3);
	int passed = 0;

	nseen = 0;
	xlb_log_set_hook(catch_line, NULL);
	for (int i = 0; i < 1000; i++)
		if (xlb_ratelimit_ok(&rl))
			passed++;
	cr_expect_eq(passed, 3, "a burst of 3 per interval, %d passed", passed);
	cr_expect_eq(nseen, 0, "nothing said while suppressing");
	sleep_ms(250);
	pr_warn_ratelimited(&rl, "after %d", 1);
	xlb_log_set_hook(NULL, NULL);
	cr_assert_eq(nseen, 2, "the suppressed count, then the line");
	cr_expect_str_eq(seen[0], "0 997 similar messages suppressed");
	cr_expect_str_eq(seen[1], "0 after 1");
}

Test(log, ratelimit_quiet_interval_resets)
{
	struct xlb_ratelimit rl = XLB_RATELIMIT_INIT(100, 2);

	nseen = 0;
	xlb_log_set_hook(catch_line, NULL);
	cr_expect(xlb_ratelimit_ok(&rl));
	cr_expect(xlb_ratelimit_ok(&rl));
	cr_expect(!xlb_ratelimit_ok(&rl));
	sleep_ms(150);
	cr_expect(xlb_ratelimit_ok(&rl), "a new interval: allowed again");
	cr_expect(xlb_ratelimit_ok(&rl));
	cr_expect(!xlb_ratelimit_ok(&rl));
	xlb_log_set_hook(NULL, NULL);
	cr_expect_eq(nseen, 1, "one suppressed-count line");
}

/* One call site: its limiter is its own, and each thread's own. */
static void *log_twenty(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		pr_warn_rl("site %d", i);
	return NULL;
}

static int nsite;

static void count_line(enum xlb_log_level level, const char *line, void *ctx)
{
	(void)level;
	(void)ctx;
	if (!strncmp(line, "site ", 5))
		__atomic_fetch_add(&nsite, 1, __ATOMIC_RELAXED);
}

Test(log, ratelimited_call_site_is_per_thread)
{
	pthread_t th;

	nsite = 0;
	xlb_log_set_hook(count_line, NULL);
	log_twenty(NULL);
	cr_expect_eq(nsite, XLB_LOG_RL_BURST, "this thread: the burst");
	cr_assert(pthread_create(&th, NULL, log_twenty, NULL) == 0);
	pthread_join(th, NULL);
	xlb_log_set_hook(NULL, NULL);
	cr_expect_eq(nsite, 2 * XLB_LOG_RL_BURST, "another thread: a burst of its own");
}
