/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlbd's control server: see ctl_server.h and ctl.h.
 *
 * Bounded by construction: one receive buffer and one send buffer of
 * XLB_CTL_MSG_MAX each, a fixed client array; a datagram larger than
 * XLB_CTL_MSG_MAX is seen whole in its length (MSG_TRUNC) and refused.
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

struct client {
	int fd;
	uid_t uid;
	pid_t pid;
	bool may_change;
	struct batch batch;
};

struct xlb_ctl_server {
	struct xlb_tables *t;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool bound;
	int lfd;
	int tfd;			/* timerfd: ticks, estimator, reclamation */
	uint64_t ticks;			/* since the last estimate */
	int aux_fd;
	void (*on_fd)(void *arg);
	void (*on_tick)(void *arg, uint64_t now_ms);
	void *hook_arg;
	bool have_group;
	gid_t group;
	char group_name[64];
	unsigned int max_clients;
	unsigned int batch_max;		/* requests per batch */
	unsigned int batch_total;	/* queued over all batches */
	size_t batch_queued;
	unsigned int nclients;
	struct client *clients;
	struct pollfd *pfd;		/* 3 + max_clients */
	char *in;			/* XLB_CTL_MSG_MAX */
	char *out;			/* XLB_CTL_MSG_MAX */
};

/* Replies being gathered into one datagram. */
struct out {
	int fd;
	char *buf;
	size_t len;
	int error;			/* sending failed: stop */
};

#define SVC_ALL (XLB_SVC_SET_SCHED | XLB_SVC_SET_PERSIST | XLB_SVC_SET_NETMASK | \
		 XLB_SVC_SET_VNODES)
#define DEST_ALL (XLB_DEST_SET_PORT | XLB_DEST_SET_FWD | XLB_DEST_SET_WEIGHT | \
		  XLB_DEST_SET_UTHRESH | XLB_DEST_SET_LTHRESH)

static int out_flush(struct out *o)
{
	if (!o->len || o->error)
		return o->error;
	if (send(o->fd, o->buf, o->len, MSG_NOSIGNAL) < 0) {
		o->error = -errno;
		pr_debug("control: cannot send reply: %s", strerror(errno));
	}
	o->len = 0;
	return o->error;
}

typedef int (*fill_fn)(struct nlmsghdr *nlh, size_t room, const void *arg);

/* Append one message; a full datagram is sent first. A fill error other
 * than -EMSGSIZE (a value no message may carry) is returned as it is. */
