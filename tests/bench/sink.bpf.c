// SPDX-License-Identifier: GPL-2.0
/*
 * sink: the benchmark's counting receiver, attached (native XDP) to the
 * sink namespace's veth. IPv4 and IPv6 frames are dropped and counted per
 * CPU, split by whether they carry this interface's MAC (what a host would
 * accept: only those count as delivered) or another one. ARP, ICMPv6
 * (neighbour discovery), IPv6 hop-by-hop options (MLD reports) and
 * everything else go to the kernel, so the director can resolve the sink's
 * address. (An IPv6 frame's next header is read from its fixed header
 * only: the generator and xlbd put no extension header before the L4.)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench_shared.h"

struct xlb_bench_sink_counters {
	__u64 c[XLB_SINK_N];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xlb_bench_sink_counters);
} counters SEC(".maps");

const volatile struct xlb_bench_sink_cfg cfg = {};

SEC("xdp")
int xlb_bench_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct xlb_bench_sink_counters *cnt;
	struct ethhdr *eth = data;
	__u32 key = 0;

	cnt = bpf_map_lookup_elem(&counters, &key);
	if (!cnt)
		return XDP_PASS;
	if ((void *)(eth + 1) > data_end)
		goto pass;
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		/* ICMPv6 (neighbour discovery) and hop-by-hop options (MLD
		 * reports): the kernel's. */
		if (eth->h_proto != bpf_htons(ETH_P_IPV6) || (void *)(ip6 + 1) > data_end ||
		    ip6->nexthdr == IPPROTO_ICMPV6 || ip6->nexthdr == IPPROTO_HOPOPTS)
			goto pass;
	}
	if (eth->h_dest[0] != cfg.mac[0] || eth->h_dest[1] != cfg.mac[1] ||
	    eth->h_dest[2] != cfg.mac[2] || eth->h_dest[3] != cfg.mac[3] ||
	    eth->h_dest[4] != cfg.mac[4] || eth->h_dest[5] != cfg.mac[5]) {
		cnt->c[XLB_SINK_OTHER_MAC]++;
		return XDP_DROP;
	}
	cnt->c[XLB_SINK_PKTS]++;
	cnt->c[XLB_SINK_BYTES] += (__u64)(data_end - data);
	return XDP_DROP;
pass:
	cnt->c[XLB_SINK_PASSED]++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
