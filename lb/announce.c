// SPDX-License-Identifier: GPL-2.0
/*
 * Announce while healthy: VIP routes in a routing table of xlbd's own, and
 * the guard that withdraws them when xlbd cannot. See announce.h.
 *
 * xlbd's side keeps "have", the VIPs whose route it added and believes
 * present, and each tick moves it to "want", the decision over the
 * current snapshot, route by route. Every XLB_ANNOUNCE_RESYNC_MS, and
 * whenever the guard says it withdrew, "have" is read again from the
 * kernel (routes someone removed are added again, protocol-250 routes it
 * does not know are removed).
 *
 * The guard is a second process: a loop over one socket, a signalfd and
 * an rtnetlink socket. It has no thread, no libxdp and nothing of xlbd's
 * but this file, so that it keeps working whatever state xlbd is in.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "announce.h"
#include "log.h"

#define AN_BUF_SIZE	32768		/* libmnl's advice for dumps */
#define AN_STALE_MAX	65536		/* protocol-250 routes one dump handles */

/* Bytes on the xlbd <-> guard socket. */
#define AN_MSG_BEAT	'.'		/* xlbd: alive */
#define AN_MSG_QUIT	'Q'		/* xlbd: withdrew itself, exit quietly */
#define AN_MSG_WITHDREW	'W'		/* guard: withdrew everything */

static uint64_t an_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int xlb_announce_parse_table(const char *s, uint32_t *out, char *err, size_t errlen)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *s == '-' || *s == '+' || errno || *end || v < XLB_ANNOUNCE_TABLE_MIN ||
	    v > XLB_ANNOUNCE_TABLE_MAX)
		return xlb_seterr_inval(err, errlen,
					"--announce-table: \"%s\": a routing table number "
					"from %d to %d (253 default, 254 main and 255 local "
					"are the kernel's)", s, XLB_ANNOUNCE_TABLE_MIN,
					XLB_ANNOUNCE_TABLE_MAX);
	*out = (uint32_t)v;
	return 0;
}

/* ---- the decision ---- */

bool xlb_announce_svc_serves(const struct xlb_snap_svc *svc)
{
	if (svc->sorry_idx >= 0)
		return true;
	if (xlb_snap_below_quorum(svc))
		return false;
	for (uint32_t i = 0; i < svc->ndests; i++)
		if (xlb_dest_weight(&svc->dests[i]) > 0)
			return true;
	return false;
}

/* IPv4 first; within a family the address as a number (memcmp of network
 * order, which for IPv4 is the ntohl order of before). */
static int vip_cmp(const void *a, const void *b)
{
	const struct xlb_announce_vip *x = a, *y = b;
	int c;

	if (x->af != y->af)
		return x->af == AF_INET ? -1 : 1;
	c = memcmp(&x->addr, &y->addr, xlb_inaddr_len(x->af));
	return c < 0 ? -1 : c > 0;
}

static struct xlb_announce_vip an_vip(uint8_t af, const union xlb_inaddr *a)
{
	struct xlb_announce_vip v;

	memset(&v, 0, sizeof(v));
	v.af = (uint8_t)xlb_af(af);
	memcpy(&v.addr, a, xlb_inaddr_len(v.af));
	return v;
}

size_t xlb_announce_vips(const struct xlb_snap *s, bool workers_ok,
			 struct xlb_announce_vip *out, size_t max)
{
	size_t n = 0, u = 0;

	if (!workers_ok || !s)
		return 0;
	for (uint32_t i = 0; i < s->nsvcs && n < max; i++) {
		const struct xlb_svc_key *k = &s->svcs[i].cfg.key;
		int af = xlb_af(k->af);

		if ((af == AF_INET || af == AF_INET6) &&
		    xlb_announce_svc_serves(&s->svcs[i]))
			out[n++] = an_vip((uint8_t)af, &k->addr);
	}
	/* qsort and bsearch take no NULL, even for 0 elements (UBSan). */
	if (n > 1)
		qsort(out, n, sizeof(*out), vip_cmp);
	for (size_t i = 0; i < n; i++)
		if (!u || vip_cmp(&out[u - 1], &out[i]))
			out[u++] = out[i];
	return u;
}

