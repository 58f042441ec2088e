#!/bin/bash
# A director that carries a large routing table (a BGP feed): 100,000
# routes in its main table before xlbd starts, and NAT replies still find
# their way to the client (the route table once stopped at 1,024 routes and
# then dropped every reply). Route events on top of it are followed: a /32
# that sends the client through an unreachable gateway stops the replies,
# removing it brings them back. First, established NAT connections follow
# a change of the client's MAC (replies are not sent to a frozen one).
. "$(dirname "$0")/lib.sh"
lab_init
lab_up nat || { fail "lab up"; exit 1; }

S=$T/xlb.sock
LOG=$T/xlbd.log
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
read -r -a ips <<<"$RS_IPS"
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring
RULES
for ip in "${ips[@]}"; do echo "-a -t $VIP:80 -r $ip:80 -m -w 1" >>"$T/rules"; done

args=()
for i in $DIRECTOR_IFS; do args+=(-i "$i"); done

# 1. NAT replies follow the client's next hop: 10 long-lived connections
# while the client takes a new MAC and announces it (gratuitous ARP).
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" "${args[@]}" --rules "$T/rules" ||
	{ fail "xlbd starts"; exit 1; }
# The client's next hop known first: the connections below bind it.
C http "$VIP" 80 --count 5 >"$T/warm.txt"
check_eq "5 NAT requests answered" 0 "$(grep -c ERROR "$T/warm.txt")"
ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" keep "$VIP" 80 \
	--conns 10 --duration 9 --interval 0.1 --timeout 3 >"$T/keep.txt" &
keep=$!
sleep 3
cmac=$(printf '02:5b:%02x:00:00:01' $((0x${P:1:2})))
ip -n "$CLIENT_NS" link set dev "$CLIENT_IF" address "$cmac"
ip netns exec "$CLIENT_NS" /usr/bin/python3 - "$CLIENT_IF" "$CLIENT_IP" "$cmac" <<'PY'
import sys
from scapy.all import ARP, Ether, sendp
ifn, ip, mac = sys.argv[1:4]
sendp(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
      ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00", pdst=ip),
      iface=ifn, count=2, inter=0.05, verbose=0)
PY
check "the director's kernel learnt the client is now at $cmac" \
	wait_for 5 bash -c "ip -n '$DIRECTOR_NS' neigh show '$CLIENT_IP' | grep -qi '$cmac'"
wait "$keep"
grep -v ' ok$' "$T/keep.txt" | head -n 12
check_eq "10 long-lived NAT connections survive the client's MAC change" \
	"survived: 10 of 10 (100%)" "$(tail -n 1 "$T/keep.txt")"

kill_pid "$XLBD_PID"

# 2. 100,352 routes in 10.0.0.0/8 outside this lab's own /16: 50,176 /24s
# through a real server (a gateway on the server side) and 50,176 /32
# blackholes (what a BGP table's more specifics and a null route look like).
lab16=${VIP#10.}; lab16=${lab16%%.*}
/usr/bin/python3 - "$lab16" "${ips[0]}" >"$T/routes" <<'PY'
import sys
lab, gw = int(sys.argv[1]), sys.argv[2]
ys = [y for y in range(1, 255) if y != lab]
for y in ys[:196]:
    for a in range(256):
        print("route add 10.%d.%d.0/24 via %s" % (y, a, gw))
for y in ys[196:198]:
    for a in range(256):
        for b in range(98):
            print("route add blackhole 10.%d.%d.%d/32" % (y, a, b))
PY
t0=$(date +%s.%N)
check "ip -batch adds $(wc -l <"$T/routes") routes to the director's main table" \
	ip -n "$DIRECTOR_NS" -batch "$T/routes"
n=$(ip -n "$DIRECTOR_NS" route show table main | wc -l)
echo "  main table: $n routes ($(since "$t0") s to add)"
check "the main table holds more than 100,000 routes" test "$n" -gt 100000

t0=$(date +%s.%N)
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" "${args[@]}" --rules "$T/rules" ||
	{ fail "xlbd starts"; exit 1; }
echo "  xlbd up in $(since "$t0") s"
line=$(grep "nexthop: main table" "$LOG" | tail -n 1); echo "  $line"
held=$(sed -n 's/.*main table: \([0-9]*\) routes.*/\1/p' <<<"$line")
check "xlbd holds every route of the main table ($n)" test "${held:-0}" -ge 100352
X --counters | grep '^nexthop'
check "--counters shows them (nexthop routes)" \
	test "$(X --counters | awk '$1 == "nexthop" && $2 == "routes" { print $3 }')" -ge 100352

C http "$VIP" 80 --count 30 >"$T/30.txt"
check_eq "30 NAT requests answered with 100,000 routes in the table" 0 "$(grep -c ERROR "$T/30.txt")"
check_eq "over all ${#ips[@]} servers" "${#ips[@]}" "$(tally <"$T/30.txt" | wc -l)"

# A route event on top: the client behind a gateway nobody answers for.
csub=${CLIENT_IP%.*}
ip -n "$DIRECTOR_NS" route add "$CLIENT_IP/32" via "$csub.254"
sleep 0.3
C http "$VIP" 80 --count 3 --timeout 1 >"$T/gw.txt"
check_eq "with the client routed through a dead gateway, replies stop" 3 "$(grep -c ERROR "$T/gw.txt")"
ip -n "$DIRECTOR_NS" route del "$CLIENT_IP/32"
sleep 0.3
C http "$VIP" 80 --count 30 >"$T/back.txt"
check_eq "the route removed, 30 requests are answered again" 0 "$(grep -c ERROR "$T/back.txt")"

# And removing 50,176 routes at once is followed too (no error, replies flow).
sed 's/^route add/route del/' "$T/routes" | tail -n 50176 >"$T/del"
ip -n "$DIRECTOR_NS" -batch "$T/del"
sleep 1
C http "$VIP" 80 --count 10 >"$T/after.txt"
check_eq "after 50,176 routes are deleted, 10 requests are answered" 0 "$(grep -c ERROR "$T/after.txt")"
X --counters | awk '$1 == "datapath" && $3 != 0'
kill_pid "$XLBD_PID"
grep -E "nexthop|datapath:" "$LOG" | tail -n 6
