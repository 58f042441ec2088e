/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The connection-sync datagram (see sync.h for the thread that sends and
 * receives them): building, authenticating, and the strict parse of what
 * arrives. No sockets here, so that the parser is fuzzed
 * (tests/fuzz/fuzz_sync.c) and unit-tested byte for byte.
 *
 * After IPVS's version 1 sync message (net/netfilter/ipvs/ip_vs_sync.c:
 * a header with the sync id, size and connection count, then one entry
 * per connection: protocol, flags, state, client/virtual/destination
 * ports and addresses, timeout in seconds), with what IPVS lacks: a
 * sequence number and a timestamp against replays and an HMAC-SHA256
 * trailer against spoofing. Not wire-compatible with IPVS (ours has fixed
 * 32-byte records and the MAC); the version byte says so.
 *
 * Datagram (all fields in network byte order):
 *
 *   header, 32 bytes
 *     0  magic    u32  XLB_SYNC_MAGIC ("XLBS")
 *     4  version  u8   XLB_SYNC_VERSION (1)
 *     5  sync_id  u8   --sync-id, must match the receiver's
 *     6  count    u16  records that follow, 1..XLB_SYNC_MAX_RECS
 *     8  seq      u64  strictly increasing per sender, across restarts
 *                      (starts at the sender's CLOCK_REALTIME in us)
 *    16  ts_ms    u64  sender's CLOCK_REALTIME, ms
 *    24  length   u16  the whole datagram, MAC included
 *    26  flags    u16  0
 *    28  reserved u32  0
 *   count records, 32 bytes each
 *     0  op       u8   XLB_SYNC_OP_UPDATE (insert or update) or _REMOVE
 *     1  proto    u8   IPPROTO_TCP or IPPROTO_UDP
 *     2  fwd      u8   enum xlb_fwd (DR, NAT, TUN)
 *     3  state    u8   enum xlb_conn_state
 *     4  flags    u16  XLB_SYNC_F_TEMPLATE: a persistence template
 *     6  reserved u16  0
 *     8  caddr    u32  client
 *    12  vaddr    u32  VIP
 *    16  raddr    u32  real server
 *    20  cport    u16
 *    22  vport    u16
 *    24  rport    u16
 *    26  reserved u16  0
 *    28  timeout  u32  seconds the entry lives from its arrival, 1..31 days
 *   mac, 32 bytes: HMAC-SHA256(key, everything before it)
 */
#ifndef XLB_SYNC_MSG_H
#define XLB_SYNC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define XLB_SYNC_MAGIC		0x584c4253u	/* "XLBS" */
#define XLB_SYNC_VERSION	1
#define XLB_SYNC_PORT		8848		/* IPVS's */
#define XLB_SYNC_PORT_STR	"8848"
#define XLB_SYNC_GROUP		"224.0.0.81"	/* IPVS's IP_VS_SYNC_GROUP */
#define XLB_SYNC_HDR_LEN	32
#define XLB_SYNC_REC_LEN	32
#define XLB_SYNC_MAC_LEN	XLB_SHA256_LEN
/* 40 records: 1344 bytes, under any Ethernet MTU with IP and UDP. */
#define XLB_SYNC_MAX_RECS	40
#define XLB_SYNC_MAX_LEN	(XLB_SYNC_HDR_LEN + XLB_SYNC_MAX_RECS * XLB_SYNC_REC_LEN + \
				 XLB_SYNC_MAC_LEN)
#define XLB_SYNC_TIMEOUT_MAX	(31u * 24 * 3600)
/* A datagram whose timestamp is further than this from the receiver's
 * clock is a replay (or the clocks disagree: run NTP). */
#define XLB_SYNC_TS_WINDOW_MS	30000u
/* Out-of-order datagrams accepted this far below the highest seen. */
#define XLB_SYNC_SEQ_WINDOW	64u

enum {
	XLB_SYNC_OP_UPDATE = 1,
	XLB_SYNC_OP_REMOVE = 2,
};

#define XLB_SYNC_F_TEMPLATE	0x0001u

/* One record, host side. Addresses and ports in network order, as in
 * conn.h's keys. */
struct xlb_sync_rec {
	uint8_t  op;
	uint8_t  proto;
	uint8_t  fwd;
	uint8_t  state;
	uint16_t flags;
	uint16_t pad;
	uint32_t caddr, vaddr, raddr;
	uint16_t cport, vport, rport;
	uint16_t pad2;
	uint32_t timeout;		/* seconds; 0 in a worker's ring: the state's */
};

