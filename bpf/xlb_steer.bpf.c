// SPDX-License-Identifier: GPL-2.0
/*
 * xlb_steer: the director's XDP program. It decides, per packet, whether the
 * packet belongs to xlb's userspace datapath (an AF_XDP socket on the same
 * RX queue) or to the kernel, and touches nothing else.
 *
 * Steered (bpf_redirect_map(xsks_map, xsk_base[ifindex] + rx_queue_index,
 * XDP_DROP)):
 *  - TCP/UDP whose destination (VIP, port, proto) is in "services";
 *  - TCP/UDP whose source (RIP, rport, proto) is in "nat_rs" (NAT replies),
 *    unless addressed to one of the director's own addresses
 *    ("local_addrs"): that is the director's own conversation with the
 *    server (health checks, monitoring, curl), and the kernel's;
 *  - ICMP errors (dest unreachable, time exceeded, parameter problem) whose
 *    quoted datagram was sent by a service (quoted source in "services") or
 *    was sent to a NAT real server (quoted destination in "nat_rs"; not
 *    when the error is addressed to the director itself), so that
 *    userspace can forward or translate them.
 * Passed to the kernel (XDP_PASS): everything else, including ARP, the
 * director's own traffic, ICMP echo to a VIP (the kernel answers it), and
 * malformed frames (counted per class; the kernel drops them itself).
 *
 * IPv6 (issue 14; steer6(), a subprogram reached only by EtherType 0x86dd,
 * so the IPv4 path is the same instructions as before): hop-by-hop,
 * routing (segments left 0) and destination-options headers are walked
 * past, at most XLB_IPV6_EXT_MAX, to the transport header; then the same
 * rules as IPv4 with the maps "services6", "nat_rs6" and "local_addrs6",
 * and ICMPv6 errors (destination unreachable, packet too big, time
 * exceeded, parameter problem) about a service's or a NAT real server's
 * flow. Passed and counted: fragments (any fragment header: XLB_CNT_
 * IPV6_FRAGMENT), a bad fixed header or payload length (IPV6_BAD_HDR),
 * too many or cut-short extension headers and routing headers with
 * segments left (IPV6_EXT_PASSED). Passed: ICMPv6 informational messages
 * (echo, NDP 133-137 with router advertisements, MLD), anything else.
 * The fast path covers IPv6 too, with its own map "fp_flows6" (see
 * fast_path6()).
 *
 * Fragments: a non-first IPv4 fragment carries no ports, so it cannot be
 * matched to a service; it is passed to the kernel and counted
 * (XLB_CNT_FRAGMENT). First fragments carry ports and are steered like any
 * packet. Scheduling fragments by address is left to a later step.
 * Packets with IPv4 options are steered (userspace parses options) and
 * counted (XLB_CNT_IP_OPTIONS).
 *
 * The fast path (issue 11), when fp_config[0].flags has XLB_FP_F_ENABLED:
 * a TCP/UDP frame is first looked up in "fp_flows", the flow cache
 * userspace fills with the flows it has decided; a hit that needs no
 * judgement is rewritten here (bpf/xlb_rewrite.h, the code userspace's
 * xmit functions run too) and sent, XDP_TX or bpf_redirect_map(fp_devs);
 * anything else is steered as above. See fast_path() for what a hit still
 * leaves to userspace. Its outcomes: XLB_CNT_FP_TX, XLB_CNT_FP_REDIRECTED
 * (and XLB_CNT_FP_DROPPED, which cannot happen); every other fast-path
 * counter is a reason, the packet ending in a steering outcome.
 *
 * If a steered packet finds no AF_XDP socket on its RX queue, the
 * XDP_PASS fallback of bpf_redirect_map() hands it to the kernel and
 * XLB_CNT_REDIRECT_FAILED counts it. (A failure of the redirect itself,
 * after this program returns, e.g. a full RX ring, is not visible here; the
 * socket's own drop statistics show it.)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xlb_shared.h"
#include "xlb_fp.h"
#include "xlb_rewrite.h"
#include "xlb_ip6.h"

/* <linux/icmp.h> pulls in glibc's <sys/socket.h> (through <linux/if.h>),
 * which does not build for the bpf target: the few ICMP bits, spelled out. */
#define ICMP_DEST_UNREACH	3
#define ICMP_TIME_EXCEEDED	11
#define ICMP_PARAMETERPROB	12

/* IPv6 (<linux/ipv6.h> is not included: its struct names could collide
 * with the rewrite code's). */
#define XLB_ETH_P_IPV6		0x86DD
#define ICMPV6_DEST_UNREACH	1
#define ICMPV6_PARAMPROB	4	/* 1..4: the errors about a packet */

