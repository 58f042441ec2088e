#!/usr/bin/python3
# Golden IPv6 frames for the NAT66 / TUN6 / Packet Too Big unit tests, built
# by Scapy (its own checksum code: an implementation independent of lb/ and
# of tests/unit/frames.c). Writes tests/unit/golden6.h; committed, remade by
#   /usr/bin/python3 tests/unit/gen_golden6.py > tests/unit/golden6.h
import sys
from scapy.all import (Ether, IPv6, IP, TCP, UDP, Raw, ICMPv6DestUnreach,
                       ICMPv6PacketTooBig, ICMPv6TimeExceeded,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt)

CLIENT, VIP, RIP = "2001:db8:c::7", "2001:db8::100", "2001:db8:10::5"
DIP, ROUTER = "2001:db8:10::1", "2001:db8:ff::1"
CPORT, VPORT, RPORT = 51000, 80, 8080
# Frames arrive 02:00:00:00:00:02 -> 02:00:00:00:00:01 (the director) and
# leave 02:d1:00:00:00:01 (the director) -> 02:aa:00:00:00:05 (next hop).
IN_L2 = dict(dst="02:00:00:00:00:01", src="02:00:00:00:00:02")
OUT_L2 = dict(dst="02:aa:00:00:00:05", src="02:d1:00:00:00:01")


def tcp(sport, dport, flags="S", data=b"hello, v6"):
    return TCP(sport=sport, dport=dport, flags=flags, seq=1000, ack=0,
               window=64240, options=[("MSS", 1440)]) / Raw(data)


