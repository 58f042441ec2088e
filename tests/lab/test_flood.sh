#!/bin/bash
# Floods (DR), against an xlbd with a small connection table
# (--max-conns 4096):
#  1-3. a SYN flood of random sources at a VIP while a legitimate client
#       keeps making requests: the table never holds more than --max-conns
#       entries, xlbd's memory stays bounded, every entry made room for is
#       evicted and counted, the client keeps getting in;
#  4.   a burst of flows that start ESTABLISHED (bare ACKs): expiry keeps up;
#  5.   spoofed floods that used to hold the table for the UDP/TCP timeout
#       (6,000 distinct UDP tuples; 6,000 tuples of two bare ACKs each):
#       a full table evicts its least recently used entry, so right after
#       each flood new TCP and UDP clients get in at once, and long-lived
#       connections opened before (idle during the floods, so likely
#       evicted) carry on, scheduled again onto the same server by the ring.
# Every figure comes from `xlbctl --counters`: the test fails without it.
. "$(dirname "$0")/lib.sh"
lab_init
lab_up dr || { fail "lab up"; exit 1; }

MAX=4096
FLOOD=200000
S=$T/xlb.sock
LOG=$T/xlbd.log
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
# flood_to PORT [flood.py options]: spoofed frames at VIP:PORT.
flood_to() {
	local port=$1; shift
	ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/flood.py" \
		"$CLIENT_IF" "$DIRECTOR_MAC" "$VIP" "$port" "$@"
}
set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3

# "GROUP NAME" -> value from xlbctl --counters (empty if missing: every
# numeric check on it then fails).
counter() { X --counters 2>/dev/null | awk -v g="$1" -v n="$2" '$1 == g && $2 == n { print $3 }'; }
conn_count() { counter conn count; }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$XLBD_PID/status"; }

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring
-a -t $VIP:80 -r $RS1:80 -g -w 1
-a -t $VIP:80 -r $RS2:80 -g -w 1
-a -t $VIP:80 -r $RS3:80 -g -w 1
-A -u $VIP:$UDP_PORT -s ring
-a -u $VIP:$UDP_PORT -r $RS1:$UDP_PORT -g -w 1
-a -u $VIP:$UDP_PORT -r $RS2:$UDP_PORT -g -w 1
-a -u $VIP:$UDP_PORT -r $RS3:$UDP_PORT -g -w 1
RULES
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" -i "$DIRECTOR_IF" --rules "$T/rules" \
	--max-conns "$MAX" || { fail "xlbd starts"; exit 1; }

check "xlbctl --counters answers" X --counters
n0=$(conn_count)
check "xlbctl --counters has the connection table's counters (conn count: '$n0')" \
	test -n "$n0"
C http "$VIP" 80 --count 20 >"$T/warm.txt"
check_eq "20 requests before the flood all succeed" 20 "$(answers "$T/warm.txt")"
rss0=$(rss_kb)
n0=$(conn_count)

# 1. The SYN flood, with a legitimate client (50 requests a second) and a
#    sampler of the table's size running through it.
rm -f "$T/stop"
ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" http "$VIP" 80 \
	--stop-file "$T/stop" --interval 0.02 --timeout 3 >"$T/legit.txt" &
legit=$!
lab_on_exit "kill_pid $legit"
( while [ ! -e "$T/stop" ]; do conn_count; sleep 0.2; done ) >"$T/samples.txt" 2>/dev/null &
sampler=$!
lab_on_exit "kill_pid $sampler"
sleep 0.5
fs=$(date +%s.%N)
flood_to 80 --count "$FLOOD" --flags S --seed 1 | tee "$T/flood1.txt"
fe=$(date +%s.%N)
sleep 1
touch "$T/stop"
wait "$legit" "$sampler"

read -r dn dok <<<"$(awk -v s="$fs" -v e="$fe" '$1 >= s && $1 <= e { n++; if ($3 !~ /^ERROR/) ok++ }
	END { print n + 0, ok + 0 }' "$T/legit.txt")"
echo "legitimate requests started during the flood: $dok of $dn succeeded"
grep ERROR "$T/legit.txt" | head -n 5
check "legitimate requests were made during the flood" test "$dn" -ge 10
check_eq "all of them succeed ($dok of $dn: 100 %)" "$dn" "$dok"
C http "$VIP" 80 --count 30 >"$T/after.txt"
check_eq "30 requests after the flood all succeed" 30 "$(answers "$T/after.txt")"

