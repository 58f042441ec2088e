/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlb control protocol: message builders, the validating parser (one
 * callback per nesting level, as libmnl's examples), and the client API.
 * See ctl.h for the wire format.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
#include <libmnl/libmnl.h>

#include "check.h"
#include "ctl.h"
#include "log.h"
#include "sched.h"

#define CLIENT_TIMEOUT_S	30	/* a daemon that does not answer */


bool xlb_sched_known(const char *name)
{
	return xlb_sched_find(name) != NULL;
}

const char *xlb_ctl_svc_str(const struct xlb_svc_key *key, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int af = xlb_af(key->af);

	inet_ntop(af, &key->addr, a, sizeof(a));
	snprintf(buf, len, af == AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", a, ntohs(key->port),
		 key->proto == IPPROTO_TCP ? "tcp" :
		 key->proto == IPPROTO_UDP ? "udp" : "?");
	return buf;
}

/* ---- builders ---------------------------------------------------------- */

struct nlmsghdr *xlb_ctl_msg_start(void *buf, size_t buflen, uint8_t cmd,
				   uint16_t nlflags, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *genl;

	if (buflen < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*genl)))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = XLB_GENL_ID;
	nlh->nlmsg_flags = nlflags;
	nlh->nlmsg_seq = seq;
	genl = mnl_nlmsg_put_extra_header(nlh, sizeof(*genl));
	genl->cmd = cmd;
	genl->version = XLB_GENL_VERSION;
	return nlh;
}

/* An address: 4 bytes for AF_INET (as xlb always sent), 16 for AF_INET6. */
static bool put_addr(struct nlmsghdr *nlh, size_t buflen, uint16_t type, uint8_t af,
		     const union xlb_inaddr *a)
{
	return mnl_attr_put_check(nlh, buflen, type, xlb_inaddr_len(xlb_af(af)), a);
}

static bool put_stats(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
		      const struct xlb_stats *st, const struct xlb_rates *rt)
{
	static const struct xlb_stats zs;
	static const struct xlb_rates zr;
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, buflen, type);
	const uint64_t v[] = {
		[XLB_STATS_ATTR_CONNS]    = (st ? st : &zs)->conns,
		[XLB_STATS_ATTR_INPKTS]   = (st ? st : &zs)->inpkts,
		[XLB_STATS_ATTR_OUTPKTS]  = (st ? st : &zs)->outpkts,
		[XLB_STATS_ATTR_INBYTES]  = (st ? st : &zs)->inbytes,
		[XLB_STATS_ATTR_OUTBYTES] = (st ? st : &zs)->outbytes,
		[XLB_STATS_ATTR_CPS]      = (rt ? rt : &zr)->cps,
		[XLB_STATS_ATTR_INPPS]    = (rt ? rt : &zr)->inpps,
		[XLB_STATS_ATTR_OUTPPS]   = (rt ? rt : &zr)->outpps,
		[XLB_STATS_ATTR_INBPS]    = (rt ? rt : &zr)->inbps,
		[XLB_STATS_ATTR_OUTBPS]   = (rt ? rt : &zr)->outbps,
	};

	if (!nest)
		return false;
	for (uint16_t t = XLB_STATS_ATTR_CONNS; t <= XLB_STATS_ATTR_OUTBPS; t++)
		if (!mnl_attr_put_u64_check(nlh, buflen, t, v[t]))
			return false;
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* A nested XLB_CHECK_ATTR_* block of the fields in c->set. */
static bool put_check(struct nlmsghdr *nlh, size_t buflen, uint16_t type,
		      const struct xlb_check *c)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, buflen, type);
	uint32_t s = c->set;
	bool ok = nest != NULL;

	if (ok && (s & XLB_CHECK_SET_KIND))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CHECK_ATTR_KIND, c->kind);
	if (ok && (s & XLB_CHECK_SET_PORT))
		ok = mnl_attr_put_u16_check(nlh, buflen, XLB_CHECK_ATTR_PORT, c->port);
	if (ok && (s & XLB_CHECK_SET_PATH))
		ok = mnl_attr_put_check(nlh, buflen, XLB_CHECK_ATTR_PATH,
					strnlen(c->path, sizeof(c->path) - 1) + 1, c->path);
	if (ok && (s & XLB_CHECK_SET_STATUS))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CHECK_ATTR_STATUS, c->status);
	if (ok && (s & XLB_CHECK_SET_EXPECT))
		ok = mnl_attr_put_check(nlh, buflen, XLB_CHECK_ATTR_EXPECT,
					strnlen(c->expect, sizeof(c->expect) - 1) + 1, c->expect);
	if (ok && (s & XLB_CHECK_SET_EXEC))
		ok = mnl_attr_put_check(nlh, buflen, XLB_CHECK_ATTR_EXEC,
					strnlen(c->exec, sizeof(c->exec) - 1) + 1, c->exec);
	if (ok && (s & XLB_CHECK_SET_INTERVAL))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CHECK_ATTR_INTERVAL, c->interval_ms);
	if (ok && (s & XLB_CHECK_SET_TIMEOUT))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CHECK_ATTR_TIMEOUT, c->timeout_ms);
	if (ok && (s & XLB_CHECK_SET_RISE))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CHECK_ATTR_RISE, c->rise);
	if (ok && (s & XLB_CHECK_SET_FALL))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CHECK_ATTR_FALL, c->fall);
	if (ok)
		mnl_attr_nest_end(nlh, nest);
	return ok;
}

int xlb_ctl_put_svc(struct nlmsghdr *nlh, size_t buflen,
		    const struct xlb_svc_cfg *cfg, uint32_t set,
		    const struct xlb_stats *st, const struct xlb_rates *rt)
{
	return xlb_ctl_put_svc_ex(nlh, buflen, cfg, set, NULL, st, rt);
}

int xlb_ctl_put_svc_ex(struct nlmsghdr *nlh, size_t buflen,
		       const struct xlb_svc_cfg *cfg, uint32_t set,
		       const struct xlb_check *check,
		       const struct xlb_stats *st, const struct xlb_rates *rt)
{
	uint32_t len0 = nlh->nlmsg_len;
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, buflen, XLB_CMD_ATTR_SERVICE);
	char sched[XLB_SCHED_NAME_MAX];
	bool ok;

	if (!nest)
		return -EMSGSIZE;
	ok = mnl_attr_put_u16_check(nlh, buflen, XLB_SVC_ATTR_AF, xlb_af(cfg->key.af)) &&
	     mnl_attr_put_u16_check(nlh, buflen, XLB_SVC_ATTR_PROTOCOL, cfg->key.proto) &&
	     put_addr(nlh, buflen, XLB_SVC_ATTR_ADDR, cfg->key.af, &cfg->key.addr) &&
	     mnl_attr_put_u16_check(nlh, buflen, XLB_SVC_ATTR_PORT, cfg->key.port);
	if (ok && (set & XLB_SVC_SET_SCHED)) {
		/* The struct's name need not be terminated: send at most 15. */
		snprintf(sched, sizeof(sched), "%.*s", (int)sizeof(sched) - 1, cfg->sched);
		ok = mnl_attr_put_strz_check(nlh, buflen, XLB_SVC_ATTR_SCHED_NAME, sched);
	}
	if (ok && (set & (XLB_SVC_SET_PERSIST | XLB_SVC_SET_OPS | XLB_SVC_SET_SCHED_FLAGS))) {
		/* The mask names the flags this message sets, so that an edit
		 * of one (-E -p) leaves the others (-o, -b) as they are. */
		uint32_t mask = (set & XLB_SVC_SET_PERSIST ? XLB_SVC_F_PERSISTENT : 0) |
				(set & XLB_SVC_SET_OPS ? XLB_SVC_F_ONEPACKET : 0) |
				(set & XLB_SVC_SET_SCHED_FLAGS ? XLB_SVC_F_SCHED_ALL : 0);
		struct xlb_ctl_flags f = { .flags = cfg->flags & mask, .mask = mask };

		ok = mnl_attr_put_check(nlh, buflen, XLB_SVC_ATTR_FLAGS, sizeof(f), &f);
		if (ok && (set & XLB_SVC_SET_PERSIST))
			ok = mnl_attr_put_u32_check(nlh, buflen, XLB_SVC_ATTR_TIMEOUT, cfg->timeout);
	}
	if (ok && (set & XLB_SVC_SET_NETMASK))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_SVC_ATTR_NETMASK, cfg->netmask);
	if (ok && (set & XLB_SVC_SET_VNODES))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_SVC_ATTR_VNODES, cfg->vnodes);
	if (ok && (set & XLB_SVC_SET_SORRY))
		ok = put_addr(nlh, buflen, XLB_SVC_ATTR_SORRY_ADDR, cfg->key.af, &cfg->sorry_addr) &&
		     mnl_attr_put_u16_check(nlh, buflen, XLB_SVC_ATTR_SORRY_PORT, cfg->sorry_port);
	if (ok && (set & XLB_SVC_SET_QUORUM))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_SVC_ATTR_QUORUM, cfg->quorum);
	if (ok && check && check->set)
		ok = put_check(nlh, buflen, XLB_SVC_ATTR_CHECK, check);
	if (ok && (st || rt))
		ok = put_stats(nlh, buflen, XLB_SVC_ATTR_STATS64, st, rt);
	if (!ok) {
		nlh->nlmsg_len = len0;
		return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

int xlb_ctl_put_dest(struct nlmsghdr *nlh, size_t buflen,
		     const struct xlb_dest_cfg *cfg, uint32_t set,
		     const struct xlb_dest_info *info)
{
	return xlb_ctl_put_dest_ex(nlh, buflen, cfg, set, NULL, NULL, info);
}

static bool put_health(struct nlmsghdr *nlh, size_t buflen, const struct xlb_health_info *h)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, buflen, XLB_DEST_ATTR_HEALTH);
	bool ok = nest &&
		mnl_attr_put_u32_check(nlh, buflen, XLB_HEALTH_ATTR_STATE, h->state) &&
		mnl_attr_put_u32_check(nlh, buflen, XLB_HEALTH_ATTR_LAST_OK, h->last_ok) &&
		mnl_attr_put_u32_check(nlh, buflen, XLB_HEALTH_ATTR_CHECKS, h->checks) &&
		mnl_attr_put_u64_check(nlh, buflen, XLB_HEALTH_ATTR_SINCE, h->since) &&
		mnl_attr_put_check(nlh, buflen, XLB_HEALTH_ATTR_ERROR,
				   strnlen(h->error, sizeof(h->error) - 1) + 1, h->error);

	if (ok)
		mnl_attr_nest_end(nlh, nest);
	return ok;
}

