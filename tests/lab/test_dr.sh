#!/bin/bash
# DR end to end: a real client, the real xlbd on AF_XDP in the director
# namespace (ip_forward=0: only xlb can deliver), three real nginx servers.
. "$(dirname "$0")/lib.sh"
lab_start dr

set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3
set -- $RS_NAMES; N1=$1; N2=$2; N3=$3
# xdp_on: the director's interface carries an XDP program (exit 0), none
# (exit 1), or `ip` itself failed (exit 2: neither, so a negative check
# cannot pass on a broken command).
xdp_on() {
	local out
	out=$(ip -n "$DIRECTOR_NS" link show "$DIRECTOR_IF") || return 2
	grep -q xdp <<<"$out"
}
xdp_off() { xdp_on; [ $? -eq 1 ]; }

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

check_eq "director does not forward (ip_forward=0)" 0 \
	"$(ip netns exec "$DIRECTOR_NS" cat /proc/sys/net/ipv4/ip_forward)"
# Positive control for the negative check below: the same client reaches
# a real server directly.
check_eq "control: the client's HTTP works (a real server directly)" "0 $N1" "$(C http "$RS1" 80 --timeout 1)"
out=$(C http "$VIP" 80 --timeout 1)
check "without xlbd the VIP serves nothing" grep -q ERROR <<<"$out"

xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }
check "xlbd attached its XDP program" xdp_on

# 1. 60 requests, all answered, over all three servers.
C http "$VIP" 80 --count 60 >"$T/60.txt"
check_eq "60 HTTP requests all succeed" 60 "$(answers "$T/60.txt")"
t=$(tally <"$T/60.txt"); echo "$t"
check_eq "60 requests spread over the three servers" 3 "$(wc -l <<<"$t")"

# 2. 1 MiB arrives intact.
want=$(sha256sum "$BIG_FILE_LOCAL" | cut -d' ' -f1)
got=$(C http "$VIP" 80 --path "/$(basename "$BIG_FILE")" | awk '{print $2, $3}')
check_eq "1 MiB download arrives intact" "$want 1048576" "$got"

# Counters match what was sent: 20 UDP flows of one datagram each.
X -Z
C udp "$VIP" "$UDP_PORT" --sport 41000 --count 20 >"$T/udp20.txt"
check_eq "20 UDP requests answered" 20 "$(answers "$T/udp20.txt")"
stats=$(X -L -n --stats --exact -u "$VIP:$UDP_PORT")
echo "$stats"
read -r conns inpkts outpkts inbytes outbytes <<<"$(awk '$1=="UDP"{print $3, $4, $5, $6, $7}' <<<"$stats")"
check_eq "--stats counts 20 connections" 20 "$conns"
check_eq "--stats counts 20 incoming packets" 20 "$inpkts"
# IP total lengths, as IPVS counts: "who" is 20 + 8 + 3 = 31 bytes. DR
# replies bypass the director: nothing out.
check_eq "--stats: InBytes = 20 x 31, OutPkts and OutBytes 0" "620 0 0" "$inbytes $outpkts $outbytes"
check "-L -n -c lists the UDP entries" bash -c "'$B/xlbctl' --socket '$S' -L -n -c | grep -q '^UDP'"

# 3. Same flows, same servers, after a restart with the same rules.
C udp "$VIP" "$UDP_PORT" --sport 42000 --count 30 >"$T/before.txt"
C http "$VIP" 80 --sport 43000 --count 15 >"$T/before_http.txt"
kill_pid "$XLBD_PID"
check "xlbd leaves its XDP program attached on SIGTERM (for the next xlbd)" xdp_on
xlbd_up "$T/rules" || { fail "xlbd restarts"; exit 1; }
C udp "$VIP" "$UDP_PORT" --sport 42000 --count 30 >"$T/after.txt"
C http "$VIP" 80 --sport 43000 --count 15 >"$T/after_http.txt"
check_eq "UDP flows keep their servers across a restart" "$(cat "$T/before.txt")" "$(cat "$T/after.txt")"
check_eq "TCP flows (fixed client ports) keep their servers across a restart" \
	"$(cat "$T/before_http.txt")" "$(cat "$T/after_http.txt")"

