#!/usr/bin/python3
"""Load from real clients for the ECMP lab tests (stdlib only).

  ecmpload.py --target NAME=ADDR:PORT:COUNT [--target ...] [--interval S]
              [--new-rate R] [--ready FILE] [--detail FILE] [--duration S]

Holds COUNT long-lived HTTP/1.1 keep-alive connections per target, each
sending "GET /" every --interval seconds (first ones spread over one
interval) and checking every answer: a real server's name, the same one
for the whole connection. Besides, it opens --new-rate new connections a
second (round robin over the targets), one request each, "Connection:
close". Source ports are the kernel's ephemeral ones, so the router's L4
hash spreads the flows over the directors.

Once every long-lived connection has its first answer, the --ready file
is written ("PORT NAME SERVER" per connection). On SIGTERM/SIGINT (or after
--duration) it stops and prints, per target:

  target NAME conns N established E survived S dead D timeouts T resets R
         moved M maxlat SECONDS requests Q servers rs1:n,rs2:n
  new attempts A ok K failed F slow W slowest SECONDS outage SECONDS

A long-lived connection survived if no request timed out (--timeout), it
was never reset or closed, and every answer named the same server. A new
connection is "slow" when it took over --slow seconds (its SYN, or its
request, was lost once and retransmitted) and failed when it got no answer
within --new-timeout; "outage" is the longest span over which failed or
slow attempts followed one another with less than --gap seconds between
them (0 when there were none). --detail FILE gets one line per long-lived
connection: "NAME PORT SERVER STATE REQUESTS MAXLAT".
"""
import argparse
import heapq
import os
import selectors
import signal
import socket
import sys
import time

REQ = b"GET / HTTP/1.1\r\nHost: ecmp\r\n\r\n"
REQ_CLOSE = b"GET / HTTP/1.1\r\nHost: ecmp\r\nConnection: close\r\n\r\n"


