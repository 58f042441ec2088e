#!/bin/bash
# NAT end to end: two-armed director (client network, real-server network),
# the real servers route through it, the director's kernel does not forward:
# xlb translates both ways.
. "$(dirname "$0")/lib.sh"
lab_start nat

set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3
set -- $RS_NS; NS1=$1

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring
-a -t $VIP:80 -r $RS1:80 -m -w 1
-a -t $VIP:80 -r $RS2:80 -m -w 1
-a -t $VIP:80 -r $RS3:80 -m -w 1
-A -t $VIP:8080 -s ring
-a -t $VIP:8080 -r $RS1:80 -m -w 1
-A -u $VIP:$UDP_PORT -s ring
-a -u $VIP:$UDP_PORT -r $RS1:$UDP_PORT -m -w 1
-a -u $VIP:$UDP_PORT -r $RS2:$UDP_PORT -m -w 1
-a -u $VIP:$UDP_PORT -r $RS3:$UDP_PORT -m -w 1
RULES

check_eq "director does not forward (ip_forward=0)" 0 \
	"$(ip netns exec "$DIRECTOR_NS" cat /proc/sys/net/ipv4/ip_forward)"
# The negative check needs its positive controls: the same ping from the
# same namespace, over the same route, reaches the director's address on
# the real servers' network (answered by the director itself), and the
# real server answers ping from the director.
check "control: the client pings the director's address on the real servers' network" \
	bash -c "ip netns exec '$CLIENT_NS' ping -c1 -W1 '$DIRECTOR_IP_RS' >/dev/null"
check "control: the director pings the real server" \
	bash -c "ip netns exec '$DIRECTOR_NS' ping -c1 -W1 '$RS1' >/dev/null"
# ping exits 1 for "no reply" (2 for an error such as no route).
no_reply() { ip netns exec "$CLIENT_NS" ping -c1 -W1 "$RS1" >/dev/null; [ $? -eq 1 ]; }
check "the client cannot reach a real server directly (ping: no reply)" no_reply

xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }

declare -A LOG0
for rs in $RS_NAMES; do LOG0[$rs]=$(cat "$LABDIR/$rs/access.log" 2>/dev/null | wc -l); done
C http "$VIP" 80 --count 60 >"$T/60.txt"
check_eq "60 HTTP requests through NAT all succeed" 60 "$(answers "$T/60.txt")"
t=$(tally <"$T/60.txt"); echo "$t"
check_eq "and spread over the three servers" 3 "$(wc -l <<<"$t")"

# Every server logged the client's own address for each of the 60 requests
# it answered, and no other address: the lines its access.log gained during
# the 60 are exactly its answers in the tally, all from $CLIENT_IP.
# new_log_lines RS: the lines after the count saved before the 60.
new_log_lines() { tail -n +$(( ${LOG0[$1]} + 1 )) "$LABDIR/$1/access.log"; }
log_has() { [ "$(new_log_lines "$1" | wc -l)" -ge "$2" ]; }
for rs in $RS_NAMES; do
	k=$(awk -v n="$rs" '$2 == n' "$T/60.txt" | wc -l)
	wait_for 2 log_has "$rs" "$k"	# nginx logs as the request ends
	got=$(new_log_lines "$rs" | grep -c "^$CLIENT_IP ")
	other=$(new_log_lines "$rs" | grep -v -c "^$CLIENT_IP ")
	check_eq "$rs logged the client's address for each of the $k requests it answered, and no other" \
		"$k 0" "$got $other"
done

want=$(sha256sum "$BIG_FILE_LOCAL" | cut -d' ' -f1)
got=$(C http "$VIP" 80 --path "$BIG_FILE" --timeout 10 | awk '{print $2, $3}')
check_eq "1 MiB download translated back intact" "$want 1048576" "$got"

# One real server in two services: replies are matched by their full tuple.
C http "$VIP" 8080 --sport 46000 --count 5 >"$T/8080.txt"
C http "$VIP" 80 --sport 46000 --count 5 >"$T/80.txt"
check_eq "a second service on the same real server answers" 5 "$(answers "$T/8080.txt")"
check_eq "the first service still answers from the same client ports" 5 "$(answers "$T/80.txt")"

C udp "$VIP" "$UDP_PORT" --sport 47000 --count 30 >"$T/udp.txt"
check_eq "30 UDP requests through NAT answered" 30 "$(answers "$T/udp.txt")"
check_eq "UDP spread over the three servers" 3 "$(tally <"$T/udp.txt" | wc -l)"

