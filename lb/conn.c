// SPDX-License-Identifier: GPL-2.0
/*
 * The connection table (see conn.h for its shape, threads and memory).
 *
 * Hash nodes are 32-bit ids rather than pointers: node id = entry index * 2
 * + direction + 1 (0 ends a chain), so both links of an entry fit in 8
 * bytes and the bucket array in 4 bytes a bucket, and a zeroed bucket array
 * is an empty table (the pages stay untouched until used).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "hash.h"

/* Wire values of TCP flags (XLB_TCP_* in pkt.h), kept local to stay
 * independent of the parser. */
#define TH_FIN	0x01
#define TH_SYN	0x02
#define TH_RST	0x04
#define TH_ACK	0x10

#define NIL		0u
#define NO_ENTRY	UINT32_MAX
#define ORIG		0
#define REPLY		1

#define NODE(idx, dir)	((((idx) << 1) | (dir)) + 1)
#define NODE_IDX(n)	(((n) - 1) >> 1)
#define NODE_DIR(n)	(((n) - 1) & 1)

#define F_INUSE		0x01
#define F_REPLY_HASHED	0x02
#define F_REF		0x04	/* CLOCK: a packet since the hand last passed */
#define F_TEMPLATE	0x08	/* a persistence template (conn.h) */

#define XLB_TIMEOUT_MAX_S	(31u * 24 * 3600)	/* ipvsadm's longest */

#define STRIPE_BUCKETS	64	/* buckets per lock, at most */
#define STRIPES_MAX	4096

/* A tuple as an entry stores it: the first 16 bytes of struct
 * xlb_conn_key. An IPv6 tuple's addresses are out of line, in the table's
 * parallel array a6 (same index): IPv4 entries stay 128 bytes, two cache
 * lines as before IPv6, and a table of IPv4 flows never pages the IPv6
 * array in (a third less memory, and fewer TLB misses at a million
 * flows, than 192-byte entries). */
struct conn_k4 {
	uint32_t saddr;
	uint32_t daddr;
	uint16_t sport;
	uint16_t dport;
	uint8_t  proto;
	uint8_t  af;
	uint8_t  pad[2];
};

struct xlb_conn {
	struct conn_k4 key[2];		/* [ORIG], [REPLY] */
	uint32_t next[2];		/* chain links; next[0] links the free list */
	const void *dest;
	uint64_t expires;		/* ms */
	uint8_t  state;
	uint8_t  fwd;
	uint8_t  flags;
	uint8_t  pad;
	union {
		uint32_t pkts;
		uint32_t n_control;	/* template: connections it controls (atomic) */
	};
	uint8_t  bind[XLB_CONN_BIND_SIZE] __attribute__((aligned(8)));
	union {
		/* connection: its template's index + 1, 0: none. Was the
		 * last 4 bind bytes, always zero, before templates: a state
		 * file from then reads as "no template". */
		uint32_t ctl;
		uint32_t tmo;		/* template: its timeout, s */
	};
};

_Static_assert(sizeof(struct xlb_conn) == 128, "conn.h documents 128 bytes an entry");

/* An IPv6 entry's four addresses: [ORIG/REPLY][source, destination].
 * Untouched (and never paged in) while only IPv4 flows come. */
struct conn_a6 {
	union xlb_inaddr a[2][2];
};

_Static_assert(sizeof(struct conn_a6) == 64, "conn.h documents 64 bytes an IPv6 entry");

struct stripe {
	pthread_spinlock_t lock;
	uint32_t hand;		/* CLOCK: next bucket to look at, in the stripe */
} __attribute__((aligned(64)));

/*
 * The state file (xlb_conn_params.state_path): this header, padded to a
 * page, then the entries. Only the entries and this header are shared; the
 * chains, the free list and the locks are private and rebuilt by
 * xlb_conn_adopt() from the entries alone, so a process killed mid-update
 * leaves nothing the next one has to trust but a few torn entries, which
 * adopt validates field by field.
 */
#define FILE_MAGIC	0x6e6e6f63626c78ull	/* "xlbconn" */
#define FILE_VERSION	XLB_CONN_FILE_VERSION	/* 1 is upgraded, 2 refused */
/* Version 1, xlbd before IPv6 (main up to 61078b9): this header and these
 * 128-byte entries byte for byte (same offsets of every field, flags,
 * states and methods), no IPv6 array, and byte 13 of each tuple (af here)
 * was pad[0] (zero as main's create() wrote it; a template's or a synced
 * entry's copied the caller's, so it is not relied on). The bind blob is
 * never read back: adoption rebinds every entry. */
#define FILE_VERSION_V1	1u
#define FILE_HDR_BYTES	4096u

struct conn_file_hdr {
	uint64_t magic;			/* written last when (re)initialised */
	uint32_t version;
	uint32_t entry_size;
	uint32_t max_conns;
	uint32_t nbuckets;
	uint32_t seed;
	uint32_t hiwater;		/* no process used entries [hiwater, max) */
};

struct xlb_conn_tab {
	struct xlb_conn *ents;
	struct conn_a6 *a6;		/* [max], beside ents */
	uint32_t *heads;
	struct stripe *stripes;
	size_t ents_bytes;
	size_t a6_bytes;
	size_t heads_bytes;
	struct conn_file_hdr *hdr;	/* NULL: private memory */
	size_t map_bytes;		/* of the file's mapping */
	int fd;				/* the state file (flocked), or -1 */
	uint32_t adoptable;		/* live entries the file brought */
	uint32_t file_version;		/* another format's version found, or 0 */
	uint32_t file_upgraded;		/* version the file was upgraded from, or 0 */
	uint32_t max;
	uint32_t nbuckets;
	uint32_t nstripes;
	uint32_t stripe_shift;		/* log2(buckets per stripe) */
	uint32_t seed;
	uint32_t cursor;		/* next bucket to sweep (atomic) */
	uint32_t to_tcp, to_fin, to_udp;	/* seconds (atomic) */
	uint64_t last_now;		/* latest time a sweep or template call saw (atomic) */

	void (*on_count)(void *arg, const void *dest, int d_active, int d_inactive);
	bool (*dest_alive)(void *arg, const void *dest);
	void (*on_persist)(void *arg, const void *dest, int delta);
	bool (*dest_down)(void *arg, const void *dest);
	void (*on_release)(void *arg, const struct xlb_conn_key *orig, uint8_t fwd,
			   uint8_t state, bool tmpl);
	void *cb_arg;

	pthread_spinlock_t free_lock __attribute__((aligned(64)));
	uint32_t free_head;		/* entry index + 1, 0: empty */
	uint32_t unused;		/* entries [unused, max) never used yet */

	struct xlb_conn_stats st __attribute__((aligned(64)));	/* atomic fields */
};

/* Entry e's IPv6 addresses. */
#define A6(t, e)	((t)->a6[(e) - (t)->ents].a)

#define STAT_ADD(t, f, v)	__atomic_fetch_add(&(t)->st.f, (uint64_t)(v), __ATOMIC_RELAXED)
#define STAT_GET(t, f)		__atomic_load_n(&(t)->st.f, __ATOMIC_RELAXED)

/* ---- hashing (MurmurHash3 rounds, seeded) ---- */

/*
 * The stripe depends on the client's end only, which the original tuple
 * (client is the source) and the reply tuple (client is the destination)
 * share; the bucket inside the stripe on the whole tuple.
 */
/* IPv6: every byte of both addresses (a fold would let a client pick
 * colliding addresses inside its own prefix). */
static __attribute__((noinline)) uint32_t conn_bucket6(const struct xlb_conn_tab *t,
							const struct xlb_conn_key *k, int dir)
{
	const union xlb_inaddr *ca = dir == ORIG ? &k->saddr6 : &k->daddr6;
	uint32_t cport = dir == ORIG ? k->sport : k->dport;
	uint32_t hs = t->seed ^ 0x6a09e667u, hb = t->seed ^ 0xbb67ae85u;
	int i;

	for (i = 0; i < 4; i++)
		hs = xlb_mm3_round(hs, ca->ip6[i]);
	hs = xlb_mm3_fmix(xlb_mm3_round(hs, cport | (uint32_t)k->proto << 16));
	for (i = 0; i < 4; i++)
		hb = xlb_mm3_round(hb, k->saddr6.ip6[i]);
	for (i = 0; i < 4; i++)
		hb = xlb_mm3_round(hb, k->daddr6.ip6[i]);
	hb = xlb_mm3_round(hb, (uint32_t)k->sport | (uint32_t)k->dport << 16);
	hb = xlb_mm3_fmix(xlb_mm3_round(hb, k->proto | (uint32_t)dir << 8));

	return ((hs & (t->nstripes - 1)) << t->stripe_shift) |
	       (hb & ((1u << t->stripe_shift) - 1));
}

/* IPv4: the hash of before IPv6, byte for byte. Never inlined: measured
 * (EPYC VM, 10k flows), inlining it into xlb_conn_in() made an IPv4 lookup
 * 7-8 ns (20 %) slower, whatever else was done; main's compiler happened
 * to keep it out of line. */
static __attribute__((noinline)) uint32_t conn_bucket4(const struct xlb_conn_tab *t,
				    const struct xlb_conn_key *k, int dir)
{
	uint32_t caddr = dir == ORIG ? k->saddr : k->daddr;
	uint32_t cport = dir == ORIG ? k->sport : k->dport;
	uint32_t hs, hb;

	hs = xlb_mm3_round(t->seed, caddr);
	hs = xlb_mm3_fmix(xlb_mm3_round(hs, cport | (uint32_t)k->proto << 16));
	hb = xlb_mm3_round(t->seed ^ 0x9e3779b9u, k->saddr);
	hb = xlb_mm3_round(hb, k->daddr);
	hb = xlb_mm3_round(hb, (uint32_t)k->sport | (uint32_t)k->dport << 16);
	hb = xlb_mm3_fmix(xlb_mm3_round(hb, k->proto | (uint32_t)dir << 8));

	return ((hs & (t->nstripes - 1)) << t->stripe_shift) |
	       (hb & ((1u << t->stripe_shift) - 1));
}

static inline uint32_t conn_bucket(const struct xlb_conn_tab *t,
				   const struct xlb_conn_key *k, int dir)
{
	if (__builtin_expect(xlb_conn_key_is6(k), 0))
		return conn_bucket6(t, k, dir);
	return conn_bucket4(t, k, dir);
}

static inline pthread_spinlock_t *bucket_lock(struct xlb_conn_tab *t, uint32_t b)
{
	return &t->stripes[b >> t->stripe_shift].lock;
}

/* Entry e's tuple dir equals k, k of family v6 (a constant where the
 * caller knows it: the IPv4 lookups then compile to the compares of
 * before IPv6, plus one byte: an IPv6 entry's folds may equal an IPv4
 * key). */
static inline __attribute__((always_inline)) bool key_eq_af(const struct xlb_conn_tab *t,
							    const struct xlb_conn *e, int dir,
							    const struct xlb_conn_key *k,
							    bool v6)
{
	const struct conn_k4 *a = &e->key[dir];

	if (!(a->saddr == k->saddr && a->daddr == k->daddr && a->sport == k->sport &&
	      a->dport == k->dport && a->proto == k->proto))
		return false;
	if (!v6)
		return a->af != AF_INET6;
	return a->af == AF_INET6 && !memcmp(&A6(t, e)[dir][0], &k->saddr6, 16) &&
	       !memcmp(&A6(t, e)[dir][1], &k->daddr6, 16);
}

