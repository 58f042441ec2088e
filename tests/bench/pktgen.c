// SPDX-License-Identifier: GPL-2.0
/*
 * pktgen: drives the benchmark's generator (gen.bpf.o). It loads the XDP
 * program with the frame to write, then calls bpf_prog_test_run in
 * live-frames mode in a loop: every repetition transmits one frame on the
 * interface (XDP_TX), so the repetitions per second are the rate of frames
 * the generator attempted: XDP_TX hands each to the veth, which may still
 * drop it (its peer's ring full), so "attempted" is an upper bound of what
 * entered the chain, not a rate the chain accepted.
 *
 * With --cpu LIST (e.g. 0,1) it runs one generator thread pinned to each
 * CPU. A veth receives a frame transmitted from CPU c on its receive queue
 * c % queues, so N threads on N CPUs spread the traffic over N queues of
 * the next hop, as RSS would.
 *
 * Every bpf_prog_test_run of an XDP program enters it into the kernel's XDP
 * dispatcher and takes it out again, each with a synchronize_rcu() unless
 * the program is already there: tens of milliseconds per call on a small
 * VM, during which nothing is sent and the chain under test idles. With
 * --park IF the program is also attached (generic XDP) to IF, a dummy
 * device that is down and sees no traffic, so that it stays in the
 * dispatcher and the generator sends steadily.
 *
 * With --sink-map ID (printed by "sinkctl attach") it also reads the sink's
 * counters at the same instants, so attempted and received rates cover the
 * same window. BPF map IDs are global, so the sink may live in another
 * network namespace. The first --warmup seconds are not counted: the chain
 * fills its queues and resolves its neighbours then.
 *
 * With --prime-pps R, each flow's opening packets are sent first, paced at
 * R frames per second, before the warm-up: UDP one datagram per flow, ACK
 * traffic each flow's SYN and then its first ACK (the handshake as a
 * director that sees only the client's side knows it: IPVS and xlb in DR
 * mark a flow ESTABLISHED on the client's ACK after its SYN). Paced below
 * what the director's slow path forwards, none of them is lost, so a
 * stateful director knows every flow (and has installed whatever it
 * installs for an established flow) before anything is measured. Unpaced,
 * most opening packets of 1,000 flows are dropped by the veth (the
 * generator offers ten times what the director takes) and flows come
 * into the table whenever one of their packets gets through.
 *
 * With --prog-stats ID it enables the kernel's BPF run-time statistics
 * (BPF_ENABLE_STATS: held by this process only, reverted when it exits,
 * whatever kernel.bpf_stats_enabled says) and reads program ID's run_cnt
 * and run_time_ns at the same instants as the sink: the program's own
 * time per run, without the redirect or the transmit it asks for. The
 * statistics cost two clock reads per run of every program: measure
 * packet rates without it.
 *
 * --exec-start CMD and --exec-end CMD run a shell command as the measured
 * window opens and as it closes (after the sink's counters are read), so
 * that a script can read the director's own counters over the same window.
 *
 * Prints one line of key=value pairs for scripts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_shared.h"
#include "bench_util.h"

/* Repetitions per bpf_prog_test_run call: about 0.1 s at 1.5 Mpps. Each
 * call sets up and tears down its own page pool, which costs milliseconds:
 * far fewer repetitions per call cut the attempted rate several times. */
#define PKTGEN_REPEAT	(1 << 17)
#define PKTGEN_MAX_THREADS	64

static double now_s(void);

static volatile int gen_stop;
/* Priming: on; threads done with their opening frames; main's go. */
static int gen_priming, gen_primed, gen_go;

/* A generator thread's attempted rate is measured between the first call
 * that ends after the window opens (t0) and the last that ends before it
 * closes (t1): whole calls only, so coarse calls cost no accuracy. */
struct gen_thread {
	pthread_t tid;
	int cpu;			/* -1: not pinned */
	int prog_fd;
	struct bpf_test_run_opts *run;
	double t0, t1;			/* the window, CLOCK_MONOTONIC s */
	double ta, tb;			/* first and last call end inside it */
	unsigned long long sa, sb;	/* frames attempted by then */
	bool has_a, has_b;
	unsigned long long prime;	/* opening frames to send first */
	double prime_pps;		/* this thread's share of the pace */
	int err;			/* 0 or a negative errno */
};

