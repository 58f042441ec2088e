#!/bin/bash
# Hostile packets at the VIP in every forwarding mode (DR, NAT, TUN, one lab
# at a time): malformed at every layer, IP options, fragments, forged ICMP
# errors, VLAN tags, IPv6, TTL 0, bad checksums, broadcast, random bytes,
# sent by tests/lab/hostile.py (scapy, AF_PACKET on the client's interface
# to the director's MAC, so the XDP program sees each frame as it is).
#
# Per class: the counters (xlbctl --counters: GROUP NAME VALUE) before and
# after; the counter the class must land in grows by at least the number of
# frames sent; what else moved is printed. Malformed frames that the XDP
# program can already tell are broken are passed to the kernel (xdp
# malformed_*) and never reach userspace; frames that pass its checks but
# fail the stricter userspace parse land in "malformed <class>" (and
# "datapath drop_malformed"). Afterwards xlbd is alive and serves.
. "$(dirname "$0")/lib.sh"
lab_init

HOSTILE=$ROOT/tests/lab/hostile.py
COUNT=10		# frames per class
RANDOM_FRAMES=300
MODES=${HOSTILE_MODES:-dr nat tun}
HAVE_COUNTERS=0
"$B/xlbctl" --help 2>&1 | grep -q -- '--counters' && HAVE_COUNTERS=1

# Class table: NAME and the counters it must land in, [MODES/]GROUP:NAME[=K]
# (grows by >= K, default the frames sent; MODES, e.g. "dr,nat": only in
# those modes); "xdp:seen" is the sum of the XDP program's three outcome
# counters (every frame ends in exactly one).
# "-": nothing can be sent (the kernel refuses the frame); "lab": sent, but
# the lab's (Linux) switch drops it on ingress (a truncated 802.1Q tag fails
# skb_vlan_untag()), so it cannot reach the director here: the XDP
# program's handling of it is covered by bpf_prog_test_run unit tests.
CLASSES=(
	"eth_trunc              -"
	"vlan_trunc             lab"
	"ip_trunc               xdp:malformed_ip"
	"ip_version             xdp:malformed_ihl"
	"ihl_short              xdp:malformed_ihl"
	"ihl_trunc              xdp:malformed_ip"
	"totlen_short           xdp:malformed_ihl"
	"totlen_trunc           xdp:service_packets malformed:totlen_trunc datapath:drop_malformed"
	"tcp_trunc_frame        xdp:malformed_l4"
	"tcp_trunc_len          malformed:tcp_trunc"
	"udp_trunc_frame        xdp:malformed_l4"
	"udp_trunc_len          malformed:udp_trunc"
	"icmp_trunc_frame       xdp:malformed_l4"
	"icmp_trunc_len         xdp:icmp_errors_steered malformed:icmp_trunc"
	"tcp_doff_short         malformed:tcp_doff_short"
	"tcp_doff_trunc         malformed:tcp_doff_trunc"
	"udp_len_short          malformed:udp_len_short"
	"udp_len_long           malformed:udp_len_long"
	"icmp_inner_trunc_frame xdp:malformed_l4"
	"icmp_inner_bad         xdp:malformed_l4"
	"icmp_inner_ihl_short   xdp:malformed_l4"
	"icmp_inner_l4_short    xdp:icmp_errors_steered malformed:icmp_inner_trunc"
	"icmp_forged            xdp:icmp_errors_steered datapath:drop_icmp_unknown_flow"
	"icmp_genuine           xdp:icmp_errors_steered datapath:icmp_errors_forwarded"
	"ip_options             xdp:ip_options xdp:service_packets"
	"ip_options_bad         xdp:ip_options xdp:service_packets datapath:tx"
	"frag_first             xdp:service_packets datapath:tx"
	"frag_later             xdp:fragments_passed"
	"frag_datagram          xdp:fragments_passed=2 xdp:service_packets=1 dr,nat/datapath:tx=1 tun/datapath:tun_fragmented=1 tun/datapath:tx=2"
	"ttl_zero               datapath:drop_ttl_zero"
	"bad_ip_csum            xdp:service_packets datapath:tx"
	"bad_udp_csum           xdp:service_packets datapath:tx"
	"bad_tcp_csum           xdp:service_packets datapath:tx"
	"vlan                   xdp:vlan_passed"
	"vlan_qinq              xdp:not_ipv4"
	"vlan_8021ad            xdp:not_ipv4"
	"ipv6                   xdp:not_ipv4"
	"bcast_ip               xdp:passed"
	"bcast_mac_vip          xdp:service_packets datapath:tx"
	"random                 xdp:seen"
)
# What the forwarding-relevant classes show (as of this test's writing):
#  - ICMP errors: a genuine frag-needed about a tracked flow reaches its
#    real server (NAT: translated), which lowers its path MTU; errors about
#    unknown flows are dropped and counted; broken quotes are malformed.
#  - IP options: valid ones are forwarded intact (the server answers);
#    invalid ones are forwarded unchanged and the server rejects them.
#  - Bad checksums (IP, UDP, TCP) are not checked by xlb: forwarded (NAT's
#    incremental update keeps them bad) and dropped by the real server.
#  - Fragments: see frag_datagram below: a datagram to the VIP in several
#    fragments is lost in every mode.
#  - 802.1Q: passed to the kernel (xdp vlan_passed), in every mode: xlb's
#    next hops know nothing of VLANs, so it never forwards a tagged frame
#    (into another L2 domain, or with a tag its next hop does not expect),
#    and makes no connection entry for one. 802.1ad (0x88a8), alone or
#    with 802.1Q inside: passed (not_ipv4).
#  - Broadcast: IP broadcast is passed to the kernel; a broadcast MAC with
#    the VIP as destination is a service packet and is forwarded.

