/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlbd's metrics HTTP server: see metrics.h. One epoll set (the listener
 * and every client) whose fd the control thread polls; everything here
 * runs in the control thread, non-blocking.
 *
 * A client goes READ (its request head, at most XLB_METRICS_REQ_MAX bytes)
 * -> SEND (status line, headers and the scrape, rendered whole when the
 * request was complete) -> LINGER (our side shut down, what it still sends
 * read and thrown away until it closes, so that closing with unread bytes
 * does not reset the connection under a response it has not read yet) ->
 * closed. The deadline (timeout_ms after accept) holds in every state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "log.h"
#include "metrics.h"
#include "tables.h"

enum cstate { C_FREE, C_READ, C_SEND, C_LINGER };

struct mclient {
	enum cstate state;
	int fd;
	uint64_t deadline_ms;
	char *in;			/* XLB_METRICS_REQ_MAX */
	size_t in_len;
	char head[256];			/* status line and headers */
	size_t head_len;
	char *body;			/* the scrape; NULL: none */
	size_t body_len;
	size_t sent;			/* of head + body */
};

struct xlb_metrics {
	struct xlb_tables *t;
	int lfd, epfd;
	unsigned int max_clients;
	unsigned int timeout_ms;
	struct mclient *c;
	size_t out_bytes;		/* bodies being sent, all clients */
	double start_time;
	struct xlb_metrics_self self;
	char addr[64];
};

/* Lingering after the response: long enough for a client to read it and
 * close, never past the deadline. */
#define LINGER_MS	2000
#define EV_LISTEN	UINT64_MAX

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- parsing ---- */

/* End of the head: just after the first empty line (CRLF or bare LF). */
static size_t head_end(const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (b[i] != '\n')
			continue;
		if (i + 1 < len && b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

static bool tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int xlb_metrics_http_parse(const char *buf, size_t len, size_t max, struct xlb_metrics_req *r)
{
	const char *p = buf, *end, *m, *target, *ver;
	size_t mlen, tlen, vlen, line;

	memset(r, 0, sizeof(*r));
	/* Robustness (RFC 9112 2.2): empty lines before the request line. */
	while (len && (*p == '\r' || *p == '\n'))
		p++, len--;
	if (!head_end(p, len)) {
		if (len < max && (size_t)(p - buf) < max)
			return 0;
		r->status = 431;
		return 1;
	}
	end = memchr(p, '\n', len);
	line = (size_t)(end - p);
	if (line && p[line - 1] == '\r')
		line--;
	/* METHOD SP TARGET SP HTTP/1.x */
	m = p;
	for (mlen = 0; mlen < line && tchar(m[mlen]); mlen++)
		;
	if (!mlen || mlen == line || m[mlen] != ' ')
		goto bad;
	target = m + mlen + 1;
	for (tlen = 0; target + tlen < p + line && target[tlen] > ' ' && target[tlen] < 127; tlen++)
		;
	if (!tlen || target + tlen == p + line || target[tlen] != ' ')
		goto bad;
	ver = target + tlen + 1;
	vlen = (size_t)(p + line - ver);
	if (vlen != 8 || memcmp(ver, "HTTP/", 5) || ver[5] < '0' || ver[5] > '9' ||
	    ver[6] != '.' || ver[7] < '0' || ver[7] > '9')
		goto bad;
	if (ver[5] != '1') {
		r->status = 505;
		return 1;
	}
	if (mlen == 3 && !memcmp(m, "GET", 3))
		r->head = false;
	else if (mlen == 4 && !memcmp(m, "HEAD", 4))
		r->head = true;
	else {
		r->status = 405;
		return 1;
	}
	/* /metrics, with or without a query. */
	if (tlen >= 8 && !memcmp(target, "/metrics", 8) && (tlen == 8 || target[8] == '?'))
		r->status = 200;
	else
		r->status = 404;
	return 1;
bad:
	r->status = 400;
	return 1;
}

int xlb_metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len,
			   char *err, size_t errlen)
{
	char host[64];
	const char *colon, *port;
	unsigned long v;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!s)
		s = "";
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			goto bad;
		colon = close + 1;
		if ((size_t)(close - s - 1) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host) || memchr(s, ':', (size_t)(colon - s)))
			goto bad;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	port = colon + 1;
	errno = 0;
	v = strtoul(port, &end, 10);
	if (!*port || *end || errno || v < 1 || v > 65535 || *port == '-' || *port == '+')
		goto bad;
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)v);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)v);
		if (!host[0] || !strcmp(host, "*"))
			a->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		*len = sizeof(*a);
	}
	return 0;
bad:
	snprintf(err, errlen, "--metrics \"%s\": use ADDR:PORT with a numeric IPv4 address, "
		 "[IPv6] or * (every address), and a port from 1 to 65535 (e.g. "
		 "127.0.0.1:9156)", s);
	return -EINVAL;
}

