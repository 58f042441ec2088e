/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlbd --metrics ADDR:PORT: Prometheus metrics over HTTP/1.x.
 *
 * Where it runs: in the control thread, from its poll loop (ctl_server.h's
 * extra_fd hook, with this server's epoll fd), like the control socket's
 * dumps. The control thread is the tables' only writer, so a scrape reads
 * the snapshot, the counters (xlb_cnt_read, after the provider's
 * sync_counters) and the daemon counters (dump_counters) exactly as
 * `xlbctl -L -n --stats` and `xlbctl --counters` do: relaxed loads of the
 * workers' slots, no lock the workers take, nothing a worker waits for.
 * A separate HTTP thread would have to ask the control thread for all of
 * that anyway (the snapshot it reads without QSBR, the estimator's zero
 * points), so it would add a queue and gain nothing.
 *
 * Nothing waits on an HTTP client either: every socket is non-blocking; a
 * client's request is read into a bounded buffer (XLB_METRICS_REQ_MAX),
 * its response is rendered whole into its own buffer when the request is
 * complete and sent as the socket takes it; a client still connected
 * XLB_METRICS_TIMEOUT_MS after it connected is dropped, whatever it is
 * doing (sending slowly, not reading). At most XLB_METRICS_MAX_CLIENTS at
 * once; one more is accepted and closed at once (counted).
 *
 * HTTP: GET or HEAD of /metrics (a query string is ignored) answers 200
 * with Content-Type "text/plain; version=0.0.4; charset=utf-8"; another
 * path 404; another method 405; a request line that is not HTTP/1.x 400
 * (505 for another HTTP version); a request head over the bound 431. Every
 * response closes the connection (Connection: close).
 */
#ifndef XLB_METRICS_H
#define XLB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ctl.h"
#include "prom.h"

struct xlb_tables;
struct xlb_metrics;

#define XLB_METRICS_MAX_CLIENTS	64
#define XLB_METRICS_TIMEOUT_MS	10000	/* Prometheus' default scrape timeout */
#define XLB_METRICS_REQ_MAX	8192	/* request line and headers */
/* Responses being sent, all clients together: a scrape that would go
 * over is answered 503. */
#define XLB_METRICS_OUT_MAX	(256u << 20)

/* ---- the scrape ---- */

/* What the HTTP server counts about itself (xlb_metrics_http_*). */
enum xlb_metrics_code {
	XLB_METRICS_200, XLB_METRICS_400, XLB_METRICS_404, XLB_METRICS_405,
	XLB_METRICS_431, XLB_METRICS_503, XLB_METRICS_505, XLB_METRICS_NCODES
};
struct xlb_metrics_self {
	uint64_t responses[XLB_METRICS_NCODES];
	uint64_t accepted;		/* connections */
	uint64_t refused;		/* over max_clients */
	uint64_t timed_out;		/* dropped after the timeout */
	uint64_t clients;		/* connected now */
	double last_render_s;		/* the last scrape took */
};

/*
 * One daemon counter (GROUP NAME VALUE, xlbctl --counters) as a Prometheus
 * sample, decided per group and name (the table in metrics.c, the README's
 * "Metrics" section): family, type, labels, and a scale into base units
 * (ms, us, ns, KiB). skip: shown by another family already (the fast
 * path's copies of XDP counters). classified false: a name metrics.c does
 * not know (a counter added since): written untyped as xlb_GROUP_NAME, so
 * nothing is lost, and the lab test fails until it is classified.
 * labels[].value point into lval of the same struct: a copy must point
 * them at its own lval.
 */
struct xlb_metrics_ctr {
	char family[XLB_PROM_NAME_MAX];
	enum xlb_prom_type type;
	char help[192];
	struct xlb_prom_label labels[3];
	size_t nlabels;
	char lval[3][XLB_COUNTER_NAME_MAX];
	double scale;			/* 1: the value as an integer */
	bool skip;
	bool classified;
};
void xlb_metrics_map_counter(const char *group, const char *name, struct xlb_metrics_ctr *out);

/* The daemon counters as families, each family's samples together in the
 * order of its first counter, samples in counter order. 0 or -errno. */
int xlb_metrics_write_counters(struct xlb_prom *p, const struct xlb_counter_info *c, size_t n);

/* A whole scrape from the tables and their provider (control thread). */
int xlb_metrics_render(struct xlb_prom *p, struct xlb_tables *t, double start_time,
		       const struct xlb_metrics_self *self);

/* ---- HTTP ---- */

struct xlb_metrics_req {
	bool head;			/* HEAD: no body */
	int status;			/* 200, or the error to answer */
};

/*
 * Parse a request head from buf (len bytes, not NUL-terminated). Returns
 * 0 while the head is incomplete (no empty line yet) and len < max, else
 * 1 with r filled: status 200 for GET/HEAD /metrics, or the error status
 * (431 when max bytes came without an end of head).
 */
int xlb_metrics_http_parse(const char *buf, size_t len, size_t max, struct xlb_metrics_req *r);

/* "ADDR:PORT": a numeric IPv4 address or [IPv6], or "*" / "" for every
 * address (IPv4); PORT 1..65535. 0, or -EINVAL with a sentence. */
int xlb_metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			   char *err, size_t errlen);

struct xlb_metrics_params {
	const char *listen;		/* ADDR:PORT */
	struct xlb_tables *tables;
	unsigned int max_clients;	/* 0: XLB_METRICS_MAX_CLIENTS */
	unsigned int timeout_ms;	/* 0: XLB_METRICS_TIMEOUT_MS */
};

/* Listen (the socket is bound before this returns: a bad or busy address
 * fails here, with a sentence). 0 or -errno. */
int  xlb_metrics_new(struct xlb_metrics **out, const struct xlb_metrics_params *p,
		     char *err, size_t errlen);
void xlb_metrics_free(struct xlb_metrics *m);		/* NULL-safe */
/* Readable when there is work for xlb_metrics_process (an epoll fd). */
int  xlb_metrics_fd(const struct xlb_metrics *m);
/* Accept, read, answer, send: what can be done now, without waiting. */
void xlb_metrics_process(struct xlb_metrics *m);
/* Drop the clients past their timeout (call every XLB_CTL_TICK_MS). */
void xlb_metrics_tick(struct xlb_metrics *m, uint64_t now_ms);

#endif /* XLB_METRICS_H */
