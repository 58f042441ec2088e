// SPDX-License-Identifier: GPL-2.0
/*
 * The connection-sync thread (sync.h): master sends, backup applies.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "dp.h"
#include "log.h"
#include "sync.h"
#include "tables.h"

const char *const xlb_sync_cnt_names[XLB_SYNC_C_MAX] = {
	[XLB_SYNC_C_SENT]		= "sent",
	[XLB_SYNC_C_SEND_ERRORS]	= "send_errors",
	[XLB_SYNC_C_RECEIVED]		= "received",
	[XLB_SYNC_C_RECORDS_OUT]	= "records_out",
	[XLB_SYNC_C_RECORDS_IN]		= "records_in",
	[XLB_SYNC_C_AUTH_FAILURES]	= "auth_failures",
	[XLB_SYNC_C_REPLAYS]		= "replays",
	[XLB_SYNC_C_MALFORMED]		= "malformed",
	[XLB_SYNC_C_VERSION]		= "bad_version",
	[XLB_SYNC_C_SYNC_ID]		= "other_sync_id",
	[XLB_SYNC_C_WRONG_SOURCE]	= "wrong_source",
	[XLB_SYNC_C_RATE_DROPS]		= "rate_drops",
	[XLB_SYNC_C_RING_DROPS]		= "ring_drops",
	[XLB_SYNC_C_INSERTED]		= "inserted",
	[XLB_SYNC_C_UPDATED]		= "updated",
	[XLB_SYNC_C_REMOVED]		= "removed",
	[XLB_SYNC_C_NO_SERVICE]		= "no_service",
	[XLB_SYNC_C_APPLY_ERRORS]	= "apply_errors",
};

struct xlb_sync {
	enum xlb_sync_role role;
	uint8_t sync_id;
	struct xlb_hmac_key key;
	struct xlb_dp *dp;
	struct xlb_tables *tables;
	int fd;
	int reader;			/* tables reader id (backup), or -1 */
	struct sockaddr_in dst;		/* master: where datagrams go */
	struct sockaddr_in src;		/* backup: the only sender taken (0: any) */
	bool src_check;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	struct xlb_sync_bucket bucket;
	struct xlb_sync_rx rx;		/* backup: key, sync id, replay window */
	/* master */
	int nrings;
	struct xlb_sync_ring **rings;
	uint64_t seq;
	struct xlb_sync_rec batch[XLB_SYNC_MAX_RECS];
	unsigned int nbatch;
	uint64_t batch_since;		/* ms (monotonic) of the batch's first record */
	struct xlb_conn_cursor cur;
	uint64_t walk_ms;
	_Atomic uint64_t cnt[XLB_SYNC_C_MAX];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t real_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static inline void cnt_add(struct xlb_sync *s, enum xlb_sync_cnt c, uint64_t v)
{
	atomic_fetch_add_explicit(&s->cnt[c], v, memory_order_relaxed);
}

int xlb_sync_key_load(const char *path, uint8_t *key, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--sync-key %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "--sync-key %s: %s", path, strerror(errno));
		goto out;
	}
	ret = -EINVAL;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "--sync-key %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		ret = -EPERM;
		snprintf(err, errlen, "--sync-key %s: mode %04o lets others read or change "
			 "the key; chmod 600 it (owner only)", path,
			 (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "--sync-key %s: the file is empty (make a key with "
			 "e.g. head -c 32 /dev/urandom | base64 > %s)", path, path);
		goto out;
	}
	if (st.st_size > XLB_SYNC_KEY_MAX) {
		snprintf(err, errlen, "--sync-key %s: over %d bytes", path, XLB_SYNC_KEY_MAX);
		goto out;
	}
	n = read(fd, key, XLB_SYNC_KEY_MAX);
	if (n <= 0) {
		ret = n < 0 ? -errno : -EINVAL;
		snprintf(err, errlen, "--sync-key %s: %s", path,
			 n < 0 ? strerror(errno) : "the file is empty");
		goto out;
	}
	*len = (size_t)n;
	ret = 0;
