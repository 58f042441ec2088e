// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_pass: passes every frame to the kernel. The lab (netns-lab/topo.sh)
 * attaches it to the switch-side peers of the director's veths: a veth
 * peer without an XDP program does not wake its NAPI for frames the
 * director XDP_TXes (the fast path's hits leaving by the interface they
 * came in), and holds them until some other frame arrives. Built here
 * with the benchmark's BPF objects (build/bench/xdp_pass.bpf.o).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xlb_xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
