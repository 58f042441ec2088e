// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "frames.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xFF;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xFFFF);
}

uint16_t fr_get16(const uint8_t *buf, size_t off)
{
	return (uint16_t)(buf[off] << 8 | buf[off + 1]);
}

uint32_t fr_ip(const char *dotted)
{
	struct in_addr a;

	if (inet_pton(AF_INET, dotted, &a) != 1)
		abort();
	return a.s_addr;
}

uint16_t fr_csum(const uint8_t *buf, size_t len, uint32_t initial)
{
	uint64_t sum = initial;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(buf[i] << 8 | buf[i + 1]);
	if (len & 1)
		sum += (uint32_t)buf[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo-header sum; addresses are network order in memory. */
static uint32_t pseudo(const uint8_t *ip, uint8_t proto, uint16_t l4len)
{
	uint32_t s = 0;
	int i;

	for (i = 12; i < 20; i += 2)
		s += fr_get16(ip, i);
	return s + proto + l4len;
}

struct fr_spec fr_default(uint8_t proto)
{
	struct fr_spec s = {
		.dmac = { 2, 0, 0, 0, 0, 1 },
		.smac = { 2, 0, 0, 0, 0, 2 },
		.ttl = 64,
		.id = 0x1234,
		.proto = proto,
		.saddr = fr_ip("10.0.0.1"),
		.daddr = fr_ip("10.0.0.100"),
		.sport = 40000,
		.dport = 80,
		.tcp_flags = 0x10,
	};
	return s;
}

static size_t l4_hlen(const struct fr_spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return 20u + s->tcp_opts_len;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
		return 8;
	default:
		return 0;
	}
}

size_t fr_build(uint8_t *buf, size_t cap, const struct fr_spec *s)
{
	size_t l2 = s->no_eth ? 0 : (s->vlan ? 18 : 14);
	size_t ihl = 20u + s->ip_opts_len;
	size_t hl4 = l4_hlen(s);
	size_t tot = ihl + hl4 + s->payload_len;
	size_t n = l2 + tot + s->eth_pad;
	uint8_t *ip, *l4;
	uint16_t c;

	if (n > cap || tot > 0xFFFF || s->ip_opts_len > 40 ||
	    (s->ip_opts_len & 3) || (s->tcp_opts_len & 3)) {
		fprintf(stderr, "fr_build: bad spec\n");
		abort();
	}
	memset(buf, 0, n);
	if (!s->no_eth) {
		memcpy(buf, s->dmac, 6);
		memcpy(buf + 6, s->smac, 6);
		if (s->vlan) {
			put16(buf + 12, 0x8100);
			put16(buf + 14, s->vlan_tci);
		}
		put16(buf + l2 - 2, 0x0800);
	}

	ip = buf + l2;
	ip[0] = 0x40 | (uint8_t)(ihl / 4);
	ip[1] = s->tos;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 4, s->id);
	put16(ip + 6, s->frag);
	ip[8] = s->ttl;
	ip[9] = s->proto;
	memcpy(ip + 12, &s->saddr, 4);
	memcpy(ip + 16, &s->daddr, 4);
	if (s->ip_opts_len)
		memcpy(ip + 20, s->ip_opts, s->ip_opts_len);
	put16(ip + 10, fr_csum(ip, ihl, 0));

	l4 = ip + ihl;
	if (s->payload_len)
		memcpy(l4 + hl4, s->payload, s->payload_len);
	switch (s->proto) {
	case IPPROTO_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, 0x01020304);	/* seq */
		put32(l4 + 8, 0x0A0B0C0D);	/* ack */
		l4[12] = (uint8_t)((hl4 / 4) << 4);
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 0xFFFF);		/* window */
		memset(l4 + 20, 1, s->tcp_opts_len);	/* NOP */
		put16(l4 + 16, fr_csum(l4, tot - ihl,
				       pseudo(ip, IPPROTO_TCP, tot - ihl)));
		break;
	case IPPROTO_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)(tot - ihl));
		if (!s->udp_no_csum) {
			c = fr_csum(l4, tot - ihl,
				    pseudo(ip, IPPROTO_UDP, tot - ihl));
			put16(l4 + 6, c ? c : 0xFFFF);
		}
		break;
	case IPPROTO_ICMP:
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		put32(l4 + 4, s->icmp_rest);
		put16(l4 + 2, fr_csum(l4, tot - ihl, 0));
		break;
	}
	return n;
}

