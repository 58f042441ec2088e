// SPDX-License-Identifier: GPL-2.0
/*
 * IPv6 next hops, minimal: see nh6.h. The route comes from RTM_GETROUTE,
 * the source address from a connected UDP socket (the kernel's own source
 * selection), the MAC from RTM_GETNEIGH of the gateway or the destination.
 */
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "nh6.h"

#define NH6_SLOTS	1024u	/* power of two */
#define NH6_PROBE	16u	/* linear probing bound */
#define NH6_PER_TICK	32u	/* resolutions per tick, at most */
#define NH6_PENDING_MS	200
#define NH6_IDLE_MS	30000	/* a slot no lookup used this long is freed */

enum { S_EMPTY = 0, S_CLAIMED, S_WANT, S_DONE };

struct nh6_slot {
	_Atomic uint32_t seq;		/* odd while the control thread writes */
	_Atomic uint32_t state;		/* S_* */
	union xlb_inaddr key;		/* fixed once S_WANT */
	int32_t err;
	struct xlb_nh6s nh;
	uint64_t done_ms;		/* control thread only */
	_Atomic uint64_t used_ms;	/* workers: last lookup (coarse, 1 s) */
} __attribute__((aligned(64)));

struct xlb_nh6_cache {
	struct nh6_slot *slots;
	struct mnl_socket *nl;
	uint32_t portid, seq;
	uint32_t cursor;
	char *buf;
};

#define NH6_BUF	(MNL_SOCKET_BUFFER_SIZE)

/* ---- netlink ---- */

struct rt6_res {
	int oif;
	int type;
	bool has_gw;
	uint8_t gw[16];
	uint32_t mtu;
};

static int rt6_attr(const struct nlattr *a, void *data)
{
	struct rt6_res *r = data;

	switch (mnl_attr_get_type(a)) {
	case RTA_OIF:
		if (mnl_attr_get_payload_len(a) >= 4)
			r->oif = (int)mnl_attr_get_u32(a);
		break;
	case RTA_GATEWAY:
		if (mnl_attr_get_payload_len(a) == 16) {
			memcpy(r->gw, mnl_attr_get_payload(a), 16);
			r->has_gw = true;
		}
		break;
	case RTA_METRICS: {
		const struct nlattr *m;

		mnl_attr_for_each_nested(m, a)
			if (mnl_attr_get_type(m) == RTAX_MTU &&
			    mnl_attr_get_payload_len(m) >= 4)
				r->mtu = mnl_attr_get_u32(m);
		break;
	}
	default:
		break;
	}
	return MNL_CB_OK;
}

static int rt6_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rt6_res *r = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return MNL_CB_OK;
	r->type = rtm->rtm_type;
	mnl_attr_parse(nlh, sizeof(*rtm), rt6_attr, r);
	return MNL_CB_OK;
}

struct neigh6_res {
	bool found;
	uint16_t state;
	bool has_mac;
	uint8_t mac[6];
};

static int neigh6_attr(const struct nlattr *a, void *data)
{
	struct neigh6_res *n = data;

	if (mnl_attr_get_type(a) == NDA_LLADDR && mnl_attr_get_payload_len(a) == 6) {
		memcpy(n->mac, mnl_attr_get_payload(a), 6);
		n->has_mac = true;
	}
	return MNL_CB_OK;
}

static int neigh6_cb(const struct nlmsghdr *nlh, void *data)
{
	struct neigh6_res *n = data;
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_NEWNEIGH)
		return MNL_CB_OK;
	n->found = true;
	n->state = ndm->ndm_state;
	mnl_attr_parse(nlh, sizeof(*ndm), neigh6_attr, n);
	return MNL_CB_OK;
}

/* One request, its answers until the ACK or error. */
static int nl_talk(struct mnl_socket *nl, uint32_t portid, uint32_t seq, char *buf,
		   struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (int i = 0; i < 64; i++) {
		n = mnl_socket_recvfrom(nl, buf, NH6_BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		ret = mnl_cb_run(buf, n, seq, portid, cb, data);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret < 0)
			return errno ? -errno : -EIO;
	}
	return -EIO;
}

static int if_info(int ifindex, uint8_t mac[6], uint32_t *mtu)
{
	struct ifreq ifr;
	int fd, err = 0;

	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname((unsigned int)ifindex, ifr.ifr_name))
		return -ENODEV;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
	} else if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		err = -EOPNOTSUPP;
	} else {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
		if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
			err = -errno;
		else
			*mtu = (uint32_t)ifr.ifr_mtu;
	}
	close(fd);
	return err;
}

