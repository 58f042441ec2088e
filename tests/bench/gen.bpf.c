// SPDX-License-Identifier: GPL-2.0
/*
 * gen: the benchmark's packet generator. pktgen runs it with
 * bpf_prog_test_run in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES) on the
 * generator's veth; every run writes one 64-byte frame and returns XDP_TX,
 * which the kernel turns into a transmit on that veth.
 *
 * The whole frame is written on every run, never patched: the test run's
 * page pool hands pages back as the last hop left them (a forwarding kernel
 * rewrote the MACs and the TTL, NAT the addresses), and a stale frame would
 * be dropped as "otherhost" instead of measuring anything.
 *
 * Flows: see struct xlb_bench_gen_cfg. The sequence counter is per CPU:
 * pktgen may run one generator thread per CPU (one per receive queue of
 * the next veth, which picks the queue by the sending CPU), and a shared
 * counter would be incremented concurrently.
 *
 * With cfg.ipv6 the frames are IPv6 (XLB_BENCH_FRAME_LEN6 bytes), the same
 * flows and L4 headers: gen6(), a branch taken before any IPv4 byte is
 * written, so the IPv4 frames are built exactly as before.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bench_shared.h"

const volatile struct xlb_bench_gen_cfg cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seqs SEC(".maps");

#define TCP_FL_SYN	0x02
#define TCP_FL_ACK	0x10

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* An IPv6 frame for flow (sport, slow: the source's last 32 bits, host
 * order); the same L4 headers as the IPv4 frames (see xlb_bench_gen). */
static __always_inline int gen6(void *data, void *data_end, __u64 n, __u16 sport, __u32 slow)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = data + sizeof(*eth);
	void *l4 = data + sizeof(*eth) + sizeof(*ip6);
	__u32 l4sum = 0;
	__u16 l4len;
	__u8 proto;
	int i;

	if (data + XLB_BENCH_FRAME_LEN6 > data_end)
		return XDP_ABORTED;
	for (i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = cfg.dmac[i];
		eth->h_source[i] = cfg.smac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IPV6);

	/* The addresses' share of the L4 checksum (pseudo-header). */
	for (i = 0; i < 16; i += 2) {
		ip6->daddr.in6_u.u6_addr8[i] = cfg.daddr6[i];
		ip6->daddr.in6_u.u6_addr8[i + 1] = cfg.daddr6[i + 1];
		l4sum += ((__u32)cfg.daddr6[i] << 8) | cfg.daddr6[i + 1];
	}
	for (i = 0; i < 12; i += 2) {
		ip6->saddr.in6_u.u6_addr8[i] = cfg.saddr6[i];
		ip6->saddr.in6_u.u6_addr8[i + 1] = cfg.saddr6[i + 1];
		l4sum += ((__u32)cfg.saddr6[i] << 8) | cfg.saddr6[i + 1];
	}
	ip6->saddr.in6_u.u6_addr32[3] = bpf_htonl(slow);
	l4sum += (slow >> 16) + (slow & 0xffff);

	if (cfg.traffic == XLB_BENCH_UDP) {
		struct udphdr *udp = l4;

		proto = IPPROTO_UDP;
		l4len = XLB_BENCH_FRAME_LEN6 - sizeof(*eth) - sizeof(*ip6);
		udp->source = bpf_htons(sport);
		udp->dest = bpf_htons(cfg.dport);
		udp->len = bpf_htons(l4len);
		__builtin_memset(udp + 1, 0, XLB_BENCH_FRAME_LEN6 - sizeof(*eth) -
				 sizeof(*ip6) - sizeof(*udp));
		l4sum += IPPROTO_UDP + l4len + sport + cfg.dport + l4len;
		udp->check = bpf_htons(csum_fold(l4sum) ?: 0xffff);
	} else {
		struct tcphdr *tcp = l4;
		__u32 tseq, tack;
		__u16 flags;

		proto = IPPROTO_TCP;
		l4len = sizeof(*tcp);
		if (cfg.traffic == XLB_BENCH_SYN || n < cfg.flows) {
			flags = TCP_FL_SYN;
			tseq = (__u32)n * 2654435761u;
			tack = 0;
		} else {
			flags = TCP_FL_ACK;
			tseq = (__u32)(n / (cfg.flows ?: 1)) * 64 + 1;
			tack = 1;
		}
		tcp->source = bpf_htons(sport);
		tcp->dest = bpf_htons(cfg.dport);
		tcp->seq = bpf_htonl(tseq);
		tcp->ack_seq = bpf_htonl(tack);
		*((__u16 *)tcp + 6) = bpf_htons((5 << 12) | flags);
		tcp->window = bpf_htons(65535);
		tcp->urg_ptr = 0;
		l4sum += IPPROTO_TCP + l4len + sport + cfg.dport +
			 (tseq >> 16) + (tseq & 0xffff) + (tack >> 16) + (tack & 0xffff) +
			 ((5 << 12) | flags) + 65535;
		tcp->check = bpf_htons(csum_fold(l4sum));
	}
	/* Version 6, traffic class and flow label 0. */
	*(__be32 *)ip6 = bpf_htonl(0x60000000);
	ip6->payload_len = bpf_htons(l4len);
	ip6->nexthdr = proto;
	ip6->hop_limit = cfg.ttl;
	return XDP_TX;
}

