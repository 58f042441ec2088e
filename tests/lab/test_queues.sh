#!/bin/bash
# Queues: a NAT director whose client-side interface has 2 RX queues and
# whose server-side interface has 1. Worker 1 serves client-side queue 1
# and must send to the servers through the server side's only queue (queue
# 1 mod 1 = 0, shared with worker 0, locked). Then: --queues smaller than a
# queue count is refused; a queue added with "ethtool -L" while xlbd runs
# is logged and counted; an interface with 256 queues is served on all.
#
# A veth receives on the queue its peer transmitted on, and the bridge
# picks the peer's TX queue by the flow's hash: flows spread over the
# director's client-side queues as RSS spreads them on a NIC.
. "$(dirname "$0")/lib.sh"
lab_init
# Three queues on the director's client-side veth, two in use: the third
# is the one "ethtool -L" adds later.
lab_up nat --client-queues 3 || { fail "lab up"; exit 1; }

S=$T/xlb.sock
LOG=$T/xlbd.log
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
D() { ip netns exec "$DIRECTOR_NS" "$@"; }
# counter GROUP NAME: one value of xlbctl --counters (empty if absent).
counter() { X --counters | awk -v g="$1" -v n="$2" '$1 == g && $2 == n { print $3 }'; }
# rxq NS IF: the interface's RX queue count (ethtool -l, current).
rxq() { ip netns exec "$1" ethtool -l "$2" | awk '/^Current/ { c = 1 } c && /^RX:/ { print $2; exit }'; }
DC=$DIRECTOR_IF_CLIENT DR=$DIRECTOR_IF_RS
set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3

ip netns exec "$SWITCH_NS" ethtool -L "${P}ds" rx 2 tx 2
D ethtool -L "$DC" rx 2 tx 2
check_eq "the director's client side has 2 RX queues" 2 "$(rxq "$DIRECTOR_NS" "$DC")"
check_eq "its server side has 1" 1 "$(rxq "$DIRECTOR_NS" "$DR")"

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring
-a -t $VIP:80 -r $RS1:80 -m -w 1
-a -t $VIP:80 -r $RS2:80 -m -w 1
-a -t $VIP:80 -r $RS3:80 -m -w 1
-A -u $VIP:$UDP_PORT -s ring
-a -u $VIP:$UDP_PORT -r $RS1:$UDP_PORT -m -w 1
-a -u $VIP:$UDP_PORT -r $RS2:$UDP_PORT -m -w 1
-a -u $VIP:$UDP_PORT -r $RS3:$UDP_PORT -m -w 1
RULES

# --queues 1 would leave queue 1 unserved: refused, with both numbers.
rc=0
D timeout 20 "$B/xlbd" --socket "$T/refused.sock" -i "$DC" -i "$DR" --queues 1 \
	--rules "$T/rules" >"$T/refused.log" 2>&1 || rc=$?
cat "$T/refused.log"
check_eq "xlbd --queues 1 refuses to start (exit 1)" 1 "$rc"
check "and says which interface has how many queues" \
	grep -q -- "--queues 1: $DC has 2 RX queues, and VIP packets on queue 1 would be dropped" \
	"$T/refused.log"
links=$(ip -n "$DIRECTOR_NS" -o link show "$DC")
check "ip shows the director's client-side link" grep -q "$DC" <<<"$links"
check "and no XDP program on it: nothing was attached" bash -c "! grep -q prog/xdp <<<'$links'"

# --queues 2 is what the interface has: accepted (the server side's 1 is fine).
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" -i "$DC" -i "$DR" --queues 2 --rules "$T/rules" ||
	{ fail "xlbd starts"; exit 1; }
check "xlbd attached its XDP program" grep -q prog/xdp <<<"$(ip -n "$DIRECTOR_NS" -o link show "$DC")"
check "and runs two workers" grep -q "2 worker(s)" "$LOG"

C http "$VIP" 80 --sport 41000 --count 60 >"$T/http.txt"
check_eq "60 HTTP requests from 60 source ports: 60 answers" 60 \
	"$(grep -vc ERROR "$T/http.txt")"
t=$(tally <"$T/http.txt"); echo "$t"
check_eq "from the three servers" 3 "$(grep -c '^rs' <<<"$t")"
C udp "$VIP" "$UDP_PORT" --sport 42000 --count 30 >"$T/udp.txt"
check_eq "30 UDP queries from 30 source ports: 30 answers" 30 \
	"$(grep -vc ERROR "$T/udp.txt")"

