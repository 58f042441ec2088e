#!/bin/bash
# Announce while healthy (issue 15, point 1): xlbd --announce-table N keeps
# "blackhole VIP/32 proto 250" in table N for each VIP it can serve, on the
# DR lab's director, real xlbd, real health checks against listeners in the
# real servers' namespaces. Two services on two VIPs: every server of one
# failing its check withdraws only that VIP within 3 s, and it comes back;
# SIGHUP does not flap; SIGSTOP -> the guard withdraws everything within 3 s,
# SIGCONT -> back; kill -9 -> withdrawn within 3 s, the guard gone too;
# SIGTERM -> withdrawn before exit. Routes of other protocols in table N,
# one for a VIP's own prefix, survive all of it; a stale proto-250 route is
# removed at start. Measured times are printed.
. "$(dirname "$0")/lib.sh"

# Bad arguments first: clear errors, no namespace needed.
refused() { [ "$1" -eq 1 ] && grep -q -- '--announce-table: ".*": a routing table number from 1 to 252' <<<"$2"; }
for bad in 0 253 abc; do
	out=$("$B/xlbd" -i lo --announce-table "$bad" 2>&1); rc=$?
	check "--announce-table $bad is refused with a sentence (exit $rc: $out)" refused "$rc" "$out"
done

lab_start dr
TBL=100
VIP2=${VIP%.*}.101
STALE=${VIP%.*}.250
OTHER=${VIP%.*}.251
CHK=8081
set -- $RS_NS; NS1=$1 NS2=$2
set -- $RS_IPS; RS1=$1 RS2=$2
D=$DIRECTOR_NS
now_ms() { date +%s%3N; }
# The proto-250 routes of table TBL, as "a b" (sorted).
routes() { ip -n "$D" route show table "$TBL" proto 250 | awk '{print $2}' | sort | xargs; }
routes_are() { [ "$(routes)" = "$*" ]; }
# ms_until SECONDS cmd...: milliseconds until cmd holds (polled every
# 20 ms), or -1 after SECONDS.
ms_until() {
	local t0 end; t0=$(now_ms); end=$((t0 + $1 * 1000)); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$end" ] || { echo -1; return; }
		sleep 0.02
	done
	echo $(($(now_ms) - t0))
}
within() { [ "$1" -ge 0 ] && [ "$1" -le "$2" ]; }
others_intact() {
	ip -n "$D" route show table "$TBL" proto static | grep -q "^unreachable $VIP " &&
	ip -n "$D" route show table "$TBL" proto 251 | grep -q "^blackhole $OTHER "
}

# Routes that are not xlbd's: one of another protocol for the VIP itself
# (same prefix, same table) and one of protocol 251. And a proto-250 route
# an earlier xlbd "left".
ip -n "$D" route add unreachable "$VIP/32" table "$TBL" proto static
ip -n "$D" route add blackhole "$OTHER/32" table "$TBL" proto 251
ip -n "$D" route add blackhole "$STALE/32" table "$TBL" proto 250

