# shellcheck shell=bash
# Topology functions for netns-lab/lab.sh (sourced, bash). Everything lives
# in network namespaces named "$LAB_PREFIX-*"; the host's own interfaces are
# never touched. What a topology made is recorded under $LABDIR (namespace
# list, PID files, env) so that "down" undoes exactly that, even after a
# failed "up".
#
# Caller sets: LAB_PREFIX, LABDIR, LAB_SERVERS. Each mode M has topo_M_up;
# down and status are shared.

LAB_HTTP_PORT=80
LAB_UDP_PORT=5353
LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_DECAP_OBJ=${XLB_DECAP_OBJ:-${XLB_BUILD:-$LAB_ROOT/build}/xlb_decap.bpf.o}
LAB_PASS_OBJ=${XLB_PASS_OBJ:-${XLB_BUILD:-$LAB_ROOT/build}/bench/xdp_pass.bpf.o}

# 10.<x>.0.0/16 for this lab, x in 20..219 derived from the prefix, so labs
# with different prefixes also differ in addresses (handy in captures).
lab_octet() {
	echo $(( $(printf '%s' "$LAB_PREFIX" | cksum | cut -d' ' -f1) % 200 + 20 ))
}

lab_log() { echo "lab: $*"; }
lab_die() { echo "lab: error: $*" >&2; exit 1; }

# ns_add NAME: create a namespace and record it for "down".
ns_add() {
	ip netns add "$1" || lab_die "cannot create namespace $1"
	echo "$1" >>"$LABDIR/namespaces"
	ip -n "$1" link set lo up
}

# nsx NS cmd...: run in a namespace.
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# switch_add SW_NS BRIDGE...: the switch namespace and its bridges (one per
# L2 segment).
switch_add() {
	local sw=$1 br; shift
	ns_add "$sw"
	for br in "$@"; do
		ip -n "$sw" link add "$br" type bridge
		ip -n "$sw" link set "$br" up
		# Bridge ports forward at once (no STP listening delay).
		ip -n "$sw" link set "$br" type bridge stp_state 0 forward_delay 0 2>/dev/null || true
	done
}

# veth_to_switch NS IF SW_NS SW_IF [BRIDGE [QUEUES]]: a veth from NS (IF) to
# a bridge (default br0) of the switch namespace (SW_IF), both ends with
# QUEUES (default 1) RX and TX queues. Checksum offload is turned off on the
# NS end: AF_XDP and XDP see the bytes as they are, and a TCP checksum left
# for offload would travel unfinished through the director.
veth_to_switch() {
	local ns=$1 ifn=$2 sw=$3 swif=$4 br=${5:-br0} nq=${6:-1} q=()
	[ "$nq" = 1 ] || q=(numtxqueues "$nq" numrxqueues "$nq")
	ip link add "$ifn" "${q[@]}" netns "$ns" type veth \
		peer name "$swif" "${q[@]}" netns "$sw" ||
		lab_die "cannot create veth $ifn <-> $swif"
	ip -n "$sw" link set "$swif" master "$br" up
	nsx "$ns" ethtool -K "$ifn" tx off >/dev/null 2>&1 || true
	ip -n "$ns" link set "$ifn" up
}

# peer_napi SW_NS SWIF: NAPI on a switch-side peer of a director veth, so
# frames XDP-redirected or XDP_TX'd out of the director's veth are neither
# dropped nor held (AF_XDP TX in copy mode goes through the stack and needs
# none of this). GRO gives NAPI; a veth wakes its peer's NAPI after XDP_TX
# only when the peer has an XDP program, so a pass-everything one goes on
# too when it is built: on single-queue peers only, since a veth with an
# XDP program refuses fewer RX queues than its peer has TX queues, which
# would stop the queue tests' `ethtool -L` (those labs are two-armed: their
# fast-path hits are redirected, which wakes the peer anyway).
peer_napi() {
	local sw=$1 swif=$2 nq=${3:-1}
	nsx "$sw" ethtool -K "$swif" gro on >/dev/null 2>&1 || true
	if [ -f "$LAB_PASS_OBJ" ] && [ "$nq" = 1 ]; then
		ip -n "$sw" link set dev "$swif" xdp obj "$LAB_PASS_OBJ" sec xdp ||
			lab_log "cannot attach $LAB_PASS_OBJ to $sw/$swif (XDP_TX frames may stall)"
	fi
}

# bg_start PIDFILE NS cmd...: a long-running process in a namespace, its PID
# (the command's own: nohup and ip netns exec both exec) kept for "down".
bg_start() {
	local pidfile=$1 ns=$2; shift 2
	nohup ip netns exec "$ns" "$@" >/dev/null 2>&1 </dev/null &
	echo $! >"$pidfile"
	echo "$pidfile" >>"$LABDIR/pidfiles"
}

# rs_http_start NS DIR NAME: nginx (nginx-light) serving DIR/www on :80;
# python3's http.server only when nginx is not installed.
rs_http_start() {
	local ns=$1 d=$2 name=$3 nginx listen6=
	nginx=$(command -v nginx || echo /usr/sbin/nginx)
	# The IPv6 topologies (dr6, nat6, tun6) serve on [::]:80 as well.
	[ "${LAB_IPV6:-0}" = 0 ] || listen6="listen [::]:$LAB_HTTP_PORT default_server reuseport ipv6only=on;"
	if [ -x "$nginx" ]; then
		mkdir -p "$d/tmp"
		cat >"$d/nginx.conf" <<-EOF
		# $name of lab $LAB_PREFIX: every path absolute, nothing in /var.
		daemon off;
		master_process on;
		worker_processes 1;
		user root;
		pid $d/nginx.pid;
		error_log $d/error.log warn;
		events { worker_connections 512; }
		http {
		    access_log $d/access.log;
		    client_body_temp_path $d/tmp/body;
		    proxy_temp_path $d/tmp/proxy;
		    fastcgi_temp_path $d/tmp/fastcgi;
		    uwsgi_temp_path $d/tmp/uwsgi;
		    scgi_temp_path $d/tmp/scgi;
		    default_type application/octet-stream;
		    types { text/plain txt html; }
		    keepalive_timeout 5;
		    server {
		        listen $LAB_HTTP_PORT default_server reuseport;
		        $listen6
		        root $d/www;
		        index index.html;
		    }
		}
		EOF
		bg_start "$d/http.pid" "$ns" "$nginx" -p "$d" -e "$d/error.log" -c "$d/nginx.conf"
	else
		lab_log "nginx not found: $name serves with python3 -m http.server"
		bg_start "$d/http.pid" "$ns" /usr/bin/python3 -m http.server \
			"$LAB_HTTP_PORT" --directory "$d/www"
	fi
}

# rs_udp_start NS DIR NAME ADDR TAG: answers every datagram to
# ADDR:$LAB_UDP_PORT with "NAME\n". Bound to the address, so replies leave
# from it (the VIP in DR and TUN, where the real server answers the client
# directly). One process, no fork per datagram: socat's UDP-RECVFROM,fork
# lost some replies here.
rs_udp_start() {
	local ns=$1 d=$2 name=$3 addr=$4 tag=$5
	bg_start "$d/udp-$tag.pid" "$ns" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
reply = (sys.argv[3] + "\n").encode()
while True:
    _, peer = s.recvfrom(65535)
    s.sendto(reply, peer)
' "$addr" "$LAB_UDP_PORT" "$name"
}