# 4. Deleting a server moves only its flows; a SYN on its tuple is rescheduled.
X -d -t "$VIP:80" -r "$RS2:80"
X -d -u "$VIP:$UDP_PORT" -r "$RS2:$UDP_PORT"
C udp "$VIP" "$UDP_PORT" --sport 42000 --count 30 >"$T/del.txt"
C http "$VIP" 80 --sport 43000 --count 15 >"$T/del_http.txt"
bad=$(paste "$T/before.txt" "$T/del.txt" | awk -v d="$N2" '$2 != d && $2 != $4' | wc -l)
check_eq "UDP flows of the other servers stay where they were" 0 "$bad"
check_eq "no UDP flow reaches the deleted server" 0 "$(grep -c " $N2\$" "$T/del.txt")"
check_eq "every UDP flow is answered after the delete" 30 "$(answers "$T/del.txt")"
moved=$(paste "$T/before_http.txt" "$T/del_http.txt" | awk -v d="$N2" '$2 == d' | wc -l)
bad=$(paste "$T/before_http.txt" "$T/del_http.txt" | awk -v d="$N2" '$2 != d && $2 != $4' | wc -l)
check_eq "TCP flows of the other servers stay where they were" 0 "$bad"
check "some TCP tuples had pointed at the deleted server" test "$moved" -gt 0
check_eq "SYNs on those tuples are rescheduled and answered, none by the deleted server" \
	15 "$(answers "$T/del_http.txt" "$N2")"
X -a -t "$VIP:80" -r "$RS2:80" -g -w 1
X -a -u "$VIP:$UDP_PORT" -r "$RS2:$UDP_PORT" -g -w 1

# 5. Weight 0: an established download finishes, new flows avoid the server.
first=$(C http "$VIP" 80 --sport 44000 | awk '{print $2}')
case $first in "$N1") Q=$RS1 ;; "$N2") Q=$RS2 ;; *) Q=$RS3 ;; esac
C http "$VIP" 80 --sport 44000 --path "/$(basename "$BIG_FILE")" --rate 262144 \
	--timeout 10 >"$T/slow.txt" &
slow=$!
sleep 1
X -e -t "$VIP:80" -r "$Q:80" -w 0
X -L -n
C http "$VIP" 80 --count 30 >"$T/w0.txt"
check_eq "new flows avoid the weight-0 server" 30 "$(answers "$T/w0.txt" "$first")"
wait "$slow"
check_eq "the established download on the weight-0 server finishes intact" \
	"$want 1048576" "$(awk '{print $2, $3}' "$T/slow.txt")"
X -e -t "$VIP:80" -r "$Q:80" -w 1

# 6. Persistence keeps one client on one server.
X -E -u "$VIP:$UDP_PORT" -p 300
C udp "$VIP" "$UDP_PORT" --sport 45000 --count 20 >"$T/persist.txt"
check_eq "a persistent service sends one client to one server" 1 "$(tally <"$T/persist.txt" | wc -l)"
check_eq "and answers it every time" 20 "$(answers "$T/persist.txt")"

# 7. -M: persistence granularity. Eight client addresses of one /24 share
# one server under -M 255.255.255.0; the same eight, each a client of its
# own under -M 255.255.255.255 (new source ports: no entry to reuse), land
# on more than one server (all eight on one of three by chance: 1 in 2,187),
# so the first check can fail.
pfx=${CLIENT_IP%.*}
CLIENTS="$CLIENT_IP"
for i in 51 52 53 54 55 56 57; do
	ip -n "$CLIENT_NS" addr add "$pfx.$i/24" dev "$CLIENT_IF"
	CLIENTS="$CLIENTS $pfx.$i"
done
# by_client SPORT: "address answer" for 3 datagrams from each address.
by_client() {
	local a
	for a in $CLIENTS; do
		C udp "$VIP" "$UDP_PORT" --src "$a" --sport "$1" --count 3 | sed "s/^/$a /"
	done
}
X -E -u "$VIP:$UDP_PORT" -p 300 -M 255.255.255.0
by_client 45100 >"$T/mask24.txt"
cat "$T/mask24.txt" | awk '{ print $1, $3 }' | sort | uniq -c
check_eq "-M /24: 24 datagrams from 8 addresses of one /24 answered" 24 "$(answers "$T/mask24.txt")"
check_eq "-M /24: all 8 addresses of the /24 share one server" 1 \
	"$(awk '{ print $3 }' "$T/mask24.txt" | sort -u | wc -l)"
X -E -u "$VIP:$UDP_PORT" -p 300 -M 255.255.255.255
by_client 45200 >"$T/mask32.txt"
check_eq "-M /32: 24 datagrams answered" 24 "$(answers "$T/mask32.txt")"
check_eq "-M /32: each address keeps its own server for its 3 datagrams" 8 \
	"$(awk '{ print $1, $3 }' "$T/mask32.txt" | sort -u | wc -l)"
n32=$(awk '{ print $3 }' "$T/mask32.txt" | sort -u | wc -l)
check "-M /32 (control): the same 8 addresses spread over more than one server ($n32)" test "$n32" -gt 1

X -L -n --stats
kill_pid "$XLBD_PID"
grep -E "datapath|xdp:" "$LOG" | tail -n 4
