#!/bin/bash
# xlbd --metrics (issue 16): a live scrape of a real xlbd in the DR lab,
# after real traffic, is valid Prometheus text (promtool check metrics),
# says what xlbctl says (packets of a service = -L -n --stats --exact,
# health as -L --health), shows a real server going down, answers
# garbage with HTTP errors, and neither clients that never read nor a
# flood of idle ones stall the datapath or the control socket (xlbctl
# answers, traffic flows); a bad --metrics address is a clear error.
. "$(dirname "$0")/lib.sh"
lab_init
PROMTOOL=$(command -v promtool) || lab_skip "promtool is missing (Debian package prometheus; make deps)"
lab_up dr || { fail "lab up"; exit 1; }

S=$T/xlb.sock
LOG=$T/xlbd.log
PORT=9156
URL=http://127.0.0.1:$PORT/metrics
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }
D() { ip netns exec "$DIRECTOR_NS" "$@"; }
MC() { D /usr/bin/python3 "$ROOT/tests/lab/metrics_clients.py" "$@"; }
scrape() { D curl -sS -m 5 -o "$1" -D "$1.head" "$URL"; }
# value FILE 'name{labels}': the sample's value (labels exactly as written).
value() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
set -- $RS_IPS; RS1=$1
D1=$LABDIR/rs1
xdp_on() { ip -n "$DIRECTOR_NS" link show "$DIRECTOR_IF" | grep -q xdp; }

# An HTTP-checked TCP service, a UDP one whose packets are counted
# exactly, and 300 more services so that a scrape (about 1.5 MB) is far
# larger than what a socket buffers for a client that does not read.
{
	echo "-A -t $VIP:80 -s ring --check http --check-interval 0.5 --check-timeout 0.4 --check-rise 2 --check-fall 2"
	for r in $RS_IPS; do echo "-a -t $VIP:80 -r $r:80 -g -w 2"; done
	echo "-A -u $VIP:$UDP_PORT -s wlc"
	for r in $RS_IPS; do echo "-a -u $VIP:$UDP_PORT -r $r:$UDP_PORT -g -w 1"; done
	for p in $(seq 20000 20299); do
		echo "-A -u $VIP:$p -s rr"
		for r in $RS_IPS; do echo "-a -u $VIP:$p -r $r:$p -g -w 1"; done
	done
} >"$T/rules"

# 1. A bad --metrics address is a sentence and exit 1, before anything
#    is attached.
for bad in "nonsense" "10.0.0.1" "10.0.0.1:0" "10.0.0.1:65536" "300.1.1.1:80" "[::1:80" "localhost:80"; do
	out=$(D "$B/xlbd" --socket "$T/bad.sock" -i "$DIRECTOR_IF" --metrics "$bad" 2>&1); rc=$?
	check "--metrics '$bad': exit 1 and a sentence naming it ($out)" \
		bash -c '[ "$1" = 1 ] && grep -qF -- "--metrics \"$2\": use ADDR:PORT" <<<"$3"' _ "$rc" "$bad" "$out"
done
# A well-formed address the namespace does not have: bind fails, xlbd
# says so and stops before it touches the interface.
out=$(D "$B/xlbd" --socket "$T/bad.sock" -i "$DIRECTOR_IF" --metrics 192.0.2.1:$PORT 2>&1); rc=$?
check "--metrics 192.0.2.1:$PORT (not an address here): exit 1, 'cannot listen' ($out)" \
	bash -c '[ "$1" = 1 ] && grep -q -- "--metrics 192.0.2.1:'$PORT': cannot listen: Cannot assign requested address" <<<"$2"' _ "$rc" "$out"
check "and the interface has no XDP program" bash -c "! ip -n '$DIRECTOR_NS' link show '$DIRECTOR_IF' | grep -q xdp"
check "xlbd --help lists --metrics" bash -c "'$B/xlbd' --help | grep -q -- '--metrics ADDR:PORT'"

# Socket buffers of at most 64 KiB in the director's namespace (autotuning
# would take in the whole scrape for a client that does not read): a
# response to such a client must wait on it.
D sysctl -qw net.ipv4.tcp_wmem="4096 16384 65536" || fail "tcp_wmem"
xlbd_start "$DIRECTOR_NS" "$S" "$LOG" -i "$DIRECTOR_IF" --rules "$T/rules" \
	--metrics "127.0.0.1:$PORT" || { fail "xlbd starts"; exit 1; }
check "xlbd logs where it serves metrics" grep -q "metrics on http://127.0.0.1:$PORT/metrics" "$LOG"

