#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Open many connections and hold them, saying nothing: a misbehaving or
hostile client of redirectd's API socket or its metrics endpoint.

holdconns.py unix:SOCKET|tcp:HOST:PORT N READY_FILE [--uid UID]

Raises its open-file limit, drops to UID if given, opens N connections
(stopping at the first that cannot be made), then writes READY_FILE with
one line "opened N, still open M" (M: not closed by the server after a
short wait) and sleeps until killed.
"""
import os, resource, socket, sys, time


def connect(target):
    if target.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(target[5:])
    else:
        host, port = target[4:].rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=5)
    return s


def still_open(socks):
    """Sockets the server has not closed: no EOF (and no error) yet."""
    n = 0
    for s in socks:
        try:
            if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                n += 1
        except (BlockingIOError, InterruptedError):
            n += 1
        except OSError:
            pass
    return n


def main():
    target, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    uid = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--uid" else None
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, n + 64))
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    socks = []
    for _ in range(n):
        try:
            socks.append(connect(target))
        except OSError:
            break
    time.sleep(0.5)
    with open(ready + ".tmp", "w") as f:
        f.write("opened %d, still open %d\n" % (len(socks), still_open(socks)))
    os.rename(ready + ".tmp", ready)
    while True:
        time.sleep(3600)


main()
