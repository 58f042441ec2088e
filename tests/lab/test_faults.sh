#!/bin/bash
# Faults (DR, then TUN for the director restart): a real server killed
# mid-transfer, a real server deleted with live connections, xlbd killed
# with SIGKILL and restarted under load, configuration changes every 100 ms
# during traffic. Prints the figures the README's Reliability section uses
# ("survived: K of N").
. "$(dirname "$0")/lib.sh"
lab_init
lab_up dr --servers 4 || { fail "lab up"; exit 1; }

S=$T/xlb.sock
LOG=$T/xlbd.log
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
L() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" "$@"; }
now() { date +%s.%N; }
set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3; RS4=$4
set -- $RS_NAMES; N1=$1; N2=$2; N3=$3; N4=$4
set -- $RS_NS; NS1=$1
want=$(sha256sum "$BIG_FILE_LOCAL" | cut -d' ' -f1)

# The service uses rs1..rs3; rs4 is the one the configuration churn adds
# and removes.
rules() {
	echo "-A -t $VIP:80 -s ring"
	for r in $RS1 $RS2 $RS3; do echo "-a -t $VIP:80 -r $r:80 $1 -w 1"; done
}
rules -g >"$T/rules"
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" -i "$DIRECTOR_IF" --rules "$T/rules" ||
	{ fail "xlbd starts"; exit 1; }
check_eq "20 requests before any fault all succeed" 20 \
	"$(C http "$VIP" 80 --count 20 | answers)"

# ---- 1. A real server killed mid-transfer --------------------------------
# Two slow 1 MiB downloads per server (client ports chosen by where the
# ring sends them); after 1 s rs1 dies: its interface goes down (killing
# only its nginx would not do: the kernel already holds the whole file in
# the socket's send buffer and delivers it). The others complete intact.
C http "$VIP" 80 --sport 52000 --count 40 >"$T/probe.txt"
sports=""
for n in "$N1" "$N2" "$N3"; do
	sports="$sports $(awk -v n="$n" '$2 == n { print $1 }' "$T/probe.txt" | head -n 2)"
done
check_eq "two client ports found per server" 6 "$(wc -w <<<"$sports")"
pids=""
for sp in $sports; do
	C http "$VIP" 80 --sport "$sp" --path "$BIG_FILE" --rate 262144 --timeout 2 \
		>"$T/dl-$sp.txt" &
	pids="$pids $!"
done
sleep 1
set -- $RS_IFS; IF1=$1
lab_on_exit "ip -n '$NS1' link set '$IF1' up"
ip -n "$NS1" link set "$IF1" down
wait $pids
bad=0; dead=0
for sp in $sports; do
	srv=$(awk -v p="$sp" '$1 == p { print $2 }' "$T/probe.txt")
	got=$(awk '{ print $2, $3 }' "$T/dl-$sp.txt")
	echo "download from port $sp on $srv: $got"
	if [ "$srv" = "$N1" ]; then
		[ "$got" = "$want 1048576" ] || dead=$((dead + 1))
	else
		[ "$got" = "$want 1048576" ] || bad=$((bad + 1))
	fi
done
check_eq "the dead server's 2 downloads were cut mid-transfer" 2 "$dead"
check_eq "the other servers' 4 concurrent downloads complete intact" 0 "$bad"
ip -n "$NS1" link set "$IF1" up
check "rs1 serves again" wait_for 5 bash -c "ip netns exec '$CLIENT_NS' /usr/bin/python3 \
	'$ROOT/tests/lab/client.py' http '$RS1' 80 --timeout 1 | grep -q ' $N1\$'"