peak=$(sort -n "$T/samples.txt" | tail -n 1)
n1=$(conn_count)
echo "connection table: $n0 before, peak sampled $peak, $n1 after $FLOOD SYNs (max $MAX)"
check "the table filled up (the flood reached it)" test "$n1" -ge $((MAX * 9 / 10))
check "the table never held more than --max-conns (peak $peak)" test "$peak" -le "$MAX"
check "and holds at most --max-conns now ($n1)" test "$n1" -le "$MAX"
X -L -n -c | awk '$1 == "TCP" { print $3 }' | sort | uniq -c

# 2. Memory: the entries are preallocated and touched as they are used, so
#    the flood costs at most --max-conns entries and a second flood nothing.
rss1=$(rss_kb)
per=$(( (rss1 - rss0) * 1024 / (${n1:-0} - ${n0:-0} > 0 ? ${n1:-0} - ${n0:-0} : 1) ))
echo "memory: VmRSS $rss0 kB before, $rss1 kB with $n1 entries: $per bytes per connection"
if ldd "$B/xlbd" | grep -q libasan; then	# make test SAN=1: shadow + redzones
	echo "ASan build: RSS is not the table's cost; 4 MiB bound not checked"
else
	check "the full table cost at most 4 MiB of RSS ($((rss1 - rss0)) kB)" test $((rss1 - rss0)) -le 4096
fi
flood_to 80 --count "$FLOOD" --flags S --seed 2 | tee "$T/flood2.txt"
rss2=$(rss_kb)
n2=$(conn_count)
echo "after a second flood of $FLOOD SYNs: VmRSS $rss2 kB, $n2 entries"
if ldd "$B/xlbd" | grep -q libasan; then
	echo "ASan build: its allocator's quarantine grows RSS; 'grew by 0' not checked"
else
	check_eq "a second flood does not grow xlbd (VmRSS $rss1 -> $rss2 kB: grew by 0)" 0 \
		"$((rss2 - rss1))"
fi
check "the table still holds at most --max-conns ($n2)" test "$n2" -le "$MAX"
C http "$VIP" 80 --count 20 >"$T/after2.txt"
check_eq "20 requests after the second flood all succeed" 20 "$(answers "$T/after2.txt")"

# 3. What was dropped or evicted is counted. One reading of every counter:
#    the table keeps changing (expiry).
X --counters >"$T/counters"
grep -E '^(conn|datapath|xsk|xdp) ' "$T/counters" | awk '$3 != 0'
cval() { awk -v g="$1" -v n="$2" '$1 == g && $2 == n { print $3 }' "$T/counters"; }
created=$(cval conn created); evicted=$(cval conn evicted)
expired=$(cval conn expired); flushed=$(cval conn flushed)
full=$(cval conn full_drops); cnt=$(cval conn count); resched=$(cval conn rescheduled)
adopted=$(cval conn adopted)
echo "conn: created=$created evicted=$evicted expired=$expired full_drops=$full count=$cnt"
red=$(cval xdp redirected); rx=$(cval datapath rx)
# The kernel's rx_dropped covers every cause (rx_ring_full,
# rx_fill_ring_empty_descs are the reasons, counted again).
xdrop=$(cval xsk rx_dropped)
echo "steered by XDP: $red; received by the datapath: $rx;" \
	"lost in between: $((red - rx)); counted by the AF_XDP sockets (xsk rx_dropped): $xdrop" \
	"(rx_ring_full $(cval xsk rx_ring_full), fill ring empty $(cval xsk rx_fill_ring_empty_descs))"
check_eq "what the AF_XDP rings dropped under the floods equals xsk rx_dropped" \
	"$xdrop" "$((red - rx))"
check_eq "no new flow was refused (conn full_drops)" 0 "$full"
# Every SYN that reached the datapath made an entry (the rest of what it
# received, under 1 %, is the legitimate client's packets of existing
# flows); beyond the table's size each one evicted (or reused an expired)
# entry, all counted.
check "every SYN that reached the datapath got an entry ($created entries for $rx packets)" \
	test $((created * 100)) -ge $((rx * 99))
