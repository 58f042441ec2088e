/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlbd's control server: see ctl_server.h and ctl.h.
 *
 * Bounded by construction: one receive buffer and one send buffer of
 * XLB_CTL_MSG_MAX each, a fixed client array; a datagram larger than
 * XLB_CTL_MSG_MAX is seen whole in its length (MSG_TRUNC) and refused.
 *
 * Nothing waits on a client. Its socket is non-blocking; replies a send
 * would block on are queued on the client (a few datagrams at most: the
 * replies to one request datagram), and dumps go as netlink's do, one
 * datagram per step from a cursor kept with the client, the next step
 * when the socket is writable again. While a client has queued replies, a
 * dump in progress or request messages after a dump left to handle, it is
 * polled for POLLOUT only: its next requests wait in its socket, so what
 * one client may hold is bounded, and the control thread goes on serving
 * everyone else, the next-hop events and its ticks. A client that takes
 * none of its replies for stall_ms is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "ctl.h"
#include "ctl_server.h"
#include "log.h"
#include "tables.h"
#include "sched.h"

/*
 * A connection's batch (ctl.h): change requests queued between BATCH_BEGIN
 * and BATCH_END. count numbers every request the batch received (its
 * index); while the batch is not aborted each of them is queued, so a
 * queue index is a batch index.
 */
struct batch {
	bool open;
	int error;			/* first refusal: aborted, queue dropped */
	char msg[256];			/* its sentence */
	uint32_t err_index, err_seq;
	uint32_t count;			/* requests received since BEGIN */
	size_t n, cap;			/* queued */
	struct xlb_req *reqs;
	uint32_t *seqs;			/* nlmsg_seq of each queued request */
};

/* A datagram a send would have blocked on. */
struct txd {
	struct txd *next;
	size_t len;
	char data[];
};

enum dump_kind { DUMP_SVC = 1, DUMP_DEST, DUMP_CONN, DUMP_COUNTER };

/* pfd: stop, listener, timer, aux, extra, then the clients. */
#define POLL_CLIENTS	5

#define DUMP_CONN_CHUNK	64	/* entries asked of the provider at once */
#define DUMP_STEPS	8	/* datagrams of one client per poll round */

/*
 * A dump in progress, resumed one datagram at a time. Services and a
 * service's servers are sorted in every snapshot, so a step resumes at its
 * index when the snapshot is the same, else after the last key sent:
 * nothing is sent twice, whatever changed meanwhile.
 */
struct dump {
	enum dump_kind kind;
	struct nlmsghdr req;		/* echoed by a failed dump's ack */
	struct xlb_svc_key svc;		/* DEST: whose servers */
	uint64_t gen;			/* snapshot of next */
	uint32_t next;
	bool sent;			/* last_* are meaningful */
	struct xlb_svc_key last_svc;
	union xlb_inaddr last_addr;	/* DEST: (addr, port), network order */
	uint8_t last_af;
	uint16_t last_port;
	uint64_t cursor;		/* CONN: the provider's */
	bool eof;
	unsigned int n, i;		/* conns[i..n) copied, not yet sent */
	struct xlb_conn_info conns[DUMP_CONN_CHUNK];
	struct xlb_counter_info *ctr;	/* COUNTER: all, collected at the start */
	size_t nctr, cap, ictr;
};

/* One peer: where its replies go, and what is left to do for it. */
struct sess {
	int fd;
	bool nonblock;			/* a client: queue what would block */
	bool may_change;
	uid_t uid;
	struct batch batch;
	struct dump *dump;		/* in progress */
	char *rest;			/* request messages after a dump's */
	size_t rest_len, rest_off;
	struct txd *txq, *txq_last;	/* replies not yet taken */
	uint64_t blocked_ms;		/* since when nothing was taken; 0: not */
};

struct client {
	struct sess x;
	pid_t pid;
};

struct xlb_ctl_server {
	struct xlb_tables *t;
	bool ipv6;			/* params.ipv6 */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool bound;
	int lfd;
	int tfd;			/* timerfd: ticks, estimator, reclamation */
	uint64_t ticks;			/* since the last estimate */
	int aux_fd;
	void (*on_fd)(void *arg);
	void (*on_tick)(void *arg, uint64_t now_ms);
	void *hook_arg;
	int extra_fd;
	void (*on_extra_fd)(void *arg);
	bool have_group;
	gid_t group;
	char group_name[64];
	unsigned int max_clients;
	unsigned int stall_ms;
	unsigned int batch_max;		/* requests per batch */
	unsigned int batch_total;	/* queued over all batches */
	size_t batch_queued;
	unsigned int nclients;
	struct client *clients;
	struct pollfd *pfd;		/* POLL_CLIENTS + max_clients */
	char *in;			/* XLB_CTL_MSG_MAX */
	char *out;			/* XLB_CTL_MSG_MAX */
};

/* Replies being gathered into one datagram. */
struct out {
	struct sess *x;
	char *buf;
	size_t len;
	int error;			/* sending failed: stop */
};

#define SVC_ALL (XLB_SVC_SET_SCHED | XLB_SVC_SET_PERSIST | XLB_SVC_SET_NETMASK | \
		 XLB_SVC_SET_VNODES | XLB_SVC_SET_SCHED_FLAGS | XLB_SVC_SET_OPS | \
		 XLB_SVC_SET_SORRY | XLB_SVC_SET_QUORUM)
#define DEST_ALL (XLB_DEST_SET_PORT | XLB_DEST_SET_FWD | XLB_DEST_SET_WEIGHT | \
		  XLB_DEST_SET_UTHRESH | XLB_DEST_SET_LTHRESH)

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int txq_add(struct sess *x, const void *data, size_t len)
{
	struct txd *d = malloc(sizeof(*d) + len);

	if (!d)
		return -ENOMEM;
	d->next = NULL;
	d->len = len;
	memcpy(d->data, data, len);
	if (x->txq_last)
		x->txq_last->next = d;
	else
		x->txq = d;
	x->txq_last = d;
	return 0;
}

static void txq_free(struct sess *x)
{
	while (x->txq) {
		struct txd *d = x->txq;

		x->txq = d->next;
		free(d);
	}
	x->txq_last = NULL;
}

/* One datagram: 0 when it went, 1 when the (non-blocking) socket is full,
 * or -errno (the peer is gone). */
static int sess_send(struct sess *x, const void *buf, size_t len)
{
	for (;;) {
		if (send(x->fd, buf, len, MSG_NOSIGNAL | (x->nonblock ? MSG_DONTWAIT : 0)) >= 0) {
			x->blocked_ms = 0;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (x->nonblock && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!x->blocked_ms)
				x->blocked_ms = mono_ms();
			return 1;
		}
		pr_debug("control: cannot send reply: %s", strerror(errno));
		return -errno;
	}
}

/* Send what is queued: 0 when all went, 1 when the socket is full, or
 * -errno (the peer is gone). */
static int txq_send(struct sess *x)
{
	while (x->txq) {
		struct txd *d = x->txq;
		int r = sess_send(x, d->data, d->len);

		if (r)
			return r;
		x->txq = d->next;
		if (!x->txq)
			x->txq_last = NULL;
		free(d);
	}
	return 0;
}

/* Send the gathered datagram, or queue it behind what waits already (a
 * client's socket never blocks the daemon). */
