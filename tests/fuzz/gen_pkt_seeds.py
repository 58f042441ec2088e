#!/usr/bin/python3
# Seed frames for fuzz_pkt: one file per kind, valid checksums (so the
# fuzzer starts from frames whose checksums the NAT invariants can follow).
# Plain python3 (struct), no scapy needed:
#   python3 tests/fuzz/gen_pkt_seeds.py tests/fuzz/corpus/fuzz_pkt
import os
import socket
import struct
import sys

CLIENT, VIP, RIP, DIP = "198.51.100.7", "192.168.0.1", "10.0.1.2", "10.0.0.1"
SMAC, DMAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def eth(payload, vlan=None, etype=0x0800):
    h = DMAC + SMAC
    if vlan is not None:
        h += struct.pack("!HH", 0x8100, vlan)
    return h + struct.pack("!H", etype) + payload


def ipv4(proto, payload, src=CLIENT, dst=VIP, opts=b"", ttl=64, ident=0x1234,
         df=True, mf=False, frag=0, tot=None):
    ihl = 5 + len(opts) // 4
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag // 8)
    tot = tot if tot is not None else ihl * 4 + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, ident, flags, ttl,
                    proto, 0, ip4(src), ip4(dst)) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def l4sum(proto, src, dst, seg):
    ph = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, len(seg))
    return csum(ph + seg)


