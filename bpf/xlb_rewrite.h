/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The forwarding rewrites, written once (issue 11 item 4): the DR MAC
 * rewrite, the NAT address/port translation with its RFC 1624 incremental
 * checksum updates, and the TUN outer IPv4 header. Static inline functions
 * over packet bytes that both `clang -target bpf` (bpf/xlb_steer.bpf.c, the
 * fast path) and the userspace build (lb/xmit_*.c, lb/csum.c) compile, so
 * the two datapaths cannot drift apart; tests/unit/test_fp_diff.c checks
 * that they give byte-identical frames.
 *
 * Rules that keep it compilable for both:
 *  - only <linux/types.h> types, no libc (no memcpy: __builtin_memcpy of a
 *    constant size, or the loads/stores below);
 *  - no loops over a runtime length, no bounds checks of their own: every
 *    function touches a fixed number of bytes at fixed offsets from the
 *    pointers it is given, and its comment says how many; the caller has
 *    proved them present (the XDP program against data_end, which the
 *    verifier sees through the inlining; userspace through xlb_pkt_parse());
 *  - always inlined, so the verifier tracks the packet pointers through
 *    them.
 *
 * Byte order: as lb/csum.h. Addresses, ports, ids and checksums are "as in
 * the packet" (loaded and stored without swapping); the one's complement
 * sum does not depend on byte order (RFC 1071 2(B)). Lengths and fragment
 * fields passed as numbers are host order.
 */
#ifndef XLB_REWRITE_H
#define XLB_REWRITE_H

#include <linux/types.h>

#define XLB_RW_INLINE	static inline __attribute__((always_inline))

/* Offsets in the IPv4 header and the TCP/UDP headers. */
#define XLB_RW_IP_TOS		1
#define XLB_RW_IP_TOT_LEN	2
#define XLB_RW_IP_ID		4
#define XLB_RW_IP_FRAG		6
#define XLB_RW_IP_TTL		8
#define XLB_RW_IP_PROTO		9
#define XLB_RW_IP_CSUM		10
#define XLB_RW_IP_SADDR		12
#define XLB_RW_IP_DADDR		16
#define XLB_RW_L4_SPORT		0
#define XLB_RW_L4_DPORT		2
#define XLB_RW_TCP_CSUM		16
#define XLB_RW_UDP_CSUM		6
#define XLB_RW_IPIP_HLEN	20	/* the outer header TUN adds */
#define XLB_RW_IP_DF		0x4000	/* host order */
#define XLB_RW_PROTO_IPIP	4
#define XLB_RW_PROTO_TCP	6
#define XLB_RW_PROTO_UDP	17
#define XLB_RW_TTL_DEFAULT	64	/* = XLB_TUN_TTL_DEFAULT (lb/xmit.h) */

/*
 * Unaligned 16/32-bit fields. Userspace: __builtin_memcpy, one move on
 * x86, and no misaligned access for UBSan to flag. BPF: a plain load (a
 * byte-wise memcpy would cost four instructions per field); packet fields
 * here are always at even offsets, and the verifier accepts unaligned
 * packet access where the architecture does (no BPF_F_STRICT_ALIGNMENT).
 */
#ifdef __bpf__
XLB_RW_INLINE __u16 xlb_rw_load16(const void *p) { return *(const __u16 *)p; }
XLB_RW_INLINE __u32 xlb_rw_load32(const void *p) { return *(const __u32 *)p; }
XLB_RW_INLINE void xlb_rw_store16(void *p, __u16 v) { *(__u16 *)p = v; }
XLB_RW_INLINE void xlb_rw_store32(void *p, __u32 v) { *(__u32 *)p = v; }
#else
XLB_RW_INLINE __u16 xlb_rw_load16(const void *p)
{
	__u16 v;

	__builtin_memcpy(&v, p, 2);
	return v;
}

XLB_RW_INLINE __u32 xlb_rw_load32(const void *p)
{
	__u32 v;

	__builtin_memcpy(&v, p, 4);
	return v;
}

XLB_RW_INLINE void xlb_rw_store16(void *p, __u16 v)
{
	__builtin_memcpy(p, &v, 2);
}

