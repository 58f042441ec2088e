/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared across xlb (type-only header: no functions, no includes of
 * other project headers), so that the ring, the control protocol, the
 * ipvsadm parser, the tables and the datapath agree on one vocabulary.
 *
 * Byte order: every IPv4 address and every port held in these structs is in
 * network byte order, as on the wire and in IPVS's netlink attributes.
 *
 * Families: a service and a real server carry an address family (AF_INET
 * or AF_INET6) beside a union xlb_inaddr, as IPVS does. A family of 0 is
 * read as AF_INET (xlb_af()), so that zeroed IPv4 structs stay valid.
 */
#ifndef XLB_T_H
#define XLB_T_H

#include <stdint.h>
#include <stdbool.h>
#include "inaddr.h"	/* the one other header: a leaf type, union xlb_inaddr */

#define XLB_VERSION_STRING	"0.1.0"

/* Forwarding methods: the values of IPVS's IP_VS_CONN_F_* (ip_vs.h). */
enum xlb_fwd {
	XLB_FWD_NAT = 0,	/* -m, "Masq"   */
	XLB_FWD_TUN = 2,	/* -i, "Tunnel" */
	XLB_FWD_DR  = 3,	/* -g, "Route" (the default) */
};

#define XLB_SCHED_NAME_MAX	16	/* IP_VS_SCHEDNAME_MAXLEN */
#define XLB_SCHED_DEFAULT	"ring"
#define XLB_VNODES_DEFAULT	160	/* virtual nodes per unit of weight */
#define XLB_WEIGHT_MAX		65535
#define XLB_PERSIST_DEFAULT	300	/* seconds, as ipvsadm -p */

/* Service flags (IP_VS_SVC_F_*). */
#define XLB_SVC_F_PERSISTENT	0x0001
/* Scheduler flags (-b): IPVS's IP_VS_SVC_F_SCHED1..3, in the service flags. */
#define XLB_SVC_F_SCHED1	0x0008
#define XLB_SVC_F_SCHED2	0x0010
#define XLB_SVC_F_SCHED3	0x0020
#define XLB_SVC_F_SCHED_ALL	(XLB_SVC_F_SCHED1 | XLB_SVC_F_SCHED2 | XLB_SVC_F_SCHED3)
#define XLB_SVC_F_SH_FALLBACK	XLB_SVC_F_SCHED1
#define XLB_SVC_F_SH_PORT	XLB_SVC_F_SCHED2
#define XLB_SVC_F_MH_FALLBACK	XLB_SVC_F_SCHED1
#define XLB_SVC_F_MH_PORT	XLB_SVC_F_SCHED2
#define XLB_SVC_F_ONEPACKET	0x0004	/* -o: UDP, each datagram on its own */

/* IPVS-like timeouts, seconds. */
#define XLB_TIMEOUT_TCP_DEFAULT		900
#define XLB_TIMEOUT_TCPFIN_DEFAULT	120
#define XLB_TIMEOUT_UDP_DEFAULT		300

struct xlb_stats {
	uint64_t conns;
	uint64_t inpkts;
	uint64_t outpkts;
	uint64_t inbytes;
	uint64_t outbytes;
};

/* Rates estimated by the daemon (per second), as IPVS's estimator. */
struct xlb_rates {
	uint64_t cps;
	uint64_t inpps;
	uint64_t outpps;
	uint64_t inbps;
	uint64_t outbps;
};

/* A family field's value: 0 (unset) is AF_INET. */
#define xlb_af(af)	((af) ? (af) : AF_INET)

/*
 * A virtual service is identified by (family, protocol, VIP, port). This is
 * userspace's key; the XDP program's "services" map has its own 8-byte IPv4
 * key (struct xlb_bpf_svc_key, bpf/xlb_shared.h).
 */
struct xlb_svc_key {
	union xlb_inaddr addr;	/* VIP, network order */
	uint16_t port;		/* network order */
	uint8_t  proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t  af;		/* AF_INET (or 0) or AF_INET6 */
};

