/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection table: pins each flow to the real server chosen for its
 * first packet and holds NAT's reverse mapping, after IPVS's ip_vs_conn.
 *
 * Shape
 *   Every entry has two hash nodes, like conntrack's tuplehash[2]: one for
 *   its original tuple (client -> VIP:vport), looked up by xlb_conn_in(),
 *   and, for NAT only, one for its reply tuple (RIP:rport -> client), looked
 *   up by xlb_conn_out(). A real server may serve several services, so
 *   replies are matched by their full tuple, never by the server alone.
 *
 * Threads
 *   Workers (one per RX queue), the housekeeping thread (xlb_conn_expire)
 *   and the control thread (foreach, flush_dest, set_timeouts) may all call
 *   in at once. The buckets are split into stripes, each a contiguous range
 *   of buckets under one spinlock; the stripe of a tuple is chosen by the
 *   CLIENT's address and port only, which the original and the reply tuple
 *   share, so both nodes of an entry live under the same lock and every
 *   operation on an entry takes exactly one lock. All per-packet work is
 *   done under that lock and what the caller needs is copied out (struct
 *   xlb_conn_view), so no entry can be recycled under a reader.
 *
 * Memory
 *   All entries are preallocated from max_conns (pages are touched only as
 *   entries are first used); the bucket array is the next power of two
 *   >= max_conns. Per connection, on x86-64:
 *     entry (both tuples, both hash-node links, dest, expiry, state,
 *     counters, 60-byte bind blob, template link), as
 *     before IPv6: two cache lines                        128 bytes
 *     an IPv6 flow's four addresses, in a parallel array
 *     (never touched, nor paged in, by IPv4 flows)         64 bytes
 *     bucket heads: 4 bytes x buckets/max_conns           4..8 bytes
 *     stripe locks (<= 4096 x 64 bytes, shared)           < 1 byte
 *   = at most 196 bytes per connection at a power-of-two max_conns (the
 *   default 1,048,576 costs 196 MiB at most, 132 MiB resident with IPv4
 *   flows only), at most 200 otherwise.
 *   With a state file (xlb_conn_params.state_path) the entries and the
 *   IPv6 array are the file's pages (tmpfs under /run/xlb: the same 192
 *   bytes each, plus a 4 KiB header) and the rest stays private.
 *   Nothing is allocated after xlb_conn_init().
 *
 * Time is passed in by the caller on every call (milliseconds, any
 * monotonic origin; CLOCK_MONOTONIC with a state file), so tests control
 * the clock.
 *
 * Byte order: addresses and ports in network order, as in xlb-t.h.
 */
#ifndef XLB_CONN_H
#define XLB_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>	/* AF_INET6 */

#include "xlb-t.h"

#define XLB_CONN_MAX_DEFAULT	1048576u
#define XLB_CONN_MAX_LIMIT	(1u << 30)
#define XLB_CONN_BIND_SIZE	60	/* opaque bytes bound at creation */
/* The state file's format (xlb_conn_file_version() names another one):
 * 1 before IPv6, 2 IPv6 addresses inside 192-byte entries, 3 IPv4 entries
 * of 128 bytes as in 1 and the IPv6 addresses after them. A version-1
 * file of the same geometry is upgraded to 3 in place (its IPv4 entries
 * adopted, xlb_conn_file_upgraded()); 2 is refused. */
#define XLB_CONN_FILE_VERSION	3u

/*
 * Fixed timeouts of the states ipvsadm --set does not reach, seconds: IPVS's
 * tcp_timeouts[] table. --set tcp is ESTABLISHED's, --set tcpfin FIN_WAIT's
 * only (as IPVS's "tcpfin" is IP_VS_TCP_S_FIN_WAIT's), --set udp UDP's.
 */
#define XLB_CONN_TIMEOUT_SYN_SENT	120
#define XLB_CONN_TIMEOUT_SYN_RECV	60
#define XLB_CONN_TIMEOUT_TIME_WAIT	120
#define XLB_CONN_TIMEOUT_CLOSE		10
#define XLB_CONN_TIMEOUT_CLOSE_WAIT	60
#define XLB_CONN_TIMEOUT_LAST_ACK	30
#define XLB_CONN_TIMEOUT_LISTEN		120
#define XLB_CONN_TIMEOUT_SYNACK		120
#define XLB_CONN_TIMEOUT_NONE		2

