/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fast path's flow cache: the maps the steering program reads and the
 * userspace datapath fills (issue 11). Plain C for both compilers, fixed
 * layouts, no padding holes, network byte order for addresses and ports.
 *
 * Userspace is the authority over every connection: it installs an entry
 * once it has decided a flow (UDP: its first packet forwarded; TCP:
 * ESTABLISHED) and removes or rewrites it when the connection closes,
 * times out, loses its server or its next hop changes. xlb_steer looks
 * every TCP/UDP frame to a service (or from a NAT real server) up in
 * "fp_flows" first; a hit with nothing that needs judgement (SYN, FIN,
 * RST, IP options, fragments, frames over fp_val.mtu) is rewritten with
 * the shared rewrite code and sent (XDP_TX when ifindex is the ingress
 * interface, bpf_redirect_map(&fp_devs, ifindex) otherwise); anything else
 * takes the AF_XDP path as before.
 *
 * Layout rules: fields are only ever appended to struct xlb_fp_val; the
 * key stays 16 bytes. IPv6 flows have their own map, "fp_flows6" (below).
 */
#ifndef XLB_FP_H
#define XLB_FP_H

#include <linux/types.h>

/* Key of "fp_flows": the tuple as the frame arrives at the director.
 * DR/TUN/NAT client side: client -> VIP:vport. NAT reply side: RIP:rport
 * -> client. */
struct xlb_fp_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8  proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	__u8  pad[3];		/* must be zero: part of the hash key */
};

/* What a hit does (fp_val.op). */
enum xlb_fp_op {
	XLB_FP_NONE = 0,	/* never installed: treated as a miss */
	XLB_FP_DR,		/* MACs rewritten */
	XLB_FP_NAT_IN,		/* daddr:dport -> addr:port, MACs */
	XLB_FP_NAT_OUT,		/* saddr:sport -> addr:port, MACs */
	XLB_FP_TUN,		/* IPv4-in-IPv4: tun_saddr -> addr, MACs */
};

/*
 * Value of "fp_flows" (BPF_MAP_TYPE_LRU_PERCPU_HASH: userspace writes the
 * same decision into every CPU's copy; the counters below are that CPU's).
 */
struct xlb_fp_val {
	/* The decision: written by userspace only. */
	__u8  op;		/* enum xlb_fp_op */
	__u8  ttl;		/* TUN outer TTL (0: XLB_TUN_TTL_DEFAULT) */
	__u16 mtu;		/* egress MTU, L3 bytes: a bigger frame is a
				 * miss (TUN frag-needed, fragmentation) */
	__u32 ifindex;		/* egress interface */
	__u8  dmac[6];		/* next hop */
	__u8  smac[6];		/* the director's egress MAC */
	__u32 addr;		/* NAT_IN: RIP; NAT_OUT: VIP; TUN: outer daddr */
	__u16 port;		/* NAT_IN: rport; NAT_OUT: vport */
	__u16 pad;
	__u32 tun_saddr;	/* TUN: outer saddr */
	__u32 gen;		/* userspace's: which install wrote it */
	__u32 flags;		/* none defined yet, write 0 */
	/* Written by xlb_steer on each hit, per CPU. */
	__u64 pkts;
	__u64 bytes;		/* frame bytes as received, without Ethernet
				 * padding: 14 + IPv4 total length (so
				 * bytes - 14 x pkts is the IP bytes) */
	__u64 last_ns;		/* the last hit, CLOCK_MONOTONIC_COARSE ns
				 * (bpf_ktime_get_coarse_ns(): at most a tick
				 * behind CLOCK_MONOTONIC, 20 ns a packet
				 * cheaper than bpf_ktime_get_ns()) */
};

/*
 * IPv6 (issue 14): "fp_flows6", a map of its own beside fp_flows (whose
 * key and value never change), filled and reconciled exactly as fp_flows
 * is, looked up by steer6 for TCP/UDP without extension headers. The ops
 * are enum xlb_fp_op's: DR (MACs), NAT_IN / NAT_OUT (NAT66: address and
 * port, the TCP/UDP checksum updated over the pseudo-header), TUN (TUN6:
 * a 40-byte ip6ip6 outer header, tun_saddr -> addr). Same rules: pad zero,
 * fields only appended to the value.
 */
struct xlb_fp6_key {
	__u8  saddr[16] __attribute__((aligned(4)));
	__u8  daddr[16];
	__u16 sport;
	__u16 dport;
	__u8  proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	__u8  pad[3];		/* must be zero: part of the hash key */
};

struct xlb_fp6_val {
	/* The decision: written by userspace only. */
	__u8  op;		/* enum xlb_fp_op */
	__u8  hop_limit;	/* TUN6 outer hop limit (0: XLB_TUN_TTL_DEFAULT) */
	__u16 mtu;		/* egress MTU, L3 bytes (TUN6: +40 counted) */
	__u32 ifindex;		/* egress interface */
	__u8  dmac[6];		/* next hop */
	__u8  smac[6];		/* the director's egress MAC */
	__u8  addr[16];		/* NAT_IN: RIP; NAT_OUT: VIP; TUN: outer daddr */
	__u16 port;		/* NAT_IN: rport; NAT_OUT: vport */
	__u16 pad;
	__u8  tun_saddr[16];	/* TUN: outer saddr */
	__u32 gen;		/* userspace's: which install wrote it */
	__u32 flags;		/* none defined yet, write 0 */
	/* Written by xlb_steer on each hit, per CPU (as xlb_fp_val's;
	 * bytes: 14 + 40 + payload length). */
	__u64 pkts;
	__u64 bytes;
	__u64 last_ns;
};

#define XLB_FP_ENTRIES_DEFAULT	65536	/* --fast-path-entries */
#define XLB_FP_DEVS_MAX		64	/* "fp_devs" DEVMAP_HASH, by ifindex */

/* "fp_config" (ARRAY, one entry): flags. */
#define XLB_FP_F_ENABLED	0x1	/* --fast-path on */

struct xlb_fp_config {
	__u32 flags;
};

#ifndef __bpf__
_Static_assert(sizeof(struct xlb_fp_key) == 16, "xlb_fp_key layout");
_Static_assert(sizeof(struct xlb_fp_val) == 64, "xlb_fp_val layout");
_Static_assert(sizeof(struct xlb_fp6_key) == 40, "xlb_fp6_key layout");
_Static_assert(sizeof(struct xlb_fp6_val) == 88, "xlb_fp6_val layout");
#endif

#endif /* XLB_FP_H */