out:
	close(fd);
	return ret;
}

int xlb_sync_parse_addr(const char *s, struct sockaddr_in *sa)
{
	char buf[64];
	const char *colon = strchr(s, ':');
	size_t alen = colon ? (size_t)(colon - s) : strlen(s);
	unsigned long port = XLB_SYNC_PORT;

	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (inet_pton(AF_INET, buf, &sa->sin_addr) != 1)
		return -EINVAL;
	if (colon) {
		char *end;

		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || end == colon + 1 || *end || port == 0 || port > 65535)
			return -EINVAL;
	}
	sa->sin_port = htons((uint16_t)port);
	return 0;
}

/* ---- master ---- */

static void flush_batch(struct xlb_sync *s, uint64_t now)
{
	uint8_t buf[XLB_SYNC_MAX_LEN];
	int len;

	if (!s->nbatch)
		return;
	if (!xlb_sync_bucket_take(&s->bucket, now)) {
		cnt_add(s, XLB_SYNC_C_RATE_DROPS, s->nbatch);
		s->nbatch = 0;
		return;
	}
	len = xlb_sync_build(buf, sizeof(buf), &s->key, s->sync_id, s->seq++,
			     real_us() / 1000, s->batch, s->nbatch);
	if (len < 0) {
		cnt_add(s, XLB_SYNC_C_SEND_ERRORS, 1);
	} else if (sendto(s->fd, buf, (size_t)len, 0, (struct sockaddr *)&s->dst,
			  sizeof(s->dst)) != len) {
		static __thread struct xlb_ratelimit rl = XLB_RATELIMIT_INIT(5000, 2);

		cnt_add(s, XLB_SYNC_C_SEND_ERRORS, 1);
		pr_warn_ratelimited(&rl, "sync: sending to %s:%u: %s",
				    inet_ntoa(s->dst.sin_addr), ntohs(s->dst.sin_port),
				    strerror(errno));
	} else {
		cnt_add(s, XLB_SYNC_C_SENT, 1);
		cnt_add(s, XLB_SYNC_C_RECORDS_OUT, s->nbatch);
	}
	s->nbatch = 0;
}

static void add_rec(struct xlb_sync *s, const struct xlb_sync_rec *r, uint64_t now)
{
	struct xlb_sync_rec *b;

	if (!xlb_sync_rec_ok(r))
		return;
	if (!s->nbatch)
		s->batch_since = now;
	b = &s->batch[s->nbatch++];
	*b = *r;
	if (s->nbatch == XLB_SYNC_MAX_RECS)
		flush_batch(s, now);
}

static void drain_rings(struct xlb_sync *s, uint64_t now)
{
	struct xlb_conn_tab *t = xlb_dp_conns(s->dp);

	for (int i = 0; i < s->nrings; i++) {
		struct xlb_sync_ring *r = s->rings[i];
		uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
		uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);

		for (; tail != head; tail++) {
			struct xlb_sync_rec rec = r->recs[tail & (XLB_SYNC_RING_SIZE - 1)];

			if (!rec.timeout)
				rec.timeout = xlb_conn_state_timeout(t, rec.state);
			add_rec(s, &rec, now);
		}
		atomic_store_explicit(&r->tail, tail, memory_order_release);
	}
}

/* How long a full pass of the table may take: well within the shortest
 * timeout, so that a copy is refreshed several times before it could
 * expire on the backup. */
static uint64_t refresh_ms(struct xlb_conn_tab *t)
{
	struct xlb_timeouts to;
	uint64_t ms = XLB_SYNC_REFRESH_MS, m;

	xlb_conn_get_timeouts(t, &to);
	m = (uint64_t)(to.tcp < to.udp ? to.tcp : to.udp) * 1000 / 3;
	if (m && m < ms)
		ms = m;
	return ms < 1000 ? 1000 : ms;
}

#define WALK_TICK_MS	100
#define WALK_CHUNK	128