unsigned int xlb_announce_progress(struct xlb_announce_progress *p, const uint64_t *beats,
				   unsigned int n, uint64_t now_ms)
{
	unsigned int stalled = 0;
	bool restart;

	if (n > XLB_MAX_WORKERS)
		n = XLB_MAX_WORKERS;
	restart = !p->last_ms || p->n != n || now_ms - p->last_ms >= XLB_ANNOUNCE_STALL_MS;
	p->n = n;
	p->last_ms = now_ms;
	for (unsigned int i = 0; i < n; i++) {
		if (restart || beats[i] != p->beat[i]) {
			p->beat[i] = beats[i];
			p->moved_ms[i] = now_ms;
		} else if (now_ms - p->moved_ms[i] >= XLB_ANNOUNCE_STALL_MS)
			stalled++;
	}
	return stalled;
}

/* ---- routes over rtnetlink ---- */

struct an_nl {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char *buf;
};

static int an_nl_open(struct an_nl *c)
{
	struct timeval tv = { .tv_sec = 2 };
	int one = 1;

	c->buf = malloc(AN_BUF_SIZE);
	c->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!c->buf || !c->nl)
		goto fail;
	/* A kernel that does not answer must not hang the control thread. */
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		goto fail;
	/* Strict checking lets the kernel filter a dump by table and protocol
	 * (a BGP-sized main table is never walked); an older kernel dumps
	 * everything and an_dump_cb filters alone. */
	(void)setsockopt(mnl_socket_get_fd(c->nl), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one,
			 sizeof(one));
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	return 0;
fail:;
	int ret = errno ? -errno : -ENOMEM;

	if (c->nl)
		mnl_socket_close(c->nl);
	free(c->buf);
	c->nl = NULL;
	c->buf = NULL;
	return ret;
}

static void an_nl_close(struct an_nl *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	free(c->buf);
	c->nl = NULL;
	c->buf = NULL;
}

/* Sends nlh and runs cb over the answer until its end (a dump's DONE or
 * the ACK). 0 or -errno (the kernel's error for a request). */
static int an_nl_talk(struct an_nl *c, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = ++c->seq;
	if (mnl_socket_sendto(c->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(c->nl, c->buf, AN_BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		errno = 0;
		ret = mnl_cb_run(c->buf, (size_t)n, c->seq, c->portid, cb, data);
		if (ret < 0)
			return errno ? -errno : -EIO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

/* One of xlbd's routes as the kernel listed it (what deleting it takes). */
struct an_route {
	union xlb_inaddr dst;		/* network order */
	uint8_t family;			/* AF_INET or AF_INET6 */
	uint32_t prio;
	uint8_t dst_len;
	uint8_t tos;
	uint8_t type;
};

struct an_dump {
	uint32_t table;
	uint8_t family;
	struct an_route *v;
	size_t n, cap;
	bool full;
};

static int an_rt_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, RTA_MAX) < 0)
		return MNL_CB_OK;	/* newer kernel: skip */
	if ((type == RTA_TABLE || type == RTA_PRIORITY) &&
	    mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return MNL_CB_OK;	/* not one we can read: ignored */
	/* 4 or 16 bytes by family: an_dump_cb checks which. */
	if (type == RTA_DST && mnl_attr_get_payload_len(a) != 4 &&
	    mnl_attr_get_payload_len(a) != 16)
		return MNL_CB_OK;
	tb[type] = a;
	return MNL_CB_OK;
}

static int an_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct an_dump *d = data;
	const struct rtmsg *rtm;
	struct an_route r = { 0 };
	uint32_t table;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return MNL_CB_OK;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != d->family || rtm->rtm_protocol != XLB_RTPROT)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*rtm), an_rt_attr_cb, tb) < 0)
		return MNL_CB_OK;
	table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table != d->table)
		return MNL_CB_OK;
	if (tb[RTA_DST]) {
		if (mnl_attr_get_payload_len(tb[RTA_DST]) != xlb_inaddr_len(d->family))
			return MNL_CB_OK;	/* not a route we could delete */
		memcpy(&r.dst, mnl_attr_get_payload(tb[RTA_DST]), xlb_inaddr_len(d->family));
	}
	r.family = d->family;
	r.prio = tb[RTA_PRIORITY] ? mnl_attr_get_u32(tb[RTA_PRIORITY]) : 0;
	r.dst_len = rtm->rtm_dst_len;
	r.tos = rtm->rtm_tos;
	r.type = rtm->rtm_type;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		struct an_route *v;

		if (cap > AN_STALE_MAX) {
			d->full = true;
			return MNL_CB_OK;
		}
		v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return MNL_CB_ERROR;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = r;
	return MNL_CB_OK;
}