X --counters | grep -E "^xsk_queue|redirect|tx_full" | tr '\n' ' '; echo
rx0=$(counter xsk_queue "$DC:rx0") rx1=$(counter xsk_queue "$DC:rx1")
check "client-side queue 0 received requests (xsk: ${rx0:-none})" test "${rx0:-0}" -gt 0
check "client-side queue 1 received requests (xsk: ${rx1:-none})" test "${rx1:-0}" -gt 0
kq1=$(D ethtool -S "$DC" | awk '$1 == "rx_queue_1_xdp_redirect:" { print $2 }')
check "the kernel agrees: XDP redirected on queue 1 (${kq1:-none})" test "${kq1:-0}" -gt 0
tx0=$(counter xsk_queue "$DR:tx0")
check "the server side's one queue carried both workers' requests ($tx0 >= $rx0 + $rx1 - 10)" \
	test "${tx0:-0}" -ge $(( ${rx0:-0} + ${rx1:-0} - 10 ))
check_eq "no steered packet without a socket" 0 "$(counter xdp redirect_failed)"
check_eq "no queue unserved" 0 "$(counter xsk queues_unserved)"

# A burst through both workers and the shared server-side queue: frames
# handed between workers come back through the shared pool.
ip netns exec "$CLIENT_NS" /usr/bin/python3 - "$VIP" "$UDP_PORT" <<'PY'
import select, socket, sys, time
vip, port = sys.argv[1], int(sys.argv[2])
socks = []
for i in range(64):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 44000 + i))
    s.setblocking(False)
    socks.append(s)
def drain():
    n = 0
    for s in socks:
        try:
            while True:
                s.recv(2048)
                n += 1
        except BlockingIOError:
            pass
    return n
sent = got = 0
for k in range(40000):
    try:
        socks[k % 64].sendto(b"who", (vip, port))
        sent += 1
    except BlockingIOError:
        pass
    if k % 64 == 63:
        got += drain()
end = time.time() + 2
while time.time() < end:
    select.select(socks, [], [], 0.2)
    got += drain()
print("burst: %d datagrams sent from 64 ports, %d answered" % (sent, got))
PY
X --counters | grep -E "^xsk |^datapath (rx|tx) " | tr '\n' ' '; echo
C http "$VIP" 80 --sport 45000 --count 60 >"$T/http2.txt"
check_eq "after the burst, 60/60 again" 60 "$(grep -vc ERROR "$T/http2.txt")"

# A queue added while xlbd runs has no socket: said loudly and counted.
check "ethtool -L adds a third RX queue" D ethtool -L "$DC" rx 3
check "xlbd logs that $DC now has 3 queues, 1 unserved" \
	wait_for 5 grep -q "$DC now has 3 RX queues (was 2) but xlbd serves queues 0-1: VIP packets that RSS puts on queue 2 are dropped" "$LOG"
grep "now has" "$LOG"
check_eq "counted: xsk queue_changes" 1 "$(counter xsk queue_changes)"
check_eq "counted: xsk queues_unserved" 1 "$(counter xsk queues_unserved)"
C http "$VIP" 80 --sport 43000 --count 20 >"$T/after.txt"
check_eq "queues 0-1 still forward: 20/20" 20 "$(grep -vc ERROR "$T/after.txt")"
kill_pid "$XLBD_PID"
grep -E "datapath:|xdp:" "$LOG" | tail -n 2

