#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send one raw Ethernet frame carrying a TCP SYN, optionally VLAN-tagged.

rawframe.py --dev eth0 --dst-mac MAC --src IP --dst IP --dport P
            [--tag 0x8100:42] [--tag 0x88a8:7] ...

Tags are written outermost first. What a pod with CAP_NET_RAW can send:
the tests use it to check that tagged frames do not slip past capture.
"""
import argparse, socket, struct


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_syn(src, dst, sport, dport):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    return hdr[:16] + struct.pack("!H", csum(pseudo + hdr)) + hdr[18:]


def ipv4(src, dst, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, 6, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dev", default="eth0")
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--src", required=True)
    p.add_argument("--dst", required=True)
    p.add_argument("--sport", type=int, default=40404)
    p.add_argument("--dport", type=int, required=True)
    p.add_argument("--tag", action="append", default=[], help="TPID:VID")
    a = p.parse_args()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.dev, 0))
    src_mac = s.getsockname()[4]
    frame = bytes.fromhex(a.dst_mac.replace(":", "")) + src_mac
    for t in a.tag:
        tpid, vid = t.split(":")
        frame += struct.pack("!HH", int(tpid, 0), int(vid))
    frame += struct.pack("!H", 0x0800)
    frame += ipv4(a.src, a.dst, tcp_syn(a.src, a.dst, a.sport, a.dport))
    s.send(frame)


if __name__ == "__main__":
    main()