struct xlb_svc_cfg {
	struct xlb_svc_key key;
	char     sched[XLB_SCHED_NAME_MAX];	/* "ring" */
	uint32_t flags;				/* XLB_SVC_F_* */
	uint32_t timeout;			/* persistence timeout, s */
	uint32_t netmask;			/* persistence mask: AF_INET a mask,
						 * network order; AF_INET6 a
						 * prefix length 1..128 (IPVS) */
	uint32_t vnodes;			/* ring points per unit of weight */
	/* Health checks (issue 13): where new connections go while no real
	 * server is up or the healthy weight is below quorum. */
	union xlb_inaddr sorry_addr;		/* zero: no sorry server; the
						 * service's family */
	uint16_t sorry_port;			/* 0: the service's port */
	uint16_t pad2;
	uint32_t quorum;			/* 0: no quorum */
};

struct xlb_dest_cfg {
	union xlb_inaddr addr;	/* RIP, network order */
	uint16_t port;		/* network order */
	uint8_t  fwd;		/* enum xlb_fwd */
	uint8_t  af;		/* AF_INET (or 0) or AF_INET6 */
	uint32_t weight;	/* 0..65535; 0 quiesces */
	uint32_t u_thresh;
	uint32_t l_thresh;
};

/*
 * Health checks (xlbctl --check ...): one per service, applied to each of
 * its real servers, and optionally one per real server whose named fields
 * (set) override the service's. Fields not in set take the service's, then
 * the defaults below.
 */
enum xlb_check_kind {
	XLB_CHECK_NONE = 0,	/* no checks: the server is always up */
	XLB_CHECK_TCP,		/* a TCP connection is accepted */
	XLB_CHECK_HTTP,		/* GET path answers status (and body has expect) */
	XLB_CHECK_UDP,		/* no ICMP error within the timeout */
	XLB_CHECK_EXEC,		/* a command exits 0 */
};

#define XLB_CHECK_SET_KIND	0x001
#define XLB_CHECK_SET_PORT	0x002
#define XLB_CHECK_SET_PATH	0x004
#define XLB_CHECK_SET_STATUS	0x008
#define XLB_CHECK_SET_EXPECT	0x010
#define XLB_CHECK_SET_EXEC	0x020
#define XLB_CHECK_SET_INTERVAL	0x040
#define XLB_CHECK_SET_TIMEOUT	0x080
#define XLB_CHECK_SET_RISE	0x100
#define XLB_CHECK_SET_FALL	0x200
#define XLB_CHECK_SET_ALL	0x3ff

#define XLB_CHECK_PATH_MAX	128	/* NUL included */
#define XLB_CHECK_EXPECT_MAX	128
#define XLB_CHECK_EXEC_MAX	256
#define XLB_CHECK_INTERVAL_DEFAULT_MS	2000
#define XLB_CHECK_TIMEOUT_DEFAULT_MS	1000
#define XLB_CHECK_RISE_DEFAULT		2
#define XLB_CHECK_FALL_DEFAULT		3
#define XLB_CHECK_STATUS_DEFAULT	200
#define XLB_CHECK_INTERVAL_MIN_MS	10
#define XLB_CHECK_INTERVAL_MAX_MS	3600000u
#define XLB_CHECK_RISE_MAX		1000

struct xlb_check {
	uint32_t set;		/* XLB_CHECK_SET_*: the fields given */
	uint8_t  kind;		/* enum xlb_check_kind */
	uint8_t  pad;
	uint16_t port;		/* network order; 0: the server's port */
	uint16_t status;	/* http */
	uint16_t rise;
	uint16_t fall;
	uint16_t pad2;
	uint32_t interval_ms;
	uint32_t timeout_ms;
	char path[XLB_CHECK_PATH_MAX];		/* http */
	char expect[XLB_CHECK_EXPECT_MAX];	/* http: body contains; "" none */
	char exec[XLB_CHECK_EXEC_MAX];		/* exec: a /bin/sh command */
};

/* A real server's health as xlbd last saw it (xlbctl -L -n --health). */
enum xlb_health_state {
	XLB_HEALTH_UNCHECKED = 0,	/* no check: always up */
	XLB_HEALTH_UP,
	XLB_HEALTH_DOWN,
};

#define XLB_HEALTH_ERR_MAX	96

