#!/bin/bash
# TUN end to end: the director encapsulates (IP-in-IP) towards real servers
# on a separate network; they decapsulate with xlb's XDP program (this kernel
# has no ipip module) and answer the client directly over their own leg.
. "$(dirname "$0")/lib.sh"
lab_init
lab_up tun || { fail "lab up"; exit 1; }

S=$T/xlb.sock
LOG=$T/xlbd.log
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
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
args=()
for i in $DIRECTOR_IFS; do args+=(-i "$i"); done
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" "${args[@]}" --rules "$T/rules" ||
	{ fail "xlbd starts"; exit 1; }

C http "$VIP" 80 --count 60 >"$T/60.txt"
check_eq "60 HTTP requests through the tunnel all succeed" 0 "$(grep -c ERROR "$T/60.txt")"
t=$(tally <"$T/60.txt"); echo "$t"
check_eq "and spread over the three servers" 3 "$(wc -l <<<"$t")"

want=$(sha256sum "$BIG_FILE_LOCAL" | cut -d' ' -f1)
got=$(C http "$VIP" 80 --path "$BIG_FILE" --timeout 10 | awk '{print $2, $3}')
check_eq "1 MiB download intact (replies go direct)" "$want 1048576" "$got"

C udp "$VIP" "$UDP_PORT" --count 30 >"$T/udp.txt"
check_eq "30 UDP requests through the tunnel answered" 0 "$(grep -c ERROR "$T/udp.txt")"
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
kill_pid "$XLBD_PID"
grep -E "datapath:|xdp:" "$LOG" | tail -n 2
check "frag-needed was counted" grep -q "frag_needed_sent=" "$LOG"