# 256 queues: a veth pair of its own, a UDP service without real servers
# (steered, received, dropped as drop_no_real_server): every packet must
# reach a socket, on whatever queue its flow hash chose.
NQ=256 N1=${P}-q1 N2=${P}-q2
X=$(( 16#${P:1:2} % 200 + 20 )) Y=$(( 16#${P:3:2} ))
QA=10.$X.$Y.1 QB=10.$X.$Y.2
for ns in $N1 $N2; do
	lab_on_exit "ip netns del $ns"
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add ${P}qa numtxqueues $NQ numrxqueues $NQ netns $N1 type veth \
	peer name ${P}qb numtxqueues $NQ numrxqueues $NQ netns $N2
ip -n $N1 addr add $QA/24 dev ${P}qa
ip -n $N2 addr add $QB/24 dev ${P}qb
ip -n $N1 link set ${P}qa up
ip -n $N2 link set ${P}qb up
ip netns exec $N2 ethtool -K ${P}qb tx off >/dev/null
S2=$T/q256.sock LOG2=$T/q256.log
xlbd_start "$N1" "$S2" "$LOG2" -i ${P}qa ||
	{ fail "xlbd starts on $NQ queues"; tail "$LOG2"; exit 1; }
check "xlbd runs $NQ workers" grep -q "$NQ worker(s)" "$LOG2"
"$B/xlbctl" --socket "$S2" -A -u $QA:9
# send FIRST_PORT COUNT: one datagram from each of COUNT source ports.
send() {
	ip netns exec $N2 /usr/bin/python3 -c '
import socket, sys
for p in range(int(sys.argv[3]), int(sys.argv[3]) + int(sys.argv[4])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[2], p))
    s.sendto(b"q", (sys.argv[1], 9))
    s.close()' "$QA" "$QB" "$1" "$2"
	sleep 0.5
}
send 30000 600
c2=$("$B/xlbctl" --socket "$S2" --counters)
used=$(awk -v i="${P}qa" '$1 == "xsk_queue" && $2 ~ "^" i ":rx" && $3 > 0' <<<"$c2" | wc -l)
high=$(awk -v i="${P}qa" '$1 == "xsk_queue" && $2 ~ "^" i ":rx" && $3 > 0 {
	sub(".*:rx", "", $2); if ($2 + 0 >= 64) n++ } END { print n + 0 }' <<<"$c2")
sockets=$(awk -v i="${P}qa" '$1 == "xsk_queue" && $2 ~ "^" i ":rx"' <<<"$c2" | wc -l)
got=$(awk '$1 == "datapath" && $2 == "rx" { print $3 }' <<<"$c2")
failed=$(awk '$1 == "xdp" && $2 == "redirect_failed" { print $3 }' <<<"$c2")
echo "256 queues: $sockets sockets, $used received, $high of them queue 64 or above, worker rx $got"
check_eq "a socket on each of the $NQ queues" $NQ "$sockets"
check "600 flows reached more than 100 distinct queues ($used)" test "$used" -gt 100
check "including queues past 64 ($high)" test "$high" -gt 0
check_eq "all 600 datagrams reached a worker" 600 "$got"
check_eq "none found a queue without a socket" 0 "$failed"

# lb/xsk.c alone (xsk_fwd, the AF_XDP floor built on it) with rings of 64,
# so that frames handed between workers through the shared socket fill a
# worker's cache and travel back through the shared pool: between a 2-queue
# and a 1-queue veth, iperf3 over 16 flows, then 8 MiB over TCP intact.
FWD=$B/bench/xsk_fwd NA=${P}-fa NM=${P}-fm NB=${P}-fb
FA=10.$X.$((Y ^ 1)).1 FB=10.$X.$((Y ^ 1)).2
for ns in $NA $NM $NB; do
	lab_on_exit "ip netns del $ns"
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add ${P}fa numtxqueues 2 numrxqueues 2 netns $NA type veth \
	peer name ${P}fm numtxqueues 2 numrxqueues 2 netns $NM
ip link add ${P}fb netns $NB type veth peer name ${P}fn netns $NM
ip -n $NA addr add $FA/24 dev ${P}fa
ip -n $NB addr add $FB/24 dev ${P}fb
for l in "$NA ${P}fa" "$NB ${P}fb" "$NM ${P}fm" "$NM ${P}fn"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
ip netns exec $NA ethtool -K ${P}fa tx off >/dev/null
ip netns exec $NB ethtool -K ${P}fb tx off >/dev/null
ip netns exec $NM "$FWD" -i ${P}fm -i ${P}fn -r 64 -s >"$T/fwd.log" 2>&1 &
FWD_PID=$!
lab_on_exit "kill_pid $FWD_PID INT"
check "xsk_fwd starts on 2 + 1 queues with 2 workers" wait_for 10 grep -q "1 queues), copy mode, 2 workers" "$T/fwd.log"
ip netns exec $NA ping -c 3 -i 0.2 -W 2 -q $FB >/dev/null 2>&1	# ARP both ways
# 16 flows for 2 s: each queue of ${P}fa carries some (all on one: 2^-15).
ip netns exec $NB iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
IPF_PID=$!
lab_on_exit "kill_pid $IPF_PID"
sleep 0.3
ip netns exec $NA timeout 20 iperf3 -c $FB -p 5201 -t 2 -P 16 2>&1 | grep -E "SUM.*receiver" | tail -n 1
head -c $((8 << 20)) /dev/urandom >"$T/send"
ip netns exec $NB socat -u TCP-LISTEN:5001,reuseaddr OPEN:"$T/recv",creat,trunc &
SRV_PID=$!
lab_on_exit "kill_pid $SRV_PID"
sleep 0.3
for i in 1 2 3 4; do
	ip netns exec $NA timeout 30 socat -u OPEN:"$T/send" TCP:$FB:5001 2>/dev/null && break
	sleep 0.3
done
wait $SRV_PID 2>/dev/null
check "8 MiB through xsk_fwd arrive intact" cmp -s "$T/send" "$T/recv"
kill_pid $FWD_PID INT
tail -n 3 "$T/fwd.log"
swaps=$(sed -n 's/^slab_swaps=//p' "$T/fwd.log")
check "frames came back through the shared pool (slab swaps: ${swaps:-none})" test "${swaps:-0}" -gt 0
