/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Structs and enums shared by the XDP programs in bpf/ and the
 * userspace that maintains their maps (lb/xdp.c). Plain C usable from both
 * sides: only <linux/types.h> types, fixed layouts, no padding holes.
 *
 * Byte order: addresses and ports in map keys are in network byte order,
 * exactly as they sit in the packet, so the BPF side never swaps bytes.
 *
 * The "services" map's key is IPv4 (8 bytes). The BPF side calls it struct
 * xlb_svc_key; userspace, whose struct xlb_svc_key (lb/xlb-t.h) carries a
 * family and a 16-byte address, calls the same layout struct
 * xlb_bpf_svc_key.
 */
#ifndef XLB_SHARED_H
#define XLB_SHARED_H

#include <linux/types.h>

#ifdef __bpf__
struct xlb_svc_key {
	__u32 addr;		/* VIP, network order */
	__u16 port;		/* network order */
	__u8  proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	__u8  pad;		/* must be zero: it is part of the hash key */
};
#else
#include "xlb-t.h"
struct xlb_bpf_svc_key {
	__u32 addr;		/* VIP, network order */
	__u16 port;		/* network order */
	__u8  proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	__u8  pad;		/* must be zero: it is part of the hash key */
};
_Static_assert(sizeof(struct xlb_bpf_svc_key) == 8, "xlb_bpf_svc_key layout");
#endif

/* Value of the "services" map. */
struct xlb_svc_val {
	__u32 flags;		/* XLB_SVC_VAL_F_*; none defined yet, write 0 */
};

/* Key of the "nat_rs" map: a NAT real server (RIP, rport, protocol); its
 * replies (source = this key) are steered to userspace for translation. */
struct xlb_rs_key {
	__u32 addr;		/* RIP, network order */
	__u16 port;		/* network order */
	__u8  proto;
	__u8  pad;		/* must be zero */
};

struct xlb_rs_val {
	__u32 flags;		/* none defined yet, write 0 */
};

/* "local_addrs": the director's own IPv4 addresses (key: network order),
 * kept by xlbd from the kernel's. A packet from a NAT real server to one
 * of them is the director's own traffic (a health check, an operator's
 * curl), never a reply to translate: it goes to the kernel. */
struct xlb_local_val {
	__u32 flags;		/* none defined yet, write 0 */
};

/* xsks_map holds one AF_XDP socket per (interface, RX queue): the key is
 * xsk_base[ifindex] + rx_queue_index, the base being the interface's
 * position in xlbd's -i list times XLB_XSK_QUEUES_MAX. */
/*
 * IPv6 (issue 14). Maps of their own, beside the IPv4 ones (whose keys
 * and values never change): "services6", "nat_rs6", "local_addrs6". The
 * values are the IPv4 maps' (struct xlb_svc_val, xlb_rs_val,
 * xlb_local_val). Same byte-order rule: the address is the 16 bytes of
 * the packet, the port in network order. 20 bytes, no holes; the
 * address 4-byte aligned so that the programs copy it in words.
 */
struct xlb_svc6_key {
	__u8  addr[16] __attribute__((aligned(4)));	/* VIP */
	__u16 port;		/* network order */
	__u8  proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	__u8  pad;		/* must be zero: it is part of the hash key */
};

struct xlb_rs6_key {
	__u8  addr[16] __attribute__((aligned(4)));	/* RIP of a NAT66 real server */
	__u16 port;		/* network order */
	__u8  proto;
	__u8  pad;		/* must be zero */
};

/* "local_addrs6": the director's own IPv6 addresses. */
struct xlb_local6_key {
	__u8  addr[16] __attribute__((aligned(4)));
};

/* XLB_IPV6_EXT_MAX, the extension headers xlb_steer walks past before
 * giving up (XDP_PASS, XLB_CNT_IPV6_EXT_PASSED), is in xlb_ip6.h with the
 * walk itself. */
#include "xlb_ip6.h"

