#!/bin/bash
# xlbctl -L -n --json (issue 16): a real xlbd (NAT lab) with NAT services
# under HTTP and UDP health checks, a persistent UDP service (templates),
# a DR service with -b flags, a sorry server and a quorum, a one-packet
# service and one with a weird but legal --check-expect (quotes, a
# backslash, UTF-8 and a byte that is not); real client traffic; then the
# document, parsed by python3's json module and validated against
# doc/xlbctl-list.schema.json, holds the same numbers as the text
# listings: --stats --exact, -c, --health, --counters, --timeout. And the
# options that narrow it (-t, -c, --timeout, --counters) narrow it.
. "$(dirname "$0")/lib.sh"
lab_init
lab_up nat || { fail "lab up"; exit 1; }

S=$T/xlb.sock
LOG=$T/xlbd.log
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
J() { /usr/bin/python3 "$ROOT/tests/lab/json_check.py" "$@"; }
SCHEMA=$ROOT/doc/xlbctl-list.schema.json
set -- $RS_IPS; RS1=$1
SORRY=${RS1%.*}.99	# never reached: only listed
CK="--check-interval 0.5 --check-timeout 0.4 --check-rise 2 --check-fall 2"
WEIRD=$'say "hi" \\ caf\xc3\xa9 \xff'

{
	echo "-A -t $VIP:80 -s wlc --check http --check-expect rs $CK"
	for ip in $RS_IPS; do echo "-a -t $VIP:80 -r $ip:80 -m -w 2 -x 1000 -y 500"; done
	echo "-A -u $VIP:$UDP_PORT -s ring -p 600 -M 255.255.255.0 --check udp $CK"
	for ip in $RS_IPS; do echo "-a -u $VIP:$UDP_PORT -r $ip:$UDP_PORT -m -w 1"; done
	echo "-A -t $VIP:81 -s sh -b sh-fallback,sh-port --check tcp --check-port 80 $CK --sorry-server $SORRY --quorum 2"
	for ip in $RS_IPS; do echo "-a -t $VIP:81 -r $ip:81 -g -w 1"; done
	echo "-A -u $VIP:5454 -s rr -o"
	echo "-a -u $VIP:5454 -r $RS1 -g"
} >"$T/rules"
args=()
for i in $DIRECTOR_IFS; do args+=(-i "$i"); done
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" "${args[@]}" --rules "$T/rules" ||
	{ fail "xlbd starts"; exit 1; }
# The weird one from the command line (a rules line cannot carry \xff
# through the shell quoting as plainly): its servers never contain it.
check "a service whose --check-expect has quotes, a backslash, UTF-8 and \\xff" \
	X -A -t "$VIP:8080" -s rr --check http --check-expect "$WEIRD" $CK
for ip in $RS_IPS; do X -a -t "$VIP:8080" -r "$ip:80" -m; done
X --set 1000 111 222

# Health settles: every server of :80 and the UDP service up and probed,
# every server of :8080 down.
settled() {
	X -L -n --health | awk -v v8080="$VIP:8080" -v n="$N_SERVERS" '
		$1 == "TCP" || $1 == "UDP" { svc = $2 }
		$1 == "->" && svc != v8080 && $3 == "up" && $6 == "ok" { up++ }
		$1 == "->" && svc == v8080 && $3 == "down" { down++ }
		END { exit !(up >= 3 * n && down == n) }'
}
check "health settles (up on :80, UDP, :81; down on :8080)" wait_for 15 settled

C http "$VIP" 80 --count 20 >"$T/http.txt"
check_eq "20 HTTP requests answered through NAT" 20 "$(answers "$T/http.txt")"
C udp "$VIP" "$UDP_PORT" --sport 45000 --count 10 >"$T/udp.txt"
check_eq "10 UDP queries answered (persistent service)" 10 "$(answers "$T/udp.txt")"
sleep 1

# The document and the text listings, back to back.
X --counters >"$T/cnt_before.txt"
X -L -n --json >"$T/all.json"; rc=$?
X -L -n --stats --exact >"$T/stats.txt"
X -L -n -c >"$T/conns.txt"
X -L -n --health >"$T/health.txt"
X -L --timeout >"$T/timeout.txt"
X --counters >"$T/cnt_after.txt"
check_eq "xlbctl -L -n --json exits 0" 0 "$rc"
head -c 1500 "$T/all.json" | sed 's/^/    /'; echo "    ..."
check "the document is JSON (python3 json, strict) and valid against the schema" J valid "$T/all.json" "$SCHEMA"
check "it has every section" J sections "$T/all.json" schema,xlbctl_version,daemon,services,connections,counters,timeouts
check_eq "schema version 1" 1 "$(J get "$T/all.json" schema)"
check "stats: the same integers as -L -n --stats --exact" J stats "$T/all.json" "$T/stats.txt"
check "connections: the same entries as -L -n -c, templates marked" J conns "$T/all.json" "$T/conns.txt"
check "health: the same state, since, last result and error as --health" J health "$T/all.json" "$T/health.txt"
check "counters: the same names, order and values as --counters" J counters "$T/all.json" "$T/cnt_before.txt" "$T/cnt_after.txt"
check "timeouts: --set's values, as --timeout prints them" J timeouts "$T/all.json" "$T/timeout.txt"

