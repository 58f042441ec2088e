#!/bin/bash
# Running xlbd as a systemd service (issue 16, items 1 and 6):
#  * the unit, as `make install-service` installs it into a scratch root,
#    passes `systemd-analyze verify` with no warnings (and a broken copy
#    does not: the check can fail);
#  * xlbd, started as the unit starts it (its capability bounding set, the
#    installed defaults' empty rules file, NOTIFY_SOCKET set to an abstract
#    socket this test listens on, JOURNAL_STREAM naming its stderr), sends
#    READY=1 only once `xlbctl -L` works, logs with sd-daemon priorities;
#  * SIGHUP (ExecReload) sends RELOADING=1 then READY=1 and makes the
#    edited rules file the whole configuration in one step, while 10
#    keep-alive connections to kept servers go on; a file that does not
#    parse, or that xlbd refuses, changes nothing and is logged with its
#    file and line;
#  * SIGTERM sends STOPPING=1; a restart under the same capabilities
#    adopts the XDP program, and each capability the unit grants is
#    needed: without any one of them xlbd does not start.
. "$(dirname "$0")/lib.sh"
lab_init

if [ "$(id -u)" -ne 0 ]; then lab_skip "needs root (namespaces, XDP)"; fi
command -v systemd-analyze >/dev/null || { fail "systemd-analyze missing (scripts/deps.sh)"; exit 1; }

# ---- the unit, installed into a scratch root ----
R=$T/root
# install-service only (it builds nothing: $B is used, never written), and
# the binary the unit starts, so that verify finds ExecStart's program.
make -s -C "$ROOT" install-service PREFIX="$R/usr" SYSCONFDIR="$R/etc" \
	>"$T/install.log" 2>&1 || { fail "make install-service"; cat "$T/install.log"; exit 1; }
install -D -m 0755 "$B/xlbd" "$R/usr/sbin/xlbd"
UNIT=$R/usr/lib/systemd/system/xlbd.service
for f in "$UNIT" "$R/etc/default/xlb" "$R/etc/xlb/rules" "$R/usr/sbin/xlbd"; do
	check "installed: ${f#"$R"}" test -s "$f"
done
# The man pages are the man helper's: checked when they are installed.
MAN=(--man=no)
if [ -e "$R/usr/share/man/man8/xlbd.8" ]; then MAN=(); export MANPATH=$R/usr/share/man; fi
verify() { systemd-analyze verify "${MAN[@]}" "$1" 2>&1; }
OUT=$(verify "$UNIT"); RC=$?
check_eq "systemd-analyze verify: exit status" 0 "$RC"
check_eq "systemd-analyze verify: no warnings" "" "$OUT"
sed 's/^ProtectSystem=strict/ProtectSystem=stricter/' "$UNIT" >"$T/bad.service"
check "systemd-analyze verify: a broken copy is reported" test -n "$(verify "$T/bad.service")"
check "the unit is Type=notify with ExecReload by SIGHUP" \
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$UNIT"
# The default interfaces line, for the start below.
. "$R/etc/default/xlb"
check_eq "/etc/default/xlb as installed names no interface" "" "$XLB_INTERFACES"
OUT=$("$R/usr/sbin/xlbd" -i "$XLB_INTERFACES" --rules "$R/etc/xlb/rules" 2>&1); RC=$?
check "... and xlbd then refuses to start, saying why (exit $RC)" \
	test "$RC" -eq 1 -a -n "$(echo "$OUT" | grep 'at least one -i IFACE is required')"