S=$T/xlb.sock
X() { "$B/xlbctl" --socket "$S" "$@"; }
C() { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/client.py" "$@"; }

# All counters, "GROUP NAME VALUE" per line, plus the pseudo counter
# "xdp seen".
counters_all() {
	X --counters 2>/dev/null | awk '
		{ print }
		$1 == "xdp" && ($2 == "passed" || $2 == "redirected" ||
				$2 == "redirect_failed") { seen += $3 }
		END { print "xdp seen", seen + 0 }'
}
# counter GROUP NAME: its current value (empty if there is no such counter).
counter() { counters_all | awk -v g="$1" -v n="$2" '$1 == g && $2 == n { print $3 }'; }
# snap_val FILE GROUP NAME
snap_val() { awk -v g="$2" -v n="$3" '$1 == g && $2 == n { print $3 }' "$1"; }
# What moved between two snapshots: "group.name+delta ...".
snap_diff() {
	awk 'NR == FNR { b[$1 " " $2] = $3; next }
	     ($1 " " $2) in b && $3 != b[$1 " " $2] && $1 != "conn" {
		printf "%s.%s+%d ", $1, $2, $3 - b[$1 " " $2] }' "$1" "$2"
}

# Sum of a kernel SNMP counter (nstat name) over the real servers.
rs_nstat() {
	local ns sum=0 v
	for ns in $RS_NS; do
		v=$(ip netns exec "$ns" nstat -asz "$1" 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }')
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}
# "FRAG: inuse N" of a namespace's IPv4 reassembly.
frag_inuse() { ip netns exec "$1" cat /proc/net/sockstat | awk '$1 == "FRAG:" { print $3 }'; }
# rs_nth LIST NAME: the word of LIST at the position of NAME in $RS_NAMES.
rs_nth() {
	local i=0 n
	for n in $RS_NAMES; do
		i=$((i + 1))
		[ "$n" = "$2" ] && { set -- $1; eval echo "\${$i}"; return; }
	done
}
rs_ns_of() { rs_nth "$RS_NS" "$1"; }	# real server name (rsN) -> namespace
rs_ip_of() { rs_nth "$RS_IPS" "$1"; }	# -> its RIP

# hp CLASS: has hostile.py send a class; sets SENT (frames) and EXTRA.
hp() {
	local line
	echo "$1" >&"${HP[1]}"
	if ! read -r -t 20 line <&"${HP[0]}"; then
		SENT=0; EXTRA="(no answer from hostile.py)"; return 1
	fi
	set -- $line
	SENT=${3:-0}; shift 3 2>/dev/null; EXTRA="$*"
}
extra() { tr ' ' '\n' <<<"$EXTRA" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

# wait_grow SNAPSHOT GROUP NAME MIN: until the counter grew by >= MIN (2 s).
wait_grow() {
	local base n=20 v
	base=$(snap_val "$1" "$2" "$3")
	while :; do
		v=$(counter "$2" "$3")
		[ -n "$v" ] && [ $((v - ${base:-0})) -ge "$4" ] && return 0
		n=$((n - 1)); [ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# Expected totals per counter, for the end-of-mode check from xlbd's log.
declare -A EXPECT_TOTAL

run_class() {
	local name=$1 spec=$2 want g c k before=$T/before after=$T/after
	[ "$HAVE_COUNTERS" = 1 ] && counters_all >"$before"
	local csum_before="" dfr0 rfr0 ns
	case $name in
	frag_datagram)
		dfr0=$(frag_inuse "$DIRECTOR_NS"); rfr0=0
		for ns in $RS_NS; do rfr0=$((rfr0 + $(frag_inuse "$ns"))); done
		;;
	bad_ip_csum) csum_before=$(rs_nstat IpExtInCsumErrors) ;;
	bad_udp_csum) csum_before=$(rs_nstat UdpInCsumErrors) ;;
	bad_tcp_csum) csum_before=$(rs_nstat TcpInCsumErrors) ;;
	ip_options_bad) csum_before=$(rs_nstat IpInHdrErrors) ;;
	esac
	hp "$name" || { fail "[$MODE] $name: hostile.py answers"; return; }
	if [ "$spec" = "-" ]; then
		printf '  %-22s sent %-3s (the kernel refuses such frames) %s\n' "$name" "$SENT" "$EXTRA"
		check_eq "[$MODE] $name: not sendable from a packet socket" 0 "$SENT"
		return
	fi
	check "[$MODE] $name: frames sent" test "$SENT" -gt 0
	if [ "$spec" = lab ]; then
		printf '  %-22s sent %-3s (dropped by the lab switch before the director)\n' "$name" "$SENT"
		return
	fi
	for want in $spec; do
		case $want in
		*/*) [[ ",${want%%/*}," == *",$MODE,"* ]] || continue; want=${want#*/} ;;
		esac
		g=${want%%:*}; c=${want#*:}; k=$SENT
		case $c in *=*) k=${c#*=}; c=${c%%=*} ;; esac
		EXPECT_TOTAL["$g $c"]=$(( ${EXPECT_TOTAL["$g $c"]:-0} + k ))
		[ "$HAVE_COUNTERS" = 1 ] || continue
		if wait_grow "$before" "$g" "$c" "$k"; then
			ok "[$MODE] $name: '$g $c' grew by >= $k"
		else
			local now was
			now=$(counter "$g" "$c"); was=$(snap_val "$before" "$g" "$c")
			fail "[$MODE] $name: '$g $c' went from '$was' to '$now', want +$k or more"
		fi
	done
	if [ "$HAVE_COUNTERS" = 1 ]; then
		sleep 0.05
		counters_all >"$after"
		printf '  %-22s sent %-3s %s| %s\n' "$name" "$SENT" "$EXTRA" "$(snap_diff "$before" "$after")"
	else
		sleep 0.1
		printf '  %-22s sent %-3s %s\n' "$name" "$SENT" "$EXTRA"
	fi

	# What the class does beyond the director.
	case $name in
	ip_options)
		check "[$MODE] IP options (NOP/EOL): forwarded, a real server answers" \
			grep -q '^rs' <<<"$(extra answer_nop)"
		check "[$MODE] IP options (record route): forwarded, a real server answers" \
			grep -q '^rs' <<<"$(extra answer_rr)"
		;;
	icmp_genuine)
		local rs ns
		rs=$(extra answer); ns=$(rs_ns_of "$rs")
		check "[$MODE] the tracked UDP flow was answered (by $rs)" test -n "$ns"
		# The real server took the error for its own socket (RIP or VIP,
		# checksums and translated quote right): it lowered the path MTU
		# of its route to the client.
		# (The source of its replies: the VIP in DR and TUN, its RIP in NAT.)
		local src=$VIP
		[ "$MODE" = nat ] && src=$(rs_ip_of "$rs")
		[ -n "$ns" ] && check "[$MODE] frag-needed reached $rs, which learnt MTU 1300" \
			wait_for 2 bash -c "ip -n '$ns' route get '$CLIENT_IP' from '$src' | grep -q 'mtu 1300'"
		;;
	bad_ip_csum | bad_udp_csum | bad_tcp_csum | ip_options_bad)
		local which after_c
		case $name in
		ip_options_bad) which=IpInHdrErrors ;;
		bad_ip_csum) which=IpExtInCsumErrors ;;
		bad_udp_csum) which=UdpInCsumErrors ;;
		*) which=TcpInCsumErrors ;;
		esac
		sleep 0.2
		after_c=$(rs_nstat "$which")
		echo "    real servers' $which: $csum_before -> $after_c"
		check "[$MODE] $name: forwarded still bad, the real servers drop them ($which +$SENT)" \
			test $((after_c - csum_before)) -ge "$SENT"
		;;
	vlan)
		check_eq "[$MODE] tagged frames made no connection entry (conn created +0)" \
			"$(snap_val "$before" conn created)" "$(snap_val "$after" conn created)"
		;;
	frag_datagram)
		# The first fragment has the ports: it is scheduled (DR, NAT)
		# and waits, alone, in a real server's reassembly queue; in TUN
		# it no longer fits once encapsulated, and without DF it goes
		# in two outer fragments (tun_fragmented), which xlb's decap
		# program on the real server drops (an ipip kernel would
		# reassemble them, then queue the inner fragment). The later
		# fragments have no ports:
		# the XDP program passes them to the director's kernel, which
		# owns the VIP and queues them, never to see the first one.
		# Both queues time out (ipfrag_time): the datagram is lost.
		local dfr rfr=0 want_rs=1
		dfr=$(frag_inuse "$DIRECTOR_NS")
		for ns in $RS_NS; do rfr=$((rfr + $(frag_inuse "$ns"))); done
		[ "$MODE" = tun ] && want_rs=0
		echo "    reassembly queues: director $dfr0 -> $dfr, real servers $rfr0 -> $rfr; answer: $(extra answer)"
		check_eq "[$MODE] the later fragments wait in the director's reassembly queue" 1 $((dfr - dfr0))
		check_eq "[$MODE] real servers' reassembly queues holding the first fragment" "$want_rs" $((rfr - rfr0))
		check_eq "[$MODE] so a fragmented datagram to the VIP is lost" none "$(extra answer)"
		;;
	esac
}

