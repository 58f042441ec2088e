#!/bin/bash
# Several directors behind ECMP (issue 15), part 2: a director that is up
# but cannot serve withdraws its VIPs, and a director added to the set
# takes its share; under the same load as test_ecmp.sh (200 DR + 200 TUN
# long-lived connections, 20 new ones a second), nothing is lost:
#  (a2) xlbd alone killed with SIGKILL on d1 (BIRD still runs): its guard
#       withdraws the routes, BIRD withdraws them from the router within 3 s,
#       >= 99 % survive;
#  (c1) every real server down by the health checks of d2 only (the real
#       servers cannot answer d2: a prohibit route to d2 on each; d2's
#       datapath, which never needs an answer, is unaffected): d2 withdraws
#       both VIPs, >= 99 % survive; it announces them again when the
#       servers are back;
#  (c2) xlbd on d3 stopped gracefully (SIGTERM): withdrawn, >= 99 % survive;
#  (d)  a fourth director with the same rules joins: >= 99 % survive, and
#       some connections moved to it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ecmp_lib.sh"
lab_init
command -v bird >/dev/null || lab_skip "BIRD 2 is not installed (apt-get install bird2)"
lab_up ecmp || { fail "ecmp lab up"; exit 1; }
echo "announcing: $ANNOUNCE (table $ANNOUNCE_TABLE)"
check_eq "xlbd announces the VIPs itself (--announce-table)" xlbd "$ANNOUNCE"
check_eq "the router has three paths per VIP" "3 3" "$(ecmp_npaths "$VIP_DR") $(ecmp_npaths "$VIP_TUN")"

# moved_to NAME I: long-lived connections of load NAME now on director I
# that were not there before (before: $T/NAME.before.dI). When one of N
# next hops leaves, the kernel's hash-threshold multipath also moves some
# flows between the others: these count too.
moved_to() { comm -12 "$T/$1.ports" <(ports_on "$2") | comm -23 - "$T/$1.before.d$2" | wc -l; }
before() { local i; for i in $(cat "$LABDIR/directors"); do ports_on "$i" >"$T/$1.before.d$i"; done; load_ports "$1" >"$T/$1.ports"; }

# (a2) xlbd alone dies on d1.
load_start a2 || { fail "load a2 starts"; exit 1; }
sleep 1
before a2
t0=$(date +%s%N)
xlbd_signal 1 KILL
gone=$(ecmp_until_gone "$(dir_ip 1)" "$t0")
xlbd_gone 1
echo "WITHDRAWAL: d1 (xlbd SIGKILL, BIRD running) left the router's routes after $gone ms"
check "(a2) xlbd killed alone: its routes are withdrawn within 3 s ($gone ms)" test "$gone" -le 3000
check_eq "(a2) no route of proto 250 is left in d1's table $ANNOUNCE_TABLE" "" \
	"$(ip -n "$P-d1" route show table "$ANNOUNCE_TABLE" proto 250)"
check "(a2) d1's BGP session stays up (only the routes went)" bird_established "$ROUTER_DIR" d1
sleep 4
m=$(( $(moved_to a2 2) + $(moved_to a2 3) ))
load_stop a2
echo "(a2) $m long-lived connections changed director (d1's, and some between d2 and d3: hash-threshold multipath moves those too)"
check "(a2) connections moved to the other directors ($m)" test "$m" -ge 40
ecmp_check_survival a2 "(a2) kill -9 of one director's xlbd"
ecmp_check_new a2 "(a2)" "$gone"
D start 1
check "(a2) d1 announces again once xlbd runs" test "$(ecmp_until_all 3 10)" -lt 10000

# (c1) d2's health checks fail, only d2's.
load_start c1 || { fail "load c1 starts"; exit 1; }
sleep 1
before c1
t0=$(date +%s%N)
for ns in $RS_NS; do ip -n "$ns" route add prohibit "$(dir_ip 2)/32"; done
lab_on_exit "for ns in $RS_NS; do ip -n \$ns route del prohibit $(dir_ip 2)/32; done"
gone=$(ecmp_until_gone "$(dir_ip 2)" "$t0")
echo "WITHDRAWAL: d2 (every server down by its own checks) left the router's routes after $gone ms (checks: interval 0.5 s, fall 2)"
check "(c1) d2 withdraws both VIPs when its checks fail every server (${gone} ms)" test "$gone" -le 5000
"$B/xlbctl" --socket "$LABDIR/d2/xlb.sock" -L -n --health
check "(c1) d1 still has every server up" bash -c "! '$B/xlbctl' --socket '$LABDIR/d1/xlb.sock' -L -n --health | grep -qw down"
check_eq "(c1) d1 and d3 still announce" "2 2" "$(ecmp_npaths "$VIP_DR") $(ecmp_npaths "$VIP_TUN")"
sleep 3
m=$(( $(moved_to c1 1) + $(moved_to c1 3) ))
echo "(c1) $m long-lived connections changed director (d2's, and some between d1 and d3)"
check "(c1) connections moved to the other directors ($m)" test "$m" -ge 40
for ns in $RS_NS; do ip -n "$ns" route del prohibit "$(dir_ip 2)/32"; done
back=$(ecmp_until_all 3 10)
echo "RETURN: d2 announces again $back ms after its servers answer it again"
gone_c1=$gone
check "(c1) d2 announces again when its checks pass (${back} ms)" test "$back" -lt 10000
sleep 2
load_stop c1
ecmp_check_survival c1 "(c1) one director's health checks fail every server"
ecmp_check_new c1 "(c1)" "$gone_c1"

# (c2) xlbd on d3 stops gracefully.
load_start c2 || { fail "load c2 starts"; exit 1; }
sleep 1
before c2
t0=$(date +%s%N)
xlbd_signal 3 TERM
gone=$(ecmp_until_gone "$(dir_ip 3)" "$t0")
xlbd_gone 3
echo "WITHDRAWAL: d3 (xlbd SIGTERM) left the router's routes after $gone ms"
check "(c2) a graceful stop withdraws within 3 s ($gone ms)" test "$gone" -le 3000
sleep 3
m=$(( $(moved_to c2 1) + $(moved_to c2 2) ))
load_stop c2
echo "(c2) $m long-lived connections changed director (d3's, and some between d1 and d2)"
check "(c2) connections moved to the other directors ($m)" test "$m" -ge 40
ecmp_check_survival c2 "(c2) SIGTERM of one director's xlbd"
ecmp_check_new c2 "(c2)" "$gone"
D start 3
check "(c2) d3 announces again once xlbd runs" test "$(ecmp_until_all 3 10)" -lt 10000

# (d) a fourth director.
load_start d || { fail "load d starts"; exit 1; }
sleep 1
before d
: >"$T/d.before.d4"
t0=$(date +%s%N)
D add 4
ecmp_until_all 4 20 >/dev/null
added=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "ADDED: d4 in both multipath routes $added ms after it was created"
check_eq "(d) the router has four paths per VIP" "4 4" "$(ecmp_npaths "$VIP_DR") $(ecmp_npaths "$VIP_TUN")"
check_eq "(d) d4 has the same tables as d1 (xlbctl -S)" \
	"$("$B/xlbctl" --socket "$LABDIR/d1/xlb.sock" -S -n)" "$("$B/xlbctl" --socket "$LABDIR/d4/xlb.sock" -S -n)"
sleep 4
m=$(moved_to d 4)
load_stop d
echo "(d) $m established connections moved to the new d4"
check "(d) some established connections moved to d4 ($m)" test "$m" -ge 40
ecmp_check_survival d "(d) a fourth director joins"
ecmp_check_new d "(d)" 0
director_stats
