#!/bin/bash
# TUN end to end: the director encapsulates (IP-in-IP) towards real servers
# on a separate network; they decapsulate with xlb's XDP program (this kernel
# has no ipip module) and answer the client directly over their own leg.
. "$(dirname "$0")/lib.sh"
lab_start tun

set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring
-a -t $VIP:80 -r $RS1:80 -i -w 1
-a -t $VIP:80 -r $RS2:80 -i -w 1
-a -t $VIP:80 -r $RS3:80 -i -w 1
-A -u $VIP:$UDP_PORT -s ring
-a -u $VIP:$UDP_PORT -r $RS1:$UDP_PORT -i -w 1
-a -u $VIP:$UDP_PORT -r $RS2:$UDP_PORT -i -w 1
-a -u $VIP:$UDP_PORT -r $RS3:$UDP_PORT -i -w 1
RULES

check_eq "director does not forward (ip_forward=0)" 0 \
	"$(ip netns exec "$DIRECTOR_NS" cat /proc/sys/net/ipv4/ip_forward)"
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }

C http "$VIP" 80 --count 60 >"$T/60.txt"
check_eq "60 HTTP requests through the tunnel all succeed" 60 "$(answers "$T/60.txt")"
t=$(tally <"$T/60.txt"); echo "$t"
check_eq "and spread over the three servers" 3 "$(wc -l <<<"$t")"

want=$(sha256sum "$BIG_FILE_LOCAL" | cut -d' ' -f1)
got=$(C http "$VIP" 80 --path "$BIG_FILE" --timeout 10 | awk '{print $2, $3}')
check_eq "1 MiB download intact (replies go direct)" "$want 1048576" "$got"

C udp "$VIP" "$UDP_PORT" --count 30 >"$T/udp.txt"
check_eq "30 UDP requests through the tunnel answered" 30 "$(answers "$T/udp.txt")"
check_eq "UDP spread over the three servers" 3 "$(tally <"$T/udp.txt" | wc -l)"

# IP-in-IP on the wire between director and real servers.
ip netns exec "$SWITCH_NS" timeout 3 tcpdump -c 1 -nni "${RS_SWITCH_IFS%% *}" \
	'ip proto 4' >"$T/cap.txt" 2>/dev/null &
cap=$!
sleep 0.5
C udp "$VIP" "$UDP_PORT" --count 20 >/dev/null
wait "$cap"
check "IP-in-IP (protocol 4) on the real servers' network" grep -q "IP" "$T/cap.txt"