struct xlb_sync_hdr {
	uint8_t  sync_id;
	uint16_t count;
	uint64_t seq;
	uint64_t ts_ms;
};

/*
 * Builds a datagram of n records (1..XLB_SYNC_MAX_RECS) into buf (at
 * least XLB_SYNC_MAX_LEN bytes), MAC included. Returns its length, or
 * -EINVAL (n out of range, a record that would not parse).
 */
int xlb_sync_build(uint8_t *buf, size_t cap, const struct xlb_hmac_key *key,
		   uint8_t sync_id, uint64_t seq, uint64_t ts_ms,
		   const struct xlb_sync_rec *recs, unsigned int n);

/* Why a datagram was refused (each a counter of the sync group). */
enum xlb_sync_err {
	XLB_SYNC_OK = 0,
	XLB_SYNC_E_MALFORMED = 1,	/* short, bad magic/length/count/record */
	XLB_SYNC_E_VERSION,		/* not version 1 */
	XLB_SYNC_E_SYNC_ID,		/* another pair's */
	XLB_SYNC_E_AUTH,		/* MAC does not verify */
	XLB_SYNC_E_REPLAY,		/* seq seen or too old, or stale timestamp */
};

/*
 * Checks a datagram's framing (magic, version, sync id, length, count)
 * and its MAC, in that order, never reading beyond len; then decodes
 * every record into recs (room for XLB_SYNC_MAX_RECS), refusing the
 * whole datagram if one is malformed (unknown op, proto, fwd or state,
 * flags or reserved bits set, timeout 0 or over the maximum, a template
 * with a client port). Replays are not checked here: see
 * xlb_sync_replay_check(). Returns XLB_SYNC_OK with *h filled, or the
 * reason.
 */
enum xlb_sync_err xlb_sync_parse(const uint8_t *buf, size_t len,
				 const struct xlb_hmac_key *key, uint8_t sync_id,
				 struct xlb_sync_hdr *h, struct xlb_sync_rec *recs);

/*
 * Replay protection, for one sender: sequence numbers strictly above the
 * highest seen are taken, and the XLB_SYNC_SEQ_WINDOW below it once each
 * (multicast may reorder); a timestamp more than XLB_SYNC_TS_WINDOW_MS
 * from now_ms (the receiver's CLOCK_REALTIME) is refused whatever its
 * number, so a datagram recorded before a restart of the receiver cannot
 * be played back later. Call only for datagrams that authenticated.
 * true: fresh (and now recorded).
 */
struct xlb_sync_replay {
	bool     any;
	uint64_t top;			/* highest seq accepted */
	uint64_t seen;			/* bit i: top - i was accepted */
};

bool xlb_sync_replay_check(struct xlb_sync_replay *r, uint64_t seq, uint64_t ts_ms,
			   uint64_t now_ms);

/* A token bucket: rate per second, burst tokens; now in ms. */
struct xlb_sync_bucket {
	uint64_t rate, burst;
	uint64_t tokens_milli;		/* tokens x 1000 */
	uint64_t last_ms;
};

void xlb_sync_bucket_init(struct xlb_sync_bucket *b, uint64_t rate, uint64_t burst,
			  uint64_t now_ms);
bool xlb_sync_bucket_take(struct xlb_sync_bucket *b, uint64_t now_ms);

/*
 * A receiver: the key, the sync id, the replay window, and a count of
 * every datagram checked by outcome (cnt[XLB_SYNC_OK] accepted, the
 * others refused by reason; atomic, for readers on other threads).
 */
#define XLB_SYNC_E_NR	(XLB_SYNC_E_REPLAY + 1)
struct xlb_sync_rx {
	struct xlb_hmac_key key;
	uint8_t sync_id;
	struct xlb_sync_replay replay;
	uint64_t cnt[XLB_SYNC_E_NR];
};

void xlb_sync_rx_init(struct xlb_sync_rx *rx, const void *key, size_t keylen,
		      uint8_t sync_id);
/* xlb_sync_parse(), then xlb_sync_replay_check() against now_real_ms;
 * counts the outcome and returns it. */
enum xlb_sync_err xlb_sync_rx_check(struct xlb_sync_rx *rx, const uint8_t *buf, size_t len,
				    uint64_t now_real_ms, struct xlb_sync_hdr *h,
				    struct xlb_sync_rec *recs);

/* Whether a record may be applied (what xlb_sync_parse checks of each). */
bool xlb_sync_rec_ok(const struct xlb_sync_rec *r);

#endif /* XLB_SYNC_MSG_H */
