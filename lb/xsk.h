/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_XDP plumbing (libxdp's xsk API), after bpf-examples' AF_XDP-forwarding.
 *
 * One UMEM is shared by every socket of every interface, so a frame received
 * on one interface is transmitted on another without a copy. There is one
 * socket per (interface, RX queue), and one worker per queue index: as many
 * workers as the interface with the most RX queues has. Worker q receives
 * from queue q of every interface that has one, and transmits on every
 * interface through queue q mod n (n: that interface's queue count), so
 * interfaces with different queue counts (32 client-side, 16 server-side)
 * still forward everything. A socket that several workers transmit on is
 * locked for its TX and completion rings; one used by a single worker is
 * not. Each worker has a private frame cache; frames that a shared socket
 * hands to another worker come back through a shared pool, a slab at a
 * time (xsk.c).
 *
 * Threading: xlb_xsk_init()/xlb_xsk_free() from one thread; everything taking
 * a worker only from that worker's thread; xlb_xsk_port_stats() from any
 * thread (it reads counters the workers write, and the kernel's statistics).
 *
 * Frames: the UMEM is in aligned mode, so a frame is a frame_size chunk and a
 * descriptor address is the UMEM offset of the packet's first byte. Bytes in
 * front of it, down to the chunk start (the UMEM headroom plus the kernel's
 * XDP_PACKET_HEADROOM), are free for the caller to grow the packet into (TUN
 * prepends an outer IP header): transmit (addr - n, len + n).
 */
#ifndef XLB_XSK_H
#define XLB_XSK_H

#include <stdbool.h>
#include <stdint.h>

#define XLB_XSK_BATCH		64	/* RX burst and TX batch size */
#define XLB_XSK_MAX_IFACES	8
/* With inhibit_prog_load, interface i's queue q is XSKMAP key
 * i * XLB_XSK_QUEUES_MAX + q (bpf/xlb_shared.h uses the same numbers). */
#define XLB_XSK_QUEUES_MAX	256

enum xlb_xsk_zc {
	XLB_XSK_ZC_AUTO = 0,	/* zero-copy if every port supports it, else copy */
	XLB_XSK_ZC_ON,		/* zero-copy or an error */
	XLB_XSK_ZC_OFF,		/* copy mode */
};

enum xlb_xsk_xdp_mode {
	XLB_XSK_XDP_AUTO = 0,	/* libxdp's choice (native, else skb) */
	XLB_XSK_XDP_NATIVE,
	XLB_XSK_XDP_SKB,
};

struct xlb_xsk_params {
	const char **ifnames;		/* interfaces; port index = array index */
	int      n_ifaces;		/* 1..XLB_XSK_MAX_IFACES */
	int      n_queues;		/* at most this many queues per interface; 0 = all
					 * (xlb_xsk_queue_count); more than XLB_XSK_QUEUES_MAX
					 * is refused */
	enum xlb_xsk_zc zerocopy;
	/* true: the caller attaches its own XDP program and inserts the sockets
	 * into its XSKMAP (xsks_map_fd, or later xlb_xsk_update_xskmap()).
	 * false: libxdp attaches its default program, which redirects every
	 * packet of a queue that has a socket. */
	bool     inhibit_prog_load;
	enum xlb_xsk_xdp_mode xdp_mode;	/* only for libxdp's default program */
	int      xsks_map_fd;		/* -1 = none; with inhibit_prog_load */
	uint32_t frames_per_worker;	/* 0 = 2 * n_ifaces * ring_size, less when
					 * that makes the UMEM over 512 MiB */
	uint32_t ring_size;		/* every ring, power of 2; 0 = 2048 */
	uint32_t frame_size;		/* 2048 or 4096 (aligned mode); 0 = 4096 */
	uint32_t headroom;		/* UMEM frame_headroom; default 256 */
	/* Preferred busy polling (SO_PREFER_BUSY_POLL, SO_BUSY_POLL,
	 * SO_BUSY_POLL_BUDGET): the worker drives its queues' NAPI from its
	 * own syscalls, so the kernel receives only as fast as the worker
	 * consumes. Pair with the device's napi_defer_hard_irqs and
	 * gro_flush_timeout; the worker then never sleeps. 0 = off, else
	 * the SO_BUSY_POLL time in microseconds. */
	uint32_t busy_poll_us;
};

/* Fills p with defaults (no interfaces: set ifnames and n_ifaces). */
void xlb_xsk_params_default(struct xlb_xsk_params *p);

/* A received frame. The caller owns it until it hands it back with
 * xlb_xsk_tx() or xlb_xsk_drop() (exactly once). */
struct xlb_xsk_desc {
	uint64_t addr;		/* UMEM offset of data[0] */
	uint8_t  *data;
	uint32_t len;
	uint16_t headroom;	/* bytes before data inside the frame */
	uint16_t tailroom;	/* bytes after data + len inside the frame */
	int      port;		/* interface index (params order) it came from */
};

/* Per (interface, queue) counters. Those above the line are xlb's own; the
 * rest come from the kernel (getsockopt XDP_STATISTICS). */
struct xlb_xsk_stats {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;	/* handed to the TX ring */
	uint64_t tx_bytes;
	uint64_t tx_completed;	/* seen back on the completion ring */
	uint64_t tx_full;	/* dropped: TX ring full even after a kick */
	uint64_t pool_empty;	/* RX bursts cut short: no free frame to refill */
	uint64_t kicks;		/* sendto() wakeups */
	/* kernel */
	uint64_t rx_dropped;
	uint64_t rx_invalid_descs;
	uint64_t tx_invalid_descs;
	uint64_t rx_ring_full;
	uint64_t rx_fill_ring_empty_descs;
	uint64_t tx_ring_empty_descs;
};

struct xlb_xsk;		/* the UMEM and every socket */
struct xlb_xsk_worker;	/* the sockets of one queue on every interface */

/* RX queues of an interface: ETHTOOL_GCHANNELS (rx + combined), else the
 * rx-N entries in sysfs, else 1; -ENODEV if there is no such interface.
 * Any thread; one ioctl. */
int  xlb_xsk_queue_count(const char *ifname);

/* 0 or a negative errno (logged once with the reason). */
int  xlb_xsk_init(struct xlb_xsk **out, const struct xlb_xsk_params *p);
void xlb_xsk_free(struct xlb_xsk *x);	/* NULL is fine */

int  xlb_xsk_n_workers(const struct xlb_xsk *x);
int  xlb_xsk_n_ports(const struct xlb_xsk *x);		/* = n_ifaces */
int  xlb_xsk_n_queues(const struct xlb_xsk *x, int port);
bool xlb_xsk_zerocopy(const struct xlb_xsk *x);	/* mode actually bound */
int  xlb_xsk_ifindex(const struct xlb_xsk *x, int port);
const char *xlb_xsk_ifname(const struct xlb_xsk *x, int port);	/* NULL if out of range */
struct xlb_xsk_worker *xlb_xsk_worker(struct xlb_xsk *x, int q);	/* NULL if out of range */
int  xlb_xsk_worker_queue(const struct xlb_xsk_worker *w);

/* Inserts every socket of interface port into an XSKMAP (key = queue id).
 * port -1: every interface. 0 or a negative errno. */
int  xlb_xsk_update_xskmap(struct xlb_xsk *x, int port, int xsks_map_fd);

/* Hot path: worker thread only; no allocation or per-packet syscall; the
 * only locks are a shared socket's, once per TX batch, and the shared
 * pool's, once per slab. */

/* Receives up to max frames from the worker's ports, round robin, and
 * refills each fill ring with exactly as many frames as it took. */
uint32_t xlb_xsk_rx(struct xlb_xsk_worker *w, struct xlb_xsk_desc *d, uint32_t max);
/* Queues a frame for TX on interface port (addr may be below the RX addr:
 * the frame grew at the front). A full batch of XLB_XSK_BATCH is sent. */
void xlb_xsk_tx(struct xlb_xsk_worker *w, int port, uint64_t addr, uint32_t len);
/* Returns a frame to the worker's pool. */
void xlb_xsk_drop(struct xlb_xsk_worker *w, uint64_t addr);
/* Takes a free frame from the worker's pool for a packet the caller
 * builds itself (a TUN fragment): its UMEM address in *addr, its first
 * byte returned, room for *cap bytes. Hand it on exactly once with
 * xlb_xsk_tx() (addr, len <= *cap) or xlb_xsk_drop(). NULL when the pool is
 * down to the frames the next RX burst needs to refill its fill ring
 * (XLB_XSK_BATCH): receiving comes first. */
uint8_t *xlb_xsk_alloc(struct xlb_xsk_worker *w, uint64_t *addr, uint32_t *cap);
/* Sends partial TX batches, drains completion rings, kicks where needed.
 * Call once per loop iteration. */
void xlb_xsk_flush(struct xlb_xsk_worker *w);
/* True when the sockets were set up for busy polling (busy_poll_us). */
bool xlb_xsk_busy_poll(const struct xlb_xsk *x);
/* Sleeps in poll() until a port has something to receive or timeout_ms
 * passes (call when xlb_xsk_rx() returned 0, after xlb_xsk_flush()).
 * Returns poll()'s result, or a negative errno. */
int  xlb_xsk_wait(struct xlb_xsk_worker *w, int timeout_ms);
/* Frames currently free in the worker's pool (for tests and stats). */
uint32_t xlb_xsk_pool_free(const struct xlb_xsk_worker *w);

/* Counters of socket (port, queue); queue -1 sums every queue. The TX
 * counters of a queue are those of every worker transmitting on it. 0 or
 * -errno. */
int  xlb_xsk_port_stats(const struct xlb_xsk *x, int port, int queue,
			struct xlb_xsk_stats *out);
/* Slabs of frames moved between the workers' caches and the shared pool
 * (non-zero only when some socket is shared). */
uint64_t xlb_xsk_slab_swaps(const struct xlb_xsk *x);

const char *xlb_xsk_zc_str(enum xlb_xsk_zc zc);
int  xlb_xsk_zc_parse(const char *s, enum xlb_xsk_zc *out);	/* auto|on|off */

#endif /* XLB_XSK_H */
