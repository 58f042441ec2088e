// SPDX-License-Identifier: GPL-2.0
/*
 * The health checker's thread: plans from the control thread, probes
 * (TCP, HTTP, UDP, exec) on one epoll loop with a timer heap, results
 * back to the control thread. See health.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "check.h"
#include "hash.h"
#include "health.h"
#include "log.h"

extern char **environ;

#define HEALTH_SLACK_MS	5
#define HEALTH_RX_MAX	(1u << 20)	/* of an HTTP response */

enum probe_phase { PH_IDLE, PH_CONNECT, PH_SEND, PH_RECV, PH_UDP, PH_EXEC };

struct target {
	/* Identity, from the plan. */
	struct xlb_svc_key svc;		/* svc.af: the server's family too */
	union xlb_inaddr addr;
	uint16_t port;			/* the server's */
	uint64_t hgen;
	struct xlb_check chk;		/* effective */
	/* State machine and what is shown (info: under h->lock). */
	struct xlb_health_sm sm;
	struct xlb_health_info info;
	/* The probe. */
	enum probe_phase phase;
	int fd;				/* socket or pidfd */
	pid_t pid;
	uint64_t start_ms;
	uint64_t when_ms;		/* heap key: next start, or the deadline */
	size_t heap_idx;
	size_t req_len, req_off;
	size_t rx_bytes;
	char req[XLB_CHECK_PATH_MAX + 128];
	struct xlb_http_parse http;
};

struct heap_ent {
	uint64_t when;			/* = t->when_ms */
	struct target *t;
};

struct plan {
	size_t n;
	uint64_t gen;
	struct target *t;		/* identities only */
};

enum {
	C_CHECKS, C_FAILED, C_CHANGES, C_DOWN, C_UP,
	C_TCP, C_HTTP, C_UDP, C_EXEC, C_LATE, C_COUNT
};

static const char *const cnt_names[C_COUNT] = {
	"checks", "failed", "changes", "went_down", "went_up",
	"checks_tcp", "checks_http", "checks_udp", "checks_exec", "late",
};

struct xlb_health {
	struct xlb_tables *tables;
	pthread_t thread;
	bool started;
	int epfd;
	int evfd;			/* wakes the thread: plan or stop */
	atomic_bool stop;
	_Atomic uint64_t cnt[C_COUNT];
	uint64_t plan_gen;		/* control thread: snapshot of the last plan */

	pthread_mutex_t lock;		/* below */
	struct plan *pending;		/* next plan, for the thread */
	struct target **tgts;		/* the thread's targets, plan order */
	size_t ntgts;
	struct xlb_health_change *res;	/* results for the control thread */
	size_t nres, capres;

	/* Thread only. */
	struct heap_ent *heap;		/* keys beside their targets: no miss per level */
	size_t nheap;
	clockid_t cpu_clock;
	bool have_cpu_clock;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- timer heap (thread only) ---- */

static void heap_swap(struct xlb_health *h, size_t a, size_t b)
{
	struct heap_ent e = h->heap[a];

	h->heap[a] = h->heap[b];
	h->heap[b] = e;
	h->heap[a].t->heap_idx = a;
	h->heap[b].t->heap_idx = b;
}

static void heap_down(struct xlb_health *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->nheap && h->heap[l].when < h->heap[m].when)
			m = l;
		if (r < h->nheap && h->heap[r].when < h->heap[m].when)
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

/* One element's key changed: up or down to its place. */
static void heap_fix(struct xlb_health *h, size_t i)
{
	while (i && h->heap[i].when < h->heap[(i - 1) / 2].when) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	heap_down(h, i);
}

/* Floyd's build: sift down only (a sift up here would leave the element
 * it swapped down unsorted below). */
static void heap_rebuild(struct xlb_health *h)
{
	for (size_t i = 0; i < h->nheap; i++) {
		h->heap[i].when = h->heap[i].t->when_ms;
		h->heap[i].t->heap_idx = i;
	}
	for (size_t i = h->nheap / 2; i-- > 0;)
		heap_down(h, i);
}

static void set_when(struct xlb_health *h, struct target *t, uint64_t when)
{
	t->when_ms = when;
	h->heap[t->heap_idx].when = when;
	heap_fix(h, t->heap_idx);
}

/* ---- results ---- */

static const char *tgt_str(const struct target *t, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN], v[XLB_CTL_SVC_STR];
	bool v6 = t->svc.af == AF_INET6;

