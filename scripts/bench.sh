#!/bin/sh
# xlb benchmarks. `make bench` runs this from the repository root after
# `make all`. Each section is one function; a new benchmark is a new
# section_* function added to the list at the bottom.
set -eu

BUILD=${BUILD:-build}

header() {
	echo "xlb benchmarks"
	echo "  host:   $(uname -n), kernel $(uname -r), $(nproc) CPU(s)"
	echo "  cpu:    $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "  commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)"
	echo "  date:   $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo
}

section() {
	echo "== $1 =="
}

# Consistent-hash ring: build and lookup cost, balance, flow hash cost.
section_ring() {
	section "ring scheduler (tests/bench/ring_bench.c)"
	if [ ! -x "$BUILD/bench/ring_bench" ]; then
		echo "bench: $BUILD/bench/ring_bench is missing; run 'make' first" >&2
		return 1
	fi
	"$BUILD/bench/ring_bench"
	echo
}

# Not there yet: say so instead of printing numbers that were not measured.
section_datapath() {
	section "datapath"
	echo "Not measured yet: the datapath benchmarks (xlb against the kernel's"
	echo "own forwarding and against an in-kernel XDP redirect on the same veth"
	echo "chain, reported as ratios) arrive with a later issue. No datapath"
	echo "numbers are reported here."
	echo
}

status=0
header
for s in section_ring section_datapath; do
	$s || status=1
done
exit $status
