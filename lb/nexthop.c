// SPDX-License-Identifier: GPL-2.0
/*
 * Next hops from the kernel's tables over rtnetlink (libmnl). See nexthop.h.
 *
 * Layout of the cache. A fixed table of slots, open addressing with linear
 * probing bounded to NH_PROBE_MAX steps. Each slot is what a worker may read
 * (key, state, error, struct xlb_nh as 32-bit words) under the slot's own
 * sequence counter; a parallel array holds what only the control thread
 * uses. Slots never move and never return to EMPTY: a removed entry becomes
 * DEAD (a tombstone reused by later inserts), so a reader's probe chain is
 * never cut under it. Writers are the control thread only.
 *
 * IPv4 and IPv6 have a table each (slots of their own layout, lookups of
 * their own: the IPv4 worker path is untouched by IPv6), and one control
 * side: struct nh_tab per table and struct nh_ent per entry carry the
 * probe-chain walk, holds, eviction, probes and their backoff, settle and
 * tick work; the netlink layer takes the family as a parameter.
 *
 * The main table lives in an LPM (lpm.h) whose values are ids of route
 * targets (type, gateway, interface: few, shared by many routes). It is
 * read in full at start and after events the kernel does not announce
 * route by route (lost events, a device down or gone, an address removed),
 * and otherwise changed route by route from RTM_NEWROUTE / RTM_DELROUTE, so
 * that a BGP-sized table costs nothing per change. Every change bumps a
 * route generation that tells the workers' route hints they are stale.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "lpm.h"
#include "nexthop.h"

#define NH_BUF_SIZE	32768	/* libmnl's advice for dumps */
#define NH_PROBE_MAX	32	/* longest probe chain in the table */
#define NH_REQ_SLOTS	256	/* worker -> control requests in flight */
#define NH_READ_SPINS	4096	/* a reader gives up (-EAGAIN) after this */
#define NH_BACKOFF_MAX	16	/* retry interval grows to retry_ms x this */
#define NH_TGT_MAX	65536	/* distinct route targets (type, gateway,
				 * interface): a BGP table has a handful */
#define NH_RESYNC_ROUTES 65536	/* re-dumps of a larger table are spaced */
#define NH_RT_CHANGED	64	/* route changes remembered between ticks */

/* Neighbour states whose MAC may be used. */
#define NH_NUD_OK (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | \
		   NUD_PERMANENT | NUD_NOARP)
#define NH_NUD_ABSENT	(-1)

#define NH_WORDS	(sizeof(struct xlb_nh) / sizeof(uint32_t))
_Static_assert(sizeof(struct xlb_nh) % sizeof(uint32_t) == 0,
	       "struct xlb_nh is copied as 32-bit words");
_Static_assert(sizeof(struct xlb_nh) == 28, "struct xlb_nh has no padding");

/* Bytes of an address of family (AF_INET or AF_INET6) in netlink. */
static size_t nh_alen(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* ---- netlink plumbing ------------------------------------------------ */

struct nh_nl {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char     *buf;
};

static void nh_nl_close(struct nh_nl *s)
{
	if (s->nl)
		mnl_socket_close(s->nl);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

static int nh_nl_open(struct nh_nl *s)
{
	/* A kernel that stops answering must not hang the control thread. */
	struct timeval tv = { .tv_sec = 2 };
	int err;

	memset(s, 0, sizeof(*s));
	s->buf = malloc(NH_BUF_SIZE);
	if (!s->buf)
		return -ENOMEM;
	s->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s->nl)
		goto fail;
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	if (setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVTIMEO,
		       &tv, sizeof(tv)) < 0)
		goto fail;
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (uint32_t)time(NULL);
	return 0;
fail:
	err = -errno;
	nh_nl_close(s);
	return err;
}

/*
 * Send one request and run cb over every reply until the kernel's ACK, its
 * error, or the end of a dump. Requests other than dumps carry NLM_F_ACK so
 * that every exchange has a definite end.
 */
static int nh_nl_talk(struct nh_nl *s, struct nlmsghdr *nlh, mnl_cb_t cb,
		      void *data)
{
	uint32_t seq = ++s->seq;
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = seq;
	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(s->nl, s->buf, NH_BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;	/* EAGAIN: timed out */
		}
		ret = mnl_cb_run(s->buf, n, seq, s->portid, cb, data);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret < 0) {
			/* A late answer to an exchange abandoned earlier. */
			if (errno == ESRCH)
				continue;
			return errno ? -errno : -EIO;
		}
	}
}

/* ---- attribute validation (one table per message and nesting level) -- */

/* What is kept of one attribute type: its libmnl type (MNL_TYPE_UNSPEC, 0:
 * not kept), and its exact length when the type does not say (addresses). */
struct nh_attr_want {
	uint8_t type;
	uint8_t len;
};

/* Keep a in tb when want[] (max + 1 entries) names its type and it is
 * valid; an invalid one fails the parse. */
static int nh_attr_keep(const struct nlattr *a, const struct nlattr **tb,
			uint16_t max, const struct nh_attr_want *want)
{
	uint16_t type = mnl_attr_get_type(a);
	const struct nh_attr_want *w;
	int rc;

	if (mnl_attr_type_valid(a, max) < 0)
		return MNL_CB_OK;	/* newer than us: skip */
	w = &want[type];
	if (w->type == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	rc = w->len ? mnl_attr_validate2(a, w->type, w->len)
		    : mnl_attr_validate(a, w->type);
	if (rc < 0)
		return MNL_CB_ERROR;
	tb[type] = a;
	return MNL_CB_OK;
}

static int nh_rta_cb(const struct nlattr *a, void *data)
{
	static const struct nh_attr_want want[RTA_MAX + 1] = {
		[RTA_DST] = { MNL_TYPE_U32 },	  [RTA_OIF] = { MNL_TYPE_U32 },
		[RTA_GATEWAY] = { MNL_TYPE_U32 }, [RTA_PREFSRC] = { MNL_TYPE_U32 },
		[RTA_PRIORITY] = { MNL_TYPE_U32 }, [RTA_TABLE] = { MNL_TYPE_U32 },
		[RTA_METRICS] = { MNL_TYPE_NESTED },
		[RTA_MULTIPATH] = { MNL_TYPE_BINARY },
	};

	return nh_attr_keep(a, data, RTA_MAX, want);
}

/* IPv6 routes: addresses are 16 bytes. */
static int nh6_rta_cb(const struct nlattr *a, void *data)
{
	static const struct nh_attr_want want[RTA_MAX + 1] = {
		[RTA_DST] = { MNL_TYPE_BINARY, 16 },
		[RTA_GATEWAY] = { MNL_TYPE_BINARY, 16 },
		[RTA_PREFSRC] = { MNL_TYPE_BINARY, 16 },
		[RTA_OIF] = { MNL_TYPE_U32 },	  [RTA_TABLE] = { MNL_TYPE_U32 },
		[RTA_METRICS] = { MNL_TYPE_NESTED },
	};

	return nh_attr_keep(a, data, RTA_MAX, want);
}

static int nh_rtax_cb(const struct nlattr *a, void *data)
{
	static const struct nh_attr_want want[RTAX_MAX + 1] = {
		[RTAX_MTU] = { MNL_TYPE_U32 },
	};

	return nh_attr_keep(a, data, RTAX_MAX, want);
}

static int nh_ifla_cb(const struct nlattr *a, void *data)
{
	static const struct nh_attr_want want[IFLA_MAX + 1] = {
		[IFLA_MTU] = { MNL_TYPE_U32 }, [IFLA_ADDRESS] = { MNL_TYPE_BINARY },
	};

	return nh_attr_keep(a, data, IFLA_MAX, want);
}

static int nh_ifa_cb(const struct nlattr *a, void *data)
{
	static const struct nh_attr_want want[IFA_MAX + 1] = {
		[IFA_LOCAL] = { MNL_TYPE_U32 }, [IFA_ADDRESS] = { MNL_TYPE_U32 },
		[IFA_FLAGS] = { MNL_TYPE_U32 },
	};

	return nh_attr_keep(a, data, IFA_MAX, want);
}

/* NDA_DST's length depends on the family: nh_neigh_parse() checks it. */
static int nh_nda_cb(const struct nlattr *a, void *data)
{
	static const struct nh_attr_want want[NDA_MAX + 1] = {
		[NDA_DST] = { MNL_TYPE_BINARY }, [NDA_LLADDR] = { MNL_TYPE_BINARY },
	};

	return nh_attr_keep(a, data, NDA_MAX, want);
}

/* ---- routes ---------------------------------------------------------- */

struct nh_rt {
	uint32_t dst;		/* network order */
	uint8_t  plen;
	uint8_t  type;		/* RTN_* */
	uint8_t  tos;
	uint32_t table;
	uint32_t flags;		/* rtm_flags */
	int      oif;
	uint32_t gw;
	uint32_t prefsrc;
	uint32_t prio;
	uint32_t mtu;		/* RTAX_MTU, 0 if none */
};

/* RTAX_MTU of a route's RTA_METRICS, left alone when absent. */
static int nh_rt_mtu(const struct nlattr *metrics, uint32_t *mtu)
{
	const struct nlattr *mtb[RTAX_MAX + 1] = { 0 };

	if (mnl_attr_parse_nested(metrics, nh_rtax_cb, mtb) < 0)
		return -EBADMSG;
	if (mtb[RTAX_MTU])
		*mtu = mnl_attr_get_u32(mtb[RTAX_MTU]);
	return 0;
}

static int nh_rt_parse(const struct nlmsghdr *nlh, struct nh_rt *r)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	const struct rtmsg *rtm;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return -EBADMSG;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*rtm), nh_rta_cb, tb) < 0)
		return -EBADMSG;
	memset(r, 0, sizeof(*r));
	r->plen = rtm->rtm_dst_len;
	r->type = rtm->rtm_type;
	r->tos = rtm->rtm_tos;
	r->flags = rtm->rtm_flags;
	r->table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE])
				 : rtm->rtm_table;
	if (tb[RTA_DST])
		r->dst = mnl_attr_get_u32(tb[RTA_DST]);
	if (tb[RTA_OIF])
		r->oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY])
		r->gw = mnl_attr_get_u32(tb[RTA_GATEWAY]);
	if (tb[RTA_PREFSRC])
		r->prefsrc = mnl_attr_get_u32(tb[RTA_PREFSRC]);
	if (tb[RTA_PRIORITY])
		r->prio = mnl_attr_get_u32(tb[RTA_PRIORITY]);
	if (tb[RTA_METRICS] && nh_rt_mtu(tb[RTA_METRICS], &r->mtu) < 0)
		return -EBADMSG;
	/* ECMP: the first path. A worker must not split one flow's packets,
	 * and one path per destination is what a connection binds anyway. */
	if (tb[RTA_MULTIPATH] && !r->oif) {
		const struct rtnexthop *nh = mnl_attr_get_payload(tb[RTA_MULTIPATH]);
		size_t len = mnl_attr_get_payload_len(tb[RTA_MULTIPATH]);

		if (len >= sizeof(*nh) && nh->rtnh_len >= RTNH_LENGTH(0) &&
		    nh->rtnh_len <= len) {
			const struct nlattr *ntb[RTA_MAX + 1] = { 0 };

			r->oif = nh->rtnh_ifindex;
			if (mnl_attr_parse_payload(RTNH_DATA(nh),
						   nh->rtnh_len - RTNH_LENGTH(0),
						   nh_rta_cb, ntb) < 0)
				return -EBADMSG;
			if (ntb[RTA_GATEWAY])
				r->gw = mnl_attr_get_u32(ntb[RTA_GATEWAY]);
		}
	}
	return 0;
}

