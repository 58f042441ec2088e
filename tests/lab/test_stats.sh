#!/bin/bash
# --stats counts what xlb forwarded to a real server, exactly (TUN lab): a
# packet the rewrite refuses is not in InPkts/InBytes/Conns. The refusal
# here is a UDP datagram with DF set that no longer fits the real servers'
# link once the 20-byte outer header is added: the TUN rewrite refuses it
# (-EMSGSIZE), xlb answers "fragmentation needed" (datapath
# frag_needed_sent) and nothing reaches a real server.
. "$(dirname "$0")/lib.sh"
lab_init
lab_up tun || { fail "lab up"; exit 1; }

S=$T/xlb.sock
LOG=$T/xlbd.log
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
counter() { X --counters | awk -v g="$1" -v n="$2" '$1 == g && $2 == n { print $3 }'; }
# svc_stats: "Conns InPkts OutPkts InBytes OutBytes" of the UDP service.
svc_stats() { X -L -n --stats --exact -u "$VIP:$UDP_PORT" | awk '$1 == "UDP" { print $3, $4, $5, $6, $7 }'; }

{
	echo "-A -u $VIP:$UDP_PORT -s ring"
	for r in $RS_IPS; do echo "-a -u $VIP:$UDP_PORT -r $r:$UDP_PORT -i -w 1"; done
} >"$T/rules"
args=()
for i in $DIRECTOR_IFS; do args+=(-i "$i"); done
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" "${args[@]}" --rules "$T/rules" ||
	{ fail "xlbd starts"; exit 1; }
check "xlbctl --counters has datapath frag_needed_sent" test -n "$(counter datapath frag_needed_sent)"

# 20 datagrams of "who" (IP total length 20 + 8 + 3 = 31), one per flow.
X -Z
C udp "$VIP" "$UDP_PORT" --sport 41000 --count 20 >"$T/udp.txt"
check_eq "20 UDP requests through the tunnel answered" 20 "$(answers "$T/udp.txt")"
X -L -n --stats --exact -u "$VIP:$UDP_PORT"
check_eq "--stats: 20 conns, 20 packets, 620 bytes in (TUN: nothing out)" "20 20 0 620 0" "$(svc_stats)"

# The refused datagram: 1472 bytes of payload (IP 1500, 1520 once
# encapsulated), DF set, from a new flow.
fn0=$(counter datapath frag_needed_sent)
mtu=$(ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/pmtu.py" "$VIP" "$UDP_PORT" 1472)
fn1=$(counter datapath frag_needed_sent)
echo "frag_needed_sent: $fn0 -> $fn1; client: $mtu"
check_eq "the client learnt the tunnel's MTU from xlb" "mtu 1480" "$mtu"
check "the TUN rewrite refused the datagram (frag_needed_sent +$((fn1 - fn0)))" test "$fn1" -gt "$fn0"
X -L -n --stats --exact -u "$VIP:$UDP_PORT"
check_eq "--stats after the refusal: unchanged (20 conns, 20 packets, 620 bytes)" "20 20 0 620 0" "$(svc_stats)"
check_eq "--stats: the real servers' rows add up to 20 packets, 620 bytes" "20 620" \
	"$(X -L -n --stats --exact -u "$VIP:$UDP_PORT" | awk '$1 == "->" && $2 ~ /^[0-9]/ { p += $4; b += $6 } END { print p + 0, b + 0 }')"

# And what is forwarded afterwards is counted again.
C udp "$VIP" "$UDP_PORT" --sport 42000 --count 5 >"$T/udp5.txt"
check_eq "5 more requests answered" 5 "$(answers "$T/udp5.txt")"
check_eq "--stats: 25 conns, 25 packets, 775 bytes" "25 25 0 775 0" "$(svc_stats)"
kill_pid "$XLBD_PID"
grep -E "datapath:|xdp:" "$LOG" | tail -n 2