/* Re-sends a slice of the table: every entry with the time it has left. */
static void walk_table(struct xlb_sync *s, uint64_t now)
{
	struct xlb_conn_tab *t = xlb_dp_conns(s->dp);
	struct xlb_conn_entry buf[WALK_CHUNK];
	uint64_t budget = xlb_conn_count(t) * WALK_TICK_MS / refresh_ms(t) + 1;

	while (budget > 0) {
		uint32_t want = budget < WALK_CHUNK ? (uint32_t)budget : WALK_CHUNK;
		uint32_t n = xlb_conn_copy(t, now, &s->cur, buf, want);

		if (n == 0) {
			memset(&s->cur, 0, sizeof(s->cur));	/* a pass is done */
			break;
		}
		budget -= n < budget ? n : budget;
		for (uint32_t i = 0; i < n; i++) {
			const struct xlb_conn_entry *e = &buf[i];
			struct xlb_sync_rec r = {
				.op = XLB_SYNC_OP_UPDATE, .proto = e->orig.proto, .fwd = e->fwd,
				.state = e->state, .flags = e->tmpl ? XLB_SYNC_F_TEMPLATE : 0,
				.caddr = e->orig.saddr, .cport = e->orig.sport,
				.vaddr = e->orig.daddr, .vport = e->orig.dport,
				.raddr = e->daddr, .rport = e->dport,
				.timeout = e->expires_s,
			};

			if (e->expires_s == 0)
				continue;	/* due: the backup's copy expires too */
			add_rec(s, &r, now);
		}
	}
}

static void master_loop(struct xlb_sync *s)
{
	while (!atomic_load(&s->stop)) {
		struct timespec ts = { 0, 5 * 1000000 };
		uint64_t now;

		nanosleep(&ts, NULL);
		now = mono_ms();
		drain_rings(s, now);
		if (now - s->walk_ms >= WALK_TICK_MS) {
			s->walk_ms = now;
			walk_table(s, now);
		}
		if (s->nbatch && now - s->batch_since >= XLB_SYNC_FLUSH_MS)
			flush_batch(s, now);
	}
	drain_rings(s, mono_ms());
	flush_batch(s, mono_ms());
}

/* ---- backup ---- */

enum xlb_sync_cnt xlb_sync_apply(struct xlb_conn_tab *t, const struct xlb_sync_rec *r,
				 xlb_sync_bind_fn bind, void *arg, uint64_t now_ms)
{
	bool tmpl = r->flags & XLB_SYNC_F_TEMPLATE;
	struct xlb_conn_key k = {
		.saddr = r->caddr, .daddr = r->vaddr, .sport = r->cport,
		.dport = r->vport, .proto = r->proto,
	};
	struct xlb_conn_target tg;
	int rc;

	if (!xlb_sync_rec_ok(r))
		return XLB_SYNC_C_APPLY_ERRORS;
	if (r->op == XLB_SYNC_OP_REMOVE)
		return xlb_conn_sync_del(t, &k, tmpl, now_ms) == 0 ? XLB_SYNC_C_REMOVED :
		       XLB_SYNC_C_MAX;
	memset(&tg, 0, sizeof(tg));
	if (bind(arg, r, &tg) < 0)
		return XLB_SYNC_C_NO_SERVICE;
	rc = xlb_conn_sync_put(t, &k, tmpl, &tg, r->state, r->timeout, now_ms);
	if (rc == 1)
		return XLB_SYNC_C_INSERTED;
	return rc == 0 ? XLB_SYNC_C_UPDATED : XLB_SYNC_C_APPLY_ERRORS;
}

/* The backup's binding: this director's own tables, as they are now. */
static int sync_dp_bind(void *arg, const struct xlb_sync_rec *r, struct xlb_conn_target *t)
{
	return xlb_dp_sync_bind(arg, r->proto, r->vaddr, r->vport, r->raddr, r->rport,
				r->fwd, r->flags & XLB_SYNC_F_TEMPLATE, t);
}