static bool l4_ok(const uint8_t *ip, const uint8_t *l4, size_t l4len,
		  uint8_t proto)
{
	if (proto == IPPROTO_UDP && fr_get16(l4, 6) == 0)
		return true;
	return fr_csum(l4, l4len, pseudo(ip, proto, (uint16_t)l4len)) == 0;
}

static const char *verify_ip(const uint8_t *ip, size_t len, int depth)
{
	size_t ihl, tot;
	const uint8_t *l4;
	uint8_t proto;

	if (len < 20 || (ip[0] >> 4) != 4)
		return "not an IPv4 header";
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = fr_get16(ip, 2);
	if (ihl < 20 || ihl > len || tot < ihl || tot > len)
		return "bad IPv4 lengths";
	if (fr_csum(ip, ihl, 0) != 0)
		return depth ? "inner IPv4 header checksum" :
			       "IPv4 header checksum";
	if (fr_get16(ip, 6) & 0x1FFF)
		return NULL;
	proto = ip[9];
	l4 = ip + ihl;
	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (!l4_ok(ip, l4, tot - ihl, proto))
			return depth ? "inner TCP/UDP checksum" :
				       "TCP/UDP checksum";
		return NULL;
	case IPPROTO_ICMP:
		if (tot - ihl < 8)
			return "short ICMP";
		if (fr_csum(l4, tot - ihl, 0) != 0)
			return depth ? "inner ICMP checksum" : "ICMP checksum";
		if (l4[0] == 3 || l4[0] == 4 || l4[0] == 11 || l4[0] == 12) {
			const uint8_t *in = l4 + 8;
			size_t avail = tot - ihl - 8, iihl;

			if (avail < 20)
				return "short ICMP quote";
			iihl = (size_t)(in[0] & 15) * 4;
			if (iihl < 20 || iihl > avail)
				return "bad quoted IPv4 header";
			if (fr_csum(in, iihl, 0) != 0)
				return "quoted IPv4 header checksum";
			/* Quoted L4 checksum only when quoted whole. */
			if (fr_get16(in, 2) <= avail &&
			    (in[9] == IPPROTO_TCP || in[9] == IPPROTO_UDP) &&
			    !(fr_get16(in, 6) & 0x3FFF) &&
			    !l4_ok(in, in + iihl, fr_get16(in, 2) - iihl, in[9]))
				return "quoted TCP/UDP checksum";
		}
		return NULL;
	case IPPROTO_IPIP:
		return verify_ip(l4, tot - ihl, depth + 1);
	default:
		return NULL;
	}
}

/* ---- IPv6 ---- */

void fr6_ip(uint8_t out[16], const char *text)
{
	if (inet_pton(AF_INET6, text, out) != 1)
		abort();
}

struct fr6_spec fr6_default(uint8_t proto)
{
	struct fr6_spec s = {
		.dmac = { 2, 0, 0, 0, 0, 1 },
		.smac = { 2, 0, 0, 0, 0, 2 },
		.hlim = 64,
		.flow = 0x12345,
		.proto = proto,
		.sport = 40000,
		.dport = 80,
		.tcp_flags = 0x10,
	};

	fr6_ip(s.saddr, "2001:db8::1");
	fr6_ip(s.daddr, "2001:db8::100");
	return s;
}