check "entries were evicted to make room ($evicted)" test "$evicted" -gt 0
check_eq "adopted + created - rescheduled - expired - evicted - flushed = entries now" "$cnt" \
	"$((adopted + created - resched - expired - evicted - flushed))"
echo "of $((2 * FLOOD)) SYNs offered, $rx packets reached the datapath: $created entries made, $evicted evicted"

# 4. Expiry keeps up: short timeouts, then a burst of flows that start
#    ESTABLISHED (a first packet with ACK, as after a director restart);
#    they all expire within timeout + one sweep (1.6 s) once it stops.
X --set 2 2 2
flood_to 80 --count 20000 --flags A --seed 3 | tee "$T/flood3.txt"
est=$(X -L -n -c | grep -c ' ESTABLISHED ')
echo "after 20000 ACKs of new flows: $est ESTABLISHED entries, $(conn_count) in all"
check "the ACK burst made ESTABLISHED entries (the listing works: $est)" test "$est" -gt 0
ts=$(date +%s.%N)
# The listing must answer for its silence about ESTABLISHED to count.
check "they all expire within 8 s" wait_for 8 bash -c \
	"out=\$('$B/xlbctl' --socket '$S' -L -n -c) && ! grep -q ' ESTABLISHED ' <<<\"\$out\""
echo "ESTABLISHED entries gone after $(echo "$(date +%s.%N) - $ts" | bc) s; $(conn_count) entries left"
C http "$VIP" 80 --count 20 >"$T/after3.txt"
check_eq "20 requests after expiry all succeed" 20 "$(answers "$T/after3.txt")"

# 5. Floods that used to lock everyone out, at the default timeouts (TCP
#    900 s, UDP 300 s). Between the two, the UDP flood is sent again after
#    --set udp 1, so its entries are gone before the ACK flood, which then
#    fills the table on its own.
X --set 900 120 300
# The UDP flood's sources: 10.x.1.128/26, which the client's namespace
# answers ARP for (a local route), so the real servers' replies leave at
# once (with sources nobody answers for, a server's socket buffer fills
# with replies waiting for ARP and its UDP service stalls for seconds);
# not .255, the subnet's broadcast, which the lab's UDP servers may not
# answer (EACCES ends them).
USRC=${SUBNET%.0/24}.128/26
ip -n "$CLIENT_NS" route add local "$USRC" dev lo
# 20 long-lived connections from ports 45000-45019, idle during each flood
# (nginx closes a keep-alive connection idle for 5 s, or after 1000
# requests: they talk between, 4 requests a second).
rm -f "$T/pause" "$T/kstop"
ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" keep "$VIP" 80 \
	--conns 20 --sport 45000 --interval 0.25 --duration 300 --timeout 3 \
	--pause-file "$T/pause" --stop-file "$T/kstop" >"$T/keep.txt" &
keeper=$!
lab_on_exit "kill_pid $keeper"
sleep 1.5
# Entries of the long-lived connections in the table.
held() {
	X -L -n -c | awk -v c="$CLIENT_IP" '$1 == "TCP" { n = split($4, a, ":");
		if (a[1] == c && a[2] >= 45000 && a[2] < 45020) k++ } END { print k + 0 }'
}
check_eq "the 20 long-lived connections are in the table before the floods" 20 "$(held)"

