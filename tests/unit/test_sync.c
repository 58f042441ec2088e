// SPDX-License-Identifier: GPL-2.0
/*
 * Connection sync: SHA-256 and HMAC-SHA256 against the published vectors
 * (FIPS 180-2, RFC 4231), the datagram byte for byte, every way a
 * datagram is refused (and counted), the replay window, the token bucket,
 * the key file's checks, and a backup applying records to a connection
 * table so that xlb_conn_in and xlb_conn_out find the flows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "conn.h"
#include "sha256.h"
#include "sync.h"
#include "sync_msg.h"
#include "xlb-t.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void expect_sha(const void *d, size_t n, const char *want)
{
	uint8_t out[32];
	char h[65];

	xlb_sha256(d, n, out);
	hex(out, 32, h);
	cr_expect_str_eq(h, want);
}

Test(sync, sha256_fips180_2_vectors)
{
	static char a[1000000];

	expect_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	expect_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		   "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(a, 'a', sizeof(a));
	expect_sha(a, sizeof(a), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	expect_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

Test(sync, sha256_incremental_equals_one_shot)
{
	uint8_t d[300], one[32], inc[32];
	struct xlb_sha256 c;

	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(i * 7 + 1);
	xlb_sha256(d, sizeof(d), one);
	/* Pieces that straddle the block boundary in every way. */
	for (size_t cut = 0; cut <= sizeof(d); cut += 13) {
		xlb_sha256_init(&c);
		xlb_sha256_update(&c, d, cut);
		xlb_sha256_update(&c, d + cut, sizeof(d) - cut);
		xlb_sha256_final(&c, inc);
		cr_expect(memcmp(one, inc, 32) == 0, "split at %zu", cut);
	}
}

static void expect_hmac(const void *k, size_t kl, const void *d, size_t dl, const char *want)
{
	uint8_t out[32];
	char h[65];

	xlb_hmac_sha256(k, kl, d, dl, out);
	hex(out, 32, h);
	cr_expect_str_eq(h, want);
}

