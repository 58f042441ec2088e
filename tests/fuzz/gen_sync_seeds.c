// SPDX-License-Identifier: GPL-2.0
/*
 * Seeds for fuzz_sync, made with lb/sync_msg.c's own builder and the
 * target's key: one record, a full datagram, templates, UDP, a removal.
 * Each file is the mode byte (0: as is, 1: re-MACed; see fuzz_sync.c)
 * then the datagram.
 *
 *   build/fuzz/gen_sync_seeds tests/fuzz/corpus/fuzz_sync   (make fuzz-seeds)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "sync_msg.h"
#include "xlb-t.h"

static void save(const char *dir, const char *name, uint8_t mode, const uint8_t *b, int len)
{
	char path[512];
	FILE *f;

	if (len < 0) {
		fprintf(stderr, "gen_sync_seeds: %s: build failed\n", name);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(b, 1, (size_t)len, f) != (size_t)len ||
	    fclose(f)) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct xlb_sync_rec r[XLB_SYNC_MAX_RECS];
	uint8_t buf[XLB_SYNC_MAX_LEN];
	struct xlb_hmac_key key;
	const char *k = "fuzz sync key\n";

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	xlb_hmac_sha256_key(&key, k, strlen(k));
	for (int i = 0; i < XLB_SYNC_MAX_RECS; i++)
		r[i] = (struct xlb_sync_rec){
			.op = XLB_SYNC_OP_UPDATE, .proto = IPPROTO_TCP, .fwd = XLB_FWD_NAT,
			.state = (uint8_t)(i % (XLB_CONN_S_SYNACK + 1)),
			.caddr = htonl(0x0a010132 + (uint32_t)i), .cport = htons((uint16_t)(40000 + i)),
			.vaddr = htonl(0x0a010164), .vport = htons(80),
			.raddr = htonl(0x0a02020b + (uint32_t)(i % 3)), .rport = htons(80),
			.timeout = 900,
		};
	save(argv[1], "one", 0, buf, xlb_sync_build(buf, sizeof(buf), &key, 7, 1, 1700000000000ull,
						   r, 1));
	save(argv[1], "one-remac", 1, buf, xlb_sync_build(buf, sizeof(buf), &key, 7, 2,
							  1700000000000ull, r, 1));
	save(argv[1], "full", 0, buf, xlb_sync_build(buf, sizeof(buf), &key, 7, 3, 1700000000000ull,
						    r, XLB_SYNC_MAX_RECS));
	r[0].flags = XLB_SYNC_F_TEMPLATE;
	r[0].cport = 0;
	r[0].state = XLB_CONN_S_NONE;
	r[0].timeout = 300;
	r[1].proto = IPPROTO_UDP;
	r[1].state = XLB_CONN_S_UDP;
	r[1].fwd = XLB_FWD_DR;
	r[2].op = XLB_SYNC_OP_REMOVE;
	r[2].fwd = XLB_FWD_TUN;
	save(argv[1], "mixed", 0, buf, xlb_sync_build(buf, sizeof(buf), &key, 7, 4,
						     1700000000000ull, r, 3));
	save(argv[1], "mixed-remac", 1, buf, xlb_sync_build(buf, sizeof(buf), &key, 7, 5,
							    1700000000000ull, r, 3));
	save(argv[1], "other-id", 0, buf, xlb_sync_build(buf, sizeof(buf), &key, 9, 6,
							 1700000000000ull, r, 2));
	return 0;
}