/* ---- the server ---- */

int xlb_metrics_fd(const struct xlb_metrics *m)
{
	return m->epfd;
}

static void client_close(struct xlb_metrics *m, struct mclient *c)
{
	if (c->state == C_FREE)
		return;
	epoll_ctl(m->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->body) {
		m->out_bytes -= c->body_len;
		free(c->body);
	}
	free(c->in);
	memset(c, 0, sizeof(*c));
	c->state = C_FREE;
	c->fd = -1;
	m->self.clients--;
}

int xlb_metrics_new(struct xlb_metrics **out, const struct xlb_metrics_params *p,
		    char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_LISTEN };
	struct sockaddr_storage ss;
	struct xlb_metrics *m;
	socklen_t slen;
	int one = 1, ret;

	if (err && errlen)
		err[0] = '\0';
	ret = xlb_metrics_parse_addr(p->listen, &ss, &slen, err, errlen);
	if (ret)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->t = p->tables;
	m->lfd = m->epfd = -1;
	m->max_clients = p->max_clients ? p->max_clients : XLB_METRICS_MAX_CLIENTS;
	m->timeout_ms = p->timeout_ms ? p->timeout_ms : XLB_METRICS_TIMEOUT_MS;
	m->start_time = now_s(CLOCK_REALTIME);
	snprintf(m->addr, sizeof(m->addr), "%s", p->listen);
	m->c = calloc(m->max_clients, sizeof(*m->c));
	if (!m->c) {
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < m->max_clients; i++)
		m->c[i].fd = -1;
	m->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0)
		goto fail_errno;
	setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->lfd, (struct sockaddr *)&ss, slen) < 0 || listen(m->lfd, 64) < 0) {
		ret = -errno;
		snprintf(err, errlen, "--metrics %s: cannot listen: %s", p->listen, strerror(errno));
		goto fail;
	}
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0 || epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->lfd, &ev) < 0)
		goto fail_errno;
	*out = m;
	return 0;
fail_errno:
	ret = -errno;
	snprintf(err, errlen, "--metrics %s: %s", p->listen, strerror(errno));
fail:
	xlb_metrics_free(m);
	return ret;
}

void xlb_metrics_free(struct xlb_metrics *m)
{
	if (!m)
		return;
	for (unsigned int i = 0; m->c && i < m->max_clients; i++)
		client_close(m, &m->c[i]);
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->epfd >= 0)
		close(m->epfd);
	free(m->c);
	free(m);
}

static void accept_clients(struct xlb_metrics *m)
{
	/* Bounded: the rest wait in the backlog for the next round. */
	for (int n = 0; n < 64; n++) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct mclient *c = NULL;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				pr_warn("metrics: accept: %s", strerror(errno));
			return;
		}
		for (unsigned int i = 0; i < m->max_clients; i++)
			if (m->c[i].state == C_FREE) {
				c = &m->c[i];
				break;
			}
		if (c)
			c->in = malloc(XLB_METRICS_REQ_MAX);
		if (!c || !c->in) {
			/* Full: it is closed at once, and counted. */
			m->self.refused++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = C_READ;
		c->deadline_ms = mono_ms() + m->timeout_ms;
		ev.data.u64 = (uint64_t)(c - m->c);
		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			pr_warn("metrics: epoll: %s", strerror(errno));
			free(c->in);
			c->in = NULL;
			c->state = C_FREE;
			c->fd = -1;
			close(fd);
			continue;
		}
		m->self.accepted++;
		m->self.clients++;
	}
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Service Unavailable";
	}
}

static void count_status(struct xlb_metrics *m, int status)
{
	static const int codes[XLB_METRICS_NCODES] = {
		[XLB_METRICS_200] = 200, [XLB_METRICS_400] = 400, [XLB_METRICS_404] = 404,
		[XLB_METRICS_405] = 405, [XLB_METRICS_431] = 431, [XLB_METRICS_503] = 503,
		[XLB_METRICS_505] = 505 };

	for (int i = 0; i < XLB_METRICS_NCODES; i++)
		if (codes[i] == status)
			m->self.responses[i]++;
}