Test(sync, hmac_sha256_rfc4231_vectors)
{
	uint8_t k[131], d[50];

	memset(k, 0x0b, 20);
	expect_hmac(k, 20, "Hi There", 8,
		    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	expect_hmac("Jefe", 4, "what do ya want for nothing?", 28,
		    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	memset(k, 0xaa, 20);
	memset(d, 0xdd, 50);
	expect_hmac(k, 20, d, 50,
		    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
	for (int i = 0; i < 25; i++)
		k[i] = (uint8_t)(i + 1);
	memset(d, 0xcd, 50);
	expect_hmac(k, 25, d, 50,
		    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
	memset(k, 0xaa, 131);
	expect_hmac(k, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
		    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
	{
		const char *m = "This is a test using a larger than block-size key and a "
				"larger than block-size data. The key needs to be hashed "
				"before being used by the HMAC algorithm.";

		expect_hmac(k, 131, m, strlen(m),
			    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
	}
}

/* ---- the datagram ---- */

#define KEY	"correct horse battery staple"
#define NOW_REAL 1700000000000ull	/* ms */
#define SEQ	0x0102030405060708ull

static struct xlb_sync_rec rec_a(void)
{
	return (struct xlb_sync_rec){
		.op = XLB_SYNC_OP_UPDATE, .proto = IPPROTO_TCP, .fwd = XLB_FWD_NAT,
		.state = XLB_CONN_S_ESTABLISHED,
		.caddr = htonl(0x0a010132), .cport = htons(40000),
		.vaddr = htonl(0x0a010164), .vport = htons(80),
		.raddr = htonl(0x0a02020b), .rport = htons(8080),
		.timeout = 900,
	};
}

static struct xlb_sync_rec rec_b(void)
{
	return (struct xlb_sync_rec){
		.op = XLB_SYNC_OP_UPDATE, .proto = IPPROTO_TCP, .fwd = XLB_FWD_NAT,
		.state = XLB_CONN_S_NONE, .flags = XLB_SYNC_F_TEMPLATE,
		.caddr = htonl(0x0a010100), .cport = 0,
		.vaddr = htonl(0x0a010164), .vport = htons(80),
		.raddr = htonl(0x0a02020c), .rport = htons(80),
		.timeout = 300,
	};
}

static struct xlb_hmac_key K;

static int build2(uint8_t *buf, uint64_t seq, uint64_t ts)
{
	struct xlb_sync_rec r[2] = { rec_a(), rec_b() };

	return xlb_sync_build(buf, XLB_SYNC_MAX_LEN, &K, 7, seq, ts, r, 2);
}

static void setup_key(void)
{
	xlb_hmac_sha256_key(&K, KEY, strlen(KEY));
}

TestSuite(sync_msg, .init = setup_key);

Test(sync_msg, encodes_byte_for_byte_and_decodes_back)
{
	static const uint8_t want[32 + 64] = {
		/* header */
		0x58, 0x4c, 0x42, 0x53, 1, 7, 0, 2,
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,	/* 1700000000000 */
		0x00, 0x80, 0, 0, 0, 0, 0, 0,			/* length 128 */
		/* record a */
		1, 6, XLB_FWD_NAT, XLB_CONN_S_ESTABLISHED, 0, 0, 0, 0,
		10, 1, 1, 50, 10, 1, 1, 100, 10, 2, 2, 11,
		0x9c, 0x40, 0x00, 0x50, 0x1f, 0x90, 0, 0,
		0, 0, 0x03, 0x84,
		/* record b: a template */
		1, 6, XLB_FWD_NAT, XLB_CONN_S_NONE, 0, 1, 0, 0,
		10, 1, 1, 0, 10, 1, 1, 100, 10, 2, 2, 12,
		0, 0, 0x00, 0x50, 0x00, 0x50, 0, 0,
		0, 0, 0x01, 0x2c,
	};
	uint8_t buf[XLB_SYNC_MAX_LEN], mac[32];
	struct xlb_sync_rec got[XLB_SYNC_MAX_RECS], a = rec_a(), b = rec_b();
	struct xlb_sync_hdr h;
	int len = build2(buf, SEQ, NOW_REAL);

	cr_assert_eq(len, 32 + 2 * 32 + 32);
	cr_expect(memcmp(buf, want, sizeof(want)) == 0, "header and records as documented");
	xlb_hmac_sha256(KEY, strlen(KEY), buf, sizeof(want), mac);
	cr_expect(memcmp(buf + sizeof(want), mac, 32) == 0, "trailer: HMAC-SHA256 of the rest");

	cr_assert_eq(xlb_sync_parse(buf, (size_t)len, &K, 7, &h, got), XLB_SYNC_OK);
	cr_expect_eq(h.count, 2);
	cr_expect_eq(h.seq, SEQ);
	cr_expect_eq(h.ts_ms, NOW_REAL);
	cr_expect(memcmp(&got[0], &a, sizeof(a)) == 0);
	cr_expect(memcmp(&got[1], &b, sizeof(b)) == 0);
}

Test(sync_msg, build_refuses_bad_records)
{
	uint8_t buf[XLB_SYNC_MAX_LEN];
	struct xlb_sync_rec r = rec_a(), many[XLB_SYNC_MAX_RECS + 1];

	cr_expect_eq(xlb_sync_build(buf, sizeof(buf), &K, 0, 1, 1, &r, 0), -EINVAL);
	for (int i = 0; i <= XLB_SYNC_MAX_RECS; i++)
		many[i] = rec_a();
	cr_expect_eq(xlb_sync_build(buf, sizeof(buf), &K, 0, 1, 1, many,
				    XLB_SYNC_MAX_RECS + 1), -EINVAL);
	cr_expect_gt(xlb_sync_build(buf, sizeof(buf), &K, 0, 1, 1, many, XLB_SYNC_MAX_RECS), 0);
	r.timeout = 0;
	cr_expect_eq(xlb_sync_build(buf, sizeof(buf), &K, 0, 1, 1, &r, 1), -EINVAL);
	r = rec_a();
	r.state = XLB_CONN_S_UDP;	/* TCP in UDP's state */
	cr_expect_eq(xlb_sync_build(buf, sizeof(buf), &K, 0, 1, 1, &r, 1), -EINVAL);
}

static struct xlb_sync_rx RX;

static enum xlb_sync_err rx(const uint8_t *b, size_t n, uint64_t now)
{
	struct xlb_sync_rec recs[XLB_SYNC_MAX_RECS];
	struct xlb_sync_hdr h;

	return xlb_sync_rx_check(&RX, b, n, now, &h, recs);
}

Test(sync_msg, every_tampered_byte_is_refused_and_counted)
{
	uint8_t buf[XLB_SYNC_MAX_LEN], t[XLB_SYNC_MAX_LEN];
	int len = build2(buf, SEQ, NOW_REAL);
	uint64_t refused = 0;

	xlb_sync_rx_init(&RX, KEY, strlen(KEY), 7);
	for (int i = 0; i < len; i++) {
		memcpy(t, buf, (size_t)len);
		t[i] ^= 0x01;
		cr_expect_neq(rx(t, (size_t)len, NOW_REAL), XLB_SYNC_OK, "byte %d flipped", i);
		refused++;
	}
	cr_expect_eq(RX.cnt[XLB_SYNC_OK], 0);
	cr_expect_eq(RX.cnt[XLB_SYNC_E_AUTH] + RX.cnt[XLB_SYNC_E_MALFORMED] +
		     RX.cnt[XLB_SYNC_E_VERSION] + RX.cnt[XLB_SYNC_E_SYNC_ID], refused);
	/* The records, the sequence number, the timestamp and the MAC are
	 * only caught by the MAC: 32 + 64 - 10 framing bytes, + 32 MAC. */
	cr_expect_geq(RX.cnt[XLB_SYNC_E_AUTH], 64 + 32 + 16);
	/* And the untouched one still passes. */
	cr_expect_eq(rx(buf, (size_t)len, NOW_REAL), XLB_SYNC_OK);
	cr_expect_eq(RX.cnt[XLB_SYNC_OK], 1);
}

Test(sync_msg, wrong_key_is_an_auth_failure)
{
	uint8_t buf[XLB_SYNC_MAX_LEN];
	int len = build2(buf, SEQ, NOW_REAL);

	xlb_sync_rx_init(&RX, "another key", 11, 7);
	cr_expect_eq(rx(buf, (size_t)len, NOW_REAL), XLB_SYNC_E_AUTH);
	cr_expect_eq(RX.cnt[XLB_SYNC_E_AUTH], 1);
	/* One key byte less (a missing trailing newline) is another key too. */
	xlb_sync_rx_init(&RX, KEY, strlen(KEY) - 1, 7);
	cr_expect_eq(rx(buf, (size_t)len, NOW_REAL), XLB_SYNC_E_AUTH);
}

Test(sync_msg, replayed_sequence_and_stale_timestamp_are_refused)
{
	uint8_t d1[XLB_SYNC_MAX_LEN], d2[XLB_SYNC_MAX_LEN], d0[XLB_SYNC_MAX_LEN];
	uint8_t old[XLB_SYNC_MAX_LEN], fut[XLB_SYNC_MAX_LEN];
	int l1 = build2(d1, SEQ, NOW_REAL), l2 = build2(d2, SEQ + 5, NOW_REAL);
	int l0 = build2(d0, SEQ + 2, NOW_REAL);
	int lo = build2(old, SEQ + 100, NOW_REAL - XLB_SYNC_TS_WINDOW_MS - 1);
	int lf = build2(fut, SEQ + 101, NOW_REAL + XLB_SYNC_TS_WINDOW_MS + 1);

	xlb_sync_rx_init(&RX, KEY, strlen(KEY), 7);
	cr_expect_eq(rx(d1, (size_t)l1, NOW_REAL), XLB_SYNC_OK);
	cr_expect_eq(rx(d1, (size_t)l1, NOW_REAL), XLB_SYNC_E_REPLAY, "the same one again");
	cr_expect_eq(rx(d2, (size_t)l2, NOW_REAL), XLB_SYNC_OK);
	cr_expect_eq(rx(d0, (size_t)l0, NOW_REAL), XLB_SYNC_OK, "late but in the window, once");
	cr_expect_eq(rx(d0, (size_t)l0, NOW_REAL), XLB_SYNC_E_REPLAY);
	cr_expect_eq(rx(d1, (size_t)l1, NOW_REAL), XLB_SYNC_E_REPLAY);
	cr_expect_eq(rx(old, (size_t)lo, NOW_REAL), XLB_SYNC_E_REPLAY, "older than the window");
	cr_expect_eq(rx(fut, (size_t)lf, NOW_REAL), XLB_SYNC_E_REPLAY, "from the future");
	cr_expect_eq(RX.cnt[XLB_SYNC_E_REPLAY], 5);
	cr_expect_eq(RX.cnt[XLB_SYNC_OK], 3);

	/* A fresh receiver (a restarted backup) still refuses the old one. */
	xlb_sync_rx_init(&RX, KEY, strlen(KEY), 7);
	cr_expect_eq(rx(d1, (size_t)l1, NOW_REAL + XLB_SYNC_TS_WINDOW_MS + 1), XLB_SYNC_E_REPLAY);
}

Test(sync_msg, replay_window_edges)
{
	struct xlb_sync_replay r = { 0 };

	cr_expect(xlb_sync_replay_check(&r, 1000, 5, 5));
	cr_expect(xlb_sync_replay_check(&r, 1000 + XLB_SYNC_SEQ_WINDOW, 5, 5));
	cr_expect(!xlb_sync_replay_check(&r, 1000, 5, 5), "fell out of the window");
	cr_expect(xlb_sync_replay_check(&r, 1001, 5, 5), "the window's last slot");
	cr_expect(!xlb_sync_replay_check(&r, 1001, 5, 5));
	cr_expect(xlb_sync_replay_check(&r, 1000 + 1000 * XLB_SYNC_SEQ_WINDOW, 5, 5), "a jump");
	cr_expect(!xlb_sync_replay_check(&r, 1000 + XLB_SYNC_SEQ_WINDOW, 5, 5));
}

Test(sync_msg, timestamp_window_does_not_wrap_near_2_to_the_64)
{
	struct xlb_sync_replay r = { 0 };
	const uint64_t W = XLB_SYNC_TS_WINDOW_MS;

	/* Found by fuzz_sync: now + window and ts + window wrapped. */
	cr_expect(xlb_sync_replay_check(&r, 1, UINT64_MAX, UINT64_MAX), "ts = now, both at the top");
	cr_expect(xlb_sync_replay_check(&r, 2, UINT64_MAX - W, UINT64_MAX), "window's far edge");
	cr_expect(!xlb_sync_replay_check(&r, 3, UINT64_MAX - W - 1, UINT64_MAX), "past it");
	cr_expect(xlb_sync_replay_check(&r, 4, UINT64_MAX, UINT64_MAX - W), "ahead, on the edge");
	cr_expect(!xlb_sync_replay_check(&r, 5, UINT64_MAX, 5), "far ahead of a real clock");
	cr_expect(!xlb_sync_replay_check(&r, 6, 5, UINT64_MAX), "far behind");
	cr_expect(xlb_sync_replay_check(&r, 7, 0, W), "the bottom edge");
	cr_expect(!xlb_sync_replay_check(&r, 8, 0, W + 1));
}

Test(sync_msg, truncated_datagrams_are_malformed)
{
	uint8_t buf[XLB_SYNC_MAX_LEN + 1];
	int len = build2(buf, SEQ, NOW_REAL);

	xlb_sync_rx_init(&RX, KEY, strlen(KEY), 7);
	for (int n = 0; n < len; n++)
		cr_expect_eq(rx(buf, (size_t)n, NOW_REAL), XLB_SYNC_E_MALFORMED, "%d bytes", n);
	/* Trailing garbage too: the length field names the datagram exactly. */
	buf[len] = 0;
	cr_expect_eq(rx(buf, (size_t)len + 1, NOW_REAL), XLB_SYNC_E_MALFORMED);
	cr_expect_eq(RX.cnt[XLB_SYNC_E_MALFORMED], (uint64_t)len + 1);
	cr_expect_eq(RX.cnt[XLB_SYNC_OK], 0);
}

/* Re-MACs a datagram whose bytes a test changed, as a key holder would:
 * what is then refused is refused by the parse, not by the MAC. */
static void remac(uint8_t *buf, size_t len)
{
	xlb_hmac_sha256_k(&K, buf, len - 32, buf + len - 32);
}

Test(sync_msg, bad_count_version_sync_id_and_records_are_refused)
{
	uint8_t buf[XLB_SYNC_MAX_LEN], t[XLB_SYNC_MAX_LEN];
	int len = build2(buf, SEQ, NOW_REAL);

	xlb_sync_rx_init(&RX, KEY, strlen(KEY), 7);
	memcpy(t, buf, (size_t)len);
	t[7] = 3;		/* count 3, two records there */
	remac(t, (size_t)len);
	cr_expect_eq(rx(t, (size_t)len, NOW_REAL), XLB_SYNC_E_MALFORMED);
	t[7] = 0;		/* count 0 */
	remac(t, (size_t)len);
	cr_expect_eq(rx(t, (size_t)len, NOW_REAL), XLB_SYNC_E_MALFORMED);
	memcpy(t, buf, (size_t)len);
	t[4] = 2;
	cr_expect_eq(rx(t, (size_t)len, NOW_REAL), XLB_SYNC_E_VERSION);
	memcpy(t, buf, (size_t)len);
	t[5] = 8;
	remac(t, (size_t)len);
	cr_expect_eq(rx(t, (size_t)len, NOW_REAL), XLB_SYNC_E_SYNC_ID);
	/* An authentic datagram with a bad record is refused whole. */
	memcpy(t, buf, (size_t)len);
	t[32 + 32 + 1] = 47;	/* record b: protocol GRE */
	remac(t, (size_t)len);
	cr_expect_eq(rx(t, (size_t)len, NOW_REAL), XLB_SYNC_E_MALFORMED);
	memcpy(t, buf, (size_t)len);
	t[32 + 31] = 0; t[32 + 30] = 0;		/* record a: timeout 0 */
	remac(t, (size_t)len);
	cr_expect_eq(rx(t, (size_t)len, NOW_REAL), XLB_SYNC_E_MALFORMED);
	memcpy(t, buf, (size_t)len);
	t[32 + 32 + 21] = 1;	/* the template with a client port */
	remac(t, (size_t)len);
	cr_expect_eq(rx(t, (size_t)len, NOW_REAL), XLB_SYNC_E_MALFORMED);
	cr_expect_eq(RX.cnt[XLB_SYNC_E_MALFORMED], 5);
	cr_expect_eq(RX.cnt[XLB_SYNC_E_VERSION], 1);
	cr_expect_eq(RX.cnt[XLB_SYNC_E_SYNC_ID], 1);
	cr_expect_eq(RX.cnt[XLB_SYNC_OK], 0);
}

Test(sync_msg, token_bucket_bounds_the_rate)
{
	struct xlb_sync_bucket b;
	int n = 0;

	xlb_sync_bucket_init(&b, 100, 10, 1000);
	while (xlb_sync_bucket_take(&b, 1000))
		n++;
	cr_expect_eq(n, 10, "the burst");
	cr_expect(!xlb_sync_bucket_take(&b, 1005), "half a token is none");
	cr_expect(xlb_sync_bucket_take(&b, 1010), "100/s: one per 10 ms");
	for (n = 0; xlb_sync_bucket_take(&b, 60000); n++)
		;
	cr_expect_eq(n, 10, "capped at the burst");
}

/* ---- the key file ---- */

Test(sync, key_file_checks)
{
	char path[] = "/tmp/xlb-sync-key-XXXXXX", err[256];
	uint8_t key[XLB_SYNC_KEY_MAX];
	size_t len = 0;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_expect_eq(xlb_sync_key_load(path, key, &len, err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "empty"), "%s", err);
	cr_assert_eq(write(fd, "secret\n", 7), 7);
	fchmod(fd, 0644);
	cr_expect_eq(xlb_sync_key_load(path, key, &len, err, sizeof(err)), -EPERM);
	cr_expect(strstr(err, "chmod 600"), "%s", err);
	fchmod(fd, 0640);
	cr_expect_eq(xlb_sync_key_load(path, key, &len, err, sizeof(err)), -EPERM);
	fchmod(fd, 0600);
	cr_expect_eq(xlb_sync_key_load(path, key, &len, err, sizeof(err)), 0);
	cr_expect_eq(len, 7);
	cr_expect(memcmp(key, "secret\n", 7) == 0);
	close(fd);
	unlink(path);
	cr_expect_eq(xlb_sync_key_load(path, key, &len, err, sizeof(err)), -ENOENT);
}

Test(sync, peer_addresses)
{
	struct sockaddr_in sa;

	cr_expect_eq(xlb_sync_parse_addr("10.1.2.3", &sa), 0);
	cr_expect_eq(ntohs(sa.sin_port), XLB_SYNC_PORT);
	cr_expect_eq(xlb_sync_parse_addr("10.1.2.3:9000", &sa), 0);
	cr_expect_eq(ntohs(sa.sin_port), 9000);
	cr_expect_eq(xlb_sync_parse_addr("10.1.2.3:0", &sa), -EINVAL);
	cr_expect_eq(xlb_sync_parse_addr("10.1.2.3:65536", &sa), -EINVAL);
	cr_expect_eq(xlb_sync_parse_addr("10.1.2", &sa), -EINVAL);
	cr_expect_eq(xlb_sync_parse_addr(":80", &sa), -EINVAL);
	cr_expect_eq(xlb_sync_parse_addr("host:80", &sa), -EINVAL);
}

/* ---- the backup's table ---- */

#define SEC	1000ull
#define T0	(1000 * SEC)

struct dest {
	uint32_t addr;
	uint16_t port;
	long active, inactive;
};

static struct dest D[2];
static struct xlb_conn_tab *CT;
static long sched_calls;

static void on_count(void *arg, const void *dest, int da, int di)
{
	struct dest *d = (struct dest *)dest;

	(void)arg;
	d->active += da;
	d->inactive += di;
}

/* The backup's own tables: two NAT servers of VIP:80. */
static int bind_fn(void *arg, const struct xlb_sync_rec *r, struct xlb_conn_target *t)
{
	(void)arg;
	if (r->vaddr != rec_a().vaddr || r->vport != htons(80))
		return -ENOENT;
	for (int i = 0; i < 2; i++)
		if (D[i].addr == r->raddr && D[i].port == r->rport) {
			t->dest = &D[i];
			t->daddr = D[i].addr;
			t->dport = D[i].port;
			t->fwd = XLB_FWD_NAT;
			return 0;
		}
	return -ENOENT;
}

static int never_sched(void *arg, const struct xlb_conn_key *k, struct xlb_conn_target *t)
{
	(void)arg; (void)k; (void)t;
	sched_calls++;
	return -EHOSTUNREACH;
}

static void setup_tab(void)
{
	struct xlb_conn_params p;

	xlb_conn_params_default(&p);
	p.max_conns = 1024;
	p.on_count = on_count;
	cr_assert_eq(xlb_conn_init(&CT, &p), 0);
	memset(D, 0, sizeof(D));
	D[0].addr = htonl(0x0a02020b);
	D[0].port = htons(8080);
	D[1].addr = htonl(0x0a02020c);
	D[1].port = htons(80);
	sched_calls = 0;
}

static void teardown_tab(void)
{
	xlb_conn_free(CT);
}

TestSuite(sync_apply, .init = setup_tab, .fini = teardown_tab);

static struct xlb_conn_key orig_a(void)
{
	struct xlb_sync_rec r = rec_a();

	return (struct xlb_conn_key){ .saddr = r.caddr, .daddr = r.vaddr, .sport = r.cport,
				      .dport = r.vport, .proto = IPPROTO_TCP };
}

static struct xlb_conn_key reply_a(void)
{
	struct xlb_sync_rec r = rec_a();

	return (struct xlb_conn_key){ .saddr = r.raddr, .daddr = r.caddr, .sport = r.rport,
				      .dport = r.cport, .proto = IPPROTO_TCP };
}

Test(sync_apply, an_applied_entry_is_found_by_conn_in_and_conn_out)
{
	struct xlb_sync_rec r = rec_a();
	struct xlb_conn_key k = orig_a(), rk = reply_a();
	struct xlb_conn_view v;

	cr_assert_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0), XLB_SYNC_C_INSERTED);
	cr_expect_eq(D[0].active, 1, "counted ActiveConn on its server, ESTABLISHED");
	cr_expect_eq(xlb_conn_verify(CT), 0);

	/* The server's reply (after a failover, the first packet may well be
	 * the server's) is translated back to the VIP. */
	cr_assert_eq(xlb_conn_out(CT, &rk, 0x10, T0 + SEC, &v), 0);
	cr_expect(memcmp(&v.orig, &k, sizeof(k)) == 0);
	cr_expect_eq(v.dest, &D[0]);
	cr_expect_eq(v.state, XLB_CONN_S_ESTABLISHED);
	/* The client's next packet finds it: no scheduling, same server. */
	cr_assert_eq(xlb_conn_in(CT, &k, 0x10, T0 + 2 * SEC, never_sched, NULL, &v), 0);
	cr_expect_eq(v.dest, &D[0]);
	cr_expect_eq(v.reply.saddr, D[0].addr);
	cr_expect_eq(v.reply.sport, D[0].port);
	cr_expect_eq(sched_calls, 0);
	cr_expect_eq(xlb_conn_verify(CT), 0);
}

Test(sync_apply, the_masters_timeout_and_state_changes_are_kept)
{
	struct xlb_sync_rec r = rec_a();
	struct xlb_conn_key k = orig_a();
	struct xlb_conn_view v;

	r.timeout = 30;
	cr_assert_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0), XLB_SYNC_C_INSERTED);
	cr_expect_eq(xlb_conn_get(CT, &k, XLB_CONN_DIR_INPUT, T0 + 29 * SEC, &v), 0);
	cr_expect_eq(xlb_conn_get(CT, &k, XLB_CONN_DIR_INPUT, T0 + 30 * SEC, &v), -ENOENT,
		     "gone after the master's 30 s, not the default 900");

	/* A refresh restarts the clock; a state change moves the counts. */
	cr_assert_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0 + 40 * SEC), XLB_SYNC_C_INSERTED);
	r.state = XLB_CONN_S_FIN_WAIT;
	r.timeout = 120;
	cr_assert_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0 + 50 * SEC), XLB_SYNC_C_UPDATED);
	cr_expect_eq(xlb_conn_get(CT, &k, XLB_CONN_DIR_INPUT, T0 + 169 * SEC, &v), 0);
	cr_expect_eq(v.state, XLB_CONN_S_FIN_WAIT);
	cr_expect_eq(D[0].active, 0);
	cr_expect_eq(D[0].inactive, 1);
	cr_expect_eq(xlb_conn_verify(CT), 0);
}