# rs_www DIR NAME: what a real server serves: / -> "NAME\n", /1M.bin (the
# same 1 MiB on every server: $LABDIR/1M.bin).
rs_www() {
	local d=$1 name=$2
	mkdir -p "$d/www"
	printf '%s\n' "$name" >"$d/www/index.html"
	printf '%s\n' "$name" >"$d/www/name.txt"
	cp "$LABDIR/1M.bin" "$d/www/1M.bin"
	chmod -R a+rX "$d"
}

# rs_dr_config NS IF VIP: the kernel's IPVS DR selftest setup: VIP on lo,
# never answer ARP for it (arp_ignore=1), never announce it (arp_announce=2),
# accept packets whose source route points elsewhere (rp_filter=0).
rs_vip_config() {
	local ns=$1 ifn=$2 vip=$3 k
	ip -n "$ns" addr add "$vip/32" dev lo
	for k in all "$ifn"; do
		nsx "$ns" sysctl -qw net.ipv4.conf.$k.arp_ignore=1
		nsx "$ns" sysctl -qw net.ipv4.conf.$k.arp_announce=2
	done
	for k in all default lo "$ifn"; do
		nsx "$ns" sysctl -qw net.ipv4.conf.$k.rp_filter=0
	done
}

mac_of() { ip -n "$1" -o link show "$2" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'; }

# DR: client, director and real servers on one L2 segment (a bridge in the
# switch namespace), 10.<x>.1.0/24.
topo_dr_up() {
	local x sub sw cl dir i ns ifn ip d rs_ns="" rs_ips="" rs_ifs="" rs_macs="" rs_names=""
	x=$(lab_octet)
	sub=10.$x.1
	sw=$LAB_PREFIX-sw cl=$LAB_PREFIX-cl dir=$LAB_PREFIX-dir

	head -c $((1 << 20)) /dev/urandom >"$LABDIR/1M.bin"

	ns_add "$sw"
	ip -n "$sw" link add br0 type bridge
	ip -n "$sw" link set br0 up
	# Bridge ports forward at once (no STP listening delay).
	ip -n "$sw" link set br0 type bridge stp_state 0 forward_delay 0 2>/dev/null || true

	ns_add "$cl"
	veth_to_switch "$cl" "${LAB_PREFIX}c0" "$sw" "${LAB_PREFIX}cs"
	ip -n "$cl" addr add "$sub.50/24" dev "${LAB_PREFIX}c0"

	ns_add "$dir"
	veth_to_switch "$dir" "${LAB_PREFIX}d0" "$sw" "${LAB_PREFIX}ds"
	ip -n "$dir" addr add "$sub.2/24" dev "${LAB_PREFIX}d0"
	ip -n "$dir" addr add "$sub.100/32" dev "${LAB_PREFIX}d0"
	# Only xlb may deliver: the director's kernel does not forward.
	nsx "$dir" sysctl -qw net.ipv4.ip_forward=0
	# NAPI on the switch-side peer, so frames XDP-redirected or XDP_TX'd
	# out of the director's veth are not dropped (AF_XDP TX in copy mode
	# goes through the stack and needs none of this).
	peer_napi "$sw" "${LAB_PREFIX}ds"

	for i in $(seq 1 "$LAB_SERVERS"); do
		ns=$LAB_PREFIX-rs$i ifn=${LAB_PREFIX}r$i ip=$sub.$((10 + i))
		d=$LABDIR/rs$i
		mkdir -p "$d"
		ns_add "$ns"
		veth_to_switch "$ns" "$ifn" "$sw" "${LAB_PREFIX}r${i}s"
		ip -n "$ns" addr add "$ip/24" dev "$ifn"
		rs_vip_config "$ns" "$ifn" "$sub.100"
		rs_www "$d" "rs$i"
		rs_http_start "$ns" "$d" "rs$i"
		rs_udp_start "$ns" "$d" "rs$i" "$sub.100" vip
		rs_udp_start "$ns" "$d" "rs$i" "$ip" rip
		rs_ns="$rs_ns $ns" rs_ips="$rs_ips $ip" rs_ifs="$rs_ifs $ifn"
		rs_macs="$rs_macs $(mac_of "$ns" "$ifn")" rs_names="$rs_names rs$i"
	done

	cat >"$LABDIR/env" <<-EOF
	# netns-lab $LAB_PREFIX (dr): source this file.
	LAB_MODE=dr
	LAB_PREFIX=$LAB_PREFIX
	LABDIR=$LABDIR
	SUBNET=$sub.0/24
	SWITCH_NS=$sw
	CLIENT_NS=$cl
	CLIENT_IF=${LAB_PREFIX}c0
	CLIENT_IP=$sub.50
	DIRECTOR_NS=$dir
	DIRECTOR_IF=${LAB_PREFIX}d0
	DIRECTOR_IFS=${LAB_PREFIX}d0
	DIRECTOR_IP=$sub.2
	DIRECTOR_MAC=$(mac_of "$dir" "${LAB_PREFIX}d0")
	VIP=$sub.100
	HTTP_PORT=$LAB_HTTP_PORT
	UDP_PORT=$LAB_UDP_PORT
	N_SERVERS=$LAB_SERVERS
	RS_NS="${rs_ns# }"
	RS_IPS="${rs_ips# }"
	RS_IFS="${rs_ifs# }"
	RS_MACS="${rs_macs# }"
	RS_NAMES="${rs_names# }"
	BIG_FILE=/1M.bin
	BIG_FILE_LOCAL=$LABDIR/1M.bin
	EOF
}

# rs_if_config NS IF: an interface of a DR/TUN real server that must never
# answer or announce ARP for the VIP on lo, and must accept packets whose
# reverse route leaves by another interface.
rs_if_config() {
	local ns=$1 ifn=$2
	nsx "$ns" sysctl -qw net.ipv4.conf.$ifn.arp_ignore=1
	nsx "$ns" sysctl -qw net.ipv4.conf.$ifn.arp_announce=2
	nsx "$ns" sysctl -qw net.ipv4.conf.$ifn.rp_filter=0
}

# The decapsulation a TUN real server uses, printed: "xdp" (xlb's
# xlb_decap.bpf.o on the tunnel-side interface; this lab's default, and the
# only choice on a kernel without ipip) or "ipip" (the kernel's tunl0).
# XLB_LAB_DECAP=xdp|ipip|auto (default auto: xdp when the object is built,
# else ipip when "modprobe ipip" works).
tun_decap_mode() {
	case ${XLB_LAB_DECAP:-auto} in
	xdp)
		[ -f "$LAB_DECAP_OBJ" ] || lab_die "$LAB_DECAP_OBJ missing (run make)"
		echo xdp ;;
	ipip)
		modprobe -q ipip 2>/dev/null || lab_die "XLB_LAB_DECAP=ipip: no ipip module"
		echo ipip ;;
	auto)
		if [ -f "$LAB_DECAP_OBJ" ]; then
			echo xdp
		elif modprobe -q ipip 2>/dev/null; then
			echo ipip
		else
			lab_die "TUN: no decapsulation: $LAB_DECAP_OBJ missing (run make) and no ipip module"
		fi ;;
	*)
		lab_die "XLB_LAB_DECAP: xdp, ipip or auto" ;;
	esac
}

