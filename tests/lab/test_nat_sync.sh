#!/bin/bash
# NAT failover with connection sync: an active/backup pair of directors on
# the same two networks. The active one holds the client-side VIP and the
# real servers' default gateway address and runs xlbd --sync-role master;
# the backup runs xlbd --sync-role backup with the same rules and keeps the
# master's connections in its own table. Under load (60 keep-alive HTTP
# connections, a request every 200 ms each, plus new connections one after
# another) the active xlbd is killed with SIGKILL and both addresses move
# to the backup (keepalived's VRRP; or ip addr + gratuitous ARP): at least
# 99 % of the established NAT connections must go on, on the same real
# server. Then the same failover without sync (the backup gets no stream)
# breaks most of them: what the sync is for.
#
# The scheduler is rr, not the ring: with the ring, a backup that never saw
# a flow would pick the same server for it again from its next client
# packet (that is what ECMP scale-out relies on), so only a scheduler whose
# choice depends on history shows what the synced entries carry.
. "$(dirname "$0")/lib.sh"
lab_start nat
. "$ROOT/netns-lab/topo.sh"
LAB_PREFIX=$P

L() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" "$@"; }
now() { date +%s.%N; }
GW=$DIRECTOR_IP_RS
CSUB=${DIRECTOR_IP%.*}
RSUB=${GW%.*}

# The backup director: one leg on each network, addresses of its own
# (.3), nothing of the service's until the failover.
DIR2=$P-dir2 B_C=${P}e0 B_R=${P}e1
ns_add "$DIR2"
veth_to_switch "$DIR2" "$B_C" "$SWITCH_NS" "${P}es" br0
veth_to_switch "$DIR2" "$B_R" "$SWITCH_NS" "${P}e1s" br1
peer_napi "$SWITCH_NS" "${P}es"
peer_napi "$SWITCH_NS" "${P}e1s"
ip -n "$DIR2" addr add "$CSUB.3/24" dev "$B_C"
ip -n "$DIR2" addr add "$RSUB.3/24" dev "$B_R"
ip netns exec "$DIR2" sysctl -qw net.ipv4.ip_forward=0
switch_plain "$SWITCH_NS"

set -- $RS_IPS
{
	echo "-A -t $VIP:80 -s rr"
	for r in "$@"; do echo "-a -t $VIP:80 -r $r:80 -m -w 1"; done
	echo "-A -t $VIP:8080 -s rr"
	echo "-a -t $VIP:8080 -r $1:80 -m -w 1"
	echo "-a -t $VIP:8080 -r $2:80 -m -w 1"
} >"$T/rules"

KEY=$T/sync.key
head -c 32 /dev/urandom | base64 >"$KEY"
chmod 600 "$KEY"
S2=$T/xlb2.sock
X2() { "$B/xlbctl" --socket "$S2" "$@"; }
counter2() { X2 --counters 2>/dev/null | awk -v g="$1" -v n="$2" '$1 == g && $2 == n { print $3 }'; }

# The key is checked before anything starts.
chmod 644 "$KEY"
out=$(ip netns exec "$DIR2" "$B/xlbd" -i "$B_C" --socket "$T/bad.sock" \
	--sync-role backup --sync-peer "$DIRECTOR_IP" --sync-key "$KEY" 2>&1)
check "a world-readable --sync-key is refused with a clear error" \
	grep -q "lets others read" <<<"$out"
chmod 600 "$KEY"
: >"$T/empty.key"; chmod 600 "$T/empty.key"
out=$(ip netns exec "$DIR2" "$B/xlbd" -i "$B_C" --socket "$T/bad.sock" \
	--sync-role backup --sync-peer "$DIRECTOR_IP" --sync-key "$T/empty.key" 2>&1)
check "an empty --sync-key is refused with a clear error" grep -q "is empty" <<<"$out"