#define XLB_XSK_QUEUES_MAX	256
#define XLB_XSK_IFACES_MAX	8
#define XLB_XSKS_MAX		(XLB_XSK_QUEUES_MAX * XLB_XSK_IFACES_MAX)
#define XLB_SVC_MAX		4096	/* services map entries */
#define XLB_LOCAL_ADDRS_MAX	4096	/* local_addrs map entries */
#define XLB_NAT_RS_MAX		16384	/* nat_rs map entries */
#define XLB_SVC6_MAX		4096	/* services6 map entries */
#define XLB_LOCAL_ADDRS6_MAX	4096	/* local_addrs6 map entries */
#define XLB_NAT_RS6_MAX		16384	/* nat_rs6 map entries */

#define XLB_STEER_PROG_NAME	"xlb_steer"
#define XLB_DECAP_PROG_NAME	"xlb_decap"

/*
 * Per-CPU counters of xlb_steer ("counters", a PERCPU_ARRAY indexed by this
 * enum). Every packet ends in exactly one of the six outcome counters
 * (PASSED, REDIRECTED, REDIRECT_FAILED, and the fast path's FP_TX,
 * FP_REDIRECTED, FP_DROPPED), so their sum is the packets seen. The others
 * count reasons and overlap with the outcomes: a fast-path miss or punt
 * (FP_MISS, FP_REDIRECT_FAILED, FP_PUNT_*) then takes the AF_XDP path and
 * ends in one of its outcomes there. New counters are appended, never
 * renumbered.
 */
enum xlb_xdp_cnt {
	XLB_CNT_PASSED = 0,	/* XDP_PASS: not ours, or unusable (below) */
	XLB_CNT_REDIRECTED,	/* steered: bpf_redirect_map() accepted it */
	XLB_CNT_REDIRECT_FAILED,/* steered, but no AF_XDP socket on this RX
				 * queue (xlbd restarting): dropped, so the
				 * client retransmits instead of being reset */
	XLB_CNT_SVC,		/* steered: destination is a service */
	XLB_CNT_NAT_REPLY,	/* steered: source is a NAT real server */
	XLB_CNT_ICMP_ERR,	/* steered: ICMP error about a service / RS */
	XLB_CNT_IP_OPTIONS,	/* steered packets carrying IPv4 options */
	XLB_CNT_FRAGMENT,	/* non-first IPv4 fragment: passed */
	XLB_CNT_NOT_IPV4,	/* ARP, IPv6, ...: passed */
	XLB_CNT_BAD_ETH,	/* truncated Ethernet / VLAN header: passed */
	XLB_CNT_BAD_IP,		/* truncated IPv4 header (options incl.) */
	XLB_CNT_BAD_IHL,	/* version != 4, IHL < 5, total length < IHL */
	XLB_CNT_BAD_L4,		/* truncated TCP/UDP/ICMP header, or ICMP
				 * error quoting less than IP + 8 bytes */
	XLB_CNT_VLAN,		/* 802.1Q-tagged: passed (the kernel's VLAN
				 * devices own them) */
	XLB_CNT_OWN_TRAFFIC,	/* from a NAT real server (or an ICMP error
				 * about a packet to one) addressed to the
				 * director itself: passed */
	/* The fast path (issue 11; fp_config.flags & XLB_FP_F_ENABLED). */
	XLB_CNT_FP_TX,		/* outcome: hit, rewritten, XDP_TX (leaves by
				 * the interface it came in) */
	XLB_CNT_FP_REDIRECTED,	/* outcome: hit, rewritten, redirected to
				 * fp_devs[ifindex] (accepted by the helper; a
				 * failure of the egress device after this
				 * program shows in its own drop counters) */
	XLB_CNT_FP_DROPPED,	/* outcome: hit, frame already grown (TUN), and
				 * then shorter than its own headers: dropped
				 * (cannot happen; kept for the verifier) */
	XLB_CNT_FP_MISS,	/* TCP/UDP looked up, no usable entry */
	XLB_CNT_FP_REDIRECT_FAILED, /* hit whose egress ifindex is not in
				 * fp_devs: sent to userspace unchanged */
	XLB_CNT_FP_PUNT_TCP_FLAGS, /* hit with SYN, FIN or RST: userspace
				 * tracks the state change */
	XLB_CNT_FP_PUNT_FRAGMENT, /* hit that is a first fragment (MF set) */
	XLB_CNT_FP_PUNT_IP_OPTIONS, /* hit with IPv4 options */
	XLB_CNT_FP_PUNT_TOO_BIG, /* hit over fp_val.mtu once rewritten (TUN:
				 * frag-needed or fragmentation, userspace's) */
	XLB_CNT_FP_PUNT_ODD,	/* hit that userspace would refuse: TTL 0, a
				 * datagram longer than the frame, a TCP data
				 * offset or UDP length that does not fit */
	XLB_CNT_FP_PUNT_NO_ROOM, /* TUN hit: the frame could not grow by the
				 * outer header (bpf_xdp_adjust_head/tail) */
	/* IPv6 (issue 14). The reasons SVC, NAT_REPLY, ICMP_ERR, BAD_L4 and
	 * OWN_TRAFFIC count both families; these split them off. An IPv6
	 * frame that is passed also counts NOT_IPV4, as it always has. */
	XLB_CNT_IPV6,		/* every untagged IPv6 frame (a reason) */
	XLB_CNT_IPV6_EXT,	/* steered IPv6 packets carrying hop-by-hop,
				 * routing or destination-options headers */
	XLB_CNT_IPV6_FRAGMENT,	/* IPv6 with a fragment header (first or
				 * not, outer or quoted in ICMPv6): passed */
	XLB_CNT_IPV6_BAD_HDR,	/* truncated IPv6 header, version != 6, or a
				 * payload length past the frame (0, a
				 * jumbogram, included): passed */
	XLB_CNT_IPV6_EXT_PASSED, /* more than XLB_IPV6_EXT_MAX extension
				 * headers, one cut short, or a routing
				 * header with segments left (the VIP is not
				 * the final destination): passed */
	XLB_CNT_MAX
};

