#!/bin/bash
# IPv6 DR end to end (issue 14): the director rewrites MACs only; real
# servers hold VIP6/128 on lo (never answering neighbour solicitations for
# it) and answer the client directly. Beside an IPv4 DR service on the same
# director, with its IPv6 and IPv4 forwarding off.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
lab_start dr6

# Only the director answers a neighbour solicitation for VIP6 (a /128 on a
# real server's lo is not advertised on its other interfaces).
nd=$(ip netns exec "$CLIENT_NS" /usr/bin/python3 - "$CLIENT_IF" "$VIP6" <<'PY'
import logging, sys
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (Ether, IPv6, ICMPv6ND_NS, ICMPv6ND_NA,
                       ICMPv6NDOptSrcLLAddr, AsyncSniffer, sendp, get_if_hwaddr)
from scapy.utils6 import in6_getnsma, in6_getnsmac
from scapy.pton_ntop import inet_pton, inet_ntop
import socket, time
iface, vip = sys.argv[1], sys.argv[2]
mac = get_if_hwaddr(iface)
nsma = inet_ntop(socket.AF_INET6, in6_getnsma(inet_pton(socket.AF_INET6, vip)))
sn = AsyncSniffer(iface=iface, filter="icmp6 and ip6[40] == 136")
sn.start(); time.sleep(0.3)
for _ in range(3):
    sendp(Ether(src=mac, dst=in6_getnsmac(inet_pton(socket.AF_INET6, nsma))) /
          IPv6(src="fe80::1", dst=nsma, hlim=255) / ICMPv6ND_NS(tgt=vip) /
          ICMPv6NDOptSrcLLAddr(lladdr=mac), iface=iface, verbose=False)
    time.sleep(0.2)
time.sleep(0.5)
print(" ".join(sorted({p[Ether].src for p in sn.stop() if ICMPv6ND_NA in p and p[ICMPv6ND_NA].tgt == vip})))
PY
)
check_eq "only the director answers neighbour solicitations for VIP6" "$DIRECTOR_MAC" "$nd"

v6_common -g
v6_save_restore
kill_pid "$XLBD_PID"
