#!/bin/bash
# xlb benchmarks. `make bench` runs this from the repository root after
# `make all`. Each section is one function; a new benchmark is a new
# section_* function added to the list at the bottom. Everything printed
# (Markdown) also goes to tests/bench/results.md (BENCH_MD), which is
# committed: the latest figures of this project, with the machine they
# were measured on.
#
# The connection-table section runs tests/bench/conn_bench.c at two sizes.
# The datapath section (needs root) builds gen -> director -> sink in fresh
# namespaces and measures, in the same run and with the same generator:
# kernel forwarding, an in-kernel XDP redirect, bare AF_XDP forwarding
# (xsk_fwd) and xlbd in DR, NAT and TUN, each with the fast path off and
# on (modes xlb-M and xlb-M-fp; "n/a" when xlbd has no --fast-path); the
# XDP program's cost per packet (BPF run-time statistics); then iperf3
# through each mode. IPv6 (issue 14): the same forwarders over IPv6 on the
# same chain, in the same rounds (modes kernel6, xdp6, afxdp6, xlb-dr6,
# xlb-nat6 (NAT66), xlb-tun6 (ip6ip6), each xlb one also -fp), in tables of
# their own with ratios against kernel6 and xdp6 of the same run and
# against the same IPv4 mode; an -fp mode whose fast-path hit counters stay
# 0 is reported "fast path not taken for IPv6". It prints how long each
# part took (about 15 minutes in all, with the build, is the budget:
# 12 min 15 s without it on the shared VM, IPv6 included).
# Knobs (environment): BENCH_RUNS (3), BENCH_SECS (1.5), BENCH_WARMUP (0.3),
# BENCH_MODES ("kernel xdp afxdp xlb-dr xlb-dr-fp xlb-nat xlb-nat-fp
# xlb-tun xlb-tun-fp"), BENCH_FP_ENTRIES (262144: --fast-path-entries),
# BENCH_PRIME_PPS (200000: each run's opening packets in the xlb modes),
# BENCH_MIXES ("udp:1 udp:1000 udp:100000 ack:1000 syn:new"),
# BENCH_NAPI_NICE (10) / BENCH_NAPI_NICE_FP (0): the director's NAPI thread
# in the AF_XDP modes with the fast path off / on,
# BENCH_QUEUES ("1 2": a chain per queue count), BENCH_MODES_MQ
# ("kernel afxdp xlb-dr") and BENCH_MIXES_MQ ("udp:1000") on the chains
# with more than one queue, BENCH_COST_MODES ("xdp xlb-dr xlb-dr-fp ..."),
# BENCH_COST_MIXES ("udp:1000 ack:1000"), BENCH_COST_SECS (0.5),
# BENCH_TCP_MODES (every mode above), BENCH_TCP_SECS (2), XLBD_ARGS / XSK_FWD_ARGS (extra options),
# BENCH_CONN_SIZES ("4096 1048576": conn_bench table sizes), BENCH_SECTIONS
# (default "section_ring section_conn section_fp_xdp section_health section_datapath"),
# BENCH_HEALTH_SERVERS (1000) and BENCH_HEALTH_SECS (10): health_bench.
# IPv6: BENCH_MODES6 ("kernel6 xdp6 afxdp6 xlb-dr6 xlb-dr6-fp xlb-nat6
# xlb-nat6-fp xlb-tun6 xlb-tun6-fp"; set and empty: no IPv6), BENCH_MIXES6
# ("udp:1000 ack:1000": fewer mixes than IPv4's, for the time budget),
# BENCH_COST_MODES6 ("xdp6 xlb-dr6 xlb-dr6-fp ..."), BENCH_COST_MIXES6
# ("udp:1000 ack:1000"), BENCH_TCP_MODES6 (every IPv6 mode). (The *_MODES6
# knobs take an empty value as "none"; the others, like IPv4's, as unset.)
set -eu

BUILD=${BUILD:-build}
BENCH_MD=${BENCH_MD:-tests/bench/results.md}
# shellcheck source=scripts/bench_lib.sh
. "$(dirname "$0")/bench_lib.sh"

header() {
	local commit dirty=""
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)
	git diff --quiet HEAD -- . ':!tests/bench/results.md' 2>/dev/null || dirty=" (with uncommitted changes)"
	echo "# xlb benchmark results"
	echo
	echo "Written by \`make bench\` (scripts/bench.sh). Ratios measured in the same run count;"
	echo "absolute numbers move with the machine and its load."
	echo
	echo "- host: $(uname -n), kernel $(uname -r), $(nproc) CPU(s): $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "- commit: $commit$dirty"
	echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "- load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
}

section() {
	echo "## $1"
	echo
}

# Consistent-hash ring: build and lookup cost, balance, flow hash cost.
section_ring() {
	section "Ring scheduler (tests/bench/ring_bench.c)"
	if [ ! -x "$BUILD/bench/ring_bench" ]; then
		echo "bench: $BUILD/bench/ring_bench is missing; run 'make' first" >&2
		return 1
	fi
	echo '```'
	"$BUILD/bench/ring_bench"
	echo '```'
	echo
}

# Connection table: ns per create / lookup / NAT-reply lookup / sweep, at a
# cache-resident size and at the default --max-conns (cache misses): the
# figures the README's "Measured" section quotes.
BENCH_CONN_SIZES=${BENCH_CONN_SIZES:-"4096 1048576"}
section_conn() {
	section "Connection table (tests/bench/conn_bench.c)"
	if [ ! -x "$BUILD/bench/conn_bench" ]; then
		echo "bench: $BUILD/bench/conn_bench is missing; run 'make' first" >&2
		return 1
	fi
	local n status=0
	echo '```'
	for n in $BENCH_CONN_SIZES; do
		"$BUILD/bench/conn_bench" "$n" || status=1
	done
	echo '```'
	echo
	return $status
}

