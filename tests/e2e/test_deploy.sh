#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Deployment, checked offline: the manifests deploy/render.sh writes for
# each redirectMode (structurally, with PyYAML: kubectl needs an API server
# even for --dry-run=client), install-cni.sh against a realistic conflist,
# the Dockerfile (statically: no Docker engine here), the systemd unit
# (systemd-analyze verify) and make install / uninstall into a DESTDIR.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh

need_built redirectd
command -v jq >/dev/null || skip_suite "jq missing (make deps)"
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import yaml' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || skip_suite "PyYAML missing (python3-yaml; make deps)"

T=$(mktemp -d /tmp/deploy.XXXXXX)
trap 'rm -rf "$T"' EXIT

# --- manifests ------------------------------------------------------------
for mode in ebpf iptables none; do
	case_begin "render.sh, redirectMode $mode: valid manifests"
	if sh deploy/render.sh --set "values.cni.ambient.redirectMode=$mode" \
		>"$T/$mode.yaml" 2>"$T/err"; then
		out=$("$PY" tests/tools/check_manifests.py "$T/$mode.yaml" \
			--mode "$mode" 2>&1) ||
			fail "manifests: $out"
		check_contains "CNI entry's mode in the ConfigMap" \
			"$(cat "$T/$mode.yaml")" "REDIRECT_MODE: \"$mode\""
	else
		fail "render.sh failed: $(cat "$T/err")"
	fi
	case_end
done

case_begin "render.sh: values file, --set, and refusals"
printf 'redirectd:\n  failOpen: true\n  sockmap:\n    enabled: false\n' \
	>"$T/mine.yaml"
sh deploy/render.sh -f "$T/mine.yaml" --set redirectd.logLevel=debug \
	>"$T/mine.out" 2>&1
args=$(grep 'REDIRECTD_ARGS:' "$T/mine.out")
check_contains "-f applied" "$args" "--fail-open"
check_contains "sockmap off" "$args" "--no-sockmap"
check_contains "--set applied" "$args" "--log-level debug"
check_contains "default kept" "$args" "--pod-capacity 16384"
check_contains "attach mode by default" "$args" "--attach auto"
case $args in
*--no-guard*) fail "guard on by default: --no-guard found in: $args" ;;
esac
args=$(sh deploy/render.sh --set redirectd.attach=tcx \
	--set redirectd.guard=false 2>&1 | grep 'REDIRECTD_ARGS:')
check_contains "attach set" "$args" "--attach tcx"
check_contains "guard off" "$args" "--no-guard"
check_not "a bad attach mode refused" sh deploy/render.sh \
	--set redirectd.attach=xdp
checksum() {
	sed -n 's/.*config-checksum: "\([0-9]*\)"/\1/p' "$1"
}
check_not "changed flags roll the pods (ConfigMap checksum)" test \
	"$(checksum "$T/mine.out")" = "$(checksum "$T/ebpf.yaml")"
sh deploy/render.sh >"$T/again.yaml" 2>&1
check_eq "same values, same checksum" "$(checksum "$T/ebpf.yaml")" \
	"$(checksum "$T/again.yaml")"
check_not "unknown mode refused" sh deploy/render.sh \
	--set cni.ambient.redirectMode=ipvs
check_not "unknown key refused" sh deploy/render.sh --set cni.ambient.mode=ebpf
check_not "bad number refused" sh deploy/render.sh --set redirectd.tcPriority=0
check_not "quote refused" sh deploy/render.sh --set 'image.tag=a"b'
check_not "creating kube-system refused" sh deploy/render.sh \
	--set namespace=kube-system
sh deploy/render.sh --set namespace=kube-system --set createNamespace=false \
	>"$T/ks.yaml" 2>&1
check_eq "no Namespace object for kube-system" 0 \
	"$(grep -c '^kind: Namespace' "$T/ks.yaml")"
out=$("$PY" tests/tools/check_manifests.py "$T/ks.yaml" --mode ebpf 2>&1) ||
	fail "kube-system manifests: $out"
case_end

case_begin "render.sh --uninstall: the unchaining DaemonSet"
if sh deploy/render.sh --uninstall >"$T/un.yaml" 2>"$T/err"; then
	out=$("$PY" tests/tools/check_manifests.py "$T/un.yaml" --uninstall 2>&1) ||
		fail "manifests: $out"
else
	fail "render.sh --uninstall failed: $(cat "$T/err")"
fi
case_end

