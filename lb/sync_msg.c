// SPDX-License-Identifier: GPL-2.0
/* The connection-sync datagram: see sync_msg.h for the format. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "bytes.h"
#include "conn.h"
#include "sync_msg.h"
#include "xlb-t.h"

/* Host-order integers at fixed offsets. */
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

bool xlb_sync_rec_ok(const struct xlb_sync_rec *r)
{
	if (r->op != XLB_SYNC_OP_UPDATE && r->op != XLB_SYNC_OP_REMOVE)
		return false;
	if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		return false;
	if (r->fwd != XLB_FWD_NAT && r->fwd != XLB_FWD_DR && r->fwd != XLB_FWD_TUN)
		return false;
	if (r->flags & ~XLB_SYNC_F_TEMPLATE || r->pad || r->pad2)
		return false;
	if (r->state >= XLB_CONN_S_NR)
		return false;
	/* UDP entries are always UDP; TCP ones never are. */
	if ((r->proto == IPPROTO_UDP) != (r->state == XLB_CONN_S_UDP))
		return false;
	if ((r->flags & XLB_SYNC_F_TEMPLATE) && r->cport)
		return false;
	if (r->op == XLB_SYNC_OP_UPDATE && (r->timeout == 0 || r->timeout > XLB_SYNC_TIMEOUT_MAX))
		return false;
	return true;
}

static void rec_encode(uint8_t *p, const struct xlb_sync_rec *r)
{
	p[0] = r->op;
	p[1] = r->proto;
	p[2] = r->fwd;
	p[3] = r->state;
	put16(p + 4, r->flags);
	put16(p + 6, 0);
	/* Addresses and ports are kept in network order: copied as they are. */
	xlb_store32(p + 8, r->caddr);
	xlb_store32(p + 12, r->vaddr);
	xlb_store32(p + 16, r->raddr);
	xlb_store16(p + 20, r->cport);
	xlb_store16(p + 22, r->vport);
	xlb_store16(p + 24, r->rport);
	put16(p + 26, 0);
	put32(p + 28, r->timeout);
}

static void rec_decode(const uint8_t *p, struct xlb_sync_rec *r)
{
	r->op = p[0];
	r->proto = p[1];
	r->fwd = p[2];
	r->state = p[3];
	r->flags = get16(p + 4);
	r->pad = get16(p + 6);
	r->caddr = xlb_load32(p + 8);
	r->vaddr = xlb_load32(p + 12);
	r->raddr = xlb_load32(p + 16);
	r->cport = xlb_load16(p + 20);
	r->vport = xlb_load16(p + 22);
	r->rport = xlb_load16(p + 24);
	r->pad2 = get16(p + 26);
	r->timeout = get32(p + 28);
}

int xlb_sync_build(uint8_t *buf, size_t cap, const struct xlb_hmac_key *key,
		   uint8_t sync_id, uint64_t seq, uint64_t ts_ms,
		   const struct xlb_sync_rec *recs, unsigned int n)
{
	size_t len = XLB_SYNC_HDR_LEN + (size_t)n * XLB_SYNC_REC_LEN + XLB_SYNC_MAC_LEN;
	uint8_t *p;

	if (n == 0 || n > XLB_SYNC_MAX_RECS || cap < len)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++)
		if (!xlb_sync_rec_ok(&recs[i]))
			return -EINVAL;
	put32(buf, XLB_SYNC_MAGIC);
	buf[4] = XLB_SYNC_VERSION;
	buf[5] = sync_id;
	put16(buf + 6, (uint16_t)n);
	put64(buf + 8, seq);
	put64(buf + 16, ts_ms);
	put16(buf + 24, (uint16_t)len);
	put16(buf + 26, 0);
	put32(buf + 28, 0);
	p = buf + XLB_SYNC_HDR_LEN;
	for (unsigned int i = 0; i < n; i++, p += XLB_SYNC_REC_LEN)
		rec_encode(p, &recs[i]);
	xlb_hmac_sha256_k(key, buf, (size_t)(p - buf), p);
	return (int)len;
}

enum xlb_sync_err xlb_sync_parse(const uint8_t *buf, size_t len,
				 const struct xlb_hmac_key *key, uint8_t sync_id,
				 struct xlb_sync_hdr *h, struct xlb_sync_rec *recs)
{
	uint8_t mac[XLB_SYNC_MAC_LEN];
	unsigned int n;
	size_t body;

