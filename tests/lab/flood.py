#!/usr/bin/python3
"""Lab flooder: TCP segments (or UDP datagrams) of random sources at a VIP,
as fast as it can.

  flood.py IFACE DMAC VIP PORT [--count N] [--flags S|A|SA...] [--src-net NET/LEN]
           [--seed N] [--udp] [--repeat R] [--rate FPS]

--udp sends 4-byte UDP datagrams instead ("who?", UDP checksum 0: none, as
IPv4 allows). --repeat R sends each frame R times back to back (R packets
of one flow: "two bare ACKs per tuple" is --flags A --repeat 2); --count
counts tuples. --rate caps the frames per second (0: none), so a loaded
receiver's rings are not what the test measures.

Writes whole Ethernet frames on an AF_PACKET socket bound to IFACE (no
kernel routing, no neighbour lookups, no socket state): each frame is a new
flow, its source address random in --src-net (default 198.18.0.0/15, the
benchmarking range: the real servers have no route back, so their replies
die at once) and its source port random in 1024..65535. IP and TCP
checksums are correct (computed incrementally from a fixed base), so the
real servers' kernels treat the segments as genuine.

Prints one line: "sent N frames in S s (R frames/s)".
"""
import argparse
import ipaddress
import random
import socket
import struct
import sys
import time

SOL_PACKET = 263
PACKET_QDISC_BYPASS = 20
FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}


def fold(s):
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("dmac")
    ap.add_argument("vip")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--flags", default="S")
    ap.add_argument("--src-net", default="198.18.0.0/15")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--udp", action="store_true")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0)
    args = ap.parse_args()

    rnd = random.Random(args.seed)
    net = ipaddress.ip_network(args.src_net)
    net_base, net_size = int(net.network_address), net.num_addresses
    flags = 0
    for c in args.flags:
        flags |= FLAGS[c]

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
    except OSError:
        pass
    s.bind((args.iface, 0))
    smac = s.getsockname()[4]
    eth = bytes.fromhex(args.dmac.replace(":", "")) + smac + b"\x08\x00"
    dst = socket.inet_aton(args.vip)
    dst_hi, dst_lo = struct.unpack("!HH", dst)
    offflags = (5 << 12) | flags
    window = 64240
    # Fixed parts of each checksum; per frame only the source address, the
    # source port, the sequence number (TCP) and the IP ID change.
    tcp_base = dst_hi + dst_lo + socket.IPPROTO_TCP + 20 + args.port + offflags + window
    ip_base = 0x4500 + 40 + 0x4000 + ((64 << 8) | socket.IPPROTO_TCP) + dst_hi + dst_lo
    ack = 0 if not (flags & FLAGS["A"]) else 1

    pack = struct.Struct("!HHHHBBHHHHH" "HHIIHHHH").pack
    upack = struct.Struct("!HHHHBBHHHHH" "HHHH4s").pack
    uip_base = 0x4500 + 32 + 0x4000 + ((64 << 8) | socket.IPPROTO_UDP) + dst_hi + dst_lo
    sent = 0
    t0 = time.monotonic()
    for i in range(args.count):
        src = net_base + rnd.randrange(net_size)
        s_hi, s_lo = src >> 16, src & 0xffff
        sport = rnd.randrange(1024, 65536)
        seq = rnd.getrandbits(32)
        ipid = i & 0xffff
        ipsum = 0xffff ^ fold(ip_base + ipid + s_hi + s_lo)
        tsum = 0xffff ^ fold(tcp_base + s_hi + s_lo + sport + (seq >> 16) + (seq & 0xffff) +
                             (ack >> 16) + (ack & 0xffff))
        if args.udp:
            ipsum = 0xffff ^ fold(uip_base + ipid + s_hi + s_lo)
            frame = eth + upack(0x4500, 32, ipid, 0x4000, 64, socket.IPPROTO_UDP, ipsum,
                                s_hi, s_lo, dst_hi, dst_lo, sport, args.port, 12, 0, b"who?")
        else:
            frame = eth + pack(0x4500, 40, ipid, 0x4000, 64, socket.IPPROTO_TCP, ipsum,
                               s_hi, s_lo, dst_hi, dst_lo,
                               sport, args.port, seq, ack, offflags, window, tsum, 0)
        for _ in range(args.repeat):
            while True:
                try:
                    s.send(frame)
                    break
                except BlockingIOError:
                    continue
                except OSError as e:
                    if e.errno == 105:  # ENOBUFS: the device queue is full
                        time.sleep(0.0001)
                        continue
                    raise
            sent += 1
        if args.rate and sent % 256 < args.repeat:
            time.sleep(max(0.0, t0 + sent / args.rate - time.monotonic()))
    el = time.monotonic() - t0
    print("sent %d frames in %.2f s (%d frames/s)" % (sent, el, sent / el if el else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
