/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlb control protocol: netlink messages (built and parsed with libmnl) over
 * a unix SOCK_SEQPACKET socket, shared by xlbd and xlbctl.
 *
 * Wire format of every message:
 *
 *   struct nlmsghdr   nlmsg_type = XLB_GENL_ID (or NLMSG_ERROR / NLMSG_DONE
 *                     in replies), nlmsg_pid = 0
 *   struct genlmsghdr cmd = XLB_CMD_*, version = XLB_GENL_VERSION
 *   attributes        XLB_CMD_ATTR_* at the top level; a service and a
 *                     destination are nested (XLB_SVC_ATTR_* /
 *                     XLB_DEST_ATTR_*), statistics are nested STATS64
 *                     (XLB_STATS_ATTR_*, all u64, rates included).
 *
 * Commands and attribute numbers have the values of the kernel's IPVS
 * generic-netlink family (linux/ip_vs.h); xlb's extensions start at 64.
 * Differences from IPVS: an AF_INET address is a 4-byte attribute (u32,
 * network order; a 16-byte one, as IPVS's nf_inet_addr, is read from its
 * first four bytes), an AF_INET6 address a 16-byte one, ports u16 network
 * order, as in IPVS. A destination without ADDR_FAMILY has its service's
 * family (IPVS); a connection without AF is AF_INET (older xlbd).
 *
 * Replies: every non-dump request gets exactly one NLMSG_ERROR (error 0 on
 * success), with NLM_F_ACK_TLVS and an NLMSGERR_ATTR_MSG string when the
 * daemon has something to say; a GET without NLM_F_DUMP gets its reply
 * message first. A dump (NLM_F_DUMP) is a series of NLM_F_MULTI messages,
 * several per datagram, no datagram above XLB_CTL_MSG_MAX, ended by
 * NLMSG_DONE (or by NLMSG_ERROR if the dump fails).
 *
 * Counters (xlb extension, xlbctl --counters): GET_COUNTERS is a read (any
 * peer that can connect) answered as a dump of NEW_COUNTER messages, one
 * per daemon counter, in the daemon's order, zeros included: a nested
 * XLB_CMD_ATTR_COUNTER with GROUP ("xdp", "datapath", "malformed", "conn",
 * "health"),
 * NAME and VALUE. Group and name are 1..XLB_COUNTER_NAME_MAX - 1 printable
 * characters without spaces, so that "GROUP NAME VALUE" lines split on
 * blanks. A daemon without a datapath answers an empty dump.
 *
 * Errors (negative errno in the ack):
 *   -ESRCH   no such service (as IPVS)     -ENOENT  no such destination
 *   -EEXIST  service / destination exists   -EINVAL  bad attribute or value
 *   -EPERM   peer may not change tables     -EMSGSIZE message too large
 *   -EOPNOTSUPP unknown command / feature   -ENOMEM  out of memory
 *
 * Batches (xlb extension, as nftables' batches over nfnetlink): a
 * transaction on one connection, so that a rules file (xlbctl -R) is
 * applied whole or not at all and the datapath never sees half of it.
 *
 *   BATCH_BEGIN          opens the connection's batch. Only a peer allowed
 *                        to change tables may (-EPERM); a second BEGIN while
 *                        one is open is -EBUSY and aborts the open batch.
 *   change requests      (NEW/SET/DEL_SERVICE, NEW/SET/DEL_DEST, SET_CONFIG,
 *                        FLUSH) are parsed and validated as usual, queued,
 *                        and acknowledged one by one: ack 0 = queued, nothing
 *                        applied yet. They may span any number of datagrams.
 *   BATCH_END            applies every queued request, in order, to one
 *                        candidate of the tables and publishes it as ONE
 *                        snapshot, or nothing. Its answer is a BATCH_END
 *                        message (XLB_CMD_ATTR_BATCH_COUNT: requests in the
 *                        batch; on failure also BATCH_INDEX, the 0-based
 *                        index of the refused request among the batch's
 *                        requests, and BATCH_SEQ, its nlmsg_seq), then the
 *                        ack: 0, or the refused request's errno and message.
 *                        END without an open batch is -EINVAL (ack only).
 *
 * A request refused while the batch is open (malformed, not allowed in a
 * batch, over a limit) aborts the batch: its queue is discarded at once,
 * later requests are answered -ECANCELED, and END answers the first error
 * with its index; the batch closes at END. Limits: XLB_CTL_BATCH_MAX_REQS
 * requests per batch (-E2BIG), XLB_CTL_BATCH_TOTAL_REQS queued over all
 * connections (-ENOSPC). A connection that closes with a batch open
 * discards it. Inside a batch:
 *   - reads (GET_*) are answered at once from the published tables (they
 *     do not see the batch's pending requests) and are not counted in the
 *     batch's indexes;
 *   - ZERO is refused (-EOPNOTSUPP): counters are not configuration;
 *   - SET_SERVICE must give the persistence whole (FLAGS whose mask has
 *     the persistent bit, and TIMEOUT) or not at all (-EOPNOTSUPP): the
 *     service it edits may exist only in the batch, so there is nothing to
 *     merge a half of it with.
 */
#ifndef XLB_CTL_H
#define XLB_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "xlb-t.h"

struct nlmsghdr;

#define XLB_CTL_SOCKET_DEFAULT	"/run/xlb/xlb.sock"
#define XLB_CTL_MSG_MAX		65536	/* largest message either side accepts */

#define XLB_GENL_ID		0x20	/* nlmsg_type of every xlb message */
#define XLB_GENL_VERSION	1
#define XLB_CTL_PROTO_VERSION	0x010201 /* GET_INFO version: 1.2.1 as IPVS */

/* Schedulers the daemon knows (names, for error messages). */
#define XLB_SCHED_LIST		"ring, rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos"
bool xlb_sched_known(const char *name);

/* Limits checked by the parser (and the tables). */
#define XLB_VNODES_MIN		1
#define XLB_VNODES_MAX		4096
#define XLB_TIMEOUT_MAX		(31u * 24 * 3600)	/* any timeout, s */
/* Batches (see above): requests queued per batch, and over all batches. */
#define XLB_CTL_BATCH_MAX_REQS		65536u
#define XLB_CTL_BATCH_TOTAL_REQS	262144u

/* Commands: IPVS_CMD_* values, extensions from 64. */
enum xlb_ctl_cmd {
	XLB_CMD_UNSPEC		= 0,
	XLB_CMD_NEW_SERVICE	= 1,	/* also GET_SERVICE's reply */
	XLB_CMD_SET_SERVICE	= 2,
	XLB_CMD_DEL_SERVICE	= 3,
	XLB_CMD_GET_SERVICE	= 4,
	XLB_CMD_NEW_DEST	= 5,	/* also GET_DEST's reply */
	XLB_CMD_SET_DEST	= 6,
	XLB_CMD_DEL_DEST	= 7,
	XLB_CMD_GET_DEST	= 8,
	XLB_CMD_SET_CONFIG	= 12,	/* also GET_CONFIG's reply */
	XLB_CMD_GET_CONFIG	= 13,
	XLB_CMD_SET_INFO	= 14,	/* GET_INFO's reply */
	XLB_CMD_GET_INFO	= 15,
	XLB_CMD_ZERO		= 16,	/* all, or one service if SERVICE given */
	XLB_CMD_FLUSH		= 17,
	XLB_CMD_GET_CONN	= 64,	/* dump of the connection table */
	XLB_CMD_NEW_CONN	= 65,	/* GET_CONN's reply */
	XLB_CMD_BATCH_BEGIN	= 66,	/* open a batch (no attributes) */
	XLB_CMD_BATCH_END	= 67,	/* apply it; also END's reply */
	XLB_CMD_GET_COUNTERS	= 68,	/* dump of the daemon's counters */
	XLB_CMD_NEW_COUNTER	= 69,	/* GET_COUNTERS' reply */
};

/* Top-level attributes (IPVS_CMD_ATTR_*). */
enum xlb_ctl_attr {
	XLB_CMD_ATTR_UNSPEC		= 0,
	XLB_CMD_ATTR_SERVICE		= 1,	/* nested XLB_SVC_ATTR_* */
	XLB_CMD_ATTR_DEST		= 2,	/* nested XLB_DEST_ATTR_* */
	XLB_CMD_ATTR_TIMEOUT_TCP	= 4,	/* u32 s; 0 = unchanged */
	XLB_CMD_ATTR_TIMEOUT_TCP_FIN	= 5,	/* u32 s; 0 = unchanged */
	XLB_CMD_ATTR_TIMEOUT_UDP	= 6,	/* u32 s; 0 = unchanged */
	XLB_CMD_ATTR_CONN		= 64,	/* nested XLB_CONN_ATTR_* */
	XLB_CMD_ATTR_BATCH_COUNT	= 65,	/* u32, BATCH_END reply */
	XLB_CMD_ATTR_BATCH_INDEX	= 66,	/* u32, BATCH_END reply on failure */
	XLB_CMD_ATTR_BATCH_SEQ		= 67,	/* u32, BATCH_END reply on failure */
	XLB_CMD_ATTR_COUNTER		= 68,	/* nested XLB_COUNTER_ATTR_* */
	XLB_CMD_ATTR_MAX		= 68,
};

/* Top-level attributes of XLB_CMD_SET_INFO (IPVS_INFO_ATTR_*). */
enum xlb_ctl_info_attr {
	XLB_INFO_ATTR_VERSION		= 1,	/* u32 */
	XLB_INFO_ATTR_CONN_TAB_SIZE	= 2,	/* u32 */
	XLB_INFO_ATTR_MAX		= 2,
};

/* Service attributes (IPVS_SVC_ATTR_*). */
enum xlb_ctl_svc_attr {
	XLB_SVC_ATTR_AF		= 1,	/* u16, AF_INET or AF_INET6 */
	XLB_SVC_ATTR_PROTOCOL	= 2,	/* u16, IPPROTO_TCP / IPPROTO_UDP */
	XLB_SVC_ATTR_ADDR	= 3,	/* 4 (AF_INET) or 16 bytes, network order */
	XLB_SVC_ATTR_PORT	= 4,	/* u16, network order */
	XLB_SVC_ATTR_FWMARK	= 5,	/* u32; only 0 (no fwmark services) */
	XLB_SVC_ATTR_SCHED_NAME	= 6,	/* NUL-terminated string */
	XLB_SVC_ATTR_FLAGS	= 7,	/* struct xlb_ctl_flags */
	XLB_SVC_ATTR_TIMEOUT	= 8,	/* u32, persistence timeout s */
	XLB_SVC_ATTR_NETMASK	= 9,	/* u32: AF_INET a contiguous mask, network
					 * order; AF_INET6 a prefix length 1..128 */
	XLB_SVC_ATTR_STATS	= 10,	/* 32-bit stats: never sent, skipped */
	XLB_SVC_ATTR_PE_NAME	= 11,	/* skipped */
	XLB_SVC_ATTR_STATS64	= 12,	/* nested XLB_STATS_ATTR_* */
	XLB_SVC_ATTR_VNODES	= 64,	/* u32, ring points per unit of weight */
	XLB_SVC_ATTR_CHECK	= 65,	/* nested XLB_CHECK_ATTR_*: the service's check */
	XLB_SVC_ATTR_SORRY_ADDR	= 66,	/* as ADDR, the service's family; 0 = none */
	XLB_SVC_ATTR_SORRY_PORT	= 67,	/* u16, network order; 0 = the service's */
	XLB_SVC_ATTR_QUORUM	= 68,	/* u32, healthy weight needed; 0 = none */
	XLB_SVC_ATTR_MAX	= 68,
};

/* Destination attributes (IPVS_DEST_ATTR_*). */
enum xlb_ctl_dest_attr {
	XLB_DEST_ATTR_ADDR		= 1,	/* as XLB_SVC_ATTR_ADDR */
	XLB_DEST_ATTR_PORT		= 2,	/* u16, network order */
	XLB_DEST_ATTR_FWD_METHOD	= 3,	/* u32, enum xlb_fwd */
	XLB_DEST_ATTR_WEIGHT		= 4,	/* u32, 0..65535 */
	XLB_DEST_ATTR_U_THRESH		= 5,	/* u32 */
	XLB_DEST_ATTR_L_THRESH		= 6,	/* u32 */
	XLB_DEST_ATTR_ACTIVE_CONNS	= 7,	/* u32, replies only */
	XLB_DEST_ATTR_INACT_CONNS	= 8,	/* u32, replies only */
	XLB_DEST_ATTR_PERSIST_CONNS	= 9,	/* u32, replies only */
	XLB_DEST_ATTR_STATS		= 10,	/* skipped */
	XLB_DEST_ATTR_ADDR_FAMILY	= 11,	/* u16; absent: the service's */
	XLB_DEST_ATTR_STATS64		= 12,	/* nested XLB_STATS_ATTR_* */
	XLB_DEST_ATTR_CHECK		= 64,	/* nested XLB_CHECK_ATTR_*: override */
	XLB_DEST_ATTR_HEALTH		= 65,	/* nested XLB_HEALTH_ATTR_*, replies only */
	XLB_DEST_ATTR_MAX		= 65,
};

/* Statistics attributes (IPVS_STATS_ATTR_*), all u64. */
enum xlb_ctl_stats_attr {
	XLB_STATS_ATTR_CONNS	= 1,
	XLB_STATS_ATTR_INPKTS	= 2,
	XLB_STATS_ATTR_OUTPKTS	= 3,
	XLB_STATS_ATTR_INBYTES	= 4,
	XLB_STATS_ATTR_OUTBYTES	= 5,
	XLB_STATS_ATTR_CPS	= 6,
	XLB_STATS_ATTR_INPPS	= 7,
	XLB_STATS_ATTR_OUTPPS	= 8,
	XLB_STATS_ATTR_INBPS	= 9,
	XLB_STATS_ATTR_OUTBPS	= 10,
	XLB_STATS_ATTR_PAD	= 11,
	XLB_STATS_ATTR_MAX	= 11,
};

/* Connection attributes (xlb extension, nested in XLB_CMD_ATTR_CONN). */
enum xlb_ctl_conn_attr {
	XLB_CONN_ATTR_PROTO	= 1,	/* u16 */
	XLB_CONN_ATTR_CADDR	= 2,	/* as XLB_SVC_ATTR_ADDR, of family AF */
	XLB_CONN_ATTR_CPORT	= 3,	/* u16, network order */
	XLB_CONN_ATTR_VADDR	= 4,
	XLB_CONN_ATTR_VPORT	= 5,
	XLB_CONN_ATTR_DADDR	= 6,
	XLB_CONN_ATTR_DPORT	= 7,
	XLB_CONN_ATTR_STATE	= 8,	/* NUL-terminated string */
	XLB_CONN_ATTR_EXPIRES	= 9,	/* u32, seconds left */
	XLB_CONN_ATTR_FLAGS	= 10,	/* u32, XLB_CONN_INFO_F_*; optional (older xlbd: 0) */
	XLB_CONN_ATTR_AF	= 11,	/* u16; optional (older xlbd: AF_INET) */
	XLB_CONN_ATTR_MAX	= 11,
};

/* Counter attributes (xlb extension, nested in XLB_CMD_ATTR_COUNTER), all
 * three required. */
enum xlb_ctl_counter_attr {
	XLB_COUNTER_ATTR_GROUP	= 1,	/* NUL-terminated string, <= XLB_COUNTER_NAME_MAX */
	XLB_COUNTER_ATTR_NAME	= 2,	/* NUL-terminated string, <= XLB_COUNTER_NAME_MAX */
	XLB_COUNTER_ATTR_VALUE	= 3,	/* u64 */
	XLB_COUNTER_ATTR_MAX	= 3,
};

/* Health-check attributes (xlb extension, nested in XLB_SVC_ATTR_CHECK or
 * XLB_DEST_ATTR_CHECK): each present attribute is a field given (struct
 * xlb_check's set); an empty nest says "no field given". */
enum xlb_ctl_check_attr {
	XLB_CHECK_ATTR_KIND	= 1,	/* u32, enum xlb_check_kind */
	XLB_CHECK_ATTR_PORT	= 2,	/* u16, network order, 0 = the server's */
	XLB_CHECK_ATTR_PATH	= 3,	/* NUL-terminated string, < XLB_CHECK_PATH_MAX */
	XLB_CHECK_ATTR_STATUS	= 4,	/* u32, 100..599 */
	XLB_CHECK_ATTR_EXPECT	= 5,	/* NUL-terminated string */
	XLB_CHECK_ATTR_EXEC	= 6,	/* NUL-terminated string */
	XLB_CHECK_ATTR_INTERVAL	= 7,	/* u32, milliseconds */
	XLB_CHECK_ATTR_TIMEOUT	= 8,	/* u32, milliseconds */
	XLB_CHECK_ATTR_RISE	= 9,	/* u32 */
	XLB_CHECK_ATTR_FALL	= 10,	/* u32 */
	XLB_CHECK_ATTR_MAX	= 10,
};

/* A real server's health (nested in XLB_DEST_ATTR_HEALTH, replies). */
enum xlb_ctl_health_attr {
	XLB_HEALTH_ATTR_STATE	= 1,	/* u32, enum xlb_health_state */
	XLB_HEALTH_ATTR_LAST_OK	= 2,	/* u32, 0/1 */
	XLB_HEALTH_ATTR_CHECKS	= 3,	/* u32 */
	XLB_HEALTH_ATTR_SINCE	= 4,	/* u64, unix seconds */
	XLB_HEALTH_ATTR_ERROR	= 5,	/* NUL-terminated string */
	XLB_HEALTH_ATTR_MAX	= 5,
};

#define XLB_COUNTER_NAME_MAX	32	/* group and name, NUL included */

/* XLB_SVC_ATTR_FLAGS payload (struct ip_vs_flags). */
struct xlb_ctl_flags {
	uint32_t flags;
	uint32_t mask;
};

struct xlb_svc_info {			/* one service, as listed */
	struct xlb_svc_cfg cfg;
	struct xlb_stats   stats;
	struct xlb_rates   rates;
	struct xlb_check   check;	/* its --check options (check.set: given) */
};

struct xlb_dest_info {			/* one real server of a service */
	struct xlb_dest_cfg cfg;
	uint32_t activeconns, inactconns, persistconns;
	struct xlb_stats   stats;
	struct xlb_rates   rates;
	struct xlb_check   check;	/* its own --check options (overrides) */
	struct xlb_health_info health;	/* HAS_DEST_HEALTH */
};

struct xlb_conn_info {			/* one connection-table entry (xlbctl -Lnc) */
	uint8_t  proto;			/* IPPROTO_TCP / IPPROTO_UDP */
	uint8_t  af;			/* AF_INET (or 0) or AF_INET6: all three */
	union xlb_inaddr caddr; uint16_t cport;	/* client */
	union xlb_inaddr vaddr; uint16_t vport;	/* virtual service */
	union xlb_inaddr daddr; uint16_t dport;	/* real server */
	char     state[16];		/* "ESTABLISHED", "SYN_RECV", "FIN_WAIT", "CLOSE", "UDP", ... */
	uint32_t expires;		/* seconds left */
	uint32_t flags;			/* XLB_CONN_INFO_F_* */
};

#define XLB_CONN_INFO_F_TEMPLATE	0x1	/* a persistence template */

struct xlb_counter_info {		/* one daemon counter (xlbctl --counters) */
	char     group[XLB_COUNTER_NAME_MAX];	/* "xdp", "datapath", "malformed", "conn" */
	char     name[XLB_COUNTER_NAME_MAX];
	uint64_t value;
};

struct xlb_info { uint32_t version; uint32_t conn_tab_size; };

/* What BATCH_END answers (besides its ack). */
struct xlb_ctl_batch_info {
	uint32_t count;			/* requests in the batch */
	bool     failed;		/* index and seq are meaningful */
	uint32_t index;			/* refused request, 0-based */
	uint32_t seq;			/* its nlmsg_seq */
};

/* ---- client side (xlbctl) --------------------------------------------
 * All return 0 or -errno; on error, if err is non-NULL, a sentence for a
 * person (the daemon's extended-ack message when it sent one, else
 * strerror) is written to err.
 */
int  xlb_ctl_open(const char *path, char *err, size_t errlen);	/* fd >= 0 or -errno */
void xlb_ctl_close(int fd);
/* Apply one change request: op is ADD_SVC, EDIT_SVC, DEL_SVC, CLEAR,
 * ADD_DEST, EDIT_DEST, DEL_DEST, ZERO (zero all, or one service when
 * req->has_svc), SET_TIMEOUT (a 0 timeout leaves that one unchanged). */
int  xlb_ctl_apply(int fd, const struct xlb_req *req, char *err, size_t errlen);
/* The service fields an ADD_SVC request sets: those named in svc_set plus
 * those holding a value. */
uint32_t xlb_req_add_svc_fields(const struct xlb_req *req);
/* Apply n change requests as one batch (BATCH_BEGIN, the requests packed
 * into as few datagrams as they fit, BATCH_END): all of them, published as
 * one snapshot, or none. On error, *failed (when non-NULL) is the index in
 * reqs of the request xlbd refused, or SIZE_MAX when the failure is not one
 * request's (BEGIN refused, transport). n == 0 is a no-op. */
int  xlb_ctl_apply_batch(int fd, const struct xlb_req *reqs, size_t n, size_t *failed,
			 char *err, size_t errlen);
/* Dumps: the library allocates *out (free() it); *n entries. Services come
 * sorted by (protocol, address, port), destinations by (address, port). */
int  xlb_ctl_get_services(int fd, struct xlb_svc_info **out, size_t *n, char *err, size_t errlen);
int  xlb_ctl_get_service(int fd, const struct xlb_svc_key *key, struct xlb_svc_info *out, char *err, size_t errlen);
int  xlb_ctl_get_dests(int fd, const struct xlb_svc_key *key, struct xlb_dest_info **out, size_t *n, char *err, size_t errlen);
int  xlb_ctl_get_conns(int fd, struct xlb_conn_info **out, size_t *n, char *err, size_t errlen);
/* The daemon's counters, in its order (empty without a datapath). */
int  xlb_ctl_get_counters(int fd, struct xlb_counter_info **out, size_t *n, char *err, size_t errlen);
int  xlb_ctl_get_timeouts(int fd, struct xlb_timeouts *out, char *err, size_t errlen);
int  xlb_ctl_get_info(int fd, struct xlb_info *out, char *err, size_t errlen);

/* ---- messages: builders and parser (no socket needed) ----------------
 * Builders write into a caller's buffer of buflen bytes (buflen <=
 * XLB_CTL_MSG_MAX); an attribute builder returns 0, or -EMSGSIZE leaving the
 * message as it was before the call.
 */

/* Present-attribute bits of a decoded message. */
#define XLB_CTL_HAS_SVC		0x0001	/* service key (+ cfg fields in svc_set) */
#define XLB_CTL_HAS_SVC_STATS	0x0002
#define XLB_CTL_HAS_DEST	0x0004	/* destination addr (+ fields in dest_set) */
#define XLB_CTL_HAS_DEST_CONNS	0x0008	/* active/inact/persist counts */
#define XLB_CTL_HAS_DEST_STATS	0x0010
#define XLB_CTL_HAS_TCP		0x0020
#define XLB_CTL_HAS_TCPFIN	0x0040
#define XLB_CTL_HAS_UDP		0x0080
#define XLB_CTL_HAS_CONN	0x0100
#define XLB_CTL_HAS_INFO	0x0200
#define XLB_CTL_HAS_BATCH	0x0400	/* batch.count; batch.failed if INDEX+SEQ */
#define XLB_CTL_HAS_COUNTER	0x0800
#define XLB_CTL_HAS_SVC_CHECK	0x1000	/* svc.check (a CHECK nest was given) */
#define XLB_CTL_HAS_DEST_CHECK	0x2000	/* dest.check */
#define XLB_CTL_HAS_DEST_HEALTH	0x4000	/* dest.health */

/* Extra XLB_SVC_SET_* bit in xlb_ctl_msg.svc_set: a FLAGS attribute was
 * given (flags and svc_flags_mask hold it); XLB_SVC_SET_PERSIST then means
 * only that TIMEOUT was given. */
#define XLB_CTL_SVC_SET_FLAGS	0x100

/* One decoded message (request or reply). */
struct xlb_ctl_msg {
	uint16_t type;			/* nlmsg_type */
	uint16_t nlflags;		/* nlmsg_flags */
	uint32_t seq;
	uint8_t  cmd;			/* XLB_CMD_* */
	uint32_t has;			/* XLB_CTL_HAS_* */
	struct xlb_svc_info svc;	/* stats/rates if HAS_SVC_STATS */
	uint32_t svc_set;		/* XLB_SVC_SET_* | XLB_CTL_SVC_SET_FLAGS */
	uint32_t svc_flags_mask;	/* FLAGS attribute's mask */
	struct xlb_dest_info dest;
	uint32_t dest_set;		/* XLB_DEST_SET_* */
	struct xlb_timeouts timeouts;	/* fields per HAS_TCP/TCPFIN/UDP */
	struct xlb_conn_info conn;
	struct xlb_info info;
	struct xlb_ctl_batch_info batch;
	struct xlb_counter_info counter;
};

/* Start a message: nlmsghdr (XLB_GENL_ID, flags, seq) + genlmsghdr (cmd). */
struct nlmsghdr *xlb_ctl_msg_start(void *buf, size_t buflen, uint8_t cmd,
				   uint16_t nlflags, uint32_t seq);
/* Service: key always; the cfg fields named in set (XLB_SVC_SET_*: SCHED,
 * PERSIST = flags {flags, mask PERSISTENT} + timeout, NETMASK, VNODES);
 * stats/rates when non-NULL. */
int xlb_ctl_put_svc(struct nlmsghdr *nlh, size_t buflen,
		    const struct xlb_svc_cfg *cfg, uint32_t set,
		    const struct xlb_stats *st, const struct xlb_rates *rt);
/* The same with the service's check (NULL or check->set 0: no nest), and
 * sorry server / quorum when set names them (XLB_SVC_SET_SORRY/QUORUM). */
int xlb_ctl_put_svc_ex(struct nlmsghdr *nlh, size_t buflen,
		       const struct xlb_svc_cfg *cfg, uint32_t set,
		       const struct xlb_check *check,
		       const struct xlb_stats *st, const struct xlb_rates *rt);
/* Destination: addr always; fields named in set (XLB_DEST_SET_*); the
 * connection counts, stats and rates of info when info is non-NULL. */
int xlb_ctl_put_dest(struct nlmsghdr *nlh, size_t buflen,
		     const struct xlb_dest_cfg *cfg, uint32_t set,
		     const struct xlb_dest_info *info);
/* The same with the server's own check (NULL or set 0: none) and its
 * health (NULL: none). */
int xlb_ctl_put_dest_ex(struct nlmsghdr *nlh, size_t buflen,
			const struct xlb_dest_cfg *cfg, uint32_t set,
			const struct xlb_check *check,
			const struct xlb_health_info *health,
			const struct xlb_dest_info *info);
/* Timeouts: the non-zero ones. */
int xlb_ctl_put_timeouts(struct nlmsghdr *nlh, size_t buflen,
			 const struct xlb_timeouts *to);
int xlb_ctl_put_conn(struct nlmsghdr *nlh, size_t buflen,
		     const struct xlb_conn_info *c);
int xlb_ctl_put_info(struct nlmsghdr *nlh, size_t buflen,
		     const struct xlb_info *info);
/* One counter (nested XLB_CMD_ATTR_COUNTER). -EINVAL, the message as it
 * was, when group or name is empty, too long or not printable without
 * spaces (see above). */
int xlb_ctl_put_counter(struct nlmsghdr *nlh, size_t buflen,
			const struct xlb_counter_info *c);
/* BATCH_END's reply attributes: count; index and seq when b->failed. */
int xlb_ctl_put_batch(struct nlmsghdr *nlh, size_t buflen,
		      const struct xlb_ctl_batch_info *b);
/* NLMSG_ERROR answering req (its header is echoed, capped), with msg as an
 * NLMSGERR_ATTR_MSG when msg is non-empty; req may be NULL (garbage). */
struct nlmsghdr *xlb_ctl_put_ack(void *buf, size_t buflen,
				 const struct nlmsghdr *req, int error,
				 const char *msg);
/* NLMSG_DONE ending a dump. */
struct nlmsghdr *xlb_ctl_put_done(void *buf, size_t buflen, uint32_t seq);

/* Build the request(s) for a change request (xlb_req) into buf: one
 * message. Returns its length, or -errno (-EINVAL for an op that is not a
 * change). */
int xlb_ctl_build_req(void *buf, size_t buflen, const struct xlb_req *req,
		      uint32_t seq);

/*
 * Check the nlmsghdr at buf (len bytes available): length sane and within
 * len. Returns the message length (>= sizeof(struct nlmsghdr)), or -EINVAL /
 * -EMSGSIZE with a sentence in err.
 */
int xlb_ctl_msg_check(const void *buf, size_t len, char *err, size_t errlen);
/*
 * Decode and validate one xlb message (XLB_GENL_ID, already length-checked
 * by xlb_ctl_msg_check): genl header, every known attribute type-checked and
 * range-checked, unknown ones skipped. 0 or -errno with a sentence in err.
 */
int xlb_ctl_parse(const struct nlmsghdr *nlh, struct xlb_ctl_msg *m,
		  char *err, size_t errlen);
/* Required attributes of a request, by command (e.g. NEW_DEST needs a
 * service key and a destination address). 0, -EINVAL, or -EOPNOTSUPP for an
 * unknown command, with a sentence in err. */
int xlb_ctl_check_request(const struct xlb_ctl_msg *m, char *err, size_t errlen);
/* Is cmd a change (needs permission) rather than a read? */
bool xlb_ctl_cmd_changes(uint8_t cmd);
/* Decode an NLMSG_ERROR: *error = its (negative) errno, msg = its
 * NLMSGERR_ATTR_MSG or "". 0 or -EINVAL if malformed. */
int xlb_ctl_parse_ack(const struct nlmsghdr *nlh, int *error,
		      char *msg, size_t msglen);

/* "10.0.0.1:80/tcp" or "[2001:db8::1]:80/tcp", for messages. buf of at
 * least XLB_CTL_SVC_STR bytes. */
#define XLB_CTL_SVC_STR	64
const char *xlb_ctl_svc_str(const struct xlb_svc_key *key, char *buf, size_t len);

#endif /* XLB_CTL_H */
