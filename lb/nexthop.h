/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Next hops from the kernel's own tables, read over rtnetlink with libmnl.
 *
 * What the datapath binds when it creates a connection: the egress
 * interface, its MAC (source), the next hop's MAC (destination: the real
 * server, or the gateway towards it, or towards a NAT client), the
 * director's address on that path (TUN outer source) and the egress MTU.
 * Nothing is configured by hand: routes come from RTM_GETROUTE (as `ip route
 * get ADDR`), MACs from RTM_GETNEIGH, the interface from RTM_GETLINK and
 * RTM_GETADDR.
 *
 * Two layers:
 *  - xlb_nh_route(): one blocking resolution (a few netlink round trips),
 *    for tools and tests.
 *  - struct xlb_nh_cache: the control thread's view of the next hops the
 *    daemon needs, kept fresh from kernel events (a subscribed rtnetlink
 *    socket the control thread polls), read by the workers without locks,
 *    allocation or syscalls.
 *
 * Threads. Every function except the lookups (xlb_nh_lookup*(), and
 * xlb_nh_route_gen()) belongs to one control thread. The lookups may run
 * on any number of worker threads concurrently with it: every entry is under
 * its own sequence lock (readers retry; they never see a half-written entry)
 * and the table never moves, so readers need no reclamation scheme.
 *
 * Unresolved neighbours. The kernel resolves them, not us: the cache asks
 * it to (RTM_NEWNEIGH with NTF_USE, which makes the kernel send ARP requests
 * exactly as if a packet were waiting; falling back to an empty UDP
 * datagram to port 9 when that is refused) and reports the entry as pending
 * (-EAGAIN) until a neighbour event brings the MAC. Packets for a pending
 * next hop must be dropped and counted, never sent to a guessed MAC.
 *
 * Errors are negative errno.
 */
#ifndef XLB_NEXTHOP_H
#define XLB_NEXTHOP_H

#include <stdint.h>
#include <netinet/in.h>

struct xlb_nh {
	int      ifindex;	/* egress interface */
	uint8_t  smac[6];	/* the egress interface's MAC */
	uint8_t  dmac[6];	/* the next hop's MAC; zero while pending */
	uint32_t src;		/* director's address towards addr, network order */
	uint32_t gw;		/* gateway, network order; 0: addr is on-link */
	uint32_t mtu;		/* egress MTU (L3 bytes): link, or route if lower */
};

/*
 * Resolve the next hop towards addr (network order) now, with a private
 * netlink socket. Returns 0 with *out complete; -EAGAIN when the route is
 * known but the neighbour's MAC is not (then *out has everything but dmac,
 * and the kernel has been asked to resolve it: call again later);
 * -ENETUNREACH / -EHOSTUNREACH / -EACCES when the kernel has no usable
 * route; -EOPNOTSUPP when addr is local, broadcast or multicast, or the
 * egress interface is not Ethernet.
 */
int xlb_nh_route(uint32_t addr, struct xlb_nh *out);

/* addr's next hop changed: nh is the new one, or NULL when it is no longer
 * usable (pending, unreachable, or no longer wanted). Called on the control
 * thread, from xlb_nh_want(), _unwant(), _cache_process(), _cache_tick() and
 * _cache_publish(); it must not call back into the cache (except lookups). */
typedef void (*xlb_nh_change_fn)(uint32_t addr, const struct xlb_nh *nh,
				 void *arg);

/* An IPv6 next hop (issue 14): as struct xlb_nh, addresses 16 bytes. */
struct xlb_nh6 {
	int      ifindex;	/* egress interface */
	uint8_t  smac[6];	/* the egress interface's MAC */
	uint8_t  dmac[6];	/* the next hop's MAC (NDP); zero while pending */
	struct in6_addr src;	/* director's address towards addr (the
				 * kernel's source selection: TUN6 outer
				 * source) */
	struct in6_addr gw;	/* gateway (often link-local); :: on-link */
	uint32_t mtu;		/* egress MTU (L3 bytes): link, or route if lower */
};

/* As xlb_nh_change_fn, for IPv6 entries (xlb_nh_want6()). */
typedef void (*xlb_nh_change6_fn)(const struct in6_addr *addr,
				  const struct xlb_nh6 *nh, void *arg);