SEC("xdp")
int xlb_bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	void *l4 = data + sizeof(*eth) + sizeof(*iph);
	__u32 saddr, daddr = cfg.daddr, l4sum, ipsum, zero = 0;
	__u32 lanes = cfg.lanes ? cfg.lanes : 1;
	__u64 n, f, *seq;
	__u16 sport, tot_len, l4len;
	__u8 proto;

	if (data + XLB_BENCH_FRAME_LEN > data_end)
		return XDP_ABORTED;
	seq = bpf_map_lookup_elem(&seqs, &zero);
	if (!seq)
		return XDP_ABORTED;
	n = (*seq)++ * lanes + bpf_get_smp_processor_id() % lanes;

	f = cfg.flows ? n % cfg.flows : n;
	sport = cfg.sport_base + (__u16)(f % XLB_BENCH_PORTS);
	saddr = cfg.saddr_base + (__u32)((f / XLB_BENCH_PORTS) % XLB_BENCH_ADDRS);
	if (cfg.ipv6)
		return gen6(data, data_end, n, sport, saddr);

	/* Byte by byte: a memcpy() would cast away the volatile and let the
	 * compiler fold the MACs to the zeros of the initializer. */
	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = cfg.dmac[i];
		eth->h_source[i] = cfg.smac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);

	/* The addresses' share of the L4 checksum (pseudo-header). */
	l4sum = (saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) + (daddr & 0xffff);

	if (cfg.traffic == XLB_BENCH_UDP) {
		struct udphdr *udp = l4;

		proto = IPPROTO_UDP;
		l4len = XLB_BENCH_FRAME_LEN - sizeof(*eth) - sizeof(*iph);
		udp->source = bpf_htons(sport);
		udp->dest = bpf_htons(cfg.dport);
		udp->len = bpf_htons(l4len);
		__builtin_memset(udp + 1, 0, XLB_BENCH_FRAME_LEN - sizeof(*eth) -
				 sizeof(*iph) - sizeof(*udp));
		/* The payload is zero: it adds nothing to the checksum. */
		l4sum += IPPROTO_UDP + l4len + sport + cfg.dport + l4len;
		udp->check = bpf_htons(csum_fold(l4sum) ?: 0xffff);
	} else {
		struct tcphdr *tcp = l4;
		__u32 tseq, tack;
		__u16 flags;

		proto = IPPROTO_TCP;
		l4len = sizeof(*tcp);
		if (cfg.traffic == XLB_BENCH_SYN || n < cfg.flows) {
			/* ACK traffic opens each of its flows with a SYN, so a
			 * balancer that creates connections only on SYN (IPVS)
			 * sees established flows afterwards. */
			flags = TCP_FL_SYN;
			tseq = (__u32)n * 2654435761u;
			tack = 0;
		} else {
			flags = TCP_FL_ACK;
			tseq = (__u32)(n / (cfg.flows ?: 1)) * 64 + 1;
			tack = 1;
		}
		tcp->source = bpf_htons(sport);
		tcp->dest = bpf_htons(cfg.dport);
		tcp->seq = bpf_htonl(tseq);
		tcp->ack_seq = bpf_htonl(tack);
		/* doff = 5 words, then the flag bits. */
		*((__u16 *)tcp + 6) = bpf_htons((5 << 12) | flags);
		tcp->window = bpf_htons(65535);
		tcp->urg_ptr = 0;
		/* Ethernet padding up to 64 bytes. */
		__builtin_memset(tcp + 1, 0, XLB_BENCH_FRAME_LEN - sizeof(*eth) -
				 sizeof(*iph) - sizeof(*tcp));
		l4sum += IPPROTO_TCP + l4len + sport + cfg.dport +
			 (tseq >> 16) + (tseq & 0xffff) + (tack >> 16) + (tack & 0xffff) +
			 ((5 << 12) | flags) + 65535;
		tcp->check = bpf_htons(csum_fold(l4sum));
	}
	tot_len = sizeof(*iph) + l4len;
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0;
	iph->tot_len = bpf_htons(tot_len);
	iph->id = 0;
	iph->frag_off = bpf_htons(0x4000);	/* DF */
	iph->ttl = cfg.ttl;
	iph->protocol = proto;
	iph->saddr = bpf_htonl(saddr);
	iph->daddr = bpf_htonl(daddr);
	ipsum = 0x4500 + tot_len + 0x4000 + ((__u32)cfg.ttl << 8) + proto +
		(saddr >> 16) + (saddr & 0xffff) + (daddr >> 16) + (daddr & 0xffff);
	iph->check = bpf_htons(csum_fold(ipsum));

	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
