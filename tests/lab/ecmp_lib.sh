# shellcheck shell=bash
# Shared by test_ecmp*.sh (sourced after lib.sh): the ecmp lab with real
# load. Needs lab_init and lab_up ecmp.
#
#   D ACTION I            netns-lab/lab.sh director ACTION I (this lab)
#   ecmp_npaths VIP       how many next hops the router's kernel has for VIP
#   ecmp_has_path VIP IP  the router routes VIP via IP
#   ecmp_until_gone IP [T0]  ms from T0 (default now) until no VIP is routed
#                         via IP (polled every 20 ms, gives up after 10 s)
#   load_start NAME [args]  ecmpload.py from the client, 200 DR + 200 TUN
#                         long-lived connections (LOAD_CONNS each) and 20
#                         new ones a second; waits until all have answered
#   load_stop NAME        stops it, prints its report to $T/NAME.out
#   ports_on I            client ports of director I's established entries
#   survival NAME TARGET  "survived established percent" from the report
#   ecmp_check_survival NAME   the >= 99 % checks, DR and TUN, printed

. "$ROOT/netns-lab/bird.sh"	# bird_established, birdc_in

LOAD_CONNS=${LOAD_CONNS:-200}
LOAD_NEW_RATE=${LOAD_NEW_RATE:-20}

D() { "$ROOT/netns-lab/lab.sh" director "$1" "$2" --prefix "$P" --dir "$LABDIR"; }

ecmp_npaths() { ip -n "$ROUTER_NS" route show "$1/32" | grep -c 'via '; }
ecmp_has_path() { ip -n "$ROUTER_NS" route show "$1/32" | grep -q "via $2 "; }
# crash_timed I: "lab.sh director crash I", with the router watched from the
# moment director I went silent (its processes take a second or two to
# exit, which the crash command waits for): prints the ms until neither
# VIP is routed via it.
crash_timed() {
	local c
	rm -f "$LABDIR/d$1/crashed"
	D crash "$1" >/dev/null 2>&1 &
	c=$!
	wait_for 5 test -s "$LABDIR/d$1/crashed"
	ecmp_until_gone "$(dir_ip "$1")" "$(cat "$LABDIR/d$1/crashed")"
	wait "$c"
}

# xlbd_signal I SIG: signal director I's xlbd by PID and return at once
# (the guard withdraws within ms, but the process takes a second or two
# to exit: timing from the return of "lab.sh director kill" would count
# that). xlbd_gone I: wait (up to 10 s) until it has exited.
xlbd_signal() { kill -"$2" "$(cat "$LABDIR/d$1/xlbd.pid")"; }
xlbd_gone() {
	local pid n=200
	pid=$(cat "$LABDIR/d$1/xlbd.pid")
	while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.05; n=$((n - 1)); done
}

# dir_ip I: director I's address (10.x.2.(1 + I), as the topology gives it).
dir_ip() { echo "${VIP_DR%.*.*}.2.$((1 + $1))"; }

# ecmp_until_gone IP [T0]: ms from T0 (ns since the epoch; default now)
# until neither VIP is routed via IP.
ecmp_until_gone() {
	local ip=$1 t0=${2:-$(date +%s%N)} n=500 v
	while [ "$n" -gt 0 ]; do
		v=0
		ecmp_has_path "$VIP_DR" "$ip" && v=1
		ecmp_has_path "$VIP_TUN" "$ip" && v=1
		[ "$v" = 0 ] && { echo $(( ($(date +%s%N) - t0) / 1000000 )); return 0; }
		sleep 0.02; n=$((n - 1))
	done
	echo 10000
}