master_up() {	# master_up LOG [sync args...]
	local log=$1; shift
	rm -f "$T/xlbd.state"
	xlbd_start "$DIRECTOR_NS" "$S" "$log" -i "$DIRECTOR_IF_CLIENT" -i "$DIRECTOR_IF_RS" \
		--state-file "$T/xlbd.state" --rules "$T/rules" "$@"
	MASTER_PID=$XLBD_PID
}
backup_up() {	# backup_up LOG [sync args...]
	local log=$1; shift
	rm -f "$T/xlbd2.state"
	xlbd_start "$DIR2" "$S2" "$log" -i "$B_C" -i "$B_R" --state-file "$T/xlbd2.state" \
		--rules "$T/rules" "$@"
	BACKUP_PID=$XLBD_PID
}
# The addresses of the active director: the VIP towards the clients and
# the gateway towards the real servers, announced by gratuitous ARP.
addrs_to() {	# addrs_to FROM_NS FROM_C FROM_R TO_NS TO_C TO_R
	ip -n "$1" addr del "$VIP/32" dev "$2" 2>/dev/null
	ip -n "$1" addr del "$GW/24" dev "$3" 2>/dev/null
	ip -n "$4" addr add "$VIP/32" dev "$5"
	ip -n "$4" addr add "$GW/24" dev "$6"
	ip netns exec "$4" /usr/bin/python3 "$ROOT/tests/lab/garp.py" "$5" "$VIP" &
	ip netns exec "$4" /usr/bin/python3 "$ROOT/tests/lab/garp.py" "$6" "$GW"
	wait $!
}

# How the addresses move: keepalived's VRRP by default (unicast adverts on
# the client network, both addresses as virtual_ipaddress, a track_script
# asking each xlbd for its table: only the master's xlbd is killed, and its
# keepalived gives the addresses up when the check fails, the backup's takes
# them and sends the gratuitous ARPs). XLB_SYNC_VRRP=0, or no keepalived:
# the test moves them itself, ip addr + gratuitous ARP (garp.py).
if command -v keepalived >/dev/null; then VRRP=${XLB_SYNC_VRRP:-1}; else VRRP=0; fi
if [ "$VRRP" = 1 ]; then
	echo "addresses move with keepalived (VRRP)"
else
	echo "addresses move with ip addr + gratuitous ARP"
fi
ka_conf() {	# ka_conf NAME SELF PEER PRIO IFC IFR SOCK
	cat <<-KA
	global_defs {
	    router_id $1
	    enable_script_security
	    script_user root
	    vrrp_garp_master_repeat 3
	    vrrp_garp_master_delay 1
	}
	vrrp_script chk_xlbd {
	    script "$B/xlbctl --socket $7 -L -n"
	    interval 1
	    timeout 1
	    fall 1
	    rise 1
	}
	vrrp_instance xlb {
	    state BACKUP
	    interface $5
	    virtual_router_id 51
	    priority $4
	    advert_int 1
	    unicast_src_ip $2
	    unicast_peer {
	        $3
	    }
	    virtual_ipaddress {
	        $VIP/32 dev $5
	        $GW/24 dev $6
	    }
	    track_script {
	        chk_xlbd
	    }
	}
	KA
}
ka_start() {	# ka_start NS NAME CONF
	ip netns exec "$1" keepalived -n -l -G -P -f "$3" -p "$T/$2.pid" -r "$T/$2-vrrp.pid" \
		>"$T/$2.log" 2>&1 &
	lab_on_exit "kill_pid $!"
}
has_addr() { ip -n "$1" -o addr show | grep -q " $VIP/32 "; }

# failover_run NAME: the load, SIGKILL of the master, the move. Sets OK
# (survivors of 60), NEW_AFTER (new connections answered after the move)
# and GAP (seconds from the kill to the first new connection answered).
failover_run() {
	local name=$1 kp hp tk
	rm -f "$T/stop"
	L keep "$VIP" 80 --conns 60 --duration 12 --interval 0.2 --timeout 5 \
		>"$T/keep-$name.txt" &
	kp=$!
	L http "$VIP" 80 --stop-file "$T/stop" --interval 0.05 --timeout 2 >"$T/new-$name.txt" &
	hp=$!
	sleep 4
	if [ "$name" = sync ]; then
		echo "master's sync counters before the kill:"
		X --counters | awk '$1 == "sync" { printf "%s %s  ", $2, $3 } END { print "" }'
	fi
	tk=$(now)
	kill -KILL "$MASTER_PID"; wait "$MASTER_PID" 2>/dev/null
	if [ "$VRRP" = 1 ]; then
		wait_for 10 has_addr "$DIR2"
	else
		addrs_to "$DIRECTOR_NS" "$DIRECTOR_IF_CLIENT" "$DIRECTOR_IF_RS" "$DIR2" "$B_C" "$B_R"
	fi
	echo "$name: master killed, addresses moved in $(echo "$(now) - $tk" | bc) s"
	wait "$kp"
	touch "$T/stop"; wait "$hp"
	OK=$(awk '/^survived:/ { print $2 }' "$T/keep-$name.txt")
	NEW_AFTER=$(awk -v t="$tk" '$1 > t + 1 && $3 ~ /^rs[0-9]+$/' "$T/new-$name.txt" | wc -l)
	# The longest wait between two answered new connections around the
	# kill (requests start every 50 ms while they are answered).
	GAP=$(awk -v t="$tk" '$1 > t - 1 && $3 ~ /^rs[0-9]+$/ {
		if (p && $1 - p > g) g = $1 - p; p = $1 } END { printf "%.2f", g }' \
		"$T/new-$name.txt")
	grep -c BROKEN "$T/keep-$name.txt" >/dev/null && grep BROKEN "$T/keep-$name.txt" | head -5
	tail -n 1 "$T/keep-$name.txt"
}

