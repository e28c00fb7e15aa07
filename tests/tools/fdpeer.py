#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A hostile peer of redirectd: it sends a descriptor whose close() blocks,
or names a netns path whose lookup blocks, then holds on.

fdpeer.py SOCKET --out FILE [--as UID] [--fd linger|FILE]
          [--when prehello|status|podadd] [--path NETNS_PATH] [--uid UID]
          [--ip IP] [--wait SECONDS] [--count N]

--as UID      drop to that uid (and gid) once FILE is open
--count N     --fd FILE opened N times, all sent in the one message

--fd linger   a TCP socket (loopback of the netns it runs in) with
              SO_LINGER (one hour) and data the other end never reads:
              the last close() of it blocks for that hour
--fd FILE     FILE opened (a file on tests/tools/fusestall.py's mount:
              every close() of it blocks in FLUSH)
--when        prehello: with a StatusRequest, before any Hello
              status: Hello, then a StatusRequest carrying it
              podadd: Hello, then a PodAdd (--uid, --ip, --path) carrying
              it (without --fd: the PodAdd alone, for --path)
Writes to FILE one line per step: "hello CODE", "send ok" or
"send refused ERRNO", "reply CODE MESSAGE" or "reply none", then "held",
and keeps its end of everything open until killed.
"""
import argparse, errno, os, socket, struct, time

HELLO = bytes([0x08, 0x01, 0x12, 0x02, 0x08, 0x01])  # id 1, hello{version 1}


def varint(v):
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field(num, payload):
    if isinstance(payload, int):
        return varint(num << 3) + varint(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def parse_reply(buf):
    code, msg, i = 0, "", 0
    while i < len(buf):
        key = buf[i]
        i += 1
        if key & 7 == 0:
            v = shift = 0
            while True:
                b = buf[i]
                i += 1
                v |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            if key >> 3 == 2:
                code = v
        elif key & 7 == 2:
            n = buf[i]
            i += 1
            if n & 0x80:  # two-byte length is enough for messages
                n = (n & 0x7F) | (buf[i] << 7)
                i += 1
            if key >> 3 == 3:
                msg = buf[i:i + n].decode(errors="replace")
            i += n
        else:
            break
    return code, msg


def lingering_socket(keep):
    """A connected TCP socket holding data its peer never reads."""
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    cli = socket.socket()
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    cli.connect(lst.getsockname())
    srv, _ = lst.accept()
    keep += [lst, srv]
    cli.setblocking(False)
    try:
        while True:
            cli.send(b"x" * 65536)
    except BlockingIOError:
        pass
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 3600))
    return cli


def send(s, req, fds):
    try:
        socket.send_fds(s, [req], fds) if fds else s.send(req)
        return "send ok\n"
    except OSError as e:
        return "send refused %s\n" % errno.errorcode.get(e.errno, e.errno)


def send_lingering(s, req, keep):
    """Send a lingering socket so that redirectd's copy is the last one.
    A child sends it and closes its copy right away (before redirectd
    can have read it, as a rule); we closed ours before it sent. If the
    child comes last after all, it is the one that lingers (not waited
    for; the peer's end closing when we are killed ends that). Refused,
    the child leaves by _exit: a close at exit never lingers."""
    fd = lingering_socket(keep).detach()
    r, w = os.pipe()
    if not os.fork():
        for k in keep:  # ours: the peer must close when we are killed
            k.close()
        try:
            socket.send_fds(s, [req], [fd])
        except OSError as e:
            os.write(w, ("send refused %s\n" % errno.errorcode.get(e.errno, e.errno)).encode())
            os._exit(0)
        os.write(w, b"send ok\n")
        os.close(fd)
        os._exit(0)
    os.close(fd)
    return os.read(r, 100).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("--out", required=True)
    ap.add_argument("--as", dest="as_uid", type=int)
    ap.add_argument("--fd")
    ap.add_argument("--when", default="podadd")
    ap.add_argument("--path", default="")
    ap.add_argument("--uid", default="evil")
    ap.add_argument("--ip", default="10.99.0.1")
    ap.add_argument("--wait", type=float, default=2)
    ap.add_argument("--count", type=int, default=1)
    a = ap.parse_args()
    out = open(a.out, "w", buffering=1)
    if a.as_uid is not None:
        os.setgroups([])
        os.setgid(a.as_uid)
        os.setuid(a.as_uid)
    keep = []
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(a.socket)
    s.settimeout(a.wait)
    if a.when != "prehello":
        s.send(HELLO)
        out.write("hello %d\n" % parse_reply(s.recv(70000))[0])
    if a.when == "podadd":
        body = field(1, a.uid) + field(6, a.ip)
        if a.path:
            body += field(4, a.path)
        req = field(1, 2) + field(3, body)
    else:
        req = field(1, 2) + field(9, b"")
    if a.fd == "linger":
        out.write(send_lingering(s, req, keep))
    else:
        # a FUSE file: our copy stays open (every close() of it flushes)
        fds = [os.open(a.fd, os.O_RDONLY) for _ in range(a.count)] if a.fd else []
        out.write(send(s, req, fds))
    try:
        code, msg = parse_reply(s.recv(70000))
        out.write("reply %d %s\n" % (code, msg))
    except (socket.timeout, OSError):
        out.write("reply none\n")
    out.write("held\n")
    while True:
        time.sleep(3600)


main()
