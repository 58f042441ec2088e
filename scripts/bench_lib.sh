# Datapath benchmark helpers (sourced by scripts/bench.sh, bash).
#
# The chain, in namespaces with a unique prefix $BP per run:
#
#   $BP-gen  ${BP}g ==veth== ${BP}d0  $BP-dir  ${BP}d1 ==veth== ${BP}s  $BP-sink
#   10.X.1.1/24        10.X.1.2/24 (+VIP)   10.X.2.1/24         10.X.2.2/24
#
# gen: build/bench/pktgen (gen.bpf.o in live-frames mode) transmits on ${BP}g.
# dir: whatever is measured (kernel forwarding, xdp_fwd.bpf.o, xsk_fwd, xlbd).
# sink: sink.bpf.o on ${BP}s drops and counts what arrives with its MAC.
# Client source addresses are 10.X.128.0/17 (the generator's flows): UDP
# and all-new SYNs from 10.X.128.1 on, established ACKs from 10.X.192.1 on
# (their own tuples, never one an all-new SYN left half-open).
#
# IPv6 on the same veths (the *6 modes), addresses added with nodad:
#   gen fd00:X:1::1/64   dir fd00:X:1::2/64 (+VIP fd00:X:1::100), fd00:X:2::1/64
#   sink fd00:X:2::2/64; clients fd00:X:80::/63 (UDP and SYNs from
#   fd00:X:80::1 on, established ACKs from fd00:X:81::1 on).
# The director forwards IPv6 (net.ipv6.conf.all.forwarding=1) only in the
# kernel6 baseline (and for the ACKs of the TCP runs that need it, as for
# IPv4); neighbours are permanent entries, so no neighbour discovery
# happens during a run.
#
# Everything started is recorded ($BDIR/pids, the namespaces) and undone by
# bdp_down, which the caller runs from an EXIT trap: processes are killed by
# PID, namespaces deleted even after a failure half-way.

BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_SECS=${BENCH_SECS:-1.5}
BENCH_WARMUP=${BENCH_WARMUP:-0.3}
# The fast path (issue 11): its flow cache's size for the runs with it on
# (--fast-path-entries; above the largest flow count measured, so that
# 100,000 flows measure lookups, not LRU evictions), and the pace at which
# each run's opening packets go out first in the xlb modes (pktgen
# --prime-pps): below what xlbd's slow path forwards, so that every flow is
# in its table (TCP: ESTABLISHED) before the warm-up.
BENCH_FP_ENTRIES=${BENCH_FP_ENTRIES:-262144}
BENCH_PRIME_PPS=${BENCH_PRIME_PPS:-200000}

bdp_log() { echo "bench: $*" >&2; }

# bdp_up [QUEUES]: a chain whose veths have QUEUES (default 1) RX and TX
# queues each; its variables are saved as chain QUEUES (bdp_use_chain).
# Several chains may exist at once (one per queue count), each in its own
# namespaces; bdp_down removes them all.
bdp_up() {
	QUEUES=${1:-1}
	BP="xb$(printf '%04x' $(( ($$ + RANDOM) % 65536 )))"
	if [ -z "${BDIR:-}" ]; then
		BDIR=$(mktemp -d "/tmp/xlb-bench-$BP.XXXXXX")
		: >"$BDIR/pids"
	fi
	BX=$(( $(printf '%s' "$BP" | cksum | cut -d' ' -f1) % 200 + 20 ))
	NS_G=$BP-gen NS_D=$BP-dir NS_S=$BP-sink
	IF_G=${BP}g IF_D0=${BP}d0 IF_D1=${BP}d1 IF_S=${BP}s IF_PARK=${BP}p
	IP_G=10.$BX.1.1 IP_D0=10.$BX.1.2 IP_D1=10.$BX.2.1 IP_S=10.$BX.2.2
	VIP=10.$BX.1.100 CLIENTS=10.$BX.128.0/17 SRC=10.$BX.128.1 ACK_SRC=10.$BX.192.1
	IP6_G=fd00:$BX:1::1 IP6_D0=fd00:$BX:1::2 IP6_D1=fd00:$BX:2::1 IP6_S=fd00:$BX:2::2
	VIP6=fd00:$BX:1::100 CLIENTS6=fd00:$BX:80::/63 SRC6=fd00:$BX:80::1 ACK_SRC6=fd00:$BX:81::1

	local ns
	for ns in "$NS_G" "$NS_D" "$NS_S"; do
		ip netns add "$ns" || return 1
		echo "$ns" >>"$BDIR/namespaces"
		ip -n "$ns" link set lo up
	done
	local nq="numtxqueues $QUEUES numrxqueues $QUEUES"
	# shellcheck disable=SC2086
	ip link add "$IF_G" netns "$NS_G" $nq type veth peer name "$IF_D0" netns "$NS_D" $nq || return 1
	# shellcheck disable=SC2086
	ip link add "$IF_D1" netns "$NS_D" $nq type veth peer name "$IF_S" netns "$NS_S" $nq || return 1
	# Where pktgen parks its program (see tests/bench/pktgen.c): a veth
	# pair of its own, left down (this kernel may have no dummy driver).
	ip -n "$NS_G" link add "$IF_PARK" type veth peer name "${BP}q" || return 1
	ip -n "$NS_G" addr add "$IP_G/24" dev "$IF_G"
	ip -n "$NS_D" addr add "$IP_D0/24" dev "$IF_D0"
	ip -n "$NS_D" addr add "$VIP/32" dev "$IF_D0"
	ip -n "$NS_D" addr add "$IP_D1/24" dev "$IF_D1"
	ip -n "$NS_S" addr add "$IP_S/24" dev "$IF_S"
	ip -n "$NS_G" link set "$IF_G" up
	ip -n "$NS_D" link set "$IF_D0" up
	ip -n "$NS_D" link set "$IF_D1" up
	ip -n "$NS_S" link set "$IF_S" up
	ip -n "$NS_D" route add "$CLIENTS" via "$IP_G"
	ip -n "$NS_S" route add default via "$IP_D1"
	# The director accepts the generator's many source addresses on
	# either side (kernel forwarding; NAT replies).
	local k
	for k in all default "$IF_D0" "$IF_D1"; do
		ip netns exec "$NS_D" sysctl -qw "net.ipv4.conf.$k.rp_filter=0"
	done
	ip netns exec "$NS_D" sysctl -qw net.ipv4.ip_forward=0
	# Frames XDP_TX'd by the generator into ${BP}d0 need NAPI on it when
	# no XDP program is attached there (the kernel-forwarding baseline):
	# GRO switches veth's NAPI on.
	ip netns exec "$NS_D" ethtool -K "$IF_D0" gro on >/dev/null 2>&1 || true
	ip netns exec "$NS_G" ethtool -K "$IF_G" gro on >/dev/null 2>&1 || true

	MAC_G=$(bdp_mac "$NS_G" "$IF_G") MAC_D0=$(bdp_mac "$NS_D" "$IF_D0")
	MAC_D1=$(bdp_mac "$NS_D" "$IF_D1") MAC_S=$(bdp_mac "$NS_S" "$IF_S")
	# Neighbours fixed, so no ARP refresh lands in a measurement (the sink
	# passes ARP all the same).
	ip -n "$NS_D" neigh replace "$IP_S" lladdr "$MAC_S" dev "$IF_D1" nud permanent
	ip -n "$NS_D" neigh replace "$IP_G" lladdr "$MAC_G" dev "$IF_D0" nud permanent
	ip -n "$NS_S" neigh replace "$IP_D1" lladdr "$MAC_D1" dev "$IF_S" nud permanent

	bdp_up6 || bdp_log "IPv6 addresses, routes or neighbours failed: the IPv6 modes will show it"

	SINK_MAP=$(ip netns exec "$NS_S" "$BUILD/bench/sinkctl" attach "$IF_S" |
		   sed -n 's/.*map_id=\([0-9]*\).*/\1/p')
	[ -n "$SINK_MAP" ] || { bdp_log "cannot attach the sink to $IF_S"; return 1; }
	bdp_placement
	local v
	for v in QUEUES BP BX NS_G NS_D NS_S IF_G IF_D0 IF_D1 IF_S IF_PARK IP_G IP_D0 IP_D1 IP_S \
		 VIP CLIENTS SRC ACK_SRC MAC_G MAC_D0 MAC_D1 MAC_S SINK_MAP GEN_CPU DIR_CPU \
		 IP6_G IP6_D0 IP6_D1 IP6_S VIP6 CLIENTS6 SRC6 ACK_SRC6; do
		printf '%s=%q\n' "$v" "${!v}"
	done >"$BDIR/chain-$QUEUES"
}

bdp_use_chain() { . "$BDIR/chain-$1"; }

# bdp_up6: the chain's IPv6 addresses (nodad: usable at once), routes and
# permanent neighbours; the director's IPv6 forwarding off.
bdp_up6() {
	ip -n "$NS_G" -6 addr add "$IP6_G/64" dev "$IF_G" nodad &&
	ip -n "$NS_D" -6 addr add "$IP6_D0/64" dev "$IF_D0" nodad &&
	ip -n "$NS_D" -6 addr add "$VIP6/128" dev "$IF_D0" nodad &&
	ip -n "$NS_D" -6 addr add "$IP6_D1/64" dev "$IF_D1" nodad &&
	ip -n "$NS_S" -6 addr add "$IP6_S/64" dev "$IF_S" nodad &&
	ip netns exec "$NS_D" sysctl -qw net.ipv6.conf.all.forwarding=0 &&
	ip -n "$NS_D" -6 route add "$CLIENTS6" via "$IP6_G" &&
	ip -n "$NS_S" -6 route add default via "$IP6_D1" &&
	ip -n "$NS_D" -6 neigh replace "$IP6_S" lladdr "$MAC_S" dev "$IF_D1" nud permanent &&
	ip -n "$NS_D" -6 neigh replace "$IP6_G" lladdr "$MAC_G" dev "$IF_D0" nud permanent &&
	ip -n "$NS_S" -6 neigh replace "$IP6_D1" lladdr "$MAC_D1" dev "$IF_S" nud permanent
}

# bdp_is6 MODE: is MODE one of the IPv6 modes (kernel6, xlb-dr6-fp, ...)?
bdp_is6() { case $1 in *6 | *6-fp | *6@*) return 0 ;; esac; return 1; }

# CPU placement, the same for every mode of a chain.
# One queue: the generator alone on the last CPU; everything the director
# does (its veth's NAPI, run as a kernel thread, and any forwarding
# process) on CPU 0, together with the sink's XDP (cheap and the same in
# every mode). With one CPU, everything shares it.
# N queues: a generator thread on each of CPUs 0..N-1 (a veth receives what
# CPU c transmits on queue c % N: the threads spread the frames over the
# director's queues), the director's worker q on CPU q (xlbd and xsk_fwd
# pin them so), its NAPI threads left to the scheduler. With 2 vCPUs the
# generator then competes with the director on both CPUs.
bdp_placement() {
	local n c
	n=$(nproc)
	if [ "$QUEUES" -le 1 ]; then
		GEN_CPU=$(( n - 1 )) DIR_CPU=0
		return
	fi
	GEN_CPU=0 DIR_CPU=0
	for c in $(seq 1 $(( QUEUES - 1 ))); do
		GEN_CPU="$GEN_CPU,$(( c % n ))"
		DIR_CPU="$DIR_CPU,$(( c % n ))"
	done
}