/* TCP states, in IPVS's order (IP_VS_TCP_S_*), plus UDP's single state. */
enum xlb_conn_state {
	XLB_CONN_S_NONE = 0,
	XLB_CONN_S_ESTABLISHED,
	XLB_CONN_S_SYN_SENT,
	XLB_CONN_S_SYN_RECV,
	XLB_CONN_S_FIN_WAIT,
	XLB_CONN_S_TIME_WAIT,
	XLB_CONN_S_CLOSE,
	XLB_CONN_S_CLOSE_WAIT,
	XLB_CONN_S_LAST_ACK,
	XLB_CONN_S_LISTEN,
	XLB_CONN_S_SYNACK,
	XLB_CONN_S_UDP,
	XLB_CONN_S_NR,
};

/* Which way a packet travels, choosing IPVS's state table: NAT entries see
 * both ways (INPUT for client -> server, OUTPUT for replies); DR and TUN
 * entries see only the client's packets (INPUT_ONLY). */
enum xlb_conn_dir {
	XLB_CONN_DIR_INPUT = 0,
	XLB_CONN_DIR_OUTPUT,
	XLB_CONN_DIR_INPUT_ONLY,
};

/*
 * A 5-tuple as seen on the wire. pad is ignored. af 0 or AF_INET: IPv4,
 * saddr/daddr the addresses, saddr6/daddr6 unused (zero them). AF_INET6:
 * saddr6/daddr6 the addresses and saddr/daddr their folds
 * (xlb_inaddr_fold(), xlb_conn_key_set6()), which the stripe and bucket
 * hashes do not use (they hash all 16 bytes; IPv4 hashes exactly as
 * before). IPv4 keys compare on their first 16 bytes only.
 */
struct xlb_conn_key {
	uint32_t saddr;
	uint32_t daddr;
	uint16_t sport;
	uint16_t dport;
	uint8_t  proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t  af;		/* 0 / AF_INET, or AF_INET6 */
	uint8_t  pad[2];
	union xlb_inaddr saddr6;	/* AF_INET6 only */
	union xlb_inaddr daddr6;
};

static inline bool xlb_conn_key_is6(const struct xlb_conn_key *k)
{
	return k->af == AF_INET6;
}

/* Makes *k an IPv6 key (ports and proto are the caller's). */
static inline void xlb_conn_key_set6(struct xlb_conn_key *k, const union xlb_inaddr *s,
				     const union xlb_inaddr *d)
{
	k->af = AF_INET6;
	k->saddr6 = *s;
	k->daddr6 = *d;
	k->saddr = s->ip6[0] ^ s->ip6[1] ^ s->ip6[2] ^ s->ip6[3];
	k->daddr = d->ip6[0] ^ d->ip6[1] ^ d->ip6[2] ^ d->ip6[3];
}

/* What the scheduler binds to a new connection (IPVS binds packet_xmit
 * once): filled by the xlb_conn_sched_fn. */
struct xlb_conn_target {
	const void *dest;	/* the daemon's per-destination object */
	uint32_t daddr;		/* RIP */
	uint16_t dport;		/* RS port */
	uint8_t  fwd;		/* enum xlb_fwd; NAT also hashes the reply tuple */
	uint8_t  pad;
	uint8_t  bind[XLB_CONN_BIND_SIZE] __attribute__((aligned(8)));
	union xlb_inaddr daddr6;	/* RIP of an IPv6 flow (daddr: its fold) */
};

/*
 * Chooses the destination of a new flow. Called with the stripe lock held,
 * so it must be short and must not call into the table: a ring lookup and
 * a copy of precomputed bind data. Returns 0, or a negative errno that
 * xlb_conn_in() returns (e.g. -EHOSTUNREACH: no server available), or
 * XLB_CONN_SCHED_DEFER: the flow belongs to a persistent service and its
 * template must be found first (xlb_conn_in() then returns -EINPROGRESS,
 * creates nothing and counts no error; see xlb_conn_tmpl_get()).
 */
#define XLB_CONN_SCHED_DEFER	1
typedef int (*xlb_conn_sched_fn)(void *arg, const struct xlb_conn_key *k,
				 struct xlb_conn_target *t);

