/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forwarding methods ("transmit" functions), after IPVS's ip_vs_*_xmit: one
 * function per method, all with the same signature, so the datapath binds
 * one function pointer per connection (struct xlb_xmit_bind + xlb_xmit_fn)
 * and never switches on the method per packet.
 *
 * Each function rewrites a frame already parsed by xlb_pkt_parse() (return
 * value 0) in place, fixing every checksum it affects, and keeps *p in step
 * with the frame. It returns 0 or a negative errno; on error the frame is
 * unchanged. No allocation, no syscall.
 */
#ifndef XLB_XMIT_H
#define XLB_XMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt.h"

#define XLB_TUN_TTL_DEFAULT	64

/* A frame in a UMEM (or any) buffer: data may move back into headroom
 * (TUN) and len may shrink into tailroom (TUN drops Ethernet padding). */
struct xlb_frame {
	uint8_t  *data;
	uint32_t len;
	uint32_t headroom;	/* bytes usable before data */
	uint32_t tailroom;	/* bytes usable after data + len */
};

/* Everything bound once, when a connection is created. Addresses and ports
 * in network order. */
struct xlb_xmit_bind {
	int      ifindex;	/* egress interface (used by the caller) */
	uint8_t  smac[6];	/* director's egress MAC */
	uint8_t  dmac[6];	/* next hop: the RS, or a gateway */
	uint32_t rip;
	uint16_t rport;
	uint32_t vip;
	uint16_t vport;
	uint32_t dip;		/* TUN: outer source address */
	uint8_t  ttl;		/* TUN: outer TTL, 0 = XLB_TUN_TTL_DEFAULT */
	uint16_t mtu;		/* egress MTU (L3 bytes), 0 = unchecked */
	/* TUN: source of outer IP ids when the inner packet has DF clear
	 * (then the outer packet may be fragmented and needs ids that change
	 * packet by packet). Points at a counter owned by one worker; a race
	 * between workers only repeats an id. NULL: the id is derived from
	 * the inner id and inner source address, which change per packet and
	 * per client (xlb_rw_tun_id(), the XDP fast path's rule too: lb/dp.c
	 * binds NULL, so both datapaths give a flow's packets the same ids).
	 * DF set: id 0, as the kernel does. */
	uint16_t *ip_id;

	/* IPv6 (the *6 functions below; zero for IPv4 binds). Addresses as
	 * in the packet. TUN6 carries IPv6 or IPv4 inner datagrams (an IPv4
	 * VIP over an IPv6 real server): rip6/dip6 are the outer addresses
	 * either way, vip/vport or vip6/vport the inner ones. ttl is the
	 * outer hop limit, mtu the egress MTU as for IPv4. */
	union xlb_inaddr rip6;
	union xlb_inaddr vip6;
	union xlb_inaddr dip6;	/* TUN6: outer source; the director's
				 * address Packet Too Big comes from */
};

typedef int (*xlb_xmit_fn)(struct xlb_frame *f, struct xlb_pkt *p,
			   const struct xlb_xmit_bind *b);

/* DR: destination MAC -> b->dmac, source MAC -> b->smac. Nothing else
 * changes (IP, L4, checksums, VLAN tag): IPv4 and IPv6 alike (the hop
 * limit is left as the TTL is; the real server holds the VIP on lo). */
int xlb_xmit_dr(struct xlb_frame *f, struct xlb_pkt *p,
		const struct xlb_xmit_bind *b);

/* NAT, client -> RS: daddr:dport -> rip:rport, MACs as DR. TCP or UDP only
 * (-EPROTONOSUPPORT otherwise). IP and L4 checksums updated incrementally
 * (RFC 1624); a zero UDP checksum stays zero. */
int xlb_xmit_nat_in(struct xlb_frame *f, struct xlb_pkt *p,
		    const struct xlb_xmit_bind *b);

/* NAT, RS -> client: saddr:sport -> vip:vport; MACs to b->dmac (the
 * client-side next hop) from b->smac. */