bdp_mac() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }

# bdp_bg NS LOG cmd...: a process in a namespace, its PID recorded.
bdp_bg() {
	local ns=$1 log=$2; shift 2
	ip netns exec "$ns" "$@" >"$log" 2>&1 </dev/null &
	BG_PID=$!
	echo "$BG_PID" >>"$BDIR/pids"
}

# bdp_kill PID: SIGINT, then SIGKILL after 5 s.
bdp_kill() {
	local pid=$1 n=50
	kill -INT "$pid" 2>/dev/null || return 0
	while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; n=$((n - 1)); done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

bdp_down() {
	[ -n "${BDIR:-}" ] || return 0
	local pid ns
	if [ -f "$BDIR/pids" ]; then
		while read -r pid; do
			[ -n "$pid" ] && bdp_kill "$pid"
		done <"$BDIR/pids"
	fi
	if [ -f "$BDIR/namespaces" ]; then
		while read -r ns; do
			ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns" || continue
			# Anything else still running in our namespaces is ours.
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null || true
			done
			ip netns del "$ns" 2>/dev/null || true
		done <"$BDIR/namespaces"
	fi
	rm -rf "$BDIR"
	BDIR=
}

# bdp_wait SECONDS cmd...: poll until cmd succeeds.
bdp_wait() {
	local n=$(( $1 * 10 )); shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# bdp_cpu_idle: "idle total" jiffies of all CPUs so far (/proc/stat).
bdp_cpu_idle() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t; exit }' /proc/stat; }

# bdp_run MODE DST DPORT TRAFFIC FLOWS SECS WARMUP [PKTGEN-ARGS...]: one
# pktgen run; prints
# "received_pps attempted_pps other_mac received idle_pct" or fails.
# attempted_pps: the frames the generator attempted to transmit (XDP_TX
# repetitions; the veth may drop some before the director sees them), not
# a rate the chain accepted. idle_pct:
# the share of all CPUs left idle during the run (warm-up included): near
# 0, every CPU was busy.
#
# The xlb modes get their flows' opening packets first (--prime-pps: see
# tests/bench/pktgen.c); BDP_RUN_ARGS adds pktgen options (--prog-stats),
# whose prog_runs and prog_ns come out as two more fields (0 0 without).
bdp_run() {
	local out rx tx om n c0 c1 src=$SRC prime="" pr pn
	[ "$4" != ack ] || src=$ACK_SRC
	if bdp_is6 "$1"; then
		src=$SRC6
		[ "$4" != ack ] || src=$ACK_SRC6
	fi
	case $1 in xlb-*) prime="--prime-pps $BENCH_PRIME_PPS" ;; esac
	c0=$(bdp_cpu_idle)
	# shellcheck disable=SC2086
	out=$(ip netns exec "$NS_G" "$BUILD/bench/pktgen" -i "$IF_G" --dmac "$MAC_D0" \
		--src "$src" --dst "$2" --dport "$3" -t "$4" -f "$5" -d "$6" -w "$7" \
		-c "$GEN_CPU" -s "$SINK_MAP" --park "$IF_PARK" $prime ${BDP_RUN_ARGS:-} "${@:8}" 2>&1) || {
		bdp_log "$1 $4 $5: pktgen failed: $out"
		return 1
	}
	c1=$(bdp_cpu_idle)
	rx=$(printf '%s\n' "$out" | sed -n 's/.* received_pps=\([0-9]*\).*/\1/p')
	tx=$(printf '%s\n' "$out" | sed -n 's/.* attempted_pps=\([0-9]*\).*/\1/p')
	om=$(printf '%s\n' "$out" | sed -n 's/.* other_mac=\([0-9]*\).*/\1/p')
	n=$(printf '%s\n' "$out" | sed -n 's/.* received=\([0-9]*\) .*/\1/p')
	pr=$(printf '%s\n' "$out" | sed -n 's/.* prog_runs=\([0-9]*\).*/\1/p')
	pn=$(printf '%s\n' "$out" | sed -n 's/.* prog_ns=\([0-9]*\).*/\1/p')
	[ -n "$rx" ] && [ -n "$tx" ] || { bdp_log "pktgen said: $out"; return 1; }
	echo "$rx $tx ${om:-0} ${n:-0}" "$(echo "$c0 $c1" |
		awk '{ d = $4 - $2; print (d > 0) ? int(100 * ($3 - $1) / d + 0.5) : 0 }')" "${pr:-0} ${pn:-0}"
}

# bdp_stats N...: "median min max" of integers.
bdp_stats() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2);
		      print m, v[1], v[NR] }'
}

# The traffic mixes measured in every mode: TRAFFIC:FLOWS.
# The established ACKs before the all-new SYNs, so that the check of their
# handshake (bdp_established) lists a table without a million half-open
# connections.
BENCH_MIXES=${BENCH_MIXES:-"udp:1 udp:1000 udp:100000 ack:1000 syn:new"}
# The IPv6 modes (BENCH_MODES6) measure fewer mixes, to keep the whole run
# in its time budget.
BENCH_MIXES6=${BENCH_MIXES6:-"udp:1000 ack:1000"}

# bdp_mixes MODE QUEUES: the mixes MODE is measured with on that chain.
bdp_mixes() {
	if [ "$2" -gt 1 ]; then
		echo "$BENCH_MIXES_MQ"
	elif bdp_is6 "$1"; then
		echo "$BENCH_MIXES6"
	else
		echo "$BENCH_MIXES"
	fi
}

# bdp_pin_napi MODE: the director's receive NAPI as a pinned thread. Without
# it, the veth's NAPI runs in the generator's own softirq on the generator's
# CPU, and forwarder and generator would take turns instead of competing.
# Attaching or detaching XDP can re-create the thread: call after each.
#
# In the AF_XDP modes (afxdp, xlb-*) the NAPI thread shares its CPU with the
# worker and runs at nice BENCH_NAPI_NICE (10): the generator offers far
# more than these modes forward, and at nice 0 the scheduler gives the NAPI
# thread about two thirds of the CPU, most of it spent receiving frames that
# are then dropped on the socket's empty fill ring. Measured on this kind of
# VM (UDP, 1000 flows, 4 runs each): bare AF_XDP 0.64 Mpps at nice 0, 0.85
# at 4, 1.09 at 8, 1.03 at 12, 0.91 at 19; xlb DR 0.58, 0.77, 0.83, 0.81,
# 0.92. Kernel forwarding and XDP redirect do all their work in that thread:
# nice 0 (alone on its CPU with one queue it makes no difference; sharing
# the CPUs with the generator's threads with more queues, a niced NAPI
# thread starves: kernel forwarding on 2 queues fell to 0.3 Mpps).
#
# With the fast path on (xlb-*-fp), the NAPI thread is where established
# flows are forwarded (in XDP, as in the kernel and xdp modes), and the
# worker only sees the flows' opening packets: BENCH_NAPI_NICE_FP (0).
# Niced, the fast path gets a third of its CPU while the worker polls, or
# less still against any other process on that CPU (measured on the shared
# VM, xlb DR fast path, UDP 1000 flows: 5 to 9 times the rate at nice 0
# as at 10). The all-new SYN mix is all slow path (no SYN is ever
# forwarded in XDP), so in the fast-path modes it runs at the slow path's
# nice (BENCH_NAPI_NICE), as with the fast path off: the two SYN figures
# then differ only by what the fast path adds to a new connection (one
# failed lookup in XDP), not by how this one CPU is split (on a real
# director the NAPI threads and the workers have CPUs of their own).
BENCH_NAPI_NICE=${BENCH_NAPI_NICE:-10}
BENCH_NAPI_NICE_FP=${BENCH_NAPI_NICE_FP:-0}
# bdp_nice_napi NICE [PIN]: the director's NAPI threads at NICE (and pinned
# to the director's CPU with PIN).
bdp_nice_napi() {
	local p c
	for p in /proc/[0-9]*; do
		c=$(cat "$p/comm" 2>/dev/null) || continue
		case $c in
		"napi/${BP}"*)
			[ -z "${2:-}" ] || taskset -pc "$DIR_CPU" "${p#/proc/}" >/dev/null 2>&1 || true
			renice -n "$1" -p "${p#/proc/}" >/dev/null 2>&1 || true ;;
		esac
	done
}
bdp_pin_napi() {
	local nice=0
	case $1 in
	xlb-*-fp) nice=$BENCH_NAPI_NICE_FP ;;
	afxdp | afxdp6 | xlb-*) nice=$BENCH_NAPI_NICE ;;
	esac
	ip netns exec "$NS_D" sh -c "echo 1 >/sys/class/net/$IF_D0/threaded" 2>/dev/null ||
		bdp_log "threaded NAPI not available on $IF_D0"
	bdp_nice_napi "$nice" pin
}

# bdp_fp_counters_cmd SOCK FILE: a shell command that writes xlbd's
# fast-path counters ("GROUP NAME VALUE" lines of xlbctl --counters whose
# group or name says fast path, as "GROUP/NAME VALUE") to FILE: nothing
# from an xlbd without them. pktgen runs it (--exec-start, --exec-end).
bdp_fp_counters_cmd() {
	printf '%q --socket %q --counters 2>/dev/null | awk %q >%q' "$(realpath "$BUILD/xlbctl")" "$1" \
		'NF == 3 && tolower($1 " " $2) ~ /fast|(^|[ _])fp/ { print $1 "/" $2, $3 }' "$2"
}

# bdp_established SOCK [MODE]: how many of the established-ACK mix's
# connections (source ACK_SRC's /24; IPv6 modes: ACK_SRC6's /64, listed
# in brackets) xlbd lists as ESTABLISHED.
bdp_established() {
	local p="${ACK_SRC%.*}."
	! bdp_is6 "${2:-}" || p="[${ACK_SRC6%::*}:"
	"$BUILD/xlbctl" --socket "$1" -L -n -c 2>/dev/null |
		awk -v p="$p" '$3 == "ESTABLISHED" && index($4, p) == 1 { n++ } END { print n + 0 }'
}

# bdp_fp_delta PREFIX BEFORE AFTER: "PREFIX hit_share=... hits=... ..." over
# a run's measured window: the hit share, then the changes of the event
# counters, then the cache's entries and xlbd's mean install time at its
# end; nothing when xlbd has no fast-path counters. A hit share below 1 at
# 100,000 flows means the priming did not get every flow installed (a
# loaded machine): BENCH_PRIME_PPS lower.
bdp_fp_delta() {
	awk -v p="$1" 'NR == FNR { v[$1] = $2; next }
		{ split($1, g, "/"); d[g[2]] = $2 - v[$1]; now[g[2]] = $2; n++ }
		END {
			if (!n) exit
			line = p
			if (("hits" in d) && ("misses" in d)) {
				t = d["hits"] + d["misses"]
				line = line " hit_share=" ((t > 0) ? sprintf("%.3f", d["hits"] / t) : "-")
			}
			split("hits misses installs removals updates evictions install_failures", ev, " ")
			for (i = 1; i <= 7; i++)
				if (ev[i] in d) line = line " " ev[i] "=" d[ev[i]]
			if ("entries" in now) line = line " entries_after=" now["entries"]
			if ("install_ns_avg" in now) line = line " install_ns_avg=" now["install_ns_avg"]
			print line
		}' "$2" "$3"
}

