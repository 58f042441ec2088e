#!/usr/bin/python3
"""TUN lab helper: oversized UDP datagrams at a VIP, and a check of the
outer fragments the director puts on the wire.

  tunfrag.py send IFACE SMAC DMAC SRC VIP PORT --size N [--df] [--count K]
             [--sport S]
      Writes K whole Ethernet frames on an AF_PACKET socket (no kernel
      routing, no socket state): UDP SRC:S+i -> VIP:PORT, IP total length N,
      DF as asked, payload bytes (i * 7 + 3) & 0xff, IP id 0x4242, UDP
      checksum 0 (legal for IPv4: the source ports change per frame). While
      sending, and for 0.5 s after, counts the ICMP "fragmentation needed"
      frames that come back. Prints "sent K in S s, frag_needed M".

  tunfrag.py verify PCAP SRC VIP PORT DIP --size N --sport S
      Reads a capture of the real servers' network and checks the outer
      fragments of that one datagram (sent with --df clear): one outer id,
      offsets in 8-byte units, MF on all but the last, every fragment within
      1500 bytes, every outer header checksum right, and the pieces
      concatenated equal to the datagram the client sent, byte for byte.
      Prints one line per fragment, then "ok N fragments" or "FAIL why".
"""
import argparse
import select
import socket
import struct
import sys
import time

SOL_PACKET = 263
PACKET_QDISC_BYPASS = 20
SO_RCVBUFFORCE = 33
ETH_P_ALL = 3


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def datagram(src, vip, sport, port, size, df):
    """The client's IP datagram, as sent (also what the RS must get)."""
    pay = bytes(((i * 7 + 3) & 0xff) for i in range(size - 28))
    udp = struct.pack("!HHHH", sport, port, 8 + len(pay), 0) + pay
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size, 0x4242,
                      0x4000 if df else 0, 64, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(vip))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + udp


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def is_frag_needed(f):
    # Ethernet, IPv4, ICMP type 3 code 4 (no VLAN in this lab).
    if len(f) < 14 + 20 + 8 or f[12:14] != b"\x08\x00" or f[23] != 1:
        return False
    ihl = (f[14] & 15) * 4
    return f[14 + ihl] == 3 and f[14 + ihl + 1] == 4


def cmd_send(a):
    dg = bytearray(datagram(a.src, a.vip, a.sport, a.port, a.size, a.df))
    frame = bytearray(mac(a.dmac) + mac(a.smac) + b"\x08\x00") + dg
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        tx.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
    except OSError:
        pass
    tx.bind((a.iface, 0))
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        rx.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
    except OSError:
        pass
    rx.bind((a.iface, 0))
    rx.setblocking(False)
    got = 0

    def drain():
        nonlocal got
        while True:
            try:
                f, addr = rx.recvfrom(2048)
            except BlockingIOError:
                return
            if addr[2] != socket.PACKET_OUTGOING and is_frag_needed(f):
                got += 1

    t0 = time.monotonic()
    for i in range(a.count):
        sp = a.sport + i % 40000
        struct.pack_into("!H", frame, 14 + 20, sp)
        try:
            tx.send(frame)
        except OSError:
            # ENOBUFS: the device queue is full; this frame is not sent.
            continue
        if i % 256 == 255:
            drain()
    dt = time.monotonic() - t0
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        select.select([rx], [], [], 0.05)
        drain()
    print("sent %d in %.3f s, frag_needed %d" % (a.count, dt, got))


def pcap_frames(path):
    """Frames of a classic pcap file (tcpdump -w), Ethernet link type."""
    with open(path, "rb") as fh:
        data = fh.read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        yield data[off + 16:off + 16 + incl]
        off += 16 + incl


def cmd_verify(a):
    want = datagram(a.src, a.vip, a.sport, a.port, a.size, False)
    frags = {}
    for f in pcap_frames(a.pcap):
        if len(f) < 34 or f[12:14] != b"\x08\x00":
            continue
        ip = f[14:]
        tot = struct.unpack("!H", ip[2:4])[0]
        fo = struct.unpack("!H", ip[6:8])[0]
        if ip[9] != 4 or socket.inet_ntoa(ip[12:16]) != a.dip or not fo & 0x3fff:
            continue
        oid = struct.unpack("!H", ip[4:6])[0]
        frags.setdefault((oid, ip[16:20]), []).append(ip[:tot])
    # Only datagrams that start with the client's (the lab sends others).
    mine = {i: f for i, f in frags.items()
            if any(((g[6] & 0x1f) << 8 | g[7]) == 0 and g[20:48] == want[:28]
                   for g in f)}
    if len(mine) != 1:
        print("FAIL %d outer datagrams carry the client's datagram (want 1); "
              "fragment ids seen: %s" % (len(mine), sorted(frags)))
        return 1
    ((oid, rip), fl), = mine.items()
    print("  to %s, outer id %#06x" % (socket.inet_ntoa(rip), oid))
    fl.sort(key=lambda g: ((g[6] & 0x1f) << 8 | g[7]))
    joined = b""
    for k, g in enumerate(fl):
        tot, fo = struct.unpack("!H", g[2:4])[0], struct.unpack("!H", g[6:8])[0]
        mf, off = bool(fo & 0x2000), (fo & 0x1fff) * 8
        last = k == len(fl) - 1
        print("  fragment %d: len %d offset %d MF %d DF %d csum %s"
              % (k + 1, tot, off, mf, bool(fo & 0x4000),
                 "ok" if csum(g[:20]) == 0 else "BAD"))
        if csum(g[:20]) != 0:
            print("FAIL fragment %d: outer header checksum" % (k + 1))
            return 1
        if tot > 1500 or tot != len(g):
            print("FAIL fragment %d: %d bytes" % (k + 1, tot))
            return 1
        if mf == last or fo & 0x4000:
            print("FAIL fragment %d: flags %#x" % (k + 1, fo >> 13))
            return 1
        if off != len(joined) or (not last and (tot - 20) % 8):
            print("FAIL fragment %d: offset %d after %d bytes" % (k + 1, off, len(joined)))
            return 1
        joined += g[20:]
    if joined != want:
        print("FAIL reassembled %d bytes differ from the %d the client sent"
              % (len(joined), len(want)))
        return 1
    print("ok %d fragments" % len(fl))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    for n in ("iface", "smac", "dmac", "src", "vip"):
        s.add_argument(n)
    s.add_argument("port", type=int)
    s.add_argument("--size", type=int, default=1500)
    s.add_argument("--df", action="store_true")
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--sport", type=int, default=20000)
    v = sub.add_parser("verify")
    for n in ("pcap", "src", "vip"):
        v.add_argument(n)
    v.add_argument("port", type=int)
    v.add_argument("dip")
    v.add_argument("--size", type=int, default=1500)
    v.add_argument("--sport", type=int, default=20000)
    a = ap.parse_args()
    if a.cmd == "send":
        cmd_send(a)
        return 0
    return cmd_verify(a)


if __name__ == "__main__":
    sys.exit(main())