	inet_ntop(t->svc.af, &t->addr, a, sizeof(a));
	snprintf(buf, len, "%s%s%s:%u of %s", v6 ? "[" : "", a, v6 ? "]" : "",
		 ntohs(t->port), xlb_ctl_svc_str(&t->svc, v, sizeof(v)));
	return buf;
}

static void probe_close(struct target *t)
{
	/* A TCP probe ends with a reset: no FIN exchange, no TIME_WAIT per
	 * check on the director (the answer, if any, was read). */
	if (t->fd >= 0 && (t->chk.kind == XLB_CHECK_TCP || t->chk.kind == XLB_CHECK_HTTP) &&
	    t->phase != PH_CONNECT) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (t->fd >= 0)
		close(t->fd);	/* also leaves the epoll set */
	t->fd = -1;
	if (t->pid > 0) {
		int st;

		kill(-t->pid, SIGKILL);
		waitpid(t->pid, &st, 0);
	}
	t->pid = 0;
	t->phase = PH_IDLE;
}

static void finish(struct xlb_health *h, struct target *t, bool ok, const char *why)
{
	uint64_t now = now_ms(), next;
	bool changed;
	char ts[96];

	probe_close(t);
	atomic_fetch_add_explicit(&h->cnt[C_CHECKS], 1, memory_order_relaxed);
	if (!ok)
		atomic_fetch_add_explicit(&h->cnt[C_FAILED], 1, memory_order_relaxed);
	changed = xlb_health_sm_step(&t->sm, ok, t->chk.rise, t->chk.fall);

	pthread_mutex_lock(&h->lock);
	t->info.checks++;
	t->info.last_ok = ok;
	if (!ok)
		snprintf(t->info.error, sizeof(t->info.error), "%s", why);
	else
		t->info.error[0] = '\0';
	if (changed) {
		t->info.state = t->sm.up ? XLB_HEALTH_UP : XLB_HEALTH_DOWN;
		t->info.since = (uint64_t)time(NULL);
		if (h->nres == h->capres) {
			size_t cap = h->capres ? h->capres * 2 : 64;
			void *p = realloc(h->res, cap * sizeof(h->res[0]));

			if (p) {
				h->res = p;
				h->capres = cap;
			}
		}
		if (h->nres < h->capres)
			h->res[h->nres++] = (struct xlb_health_change){
				.svc = t->svc, .addr = t->addr, .port = t->port,
				.down = !t->sm.up, .hgen = t->hgen };
		/* else: out of memory; the next change of this server retries. */
	}
	pthread_mutex_unlock(&h->lock);

	if (changed) {
		atomic_fetch_add_explicit(&h->cnt[C_CHANGES], 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&h->cnt[t->sm.up ? C_UP : C_DOWN], 1,
					  memory_order_relaxed);
		if (t->sm.up)
			pr_info_rl("health: real server %s is up (%u successful %s checks)",
				tgt_str(t, ts, sizeof(ts)), t->chk.rise,
				xlb_check_kind_name(t->chk.kind));
		else
			pr_warn_rl("health: real server %s is down (%u failed %s checks, last: %s)",
				tgt_str(t, ts, sizeof(ts)), t->chk.fall,
				xlb_check_kind_name(t->chk.kind), why);
	}
	/* Every interval from the previous start; late probes do not bunch. */
	next = t->start_ms + t->chk.interval_ms;
	set_when(h, t, next > now ? next : now);
}

/* ---- probes ---- */

static int ep_add(struct xlb_health *h, struct target *t, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = t };

	return epoll_ctl(h->epfd, EPOLL_CTL_ADD, t->fd, &ev) ? -errno : 0;
}

static uint16_t probe_port(const struct target *t)
{
	return t->chk.port ? t->chk.port : t->port;
}