# bdp_note MODE TEXT: a row that says why a mode was not measured.
bdp_note() { local m=$1; shift; echo "$m - - NOTE $*" >>"$BDIR/results"; }

# Each mode has bdp_start_M (sets MODE_DST, MODE_LOG; returns non-zero
# with MODE_WHY set when it cannot run) and bdp_stop_M.
bdp_start_kernel() {
	MODE_DST=$IP_S MODE_LOG=
	ip netns exec "$NS_D" sysctl -qw net.ipv4.ip_forward=1
}
bdp_stop_kernel() { ip netns exec "$NS_D" sysctl -qw net.ipv4.ip_forward=0; }

# The IPv6 baselines: the same forwarders towards the sink's IPv6 address.
bdp_start_kernel6() {
	MODE_DST=$IP6_S MODE_LOG=
	ip netns exec "$NS_D" sysctl -qw net.ipv6.conf.all.forwarding=1
}
bdp_stop_kernel6() { ip netns exec "$NS_D" sysctl -qw net.ipv6.conf.all.forwarding=0; }
bdp_start_xdp6() { bdp_start_xdp && MODE_DST=$IP6_S; }
bdp_stop_xdp6() { bdp_stop_xdp; }
bdp_start_afxdp6() { bdp_start_afxdp && MODE_DST=$IP6_S; }
bdp_stop_afxdp6() { bdp_stop_afxdp; }

bdp_start_xdp() {
	MODE_DST=$IP_S MODE_LOG=
	ip netns exec "$NS_D" "$BUILD/bench/sinkctl" redirect "$IF_D0" "$IF_D1" "$MAC_S" >/dev/null ||
		{ MODE_WHY="xdp_fwd.bpf.o could not be attached to $IF_D0"; return 1; }
}
bdp_stop_xdp() { ip netns exec "$NS_D" "$BUILD/bench/sinkctl" detach "$IF_D0" || true; }

bdp_start_afxdp() {
	MODE_DST=$IP_S MODE_LOG=$BUILD/bench/xsk_fwd.log
	bdp_bg "$NS_D" "$MODE_LOG" taskset -c "$DIR_CPU" "${XSK_FWD_BIN:-$BUILD/bench/xsk_fwd}" \
		-i "$IF_D0" -i "$IF_D1" --dmac-B "$MAC_S" -s ${XSK_FWD_ARGS:-}
	MODE_PID=$BG_PID
	bdp_wait 10 grep -q workers "$MODE_LOG" ||
		{ MODE_WHY="xsk_fwd did not start: $(tail -n 1 "$MODE_LOG")"; return 1; }
}
bdp_stop_afxdp() { bdp_kill "$MODE_PID"; }

# bdp_fp_known: does xlbd have the fast path (issue 11), by its --help?
# Without it, the -fp modes are reported "n/a" and the others run as
# before (today's xlbd is the fast path off).
bdp_fp_known() {
	if [ -z "${BDP_FP:-}" ]; then
		BDP_FP=no
		"${XLBD_BIN:-$BUILD/xlbd}" --help 2>&1 | grep -q -- '--fast-path' && BDP_FP=yes
	fi
	[ "$BDP_FP" = yes ]
}
BDP_FP_NA="n/a (xlbd has no --fast-path)"

# xlbd on both director veths, one UDP and one TCP service on the VIP, the
# sink their only real server, forwarding method dr|nat|tun, and with
# "-fp" (dr-fp ...) the fast path on (--fast-path on), else off. dr6,
# nat6, tun6 (and dr6-fp ...): the same over IPv6 (VIP6, the sink's IPv6
# address; TUN: ip6ip6).
bdp_start_xlb() {
	local name=$1 m=${1%-fp} flag out sock=$BDIR/xlb-$1.sock fp="" vip=$VIP rip=$IP_S
	if bdp_is6 "$m"; then
		m=${m%6} vip="[$VIP6]" rip="[$IP6_S]"
	fi
	case $m in dr) flag=-g ;; nat) flag=-m ;; tun) flag=-i ;; esac
	MODE_DST=$VIP MODE_LOG=$BUILD/bench/xlbd-$name.log MODE_SOCK=$sock
	! bdp_is6 "$name" || MODE_DST=$VIP6
	[ -x "$BUILD/xlbd" ] && [ -x "$BUILD/xlbctl" ] ||
		{ MODE_WHY="xlbd or xlbctl is not built"; return 1; }
	if bdp_fp_known; then
		fp="--fast-path off"
		[ "$name" = "${name%-fp}" ] || fp="--fast-path on --fast-path-entries $BENCH_FP_ENTRIES"
	elif [ "$name" = "${name%-fp}-fp" ]; then
		MODE_WHY=$BDP_FP_NA
		return 1
	fi
	rm -f "$sock"
	# shellcheck disable=SC2086
	bdp_bg "$NS_D" "$MODE_LOG" taskset -c "$DIR_CPU" "${XLBD_BIN:-$BUILD/xlbd}" \
		-i "$IF_D0" -i "$IF_D1" --socket "$sock" $fp ${XLBD_ARGS:-}
	MODE_PID=$BG_PID
	bdp_wait 15 "$BUILD/xlbctl" --socket "$sock" -L -n ||
		{ MODE_WHY="xlbd did not start: $(tail -n 1 "$MODE_LOG")"; return 1; }
	out=$( { "$BUILD/xlbctl" --socket "$sock" -A -u "$vip:9" &&
		"$BUILD/xlbctl" --socket "$sock" -a -u "$vip:9" -r "$rip:9" $flag &&
		"$BUILD/xlbctl" --socket "$sock" -A -t "$vip:80" &&
		"$BUILD/xlbctl" --socket "$sock" -a -t "$vip:80" -r "$rip:80" $flag; } 2>&1) ||
		{ MODE_WHY="xlbctl refused the services: $(printf '%s' "$out" | tail -n 1)"; return 1; }
}
bdp_stop_xlb() {
	[ -n "$MODE_PID" ] || return 0	# never started (no fast path)
	bdp_kill "$MODE_PID"
	# A stopped xlbd leaves its XDP program for the next one: remove it
	# (and the state file) for the modes that follow; an xlbd without
	# --detach (XLBD_BIN of an older build) had detached by itself.
	ip netns exec "$NS_D" "${XLBD_BIN:-$BUILD/xlbd}" --detach -i "$IF_D0" -i "$IF_D1" \
		--socket "$BDIR/xlb-${1#xlb-}.sock" >/dev/null 2>&1 || true
	# What xlbd said about its datapath as it exited, for the report.
	local key
	key=$(bdp_key "$1")
	grep -E 'datapath|xdp:' "$MODE_LOG" | tail -n 2 | sed "s/^/$key: /" >"$BDIR/xlbd-notes-$key"
}

bdp_start() {
	MODE_WHY="" MODE_PID="" MODE_SOCK=""
	case $1 in
	xlb-*) bdp_start_xlb "${1#xlb-}" ;;
	*) "bdp_start_$1" ;;
	esac || return 1
	bdp_pin_napi "$1"
}
bdp_stop() {
	case $1 in
	xlb-*) bdp_stop_xlb "$1" ;;
	*) "bdp_stop_$1" ;;
	esac
}

BENCH_MODES=${BENCH_MODES:-"kernel xdp afxdp xlb-dr xlb-dr-fp xlb-nat xlb-nat-fp xlb-tun xlb-tun-fp"}
# IPv6 (issue 14): the same forwarders over IPv6, in the same rounds as the
# IPv4 modes (1 queue only), reported in tables of their own.
BENCH_MODES6=${BENCH_MODES6-"kernel6 xdp6 afxdp6 xlb-dr6 xlb-dr6-fp xlb-nat6 xlb-nat6-fp xlb-tun6 xlb-tun6-fp"}
# More queues: which chains (queue counts besides 1), and what runs on them.
BENCH_QUEUES=${BENCH_QUEUES:-"1 2"}
BENCH_MODES_MQ=${BENCH_MODES_MQ:-"kernel afxdp xlb-dr"}
BENCH_MIXES_MQ=${BENCH_MIXES_MQ:-"udp:1000"}

# bdp_key MODE: the results' name of MODE on the current chain.
bdp_key() { if [ "$QUEUES" -le 1 ]; then echo "$1"; else echo "$1@${QUEUES}q"; fi; }

