#!/bin/bash
# The director's own traffic is its own: while a NAT service carries
# client traffic, the director itself talks to the same real servers on
# the same (RIP, port) — `curl http://RIP/` as an operator or a health
# checker would, UDP queries to RIP:5353 — and every answer reaches its
# kernel. Only replies to translated connections are taken by xlb: the
# XDP program leaves packets from a NAT real server to any of the
# director's own addresses (followed as they come and go) to the kernel.
. "$(dirname "$0")/lib.sh"
lab_init
lab_up nat || { fail "lab up"; exit 1; }

S=$T/xlb.sock
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
D() { ip netns exec "$DIRECTOR_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
L() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" "$@"; }
set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3
set -- $RS_NAMES; N1=$1; N2=$2; N3=$3

{
	echo "-A -t $VIP:80 -s ring"
	echo "-A -u $VIP:$UDP_PORT -s ring"
	for r in $RS_IPS; do
		echo "-a -t $VIP:80 -r $r:80 -m -w 1"
		echo "-a -u $VIP:$UDP_PORT -r $r:$UDP_PORT -m -w 1"
	done
} >"$T/rules"
args=(--rules "$T/rules")
for i in $DIRECTOR_IFS; do args+=(-i "$i"); done

# Before xlbd: the director reaches its servers (so the checks below can
# fail only because of xlb).
check "without xlbd the director's curl to $RS1:80 works" \
	ip netns exec "$DIRECTOR_NS" curl -s -m 2 -o /dev/null "http://$RS1:80/"

xlbd_start "$DIRECTOR_NS" "$S" "$T/xlbd.log" "${args[@]}" || { fail "xlbd starts"; exit 1; }

# The NAT service carries client traffic throughout.
rm -f "$T/stop"
L http "$VIP" 80 --stop-file "$T/stop" --interval 0.05 --timeout 2 >"$T/load.txt" &
lp=$!
lab_on_exit "touch '$T/stop'; kill_pid $lp"
sleep 1

# curl from the director, 10 times to each real server.
: >"$T/curl.txt"
for i in $(seq 1 10); do
	for r in $RS1 $RS2 $RS3; do
		ip netns exec "$DIRECTOR_NS" curl -s -m 2 "http://$r:80/" >>"$T/curl.txt" 2>/dev/null ||
			echo "ERROR curl $r" >>"$T/curl.txt"
	done
done
check_eq "30 curls from the director to the NAT real servers all answered" 30 \
	"$(grep -c -E "^($N1|$N2|$N3)\$" "$T/curl.txt")"
check_eq "each by the server asked (10 each)" "10 10 10" \
	"$(for n in $N1 $N2 $N3; do grep -c "^$n\$" "$T/curl.txt"; done | xargs)"

# UDP from the director to RIP:5353, a NAT server port of the UDP service.
D udp "$RS2" "$UDP_PORT" --sport 47000 --count 10 >"$T/udp.txt"
check_eq "10 UDP queries from the director to $RS2:$UDP_PORT answered" 0 \
	"$(grep -c ERROR "$T/udp.txt")"
check_eq "by $N2" 10 "$(grep -c " $N2\$" "$T/udp.txt")"

# An address the director gains while xlbd runs is its own too.
NEW=${RS_NET%.0/24}.201
ip -n "$DIRECTOR_NS" addr add "$NEW/24" dev "$DIRECTOR_IF_RS"
lab_on_exit "ip -n '$DIRECTOR_NS' addr del '$NEW/24' dev '$DIRECTOR_IF_RS'"
sleep 0.3
out=$(ip netns exec "$DIRECTOR_NS" curl -s -m 2 --interface "$NEW" "http://$RS3:80/")
check_eq "from an address added while xlbd runs ($NEW), curl to $RS3:80 works" "$N3" "$out"

sleep 0.5
touch "$T/stop"
wait "$lp"
nreq=$(wc -l <"$T/load.txt")
nerr=$(grep -c ERROR "$T/load.txt")
echo "client requests through the NAT service meanwhile: $nreq, errors: $nerr"
check "the NAT service carried client traffic meanwhile ($nreq requests)" test "$nreq" -ge 10
check_eq "and every client request was answered" 0 "$nerr"
own=$(X --counters | awk '$1 == "xdp" && $2 == "own_traffic_passed" { print $3 }')
rep=$(X --counters | awk '$1 == "xdp" && $2 == "nat_replies" { print $3 }')
echo "xdp: own_traffic_passed=$own nat_replies=$rep"
check "the XDP program counted the director's own packets as passed (${own:-none})" \
	test "${own:-0}" -ge 30
check "while it steered the NAT replies (${rep:-none})" test "${rep:-0}" -ge "$nreq"