static int out_flush(struct out *o)
{
	struct sess *x = o->x;
	int r;

	if (!o->len || o->error)
		return o->error;
	if (x->nonblock && x->txq)
		o->error = txq_add(x, o->buf, o->len);
	else if ((r = sess_send(x, o->buf, o->len)) == 1)
		o->error = txq_add(x, o->buf, o->len);
	else
		o->error = r;
	if (o->error == -ENOMEM)
		pr_warn("control: out of memory queueing a reply: client dropped");
	o->len = 0;
	return o->error;
}

typedef int (*fill_fn)(struct nlmsghdr *nlh, size_t room, const void *arg);

/* Append one message if it fits: 0, -ENOBUFS when the datagram is too
 * full for it, -EMSGSIZE when it cannot fit even alone, or a fill error
 * other than -EMSGSIZE (a value no message may carry) as it is. */
static int out_put(struct out *o, uint8_t cmd, uint16_t flags, uint32_t seq,
		   fill_fn fill, const void *arg)
{
	size_t room = XLB_CTL_MSG_MAX - o->len;
	struct nlmsghdr *nlh = xlb_ctl_msg_start(o->buf + o->len, room, cmd, flags, seq);
	int ret = !nlh ? -EMSGSIZE : fill ? fill(nlh, room, arg) : 0;

	if (!ret) {
		o->len += MNL_ALIGN(nlh->nlmsg_len);
		return 0;
	}
	if (ret == -EMSGSIZE)
		return o->len ? -ENOBUFS : -EMSGSIZE;
	return ret;
}

/* Append one message; a full datagram is sent first. */
static int out_msg(struct out *o, uint8_t cmd, uint16_t flags, uint32_t seq,
		   fill_fn fill, const void *arg)
{
	for (int tries = 0; tries < 2 && !o->error; tries++) {
		int ret = out_put(o, cmd, flags, seq, fill, arg);

		if (ret != -ENOBUFS)
			return ret;
		out_flush(o);
	}
	return o->error ? o->error : -EMSGSIZE;
}

static void out_ack(struct out *o, const struct nlmsghdr *req, int error, const char *msg)
{
	for (int tries = 0; tries < 2 && !o->error; tries++) {
		struct nlmsghdr *nlh = xlb_ctl_put_ack(o->buf + o->len, XLB_CTL_MSG_MAX - o->len,
						       req, error, msg);

		if (nlh) {
			o->len += MNL_ALIGN(nlh->nlmsg_len);
			return;
		}
		out_flush(o);
	}
}

static void out_done(struct out *o, uint32_t seq)
{
	for (int tries = 0; tries < 2 && !o->error; tries++) {
		struct nlmsghdr *nlh = xlb_ctl_put_done(o->buf + o->len, XLB_CTL_MSG_MAX - o->len, seq);

		if (nlh) {
			o->len += MNL_ALIGN(nlh->nlmsg_len);
			return;
		}
		out_flush(o);
	}
}

/* ---- replies ---- */

static int fill_svc(struct nlmsghdr *nlh, size_t room, const void *arg)
{
	const struct xlb_snap_svc *svc = arg;
	struct xlb_stats st;
	struct xlb_rates rt;

	xlb_cnt_read(svc->cnt, &st, &rt);
	return xlb_ctl_put_svc_ex(nlh, room, &svc->cfg, SVC_ALL, svc->check, &st, &rt);
}

struct fill_dest_arg {
	const struct xlb_snap_dest *d;
	const struct xlb_health_info *health;	/* NULL: not checked */
};

static int fill_dest(struct nlmsghdr *nlh, size_t room, const void *arg)
{
	const struct fill_dest_arg *a = arg;
	const struct xlb_snap_dest *d = a->d;
	struct xlb_dest_info info = { .cfg = d->cfg };

	info.activeconns = atomic_load(&d->cnt->activeconns);
	info.inactconns = atomic_load(&d->cnt->inactconns);
	info.persistconns = atomic_load(&d->cnt->persistconns);
	xlb_cnt_read(d->cnt, &info.stats, &info.rates);
	return xlb_ctl_put_dest_ex(nlh, room, &d->cfg, DEST_ALL, d->check, a->health, &info);
}

static int fill_timeouts(struct nlmsghdr *nlh, size_t room, const void *arg)
{
	return xlb_ctl_put_timeouts(nlh, room, arg);
}

static int fill_info(struct nlmsghdr *nlh, size_t room, const void *arg)
{
	return xlb_ctl_put_info(nlh, room, arg);
}

static int fill_conn(struct nlmsghdr *nlh, size_t room, const void *arg)
{
	return xlb_ctl_put_conn(nlh, room, arg);
}

static int fill_counter(struct nlmsghdr *nlh, size_t room, const void *arg)
{
	return xlb_ctl_put_counter(nlh, room, arg);
}

/* Counters are collected whole when their dump starts (the provider
 * calls back), then sent a datagram at a time like any dump. */
#define DUMP_COUNTERS_MAX	(1u << 20)