# bdp_datapath_all: a half-second probe per mode and chain (a mode that
# delivers nothing gets one "not measured" row instead of rows of zeros),
# then BENCH_RUNS rounds, each round every mode of every chain once with
# every mix once: interleaved, so that a burst of other load on the machine
# hits all modes (and the 1- and N-queue runs) alike instead of one. Raw
# runs in $BDIR/raw, aggregates in $BDIR/results.
bdp_datapath_all() {
	local m q live="" r mix mixes modes traffic flows port res key fpexec
	cat /proc/loadavg >"$BDIR/loadavg"
	: >"$BDIR/results"
	: >"$BDIR/raw"
	: >"$BDIR/fpcnt"
	: >"$BDIR/estab"
	for q in $BENCH_QUEUES; do
		[ -f "$BDIR/chain-$q" ] || continue
		bdp_use_chain "$q"
		modes="$BENCH_MODES $BENCH_MODES6"
		[ "$q" -le 1 ] || modes=$BENCH_MODES_MQ
		for m in $modes; do
			key=$(bdp_key "$m")
			bdp_log "probing $key"
			if ! bdp_start "$m"; then
				bdp_note "$key" "$MODE_WHY"
				bdp_stop "$m"
				continue
			fi
			res=$(bdp_run "$m" "$MODE_DST" 9 udp 1 0.5 0.2) || res="0 0 0 0 0"
			bdp_stop "$m"
			if [ "$(echo "$res" | cut -d' ' -f4)" -eq 0 ]; then
				bdp_note "$key" "nothing reached the sink in a 0.5 s probe${MODE_LOG:+ (log: $MODE_LOG)}"
				continue
			fi
			live="$live $q:$m"
		done
	done
	BDP_LIVE=$live
	for r in $(seq 1 "$BENCH_RUNS"); do
		for q in $BENCH_QUEUES; do
			[ -f "$BDIR/chain-$q" ] || continue
			bdp_use_chain "$q"
			for m in $live; do
				[ "${m%%:*}" = "$q" ] || continue
				m=${m#*:}
				mixes=$(bdp_mixes "$m" "$q")
				key=$(bdp_key "$m")
				bdp_log "round $r/$BENCH_RUNS: $key"
				if ! bdp_start "$m"; then
					bdp_log "$key did not start in round $r: $MODE_WHY"
					bdp_stop "$m"
					continue
				fi
				for mix in $mixes; do
					traffic=${mix%%:*} flows=${mix#*:} port=9
					[ "$traffic" = udp ] || port=80
					# The fast path's counters over the measured
					# window (pktgen runs the snapshots).
					fpexec=()
					case $m in xlb-*-fp)
						# SYN: all slow path (see bdp_pin_napi).
						if [ "$traffic" = syn ]; then
							bdp_nice_napi "$BENCH_NAPI_NICE"
						else
							bdp_nice_napi "$BENCH_NAPI_NICE_FP"
						fi
						: >"$BDIR/fpc0"; : >"$BDIR/fpc1"
						fpexec=(--exec-start "$(bdp_fp_counters_cmd "$MODE_SOCK" "$BDIR/fpc0")"
							--exec-end "$(bdp_fp_counters_cmd "$MODE_SOCK" "$BDIR/fpc1")") ;;
					esac
					res=$(bdp_run "$m" "$MODE_DST" "$port" "$traffic" "$flows" \
						"$BENCH_SECS" "$BENCH_WARMUP" "${fpexec[@]}") &&
						echo "$key $traffic $flows $res" >>"$BDIR/raw"
					[ "${#fpexec[@]}" -eq 0 ] ||
						bdp_fp_delta "$key $traffic $flows $r" "$BDIR/fpc0" "$BDIR/fpc1" >>"$BDIR/fpcnt"
					[ "$traffic" != ack ] || [ "$r" -ne "$BENCH_RUNS" ] || [ -z "$MODE_SOCK" ] ||
						echo "$key $flows $(bdp_established "$MODE_SOCK" "$m")" >>"$BDIR/estab"
				done
				bdp_stop "$m"
			done
		done
	done
	for m in $live; do
		q=${m%%:*} m=${m#*:}
		QUEUES=$q
		key=$(bdp_key "$m")
		mixes=$(bdp_mixes "$m" "$q")
		for mix in $mixes; do
			traffic=${mix%%:*} flows=${mix#*:}
			res=$(awk -v k="$key $traffic $flows" '$1 " " $2 " " $3 == k' "$BDIR/raw")
			if [ "$(printf '%s' "$res" | grep -c .)" -lt "$BENCH_RUNS" ]; then
				echo "$key $traffic $flows FAILED" >>"$BDIR/results"
				continue
			fi
			# Fields: key traffic flows, received median min max,
			# attempted median, wrong-MAC frames, CPU idle median, and
			# the runs that were generator-bound (received >= 95 % of
			# what the generator attempted in that same run: the
			# forwarder kept up, the figure is the generator's).
			echo "$key $traffic $flows" \
				"$(bdp_stats $(printf '%s\n' "$res" | awk '{print $4}'))" \
				"$(bdp_stats $(printf '%s\n' "$res" | awk '{print $5}') | cut -d' ' -f1)" \
				"$(printf '%s\n' "$res" | awk '{s += $6} END {print s + 0}')" \
				"$(bdp_stats $(printf '%s\n' "$res" | awk '{print $8}') | cut -d' ' -f1)" \
				"$(printf '%s\n' "$res" | awk '$4 >= 0.95 * $5 { n++ } END { print n + 0 }')" \
				>>"$BDIR/results"
		done
	done
	[ ! -f "$BDIR/chain-1" ] || bdp_use_chain 1
	cat "$BDIR"/xlbd-notes-* >"$BDIR/xlbd-notes" 2>/dev/null || true
}

# bdp_report: the tables, one per mode, ratios against the baselines of the
# same run and the same traffic mix.
bdp_report() {
	echo "- generator: build/bench/pktgen (gen.bpf.o, bpf_prog_test_run live frames, XDP_TX) on CPU $GEN_CPU"
	echo "- director: CPU $DIR_CPU (its veth's NAPI thread and any forwarding process); sink: XDP_DROP + per-CPU count"
	echo "- NAPI thread at nice $BENCH_NAPI_NICE in the AF_XDP modes (afxdp, xlb-* with the fast path off), where it shares the CPU with the worker;"
	echo "  nice $BENCH_NAPI_NICE_FP with the fast path on (xlb-*-fp: established flows are forwarded in it) except for the all-new SYN mix (all slow path: nice $BENCH_NAPI_NICE, as with the fast path off); nice 0 otherwise (see bdp_pin_napi)"
	echo "- AF_XDP modes: copy mode (veth has no zero-copy); xsk_fwd and xlbd both on lb/xsk.c"
	local load
	load=$(cut -d' ' -f1 "$BDIR/loadavg" 2>/dev/null || echo 0)
	echo "- load average before the datapath runs: $load"
	if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
		echo "- warning: other processes shared the CPUs, so absolute numbers are low and noisy;"
		echo "  the ratios (same run, interleaved rounds) hold better"
	fi
	echo "- each figure: median of $BENCH_RUNS runs of ${BENCH_SECS} s (min-max), after ${BENCH_WARMUP} s warm-up; Mpps delivered to the sink"
	echo "- attempted: the frames the generator tried to transmit (XDP_TX repetitions), median of the runs; the veth may drop some before the director sees them"
	echo "- generator-bound: a run whose sink received >= 95 % of what the generator attempted in that run (the forwarder kept up: the figure is the generator's, not the forwarder's); flagged per run, \"generator-bound in K of N runs\""
	echo
	awk -v modes="$BENCH_MODES" -v runs="$BENCH_RUNS" -v mq="$BENCH_QUEUES" -v mixes="$BENCH_MIXES" -v fpe="$BENCH_FP_ENTRIES" \
		-v nfp="$BENCH_NAPI_NICE_FP" -v noff="$BENCH_NAPI_NICE" '
	function label(m) {
		if (m ~ /^xlb-.*-fp$/) return substr(m, 1, length(m) - 3) " fast path on"
		if (m ~ /^xlb-/) return m " fast path off"
		return m
	}
	function mixname(t, f) {
		if (t == "syn") return (f == "new") ? "TCP SYN, all new" : "TCP SYN, " f " flows"
		if (t == "ack") return "TCP ACK, " f " established"
		return "UDP " f ((f == 1) ? " flow" : " flows")
	}
	# tline WHAT A B MIN BNAME MODE: "PASS|MISS WHAT >= MIN x BNAME: ratio".
	function tline(what, a, b, min, bname, m,   r, s) {
		s = what " >= " sprintf("%.1f", min) " x " bname
		if (!(a in med) || !(b in med) || med[b] <= 0) {
			printf "n/a   %s: %s\n", s, (m in note) ? note[m] : "not measured"
			return
		}
		r = med[a] / med[b]
		printf "%s  %s: %.2f (%.3f / %.3f Mpps)%s%s\n", (r >= min) ? "PASS" : "MISS", s, r,
			med[a] / 1e6, med[b] / 1e6,
			(lo[a] <= hi[b] && lo[b] <= hi[a]) ? " (ranges overlap)" : "",
			(gb[a] > 0 || gb[b] > 0) ? sprintf(" (generator-bound runs: %d and %d of %d)", gb[a], gb[b], runs) : ""
	}
	function title(m) {
		if (m == "kernel") return "kernel IPv4 forwarding (ip_forward=1): baseline (b)"
		if (m == "xdp") return "in-kernel XDP redirect (xdp_fwd.bpf.o: MAC rewrite + bpf_redirect): baseline (c)"
		if (m == "afxdp") return "bare AF_XDP forwarding (build/bench/xsk_fwd on lb/xsk.c, copy mode, DMAC rewrite): baseline (d), the floor"
		if (m == "xlb-dr") return "xlb DR (xlbd, -g), fast path off"
		if (m == "xlb-nat") return "xlb NAT (xlbd, -m), fast path off"
		if (m == "xlb-tun") return "xlb TUN (xlbd, -i, IPIP to the sink), fast path off"
		if (m ~ /-fp$/) {
			t = title(substr(m, 1, length(m) - 3)); sub(/off$/, "on", t)
			return t " (--fast-path-entries " fpe ")"
		}
		return m
	}
	function tname(t) {
		if (t == "udp") return "UDP"
		if (t == "syn") return "TCP SYN"
		if (t == "ack") return "TCP ACK (established)"
		return t
	}
	function ratio(a, b) { return (b > 0) ? sprintf("%.2f", a / b) : "-" }
	function target(what, a, b, min,   r, why) {
		if (!(a in med) || !(b in med) || med[b] <= 0) {
			printf "| %s >= %.1f | not measured | - |\n", what, min
			return
		}
		r = med[a] / med[b]
		why = ""
		if (gb[a] > 0 || gb[b] > 0)
			why = sprintf(" (generator-bound runs: %d of %d and %d of %d)", gb[a], runs, gb[b], runs)
		printf "| %s >= %.1f | %.2f | %s%s |\n", what, min, r, (r >= min) ? "yes" : "no", why
	}
	{ line[NR] = $0; n = NR }
	END {
		for (i = 1; i <= n; i++) {
			split(line[i], f, " ")
			if (f[4] != "NOTE" && f[4] != "FAILED") {
				med[f[1] " " f[2] " " f[3]] = f[4]
				lo[f[1] " " f[2] " " f[3]] = f[5]
				hi[f[1] " " f[2] " " f[3]] = f[6]
				gb[f[1] " " f[2] " " f[3]] = f[10] + 0
			} else if (f[4] == "NOTE") {
				t = line[i]; sub(/^[^ ]+ [^ ]+ [^ ]+ NOTE /, "", t)
				note[f[1]] = t
			}
		}
		nm = split(modes, ml, " ")
		nx = split(mixes, xl, " ")
		# Every mode and mix, Mpps; the fast path also as ratios.
		print "### Summary: Mpps delivered, 1 queue (same run, same generator)"
		print ""
		print "Fast path rows also: x kernel fwd, x XDP redirect (the same mix in the same run)."
		print ""
		hdr = "| mode |"; sep = "|---|"
		for (x = 1; x <= nx; x++) {
			split(xl[x], mf, ":")
			hdr = hdr " " mixname(mf[1], mf[2]) " |"; sep = sep "---|"
		}
		print hdr; print sep
		for (j = 1; j <= nm; j++) {
			m = ml[j]
			row = "| " label(m) " |"
			for (x = 1; x <= nx; x++) {
				split(xl[x], mf, ":")
				k = m " " mf[1] " " mf[2]
				if (!(k in med)) {
					row = row " " ((m in note) ? note[m] : "not measured") " |"
					continue
				}
				cell = sprintf("%.3f", med[k] / 1e6)
				if (m ~ /-fp$/)
					cell = cell sprintf(" (%s x kernel, %s x XDP)",
						ratio(med[k], med["kernel " mf[1] " " mf[2]]), ratio(med[k], med["xdp " mf[1] " " mf[2]]))
				row = row " " cell " |"
			}
			print row
		}
		print ""
		# The targets of issue 11 (the fast path), in this run.
		print "### Targets (issue 11, fast path on), this run"
		print ""
		print "PASS / MISS against the baselines of the same run; never fails the run. Figures are medians;"
		print "\"(ranges overlap)\": the min-max ranges of the two figures overlap: the difference is within the noise of this run."
		print ""
		print "```"
		split("dr nat tun", fm, " ")
		for (j = 1; j <= 3; j++) {
			u = toupper(fm[j]); fpm = "xlb-" fm[j] "-fp"; o = "xlb-" fm[j]
			tline("xlb " u " fast path, UDP 1000 flows", fpm " udp 1000", "kernel udp 1000", 2.0, "kernel fwd", fpm)
			tline("xlb " u " fast path, UDP 1000 flows", fpm " udp 1000", "xdp udp 1000", 0.8, "XDP redirect", fpm)
			tline("xlb " u " fast path, TCP ACK established", fpm " ack 1000", "kernel ack 1000", 2.0, "kernel fwd", fpm)
			tline("xlb " u " fast path, TCP ACK established", fpm " ack 1000", "xdp ack 1000", 0.8, "XDP redirect", fpm)
			tline("xlb " u " fast path, UDP 100000 flows", fpm " udp 100000", fpm " udp 1000", 0.8, "its UDP 1000 flows", fpm)
			tline("xlb " u " fast path, TCP SYN all new", fpm " syn new", o " syn new", 1.0,
			      sprintf("fast path off (both with NAPI nice %s: all slow path)", noff), fpm)
		}
		print "```"
		print ""
		# The ratios of issue 7 (the userspace path, fast path off).
		print "### Targets (issue 7, fast path off), this run"
		print ""
		print "| target | measured | holds |"
		print "|---|---|---|"
		target("xlb DR / AF_XDP floor, UDP 1000 flows", "xlb-dr udp 1000", "afxdp udp 1000", 0.9)
		target("xlb NAT / AF_XDP floor, UDP 1000 flows", "xlb-nat udp 1000", "afxdp udp 1000", 0.8)
		target("xlb TUN / AF_XDP floor, UDP 1000 flows", "xlb-tun udp 1000", "afxdp udp 1000", 0.8)
		target("xlb DR all-new SYN / DR established ACK", "xlb-dr syn new", "xlb-dr ack 1000", 0.5)
		target("xlb DR UDP 100000 flows / 1000 flows", "xlb-dr udp 100000", "xlb-dr udp 1000", 0.8)
		nq = split(mq, ql, " ")
		for (j = 1; j <= nq; j++)
			if (ql[j] > 1)
				target(sprintf("xlb DR %d queues / 1 queue, UDP 1000 flows", ql[j]),
				       sprintf("xlb-dr@%dq udp 1000", ql[j]), "xlb-dr udp 1000", 1.3)
		print ""
		for (j = 1; j <= nm; j++) {
			m = ml[j]
			print "#### " title(m)
			print ""
			print "| mode | flows | traffic | Mpps median (min-max) | attempted by the generator, Mpps | vs kernel fwd | vs XDP redirect | vs AF_XDP floor |"
			print "|---|---|---|---|---|---|---|---|"
			rows = 0
			for (i = 1; i <= n; i++) {
				split(line[i], f, " ")
				if (f[1] != m) continue
				rows++
				if (f[4] == "NOTE") {
					t = line[i]; sub(/^[^ ]+ [^ ]+ [^ ]+ NOTE /, "", t)
					printf "| %s | - | - | not measured: %s | - | - | - | - |\n", m, t
					continue
				}
				fl = (f[3] == "new") ? "all new" : f[3]
				if (f[4] == "FAILED") {
					printf "| %s | %s | %s | not measured: fewer than %d runs succeeded (see stderr) | - | - | - | - |\n", m, fl, tname(f[2]), runs
					continue
				}
				k = f[2] " " f[3]
				cell = sprintf("%.3f (%.3f-%.3f)", f[4] / 1e6, f[5] / 1e6, f[6] / 1e6)
				if (f[10] > 0) cell = cell sprintf(" generator-bound in %d of %d runs", f[10], runs)
				if (f[8] > 0) cell = cell sprintf(" [%d frames with a wrong MAC]", f[8])
				printf "| %s | %s | %s | %s | %.3f | %s | %s | %s |\n", m, fl, tname(f[2]), cell, f[7] / 1e6,
					ratio(f[4], med["kernel " k]), ratio(f[4], med["xdp " k]), ratio(f[4], med["afxdp " k])
			}
			if (!rows) print "| " m " | - | - | not measured | - | - | - | - |"
			print ""
		}
	}' "$BDIR/results"
	bdp_report_mq
	bdp_report_fp_use
	if [ -s "$BDIR/xlbd-notes" ]; then
		echo "xlbd's own counters as it exited:"
		sed 's/^/  /' "$BDIR/xlbd-notes"
		echo
	fi
}

# bdp_report_fp_use: what xlbd's fast-path counters said over each run of
# the fast path modes (the last round): evidence that the "fast path on"
# figures were forwarded by it, not by the slow path.
bdp_report_fp_use() {
	if [ -s "$BDIR/estab" ]; then
		echo "#### Established ACK: the handshake phase (SYN, then ACK, each flow, paced at $BENCH_PRIME_PPS frames/s)"
		echo
		echo "Connections of the mix that xlbd listed as ESTABLISHED after its last round's run (xlbctl -L -n -c):"
		echo
		awk '{ printf "- %s: %s of %s\n", $1, $3, $2 }' "$BDIR/estab"
		echo
	fi
	[ -s "$BDIR/fpcnt" ] || return 0
	echo "#### Fast path use (xlbctl --counters over the measured window of each run of the last round)"
	echo
	echo "| mode | traffic | flows | counters |"
	echo "|---|---|---|---|"
	awk '{ k = $1 " " $2 " " $3; if (!(k in last) || $4 >= rnd[k]) { rnd[k] = $4; t = $0
		sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /, "", t); last[k] = t; if (!(k in seen)) { seen[k] = 1; ord[++n] = k } } }
		END { for (i = 1; i <= n; i++) { split(ord[i], f, " "); printf "| %s | %s | %s | %s |\n", f[1], f[2], f[3], last[ord[i]] } }' "$BDIR/fpcnt"
	echo
}