static int start_sock(struct target *t, int type)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = t->addr.ip,
				   .sin_port = probe_port(t) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = t->addr.in6,
				     .sin6_port = probe_port(t) };
	bool v6 = t->svc.af == AF_INET6;

	t->fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return -errno;
	if (connect(t->fd, v6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin,
		    v6 ? sizeof(sin6) : sizeof(sin)) && errno != EINPROGRESS)
		return -errno;
	return 0;
}

static int start_exec(struct xlb_health *h, struct target *t)
{
	char a[INET6_ADDRSTRLEN], va[INET6_ADDRSTRLEN], p[8], cp[8];
	char e_addr[16 + INET6_ADDRSTRLEN], e_port[32], e_cport[32];
	char e_vaddr[16 + INET6_ADDRSTRLEN], e_vport[32], e_vproto[32];
	char *argv[] = { "/bin/sh", "-c", t->chk.exec, "xlb-check", a, p, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	size_t nenv = 0;
	char **envp;
	int ret;

	(void)h;
	/* Bare addresses, as keepalived's MISC_CHECK passes them (IPv6
	 * without brackets: the port travels apart). */
	inet_ntop(t->svc.af, &t->addr, a, sizeof(a));
	inet_ntop(t->svc.af, &t->svc.addr, va, sizeof(va));
	snprintf(p, sizeof(p), "%u", ntohs(t->port));
	snprintf(cp, sizeof(cp), "%u", ntohs(probe_port(t)));
	snprintf(e_addr, sizeof(e_addr), "XLB_RS_ADDR=%s", a);
	snprintf(e_port, sizeof(e_port), "XLB_RS_PORT=%s", p);
	snprintf(e_cport, sizeof(e_cport), "XLB_CHECK_PORT=%s", cp);
	snprintf(e_vaddr, sizeof(e_vaddr), "XLB_VS_ADDR=%s", va);
	snprintf(e_vport, sizeof(e_vport), "XLB_VS_PORT=%u", ntohs(t->svc.port));
	snprintf(e_vproto, sizeof(e_vproto), "XLB_VS_PROTO=%s",
		 t->svc.proto == IPPROTO_UDP ? "udp" : "tcp");
	while (environ && environ[nenv])
		nenv++;
	envp = calloc(nenv + 7, sizeof(*envp));
	if (!envp)
		return -ENOMEM;
	memcpy(envp, environ, nenv * sizeof(*envp));
	envp[nenv++] = e_addr;
	envp[nenv++] = e_port;
	envp[nenv++] = e_cport;
	envp[nenv++] = e_vaddr;
	envp[nenv++] = e_vport;
	envp[nenv++] = e_vproto;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	/* xlbd blocks and ignores signals for its own loop: the check gets
	 * a clean slate, in its own process group so a timeout kills all. */
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGCHLD);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETPGROUP);
	ret = posix_spawn(&t->pid, "/bin/sh", &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	if (ret) {
		t->pid = 0;
		return -ret;
	}
	t->fd = (int)syscall(SYS_pidfd_open, t->pid, 0);
	if (t->fd < 0)
		return -errno;
	return 0;
}

/* A TCP connection's outcome from its first event: 0 or an errno. The
 * error's name is asked for only when there is one. */
static int connect_result(struct target *t, uint32_t ev)
{
	int soerr = 0;
	socklen_t l = sizeof(soerr);

	if (!(ev & (EPOLLERR | EPOLLHUP)))
		return 0;
	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &l) < 0)
		soerr = errno;
	return soerr ? soerr : ECONNRESET;
}

static void fail_errno(struct xlb_health *h, struct target *t, const char *what, int e)
{
	char why[XLB_HEALTH_ERR_MAX];

	snprintf(why, sizeof(why), "%s: %s", what, strerror(e));
	finish(h, t, false, why);
}

/* ---- tcp: the connection is accepted ---- */

static int tcp_start(struct xlb_health *h, struct target *t)
{
	int ret = start_sock(t, SOCK_STREAM);

	t->phase = PH_CONNECT;
	return ret ? ret : ep_add(h, t, EPOLLOUT);
}

static void tcp_event(struct xlb_health *h, struct target *t, uint32_t ev)
{
	int e = connect_result(t, ev);

	if (e) {
		fail_errno(h, t, "connect", e);
		return;
	}
	t->phase = PH_SEND;	/* connected: probe_close resets it */
	finish(h, t, true, "");
}