size_t fr6_ext(uint8_t *out, const uint8_t *types, int n, uint8_t proto)
{
	int i;

	for (i = 0; i < n; i++) {
		uint8_t *h = out + 8 * i;

		memset(h, 0, 8);
		h[0] = i + 1 < n ? types[i + 1] : proto;
		h[1] = 0;
		if (types[i] == 43) {
			h[2] = 4;	/* SRH type, segments left 0 */
		} else if (types[i] == 44) {
			continue;	/* fragment header: offset 0, M 0 */
		} else {
			h[2] = 1;	/* PadN, 4 bytes of padding */
			h[3] = 4;
		}
	}
	return 8u * (size_t)n;
}

static uint32_t pseudo6(const uint8_t *ip6, uint8_t proto, uint32_t l4len)
{
	uint32_t s = 0;
	int i;

	for (i = 8; i < 40; i += 2)
		s += fr_get16(ip6, i);
	return s + (l4len >> 16) + (l4len & 0xFFFF) + proto;
}

static size_t l4_hlen6(const struct fr6_spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
	case IPPROTO_ICMPV6:
		return 8;
	default:
		return 0;
	}
}

size_t fr6_build(uint8_t *buf, size_t cap, const struct fr6_spec *s)
{
	size_t l2 = s->no_eth ? 0 : (s->vlan ? 18 : 14);
	size_t hl4 = l4_hlen6(s);
	size_t l4len = hl4 + s->payload_len;
	size_t plen = s->ext_len + l4len;
	size_t n = l2 + 40 + plen + s->eth_pad;
	uint8_t *ip6, *l4;
	uint16_t c;

	if (n > cap || plen > 0xFFFF) {
		fprintf(stderr, "fr6_build: bad spec\n");
		abort();
	}
	memset(buf, 0, n);
	if (!s->no_eth) {
		memcpy(buf, s->dmac, 6);
		memcpy(buf + 6, s->smac, 6);
		if (s->vlan) {
			put16(buf + 12, 0x8100);
			put16(buf + 14, s->vlan_tci);
		}
		put16(buf + l2 - 2, 0x86DD);
	}
	ip6 = buf + l2;
	put32(ip6, 0x60000000u | (uint32_t)s->tclass << 20 | (s->flow & 0xFFFFF));
	put16(ip6 + 4, (uint16_t)plen);
	ip6[6] = s->ext_len ? s->ext_nh : s->proto;
	ip6[7] = s->hlim;
	memcpy(ip6 + 8, s->saddr, 16);
	memcpy(ip6 + 24, s->daddr, 16);
	if (s->ext_len)
		memcpy(ip6 + 40, s->ext, s->ext_len);

	l4 = ip6 + 40 + s->ext_len;
	if (s->payload_len)
		memcpy(l4 + hl4, s->payload, s->payload_len);
	switch (s->proto) {
	case IPPROTO_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, 0x01020304);
		put32(l4 + 8, 0x0A0B0C0D);
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 0xFFFF);
		put16(l4 + 16, fr_csum(l4, l4len, pseudo6(ip6, IPPROTO_TCP,
							 (uint32_t)l4len)));
		break;
	case IPPROTO_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)l4len);
		if (!s->udp_no_csum) {
			c = fr_csum(l4, l4len, pseudo6(ip6, IPPROTO_UDP,
						       (uint32_t)l4len));
			put16(l4 + 6, c ? c : 0xFFFF);
		}
		break;
	case IPPROTO_ICMPV6:
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		put32(l4 + 4, s->icmp_rest);
		put16(l4 + 2, fr_csum(l4, l4len, pseudo6(ip6, IPPROTO_ICMPV6,
							(uint32_t)l4len)));
		break;
	}
	return n;
}

static const char *verify_ip6(const uint8_t *ip6, size_t len, int depth);

/* The transport after the extension headers (hop-by-hop, routing,
 * destination options, fragment), or NULL. */
