// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only XDP program: the IPv6 rewrites of bpf/xlb_rewrite.h (NAT66 in,
 * NAT66 out, TUN6 with its derived flow label) compiled for BPF and run by
 * BPF_PROG_TEST_RUN, so tests/unit/test_rw6_diff.c can compare them byte for
 * byte with lb/xmit_*.c on the same frames: the code the XDP fast path will
 * run for IPv6 is the code userspace runs. The test writes what the parse
 * found (offsets, protocol) and the bind into cfg before each run; the
 * program checks every access against data_end, as the fast path must.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xlb_rewrite.h"

#include "rw6.h"

struct rw6_cfg cfg;

static __always_inline int nat(struct xdp_md *ctx)
{
	__u8 *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;
	__u32 off = cfg.l4_off;
	__u8 *l4;

	if (off > 1600 || d + 14 + 40 > e)
		return XDP_ABORTED;
	l4 = d + off;
	if (cfg.proto == XLB_RW_PROTO_TCP) {
		if (l4 + 18 > e)
			return XDP_ABORTED;
		if (cfg.op == RW6_NAT_IN)
			xlb_rw_nat6_in(d + 14, l4, cfg.l4_len, XLB_RW_PROTO_TCP,
				       cfg.addr, cfg.port);
		else
			xlb_rw_nat6_out(d + 14, l4, cfg.l4_len, XLB_RW_PROTO_TCP,
					cfg.addr, cfg.port);
	} else {
		if (l4 + 8 > e)
			return XDP_ABORTED;
		if (cfg.op == RW6_NAT_IN)
			xlb_rw_nat6_in(d + 14, l4, cfg.l4_len, XLB_RW_PROTO_UDP,
				       cfg.addr, cfg.port);
		else
			xlb_rw_nat6_out(d + 14, l4, cfg.l4_len, XLB_RW_PROTO_UDP,
					cfg.addr, cfg.port);
	}
	xlb_rw_macs(d, cfg.dmac, cfg.smac);
	return XDP_TX;
}

static __always_inline int tun(struct xdp_md *ctx)
{
	__u32 off = cfg.l4_off, ports = 0, fl;
	__u8 *d, *e, *in;

	if (bpf_xdp_adjust_head(ctx, -XLB_RW_IP6_HLEN))
		return XDP_ABORTED;
	d = (void *)(long)ctx->data;
	e = (void *)(long)ctx->data_end;
	if (d + 14 + 40 + 20 > e || off > 1600)
		return XDP_ABORTED;
	in = d + 14 + 40;
	if (cfg.inner_v6 && in + 40 > e)
		return XDP_ABORTED;
	if (cfg.proto == XLB_RW_PROTO_TCP || cfg.proto == XLB_RW_PROTO_UDP) {
		if (d + 40 + off + 4 > e)
			return XDP_ABORTED;
		ports = xlb_rw_load32(d + 40 + off);
	}
	if (cfg.inner_v6)
		fl = xlb_rw_flowlabel(in + XLB_RW_IP6_SADDR, in + XLB_RW_IP6_DADDR,
				      16, (__u8)cfg.proto, ports);
	else
		fl = xlb_rw_flowlabel(in + XLB_RW_IP_SADDR, in + XLB_RW_IP_DADDR,
				      4, (__u8)cfg.proto, ports);
	xlb_rw_macs(d, cfg.dmac, cfg.smac);
	xlb_rw_store16(d + 12, xlb_rw_htons(0x86DD));
	xlb_rw_tun6_encap(d + 14, in, fl, cfg.hl, cfg.saddr, cfg.addr);
	return XDP_TX;
}

SEC("xdp")
int rw6(struct xdp_md *ctx)
{
	if (cfg.op == RW6_TUN)
		return tun(ctx);
	return nat(ctx);
}

char _license[] SEC("license") = "GPL";