struct steer_ip6hdr {
	__u8   vtc;		/* version (4 bits), traffic class high */
	__u8   tc_flow[3];
	__be16 payload_len;
	__u8   nexthdr;
	__u8   hop_limit;
	__be32 saddr[4];	/* words: copied into map keys 4 bytes at
				 * a time (unaligned loads are fine in XDP) */
	__be32 daddr[4];
};


#define IP_OFFSET		0x1FFF	/* fragment offset mask (host order) */
#define IP_MF			0x2000	/* more fragments (host order) */
#define TCP_FLAGS_OFF		13	/* the flags byte of the TCP header */
#define TCP_FIN			0x01
#define TCP_SYN			0x02
#define TCP_RST			0x04

struct icmphdr {
	__u8   type;
	__u8   code;
	__sum16 checksum;
	__be32 rest;
};

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, XLB_XSKS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

/* ifindex -> first xsks_map key of that interface (absent: 0). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_XSK_IFACES_MAX);
	__type(key, __u32);
	__type(value, __u32);
} xsk_base SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_SVC_MAX);
	__type(key, struct xlb_svc_key);
	__type(value, struct xlb_svc_val);
} services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_NAT_RS_MAX);
	__type(key, struct xlb_rs_key);
	__type(value, struct xlb_rs_val);
} nat_rs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_LOCAL_ADDRS_MAX);
	__type(key, __u32);
	__type(value, struct xlb_local_val);
} local_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_SVC6_MAX);
	__type(key, struct xlb_svc6_key);
	__type(value, struct xlb_svc_val);
} services6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_NAT_RS6_MAX);
	__type(key, struct xlb_rs6_key);
	__type(value, struct xlb_rs_val);
} nat_rs6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XLB_LOCAL_ADDRS6_MAX);
	__type(key, struct xlb_local6_key);
	__type(value, struct xlb_local_val);
} local_addrs6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* The fast path's flow cache (bpf/xlb_fp.h), filled by userspace; resized
 * with bpf_map__set_max_entries() before load (--fast-path-entries). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, XLB_FP_ENTRIES_DEFAULT);
	__type(key, struct xlb_fp_key);
	__type(value, struct xlb_fp_val);
} fp_flows SEC(".maps");

/* IPv6 flows (issue 14): the same cache for steer6, sized and pinned as
 * fp_flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, XLB_FP_ENTRIES_DEFAULT);
	__type(key, struct xlb_fp6_key);
	__type(value, struct xlb_fp6_val);
} fp_flows6 SEC(".maps");

/* Egress interfaces of fast-path hits: key and value the ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, XLB_FP_DEVS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} fp_devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_fp_config);
} fp_config SEC(".maps");

static __always_inline void cnt(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline int pass(__u32 why)
{
	if (why != XLB_CNT_PASSED)
		cnt(why);
	cnt(XLB_CNT_PASSED);
	return XDP_PASS;
}

static __always_inline int steer(struct xdp_md *ctx, __u32 why, int opts)
{
	__u32 ifindex = ctx->ingress_ifindex, key = ctx->rx_queue_index;
	__u32 *base = bpf_map_lookup_elem(&xsk_base, &ifindex);
	int act;

	cnt(why);
	if (opts)
		cnt(XLB_CNT_IP_OPTIONS);
	/* A queue past the interface's XSKMAP range (grown beyond
	 * XLB_XSK_QUEUES_MAX with ethtool -L while xlbd runs) has no socket;
	 * it must not reach into the next interface's range. */
	if (key >= XLB_XSK_QUEUES_MAX) {
		cnt(XLB_CNT_REDIRECT_FAILED);
		return XDP_DROP;
	}
	if (base)
		key += *base;
	/* No socket on this queue (xlbd restarting after a crash, or not
	 * serving this queue): drop, so the client retransmits, rather than
	 * hand a VIP packet to the director's kernel, which would reset it. */
	act = bpf_redirect_map(&xsks_map, key, XDP_DROP);
	/* Two known constants, not the helper's value: the fast path calls
	 * this after packet pointers are gone, and the verifier must see
	 * that it never returns FP_CONT. */
	if (act == XDP_REDIRECT) {
		cnt(XLB_CNT_REDIRECTED);
		return XDP_REDIRECT;
	}
	cnt(XLB_CNT_REDIRECT_FAILED);
	return XDP_DROP;
}

static __always_inline int is_service(__be32 addr, __be16 port, __u8 proto)
{
	struct xlb_svc_key k = {
		.addr = addr, .port = port, .proto = proto, .pad = 0,
	};

	return bpf_map_lookup_elem(&services, &k) != NULL;
}

