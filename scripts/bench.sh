#!/bin/bash
# xlb benchmarks. `make bench` runs this from the repository root after
# `make all`. Each section is one function; a new benchmark is a new
# section_* function added to the list at the bottom. Everything printed
# also goes to build/bench/results.md.
#
# The datapath section (needs root) builds gen -> director -> sink in fresh
# namespaces and measures, in the same run and with the same generator:
# kernel forwarding, an in-kernel XDP redirect, bare AF_XDP forwarding
# (xsk_fwd) and xlbd in DR, NAT and TUN; then iperf3 through some of them.
# Knobs (environment): BENCH_RUNS (3), BENCH_SECS (2), BENCH_WARMUP (0.3),
# BENCH_MODES ("kernel xdp afxdp xlb-dr xlb-nat xlb-tun"),
# BENCH_MIXES ("udp:1 udp:1000 udp:100000 syn:new ack:1000"),
# BENCH_TCP_MODES ("kernel xdp afxdp xlb-dr"), BENCH_TCP_SECS (2).
set -eu

BUILD=${BUILD:-build}
BENCH_MD=${BENCH_MD:-$BUILD/bench/results.md}
# shellcheck source=scripts/bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"

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

# Datapath: the same generator through each forwarder on one veth chain,
# in the same run, as ratios. See scripts/bench_lib.sh for the topology.
section_datapath() {
	section "datapath: gen -> director -> sink (veth, 64-byte frames, 1 queue)"
	local f
	for f in bench/pktgen bench/sinkctl bench/gen.bpf.o bench/sink.bpf.o \
		 bench/xdp_fwd.bpf.o bench/xsk_fwd; do
		if [ ! -e "$BUILD/$f" ]; then
			echo "bench: $BUILD/$f is missing; run 'make' first" >&2
			return 1
		fi
	done
	if [ "$(id -u)" -ne 0 ]; then
		echo "Not measured: the datapath benchmarks need root (namespaces, XDP)."
		echo
		return 0
	fi
	# A subshell, so that its EXIT trap tears the chain down whatever
	# happens inside (failure, ^C).
	(
		set +e
		trap bdp_down EXIT
		trap 'exit 130' INT TERM
		bdp_up || { bdp_log "cannot build the namespaces"; exit 1; }
		bdp_datapath_all
		bdp_report
		bdp_tcp_all
		bdp_tcp_report
	)
}

run_all() {
	local s status=0
	header
	for s in section_ring section_datapath; do
		$s || status=1
	done
	return $status
}

mkdir -p "$(dirname "$BENCH_MD")"
trap 'rm -f "$BENCH_MD.tmp"' EXIT
trap 'exit 130' INT TERM
set +e
run_all | tee "$BENCH_MD.tmp"
status=${PIPESTATUS[0]}
set -e
{ echo '```'; cat "$BENCH_MD.tmp"; echo '```'; } >"$BENCH_MD"
rm -f "$BENCH_MD.tmp"
echo "(written to $BENCH_MD)"
exit "$status"
