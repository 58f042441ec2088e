/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NAT high availability: connection sync between an active (master) and
 * a backup director, after IPVS's sync daemon (ip_vs_sync.c), but
 * authenticated. The wire format is in sync_msg.h.
 *
 * Master: every datapath worker pushes a small record into its own
 * single-producer ring when a connection is made, changes TCP state, or
 * a persistence template is made -- nothing more on the packet path. The
 * sync thread drains the rings, batches up to XLB_SYNC_MAX_RECS records
 * into one datagram (sent when full or XLB_SYNC_FLUSH_MS after its first
 * record) and also walks the whole connection table, a slice per tick,
 * re-sending every entry with the time it has left, so that a long-lived
 * connection's copy on the backup never times out (IPVS's
 * sync_threshold/sync_period refresh, done from the table instead of per
 * packet so that flows forwarded by the XDP fast path are refreshed too).
 * Datagrams go to --sync-peer (unicast) or to a multicast group on
 * --sync-interface, within a token bucket (over it: counted drops).
 *
 * Backup: the sync thread receives, checks the source (--sync-peer, when
 * given), the framing, the MAC (--sync-key), the sync id and the sequence
 * and timestamp window, and applies each record to its own connection
 * table, bound to its own service and real server of that address and
 * port (as xlb_conn_adopt's rebind does after a restart), with the
 * master's state and timeout. Anything it refuses is a counted drop. On
 * failover (the real servers' gateway address and the VIP move to the
 * backup) NAT replies and client packets find those entries.
 *
 * Roles are fixed per process: a backup does not start sending when it
 * becomes active. To fail back, restart the new active director's xlbd
 * as master (its state file keeps the connections across the restart)
 * and the other one as backup; see doc/xlbd.8.scd, CONNECTION SYNC.
 */
#ifndef XLB_SYNC_H
#define XLB_SYNC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "conn.h"
#include "sync_msg.h"

enum xlb_sync_role {
	XLB_SYNC_ROLE_NONE = 0,
	XLB_SYNC_ROLE_MASTER,
	XLB_SYNC_ROLE_BACKUP,
};

#define XLB_SYNC_FLUSH_MS	20	/* a record waits at most this long */
#define XLB_SYNC_RATE_DEFAULT	5000	/* datagrams per second, each way */
#define XLB_SYNC_BURST_DEFAULT	500
#define XLB_SYNC_REFRESH_MS	10000	/* a full pass of the table, at most */
#define XLB_SYNC_RING_SIZE	4096	/* records per worker ring (power of 2) */

struct xlb_sync_params {
	enum xlb_sync_role role;
	const char *peer;		/* --sync-peer ADDR[:PORT], or NULL */
	const char *ifname;		/* --sync-interface (multicast), or NULL */
	const char *group;		/* --sync-group, NULL: XLB_SYNC_GROUP */
	const char *key_file;		/* --sync-key */
	uint8_t sync_id;		/* --sync-id */
	uint32_t rate;			/* datagrams/s; 0: the default */
};

/*
 * A worker's ring: the worker is the only producer, the sync thread the
 * only consumer. A full ring drops the record (counted): the table walk
 * sends that entry again later.
 */
struct xlb_sync_ring {
	_Atomic uint32_t head;		/* written by the worker */
	uint32_t drops;			/* worker only; read racily for counters */
	_Atomic uint32_t tail __attribute__((aligned(64)));	/* the sync thread */
	struct xlb_sync_rec recs[XLB_SYNC_RING_SIZE] __attribute__((aligned(64)));
};

static inline void xlb_sync_ring_push(struct xlb_sync_ring *r, const struct xlb_sync_rec *rec)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);

	if (h - atomic_load_explicit(&r->tail, memory_order_acquire) >= XLB_SYNC_RING_SIZE) {
		/* One writer: a plain add, stored atomically for the reader. */
		__atomic_store_n(&r->drops, r->drops + 1, __ATOMIC_RELAXED);
		return;
	}
	r->recs[h & (XLB_SYNC_RING_SIZE - 1)] = *rec;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
}

/* A record of entry v (timeout_s 0: the sync thread fills in the
 * state's). */
static inline void xlb_sync_rec_of(struct xlb_sync_rec *r, const struct xlb_conn_view *v,
				   uint32_t timeout_s)
{
	*r = (struct xlb_sync_rec){
		.op = XLB_SYNC_OP_UPDATE, .proto = v->orig.proto, .fwd = v->fwd,
		.state = v->state, .flags = v->tmpl ? XLB_SYNC_F_TEMPLATE : 0,
		.caddr = v->orig.saddr, .cport = v->orig.sport,
		.vaddr = v->orig.daddr, .vport = v->orig.dport,
		.raddr = v->reply.saddr, .rport = v->reply.sport,
		.timeout = timeout_s,
	};
}

