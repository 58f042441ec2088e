// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the control protocol, both ends, in-process.
 *
 * Daemon side: the input is one request datagram handed to
 * xlb_ctl_server_handle() over real tables (lb/tables.h), first from a peer
 * that may not change them, then from root; its replies, read back from a
 * socketpair, must all frame and decode (xlb_ctl_msg_check, xlb_ctl_parse,
 * xlb_ctl_parse_ack): the daemon never sends what its own client cannot
 * read. The tables are flushed after each input, so every input starts from
 * the same empty state.
 *
 * Client side: the same bytes are the daemon's answer to each of xlbctl's
 * calls (dumps of services, destinations and connections, single gets, a
 * change); sequence numbers of messages whose seq has the top bit clear are
 * set to the one the call will expect, so the decoders are reached.
 * LeakSanitizer is on: nothing may stay allocated after either side.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <libmnl/libmnl.h>

#include "ctl.h"
#include "ctl_server.h"
#include "log.h"
#include "tables.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz_ctl: invariant failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);		\
			__builtin_trap();				\
		}							\
	} while (0)

static struct xlb_tables *tables;
static struct xlb_ctl_server *server;
static char sock_path[108];
static int srv_fd = -1, peer_fd = -1;	/* server replies -> peer */
static uint32_t next_seq;		/* what the client will send next */
static char *rbuf;			/* XLB_CTL_MSG_MAX */

static void quiet(enum xlb_log_level level, const char *line, void *ctx)
{
	(void)level;
	(void)line;
	(void)ctx;
}

/* A datapath with a few connections, for GET_CONN dumps. */
static int copy_conns(uint64_t *cursor, struct xlb_conn_info *buf, unsigned int max, void *arg)
{
	struct xlb_conn_info c = { .proto = IPPROTO_TCP, .caddr.ip = htonl(0xc6336407),
				   .vaddr.ip = htonl(0xc0a80001), .vport = htons(80),
				   .daddr.ip = htonl(0x0a000102), .dport = htons(80),
				   .state = "ESTABLISHED", .expires = 900 };
	unsigned int n = 0;

	(void)arg;
	for (; *cursor < 3 && n < max; (*cursor)++, n++) {
		c.cport = htons(40000 + *cursor);
		buf[n] = c;
	}
	return (int)n;
}

static uint32_t conn_tab_size(void *arg)
{
	(void)arg;
	return 1u << 20;
}

static void cleanup(void)
{
	xlb_ctl_server_free(server);
	xlb_tables_free(tables);
	if (srv_fd >= 0)
		close(srv_fd);
	if (peer_fd >= 0)
		close(peer_fd);
	free(rbuf);
}

/* A client fd whose "daemon" has already said everything: reply queued,
 * then end of stream, so a client call never waits. */
static int client_pair(const void *reply, size_t len, int *peer)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (len && send(sv[1], reply, len, MSG_NOSIGNAL) != (ssize_t)len)
		abort();
	shutdown(sv[1], SHUT_WR);
	*peer = sv[1];
	return sv[0];
}

