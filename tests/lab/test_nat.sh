#!/bin/bash
# NAT end to end: two-armed director (client network, real-server network),
# the real servers route through it, the director's kernel does not forward:
# xlb translates both ways.
. "$(dirname "$0")/lib.sh"
lab_init
lab_up nat || { fail "lab up"; exit 1; }

S=$T/xlb.sock
LOG=$T/xlbd.log
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3
set -- $RS_NS; NS1=$1

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring
-a -t $VIP:80 -r $RS1:80 -m -w 1
-a -t $VIP:80 -r $RS2:80 -m -w 1
-a -t $VIP:80 -r $RS3:80 -m -w 1
-A -t $VIP:8080 -s ring
-a -t $VIP:8080 -r $RS1:80 -m -w 1
-A -u $VIP:$UDP_PORT -s ring
-a -u $VIP:$UDP_PORT -r $RS1:$UDP_PORT -m -w 1
-a -u $VIP:$UDP_PORT -r $RS2:$UDP_PORT -m -w 1
-a -u $VIP:$UDP_PORT -r $RS3:$UDP_PORT -m -w 1
RULES

check_eq "director does not forward (ip_forward=0)" 0 \
	"$(ip netns exec "$DIRECTOR_NS" cat /proc/sys/net/ipv4/ip_forward)"
check "the client cannot reach a real server directly" \
	bash -c "! ip netns exec '$CLIENT_NS' ping -c1 -W1 '$RS1' >/dev/null"

args=()
for i in $DIRECTOR_IFS; do args+=(-i "$i"); done
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" "${args[@]}" --rules "$T/rules" ||
	{ fail "xlbd starts"; exit 1; }

C http "$VIP" 80 --count 60 >"$T/60.txt"
check_eq "60 HTTP requests through NAT all succeed" 0 "$(grep -c ERROR "$T/60.txt")"
t=$(tally <"$T/60.txt"); echo "$t"
check_eq "and spread over the three servers" 3 "$(wc -l <<<"$t")"

want=$(sha256sum "$BIG_FILE_LOCAL" | cut -d' ' -f1)
got=$(C http "$VIP" 80 --path "$BIG_FILE" --timeout 10 | awk '{print $2, $3}')
check_eq "1 MiB download translated back intact" "$want 1048576" "$got"

check "real servers see the client's real address" \
	grep -q "^$CLIENT_IP " "$LABDIR/rs1/access.log" "$LABDIR/rs2/access.log" "$LABDIR/rs3/access.log"

# One real server in two services: replies are matched by their full tuple.
C http "$VIP" 8080 --sport 46000 --count 5 >"$T/8080.txt"
C http "$VIP" 80 --sport 46000 --count 5 >"$T/80.txt"
check_eq "a second service on the same real server answers" 0 "$(grep -c ERROR "$T/8080.txt")"
check_eq "the first service still answers from the same client ports" 0 "$(grep -c ERROR "$T/80.txt")"

C udp "$VIP" "$UDP_PORT" --sport 47000 --count 30 >"$T/udp.txt"
check_eq "30 UDP requests through NAT answered" 0 "$(grep -c ERROR "$T/udp.txt")"
check_eq "UDP spread over the three servers" 3 "$(tally <"$T/udp.txt" | wc -l)"

X -Z
C udp "$VIP" "$UDP_PORT" --sport 48000 --count 10 >/dev/null
stats=$(X -L -n --stats --exact -u "$VIP:$UDP_PORT"); echo "$stats"
read -r conns inp outp <<<"$(awk '$1=="UDP"{print $3, $4, $5}' <<<"$stats")"
check_eq "--stats: 10 connections" 10 "$conns"
check_eq "--stats: 10 packets in" 10 "$inp"
check_eq "--stats: 10 replies out (NAT sees both directions)" 10 "$outp"
X -L -n -c | head -n 5

# A "reply" from a real server's service port for a flow xlb never saw is
# steered (its source is a NAT real server) but dropped and counted.
ip netns exec "$NS1" /usr/bin/python3 -c "
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.sendto(struct.pack('!HHHH', $UDP_PORT, 9999, 13, 0) + b'stray', ('$CLIENT_IP', 0))"
sleep 0.3
kill_pid "$XLBD_PID"
grep -E "datapath:|xdp:" "$LOG" | tail -n 2
check "stray NAT-side packets are counted, not forwarded" grep -q "drop_no_service" "$LOG"