/* A copy of an entry, taken under its lock. */
struct xlb_conn_view {
	const void *dest;
	struct xlb_conn_key orig;	/* client -> VIP:vport */
	struct xlb_conn_key reply;	/* RIP:rport -> client */
	uint8_t  fwd;			/* enum xlb_fwd */
	uint8_t  state;			/* enum xlb_conn_state, after this packet */
	bool     created;		/* this packet created (or rescheduled) it */
	bool     tmpl;			/* a persistence template */
	bool     changed;		/* this packet changed its TCP state */
	uint32_t pkts;			/* packets seen, both ways (wraps) */
	uint8_t  bind[XLB_CONN_BIND_SIZE] __attribute__((aligned(8)));
};

/* What xlb_conn_copy() and xlb_conn_foreach() show of an entry (xlbctl
 * -L -n -c). */
struct xlb_conn_entry {
	struct xlb_conn_key orig;	/* pro, source, virtual */
	uint32_t daddr;			/* destination (IPv6: a fold) */
	union xlb_inaddr daddr6;	/* destination when orig.af is AF_INET6 */
	uint16_t dport;
	uint8_t  fwd;
	uint8_t  state;
	bool     tmpl;			/* a persistence template */
	const char *state_name;		/* as ipvsadm prints it */
	uint32_t expires_s;		/* seconds left, rounded up; 0 if due */
	uint32_t pkts;
	const void *dest;
};

/* Return 0 to go on, a negative value to stop (foreach returns it). Called
 * under a stripe lock: must not call back into the table. */
typedef int (*xlb_conn_foreach_fn)(void *arg, const struct xlb_conn_entry *ci);

struct xlb_conn_stats {
	uint64_t created;	/* entries made, rescheduled ones included */
	uint64_t expired;	/* freed after their timeout (sweep or reuse) */
	uint64_t evicted;	/* live entries evicted when full (CLOCK: LRU) */
	uint64_t full_drops;	/* new flows refused: full, and no entry to take */
	uint64_t rescheduled;	/* SYN on a closing entry or of a dead dest */
	uint64_t flushed;	/* removed by xlb_conn_flush_dest() */
	uint64_t clashes;	/* NAT reply tuple held by a live entry */
	uint64_t sched_errors;	/* the scheduler found no destination */
	uint64_t adopted;	/* taken over from a state file (xlb_conn_adopt) */
	uint64_t count;		/* entries now, templates included */
	uint64_t active;	/* connections ESTABLISHED */
	uint64_t inactive;	/* connections in any other state (UDP too) */
	uint64_t templates;	/* persistence templates now (in count) */
	uint64_t onepacket;	/* datagrams of -o services: no entry made */
};

struct xlb_conn_params {
	uint32_t max_conns;		/* --max-conns */
	uint32_t seed;			/* hash seed; 0: random at init */
	struct xlb_timeouts timeouts;	/* seconds; 0 fields: defaults */
	/*
	 * ActiveConn / InActConn bookkeeping, as IPVS: ESTABLISHED is active,
	 * every other state (UDP too) inactive. Called on create (+1 in one
	 * column), on a change between active and inactive (+1/-1) and on
	 * free (-1), under the stripe lock: keep it to atomic adds. May be
	 * NULL.
	 */
	void (*on_count)(void *arg, const void *dest, int d_active, int d_inactive);
	/*
	 * Whether a destination still exists. Asked when a SYN (or, for UDP,
	 * any packet) hits an entry; false reschedules the flow. NULL: always
	 * alive. Same rules as on_count.
	 */
	bool (*dest_alive)(void *arg, const void *dest);
	/*
	 * PersistConn bookkeeping, as IPVS counts templates: +1 when a
	 * template is bound to dest, -1 when it leaves it (freed or bound to
	 * another). Templates are never counted by on_count. Same rules as
	 * on_count; may be NULL.
	 */
	void (*on_persist)(void *arg, const void *dest, int delta);
	void *cb_arg;
	/*
	 * Whether a destination takes no new connection now (failed its
	 * health checks). Asked when a SYN hits an entry that never got
	 * established: true reschedules it (DR and TUN see no reset, so a
	 * refused attempt stays SYN_RECV, and a client reusing its port is
	 * a new connection). Established entries continue. NULL: never.
	 * Same rules as on_count.
	 */
	bool (*dest_down)(void *arg, const void *dest);
	/*
	 * A live entry (or template) leaves the table before its time:
	 * evicted, flushed, rescheduled, removed. Not called for an entry
	 * that expired. For connection sync (a removal record to the
	 * backup). Same rules as on_count; may be NULL.
	 */
	void (*on_release)(void *arg, const struct xlb_conn_key *orig, uint8_t fwd,
			   uint8_t state, bool tmpl);
	/*
	 * NULL: private memory. Else the entries live in this file
	 * (MAP_SHARED; /run/xlb is tmpfs), so they outlive the process,
	 * SIGKILL included; an flock(LOCK_EX|LOCK_NB) on it keeps a second
	 * process out (xlb_conn_init returns -EBUSY). The times passed in
	 * must then be CLOCK_MONOTONIC milliseconds, which every process
	 * of the system shares. See xlb_conn_adopt().
	 */
	const char *state_path;
};