/* ---- http: GET path, status (and body) as wanted ---- */

static int http_start(struct xlb_health *h, struct target *t)
{
	int ret = start_sock(t, SOCK_STREAM);

	/* One registration for the whole probe: edge-triggered OUT
	 * (connected, room to send) then IN (the answer). */
	t->phase = PH_CONNECT;
	return ret ? ret : ep_add(h, t, EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLET);
}

static void http_recv(struct xlb_health *h, struct target *t)
{
	char buf[4096];
	enum xlb_http_verdict v = XLB_HTTP_MORE;

	/* Edge-triggered: read until EAGAIN or a verdict; a server that
	 * streams more keeps sending edges, and is cut off at a bound. */
	for (int i = 0; i < 64 && v == XLB_HTTP_MORE; i++) {
		ssize_t n = recv(t->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			fail_errno(h, t, "receive", errno);
			return;
		}
		if ((t->rx_bytes += (size_t)n) > HEALTH_RX_MAX) {
			finish(h, t, false, "no verdict within the first 1 MiB of the response");
			return;
		}
		v = n ? xlb_http_parse_feed(&t->http, buf, (size_t)n) : xlb_http_parse_eof(&t->http);
	}
	if (v != XLB_HTTP_MORE)
		finish(h, t, v == XLB_HTTP_OK, t->http.error);
}

static void http_send(struct xlb_health *h, struct target *t)
{
	ssize_t n = send(t->fd, t->req + t->req_off, t->req_len - t->req_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0 && errno != EAGAIN) {
		fail_errno(h, t, "send", errno);
		return;
	}
	if (n > 0)
		t->req_off += (size_t)n;
	if (t->req_off < t->req_len)
		return;		/* the next OUT edge sends the rest */
	t->phase = PH_RECV;
	http_recv(h, t);	/* the answer may be there already (edge-triggered) */
}

static void http_event(struct xlb_health *h, struct target *t, uint32_t ev)
{
	char a[INET6_ADDRSTRLEN];
	bool v6 = t->svc.af == AF_INET6;
	int e;

	switch (t->phase) {
	case PH_CONNECT:
		e = connect_result(t, ev);
		if (e) {
			fail_errno(h, t, "connect", e);
			return;
		}
		if (!t->req_len) {	/* made once: the path and host stay */
			/* RFC 3986: an IPv6 literal host is bracketed. */
			inet_ntop(t->svc.af, &t->addr, a, sizeof(a));
			t->req_len = (size_t)snprintf(t->req, sizeof(t->req),
						      "GET %s HTTP/1.0\r\nHost: %s%s%s:%u\r\n"
						      "User-Agent: xlb-health\r\nConnection: close\r\n\r\n",
						      t->chk.path, v6 ? "[" : "", a, v6 ? "]" : "",
						      ntohs(probe_port(t)));
			if (t->req_len >= sizeof(t->req))
				t->req_len = sizeof(t->req) - 1;
		}
		t->req_off = 0;
		t->rx_bytes = 0;
		xlb_http_parse_init(&t->http, t->chk.status, t->chk.expect);
		t->phase = PH_SEND;
		http_send(h, t);
		break;
	case PH_SEND:
		http_send(h, t);
		break;
	case PH_RECV:
		http_recv(h, t);
		break;
	default:
		break;
	}
}

/* ---- udp: no ICMP error within the timeout (keepalived's UDP_CHECK) ---- */

static int udp_start(struct xlb_health *h, struct target *t)
{
	int ret = start_sock(t, SOCK_DGRAM);

	if (!ret && send(t->fd, "xlb-health\n", 11, MSG_DONTWAIT) < 0 && errno != EAGAIN)
		ret = -errno;
	t->phase = PH_UDP;
	return ret ? ret : ep_add(h, t, EPOLLIN);
}

