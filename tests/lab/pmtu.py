#!/usr/bin/python3
"""Sends a full-size UDP datagram with DF set to VIP:PORT and reports the
path MTU the kernel learnt from the ICMP "fragmentation needed" that came
back (or the interface MTU if none did): prints "mtu N". An IPv6 VIP (a
colon in it): the same with IPV6_DONTFRAG semantics (IPV6_PMTUDISC_DO) and
ICMPv6 "Packet Too Big"."""
import socket
import sys
import time

IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14
IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO, IPV6_MTU = 23, 2, 24
vip, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if ":" in vip:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)
    level, opt, hdr = socket.IPPROTO_IPV6, IPV6_MTU, 48
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    level, opt, hdr = socket.IPPROTO_IP, IP_MTU, 28
s.connect((vip, port))
for _ in range(20):
    try:
        s.send(b"x" * size)
    except OSError:
        pass
    time.sleep(0.1)
    mtu = s.getsockopt(level, opt)
    if mtu < size + hdr:
        break
print("mtu", mtu)
