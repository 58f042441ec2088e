#!/usr/bin/python3
"""threadstop.py TID SECONDS: stop one thread (not its whole process) for
SECONDS with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT), then let it go on.
A SIGSTOP would stop every thread; this stalls one datapath worker alone."""
import ctypes
import os
import sys
import time

PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000

libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long


def ptrace(req, tid):
    if libc.ptrace(req, tid, None, None) < 0:
        e = ctypes.get_errno()
        sys.exit(f"ptrace({req:#x}, {tid}): {os.strerror(e)}")


tid, secs = int(sys.argv[1]), float(sys.argv[2])
ptrace(PTRACE_SEIZE, tid)
ptrace(PTRACE_INTERRUPT, tid)
os.waitpid(tid, WALL)
print("stopped", flush=True)
time.sleep(secs)
ptrace(PTRACE_DETACH, tid)
print("released", flush=True)
