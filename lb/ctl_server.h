/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xlbd's side of the control protocol (ctl.h): the listening unix socket,
 * peer permissions (SO_PEERCRED), request dispatch onto the tables, dumps,
 * extended acks, and each connection's batch (a transaction applied as one
 * snapshot, see ctl.h). Dumps never wait on a client: they are resumed a
 * datagram at a time as the client's socket takes them (netlink-style),
 * holding no lock of the datapath in between. Single-threaded: everything runs in the control thread's
 * poll loop, which also drives the rate estimator and snapshot reclamation
 * from a timerfd.
 */
#ifndef XLB_CTL_SERVER_H
#define XLB_CTL_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

struct xlb_tables;
struct xlb_ctl_server;

#define XLB_CTL_MAX_CLIENTS	64
/* A client that takes none of its replies (a dump it asked for and does
 * not read) for this long is dropped; until then it waits, parked, and
 * nothing else does. */
#define XLB_CTL_STALL_MS	60000

struct xlb_ctl_server_params {
	const char *path;		/* NULL: XLB_CTL_SOCKET_DEFAULT */
	const char *group;		/* may change tables too; socket 0660. NULL: root only, 0600 */
	struct xlb_tables *tables;	/* required; used from the server's thread only */
	unsigned int max_clients;	/* 0: XLB_CTL_MAX_CLIENTS */
	unsigned int stall_ms;		/* 0: XLB_CTL_STALL_MS */
	/* Housekeeping of the datapath, run by the control thread: on_fd when
	 * aux_fd (e.g. an rtnetlink socket; -1: none) is readable, on_tick
	 * every XLB_CTL_TICK_MS with CLOCK_MONOTONIC milliseconds. */
	int aux_fd;
	void (*on_fd)(void *arg);
	void (*on_tick)(void *arg, uint64_t now_ms);
	void *hook_arg;
	/* Batches (ctl.h): requests queued per batch (0: XLB_CTL_BATCH_MAX_REQS)
	 * and over all connections (0: XLB_CTL_BATCH_TOTAL_REQS). */
	unsigned int batch_max_reqs;
	unsigned int batch_total_reqs;
	/* One more fd served by the loop (e.g. the metrics server's epoll
	 * fd; -1 or no on_extra_fd: none): on_extra_fd(hook_arg) when it is
	 * readable. It must not block: it runs in the control thread. */
	int extra_fd;
	void (*on_extra_fd)(void *arg);
	/* Accept IPv6 services and real servers. false (xlbd today:
	 * XLB_CTL_IPV6): every change naming one is refused, "IPv6 is not
	 * supported yet", until the datapath forwards IPv6. */
	bool ipv6;
};

/* The one switch for IPv6 in xlbd (issue 14): flipped to true when
 * lb/dp.c forwards IPv6 services. */
#define XLB_CTL_IPV6	true

#define XLB_CTL_TICK_MS		100

/*
 * Create the socket: parent directory made if missing (0755), a stale
 * socket file replaced, but -EADDRINUSE if another daemon answers there
 * and -EEXIST if the path is not a socket. 0 or -errno with a sentence.
 */
int  xlb_ctl_server_new(struct xlb_ctl_server **out,
			const struct xlb_ctl_server_params *p,
			char *err, size_t errlen);
/* Close every client and the listener, remove the socket file. NULL-safe. */
void xlb_ctl_server_free(struct xlb_ctl_server *s);

/* Serve until stop_fd is readable (the caller reads it: a signalfd, an
 * eventfd); also stops on a fatal poll error. 0 or -errno. */
int  xlb_ctl_server_run(struct xlb_ctl_server *s, int stop_fd);

/*
 * Handle one request datagram of len bytes (len may exceed what buf holds
 * when the datagram was truncated: it is then refused with -EMSGSIZE) from
 * a peer allowed (may_change) or not to change tables; replies are sent on
 * fd. Returns 0, or -errno when replies could not be sent. fd is not one of
 * the server's connections, so a batch lives within one call: one begun in
 * buf and not ended in it is discarded on return (as if fd had closed).
 */
int  xlb_ctl_server_handle(struct xlb_ctl_server *s, int fd, const void *buf,
			   size_t len, bool may_change);

/* Permission rule: uid 0, or the group (when have_group) as primary gid or
 * a supplementary group of process pid (from /proc/PID/status, else the
 * group database for uid). */
bool xlb_ctl_peer_may_change(uid_t uid, gid_t gid, pid_t pid, bool have_group,
			     gid_t group);

#endif /* XLB_CTL_SERVER_H */