def tcp(sport, dport, flags=0x02, payload=b"", src=CLIENT, dst=VIP, opts=b""):
    doff = 5 + len(opts) // 4
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, doff << 4, flags,
                      65535, 0, 0) + opts + payload
    c = l4sum(6, src, dst, seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(sport, dport, payload=b"", src=CLIENT, dst=VIP, nocsum=False,
        ulen=None):
    ulen = ulen if ulen is not None else 8 + len(payload)
    seg = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    if nocsum:
        return seg
    c = l4sum(17, src, dst, seg[:ulen]) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp(typ, code, rest, body):
    m = struct.pack("!BBH", typ, code, 0) + rest + body
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


C6, V6, R6, D6 = "2001:db8:c::7", "2001:db8::1", "2001:db8:10::2", "2001:db8:10::1"


def ip6a(a):
    return socket.inet_pton(socket.AF_INET6, a)


def l4sum6(nh, src, dst, seg):
    ph = ip6a(src) + ip6a(dst) + struct.pack("!IxxxB", len(seg), nh)
    return csum(ph + seg)


def ipv6(nh, payload, src=C6, dst=V6, hlim=64, tc=0, fl=0x12345, plen=None):
    plen = plen if plen is not None else len(payload)
    return struct.pack("!IHBB", 0x60000000 | tc << 20 | fl, plen, nh, hlim) + \
        ip6a(src) + ip6a(dst) + payload


def ext6(nh, body=b"\x01\x04\0\0\0\0"):
    # nh, length in 8-byte units - 1, then PadN options
    return bytes([nh, (len(body) + 2) // 8 - 1]) + body


def tcp6(sport, dport, flags=0x02, payload=b"", src=C6, dst=V6):
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, flags,
                      65535, 0, 0) + payload
    return seg[:16] + struct.pack("!H", l4sum6(6, src, dst, seg)) + seg[18:]


def udp6(sport, dport, payload=b"", src=C6, dst=V6):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    return seg[:6] + struct.pack("!H", l4sum6(17, src, dst, seg) or 0xFFFF) + seg[8:]


def icmp6(typ, code, rest, body, src, dst):
    m = struct.pack("!BBH", typ, code, 0) + rest + body
    return m[:2] + struct.pack("!H", l4sum6(58, src, dst, m)) + m[4:]


def frames6(f):
    e6 = lambda p, vlan=None: eth(p, vlan, etype=0x86DD)
    f["v6_tcp_syn"] = e6(ipv6(6, tcp6(40000, 80)))
    f["v6_tcp_data"] = e6(ipv6(6, tcp6(40000, 80, 0x18, b"GET / HTTP/1.0\r\n\r\n")))
    f["v6_tcp_reply_from_rs"] = e6(ipv6(6, tcp6(8080, 40000, 0x12, src=R6, dst=C6),
                                        src=R6, dst=C6))
    f["v6_udp"] = e6(ipv6(17, udp6(5353, 53, b"\x12\x34" + b"\0" * 10)))
    f["v6_udp_from_rs"] = e6(ipv6(17, udp6(53, 5353, b"answer", src=R6, dst=C6),
                                  src=R6, dst=C6))
    f["v6_udp_padded"] = e6(ipv6(17, udp6(1, 2, b""))) + b"\0" * 6
    f["v6_vlan_tcp"] = e6(ipv6(6, tcp6(40001, 80)), vlan=100)
    f["v6_flow0_tcp"] = e6(ipv6(6, tcp6(40002, 80), fl=0, tc=0xB8))
    # Extension headers: hop-by-hop, routing (segments left 0), dest opts.
    seg = udp6(40003, 53, b"z")
    chain = ext6(43, b"\x01\x04\0\0\0\0") + \
        bytes([60, 0, 4, 0, 0, 0, 0, 0]) + ext6(17)
    f["v6_ext_chain_udp"] = e6(ipv6(0, chain + seg))
    f["v6_ext_8_tcp"] = e6(ipv6(60, b"".join(ext6(60) for _ in range(7)) +
                                ext6(6) + tcp6(40004, 80)))
    f["v6_ext_9_tcp"] = e6(ipv6(60, b"".join(ext6(60) for _ in range(8)) +
                                ext6(6) + tcp6(40004, 80)))
    f["v6_routing_segleft"] = e6(ipv6(43, bytes([6, 0, 4, 1, 0, 0, 0, 0]) +
                                      tcp6(40005, 80)))
    f["v6_frag_first"] = e6(ipv6(44, bytes([17, 0, 0, 1]) + b"\xde\xad\xbe\xef" +
                                 udp6(40006, 53, b"A" * 32)))
    f["v6_frag_later"] = e6(ipv6(44, bytes([17, 0, 0, 0x28]) + b"\xde\xad\xbe\xef" +
                                 b"A" * 24))
    f["v6_bad_plen"] = e6(ipv6(6, tcp6(1, 80), plen=200))
    f["v6_ext_trunc"] = e6(ipv6(60, bytes([6, 3]) + b"\0" * 6 + tcp6(1, 80)))
    f["v6_udp_nocsum"] = e6(ipv6(17, struct.pack("!HHHH", 1, 2, 8, 0)))
    f["v6_truncated"] = e6(ipv6(6, tcp6(1, 80)))[:14 + 30]
    f["v6_esp"] = e6(ipv6(50, b"\0" * 24))
    # ICMPv6: echo, neighbour solicitation, errors quoting TCP / UDP.
    f["v6_icmp_echo"] = e6(ipv6(58, icmp6(128, 0, struct.pack("!HH", 0x42, 1),
                                          b"ping" * 4, C6, V6)))
    f["v6_icmp_ns"] = e6(ipv6(58, icmp6(135, 0, b"\0" * 4, ip6a(V6), C6, V6),
                              hlim=255))
    out_tcp = ipv6(6, tcp6(80, 40000, 0x12, src=V6, dst=C6), src=V6, dst=C6)
    f["v6_icmp_unreach_tcp_in"] = e6(ipv6(58, icmp6(1, 3, b"\0" * 4, out_tcp,
                                                    "2001:db8:ff::1", V6),
                                          src="2001:db8:ff::1"))
    in_udp = ipv6(17, udp6(40000, 8080, b"x" * 30, src=C6, dst=R6), dst=R6)
    f["v6_icmp_ptb_from_rs"] = e6(ipv6(58, icmp6(2, 0, struct.pack("!I", 1280),
                                                 in_udp, R6, C6), src=R6, dst=C6))
    f["v6_icmp_time_exceeded_cut"] = e6(ipv6(58, icmp6(3, 0, b"\0" * 4, in_udp[:48],
                                                       "2001:db8:10::fe", C6),
                                             src="2001:db8:10::fe", dst=C6))
    f["v6_icmp_paramprob_ext"] = e6(ipv6(58, icmp6(4, 0, b"\0\0\0\x28",
                                                   ipv6(60, ext6(6) + tcp6(40000, 80))[:56],
                                                   "2001:db8:ff::1", V6),
                                         src="2001:db8:ff::1"))
    f["v6_ipip6"] = e6(ipv6(41, ipv6(6, tcp6(40007, 80)), src=D6, dst=R6))
    f["v6_ip4in6"] = e6(ipv6(4, ipv4(6, tcp(40008, 80)), src=D6, dst=R6))
    # Too big for TUN6 at MTU 1500 (setup bytes at the end: MTU 0x05DC).
    f["v6_tcp_1500_ptb"] = e6(ipv6(6, tcp6(40009, 80, 0x18, b"D" * 1432 +
                                             bytes([5, 2, 0, 0, 0x05, 0xDC, 0, 1]))))


def frames():
    f = {}
    frames6(f)
    syn = tcp(40000, 80, opts=bytes.fromhex("020405b4"))
    f["tcp_syn"] = eth(ipv4(6, syn))
    f["tcp_data"] = eth(ipv4(6, tcp(40000, 80, 0x18, b"GET / HTTP/1.0\r\n\r\n")))
    f["tcp_reply_from_rs"] = eth(ipv4(6, tcp(80, 40000, 0x12, src=RIP, dst=CLIENT),
                                      src=RIP, dst=CLIENT))
    f["tcp_fin"] = eth(ipv4(6, tcp(40000, 80, 0x11)))
    f["udp_dns"] = eth(ipv4(17, udp(5353, 53, b"\x12\x34" + b"\0" * 10)))
    f["udp_nocsum"] = eth(ipv4(17, udp(5353, 53, b"hello", nocsum=True)))
    f["udp_from_rs"] = eth(ipv4(17, udp(53, 5353, b"answer", src=RIP, dst=CLIENT),
                                src=RIP, dst=CLIENT))
    # Short frame: Ethernet padding after the datagram (60 bytes on the wire).
    f["udp_padded"] = eth(ipv4(17, udp(1, 2, b"x"))) + b"\0" * 17
    # UDP length below the IP payload (the rest is padding inside IP).
    f["udp_short_ulen"] = eth(ipv4(17, udp(7, 9, b"abcdefgh", ulen=12)))
    f["vlan_tcp"] = eth(ipv4(6, tcp(40001, 80)), vlan=100)
    f["vlan_udp"] = eth(ipv4(17, udp(40001, 53, b"q")), vlan=0xE005)
    # IP options: record route (7) padded with NOPs, and router alert.
    rr = bytes([7, 11, 4]) + b"\0" * 8 + b"\x01"
    f["ip_options_tcp"] = eth(ipv4(6, tcp(40002, 80), opts=rr))
    f["ip_options_udp"] = eth(ipv4(17, udp(40002, 53, b"z"), opts=b"\x94\x04\0\0"))
    f["ip_options_max"] = eth(ipv4(6, tcp(40003, 80), opts=b"\x01" * 40))
    # Fragments: a first one (MF, offset 0) and a later one.
    big = udp(40004, 53, b"A" * 64)
    f["frag_first_udp"] = eth(ipv4(17, big[:24], df=False, mf=True))
    f["frag_later_udp"] = eth(ipv4(17, big[24:], df=False, frag=24))
    f["frag_first_tcp"] = eth(ipv4(6, tcp(40005, 80, 0x18, b"B" * 40)[:32],
                                   df=False, mf=True))
    f["nodf_tcp"] = eth(ipv4(6, tcp(40006, 80, 0x18, b"C" * 100), df=False))
    # ICMP echo, and errors quoting TCP / UDP / ICMP, both directions.
    f["icmp_echo"] = eth(ipv4(1, icmp(8, 0, struct.pack("!HH", 0x42, 1), b"ping" * 8)))
    out_tcp = ipv4(6, tcp(80, 40000, 0x12, src=VIP, dst=CLIENT), src=VIP, dst=CLIENT)
    f["icmp_unreach_tcp_in"] = eth(ipv4(1, icmp(3, 3, b"\0" * 4, out_tcp),
                                        src="203.0.113.9", dst=VIP))
    out_udp = ipv4(17, udp(53, 5353, b"answer", src=VIP, dst=CLIENT),
                   src=VIP, dst=CLIENT)
    f["icmp_unreach_udp_in"] = eth(ipv4(1, icmp(3, 1, b"\0" * 4, out_udp[:28]),
                                        src=CLIENT, dst=VIP))
    in_tcp = ipv4(6, tcp(40000, 8080, src=CLIENT, dst=RIP), dst=RIP)
    f["icmp_fragneeded_from_rs"] = eth(ipv4(1, icmp(3, 4, struct.pack("!HH", 0, 1400),
                                                    in_tcp), src=RIP, dst=CLIENT))
    f["icmp_time_exceeded_udp"] = eth(ipv4(1, icmp(11, 0, b"\0" * 4,
                                                   ipv4(17, udp(5353, 53, b"x"), dst=RIP)),
                                           src="10.0.1.254", dst=CLIENT))
    f["icmp_quench_icmp"] = eth(ipv4(1, icmp(4, 0, b"\0" * 4,
                                             ipv4(1, icmp(8, 0, b"\0\x01\0\x01", b"")))))
    f["icmp_paramprob_frag"] = eth(ipv4(1, icmp(12, 0, b"\x14\0\0\0",
                                                ipv4(6, b"\0" * 8, df=False, frag=8))))
    f["icmp_err_inner_opts"] = eth(ipv4(1, icmp(3, 3, b"\0" * 4,
                                                ipv4(17, udp(1, 2), opts=b"\x01" * 4))))
    # Other IP protocols pass the parser with l4_hlen 0.
    f["gre"] = eth(ipv4(47, b"\0\0\x08\0" + b"\0" * 20))
    f["ipip"] = eth(ipv4(4, ipv4(6, tcp(40007, 80)), src=DIP, dst=RIP))
    # Jumbo and near-limit datagrams for the TUN MTU checks.
    f["tcp_1500"] = eth(ipv4(6, tcp(40008, 80, 0x18, b"D" * 1460)))
    f["tcp_ttl0"] = eth(ipv4(6, tcp(40009, 80), ttl=0))
    # DF clear and too big once encapsulated: TUN sends outer fragments.
    # The last 8 bytes are the fuzz target's setup: tailroom, headroom 256,
    # MTU 1500 (2 fragments) and 576 (6 fragments of a jumbo datagram).
    f["udp_nodf_1500_tun_frag"] = eth(ipv4(17, udp(40010, 514, b"E" * 1464 +
                                                   bytes([5, 2, 0, 0, 0x05, 0xDC, 0, 1])),
                                           df=False))
    f["udp_nodf_3000_tun_frag_576"] = eth(ipv4(17, udp(40011, 5060, b"F" * 2964 +
                                                       bytes([5, 2, 0, 0, 0x02, 0x40, 0, 1])),
                                               df=False))
    # Frames the parser must refuse or pass on.
    f["arp"] = eth(bytes.fromhex("0001080006040001") + SMAC + ip4(CLIENT) +
                   b"\0" * 6 + ip4(VIP), etype=0x0806)
    f["ipv6"] = eth(bytes.fromhex("60000000000806400000") + b"\0" * 30, etype=0x86DD)
    f["qinq"] = (DMAC + SMAC + struct.pack("!HHHHH", 0x8100, 5, 0x8100, 7, 0x0800) +
                 ipv4(6, tcp(1, 80)))
    f["bad_ihl"] = eth(b"\x44" + ipv4(6, tcp(1, 80))[1:])
    f["bad_totlen"] = eth(ipv4(6, tcp(1, 80), tot=2000))
    f["bad_doff"] = eth(ipv4(6, tcp(1, 80)[:12] + b"\x40" + tcp(1, 80)[13:]))
    f["bad_udp_len"] = eth(ipv4(17, udp(1, 2, b"abc", ulen=100)))
    f["truncated_tcp"] = eth(ipv4(6, tcp(1, 80)))[:14 + 20 + 10]
    return f


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_pkt"
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(frames().items()):
        with open(os.path.join(out, name), "wb") as fp:
            fp.write(data)


if __name__ == "__main__":
    main()
