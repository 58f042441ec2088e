// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the connection-sync datagram parser (lb/sync_msg.c),
 * what a backup director runs on every UDP datagram that reaches its sync
 * port, from anyone.
 *
 * The first input byte picks the mode, the rest is the datagram:
 *   even: parsed as it is, with the test key (almost everything stops at
 *         the framing or the MAC, as it would on the wire);
 *   odd:  its last 32 bytes are first replaced by the right MAC, as a
 *         holder of the key would send, so that the record checks behind
 *         the MAC are explored too.
 * Invariants (a violation is __builtin_trap()):
 *   - a datagram is accepted only if its length is exactly header + count
 *     records + MAC, and every record it yields passes xlb_sync_rec_ok();
 *   - an accepted datagram, built again from what the parse returned, is
 *     the same bytes (the parse loses nothing and invents nothing);
 *   - in even mode, nothing is accepted whose MAC was not right;
 *   - the replay check of an accepted datagram takes it once, never twice.
 * Seeds: tests/fuzz/corpus/fuzz_sync, from lb/sync_msg.c's own builder
 * (tests/fuzz/gen_sync_seeds.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sha256.h"
#include "sync_msg.h"

#define FUZZ_KEY	"fuzz sync key\n"
#define FUZZ_ID		7

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_sync: invariant failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);		\
			__builtin_trap();				\
		}							\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct xlb_hmac_key key;
	static int ready;
	uint8_t buf[XLB_SYNC_MAX_LEN + 64], again[XLB_SYNC_MAX_LEN];
	struct xlb_sync_rec recs[XLB_SYNC_MAX_RECS];
	struct xlb_sync_replay rp = { 0 };
	struct xlb_sync_hdr h;
	enum xlb_sync_err e;
	bool remac;
	size_t len;
	int n;

	if (!ready) {
		xlb_hmac_sha256_key(&key, FUZZ_KEY, strlen(FUZZ_KEY));
		ready = 1;
	}
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	remac = data[0] & 1;
	len = size - 1;
	memcpy(buf, data + 1, len);
	if (remac && len >= XLB_SYNC_MAC_LEN)
		xlb_hmac_sha256_k(&key, buf, len - XLB_SYNC_MAC_LEN, buf + len - XLB_SYNC_MAC_LEN);

	e = xlb_sync_parse(buf, len, &key, FUZZ_ID, &h, recs);
	CHECK(e >= XLB_SYNC_OK && e <= XLB_SYNC_E_REPLAY);
	if (e != XLB_SYNC_OK)
		return 0;
	if (!remac) {
		uint8_t mac[XLB_SYNC_MAC_LEN];

		xlb_hmac_sha256_k(&key, buf, len - XLB_SYNC_MAC_LEN, mac);
		CHECK(memcmp(mac, buf + len - XLB_SYNC_MAC_LEN, XLB_SYNC_MAC_LEN) == 0);
	}
	CHECK(h.count >= 1 && h.count <= XLB_SYNC_MAX_RECS);
	CHECK(len == XLB_SYNC_HDR_LEN + (size_t)h.count * XLB_SYNC_REC_LEN + XLB_SYNC_MAC_LEN);
	CHECK(h.sync_id == FUZZ_ID);
	for (unsigned int i = 0; i < h.count; i++)
		CHECK(xlb_sync_rec_ok(&recs[i]));
	n = xlb_sync_build(again, sizeof(again), &key, h.sync_id, h.seq, h.ts_ms, recs, h.count);
	CHECK(n == (int)len);
	CHECK(memcmp(again, buf, len) == 0);
	/* Within the window of its own timestamp: taken once. */
	CHECK(xlb_sync_replay_check(&rp, h.seq, h.ts_ms, h.ts_ms));
	CHECK(!xlb_sync_replay_check(&rp, h.seq, h.ts_ms, h.ts_ms));
	return 0;
}