Test(sync_apply, a_rescheduled_flow_moves_and_a_removal_removes)
{
	struct xlb_sync_rec r = rec_a();
	struct xlb_conn_key k = orig_a(), rk = reply_a();
	struct xlb_conn_view v;

	cr_assert_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0), XLB_SYNC_C_INSERTED);
	r.raddr = D[1].addr;
	r.rport = D[1].port;
	cr_assert_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0 + SEC), XLB_SYNC_C_INSERTED);
	cr_expect_eq(xlb_conn_out(CT, &rk, 0x10, T0 + SEC, &v), -ENOENT, "old reply tuple gone");
	cr_assert_eq(xlb_conn_get(CT, &k, XLB_CONN_DIR_INPUT, T0 + SEC, &v), 0);
	cr_expect_eq(v.dest, &D[1]);
	cr_expect_eq(D[0].active + D[0].inactive, 0);
	cr_expect_eq(D[1].active, 1);

	r.op = XLB_SYNC_OP_REMOVE;
	cr_expect_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0 + 2 * SEC), XLB_SYNC_C_REMOVED);
	cr_expect_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0 + 2 * SEC), XLB_SYNC_C_MAX,
		     "nothing left to remove: nothing counted");
	cr_expect_eq(xlb_conn_get(CT, &k, XLB_CONN_DIR_INPUT, T0 + 2 * SEC, &v), -ENOENT);
	cr_expect_eq(D[1].active, 0);
	cr_expect_eq(xlb_conn_count(CT), 0);
}