static int nh_route_get_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	if (nh_rt_parse(nlh, data) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* As `ip [-6] route get ADDR`, the answer to cb: what the kernel itself
 * would use. */
static int nh_route_ask(struct nh_nl *s, int family, const void *addr,
			mnl_cb_t cb, void *r)
{
	char req[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtmsg *rtm;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = (uint8_t)(nh_alen(family) * 8);
	mnl_attr_put(nlh, RTA_DST, nh_alen(family), addr);
	return nh_nl_talk(s, nlh, cb, r);
}

static int nh_route_get(struct nh_nl *s, uint32_t addr, struct nh_rt *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->type = RTN_UNSPEC;
	err = nh_route_ask(s, AF_INET, &addr, nh_route_get_cb, r);
	if (err)
		return err;
	return r->type == RTN_UNSPEC ? -ENETUNREACH : 0;
}

/* ---- links, addresses, neighbours ------------------------------------ */

struct nh_link {
	bool     found;
	uint16_t type;		/* ARPHRD_* */
	bool     has_mac;
	uint8_t  mac[6];
	uint32_t mtu;
};

static int nh_link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	struct nh_link *l = data;
	const struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (mnl_attr_parse(nlh, sizeof(*ifi), nh_ifla_cb, tb) < 0)
		return MNL_CB_ERROR;
	l->found = true;
	l->type = ifi->ifi_type;
	if (tb[IFLA_MTU])
		l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
		memcpy(l->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
		l->has_mac = true;
	}
	return MNL_CB_OK;
}

static int nh_link_get(struct nh_nl *s, int ifindex, struct nh_link *l)
{
	char req[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct ifinfomsg *ifi;
	int err;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	memset(l, 0, sizeof(*l));
	err = nh_nl_talk(s, nlh, nh_link_cb, l);
	if (err)
		return err;
	return l->found ? 0 : -ENODEV;
}

struct nh_addr_q {
	int      ifindex;
	uint32_t addr;
};

static int nh_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	struct nh_addr_q *q = data;
	const struct ifaddrmsg *ifa;
	uint32_t flags;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != q->ifindex ||
	    q->addr)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), nh_ifa_cb, tb) < 0)
		return MNL_CB_ERROR;
	flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
	if (flags & (IFA_F_SECONDARY | IFA_F_TENTATIVE | IFA_F_DADFAILED))
		return MNL_CB_OK;
	if (tb[IFA_LOCAL])
		q->addr = mnl_attr_get_u32(tb[IFA_LOCAL]);
	else if (tb[IFA_ADDRESS])
		q->addr = mnl_attr_get_u32(tb[IFA_ADDRESS]);
	return MNL_CB_OK;
}

/* Every address of family, one by one to cb (which picks). */
static int nh_addr_dump(struct nh_nl *s, int family, mnl_cb_t cb, void *q)
{
	char req[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	return nh_nl_talk(s, nlh, cb, q);
}

/* The interface's primary IPv4 address, 0 if it has none. */
static int nh_addr_get(struct nh_nl *s, int ifindex, uint32_t *addr)
{
	struct nh_addr_q q = { .ifindex = ifindex };
	int err = nh_addr_dump(s, AF_INET, nh_addr_cb, &q);

	*addr = q.addr;
	return err;
}

struct nh_neigh {
	bool     found;
	int      state;		/* NUD_* */
	bool     has_mac;
	uint8_t  mac[6];
};

/* A neighbour message of family (AF_INET or AF_INET6): its interface, its
 * destination (nh_alen(family) bytes into dst) and its state. */
static int nh_neigh_parse(const struct nlmsghdr *nlh, int family, int *ifindex,
			  void *dst, struct nh_neigh *n)
{
	const struct nlattr *tb[NDA_MAX + 1] = { 0 };
	const struct ndmsg *ndm;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ndm))
		return -EBADMSG;
	ndm = mnl_nlmsg_get_payload(nlh);
	if (ndm->ndm_family != family)
		return -EAFNOSUPPORT;
	if (mnl_attr_parse(nlh, sizeof(*ndm), nh_nda_cb, tb) < 0)
		return -EBADMSG;
	if (!tb[NDA_DST] ||
	    mnl_attr_get_payload_len(tb[NDA_DST]) != nh_alen(family))
		return -EBADMSG;
	memset(n, 0, sizeof(*n));
	n->found = true;
	n->state = ndm->ndm_state;
	*ifindex = ndm->ndm_ifindex;
	memcpy(dst, mnl_attr_get_payload(tb[NDA_DST]), nh_alen(family));
	if (tb[NDA_LLADDR] && mnl_attr_get_payload_len(tb[NDA_LLADDR]) == 6) {
		memcpy(n->mac, mnl_attr_get_payload(tb[NDA_LLADDR]), 6);
		n->has_mac = true;
	}
	return 0;
}

struct nh_neigh_q {
	int family;
	struct nh_neigh *n;
};

