# shellcheck shell=bash
# IPv6 lab tests' shared part (sourced after lib.sh; issue 14): one
# director, dual stack, an IPv4 and an IPv6 service side by side, driven
# through the real xlbd with ipvsadm syntax ([addr]:port). A test:
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib6.sh"
#   lab_start dr6|nat6|tun6
#   v6_rules -g|-m|-i >"$T/rules"; v6_common -g|-m|-i
# v6_common leaves xlbd running for the mode's own checks.

# curl6 PATH [curl args]: one HTTP request to [VIP6]:80 from the client.
curl6() {
	local path=$1; shift
	ip netns exec "$CLIENT_NS" curl -6 -g -s --max-time 5 "$@" "http://[$VIP6]:$HTTP_PORT$path"
}

# v6_rules FWD: the IPv4 HTTP service and the IPv6 HTTP and UDP services,
# every real server in each, forwarding method FWD.
v6_rules() {
	local fwd=$1 ip
	echo "-A -t $VIP:$HTTP_PORT -s ring"
	for ip in $RS_IPS; do echo "-a -t $VIP:$HTTP_PORT -r $ip:$HTTP_PORT $fwd -w 1"; done
	echo "-A -t [$VIP6]:$HTTP_PORT -s ring"
	for ip in $RS_IPS6; do echo "-a -t [$VIP6]:$HTTP_PORT -r [$ip]:$HTTP_PORT $fwd -w 1"; done
	echo "-A -u [$VIP6]:$UDP_PORT -s ring"
	for ip in $RS_IPS6; do echo "-a -u [$VIP6]:$UDP_PORT -r [$ip]:$UDP_PORT $fwd -w 1"; done
}

# v6_thirty FILE: 30 requests with curl -6, one answer (or FAILED) a line.
v6_thirty() {
	local who
	: >"$1"
	for _ in $(seq 1 30); do
		who=$(curl6 / | head -n 1)
		echo "${who:-FAILED}" >>"$1"
	done
}

v6_common() {
	local fwd=$1 t want got n
	check_eq "director's IPv6 forwarding is off (net.ipv6.conf.all.forwarding)" 0 \
		"$(ip netns exec "$DIRECTOR_NS" cat /proc/sys/net/ipv6/conf/all/forwarding)"
	check_eq "director's IPv4 forwarding is off" 0 \
		"$(ip netns exec "$DIRECTOR_NS" cat /proc/sys/net/ipv4/ip_forward)"
	if [ "${LAB_MODE%6}" != dr ]; then
		if curl6_direct; then
			fail "the client cannot reach a real server's IPv6 address without xlb"
		else
			ok "the client cannot reach a real server's IPv6 address without xlb"
		fi
	fi
	v6_rules "$fwd" >"$T/rules"
	xlbd_up "$T/rules" || { fail "xlbd starts with IPv6 services in its rules"; exit 1; }
	ok "xlbd starts with IPv6 services in its rules"
	X -L -n >"$T/list.txt" 2>&1
	check "-L -n lists TCP [$VIP6]:$HTTP_PORT" grep -qF "TCP  [$VIP6]:$HTTP_PORT" "$T/list.txt"

	v6_thirty "$T/30.txt"
	t=$(grep -v FAILED "$T/30.txt" | sort | uniq -c | awk '{print $2, $1}'); echo "$t"
	check_eq "30 of 30 HTTP requests over IPv6 (curl -6) answered by a real server" 30 \
		"$(grep -c '^rs[0-9]*$' "$T/30.txt")"
	n=$(grep '^rs[0-9]*$' "$T/30.txt" | sort -u | wc -l)
	check "and spread over at least two servers ($n)" test "$n" -ge 2

	want=$(sha256sum "$BIG_FILE_LOCAL" | cut -d' ' -f1)
	got=$(curl6 "$BIG_FILE" --max-time 20 | sha256sum | cut -d' ' -f1)
	check_eq "1 MiB download over IPv6 intact (sha256)" "$want" "$got"

	C udp "$VIP6" "$UDP_PORT" --count 30 >"$T/udp6.txt"
	check_eq "30 UDP requests over IPv6 answered" 30 "$(answers "$T/udp6.txt")"
	n=$(tally <"$T/udp6.txt" | wc -l)
	check "UDP over IPv6 spread over at least two servers ($n)" test "$n" -ge 2

	C http "$VIP" "$HTTP_PORT" --count 10 >"$T/v4.txt"
	check_eq "the IPv4 service on the same director still answers (10 of 10)" 10 "$(answers "$T/v4.txt")"
}

# curl6_direct: the client asks a real server's IPv6 address directly.
curl6_direct() {
	local ip=${RS_IPS6%% *}
	ip netns exec "$CLIENT_NS" curl -6 -g -s --max-time 2 -o /dev/null "http://[$ip]:$HTTP_PORT/"
}

# v6_save_restore: -S -n / -C / -R round trip of the IPv6 services through
# the real xlbd, which must serve again after the restore.
v6_save_restore() {
	X -S -n >"$T/save.txt" 2>&1
	check "-S -n saves the IPv6 service (-A -t [$VIP6]:$HTTP_PORT)" \
		grep -qF -- "-A -t [$VIP6]:$HTTP_PORT" "$T/save.txt"
	check "-S -n saves an IPv6 real server (-r [${RS_IPS6%% *}]:$HTTP_PORT)" \
		grep -qF -- "-r [${RS_IPS6%% *}]:$HTTP_PORT" "$T/save.txt"
	check "-C clears every service" X -C
	check_eq "nothing listed after -C" "" "$(X -S -n 2>&1)"
	check "-R restores the saved rules" X -R <"$T/save.txt"
	check_eq "-S -n after -R is what was saved" "$(cat "$T/save.txt")" "$(X -S -n 2>&1)"
	v6_thirty "$T/30b.txt"
	check_eq "after -R: 30 of 30 IPv6 requests answered" 30 "$(grep -c '^rs[0-9]*$' "$T/30b.txt")"
}
