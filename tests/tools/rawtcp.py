#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""rawtcp.py SRC SPORT DST DPORT [FLAGS]: send one IPv4 TCP segment built
by hand (default a bare ACK), as a peer forging packets would; for the
e2e suites' attacks (tests/e2e/test_exclusions.sh). Run it in the
sender's netns, as root."""
import socket
import struct
import sys


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    src, sport, dst, dport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    flags = int(sys.argv[5], 0) if len(sys.argv) > 5 else 0x10
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 1, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(ip + tcp, (dst, 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