# Too big for the tunnel with DF: the client gets "fragmentation needed"
# with the tunnel's MTU (1500 - 20) and lowers its path MTU, as with IPVS.
mtu=$(ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/pmtu.py" "$VIP" "$UDP_PORT" 1472)
check_eq "DF datagram too big for the tunnel: client learns MTU 1480" "mtu 1480" "$mtu"

# Counter GROUP NAME from xlbctl --counters (empty if there is none).
cnt() { X --counters 2>/dev/null | awk -v g="$1" -v n="$2" '$1 == g && $2 == n { print $3 }'; }
TF() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/tunfrag.py" "$@"; }
workers=$(grep -oE '[0-9]+ worker\(s\)' "$LOG" | head -n 1 | cut -d' ' -f1)

# Too big for the tunnel WITHOUT DF (syslog, RADIUS, SIP): sent in outer
# fragments, as IPVS's ip_fragment() would. A real server whose kernel has
# ipip reassembles them; this kernel has none, and xlb's decap program
# drops outer fragments, so the lab cannot show delivery: it checks the
# fragments on the real servers' wire (the director's switch port there).
frag0=$(cnt datapath tun_fragmented)
ip netns exec "$SWITCH_NS" timeout 8 tcpdump -U -c 2 -s 0 -w "$T/frag.pcap" \
	-nni "${LAB_PREFIX}d1s" 'ip proto 4 and ip[6:2] & 0x3fff != 0' 2>"$T/frag.err" &
cap=$!
wait_for 3 grep -q listening "$T/frag.err"
TF send "$CLIENT_IF" "$CLIENT_MAC" "$DIRECTOR_MAC" "$CLIENT_IP" "$VIP" "$UDP_PORT" \
	--size 1500 --sport 20000 >/dev/null
wait "$cap"
check_eq "a 1500-byte datagram without DF is sent in fragments (tun_fragmented +1)" \
	1 $(( $(cnt datapath tun_fragmented || echo 0) - ${frag0:-0} ))
TF verify "$T/frag.pcap" "$CLIENT_IP" "$VIP" "$UDP_PORT" "$DIRECTOR_IP_RS" \
	--size 1500 --sport 20000 >"$T/frag.txt" 2>&1
cat "$T/frag.txt"
check_eq "2 outer fragments (1480 + 20 inner bytes), well formed, reassembling to the client's datagram" \
	"ok 2 fragments" "$(tail -n 1 "$T/frag.txt")"

# A burst of oversized DF packets, each a new flow from a spoofable
# source: frag-needed goes out at most at the kernel's global ICMP rate
# (burst 50, then 1000 a second, per worker) and no connection entry is
# made for a packet that cannot be sent.
created0=$(cnt conn created); count0=$(cnt conn count)
fn0=$(cnt datapath frag_needed_sent); rl0=$(cnt datapath drop_frag_needed_ratelimited)
t0=$(date +%s%N)
out=$(TF send "$CLIENT_IF" "$CLIENT_MAC" "$DIRECTOR_MAC" "$CLIENT_IP" "$VIP" "$UDP_PORT" \
	--size 1500 --df --count 20000 --sport 21000)
fn=$(( $(cnt datapath frag_needed_sent) - fn0 ))
t1=$(date +%s%N)
rl=$(( $(cnt datapath drop_frag_needed_ratelimited || echo 0) - ${rl0:-0} ))
ms=$(( (t1 - t0) / 1000000 ))
bound=$(( ${workers:-1} * (50 + ms) ))
echo "  $out; director: $fn frag-needed sent, $rl rate-limited in $ms ms, ${workers:-?} worker(s): bound $bound"
check "frag-needed replies to 20000 oversized DF packets: $fn <= ${workers:-1} x (50 + 1000/s x $ms ms) = $bound" \
	test "$fn" -le "$bound"
check "path MTU discovery still answered: $fn >= 50 (the burst)" test "$fn" -ge 50
check "the rest is counted as rate-limited ($rl)" test "$rl" -gt 0
check_eq "the client got every frag-needed the director sent" "frag_needed $fn" "${out##*, }"
check_eq "refused packets made no connection entry (conn created +0)" 0 $(( $(cnt conn created) - created0 ))
check_eq "and left none (conn count unchanged)" "$count0" "$(cnt conn count)"
kill_pid "$XLBD_PID"
grep -E "datapath:|xdp:" "$LOG" | tail -n 2
check "frag-needed was counted" grep -q "frag_needed_sent=" "$LOG"

# A jumbo datagram (client network at MTU 3000, the real servers' at 1500):
# three outer fragments, two of them in spare frames of the worker's pool.
# (MTUs set while no XDP program is attached: veth checks them at attach.)
for i in "$CLIENT_NS ${LAB_PREFIX}c0" "$SWITCH_NS ${LAB_PREFIX}cs" \
	 "$SWITCH_NS ${LAB_PREFIX}ds" "$DIRECTOR_NS $DIRECTOR_IF_CLIENT"; do
	set -- $i
	ip -n "$1" link set "$2" mtu 3000
done
xlbd_up "$T/rules" || { fail "xlbd starts again (client network at MTU 3000)"; exit 1; }
C udp "$VIP" "$UDP_PORT" --count 6 >/dev/null	# next hops resolved
ip netns exec "$SWITCH_NS" timeout 8 tcpdump -U -c 3 -s 0 -w "$T/jumbo.pcap" \
	-nni "${LAB_PREFIX}d1s" 'ip proto 4 and ip[6:2] & 0x3fff != 0' 2>"$T/jumbo.err" &
cap=$!
wait_for 3 grep -q listening "$T/jumbo.err"
TF send "$CLIENT_IF" "$CLIENT_MAC" "$DIRECTOR_MAC" "$CLIENT_IP" "$VIP" "$UDP_PORT" \
	--size 3000 --sport 20001 >/dev/null
wait "$cap"
TF verify "$T/jumbo.pcap" "$CLIENT_IP" "$VIP" "$UDP_PORT" "$DIRECTOR_IP_RS" \
	--size 3000 --sport 20001 >"$T/jumbo.txt" 2>&1
cat "$T/jumbo.txt"
check_eq "a 3000-byte datagram without DF: 3 outer fragments (1480 + 1480 + 40), reassembling to it" \
	"ok 3 fragments" "$(tail -n 1 "$T/jumbo.txt")"
check_eq "counted once (tun_fragmented 1), no frame short (drop_tun_frag_no_frame 0)" \
	"1 0" "$(cnt datapath tun_fragmented) $(cnt datapath drop_tun_frag_no_frame)"
kill_pid "$XLBD_PID"
