#!/bin/bash
# Restarts keep connections, NAT included: 20 long-lived DR and 20
# long-lived NAT connections (a request every 100 ms each) across
# SIGTERM + start, SIGINT + start and SIGKILL + start of xlbd, and across
# a SIGKILL + start whose rules add a fourth server (the ring then sends a
# quarter of all flows elsewhere: only the connection table handed over in
# the state file keeps those connections where they are); then
# `xlbd --detach` removes the XDP program and the state file for good.
#
# One DR lab serves both: VIP:80 by DR, VIP:8080 by NAT to the same real
# servers' port 80. For NAT the real servers send what leaves from their
# own address (NAT replies) through the director, by a source rule; their
# DR replies, from the VIP on lo, still go straight to the client.
. "$(dirname "$0")/lib.sh"
lab_init
lab_up dr --servers 4 || { fail "lab up"; exit 1; }

S=$T/xlb.sock
X() { "$B/xlbctl" --socket "$S" "$@"; }
L() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
now() { date +%s.%N; }
set -- $RS_NS
for ip in $RS_IPS; do
	ns=$1; shift
	ifn=$(ip -n "$ns" -o -4 addr show | awk -v a="$ip" '$4 ~ "^"a"/" { print $2 }')
	ip -n "$ns" route add default via "$DIRECTOR_IP" dev "$ifn" onlink table 100
	ip -n "$ns" rule add from "$ip" lookup 100
done

rules() {
	echo "-A -t $VIP:80 -s ring"
	echo "-A -t $VIP:8080 -s ring"
	for r in "$@"; do
		echo "-a -t $VIP:80 -r $r:80 -g -w 1"
		echo "-a -t $VIP:8080 -r $r:80 -m -w 1"
	done
}
set -- $RS_IPS
rules "$1" "$2" "$3" >"$T/rules"
rules "$1" "$2" "$3" "$4" >"$T/rules4"
ARGS=(-i "$DIRECTOR_IF" --rules "$T/rules")
xlbd_start "$DIRECTOR_NS" "$S" "$T/xlbd-0.log" "${ARGS[@]}" || { fail "xlbd starts"; exit 1; }
check_eq "DR: 10 requests before any restart all succeed" 0 \
	"$(C http "$VIP" 80 --count 10 | grep -c ERROR)"
check_eq "NAT: 10 requests before any restart all succeed" 0 \
	"$(C http "$VIP" 8080 --count 10 | grep -c ERROR)"
check "the connection table lives in the state file beside the socket" test -s "$T/xlbd.state"

prog_id() {
	ip -n "$DIRECTOR_NS" -d link show "$DIRECTOR_IF" | grep -o 'prog/xdp id [0-9]*' | awk '{ print $3 }'
}

# restart_run NAME SIGNAL: 20 DR + 20 NAT keep-alive connections across
# SIGNAL to xlbd and a new start. Sets DR_OK and NAT_OK (survivors).
restart_run() {
	local name=$1 sig=$2 dp np t0 gap id0 id1 mid log=$T/xlbd-$1.log
	L keep "$VIP" 80 --conns 20 --duration 7 >"$T/dr-$name.txt" &
	dp=$!
	L keep "$VIP" 8080 --conns 20 --duration 7 >"$T/nat-$name.txt" &
	np=$!
	lab_on_exit "kill_pid $dp; kill_pid $np"
	sleep 2.5
	id0=$(prog_id)
	t0=$(now)
	kill -"$sig" "$XLBD_PID"
	wait "$XLBD_PID" 2>/dev/null
	mid=$(prog_id)
	xlbd_start "$DIRECTOR_NS" "$S" "$log" "${ARGS[@]}" -v || { fail "$name: xlbd restarts"; return; }
	gap=$(echo "$(now) - $t0" | bc)
	id1=$(prog_id)
	wait "$dp" "$np"
	DR_OK=$(awk '/^survived:/ { print $2 }' "$T/dr-$name.txt")
	NAT_OK=$(awk '/^survived:/ { print $2 }' "$T/nat-$name.txt")
	echo "$name: xlbd down for $gap s; XDP program $id0 -> ${mid:-none} while stopped -> $id1"
	grep -h BROKEN "$T/dr-$name.txt" "$T/nat-$name.txt" | sed 's/^/  /'
	echo "$name: survived: DR $DR_OK of 20, NAT $NAT_OK of 20"
	grep -E "adopted|replaced" "$log" | sed 's/^/  /'
	check "$name: the XDP program stays attached while xlbd is down" \
		test -n "$mid" -a "$mid" = "$id0"
	check "$name: the new xlbd replaced it in one step" \
		grep -q "replaced xlb_steer (id $id0) on $DIRECTOR_IF in one step" "$log"
	check "$name: and its program is the one attached" test -n "$id1" -a "$id1" != "$id0"
	check "$name: at least 19 of 20 DR connections survive ($DR_OK)" test "${DR_OK:-0}" -ge 19
	check "$name: at least 19 of 20 NAT connections survive ($NAT_OK)" test "${NAT_OK:-0}" -ge 19
	adopted=$(sed -n 's/.*adopted \([0-9]*\) of.*/\1/p' "$log")
	check "$name: the new xlbd adopted the 40 connections (${adopted:-none})" \
		test "${adopted:-0}" -ge 40
	echo "$name DR=$DR_OK NAT=$NAT_OK gap=$gap" >>"$T/figures"
}