static int nh_neigh_get_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nh_neigh_q *q = data;
	struct in6_addr dst;	/* room for either family */
	int ifindex;

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return MNL_CB_OK;
	if (nh_neigh_parse(nlh, q->family, &ifindex, &dst, q->n) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* One neighbour entry of family (kernel >= 5.0 answers RTM_GETNEIGH for one
 * entry); -ENOENT when there is none. */
static int nh_neigh_get(struct nh_nl *s, int family, int ifindex,
			const void *addr, struct nh_neigh *n)
{
	char req[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct nh_neigh_q q = { .family = family, .n = n };
	struct ndmsg *ndm;
	int err;

	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (uint8_t)family;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, nh_alen(family), addr);
	memset(n, 0, sizeof(*n));
	err = nh_nl_talk(s, nlh, nh_neigh_get_cb, &q);
	if (err)
		return err;
	return n->found ? 0 : -ENOENT;
}

/*
 * Make the kernel resolve addr on ifindex: RTM_NEWNEIGH with NTF_USE runs
 * neigh_event_send() on the (created if need be) entry, i.e. exactly what a
 * packet waiting for that neighbour does: INCOMPLETE + ARP requests or
 * Neighbour Solicitations, or STALE -> DELAY -> unicast probe. No datagram
 * reaches the host itself. Needs CAP_NET_ADMIN.
 */
static int nh_neigh_use(struct nh_nl *s, int family, int ifindex,
			const void *addr)
{
	char req[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct ndmsg *ndm;

	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = (uint8_t)family;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = NUD_NONE;
	ndm->ndm_flags = NTF_USE;
	mnl_attr_put(nlh, NDA_DST, nh_alen(family), addr);
	return nh_nl_talk(s, nlh, NULL, NULL);
}

/* Fallback without CAP_NET_ADMIN: an empty datagram to the discard port
 * makes the kernel resolve the next hop on its way out. */
static int nh_udp_poke(int family, int ifindex, const void *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
				     .sin6_port = htons(9) };
	const struct sockaddr *sa = (const struct sockaddr *)&sin;
	socklen_t salen = sizeof(sin);
	int fd, err = 0;

	if (family == AF_INET6) {
		memcpy(&sin6.sin6_addr, addr, 16);
		/* A link-local address means nothing without its interface. */
		if (IN6_IS_ADDR_LINKLOCAL(&sin6.sin6_addr))
			sin6.sin6_scope_id = (uint32_t)ifindex;
		sa = (const struct sockaddr *)&sin6;
		salen = sizeof(sin6);
	} else {
		memcpy(&sin.sin_addr, addr, 4);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Best effort: keeps the probe on the egress we resolved. */
	(void)setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex,
			 sizeof(ifindex));
	if (sendto(fd, "", 0, 0, sa, salen) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Make the kernel resolve nhaddr (the neighbour: gateway or addr itself)
 * for a packet to addr, egress ifindex. */
static int nh_trigger(struct nh_nl *s, int family, int ifindex,
		      const void *nhaddr, const void *addr)
{
	if (!nh_neigh_use(s, family, ifindex, nhaddr))
		return 0;
	return nh_udp_poke(family, ifindex, addr);
}

/* ---- one resolution -------------------------------------------------- */

struct nh_res {
	struct xlb_nh nh;
	uint32_t nhaddr;	/* whose MAC: the gateway or addr */
	int      nud;		/* NUD_* or NH_NUD_ABSENT */
};

/* What a route of this type means for a packet: 0 for unicast, else the
 * error to report. */
static int nh_rtn_err(uint8_t type)
{
	switch (type) {
	case RTN_UNICAST:
		return 0;
	case RTN_UNREACHABLE:
		return -EHOSTUNREACH;
	case RTN_PROHIBIT:
		return -EACCES;
	case RTN_BLACKHOLE:
	case RTN_THROW:
		return -ENETUNREACH;
	default:			/* local, broadcast, multicast... */
		return -EOPNOTSUPP;
	}
}

/* Whether a route (type, egress oif, its RTAX_MTU rt_mtu or 0) is usable
 * for a packet: 0 with the egress interface's MAC in smac and its MTU (the
 * route's if lower) in *mtu, written only then; else the error. */
static int nh_egress(struct nh_nl *s, uint8_t type, int oif, uint32_t rt_mtu,
		     uint8_t smac[6], uint32_t *mtu)
{
	struct nh_link l;
	int err = nh_rtn_err(type);

	if (err)
		return err;
	if (oif <= 0)
		return -ENETUNREACH;
	err = nh_link_get(s, oif, &l);
	if (err)
		return err;
	/* Not Ethernet; for IPv6 also a local address (the kernel answers it
	 * with a unicast route over lo). */
	if (l.type != ARPHRD_ETHER || !l.has_mac)
		return -EOPNOTSUPP;
	memcpy(smac, l.mac, 6);
	*mtu = (rt_mtu && rt_mtu < l.mtu) ? rt_mtu : l.mtu;
	return 0;
}

/* The last step of a resolution: the MAC of neighbour nhaddr on oif into
 * dmac; -EAGAIN while the kernel has none usable (*nud: its state, left
 * NH_NUD_ABSENT when it has no entry at all). */
static int nh_neigh_mac(struct nh_nl *s, int family, int oif,
			const void *nhaddr, int *nud, uint8_t dmac[6])
{
	struct nh_neigh n;
	int err = nh_neigh_get(s, family, oif, nhaddr, &n);

	if (err == -ENOENT)
		return -EAGAIN;
	if (err)
		return err;
	*nud = n.state;
	if (!(n.state & NH_NUD_OK) || !n.has_mac)
		return -EAGAIN;
	memcpy(dmac, n.mac, 6);
	return 0;
}

/* The kernel gave up on the neighbour, or never had it: only a new
 * solicitation brings it (INCOMPLETE, STALE... are on their way). */
static bool nh_needs_probe(int nud)
{
	return nud == NH_NUD_ABSENT || nud == NUD_NONE || (nud & NUD_FAILED);
}

static int nh_resolve(struct nh_nl *s, uint32_t addr, struct nh_res *res)
{
	struct nh_rt r;
	int err;

	memset(res, 0, sizeof(*res));
	res->nud = NH_NUD_ABSENT;
	err = nh_route_get(s, addr, &r);
	if (!err)
		err = nh_egress(s, r.type, r.oif, r.mtu, res->nh.smac, &res->nh.mtu);
	if (err)
		return err;
	res->nh.ifindex = r.oif;
	res->nh.gw = r.gw;
	res->nh.src = r.prefsrc;
	if (!res->nh.src) {
		err = nh_addr_get(s, r.oif, &res->nh.src);
		if (err)
			return err;
	}
	res->nhaddr = r.gw ? r.gw : addr;
	return nh_neigh_mac(s, AF_INET, r.oif, &res->nhaddr, &res->nud,
			    res->nh.dmac);
}

int xlb_nh_route(uint32_t addr, struct xlb_nh *out)
{
	struct nh_res r;
	struct nh_nl s;
	int err;

	err = nh_nl_open(&s);
	if (err)
		return err;
	err = nh_resolve(&s, addr, &r);
	if (err == -EAGAIN && r.nud != NUD_INCOMPLETE)
		(void)nh_trigger(&s, AF_INET, r.nh.ifindex, &r.nhaddr, &addr);
	nh_nl_close(&s);
	*out = r.nh;
	return err;
}

/* ---- the cache ------------------------------------------------------- */

enum { NH_EMPTY = 0, NH_LIVE = 1, NH_DEAD = 2 };

#define NH_F_GW		0x1	/* gateway of a main-table route */
#define NH_F_HOST	0x2	/* on-link client asked for by a worker */

/* What workers read, under seq (odd while the control thread writes). */
struct nh_slot {
	uint32_t seq;
	uint32_t key;		/* address, network order */
	uint32_t state;		/* NH_EMPTY / NH_LIVE / NH_DEAD */
	uint32_t err;		/* int: 0 resolved, or -errno */
	uint32_t nh[NH_WORDS];	/* struct xlb_nh */
} __attribute__((aligned(64)));	/* one slot per cache line */

/*
 * What only the control thread keeps of one entry, either family: the first
 * member of struct nh_ctl (IPv4) and struct nh6_ctl (IPv6), so that the
 * state machine (holds, eviction, probes and their backoff, settle and tick
 * work) is written once, over struct nh_tab.
 */
struct nh_ent {
	bool     live;		/* the slot is NH_LIVE (the control thread's
				 * copy: it is the only writer) */
	uint8_t  flags;		/* NH_F_* */
	bool     dirty;		/* re-resolve at the next settle */
	bool     probe_due;	/* the kernel gave up or forgot: probe again */
	int      err;		/* as last published */
	uint32_t refs;		/* xlb_nh_want[6]() count */
	uint64_t next_probe;	/* ms */
	uint64_t backoff;	/* ms */
	uint64_t host_gen;	/* insertion order, for evicting hosts */
};

/* One family's table as the control thread sees it. */
struct nh_tab {
	int      family;	/* AF_INET or AF_INET6 */
	uint32_t mask;		/* slot count - 1 */
	void    *ctl;		/* mask + 1 of struct nh_ctl or nh6_ctl */
	size_t   ctl_size;
	unsigned capacity;
	unsigned hosts_max;
	unsigned live;
	unsigned hosts;
	uint64_t host_gen;
	unsigned tick_pos;	/* where the round-robin retries resume */
	bool     all_dirty;	/* re-resolve every entry at the next settle */
	bool     full_logged;	/* capacity reached, said once */
	bool     hosts_full_logged;
};

static struct nh_ent *nh_ent(const struct nh_tab *t, uint32_t i)
{
	return (struct nh_ent *)((char *)t->ctl + (size_t)i * t->ctl_size);
}

/* What only the control thread uses, IPv4. */
struct nh_ctl {
	struct nh_ent st;	/* first */
	struct xlb_nh nh;	/* as last published */
	uint32_t nhaddr;	/* neighbour that matters, 0 until resolved */
	uint32_t gw_refs;	/* route targets through it (NH_F_GW) */
};

/* Where a main-table route leads, as workers read it (32-bit words,
 * written inside the route table's sequence window). Routes share these:
 * the route table's values are their ids. */
struct nh_tgt {
	uint32_t gw;		/* network order; 0: on-link */
	uint32_t oif;
	uint32_t type;		/* RTN_* */
};
#define NH_TGT_WORDS	(sizeof(struct nh_tgt) / sizeof(uint32_t))

struct xlb_nh_cache {
	struct xlb_nh_cache_params p;
	struct nh_nl req;	/* requests and their answers */
	struct nh_nl ev;	/* subscribed, non-blocking */

	uint32_t mask;		/* slot count - 1 (t4.mask: the workers' copy) */
	struct nh_slot *slots;
	struct nh_ctl *ctl;	/* = t4.ctl */

	/* The main table: prefixes -> target ids (lpm.h), the targets, and
	 * a generation bumped by every route, link or address change. */
	uint32_t rt_gen __attribute__((aligned(64)));
	struct xlb_lpm *lpm;
	struct nh_tgt *tgt;		/* NH_TGT_MAX */
	uint32_t *tgt_refs;		/* control: routes using each */
	int32_t  *tgt_hash;		/* control: (type, gw, oif) -> id, -1 */
	uint32_t tgt_n;			/* ids handed out so far */
	uint32_t long_max;		/* the LPM's, for the log */
	bool     rt_full_logged;
	bool     tgt_full_logged;
	uint64_t next_resync;

	/* worker -> control: on-link addresses to add (0 = free) */
	uint32_t reqs[NH_REQ_SLOTS] __attribute__((aligned(64)));
	uint64_t reqs_dropped __attribute__((aligned(64)));

	/* control state */
	struct nh_tab t4;	/* the IPv4 table's control side */
	uint64_t now;
	uint64_t next_refresh;
	bool     routes_dirty;
	/* Prefixes whose routes changed since the last tick: the entries
	 * inside them are re-resolved then (all of them past NH_RT_CHANGED),
	 * so a BGP feed's churn costs nothing for the servers it misses. */
	struct { uint32_t dst, mask; } rt_changed[NH_RT_CHANGED];
	unsigned rt_changed_n;
	bool     entries_stale;	/* more than that: re-resolve them all */
	int      changes;
	struct nh6_tab *v6;		/* IPv6 entries */
};

/* The IPv6 table (issue 14): a table of its own beside the IPv4 one, built
 * the same way; its functions are at the end of the file. */
#define NH6_WORDS	(sizeof(struct xlb_nh6) / sizeof(uint32_t))
_Static_assert(sizeof(struct xlb_nh6) % sizeof(uint32_t) == 0,
	       "struct xlb_nh6 is copied as 32-bit words");
_Static_assert(sizeof(struct xlb_nh6) == 52, "struct xlb_nh6 has no padding");

#define NH6_REQ_SLOTS	64

struct nh6_slot {
	uint32_t seq;
	uint32_t state;		/* NH_EMPTY / NH_LIVE / NH_DEAD */
	uint32_t err;
	uint32_t key[4];	/* the address, network order */
	uint32_t nh[NH6_WORDS];
} __attribute__((aligned(64)));

struct nh6_ctl {
	struct nh_ent st;	/* first */
	struct xlb_nh6 nh;	/* as last published */
	struct in6_addr nhaddr;	/* whose MAC: gateway or the address; :: none */
};

struct nh6_req {
	uint32_t state;		/* 0 free, 1 being written, 2 ready */
	struct in6_addr addr;
};

struct nh6_tab {
	struct nh_tab t;	/* the control side: t.mask, t.ctl = ctl */
	struct nh6_slot *slots;
	struct nh6_ctl *ctl;
	struct nh6_req reqs[NH6_REQ_SLOTS] __attribute__((aligned(64)));
	uint64_t reqs_dropped __attribute__((aligned(64)));
};

static bool nh6_bad(const struct in6_addr *a)
{
	return IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_V4MAPPED(a);
}

static inline uint32_t nh6_hash(const struct in6_addr *a)
{
	uint32_t w[4], h;

	memcpy(w, a, 16);
	h = (w[0] * 0x9e3779b1u) ^ (w[1] * 0x85ebca6bu) ^
	    (w[2] * 0xc2b2ae35u) ^ (w[3] * 0x27d4eb2fu);
	return h ^ (h >> 15);
}

static void nh6_slot_write(struct nh6_slot *s, const struct in6_addr *key,
			   uint32_t state, int err, const struct xlb_nh6 *nh);
static void nh6_notify(struct xlb_nh_cache *c, const uint32_t key[4],
		       const struct xlb_nh6 *nh);
static bool nh6_event(struct xlb_nh_cache *c, const struct nlmsghdr *nlh);
static void nh6_settle(struct xlb_nh_cache *c);
static void nh6_tick(struct xlb_nh_cache *c, bool refresh, unsigned budget);
static int nh6_tab_new(struct nh6_tab **out, const struct xlb_nh_cache_params *p);
static void nh6_tab_free(struct nh6_tab *t);
static void nh6_entry_resolve(struct xlb_nh_cache *c, int i, bool revalidate);

#define nh_log(c, ...) do {						\
	if ((c)->p.log)							\
		(c)->p.log((c)->p.log_arg, __VA_ARGS__);		\
} while (0)

static inline uint32_t nh_ld(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void nh_st(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void nh_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline uint32_t nh_hash(uint32_t addr)
{
	uint32_t h = addr * 0x9e3779b1u;

	return h ^ (h >> 15);
}

void xlb_nh_cache_params_default(struct xlb_nh_cache_params *p)
{
	memset(p, 0, sizeof(*p));
	p->capacity = 32768;
	p->hosts_max = 4096;
	p->routes_max = 4u << 20;
	p->retry_ms = 1000;
	p->refresh_ms = 30000;
	p->probes_per_tick = 16;
	p->capacity6 = 4096;
	p->hosts6_max = 1024;
}

static void nh_slot_write(struct nh_slot *s, uint32_t key, uint32_t state,
			  int err, const struct xlb_nh *nh)
{
	uint32_t w[NH_WORDS];
	uint32_t seq = s->seq;
	unsigned k;

	memcpy(w, nh, sizeof(w));
	nh_st(&s->seq, seq + 1);
	/* Readers that see any store below also see the odd seq. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	nh_st(&s->key, key);
	nh_st(&s->state, state);
	nh_st(&s->err, (uint32_t)err);
	for (k = 0; k < NH_WORDS; k++)
		nh_st(&s->nh[k], w[k]);
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

/* Read slot s under its sequence: *match when it holds addr (then *out and
 * *err are its next hop); -EAGAIN when the writer stays inside it. */
static int nh_slot_read(const struct nh_slot *s, uint32_t addr, uint32_t *state,
			bool *match, struct xlb_nh *out, int *err)
{
	uint32_t w[NH_WORDS], s1;
	unsigned spins = 0, k;

	for (;;) {
		s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (!(s1 & 1)) {
			*state = nh_ld(&s->state);
			*match = *state == NH_LIVE && nh_ld(&s->key) == addr;
			if (*match) {
				*err = (int)nh_ld(&s->err);
				for (k = 0; k < NH_WORDS; k++)
					w[k] = nh_ld(&s->nh[k]);
			}
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (nh_ld(&s->seq) == s1)
				break;
		}
		/* The writer was preempted mid-entry: better to drop one
		 * packet than to stall the worker. */
		if (++spins >= NH_READ_SPINS)
			return -EAGAIN;
		nh_cpu_relax();
	}
	if (*match)
		memcpy(out, w, sizeof(*out));
	return 0;
}

int xlb_nh_lookup_at(const struct xlb_nh_cache *c, uint32_t addr,
		     uint32_t *slot, struct xlb_nh *out)
{
	uint32_t i, n, state;
	bool match;
	int err = 0;

	if (!addr)
		return -ENOENT;
	/* The hint first: a slot holds one address until it is removed. */
	if (*slot <= c->mask) {
		if (nh_slot_read(&c->slots[*slot], addr, &state, &match, out, &err))
			return -EAGAIN;
		if (match)
			return err;
	}
	i = nh_hash(addr) & c->mask;
	for (n = 0; n < NH_PROBE_MAX; n++, i = (i + 1) & c->mask) {
		if (nh_slot_read(&c->slots[i], addr, &state, &match, out, &err))
			return -EAGAIN;
		if (state == NH_EMPTY)
			return -ENOENT;
		if (!match)
			continue;
		*slot = i;
		return err;
	}
	return -ENOENT;
}

int xlb_nh_lookup(const struct xlb_nh_cache *c, uint32_t addr,
		  struct xlb_nh *out)
{
	uint32_t slot = UINT32_MAX;

	return xlb_nh_lookup_at(c, addr, &slot, out);
}

/* ---- the state machine, both families -------------------------------- */

/* Zeroed slots (NH_EMPTY), slot_size bytes each, and control parts for t
 * (t->capacity, t->ctl_size set): at most half full at capacity, so that
 * probe chains stay short. NULL when out of memory. */
static void *nh_tab_alloc(struct nh_tab *t, size_t slot_size)
{
	uint32_t n = 64;
	void *slots;

	while (n < 2 * t->capacity)
		n <<= 1;
	t->mask = n - 1;
	slots = aligned_alloc(64, n * slot_size);
	t->ctl = calloc(n, t->ctl_size);
	if (!slots || !t->ctl) {
		free(slots);
		free(t->ctl);
		t->ctl = NULL;
		return NULL;
	}
	memset(slots, 0, n * slot_size);
	return slots;
}

static void nh_entry_resolve(struct xlb_nh_cache *c, int i, bool revalidate);
static void nh_notify(struct xlb_nh_cache *c, uint32_t addr,
		      const struct xlb_nh *nh);

/* Family dispatch: with the lookups, the only code that knows both slot
 * layouts. The control thread reads slots plainly: it is their only
 * writer. */
static uint32_t nh_tab_hash(const struct nh_tab *t, const void *addr)
{
	if (t->family == AF_INET6)
		return nh6_hash(addr);
	return nh_hash(*(const uint32_t *)addr);
}

/* Slot i of t: its state, and in *holds whether its key is addr. */
static uint32_t nh_tab_slot(const struct xlb_nh_cache *c, const struct nh_tab *t,
			    uint32_t i, const void *addr, bool *holds)
{
	if (t->family == AF_INET6) {
		const struct nh6_slot *s = &c->v6->slots[i];

		*holds = !memcmp(s->key, addr, 16);
		return s->state;
	}
	*holds = c->slots[i].key == *(const uint32_t *)addr;
	return c->slots[i].state;
}

/* Publish slot i of t without a next hop: key (NULL: the one it has),
 * state and err. */
static void nh_tab_blank(struct xlb_nh_cache *c, const struct nh_tab *t,
			 uint32_t i, const void *key, uint32_t state, int err)
{
	if (t->family == AF_INET6) {
		static const struct xlb_nh6 zero6;
		struct nh6_slot *s = &c->v6->slots[i];
		struct in6_addr k;

		memcpy(&k, key ? key : (const void *)s->key, 16);
		nh6_slot_write(s, &k, state, err, &zero6);
	} else {
		static const struct xlb_nh zero;
		struct nh_slot *s = &c->slots[i];

		nh_slot_write(s, key ? *(const uint32_t *)key : s->key, state,
			      err, &zero);
	}
}

/* Tell the daemon that slot i's address is no longer usable. */
static void nh_tab_gone(struct xlb_nh_cache *c, const struct nh_tab *t,
			uint32_t i)
{
	if (t->family == AF_INET6)
		nh6_notify(c, c->v6->slots[i].key, NULL);
	else
		nh_notify(c, c->slots[i].key, NULL);
}

static void nh_tab_resolve(struct xlb_nh_cache *c, const struct nh_tab *t,
			   uint32_t i, bool revalidate)
{
	if (t->family == AF_INET6)
		nh6_entry_resolve(c, (int)i, revalidate);
	else
		nh_entry_resolve(c, (int)i, revalidate);
}

/* addr's probe chain in t: the slot holding it, or -1 with *free_i the
 * first an insert may take (a tombstone or the empty slot that ends the
 * chain; -1: none within NH_PROBE_MAX). */
static int nh_tab_walk(const struct xlb_nh_cache *c, const struct nh_tab *t,
		       const void *addr, int *free_i)
{
	uint32_t i = nh_tab_hash(t, addr) & t->mask, n, state;
	bool holds;

	*free_i = -1;
	for (n = 0; n < NH_PROBE_MAX; n++, i = (i + 1) & t->mask) {
		state = nh_tab_slot(c, t, i, addr, &holds);
		if (state == NH_LIVE && holds)
			return (int)i;
		if (state != NH_LIVE && *free_i < 0)
			*free_i = (int)i;
		if (state == NH_EMPTY)
			break;
	}
	return -1;
}

static int nh_tab_find(const struct xlb_nh_cache *c, const struct nh_tab *t,
		       const void *addr)
{
	int free_i;

	return nh_tab_walk(c, t, addr, &free_i);
}

/* addr's entry in t, a new one (pending until resolved) if need be; or
 * -ENOSPC. Slots never return to EMPTY: a reader's chain is never cut. */
static int nh_tab_insert(struct xlb_nh_cache *c, struct nh_tab *t,
			 const void *addr)
{
	int free_i, i = nh_tab_walk(c, t, addr, &free_i);
	struct nh_ent *e;

	if (i >= 0)
		return i;
	if (free_i < 0 || t->live >= t->capacity)
		return -ENOSPC;
	e = nh_ent(t, (uint32_t)free_i);
	memset(e, 0, t->ctl_size);
	e->live = true;
	e->err = -EAGAIN;
	e->backoff = c->p.retry_ms;
	t->live++;
	nh_tab_blank(c, t, (uint32_t)free_i, addr, NH_LIVE, -EAGAIN);
	return free_i;
}

/* Entry i leaves t: its slot becomes a tombstone (NH_DEAD). */
static void nh_tab_remove(struct xlb_nh_cache *c, struct nh_tab *t, uint32_t i)
{
	struct nh_ent *e = nh_ent(t, i);
	bool was_usable = e->err == 0;

	t->full_logged = false;
	if (e->flags & NH_F_HOST)
		t->hosts--;
	t->live--;
	nh_tab_blank(c, t, i, NULL, NH_DEAD, -ENOENT);
	memset(e, 0, t->ctl_size);
	if (was_usable)
		nh_tab_gone(c, t, i);
}

/* The IPv4 forms. */
static int nh_find(const struct xlb_nh_cache *c, uint32_t addr)
{
	return nh_tab_find(c, &c->t4, &addr);
}

static int nh_insert(struct xlb_nh_cache *c, uint32_t addr)
{
	return nh_tab_insert(c, &c->t4, &addr);
}

static void nh_remove(struct xlb_nh_cache *c, int i)
{
	nh_tab_remove(c, &c->t4, (uint32_t)i);
}

/* A new state for entry e whose published next hop (len bytes) is *cur:
 * false when nothing changed; else e->err and *cur take it, and *tell says
 * whether the daemon must hear of it (usable or not, and if usable, any
 * field). A usable state resets the retry backoff. */
static bool nh_ent_update(const struct xlb_nh_cache *c, struct nh_ent *e,
			  void *cur, const void *nh, size_t len, int err,
			  bool *tell)
{
	bool was = e->err == 0, is = err == 0;
	bool same_nh = !memcmp(cur, nh, len);

	if (is)
		e->backoff = c->p.retry_ms;
	if (e->err == err && same_nh)
		return false;
	e->err = err;
	memcpy(cur, nh, len);
	*tell = was != is || (is && !same_nh);
	return true;
}

/* The next probe of a pending entry: the interval doubles, up to
 * retry_ms x NH_BACKOFF_MAX. */
static void nh_backoff(const struct xlb_nh_cache *c, struct nh_ent *e)
{
	e->next_probe = c->now + e->backoff;
	if (e->backoff < (uint64_t)c->p.retry_ms * NH_BACKOFF_MAX)
		e->backoff *= 2;
}

/* After a resolution of entry e (towards addr; neighbour nhaddr in state
 * nud on ifindex, 0: no route got that far) that gave err: a neighbour the
 * kernel does not know or gave up on is solicited again, at e's backoff;
 * with revalidate, a STALE one is confirmed (STALE -> DELAY -> PROBE: a
 * unicast probe, and an event tells us if the MAC changed). */
static void nh_ent_probe(struct xlb_nh_cache *c, struct nh_ent *e, int family,
			 int err, int ifindex, int nud,
			 const void *nhaddr, const void *addr, bool revalidate)
{
	if (err == -EAGAIN && ifindex && nh_needs_probe(nud) &&
	    c->now >= e->next_probe) {
		(void)nh_trigger(&c->req, family, ifindex, nhaddr, addr);
		nh_backoff(c, e);
	} else if (err == 0 && revalidate && (nud & NUD_STALE)) {
		(void)nh_neigh_use(&c->req, family, ifindex, nhaddr);
	}
}

/* A neighbour event (n; gone: deleted) for entry e, whose neighbour it
 * names: 0 with its MAC in dmac, else -EAGAIN with dmac zeroed, and a probe
 * due when the kernel deleted it or gave up (nobody else will ask again). */
static int nh_ent_neigh(struct nh_ent *e, bool gone, const struct nh_neigh *n,
			uint8_t dmac[6])
{
	if (!gone && (n->state & NH_NUD_OK) && n->has_mac) {
		memcpy(dmac, n->mac, 6);
		return 0;
	}
	memset(dmac, 0, 6);
	if (gone || n->state == NUD_NONE || (n->state & NUD_FAILED))
		e->probe_due = true;
	return -EAGAIN;
}

/* Whether a neighbour event may touch entry e: held, and resolved or only
 * waiting for its neighbour (not unroutable). */
static bool nh_ent_follows_neigh(const struct nh_ent *e)
{
	return e->live && (e->err == 0 || e->err == -EAGAIN);
}

/* The table is full: said once until an entry goes (packets keep asking). */
static void nh_full(struct xlb_nh_cache *c, struct nh_tab *t)
{
	if (!t->full_logged) {
		if (t->family == AF_INET6)
			nh_log(c, "nexthop: IPv6 next-hop cache full (capacity %u)",
			       t->capacity);
		else
			nh_log(c, "nexthop: next-hop cache full (capacity %u "
			       "addresses: real servers, gateways, on-link "
			       "clients)", t->capacity);
	}
	t->full_logged = true;
}

/* Evict the oldest client of t nobody else needs. */
static bool nh_evict_host(struct xlb_nh_cache *c, struct nh_tab *t)
{
	int victim = -1;
	uint32_t i;

	for (i = 0; i <= t->mask; i++) {
		const struct nh_ent *e = nh_ent(t, i);

		if (!e->live || e->flags != NH_F_HOST || e->refs)
			continue;
		if (victim < 0 || e->host_gen < nh_ent(t, (uint32_t)victim)->host_gen)
			victim = (int)i;
	}
	if (victim < 0)
		return false;
	nh_tab_remove(c, t, (uint32_t)victim);
	return true;
}

/* Add a reason (a ref, or a flag) to hold addr (a valid address of t's
 * family); resolve it when new. */
static int nh_hold(struct xlb_nh_cache *c, struct nh_tab *t, const void *addr,
		   uint8_t flag)
{
	struct nh_ent *e;
	bool fresh;
	int i;

	i = nh_tab_find(c, t, addr);
	fresh = i < 0;
	if (flag == NH_F_HOST &&
	    (i < 0 || !(nh_ent(t, (uint32_t)i)->flags & NH_F_HOST)) &&
	    t->hosts >= t->hosts_max) {
		if (!t->hosts_full_logged)
			nh_log(c, "nexthop: %u %s clients held (%s): evicting "
			       "the oldest", t->hosts_max,
			       t->family == AF_INET6 ? "IPv6" : "on-link",
			       t->family == AF_INET6 ? "hosts6_max" : "hosts_max");
		t->hosts_full_logged = true;
		if (!nh_evict_host(c, t))
			return -ENOSPC;
	}
	if (fresh) {
		i = nh_tab_insert(c, t, addr);
		if (i < 0) {
			nh_full(c, t);
			return i;
		}
	}
	e = nh_ent(t, (uint32_t)i);
	if (flag) {
		if (flag == NH_F_HOST && !(e->flags & NH_F_HOST)) {
			t->hosts++;
			e->host_gen = ++t->host_gen;
		}
		e->flags |= flag;
	} else {
		e->refs++;
	}
	if (fresh)
		nh_tab_resolve(c, t, (uint32_t)i, false);
	return 0;
}

/* Drop one want of entry i of t (-1: not held). */
static int nh_unhold(struct xlb_nh_cache *c, struct nh_tab *t, int i)
{
	struct nh_ent *e = i < 0 ? NULL : nh_ent(t, (uint32_t)i);

	if (!e || !e->refs)
		return -ENOENT;
	if (!--e->refs && !e->flags)
		nh_tab_remove(c, t, (uint32_t)i);
	return 0;
}

/* Re-resolve the live entries of t that are marked (dirty, probe due), or
 * all of them. */
static void nh_resolve_marked(struct xlb_nh_cache *c, struct nh_tab *t,
			      bool all, bool revalidate)
{
	uint32_t i;

	for (i = 0; i <= t->mask; i++) {
		const struct nh_ent *e = nh_ent(t, i);

		if (e->live && (all || e->dirty || e->probe_due))
			nh_tab_resolve(c, t, i, revalidate);
	}
}

/* Unresolved entries of t whose time has come, at most budget of them,
 * round-robin so that a crowd of dead servers cannot starve the others. */
static void nh_retry_due(struct xlb_nh_cache *c, struct nh_tab *t,
			 unsigned budget)
{
	uint32_t n, i;

	for (n = 0; n <= t->mask && budget; n++) {
		struct nh_ent *e;

		i = (t->tick_pos + n) & t->mask;
		e = nh_ent(t, i);
		if (!e->live || !e->err || e->next_probe > c->now)
			continue;
		budget--;
		nh_tab_resolve(c, t, i, false);
		if (e->err && e->next_probe <= c->now)
			nh_backoff(c, e);
	}
	t->tick_pos = (t->tick_pos + n) & t->mask;
}

static void nh_notify(struct xlb_nh_cache *c, uint32_t addr,
		      const struct xlb_nh *nh)
{
	c->changes++;
	if (c->p.on_change)
		c->p.on_change(addr, nh, c->p.arg);
}

/* Publish a new state for entry i; tell the daemon when what it may use
 * changed (usable or not, and if usable, any field). */
static void nh_entry_set(struct xlb_nh_cache *c, int i, int err,
			 const struct xlb_nh *nh)
{
	struct nh_ctl *e = &c->ctl[i];
	uint32_t key = c->slots[i].key;
	bool tell;

	if (!nh_ent_update(c, &e->st, &e->nh, nh, sizeof(*nh), err, &tell))
		return;
	nh_slot_write(&c->slots[i], key, NH_LIVE, err, nh);
	if (tell)
		nh_notify(c, key, err ? NULL : nh);
}

static void nh_entry_resolve(struct xlb_nh_cache *c, int i, bool revalidate)
{
	struct nh_ctl *e = &c->ctl[i];
	uint32_t addr = c->slots[i].key;
	struct nh_res r;
	int err;

	e->st.dirty = false;
	e->st.probe_due = false;
	err = nh_resolve(&c->req, addr, &r);
	if (err == 0 || err == -EAGAIN)
		e->nhaddr = r.nhaddr;
	else
		e->nhaddr = 0;
	nh_ent_probe(c, &e->st, AF_INET, err, r.nh.ifindex, r.nud, &r.nhaddr,
		     &addr, revalidate);
	nh_entry_set(c, i, err, &r.nh);
}

/* IPv4 holds: 0.0.0.0 is no address. */
static int nh4_hold(struct xlb_nh_cache *c, uint32_t addr, uint8_t flag)
{
	return addr ? nh_hold(c, &c->t4, &addr, flag) : -EINVAL;
}

int xlb_nh_want(struct xlb_nh_cache *c, uint32_t addr)
{
	return nh4_hold(c, addr, 0);
}

int xlb_nh_unwant(struct xlb_nh_cache *c, uint32_t addr)
{
	return nh_unhold(c, &c->t4, addr ? nh_find(c, addr) : -1);
}

int xlb_nh_cache_publish(struct xlb_nh_cache *c, uint32_t addr,
			 const struct xlb_nh *nh, int err)
{
	int i = addr ? nh_find(c, addr) : -1;

	if (i < 0)
		return -ENOENT;
	nh_entry_set(c, i, err, nh);
	return 0;
}

/* ---- route targets --------------------------------------------------- */

#define NH_TGT_HSLOTS	(2 * NH_TGT_MAX)

static uint32_t nh_tgt_hash(const struct nh_tgt *t)
{
	return nh_hash(t->gw ^ (t->oif * 0x85ebca6bu) ^ (t->type << 24)) &
	       (NH_TGT_HSLOTS - 1);
}

/* id of t, or -1 with *pos the free hash slot where it would go. The hash
 * is never more than half full, so the walk ends. */
static int nh_tgt_find(const struct xlb_nh_cache *c, const struct nh_tgt *t,
		       uint32_t *pos)
{
	uint32_t i = nh_tgt_hash(t);

	for (;; i = (i + 1) & (NH_TGT_HSLOTS - 1)) {
		int32_t id = c->tgt_hash[i];

		if (id < 0) {
			*pos = i;
			return -1;
		}
		if (!memcmp(&c->tgt[id], t, sizeof(*t)))
			return id;
	}
}

static void nh_tgt_write(struct xlb_nh_cache *c, uint32_t id, const struct nh_tgt *t)
{
	uint32_t w[NH_TGT_WORDS], k;

	memcpy(w, t, sizeof(w));
	for (k = 0; k < NH_TGT_WORDS; k++)
		nh_st((uint32_t *)&c->tgt[id] + k, w[k]);
}

/* Gateways of main-table routes are held (counted) so that their MACs are
 * known before the first NAT reply needs one. Resolved at the next settle:
 * this may run inside a dump on the request socket. */
static void nh_gw_hold(struct xlb_nh_cache *c, uint32_t gw)
{
	int i = nh_find(c, gw);

	if (i < 0) {
		i = nh_insert(c, gw);
		if (i < 0) {
			nh_full(c, &c->t4);
			return;
		}
		c->ctl[i].st.dirty = true;
	}
	c->ctl[i].gw_refs++;
	c->ctl[i].st.flags |= NH_F_GW;
}

static void nh_gw_release(struct xlb_nh_cache *c, uint32_t gw)
{
	int i = nh_find(c, gw);

	if (i < 0 || !c->ctl[i].gw_refs || --c->ctl[i].gw_refs)
		return;
	c->ctl[i].st.flags &= (uint8_t)~NH_F_GW;
	if (!c->ctl[i].st.refs && !c->ctl[i].st.flags)
		nh_remove(c, i);
}

static void nh_tgt_ref(struct xlb_nh_cache *c, uint32_t id)
{
	if (c->tgt_refs[id]++ == 0 && c->tgt[id].gw)
		nh_gw_hold(c, c->tgt[id].gw);
}

static void nh_tgt_unref(struct xlb_nh_cache *c, uint32_t id)
{
	if (id >= c->tgt_n || !c->tgt_refs[id])
		return;
	if (--c->tgt_refs[id] == 0 && c->tgt[id].gw)
		nh_gw_release(c, c->tgt[id].gw);
}

/* The id of target t with one more reference, or -ENOSPC. Ids of unused
 * targets are recycled only when all NH_TGT_MAX were handed out; the words
 * are rewritten inside the route table's window, so a worker that read the
 * old id retries. */
static int nh_tgt_get(struct xlb_nh_cache *c, const struct nh_tgt *t)
{
	uint32_t pos, id, i;
	int found = nh_tgt_find(c, t, &pos);

	if (found >= 0) {
		nh_tgt_ref(c, (uint32_t)found);
		return found;
	}
	if (c->tgt_n < NH_TGT_MAX) {
		id = c->tgt_n++;
		nh_tgt_write(c, id, t);
	} else {
		for (id = 0; id < NH_TGT_MAX && c->tgt_refs[id]; id++)
			;
		if (id == NH_TGT_MAX)
			return -ENOSPC;
		xlb_lpm_write_begin(c->lpm);
		nh_tgt_write(c, id, t);
		xlb_lpm_write_end(c->lpm);
		for (i = 0; i < NH_TGT_HSLOTS; i++)
			c->tgt_hash[i] = -1;
		for (i = 0; i < c->tgt_n; i++) {
			(void)nh_tgt_find(c, &c->tgt[i], &pos);
			c->tgt_hash[pos] = (int32_t)i;
		}
		nh_tgt_ref(c, id);
		return (int)id;
	}
	c->tgt_hash[pos] = (int32_t)id;
	nh_tgt_ref(c, id);
	return (int)id;
}

static void nh_gen_bump(struct xlb_nh_cache *c)
{
	uint32_t g = c->rt_gen + 1;

	__atomic_store_n(&c->rt_gen, g ? g : 1, __ATOMIC_RELEASE);
}

/* ---- the main table -------------------------------------------------- */

static uint32_t nh_plen_mask(uint8_t plen)
{
	return plen ? htonl(~0u << (32 - plen)) : 0;
}

/* Routes that decide where a packet to a NAT client goes. Routes with a TOS
 * match only packets of that TOS: left out, as are other tables. */
static bool nh_rt_wanted(const struct nh_rt *r)
{
	if (r->table != RT_TABLE_MAIN || (r->flags & RTM_F_CLONED) ||
	    r->plen > 32 || r->tos)
		return false;
	switch (r->type) {
	case RTN_UNICAST:
	case RTN_BLACKHOLE:
	case RTN_UNREACHABLE:
	case RTN_PROHIBIT:
		return true;
	default:
		return false;
	}
}

static void nh_rt_add(struct xlb_nh_cache *c, const struct nh_rt *r)
{
	struct nh_tgt t = { .type = r->type };
	uint32_t old;
	int id, rc;

	if (r->type == RTN_UNICAST) {
		t.gw = r->gw;
		t.oif = (uint32_t)r->oif;
	}
	id = nh_tgt_get(c, &t);
	if (id < 0) {
		if (!c->tgt_full_logged)
			nh_log(c, "nexthop: more than %u distinct route targets "
			       "(gateway, interface): routes to new ones are not used",
			       NH_TGT_MAX);
		c->tgt_full_logged = true;
		return;
	}
	rc = xlb_lpm_add(c->lpm, r->dst, r->plen, r->prio, (uint32_t)id, &old);
	if (rc < 0) {
		nh_tgt_unref(c, (uint32_t)id);
		if (!c->rt_full_logged)
			nh_log(c, "nexthop: main table beyond the route table's "
			       "limits (routes_max %u routes, of which %u longer "
			       "than /24): the routes beyond are not used for NAT "
			       "replies (%s)", c->p.routes_max, c->long_max,
			       strerror(-rc));
		c->rt_full_logged = true;
		return;
	}
	if (rc == 1) {
		nh_tgt_unref(c, old);
		if (old == (uint32_t)id)
			return;		/* the same route again (a re-read) */
	}
	nh_gen_bump(c);
}

static void nh_rt_del(struct xlb_nh_cache *c, const struct nh_rt *r)
{
	uint32_t old;

	if (xlb_lpm_del(c->lpm, r->dst, r->plen, r->prio, &old))
		return;
	nh_tgt_unref(c, old);
	c->rt_full_logged = false;
	nh_gen_bump(c);
}

static int nh_rt_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct xlb_nh_cache *c = data;
	struct nh_rt r;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	if (nh_rt_parse(nlh, &r) < 0)
		return MNL_CB_OK;	/* one odd route must not hide the rest */
	if (nh_rt_wanted(&r))
		nh_rt_add(c, &r);
	return MNL_CB_OK;
}

static void nh_rt_gone(uint32_t val, void *arg)
{
	nh_tgt_unref(arg, val);
}

static void nh_resolve_dirty(struct xlb_nh_cache *c)
{
	uint32_t i;

	for (i = 0; i <= c->mask; i++)
		if (c->slots[i].state == NH_LIVE && c->ctl[i].st.dirty)
			nh_entry_resolve(c, (int)i, false);
}

/*
 * Re-read the whole main table (at start, after lost events, after events
 * the kernel does not announce route by route) and bring the route table
 * in step: every route of the dump is added or refreshed, then the ones it
 * did not show are swept. Workers see the surviving routes throughout.
 */
static int nh_routes_refresh(struct xlb_nh_cache *c)
{
	char req[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	struct rtmsg *rtm;
	int err;

	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	xlb_lpm_mark(c->lpm);
	err = nh_nl_talk(&c->req, nlh, nh_rt_dump_cb, c);
	if (err) {
		/* A partial dump must not sweep what it did not reach. */
		nh_log(c, "nexthop: reading the routing table: %s", strerror(-err));
	} else if (xlb_lpm_sweep(c->lpm, nh_rt_gone, c)) {
		nh_gen_bump(c);
	}
	nh_resolve_dirty(c);
	return err;
}

/* The target of the longest prefix holding addr (the LPM value and the
 * target's words read in one sequence window). */
static int nh_route_find(const struct xlb_nh_cache *c, uint32_t addr,
			 struct nh_tgt *out)
{
	unsigned spins;

	for (spins = 0; spins < NH_READ_SPINS; spins++) {
		uint32_t s = xlb_lpm_read_begin(c->lpm), id = 0, w[NH_TGT_WORDS], k;
		int rc;

		if (!(s & 1)) {
			rc = xlb_lpm_find(c->lpm, addr, &id);
			if (!rc && id >= NH_TGT_MAX)
				rc = -EAGAIN;	/* torn: the retry says so */
			if (!rc)
				for (k = 0; k < NH_TGT_WORDS; k++)
					w[k] = nh_ld((const uint32_t *)&c->tgt[id] + k);
			if (!xlb_lpm_read_retry(c->lpm, s)) {
				if (rc)
					return rc == -ENOENT ? -ENETUNREACH : rc;
				memcpy(out, w, sizeof(*out));
				return 0;
			}
		}
		nh_cpu_relax();
	}
	return -EAGAIN;
}

/* Worker side: ask the control thread to hold addr. Lock-free; duplicates
 * collapse; when every slot near addr's is taken the request is dropped
 * (and counted): the worker asks again with its next packet. */
static void nh_request(struct xlb_nh_cache *c, uint32_t addr)
{
	uint32_t i = nh_hash(addr) & (NH_REQ_SLOTS - 1), n;

	for (n = 0; n < 8; n++, i = (i + 1) & (NH_REQ_SLOTS - 1)) {
		uint32_t cur = __atomic_load_n(&c->reqs[i], __ATOMIC_RELAXED);

		if (cur == addr)
			return;
		if (cur)
			continue;
		if (__atomic_compare_exchange_n(&c->reqs[i], &cur, addr, false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED)
		    || cur == addr)
			return;
	}
	__atomic_fetch_add(&c->reqs_dropped, 1, __ATOMIC_RELAXED);
}

static void nh_take_requests(struct xlb_nh_cache *c)
{
	unsigned i;

	for (i = 0; i < NH_REQ_SLOTS; i++) {
		uint32_t addr;
		int err;

		if (!__atomic_load_n(&c->reqs[i], __ATOMIC_RELAXED))
			continue;
		addr = __atomic_exchange_n(&c->reqs[i], 0, __ATOMIC_ACQUIRE);
		if (!addr)
			continue;
		/* A full cache was said once by nh_hold(); workers ask
		 * again with every packet. */
		err = nh4_hold(c, addr, NH_F_HOST);
		if (err && err != -ENOSPC)
			nh_log(c, "nexthop: cannot hold on-link client: %s",
			       strerror(-err));
	}
}

int xlb_nh_lookup_route_at(struct xlb_nh_cache *c, uint32_t addr,
			   struct xlb_nh_hint *h, struct xlb_nh *out)
{
	uint32_t gen = __atomic_load_n(&c->rt_gen, __ATOMIC_ACQUIRE), nhaddr;
	struct nh_tgt t;
	int err;

	/* No route changed since the hint was taken: its neighbour is still
	 * the one, and its slot gives the MAC of now. */
	if (h->nhaddr && h->gen == gen) {
		err = xlb_nh_lookup_at(c, h->nhaddr, &h->slot, out);
		if (err != -ENOENT) {
			out->gw = h->gw;
			return err;
		}
	}
	h->nhaddr = 0;
	err = nh_route_find(c, addr, &t);
	if (err)
		return err;
	switch (t.type) {
	case RTN_UNICAST:
		break;
	case RTN_UNREACHABLE:
		return -EHOSTUNREACH;
	case RTN_PROHIBIT:
		return -EACCES;
	default:
		return -ENETUNREACH;
	}
	nhaddr = t.gw ? t.gw : addr;
	err = xlb_nh_lookup_at(c, nhaddr, &h->slot, out);
	if (err == -ENOENT) {
		nh_request(c, nhaddr);
		return -EAGAIN;
	}
	h->gen = gen;
	h->nhaddr = nhaddr;
	h->gw = t.gw;
	out->gw = t.gw;
	return err;
}

int xlb_nh_lookup_route(struct xlb_nh_cache *c, uint32_t addr,
			struct xlb_nh *out)
{
	struct xlb_nh_hint h = { 0 };

	return xlb_nh_lookup_route_at(c, addr, &h, out);
}

void xlb_nh_cache_stats(const struct xlb_nh_cache *c, struct xlb_nh_stats *s)
{
	uint32_t i, targets = 0;

	for (i = 0; i < c->tgt_n; i++)
		targets += c->tgt_refs[i] != 0;
	*s = (struct xlb_nh_stats){
		.routes = xlb_lpm_count(c->lpm),
		.routes_max = c->p.routes_max,
		.route_targets = targets,
		.route_memory_kib = xlb_lpm_memory(c->lpm) / 1024,
		.entries = c->t4.live,
		.capacity = c->p.capacity,
		.hosts = c->t4.hosts,
		.hosts_max = c->p.hosts_max,
		.requests_dropped = __atomic_load_n(&c->reqs_dropped, __ATOMIC_RELAXED) +
			(c->v6 ? __atomic_load_n(&c->v6->reqs_dropped, __ATOMIC_RELAXED) : 0),
		.entries6 = c->v6 ? c->v6->t.live : 0,
		.capacity6 = c->p.capacity6,
		.hosts6 = c->v6 ? c->v6->t.hosts : 0,
		.hosts6_max = c->p.hosts6_max,
	};
}

uint32_t xlb_nh_route_gen(const struct xlb_nh_cache *c)
{
	return __atomic_load_n(&c->rt_gen, __ATOMIC_ACQUIRE);
}

uint32_t xlb_nh_route_count(const struct xlb_nh_cache *c)
{
	return xlb_lpm_count(c->lpm);
}

/* ---- events ---------------------------------------------------------- */

static void nh_on_neigh(struct xlb_nh_cache *c, const struct nlmsghdr *nlh)
{
	bool gone = nlh->nlmsg_type == RTM_DELNEIGH;
	struct nh_neigh n;
	uint32_t dst, i;
	int ifindex;

	if (nh_neigh_parse(nlh, AF_INET, &ifindex, &dst, &n) < 0)
		return;
	for (i = 0; i <= c->mask; i++) {
		struct nh_ctl *e = &c->ctl[i];
		struct xlb_nh nh;
		int err;

		if (!nh_ent_follows_neigh(&e->st) || e->nhaddr != dst ||
		    e->nh.ifindex != ifindex)
			continue;
		nh = e->nh;
		err = nh_ent_neigh(&e->st, gone, &n, nh.dmac);
		nh_entry_set(c, (int)i, err, &nh);
	}
}

static void nh_mark_ifindex(struct xlb_nh_cache *c, int ifindex)
{
	uint32_t i;

	for (i = 0; i <= c->mask; i++)
		if (c->slots[i].state == NH_LIVE && c->ctl[i].nh.ifindex == ifindex)
			c->ctl[i].st.dirty = true;
}

static int nh_event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct xlb_nh_cache *c = data;
	size_t len = mnl_nlmsg_get_payload_len(nlh);

	if (nh6_event(c, nlh))
		return MNL_CB_OK;
	switch (nlh->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		nh_on_neigh(c, nlh);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE: {
		struct nh_rt r;

		/* Applied one by one: a full table is never re-read for one
		 * route. The entries (real servers, gateways) follow at the
		 * next tick, once per burst. */
		if (len < sizeof(struct rtmsg) ||
		    ((const struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_family
		    != AF_INET || nh_rt_parse(nlh, &r) < 0 || !nh_rt_wanted(&r))
			break;
		if (nlh->nlmsg_type == RTM_NEWROUTE)
			nh_rt_add(c, &r);
		else
			nh_rt_del(c, &r);
		if (c->rt_changed_n < NH_RT_CHANGED) {
			uint32_t m = nh_plen_mask(r.plen);

			c->rt_changed[c->rt_changed_n].dst = r.dst & m;
			c->rt_changed[c->rt_changed_n++].mask = m;
		} else {
			c->entries_stale = true;
		}
		break;
	}
	case RTM_NEWLINK:
		if (len >= sizeof(struct ifinfomsg)) {
			const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

			nh_mark_ifindex(c, ifi->ifi_index);
			/* A device going down loses its routes without a
			 * DELROUTE for each: re-read the table, once, when it
			 * goes down (not at every event of a device that is
			 * down: a re-read of a full table takes seconds). */
			if ((ifi->ifi_change & IFF_UP) && !(ifi->ifi_flags & IFF_UP))
				c->routes_dirty = true;
		}
		break;
	case RTM_DELLINK:
		c->routes_dirty = c->t4.all_dirty = true;
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		/* The preferred source of a route may come from any
		 * interface: re-resolve everything. Address events are rare.
		 * Routes through a deleted address go silently, too. */
		if (len >= sizeof(struct ifaddrmsg) &&
		    ((const struct ifaddrmsg *)mnl_nlmsg_get_payload(nlh))->ifa_family
		    == AF_INET) {
			c->t4.all_dirty = true;
			if (nlh->nlmsg_type == RTM_DELADDR)
				c->routes_dirty = true;
			nh_gen_bump(c);
		}
		break;
	}
	return MNL_CB_OK;
}

static void nh_settle(struct xlb_nh_cache *c)
{
	if (c->routes_dirty) {
		c->routes_dirty = false;
		(void)nh_routes_refresh(c);
	}
	nh_resolve_marked(c, &c->t4, c->t4.all_dirty, false);
	c->t4.all_dirty = false;
	nh6_settle(c);
}

int xlb_nh_cache_process(struct xlb_nh_cache *c)
{
	ssize_t n;

	c->changes = 0;
	for (;;) {
		n = mnl_socket_recvfrom(c->ev.nl, c->ev.buf, NH_BUF_SIZE);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* Events were lost: trust nothing. */
				nh_log(c, "nexthop: event overrun, re-reading all");
				c->routes_dirty = c->t4.all_dirty = true;
				continue;
			}
			return -errno;
		}
		(void)mnl_cb_run(c->ev.buf, n, 0, 0, nh_event_cb, c);
	}
	nh_take_requests(c);
	nh_settle(c);
	return c->changes;
}

int xlb_nh_cache_tick(struct xlb_nh_cache *c, uint64_t now_ms)
{
	uint32_t i, n;

	c->changes = 0;
	if (now_ms > c->now)
		c->now = now_ms;
	nh_take_requests(c);
	if (!c->next_refresh) {
		c->next_refresh = c->now + c->p.refresh_ms;
		c->next_resync = c->next_refresh;
	} else if (c->now >= c->next_refresh) {
		c->next_refresh = c->now + c->p.refresh_ms;
		/* Events keep the table in step; the re-read is a safety net,
		 * spaced out for large tables (a million routes take seconds
		 * of this thread to dump). */
		if (c->now >= c->next_resync) {
			(void)nh_routes_refresh(c);
			c->next_resync = c->now + (uint64_t)c->p.refresh_ms *
				(1 + xlb_lpm_count(c->lpm) / NH_RESYNC_ROUTES);
		}
		nh_resolve_marked(c, &c->t4, true, true);
		c->entries_stale = false;
		c->rt_changed_n = 0;
		nh6_tick(c, true, 0);
		return c->changes;
	}
	if (c->entries_stale || c->rt_changed_n) {
		for (i = 0; i <= c->mask; i++) {
			uint32_t key = c->slots[i].key;
			bool hit = c->entries_stale;

			for (n = 0; !hit && n < c->rt_changed_n; n++)
				hit = (key & c->rt_changed[n].mask) == c->rt_changed[n].dst;
			if (hit && c->slots[i].state == NH_LIVE)
				nh_entry_resolve(c, (int)i, false);
		}
		c->entries_stale = false;
		c->rt_changed_n = 0;
	}
	nh_retry_due(c, &c->t4, c->p.probes_per_tick);
	nh6_tick(c, false, c->p.probes_per_tick);
	return c->changes;
}

int xlb_nh_cache_fd(const struct xlb_nh_cache *c)
{
	return mnl_socket_get_fd(c->ev.nl);
}

static int nh_subscribe(struct nh_nl *s)
{
	static const int groups[] = {
		RTNLGRP_LINK, RTNLGRP_NEIGH, RTNLGRP_IPV4_IFADDR,
		RTNLGRP_IPV4_ROUTE,
	};
	int fd = mnl_socket_get_fd(s->nl), rcvbuf = 1 << 20;
	unsigned k;

	static const int groups6[] = { RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE };

	for (k = 0; k < sizeof(groups) / sizeof(groups[0]); k++) {
		int g = groups[k];

		if (mnl_socket_setsockopt(s->nl, NETLINK_ADD_MEMBERSHIP, &g,
					  sizeof(g)) < 0)
			return -errno;
	}
	/* A kernel without IPv6 has no IPv6 events: not an error. */
	for (k = 0; k < sizeof(groups6) / sizeof(groups6[0]); k++) {
		int g = groups6[k];

		(void)mnl_socket_setsockopt(s->nl, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g));
	}
	/* Bursts (a link going down) must not overrun us; if they still do,
	 * ENOBUFS makes us re-read everything. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int xlb_nh_cache_init(struct xlb_nh_cache **out,
		      const struct xlb_nh_cache_params *p)
{
	struct xlb_lpm_params lp;
	struct xlb_nh_cache *c;
	uint32_t i;
	int err;

	*out = NULL;
	/* Its worker-shared parts sit on their own cache lines. */
	c = aligned_alloc(64, (sizeof(*c) + 63) & ~(size_t)63);
	if (!c)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	if (p)
		c->p = *p;
	else
		xlb_nh_cache_params_default(&c->p);
	if (!c->p.capacity || !c->p.routes_max || !c->p.retry_ms ||
	    !c->p.refresh_ms || !c->p.probes_per_tick ||
	    c->p.capacity > (1u << 24)) {
		free(c);
		return -EINVAL;
	}
	if (c->p.hosts_max > c->p.capacity)
		c->p.hosts_max = c->p.capacity;
	if (!c->p.capacity6)
		c->p.capacity6 = 4096;
	if (c->p.capacity6 > (1u << 20)) {
		free(c);
		return -EINVAL;
	}
	if (!c->p.hosts6_max || c->p.hosts6_max > c->p.capacity6)
		c->p.hosts6_max = c->p.capacity6 / 4 ? c->p.capacity6 / 4 : 1;
	c->t4 = (struct nh_tab){
		.family = AF_INET, .ctl_size = sizeof(*c->ctl),
		.capacity = c->p.capacity, .hosts_max = c->p.hosts_max,
	};
	err = -ENOMEM;
	c->slots = nh_tab_alloc(&c->t4, sizeof(*c->slots));
	c->mask = c->t4.mask;
	c->ctl = c->t4.ctl;
	c->tgt = aligned_alloc(64, NH_TGT_MAX * sizeof(*c->tgt));
	c->tgt_refs = calloc(NH_TGT_MAX, sizeof(*c->tgt_refs));
	c->tgt_hash = malloc(NH_TGT_HSLOTS * sizeof(*c->tgt_hash));
	if (!c->slots || !c->tgt || !c->tgt_refs || !c->tgt_hash)
		goto fail;
	for (i = 0; i < NH_TGT_HSLOTS; i++)
		c->tgt_hash[i] = -1;
	c->rt_gen = 1;
	xlb_lpm_params_default(&lp);
	lp.routes_max = c->p.routes_max;
	if (lp.long_max > lp.routes_max)
		lp.long_max = lp.routes_max;
	c->long_max = lp.long_max;
	err = xlb_lpm_new(&c->lpm, &lp);
	if (err)
		goto fail;
	err = nh6_tab_new(&c->v6, &c->p);
	if (err)
		goto fail;

	err = nh_nl_open(&c->req);
	if (err)
		goto fail;
	err = nh_nl_open(&c->ev);
	if (err)
		goto fail;
	err = nh_subscribe(&c->ev);
	if (err)
		goto fail;
	/* Subscribed before reading: a change between the two is not lost. */
	err = nh_routes_refresh(c);
	if (err)
		goto fail;
	nh_log(c, "nexthop: main table: %u routes, %u targets (%.1f MiB)",
	       xlb_lpm_count(c->lpm), c->tgt_n,
	       (double)xlb_lpm_memory(c->lpm) / (1 << 20));
	*out = c;
	return 0;
fail:
	xlb_nh_cache_free(c);
	return err;
}

void xlb_nh_cache_free(struct xlb_nh_cache *c)
{
	if (!c)
		return;
	if (c->ev.nl || c->ev.buf)
		nh_nl_close(&c->ev);
	if (c->req.nl || c->req.buf)
		nh_nl_close(&c->req);
	xlb_lpm_free(c->lpm);
	nh6_tab_free(c->v6);
	free(c->tgt);
	free(c->tgt_refs);
	free(c->tgt_hash);
	free(c->ctl);
	free(c->slots);
	free(c);
}

int xlb_nh_if_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		rc = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return rc;
}

/* ---- IPv6 (issue 14) --------------------------------------------------
 *
 * A table of its own beside the IPv4 one (IPv4 entries and lookups stay
 * exactly as they were), built the same way: slots under per-slot sequence
 * counters for the workers, a parallel control array, open addressing with
 * tombstones. No IPv6 routing table copy: each entry is the kernel's own
 * answer for its address (RTM_GETROUTE), and any IPv6 route, address or
 * link event re-resolves every IPv6 entry at the next settle (entries are
 * real servers, their gateways and the NAT66 clients asked for, not a BGP
 * table's worth).
 */

/* -- netlink, AF_INET6 forms (addresses are 16-byte attributes) -- */

struct nh6_rt {
	bool     found;
	uint8_t  type;
	int      oif;
	struct in6_addr gw, prefsrc;
	uint32_t mtu;
};

static int nh6_route_get_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct nh6_rt *r = data;
	const struct rtmsg *rtm;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return MNL_CB_OK;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != AF_INET6)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*rtm), nh6_rta_cb, tb) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	r->found = true;
	r->type = rtm->rtm_type;
	if (tb[RTA_OIF])
		r->oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY])
		memcpy(&r->gw, mnl_attr_get_payload(tb[RTA_GATEWAY]), 16);
	if (tb[RTA_PREFSRC])
		memcpy(&r->prefsrc, mnl_attr_get_payload(tb[RTA_PREFSRC]), 16);
	if (tb[RTA_METRICS] && nh_rt_mtu(tb[RTA_METRICS], &r->mtu) < 0) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

