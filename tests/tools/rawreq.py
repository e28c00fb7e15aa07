#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send raw packets to redirectd's socket and print each reply's code.

rawreq.py SOCKET [--hello] HEX [HEX...]   one packet per HEX argument
                                          ("big" = 70000 bytes, "empty" = 0)
rawreq.py SOCKET --snapshot-hold GO_FILE [UID...]
                                          Hello, PodKeep each UID, then once
                                          GO_FILE exists, SnapshotDone
rawreq.py SOCKET --podadd-fd NETNS_FILE UID IP [IP...]
                                          Hello, then a PodAdd whose netns
                                          travels as an fd (SCM_RIGHTS); with
                                          RAWREQ_NETNS_PATH set, that path too
rawreq.py SOCKET --ztunneladd-fd NETNS_FILE UID IP [IP...]
                                          the same for a ZtunnelAdd (no path)
Prints one line per reply: "<code> <message>" (code as a number), or
"closed" if the daemon closed the connection. Encodes nothing itself beyond
a Hello, so malformed input reaches the daemon exactly as given.
"""
import os, socket, sys, time

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


def enc_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def enc_field(num, payload):
    if isinstance(payload, int):
        return enc_varint(num << 3) + enc_varint(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return enc_varint(num << 3 | 2) + enc_varint(len(payload)) + payload


def podadd_fd(s, netns, uid, ips):
    body = enc_field(1, uid) + b"".join(enc_field(6, ip) for ip in ips)
    if os.environ.get("RAWREQ_NETNS_PATH"):
        body += enc_field(4, os.environ["RAWREQ_NETNS_PATH"])
    send_with_fd(s, enc_field(1, 2) + enc_field(3, body), netns)


def ztunneladd_fd(s, netns, uid, ips):
    body = enc_field(1, uid) + b"".join(enc_field(4, ip) for ip in ips)
    send_with_fd(s, enc_field(1, 2) + enc_field(7, body), netns)


def send_with_fd(s, req, netns):
    fd = os.open(netns, os.O_RDONLY)
    s.send(HELLO)
    print("%d %s" % parse_reply(s.recv(70000)))
    socket.send_fds(s, [req], [fd])
    os.close(fd)
    print("%d %s" % parse_reply(s.recv(70000)))


def snapshot_hold(s, go, uids):
    """PodKeep each uid, wait until the file go exists, SnapshotDone."""
    s.send(HELLO)
    print("%d %s" % parse_reply(s.recv(70000)), flush=True)
    for u in uids:
        s.send(enc_field(1, 5) + enc_field(5, enc_field(1, u)))
        print("%d %s" % parse_reply(s.recv(70000)), flush=True)
    while not os.path.exists(go):
        time.sleep(0.02)
    s.send(enc_field(1, 6) + enc_field(6, b""))
    print("%d %s" % parse_reply(s.recv(70000)), flush=True)


def main():
    args = sys.argv[1:]
    path = args.pop(0)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    if args and args[0] == "--podadd-fd":
        podadd_fd(s, args[1], args[2], args[3:])
        return
    if args and args[0] == "--ztunneladd-fd":
        ztunneladd_fd(s, args[1], args[2], args[3:])
        return
    if args and args[0] == "--snapshot-hold":
        s.settimeout(60)
        snapshot_hold(s, args[1], args[2:])
        return
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