/* One datagram as it arrived: checked, then applied (or counted). */
static void backup_one(struct xlb_sync *s, const uint8_t *buf, size_t len,
		       const struct sockaddr_in *from)
{
	struct xlb_sync_rec recs[XLB_SYNC_MAX_RECS];
	struct xlb_sync_hdr h;
	const struct xlb_snap *snap;
	enum xlb_sync_err e;
	uint64_t now = mono_ms();

	cnt_add(s, XLB_SYNC_C_RECEIVED, 1);
	if (s->src_check && from->sin_addr.s_addr != s->src.sin_addr.s_addr) {
		cnt_add(s, XLB_SYNC_C_WRONG_SOURCE, 1);
		return;
	}
	/* Before the MAC: a flood must not buy unbounded hashing. */
	if (!xlb_sync_bucket_take(&s->bucket, now)) {
		cnt_add(s, XLB_SYNC_C_RATE_DROPS, 1);
		return;
	}
	e = xlb_sync_rx_check(&s->rx, buf, len, real_us() / 1000, &h, recs);
	if (e != XLB_SYNC_OK)
		return;		/* counted there */
	cnt_add(s, XLB_SYNC_C_RECORDS_IN, h.count);
	xlb_tables_reader_online(s->tables, s->reader);
	snap = xlb_tables_snap(s->tables);
	for (unsigned int i = 0; i < h.count; i++) {
		enum xlb_sync_cnt c = xlb_sync_apply(xlb_dp_conns(s->dp), &recs[i], sync_dp_bind,
						     (void *)snap, now);

		if (c != XLB_SYNC_C_MAX)
			cnt_add(s, c, 1);
	}
	xlb_tables_quiescent(s->tables, s->reader);
	xlb_tables_reader_offline(s->tables, s->reader);
}

static void backup_loop(struct xlb_sync *s)
{
	uint8_t buf[XLB_SYNC_MAX_LEN + 1];	/* one more: an oversized one is seen */

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		for (int i = 0; i < 256; i++) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(s->fd, buf, sizeof(buf), MSG_DONTWAIT,
					     (struct sockaddr *)&from, &fl);

			if (n < 0)
				break;
			backup_one(s, buf, (size_t)n, &from);
		}
	}
}

static void *sync_main(void *arg)
{
	struct xlb_sync *s = arg;

	if (s->role == XLB_SYNC_ROLE_MASTER)
		master_loop(s);
	else
		backup_loop(s);
	return NULL;
}

/* ---- setup ---- */

