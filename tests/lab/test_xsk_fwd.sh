#!/bin/bash
# xsk_fwd (lb/xsk.c underneath) as a bump in the wire: namespaces a and b on
# one /24, joined only through namespace m, whose kernel does not forward
# (ip_forward=0, no bridge). Traffic passes only while xsk_fwd moves frames
# between m's two veths over AF_XDP.
#
#   a: ${P}a0 ==veth== ${P}ma  [m: xsk_fwd]  ${P}mb ==veth== ${P}b0 :b
. "$(dirname "$0")/lib.sh"
lab_init

FWD=$B/bench/xsk_fwd
NA=${P}a NM=${P}m NB=${P}b
X=$(( 16#${P:1:2} % 200 + 20 )) Y=$(( 16#${P:3:2} ))
IPA=10.$X.$Y.1 IPB=10.$X.$Y.2

if [ ! -x "$FWD" ]; then fail "$FWD is built (make)"; exit 1; fi
for tool in ping socat iperf3 ethtool; do
	# Without ping, "a cannot reach b" would pass for the wrong reason.
	command -v $tool >/dev/null || { fail "$tool is installed (scripts/deps.sh)"; exit 1; }
done

for ns in $NA $NM $NB; do
	lab_on_exit "ip netns del $ns"
	ip netns add "$ns" || { fail "create namespace $ns"; exit 1; }
	ip -n "$ns" link set lo up
done
ip link add ${P}a0 netns $NA type veth peer name ${P}ma netns $NM
ip link add ${P}b0 netns $NB type veth peer name ${P}mb netns $NM
ip -n $NA addr add $IPA/24 dev ${P}a0
ip -n $NB addr add $IPB/24 dev ${P}b0
for l in "$NA ${P}a0" "$NB ${P}b0" "$NM ${P}ma" "$NM ${P}mb"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
# AF_XDP copies bytes as they are: a TCP checksum left for offload would
# reach b unfinished and be dropped. Real NICs hand XDP complete checksums.
ip netns exec $NA ethtool -K ${P}a0 tx off >/dev/null
ip netns exec $NB ethtool -K ${P}b0 tx off >/dev/null
ip netns exec $NM sysctl -qw net.ipv4.ip_forward=0

# Negative checks need the tool to work: ping's exit status 1 is "no
# reply" (2 is an error: no route, bad namespace...), and `ip link show`
# must succeed before the absence of a program in its output means anything.
a_pings_b_no_reply() { ip netns exec $NA ping -c 2 -i 0.2 -W 1 $IPB >/dev/null 2>&1; [ $? -eq 1 ]; }
prog_on_ma() {
	local out
	out=$(ip -n $NM link show ${P}ma) || return 2
	grep -q 'prog/xdp' <<<"$out"
}
prog_off_ma() { prog_on_ma; [ $? -eq 1 ]; }

check_eq "m does not forward (ip_forward=0)" 0 "$(ip netns exec $NM sysctl -n net.ipv4.ip_forward)"
check "without xsk_fwd, a cannot reach b (ping: no reply)" a_pings_b_no_reply

ip netns exec $NM "$FWD" -i ${P}ma -i ${P}mb >"$T/fwd.log" 2>&1 &
FWD_PID=$!
lab_on_exit "kill_pid $FWD_PID INT"
check "xsk_fwd starts" wait_for 10 grep -q workers "$T/fwd.log"
sed -n 1,3p "$T/fwd.log"
check "xsk_fwd attached an XDP program to ${P}ma" prog_on_ma

ip netns exec $NA ip neigh flush all	# FAILED by the check above
check "with xsk_fwd, a pings b" ip netns exec $NA ping -c 5 -i 0.2 -W 2 $IPB
ip netns exec $NA ping -c 20 -i 0.05 -q $IPB | tail -1

# 4 MiB over TCP, compared byte for byte.
head -c $((4 << 20)) /dev/urandom >"$T/send"
ip netns exec $NB socat -u TCP-LISTEN:5001,reuseaddr OPEN:"$T/recv",creat,trunc &
SRV_PID=$!
lab_on_exit "kill_pid $SRV_PID"
wait_for 5 ip netns exec $NB bash -c "ss -Htln | grep -q ':5001 '"
check "a sends 4 MiB to b over TCP" \
	timeout 30 ip netns exec $NA socat -u OPEN:"$T/send" TCP:$IPB:5001
wait "$SRV_PID" 2>/dev/null
check_eq "b received the 4 MiB intact" \
	"$(sha256sum <"$T/send" | cut -d' ' -f1)" "$(sha256sum <"$T/recv" | cut -d' ' -f1)"

# iperf3 for 2 s: the throughput of the floor, printed for the record.
ip netns exec $NB iperf3 -s -1 >"$T/iperf-s.log" 2>&1 &
IPF_PID=$!
lab_on_exit "kill_pid $IPF_PID"
wait_for 5 ip netns exec $NB bash -c "ss -Htln | grep -q ':5201 '"
check "iperf3 runs through xsk_fwd for 2 s" \
	bash -c "timeout 20 ip netns exec $NA iperf3 -c $IPB -t 2 >'$T/iperf.log' 2>&1"
grep -E 'sender|receiver' "$T/iperf.log"

kill_pid $FWD_PID INT
cat "$T/fwd.log" | grep '^total'
rx_a=$(sed -n "s/^total ${P}ma rx=\([0-9]*\) .*/\1/p" "$T/fwd.log")
tx_b=$(sed -n "s/^total ${P}mb rx=[0-9]* rx_bytes=[0-9]* tx=\([0-9]*\) .*/\1/p" "$T/fwd.log")
rx_b=$(sed -n "s/^total ${P}mb rx=\([0-9]*\) .*/\1/p" "$T/fwd.log")
check "xsk_fwd received on ${P}ma (rx=${rx_a:-none})" test "${rx_a:-0}" -gt 1000
check "xsk_fwd received on ${P}mb (rx=${rx_b:-none})" test "${rx_b:-0}" -gt 100
check "every frame received on ${P}ma was sent on ${P}mb" test "${rx_a:-0}" = "${tx_b:-x}"
check "the XDP program is gone after xsk_fwd exits" prog_off_ma
ip netns exec $NA ip neigh flush all
check "after xsk_fwd exits, a cannot reach b again (ping: no reply)" a_pings_b_no_reply