/* The kernel's source address towards addr, and (poke) a datagram to its
 * discard port that makes the kernel resolve the neighbour. */
static int src_of(const union xlb_inaddr *addr, int ifindex, union xlb_inaddr *src, bool poke)
{
	struct sockaddr_in6 sin = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	socklen_t sl = sizeof(sin);
	int fd, err = 0;

	memcpy(&sin.sin6_addr, addr, 16);
	if (IN6_IS_ADDR_LINKLOCAL(&sin.sin6_addr))
		sin.sin6_scope_id = (uint32_t)ifindex;
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		err = -errno;
		goto out;
	}
	if (poke)
		(void)send(fd, "", 0, 0);
	if (getsockname(fd, (struct sockaddr *)&sin, &sl) < 0) {
		err = -errno;
		goto out;
	}
	memcpy(src, &sin.sin6_addr, 16);
out:
	close(fd);
	return err;
}

static int resolve(struct mnl_socket *nl, uint32_t portid, uint32_t *seq, char *buf,
		   const union xlb_inaddr *addr, struct xlb_nh6s *out)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct ndmsg *ndm;
	struct rt6_res r = { .oif = 0, .type = -1 };
	struct neigh6_res n = { .found = false };
	uint32_t lmtu = 0;
	int err;

	memset(out, 0, sizeof(*out));
	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = 128;
	mnl_attr_put(nlh, RTA_DST, 16, addr);
	err = nl_talk(nl, portid, ++*seq, buf, nlh, rt6_cb, &r);
	if (err)
		return err;
	switch (r.type) {
	case RTN_UNICAST:
		break;
	case RTN_UNREACHABLE:
		return -EHOSTUNREACH;
	case RTN_PROHIBIT:
		return -EACCES;
	case RTN_BLACKHOLE:
		return -ENETUNREACH;
	default:
		return -EOPNOTSUPP;
	}
	if (r.oif <= 0)
		return -ENETUNREACH;
	err = if_info(r.oif, out->smac, &lmtu);
	if (err)
		return err;
	out->ifindex = r.oif;
	out->mtu = (r.mtu && r.mtu < lmtu) ? r.mtu : lmtu;
	out->gw = r.has_gw;

	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = RTM_GETNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = AF_INET6;
	ndm->ndm_ifindex = r.oif;
	mnl_attr_put(nlh, NDA_DST, 16, r.has_gw ? (const void *)r.gw : (const void *)addr);
	err = nl_talk(nl, portid, ++*seq, buf, nlh, neigh6_cb, &n);
	if (err && err != -ENOENT)
		return err;
	if (!n.found || !n.has_mac ||
	    !(n.state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT |
			 NUD_NOARP))) {
		/* The kernel resolves on our datagram (to the gateway's MAC
		 * as well: the route is the same). */
		(void)src_of(addr, r.oif, &out->src, !(n.found && (n.state & NUD_INCOMPLETE)));
		return -EAGAIN;
	}
	memcpy(out->dmac, n.mac, 6);
	return src_of(addr, r.oif, &out->src, false);
}

static struct mnl_socket *nl_open(uint32_t *portid)
{
	struct timeval tv = { .tv_sec = 2 };
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	*portid = mnl_socket_get_portid(nl);
	return nl;
}

int xlb_nh6_route(const union xlb_inaddr *addr, struct xlb_nh6s *out)
{
	uint32_t portid, seq = (uint32_t)time(NULL);
	struct mnl_socket *nl = nl_open(&portid);
	char *buf = malloc(NH6_BUF);
	int err = -ENOMEM;

	if (nl && buf)
		err = resolve(nl, portid, &seq, buf, addr, out);
	else if (!nl)
		err = -errno;
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return err;
}

/* ---- the cache ---- */

int xlb_nh6_cache_init(struct xlb_nh6_cache **out)
{
	struct xlb_nh6_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->buf = malloc(NH6_BUF);
	if (posix_memalign((void **)&c->slots, 64, NH6_SLOTS * sizeof(*c->slots)))
		c->slots = NULL;
	c->nl = nl_open(&c->portid);
	if (!c->buf || !c->slots || !c->nl) {
		xlb_nh6_cache_free(c);
		return -ENOMEM;
	}
	memset(c->slots, 0, NH6_SLOTS * sizeof(*c->slots));
	c->seq = (uint32_t)time(NULL);
	*out = c;
	return 0;
}