# --- install-cni.sh -------------------------------------------------------
# A conflist as a kubeadm node with Calico has it (trimmed), file mode 0600.
mkdir -p "$T/net.d" "$T/bin"
cat >"$T/net.d/10-calico.conflist" <<'EOF'
{
  "name": "k8s-pod-network",
  "cniVersion": "0.4.0",
  "plugins": [
    {
      "type": "calico",
      "log_level": "info",
      "datastore_type": "kubernetes",
      "nodename": "node-1",
      "mtu": 0,
      "ipam": { "type": "calico-ipam" },
      "policy": { "type": "k8s" },
      "kubernetes": { "kubeconfig": "/etc/cni/net.d/calico-kubeconfig" }
    },
    { "type": "portmap", "snat": true, "capabilities": { "portMappings": true } },
    { "type": "bandwidth", "capabilities": { "bandwidth": true } }
  ]
}
EOF
chmod 0600 "$T/net.d/10-calico.conflist"
cp -p "$T/net.d/10-calico.conflist" "$T/original"
echo '{"cniVersion":"1.0.0","name":"other","plugins":[{"type":"ptp"}]}' \
	>"$T/net.d/20-other.conflist"
CONF=$T/net.d/10-calico.conflist

# install_cni [VAR=VALUE]... CMD...: CMD with the test folders in its env
install_cni() {
	env CNI_CONF_DIR="$T/net.d" CNI_BIN_DIR="$T/bin" \
		PLUGIN_SRC="$BUILD/redirect-cni" "$@"
}
ICNI="sh deploy/install-cni.sh"

entries() {
	jq '[.plugins[] | select(.type == "redirect-cni")] | length' "$1"
}

# The ConfigMap's values, as the init container gets them.
cm_env() {
	"$PY" -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap":
        for k in ("REDIRECT_MODE", "SOCKET_PATH", "EXCLUDE_NAMESPACES", "DNS_CAPTURE"):
            print("%s=%s" % (k, d["data"][k]))' "$1"
}

for mode in ebpf iptables none; do
	case_begin "install-cni.sh with the rendered ConfigMap ($mode): our entry, last"
	cp -p "$T/original" "$CONF"
	if env $(cm_env "$T/$mode.yaml") CNI_CONF_DIR="$T/net.d" \
		CNI_BIN_DIR="$T/bin" PLUGIN_SRC="$BUILD/redirect-cni" \
		sh deploy/install-cni.sh install >"$T/log" 2>&1; then
		check_eq "one entry" 1 "$(entries "$CONF")"
		check_eq "last in the chain" redirect-cni \
			"$(jq -r '.plugins[-1].type' "$CONF")"
		check_eq "redirectMode" "$mode" \
			"$(jq -r '.plugins[-1].redirectMode' "$CONF")"
		check_eq "socketPath" /var/run/ambient-redirect/redirect.sock \
			"$(jq -r '.plugins[-1].socketPath' "$CONF")"
		check_eq "excludeNamespaces" '["kube-system"]' \
			"$(jq -c '.plugins[-1].excludeNamespaces' "$CONF")"
		check_eq "asks for the pod's annotations" \
			'{"io.kubernetes.cri.pod-annotations":true}' \
			"$(jq -c '.plugins[-1].capabilities' "$CONF")"
		check_eq "the others kept, in order" "calico portmap bandwidth" \
			"$(jq -r '[.plugins[:-1][].type] | join(" ")' "$CONF")"
		check_eq "only the first conflist touched" 0 \
			"$(entries "$T/net.d/20-other.conflist")"
	else
		fail "install failed: $(cat "$T/log")"
	fi
	case_end
done

case_begin "install-cni.sh: twice is once; a new mode replaces ours"
cp -p "$T/original" "$CONF"
check "install" install_cni $ICNI install
cp -p "$CONF" "$T/after1"
check "install again" install_cni $ICNI install
check "file unchanged by the second install" cmp -s "$T/after1" "$CONF"
check_eq "one entry" 1 "$(entries "$CONF")"
check_eq "mode kept (0600)" 600 "$(stat -c %a "$CONF")"
check_eq "plugin installed, 0755" 755 "$(stat -c %a "$T/bin/redirect-cni")"
check "plugin answers VERSION" sh -c \
	"CNI_COMMAND=VERSION '$T/bin/redirect-cni' | jq -e .supportedVersions"
check "install mode none" install_cni REDIRECT_MODE=none DNS_CAPTURE=true \
	$ICNI install
check_eq "still one entry" 1 "$(entries "$CONF")"
check_eq "mode replaced" none "$(jq -r '.plugins[-1].redirectMode' "$CONF")"
check_eq "dnsCapture" true "$(jq -r '.plugins[-1].dnsCapture' "$CONF")"
ls -a "$T/net.d" >"$T/ls"
check_not "no temporary file left" grep -q tmp "$T/ls"
case_end

