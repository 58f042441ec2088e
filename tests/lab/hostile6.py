#!/usr/bin/python3
"""Hostile IPv6 frames at a VIP6, class by class (issue 14; run in the
client namespace with /usr/bin/python3, which has scapy).

  hostile6.py --iface IF --dmac MAC --vip VIP6 --client-ip IP6 CLASS [N]

Builds N (default 5) frames of CLASS, sends them with an AF_PACKET socket
on IF to MAC (byte for byte, Ethernet header included, so the director's
XDP program sees them as built), prints "sent CLASS N". "list" prints the
class names.
"""
import argparse
import socket
import struct
import sys

import logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import (Ether, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop,  # noqa: E402
                       IPv6ExtHdrRouting, IPv6ExtHdrFragment, TCP, UDP,
                       ICMPv6PacketTooBig, ICMPv6DestUnreach, ICMPv6ND_NS,
                       ICMPv6ND_RA, ICMPv6NDOptSrcLLAddr, PadN, Raw,
                       get_if_hwaddr)


def frames(a, cls, sport):
    eth = Ether(src=a.smac, dst=a.dmac)
    ip = IPv6(src=a.client_ip, dst=a.vip, hlim=64)
    syn = TCP(sport=sport, dport=a.port, flags="S", seq=1000)
    if cls == "ip6_trunc":          # 20 of the 40 header bytes
        return bytes(eth / ip / syn)[:14 + 20]
    if cls == "ip6_version":        # version 4 in an IPv6 EtherType
        b = bytearray(bytes(eth / ip / syn))
        b[14] = (4 << 4) | (b[14] & 0x0f)
        return bytes(b)
    if cls == "plen_past":          # payload length past the frame
        return bytes(eth / IPv6(src=a.client_ip, dst=a.vip, plen=1000) / syn)
    if cls == "plen_jumbo":         # payload length 0 (a jumbogram, no option)
        return bytes(eth / IPv6(src=a.client_ip, dst=a.vip, plen=0) / syn)
    if cls == "ext8":               # 8 destination options headers: walked
        p = ip
        for _ in range(8):
            p = p / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0" * 4)])
        return bytes(eth / p / syn)
    if cls == "ext9":               # 9: over XLB_IPV6_EXT_MAX, passed
        p = ip
        for _ in range(9):
            p = p / IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\0" * 4)])
        return bytes(eth / p / syn)
    if cls == "ext_cut":            # hop-by-hop claiming 64 bytes, 8 there
        b = bytes(eth / ip / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * 4)]))
        b = bytearray(b)
        b[14 + 41] = 7              # hdr ext len 7: 64 bytes
        return bytes(b)
    if cls == "rh_segleft":         # routing header, segments left 1
        return bytes(eth / ip / IPv6ExtHdrRouting(type=4, segleft=1,
                                                   addresses=[a.client_ip]) / syn)
    if cls == "frag_first":
        return bytes(eth / ip / IPv6ExtHdrFragment(offset=0, m=1, id=sport) /
                     UDP(sport=sport, dport=a.udp_port) / Raw(b"x" * 64))
    if cls == "frag_later":
        return bytes(eth / ip / IPv6ExtHdrFragment(offset=100, m=0, id=sport) /
                     Raw(b"x" * 64))
    if cls == "tcp_trunc":          # 10 bytes of TCP header
        return bytes(eth / IPv6(src=a.client_ip, dst=a.vip, plen=10, nh=6) /
                     Raw(bytes(syn)[:10]))
    if cls == "icmp6_unknown":      # Packet Too Big about a flow xlb never saw
        q = IPv6(src=a.vip, dst=a.client_ip) / TCP(sport=a.port, dport=sport, flags="SA")
        return bytes(eth / IPv6(src=a.router, dst=a.vip) / ICMPv6PacketTooBig(mtu=1280) / q)
    if cls == "icmp6_unreach_unknown":
        q = IPv6(src=a.vip, dst=a.client_ip) / UDP(sport=a.udp_port, dport=sport)
        return bytes(eth / IPv6(src=a.router, dst=a.vip) / ICMPv6DestUnreach(code=4) / q)
    if cls == "icmp6_cut":          # quote cut inside the inner IPv6 header
        q = bytes(IPv6(src=a.vip, dst=a.client_ip) / TCP(sport=a.port, dport=sport))[:20]
        return bytes(eth / IPv6(src=a.router, dst=a.vip) / ICMPv6PacketTooBig(mtu=1280) / Raw(q))
    if cls == "ndp_ns_vip":         # neighbour solicitation for VIP6, unicast
        return bytes(eth / IPv6(src=a.client_ip, dst=a.vip, hlim=255) /
                     ICMPv6ND_NS(tgt=a.vip) / ICMPv6NDOptSrcLLAddr(lladdr=a.smac))
    if cls == "ra_vip":             # router advertisement to VIP6
        return bytes(eth / IPv6(src="fe80::1", dst=a.vip, hlim=255) /
                     ICMPv6ND_RA(routerlifetime=0))
    if cls == "icmp6_genuine":      # PTB about the VIP's reply of a live flow
        q = IPv6(src=a.vip, dst=a.client_ip) / TCP(sport=a.port, dport=a.cport,
                                                   flags="A", seq=a.srv_nxt)
        return bytes(eth / IPv6(src=a.router, dst=a.vip) / ICMPv6PacketTooBig(mtu=1280) / q)
    raise SystemExit("unknown class " + cls)


