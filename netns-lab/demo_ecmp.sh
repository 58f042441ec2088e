#!/bin/bash
# make demo MODE=ecmp: three xlbd directors behind a router. Each director
# announces the VIPs over BGP (BIRD, with BFD) while xlbd can serve them
# (xlbd --announce-table); the router's kernel spreads flows over them by
# their 5-tuple; every director has the same rules (ring scheduler), so
# each flow's real server is the same whichever director it reaches. The
# demo shows requests spread over directors and servers, then kills one
# director (as a machine dying) under load and shows the traffic carrying
# on, then tears it all down.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces, XDP): sudo make demo MODE=ecmp" >&2
	exit 1
fi
command -v bird >/dev/null || { echo "demo: needs BIRD 2 (apt-get install bird2)" >&2; exit 1; }

P="xe$(printf '%04x' $(( $$ % 65536 )))"
DEMODIR=$(mktemp -d "/tmp/xlb-demo-$P.XXXXXX")
LOAD_PID=
cleanup() {
	if [ -n "$LOAD_PID" ]; then kill "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID" 2>/dev/null; fi
	"$ROOT/netns-lab/lab.sh" down --prefix "$P" --dir "$DEMODIR/lab" >/dev/null 2>&1
	rm -rf "$DEMODIR"
	echo "demo: lab torn down (namespaces $P-*, xlbd, BIRD, XDP programs)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*" 2>/dev/null || printf '\n== %s\n' "$*"; }
run() { echo "+ $*"; "$@"; }
L() { "$ROOT/netns-lab/lab.sh" "$@" --prefix "$P" --dir "$DEMODIR/lab"; }

say "Building the ecmp lab (namespaces $P-*): a client, a router, 3 directors, 3 real servers"
L up ecmp || exit 1
# shellcheck disable=SC1091
. "$DEMODIR/lab/env"
R=$ROUTER_DIR
echo "directors: $DIRECTOR_NAMES ($DIRECTOR_IPS), each: xlbd --announce-table $ANNOUNCE_TABLE + BIRD"
echo "VIPs: $VIP_DR (DR), $VIP_TUN (TUN); real servers: $RS_IPS"

say "The rules file every director loads (the same everywhere)"
cat "$RULES"

say "Director d1: the routes xlbd keeps while it can serve, and BIRD's view"
run ip -n "$P-d1" route show table "$ANNOUNCE_TABLE" proto 250
run birdc -s "$LABDIR/d1/bird.ctl" show route table vips

say "The router: BGP + BFD to every director, one multipath route per VIP"
run birdc -s "$R/bird.ctl" show protocols
run birdc -s "$R/bird.ctl" show bfd sessions
run ip -n "$ROUTER_NS" route show "$VIP_DR/32"
echo "+ sysctl net.ipv4.fib_multipath_hash_policy (router): $(ip netns exec "$ROUTER_NS" sysctl -n net.ipv4.fib_multipath_hash_policy) (L4 hash)"

# conns_of I VIP: director I's connection count for the service.
conns_of() {
	"$B/xlbctl" --socket "$LABDIR/d$1/xlb.sock" -L -n --stats --exact -t "$2:$HTTP_PORT" 2>/dev/null |
		awk '$1 == "TCP" { print $3 }'
}
declare -A before=()
snap() { local i; for i in 1 2 3; do before[$i]=$(conns_of "$i" "$VIP_DR"); done; }
spread() {
	local i n
	for i in 1 2 3; do
		n=$(conns_of "$i" "$VIP_DR")
		if [ -z "$n" ]; then printf '  d%s  (down)\n' "$i"
		else printf '  d%s  %3d new connections\n' "$i" $(( n - ${before[$i]:-0} )); fi
	done
}
# requests N: N new connections to the DR VIP, tallied by real server.
requests() {
	local i who ok=0
	declare -A count=()
	for i in $(seq 1 "$1"); do
		who=$(ip netns exec "$CLIENT_NS" curl -s --max-time 3 "http://$VIP_DR/" 2>/dev/null | head -n 1)
		[ -n "$who" ] || who=FAILED
		[ "$who" = FAILED ] || ok=$((ok + 1))
		count[$who]=$(( ${count[$who]:-0} + 1 ))
	done
	echo "$ok of $1 answered; by real server:"
	for k in $(printf '%s\n' "${!count[@]}" | sort); do printf '  %-8s %d\n' "$k" "${count[$k]}"; done
}

say "Long-lived load from the client: 50 DR + 50 TUN keep-alive connections, a request every 200 ms each"
ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/ecmpload.py" \
	--target "dr=$VIP_DR:$HTTP_PORT:50" --target "tun=$VIP_TUN:$HTTP_PORT:50" \
	--new-rate 0 --ready "$DEMODIR/ready" >"$DEMODIR/load.out" 2>&1 &
LOAD_PID=$!
for _ in $(seq 1 100); do [ -s "$DEMODIR/ready" ] && break; sleep 0.1; done
echo "100 connections up; their real servers: $(awk '{print $3}' "$DEMODIR/ready" | sort | uniq -c | awk '{printf "%s %s  ", $2, $1}')"

snap
say "60 new connections from the client to http://$VIP_DR/"
requests 60
say "Spread over the directors (xlbctl --stats on each, connections of the 60 requests)"
spread
for i in 1 2 3; do
	echo "+ xlbctl -L -n --stats   (on d$i)"
	"$B/xlbctl" --socket "$LABDIR/d$i/xlb.sock" -L -n --stats | tail -n +4
done

say "Killing director d1 as a machine dies: silent at once, then xlbd, its guard and BIRD SIGKILLed"
# In the background: the processes take a second or two to exit, and the
# router is watched from the moment d1 went silent (written to d1/crashed).
rm -f "$DEMODIR/lab/d1/crashed"
L director crash 1 &
crash=$!
for _ in $(seq 1 100); do [ -s "$DEMODIR/lab/d1/crashed" ] && break; sleep 0.01; done
t0=$(cat "$DEMODIR/lab/d1/crashed")
while ip -n "$ROUTER_NS" route show "$VIP_DR/32" | grep -q "via ${DIRECTOR_IPS%% *} "; do
	sleep 0.02
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 10000 ] || break
done
echo "the router dropped d1 from its multipath route $(( ($(date +%s%N) - t0) / 1000000 )) ms after d1 went silent (BFD: 3 x 100 ms)"
wait "$crash"
run ip -n "$ROUTER_NS" route show "$VIP_DR/32"
run birdc -s "$R/bird.ctl" show protocols d1

snap
say "60 more new connections, with d1 dead"
requests 60
say "Spread over the directors that are left"
spread

sleep 1
kill -TERM "$LOAD_PID" 2>/dev/null; wait "$LOAD_PID" 2>/dev/null; LOAD_PID=
say "The long-lived connections, through d1's death (survived = never reset, never stalled 8 s, always the same server)"
sed 's/^/  /' "$DEMODIR/load.out"

say "Bringing d1 back"
L director start 1
for _ in $(seq 1 100); do
	[ "$(ip -n "$ROUTER_NS" route show "$VIP_DR/32" | grep -c via)" = 3 ] && break
	sleep 0.1
done
run ip -n "$ROUTER_NS" route show "$VIP_DR/32"
[ "$(grep -c "survived 50 " "$DEMODIR/load.out")" = 2 ]
