// SPDX-License-Identifier: GPL-2.0
/*
 * The director's own IPv4 addresses from rtnetlink. See localaddr.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include "localaddr.h"

/* Bounds the table against a flood of address events. */
#define LOCAL_PAIRS_MAX	65536

struct local_pair {
	int      ifindex;
	uint32_t addr;
};

struct pair_set {
	struct local_pair *v;
	size_t n, cap;
};

struct xlb_local_addrs {
	struct mnl_socket *ev;		/* subscribed, non-blocking */
	xlb_local_fn fn;
	void *arg;
	struct pair_set cur;
	char *buf;
};

#define LOCAL_BUF_SIZE	(64 * 1024)

static bool set_has_addr(const struct pair_set *s, uint32_t addr)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].addr == addr)
			return true;
	return false;
}

static int set_find(const struct pair_set *s, int ifindex, uint32_t addr)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].ifindex == ifindex && s->v[i].addr == addr)
			return (int)i;
	return -1;
}

static int set_add(struct pair_set *s, int ifindex, uint32_t addr)
{
	if (set_find(s, ifindex, addr) >= 0)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct local_pair *v;

		if (cap > LOCAL_PAIRS_MAX)
			return -ENOSPC;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct local_pair){ .ifindex = ifindex, .addr = addr };
	return 1;
}

static bool set_del(struct pair_set *s, int ifindex, uint32_t addr)
{
	int i = set_find(s, ifindex, addr);

	if (i < 0)
		return false;
	s->v[i] = s->v[--s->n];
	return true;
}

struct addr_msg {
	int ifindex;
	uint32_t addr;
	bool ok;
};

static int ifa_attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFA_MAX) < 0)
		return MNL_CB_OK;	/* newer kernel: skip */
	if ((type == IFA_LOCAL || type == IFA_ADDRESS) &&
	    mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return MNL_CB_ERROR;
	tb[type] = a;
	return MNL_CB_OK;
}

/* An RTM_NEWADDR / RTM_DELADDR message: its (ifindex, IPv4 address). */
static int addr_parse(const struct nlmsghdr *nlh, struct addr_msg *m)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct ifaddrmsg *ifa;

	m->ok = false;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return 0;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET)
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*ifa), ifa_attr_cb, tb) < 0)
		return 0;
	/* IFA_LOCAL is ours; IFA_ADDRESS is the peer on point-to-point
	 * links and the same as IFA_LOCAL elsewhere. */
	if (tb[IFA_LOCAL])
		m->addr = mnl_attr_get_u32(tb[IFA_LOCAL]);
	else if (tb[IFA_ADDRESS])
		m->addr = mnl_attr_get_u32(tb[IFA_ADDRESS]);
	else
		return 0;
	m->ifindex = (int)ifa->ifa_index;
	m->ok = true;
	return 0;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct pair_set *s = data;
	struct addr_msg m;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_OK;
	addr_parse(nlh, &m);
	if (m.ok && set_add(s, m.ifindex, m.addr) < 0)
		return MNL_CB_ERROR;
	return MNL_CB_OK;
}

/* Every IPv4 address of this network namespace, over a private socket. */
static int dump_all(struct pair_set *out, char *buf)
{
	struct timeval tv = { .tv_sec = 2 };
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct rtgenmsg *g;
	uint32_t seq = (uint32_t)time(NULL), portid;
	ssize_t n;
	int ret = 0;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv)) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_INET;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, LOCAL_BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, n, seq, portid, dump_cb, out);
		if (ret <= MNL_CB_STOP) {
			ret = ret < 0 ? (errno ? -errno : -EIO) : 0;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	return ret;
}

/* Reads everything again and reports the differences. */
static int resync(struct xlb_local_addrs *l)
{
	struct pair_set n = { 0 };
	int ret, changes = 0;

	ret = dump_all(&n, l->buf);
	if (ret < 0) {
		free(n.v);
		return ret;
	}
	for (size_t i = 0; i < l->cur.n; i++) {
		uint32_t a = l->cur.v[i].addr;
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = l->cur.v[j].addr == a;
		if (!dup && !set_has_addr(&n, a)) {
			l->fn(l->arg, a, false);
			changes++;
		}
	}
	for (size_t i = 0; i < n.n; i++) {
		uint32_t a = n.v[i].addr;
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = n.v[j].addr == a;
		if (!dup && !set_has_addr(&l->cur, a)) {
			l->fn(l->arg, a, true);
			changes++;
		}
	}
	free(l->cur.v);
	l->cur = n;
	return changes;
}

struct event_ctx {
	struct xlb_local_addrs *l;
	int changes;
};

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct event_ctx *c = data;
	struct xlb_local_addrs *l = c->l;
	struct addr_msg m;

	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return MNL_CB_OK;
	addr_parse(nlh, &m);
	if (!m.ok)
		return MNL_CB_OK;
	if (nlh->nlmsg_type == RTM_NEWADDR) {
		bool had = set_has_addr(&l->cur, m.addr);

		if (set_add(&l->cur, m.ifindex, m.addr) > 0 && !had) {
			l->fn(l->arg, m.addr, true);
			c->changes++;
		}
	} else if (set_del(&l->cur, m.ifindex, m.addr) &&
		   !set_has_addr(&l->cur, m.addr)) {
		l->fn(l->arg, m.addr, false);
		c->changes++;
	}
	return MNL_CB_OK;
}

int xlb_local_addrs_process(struct xlb_local_addrs *l)
{
	struct event_ctx c = { .l = l };
	bool overrun = false;

	if (!l)
		return 0;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(l->ev, l->buf, LOCAL_BUF_SIZE);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				overrun = true;
				continue;
			}
			break;	/* EAGAIN: drained */
		}
		(void)mnl_cb_run(l->buf, n, 0, 0, event_cb, &c);
	}
	if (overrun) {
		int r = resync(l);

		if (r < 0)
			return r;
		c.changes += r;
	}
	return c.changes;
}

int xlb_local_addrs_fd(const struct xlb_local_addrs *l)
{
	return mnl_socket_get_fd(l->ev);
}

int xlb_local_addrs_init(struct xlb_local_addrs **out, xlb_local_fn fn,
			 void *arg)
{
	struct xlb_local_addrs *l;
	int fd, ret;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->fn = fn;
	l->arg = arg;
	l->buf = malloc(LOCAL_BUF_SIZE);
	if (!l->buf) {
		ret = -ENOMEM;
		goto fail;
	}
	/* Subscribe before the dump: a change racing it arrives as an event
	 * afterwards, and events are applied after the dump. */
	l->ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!l->ev) {
		ret = -errno;
		goto fail;
	}
	if (mnl_socket_bind(l->ev, 1u << (RTNLGRP_IPV4_IFADDR - 1),
			    MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto fail;
	}
	fd = mnl_socket_get_fd(l->ev);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		ret = -errno;
		goto fail;
	}
	ret = resync(l);
	if (ret < 0)
		goto fail;
	*out = l;
	return 0;
fail:
	xlb_local_addrs_free(l);
	return ret;
}

void xlb_local_addrs_free(struct xlb_local_addrs *l)
{
	if (!l)
		return;
	if (l->ev)
		mnl_socket_close(l->ev);
	free(l->cur.v);
	free(l->buf);
	free(l);
}