static void udp_event(struct xlb_health *h, struct target *t, uint32_t ev)
{
	char buf[512], why[XLB_HEALTH_ERR_MAX];
	ssize_t n = recv(t->fd, buf, sizeof(buf), MSG_DONTWAIT);

	(void)ev;
	if (n >= 0) {
		finish(h, t, true, "");		/* a reply */
		return;
	}
	if (errno == EAGAIN)
		return;
	snprintf(why, sizeof(why), "%s", errno == ECONNREFUSED ?
		 "ICMP port unreachable" : strerror(errno));
	finish(h, t, false, why);
}

static void udp_timeout(struct xlb_health *h, struct target *t)
{
	finish(h, t, true, "");		/* silence: no ICMP error, so up */
}

/* ---- exec: the command exits 0 (keepalived's MISC_CHECK) ---- */

static int exec_start(struct xlb_health *h, struct target *t)
{
	int ret = start_exec(h, t);

	t->phase = PH_EXEC;
	return ret ? ret : ep_add(h, t, EPOLLIN);
}

static void exec_event(struct xlb_health *h, struct target *t, uint32_t ev)
{
	char why[XLB_HEALTH_ERR_MAX];
	int st;
	pid_t r = waitpid(t->pid, &st, WNOHANG);

	(void)ev;
	if (r == 0)
		return;
	t->pid = 0;		/* reaped */
	if (r < 0) {
		fail_errno(h, t, "wait", errno);
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		finish(h, t, true, "");
	} else {
		if (WIFEXITED(st))
			snprintf(why, sizeof(why), "command exited with status %d", WEXITSTATUS(st));
		else
			snprintf(why, sizeof(why), "command killed by signal %d", WTERMSIG(st));
		finish(h, t, false, why);
	}
}

/*
 * The kinds of check: how a probe starts (0: in flight, its fd
 * registered), what its events mean, and what its timeout means (NULL: a
 * failure). A new kind is a new entry; the loop does not change.
 */
struct checker {
	int (*start)(struct xlb_health *h, struct target *t);
	void (*event)(struct xlb_health *h, struct target *t, uint32_t ev);
	void (*timeout)(struct xlb_health *h, struct target *t);
};

static const struct checker checkers[] = {
	[XLB_CHECK_TCP]  = { tcp_start, tcp_event, NULL },
	[XLB_CHECK_HTTP] = { http_start, http_event, NULL },
	[XLB_CHECK_UDP]  = { udp_start, udp_event, udp_timeout },
	[XLB_CHECK_EXEC] = { exec_start, exec_event, NULL },
};

static const struct checker *checker_of(const struct target *t)
{
	return t->chk.kind < sizeof(checkers) / sizeof(checkers[0]) ?
	       &checkers[t->chk.kind] : &checkers[XLB_CHECK_NONE];
}

static void probe_start(struct xlb_health *h, struct target *t, uint64_t now)
{
	const struct checker *c = checker_of(t);
	int ret;

	t->start_ms = now;
	if (t->chk.kind >= XLB_CHECK_TCP && t->chk.kind <= XLB_CHECK_EXEC)
		atomic_fetch_add_explicit(&h->cnt[C_TCP + t->chk.kind - XLB_CHECK_TCP], 1,
					  memory_order_relaxed);
	ret = c->start ? c->start(h, t) : -EINVAL;
	if (ret) {
		fail_errno(h, t, "start", -ret);
		return;
	}
	set_when(h, t, now + t->chk.timeout_ms);
}

static void on_timeout(struct xlb_health *h, struct target *t)
{
	const struct checker *c = checker_of(t);
	char why[XLB_HEALTH_ERR_MAX], s[16];

	if (c->timeout) {
		c->timeout(h, t);
		return;
	}
	snprintf(why, sizeof(why), "%s: no answer within %s s",
		 t->phase == PH_CONNECT ? "connect" : t->phase == PH_EXEC ? "command" : "response",
		 xlb_check_fmt_secs(s, sizeof(s), t->chk.timeout_ms));
	finish(h, t, false, why);
}

static void on_event(struct xlb_health *h, struct target *t, uint32_t ev)
{
	const struct checker *c = checker_of(t);

	if (t->phase != PH_IDLE && c->event)
		c->event(h, t, ev);
}

/* ---- plans ---- */