Test(sync_apply, records_for_services_or_servers_not_here_are_counted_not_applied)
{
	struct xlb_sync_rec r = rec_a();

	r.vport = htons(443);
	cr_expect_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0), XLB_SYNC_C_NO_SERVICE);
	r = rec_a();
	r.raddr = htonl(0x0a020263);
	cr_expect_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0), XLB_SYNC_C_NO_SERVICE);
	cr_expect_eq(xlb_conn_count(CT), 0);
}

Test(sync_apply, a_template_is_found_by_the_next_connection_of_its_client)
{
	struct xlb_sync_rec r = rec_b();
	struct xlb_conn_key tk = { .saddr = r.caddr, .daddr = r.vaddr, .dport = r.vport,
				   .proto = IPPROTO_TCP };
	struct xlb_conn_view v;
	uint32_t ref = 0;

	cr_assert_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0), XLB_SYNC_C_INSERTED);
	cr_expect_eq(xlb_conn_tmpl_get(CT, &tk, 300, T0 + SEC, never_sched, NULL, &v, &ref), 0,
		     "the template existed: no scheduling");
	cr_expect(v.tmpl);
	cr_expect_eq(v.dest, &D[1]);
	cr_expect_eq(sched_calls, 0);
	xlb_conn_tmpl_put(CT, ref, T0 + SEC);
	cr_expect_eq(xlb_conn_verify(CT), 0);
}