# legit_now WHAT TAG: 20 new TCP requests and 10 UDP queries from the real
# client, each given 1 s (a dropped SYN is retransmitted only after 1 s).
legit_now() {
	local tcp udp t0
	t0=$(date +%s.%N)
	C http "$VIP" 80 --count 20 --timeout 1 >"$T/now-$2-tcp.txt"
	C udp "$VIP" "$UDP_PORT" --count 10 --timeout 1 >"$T/now-$2-udp.txt"
	tcp=$(answers "$T/now-$2-tcp.txt"); udp=$(answers "$T/now-$2-udp.txt")
	echo "after $1: $tcp/20 TCP, $udp/10 UDP in $(echo "$(date +%s.%N) - $t0" | bc) s"
	grep ERROR "$T/now-$2-tcp.txt" "$T/now-$2-udp.txt" | head -n 3
	check_eq "right after $1: 20/20 new TCP requests succeed" 20 "$tcp"
	check_eq "right after $1: 10/10 UDP queries succeed" 10 "$udp"
}
# idle_flood TAG SEED flood.py-args...: the long-lived connections pause (a
# request in flight finishes), the flood runs, they resume. On a loaded box
# the AF_XDP ring may drop part of a flood (counted in xsk rx_dropped): the
# flood goes on with new tuples (seeds SEED+1, ...; at most 3 rounds)
# until the table is full. Sets FULL (the count then: entries of earlier
# tests keep expiring), HELD and ROUNDS.
idle_flood() {
	local tag=$1 seed=$2 d0; shift 2
	touch "$T/pause"
	sleep 0.3
	d0=$(counter xsk rx_dropped)
	ROUNDS=0
	while [ "$ROUNDS" -lt 3 ]; do
		flood_to "$@" --seed $((seed + ROUNDS)) | tee -a "$T/flood-$tag.txt"
		ROUNDS=$((ROUNDS + 1))
		FULL=$(conn_count)
		[ "$FULL" -lt "$MAX" ] || break
		echo "table not full yet ($FULL); the AF_XDP ring dropped" \
			"$(( $(counter xsk rx_dropped) - d0 )) frames so far: flooding on"
	done
	HELD=$(held)
	rm -f "$T/pause"
}

fd0=$(counter conn full_drops)
idle_flood udp 4 "$UDP_PORT" --udp --count 6000 --src-net "$USRC" --rate 40000
nu=$(conn_count)
nudp=$(X -L -n -c | grep -c '^UDP ')
echo "after $ROUNDS x 6000 spoofed UDP datagrams: $nu entries, $nudp of them UDP;" \
	"$((20 - HELD)) of the 20 long-lived connections evicted"
check_eq "the UDP flood filled the table" "$MAX" "$FULL"
legit_now "6000 spoofed UDP datagrams" udp
X --set 900 120 1
for r in $(seq 0 $((ROUNDS - 1))); do
	flood_to "$UDP_PORT" --udp --count 6000 --seed $((4 + r)) --src-net "$USRC" \
		--rate 40000 >/dev/null
done
X --set 900 120 300
check "the UDP flood's entries expire once given 1 s" wait_for 10 bash -c \
	"out=\$('$B/xlbctl' --socket '$S' -L -n -c) && [ \$(grep -c '^UDP ' <<<\"\$out\") -lt 100 ]"

idle_flood ack 10 80 --flags A --repeat 2 --count 6000 --rate 40000
tr=$(date +%s.%N)
na=$(conn_count)
nest=$(X -L -n -c | grep -c ' ESTABLISHED ')
echo "after $ROUNDS x 6000 tuples of two bare ACKs: $na entries, $nest ESTABLISHED;" \
	"$((20 - HELD)) of the 20 long-lived connections evicted"
check_eq "the ACK flood filled the table" "$MAX" "$FULL"
legit_now "6000 tuples of two bare ACKs" ack
fd1=$(counter conn full_drops)
check_eq "no new flow was refused during these floods (conn full_drops $fd0 -> $fd1)" \
	"$fd0" "$fd1"

sleep 1
touch "$T/kstop"
wait "$keeper"
cat "$T/keep.txt"
check_eq "the 20 long-lived connections all still work after the floods" \
	"survived: 20 of 20 (100%)" "$(grep '^survived:' "$T/keep.txt")"
late=$(awk -v t="$tr" '$1 == "conn" && $7 > t + 0.5 { n++ } END { print n + 0 }' "$T/keep.txt")
check_eq "and each answered requests made after the floods (20 of 20)" 20 "$late"

check "xlbd is alive after all floods" kill -0 "$XLBD_PID"
kill_pid "$XLBD_PID"
grep -E "datapath:|xdp:" "$LOG" | tail -n 2
rx=$(grep -o 'datapath: rx=[0-9]*' "$LOG" | tail -n 1 | cut -d= -f2)
echo "flood size: $((2 * FLOOD)) SYNs + 20000 ACKs + 6000 UDP datagrams and 12000 ACKs (or more) offered;" \
	"xlbd's datapath received ${rx:-?} packets"
check "the datapath saw most of the flood" test "${rx:-0}" -ge "$FLOOD"