struct xlb_health_info {
	uint8_t  state;		/* enum xlb_health_state */
	uint8_t  last_ok;	/* last probe succeeded */
	uint16_t pad;
	uint32_t checks;	/* probes run since the last reset */
	uint64_t since;		/* unix time (s) of the last change or reset */
	char     error[XLB_HEALTH_ERR_MAX];	/* last failure's reason, "" none */
};

struct xlb_timeouts {
	uint32_t tcp;
	uint32_t tcp_fin;
	uint32_t udp;
};

/*
 * What a person asked for, in ipvsadm's terms, decoded from a command line
 * or a rules file, before it becomes control messages. The *_set masks say
 * which fields were given, so that -E / -e change only what was named.
 */
enum xlb_req_op {
	XLB_REQ_NONE = 0,
	XLB_REQ_ADD_SVC,	/* -A */
	XLB_REQ_EDIT_SVC,	/* -E */
	XLB_REQ_DEL_SVC,	/* -D */
	XLB_REQ_CLEAR,		/* -C */
	XLB_REQ_ADD_DEST,	/* -a */
	XLB_REQ_EDIT_DEST,	/* -e */
	XLB_REQ_DEL_DEST,	/* -d */
	XLB_REQ_LIST,		/* -L / -l */
	XLB_REQ_ZERO,		/* -Z */
	XLB_REQ_SAVE,		/* -S */
	XLB_REQ_RESTORE,	/* -R */
	XLB_REQ_SET_TIMEOUT,	/* --set */
	XLB_REQ_HELP,		/* -h */
	XLB_REQ_VERSION,	/* -v */
};

#define XLB_SVC_SET_SCHED	0x01
#define XLB_SVC_SET_PERSIST	0x02	/* flags + timeout */
#define XLB_SVC_SET_NETMASK	0x04
#define XLB_SVC_SET_VNODES	0x08
#define XLB_SVC_SET_SCHED_FLAGS	0x10	/* -b: the XLB_SVC_F_SCHED* bits of flags */
#define XLB_SVC_SET_OPS		0x40	/* the ONEPACKET flag (-o) */
/* Bits apart from main's -b / -o ones (0x10, 0x40) and ctl.h's 0x100. */
#define XLB_SVC_SET_SORRY	0x200	/* sorry_addr + sorry_port */
#define XLB_SVC_SET_QUORUM	0x400

#define XLB_DEST_SET_PORT	0x01
#define XLB_DEST_SET_FWD	0x02
#define XLB_DEST_SET_WEIGHT	0x04
#define XLB_DEST_SET_UTHRESH	0x08
#define XLB_DEST_SET_LTHRESH	0x10

#define XLB_LIST_NUMERIC	0x01	/* -n */
#define XLB_LIST_CONN		0x02	/* -c */
#define XLB_LIST_STATS		0x04	/* --stats */
#define XLB_LIST_RATE		0x08	/* --rate */
#define XLB_LIST_EXACT		0x10	/* --exact */
#define XLB_LIST_TIMEOUT	0x20	/* --timeout */
#define XLB_LIST_THRESHOLDS	0x40	/* --thresholds */
#define XLB_LIST_PERSISTCONN	0x80	/* --persistent-conn */
#define XLB_LIST_NOSORT		0x100	/* --nosort */
#define XLB_LIST_TUNINFO	0x200	/* --tun-info */
#define XLB_LIST_DAEMON		0x400	/* --daemon */
#define XLB_LIST_HEALTH		0x800	/* --health (apart from --thresholds ... --daemon) */

struct xlb_req {
	enum xlb_req_op op;
	bool     has_svc;	/* a -t/-u was given */
	struct xlb_svc_cfg svc;
	uint32_t svc_set;	/* XLB_SVC_SET_* */
	struct xlb_dest_cfg dest;
	uint32_t dest_set;	/* XLB_DEST_SET_* */
	struct xlb_timeouts timeouts;
	uint32_t list_flags;	/* XLB_LIST_* */
	/* --check*: the service's (-A/-E) or the real server's (-a/-e). */
	struct xlb_check check;
};

#endif /* XLB_T_H */