/* As `ip -6 route get ADDR`: the route, and the source the kernel picks. */
static int nh6_route_get(struct nh_nl *s, const struct in6_addr *addr, struct nh6_rt *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	err = nh_route_ask(s, AF_INET6, addr, nh6_route_get_cb, r);
	if (err)
		return err;
	return r->found ? 0 : -ENETUNREACH;
}

struct nh6_addr_q {
	int      ifindex;
	bool     found;
	struct in6_addr addr;
};

static int nh6_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nh6_addr_q *q = data;
	const struct ifaddrmsg *ifa;
	const struct nlattr *a;
	uint32_t flags;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET6 || (int)ifa->ifa_index != q->ifindex ||
	    q->found || ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return MNL_CB_OK;
	flags = ifa->ifa_flags;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_type(a) == IFA_FLAGS &&
		    mnl_attr_get_payload_len(a) == 4)
			flags = mnl_attr_get_u32(a);
	}
	if (flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED | IFA_F_DEPRECATED))
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		if ((mnl_attr_get_type(a) == IFA_ADDRESS ||
		     mnl_attr_get_type(a) == IFA_LOCAL) &&
		    mnl_attr_get_payload_len(a) == 16) {
			memcpy(&q->addr, mnl_attr_get_payload(a), 16);
			q->found = true;
			break;
		}
	}
	return MNL_CB_OK;
}