int xlb_xmit_nat_out(struct xlb_frame *f, struct xlb_pkt *p,
		     const struct xlb_xmit_bind *b);

/* NAT of ICMP errors (p->icmp_err, inner TCP or UDP, else -EPROTONOSUPPORT).
 * The quoted datagram travelled the other way, so:
 *   in:  outer daddr -> rip, inner saddr:sport -> rip:rport
 *   out: outer saddr -> vip, inner daddr:dport -> vip:vport
 * Fixes the outer and inner IP header checksums, the inner UDP/TCP checksum
 * when it is present in the quote (UDP: when non-zero), and recomputes the
 * ICMP checksum over the whole ICMP message. MACs as DR. */
int xlb_xmit_nat_icmp_in(struct xlb_frame *f, struct xlb_pkt *p,
			 const struct xlb_xmit_bind *b);
int xlb_xmit_nat_icmp_out(struct xlb_frame *f, struct xlb_pkt *p,
			  const struct xlb_xmit_bind *b);

/* TUN: IP-in-IP. Puts a 20-byte outer IPv4 header (dip -> rip, protocol 4,
 * TOS and DF copied from the inner header, TTL b->ttl, id per b->ip_id)
 * between the Ethernet header (kept, VLAN tag included) and the untouched
 * inner datagram; MACs as DR. The frame grows 20 bytes into headroom and
 * loses any Ethernet padding. Errors, frame unchanged:
 *   -EMSGSIZE  inner total length + 20 > b->mtu (the caller sends ICMP
 *              frag-needed if DF is set, see xlb_icmp_frag_needed(), and
 *              fragments with xlb_xmit_tun_frag() if not)
 *   -ENOSPC    headroom < 20
 * Afterwards *p still describes the inner datagram, at its new offsets. */
int xlb_xmit_tun(struct xlb_frame *f, struct xlb_pkt *p,
		 const struct xlb_xmit_bind *b);

/* Most outer fragments xlb cuts one TUN datagram into: a frame holds less
 * than 4 KiB, which even the smallest legal MTU (68) carries in 64. */
#define XLB_TUN_FRAG_MAX	64

/*
 * How the datagram of p goes out by TUN over an egress MTU of mtu (L3
 * bytes, 0 = unchecked): 1 = in one packet (xlb_xmit_tun()); n >= 2 = in n
 * outer fragments (xlb_xmit_tun_frag()); -EMSGSIZE = not at all: DF is set
 * (the caller sends ICMP frag-needed), the outer datagram would pass
 * 65,535 bytes, mtu < 68, or more than XLB_TUN_FRAG_MAX fragments.
 */
int xlb_xmit_tun_nfrags(const struct xlb_pkt *p, uint16_t mtu);

/*
 * TUN for a datagram with DF clear that needs n = xlb_xmit_tun_nfrags(p,
 * b->mtu) >= 2 fragments, cut as the kernel's ip_fragment() cuts the
 * encapsulated packet (IPVS's tunnel transmit ends there):
 *  - every fragment has the Ethernet header of xlb_xmit_tun() (MACs as DR,
 *    VLAN tag kept) and a copy of its outer header (dip -> rip, protocol 4,
 *    TOS copied, TTL b->ttl) with outer id `id` (host order; one per
 *    datagram: the caller's), its own total length, its offset in 8-byte
 *    units, MF on all but the last, and its own header checksum;
 *  - the inner datagram is carried untouched, in pieces of
 *    (b->mtu - 20) & ~7 bytes (the last one takes the rest); Ethernet
 *    padding is dropped.
 * Fragment 1 is built in place in f, grown 20 bytes into headroom and cut
 * to the MTU (the rest of the datagram moves into tailroom); fragment k+2
 * is written into out[k] (cap bytes each, k < n_out), its frame length in
 * out_len[k]. Afterwards *p describes the inner datagram at its new
 * offsets, as after xlb_xmit_tun(). Returns n, or a negative errno with f
 * and *p unchanged:
 *   -EMSGSIZE  xlb_xmit_tun_nfrags() is not >= 2, or n - 1 > n_out
 *   -ENOSPC    headroom < 20, or a fragment does not fit in cap
 */
