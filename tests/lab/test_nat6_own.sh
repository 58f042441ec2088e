#!/bin/bash
# IPv6 beside NAT66 (issue 14): while a NAT66 service carries client
# traffic, the director's own IPv6 traffic to the same real servers
# (curl -6 to [RIP6]:80, as an operator or a health checker would) stays
# its kernel's: xlbd puts the director's IPv6 addresses into the XDP
# program's local_addrs6, so replies to them are not taken for NAT
# replies. Also: -L -n -c lists the IPv6 connections as ipvsadm.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
lab_start nat6

set -- $RS_IPS6; R1=$1; R2=$2; R3=$3
check "without xlbd the director's curl -6 to [$R1]:80 works" \
	ip netns exec "$DIRECTOR_NS" curl -6 -g -s -m 2 -o /dev/null "http://[$R1]:$HTTP_PORT/"
v6_rules -m >"$T/rules"
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }
sleep 1.5	# local_addrs6 is refreshed each second

: >"$T/curl.txt"
for i in $(seq 1 10); do
	for r in $R1 $R2 $R3; do
		ip netns exec "$DIRECTOR_NS" curl -6 -g -s -m 2 "http://[$r]:$HTTP_PORT/" \
			>>"$T/curl.txt" 2>/dev/null || echo "ERROR curl $r" >>"$T/curl.txt"
	done
done
check_eq "30 curl -6 from the director to the NAT66 real servers answered" 30 \
	"$(grep -c '^rs[0-9]*$' "$T/curl.txt")"

# Client traffic through the service at the same time still works.
v6_thirty "$T/30.txt"
check_eq "30 of 30 client requests through NAT66 answered" 30 "$(grep -c '^rs[0-9]*$' "$T/30.txt")"

C udp "$VIP6" "$UDP_PORT" --count 5 >"$T/udp6.txt"
X -L -n -c >"$T/conns.txt" 2>&1
cat "$T/conns.txt" | head -5
check "-L -n -c lists an IPv6 UDP connection from the client to [VIP6]:$UDP_PORT" \
	grep -qE "^UDP .*\[$CLIENT_IP6\]:[0-9]+ +\[$VIP6\]:$UDP_PORT +\[fd" "$T/conns.txt"
kill_pid "$XLBD_PID"