void xlb_nh6_cache_free(struct xlb_nh6_cache *c)
{
	if (!c)
		return;
	if (c->nl)
		mnl_socket_close(c->nl);
	free(c->slots);
	free(c->buf);
	free(c);
}

static uint32_t nh6_hash(const union xlb_inaddr *a)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 4; i++)
		h = (h ^ a->ip6[i]) * 16777619u;
	return h ^ (h >> 15);
}

/* Workers note their use (at most a write a second per slot) so that the
 * control thread can free destinations nobody asks for (NAT66 clients
 * come and go). */
static inline void nh6_used(struct nh6_slot *s, uint64_t now_ms)
{
	if (now_ms > atomic_load_explicit(&s->used_ms, memory_order_relaxed) + 1000)
		atomic_store_explicit(&s->used_ms, now_ms, memory_order_relaxed);
}

static uint64_t nh6_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int xlb_nh6_lookup(struct xlb_nh6_cache *c, const union xlb_inaddr *addr,
		   struct xlb_nh6s *out)
{
	uint32_t h = nh6_hash(addr);
	uint64_t now = nh6_now();

	for (uint32_t i = 0; i < NH6_PROBE; i++) {
		struct nh6_slot *s = &c->slots[(h + i) & (NH6_SLOTS - 1)];
		uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);

		if (st == S_EMPTY) {
			uint32_t e = S_EMPTY;

			if (!atomic_compare_exchange_strong(&s->state, &e, S_CLAIMED))
				return -EAGAIN;	/* another worker: try next packet */
			/* Readers of a freed slot's old key see seq move. */
			atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel);
			s->key = *addr;
			atomic_store_explicit(&s->used_ms, now, memory_order_relaxed);
			atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
			atomic_store_explicit(&s->state, S_WANT, memory_order_release);
			return -EAGAIN;
		}
		if (st == S_CLAIMED)
			return -EAGAIN;
		for (int tries = 0; tries < 8; tries++) {
			uint32_t s1 = atomic_load_explicit(&s->seq, memory_order_acquire);
			bool mine;
			int32_t err;

			if (s1 & 1)
				continue;
			mine = !memcmp(&s->key, addr, 16);
			err = s->err;
			*out = s->nh;
			st = atomic_load_explicit(&s->state, memory_order_relaxed);
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&s->seq, memory_order_relaxed) != s1)
				continue;
			if (!mine)
				goto next;
			nh6_used(s, now);
			if (st != S_DONE)
				return -EAGAIN;
			return err;
		}
		return -EAGAIN;
next:
		;
	}
	return -ENOSPC;
}

void xlb_nh6_cache_tick(struct xlb_nh6_cache *c, uint64_t now_ms)
{
	uint32_t done = 0;

	for (uint32_t i = 0; i < NH6_SLOTS && done < NH6_PER_TICK; i++) {
		struct nh6_slot *s = &c->slots[(c->cursor + i) & (NH6_SLOTS - 1)];
		uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);
		uint64_t every;
		struct xlb_nh6s nh;
		int err;

		if (st != S_WANT && st != S_DONE)
			continue;
		if (now_ms > atomic_load_explicit(&s->used_ms, memory_order_relaxed) + NH6_IDLE_MS) {
			/* Unused: free it (a worker may claim it at once). */
			atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel);
			memset(&s->key, 0, sizeof(s->key));
			s->err = 0;
			atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
			atomic_store_explicit(&s->state, S_EMPTY, memory_order_release);
			continue;
		}
		every = st == S_DONE && s->err == 0 ? XLB_NH6_REFRESH_MS : NH6_PENDING_MS;
		if (st == S_DONE && now_ms < s->done_ms + every)
			continue;
		err = resolve(c->nl, c->portid, &c->seq, c->buf, &s->key, &nh);
		done++;
		atomic_fetch_add_explicit(&s->seq, 1, memory_order_acq_rel);
		s->nh = nh;
		s->err = err;
		atomic_store_explicit(&s->state, S_DONE, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->seq, 1, memory_order_release);
		s->done_ms = now_ms;
	}
	c->cursor = (c->cursor + 1) & (NH6_SLOTS - 1);
}