struct xlb_conn_tab;

void xlb_conn_params_default(struct xlb_conn_params *p);

/* -EINVAL for max_conns 0 or above XLB_CONN_MAX_LIMIT, -ENOMEM; with a
 * state_path also -EBUSY (another process holds it) or the errno of
 * opening, sizing or mapping it. */
int xlb_conn_init(struct xlb_conn_tab **tp, const struct xlb_conn_params *p);

/* Frees the table (NULL is fine). No on_count calls are made. A state file
 * stays in place with its entries, for the next process to adopt;
 * removing it is the caller's business (unlink). */
void xlb_conn_free(struct xlb_conn_tab *t);

/*
 * Handing the table to the next process (a restart of xlbd).
 *
 * After xlb_conn_init() with a state_path holding a valid table of the
 * same geometry (header: magic, version, max_conns, buckets, entry size;
 * the old hash seed is reused; version 1 is upgraded first, see
 * XLB_CONN_FILE_VERSION), its live entries are kept unbound until
 * xlb_conn_adopt(); a missing, short or mismatched file is (re)initialised
 * empty, and xlb_conn_adoptable() says 0.
 *
 * fn is called for each adopted entry: old->orig, old->reply, old->fwd,
 * old->state and old->pkts are valid; old->dest and old->bind belong to the
 * previous process and must not be dereferenced. fn fills t exactly as a
 * xlb_conn_sched_fn would (dest, daddr, dport, fwd, bind; the reply tuple
 * is rebuilt from daddr:dport as on creation), or returns < 0 to drop the
 * entry. Expired entries are dropped without asking, and so are entries
 * that fail validation (bad flags, proto, fwd, state or reply tuple; a
 * second entry of one tuple; a NAT reply tuple already taken). Expiry is
 * capped at this table's timeout of the entry's state.
 */
typedef int (*xlb_conn_rebind_fn)(void *arg, const struct xlb_conn_view *old,
				  struct xlb_conn_target *t);

/*
 * Walks the adopted entries with fn. Rebuilds the hash chains, free list
 * and counts from the entries themselves (never trusting chains a killed
 * process may have torn) and calls on_count for every kept entry. Returns
 * the number kept (0 without a state file or with nothing to adopt), or
 * -EALREADY once the table has been used (call it once, before any other
 * call).
 */
int xlb_conn_adopt(struct xlb_conn_tab *t, uint64_t now_ms, xlb_conn_rebind_fn fn, void *arg);

/* The format version of a state file refused for being another format's
 * (2: IPv6 keys inside 192-byte entries), or 0 (none, or refused for
 * another reason). */
uint32_t xlb_conn_file_version(const struct xlb_conn_tab *t);
/* The version a state file was upgraded from when xlb_conn_init() opened
 * it (1: before IPv6, same geometry; its entries are kept as IPv4 ones for
 * xlb_conn_adopt()), or 0. */
uint32_t xlb_conn_file_upgraded(const struct xlb_conn_tab *t);
/* How many entries the state file brought (before adopt; 0 after). */
uint32_t xlb_conn_adoptable(const struct xlb_conn_tab *t);

