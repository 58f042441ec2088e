/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One printf-checked logger for xlb (as libxdp's logging.h): pr_warn,
 * pr_info, pr_debug go through xlb_log(), which prints to stderr when the
 * level is enabled, or hands the line to a hook set by the program. Library
 * code logs only through here, so a program decides where lines go.
 */
#ifndef XLB_LOG_H
#define XLB_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

enum xlb_log_level {
	XLB_LOG_ERR = -1,	/* always printed: xlbd cannot go on */
	XLB_LOG_WARN = 0,
	XLB_LOG_INFO,
	XLB_LOG_DEBUG,
};

/* Lines at or below level are printed (default XLB_LOG_INFO). */
void xlb_log_set_level(enum xlb_log_level level);
enum xlb_log_level xlb_log_get_level(void);

/* Hook replacing the stderr printer (NULL restores it). line has no '\n'. */
typedef void (*xlb_log_fn)(enum xlb_log_level level, const char *line, void *ctx);
void xlb_log_set_hook(xlb_log_fn fn, void *ctx);

/*
 * Under systemd, stderr is a stream to the journal and JOURNAL_STREAM holds
 * its "st_dev:st_ino": lines then start with the sd-daemon priority ("<3>"
 * err, "<4>" warning, "<6>" info, "<7>" debug) and carry neither the
 * program's name nor a "warning:" word, which the journal shows itself.
 * xlb_log_init() checks the variable against stderr (a child whose stderr
 * was redirected keeps the variable but is no longer the journal's).
 */
void xlb_log_init(void);
/* Whether env (JOURNAL_STREAM's value, may be NULL) names the stream dev:ino. */
bool xlb_log_is_journal(const char *env, uint64_t dev, uint64_t ino);
void xlb_log_set_journal(bool on);
bool xlb_log_journal(void);
/* One line as the stderr printer writes it (with its '\n'), into
 * buf[len]: journal or by-hand form. Returns the length snprintf says. */
int xlb_log_format(char *buf, size_t len, bool journal, enum xlb_log_level level,
		   const char *prog, const char *line);

void xlb_log(enum xlb_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xlb_vlog(enum xlb_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Write a sentence for a person into err[errlen] (nothing if err is NULL):
 * how library code reports an error it returns as -errno. */
void xlb_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, returning -EINVAL: a parser's "bad value" in one call. */
int xlb_seterr_inval(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define pr_err(...)	xlb_log(XLB_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	xlb_log(XLB_LOG_WARN, __VA_ARGS__)
#define pr_info(...)	xlb_log(XLB_LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	xlb_log(XLB_LOG_DEBUG, __VA_ARGS__)

/*
 * Rate limit for hot paths: at most burst lines per interval_ms. One
 * xlb_ratelimit per call site (or per thread); not shared between threads.
 * Returns true when the caller may log; suppressed lines are counted and
 * reported with the next line that gets through.
 */
struct xlb_ratelimit {
	uint32_t interval_ms;
	uint32_t burst;
	uint64_t begin_ms;
	uint32_t printed;
	uint32_t missed;
};
#define XLB_RATELIMIT_INIT(ms, n)	{ .interval_ms = (ms), .burst = (n) }
bool xlb_ratelimit_ok(struct xlb_ratelimit *rl);

#define pr_warn_ratelimited(rl, fmt, ...)				\
	do {								\
		if (xlb_ratelimit_ok(rl))				\
			pr_warn(fmt, ##__VA_ARGS__);			\
	} while (0)
#define pr_info_ratelimited(rl, fmt, ...)				\
	do {								\
		if (xlb_ratelimit_ok(rl))				\
			pr_info(fmt, ##__VA_ARGS__);			\
	} while (0)

/*
 * The same with a limiter of the call site's own, per thread (so any
 * thread may use it): for lines that packets, netlink events or clients
 * can repeat. XLB_LOG_RL_MS / XLB_LOG_RL_BURST: at most 10 lines per 5 s.
 */
#define XLB_LOG_RL_MS		5000
#define XLB_LOG_RL_BURST	10
#define xlb_log_ratelimited(level, fmt, ...)					\
	do {									\
		static __thread struct xlb_ratelimit xlb_rl_ =			\
			XLB_RATELIMIT_INIT(XLB_LOG_RL_MS, XLB_LOG_RL_BURST);	\
		if (xlb_ratelimit_ok(&xlb_rl_))					\
			xlb_log(level, fmt, ##__VA_ARGS__);			\
	} while (0)
#define pr_warn_rl(fmt, ...)	xlb_log_ratelimited(XLB_LOG_WARN, fmt, ##__VA_ARGS__)
#define pr_info_rl(fmt, ...)	xlb_log_ratelimited(XLB_LOG_INFO, fmt, ##__VA_ARGS__)

#endif /* XLB_LOG_H */