# ---- 2. A real server deleted with live connections ----------------------
# 24 keep-alive connections from fixed ports (below the client's ephemeral
# range; 24, so that some land on rs2 in all but ~1 in 10^5 runs, whatever
# the run's addresses hash to); rs2 is deleted while they
# talk. Its entries go at once; the others' connections are untouched; a
# new SYN on any of those tuples is answered by a remaining server.
L keep "$VIP" 80 --conns 24 --duration 4 --sport 23000 >"$T/keep-del.txt" &
kp=$!
sleep 1.5
n_rs2=$(X -L -n -c | awk -v d="$RS2:80" '$6 == d' | wc -l)
X -d -t "$VIP:80" -r "$RS2:80"
left=$(X -L -n -c | awk -v d="$RS2:80" '$6 == d' | wc -l)
wait "$kp"
cat "$T/keep-del.txt"
echo "rs2 had $n_rs2 entries; $left left after its delete"
check "rs2 had live connections when deleted" test "$n_rs2" -gt 0
check_eq "the deleted server's entries are gone from -L -n -c at once" 0 "$left"
check_eq "connections on the other servers are unaffected" 0 \
	"$(awk -v d="$N2" '$1 == "conn" && $4 != d && $6 != "ok"' "$T/keep-del.txt" | wc -l)"
on_rs2=$(awk -v d="$N2" '$1 == "conn" && $4 == d' "$T/keep-del.txt" | wc -l)
echo "connections that were on rs2: $on_rs2 (broken: $(awk -v d="$N2" \
	'$1 == "conn" && $4 == d && $6 != "ok"' "$T/keep-del.txt" | wc -l))"
check "some connections were on rs2" test "$on_rs2" -gt 0
C http "$VIP" 80 --sport 23000 --count 24 >"$T/resched.txt"
paste <(awk '$1 == "conn" { print $3, $4 }' "$T/keep-del.txt") "$T/resched.txt" >"$T/cmp.txt"
check_eq "new SYNs on all 24 tuples are answered, none by rs2" \
	24 "$(answers "$T/resched.txt" "$N2")"
check_eq "tuples of the other servers stay where they were" 0 \
	"$(awk -v d="$N2" '$2 != d && $2 != $4' "$T/cmp.txt" | wc -l)"
X -a -t "$VIP:80" -r "$RS2:80" -g -w 1

# ---- 3. xlbd killed with SIGKILL and restarted ---------------------------
# restart_xlbd LOGFILE: SIGKILL, then start again at once (with -v, to see
# the AF_XDP bind retries); sets GAP, the outage in seconds.
restart_xlbd() {
	local t0
	t0=$(now)
	kill -KILL "$XLBD_PID"
	wait "$XLBD_PID" 2>/dev/null
	xlbd_start "$DIRECTOR_NS" "$S" "$1" "${XLBD_ARGS[@]}" -v || return 1
	GAP=$(echo "$(now) - $t0" | bc)
}
# sigkill_run MODE-NAME PAUSE: 20 keep-alive connections (a request every
# 100 ms each) across a SIGKILL + restart; with PAUSE=1 they send nothing
# during the outage. Prints "survived: K of N (P%)".
sigkill_run() {
	local name=$1 pause=$2 kp out=$T/keep-$1.txt
	rm -f "$T/pause"
	L keep "$VIP" 80 --conns 20 --duration 6 --pause-file "$T/pause" >"$out" &
	kp=$!
	sleep 2
	if [ "$pause" = 1 ]; then touch "$T/pause"; sleep 0.3; fi
	restart_xlbd "$T/xlbd-$name.log" || { fail "xlbd restarts ($name)"; return; }
	rm -f "$T/pause"
	wait "$kp"
	echo "$name: xlbd down for $GAP s"
	grep -E "BROKEN|survived" "$out" | sed 's/^/  /'
	check_eq "$name: no connection ever answered by another server" 0 \
		"$(grep -c moved-to "$out")"
	SURVIVED=$(awk '/^survived:/ { print $2 }' "$out")
}
XLBD_ARGS=(-i "$DIRECTOR_IF" --rules "$T/rules")
id0=$(ip -n "$DIRECTOR_NS" -d link show "$DIRECTOR_IF" | grep -o 'prog/xdp id [0-9]*')
sigkill_run dr-quiet 1
check_eq "DR, no packets during the outage: all 20 connections survive" 20 "$SURVIVED"
id1=$(ip -n "$DIRECTOR_NS" -d link show "$DIRECTOR_IF" | grep -o 'prog/xdp id [0-9]*')
echo "XDP program before the SIGKILL: $id0; after the restart: $id1"
check "the restarted xlbd replaced its stale XDP program" test -n "$id1" -a "$id0" != "$id1"
check "the restarted xlbd reloaded --rules" grep -q "rules loaded" "$T/xlbd-dr-quiet.log"
check_eq "and serves the service again" 10 "$(C http "$VIP" 80 --count 10 | answers)"
if grep -q "bound after" "$T/xlbd-dr-quiet.log"; then
	grep "bound after" "$T/xlbd-dr-quiet.log"