/* Stores k as entry e's tuple dir (pad zeroed). */
static inline void key_put(struct xlb_conn_tab *t, struct xlb_conn *e, int dir,
			   const struct xlb_conn_key *k)
{
	struct conn_k4 *a = &e->key[dir];

	a->saddr = k->saddr;
	a->daddr = k->daddr;
	a->sport = k->sport;
	a->dport = k->dport;
	a->proto = k->proto;
	a->af = xlb_conn_key_is6(k) ? AF_INET6 : 0;
	a->pad[0] = a->pad[1] = 0;
	if (xlb_conn_key_is6(k)) {
		A6(t, e)[dir][0] = k->saddr6;
		A6(t, e)[dir][1] = k->daddr6;
	}
}

/* Entry e's tuple dir as a struct xlb_conn_key (IPv4: IPv6 part zero).
 * conn_k4 is the key's first 16 bytes, so it is one copy. */
_Static_assert(sizeof(struct conn_k4) == 16 &&
	       offsetof(struct xlb_conn_key, saddr6) == 16 &&
	       offsetof(struct xlb_conn_key, af) == offsetof(struct conn_k4, af),
	       "conn_k4 is struct xlb_conn_key's head");
static inline __attribute__((always_inline)) void key_get(const struct xlb_conn_tab *t,
							  const struct xlb_conn *e, int dir,
							  struct xlb_conn_key *k)
{
	const struct conn_k4 *a = &e->key[dir];

	memcpy(k, a, sizeof(*a));
	if (__builtin_expect(a->af == AF_INET6, 0)) {
		k->saddr6 = A6(t, e)[dir][0];
		k->daddr6 = A6(t, e)[dir][1];
	} else {
		memset(&k->saddr6, 0, 32);
	}
}

static inline uint32_t ebucket(const struct xlb_conn_tab *t, const struct xlb_conn *e, int dir)
{
	struct xlb_conn_key k;

	key_get(t, e, dir, &k);
	return conn_bucket(t, &k, dir);
}

/* The reply tuple of orig k for target tg: RIP:rport -> client. */
static void reply_key(struct xlb_conn_key *rk, const struct xlb_conn_key *k,
		      const struct xlb_conn_target *tg)
{
	memset(rk, 0, sizeof(*rk));
	rk->saddr = tg->daddr;
	rk->sport = tg->dport;
	rk->daddr = k->saddr;
	rk->dport = k->sport;
	rk->proto = k->proto;
	if (xlb_conn_key_is6(k))
		xlb_conn_key_set6(rk, &tg->daddr6, &k->saddr6);
}

static inline uint32_t *node_next(struct xlb_conn_tab *t, uint32_t n)
{
	return &t->ents[NODE_IDX(n)].next[NODE_DIR(n)];
}

/* ---- TCP states (IPVS's ip_vs_proto_tcp.c tables) ---- */

#define sNO XLB_CONN_S_NONE
#define sES XLB_CONN_S_ESTABLISHED
#define sSS XLB_CONN_S_SYN_SENT
#define sSR XLB_CONN_S_SYN_RECV
#define sFW XLB_CONN_S_FIN_WAIT
#define sTW XLB_CONN_S_TIME_WAIT
#define sCL XLB_CONN_S_CLOSE
#define sCW XLB_CONN_S_CLOSE_WAIT
#define sLA XLB_CONN_S_LAST_ACK
#define sLI XLB_CONN_S_LISTEN
#define sSA XLB_CONN_S_SYNACK

#define TCP_STATES	(XLB_CONN_S_SYNACK + 1)

/*
 * [direction][syn, fin, ack, rst][state]. One change from IPVS: an ACK in
 * state NONE (the first packet of a flow that began before this table
 * knew it, e.g. across a restart of the director) gives ESTABLISHED rather
 * than CLOSE, as xlb schedules mid-flow packets (IPVS's sloppy_tcp).
 */
static const uint8_t tcp_next[3][4][TCP_STATES] = {
	[XLB_CONN_DIR_INPUT] = {
/*	   sNO, sES, sSS, sSR, sFW, sTW, sCL, sCW, sLA, sLI, sSA */
/*syn*/	{ sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR },
/*fin*/	{ sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW },
/*ack*/	{ sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES },
/*rst*/	{ sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR },
	},
	[XLB_CONN_DIR_OUTPUT] = {
/*syn*/	{ sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR },
/*fin*/	{ sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW },
/*ack*/	{ sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES },
/*rst*/	{ sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL },
	},
	[XLB_CONN_DIR_INPUT_ONLY] = {
/*syn*/	{ sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR },
/*fin*/	{ sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW },
/*ack*/	{ sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES },
/*rst*/	{ sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL },
	},
};

static const char *const state_names[XLB_CONN_S_NR] = {
	[XLB_CONN_S_NONE]	 = "NONE",
	[XLB_CONN_S_ESTABLISHED] = "ESTABLISHED",
	[XLB_CONN_S_SYN_SENT]	 = "SYN_SENT",
	[XLB_CONN_S_SYN_RECV]	 = "SYN_RECV",
	[XLB_CONN_S_FIN_WAIT]	 = "FIN_WAIT",
	[XLB_CONN_S_TIME_WAIT]	 = "TIME_WAIT",
	[XLB_CONN_S_CLOSE]	 = "CLOSE",
	[XLB_CONN_S_CLOSE_WAIT]	 = "CLOSE_WAIT",
	[XLB_CONN_S_LAST_ACK]	 = "LAST_ACK",
	[XLB_CONN_S_LISTEN]	 = "LISTEN",
	[XLB_CONN_S_SYNACK]	 = "SYNACK",
	[XLB_CONN_S_UDP]	 = "UDP",
};

const char *xlb_conn_state_name(unsigned int state)
{
	return state < XLB_CONN_S_NR ? state_names[state] : "ERR!";
}

unsigned int xlb_conn_tcp_next(unsigned int state, enum xlb_conn_dir dir, uint8_t tcp_flags)
{
	int idx;

	if (state >= TCP_STATES || (unsigned int)dir > XLB_CONN_DIR_INPUT_ONLY)
		return state;
	if (tcp_flags & TH_RST)
		idx = 3;
	else if (tcp_flags & TH_SYN)
		idx = 0;
	else if (tcp_flags & TH_FIN)
		idx = 1;
	else if (tcp_flags & TH_ACK)
		idx = 2;
	else
		return state;	/* IPVS would close; a null-flags probe must not */
	return tcp_next[dir][idx][state];
}

uint32_t xlb_conn_state_timeout(const struct xlb_conn_tab *t, unsigned int state)
{
	switch (state) {
	case XLB_CONN_S_ESTABLISHED:
		return __atomic_load_n(&t->to_tcp, __ATOMIC_RELAXED);
	case XLB_CONN_S_FIN_WAIT:
		return __atomic_load_n(&t->to_fin, __ATOMIC_RELAXED);
	case XLB_CONN_S_UDP:
		return __atomic_load_n(&t->to_udp, __ATOMIC_RELAXED);
	case XLB_CONN_S_SYN_SENT:
		return XLB_CONN_TIMEOUT_SYN_SENT;
	case XLB_CONN_S_SYN_RECV:
		return XLB_CONN_TIMEOUT_SYN_RECV;
	case XLB_CONN_S_TIME_WAIT:
		return XLB_CONN_TIMEOUT_TIME_WAIT;
	case XLB_CONN_S_CLOSE:
		return XLB_CONN_TIMEOUT_CLOSE;
	case XLB_CONN_S_CLOSE_WAIT:
		return XLB_CONN_TIMEOUT_CLOSE_WAIT;
	case XLB_CONN_S_LAST_ACK:
		return XLB_CONN_TIMEOUT_LAST_ACK;
	case XLB_CONN_S_LISTEN:
		return XLB_CONN_TIMEOUT_LISTEN;
	case XLB_CONN_S_SYNACK:
		return XLB_CONN_TIMEOUT_SYNACK;
	default:
		return XLB_CONN_TIMEOUT_NONE;
	}
}

static inline bool state_active(unsigned int state)
{
	return state == XLB_CONN_S_ESTABLISHED;
}

static inline bool state_closing(unsigned int state)
{
	return state == XLB_CONN_S_FIN_WAIT || state == XLB_CONN_S_TIME_WAIT ||
	       state == XLB_CONN_S_CLOSE || state == XLB_CONN_S_CLOSE_WAIT ||
	       state == XLB_CONN_S_LAST_ACK;
}

