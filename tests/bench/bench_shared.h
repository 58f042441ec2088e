/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Structs shared by the benchmark's XDP programs (gen.bpf.c, sink.bpf.c,
 * xdp_fwd.bpf.c) and their userspace drivers (pktgen.c, sinkctl.c). Plain
 * C with <linux/types.h> types only, so both clang -target bpf and gcc
 * compile it; fixed layouts, no padding holes.
 *
 * Each program has exactly one read-only global, its config, so the
 * program's .rodata section is that struct and userspace sets it with
 * bpf_map__set_initial_value() before loading.
 */
#ifndef XLB_BENCH_SHARED_H
#define XLB_BENCH_SHARED_H

#include <linux/types.h>

/* What gen.bpf.c writes. */
enum xlb_bench_traffic {
	XLB_BENCH_UDP = 0,	/* UDP datagram */
	XLB_BENCH_SYN = 1,	/* TCP SYN */
	XLB_BENCH_ACK = 2,	/* TCP ACK (the first N packets of N flows are SYNs) */
};

/* Every generated frame is 64 bytes from the Ethernet header on (UDP: 22
 * bytes of zero payload; TCP: 10 bytes of Ethernet padding after the
 * 40-byte IP packet). */
#define XLB_BENCH_FRAME_LEN	64
/* IPv6 frames: the IPv4 frames' headers with the 20 bytes longer IPv6
 * header, without Ethernet padding: TCP 14 + 40 + 20 bytes, UDP 14 + 40 + 8
 * plus 12 bytes of zero payload. */
#define XLB_BENCH_FRAME_LEN6	74

/*
 * Flow number f (0 <= f < flows; with flows == 0 every packet is a new flow,
 * f = the packet's sequence number) maps to
 *   source port    = sport_base + f % XLB_BENCH_PORTS
 *   source address = saddr_base + (f / XLB_BENCH_PORTS) % XLB_BENCH_ADDRS
 * so 100,000 flows need 4 source addresses and "all new" cycles through
 * 2^30 distinct tuples before repeating. (n is the frame's sequence
 * number across all generator threads; see lanes.)
 */
#define XLB_BENCH_PORTS		32768
#define XLB_BENCH_ADDRS		32768

struct xlb_bench_gen_cfg {
	__u8  dmac[6];
	__u8  smac[6];
	__u32 saddr_base;	/* host order */
	__u32 daddr;		/* host order */
	__u32 flows;		/* 0: every packet a new flow */
	__u16 sport_base;
	__u16 dport;
	__u8  traffic;		/* enum xlb_bench_traffic */
	__u8  ttl;
	/* Generator threads (0 means 1), one per CPU: CPU c's frames are
	 * flow numbers n * lanes + c % lanes, n counting per CPU, so the
	 * threads never share a counter and together cover every flow. */
	__u8  lanes;
	/* 1: IPv6 frames (XLB_BENCH_FRAME_LEN6 bytes) from saddr6/daddr6.
	 * Flow f's source is saddr6 with its last 32 bits replaced by
	 * saddr_base + (f / XLB_BENCH_PORTS) % XLB_BENCH_ADDRS (so saddr_base
	 * holds saddr6's last 32 bits, host order); daddr is unused. */
	__u8  ipv6;
	__u8  saddr6[16];
	__u8  daddr6[16];
};

/* Per-CPU counters of sink.bpf.c ("counters", PERCPU_ARRAY). */
enum xlb_bench_sink_cnt {
	XLB_SINK_PKTS = 0,	/* IPv4/IPv6 frames to this interface's MAC: dropped, counted */
	XLB_SINK_BYTES,		/* their bytes */
	XLB_SINK_OTHER_MAC,	/* IPv4/IPv6 frames to another MAC: dropped (a host would too) */
	XLB_SINK_PASSED,	/* ARP, ICMPv6, IPv6 hop-by-hop (MLD), the rest: to the kernel */
	XLB_SINK_N,
};

struct xlb_bench_sink_cfg {
	__u8 mac[6];		/* the sink interface's own MAC */
	__u8 pad[2];
};

/* xdp_fwd.bpf.c: everything IPv4, and IPv6 but ICMPv6, on the ingress
 * interface goes to ifindex with these MACs; the rest (ARP, neighbour
 * discovery) to the kernel. */
struct xlb_bench_fwd_cfg {
	__u32 ifindex;		/* egress */
	__u8  smac[6];		/* egress interface's MAC */
	__u8  dmac[6];		/* next hop's MAC */
};

#endif
