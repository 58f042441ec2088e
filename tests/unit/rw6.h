/* SPDX-License-Identifier: GPL-2.0 */
/* What tests/unit/test_rw6_diff.c tells tests/unit/rw6.bpf.c per run. */
#ifndef XLB_TEST_RW6_H
#define XLB_TEST_RW6_H

#include <linux/types.h>

#define RW6_NAT_IN	0
#define RW6_NAT_OUT	1
#define RW6_TUN		2

struct rw6_cfg {
	__u32 op;
	__u32 l4_off;		/* from the frame start; L3 is at 14 */
	__u32 l4_len;
	__u32 proto;
	__u32 inner_v6;		/* TUN: the datagram is IPv6 (else IPv4) */
	__u16 port;		/* network order */
	__u8  hl;
	__u8  pad;
	__u8  addr[16];		/* NAT: the new address; TUN: the RS */
	__u8  saddr[16];	/* TUN: the director */
	__u8  dmac[6];
	__u8  smac[6];
};

#endif