static int collect_counter(const char *group, const char *name, uint64_t value, void *arg)
{
	struct dump *d = arg;
	struct xlb_counter_info *c;
	char probe[256];
	struct nlmsghdr *nlh;
	int ret;

	if (d->nctr == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 128;

		if (d->nctr >= DUMP_COUNTERS_MAX)
			return -E2BIG;
		c = realloc(d->ctr, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		d->ctr = c;
		d->cap = cap;
	}
	c = &d->ctr[d->nctr];
	memset(c, 0, sizeof(*c));
	c->value = value;
	/* Too long a name fails the dump rather than being cut: two cut
	 * names could read as one counter. Checked by the builder now, so
	 * that a dump that fails fails before anything is sent. */
	if (strlen(group) >= sizeof(c->group) || strlen(name) >= sizeof(c->name)) {
		ret = -EINVAL;
	} else {
		memcpy(c->group, group, strlen(group) + 1);
		memcpy(c->name, name, strlen(name) + 1);
		nlh = xlb_ctl_msg_start(probe, sizeof(probe), XLB_CMD_NEW_COUNTER, NLM_F_MULTI, 0);
		ret = nlh ? xlb_ctl_put_counter(nlh, sizeof(probe), c) : -EMSGSIZE;
	}
	if (ret == -EINVAL)
		pr_warn("control: counter \"%s\" \"%s\" cannot be sent (1..%d printable characters without spaces): dump failed",
			group, name, XLB_COUNTER_NAME_MAX - 1);
	if (!ret)
		d->nctr++;
	return ret;
}

static int fill_batch(struct nlmsghdr *nlh, size_t room, const void *arg)
{
	return xlb_ctl_put_batch(nlh, room, arg);
}

/* ---- batches ---- */

static void batch_drop_queue(struct xlb_ctl_server *s, struct batch *b)
{
	s->batch_queued -= b->n;
	free(b->reqs);
	free(b->seqs);
	b->reqs = NULL;
	b->seqs = NULL;
	b->n = b->cap = 0;
}

/* Forget the batch (END, a closed connection, the end of a handle call). */
static void batch_close(struct xlb_ctl_server *s, struct batch *b)
{
	batch_drop_queue(s, b);
	memset(b, 0, sizeof(*b));
}

/* Refusal of request index (seq) while the batch is open: nothing of the
 * batch may be applied any more, so its queue goes at once; END will
 * answer this first error. */
static void batch_abort(struct xlb_ctl_server *s, struct batch *b, uint32_t index,
			uint32_t seq, int error, const char *msg)
{
	if (!b || !b->open || b->error)
		return;
	b->error = error;
	b->err_index = index;
	b->err_seq = seq;
	snprintf(b->msg, sizeof(b->msg), "%s", msg && *msg ? msg : strerror(-error));
	batch_drop_queue(s, b);
}

/* The table operation a change message asks for, as do_change() does it,
 * but with nothing merged against the current tables: in a batch the
 * object may exist only in the batch. */
static int batch_req(const struct xlb_ctl_msg *m, struct xlb_req *r, char *err, size_t errlen)
{
	const uint32_t plain = XLB_SVC_SET_SCHED | XLB_SVC_SET_NETMASK | XLB_SVC_SET_VNODES |
		XLB_SVC_SET_SORRY | XLB_SVC_SET_QUORUM;
	bool flags, tmo;

	memset(r, 0, sizeof(*r));
	r->has_svc = m->has & XLB_CTL_HAS_SVC;
	r->svc = m->svc.cfg;
	r->dest = m->dest.cfg;
	/* The check options go with the object the command is about. */
	if (m->cmd == XLB_CMD_NEW_SERVICE || m->cmd == XLB_CMD_SET_SERVICE)
		r->check = m->svc.check;
	else if (m->cmd == XLB_CMD_NEW_DEST || m->cmd == XLB_CMD_SET_DEST)
		r->check = m->dest.check;
	switch (m->cmd) {
	case XLB_CMD_NEW_SERVICE:
		r->op = XLB_REQ_ADD_SVC;
		r->svc_set = m->svc_set & plain;
		if (m->svc_set & (XLB_SVC_SET_PERSIST | XLB_CTL_SVC_SET_FLAGS))
			r->svc_set |= XLB_SVC_SET_PERSIST;
		if (m->svc_set & XLB_CTL_SVC_SET_FLAGS)
			r->svc_set |= XLB_SVC_SET_SCHED_FLAGS | XLB_SVC_SET_OPS;
		return 0;
	case XLB_CMD_SET_SERVICE:
		r->op = XLB_REQ_EDIT_SVC;
		r->svc_set = m->svc_set & plain;
		flags = (m->svc_set & XLB_CTL_SVC_SET_FLAGS) &&
			(m->svc_flags_mask & XLB_SVC_F_PERSISTENT);
		tmo = m->svc_set & XLB_SVC_SET_PERSIST;
		if ((m->svc_set & XLB_CTL_SVC_SET_FLAGS) &&
		    (m->svc_flags_mask & XLB_SVC_F_SCHED_ALL))
			r->svc_set |= XLB_SVC_SET_SCHED_FLAGS;
		if ((m->svc_set & XLB_CTL_SVC_SET_FLAGS) &&
		    (m->svc_flags_mask & XLB_SVC_F_ONEPACKET))
			r->svc_set |= XLB_SVC_SET_OPS;
		if (flags && tmo) {
			r->svc_set |= XLB_SVC_SET_PERSIST;
		} else if (flags || tmo) {
			snprintf(err, errlen, "in a batch, a service edit gives persistence whole (flags and timeout) or not at all");
			return -EOPNOTSUPP;
		}
		return 0;
	case XLB_CMD_DEL_SERVICE:
		r->op = XLB_REQ_DEL_SVC;
		return 0;
	case XLB_CMD_NEW_DEST:
		/* The tables' defaults for what was not given (an ADD takes
		 * every field of an xlb_req). */
		r->op = XLB_REQ_ADD_DEST;
		if (!(m->dest_set & XLB_DEST_SET_PORT))
			r->dest.port = 0;	/* the service's */
		if (!(m->dest_set & XLB_DEST_SET_FWD))
			r->dest.fwd = XLB_FWD_DR;
		if (!(m->dest_set & XLB_DEST_SET_WEIGHT))
			r->dest.weight = 1;
		r->dest_set = DEST_ALL;
		return 0;
	case XLB_CMD_SET_DEST:
		r->op = XLB_REQ_EDIT_DEST;
		if (!(m->dest_set & XLB_DEST_SET_PORT))
			r->dest.port = 0;
		r->dest_set = m->dest_set & ~XLB_DEST_SET_PORT;
		return 0;
	case XLB_CMD_DEL_DEST:
		r->op = XLB_REQ_DEL_DEST;
		if (!(m->dest_set & XLB_DEST_SET_PORT))
			r->dest.port = 0;
		return 0;
	case XLB_CMD_SET_CONFIG:
		r->op = XLB_REQ_SET_TIMEOUT;
		r->timeouts = m->timeouts;	/* absent ones are 0: unchanged */
		return 0;
	case XLB_CMD_FLUSH:
		r->op = XLB_REQ_CLEAR;
		return 0;
	case XLB_CMD_ZERO:
		snprintf(err, errlen, "zeroing counters cannot be part of a batch (counters are not configuration)");
		return -EOPNOTSUPP;
	default:
		snprintf(err, errlen, "command %u cannot be part of a batch", m->cmd);
		return -EOPNOTSUPP;
	}
}

static int batch_grow(struct batch *b, size_t max)
{
	size_t cap = b->cap ? b->cap * 2 : 64;
	struct xlb_req *r;
	uint32_t *q;

	if (cap > max)
		cap = max;
	r = realloc(b->reqs, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	b->reqs = r;
	q = realloc(b->seqs, cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	b->seqs = q;
	b->cap = cap;
	return 0;
}

static void batch_begin(struct xlb_ctl_server *s, struct out *o, const struct nlmsghdr *req,
			struct batch *b)
{
	const char *msg = "a batch is already open on this connection: it is discarded";

	if (b->open) {
		uint32_t index = b->count++;

		batch_abort(s, b, index, req->nlmsg_seq, -EBUSY, msg);
		out_ack(o, req, -EBUSY, msg);
		return;
	}
	memset(b, 0, sizeof(*b));
	b->open = true;
	out_ack(o, req, 0, NULL);
}

/* A change request while the batch is open: checked and queued (ack 0). */
static void batch_queue(struct xlb_ctl_server *s, struct out *o, const struct nlmsghdr *req,
			const struct xlb_ctl_msg *m, struct batch *b)
{
	uint32_t index = b->count++;
	char err[sizeof(b->msg) + 64] = "";
	struct xlb_req r;
	int ret;

	if (b->error) {
		snprintf(err, sizeof(err), "batch aborted by its request %u: %s",
			 b->err_index, b->msg);
		out_ack(o, req, -ECANCELED, err);
		return;
	}
	ret = batch_req(m, &r, err, sizeof(err));
	if (!ret && b->n >= s->batch_max) {
		snprintf(err, sizeof(err), "batch of more than %u requests is too large: discarded",
			 s->batch_max);
		ret = -E2BIG;
	}
	if (!ret && s->batch_queued >= s->batch_total) {
		snprintf(err, sizeof(err), "xlbd already holds %zu requests of open batches, its limit: batch discarded",
			 s->batch_queued);
		ret = -ENOSPC;
	}
	if (!ret && b->n == b->cap && batch_grow(b, s->batch_max)) {
		snprintf(err, sizeof(err), "out of memory queueing the batch: discarded");
		ret = -ENOMEM;
	}
	if (ret) {
		pr_debug("control: batch request %u refused: %s", index, err);
		batch_abort(s, b, index, req->nlmsg_seq, ret, err);
		out_ack(o, req, ret, err);
		return;
	}
	b->reqs[b->n] = r;
	b->seqs[b->n] = req->nlmsg_seq;
	b->n++;
	s->batch_queued++;
	out_ack(o, req, 0, NULL);
}

/* Apply the batch as one snapshot, or tell which request stopped it. */
static void batch_end(struct xlb_ctl_server *s, struct out *o, const struct nlmsghdr *req,
		      struct batch *b, uid_t uid)
{
	struct xlb_ctl_batch_info info = { 0 };
	char err[256] = "";
	size_t failed = SIZE_MAX;
	int ret = 0;

	if (!b->open) {
		out_ack(o, req, -EINVAL,
			"no batch is open on this connection (batch end without a begin)");
		return;
	}
	info.count = b->count;
	if (b->error) {
		ret = b->error;
		snprintf(err, sizeof(err), "%s", b->msg);
		info.failed = true;
		info.index = b->err_index;
		info.seq = b->err_seq;
	} else if (b->n) {
		ret = xlb_tables_apply_reqs(s->t, b->reqs, b->n, &failed, err, sizeof(err));
		if (ret && failed < b->n) {
			info.failed = true;
			info.index = (uint32_t)failed;
			info.seq = b->seqs[failed];
		}
		if (ret && !err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
	}
	if (ret)
		pr_debug("control: uid %u: batch of %u refused at request %u: %s",
			 (unsigned int)uid, info.count, info.index, err);
	else if (b->n)
		pr_info("uid %u: batch of %zu requests applied as one change",
			(unsigned int)uid, b->n);
	batch_close(s, b);
	if (!out_msg(o, XLB_CMD_BATCH_END, 0, req->nlmsg_seq, fill_batch, &info))
		out_ack(o, req, ret, err);
	else
		out_ack(o, req, ret ? ret : -EMSGSIZE, err);
}

/* ---- dispatch ---- */

static void log_change(const struct xlb_ctl_msg *m, uid_t uid)
{
	static const char *const name[] = {
		[XLB_CMD_NEW_SERVICE] = "add service", [XLB_CMD_SET_SERVICE] = "edit service",
		[XLB_CMD_DEL_SERVICE] = "delete service", [XLB_CMD_NEW_DEST] = "add server",
		[XLB_CMD_SET_DEST] = "edit server", [XLB_CMD_DEL_DEST] = "delete server",
		[XLB_CMD_SET_CONFIG] = "set timeouts", [XLB_CMD_ZERO] = "zero counters",
		[XLB_CMD_FLUSH] = "clear all",
	};
	char ks[XLB_CTL_SVC_STR] = "", ds[80] = "";

	if (m->has & XLB_CTL_HAS_SVC)
		xlb_ctl_svc_str(&m->svc.cfg.key, ks, sizeof(ks));
	if (m->has & XLB_CTL_HAS_DEST) {
		char a[INET6_ADDRSTRLEN];
		int af = xlb_af(m->dest.cfg.af);

		inet_ntop(af, &m->dest.cfg.addr, a, sizeof(a));
		snprintf(ds, sizeof(ds), af == AF_INET6 ? " -> [%s]:%u" : " -> %s:%u", a,
			 ntohs(m->dest.cfg.port));
	}
	pr_info("uid %u: %s %s%s", (unsigned int)uid,
		m->cmd < sizeof(name) / sizeof(name[0]) && name[m->cmd] ? name[m->cmd] : "?",
		ks, ds);
}

static int do_change(struct xlb_ctl_server *s, const struct xlb_ctl_msg *m,
		     char *err, size_t errlen)
{
	const struct xlb_svc_key *key = &m->svc.cfg.key;
	struct xlb_tables *t = s->t;
	struct xlb_dest_cfg d = m->dest.cfg;
	struct xlb_svc_cfg c;
	uint32_t set;

	switch (m->cmd) {
	case XLB_CMD_NEW_SERVICE:
		set = m->svc_set & (XLB_SVC_SET_SCHED | XLB_SVC_SET_NETMASK | XLB_SVC_SET_VNODES |
				    XLB_SVC_SET_SORRY | XLB_SVC_SET_QUORUM);
		if (m->svc_set & (XLB_SVC_SET_PERSIST | XLB_CTL_SVC_SET_FLAGS))
			set |= XLB_SVC_SET_PERSIST;
		if (m->svc_set & XLB_CTL_SVC_SET_FLAGS)
			set |= XLB_SVC_SET_SCHED_FLAGS | XLB_SVC_SET_OPS;
		return xlb_tables_add_svc_chk(t, &m->svc.cfg, set, &m->svc.check, err, errlen);
	case XLB_CMD_SET_SERVICE: {
		const struct xlb_snap_svc *cur = xlb_snap_find_key(xlb_tables_current(t), key);

		if (!cur)	/* the tables say "no such service" */
			return xlb_tables_edit_svc_chk(t, &m->svc.cfg, 0, NULL, err, errlen);
		/* Merge attribute by attribute (FLAGS is a {flags, mask} pair). */
		c = cur->cfg;
		if (m->svc_set & XLB_SVC_SET_SCHED)
			memcpy(c.sched, m->svc.cfg.sched, sizeof(c.sched));
		if (m->svc_set & XLB_CTL_SVC_SET_FLAGS)
			c.flags = (c.flags & ~m->svc_flags_mask) | m->svc.cfg.flags;
		if (m->svc_set & XLB_SVC_SET_PERSIST)
			c.timeout = m->svc.cfg.timeout;
		if (m->svc_set & XLB_SVC_SET_NETMASK)
			c.netmask = m->svc.cfg.netmask;
		if (m->svc_set & XLB_SVC_SET_VNODES)
			c.vnodes = m->svc.cfg.vnodes;
		if (m->svc_set & XLB_SVC_SET_SORRY) {
			c.sorry_addr = m->svc.cfg.sorry_addr;
			c.sorry_port = m->svc.cfg.sorry_port;
		}
		if (m->svc_set & XLB_SVC_SET_QUORUM)
			c.quorum = m->svc.cfg.quorum;
		return xlb_tables_edit_svc_chk(t, &c, SVC_ALL, &m->svc.check, err, errlen);
	}
	case XLB_CMD_DEL_SERVICE:
		return xlb_tables_del_svc(t, key, err, errlen);
	case XLB_CMD_NEW_DEST:
		return xlb_tables_add_dest_chk(t, key, &d, m->dest_set, &m->dest.check, err, errlen);
	case XLB_CMD_SET_DEST:
		if (!(m->dest_set & XLB_DEST_SET_PORT))
			d.port = 0;	/* the service's */
		return xlb_tables_edit_dest_chk(t, key, &d, m->dest_set & ~XLB_DEST_SET_PORT,
						&m->dest.check, err, errlen);
	case XLB_CMD_DEL_DEST:
		return xlb_tables_del_dest(t, key, &d.addr,
					   m->dest_set & XLB_DEST_SET_PORT ? d.port : 0,
					   err, errlen);
	case XLB_CMD_SET_CONFIG:
		return xlb_tables_set_timeouts(t, &m->timeouts, err, errlen);
	case XLB_CMD_ZERO:
		return xlb_tables_zero(t, m->has & XLB_CTL_HAS_SVC ? key : NULL, err, errlen);
	case XLB_CMD_FLUSH:
		return xlb_tables_flush(t, err, errlen);
	default:
		snprintf(err, errlen, "unknown command %u", m->cmd);
		return -EOPNOTSUPP;
	}
}

/* ---- dumps ---- */

/* The tables' order (tables.c): family, then the address as a number. */
static int addr_cmp(uint8_t afa, const union xlb_inaddr *a, uint8_t afb,
		    const union xlb_inaddr *b)
{
	int fa = xlb_af(afa), fb = xlb_af(afb);

	if (fa != fb)
		return fa < fb ? -1 : 1;
	return memcmp(a, b, xlb_inaddr_len(fa));
}

static int svc_key_cmp(const struct xlb_svc_key *a, const struct xlb_svc_key *b)
{
	int c;

	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	c = addr_cmp(a->af, &a->addr, b->af, &b->addr);
	if (c)
		return c;
	if (a->port != b->port)
		return ntohs(a->port) < ntohs(b->port) ? -1 : 1;
	return 0;
}

static int dest_cmp(const struct xlb_dest_cfg *d, uint8_t af, const union xlb_inaddr *addr,
		    uint16_t port)
{
	int c = addr_cmp(d->af, &d->addr, af, addr);

	if (c)
		return c;
	if (d->port != port)
		return ntohs(d->port) < ntohs(port) ? -1 : 1;
	return 0;
}

static void dump_free(struct sess *x)
{
	if (!x->dump)
		return;
	free(x->dump->ctr);
	free(x->dump);
	x->dump = NULL;
}

/* Where a services dump resumes in snapshot snap. */
static uint32_t svc_resume(const struct dump *d, const struct xlb_snap *snap)
{
	uint32_t i = 0;

	if (snap->gen == d->gen)
		return d->next;
	if (d->sent)
		while (i < snap->nsvcs && svc_key_cmp(&snap->svcs[i].cfg.key, &d->last_svc) <= 0)
			i++;
	return i;
}

/* Each step fills one datagram (o) from where the last one stopped; *end
 * when nothing is left. 0, or -errno to fail the dump. */
static int step_svcs(struct xlb_ctl_server *s, struct dump *d, struct out *o, bool *end)
{
	const struct xlb_snap *snap = xlb_tables_current(s->t);
	uint32_t i = svc_resume(d, snap);
	int ret = 0;

	for (; i < snap->nsvcs; i++) {
		ret = out_put(o, XLB_CMD_NEW_SERVICE, NLM_F_MULTI, d->req.nlmsg_seq, fill_svc,
			      &snap->svcs[i]);
		if (ret)
			break;
		d->last_svc = snap->svcs[i].cfg.key;
		d->sent = true;
	}
	d->gen = snap->gen;
	d->next = i;
	*end = i == snap->nsvcs;
	return ret == -ENOBUFS ? 0 : ret;
}

static int step_dests(struct xlb_ctl_server *s, struct dump *d, struct out *o, bool *end)
{
	const struct xlb_snap *snap = xlb_tables_current(s->t);
	const struct xlb_snap_svc *svc = xlb_snap_find_key(snap, &d->svc);
	uint32_t i = 0;
	int ret = 0;

	if (!svc) {		/* deleted meanwhile: it had what was sent */
		*end = true;
		return 0;
	}
	if (snap->gen == d->gen)
		i = d->next;
	else if (d->sent)
		while (i < svc->ndests &&
		       dest_cmp(&svc->dests[i].cfg, d->last_af, &d->last_addr, d->last_port) <= 0)
			i++;
	for (; i < svc->ndests; i++) {
		const struct xlb_tables_provider *prov = xlb_tables_provider(s->t);
		struct fill_dest_arg fa = { .d = &svc->dests[i] };
		struct xlb_health_info hi;

		/* The sorry server is the service's, not one of its servers. */
		if (svc->dests[i].sorry)
			continue;
		if (prov->health_info &&
		    !prov->health_info(&svc->cfg.key, &svc->dests[i].cfg.addr,
				       svc->dests[i].cfg.port, &hi, prov->health_arg)) {
			/* The tables' word is the one the scheduler uses. */
			hi.state = svc->dests[i].down ? XLB_HEALTH_DOWN : XLB_HEALTH_UP;
			fa.health = &hi;
		}
		ret = out_put(o, XLB_CMD_NEW_DEST, NLM_F_MULTI, d->req.nlmsg_seq, fill_dest,
			      &fa);
		if (ret)
			break;
		d->last_addr = svc->dests[i].cfg.addr;
		d->last_af = svc->dests[i].cfg.af;
		d->last_port = svc->dests[i].cfg.port;
		d->sent = true;
	}
	d->gen = snap->gen;
	d->next = i;
	*end = i == svc->ndests;
	return ret == -ENOBUFS ? 0 : ret;
}

static int step_conns(struct xlb_ctl_server *s, struct dump *d, struct out *o, bool *end)
{
	const struct xlb_tables_provider *prov = xlb_tables_provider(s->t);
	int ret;

	for (;;) {
		if (d->i == d->n) {
			if (d->eof || !prov->copy_conns) {
				*end = true;
				return 0;
			}
			/* The table's locks are taken and released in here:
			 * none is held while the datagram waits. */
			ret = prov->copy_conns(&d->cursor, d->conns, DUMP_CONN_CHUNK, prov->arg);
			if (ret < 0)
				return ret;
			d->n = (unsigned int)ret;
			d->i = 0;
			d->eof = ret == 0;
			continue;
		}
		ret = out_put(o, XLB_CMD_NEW_CONN, NLM_F_MULTI, d->req.nlmsg_seq, fill_conn,
			      &d->conns[d->i]);
		if (ret)
			return ret == -ENOBUFS ? 0 : ret;
		d->i++;
	}
}

static int step_counters(struct dump *d, struct out *o, bool *end)
{
	int ret = 0;

	for (; d->ictr < d->nctr; d->ictr++) {
		ret = out_put(o, XLB_CMD_NEW_COUNTER, NLM_F_MULTI, d->req.nlmsg_seq,
			      fill_counter, &d->ctr[d->ictr]);
		if (ret)
			break;
	}
	*end = d->ictr == d->nctr;
	return ret == -ENOBUFS ? 0 : ret;
}

/* One datagram of the dump, sent or queued; a finished dump ends with
 * DONE (or, failed, with an error instead) and is freed. 0 or -errno
 * when the peer is lost. */
static int dump_step(struct xlb_ctl_server *s, struct sess *x)
{
	struct out o = { .x = x, .buf = s->out };
	struct dump *d = x->dump;
	bool end = false;
	int ret;

	switch (d->kind) {
	case DUMP_SVC:
		ret = step_svcs(s, d, &o, &end);
		break;
	case DUMP_DEST:
		ret = step_dests(s, d, &o, &end);
		break;
	case DUMP_CONN:
		ret = step_conns(s, d, &o, &end);
		break;
	default:
		ret = step_counters(d, &o, &end);
		break;
	}
	if (ret) {
		char err[256];

		snprintf(err, sizeof(err), "dump failed: %s", strerror(-ret));
		out_ack(&o, &d->req, ret, err);
		end = true;
	} else if (end) {
		out_done(&o, d->req.nlmsg_seq);
	}
	if (end)
		dump_free(x);
	return out_flush(&o);
}

/* Set a dump up on the session: its first step is sess_run()'s. */
static void dump_start(struct xlb_ctl_server *s, struct out *o, const struct nlmsghdr *req,
		       const struct xlb_ctl_msg *m, enum dump_kind kind)
{
	const struct xlb_tables_provider *prov = xlb_tables_provider(s->t);
	struct dump *d = calloc(1, sizeof(*d));
	char err[256];
	int ret = 0;

	if (!d) {
		out_ack(o, req, -ENOMEM, "out of memory starting the dump");
		return;
	}
	d->kind = kind;
	d->req = *req;
	d->svc = m->svc.cfg.key;
	if (kind == DUMP_COUNTER && prov->dump_counters)
		ret = prov->dump_counters(collect_counter, d, prov->arg);
	if ((kind == DUMP_SVC || kind == DUMP_DEST) && prov->sync_counters)
		prov->sync_counters(prov->arg);
	if (ret) {
		snprintf(err, sizeof(err), "dump failed: %s", strerror(-ret));
		out_ack(o, req, ret, err);
		free(d->ctr);
		free(d);
		return;
	}
	o->x->dump = d;
}

/* A read: its replies (a dump ends with DONE, a get with its ack). */
static void do_read(struct xlb_ctl_server *s, struct out *o, const struct nlmsghdr *req,
		    const struct xlb_ctl_msg *m)
{
	const struct xlb_snap *snap = xlb_tables_current(s->t);
	const struct xlb_tables_provider *prov = xlb_tables_provider(s->t);
	char err[256], ks[XLB_CTL_SVC_STR];
	const struct xlb_snap_svc *svc;
	int ret;

	switch (m->cmd) {
	case XLB_CMD_GET_SERVICE:
		if (m->nlflags & NLM_F_DUMP) {
			dump_start(s, o, req, m, DUMP_SVC);
			return;
		}
		svc = xlb_snap_find_key(snap, &m->svc.cfg.key);
		if (!svc) {
			snprintf(err, sizeof(err), "no such service %s",
				 xlb_ctl_svc_str(&m->svc.cfg.key, ks, sizeof(ks)));
			out_ack(o, req, -ESRCH, err);
			return;
		}
		ret = out_msg(o, XLB_CMD_NEW_SERVICE, 0, m->seq, fill_svc, svc);
		out_ack(o, req, ret, NULL);
		return;
	case XLB_CMD_GET_DEST:
		svc = xlb_snap_find_key(snap, &m->svc.cfg.key);
		if (!svc) {
			snprintf(err, sizeof(err), "no such service %s",
				 xlb_ctl_svc_str(&m->svc.cfg.key, ks, sizeof(ks)));
			out_ack(o, req, -ESRCH, err);
			return;
		}
		dump_start(s, o, req, m, DUMP_DEST);
		return;
	case XLB_CMD_GET_CONN:
		dump_start(s, o, req, m, DUMP_CONN);
		return;
	case XLB_CMD_GET_COUNTERS:
		dump_start(s, o, req, m, DUMP_COUNTER);
		return;
	case XLB_CMD_GET_CONFIG:
		ret = out_msg(o, XLB_CMD_SET_CONFIG, 0, m->seq, fill_timeouts, &snap->timeouts);
		out_ack(o, req, ret, NULL);
		return;
	case XLB_CMD_GET_INFO: {
		struct xlb_info info = {
			.version = XLB_CTL_PROTO_VERSION,
			.conn_tab_size = prov->conn_tab_size ? prov->conn_tab_size(prov->arg) : 0,
		};

		ret = out_msg(o, XLB_CMD_SET_INFO, 0, m->seq, fill_info, &info);
		out_ack(o, req, ret, NULL);
		return;
	}
	default:
		out_ack(o, req, -EOPNOTSUPP, "unknown command");
		return;
	}
}

/* A message refused before dispatch: it may have been meant as part of
 * the open batch, which then cannot be applied whole. */
static void refuse(struct xlb_ctl_server *s, struct out *o, const struct nlmsghdr *nlh,
		   struct batch *b, int error, const char *err)
{
	if (b && b->open) {
		uint32_t index = b->count++;

		batch_abort(s, b, index, nlh ? nlh->nlmsg_seq : 0, error, err);
	}
	out_ack(o, nlh, error, err);
}

/* Until the datapath forwards IPv6 (params.ipv6), a change naming an IPv6
 * service, real server or sorry server is refused whole, as before IPv6
 * reached the control protocol. */
static int refuse_ipv6(const struct xlb_ctl_msg *m, char *err, size_t errlen)
{
	if (((m->has & XLB_CTL_HAS_SVC) && xlb_af(m->svc.cfg.key.af) == AF_INET6) ||
	    ((m->has & XLB_CTL_HAS_DEST) && xlb_af(m->dest.cfg.af) == AF_INET6)) {
		snprintf(err, errlen, "IPv6 is not supported yet: xlbd does not forward IPv6 services (give IPv4 services and servers)");
		return -EAFNOSUPPORT;
	}
	return 0;
}

static void handle_msg(struct xlb_ctl_server *s, struct out *o, const struct nlmsghdr *nlh,
		       bool may_change, uid_t uid, struct batch *b)
{
	struct xlb_ctl_msg m;
	char err[256] = "";
	int ret;

	if (nlh->nlmsg_type < NLMSG_MIN_TYPE) {
		snprintf(err, sizeof(err), "unexpected control message type %u", nlh->nlmsg_type);
		refuse(s, o, nlh, b, -EINVAL, err);
		return;
	}
	ret = xlb_ctl_parse(nlh, &m, err, sizeof(err));
	if (!ret)
		ret = xlb_ctl_check_request(&m, err, sizeof(err));
	if (!ret && !s->ipv6 && xlb_ctl_cmd_changes(m.cmd))
		ret = refuse_ipv6(&m, err, sizeof(err));
	if (ret) {
		pr_debug("control: refused message: %s", err);
		/* A read that is refused leaves the batch alone. */
		if (m.cmd && !xlb_ctl_cmd_changes(m.cmd))
			out_ack(o, nlh, ret, err);
		else
			refuse(s, o, nlh, b, ret, err);
		return;
	}
	if (!xlb_ctl_cmd_changes(m.cmd)) {
		do_read(s, o, nlh, &m);	/* in a batch too: the published tables */
		return;
	}
	if (!may_change) {
		if (s->have_group)
			snprintf(err, sizeof(err),
				 "permission denied: only root or members of group %s may change xlbd's tables",
				 s->group_name);
		else
			snprintf(err, sizeof(err),
				 "permission denied: only root may change xlbd's tables");
		refuse(s, o, nlh, b, -EPERM, err);
		return;
	}
	if (m.cmd == XLB_CMD_BATCH_BEGIN) {
		batch_begin(s, o, nlh, b);
		return;
	}
	if (m.cmd == XLB_CMD_BATCH_END) {
		batch_end(s, o, nlh, b, uid);
		return;
	}
	if (b->open) {
		batch_queue(s, o, nlh, &m, b);
		return;
	}
	ret = do_change(s, &m, err, sizeof(err));
	if (ret) {
		pr_debug("control: uid %u: refused: %s", (unsigned int)uid, err);
		if (!err[0])
			snprintf(err, sizeof(err), "%s", strerror(-ret));
	} else {
		log_change(&m, uid);
		err[0] = '\0';
	}
	out_ack(o, nlh, ret, err);
}

/* Handle the messages of buf (have bytes) in turn until one starts a dump
 * (the rest must wait for it); returns how many bytes were handled. */
static size_t handle_msgs(struct xlb_ctl_server *s, struct out *o, const char *buf, size_t have)
{
	struct sess *x = o->x;
	size_t off = 0;
	char err[256];

	while (off < have && !o->error && !x->dump) {
		const struct nlmsghdr *nlh = (const void *)(buf + off);
		int l = xlb_ctl_msg_check(nlh, have - off, err, sizeof(err));

		if (l < 0) {
			/* The rest cannot be framed: one error, and drop it. */
			refuse(s, o, have - off >= sizeof(*nlh) ? nlh : NULL, &x->batch, l, err);
			return have;
		}
		handle_msg(s, o, nlh, x->may_change, x->uid, &x->batch);
		off += MNL_ALIGN(l);
	}
	return off < have ? off : have;
}

static bool sess_busy(const struct sess *x)
{
	return x->txq || x->dump || x->rest;
}

/*
 * Move the session on: send what is queued, then the dump's next
 * datagrams (at most max_steps of them, 0: no limit), then the request
 * messages that waited for the dump. 0 when nothing is left to do, 1 when
 * it waits for the socket to take more (or for its next turn), -errno when
 * the peer is lost.
 */
static int sess_run(struct xlb_ctl_server *s, struct sess *x, unsigned int max_steps)
{
	unsigned int steps = 0;

	for (;;) {
		struct out o = { .x = x, .buf = s->out };
		size_t off;
		int ret = txq_send(x);

		if (ret)
			return ret;
		if (x->dump) {
			if (max_steps && steps++ == max_steps)
				return 1;
			ret = dump_step(s, x);
			if (ret)
				return ret;
			continue;
		}
		if (!x->rest)
			return 0;
		off = handle_msgs(s, &o, x->rest + x->rest_off, x->rest_len - x->rest_off);
		x->rest_off += off;
		if (x->rest_off >= x->rest_len) {
			free(x->rest);
			x->rest = NULL;
			x->rest_len = x->rest_off = 0;
		}
		if (out_flush(&o))
			return o.error;
	}
}

/* Forget everything of the session but its socket. */
static void sess_clear(struct xlb_ctl_server *s, struct sess *x)
{
	if (x->batch.open)
		pr_debug("control: client closed with a batch open: discarded");
	batch_close(s, &x->batch);	/* never applied */
	dump_free(x);
	free(x->rest);
	x->rest = NULL;
	x->rest_len = x->rest_off = 0;
	txq_free(x);
}

/* A request datagram of len bytes (buf holds at most XLB_CTL_MSG_MAX). >= 0
 * while the session lives on (see sess_run), -errno when it is lost. */
static int handle(struct xlb_ctl_server *s, struct sess *x, const void *buf, size_t len)
{
	struct out o = { .x = x, .buf = s->out };
	size_t have = len < XLB_CTL_MSG_MAX ? len : XLB_CTL_MSG_MAX;
	size_t off;
	char err[256];

	if (len > XLB_CTL_MSG_MAX) {
		snprintf(err, sizeof(err), "message of %zu bytes exceeds %u", len,
			 XLB_CTL_MSG_MAX);
		refuse(s, &o, len >= sizeof(struct nlmsghdr) ? buf : NULL, &x->batch,
		       -EMSGSIZE, err);
		return out_flush(&o);
	}
	/* Several messages may share a datagram (a batch): each is answered. */
	off = handle_msgs(s, &o, buf, have);
	if (off < have && !o.error) {
		/* A dump started: what follows it waits for its end. */
		x->rest = malloc(have - off);
		if (!x->rest) {
			pr_warn("control: out of memory holding a request: client dropped");
			return -ENOMEM;
		}
		memcpy(x->rest, (const char *)buf + off, have - off);
		x->rest_len = have - off;
		x->rest_off = 0;
	}
	if (out_flush(&o))
		return o.error;
	return sess_run(s, x, x->nonblock ? DUMP_STEPS : 0);
}

int xlb_ctl_server_handle(struct xlb_ctl_server *s, int fd, const void *buf,
			  size_t len, bool may_change)
{
	struct sess x = { .fd = fd, .may_change = may_change,
			  .uid = may_change ? 0 : (uid_t)-1 };
	int ret = handle(s, &x, buf, len);	/* blocking: runs to the end */

	sess_clear(s, &x);	/* fd is no connection of ours: nothing outlives the call */
	return ret < 0 ? ret : 0;
}

/* ---- permissions ---- */

static int proc_groups(pid_t pid, gid_t group)
{
	char path[64], line[4096];
	FILE *f;
	int found = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		found = 0;
		for (p = line + 7;; p = end) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if ((gid_t)g == group)
				found = 1;
		}
		break;
	}
	fclose(f);
	return found;
}

static bool db_groups(uid_t uid, gid_t gid, gid_t group)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = 256;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) || !res)
		return false;
	if (getgrouplist(pw.pw_name, gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == group)
			return true;
	return false;
}

