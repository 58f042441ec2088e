#!/bin/bash
# Schedulers end to end (DR): a real client, the real xlbd on AF_XDP, three
# real nginx servers. rr rotates exactly, wrr follows 1:2:3, lc and wlc
# place long-lived connections by count, sh and dh keep a client
# (destination) on one server, mh spreads one client's flows (mh-port) and
# keeps each on its server across an xlbd restart, an upper threshold
# moves new connections away from a full server, and every other
# scheduler serves.
. "$(dirname "$0")/lib.sh"
lab_start dr

set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3
set -- $RS_NAMES; N1=$1; N2=$2; N3=$3

# hold N: open N TCP connections to the VIP one after another (0.3 s apart,
# so that each is counted before the next is scheduled) and keep them open
# (no request: nginx waits for one) until killed. Sets HOLD_PID.
HOLD='
import socket, sys, time
n = int(sys.argv[2]); socks = []
for i in range(n):
    s = socket.create_connection((sys.argv[1], 80), timeout=3)
    socks.append(s); time.sleep(0.3)
print("held", len(socks), flush=True)
time.sleep(60)
'
hold() {
	: >"$T/hold.out"
	ip netns exec "$CLIENT_NS" /usr/bin/python3 -c "$HOLD" "$VIP" "$1" >"$T/hold.out" 2>&1 &
	HOLD_PID=$!
	lab_on_exit "kill_pid $HOLD_PID"
	wait_for 10 grep -q "^held $1" "$T/hold.out"
}
# active RIP: ActiveConn of that real server in -L -n.
active() { X -L -n -t "$VIP:80" | awk -v r="$1:80" '$2 == r { print $5 }'; }
# svc SCHED [FLAGS] W1 W2 W3 [xlbctl -a options for RS1...]: a fresh
# service (fresh counters) with this scheduler and weights.
svc() {
	local sched=$1 flags=$2; shift 2
	X -D -t "$VIP:80" 2>/dev/null
	X -A -t "$VIP:80" -s "$sched" $flags
	X -a -t "$VIP:80" -r "$RS1:80" -g -w "$1" ${4:-}
	X -a -t "$VIP:80" -r "$RS2:80" -g -w "$2"
	X -a -t "$VIP:80" -r "$RS3:80" -g -w "$3"
}
# count FILE NAME: requests of FILE answered by NAME.
count() { awk -v n="$2" '$2 == n' "$1" | wc -l; }

echo "-A -t $VIP:80 -s rr" >"$T/rules"
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }

# rr: 60 requests over 3 servers, 20 each.
svc rr "" 1 1 1
C http "$VIP" 80 --count 60 >"$T/rr.txt"
echo "rr: $(tally <"$T/rr.txt" | tr '\n' ' ')"
check_eq "rr: 60 requests answered" 60 "$(answers "$T/rr.txt")"
check_eq "rr: 20 each" "20 20 20" \
	"$(count "$T/rr.txt" "$N1") $(count "$T/rr.txt" "$N2") $(count "$T/rr.txt" "$N3")"

# wrr 1:2:3 over 60 requests: 10, 20, 30.
svc wrr "" 1 2 3
C http "$VIP" 80 --count 60 >"$T/wrr.txt"
echo "wrr: $(tally <"$T/wrr.txt" | tr '\n' ' ')"
check_eq "wrr: weights 1:2:3 give 10, 20, 30" "10 20 30" \
	"$(count "$T/wrr.txt" "$N1") $(count "$T/wrr.txt" "$N2") $(count "$T/wrr.txt" "$N3")"

# lc: 6 long-lived connections over 3 equal servers: 2 each.
svc lc "" 1 1 1
check "lc: 6 connections held" hold 6
got="$(active "$RS1") $(active "$RS2") $(active "$RS3")"
echo "lc: ActiveConn $got"
check_eq "lc: 2 active connections on each server" "2 2 2" "$got"
kill_pid "$HOLD_PID"

# wlc: weights 1, 1, 2 and 8 connections: 2, 2, 4.
svc wlc "" 1 1 2
check "wlc: 8 connections held" hold 8
got="$(active "$RS1") $(active "$RS2") $(active "$RS3")"
echo "wlc: ActiveConn $got"
check_eq "wlc: 2, 2, 4 active connections by weight 1, 1, 2" "2 2 4" "$got"
kill_pid "$HOLD_PID"

# sh: one client keeps one server, whatever its source port.
svc sh "" 1 1 1
C http "$VIP" 80 --sport 26000 --count 20 >"$T/sh.txt"
echo "sh: $(tally <"$T/sh.txt" | tr '\n' ' ')"
check_eq "sh: 20 requests answered" 20 "$(answers "$T/sh.txt")"
check_eq "sh: one client, one server" 1 "$(tally <"$T/sh.txt" | wc -l)"
# -b sh-port: the same client spreads by source port.
X -E -t "$VIP:80" -s sh -b sh-port
check_eq "-S shows -b sh-port" "-A -t $VIP:80 -s sh -b sh-port" "$(X -S -n | grep -- "^-A -t $VIP:80")"
C http "$VIP" 80 --sport 26100 --count 30 >"$T/shp.txt"
echo "sh-port: $(tally <"$T/shp.txt" | tr '\n' ' ')"
check "sh-port: one client over more than one server" test "$(tally <"$T/shp.txt" | wc -l)" -gt 1