# Configuration fields, from what the rules said.
svc() { /usr/bin/python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
s = [s for s in doc["services"] if s["addrport"] == sys.argv[2] and s["proto"] == sys.argv[3]][0]
print(eval(sys.argv[4], {}, {"s": s}))' "$T/all.json" "$@"; }
check_eq "persistent UDP service: timeout 600, mask 255.255.255.0" \
	"{'timeout': 600, 'netmask': '255.255.255.0'}" "$(svc "$VIP:$UDP_PORT" UDP 's["persistent"]')"
check_eq "DR service: sh, -b flags, sorry server, quorum, tcp check on port 80, Route" \
	"sh ['sh-fallback', 'sh-port'] $SORRY:81 2 tcp 80 {'Route'}" \
	"$(svc "$VIP:81" TCP '" ".join(map(str, [s["scheduler"], s["sched_flags"], s["sorry_server"]["addrport"], s["quorum"], s["check"]["kind"], s["check"]["port"], set(d["forward"] for d in s["servers"])]))')"
check_eq "NAT service: Masq, weight 2, thresholds 1000/500, http check given" \
	"{('Masq', 2, 1000, 500)} ['check', 'check-expect', 'check-interval', 'check-timeout', 'check-rise', 'check-fall']" \
	"$(svc "$VIP:80" TCP '" ".join(map(str, [set((d["forward"], d["weight"], d["u_threshold"], d["l_threshold"]) for d in s["servers"]), s["check"]["given"]]))')"
check_eq "one-packet service: one_packet true, not persistent" "True None" \
	"$(svc "$VIP:5454" UDP '" ".join(map(str, [s["one_packet"], s["persistent"]]))')"
want=$(printf '%s' "$WEIRD" | /usr/bin/python3 -c 'import sys; print(sys.stdin.buffer.read().decode("utf-8", "replace"))')
check_eq "the weird --check-expect comes back (\\xff as U+FFFD)" "$want" "$(svc "$VIP:8080" TCP 's["check"]["expect"]')"
check "and so does the error that quotes it" bash -c "'$B/xlbctl' --socket '$S' -L -n --json -t '$VIP:8080' | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); e=[x[\"health\"][\"error\"] for x in d[\"services\"][0][\"servers\"]]; print(\"    \", e[0]); sys.exit(not all(\"say \\\"hi\\\" \\\\\" in x for x in e))'"

# No leak, no invalid access on the way (the document is built in memory).
if command -v valgrind >/dev/null && ! nm "$B/xlbctl" 2>/dev/null | grep -q __asan_init; then
	check "xlbctl -L -n --json under valgrind: no error, no leak" bash -c \
		"valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect '$B/xlbctl' --socket '$S' -L -n --json >/dev/null"
fi

# The options that narrow the document.
X -L -n --json -t "$VIP:80" >"$T/one.json"
check "-t: valid" J valid "$T/one.json" "$SCHEMA"
check "-t: one service and its connections, no daemon-wide sections" J sections "$T/one.json" schema,xlbctl_version,services,connections
check_eq "-t: the service asked for, its connections only" "1 $VIP:80 True" \
	"$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["connections"]; print(len(d["services"]), d["services"][0]["addrport"], bool(c) and all(x["virtual"] == sys.argv[2] for x in c))' "$T/one.json" "$VIP:80")"
X -L -n -c --json >"$T/c.json"
X -L -n -c >"$T/c.txt"
check "-c: connections only, valid" bash -c "'$ROOT/tests/lab/json_check.py' valid '$T/c.json' '$SCHEMA' && '$ROOT/tests/lab/json_check.py' sections '$T/c.json' schema,xlbctl_version,connections"
check "-c: the same entries as -L -n -c" J conns "$T/c.json" "$T/c.txt"
X -L --timeout --json >"$T/t.json"
check "--timeout: timeouts only" J sections "$T/t.json" schema,xlbctl_version,timeouts
X --counters --json >"$T/k.json"
check "--counters --json: counters only, valid" bash -c "'$ROOT/tests/lab/json_check.py' valid '$T/k.json' '$SCHEMA' && '$ROOT/tests/lab/json_check.py' sections '$T/k.json' schema,xlbctl_version,counters"
X -S --json >/dev/null 2>"$T/s.err"
check_eq "-S --json is a usage error (exit 1)" 1 "$?"
X -L -n --json -t "$VIP:9999" >"$T/none.json" 2>"$T/none.err"
check_eq "-t of no service: refused (exit 2), nothing on stdout" "2 0" "$? $(wc -c <"$T/none.json")"
kill_pid "$XLBD_PID"
