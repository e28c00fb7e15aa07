#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Static checks of deploy/Dockerfile, where no Docker engine runs.

check_dockerfile.py DOCKERFILE BUILD

- two stages: "debian:12 AS build" running make, then debian:12-slim;
- every COPY source exists: in the repository, or (--from=build
  /src/build/X) as BUILD/X after make all cni-static;
- every shared library redirectd and redirectctl load (ldd) belongs to a
  Debian package (dpkg -S) that the runtime stage's apt-get installs
  (libc6 is in every Debian image); jq is there for install-cni.sh;
- the plugin copied for the node is static;
- the files the DaemonSet runs are where the image puts them;
- Dockerfile.dockerignore keeps build/ out of the context.
Prints one line per problem and exits 1 if there is any.
"""
import os
import re
import subprocess
import sys

IN_EVERY_IMAGE = {"libc6"}
NEEDED_IN_IMAGE = [  # what deploy/templates/daemonset.yaml runs
    "/usr/local/sbin/redirectd",
    "/usr/local/bin/redirectctl",
    "/usr/local/sbin/redirect-cni",
    "/usr/local/share/ambient-redirect/install-cni.sh",
]
problems = []


def bad(msg):
    problems.append(msg)


def instructions(path):
    """(INSTRUCTION, args) with continuation lines joined."""
    out, cur = [], ""
    for line in open(path):
        line = line.rstrip("\n")
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        word, _, rest = cur.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def package_of(lib):
    """The Debian package owning lib (tries the merged-/usr spellings)."""
    real = os.path.realpath(lib)
    cands = {lib, real}
    for p in list(cands):
        if p.startswith("/usr/lib/"):
            cands.add(p[4:])
        elif p.startswith("/lib/"):
            cands.add("/usr" + p)
    for p in cands:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


def ldd(path):
    r = subprocess.run(["ldd", path], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def main():
    dockerfile, build = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.dirname(os.path.abspath(dockerfile)))
    stages = []
    for word, rest in instructions(dockerfile):
        if word == "FROM":
            stages.append({"from": rest, "ins": []})
        elif not stages:
            bad("%s before the first FROM" % word)
        else:
            stages[-1]["ins"].append((word, rest))
    if len(stages) != 2:
        bad("expected two stages (build, runtime), found %d" % len(stages))
        return
    build_stage, run_stage = stages
    if build_stage["from"].split() != ["debian:12", "AS", "build"]:
        bad("build stage must be 'FROM debian:12 AS build', is %r"
            % build_stage["from"])
    if run_stage["from"] != "debian:12-slim":
        bad("runtime stage must be debian:12-slim, is %r" % run_stage["from"])
    if not any(w == "RUN" and re.search(r"\bmake\b.*\bcni-static\b", r)
               for w, r in build_stage["ins"]):
        bad("the build stage must run make ... cni-static")

    copied_to = {}
    for stage in stages:
        for word, rest in stage["ins"]:
            if word not in ("COPY", "ADD"):
                continue
            args = rest.split()
            frm = None
            while args and args[0].startswith("--"):
                if args[0].startswith("--from="):
                    frm = args[0][len("--from="):]
                args.pop(0)
            if len(args) < 2:
                bad("%s %s: needs a source and a destination" % (word, rest))
                continue
            srcs, dst = args[:-1], args[-1]
            for s in srcs:
                if frm is None:
                    if not os.path.exists(os.path.join(root, s)):
                        bad("COPY source %s does not exist" % s)
                elif frm != "build" or not s.startswith("/src/build/"):
                    bad("COPY --from=%s %s: expected /src/build/..." % (frm, s))
                elif not os.path.exists(os.path.join(build,
                                                     s[len("/src/build/"):])):
                    bad("COPY --from=build %s: %s/%s is not built"
                        % (s, build, s[len("/src/build/"):]))
            if stage is run_stage:
                for s in srcs:
                    copied_to[dst] = s

    pkgs = set()
    for word, rest in run_stage["ins"]:
        if word != "RUN":
            continue
        for part in rest.split("&&"):
            toks = part.split()
            if "apt-get" in toks and "install" in toks:
                after = toks[toks.index("install") + 1:]
                pkgs |= {t for t in after if not t.startswith("-")}
    if not pkgs:
        bad("the runtime stage installs no package")
    for exe in ("redirectd", "redirectctl"):
        rc, out = ldd(os.path.join(build, exe))
        if rc:
            bad("ldd %s/%s failed: %s" % (build, exe, out.strip()))
            continue
        for m in re.finditer(r"=>\s*(/\S+)|^\s*(/\S+)\s", out, re.M):
            lib = m.group(1) or m.group(2)
            pkg = package_of(lib)
            if pkg is None:
                bad("%s needs %s, which no Debian package owns" % (exe, lib))
            elif pkg not in pkgs and pkg not in IN_EVERY_IMAGE:
                bad("%s needs %s from %s: not in the runtime apt-get line"
                    % (exe, lib, pkg))
    if "jq" not in pkgs:
        bad("jq (install-cni.sh) is not installed in the runtime stage")
    rc, out = ldd(os.path.join(build, "redirect-cni.static"))
    if "not a dynamic executable" not in out and "statically" not in out:
        bad("redirect-cni.static is not static: %s" % out.strip())
    if copied_to.get("/usr/local/sbin/redirect-cni") != \
            "/src/build/redirect-cni.static":
        bad("the image must carry the static plugin as "
            "/usr/local/sbin/redirect-cni")
    for f in NEEDED_IN_IMAGE:
        if f not in copied_to:
            bad("the DaemonSet runs %s, which the image does not have" % f)
    ignore = dockerfile + ".dockerignore"
    if not os.path.exists(ignore) or \
            "build" not in open(ignore).read().split():
        bad("%s must exclude build" % ignore)


if __name__ == "__main__":
    main()
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)
