/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The steering XDP program (bpf/xlb_steer.bpf.c) from userspace: load it
 * (embedded as a libbpf skeleton, so no .o path is needed at run time),
 * attach it to the director's interfaces through libxdp, keep its maps in
 * step with the control plane, and read its counters.
 *
 * Attaching: native mode by default, skb (generic) on request. libxdp tries
 * its multi-program dispatcher first and, where the kernel cannot run it,
 * attaches the program alone. Any program not named xlb_steer is left
 * alone and the attach fails with -EBUSY and a message naming it.
 *
 * Restarts: the program stays attached when xlbd stops (xlb_xdp_close()
 * does not detach), so the VIPs never fall back to the director's kernel,
 * which would reset their connections; with no AF_XDP socket in its
 * XSKMAP it drops steered packets and the clients retransmit. The next
 * xlbd loads a new program with new maps, fills them all (services,
 * nat_rs, xsk_base, local_addrs, its sockets in the XSKMAP), and only then
 * attaches: an xlb_steer attached alone in the same mode is swapped for
 * the new one in one step (XDP_FLAGS_REPLACE), so no packet ever meets no
 * program or an empty services map. (An xlb_steer inside a libxdp
 * dispatcher, or in another mode, is detached first, with a warning: the
 * packets in between go to the kernel.) Removing xlb for good is
 * xlb_xdp_detach_iface() (xlbd --detach).
 *
 * bpffs: libxdp wants one at /sys/fs/bpf (or $LIBXDP_BPFFS) for its
 * dispatcher. Under `ip netns exec` the process has a private mount
 * namespace with a fresh /sys and no bpffs, so xlb_xdp_open() mounts one
 * there if none is mounted (harmless: it lives only in that namespace). If
 * it cannot, libxdp falls back to attaching the single program.
 *
 * Errors: negative errno. A sentence for a person, saying what failed and
 * where, is kept per thread and returned by xlb_xdp_errmsg().
 *
 * Threads: open/attach/close and the map setters belong to one control
 * thread. xlb_xdp_counters() and xlb_xdp_xsks_map_fd() may be called from
 * any thread while the object is open.
 */
#ifndef XLB_XDP_H
#define XLB_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xlb-t.h"
#include "../bpf/xlb_shared.h"

struct xlb_xdp;

enum xlb_xdp_mode {
	XLB_XDP_NATIVE = 0,	/* driver mode (the default) */
	XLB_XDP_SKB,		/* generic mode: any interface, slower */
};

#define XLB_XDP_MAX_IFACES	32

/* "native" / "drv" / "skb" / "generic" -> mode; -EINVAL otherwise. */
int xlb_xdp_mode_parse(const char *s, enum xlb_xdp_mode *mode);
const char *xlb_xdp_mode_name(enum xlb_xdp_mode mode);

/* Loads the program and creates its maps (empty); attaches nowhere yet.
 * The fast path off (fp_config flags 0). */
int xlb_xdp_open(struct xlb_xdp **out, enum xlb_xdp_mode mode);

/*
 * The fast path's maps (bpf/xlb_fp.h). With enabled and a pin_dir (on a
 * bpffs), fp_flows, fp_devs and fp_flows6 pinned there by the previous xlbd are
 * reused when their definitions match this one's (same entries), so the
 * established flows in them keep being forwarded by XDP while xlbd
 * restarts; else they are (re)created and pinned there. Off: fp_config
 * says so, and pins in pin_dir are removed.
 */
struct xlb_xdp_fp_opts {
	bool enabled;			/* --fast-path on */
	uint32_t entries;		/* --fast-path-entries, 0: the default */
	const char *pin_dir;		/* NULL: not pinned */
};
int xlb_xdp_open_fp(struct xlb_xdp **out, enum xlb_xdp_mode mode,
		    const struct xlb_xdp_fp_opts *fp);
/* Whether fp_flows and fp_devs are the previous xlbd's (pinned). */
bool xlb_xdp_fp_reused(const struct xlb_xdp *x);
int xlb_xdp_fp_flows_fd(const struct xlb_xdp *x);
/* IPv6 flows' cache (issue 14), sized, pinned and reused as fp_flows (a
 * pin of an older xlbd without it: fp_flows is reused, this one new). */