else
	echo "AF_XDP bind: the queue was free at once (no EBUSY retry needed)"
fi
check "the restarted xlbd bound its AF_XDP socket" \
	grep -q "datapath: 1 interface(s)" "$T/xlbd-dr-quiet.log"
sigkill_run dr-busy 0
echo "DR restart under load: survived: $SURVIVED of 20 ($((SURVIVED * 5))%)"
DR_BUSY=$SURVIVED

# ---- 4. Configuration changes every 100 ms during traffic ----------------
# rs4 is added, quiesced, reweighted, deleted; the ring's vnodes change.
# Every answer must come from a server that was in the service (with a
# weight) when the request began: rs4 never answers a request that started
# after its delete or weight 0 returned and before it came back.
rm -f "$T/stop"
L http "$VIP" 80 --stop-file "$T/stop" --interval 0.01 --timeout 2 >"$T/churn.txt" &
lp=$!
lab_on_exit "kill_pid $lp"
: >"$T/ops.txt"
# 45 changes (the README's figure), one every 100 ms plus xlbctl's time.
NCHANGES=45
i=0
c0=$(now)
while [ "$i" -lt "$NCHANGES" ]; do
	case $((i % 6)) in
	0) op=open;  kind=add; args=(-a -t "$VIP:80" -r "$RS4:80" -g -w 1) ;;
	1) op=close; kind=w0;  args=(-e -t "$VIP:80" -r "$RS4:80" -w 0) ;;
	2) op=open;  kind=w2;  args=(-e -t "$VIP:80" -r "$RS4:80" -w 2) ;;
	3) op=other; kind=v40; args=(-E -t "$VIP:80" --vnodes 40) ;;
	4) op=close; kind=del; args=(-d -t "$VIP:80" -r "$RS4:80") ;;
	5) op=other; kind=v160; args=(-E -t "$VIP:80" --vnodes 160) ;;
	esac
	t0=$(now)
	if X "${args[@]}"; then res=ok; else res=FAILED; echo "config change failed: ${args[*]}"; fi
	echo "$t0 $(now) $op $res $kind" >>"$T/ops.txt"
	i=$((i + 1))
	sleep 0.1
done
secs=$(echo "$(now) - $c0" | bc)
sleep 0.5
touch "$T/stop"
wait "$lp"
nreq=$(wc -l <"$T/churn.txt")
nerr=$(grep -c ERROR "$T/churn.txt")
nok=$(awk '$4 == "ok"' "$T/ops.txt" | wc -l)
echo "configuration changes: $i in $secs s (one every $(echo "scale=0; $secs * 1000 / $i" | bc) ms), $nok applied; requests: $nreq, errors: $nerr"
# Each failed request (at most 5) with the changes made within 0.5 s of
# its start, for the record.
grep ERROR "$T/churn.txt" | head -n 5 | while read -r st sp why; do
	echo "  failed: start $st port $sp $why; changes within 0.5 s:" \
		"$(awk -v t="$st" '$2 >= t - 0.5 && $1 <= t + 0.5 { printf "%s(%+.3f s) ", $5, $1 - t }' "$T/ops.txt")"