# dh: every flow to this destination (the VIP) on one server.
svc dh "" 1 1 1
C http "$VIP" 80 --sport 27000 --count 20 >"$T/dh.txt"
echo "dh: $(tally <"$T/dh.txt" | tr '\n' ' ')"
check_eq "dh: 20 requests answered" 20 "$(answers "$T/dh.txt")"
check_eq "dh: one destination, one server" 1 "$(tally <"$T/dh.txt" | wc -l)"

# mh with mh-port: 60 flows spread, each on the same server after a restart.
cat >"$T/rules" <<RULES
-A -t $VIP:80 -s mh -b mh-port
-a -t $VIP:80 -r $RS1:80 -g -w 1
-a -t $VIP:80 -r $RS2:80 -g -w 1
-a -t $VIP:80 -r $RS3:80 -g -w 1
RULES
X -C
X -R <"$T/rules"
C http "$VIP" 80 --sport 28000 --count 60 >"$T/mh1.txt"
echo "mh: $(tally <"$T/mh1.txt" | tr '\n' ' ')"
check_eq "mh: 60 requests answered" 60 "$(answers "$T/mh1.txt")"
check_eq "mh: spread over the three servers" 3 "$(tally <"$T/mh1.txt" | wc -l)"
kill_pid "$XLBD_PID"
xlbd_up "$T/rules" || { fail "xlbd restarts"; exit 1; }
check_eq "mh: -S after the restart" "-A -t $VIP:80 -s mh -b mh-port" "$(X -S -n | grep -- "^-A")"
C http "$VIP" 80 --sport 28000 --count 60 >"$T/mh2.txt"
check_eq "mh: every flow on its server across the restart" "$(cat "$T/mh1.txt")" "$(cat "$T/mh2.txt")"

# Thresholds: fo sends everything to the heaviest server, until its 2
# connections reach -x 2; then new connections go elsewhere.
svc fo "" 3 1 1 "-x 2 -y 1"
check "thresholds: -L --thresholds lists -x 2 -y 1" \
	bash -c "'$B/xlbctl' --socket '$S' -L -n --thresholds | grep -Eq '$RS1:80 +2 +1 '"
# As IPVS, closed connections waiting to expire count (inactive): two
# short requests fill it too.
C http "$VIP" 80 --count 4 >"$T/fo.txt"
check_eq "fo: the heaviest server takes the first 2, then is full" "2 2" \
	"$(count "$T/fo.txt" "$N1") $(answers "$T/fo.txt" "$N1")"
svc fo "" 3 1 1 "-x 2 -y 1"
check "thresholds: 2 connections held" hold 2
check_eq "thresholds: both on the heaviest server" 2 "$(active "$RS1")"
C http "$VIP" 80 --count 10 >"$T/full.txt"
echo "full: $(tally <"$T/full.txt" | tr '\n' ' ')"
check_eq "thresholds: 10 new requests answered, none by the full server" 10 \
	"$(answers "$T/full.txt" "$N1")"
kill_pid "$HOLD_PID"

# Every other scheduler serves.
for s in ring lblc lblcr sed nq ovf twos; do
	svc "$s" "" 1 1 1
	C http "$VIP" 80 --count 9 >"$T/$s.txt"
	check_eq "$s: 9 requests answered" 9 "$(answers "$T/$s.txt")"
done
check_eq "-S -n gives the scheduler back" "-A -t $VIP:80 -s twos" "$(X -S -n | grep -- "^-A")"

# A save with every scheduler, its flags and thresholds restores unchanged
# (-R, then -S -n), and so does -S -n's own output.
port=1000
: >"$T/all.rules"
for s in ring rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos; do
	port=$((port + 1))
	case $s in
	sh) f=" -p 60 -b sh-fallback,sh-port" ;;
	mh) f=" -b mh-fallback,mh-port" ;;
	wrr) f=" -b flag-3" ;;
	*) f="" ;;
	esac
	echo "-A -t $VIP:$port -s $s$f" >>"$T/all.rules"
	echo "-a -t $VIP:$port -r $RS1:80 -m -w 3 -x 100 -y 50" >>"$T/all.rules"
	echo "-a -t $VIP:$port -r $RS2:80 -m -w 1" >>"$T/all.rules"
done
X -C
check "-R of a save with every scheduler" X -R <"$T/all.rules"
check_eq "-S -n gives every scheduler, flag and threshold back" "$(cat "$T/all.rules")" "$(X -S -n)"
X -S -n >"$T/all.saved"
X -C
X -R <"$T/all.saved"
check_eq "-S -n, -R, -S -n: unchanged" "$(cat "$T/all.rules")" "$(X -S -n)"
check "-L shows flags after the scheduler, as ipvsadm" \
	bash -c "'$B/xlbctl' --socket '$S' -L -n | grep -q '^TCP  $VIP:1009 sh (sh-fallback,sh-port) persistent 60\$'"
kill_pid "$XLBD_PID"