def frames():
    f = {}
    # NAT66 in, TCP: client -> VIP:80 becomes client -> RIP:8080.
    f["nat6_in_tcp"] = (
        Ether(**IN_L2) / IPv6(src=CLIENT, dst=VIP, fl=0x12345, tc=0x28) /
        tcp(CPORT, VPORT),
        Ether(**OUT_L2) / IPv6(src=CLIENT, dst=RIP, fl=0x12345, tc=0x28) /
        tcp(CPORT, RPORT))
    # NAT66 in, UDP behind hop-by-hop and destination options headers.
    f["nat6_in_udp_ext"] = (
        Ether(**IN_L2) / IPv6(src=CLIENT, dst=VIP) / IPv6ExtHdrHopByHop() /
        IPv6ExtHdrDestOpt() / UDP(sport=CPORT, dport=VPORT) / Raw(b"q" * 33),
        Ether(**OUT_L2) / IPv6(src=CLIENT, dst=RIP) / IPv6ExtHdrHopByHop() /
        IPv6ExtHdrDestOpt() / UDP(sport=CPORT, dport=RPORT) / Raw(b"q" * 33))
    # NAT66 out, UDP: RIP:8080 -> client becomes VIP:80 -> client.
    f["nat6_out_udp"] = (
        Ether(**IN_L2) / IPv6(src=RIP, dst=CLIENT, hlim=63) /
        UDP(sport=RPORT, dport=CPORT) / Raw(b"answer"),
        Ether(**OUT_L2) / IPv6(src=VIP, dst=CLIENT, hlim=63) /
        UDP(sport=VPORT, dport=CPORT) / Raw(b"answer"))
    # NAT66 out, TCP SYN-ACK.
    f["nat6_out_tcp"] = (
        Ether(**IN_L2) / IPv6(src=RIP, dst=CLIENT) / tcp(RPORT, CPORT, "SA"),
        Ether(**OUT_L2) / IPv6(src=VIP, dst=CLIENT) / tcp(VPORT, CPORT, "SA"))
    # ICMPv6 error in: a router tells the VIP that our reply (VIP:80 ->
    # client) could not be delivered; the RS must see its own RIP:8080.
    f["nat6_icmp_in_unreach"] = (
        Ether(**IN_L2) / IPv6(src=ROUTER, dst=VIP) / ICMPv6DestUnreach(code=3) /
        IPv6(src=VIP, dst=CLIENT, hlim=60) / tcp(VPORT, CPORT, "SA"),
        Ether(**OUT_L2) / IPv6(src=ROUTER, dst=RIP) / ICMPv6DestUnreach(code=3) /
        IPv6(src=RIP, dst=CLIENT, hlim=60) / tcp(RPORT, CPORT, "SA"))
    # ICMPv6 error out: the RS (NAT, replies through the director) says
    # Packet Too Big about the client's packet client -> RIP:8080; the
    # client must see it from the VIP about client -> VIP:80.
    f["nat6_icmp_out_ptb"] = (
        Ether(**IN_L2) / IPv6(src=RIP, dst=CLIENT) / ICMPv6PacketTooBig(mtu=1400) /
        IPv6(src=CLIENT, dst=RIP) / UDP(sport=CPORT, dport=RPORT) / Raw(b"x" * 40),
        Ether(**OUT_L2) / IPv6(src=VIP, dst=CLIENT) / ICMPv6PacketTooBig(mtu=1400) /
        IPv6(src=CLIENT, dst=VIP) / UDP(sport=CPORT, dport=VPORT) / Raw(b"x" * 40))
    # Time exceeded quoting only 8 bytes of TCP (no checksum in the quote);
    # the outer source becomes the VIP, as IPVS does (the client knows no
    # other address on that path).
    quote = bytes(IPv6(src=CLIENT, dst=RIP, hlim=1) / tcp(CPORT, RPORT))[:48]
    quote_nat = bytes(IPv6(src=CLIENT, dst=VIP, hlim=1) / tcp(CPORT, VPORT))[:48]
    f["nat6_icmp_out_time_exceeded_cut"] = (
        Ether(**IN_L2) / IPv6(src=ROUTER, dst=CLIENT) / ICMPv6TimeExceeded() /
        Raw(quote),
        Ether(**OUT_L2) / IPv6(src=VIP, dst=CLIENT) / ICMPv6TimeExceeded() /
        Raw(quote_nat))
    # TUN6: the client's datagram inside DIP -> RIP, next header 41,
    # traffic class and flow label copied, hop limit 64.
    inner = IPv6(src=CLIENT, dst=VIP, fl=0xABCDE, tc=0xB8, hlim=57) / tcp(CPORT, VPORT)
    f["tun6_tcp"] = (
        Ether(**IN_L2) / inner,
        Ether(**OUT_L2) / IPv6(src=DIP, dst=RIP, nh=41, fl=0xABCDE, tc=0xB8,
                               hlim=64) / inner)
    # Packet Too Big from DIP for a 1400-byte payload over a 1400-byte
    # MTU: MTU 1360, quote cut to 1232 bytes (1280 in all).
    big = Ether(**IN_L2) / IPv6(src=CLIENT, dst=VIP) / tcp(CPORT, VPORT, "PA",
                                                           b"B" * 1368)
    f["ptb_big_tcp"] = (
        big,
        Ether(dst=IN_L2["src"], src=IN_L2["dst"]) /
        IPv6(src=DIP, dst=CLIENT, hlim=64, tc=0, fl=0) /
        ICMPv6PacketTooBig(mtu=1360) / Raw(bytes(big)[14:14 + 1232]))
    return f


def carray(name, b):
    out = ["static const uint8_t %s[%d] = {" % (name, len(b))]
    for i in range(0, len(b), 12):
        out.append("\t" + " ".join("0x%02x," % x for x in b[i:i + 12]))
    out.append("};")
    return "\n".join(out)


def main():
    print("/* SPDX-License-Identifier: GPL-2.0 */")
    print("/* Generated by tests/unit/gen_golden6.py (Scapy); do not edit. */")
    print("#ifndef XLB_TEST_GOLDEN6_H\n#define XLB_TEST_GOLDEN6_H\n")
    print("#include <stdint.h>\n")
    for name, (a, b) in frames().items():
        print(carray("g6_%s_in" % name, bytes(a)))
        print(carray("g6_%s_out" % name, bytes(b)))
        print()
    print("#endif")


if __name__ == "__main__":
    sys.exit(main())
