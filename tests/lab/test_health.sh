#!/bin/bash
# Health checks (issue 13), DR: a real server whose HTTP server stops gets
# no new connections within fall x interval + 1 s, and no request of a real
# client fails after that; -L -n --health shows it down; it takes traffic
# again within rise x interval + 1 s of coming back. The same with an HTTP,
# a TCP and an exec check (one after the other on the same service: each -E
# starts the servers afresh).
. "$(dirname "$0")/lib.sh"
lab_start dr

set -- $RS_IPS; RS1=$1
set -- $RS_NS; NS1=$1
D1=$LABDIR/rs1
INTERVAL=0.5 RISE=2 FALL=2
# fall x interval + 1 s, rise x interval + 1 s
DOWN_BOUND=$(awk -v f=$FALL -v i=$INTERVAL 'BEGIN { print f * i + 1 }')
UP_BOUND=$(awk -v r=$RISE -v i=$INTERVAL 'BEGIN { print r * i + 1 }')

cat >"$T/rules" <<RULES
-A -t $VIP:80 -s ring --check http --check-interval $INTERVAL --check-timeout 0.4 --check-rise $RISE --check-fall $FALL
RULES
for ip in $RS_IPS; do echo "-a -t $VIP:80 -r $ip:80 -g -w 1" >>"$T/rules"; done
# A real server's own options (an override that changes nothing here),
# and a second service with every option, for the -S / -R round trip.
set -- $RS_IPS
echo "-e -t $VIP:80 -r $3:80 --check-timeout 0.4 --check-port 80" >>"$T/rules"
cat >>"$T/rules" <<RULES
-A -t $VIP:8080 -s ring --check http --check-port 80 --check-path /index.html --check-status 200 --check-expect rs --check-interval 0.75 --check-timeout 0.5 --check-rise 3 --check-fall 4 --sorry-server $3:8080 --quorum 2
-a -t $VIP:8080 -r $1:8080 -m -w 2 --check exec --check-exec 'test "\$XLB_RS_PORT" = 8080 && echo "it'"'"'s up"'
RULES

xlbd_up "$T/rules" || { fail "xlbd starts"; exit 1; }

# rs1's nginx: stopped by its PID, started again as the lab starts it.
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
# Stopped: it refuses connections (T_STOP), then its process is gone.
refuses() { ! ip netns exec "$DIRECTOR_NS" timeout 1 bash -c "exec 3<>/dev/tcp/$RS1/80" 2>/dev/null; }
NGINX_PID=
nginx_stop() {
	NGINX_PID=$(cat "$D1/nginx.pid" 2>/dev/null) || return 1
	kill "$NGINX_PID" && wait_for 5 refuses || return 1
	T_STOP=$(now)
}
nginx_gone() { wait_for 5 bash -c "! kill -0 $NGINX_PID 2>/dev/null"; }
nginx_start() {
	nohup ip netns exec "$NS1" "$NGINX" -p "$D1" -e "$D1/error.log" -c "$D1/nginx.conf" \
		>/dev/null 2>&1 </dev/null &
	echo $! >"$D1/http.pid"
	lab_on_exit "kill_pid $!"
	wait_for 5 ip netns exec "$NS1" bash -c "exec 3<>/dev/tcp/$RS1/80"
}
health_of() { X -L -n --health | awk -v a="$1:80" '$1 == "->" && $2 == a { print $3 }'; }
all_up_checked() {
	local out; out=$(X -L -n --health) || return 1
	[ "$(awk '$1 == "->" && $3 == "up" && $5 > 0' <<<"$out" | wc -l)" -eq "$N_SERVERS" ]
}
is_state() { [ "$(health_of "$1")" = "$2" ]; }
now() { date +%s.%N; }
T_STOP=0
SPORT=10000

