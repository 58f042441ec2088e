/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fast path's userspace side (issue 11): the datapath installs the
 * flows it has decided into the XDP flow cache ("fp_flows", bpf/xlb_fp.h)
 * and stays the authority over them.
 *
 * Install (workers): a flow is installed by the worker that forwards it,
 * per direction, from the packet that shows it decided: UDP its first
 * forwarded packet, TCP the first one forwarded in ESTABLISHED (a NAT
 * connection's reply side from its first reply forwarded then). The entry
 * carries the decision of that packet (method, egress, MACs, NAT
 * translation, TUN outer addresses, MTU) written into every CPU's copy
 * with one bpf(BPF_MAP_UPDATE_ELEM, BPF_NOEXIST) per direction: a syscall
 * once per flow, never per packet. The connection entry remembers that it
 * was installed (struct dp_bind's fp_* fields), so a later packet of it in
 * userspace is a miss: the flow was in flight, or the LRU dropped it
 * (counted as an eviction, and installed again). Packets XDP never takes
 * (SYN, FIN, RST, IP options, over the MTU) never install.
 *
 * Remove: the worker that forwards a FIN or RST (XDP punts them) removes
 * the connection's entries, taking their last counters. Everything else
 * is reconciled by the control thread (xlb_dp_fp_sync): it reads the whole
 * cache (batched), and for each entry looks its connection up and decides
 * again from the next hops of now. No connection (expired, evicted,
 * flushed with a deleted server), a connection that left ESTABLISHED, a
 * server deleted (weight 0 keeps them), a service gone, or no usable next
 * hop: the entry is removed, and the flow's next packets take the
 * userspace path, which forwards them as before (nothing lost in the
 * move). A changed next hop (MAC, route, MTU) or an entry of the previous
 * xlbd: rewritten in place, its counters kept. The sync runs every second,
 * and on the next tick (100 ms) after a configuration commit, a next-hop
 * change or a route change.
 *
 * Visibility: the same sync merges each entry's per-CPU packet and byte
 * counters into the service's and server's counters (--stats, --rate; a
 * counter slot of its own, after the workers') and into the connection's
 * packet count, and refreshes the connection's expiry from the entry's
 * last hit: a flow busy in XDP never times out in userspace.
 *
 * IPv6 flows (issue 14) go to fp_flows6 in the same way, on the same
 * events, with the same state rules; only the key and value differ
 * (bpf/xlb_fp.h). Userspace's IPv6 packets that XDP would punt (any
 * extension header, hop limit 0 or 1) do not install.
 *
 * Restarts: fp_flows, fp_devs and fp_flows6 are pinned (lb/xdp.c); the next xlbd's
 * first sync, after it adopted the connection table, keeps and re-gens
 * the entries whose connections it adopted and removes the rest.
 */
#ifndef XLB_FASTPATH_H
#define XLB_FASTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --fast-path-entries: at most this many (the map is per CPU: 64 bytes an
 * entry and CPU, plus the kernel's hash overhead). */
#define XLB_FP_ENTRIES_MAX	(1u << 22)

/* xlbctl --counters, group "fastpath". */
struct xlb_fp_stats {
	uint64_t enabled;		/* 1: --fast-path on */
	uint64_t installs;		/* entries written for a flow's first time */
	uint64_t removals;		/* entries taken out (close, sync) */
	uint64_t updates;		/* entries rewritten (next hop, re-gen) */
	uint64_t evictions;		/* installed, then dropped by the LRU */
	uint64_t install_failures;	/* the map refused an install */
	uint64_t entries;		/* ours in the cache, at the last sync */
	uint64_t syncs;			/* reconciliation passes */
	uint64_t install_ns;		/* time spent in install syscalls */
	uint64_t sync_us_last;		/* the last reconciliation took */
};

struct xlb_fp;

struct xlb_fp_params {
	bool enabled;
	int flows_fd;			/* fp_flows */
	int flows6_fd;			/* fp_flows6 (IPv6 flows); 0 or less:
					 * none, IPv6 flows are not installed */
	int devs_fd;			/* fp_devs */
	const int *ifindex;		/* the served interfaces: fp_devs */
	int n_ifindex;
	int n_workers;
};

/* -errno with a sentence in err. Off: nothing is installed (the struct
 * exists, every call is a no-op). */
int xlb_fp_init(struct xlb_fp **out, const struct xlb_fp_params *p,
		char *err, size_t errlen);
void xlb_fp_free(struct xlb_fp *fp);		/* NULL is fine */
bool xlb_fp_enabled(const struct xlb_fp *fp);
void xlb_fp_get_stats(const struct xlb_fp *fp, struct xlb_fp_stats *s);

#endif /* XLB_FASTPATH_H */
