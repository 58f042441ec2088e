// SPDX-License-Identifier: GPL-2.0
/* CPU lists (see cpus.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cpus.h"

/* A decimal CPU number at *s, advancing *s; -EINVAL or -ERANGE. */
static int cpus_num(const char **s)
{
	long v = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		if (v >= CPU_SETSIZE)
			return -ERANGE;
	}
	*s = p;
	return (int)v;
}

int xlb_cpus_parse(const char *s, cpu_set_t *out)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	if (!s || !*s)
		return -EINVAL;
	for (;;) {
		int a = cpus_num(&s), b;

		if (a < 0)
			return a;
		b = a;
		if (*s == '-') {
			s++;
			b = cpus_num(&s);
			if (b < 0)
				return b;
			if (b < a)
				return -EINVAL;
		}
		for (int c = a; c <= b; c++)
			CPU_SET(c, &set);
		if (!*s)
			break;
		if (*s++ != ',')
			return -EINVAL;
	}
	*out = set;
	return 0;
}

char *xlb_cpus_format(const cpu_set_t *set, char *buf, size_t len)
{
	size_t off = 0;
	int c = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	while (c < CPU_SETSIZE) {
		int a;

		if (!CPU_ISSET(c, set)) {
			c++;
			continue;
		}
		a = c;
		while (c + 1 < CPU_SETSIZE && CPU_ISSET(c + 1, set))
			c++;
		if (off < len) {
			int n = a == c ? snprintf(buf + off, len - off, "%s%d", off ? "," : "", a)
				       : snprintf(buf + off, len - off, "%s%d-%d", off ? "," : "", a, c);

			off += n > 0 ? (size_t)n : 0;
		}
		c++;
	}
	return buf;
}

int xlb_cpus_nth(const cpu_set_t *set, int i)
{
	int n = CPU_COUNT(set);

	if (n <= 0 || i < 0)
		return -1;
	i %= n;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set) && i-- == 0)
			return c;
	return -1;
}
