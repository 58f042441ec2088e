// SPDX-License-Identifier: GPL-2.0
/*
 * The XDP fast path's cost per packet (issue 11): the real xlb_steer,
 * loaded unattached in a private network namespace, its fast path enabled
 * and one entry installed, run by the kernel with BPF_PROG_TEST_RUN.
 *
 *   build/bench/fp_xdp_bench [REPEAT]      (default 1,000,000; root)
 *
 * Figures per method, each the median of 7 runs:
 *  - "loop ns": BPF_PROG_TEST_RUN's own time per repeat, REPEAT runs in
 *    place: the frame a run leaves is the next run's, so DR repeats
 *    itself and NAT alternates between two entries that translate back and
 *    forth (every run a hit). TUN cannot run in place (the frame would grow
 *    by 20 bytes a run), and live-frames mode does not help: it restores
 *    the frame's bounds between runs, not its bytes;
 *  - "prog ns": loop ns less the loop's own cost, measured beside it with
 *    a 2-instruction "return XDP_TX" program: the program's cost;
 *  - "stats ns": the kernel's run-time statistics (BPF_ENABLE_STATS,
 *    run_time_ns / run_cnt) over REPEAT / 10 single runs, each on a fresh
 *    copy of the frame, TUN included. Two clock reads per run (tens of ns
 *    in a VM) and colder caches make it the larger figure; its differences
 *    between methods are what it is for (TUN - DR).
 * The frame: 60-byte UDP (the benchmark's 64 on the wire), or a TCP ACK
 * with TCP=1. The machine's load shows: run it on a quiet one.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/bpf.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../bpf/xlb_fp.h"
#include "../bpf/xlb_shared.h"
#include "../bpf/xlb_rewrite.h"
#include "xlb_steer.skel.h"

#define RUNS	7

static struct xlb_steer *sk;
static int ncpu;

static uint16_t csum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xFFFF) + (s >> 16);
	return (uint16_t)~s;
}

/* 64-byte frame client 10.0.0.1:40000 -> 10.0.0.100:80 (UDP, 18 bytes of
 * payload; or a TCP ACK with 6). */
static size_t frame(uint8_t *b, int tcp)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	size_t l4len = tcp ? 26 : 26, tot = 20 + l4len;
	uint8_t *ip = b + 14, *l4 = ip + 20;
	uint32_t ps = 0;
	uint16_t c;

	memset(b, 0, 64);
	memcpy(b, mac, 12);
	b[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
	inet_pton(AF_INET, "10.0.0.1", ip + 12);
	inet_pton(AF_INET, "10.0.0.100", ip + 16);
	c = csum(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	l4[0] = 40000 >> 8;
	l4[1] = 40000 & 0xFF;
	l4[3] = 80;
	if (tcp) {
		l4[12] = 5 << 4;
		l4[13] = 0x10;
		l4[14] = 0xFF;
	} else {
		l4[5] = (uint8_t)l4len;
	}
	for (int i = 12; i < 20; i += 2)
		ps += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	ps += ip[9] + (uint32_t)l4len;
	c = csum(l4, l4len, ps);
	l4[tcp ? 16 : 6] = (uint8_t)(c >> 8);
	l4[tcp ? 17 : 7] = (uint8_t)c;
	return 14 + tot;
}

static struct xlb_fp_key key_of(const uint8_t *b)
{
	struct xlb_fp_key k = { .proto = b[23] };

	memcpy(&k.saddr, b + 26, 4);
	memcpy(&k.daddr, b + 30, 4);
	memcpy(&k.sport, b + 34, 2);
	memcpy(&k.dport, b + 36, 2);
	return k;
}

static void install(const struct xlb_fp_key *k, const struct xlb_fp_val *v)
{
	struct xlb_fp_val vals[ncpu];

	for (int i = 0; i < ncpu; i++)
		vals[i] = *v;
	if (bpf_map_update_elem(bpf_map__fd(sk->maps.fp_flows), k, vals, 0)) {
		perror("fp_flows");
		exit(1);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v)
{
	qsort(v, RUNS, sizeof(*v), cmp);
	return v[RUNS / 2];
}

static uint32_t veth;

enum mode { SINGLE, LOOP };

/* One measurement, ns per packet:
 *  SINGLE  repeat / 10 test runs of one packet each (a fresh copy of the
 *          frame every time), the run-time statistics;
 *  LOOP    repeat runs in place, the test run's own duration. */
static double measure_prog(int fd, const uint8_t *f, size_t n,
			   uint32_t repeat, enum mode m)
{
	struct xdp_md ctx = { .data_end = (uint32_t)n, .ingress_ifindex = veth };
	uint8_t out[256];
	struct bpf_prog_info a = {}, b = {};
	uint32_t il = sizeof(a), calls = 1;
	int stats = -1;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		    .data_in = f, .data_size_in = (uint32_t)n,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
		    .repeat = repeat);

	o.data_out = out;
	o.data_size_out = sizeof(out);
	if (m == SINGLE) {
		o.repeat = 1;
		calls = repeat / 10;
	}
	/* The run-time statistics cost two clock reads per run (tens of ns
	 * in a VM): on only for the figures that come from them. */
	if (m == SINGLE && (stats = bpf_enable_stats(BPF_STATS_RUN_TIME)) < 0) {
		perror("BPF_ENABLE_STATS");
		exit(1);
	}
	bpf_obj_get_info_by_fd(fd, &a, &il);
	for (uint32_t i = 0; i < calls; i++) {
		o.data_size_out = sizeof(out);
		if (bpf_prog_test_run_opts(fd, &o)) {
			perror("BPF_PROG_TEST_RUN");
			exit(1);
		}
	}
	il = sizeof(b);
	bpf_obj_get_info_by_fd(fd, &b, &il);
	if (stats >= 0)
		close(stats);
	if (m == LOOP)
		return (double)o.duration;
	return (double)(b.run_time_ns - a.run_time_ns) /
	       (double)(b.run_cnt - a.run_cnt);
}

static double measure(const uint8_t *f, size_t n, uint32_t repeat,
		      enum mode m)
{
	return measure_prog(bpf_program__fd(sk->progs.xlb_steer), f, n, repeat,
			    m);
}

/* The test-run loop's own cost per repeat: a program that is only
 * "return XDP_TX". Measured next to each figure (the machine is shared:
 * its load changes from one second to the next). */
static int floor_fd = -1;

static double loop_floor(const uint8_t *f, size_t n, uint32_t repeat)
{
	static const struct bpf_insn tx[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0,
		  .imm = XDP_TX },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	if (floor_fd < 0)
		floor_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xdp_tx", "GPL",
					 tx, 2, NULL);
	if (floor_fd < 0) {
		perror("bpf_prog_load");
		exit(1);
	}
	return measure_prog(floor_fd, f, n, repeat, LOOP);
}

