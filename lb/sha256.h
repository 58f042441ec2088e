/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for authenticating the
 * connection-sync datagrams (sync.h) without a crypto library. Not for
 * the packet path. Checked against the FIPS 180-2 and RFC 4231 vectors
 * (tests/unit/test_sync.c).
 */
#ifndef XLB_SHA256_H
#define XLB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define XLB_SHA256_LEN		32
#define XLB_SHA256_BLOCK	64

struct xlb_sha256 {
	uint32_t h[8];
	uint64_t len;			/* bytes hashed so far */
	uint8_t  buf[XLB_SHA256_BLOCK];
	size_t   nbuf;
};

void xlb_sha256_init(struct xlb_sha256 *c);
void xlb_sha256_update(struct xlb_sha256 *c, const void *data, size_t len);
void xlb_sha256_final(struct xlb_sha256 *c, uint8_t out[XLB_SHA256_LEN]);
void xlb_sha256(const void *data, size_t len, uint8_t out[XLB_SHA256_LEN]);

/* A key prepared once (its inner and outer padded states), so that each
 * datagram costs two compressions fewer. */
struct xlb_hmac_key {
	struct xlb_sha256 inner, outer;
};

void xlb_hmac_sha256_key(struct xlb_hmac_key *k, const void *key, size_t keylen);
void xlb_hmac_sha256_k(const struct xlb_hmac_key *k, const void *data, size_t len,
		       uint8_t out[XLB_SHA256_LEN]);
void xlb_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		     uint8_t out[XLB_SHA256_LEN]);

/* Compares n bytes in time independent of where they differ: 0 if equal. */
int xlb_ct_memcmp(const void *a, const void *b, size_t n);

#endif /* XLB_SHA256_H */
