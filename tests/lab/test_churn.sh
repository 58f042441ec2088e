#!/bin/bash
# Configuration churn under traffic, DR then NAT: a real server deleted and
# added again, back to back, for CHURN_S seconds (each change is one xlbctl
# call, a few ms), while a UDP stream from 64 client ports runs through the
# churned service and HTTP requests run through another one.
#
# What it proves (issue 10, item 8: no use after free): every change is
# acknowledged; the other service's requests all succeed; the churned
# server does carry traffic between its deletes; xlbd stays up and exits
# cleanly; and, with the ASan build (make test SAN=1), xlbd leaves no
# sanitizer report: no worker counts into a deleted server's freed
# counters, however its connections go (flushed, rescheduled, expired).
# Prints the figures the README's Reliability section quotes.
. "$(dirname "$0")/lib.sh"
lab_init
CHURN_S=${CHURN_S:-8}

S=$T/xlb.sock
X() { "$B/xlbctl" --socket "$S" "$@"; }
L() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/load.py" "$@"; }

# Where tests/san/run.sh has sanitizer reports written (log_path=DIR/san:
# one file DIR/san.PID per reporting process); empty without SAN=1.
SAN_PREFIX=$(printf '%s' "${ASAN_OPTIONS:-}" | tr ':' '\n' | sed -n 's/^log_path=//p' | head -n 1)

# UDP stream: 64 client ports, one datagram each per round (~1,500 rounds a
# second at most), replies tallied by the server that sent them. Each
# round one socket is replaced by a new one (a new port: a new flow for
# the scheduler), so that flows keep landing on the churned server when it
# is back instead of all staying where its delete rescheduled them.
cat >"$T/udp_stream.py" <<'PY'
import os, socket, sys, time
vip, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(64):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((vip, port))
    s.setblocking(False)
    socks.append(s)
def drain(s):
    while True:
        try:
            name = s.recv(64).decode().strip()
        except OSError:
            return
        by[name] = by.get(name, 0) + 1
sent, by, r = 0, {}, 0
while not os.path.exists(stop):
    old = socks[r % 64]
    drain(old)
    old.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((vip, port))
    s.setblocking(False)
    socks[r % 64] = s
    r += 1
    for s in socks:
        try:
            s.send(b"who")
            sent += 1
        except OSError:
            pass
    for s in socks:
        drain(s)
    time.sleep(0.0007)
time.sleep(0.3)
for s in socks:
    drain(s)
print("sent %d answered %d" % (sent, sum(by.values())))
for name in sorted(by):
    print("from %s %d" % (name, by[name]))
PY

# restore_refused WHAT FILE MESSAGE: a rules restore (one batch) past a
# limit must be refused whole, with the limit named (MESSAGE), and change
# nothing.
restore_refused() {
	local what=$1 file=$2 msg=$3 out rc before after
	before=$(X -S -n | sort)
	out=$(X -R <"$file" 2>&1)
	rc=$?
	echo "xlbctl -R of $what: exit $rc: $out" | head -c 400
	echo
	check "a restore of $what is refused by xlbd (exit $rc, 2 = refused)" test "$rc" -eq 2
	check "the message names the limit ($msg)" grep -q "$msg" <<<"$out"
	after=$(X -S -n | sort)
	check_eq "and nothing of it was applied" "$before" "$after"
}

# nat_limit_check: past the XDP nat_rs map's 16,384 (RIP, port, protocol)
# keys: 64 new services of 256 NAT servers each, on top of the lab's own.
nat_limit_check() {
	awk -v vipnet="10.250" 'BEGIN {
		for (s = 0; s < 64; s++) {
			printf "-A -t %s.%d.1:80 -s ring --vnodes 1\n", vipnet, s
			for (i = 0; i < 256; i++)
				printf "-a -t %s.%d.1:80 -r 10.251.%d.%d:8080 -m -w 1\n", vipnet, s, s, i
		}
	}' >"$T/too-many-nat"
	restore_refused "64 services and 16,384 more NAT servers" "$T/too-many-nat" \
		"nat_rs map holds at most 16384"
}

# nh_limit_check: more distinct real-server addresses than the next-hop
# cache has room for (32,768 entries, 4,096 of them kept for on-link NAT
# clients: 28,672); a server without an entry would never be reached.
nh_limit_check() {
	awk 'BEGIN {
		for (s = 0; s < 113; s++) {
			printf "-A -t 10.253.%d.1:80 -s ring --vnodes 1\n", s
			for (i = 0; i < 256; i++)
				printf "-a -t 10.253.%d.1:80 -r 10.252.%d.%d:80 -i -w 1\n", s, s, i
		}
	}' >"$T/too-many-rs"
	restore_refused "113 services of 256 more real-server addresses each (28,928)" "$T/too-many-rs" \
		"next-hop cache holds at most 28672 real-server addresses"
}