/* Per-CPU counters of xlb_decap ("decap_counters"). Outcomes: DECAPPED,
 * PASSED, and the DROP_* classes, one per packet. */
enum xlb_decap_cnt {
	XLB_DECAP_CNT_PASSED = 0,	/* not IP-in-IP (or not for us) */
	XLB_DECAP_CNT_DECAPPED,		/* outer header stripped, passed up */
	XLB_DECAP_CNT_DROP_OUTER,	/* proto 4, malformed outer header */
	XLB_DECAP_CNT_DROP_INNER,	/* proto 4, malformed inner packet */
	XLB_DECAP_CNT_DROP_FRAGMENT,	/* proto 4 outer fragment: the inner
					 * packet is incomplete, cannot pass */
	XLB_DECAP_CNT_NOT_LOCAL,	/* proto 4, destination not in
					 * decap_addrs while restricted: passed */
	/* IPv6 outer header (issue 14): next header 41 (ip6ip6) or 4
	 * (IPv4-in-IPv6) right after the fixed header. Outcomes. */
	XLB_DECAP_CNT_DECAPPED6,	/* outer IPv6 header stripped */
	XLB_DECAP_CNT_DROP_OUTER6,	/* bad version, payload length past
					 * the frame */
	XLB_DECAP_CNT_DROP_INNER6,	/* inner header short, of the wrong
					 * version, longer than the outer
					 * payload */
	XLB_DECAP_CNT_NOT_LOCAL6,	/* destination not in decap_addrs6
					 * while restricted: passed */
	XLB_DECAP_CNT_MAX
};

/* decap_config[0].flags */
#define XLB_DECAP_F_RESTRICT_DST	0x1	/* only outer daddr in decap_addrs */

