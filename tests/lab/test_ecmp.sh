#!/bin/bash
# Several directors behind ECMP (issue 15): three xlbd directors announce
# two VIPs (DR, TUN) over BGP with BFD to a BIRD router, whose kernel
# spreads flows over them by their 5-tuple; every director has the same
# rules (ring scheduler), and a mid-flow packet that reaches a director
# with no entry for it is scheduled, onto the same real server. Under load
# from a real client (200 DR + 200 TUN keep-alive connections, a request
# every 200 ms each, plus 20 new connections a second):
#  (a) one director dies (silent, then xlbd, its guard and BIRD SIGKILLed):
#      >= 99 % of established DR and TUN connections survive, its routes
#      leave the router's multipath routes within 3 s (BFD), new
#      connections fail only for about that long, and flows really moved
#      to the other directors;
#  (b) it comes back: connections still survive, and some move back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ecmp_lib.sh"
lab_init
command -v bird >/dev/null || lab_skip "BIRD 2 is not installed (apt-get install bird2)"
[ -f "$B/bench/sink.bpf.o" ] || lab_skip "$B/bench/sink.bpf.o not built (make)"
lab_up ecmp || { fail "ecmp lab up"; exit 1; }
echo "announcing: $ANNOUNCE (table $ANNOUNCE_TABLE)"
check_eq "the router hashes flows on L4 (fib_multipath_hash_policy)" 1 \
	"$(ip netns exec "$ROUTER_NS" sysctl -n net.ipv4.fib_multipath_hash_policy)"
ip -n "$ROUTER_NS" route show "$VIP_DR/32"
check_eq "DR VIP: one multipath route over the three directors" 3 "$(ecmp_npaths "$VIP_DR")"
check_eq "TUN VIP: one multipath route over the three directors" 3 "$(ecmp_npaths "$VIP_TUN")"
# The routes can be there before the last BFD session is (BGP does not
# wait for BFD): give the sessions a few seconds to come up.
bfd_up() { birdc -s "$ROUTER_DIR/bird.ctl" show bfd sessions 2>&1 | grep -c ' Up '; }
bfd_all_up() { [ "$(bfd_up)" -eq 3 ]; }
wait_for 10 bfd_all_up || true
birdc -s "$ROUTER_DIR/bird.ctl" show bfd sessions 2>&1
check_eq "BFD sessions up with the three directors" 3 "$(bfd_up)"

# (a) d1 dies.
load_start a || { fail "load a starts"; exit 1; }
sleep 2
director_stats
for i in 1 2 3; do ports_on "$i" >"$T/a.before.d$i"; done
load_ports a >"$T/a.ports"
n=0
for i in 1 2 3; do
	k=$(comm -12 "$T/a.ports" "$T/a.before.d$i" | wc -l)
	echo "d$i holds $k of the 400 long-lived connections"
	[ "$k" -gt 0 ] && n=$((n + 1))
done
check_eq "(a) the router spreads the long-lived connections over all three directors" 3 "$n"
gone=$(crash_timed 1)
echo "WITHDRAWAL: d1 (crashed) left the router's multipath routes $gone ms after it went silent"
check "(a) the dead director's routes are withdrawn within 3 s ($gone ms)" test "$gone" -le 3000
sleep 5
for i in 2 3; do ports_on "$i" >"$T/a.after.d$i"; done
load_stop a
moved=$(comm -12 "$T/a.before.d1" "$T/a.ports" | comm -12 - <(sort -u "$T/a.after.d2" "$T/a.after.d3") | wc -l)
echo "(a) $moved long-lived connections moved from d1 to d2/d3"
check "(a) connections held by d1 moved to the other directors ($moved)" test "$moved" -ge 40
ecmp_check_survival a "(a) kill -9 of one of three directors"
ecmp_check_new a "(a)" "$gone"
check "(a) the dead director's BGP session is down on the router" \
	bash -c "! birdc -s '$ROUTER_DIR/bird.ctl' show protocols d1 | grep -q Established"
director_stats

# (b) d1 comes back.
load_start b || { fail "load b starts"; exit 1; }
sleep 1
load_ports b >"$T/b.ports"
t0=$(date +%s%N)
D start 1
ecmp_until_all 3 20 >/dev/null
back=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "RETURN: d1 back in both multipath routes $back ms after its xlbd and BIRD were started"
check "(b) d1's routes are back within 20 s ($back ms)" test "$back" -lt 20000
sleep 4
ports_on 1 >"$T/b.after.d1"
load_stop b
moved=$(comm -12 "$T/b.ports" "$T/b.after.d1" | wc -l)
echo "(b) $moved established connections moved to the returning d1"
check "(b) some established connections moved back to d1 ($moved)" test "$moved" -ge 40
ecmp_check_survival b "(b) the director comes back"
ecmp_check_new b "(b)" 0
director_stats