def live_flow(a):
    """A real TCP connection to [VIP6]:PORT, kept open (keep-alive), and
    the server's next sequence number (what an ICMPv6 error must quote for
    the server's kernel to take it: tcp_v6_err drops out-of-window ones)."""
    from scapy.all import AsyncSniffer
    s = socket.create_connection((a.vip, a.port), timeout=5)
    a.cport = s.getsockname()[1]
    sn = AsyncSniffer(iface=a.iface, filter="ip6 and tcp and src port %d and dst port %d"
                      % (a.port, a.cport))
    sn.start()
    import time
    time.sleep(0.3)
    s.sendall(("GET / HTTP/1.1\r\nHost: [%s]\r\n\r\n" % a.vip).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, body = data.split(b"\r\n\r\n", 1)
    clen = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")]
    while clen and len(body) < clen[0]:
        body += s.recv(4096)
    time.sleep(0.3)
    pkts = sn.stop()
    a.srv_nxt = max((p[TCP].seq + len(p[TCP].payload)) & 0xffffffff for p in pkts if TCP in p)
    a.answer = body.decode(errors="replace").strip()
    return s


CLASSES = ["ip6_trunc", "ip6_version", "plen_past", "plen_jumbo", "ext8", "ext9",
           "ext_cut", "rh_segleft", "frag_first", "frag_later", "tcp_trunc",
           "icmp6_unknown", "icmp6_unreach_unknown", "icmp6_cut", "ndp_ns_vip",
           "ra_vip", "icmp6_genuine"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface")
    ap.add_argument("--dmac")
    ap.add_argument("--vip")
    ap.add_argument("--client-ip")
    ap.add_argument("--router", default="")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--udp-port", type=int, default=5353)
    ap.add_argument("cls")
    ap.add_argument("n", type=int, nargs="?", default=5)
    a = ap.parse_args()
    if a.cls == "list":
        print("\n".join(CLASSES))
        return
    a.smac = get_if_hwaddr(a.iface)
    a.router = a.router or a.client_ip
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((a.iface, 0))
    sent = 0
    flow = live_flow(a) if a.cls == "icmp6_genuine" else None
    for i in range(a.n):
        # Source ports of their own per class: an ICMPv6 error "about an
        # unknown flow" must not quote a flow an earlier class made.
        f = frames(a, a.cls, 30000 + 100 * CLASSES.index(a.cls) + i)
        if len(f) < 60:             # the veth pads nothing: pad as a NIC would
            f = f + b"\0" * (60 - len(f))
        try:
            s.send(f)
            sent += 1
        except OSError as e:
            print("send %s: %s" % (a.cls, e), file=sys.stderr)
    if flow:
        print("flow", a.cport, a.answer, file=sys.stderr)
        flow.close()
    print("sent", a.cls, sent)


if __name__ == "__main__":
    main()
