#!/bin/bash
# Next hops follow the network (DR): 20 long-lived connections keep working
# after every real server changes its MAC and announces it with a
# gratuitous ARP, as a replaced host or a bond failing over does. And a DR
# real server behind a gateway is refused with a sentence naming it.
. "$(dirname "$0")/lib.sh"
lab_init
lab_up dr || { fail "lab up"; exit 1; }

S=$T/xlb.sock
LOG=$T/xlbd.log
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
L() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" "$@"; }
read -r -a ips <<<"$RS_IPS"
read -r -a nss <<<"$RS_NS"
read -r -a ifs <<<"$RS_IFS"
garps=()

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring
RULES
for ip in "${ips[@]}"; do echo "-a -t $VIP:80 -r $ip:80 -g -w 1" >>"$T/rules"; done

# The director's kernel takes a gratuitous ARP for a known neighbour at
# once (it overrides the entry whatever neigh locktime says); nothing to
# set here. Scapy sends it, as `arping -U` would.
garp() { # NS IF IP MAC
	ip netns exec "$1" /usr/bin/python3 - "$2" "$3" "$4" <<'PY'
import sys
from scapy.all import ARP, Ether, sendp
ifn, ip, mac = sys.argv[1:4]
sendp(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
      ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00", pdst=ip),
      iface=ifn, count=2, inter=0.05, verbose=0)
PY
}
neigh_mac() { ip -n "$DIRECTOR_NS" neigh show "$1" dev "$DIRECTOR_IF" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }

xlbd_start "$DIRECTOR_NS" "$S" "$LOG" -i "$DIRECTOR_IF" --rules "$T/rules" ||
	{ fail "xlbd starts"; exit 1; }
C http "$VIP" 80 --count 30 >"$T/pre.txt"
check_eq "30 requests answered before the change" 0 "$(grep -c ERROR "$T/pre.txt")"
check_eq "over all ${#ips[@]} servers" "${#ips[@]}" "$(tally <"$T/pre.txt" | wc -l)"

# 1. Long-lived connections, one request each every 0.1 s for 14 s; at
# 4 s every server takes a new MAC and announces it.
L keep "$VIP" 80 --conns 20 --duration 14 --interval 0.1 --timeout 3 >"$T/keep.txt" &
keep=$!
sleep 4
for i in "${!ips[@]}"; do
	mac=$(printf '02:5a:%02x:00:00:%02x' $((0x${P:1:2})) $((i + 1)))
	newmac[i]=$mac
	ip -n "${nss[i]}" link set dev "${ifs[i]}" address "$mac"
	garp "${nss[i]}" "${ifs[i]}" "${ips[i]}" "$mac" &
	garps+=("$!")
done
wait "${garps[@]}"
for i in "${!ips[@]}"; do
	check "the director's kernel learnt ${ips[i]} is now at ${newmac[i]}" \
		wait_for 5 bash -c "ip -n '$DIRECTOR_NS' neigh show '${ips[i]}' | grep -qi '${newmac[i]}'"
	echo "  ${ips[i]}: $(neigh_mac "${ips[i]}")"
done
wait "$keep"
grep -v ' ok$' "$T/keep.txt" | head -n 25
check_eq "20 long-lived DR connections survive every server's MAC change" \
	"survived: 20 of 20 (100%)" "$(tail -n 1 "$T/keep.txt")"
# ~140 answers each when nothing stalls; a black-holed one would stop at ~40.
slow=$(awk '$1 == "conn" && $5 < 70' "$T/keep.txt" | wc -l)
check_eq "and each kept answering through the change (>= 70 answers each)" 0 "$slow"
C http "$VIP" 80 --count 30 >"$T/post.txt"
check_eq "30 new requests answered after the change" 0 "$(grep -c ERROR "$T/post.txt")"

# 2. DR through a gateway is refused, naming the gateway; NAT and TUN to
# the same address are accepted.
FAR=10.$((0x${P:1:2})).77.5
ip -n "$DIRECTOR_NS" route add "${FAR%.*}.0/24" via "${ips[0]}"
X -A -t "$VIP:81" -s ring
out=$(X -a -t "$VIP:81" -r "$FAR:81" -g 2>&1); rc=$?
echo "  xlbctl: $out"
check "xlbctl -a -g of a server behind a gateway fails" test "$rc" -ne 0
check "and says DR needs it on-link, naming the gateway ${ips[0]}" \
	grep -q "gateway ${ips[0]}" <<<"$out"
check_eq "nothing was added" "" "$(X -L -n -t "$VIP:81" | grep "$FAR")"
check "the same server by NAT (-m) is accepted" X -a -t "$VIP:81" -r "$FAR:81" -m
check "and a TUN server behind the gateway too" X -a -t "$VIP:81" -r "${FAR%.*}.6:81" -i
out=$(X -e -t "$VIP:81" -r "$FAR:81" -g 2>&1); rc=$?
check "turning it into DR (-e -g) is refused as well" test "$rc" -ne 0
X -D -t "$VIP:81"

# 3. A DR server whose route moves behind a gateway later: its packets
# are counted as drop_dr_via_gateway, never sent to the gateway.
X -d -t "$VIP:80" -r "${ips[1]}:80"
X -d -t "$VIP:80" -r "${ips[2]}:80"
ip -n "$DIRECTOR_NS" route add "${ips[0]}/32" via "${ips[1]}"
sleep 0.5	# real servers' next hops follow route changes at the next tick (100 ms)
before=$(X --counters | awk '$1 == "datapath" && $2 == "drop_dr_via_gateway" {print $3}')
C http "$VIP" 80 --count 3 --timeout 1 >"$T/gw.txt"
after=$(X --counters | awk '$1 == "datapath" && $2 == "drop_dr_via_gateway" {print $3}')
check_eq "no request is answered through the gateway" 3 "$(grep -c ERROR "$T/gw.txt")"
check "the datapath counts them as drop_dr_via_gateway ($before -> $after)" \
	test "${after:-0}" -gt "${before:-0}"
ip -n "$DIRECTOR_NS" route del "${ips[0]}/32"
check "with the route back on-link the server answers again" \
	wait_for 5 bash -c "ip netns exec '$CLIENT_NS' /usr/bin/python3 '$ROOT/tests/lab/client.py' http '$VIP' 80 --timeout 1 | grep -vq ERROR"

kill_pid "$XLBD_PID"
grep -E "datapath:" "$LOG" | tail -n 2

# 4. A rules file read at start is not checked by xlbctl: xlbd says it.
printf '%s\n' "-A -t $VIP:81 -s ring" "-a -t $VIP:81 -r $FAR:81 -g" >"$T/rules.gw"
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" -i "$DIRECTOR_IF" --rules "$T/rules.gw" ||
	{ fail "xlbd starts with a DR server behind a gateway"; exit 1; }
check "xlbd warns at start that DR server $FAR is reached through gateway ${ips[0]}" \
	grep -q "DR real server $FAR is reached through gateway ${ips[0]}" "$LOG"
kill_pid "$XLBD_PID"