bool xlb_ctl_peer_may_change(uid_t uid, gid_t gid, pid_t pid, bool have_group, gid_t group)
{
	int r;

	if (uid == 0)
		return true;
	if (!have_group)
		return false;
	if (gid == group)
		return true;
	/* The peer process's own supplementary groups: what it really holds. */
	r = pid > 0 ? proc_groups(pid, group) : -1;
	if (r >= 0)
		return r == 1;
	return db_groups(uid, gid, group);
}

/* ---- socket ---- */

static int mkdir_p(const char *dir)
{
	char p[sizeof(((struct sockaddr_un *)0)->sun_path)];

	snprintf(p, sizeof(p), "%s", dir);
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*c = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A socket file already at path: another daemon's (refuse) or stale. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sun.sun_path, path);
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (!ret) {
		snprintf(err, errlen, "another xlbd is answering at %s", path);
		return -EADDRINUSE;
	}
	pr_info("removing stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT) {
		ret = -errno;
		snprintf(err, errlen, "cannot remove stale socket %s: %s", path, strerror(errno));
		return ret;
	}
	return 0;
}

static int open_listener(struct xlb_ctl_server *s, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[sizeof(sun.sun_path)], *slash;
	mode_t old;
	int ret;

	snprintf(dir, sizeof(dir), "%s", s->path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		ret = mkdir_p(dir);
		if (ret) {
			snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(-ret));
			return ret;
		}
	}
	ret = clear_stale(s->path, err, errlen);
	if (ret) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", s->path, strerror(-ret));
		return ret;
	}
	s->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->lfd < 0)
		goto fail;
	strcpy(sun.sun_path, s->path);
	/* Never visible with looser permissions than intended. */
	old = umask(0177);
	ret = bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ret < 0)
		goto fail;
	s->bound = true;
	if (s->have_group) {
		if (chown(s->path, (uid_t)-1, s->group) < 0 || chmod(s->path, 0660) < 0)
			goto fail;
	}
	if (listen(s->lfd, 16) < 0)
		goto fail;
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "cannot listen on %s: %s", s->path, strerror(errno));
	return ret;
}