# ---- The XDP path's cost per packet (after the packet-rate rounds).
#
# For the modes that run an XDP program on the director's ingress veth,
# short runs with the kernel's BPF run-time statistics on (pktgen
# --prog-stats, BPF_ENABLE_STATS held by pktgen only): the program's own
# run_time_ns / run_cnt, i.e. the lookup and the rewrite of the fast path
# (or, fast path off, the steering to AF_XDP), without the redirect and the
# veth transmit the kernel does after it. Kept out of the measured rounds:
# the statistics add two clock reads to every run of every program. The
# VM has no PMU (perf: cycles and instructions "not supported"), so cycles
# are that time at the CPU's nominal clock, not counted.
BENCH_COST_MODES=${BENCH_COST_MODES:-"xdp xlb-dr xlb-dr-fp xlb-nat xlb-nat-fp xlb-tun xlb-tun-fp"}
BENCH_COST_MIXES=${BENCH_COST_MIXES:-"udp:1000 ack:1000"}
# The IPv6 modes measured so, with the IPv6 mixes (BENCH_MIXES6's default).
BENCH_COST_MODES6=${BENCH_COST_MODES6-"xdp6 xlb-dr6 xlb-dr6-fp xlb-nat6 xlb-nat6-fp xlb-tun6 xlb-tun6-fp"}
BENCH_COST_MIXES6=${BENCH_COST_MIXES6:-"udp:1000 ack:1000"}
BENCH_COST_SECS=${BENCH_COST_SECS:-0.5}

# bdp_xdp_prog_id: the ID of the XDP program on the director's ingress veth.
bdp_xdp_prog_id() {
	ip -n "$NS_D" -d link show dev "$IF_D0" 2>/dev/null |
		sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -n 1
}

bdp_cost_all() {
	local m mix mixes traffic flows port id res
	: >"$BDIR/cost"
	for m in $BENCH_COST_MODES $BENCH_COST_MODES6; do
		case " ${BDP_LIVE:-} " in *" 1:$m "*) ;; *) continue ;; esac
		mixes=$BENCH_COST_MIXES
		! bdp_is6 "$m" || mixes=$BENCH_COST_MIXES6
		bdp_log "XDP cost per packet: $m"
		if ! bdp_start "$m"; then
			bdp_stop "$m"
			continue
		fi
		id=$(bdp_xdp_prog_id)
		for mix in $mixes; do
			[ -n "$id" ] || break
			traffic=${mix%%:*} flows=${mix#*:} port=9
			[ "$traffic" = udp ] || port=80
			res=$(BDP_RUN_ARGS="--prog-stats $id" bdp_run "$m" "$MODE_DST" "$port" "$traffic" "$flows" \
				"$BENCH_COST_SECS" 0.2) && echo "$m $traffic $flows $res" >>"$BDIR/cost"
		done
		bdp_stop "$m"
	done
}

bdp_cost_report() {
	[ -s "$BDIR/cost" ] || return 0
	local mhz
	mhz=$(awk -F: '/^cpu MHz/ { printf "%d", $2; exit }' /proc/cpuinfo)
	echo "#### The XDP path's cost per packet (kernel BPF statistics: run_time_ns / run_cnt of the director's XDP program, ${BENCH_COST_SECS} s runs)"
	echo
	echo "- program only: its lookup and rewrite (fast path) or its steering to AF_XDP (fast path off);"
	echo "  the redirect, the veth transmit and xlbd's userspace work come after it and are not in it"
	echo "- cycles: the time at the CPU's ${mhz:-?} MHz (this VM has no PMU: perf cannot count cycles or instructions)"
	echo "- whole path: the director's CPU time per delivered packet in the measured rounds, 1 / Mpps (its CPU is"
	echo "  saturated unless generator-bound), everything on the director included"
	echo "- for comparison, Katran's published figure: about 100 ns per packet"
	echo
	echo "| mode | traffic | flows | XDP program ns/packet | ~cycles/packet | program runs per delivered packet | whole path ns/packet (rounds) |"
	echo "|---|---|---|---|---|---|---|"
	awk -v mhz="${mhz:-0}" 'NR == FNR { if ($4 != "NOTE" && $4 != "FAILED") med[$1 " " $2 " " $3] = $4; next }
		{ runs = $9; ns = $10; rx = $7; k = $1 " " $2 " " $3
		  per = (runs > 0) ? ns / runs : 0
		  printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3,
			(runs > 0) ? sprintf("%.1f", per) : "-",
			(runs > 0 && mhz > 0) ? sprintf("%.0f", per * mhz / 1000) : "-",
			(rx > 0) ? sprintf("%.2f", runs / rx) : "-",
			(med[k] > 0) ? sprintf("%.0f", 1e9 / med[k]) : "-" }' "$BDIR/results" "$BDIR/cost"
	echo
}

