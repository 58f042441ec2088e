#!/usr/bin/python3
"""Lab load: steady traffic at a VIP while a test does something nasty.

  load.py http VIP PORT --stop-file F [--interval I] [--timeout T]
      New connections one after another (HTTP/1.0 GET /), one every I s
      at most (0.1), until F exists.
      One line per request: "<start time> <sport> <answer>", answer being
      the server's name or ERROR:<reason>; start time is time.time().

  load.py keep VIP PORT --conns N --duration S [--interval I] [--sport B]
          [--pause-file F] [--stop-file G] [--timeout T]
      N keep-alive HTTP/1.1 connections, each sending GET / every I s (0.1)
      for S s or until G exists, except while F exists (no request is
      started then; one already sent finishes). A connection survives if
      every answer came and came from the server that answered its first
      request. One line per connection: "conn <i> <sport> <server>
      <requests> ok <time of its last answer>" or "... BROKEN:<reason>@<seconds
      since start> <time>" (time.time(); 0 if none), then
      "survived: K of N (P%)".
"""
import argparse
import os
import socket
import sys
import threading
import time


def family(addr):
    """AF_INET6 for an IPv6 literal (the IPv6 lab tests), else AF_INET."""
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def host(addr):
    """The Host header's form of addr: IPv6 in brackets."""
    return "[%s]" % addr if ":" in addr else addr


def http_once(vip, port, timeout):
    s = socket.socket(family(vip), socket.SOCK_STREAM)
    s.settimeout(timeout)
    sport = 0
    try:
        s.connect((vip, port))
        sport = s.getsockname()[1]
        s.sendall(("GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host(vip)).encode())
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
            return sport, "ERROR:" + (head.split(b"\r\n")[0].decode(errors="replace") or "empty")
        return sport, body.decode(errors="replace").split("\n")[0].strip() or "ERROR:empty"
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        return sport, "ERROR:%s" % type(e).__name__
    finally:
        s.close()


def run_http(args):
    while not os.path.exists(args.stop_file):
        t = time.time()
        sport, ans = http_once(args.vip, args.port, args.timeout)
        print("%.3f %d %s" % (t, sport, ans), flush=True)
        time.sleep(max(0.0, t + args.interval - time.time()))
    return 0


class Keeper(threading.Thread):
    """One keep-alive connection asking "who are you?" every interval."""

    def __init__(self, args, i, t0):
        super().__init__(daemon=True)
        self.args, self.i, self.t0 = args, i, t0
        self.sport = args.sport + i if args.sport else 0
        self.server = "-"
        self.nreq = 0
        self.last = 0.0
        self.broken = None

    def ask(self, s, buf):
        s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % host(self.args.vip)).encode())
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise ConnectionError("status:" + head.split(b"\r\n")[0].decode(errors="replace"))
        clen = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                clen = int(v)
        while len(buf) < clen:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        body, buf = buf[:clen], buf[clen:]
        return body.decode(errors="replace").strip(), buf

    def run(self):
        a = self.args
        s = socket.socket(family(a.vip), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.settimeout(a.timeout)
        buf = b""
        try:
            if self.sport:
                s.bind(("", self.sport))
            s.connect((a.vip, a.port))
            self.sport = s.getsockname()[1]
            end = self.t0 + a.duration
            nxt = time.time()
            while time.time() < end:
                if a.stop_file and os.path.exists(a.stop_file):
                    break
                if a.pause_file and os.path.exists(a.pause_file):
                    time.sleep(0.02)
                    continue
                name, buf = self.ask(s, buf)
                self.nreq += 1
                self.last = time.time()
                if self.server == "-":
                    self.server = name
                elif name != self.server:
                    raise ConnectionError("moved-to-" + name)
                nxt += a.interval
                time.sleep(max(0.0, nxt - time.time()))
                nxt = max(nxt, time.time())
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            reason = str(e) if isinstance(e, ConnectionError) and str(e) else type(e).__name__
            self.broken = "%s@%.1f" % (reason, time.time() - self.t0)
        finally:
            s.close()


def run_keep(args):
    t0 = time.time()
    ks = [Keeper(args, i, t0) for i in range(args.conns)]
    for k in ks:
        k.start()
        time.sleep(0.005)
    for k in ks:
        k.join()
    ok = 0
    for k in ks:
        res = "ok" if k.broken is None and k.nreq > 0 else "BROKEN:%s" % (k.broken or "no-answer")
        ok += res == "ok"
        print("conn %d %d %s %d %s %.3f" % (k.i, k.sport, k.server, k.nreq, res, k.last))
    n = len(ks)
    print("survived: %d of %d (%d%%)" % (ok, n, round(100.0 * ok / n) if n else 0))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["http", "keep"])
    ap.add_argument("vip")
    ap.add_argument("port", type=int)
    ap.add_argument("--stop-file")
    ap.add_argument("--pause-file")
    ap.add_argument("--conns", type=int, default=20)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--sport", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=3)
    args = ap.parse_args()
    if args.kind == "http":
        if not args.stop_file:
            ap.error("http needs --stop-file")
        return run_http(args)
    return run_keep(args)


if __name__ == "__main__":
    sys.exit(main())
