/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPU lists as the kernel and taskset write them ("0-3,8,10-11"): parsing,
 * printing, and round-robin placement over a set. Pure functions on
 * cpu_set_t (no syscalls), so they are unit-tested without privileges.
 */
#ifndef XLB_CPUS_H
#define XLB_CPUS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stddef.h>

/* Parses a list of CPU numbers and ranges (A-B, A <= B) separated by
 * commas, without spaces, into out. 0, -EINVAL (empty, garbage, a
 * reversed range) or -ERANGE (a CPU at or past CPU_SETSIZE). */
int xlb_cpus_parse(const char *s, cpu_set_t *out);

/* Writes set as a list ("0-3,8"; "" when empty) into buf, truncated to
 * len - 1 characters. Returns buf. */
char *xlb_cpus_format(const cpu_set_t *set, char *buf, size_t len);

/* The (i mod count)-th CPU of set in ascending order: worker i's CPU when
 * workers go round robin over set. -1 when set is empty or i < 0. */
int xlb_cpus_nth(const cpu_set_t *set, int i);

#endif /* XLB_CPUS_H */