# bdp_report_mq: N queues against 1 queue, same run, same mixes.
bdp_report_mq() {
	local q any=""
	for q in $BENCH_QUEUES; do [ "$q" -gt 1 ] && [ -f "$BDIR/chain-$q" ] && any=1; done
	[ -n "$any" ] || return 0
	for q in $BENCH_QUEUES; do
		[ "$q" -gt 1 ] && [ -f "$BDIR/chain-$q" ] || continue
		(
		bdp_use_chain "$q"
		echo "#### $q queues against 1 queue (same run, interleaved rounds)"; echo
		echo "- $q queues: veths with $q RX/TX queues; generator threads on CPUs $GEN_CPU (one per queue: a veth"
		echo "  receives what CPU c sends on queue c % $q); the director's worker q on CPU q, NAPI threads unpinned"
		echo "  (nice $BENCH_NAPI_NICE in the AF_XDP modes, $BENCH_NAPI_NICE_FP with the fast path on, as with 1 queue)."
		echo "- CPU idle: the share of all $(nproc) CPUs left idle during the runs (median)."
		echo
		echo "| mode | flows | traffic | 1 queue Mpps | $q queues Mpps median (min-max) | $q q / 1 q | attempted by the generator, Mpps ($q q) | CPU idle 1 q / $q q | limited by |"
		echo "|---|---|---|---|---|---|---|---|---|"
		awk -v q="$q" -v modes="$BENCH_MODES_MQ" -v runs="$BENCH_RUNS" '
		function tname(t) {
			if (t == "udp") return "UDP"
			if (t == "syn") return "TCP SYN"
			if (t == "ack") return "TCP ACK (established)"
			return t
		}
		{ line[NR] = $0; n = NR }
		END {
			sfx = "@" q "q"
			for (i = 1; i <= n; i++) {
				split(line[i], f, " ")
				if (f[4] != "NOTE" && f[4] != "FAILED") {
					med[f[1] " " f[2] " " f[3]] = f[4]
					idle[f[1] " " f[2] " " f[3]] = f[9]
				}
			}
			nm = split(modes, ml, " ")
			# How far the bare AF_XDP floor scaled on the same CPUs: a
			# mode that scaled less was not held back by the box alone.
			fk = "afxdp" sfx " udp 1000"
			floor = 0
			if ((fk in med) && ("afxdp udp 1000" in med) && med["afxdp udp 1000"] > 0)
				floor = med[fk] / med["afxdp udp 1000"]
			for (j = 1; j <= nm; j++) {
				m = ml[j]
				rows = 0
				for (i = 1; i <= n; i++) {
					split(line[i], f, " ")
					if (f[1] != m sfx) continue
					rows++
					if (f[4] == "NOTE" || f[4] == "FAILED") {
						t = line[i]; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", t)
						printf "| %s | - | - | - | not measured: %s | - | - | - | - |\n", m, t
						continue
					}
					k1 = m " " f[2] " " f[3]
					one = (k1 in med) ? sprintf("%.3f", med[k1] / 1e6) : "-"
					ratio = (k1 in med && med[k1] > 0) ? sprintf("%.2f", f[4] / med[k1]) : "-"
					if (f[10] > 0)
						lim = sprintf("the generator in %d of %d runs (received >= 95 %% of attempted)", f[10], runs)
					else if (f[9] <= 10)
						lim = "the CPUs: all busy, shared by generator and director"
					else
						lim = "the director (CPUs left idle)"
					if (m != "afxdp" && m != "kernel" && f[2] == "udp" && f[3] == 1000 && floor > 0 && (k1 in med) && med[k1] > 0 && floor > 1.05 * f[4] / med[k1])
						lim = lim sprintf("; not the box alone: the AF_XDP floor scaled %.2fx on the same CPUs", floor)
					printf "| %s | %s | %s | %s | %.3f (%.3f-%.3f) | %s | %.3f | %s%% / %s%% | %s |\n",
						m, f[3], tname(f[2]), one, f[4] / 1e6, f[5] / 1e6, f[6] / 1e6, ratio,
						f[7] / 1e6, (k1 in idle) ? idle[k1] : "-", f[9], lim
				}
				if (!rows) printf "| %s | - | - | - | not measured | - | - | - | - |\n", m
			}
		}' "$BDIR/results"
		echo
		)
	done
}

# ---- TCP throughput (iperf3), after the packet-rate part on the same chain.
#
# A real TCP connection from the generator namespace to an iperf3 server in
# the sink namespace, so the sink's counting program comes off and the
# endpoints' checksums are computed in software (AF_XDP copies bytes as they
# are; an offloaded checksum would arrive unfinished). The ACKs cross the
# director too (the sink sits behind it), and each mode is compared with the
# baseline whose packets take the same paths:
#   kernel   both directions through the director's kernel forwarding;
#   xdp      data through the XDP redirect, ACKs through kernel forwarding;
#   xlb-dr   data through xlbd (DR), ACKs through kernel forwarding, as in
#            a DR setup whose replies bypass the balancer: like xdp;
#   afxdp    both directions through xsk_fwd (it takes every frame of both
#            interfaces: it cannot leave the ACKs to the kernel);
#   xlb-nat  both directions through xlbd (NAT translates the ACKs back):
#            like afxdp.
#   xlb-tun  data through xlbd (IPIP), ACKs through kernel forwarding; the
#            sink decapsulates with xlb_decap.bpf.o (no ipip device here)
#            and its kernel learns a 20-byte smaller path MTU from xlbd's
#            "fragmentation needed": like xdp, with smaller segments.
#   xlb-M-fp the same with the fast path on: after the handshake, the
#            data (and NAT's ACKs) are rewritten and redirected in XDP.
BENCH_TCP_MODES=${BENCH_TCP_MODES:-"kernel xdp afxdp xlb-dr xlb-dr-fp xlb-nat xlb-nat-fp xlb-tun xlb-tun-fp"}
# IPv6 (iperf3 -6 to the IPv6 VIP or the sink's IPv6 address), the same
# paths; TUN6: ip6ip6, decapsulated by xlb_decap.bpf.o on the sink; the
# client's path MTU drops by 40 bytes on xlbd's Packet Too Big.
BENCH_TCP_MODES6=${BENCH_TCP_MODES6-"kernel6 xdp6 afxdp6 xlb-dr6 xlb-dr6-fp xlb-nat6 xlb-nat6-fp xlb-tun6 xlb-tun6-fp"}
BENCH_TCP_SECS=${BENCH_TCP_SECS:-2}

bdp_tcp_setup() {
	local k
	ip netns exec "$NS_S" "$BUILD/bench/sinkctl" detach "$IF_S" || return 1
	# NAPI on the sink's veth without XDP, for XDP-redirected frames.
	ip netns exec "$NS_S" ethtool -K "$IF_S" gro on >/dev/null 2>&1 || true
	ip netns exec "$NS_G" ethtool -K "$IF_G" tx off >/dev/null 2>&1 || true
	ip netns exec "$NS_S" ethtool -K "$IF_S" tx off >/dev/null 2>&1 || true
	ip -n "$NS_G" route add "10.$BX.2.0/24" via "$IP_D0"
	ip -n "$NS_G" neigh replace "$IP_D0" lladdr "$MAC_D0" dev "$IF_G" nud permanent
	ip -n "$NS_G" neigh replace "$VIP" lladdr "$MAC_D0" dev "$IF_G" nud permanent
	# DR: replies from the VIP cross the director's kernel, which would drop
	# them as martians while the VIP is one of its own addresses (xlb needs
	# no local VIP: the gen side has a static neighbour for it).
	ip -n "$NS_D" addr del "$VIP/32" dev "$IF_D0"
	# DR: the sink holds the VIP on lo and neither answers nor announces it.
	ip -n "$NS_S" addr add "$VIP/32" dev lo
	for k in all "$IF_S"; do
		ip netns exec "$NS_S" sysctl -qw "net.ipv4.conf.$k.arp_ignore=1"
		ip netns exec "$NS_S" sysctl -qw "net.ipv4.conf.$k.arp_announce=2"
	done
	for k in all default lo "$IF_S"; do
		ip netns exec "$NS_S" sysctl -qw "net.ipv4.conf.$k.rp_filter=0"
	done
	# IPv6 likewise (no ARP knobs: every neighbour here is permanent, so
	# nobody solicits the VIP on the sink).
	ip -n "$NS_G" -6 route add "fd00:$BX:2::/64" via "$IP6_D0" &&
	ip -n "$NS_G" -6 neigh replace "$IP6_D0" lladdr "$MAC_D0" dev "$IF_G" nud permanent &&
	ip -n "$NS_G" -6 neigh replace "$VIP6" lladdr "$MAC_D0" dev "$IF_G" nud permanent &&
	ip -n "$NS_D" -6 addr del "$VIP6/128" dev "$IF_D0" &&
	ip -n "$NS_S" -6 addr add "$VIP6/128" dev lo nodad ||
		bdp_log "the IPv6 TCP setup failed: the IPv6 rows will show it"
	bdp_bg "$NS_S" "$BDIR/iperf3-s.log" taskset -c "$GEN_CPU" iperf3 -s
	bdp_wait 5 ip netns exec "$NS_S" sh -c "ss -Htln | grep -q ':5201 '"
}

