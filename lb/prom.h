/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A writer of Prometheus' text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), into a
 * growing memory buffer. It knows nothing of xlb: metrics.c decides what
 * is written; this decides how, and refuses what the format or the naming
 * conventions do not allow:
 *
 *   - every family starts with its HELP and TYPE lines, once: a second
 *     family of the same name is -EEXIST (the format wants a family's
 *     samples in one group);
 *   - metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 *     [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__" (reserved); a
 *     label given twice in one sample is refused;
 *   - a counter's name ends in "_total", and a gauge's or an untyped
 *     family's does not (the suffix promises a counter);
 *   - label values are escaped (\\, \" and \n), HELP text too (\\, \n).
 *
 * Errors are sticky: the first one is kept, every later call returns it
 * and writes nothing, so a caller writes everything and checks once
 * (xlb_prom_error). Output order is the caller's call order, nothing is
 * sorted: a stable order is the caller's.
 */
#ifndef XLB_PROM_H
#define XLB_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xlb_prom_type {
	XLB_PROM_COUNTER,
	XLB_PROM_GAUGE,
	XLB_PROM_UNTYPED,
};

#define XLB_PROM_NAME_MAX	128	/* metric or label name, NUL included */
#define XLB_PROM_MAX_DEFAULT	(64u << 20)	/* bytes of output */

struct xlb_prom_label {
	const char *name;
	const char *value;
};

struct xlb_prom {
	char *buf;			/* NUL-terminated, len bytes */
	size_t len, cap, max;
	int error;			/* first error, or 0 */
	char family[XLB_PROM_NAME_MAX];	/* the open family; "" none */
	char **seen;			/* families written, for -EEXIST */
	size_t nseen, capseen;
};

/* An empty writer that refuses to grow beyond max bytes (-E2BIG; 0:
 * XLB_PROM_MAX_DEFAULT). */
void xlb_prom_init(struct xlb_prom *p, size_t max);
void xlb_prom_free(struct xlb_prom *p);		/* NULL-safe; leaves it empty */
/* Give the buffer to the caller (free() it), and leave p empty. */
char *xlb_prom_take(struct xlb_prom *p, size_t *len);

bool xlb_prom_metric_name_ok(const char *name);
bool xlb_prom_label_name_ok(const char *name);

/* Open a family: writes "# HELP name help" and "# TYPE name type". */
int xlb_prom_family(struct xlb_prom *p, const char *name, enum xlb_prom_type type,
		    const char *help);
/* One sample of the open family: name{labels} value. nl labels (may be
 * 0, labels NULL). */
int xlb_prom_u64(struct xlb_prom *p, const struct xlb_prom_label *labels, size_t nl,
		 uint64_t v);
int xlb_prom_double(struct xlb_prom *p, const struct xlb_prom_label *labels, size_t nl,
		    double v);
static inline int xlb_prom_error(const struct xlb_prom *p)
{
	return p->error;
}

const char *xlb_prom_type_name(enum xlb_prom_type type);

#endif /* XLB_PROM_H */