X -Z
C udp "$VIP" "$UDP_PORT" --sport 48000 --count 10 >/dev/null
stats=$(X -L -n --stats --exact -u "$VIP:$UDP_PORT"); echo "$stats"
read -r conns inp outp inb outb <<<"$(awk '$1=="UDP"{print $3, $4, $5, $6, $7}' <<<"$stats")"
check_eq "--stats: 10 connections" 10 "$conns"
check_eq "--stats: 10 packets in" 10 "$inp"
check_eq "--stats: 10 replies out (NAT sees both directions)" 10 "$outp"
# Bytes are IP total lengths, as IPVS counts them: a request is "who"
# (20 + 8 + 3 = 31 bytes), a reply "rsN\n" (20 + 8 + 4 = 32).
check_eq "--stats: InBytes = 10 x 31" 310 "$inb"
check_eq "--stats: OutBytes = 10 x 32" 320 "$outb"
# The real servers' rows add up to the service's, each exact for its share.
rows=$(awk '$1 == "->" && $2 ~ /^[0-9]/ { n++; if ($6 != 31 * $4 || $7 != 32 * $5) bad++; i += $4; o += $5 }
	END { print n + 0, bad + 0, i + 0, o + 0 }' <<<"$stats")
check_eq "--stats rows: 3 servers, bytes exact per server, packets adding up to 10 in and 10 out" \
	"3 0 10 10" "$rows"

# --rate after steady traffic: IPVS's estimator (every 2 s, smoothed) shows
# non-zero rates, bytes per packet as sent, and no more than what was sent.
t0=$(date +%s.%N)
# Requests from new source ports until $T/stop-rate exists (at most 30,000).
( for ((sp = 20000; sp < 50000; sp += 100)); do
	[ -e "$T/stop-rate" ] && break
	C udp "$VIP" "$UDP_PORT" --sport "$sp" --count 100
done ) >"$T/rate.txt" &
rp=$!
lab_on_exit "touch '$T/stop-rate'; kill_pid $rp"
sleep 6
rate=$(X -L -n --rate --exact -u "$VIP:$UDP_PORT"); echo "$rate"
sent=$(wc -l <"$T/rate.txt")
pps=$(echo "$sent / ($(date +%s.%N) - $t0)" | bc)
touch "$T/stop-rate"
wait "$rp"
echo "sent $sent requests, $pps per second"
read -r cps ipps opps ibps obps <<<"$(awk '$1=="UDP"{print $3, $4, $5, $6, $7}' <<<"$rate")"
check "--rate: CPS, InPPS, OutPPS, InBPS, OutBPS all non-zero ($cps $ipps $opps $ibps $obps)" \
	test "${cps:-0}" -gt 0 -a "${ipps:-0}" -gt 0 -a "${opps:-0}" -gt 0 -a "${ibps:-0}" -gt 0 -a "${obps:-0}" -gt 0
check "--rate: InPPS ($ipps) at most what was sent ($pps/s, +1 for rounding)" test "${ipps:-0}" -le $((pps + 1))
# Rates are shown as integers: InPPS is off by up to 1, so InBPS may differ
# from 31 x InPPS by up to 31 (and a little for the estimator's rounding).
check "--rate: InBPS = 31 x InPPS within rounding ($ibps vs $ipps)" \
	test $(( ${ibps:-0} - 31 * ${ipps:-0} )) -ge -62 -a $(( ${ibps:-0} - 31 * ${ipps:-0} )) -le 62
check "--rate: OutBPS = 32 x OutPPS within rounding ($obps vs $opps)" \
	test $(( ${obps:-0} - 32 * ${opps:-0} )) -ge -64 -a $(( ${obps:-0} - 32 * ${opps:-0} )) -le 64
X -L -n -c | head -n 5

# A "reply" from a real server's service port for a flow xlb never saw is
# steered (its source is a NAT real server) but dropped and counted.
ip netns exec "$NS1" /usr/bin/python3 -c "
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.sendto(struct.pack('!HHHH', $UDP_PORT, 9999, 13, 0) + b'stray', ('$CLIENT_IP', 0))"
sleep 0.3
kill_pid "$XLBD_PID"
grep -E "datapath:|xdp:" "$LOG" | tail -n 2
check "stray NAT-side packets are counted, not forwarded" grep -q "drop_no_service" "$LOG"