static inline bool syn_only(uint8_t tcp_flags)
{
	return (tcp_flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN;
}

/* ---- entries ---- */

static void account(struct xlb_conn_tab *t, const void *dest, int d_active, int d_inactive)
{
	if (d_active)
		STAT_ADD(t, active, (int64_t)d_active);
	if (d_inactive)
		STAT_ADD(t, inactive, (int64_t)d_inactive);
	if (t->on_count)
		t->on_count(t->cb_arg, dest, d_active, d_inactive);
}

/* A connection (tflag 0) or a template (tflag F_TEMPLATE) of tuple k: a
 * template's port-0 tuple may also be a real flow's. One body, compiled
 * once per family (find_k4, find_k6). */
static inline __attribute__((always_inline)) uint32_t find_k_af(struct xlb_conn_tab *t, uint32_t b,
								const struct xlb_conn_key *k,
								int dir, uint8_t tflag, bool v6)
{
	uint32_t n;

	for (n = t->heads[b]; n != NIL; n = *node_next(t, n)) {
		const struct xlb_conn *e = &t->ents[NODE_IDX(n)];

		if (NODE_DIR(n) == (uint32_t)dir && key_eq_af(t, e, dir, k, v6) &&
		    (e->flags & F_TEMPLATE) == tflag)
			return NODE_IDX(n);
	}
	return NO_ENTRY;
}

/* IPv4: the tuple compared as two 64-bit words, the second one's af and
 * pad bytes zero as key_put() stores an IPv4 tuple (an IPv6 entry's af is
 * not, so its folds never match an IPv4 key); the direction first, as a
 * NAT chain holds reply nodes too. Measured against find_k_af(): 1-3 ns
 * less per lookup. */
static uint32_t find_k4(struct xlb_conn_tab *t, uint32_t b, const struct xlb_conn_key *k,
			int dir, uint8_t tflag)
{
	uint64_t w0, w1;
	uint32_t n;

	memcpy(&w0, k, 8);
	memcpy(&w1, (const uint8_t *)k + 8, 8);
	w1 &= 0xffffffffffull;		/* sport, dport, proto; af, pad 0 */
	for (n = t->heads[b]; n != NIL; n = *node_next(t, n)) {
		const struct xlb_conn *e = &t->ents[NODE_IDX(n)];
		uint64_t e0, e1;

		if (NODE_DIR(n) != (uint32_t)dir)
			continue;
		memcpy(&e0, &e->key[dir], 8);
		memcpy(&e1, (const uint8_t *)&e->key[dir] + 8, 8);
		if (e0 == w0 && e1 == w1 && (e->flags & F_TEMPLATE) == tflag)
			return NODE_IDX(n);
	}
	return NO_ENTRY;
}

static __attribute__((noinline)) uint32_t find_k6(struct xlb_conn_tab *t, uint32_t b,
						  const struct xlb_conn_key *k,
						  int dir, uint8_t tflag)
{
	return find_k_af(t, b, k, dir, tflag, true);
}

static inline uint32_t find_k(struct xlb_conn_tab *t, uint32_t b, const struct xlb_conn_key *k,
			      int dir, uint8_t tflag)
{
	return xlb_conn_key_is6(k) ? find_k6(t, b, k, dir, tflag) : find_k4(t, b, k, dir, tflag);
}

static inline uint32_t find(struct xlb_conn_tab *t, uint32_t b, const struct xlb_conn_key *k,
			    int dir)
{
	return find_k(t, b, k, dir, 0);
}

static inline bool is_tmpl(const struct xlb_conn *e)
{
	return e->flags & F_TEMPLATE;
}

static inline uint32_t tmpl_controlled(const struct xlb_conn *e)
{
	return __atomic_load_n(&e->n_control, __ATOMIC_ACQUIRE);
}

static void account_persist(struct xlb_conn_tab *t, const void *dest, int delta)
{
	STAT_ADD(t, templates, (int64_t)delta);
	if (t->on_persist)
		t->on_persist(t->cb_arg, dest, delta);
}

/*
 * A connection controlled by template ref is gone (or never came): the
 * template's clock starts from now, then the count drops. In that order,
 * so that the expiry is written while the reference still keeps the
 * template from being freed, and a sweep that sees the count at zero
 * (acquire) sees the new expiry too. No lock: see conn.h.
 */
static void tmpl_put(struct xlb_conn_tab *t, uint32_t ref, uint64_t now)
{
	struct xlb_conn *te = &t->ents[ref - 1];
	uint32_t tmo = __atomic_load_n(&te->tmo, __ATOMIC_RELAXED);

	__atomic_store_n(&te->expires, now + (uint64_t)tmo * 1000, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&te->n_control, 1, __ATOMIC_RELEASE);
}

static inline uint64_t last_now(struct xlb_conn_tab *t)
{
	return __atomic_load_n(&t->last_now, __ATOMIC_RELAXED);
}

static inline void see_now(struct xlb_conn_tab *t, uint64_t now)
{
	if (now > last_now(t))
		__atomic_store_n(&t->last_now, now, __ATOMIC_RELAXED);
}

/* Whether a sweep or an eviction may free e now: never a template that
 * controls a connection. */
static inline bool freeable(const struct xlb_conn *e)
{
	return !is_tmpl(e) || tmpl_controlled(e) == 0;
}

static inline bool due(const struct xlb_conn *e, uint64_t now)
{
	return now >= __atomic_load_n(&e->expires, __ATOMIC_RELAXED) && freeable(e);
}

static void unlink_node(struct xlb_conn_tab *t, uint32_t b, uint32_t node)
{
	uint32_t *link = &t->heads[b];

	while (*link != node && *link != NIL)
		link = node_next(t, *link);
	if (*link == node)
		*link = *node_next(t, node);
}

/* Takes entry idx out of its chains and out of the counts, and a
 * connection out of its template's; the caller holds its stripe lock and
 * then reuses the slot or puts it back. A template must control nothing
 * (freeable). now restarts the template's clock. */
static void release(struct xlb_conn_tab *t, uint32_t idx, uint64_t now)
{
	struct xlb_conn *e = &t->ents[idx];
	bool act = state_active(e->state);

	if (t->on_release && now < __atomic_load_n(&e->expires, __ATOMIC_RELAXED)) {
		struct xlb_conn_key ok;

		key_get(t, e, ORIG, &ok);
		t->on_release(t->cb_arg, &ok, e->fwd, e->state, is_tmpl(e));
	}
	unlink_node(t, ebucket(t, e, ORIG), NODE(idx, ORIG));
	if (e->flags & F_REPLY_HASHED)
		unlink_node(t, ebucket(t, e, REPLY), NODE(idx, REPLY));
	if (is_tmpl(e)) {
		account_persist(t, e->dest, -1);
	} else {
		account(t, e->dest, act ? -1 : 0, act ? 0 : -1);
		if (e->ctl)
			tmpl_put(t, e->ctl, now);
	}
	STAT_ADD(t, count, -1);
	e->flags = 0;
	e->dest = NULL;
	e->ctl = 0;
}

/* Puts a chain of released entries (linked by next[0], first..last) on the
 * free list in one go. */
static void put_free_chain(struct xlb_conn_tab *t, uint32_t first, uint32_t last)
{
	pthread_spin_lock(&t->free_lock);
	t->ents[last].next[0] = t->free_head;
	t->free_head = first + 1;
	pthread_spin_unlock(&t->free_lock);
}

static void put_free(struct xlb_conn_tab *t, uint32_t idx)
{
	put_free_chain(t, idx, idx);
}

static uint32_t get_free(struct xlb_conn_tab *t)
{
	uint32_t idx = NO_ENTRY;

	pthread_spin_lock(&t->free_lock);
	if (t->free_head != 0) {
		idx = t->free_head - 1;
		t->free_head = t->ents[idx].next[0];
	} else if (t->unused < t->max) {
		idx = t->unused++;
		/* Tell the next process how far to look. */
		if (t->hdr && t->unused > t->hdr->hiwater)
			__atomic_store_n(&t->hdr->hiwater, t->unused, __ATOMIC_RELAXED);
	}
	pthread_spin_unlock(&t->free_lock);
	return idx;
}

/*
 * CLOCK (second chance) over the buckets of stripe s, locked: from the
 * stripe's hand, bucket by bucket, a referenced entry (one that saw a
 * packet since the hand last passed) loses its bit, and the first
 * unreferenced one is the victim; the hand stops after its bucket. Two
 * turns at most: after one every bit is clear. The entry evicted is thus
 * one that saw no packet for a turn of the hand, about the least recently
 * used of its stripe. New entries start unreferenced, so a flood of
 * one-packet tuples pushes out its own entries before any flow that
 * answered. An expired entry is better still: the look goes on to
 * EXPIRED_SCAN buckets from the hand for one (as many as the sweep-free
 * reclaim used to look at), leaving their bits alone. Returns the entry,
 * released, or NO_ENTRY if the stripe holds none.
 */
#define EXPIRED_SCAN	16

static uint32_t clock_evict(struct xlb_conn_tab *t, uint32_t s, uint64_t now)
{
	struct stripe *sp = &t->stripes[s];
	uint32_t bps = 1u << t->stripe_shift, base = s << t->stripe_shift;
	uint32_t victim = NO_ENTRY, cand = NO_ENTRY, cand_i = 0, i, n;

	for (i = 0; i < 2 * bps && (cand == NO_ENTRY || i < EXPIRED_SCAN); i++) {
		uint32_t bi = base + ((sp->hand + i) & (bps - 1));

		for (n = t->heads[bi]; n != NIL && victim == NO_ENTRY; n = *node_next(t, n)) {
			struct xlb_conn *e = &t->ents[NODE_IDX(n)];

			if (NODE_DIR(n) != ORIG || !freeable(e))
				continue;	/* a controlled template stays */
			if (now >= e->expires)
				victim = NODE_IDX(n);
			else if (cand != NO_ENTRY)
				continue;
			else if (e->flags & F_REF)
				e->flags &= (uint8_t)~F_REF;
			else {
				cand = NODE_IDX(n);
				cand_i = i;
			}
		}
		if (victim != NO_ENTRY)
			break;
	}
	/* The hand moves past the buckets whose bits it cleared. */
	if (cand != NO_ENTRY)
		sp->hand = (sp->hand + cand_i + 1) & (bps - 1);
	else if (victim != NO_ENTRY)
		sp->hand = (sp->hand + i) & (bps - 1);
	if (victim != NO_ENTRY) {
		STAT_ADD(t, expired, 1);
	} else if (cand != NO_ENTRY) {
		victim = cand;
		STAT_ADD(t, evicted, 1);
	} else {
		return NO_ENTRY;
	}
	release(t, victim, now);
	return victim;
}

/*
 * The table is full: a full table never refuses a new flow while it holds
 * an entry. Evict from the new flow's own stripe (locked by the caller);
 * if that stripe is empty, from the next stripe whose lock is free, never
 * waiting for a second lock (two workers doing the same would deadlock).
 * With the ring, an evicted flow's next packet is scheduled again onto the
 * same real server, so eviction costs a flow nothing unless its service
 * changed meanwhile.
 */
static uint32_t reclaim(struct xlb_conn_tab *t, uint32_t b, uint64_t now)
{
	uint32_t s = b >> t->stripe_shift, i, idx;

	idx = clock_evict(t, s, now);
	for (i = 1; i < t->nstripes && idx == NO_ENTRY; i++) {
		uint32_t o = (s + i) & (t->nstripes - 1);

		if (pthread_spin_trylock(&t->stripes[o].lock) != 0)
			continue;
		/* Released there, linked nowhere: the slot is ours. */
		idx = clock_evict(t, o, now);
		pthread_spin_unlock(&t->stripes[o].lock);
	}
	if (idx == NO_ENTRY)
		idx = get_free(t);	/* another thread freed one meanwhile */
	return idx;
}

/* A free entry for a new flow in bucket b (its stripe locked): the free
 * list first, else reclaim(); NO_ENTRY (counted) when the table is full. */
static uint32_t alloc_entry(struct xlb_conn_tab *t, uint32_t b, uint64_t now)
{
	uint32_t idx = get_free(t);

	if (idx == NO_ENTRY)
		idx = reclaim(t, b, now);
	if (idx == NO_ENTRY)
		STAT_ADD(t, full_drops, 1);
	return idx;
}

/* Hashes a filled-in entry (stripe locked): its original tuple in bucket b,
 * and for NAT its reply tuple in bucket rb; counts it. */
static void link_entry(struct xlb_conn_tab *t, uint32_t idx, uint32_t b, uint32_t rb)
{
	struct xlb_conn *e = &t->ents[idx];

	e->next[ORIG] = t->heads[b];
	t->heads[b] = NODE(idx, ORIG);
	if (is_tmpl(e)) {
		/* A template has no reply tuple to find, nor a connection's
		 * counts: PersistConn. */
		e->next[REPLY] = NIL;
		STAT_ADD(t, count, 1);
		account_persist(t, e->dest, 1);
		return;
	}
	if (e->fwd == XLB_FWD_NAT) {
		e->flags |= F_REPLY_HASHED;
		e->next[REPLY] = t->heads[rb];
		t->heads[rb] = NODE(idx, REPLY);
	} else {
		e->next[REPLY] = NIL;
	}
	STAT_ADD(t, count, 1);
	account(t, e->dest, state_active(e->state) ? 1 : 0, state_active(e->state) ? 0 : 1);
}

/* Entry e as a view; v6: the entry's family, a constant where the caller
 * knows it (IPv4: two 16-byte copies, the IPv6 parts zero). */
static inline __attribute__((always_inline)) void fill_view_af(const struct xlb_conn_tab *t,
							       const struct xlb_conn *e,
							       struct xlb_conn_view *v,
							       bool created, bool v6)
{
	v->dest = e->dest;
	if (v6) {
		key_get(t, e, ORIG, &v->orig);
		key_get(t, e, REPLY, &v->reply);
	} else {
		memcpy(&v->orig, &e->key[ORIG], sizeof(e->key[ORIG]));
		memset(&v->orig.saddr6, 0, 32);
		memcpy(&v->reply, &e->key[REPLY], sizeof(e->key[REPLY]));
		memset(&v->reply.saddr6, 0, 32);
	}
	v->fwd = e->fwd;
	v->state = e->state;
	v->created = created;
	v->tmpl = is_tmpl(e);
	v->changed = false;
	v->pkts = e->pkts;
	memcpy(v->bind, e->bind, sizeof(v->bind));
}

static inline void fill_view(const struct xlb_conn_tab *t, const struct xlb_conn *e,
			     struct xlb_conn_view *v, bool created)
{
	fill_view_af(t, e, v, created, e->key[ORIG].af == AF_INET6);
}

/* Returns whether the TCP state changed (for connection sync). */
static bool update(struct xlb_conn_tab *t, struct xlb_conn *e, enum xlb_conn_dir dir,
		   uint8_t tcp_flags, uint64_t now)
{
	bool changed = false;

	if (e->key[ORIG].proto == IPPROTO_TCP) {
		unsigned int ns;

		if (dir == XLB_CONN_DIR_INPUT && e->fwd != XLB_FWD_NAT)
			dir = XLB_CONN_DIR_INPUT_ONLY;
		ns = xlb_conn_tcp_next(e->state, dir, tcp_flags);
		if (ns != e->state) {
			if (state_active(ns) != state_active(e->state))
				account(t, e->dest, state_active(ns) ? 1 : -1,
					state_active(ns) ? -1 : 1);
			e->state = (uint8_t)ns;
			changed = true;
		}
	}
	e->expires = now + (uint64_t)xlb_conn_state_timeout(t, e->state) * 1000;
	e->flags |= F_REF;
	e->pkts++;
	return changed;
}

static bool dest_alive(struct xlb_conn_tab *t, const struct xlb_conn *e)
{
	return !t->dest_alive || t->dest_alive(t->cb_arg, e->dest);
}

/* Whether a packet that found e must start a new connection instead. */
static bool needs_resched(struct xlb_conn_tab *t, const struct xlb_conn *e, uint8_t tcp_flags)
{
	if (e->key[ORIG].proto != IPPROTO_TCP)
		return !dest_alive(t, e);
	if (!syn_only(tcp_flags))
		return false;
	if (state_closing(e->state) || !dest_alive(t, e))
		return true;
	/* A SYN again on an attempt that never got established, to a server
	 * that is down now: a new connection, for a server that is up. */
	return !state_active(e->state) && t->dest_down && t->dest_down(t->cb_arg, e->dest);
}

/*
 * Makes the entry for k in bucket b (stripe locked). spare is a slot the
 * caller released for this flow, or NO_ENTRY. Returns 0 with *idxp set, or
 * a negative errno (the spare slot then goes back to the free list).
 */
static int create(struct xlb_conn_tab *t, uint32_t b, const struct xlb_conn_key *k,
		  uint8_t tcp_flags, uint64_t now, xlb_conn_sched_fn sched, void *sched_arg,
		  uint32_t spare, uint32_t ref, uint32_t *idxp)
{
	struct xlb_conn_target tg;
	struct xlb_conn_key rk;
	struct xlb_conn *e;
	uint32_t idx, rb = 0;
	int ret;

	memset(&tg, 0, sizeof(tg));
	ret = sched(sched_arg, k, &tg);
	if (ret == XLB_CONN_SCHED_DEFER) {
		ret = -EINPROGRESS;	/* back with its template */
		goto fail;
	}
	if (ret < 0) {
		STAT_ADD(t, sched_errors, 1);
		goto fail;
	}
	if (tg.fwd != XLB_FWD_NAT && tg.fwd != XLB_FWD_DR && tg.fwd != XLB_FWD_TUN) {
		ret = -EINVAL;
		goto fail;
	}

	reply_key(&rk, k, &tg);

	if (tg.fwd == XLB_FWD_NAT) {
		uint32_t c;

		/* Same client end, so the same stripe: already locked. */
		rb = conn_bucket(t, &rk, REPLY);
		c = find(t, rb, &rk, REPLY);
		if (c != NO_ENTRY) {
			struct xlb_conn *ce = &t->ents[c];

			if (now >= ce->expires) {
				release(t, c, now);
				STAT_ADD(t, expired, 1);
			} else if (k->proto == IPPROTO_TCP && syn_only(tcp_flags) &&
				   state_closing(ce->state)) {
				release(t, c, now);
				STAT_ADD(t, rescheduled, 1);
			} else {
				/* Two services, one server, one client port:
				 * the server could not tell the flows apart. */
				STAT_ADD(t, clashes, 1);
				ret = -EADDRINUSE;
				goto fail;
			}
			if (spare == NO_ENTRY)
				spare = c;
			else
				put_free(t, c);
		}
	}

	idx = spare != NO_ENTRY ? spare : alloc_entry(t, b, now);
	if (idx == NO_ENTRY)
		return -ENOSPC;

	e = &t->ents[idx];
	key_put(t, e, ORIG, k);
	key_put(t, e, REPLY, &rk);
	e->dest = tg.dest;
	e->fwd = tg.fwd;
	e->flags = F_INUSE;
	e->pkts = 1;
	memcpy(e->bind, tg.bind, sizeof(e->bind));
	e->ctl = ref;
	if (k->proto == IPPROTO_TCP)
		e->state = (uint8_t)xlb_conn_tcp_next(XLB_CONN_S_NONE,
			tg.fwd == XLB_FWD_NAT ? XLB_CONN_DIR_INPUT : XLB_CONN_DIR_INPUT_ONLY,
			tcp_flags);
	else
		e->state = XLB_CONN_S_UDP;
	e->expires = now + (uint64_t)xlb_conn_state_timeout(t, e->state) * 1000;

	link_entry(t, idx, b, rb);
	STAT_ADD(t, created, 1);
	*idxp = idx;
	return 0;

fail:
	if (spare != NO_ENTRY)
		put_free(t, spare);
	return ret;
}

static inline bool proto_ok(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

void xlb_conn_prefetch(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		       enum xlb_conn_dir dir)
{
	uint32_t b = conn_bucket(t, k, dir == XLB_CONN_DIR_OUTPUT ? REPLY : ORIG);

	__builtin_prefetch(&t->heads[b], 0, 3);
	__builtin_prefetch((const void *)bucket_lock(t, b), 1, 3);
}

int xlb_conn_in(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		uint8_t tcp_flags, uint64_t now_ms,
		xlb_conn_sched_fn sched, void *sched_arg,
		struct xlb_conn_view *out)
{
	return xlb_conn_in_tmpl(t, k, tcp_flags, now_ms, sched, sched_arg, 0, out);
}

/* xlb_conn_in_tmpl() for keys of family v6: one body, compiled once per
 * family, so that the IPv4 lookup has no IPv6 code in its way. */
static inline __attribute__((always_inline)) int conn_in_af(struct xlb_conn_tab *t,
							    const struct xlb_conn_key *k,
							    uint8_t tcp_flags, uint64_t now_ms,
							    xlb_conn_sched_fn sched,
							    void *sched_arg, uint32_t ref,
							    struct xlb_conn_view *out, bool v6)
{
	uint32_t b, idx, spare = NO_ENTRY;
	pthread_spinlock_t *lock;
	int ret;

	if (!proto_ok(k->proto)) {
		if (ref)
			tmpl_put(t, ref, now_ms);
		return -EPROTONOSUPPORT;
	}
	b = v6 ? conn_bucket6(t, k, ORIG) : conn_bucket4(t, k, ORIG);
	lock = bucket_lock(t, b);
	/* The bucket's line loads while the lock is taken (a locked
	 * instruction: nothing after it would start before). */
	__builtin_prefetch(&t->heads[b], 0, 3);
	pthread_spin_lock(lock);

	idx = v6 ? find_k6(t, b, k, ORIG, 0) : find_k4(t, b, k, ORIG, 0);
	if (idx != NO_ENTRY) {
		struct xlb_conn *e = &t->ents[idx];

		if (now_ms >= e->expires) {
			/* Due but not yet swept: it no longer exists. */
			release(t, idx, now_ms);
			STAT_ADD(t, expired, 1);
			spare = idx;
		} else if (needs_resched(t, e, tcp_flags)) {
			release(t, idx, now_ms);
			STAT_ADD(t, rescheduled, 1);
			spare = idx;
		} else {
			bool changed = update(t, e, XLB_CONN_DIR_INPUT, tcp_flags, now_ms);

			fill_view_af(t, e, out, false, v6);
			out->changed = changed;
			pthread_spin_unlock(lock);
			if (ref)
				tmpl_put(t, ref, now_ms);	/* another got here first */
			return 0;
		}
	}

	ret = create(t, b, k, tcp_flags, now_ms, sched, sched_arg, spare, ref, &idx);
	if (ret == 0)
		fill_view_af(t, &t->ents[idx], out, true, v6);
	pthread_spin_unlock(lock);
	if (ret < 0 && ref)
		tmpl_put(t, ref, now_ms);
	return ret < 0 ? ret : 1;
}

static __attribute__((noinline)) int conn_in6(struct xlb_conn_tab *t,
					       const struct xlb_conn_key *k,
					       uint8_t tcp_flags, uint64_t now_ms,
					       xlb_conn_sched_fn sched, void *sched_arg,
					       uint32_t ref, struct xlb_conn_view *out)
{
	return conn_in_af(t, k, tcp_flags, now_ms, sched, sched_arg, ref, out, true);
}

int xlb_conn_in_tmpl(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		     uint8_t tcp_flags, uint64_t now_ms,
		     xlb_conn_sched_fn sched, void *sched_arg, uint32_t ref,
		     struct xlb_conn_view *out)
{
	if (__builtin_expect(xlb_conn_key_is6(k), 0))
		return conn_in6(t, k, tcp_flags, now_ms, sched, sched_arg, ref, out);
	return conn_in_af(t, k, tcp_flags, now_ms, sched, sched_arg, ref, out, false);
}

/* ---- persistence templates (conn.h) ---- */

/* Binds template e (its lock held) to tg: the reply tuple names the
 * server, as a connection's does, so listings and adoption read it alike. */
static void tmpl_bind(struct xlb_conn_tab *t, struct xlb_conn *e,
		      const struct xlb_conn_key *tk,
		      const struct xlb_conn_target *tg)
{
	struct xlb_conn_key rk;

	reply_key(&rk, tk, tg);
	key_put(t, e, REPLY, &rk);
	e->dest = tg->dest;
	e->fwd = tg->fwd;
	memcpy(e->bind, tg->bind, sizeof(e->bind));
}

static inline bool fwd_ok(uint8_t fwd)
{
	return fwd == XLB_FWD_NAT || fwd == XLB_FWD_DR || fwd == XLB_FWD_TUN;
}

/* A template's server, from sched into *tg: >= 0, or -errno (counted). */
static int tmpl_schedule(struct xlb_conn_tab *t, xlb_conn_sched_fn sched,
			 void *sched_arg, const struct xlb_conn_key *key,
			 struct xlb_conn_target *tg)
{
	int ret;

	memset(tg, 0, sizeof(*tg));
	ret = sched(sched_arg, key, tg);
	if (ret >= 0 && !fwd_ok(tg->fwd))
		ret = -EINVAL;
	if (ret < 0)
		STAT_ADD(t, sched_errors, 1);
	return ret;
}

int xlb_conn_tmpl_get(struct xlb_conn_tab *t, const struct xlb_conn_key *tk,
		      uint32_t timeout_s, uint64_t now_ms,
		      xlb_conn_sched_fn sched, void *sched_arg,
		      struct xlb_conn_view *out, uint32_t *ref)
{
	struct xlb_conn_target tg;
	pthread_spinlock_t *lock;
	struct xlb_conn_key key = *tk;
	uint32_t b, idx;
	struct xlb_conn *e;
	int ret = 0;

	*ref = 0;
	if (!proto_ok(tk->proto))
		return -EPROTONOSUPPORT;
	if (tk->sport || !timeout_s || timeout_s > XLB_TIMEOUT_MAX_S)
		return -EINVAL;
	memset(key.pad, 0, sizeof(key.pad));
	see_now(t, now_ms);
	b = conn_bucket(t, &key, ORIG);
	lock = bucket_lock(t, b);
	pthread_spin_lock(lock);

	idx = find_k(t, b, &key, ORIG, F_TEMPLATE);
	if (idx != NO_ENTRY && due(&t->ents[idx], now_ms)) {
		release(t, idx, now_ms);
		STAT_ADD(t, expired, 1);
		put_free(t, idx);
		idx = NO_ENTRY;
	}
	if (idx != NO_ENTRY) {
		e = &t->ents[idx];
		if (!dest_alive(t, e) ||
		    (t->dest_down && t->dest_down(t->cb_arg, e->dest))) {
			/* Its server was deleted, or failed its health
			 * checks: the client is scheduled again and the
			 * template follows (IPVS invalidates a template whose
			 * server is unavailable, ip_vs_check_template()). */
			ret = tmpl_schedule(t, sched, sched_arg, &key, &tg);
			if (ret < 0)
				goto out;
			account_persist(t, e->dest, -1);
			tmpl_bind(t, e, &key, &tg);
			account_persist(t, e->dest, 1);
			ret = 1;
		}
	} else {
		ret = tmpl_schedule(t, sched, sched_arg, &key, &tg);
		if (ret < 0)
			goto out;
		idx = alloc_entry(t, b, now_ms);
		if (idx == NO_ENTRY) {
			ret = -ENOSPC;
			goto out;
		}
		e = &t->ents[idx];
		memset(e, 0, sizeof(*e));
		key_put(t, e, ORIG, &key);
		tmpl_bind(t, e, &key, &tg);
		e->flags = F_INUSE | F_TEMPLATE;
		e->state = key.proto == IPPROTO_TCP ? XLB_CONN_S_NONE : XLB_CONN_S_UDP;
		link_entry(t, idx, b, 0);
		STAT_ADD(t, created, 1);
		ret = 1;
	}
	/* IPVS resets a template's timer on each use. */
	__atomic_store_n(&e->tmo, timeout_s, __ATOMIC_RELAXED);
	__atomic_store_n(&e->expires, now_ms + (uint64_t)timeout_s * 1000, __ATOMIC_RELAXED);
	__atomic_fetch_add(&e->n_control, 1, __ATOMIC_RELAXED);
	e->flags |= F_REF;
	fill_view(t, e, out, ret == 1);
	*ref = idx + 1;
out:
	pthread_spin_unlock(lock);
	return ret;
}

void xlb_conn_tmpl_put(struct xlb_conn_tab *t, uint32_t ref, uint64_t now_ms)
{
	if (ref && ref <= t->max)
		tmpl_put(t, ref, now_ms);
}

int xlb_conn_tmpl_controlled(struct xlb_conn_tab *t, uint32_t ref)
{
	const struct xlb_conn *e;
	pthread_spinlock_t *lock;
	int n = -1;

	if (!ref || ref > t->max)
		return -1;
	e = &t->ents[ref - 1];
	lock = bucket_lock(t, ebucket(t, e, ORIG));
	pthread_spin_lock(lock);
	if ((e->flags & (F_INUSE | F_TEMPLATE)) == (F_INUSE | F_TEMPLATE))
		n = (int)tmpl_controlled(e);
	pthread_spin_unlock(lock);
	return n;
}

void xlb_conn_count_onepacket(struct xlb_conn_tab *t)
{
	STAT_ADD(t, onepacket, 1);
}

/* Locks the bucket of k (looked up as key d: ORIG or REPLY) and finds k
 * there: its index or NO_ENTRY. *lock is held either way. */
static uint32_t find_locked(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
			    int d, pthread_spinlock_t **lock)
{
	uint32_t b = conn_bucket(t, k, d);

	*lock = bucket_lock(t, b);
	pthread_spin_lock(*lock);
	return find(t, b, k, d);
}

/* As find_locked for a packet in direction dir: the entry if it is still
 * live at now_ms, else NULL. *lock is held either way. */
static struct xlb_conn *find_live_locked(struct xlb_conn_tab *t,
					 const struct xlb_conn_key *k,
					 enum xlb_conn_dir dir, uint64_t now_ms,
					 pthread_spinlock_t **lock)
{
	uint32_t idx = find_locked(t, k, dir == XLB_CONN_DIR_OUTPUT ? REPLY : ORIG, lock);

	if (idx == NO_ENTRY || now_ms >= t->ents[idx].expires)
		return NULL;
	return &t->ents[idx];
}

int xlb_conn_out(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		 uint8_t tcp_flags, uint64_t now_ms, struct xlb_conn_view *out)
{
	pthread_spinlock_t *lock;
	uint32_t idx;
	int ret = -ENOENT;

	if (!proto_ok(k->proto))
		return -ENOENT;
	idx = find_locked(t, k, REPLY, &lock);
	if (idx != NO_ENTRY) {
		struct xlb_conn *e = &t->ents[idx];

		if (now_ms >= e->expires) {
			release(t, idx, now_ms);
			STAT_ADD(t, expired, 1);
			put_free(t, idx);
		} else {
			bool changed = update(t, e, XLB_CONN_DIR_OUTPUT, tcp_flags, now_ms);

			fill_view(t, e, out, false);
			out->changed = changed;
			ret = 0;
		}
	}
	pthread_spin_unlock(lock);
	return ret;
}

int xlb_conn_get(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		 enum xlb_conn_dir dir, uint64_t now_ms, struct xlb_conn_view *out)
{
	pthread_spinlock_t *lock;
	const struct xlb_conn *e;
	int ret = -ENOENT;

	if (!proto_ok(k->proto))
		return -ENOENT;
	e = find_live_locked(t, k, dir, now_ms, &lock);
	if (e) {
		fill_view(t, e, out, false);
		ret = 0;
	}
	pthread_spin_unlock(lock);
	return ret;
}

int xlb_conn_edit(struct xlb_conn_tab *t, const struct xlb_conn_key *k,
		  enum xlb_conn_dir dir, uint64_t now_ms, xlb_conn_edit_fn fn,
		  void *arg)
{
	pthread_spinlock_t *lock;
	struct xlb_conn *e;
	int ret = -ENOENT;

	if (!proto_ok(k->proto))
		return -ENOENT;
	e = find_live_locked(t, k, dir, now_ms, &lock);
	if (e) {
		struct xlb_conn_key ok, rk;
		struct xlb_conn_edit ed = {
			.orig = &ok, .reply = &rk,
			.dest = e->dest, .state = e->state, .fwd = e->fwd,
			.bind = e->bind,
		};

		key_get(t, e, ORIG, &ok);
		key_get(t, e, REPLY, &rk);
		fn(arg, &ed);
		if (ed.seen_ms) {
			uint64_t exp = ed.seen_ms +
				       (uint64_t)xlb_conn_state_timeout(t, e->state) * 1000;

			if (ed.seen_new || exp > e->expires)
				e->expires = exp;
			e->flags |= F_REF;
		}
		e->pkts += ed.add_pkts;
		ret = 0;
	}
	pthread_spin_unlock(lock);
	return ret;
}

/*
 * Frees the entries of bucket b (stripe locked) that are due (dest ==
 * NULL and !all) or bound to dest (dest != NULL) or all of them (all),
 * chaining them onto first..last for one trip to the free list.
 */
enum sweep_mode {
	SWEEP_EXPIRED,		/* now >= expires */
	SWEEP_DEST,		/* bound to dest */
	SWEEP_DEAD,		/* bound to a destination dest_alive() denies */
	SWEEP_ALL,
};

static uint32_t sweep_bucket(struct xlb_conn_tab *t, uint32_t b, uint64_t now,
			     const void *dest, enum sweep_mode mode,
			     uint32_t *first, uint32_t *last)
{
	uint32_t n, freed = 0;

again:
	for (n = t->heads[b]; n != NIL; n = *node_next(t, n)) {
		uint32_t idx = NODE_IDX(n);
		struct xlb_conn *e = &t->ents[idx];
		bool hit;

		if (NODE_DIR(n) != ORIG)
			continue;
		/* A controlled template goes only once its connections
		 * have (the flushes sweep twice). */
		if (!freeable(e))
			continue;
		switch (mode) {
		case SWEEP_ALL:
			hit = true;
			break;
		case SWEEP_DEST:
			hit = e->dest == dest;
			break;
		case SWEEP_DEAD:
			hit = !dest_alive(t, e);
			break;
		default:
			hit = now >= e->expires;
			break;
		}
		if (!hit)
			continue;
		release(t, idx, now);
		e->next[0] = *first == NO_ENTRY ? 0 : *first + 1;
		if (*first == NO_ENTRY)
			*last = idx;
		*first = idx;
		freed++;
		/* Unlinking both nodes may have changed this chain anywhere. */
		goto again;
	}
	return freed;
}

static uint32_t sweep_range(struct xlb_conn_tab *t, uint32_t b, uint32_t nb, uint64_t now,
			    const void *dest, enum sweep_mode mode)
{
	uint32_t freed = 0;

	while (nb) {
		uint32_t s = b >> t->stripe_shift;
		uint32_t end = (s + 1) << t->stripe_shift;
		uint32_t n = end - b < nb ? end - b : nb;
		uint32_t first = NO_ENTRY, last = NO_ENTRY, i;

		pthread_spin_lock(&t->stripes[s].lock);
		for (i = 0; i < n; i++)
			freed += sweep_bucket(t, b + i, now, dest, mode, &first, &last);
		pthread_spin_unlock(&t->stripes[s].lock);
		if (first != NO_ENTRY)
			put_free_chain(t, first, last);
		nb -= n;
		b = (b + n) & (t->nbuckets - 1);
	}
	return freed;
}

uint32_t xlb_conn_expire(struct xlb_conn_tab *t, uint64_t now_ms, uint32_t budget)
{
	uint32_t start, freed;

	see_now(t, now_ms);
	if (budget == 0 || budget > t->nbuckets)
		budget = t->nbuckets;
	/* nbuckets divides 2^32, so the cursor may wrap freely. */
	start = __atomic_fetch_add(&t->cursor, budget, __ATOMIC_RELAXED) & (t->nbuckets - 1);
	freed = sweep_range(t, start, budget, now_ms, NULL, SWEEP_EXPIRED);
	STAT_ADD(t, expired, freed);
	return freed;
}

/* A flush sweeps twice: a template whose connections the first pass
 * freed (anywhere in the table) goes in the second. Its clock starts at
 * the last time the table saw. */
static uint32_t flush(struct xlb_conn_tab *t, const void *dest, enum sweep_mode mode)
{
	uint64_t now = last_now(t);
	uint32_t freed = sweep_range(t, 0, t->nbuckets, now, dest, mode);

	if (STAT_GET(t, templates))
		freed += sweep_range(t, 0, t->nbuckets, now, dest, mode);
	STAT_ADD(t, flushed, freed);
	return freed;
}

uint32_t xlb_conn_flush_dest(struct xlb_conn_tab *t, const void *dest)
{
	return flush(t, dest, dest ? SWEEP_DEST : SWEEP_ALL);
}

uint32_t xlb_conn_flush_dead(struct xlb_conn_tab *t)
{
	return flush(t, NULL, SWEEP_DEAD);
}

/* What a listing shows of entry e (stripe locked). */
static void fill_entry(const struct xlb_conn_tab *t, const struct xlb_conn *e, uint64_t now_ms,
		       struct xlb_conn_entry *ci)
{
	uint64_t exp = __atomic_load_n(&e->expires, __ATOMIC_RELAXED);

	key_get(t, e, ORIG, &ci->orig);
	ci->daddr = e->key[REPLY].saddr;
	if (e->key[REPLY].af == AF_INET6)
		ci->daddr6 = A6(t, e)[REPLY][0];
	else
		memset(&ci->daddr6, 0, sizeof(ci->daddr6));
	ci->dport = e->key[REPLY].sport;
	ci->fwd = e->fwd;
	ci->state = e->state;
	ci->tmpl = is_tmpl(e);
	ci->state_name = xlb_conn_state_name(e->state);
	if (is_tmpl(e) && tmpl_controlled(e) && exp <= now_ms && e->tmo) {
		/* Held by its connections: shown as IPVS's timer, re-armed
		 * for another timeout each time it runs out. */
		uint64_t tmo = (uint64_t)e->tmo * 1000;

		exp = now_ms + tmo - (now_ms - exp) % tmo;
	}
	ci->expires_s = exp > now_ms ? (uint32_t)((exp - now_ms + 999) / 1000) : 0;
	ci->pkts = e->pkts;
	ci->dest = e->dest;
}

int xlb_conn_foreach(struct xlb_conn_tab *t, uint64_t now_ms, xlb_conn_foreach_fn fn, void *arg)
{
	uint32_t s, b, n;
	int visited = 0, ret;

	for (s = 0; s < t->nstripes; s++) {
		uint32_t b0 = s << t->stripe_shift, b1 = (s + 1) << t->stripe_shift;

		pthread_spin_lock(&t->stripes[s].lock);
		for (b = b0; b < b1; b++) {
			for (n = t->heads[b]; n != NIL; n = *node_next(t, n)) {
				const struct xlb_conn *e = &t->ents[NODE_IDX(n)];
				struct xlb_conn_entry ci;

				if (NODE_DIR(n) != ORIG)
					continue;
				fill_entry(t, e, now_ms, &ci);
				ret = fn(arg, &ci);
				if (ret < 0) {
					pthread_spin_unlock(&t->stripes[s].lock);
					return ret;
				}
				if (visited < INT32_MAX)
					visited++;
			}
		}
		pthread_spin_unlock(&t->stripes[s].lock);
	}
	return visited;
}

/* Entries (original-tuple nodes) chained in bucket b; its stripe locked. */
static uint32_t bucket_len(struct xlb_conn_tab *t, uint32_t b)
{
	uint32_t n, len = 0;

	for (n = t->heads[b]; n != NIL; n = *node_next(t, n))
		len += NODE_DIR(n) == ORIG;
	return len;
}

uint32_t xlb_conn_copy(struct xlb_conn_tab *t, uint64_t now_ms, struct xlb_conn_cursor *cur,
		       struct xlb_conn_entry *buf, uint32_t max)
{
	uint32_t got = 0;

	while (got < max && cur->bucket < t->nbuckets) {
		uint32_t s = cur->bucket >> t->stripe_shift;
		uint32_t b1 = (s + 1) << t->stripe_shift;

		/* One stripe per lock hold, and never more than the buffer. */
		pthread_spin_lock(&t->stripes[s].lock);
		for (; cur->bucket < b1 && got < max; cur->bucket++, cur->skip = 0) {
			uint32_t b = cur->bucket, n, pos = 0;

			/* Whole buckets only, so that a resumed copy neither
			 * repeats nor misses an entry of a bucket that changed
			 * meanwhile; a bucket longer than the whole buffer is
			 * the exception, resumed at its position. */
			if (got && !cur->skip && bucket_len(t, b) > max - got)
				break;
			for (n = t->heads[b]; n != NIL && got < max; n = *node_next(t, n)) {
				const struct xlb_conn *e = &t->ents[NODE_IDX(n)];
				struct xlb_conn_entry *ci = &buf[got];

				if (NODE_DIR(n) != ORIG || pos++ < cur->skip)
					continue;
				fill_entry(t, e, now_ms, ci);
				got++;
			}
			if (n != NIL) {
				/* The buffer filled inside this bucket: is any
				 * entry of it left? */
				uint32_t left = 0;

				for (; n != NIL; n = *node_next(t, n))
					left += NODE_DIR(n) == ORIG;
				if (left) {
					cur->skip = pos;
					break;
				}
			}
		}
		pthread_spin_unlock(&t->stripes[s].lock);
		if (cur->skip)
			break;
		if (got < max && cur->bucket < b1)
			break;	/* the next bucket does not fit: the next call's */
	}
	return got;
}

void xlb_conn_set_timeouts(struct xlb_conn_tab *t, const struct xlb_timeouts *to)
{
	if (to->tcp)
		__atomic_store_n(&t->to_tcp, to->tcp, __ATOMIC_RELAXED);
	if (to->tcp_fin)
		__atomic_store_n(&t->to_fin, to->tcp_fin, __ATOMIC_RELAXED);
	if (to->udp)
		__atomic_store_n(&t->to_udp, to->udp, __ATOMIC_RELAXED);
}

void xlb_conn_get_timeouts(const struct xlb_conn_tab *t, struct xlb_timeouts *to)
{
	to->tcp = __atomic_load_n(&t->to_tcp, __ATOMIC_RELAXED);
	to->tcp_fin = __atomic_load_n(&t->to_fin, __ATOMIC_RELAXED);
	to->udp = __atomic_load_n(&t->to_udp, __ATOMIC_RELAXED);
}

uint64_t xlb_conn_count(const struct xlb_conn_tab *t)
{
	return STAT_GET(t, count);
}

uint32_t xlb_conn_tab_size(const struct xlb_conn_tab *t)
{
	return t->nbuckets;
}

uint32_t xlb_conn_max(const struct xlb_conn_tab *t)
{
	return t->max;
}

void xlb_conn_get_stats(const struct xlb_conn_tab *t, struct xlb_conn_stats *s)
{
	s->created = STAT_GET(t, created);
	s->expired = STAT_GET(t, expired);
	s->evicted = STAT_GET(t, evicted);
	s->full_drops = STAT_GET(t, full_drops);
	s->rescheduled = STAT_GET(t, rescheduled);
	s->flushed = STAT_GET(t, flushed);
	s->clashes = STAT_GET(t, clashes);
	s->sched_errors = STAT_GET(t, sched_errors);
	s->adopted = STAT_GET(t, adopted);
	s->count = STAT_GET(t, count);
	s->active = STAT_GET(t, active);
	s->inactive = STAT_GET(t, inactive);
	s->templates = STAT_GET(t, templates);
	s->onepacket = STAT_GET(t, onepacket);
}

void xlb_conn_params_default(struct xlb_conn_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_conns = XLB_CONN_MAX_DEFAULT;
	p->timeouts.tcp = XLB_TIMEOUT_TCP_DEFAULT;
	p->timeouts.tcp_fin = XLB_TIMEOUT_TCPFIN_DEFAULT;
	p->timeouts.udp = XLB_TIMEOUT_UDP_DEFAULT;
}

/* Zeroed, page-aligned and touched only when used. */
static void *map_zero(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Huge pages where the system allows: a lookup is two dependent
	 * random reads, and TLB misses would double them. Advisory only. */
	madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static bool file_hdr_fits(const struct conn_file_hdr *h, const struct xlb_conn_tab *t,
			  uint32_t version)
{
	return h->magic == FILE_MAGIC && h->version == version &&
	       h->entry_size == sizeof(struct xlb_conn) && h->max_conns == t->max &&
	       h->nbuckets == t->nbuckets && h->hiwater <= t->max;
}

/*
 * A version-1 file of this table's geometry, fd, to this version's size
 * (bytes): the IPv6 array appended, zeroed. Its size is the version-1
 * size, or already bytes when an upgrade was cut short before its header
 * said version 3: shrinking first zeroes that array again. The entries are
 * not touched. Returns 0 or a negative errno (the file is still version 1).
 */
static int file_extend_v1(struct xlb_conn_tab *t, int fd, size_t bytes)
{
	/* Down first: an interrupted upgrade's array is zeroed again. */
	if (ftruncate(fd, (off_t)(FILE_HDR_BYTES + t->ents_bytes)) < 0 ||
	    ftruncate(fd, (off_t)bytes) < 0)
		return -errno;
	return 0;
}

/*
 * Then, mapped: version 1's pad bytes 13-15 of each tuple of the entries a
 * process used become af 0 (IPv4: no IPv6 entry existed) and pad 0, and
 * the header's version is written last. A process killed before that
 * leaves a version-1 header, and the next one upgrades from the start
 * (the rewrite is idempotent).
 */
static void file_upgrade_v1(struct xlb_conn_tab *t, uint32_t hiwater)
{
	uint32_t i;
	int d;

	for (i = 0; i < hiwater; i++)
		for (d = ORIG; d <= REPLY; d++) {
			t->ents[i].key[d].af = 0;
			t->ents[i].key[d].pad[0] = t->ents[i].key[d].pad[1] = 0;
		}
	__atomic_store_n(&t->hdr->version, FILE_VERSION, __ATOMIC_RELEASE);
	t->file_upgraded = FILE_VERSION_V1;
}

/*
 * Maps the entries from the state file at path, locked against a second
 * process. A file of this table's geometry keeps its entries (and its
 * seed: t->seed is replaced) for xlb_conn_adopt(); anything else is made
 * an empty table of this geometry.
 */
static int file_open(struct xlb_conn_tab *t, const char *path)
{
	size_t bytes = FILE_HDR_BYTES + t->ents_bytes + t->a6_bytes;
	struct conn_file_hdr h;
	struct stat st;
	bool hdr_read, keep, upgrade;
	void *p;
	int fd, rc;
	uint32_t i;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto fail;
	}
	memset(&h, 0, sizeof(h));
	hdr_read = pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h);
	keep = hdr_read && (uint64_t)st.st_size == bytes && file_hdr_fits(&h, t, FILE_VERSION);
	/* Version 1 (IPv4 only, the released format) of this geometry is
	 * upgraded in place, keeping its connections across the upgrade of
	 * xlbd; of another geometry it is refused as any other file would
	 * be. Version 2 (IPv6 addresses inside 192-byte entries, never
	 * released) is not converted: that restart starts empty, and says
	 * why. */
	upgrade = hdr_read && file_hdr_fits(&h, t, FILE_VERSION_V1) &&
		  ((uint64_t)st.st_size == FILE_HDR_BYTES + t->ents_bytes ||
		   (uint64_t)st.st_size == bytes);
	if (upgrade) {
		rc = file_extend_v1(t, fd, bytes);
		if (rc < 0)
			goto fail;
		keep = true;
	} else if (h.magic == FILE_MAGIC && h.version != FILE_VERSION &&
		   h.version != FILE_VERSION_V1) {
		/* (Version 1 of another geometry: refused as this version's
		 * would be, not for its format.) */
		t->file_version = h.version ? h.version : UINT32_MAX;
	}
	if (!keep && (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)bytes) < 0)) {
		rc = -errno;
		goto fail;
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		goto fail;
	}
	madvise(p, bytes, MADV_HUGEPAGE);
	t->fd = fd;
	t->hdr = p;
	t->map_bytes = bytes;
	t->ents = (struct xlb_conn *)((char *)p + FILE_HDR_BYTES);
	t->a6 = (struct conn_a6 *)((char *)t->ents + t->ents_bytes);

	if (keep) {
		if (upgrade)
			file_upgrade_v1(t, h.hiwater);
		t->seed = h.seed;
		for (i = 0; i < h.hiwater; i++)
			if (t->ents[i].flags & F_INUSE)
				t->adoptable++;
		return 0;
	}
	/* A fresh file is all zeroes: an empty table once the magic is in. */
	t->hdr->version = FILE_VERSION;
	t->hdr->entry_size = sizeof(struct xlb_conn);
	t->hdr->max_conns = t->max;
	t->hdr->nbuckets = t->nbuckets;
	t->hdr->seed = t->seed;
	t->hdr->hiwater = 0;
	__atomic_store_n(&t->hdr->magic, FILE_MAGIC, __ATOMIC_RELEASE);
	return 0;