static __always_inline int is_nat_rs(__be32 addr, __be16 port, __u8 proto)
{
	struct xlb_rs_key k = {
		.addr = addr, .port = port, .proto = proto, .pad = 0,
	};

	return bpf_map_lookup_elem(&nat_rs, &k) != NULL;
}

static __always_inline int is_local(__be32 addr)
{
	__u32 k = addr;

	return bpf_map_lookup_elem(&local_addrs, &k) != NULL;
}

/* From a NAT real server: a reply to translate, or (to the director's own
 * address) the director's own traffic. */
enum { NOT_NAT = 0, NAT_REPLY, NAT_OWN };

static __always_inline int nat_reply(__be32 saddr, __be16 sport, __u8 proto,
				     __be32 daddr)
{
	if (!is_nat_rs(saddr, sport, proto))
		return NOT_NAT;
	return is_local(daddr) ? NAT_OWN : NAT_REPLY;
}

/* ICMP error at icmp (8-byte header already bounds-checked), addressed to
 * daddr: does the quoted datagram concern a service or a NAT real server?
 * 1 yes; 0 no; NAT_OWN (2) about the director's own packet to a NAT real
 * server. */
static __always_inline int icmp_err_ours(struct icmphdr *icmp, void *data_end,
					 __be32 daddr, int *malformed)
{
	struct iphdr *in = (void *)(icmp + 1);
	__u32 ihl_len;
	__be16 *ports;

	if ((void *)(in + 1) > data_end)
		goto bad;
	ihl_len = in->ihl * 4;
	if (in->version != 4 || ihl_len < sizeof(*in))
		goto bad;
	if (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP)
		return 0;
	/* RFC 792: the error quotes the IP header plus 8 bytes; ports are
	 * the first 4. */
	ports = (void *)in + ihl_len;
	if ((void *)(ports + 2) > data_end)
		goto bad;
	/* The quoted packet went from the VIP (a reply of a service) ... */
	if (is_service(in->saddr, ports[0], in->protocol))
		return 1;
	/* ... or towards a NAT real server (the client's packet, after our
	 * translation, errored on the way to the RS; the error goes to the
	 * client). One addressed to the director is about its own packet. */
	if (is_nat_rs(in->daddr, ports[1], in->protocol))
		return is_local(daddr) ? NAT_OWN : 1;
	return 0;
bad:
	*malformed = 1;
	return 0;
}

/* ---- the fast path (issue 11) ---- */

/* fast_path() did not send the frame: it takes the AF_XDP path. */
#define FP_CONT		(-1)

static __always_inline int fp_enabled(void)
{
	__u32 k = 0;
	struct xlb_fp_config *c = bpf_map_lookup_elem(&fp_config, &k);

	return c && (c->flags & XLB_FP_F_ENABLED);
}

static __always_inline int fp_punt(__u32 why)
{
	cnt(why);
	return FP_CONT;
}

/*
 * A TCP/UDP frame (eth .. l4 header bounds-checked by the caller, no VLAN
 * tag, not a non-first fragment): looked up in fp_flows; a hit that is a
 * plain packet of an established flow is rewritten by the entry (the code
 * of bpf/xlb_rewrite.h, which userspace's xmit functions run too),
 * counted in it and sent: XDP_TX out of the interface it came in, else
 * bpf_redirect_map() to fp_devs. Returns that action, or FP_CONT with
 * nothing changed (miss, or a packet for userspace's judgement).
 *
 * What a hit still sends to userspace, and why (issue 11 item 2):
 *  - SYN, FIN, RST: they change the connection's state, which userspace
 *    tracks (and which removes the entry);
 *  - IPv4 options, first fragments: userspace parses options, and a
 *    fragmented datagram is userspace's to schedule and count;
 *  - over fp_val.mtu once rewritten (TUN: +20): userspace answers
 *    frag-needed (DF) or cuts outer fragments (no DF);
 *  - what userspace would refuse (TTL 0, a datagram longer than the
 *    frame, a TCP data offset or UDP length that does not fit): it keeps
 *    its drop counters;
 *  - an egress ifindex missing from fp_devs, or a TUN frame that cannot
 *    grow: userspace sends it instead.
 * (VLAN-tagged frames and ICMP errors never get here: see xlb_steer.)
 */