/* Every protocol-250 route of family in table into d (d->v to free). */
static int an_rt_dump(struct an_nl *c, uint32_t table, uint8_t family, struct an_dump *d)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtmsg *rtm;
	int ret;

	memset(d, 0, sizeof(*d));
	d->table = table;
	d->family = family;
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_protocol = XLB_RTPROT;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	ret = an_nl_talk(c, nlh, an_dump_cb, d);
	/* A table that has no route at all does not exist yet. */
	if (ret == -ENOENT)
		ret = 0;
	if (ret) {
		free(d->v);
		d->v = NULL;
		d->n = 0;
	}
	return ret;
}

/* Adds (add) or removes the route r of protocol XLB_RTPROT in table. Adding
 * neither replaces nor refuses another protocol's route of the same
 * prefix (NLM_F_APPEND without NLM_F_EXCL): it goes beside it, untouched;
 * -EEXIST means this very route is there already. */
static int an_rt_change(struct an_nl *c, uint32_t table, const struct an_route *r, bool add)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtmsg *rtm;

	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
			   (add ? NLM_F_CREATE | NLM_F_APPEND : 0);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = r->family;
	rtm->rtm_dst_len = r->dst_len;
	rtm->rtm_tos = r->tos;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = XLB_RTPROT;
	/* Deleting: any scope, and only our protocol and type match. */
	rtm->rtm_scope = add ? RT_SCOPE_UNIVERSE : RT_SCOPE_NOWHERE;
	rtm->rtm_type = r->type;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	if (r->dst_len)
		mnl_attr_put(nlh, RTA_DST, xlb_inaddr_len(r->family), &r->dst);
	if (r->prio)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->prio);
	return an_nl_talk(c, nlh, NULL, NULL);
}

static struct an_route an_vip_route(const struct xlb_announce_vip *vip)
{
	struct an_route r;

	memset(&r, 0, sizeof(r));
	r.dst = vip->addr;
	r.family = vip->af;
	r.dst_len = vip->af == AF_INET6 ? 128 : 32;
	r.type = RTN_BLACKHOLE;
	return r;
}

/* Every protocol-250 route of table removed, IPv4 and IPv6: how many, or
 * -errno (the other family is still flushed). */
static int an_rt_flush(struct an_nl *c, uint32_t table)
{
	static const uint8_t fams[] = { AF_INET, AF_INET6 };
	int ret = 0, gone = 0;
	bool full = false;

	for (size_t f = 0; f < sizeof(fams); f++) {
		struct an_dump d;
		int rc = an_rt_dump(c, table, fams[f], &d);

		/* A kernel without IPv6 has no IPv6 routes to flush. */
		if (rc == -EAFNOSUPPORT && fams[f] == AF_INET6)
			continue;
		if (rc) {
			if (!ret)
				ret = rc;
			continue;
		}
		for (size_t i = 0; i < d.n; i++) {
			rc = an_rt_change(c, table, &d.v[i], false);
			if (!rc)
				gone++;
			else if (rc != -ESRCH && !ret)
				ret = rc;
		}
		free(d.v);
		full |= d.full;
	}
	/* More than one dump could hold: the rest on the next call. */
	if (!ret && full)
		ret = -EAGAIN;
	return ret ? ret : gone;
}

