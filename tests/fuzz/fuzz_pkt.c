// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the frame parser and every transmit function.
 *
 * The input is one Ethernet frame. If it parses (0), each forwarding method
 * of xmit.h runs on its own copy, placed in a buffer of exactly headroom +
 * frame + tailroom bytes (so ASan sees any write outside it), and the result
 * is checked with invariants that must hold for every frame:
 *   - a rewritten frame parses again, to what the rewrite left in *p;
 *   - DR changes the two MAC addresses and nothing else;
 *   - NAT puts the bound address/port where it belongs, and a checksum that
 *     verified before the rewrite (computed from scratch here, not with
 *     csum.c) verifies after it; an ICMP error's ICMP checksum always does;
 *   - TUN's outer header is a valid IPv4 header DIP -> RIP, protocol 4, and
 *     the frame without those 20 bytes parses exactly as the original did;
 *   - TUN's outer fragments (DF clear, over the MTU) are valid headers with
 *     one id, contiguous offsets and MF on all but the last, and carry the
 *     datagram exactly;
 *   - an ICMP frag-needed built for the frame parses as one that quotes it.
 * IPv6 (xlb_pkt_parse_dual()): an IPv4 frame parses exactly as with
 * xlb_pkt_parse(); an IPv6 one goes through DR, the four NAT66 functions,
 * TUN6 and Packet Too Big with the same kind of invariants (checksums over
 * the IPv6 pseudo-header, computed here), and TUN6 takes IPv4 frames too
 * (IPv4-in-IPv6).
 * The bind (MTU, TTL, headroom...) comes from the last bytes of the input,
 * so seeds stay plain frames. A violation is __builtin_trap().
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "pkt.h"
#include "xmit.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_pkt: invariant failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);		\
			__builtin_trap();				\
		}							\
	} while (0)

/* Independent one's complement sum (RFC 1071), network-order words. */
static uint32_t sum16(uint32_t s, const uint8_t *b, size_t n)
{
	for (; n >= 2; b += 2, n -= 2)
		s += (uint32_t)b[0] << 8 | b[1];
	if (n)
		s += (uint32_t)b[0] << 8;
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return s;
}

static bool csum_ok(const uint8_t *b, size_t n)
{
	return sum16(0, b, n) == 0xFFFF;
}

static uint32_t pseudo(uint32_t saddr, uint32_t daddr, uint8_t proto, uint16_t len)
{
	uint8_t ph[12];

	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(len >> 8);
	ph[11] = (uint8_t)len;
	return sum16(0, ph, sizeof(ph));
}

static uint32_t pseudo6(const union xlb_inaddr *s, const union xlb_inaddr *d,
			uint8_t proto, uint32_t len)
{
	uint8_t ph[40] = { 0 };

	memcpy(ph, s, 16);
	memcpy(ph + 16, d, 16);
	ph[32] = (uint8_t)(len >> 24);
	ph[33] = (uint8_t)(len >> 16);
	ph[34] = (uint8_t)(len >> 8);
	ph[35] = (uint8_t)len;
	ph[39] = proto;
	return sum16(0, ph, sizeof(ph));
}

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* Checksum state of a parsed frame, to compare before / after a rewrite. */
struct csums {
	bool ip;		/* outer IP header verifies */
	bool l4_known;		/* whole TCP/UDP datagram here (not a fragment) */
	bool l4;		/* ... and its checksum verifies */
	bool udp_zero;		/* UDP without checksum */
	bool inner_ip;		/* ICMP error: quoted IP header verifies */
	bool icmp;		/* ICMP checksum verifies */
};

