// SPDX-License-Identifier: GPL-2.0
/*
 * xlb_decap: IP-in-IP decapsulation for TUN-mode real servers whose kernel
 * has no ipip device. Attach it to the interface the director's tunnelled
 * packets arrive on:
 *
 *   ip link set dev DEV xdp obj xlb_decap.bpf.o sec xdp
 *   xdp-loader load DEV xlb_decap.bpf.o
 *
 * For an IPv4 packet of protocol 4 it strips the outer IPv4 header (IHL*4
 * bytes, options included), keeps the Ethernet header and a VLAN tag if
 * there is one, and passes the inner packet, byte for byte as the director
 * sent it, up the stack (the real server then answers the client directly,
 * as in DR). Nothing in the inner packet is changed: no TTL, TOS or ECN
 * update, as the inner packet was untouched by the director.
 *
 * Outcomes, each counted in decap_counters (enum xlb_decap_cnt):
 *  - not IPv4, or IPv4 of another protocol: XDP_PASS, untouched;
 *  - protocol 4 with a malformed outer header (bad version/IHL, truncated
 *    options or datagram): XDP_DROP; with a malformed inner IPv4 header
 *    (short, bad version/IHL, longer than the outer payload): XDP_DROP;
 *  - protocol 4 outer fragment: XDP_DROP (one fragment holds an incomplete
 *    inner packet, and a kernel without ipip could not use the reassembled
 *    one either); the director sends DF-sized packets and ICMP "fragmentation
 *    needed" to the client instead;
 *  - otherwise decapsulated and XDP_PASS.
 *
 * IPv6 (issue 14): an IPv6 packet whose next header, right after the
 * fixed 40-byte header, is 41 (IPv6-in-IPv6, RFC 2473) or 4 (IPv4-in-
 * IPv6) loses that outer header the same way (the EtherType becomes IPv4
 * for the latter). The director adds no extension headers to the outer
 * header, so none are walked: a tunnelled packet behind one reaches the
 * kernel untouched. An outer IPv6 packet is never fragmented by a router,
 * and a fragment header would hide next header 41/4: there is no fragment
 * case. Outcomes (XLB_DECAP_CNT_*6): decapsulated; DROP_OUTER6 (version
 * not 6, a payload length of 0 or past the frame); DROP_INNER6 (inner
 * header short, of the wrong version, or longer than the outer payload);
 * NOT_LOCAL6 (restricted, destination not in decap_addrs6: passed).
 *
 * Destination: by default any outer destination is decapsulated (the packet
 * reached this host's interface, which is where the director sends it). To
 * restrict it to this host's own addresses, set decap_config[0].flags to
 * XLB_DECAP_F_RESTRICT_DST and put the addresses (network order) in
 * decap_addrs, e.g. with bpftool map update; packets to other destinations
 * are then passed untouched (XLB_DECAP_CNT_NOT_LOCAL). The same flag
 * restricts IPv6 outer destinations to decap_addrs6 (16-byte keys).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xlb_shared.h"

#define IP_MF_OFFSET	0x3FFF	/* MF flag + fragment offset (host order) */

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XLB_DECAP_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} decap_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_decap_config);
} decap_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);		/* outer destination, network order */
	__type(value, __u8);
} decap_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct xlb_local6_key);	/* outer IPv6 destination */
	__type(value, __u8);
} decap_addrs6 SEC(".maps");

#define XLB_ETH_P_IPV6		0x86DD
#define V6_NH_IPIP		4	/* IPv4-in-IPv6 */
#define V6_NH_IPV6		41	/* IPv6-in-IPv6 */

struct decap_ip6hdr {
	__u8   vtc;		/* version (4 bits), traffic class high */
	__u8   tc_flow[3];
	__be16 payload_len;
	__u8   nexthdr;
	__u8   hop_limit;
	__u8   saddr[16];
	__u8   daddr[16];
};

static __always_inline int count(__u32 idx, int action)
{
	__u64 *v = bpf_map_lookup_elem(&decap_counters, &idx);

	if (v)
		*v += 1;
	return action;
}