static uint64_t counter(uint32_t idx)
{
	uint64_t vals[ncpu], s = 0;

	bpf_map_lookup_elem(bpf_map__fd(sk->maps.counters), &idx, vals);
	for (int i = 0; i < ncpu; i++)
		s += vals[i];
	return s;
}

static void cell(double v)
{
	if (v > 0)
		printf(" %8.1f |", v);
	else
		printf(" %8s |", "-");
}

static double floor_sum;
static int floor_cnt;

/* In place (loop), the frame a run leaves is the next run's: only
 * methods whose output is again a hit (DR, NAT with its way back
 * installed) can be measured so. */
static void row(const char *name, const uint8_t *f, size_t n,
		uint32_t repeat, int in_place)
{
	double single[RUNS], lp[RUNS], prog[RUNS];
	uint64_t before = counter(XLB_CNT_FP_TX), runs;

	for (int r = 0; r < RUNS; r++) {
		single[r] = measure(f, n, repeat, SINGLE);
		lp[r] = in_place ? measure(f, n, repeat, LOOP) : 0;
		if (in_place) {
			double fl = loop_floor(f, n, repeat);

			prog[r] = lp[r] - fl;
			floor_sum += fl;
			floor_cnt++;
		}
	}
	runs = (uint64_t)RUNS * (repeat / 10 + (in_place ? repeat : 0));
	if (getenv("FP_BENCH_DEBUG"))
		for (uint32_t i = 0; i < XLB_CNT_MAX; i++)
			fprintf(stderr, "  %s=%llu\n", xlb_cnt_names[i],
				(unsigned long long)counter(i));
	printf("| %-22s |", name);
	cell(in_place ? median(lp) : 0);
	cell(in_place ? median(prog) : 0);
	cell(median(single));
	printf(" %5.1f%% |\n",
	       100.0 * (double)(counter(XLB_CNT_FP_TX) - before) / (double)runs);
}