# churn_run MODE FLAG: one lab, one xlbd, CHURN_S seconds of churn.
churn_run() {
	local mode=$1 fwd=$2 args=() i op ok=0 bad=0 end t0 dt xrc
	lab_up "$mode" --servers 4 || { fail "$mode: lab up"; return; }
	set -- $RS_IPS; RS1=$1; RS2=$2; RS3=$3; RS4=$4
	{
		echo "-A -t $VIP:80 -s ring"
		for r in $RS1 $RS2 $RS3; do echo "-a -t $VIP:80 -r $r:80 $fwd -w 1"; done
		echo "-A -u $VIP:$UDP_PORT -s ring"
		for r in $RS1 $RS4; do echo "-a -u $VIP:$UDP_PORT -r $r:$UDP_PORT $fwd -w 1"; done
	} >"$T/rules-$mode"
	for i in $DIRECTOR_IFS; do args+=(-i "$i"); done
	LOG=$T/xlbd-$mode.log
	xlbd_start "$DIRECTOR_NS" "$S" "$LOG" "${args[@]}" --rules "$T/rules-$mode" ||
		{ fail "$mode: xlbd starts"; return; }

	rm -f "$T/stop"
	L http "$VIP" 80 --stop-file "$T/stop" --interval 0.01 --timeout 2 >"$T/http-$mode.txt" &
	local hp=$!
	ip netns exec "$CLIENT_NS" /usr/bin/python3 "$T/udp_stream.py" "$VIP" "$UDP_PORT" \
		"$T/stop" >"$T/udp-$mode.txt" &
	local up=$!
	lab_on_exit "touch '$T/stop'; kill_pid $hp; kill_pid $up"
	sleep 1

	# Delete rs4, add it again, ... as fast as xlbctl goes.
	i=0
	t0=$(date +%s%N)
	end=$(( t0 + CHURN_S * 1000000000 ))
	while [ "$(date +%s%N)" -lt "$end" ]; do
		if [ $((i % 2)) -eq 0 ]; then
			op=(-d -u "$VIP:$UDP_PORT" -r "$RS4:$UDP_PORT")
		else
			op=(-a -u "$VIP:$UDP_PORT" -r "$RS4:$UDP_PORT" "$fwd" -w 1)
		fi
		if X "${op[@]}" 2>>"$T/churn-$mode.err"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
		i=$((i + 1))
	done
	dt=$(( ($(date +%s%N) - t0) / 1000000 ))
	sleep 0.5
	touch "$T/stop"
	wait "$hp" "$up"

	local nreq nerr sent answered from4
	nreq=$(wc -l <"$T/http-$mode.txt")
	nerr=$(grep -c ERROR "$T/http-$mode.txt")
	sent=$(awk '/^sent/ { print $2 }' "$T/udp-$mode.txt")
	answered=$(awk '/^sent/ { print $4 }' "$T/udp-$mode.txt")
	from4=$(awk '$1 == "from" && $2 == "rs4" { print $3 }' "$T/udp-$mode.txt")
	echo "$mode: configuration changes: $i in $dt ms ($ok acknowledged, $bad refused);" \
		"HTTP requests on the other service: $nreq, errors: $nerr;" \
		"UDP datagrams on the churned service: ${sent:-0} sent, ${answered:-0} answered" \
		"(${from4:-0} by the churned server)"
	sed 's/^/  /' "$T/udp-$mode.txt"
	[ "$bad" -eq 0 ] || head -n 5 "$T/churn-$mode.err"
	check "$mode: churn ran (at least 100 changes in ${CHURN_S} s: $i)" test "$i" -ge 100
	check_eq "$mode: every change was acknowledged" 0 "$bad"
	check "$mode: HTTP ran throughout ($nreq requests)" test "$nreq" -ge 100
	check_eq "$mode: no HTTP request on the other service failed" 0 "$nerr"
	check "$mode: the churned server answered between its deletes (${from4:-0})" \
		test "${from4:-0}" -gt 0
	check_eq "$mode: UDP answers come only from the service's servers" 0 \
		"$(awk '$1 == "from" && $2 != "rs1" && $2 != "rs4"' "$T/udp-$mode.txt" | wc -l)"
	check "$mode: xlbd is alive after the churn" kill -0 "$XLBD_PID"
	check_eq "$mode: and still serves (10 HTTP requests)" 0 \
		"$(ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" \
			http "$VIP" 80 --count 10 | grep -c ERROR)"

	[ "$mode" = nat ] && nat_limit_check
	[ "$mode" = dr ] && nh_limit_check

	# A clean exit: SIGTERM, exit status 0 (ASan exits 1 on a report).
	kill -TERM "$XLBD_PID"
	wait "$XLBD_PID"
	xrc=$?
	check_eq "$mode: xlbd exits cleanly on SIGTERM (status)" 0 "$xrc"
	check_eq "$mode: no AddressSanitizer error in xlbd's log" 0 \
		"$(grep -c 'ERROR: AddressSanitizer\|runtime error:' "$LOG")"
	if [ -n "$SAN_PREFIX" ]; then
		local rep
		rep=$(ls "$SAN_PREFIX.$XLBD_PID" "$SAN_PREFIX.$XLBD_PID".* 2>/dev/null)
		[ -z "$rep" ] || head -n 40 $rep
		check "$mode: no sanitizer report from xlbd (ASan build)" test -z "$rep"
	fi
}

churn_run dr -g
churn_run nat -m