static __always_inline int dst_allowed(__be32 daddr)
{
	__u32 zero = 0;
	struct xlb_decap_config *cfg = bpf_map_lookup_elem(&decap_config, &zero);

	if (!cfg || !(cfg->flags & XLB_DECAP_F_RESTRICT_DST))
		return 1;
	return bpf_map_lookup_elem(&decap_addrs, &daddr) != NULL;
}


static __always_inline int dst6_allowed(const __u8 *daddr)
{
	__u32 zero = 0;
	struct xlb_decap_config *cfg = bpf_map_lookup_elem(&decap_config, &zero);
	struct xlb_local6_key k;

	if (!cfg || !(cfg->flags & XLB_DECAP_F_RESTRICT_DST))
		return 1;
	__builtin_memcpy(k.addr, daddr, sizeof(k.addr));
	return bpf_map_lookup_elem(&decap_addrs6, &k) != NULL;
}

/*
 * An IPv6 frame whose IPv6 header starts at l2_len (14, or 18 behind a
 * VLAN tag). Not inlined: the IPv4 path keeps its instructions.
 */
static __noinline int decap6(struct xdp_md *ctx, __u32 l2_len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 l2[ETH_HLEN + sizeof(struct vlan_hdr)];
	struct decap_ip6hdr *outer;
	__u32 plen, in_len;
	__u8 nh;

	if (l2_len != ETH_HLEN)
		l2_len = ETH_HLEN + sizeof(struct vlan_hdr);
	outer = data + l2_len;
	if ((void *)(outer + 1) > data_end)
		return count(XLB_DECAP_CNT_PASSED, XDP_PASS);	/* kernel drops */
	nh = outer->nexthdr;
	if (nh != V6_NH_IPV6 && nh != V6_NH_IPIP)
		return count(XLB_DECAP_CNT_PASSED, XDP_PASS);
	plen = bpf_ntohs(outer->payload_len);
	if ((outer->vtc >> 4) != 6 || !plen ||
	    l2_len + sizeof(*outer) + plen > bpf_xdp_get_buff_len(ctx))
		return count(XLB_DECAP_CNT_DROP_OUTER6, XDP_DROP);
	if (!dst6_allowed(outer->daddr))
		return count(XLB_DECAP_CNT_NOT_LOCAL6, XDP_PASS);

	if (nh == V6_NH_IPV6) {
		struct decap_ip6hdr *in = (void *)(outer + 1);

		if ((void *)(in + 1) > data_end || (in->vtc >> 4) != 6)
			return count(XLB_DECAP_CNT_DROP_INNER6, XDP_DROP);
		in_len = sizeof(*in) + bpf_ntohs(in->payload_len);
	} else {
		struct iphdr *in = (void *)(outer + 1);

		if ((void *)(in + 1) > data_end || in->version != 4 ||
		    in->ihl < 5)
			return count(XLB_DECAP_CNT_DROP_INNER6, XDP_DROP);
		in_len = bpf_ntohs(in->tot_len);
		if (in_len < in->ihl * 4U)
			return count(XLB_DECAP_CNT_DROP_INNER6, XDP_DROP);
	}
	if (in_len > plen)
		return count(XLB_DECAP_CNT_DROP_INNER6, XDP_DROP);

	/* l2_len + 40 + at least 20 bytes are present. */
	if (data + sizeof(l2) > data_end)
		return count(XLB_DECAP_CNT_DROP_OUTER6, XDP_DROP);
	__builtin_memcpy(l2, data, sizeof(l2));
	if (nh == V6_NH_IPIP) {
		/* The EtherType (behind the tag, if any) says IPv4 now. */
		__be16 ip = bpf_htons(ETH_P_IP);

		__builtin_memcpy(&l2[l2_len - 2], &ip, sizeof(ip));
	}
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(*outer)))
		return count(XLB_DECAP_CNT_DROP_OUTER6, XDP_DROP);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(l2) > data_end)
		return count(XLB_DECAP_CNT_DROP_INNER6, XDP_DROP);
	if (l2_len == ETH_HLEN)
		__builtin_memcpy(data, l2, ETH_HLEN);
	else
		__builtin_memcpy(data, l2, sizeof(l2));
	return count(XLB_DECAP_CNT_DECAPPED6, XDP_PASS);
}