int xlb_announce_withdraw_table(uint32_t table, char *err, size_t errlen)
{
	struct an_nl c = { 0 };
	int ret = an_nl_open(&c);

	if (ret) {
		xlb_seterr(err, errlen, "rtnetlink: %s", strerror(-ret));
		return ret;
	}
	ret = an_rt_flush(&c, table);
	if (ret == -EAGAIN)
		ret = an_rt_flush(&c, table);
	if (ret < 0)
		xlb_seterr(err, errlen, "removing the routes of table %u: %s", table,
			   strerror(-ret));
	an_nl_close(&c);
	return ret;
}

/* ---- the guard ---- */

static void guard_log_flush(uint32_t table, const char *why, struct an_nl *c)
{
	int rc = an_rt_flush(c, table);

	if (rc == -EAGAIN)
		rc = an_rt_flush(c, table);
	if (rc < 0)
		pr_warn("announce guard: withdrawing the routes of table %u (%s): %s",
			table, why, strerror(-rc));
	else
		pr_warn("announce guard: %s: withdrew %d route%s of table %u", why, rc,
			rc == 1 ? "" : "s", table);
}

/* The guard's life: never returns. fd: its end of the socket to xlbd. */
static void __attribute__((noreturn)) guard_main(int fd, uint32_t table, pid_t parent)
{
	struct an_nl c = { 0 };
	struct pollfd pfd[2];
	uint64_t last = 0;		/* last heartbeat; 0: none yet (not armed) */
	bool withdrawn = false;
	sigset_t mask;
	int sfd;

	prctl(PR_SET_NAME, "xlbd-guard", 0, 0, 0);
	/* SIGUSR1: xlbd died (PR_SET_PDEATHSIG). SIGTERM: systemd stops the
	 * whole unit; xlbd withdraws itself and tells us to go ('Q'), or dies
	 * (EOF) or hangs (no heartbeat), which we see anyway. Either signal
	 * while xlbd lives changes nothing, so that a stop is logged as one. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	/* A terminal's ^C or hang-up is for xlbd, which then stops us. */
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0);
	if (an_nl_open(&c) < 0 || sfd < 0) {
		pr_err("announce guard: rtnetlink: %s", strerror(errno));
		_exit(1);
	}
	/* xlbd may have died before PR_SET_PDEATHSIG took: the socket's EOF
	 * tells that too, but not a hang before the first heartbeat. */
	if (getppid() != parent) {
		guard_log_flush(table, "xlbd is gone", &c);
		_exit(0);
	}
	pfd[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		uint64_t now = an_now_ms();
		int timeout = -1, n;

		if (last && !withdrawn)
			timeout = now >= last + XLB_ANNOUNCE_GUARD_TIMEOUT_MS ? 0 :
				  (int)(last + XLB_ANNOUNCE_GUARD_TIMEOUT_MS - now);
		n = poll(pfd, 2, timeout);
		if (n < 0 && errno != EINTR) {
			guard_log_flush(table, "poll failed", &c);
			_exit(1);
		}
		if (n > 0 && pfd[1].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) < 0 && errno != EAGAIN)
				pr_debug("announce guard: signalfd: %s", strerror(errno));
			if (getppid() == parent)
				continue;
			guard_log_flush(table, "xlbd is gone", &c);
			_exit(0);
		}
		if (n > 0 && pfd[0].revents) {
			char buf[256];
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				guard_log_flush(table, "xlbd is gone", &c);
				_exit(0);
			}
			if (memchr(buf, AN_MSG_QUIT, (size_t)r))
				_exit(0);
			if (withdrawn)
				pr_warn("announce guard: xlbd's heartbeat is back");
			last = an_now_ms();
			withdrawn = false;
			continue;
		}
		if (n == 0 && last && !withdrawn) {
			char msg = AN_MSG_WITHDREW;

			guard_log_flush(table, "no heartbeat from xlbd for 1 s", &c);
			withdrawn = true;
			/* After the routes are gone, so that xlbd re-adds them. */
			if (write(fd, &msg, 1) < 0)
				pr_debug("announce guard: %s", strerror(errno));
		}
	}
}

