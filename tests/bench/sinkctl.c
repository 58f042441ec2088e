// SPDX-License-Identifier: GPL-2.0
/*
 * sinkctl: puts the benchmark's XDP programs on interfaces and reads the
 * sink's counters.
 *
 *   sinkctl attach IF               sink.bpf.o on IF; prints its map ID
 *   sinkctl read IF                 the sink's counters on IF, totals
 *   sinkctl rate IF [SECONDS]       delivered packets per second over SECONDS
 *   sinkctl redirect IF OUT DMAC    xdp_fwd.bpf.o on IF: IPv4, IPv6 to OUT, to DMAC
 *   sinkctl detach IF               removes whatever XDP program IF has
 *
 * Programs are attached in native (driver) mode through netlink, so they
 * stay attached after sinkctl exits; "read" finds the counters again from
 * the program on the interface.
 */
#include <errno.h>
#include <net/if.h>
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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sinkctl attach IF | read IF | rate IF [SECONDS] |\n"
		"               redirect IF OUT_IF DMAC | detach IF   [-v]\n");
}

static int ifindex_of(const char *ifname)
{
	int i = (int)if_nametoindex(ifname);

	if (!i)
		fprintf(stderr, "sinkctl: no interface %s\n", ifname);
	return i;
}

/* Loads FILE with CFG and attaches it to IFINDEX in native mode; prints
 * the IDs of the program and of its map MAP_NAME (if any). */
static int attach(int ifindex, const char *file, const void *cfg, size_t cfg_len,
		  const char *map_name)
{
	struct bpf_prog_info pinfo = {};
	struct bpf_map_info minfo = {};
	__u32 plen = sizeof(pinfo), mlen = sizeof(minfo);
	struct bpf_object *obj = NULL;
	struct bpf_map *map;
	char path[PATH_MAX];
	int ret, prog_fd = -1;

	ret = xlb_bench_obj_path(file, path, sizeof(path));
	if (!ret)
		ret = xlb_bench_load(path, cfg, cfg_len, &obj, &prog_fd);
	if (ret) {
		fprintf(stderr, "sinkctl: cannot load %s: %s\n", path, strerror(-ret));
		return 1;
	}
	ret = bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL);
	if (ret) {
		fprintf(stderr, "sinkctl: cannot attach %s: %s\n", file, strerror(-ret));
		bpf_object__close(obj);
		return 1;
	}
	bpf_obj_get_info_by_fd(prog_fd, &pinfo, &plen);
	printf("prog_id=%u", pinfo.id);
	map = map_name ? bpf_object__find_map_by_name(obj, map_name) : NULL;
	if (map && !bpf_obj_get_info_by_fd(bpf_map__fd(map), &minfo, &mlen))
		printf(" map_id=%u", minfo.id);
	printf("\n");
	bpf_object__close(obj);
	return 0;
}

/* The "counters" map of the sink program attached to IFINDEX. */
static int sink_map_fd(int ifindex)
{
	struct bpf_prog_info pinfo = {};
	__u32 plen = sizeof(pinfo), ids[8], prog_id = 0, i;
	int prog_fd, fd = -ENOENT;

	if (bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &prog_id) || !prog_id)
		return -ENOENT;
	prog_fd = bpf_prog_get_fd_by_id(prog_id);
	if (prog_fd < 0)
		return -errno;
	pinfo.nr_map_ids = 8;
	pinfo.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &pinfo, &plen)) {
		fd = -errno;
		goto out;
	}
	for (i = 0; i < pinfo.nr_map_ids && i < 8; i++) {
		struct bpf_map_info minfo = {};
		__u32 mlen = sizeof(minfo);
		int m = bpf_map_get_fd_by_id(ids[i]);

		if (m < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(m, &minfo, &mlen) &&
		    !strcmp(minfo.name, "counters") &&
		    minfo.value_size == XLB_SINK_N * sizeof(__u64)) {
			fd = m;
			break;
		}
		close(m);
	}
out:
	close(prog_fd);
	return fd;
}

static int read_counters(int ifindex, const char *ifname, uint64_t c[XLB_SINK_N])
{
	int fd = sink_map_fd(ifindex), ret;

	if (fd < 0) {
		fprintf(stderr, "sinkctl: no sink program on %s\n", ifname);
		return fd;
	}
	ret = xlb_bench_sink_read(fd, c);
	close(fd);
	if (ret)
		fprintf(stderr, "sinkctl: reading the counters: %s\n", strerror(-ret));
	return ret;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t c0[XLB_SINK_N], c1[XLB_SINK_N];
	const char *cmd, *ifname;
	int ifindex, i, n = 0;
	char *args[4];

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			xlb_bench_verbose = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (n < 4)
			args[n++] = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (n < 2) {
		usage(stderr);
		return 2;
	}
	libbpf_set_print(xlb_bench_libbpf_print);
	cmd = args[0];
	ifname = args[1];
	ifindex = ifindex_of(ifname);
	if (!ifindex)
		return 1;

	if (!strcmp(cmd, "attach") && n == 2) {
		struct xlb_bench_sink_cfg cfg = {};

		if (xlb_bench_if_mac(ifname, cfg.mac)) {
			fprintf(stderr, "sinkctl: no MAC on %s\n", ifname);
			return 1;
		}
		return attach(ifindex, "sink.bpf.o", &cfg, sizeof(cfg), "counters");
	}
	if (!strcmp(cmd, "redirect") && n == 4) {
		struct xlb_bench_fwd_cfg cfg = {};

		cfg.ifindex = (__u32)ifindex_of(args[2]);
		if (!cfg.ifindex)
			return 1;
		if (xlb_bench_if_mac(args[2], cfg.smac) || xlb_bench_parse_mac(args[3], cfg.dmac)) {
			fprintf(stderr, "sinkctl: bad MAC of %s or '%s'\n", args[2], args[3]);
			return 1;
		}
		return attach(ifindex, "xdp_fwd.bpf.o", &cfg, sizeof(cfg), NULL);
	}
	if (!strcmp(cmd, "detach") && n == 2) {
		int ret = bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);

		if (ret) {
			fprintf(stderr, "sinkctl: detach from %s: %s\n", ifname, strerror(-ret));
			return 1;
		}
		return 0;
	}
	if (!strcmp(cmd, "read") && n == 2) {
		if (read_counters(ifindex, ifname, c0))
			return 1;
		printf("pkts=%llu bytes=%llu other_mac=%llu passed=%llu\n",
		       (unsigned long long)c0[XLB_SINK_PKTS],
		       (unsigned long long)c0[XLB_SINK_BYTES],
		       (unsigned long long)c0[XLB_SINK_OTHER_MAC],
		       (unsigned long long)c0[XLB_SINK_PASSED]);
		return 0;
	}
	if (!strcmp(cmd, "rate") && (n == 2 || n == 3)) {
		double secs = n == 3 ? atof(args[2]) : 1.0, t0, t1;

		if (secs <= 0) {
			usage(stderr);
			return 2;
		}
		t0 = now_s();
		if (read_counters(ifindex, ifname, c0))
			return 1;
		usleep((useconds_t)(secs * 1e6));
		t1 = now_s();
		if (read_counters(ifindex, ifname, c1))
			return 1;
		printf("pps=%.0f other_mac_pps=%.0f seconds=%.3f\n",
		       (c1[XLB_SINK_PKTS] - c0[XLB_SINK_PKTS]) / (t1 - t0),
		       (c1[XLB_SINK_OTHER_MAC] - c0[XLB_SINK_OTHER_MAC]) / (t1 - t0), t1 - t0);
		return 0;
	}
	usage(stderr);
	return 2;
}
