#!/usr/bin/python3
"""
A stand-in for systemd's end of sd_notify(3): bind the AF_UNIX datagram
socket NOTIFY_SOCKET names (a path or "@abstract"), print one line per
message received ("msg N: KEY=VALUE KEY=VALUE"), and when a message says
READY=1, run CMD at once (before reading the next message) and print
"ready N: cmd rc=R": whether the control socket worked when READY came.

  notify_listen.py SOCKET OUT [CMD ...]

Runs until killed; writes "listening" to OUT once bound.
"""
import os
import socket
import subprocess
import sys


def main():
    addr, out, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
    with open(out, "a", buffering=1) as f:
        f.write("listening\n")
        n = 0
        while True:
            data = s.recv(4096).decode(errors="replace")
            n += 1
            f.write("msg %d: %s\n" % (n, " ".join(data.split("\n"))))
            if "READY=1" in data.split("\n") and cmd:
                rc = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL).returncode
                f.write("ready %d: cmd rc=%d\n" % (n, rc))


if __name__ == "__main__":
    sys.exit(main())