int xlb_ctl_server_new(struct xlb_ctl_server **out, const struct xlb_ctl_server_params *p,
		       char *err, size_t errlen)
{
	struct itimerspec its = {
		.it_interval = { 0, XLB_CTL_TICK_MS * 1000000L },
		.it_value = { 0, XLB_CTL_TICK_MS * 1000000L } };
	struct xlb_ctl_server *s;
	const char *path = p->path ? p->path : XLB_CTL_SOCKET_DEFAULT;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!p->tables)
		return -EINVAL;
	if (!*path || strlen(path) >= sizeof(s->path)) {
		snprintf(err, errlen, "bad socket path \"%s\"", path);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lfd = s->tfd = -1;
	s->aux_fd = p->on_fd ? p->aux_fd : -1;
	s->on_fd = p->on_fd;
	s->extra_fd = p->on_extra_fd ? p->extra_fd : -1;
	s->on_extra_fd = p->on_extra_fd;
	s->on_tick = p->on_tick;
	s->hook_arg = p->hook_arg;
	s->t = p->tables;
	s->ipv6 = p->ipv6;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->max_clients = p->max_clients ? p->max_clients : XLB_CTL_MAX_CLIENTS;
	s->stall_ms = p->stall_ms ? p->stall_ms : XLB_CTL_STALL_MS;
	s->batch_max = p->batch_max_reqs ? p->batch_max_reqs : XLB_CTL_BATCH_MAX_REQS;
	s->batch_total = p->batch_total_reqs ? p->batch_total_reqs : XLB_CTL_BATCH_TOTAL_REQS;
	s->clients = calloc(s->max_clients, sizeof(*s->clients));
	s->pfd = calloc(POLL_CLIENTS + s->max_clients, sizeof(*s->pfd));
	/* Zeroed once: libmnl leaves attribute padding as it finds it. */
	s->in = calloc(1, XLB_CTL_MSG_MAX);
	s->out = calloc(1, XLB_CTL_MSG_MAX);
	if (!s->clients || !s->pfd || !s->in || !s->out) {
		ret = -ENOMEM;
		goto fail;
	}
	if (p->group) {
		struct group gr, *res = NULL;
		char buf[4096];

		if (getgrnam_r(p->group, &gr, buf, sizeof(buf), &res) || !res) {
			snprintf(err, errlen, "unknown group \"%s\"", p->group);
			ret = -ENOENT;
			goto fail;
		}
		s->have_group = true;
		s->group = gr.gr_gid;
		snprintf(s->group_name, sizeof(s->group_name), "%s", p->group);
	}
	ret = open_listener(s, err, errlen);
	if (ret)
		goto fail;
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->tfd < 0 || timerfd_settime(s->tfd, 0, &its, NULL) < 0) {
		ret = -errno;
		snprintf(err, errlen, "timerfd: %s", strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	xlb_ctl_server_free(s);
	return ret;
}

void xlb_ctl_server_free(struct xlb_ctl_server *s)
{
	if (!s)
		return;
	for (unsigned int i = 0; i < s->nclients; i++) {
		sess_clear(s, &s->clients[i].x);
		close(s->clients[i].x.fd);
	}
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->bound)
		unlink(s->path);
	if (s->tfd >= 0)
		close(s->tfd);
	free(s->clients);
	free(s->pfd);
	free(s->in);
	free(s->out);
	free(s);
}