	if (len < XLB_SYNC_HDR_LEN + XLB_SYNC_REC_LEN + XLB_SYNC_MAC_LEN ||
	    len > XLB_SYNC_MAX_LEN || get32(buf) != XLB_SYNC_MAGIC)
		return XLB_SYNC_E_MALFORMED;
	if (buf[4] != XLB_SYNC_VERSION)
		return XLB_SYNC_E_VERSION;
	n = get16(buf + 6);
	if (n == 0 || n > XLB_SYNC_MAX_RECS || get16(buf + 24) != len ||
	    len != XLB_SYNC_HDR_LEN + (size_t)n * XLB_SYNC_REC_LEN + XLB_SYNC_MAC_LEN)
		return XLB_SYNC_E_MALFORMED;
	/* Before anything else is believed, the MAC: only a holder of the
	 * key can make a datagram that gets further. The sync id is under
	 * it too, but checked first: another pair's stream on a shared
	 * group is no attack and must not read as one. */
	if (buf[5] != sync_id)
		return XLB_SYNC_E_SYNC_ID;
	body = len - XLB_SYNC_MAC_LEN;
	xlb_hmac_sha256_k(key, buf, body, mac);
	if (xlb_ct_memcmp(mac, buf + body, XLB_SYNC_MAC_LEN))
		return XLB_SYNC_E_AUTH;
	if (get16(buf + 26) != 0 || get32(buf + 28) != 0)
		return XLB_SYNC_E_MALFORMED;
	for (unsigned int i = 0; i < n; i++) {
		rec_decode(buf + XLB_SYNC_HDR_LEN + (size_t)i * XLB_SYNC_REC_LEN, &recs[i]);
		if (!xlb_sync_rec_ok(&recs[i]))
			return XLB_SYNC_E_MALFORMED;
	}
	h->sync_id = buf[5];
	h->count = (uint16_t)n;
	h->seq = get64(buf + 8);
	h->ts_ms = get64(buf + 16);
	return XLB_SYNC_OK;
}

bool xlb_sync_replay_check(struct xlb_sync_replay *r, uint64_t seq, uint64_t ts_ms,
			   uint64_t now_ms)
{
	uint64_t d;

	/* |ts - now| > window, without the sums that wrap near 2^64. */
	if (ts_ms > now_ms ? ts_ms - now_ms > XLB_SYNC_TS_WINDOW_MS
			   : now_ms - ts_ms > XLB_SYNC_TS_WINDOW_MS)
		return false;
	if (!r->any || seq > r->top) {
		d = r->any ? seq - r->top : 64;
		r->seen = d >= 64 ? 0 : r->seen << d;
		r->seen |= 1;
		r->top = seq;
		r->any = true;
		return true;
	}
	d = r->top - seq;
	if (d >= XLB_SYNC_SEQ_WINDOW || (r->seen >> d) & 1)
		return false;
	r->seen |= 1ull << d;
	return true;
}

void xlb_sync_bucket_init(struct xlb_sync_bucket *b, uint64_t rate, uint64_t burst,
			  uint64_t now_ms)
{
	b->rate = rate;
	b->burst = burst ? burst : 1;
	b->tokens_milli = b->burst * 1000;
	b->last_ms = now_ms;
}

bool xlb_sync_bucket_take(struct xlb_sync_bucket *b, uint64_t now_ms)
{
	if (now_ms > b->last_ms) {
		uint64_t add = (now_ms - b->last_ms) * b->rate;	/* tokens x 1000 */

		b->tokens_milli += add;
		if (b->tokens_milli > b->burst * 1000)
			b->tokens_milli = b->burst * 1000;
		b->last_ms = now_ms;
	}
	if (b->tokens_milli < 1000)
		return false;
	b->tokens_milli -= 1000;
	return true;
}

void xlb_sync_rx_init(struct xlb_sync_rx *rx, const void *key, size_t keylen,
		      uint8_t sync_id)
{
	memset(rx, 0, sizeof(*rx));
	xlb_hmac_sha256_key(&rx->key, key, keylen);
	rx->sync_id = sync_id;
}

enum xlb_sync_err xlb_sync_rx_check(struct xlb_sync_rx *rx, const uint8_t *buf, size_t len,
				    uint64_t now_real_ms, struct xlb_sync_hdr *h,
				    struct xlb_sync_rec *recs)
{
	enum xlb_sync_err e = xlb_sync_parse(buf, len, &rx->key, rx->sync_id, h, recs);

	if (e == XLB_SYNC_OK && !xlb_sync_replay_check(&rx->replay, h->seq, h->ts_ms,
						       now_real_ms))
		e = XLB_SYNC_E_REPLAY;
	__atomic_fetch_add(&rx->cnt[e], 1, __ATOMIC_RELAXED);
	return e;
}