static int tgt_cmp(const struct target *a, const struct target *b)
{
	int c;

	if (a->svc.proto != b->svc.proto)
		return a->svc.proto < b->svc.proto ? -1 : 1;
	/* IPv4 first; within a family, addresses as numbers (memcmp of
	 * network order), which for IPv4 is the order of before. */
	if (a->svc.af != b->svc.af)
		return a->svc.af == AF_INET ? -1 : 1;
	c = memcmp(&a->svc.addr, &b->svc.addr, sizeof(a->svc.addr));
	if (c)
		return c < 0 ? -1 : 1;
	if (a->svc.port != b->svc.port)
		return ntohs(a->svc.port) < ntohs(b->svc.port) ? -1 : 1;
	c = memcmp(&a->addr, &b->addr, sizeof(a->addr));
	if (c)
		return c < 0 ? -1 : 1;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	return 0;
}

static void plan_free(struct plan *p)
{
	if (p) {
		free(p->t);
		free(p);
	}
}

/* Thread: the targets become the plan's; unchanged ones carry on. */
static void apply_plan(struct xlb_health *h, struct plan *p)
{
	struct target **nt = calloc(p->n ? p->n : 1, sizeof(*nt));
	struct heap_ent *heap = calloc(p->n ? p->n : 1, sizeof(*heap));
	size_t i = 0, j = 0, nn = 0;
	uint64_t now = now_ms();

	if (!nt || !heap) {
		free(nt);
		free(heap);
		pr_warn("health: out of memory for %zu checked servers; the old plan stays", p->n);
		return;
	}
	for (j = 0; j < p->n; j++) {
		const struct target *want = &p->t[j];
		struct target *t = NULL;
		int c = 1;

		while (i < h->ntgts && (c = tgt_cmp(h->tgts[i], want)) < 0)
			i++;
		if (i < h->ntgts && !c && h->tgts[i]->hgen == want->hgen &&
		    !memcmp(&h->tgts[i]->chk, &want->chk, sizeof(want->chk))) {
			t = h->tgts[i];
			h->tgts[i++] = NULL;	/* carried */
		} else {
			t = malloc(sizeof(*t));
			if (!t)
				continue;
			*t = *want;
			t->fd = -1;
			t->pid = 0;
			t->phase = PH_IDLE;
			t->req_len = 0;
			xlb_health_sm_init(&t->sm);
			t->sm.up = !want->info.state || want->info.state == XLB_HEALTH_UP;
			t->info.state = t->sm.up ? XLB_HEALTH_UP : XLB_HEALTH_DOWN;
			t->info.since = (uint64_t)time(NULL);
			t->info.checks = 0;
			t->info.last_ok = 0;
			t->info.error[0] = '\0';
			/* Spread first probes over the interval. */
			t->when_ms = now + (t->svc.af == AF_INET6 ?
				xlb_hash_flow6(t->addr.ip6, t->svc.addr.ip6, t->port,
					       t->svc.port, t->svc.proto, 0x686c7468u) :
				xlb_hash_flow(t->addr.ip, t->svc.addr.ip, t->port,
					      t->svc.port, t->svc.proto, 0x686c7468u)) %
					   t->chk.interval_ms;
		}
		nt[nn] = t;
		heap[nn].t = t;
		nn++;
	}
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->ntgts; i++) {
		if (h->tgts[i]) {
			probe_close(h->tgts[i]);
			free(h->tgts[i]);
		}
	}
	free(h->tgts);
	h->tgts = nt;
	h->ntgts = nn;
	pthread_mutex_unlock(&h->lock);
	free(h->heap);
	h->heap = heap;
	h->nheap = nn;
	heap_rebuild(h);
}

