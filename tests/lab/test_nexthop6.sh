#!/bin/bash
# IPv6 next hops follow the network (DR6, issue 14), as test_nexthop.sh
# checks for IPv4: the datapath reads each IPv6 real server's next hop from
# the next-hop cache per packet, so
#  1. a real server whose neighbour is not known yet is resolved by NDP
#     (the cache asks the kernel to solicit it); until then its packets are
#     dropped and counted as drop_neigh_pending, never sent to a guessed MAC;
#  2. 20 long-lived IPv6 connections keep working after every real server
#     takes a new MAC and announces it with an unsolicited Neighbour
#     Advertisement (as a replaced host or a bond failing over does).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
lab_start dr6

L() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" "$@"; }
read -r -a ips <<<"$RS_IPS6"
read -r -a nss <<<"$RS_NS"
read -r -a ifs <<<"$RS_IFS"
neigh6() { ip -n "$DIRECTOR_NS" -6 neigh show "$1" dev "$DIRECTOR_IF"; }
neigh6_mac() { neigh6 "$1" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }
rs_mac() { ip -n "${nss[$1]}" -o link show dev "${ifs[$1]}" | awk '{for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1)}'; }

# 1. rs1 has no IPv6 address yet and the director no neighbour entry for
# it (the lab's readiness probe made one: deleted).
ip -n "${nss[0]}" -6 addr del "${ips[0]}/64" dev "${ifs[0]}"
ip -n "$DIRECTOR_NS" -6 neigh del "${ips[0]}" dev "$DIRECTOR_IF" 2>/dev/null
{
	echo "-A -u [$VIP6]:$UDP_PORT -s ring"
	echo "-a -u [$VIP6]:$UDP_PORT -r [${ips[0]}]:$UDP_PORT -g -w 1"
	echo "-A -t [$VIP6]:$HTTP_PORT -s ring"
	for ip in "${ips[@]}"; do echo "-a -t [$VIP6]:$HTTP_PORT -r [$ip]:$HTTP_PORT -g -w 1"; done
} >"$T/rules"
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }
before=$(counter datapath drop_neigh_pending)
C udp "$VIP6" "$UDP_PORT" --count 5 --timeout 0.5 >"$T/pending.txt"
after=$(counter datapath drop_neigh_pending)
check_eq "no UDP request to the unresolved rs1 is answered" 0 "$(answers "$T/pending.txt")"
check "its packets are counted as drop_neigh_pending (${before:-0} -> ${after:-0})" \
	test "$((${after:-0} - ${before:-0}))" -ge 5
check_eq "the director's kernel has no MAC for ${ips[0]} (nothing to guess from)" "" "$(neigh6_mac "${ips[0]}")"
echo "  ${ips[0]}: $(neigh6 "${ips[0]}")"

# The address comes; nothing but the cache's own retries (Neighbour
# Solicitations the kernel sends when asked) tells the director.
ip -n "${nss[0]}" -6 addr add "${ips[0]}/64" dev "${ifs[0]}" nodad
check "rs1 is resolved by NDP and answers within 20 s" \
	wait_for 20 bash -c "ip netns exec '$CLIENT_NS' /usr/bin/python3 '$ROOT/tests/lab/client.py' udp '$VIP6' '$UDP_PORT' --timeout 0.5 | grep -q ' rs1$'"
check_eq "the director's neighbour entry holds rs1's real MAC" "$(rs_mac 0)" "$(neigh6_mac "${ips[0]}")"
C udp "$VIP6" "$UDP_PORT" --count 10 >"$T/resolved.txt"
check_eq "then 10 of 10 UDP requests answered by rs1" 10 "$(answers "$T/resolved.txt")"

# 2. Long-lived connections, one request each every 0.1 s for 14 s; at
# 4 s every server takes a new MAC, which its kernel announces (an
# unsolicited NA with the override flag: ndisc_notify).
v6_thirty "$T/pre.txt"
check_eq "30 HTTP requests over IPv6 answered before the change" 30 "$(grep -c '^rs[0-9]*$' "$T/pre.txt")"
for i in "${!ips[@]}"; do
	ip netns exec "${nss[i]}" sysctl -qw "net.ipv6.conf.${ifs[i]}.ndisc_notify=1"
done
L keep "$VIP6" "$HTTP_PORT" --conns 20 --duration 14 --interval 0.1 --timeout 3 >"$T/keep.txt" &
keep=$!
sleep 4
for i in "${!ips[@]}"; do
	newmac[i]=$(printf '02:6a:%02x:00:00:%02x' $((0x${P:1:2})) $((i + 1)))
	ip -n "${nss[i]}" link set dev "${ifs[i]}" address "${newmac[i]}"
done
for i in "${!ips[@]}"; do
	check "the director's kernel learnt ${ips[i]} is now at ${newmac[i]}" \
		wait_for 5 bash -c "ip -n '$DIRECTOR_NS' -6 neigh show '${ips[i]}' | grep -qi '${newmac[i]}'"
done
wait "$keep"
grep -v ' ok ' "$T/keep.txt" | head -n 25
check_eq "20 long-lived IPv6 DR connections survive every server's MAC change" \
	"survived: 20 of 20 (100%)" "$(tail -n 1 "$T/keep.txt")"
# ~140 answers each when nothing stalls; one sent to the old MAC would stop at ~40.
slow=$(awk '$1 == "conn" && $5 < 70' "$T/keep.txt" | wc -l)
check_eq "and each kept answering through the change (>= 70 answers each)" 0 "$slow"
v6_thirty "$T/post.txt"
check_eq "30 new IPv6 requests answered after the change" 30 "$(grep -c '^rs[0-9]*$' "$T/post.txt")"
kill_pid "$XLBD_PID"