int xlb_ctl_put_dest_ex(struct nlmsghdr *nlh, size_t buflen,
			const struct xlb_dest_cfg *cfg, uint32_t set,
			const struct xlb_check *check,
			const struct xlb_health_info *health,
			const struct xlb_dest_info *info)
{
	uint32_t len0 = nlh->nlmsg_len;
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, buflen, XLB_CMD_ATTR_DEST);
	bool ok;

	if (!nest)
		return -EMSGSIZE;
	ok = mnl_attr_put_u16_check(nlh, buflen, XLB_DEST_ATTR_ADDR_FAMILY, xlb_af(cfg->af)) &&
	     put_addr(nlh, buflen, XLB_DEST_ATTR_ADDR, cfg->af, &cfg->addr);
	/* The port is part of a destination's identity: always sent. */
	ok = ok && mnl_attr_put_u16_check(nlh, buflen, XLB_DEST_ATTR_PORT, cfg->port);
	if (ok && (set & XLB_DEST_SET_FWD))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_DEST_ATTR_FWD_METHOD, cfg->fwd);
	if (ok && (set & XLB_DEST_SET_WEIGHT))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_DEST_ATTR_WEIGHT, cfg->weight);
	if (ok && (set & XLB_DEST_SET_UTHRESH))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_DEST_ATTR_U_THRESH, cfg->u_thresh);
	if (ok && (set & XLB_DEST_SET_LTHRESH))
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_DEST_ATTR_L_THRESH, cfg->l_thresh);
	if (ok && info)
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_DEST_ATTR_ACTIVE_CONNS, info->activeconns) &&
		     mnl_attr_put_u32_check(nlh, buflen, XLB_DEST_ATTR_INACT_CONNS, info->inactconns) &&
		     mnl_attr_put_u32_check(nlh, buflen, XLB_DEST_ATTR_PERSIST_CONNS, info->persistconns) &&
		     put_stats(nlh, buflen, XLB_DEST_ATTR_STATS64, &info->stats, &info->rates);
	if (ok && check && check->set)
		ok = put_check(nlh, buflen, XLB_DEST_ATTR_CHECK, check);
	if (ok && health)
		ok = put_health(nlh, buflen, health);
	if (!ok) {
		nlh->nlmsg_len = len0;
		return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

int xlb_ctl_put_timeouts(struct nlmsghdr *nlh, size_t buflen,
			 const struct xlb_timeouts *to)
{
	uint32_t len0 = nlh->nlmsg_len;
	bool ok = true;

	if (to->tcp)
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CMD_ATTR_TIMEOUT_TCP, to->tcp);
	if (ok && to->tcp_fin)
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CMD_ATTR_TIMEOUT_TCP_FIN, to->tcp_fin);
	if (ok && to->udp)
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CMD_ATTR_TIMEOUT_UDP, to->udp);
	if (!ok) {
		nlh->nlmsg_len = len0;
		return -EMSGSIZE;
	}
	return 0;
}

int xlb_ctl_put_conn(struct nlmsghdr *nlh, size_t buflen,
		     const struct xlb_conn_info *c)
{
	uint32_t len0 = nlh->nlmsg_len;
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, buflen, XLB_CMD_ATTR_CONN);
	char state[sizeof(c->state)];
	bool ok;

	if (!nest)
		return -EMSGSIZE;
	snprintf(state, sizeof(state), "%.*s", (int)sizeof(state) - 1, c->state);
	ok = mnl_attr_put_u16_check(nlh, buflen, XLB_CONN_ATTR_PROTO, c->proto) &&
	     put_addr(nlh, buflen, XLB_CONN_ATTR_CADDR, c->af, &c->caddr) &&
	     mnl_attr_put_u16_check(nlh, buflen, XLB_CONN_ATTR_CPORT, c->cport) &&
	     put_addr(nlh, buflen, XLB_CONN_ATTR_VADDR, c->af, &c->vaddr) &&
	     mnl_attr_put_u16_check(nlh, buflen, XLB_CONN_ATTR_VPORT, c->vport) &&
	     put_addr(nlh, buflen, XLB_CONN_ATTR_DADDR, c->af, &c->daddr) &&
	     mnl_attr_put_u16_check(nlh, buflen, XLB_CONN_ATTR_DPORT, c->dport) &&
	     mnl_attr_put_strz_check(nlh, buflen, XLB_CONN_ATTR_STATE, state) &&
	     mnl_attr_put_u32_check(nlh, buflen, XLB_CONN_ATTR_EXPIRES, c->expires) &&
	     (!c->flags || mnl_attr_put_u32_check(nlh, buflen, XLB_CONN_ATTR_FLAGS, c->flags)) &&
	     (xlb_af(c->af) == AF_INET ||
	      mnl_attr_put_u16_check(nlh, buflen, XLB_CONN_ATTR_AF, c->af));
	if (!ok) {
		nlh->nlmsg_len = len0;
		return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

/* A counter group or name: 1..XLB_COUNTER_NAME_MAX - 1 printable ASCII
 * characters, no blank (xlbctl prints "GROUP NAME VALUE" for scripts). */
static bool counter_word_ok(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

int xlb_ctl_put_counter(struct nlmsghdr *nlh, size_t buflen,
			const struct xlb_counter_info *c)
{
	uint32_t len0 = nlh->nlmsg_len;
	struct nlattr *nest;
	bool ok;

	if (!counter_word_ok(c->group, sizeof(c->group)) ||
	    !counter_word_ok(c->name, sizeof(c->name)))
		return -EINVAL;
	nest = mnl_attr_nest_start_check(nlh, buflen, XLB_CMD_ATTR_COUNTER);
	if (!nest)
		return -EMSGSIZE;
	ok = mnl_attr_put_strz_check(nlh, buflen, XLB_COUNTER_ATTR_GROUP, c->group) &&
	     mnl_attr_put_strz_check(nlh, buflen, XLB_COUNTER_ATTR_NAME, c->name) &&
	     mnl_attr_put_u64_check(nlh, buflen, XLB_COUNTER_ATTR_VALUE, c->value);
	if (!ok) {
		nlh->nlmsg_len = len0;
		return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

int xlb_ctl_put_info(struct nlmsghdr *nlh, size_t buflen,
		     const struct xlb_info *info)
{
	uint32_t len0 = nlh->nlmsg_len;

	if (!mnl_attr_put_u32_check(nlh, buflen, XLB_INFO_ATTR_VERSION, info->version) ||
	    !mnl_attr_put_u32_check(nlh, buflen, XLB_INFO_ATTR_CONN_TAB_SIZE, info->conn_tab_size)) {
		nlh->nlmsg_len = len0;
		return -EMSGSIZE;
	}
	return 0;
}

int xlb_ctl_put_batch(struct nlmsghdr *nlh, size_t buflen,
		      const struct xlb_ctl_batch_info *b)
{
	uint32_t len0 = nlh->nlmsg_len;
	bool ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CMD_ATTR_BATCH_COUNT, b->count);

	if (ok && b->failed)
		ok = mnl_attr_put_u32_check(nlh, buflen, XLB_CMD_ATTR_BATCH_INDEX, b->index) &&
		     mnl_attr_put_u32_check(nlh, buflen, XLB_CMD_ATTR_BATCH_SEQ, b->seq);
	if (!ok) {
		nlh->nlmsg_len = len0;
		return -EMSGSIZE;
	}
	return 0;
}

struct nlmsghdr *xlb_ctl_put_ack(void *buf, size_t buflen,
				 const struct nlmsghdr *req, int error,
				 const char *msg)
{
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;

	if (buflen < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*e)))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	/* Only the request's header is echoed, as the kernel with CAP_ACK. */
	nlh->nlmsg_flags = NLM_F_CAPPED;
	nlh->nlmsg_seq = req ? req->nlmsg_seq : 0;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	if (req)
		e->msg = *req;
	if (msg && *msg) {
		char m[512];

		snprintf(m, sizeof(m), "%s", msg);
		if (mnl_attr_put_strz_check(nlh, buflen, NLMSGERR_ATTR_MSG, m))
			nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
	}
	return nlh;
}

struct nlmsghdr *xlb_ctl_put_done(void *buf, size_t buflen, uint32_t seq)
{
	struct nlmsghdr *nlh;
	int *status;

	if (buflen < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(int)))
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = seq;
	status = mnl_nlmsg_put_extra_header(nlh, sizeof(*status));
	*status = 0;
	return nlh;
}

/* Fields an ADD takes from a request: what was named, plus what holds a
 * value (a caller that filled defaults without naming them, as the ipvsadm
 * parser does, still gets them). Shared by the client and xlbd's tables. */
uint32_t xlb_req_add_svc_fields(const struct xlb_req *req)
{
	uint32_t set = req->svc_set;

	if (req->svc.sched[0])
		set |= XLB_SVC_SET_SCHED;
	if ((req->svc.flags & XLB_SVC_F_PERSISTENT) || req->svc.timeout)
		set |= XLB_SVC_SET_PERSIST;
	if (req->svc.flags & XLB_SVC_F_ONEPACKET)
		set |= XLB_SVC_SET_OPS;
	if (req->svc.flags & XLB_SVC_F_SCHED_ALL)
		set |= XLB_SVC_SET_SCHED_FLAGS;
	if (req->svc.netmask)
		set |= XLB_SVC_SET_NETMASK;
	if (req->svc.vnodes)
		set |= XLB_SVC_SET_VNODES;
	if (!xlb_inaddr_eq(&req->svc.sorry_addr, &(union xlb_inaddr){ .ip6 = { 0 } }))
		set |= XLB_SVC_SET_SORRY;
	if (req->svc.quorum)
		set |= XLB_SVC_SET_QUORUM;
	return set;
}

int xlb_ctl_build_req(void *buf, size_t buflen, const struct xlb_req *req,
		      uint32_t seq)
{
	const uint32_t dest_all = XLB_DEST_SET_PORT | XLB_DEST_SET_FWD |
		XLB_DEST_SET_WEIGHT | XLB_DEST_SET_UTHRESH | XLB_DEST_SET_LTHRESH;
	const uint16_t f = NLM_F_REQUEST | NLM_F_ACK;
	struct nlmsghdr *nlh;
	uint8_t cmd;
	int ret = 0;

	switch (req->op) {
	case XLB_REQ_ADD_SVC:	cmd = XLB_CMD_NEW_SERVICE; break;
	case XLB_REQ_EDIT_SVC:	cmd = XLB_CMD_SET_SERVICE; break;
	case XLB_REQ_DEL_SVC:	cmd = XLB_CMD_DEL_SERVICE; break;
	case XLB_REQ_CLEAR:	cmd = XLB_CMD_FLUSH; break;
	case XLB_REQ_ADD_DEST:	cmd = XLB_CMD_NEW_DEST; break;
	case XLB_REQ_EDIT_DEST:	cmd = XLB_CMD_SET_DEST; break;
	case XLB_REQ_DEL_DEST:	cmd = XLB_CMD_DEL_DEST; break;
	case XLB_REQ_ZERO:	cmd = XLB_CMD_ZERO; break;
	case XLB_REQ_SET_TIMEOUT: cmd = XLB_CMD_SET_CONFIG; break;
	default:
		return -EINVAL;
	}
	nlh = xlb_ctl_msg_start(buf, buflen, cmd, f, seq);
	if (!nlh)
		return -EMSGSIZE;
	switch (req->op) {
	case XLB_REQ_ADD_SVC:
		ret = xlb_ctl_put_svc_ex(nlh, buflen, &req->svc, xlb_req_add_svc_fields(req),
					 &req->check, NULL, NULL);
		break;
	case XLB_REQ_EDIT_SVC:
		ret = xlb_ctl_put_svc_ex(nlh, buflen, &req->svc, req->svc_set, &req->check,
					 NULL, NULL);
		break;
	case XLB_REQ_DEL_SVC:
		ret = xlb_ctl_put_svc(nlh, buflen, &req->svc, 0, NULL, NULL);
		break;
	case XLB_REQ_ZERO:
		if (req->has_svc)
			ret = xlb_ctl_put_svc(nlh, buflen, &req->svc, 0, NULL, NULL);
		break;
	case XLB_REQ_ADD_DEST:
	case XLB_REQ_EDIT_DEST:
	case XLB_REQ_DEL_DEST:
		ret = xlb_ctl_put_svc(nlh, buflen, &req->svc, 0, NULL, NULL);
		if (!ret)
			ret = xlb_ctl_put_dest_ex(nlh, buflen, &req->dest,
						  req->op == XLB_REQ_ADD_DEST ? dest_all :
						  req->op == XLB_REQ_EDIT_DEST ? req->dest_set : 0,
						  req->op == XLB_REQ_DEL_DEST ? NULL : &req->check,
						  NULL, NULL);
		break;
	case XLB_REQ_SET_TIMEOUT:
		ret = xlb_ctl_put_timeouts(nlh, buflen, &req->timeouts);
		break;
	default:
		break;
	}
	return ret ? ret : (int)nlh->nlmsg_len;
}