fail:
	close(fd);
	return rc;
}

static void tab_release(struct xlb_conn_tab *t)
{
	if (t->hdr)
		munmap(t->hdr, t->map_bytes);
	else if (t->ents)
		munmap(t->ents, t->ents_bytes);
	if (!t->hdr && t->a6)
		munmap(t->a6, t->a6_bytes);
	if (t->fd >= 0)
		close(t->fd);	/* drops the flock */
	if (t->heads)
		munmap(t->heads, t->heads_bytes);
	free(t->stripes);
	free(t);
}

int xlb_conn_init(struct xlb_conn_tab **tp, const struct xlb_conn_params *p)
{
	struct xlb_conn_tab *t;
	uint32_t nb = 1, bps, s;
	int rc;

	*tp = NULL;
	if (p->max_conns == 0 || p->max_conns > XLB_CONN_MAX_LIMIT)
		return -EINVAL;
	while (nb < p->max_conns)
		nb <<= 1;

	t = aligned_alloc(64, sizeof(*t));
	if (!t)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->max = p->max_conns;
	t->nbuckets = nb;
	t->nstripes = nb / STRIPE_BUCKETS;
	if (t->nstripes < 1)
		t->nstripes = 1;
	if (t->nstripes > STRIPES_MAX)
		t->nstripes = STRIPES_MAX;
	bps = nb / t->nstripes;
	while ((1u << t->stripe_shift) < bps)
		t->stripe_shift++;

	t->seed = p->seed;
	if (!t->seed && getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = (uint32_t)(uintptr_t)t ^ 0x5bd1e995u;
	t->to_tcp = p->timeouts.tcp ? p->timeouts.tcp : XLB_TIMEOUT_TCP_DEFAULT;
	t->to_fin = p->timeouts.tcp_fin ? p->timeouts.tcp_fin : XLB_TIMEOUT_TCPFIN_DEFAULT;
	t->to_udp = p->timeouts.udp ? p->timeouts.udp : XLB_TIMEOUT_UDP_DEFAULT;
	t->on_count = p->on_count;
	t->dest_alive = p->dest_alive;
	t->on_persist = p->on_persist;
	t->dest_down = p->dest_down;
	t->on_release = p->on_release;
	t->cb_arg = p->cb_arg;

	t->ents_bytes = (size_t)t->max * sizeof(struct xlb_conn);
	t->a6_bytes = (size_t)t->max * sizeof(struct conn_a6);
	t->heads_bytes = (size_t)nb * sizeof(uint32_t);
	rc = -ENOMEM;
	if (p->state_path) {
		rc = file_open(t, p->state_path);
		if (rc < 0)
			goto err;
		rc = -ENOMEM;
	} else {
		t->ents = map_zero(t->ents_bytes);
		t->a6 = map_zero(t->a6_bytes);
	}
	t->heads = map_zero(t->heads_bytes);
	t->stripes = aligned_alloc(64, (size_t)t->nstripes * sizeof(struct stripe));
	if (!t->ents || !t->a6 || !t->heads || !t->stripes)
		goto err;
	memset(t->stripes, 0, (size_t)t->nstripes * sizeof(struct stripe));
	for (s = 0; s < t->nstripes; s++)
		pthread_spin_init(&t->stripes[s].lock, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&t->free_lock, PTHREAD_PROCESS_PRIVATE);
	*tp = t;
	return 0;

err:
	tab_release(t);
	return rc;
}

void xlb_conn_free(struct xlb_conn_tab *t)
{
	uint32_t s;

	if (!t)
		return;
	for (s = 0; s < t->nstripes; s++)
		pthread_spin_destroy(&t->stripes[s].lock);
	pthread_spin_destroy(&t->free_lock);
	tab_release(t);
}

uint32_t xlb_conn_file_version(const struct xlb_conn_tab *t)
{
	return t->file_version;
}

uint32_t xlb_conn_file_upgraded(const struct xlb_conn_tab *t)
{
	return t->file_upgraded;
}

uint32_t xlb_conn_adoptable(const struct xlb_conn_tab *t)
{
	return t->adoptable;
}

/* Whether an entry read from the state file can be believed: a process
 * killed while writing it leaves any mix of old and new bytes. */
static bool entry_sane(const struct xlb_conn_tab *t, const struct xlb_conn *e)
{
	const struct conn_k4 *o = &e->key[ORIG], *r = &e->key[REPLY];

	if (e->flags & ~(F_INUSE | F_REPLY_HASHED | F_REF | F_TEMPLATE))
		return false;
	if (e->fwd != XLB_FWD_NAT && e->fwd != XLB_FWD_DR && e->fwd != XLB_FWD_TUN)
		return false;
	if (is_tmpl(e)) {
		if ((e->flags & F_REPLY_HASHED) || o->sport || !e->tmo ||
		    e->tmo > XLB_TIMEOUT_MAX_S ||
		    e->state != (o->proto == IPPROTO_TCP ? XLB_CONN_S_NONE : XLB_CONN_S_UDP))
			return false;
	}
	if (o->proto == IPPROTO_TCP) {
		if (e->state >= TCP_STATES)
			return false;
	} else if (o->proto != IPPROTO_UDP || e->state != XLB_CONN_S_UDP) {
		return false;
	}
	/* The reply tuple is the client's end reversed. */
	if (o->af != r->af || (o->af != 0 && o->af != AF_INET && o->af != AF_INET6))
		return false;
	if (o->af == AF_INET6 && memcmp(&A6(t, e)[REPLY][1], &A6(t, e)[ORIG][0], 16))
		return false;
	return r->proto == o->proto && r->daddr == o->saddr && r->dport == o->sport;
}

/* Links adopted entry idx (filled in) into its chains, as create() does. */
static int adopt_link(struct xlb_conn_tab *t, uint32_t idx)
{
	struct xlb_conn *e = &t->ents[idx];
	struct xlb_conn_key ok, rk;
	uint32_t b = ebucket(t, e, ORIG), rb = 0;
	pthread_spinlock_t *lock = bucket_lock(t, b);
	int ret = 0;

	pthread_spin_lock(lock);
	key_get(t, e, ORIG, &ok);
	key_get(t, e, REPLY, &rk);
	if (find_k(t, b, &ok, ORIG, e->flags & F_TEMPLATE) != NO_ENTRY) {
		ret = -EEXIST;	/* a torn slot repeating a live tuple */
		goto out;
	}
	if (e->fwd == XLB_FWD_NAT && !is_tmpl(e)) {
		rb = conn_bucket(t, &rk, REPLY);
		if (find(t, rb, &rk, REPLY) != NO_ENTRY) {
			STAT_ADD(t, clashes, 1);
			ret = -EADDRINUSE;
			goto out;
		}
	}
	link_entry(t, idx, b, rb);
out:
	pthread_spin_unlock(lock);
	return ret;
}

/*
 * After the entries of a state file are linked: each connection's template
 * reference is believed only if it names a kept template of the same
 * service and server (else the connection is simply not controlled), and
 * the templates' counts are rebuilt from those references alone. A
 * template that then controls nothing and is due goes. Returns how many
 * went, chained onto first..last.
 */
static uint32_t adopt_templates(struct xlb_conn_tab *t, uint32_t hw, uint64_t now,
				uint32_t *first, uint32_t *last)
{
	uint32_t i, dropped = 0;

	if (!STAT_GET(t, templates)) {
		for (i = 0; i < hw; i++)
			if ((t->ents[i].flags & F_INUSE) && !is_tmpl(&t->ents[i]))
				t->ents[i].ctl = 0;
		return 0;
	}
	for (i = 0; i < hw; i++) {
		struct xlb_conn *e = &t->ents[i], *te;

		if (!(e->flags & F_INUSE) || is_tmpl(e) || !e->ctl)
			continue;
		te = e->ctl - 1 < hw ? &t->ents[e->ctl - 1] : NULL;
		if (te && (te->flags & (F_INUSE | F_TEMPLATE)) == (F_INUSE | F_TEMPLATE) &&
		    te->key[ORIG].proto == e->key[ORIG].proto &&
		    te->key[ORIG].daddr == e->key[ORIG].daddr &&
		    te->key[ORIG].af == e->key[ORIG].af &&
		    !memcmp(&A6(t, te)[ORIG][1], &A6(t, e)[ORIG][1], 16) &&
		    te->key[ORIG].dport == e->key[ORIG].dport && te->dest == e->dest)
			te->n_control++;
		else
			e->ctl = 0;
	}
	for (i = 0; i < hw; i++) {
		struct xlb_conn *e = &t->ents[i];

		if ((e->flags & (F_INUSE | F_TEMPLATE)) != (F_INUSE | F_TEMPLATE) ||
		    !due(e, now))
			continue;
		release(t, i, now);
		STAT_ADD(t, adopted, -1);
		memset(e, 0, sizeof(*e));
		e->next[0] = *first == NO_ENTRY ? 0 : *first + 1;
		if (*first == NO_ENTRY)
			*last = i;
		*first = i;
		dropped++;
	}
	return dropped;
}

int xlb_conn_adopt(struct xlb_conn_tab *t, uint64_t now_ms, xlb_conn_rebind_fn fn, void *arg)
{
	uint32_t hw, i, kept = 0, first = NO_ENTRY, last = NO_ENTRY;

	if (!t->hdr)
		return 0;
	if (t->unused || STAT_GET(t, count))
		return -EALREADY;	/* once, before the table is used */
	hw = __atomic_load_n(&t->hdr->hiwater, __ATOMIC_RELAXED);
	if (hw > t->max)
		hw = t->max;

	for (i = 0; i < hw; i++) {
		struct xlb_conn *e = &t->ents[i];
		struct xlb_conn_target tg;
		struct xlb_conn_view old;
		uint64_t limit;
		bool ok = false;

		if ((e->flags & F_INUSE) && entry_sane(t, e)) {
			/* Tuples as key_put() stores them (find_k4 compares
			 * words): af 0 for IPv4, pad 0. */
			for (int d = ORIG; d <= REPLY; d++) {
				if (e->key[d].af != AF_INET6)
					e->key[d].af = 0;
				e->key[d].pad[0] = e->key[d].pad[1] = 0;
			}
			/* A template's expiry means nothing while it controls
			 * a connection: it is judged once they are counted. */
			if (now_ms < e->expires || is_tmpl(e)) {
				fill_view(t, e, &old, false);
				memset(&tg, 0, sizeof(tg));
				ok = fn(arg, &old, &tg) >= 0 &&
				     (tg.fwd == XLB_FWD_NAT || tg.fwd == XLB_FWD_DR ||
				      tg.fwd == XLB_FWD_TUN);
			}
		}
		if (ok) {
			/* As create() would make it for this target; chains
			 * and the reply hash are rebuilt, never read. */
			e->key[REPLY].saddr = tg.daddr;
			/* IPv4 entries never page the IPv6 array in (an
			 * upgraded version-1 file's is all holes). */
			if (e->key[ORIG].af == AF_INET6)
				A6(t, e)[REPLY][0] = tg.daddr6;
			e->key[REPLY].sport = tg.dport;
			memset(e->key[ORIG].pad, 0, sizeof(e->key[ORIG].pad));
			memset(e->key[REPLY].pad, 0, sizeof(e->key[REPLY].pad));
			e->dest = tg.dest;
			e->fwd = tg.fwd;
			e->flags = F_INUSE | (e->flags & (F_REF | F_TEMPLATE));
			e->pad = 0;
			memcpy(e->bind, tg.bind, sizeof(e->bind));
			if (is_tmpl(e))
				e->n_control = 0;	/* counted below */
			/* Never longer than this table's timeout of its state
			 * (a template: its own). */
			limit = now_ms + (uint64_t)(is_tmpl(e) ? e->tmo :
				xlb_conn_state_timeout(t, e->state)) * 1000;
			if (e->expires > limit)
				e->expires = limit;
			ok = adopt_link(t, i) == 0;
		}
		if (ok) {
			kept++;
			STAT_ADD(t, adopted, 1);
			continue;
		}
		memset(e, 0, sizeof(*e));
		e->next[0] = first == NO_ENTRY ? 0 : first + 1;
		if (first == NO_ENTRY)
			last = i;
		first = i;
	}

	kept -= adopt_templates(t, hw, now_ms, &first, &last);

	pthread_spin_lock(&t->free_lock);
	t->unused = hw;
	pthread_spin_unlock(&t->free_lock);
	if (first != NO_ENTRY)
		put_free_chain(t, first, last);
	t->adoptable = 0;
	return (int)kept;
}

uint32_t xlb_conn_stripe(const struct xlb_conn_tab *t, const struct xlb_conn_key *k)
{
	return conn_bucket(t, k, ORIG) >> t->stripe_shift;
}

uint32_t xlb_conn_nstripes(const struct xlb_conn_tab *t)
{
	return t->nstripes;
}

int xlb_conn_verify(struct xlb_conn_tab *t)
{
	uint8_t *seen = calloc(t->max, 1);	/* bit 0: orig node, bit 1: reply */
	uint32_t *ctl = calloc(t->max, sizeof(*ctl));	/* references per template */
	uint64_t used = 0, act = 0, inact = 0, nfree = 0, tmpls = 0;
	uint32_t s, b, n, i, unused;
	int bad = 0;

	if (!seen || !ctl) {
		free(seen);
		free(ctl);
		return -ENOMEM;
	}
	for (s = 0; s < t->nstripes && !bad; s++) {
		pthread_spin_lock(&t->stripes[s].lock);
		for (b = s << t->stripe_shift; b < (s + 1) << t->stripe_shift && !bad; b++) {
			for (n = t->heads[b]; n != NIL && !bad; n = *node_next(t, n)) {
				uint32_t idx = NODE_IDX(n), d = NODE_DIR(n);
				const struct xlb_conn *e;

				if (idx >= t->max) {
					bad = 1;
					break;
				}
				e = &t->ents[idx];
				if (!(e->flags & F_INUSE) || (seen[idx] & (1u << d)) ||
				    (d == REPLY && !(e->flags & F_REPLY_HASHED)) ||
				    ebucket(t, e, (int)d) != b ||
				    /* both nodes under one lock */
				    ebucket(t, e, ORIG) >> t->stripe_shift != s)
					bad = 1;
				seen[idx] |= (uint8_t)(1u << d);
				if (d == ORIG && is_tmpl(e)) {
					used++;
					tmpls++;
				} else if (d == ORIG) {
					used++;
					if (e->ctl && e->ctl <= t->max)
						ctl[e->ctl - 1]++;
					else if (e->ctl)
						bad = 1;
					if (state_active(e->state))
						act++;
					else
						inact++;
				}
			}
		}
		pthread_spin_unlock(&t->stripes[s].lock);
	}

	pthread_spin_lock(&t->free_lock);
	unused = t->unused;
	for (n = t->free_head; n != 0 && !bad; n = t->ents[n - 1].next[0]) {
		if (n - 1 >= unused || t->ents[n - 1].flags || ++nfree > t->max)
			bad = 1;
	}
	pthread_spin_unlock(&t->free_lock);

	for (i = 0; i < t->max && !bad; i++) {
		const struct xlb_conn *e = &t->ents[i];
		/* Past unused, a state file not adopted may leave anything. */
		uint8_t want = i >= unused || !(e->flags & F_INUSE) ? 0 :
			       (e->flags & F_REPLY_HASHED) ? 3 : 1;

		if (seen[i] != want)
			bad = 1;
		/* A connection's template is a live template that counts it. */
		if (want && is_tmpl(e) && e->n_control != ctl[i])
			bad = 1;
		if (ctl[i] && !(want && is_tmpl(e)))
			bad = 1;
	}
	free(seen);
	free(ctl);
	if (bad || used != STAT_GET(t, count) || act != STAT_GET(t, active) ||
	    tmpls != STAT_GET(t, templates) ||
	    inact != STAT_GET(t, inactive) || used + nfree + (t->max - unused) != t->max)
		return -EUCLEAN;
	return 0;
}

/* ---- connection sync (conn.h; lb/sync.c on the backup) ---- */

/* Whether entry e is bound as tg would bind it. */
static bool bound_as(const struct xlb_conn_tab *t, const struct xlb_conn *e,
		     const struct xlb_conn_target *tg)
{
	return e->dest == tg->dest && e->fwd == tg->fwd &&
	       e->key[REPLY].saddr == tg->daddr && e->key[REPLY].sport == tg->dport &&
	       (e->key[REPLY].af != AF_INET6 || !memcmp(&A6(t, e)[REPLY][0], &tg->daddr6, 16));
}

int xlb_conn_sync_put(struct xlb_conn_tab *t, const struct xlb_conn_key *k, bool tmpl,
		      const struct xlb_conn_target *tg, unsigned int state,
		      uint32_t timeout_s, uint64_t now_ms)
{
	uint8_t tflag = tmpl ? F_TEMPLATE : 0;
	uint64_t exp = now_ms + (uint64_t)timeout_s * 1000;
	struct xlb_conn_key key = *k, rk;
	pthread_spinlock_t *lock;
	uint32_t b, rb = 0, idx;
	struct xlb_conn *e;
	int ret = 1;

	if (!proto_ok(k->proto))
		return -EPROTONOSUPPORT;
	if (!fwd_ok(tg->fwd) || state >= XLB_CONN_S_NR || !timeout_s ||
	    timeout_s > XLB_TIMEOUT_MAX_S || (tmpl && k->sport) ||
	    ((k->proto == IPPROTO_UDP) != (state == XLB_CONN_S_UDP)))
		return -EINVAL;
	memset(key.pad, 0, sizeof(key.pad));
	see_now(t, now_ms);
	b = conn_bucket(t, &key, ORIG);
	lock = bucket_lock(t, b);
	pthread_spin_lock(lock);

	idx = find_k(t, b, &key, ORIG, tflag);
	if (idx != NO_ENTRY) {
		e = &t->ents[idx];
		if (due(e, now_ms)) {
			release(t, idx, now_ms);
			STAT_ADD(t, expired, 1);
			put_free(t, idx);
		} else if (bound_as(t, e, tg) || (tmpl && !freeable(e))) {
			if (tmpl && !bound_as(t, e, tg)) {
				/* A template in use moves to the master's server. */
				account_persist(t, e->dest, -1);
				tmpl_bind(t, e, &key, tg);
				account_persist(t, e->dest, 1);
			} else if (!tmpl && state_active(state) != state_active(e->state)) {
				account(t, e->dest, state_active(state) ? 1 : -1,
					state_active(state) ? -1 : 1);
			}
			if (tmpl)
				__atomic_store_n(&e->tmo, timeout_s, __ATOMIC_RELAXED);
			e->state = (uint8_t)state;
			__atomic_store_n(&e->expires, exp, __ATOMIC_RELAXED);
			e->flags |= F_REF;
			ret = 0;
			goto out;
		} else {
			/* The master rescheduled the flow: the old binding goes. */
			release(t, idx, now_ms);
			STAT_ADD(t, rescheduled, 1);
			put_free(t, idx);
		}
	}

	reply_key(&rk, &key, tg);
	if (!tmpl && tg->fwd == XLB_FWD_NAT) {
		uint32_t c;

		rb = conn_bucket(t, &rk, REPLY);	/* same stripe: locked */
		c = find(t, rb, &rk, REPLY);
		if (c != NO_ENTRY) {
			if (now_ms < t->ents[c].expires) {
				STAT_ADD(t, clashes, 1);
				ret = -EADDRINUSE;
				goto out;
			}
			release(t, c, now_ms);
			STAT_ADD(t, expired, 1);
			put_free(t, c);
		}
	}
	idx = alloc_entry(t, b, now_ms);
	if (idx == NO_ENTRY) {
		ret = -ENOSPC;
		goto out;
	}
	e = &t->ents[idx];
	memset(e, 0, sizeof(*e));
	key_put(t, e, ORIG, &key);
	if (tmpl) {
		tmpl_bind(t, e, &key, tg);
		e->flags = F_INUSE | F_TEMPLATE;
		e->tmo = timeout_s;
	} else {
		key_put(t, e, REPLY, &rk);
		e->dest = tg->dest;
		e->fwd = tg->fwd;
		e->flags = F_INUSE;
		memcpy(e->bind, tg->bind, sizeof(e->bind));
	}
	e->state = (uint8_t)state;
	e->expires = exp;
	link_entry(t, idx, b, rb);
out:
	pthread_spin_unlock(lock);
	return ret;
}

int xlb_conn_sync_del(struct xlb_conn_tab *t, const struct xlb_conn_key *k, bool tmpl,
		      uint64_t now_ms)
{
	struct xlb_conn_key key = *k;
	pthread_spinlock_t *lock;
	uint32_t b, idx;
	int ret = -ENOENT;

	if (!proto_ok(k->proto))
		return -ENOENT;
	memset(key.pad, 0, sizeof(key.pad));
	b = conn_bucket(t, &key, ORIG);
	lock = bucket_lock(t, b);
	pthread_spin_lock(lock);
	idx = find_k(t, b, &key, ORIG, tmpl ? F_TEMPLATE : 0);
	if (idx != NO_ENTRY && freeable(&t->ents[idx])) {
		release(t, idx, now_ms);
		put_free(t, idx);
		ret = 0;
	}
	pthread_spin_unlock(lock);
	return ret;
}