/* The guard's command line becomes "xlbd-guard", written over its copy of
 * xlbd's argument strings (contiguous, as the kernel laid them out), so
 * that pidof xlbd and ps name xlbd alone (its comm is set apart too). */
static void guard_retitle(char **argv)
{
	static const char title[] = "xlbd-guard";
	char *lo = NULL, *hi = NULL;

	for (int i = 0; argv && argv[i]; i++) {
		char *end = argv[i] + strlen(argv[i]) + 1;

		if (!lo || argv[i] < lo)
			lo = argv[i];
		if (!hi || end > hi)
			hi = end;
	}
	/* The logger's prefix pointed into those strings. */
	program_invocation_name = (char *)title;
	program_invocation_short_name = (char *)title;
	if (!lo || (size_t)(hi - lo) < sizeof(title))
		return;
	memset(lo, 0, (size_t)(hi - lo));
	memcpy(lo, title, sizeof(title));
}

/* ---- xlbd's side ---- */

enum an_cnt {
	AN_ANNOUNCEMENTS,
	AN_WITHDRAWALS,
	AN_GUARD_WITHDRAWALS,
	AN_WORKER_STALLS,
	AN_NETLINK_ERRORS,
	AN_CNT_MAX
};

static const char *const an_cnt_names[AN_CNT_MAX] = {
	[AN_ANNOUNCEMENTS] = "announcements",
	[AN_WITHDRAWALS] = "withdrawals",
	[AN_GUARD_WITHDRAWALS] = "guard_withdrawals",
	[AN_WORKER_STALLS] = "worker_stalls",
	[AN_NETLINK_ERRORS] = "netlink_errors",
};

struct xlb_announce {
	uint32_t table;
	struct an_nl nl;
	int guard_fd;			/* -1: no guard (lost or stopped) */
	pid_t guard_pid;
	bool stopped;			/* graceful stop, or the guard lost */
	struct xlb_tables *tables;
	xlb_announce_beats_fn beats;
	void *beats_arg;
	struct xlb_announce_progress prog;
	unsigned int stalled;		/* workers stalled, at the last tick */
	uint64_t last_beat_ms;		/* heartbeat sent */
	uint64_t last_resync_ms;
	bool resync;			/* re-read the table at the next tick */
	struct xlb_announce_vip *have;	/* routes present, sorted (vip_cmp) */
	size_t nhave;
	struct xlb_announce_vip *want;
	size_t cap;			/* of have and want */
	int last_err;			/* last netlink error logged (0: none) */
	uint64_t cnt[AN_CNT_MAX];
};

static void an_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Announcements and withdrawals are "notice" in the journal: more than
 * info, not a warning. The logger has no such level; this is its line. */
static void an_notice(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (xlb_log_journal() && xlb_log_get_level() >= XLB_LOG_INFO)
		fprintf(stderr, "<5>%s\n", line);
	else
		pr_info("%s", line);
}

static void an_nl_error(struct xlb_announce *a, const char *what,
			const struct xlb_announce_vip *vip, int err)
{
	char ip[INET6_ADDRSTRLEN] = "";

	a->cnt[AN_NETLINK_ERRORS]++;
	if (err == a->last_err)
		return;		/* said once until it changes */
	a->last_err = err;
	if (vip)
		inet_ntop(vip->af, &vip->addr, ip, sizeof(ip));
	pr_warn("announce: %s%s%s in table %u: %s (retrying)", what, vip ? " " : "", ip,
		a->table, strerror(-err));
}

