/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The IPv6 extension-header walk, written once (STYLE.md habit 8) for
 * xlb_steer (bpf/xlb_steer.bpf.c) and, when it parses IPv6, the userspace
 * datapath (lb/pkt.c), so that what XDP steers and what userspace accepts
 * cannot drift apart. Compiles with `clang -target bpf` and the userspace
 * compilers: only <linux/types.h>, no libc, one bounded loop.
 *
 * Bounds: BPF compares packet pointers with data_end (what the verifier
 * follows); userspace compares offsets with the length, and never forms a
 * pointer past the buffer. XLB_IP6_PAST(data, data_end, off, n): the n
 * bytes at off are not all in the frame (the one check both sides share);
 * XLB_IP6_PAST_PTR(p, n, data_end): BPF's check on the pointer it reads
 * through (userspace: already proved by XLB_IP6_PAST).
 */
#ifndef XLB_IP6_H
#define XLB_IP6_H

#include <linux/types.h>

#define XLB_IP6_INLINE	static inline __attribute__((always_inline))

#define XLB_IP6_HLEN		40
#define XLB_IP6_NH_HOP		0	/* hop-by-hop options */
#define XLB_IP6_NH_ROUTING	43
#define XLB_IP6_NH_FRAGMENT	44
#define XLB_IP6_NH_ICMPV6	58
#define XLB_IP6_NH_DSTOPTS	60

/* Extension headers walked before giving up. */
#define XLB_IPV6_EXT_MAX	8

#ifdef __bpf__
#define XLB_IP6_PAST(data, data_end, off, n) \
	((const __u8 *)(data) + (off) + (n) > (const __u8 *)(data_end))
#define XLB_IP6_PAST_PTR(p, n, data_end) \
	((const __u8 *)(p) + (n) > (const __u8 *)(data_end))
#else
#define XLB_IP6_PAST(data, data_end, off, n) \
	((__u64)(off) + (n) > \
	 (__u64)((const __u8 *)(data_end) - (const __u8 *)(data)))
#define XLB_IP6_PAST_PTR(p, n, data_end)	0
#endif

/* What xlb_ip6_skip_ext() found. */
enum xlb_ip6_ext_res {
	XLB_IP6_L4 = 0,		/* *nh: the first other header, at *off */
	XLB_IP6_FRAG,		/* a fragment header */
	XLB_IP6_EXT_BAD,	/* over XLB_IPV6_EXT_MAX, or one cut short */
	XLB_IP6_ROUTED,		/* a routing header with segments left: the
				 * destination address is not the final one */
};

/*
 * From the header at offset *off of data whose type is *nh: walks past
 * hop-by-hop, routing and destination-options headers, at most
 * XLB_IPV6_EXT_MAX, each of which must lie whole in the frame. On
 * XLB_IP6_L4, *off and *nh are the transport header's and *n_ext the
 * number of extension headers walked; otherwise they are unchanged.
 * (Where in the chain a hop-by-hop header sits is not checked: the kernel
 * decides that for what it is passed; userspace sees only what this
 * accepted.)
 */
XLB_IP6_INLINE int xlb_ip6_skip_ext(const void *data, const void *data_end,
				    __u32 *off, __u8 *nh, int *n_ext)
{
	__u32 o = *off;
	__u8 h = *nh;
	int i;

	/* Not unrolled: the verifier follows the bounded loop, and the
	 * program stays smaller. */
#ifdef __clang__
#pragma clang loop unroll(disable)
#endif
	for (i = 0; i <= XLB_IPV6_EXT_MAX; i++) {
		const __u8 *e;

		if (h == XLB_IP6_NH_FRAGMENT)
			return XLB_IP6_FRAG;
		if (h != XLB_IP6_NH_HOP && h != XLB_IP6_NH_ROUTING &&
		    h != XLB_IP6_NH_DSTOPTS) {
			*off = o;
			*nh = h;
			*n_ext = i;
			return XLB_IP6_L4;
		}
		if (i == XLB_IPV6_EXT_MAX)
			break;
		/* Next header, length (8-byte units past the first 8);
		 * routing: type, segments left. */
		if (XLB_IP6_PAST(data, data_end, o, 4))
			return XLB_IP6_EXT_BAD;
		e = (const __u8 *)data + o;
		if (XLB_IP6_PAST_PTR(e, 4, data_end))
			return XLB_IP6_EXT_BAD;
		if (h == XLB_IP6_NH_ROUTING && e[3])
			return XLB_IP6_ROUTED;
		h = e[0];
		o += ((__u32)e[1] + 1) * 8;
		if (XLB_IP6_PAST(data, data_end, o, 0))
			return XLB_IP6_EXT_BAD;
	}
	return XLB_IP6_EXT_BAD;
}

#endif /* XLB_IP6_H */