/* The interface's first usable global IPv6 address; :: if none. */
static int nh6_addr_get(struct nh_nl *s, int ifindex, struct in6_addr *addr)
{
	struct nh6_addr_q q = { .ifindex = ifindex };
	int err = nh_addr_dump(s, AF_INET6, nh6_addr_cb, &q);

	*addr = q.addr;
	return err;
}

struct nh6_res {
	struct xlb_nh6 nh;
	struct in6_addr nhaddr;
	int nud;
};

static int nh6_resolve(struct nh_nl *s, const struct in6_addr *addr, struct nh6_res *res)
{
	struct nh6_rt r;
	int err;

	memset(res, 0, sizeof(*res));
	res->nud = NH_NUD_ABSENT;
	if (nh6_bad(addr))
		return -EINVAL;
	if (IN6_IS_ADDR_MULTICAST(addr))
		return -EOPNOTSUPP;
	err = nh6_route_get(s, addr, &r);
	/* IPv6 answers a route get with the route's error itself: EINVAL
	 * for a blackhole (the address was checked above), EHOSTUNREACH,
	 * EACCES (prohibit), ENETUNREACH. */
	if (err == -EINVAL)
		return -ENETUNREACH;
	if (!err)
		err = nh_egress(s, r.type, r.oif, r.mtu, res->nh.smac, &res->nh.mtu);
	if (err)
		return err;
	res->nh.ifindex = r.oif;
	res->nh.gw = r.gw;
	res->nh.src = r.prefsrc;
	if (IN6_IS_ADDR_UNSPECIFIED(&res->nh.src)) {
		err = nh6_addr_get(s, r.oif, &res->nh.src);
		if (err)
			return err;
	}
	res->nhaddr = IN6_IS_ADDR_UNSPECIFIED(&r.gw) ? *addr : r.gw;
	return nh_neigh_mac(s, AF_INET6, r.oif, &res->nhaddr, &res->nud,
			    res->nh.dmac);
}

