// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of the health checker (issue 13, item 5): N real servers (default
 * 1,000) checked every second, first with a TCP check, then with an HTTP
 * check, against local listeners; the health thread's own CPU time
 * (pthread_getcpuclockid, cross-checked with /proc/self/task/TID/stat)
 * over the measured seconds, as a share of one CPU. Target: < 5 %.
 *
 *   health_bench [SERVERS] [SECONDS]
 *
 * Runs in a network namespace of its own (unshare, needs root): the real
 * servers are 127.0.x.y addresses of its loopback, served by one epoll
 * HTTP server thread in this process (its CPU is not the checker's). The
 * checker is driven exactly as xlbd drives it: the same tables, the same
 * xlb_health_tick() every 100 ms from the "control" (main) thread.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "check.h"
#include "health.h"
#include "ipvsadm.h"
#include "log.h"
#include "tables.h"

#define PORT 18080

static atomic_bool stop;
static _Atomic uint64_t served;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One epoll loop: accept, read the request head, answer, close. */
static void *http_server(void *arg)
{
	static const char resp[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(PORT) };
	struct epoll_event ev, evs[256];
	int one = 1, ls, ep;

	(void)arg;
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) || listen(ls, 4096)) {
		perror("health_bench: listen");
		exit(1);
	}
	ep = epoll_create1(0);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = ls };
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	while (!atomic_load(&stop)) {
		int n = epoll_wait(ep, evs, 256, 100);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == ls) {
				int c;

				while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			char buf[2048];
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r > 0 && memmem(buf, (size_t)r, "\r\n\r\n", 4)) {
				/* A probe may be gone already (reset): nothing to do. */
				if (write(fd, resp, sizeof(resp) - 1) < 0 && errno != ECONNRESET &&
				    errno != EPIPE)
					perror("health_bench: write");
				atomic_fetch_add(&served, 1);
			} else if (r > 0 || (r < 0 && errno == EAGAIN)) {
				continue;	/* a TCP check sends nothing: its RST ends it */
			}
			close(fd);
		}
	}
	return NULL;
}

struct counters {
	uint64_t v[16];
};

static int grab(const char *group, const char *name, uint64_t value, void *arg)
{
	static const char *const names[] = { "checks", "failed", "changes", "servers_checked" };
	struct counters *c = arg;

	(void)group;
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			c->v[i] = value;
	return 0;
}

/* utime + stime of the health thread from /proc, clock ticks. */
static uint64_t proc_ticks(void)
{
	char path[64], buf[1024], *p;
	uint64_t ut = 0, st = 0, total = 0;
	FILE *f;
	int tid;

	DIR *d = opendir("/proc/self/task");
	struct dirent *de;

	/* The checker thread is the one named xlb-health. */
	while (d && (de = readdir(d))) {
		tid = atoi(de->d_name);
		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%d/comm", tid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f) || strncmp(buf, "xlb-health", 10)) {
			fclose(f);
			continue;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		f = fopen(path, "r");
		if (!f || !fgets(buf, sizeof(buf), f)) {
			if (f)
				fclose(f);
			break;
		}
		fclose(f);
		p = strrchr(buf, ')');
		/* fields after ")": state(3) ... utime(14) stime(15) */
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &st) == 2)
			total = ut + st;
		break;
	}
	if (d)
		closedir(d);
	return total;
}

