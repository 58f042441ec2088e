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

# veth_to_switch NS IF SW_NS SW_IF: a veth from NS (IF) to the switch
# namespace's bridge (SW_IF). Checksum offload is turned off on the NS end:
# AF_XDP and XDP see the bytes as they are, and a TCP checksum left for
# offload would travel unfinished through the director.
veth_to_switch() {
	local ns=$1 ifn=$2 sw=$3 swif=$4
	ip link add "$ifn" netns "$ns" type veth peer name "$swif" netns "$sw" ||
		lab_die "cannot create veth $ifn <-> $swif"
	ip -n "$sw" link set "$swif" master br0 up
	nsx "$ns" ethtool -K "$ifn" tx off >/dev/null 2>&1 || true
	ip -n "$ns" link set "$ifn" up
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
	local ns=$1 d=$2 name=$3 nginx
	nginx=$(command -v nginx || echo /usr/sbin/nginx)
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
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
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
	nsx "$sw" ethtool -K "${LAB_PREFIX}ds" gro on >/dev/null 2>&1 || true

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

topo_nat_up() { lab_die "the NAT topology is not built yet"; }
topo_tun_up() { lab_die "the TUN topology is not built yet"; }

# Waits until every real server answers HTTP and UDP on its own address.
topo_wait_ready() {
	local i=0 ns ip ok
	. "$LABDIR/env"
	set -- $RS_NS
	for ip in $RS_IPS; do
		ns=$1; shift
		ok=0
		for i in $(seq 1 50); do
			if nsx "$CLIENT_NS" curl -s -m 1 -o /dev/null "http://$ip:$HTTP_PORT/" &&
			   nsx "$ns" ss -Hulpn | grep -q ":$UDP_PORT "; then
				ok=1; break
			fi
			sleep 0.1
		done
		[ "$ok" = 1 ] || lab_die "real server $ns ($ip) does not answer"
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
	{ cat "$LABDIR/namespaces" 2>/dev/null
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
	local ns found=0
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$LAB_PREFIX-" | sort); do
		found=1
		printf '%-16s %s\n' "$ns" "$(ip -4 -n "$ns" -br addr show | grep -v '^lo ' | awk '{printf "%s %s  ", $1, $3}')"
		[ "$ns" = "$LAB_PREFIX-sw" ] &&
			echo "                 br0: $(ip -n "$ns" -br link show master br0 | awk '{printf "%s ", $1}')"
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
		echo "director: $DIRECTOR_NS $DIRECTOR_IF ($DIRECTOR_IP), VIP $VIP, client $CLIENT_NS ($CLIENT_IP)"
		echo "real servers: $RS_NAMES / $RS_IPS"
	fi
}
