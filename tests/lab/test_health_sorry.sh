#!/bin/bash
# Health checks (issue 13), DR: with every server down the sorry server
# answers; below quorum the sorry server answers (or, without one, new
# connections are refused and counted); a connection established to a
# server that fails its checks but still answers continues.
. "$(dirname "$0")/lib.sh"
lab_start dr

set -- $RS_IPS; RS1=$1 RS2=$2 RS3=$3
set -- $RS_NS; NS1=$1 NS2=$2
INTERVAL=0.5 FALL=2 RISE=2
BOUND=$(awk -v f=$FALL -v i=$INTERVAL 'BEGIN { print f * i + 1 }')

# rs1 and rs2 serve the service; rs3 is only its sorry server.
cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring --check http --check-interval $INTERVAL --check-timeout 0.4 --check-rise $RISE --check-fall $FALL --sorry-server $RS3
-a -t $VIP:80 -r $RS1:80 -g -w 1
-a -t $VIP:80 -r $RS2:80 -g -w 1
RULES
xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
IPA=($RS_IPS) NSA=($RS_NS)
ns_of() { echo "${NSA[$1 - 1]}"; }
ip_of() { echo "${IPA[$1 - 1]}"; }
# nginx_stop I: stopped when it refuses connections (T_STOP); then gone.
refuses() { ! ip netns exec "$DIRECTOR_NS" timeout 1 bash -c "exec 3<>/dev/tcp/$1/80" 2>/dev/null; }
T_STOP=0
nginx_stop() {		# rs index
	local pid
	pid=$(cat "$LABDIR/rs$1/nginx.pid" 2>/dev/null) || return 1
	kill "$pid" && wait_for 5 refuses "$(ip_of "$1")" || return 1
	T_STOP=$(date +%s.%N)
	wait_for 5 bash -c "! kill -0 $pid 2>/dev/null"
}
nginx_start() {
	local d=$LABDIR/rs$1 ns ip
	ns=$(ns_of "$1"); ip=$(ip_of "$1")
	nohup ip netns exec "$ns" "$NGINX" -p "$d" -e "$d/error.log" -c "$d/nginx.conf" \
		>/dev/null 2>&1 </dev/null &
	lab_on_exit "kill_pid $!"
	wait_for 5 ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/$ip/80"
}
health_of() { X -L -n --health | awk -v a="$1:80" '$1 == "->" && $2 == a { print $3 }'; }
is_state() { [ "$(health_of "$1")" = "$2" ]; }
now() { date +%s.%N; }
SPORT=20000	# a source port per request: no tuple reused
load() {	# NAME SECONDS [mode]: background client, sets LP
	ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/healthload.py" "${3:-new}" \
		"$VIP" 80 --seconds "$2" --gap 0.02 --sport "$SPORT" >"$T/$1.load" &
	SPORT=$((SPORT + 1000))
	LP=$!
	lab_on_exit "kill_pid $LP"
}
# answers_after FILE T: the answers of requests begun at T or later, tallied.
answers_after() { awk -v a="$2" '$1 >= a { print $2 }' "$1" | sort | uniq -c | awk '{ printf "%s=%s ", $2, $1 }'; }

wait_for 10 bash -c "[ \"\$('$B/xlbctl' --socket '$S' -L -n --health | grep -c ' up .* ok ')\" -eq 2 ]"
check "both servers checked and up" is_state "$RS1" up
check "the sorry server is not listed as a real server" \
	bash -c "! '$B/xlbctl' --socket '$S' -L -n | grep -q '$RS3:80'"
check "-S prints the sorry server on the -A line" \
	bash -c "'$B/xlbctl' --socket '$S' -S -n | grep -q -- '--sorry-server $RS3\$'"

# 1. Every server down: the sorry server answers.
load alldown 8
sleep 1
check "rs1's HTTP server stops" nginx_stop 1
check "rs2's HTTP server stops" nginx_stop 2
t0=$T_STOP	# the last one is stopped
wait_for 6 is_state "$RS2" down
check "both down" bash -c "[ \"\$('$B/xlbctl' --socket '$S' -L -n --health | grep -c ' down ')\" -eq 2 ]"
wait "$LP"
a=$(answers_after "$T/alldown.load" "$(awk -v a="$t0" -v m="$BOUND" 'BEGIN { printf "%.3f", a + m }')")
echo "    every server down, after fall x interval + 1 s: $a"
awk -v a="$t0" '$2 != "rs3" && $1 >= a { printf "    not sorry at +%.3f s: %s\n", $1 - a, $2 }' "$T/alldown.load" | tail -4
check "with every server down, only the sorry server answers, and every request is answered" \
	bash -c "[[ '$a' =~ ^rs3=[0-9]+\ \$ ]]"
