#!/bin/bash
# TUN6 end to end (issue 14): the director encapsulates IPv6 in IPv6 (next
# header 41) towards real servers on their own network; they decapsulate
# with xlb's XDP program (xlb_decap) and answer the client directly over
# their client leg from VIP6 on lo. A packet that no longer fits the tunnel
# (1500 - 40) gets "Packet Too Big" with MTU 1460 back to the client, whose
# path MTU drops. Beside an IPv4 TUN service on the same director.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
lab_start tun6

v6_common -i

# ip6ip6 on the wire between the director and the real servers.
ip netns exec "$SWITCH_NS" timeout 4 tcpdump -c 1 -nni "${RS_SWITCH_IFS%% *}" \
	'ip6 and ip6[6] == 41' >"$T/cap.txt" 2>/dev/null &
cap=$!
sleep 0.5
C udp "$VIP6" "$UDP_PORT" --count 20 >/dev/null
wait "$cap"
check "ip6ip6 (next header 41) on the real servers' network" grep -q "IP6" "$T/cap.txt"

# A 1500-byte datagram (payload 1452) cannot be sent with 40 more bytes:
# the client gets Packet Too Big with the tunnel's MTU and keeps it.
mtu=$(ip netns exec "$CLIENT_NS" /usr/bin/python3 "$ROOT/tests/lab/pmtu.py" "$VIP6" "$UDP_PORT" 1452)
check_eq "Packet Too Big reaches the IPv6 client: its path MTU to VIP6 is 1460" "mtu 1460" "$mtu"
r=$(ip -n "$CLIENT_NS" -6 route get "$VIP6")
echo "  $r"
check "ip -6 route get VIP6 shows the lowered mtu 1460" grep -q "mtu 1460" <<<"$r"

# TCP over the same path: a request of ~20 KB (full-size segments, 1500
# bytes) gets through once the client's kernel has lowered its MSS on PTB.
ip -n "$CLIENT_NS" -6 route flush cache 2>/dev/null
check "the client's path MTU is forgotten (route cache flushed: no mtu 1460)" \
	test -z "$(ip -n "$CLIENT_NS" -6 route get "$VIP6" | grep 'mtu 1460')"
big=$(ip netns exec "$CLIENT_NS" /usr/bin/python3 - "$VIP6" "$HTTP_PORT" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=8)
pad = "".join("X-Pad-%d: %s\r\n" % (i, "p" * 6000) for i in range(3))
s.sendall(("GET / HTTP/1.0\r\nHost: x\r\n%s\r\n" % pad).encode())
data = b""
while True:
    c = s.recv(4096)
    if not c:
        break
    data += c
print(data.split(b"\r\n")[0].decode(), data.split(b"\r\n\r\n", 1)[-1].decode().strip())
PY
)
echo "  $big"
check "a 20 KB TCP request through the tunnel is answered after Packet Too Big" \
	grep -qE '^HTTP/1.[01] 200 OK rs[0-9]+$' <<<"$big"
check "and the client's path MTU is 1460 again" grep -q "mtu 1460" <<<"$(ip -n "$CLIENT_NS" -6 route get "$VIP6")"

# An IPv4 VIP over an IPv6 underlay (Katran's 4in6) and the reverse are
# not implemented: refused in words, nothing half-applied.
before=$(X -S -n 2>&1)
out=$(X -a -t "$VIP:$HTTP_PORT" -r "[${RS_IPS6%% *}]:$HTTP_PORT" -i 2>&1); rc=$?
echo "  $out"
check "an IPv6 real server under the IPv4 TUN service is refused (exit $rc)" test "$rc" -ne 0
check "with a clear error (not supported)" grep -q "not supported" <<<"$out"
out=$(X -a -t "[$VIP6]:$HTTP_PORT" -r "${RS_IPS%% *}:$HTTP_PORT" -i 2>&1); rc=$?
check "an IPv4 real server under the IPv6 TUN service is refused (exit $rc): $out" test "$rc" -ne 0
check_eq "and the rules are unchanged" "$before" "$(X -S -n 2>&1)"

v6_save_restore
kill_pid "$XLBD_PID"
