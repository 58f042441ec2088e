#!/bin/bash
# The fast path in NAT (issue 11): both directions of a connection move
# into XDP (NAT_IN client -> VIP, NAT_OUT RIP:rport -> client), with exact
# merged counters both ways, a 1 MiB download intact, FIN taking both
# entries out, a server deleted mid-stream, and a restart with no xlbd for
# 2 s losing nothing.
. "$(dirname "$0")/lib.sh"
lab_start nat

read -r -a ips <<<"$RS_IPS"
read -r -a names <<<"$RS_NAMES"
idx() { local i; for i in "${!names[@]}"; do [ "${names[i]}" = "$1" ] && echo "$i"; done; }

{
	echo "-A -t $VIP:80 -s ring"
	echo "-A -u $VIP:$UDP_PORT -s ring"
	for ip in "${ips[@]}"; do
		echo "-a -t $VIP:80 -r $ip:80 -m -w 1"
		echo "-a -u $VIP:$UDP_PORT -r $ip:$UDP_PORT -m -w 1"
	done
} >"$T/rules"
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }

# 1. Both directions in XDP, counted exactly. First the director learns
# the client's MAC (a NAT reply finding it unresolved is dropped, fast
# path or not: drop_neigh_pending), so that the stream's count is exact.
check "warm-up: a UDP request is answered (the client's neighbour resolved)" \
	wait_for 5 bash -c "ip netns exec '$CLIENT_NS' /usr/bin/python3 '$ROOT/tests/lab/client.py' udp '$VIP' '$UDP_PORT' --sport 39000 --timeout 0.5 | grep -q ' rs'"
X -Z
rx0=$(counter datapath rx); hits0=$(counter fastpath hits); in0=$(counter fastpath installs)
out=$(stream 40000 1000 250); echo "stream: $out"
rx1=$(counter datapath rx); hits1=$(counter fastpath hits); in1=$(counter fastpath installs)
echo "userspace rx +$((rx1 - rx0)), XDP hits +$((hits1 - hits0)), installs +$((in1 - in0))"
check_eq "1000 datagrams of one NAT flow all answered" "1000 0" "$(field answered "$out") $(field lost "$out")"
check_eq "two entries installed: the client's side and the reply side" 2 $((in1 - in0))
check "userspace saw at most 40 of the flow's 2000 packets" test $((rx1 - rx0)) -le 40
check "XDP carried at least 1960 (both ways)" test $((hits1 - hits0)) -ge 1960
sleep 1.3
name=$(field servers "$out" | cut -d: -f1)
want_in=$(awk 'BEGIN { for (i = 0; i < 1000; i++) s += 28 + length("seq " i) + 1; print s }')
want_out=$((1000 * (28 + ${#name} + 1)))
stats=$(X -L -n --stats --exact -u "$VIP:$UDP_PORT"); echo "$stats"
check_eq "--stats merges both directions: 1000 in, 1000 out, every byte" \
	"1 1000 1000 $want_in $want_out" "$(awk '$1=="UDP"{print $3, $4, $5, $6, $7}' <<<"$stats")"

# 2. TCP: a 1 MiB download (server data through NAT_OUT), FIN removes both.
want=$(sha256sum "$BIG_FILE_LOCAL" | cut -d' ' -f1)
hits0=$(counter fastpath hits); rm0=$(counter fastpath removals); rx0=$(counter datapath rx)
got=$(C http "$VIP" 80 --sport 45000 --path "/$(basename "$BIG_FILE")" --timeout 10 | awk '{print $2, $3}')
hits1=$(counter fastpath hits); rm1=$(counter fastpath removals); rx1=$(counter datapath rx)
echo "download: userspace rx +$((rx1 - rx0)), XDP hits +$((hits1 - hits0)), removals +$((rm1 - rm0))"
check_eq "1 MiB download through the NAT fast path arrives intact" "$want 1048576" "$got"
check "the download went through XDP (hits >= 700)" test $((hits1 - hits0)) -ge 700
check "its FIN took both entries out (removals +2)" test $((rm1 - rm0)) -ge 2

# 3. A server deleted mid-stream: the flow moves, nothing lost.
first=$(C udp "$VIP" "$UDP_PORT" --sport 46000 | awk '{print $2}')
i=$(idx "$first")
stream 46000 800 200 >"$T/del.txt" &
sp=$!
sleep 1.5
X -d -u "$VIP:$UDP_PORT" -r "${ips[i]}:$UDP_PORT"
wait "$sp"; out=$(cat "$T/del.txt"); echo "server deleted: $out"
check_eq "server deleted mid-stream: 800 datagrams, none lost" "800 0" "$(field answered "$out") $(field lost "$out")"
check "the flow moved to another server" bash -c "grep -q '$first:' <<<'$out' && test \$(grep -o 'rs[0-9]*:' <<<'$out' | wc -l) -eq 2"

# 4. Restart: 2 s without xlbd, XDP keeps translating both ways.
stream 50000 1600 200 >"$T/restart.txt" &
sp=$!
sleep 1.5
kill_pid "$XLBD_PID"
sleep 2
xlbd_up "$T/rules" || { fail "xlbd restarts"; exit 1; }
rx0=$(counter datapath rx)
wait "$sp"; out=$(cat "$T/restart.txt"); echo "restart: $out"
rx1=$(counter datapath rx)
check_eq "NAT: SIGTERM, 2 s without xlbd, start: 1600 datagrams, none lost" "1600 0" \
	"$(field answered "$out") $(field lost "$out")"
kept=$(sed -n 's/.*fast path on; \([0-9]*\) entries kept in it.*/\1/p' "$LOG" | tail -n 1)
check "the next xlbd kept the flow's two entries (log: ${kept:-no} entries kept)" test "${kept:-0}" -ge 2
check "... and the flow stayed in XDP (userspace rx +$((rx1 - rx0)) <= 20)" test $((rx1 - rx0)) -le 20