int xlb_xmit_tun_frag(struct xlb_frame *f, struct xlb_pkt *p,
		      const struct xlb_xmit_bind *b, uint16_t id,
		      uint8_t *const out[], uint32_t out_len[], uint32_t n_out,
		      uint32_t cap);

/*
 * Builds into buf[0..cap) an Ethernet frame carrying ICMP "fragmentation
 * needed" (type 3 code 4) for the parsed frame[] (p from xlb_pkt_parse()):
 * MACs swapped, VLAN tag kept, IPv4 from saddr (the director) to p->saddr,
 * TTL 64, next-hop MTU = mtu - 20 (the room left inside the tunnel), and
 * the offending IP header + its first 8 payload bytes. Returns the frame
 * length, or -ENOSPC if cap is too small, -EINVAL if mtu < 68 + 20 (no
 * legal next-hop MTU).
 */
int xlb_icmp_frag_needed(uint8_t *buf, uint32_t cap, const uint8_t *frame,
			 const struct xlb_pkt *p, uint32_t saddr, uint16_t mtu);

/* ---- IPv6 (p from xlb_pkt_parse_dual() with p->af == AF_INET6, except
 * TUN6 which takes both families). Same contract as above: in place, *p
 * kept in step, 0 or a negative errno with the frame unchanged. ---- */

/* NAT66, client -> RS: daddr6:dport -> rip6:rport, MACs as DR. TCP or UDP
 * only (-EPROTONOSUPPORT otherwise, and for an IPv4 p). The L4 checksum is
 * updated incrementally (RFC 1624 over the pseudo-header's address); a
 * zero UDP checksum (invalid in IPv6: the parser refuses it) is computed
 * whole, never kept. Extension headers are kept as they are. */
int xlb_xmit_nat6_in(struct xlb_frame *f, struct xlb_pkt *p,
		     const struct xlb_xmit_bind *b);

/* NAT66, RS -> client: saddr6:sport -> vip6:vport. */
int xlb_xmit_nat6_out(struct xlb_frame *f, struct xlb_pkt *p,
		      const struct xlb_xmit_bind *b);

/* NAT66 of ICMPv6 errors (types 1..4 with p->icmp_err, inner TCP or UDP,
 * else -EPROTONOSUPPORT), as xlb_xmit_nat_icmp_in/out:
 *   in:  outer daddr6 -> rip6, inner saddr6:sport -> rip6:rport
 *   out: outer saddr6 -> vip6, inner daddr6:dport -> vip6:vport
 * The inner TCP/UDP checksum is updated when the quote holds it (UDP:
 * when non-zero), and the ICMPv6 checksum, which covers the outer
 * pseudo-header, recomputed over the whole message. MACs as DR. */
int xlb_xmit_nat6_icmp_in(struct xlb_frame *f, struct xlb_pkt *p,
			  const struct xlb_xmit_bind *b);
int xlb_xmit_nat6_icmp_out(struct xlb_frame *f, struct xlb_pkt *p,
			   const struct xlb_xmit_bind *b);

/*
 * TUN6: puts a 40-byte outer IPv6 header (dip6 -> rip6, hop limit b->ttl
 * or 64, next header 41 for an IPv6 datagram, 4 for an IPv4 one; traffic
 * class copied (IPv4: the TOS byte); flow label copied when the inner IPv6
 * one is not 0, else derived from the inner addresses, protocol and ports
 * by xlb_rw_flowlabel()) between the Ethernet header (kept, VLAN tag and
 * kept but the EtherType, which becomes 0x86DD) and the untouched inner
 * datagram; MACs as DR. The frame grows 40 bytes into headroom and loses
 * any Ethernet padding. Errors, frame unchanged:
 *   -EMSGSIZE  inner length + 40 > b->mtu (IPv6 is never fragmented on
 *              the way: the caller sends Packet Too Big, see
 *              xlb_icmp6_pkt_too_big(); an IPv4 datagram with DF gets
 *              xlb_icmp_frag_needed_tun6(), one without is dropped: xlb
 *              does not fragment into IPv6), or over 65,535 bytes
 *   -ENOSPC    headroom < 40
 * Afterwards *p still describes the inner datagram, at its new offsets.
 */
