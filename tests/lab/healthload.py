#!/usr/bin/python3
"""Lab client for the health-check tests: requests in a loop, timestamped.

  healthload.py new  VIP PORT --seconds S [--gap G] [--sport N]  # a new connection each
  healthload.py keep VIP PORT --seconds S [--gap G]  # one keep-alive connection

With --sport N, request i comes from source port N + i: no 5-tuple is used
twice, so no request lands on an entry an earlier one left in the
director's connection table (a reused tuple keeps its server, as in IPVS).

One line per request: "<unix time at start> <answer>", answer being the
body's first line (the real server's name) or ERROR:<reason>. "keep" stops
at the first error (the connection is gone).
"""
import argparse
import socket
import sys
import time


def read_response(s, buf):
    """One HTTP/1.1 response with Content-Length from s: (body, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n")[0]
    if b" 200 " not in status + b" ":
        raise OSError(status.decode(errors="replace"))
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = s.recv(4096)
        if not chunk:
            raise OSError("closed in body")
        rest += chunk
    return rest[:length], rest[length:]


def one_new(args, i):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(args.timeout)
    try:
        if args.sport:
            s.bind(("", args.sport + i))
        s.connect((args.vip, args.port))
        s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % args.vip).encode())
        body, _ = read_response(s, b"")
        return body.decode(errors="replace").split("\n")[0]
    except OSError as e:
        return "ERROR:%s" % (e.strerror or e or "error").__str__().replace(" ", "_")
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["new", "keep"])
    ap.add_argument("vip")
    ap.add_argument("port", type=int)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--gap", type=float, default=0.05)
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("--sport", type=int, default=0)
    args = ap.parse_args()
    end = time.time() + args.seconds
    if args.mode == "new":
        i = 0
        while time.time() < end:
            t = time.time()
            print("%.3f %s" % (t, one_new(args, i)), flush=True)
            i += 1
            time.sleep(args.gap)
        return
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    buf = b""
    try:
        s.connect((args.vip, args.port))
    except OSError as e:
        print("%.3f ERROR:connect_%s" % (time.time(), e), flush=True)
        return
    while time.time() < end:
        t = time.time()
        try:
            s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % args.vip).encode())
            body, buf = read_response(s, buf)
            print("%.3f %s" % (t, body.decode(errors="replace").split("\n")[0]), flush=True)
        except OSError as e:
            print("%.3f ERROR:%s" % (t, str(e).replace(" ", "_")), flush=True)
            return
        time.sleep(args.gap)


if __name__ == "__main__":
    sys.exit(main())
