#!/bin/bash
# Persistence with templates, as IPVS's (DR lab, four real nginx/UDP
# servers, a real client): a persistent service's client keeps its real
# server while a much heavier server is added and while its own server is
# quiesced (weight 0), where the non-persistent service moves new flows;
# the template shows in -L -n -c as ipvsadm shows it (NONE, source port
# 0) and in --persistent-conn; it survives an xlbd restart; a deleted
# server's client is rescheduled, and so is the client of a server that
# fails its health checks (its template re-bound). And -o: one UDP flow's datagrams are
# each scheduled on their own (several servers answer it), with no entry.
#
# The ring alone (persistence keyed on the client address, before
# templates) moves the client as soon as the ring changes: with
# --vnodes 1 a weight-5000 server takes all but 3 of 5003 points, and a
# quiesced server has none.
. "$(dirname "$0")/lib.sh"
lab_start dr --servers 4

set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3; RS4=$4
set -- $RS_NAMES; N4=$4
# rs_ip NAME: the address of real server NAME (rsN).
rs_ip() { local i=${1#rs}; set -- $RS_IPS; eval echo "\${$i}"; }
# who COUNT SPORT: COUNT HTTP connections from SPORT on; prints the names.
who() { C http "$VIP" 80 --sport "$2" --count "$1" --timeout 2 | awk '{print $2}' | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' '; }

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring -p 120 --vnodes 1
-a -t $VIP:80 -r $RS1:80 -g -w 1
-a -t $VIP:80 -r $RS2:80 -g -w 1
-a -t $VIP:80 -r $RS3:80 -g -w 1
-A -u $VIP:$UDP_PORT -s ring --vnodes 1
-a -u $VIP:$UDP_PORT -r $RS1:$UDP_PORT -g -w 1
-a -u $VIP:$UDP_PORT -r $RS2:$UDP_PORT -g -w 1
-a -u $VIP:$UDP_PORT -r $RS3:$UDP_PORT -g -w 1
RULES
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }

# ---- a client keeps its server ----
out=$(who 10 41000)
echo "persistent service, 10 connections: $out"
check_eq "10 connections of one client: one server" 1 "$(wc -w <<<"$out")"
SRV=${out%%:*}
check_eq "and all 10 answered" "$SRV:10" "${out% }"
SIP=$(rs_ip "$SRV")
X -L -n -c | sed -n '1,2p;/NONE/p'
tmpl=$(X -L -n -c | awk -v c="$CLIENT_IP:0" -v v="$VIP:80" '$1 == "TCP" && $3 == "NONE" && $4 == c && $5 == v { print $6 }')
check_eq "-L -n -c lists the template: TCP NONE $CLIENT_IP:0 $VIP:80 -> its server" "$SIP:80" "$tmpl"
check "the template's expire column counts down from 02:00" \
	bash -c "'$B/xlbctl' --socket '$S' -L -n -c | awk '\$3 == \"NONE\" { print \$2 }' | grep -qE '^0[12]:[0-9][0-9]\$'"
X -L -n --persistent-conn
check_eq "--persistent-conn: PersistConn 1 on $SRV" 1 \
	"$(X -L -n --persistent-conn -t "$VIP:80" | awk -v d="$SIP:80" '$1 == "->" && $2 == d { print $4 }')"

# Non-persistent control before the change: 20 new UDP flows.
C udp "$VIP" "$UDP_PORT" --sport 42000 --count 20 >"$T/u0.txt"
check_eq "control: 20 UDP flows answered" 20 "$(answers "$T/u0.txt")"

# ---- a much heavier server is added to both services ----
check "add $N4 with weight 5000 (persistent service)" X -a -t "$VIP:80" -r "$RS4:80" -g -w 5000
check "add $N4 with weight 5000 (UDP service)" X -a -u "$VIP:$UDP_PORT" -r "$RS4:$UDP_PORT" -g -w 5000
out=$(who 20 43000)
echo "persistent service after adding $N4: $out"
check_eq "the client's 20 new connections stay on $SRV" "$SRV:20" "${out% }"
C udp "$VIP" "$UDP_PORT" --sport 44000 --count 20 >"$T/u1.txt"
moved=$(answers "$T/u1.txt" | tr -d ' '; )
on4=$(awk -v n="$N4" '$2 == n' "$T/u1.txt" | wc -l)
echo "non-persistent service after adding $N4: $(tally <"$T/u1.txt" | tr '\n' ' ')"
check_eq "non-persistent: 20 new flows answered" 20 "$moved"
check "non-persistent: new flows go to $N4 ($on4 of 20)" test "$on4" -gt 0

# ---- its server quiesced (weight 0): it keeps its persistent client ----
check "quiesce $SRV" X -e -t "$VIP:80" -r "$SIP:80" -g -w 0
out=$(who 10 45000)
echo "persistent service, $SRV quiesced: $out"
check_eq "a quiesced server keeps its persistent client" "$SRV:10" "${out% }"

# ---- across a restart (the state file) ----
X -S -n >"$T/rules2"
kill_pid "$XLBD_PID"
xlbd_up "$T/rules2" || { fail "xlbd restarts"; exit 1; }
grep "adopted" "$LOG" | tail -n 1
tmpl=$(X -L -n -c | awk -v c="$CLIENT_IP:0" -v v="$VIP:80" '$1 == "TCP" && $3 == "NONE" && $4 == c && $5 == v { print $6 }')
check_eq "after a restart the template is still listed" "$SIP:80" "$tmpl"
out=$(who 10 46000)
echo "persistent service after the restart: $out"
check_eq "after a restart the client stays on quiesced $SRV" "$SRV:10" "${out% }"

# ---- its server deleted: rescheduled ----
check "delete $SRV" X -d -t "$VIP:80" -r "$SIP:80"
out=$(who 10 47000)
echo "persistent service, $SRV deleted: $out"
check_eq "a deleted server's client goes to one other server" 1 "$(wc -w <<<"$out")"
check "and not to $SRV" test "${out%%:*}" != "$SRV"
out=${out% }
check_eq "all 10 answered" 10 "${out##*:}"

# ---- its new server fails its checks: the template does not hold ----
# An exec check that fails while a flag file exists: the server itself
# keeps answering, so only the check decides (keepalived's removal of a
# failed server drops its clients' templates too).
NEW=${out%%:*}
NIP=$(rs_ip "$NEW")
check "checks on the persistent service" X -E -t "$VIP:80" --check exec \
	--check-exec "test ! -e $T/down-\$XLB_RS_ADDR" --check-interval 0.2 \
	--check-timeout 0.5 --check-rise 1 --check-fall 1
touch "$T/down-$NIP"
for _ in $(seq 50); do
	[ "$(X -L -n --health | awk -v a="$NIP:80" '$1 == "->" && $2 == a { print $3 }')" = down ] && break
	sleep 0.1
done
check_eq "$NEW is down by its check" down \
	"$(X -L -n --health | awk -v a="$NIP:80" '$1 == "->" && $2 == a { print $3 }')"
out=$(who 10 47500)
echo "persistent service, $NEW (its template's server) down: $out"
check_eq "a down server's client goes to one other server" 1 "$(wc -w <<<"$out")"
check "and not to $NEW" test "${out%%:*}" != "$NEW"
out=${out% }
check_eq "all 10 answered" 10 "${out##*:}"
tmpl=$(X -L -n -c | awk -v c="$CLIENT_IP:0" -v v="$VIP:80" '$1 == "TCP" && $3 == "NONE" && $4 == c && $5 == v { print $6 }')
check "the template is re-bound away from $NEW ($tmpl)" test "$tmpl" != "$NIP:80"
rm -f "$T/down-$NIP"
check "checks off again" X -E -t "$VIP:80" --check none

# ---- -o: one flow's datagrams, each on its own ----
# one_flow SPORT: 30 datagrams on one connected UDP socket (so the kernel
# gives each its own IP id), one line per answer.
one_flow() {
	ip netns exec "$CLIENT_NS" /usr/bin/python3 - "$VIP" "$UDP_PORT" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", int(sys.argv[3])))
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(1)
for _ in range(30):
    s.send(b"who")
    try:
        print(s.recv(64).decode().strip())
    except socket.timeout:
        print("ERROR:timeout")
PY
}
check "add the heavy server's twin to the UDP service: four equal servers" \
	X -e -u "$VIP:$UDP_PORT" -r "$RS4:$UDP_PORT" -g -w 1
one_flow 48000 >"$T/o0.txt"
check_eq "control without -o: one flow, one server" 1 "$(grep -v ERROR "$T/o0.txt" | sort -u | wc -l)"
check "-o is refused for a TCP service" bash -c "! '$B/xlbctl' --socket '$S' -E -t '$VIP:80' -o 2>'$T/o.err'"
check "with a sentence" grep -q "one-packet scheduling (-o) is for UDP services" "$T/o.err"
check "-E -u ... -o" X -E -u "$VIP:$UDP_PORT" -o
check "-L shows ops" bash -c "'$B/xlbctl' --socket '$S' -L -n | grep -q '^UDP  $VIP:$UDP_PORT ring ops\$'"
op0=$(X --counters | awk '$1 == "conn" && $2 == "onepacket" { print $3 }')
one_flow 49000 >"$T/o1.txt"
op1=$(X --counters | awk '$1 == "conn" && $2 == "onepacket" { print $3 }')
echo "-o, one flow of 30 datagrams: $(sort "$T/o1.txt" | uniq -c | tr '\n' ' ')"
check_eq "-o: all 30 datagrams answered" 30 "$(grep -c '^rs[0-9]' "$T/o1.txt")"
check "-o: one flow's datagrams spread over several servers" \
	test "$(grep -v ERROR "$T/o1.txt" | sort -u | wc -l)" -ge 2
check_eq "-o: no connection entry for the flow" 0 \
	"$(X -L -n -c | awk -v c="$CLIENT_IP:49000" '$4 == c' | wc -l)"
check_eq "-o: 30 datagrams counted as conn onepacket" 30 "$((op1 - op0))"
check_eq "-S -n saves -o" "-A -u $VIP:$UDP_PORT -s ring -o --vnodes 1" \
	"$(X -S -n | grep "^-A -u")"
check "-E -u ... -p 30 (one flag edited)" X -E -u "$VIP:$UDP_PORT" -p 30
check_eq "-E -p keeps -o" "-A -u $VIP:$UDP_PORT -s ring -p 30 -o --vnodes 1" \
	"$(X -S -n | grep "^-A -u")"

# ---- ipvsadm's other list layouts ----
check "-e -x 100 -y 50 on $N4" X -e -t "$VIP:80" -r "$RS4:80" -x 100 -y 50
check_eq "--thresholds: ipvsadm's header" \
	"$(printf '%-33s %-10s %-10s %-10s %-10s' 'Prot LocalAddress:Port' Uthreshold Lthreshold ActiveConn InActConn)" \
	"$(X -L -n --thresholds | sed -n 2p)"
check_eq "--thresholds: $N4's row" "100 50" \
	"$(X -L -n --thresholds -t "$VIP:80" | awk -v d="$RS4:80" '$2 == d { print $3, $4 }')"
check_eq "--tun-info: ipvsadm's header" \
	"  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn" \
	"$(X -L -n --tun-info | sed -n 3p)"
check_eq "--tun-info: a DR server's tunnel is n/a" "Route n/a" \
	"$(X -L -n --tun-info -t "$VIP:80" | awk -v d="$RS4:80" '$2 == d { print $3, $4 }')"

# ---- -R of a save file with every persistence and -o setting (a batch) ----
check "-C" X -C
X -R <"$ROOT/tests/unit/fixtures/xlb-save-ring-persistence.rules"
check_eq "-R of xlb-save-ring-persistence.rules" 0 "$?"
check_eq "-S -n gives the file back unchanged" \
	"$(cat "$ROOT/tests/unit/fixtures/xlb-save-ring-persistence.rules")" "$(X -S -n)"
kill_pid "$XLBD_PID"