# rs_decap_config NS IF MODE: make a TUN real server take IP-in-IP packets
# arriving on IF. With xdp the inner packet comes up the stack on IF itself
# (the program strips the outer header and passes); with ipip it comes up on
# tunl0, which exists in every namespace once the module is loaded.
rs_decap_config() {
	local ns=$1 ifn=$2 mode=$3
	case $mode in
	xdp)
		ip -n "$ns" link set dev "$ifn" xdp obj "$LAB_DECAP_OBJ" sec xdp ||
			lab_die "cannot attach $LAB_DECAP_OBJ to $ns/$ifn"
		;;
	ipip)
		ip -n "$ns" link set tunl0 up || lab_die "no tunl0 in $ns"
		rs_if_config "$ns" tunl0
		;;
	esac
}

# Shared by NAT and TUN: the client network 10.x.1.0/24 on br0 (client .50,
# director .2 and the VIP .100/32 on its client-facing interface) and the
# real servers' network 10.x.2.0/24 (director .1) on br1, or, one-armed
# (arms=1, NAT only), on br0 as well with the director's .1 on its only
# interface. The client routes the real servers' network via the director,
# so "the client cannot reach a RIP" shows that the director does not
# forward (ip_forward=0: only xlb may deliver).
# Sets the caller's x csub rsub sw cl dir dif_c dif_r rs_br.
front_up() {
	local arms=$1
	x=$(lab_octet)
	csub=10.$x.1 rsub=10.$x.2
	sw=$LAB_PREFIX-sw cl=$LAB_PREFIX-cl dir=$LAB_PREFIX-dir
	dif_c=${LAB_PREFIX}d0

	head -c $((1 << 20)) /dev/urandom >"$LABDIR/1M.bin"

	if [ "$arms" = 1 ]; then
		switch_add "$sw" br0
		rs_br=br0
	else
		switch_add "$sw" br0 br1
		rs_br=br1
	fi

	ns_add "$cl"
	veth_to_switch "$cl" "${LAB_PREFIX}c0" "$sw" "${LAB_PREFIX}cs"
	ip -n "$cl" addr add "$csub.50/24" dev "${LAB_PREFIX}c0"
	ip -n "$cl" route add "$rsub.0/24" via "$csub.2"

	# LAB_CLIENT_QUEUES (lab.sh --client-queues): the director's client-side
	# veth pair gets that many queues. A veth receives on the queue its peer
	# transmitted on, and the bridge picks the peer's TX queue by the flow's
	# hash (the client's veth has one queue, so none is recorded): flows
	# spread over the director's client-side RX queues as RSS would.
	ns_add "$dir"
	veth_to_switch "$dir" "$dif_c" "$sw" "${LAB_PREFIX}ds" br0 "${LAB_CLIENT_QUEUES:-1}"
	ip -n "$dir" addr add "$csub.2/24" dev "$dif_c"
	ip -n "$dir" addr add "$csub.100/32" dev "$dif_c"
	if [ "$arms" = 1 ]; then
		dif_r=$dif_c
	else
		dif_r=${LAB_PREFIX}d1
		veth_to_switch "$dir" "$dif_r" "$sw" "${LAB_PREFIX}d1s" br1
		peer_napi "$sw" "${LAB_PREFIX}d1s"
	fi
	ip -n "$dir" addr add "$rsub.1/24" dev "$dif_r"
	nsx "$dir" sysctl -qw net.ipv4.ip_forward=0
	# NAPI on the switch-side peers, as in DR (XDP-redirected frames).
	peer_napi "$sw" "${LAB_PREFIX}ds" "${LAB_CLIENT_QUEUES:-1}"
}

# front_env MODE: the env lines NAT and TUN share.
front_env() {
	local dirs
	dirs=$dif_c
	[ "$dif_r" = "$dif_c" ] || dirs="$dif_c $dif_r"
	cat <<-EOF
	# netns-lab $LAB_PREFIX ($1): source this file.
	LAB_MODE=$1
	LAB_PREFIX=$LAB_PREFIX
	LABDIR=$LABDIR
	SUBNET=$csub.0/24
	CLIENT_NET=$csub.0/24
	RS_NET=$rsub.0/24
	SWITCH_NS=$sw
	CLIENT_NS=$cl
	CLIENT_IF=${LAB_PREFIX}c0
	CLIENT_IP=$csub.50
	CLIENT_MAC=$(mac_of "$cl" "${LAB_PREFIX}c0")
	DIRECTOR_NS=$dir
	DIRECTOR_IF=$dif_c
	DIRECTOR_IFS="$dirs"
	DIRECTOR_IF_CLIENT=$dif_c
	DIRECTOR_IF_RS=$dif_r
	DIRECTOR_IP=$csub.2
	DIRECTOR_IP_RS=$rsub.1
	DIRECTOR_MAC=$(mac_of "$dir" "$dif_c")
	DIRECTOR_MAC_RS=$(mac_of "$dir" "$dif_r")
	VIP=$csub.100
	HTTP_PORT=$LAB_HTTP_PORT
	UDP_PORT=$LAB_UDP_PORT
	N_SERVERS=$LAB_SERVERS
	RS_NS="${rs_ns# }"
	RS_IPS="${rs_ips# }"
	RS_IFS="${rs_ifs# }"
	RS_MACS="${rs_macs# }"
	RS_NAMES="${rs_names# }"
	RS_SWITCH_IFS="${rs_swifs# }"
	BIG_FILE=/1M.bin
	BIG_FILE_LOCAL=$LABDIR/1M.bin
	EOF
}

# NAT: real servers on their own network behind the director (two-armed by
# default; LAB_ARMS=1 puts both networks on one bridge and the director on
# one interface). Their default route is the director's address on that
# network, so replies come back through xlb, which rewrites RIP -> VIP.
topo_nat_up() {
	local x csub rsub sw cl dir dif_c dif_r rs_br i ns ifn ip d
	local rs_ns="" rs_ips="" rs_ifs="" rs_macs="" rs_names="" rs_swifs=""
	front_up "${LAB_ARMS:-2}"

	for i in $(seq 1 "$LAB_SERVERS"); do
		ns=$LAB_PREFIX-rs$i ifn=${LAB_PREFIX}r$i ip=$rsub.$((10 + i))
		d=$LABDIR/rs$i
		mkdir -p "$d"
		ns_add "$ns"
		veth_to_switch "$ns" "$ifn" "$sw" "${LAB_PREFIX}r${i}s" "$rs_br"
		ip -n "$ns" addr add "$ip/24" dev "$ifn"
		ip -n "$ns" route add default via "$rsub.1"
		rs_www "$d" "rs$i"
		rs_http_start "$ns" "$d" "rs$i"
		rs_udp_start "$ns" "$d" "rs$i" "$ip" rip
		rs_ns="$rs_ns $ns" rs_ips="$rs_ips $ip" rs_ifs="$rs_ifs $ifn"
		rs_macs="$rs_macs $(mac_of "$ns" "$ifn")" rs_names="$rs_names rs$i"
		rs_swifs="$rs_swifs ${LAB_PREFIX}r${i}s"
	done

	{
		front_env nat
		echo "NAT_ARMS=${LAB_ARMS:-2}"
	} >"$LABDIR/env"
}