/*
 * A client -> VIP packet: finds the entry of tuple k or creates one with
 * sched, tracks the TCP state from tcp_flags (byte 13 of the TCP header,
 * XLB_TCP_* in pkt.h; ignored for UDP), refreshes the expiry and copies
 * the entry to *out. Returns 1 if the entry was created by this packet, 0
 * if it existed, or a negative errno: -EPROTONOSUPPORT (not TCP/UDP),
 * -ENOSPC (full and no entry could be taken, counted), -EADDRINUSE (NAT
 * reply tuple in use, counted), or what sched returned.
 *
 * A full table never refuses a new flow while it holds an entry: it takes
 * an expired one, else evicts about the least recently used one (CLOCK per
 * stripe: every packet of an entry sets its referenced bit, a hand clears
 * them and evicts the first entry found without one; a new entry starts
 * without). The new flow's own stripe first, then the next stripe whose
 * lock is free. Floods of spoofed tuples (UDP, SYNs, bare ACKs) thus push
 * out idle entries and each other, not the flows that keep talking; and
 * with the ring an evicted flow's next packet is scheduled again onto the
 * same real server.
 *
 * An entry is scheduled afresh (rescheduled) when a SYN without ACK/RST
 * finds it in a closing or closed state (FIN_WAIT, TIME_WAIT, CLOSE,
 * CLOSE_WAIT, LAST_ACK) or finds its destination dead (dest_alive), and
 * when a UDP packet finds its destination dead: a reused client port never
 * lands on a dead entry; also when a SYN finds an entry not established
 * whose destination is down (dest_down). An expired entry that the sweep has not reached
 * yet is never used. Entries of a weight-0 destination continue: the
 * scheduler is only asked for new flows.
 *
 * TCP entries are made by any packet, not only SYN (as Katran, unlike
 * IPVS without sloppy_tcp), so flows survive a restart of the director; a
 * first packet with ACK starts ESTABLISHED.
 */
int xlb_conn_in(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		uint8_t tcp_flags, uint64_t now_ms,
		xlb_conn_sched_fn sched, void *sched_arg,
		struct xlb_conn_view *out);

/*
 * Persistence templates, as IPVS's (ip_vs_sched_persist, and
 * IP_VS_CONN_F_TEMPLATE entries in ip_vs_conn.c).
 *
 * A template is an entry of this table whose original tuple is (client
 * address & netmask, port 0 -> VIP:vport, proto) and which binds that
 * client (masked) to one real server: every new connection of the client
 * to the service goes to the template's server without asking the
 * scheduler. It lives in the table, not beside it, so that it is swept,
 * evicted, flushed, listed (state NONE for TCP, UDP for UDP; source port
 * 0) and handed to the next xlbd through the state file like any entry.
 *
 * Connections made through a template are "controlled" by it: the
 * template counts them (IPVS's n_control) and never expires, is never
 * evicted and never flushed while it controls one. When the last one is
 * freed, the template expires timeout seconds later; a new connection
 * through it restarts that clock (as IPVS resets a template's timer on
 * each use). The listing shows a controlled template's time as IPVS's
 * re-armed timer does.
 *
 * xlb_conn_tmpl_get() finds or makes the template of tk (tk->sport must be
 * 0, tk->saddr already masked) and takes a reference on it for one
 * connection (*ref, never 0). A new template is bound with sched(tk), and
 * so is one whose destination dest_alive() denies or dest_down() reports
 * (a deleted server, or one that failed its checks: the client is
 * rescheduled, the template re-bound); a template of a
 * quiesced (weight 0) server is kept, as IPVS's with expire_quiescent_
 * template off. timeout_s (>= 1) becomes the template's timeout. *out is
 * the template (out->tmpl set; out->reply.saddr/sport is its server).
 * Returns 1 if it was made or re-bound, 0 if it existed, or a negative
 * errno: -ENOSPC, -EPROTONOSUPPORT, -EINVAL (sport not 0 or timeout 0), or
 * what sched returned.
 *
 * The reference is given to xlb_conn_in_tmpl(), which makes the new
 * connection controlled by the template (the entry keeps the reference
 * until it is freed), or dropped with xlb_conn_tmpl_put() (e.g. after a
 * one-packet datagram: the template's clock restarts, nothing else).
 * Neither takes the template's lock: the count and the expiry are atomic,
 * and a referenced template cannot be freed.
 */
int xlb_conn_tmpl_get(struct xlb_conn_tab *t, const struct xlb_conn_key *tk,
		      uint32_t timeout_s, uint64_t now_ms,
		      xlb_conn_sched_fn sched, void *sched_arg,
		      struct xlb_conn_view *out, uint32_t *ref);
void xlb_conn_tmpl_put(struct xlb_conn_tab *t, uint32_t ref, uint64_t now_ms);

/*
 * xlb_conn_in() with a template reference from xlb_conn_tmpl_get() (0:
 * none, then it is xlb_conn_in()). If this packet creates the entry, the
 * entry keeps ref and is controlled by the template; in every other case
 * (the entry existed, or an error) the reference is dropped here.
 */