static void *health_main(void *arg)
{
	struct xlb_health *h = arg;
	struct epoll_event ev[64];
	bool plan_ready = false;

	if (!pthread_getcpuclockid(pthread_self(), &h->cpu_clock))
		h->have_cpu_clock = true;
	while (!atomic_load(&h->stop)) {
		uint64_t now = now_ms();
		int timeout = -1, n;

		/* Whatever falls due within the slack runs in this wakeup: a
		 * few ms late, but one wakeup for many probes (the loop's cost
		 * at 1,000 checks a second is mostly wakeups and syscalls). */
		while (h->nheap && h->heap[0].when <= now + HEALTH_SLACK_MS) {
			struct target *t = h->heap[0].t;

			/* A timer 100 ms late says the thread cannot keep up. */
			if (now > t->when_ms + 100)
				atomic_fetch_add_explicit(&h->cnt[C_LATE], 1, memory_order_relaxed);
			if (t->phase == PH_IDLE)
				probe_start(h, t, now);
			else
				on_timeout(h, t);
		}
		if (h->nheap) {
			uint64_t d = h->heap[0].when > now ? h->heap[0].when - now : 0;

			timeout = d > 60000 ? 60000 : (int)d;
		}
		n = epoll_wait(h->epfd, ev, 64, timeout);
		if (n < 0 && errno != EINTR) {
			pr_warn("health: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int k = 0; k < n; k++) {
			if (ev[k].data.ptr)
				on_event(h, ev[k].data.ptr, ev[k].events);
			else
				plan_ready = true;
		}
		/* The plan after the batch's events: it may free targets those
		 * events point at, and edge-triggered events are not repeated. */
		if (plan_ready) {
			uint64_t v;
			struct plan *p;

			plan_ready = false;
			if (read(h->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				pr_debug("health: eventfd: %s", strerror(errno));
			pthread_mutex_lock(&h->lock);
			p = h->pending;
			h->pending = NULL;
			pthread_mutex_unlock(&h->lock);
			if (p) {
				apply_plan(h, p);
				plan_free(p);
			}
		}
	}
	return NULL;
}

/* ---- control thread ---- */

static struct plan *plan_build(const struct xlb_snap *s)
{
	struct plan *p = calloc(1, sizeof(*p));
	size_t n = 0;

	if (!p)
		return NULL;
	p->gen = s->gen;
	for (uint32_t i = 0; i < s->nsvcs; i++)
		n += s->svcs[i].ndests;
	p->t = calloc(n ? n : 1, sizeof(*p->t));
	if (!p->t) {
		free(p);
		return NULL;
	}
	for (uint32_t i = 0; i < s->nsvcs; i++) {
		const struct xlb_snap_svc *svc = &s->svcs[i];

		for (uint32_t j = 0; j < svc->ndests; j++) {
			const struct xlb_snap_dest *d = &svc->dests[j];
			struct target *t = &p->t[p->n];

			if (d->sorry)
				continue;
			xlb_check_effective(&t->chk, svc->check, d->check);
			if (t->chk.kind == XLB_CHECK_NONE)
				continue;
			memset(&t->svc, 0, sizeof(t->svc));
			memset(&t->addr, 0, sizeof(t->addr));
			t->svc.proto = svc->cfg.key.proto;
			/* A server is of its service's family (tables.c,
			 * check_dest_cfg), so one af says both. */
			t->svc.af = (uint8_t)xlb_af(svc->cfg.key.af);
			memcpy(&t->svc.addr, &svc->cfg.key.addr, xlb_inaddr_len(t->svc.af));
			t->svc.port = svc->cfg.key.port;
			memcpy(&t->addr, &d->cfg.addr, xlb_inaddr_len(t->svc.af));
			t->port = d->cfg.port;
			t->hgen = d->hgen;
			t->info.state = d->down ? XLB_HEALTH_DOWN : XLB_HEALTH_UP;
			p->n++;
		}
	}
	return p;
}

void xlb_health_tick(struct xlb_health *h)
{
	const struct xlb_snap *s;
	struct xlb_health_change *res;
	size_t nres;
	char err[256] = "";

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	res = h->res;
	nres = h->nres;
	h->res = NULL;
	h->nres = h->capres = 0;
	pthread_mutex_unlock(&h->lock);
	if (nres) {
		size_t applied = 0;
		int ret = xlb_tables_set_health(h->tables, res, nres, &applied, err, sizeof(err));

		if (ret)
			pr_warn("health: %zu results not applied: %s", nres,
				err[0] ? err : strerror(-ret));
		/* A refusal (out of memory, the datapath) is retried: the
		 * thread judges again at its next change; stale ones are
		 * dropped by the tables. */
	}
	free(res);

	s = xlb_tables_current(h->tables);
	if (s->gen != h->plan_gen) {
		struct plan *p = plan_build(s), *old;
		uint64_t one = 1;

		if (!p) {
			pr_warn("health: out of memory for a new plan; retried next tick");
			return;
		}
		h->plan_gen = s->gen;
		pthread_mutex_lock(&h->lock);
		old = h->pending;
		h->pending = p;
		pthread_mutex_unlock(&h->lock);
		plan_free(old);
		if (write(h->evfd, &one, sizeof(one)) < 0)
			pr_debug("health: eventfd: %s", strerror(errno));
	}
}

int xlb_health_info(struct xlb_health *h, const struct xlb_svc_key *svc,
		    const union xlb_inaddr *addr, uint16_t port, struct xlb_health_info *out)
{
	struct target key = { .port = port };
	long lo = 0, hi;
	int ret = -ENOENT;
	int af;

	if (!h || !svc)
		return -ENOENT;
	af = xlb_af(svc->af);
	if (af != AF_INET && af != AF_INET6)
		return -ENOENT;
	key.svc.af = (uint8_t)af;
	/* Only the family's bytes: the rest of an IPv4 union may be junk,
	 * and targets compare all sixteen. */
	memcpy(&key.addr, addr, xlb_inaddr_len(af));
	memcpy(&key.svc.addr, &svc->addr, xlb_inaddr_len(af));
	key.svc.proto = svc->proto;
	key.svc.port = svc->port;
	pthread_mutex_lock(&h->lock);
	hi = (long)h->ntgts - 1;
	while (lo <= hi) {
		long mid = lo + (hi - lo) / 2;
		int c = tgt_cmp(h->tgts[mid], &key);

		if (!c) {
			*out = h->tgts[mid]->info;
			ret = 0;
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

uint64_t xlb_health_cpu_ns(struct xlb_health *h)
{
	struct timespec ts;

	if (!h || !h->have_cpu_clock || clock_gettime(h->cpu_clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int xlb_health_dump_counters(struct xlb_health *h, xlb_counter_emit_fn emit, void *arg)
{
	size_t n;
	int ret;

	if (!h)
		return 0;
	for (int i = 0; i < C_COUNT; i++) {
		ret = emit("health", cnt_names[i],
			   atomic_load_explicit(&h->cnt[i], memory_order_relaxed), arg);
		if (ret)
			return ret;
	}
	pthread_mutex_lock(&h->lock);
	n = h->ntgts;
	pthread_mutex_unlock(&h->lock);
	ret = emit("health", "servers_checked", n, arg);
	if (!ret)
		ret = emit("health", "thread_cpu_ms", xlb_health_cpu_ns(h) / 1000000, arg);
	return ret;
}

int xlb_health_start(struct xlb_health **out, struct xlb_tables *t, char *err, size_t errlen)
{
	struct xlb_health *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int ret;

	if (!h) {
		xlb_seterr(err, errlen, "health: out of memory");
		return -ENOMEM;
	}
	h->tables = t;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&h->lock, NULL);
	if (h->epfd < 0 || h->evfd < 0 || epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->evfd, &ev)) {
		ret = -errno;
		xlb_seterr(err, errlen, "health: %s", strerror(errno));
		goto fail;
	}
	ret = -pthread_create(&h->thread, NULL, health_main, h);
	if (ret) {
		xlb_seterr(err, errlen, "health: thread: %s", strerror(-ret));
		goto fail;
	}
	h->started = true;
	pthread_setname_np(h->thread, "xlb-health");
	*out = h;
	return 0;
fail:
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->evfd >= 0)
		close(h->evfd);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return ret;
}

void xlb_health_stop(struct xlb_health *h)
{
	uint64_t one = 1;

	if (!h)
		return;
	if (h->started) {
		atomic_store(&h->stop, true);
		if (write(h->evfd, &one, sizeof(one)) < 0)
			pr_debug("health: eventfd: %s", strerror(errno));
		pthread_join(h->thread, NULL);
	}
	for (size_t i = 0; i < h->ntgts; i++) {
		probe_close(h->tgts[i]);
		free(h->tgts[i]);
	}
	free(h->tgts);
	free(h->heap);
	free(h->res);
	plan_free(h->pending);
	close(h->epfd);
	close(h->evfd);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