int xlb_nh_route6(const struct in6_addr *addr, struct xlb_nh6 *out)
{
	struct nh6_res r;
	struct nh_nl s;
	int err;

	err = nh_nl_open(&s);
	if (err)
		return err;
	err = nh6_resolve(&s, addr, &r);
	if (err == -EAGAIN && r.nud != NUD_INCOMPLETE && r.nh.ifindex)
		(void)nh_trigger(&s, AF_INET6, r.nh.ifindex, &r.nhaddr, addr);
	nh_nl_close(&s);
	*out = r.nh;
	return err;
}

/* -- the table -- */

static int nh6_tab_new(struct nh6_tab **out, const struct xlb_nh_cache_params *p)
{
	struct nh6_tab *t;

	*out = NULL;
	t = aligned_alloc(64, (sizeof(*t) + 63) & ~(size_t)63);
	if (!t)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	t->t = (struct nh_tab){
		.family = AF_INET6, .ctl_size = sizeof(*t->ctl),
		.capacity = p->capacity6, .hosts_max = p->hosts6_max,
	};
	t->slots = nh_tab_alloc(&t->t, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return -ENOMEM;
	}
	t->ctl = t->t.ctl;
	*out = t;
	return 0;
}

static void nh6_tab_free(struct nh6_tab *t)
{
	if (!t)
		return;
	free(t->slots);
	free(t->ctl);
	free(t);
}