# TUN: the director reaches the real servers over the tunnel network
# (10.x.2.0/24, br1) only; each real server also has a leg on the client
# network (10.x.1.1N) and answers the client over it, from the VIP on lo.
topo_tun_up() {
	local x csub rsub sw cl dir dif_c dif_r rs_br i ns ifn cifn ip cip d mode
	local rs_ns="" rs_ips="" rs_ifs="" rs_macs="" rs_names="" rs_swifs=""
	local rs_cifs="" rs_cips=""
	mode=$(tun_decap_mode)
	[ "${LAB_ARMS:-2}" = 2 ] || lab_die "TUN is two-armed only"
	front_up 2

	for i in $(seq 1 "$LAB_SERVERS"); do
		ns=$LAB_PREFIX-rs$i ifn=${LAB_PREFIX}r$i ip=$rsub.$((10 + i))
		cifn=${LAB_PREFIX}r${i}c cip=$csub.$((10 + i))
		d=$LABDIR/rs$i
		mkdir -p "$d"
		ns_add "$ns"
		veth_to_switch "$ns" "$ifn" "$sw" "${LAB_PREFIX}r${i}s" br1
		ip -n "$ns" addr add "$ip/24" dev "$ifn"
		veth_to_switch "$ns" "$cifn" "$sw" "${LAB_PREFIX}r${i}cs" br0
		ip -n "$ns" addr add "$cip/24" dev "$cifn"
		# The connected route already reaches the client over the leg;
		# the host route says so whatever the client network becomes.
		ip -n "$ns" route add "$csub.50/32" dev "$cifn" src "$cip"
		rs_vip_config "$ns" "$ifn" "$csub.100"
		rs_if_config "$ns" "$cifn"
		rs_decap_config "$ns" "$ifn" "$mode"
		rs_www "$d" "rs$i"
		rs_http_start "$ns" "$d" "rs$i"
		rs_udp_start "$ns" "$d" "rs$i" "$csub.100" vip
		rs_udp_start "$ns" "$d" "rs$i" "$ip" rip
		rs_ns="$rs_ns $ns" rs_ips="$rs_ips $ip" rs_ifs="$rs_ifs $ifn"
		rs_macs="$rs_macs $(mac_of "$ns" "$ifn")" rs_names="$rs_names rs$i"
		rs_swifs="$rs_swifs ${LAB_PREFIX}r${i}s"
		rs_cifs="$rs_cifs $cifn" rs_cips="$rs_cips $cip"
	done

	{
		front_env tun
		echo "RS_CLIENT_IFS=\"${rs_cifs# }\""
		echo "RS_CLIENT_IPS=\"${rs_cips# }\""
		echo "RS_DECAP=$mode"
		echo "DECAP_OBJ=$LAB_DECAP_OBJ"
	} >"$LABDIR/env"
}

# ---- IPv6, dual stack (issue 14): dr6, nat6, tun6 ----
#
# Each is its IPv4 topology (same namespaces, same IPv4 service addresses)
# plus IPv6 on top, so one director serves an IPv4 and an IPv6 service:
#   client network  fd00:<h>:1::/64  client ::50, director ::2, VIP6 ::100
#   servers network fd00:<h>:2::/64  director ::1 (NAT6, TUN6)
#   real server i   ::(10+i) on its network (DR6: the client network)
# <h> comes from the prefix as the IPv4 10.<x> octet does (unique per run).
# Every address is added with nodad (no 1 s of "tentative"); the
# director's IPv6 forwarding is off (net.ipv6.conf.all.forwarding=0): only
# xlb may deliver. DR6/TUN6 real servers hold VIP6/128 on lo: IPv6 has no
# arp_ignore, but the kernel answers a neighbour solicitation only for an
# address on the interface it arrived on (ndisc_recv_ns looks the target up
# with ipv6_get_ifaddr(..., dev, strict)), so a /128 on lo is never
# advertised (tests/lab/test_dr6.sh checks that only the director answers).

# lab_hex6: the 16-bit hex group of this lab's IPv6 prefix fd00:<h>::/32.
lab_hex6() {
	printf '%x' $(( $(printf '%s6' "$LAB_PREFIX" | cksum | cut -d' ' -f1) % 65535 + 1 ))
}

# addr6 NS IF ADDR/LEN: an IPv6 address, usable at once.
addr6() { ip -n "$1" -6 addr add "$3" dev "$2" nodad || lab_die "cannot add $3 to $1/$2"; }

# v6_ns_config NS: IPv6 on in NS (a host may default it off), no router
# advertisements taken (nothing in the lab sends any, but a stray one must
# not add routes).
v6_ns_config() {
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
}

# v6_director DIF_C DIF_R: the director's IPv6: ::2/64 and VIP6/128 on the
# client side (the kernel answers neighbour solicitations for the VIP, as
# it answers ARP for the IPv4 VIP; deprecated, see below), ::1/64 on the servers' side when there
# is one; forwarding off.
v6_director() {
	local dif_c=$1 dif_r=${2:-}
	v6_ns_config "$DIRECTOR_NS"
	addr6 "$DIRECTOR_NS" "$dif_c" "$p6:1::2/64"
	# preferred_lft 0: never picked as a source (the director's own
	# traffic to a real server from VIP6 would be dropped there as a
	# martian, its own address); it still receives.
	ip -n "$DIRECTOR_NS" -6 addr add "$p6:1::100/128" dev "$dif_c" nodad preferred_lft 0 ||
		lab_die "cannot add VIP6 to $DIRECTOR_NS/$dif_c"
	[ -z "$dif_r" ] || addr6 "$DIRECTOR_NS" "$dif_r" "$p6:2::1/64"
	nsx "$DIRECTOR_NS" sysctl -qw net.ipv6.conf.all.forwarding=0 net.ipv6.conf.default.forwarding=0
}

# v6_env MODE RS_IPS6: the IPv6 lines of $LABDIR/env (appended: LAB_MODE
# given again wins when the file is sourced).
v6_env() {
	cat >>"$LABDIR/env" <<-EOF
	# IPv6 (dual stack: the IPv4 names above still hold)
	LAB_MODE=$1
	LAB_IPV6=1
	PREFIX6=$p6::/32
	SUBNET6=$p6:1::/64
	CLIENT_NET6=$p6:1::/64
	RS_NET6=$p6:2::/64
	CLIENT_IP6=$p6:1::50
	DIRECTOR_IP6=$p6:1::2
	DIRECTOR_IP6_RS=$p6:2::1
	VIP6=$p6:1::100
	RS_IPS6="${2# }"
	EOF
}

# v6_client [ROUTE_VIA]: the client's address (and a route to the real
# servers' network via the director, which it cannot use while the
# director does not forward).
v6_client() {
	v6_ns_config "$CLIENT_NS"
	addr6 "$CLIENT_NS" "$CLIENT_IF" "$p6:1::50/64"
	[ -z "${1:-}" ] || ip -n "$CLIENT_NS" -6 route add "$p6:2::/64" via "$1"
}

