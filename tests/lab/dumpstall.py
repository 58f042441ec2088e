#!/usr/bin/python3
"""Lab helpers for test_dump.sh: a full connection table, a steady flow
measured at the real server, and a control client that asks for the
connection dump and does not read it.

  dumpstall.py fill   VIP PORT --sport N --count K
      one UDP datagram from each source port N..N+K-1 (raw socket: no
      socket per port), paced so the director's rings never overflow
  dumpstall.py stream VIP PORT --sport N --count K --ms M
      one UDP datagram per millisecond for M ms, its source port walking
      over N..N+K-1 in a shuffled order (so it touches every stripe of the
      table); the payload is its sequence number
  dumpstall.py recv   PORT --seconds S [--expect M]
      receive for S seconds (or until M datagrams came), kernel receive
      timestamps (SO_TIMESTAMPNS); prints "count N maxgap_ms G extra_ms E":
      G the longest time between two arrivals, E the longest time between
      two consecutive datagrams' arrivals beyond the time between their
      sends (what the path added: the sender's own jitter taken out)
  dumpstall.py stall  SOCKET --ready FILE --release FILE
      connect, ask for the connection dump, touch FILE (ready) and read
      nothing until the release file exists; then read the whole dump and
      print "conns N datagrams D" when it is well formed (every message
      NEW_CONN, NLM_F_MULTI, our seq; then NLMSG_DONE and nothing after),
      else an error line and exit 1
"""
import argparse
import os
import random
import socket
import struct
import sys
import time

NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP = 0x1, 0x2, 0x300
XLB_GENL_ID, XLB_GENL_VERSION = 0x20, 1
XLB_CMD_GET_CONN, XLB_CMD_NEW_CONN = 64, 65
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33


def udp_raw():
    return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)


def udp_packet(sport, dport, payload):
    # Checksum 0: none (allowed for UDP over IPv4).
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def fill(a):
    s = udp_raw()
    for i in range(a.count):
        s.sendto(udp_packet(a.sport + i, a.port, b"fill"), (a.vip, 0))
        if i % 100 == 99:
            time.sleep(0.002)


def stream(a):
    s = udp_raw()
    ports = [a.sport + i for i in range(a.count)]
    random.Random(1).shuffle(ports)
    t0 = time.monotonic()
    for i in range(a.ms):
        deadline = t0 + i / 1000.0
        d = deadline - time.monotonic()
        if d > 0:
            time.sleep(d)
        s.sendto(udp_packet(ports[i % len(ports)], a.port,
                            struct.pack("!IQ", i, time.time_ns())), (a.vip, 0))


def recv(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind(("0.0.0.0", a.port))
    s.settimeout(0.2)
    if a.ready:
        open(a.ready, "w").close()
    got = {}
    end = time.monotonic() + a.seconds
    while time.monotonic() < end and (not a.expect or len(got) < a.expect):
        try:
            data, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(16))
        except socket.timeout:
            continue
        if len(data) != 12:
            continue        # a fill datagram late: not the flow
        seq, tx = struct.unpack("!IQ", data)
        for level, typ, cdata in anc:
            if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", cdata[:16])
                got[seq] = (tx, sec * 1000000000 + nsec)
    rx = sorted(r for _, r in got.values())
    gap = max((b - x for x, b in zip(rx, rx[1:])), default=0)
    extra, at = max((((got[i + 1][1] - got[i][1]) - (got[i + 1][0] - got[i][0]), i)
                     for i in got if i + 1 in got), default=(0, 0))
    print("count %d maxgap_ms %.3f extra_ms %.3f at_ms %d" %
          (len(got), gap / 1e6, extra / 1e6, at))


def stall(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(a.socket)
    seq = 4242
    # nlmsghdr + genlmsghdr: a dump of the connection table, no attributes.
    req = struct.pack("=IHHII", 20, XLB_GENL_ID, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + \
        struct.pack("=BBH", XLB_CMD_GET_CONN, XLB_GENL_VERSION, 0)
    s.send(req)
    open(a.ready, "w").close()
    n = 0
    while not os.path.exists(a.release):
        time.sleep(0.02)
        n += 1
        if n > 3000:
            print("error: never released")
            return 1
    s.settimeout(10)
    conns = datagrams = 0
    done = False
    while not done:
        d = s.recv(65536 + 1, socket.MSG_TRUNC)
        datagrams += 1
        if not d:
            print("error: the daemon closed the connection after %d entries" % conns)
            return 1
        if len(d) > 65536:
            print("error: datagram of %d bytes" % len(d))
            return 1
        off = 0
        while off < len(d):
            if done:
                print("error: bytes after NLMSG_DONE")
                return 1
            if len(d) - off < 16:
                print("error: truncated header")
                return 1
            ln, typ, flags, mseq, _ = struct.unpack_from("=IHHII", d, off)
            if ln < 16 or off + ln > len(d):
                print("error: bad nlmsg_len %d" % ln)
                return 1
            if mseq != seq:
                print("error: seq %d, not ours" % mseq)
                return 1
            if typ == NLMSG_DONE:
                done = True
            elif typ == NLMSG_ERROR:
                err = struct.unpack_from("=i", d, off + 16)[0]
                print("error: the dump failed with %d after %d entries" % (err, conns))
                return 1
            elif typ != XLB_GENL_ID or not flags & NLM_F_MULTI or \
                    d[off + 16] != XLB_CMD_NEW_CONN:
                print("error: message type %d flags %#x" % (typ, flags))
                return 1
            else:
                conns += 1
            off += (ln + 3) & ~3
    print("conns %d datagrams %d" % (conns, datagrams))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fill")
    f.add_argument("vip")
    f.add_argument("port", type=int)
    f.add_argument("--sport", type=int, required=True)
    f.add_argument("--count", type=int, required=True)
    f = sub.add_parser("stream")
    f.add_argument("vip")
    f.add_argument("port", type=int)
    f.add_argument("--sport", type=int, required=True)
    f.add_argument("--count", type=int, required=True)
    f.add_argument("--ms", type=int, required=True)
    f = sub.add_parser("recv")
    f.add_argument("port", type=int)
    f.add_argument("--seconds", type=float, required=True)
    f.add_argument("--expect", type=int, default=0)
    f.add_argument("--ready")
    f = sub.add_parser("stall")
    f.add_argument("socket")
    f.add_argument("--ready", required=True)
    f.add_argument("--release", required=True)
    a = p.parse_args()
    return {"fill": fill, "stream": stream, "recv": recv, "stall": stall}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