# bdp_tcp_run DST: one iperf3 run; prints the receiver's Mbit/s.
bdp_tcp_run() {
	local out v
	out=$(ip netns exec "$NS_G" timeout $((BENCH_TCP_SECS + 10)) taskset -c "$GEN_CPU" \
		iperf3 -c "$1" -t "$BENCH_TCP_SECS" -f m --connect-timeout 3000 2>&1)
	v=$(printf '%s\n' "$out" |
		awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") print $i }')
	[ -n "$v" ] || bdp_log "iperf3 to $1 gave no result: $(printf '%s\n' "$out" | tail -n 1)"
	echo "$v"
}

bdp_tcp_all() {
	local m r v vals
	: >"$BDIR/tcp"
	if ! command -v iperf3 >/dev/null; then
		echo "tcp - NOTE iperf3 is not installed" >>"$BDIR/tcp"
		return
	fi
	bdp_tcp_setup || { echo "tcp - NOTE the TCP setup failed" >>"$BDIR/tcp"; return; }
	: >"$BDIR/tcp6"
	: >"$BDIR/tcpfp"
	for m in $BENCH_TCP_MODES $BENCH_TCP_MODES6; do
		case " $BENCH_MODES $BENCH_MODES6 " in *" $m "*) ;; *) continue ;; esac
		# The IPv6 rows go to a table of their own.
		local out=$BDIR/tcp fwd=net.ipv4.ip_forward svc=$VIP rsv=$IP_S
		if bdp_is6 "$m"; then
			out=$BDIR/tcp6 fwd=net.ipv6.conf.all.forwarding svc="[$VIP6]" rsv="[$IP6_S]"
		fi
		case " ${BDP_LIVE:-} " in
		*" 1:$m "*) ;;
		*)	# Why the packet-rate part had no figures for it.
			v=$(awk -v k="$m" '$1 == k && $4 == "NOTE" { sub(/^[^ ]+ [^ ]+ [^ ]+ NOTE /, ""); print; exit }' \
				"$BDIR/results" 2>/dev/null)
			echo "$m - NOTE ${v:-it delivered nothing in the packet-rate probe}" >>"$out"
			continue ;;
		esac
		bdp_log "TCP throughput: $m"
		if ! bdp_start "$m"; then
			echo "$m - NOTE $MODE_WHY" >>"$out"
			bdp_stop "$m"
			continue
		fi
		case $m in
		xlb-tun*)
			ip -n "$NS_S" link set dev "$IF_S" xdp obj "$BUILD/xlb_decap.bpf.o" sec xdp ||
				echo "$m - NOTE xlb_decap.bpf.o could not be attached to the sink" >>"$out" ;;
		esac
		case $m in
		afxdp | afxdp6)
			# xsk_fwd as started for the packet rates rewrites towards
			# the sink only; TCP needs both directions.
			bdp_stop "$m"
			bdp_bg "$NS_D" "$MODE_LOG" taskset -c "$DIR_CPU" "$BUILD/bench/xsk_fwd" \
				-i "$IF_D0" -i "$IF_D1" --dmac-A "$MAC_G" --dmac-B "$MAC_S" -s
			MODE_PID=$BG_PID
			bdp_wait 10 grep -q workers "$MODE_LOG"
			bdp_pin_napi "$m" ;;
		kernel | kernel6) ;;
		xlb-nat*) ;;	# xlbd translates both directions: no kernel forwarding
		*)	# Return path (ACKs) through the director's kernel.
			ip netns exec "$NS_D" sysctl -qw "$fwd=1" ;;
		esac
		if [ "${m#xlb-}" != "$m" ]; then
			local flag=-g
			case $m in xlb-nat*) flag=-m ;; xlb-tun*) flag=-i ;; esac
			"$BUILD/xlbctl" --socket "$BDIR/$m.sock" -A -t "$svc:5201" >/dev/null 2>&1 &&
			"$BUILD/xlbctl" --socket "$BDIR/$m.sock" -a -t "$svc:5201" -r "$rsv:5201" $flag \
				>/dev/null 2>&1 || echo "$m - NOTE xlbctl refused the iperf3 service" >>"$out"
		fi
		vals=""
		for r in $(seq 1 "$BENCH_RUNS"); do
			v=$(bdp_tcp_run "$MODE_DST")
			vals="$vals ${v%.*}"
		done
		# The fast path's hits after the runs: taken or not (IPv6).
		case $m in xlb-*-fp)
			eval "$(bdp_fp_counters_cmd "$BDIR/$m.sock" "$BDIR/tcpfpc")"
			awk -v k="$m" '$1 ~ /\/hits$/ { h += $2; n++ } END { if (n) print k, "hits=" h }' \
				"$BDIR/tcpfpc" >>"$BDIR/tcpfp" ;;
		esac
		bdp_stop "$m"
		ip netns exec "$NS_D" sysctl -qw "$fwd=0"
		case $m in xlb-tun*) ip -n "$NS_S" link set dev "$IF_S" xdp off 2>/dev/null ;; esac
		set -- $vals
		if [ "$#" -lt "$BENCH_RUNS" ]; then
			echo "$m - NOTE iperf3 failed (no result in $((BENCH_RUNS - $#)) of $BENCH_RUNS runs)" >>"$out"
		else
			echo "$m $(bdp_stats $vals)" >>"$out"
		fi
	done
}

bdp_tcp_report() {
	echo "#### TCP throughput (iperf3, one connection, ${BENCH_TCP_SECS} s runs, median of $BENCH_RUNS; client and server on CPU $GEN_CPU, director on CPU $DIR_CPU)"
	echo
	echo "Like for like: each mode against the baseline whose data and ACKs take the same paths"
	echo "(xlb DR and TUN against the XDP redirect: data through the forwarder, ACKs through the kernel;"
	echo "xlb NAT, fast path off, against bare AF_XDP: both directions through AF_XDP)."
	echo
	echo "| mode | Gbit/s median (min-max) | vs kernel fwd | vs XDP redirect | data path | ACK path | like for like |"
	echo "|---|---|---|---|---|---|---|"
	awk '
	function fwd(m,   fp) {
		fp = (m ~ /-fp$/) ? ", fast path on" : ((m ~ /^xlb-/) ? ", fast path off" : "")
		sub(/-fp$/, "", m)
		if (m == "kernel") return "kernel forwarding"
		if (m == "xdp") return "XDP redirect"
		if (m == "afxdp") return "xsk_fwd"
		if (m == "xlb-dr") return "xlbd DR" fp
		if (m == "xlb-nat") return "xlbd NAT" fp
		if (m == "xlb-tun") return "xlbd TUN (IPIP, xlb_decap on the sink)" fp
		return m
	}
	function ack(m) {
		if (m == "afxdp") return "xsk_fwd"
		if (m == "xlb-nat") return "xlbd NAT, fast path off"
		if (m == "xlb-nat-fp") return "xlbd NAT, fast path on"
		return "kernel forwarding"
	}
	function peer(m) {
		if (m ~ /^xlb-(dr|tun)/) return "xdp"
		if (m == "xlb-nat") return "afxdp"
		return ""
	}
	function r(a, b) { return (b > 0) ? sprintf("%.2f", a / b) : "-" }
	{ if ($3 != "NOTE") v[$1] = $2; row[++n] = $0 }
	END {
		for (i = 1; i <= n; i++) {
			split(row[i], f, " ")
			if (f[3] == "NOTE") {
				t = row[i]; sub(/^[^ ]+ [^ ]+ NOTE /, "", t)
				printf "| %s | not measured: %s | - | - | - | - | - |\n", f[1], t
				continue
			}
			p = peer(f[1]); like = "-"
			if (p != "" && v[p] > 0) like = sprintf("%.2f x %s", f[2] / v[p], p)
			printf "| %s | %.2f (%.2f-%.2f) | %s | %s | %s | %s | %s |\n", f[1], f[2] / 1000, f[3] / 1000, f[4] / 1000,
				r(f[2], v["kernel"]), r(f[2], v["xdp"]), fwd(f[1]), ack(f[1]), like
		}
		print ""
		print "```"
		s = "iperf3 through xlb DR, fast path on >= 1.0 x kernel fwd"
		if (("xlb-dr-fp" in v) && v["kernel"] > 0)
			printf "%s  %s: %.2f (%.2f / %.2f Gbit/s)\n", (v["xlb-dr-fp"] >= v["kernel"]) ? "PASS" : "MISS", s,
				v["xlb-dr-fp"] / v["kernel"], v["xlb-dr-fp"] / 1000, v["kernel"] / 1000
		else {
			t = "not measured"
			for (i = 1; i <= n; i++) {
				split(row[i], f, " ")
				if (f[1] == "xlb-dr-fp" && f[3] == "NOTE") { t = row[i]; sub(/^[^ ]+ [^ ]+ NOTE /, "", t) }
			}
			printf "n/a   %s: %s\n", s, t
		}
		print "```"
	}' "$BDIR/tcp"
	echo
}

# ---- IPv6 (issue 14): the *6 modes' tables, after the IPv4 ones.

# bdp_fp_taken6 MODE FILE: "taken", "not-taken" or "" (no counters) from
# the fast-path hits recorded for MODE in FILE (bdp_fp_delta lines of the
# packet-rate rounds, or "MODE hits=N" lines of the TCP runs). Before the
# IPv6 fast path exists, xlbd runs with it on but forwards IPv6 in AF_XDP:
# its hit counters stay 0, and the report says so instead of calling the
# figures "fast path on".
bdp_fp_taken6() {
	awk -v k="$1" '$1 == k { for (i = 2; i <= NF; i++) if ($i ~ /^hits=/) { n++; h += substr($i, 6) } }
		END { if (n) print (h > 0) ? "taken" : "not-taken" }' "$2" 2>/dev/null
}