static int sock_setup(struct xlb_sync *s, const struct xlb_sync_params *p,
		      char *err, size_t errlen)
{
	struct sockaddr_in grp = { 0 }, peer = { 0 };
	struct ip_mreqn mr = { 0 };
	bool mcast = p->ifname != NULL;
	int one = 1, zero = 0, ttl = 1;
	unsigned int ifindex = 0;
	int ret;

	if (p->peer && xlb_sync_parse_addr(p->peer, &peer) < 0) {
		snprintf(err, errlen, "--sync-peer \"%s\": an IPv4 address, with :PORT if "
			 "not %d", p->peer, XLB_SYNC_PORT);
		return -EINVAL;
	}
	if (mcast) {
		ifindex = if_nametoindex(p->ifname);
		if (!ifindex) {
			snprintf(err, errlen, "--sync-interface %s: %s", p->ifname, strerror(errno));
			return -ENODEV;
		}
		if (xlb_sync_parse_addr(p->group ? p->group : XLB_SYNC_GROUP, &grp) < 0 ||
		    !IN_MULTICAST(ntohl(grp.sin_addr.s_addr))) {
			snprintf(err, errlen, "--sync-group \"%s\": an IPv4 multicast address, "
				 "with :PORT if not %d", p->group, XLB_SYNC_PORT);
			return -EINVAL;
		}
		if (p->peer)
			grp.sin_port = peer.sin_port;
	} else if (!p->peer) {
		snprintf(err, errlen, "--sync-role needs --sync-peer ADDR[:PORT] (unicast) or "
			 "--sync-interface IF (multicast)");
		return -EINVAL;
	}
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "sync socket: %s", strerror(errno));
		return ret;
	}
	mr.imr_multiaddr = grp.sin_addr;
	mr.imr_ifindex = (int)ifindex;
	if (s->role == XLB_SYNC_ROLE_MASTER) {
		s->dst = mcast ? grp : peer;
		if (mcast && (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) ||
			      setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) ||
			      setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero,
					 sizeof(zero)))) {
			ret = -errno;
			snprintf(err, errlen, "sync socket on %s: %s", p->ifname, strerror(errno));
			return ret;
		}
		return 0;
	}
	/* Backup: --sync-peer names the master (the only source taken) and
	 * the port; multicast listens on the group. */
	{
		struct sockaddr_in any = {
			.sin_family = AF_INET,
			.sin_port = mcast ? grp.sin_port : peer.sin_port,
			.sin_addr.s_addr = mcast ? grp.sin_addr.s_addr : htonl(INADDR_ANY),
		};
		int rcvbuf = 1 << 20;

		s->src = peer;
		s->src_check = p->peer != NULL;
		(void)setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		(void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		if (bind(s->fd, (struct sockaddr *)&any, sizeof(any)) < 0) {
			ret = -errno;
			snprintf(err, errlen, "sync socket: binding port %u: %s",
				 ntohs(any.sin_port), strerror(errno));
			return ret;
		}
		if (mcast && setsockopt(s->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
			ret = -errno;
			snprintf(err, errlen, "joining %s on %s: %s", inet_ntoa(grp.sin_addr),
				 p->ifname, strerror(errno));
			return ret;
		}
	}
	return 0;
}

int xlb_sync_start(struct xlb_sync **out, const struct xlb_sync_params *p,
		   struct xlb_dp *dp, struct xlb_tables *tables, char *err, size_t errlen)
{
	uint8_t key[XLB_SYNC_KEY_MAX];
	size_t keylen = 0;
	struct xlb_sync *s;
	int ret;

	*out = NULL;
	if (p->role != XLB_SYNC_ROLE_MASTER && p->role != XLB_SYNC_ROLE_BACKUP) {
		snprintf(err, errlen, "sync: no role");
		return -EINVAL;
	}
	if (!p->key_file) {
		snprintf(err, errlen, "--sync-role needs --sync-key FILE (the shared secret "
			 "that authenticates the sync datagrams)");
		return -EINVAL;
	}
	ret = xlb_sync_key_load(p->key_file, key, &keylen, err, errlen);
	if (ret < 0)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s) {
		memset(key, 0, sizeof(key));
		return -ENOMEM;
	}
	s->fd = -1;
	s->reader = -1;
	s->role = p->role;
	s->sync_id = p->sync_id;
	s->dp = dp;
	s->tables = tables;
	xlb_hmac_sha256_key(&s->key, key, keylen);
	xlb_sync_rx_init(&s->rx, key, keylen, p->sync_id);
	memset(key, 0, sizeof(key));
	xlb_sync_bucket_init(&s->bucket, p->rate ? p->rate : XLB_SYNC_RATE_DEFAULT,
			     XLB_SYNC_BURST_DEFAULT, mono_ms());
	/* Strictly increasing across restarts of the master, while its clock
	 * does not go back. */
	s->seq = real_us();
	ret = sock_setup(s, p, err, errlen);
	if (ret < 0)
		goto fail;
	if (s->role == XLB_SYNC_ROLE_BACKUP) {
		s->reader = xlb_tables_reader_register(tables);
		if (s->reader < 0) {
			ret = s->reader;
			snprintf(err, errlen, "sync: no tables reader slot left");
			goto fail;
		}
		xlb_tables_reader_offline(tables, s->reader);
	} else {
		/* One per worker, and one for the control thread (the
		 * sweep, flushes): the last. */
		s->nrings = xlb_dp_n_workers(dp) + 1;
		s->rings = calloc((size_t)s->nrings, sizeof(*s->rings));
		if (!s->rings) {
			ret = -ENOMEM;
			goto fail;
		}
		for (int i = 0; i < s->nrings; i++) {
			s->rings[i] = aligned_alloc(64, sizeof(*s->rings[i]));
			if (!s->rings[i]) {
				ret = -ENOMEM;
				goto fail;
			}
			memset(s->rings[i], 0, sizeof(*s->rings[i]));
		}
	}
	ret = -pthread_create(&s->thread, NULL, sync_main, s);
	if (ret < 0) {
		snprintf(err, errlen, "sync thread: %s", strerror(-ret));
		goto fail;
	}
	s->started = true;
	pthread_setname_np(s->thread, "xlb-sync");
	for (int i = 0; i < s->nrings - 1; i++)
		xlb_dp_set_sync_ring(dp, i, s->rings[i]);
	if (s->nrings)
		xlb_dp_sync_thread_ring(s->rings[s->nrings - 1]);
	if (s->role == XLB_SYNC_ROLE_MASTER)
		pr_info("sync: master, sync id %u, to %s:%u (%s)", s->sync_id,
			inet_ntoa(s->dst.sin_addr), ntohs(s->dst.sin_port),
			p->ifname ? "multicast" : "unicast");
	else
		pr_info("sync: backup, sync id %u, from %s", s->sync_id,
			s->src_check ? inet_ntoa(s->src.sin_addr) : "any source");
	*out = s;
	return 0;
fail:
	xlb_sync_stop(s);
	xlb_sync_free(s);
	return ret;
}