XLB_RW_INLINE void xlb_rw_store32(void *p, __u32 v)
{
	__builtin_memcpy(p, &v, 4);
}
#endif

/* Host <-> network order of a 16-bit number (a length, the fragment
 * field). */
XLB_RW_INLINE __u16 xlb_rw_htons(__u16 v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

/* ---- checksums (RFC 1071 / RFC 1624) ---- */

/* End-around carry, twice: the first fold can carry once more. */
XLB_RW_INLINE __u16 xlb_rw_fold32(__u32 s)
{
	s = (s & 0xFFFF) + (s >> 16);
	s = (s & 0xFFFF) + (s >> 16);
	return (__u16)s;
}

/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the checksum after a 16-bit
 * field changes from old to new_. */
XLB_RW_INLINE __u16 xlb_rw_csum_update16(__u16 hc, __u16 old, __u16 new_)
{
	__u32 s = (__u16)~hc;

	s += (__u16)~old;
	s += new_;
	return (__u16)~xlb_rw_fold32(s);
}

/* The same for a 32-bit field (two 16-bit words), e.g. an address. */
XLB_RW_INLINE __u16 xlb_rw_csum_update32(__u16 hc, __u32 old, __u32 new_)
{
	__u32 s = (__u16)~hc;

	s += (__u16)~(old & 0xFFFF);
	s += (__u16)~(old >> 16);
	s += new_ & 0xFFFF;
	s += new_ >> 16;
	return (__u16)~xlb_rw_fold32(s);
}

/* A computed UDP checksum of 0 is sent as 0xFFFF (RFC 768). */
XLB_RW_INLINE __u16 xlb_rw_udp_fix(__u16 c)
{
	return c ? c : 0xFFFF;
}

/* In place, field at any even offset: 2 bytes. */
XLB_RW_INLINE void xlb_rw_csum_replace2(__u8 *field, __u16 old, __u16 new_)
{
	xlb_rw_store16(field,
		       xlb_rw_csum_update16(xlb_rw_load16(field), old, new_));
}

XLB_RW_INLINE void xlb_rw_csum_replace4(__u8 *field, __u32 old, __u32 new_)
{
	xlb_rw_store16(field,
		       xlb_rw_csum_update32(xlb_rw_load16(field), old, new_));
}

/* UDP: a zero checksum means "none" and stays zero. */
XLB_RW_INLINE void xlb_rw_udp_replace2(__u8 *field, __u16 old, __u16 new_)
{
	__u16 c = xlb_rw_load16(field);

	if (c)
		xlb_rw_store16(field, xlb_rw_udp_fix(
				       xlb_rw_csum_update16(c, old, new_)));
}

XLB_RW_INLINE void xlb_rw_udp_replace4(__u8 *field, __u32 old, __u32 new_)
{
	__u16 c = xlb_rw_load16(field);

	if (c)
		xlb_rw_store16(field, xlb_rw_udp_fix(
				       xlb_rw_csum_update32(c, old, new_)));
}

/* Checksum of a 20-byte IPv4 header (no options) whose checksum field is
 * zero: ten words, a constant-bound loop both compilers unroll. Equal to
 * xlb_csum(hdr, 20): the sum of a header starting 0x45 is never zero, so
 * every fold order gives the same value in 1..0xFFFF. */
XLB_RW_INLINE __u16 xlb_rw_csum_ip20(const __u8 *hdr)
{
	__u32 s = 0;

	for (int i = 0; i < 20; i += 2)
		s += xlb_rw_load16(hdr + i);
	return (__u16)~xlb_rw_fold32(s);
}

/* ---- DR: the Ethernet addresses (12 bytes at eth) ---- */

XLB_RW_INLINE void xlb_rw_macs(__u8 *eth, const __u8 *dmac, const __u8 *smac)
{
	__builtin_memcpy(eth, dmac, 6);
	__builtin_memcpy(eth + 6, smac, 6);
}

/* ---- NAT ---- */

/* Replaces the address at ip + addr_off (XLB_RW_IP_SADDR / _DADDR),
 * fixing the header checksum; returns the old address. 20 bytes at ip. */
XLB_RW_INLINE __u32 xlb_rw_nat_ip(__u8 *ip, int addr_off, __u32 addr)
{
	__u32 old = xlb_rw_load32(ip + addr_off);

	xlb_rw_store32(ip + addr_off, addr);
	xlb_rw_csum_replace4(ip + XLB_RW_IP_CSUM, old, addr);
	return old;
}

/*
 * Replaces the port at l4 + port_off (XLB_RW_L4_SPORT / _DPORT) and fixes
 * the TCP/UDP checksum for it and for the pseudo-header address change
 * old_addr -> addr. TCP: the checksum is only touched if it lies within
 * avail bytes (a datagram quoted in an ICMP error may be cut after 8);
 * UDP: a zero checksum stays zero. Bytes at l4: 18 (TCP, avail >= 18) or
 * 8 (UDP; TCP with avail < 18: 4).
 */
XLB_RW_INLINE void xlb_rw_nat_l4(__u8 *l4, __u32 avail, __u8 proto,
				 int port_off, __u16 port, __u32 old_addr,
				 __u32 addr)
{
	__u16 old_port = xlb_rw_load16(l4 + port_off);

	xlb_rw_store16(l4 + port_off, port);
	if (proto == XLB_RW_PROTO_TCP) {
		if (avail < XLB_RW_TCP_CSUM + 2)
			return;
		xlb_rw_csum_replace4(l4 + XLB_RW_TCP_CSUM, old_addr, addr);
		xlb_rw_csum_replace2(l4 + XLB_RW_TCP_CSUM, old_port, port);
	} else {
		xlb_rw_udp_replace4(l4 + XLB_RW_UDP_CSUM, old_addr, addr);
		xlb_rw_udp_replace2(l4 + XLB_RW_UDP_CSUM, old_port, port);
	}
}

/* NAT client -> RS: daddr:dport -> addr:port (ip: 20 bytes, l4: as
 * xlb_rw_nat_l4 with avail, for a whole datagram the L4 length). */
XLB_RW_INLINE void xlb_rw_nat_in(__u8 *ip, __u8 *l4, __u32 avail, __u8 proto,
				 __u32 addr, __u16 port)
{
	__u32 old = xlb_rw_nat_ip(ip, XLB_RW_IP_DADDR, addr);

	xlb_rw_nat_l4(l4, avail, proto, XLB_RW_L4_DPORT, port, old, addr);
}

/* NAT RS -> client: saddr:sport -> addr:port. */
XLB_RW_INLINE void xlb_rw_nat_out(__u8 *ip, __u8 *l4, __u32 avail,
				  __u8 proto, __u32 addr, __u16 port)
{
	__u32 old = xlb_rw_nat_ip(ip, XLB_RW_IP_SADDR, addr);

	xlb_rw_nat_l4(l4, avail, proto, XLB_RW_L4_SPORT, port, old, addr);
}

/* ---- TUN (IPv4-in-IPv4, RFC 2003) ---- */

/*
 * The outer id of an unfragmented TUN packet, from its inner header (20
 * bytes at inner): 0 when DF is set (as the kernel does: nothing
 * reassembles it); else the inner id XOR the two halves of the inner
 * source address, which changes packet by packet and client by client, so
 * the outer packet, which may be fragmented on the way, carries an id that
 * differs from its neighbours'. This is the rule of both datapaths
 * (struct xlb_xmit_bind.ip_id == NULL, as lb/dp.c binds it, and the XDP
 * fast path): it needs no shared counter, so the XDP program and every
 * worker compute the same id for the same packet. (Outer fragments cut by
 * userspace carry the worker's own id: those never take the fast path.)
 */
XLB_RW_INLINE __u16 xlb_rw_tun_id(const __u8 *inner)
{
	__u32 saddr;

	if (xlb_rw_load16(inner + XLB_RW_IP_FRAG) & xlb_rw_htons(XLB_RW_IP_DF))
		return 0;
	saddr = xlb_rw_load32(inner + XLB_RW_IP_SADDR);
	return xlb_rw_load16(inner + XLB_RW_IP_ID) ^ (__u16)saddr ^
	       (__u16)(saddr >> 16);
}

/*
 * Writes the 20-byte outer header at oh: version 4, IHL 5, TOS tos, total
 * length tot and fragment field frag (DF, MF, offset in 8-byte units) in
 * host order, id as in the packet, TTL ttl (0: XLB_RW_TTL_DEFAULT),
 * protocol 4, saddr -> daddr, and its header checksum.
 */
XLB_RW_INLINE void xlb_rw_tun_outer(__u8 *oh, __u8 tos, __u16 tot, __u16 id,
				    __u16 frag, __u8 ttl, __u32 saddr,
				    __u32 daddr)
{
	oh[0] = 0x45;
	oh[XLB_RW_IP_TOS] = tos;
	xlb_rw_store16(oh + XLB_RW_IP_TOT_LEN, xlb_rw_htons(tot));
	xlb_rw_store16(oh + XLB_RW_IP_ID, id);
	xlb_rw_store16(oh + XLB_RW_IP_FRAG, xlb_rw_htons(frag));
	oh[XLB_RW_IP_TTL] = ttl ? ttl : XLB_RW_TTL_DEFAULT;
	oh[XLB_RW_IP_PROTO] = XLB_RW_PROTO_IPIP;
	xlb_rw_store16(oh + XLB_RW_IP_CSUM, 0);
	xlb_rw_store32(oh + XLB_RW_IP_SADDR, saddr);
	xlb_rw_store32(oh + XLB_RW_IP_DADDR, daddr);
	xlb_rw_store16(oh + XLB_RW_IP_CSUM, xlb_rw_csum_ip20(oh));
}

/*
 * The outer header of an unfragmented TUN packet at oh, for the inner
 * datagram whose header is at inner (20 bytes each; they may not overlap):
 * TOS and DF copied from the inner header, total length inner + 20, id by
 * xlb_rw_tun_id().
 */
XLB_RW_INLINE void xlb_rw_tun_encap(__u8 *oh, const __u8 *inner, __u8 ttl,
				    __u32 saddr, __u32 daddr)
{
	__u16 frag = xlb_rw_load16(inner + XLB_RW_IP_FRAG) &
		     xlb_rw_htons(XLB_RW_IP_DF);

	xlb_rw_tun_outer(oh, inner[XLB_RW_IP_TOS],
			 (__u16)(xlb_rw_htons(xlb_rw_load16(
				 inner + XLB_RW_IP_TOT_LEN)) +
				 XLB_RW_IPIP_HLEN),
			 xlb_rw_tun_id(inner), xlb_rw_htons(frag), ttl, saddr,
			 daddr);
}

/* ---- IPv6 (issue 14): NAT66 and TUN6 (IPv6-in-IPv6, IPv4-in-IPv6) ----
 *
 * No header checksum in IPv6; TCP, UDP and ICMPv6 cover a pseudo-header
 * with both 16-byte addresses (RFC 8200 8.1), so an address change is an
 * RFC 1624 update over eight words. UDP over IPv6 must carry a checksum:
 * the callers refuse a zero one before they get here (lb/pkt.c does; the
 * XDP program must too), so the updates below never have to make one up.
 */
#define XLB_RW_IP6_FLOW		0	/* version, traffic class, label */
#define XLB_RW_IP6_PLEN		4
#define XLB_RW_IP6_NEXTHDR	6
#define XLB_RW_IP6_HOPLIMIT	7
#define XLB_RW_IP6_SADDR	8
#define XLB_RW_IP6_DADDR	24
#define XLB_RW_IP6_HLEN		40	/* also the outer header TUN6 adds */
#define XLB_RW_PROTO_IPV6	41
#define XLB_RW_PROTO_ICMPV6	58

XLB_RW_INLINE __u32 xlb_rw_htonl(__u32 v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap32(v);
#else
	return v;
#endif
}

/* 16 bytes (an IPv6 address), dst and src not overlapping. */
XLB_RW_INLINE void xlb_rw_copy16(__u8 *dst, const __u8 *src)
{
	for (int i = 0; i < 16; i += 4)
		xlb_rw_store32(dst + i, xlb_rw_load32(src + i));
}

/* RFC 1624 eqn. 3 for a 128-bit field (an IPv6 address): eight words,
 * old and new_ 16 bytes each as in the packet. */
XLB_RW_INLINE __u16 xlb_rw_csum_update128(__u16 hc, const __u8 *old,
					  const __u8 *new_)
{
	__u32 s = (__u16)~hc;

	for (int i = 0; i < 16; i += 2) {
		s += (__u16)~xlb_rw_load16(old + i);
		s += xlb_rw_load16(new_ + i);
	}
	return (__u16)~xlb_rw_fold32(s);
}

XLB_RW_INLINE void xlb_rw_csum_replace16(__u8 *field, const __u8 *old,
					 const __u8 *new_)
{
	xlb_rw_store16(field, xlb_rw_csum_update128(xlb_rw_load16(field), old,
						    new_));
}

/* Replaces the 16-byte address at ip6 + addr_off (XLB_RW_IP6_SADDR /
 * _DADDR) with addr; the old one goes to old[16]. 40 bytes at ip6. */
XLB_RW_INLINE void xlb_rw_nat6_ip(__u8 *ip6, int addr_off, const __u8 *addr,
				  __u8 *old)
{
	xlb_rw_copy16(old, ip6 + addr_off);
	xlb_rw_copy16(ip6 + addr_off, addr);
}

/*
 * Replaces the port at l4 + port_off and fixes the TCP/UDP checksum for it
 * and for the pseudo-header address change old_addr -> addr (16 bytes
 * each). TCP: only if the checksum lies within avail bytes (a quote may be
 * cut after 8); UDP: a zero checksum (only in a quote: see above) stays
 * zero, a computed zero is sent as 0xFFFF. Bytes at l4: as xlb_rw_nat_l4.
 */
XLB_RW_INLINE void xlb_rw_nat6_l4(__u8 *l4, __u32 avail, __u8 proto,
				  int port_off, __u16 port,
				  const __u8 *old_addr, const __u8 *addr)
{
	__u16 old_port = xlb_rw_load16(l4 + port_off), c;

	xlb_rw_store16(l4 + port_off, port);
	if (proto == XLB_RW_PROTO_TCP) {
		if (avail < XLB_RW_TCP_CSUM + 2)
			return;
		c = xlb_rw_load16(l4 + XLB_RW_TCP_CSUM);
		c = xlb_rw_csum_update128(c, old_addr, addr);
		c = xlb_rw_csum_update16(c, old_port, port);
		xlb_rw_store16(l4 + XLB_RW_TCP_CSUM, c);
	} else {
		c = xlb_rw_load16(l4 + XLB_RW_UDP_CSUM);
		if (!c)
			return;
		c = xlb_rw_csum_update128(c, old_addr, addr);
		c = xlb_rw_csum_update16(c, old_port, port);
		xlb_rw_store16(l4 + XLB_RW_UDP_CSUM, xlb_rw_udp_fix(c));
	}
}

/* NAT66 client -> RS: daddr:dport -> addr:port (ip6: 40 bytes; l4 as
 * xlb_rw_nat6_l4, avail the L4 length of a whole datagram). */
XLB_RW_INLINE void xlb_rw_nat6_in(__u8 *ip6, __u8 *l4, __u32 avail,
				  __u8 proto, const __u8 *addr, __u16 port)
{
	__u8 old[16];

	xlb_rw_nat6_ip(ip6, XLB_RW_IP6_DADDR, addr, old);
	xlb_rw_nat6_l4(l4, avail, proto, XLB_RW_L4_DPORT, port, old, addr);
}

/* NAT66 RS -> client: saddr:sport -> addr:port. */
XLB_RW_INLINE void xlb_rw_nat6_out(__u8 *ip6, __u8 *l4, __u32 avail,
				   __u8 proto, const __u8 *addr, __u16 port)
{
	__u8 old[16];

	xlb_rw_nat6_ip(ip6, XLB_RW_IP6_SADDR, addr, old);
	xlb_rw_nat6_l4(l4, avail, proto, XLB_RW_L4_SPORT, port, old, addr);
}

/*
 * The outer flow label TUN6 derives for an inner datagram that has none
 * (an IPv4 one, or an IPv6 one with label 0), so that ECMP between the
 * director and the real servers keeps a flow on one path and spreads
 * flows (RFC 6438): a hash of the inner addresses (alen 4 or 16 bytes
 * each), protocol and the first four transport bytes (the ports; 0 when
 * there are none), never 0. The same on both datapaths.
 */
XLB_RW_INLINE __u32 xlb_rw_flowlabel(const __u8 *saddr, const __u8 *daddr,
				     int alen, __u8 proto, __u32 ports)
{
	__u32 h = 0x9E3779B9u ^ proto;

	for (int i = 0; i < 16; i += 4) {
		if (i >= alen)
			break;
		h = (h ^ xlb_rw_load32(saddr + i)) * 0x85EBCA6Bu;
		h ^= h >> 13;
		h = (h ^ xlb_rw_load32(daddr + i)) * 0xC2B2AE35u;
		h ^= h >> 16;
	}
	h = (h ^ ports) * 0x85EBCA6Bu;
	h ^= h >> 15;
	h &= 0xFFFFF;
	return h ? h : 1;
}

/*
 * Writes the 40-byte outer IPv6 header at oh: traffic class tc, flow label
 * fl (20 bits, host order), payload length plen (host order), next header
 * nh (41: IPv6 inside; 4: IPv4 inside), hop limit hl (0:
 * XLB_RW_TTL_DEFAULT), saddr -> daddr (16 bytes each).
 */
XLB_RW_INLINE void xlb_rw_tun6_outer(__u8 *oh, __u8 tc, __u32 fl, __u16 plen,
				     __u8 nh, __u8 hl, const __u8 *saddr,
				     const __u8 *daddr)
{
	xlb_rw_store32(oh + XLB_RW_IP6_FLOW, xlb_rw_htonl(
			       0x60000000u | (__u32)tc << 20 | (fl & 0xFFFFF)));
	xlb_rw_store16(oh + XLB_RW_IP6_PLEN, xlb_rw_htons(plen));
	oh[XLB_RW_IP6_NEXTHDR] = nh;
	oh[XLB_RW_IP6_HOPLIMIT] = hl ? hl : XLB_RW_TTL_DEFAULT;
	xlb_rw_copy16(oh + XLB_RW_IP6_SADDR, saddr);
	xlb_rw_copy16(oh + XLB_RW_IP6_DADDR, daddr);
}

/*
 * The outer header of a TUN6 packet at oh for the inner datagram at inner
 * (40 bytes each, not overlapping; inner 20 bytes if IPv4): next header
 * 41 or 4 by the inner version, traffic class copied (IPv4: the TOS byte;
 * ECN too, RFC 6040's normal mode), flow label copied when the inner IPv6
 * one is not 0, else fl_derived (xlb_rw_flowlabel()), payload length the
 * inner datagram's length.
 */
XLB_RW_INLINE void xlb_rw_tun6_encap(__u8 *oh, const __u8 *inner,
				     __u32 fl_derived, __u8 hl,
				     const __u8 *saddr, const __u8 *daddr)
{
	__u32 w = xlb_rw_htonl(xlb_rw_load32(inner));

	if ((w >> 28) == 6)
		xlb_rw_tun6_outer(oh, (__u8)(w >> 20),
				  (w & 0xFFFFF) ? (w & 0xFFFFF) : fl_derived,
				  (__u16)(xlb_rw_htons(xlb_rw_load16(
					  inner + XLB_RW_IP6_PLEN)) +
					  XLB_RW_IP6_HLEN),
				  XLB_RW_PROTO_IPV6, hl, saddr, daddr);
	else
		xlb_rw_tun6_outer(oh, inner[XLB_RW_IP_TOS], fl_derived,
				  xlb_rw_htons(xlb_rw_load16(
					  inner + XLB_RW_IP_TOT_LEN)),
				  XLB_RW_PROTO_IPIP, hl, saddr, daddr);
}

#endif /* XLB_REWRITE_H */
