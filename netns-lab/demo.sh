#!/bin/bash
# make demo [MODE=dr|nat|tun]: a client, xlbd on a director and three real
# nginx servers in network namespaces; xlbd is configured with xlbctl (shown
# on screen), the client sends 30 requests to the VIP, and the demo prints
# who answered, the totals and xlbctl's statistics, then tears it all down.
# MODE=dr6|nat6|tun6: the same lab dual stack; the director serves an IPv4
# and an IPv6 service ([VIP6]:80), the 30 requests go over IPv6 (curl -6)
# and a few more to the IPv4 VIP show it still answers beside it.
# MODE=ecmp: several directors behind a BGP router (netns-lab/demo_ecmp.sh).
set -u
MODE=${1:-dr}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ "$MODE" != ecmp ] || exec "$ROOT/netns-lab/demo_ecmp.sh"
B=$ROOT/build
case $MODE in
dr) FWD=-g ;;
nat) FWD=-m ;;
tun) FWD=-i ;;
dr6) FWD=-g ;;
nat6) FWD=-m ;;
tun6) FWD=-i ;;
*) echo "demo: MODE must be dr, nat, tun, dr6, nat6, tun6 or ecmp" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces, XDP): sudo make demo" >&2
	exit 1
fi

P="xd$(printf '%04x' $(( $$ % 65536 )))"
DEMODIR=$(mktemp -d "/tmp/xlb-demo-$P.XXXXXX")
S=$DEMODIR/xlb.sock
XLBD_PID=
cleanup() {
	if [ -n "$XLBD_PID" ]; then
		kill "$XLBD_PID" 2>/dev/null
		wait "$XLBD_PID" 2>/dev/null
	fi
	"$ROOT/netns-lab/lab.sh" down --prefix "$P" --dir "$DEMODIR/lab" >/dev/null 2>&1
	rm -rf "$DEMODIR"
	echo "demo: lab torn down (namespaces $P-*, xlbd, XDP programs)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*" 2>/dev/null || printf '\n== %s\n' "$*"; }
run() { echo "+ $*"; "$@"; }

say "Building the $MODE lab (namespaces $P-*)"
"$ROOT/netns-lab/lab.sh" up "$MODE" --prefix "$P" --dir "$DEMODIR/lab" || exit 1
# shellcheck disable=SC1091
. "$DEMODIR/lab/env"

IFS=' ' read -r -a IFACES <<<"${DIRECTOR_IFS:-$DIRECTOR_IF}"
args=()
for i in "${IFACES[@]}"; do args+=(-i "$i"); done
say "Starting xlbd in $DIRECTOR_NS (ip_forward=$(ip netns exec "$DIRECTOR_NS" cat /proc/sys/net/ipv4/ip_forward): only xlb can deliver)"
echo "+ ip netns exec $DIRECTOR_NS xlbd ${args[*]} --socket $S"
ip netns exec "$DIRECTOR_NS" "$B/xlbd" "${args[@]}" --socket "$S" >"$DEMODIR/xlbd.log" 2>&1 &
XLBD_PID=$!
n=0
until "$B/xlbctl" --socket "$S" -L -n >/dev/null 2>&1; do
	n=$((n + 1))
	if [ $n -gt 150 ] || ! kill -0 "$XLBD_PID" 2>/dev/null; then
		echo "demo: xlbd did not start:"; cat "$DEMODIR/xlbd.log"; exit 1
	fi
	sleep 0.1
done

say "Configuring with xlbctl (ipvsadm syntax)"
X() { run "$B/xlbctl" --socket "$S" "$@"; }
X -A -t "$VIP:80" -s ring
for rip in $RS_IPS; do X -a -t "$VIP:80" -r "$rip:80" "$FWD" -w 1; done
URL=http://$VIP/ CIP=$CLIENT_IP CURL=(curl)
if [ -n "${VIP6:-}" ]; then
	X -A -t "[$VIP6]:80" -s ring
	for rip in $RS_IPS6; do X -a -t "[$VIP6]:80" -r "[$rip]:80" "$FWD" -w 1; done
	URL="http://[$VIP6]/" CIP=$CLIENT_IP6 CURL=(curl -6 -g)
	echo "director: net.ipv6.conf.all.forwarding=$(ip netns exec "$DIRECTOR_NS" cat /proc/sys/net/ipv6/conf/all/forwarding)"
fi
X -L -n

say "30 requests from the client ($CIP) to $URL"
declare -A count=()
ok=0
for i in $(seq 1 30); do
	who=$(ip netns exec "$CLIENT_NS" "${CURL[@]}" -s --max-time 3 "$URL" 2>/dev/null | head -n 1)
	[ -n "$who" ] || who=FAILED
	[ "$who" = FAILED ] || ok=$((ok + 1))
	count[$who]=$(( ${count[$who]:-0} + 1 ))
	printf 'request %2d: %s\n' "$i" "$who"
done
say "Totals: $ok of 30 answered"
for k in $(printf '%s\n' "${!count[@]}" | sort); do printf '  %-8s %d\n' "$k" "${count[$k]}"; done

ok4=5
if [ -n "${VIP6:-}" ]; then
	say "And the IPv4 service beside it: 5 requests to http://$VIP/"
	ok4=0
	for i in $(seq 1 5); do
		who=$(ip netns exec "$CLIENT_NS" curl -s --max-time 3 "http://$VIP/" 2>/dev/null | head -n 1)
		[ -n "$who" ] && ok4=$((ok4 + 1))
		printf 'request %d: %s\n' "$i" "${who:-FAILED}"
	done
fi

say "xlbctl -L -n --stats"
"$B/xlbctl" --socket "$S" -L -n --stats
[ "$ok" -eq 30 ] && [ "$ok4" -eq 5 ]