# ecmp_until_all N SECONDS: ms until both VIPs have N paths (or 1000 x SECONDS).
ecmp_until_all() {
	local want=$1 t0 n=$(( $2 * 50 ))
	t0=$(date +%s%N)
	while [ "$n" -gt 0 ]; do
		if [ "$(ecmp_npaths "$VIP_DR")" = "$want" ] && [ "$(ecmp_npaths "$VIP_TUN")" = "$want" ]; then
			echo $(( ($(date +%s%N) - t0) / 1000000 )); return 0
		fi
		sleep 0.02; n=$((n - 1))
	done
	echo $(( $2 * 1000 ))
}

load_start() {
	local name=$1; shift
	rm -f "$T/$name.ready"
	ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/ecmpload.py" \
		--target "dr=$VIP_DR:$HTTP_PORT:$LOAD_CONNS" --target "tun=$VIP_TUN:$HTTP_PORT:$LOAD_CONNS" \
		--new-rate "$LOAD_NEW_RATE" --ready "$T/$name.ready" --detail "$T/$name.detail" \
		"$@" >"$T/$name.out" 2>"$T/$name.err" &
	LOAD_PID=$!
	lab_on_exit "kill_pid $LOAD_PID"
	if ! wait_for 20 test -s "$T/$name.ready"; then
		echo "load $name: not every connection answered within 20 s"; cat "$T/$name.err"
		return 1
	fi
}

load_stop() {
	kill -TERM "$LOAD_PID" 2>/dev/null
	wait "$LOAD_PID" 2>/dev/null
	echo "load $1:"; sed 's/^/  /' "$T/$1.out"
}

# ports_on I: client ports of the established entries on director I.
ports_on() {
	"$B/xlbctl" --socket "$LABDIR/d$1/xlb.sock" -L -n -c 2>/dev/null |
		awk -v c="$CLIENT_IP:" '$3 == "ESTABLISHED" && index($4, c) == 1 { sub(/.*:/, "", $4); print $4 }' | sort -u
}

# load_ports NAME: the long-lived connections' ports (from the ready file).
load_ports() { awk '{print $1}' "$T/$1.ready" | sort -u; }

survival() {
	local line
	line=$(grep "^target $2 " "$T/$1.out")
	awk -v s="$(field survived "$line")" -v e="$(field established "$line")" \
		'BEGIN { printf "%d %d %.1f\n", s, e, e ? 100 * s / e : 0 }'
}

# ecmp_check_survival NAME WHAT: at least 99 % of the established DR and of
# the established TUN connections survived (and there were some).
ecmp_check_survival() {
	local t s e pct
	for t in dr tun; do
		read -r s e pct <<<"$(survival "$1" "$t")"
		echo "SURVIVAL $2: $(echo "$t" | tr a-z A-Z) $s of $e established connections survived ($pct %)"
		check "$2: $t: all $LOAD_CONNS long-lived connections were established" test "$e" = "$LOAD_CONNS"
		check "$2: $t: >= 99 % of established connections survive ($pct %)" test $((s * 100)) -ge $((e * 99))
	done
}

# director_stats: each director's xlbctl --stats (what spreads where).
director_stats() {
	local i
	for i in $(cat "$LABDIR/directors"); do
		echo "-- d$i:"
		"$B/xlbctl" --socket "$LABDIR/d$i/xlb.sock" -L -n --stats 2>/dev/null | tail -n +4 || echo "   (down)"
	done
}

# ecmp_check_new NAME WHAT WITHDRAWAL_MS: every new connection was answered
# in the end, and they were slowed (a lost SYN retransmitted) only within
# about the withdrawal time.
ecmp_check_new() {
	local l o
	l=$(grep '^new ' "$T/$1.out")
	o=$(field outage "$l")
	echo "NEW CONNECTIONS $2: $l (withdrawal $3 ms)"
	check_eq "$2: every new connection was answered in the end" 0 "$(field failed "$l")"
	check "$2: new connections were slowed for no longer than the withdrawal (+ 0.5 s): outage ${o} s" \
		awk -v o="$o" -v g="$3" 'BEGIN { exit !(o * 1000 <= g + 500) }'
}