SEC("xdp")
int xlb_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *outer, *inner;
	/* Ethernet header plus an optional VLAN tag, saved across the move. */
	__u8 l2[ETH_HLEN + sizeof(struct vlan_hdr)];
	__u32 l2_len = ETH_HLEN, ihl_len, in_ihl_len, tot, in_tot;
	__u16 h_proto;

	if ((void *)(eth + 1) > data_end)
		return count(XLB_DECAP_CNT_PASSED, XDP_PASS);
	h_proto = eth->h_proto;
	if (h_proto == bpf_htons(ETH_P_8021Q) ||
	    h_proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return count(XLB_DECAP_CNT_PASSED, XDP_PASS);
		h_proto = vh->encap_proto;
		l2_len += sizeof(*vh);
	}
	if (h_proto != bpf_htons(ETH_P_IP)) {
		if (h_proto == bpf_htons(XLB_ETH_P_IPV6))
			return decap6(ctx, l2_len);
		return count(XLB_DECAP_CNT_PASSED, XDP_PASS);
	}

	outer = data + l2_len;
	if ((void *)(outer + 1) > data_end)
		return count(XLB_DECAP_CNT_PASSED, XDP_PASS);	/* kernel drops */
	if (outer->protocol != IPPROTO_IPIP)
		return count(XLB_DECAP_CNT_PASSED, XDP_PASS);

	ihl_len = outer->ihl * 4;
	tot = bpf_ntohs(outer->tot_len);
	if (outer->version != 4 || ihl_len < sizeof(*outer) || tot < ihl_len)
		return count(XLB_DECAP_CNT_DROP_OUTER, XDP_DROP);
	/* Truncated: the frame holds less than the outer total length. */
	if (l2_len + tot > bpf_xdp_get_buff_len(ctx))
		return count(XLB_DECAP_CNT_DROP_OUTER, XDP_DROP);
	if ((void *)outer + ihl_len > data_end)
		return count(XLB_DECAP_CNT_DROP_OUTER, XDP_DROP);
	if (outer->frag_off & bpf_htons(IP_MF_OFFSET))
		return count(XLB_DECAP_CNT_DROP_FRAGMENT, XDP_DROP);
	if (!dst_allowed(outer->daddr))
		return count(XLB_DECAP_CNT_NOT_LOCAL, XDP_PASS);

	inner = (void *)outer + ihl_len;
	if ((void *)(inner + 1) > data_end)
		return count(XLB_DECAP_CNT_DROP_INNER, XDP_DROP);
	in_ihl_len = inner->ihl * 4;
	in_tot = bpf_ntohs(inner->tot_len);
	if (inner->version != 4 || in_ihl_len < sizeof(*inner) ||
	    in_tot < in_ihl_len || in_tot > tot - ihl_len)
		return count(XLB_DECAP_CNT_DROP_INNER, XDP_DROP);

	/* At least l2_len + 40 bytes are present: the 18-byte copy is safe. */
	if (data + sizeof(l2) > data_end)
		return count(XLB_DECAP_CNT_DROP_OUTER, XDP_DROP);
	__builtin_memcpy(l2, data, sizeof(l2));

	if (bpf_xdp_adjust_head(ctx, (int)ihl_len))
		return count(XLB_DECAP_CNT_DROP_OUTER, XDP_DROP);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(l2) > data_end)
		return count(XLB_DECAP_CNT_DROP_INNER, XDP_DROP);
	/* The L2 header (and tag) now sits right before the inner header;
	 * its ethertype (IPv4) is unchanged. */
	if (l2_len == ETH_HLEN)
		__builtin_memcpy(data, l2, ETH_HLEN);
	else
		__builtin_memcpy(data, l2, sizeof(l2));
	return count(XLB_DECAP_CNT_DECAPPED, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
