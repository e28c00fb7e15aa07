#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send raw packets to redirectd's socket and print each reply's code.

rawreq.py SOCKET [--hello] HEX [HEX...]   one packet per HEX argument
                                          ("big" = 70000 bytes, "empty" = 0)
Prints one line per reply: "<code> <message>" (code as a number), or
"closed" if the daemon closed the connection. Encodes nothing itself beyond
a Hello, so malformed input reaches the daemon exactly as given.
"""
import socket, sys

HELLO = bytes([0x08, 0x01, 0x12, 0x02, 0x08, 0x01])  # id 1, hello{version 1}


def varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def parse_reply(buf):
    code, msg, i = 0, "", 0
    while i < len(buf):
        key, i = varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
            if field == 2:
                code = v
        elif wt == 2:
            n, i = varint(buf, i)
            if field == 3:
                msg = buf[i:i + n].decode(errors="replace")
            i += n
        else:
            break
    return code, msg


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    packets = []
    if args and args[0] == "--hello":
        args.pop(0)
        packets.append(HELLO)
    for a in args:
        packets.append(b"\x01" * 70000 if a == "big" else b"" if a == "empty" else bytes.fromhex(a))
    for p in packets:
        try:
            s.send(p)
            r = s.recv(70000)
        except OSError as e:
            print("closed", e)
            return
        if not r:
            print("closed")
            return
        print("%d %s" % parse_reply(r))


main()