# The second service's check: TCP to port CHK on rs1 and rs2, where these
# listeners answer (stopped and started again by the test, by PID).
LPIDS=()
listen_start() {
	local ns ip
	LPIDS=()
	for ns_ip in "$NS1=$RS1" "$NS2=$RS2"; do
		ns=${ns_ip%=*} ip=${ns_ip#*=}
		ip netns exec "$ns" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(64)
while True:
    c, _ = s.accept(); c.close()' "$ip" "$CHK" </dev/null >/dev/null 2>&1 &
		LPIDS+=($!)
		lab_on_exit "kill_pid $!"
	done
}
listen_stop() { local p; for p in "${LPIDS[@]}"; do kill_pid "$p"; done; }
listen_start

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring
-a -t $VIP:80 -r $RS1:80 -g -w 1
-a -t $VIP:80 -r $RS2:80 -g -w 1
-A -t $VIP2:80 -s ring --check tcp --check-port $CHK --check-interval 0.3 --check-timeout 0.3 --check-rise 2 --check-fall 2
-a -t $VIP2:80 -r $RS1:80 -g -w 1
-a -t $VIP2:80 -r $RS2:80 -g -w 1
RULES
T0=$(now_ms)
xlbd_up "$T/rules" --announce-table "$TBL" --metrics 127.0.0.1:9157 ||
	{ fail "xlbd starts"; exit 1; }
T_READY=$(now_ms)
up_ms=$(ms_until 5 routes_are "$VIP" "$VIP2")
echo "    routes appeared ${up_ms} ms after xlbd answered ($((T_READY - T0)) ms to start)"
check "both VIPs are announced once xlbd is ready (${up_ms} ms)" within "$up_ms" 2000
check_eq "the stale proto-250 route is gone, only the two VIPs are in table $TBL" \
	"$VIP $VIP2" "$(routes)"
check "routes of other protocols in table $TBL are untouched" others_intact
GUARD=$(ps -o pid= --ppid "$XLBD_PID" | xargs)
check "xlbd has one child, the guard ($GUARD: $(ps -o comm= -p "$GUARD" 2>/dev/null))" \
	bash -c "[ -n '$GUARD' ] && [ \"\$(ps -o comm= -p '$GUARD')\" = xlbd-guard ]"
check_eq "xlbctl --counters: announce routes 2" 2 "$(counter announce routes)"
X --counters | grep '^announce ' | sed 's/^/    /'
ip netns exec "$D" curl -sS -m 5 -o "$T/m" http://127.0.0.1:9157/metrics
check "Prometheus: xlb_announce_routes 2, announcements a counter" bash -c \
	"grep -qx 'xlb_announce_routes 2' '$T/m' && grep -qx '# TYPE xlb_announce_announcements_total counter' '$T/m'"
if PROMTOOL=$(command -v promtool); then
	check "promtool check metrics: the scrape with the announce families is clean" \
		bash -c "'$PROMTOOL' check metrics <'$T/m' >'$T/pt' 2>&1 && ! [ -s '$T/pt' ]"
fi

# Every server of the second service fails its check: only VIP2 goes.
listen_stop
down_ms=$(ms_until 5 routes_are "$VIP")
echo "    $VIP2 withdrawn ${down_ms} ms after its servers' check port closed"
check "only $VIP2 is withdrawn, within 3 s (${down_ms} ms)" within "$down_ms" 3000
check_eq "xlbctl --counters: announce withdrawals 1" 1 "$(counter announce withdrawals)"
listen_start
back_ms=$(ms_until 5 routes_are "$VIP" "$VIP2")
echo "    $VIP2 back ${back_ms} ms after its listeners started"
check "$VIP2 is announced again when its servers pass their check (${back_ms} ms)" \
	within "$back_ms" 3000

# SIGHUP reloads the same rules: nothing flaps.
ann=$(counter announce announcements) wd=$(counter announce withdrawals)
kill -HUP "$XLBD_PID"
sleep 1
check_eq "SIGHUP with the same rules: still both VIPs" "$VIP $VIP2" "$(routes)"
check_eq "SIGHUP: no announcement nor withdrawal (before $ann/$wd)" "$ann/$wd" \
	"$(counter announce announcements)/$(counter announce withdrawals)"

# SIGHUP with VIP2's service gone from the rules withdraws it alone; the
# rules back, it is back.
cp "$T/rules" "$T/rules.all"
grep -v -- "$VIP2:80" "$T/rules.all" >"$T/rules"
kill -HUP "$XLBD_PID"
hup_ms=$(ms_until 5 routes_are "$VIP")
check "SIGHUP without $VIP2's service: only it is withdrawn (${hup_ms} ms)" within "$hup_ms" 1000
cp "$T/rules.all" "$T/rules"
kill -HUP "$XLBD_PID"
hup_ms=$(ms_until 5 routes_are "$VIP" "$VIP2")
check "SIGHUP with it again: announced again (${hup_ms} ms)" within "$hup_ms" 1000

# One datapath worker stops (ptrace, that thread alone): xlbd withdraws
# everything after a second without progress, and announces again when it
# goes on.
WTID=$(grep -l '^xlb-w0$' /proc/"$XLBD_PID"/task/*/comm | head -1 | cut -d/ -f5)
/usr/bin/python3 "$ROOT/tests/lab/threadstop.py" "$WTID" 2.5 >"$T/ts.out" 2>&1 &
TS=$!
lab_on_exit "kill_pid $TS"
wait_for 2 grep -q stopped "$T/ts.out"
stall_ms=$(ms_until 5 routes_are)
echo "    worker xlb-w0 ($WTID) stopped: every route withdrawn after ${stall_ms} ms"
check "a stalled worker withdraws every route within 3 s (${stall_ms} ms)" within "$stall_ms" 3000
check_eq "xlbctl --counters: announce workers_stalled 1" 1 "$(counter announce workers_stalled)"
wait "$TS"
check "the worker goes on ($(cat "$T/ts.out" | xargs))" grep -q released "$T/ts.out"
resume_ms=$(ms_until 5 routes_are "$VIP" "$VIP2")
check "it makes progress again: both VIPs back (${resume_ms} ms)" within "$resume_ms" 2000
check_eq "xlbctl --counters: announce worker_stalls 1" 1 "$(counter announce worker_stalls)"

# SIGSTOP: the guard withdraws after 1 s without heartbeat.
kill -STOP "$XLBD_PID"
stop_ms=$(ms_until 5 routes_are)
kill -CONT "$XLBD_PID"
echo "    SIGSTOP: every route withdrawn after ${stop_ms} ms"
check "SIGSTOP: every route withdrawn within 3 s (${stop_ms} ms)" within "$stop_ms" 3000
cont_ms=$(ms_until 5 routes_are "$VIP" "$VIP2")
echo "    SIGCONT: routes back after ${cont_ms} ms"
check "SIGCONT: both VIPs announced again (${cont_ms} ms)" within "$cont_ms" 2000
check_eq "xlbctl --counters: announce guard_withdrawals 1" 1 \
	"$(counter announce guard_withdrawals)"
check "routes of other protocols survived" others_intact

# kill -9: the guard sees the socket's EOF and withdraws.
kill -KILL "$XLBD_PID"
kill_ms=$(ms_until 5 routes_are)
echo "    kill -9: every route withdrawn after ${kill_ms} ms"
check "kill -9: every route withdrawn within 3 s (${kill_ms} ms)" within "$kill_ms" 3000
guard_gone() { [ ! -e "/proc/$GUARD" ] || grep -q '^State:.*Z' "/proc/$GUARD/status"; }
check "kill -9: the guard ($GUARD) exited too" wait_for 3 guard_gone
wait "$XLBD_PID" 2>/dev/null
check "routes of other protocols survived kill -9" others_intact

# xlbd and its guard killed together (systemctl kill -s KILL): the routes
# stay, and xlbd --withdraw (the unit's ExecStopPost=) removes them; it
# refuses while an xlbd runs.
xlbd_up "$T/rules" --announce-table "$TBL" || { fail "xlbd starts again"; exit 1; }
wait_for 5 routes_are "$VIP" "$VIP2"
out=$(ip netns exec "$D" "$B/xlbd" --socket "$S" --withdraw -i "$DIRECTOR_IF" --announce-table "$TBL" 2>&1); rc=$?
check "--withdraw under a running xlbd is refused, its routes stay ($rc: $out)" \
	bash -c "[ $rc -eq 1 ] && [ \"\$(ip -n '$D' route show table $TBL proto 250 | wc -l)\" -eq 2 ]"
GUARD=$(ps -o pid= --ppid "$XLBD_PID" | xargs)
kill -STOP "$GUARD"	# so that it cannot see xlbd's EOF before its own end
kill -KILL "$XLBD_PID"
kill -KILL "$GUARD"
wait "$XLBD_PID" 2>/dev/null
check_eq "xlbd and its guard killed together: the routes stay" "$VIP $VIP2" "$(routes)"
out=$(ip netns exec "$D" "$B/xlbd" --socket "$S" --withdraw -i "$DIRECTOR_IF" --rules "$T/rules" --announce-table "$TBL" 2>&1); rc=$?
check_eq "xlbd --withdraw (ExecStopPost=) removes them ($rc: $out)" "0:" "$rc:$(routes)"
check "--withdraw leaves other protocols' routes" others_intact

# A restart (same state file: the connection handoff) announces again;
# SIGTERM withdraws before xlbd exits.
xlbd_up "$T/rules" --announce-table "$TBL" || { fail "xlbd starts again"; exit 1; }
re_ms=$(ms_until 5 routes_are "$VIP" "$VIP2")
check "restarted: both VIPs announced (${re_ms} ms)" within "$re_ms" 3000
GUARD=$(ps -o pid= --ppid "$XLBD_PID" | xargs)
# A SIGTERM for the guard alone changes nothing while xlbd lives.
kill -TERM "$GUARD"
sleep 0.5
check "SIGTERM to the guard alone: it stays, the routes stay" \
	bash -c "kill -0 $GUARD && [ \"\$(ip -n '$D' route show table $TBL proto 250 | wc -l)\" -eq 2 ]"
# As systemd stops the unit (KillMode=control-group): SIGTERM to both.
kill -TERM "$XLBD_PID" "$GUARD"
check "SIGTERM: xlbd exits" wait_for 5 bash -c "! kill -0 $XLBD_PID 2>/dev/null"
check_eq "SIGTERM: no proto-250 route left once xlbd is gone" "" "$(routes)"
check "SIGTERM: xlbd itself withdrew them (its log says so)" \
	grep -q "Terminated: withdrew 2 routes of table $TBL" "$LOG"
check "SIGTERM: the guard ($GUARD) exited too" wait_for 3 guard_gone
check "SIGTERM: a stop, not a lost guard, in xlbd's log" \
	bash -c "! grep -q 'the guard process' '$LOG'"
check "routes of other protocols survived everything" others_intact
ip -n "$D" route show table "$TBL" | sed 's/^/    /'