static const uint8_t *skip_ext6(const uint8_t *ip6, size_t len, uint8_t *nh,
				bool *frag_later)
{
	size_t off = 40;
	int i;

	*nh = ip6[6];
	*frag_later = false;
	for (i = 0; i < 16; i++) {
		if (*nh != 0 && *nh != 43 && *nh != 60 && *nh != 44)
			return ip6 + off;
		if (off + 8 > len)
			return NULL;
		if (*nh == 44) {
			if (fr_get16(ip6, off + 2) & 0xFFF8)
				*frag_later = true;
			*nh = ip6[off];
			off += 8;
			continue;
		}
		*nh = ip6[off];
		off += ((size_t)ip6[off + 1] + 1) * 8;
	}
	return NULL;
}

static bool l4_ok6(const uint8_t *ip6, const uint8_t *l4, size_t l4len,
		   uint8_t proto)
{
	return fr_csum(l4, l4len, pseudo6(ip6, proto, (uint32_t)l4len)) == 0;
}

static const char *verify_ip6(const uint8_t *ip6, size_t len, int depth)
{
	const uint8_t *l4;
	size_t tot, l4len;
	uint8_t nh;
	bool later;

	if (len < 40 || (ip6[0] >> 4) != 6)
		return "not an IPv6 header";
	tot = 40u + fr_get16(ip6, 4);
	if (tot > len)
		return "bad IPv6 payload length";
	l4 = skip_ext6(ip6, tot, &nh, &later);
	if (!l4)
		return "bad IPv6 extension headers";
	if (later)
		return NULL;
	l4len = tot - (size_t)(l4 - ip6);
	switch (nh) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (nh == IPPROTO_UDP && l4len >= 8 && fr_get16(l4, 6) == 0)
			return "zero UDP checksum over IPv6";
		if (!l4_ok6(ip6, l4, l4len, nh))
			return depth ? "inner TCP/UDP checksum (IPv6)" :
				       "TCP/UDP checksum (IPv6)";
		return NULL;
	case IPPROTO_ICMPV6:
		if (l4len < 8)
			return "short ICMPv6";
		if (!l4_ok6(ip6, l4, l4len, nh))
			return depth ? "inner ICMPv6 checksum" : "ICMPv6 checksum";
		if (l4[0] >= 1 && l4[0] <= 4) {
			const uint8_t *in = l4 + 8, *il4;
			size_t avail = l4len - 8, itot;
			uint8_t inh;
			bool ilater;

			if (avail < 40 || (in[0] >> 4) != 6)
				return "bad quoted IPv6 header";
			itot = 40u + fr_get16(in, 4);
			if (itot > avail)
				return NULL;	/* cut: nothing more to check */
			il4 = skip_ext6(in, itot, &inh, &ilater);
			if (!il4)
				return "bad quoted IPv6 extension headers";
			if (!ilater && (inh == IPPROTO_TCP || inh == IPPROTO_UDP) &&
			    !(inh == IPPROTO_UDP && fr_get16(il4, 6) == 0) &&
			    !l4_ok6(in, il4, itot - (size_t)(il4 - in), inh))
				return "quoted TCP/UDP checksum (IPv6)";
		}
		return NULL;
	case IPPROTO_IPV6:
		return verify_ip6(l4, l4len, depth + 1);
	case IPPROTO_IPIP:
		return verify_ip(l4, l4len, depth + 1);
	default:
		return NULL;
	}
}

const char *fr_verify(const uint8_t *frame, size_t len)
{
	size_t l2 = 14;

	if (len < 14)
		return "short Ethernet";
	if (fr_get16(frame, 12) == 0x8100) {
		l2 = 18;
		if (len < 18)
			return "short VLAN";
	}
	if (fr_get16(frame, l2 - 2) == 0x86DD)
		return verify_ip6(frame + l2, len - l2, 0);
	if (fr_get16(frame, l2 - 2) != 0x0800)
		return "not IPv4";
	return verify_ip(frame + l2, len - l2, 0);
}
