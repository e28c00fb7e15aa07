#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test traffic: a TCP/UDP echo server and a client that checks the echo.

serve --port P [--udp] [--bind ADDR]     echo everything back (both families)
send  --to ADDR --port P [--bytes N] [--udp] [--timeout S] [--rate BPS]
      sends N random bytes, reads the echo, compares SHA-256; prints one
      JSON line {"ok":..., "sent":N, "received":N, "error":...}; exit 0 if ok.
"""
import argparse, hashlib, json, os, select, socket, sys, threading, time


def serve_tcp(sock):
    def handle(c):
        with c:
            while True:
                try:
                    d = c.recv(65536)
                except OSError:
                    return
                if not d:
                    try:
                        c.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                c.sendall(d)
    while True:
        c, peer = sock.accept()
        if COUNT_FILE:
            with open(COUNT_FILE, "a") as f:
                f.write("%s\n" % (peer[0],))
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def serve_udp(sock):
    while True:
        d, peer = sock.recvfrom(65536)
        sock.sendto(d, peer)


COUNT_FILE = None


def serve(args):
    global COUNT_FILE
    COUNT_FILE = args.count_file
    socks = []
    for fam, addr in ((socket.AF_INET6, "::"), (socket.AF_INET, "0.0.0.0")):
        s = socket.socket(fam, socket.SOCK_DGRAM if args.udp else socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((addr, args.port))
        if not args.udp:
            s.listen(128)
        socks.append(s)
    if args.ready:
        open(args.ready, "w").close()
    for s in socks:
        t = threading.Thread(target=serve_udp if args.udp else serve_tcp, args=(s,), daemon=True)
        t.start()
    while True:
        time.sleep(3600)


def prepare(s, args):
    """Options an escape attempt uses: a socket mark, a chosen source."""
    if args.mark:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, args.mark)
    if args.bind_src or args.sport:
        if args.bind_src:
            s.setsockopt(socket.SOL_IP, 19, 1)  # IP_TRANSPARENT
            if s.family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, 75, 1)  # IPV6_TRANSPARENT
        s.bind((args.bind_src or ("::" if s.family == socket.AF_INET6 else "0.0.0.0"), args.sport))


def send_tcp(args, payload):
    fam = socket.AF_INET6 if ":" in args.to else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    prepare(s, args)
    s.connect((args.to, args.port))
    got = bytearray()
    sent = 0
    s.setblocking(False)
    deadline = time.time() + args.timeout
    chunk = 65536
    start = time.time()
    while len(got) < len(payload):
        if time.time() > deadline:
            raise TimeoutError("timed out after %d of %d bytes" % (len(got), len(payload)))
        want_write = sent < len(payload)
        if args.rate and want_write and sent > args.rate * (time.time() - start):
            want_write = False
        r, w, _ = select.select([s], [s] if want_write else [], [], 0.05)
        if w:
            sent += s.send(payload[sent:sent + chunk])
            if sent == len(payload):
                s.shutdown(socket.SHUT_WR)
        if r:
            d = s.recv(65536)
            if not d:
                break
            got += d
    s.close()
    return sent, bytes(got)


def send_udp(args, payload):
    fam = socket.AF_INET6 if ":" in args.to else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(args.timeout)
    prepare(s, args)
    s.connect((args.to, args.port))
    got = bytearray()
    n = args.datagram
    for i in range(0, len(payload), n):
        s.send(payload[i:i + n])
        got += s.recv(65536)
    return len(payload), bytes(got)


def send(args):
    payload = os.urandom(args.bytes)
    res = {"ok": False, "sent": 0, "received": 0}
    try:
        sent, got = (send_udp if args.udp else send_tcp)(args, payload)
        res.update(sent=sent, received=len(got),
                   ok=hashlib.sha256(got).digest() == hashlib.sha256(payload).digest())
        if not res["ok"]:
            res["error"] = "echo differs"
    except Exception as e:  # report every failure as data
        res["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(res))
    return 0 if res["ok"] else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["serve", "send"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--to")
    p.add_argument("--bytes", type=int, default=100000)
    p.add_argument("--udp", action="store_true")
    p.add_argument("--datagram", type=int, default=1000,
                   help="UDP bytes per datagram (above the MTU: fragmented)")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--rate", type=float, default=0, help="bytes per second, 0: unlimited")
    p.add_argument("--ready")
    p.add_argument("--mark", type=lambda v: int(v, 0), default=0, help="SO_MARK for the socket")
    p.add_argument("--sport", type=int, default=0, help="source port")
    p.add_argument("--bind-src", help="source address (IP_TRANSPARENT)")
    p.add_argument("--count-file", help="serve: append one line per connection here")
    args = p.parse_args()
    sys.exit(serve(args) if args.mode == "serve" else send(args))


if __name__ == "__main__":
    main()