static __always_inline int fast_path(struct xdp_md *ctx, struct ethhdr *eth,
				     struct iphdr *iph, void *l4,
				     void *data_end, __u8 proto)
{
	__u32 len = (__u32)((long)data_end - (long)eth);
	struct xlb_fp_key k = {};
	struct xlb_fp_val *v;
	__be16 *ports = l4;
	__u32 tot, l4_len, out_len;
	__u8 op;
	int act;

	/* The caller checked at least the UDP header (8 bytes). */
	if ((void *)(ports + 2) > data_end)
		return FP_CONT;
	k.saddr = iph->saddr;
	k.daddr = iph->daddr;
	k.sport = ports[0];
	k.dport = ports[1];
	k.proto = proto;
	v = bpf_map_lookup_elem(&fp_flows, &k);
	if (!v)
		return fp_punt(XLB_CNT_FP_MISS);
	op = v->op;
	if (op == XLB_FP_NONE || op > XLB_FP_TUN)
		return fp_punt(XLB_CNT_FP_MISS);

	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return FP_CONT;
		if (((__u8 *)th)[TCP_FLAGS_OFF] & (TCP_SYN | TCP_FIN | TCP_RST))
			return fp_punt(XLB_CNT_FP_PUNT_TCP_FLAGS);
	}
	if (iph->frag_off & bpf_htons(IP_MF))
		return fp_punt(XLB_CNT_FP_PUNT_FRAGMENT);
	if (iph->ihl != 5)
		return fp_punt(XLB_CNT_FP_PUNT_IP_OPTIONS);
	tot = bpf_ntohs(iph->tot_len);
	if (iph->ttl == 0 || tot < sizeof(*iph) || tot > len - sizeof(*eth))
		return fp_punt(XLB_CNT_FP_PUNT_ODD);
	l4_len = tot - sizeof(*iph);
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		__u32 doff;

		if ((void *)(th + 1) > data_end)
			return FP_CONT;
		doff = th->doff * 4;
		if (doff < sizeof(*th) || doff > l4_len)
			return fp_punt(XLB_CNT_FP_PUNT_ODD);
	} else {
		struct udphdr *uh = l4;
		__u32 ulen;

		if ((void *)(uh + 1) > data_end)
			return FP_CONT;
		ulen = bpf_ntohs(uh->len);
		if (ulen < sizeof(*uh) || ulen > l4_len)
			return fp_punt(XLB_CNT_FP_PUNT_ODD);
	}
	out_len = tot + (op == XLB_FP_TUN ? XLB_RW_IPIP_HLEN : 0);
	if (v->mtu && out_len > v->mtu)
		return fp_punt(XLB_CNT_FP_PUNT_TOO_BIG);

	/* The egress first: a device missing from fp_devs leaves the frame
	 * untouched for userspace. (The redirect target is kept per CPU
	 * until the program returns; rewriting after it is fine.) */
	if (v->ifindex == ctx->ingress_ifindex) {
		act = XDP_TX;
	} else {
		act = bpf_redirect_map(&fp_devs, v->ifindex, XDP_PASS);
		if (act != XDP_REDIRECT)
			return fp_punt(XLB_CNT_FP_REDIRECT_FAILED);
	}

	switch (op) {
	case XLB_FP_DR:
		break;
	case XLB_FP_NAT_IN:
		xlb_rw_nat_in((__u8 *)iph, l4, l4_len, proto, v->addr, v->port);
		break;
	case XLB_FP_NAT_OUT:
		xlb_rw_nat_out((__u8 *)iph, l4, l4_len, proto, v->addr,
			       v->port);
		break;
	default: {	/* XLB_FP_TUN */
		__u32 pad = len - sizeof(*eth) - tot;
		void *data;

		/* As userspace: the Ethernet padding goes, the outer header
		 * goes between the Ethernet header and the datagram. These
		 * helpers invalidate every packet pointer, so a failure can
		 * no longer fall back to the caller's parse: the frame (a
		 * service's, as every TUN entry is) is steered from here. */
		if (pad && bpf_xdp_adjust_tail(ctx, -(int)pad)) {
			cnt(XLB_CNT_FP_PUNT_NO_ROOM);
			return steer(ctx, XLB_CNT_SVC, 0);
		}
		if (bpf_xdp_adjust_head(ctx, -XLB_RW_IPIP_HLEN)) {
			cnt(XLB_CNT_FP_PUNT_NO_ROOM);
			return steer(ctx, XLB_CNT_SVC, 0);
		}
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + sizeof(*eth) + 2 * sizeof(*iph) > data_end) {
			cnt(XLB_CNT_FP_DROPPED);
			return XDP_DROP;
		}
		eth = data;
		xlb_rw_tun_encap(data + sizeof(*eth),
				 data + sizeof(*eth) + XLB_RW_IPIP_HLEN,
				 v->ttl, v->tun_saddr, v->addr);
		eth->h_proto = bpf_htons(ETH_P_IP);
		break;
	}
	}
	xlb_rw_macs((__u8 *)eth, v->dmac, v->smac);

	/* This CPU's copy: no atomics. The coarse clock (a tick's
	 * resolution) is plenty for idle timeouts of seconds. */
	v->pkts++;
	v->bytes += sizeof(*eth) + tot;	/* padding not counted */
	v->last_ns = bpf_ktime_get_coarse_ns();
	cnt(act == XDP_TX ? XLB_CNT_FP_TX : XLB_CNT_FP_REDIRECTED);
	return act;
}


