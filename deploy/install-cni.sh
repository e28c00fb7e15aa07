#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Chain redirect-cni after the node's primary CNI plugin, or unchain it.
#
#   install-cni.sh install     copy the plugin into CNI_BIN_DIR, append our
#                              entry to the "plugins" of the node's conflist
#   install-cni.sh uninstall   remove our entry (every "type":"redirect-cni")
#                              and the plugin binary
#
# Environment (defaults are the paths inside the DaemonSet's containers):
#   CNI_CONF_DIR       /host/etc/cni/net.d
#   CNI_BIN_DIR        /host/opt/cni/bin
#   PLUGIN_SRC         /usr/local/sbin/redirect-cni (the file to copy)
#   REDIRECT_MODE      ebpf | iptables | none        (default ebpf)
#   SOCKET_PATH        /var/run/ambient-redirect/redirect.sock
#   EXCLUDE_NAMESPACES comma-separated namespaces to pass through
#                      (default kube-system)
#   DNS_CAPTURE        true | false                  (default false)
#   CNI_CONF_WAIT      seconds to wait for a conflist to appear (default 0)
#
# The entry declares the capability io.kubernetes.cri.pod-annotations:
# containerd and CRI-O then pass the pod's annotations in runtimeConfig,
# where the plugin reads Istio's per-pod exclusions (README.md, "Pod
# annotations").
#
# Idempotent: installing twice leaves one entry (ours is replaced in place,
# and the file is not rewritten when nothing changes). Files are replaced
# atomically (a temporary file in the same folder, then mv), keeping their
# mode; the temporary name does not end in .conf/.conflist/.json, so a
# runtime never loads it. The runtime uses the lexically first config file:
# that is the one we edit, and it must be a *.conflist (a single-plugin
# *.conf is refused, not converted: see deploy/README.md).
set -eu

CNI_CONF_DIR=${CNI_CONF_DIR:-/host/etc/cni/net.d}
CNI_BIN_DIR=${CNI_BIN_DIR:-/host/opt/cni/bin}
PLUGIN_SRC=${PLUGIN_SRC:-/usr/local/sbin/redirect-cni}
REDIRECT_MODE=${REDIRECT_MODE:-ebpf}
SOCKET_PATH=${SOCKET_PATH:-/var/run/ambient-redirect/redirect.sock}
EXCLUDE_NAMESPACES=${EXCLUDE_NAMESPACES-kube-system}
DNS_CAPTURE=${DNS_CAPTURE:-false}
CNI_CONF_WAIT=${CNI_CONF_WAIT:-0}

log() {
	printf 'install-cni: %s\n' "$*" >&2
}

die() {
	log "$*"
	exit 1
}

# The config file the runtime uses: the lexically first *.conf, *.conflist
# or *.json (containerd and CRI-O, through libcni's ConfFiles).
first_config() {
	for f in "$CNI_CONF_DIR"/*.conf "$CNI_CONF_DIR"/*.conflist \
		"$CNI_CONF_DIR"/*.json; do
		[ -f "$f" ] && printf '%s\n' "$f"
	done | LC_ALL=C sort | head -n 1
}

wait_conflist() {
	waited=0
	while [ -z "$(first_config)" ]; do
		[ "$waited" -ge "$CNI_CONF_WAIT" ] &&
			die "no CNI config in $CNI_CONF_DIR (is the primary CNI installed?)"
		[ "$waited" -eq 0 ] && log "waiting for a CNI config in $CNI_CONF_DIR"
		sleep 1
		waited=$((waited + 1))
	done
	f=$(first_config)
	case $f in
	*.conflist) printf '%s\n' "$f" ;;
	*) die "$f is the config the runtime uses and it is not a *.conflist: chaining needs a conflist (deploy/README.md)" ;;
	esac
}

# replace FILE NEWFILE: put NEWFILE's content in FILE, atomically, keeping
# FILE's mode; nothing happens when the content is the same.
replace() {
	if cmp -s "$1" "$2"; then
		rm -f "$2"
		return 1
	fi
	chmod "$(stat -c %a "$1")" "$2"
	mv -f "$2" "$1"
}

check_values() {
	case $REDIRECT_MODE in
	ebpf | iptables | none) ;;
	*) die "REDIRECT_MODE must be ebpf, iptables or none, not '$REDIRECT_MODE'" ;;
	esac
	case $DNS_CAPTURE in
	true | false) ;;
	*) die "DNS_CAPTURE must be true or false, not '$DNS_CAPTURE'" ;;
	esac
	case $SOCKET_PATH in
	/*) ;;
	*) die "SOCKET_PATH must be absolute, not '$SOCKET_PATH'" ;;
	esac
}

install_plugin() {
	[ -x "$PLUGIN_SRC" ] || die "$PLUGIN_SRC is not an executable"
	mkdir -p "$CNI_BIN_DIR"
	tmp="$CNI_BIN_DIR/.redirect-cni.tmp.$$"
	cp "$PLUGIN_SRC" "$tmp"
	chmod 0755 "$tmp"
	mv -f "$tmp" "$CNI_BIN_DIR/redirect-cni"
	log "installed $CNI_BIN_DIR/redirect-cni"
}

install_entry() {
	conf=$(wait_conflist)
	tmp="$CNI_CONF_DIR/.redirect-cni.tmp.$$"
	trap 'rm -f "$tmp"' EXIT
	jq --arg mode "$REDIRECT_MODE" --arg sock "$SOCKET_PATH" \
		--arg excl "$EXCLUDE_NAMESPACES" --argjson dns "$DNS_CAPTURE" '
		if (.plugins | type) != "array" then
			error("no \"plugins\" array: not a conflist")
		else . end
		| .plugins |= map(select(.type != "redirect-cni")) + [{
			type: "redirect-cni",
			redirectMode: $mode,
			socketPath: $sock,
			excludeNamespaces: ($excl | split(",") | map(select(. != ""))),
			dnsCapture: $dns,
			capabilities: {"io.kubernetes.cri.pod-annotations": true}
		}]' "$conf" >"$tmp" || die "cannot update $conf"
	if replace "$conf" "$tmp"; then
		log "chained redirect-cni (redirectMode $REDIRECT_MODE) in $conf"
	else
		log "$conf already chains redirect-cni as configured"
	fi
}

uninstall() {
	for conf in "$CNI_CONF_DIR"/*.conflist; do
		[ -f "$conf" ] || continue
		jq -e '(.plugins // []) | any(.type == "redirect-cni")' \
			"$conf" >/dev/null 2>&1 || continue
		tmp="$CNI_CONF_DIR/.redirect-cni.tmp.$$"
		trap 'rm -f "$tmp"' EXIT
		jq '.plugins |= map(select(.type != "redirect-cni"))' "$conf" \
			>"$tmp" || die "cannot update $conf"
		replace "$conf" "$tmp" && log "unchained redirect-cni from $conf"
	done
	rm -f "$CNI_BIN_DIR/redirect-cni"
	log "removed $CNI_BIN_DIR/redirect-cni"
}

case ${1:-} in
install)
	check_values
	install_plugin
	install_entry
	;;
uninstall)
	uninstall
	;;
*)
	echo "usage: install-cni.sh install|uninstall" >&2
	exit 2
	;;
esac
