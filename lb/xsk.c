// SPDX-License-Identifier: GPL-2.0
/*
 * AF_XDP plumbing: one shared UMEM, one socket per (interface, RX queue),
 * one worker per queue index with a private frame cache. See xsk.h.
 *
 * Frame accounting: each frame is, at any time, in exactly one place: a
 * worker's cache, the shared pool, a fill ring / the kernel's RX path, the
 * caller's hands, a worker's TX batch, or a TX ring / the kernel's TX path
 * until it reappears on that socket's completion ring. A fill ring belongs
 * to the socket's own worker. A TX ring and its completion ring belong to
 * every worker that transmits there (worker w uses queue w mod n of an
 * interface with n queues); when that is more than one worker they take
 * the socket's tx_lock, and whoever drains the completion ring keeps the
 * frames. Frames so drift from worker to worker; a worker whose cache is
 * full gives a slab of XSK_SLAB frames to the shared pool and one whose
 * cache runs short takes a slab back (bpf-examples' AF_XDP-forwarding
 * does the same), so the shared pool's lock is taken once per slab, and
 * never when no socket is shared.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>

#include <xdp/xsk.h>

#include "log.h"
#include "xsk.h"

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define XSK_BIND_RETRY_MS	5000	/* a closed socket's queue is freed lazily */
#define XSK_BIND_RETRY_STEP_MS	100
#define XSK_KICK_TRIES		4	/* copy mode sends 32 frames per sendto()
					 * unless XDP_MAX_TX_SKB_BUDGET raised it */
/* Copy mode's per-sendto() TX budget (Linux 6.17+; older kernels say
 * ENOPROTOOPT and keep 32). Not in Debian 12's headers. */
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET	9
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL	69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET	70
#endif
/* Frames moved between a worker's cache and the shared pool at a time. */
#define XSK_SLAB		XLB_XSK_BATCH
/* Default UMEM bound: frames per worker shrink (to no less than the
 * minimum) so that many queues do not pin gigabytes. */
#define XSK_UMEM_BUDGET		(512ull << 20)

_Static_assert(XLB_XSK_QUEUES_MAX >= 256, "at least 256 queues per interface");

/* One socket: (interface, queue). */
struct xlb_xsk_port {
	/* Zero-initialised before creation: libxdp reads them for shared
	 * UMEMs. rx and fill: the socket's own worker (worker = queue). */
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_socket *xsk;
	int fd;
	int iface;
	int queue;
	bool shared;			/* several workers transmit here */
	bool lock_init;
	/* With shared: tx, comp, outstanding and tx_completed. */
	pthread_mutex_t tx_lock;
	uint32_t outstanding;		/* submitted, not yet completed (atomic
					 * loads outside the lock) */
	uint64_t tx_completed;
	/* The socket's own worker. */
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t pool_empty;
} __attribute__((aligned(64)));

/* A worker's way out through one interface: its TX queue there. */
struct xsk_txq {
	struct xlb_xsk_port *port;	/* queue (worker mod n_queues) */
	uint32_t n;			/* frames in batch */
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_full;
	uint64_t kicks;
	struct xdp_desc batch[XLB_XSK_BATCH];
};

struct xlb_xsk_worker {
	struct xlb_xsk *x;
	int q;
	int n_ports;			/* = n_ifaces */
	int rr;				/* next port to receive from */
	bool busy_poll;			/* drive NAPI from recvfrom(), never sleep */
	uint8_t *area;
	uint64_t chunk_mask;		/* ~(frame_size - 1) */
	uint32_t frame_size;
	uint64_t *pool;			/* cache: LIFO of free chunk addresses */
	uint32_t pool_n;
	uint32_t pool_cap;
	uint64_t slab_swaps;		/* slabs given to / taken from the shared pool */
	struct xlb_xsk_port *rx[XLB_XSK_MAX_IFACES];	/* NULL: no RX queue q there */
	struct xsk_txq txq[XLB_XSK_MAX_IFACES];
	struct pollfd pfd[XLB_XSK_MAX_IFACES];
	int n_pfd;
} __attribute__((aligned(64)));

struct xlb_xsk {
	struct xlb_xsk_params p;
	char ifname[XLB_XSK_MAX_IFACES][IF_NAMESIZE];
	int ifindex[XLB_XSK_MAX_IFACES];
	int n_queues[XLB_XSK_MAX_IFACES];
	int n_workers;
	bool zc;
	bool busy_poll;
	void *area;
	size_t area_size;
	struct xsk_umem *umem;
	struct xsk_ring_prod umem_fill;	/* copied into the first port */
	struct xsk_ring_cons umem_comp;
	struct xlb_xsk_port *ports;	/* [iface * n_workers + q] */
	struct xlb_xsk_worker *workers;
	uint64_t *pools;		/* the workers' caches */
	/* Shared pool: frames between workers, XSK_SLAB at a time. */
	pthread_mutex_t spool_lock;
	bool spool_lock_init;
	uint64_t *spool;
	uint32_t spool_cap;
	uint32_t spool_n;		/* atomic loads outside the lock */
};

