/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the benchmark's userspace tools (pktgen.c, sinkctl.c):
 * finding and loading their XDP objects with a config, interface MACs, the
 * sink's counters. Header-only (static inline) because every tests/bench/X.c
 * is its own program in the Makefile.
 */
#ifndef XLB_BENCH_UTIL_H
#define XLB_BENCH_UTIL_H

#include "nexthop.h"
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_shared.h"

static bool xlb_bench_verbose;

static inline int xlb_bench_libbpf_print(enum libbpf_print_level level,
					 const char *fmt, va_list ap)
{
	if (!xlb_bench_verbose && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* DIR/name where DIR holds the running executable: the objects are built
 * next to the tools (build/bench/). */
static inline int xlb_bench_obj_path(const char *name, char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	if ((size_t)snprintf(buf, len, "%s/%s", dirname(exe), name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Opens FILE, sets its .rodata (the program's one config struct) to CFG and
 * loads it. *prog_fd is its only program. */
static inline int xlb_bench_load(const char *file, const void *cfg, size_t cfg_len,
				 struct bpf_object **objp, int *prog_fd)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	bool set = false;
	int ret;

	obj = bpf_object__open_file(file, NULL);
	if (!obj)
		return -errno;
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		size_t nl = strlen(name);

		if (!bpf_map__is_internal(map) || nl < 7 || strcmp(name + nl - 7, ".rodata"))
			continue;
		ret = bpf_map__set_initial_value(map, cfg, cfg_len);
		if (ret)
			goto err;
		set = true;
	}
	ret = -ENOENT;
	prog = bpf_object__next_program(obj, NULL);
	if (!set || !prog)
		goto err;
	ret = bpf_object__load(obj);
	if (ret)
		goto err;
	*prog_fd = bpf_program__fd(prog);
	*objp = obj;
	return 0;
err:
	bpf_object__close(obj);
	return ret;
}

/* The MAC of an interface: lb/nexthop.c's, linked from libxlb.a. */
static inline int xlb_bench_if_mac(const char *ifname, uint8_t mac[6])
{
	return xlb_nh_if_mac(ifname, mac);
}

static inline int xlb_bench_parse_mac(const char *s, uint8_t m[6])
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

/* Sums the sink's per-CPU counters (map "counters" of sink.bpf.o). */
static inline int xlb_bench_sink_read(int map_fd, uint64_t out[XLB_SINK_N])
{
	int ncpu = libbpf_num_possible_cpus(), c, k;
	uint32_t key = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	{
		uint64_t vals[ncpu][XLB_SINK_N];

		if (bpf_map_lookup_elem(map_fd, &key, vals))
			return -errno;
		for (k = 0; k < XLB_SINK_N; k++) {
			out[k] = 0;
			for (c = 0; c < ncpu; c++)
				out[k] += vals[c][k];
		}
	}
	return 0;
}

#endif
