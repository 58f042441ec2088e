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
	if (fr_get16(frame, l2 - 2) != 0x0800)
		return "not IPv4";
	return verify_ip(frame + l2, len - l2, 0);
}