/* ---- IPv6 (issue 14) ---- */

static __always_inline int is_service6(const __be32 *addr, __be16 port,
				       __u8 proto)
{
	struct xlb_svc6_key k = { .port = port, .proto = proto, .pad = 0 };

	__builtin_memcpy(k.addr, addr, sizeof(k.addr));
	return bpf_map_lookup_elem(&services6, &k) != NULL;
}

static __always_inline int is_nat_rs6(const __be32 *addr, __be16 port,
				      __u8 proto)
{
	struct xlb_rs6_key k = { .port = port, .proto = proto, .pad = 0 };

	__builtin_memcpy(k.addr, addr, sizeof(k.addr));
	return bpf_map_lookup_elem(&nat_rs6, &k) != NULL;
}

static __always_inline int is_local6(const __be32 *addr)
{
	struct xlb_local6_key k;

	__builtin_memcpy(k.addr, addr, sizeof(k.addr));
	return bpf_map_lookup_elem(&local_addrs6, &k) != NULL;
}

/* A passed IPv6 frame: "not IPv4" as it has always been counted, plus
 * why (when there is a reason). */
static __always_inline int pass6(__u32 why)
{
	cnt(XLB_CNT_NOT_IPV4);
	return pass(why);
}

static __always_inline int steer6_to(struct xdp_md *ctx, __u32 why, int n_ext)
{
	if (n_ext)
		cnt(XLB_CNT_IPV6_EXT);
	return steer(ctx, why, 0);
}

/*
 * An ICMPv6 error at off (8 bytes bounds-checked), addressed to daddr:
 * does the quoted packet concern a service or a NAT real server? As
 * icmp_err_ours(): 1 yes, 0 no, NAT_OWN about the director's own packet;
 * *why says why a "no" is to be counted (a short quote, a fragment).
 */
static __always_inline int icmp6_err_ours(void *data, void *data_end,
					  __u32 off, const __be32 *daddr,
					  __u32 *why)
{
	struct steer_ip6hdr *in = data + off + 8;
	__u32 ioff = off + 8 + sizeof(*in);
	__be16 *ports;
	int n_ext, r;
	__u8 nh;

	if ((void *)(in + 1) > data_end || (in->vtc >> 4) != 6) {
		*why = XLB_CNT_BAD_L4;
		return 0;
	}
	nh = in->nexthdr;
	r = xlb_ip6_skip_ext(data, data_end, &ioff, &nh, &n_ext);
	if (r == XLB_IP6_FRAG) {
		*why = XLB_CNT_IPV6_FRAGMENT;
		return 0;
	}
	if (r == XLB_IP6_EXT_BAD) {
		*why = XLB_CNT_BAD_L4;
		return 0;
	}
	if (r != XLB_IP6_L4 || (nh != IPPROTO_TCP && nh != IPPROTO_UDP))
		return 0;
	/* RFC 4443 quotes as much of the packet as fits in 1280 bytes: the
	 * ports are there unless the quote was cut on the way. */
	ports = data + ioff;
	if ((void *)(ports + 2) > data_end) {
		*why = XLB_CNT_BAD_L4;
		return 0;
	}
	if (is_service6(in->saddr, ports[0], nh))
		return 1;
	if (is_nat_rs6(in->daddr, ports[1], nh))
		return is_local6(daddr) ? NAT_OWN : 1;
	return 0;
}

/*
 * The fast path for IPv6 (issue 14): fast_path()'s rules over fp_flows6,
 * for a TCP/UDP frame whose transport header (at off, the UDP header's 8
 * bytes bounds-checked by the caller) follows n_ext extension headers.
 * What a hit still leaves to userspace: SYN, FIN, RST; any extension
 * header (userspace walks them: counted as IPv4's options); hop limit 0
 * or 1, a payload length past the frame, a TCP data offset or UDP length
 * that does not fit, a UDP checksum of zero (userspace drops those); over
 * fp6_val.mtu once rewritten (TUN6: +40; "Packet Too Big" is userspace's,
 * IPv6 is never fragmented); an egress missing from fp_devs; a TUN6 frame
 * that cannot grow. The hop limit is left as it is, as the TTL is on
 * IPv4 and on both userspace paths (LVS-style: the director is not a
 * router hop). No IP header checksum to keep.
 */