/* ---- parser ------------------------------------------------------------ */

struct attr_pol;

struct parse_ctx {
	const struct nlattr **tb;
	const struct attr_pol *pol;	/* [0..max] */
	uint16_t max;
	const char *what;		/* "service", "destination", ... */
	char *err;
	size_t errlen;
	int error;
};

/*
 * Every attribute lies within its parent, exactly. mnl_attr_parse() stops
 * silently at the first attribute that does not fit, which would ignore a
 * truncated tail; refuse it instead.
 */
static int attrs_well_formed(const void *start, size_t len, const char *what,
			     char *err, size_t errlen)
{
	size_t off = 0;

	while (off < len) {
		const struct nlattr *a = (const void *)((const char *)start + off);

		if (len - off < sizeof(*a)) {
			xlb_seterr(err, errlen, "%s: %zu stray bytes after the last attribute",
			       what, len - off);
			return -EINVAL;
		}
		if (a->nla_len < sizeof(*a) || a->nla_len > len - off) {
			xlb_seterr(err, errlen, "%s: attribute %u has length %u, %zu bytes left",
			       what, mnl_attr_get_type(a), a->nla_len, len - off);
			return -EINVAL;
		}
		off += MNL_ALIGN(a->nla_len);
	}
	return 0;
}

/* Type check of one attribute against the expected data type. */
static int check_type(struct parse_ctx *c, const struct nlattr *a,
		      enum mnl_attr_data_type type, const char *name)
{
	static const char *const tname[MNL_TYPE_MAX] = {
		[MNL_TYPE_U8] = "u8", [MNL_TYPE_U16] = "u16",
		[MNL_TYPE_U32] = "u32", [MNL_TYPE_U64] = "u64",
		[MNL_TYPE_NESTED] = "nested", [MNL_TYPE_NUL_STRING] = "string",
	};