static void accept_client(struct xlb_ctl_server *s)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct client *c;
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			pr_warn_rl("control: accept: %s", strerror(errno));
		return;
	}
	if (s->nclients == s->max_clients) {
		pr_warn_rl("control: %u clients already, refusing one more", s->max_clients);
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		pr_warn_rl("control: SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	c = &s->clients[s->nclients++];
	memset(c, 0, sizeof(*c));
	c->x.fd = fd;
	c->x.nonblock = true;	/* never wait on a client (see the top) */
	c->x.uid = cred.uid;
	c->pid = cred.pid;
	c->x.may_change = xlb_ctl_peer_may_change(cred.uid, cred.gid, cred.pid,
						  s->have_group, s->group);
	pr_debug("control: client pid %d uid %u connected (%s)", (int)cred.pid,
		 (unsigned int)cred.uid, c->x.may_change ? "may change" : "read-only");
}

static void drop_client(struct xlb_ctl_server *s, unsigned int i)
{
	sess_clear(s, &s->clients[i].x);	/* a dump in progress goes too */
	close(s->clients[i].x.fd);
	s->clients[i] = s->clients[--s->nclients];
}

/* Returns false when the client is gone. */
static bool serve_client(struct xlb_ctl_server *s, struct client *c)
{
	ssize_t n = recv(c->x.fd, s->in, XLB_CTL_MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	return handle(s, &c->x, s->in, (size_t)n) >= 0;
}

/* Clients that took none of their replies for stall_ms are dropped: their
 * dump and queued replies are all they hold, but they hold a slot. */
static void drop_stalled(struct xlb_ctl_server *s)
{
	uint64_t now = 0;

	for (unsigned int i = s->nclients; i-- > 0;) {
		struct client *c = &s->clients[i];

		if (!c->x.blocked_ms)
			continue;
		if (!now)
			now = mono_ms();
		if (now - c->x.blocked_ms < s->stall_ms)
			continue;
		pr_warn_rl("control: client pid %d took none of its replies for %u ms: dropped",
			(int)c->pid, s->stall_ms);
		drop_client(s, i);
	}
}

static void on_timer(struct xlb_ctl_server *s)
{
	uint64_t n;

	if (read(s->tfd, &n, sizeof(n)) != sizeof(n))
		return;
	if (s->on_tick)
		s->on_tick(s->hook_arg, mono_ms());
	s->ticks += n;
	if (s->ticks * XLB_CTL_TICK_MS >= XLB_EST_INTERVAL_S * 1000) {
		s->ticks = 0;
		xlb_tables_estimate(s->t);
	}
	xlb_tables_reclaim(s->t);
}

int xlb_ctl_server_run(struct xlb_ctl_server *s, int stop_fd)
{
	struct pollfd *pfd = s->pfd;

	for (;;) {
		unsigned int n;

		drop_stalled(s);	/* the timer wakes the loop every tick */
		n = s->nclients;
		pfd[0] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = s->tfd, .events = POLLIN };
		pfd[3] = (struct pollfd){ .fd = s->aux_fd, .events = POLLIN };
		pfd[4] = (struct pollfd){ .fd = s->extra_fd, .events = POLLIN };
		for (unsigned int i = 0; i < n; i++)
			pfd[POLL_CLIENTS + i] = (struct pollfd){
				.fd = s->clients[i].x.fd,
				/* Busy: its requests wait until its replies went. */
				.events = sess_busy(&s->clients[i].x) ? POLLOUT : POLLIN };
		if (poll(pfd, POLL_CLIENTS + n, -1) < 0) {
			int ret = -errno;

			if (errno == EINTR)
				continue;
			return ret;
		}
		if (pfd[0].revents)
			break;
		if (pfd[2].revents & POLLIN)
			on_timer(s);
		if ((pfd[3].revents & POLLIN) && s->on_fd)
			s->on_fd(s->hook_arg);
		if ((pfd[4].revents & POLLIN) && s->on_extra_fd)
			s->on_extra_fd(s->hook_arg);
		/* Backwards, so that dropping (swap with the last) is safe. */
		for (unsigned int i = n; i-- > 0;) {
			struct client *c = &s->clients[i];
			short re = pfd[POLL_CLIENTS + i].revents;
			bool keep;

			if (!re)
				continue;
			if (pfd[POLL_CLIENTS + i].events & POLLOUT)
				keep = (re & POLLOUT) && sess_run(s, &c->x, DUMP_STEPS) >= 0;
			else
				keep = (re & POLLIN) && serve_client(s, c);
			if (!keep)
				drop_client(s, i);
		}
		if (pfd[1].revents & POLLIN)
			accept_client(s);
	}
	return 0;
}