topo_dr6_up() {
	local p6 i ns ifn ip6 rs_ips6=""
	LAB_IPV6=1
	topo_dr_up
	. "$LABDIR/env"
	p6=fd00:$(lab_hex6)
	v6_director "$DIRECTOR_IF"
	v6_client
	set -- $RS_IFS
	i=0
	for ns in $RS_NS; do
		i=$((i + 1)) ifn=$1; shift
		ip6=$p6:1::$((10 + i))
		v6_ns_config "$ns"
		addr6 "$ns" "$ifn" "$ip6/64"
		addr6 "$ns" lo "$p6:1::100/128"
		rs_udp_start "$ns" "$LABDIR/rs$i" "rs$i" "$p6:1::100" vip6
		rs_udp_start "$ns" "$LABDIR/rs$i" "rs$i" "$ip6" rip6
		rs_ips6="$rs_ips6 $ip6"
	done
	v6_env dr6 "$rs_ips6"
}

topo_nat6_up() {
	local p6 i ns ifn ip6 rs_ips6="" via
	LAB_IPV6=1
	topo_nat_up
	. "$LABDIR/env"
	p6=fd00:$(lab_hex6)
	v6_director "$DIRECTOR_IF_CLIENT" "$DIRECTOR_IF_RS"
	# One-armed: the servers' /64 is on the client's segment too, and the
	# client must still go through the director (never on-link).
	v6_client "$p6:1::2"
	set -- $RS_IFS
	i=0
	for ns in $RS_NS; do
		i=$((i + 1)) ifn=$1; shift
		ip6=$p6:2::$((10 + i))
		v6_ns_config "$ns"
		addr6 "$ns" "$ifn" "$ip6/64"
		# Replies go back through xlb, which rewrites RIP6 -> VIP6.
		via=$p6:2::1
		ip -n "$ns" -6 route add default via "$via" dev "$ifn"
		rs_udp_start "$ns" "$LABDIR/rs$i" "rs$i" "$ip6" rip6
		rs_ips6="$rs_ips6 $ip6"
	done
	v6_env nat6 "$rs_ips6"
}

topo_tun6_up() {
	local p6 i ns ifn cifn ip6 rs_ips6="" rs_cips6=""
	LAB_IPV6=1
	[ "$(tun_decap_mode)" = xdp ] ||
		lab_die "tun6: real servers decapsulate ip6ip6 with $LAB_DECAP_OBJ only (run make; no ip6tnl here)"
	topo_tun_up
	. "$LABDIR/env"
	p6=fd00:$(lab_hex6)
	v6_director "$DIRECTOR_IF_CLIENT" "$DIRECTOR_IF_RS"
	v6_client "$p6:1::2"
	set -- $RS_IFS
	local cifs; read -r -a cifs <<<"$RS_CLIENT_IFS"
	i=0
	for ns in $RS_NS; do
		i=$((i + 1)) ifn=$1; shift
		cifn=${cifs[$((i - 1))]}
		ip6=$p6:2::$((10 + i))
		v6_ns_config "$ns"
		addr6 "$ns" "$ifn" "$ip6/64"
		addr6 "$ns" "$cifn" "$p6:1::$((10 + i))/64"
		addr6 "$ns" lo "$p6:1::100/128"
		# Answers to the client leave by the client leg, from VIP6.
		ip -n "$ns" -6 route add "$p6:1::50/128" dev "$cifn"
		# xlb_decap (attached by topo_tun_up) takes ip6ip6 (next header
		# 41) and IPv4-in-IPv6 off the tunnel interface as well.
		rs_udp_start "$ns" "$LABDIR/rs$i" "rs$i" "$p6:1::100" vip6
		rs_udp_start "$ns" "$LABDIR/rs$i" "rs$i" "$ip6" rip6
		rs_ips6="$rs_ips6 $ip6" rs_cips6="$rs_cips6 $p6:1::$((10 + i))"
	done
	v6_env tun6 "$rs_ips6"
	echo "RS_CLIENT_IPS6=\"${rs_cips6# }\"" >>"$LABDIR/env"
}

# Waits until every real server answers HTTP and UDP on its own address.
# switch_plain: make the switch namespace a plain wire, so frames reach the
# director as they were sent (hostile-packet tests depend on it):
# br_netfilter, on in new namespaces when loaded, drops bridged IPv4 with a
# bad header (br_validate_ipv4); and the switch ports take 802.1Q tags out
# of the frame and, with TX VLAN offload, never put them back.
switch_plain() {
	local sw=$1 i
	nsx "$sw" sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 \
		net.bridge.bridge-nf-call-arptables=0 >/dev/null 2>&1 || true
	for i in $(ip -n "$sw" -o link show | awk -F': ' '$2 != "lo" { sub(/@.*/, "", $2); print $2 }'); do
		nsx "$sw" ethtool -K "$i" txvlan off tx-vlan-stag-hw-insert off >/dev/null 2>&1 || true
	done
}

topo_wait_ready() {
	local i=0 ns ip ok probe
	. "$LABDIR/env"
	switch_plain "$SWITCH_NS"
	# In NAT and TUN only the director reaches the real servers' network.
	probe=$CLIENT_NS
	[ "${LAB_MODE%6}" = dr ] || probe=$DIRECTOR_NS
	set -- $RS_NS
	for ip in $RS_IPS; do
		ns=$1; shift
		ok=0
		for i in $(seq 1 50); do
			if nsx "$probe" curl -s -m 1 -o /dev/null "http://$ip:$HTTP_PORT/" &&
			   nsx "$ns" ss -Hulpn | grep -q ":$UDP_PORT "; then
				ok=1; break
			fi
			sleep 0.1
		done
		[ "$ok" = 1 ] || lab_die "real server $ns ($ip) does not answer"
	done
	# IPv6 topologies: each server's nginx on [RIP6]:80 too (the
	# director reaches every real server's IPv6 address).
	set -- $RS_NS
	for ip in ${RS_IPS6:-}; do
		ns=$1; shift
		ok=0
		for i in $(seq 1 50); do
			if nsx "$DIRECTOR_NS" curl -6 -g -s -m 1 -o /dev/null "http://[$ip]:$HTTP_PORT/" &&
			   nsx "$ns" ss -Hulpn | grep -q "\]:$UDP_PORT "; then
				ok=1; break
			fi
			sleep 0.1
		done
		[ "$ok" = 1 ] || lab_die "real server $ns ([$ip]) does not answer over IPv6"
	done
}