static __always_inline int fast_path6(struct xdp_md *ctx, void *data,
				      void *data_end, __u32 off, int n_ext,
				      __u8 proto)
{
	struct ethhdr *eth = data;
	struct steer_ip6hdr *ip6 = data + sizeof(*eth);
	__u32 len = (__u32)((long)data_end - (long)data);
	__be16 *ports = data + off;
	struct xlb_fp6_key k = {};
	struct xlb_fp6_val *v;
	__u32 plen, out_len, fl = 0;
	__u8 *l4;
	__u8 op;
	int act;

	if ((void *)(ip6 + 1) > data_end || (void *)(ports + 2) > data_end)
		return FP_CONT;
	__builtin_memcpy(k.saddr, ip6->saddr, sizeof(k.saddr));
	__builtin_memcpy(k.daddr, ip6->daddr, sizeof(k.daddr));
	k.sport = ports[0];
	k.dport = ports[1];
	k.proto = proto;
	v = bpf_map_lookup_elem(&fp_flows6, &k);
	if (!v)
		return fp_punt(XLB_CNT_FP_MISS);
	op = v->op;
	if (op == XLB_FP_NONE || op > XLB_FP_TUN)
		return fp_punt(XLB_CNT_FP_MISS);

	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)ports;

		if ((void *)(th + 1) > data_end)
			return FP_CONT;
		if (((__u8 *)th)[TCP_FLAGS_OFF] & (TCP_SYN | TCP_FIN | TCP_RST))
			return fp_punt(XLB_CNT_FP_PUNT_TCP_FLAGS);
	}
	if (n_ext)
		return fp_punt(XLB_CNT_FP_PUNT_IP_OPTIONS);
	/* No extension header: the transport header is right after the
	 * fixed one, at constant offsets the verifier follows. */
	l4 = (void *)(ip6 + 1);
	plen = bpf_ntohs(ip6->payload_len);
	if (ip6->hop_limit <= 1 ||
	    plen > len - sizeof(*eth) - sizeof(*ip6))
		return fp_punt(XLB_CNT_FP_PUNT_ODD);
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)l4;
		__u32 doff;

		if ((void *)(th + 1) > data_end)
			return FP_CONT;
		doff = th->doff * 4;
		if (doff < sizeof(*th) || doff > plen)
			return fp_punt(XLB_CNT_FP_PUNT_ODD);
	} else {
		struct udphdr *uh = (void *)l4;
		__u32 ulen;

		if ((void *)(uh + 1) > data_end)
			return FP_CONT;
		ulen = bpf_ntohs(uh->len);
		/* RFC 8200 8.1: UDP over IPv6 carries a checksum; a zero
		 * one is userspace's to drop (udp6_csum_zero). */
		if (ulen < sizeof(*uh) || ulen > plen || !uh->check)
			return fp_punt(XLB_CNT_FP_PUNT_ODD);
	}
	out_len = sizeof(*ip6) + plen +
		  (op == XLB_FP_TUN ? XLB_RW_IP6_HLEN : 0);
	if (v->mtu && out_len > v->mtu)
		return fp_punt(XLB_CNT_FP_PUNT_TOO_BIG);

	if (v->ifindex == ctx->ingress_ifindex) {
		act = XDP_TX;
	} else {
		act = bpf_redirect_map(&fp_devs, v->ifindex, XDP_PASS);
		if (act != XDP_REDIRECT)
			return fp_punt(XLB_CNT_FP_REDIRECT_FAILED);
	}

	switch (op) {
	case XLB_FP_DR:
		break;
	case XLB_FP_NAT_IN:
		xlb_rw_nat6_in((__u8 *)ip6, l4, plen, proto, v->addr, v->port);
		break;
	case XLB_FP_NAT_OUT:
		xlb_rw_nat6_out((__u8 *)ip6, l4, plen, proto, v->addr, v->port);
		break;
	default: {	/* XLB_FP_TUN: TUN6, ip6ip6 */
		__u32 pad = len - sizeof(*eth) - sizeof(*ip6) - plen;

		/* The label userspace derives (xlb_rw_flowlabel() of the
		 * inner addresses, protocol and ports), computed while the
		 * packet pointers are good; the inner label wins when set. */
		fl = xlb_rw_flowlabel((__u8 *)ip6->saddr, (__u8 *)ip6->daddr,
				      16, proto, xlb_rw_load32(l4));
		/* As fast_path(): from here a failure cannot fall back to
		 * the caller's parse, the frame is steered. */
		if (pad && bpf_xdp_adjust_tail(ctx, -(int)pad)) {
			cnt(XLB_CNT_FP_PUNT_NO_ROOM);
			return steer6_to(ctx, XLB_CNT_SVC, 0);
		}
		if (bpf_xdp_adjust_head(ctx, -XLB_RW_IP6_HLEN)) {
			cnt(XLB_CNT_FP_PUNT_NO_ROOM);
			return steer6_to(ctx, XLB_CNT_SVC, 0);
		}
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + sizeof(*eth) + 2 * sizeof(*ip6) > data_end) {
			cnt(XLB_CNT_FP_DROPPED);
			return XDP_DROP;
		}
		eth = data;
		xlb_rw_tun6_encap(data + sizeof(*eth),
				  data + sizeof(*eth) + XLB_RW_IP6_HLEN, fl,
				  v->hop_limit, v->tun_saddr, v->addr);
		eth->h_proto = bpf_htons(XLB_ETH_P_IPV6);
		break;
	}
	}
	xlb_rw_macs((__u8 *)eth, v->dmac, v->smac);

	v->pkts++;
	v->bytes += sizeof(*eth) + sizeof(*ip6) + plen;	/* no padding */
	v->last_ns = bpf_ktime_get_coarse_ns();
	cnt(act == XDP_TX ? XLB_CNT_FP_TX : XLB_CNT_FP_REDIRECTED);
	return act;
}

