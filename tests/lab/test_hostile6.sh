#!/bin/bash
# Hostile IPv6 frames at an IPv6 service (issue 14), beside an IPv4 one, in
# DR6, NAT6 and TUN6 (HOSTILE6_MODES="dr6 nat6 tun6"):
# truncated headers, extension header chains, bad payload lengths,
# fragments, ICMPv6 errors about flows xlb never saw or with cut quotes,
# NDP and router advertisements to the VIP. Each class must land in the
# counters it is meant to (xlbctl --counters: XDP's for what is passed,
# the datapath's for what is steered and then dropped or forwarded), xlbd
# must stay alive, and both services must still answer afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
lab_init
MODES=${HOSTILE6_MODES:-dr6 nat6 tun6}

# Class and the counters it must grow by at least the frames sent
# (GROUP:NAME[=K]). The XDP counters are v6bpf's (see test_bpf_steer6.c);
# the datapath's are those IPv4 uses for the same outcome.
CLASSES=(
	"ip6_trunc             xdp:malformed_ipv6 xdp:passed"
	"ip6_version           xdp:malformed_ipv6 xdp:passed"
	"plen_past             xdp:malformed_ipv6 xdp:passed"
	"plen_jumbo            xdp:malformed_ipv6 xdp:passed"
	"ext8                  xdp:ipv6_ext_headers xdp:service_packets datapath:tx"
	"ext9                  xdp:ipv6_ext_headers_passed xdp:passed"
	"ext_cut               xdp:ipv6_ext_headers_passed xdp:passed"
	"rh_segleft            xdp:ipv6_ext_headers_passed xdp:passed"
	"frag_first            xdp:ipv6_fragments_passed xdp:passed"
	"frag_later            xdp:ipv6_fragments_passed xdp:passed"
	"tcp_trunc             xdp:malformed_l4 xdp:passed"
	"icmp6_unknown         xdp:icmp_errors_steered datapath:drop_icmp_unknown_flow"
	"icmp6_unreach_unknown xdp:icmp_errors_steered datapath:drop_icmp_unknown_flow"
	"icmp6_cut             xdp:malformed_l4 xdp:passed"
	"ndp_ns_vip            xdp:passed"
	"ra_vip                xdp:passed"
	"icmp6_genuine         xdp:icmp_errors_steered datapath:icmp_errors_forwarded"
)
N=5

snap() { X --counters 2>/dev/null >"$1"; }
sval() { awk -v g="$2" -v n="$3" '$1 == g && $2 == n { print $3 }' "$1"; }
H() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/hostile6.py" \
	--iface "$CLIENT_IF" --dmac "$DIRECTOR_MAC" --vip "$VIP6" --client-ip "$CLIENT_IP6" \
	--router "${CLIENT_IP6%::50}::1" --port "$HTTP_PORT" --udp-port "$UDP_PORT" "$@" 2>>"$T/hostile6.err"; }

run_mode() {
	local MODE=$1 fwd row cls want out sent spec g c k b a n d m ns
	case $MODE in dr6) fwd=-g ;; nat6) fwd=-m ;; tun6) fwd=-i ;; esac
	lab_up "$MODE" --servers 2 || { fail "[$MODE] lab up"; return; }
	# shellcheck disable=SC2034 # lib.sh's X and xlbd_up use S and LOG
	S=$T/xlb-$MODE.sock LOG=$T/xlbd-$MODE.log
	v6_rules "$fwd" >"$T/rules"
	xlbd_up "$T/rules" || { fail "[$MODE] xlbd starts with IPv6 services in its rules"; return; }
	# Every server's neighbour entry resolved first (ext8 is forwarded to
	# whichever server the scheduler picks; a first packet to an
	# unresolved next hop is dropped as drop_neigh_pending).
	v6_thirty "$T/before30.txt"
	check_eq "[$MODE] before: 30 of 30 IPv6 requests answered" 30 "$(grep -c '^rs[0-9]*$' "$T/before30.txt")"

	for row in "${CLASSES[@]}"; do
		read -r cls want <<<"$row"
		snap "$T/before"
		out=$(H "$cls" "$N")
		sent=${out##* }
		[ "$sent" = "$N" ] || { fail "[$MODE] $cls: $N frames sent ($out)"; continue; }
		# Counters are read by xlbd from the workers and the XDP map;
		# give them a moment (up to 2 s) to show every frame.
		for spec in $want; do
			g=${spec%%:*} c=${spec#*:} k=$N
			case $c in *=*) k=${c#*=} c=${c%%=*} ;; esac
			b=$(sval "$T/before" "$g" "$c")
			n=0 d=0
			while [ $n -lt 20 ]; do
				snap "$T/after"
				a=$(sval "$T/after" "$g" "$c")
				d=$(( ${a:-0} - ${b:-0} ))
				[ "$d" -ge "$k" ] && break
				sleep 0.1; n=$((n + 1))
			done
			if [ -z "$a" ]; then
				fail "[$MODE] $cls: counter $g $c exists"
			else
				check "[$MODE] $cls: $g $c grew by >= $k (+$d)" test "$d" -ge "$k"
			fi
		done
		check "[$MODE] $cls: xlbd alive" kill -0 "$XLBD_PID"
	done

	# icmp6_genuine: a "Packet Too Big" (MTU 1280) about the VIP's reply
	# in a live connection, as a router between the director and the
	# client would send it, reaches the real server that owns the flow
	# (NAT6: translated, quote included; TUN6: encapsulated), whose kernel
	# takes it (the quoted sequence number is in its window) and lowers
	# its path MTU to the client.
	m=""
	for ns in $RS_NS; do
		ip -n "$ns" -6 route get "$CLIENT_IP6" 2>/dev/null | grep -q "mtu 1280" && m="$m ${ns##*-}"
	done
	check_eq "[$MODE] the server of that flow took the forwarded Packet Too Big (path MTU 1280 to the client on one server:$m)" 1 "$(wc -w <<<"$m")"

	# After every class: the IPv6 and the IPv4 service still answer.
	v6_thirty "$T/after30.txt"
	check_eq "[$MODE] afterwards: 30 of 30 IPv6 requests answered" 30 "$(grep -c '^rs[0-9]*$' "$T/after30.txt")"
	C http "$VIP" "$HTTP_PORT" --count 10 >"$T/v4.txt"
	check_eq "[$MODE] afterwards: the IPv4 service answers (10 of 10)" 10 "$(answers "$T/v4.txt")"
	check "[$MODE] xlbd alive at the end" kill -0 "$XLBD_PID"
	echo "  counters at the end ($MODE), non-zero:"
	X --counters 2>/dev/null | awk '$3 != 0 && ($1 == "xdp" || $1 == "datapath") { printf "    %s %s %s\n", $1, $2, $3 }'
	kill_pid "$XLBD_PID"
	"$ROOT/netns-lab/lab.sh" down --prefix "$P" --dir "$LABDIR" >/dev/null 2>&1
}

for m in $MODES; do run_mode "$m"; done
