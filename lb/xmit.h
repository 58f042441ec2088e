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
	 * per client. DF set: id 0, as the kernel does. */
	uint16_t *ip_id;
};

typedef int (*xlb_xmit_fn)(struct xlb_frame *f, struct xlb_pkt *p,
			   const struct xlb_xmit_bind *b);

/* DR: destination MAC -> b->dmac, source MAC -> b->smac. Nothing else
 * changes (IP, L4, checksums, VLAN tag). */
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
 *              frag-needed if DF is set, see xlb_icmp_frag_needed())
 *   -ENOSPC    headroom < 20
 * Afterwards *p still describes the inner datagram, at its new offsets. */
int xlb_xmit_tun(struct xlb_frame *f, struct xlb_pkt *p,
		 const struct xlb_xmit_bind *b);

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

#endif /* XLB_XMIT_H */