/*
 * An untagged IPv6 frame. A subprogram of its own (not inlined), so that
 * the IPv4 path of xlb_steer keeps its instructions and the verifier
 * walks this one once.
 */
static __noinline int steer6(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct steer_ip6hdr *ip6 = data + sizeof(struct ethhdr);
	__u32 off = sizeof(struct ethhdr) + sizeof(*ip6), plen, why;
	int n_ext = 0, r, fp;
	__u8 nh;

	cnt(XLB_CNT_IPV6);
	if ((void *)(ip6 + 1) > data_end || (ip6->vtc >> 4) != 6)
		return pass6(XLB_CNT_IPV6_BAD_HDR);
	/* A payload past the frame is cut short; 0 is a jumbogram (or
	 * garbage), which never comes over Ethernet: the kernel's. */
	plen = bpf_ntohs(ip6->payload_len);
	if (!plen || (long)off + plen > (long)(data_end - data))
		return pass6(XLB_CNT_IPV6_BAD_HDR);
	nh = ip6->nexthdr;
	r = xlb_ip6_skip_ext(data, data_end, &off, &nh, &n_ext);
	if (r == XLB_IP6_FRAG)
		return pass6(XLB_CNT_IPV6_FRAGMENT);
	if (r != XLB_IP6_L4)
		return pass6(XLB_CNT_IPV6_EXT_PASSED);
	fp = (nh == IPPROTO_TCP || nh == IPPROTO_UDP) && fp_enabled();

	switch (nh) {
	case IPPROTO_TCP: {
		struct tcphdr *th = data + off;

		if ((void *)(th + 1) > data_end)
			return pass6(XLB_CNT_BAD_L4);
		if (fp) {
			r = fast_path6(ctx, data, data_end, off, n_ext,
				       IPPROTO_TCP);
			if (r != FP_CONT)
				return r;
		}
		if (is_service6(ip6->daddr, th->dest, IPPROTO_TCP))
			return steer6_to(ctx, XLB_CNT_SVC, n_ext);
		if (is_nat_rs6(ip6->saddr, th->source, IPPROTO_TCP)) {
			if (is_local6(ip6->daddr))
				return pass6(XLB_CNT_OWN_TRAFFIC);
			return steer6_to(ctx, XLB_CNT_NAT_REPLY, n_ext);
		}
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = data + off;

		if ((void *)(uh + 1) > data_end)
			return pass6(XLB_CNT_BAD_L4);
		if (fp) {
			r = fast_path6(ctx, data, data_end, off, n_ext,
				       IPPROTO_UDP);
			if (r != FP_CONT)
				return r;
		}
		if (is_service6(ip6->daddr, uh->dest, IPPROTO_UDP))
			return steer6_to(ctx, XLB_CNT_SVC, n_ext);
		if (is_nat_rs6(ip6->saddr, uh->source, IPPROTO_UDP)) {
			if (is_local6(ip6->daddr))
				return pass6(XLB_CNT_OWN_TRAFFIC);
			return steer6_to(ctx, XLB_CNT_NAT_REPLY, n_ext);
		}
		break;
	}
	case XLB_IP6_NH_ICMPV6: {
		struct icmphdr *icmp = data + off;

		if ((void *)(icmp + 1) > data_end)
			return pass6(XLB_CNT_BAD_L4);
		/* Types 128 and up are informational (echo, NDP 133-137,
		 * router advertisements, MLD): always the kernel's. */
		if (icmp->type < ICMPV6_DEST_UNREACH ||
		    icmp->type > ICMPV6_PARAMPROB)
			break;
		why = XLB_CNT_PASSED;
		r = icmp6_err_ours(data, data_end, off, ip6->daddr, &why);
		if (r == NAT_OWN)
			return pass6(XLB_CNT_OWN_TRAFFIC);
		if (r)
			return steer6_to(ctx, XLB_CNT_ICMP_ERR, n_ext);
		return pass6(why);
	}
	default:
		break;
	}
	return pass6(XLB_CNT_PASSED);
}

