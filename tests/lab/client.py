#!/usr/bin/python3
"""Lab client: asks a VIP who answers, from chosen source ports.

  client.py http VIP PORT [--sport N] [--count K] [--path P] [--rate BPS]
  client.py udp  VIP PORT [--sport N] [--count K]
  (both: [--src ADDR] sends from ADDR, one of the client's addresses)

One line per request: "<sport> <answer>" where answer is the body's first
line (the real server's name) or ERROR:<reason>. With --sport N, request i
uses source port N+i (SO_REUSEADDR, so a port in TIME_WAIT is reused: the
same 5-tuple can be tried again). --path with a large file prints
"<sport> <sha256> <bytes>" instead; --rate reads slowly (bytes/s).
"""
import argparse
import hashlib
import socket
import sys
import time


def family(addr):
    """IPv6 when the address has a colon (issue 14), else IPv4."""
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def http(args, sport):
    s = socket.socket(family(args.vip), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(args.timeout)
    if sport or args.src:
        s.bind((args.src, sport))
    try:
        s.connect((args.vip, args.port))
        s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (args.path, "[%s]" % args.vip if ":" in args.vip else args.vip)).encode())
        data = b""
        h = hashlib.sha256()
        body_started = False
        nbody = 0
        t0 = time.time()
        while True:
            chunk = s.recv(16384)
            if not chunk:
                break
            if not body_started:
                data += chunk
                if b"\r\n\r\n" in data:
                    head, rest = data.split(b"\r\n\r\n", 1)
                    if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
                        return "ERROR:" + head.split(b"\r\n")[0].decode(errors="replace")
                    body_started = True
                    data = rest
                    h.update(rest)
                    nbody += len(rest)
            else:
                if args.path == "/":
                    data += chunk
                h.update(chunk)
                nbody += len(chunk)
            if args.rate:
                want = nbody / args.rate
                el = time.time() - t0
                if want > el:
                    time.sleep(min(want - el, 1.0))
        if args.path != "/":
            return "%s %d" % (h.hexdigest(), nbody)
        return data.decode(errors="replace").split("\n")[0].strip() or "ERROR:empty"
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        return "ERROR:%s" % type(e).__name__
    finally:
        s.close()


def udp(args, sport):
    s = socket.socket(family(args.vip), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(args.timeout)
    if sport or args.src:
        s.bind((args.src, sport))
    try:
        for _ in range(3):
            s.sendto(b"who", (args.vip, args.port))
            try:
                data, _addr = s.recvfrom(2048)
                return data.decode(errors="replace").strip() or "ERROR:empty"
            except socket.timeout:
                continue
        return "ERROR:timeout"
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["http", "udp"])
    ap.add_argument("vip")
    ap.add_argument("port", type=int)
    ap.add_argument("--sport", type=int, default=0)
    ap.add_argument("--src", default="")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--path", default="/")
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--timeout", type=float, default=3)
    args = ap.parse_args()
    fn = http if args.kind == "http" else udp
    for i in range(args.count):
        sport = args.sport + i if args.sport else 0
        print(sport, fn(args, sport), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
