#!/usr/bin/python3
"""Hostile packets at a VIP, class by class (run in the client namespace).

  hostile.py --iface IF --dmac MAC --vip VIP --client-ip IP
             [--tcp-port 80] [--udp-port 5353] [--count N] [--random N]

Reads class names on stdin, one per line; for each, builds the frames with
scapy, sends them with an AF_PACKET socket on IF to MAC (so malformed frames
reach the director's XDP program byte for byte, Ethernet header included)
and answers one line on stdout:

  sent CLASS N [key=value ...]

N is the number of frames of that class the kernel accepted. Some classes
send a datagram through a normal UDP socket and report whether a real
server answered (answer=rsN or answer=none). "list" prints the class names;
"quit" (or EOF) ends. Run with /usr/bin/python3 (it has scapy).
"""
import argparse
import os
import random
import socket
import struct
import sys

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (Ether, Dot1Q, Dot1AD, IP, IPv6, TCP, UDP, ICMP,  # noqa: E402
                       ICMPv6EchoRequest, IPOption, IPOption_NOP, IPOption_EOL,
                       IPOption_RR, Raw, get_if_hwaddr)

ETH_P_ALL = 0x0003


class Hostile:
    def __init__(self, a):
        self.a = a
        self.n = a.count
        self.smac = get_if_hwaddr(a.iface)
        self.eth = Ether(src=self.smac, dst=a.dmac)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                  socket.htons(ETH_P_ALL))
        self.sock.bind((a.iface, 0))
        self.rng = random.Random(0x51b)
        self.sport = 20000 + os.getpid() % 10000

    # ---- helpers ----
    def next_sport(self):
        self.sport = 20000 + (self.sport - 19999) % 30000
        return self.sport

    def tx(self, frames):
        """Sends raw frames; returns how many the kernel accepted."""
        ok = 0
        for f in frames:
            try:
                self.sock.send(bytes(f))
                ok += 1
            except OSError:
                pass
        return ok

    def ip(self, **kw):
        kw.setdefault("src", self.a.client_ip)
        kw.setdefault("dst", self.a.vip)
        return IP(**kw)

    def tcp_syn(self, **ipkw):
        return self.eth / self.ip(**ipkw) / TCP(sport=self.next_sport(),
                                               dport=self.a.tcp_port, flags="S",
                                               seq=self.rng.getrandbits(32))

    def udp(self, payload=b"who", **ipkw):
        return self.eth / self.ip(**ipkw) / UDP(sport=self.next_sport(),
                                               dport=self.a.udp_port) / payload

    def icmp_err(self, inner, type_=3, code=4, mtu=1300, src=None):
        """An ICMP error from the client side to the VIP quoting inner
        (bytes), with a correct ICMP checksum over what is given."""
        ic = ICMP(type=type_, code=code, nexthopmtu=mtu if code == 4 else 0)
        return self.eth / IP(src=src or self.a.client_ip, dst=self.a.vip) / ic / Raw(inner)

    def quote_vip_udp(self, cport):
        """What the VIP sent to the client: VIP:udp_port -> client:cport,
        as an ICMP error quotes it (IP header + 8 bytes)."""
        q = IP(src=self.a.vip, dst=self.a.client_ip, id=1) / \
            UDP(sport=self.a.udp_port, dport=cport) / (b"x" * 20)
        return bytes(q)[:28]

    def many(self, make):
        return [make(i) for i in range(self.n)]

    def udp_sock(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", self.next_sport()))
        s.settimeout(1.0)
        return s

    @staticmethod
    def recv_answer(s):
        try:
            data, _ = s.recvfrom(2048)
            return data.decode(errors="replace").strip() or "empty"
        except socket.timeout:
            return "none"

    # ---- classes: each returns (count, {extra}) ----

    # Truncated at each layer.
    def c_eth_trunc(self):
        """10 bytes: shorter than an Ethernet header. The kernel refuses
        to send it (dev_validate_header: below min_header_len)."""
        return self.tx([bytes(self.eth)[:10]] * self.n), {}

    def c_vlan_trunc(self):
        f = bytes(self.eth / Dot1Q(vlan=10) / self.ip() / UDP())
        return self.tx([f[:16]] * self.n), {}

    def c_ip_trunc(self):
        f = bytes(self.udp())
        return self.tx([f[:14 + 12]] * self.n), {}

    def c_ip_version(self):
        return self.tx(self.many(lambda i: self.udp(version=6))), {}

    def c_ihl_short(self):
        return self.tx(self.many(lambda i: self.udp(ihl=4))), {}

    def c_ihl_trunc(self):
        # IHL 15 (60 bytes of header; total length 68, so not below it) in
        # a frame that holds 20 + 8 bytes of IP.
        return self.tx(self.many(lambda i: bytes(self.udp(payload=b"", ihl=15,
                                                          len=68))[:14 + 28])), {}

    def c_totlen_short(self):
        return self.tx(self.many(lambda i: self.udp(len=12))), {}

    def c_totlen_trunc(self):
        return self.tx(self.many(lambda i: self.tcp_syn(len=1000))), {}

    def c_tcp_trunc_frame(self):
        return self.tx(self.many(lambda i: bytes(self.tcp_syn())[:14 + 20 + 10])), {}

    def c_tcp_trunc_len(self):
        # The frame holds 20 bytes of TCP, the IP total length only 10.
        return self.tx(self.many(lambda i: self.tcp_syn(len=30))), {}

    def c_udp_trunc_frame(self):
        return self.tx(self.many(lambda i: bytes(self.udp(payload=b""))[:14 + 20 + 4])), {}

    def c_udp_trunc_len(self):
        return self.tx(self.many(lambda i: self.udp(len=24))), {}

    def c_icmp_trunc_frame(self):
        f = bytes(self.icmp_err(self.quote_vip_udp(40000)))
        return self.tx([f[:14 + 20 + 4]] * self.n), {}

    def c_icmp_trunc_len(self):
        # A complete error in the frame, but the total length leaves only 4
        # bytes of ICMP header: the XDP program (which reads up to the end
        # of the frame) steers it; userspace holds the total length.
        p = self.icmp_err(self.quote_vip_udp(40000))
        p[IP].len = 24
        return self.tx([p] * self.n), {}

    # Bad L4 headers.
    def c_tcp_doff_short(self):
        return self.tx(self.many(lambda i: self.eth / self.ip() /
                                 TCP(sport=self.next_sport(), dport=self.a.tcp_port,
                                     flags="S", dataofs=2))), {}

    def c_tcp_doff_trunc(self):
        return self.tx(self.many(lambda i: self.eth / self.ip() /
                                 TCP(sport=self.next_sport(), dport=self.a.tcp_port,
                                     flags="S", dataofs=15))), {}

    def c_udp_len_short(self):
        return self.tx(self.many(lambda i: self.eth / self.ip() /
                                 UDP(sport=self.next_sport(), dport=self.a.udp_port,
                                     len=4) / b"who")), {}

    def c_udp_len_long(self):
        return self.tx(self.many(lambda i: self.eth / self.ip() /
                                 UDP(sport=self.next_sport(), dport=self.a.udp_port,
                                     len=1000) / b"who")), {}

    # ICMP errors with truncated or forged quotes.
    def c_icmp_inner_trunc_frame(self):
        # The quote stops 12 bytes into its IP header.
        return self.tx([self.icmp_err(self.quote_vip_udp(40000)[:12])] * self.n), {}

    def c_icmp_inner_bad(self):
        q = bytearray(self.quote_vip_udp(40000))
        q[0] = 0x65          # version 6
        return self.tx([self.icmp_err(bytes(q))] * self.n), {}

    def c_icmp_inner_ihl_short(self):
        q = bytearray(self.quote_vip_udp(40000))
        q[0] = 0x44          # IHL 4
        return self.tx([self.icmp_err(bytes(q))] * self.n), {}

    def c_icmp_inner_l4_short(self):
        # Inner IP header whole, only its 4 port bytes of L4 (RFC 792
        # promises 8): enough for the XDP program, not for userspace.
        return self.tx([self.icmp_err(self.quote_vip_udp(40000)[:24])] * self.n), {}

    def c_icmp_forged(self):
        # Well formed, quoting a flow nobody opened.
        return self.tx(self.many(lambda i: self.icmp_err(
            self.quote_vip_udp(30000 + i)))), {}

    def c_icmp_genuine(self):
        """Opens a UDP flow through the VIP (a real server answers), then
        sends a "fragmentation needed" (MTU 1300) about the VIP's reply,
        as a router between the director and the client would."""
        s = self.udp_sock()
        cport = s.getsockname()[1]
        s.sendto(b"who", (self.a.vip, self.a.udp_port))
        ans = self.recv_answer(s)
        s.close()
        n = self.tx([self.icmp_err(self.quote_vip_udp(cport), mtu=1300)])
        return n, {"answer": ans, "cport": cport}

    # IP options: valid ones must be forwarded intact.
    def _opts_probe(self, opts):
        s = self.udp_sock()
        p = self.eth / self.ip(options=opts) / UDP(sport=s.getsockname()[1],
                                                   dport=self.a.udp_port) / b"who"
        n = self.tx([p])
        return n, self.recv_answer(s)

    def c_ip_options(self):
        n1, a1 = self._opts_probe([IPOption_NOP(), IPOption_NOP(), IPOption_NOP(),
                                   IPOption_EOL()])
        n2, a2 = self._opts_probe([IPOption_RR(routers=["0.0.0.0"] * 2)])
        return n1 + n2, {"answer_nop": a1, "answer_rr": a2}

    def c_ip_options_bad(self):
        # IHL 6, one timestamp option claiming 40 bytes: the director does
        # not parse options (it forwards them as they are); the real
        # server's ip_options_compile() rejects it.
        bad = IPOption(b"\x44\x28\x05\x00")
        return self.tx(self.many(lambda i: self.udp(options=[bad]))), {}

    # Fragments.
    def c_frag_first(self):
        def mk(i):
            p = self.eth / self.ip(flags="MF", frag=0, id=0x4000 + i) / \
                UDP(sport=self.next_sport(), dport=self.a.udp_port, len=8 + 2000) / \
                (b"a" * 96)
            return p
        return self.tx(self.many(mk)), {}

    def c_frag_later(self):
        def mk(i):
            return self.eth / self.ip(proto=17, flags=0, frag=185, id=0x5000 + i) / \
                (b"b" * 200)
        return self.tx(self.many(mk)), {}

    def c_frag_datagram(self):
        """A real 3000-byte UDP datagram from a socket: the kernel cuts it
        into 3 fragments (MTU 1500)."""
        s = self.udp_sock()
        s.setsockopt(socket.IPPROTO_IP, 10, 0)   # IP_MTU_DISCOVER: DONT
        s.sendto(b"w" * 3000, (self.a.vip, self.a.udp_port))
        ans = self.recv_answer(s)
        s.close()
        return 3, {"answer": ans}

    # TTL 0.
    def c_ttl_zero(self):
        h = self.n // 2
        return self.tx([self.tcp_syn(ttl=0) for _ in range(h)] +
                       [self.udp(ttl=0) for _ in range(self.n - h)]), {}

    # Bad checksums: forwarded as they are; the real server drops them.
    def c_bad_ip_csum(self):
        return self.tx(self.many(lambda i: self.udp(chksum=0x1234))), {}

    def c_bad_udp_csum(self):
        def mk(i):
            p = self.udp()
            p[UDP].chksum = 0x1234
            return p
        return self.tx(self.many(mk)), {}

    def c_bad_tcp_csum(self):
        def mk(i):
            p = self.tcp_syn()
            p[TCP].chksum = 0x1234
            return p
        return self.tx(self.many(mk)), {}

    # VLAN-tagged.
    def c_vlan(self):
        """802.1Q, VLAN 10, UDP to the VIP; the last one from a bound
        socket's port, to see whether a real server answers."""
        def mk(i):
            return self.eth / Dot1Q(vlan=10) / self.ip() / \
                UDP(sport=self.next_sport(), dport=self.a.udp_port) / b"who"
        n = self.tx(self.many(mk)[:-1])
        s = self.udp_sock()
        n += self.tx([self.eth / Dot1Q(vlan=10) / self.ip() /
                      UDP(sport=s.getsockname()[1], dport=self.a.udp_port) / b"who"])
        ans = self.recv_answer(s)
        return n, {"answer": ans}

    def c_vlan_qinq(self):
        def mk(i):
            return self.eth / Dot1AD(vlan=20) / Dot1Q(vlan=10) / self.ip() / \
                UDP(sport=self.next_sport(), dport=self.a.udp_port) / b"who"
        return self.tx(self.many(mk)), {}

    def c_vlan_8021ad(self):
        # One S-tag (0x88a8) straight over IPv4.
        def mk(i):
            return self.eth / Dot1AD(vlan=20) / self.ip() / \
                UDP(sport=self.next_sport(), dport=self.a.udp_port) / b"who"
        return self.tx(self.many(mk)), {}

    # IPv6.
    def c_ipv6(self):
        h = self.n // 2
        v6 = IPv6(src="fd00::50", dst="fd00::100")
        return self.tx([self.eth / v6 / UDP(sport=self.next_sport(), dport=self.a.udp_port)
                        for _ in range(h)] +
                       [self.eth / v6 / ICMPv6EchoRequest() for _ in range(self.n - h)]), {}

    # Broadcast.
    def c_bcast_ip(self):
        bc = ".".join(self.a.vip.split(".")[:3] + ["255"])
        e = Ether(src=self.smac, dst="ff:ff:ff:ff:ff:ff")
        h = self.n // 2
        return self.tx([e / IP(src=self.a.client_ip, dst="255.255.255.255") /
                        UDP(sport=self.next_sport(), dport=self.a.udp_port) / b"who"
                        for _ in range(h)] +
                       [e / IP(src=self.a.client_ip, dst=bc) /
                        UDP(sport=self.next_sport(), dport=self.a.udp_port) / b"who"
                        for _ in range(self.n - h)]), {}

    def c_bcast_mac_vip(self):
        e = Ether(src=self.smac, dst="ff:ff:ff:ff:ff:ff")
        s = self.udp_sock()
        p = e / self.ip() / UDP(sport=s.getsockname()[1], dport=self.a.udp_port) / b"who"
        n = self.tx([p])
        ans = self.recv_answer(s)
        return n, {"answer": ans}

    # Random bytes.
    def c_random(self):
        """a.random frames in three thirds: random bytes after the
        Ethernet addresses; EtherType IPv4 and a random IP header; a sound
        IP header to the VIP (TCP/UDP/ICMP) and random L4 bytes."""
        r = self.rng
        hdr = bytes(self.eth)[:12]
        frames = []
        third = self.a.random // 3
        for _ in range(third):
            frames.append(hdr + r.randbytes(r.randint(2, 300)))
        for _ in range(third):
            b = bytearray(r.randbytes(r.randint(1, 120)))
            b[0] = 0x40 | (b[0] & 0x0F)
            frames.append(hdr + b"\x08\x00" + bytes(b))
        for _ in range(self.a.random - 2 * third):
            proto = r.choice([6, 17, 1])
            body = r.randbytes(r.randint(0, 80))
            if proto != 1 and len(body) >= 4:
                port = self.a.tcp_port if proto == 6 else self.a.udp_port
                body = body[:2] + struct.pack("!H", port) + body[4:]
            frames.append(bytes(self.eth / self.ip(proto=proto) / Raw(body)))
        return self.tx(frames), {}

    def classes(self):
        return [m[2:] for m in dir(self) if m.startswith("c_")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dmac", required=True)
    ap.add_argument("--vip", required=True)
    ap.add_argument("--client-ip", required=True)
    ap.add_argument("--tcp-port", type=int, default=80)
    ap.add_argument("--udp-port", type=int, default=5353)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--random", type=int, default=300)
    ap.add_argument("classes", nargs="*", help="send these and exit (no stdin)")
    a = ap.parse_args()
    h = Hostile(a)

    def run(name):
        fn = getattr(h, "c_" + name, None)
        if fn is None:
            print("error unknown-class %s" % name, flush=True)
            return
        try:
            n, extra = fn()
        except Exception as e:  # noqa: BLE001 - reported to the test, which fails
            n, extra = 0, {"error": "%s:%s" % (type(e).__name__,
                                               str(e).replace(" ", "_")[:80])}
        print(" ".join(["sent", name, str(n)] +
                       ["%s=%s" % kv for kv in sorted(extra.items())]), flush=True)

    if a.classes:
        for c in a.classes:
            run(c)
        return
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if not cmd:
            continue
        if cmd == "quit":
            break
        if cmd == "list":
            print(" ".join(h.classes()), flush=True)
            continue
        run(cmd)


if __name__ == "__main__":
    main()