SEC("xdp")
int xlb_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph;
	void *l4;
	__u16 h_proto;
	__u32 ihl_len;
	int opts, malformed = 0, r, fp;

	if ((void *)(eth + 1) > data_end)
		return pass(XLB_CNT_BAD_ETH);
	h_proto = eth->h_proto;
	iph = (void *)(eth + 1);
	/* 802.1Q-tagged frames are the kernel's (its VLAN devices), never
	 * steered: xlb's next hops know nothing of VLANs, so a tagged frame
	 * could be sent into another L2 domain, or with a tag the next hop
	 * does not expect. To balance a VLAN, serve its VLAN device.
	 * 802.1ad (QinQ) frames are not IPv4 to this program either. */
	if (h_proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return pass(XLB_CNT_BAD_ETH);
		return pass(XLB_CNT_VLAN);
	}
	if (h_proto != bpf_htons(ETH_P_IP)) {
		if (h_proto == bpf_htons(XLB_ETH_P_IPV6))
			return steer6(ctx);
		return pass(XLB_CNT_NOT_IPV4);
	}

	if ((void *)(iph + 1) > data_end)
		return pass(XLB_CNT_BAD_IP);
	ihl_len = iph->ihl * 4;
	if (iph->version != 4 || ihl_len < sizeof(*iph) ||
	    bpf_ntohs(iph->tot_len) < ihl_len)
		return pass(XLB_CNT_BAD_IHL);
	if ((void *)iph + ihl_len > data_end)
		return pass(XLB_CNT_BAD_IP);
	if (iph->frag_off & bpf_htons(IP_OFFSET))
		return pass(XLB_CNT_FRAGMENT);
	opts = ihl_len > sizeof(*iph);
	l4 = (void *)iph + ihl_len;
	fp = (iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP) &&
	     fp_enabled();

	switch (iph->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return pass(XLB_CNT_BAD_L4);
		if (fp) {
			r = fast_path(ctx, eth, iph, l4, data_end, IPPROTO_TCP);
			if (r != FP_CONT)
				return r;
		}
		if (is_service(iph->daddr, th->dest, IPPROTO_TCP))
			return steer(ctx, XLB_CNT_SVC, opts);
		r = nat_reply(iph->saddr, th->source, IPPROTO_TCP, iph->daddr);
		if (r == NAT_REPLY)
			return steer(ctx, XLB_CNT_NAT_REPLY, opts);
		if (r == NAT_OWN)
			return pass(XLB_CNT_OWN_TRAFFIC);
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return pass(XLB_CNT_BAD_L4);
		if (fp) {
			r = fast_path(ctx, eth, iph, l4, data_end, IPPROTO_UDP);
			if (r != FP_CONT)
				return r;
		}
		if (is_service(iph->daddr, uh->dest, IPPROTO_UDP))
			return steer(ctx, XLB_CNT_SVC, opts);
		r = nat_reply(iph->saddr, uh->source, IPPROTO_UDP, iph->daddr);
		if (r == NAT_REPLY)
			return steer(ctx, XLB_CNT_NAT_REPLY, opts);
		if (r == NAT_OWN)
			return pass(XLB_CNT_OWN_TRAFFIC);
		break;
	}
	case IPPROTO_ICMP: {
		struct icmphdr *icmp = l4;

		if ((void *)(icmp + 1) > data_end)
			return pass(XLB_CNT_BAD_L4);
		if (icmp->type != ICMP_DEST_UNREACH &&
		    icmp->type != ICMP_TIME_EXCEEDED &&
		    icmp->type != ICMP_PARAMETERPROB)
			break;	/* echo to a VIP and the like: the kernel's */
		r = icmp_err_ours(icmp, data_end, iph->daddr, &malformed);
		if (r == NAT_OWN)
			return pass(XLB_CNT_OWN_TRAFFIC);
		if (r)
			return steer(ctx, XLB_CNT_ICMP_ERR, opts);
		if (malformed)
			return pass(XLB_CNT_BAD_L4);
		break;
	}
	default:
		break;
	}
	return pass(XLB_CNT_PASSED);
}

char LICENSE[] SEC("license") = "GPL";