struct xlb_decap_config {
	__u32 flags;
};

#ifndef __bpf__
/* Counter names for userspace (stats output, logs), indexed by the enums. */
static const char *const xlb_cnt_names[XLB_CNT_MAX] __attribute__((unused)) = {
	[XLB_CNT_PASSED]          = "passed",
	[XLB_CNT_REDIRECTED]      = "redirected",
	[XLB_CNT_REDIRECT_FAILED] = "redirect_failed",
	[XLB_CNT_SVC]             = "service_packets",
	[XLB_CNT_NAT_REPLY]       = "nat_replies",
	[XLB_CNT_ICMP_ERR]        = "icmp_errors_steered",
	[XLB_CNT_IP_OPTIONS]      = "ip_options",
	[XLB_CNT_FRAGMENT]        = "fragments_passed",
	[XLB_CNT_NOT_IPV4]        = "not_ipv4",
	[XLB_CNT_BAD_ETH]         = "malformed_eth",
	[XLB_CNT_BAD_IP]          = "malformed_ip",
	[XLB_CNT_BAD_IHL]         = "malformed_ihl",
	[XLB_CNT_BAD_L4]          = "malformed_l4",
	[XLB_CNT_VLAN]            = "vlan_passed",
	[XLB_CNT_OWN_TRAFFIC]     = "own_traffic_passed",
	[XLB_CNT_FP_TX]           = "fp_tx",
	[XLB_CNT_FP_REDIRECTED]   = "fp_redirected",
	[XLB_CNT_FP_DROPPED]      = "fp_dropped",
	[XLB_CNT_FP_MISS]         = "fp_misses",
	[XLB_CNT_FP_REDIRECT_FAILED] = "fp_redirect_failed",
	[XLB_CNT_FP_PUNT_TCP_FLAGS]  = "fp_punt_tcp_flags",
	[XLB_CNT_FP_PUNT_FRAGMENT]   = "fp_punt_fragment",
	[XLB_CNT_FP_PUNT_IP_OPTIONS] = "fp_punt_ip_options",
	[XLB_CNT_FP_PUNT_TOO_BIG]    = "fp_punt_too_big",
	[XLB_CNT_FP_PUNT_ODD]        = "fp_punt_odd",
	[XLB_CNT_FP_PUNT_NO_ROOM]    = "fp_punt_no_room",
	[XLB_CNT_IPV6]               = "ipv6_packets",
	[XLB_CNT_IPV6_EXT]           = "ipv6_ext_headers",
	[XLB_CNT_IPV6_FRAGMENT]      = "ipv6_fragments_passed",
	[XLB_CNT_IPV6_BAD_HDR]       = "malformed_ipv6",
	[XLB_CNT_IPV6_EXT_PASSED]    = "ipv6_ext_headers_passed",
};

static const char *const xlb_decap_cnt_names[XLB_DECAP_CNT_MAX]
	__attribute__((unused)) = {
	[XLB_DECAP_CNT_PASSED]        = "passed",
	[XLB_DECAP_CNT_DECAPPED]      = "decapsulated",
	[XLB_DECAP_CNT_DROP_OUTER]    = "drop_malformed_outer",
	[XLB_DECAP_CNT_DROP_INNER]    = "drop_malformed_inner",
	[XLB_DECAP_CNT_DROP_FRAGMENT] = "drop_outer_fragment",
	[XLB_DECAP_CNT_NOT_LOCAL]     = "not_local_passed",
	[XLB_DECAP_CNT_DECAPPED6]     = "decapsulated6",
	[XLB_DECAP_CNT_DROP_OUTER6]   = "drop_malformed_outer6",
	[XLB_DECAP_CNT_DROP_INNER6]   = "drop_malformed_inner6",
	[XLB_DECAP_CNT_NOT_LOCAL6]    = "not_local6_passed",
};
#endif

#endif /* XLB_SHARED_H */