/* The request the client sent: learn its seq, so the next one is known. */
static void client_done(int fd, int peer)
{
	struct nlmsghdr nlh;

	if (recv(peer, &nlh, sizeof(nlh), MSG_DONTWAIT | MSG_TRUNC) >= (ssize_t)sizeof(nlh))
		next_seq = nlh.nlmsg_seq + 1;
	close(fd);
	close(peer);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct xlb_tables_provider prov = { .copy_conns = copy_conns,
					    .conn_tab_size = conn_tab_size };
	struct xlb_ctl_server_params sp = { 0 };
	struct xlb_info info;
	char err[256];
	int sv[2], fd, peer;

	(void)argc;
	(void)argv;
	xlb_log_set_hook(quiet, NULL);
	if (xlb_tables_new(&tables) || xlb_tables_set_workers(tables, 2))
		abort();
	xlb_tables_set_provider(tables, &prov);
	snprintf(sock_path, sizeof(sock_path), "/tmp/xlb-fuzz-ctl.%d.sock", (int)getpid());
	sp.path = sock_path;
	sp.tables = tables;
	sp.ipv6 = true;	/* reach the tables with IPv6 requests too */
	if (xlb_ctl_server_new(&server, &sp, err, sizeof(err))) {
		fprintf(stderr, "fuzz_ctl: %s\n", err);
		abort();
	}
	/* Nobody connects: the socket file goes now, so that a crash (which
	 * skips atexit) leaves nothing behind in /tmp. */
	unlink(sock_path);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	srv_fd = sv[0];
	peer_fd = sv[1];
	/* A reply the reader does not take must fail, not hang the run. */
	fcntl(srv_fd, F_SETFL, O_NONBLOCK);
	rbuf = malloc(XLB_CTL_MSG_MAX);
	if (!rbuf)
		abort();
	atexit(cleanup);

	/* Learn the client's sequence numbering with one probe call. */
	fd = client_pair(NULL, 0, &peer);
	CHECK(xlb_ctl_get_info(fd, &info, err, sizeof(err)) == -ECONNRESET);
	client_done(fd, peer);
	return 0;
}

/* Every reply datagram the daemon sent: framed, and decodable. */
static void check_replies(void)
{
	ssize_t n;

	while ((n = recv(peer_fd, rbuf, XLB_CTL_MSG_MAX, MSG_DONTWAIT | MSG_TRUNC)) >= 0) {
		size_t off = 0;

		CHECK(n > 0 && n <= XLB_CTL_MSG_MAX);
		while (off < (size_t)n) {
			const struct nlmsghdr *nlh = (const void *)(rbuf + off);
			int l = xlb_ctl_msg_check(nlh, n - off, NULL, 0);
			struct xlb_ctl_msg m;
			char err[256];
			int e;

			CHECK(l >= (int)sizeof(*nlh));
			if (nlh->nlmsg_type == NLMSG_ERROR)
				CHECK(xlb_ctl_parse_ack(nlh, &e, err, sizeof(err)) == 0 && e <= 0);
			else if (nlh->nlmsg_type != NLMSG_DONE)
				CHECK(xlb_ctl_parse(nlh, &m, err, sizeof(err)) == 0);
			off += MNL_ALIGN(l);
		}
	}
}

static void reset_tables(void)
{
	struct xlb_timeouts to = { XLB_TIMEOUT_TCP_DEFAULT, XLB_TIMEOUT_TCPFIN_DEFAULT,
				   XLB_TIMEOUT_UDP_DEFAULT };

	CHECK(xlb_tables_flush(tables, NULL, 0) == 0);
	CHECK(xlb_tables_set_timeouts(tables, &to, NULL, 0) == 0);
	CHECK(xlb_tables_current(tables)->nsvcs == 0);
	xlb_tables_reclaim(tables);
}

/* A datagram cut by recv(MSG_TRUNC): refused whole, one -EMSGSIZE ack. */
static void oversized(const uint8_t *data, size_t size)
{
	static char big[XLB_CTL_MSG_MAX];
	const struct nlmsghdr *nlh = (const void *)rbuf;
	char msg[256];
	ssize_t n;
	int e;

	memcpy(big, data, size);
	xlb_ctl_server_handle(server, srv_fd, big, XLB_CTL_MSG_MAX + 1 + size, true);
	n = recv(peer_fd, rbuf, XLB_CTL_MSG_MAX, MSG_DONTWAIT);
	CHECK(n >= (ssize_t)sizeof(*nlh) && nlh->nlmsg_type == NLMSG_ERROR &&
	      (size_t)n == MNL_ALIGN(nlh->nlmsg_len));
	CHECK(xlb_ctl_parse_ack(nlh, &e, msg, sizeof(msg)) == 0 && e == -EMSGSIZE && msg[0]);
	CHECK(recv(peer_fd, rbuf, XLB_CTL_MSG_MAX, MSG_DONTWAIT) < 0);
	memset(big, 0, size);
}

