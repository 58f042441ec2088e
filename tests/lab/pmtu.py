#!/usr/bin/python3
"""Sends a full-size UDP datagram with DF set to VIP:PORT and reports the
path MTU the kernel learnt from the ICMP "fragmentation needed" that came
back (or the interface MTU if none did): prints "mtu N"."""
import socket
import sys
import time

IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14
vip, port, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
s.connect((vip, port))
for _ in range(20):
    try:
        s.send(b"x" * size)
    except OSError:
        pass
    time.sleep(0.1)
    mtu = s.getsockopt(socket.IPPROTO_IP, IP_MTU)
    if mtu < size + 28:
        break
print("mtu", mtu)