int xlb_xdp_fp_flows6_fd(const struct xlb_xdp *x);
int xlb_xdp_fp_devs_fd(const struct xlb_xdp *x);
int xlb_xdp_fp_config_fd(const struct xlb_xdp *x);
/* Removes the pins in pin_dir and pin_dir itself (xlbd --detach). 0 or
 * -errno; nothing there is 0. */
int xlb_xdp_fp_unpin(const char *pin_dir);
/* Where xlb keeps bpffs state: $LIBXDP_BPFFS, else /sys/fs/bpf. */
const char *xlb_xdp_bpffs(void);

/*
 * Attaches to one more interface in the mode given at open. Replaces an
 * xlb_steer left by an earlier run (in one step, see above); refuses
 * (-EBUSY) a foreign program; -EOPNOTSUPP when the interface cannot do the
 * mode (the message says which mode, which interface, and to try skb);
 * -EALREADY if this object already attached there.
 */
int xlb_xdp_attach(struct xlb_xdp *x, int ifindex);

/* Unloads this object's handles. The program stays attached wherever it
 * is (see Restarts above). NULL-safe. */
void xlb_xdp_close(struct xlb_xdp *x);

/* Undoes the attaches of this object that found no xlb_steer before
 * (a start that fails half way leaves a bare interface bare); programs
 * that replaced an earlier run's stay. NULL-safe. */
void xlb_xdp_detach_fresh(struct xlb_xdp *x);

/* Removes xlb_steer from ifindex for good, alone or from a libxdp
 * dispatcher (others' programs in it stay). 0; -ENOENT when no xlb_steer
 * is attached there; -EBUSY when the program there is someone else's (left
 * alone, named in the message); -ENODEV. */
int xlb_xdp_detach_iface(int ifindex);

/* Whether an xlb_steer (any run's) is attached to ifindex. */
bool xlb_xdp_has_ours(int ifindex);

/* Map fds, for the AF_XDP side (xsk_socket__update_xskmap) and tests. */
int xlb_xdp_xsks_map_fd(const struct xlb_xdp *x);
/* Packets received on ifindex go to xsks_map[base + RX queue]: each
 * interface gets its own range of XLB_XSK_QUEUES_MAX keys. 0 or -errno. */
int xlb_xdp_set_xsk_base(struct xlb_xdp *x, int ifindex, uint32_t base);
int xlb_xdp_prog_fd(const struct xlb_xdp *x);

/* Adds (present) or removes one entry; removing an absent one is 0. The
 * key's pad byte is ignored (written as zero). */
int xlb_xdp_svc_set(struct xlb_xdp *x, const struct xlb_bpf_svc_key *k,
		    bool present);
int xlb_xdp_nat_rs_set(struct xlb_xdp *x, const struct xlb_rs_key *k,
		       bool present);
/* One of the director's own addresses (network order): packets from NAT
 * real servers to it are the kernel's (see xlb_steer). -ENOSPC past
 * XLB_LOCAL_ADDRS_MAX. */
int xlb_xdp_local_set(struct xlb_xdp *x, uint32_t addr, bool present);

/*
 * Makes the services and nat_rs maps hold exactly these keys (duplicates
 * in the input are fine), as one transaction: -ENOSPC, with nothing
 * changed, when a map cannot hold them (the message names the map and its
 * limit); else the stale keys are deleted, then the new ones added, and at
 * the first failure what was done is undone, so the maps end as they
 * were (-errno, the message says what failed). Keys present before and
 * after are never touched. Keeps what the maps hold in memory; the first
 * sync reads them (a pinned map may hold an earlier run's keys).
 */
int xlb_xdp_sync(struct xlb_xdp *x, const struct xlb_bpf_svc_key *svcs,
		 size_t nsvc, const struct xlb_rs_key *rs, size_t nrs);
/* How many keys the services and nat_rs maps can hold (either may be
 * NULL). 0. */