int xlb_conn_in_tmpl(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		     uint8_t tcp_flags, uint64_t now_ms,
		     xlb_conn_sched_fn sched, void *sched_arg, uint32_t ref,
		     struct xlb_conn_view *out);

/* Counts a datagram of a one-packet (-o) service, which gets no entry. */
void xlb_conn_count_onepacket(struct xlb_conn_tab *t);

/* How many connections template ref controls now (for tests), or -1 if
 * ref is no live template. */
int xlb_conn_tmpl_controlled(struct xlb_conn_tab *t, uint32_t ref);

/*
 * Starts loading the bucket and lock a later xlb_conn_in() (dir INPUT) or
 * xlb_conn_out() (dir OUTPUT) of k will need: for a batch of packets, call
 * it for each first, so that their cache misses overlap. Optional.
 */
void xlb_conn_prefetch(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		       enum xlb_conn_dir dir);

/*
 * A reply (RS -> client) of a NAT entry, found by its full reply tuple:
 * tracks state, refreshes expiry, copies the entry (out->orig is what to
 * rewrite back to). -ENOENT when no live NAT entry has this reply tuple.
 */
int xlb_conn_out(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		 uint8_t tcp_flags, uint64_t now_ms, struct xlb_conn_view *out);

/*
 * Looks an entry up without touching it (ICMP errors about a flow): by its
 * original tuple when dir is XLB_CONN_DIR_INPUT, by its NAT reply tuple
 * when XLB_CONN_DIR_OUTPUT. 0 or -ENOENT (also for an expired entry).
 */
int xlb_conn_get(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		 enum xlb_conn_dir dir, uint64_t now_ms, struct xlb_conn_view *out);

/*
 * What xlb_conn_edit() shows its callback of an entry, under the entry's
 * lock. The callback may change bind (the entry's own bytes) and ask for
 * the entry to be refreshed as if packets had been seen: seen_ms (0: no)
 * moves the expiry to seen_ms + the state's timeout when that is later;
 * with seen_new (packets were seen since the last edit, the last at
 * seen_ms) it sets it so in any case, as that packet would have (a
 * timeout lowered by ipvsadm --set applies from the next packet). add_pkts
 * is added to its packet count. For traffic the entry did not see itself
 * (the XDP fast path, lb/fastpath.c).
 */
struct xlb_conn_edit {
	const struct xlb_conn_key *orig;
	const struct xlb_conn_key *reply;
	const void *dest;
	uint8_t  state;
	uint8_t  fwd;
	uint8_t  *bind;			/* XLB_CONN_BIND_SIZE bytes, writable */
	uint64_t seen_ms;		/* in: 0 */
	uint32_t add_pkts;		/* in: 0 */
	bool     seen_new;		/* in: false */
};

/* Called under a stripe lock: must not call back into the table. */
typedef void (*xlb_conn_edit_fn)(void *arg, struct xlb_conn_edit *e);

/*
 * Finds the live entry of k (by its original tuple when dir is
 * XLB_CONN_DIR_INPUT, by its NAT reply tuple when XLB_CONN_DIR_OUTPUT) and
 * calls fn on it under its lock. 0, or -ENOENT (no such entry, or expired).
 */
int xlb_conn_edit(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		  enum xlb_conn_dir dir, uint64_t now_ms, xlb_conn_edit_fn fn,
		  void *arg);

/*
 * Frees expired entries in the next `budget` buckets (0: all), resuming
 * where the previous call stopped; returns how many it freed. For a
 * housekeeping thread: e.g. buckets/16 every 100 ms sweeps the table in
 * 1.6 s without holding any lock for long.
 */
uint32_t xlb_conn_expire(struct xlb_conn_tab *t, uint64_t now_ms, uint32_t budget);

/*
 * Removes every entry bound to dest (NULL: every entry), e.g. when a real
 * server is deleted; returns how many. The daemon takes dest out of the
 * scheduler first, so no new entry can be bound to it meanwhile.
 */
uint32_t xlb_conn_flush_dest(struct xlb_conn_tab *t, const void *dest);
/* Removes, in one sweep, every entry whose destination dest_alive() says
 * is gone (many real servers deleted at once, e.g. xlbctl -C). */
uint32_t xlb_conn_flush_dead(struct xlb_conn_tab *t);

/* Visits every entry under its lock (see xlb_conn_foreach_fn). Returns the
 * number visited, or the callback's negative value. The callback runs
 * under a stripe lock, stalling the workers of that stripe: anything that
 * may wait (a socket) uses xlb_conn_copy() instead. */