# 2. Real traffic: 20 UDP flows of one datagram, 30 HTTP requests.
all_up() { [ "$(X -L -n --health | awk '$1 == "->" && $3 == "up"' | wc -l)" -eq "$N_SERVERS" ]; }
wait_for 10 all_up
C udp "$VIP" "$UDP_PORT" --sport 41000 --count 20 >"$T/udp.txt"
check_eq "20 UDP requests answered" 20 "$(answers "$T/udp.txt")"
C http "$VIP" 80 --count 30 >"$T/http.txt"
check_eq "30 HTTP requests answered" 30 "$(answers "$T/http.txt")"
sleep 1	# the last FINs

# 3. A scrape: HTTP 200, the 0.0.4 content type, valid for promtool.
check "GET /metrics answers" scrape "$T/m1"
check "HTTP/1.1 200" grep -q '^HTTP/1.1 200 OK' "$T/m1.head"
check "Content-Type: text/plain; version=0.0.4" grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$T/m1.head"
echo "scrape: $(wc -c <"$T/m1") bytes, $(grep -c '^# TYPE' "$T/m1") families, $(grep -vc '^#' "$T/m1") samples"
"$PROMTOOL" check metrics <"$T/m1" >"$T/promtool.out" 2>&1; rc=$?
sed 's/^/    promtool: /' "$T/promtool.out" | head -n 20
check_eq "promtool check metrics: no problem (exit 0, silent)" "0:" "$rc:$(cat "$T/promtool.out")"
check "every family has HELP and TYPE, HELP first" awk '
	/^# HELP / { h[$3] = NR } /^# TYPE / { if (!($3 in h) || h[$3] != NR - 1) bad = 1; t[$3] = $4 }
	END { exit bad || length(t) < 40 }' "$T/m1"
check "no family is left untyped (every daemon counter classified)" bash -c "! grep -q '^# TYPE .* untyped' '$T/m1'"
check "every counter family ends in _total, no gauge does" awk '
	/^# TYPE / { if (($4 == "counter") != ($3 ~ /_total$/)) { print "bad: " $0; bad = 1 } } END { exit bad }' "$T/m1"
check "xlb_build_info carries the version" grep -q '^xlb_build_info{version="[0-9.]*"} 1$' "$T/m1"
st=$(value "$T/m1" process_start_time_seconds)
check "process_start_time_seconds is a recent unix time ($st)" \
	awk -v s="$st" -v now="$(date +%s)" 'BEGIN { exit !(s > now - 300 && s <= now + 1) }'

# 4. The numbers are xlbctl's.
udp='proto="UDP",vip="'$VIP'",port="'$UDP_PORT'"'
tcp='proto="TCP",vip="'$VIP'",port="80"'
stats() { X -L -n --stats --exact "$@" | awk '$1 == "TCP" || $1 == "UDP" { print $3, $4, $6 }'; }
read -r u_conns u_in u_inb <<<"$(stats -u "$VIP:$UDP_PORT")"
read -r t_conns t_in t_inb <<<"$(stats -t "$VIP:80")"
scrape "$T/m2" || fail "second scrape"
echo "xlbctl: UDP $u_conns conns $u_in packets $u_inb bytes; TCP $t_conns conns $t_in packets $t_inb bytes"
check_eq "UDP service: 20 packets in (-L --stats --exact)" 20 "$u_in"
check_eq "UDP service: xlb_service_packets_total in = xlbctl's InPkts" "$u_in" \
	"$(value "$T/m2" "xlb_service_packets_total{$udp,direction=\"in\"}")"
check_eq "UDP service: xlb_service_bytes_total in = xlbctl's InBytes" "$u_inb" \
	"$(value "$T/m2" "xlb_service_bytes_total{$udp,direction=\"in\"}")"
check_eq "UDP service: xlb_service_connections_total = xlbctl's Conns" "$u_conns" \
	"$(value "$T/m2" "xlb_service_connections_total{$udp}")"
check_eq "DR: nothing out" 0 "$(value "$T/m2" "xlb_service_packets_total{$udp,direction=\"out\"}")"
check "TCP service: packets in counted (${t_in:-none})" test "${t_in:-0}" -ge 90
check_eq "TCP service: xlb_service_packets_total in = xlbctl's InPkts" "$t_in" \
	"$(value "$T/m2" "xlb_service_packets_total{$tcp,direction=\"in\"}")"
