#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A FUSE file system whose server stops answering, for the hostile-peer
tests: every call that reaches it can be made to block.

fusestall.py MOUNTPOINT READY_FILE

Mounts a FUSE file system at MOUNTPOINT (root only: it speaks to
/dev/fuse itself, stdlib only) with allow_other, holding one regular
file, "file". It answers what opening that file needs (INIT, LOOKUP of
"file", GETATTR of the root, OPEN) and never answers anything else:
LOOKUP of any other name, GETATTR or STATFS of "file", FLUSH (the
close() of an open file), RELEASE... A caller reaching one of those
blocks until this process dies (the kernel then aborts the connection).
READY_FILE is created once mounted. SIGTERM: exit (the caller unmounts).
"""
import ctypes, os, signal, struct, sys

FUSE_LOOKUP, FUSE_GETATTR, FUSE_OPEN, FUSE_INIT = 1, 3, 14, 26
FUSE_INTERRUPT, FUSE_FORGET, FUSE_BATCH_FORGET = 36, 2, 42
ROOT, FILE = 1, 2
IN_HDR = struct.Struct("<IIQQIIIHH")  # len opcode unique nodeid uid gid pid ext pad
OUT_HDR = struct.Struct("<IiQ")  # len error unique


def attr(ino):
    mode = 0o40755 if ino == ROOT else 0o100666
    # ino size blocks atime mtime ctime (ns x3) mode nlink uid gid rdev blksize flags
    return struct.pack("<QQQQQQIIIIIIIIII", ino, 0, 0, 0, 0, 0, 0, 0, 0,
                       mode, 1, 0, 0, 0, 4096, 0)


def reply(dev, unique, payload=b"", error=0):
    os.write(dev, OUT_HDR.pack(OUT_HDR.size + len(payload), error, unique) + payload)


def answer(dev, op, unique, nodeid, body):
    """Reply to what opening "file" needs; None: leave the caller waiting."""
    if op == FUSE_INIT:
        major, minor = struct.unpack_from("<II", body)
        # major minor max_readahead flags max_background congestion
        # max_write time_gran max_pages map_alignment flags2 ...
        out = struct.pack("<IIIIHHIIHHI", 7, min(minor, 31), 0, 0, 16, 12,
                          4096, 1, 1, 0, 0) + bytes(28)
        reply(dev, unique, out)
    elif op == FUSE_LOOKUP and nodeid == ROOT and body.split(b"\0")[0] == b"file":
        # nodeid generation entry_valid attr_valid (+ nsecs) attr
        reply(dev, unique, struct.pack("<QQQQII", FILE, 0, 3600, 3600, 0, 0) + attr(FILE))
    elif op == FUSE_GETATTR and nodeid == ROOT:
        reply(dev, unique, struct.pack("<QII", 3600, 0, 0) + attr(ROOT))
    elif op == FUSE_OPEN and nodeid == FILE:
        reply(dev, unique, struct.pack("<QIi", 1, 0, 0))


def main():
    mnt, ready = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    dev = os.open("/dev/fuse", os.O_RDWR)
    libc = ctypes.CDLL(None, use_errno=True)
    opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % dev
    if libc.mount(b"fusestall", mnt.encode(), b"fuse", 0, opts.encode()):
        sys.exit("mount: %s" % os.strerror(ctypes.get_errno()))
    open(ready, "w").close()
    while True:
        try:
            req = os.read(dev, 1 << 20)
        except OSError:
            return  # unmounted
        _, op, unique, nodeid = IN_HDR.unpack_from(req)[:4]
        if op in (FUSE_FORGET, FUSE_BATCH_FORGET, FUSE_INTERRUPT):
            continue  # no replies to these
        answer(dev, op, unique, nodeid, req[IN_HDR.size:])


main()