# Stops what the lab started (by PID) and deletes its namespaces; safe to
# run twice and after a half-finished "up".
topo_down() {
	local f pid ns
	if [ -f "$LABDIR/pidfiles" ]; then
		while read -r f; do
			pid=$(cat "$f" 2>/dev/null) || continue
			[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
		done <"$LABDIR/pidfiles"
	fi
	# Namespaces: those recorded, plus any left with this prefix.
	{ cat "$LABDIR/namespaces" 2>/dev/null || true
	  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$LAB_PREFIX-[a-z0-9]+$"
	} | sort -u | while read -r ns; do
		[ -n "$ns" ] || continue
		ip netns list | awk '{print $1}' | grep -qx "$ns" || continue
		# Anything else still running in a namespace of ours is ours too.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$LABDIR"
}

topo_status() {
	local ns br pid found=0
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_PREFIX-" | sort); do
		found=1
		printf '%-16s %s\n' "$ns" "$(ip -4 -n "$ns" -br addr show | grep -v '^lo ' | awk '{sub(/@.*/, "", $1); printf "%s", $1; for (i = 3; i <= NF; i++) printf " %s", $i; printf "  "}')"
		if [ "$ns" = "$LAB_PREFIX-sw" ]; then
			for br in $(ip -n "$ns" -o link show type bridge | awk -F': ' '{print $2}'); do
				echo "                 $br: $(ip -n "$ns" -br link show master "$br" | awk '{sub(/@.*/, "", $1); printf "%s ", $1}')"
			done
		fi
		ip -n "$ns" -o link show | awk '/ xdp/ {sub(/@.*/, "", $2); print "                 xdp on " $2}' | tr -d :
		ip -4 -n "$ns" -br addr show lo | awk '{for (i = 3; i <= NF; i++) if ($i != "127.0.0.1/8") print "                 lo " $i}'
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			printf '                 pid %s %s\n' "$pid" "$(tr '\0\n' '  ' </proc/$pid/cmdline 2>/dev/null | tr -s ' ' | cut -c1-70)"
		done
	done
	if [ "$found" = 0 ]; then
		echo "lab $LAB_PREFIX: not up"
		return 1
	fi
	if [ -f "$LABDIR/env" ]; then
		echo "env: $LABDIR/env"
		. "$LABDIR/env"
		echo "mode: $LAB_MODE"
		if [ "$LAB_MODE" = ecmp ]; then
			echo "directors: $(sed 's/^/d/' "$LABDIR/directors" | xargs) ($ROUTING, announcing: $ANNOUNCE), VIPs $VIPS, client $CLIENT_NS ($CLIENT_IP)"
			echo "router $ROUTER_NS:"
			ip -n "$ROUTER_NS" route show proto bird | sed 's/^/  /'
			echo "real servers: $RS_NAMES / $RS_IPS"
			return 0
		fi
		echo "director: $DIRECTOR_NS $DIRECTOR_IF ($DIRECTOR_IP), VIP $VIP, client $CLIENT_NS ($CLIENT_IP)"
		[ "${LAB_MODE%6}" = dr ] ||
			echo "director, real servers' side: $DIRECTOR_IF_RS ($DIRECTOR_IP_RS), RS network $RS_NET"
		echo "real servers: $RS_NAMES / $RS_IPS"
		[ -z "${VIP6:-}" ] || echo "IPv6: VIP6 $VIP6, client $CLIENT_IP6, director $DIRECTOR_IP6, real servers $RS_IPS6"
		[ "${LAB_MODE%6}" != tun ] ||
			echo "real servers' client legs: $RS_CLIENT_IPS; decapsulation: $RS_DECAP"
	fi
}

# ---- ECMP: several directors behind a router, announced with BGP/OSPF ----
#
#   P-cl (10.x.1.50) --br0-- P-rt (10.x.1.1 | 10.x.2.1, BIRD, ECMP)
#                                   |
#              br1 (10.x.2.0/24): P-d1 .2, P-d2 .3, ... (one-armed, xlbd
#              + BIRD each), P-rs1 .11, P-rs2 .12, ... (real servers)
#
# VIPs 10.x.3.100 (DR, port 80) and 10.x.3.101 (TUN, port 80) live on no
# segment: the router reaches them through the directors' routes only
# (one multipath route per VIP, L4 hash). Real servers hold both VIPs on
# lo (never announced), decapsulate IP-in-IP with xlb's XDP program and
# answer the client through the router. Every director has the same rules
# file ($LABDIR/rules). LAB_DIRECTORS directors (default 3); more can be
# added later (ecmp_director_add).
#
# Routing: LAB_ECMP_ROUTING=bgp (default: eBGP + BFD, "merge paths" on the
# router) or ospf (area 0 on br1, the VIPs as external routes, BFD).
#
# Announcing: LAB_ANNOUNCE=xlbd (xlbd --announce-table $ECMP_TABLE keeps
# "blackhole VIP/32 table N proto 250" while it can serve) or manual (the
# same routes added by hand when xlbd is up; nothing withdraws them but a
# dead BIRD); auto (default) picks xlbd when it has the option.

ECMP_TABLE=${LAB_ECMP_TABLE:-100}
ECMP_ROUTER_AS=65000
ECMP_DIRECTOR_AS=65100
LAB_XLBD=${XLB_BUILD:-$LAB_ROOT/build}/xlbd
LAB_XLBCTL=${XLB_BUILD:-$LAB_ROOT/build}/xlbctl
# Drops every IPv4 frame (the benchmark's sink): a crashed director's NIC.
LAB_SINK_OBJ=${XLB_SINK_OBJ:-${XLB_BUILD:-$LAB_ROOT/build}/bench/sink.bpf.o}

# The lab's health checks (the same in every director's rules; the
# announcement follows them): LAB_ECMP_CHECK overrides, "" for none.
ECMP_CHECK_DEFAULT="--check tcp --check-interval 0.5 --check-timeout 0.4 --check-fall 2 --check-rise 2"

ecmp_announce_mode() {
	case ${LAB_ANNOUNCE:-auto} in
	xlbd|manual) echo "$LAB_ANNOUNCE" ;;
	auto)
		if "$LAB_XLBD" --help 2>&1 | grep -q -- --announce-table; then
			echo xlbd
		else
			echo manual
		fi ;;
	*) lab_die "LAB_ANNOUNCE: xlbd, manual or auto" ;;
	esac
}

# ecmp_dir_ip I / ecmp_dir_ns I / ecmp_dir_if I
ecmp_dir_ip() { echo "10.$(lab_octet).2.$((1 + $1))"; }
ecmp_dir_ns() { echo "$LAB_PREFIX-d$1"; }
ecmp_dir_if() { echo "${LAB_PREFIX}d$1"; }

# ecmp_router_conf: the router's BIRD configuration for every director in
# $LABDIR/directors.
ecmp_router_conf() {
	local x i ips=()
	x=$(lab_octet)
	. "$LABDIR/env.ecmp"
	if [ "${LAB_ECMP_ROUTING:-bgp}" = ospf ]; then
		bird_conf_router_ospf "10.$x.2.1" "${LAB_PREFIX}t1" >"$LABDIR/router/bird.conf"
		return
	fi
	while read -r i; do ips+=("$(ecmp_dir_ip "$i")"); done <"$LABDIR/directors"
	bird_conf_router "10.$x.2.1" "$ECMP_ROUTER_AS" "$ECMP_DIRECTOR_AS" "${ips[@]}" \
		>"$LABDIR/router/bird.conf"
}

