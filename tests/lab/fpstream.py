#!/usr/bin/python3
"""A sequence-numbered UDP stream from one source port (one flow), paced.

  fpstream.py VIP PORT --sport N --count K [--rate PPS] [--src ADDR]
              [--wait SECONDS] [--first SECONDS]

Sends K datagrams "seq <i>" from sport N at PPS a second (default 200),
each answered by the lab's UDP responders with the real server's name.
Prints one summary line:
  sent K answered A lost L servers rs1:n,rs2:m
where lost = K - A (a datagram lost either way: the responder answers every
one). Replies are read until --wait seconds (default 2) after the last send.

--first SECONDS: datagram 0 alone first, the rest paced only once its answer
came (or SECONDS passed). The director decides a flow for its fast path
while handling the flow's first packet; what reaches its AF_XDP ring before
that (its worker thread waiting for a CPU on a loaded machine) is userspace's
by design. With --first the stream's other datagrams all come after that
decision, however late the worker ran.
"""
import argparse
import select
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vip")
    ap.add_argument("port", type=int)
    ap.add_argument("--sport", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--src", default="")
    ap.add_argument("--wait", type=float, default=2)
    ap.add_argument("--first", type=float, default=0)
    a = ap.parse_args()
    # An IPv6 VIP (issue 14's fast path) takes an IPv6 socket.
    fam = socket.AF_INET6 if ":" in a.vip else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    s.bind((a.src, a.sport))
    s.setblocking(False)
    servers = {}
    answered = 0
    sent = 0
    end = None
    if a.first > 0 and a.count > 0:
        s.sendto(b"seq 0\n", (a.vip, a.port))
        sent = 1
        r, _, _ = select.select([s], [], [], a.first)
        if r:
            data, _ = s.recvfrom(2048)
            answered += 1
            name = data.decode(errors="replace").strip()
            servers[name] = servers.get(name, 0) + 1
        if sent == a.count:
            end = time.time() + a.wait
    # The rest paced from here: datagram i at t0 + i / rate.
    t0 = time.time() - sent / a.rate
    while True:
        now = time.time()
        if sent < a.count and now >= t0 + sent / a.rate:
            s.sendto(("seq %d\n" % sent).encode(), (a.vip, a.port))
            sent += 1
            if sent == a.count:
                end = time.time() + a.wait
            continue
        if end is not None and now >= end:
            break
        nxt = t0 + sent / a.rate if sent < a.count else end
        r, _, _ = select.select([s], [], [], max(0.0, min(nxt - now, 0.05)))
        if not r:
            continue
        while True:
            try:
                data, _ = s.recvfrom(2048)
            except BlockingIOError:
                break
            answered += 1
            name = data.decode(errors="replace").strip()
            servers[name] = servers.get(name, 0) + 1
    print("sent %d answered %d lost %d servers %s" % (
        sent, answered, sent - answered,
        ",".join("%s:%d" % kv for kv in sorted(servers.items())) or "-"))


if __name__ == "__main__":
    main()