static int out_msg(struct out *o, uint8_t cmd, uint16_t flags, uint32_t seq,
		   fill_fn fill, const void *arg)
{
	for (int tries = 0; tries < 2 && !o->error; tries++) {
		size_t room = XLB_CTL_MSG_MAX - o->len;
		struct nlmsghdr *nlh = xlb_ctl_msg_start(o->buf + o->len, room, cmd, flags, seq);
		int ret = nlh && fill ? fill(nlh, room, arg) : 0;

		if (nlh && !ret) {
			o->len += MNL_ALIGN(nlh->nlmsg_len);
			return 0;
		}
		if (ret && ret != -EMSGSIZE)
			return ret;
		if (!o->len)
			return -EMSGSIZE;	/* cannot fit even alone */
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
	return xlb_ctl_put_svc(nlh, room, &svc->cfg, SVC_ALL, &st, &rt);
}

static int fill_dest(struct nlmsghdr *nlh, size_t room, const void *arg)
{
	const struct xlb_snap_dest *d = arg;
	struct xlb_dest_info info = { .cfg = d->cfg };

	info.activeconns = atomic_load(&d->cnt->activeconns);
	info.inactconns = atomic_load(&d->cnt->inactconns);
	info.persistconns = atomic_load(&d->cnt->persistconns);
	xlb_cnt_read(d->cnt, &info.stats, &info.rates);
	return xlb_ctl_put_dest(nlh, room, &d->cfg, DEST_ALL, &info);
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

struct conn_emit {
	struct out *o;
	uint32_t seq;
};

static int emit_conn(const struct xlb_conn_info *c, void *arg)
{
	struct conn_emit *e = arg;

	return out_msg(e->o, XLB_CMD_NEW_CONN, NLM_F_MULTI, e->seq, fill_conn, c);
}

static int fill_counter(struct nlmsghdr *nlh, size_t room, const void *arg)
{
	return xlb_ctl_put_counter(nlh, room, arg);
}

struct counter_emit {
	struct out *o;
	uint32_t seq;
};

static int emit_counter(const char *group, const char *name, uint64_t value, void *arg)
{
	struct counter_emit *e = arg;
	struct xlb_counter_info c = { .value = value };
	int ret;

	/* Too long a name fails the dump rather than being cut: two cut
	 * names could read as one counter. */
	if (strlen(group) >= sizeof(c.group) || strlen(name) >= sizeof(c.name))
		ret = -EINVAL;
	else {
		memcpy(c.group, group, strlen(group) + 1);
		memcpy(c.name, name, strlen(name) + 1);
		ret = out_msg(e->o, XLB_CMD_NEW_COUNTER, NLM_F_MULTI, e->seq, fill_counter, &c);
	}
	if (ret == -EINVAL)
		pr_warn("control: counter \"%s\" \"%s\" cannot be sent (1..%d printable characters without spaces): dump failed",
			group, name, XLB_COUNTER_NAME_MAX - 1);
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
	const uint32_t plain = XLB_SVC_SET_SCHED | XLB_SVC_SET_NETMASK | XLB_SVC_SET_VNODES;
	bool flags, tmo;

	memset(r, 0, sizeof(*r));
	r->has_svc = m->has & XLB_CTL_HAS_SVC;
	r->svc = m->svc.cfg;
	r->dest = m->dest.cfg;
	switch (m->cmd) {
	case XLB_CMD_NEW_SERVICE:
		r->op = XLB_REQ_ADD_SVC;
		r->svc_set = m->svc_set & plain;
		if (m->svc_set & (XLB_SVC_SET_PERSIST | XLB_CTL_SVC_SET_FLAGS))
			r->svc_set |= XLB_SVC_SET_PERSIST;
		return 0;
	case XLB_CMD_SET_SERVICE:
		r->op = XLB_REQ_EDIT_SVC;
		r->svc_set = m->svc_set & plain;
		flags = (m->svc_set & XLB_CTL_SVC_SET_FLAGS) &&
			(m->svc_flags_mask & XLB_SVC_F_PERSISTENT);
		tmo = m->svc_set & XLB_SVC_SET_PERSIST;
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
	char ks[XLB_CTL_SVC_STR] = "", ds[48] = "";

	if (m->has & XLB_CTL_HAS_SVC)
		xlb_ctl_svc_str(&m->svc.cfg.key, ks, sizeof(ks));
	if (m->has & XLB_CTL_HAS_DEST) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &m->dest.cfg.addr, a, sizeof(a));
		snprintf(ds, sizeof(ds), " -> %s:%u", a, ntohs(m->dest.cfg.port));
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
		set = m->svc_set & (XLB_SVC_SET_SCHED | XLB_SVC_SET_NETMASK | XLB_SVC_SET_VNODES);
		if (m->svc_set & (XLB_SVC_SET_PERSIST | XLB_CTL_SVC_SET_FLAGS))
			set |= XLB_SVC_SET_PERSIST;
		return xlb_tables_add_svc(t, &m->svc.cfg, set, err, errlen);
	case XLB_CMD_SET_SERVICE: {
		const struct xlb_snap_svc *cur = xlb_snap_find(xlb_tables_current(t),
							       key->proto, key->addr, key->port);

		if (!cur)	/* the tables say "no such service" */
			return xlb_tables_edit_svc(t, &m->svc.cfg, 0, err, errlen);
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
		return xlb_tables_edit_svc(t, &c, SVC_ALL, err, errlen);
	}
	case XLB_CMD_DEL_SERVICE:
		return xlb_tables_del_svc(t, key, err, errlen);
	case XLB_CMD_NEW_DEST:
		return xlb_tables_add_dest(t, key, &d, m->dest_set, err, errlen);
	case XLB_CMD_SET_DEST:
		if (!(m->dest_set & XLB_DEST_SET_PORT))
			d.port = 0;	/* the service's */
		return xlb_tables_edit_dest(t, key, &d, m->dest_set & ~XLB_DEST_SET_PORT,
					    err, errlen);
	case XLB_CMD_DEL_DEST:
		return xlb_tables_del_dest(t, key, d.addr,
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

/* A read: its replies (a dump ends with DONE, a get with its ack). */
static void do_read(struct xlb_ctl_server *s, struct out *o, const struct nlmsghdr *req,
		    const struct xlb_ctl_msg *m)
{
	const struct xlb_snap *snap = xlb_tables_current(s->t);
	const struct xlb_tables_provider *prov = xlb_tables_provider(s->t);
	char err[256], ks[XLB_CTL_SVC_STR];
	int ret = 0;

	switch (m->cmd) {
	case XLB_CMD_GET_SERVICE:
		if (m->nlflags & NLM_F_DUMP) {
			for (uint32_t i = 0; i < snap->nsvcs && !ret; i++)
				ret = out_msg(o, XLB_CMD_NEW_SERVICE, NLM_F_MULTI, m->seq,
					      fill_svc, &snap->svcs[i]);
			break;
		} else {
			const struct xlb_snap_svc *svc = xlb_snap_find(snap, m->svc.cfg.key.proto,
					m->svc.cfg.key.addr, m->svc.cfg.key.port);

			if (!svc) {
				snprintf(err, sizeof(err), "no such service %s",
					 xlb_ctl_svc_str(&m->svc.cfg.key, ks, sizeof(ks)));
				out_ack(o, req, -ESRCH, err);
				return;
			}
			ret = out_msg(o, XLB_CMD_NEW_SERVICE, 0, m->seq, fill_svc, svc);
			out_ack(o, req, ret, NULL);
			return;
		}
	case XLB_CMD_GET_DEST: {
		const struct xlb_snap_svc *svc = xlb_snap_find(snap, m->svc.cfg.key.proto,
				m->svc.cfg.key.addr, m->svc.cfg.key.port);

		if (!svc) {
			snprintf(err, sizeof(err), "no such service %s",
				 xlb_ctl_svc_str(&m->svc.cfg.key, ks, sizeof(ks)));
			out_ack(o, req, -ESRCH, err);
			return;
		}
		for (uint32_t i = 0; i < svc->ndests && !ret; i++)
			ret = out_msg(o, XLB_CMD_NEW_DEST, NLM_F_MULTI, m->seq, fill_dest,
				      &svc->dests[i]);
		break;
	}
	case XLB_CMD_GET_CONN: {
		struct conn_emit e = { .o = o, .seq = m->seq };

		if (prov->dump_conns)
			ret = prov->dump_conns(emit_conn, &e, prov->arg);
		break;
	}
	case XLB_CMD_GET_COUNTERS: {
		struct counter_emit e = { .o = o, .seq = m->seq };

		if (prov->dump_counters)
			ret = prov->dump_counters(emit_counter, &e, prov->arg);
		break;
	}
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
	if (ret) {
		/* A failed dump ends with an error instead of DONE. */
		snprintf(err, sizeof(err), "dump failed: %s", strerror(-ret));
		out_ack(o, req, ret, err);
	} else {
		out_done(o, m->seq);
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

static int handle(struct xlb_ctl_server *s, int fd, const void *buf, size_t len,
		  bool may_change, uid_t uid, struct batch *b)
{
	struct out o = { .fd = fd, .buf = s->out };
	size_t have = len < XLB_CTL_MSG_MAX ? len : XLB_CTL_MSG_MAX;
	size_t off = 0;
	char err[256];

	if (len > XLB_CTL_MSG_MAX) {
		snprintf(err, sizeof(err), "message of %zu bytes exceeds %u", len,
			 XLB_CTL_MSG_MAX);
		refuse(s, &o, len >= sizeof(struct nlmsghdr) ? buf : NULL, b, -EMSGSIZE, err);
		return out_flush(&o);
	}
	/* Several messages may share a datagram (a batch): each is answered. */
	while (off < have && !o.error) {
		const struct nlmsghdr *nlh = (const void *)((const char *)buf + off);
		int l = xlb_ctl_msg_check(nlh, have - off, err, sizeof(err));

		if (l < 0) {
			/* The rest cannot be framed: one error, and drop it. */
			refuse(s, &o, have - off >= sizeof(*nlh) ? nlh : NULL, b, l, err);
			break;
		}
		handle_msg(s, &o, nlh, may_change, uid, b);
		off += MNL_ALIGN(l);
	}
	return out_flush(&o);
}

int xlb_ctl_server_handle(struct xlb_ctl_server *s, int fd, const void *buf,
			  size_t len, bool may_change)
{
	struct batch b = { 0 };
	int ret = handle(s, fd, buf, len, may_change, may_change ? 0 : (uid_t)-1, &b);

	batch_close(s, &b);	/* fd is no connection of ours: nothing outlives the call */
	return ret;
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
	s->on_tick = p->on_tick;
	s->hook_arg = p->hook_arg;
	s->t = p->tables;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->max_clients = p->max_clients ? p->max_clients : XLB_CTL_MAX_CLIENTS;
	s->batch_max = p->batch_max_reqs ? p->batch_max_reqs : XLB_CTL_BATCH_MAX_REQS;
	s->batch_total = p->batch_total_reqs ? p->batch_total_reqs : XLB_CTL_BATCH_TOTAL_REQS;
	s->clients = calloc(s->max_clients, sizeof(*s->clients));
	s->pfd = calloc(4 + s->max_clients, sizeof(*s->pfd));
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
		batch_close(s, &s->clients[i].batch);
		close(s->clients[i].fd);
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
	struct timeval tv = { .tv_sec = XLB_CTL_SEND_TIMEOUT_MS / 1000,
			      .tv_usec = (XLB_CTL_SEND_TIMEOUT_MS % 1000) * 1000 };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct client *c;
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			pr_warn("control: accept: %s", strerror(errno));
		return;
	}
	if (s->nclients == s->max_clients) {
		pr_warn("control: %u clients already, refusing one more", s->max_clients);
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
		pr_warn("control: SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return;
	}
	/* Blocking sends with a timeout: a dump to a client that does not
	 * read cannot stall the daemon for long. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c = &s->clients[s->nclients++];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->may_change = xlb_ctl_peer_may_change(cred.uid, cred.gid, cred.pid,
						s->have_group, s->group);
	pr_debug("control: client pid %d uid %u connected (%s)", (int)cred.pid,
		 (unsigned int)cred.uid, c->may_change ? "may change" : "read-only");
}

static void drop_client(struct xlb_ctl_server *s, unsigned int i)
{
	if (s->clients[i].batch.open)
		pr_debug("control: client closed with a batch open: discarded");
	batch_close(s, &s->clients[i].batch);	/* never applied */
	close(s->clients[i].fd);
	s->clients[i] = s->clients[--s->nclients];
}

/* Returns false when the client is gone. */
static bool serve_client(struct xlb_ctl_server *s, struct client *c)
{
	ssize_t n = recv(c->fd, s->in, XLB_CTL_MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	return handle(s, c->fd, s->in, (size_t)n, c->may_change, c->uid, &c->batch) == 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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
		unsigned int n = s->nclients;

		pfd[0] = (struct pollfd){ .fd = stop_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = s->tfd, .events = POLLIN };
		pfd[3] = (struct pollfd){ .fd = s->aux_fd, .events = POLLIN };
		for (unsigned int i = 0; i < n; i++)
			pfd[4 + i] = (struct pollfd){ .fd = s->clients[i].fd, .events = POLLIN };
		if (poll(pfd, 4 + n, -1) < 0) {
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
		/* Backwards, so that dropping (swap with the last) is safe. */
		for (unsigned int i = n; i-- > 0;) {
			if (!pfd[4 + i].revents)
				continue;
			if (!(pfd[4 + i].revents & POLLIN) || !serve_client(s, &s->clients[i]))
				drop_client(s, i);
		}
		if (pfd[1].revents & POLLIN)
			accept_client(s);
	}
	return 0;
}