static void run(struct xlb_health *h, const char *what, double secs, unsigned int n)
{
	struct counters c0 = { 0 }, c1 = { 0 };
	uint64_t cpu0, cpu1, t0, t1, srv0, srv1;
	double w0, w1, now;
	long hz = sysconf(_SC_CLK_TCK);

	/* Warm up: every server has had its first (spread) probe. */
	for (now = mono(); mono() < now + 2.5;) {
		xlb_health_tick(h);
		usleep(100000);
	}
	xlb_health_dump_counters(h, grab, &c0);
	cpu0 = xlb_health_cpu_ns(h);
	t0 = proc_ticks();
	srv0 = atomic_load(&served);
	w0 = mono();
	while (mono() < w0 + secs) {
		xlb_health_tick(h);
		usleep(100000);
	}
	w1 = mono();
	cpu1 = xlb_health_cpu_ns(h);
	t1 = proc_ticks();
	srv1 = atomic_load(&served);
	xlb_health_dump_counters(h, grab, &c1);
	printf("%-4s %5u servers, interval 1 s: %6.0f checks/s, %llu failed, %llu state changes, "
	       "HTTP answers %6.0f/s; health thread CPU %.2f %% of one CPU (%.1f us per check; "
	       "/proc says %.2f %%)\n",
	       what, n, (c1.v[0] - c0.v[0]) / (w1 - w0),
	       (unsigned long long)(c1.v[1] - c0.v[1]), (unsigned long long)(c1.v[2] - c0.v[2]),
	       (srv1 - srv0) / (w1 - w0),
	       (cpu1 - cpu0) / 1e9 / (w1 - w0) * 100,
	       c1.v[0] > c0.v[0] ? (cpu1 - cpu0) / 1e3 / (double)(c1.v[0] - c0.v[0]) : 0.0,
	       (double)(t1 - t0) / hz / (w1 - w0) * 100);
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? (unsigned int)atoi(argv[1]) : 1000;
	double secs = argc > 2 ? atof(argv[2]) : 10;
	struct xlb_tables *t;
	struct xlb_health *h;
	struct xlb_req *reqs;
	struct xlb_check chk = { .set = XLB_CHECK_SET_KIND, .kind = XLB_CHECK_HTTP };
	struct xlb_svc_cfg svc = { 0 };
	struct rlimit rl = { 65536, 65536 };
	pthread_t srv;
	char err[256] = "", *text = NULL;
	size_t len = 0, nreq, failed;
	FILE *f;

	if (n < 1 || n > 60000 || secs <= 0) {
		fprintf(stderr, "usage: health_bench [SERVERS 1..60000] [SECONDS]\n");
		return 1;
	}
	if (geteuid() != 0) {
		printf("health_bench: needs root (a network namespace of its own): skipped\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET)) {
		perror("health_bench: unshare(CLONE_NEWNET)");
		return 1;
	}
	if (system("ip link set lo up")) {
		fprintf(stderr, "health_bench: cannot bring lo up\n");
		return 1;
	}
	setrlimit(RLIMIT_NOFILE, &rl);
	signal(SIGPIPE, SIG_IGN);
	xlb_log_set_level(XLB_LOG_WARN);
	pthread_create(&srv, NULL, http_server, NULL);

	f = open_memstream(&text, &len);
	fprintf(f, "-A -t 10.0.0.1:80 --check tcp --check-interval 1 --check-timeout 0.5\n");
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, "-a -t 10.0.0.1:80 -r 127.%u.%u.%u:%d -m\n", 1 + i / 62500,
			(i / 250) % 250, 1 + i % 250, PORT);
	fclose(f);
	f = fmemopen(text, len, "r");
	if (xlb_tables_new(&t) || xlb_rules_parse(f, &reqs, &nreq, err, sizeof(err)) ||
	    xlb_tables_apply_reqs(t, reqs, nreq, &failed, err, sizeof(err))) {
		fprintf(stderr, "health_bench: %s\n", err);
		return 1;
	}
	fclose(f);
	free(text);
	free(reqs);
	if (xlb_health_start(&h, t, err, sizeof(err))) {
		fprintf(stderr, "health_bench: %s\n", err);
		return 1;
	}
	run(h, "TCP", secs, n);
	svc.key = xlb_tables_current(t)->svcs[0].cfg.key;
	if (xlb_tables_edit_svc_chk(t, &svc, 0, &chk, err, sizeof(err))) {
		fprintf(stderr, "health_bench: %s\n", err);
		return 1;
	}
	run(h, "HTTP", secs, n);
	xlb_health_stop(h);
	atomic_store(&stop, true);
	pthread_join(srv, NULL);
	xlb_tables_free(t);
	return 0;
}
