#!/usr/bin/python3
"""Gratuitous ARP, as a VRRP router sends when it takes an address over.

  garp.py IFACE ADDR [ADDR...] [--count N]

One broadcast ARP request per address (sender = target = ADDR, sender MAC
= IFACE's), N times 50 ms apart (default 3): hosts on the segment that
know ADDR update their neighbour entry, the switch learns the port.
"""
import socket
import struct
import sys
import time


def main():
    args = sys.argv[1:]
    count = 3
    if "--count" in args:
        i = args.index("--count")
        count = int(args[i + 1])
        del args[i:i + 2]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    ifn, addrs = args[0], args[1:]
    with open("/sys/class/net/%s/address" % ifn) as f:
        mac = bytes.fromhex(f.read().strip().replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifn, 0))
    for _ in range(count):
        for a in addrs:
            ip = socket.inet_aton(a)
            frame = (b"\xff" * 6 + mac + b"\x08\x06" +
                     struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) +
                     mac + ip + b"\x00" * 6 + ip)
            s.send(frame + b"\x00" * (60 - len(frame)))
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