void xlb_xsk_params_default(struct xlb_xsk_params *p)
{
	memset(p, 0, sizeof(*p));
	p->zerocopy = XLB_XSK_ZC_AUTO;
	p->xdp_mode = XLB_XSK_XDP_AUTO;
	p->xsks_map_fd = -1;
	p->ring_size = XSK_RING_CONS__DEFAULT_NUM_DESCS;
	p->frame_size = XSK_UMEM__DEFAULT_FRAME_SIZE;
	p->headroom = 256;
}

const char *xlb_xsk_zc_str(enum xlb_xsk_zc zc)
{
	switch (zc) {
	case XLB_XSK_ZC_AUTO: return "auto";
	case XLB_XSK_ZC_ON:   return "on";
	case XLB_XSK_ZC_OFF:  return "off";
	}
	return "?";
}

int xlb_xsk_zc_parse(const char *s, enum xlb_xsk_zc *out)
{
	if (!strcmp(s, "auto"))
		*out = XLB_XSK_ZC_AUTO;
	else if (!strcmp(s, "on"))
		*out = XLB_XSK_ZC_ON;
	else if (!strcmp(s, "off"))
		*out = XLB_XSK_ZC_OFF;
	else
		return -EINVAL;
	return 0;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* RX queues in /sys/class/net/IF/queues (rx-N entries), or 0. */
static int xsk_sysfs_rx_queues(const char *ifname)
{
	char path[64 + IF_NAMESIZE];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "rx-", 3))
			n++;
	closedir(dir);
	return n;
}

int xlb_xsk_queue_count(const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	int fd, ret, n;

	if (!ifname || strlen(ifname) >= IF_NAMESIZE)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IF_NAMESIZE - 1);
	ifr.ifr_data = (void *)&ch;
	ret = ioctl(fd, SIOCETHTOOL, &ifr) ? -errno : 0;
	close(fd);
	if (ret == -ENODEV)
		return ret;
	if (ret == 0 && ch.rx_count + ch.combined_count > 0)
		return (int)(ch.rx_count + ch.combined_count);
	/* No channel API (bridges, bonds, ...): what the stack registered. */
	n = xsk_sysfs_rx_queues(ifname);
	return n > 0 ? n : 1;
}

static int xsk_umem_create(struct xlb_xsk *x)
{
	struct xsk_umem_config cfg = {
		.fill_size = x->p.ring_size,
		.comp_size = x->p.ring_size,
		.frame_size = x->p.frame_size,
		.frame_headroom = x->p.headroom,
		.flags = 0,
	};

	memset(&x->umem_fill, 0, sizeof(x->umem_fill));
	memset(&x->umem_comp, 0, sizeof(x->umem_comp));
	return xsk_umem__create(&x->umem, x->area, x->area_size,
				&x->umem_fill, &x->umem_comp, &cfg);
}

static void xsk_ports_delete(struct xlb_xsk *x)
{
	int i, n = x->p.n_ifaces * x->n_workers;

	/* Reverse order: the first socket's fd is the UMEM's. */
	for (i = n - 1; i >= 0; i--) {
		struct xlb_xsk_port *port = &x->ports[i];

		if (port->xsk)
			xsk_socket__delete(port->xsk);
		port->xsk = NULL;
		port->fd = -1;
	}
}

static uint32_t xsk_xdp_flags(const struct xlb_xsk *x)
{
	switch (x->p.xdp_mode) {
	case XLB_XSK_XDP_NATIVE: return XDP_FLAGS_DRV_MODE;
	case XLB_XSK_XDP_SKB:    return XDP_FLAGS_SKB_MODE;
	default:                 return 0;
	}
}

static int xsk_setsockopt_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) ? -errno : 0;
}

/*
 * Socket options that cut per-packet syscall cost:
 *  - copy mode transmits at most 32 frames per sendto() by default; a
 *    budget of the whole TX ring makes one kick send a whole flush
 *    (best effort: older kernels refuse the option and keep 32);
 *  - preferred busy polling, when asked for: the kernel keeps the queue's
 *    NAPI off its own schedule while this socket polls it, so frames are
 *    received only as fast as the worker consumes them instead of being
 *    received, then dropped on an empty fill ring under overload.
 */
static int xsk_port_tune(struct xlb_xsk *x, struct xlb_xsk_port *port)
{
	int ret;

	ret = xsk_setsockopt_int(port->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET,
				 (int)x->p.ring_size);
	if (ret)
		pr_debug("xsk: %s queue %d: XDP_MAX_TX_SKB_BUDGET: %s",
			 x->ifname[port->iface], port->queue, strerror(-ret));
	if (!x->p.busy_poll_us)
		return 0;
	ret = xsk_setsockopt_int(port->fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, 1);
	if (!ret)
		ret = xsk_setsockopt_int(port->fd, SOL_SOCKET, SO_BUSY_POLL,
					 (int)x->p.busy_poll_us);
	if (!ret)
		ret = xsk_setsockopt_int(port->fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET,
					 XLB_XSK_BATCH);
	if (ret)
		pr_warn("xsk: %s queue %d: busy polling: %s",
			x->ifname[port->iface], port->queue, strerror(-ret));
	return ret;
}

