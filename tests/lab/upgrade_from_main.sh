#!/bin/bash
# By hand (not picked up by run.sh: it needs a build of the released xlbd):
# an upgrade of xlbd keeps connections. The released xlbd (branch main,
# state file format version 1) serves 20 long-lived DR and 20 long-lived
# NAT connections (a request every 100 ms each); it is stopped (SIGTERM)
# and this tree's xlbd started with the same rules and the same
# --state-file: it upgrades the file to version 3 in place and adopts the
# connections, which survive. The services are round-robin: a connection
# the new xlbd did not adopt is scheduled again at its next packet, to
# another server two times in three, and breaks (seen with branch v6 at
# 82cd417, which refused version 1: 9 DR and 6 NAT of 20 survived).
# UPGRADE_SIGNAL=KILL stops the released xlbd with SIGKILL instead.
#
#   git clone -q /work/main /tmp/xlb-main && make -C /tmp/xlb-main -j2
#   XLB_MAIN_BUILD=/tmp/xlb-main/build tests/lab/upgrade_from_main.sh
#
# Without XLB_MAIN_BUILD (or with one holding no xlbd) it says SKIPPED and
# exits 77: it never passes without having run.
. "$(dirname "$0")/lib.sh"
MB=${XLB_MAIN_BUILD:-}
if [ -z "$MB" ] || [ ! -x "$MB/xlbd" ] || [ ! -x "$MB/xlbctl" ]; then
	lab_skip "XLB_MAIN_BUILD names no build of the released xlbd (${MB:-unset}): nothing was checked"
fi
lab_init
lab_up dr --servers 3 || { fail "lab up"; exit 1; }

S=$T/xlb.sock
STATE=$T/xlbd.state
L() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
now() { date +%s.%N; }
set -- $RS_NS
for ip in $RS_IPS; do
	ns=$1; shift
	ifn=$(ip -n "$ns" -o -4 addr show | awk -v a="$ip" '$4 ~ "^"a"/" { print $2 }')
	ip -n "$ns" route add default via "$DIRECTOR_IP" dev "$ifn" onlink table 100
	ip -n "$ns" rule add from "$ip" lookup 100
done
{
	echo "-A -t $VIP:80 -s rr"
	echo "-A -t $VIP:8080 -s rr"
	for r in $RS_IPS; do
		echo "-a -t $VIP:80 -r $r:80 -g -w 1"
		echo "-a -t $VIP:8080 -r $r:80 -m -w 1"
	done
} >"$T/rules"
ARGS=(-i "$DIRECTOR_IF" --rules "$T/rules" --state-file "$STATE")

# The released xlbd: xlbd_start runs $B's binaries.
B_NEW=$B
B=$MB
xlbd_start "$DIRECTOR_NS" "$S" "$T/xlbd-main.log" "${ARGS[@]}" || { fail "released xlbd starts"; exit 1; }
B=$B_NEW
check_eq "released xlbd: 10 DR requests succeed" 0 "$(C http "$VIP" 80 --count 10 | grep -c ERROR)"
check_eq "released xlbd: 10 NAT requests succeed" 0 "$(C http "$VIP" 8080 --count 10 | grep -c ERROR)"
ver=$(od -An -tu4 -j8 -N4 "$STATE" | tr -d ' ')
size=$(stat -c %s "$STATE")
echo "state file written by the released xlbd: version $ver, $size bytes ($(du -k "$STATE" | cut -f1) KiB allocated)"
check_eq "the released xlbd writes format version 1" 1 "$ver"

L keep "$VIP" 80 --conns 20 --duration 8 >"$T/dr.txt" &
dp=$!
L keep "$VIP" 8080 --conns 20 --duration 8 >"$T/nat.txt" &
np=$!
lab_on_exit "kill_pid $dp; kill_pid $np"
sleep 2.5
listed=$("$MB/xlbctl" --socket "$S" -L -n -c | grep -c ESTABLISHED)
echo "released xlbd lists $listed ESTABLISHED connections"
t0=$(now)
kill -"${UPGRADE_SIGNAL:-TERM}" "$XLBD_PID"
wait "$XLBD_PID" 2>/dev/null
xlbd_start "$DIRECTOR_NS" "$S" "$T/xlbd-new.log" "${ARGS[@]}" -v || { fail "this xlbd starts"; exit 1; }
gap=$(echo "$(now) - $t0" | bc)
wait "$dp" "$np"
DR_OK=$(awk '/^survived:/ { print $2 }' "$T/dr.txt")
NAT_OK=$(awk '/^survived:/ { print $2 }' "$T/nat.txt")
echo "xlbd down for $gap s (released -> this tree)"
grep -h BROKEN "$T/dr.txt" "$T/nat.txt" | sed 's/^/  /'
for f in dr nat; do
	# Each connection asks every 100 ms and must stay on its server.
	awk -v f="$f" '/^conn / { n++; a += $5; if (!m || $5 < m) m = $5 }
		/^survived:/ { s = $0 }
		END { printf "  %s: %s; %d answers over %d connections, at least %d each\n", f, s, a, n, m }' "$T/$f.txt"
done
grep -E "state file|adopted|replaced" "$T/xlbd-new.log" | sed 's/^/  /'
echo "survived: DR $DR_OK of 20, NAT $NAT_OK of 20"
check "this xlbd says it upgraded the file from version 1" \
	grep -q "upgraded from format version 1" "$T/xlbd-new.log"
adopted=$(sed -n 's/.*adopted \([0-9]*\) of.*/\1/p' "$T/xlbd-new.log")
check "and adopted the 40 connections (${adopted:-none})" test "${adopted:-0}" -ge 40
check "at least 19 of 20 DR connections survive ($DR_OK)" test "${DR_OK:-0}" -ge 19
check "at least 19 of 20 NAT connections survive ($NAT_OK)" test "${NAT_OK:-0}" -ge 19
ver=$(od -An -tu4 -j8 -N4 "$STATE" | tr -d ' ')
size=$(stat -c %s "$STATE")
echo "state file now: version $ver, $size bytes ($(du -k "$STATE" | cut -f1) KiB allocated)"
check_eq "the file is format version 3 now" 3 "$ver"
check_eq "this xlbd: 10 new DR requests succeed" 0 "$(C http "$VIP" 80 --count 10 | grep -c ERROR)"
check_eq "this xlbd: 10 new NAT requests succeed" 0 "$(C http "$VIP" 8080 --count 10 | grep -c ERROR)"
