/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test helper for the XDP fast path: the real compiled xlb_steer (its
 * libbpf skeleton), loaded unattached, its fast-path maps filled directly
 * and the program run on crafted frames with BPF_PROG_TEST_RUN; and the
 * userspace path (xlb_pkt_parse() + the lb/xmit.h functions) run on the
 * same frame with the same decision, for the differential test.
 * Needs root; fph_open() skips the test loudly otherwise.
 */
#ifndef XLB_TEST_FP_HARNESS_H
#define XLB_TEST_FP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../bpf/xlb_shared.h"
#include "../bpf/xlb_fp.h"

#define FPH_FRAME_MAX	3000	/* bigger than any frame a test builds */

struct xlb_steer;

struct fph_run {
	uint32_t act;		/* the XDP action */
	uint8_t  out[FPH_FRAME_MAX + 64];
	uint32_t out_len;
	uint64_t d[XLB_CNT_MAX];	/* counter deltas, summed over CPUs */
};

/* Opens and loads xlb_steer with fp_flows sized to entries; fast path
 * enabled when enable. Skips the test (cr_skip_test) when not root. */
void fph_open(uint32_t entries, bool enable);
void fph_close(void);
struct xlb_steer *fph_skel(void);

void fph_enable(bool on);
void fph_add_service(uint32_t vip, uint16_t port_be, uint8_t proto);
void fph_add_nat_rs(uint32_t rip, uint16_t port_be, uint8_t proto);
/* fp_devs[ifindex] = ifindex; 0 or -errno. */
int fph_add_dev(uint32_t ifindex);

/* Writes v into every CPU's copy of k (counters as in v). */
void fph_install(const struct xlb_fp_key *k, const struct xlb_fp_val *v);
void fph_remove(const struct xlb_fp_key *k);
/* Reads k back: decision from CPU 0, pkts and bytes summed, last_ns the
 * latest. false when absent. */
bool fph_lookup(const struct xlb_fp_key *k, struct xlb_fp_val *sum);

/* Runs the program once on frame[0..len); fails the test unless exactly
 * one outcome counter moved. */
void fph_run(const uint8_t *frame, size_t len, struct fph_run *r);

/* The key of a frame (Ethernet, IPv4, TCP/UDP at 14 + IHL). */
struct xlb_fp_key fph_key_of(const uint8_t *frame);

/* The userspace path for the decision v: parses frame (copied behind 256
 * bytes of headroom) and runs the xmit function of v->op with the bind
 * that decision means. Returns the xmit result (0 or -errno; the parse
 * must succeed) and the frame in out/out_len. */
int fph_userspace(const uint8_t *frame, size_t len,
		  const struct xlb_fp_val *v, uint8_t *out, uint32_t *out_len);

/* Creates a veth pair in the current (private) network namespace and
 * returns the ifindex of its first end. */
uint32_t fph_make_veth(const char *name);

#endif /* XLB_TEST_FP_HARNESS_H */