/* Creates one socket, retrying while its queue is still held by a socket
 * closed a moment ago (EBUSY). The first socket of a UMEM is the UMEM's own
 * fd; libxdp leaves that UMEM unusable when its bind fails, so it is
 * recreated before trying again. */
static int xsk_port_create(struct xlb_xsk *x, struct xlb_xsk_port *port,
			   bool first, bool zc)
{
	struct xsk_socket_config cfg = {
		.rx_size = x->p.ring_size,
		.tx_size = x->p.ring_size,
		.libxdp_flags = x->p.inhibit_prog_load ?
				XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD : 0,
		.xdp_flags = xsk_xdp_flags(x),
		.bind_flags = XDP_USE_NEED_WAKEUP | (zc ? XDP_ZEROCOPY : XDP_COPY),
	};
	const char *ifname = x->ifname[port->iface];
	int waited = 0, ret;

	for (;;) {
		memset(&port->rx, 0, sizeof(port->rx));
		memset(&port->tx, 0, sizeof(port->tx));
		memset(&port->fill, 0, sizeof(port->fill));
		memset(&port->comp, 0, sizeof(port->comp));
		ret = xsk_socket__create_shared(&port->xsk, ifname, port->queue,
						x->umem, &port->rx, &port->tx,
						&port->fill, &port->comp, &cfg);
		if (ret == 0)
			break;
		port->xsk = NULL;
		if (first) {
			int r2;

			xsk_umem__delete(x->umem);
			x->umem = NULL;
			r2 = xsk_umem_create(x);
			if (r2) {
				pr_warn("xsk: recreating the UMEM: %s", strerror(-r2));
				return r2;
			}
		}
		if (ret != -EBUSY || waited >= XSK_BIND_RETRY_MS)
			return ret;
		sleep_ms(XSK_BIND_RETRY_STEP_MS);
		waited += XSK_BIND_RETRY_STEP_MS;
	}
	port->fd = xsk_socket__fd(port->xsk);
	ret = xsk_port_tune(x, port);
	if (ret)
		return ret;
	if (waited)
		pr_debug("xsk: %s queue %d bound after %d ms of EBUSY",
			 ifname, port->queue, waited);
	return 0;
}

static bool xsk_port_is_zc(const struct xlb_xsk_port *port)
{
	struct xdp_options opts = { 0 };
	socklen_t len = sizeof(opts);

	if (getsockopt(port->fd, SOL_XDP, XDP_OPTIONS, &opts, &len))
		return false;
	return opts.flags & XDP_OPTIONS_ZEROCOPY;
}

/* Creates every socket, one at a time (concurrent creation races in
 * libxdp). On failure everything created is deleted. */
static int xsk_ports_create(struct xlb_xsk *x, bool zc, bool may_fall_back)
{
	int i, q, ret;
	bool first = true;

	for (i = 0; i < x->p.n_ifaces; i++) {
		for (q = 0; q < x->n_queues[i]; q++) {
			struct xlb_xsk_port *port = &x->ports[i * x->n_workers + q];

			ret = xsk_port_create(x, port, first, zc);
			if (ret) {
				xlb_log(may_fall_back ? XLB_LOG_DEBUG : XLB_LOG_WARN,
					"xsk: socket on %s queue %d (%s mode): %s",
					x->ifname[i], q, zc ? "zero-copy" : "copy",
					strerror(-ret));
				xsk_ports_delete(x);
				/* The UMEM's fd was the first socket's, still
				 * bound: start over with a fresh UMEM. */
				if (!first) {
					int r2;

					xsk_umem__delete(x->umem);
					x->umem = NULL;
					r2 = xsk_umem_create(x);
					if (r2)
						pr_warn("xsk: recreating the UMEM: %s",
							strerror(-r2));
				}
				return ret;
			}
			first = false;
		}
	}
	return 0;
}