# ---- with sync ----
# XLB_SYNC_MULTICAST=1: the stream goes to IPVS's group 224.0.0.81 on the
# client-side network instead of unicast (the backup still takes only the
# master's address).
if [ "${XLB_SYNC_MULTICAST:-0}" = 1 ]; then
	M_SYNC=(--sync-interface "$DIRECTOR_IF_CLIENT")
	B_SYNC=(--sync-interface "$B_C" --sync-peer "$DIRECTOR_IP")
else
	M_SYNC=(--sync-peer "$CSUB.3")
	B_SYNC=(--sync-peer "$DIRECTOR_IP")
fi
master_up "$T/master.log" --sync-role master "${M_SYNC[@]}" --sync-key "$KEY" \
	--sync-id 7 || { fail "master xlbd starts"; exit 1; }
backup_up "$T/backup.log" --sync-role backup "${B_SYNC[@]}" --sync-key "$KEY" \
	--sync-id 7 --metrics 127.0.0.1:9156 || { fail "backup xlbd starts"; exit 1; }
if [ "$VRRP" = 1 ]; then
	# The lab put the addresses on the master; keepalived owns them now.
	ip -n "$DIRECTOR_NS" addr del "$VIP/32" dev "$DIRECTOR_IF_CLIENT"
	ip -n "$DIRECTOR_NS" addr del "$GW/24" dev "$DIRECTOR_IF_RS"
	ka_conf a "$DIRECTOR_IP" "$CSUB.3" 150 "$DIRECTOR_IF_CLIENT" "$DIRECTOR_IF_RS" "$S" >"$T/ka-a.conf"
	ka_conf b "$CSUB.3" "$DIRECTOR_IP" 100 "$B_C" "$B_R" "$S2" >"$T/ka-b.conf"
	ka_start "$DIRECTOR_NS" ka-a "$T/ka-a.conf"
	ka_start "$DIR2" ka-b "$T/ka-b.conf"
	wait_for 15 has_addr "$DIRECTOR_NS"
	check "keepalived: the master director holds the VIP" has_addr "$DIRECTOR_NS"
	sleep 1
fi
check_eq "10 requests through the master" 0 "$(C http "$VIP" 80 --count 10 | grep -c ERROR)"
wait_for 3 bash -c "[ \"\$('$B/xlbctl' --socket '$S2' --counters | awk '\$1 == \"sync\" && \$2 == \"inserted\" { print \$3 }')\" -ge 10 ]"
check "the backup inserted the master's 10 connections" \
	test "$(counter2 sync inserted)" -ge 10
# Removals: the master deletes a real server of VIP:8080; the entries it
# flushes (closed HTTP/1.0 connections, still in TIME_WAIT) go to the
# backup as removal records.
check_eq "8 requests to VIP:8080 through the master" 0 \
	"$(C http "$VIP" 8080 --count 8 | grep -c ERROR)"
wait_for 3 bash -c "[ \"\$('$B/xlbctl' --socket '$S2' -L -n -c | grep -c ':8080 ')\" -ge 8 ]"
n8080=$(X2 -L -n -c | grep -c ":8080 ")
r0=$(counter2 sync removed)
set -- $RS_IPS
X -d -t "$VIP:8080" -r "$2:80"
wait_for 3 bash -c "[ \"\$('$B/xlbctl' --socket '$S2' --counters | awk '\$1 == \"sync\" && \$2 == \"removed\" { print \$3 }')\" -ge $((r0 + 4)) ]"
left=$(X2 -L -n -c | grep ":8080 " | grep -c " $2:80")
check "the backup had the 8 connections to VIP:8080 ($n8080)" test "$n8080" -ge 8
check_eq "the master's removals reached the backup: 4 removed, none of $2's left" \
	"4 0" "$(( $(counter2 sync removed) - r0 )) $left"

