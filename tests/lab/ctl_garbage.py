#!/usr/bin/python3
# Sends malformed messages to xlbd's control socket (SOCK_SEQPACKET):
# random bytes, truncated and oversized datagrams, lying lengths, unknown
# commands, mistyped and out-of-range attributes. Every one, crafted or
# random, must be answered with NLMSG_ERROR carrying a negative errno:
# nothing may be answered with success, nor go unanswered. One kind cannot
# be answered and is counted apart: an empty datagram, which on a
# SOCK_SEQPACKET socket reads as end-of-file (recv returns 0), so xlbd
# closes that connection. Prints one line per finding and the counts;
# exit 0 when all held. (Used by tests/lab/test_ctl.sh.)
import random
import socket
import struct
import sys

PATH = sys.argv[1]
XLB_GENL_ID = 0x20
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLA_F_NESTED = 0x8000
rng = random.Random(20240611)


def attr(typ, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, typ) + payload + b"\0" * ((4 - n % 4) % 4)


def nest(typ, *attrs):
    return attr(typ | NLA_F_NESTED, b"".join(attrs))


def msg(cmd, body=b"", flags=NLM_F_REQUEST | NLM_F_ACK, typ=XLB_GENL_ID,
        length=None, version=1):
    payload = struct.pack("=BBH", cmd, version, 0) + body
    n = 16 + len(payload) if length is None else length
    return struct.pack("=IHHII", n, typ, flags, 7, 0) + payload


def svc(addr=b"\x0a\x09\x09\x09", port=struct.pack("!H", 80), proto=6, extra=b""):
    a = attr(1, struct.pack("=H", 2)) + attr(2, struct.pack("=H", proto))
    if addr is not None:
        a += attr(3, addr)
    if port is not None:
        a += attr(4, port)
    return nest(1, a + extra)


def dest(addr=b"\x0a\x09\x09\x0a", port=struct.pack("!H", 80), extra=b""):
    return nest(2, attr(1, addr) + attr(2, port) + extra)


def exchange(data):
    """Send one datagram; return (errno from NLMSG_ERROR or None, raw reply).
    A connection closed without a reply gives raw b"", a timeout None."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(3)
    s.connect(PATH)
    try:
        s.send(data)
        r = s.recv(1 << 17)
    except socket.timeout:
        r = None
    except (ConnectionResetError, BrokenPipeError):
        r = b""
    finally:
        s.close()
    if r is None:
        return None, b"(timeout)"
    if len(r) >= 20:
        _, typ, _, _, _ = struct.unpack("=IHHII", r[:16])
        if typ == NLMSG_ERROR:
            return struct.unpack("=i", r[16:20])[0], r
    return None, r


crafted = [
    ("unknown command 99", msg(99)),
    ("new service without attributes", msg(1)),
    ("service address of 2 bytes", msg(1, svc(addr=b"\x0a\x00"))),
    ("service port of 4 bytes", msg(1, svc(port=b"\0\0\0\x50"))),
    ("service protocol 99", msg(1, svc(proto=99))),
    ("service without address", msg(1, svc(addr=None))),
    ("scheduler name without NUL", msg(1, svc(extra=attr(6, b"ring")))),
    ("unknown scheduler", msg(1, svc(extra=attr(6, b"nope\0")))),
    ("vnodes 0", msg(1, svc(extra=attr(64, struct.pack("=I", 0))))),
    ("netmask not contiguous", msg(1, svc(extra=attr(9, b"\xff\x00\xff\x00")))),
    ("service nest not nested", msg(1, attr(1, b"\x01\x02\x03\x04"))),
    ("weight 70000", msg(5, svc() + dest(extra=attr(4, struct.pack("=I", 70000))))),
    ("forwarding method 7", msg(5, svc() + dest(extra=attr(3, struct.pack("=I", 7))))),
    ("destination without service", msg(5, dest())),
    ("attribute longer than message",
     msg(1, struct.pack("=HH", 200, 1 | NLA_F_NESTED) + b"\0" * 8)),
    ("attribute length 2", msg(1, struct.pack("=HH", 2, 1) + b"\0" * 4)),
    ("genl version 9", msg(4, version=9)),
    ("set config with 2-byte timeout", msg(12, attr(4, b"\x01\x00"))),
    ("nlmsg_len beyond the datagram", msg(15, length=400)),
    ("nlmsg_len below the header", msg(15, length=8)),
    ("message without genl header", struct.pack("=IHHII", 16, XLB_GENL_ID, 5, 1, 0)),
    ("foreign nlmsg_type", msg(15, typ=0x99)),
    ("oversized datagram", msg(1, b"\0" * 70000)),
]
bad = 0
answered = 0
for name, data in crafted:
    err, raw = exchange(data)
    if err is not None and err < 0:
        answered += 1
        print(f"ok   - {name}: NLMSG_ERROR {err}")
    else:
        bad += 1
        print(f"FAIL - {name}: reply error={err} raw={raw[:32].hex()}")

# The one message that cannot be answered: zero bytes is end-of-file.
err, raw = exchange(b"")
if err is None and raw == b"":
    print("ok   - empty datagram: connection closed, no answer (end-of-file on SOCK_SEQPACKET)")
else:
    bad += 1
    print(f"FAIL - empty datagram: reply error={err} raw={raw[:32].hex()}")

# Random bytes: each one answered with an error, never success.
rand_err = 0
for i in range(300):
    data = rng.randbytes(rng.randint(1, 400))
    if i % 3 == 0 and len(data) >= 16:
        # Make the header plausible so the parser goes further in.
        data = struct.pack("=IHH", len(data), XLB_GENL_ID, 5) + data[8:]
    err, raw = exchange(data)
    if err is not None and err < 0:
        rand_err += 1
    elif err is not None:
        bad += 1
        print(f"FAIL - random message {i} was accepted: {data[:32].hex()}")
    else:
        bad += 1
        print(f"FAIL - random message {i} got no answer ({raw[:16].hex()}): {data[:32].hex()}")
print(f"{'ok  ' if rand_err == 300 else 'FAIL'} - 300 random messages sent, {rand_err} answered with an error")
print(f"summary: {len(crafted)} crafted + 300 random messages, "
      f"{answered + rand_err} answered with an error; 1 empty datagram closed without an answer")
sys.exit(1 if bad else 0)