int xlb_conn_foreach(struct xlb_conn_tab *t, uint64_t now_ms,
		     xlb_conn_foreach_fn fn, void *arg);

/* Where xlb_conn_copy() resumes; zero it to start at the table's head. */
struct xlb_conn_cursor {
	uint32_t bucket;	/* next bucket to copy; >= buckets: the end */
	uint32_t skip;		/* entries of that bucket already copied */
};

/*
 * Copies up to max (>= 1) entries, from *cur on, into buf and advances
 * *cur: a dump that may wait between calls (a control client that does
 * not read) without ever holding a lock meanwhile. Each stripe lock is
 * held only while that stripe's buckets are copied (at most max entries)
 * and nothing is called under it. Returns how many were copied, 0 only at
 * the end of the table. Buckets are copied whole unless one holds more
 * than max entries, so an entry that stays in the table is copied exactly
 * once; one created or freed meanwhile may or may not be (as in a netlink
 * dump).
 */
uint32_t xlb_conn_copy(struct xlb_conn_tab *t, uint64_t now_ms, struct xlb_conn_cursor *cur,
		       struct xlb_conn_entry *buf, uint32_t max);

/* ipvsadm --set: applies from the next packet of each entry on. A zero
 * field leaves that timeout unchanged, as with ipvsadm. */
void xlb_conn_set_timeouts(struct xlb_conn_tab *t, const struct xlb_timeouts *to);
void xlb_conn_get_timeouts(const struct xlb_conn_tab *t, struct xlb_timeouts *to);

uint64_t xlb_conn_count(const struct xlb_conn_tab *t);
uint32_t xlb_conn_tab_size(const struct xlb_conn_tab *t);	/* buckets: "size=" */
uint32_t xlb_conn_max(const struct xlb_conn_tab *t);
void xlb_conn_get_stats(const struct xlb_conn_tab *t, struct xlb_conn_stats *s);

/* "ESTABLISHED", "SYN_RECV", ... "UDP"; "ERR!" out of range. */
const char *xlb_conn_state_name(unsigned int state);

/* Seconds an entry stays in state (after set_timeouts). */
uint32_t xlb_conn_state_timeout(const struct xlb_conn_tab *t, unsigned int state);

/* IPVS's transition for a TCP packet with tcp_flags in state, travelling
 * dir. A packet with none of SYN/FIN/ACK/RST leaves the state unchanged. */
unsigned int xlb_conn_tcp_next(unsigned int state, enum xlb_conn_dir dir,
			       uint8_t tcp_flags);

/* Which stripe (lock) holds k's entry, and how many there are: for tests. */
uint32_t xlb_conn_stripe(const struct xlb_conn_tab *t, const struct xlb_conn_key *k);
uint32_t xlb_conn_nstripes(const struct xlb_conn_tab *t);

/*
 * Connection sync (lb/sync.h), on the backup: makes or updates the entry
 * of original tuple k as the master has it -- bound to tg (as a scheduler
 * would bind it; the reply tuple is rebuilt from tg->daddr:dport), in
 * state, expiring timeout_s seconds from now -- or, with tmpl, the
 * persistence template of k (k->sport 0; state NONE or UDP). An entry of
 * k bound elsewhere is replaced. A NAT reply tuple held by another live
 * entry is a clash (-EADDRINUSE, counted). Returns 1 when made, 0 when
 * updated, or -EINVAL, -EPROTONOSUPPORT, -ENOSPC, -EADDRINUSE.
 */
int xlb_conn_sync_put(struct xlb_conn_tab *t, const struct xlb_conn_key *k, bool tmpl,
		      const struct xlb_conn_target *tg, unsigned int state,
		      uint32_t timeout_s, uint64_t now_ms);
/* Removes the entry (or, with tmpl, the template) of k: 0 or -ENOENT. A
 * template that controls connections is left to expire. */
int xlb_conn_sync_del(struct xlb_conn_tab *t, const struct xlb_conn_key *k, bool tmpl,
		      uint64_t now_ms);

/*
 * Checks the table's invariants (every entry linked once under the right
 * stripe and bucket, count, active/inactive, free list) with all locks
 * taken in turn; for tests and debugging. 0 or -EUCLEAN.
 */
int xlb_conn_verify(struct xlb_conn_tab *t);

#endif /* XLB_CONN_H */
