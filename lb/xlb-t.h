/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Types shared across xlb (type-only header: no functions, no includes of
 * other project headers), so that the ring, the control protocol, the
 * ipvsadm parser, the tables and the datapath agree on one vocabulary.
 *
 * Byte order: every IPv4 address and every port held in these structs is in
 * network byte order, as on the wire and in IPVS's netlink attributes.
 */
#ifndef XLB_T_H
#define XLB_T_H

#include <stdint.h>
#include <stdbool.h>

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

/* A virtual service is identified by (protocol, VIP, port). */
struct xlb_svc_key {
	uint32_t addr;		/* VIP, network order */
	uint16_t port;		/* network order */
	uint8_t  proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t  pad;
};

struct xlb_svc_cfg {
	struct xlb_svc_key key;
	char     sched[XLB_SCHED_NAME_MAX];	/* "ring" */
	uint32_t flags;				/* XLB_SVC_F_* */
	uint32_t timeout;			/* persistence timeout, s */
	uint32_t netmask;			/* persistence mask, network order */
	uint32_t vnodes;			/* ring points per unit of weight */
};

struct xlb_dest_cfg {
	uint32_t addr;		/* RIP, network order */
	uint16_t port;		/* network order */
	uint8_t  fwd;		/* enum xlb_fwd */
	uint8_t  pad;
	uint32_t weight;	/* 0..65535; 0 quiesces */
	uint32_t u_thresh;
	uint32_t l_thresh;
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

struct xlb_req {
	enum xlb_req_op op;
	bool     has_svc;	/* a -t/-u was given */
	struct xlb_svc_cfg svc;
	uint32_t svc_set;	/* XLB_SVC_SET_* */
	struct xlb_dest_cfg dest;
	uint32_t dest_set;	/* XLB_DEST_SET_* */
	struct xlb_timeouts timeouts;
	uint32_t list_flags;	/* XLB_LIST_* */
};

#endif /* XLB_T_H */
