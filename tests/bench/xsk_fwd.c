// SPDX-License-Identifier: GPL-2.0
/*
 * xsk_fwd: the AF_XDP forwarding floor. Everything received on interface A
 * is sent on interface B and vice versa, through one shared UMEM (no copy),
 * with an optional destination MAC rewrite per egress. libxdp's default XSK
 * program redirects every packet of a queue that has a socket.
 *
 * It is the baseline the load balancer's datapath is measured against, and
 * the proof that lb/xsk.c works (tests/lab/test_xsk_fwd.sh).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"
#include "xsk.h"

struct fwd_worker {
	pthread_t tid;
	struct xlb_xsk_worker *w;
	int q;
};

static volatile sig_atomic_t stop;
static uint8_t dmac[2][6];
static bool dmac_set[2];

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xsk_fwd -i IF_A -i IF_B [options]\n"
		"  -z, --zerocopy auto|on|off   AF_XDP mode (default auto)\n"
		"  -m, --xdp-mode native|skb    attach mode of libxdp's program\n"
		"      --dmac-A MAC             destination MAC for frames sent on A\n"
		"      --dmac-B MAC             destination MAC for frames sent on B\n"
		"  -q, --queues N               queues per interface (default all)\n"
		"  -r, --ring N                 ring size (default 2048)\n"
		"  -d, --duration S             run S seconds (default: until SIGINT)\n"
		"  -b, --busy-poll US           preferred busy polling (SO_BUSY_POLL US\n"
		"                               microseconds; never sleeps): pair with the\n"
		"                               device's napi_defer_hard_irqs, gro_flush_timeout\n"
		"  -s, --quiet                  only the final counters\n");
}

static int parse_mac(const char *s, uint8_t m[6])
{
	unsigned int b[6];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5], &tail) != 6)
		return -EINVAL;
	for (i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -EINVAL;
		m[i] = (uint8_t)b[i];
	}
	return 0;
}

static bool verbose;

/* libbpf and libxdp chatter (unknown ELF sections, the bpffs fallback)
 * only with -v. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (!verbose)
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static void *fwd_loop(void *arg)
{
	struct fwd_worker *fw = arg;
	struct xlb_xsk_worker *w = fw->w;
	struct xlb_xsk_desc d[XLB_XSK_BATCH];
	cpu_set_t set;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu > 0) {
		CPU_ZERO(&set);
		CPU_SET(fw->q % ncpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	while (!stop) {
		uint32_t n = xlb_xsk_rx(w, d, XLB_XSK_BATCH), i;

		for (i = 0; i < n; i++) {
			int out = d[i].port ^ 1;

			if (dmac_set[out])
				memcpy(d[i].data, dmac[out], 6);
			xlb_xsk_tx(w, out, d[i].addr, d[i].len);
		}
		xlb_xsk_flush(w);
		if (!n)
			xlb_xsk_wait(w, 100);	/* returns at once when busy polling */
	}
	xlb_xsk_flush(w);
	return NULL;
}