case_begin "install-cni.sh uninstall restores the original"
check "uninstall" install_cni $ICNI uninstall
check_eq "same config as before" "$(jq -S . "$T/original")" "$(jq -S . "$CONF")"
check_eq "mode kept (0600)" 600 "$(stat -c %a "$CONF")"
check_not "plugin removed" test -e "$T/bin/redirect-cni"
check "uninstall again is fine" install_cni $ICNI uninstall
case_end

case_begin "install-cni.sh refuses what it cannot chain, changing nothing"
check_not "bad mode" install_cni REDIRECT_MODE=tproxy $ICNI install
echo '{"cniVersion":"0.3.1","name":"x","type":"bridge"}' >"$T/net.d/05-first.conf"
check_not "a lexically first .conf" install_cni $ICNI install
rm -f "$T/net.d/05-first.conf"
check_eq "conflist untouched" "$(jq -S . "$T/original")" "$(jq -S . "$CONF")"
mkdir -p "$T/empty"
check_not "no conflist at all" install_cni CNI_CONF_DIR="$T/empty" $ICNI install
check_not "usage" sh deploy/install-cni.sh
case_end

# --- image ----------------------------------------------------------------
case_begin "Dockerfile: COPY sources exist, runtime libraries installed, static plugin"
if make -s BUILD="$BUILD" cni-static >"$T/log" 2>&1; then
	out=$("$PY" tests/tools/check_dockerfile.py deploy/Dockerfile "$BUILD" 2>&1) ||
		fail "Dockerfile: $out"
	check "the static plugin runs without libraries" sh -c \
		"CNI_COMMAND=VERSION '$BUILD/redirect-cni.static' | jq -e .supportedVersions"
else
	fail "make cni-static failed: $(tail -n 5 "$T/log")"
fi
case_end

# --- make install / uninstall ---------------------------------------------
files() {
	(cd "$1" && find . -type f | sort)
}

case_begin "make install / uninstall into a DESTDIR"
D=$T/destdir
if make -s BUILD="$BUILD" install DESTDIR="$D" CNI_BIN_DIR=/opt/cni/bin \
	>"$T/log" 2>&1; then
	check_eq "installed files" "./opt/cni/bin/redirect-cni
./usr/local/bin/redirectctl
./usr/local/lib/systemd/system/redirectd.service
./usr/local/sbin/redirect-cni
./usr/local/sbin/redirectd
./usr/local/share/ambient-redirect/README.md
./usr/local/share/ambient-redirect/install-cni.sh
./usr/local/share/ambient-redirect/redirectd.default" "$(files "$D")"
	check_eq "redirectd mode" 755 "$(stat -c %a "$D/usr/local/sbin/redirectd")"
	check_eq "unit mode" 644 \
		"$(stat -c %a "$D/usr/local/lib/systemd/system/redirectd.service")"
	check "redirectd runs" "$D/usr/local/sbin/redirectd" --help
else
	fail "make install failed: $(tail -n 5 "$T/log")"
fi
make -s BUILD="$BUILD" uninstall DESTDIR="$D" CNI_BIN_DIR=/opt/cni/bin \
	>"$T/log" 2>&1 || fail "make uninstall failed: $(tail -n 5 "$T/log")"
check_eq "nothing left" "" "$(files "$D")"
D2=$T/destdir-usr
make -s BUILD="$BUILD" install DESTDIR="$D2" PREFIX=/usr >"$T/log" 2>&1 ||
	fail "make install PREFIX=/usr failed"
check_contains "ExecStart follows PREFIX" \
	"$(cat "$D2/usr/lib/systemd/system/redirectd.service" 2>/dev/null)" \
	"ExecStart=/usr/sbin/redirectd \$REDIRECTD_ARGS"
check_eq "no CNI_BIN_DIR, no /opt" "" "$(ls "$D2/opt" 2>/dev/null)"
make -s BUILD="$BUILD" uninstall DESTDIR="$D2" PREFIX=/usr >/dev/null 2>&1
check_eq "nothing left (PREFIX=/usr)" "" "$(files "$D2")"
case_end

# --- systemd unit ---------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
	case_begin "systemd-analyze verify redirectd.service: no error, no warning"
	make -s BUILD="$BUILD" install DESTDIR="$D" >/dev/null 2>&1
	# verify wants ExecStart to exist: point the installed unit at the
	# DESTDIR (--root would want a whole OS tree there)
	sed "s|/usr/local/|$D/usr/local/|g" \
		"$D/usr/local/lib/systemd/system/redirectd.service" \
		>"$T/redirectd.service"
	out=$(systemd-analyze verify "$T/redirectd.service" 2>&1)
	check_eq "verify exit status" 0 $?
	check_eq "verify output" "" "$out"
	make -s BUILD="$BUILD" uninstall DESTDIR="$D" >/dev/null 2>&1
	case_end
else
	case_skip "systemd-analyze verify" "systemd-analyze not installed"
fi

results