/* Frames per paced call: a burst the veth's 256-frame ring and the
 * director's NAPI budget take whole. */
#define PKTGEN_PRIME_CHUNK	64

/* The opening frames, PKTGEN_PRIME_CHUNK per call, the calls spaced so
 * that the thread sends at most prime_pps. */
static int gen_prime(struct gen_thread *g, const struct bpf_test_run_opts *tmpl)
{
	struct bpf_test_run_opts run = *tmpl;
	unsigned long long done = 0;
	double start = now_s(), d;

	while (done < g->prime && !__atomic_load_n(&gen_stop, __ATOMIC_RELAXED)) {
		unsigned long long left = g->prime - done;

		run.repeat = left < PKTGEN_PRIME_CHUNK ? (int)left : PKTGEN_PRIME_CHUNK;
		if (bpf_prog_test_run_opts(g->prog_fd, &run))
			return -errno;	/* EINTR too: the count would be off */
		done += (unsigned long long)run.repeat;
		d = start + done / g->prime_pps - now_s();
		if (d > 0)
			usleep((useconds_t)(d * 1e6));
	}
	return 0;
}

static void *gen_loop(void *arg)
{
	struct gen_thread *g = arg;
	struct bpf_test_run_opts run = *g->run;
	unsigned long long sent = 0;
	double t;

	if (g->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(g->cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
			fprintf(stderr, "pktgen: cannot pin to CPU %d\n", g->cpu);
	}
	if (__atomic_load_n(&gen_priming, __ATOMIC_ACQUIRE)) {
		g->err = g->prime ? gen_prime(g, g->run) : 0;
		if (g->err)
			__atomic_store_n(&gen_stop, 1, __ATOMIC_RELAXED);
		/* The others may still be priming; main sets the window. */
		__atomic_add_fetch(&gen_primed, 1, __ATOMIC_ACQ_REL);
		while (!__atomic_load_n(&gen_go, __ATOMIC_ACQUIRE) &&
		       !__atomic_load_n(&gen_stop, __ATOMIC_RELAXED))
			usleep(1000);
	}
	while (!__atomic_load_n(&gen_stop, __ATOMIC_RELAXED)) {
		if (bpf_prog_test_run_opts(g->prog_fd, &run)) {
			/* A signal cut the call short (its repetitions were
			 * not all run): not counted, tried again. */
			if (errno == EINTR)
				continue;
			g->err = -errno;
			__atomic_store_n(&gen_stop, 1, __ATOMIC_RELAXED);
			break;
		}
		sent += PKTGEN_REPEAT;
		t = now_s();
		if (!g->has_a && t >= g->t0) {
			g->has_a = true;
			g->ta = t;
			g->sa = sent;
		} else if (g->has_a && t <= g->t1) {
			g->has_b = true;
			g->tb = t;
			g->sb = sent;
		}
		if (t >= g->t1)
			break;
	}
	return NULL;
}

/* Sleeps until t (CLOCK_MONOTONIC seconds) or until a thread failed. */
static void sleep_until(double t, double (*now)(void))
{
	double d;

	while (!__atomic_load_n(&gen_stop, __ATOMIC_RELAXED) && (d = t - now()) > 0)
		usleep(d > 0.05 ? 50000 : (useconds_t)(d * 1e6) + 1);
}

/* A program's info (run_cnt, run_time_ns). */
static int prog_info(int fd, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

/* A --exec-* command: its failure is reported, not fatal (the rates
 * stand without it). */
static void run_cmd(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "pktgen: '%s' exited with status %d\n", cmd, rc);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pktgen -i IF --dmac MAC --dst IP [options]\n"
		"  -i, --iface IF        transmit on IF (its MAC is the source MAC)\n"
		"      --dmac MAC        destination MAC (the next hop)\n"
		"      --dst IP          destination address (IPv4, or IPv6: IPv6 frames)\n"
		"      --src IP          first source address (default 10.255.0.1; IPv6\n"
		"                        with an IPv6 --dst: its last 32 bits count up)\n"
		"      --sport N         first source port (default 1024)\n"
		"      --dport N         destination port (default 9)\n"
		"  -t, --traffic T       udp | syn | ack (default udp)\n"
		"  -f, --flows N|new     flows (default 1); new: every packet a new flow\n"
		"  -d, --duration S      measured seconds (default 2)\n"
		"  -w, --warmup S        unmeasured seconds first (default 0.3)\n"
		"  -b, --batch N         live-frames batch size, 1..256 (default 64)\n"
		"  -c, --cpu N[,M...]    one generator thread pinned to each CPU listed\n"
		"  -s, --sink-map ID     also read the sink's counters (map ID)\n"
		"  -p, --park IF         keep the program attached to IF (a dummy device\n"
		"                        that is down): no RCU wait per test run\n"
		"      --prime-pps R     send each flow's opening packets first (UDP: one\n"
		"                        per flow; ack: SYN, then ACK), R frames/s in all\n"
		"      --prog-stats ID   BPF run-time statistics of program ID over the\n"
		"                        measured window (prog_runs=, prog_ns=)\n"
		"      --exec-start CMD  run CMD (sh -c) as the measured window opens\n"
		"      --exec-end CMD    run CMD as it closes\n"
		"  -v, --verbose         libbpf messages\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "dmac", required_argument, NULL, 'M' },
		{ "dst", required_argument, NULL, 'D' },
		{ "src", required_argument, NULL, 'S' },
		{ "sport", required_argument, NULL, 'P' },
		{ "dport", required_argument, NULL, 'Q' },
		{ "traffic", required_argument, NULL, 't' },
		{ "flows", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "batch", required_argument, NULL, 'b' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "sink-map", required_argument, NULL, 's' },
		{ "park", required_argument, NULL, 'p' },
		{ "prime-pps", required_argument, NULL, 'R' },
		{ "prog-stats", required_argument, NULL, 'G' },
		{ "exec-start", required_argument, NULL, 'X' },
		{ "exec-end", required_argument, NULL, 'Y' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xlb_bench_gen_cfg cfg = {
		.saddr_base = 0x0aff0001, .sport_base = 1024, .dport = 9,
		.flows = 1, .ttl = 64, .traffic = XLB_BENCH_UDP,
	};
	/* Large enough for either family; the size passed is the family's. */
	uint8_t frame[XLB_BENCH_FRAME_LEN6] = {};
	struct xdp_md ctx_in = { .data_end = XLB_BENCH_FRAME_LEN };
	LIBBPF_OPTS(bpf_test_run_opts, run,
		.data_in = frame,
		.data_size_in = XLB_BENCH_FRAME_LEN,
		.ctx_in = &ctx_in,
		.ctx_size_in = sizeof(ctx_in),
		.repeat = PKTGEN_REPEAT,
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		.batch_size = 64,
	);
	uint64_t s0[XLB_SINK_N] = {}, s1[XLB_SINK_N] = {};
	const char *ifname = NULL, *traffic = "udp", *cpus = NULL, *park = NULL;
	const char *exec_start = NULL, *exec_end = NULL;
	int park_ifindex = 0;
	double duration = 2, warmup = 0.3, t0, t1, t, attempted = 0;
	unsigned long long sent = 0;
	bool have_dmac = false, have_dst = false, have_src = false, src6 = false;
	int opt, ret, prog_fd = -1, sink_fd = -1, n_threads = 0, i;
	struct gen_thread threads[PKTGEN_MAX_THREADS];
	unsigned int sink_id = 0, stats_id = 0;
	int stats_fd = -1, stats_prog = -1;
	struct bpf_prog_info pi0 = {}, pi1 = {};
	double prime_pps = 0;
	unsigned long long prime_total = 0;
	struct bpf_object *obj = NULL;
	char path[PATH_MAX];
	long v;

	while ((opt = getopt_long(argc, argv, "i:t:f:d:w:b:c:s:p:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			ifname = optarg;
			break;
		case 'M':
			if (xlb_bench_parse_mac(optarg, cfg.dmac)) {
				fprintf(stderr, "pktgen: bad MAC '%s'\n", optarg);
				return 2;
			}
			have_dmac = true;
			break;
		case 'D':
		case 'S':
			if (strchr(optarg, ':')) {
				uint8_t *a = opt == 'D' ? cfg.daddr6 : cfg.saddr6;

				if (inet_pton(AF_INET6, optarg, a) != 1) {
					fprintf(stderr, "pktgen: bad IPv6 address '%s'\n", optarg);
					return 2;
				}
				if (opt == 'D')
					cfg.ipv6 = 1;
				else
					src6 = true;
				if (opt == 'S')
					cfg.saddr_base = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 |
							 (uint32_t)a[14] << 8 | a[15];
				have_dst |= opt == 'D';
				have_src |= opt == 'S';
				break;
			}
			if (opt == 'S')
				src6 = false;
			else
				cfg.ipv6 = 0;
			have_src |= opt == 'S';
			if (parse_ip(optarg, opt == 'D' ? &cfg.daddr : &cfg.saddr_base)) {
				fprintf(stderr, "pktgen: bad IPv4 address '%s'\n", optarg);
				return 2;
			}
			have_dst |= opt == 'D';
			break;
		case 'P':
		case 'Q':
			v = strtol(optarg, NULL, 0);
			if (v <= 0 || v > 65535) {
				fprintf(stderr, "pktgen: bad port '%s'\n", optarg);
				return 2;
			}
			if (opt == 'P')
				cfg.sport_base = (uint16_t)v;
			else
				cfg.dport = (uint16_t)v;
			break;
		case 't':
			traffic = optarg;
			if (!strcmp(optarg, "udp"))
				cfg.traffic = XLB_BENCH_UDP;
			else if (!strcmp(optarg, "syn"))
				cfg.traffic = XLB_BENCH_SYN;
			else if (!strcmp(optarg, "ack"))
				cfg.traffic = XLB_BENCH_ACK;
			else {
				fprintf(stderr, "pktgen: --traffic udp|syn|ack\n");
				return 2;
			}
			break;
		case 'f':
			v = strcmp(optarg, "new") ? strtol(optarg, NULL, 0) : 0;
			if (v < 0 || v > (long)XLB_BENCH_PORTS * XLB_BENCH_ADDRS ||
			    (v == 0 && strcmp(optarg, "new"))) {
				fprintf(stderr, "pktgen: bad flow count '%s'\n", optarg);
				return 2;
			}
			cfg.flows = (uint32_t)v;
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 'b':
			run.batch_size = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			cpus = optarg;
			break;
		case 's':
			sink_id = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			park = optarg;
			break;
		case 'R':
			prime_pps = atof(optarg);
			if (prime_pps <= 0) {
				fprintf(stderr, "pktgen: bad --prime-pps '%s'\n", optarg);
				return 2;
			}
			break;
		case 'G':
			stats_id = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'X':
			exec_start = optarg;
			break;
		case 'Y':
			exec_end = optarg;
			break;
		case 'v':
			xlb_bench_verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!ifname || !have_dmac || !have_dst || duration <= 0 || warmup < 0) {
		usage(stderr);
		return 2;
	}
	if (have_src && src6 != (cfg.ipv6 != 0)) {
		fprintf(stderr, "pktgen: --src and --dst must be of the same family\n");
		return 2;
	}
	if (cfg.ipv6 && !have_src) {
		fprintf(stderr, "pktgen: an IPv6 --dst needs an IPv6 --src\n");
		return 2;
	}
	if (cfg.ipv6) {
		ctx_in.data_end = XLB_BENCH_FRAME_LEN6;
		run.data_size_in = XLB_BENCH_FRAME_LEN6;
	}
	if (cfg.flows > 0 && (uint64_t)cfg.sport_base + (cfg.flows < XLB_BENCH_PORTS ?
			      cfg.flows : XLB_BENCH_PORTS) > 65536) {
		fprintf(stderr, "pktgen: --sport %u leaves too few ports for the flows\n",
			cfg.sport_base);
		return 2;
	}
	if (cfg.flows == 0 && cfg.sport_base > 65536 - XLB_BENCH_PORTS) {
		fprintf(stderr, "pktgen: --flows new needs --sport <= %d\n",
			65536 - XLB_BENCH_PORTS);
		return 2;
	}
	libbpf_set_print(xlb_bench_libbpf_print);

	ctx_in.ingress_ifindex = if_nametoindex(ifname);
	if (!ctx_in.ingress_ifindex) {
		fprintf(stderr, "pktgen: no interface %s\n", ifname);
		return 1;
	}
	ret = xlb_bench_if_mac(ifname, cfg.smac);
	if (ret) {
		fprintf(stderr, "pktgen: MAC of %s: %s\n", ifname, strerror(-ret));
		return 1;
	}
	memset(threads, 0, sizeof(threads));
	if (cpus) {
		const char *c = cpus;
		char *end;

		while (*c) {
			long v = strtol(c, &end, 10);

			if (end == c || v < 0 || v >= CPU_SETSIZE ||
			    n_threads == PKTGEN_MAX_THREADS || (*end && *end != ',')) {
				fprintf(stderr, "pktgen: bad CPU list '%s'\n", cpus);
				return 2;
			}
			threads[n_threads++].cpu = (int)v;
			c = *end ? end + 1 : end;
		}
	}
	if (!n_threads)
		threads[n_threads++].cpu = -1;
	cfg.lanes = (uint8_t)n_threads;
	/* Opening frames: flow f's first packet is frame f (ack: its SYN is
	 * frame f, its first ACK frame flows + f); all-new flows have none. */
	if (prime_pps > 0 && cfg.flows && cfg.traffic != XLB_BENCH_SYN)
		prime_total = (unsigned long long)cfg.flows * (cfg.traffic == XLB_BENCH_ACK ? 2 : 1);
	for (i = 0; i < n_threads && prime_total; i++) {
		/* Thread i writes frames n with n % lanes == its CPU % lanes
		 * (gen.bpf.c); unpinned, lanes is 1. */
		unsigned long long r = threads[i].cpu >= 0 ? (unsigned)threads[i].cpu % cfg.lanes : 0;

		threads[i].prime = prime_total > r ? (prime_total - r + cfg.lanes - 1) / cfg.lanes : 0;
		threads[i].prime_pps = prime_pps / n_threads;
	}
	if (prime_total)
		__atomic_store_n(&gen_priming, 1, __ATOMIC_RELEASE);
	if (stats_id) {
		stats_prog = bpf_prog_get_fd_by_id(stats_id);
		if (stats_prog < 0) {
			fprintf(stderr, "pktgen: program %u: %s\n", stats_id, strerror(errno));
			return 1;
		}
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0) {
			fprintf(stderr, "pktgen: BPF_ENABLE_STATS: %s\n", strerror(errno));
			return 1;
		}
	}
	if (sink_id) {
		sink_fd = bpf_map_get_fd_by_id(sink_id);
		if (sink_fd < 0) {
			fprintf(stderr, "pktgen: sink map %u: %s\n", sink_id, strerror(errno));
			return 1;
		}
	}
	ret = xlb_bench_obj_path("gen.bpf.o", path, sizeof(path));
	if (!ret)
		ret = xlb_bench_load(path, &cfg, sizeof(cfg), &obj, &prog_fd);
	if (ret) {
		fprintf(stderr, "pktgen: cannot load %s: %s\n", path, strerror(-ret));
		return 1;
	}

	if (park) {
		park_ifindex = (int)if_nametoindex(park);
		if (!park_ifindex ||
		    bpf_xdp_attach(park_ifindex, prog_fd, XDP_FLAGS_SKB_MODE, NULL)) {
			fprintf(stderr, "pktgen: cannot park the program on %s: %s\n",
				park, strerror(errno));
			park_ifindex = 0;
		}
	}
	/* SIGCHLD (the --exec-* commands' exit) blocked in every thread, so
	 * that it interrupts no test run: the threads inherit the mask. */
	{
		sigset_t chld;

		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		pthread_sigmask(SIG_BLOCK, &chld, NULL);
	}
	t = now_s();
	for (i = 0; i < n_threads; i++) {
		threads[i].prog_fd = prog_fd;
		threads[i].run = &run;
		threads[i].t0 = t + warmup;
		threads[i].t1 = t + warmup + duration;
		ret = pthread_create(&threads[i].tid, NULL, gen_loop, &threads[i]);
		if (ret) {
			fprintf(stderr, "pktgen: thread: %s\n", strerror(ret));
			__atomic_store_n(&gen_stop, 1, __ATOMIC_RELAXED);
			n_threads = i;
			break;
		}
	}
	if (prime_total) {
		/* Every thread primed (or failed), then a settling pause for
		 * the director to finish what it received, then the window
		 * opens: warm-up and measurement as without priming. */
		while (__atomic_load_n(&gen_primed, __ATOMIC_ACQUIRE) < n_threads &&
		       !__atomic_load_n(&gen_stop, __ATOMIC_RELAXED))
			usleep(1000);
		usleep(100000);
		t = now_s();
		for (i = 0; i < n_threads; i++) {
			threads[i].t0 = t + warmup;
			threads[i].t1 = t + warmup + duration;
		}
		__atomic_store_n(&gen_go, 1, __ATOMIC_RELEASE);
	}
	sleep_until(t + warmup, now_s);
	t0 = now_s();
	ret = sink_fd >= 0 ? xlb_bench_sink_read(sink_fd, s0) : 0;
	if (!ret && stats_prog >= 0)
		ret = prog_info(stats_prog, &pi0);
	if (!ret && exec_start)
		run_cmd(exec_start);
	sleep_until(t + warmup + duration, now_s);
	t1 = now_s();
	if (!ret && sink_fd >= 0)
		ret = xlb_bench_sink_read(sink_fd, s1);
	if (!ret && stats_prog >= 0)
		ret = prog_info(stats_prog, &pi1);
	if (!ret && exec_end)
		run_cmd(exec_end);
	for (i = 0; i < n_threads; i++) {
		struct gen_thread *g = &threads[i];

		pthread_join(g->tid, NULL);
		if (!ret && g->err)
			ret = g->err;
		if (g->has_b && g->tb > g->ta) {
			attempted += (g->sb - g->sa) / (g->tb - g->ta);
			sent += g->sb - g->sa;
		}
	}
	if (park_ifindex)
		bpf_xdp_detach(park_ifindex, XDP_FLAGS_SKB_MODE, NULL);
	bpf_object__close(obj);
	if (stats_fd >= 0)
		close(stats_fd);
	if (stats_prog >= 0)
		close(stats_prog);
	if (ret) {
		fprintf(stderr, "pktgen: live-frames test run on %s failed: %s\n",
			ifname, strerror(-ret));
		return 1;
	}
	t = t1 - t0;
	if (cfg.flows)
		snprintf(path, sizeof(path), "%u", cfg.flows);
	else
		snprintf(path, sizeof(path), "new");
	printf("iface=%s traffic=%s flows=%s threads=%d seconds=%.3f attempted=%llu attempted_pps=%.0f",
	       ifname, traffic, path, n_threads, t, sent, attempted);
	if (prime_total)
		printf(" primed=%llu", prime_total);
	if (stats_prog >= 0)
		printf(" prog_runs=%llu prog_ns=%llu",
		       (unsigned long long)(pi1.run_cnt - pi0.run_cnt),
		       (unsigned long long)(pi1.run_time_ns - pi0.run_time_ns));
	if (sink_fd >= 0)
		printf(" received=%llu received_pps=%.0f other_mac=%llu",
		       (unsigned long long)(s1[XLB_SINK_PKTS] - s0[XLB_SINK_PKTS]),
		       (s1[XLB_SINK_PKTS] - s0[XLB_SINK_PKTS]) / t,
		       (unsigned long long)(s1[XLB_SINK_OTHER_MAC] - s0[XLB_SINK_OTHER_MAC]));
	printf("\n");
	return 0;
}