# phase NAME: stop rs1's HTTP server under a looping client, watch it go
# down, start it again, watch it come back; check the client's answers.
phase() {
	local name=$1 t_kill t_stop t_down t_start t_up
	wait_for 10 all_up_checked
	check "$name: every server is checked and up" all_up_checked
	ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/healthload.py" new \
		"$VIP" 80 --seconds 11 --gap 0.02 --sport "$SPORT" >"$T/$name.load" &
	SPORT=$((SPORT + 1000))	# a source port per request: no tuple reused
	local lp=$!
	lab_on_exit "kill_pid $lp"
	sleep 1.5
	t_kill=$(now)
	check "$name: rs1's HTTP server stops" nginx_stop
	t_stop=$T_STOP	# stopped: it refuses connections
	wait_for 6 is_state "$RS1" down
	t_down=$(now)
	check_eq "$name: -L -n --health shows rs1 down" down "$(health_of "$RS1")"
	check "$name: rs1's nginx has exited" nginx_gone
	check "$name: down within fall x interval + 1 s ($DOWN_BOUND s; took $(awk -v a=$t_stop -v b=$t_down 'BEGIN { printf "%.2f", b - a }') s)" \
		awk -v a="$t_stop" -v b="$t_down" -v m="$DOWN_BOUND" 'BEGIN { exit !(b - a <= m) }'
	X -L -n --health | sed 's/^/    /'
	# An unrelated change publishes new tables: rs1 stays down in them.
	X -A -t "$VIP:81" && X -a -t "$VIP:81" -r "$RS1:81" && X -D -t "$VIP:81" ||
		fail "$name: an unrelated change"
	check_eq "$name: rs1 is still down after an unrelated change" down "$(health_of "$RS1")"
	check "$name: -L -n keeps ipvsadm's layout and the configured weight of the down server" \
		bash -c "'$B/xlbctl' --socket '$S' -L -n | grep -Eq '^  -> $RS1:80 +Route +1 '"
	sleep 3
	t_start=$(now)
	check "$name: rs1's HTTP server starts again" nginx_start
	wait_for 6 is_state "$RS1" up
	t_up=$(now)
	check "$name: up again within rise x interval + 1 s ($UP_BOUND s)" \
		awk -v a="$t_start" -v b="$t_up" -v m="$UP_BOUND" 'BEGIN { exit !(b - a <= m) }'
	wait "$lp"
	# The client's view: after stop + bound, until the restart, no request
	# failed and none went to rs1; after restart + bound, rs1 answers again.
	local quiet_from quiet_to back_from
	quiet_from=$(awk -v a="$t_stop" -v m="$DOWN_BOUND" 'BEGIN { printf "%.3f", a + m }')
	back_from=$(awk -v a="$t_start" -v m="$UP_BOUND" 'BEGIN { printf "%.3f", a + m }')
	local n_quiet bad_quiet rs1_back err_before
	n_quiet=$(awk -v a="$quiet_from" -v b="$t_start" '$1 >= a && $1 < b' "$T/$name.load" | wc -l)
	bad_quiet=$(awk -v a="$quiet_from" -v b="$t_start" '$1 >= a && $1 < b && $2 != "rs2" && $2 != "rs3"' "$T/$name.load" | wc -l)
	rs1_back=$(awk -v a="$back_from" '$1 >= a && $2 == "rs1"' "$T/$name.load" | wc -l)
	err_before=$(awk -v a="$t_kill" '$1 < a && $2 !~ /^rs[0-9]$/' "$T/$name.load" | wc -l)
	echo "    $name: $(wc -l <"$T/$name.load") requests; $n_quiet while rs1 was down, $bad_quiet failed or went to rs1; rs1 answered $rs1_back after coming back"
	check "$name: the client sent requests while rs1 was down" test "$n_quiet" -ge 20
	check_eq "$name: none of them failed or reached rs1" 0 "$bad_quiet"
	check "$name: rs1 answers new connections again after rise x interval + 1 s" test "$rs1_back" -ge 1
	check_eq "$name: no request failed before the stop began" 0 "$err_before"
}

# -S prints every check option after the ipvsadm ones; -C then -R gives
# the same tables back.
X -S -n >"$T/saved"
sed 's/^/    /' "$T/saved"
check "-S prints the service's check options on its -A line" \
	grep -q -- "^-A -t $VIP:8080 -s ring --check http --check-port 80 --check-path /index.html --check-status 200 --check-expect rs --check-interval 0.75 --check-timeout 0.5 --check-rise 3 --check-fall 4 --sorry-server $3:8080 --quorum 2\$" "$T/saved"
check "-S prints a real server's own check options on its -a line" \
	grep -q -- "^-a -t $VIP:8080 -r $1:8080 -m -w 2 --check exec --check-exec " "$T/saved"
X -C && X -R <"$T/saved" || fail "-C, -R"
X -S -n >"$T/saved2"
check "-S, -C, -R, -S gives the same rules, check options included" cmp "$T/saved" "$T/saved2"
X -D -t "$VIP:8080" || fail "-D the second service"

phase http
c0=$(X --counters | awk '$1 == "health" && $2 == "changes" { print $3 }')
check "http: the state changes are counted (health changes $c0)" test "${c0:-0}" -ge 2
check "http: the change is logged once" test "$(grep -c "real server $RS1:80 of .* is down" "$LOG")" -eq 1

X -E -t "$VIP:80" --check tcp || fail "-E --check tcp"
check "tcp: -S shows the check options on the -A line" \
	bash -c "'$B/xlbctl' --socket '$S' -S -n | grep -q -- '--check tcp --check-interval $INTERVAL --check-timeout 0.4 --check-rise $RISE --check-fall $FALL'"
phase tcp

X -E -t "$VIP:80" --check exec --check-exec 'curl -sf -m 0.4 -o /dev/null http://$XLB_RS_ADDR:$XLB_RS_PORT/' ||
	fail "-E --check exec"
phase exec

X --counters | grep '^health ' | sed 's/^/    /'
n_exec=$(X --counters | awk '$1 == "health" && $2 == "checks_exec" { print $3 }')
check "exec checks ran (checks_exec $n_exec)" test "${n_exec:-0}" -ge 10
check "every server ends up" all_up_checked
