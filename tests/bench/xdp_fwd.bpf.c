// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_fwd: the in-kernel XDP baseline, what an all-XDP balancer such as
 * Katran costs at least. Attached to the director's generator-side veth,
 * it sends every IPv4 frame, and every IPv6 frame but ICMPv6, to the
 * sink-side veth with the MACs rewritten (source: that veth, destination:
 * the sink), nothing else: no lookup, no TTL or hop limit, no checksum.
 * ARP, neighbour discovery and the rest go to the kernel. (IPv6: the next
 * header of the fixed header only; the generator sends no extension
 * headers.)
 *
 * The receiving end of the egress veth needs an XDP program of its own
 * (the sink's) for redirected frames to be accepted.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench_shared.h"

const volatile struct xlb_bench_fwd_cfg cfg = {};

SEC("xdp")
int xlb_bench_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		/* ICMPv6 (neighbour discovery) and hop-by-hop options (MLD
		 * reports): the kernel's. */
		if (eth->h_proto != bpf_htons(ETH_P_IPV6) || (void *)(ip6 + 1) > data_end ||
		    ip6->nexthdr == IPPROTO_ICMPV6 || ip6->nexthdr == IPPROTO_HOPOPTS)
			return XDP_PASS;
	}
	/* Byte by byte: a memcpy() would cast away the volatile and let the
	 * compiler fold the MACs to the zeros of the initializer. */
	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = cfg.dmac[i];
		eth->h_source[i] = cfg.smac[i];
	}
	return bpf_redirect(cfg.ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