done
awk '{ print $3 }' "$T/churn.txt" | sort | uniq -c | sed 's/^/  /'
# The README's figures: 45 changes, each one applied, under continuous
# requests; the failed requests are counted and the README quotes them
# as measured (a delete flushes rs4's entries at once, so a request in
# flight on rs4 at that moment may be reset: 0-1 of ~530 seen).
check_eq "every one of the $NCHANGES configuration changes was applied" "$NCHANGES" "$nok"
check "traffic ran throughout ($nreq requests)" test "$nreq" -ge 100
check_eq "every answer names a configured server" 0 \
	"$(awk '$3 !~ /^ERROR/ && $3 != "rs1" && $3 != "rs2" && $3 != "rs3" && $3 != "rs4"' "$T/churn.txt" | wc -l)"
# rs4 is shut for new flows from the return of a "close" to the start of
# the next "open".
awk -v d="$N4" 'NR == FNR { if ($3 == "close") { c = $2 } else if ($3 == "open" && c) { s[n] = c; e[n] = $1; n++; c = 0 } next }
	$3 == d { for (k = 0; k < n; k++) if ($1 > s[k] && $1 < e[k]) { print; break } }
	END { }' "$T/ops.txt" "$T/churn.txt" >"$T/wrong.txt"
# For the record: each such answer with the changes within 0.5 s of it.
while read -r st sp who; do
	echo "  rs4 answered a request begun at $st (port $sp); changes within 0.5 s:" \
		"$(awk -v t="$st" '$2 >= t - 0.5 && $1 <= t + 0.5 { printf "%s[%+.4f..%+.4f s] ", $5, $1 - t, $2 - t }' "$T/ops.txt")"
done <"$T/wrong.txt"
wrong=$(wc -l <"$T/wrong.txt")
# A "close" still open at the end shuts rs4 until the end.
last_close=$(awk '$3 == "close" { c = $2 } $3 == "open" { c = 0 } END { print c }' "$T/ops.txt")
late=0
[ "$last_close" != 0 ] && late=$(awk -v d="$N4" -v c="$last_close" '$3 == d && $1 > c' "$T/churn.txt" | wc -l)
check_eq "rs4 answered no request begun while it was deleted or at weight 0" 0 "$((wrong + late))"
check "rs4 did answer while it was in the service" grep -q " $N4\$" "$T/churn.txt"
check "at most 1 % of the requests failed ($nerr of $nreq)" \
	test $((nerr * 100)) -le "$nreq"
check "xlbd is alive after the churn" kill -0 "$XLBD_PID"
check_eq "and answers 10 requests" 10 "$(C http "$VIP" 80 --count 10 | answers)"
X -L -n

# ---- 5. TUN: the same restart ---------------------------------------------
kill_pid "$XLBD_PID"
lab_up tun || { fail "TUN lab up"; exit 1; }
set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3
rules -i >"$T/rules"
XLBD_ARGS=(--rules "$T/rules")
for i in $DIRECTOR_IFS; do XLBD_ARGS+=(-i "$i"); done
xlbd_start "$DIRECTOR_NS" "$S" "$T/xlbd-tun.log" "${XLBD_ARGS[@]}" ||
	{ fail "xlbd starts (TUN)"; exit 1; }
sigkill_run tun-quiet 1
check_eq "TUN, no packets during the outage: all 20 connections survive" 20 "$SURVIVED"
sigkill_run tun-busy 0
echo "TUN restart under load: survived: $SURVIVED of 20 ($((SURVIVED * 5))%)"
echo "restart under load (a request every 100 ms on each connection): DR $DR_BUSY of 20, TUN $SURVIVED of 20"
# Steered packets find no socket while xlbd restarts: the XDP program drops
# them (the clients retransmit) instead of passing them to the director's
# kernel, which would reset the connections; the next xlbd swaps its
# program in with every map filled and adopts the connection table. The
# issue's bar for a restart under load: 19 of 20.
check "DR restart under load: at least 19 of 20 connections survive ($DR_BUSY of 20)" test "${DR_BUSY:-0}" -ge 19
check "TUN restart under load: at least 19 of 20 connections survive ($SURVIVED of 20)" test "${SURVIVED:-0}" -ge 19