/* Logging hook (the library never prints by itself). */
typedef void (*xlb_nh_log_fn)(void *arg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct xlb_nh_cache_params {
	unsigned capacity;	/* addresses held at once (RIPs, gateways,
				 * on-link NAT clients) */
	unsigned hosts_max;	/* of which on-link clients added by
				 * xlb_nh_lookup_route(); oldest evicted */
	unsigned routes_max;	/* main-table routes kept for
				 * xlb_nh_lookup_route(); beyond it a route
				 * is not used, and that is logged */
	unsigned retry_ms;	/* between probes of one pending next hop */
	unsigned refresh_ms;	/* full re-read of everything */
	unsigned probes_per_tick; /* bound on re-resolutions per tick */
	xlb_nh_change_fn on_change;
	void    *arg;
	xlb_nh_log_fn log;
	void    *log_arg;
	/* IPv6 (appended): entries held at once (real servers, gateways,
	 * clients asked for by xlb_nh_lookup_host6()), 0: 4096; of which
	 * hosts6_max asked-for clients (0: a quarter), oldest evicted. */
	unsigned capacity6;
	unsigned hosts6_max;
	xlb_nh_change6_fn on_change6;	/* arg above */
};

struct xlb_nh_cache;

void xlb_nh_cache_params_default(struct xlb_nh_cache_params *p);

/* Opens the netlink sockets, reads the main routing table and resolves its
 * gateways. p may be NULL (defaults). */
int xlb_nh_cache_init(struct xlb_nh_cache **out,
		      const struct xlb_nh_cache_params *p);
void xlb_nh_cache_free(struct xlb_nh_cache *c);	/* NULL is fine */

/* The event socket: poll it for POLLIN, then call xlb_nh_cache_process(). */
int xlb_nh_cache_fd(const struct xlb_nh_cache *c);

/* Reads every pending kernel event (never blocks), applies neighbour events
 * directly, re-resolves what route, link and address events touched (all of
 * it after an event overrun), and takes the requests queued by
 * xlb_nh_lookup_route(). Returns how many next hops changed, or -errno. */
int xlb_nh_cache_process(struct xlb_nh_cache *c);

/* Periodic work, e.g. every 100 ms; now_ms is CLOCK_MONOTONIC in ms. Takes
 * queued requests, re-resolves unresolved entries whose retry time has come
 * (at most probes_per_tick of them, so re-probing is rate-bounded), and every
 * refresh_ms re-reads the routing table and every entry, asking the kernel
 * to revalidate STALE neighbours (the kernel never sees our traffic, so
 * nothing else would). Returns how many next hops changed, or -errno. */
int xlb_nh_cache_tick(struct xlb_nh_cache *c, uint64_t now_ms);

/* Add addr to the wanted set (counted: each want needs an unwant) and
 * resolve it at once. Returns 0 when it is in the set, whatever its state
 * (see xlb_nh_lookup()); -EINVAL for 0.0.0.0; -ENOSPC when full. */
int xlb_nh_want(struct xlb_nh_cache *c, uint32_t addr);
/* Drop one want of addr; -ENOENT when it was not wanted. */
int xlb_nh_unwant(struct xlb_nh_cache *c, uint32_t addr);

/*
 * Worker side, lock-free. Copies addr's next hop into *out. Returns 0 when
 * resolved; -ENOENT when addr is not wanted; -EAGAIN while pending (*out
 * then has a zero dmac; also returned, rarely, when the control thread keeps
 * the entry busy); otherwise the error that resolution gave (see
 * xlb_nh_route()).
 */
int xlb_nh_lookup(const struct xlb_nh_cache *c, uint32_t addr,
		  struct xlb_nh *out);

/*
 * Worker side, lock-free: the next hop towards any address, e.g. a NAT
 * client. Longest-prefix match in a copy of the main routing table (lpm.h:
 * millions of routes, kept in step route by route from the kernel's
 * events, re-read after lost events, a device going down or an address
 * removed), then the neighbour of the route's gateway
 * (gateways of the main table are always wanted) or, on-link, of addr
 * itself: if that one is not wanted yet, it is queued for the control
 * thread (taken at its next process() or tick()) and -EAGAIN is returned.
 * out->gw is the route's gateway. Multipath routes use their first path;
 * policy-routing rules, tables other than main and routes with a TOS are
 * not consulted.
 */
int xlb_nh_lookup_route(struct xlb_nh_cache *c, uint32_t addr,
			struct xlb_nh *out);

/*
 * Worker side, the per-packet forms. A connection keeps where its next hop
 * was found and asks again with every packet, so that a MAC, gateway or
 * route that changes is followed at once, for the cost of one cache line.
 *
 * xlb_nh_lookup_at(): as xlb_nh_lookup(), trying slot *slot first (a value
 * from an earlier call, or UINT32_MAX: any value is safe, the slot's key is
 * checked) and storing where addr was found.
 *
 * xlb_nh_lookup_route_at(): as xlb_nh_lookup_route(), trusting the
 * neighbour in *h (zeroed the first time) while no route changed since it
 * was filled (xlb_nh_route_gen()), else doing the full longest-prefix
 * lookup and refilling *h.
 */
struct xlb_nh_hint {
	uint32_t gen;		/* xlb_nh_route_gen() when filled; 0: empty */
	uint32_t nhaddr;	/* the neighbour: gateway, or addr on-link */
	uint32_t slot;		/* its slot */
	uint32_t gw;		/* the route's gateway (out->gw) */
};

int xlb_nh_lookup_at(const struct xlb_nh_cache *c, uint32_t addr,
		     uint32_t *slot, struct xlb_nh *out);
int xlb_nh_lookup_route_at(struct xlb_nh_cache *c, uint32_t addr,
			   struct xlb_nh_hint *h, struct xlb_nh *out);

/* Bumped by every route, link-down and address change (never 0). */
uint32_t xlb_nh_route_gen(const struct xlb_nh_cache *c);
/* Main-table routes held for xlb_nh_lookup_route() (control thread). */
uint32_t xlb_nh_route_count(const struct xlb_nh_cache *c);

/* What the cache holds against its limits (control thread): xlbctl
 * --counters, group "nexthop". */
struct xlb_nh_stats {
	uint64_t routes;		/* main-table routes held */
	uint64_t routes_max;
	uint64_t route_targets;		/* distinct (type, gateway, interface) */
	uint64_t route_memory_kib;	/* resident, route table and index */
	uint64_t entries;		/* addresses held */
	uint64_t capacity;
	uint64_t hosts;			/* of which on-link clients */
	uint64_t hosts_max;
	uint64_t requests_dropped;	/* workers' requests lost (retried),
					 * IPv4 and IPv6 */
	/* IPv6 (appended) */
	uint64_t entries6;		/* IPv6 addresses held */
	uint64_t capacity6;
	uint64_t hosts6;		/* of which clients (lookup_host6) */
	uint64_t hosts6_max;
};
void xlb_nh_cache_stats(const struct xlb_nh_cache *c, struct xlb_nh_stats *s);

/* Test and benchmark hook: publish a next hop for addr (which must be
 * wanted) as if the kernel had said so; err 0 = resolved, else that error.
 * The next event or refresh touching addr replaces it. */
int xlb_nh_cache_publish(struct xlb_nh_cache *c, uint32_t addr,
			 const struct xlb_nh *nh, int err);

/*
 * ---- IPv6 (issue 14) ----
 * The same model as IPv4: resolution from the kernel (RTM_GETROUTE for
 * AF_INET6 as `ip -6 route get`, neighbours from NDP: RTM_GETNEIGH, and
 * RTM_NEWNEIGH + NTF_USE to make the kernel send a Neighbour Solicitation
 * exactly as for a waiting packet, falling back to a UDP datagram to port
 * 9), the cache kept fresh by the same event socket (IPv6 neighbour, route,
 * address and link events), the same per-entry sequence locks for workers.
 * Differences: no copy of the IPv6 routing table is kept; the kernel's
 * answer per address is (any IPv6 route, link or address event
 * re-resolves every IPv6 entry at the next process()).
 */

/* One blocking resolution, as xlb_nh_route(): 0, -EAGAIN (pending, the
 * kernel asked to solicit), -ENETUNREACH / -EHOSTUNREACH / -EACCES,
 * -EOPNOTSUPP (local, multicast, not Ethernet), -EINVAL (:: or
 * v4-mapped). */
int xlb_nh_route6(const struct in6_addr *addr, struct xlb_nh6 *out);

/* Counted wants, as xlb_nh_want() / xlb_nh_unwant() (control thread).
 * -EINVAL for ::, -ENOSPC when full, -ENOENT (unwant) when not wanted. */
int xlb_nh_want6(struct xlb_nh_cache *c, const struct in6_addr *addr);
int xlb_nh_unwant6(struct xlb_nh_cache *c, const struct in6_addr *addr);

/* Worker side, lock-free, as xlb_nh_lookup() / xlb_nh_lookup_at():
 * 0, -ENOENT (not held), -EAGAIN (pending or busy), or resolution's
 * error. *slot: a value from an earlier call or UINT32_MAX. */
int xlb_nh_lookup6(const struct xlb_nh_cache *c, const struct in6_addr *addr,
		   struct xlb_nh6 *out);
int xlb_nh_lookup6_at(const struct xlb_nh_cache *c, const struct in6_addr *addr,
		      uint32_t *slot, struct xlb_nh6 *out);

/* Worker side: the next hop towards any IPv6 address (a NAT66 client).
 * As xlb_nh_lookup6_at(); when addr is not held, it is queued for the
 * control thread (taken at its next process() or tick(), resolved with
 * the kernel's routes, kept as a client entry, oldest evicted past
 * hosts6_max) and -EAGAIN is returned. Requests lost to a full queue are
 * counted (stats requests_dropped) and come again with the next packet. */
int xlb_nh_lookup_host6(struct xlb_nh_cache *c, const struct in6_addr *addr,
			uint32_t *slot, struct xlb_nh6 *out);

/* Test hook, as xlb_nh_cache_publish(). */
int xlb_nh_cache_publish6(struct xlb_nh_cache *c, const struct in6_addr *addr,
			  const struct xlb_nh6 *nh, int err);

/* The MAC address of interface ifname (SIOCGIFHWADDR). 0 or -errno. */
int xlb_nh_if_mac(const char *ifname, uint8_t mac[6]);

#endif /* XLB_NEXTHOP_H */
