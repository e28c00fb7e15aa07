#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Structural checks of the manifests deploy/render.sh writes, without a
cluster (kubectl needs an API server even for --dry-run=client).

check_manifests.py FILE [--mode ebpf|iptables|none] [--uninstall]

Parses every document (PyYAML) and checks what the API server and the
kubelet would refuse or what the project relies on: apiVersion, kind and
metadata.name everywhere; no RBAC (redirectd never talks to the API
server); the DaemonSet's selector matches its template's labels; every
container has an image and resources; redirectd is privileged and on the
host network, without hostPID; every volumeMount has a volume; the host
paths it needs are mounted with the right propagation; every ConfigMap key
and the ServiceAccount the pods use exist; the liveness probe runs
`redirectctl status`; the ConfigMap carries the redirectMode asked for.
Prints one line per problem and exits 1 if there is any.
"""
import re
import sys

import yaml

KNOWN = {
    ("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "ConfigMap"),
    ("apps/v1", "DaemonSet"),
}
RBAC = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
LABEL = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
# host path -> (mount path in redirectd, propagation) for the DaemonSet
REDIRECTD_MOUNTS = {
    "/sys/fs/bpf": ("/sys/fs/bpf", "Bidirectional"),
    "/var/run/netns": ("/var/run/netns", "HostToContainer"),
    "/var/run/ambient-redirect": ("/var/run/ambient-redirect", None),
}
CNI_MOUNTS = {"/host/opt/cni/bin", "/host/etc/cni/net.d"}

problems = []


def bad(where, msg):
    problems.append("%s: %s" % (where, msg))


def get(obj, path, default=None):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def check_meta(doc, where):
    api, kind = doc.get("apiVersion"), doc.get("kind")
    name = get(doc, "metadata.name")
    if not isinstance(api, str) or not isinstance(kind, str):
        bad(where, "apiVersion and kind are required")
        return None
    if kind in RBAC:
        bad(where, "RBAC object: redirectd needs no API access")
    if (api, kind) not in KNOWN:
        bad(where, "unexpected %s %s" % (api, kind))
    if not isinstance(name, str) or not NAME.match(name):
        bad(where, "metadata.name %r is not a valid name" % (name,))
    for k, v in (get(doc, "metadata.labels") or {}).items():
        if not isinstance(v, str) or not LABEL.match(v):
            bad(where, "label %s=%r is not a valid label value" % (k, v))
    return kind


def check_resources(c, where):
    res = c.get("resources")
    if not isinstance(res, dict) or not res.get("requests"):
        bad(where, "resources.requests missing")
        return
    for part in ("requests", "limits"):
        for k, v in (res.get(part) or {}).items():
            if k not in ("cpu", "memory") or not QUANTITY.match(str(v)):
                bad(where, "resources.%s.%s=%r" % (part, k, v))
    if not get(res, "limits.memory"):
        bad(where, "no memory limit")


def check_env(c, where, configmaps):
    names = set()
    for e in c.get("env") or []:
        if e.get("name") in names:
            bad(where, "env %s twice" % e.get("name"))
        names.add(e.get("name"))
        ref = get(e, "valueFrom.configMapKeyRef")
        if ref is None:
            if not isinstance(e.get("value"), str):
                bad(where, "env %s: no string value" % e.get("name"))
            continue
        data = configmaps.get(ref.get("name"))
        if data is None:
            bad(where, "env %s: ConfigMap %s is not in the manifests"
                % (e["name"], ref.get("name")))
        elif ref.get("key") not in data:
            bad(where, "env %s: key %s not in ConfigMap %s"
                % (e["name"], ref.get("key"), ref.get("name")))
    return names


def check_pod(spec, where, configmaps, accounts):
    volumes = {}
    for v in spec.get("volumes") or []:
        if v.get("name") in volumes:
            bad(where, "volume %s twice" % v.get("name"))
        volumes[v.get("name")] = v
    sa = spec.get("serviceAccountName")
    if sa and sa not in accounts:
        bad(where, "serviceAccountName %s is not in the manifests" % sa)
    if spec.get("automountServiceAccountToken") is not False:
        bad(where, "automountServiceAccountToken must be false")
    if spec.get("hostPID"):
        bad(where, "hostPID is not needed")
    containers = (spec.get("initContainers") or []) + \
        (spec.get("containers") or [])
    if not spec.get("containers"):
        bad(where, "no containers")
    seen = set()
    for c in containers:
        cw = "%s container %s" % (where, c.get("name"))
        if not c.get("name") or c["name"] in seen:
            bad(cw, "container names must be unique and set")
        seen.add(c.get("name"))
        image = c.get("image")
        if not isinstance(image, str) or ":" not in image.split("/")[-1]:
            bad(cw, "image %r must name a tag" % (image,))
        if not c.get("command"):
            bad(cw, "no command")
        check_resources(c, cw)
        check_env(c, cw, configmaps)
        privileged = get(c, "securityContext.privileged") is True
        for m in c.get("volumeMounts") or []:
            if m.get("name") not in volumes:
                bad(cw, "volumeMount %s has no volume" % m.get("name"))
            if m.get("mountPropagation") == "Bidirectional" and \
                    not privileged:
                bad(cw, "Bidirectional propagation needs privileged")
    return volumes, containers


def mounts_of(c, volumes):
    """host path -> (mount path, propagation) of a container."""
    out = {}
    for m in c.get("volumeMounts") or []:
        hp = get(volumes.get(m.get("name"), {}), "hostPath.path")
        if hp:
            out[hp] = (m.get("mountPath"), m.get("mountPropagation"))
    return out


def check_redirectd_ds(ds, where, configmaps, accounts, mode):
    spec = get(ds, "spec.template.spec") or {}
    sel = get(ds, "spec.selector.matchLabels") or {}
    labels = get(ds, "spec.template.metadata.labels") or {}
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        bad(where, "selector %s does not match template labels %s"
            % (sel, labels))
    if spec.get("hostNetwork") is not True:
        bad(where, "redirectd must run on the host network")
    if not any(t.get("operator") == "Exists"
               for t in spec.get("tolerations") or []):
        bad(where, "must tolerate every taint (a pod on every node)")
    volumes, _ = check_pod(spec, where, configmaps, accounts)
    by_name = {c.get("name"): c for c in spec.get("containers") or []}
    inits = {c.get("name"): c for c in spec.get("initContainers") or []}
    rd = by_name.get("redirectd")
    if rd is None:
        bad(where, "no redirectd container")
        return
    if get(rd, "securityContext.privileged") is not True:
        bad(where, "redirectd must be privileged")
    probe = get(rd, "livenessProbe.exec.command") or []
    if not any("redirectctl" in p for p in probe) or "status" not in probe:
        bad(where, "liveness probe must run redirectctl status")
    if "exec /usr/local/sbin/redirectd $REDIRECTD_ARGS" not in \
            " ".join(rd.get("command") or []):
        bad(where, "redirectd must start with the ConfigMap's flags")
    mounts = mounts_of(rd, volumes)
    for hp, (mp, prop) in REDIRECTD_MOUNTS.items():
        if hp not in mounts:
            bad(where, "redirectd does not mount the host's %s" % hp)
        elif mounts[hp] != (mp, prop):
            bad(where, "%s mounted as %s, expected %s"
                % (hp, mounts[hp], (mp, prop)))
    if not any(mp == "/host/sys/fs/cgroup" for mp, _ in mounts.values()):
        bad(where, "redirectd does not mount the cgroup2 hierarchy")
    cni = inits.get("install-cni")
    if cni is None:
        bad(where, "no install-cni init container")
        return
    if cni.get("command", [])[-2:] != \
            ["/usr/local/share/ambient-redirect/install-cni.sh", "install"]:
        bad(where, "install-cni must run install-cni.sh install")
    cmounts = {mp for mp, _ in mounts_of(cni, volumes).values()}
    if not CNI_MOUNTS <= cmounts:
        bad(where, "install-cni must mount %s" % sorted(CNI_MOUNTS))
    env = {e["name"] for e in cni.get("env") or []}
    for need in ("REDIRECT_MODE", "SOCKET_PATH", "CNI_BIN_DIR",
                 "CNI_CONF_DIR"):
        if need not in env:
            bad(where, "install-cni lacks %s" % need)
    cm = configmaps.get("ambient-redirect") or {}
    if mode and cm.get("REDIRECT_MODE") != mode:
        bad(where, "REDIRECT_MODE is %r, expected %r"
            % (cm.get("REDIRECT_MODE"), mode))
    ann = get(ds, "spec.template.metadata.annotations") or {}
    if mode and ann.get("ambient-redirect.io/redirect-mode") != mode:
        bad(where, "the pod template does not carry the mode")


def main():
    args = sys.argv[1:]
    mode = None
    uninstall = "--uninstall" in args
    if "--mode" in args:
        mode = args[args.index("--mode") + 1]
    with open(args[0]) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    if not docs:
        bad(args[0], "no documents")
    configmaps, accounts, kinds = {}, set(), []
    namespace = None
    for i, d in enumerate(docs):
        where = "document %d (%s %s)" % (i + 1, d.get("kind"),
                                         get(d, "metadata.name"))
        kind = check_meta(d, where)
        kinds.append(kind)
        if kind == "Namespace":
            namespace = get(d, "metadata.name")
        elif kind == "ConfigMap":
            data = d.get("data") or {}
            if any(not isinstance(v, str) for v in data.values()):
                bad(where, "ConfigMap values must be strings")
            configmaps[get(d, "metadata.name")] = data
        elif kind == "ServiceAccount":
            accounts.add(get(d, "metadata.name"))
    namespaces = {get(d, "metadata.namespace") for d in docs
                  if d.get("kind") != "Namespace"}
    if len(namespaces) != 1 or None in namespaces:
        bad(args[0], "every object must be in one namespace: %s" % namespaces)
    if namespace and namespaces != {namespace}:
        bad(args[0], "objects are not in the Namespace rendered")
    for i, d in enumerate(docs):
        if d.get("kind") != "DaemonSet":
            continue
        where = "DaemonSet %s" % get(d, "metadata.name")
        if uninstall:
            spec = get(d, "spec.template.spec") or {}
            check_pod(spec, where, configmaps, accounts)
            cmd = [c.get("command") for c in spec.get("initContainers", [])]
            if not any(c and c[-1] == "uninstall" for c in cmd):
                bad(where, "must run install-cni.sh uninstall")
        else:
            check_redirectd_ds(d, where, configmaps, accounts, mode)
    expect = ["DaemonSet"] if uninstall else ["ConfigMap", "DaemonSet",
                                              "ServiceAccount"]
    if sorted(k for k in kinds if k != "Namespace") != expect:
        bad(args[0], "kinds %s, expected %s (and a Namespace)"
            % (kinds, expect))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