int xlb_xmit_tun6(struct xlb_frame *f, struct xlb_pkt *p,
		  const struct xlb_xmit_bind *b);

/* Whether xlb_xmit_tun6() can send p over an egress MTU of mtu (0 =
 * unchecked): 0, or -EMSGSIZE (too big once encapsulated: Packet Too Big
 * or frag-needed, see above), -EPROTONOSUPPORT (p is neither family). The
 * scheduler's check before it makes an entry, as xlb_xmit_tun_nfrags(). */
int xlb_xmit_tun6_check(const struct xlb_pkt *p, uint16_t mtu);

/*
 * Builds into buf[0..cap) an Ethernet frame carrying ICMPv6 "Packet Too
 * Big" (type 2, code 0, RFC 4443 3.2) for the parsed IPv6 frame[] (p from
 * xlb_pkt_parse_dual()): MACs swapped, VLAN tag kept, IPv6 from saddr (16
 * bytes: the director) to p->saddr6, hop limit 64, MTU = mtu - 40 (the
 * room inside the tunnel), and as much of the offending datagram as keeps
 * the ICMPv6 packet within 1280 bytes (RFC 4443 2.4(c)). Returns the frame
 * length, -ENOSPC if cap is too small, -EINVAL if mtu - 40 < 1280 (no legal
 * IPv6 MTU) or p is not IPv6. Rate-limit it with xlb_icmp_limit_allow() as
 * frag-needed.
 */
int xlb_icmp6_pkt_too_big(uint8_t *buf, uint32_t cap, const uint8_t *frame,
			  const struct xlb_pkt *p, const void *saddr,
			  uint16_t mtu);

/* frag-needed for an IPv4 datagram that does not fit into TUN6 (IPv4 in
 * IPv6, 40 bytes of outer header): as xlb_icmp_frag_needed() with
 * next-hop MTU = mtu - 40; -EINVAL if that is below 68. */
int xlb_icmp_frag_needed_tun6(uint8_t *buf, uint32_t cap, const uint8_t *frame,
			      const struct xlb_pkt *p, uint32_t saddr,
			      uint16_t mtu);

/*
 * The rate limit on ICMP errors xlb generates, after the kernel's global
 * ICMP limit (icmp_global_allow(): net.ipv4.icmp_msgs_per_sec = 1000,
 * icmp_msgs_burst = 50): a token bucket of `burst` tokens refilled at
 * `per_sec` tokens a second, one token per message. So spoofed oversized
 * DF packets cannot make the director reflect errors at line rate.
 * (Linux exempts frag-needed from its own limits; a director answers for
 * every VIP and real server behind it, so xlb does not.) One per worker,
 * no lock: only its worker calls it.
 */
#define XLB_ICMP_RATE_DEFAULT	1000	/* per second */
#define XLB_ICMP_BURST_DEFAULT	50

struct xlb_icmp_limit {
	uint32_t per_sec;
	uint32_t burst;
	uint32_t credit;	/* tokens left, <= burst */
	uint32_t frac;		/* refill carried over: per_sec x ms, < 1000 */
	uint64_t stamp_ms;	/* last refill */
};

/* A full bucket at now_ms. per_sec 0: nothing is ever allowed. */
void xlb_icmp_limit_init(struct xlb_icmp_limit *l, uint32_t per_sec,
			 uint32_t burst, uint64_t now_ms);

/* Takes a token if there is one at now_ms (a monotonic clock in ms; a
 * clock that goes back refills nothing). */
bool xlb_icmp_limit_allow(struct xlb_icmp_limit *l, uint64_t now_ms);

#endif /* XLB_XMIT_H */
