#!/usr/bin/python3
# Hostile and odd HTTP clients of xlbd --metrics (tests/lab/test_metrics.sh).
#
#   metrics_clients.py hold HOST PORT N SECONDS idle|noread
#       opens N connections and holds them SECONDS, then exits. idle: sends
#       half a request line and nothing more; noread: a tiny receive
#       buffer, a whole GET /metrics, and never reads the response. Prints
#       "held N" once they are all connected (refused ones included: the
#       server accepts and closes those), then "closed_by_server K" at the
#       end: how many the server closed meanwhile.
#   metrics_clients.py garbage HOST PORT
#       one connection per case (malformed, oversized, wrong method, path
#       or version); prints "CASE STATUS" per case (STATUS "none" when the
#       connection closed without a status line).
import socket
import sys
import time


def status_of(host, port, data, timeout=5):
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        if data:
            s.sendall(data)
        got = b""
        while b"\r\n" not in got and len(got) < 4096:
            b = s.recv(4096)
            if not b:
                break
            got += b
        line = got.split(b"\r\n", 1)[0].split()
        return line[1].decode() if len(line) >= 2 and line[0].startswith(b"HTTP/") else "none"
    except (ConnectionResetError, socket.timeout):
        return "none"
    finally:
        s.close()


def garbage(host, port):
    cases = [
        ("binary", bytes(range(256)) * 4 + b"\r\n\r\n"),
        ("nul", b"\0" * 64 + b"\r\n\r\n"),
        ("no_version", b"GET /metrics\r\n\r\n"),
        ("http2", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        ("http09_version", b"GET /metrics HTTP/0.9\r\n\r\n"),
        ("post", b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"),
        ("delete", b"DELETE /metrics HTTP/1.1\r\n\r\n"),
        ("other_path", b"GET /metricsx HTTP/1.1\r\n\r\n"),
        ("root", b"GET / HTTP/1.0\r\n\r\n"),
        ("huge_header", b"GET /metrics HTTP/1.1\r\nX-A: " + b"a" * 20000 + b"\r\n\r\n"),
        ("endless_crlf", b"\r\n" * 6000),
        ("query", b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("bare_lf", b"GET /metrics HTTP/1.0\n\n"),
    ]
    for name, data in cases:
        print(name, status_of(host, port, data), flush=True)


def hold(host, port, n, seconds, mode):
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if mode == "noread":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.connect((host, port))
        if mode == "noread":
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        else:
            s.sendall(b"GET /met")
        socks.append(s)
    print("held", len(socks), flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.2)
    closed = 0
    for s in socks:
        # Without reading the response: a peek says whether the server
        # closed (EOF or reset after whatever it sent).
        s.setblocking(False)
        try:
            if mode == "idle" and s.recv(1, socket.MSG_PEEK) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    print("closed_by_server", closed, flush=True)


if __name__ == "__main__":
    what, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if what == "garbage":
        garbage(host, port)
    else:
        hold(host, port, int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