check_eq "TCP service: 30 connections" "30 30" "$t_conns $(value "$T/m2" "xlb_service_connections_total{$tcp}")"
check_eq "real servers' packets add up to the service's" "$u_in" \
	"$(awk -v k="xlb_real_server_packets_total{$udp," '
		index($1, k) == 1 && $1 ~ /direction="in"/ { n += $2 } END { print n + 0 }' "$T/m2")"
check "the schedulers are info metrics" grep -q "^xlb_service_info{$udp,scheduler=\"wlc\"} 1$" "$T/m2"
check "a real server's weight" grep -q "^xlb_real_server_weight{$tcp,server=\"$RS1:80\"} 2$" "$T/m2"
check "a real server's method" grep -q "^xlb_real_server_info{$tcp,server=\"$RS1:80\",method=\"dr\"} 1$" "$T/m2"
check_eq "302 services, 906 real servers" "302 906" \
	"$(grep -c '^xlb_service_info{' "$T/m2") $(grep -c '^xlb_real_server_up{' "$T/m2")"
X --counters >"$T/counters"
for k in "xdp redirected xlb_xdp_redirected_packets_total" "xdp service_packets xlb_xdp_service_packets_total" \
	 "datapath rx xlb_datapath_rx_packets_total" "datapath tx xlb_datapath_tx_packets_total"; do
	set -- $k
	check "$1 $2 is non-zero and in the scrape as $3 ($(value "$T/m2" "$3"))" \
		test "$(value "$T/m2" "$3")" -gt 0
done
# Every --counters line has its sample, by the documented rule (the
# values move: health checks run meanwhile; the names must all be there).
missing=$(awk -v out="$T/m2" '
	function has(k) { return (k in seen) }
	BEGIN { while ((getline l < out) > 0) if (l !~ /^#/) { split(l, f, " "); seen[f[1]] = 1 } }
	$1 == "xdp" { k = "xlb_xdp_" $2 ($2 ~ /_packets$/ ? "" : "_packets") "_total" }
	$1 == "datapath" && $2 ~ /^drop_/ { k = "xlb_datapath_dropped_packets_total{reason=\"" substr($2, 6) "\"}" }
	$1 == "datapath" && $2 !~ /^drop_/ { k = "xlb_datapath_" $2 "_packets_total" }
	$1 == "malformed" { k = "xlb_datapath_malformed_packets_total{class=\"" $2 "\"}" }
	$1 == "xsk" { k = "xlb_xsk_" $2 ($2 == "queues_unserved" ? "" : "_total") }
	$1 == "xsk_queue" { i = index($2, ":"); k = "xlb_xsk_queue_packets_total{interface=\"" substr($2, 1, i - 1) "\",queue=\"" substr($2, i + 3) "\",direction=\"" substr($2, i + 1, 2) "\"}" }
	$1 == "conn" { k = $2 == "count" ? "xlb_conn_entries" : $2 == "evicted" ? "xlb_conn_evictions_total" : "" }
	$1 == "fastpath" && ($2 == "hits" || $2 == "misses" || $2 == "installs" || $2 == "evictions") { k = "xlb_fastpath_" $2 "_total" }
	$1 == "health" && $2 == "checks" { k = "xlb_health_checks_total" }
	k != "" && !has(k) { print $1, $2, "->", k } { k = "" }' "$T/counters")
check_eq "every xdp, datapath, malformed, xsk and xsk_queue counter is in the scrape" "" "$missing"
check "the connection table: capacity and entries" \
	bash -c "grep -q '^xlb_conn_capacity [1-9]' '$T/m2' && grep -q '^xlb_conn_entries [0-9]' '$T/m2'"

# 5. HEAD, 404, many clients at once.
D curl -sS -m 5 -I "$URL" >"$T/head.txt"
check "HEAD /metrics: 200 with the length GET would have" \
	bash -c "grep -q '^HTTP/1.1 200' '$T/head.txt' && grep -qi '^Content-Length: [1-9]' '$T/head.txt'"
check_eq "GET /other: 404" 404 "$(D curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/other")"
pids=()
for i in $(seq 1 20); do
	D curl -s -m 10 -o "$T/par.$i" -w '%{http_code}\n' "$URL" >"$T/par.$i.code" &
	pids+=($!)
done
wait "${pids[@]}"
check_eq "20 scrapes at once: all 200 and whole" "20 20" \
	"$(cat "$T"/par.*.code | grep -c '^200$') $(grep -l '^xlb_metrics_last_render_duration_seconds ' "$T"/par.[0-9]* | wc -l)"

# 6. Garbage: an HTTP error each, never a hang.
MC garbage 127.0.0.1 "$PORT" >"$T/garbage.txt"
sed 's/^/    /' "$T/garbage.txt"
check_eq "garbage requests answered with the right errors" \
	"binary 400 nul 400 no_version 400 http2 505 http09_version 505 post 405 delete 405 other_path 404 root 404 huge_header 431 endless_crlf 431 query 200 bare_lf 200" \
	"$(tr '\n' ' ' <"$T/garbage.txt" | sed 's/ $//')"

# 7. Clients that never read a 1.5 MB response, and 70 idle ones (64 is
#    the limit): xlbctl answers, traffic flows, while they are held.
MC hold 127.0.0.1 "$PORT" 8 14 noread >"$T/noread.txt" &
nr=$!; lab_on_exit "kill_pid $nr"
wait_for 5 grep -q held "$T/noread.txt"
MC hold 127.0.0.1 "$PORT" 70 14 idle >"$T/idle.txt" &
id=$!; lab_on_exit "kill_pid $id"
wait_for 5 grep -q held "$T/idle.txt"
sleep 1
D ss -Htn state established "( sport = :$PORT )" >"$T/ss.txt"
head -n 3 "$T/ss.txt"
sendq=$(awk '$2 > 0 { n++ } END { print n + 0 }' "$T/ss.txt")
check "the never-reading clients left xlbd holding unsent responses ($sendq sockets with a Send-Q)" test "$sendq" -ge 8
t0=$(date +%s%N)
check "xlbctl -L -n answers meanwhile" timeout 3 "$B/xlbctl" --socket "$S" -L -n -t "$VIP:80"
t1=$(date +%s%N)
check "and within a second ($(( (t1 - t0) / 1000000 )) ms)" test $(( (t1 - t0) / 1000000 )) -lt 1000
C udp "$VIP" "$UDP_PORT" --sport 43000 --count 10 --timeout 1 >"$T/udp_during.txt"
check_eq "10 UDP requests answered meanwhile" 10 "$(answers "$T/udp_during.txt")"
C http "$VIP" 80 --count 5 --timeout 2 >"$T/http_during.txt"
check_eq "5 HTTP requests answered meanwhile" 5 "$(answers "$T/http_during.txt")"

# 8. A health change shows: rs1's nginx stops, rs1 goes down.
kill "$(cat "$D1/nginx.pid")" || fail "stop rs1's nginx"
rs1_down() { X -L -n --health | awk -v a="$RS1:80" '$1 == "->" && $2 == a { s = $3 } END { exit s != "down" }'; }
wait_for 8 rs1_down
check "xlbctl -L --health: rs1 down" rs1_down
# The metrics server's 64 places are still held by the idle clients
# (until their timeout): a scrape is refused now. After the timeout
# (10 s from their connection) it answers again.
wait "$id"
cat "$T/idle.txt"
check "the idle clients were closed by xlbd after its timeout" \
	grep -qx "closed_by_server 70" "$T/idle.txt"
wait "$nr"
wait_for 5 scrape "$T/m3"
check "a scrape after the slow clients" scrape "$T/m3"
check_eq "xlb_real_server_up: rs1 0 (down)" 0 "$(value "$T/m3" "xlb_real_server_up{$tcp,server=\"$RS1:80\"}")"
check_eq "the other two up" "1 1" "$(awk -v k="xlb_real_server_up{$tcp," 'index($1, k) == 1 && $1 !~ /"'"$RS1"':80"/ { printf "%s%s", s, $2; s = " " }' "$T/m3")"
check "xlb_health_transitions_total{to=\"down\"} counts it" test "$(value "$T/m3" 'xlb_health_transitions_total{to="down"}')" -ge 1
check "xlb_health_checks_total counts checks" test "$(value "$T/m3" xlb_health_checks_total)" -gt 10
check "xlb_real_server_health_checks_total for rs1" test "$(value "$T/m3" "xlb_real_server_health_checks_total{$tcp,server=\"$RS1:80\"}")" -gt 2
to=$(value "$T/m3" 'xlb_metrics_http_connections_total{outcome="timed_out"}')
rf=$(value "$T/m3" 'xlb_metrics_http_connections_total{outcome="refused"}')
check "the server counted the timed-out clients ($to) and the refused ones ($rf)" \
	bash -c "[ '$to' -ge 64 ] && [ '$rf' -ge 6 ]"
"$PROMTOOL" check metrics <"$T/m3" >"$T/promtool3.out" 2>&1
check_eq "promtool on the scrape after the change: silent" "" "$(cat "$T/promtool3.out")"
check "xlbd still runs" kill -0 "$XLBD_PID"
check "xlbd logged no scrape failure" bash -c "! grep -q 'scrape failed' '$LOG'"
kill_pid "$XLBD_PID"