bdp_report6() {
	local m fpnote="" t
	[ -n "${BENCH_MODES6// /}" ] || return 0
	for m in $BENCH_MODES6; do
		case $m in *-fp) ;; *) continue ;; esac
		t=$(bdp_fp_taken6 "$m" "$BDIR/fpcnt")
		fpnote="$fpnote $m:${t:-unknown}"
	done
	echo "### IPv6: Mpps delivered, 1 queue (same run, same generator, rounds interleaved with IPv4's)"
	echo
	echo "- the same chain with IPv6 addresses (fd00::/8, nodad, permanent neighbours); 74-byte frames"
	echo "  (the IPv4 frames' headers with IPv6's 20 bytes longer header, no Ethernet padding)"
	echo "- baselines: kernel6 = the director's IPv6 forwarding (net.ipv6.conf.all.forwarding=1, on only in this mode),"
	echo "  xdp6 = xdp_fwd.bpf.o (MAC rewrite + bpf_redirect), afxdp6 = xsk_fwd; xlb-M6 = xlbd with an IPv6 service"
	echo "  (-g DR, -m NAT66, -i TUN6 = ip6ip6 to the sink), fast path off (-fp: on)"
	echo "- mixes: $BENCH_MIXES6 (BENCH_MIXES6); each figure the median of $BENCH_RUNS runs, as for IPv4;"
	echo "  ratios against the IPv6 baselines of the same run, and against the same IPv4 mode (x IPv4)"
	for m in $fpnote; do
		case ${m#*:} in
		not-taken)
			echo "- ${m%%:*}: **fast path not taken for IPv6**: xlbd ran with --fast-path on, but its fast-path hit"
			echo "  counters stayed 0 over every measured window (xlbctl --counters): these packets went through"
			echo "  AF_XDP like $(t=${m%%:*}; echo "${t%-fp}")'s, so this row is the slow path again, not an IPv6 fast path"
			echo "  (and slower than it: the director's NAPI thread ran at the fast path's nice $BENCH_NAPI_NICE_FP, taking CPU from xlbd's worker)" ;;
		taken) echo "- ${m%%:*}: fast path taken (fast-path hits over the measured windows; see \"Fast path use\")" ;;
		*) echo "- ${m%%:*}: fast-path counters not read (mode not measured, or xlbd without them)" ;;
		esac
	done
	echo
	awk -v modes="$BENCH_MODES6" -v mixes="$BENCH_MIXES6" -v runs="$BENCH_RUNS" -v fpnote="$fpnote" '
	function mixname(t, f) {
		if (t == "syn") return (f == "new") ? "TCP SYN, all new" : "TCP SYN, " f " flows"
		if (t == "ack") return "TCP ACK, " f " established"
		return "UDP " f ((f == 1) ? " flow" : " flows")
	}
	function tname(t) {
		if (t == "udp") return "UDP"
		if (t == "syn") return "TCP SYN"
		if (t == "ack") return "TCP ACK (established)"
		return t
	}
	function v4(m) { sub(/6$/, "", m); sub(/6-fp$/, "-fp", m); return m }
	function label(m,   l) {
		if (m ~ /^xlb-.*-fp$/) {
			l = substr(m, 1, length(m) - 3) " fast path on"
			if (fpt[m] == "not-taken") l = l " (not taken for IPv6: AF_XDP)"
			return l
		}
		if (m ~ /^xlb-/) return m " fast path off"
		return m
	}
	function ratio(a, b) { return (b > 0) ? sprintf("%.2f", a / b) : "-" }
	# tline WHAT A B MIN BNAME MODE: as in bdp_report.
	function tline(what, a, b, min, bname, m,   r, s) {
		s = what " >= " sprintf("%.1f", min) " x " bname
		if (fpt[m] == "not-taken") {
			printf "n/a   %s: fast path not taken for IPv6 (its hits stayed 0; %.3f Mpps through AF_XDP)\n", s,
				(a in med) ? med[a] / 1e6 : 0
			return
		}
		if (!(a in med) || !(b in med) || med[b] <= 0) {
			printf "n/a   %s: %s\n", s, (m in note) ? note[m] : "not measured"
			return
		}
		r = med[a] / med[b]
		printf "%s  %s: %.2f (%.3f / %.3f Mpps)%s%s\n", (r >= min) ? "PASS" : "MISS", s, r,
			med[a] / 1e6, med[b] / 1e6,
			(lo[a] <= hi[b] && lo[b] <= hi[a]) ? " (ranges overlap)" : "",
			(gb[a] > 0 || gb[b] > 0) ? sprintf(" (generator-bound runs: %d and %d of %d)", gb[a], gb[b], runs) : ""
	}
	{ line[NR] = $0; n = NR }
	END {
		nf = split(fpnote, fpl, " ")
		for (i = 1; i <= nf; i++) { split(fpl[i], pp, ":"); fpt[pp[1]] = pp[2] }
		for (i = 1; i <= n; i++) {
			split(line[i], f, " ")
			k = f[1] " " f[2] " " f[3]
			if (f[4] != "NOTE" && f[4] != "FAILED") {
				med[k] = f[4]; lo[k] = f[5]; hi[k] = f[6]; gb[k] = f[10] + 0
			} else if (f[4] == "NOTE") {
				t = line[i]; sub(/^[^ ]+ [^ ]+ [^ ]+ NOTE /, "", t); note[f[1]] = t
			}
		}
		nm = split(modes, ml, " ")
		nx = split(mixes, xl, " ")
		hdr = "| mode |"; sep = "|---|"
		for (x = 1; x <= nx; x++) {
			split(xl[x], mf, ":")
			hdr = hdr " " mixname(mf[1], mf[2]) " |"; sep = sep "---|"
		}
		print hdr; print sep
		for (j = 1; j <= nm; j++) {
			m = ml[j]
			row = "| " label(m) " |"
			for (x = 1; x <= nx; x++) {
				split(xl[x], mf, ":")
				k = m " " mf[1] " " mf[2]
				if (!(k in med)) {
					row = row " n/a: " ((m in note) ? note[m] : "not measured (see stderr)") " |"
					continue
				}
				cell = sprintf("%.3f", med[k] / 1e6)
				if (m == "xdp6")
					cell = cell sprintf(" (%s x kernel6)", ratio(med[k], med["kernel6 " mf[1] " " mf[2]]))
				else if (m != "kernel6")
					cell = cell sprintf(" (%s x kernel6, %s x xdp6)", ratio(med[k], med["kernel6 " mf[1] " " mf[2]]),
						ratio(med[k], med["xdp6 " mf[1] " " mf[2]]))
				row = row " " cell " |"
			}
			print row
		}
		print ""
		# The IPv4 targets (issues 11 and 7) applied to IPv6, this run.
		print "#### IPv6 against the IPv4 targets, this run"
		print ""
		print "PASS / MISS as for IPv4 (never fails the run); n/a when a figure is missing or the fast path was not taken."
		print ""
		print "```"
		split("dr nat tun", fm, " ")
		split("0.9 0.8 0.8", fl4, " ")
		for (j = 1; j <= 3; j++) {
			u = toupper(fm[j]) "6"; fpm = "xlb-" fm[j] "6-fp"; o = "xlb-" fm[j] "6"
			tline("xlb " u " fast path, UDP 1000 flows", fpm " udp 1000", "kernel6 udp 1000", 2.0, "kernel6", fpm)
			tline("xlb " u " fast path, UDP 1000 flows", fpm " udp 1000", "xdp6 udp 1000", 0.8, "xdp6", fpm)
			tline("xlb " u " fast path, TCP ACK established", fpm " ack 1000", "kernel6 ack 1000", 2.0, "kernel6", fpm)
			tline("xlb " u " fast path, TCP ACK established", fpm " ack 1000", "xdp6 ack 1000", 0.8, "xdp6", fpm)
			tline("xlb " u " fast path off, UDP 1000 flows", o " udp 1000", "afxdp6 udp 1000", fl4[j] + 0, "afxdp6 (the AF_XDP floor)", o)
		}
		print "```"
		print ""
		print "#### IPv6 packet rates in detail"
		print ""
		print "| mode | flows | traffic | Mpps median (min-max) | attempted by the generator, Mpps | vs kernel6 | vs xdp6 | vs afxdp6 | x IPv4 (same mode, same mix) |"
		print "|---|---|---|---|---|---|---|---|---|"
		for (j = 1; j <= nm; j++) {
			m = ml[j]
			rows = 0
			for (i = 1; i <= n; i++) {
				split(line[i], f, " ")
				if (f[1] != m) continue
				rows++
				if (f[4] == "NOTE") {
					t = line[i]; sub(/^[^ ]+ [^ ]+ [^ ]+ NOTE /, "", t)
					printf "| %s | - | - | n/a: %s | - | - | - | - | - |\n", m, t
					continue
				}
				fl = (f[3] == "new") ? "all new" : f[3]
				if (f[4] == "FAILED") {
					printf "| %s | %s | %s | n/a: fewer than %d runs succeeded (see stderr) | - | - | - | - | - |\n", m, fl, tname(f[2]), runs
					continue
				}
				k = f[2] " " f[3]
				cell = sprintf("%.3f (%.3f-%.3f)", f[4] / 1e6, f[5] / 1e6, f[6] / 1e6)
				if (f[10] > 0) cell = cell sprintf(" generator-bound in %d of %d runs", f[10], runs)
				if (f[8] > 0) cell = cell sprintf(" [%d frames with a wrong MAC]", f[8])
				printf "| %s | %s | %s | %s | %.3f | %s | %s | %s | %s |\n", m, fl, tname(f[2]), cell, f[7] / 1e6,
					ratio(f[4], med["kernel6 " k]), ratio(f[4], med["xdp6 " k]), ratio(f[4], med["afxdp6 " k]),
					ratio(f[4], med[v4(m) " " k])
			}
			if (!rows) printf "| %s | - | - | n/a: not measured | - | - | - | - | - |\n", m
		}
		print ""
	}' "$BDIR/results"
}

bdp_tcp_report6() {
	[ -n "${BENCH_MODES6// /}" ] && [ -f "$BDIR/tcp6" ] || return 0
	local m t fpnote=""
	for m in $BENCH_TCP_MODES6; do
		case $m in *-fp) ;; *) continue ;; esac
		t=$(bdp_fp_taken6 "$m" "$BDIR/tcpfp")
		fpnote="$fpnote $m:${t:-unknown}"
	done
	echo "#### IPv6 TCP throughput (iperf3 -6, one connection, ${BENCH_TCP_SECS} s runs, median of $BENCH_RUNS; the same CPUs and paths as IPv4's)"
	echo
	echo "Like for like as for IPv4: xlb DR6 and TUN6 against xdp6 (data through the forwarder, ACKs through the"
	echo "kernel's IPv6 forwarding), NAT66 with the fast path off against afxdp6 (both directions through AF_XDP)."
	echo "TUN6: ip6ip6 decapsulated by xlb_decap.bpf.o on the sink; xlbd's Packet Too Big lowers the client's path MTU by 40."
	for m in $fpnote; do
		[ "${m#*:}" != not-taken ] ||
			echo "${m%%:*}: fast path not taken for IPv6 (0 fast-path hits after its runs): AF_XDP, like ${m%%-fp:*}."
	done
	echo
	echo "| mode | Gbit/s median (min-max) | vs kernel6 | vs xdp6 | x IPv4 (same mode) | data path | ACK path | like for like |"
	echo "|---|---|---|---|---|---|---|---|"
	awk -v fpnote="$fpnote" '
	function v4(m) { sub(/6$/, "", m); sub(/6-fp$/, "-fp", m); return m }
	function fwd(m,   fp, b) {
		fp = (m ~ /-fp$/) ? ", fast path on" : ((m ~ /^xlb-/) ? ", fast path off" : "")
		if (fpt[m] == "not-taken") fp = fp " (not taken for IPv6: AF_XDP)"
		b = v4(m); sub(/-fp$/, "", b)
		if (b == "kernel") return "kernel IPv6 forwarding"
		if (b == "xdp") return "XDP redirect"
		if (b == "afxdp") return "xsk_fwd"
		if (b == "xlb-dr") return "xlbd DR" fp
		if (b == "xlb-nat") return "xlbd NAT66" fp
		if (b == "xlb-tun") return "xlbd TUN6 (ip6ip6, xlb_decap on the sink)" fp
		return m
	}
	function ack(m) {
		if (m == "afxdp6") return "xsk_fwd"
		if (m == "xlb-nat6") return "xlbd NAT66, fast path off"
		if (m == "xlb-nat6-fp") return "xlbd NAT66" ((fpt[m] == "not-taken") ? ", fast path on (not taken: AF_XDP)" : ", fast path on")
		return "kernel IPv6 forwarding"
	}
	function peer(m) {
		if (m ~ /^xlb-(dr|tun)/) return "xdp6"
		if (m == "xlb-nat6") return "afxdp6"
		return ""
	}
	function r(a, b) { return (b > 0) ? sprintf("%.2f", a / b) : "-" }
	FILENAME == ARGV[1] { if ($3 != "NOTE") v4v[$1] = $2; next }
	{ if ($3 != "NOTE") v[$1] = $2; row[++n] = $0 }
	END {
		nf = split(fpnote, fpl, " ")
		for (i = 1; i <= nf; i++) { split(fpl[i], pp, ":"); fpt[pp[1]] = pp[2] }
		for (i = 1; i <= n; i++) {
			split(row[i], f, " ")
			if (f[3] == "NOTE") {
				t = row[i]; sub(/^[^ ]+ [^ ]+ NOTE /, "", t)
				printf "| %s | n/a: %s | - | - | - | - | - | - |\n", f[1], t
				continue
			}
			p = peer(f[1]); like = "-"
			if (p != "" && v[p] > 0) like = sprintf("%.2f x %s", f[2] / v[p], p)
			printf "| %s | %.2f (%.2f-%.2f) | %s | %s | %s | %s | %s | %s |\n", f[1], f[2] / 1000, f[3] / 1000, f[4] / 1000,
				r(f[2], v["kernel6"]), r(f[2], v["xdp6"]), r(f[2], v4v[v4(f[1])]), fwd(f[1]), ack(f[1]), like
		}
	}' "$BDIR/tcp" "$BDIR/tcp6"
	echo
}