static void totals(struct xlb_xsk *x, int port, struct xlb_xsk_stats *s)
{
	xlb_xsk_port_stats(x, port, -1, s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "zerocopy", required_argument, NULL, 'z' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ "dmac-A", required_argument, NULL, 'A' },
		{ "dmac-B", required_argument, NULL, 'B' },
		{ "queues", required_argument, NULL, 'q' },
		{ "ring", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "busy-poll", required_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xlb_xsk_params p;
	struct fwd_worker *fws = NULL;
	struct xlb_xsk *x = NULL;
	const char *ifn[2];
	struct xlb_xsk_stats last[2], cur[2];
	int n_if = 0, opt, i, ret, nw;
	double duration = 0, t0, tprev;
	bool quiet = false;

	xlb_xsk_params_default(&p);
	while ((opt = getopt_long(argc, argv, "i:z:m:q:r:d:b:svh", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			if (n_if == 2) {
				fprintf(stderr, "xsk_fwd: exactly two interfaces\n");
				return 2;
			}
			ifn[n_if++] = optarg;
			break;
		case 'z':
			if (xlb_xsk_zc_parse(optarg, &p.zerocopy)) {
				fprintf(stderr, "xsk_fwd: --zerocopy auto|on|off\n");
				return 2;
			}
			break;
		case 'm':
			if (!strcmp(optarg, "native"))
				p.xdp_mode = XLB_XSK_XDP_NATIVE;
			else if (!strcmp(optarg, "skb"))
				p.xdp_mode = XLB_XSK_XDP_SKB;
			else {
				fprintf(stderr, "xsk_fwd: --xdp-mode native|skb\n");
				return 2;
			}
			break;
		case 'A':
		case 'B':
			if (parse_mac(optarg, dmac[opt - 'A'])) {
				fprintf(stderr, "xsk_fwd: bad MAC '%s'\n", optarg);
				return 2;
			}
			dmac_set[opt - 'A'] = true;
			break;
		case 'q':
			p.n_queues = atoi(optarg);
			break;
		case 'r':
			p.ring_size = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'b':
			p.busy_poll_us = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 's':
			quiet = true;
			break;
		case 'v':
			xlb_log_set_level(XLB_LOG_DEBUG);
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (n_if != 2) {
		usage(stderr);
		return 2;
	}
	p.ifnames = ifn;
	p.n_ifaces = 2;

	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	ret = xlb_xsk_init(&x, &p);
	if (ret) {
		fprintf(stderr, "xsk_fwd: cannot set up AF_XDP on %s and %s: %s\n",
			ifn[0], ifn[1], strerror(-ret));
		return 1;
	}
	nw = xlb_xsk_n_workers(x);
	printf("xsk_fwd: %s (%d queues) <-> %s (%d queues), %s mode%s, %d workers\n",
	       ifn[0], xlb_xsk_n_queues(x, 0), ifn[1], xlb_xsk_n_queues(x, 1),
	       xlb_xsk_zerocopy(x) ? "zero-copy" : "copy",
	       xlb_xsk_busy_poll(x) ? ", busy polling" : "", nw);
	fflush(stdout);

	fws = calloc((size_t)nw, sizeof(*fws));
	if (!fws) {
		xlb_xsk_free(x);
		return 1;
	}
	for (i = 0; i < nw; i++) {
		fws[i].w = xlb_xsk_worker(x, i);
		fws[i].q = i;
		ret = pthread_create(&fws[i].tid, NULL, fwd_loop, &fws[i]);
		if (ret) {
			fprintf(stderr, "xsk_fwd: thread: %s\n", strerror(ret));
			stop = 1;
			nw = i;
			break;
		}
	}

	t0 = tprev = now_s();
	totals(x, 0, &last[0]);
	totals(x, 1, &last[1]);
	while (!stop) {
		double t;

		usleep(200000);
		t = now_s();
		if (duration > 0 && t - t0 >= duration)
			stop = 1;
		if (t - tprev < 1.0 && !stop)
			continue;
		totals(x, 0, &cur[0]);
		totals(x, 1, &cur[1]);
		if (!quiet) {
			double dt = t - tprev;

			printf("%6.1fs  %s rx %8.0f pps  tx %8.0f pps | %s rx %8.0f pps  tx %8.0f pps\n",
			       t - t0,
			       ifn[0], (cur[0].rx_packets - last[0].rx_packets) / dt,
			       (cur[0].tx_packets - last[0].tx_packets) / dt,
			       ifn[1], (cur[1].rx_packets - last[1].rx_packets) / dt,
			       (cur[1].tx_packets - last[1].tx_packets) / dt);
			fflush(stdout);
		}
		last[0] = cur[0];
		last[1] = cur[1];
		tprev = t;
	}
	for (i = 0; i < nw; i++)
		pthread_join(fws[i].tid, NULL);

	for (i = 0; i < 2; i++) {
		totals(x, i, &cur[i]);
		printf("total %s rx=%llu rx_bytes=%llu tx=%llu tx_bytes=%llu completed=%llu "
		       "tx_full=%llu pool_empty=%llu kicks=%llu rx_dropped=%llu "
		       "rx_ring_full=%llu fill_empty=%llu\n", ifn[i],
		       (unsigned long long)cur[i].rx_packets,
		       (unsigned long long)cur[i].rx_bytes,
		       (unsigned long long)cur[i].tx_packets,
		       (unsigned long long)cur[i].tx_bytes,
		       (unsigned long long)cur[i].tx_completed,
		       (unsigned long long)cur[i].tx_full,
		       (unsigned long long)cur[i].pool_empty,
		       (unsigned long long)cur[i].kicks,
		       (unsigned long long)cur[i].rx_dropped,
		       (unsigned long long)cur[i].rx_ring_full,
		       (unsigned long long)cur[i].rx_fill_ring_empty_descs);
	}
	printf("slab_swaps=%llu\n", (unsigned long long)xlb_xsk_slab_swaps(x));
	fflush(stdout);
	free(fws);
	xlb_xsk_free(x);
	return 0;
}