void xlb_sync_stop(struct xlb_sync *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, true);
	if (s->started) {
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	if (s->dp && s->nrings) {
		for (int i = 0; i < s->nrings - 1; i++)
			xlb_dp_set_sync_ring(s->dp, i, NULL);
		xlb_dp_sync_thread_ring(NULL);
	}
}

void xlb_sync_free(struct xlb_sync *s)
{
	if (!s)
		return;
	if (s->reader >= 0)
		xlb_tables_reader_unregister(s->tables, s->reader);
	if (s->fd >= 0)
		close(s->fd);
	for (int i = 0; s->rings && i < s->nrings; i++)
		free(s->rings[i]);
	free(s->rings);
	memset(&s->key, 0, sizeof(s->key));
	memset(&s->rx, 0, sizeof(s->rx));
	free(s);
}

int xlb_sync_dump_counters(struct xlb_sync *s, xlb_sync_emit_fn emit, void *arg)
{
	int ret;

	if (!s)
		return 0;
	for (int i = 0; i < XLB_SYNC_C_MAX; i++) {
		uint64_t v = atomic_load_explicit(&s->cnt[i], memory_order_relaxed);

		switch (i) {
		case XLB_SYNC_C_AUTH_FAILURES:
			v += __atomic_load_n(&s->rx.cnt[XLB_SYNC_E_AUTH], __ATOMIC_RELAXED);
			break;
		case XLB_SYNC_C_REPLAYS:
			v += __atomic_load_n(&s->rx.cnt[XLB_SYNC_E_REPLAY], __ATOMIC_RELAXED);
			break;
		case XLB_SYNC_C_MALFORMED:
			v += __atomic_load_n(&s->rx.cnt[XLB_SYNC_E_MALFORMED], __ATOMIC_RELAXED);
			break;
		case XLB_SYNC_C_VERSION:
			v += __atomic_load_n(&s->rx.cnt[XLB_SYNC_E_VERSION], __ATOMIC_RELAXED);
			break;
		case XLB_SYNC_C_SYNC_ID:
			v += __atomic_load_n(&s->rx.cnt[XLB_SYNC_E_SYNC_ID], __ATOMIC_RELAXED);
			break;
		}
		if (i == XLB_SYNC_C_RING_DROPS)
			for (int r = 0; r < s->nrings; r++)
				v += __atomic_load_n(&s->rings[r]->drops, __ATOMIC_RELAXED);
		if ((ret = emit("sync", xlb_sync_cnt_names[i], v, arg)))
			return ret;
	}
	return 0;
}