int main(int argc, char **argv)
{
	uint32_t repeat = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) :
		1000000;
	int tcp = getenv("TCP") && atoi(getenv("TCP"));
	uint8_t f[64], g[64];
	size_t n = frame(f, tcp);
	struct xlb_fp_key k = key_of(f), k2;
	struct xlb_fp_val v = { .mtu = 1500 };
	struct xlb_fp_config cfg = { .flags = XLB_FP_F_ENABLED };
	uint32_t zero = 0;
	if (geteuid() != 0) {
		fprintf(stderr, "fp_xdp_bench: needs root\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET)) {
		perror("unshare");
		return 1;
	}
	if (system("ip link add fpb0 type veth peer name fpb1 && "
		   "ip link set fpb0 up && ip link set fpb1 up")) {
		fprintf(stderr, "fp_xdp_bench: cannot create the veth pair\n");
		return 1;
	}
	veth = if_nametoindex("fpb0");
	ncpu = libbpf_num_possible_cpus();
	sk = xlb_steer__open_and_load();
	if (!sk) {
		perror("xlb_steer");
		return 1;
	}
	bpf_map_update_elem(bpf_map__fd(sk->maps.fp_config), &zero, &cfg, 0);

	printf("xlb_steer fast-path hit, %zu-byte %s frame, %u repeats, "
	       "median of %d\n\n", n, tcp ? "TCP ACK" : "UDP", repeat, RUNS);
	printf("| method (XDP_TX)        | loop ns  | prog ns  | stats ns "
	       "| hits   |\n");
	printf("|------------------------|----------|----------|----------"
	       "|--------|\n");
	v.ifindex = veth;
	inet_pton(AF_INET, "10.0.1.5", &v.addr);
	inet_pton(AF_INET, "10.0.1.1", &v.tun_saddr);

	v.op = XLB_FP_DR;
	install(&k, &v);
	row("DR", f, n, repeat, 1);

	/* NAT in: client -> VIP:80 becomes client -> RIP:8080, which the
	 * second entry turns back (loop mode runs on its own output). */
	v.op = XLB_FP_NAT_IN;
	v.port = htons(8080);
	install(&k, &v);
	memcpy(g, f, n);
	xlb_rw_nat_in(g + 14, g + 34, (uint32_t)n - 34, g[23], v.addr, v.port);
	k2 = key_of(g);
	{
		struct xlb_fp_val back = v;

		memcpy(&back.addr, f + 30, 4);
		back.port = htons(80);
		install(&k2, &back);
	}
	row("NAT in", f, n, repeat, 1);

	/* NAT out: the same frame read as a reply from a real server. */
	v.op = XLB_FP_NAT_OUT;
	inet_pton(AF_INET, "10.0.0.7", &v.addr);
	v.port = htons(7070);
	install(&k, &v);
	memcpy(g, f, n);
	xlb_rw_nat_out(g + 14, g + 34, (uint32_t)n - 34, g[23], v.addr, v.port);
	k2 = key_of(g);
	{
		struct xlb_fp_val back = v;

		memcpy(&back.addr, f + 26, 4);
		back.port = htons(40000);
		install(&k2, &back);
	}
	row("NAT out", f, n, repeat, 1);

	v.op = XLB_FP_TUN;
	inet_pton(AF_INET, "10.0.1.5", &v.addr);
	install(&k, &v);
	row("TUN", f, n, repeat, 0);

	/* For scale: the same frame, fast path off (the steering lookups
	 * and the XSKMAP redirect attempt, no socket). */
	cfg.flags = 0;
	bpf_map_update_elem(bpf_map__fd(sk->maps.fp_config), &zero, &cfg, 0);
	{
		struct xlb_bpf_svc_key sk_ = { .proto = f[23] };
		struct xlb_svc_val sv = { 0 };
		double single[RUNS], lp[RUNS], prog[RUNS];

		memcpy(&sk_.addr, f + 30, 4);
		memcpy(&sk_.port, f + 36, 2);
		bpf_map_update_elem(bpf_map__fd(sk->maps.services), &sk_, &sv, 0);
		for (int r = 0; r < RUNS; r++) {
			single[r] = measure(f, n, repeat, SINGLE);
			lp[r] = measure(f, n, repeat, LOOP);
			prog[r] = lp[r] - loop_floor(f, n, repeat);
		}
		printf("| %-22s |", "off: steer to AF_XDP");
		cell(median(lp));
		cell(median(prog));
		cell(median(single));
		printf(" %6s |\n", "-");
	}
	printf("\nloop ns: BPF_PROG_TEST_RUN's time per repeat; prog ns: "
	       "that less the loop's own (%.1f ns on average, a 2-instruction "
	       "XDP_TX program, measured beside each); stats ns: the kernel's run-time statistics over "
	       "single runs (fresh frame each, cold-ish caches, plus two "
	       "clock reads).\n", floor_cnt ? floor_sum / floor_cnt : 0);
	xlb_steer__destroy(sk);
	return 0;
}