static void server_side(const uint8_t *data, size_t size)
{
	const struct xlb_snap *before = xlb_tables_current(tables);
	uint64_t gen = before->gen;

	/* A peer without permission changes nothing... */
	xlb_ctl_server_handle(server, srv_fd, data, size, false);
	check_replies();
	CHECK(xlb_tables_current(tables)->gen == gen);
	/* ...root may. */
	xlb_ctl_server_handle(server, srv_fd, data, size, true);
	check_replies();
	reset_tables();
	oversized(data, size);
}

/* The input as the daemon's answer, seqs set to the expected one. */
static void *as_reply(const uint8_t *data, size_t size)
{
	uint8_t *r = malloc(size + 1);
	size_t off = 0;

	if (!r)
		abort();
	memcpy(r, data, size);
	while (off + sizeof(struct nlmsghdr) <= size) {
		struct nlmsghdr h;

		memcpy(&h, r + off, sizeof(h));
		if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > size - off)
			break;
		if (!(h.nlmsg_seq & 0x80000000u)) {
			h.nlmsg_seq = next_seq;
			memcpy(r + off, &h, sizeof(h));
		}
		off += MNL_ALIGN(h.nlmsg_len);
	}
	return r;
}

enum client_call { C_SERVICES, C_DESTS, C_CONNS, C_SERVICE, C_TIMEOUTS, C_INFO,
		   C_APPLY, C_COUNT };

static void client_side(const uint8_t *data, size_t size, enum client_call call)
{
	struct xlb_svc_key key = { .addr.ip = htonl(0xc0a80001), .port = htons(80),
				   .proto = IPPROTO_TCP };
	struct xlb_req req = { .op = XLB_REQ_ADD_DEST, .has_svc = true,
			       .svc = { .key = key },
			       .dest = { .addr.ip = htonl(0x0a000102), .port = htons(80),
					 .fwd = XLB_FWD_DR, .weight = 1 } };
	void *reply = as_reply(data, size);
	char err[256] = "";
	int peer, fd = client_pair(reply, size, &peer);
	void *out = NULL;
	size_t n = 0;
	int ret;

	switch (call) {
	case C_SERVICES: {
		struct xlb_svc_info *v;

		ret = xlb_ctl_get_services(fd, &v, &n, err, sizeof(err));
		out = v;
		break;
	}
	case C_DESTS: {
		struct xlb_dest_info *v;

		ret = xlb_ctl_get_dests(fd, &key, &v, &n, err, sizeof(err));
		out = v;
		break;
	}
	case C_CONNS: {
		struct xlb_conn_info *v;

		ret = xlb_ctl_get_conns(fd, &v, &n, err, sizeof(err));
		out = v;
		break;
	}
	case C_SERVICE: {
		struct xlb_svc_info v;

		ret = xlb_ctl_get_service(fd, &key, &v, err, sizeof(err));
		break;
	}
	case C_TIMEOUTS: {
		struct xlb_timeouts v;

		ret = xlb_ctl_get_timeouts(fd, &v, err, sizeof(err));
		break;
	}
	case C_INFO: {
		struct xlb_info v;

		ret = xlb_ctl_get_info(fd, &v, err, sizeof(err));
		break;
	}
	default:
		ret = xlb_ctl_apply(fd, &req, err, sizeof(err));
		break;
	}
	/* 0, or an error with a sentence; a failed dump returns nothing. */
	CHECK(ret <= 0);
	if (ret < 0)
		CHECK(err[0] && !out && !n);
	free(out);
	free(reply);
	client_done(fd, peer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > XLB_CTL_MSG_MAX)
		return 0;
	server_side(data, size);
	for (int c = 0; c < C_COUNT; c++)
		client_side(data, size, c);
	return 0;
}