int xlb_announce_new(struct xlb_announce **out, uint32_t table, char **argv, char *err,
		     size_t errlen)
{
	struct xlb_announce *a = calloc(1, sizeof(*a));
	pid_t parent = getpid(), pid;
	int sv[2], ret;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->table = table;
	a->guard_fd = -1;
	ret = an_nl_open(&a->nl);
	if (ret) {
		xlb_seterr(err, errlen, "--announce-table: rtnetlink: %s", strerror(-ret));
		free(a);
		return ret;
	}
	/* An earlier run's routes go before anything is announced. */
	ret = an_rt_flush(&a->nl, table);
	if (ret == -EAGAIN)
		ret = an_rt_flush(&a->nl, table);
	if (ret < 0) {
		xlb_seterr(err, errlen, "--announce-table %u: removing old routes: %s", table,
			   strerror(-ret));
		goto fail;
	}
	if (ret > 0)
		an_notice("announce: removed %d stale route%s of protocol %d from table %u",
			  ret, ret == 1 ? "" : "s", XLB_RTPROT, table);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		xlb_seterr(err, errlen, "--announce-table: socketpair: %s", strerror(errno));
		goto fail;
	}
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		xlb_seterr(err, errlen, "--announce-table: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (pid == 0) {
		close(sv[0]);
		an_nl_close(&a->nl);
		free(a);	/* xlbd's side; the guard has its own */
		guard_retitle(argv);
		guard_main(sv[1], table, parent);
	}
	close(sv[1]);
	a->guard_fd = sv[0];
	a->guard_pid = pid;
	a->resync = true;
	pr_info("announce: VIP routes in table %u (proto %d), guard pid %d", table,
		XLB_RTPROT, (int)pid);
	*out = a;
	return 0;
fail:
	an_nl_close(&a->nl);
	free(a);
	return ret;
}

void xlb_announce_attach(struct xlb_announce *a, struct xlb_tables *t,
			 xlb_announce_beats_fn beats, void *beats_arg)
{
	if (!a)
		return;
	a->tables = t;
	a->beats = beats;
	a->beats_arg = beats_arg;
}

static bool an_has(const struct xlb_announce_vip *v, size_t n,
		   const struct xlb_announce_vip *vip)
{
	return n && bsearch(vip, v, n, sizeof(*v), vip_cmp) != NULL;
}

static int an_reserve(struct xlb_announce *a, size_t n)
{
	struct xlb_announce_vip *h, *w;

	if (n <= a->cap)
		return 0;
	h = realloc(a->have, n * sizeof(*h));
	if (!h)
		return -ENOMEM;
	a->have = h;
	w = realloc(a->want, n * sizeof(*w));
	if (!w)
		return -ENOMEM;
	a->want = w;
	a->cap = n;
	return 0;
}

/* "have" from the kernel: our /32 and /128 blackholes; anything else of
 * ours goes. */
static int an_resync(struct xlb_announce *a)
{
	struct an_dump d[2];
	size_t n = 0;
	int ret = an_rt_dump(&a->nl, a->table, AF_INET, &d[0]);

	if (ret)
		return ret;
	ret = an_rt_dump(&a->nl, a->table, AF_INET6, &d[1]);
	if (ret == -EAFNOSUPPORT)	/* no IPv6 in this kernel: none of ours */
		ret = 0;
	if (ret) {
		free(d[0].v);
		return ret;
	}
	ret = an_reserve(a, d[0].n + d[1].n);
	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; !ret && i < d[f].n; i++) {
			const struct an_route *r = &d[f].v[i];

			if (r->dst_len == xlb_inaddr_len(r->family) * 8 &&
			    r->type == RTN_BLACKHOLE && !r->tos && !r->prio) {
				a->have[n++] = an_vip(r->family, &r->dst);
				continue;
			}
			ret = an_rt_change(&a->nl, a->table, r, false);
			if (ret == -ESRCH)
				ret = 0;
		}
		free(d[f].v);
	}
	if (ret)
		return ret;
	if (n > 1)
		qsort(a->have, n, sizeof(*a->have), vip_cmp);
	a->nhave = n;
	return 0;
}

static void an_log_route(struct xlb_announce *a, const struct xlb_announce_vip *vip, bool up,
			 const char *why)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(vip->af, &vip->addr, ip, sizeof(ip));
	an_notice("announce: %s/%u %s (table %u)%s%s", ip, xlb_inaddr_len(vip->af) * 8,
		  up ? "announced" : "withdrawn", a->table, why ? ": " : "", why ? why : "");
}

