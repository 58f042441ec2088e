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

void xlb_log(enum xlb_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xlb_vlog(enum xlb_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Write a sentence for a person into err[errlen] (nothing if err is NULL):
 * how library code reports an error it returns as -errno. */
void xlb_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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

#endif /* XLB_LOG_H */