/* Counters of the `sync` group (xlbctl --counters), in this order. */
enum xlb_sync_cnt {
	XLB_SYNC_C_SENT = 0,		/* datagrams sent */
	XLB_SYNC_C_SEND_ERRORS,		/* sendto() failed */
	XLB_SYNC_C_RECEIVED,		/* datagrams received (before any check) */
	XLB_SYNC_C_RECORDS_OUT,		/* records sent */
	XLB_SYNC_C_RECORDS_IN,		/* records of accepted datagrams */
	XLB_SYNC_C_AUTH_FAILURES,	/* MAC did not verify */
	XLB_SYNC_C_REPLAYS,		/* seq seen/too old, or stale timestamp */
	XLB_SYNC_C_MALFORMED,		/* framing or a record wrong */
	XLB_SYNC_C_VERSION,		/* another version */
	XLB_SYNC_C_SYNC_ID,		/* another sync id */
	XLB_SYNC_C_WRONG_SOURCE,	/* not from --sync-peer */
	XLB_SYNC_C_RATE_DROPS,		/* over the token bucket (records sent:
					 * dropped batch; received: datagrams) */
	XLB_SYNC_C_RING_DROPS,		/* a worker's ring was full */
	XLB_SYNC_C_INSERTED,		/* entries made from records */
	XLB_SYNC_C_UPDATED,		/* entries refreshed/changed */
	XLB_SYNC_C_REMOVED,		/* entries removed */
	XLB_SYNC_C_NO_SERVICE,		/* records with no such service/server here */
	XLB_SYNC_C_APPLY_ERRORS,	/* the table refused (full, clash) */
	XLB_SYNC_C_MAX
};

extern const char *const xlb_sync_cnt_names[XLB_SYNC_C_MAX];

/*
 * Reads --sync-key FILE: refused when it is not a regular file, is
 * readable or writable by others (group or world), is empty, or is larger
 * than XLB_SYNC_KEY_MAX bytes. The whole file is the key (a trailing
 * newline included: both directors read the same file). 0 or -errno with
 * a sentence in err.
 */
#define XLB_SYNC_KEY_MAX	4096
int xlb_sync_key_load(const char *path, uint8_t *key, size_t *len, char *err, size_t errlen);

/* ADDR[:PORT] (IPv4; default port XLB_SYNC_PORT). 0 or -EINVAL. */
int xlb_sync_parse_addr(const char *s, struct sockaddr_in *sa);

/*
 * Applies one record of an accepted datagram to table t (the backup's):
 * bind fills the target as the datapath would bind the flow to this
 * director's own service and real server (xlb_dp_sync_bind in xlbd), or
 * fails. Returns the counter the outcome goes to: XLB_SYNC_C_INSERTED,
 * _UPDATED, _REMOVED, _NO_SERVICE or _APPLY_ERRORS (and for a removal of
 * an entry not there, XLB_SYNC_C_MAX: nothing to count).
 */
typedef int (*xlb_sync_bind_fn)(void *arg, const struct xlb_sync_rec *r,
				struct xlb_conn_target *t);
enum xlb_sync_cnt xlb_sync_apply(struct xlb_conn_tab *t, const struct xlb_sync_rec *r,
				 xlb_sync_bind_fn bind, void *arg, uint64_t now_ms);

struct xlb_sync;
struct xlb_dp;
struct xlb_tables;

/* Checks p (the key file is read here), opens the socket and starts the
 * thread. 0 or -errno with a sentence in err. */
int xlb_sync_start(struct xlb_sync **out, const struct xlb_sync_params *p,
		   struct xlb_dp *dp, struct xlb_tables *tables, char *err, size_t errlen);
/* Stops and joins the thread, detaches the rings from the workers.
 * NULL-safe. The rings stay until xlb_sync_free(). */
void xlb_sync_stop(struct xlb_sync *s);
/* After the workers stopped (xlb_dp_stop). NULL-safe. */
void xlb_sync_free(struct xlb_sync *s);

typedef int (*xlb_sync_emit_fn)(const char *group, const char *name, uint64_t value, void *arg);
int xlb_sync_dump_counters(struct xlb_sync *s, xlb_sync_emit_fn emit, void *arg);

#endif /* XLB_SYNC_H */