/* Routes removed from table for every VIP in have but not want, added for
 * every one in want but not have; have becomes what the kernel has. */
static void an_apply(struct xlb_announce *a, size_t nwant, const char *why_down)
{
	size_t n = 0;
	bool ok = true;

	for (size_t i = 0; i < a->nhave; i++) {
		struct xlb_announce_vip vip = a->have[i];
		struct an_route r = an_vip_route(&vip);
		int rc;

		if (an_has(a->want, nwant, &vip)) {
			a->have[n++] = vip;
			continue;
		}
		rc = an_rt_change(&a->nl, a->table, &r, false);
		if (rc && rc != -ESRCH) {
			an_nl_error(a, "withdrawing", &vip, rc);
			a->have[n++] = vip;	/* still there: again next tick */
			ok = false;
			continue;
		}
		a->cnt[AN_WITHDRAWALS]++;
		an_log_route(a, &vip, false, why_down);
	}
	a->nhave = n;
	for (size_t i = 0; i < nwant; i++) {
		const struct xlb_announce_vip *vip = &a->want[i];
		struct an_route r = an_vip_route(vip);
		int rc;

		if (an_has(a->have, n, vip))
			continue;
		rc = an_rt_change(&a->nl, a->table, &r, true);
		/* IPv4 puts our route beside another protocol's for the same
		 * prefix; the IPv6 FIB holds one route per prefix and metric,
		 * so there EEXIST is someone else's route (ours are all in
		 * "have" since the last resync), not ours: not announced. */
		if (rc == -EEXIST && vip->af == AF_INET6) {
			an_nl_error(a, "announcing (another protocol's route of the "
				    "same /128 and metric is in the table)", vip, rc);
			ok = false;
			continue;
		}
		if (rc && rc != -EEXIST) {
			an_nl_error(a, "announcing", vip, rc);
			ok = false;
			continue;
		}
		a->have[a->nhave++] = *vip;
		a->cnt[AN_ANNOUNCEMENTS]++;
		an_log_route(a, vip, true, NULL);
	}
	if (a->nhave > 1)
		qsort(a->have, a->nhave, sizeof(*a->have), vip_cmp);
	if (ok)
		a->last_err = 0;
}

/* No guard, no announcement: a SIGKILL would leave the routes. */
static void an_guard_lost(struct xlb_announce *a, const char *why)
{
	int rc;

	close(a->guard_fd);
	a->guard_fd = -1;
	a->stopped = true;
	rc = an_rt_flush(&a->nl, a->table);
	a->cnt[AN_WITHDRAWALS] += rc > 0 ? (uint64_t)rc : 0;
	a->nhave = 0;
	pr_err("announce: the guard process %s: every route of table %u withdrawn, "
	       "none announced until xlbd restarts", why, a->table);
}

/* The guard's news, and our heartbeat to it. */
static void an_guard_talk(struct xlb_announce *a, uint64_t now_ms)
{
	char buf[64];
	ssize_t r;

	for (;;) {
		r = recv(a->guard_fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			an_guard_lost(a, r == 0 ? "exited" : strerror(errno));
			return;
		}
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] == AN_MSG_WITHDREW) {
				a->cnt[AN_GUARD_WITHDRAWALS]++;
				a->resync = true;
				pr_warn("announce: the guard withdrew every route of table "
					"%u (no heartbeat for 1 s: was xlbd stopped or "
					"hung?); announcing again", a->table);
			}
	}
	if (now_ms - a->last_beat_ms >= XLB_ANNOUNCE_BEAT_MS || a->resync) {
		char beat = AN_MSG_BEAT;

		if (send(a->guard_fd, &beat, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN) {
			an_guard_lost(a, strerror(errno));
			return;
		}
		a->last_beat_ms = now_ms;
	}
}