# ecmp_xlbd_start I: xlbd on director I (its socket $LABDIR/dI/xlb.sock,
# log dI/xlbd.log), and in manual mode the routes it would keep. Waits
# until it answers.
ecmp_xlbd_start() {
	local i=$1 ns ifn d n mode v fp=()
	ns=$(ecmp_dir_ns "$i") ifn=$(ecmp_dir_if "$i") d=$LABDIR/d$i
	mode=$(ecmp_announce_mode)
	local ann=()
	[ "$mode" = manual ] || ann=(--announce-table "$ECMP_TABLE")
	[ -z "${XLB_FAST_PATH:-}" ] || fp=(--fast-path "$XLB_FAST_PATH")
	nohup ip netns exec "$ns" "$LAB_XLBD" -i "$ifn" --socket "$d/xlb.sock" \
		--rules "$LABDIR/rules" "${ann[@]}" "${fp[@]}" >>"$d/xlbd.log" 2>&1 </dev/null &
	echo $! >"$d/xlbd.pid"
	grep -qx "$d/xlbd.pid" "$LABDIR/pidfiles" || echo "$d/xlbd.pid" >>"$LABDIR/pidfiles"
	for n in $(seq 1 150); do
		"$LAB_XLBCTL" --socket "$d/xlb.sock" -L -n >/dev/null 2>&1 && break
		kill -0 "$(cat "$d/xlbd.pid")" 2>/dev/null || lab_die "xlbd on d$i exited (log: $d/xlbd.log)"
		sleep 0.1
	done
	"$LAB_XLBCTL" --socket "$d/xlb.sock" -L -n >/dev/null 2>&1 ||
		lab_die "xlbd on d$i does not answer (log: $d/xlbd.log)"
	if [ "$mode" = manual ]; then
		. "$LABDIR/env.ecmp"
		for v in $VIPS; do
			ip -n "$ns" route replace blackhole "$v/32" table "$ECMP_TABLE" proto "$BIRD_XLB_PROTO"
		done
	fi
}

# ecmp_director_add I: namespace, interface and BIRD configuration of
# director I, recorded in $LABDIR/directors (ecmp_router_conf then gives
# the router a session to it); ecmp_director_start starts it.
ecmp_director_add() {
	local i=$1 x ns ifn d ip
	x=$(lab_octet) ns=$(ecmp_dir_ns "$i") ifn=$(ecmp_dir_if "$i") d=$LABDIR/d$i
	ip=$(ecmp_dir_ip "$i")
	. "$LABDIR/env.ecmp"
	mkdir -p "$d"
	ns_add "$ns"
	veth_to_switch "$ns" "$ifn" "$LAB_PREFIX-sw" "${LAB_PREFIX}d${i}s" br1
	ip -n "$ns" addr add "$ip/24" dev "$ifn"
	ip -n "$ns" route add default via "10.$x.2.1"
	# Only xlb may deliver; packets XDP passes up carry clients' sources.
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=0
	nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	nsx "$ns" sysctl -qw "net.ipv4.conf.$ifn.rp_filter=0"
	peer_napi "$LAB_PREFIX-sw" "${LAB_PREFIX}d${i}s"
	# shellcheck disable=SC2086
	if [ "${LAB_ECMP_ROUTING:-bgp}" = ospf ]; then
		bird_conf_director_ospf "$ip" "$ifn" "$ECMP_TABLE" $VIPS >"$d/bird.conf"
	else
		bird_conf_director "$ip" "10.$x.2.1" "$ECMP_DIRECTOR_AS" "$ECMP_ROUTER_AS" \
			"$ECMP_TABLE" $VIPS >"$d/bird.conf"
	fi
	echo "$i" >>"$LABDIR/directors"
}

# ecmp_director_start I: interface up, xlbd, then BIRD (whatever of them
# is not running).
ecmp_director_start() {
	local i=$1 d=$LABDIR/d$1
	if [ -f "$d/crashed" ]; then
		ip -n "$(ecmp_dir_ns "$i")" link set dev "$(ecmp_dir_if "$i")" xdp off 2>/dev/null || true
		ip -n "$LAB_PREFIX-sw" link set dev "${LAB_PREFIX}d${i}s" xdp off 2>/dev/null || true
		peer_napi "$LAB_PREFIX-sw" "${LAB_PREFIX}d${i}s"
		rm -f "$d/crashed"
	fi
	ip -n "$(ecmp_dir_ns "$i")" link set "$(ecmp_dir_if "$i")" up
	kill -0 "$(cat "$d/xlbd.pid" 2>/dev/null)" 2>/dev/null || ecmp_xlbd_start "$i"
	kill -0 "$(cat "$d/bird.pid.lab" 2>/dev/null)" 2>/dev/null || bird_start "$(ecmp_dir_ns "$i")" "$d"
}

# ecmp_director_crash I: the machine dies. It goes silent at once, with its
# link up (a switch port that went down would flush the MAC and flood the
# dead director's frames to every port, where the other directors'
# veths, which filter no MAC, would take them): a program that drops
# every IPv4 frame replaces xlb's on its interface (xlb's own would go on
# forwarding fast-path flows without xlbd), so the router can only notice
# by BFD; then every process in its namespace (xlbd, its guard, BIRD) gets
# SIGKILL. Without the program (not built), the interface goes down.
ecmp_director_crash() {
	local i=$1 ns ifn pid
	ns=$(ecmp_dir_ns "$i") ifn=$(ecmp_dir_if "$i")
	if [ -f "$LAB_SINK_OBJ" ]; then
		# Both ways: what it receives, and what its kernel still sends
		# (BGP's FIN as BIRD dies), dropped by the switch port's.
		ip -n "$ns" link set dev "$ifn" xdp off 2>/dev/null || true
		ip -n "$ns" link set dev "$ifn" xdpdrv obj "$LAB_SINK_OBJ" sec xdp ||
			ip -n "$ns" link set "$ifn" down
		ip -n "$LAB_PREFIX-sw" link set dev "${LAB_PREFIX}d${i}s" xdp off 2>/dev/null || true
		ip -n "$LAB_PREFIX-sw" link set dev "${LAB_PREFIX}d${i}s" xdpdrv obj "$LAB_SINK_OBJ" sec xdp ||
			ip -n "$ns" link set "$ifn" down
	else
		ip -n "$ns" link set "$ifn" down
	fi
	# When it went silent (ns since the epoch): what withdrawal times
	# are measured from.
	date +%s%N >"$LABDIR/d$i/crashed"
	for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
	for pid in $(ip netns pids "$ns"); do
		while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	done
}