# The unit's capabilities, as setpriv's list.
CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
CAPS_SP=$(for c in $CAPS; do printf '+%s,' "$(echo "${c#CAP_}" | tr 'A-Z' 'a-z')"; done)
CAPS_SP=${CAPS_SP%,}
echo "unit capabilities: $CAPS"

# ---- xlbd as the unit runs it ----
lab_up dr --servers 3 || { fail "lab up"; exit 1; }
S=$T/xlb.sock
X() { "$B/xlbctl" --socket "$S" "$@"; }
L() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" "$@"; }
RULES=$T/rules
cp "$R/etc/xlb/rules" "$RULES"
set -- $RS_IPS
RS1=$1 RS2=$2 RS3=$3

NSOCK=@xlb-notify-$P
NLOG=$T/notify.log
ip netns exec "$DIRECTOR_NS" /usr/bin/python3 "$ROOT/tests/lab/notify_listen.py" "$NSOCK" "$NLOG" \
	"$B/xlbctl" --socket "$S" -L -n &
NPID=$!
lab_on_exit "kill_pid $NPID"
wait_for 5 grep -q listening "$NLOG" || { fail "notify listener"; exit 1; }

# xlbd_unit LOG CAPS [xlbd args]: xlbd in the director's namespace with
# only CAPS in its bounding set (as systemd's CapabilityBoundingSet=), its
# stderr the journal's stream (JOURNAL_STREAM = LOG's dev:ino). Sets XPID.
xlbd_unit() {
	local log=$1 caps=$2; shift 2
	: >>"$log"
	ip netns exec "$DIRECTOR_NS" env NOTIFY_SOCKET="$NSOCK" \
		JOURNAL_STREAM="$(stat -c '%d:%i' "$log")" \
		setpriv --bounding-set=-all,"$caps" --inh-caps=-all --no-new-privs \
		"$B/xlbd" -i "$DIRECTOR_IF" --socket "$S" --group nogroup --rules "$RULES" "$@" \
		>>"$log" 2>&1 &
	XPID=$!
	lab_on_exit "kill_pid $XPID"
}
nmsgs() { grep -c "^msg .*$1" "$NLOG"; }
# ready_ge N: at least N READY=1 messages came (for wait_for).
ready_ge() { [ "$(nmsgs READY=1)" -ge "$1" ]; }

# The order, seen in xlbd's own system calls: the control socket listens
# (so xlbctl's connect is accepted) before the sendto that says READY=1.
# A start of its own, traced, then stopped; the service starts after it.
TLOG=$T/notify-trace.log
ip netns exec "$DIRECTOR_NS" /usr/bin/python3 "$ROOT/tests/lab/notify_listen.py" "@xlb-trace-$P" "$TLOG" \
	"$B/xlbctl" --socket "$S" -L -n &
TPID=$!
lab_on_exit "kill_pid $TPID"
wait_for 5 grep -q listening "$TLOG" || { fail "notify listener (trace)"; exit 1; }
# LeakSanitizer cannot run under ptrace (make test SAN=1): leaks are
# checked in the untraced runs, not in this one.
ip netns exec "$DIRECTOR_NS" env NOTIFY_SOCKET="@xlb-trace-$P" \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -qq --seccomp-bpf -e trace=listen,sendto -o "$T/strace.txt" \
	setpriv --bounding-set=-all,"$CAPS_SP" --inh-caps=-all --no-new-privs \
	"$B/xlbd" -i "$DIRECTOR_IF" --socket "$S" --rules "$RULES" >"$T/xlbd-trace.log" 2>&1 &
SPID=$!
lab_on_exit "kill_pid $SPID"
wait_for 15 grep -q "READY=1" "$TLOG" || { fail "traced start: READY=1"; tail "$T/xlbd-trace.log"; }
L_AT=$(grep -n 'listen(.*= 0' "$T/strace.txt" | head -n 1 | cut -d: -f1)
R_AT=$(grep -n 'sendto(.*READY=1' "$T/strace.txt" | head -n 1 | cut -d: -f1)
grep -E 'listen\(|READY=1' "$T/strace.txt" | sed 's/^/  strace: /'
check "READY=1 is sent after the control socket listens (syscall order)" \
	test -n "$L_AT" -a -n "$R_AT" -a "${L_AT:-0}" -lt "${R_AT:-0}"
XPID=$(ps -o pid= --ppid "$SPID" | tr -d ' ')
[ -n "$XPID" ] && kill -TERM "$XPID"
wait "$SPID"
check "READY=1 (traced start): xlbctl -L worked when it came" grep -q "^ready [0-9]*: cmd rc=0" "$TLOG"

xlbd_unit "$T/xlbd.log" "$CAPS_SP"
wait_for 15 grep -q "READY=1" "$NLOG" || { fail "READY=1 within 15 s"; tail "$T/xlbd.log"; exit 1; }
cat "$NLOG"
check "READY=1: xlbctl -L worked when it came" grep -q "^ready [0-9]*: cmd rc=0" "$NLOG"
check "READY=1 carries a STATUS= line" grep -q "READY=1 STATUS=serving 1 interface, 0 services" "$NLOG"
check_eq "the installed rules file: an empty configuration" "" "$(X -S -n)"
check "journal stream: lines carry <6> (info), no program name" \
	grep -q "^<6>listening on $S" "$T/xlbd.log"
check "journal stream: no line without a priority" test -z "$(grep -v '^<[0-7]>' "$T/xlbd.log")"

# ---- reload: the edited file is the configuration, in one step ----
cat >"$RULES" <<R1
# two services
-A -t $VIP:80 -s rr
-a -t $VIP:80 -r $RS1:80 -g -w 1
-a -t $VIP:80 -r $RS2:80 -g -w 1
-A -t $VIP:81 -s wlc
-a -t $VIP:81 -r $RS3:81 -g -w 1
R1
kill -HUP "$XPID"
wait_for 10 ready_ge 2 || fail "READY=1 after the first reload"
check_eq "reload 1: RELOADING=1 then READY=1" "RELOADING=1 READY=1" \
	"$(grep -o '^msg [0-9]*: [A-Z]*=1' "$NLOG" | tail -n 2 | awk '{print $3}' | xargs)"
check_eq "reload 1: the file's two services" \
	"$(printf '%s\n' "-A -t $VIP:80 -s rr" "-a -t $VIP:80 -r $RS1:80 -g -w 1" \
	   "-a -t $VIP:80 -r $RS2:80 -g -w 1" "-A -t $VIP:81 -s wlc" "-a -t $VIP:81 -r $RS3:81 -g -w 1")" \
	"$(X -S -n)"

# 10 keep-alive connections on VIP:80 (to RS1 and RS2) across reload 2,
# which drops VIP:81, adds RS3 to VIP:80, reweights RS2, changes the
# scheduler: every connection is to a kept server and must go on.
L keep "$VIP" 80 --conns 10 --duration 5 >"$T/keep.txt" &
LPID=$!
lab_on_exit "kill_pid $LPID"
sleep 1.5
cat >"$RULES" <<R2
-A -t $VIP:80 -s wrr
-a -t $VIP:80 -r $RS1:80 -g -w 1
-a -t $VIP:80 -r $RS2:80 -g -w 3
-a -t $VIP:80 -r $RS3:80 -g -w 1
--set 600 60 120
R2
kill -HUP "$XPID"
wait_for 10 ready_ge 3 || fail "READY=1 after the second reload"
AFTER2=$(X -S -n)
check_eq "reload 2: exactly the file (VIP:81 gone, RS3 added, RS2 reweighted, wrr)" \
	"$(printf '%s\n' "-A -t $VIP:80 -s wrr" "-a -t $VIP:80 -r $RS1:80 -g -w 1" \
	   "-a -t $VIP:80 -r $RS2:80 -g -w 3" "-a -t $VIP:80 -r $RS3:80 -g -w 1")" "$AFTER2"
check_eq "reload 2: timeouts from the file" "Timeout (tcp tcpfin udp): 600 60 120" \
	"$(X -L --timeout)"
wait "$LPID"
cat "$T/keep.txt" | tail -n 1
check_eq "reload 2: connections to kept servers go on" "survived: 10 of 10 (100%)" \
	"$(tail -n 1 "$T/keep.txt")"
check "reload 2: logged as one change" grep -q "rules: reloaded: 5 rules, 1 services" "$T/xlbd.log"

# A file that does not parse: nothing changes, file:line logged.
cat >"$RULES" <<R3
-A -t $VIP:80 -s rr
-a -t $VIP:80 -r $RS1:80 -g -w 1
-a -t $VIP:80 -r $RS2:80 -g -w banana
R3
kill -HUP "$XPID"
wait_for 10 ready_ge 4 || fail "READY=1 after the broken reload"
check_eq "broken file: configuration unchanged" "$AFTER2" "$(X -S -n)"
check "broken file: logged as a warning with its file and line" \
	grep -q "^<4>$RULES: line 3: weight banana" "$T/xlbd.log"
# A file that parses but is refused (a server of a service it lacks).
cat >"$RULES" <<R4
-A -t $VIP:80 -s rr
-a -t $VIP:80 -r $RS1:80 -g -w 1
-a -t $VIP:82 -r $RS2:82 -g -w 1
R4
kill -HUP "$XPID"
wait_for 10 ready_ge 5 || fail "READY=1 after the refused reload"
check_eq "refused file: configuration unchanged" "$AFTER2" "$(X -S -n)"
check "refused file: logged with its file and line" grep -q "^<4>$RULES: line 3: no such service" "$T/xlbd.log"
grep -E "^<[34]>" "$T/xlbd.log" | sed 's/^/  log: /'

# ---- stop ----
kill -TERM "$XPID"
wait "$XPID"; RC=$?
check_eq "SIGTERM: exit status 0" 0 "$RC"
check "SIGTERM: STOPPING=1 sent" grep -q "^msg [0-9]*: STOPPING=1" "$NLOG"

# ---- capabilities: exactly the unit's set works, one less does not ----
cat >"$RULES" <<R5
-A -t $VIP:80 -s rr
-a -t $VIP:80 -r $RS1:80 -g -w 1
R5
# try_caps CAPS: 0 when xlbd under CAPS (adopting the XDP program the last
# one left) answers on its socket within 10 s.
try_caps() {
	local log=$T/caps-$RANDOM.log rc=1
	rm -f "$S"
	xlbd_unit "$log" "$1"
	for _ in $(seq 100); do
		if X -L -n >/dev/null 2>&1; then rc=0; break; fi
		kill -0 "$XPID" 2>/dev/null || break
		sleep 0.1
	done
	[ $rc -eq 0 ] || grep "^<[34]>" "$log" | tail -n 2 | sed 's/^/    /'
	kill_pid "$XPID"
	return $rc
}
check "restart under exactly the unit's capabilities: xlbd serves" try_caps "$CAPS_SP"
for c in $CAPS; do
	less=$(echo ",$CAPS_SP," | sed "s/,+$(echo "${c#CAP_}" | tr 'A-Z' 'a-z'),/,/; s/^,//; s/,$//")
	if try_caps "$less"; then fail "without $c xlbd still starts (not needed?)";
	else ok "without $c xlbd does not start"; fi
done