Test(sync_apply, a_nat_reply_tuple_held_by_a_live_entry_is_a_clash)
{
	struct xlb_sync_rec r = rec_a();

	cr_assert_eq(xlb_sync_apply(CT, &r, bind_fn, NULL, T0), XLB_SYNC_C_INSERTED);
	r.vport = htons(80);
	r.vaddr = rec_a().vaddr;
	/* Another VIP port, the same client end and server: one reply tuple. */
	{
		struct xlb_conn_key k = { .saddr = r.caddr, .daddr = r.vaddr, .sport = r.cport,
					  .dport = htons(81), .proto = IPPROTO_TCP };
		struct xlb_conn_target tg = { .dest = &D[0], .daddr = D[0].addr,
					      .dport = D[0].port, .fwd = XLB_FWD_NAT };

		cr_expect_eq(xlb_conn_sync_put(CT, &k, false, &tg, XLB_CONN_S_ESTABLISHED, 60,
					       T0), -EADDRINUSE);
	}
	cr_expect_eq(xlb_conn_count(CT), 1);
	cr_expect_eq(xlb_conn_verify(CT), 0);
}

/* ---- the master's removal records: the table's on_release ---- */

static int released;
static struct xlb_conn_key released_key;

static void on_release(void *arg, const struct xlb_conn_key *orig, uint8_t fwd,
		       uint8_t state, bool tmpl)
{
	(void)arg; (void)fwd; (void)state; (void)tmpl;
	released++;
	released_key = *orig;
}