# ecmp_xlbd_kill I [SIGNAL]: only director I's xlbd (default SIGKILL).
ecmp_xlbd_kill() {
	local pid
	pid=$(cat "$LABDIR/d$1/xlbd.pid" 2>/dev/null) || return 0
	kill -"${2:-KILL}" "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

# ecmp_paths VIP: the router's kernel next hops for VIP, one per line.
ecmp_paths() {
	. "$LABDIR/env.ecmp"
	ip -n "$ROUTER_NS" route show "$1/32" | grep -o 'via [0-9.]*' | awk '{print $2}' | sort
}

# ecmp_wait_paths VIP N SECONDS: until the router has N next hops for VIP.
ecmp_wait_paths() {
	local n=$(( $3 * 10 ))
	while [ "$n" -gt 0 ]; do
		[ "$(ecmp_paths "$1" | wc -l)" = "$2" ] && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

topo_ecmp_up() {
	local x csub lsub vsub sw cl rt i ns ifn ip d mode nd
	local rs_ns="" rs_ips="" rs_ifs="" rs_macs="" rs_names="" dnss="" dips="" dnames=""
	. "$LAB_ROOT/netns-lab/bird.sh"
	mode=$(tun_decap_mode)
	[ "$mode" = xdp ] || lab_die "ecmp: TUN real servers decapsulate with $LAB_DECAP_OBJ (run make)"
	[ -x "$LAB_XLBD" ] || lab_die "$LAB_XLBD missing (run make)"
	command -v "$BIRD" >/dev/null || lab_die "ecmp needs BIRD 2 (apt-get install bird2)"
	nd=${LAB_DIRECTORS:-3}
	x=$(lab_octet)
	csub=10.$x.1 lsub=10.$x.2 vsub=10.$x.3
	sw=$LAB_PREFIX-sw cl=$LAB_PREFIX-cl rt=$LAB_PREFIX-rt
	: >"$LABDIR/directors"
	head -c $((1 << 20)) /dev/urandom >"$LABDIR/1M.bin"
	case ${LAB_ECMP_ROUTING:-bgp} in bgp|ospf) ;; *) lab_die "ecmp routing: bgp or ospf" ;; esac
	cat >"$LABDIR/env.ecmp" <<-EOF
	LAB_ECMP_ROUTING=${LAB_ECMP_ROUTING:-bgp}
	ROUTER_NS=$rt
	VIP_DR=$vsub.100
	VIP_TUN=$vsub.101
	VIPS="$vsub.100 $vsub.101"
	EOF

	switch_add "$sw" br0 br1

	ns_add "$cl"
	veth_to_switch "$cl" "${LAB_PREFIX}c0" "$sw" "${LAB_PREFIX}cs" br0
	ip -n "$cl" addr add "$csub.50/24" dev "${LAB_PREFIX}c0"
	ip -n "$cl" route add default via "$csub.1"

	# The router: forwards, hashes flows on L4 (so one client's
	# connections spread over the directors), strict about nothing.
	ns_add "$rt"
	veth_to_switch "$rt" "${LAB_PREFIX}t0" "$sw" "${LAB_PREFIX}t0s" br0
	veth_to_switch "$rt" "${LAB_PREFIX}t1" "$sw" "${LAB_PREFIX}t1s" br1
	ip -n "$rt" addr add "$csub.1/24" dev "${LAB_PREFIX}t0"
	ip -n "$rt" addr add "$lsub.1/24" dev "${LAB_PREFIX}t1"
	nsx "$rt" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1
	for ifn in all default "${LAB_PREFIX}t0" "${LAB_PREFIX}t1"; do
		nsx "$rt" sysctl -qw "net.ipv4.conf.$ifn.rp_filter=0" "net.ipv4.conf.$ifn.send_redirects=0"
	done

	for i in $(seq 1 "$LAB_SERVERS"); do
		ns=$LAB_PREFIX-rs$i ifn=${LAB_PREFIX}r$i ip=$lsub.$((10 + i))
		d=$LABDIR/rs$i
		mkdir -p "$d"
		ns_add "$ns"
		veth_to_switch "$ns" "$ifn" "$sw" "${LAB_PREFIX}r${i}s" br1
		ip -n "$ns" addr add "$ip/24" dev "$ifn"
		ip -n "$ns" route add default via "$lsub.1"
		rs_vip_config "$ns" "$ifn" "$vsub.100"
		ip -n "$ns" addr add "$vsub.101/32" dev lo
		rs_decap_config "$ns" "$ifn" xdp
		rs_www "$d" "rs$i"
		rs_http_start "$ns" "$d" "rs$i"
		rs_udp_start "$ns" "$d" "rs$i" "$ip" rip
		rs_ns="$rs_ns $ns" rs_ips="$rs_ips $ip" rs_ifs="$rs_ifs $ifn"
		rs_macs="$rs_macs $(mac_of "$ns" "$ifn")" rs_names="$rs_names rs$i"
	done

	# One rules file for every director: same services, servers, weights,
	# scheduler (ring) and vnodes, so they all choose alike.
	{
		echo "-A -t $vsub.100:$LAB_HTTP_PORT -s ring ${LAB_ECMP_CHECK-$ECMP_CHECK_DEFAULT}"
		for ip in $rs_ips; do echo "-a -t $vsub.100:$LAB_HTTP_PORT -r $ip:$LAB_HTTP_PORT -g -w 1"; done
		echo "-A -t $vsub.101:$LAB_HTTP_PORT -s ring ${LAB_ECMP_CHECK-$ECMP_CHECK_DEFAULT}"
		for ip in $rs_ips; do echo "-a -t $vsub.101:$LAB_HTTP_PORT -r $ip:$LAB_HTTP_PORT -i -w 1"; done
	} >"$LABDIR/rules"

	mkdir -p "$LABDIR/router"
	for i in $(seq 1 "$nd"); do
		ecmp_director_add "$i"
		dnss="$dnss $(ecmp_dir_ns "$i")" dips="$dips $(ecmp_dir_ip "$i")" dnames="$dnames d$i"
	done
	ecmp_router_conf
	bird_start "$rt" "$LABDIR/router"
	for i in $(seq 1 "$nd"); do ecmp_director_start "$i"; done

	cat >"$LABDIR/env" <<-EOF
	# netns-lab $LAB_PREFIX (ecmp): source this file.
	LAB_MODE=ecmp
	LAB_PREFIX=$LAB_PREFIX
	LABDIR=$LABDIR
	SUBNET=$lsub.0/24
	CLIENT_NET=$csub.0/24
	SWITCH_NS=$sw
	CLIENT_NS=$cl
	CLIENT_IF=${LAB_PREFIX}c0
	CLIENT_IP=$csub.50
	ROUTER_NS=$rt
	ROUTER_IP=$lsub.1
	ROUTER_DIR=$LABDIR/router
	N_DIRECTORS=$nd
	DIRECTOR_NS=$(ecmp_dir_ns 1)
	DIRECTOR_IF=$(ecmp_dir_if 1)
	DIRECTOR_IFS=$(ecmp_dir_if 1)
	DIRECTOR_NSS="${dnss# }"
	DIRECTOR_IPS="${dips# }"
	DIRECTOR_NAMES="${dnames# }"
	ROUTING=${LAB_ECMP_ROUTING:-bgp}
	ANNOUNCE=$(ecmp_announce_mode)
	ANNOUNCE_TABLE=$ECMP_TABLE
	RULES=$LABDIR/rules
	VIP=$vsub.100
	VIP_DR=$vsub.100
	VIP_TUN=$vsub.101
	VIPS="$vsub.100 $vsub.101"
	HTTP_PORT=$LAB_HTTP_PORT
	UDP_PORT=$LAB_UDP_PORT
	N_SERVERS=$LAB_SERVERS
	RS_NS="${rs_ns# }"
	RS_IPS="${rs_ips# }"
	RS_IFS="${rs_ifs# }"
	RS_MACS="${rs_macs# }"
	RS_NAMES="${rs_names# }"
	RS_DECAP=xdp
	DECAP_OBJ=$LAB_DECAP_OBJ
	BIG_FILE=/1M.bin
	BIG_FILE_LOCAL=$LABDIR/1M.bin
	EOF

	# Up means: every director's routes on the router, both VIPs.
	for ip in $vsub.100 $vsub.101; do
		ecmp_wait_paths "$ip" "$nd" "${LAB_ECMP_WAIT:-30}" ||
			lab_die "router: $ip has $(ecmp_paths "$ip" | wc -l) of $nd paths (logs: $LABDIR/*/bird.log)"
	done
}

# BIRD configuration and start/stop (the ecmp topology).
. "$LAB_ROOT/netns-lab/bird.sh"