static void csums_get(const uint8_t *d, const struct xlb_pkt *p, struct csums *c)
{
	const uint8_t *l4 = d + p->l4_off;

	memset(c, 0, sizeof(*c));
	c->ip = csum_ok(d + p->l3_off, p->ihl);
	if (!p->mf && !p->frag_nonfirst &&
	    (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		/* UDP covers its own length (the rest of the IP payload is
		 * padding); TCP the whole IP payload. */
		uint16_t len = p->proto == IPPROTO_UDP ? rd16(l4 + 4) : p->l4_len;

		c->l4_known = true;
		c->udp_zero = p->proto == IPPROTO_UDP && !rd16(l4 + 6);
		c->l4 = sum16(pseudo(p->saddr, p->daddr, p->proto, len), l4, len) == 0xFFFF;
	}
	if (p->proto == IPPROTO_ICMP) {
		c->icmp = csum_ok(l4, p->l4_len);
		if (p->icmp_err)
			c->inner_ip = csum_ok(d + p->inner_l3_off, p->inner_ihl);
	}
}

/* The parse of a rewritten frame must agree with what the rewrite says. */
static void same_pkt(const struct xlb_pkt *a, const struct xlb_pkt *b)
{
#define EQ(f) CHECK(a->f == b->f)
	EQ(l3_off); EQ(has_vlan); EQ(vlan_tci);
	EQ(ihl); EQ(tos); EQ(ttl); EQ(proto); EQ(ip_len); EQ(ip_id);
	EQ(frag_off); EQ(df); EQ(mf); EQ(frag_nonfirst);
	EQ(saddr); EQ(daddr);
	EQ(l4_off); EQ(l4_len); EQ(l4_hlen); EQ(sport); EQ(dport);
	EQ(tcp_flags); EQ(icmp_type); EQ(icmp_code); EQ(icmp_id);
	EQ(icmp_err);
	if (a->icmp_err) {
		EQ(inner_frag_nonfirst); EQ(inner_ihl); EQ(inner_proto);
		EQ(inner_l3_off); EQ(inner_l4_off); EQ(inner_l4_avail);
		EQ(inner_saddr); EQ(inner_daddr); EQ(inner_sport); EQ(inner_dport);
	}
#undef EQ
}

/* A frame copy in a buffer of exactly headroom + len + tailroom bytes. */
struct fbuf {
	uint8_t *mem;
	struct xlb_frame f;
};

static void fbuf_init(struct fbuf *fb, const uint8_t *data, uint32_t len,
		      uint32_t headroom, uint32_t tailroom)
{
	fb->mem = malloc(headroom + len + tailroom + 1);	/* +1: len 0 */
	if (!fb->mem)
		abort();
	memset(fb->mem, 0xA5, headroom + len + tailroom);
	memcpy(fb->mem + headroom, data, len);
	fb->f = (struct xlb_frame){ .data = fb->mem + headroom, .len = len,
				    .headroom = headroom, .tailroom = tailroom };
}

/* The bind and the buffer geometry, from the last 8 bytes of the input. */
struct setup {
	struct xlb_xmit_bind b;
	uint16_t id_ctr;
	uint32_t headroom, tailroom;
	uint32_t icmp_cap;
};

static void setup_get(const uint8_t *data, size_t size, struct setup *s)
{
	static const uint32_t headrooms[] = { 256, 20, 19, 0 };
	uint8_t t[8] = { 0 };
	size_t n = size < sizeof(t) ? size : sizeof(t);

	memcpy(t + sizeof(t) - n, data + size - n, n);
	memset(s, 0, sizeof(*s));
	s->b.ifindex = 2;
	memcpy(s->b.smac, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(s->b.dmac, "\x02\x00\x00\x00\x00\x02", 6);
	s->b.rip = htonl(0x0a000100 | t[0]);		/* 10.0.1.x */
	s->b.rport = htons(t[1] & 1 ? 8080 : 80);
	s->b.vip = htonl(0xc0a80001 + (t[2] & 3));	/* 192.168.0.1.. */
	s->b.vport = htons(t[2] & 4 ? 443 : 80);
	s->b.dip = htonl(0x0a000001);
	s->b.ttl = t[3] & 1 ? 0 : t[3];
	s->b.mtu = rd16(t + 4);
	s->id_ctr = rd16(t + 6);
	s->b.ip_id = t[3] & 2 ? &s->id_ctr : NULL;
	/* 2001:db8:10::x, 2001:db8::1.., 2001:db8:10::1 */
	memcpy(s->b.rip6.b, "\x20\x01\x0d\xb8\x00\x10\0\0\0\0\0\0\0\0\0", 16);
	s->b.rip6.b[15] = t[0];
	memcpy(s->b.vip6.b, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0", 16);
	s->b.vip6.b[15] = (uint8_t)(1 + (t[2] & 3));
	memcpy(s->b.dip6.b, "\x20\x01\x0d\xb8\x00\x10\0\0\0\0\0\0\0\0\0\x01", 16);
	s->headroom = headrooms[t[2] >> 6];
	s->tailroom = t[1] & 2 ? 4096 - 256 - 1518 : 0;
	s->icmp_cap = t[1] & 4 ? 256 : (uint32_t)(t[0] & 0x7F);
}

static void check_dr(const uint8_t *data, uint32_t len, const struct xlb_pkt *p0,
		     const struct setup *s)
{
	struct fbuf fb;
	struct xlb_pkt p = *p0, q;

	fbuf_init(&fb, data, len, s->headroom, s->tailroom);
	CHECK(xlb_xmit_dr(&fb.f, &p, &s->b) == 0);
	CHECK(fb.f.len == len && fb.f.data == fb.mem + s->headroom);
	CHECK(!memcmp(fb.f.data, s->b.dmac, 6) && !memcmp(fb.f.data + 6, s->b.smac, 6));
	CHECK(!memcmp(fb.f.data + 12, data + 12, len - 12));
	CHECK(xlb_pkt_parse(fb.f.data, fb.f.len, &q) == XLB_PKT_OK);
	same_pkt(&p, &q);
	free(fb.mem);
}

enum nat_dir { NAT_IN, NAT_OUT, NAT_ICMP_IN, NAT_ICMP_OUT };

static void check_nat(const uint8_t *data, uint32_t len, const struct xlb_pkt *p0,
		      const struct setup *s, enum nat_dir dir)
{
	static const xlb_xmit_fn fns[] = { xlb_xmit_nat_in, xlb_xmit_nat_out,
					   xlb_xmit_nat_icmp_in, xlb_xmit_nat_icmp_out };
	struct fbuf fb;
	struct xlb_pkt p = *p0, q;
	struct csums before, after;
	int ret;

	fbuf_init(&fb, data, len, s->headroom, s->tailroom);
	csums_get(fb.f.data, p0, &before);
	ret = fns[dir](&fb.f, &p, &s->b);
	CHECK(ret == 0 || ret == -EPROTONOSUPPORT);
	CHECK(fb.f.len == len && fb.f.data == fb.mem + s->headroom);
	if (ret) {
		CHECK(!memcmp(fb.f.data, data, len));	/* unchanged on error */
		free(fb.mem);
		return;
	}
	CHECK(!memcmp(fb.f.data, s->b.dmac, 6) && !memcmp(fb.f.data + 6, s->b.smac, 6));
	CHECK(xlb_pkt_parse(fb.f.data, fb.f.len, &q) == XLB_PKT_OK);
	same_pkt(&p, &q);
	csums_get(fb.f.data, &q, &after);
	if (before.ip)
		CHECK(after.ip);

	switch (dir) {
	case NAT_IN:
		CHECK(q.daddr == s->b.rip && q.dport == s->b.rport);
		CHECK(q.saddr == p0->saddr && q.sport == p0->sport);
		break;
	case NAT_OUT:
		CHECK(q.saddr == s->b.vip && q.sport == s->b.vport);
		CHECK(q.daddr == p0->daddr && q.dport == p0->dport);
		break;
	case NAT_ICMP_IN:
		CHECK(q.daddr == s->b.rip && q.saddr == p0->saddr);
		CHECK(q.inner_saddr == s->b.rip && q.inner_sport == s->b.rport);
		CHECK(q.inner_daddr == p0->inner_daddr && q.inner_dport == p0->inner_dport);
		break;
	case NAT_ICMP_OUT:
		CHECK(q.saddr == s->b.vip && q.daddr == p0->daddr);
		CHECK(q.inner_daddr == s->b.vip && q.inner_dport == s->b.vport);
		CHECK(q.inner_saddr == p0->inner_saddr && q.inner_sport == p0->inner_sport);
		break;
	}
	if (dir == NAT_IN || dir == NAT_OUT) {
		if (before.l4_known && before.udp_zero)
			CHECK(after.udp_zero);		/* stays "no checksum" */
		else if (before.l4_known && before.l4)
			CHECK(after.l4 && !after.udp_zero);
	} else {
		CHECK(after.icmp);			/* recomputed whole */
		if (before.inner_ip)
			CHECK(after.inner_ip);
	}
	free(fb.mem);
}

static void check_tun(const uint8_t *data, uint32_t len, const struct xlb_pkt *p0,
		      const struct setup *s)
{
	struct fbuf fb;
	struct xlb_pkt p = *p0, q;
	uint32_t l2 = p0->l3_off, tot = (uint32_t)p0->ip_len + XLB_IPIP_HLEN;
	uint8_t ttl = s->b.ttl ? s->b.ttl : XLB_TUN_TTL_DEFAULT;
	const uint8_t *oh;
	uint8_t *inner;
	int ret;

	fbuf_init(&fb, data, len, s->headroom, s->tailroom);
	ret = xlb_xmit_tun(&fb.f, &p, &s->b);
	if (tot > 0xFFFF || (s->b.mtu && tot > s->b.mtu))
		CHECK(ret == -EMSGSIZE);
	else if (s->headroom < XLB_IPIP_HLEN)
		CHECK(ret == -ENOSPC);
	else
		CHECK(ret == 0);
	if (ret) {
		CHECK(fb.f.data == fb.mem + s->headroom && fb.f.len == len);
		CHECK(!memcmp(fb.f.data, data, len));
		free(fb.mem);
		return;
	}
	CHECK(fb.f.data == fb.mem + s->headroom - XLB_IPIP_HLEN);
	CHECK(fb.f.headroom == s->headroom - XLB_IPIP_HLEN);
	CHECK(fb.f.len == l2 + tot);
	CHECK(fb.f.headroom + fb.f.len + fb.f.tailroom == s->headroom + len + s->tailroom);
	CHECK(!memcmp(fb.f.data, s->b.dmac, 6) && !memcmp(fb.f.data + 6, s->b.smac, 6));
	CHECK(!memcmp(fb.f.data + 12, data + 12, l2 - 12));	/* VLAN tag, EtherType */

	/* The outer header, read from scratch. */
	oh = fb.f.data + l2;
	CHECK(oh[0] == 0x45 && oh[9] == IPPROTO_IPIP && oh[8] == ttl);
	CHECK(rd16(oh + 2) == tot && csum_ok(oh, XLB_IPIP_HLEN));
	CHECK((rd16(oh + 6) & ~XLB_IP_DF) == 0);
	CHECK(!!(rd16(oh + 6) & XLB_IP_DF) == p0->df);
	CHECK(!memcmp(oh + 12, &s->b.dip, 4) && !memcmp(oh + 16, &s->b.rip, 4));
	CHECK(xlb_pkt_parse(fb.f.data, fb.f.len, &q) == XLB_PKT_OK);
	CHECK(q.proto == IPPROTO_IPIP && q.ip_len == tot && q.saddr == s->b.dip &&
	      q.daddr == s->b.rip && q.l4_off == l2 + XLB_IPIP_HLEN);

	/* *p describes the inner datagram at its new place... */
	CHECK(p.l3_off == p0->l3_off + XLB_IPIP_HLEN && p.l4_off == p0->l4_off + XLB_IPIP_HLEN);
	CHECK(!memcmp(fb.f.data + p.l3_off, data + p0->l3_off, p0->ip_len));
	/* ...which, with the outer header stripped, parses as before. */
	inner = malloc(l2 + p0->ip_len);
	if (!inner)
		abort();
	memcpy(inner, fb.f.data, l2);
	memcpy(inner + l2, fb.f.data + l2 + XLB_IPIP_HLEN, p0->ip_len);
	CHECK(xlb_pkt_parse(inner, l2 + p0->ip_len, &q) == XLB_PKT_OK);
	same_pkt(p0, &q);
	free(inner);
	free(fb.mem);
}

/* TUN in outer fragments: each one a valid IPv4 header DIP -> RIP with the
 * datagram's id, contiguous 8-byte-unit offsets, MF on all but the last,
 * within the MTU; the pieces concatenated are the inner datagram; each
 * output buffer is exactly as large as the largest fragment (ASan). */
static void check_tun_frag(const uint8_t *data, uint32_t len,
			   const struct xlb_pkt *p0, const struct setup *s)
{
	uint8_t *out[XLB_TUN_FRAG_MAX - 1];
	uint32_t out_len[XLB_TUN_FRAG_MAX - 1];
	uint32_t l2 = p0->l3_off, tot = (uint32_t)p0->ip_len + XLB_IPIP_HLEN;
	uint32_t step, cap, off = 0, k;
	uint16_t id = (uint16_t)(s->id_ctr * 3 + 1);
	struct xlb_pkt p = *p0;
	struct fbuf fb;
	int n, ret;

	n = xlb_xmit_tun_nfrags(p0, s->b.mtu);
	if (tot > 0xFFFF)
		CHECK(n == -EMSGSIZE);
	else if (!s->b.mtu || tot <= s->b.mtu)
		CHECK(n == 1);
	else if (p0->df || s->b.mtu < 68)
		CHECK(n == -EMSGSIZE);
	else
		CHECK(n == -EMSGSIZE || (n >= 2 && n <= XLB_TUN_FRAG_MAX));
	if (n < 2)
		return;
	step = (uint32_t)(s->b.mtu - XLB_IPIP_HLEN) & ~7u;
	CHECK((uint32_t)(n - 1) * step < p0->ip_len && (uint32_t)n * step >= p0->ip_len);
	/* A buffer one byte short of the second fragment when t[1] & 8. */
	cap = l2 + XLB_IPIP_HLEN + (p0->ip_len - step < step ? p0->ip_len - step : step);
	if (s->icmp_cap & 8)
		cap--;
	for (k = 0; k < (uint32_t)n - 1; k++) {
		out[k] = malloc(cap);
		if (!out[k])
			abort();
	}
	fbuf_init(&fb, data, len, s->headroom, s->tailroom);
	ret = xlb_xmit_tun_frag(&fb.f, &p, &s->b, id, out, out_len,
				(uint32_t)n - 1, cap);
	if (s->headroom < XLB_IPIP_HLEN || (s->icmp_cap & 8))
		CHECK(ret == -ENOSPC);
	else
		CHECK(ret == n);
	if (ret < 0) {
		CHECK(fb.f.data == fb.mem + s->headroom && fb.f.len == len);
		CHECK(!memcmp(fb.f.data, data, len));
		CHECK(p.l3_off == p0->l3_off && p.l4_off == p0->l4_off);
		goto out;
	}
	CHECK(p.l3_off == p0->l3_off + XLB_IPIP_HLEN && p.l4_off == p0->l4_off + XLB_IPIP_HLEN);
	CHECK(fb.f.headroom + fb.f.len + fb.f.tailroom == s->headroom + len + s->tailroom);
	for (k = 0; k < (uint32_t)n; k++) {
		const uint8_t *f = k ? out[k - 1] : fb.f.data;
		uint32_t flen = k ? out_len[k - 1] : fb.f.len;
		const uint8_t *oh = f + l2;
		bool last = k == (uint32_t)n - 1;
		uint32_t chunk = flen - l2 - XLB_IPIP_HLEN;

		CHECK(flen > l2 + XLB_IPIP_HLEN && flen - l2 <= s->b.mtu && flen <= (k ? cap : flen));
		CHECK(!memcmp(f, s->b.dmac, 6) && !memcmp(f + 6, s->b.smac, 6));
		CHECK(!memcmp(f + 12, data + 12, l2 - 12));
		CHECK(oh[0] == 0x45 && oh[9] == IPPROTO_IPIP && csum_ok(oh, XLB_IPIP_HLEN));
		CHECK(rd16(oh + 2) == flen - l2 && rd16(oh + 4) == id);
		CHECK(rd16(oh + 6) == ((last ? 0 : XLB_IP_MF) | (off >> 3)));
		CHECK(!memcmp(oh + 12, &s->b.dip, 4) && !memcmp(oh + 16, &s->b.rip, 4));
		CHECK(last ? chunk == p0->ip_len - off : chunk == step);
		CHECK(!memcmp(oh + XLB_IPIP_HLEN, data + l2 + off, chunk));
		off += chunk;
	}
	CHECK(off == p0->ip_len);
out:
	for (k = 0; k < (uint32_t)n - 1; k++)
		free(out[k]);
	free(fb.mem);
}

static void check_frag_needed(const uint8_t *data, const struct xlb_pkt *p0,
			      const struct setup *s)
{
	uint32_t l2 = p0->l3_off;
	uint32_t quote = p0->ihl + 8u < p0->ip_len ? p0->ihl + 8u : p0->ip_len;
	uint32_t n = l2 + XLB_IP_HLEN + 8 + quote;
	uint32_t saddr = htonl(0x0a000001);
	uint8_t *buf = malloc(s->icmp_cap + 1);
	struct xlb_pkt q;
	int ret;

	if (!buf)
		abort();
	ret = xlb_icmp_frag_needed(buf, s->icmp_cap, data, p0, saddr, s->b.mtu);
	if (s->b.mtu < 68 + XLB_IPIP_HLEN)
		CHECK(ret == -EINVAL);
	else if (n > s->icmp_cap)
		CHECK(ret == -ENOSPC);
	else
		CHECK(ret == (int)n);
	if (ret < 0) {
		free(buf);
		return;
	}
	CHECK(!memcmp(buf, data + 6, 6) && !memcmp(buf + 6, data, 6));
	/* The quote must hold the IP header and 8 bytes for the error to
	 * carry an inner header (RFC 792); a shorter datagram makes a shorter
	 * quote, which the parser rightly calls truncated. */
	ret = xlb_pkt_parse(buf, n, &q);
	if (p0->ip_len < p0->ihl + 8u) {
		CHECK(ret == XLB_PKT_E_ICMP_INNER_TRUNC);
		free(buf);
		return;
	}
	CHECK(ret == XLB_PKT_OK);
	CHECK(q.proto == IPPROTO_ICMP && q.icmp_type == XLB_ICMP_DEST_UNREACH &&
	      q.icmp_code == XLB_ICMP_FRAG_NEEDED && q.icmp_err);
	CHECK(q.saddr == saddr && q.daddr == p0->saddr && q.ttl == 64);
	CHECK(q.has_vlan == p0->has_vlan && q.vlan_tci == p0->vlan_tci);
	CHECK(csum_ok(buf + q.l3_off, q.ihl) && csum_ok(buf + q.l4_off, q.l4_len));
	CHECK(rd16(buf + q.l4_off + 6) == s->b.mtu - XLB_IPIP_HLEN);
	CHECK(q.inner_saddr == p0->saddr && q.inner_daddr == p0->daddr &&
	      q.inner_proto == p0->proto && q.inner_ihl == p0->ihl);
	CHECK(!memcmp(buf + q.inner_l3_off, data + p0->l3_off, quote));
	free(buf);
}

/* ---- IPv6 ---- */

static void same_pkt6(const struct xlb_pkt *a, const struct xlb_pkt *b)
{
	same_pkt(a, b);
	CHECK(a->af == b->af);
	CHECK(!memcmp(&a->saddr6, &b->saddr6, 16) && !memcmp(&a->daddr6, &b->daddr6, 16));
	CHECK(a->flow_lbl == b->flow_lbl && a->ip6_ext_len == b->ip6_ext_len &&
	      a->ip6_n_ext == b->ip6_n_ext && a->icmp6_nd == b->icmp6_nd);
	if (a->icmp_err)
		CHECK(!memcmp(&a->inner_saddr6, &b->inner_saddr6, 16) &&
		      !memcmp(&a->inner_daddr6, &b->inner_daddr6, 16));
}

struct csums6 {
	bool l4_known, l4, icmp;
};

static void csums6_get(const uint8_t *d, const struct xlb_pkt *p, struct csums6 *c)
{
	const uint8_t *l4 = d + p->l4_off;

	memset(c, 0, sizeof(*c));
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		uint16_t len = p->proto == IPPROTO_UDP ? rd16(l4 + 4) : p->l4_len;

		c->l4_known = true;
		c->l4 = sum16(pseudo6(&p->saddr6, &p->daddr6, p->proto, len), l4, len) == 0xFFFF;
	}
	if (p->proto == IPPROTO_ICMPV6)
		c->icmp = sum16(pseudo6(&p->saddr6, &p->daddr6, IPPROTO_ICMPV6, p->l4_len),
				l4, p->l4_len) == 0xFFFF;
}

static void check_dr6(const uint8_t *data, uint32_t len, const struct xlb_pkt *p0,
		      const struct setup *s)
{
	struct fbuf fb;
	struct xlb_pkt p = *p0, q;

	fbuf_init(&fb, data, len, s->headroom, s->tailroom);
	CHECK(xlb_xmit_dr(&fb.f, &p, &s->b) == 0);
	CHECK(fb.f.len == len && !memcmp(fb.f.data + 12, data + 12, len - 12));
	CHECK(!memcmp(fb.f.data, s->b.dmac, 6) && !memcmp(fb.f.data + 6, s->b.smac, 6));
	CHECK(xlb_pkt_parse_dual(fb.f.data, fb.f.len, &q) == XLB_PKT_OK);
	same_pkt6(&p, &q);
	free(fb.mem);
}

static void check_nat6(const uint8_t *data, uint32_t len, const struct xlb_pkt *p0,
		       const struct setup *s, enum nat_dir dir)
{
	static const xlb_xmit_fn fns[] = { xlb_xmit_nat6_in, xlb_xmit_nat6_out,
					   xlb_xmit_nat6_icmp_in, xlb_xmit_nat6_icmp_out };
	const union xlb_inaddr *rip = &s->b.rip6, *vip = &s->b.vip6;
	struct fbuf fb;
	struct xlb_pkt p = *p0, q;
	struct csums6 before, after;
	int ret;

	fbuf_init(&fb, data, len, s->headroom, s->tailroom);
	csums6_get(fb.f.data, p0, &before);
	ret = fns[dir](&fb.f, &p, &s->b);
	CHECK(ret == 0 || ret == -EPROTONOSUPPORT);
	CHECK(fb.f.len == len && fb.f.data == fb.mem + s->headroom);
	if (ret) {
		CHECK(!memcmp(fb.f.data, data, len));
		free(fb.mem);
		return;
	}
	CHECK(xlb_pkt_parse_dual(fb.f.data, fb.f.len, &q) == XLB_PKT_OK);
	same_pkt6(&p, &q);
	csums6_get(fb.f.data, &q, &after);
	switch (dir) {
	case NAT_IN:
		CHECK(!memcmp(&q.daddr6, rip, 16) && q.dport == s->b.rport);
		CHECK(!memcmp(&q.saddr6, &p0->saddr6, 16) && q.sport == p0->sport);
		break;
	case NAT_OUT:
		CHECK(!memcmp(&q.saddr6, vip, 16) && q.sport == s->b.vport);
		CHECK(!memcmp(&q.daddr6, &p0->daddr6, 16) && q.dport == p0->dport);
		break;
	case NAT_ICMP_IN:
		CHECK(!memcmp(&q.daddr6, rip, 16) && !memcmp(&q.saddr6, &p0->saddr6, 16));
		CHECK(!memcmp(&q.inner_saddr6, rip, 16) && q.inner_sport == s->b.rport);
		CHECK(!memcmp(&q.inner_daddr6, &p0->inner_daddr6, 16) &&
		      q.inner_dport == p0->inner_dport);
		break;
	case NAT_ICMP_OUT:
		CHECK(!memcmp(&q.saddr6, vip, 16) && !memcmp(&q.daddr6, &p0->daddr6, 16));
		CHECK(!memcmp(&q.inner_daddr6, vip, 16) && q.inner_dport == s->b.vport);
		CHECK(!memcmp(&q.inner_saddr6, &p0->inner_saddr6, 16) &&
		      q.inner_sport == p0->inner_sport);
		break;
	}
	if (dir == NAT_IN || dir == NAT_OUT) {
		if (before.l4_known && before.l4)
			CHECK(after.l4);
	} else {
		CHECK(after.icmp);
	}
	free(fb.mem);
}

/* TUN6, for IPv6 and IPv4 frames alike. */
static void check_tun6(const uint8_t *data, uint32_t len, const struct xlb_pkt *p0,
		       const struct setup *s)
{
	struct fbuf fb;
	struct xlb_pkt p = *p0, q;
	uint32_t l2 = p0->l3_off, tot = (uint32_t)p0->ip_len + 40;
	uint8_t hl = s->b.ttl ? s->b.ttl : XLB_TUN_TTL_DEFAULT;
	const uint8_t *oh;
	uint8_t *inner;
	int ret;

	fbuf_init(&fb, data, len, s->headroom, s->tailroom);
	ret = xlb_xmit_tun6(&fb.f, &p, &s->b);
	if (tot > 0xFFFF || (s->b.mtu && tot > s->b.mtu))
		CHECK(ret == -EMSGSIZE);
	else if (s->headroom < 40)
		CHECK(ret == -ENOSPC);
	else
		CHECK(ret == 0);
	if (ret) {
		CHECK(fb.f.data == fb.mem + s->headroom && fb.f.len == len);
		CHECK(!memcmp(fb.f.data, data, len));
		free(fb.mem);
		return;
	}
	CHECK(fb.f.data == fb.mem + s->headroom - 40 && fb.f.len == l2 + tot);
	CHECK(fb.f.headroom + fb.f.len + fb.f.tailroom == s->headroom + len + s->tailroom);
	CHECK(!memcmp(fb.f.data, s->b.dmac, 6) && !memcmp(fb.f.data + 6, s->b.smac, 6));
	CHECK(!memcmp(fb.f.data + 12, data + 12, l2 - 14));	/* VLAN tag */
	CHECK(rd16(fb.f.data + l2 - 2) == XLB_ETH_P_IPV6);
	oh = fb.f.data + l2;
	CHECK((oh[0] >> 4) == 6 && rd16(oh + 4) == p0->ip_len && oh[7] == hl);
	CHECK(oh[6] == (p0->af == AF_INET6 ? 41 : 4));
	CHECK((rd16(oh) >> 4 & 0xFF) == p0->tos);
	CHECK(((uint32_t)(oh[1] & 0x0F) << 16 | rd16(oh + 2)) != 0);
	if (p0->af == AF_INET6 && p0->flow_lbl)
		CHECK(((uint32_t)(oh[1] & 0x0F) << 16 | rd16(oh + 2)) == p0->flow_lbl);
	CHECK(!memcmp(oh + 8, &s->b.dip6, 16) && !memcmp(oh + 24, &s->b.rip6, 16));
	ret = xlb_pkt_parse_dual(fb.f.data, fb.f.len, &q);
	CHECK(ret == XLB_PKT_OK);
	CHECK(q.af == AF_INET6 && q.proto == oh[6] && q.ip_len == tot &&
	      q.l4_off == l2 + 40 && !memcmp(&q.saddr6, &s->b.dip6, 16));
	CHECK(p.l3_off == p0->l3_off + 40 && p.l4_off == p0->l4_off + 40);
	CHECK(!memcmp(fb.f.data + p.l3_off, data + p0->l3_off, p0->ip_len));
	/* Without the outer header (and with the old EtherType), the frame
	 * parses as before. */
	inner = malloc(l2 + p0->ip_len);
	if (!inner)
		abort();
	memcpy(inner, fb.f.data, l2);
	memcpy(inner + l2 - 2, data + l2 - 2, 2);
	memcpy(inner + l2, fb.f.data + l2 + 40, p0->ip_len);
	CHECK(xlb_pkt_parse_dual(inner, l2 + p0->ip_len, &q) == XLB_PKT_OK);
	if (p0->af == AF_INET6)
		same_pkt6(p0, &q);
	else
		same_pkt(p0, &q);
	free(inner);
	free(fb.mem);
}

static void check_ptb(const uint8_t *data, const struct xlb_pkt *p0,
		      const struct setup *s)
{
	uint32_t l2 = p0->l3_off;
	uint32_t quote = p0->ip_len < 1232 ? p0->ip_len : 1232;
	uint32_t n = l2 + 40 + 8 + quote;
	uint32_t cap = s->icmp_cap == 256 ? 1600 : s->icmp_cap * 16;
	uint8_t *buf = malloc(cap + 1);
	struct xlb_pkt q;
	int ret;

	if (!buf)
		abort();
	ret = xlb_icmp6_pkt_too_big(buf, cap, data, p0, &s->b.dip6, s->b.mtu);
	if (s->b.mtu < 1280 + 40)
		CHECK(ret == -EINVAL);
	else if (n > cap)
		CHECK(ret == -ENOSPC);
	else
		CHECK(ret == (int)n);
	if (ret < 0) {
		free(buf);
		return;
	}
	CHECK(!memcmp(buf, data + 6, 6) && !memcmp(buf + 6, data, 6));
	CHECK(n - l2 <= 1280);
	ret = xlb_pkt_parse_dual(buf, n, &q);
	/* A quote of under 40 + extension headers + 8 bytes is, rightly, a
	 * truncated inner header; one of an unparseable datagram, bad. */
	if (ret == XLB_PKT_OK) {
		CHECK(q.af == AF_INET6 && q.icmp_type == XLB_ICMP6_PKT_TOOBIG);
		CHECK(!memcmp(&q.daddr6, &p0->saddr6, 16) && q.ttl == 64);
		CHECK(sum16(pseudo6(&q.saddr6, &q.daddr6, IPPROTO_ICMPV6, q.l4_len),
			    buf + q.l4_off, q.l4_len) == 0xFFFF);
		CHECK(((uint32_t)rd16(buf + q.l4_off + 4) << 16 | rd16(buf + q.l4_off + 6)) ==
		      (uint32_t)s->b.mtu - 40);
		if (q.icmp_err)
			CHECK(!memcmp(&q.inner_saddr6, &p0->saddr6, 16) &&
			      !memcmp(&q.inner_daddr6, &p0->daddr6, 16));
	} else {
		CHECK(ret == XLB_PKT_E_ICMP_INNER_TRUNC || ret == XLB_PKT_E_ICMP_INNER_BAD);
	}
	CHECK(!memcmp(buf + l2 + 48, data + l2, quote));
	free(buf);
}

/* IPv6 frames, and IPv4 ones through xlb_pkt_parse_dual(). */
static void fuzz_dual(const uint8_t *data, size_t size, int ret4,
		      const struct xlb_pkt *p4)
{
	struct xlb_pkt p;
	struct setup s;
	uint32_t len = (uint32_t)size;
	int ret;

	ret = xlb_pkt_parse_dual(data, len, &p);
	CHECK(ret == XLB_PKT_NOT_OURS || (ret <= 0 && -ret < XLB_PKT_ERR_COUNT));
	if (ret4 != XLB_PKT_NOT_OURS || ret == XLB_PKT_NOT_OURS) {
		/* Not IPv6: exactly the IPv4 parser's answer. */
		CHECK(ret == ret4);
		CHECK(!memcmp(&p, p4, XLB_PKT_V4_SIZE));
		if (ret != XLB_PKT_OK)
			return;
		setup_get(data, size, &s);
		check_tun6(data, len, &p, &s);
		return;
	}
	(void)xlb_pkt_strerror(ret);
	if (ret != XLB_PKT_OK)
		return;
	CHECK(p.af == AF_INET6);
	CHECK(p.l3_off + (uint32_t)p.ip_len <= len && p.ip_len >= 40);
	CHECK(p.l4_off == p.l3_off + 40u + p.ip6_ext_len && p.ip6_n_ext <= XLB_IP6_EXT_MAX);
	CHECK(p.l4_len == p.ip_len - 40u - p.ip6_ext_len && p.l4_hlen <= p.l4_len);
	CHECK(!p.ip6_frag && !p.frag_nonfirst && p.saddr == 0 && p.ihl == 0);
	if (p.proto == IPPROTO_UDP)
		CHECK(rd16(data + p.l4_off + 6) != 0);
	if (p.icmp_err)
		CHECK(p.inner_l4_off + (uint32_t)p.inner_l4_avail == p.l4_off + (uint32_t)p.l4_len &&
		      p.inner_l4_avail >= 8 && p.inner_l3_off == p.l4_off + 8 &&
		      p.icmp_type >= 1 && p.icmp_type <= 4);
	setup_get(data, size, &s);
	check_dr6(data, len, &p, &s);
	check_nat6(data, len, &p, &s, NAT_IN);
	check_nat6(data, len, &p, &s, NAT_OUT);
	check_nat6(data, len, &p, &s, NAT_ICMP_IN);
	check_nat6(data, len, &p, &s, NAT_ICMP_OUT);
	check_tun6(data, len, &p, &s);
	check_ptb(data, &p, &s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlb_pkt p;
	struct setup s;
	uint32_t len;
	int ret;

	if (size > 0xFFFF + 64)
		return 0;		/* larger than any frame */
	len = (uint32_t)size;
	ret = xlb_pkt_parse(data, len, &p);
	fuzz_dual(data, size, ret, &p);
	if (ret != XLB_PKT_OK) {
		/* Whatever the error, it is one the datapath can count. */
		CHECK(ret == XLB_PKT_NOT_OURS || (ret < 0 && -ret < XLB_PKT_ERR_COUNT));
		(void)xlb_pkt_strerror(ret);
		return 0;
	}
	/* What the parser promises about a usable frame. */
	CHECK(p.l3_off + (uint32_t)p.ip_len <= len && p.ihl >= 20 && p.ihl <= 60);
	CHECK(p.l4_off == p.l3_off + p.ihl && p.l4_len == p.ip_len - p.ihl);
	CHECK(p.l4_hlen <= p.l4_len && !p.frag_nonfirst);
	if (p.icmp_err)
		CHECK(p.inner_l4_off + (uint32_t)p.inner_l4_avail == p.l4_off + (uint32_t)p.l4_len &&
		      p.inner_l4_avail >= 8 && p.inner_l3_off == p.l4_off + 8);

	setup_get(data, size, &s);
	check_dr(data, len, &p, &s);
	check_nat(data, len, &p, &s, NAT_IN);
	check_nat(data, len, &p, &s, NAT_OUT);
	check_nat(data, len, &p, &s, NAT_ICMP_IN);
	check_nat(data, len, &p, &s, NAT_ICMP_OUT);
	check_tun(data, len, &p, &s);
	check_tun_frag(data, len, &p, &s);
	check_frag_needed(data, &p, &s);
	return 0;
}