/* The response, whole, on the client: its status and body chosen. */
static void respond(struct xlb_metrics *m, struct mclient *c, const struct xlb_metrics_req *r)
{
	static const char ctype[] = "text/plain; version=0.0.4; charset=utf-8";
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)(c - m->c) };
	int status = r->status;
	char *body = NULL;
	size_t len = 0;

	if (status == 200) {
		struct xlb_prom p;
		double t0 = now_s(CLOCK_MONOTONIC);
		int ret;

		xlb_prom_init(&p, 0);
		ret = xlb_metrics_render(&p, m->t, m->start_time, &m->self);
		m->self.last_render_s = now_s(CLOCK_MONOTONIC) - t0;
		if (!ret && m->out_bytes + p.len > XLB_METRICS_OUT_MAX)
			ret = -ENOBUFS;
		if (ret) {
			pr_warn("metrics: scrape failed: %s", strerror(-ret));
			xlb_prom_free(&p);
			status = 503;
		} else {
			body = xlb_prom_take(&p, &len);
		}
	}
	if (status != 200) {
		/* A short sentence: a person with curl reads it. */
		char msg[128];
		int n = snprintf(msg, sizeof(msg), "%d %s: xlbd serves GET /metrics\n", status,
				 reason(status));

		body = strdup(msg);
		len = body ? (size_t)n : 0;
	}
	count_status(m, status);
	c->head_len = (size_t)snprintf(c->head, sizeof(c->head),
		"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		"Connection: close\r\n\r\n", status, reason(status),
		status == 200 ? ctype : "text/plain; charset=utf-8", len,
		status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (r->head) {		/* the length of what GET would send, no body */
		free(body);
		body = NULL;
		len = 0;
	}
	c->body = body;
	c->body_len = body ? len : 0;
	m->out_bytes += c->body_len;
	c->sent = 0;
	c->state = C_SEND;
	free(c->in);
	c->in = NULL;
	epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* false: the client is gone. */
static bool client_read(struct xlb_metrics *m, struct mclient *c)
{
	struct xlb_metrics_req r;
	ssize_t n;

	if (c->state == C_LINGER) {
		char junk[4096];

		/* Whatever it still sends is thrown away, until it closes. */
		for (int i = 0; i < 16; i++) {
			n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return false;
			if (n < 0)
				return true;
		}
		return true;
	}
	n = recv(c->fd, c->in + c->in_len, XLB_METRICS_REQ_MAX - c->in_len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;	/* closed before a whole request: no one to answer */
	c->in_len += (size_t)n;
	if (xlb_metrics_http_parse(c->in, c->in_len, XLB_METRICS_REQ_MAX, &r))
		respond(m, c, &r);
	return true;
}

static bool client_send(struct xlb_metrics *m, struct mclient *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)(c - m->c) };
	size_t total = c->head_len + c->body_len;
	uint64_t linger;

	while (c->sent < total) {
		struct iovec iov[2];
		struct msghdr msg = { .msg_iov = iov };
		ssize_t n;

		if (c->sent < c->head_len) {
			iov[0] = (struct iovec){ c->head + c->sent, c->head_len - c->sent };
			iov[1] = (struct iovec){ c->body, c->body_len };
			msg.msg_iovlen = c->body_len ? 2 : 1;
		} else {
			iov[0] = (struct iovec){ c->body + (c->sent - c->head_len),
						 total - c->sent };
			msg.msg_iovlen = 1;
		}
		n = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;	/* EAGAIN: wait for EPOLLOUT */
		c->sent += (size_t)n;
	}
	/* All sent: our side is done. */
	if (c->body) {
		m->out_bytes -= c->body_len;
		free(c->body);
		c->body = NULL;
		c->body_len = 0;
	}
	shutdown(c->fd, SHUT_WR);
	c->state = C_LINGER;
	linger = mono_ms() + LINGER_MS;
	if (linger < c->deadline_ms)
		c->deadline_ms = linger;
	epoll_ctl(m->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return true;
}

void xlb_metrics_process(struct xlb_metrics *m)
{
	struct epoll_event ev[64];

	/* A bounded amount of work per call: the control loop comes back. */
	for (int round = 0; round < 4; round++) {
		int n = epoll_wait(m->epfd, ev, 64, 0);

		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct mclient *c;
			bool keep = true;

			if (ev[i].data.u64 == EV_LISTEN) {
				accept_clients(m);
				continue;
			}
			if (ev[i].data.u64 >= m->max_clients)
				continue;
			c = &m->c[ev[i].data.u64];
			if (c->state == C_FREE)
				continue;
			if (c->state == C_SEND)
				keep = (ev[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ?
				       client_send(m, c) : true;
			else
				keep = client_read(m, c);
			if (keep && c->state == C_SEND && !c->sent)
				keep = client_send(m, c);	/* try at once */
			if (!keep)
				client_close(m, c);
		}
		if (n < 64)
			return;
	}
}

void xlb_metrics_tick(struct xlb_metrics *m, uint64_t now_ms)
{
	for (unsigned int i = 0; i < m->max_clients; i++) {
		struct mclient *c = &m->c[i];

		if (c->state == C_FREE || now_ms < c->deadline_ms)
			continue;
		if (c->state != C_LINGER) {
			m->self.timed_out++;
			pr_debug("metrics: a client still %s after %u ms: dropped",
				 c->state == C_READ ? "sending its request" : "reading its response",
				 m->timeout_ms);
		}
		client_close(m, c);
	}
}