int xlb_xdp_capacity(const struct xlb_xdp *x, uint32_t *svcs, uint32_t *nat_rs);
/* The maps' fds, for tests that read them. */
int xlb_xdp_services_fd(const struct xlb_xdp *x);
int xlb_xdp_nat_rs_fd(const struct xlb_xdp *x);

/*
 * IPv6 (issue 14): the maps services6, nat_rs6 and local_addrs6 of
 * xlb_steer, beside the IPv4 ones (bpf/xlb_shared.h). Same contract as
 * the IPv4 setters: add (present) or remove one entry, removing an absent
 * one is 0, the pad byte is ignored; -ENOSPC when the map is full.
 */
int xlb_xdp_svc6_set(struct xlb_xdp *x, const struct xlb_svc6_key *k,
		     bool present);
int xlb_xdp_nat_rs6_set(struct xlb_xdp *x, const struct xlb_rs6_key *k,
			bool present);
int xlb_xdp_local6_set(struct xlb_xdp *x, const uint8_t addr[16],
		       bool present);

/* Either family, the address as lb/inaddr.h has it (AF_INET: the first 4
 * bytes; port in network order): the IPv4 or the IPv6 map. -EAFNOSUPPORT
 * for another family. */
union xlb_inaddr;
int xlb_xdp_svc_set_af(struct xlb_xdp *x, int af, const union xlb_inaddr *a,
		       uint16_t port, uint8_t proto, bool present);
int xlb_xdp_nat_rs_set_af(struct xlb_xdp *x, int af,
			  const union xlb_inaddr *a, uint16_t port,
			  uint8_t proto, bool present);
int xlb_xdp_local_set_af(struct xlb_xdp *x, int af, const union xlb_inaddr *a,
			 bool present);

/*
 * xlb_xdp_sync() for the IPv6 maps: services6 and nat_rs6 end holding
 * exactly these keys (duplicates fine, pad ignored), as one transaction:
 * -ENOSPC with nothing changed when a map cannot hold them; else stale
 * keys deleted, new ones added, and at the first failure all undone. It
 * reads what the maps hold at each call (no cache: the IPv6 maps are
 * small and the control plane changes rarely).
 */
int xlb_xdp_sync6(struct xlb_xdp *x, const struct xlb_svc6_key *svcs,
		  size_t nsvc, const struct xlb_rs6_key *rs, size_t nrs);
/*
 * Both families as one transaction, for xlb_dp_prepare_xdp(): the IPv6
 * limits are checked first (-ENOSPC, nothing changed), then
 * xlb_xdp_sync() (IPv4) and xlb_xdp_sync6(); if the IPv6 step fails, the
 * IPv4 maps are put back as they were, and the message says what failed
 * (and whether putting back failed too).
 */
int xlb_xdp_sync_all(struct xlb_xdp *x, const struct xlb_bpf_svc_key *svcs,
		     size_t nsvc, const struct xlb_rs_key *rs, size_t nrs,
		     const struct xlb_svc6_key *svcs6, size_t nsvc6,
		     const struct xlb_rs6_key *rs6, size_t nrs6);
int xlb_xdp_capacity6(const struct xlb_xdp *x, uint32_t *svcs,
		      uint32_t *nat_rs);
int xlb_xdp_services6_fd(const struct xlb_xdp *x);
int xlb_xdp_nat_rs6_fd(const struct xlb_xdp *x);
int xlb_xdp_local_addrs6_fd(const struct xlb_xdp *x);

/* Counters summed over CPUs, indexed by enum xlb_xdp_cnt (names in
 * xlb_cnt_names[]). */
int xlb_xdp_counters(const struct xlb_xdp *x, uint64_t out[XLB_CNT_MAX]);

/*
 * libbpf and libxdp print to stderr by default, including expected noise
 * (e.g. libxdp's "Falling back to loading single prog without dispatcher").
 * This routes their warnings, one line at a time, to fn (info and debug
 * are dropped), or silences them when fn is NULL. Process-wide.
 */
void xlb_xdp_set_lib_log(void (*fn)(const char *line));

/* The last failure of an xlb_xdp_* call in this thread, as a sentence;
 * "" if none. */
const char *xlb_xdp_errmsg(void);

#endif /* XLB_XDP_H */