int xlb_xsk_update_xskmap(struct xlb_xsk *x, int iface, int xsks_map_fd)
{
	int i, q, ret;

	if (iface < -1 || iface >= x->p.n_ifaces || xsks_map_fd < 0)
		return -EINVAL;
	for (i = 0; i < x->p.n_ifaces; i++) {
		if (iface != -1 && iface != i)
			continue;
		for (q = 0; q < x->n_queues[i]; q++) {
			struct xlb_xsk_port *port = &x->ports[i * x->n_workers + q];

			__u32 key = (__u32)(i * XLB_XSK_QUEUES_MAX + q);
			int fd = xsk_socket__fd(port->xsk);

			ret = bpf_map_update_elem(xsks_map_fd, &key, &fd, BPF_ANY);
			if (ret) {
				ret = -errno;
				pr_warn("xsk: XSKMAP entry for %s queue %d: %s",
					x->ifname[i], q, strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

static int xsk_check_params(const struct xlb_xsk_params *p)
{
	int i;

	if (!p->ifnames || p->n_ifaces < 1 || p->n_ifaces > XLB_XSK_MAX_IFACES) {
		pr_warn("xsk: between 1 and %d interfaces", XLB_XSK_MAX_IFACES);
		return -EINVAL;
	}
	for (i = 0; i < p->n_ifaces; i++)
		if (!p->ifnames[i] || strlen(p->ifnames[i]) >= IF_NAMESIZE) {
			pr_warn("xsk: bad interface name");
			return -EINVAL;
		}
	if (!is_pow2(p->ring_size)) {
		pr_warn("xsk: ring size %u is not a power of 2", p->ring_size);
		return -EINVAL;
	}
	if (p->frame_size != 2048 && p->frame_size != 4096) {
		pr_warn("xsk: frame size must be 2048 or 4096 (aligned UMEM)");
		return -EINVAL;
	}
	/* The kernel keeps XDP_PACKET_HEADROOM (256) after the UMEM headroom;
	 * leave room for at least a 1500-byte frame. */
	if (p->headroom + 256 + 1518 > p->frame_size) {
		pr_warn("xsk: headroom %u too large for %u-byte frames",
			p->headroom, p->frame_size);
		return -EINVAL;
	}
	if (p->inhibit_prog_load == false && p->xsks_map_fd >= 0) {
		pr_warn("xsk: an XSKMAP goes with inhibit_prog_load");
		return -EINVAL;
	}
	return 0;
}

/* Workers that transmit on queue j of an interface with n queues: those
 * w < n_workers with w mod n == j. */
static int xsk_tx_users(const struct xlb_xsk *x, int n, int j)
{
	return j < x->n_workers ? (x->n_workers - 1 - j) / n + 1 : 0;
}

/* Gives each worker its slice of frames, its RX sockets (queue q of every
 * interface that has one) and a TX queue on every interface (q mod n),
 * and stocks its fill rings. */
static int xsk_workers_init(struct xlb_xsk *x)
{
	uint32_t fpw = x->p.frames_per_worker;
	int q, i, j;

	for (i = 0; i < x->p.n_ifaces; i++)
		for (j = 0; j < x->n_queues[i]; j++) {
			struct xlb_xsk_port *port = &x->ports[i * x->n_workers + j];

			port->shared = xsk_tx_users(x, x->n_queues[i], j) > 1;
			if (port->shared) {
				if (pthread_mutex_init(&port->tx_lock, NULL))
					return -ENOMEM;
				port->lock_init = true;
			}
		}
	for (q = 0; q < x->n_workers; q++) {
		struct xlb_xsk_worker *w = &x->workers[q];
		uint64_t base = (uint64_t)q * fpw * x->p.frame_size;
		uint32_t f, per_port;
		int n_used = 0;

		w->x = x;
		w->q = q;
		w->n_ports = x->p.n_ifaces;
		w->busy_poll = x->p.busy_poll_us != 0;
		w->area = x->area;
		w->frame_size = x->p.frame_size;
		w->chunk_mask = ~(uint64_t)(x->p.frame_size - 1);
		w->pool = x->pools + (size_t)q * fpw;
		w->pool_cap = fpw;
		for (f = fpw; f > 0; f--)
			w->pool[w->pool_n++] = base + (uint64_t)(f - 1) * x->p.frame_size;

		for (i = 0; i < x->p.n_ifaces; i++) {
			w->txq[i].port = &x->ports[i * x->n_workers + q % x->n_queues[i]];
			if (q >= x->n_queues[i])
				continue;
			w->rx[i] = &x->ports[i * x->n_workers + q];
			w->pfd[w->n_pfd].fd = w->rx[i]->fd;
			w->pfd[w->n_pfd].events = POLLIN;
			w->n_pfd++;
			n_used++;
		}
		/* Half the frames wait on fill rings, half are free for
		 * frames in flight towards TX. */
		per_port = fpw / (2 * (uint32_t)n_used);
		if (per_port > x->p.ring_size)
			per_port = x->p.ring_size;
		for (i = 0; i < x->p.n_ifaces; i++) {
			struct xlb_xsk_port *port = w->rx[i];
			uint32_t idx, k;

			if (!port)
				continue;
			if (xsk_ring_prod__reserve(&port->fill, per_port, &idx) != per_port)
				return -ENOSPC;
			for (k = 0; k < per_port; k++)
				*xsk_ring_prod__fill_addr(&port->fill, idx + k) =
					w->pool[--w->pool_n];
			xsk_ring_prod__submit(&port->fill, per_port);
		}
	}
	return 0;
}

int xlb_xsk_init(struct xlb_xsk **out, const struct xlb_xsk_params *params)
{
	struct xlb_xsk *x;
	int i, ret, max_q = 0;
	size_t n_ports;

	*out = NULL;
	ret = xsk_check_params(params);
	if (ret)
		return ret;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->p = *params;
	x->p.ifnames = NULL;	/* not kept: copied below */
	x->area = MAP_FAILED;

	for (i = 0; i < params->n_ifaces; i++) {
		strncpy(x->ifname[i], params->ifnames[i], IF_NAMESIZE - 1);
		x->ifindex[i] = (int)if_nametoindex(x->ifname[i]);
		if (!x->ifindex[i]) {
			ret = -errno;
			pr_warn("xsk: interface %s: %s", x->ifname[i], strerror(errno));
			goto err;
		}
		ret = xlb_xsk_queue_count(x->ifname[i]);
		if (ret < 0) {
			pr_warn("xsk: interface %s: %s", x->ifname[i], strerror(-ret));
			goto err;
		}
		x->n_queues[i] = ret;
		if (params->n_queues > 0 && x->n_queues[i] > params->n_queues)
			x->n_queues[i] = params->n_queues;
		if (x->n_queues[i] > XLB_XSK_QUEUES_MAX) {
			pr_warn("xsk: %s has %d RX queues; at most %d are supported",
				x->ifname[i], x->n_queues[i], XLB_XSK_QUEUES_MAX);
			ret = -E2BIG;
			goto err;
		}
		if (x->n_queues[i] > max_q)
			max_q = x->n_queues[i];
	}
	x->n_workers = max_q;
	if (!x->p.frames_per_worker) {
		uint64_t fpw = 2 * (uint64_t)params->n_ifaces * x->p.ring_size;
		uint64_t budget = XSK_UMEM_BUDGET / x->p.frame_size / (uint64_t)max_q;
		uint64_t min = 2 * (uint64_t)params->n_ifaces * XLB_XSK_BATCH;

		if (fpw > budget)
			fpw = budget > min ? budget : min;
		x->p.frames_per_worker = (uint32_t)fpw;
	}
	if (x->p.frames_per_worker < 2 * (uint32_t)params->n_ifaces * XLB_XSK_BATCH) {
		pr_warn("xsk: %u frames per worker is too few", x->p.frames_per_worker);
		ret = -EINVAL;
		goto err;
	}

	x->area_size = (size_t)x->n_workers * x->p.frames_per_worker * x->p.frame_size;
	x->area = mmap(NULL, x->area_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED) {
		ret = -errno;
		pr_warn("xsk: UMEM of %zu bytes: %s", x->area_size, strerror(errno));
		goto err;
	}
	x->pools = calloc((size_t)x->n_workers * x->p.frames_per_worker, sizeof(uint64_t));
	x->spool_cap = (uint32_t)x->n_workers * x->p.frames_per_worker;
	x->spool = calloc(x->spool_cap, sizeof(uint64_t));
	n_ports = (size_t)params->n_ifaces * x->n_workers;
	x->ports = aligned_alloc(64, n_ports * sizeof(*x->ports));
	x->workers = aligned_alloc(64, x->n_workers * sizeof(*x->workers));
	if (!x->pools || !x->spool || !x->ports || !x->workers) {
		ret = -ENOMEM;
		goto err;
	}
	if (pthread_mutex_init(&x->spool_lock, NULL)) {
		ret = -ENOMEM;
		goto err;
	}
	x->spool_lock_init = true;
	memset(x->ports, 0, n_ports * sizeof(*x->ports));
	memset(x->workers, 0, x->n_workers * sizeof(*x->workers));
	for (i = 0; i < (int)n_ports; i++) {
		x->ports[i].fd = -1;
		x->ports[i].iface = i / x->n_workers;
		x->ports[i].queue = i % x->n_workers;
	}

	ret = xsk_umem_create(x);
	if (ret) {
		pr_warn("xsk: creating the UMEM: %s", strerror(-ret));
		goto err;
	}
	if (params->zerocopy != XLB_XSK_ZC_OFF) {
		ret = xsk_ports_create(x, true,
				       params->zerocopy == XLB_XSK_ZC_AUTO);
		if (ret == 0)
			x->zc = true;
		else if (params->zerocopy == XLB_XSK_ZC_ON) {
			pr_warn("xsk: zero-copy is not available (--zerocopy on)");
			goto err;
		} else {
			pr_info("xsk: zero-copy not available (%s), using copy mode",
				strerror(-ret));
		}
	}
	if (!x->zc) {
		ret = xsk_ports_create(x, false, false);
		if (ret)
			goto err;
	}
	x->busy_poll = params->busy_poll_us != 0;
	/* The kernel has the final word on the mode. */
	if (x->zc && !xsk_port_is_zc(&x->ports[0]))
		x->zc = false;

	if (params->inhibit_prog_load && params->xsks_map_fd >= 0) {
		ret = xlb_xsk_update_xskmap(x, -1, params->xsks_map_fd);
		if (ret)
			goto err;
	}
	ret = xsk_workers_init(x);
	if (ret) {
		pr_warn("xsk: stocking the fill rings: %s", strerror(-ret));
		goto err;
	}
	*out = x;
	return 0;
err:
	xlb_xsk_free(x);
	return ret;
}

void xlb_xsk_free(struct xlb_xsk *x)
{
	if (!x)
		return;
	if (x->ports) {
		xsk_ports_delete(x);
		for (int i = 0; i < x->p.n_ifaces * x->n_workers; i++)
			if (x->ports[i].lock_init)
				pthread_mutex_destroy(&x->ports[i].tx_lock);
	}
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area != MAP_FAILED)
		munmap(x->area, x->area_size);
	if (x->spool_lock_init)
		pthread_mutex_destroy(&x->spool_lock);
	free(x->ports);
	free(x->workers);
	free(x->pools);
	free(x->spool);
	free(x);
}

int xlb_xsk_n_workers(const struct xlb_xsk *x)
{
	return x->n_workers;
}

int xlb_xsk_n_ports(const struct xlb_xsk *x)
{
	return x->p.n_ifaces;
}

int xlb_xsk_n_queues(const struct xlb_xsk *x, int port)
{
	if (port < 0 || port >= x->p.n_ifaces)
		return -EINVAL;
	return x->n_queues[port];
}

bool xlb_xsk_zerocopy(const struct xlb_xsk *x)
{
	return x->zc;
}

bool xlb_xsk_busy_poll(const struct xlb_xsk *x)
{
	return x->busy_poll;
}

int xlb_xsk_ifindex(const struct xlb_xsk *x, int port)
{
	if (port < 0 || port >= x->p.n_ifaces)
		return -EINVAL;
	return x->ifindex[port];
}

const char *xlb_xsk_ifname(const struct xlb_xsk *x, int port)
{
	if (port < 0 || port >= x->p.n_ifaces)
		return NULL;
	return x->ifname[port];
}

struct xlb_xsk_worker *xlb_xsk_worker(struct xlb_xsk *x, int q)
{
	if (q < 0 || q >= x->n_workers)
		return NULL;
	return &x->workers[q];
}

int xlb_xsk_worker_queue(const struct xlb_xsk_worker *w)
{
	return w->q;
}

uint32_t xlb_xsk_pool_free(const struct xlb_xsk_worker *w)
{
	return w->pool_n;
}

/* ---- hot path ---- */

static inline uint32_t load32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* The cache is full: give its top slab to the shared pool. */
static void pool_give_slab(struct xlb_xsk_worker *w)
{
	struct xlb_xsk *x = w->x;
	uint32_t n = XSK_SLAB, sn;

	if (n > w->pool_n)
		n = w->pool_n;
	pthread_mutex_lock(&x->spool_lock);
	sn = x->spool_n;
	/* Never short while the accounting holds: the shared pool can hold
	 * every frame. */
	if (n > x->spool_cap - sn)
		n = x->spool_cap - sn;
	memcpy(x->spool + sn, w->pool + w->pool_n - n, n * sizeof(uint64_t));
	store32(&x->spool_n, sn + n);
	pthread_mutex_unlock(&x->spool_lock);
	w->pool_n -= n;
	w->slab_swaps++;
}

/* Frames free in the cache, after taking slabs from the shared pool if
 * fewer than want are there and the shared pool has some. */
static uint32_t pool_avail(struct xlb_xsk_worker *w, uint32_t want)
{
	struct xlb_xsk *x = w->x;
	uint32_t n, sn;

	if (w->pool_n >= want || !load32(&x->spool_n))
		return w->pool_n;
	n = (want - w->pool_n + XSK_SLAB - 1) / XSK_SLAB * XSK_SLAB;
	pthread_mutex_lock(&x->spool_lock);
	sn = x->spool_n;
	if (n > sn)
		n = sn;
	if (n > w->pool_cap - w->pool_n)
		n = w->pool_cap - w->pool_n;
	memcpy(w->pool + w->pool_n, x->spool + sn - n, n * sizeof(uint64_t));
	store32(&x->spool_n, sn - n);
	pthread_mutex_unlock(&x->spool_lock);
	w->pool_n += n;
	w->slab_swaps++;
	return w->pool_n;
}

static inline void pool_put(struct xlb_xsk_worker *w, uint64_t addr)
{
	if (w->pool_n == w->pool_cap)
		pool_give_slab(w);
	/* Never false while the accounting holds; the check keeps a bug
	 * from writing past the cache. */
	if (w->pool_n < w->pool_cap)
		w->pool[w->pool_n++] = addr & w->chunk_mask;
}

static inline void port_lock(struct xlb_xsk_port *port)
{
	if (port->shared)
		pthread_mutex_lock(&port->tx_lock);
}

static inline void port_unlock(struct xlb_xsk_port *port)
{
	if (port->shared)
		pthread_mutex_unlock(&port->tx_lock);
}

/* Any thread that transmits on the port; no lock needed (the kernel
 * serialises sendto() on a socket). */
static void port_kick_tx(struct xlb_xsk_port *port, struct xsk_txq *t)
{
	int i;

	for (i = 0; i < XSK_KICK_TRIES; i++) {
		t->kicks++;
		if (sendto(port->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		/* EAGAIN: copy mode stopped after its per-call budget with
		 * frames left; anything else (ENOBUFS, EBUSY, ENETDOWN) is
		 * retried by the next flush. */
		if (errno != EAGAIN)
			return;
	}
}

/* Under the port's lock when shared: the frames go to w's cache, whoever
 * sent them. */
static void port_drain_comp(struct xlb_xsk_worker *w, struct xlb_xsk_port *port)
{
	uint32_t idx, n, i, out = load32(&port->outstanding);

	if (!out)
		return;
	n = xsk_ring_cons__peek(&port->comp, out, &idx);
	if (!n)
		return;
	for (i = 0; i < n; i++)
		pool_put(w, *xsk_ring_cons__comp_addr(&port->comp, idx + i));
	xsk_ring_cons__release(&port->comp, n);
	store32(&port->outstanding, out - n);
	port->tx_completed += n;
}

static void txq_burst(struct xlb_xsk_worker *w, struct xsk_txq *t)
{
	struct xlb_xsk_port *port = t->port;
	uint32_t n = t->n, free_n, idx, i;
	bool wake = false;

	port_lock(port);
	port_drain_comp(w, port);
	free_n = xsk_prod_nb_free(&port->tx, n);
	if (free_n < n) {
		/* Ring full: let the kernel make room once, then drop the
		 * rest rather than stall the worker. */
		port_kick_tx(port, t);
		port_drain_comp(w, port);
		free_n = xsk_prod_nb_free(&port->tx, n);
	}
	if (free_n > n)
		free_n = n;
	if (free_n && xsk_ring_prod__reserve(&port->tx, free_n, &idx) == free_n) {
		for (i = 0; i < free_n; i++) {
			*xsk_ring_prod__tx_desc(&port->tx, idx + i) = t->batch[i];
			t->tx_bytes += t->batch[i].len;
		}
		xsk_ring_prod__submit(&port->tx, free_n);
		store32(&port->outstanding, load32(&port->outstanding) + free_n);
		t->tx_packets += free_n;
		wake = xsk_ring_prod__needs_wakeup(&port->tx);
	} else {
		free_n = 0;
	}
	port_unlock(port);
	for (i = free_n; i < n; i++)
		pool_put(w, t->batch[i].addr);
	t->tx_full += n - free_n;
	t->n = 0;
	if (wake)
		port_kick_tx(port, t);
}

static uint32_t port_rx_burst(struct xlb_xsk_worker *w, struct xlb_xsk_port *port,
			      struct xlb_xsk_desc *d, uint32_t max)
{
	uint32_t n, idx, fidx, i;

	/* Take no more than can be replaced on the fill ring. */
	n = pool_avail(w, max);
	if (n < max)
		port->pool_empty++;
	else
		n = max;
	if (!n)
		return 0;
	n = xsk_ring_cons__peek(&port->rx, n, &idx);
	if (!n) {
		/* Zero-copy drivers may wait for a wakeup to use the fill
		 * ring; copy mode never sets the flag. Busy polling: this
		 * recvfrom() runs the queue's NAPI here and now. */
		if (w->busy_poll || xsk_ring_prod__needs_wakeup(&port->fill))
			recvfrom(port->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return 0;
	}
	for (i = 0; i < n; i++) {
		const struct xdp_desc *rd = xsk_ring_cons__rx_desc(&port->rx, idx + i);
		uint64_t off = rd->addr & ~w->chunk_mask;

		d[i].addr = rd->addr;
		d[i].data = xsk_umem__get_data(w->area, rd->addr);
		d[i].len = rd->len;
		d[i].headroom = (uint16_t)off;
		d[i].tailroom = (uint16_t)(w->frame_size - off - rd->len);
		d[i].port = port->iface;
		port->rx_bytes += rd->len;
	}
	xsk_ring_cons__release(&port->rx, n);
	port->rx_packets += n;

	/* The kernel took n frames off this fill ring, so n slots are free:
	 * this reserve cannot fail while frames are only ever replaced. */
	if (xsk_ring_prod__reserve(&port->fill, n, &fidx) == n) {
		for (i = 0; i < n; i++)
			*xsk_ring_prod__fill_addr(&port->fill, fidx + i) = w->pool[--w->pool_n];
		xsk_ring_prod__submit(&port->fill, n);
	}
	return n;
}

uint32_t xlb_xsk_rx(struct xlb_xsk_worker *w, struct xlb_xsk_desc *d, uint32_t max)
{
	uint32_t got = 0;
	int k;

	for (k = 0; k < w->n_ports && got < max; k++) {
		struct xlb_xsk_port *port = w->rx[w->rr];

		if (++w->rr == w->n_ports)
			w->rr = 0;
		if (port)
			got += port_rx_burst(w, port, d + got, max - got);
	}
	return got;
}

void xlb_xsk_tx(struct xlb_xsk_worker *w, int port_idx, uint64_t addr, uint32_t len)
{
	struct xsk_txq *t;

	if ((unsigned int)port_idx >= (unsigned int)w->n_ports) {
		pool_put(w, addr);
		return;
	}
	t = &w->txq[port_idx];
	t->batch[t->n].addr = addr;
	t->batch[t->n].len = len;
	t->batch[t->n].options = 0;
	if (++t->n == XLB_XSK_BATCH)
		txq_burst(w, t);
}

void xlb_xsk_drop(struct xlb_xsk_worker *w, uint64_t addr)
{
	pool_put(w, addr);
}

uint8_t *xlb_xsk_alloc(struct xlb_xsk_worker *w, uint64_t *addr, uint32_t *cap)
{
	/* One RX batch stays for receiving; frames left in the shared pool
	 * by other workers count too. */
	if (pool_avail(w, XLB_XSK_BATCH + 1) <= XLB_XSK_BATCH)
		return NULL;
	*addr = w->pool[--w->pool_n];
	*cap = w->frame_size;
	return xsk_umem__get_data(w->area, *addr);
}

void xlb_xsk_flush(struct xlb_xsk_worker *w)
{
	int i;

	for (i = 0; i < w->n_ports; i++) {
		struct xsk_txq *t = &w->txq[i];
		struct xlb_xsk_port *port = t->port;
		bool more;

		if (t->n) {
			txq_burst(w, t);
			continue;
		}
		if (!load32(&port->outstanding))
			continue;
		/* A shared socket busy with another worker: that one drains
		 * it now. */
		if (port->shared && pthread_mutex_trylock(&port->tx_lock))
			continue;
		port_drain_comp(w, port);
		/* Copy mode sends a bounded number of frames per kick: keep
		 * kicking while some are still on the TX ring. */
		more = load32(&port->outstanding) && xsk_ring_prod__needs_wakeup(&port->tx);
		port_unlock(port);
		if (more)
			port_kick_tx(port, t);
	}
}

int xlb_xsk_wait(struct xlb_xsk_worker *w, int timeout_ms)
{
	int i, ret;

	/* Busy polling never sleeps: the next xlb_xsk_rx() polls the NAPI
	 * of every empty queue itself. */
	if (w->busy_poll)
		return 0;
	/* Frames still on a TX ring need kicks and completions soon. */
	for (i = 0; i < w->n_ports; i++)
		if (load32(&w->txq[i].port->outstanding) && timeout_ms > 1)
			timeout_ms = 1;
	ret = poll(w->pfd, (nfds_t)w->n_pfd, timeout_ms);
	return ret < 0 ? -errno : ret;
}

/* ---- statistics ---- */

#define LOAD64(p) __atomic_load_n(&(p), __ATOMIC_RELAXED)

static void stats_add_port(struct xlb_xsk_stats *o, const struct xlb_xsk_port *port)
{
	struct xdp_statistics ks;
	socklen_t len = sizeof(ks);

	o->rx_packets += LOAD64(port->rx_packets);
	o->rx_bytes += LOAD64(port->rx_bytes);
	o->tx_completed += LOAD64(port->tx_completed);
	o->pool_empty += LOAD64(port->pool_empty);
	memset(&ks, 0, sizeof(ks));
	if (port->fd >= 0 && getsockopt(port->fd, SOL_XDP, XDP_STATISTICS, &ks, &len) == 0) {
		o->rx_dropped += ks.rx_dropped;
		o->rx_invalid_descs += ks.rx_invalid_descs;
		o->tx_invalid_descs += ks.tx_invalid_descs;
		o->rx_ring_full += ks.rx_ring_full;
		o->rx_fill_ring_empty_descs += ks.rx_fill_ring_empty_descs;
		o->tx_ring_empty_descs += ks.tx_ring_empty_descs;
	}
}

static void stats_add_txq(struct xlb_xsk_stats *o, const struct xsk_txq *t)
{
	o->tx_packets += LOAD64(t->tx_packets);
	o->tx_bytes += LOAD64(t->tx_bytes);
	o->tx_full += LOAD64(t->tx_full);
	o->kicks += LOAD64(t->kicks);
}

int xlb_xsk_port_stats(const struct xlb_xsk *x, int port, int queue,
		       struct xlb_xsk_stats *out)
{
	int q;

	memset(out, 0, sizeof(*out));
	if (port < 0 || port >= x->p.n_ifaces || queue < -1 || queue >= x->n_queues[port])
		return -EINVAL;
	for (q = 0; q < x->n_queues[port]; q++)
		if (queue == -1 || queue == q)
			stats_add_port(out, &x->ports[port * x->n_workers + q]);
	/* TX: every worker whose TX queue on this interface is that one. */
	for (q = 0; q < x->n_workers; q++)
		if (queue == -1 || q % x->n_queues[port] == queue)
			stats_add_txq(out, &x->workers[q].txq[port]);
	return 0;
}

uint64_t xlb_xsk_slab_swaps(const struct xlb_xsk *x)
{
	uint64_t n = 0;

	for (int q = 0; q < x->n_workers; q++)
		n += LOAD64(x->workers[q].slab_swaps);
	return n;
}