	if (mnl_attr_validate(a, type) < 0) {
		xlb_seterr(c->err, c->errlen, "%s attribute %s: bad %s of %u bytes",
		       c->what, name, tname[type] ? tname[type] : "payload",
		       mnl_attr_get_payload_len(a));
		c->error = -EINVAL;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int check_bin(struct parse_ctx *c, const struct nlattr *a, size_t len,
		     const char *name)
{
	if (mnl_attr_get_payload_len(a) != len) {
		xlb_seterr(c->err, c->errlen, "%s attribute %s: %u bytes, expected %zu",
		       c->what, name, mnl_attr_get_payload_len(a), len);
		c->error = -EINVAL;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* An IPv4 address: 4 bytes, or IPVS's 16-byte nf_inet_addr. */
static int check_addr(struct parse_ctx *c, const struct nlattr *a, const char *name)
{
	uint16_t l = mnl_attr_get_payload_len(a);

	if (l != 4 && l != 16) {
		xlb_seterr(c->err, c->errlen, "%s attribute %s: %u bytes, expected 4 or 16",
		       c->what, name, l);
		c->error = -EINVAL;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int check_string(struct parse_ctx *c, const struct nlattr *a,
			size_t max, const char *name)
{
	if (check_type(c, a, MNL_TYPE_NUL_STRING, name) != MNL_CB_OK)
		return MNL_CB_ERROR;
	if (mnl_attr_get_payload_len(a) > max) {
		xlb_seterr(c->err, c->errlen, "%s attribute %s: longer than %zu bytes",
		       c->what, name, max - 1);
		c->error = -EINVAL;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int check_nested(struct parse_ctx *c, const struct nlattr *a, const char *name)
{
	if (check_type(c, a, MNL_TYPE_NESTED, name) != MNL_CB_OK)
		return MNL_CB_ERROR;
	if (attrs_well_formed(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a),
			      name, c->err, c->errlen)) {
		c->error = -EINVAL;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/*
 * What each attribute of one nesting level must be (libmnl's policy): one
 * table per level, indexed by attribute type, checked by policy_cb. A type
 * the table leaves out (A_SKIP) is skipped: unknown to us, or newer.
 */
enum attr_kind { A_SKIP, A_U16, A_U32, A_U64, A_ADDR, A_STR, A_BIN, A_NESTED };

struct attr_pol {
	enum attr_kind kind;
	size_t len;		/* A_STR: most bytes with the NUL; A_BIN: exact */
	const char *name;	/* for the error */
};

static const struct attr_pol stats_pol[XLB_STATS_ATTR_MAX + 1] = {
	[XLB_STATS_ATTR_CONNS]		= { A_U64, 0, "stats" },
	[XLB_STATS_ATTR_INPKTS]	= { A_U64, 0, "stats" },
	[XLB_STATS_ATTR_OUTPKTS]	= { A_U64, 0, "stats" },
	[XLB_STATS_ATTR_INBYTES]	= { A_U64, 0, "stats" },
	[XLB_STATS_ATTR_OUTBYTES]	= { A_U64, 0, "stats" },
	[XLB_STATS_ATTR_CPS]		= { A_U64, 0, "stats" },
	[XLB_STATS_ATTR_INPPS]		= { A_U64, 0, "stats" },
	[XLB_STATS_ATTR_OUTPPS]	= { A_U64, 0, "stats" },
	[XLB_STATS_ATTR_INBPS]		= { A_U64, 0, "stats" },
	[XLB_STATS_ATTR_OUTBPS]	= { A_U64, 0, "stats" },
	/* PAD: skipped */
};

/* STATS, PE_NAME: skipped. */
static const struct attr_pol svc_pol[XLB_SVC_ATTR_MAX + 1] = {
	[XLB_SVC_ATTR_AF]		= { A_U16, 0, "af" },
	[XLB_SVC_ATTR_PROTOCOL]		= { A_U16, 0, "protocol" },
	[XLB_SVC_ATTR_ADDR]		= { A_ADDR, 0, "address" },
	[XLB_SVC_ATTR_PORT]		= { A_U16, 0, "port" },
	[XLB_SVC_ATTR_FWMARK]		= { A_U32, 0, "fwmark" },
	[XLB_SVC_ATTR_SCHED_NAME]	= { A_STR, XLB_SCHED_NAME_MAX, "scheduler" },
	[XLB_SVC_ATTR_FLAGS]		= { A_BIN, sizeof(struct xlb_ctl_flags), "flags" },
	[XLB_SVC_ATTR_TIMEOUT]		= { A_U32, 0, "timeout" },
	[XLB_SVC_ATTR_NETMASK]		= { A_U32, 0, "netmask" },
	[XLB_SVC_ATTR_STATS64]		= { A_NESTED, 0, "stats64" },
	[XLB_SVC_ATTR_VNODES]		= { A_U32, 0, "vnodes" },
	[XLB_SVC_ATTR_CHECK]		= { A_NESTED, 0, "check" },
	[XLB_SVC_ATTR_SORRY_ADDR]	= { A_ADDR, 0, "sorry server" },
	[XLB_SVC_ATTR_SORRY_PORT]	= { A_U16, 0, "sorry port" },
	[XLB_SVC_ATTR_QUORUM]		= { A_U32, 0, "quorum" },
};

static const struct attr_pol dest_pol[XLB_DEST_ATTR_MAX + 1] = {
	[XLB_DEST_ATTR_ADDR]		= { A_ADDR, 0, "address" },
	[XLB_DEST_ATTR_PORT]		= { A_U16, 0, "port" },
	[XLB_DEST_ATTR_ADDR_FAMILY]	= { A_U16, 0, "af" },
	[XLB_DEST_ATTR_FWD_METHOD]	= { A_U32, 0, "forward" },
	[XLB_DEST_ATTR_WEIGHT]		= { A_U32, 0, "weight" },
	[XLB_DEST_ATTR_U_THRESH]	= { A_U32, 0, "u_thresh" },
	[XLB_DEST_ATTR_L_THRESH]	= { A_U32, 0, "l_thresh" },
	[XLB_DEST_ATTR_ACTIVE_CONNS]	= { A_U32, 0, "conns" },
	[XLB_DEST_ATTR_INACT_CONNS]	= { A_U32, 0, "conns" },
	[XLB_DEST_ATTR_PERSIST_CONNS]	= { A_U32, 0, "conns" },
	[XLB_DEST_ATTR_STATS64]		= { A_NESTED, 0, "stats64" },
	[XLB_DEST_ATTR_CHECK]		= { A_NESTED, 0, "check" },
	[XLB_DEST_ATTR_HEALTH]		= { A_NESTED, 0, "health" },
};

static const struct attr_pol check_pol[XLB_CHECK_ATTR_MAX + 1] = {
	[XLB_CHECK_ATTR_KIND]		= { A_U32, 0, "value" },
	[XLB_CHECK_ATTR_PORT]		= { A_U16, 0, "port" },
	[XLB_CHECK_ATTR_PATH]		= { A_STR, XLB_CHECK_PATH_MAX, "path" },
	[XLB_CHECK_ATTR_STATUS]		= { A_U32, 0, "value" },
	[XLB_CHECK_ATTR_EXPECT]		= { A_STR, XLB_CHECK_EXPECT_MAX, "expect" },
	[XLB_CHECK_ATTR_EXEC]		= { A_STR, XLB_CHECK_EXEC_MAX, "exec" },
	[XLB_CHECK_ATTR_INTERVAL]	= { A_U32, 0, "value" },
	[XLB_CHECK_ATTR_TIMEOUT]	= { A_U32, 0, "value" },
	[XLB_CHECK_ATTR_RISE]		= { A_U32, 0, "value" },
	[XLB_CHECK_ATTR_FALL]		= { A_U32, 0, "value" },
};

static const struct attr_pol health_pol[XLB_HEALTH_ATTR_MAX + 1] = {
	[XLB_HEALTH_ATTR_STATE]		= { A_U32, 0, "value" },
	[XLB_HEALTH_ATTR_LAST_OK]	= { A_U32, 0, "value" },
	[XLB_HEALTH_ATTR_CHECKS]	= { A_U32, 0, "value" },
	[XLB_HEALTH_ATTR_SINCE]		= { A_U64, 0, "since" },
	[XLB_HEALTH_ATTR_ERROR]		= { A_STR, XLB_HEALTH_ERR_MAX, "error" },
};

static const struct attr_pol conn_pol[XLB_CONN_ATTR_MAX + 1] = {
	[XLB_CONN_ATTR_PROTO]		= { A_U16, 0, "port/proto" },
	[XLB_CONN_ATTR_CPORT]		= { A_U16, 0, "port/proto" },
	[XLB_CONN_ATTR_VPORT]		= { A_U16, 0, "port/proto" },
	[XLB_CONN_ATTR_DPORT]		= { A_U16, 0, "port/proto" },
	[XLB_CONN_ATTR_CADDR]		= { A_ADDR, 0, "address" },
	[XLB_CONN_ATTR_VADDR]		= { A_ADDR, 0, "address" },
	[XLB_CONN_ATTR_DADDR]		= { A_ADDR, 0, "address" },
	[XLB_CONN_ATTR_AF]		= { A_U16, 0, "af" },
	[XLB_CONN_ATTR_EXPIRES]		= { A_U32, 0, "address/expires/flags" },
	[XLB_CONN_ATTR_FLAGS]		= { A_U32, 0, "address/expires/flags" },
	[XLB_CONN_ATTR_STATE]		= { A_STR, sizeof(((struct xlb_conn_info *)0)->state), "state" },
};

static const struct attr_pol counter_pol[XLB_COUNTER_ATTR_MAX + 1] = {
	[XLB_COUNTER_ATTR_GROUP]	= { A_STR, XLB_COUNTER_NAME_MAX, "group" },
	[XLB_COUNTER_ATTR_NAME]		= { A_STR, XLB_COUNTER_NAME_MAX, "name" },
	[XLB_COUNTER_ATTR_VALUE]	= { A_U64, 0, "value" },
};

/* DAEMON: skipped. */
static const struct attr_pol top_pol[XLB_CMD_ATTR_MAX + 1] = {
	[XLB_CMD_ATTR_SERVICE]		= { A_NESTED, 0, "service" },
	[XLB_CMD_ATTR_DEST]		= { A_NESTED, 0, "destination" },
	[XLB_CMD_ATTR_CONN]		= { A_NESTED, 0, "connection" },
	[XLB_CMD_ATTR_COUNTER]		= { A_NESTED, 0, "counter" },
	[XLB_CMD_ATTR_TIMEOUT_TCP]	= { A_U32, 0, "timeout" },
	[XLB_CMD_ATTR_TIMEOUT_TCP_FIN]	= { A_U32, 0, "timeout" },
	[XLB_CMD_ATTR_TIMEOUT_UDP]	= { A_U32, 0, "timeout" },
	[XLB_CMD_ATTR_BATCH_COUNT]	= { A_U32, 0, "batch" },
	[XLB_CMD_ATTR_BATCH_INDEX]	= { A_U32, 0, "batch" },
	[XLB_CMD_ATTR_BATCH_SEQ]	= { A_U32, 0, "batch" },
};

static const struct attr_pol info_pol[XLB_INFO_ATTR_MAX + 1] = {
	[XLB_INFO_ATTR_VERSION]		= { A_U32, 0, "info" },
	[XLB_INFO_ATTR_CONN_TAB_SIZE]	= { A_U32, 0, "info" },
};

/* The mnl_attr_parse callback of every level: c->pol says what to check. */
static int policy_cb(const struct nlattr *a, void *data)
{
	struct parse_ctx *c = data;
	uint16_t type = mnl_attr_get_type(a);
	const struct attr_pol *p;
	int r;

	if (type > c->max)
		return MNL_CB_OK;	/* newer than us: skip */
	p = &c->pol[type];
	switch (p->kind) {
	case A_U16:	r = check_type(c, a, MNL_TYPE_U16, p->name); break;
	case A_U32:	r = check_type(c, a, MNL_TYPE_U32, p->name); break;
	case A_U64:	r = check_type(c, a, MNL_TYPE_U64, p->name); break;
	case A_ADDR:	r = check_addr(c, a, p->name); break;
	case A_STR:	r = check_string(c, a, p->len, p->name); break;
	case A_BIN:	r = check_bin(c, a, p->len, p->name); break;
	case A_NESTED:	r = check_nested(c, a, p->name); break;
	default:
		return MNL_CB_OK;	/* A_SKIP */
	}
	if (r == MNL_CB_OK)
		c->tb[type] = a;
	return r;
}

/* An address attribute of family af (check_addr let 4 or 16 bytes
 * through): AF_INET reads the first four (IPVS sends 16), AF_INET6 needs
 * all sixteen. */
static int get_addr(const struct nlattr *a, int af, union xlb_inaddr *out, const char *what,
		    char *err, size_t errlen)
{
	uint16_t l = mnl_attr_get_payload_len(a);

	memset(out, 0, sizeof(*out));
	if (af == AF_INET6 && l != 16) {
		xlb_seterr(err, errlen, "%s: an IPv6 address needs 16 bytes, not %u", what, l);
		return -EINVAL;
	}
	memcpy(out, mnl_attr_get_payload(a), af == AF_INET6 ? 16 : 4);
	return 0;
}

static int check_af(uint16_t af, const char *what, char *err, size_t errlen)
{
	if (af == AF_INET || af == AF_INET6)
		return 0;
	xlb_seterr(err, errlen, "%s: address family %u not supported (IPv4 or IPv6)", what, af);
	return -EAFNOSUPPORT;
}

static int parse_nested(const struct nlattr *nest, const struct attr_pol *pol,
			const struct nlattr **tb, uint16_t max, const char *what,
			char *err, size_t errlen)
{
	struct parse_ctx c = { .tb = tb, .pol = pol, .max = max, .what = what,
			       .err = err, .errlen = errlen };

	if (mnl_attr_parse_nested(nest, policy_cb, &c) < 0)
		return c.error ? c.error : -EINVAL;
	return 0;
}

static int parse_stats(const struct nlattr *nest, struct xlb_stats *st,
		       struct xlb_rates *rt, char *err, size_t errlen)
{
	const struct nlattr *tb[XLB_STATS_ATTR_MAX + 1] = { 0 };
	uint64_t *const dst[] = {
		[XLB_STATS_ATTR_CONNS] = &st->conns, [XLB_STATS_ATTR_INPKTS] = &st->inpkts,
		[XLB_STATS_ATTR_OUTPKTS] = &st->outpkts, [XLB_STATS_ATTR_INBYTES] = &st->inbytes,
		[XLB_STATS_ATTR_OUTBYTES] = &st->outbytes, [XLB_STATS_ATTR_CPS] = &rt->cps,
		[XLB_STATS_ATTR_INPPS] = &rt->inpps, [XLB_STATS_ATTR_OUTPPS] = &rt->outpps,
		[XLB_STATS_ATTR_INBPS] = &rt->inbps, [XLB_STATS_ATTR_OUTBPS] = &rt->outbps,
	};
	int ret = parse_nested(nest, stats_pol, tb, XLB_STATS_ATTR_MAX, "stats",
			       err, errlen);

	if (ret)
		return ret;
	for (int t = XLB_STATS_ATTR_CONNS; t <= XLB_STATS_ATTR_OUTBPS; t++)
		if (tb[t])
			*dst[t] = mnl_attr_get_u64(tb[t]);
	return 0;
}

/* A check nest into c (fields present = c->set), validated as xlbctl's
 * options are, so a daemon never stores what -S could not print back. */
static int parse_check(const struct nlattr *nest, struct xlb_check *c,
		       char *err, size_t errlen)
{
	const struct nlattr *tb[XLB_CHECK_ATTR_MAX + 1] = { 0 };
	static const uint32_t bit[XLB_CHECK_ATTR_MAX + 1] = {
		[XLB_CHECK_ATTR_KIND] = XLB_CHECK_SET_KIND,
		[XLB_CHECK_ATTR_PORT] = XLB_CHECK_SET_PORT,
		[XLB_CHECK_ATTR_PATH] = XLB_CHECK_SET_PATH,
		[XLB_CHECK_ATTR_STATUS] = XLB_CHECK_SET_STATUS,
		[XLB_CHECK_ATTR_EXPECT] = XLB_CHECK_SET_EXPECT,
		[XLB_CHECK_ATTR_EXEC] = XLB_CHECK_SET_EXEC,
		[XLB_CHECK_ATTR_INTERVAL] = XLB_CHECK_SET_INTERVAL,
		[XLB_CHECK_ATTR_TIMEOUT] = XLB_CHECK_SET_TIMEOUT,
		[XLB_CHECK_ATTR_RISE] = XLB_CHECK_SET_RISE,
		[XLB_CHECK_ATTR_FALL] = XLB_CHECK_SET_FALL,
	};
	uint32_t v;
	int ret = parse_nested(nest, check_pol, tb, XLB_CHECK_ATTR_MAX, "check", err, errlen);

	if (ret)
		return ret;
	memset(c, 0, sizeof(*c));
	for (int t = 1; t <= XLB_CHECK_ATTR_MAX; t++)
		if (tb[t])
			c->set |= bit[t];
	/* Numbers are range-checked before they are narrowed. */
	for (int t = 1; t <= XLB_CHECK_ATTR_MAX; t++) {
		if (!tb[t] || t == XLB_CHECK_ATTR_PORT || t == XLB_CHECK_ATTR_PATH ||
		    t == XLB_CHECK_ATTR_EXPECT || t == XLB_CHECK_ATTR_EXEC)
			continue;
		v = mnl_attr_get_u32(tb[t]);
		if ((t == XLB_CHECK_ATTR_KIND && v > 255) ||
		    ((t == XLB_CHECK_ATTR_STATUS || t == XLB_CHECK_ATTR_RISE ||
		      t == XLB_CHECK_ATTR_FALL) && v > 65535)) {
			xlb_seterr(err, errlen, "check attribute %d: value %u out of range", t, v);
			return -EINVAL;
		}
	}
	if (tb[XLB_CHECK_ATTR_KIND])
		c->kind = (uint8_t)mnl_attr_get_u32(tb[XLB_CHECK_ATTR_KIND]);
	if (tb[XLB_CHECK_ATTR_PORT])
		c->port = mnl_attr_get_u16(tb[XLB_CHECK_ATTR_PORT]);
	if (tb[XLB_CHECK_ATTR_PATH])
		snprintf(c->path, sizeof(c->path), "%s", mnl_attr_get_str(tb[XLB_CHECK_ATTR_PATH]));
	if (tb[XLB_CHECK_ATTR_STATUS])
		c->status = (uint16_t)mnl_attr_get_u32(tb[XLB_CHECK_ATTR_STATUS]);
	if (tb[XLB_CHECK_ATTR_EXPECT])
		snprintf(c->expect, sizeof(c->expect), "%s",
			 mnl_attr_get_str(tb[XLB_CHECK_ATTR_EXPECT]));
	if (tb[XLB_CHECK_ATTR_EXEC])
		snprintf(c->exec, sizeof(c->exec), "%s", mnl_attr_get_str(tb[XLB_CHECK_ATTR_EXEC]));
	if (tb[XLB_CHECK_ATTR_INTERVAL])
		c->interval_ms = mnl_attr_get_u32(tb[XLB_CHECK_ATTR_INTERVAL]);
	if (tb[XLB_CHECK_ATTR_TIMEOUT])
		c->timeout_ms = mnl_attr_get_u32(tb[XLB_CHECK_ATTR_TIMEOUT]);
	if (tb[XLB_CHECK_ATTR_RISE])
		c->rise = (uint16_t)mnl_attr_get_u32(tb[XLB_CHECK_ATTR_RISE]);
	if (tb[XLB_CHECK_ATTR_FALL])
		c->fall = (uint16_t)mnl_attr_get_u32(tb[XLB_CHECK_ATTR_FALL]);
	return xlb_check_validate(c, err, errlen);
}

static int parse_health(const struct nlattr *nest, struct xlb_health_info *h,
			char *err, size_t errlen)
{
	const struct nlattr *tb[XLB_HEALTH_ATTR_MAX + 1] = { 0 };
	int ret = parse_nested(nest, health_pol, tb, XLB_HEALTH_ATTR_MAX, "health", err, errlen);

	if (ret)
		return ret;
	memset(h, 0, sizeof(*h));
	if (tb[XLB_HEALTH_ATTR_STATE])
		h->state = (uint8_t)mnl_attr_get_u32(tb[XLB_HEALTH_ATTR_STATE]);
	if (tb[XLB_HEALTH_ATTR_LAST_OK])
		h->last_ok = mnl_attr_get_u32(tb[XLB_HEALTH_ATTR_LAST_OK]) != 0;
	if (tb[XLB_HEALTH_ATTR_CHECKS])
		h->checks = mnl_attr_get_u32(tb[XLB_HEALTH_ATTR_CHECKS]);
	if (tb[XLB_HEALTH_ATTR_SINCE])
		h->since = mnl_attr_get_u64(tb[XLB_HEALTH_ATTR_SINCE]);
	if (tb[XLB_HEALTH_ATTR_ERROR])
		snprintf(h->error, sizeof(h->error), "%s", mnl_attr_get_str(tb[XLB_HEALTH_ATTR_ERROR]));
	return 0;
}

static bool netmask_contiguous(uint32_t mask_be)
{
	uint32_t inv = ~ntohl(mask_be);

	return (inv & (inv + 1)) == 0;
}

static int parse_svc(const struct nlattr *nest, struct xlb_ctl_msg *m,
		     char *err, size_t errlen)
{
	const struct nlattr *tb[XLB_SVC_ATTR_MAX + 1] = { 0 };
	struct xlb_svc_cfg *cfg = &m->svc.cfg;
	int ret = parse_nested(nest, svc_pol, tb, XLB_SVC_ATTR_MAX, "service",
			       err, errlen);

	if (ret)
		return ret;
	if (!tb[XLB_SVC_ATTR_AF] || !tb[XLB_SVC_ATTR_PROTOCOL] ||
	    !tb[XLB_SVC_ATTR_ADDR] || !tb[XLB_SVC_ATTR_PORT]) {
		if (tb[XLB_SVC_ATTR_FWMARK]) {
			xlb_seterr(err, errlen, "firewall-mark services are not supported");
			return -EOPNOTSUPP;
		}
		xlb_seterr(err, errlen, "service needs address family, protocol, address and port");
		return -EINVAL;
	}
	ret = check_af(mnl_attr_get_u16(tb[XLB_SVC_ATTR_AF]), "service", err, errlen);
	if (ret)
		return ret;
	cfg->key.af = mnl_attr_get_u16(tb[XLB_SVC_ATTR_AF]);
	cfg->key.proto = mnl_attr_get_u16(tb[XLB_SVC_ATTR_PROTOCOL]);
	if (mnl_attr_get_u16(tb[XLB_SVC_ATTR_PROTOCOL]) > 255 ||
	    (cfg->key.proto != IPPROTO_TCP && cfg->key.proto != IPPROTO_UDP)) {
		xlb_seterr(err, errlen, "protocol %u not supported (TCP or UDP)",
		       mnl_attr_get_u16(tb[XLB_SVC_ATTR_PROTOCOL]));
		return -EPROTONOSUPPORT;
	}
	ret = get_addr(tb[XLB_SVC_ATTR_ADDR], cfg->key.af, &cfg->key.addr, "service", err, errlen);
	if (ret)
		return ret;
	cfg->key.port = mnl_attr_get_u16(tb[XLB_SVC_ATTR_PORT]);
	if (tb[XLB_SVC_ATTR_FWMARK] && mnl_attr_get_u32(tb[XLB_SVC_ATTR_FWMARK])) {
		xlb_seterr(err, errlen, "firewall-mark services are not supported");
		return -EOPNOTSUPP;
	}
	if (tb[XLB_SVC_ATTR_SCHED_NAME]) {
		const char *s = mnl_attr_get_str(tb[XLB_SVC_ATTR_SCHED_NAME]);

		if (!xlb_sched_known(s)) {
			xlb_seterr(err, errlen, "unknown scheduler \"%s\" (known: %s)", s,
			       XLB_SCHED_LIST);
			return -EINVAL;
		}
		snprintf(cfg->sched, sizeof(cfg->sched), "%s", s);
		m->svc_set |= XLB_SVC_SET_SCHED;
	}
	if (tb[XLB_SVC_ATTR_FLAGS]) {
		struct xlb_ctl_flags f;

		memcpy(&f, mnl_attr_get_payload(tb[XLB_SVC_ATTR_FLAGS]), sizeof(f));
		if (f.flags & f.mask & ~(XLB_SVC_F_PERSISTENT | XLB_SVC_F_ONEPACKET |
					 XLB_SVC_F_SCHED_ALL)) {
			xlb_seterr(err, errlen, "service flags 0x%x not supported",
			       f.flags & f.mask & ~(XLB_SVC_F_PERSISTENT | XLB_SVC_F_ONEPACKET |
						    XLB_SVC_F_SCHED_ALL));
			return -EOPNOTSUPP;
		}
		cfg->flags = f.flags & f.mask;
		m->svc_flags_mask = f.mask;
		m->svc_set |= XLB_CTL_SVC_SET_FLAGS;
	}
	if (tb[XLB_SVC_ATTR_TIMEOUT]) {
		cfg->timeout = mnl_attr_get_u32(tb[XLB_SVC_ATTR_TIMEOUT]);
		if (cfg->timeout > XLB_TIMEOUT_MAX) {
			xlb_seterr(err, errlen, "persistence timeout %u out of range 0..%u",
			       cfg->timeout, XLB_TIMEOUT_MAX);
			return -EINVAL;
		}
		m->svc_set |= XLB_SVC_SET_PERSIST;
	}
	if (tb[XLB_SVC_ATTR_NETMASK]) {
		cfg->netmask = mnl_attr_get_u32(tb[XLB_SVC_ATTR_NETMASK]);
		if (cfg->key.af == AF_INET6) {
			if (cfg->netmask < 1 || cfg->netmask > 128) {
				xlb_seterr(err, errlen, "IPv6 netmask (prefix length) %u out of range 1..128",
					   cfg->netmask);
				return -EINVAL;
			}
		} else if (!netmask_contiguous(cfg->netmask)) {
			char a[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &cfg->netmask, a, sizeof(a));
			xlb_seterr(err, errlen, "netmask %s is not contiguous", a);
			return -EINVAL;
		}
		m->svc_set |= XLB_SVC_SET_NETMASK;
	}
	if (tb[XLB_SVC_ATTR_VNODES]) {
		cfg->vnodes = mnl_attr_get_u32(tb[XLB_SVC_ATTR_VNODES]);
		if (cfg->vnodes < XLB_VNODES_MIN || cfg->vnodes > XLB_VNODES_MAX) {
			xlb_seterr(err, errlen, "vnodes %u out of range %u..%u", cfg->vnodes,
			       XLB_VNODES_MIN, XLB_VNODES_MAX);
			return -EINVAL;
		}
		m->svc_set |= XLB_SVC_SET_VNODES;
	}
	if (tb[XLB_SVC_ATTR_SORRY_ADDR]) {
		ret = get_addr(tb[XLB_SVC_ATTR_SORRY_ADDR], cfg->key.af, &cfg->sorry_addr,
			       "sorry server", err, errlen);
		if (ret)
			return ret;
		cfg->sorry_port = tb[XLB_SVC_ATTR_SORRY_PORT] ?
				  mnl_attr_get_u16(tb[XLB_SVC_ATTR_SORRY_PORT]) : 0;
		m->svc_set |= XLB_SVC_SET_SORRY;
	}
	if (tb[XLB_SVC_ATTR_QUORUM]) {
		cfg->quorum = mnl_attr_get_u32(tb[XLB_SVC_ATTR_QUORUM]);
		m->svc_set |= XLB_SVC_SET_QUORUM;
	}
	if (tb[XLB_SVC_ATTR_CHECK]) {
		ret = parse_check(tb[XLB_SVC_ATTR_CHECK], &m->svc.check, err, errlen);
		if (ret)
			return ret;
		m->has |= XLB_CTL_HAS_SVC_CHECK;
	}
	if (tb[XLB_SVC_ATTR_STATS64]) {
		ret = parse_stats(tb[XLB_SVC_ATTR_STATS64], &m->svc.stats,
				  &m->svc.rates, err, errlen);
		if (ret)
			return ret;
		m->has |= XLB_CTL_HAS_SVC_STATS;
	}
	m->has |= XLB_CTL_HAS_SVC;
	return 0;
}

static int parse_dest(const struct nlattr *nest, struct xlb_ctl_msg *m,
		      char *err, size_t errlen)
{
	const struct nlattr *tb[XLB_DEST_ATTR_MAX + 1] = { 0 };
	struct xlb_dest_cfg *cfg = &m->dest.cfg;
	int ret = parse_nested(nest, dest_pol, tb, XLB_DEST_ATTR_MAX, "destination",
			       err, errlen);

	if (ret)
		return ret;
	if (!tb[XLB_DEST_ATTR_ADDR]) {
		xlb_seterr(err, errlen, "destination needs an address");
		return -EINVAL;
	}
	/* Without a family, the service's (parsed before), as IPVS. */
	if (tb[XLB_DEST_ATTR_ADDR_FAMILY]) {
		ret = check_af(mnl_attr_get_u16(tb[XLB_DEST_ATTR_ADDR_FAMILY]), "destination",
			       err, errlen);
		if (ret)
			return ret;
		cfg->af = mnl_attr_get_u16(tb[XLB_DEST_ATTR_ADDR_FAMILY]);
	} else {
		cfg->af = m->has & XLB_CTL_HAS_SVC ? xlb_af(m->svc.cfg.key.af) : AF_INET;
	}
	ret = get_addr(tb[XLB_DEST_ATTR_ADDR], cfg->af, &cfg->addr, "destination", err, errlen);
	if (ret)
		return ret;
	if (tb[XLB_DEST_ATTR_PORT]) {
		cfg->port = mnl_attr_get_u16(tb[XLB_DEST_ATTR_PORT]);
		m->dest_set |= XLB_DEST_SET_PORT;
	}
	if (tb[XLB_DEST_ATTR_FWD_METHOD]) {
		uint32_t fwd = mnl_attr_get_u32(tb[XLB_DEST_ATTR_FWD_METHOD]);

		if (fwd != XLB_FWD_NAT && fwd != XLB_FWD_TUN && fwd != XLB_FWD_DR) {
			xlb_seterr(err, errlen, "forwarding method %u not supported (masquerading, tunneling or direct routing)",
			       fwd);
			return -EINVAL;
		}
		cfg->fwd = fwd;
		m->dest_set |= XLB_DEST_SET_FWD;
	}
	if (tb[XLB_DEST_ATTR_WEIGHT]) {
		uint32_t w = mnl_attr_get_u32(tb[XLB_DEST_ATTR_WEIGHT]);

		if (w > XLB_WEIGHT_MAX) {
			xlb_seterr(err, errlen, "weight %u out of range 0..%u", w, XLB_WEIGHT_MAX);
			return -EINVAL;
		}
		cfg->weight = w;
		m->dest_set |= XLB_DEST_SET_WEIGHT;
	}
	if (tb[XLB_DEST_ATTR_U_THRESH]) {
		cfg->u_thresh = mnl_attr_get_u32(tb[XLB_DEST_ATTR_U_THRESH]);
		m->dest_set |= XLB_DEST_SET_UTHRESH;
	}
	if (tb[XLB_DEST_ATTR_L_THRESH]) {
		cfg->l_thresh = mnl_attr_get_u32(tb[XLB_DEST_ATTR_L_THRESH]);
		m->dest_set |= XLB_DEST_SET_LTHRESH;
	}
	if (tb[XLB_DEST_ATTR_ACTIVE_CONNS] || tb[XLB_DEST_ATTR_INACT_CONNS] ||
	    tb[XLB_DEST_ATTR_PERSIST_CONNS]) {
		if (tb[XLB_DEST_ATTR_ACTIVE_CONNS])
			m->dest.activeconns = mnl_attr_get_u32(tb[XLB_DEST_ATTR_ACTIVE_CONNS]);
		if (tb[XLB_DEST_ATTR_INACT_CONNS])
			m->dest.inactconns = mnl_attr_get_u32(tb[XLB_DEST_ATTR_INACT_CONNS]);
		if (tb[XLB_DEST_ATTR_PERSIST_CONNS])
			m->dest.persistconns = mnl_attr_get_u32(tb[XLB_DEST_ATTR_PERSIST_CONNS]);
		m->has |= XLB_CTL_HAS_DEST_CONNS;
	}
	if (tb[XLB_DEST_ATTR_CHECK]) {
		ret = parse_check(tb[XLB_DEST_ATTR_CHECK], &m->dest.check, err, errlen);
		if (ret)
			return ret;
		m->has |= XLB_CTL_HAS_DEST_CHECK;
	}
	if (tb[XLB_DEST_ATTR_HEALTH]) {
		ret = parse_health(tb[XLB_DEST_ATTR_HEALTH], &m->dest.health, err, errlen);
		if (ret)
			return ret;
		m->has |= XLB_CTL_HAS_DEST_HEALTH;
	}
	if (tb[XLB_DEST_ATTR_STATS64]) {
		ret = parse_stats(tb[XLB_DEST_ATTR_STATS64], &m->dest.stats,
				  &m->dest.rates, err, errlen);
		if (ret)
			return ret;
		m->has |= XLB_CTL_HAS_DEST_STATS;
	}
	m->has |= XLB_CTL_HAS_DEST;
	return 0;
}

static int parse_conn(const struct nlattr *nest, struct xlb_ctl_msg *m,
		      char *err, size_t errlen)
{
	const struct nlattr *tb[XLB_CONN_ATTR_MAX + 1] = { 0 };
	struct xlb_conn_info *ci = &m->conn;
	int ret = parse_nested(nest, conn_pol, tb, XLB_CONN_ATTR_MAX, "connection",
			       err, errlen);

	if (ret)
		return ret;
	/* FLAGS came later: absent means none. */
	for (int t = XLB_CONN_ATTR_PROTO; t <= XLB_CONN_ATTR_EXPIRES; t++) {
		if (!tb[t]) {
			xlb_seterr(err, errlen, "connection attribute %d missing", t);
			return -EINVAL;
		}
	}
	ci->proto = mnl_attr_get_u16(tb[XLB_CONN_ATTR_PROTO]);
	ci->af = AF_INET;
	if (tb[XLB_CONN_ATTR_AF]) {
		ret = check_af(mnl_attr_get_u16(tb[XLB_CONN_ATTR_AF]), "connection", err, errlen);
		if (ret)
			return ret;
		ci->af = mnl_attr_get_u16(tb[XLB_CONN_ATTR_AF]);
	}
	if ((ret = get_addr(tb[XLB_CONN_ATTR_CADDR], ci->af, &ci->caddr, "connection", err, errlen)) ||
	    (ret = get_addr(tb[XLB_CONN_ATTR_VADDR], ci->af, &ci->vaddr, "connection", err, errlen)) ||
	    (ret = get_addr(tb[XLB_CONN_ATTR_DADDR], ci->af, &ci->daddr, "connection", err, errlen)))
		return ret;
	ci->cport = mnl_attr_get_u16(tb[XLB_CONN_ATTR_CPORT]);
	ci->vport = mnl_attr_get_u16(tb[XLB_CONN_ATTR_VPORT]);
	ci->dport = mnl_attr_get_u16(tb[XLB_CONN_ATTR_DPORT]);
	snprintf(ci->state, sizeof(ci->state), "%s", mnl_attr_get_str(tb[XLB_CONN_ATTR_STATE]));
	ci->expires = mnl_attr_get_u32(tb[XLB_CONN_ATTR_EXPIRES]);
	ci->flags = tb[XLB_CONN_ATTR_FLAGS] ? mnl_attr_get_u32(tb[XLB_CONN_ATTR_FLAGS]) : 0;
	m->has |= XLB_CTL_HAS_CONN;
	return 0;
}

static int parse_counter(const struct nlattr *nest, struct xlb_ctl_msg *m,
			 char *err, size_t errlen)
{
	const struct nlattr *tb[XLB_COUNTER_ATTR_MAX + 1] = { 0 };
	struct xlb_counter_info *ci = &m->counter;
	int ret = parse_nested(nest, counter_pol, tb, XLB_COUNTER_ATTR_MAX, "counter",
			       err, errlen);

	if (ret)
		return ret;
	if (!tb[XLB_COUNTER_ATTR_GROUP] || !tb[XLB_COUNTER_ATTR_NAME] ||
	    !tb[XLB_COUNTER_ATTR_VALUE]) {
		xlb_seterr(err, errlen, "counter needs a group, a name and a value");
		return -EINVAL;
	}
	/* check_string() bounded both by the arrays' size, NUL included. */
	snprintf(ci->group, sizeof(ci->group), "%s", mnl_attr_get_str(tb[XLB_COUNTER_ATTR_GROUP]));
	snprintf(ci->name, sizeof(ci->name), "%s", mnl_attr_get_str(tb[XLB_COUNTER_ATTR_NAME]));
	if (!counter_word_ok(ci->group, sizeof(ci->group)) ||
	    !counter_word_ok(ci->name, sizeof(ci->name))) {
		xlb_seterr(err, errlen, "counter group and name must be 1..%d printable characters without spaces",
		       XLB_COUNTER_NAME_MAX - 1);
		return -EINVAL;
	}
	ci->value = mnl_attr_get_u64(tb[XLB_COUNTER_ATTR_VALUE]);
	m->has |= XLB_CTL_HAS_COUNTER;
	return 0;
}

int xlb_ctl_msg_check(const void *buf, size_t len, char *err, size_t errlen)
{
	const struct nlmsghdr *nlh = buf;

	if (len < sizeof(*nlh)) {
		xlb_seterr(err, errlen, "truncated message: %zu bytes, a netlink header needs %zu",
		       len, sizeof(*nlh));
		return -EINVAL;
	}
	if (nlh->nlmsg_len < sizeof(*nlh)) {
		xlb_seterr(err, errlen, "bad nlmsg_len %u (less than a header)", nlh->nlmsg_len);
		return -EINVAL;
	}
	if (nlh->nlmsg_len > len) {
		xlb_seterr(err, errlen, "nlmsg_len %u larger than the %zu bytes received",
		       nlh->nlmsg_len, len);
		return -EINVAL;
	}
	if (nlh->nlmsg_len > XLB_CTL_MSG_MAX) {
		xlb_seterr(err, errlen, "message of %u bytes exceeds %u", nlh->nlmsg_len,
		       XLB_CTL_MSG_MAX);
		return -EMSGSIZE;
	}
	return (int)nlh->nlmsg_len;
}

int xlb_ctl_parse(const struct nlmsghdr *nlh, struct xlb_ctl_msg *m,
		  char *err, size_t errlen)
{
	const size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr));
	const struct genlmsghdr *genl;
	int ret;

	memset(m, 0, sizeof(*m));
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN) {
		xlb_seterr(err, errlen, "bad nlmsg_len %u", nlh->nlmsg_len);
		return -EINVAL;
	}
	m->type = nlh->nlmsg_type;
	m->nlflags = nlh->nlmsg_flags;
	m->seq = nlh->nlmsg_seq;
	if (nlh->nlmsg_type != XLB_GENL_ID) {
		xlb_seterr(err, errlen, "message type 0x%x is not xlb's family 0x%x",
		       nlh->nlmsg_type, XLB_GENL_ID);
		return -EINVAL;
	}
	if (nlh->nlmsg_len < hdr) {
		xlb_seterr(err, errlen, "message of %u bytes has no generic-netlink header",
		       nlh->nlmsg_len);
		return -EINVAL;
	}
	genl = mnl_nlmsg_get_payload(nlh);
	m->cmd = genl->cmd;
	if (attrs_well_formed((const char *)nlh + hdr, nlh->nlmsg_len - hdr,
			      "message", err, errlen))
		return -EINVAL;

	if (m->cmd == XLB_CMD_SET_INFO) {
		const struct nlattr *tb[XLB_INFO_ATTR_MAX + 1] = { 0 };
		struct parse_ctx c = { .tb = tb, .pol = info_pol, .max = XLB_INFO_ATTR_MAX,
				       .what = "info", .err = err, .errlen = errlen };

		if (mnl_attr_parse(nlh, MNL_ALIGN(sizeof(*genl)), policy_cb, &c) < 0)
			return c.error ? c.error : -EINVAL;
		if (tb[XLB_INFO_ATTR_VERSION])
			m->info.version = mnl_attr_get_u32(tb[XLB_INFO_ATTR_VERSION]);
		if (tb[XLB_INFO_ATTR_CONN_TAB_SIZE])
			m->info.conn_tab_size = mnl_attr_get_u32(tb[XLB_INFO_ATTR_CONN_TAB_SIZE]);
		m->has |= XLB_CTL_HAS_INFO;
		return 0;
	}

	const struct nlattr *tb[XLB_CMD_ATTR_MAX + 1] = { 0 };
	struct parse_ctx c = { .tb = tb, .pol = top_pol, .max = XLB_CMD_ATTR_MAX, .what = "message",
			       .err = err, .errlen = errlen };
	static const struct { uint16_t attr; uint32_t has; const char *name; } to[] = {
		{ XLB_CMD_ATTR_TIMEOUT_TCP, XLB_CTL_HAS_TCP, "tcp" },
		{ XLB_CMD_ATTR_TIMEOUT_TCP_FIN, XLB_CTL_HAS_TCPFIN, "tcpfin" },
		{ XLB_CMD_ATTR_TIMEOUT_UDP, XLB_CTL_HAS_UDP, "udp" },
	};
	uint32_t *const tov[] = { &m->timeouts.tcp, &m->timeouts.tcp_fin, &m->timeouts.udp };

	if (mnl_attr_parse(nlh, MNL_ALIGN(sizeof(*genl)), policy_cb, &c) < 0)
		return c.error ? c.error : -EINVAL;
	if (tb[XLB_CMD_ATTR_SERVICE] && (ret = parse_svc(tb[XLB_CMD_ATTR_SERVICE], m, err, errlen)))
		return ret;
	if (tb[XLB_CMD_ATTR_DEST] && (ret = parse_dest(tb[XLB_CMD_ATTR_DEST], m, err, errlen)))
		return ret;
	if (tb[XLB_CMD_ATTR_CONN] && (ret = parse_conn(tb[XLB_CMD_ATTR_CONN], m, err, errlen)))
		return ret;
	if (tb[XLB_CMD_ATTR_COUNTER] &&
	    (ret = parse_counter(tb[XLB_CMD_ATTR_COUNTER], m, err, errlen)))
		return ret;
	for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
		if (!tb[to[i].attr])
			continue;
		*tov[i] = mnl_attr_get_u32(tb[to[i].attr]);
		if (*tov[i] > XLB_TIMEOUT_MAX) {
			xlb_seterr(err, errlen, "%s timeout %u out of range 0..%u",
			       to[i].name, *tov[i], XLB_TIMEOUT_MAX);
			return -EINVAL;
		}
		m->has |= to[i].has;
	}
	if (tb[XLB_CMD_ATTR_BATCH_COUNT]) {
		m->batch.count = mnl_attr_get_u32(tb[XLB_CMD_ATTR_BATCH_COUNT]);
		m->has |= XLB_CTL_HAS_BATCH;
		/* Index and seq only make sense together. */
		if (!tb[XLB_CMD_ATTR_BATCH_INDEX] != !tb[XLB_CMD_ATTR_BATCH_SEQ]) {
			xlb_seterr(err, errlen, "batch index without its seq, or the reverse");
			return -EINVAL;
		}
		if (tb[XLB_CMD_ATTR_BATCH_INDEX]) {
			m->batch.failed = true;
			m->batch.index = mnl_attr_get_u32(tb[XLB_CMD_ATTR_BATCH_INDEX]);
			m->batch.seq = mnl_attr_get_u32(tb[XLB_CMD_ATTR_BATCH_SEQ]);
		}
	}
	return 0;
}

bool xlb_ctl_cmd_changes(uint8_t cmd)
{
	switch (cmd) {
	case XLB_CMD_GET_SERVICE:
	case XLB_CMD_GET_DEST:
	case XLB_CMD_GET_CONFIG:
	case XLB_CMD_GET_INFO:
	case XLB_CMD_GET_CONN:
	case XLB_CMD_GET_COUNTERS:
		return false;
	default:
		return true;	/* unknown commands too: the safe answer */
	}
}

int xlb_ctl_check_request(const struct xlb_ctl_msg *m, char *err, size_t errlen)
{
	bool need_svc = false, need_dest = false;

	switch (m->cmd) {
	case XLB_CMD_NEW_SERVICE:
	case XLB_CMD_SET_SERVICE:
	case XLB_CMD_DEL_SERVICE:
		need_svc = true;
		break;
	case XLB_CMD_GET_SERVICE:
		need_svc = !(m->nlflags & NLM_F_DUMP);
		break;
	case XLB_CMD_NEW_DEST:
	case XLB_CMD_SET_DEST:
	case XLB_CMD_DEL_DEST:
		need_svc = need_dest = true;
		break;
	case XLB_CMD_GET_DEST:
		need_svc = true;
		break;
	case XLB_CMD_SET_CONFIG:
	case XLB_CMD_GET_CONFIG:
	case XLB_CMD_GET_INFO:
	case XLB_CMD_ZERO:
	case XLB_CMD_FLUSH:
	case XLB_CMD_GET_CONN:
	case XLB_CMD_GET_COUNTERS:
	case XLB_CMD_BATCH_BEGIN:
	case XLB_CMD_BATCH_END:
		break;
	default:
		xlb_seterr(err, errlen, "unknown command %u", m->cmd);
		return -EOPNOTSUPP;
	}
	if (need_svc && !(m->has & XLB_CTL_HAS_SVC)) {
		xlb_seterr(err, errlen, "command %u needs a service", m->cmd);
		return -EINVAL;
	}
	if (need_dest && !(m->has & XLB_CTL_HAS_DEST)) {
		xlb_seterr(err, errlen, "command %u needs a destination", m->cmd);
		return -EINVAL;
	}
	return 0;
}

static int ack_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
		tb[NLMSGERR_ATTR_MSG] = a;
	return MNL_CB_OK;
}

int xlb_ctl_parse_ack(const struct nlmsghdr *nlh, int *error,
		      char *msg, size_t msglen)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { 0 };
	size_t off = sizeof(*e);

	if (msg && msglen)
		msg[0] = '\0';
	if (nlh->nlmsg_type != NLMSG_ERROR ||
	    nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e))
		return -EINVAL;
	if (e->error > 0 || e->error < -4095)
		return -EINVAL;
	*error = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return 0;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	off = MNL_ALIGN(off);
	if (off > nlh->nlmsg_len - MNL_NLMSG_HDRLEN ||
	    attrs_well_formed((const char *)e + off,
			      nlh->nlmsg_len - MNL_NLMSG_HDRLEN - off, "ack", NULL, 0))
		return -EINVAL;
	mnl_attr_parse(nlh, off, ack_cb, tb);
	if (tb[NLMSGERR_ATTR_MSG] && msg && msglen)
		snprintf(msg, msglen, "%s", mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
	return 0;
}

/* ---- client ------------------------------------------------------------ */

static uint32_t client_seq;

static uint32_t next_seq(void)
{
	return __atomic_add_fetch(&client_seq, 1, __ATOMIC_RELAXED);
}

/* n consecutive sequence numbers (a batch's requests): the first. */
static uint32_t next_seqs(uint32_t n)
{
	return __atomic_fetch_add(&client_seq, n, __ATOMIC_RELAXED) + 1;
}

int xlb_ctl_open(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
	int fd, ret;

	if (!path)
		path = XLB_CTL_SOCKET_DEFAULT;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		xlb_seterr(err, errlen, "socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		xlb_seterr(err, errlen, "socket: %s", strerror(-ret));
		return ret;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ECONNREFUSED)
			xlb_seterr(err, errlen, "cannot connect to xlbd at %s: %s (is xlbd running?)",
			       path, strerror(-ret));
		else
			xlb_seterr(err, errlen, "cannot connect to xlbd at %s: %s", path,
			       strerror(-ret));
		close(fd);
		return ret;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

void xlb_ctl_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Called for each reply message that is not an ack / DONE. */
typedef int (*reply_fn)(const struct xlb_ctl_msg *m, void *arg, char *err, size_t errlen);

/* One reply datagram into buf (XLB_CTL_MSG_MAX): its length, or -errno
 * with a sentence. */
static ssize_t recv_reply(int fd, char *buf, char *err, size_t errlen)
{
	ssize_t n = recv(fd, buf, XLB_CTL_MSG_MAX, MSG_TRUNC);
	int ret;

	if (n < 0) {
		ret = -errno;
		if (ret == -EAGAIN)
			xlb_seterr(err, errlen, "xlbd did not answer in %d s", CLIENT_TIMEOUT_S);
		else
			xlb_seterr(err, errlen, "cannot read from xlbd: %s", strerror(-ret));
		return ret;
	}
	if (n == 0) {
		xlb_seterr(err, errlen, "xlbd closed the connection");
		return -ECONNRESET;
	}
	if (n > XLB_CTL_MSG_MAX) {
		xlb_seterr(err, errlen, "reply of %zd bytes from xlbd is too large", n);
		return -EMSGSIZE;
	}
	return n;
}

/*
 * Send one request and read the answer: data messages go to fn; the
 * exchange ends with the ack (NLMSG_ERROR) of seq, or NLMSG_DONE for a dump.
 */
static int talk(int fd, const void *req, size_t len, reply_fn fn, void *arg,
		char *err, size_t errlen)
{
	const struct nlmsghdr *rq = req;
	uint32_t seq = rq->nlmsg_seq;
	char *buf;
	int ret = 1;

	if (send(fd, req, len, MSG_NOSIGNAL) < 0) {
		ret = -errno;
		xlb_seterr(err, errlen, "cannot send to xlbd: %s", strerror(-ret));
		return ret;
	}
	buf = malloc(XLB_CTL_MSG_MAX);
	if (!buf) {
		xlb_seterr(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	while (ret > 0) {
		ssize_t n = recv_reply(fd, buf, err, errlen);
		size_t off = 0;

		if (n < 0) {
			ret = (int)n;
			break;
		}
		while (ret > 0 && off < (size_t)n) {
			const struct nlmsghdr *nlh = (const void *)(buf + off);
			int l = xlb_ctl_msg_check(nlh, n - off, err, errlen);
			struct xlb_ctl_msg m;

			if (l < 0) {
				ret = -EPROTO;
				break;
			}
			off += MNL_ALIGN(l);
			if (nlh->nlmsg_seq != seq)
				continue;	/* a stale answer */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				int e;
				char msg[256];

				if (xlb_ctl_parse_ack(nlh, &e, msg, sizeof(msg))) {
					ret = -EPROTO;
					xlb_seterr(err, errlen, "malformed acknowledgement from xlbd");
					break;
				}
				ret = e;
				if (e < 0)
					xlb_seterr(err, errlen, "%s", msg[0] ? msg : strerror(-e));
				break;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				ret = 0;
				break;
			}
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
				continue;	/* NOOP */
			ret = xlb_ctl_parse(nlh, &m, err, errlen);
			if (!ret && fn)
				ret = fn(&m, arg, err, errlen);
			ret = ret < 0 ? ret : 1;
		}
	}
	free(buf);
	return ret;
}

int xlb_ctl_apply(int fd, const struct xlb_req *req, char *err, size_t errlen)
{
	char buf[1024] = { 0 };	/* attribute padding included */
	int len = xlb_ctl_build_req(buf, sizeof(buf), req, next_seq());

	if (len < 0) {
		xlb_seterr(err, errlen, "request %d is not a change", req->op);
		return len;
	}
	return talk(fd, buf, len, NULL, NULL, err, errlen);
}

/* ---- batches ---- */

struct batch_reply {
	bool got;
	struct xlb_ctl_batch_info info;
};

static int batch_cb(const struct xlb_ctl_msg *m, void *arg, char *err, size_t errlen)
{
	struct batch_reply *r = arg;

	if (m->cmd != XLB_CMD_BATCH_END || !(m->has & XLB_CTL_HAS_BATCH)) {
		xlb_seterr(err, errlen, "unexpected reply %u from xlbd", m->cmd);
		return -EPROTO;
	}
	r->info = m->batch;
	r->got = true;
	return 0;
}

static int batch_cmd(int fd, uint8_t cmd, uint32_t seq, struct batch_reply *r,
		     char *err, size_t errlen)
{
	char buf[64] = { 0 };
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), cmd,
						 NLM_F_REQUEST | NLM_F_ACK, seq);

	return talk(fd, buf, nlh->nlmsg_len, r ? batch_cb : NULL, r, err, errlen);
}

/*
 * Read the acks of the count requests sent with seqs seq0.. (one each).
 * *bad: index from seq0 of the first refused one (left alone when none),
 * its message in err. 0, or -errno when the conversation failed.
 */
static int read_acks(int fd, char *buf, uint32_t seq0, size_t count, size_t *bad,
		     char *err, size_t errlen)
{
	size_t got = 0;

	while (got < count) {
		ssize_t n = recv_reply(fd, buf, err, errlen);
		size_t off = 0;

		if (n < 0)
			return (int)n;
		while (off < (size_t)n) {
			const struct nlmsghdr *nlh = (const void *)(buf + off);
			int l = xlb_ctl_msg_check(nlh, n - off, err, errlen), e;
			uint32_t k;
			char msg[256];

			if (l < 0)
				return -EPROTO;
			off += MNL_ALIGN(l);
			k = nlh->nlmsg_seq - seq0;
			if (nlh->nlmsg_type != NLMSG_ERROR || k >= count)
				continue;	/* not one of ours */
			if (xlb_ctl_parse_ack(nlh, &e, msg, sizeof(msg))) {
				xlb_seterr(err, errlen, "malformed acknowledgement from xlbd");
				return -EPROTO;
			}
			got++;
			if (e < 0 && *bad == SIZE_MAX) {
				*bad = k;
				xlb_seterr(err, errlen, "%s", msg[0] ? msg : strerror(-e));
			}
		}
	}
	return 0;
}

static bool req_is_change(enum xlb_req_op op)
{
	switch (op) {
	case XLB_REQ_ADD_SVC: case XLB_REQ_EDIT_SVC: case XLB_REQ_DEL_SVC:
	case XLB_REQ_CLEAR: case XLB_REQ_ADD_DEST: case XLB_REQ_EDIT_DEST:
	case XLB_REQ_DEL_DEST: case XLB_REQ_ZERO: case XLB_REQ_SET_TIMEOUT:
		return true;
	default:
		return false;
	}
}

int xlb_ctl_apply_batch(int fd, const struct xlb_req *reqs, size_t n, size_t *failed,
			char *err, size_t errlen)
{
	struct batch_reply rep = { 0 };
	size_t bad = SIZE_MAX, i = 0, dummy;
	uint32_t seq0;
	char *buf;
	int ret;

	if (!failed)
		failed = &dummy;
	*failed = SIZE_MAX;
	if (!n)
		return 0;
	if (n > XLB_CTL_BATCH_MAX_REQS * 16ul) {
		xlb_seterr(err, errlen, "batch of %zu requests is too large", n);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		if (!req_is_change(reqs[i].op)) {
			*failed = i;
			xlb_seterr(err, errlen, "request %d is not a change", reqs[i].op);
			return -EINVAL;
		}
	}
	buf = malloc(XLB_CTL_MSG_MAX);
	if (!buf) {
		xlb_seterr(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	/* BEGIN is seq0, request i is seq0 + 1 + i, END is seq0 + 1 + n. */
	seq0 = next_seqs((uint32_t)n + 2);
	ret = batch_cmd(fd, XLB_CMD_BATCH_BEGIN, seq0, NULL, err, errlen);
	if (ret)
		goto out;
	/* As many requests per datagram as fit; each datagram's acks are read
	 * before the next is sent, so neither side's buffers fill up. The
	 * first refusal aborts the batch in xlbd: stop sending, END tells. */
	for (i = 0; i < n && bad == SIZE_MAX;) {
		size_t len = 0, first = i;

		memset(buf, 0, XLB_CTL_MSG_MAX);	/* attribute padding */
		while (i < n) {
			int l = xlb_ctl_build_req(buf + len, XLB_CTL_MSG_MAX - len, &reqs[i],
						  seq0 + 1 + (uint32_t)i);

			if (l == -EMSGSIZE && len)
				break;
			if (l < 0) {
				*failed = i;
				xlb_seterr(err, errlen, "cannot build request %zu: %s", i, strerror(-l));
				ret = l;
				goto out;	/* closing the connection discards the batch */
			}
			len += MNL_ALIGN((size_t)l);
			i++;
		}
		if (send(fd, buf, len, MSG_NOSIGNAL) < 0) {
			ret = -errno;
			xlb_seterr(err, errlen, "cannot send to xlbd: %s", strerror(-ret));
			goto out;
		}
		ret = read_acks(fd, buf, seq0 + 1 + (uint32_t)first, i - first, &bad, err, errlen);
		if (ret)
			goto out;
		if (bad != SIZE_MAX)
			bad += first;
	}
	ret = batch_cmd(fd, XLB_CMD_BATCH_END, seq0 + 1 + (uint32_t)n, &rep, err, errlen);
	if (ret < 0) {
		/* The daemon's word on which request it was; our count else. */
		if (rep.got && rep.info.failed && rep.info.seq - (seq0 + 1) < n)
			*failed = rep.info.seq - (seq0 + 1);
		else if (rep.got && rep.info.failed && rep.info.index < n)
			*failed = rep.info.index;
		else
			*failed = bad;
	} else if (bad != SIZE_MAX || !rep.got || rep.info.count != n) {
		xlb_seterr(err, errlen, "xlbd answered the batch of %zu requests inconsistently", n);
		ret = -EPROTO;
	}
out:
	free(buf);
	return ret;
}

/* A growing array for dumps. */
struct collect {
	void *v;
	size_t n, cap, size;
	uint8_t cmd;
	uint32_t has;
};

static void *collect_slot(struct collect *c)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		void *v = realloc(c->v, cap * c->size);

		if (!v)
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	return (char *)c->v + c->n++ * c->size;
}

static int collect_cb(const struct xlb_ctl_msg *m, void *arg, char *err, size_t errlen)
{
	struct collect *c = arg;
	void *slot;

	if (m->cmd != c->cmd || (m->has & c->has) != c->has) {
		xlb_seterr(err, errlen, "unexpected reply %u from xlbd", m->cmd);
		return -EPROTO;
	}
	slot = collect_slot(c);
	if (!slot) {
		xlb_seterr(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (c->cmd == XLB_CMD_NEW_SERVICE)
		memcpy(slot, &m->svc, sizeof(m->svc));
	else if (c->cmd == XLB_CMD_NEW_DEST)
		memcpy(slot, &m->dest, sizeof(m->dest));
	else if (c->cmd == XLB_CMD_NEW_COUNTER)
		memcpy(slot, &m->counter, sizeof(m->counter));
	else
		memcpy(slot, &m->conn, sizeof(m->conn));
	return 0;
}

static int dump(int fd, uint8_t cmd, const struct xlb_svc_key *key,
		struct collect *c, char *err, size_t errlen)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), cmd,
						 NLM_F_REQUEST | NLM_F_DUMP, next_seq());
	int ret;

	if (key) {
		struct xlb_svc_cfg cfg = { .key = *key };

		xlb_ctl_put_svc(nlh, sizeof(buf), &cfg, 0, NULL, NULL);
	}
	ret = talk(fd, buf, nlh->nlmsg_len, collect_cb, c, err, errlen);
	if (ret) {
		free(c->v);
		c->v = NULL;
		c->n = 0;
	}
	return ret;
}

int xlb_ctl_get_services(int fd, struct xlb_svc_info **out, size_t *n, char *err, size_t errlen)
{
	struct collect c = { .size = sizeof(**out), .cmd = XLB_CMD_NEW_SERVICE,
			     .has = XLB_CTL_HAS_SVC };
	int ret = dump(fd, XLB_CMD_GET_SERVICE, NULL, &c, err, errlen);

	*out = c.v;
	*n = c.n;
	return ret;
}

int xlb_ctl_get_dests(int fd, const struct xlb_svc_key *key, struct xlb_dest_info **out,
		      size_t *n, char *err, size_t errlen)
{
	struct collect c = { .size = sizeof(**out), .cmd = XLB_CMD_NEW_DEST,
			     .has = XLB_CTL_HAS_DEST };
	int ret = dump(fd, XLB_CMD_GET_DEST, key, &c, err, errlen);

	*out = c.v;
	*n = c.n;
	return ret;
}

int xlb_ctl_get_conns(int fd, struct xlb_conn_info **out, size_t *n, char *err, size_t errlen)
{
	struct collect c = { .size = sizeof(**out), .cmd = XLB_CMD_NEW_CONN,
			     .has = XLB_CTL_HAS_CONN };
	int ret = dump(fd, XLB_CMD_GET_CONN, NULL, &c, err, errlen);

	*out = c.v;
	*n = c.n;
	return ret;
}

int xlb_ctl_get_counters(int fd, struct xlb_counter_info **out, size_t *n, char *err,
			 size_t errlen)
{
	struct collect c = { .size = sizeof(**out), .cmd = XLB_CMD_NEW_COUNTER,
			     .has = XLB_CTL_HAS_COUNTER };
	int ret = dump(fd, XLB_CMD_GET_COUNTERS, NULL, &c, err, errlen);

	*out = c.v;
	*n = c.n;
	return ret;
}

/* A GET that answers with one message, then the ack. */
struct one {
	uint8_t cmd;
	bool got;
	struct xlb_ctl_msg m;
};

static int one_cb(const struct xlb_ctl_msg *m, void *arg, char *err, size_t errlen)
{
	struct one *o = arg;

	if (m->cmd != o->cmd) {
		xlb_seterr(err, errlen, "unexpected reply %u from xlbd", m->cmd);
		return -EPROTO;
	}
	o->m = *m;
	o->got = true;
	return 0;
}

static int get_one(int fd, uint8_t cmd, const struct xlb_svc_key *key, struct one *o,
		   char *err, size_t errlen)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = xlb_ctl_msg_start(buf, sizeof(buf), cmd,
						 NLM_F_REQUEST | NLM_F_ACK, next_seq());
	int ret;

	if (key) {
		struct xlb_svc_cfg cfg = { .key = *key };

		xlb_ctl_put_svc(nlh, sizeof(buf), &cfg, 0, NULL, NULL);
	}
	ret = talk(fd, buf, nlh->nlmsg_len, one_cb, o, err, errlen);
	if (!ret && !o->got) {
		xlb_seterr(err, errlen, "xlbd sent no reply");
		ret = -EPROTO;
	}
	return ret;
}

int xlb_ctl_get_service(int fd, const struct xlb_svc_key *key, struct xlb_svc_info *out,
			char *err, size_t errlen)
{
	struct one o = { .cmd = XLB_CMD_NEW_SERVICE };
	int ret = get_one(fd, XLB_CMD_GET_SERVICE, key, &o, err, errlen);

	if (!ret)
		*out = o.m.svc;
	return ret;
}

int xlb_ctl_get_timeouts(int fd, struct xlb_timeouts *out, char *err, size_t errlen)
{
	struct one o = { .cmd = XLB_CMD_SET_CONFIG };
	int ret = get_one(fd, XLB_CMD_GET_CONFIG, NULL, &o, err, errlen);

	if (!ret)
		*out = o.m.timeouts;
	return ret;
}

int xlb_ctl_get_info(int fd, struct xlb_info *out, char *err, size_t errlen)
{
	struct one o = { .cmd = XLB_CMD_SET_INFO };
	int ret = get_one(fd, XLB_CMD_GET_INFO, NULL, &o, err, errlen);

	if (!ret)
		*out = o.m.info;
	return ret;
}