restart_run sigterm TERM
check "SIGTERM: xlbd said it leaves the program attached" \
	grep -q "Terminated: exiting; the XDP program stays attached" "$T/xlbd-0.log"
restart_run sigint INT
check "SIGINT: xlbd said it leaves the program attached" \
	grep -q "Interrupt: exiting; the XDP program stays attached" "$T/xlbd-sigterm.log"
restart_run sigkill KILL
# The same, but the new xlbd's rules add rs4: the ring moves about a
# quarter of the flows to it; adopted entries stay on their servers.
ARGS=(-i "$DIRECTOR_IF" --rules "$T/rules4")
restart_run sigkill-rs4-added KILL
set -- $RS_NAMES
check_eq "with rs4 added, 20 new requests are answered" 0 \
	"$(C http "$VIP" 80 --count 20 | tee "$T/new4.txt" | grep -c ERROR)"
check "and rs4 takes some of them (the ring did change)" grep -q " $4\$" "$T/new4.txt"
sed 's/^/restart figures: /' "$T/figures"

# ---- a second xlbd by mistake ---------------------------------------------
# Same state file, its own socket: it must refuse before touching the XDP
# program or the sockets of the one that runs.
id=$(prog_id)
timeout 20 ip netns exec "$DIRECTOR_NS" "$B/xlbd" --socket "$T/other.sock" \
	--state-file "$T/xlbd.state" "${ARGS[@]}" >"$T/second.log" 2>&1; rc=$?
cat "$T/second.log"
check "a second xlbd on the same state file exits 1" test "$rc" -eq 1
check "and says the state file is held" grep -q "is held by another process" "$T/second.log"
check_eq "the first one's XDP program is untouched" "$id" "$(prog_id)"
check_eq "and it still serves: 10 DR requests" 0 "$(C http "$VIP" 80 --count 10 | grep -c ERROR)"

# ---- xlbd --detach ---------------------------------------------------------
D() { ip netns exec "$DIRECTOR_NS" "$B/xlbd" --socket "$S" "$@"; }
id=$(prog_id)
check "the XDP program is attached before --detach (id ${id:-none})" test -n "$id"
D --detach -i "$DIRECTOR_IF" >"$T/detach-busy.txt" 2>&1; rc=$?
check "--detach refuses while xlbd runs" test "$rc" -ne 0
check "and says why" grep -q "an xlbd is running" "$T/detach-busy.txt"
check_eq "and leaves the program attached" "$id" "$(prog_id)"
kill_pid "$XLBD_PID"
check_eq "after a SIGTERM the program is still attached" "$id" "$(prog_id)"
check "with it attached, the VIP's port 80 is not answered by the director's kernel" \
	bash -c "! ip netns exec '$CLIENT_NS' curl -s -m 1 -o /dev/null 'http://$VIP:80/'"
D --detach -i "$DIRECTOR_IF" >"$T/detach.txt" 2>&1; rc=$?
cat "$T/detach.txt"
check_eq "xlbd --detach exits 0" 0 "$rc"
check_eq "and the program is gone" "" "$(prog_id)"
check "and the state file" test ! -e "$T/xlbd.state"
# The kernel has the VIP again: it refuses port 80 (nothing listens there
# on the director) with a RST, which curl reports as exit code 7.
ip netns exec "$CLIENT_NS" curl -s -m 2 -o /dev/null "http://$VIP:80/"; rc=$?
check_eq "the director's kernel answers the VIP again (curl: connection refused)" 7 "$rc"
D --detach -i "$DIRECTOR_IF" >"$T/detach-again.txt" 2>&1; rc=$?
cat "$T/detach-again.txt"
check "a second --detach fails" test "$rc" -ne 0
check "and says there is nothing to detach" grep -q "has no xlb_steer attached" "$T/detach-again.txt"
D --detach -i lo >"$T/detach-lo.txt" 2>&1; rc=$?
check "--detach on an interface without xlb fails too" test "$rc" -ne 0