# The fast path's XDP program alone (issue 11): tests/bench/fp_xdp_bench.c,
# when the fast-path branch has brought it: the real xlb_steer under
# BPF_PROG_TEST_RUN, ns per packet per method, UDP and TCP ACK frames;
# 500,000 repeats a figure (its default of 1,000,000 takes 22 s for both).
# (The datapath section measures the same program in the chain, with the
# kernel's run-time statistics.)
BENCH_FP_XDP_REPEAT=${BENCH_FP_XDP_REPEAT:-500000}
section_fp_xdp() {
	section "Fast path XDP program alone (tests/bench/fp_xdp_bench.c)"
	if [ ! -x "$BUILD/bench/fp_xdp_bench" ]; then
		echo "Not measured: $BUILD/bench/fp_xdp_bench is not built (this tree has no tests/bench/fp_xdp_bench.c)."
		echo
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "Not measured: fp_xdp_bench needs root."
		echo
		return 0
	fi
	local status=0
	echo '```'
	"$BUILD/bench/fp_xdp_bench" "$BENCH_FP_XDP_REPEAT" 2>&1 || status=1
	TCP=1 "$BUILD/bench/fp_xdp_bench" "$BENCH_FP_XDP_REPEAT" 2>&1 || status=1
	echo '```'
	echo
	return $status
}

# Health checker: 1,000 real servers checked every second (TCP, then HTTP)
# against local listeners in a namespace of its own; the checker thread's
# CPU as a share of one CPU (issue 13's target: under 5 %).
BENCH_HEALTH_SERVERS=${BENCH_HEALTH_SERVERS:-1000}
BENCH_HEALTH_SECS=${BENCH_HEALTH_SECS:-10}
section_health() {
	section "Health checks (tests/bench/health_bench.c)"
	if [ ! -x "$BUILD/bench/health_bench" ]; then
		echo "bench: $BUILD/bench/health_bench is missing; run 'make' first" >&2
		return 1
	fi
	echo '```'
	"$BUILD/bench/health_bench" "$BENCH_HEALTH_SERVERS" "$BENCH_HEALTH_SECS" || return 1
	echo '```'
	echo
}

# Datapath: the same generator through each forwarder on one veth chain,
# in the same run, as ratios. See scripts/bench_lib.sh for the topology.
section_datapath() {
	section "Datapath: gen -> director -> sink (veth, 64-byte frames)"
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
		local q
		for q in $BENCH_QUEUES; do
			[ "$q" -gt 1 ] || continue
			if [ "$(nproc)" -lt "$q" ]; then
				bdp_log "$q queues: only $(nproc) CPU(s), not measured"
				continue
			fi
			bdp_up "$q" || bdp_log "cannot build the $q-queue namespaces"
		done
		bdp_up 1 || { bdp_log "cannot build the namespaces"; exit 1; }
		bench_timed "datapath: namespaces" true
		bench_timed "datapath: probes and packet-rate rounds" bdp_datapath_all
		bench_timed "datapath: XDP cost runs" bdp_cost_all
		bdp_report
		bdp_report6
		bdp_cost_report
		bench_timed "datapath: TCP throughput (iperf3)" bdp_tcp_all
		bdp_tcp_report
		bdp_tcp_report6
		echo "#### Run time of the datapath parts"
		echo
		bench_times
	)
}

# bench_timed NAME cmd...: runs cmd, adds "NAME: S s" to the run times
# (since the previous mark, for the first one since the start).
BENCH_T0=$(date +%s.%N)
BENCH_TIMES=$(mktemp /tmp/xlb-bench-times.XXXXXX)
BENCH_MARK=$BENCH_T0
bench_timed() {
	local name=$1 t status
	shift
	"$@"
	status=$?
	t=$(date +%s.%N)
	echo "$name: $(echo "$BENCH_MARK $t" | awk '{ printf "%.0f", $2 - $1 }') s" >>"$BENCH_TIMES"
	BENCH_MARK=$t
	return $status
}
bench_times() {
	sed 's/^/- /' "$BENCH_TIMES"
	echo
}

run_all() {
	local s status=0 t
	header
	for s in ${BENCH_SECTIONS:-section_ring section_conn section_fp_xdp section_health section_datapath}; do
		BENCH_MARK=$(date +%s.%N)
		$s || status=1
		t=$(date +%s.%N)
		echo "$s $(echo "$BENCH_MARK $t" | awk '{ printf "%.0f", $2 - $1 }')" >>"$BENCH_TIMES.sections"
	done
	section "Run time"
	awk '{ printf "- %s: %s s\n", $1, $2 }' "$BENCH_TIMES.sections"
	echo "- in all (without the build): $(echo "$BENCH_T0 $(date +%s.%N)" | awk '{ printf "%.0f", $2 - $1 }') s"
	echo
	return $status
}

mkdir -p "$(dirname "$BENCH_MD")"
trap 'rm -f "$BENCH_MD.tmp" "$BENCH_TIMES" "$BENCH_TIMES.sections"' EXIT
trap 'exit 130' INT TERM
set +e
run_all | tee "$BENCH_MD.tmp"
status=${PIPESTATUS[0]}
set -e
mv -f "$BENCH_MD.tmp" "$BENCH_MD"
echo "(written to $BENCH_MD)"
exit "$status"
