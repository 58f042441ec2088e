#!/bin/bash
# Health checks (issue 13), NAT: the director's probes reach its NAT real
# servers (its own traffic is passed to the kernel, issue 10), for an HTTP
# check of a TCP service and a UDP check of a UDP service (keepalived's
# UDP_CHECK: an ICMP port unreachable is a failure); a stopped server gets
# no new connections and comes back.
. "$(dirname "$0")/lib.sh"
lab_start nat

set -- $RS_IPS; RS1=$1
set -- $RS_NS; NS1=$1
D1=$LABDIR/rs1
CK="--check-interval 0.5 --check-timeout 0.4 --check-rise 2 --check-fall 2"

{
	echo "-A -t $VIP:80 -s ring --check http --check-expect rs $CK"
	for ip in $RS_IPS; do echo "-a -t $VIP:80 -r $ip:80 -m -w 1"; done
	echo "-A -u $VIP:$UDP_PORT -s ring --check udp $CK"
	for ip in $RS_IPS; do echo "-a -u $VIP:$UDP_PORT -r $ip:$UDP_PORT -m -w 1"; done
} >"$T/rules"
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }

state() { X -L -n --health | awk -v a="$1" '$1 == "->" && $2 == a { print $3 }'; }
is_state() { [ "$(state "$1")" = "$2" ]; }
n_ok() { X -L -n --health | awk '$1 == "->" && $3 == "up" && $6 == "ok"' | wc -l; }
wait_for 10 bash -c "[ \"\$('$B/xlbctl' --socket '$S' -L -n --health | awk '\$1 == \"->\" && \$3 == \"up\" && \$6 == \"ok\"' | wc -l)\" -eq $((2 * N_SERVERS)) ]"
X -L -n --health | sed 's/^/    /'
check_eq "every NAT server passes its HTTP and UDP checks from the director" \
	$((2 * N_SERVERS)) "$(n_ok)"

# HTTP: stop rs1's nginx.
pid=$(cat "$D1/nginx.pid")
kill "$pid"
check "rs1's HTTP check fails: down" wait_for 4 is_state "$RS1:80" down
C http "$VIP" 80 --count 30 >"$T/http.txt"
check_eq "30 HTTP requests through NAT all answered, none by rs1" 30 "$(answers "$T/http.txt" rs1)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
nohup ip netns exec "$NS1" "$NGINX" -p "$D1" -e "$D1/error.log" -c "$D1/nginx.conf" \
	>/dev/null 2>&1 </dev/null &
lab_on_exit "kill_pid $!"
check "rs1's HTTP server back: up" wait_for 4 is_state "$RS1:80" up
C http "$VIP" 80 --count 30 >"$T/http2.txt"
check "rs1 answers again" test "$(grep -c ' rs1$' "$T/http2.txt")" -ge 1

# UDP: stop rs1's UDP responder on its own address: port unreachable.
kill_pid "$(cat "$D1/udp-rip.pid")"
check "rs1's UDP check fails on ICMP port unreachable: down" \
	wait_for 4 is_state "$RS1:$UDP_PORT" down
check "and says so" bash -c "'$B/xlbctl' --socket '$S' -L -n --health | grep '$RS1:$UDP_PORT ' | grep -q 'ICMP port unreachable'"
C udp "$VIP" "$UDP_PORT" --sport 47000 --count 30 >"$T/udp.txt"
check_eq "30 UDP queries all answered, none by rs1" 30 "$(answers "$T/udp.txt" rs1)"
check "the other servers stay up on silence or a reply" is_state "$(set -- $RS_IPS; echo "$2"):$UDP_PORT" up
