#!/bin/bash
# The same design over OSPF (issue 15: the classic LVS access layer): three
# directors announce the VIPs xlbd keeps in its table into OSPF area 0 as
# external routes (one metric for all), with BFD; the router (BIRD, "ecmp
# yes; merge external yes") installs one multipath route per VIP. Under
# load (200 DR + 200 TUN long-lived connections, 20 new ones a second):
# one director dies (silent, then SIGKILL of everything on it), then
# another director's xlbd alone is killed (its BIRD flushes the LSAs):
# each time the director leaves the router's routes within 3 s and >= 99 %
# of established DR and TUN connections survive.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ecmp_lib.sh"
lab_init
command -v bird >/dev/null || lab_skip "BIRD 2 is not installed (apt-get install bird2)"
[ -f "$B/bench/sink.bpf.o" ] || lab_skip "$B/bench/sink.bpf.o not built (make)"
lab_up ecmp --routing ospf || { fail "ecmp lab (OSPF) up"; exit 1; }
check_eq "routing: OSPF, announcing: xlbd" "ospf xlbd" "$ROUTING $ANNOUNCE"
birdc -s "$ROUTER_DIR/bird.ctl" show ospf neighbors
ip -n "$ROUTER_NS" route show "$VIP_DR/32"
check_eq "one multipath route per VIP over the three directors" "3 3" \
	"$(ecmp_npaths "$VIP_DR") $(ecmp_npaths "$VIP_TUN")"

# (a) d1 dies.
load_start a || { fail "load a starts"; exit 1; }
sleep 1
for i in 1 2 3; do ports_on "$i" >"$T/a.before.d$i"; done
load_ports a >"$T/a.ports"
gone=$(crash_timed 1)
echo "WITHDRAWAL (OSPF): d1 (crashed) left the router's multipath routes $gone ms after it went silent"
check "(a) OSPF: the dead director's routes are withdrawn within 3 s ($gone ms)" test "$gone" -le 3000
sleep 4
m=$(comm -12 "$T/a.before.d1" "$T/a.ports" | comm -12 - <({ ports_on 2; ports_on 3; } | sort -u) | wc -l)
load_stop a
echo "(a) $m long-lived connections moved from d1 to d2/d3"
check "(a) OSPF: connections held by d1 moved to the other directors ($m)" test "$m" -ge 40
ecmp_check_survival a "(a) OSPF: kill -9 of one of three directors"
ecmp_check_new a "(a) OSPF" "$gone"

# (a2) xlbd alone on d2.
load_start a2 || { fail "load a2 starts"; exit 1; }
sleep 1
t0=$(date +%s%N)
xlbd_signal 2 KILL
gone=$(ecmp_until_gone "$(dir_ip 2)" "$t0")
xlbd_gone 2
echo "WITHDRAWAL (OSPF): d2 (xlbd SIGKILL, BIRD running) left the router's routes after $gone ms"
check "(a2) OSPF: xlbd killed alone: withdrawn within 3 s ($gone ms)" test "$gone" -le 3000
check_eq "(a2) OSPF: d3 alone carries both VIPs" "1 1" "$(ecmp_npaths "$VIP_DR") $(ecmp_npaths "$VIP_TUN")"
sleep 3
load_stop a2
ecmp_check_survival a2 "(a2) OSPF: kill -9 of one director's xlbd"
ecmp_check_new a2 "(a2) OSPF" "$gone"

# Both come back.
D start 1; D start 2
back=$(ecmp_until_all 3 20)
check "both directors are back in the router's routes ($back ms)" test "$back" -lt 20000
