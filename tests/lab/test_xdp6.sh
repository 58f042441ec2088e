#!/bin/bash
# IPv6 in xlb_steer on a real veth in native XDP (issue 14, phase 1),
# beside an IPv4 DR service on the same director. xlbd does not fill the
# IPv6 maps yet (the next session's datapath will), so this test puts an
# IPv6 VIP into services6 itself with bpftool, in the map of the program
# attached to the director's interface, and checks with real traffic:
#  - the director's own IPv6 traffic (NDP, echo) is never taken, with or
#    without an IPv6 service;
#  - TCP to the IPv6 VIP reaches xlbd's AF_XDP sockets (xdp redirected,
#    and xlbd's workers, which cannot parse IPv6 yet, count it
#    drop_no_service), and only while the VIP is in services6;
#  - the IPv4 service keeps serving.
. "$(dirname "$0")/lib.sh"
lab_start dr --servers 1

command -v bpftool >/dev/null || lab_skip "bpftool missing"
h=${P#x}
DIR6=fd00:$h:1::2
CL6=fd00:$h:1::50
VIP6=fd00:$h:1::100

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s rr
-a -t $VIP:80 -r ${RS_IPS# }:80 -g -w 1
RULES
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }

ip -n "$DIRECTOR_NS" addr add "$DIR6/64" dev "$DIRECTOR_IF" nodad
ip -n "$CLIENT_NS" addr add "$CL6/64" dev "$CLIENT_IF" nodad
# The VIP is on no interface of the director (as an IPv6 VIP of xlb
# would be): the client reaches it through the director's MAC.
ip -n "$CLIENT_NS" -6 neigh replace "$VIP6" lladdr "$DIRECTOR_MAC" \
	dev "$CLIENT_IF" nud permanent

ping6_dir() { ip netns exec "$CLIENT_NS" ping -6 -n -q -c 3 -i 0.2 -W 2 "$DIR6" >/dev/null; }
xc() { counter xdp "$1"; }
dc() { counter datapath "$1"; }
# syn6 PORT: one TCP connection attempt to the IPv6 VIP (a SYN and, in
# 1.5 s, its retransmission); nothing answers it in this test.
syn6() {
	ip netns exec "$CLIENT_NS" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(1.5)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except OSError:
    pass' "$VIP6" "$1"
}

# The services6 map of the xlb_steer attached to the director's interface.
prog=$(ip -n "$DIRECTOR_NS" -d link show dev "$DIRECTOR_IF" |
	awk '/prog\/xdp/ { for (i = 1; i < NF; i++) if ($i == "id") { print $(i + 1); exit } }')
svc6_map=
for m in $(bpftool prog show id "${prog:-0}" 2>/dev/null | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr , ' '); do
	bpftool map show id "$m" 2>/dev/null | grep -q ' name services6 ' && svc6_map=$m
done
check "the attached xlb_steer (prog $prog) has a services6 map" test -n "$svc6_map"
# Key: 16 address bytes, port 80 (network order), TCP, pad.
key=$(/usr/bin/python3 -c '
import ipaddress, sys
b = ipaddress.IPv6Address(sys.argv[1]).packed + bytes([0, 80, 6, 0])
print(" ".join("%02x" % c for c in b))' "$VIP6")

# 1. Without an IPv6 service: NDP and echo to the director work, nothing
#    IPv6 is steered.
r0=$(xc redirected) v0=$(xc ipv6_packets) n0=$(xc not_ipv4)
check "ping6 to the director's own address works (NDP, echo)" wait_for 5 ping6_dir
syn6 80
check_eq "no IPv6 packet steered without an IPv6 service" "$r0" "$(xc redirected)"
v1=$(xc ipv6_packets) n1=$(xc not_ipv4)
check "the IPv6 frames are counted (ipv6_packets $v0 -> $v1)" test "$v1" -ge $((v0 + 8))
check "... and passed (not_ipv4 $n0 -> $n1)" test "$n1" -ge $((n0 + 8))

# 2. With the IPv6 VIP in services6: its TCP goes to xlbd's sockets.
check "bpftool puts [$VIP6]:80 into services6" \
	bpftool map update id "${svc6_map:-0}" key hex $key value hex 00 00 00 00
s0=$(xc service_packets) r0=$(xc redirected) d0=$(dc drop_no_service)
syn6 80
s1=$(xc service_packets) r1=$(xc redirected) d1=$(dc drop_no_service)
check "SYNs to [$VIP6]:80 steered (service_packets $s0 -> $s1)" test "$s1" -ge $((s0 + 1))
check_eq "... and redirected to the AF_XDP sockets as often" $((s1 - s0)) $((r1 - r0))
check "... and they reached xlbd's workers (drop_no_service $d0 -> $d1)" test "$d1" -ge $((d0 + 1))
s0=$(xc service_packets)
syn6 81
check_eq "another port of the IPv6 VIP is not steered" "$s0" "$(xc service_packets)"
check "ping6 to the director still works with an IPv6 service" ping6_dir
check_eq "the IPv4 service still serves" "0 ${RS_NAMES# }" "$(C http "$VIP" 80 --timeout 1)"

# 3. Removed again: not steered.
check "bpftool removes it" bpftool map delete id "${svc6_map:-0}" key hex $key
s0=$(xc service_packets)
syn6 80
check_eq "after removal, SYNs to [$VIP6]:80 are not steered" "$s0" "$(xc service_packets)"
xlbd_alive() { X -L -n >/dev/null; }
check "xlbd is still running" xlbd_alive