check "rs1 comes back" nginx_start 1
check "rs2 comes back" nginx_start 2
wait_for 6 is_state "$RS1" up
wait_for 6 is_state "$RS2" up
t1=$(now)
load back 3
wait "$LP"
a=$(answers_after "$T/back.load" "$t1")
echo "    back up: $a"
check "once a server is up again the sorry server takes no new connection" \
	bash -c "[[ '$a' != *rs3* && '$a' == *rs1=* && '$a' == *rs2=* && '$a' != *ERROR* ]]"

# 2. Below quorum (2, each server weighs 1): one server down is not enough.
X -E -t "$VIP:80" --quorum 2 || fail "-E --quorum 2"
check "-S prints --quorum" bash -c "'$B/xlbctl' --socket '$S' -S -n | grep -q -- '--quorum 2'"
load quorum 7
sleep 1
check "rs2's HTTP server stops" nginx_stop 2
t0=$T_STOP
wait_for 6 is_state "$RS2" down
wait "$LP"
a=$(answers_after "$T/quorum.load" "$(awk -v a="$t0" -v m="$BOUND" 'BEGIN { printf "%.3f", a + m }')")
echo "    below quorum (rs1 up, weight 1 < 2): $a (stopped at $t0, down seen $((0)))"
awk -v a="$t0" '$2 != "rs3" && $1 >= a { printf "    not sorry at +%.3f s: %s\n", $1 - a, $2 }' "$T/quorum.load" | head -8
check "below quorum the sorry server answers every new connection, though rs1 is up" \
	bash -c "[[ '$a' =~ ^rs3=[0-9]+\ \$ ]]"

# 3. Below quorum without a sorry server: new connections are refused
# (their SYN dropped and counted).
X -E -t "$VIP:80" --sorry-server none || fail "-E --sorry-server none"
drops() { X --counters | awk '$1 == "datapath" && $2 == "drop_no_real_server" { print $3 }'; }
d0=$(drops)
ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/healthload.py" new "$VIP" 80 \
	--seconds 2 --gap 0.1 --timeout 0.3 --sport 29000 >"$T/refused.load"
d1=$(drops)
echo "    no sorry server: $(answers_after "$T/refused.load" 0); drop_no_real_server $d0 -> $d1"
check_eq "below quorum without a sorry server no request is answered" 0 \
	"$(grep -c ' rs[0-9]$' "$T/refused.load")"
check "and the refused SYNs are counted" test "$d1" -gt "$d0"
X -E -t "$VIP:80" --quorum 0 --sorry-server "$RS3" || fail "-E --quorum 0"
check "rs2 comes back" nginx_start 2
wait_for 6 is_state "$RS2" up

# 4. A server failing its checks (check port closed) while its data port
# still serves: its established connection continues; new ones go elsewhere.
for i in 1 2; do
	ns=$(ns_of $i); ip=$(ip_of $i)
	nohup ip netns exec "$ns" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8081)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()
' "$ip" >/dev/null 2>&1 </dev/null &
	echo $! >"$T/chk$i.pid"
	lab_on_exit "kill_pid $!"
done
X -E -t "$VIP:80" --check tcp --check-port 8081 || fail "-E --check tcp --check-port 8081"
wait_for 6 bash -c "[ \"\$('$B/xlbctl' --socket '$S' -L -n --health | grep -c ' up .* ok ')\" -eq 2 ]"
load keep 9 keep
KP=$LP
sleep 1
who=$(awk 'NR == 1 { print $2 }' "$T/keep.load")
check "the keep-alive connection is answered by a real server ($who)" \
	bash -c "[[ '$who' == rs1 || '$who' == rs2 ]]"
i=${who#rs}; [ "$i" = 1 ] || i=2
wip=$(ip_of "$i")
t0=$(now)
kill_pid "$(cat "$T/chk$i.pid")"
wait_for 6 is_state "$wip" down
check "$who fails its checks (port 8081 closed) and is down" is_state "$wip" down
t_down=$(now)
load new 4
wait "$LP"
wait "$KP"
k_after=$(awk -v a="$t_down" -v w="$who" '$1 >= a && $2 == w' "$T/keep.load" | wc -l)
k_err=$(grep -c ERROR "$T/keep.load")
echo "    keep-alive: $(wc -l <"$T/keep.load") requests, $k_after answered by $who after it was down, $k_err errors"
check "the established connection continues on $who after it is down" test "$k_after" -ge 20
check_eq "and none of its requests failed" 0 "$k_err"
a=$(answers_after "$T/new.load" 0)
echo "    new connections meanwhile: $a (down at $t_down; first $(head -1 "$T/new.load"))"
awk -v w="$who" '$2 == w { print "    to " w ": " $0 }' "$T/new.load" | head -5
check "new connections go to the other server only" \
	bash -c "[[ '$a' != *$who=* && '$a' != *ERROR* && -n '$a' ]]"
"$B/xlbctl" --socket "$S" --counters | grep '^health' | sed 's/^/    /'
# What xlbd logged of the servers' health, for the record.
grep 'health:' "$LOG" | sed 's/^/    /'