def parse_response(buf):
    """(body, rest) for one complete response in buf, or (None, buf)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None, buf
    head = buf[:end].decode("latin-1").split("\r\n")
    if not head[0].startswith("HTTP/1.") or " 200 " not in head[0] + " ":
        raise ValueError("status " + head[0][:40])
    length = None
    for h in head[1:]:
        k, _, v = h.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    if length is None:
        raise ValueError("no Content-Length")
    if len(buf) < end + 4 + length:
        return None, buf
    body = buf[end + 4:end + 4 + length]
    return body.decode("latin-1").strip(), buf[end + 4 + length:]


class Long:
    def __init__(self, name, addr):
        self.name, self.addr = name, addr
        self.sock = None
        self.port = 0
        self.server = None
        self.state = "connecting"   # waiting | idle | dead
        self.reason = ""
        self.buf = b""
        self.sent_at = 0.0
        self.requests = 0
        self.maxlat = 0.0


class New:
    def __init__(self, name, addr, start):
        self.name, self.addr, self.start = name, addr, start
        self.sock = None
        self.buf = b""
        self.sent = False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", action="append", required=True)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--new-rate", type=float, default=20.0)
    ap.add_argument("--timeout", type=float, default=8.0)
    ap.add_argument("--new-timeout", type=float, default=6.0)
    ap.add_argument("--slow", type=float, default=0.5)
    ap.add_argument("--gap", type=float, default=1.5)
    ap.add_argument("--ready")
    ap.add_argument("--detail")
    ap.add_argument("--duration", type=float, default=600.0)
    a = ap.parse_args()

    targets = []
    for t in a.target:
        name, _, rest = t.partition("=")
        host, port, count = rest.split(":")
        targets.append((name, (host, int(port)), int(count)))

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    sel = selectors.DefaultSelector()
    longs = []
    timers = []   # (when, seq, Long): next request
    seq = 0
    t0 = time.monotonic()

    def kill(c, why):
        if c.state == "dead":
            return
        c.state, c.reason = "dead", why
        if c.sock:
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
            c.sock = None

    def open_long(c):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            s.connect(c.addr)
        except BlockingIOError:
            pass
        c.sock = s
        c.port = s.getsockname()[1]
        c.sent_at = time.monotonic()
        sel.register(s, selectors.EVENT_WRITE, c)

    def send_req(c, now):
        try:
            c.sock.send(REQ)
        except OSError as e:
            kill(c, "reset" if isinstance(e, ConnectionError) else "error")
            return
        c.sent_at = now
        c.state = "waiting"

    # The long-lived connections, opened over the first second (a burst
    # of SYNs would only measure the client's backlog).
    pending = [Long(n, ad) for n, ad, cnt in targets for _ in range(cnt)]
    total = len(pending)
    open_gap = 1.0 / max(total, 1)
    next_open = t0
    news = []
    new_done = []   # (name, start, duration or None)
    next_new = t0
    new_i = 0
    ready_written = False

    while not stop and time.monotonic() - t0 < a.duration:
        now = time.monotonic()
        while pending and now >= next_open:
            c = pending.pop(0)
            longs.append(c)
            open_long(c)
            next_open += open_gap
        if a.new_rate > 0 and now >= next_new:
            name, addr, _ = targets[new_i % len(targets)]
            new_i += 1
            n = New(name, addr, now)
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(addr)
            except BlockingIOError:
                pass
            n.sock = s
            sel.register(s, selectors.EVENT_WRITE, n)
            news.append(n)
            next_new += 1.0 / a.new_rate
        while timers and timers[0][0] <= now:
            _, _, c = heapq.heappop(timers)
            if c.state == "idle":
                send_req(c, now)
        timeout = 0.01
        for key, ev in sel.select(timeout):
            o = key.data
            if isinstance(o, Long):
                c = o
                if c.state == "connecting":
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        kill(c, "connect")
                        continue
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                    send_req(c, time.monotonic())
                    continue
                try:
                    data = c.sock.recv(65536)
                except ConnectionError:
                    kill(c, "reset")
                    continue
                except OSError:
                    kill(c, "error")
                    continue
                if not data:
                    kill(c, "closed")
                    continue
                c.buf += data
                try:
                    body, c.buf = parse_response(c.buf)
                except ValueError:
                    kill(c, "bad")
                    continue
                if body is None:
                    continue
                t = time.monotonic()
                lat = t - c.sent_at
                c.maxlat = max(c.maxlat, lat) if c.requests else c.maxlat
                c.requests += 1
                if c.server is None:
                    c.server = body
                elif body != c.server:
                    kill(c, "moved")
                    continue
                c.state = "idle"
                # First requests spread over one interval, then steady.
                delay = a.interval if c.requests > 1 else a.interval * (hash(c.port) % 1000) / 1000
                seq += 1
                heapq.heappush(timers, (t + delay, seq, c))
            else:
                n = o
                if not n.sent:
                    err = n.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        sel.unregister(n.sock); n.sock.close(); n.sock = None
                        new_done.append((n.name, n.start, None))
                        continue
                    try:
                        n.sock.send(REQ_CLOSE)
                    except OSError:
                        sel.unregister(n.sock); n.sock.close(); n.sock = None
                        new_done.append((n.name, n.start, None))
                        continue
                    n.sent = True
                    sel.modify(n.sock, selectors.EVENT_READ, n)
                    continue
                try:
                    data = n.sock.recv(65536)
                except OSError:
                    data = b""
                n.buf += data
                ok = None
                try:
                    body, _ = parse_response(n.buf)
                except ValueError:
                    body = None
                if body is not None:
                    ok = time.monotonic() - n.start
                if body is not None or not data:
                    sel.unregister(n.sock); n.sock.close(); n.sock = None
                    new_done.append((n.name, n.start, ok))
        now = time.monotonic()
        # Timeouts: long-lived requests, new connections.
        for c in longs:
            if c.state in ("waiting", "connecting") and now - c.sent_at > a.timeout:
                kill(c, "timeout")
        still = []
        for n in news:
            if n.sock is None:
                continue
            if now - n.start > a.new_timeout:
                sel.unregister(n.sock); n.sock.close(); n.sock = None
                new_done.append((n.name, n.start, None))
                continue
            still.append(n)
        news = still
        if not ready_written and a.ready and not pending and \
                all(c.requests > 0 or c.state == "dead" for c in longs):
            ready_written = True
            tmp = a.ready + ".tmp"
            with open(tmp, "w") as f:
                for c in longs:
                    f.write("%d %s %s\n" % (c.port, c.name, c.server or "-"))
            os.rename(tmp, a.ready)

    # Connections still waiting get their answer a last chance: a request
    # in flight at the stop is not a loss.
    end = time.monotonic() + 1.0
    while time.monotonic() < end and any(c.state == "waiting" for c in longs):
        for key, ev in sel.select(0.05):
            c = key.data
            if not isinstance(c, Long) or c.state != "waiting":
                continue
            try:
                data = c.sock.recv(65536)
            except OSError:
                kill(c, "reset")
                continue
            if not data:
                kill(c, "closed")
                continue
            c.buf += data
            try:
                body, c.buf = parse_response(c.buf)
            except ValueError:
                kill(c, "bad")
                continue
            if body is not None:
                c.requests += 1
                if c.server is not None and body != c.server:
                    kill(c, "moved")
                else:
                    c.state = "idle"

    for name, _, count in targets:
        cs = [c for c in longs if c.name == name]
        est = [c for c in cs if c.server is not None]
        surv = [c for c in est if c.state != "dead" and c.state != "waiting"]
        dead = [c for c in est if c.state == "dead"]
        servers = {}
        for c in est:
            servers[c.server] = servers.get(c.server, 0) + 1
        print("target %s conns %d established %d survived %d dead %d timeouts %d resets %d "
              "moved %d maxlat %.3f requests %d servers %s" % (
                  name, count, len(est), len(surv), len(est) - len(surv),
                  sum(c.reason == "timeout" for c in dead),
                  sum(c.reason in ("reset", "closed", "error") for c in dead),
                  sum(c.reason == "moved" for c in dead),
                  max([c.maxlat for c in est] or [0.0]),
                  sum(c.requests for c in cs),
                  ",".join("%s:%d" % kv for kv in sorted(servers.items())) or "-"))
    bad = sorted(s for _, s, d in new_done if d is None or d > a.slow)
    outage, i = 0.0, 0
    while i < len(bad):
        j = i
        while j + 1 < len(bad) and bad[j + 1] - bad[j] < a.gap:
            j += 1
        outage = max(outage, bad[j] - bad[i] + (1.0 / a.new_rate if a.new_rate else 0))
        i = j + 1
    durs = [d for _, _, d in new_done if d is not None]
    print("new attempts %d ok %d failed %d slow %d slowest %.3f outage %.3f" % (
        len(new_done), len(durs), sum(d is None for _, _, d in new_done),
        sum(d > a.slow for d in durs), max(durs or [0.0]), outage))
    if a.detail:
        with open(a.detail, "w") as f:
            for c in longs:
                f.write("%s %d %s %s %d %.3f\n" % (c.name, c.port, c.server or "-",
                                                  c.reason or c.state, c.requests, c.maxlat))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
