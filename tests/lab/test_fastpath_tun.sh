#!/bin/bash
# The fast path in TUN (issue 11): a flow moves into XDP (IP-in-IP built
# there), and what XDP must not send stays userspace's: a DF datagram too
# big for the tunnel on an installed flow still gets "fragmentation
# needed" from userspace, and the flow stays in the fast path.
. "$(dirname "$0")/lib.sh"
lab_start tun

read -r -a ips <<<"$RS_IPS"

{
	echo "-A -u $VIP:$UDP_PORT -s ring"
	for ip in "${ips[@]}"; do echo "-a -u $VIP:$UDP_PORT -r $ip:$UDP_PORT -i -w 1"; done
} >"$T/rules"
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }

X -Z
rx0=$(counter datapath rx); hits0=$(counter fastpath hits)
out=$(stream 40000 1000 250); echo "stream: $out"
rx1=$(counter datapath rx); hits1=$(counter fastpath hits)
echo "userspace rx +$((rx1 - rx0)), XDP hits +$((hits1 - hits0))"
check_eq "1000 datagrams of one TUN flow all answered" "1000 0" "$(field answered "$out") $(field lost "$out")"
check "userspace saw at most 20 of them" test $((rx1 - rx0)) -le 20
check "XDP encapsulated at least 980" test $((hits1 - hits0)) -ge 980
sleep 1.3
want_in=$(awk 'BEGIN { for (i = 0; i < 1000; i++) s += 28 + length("seq " i) + 1; print s }')
check_eq "--stats merges XDP's counters: 1000 packets, every byte" "1000 $want_in" \
	"$(X -L -n --stats --exact -u "$VIP:$UDP_PORT" | awk '$1=="UDP"{print $4, $6}')"

# The same flow (source port 40000), a 1472-byte datagram with DF: 1500
# bytes, 1520 once encapsulated. XDP hands it to userspace, which answers
# "fragmentation needed"; the kernel learns the tunnel's MTU from it.
tb0=$(counter fastpath fp_punt_too_big); fn0=$(counter datapath frag_needed_sent)
mtu=$(ip netns exec "$CLIENT_NS" /usr/bin/python3 - "$VIP" "$UDP_PORT" <<'PY'
import socket, sys, time
IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 40000))
s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
s.connect((sys.argv[1], int(sys.argv[2])))
mtu = 0
for _ in range(20):
    try:
        s.send(b"x" * 1472)
    except OSError:
        pass
    time.sleep(0.1)
    mtu = s.getsockopt(socket.IPPROTO_IP, IP_MTU)
    if mtu < 1500:
        break
print(mtu)
PY
)
tb1=$(counter fastpath fp_punt_too_big); fn1=$(counter datapath frag_needed_sent)
echo "path MTU $mtu; fp_punt_too_big +$((tb1 - tb0)), frag_needed_sent +$((fn1 - fn0))"
check_eq "a too-big DF datagram on an installed flow: frag-needed, MTU 1480 learnt" 1480 "$mtu"
check "XDP handed it to userspace (fp_punt_too_big +1)" test $((tb1 - tb0)) -ge 1
check "userspace answered it (frag_needed_sent +1)" test $((fn1 - fn0)) -ge 1
out=$(stream 40000 200 200); echo "after: $out"
hits2=$(counter fastpath hits)
check_eq "the flow goes on, in the fast path" "200 0" "$(field answered "$out") $(field lost "$out")"
check "... still in XDP (hits +$((hits2 - hits1)) >= 195)" test $((hits2 - hits1)) -ge 195