void xlb_announce_tick(struct xlb_announce *a, uint64_t now_ms)
{
	uint64_t beats[XLB_MAX_WORKERS];
	const struct xlb_snap *s;
	unsigned int nw, stalled;
	const char *why = NULL;
	size_t nwant;
	int rc;

	if (!a || a->stopped)
		return;
	an_guard_talk(a, now_ms);
	if (a->stopped || !a->tables)
		return;
	if (a->resync || now_ms - a->last_resync_ms >= XLB_ANNOUNCE_RESYNC_MS) {
		rc = an_resync(a);
		if (rc) {
			an_nl_error(a, "reading the routes", NULL, rc);
			return;
		}
		a->resync = false;
		a->last_resync_ms = now_ms;
	}
	nw = a->beats ? a->beats(a->beats_arg, beats, XLB_MAX_WORKERS) : 0;
	stalled = xlb_announce_progress(&a->prog, beats, nw, now_ms);
	if (stalled && !a->stalled) {
		a->cnt[AN_WORKER_STALLS]++;
		pr_warn("announce: %u datapath worker%s made no progress for %d ms", stalled,
			stalled == 1 ? "" : "s", XLB_ANNOUNCE_STALL_MS);
	} else if (!stalled && a->stalled)
		pr_warn("announce: every datapath worker makes progress again");
	a->stalled = stalled;
	s = xlb_tables_current(a->tables);
	if (an_reserve(a, (s ? s->nsvcs : 0) + a->nhave) < 0) {
		an_nl_error(a, "out of memory for", NULL, -ENOMEM);
		return;
	}
	nwant = xlb_announce_vips(s, !stalled, a->want, a->cap);
	if (stalled)
		why = "a datapath worker stalled";
	else
		why = "no service on it can take a new connection";
	an_apply(a, nwant, why);
}

void xlb_announce_stop(struct xlb_announce *a, const char *why)
{
	int rc;

	if (!a || a->stopped)
		return;
	a->stopped = true;
	rc = an_rt_flush(&a->nl, a->table);
	if (rc == -EAGAIN)
		rc = an_rt_flush(&a->nl, a->table);
	if (rc < 0) {
		a->cnt[AN_NETLINK_ERRORS]++;
		pr_warn("announce: withdrawing the routes of table %u: %s (the guard "
			"will)", a->table, strerror(-rc));
		a->nhave = 0;
		return;	/* the guard sees our EOF and withdraws */
	}
	a->cnt[AN_WITHDRAWALS] += (uint64_t)rc;
	for (size_t i = 0; i < a->nhave; i++)
		an_log_route(a, &a->have[i], false, why);
	a->nhave = 0;
	an_notice("announce: %s: withdrew %d route%s of table %u", why, rc,
		  rc == 1 ? "" : "s", a->table);
	if (a->guard_fd >= 0) {
		char q = AN_MSG_QUIT;

		if (send(a->guard_fd, &q, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			pr_debug("announce: guard: %s", strerror(errno));
	}
}

int xlb_announce_dump_counters(struct xlb_announce *a, xlb_counter_emit_fn emit, void *arg)
{
	int ret;

	if (!a)
		return 0;
	ret = emit("announce", "routes", a->nhave, arg);
	if (!ret)
		ret = emit("announce", "table", a->table, arg);
	if (!ret)
		ret = emit("announce", "workers_stalled", a->stalled, arg);
	if (!ret)
		ret = emit("announce", "guard_alive", a->guard_fd >= 0 && !a->stopped, arg);
	for (int i = 0; !ret && i < AN_CNT_MAX; i++)
		ret = emit("announce", an_cnt_names[i], a->cnt[i], arg);
	return ret;
}

void xlb_announce_free(struct xlb_announce *a)
{
	if (!a)
		return;
	xlb_announce_stop(a, "stopping");
	if (a->guard_fd >= 0)
		close(a->guard_fd);	/* EOF: a guard that missed 'Q' withdraws */
	/* It exits at once on 'Q' or EOF; it is not left behind a zombie. */
	for (int i = 0; a->guard_pid > 0 && i < 200; i++) {
		pid_t r = waitpid(a->guard_pid, NULL, WNOHANG);

		if (r == a->guard_pid || (r < 0 && errno != EINTR))
			break;
		usleep(10000);
	}
	an_nl_close(&a->nl);
	free(a->have);
	free(a->want);
	free(a);
}