# Forged datagrams: from the master's address but without the key (one
# framed as version 1 with a wrong MAC, one of random bytes), and a
# well-framed one from a host that is not --sync-peer. Each is a counted
# drop, and the backup keeps serving its stream.
forge() {	# forge NS: two datagrams to the backup's sync port from NS
	ip netns exec "$1" /usr/bin/python3 -c '
import os, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 1
hdr = struct.pack("!IBBHQQHHI", 0x584c4253, 1, 7, n, int(time.time() * 1e6) + 10**9,
                  int(time.time() * 1000), 32 + 32 * n + 32, 0, 0)
s.sendto(hdr + os.urandom(32 * n) + os.urandom(32), (sys.argv[1], 8848))
s.sendto(os.urandom(100), (sys.argv[1], 8848))
' "$CSUB.3"
}
if [ "${XLB_SYNC_MULTICAST:-0}" != 1 ]; then
	a0=$(counter2 sync auth_failures) m0=$(counter2 sync malformed)
	w0=$(counter2 sync wrong_source)
	forge "$DIRECTOR_NS"
	forge "$CLIENT_NS"
	sleep 0.5
	check_eq "forged datagrams from the master's address: 1 auth failure, 1 malformed" \
		"1 1" "$(( $(counter2 sync auth_failures) - a0 )) $(( $(counter2 sync malformed) - m0 ))"
	check_eq "datagrams from another host: 2 wrong_source" 2 \
		"$(( $(counter2 sync wrong_source) - w0 ))"
fi
failover_run sync
echo "backup's sync counters:"
X2 --counters | awk '$1 == "sync" { printf "%s %s  ", $2, $3 } END { print "" }'
echo "NAT connections surviving the failover with sync: $OK of 60 ($((OK * 100 / 60)) %)"
check "with sync: >= 99 % of 60 established NAT connections survive ($OK)" test "$OK" -ge 60
check "with sync: new connections are answered by the backup after the move ($NEW_AFTER)" \
	test "$NEW_AFTER" -ge 10
echo "new connections: longest wait between two answered ones around the kill: $GAP s"
check_eq "the backup refused nothing of the master's stream (replays)" 0 \
	"$(counter2 sync replays)"
check "the backup's entries came from the stream (records in > 0, no_service 0)" \
	test "$(counter2 sync records_in)" -gt 0 -a "$(counter2 sync no_service)" -eq 0

ip netns exec "$DIR2" curl -s -m 3 http://127.0.0.1:9156/metrics >"$T/metrics"
check "Prometheus: the backup's scrape has the sync counters" \
	grep -q '^xlb_sync_inserted_total [1-9]' "$T/metrics"
if PROMTOOL=$(command -v promtool); then
	"$PROMTOOL" check metrics <"$T/metrics" >"$T/promtool.out" 2>&1
	check_eq "promtool check metrics: the scrape with the sync group is clean" "" \
		"$(grep -v '^$' "$T/promtool.out")"
fi

# ---- without sync: the same failover breaks most connections ----
kill_pid "$BACKUP_PID"
[ "$VRRP" = 1 ] || addrs_to "$DIR2" "$B_C" "$B_R" "$DIRECTOR_NS" "$DIRECTOR_IF_CLIENT" "$DIRECTOR_IF_RS"
master_up "$T/master2.log" || { fail "master xlbd starts again"; exit 1; }
backup_up "$T/backup2.log" || { fail "backup xlbd starts again"; exit 1; }
# keepalived: the master's check passes again, and its priority takes the
# addresses back (preemption).
[ "$VRRP" = 1 ] && wait_for 15 has_addr "$DIRECTOR_NS"
# The first request may still meet the neighbour entries of before.
one_ok() { [ "$(C http "$VIP" 80 --count 1 --timeout 1 | answers)" = 1 ]; }
wait_for 5 one_ok
check_eq "10 requests through the master again" 0 "$(C http "$VIP" 80 --count 10 | grep -c ERROR)"
failover_run nosync
echo "NAT connections surviving the failover without sync: $OK of 60 ($((OK * 100 / 60)) %)"
check "without sync: most established NAT connections break ($OK of 60 survive)" \
	test "$OK" -le 30