run_mode() {
	MODE=$1
	local fwd rules log=$T/xlbd-$MODE.log i name spec
	echo "==== $MODE"
	lab_up "$MODE" || { fail "[$MODE] lab up"; return; }
	case $MODE in dr) fwd=-g ;; nat) fwd=-m ;; tun) fwd=-i ;; esac
	set -- $RS_IPS
	rules=$T/rules-$MODE
	{
		echo "-A -t $VIP:80 -s ring"
		for i in "$@"; do echo "-a -t $VIP:80 -r $i:80 $fwd -w 1"; done
		echo "-A -u $VIP:$UDP_PORT -s ring"
		for i in "$@"; do echo "-a -u $VIP:$UDP_PORT -r $i:$UDP_PORT $fwd -w 1"; done
	} >"$rules"
	local args=()
	for i in $DIRECTOR_IFS; do args+=(-i "$i"); done
	xlbd_start "$DIRECTOR_NS" "$S" "$log" "${args[@]}" --rules "$rules" ||
		{ fail "[$MODE] xlbd starts"; return; }

	# Warm up: next hops resolved, every server answering.
	C http "$VIP" 80 --count 6 >/dev/null
	C udp "$VIP" "$UDP_PORT" --count 6 >/dev/null

	EXPECT_TOTAL=()
	coproc HP { ip netns exec "$CLIENT_NS" /usr/bin/python3 "$HOSTILE" \
		--iface "$CLIENT_IF" --dmac "$DIRECTOR_MAC" --vip "$VIP" \
		--client-ip "$CLIENT_IP" --tcp-port 80 --udp-port "$UDP_PORT" \
		--count "$COUNT" --random "$RANDOM_FRAMES" 2>&1; }
	local hp_pid=$HP_PID ready=""
	read -r -t 20 ready <&"${HP[0]}"
	if [ "$ready" != ready ]; then
		fail "[$MODE] hostile.py starts: $ready"; kill_pid "$hp_pid"; return
	fi
	for i in "${CLASSES[@]}"; do
		read -r name spec <<<"$i"
		run_class "$name" "$spec"
	done
	echo quit >&"${HP[1]}"
	wait "$hp_pid" 2>/dev/null

	check "[$MODE] xlbd is alive after the hostile classes" kill -0 "$XLBD_PID"
	C http "$VIP" 80 --count 30 >"$T/after-$MODE.txt"
	check_eq "[$MODE] then 30 HTTP requests all succeed" 30 "$(grep -c ' rs[0-9]*$' "$T/after-$MODE.txt")"
	C udp "$VIP" "$UDP_PORT" --count 10 >"$T/after-udp-$MODE.txt"
	check_eq "[$MODE] and 10 UDP requests" 10 "$(grep -c ' rs[0-9]*$' "$T/after-udp-$MODE.txt")"

	if [ "$HAVE_COUNTERS" = 1 ]; then
		echo "  counters at the end ($MODE), non-zero:"
		counters_all | awk '$3 != 0 { printf "    %s %s %s\n", $1, $2, $3 }'
	fi
	kill_pid "$XLBD_PID"
	# xlbd logs its non-zero xdp/datapath counters when it stops: the
	# totals must cover what the classes sent (with or without --counters).
	local line k g c v
	line=$(grep -E 'datapath: |xdp: ' "$log" | tail -n 2 | tr '\n' ' ')
	echo "  xlbd's exit log: $line"
	for k in "${!EXPECT_TOTAL[@]}"; do
		g=${k% *}; c=${k#* }
		case $g in xdp | datapath) ;; *) continue ;; esac
		if [ "$c" = seen ]; then
			v=$(grep -oE '(passed|redirected|redirect_failed)=[0-9]+' <<<"${line#*xdp:}" |
				awk -F= '{ s += $2 } END { print s + 0 }')
		else
			v=$(grep -oE "$g:.*" <<<"$line" | sed 's/ xdp:.*//' | grep -oE "(^| )$c=[0-9]+" | cut -d= -f2)
		fi
		check "[$MODE] exit log: $g $c = ${v:-0} >= ${EXPECT_TOTAL[$k]}" test "${v:-0}" -ge "${EXPECT_TOTAL[$k]}"
	done
	"$ROOT/netns-lab/lab.sh" down --prefix "$P" --dir "$LABDIR" >/dev/null 2>&1
}

# Without --counters (an old xlbctl) the per-class checks cannot run: that
# is a failure; the totals from xlbd's exit log are still checked.
[ "$HAVE_COUNTERS" = 1 ] || fail "xlbctl has --counters (per-class checks skipped; exit-log totals only)"
for m in $MODES; do run_mode "$m"; done