static void nh6_slot_write(struct nh6_slot *s, const struct in6_addr *key, uint32_t state,
			   int err, const struct xlb_nh6 *nh)
{
	uint32_t w[NH6_WORDS], k4[4];
	uint32_t seq = s->seq;
	unsigned k;

	memcpy(w, nh, sizeof(w));
	memcpy(k4, key, 16);
	nh_st(&s->seq, seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (k = 0; k < 4; k++)
		nh_st(&s->key[k], k4[k]);
	nh_st(&s->state, state);
	nh_st(&s->err, (uint32_t)err);
	for (k = 0; k < NH6_WORDS; k++)
		nh_st(&s->nh[k], w[k]);
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

static int nh6_slot_read(const struct nh6_slot *s, const uint32_t a[4], uint32_t *state,
			 bool *match, struct xlb_nh6 *out, int *err)
{
	uint32_t w[NH6_WORDS], s1;
	unsigned spins = 0, k;

	for (;;) {
		s1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (!(s1 & 1)) {
			*state = nh_ld(&s->state);
			*match = *state == NH_LIVE &&
				 nh_ld(&s->key[0]) == a[0] && nh_ld(&s->key[1]) == a[1] &&
				 nh_ld(&s->key[2]) == a[2] && nh_ld(&s->key[3]) == a[3];
			if (*match) {
				*err = (int)nh_ld(&s->err);
				for (k = 0; k < NH6_WORDS; k++)
					w[k] = nh_ld(&s->nh[k]);
			}
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (nh_ld(&s->seq) == s1)
				break;
		}
		if (++spins >= NH_READ_SPINS)
			return -EAGAIN;
		nh_cpu_relax();
	}
	if (*match)
		memcpy(out, w, sizeof(*out));
	return 0;
}

int xlb_nh_lookup6_at(const struct xlb_nh_cache *c, const struct in6_addr *addr,
		      uint32_t *slot, struct xlb_nh6 *out)
{
	const struct nh6_tab *t = c->v6;
	uint32_t a[4], i, n, state;
	bool match;
	int err = 0;

	memcpy(a, addr, 16);
	if (!t || !(a[0] | a[1] | a[2] | a[3]))
		return -ENOENT;
	if (*slot <= t->t.mask) {
		if (nh6_slot_read(&t->slots[*slot], a, &state, &match, out, &err))
			return -EAGAIN;
		if (match)
			return err;
	}
	i = nh6_hash(addr) & t->t.mask;
	for (n = 0; n < NH_PROBE_MAX; n++, i = (i + 1) & t->t.mask) {
		if (nh6_slot_read(&t->slots[i], a, &state, &match, out, &err))
			return -EAGAIN;
		if (state == NH_EMPTY)
			return -ENOENT;
		if (!match)
			continue;
		*slot = i;
		return err;
	}
	return -ENOENT;
}

int xlb_nh_lookup6(const struct xlb_nh_cache *c, const struct in6_addr *addr,
		   struct xlb_nh6 *out)
{
	uint32_t slot = UINT32_MAX;

	return xlb_nh_lookup6_at(c, addr, &slot, out);
}

static void nh6_notify(struct xlb_nh_cache *c, const uint32_t key[4], const struct xlb_nh6 *nh)
{
	struct in6_addr a;

	c->changes++;
	memcpy(&a, key, 16);
	if (c->p.on_change6)
		c->p.on_change6(&a, nh, c->p.arg);
}

static void nh6_entry_set(struct xlb_nh_cache *c, int i, int err, const struct xlb_nh6 *nh)
{
	struct nh6_tab *t = c->v6;
	struct nh6_ctl *e = &t->ctl[i];
	struct in6_addr key;
	bool tell;

	if (!nh_ent_update(c, &e->st, &e->nh, nh, sizeof(*nh), err, &tell))
		return;
	memcpy(&key, t->slots[i].key, 16);
	nh6_slot_write(&t->slots[i], &key, NH_LIVE, err, nh);
	if (tell)
		nh6_notify(c, t->slots[i].key, err ? NULL : nh);
}

static void nh6_entry_resolve(struct xlb_nh_cache *c, int i, bool revalidate)
{
	struct nh6_tab *t = c->v6;
	struct nh6_ctl *e = &t->ctl[i];
	struct in6_addr addr;
	struct nh6_res r;
	int err;

	memcpy(&addr, t->slots[i].key, 16);
	e->st.dirty = false;
	e->st.probe_due = false;
	err = nh6_resolve(&c->req, &addr, &r);
	if (err == 0 || err == -EAGAIN)
		e->nhaddr = r.nhaddr;
	else
		memset(&e->nhaddr, 0, sizeof(e->nhaddr));
	nh_ent_probe(c, &e->st, AF_INET6, err, r.nh.ifindex, r.nud, &r.nhaddr,
		     &addr, revalidate);
	nh6_entry_set(c, i, err, &r.nh);
}

/* IPv6 holds: not :: nor v4-mapped. */
static int nh6_hold(struct xlb_nh_cache *c, const struct in6_addr *addr, uint8_t flag)
{
	if (!c->v6)
		return -ENOMEM;
	if (nh6_bad(addr))
		return -EINVAL;
	return nh_hold(c, &c->v6->t, addr, flag);
}

int xlb_nh_want6(struct xlb_nh_cache *c, const struct in6_addr *addr)
{
	return nh6_hold(c, addr, 0);
}

int xlb_nh_unwant6(struct xlb_nh_cache *c, const struct in6_addr *addr)
{
	struct nh6_tab *t = c->v6;

	if (!t)
		return -ENOENT;
	return nh_unhold(c, &t->t, !nh6_bad(addr) ? nh_tab_find(c, &t->t, addr) : -1);
}

int xlb_nh_cache_publish6(struct xlb_nh_cache *c, const struct in6_addr *addr,
			  const struct xlb_nh6 *nh, int err)
{
	int i = c->v6 && !nh6_bad(addr) ? nh_tab_find(c, &c->v6->t, addr) : -1;

	if (i < 0)
		return -ENOENT;
	nh6_entry_set(c, i, err, nh);
	return 0;
}

/* Worker -> control requests: a slot is claimed (0 -> 1), filled, then
 * marked ready (2); the control thread empties ready slots. */
static void nh6_request(struct xlb_nh_cache *c, const struct in6_addr *addr)
{
	struct nh6_tab *t = c->v6;
	uint32_t i = nh6_hash(addr) & (NH6_REQ_SLOTS - 1), n;

	for (n = 0; n < 8; n++, i = (i + 1) & (NH6_REQ_SLOTS - 1)) {
		struct nh6_req *q = &t->reqs[i];
		uint32_t cur = __atomic_load_n(&q->state, __ATOMIC_ACQUIRE);

		if (cur == 2 && !memcmp(&q->addr, addr, 16))
			return;
		if (cur)
			continue;
		if (__atomic_compare_exchange_n(&q->state, &cur, 1, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			memcpy(&q->addr, addr, 16);
			__atomic_store_n(&q->state, 2, __ATOMIC_RELEASE);
			return;
		}
	}
	__atomic_fetch_add(&t->reqs_dropped, 1, __ATOMIC_RELAXED);
}

static void nh6_take_requests(struct xlb_nh_cache *c)
{
	struct nh6_tab *t = c->v6;

	for (unsigned i = 0; t && i < NH6_REQ_SLOTS; i++) {
		struct nh6_req *q = &t->reqs[i];
		struct in6_addr a;
		int err;

		if (__atomic_load_n(&q->state, __ATOMIC_ACQUIRE) != 2)
			continue;
		a = q->addr;
		__atomic_store_n(&q->state, 0, __ATOMIC_RELEASE);
		err = nh6_hold(c, &a, NH_F_HOST);
		if (err && err != -ENOSPC && err != -EINVAL)
			nh_log(c, "nexthop: cannot hold IPv6 client: %s", strerror(-err));
	}
}

int xlb_nh_lookup_host6(struct xlb_nh_cache *c, const struct in6_addr *addr,
			uint32_t *slot, struct xlb_nh6 *out)
{
	int err = xlb_nh_lookup6_at(c, addr, slot, out);

	if (err == -ENOENT && c->v6 && !nh6_bad(addr)) {
		nh6_request(c, addr);
		return -EAGAIN;
	}
	return err;
}

/* -- events and periodic work (hooks from the IPv4 code above) -- */

static void nh6_on_neigh(struct xlb_nh_cache *c, const struct nlmsghdr *nlh)
{
	struct nh6_tab *t = c->v6;
	bool gone = nlh->nlmsg_type == RTM_DELNEIGH;
	struct in6_addr dst;
	struct nh_neigh n;
	int ifindex;

	if (nh_neigh_parse(nlh, AF_INET6, &ifindex, &dst, &n) < 0)
		return;
	for (uint32_t i = 0; i <= t->t.mask; i++) {
		struct nh6_ctl *e = &t->ctl[i];
		struct xlb_nh6 nh;
		int err;

		if (!nh_ent_follows_neigh(&e->st) || memcmp(&e->nhaddr, &dst, 16) ||
		    e->nh.ifindex != ifindex)
			continue;
		nh = e->nh;
		err = nh_ent_neigh(&e->st, gone, &n, nh.dmac);
		nh6_entry_set(c, (int)i, err, &nh);
	}
}

/* An event: true when it was IPv6's (the IPv4 code then skips it). */
static bool nh6_event(struct xlb_nh_cache *c, const struct nlmsghdr *nlh)
{
	struct nh6_tab *t = c->v6;
	size_t len = mnl_nlmsg_get_payload_len(nlh);
	const void *pl = mnl_nlmsg_get_payload(nlh);

	if (!t)
		return false;
	switch (nlh->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		if (len < sizeof(struct ndmsg) ||
		    ((const struct ndmsg *)pl)->ndm_family != AF_INET6)
			return false;
		nh6_on_neigh(c, nlh);
		return true;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		if (len < sizeof(struct rtmsg) ||
		    ((const struct rtmsg *)pl)->rtm_family != AF_INET6)
			return false;
		t->t.all_dirty = true;
		return true;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		if (len < sizeof(struct ifaddrmsg) ||
		    ((const struct ifaddrmsg *)pl)->ifa_family != AF_INET6)
			return false;
		t->t.all_dirty = true;
		return true;
	case RTM_NEWLINK:
		if (len >= sizeof(struct ifinfomsg)) {
			int ifindex = ((const struct ifinfomsg *)pl)->ifi_index;

			for (uint32_t i = 0; i <= t->t.mask; i++)
				if (t->ctl[i].st.live && t->ctl[i].nh.ifindex == ifindex)
					t->ctl[i].st.dirty = true;
		}
		return false;		/* IPv4's too */
	case RTM_DELLINK:
		t->t.all_dirty = true;
		return false;
	}
	return false;
}

static void nh6_settle(struct xlb_nh_cache *c)
{
	struct nh6_tab *t = c->v6;

	if (!t)
		return;
	nh6_take_requests(c);
	nh_resolve_marked(c, &t->t, t->t.all_dirty, false);
	t->t.all_dirty = false;
}

/* refresh: every entry again (STALE neighbours revalidated); else the
 * pending ones whose retry time has come, within budget. */
static void nh6_tick(struct xlb_nh_cache *c, bool refresh, unsigned budget)
{
	struct nh6_tab *t = c->v6;

	if (!t)
		return;
	nh6_take_requests(c);
	if (refresh || t->t.all_dirty) {
		nh_resolve_marked(c, &t->t, true, refresh);
		t->t.all_dirty = false;
		return;
	}
	nh_retry_due(c, &t->t, budget);
}