Test(sync_apply, live_entries_that_leave_early_are_reported_expired_ones_not)
{
	struct xlb_conn_params p;
	struct xlb_conn_tab *t;
	struct xlb_sync_rec r = rec_a();
	struct xlb_conn_key k = orig_a();

	xlb_conn_params_default(&p);
	p.max_conns = 64;
	p.on_release = on_release;
	cr_assert_eq(xlb_conn_init(&t, &p), 0);
	released = 0;

	/* Flushed (its server deleted) while live: a removal. */
	cr_assert_eq(xlb_sync_apply(t, &r, bind_fn, NULL, T0), XLB_SYNC_C_INSERTED);
	cr_expect_eq(xlb_conn_flush_dest(t, &D[0]), 1);
	cr_expect_eq(released, 1);
	cr_expect(memcmp(&released_key, &k, sizeof(k)) == 0);

	/* Expired, then swept: the backup expires its copy itself. */
	r.timeout = 5;
	cr_assert_eq(xlb_sync_apply(t, &r, bind_fn, NULL, T0), XLB_SYNC_C_INSERTED);
	cr_expect_eq(xlb_conn_expire(t, T0 + 6 * SEC, 0), 1);
	cr_expect_eq(released, 1, "no removal record for an expired entry");
	xlb_conn_free(t);
}
