#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# redirectctl doctor on a simulated node: all ok on a healthy one (exit
# 0); then each fault named, with its exit code: a foreign TCX program
# before ours on a pod's veth (redirectd --attach tc, so it stays there),
# a conflist without redirect-cni, with it first, without the annotations
# capability, redirectd unreachable, ztunnel's policy routing gone, no
# ztunnel.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/kernel.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl redirect-cni ztunnel-sim tcxattach
[ -x "$CNI_PLUGIN_DIR/ptp" ] || skip_suite "no ptp CNI plugin"

node_init "$BUILD"
node_start_redirectd --attach tc || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create_chain a ptp ebpf false || setup_failed "pod a"
pod_create_chain b ptp ebpf false || setup_failed "pod b"
CNI_DIR=$WORK/cni
mkdir -p "$CNI_DIR"

# conflist HOOK-ENTRY...: the node's config, the primary plugin first
# unless the entries say otherwise
conflist() {
	printf '%s\n' "$@" | jq -s --arg name "$RUN-net" \
		'{cniVersion: "1.0.0", name: $name, plugins: .}' \
		>"$CNI_DIR/10-$RUN.conflist"
}
PTP='{"type": "ptp", "ipam": {"type": "host-local"}}'
HOOK=$(jq -n --arg sock "$SOCK" '{type: "redirect-cni", redirectMode: "ebpf",
	socketPath: $sock, capabilities: {"io.kubernetes.cri.pod-annotations": true}}')
conflist "$PTP" "$HOOK"

doctor() {
	ctl -j doctor --cni-conf-dir "$CNI_DIR" >"$WORK/doc.json"
	echo $? >"$WORK/doc.rc"
}
rc() { cat "$WORK/doc.rc"; }
# doctor_until CODE: ask until doctor exits CODE (the order watch sweeps
# a second apart), at most 10 s
doctor_until() {
	for _ in $(seq 50); do
		doctor
		[ "$(rc)" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
# the findings of one level, as "check subject: detail" lines
at() {
	jq -r ".findings[] | select(.level == \"$1\") | \"\(.check) \(.subject): \(.detail)\"" \
		"$WORK/doc.json"
}

case_begin "a healthy node: every finding ok, exit 0"
doctor
check_eq "exit 0" 0 "$(rc)"
check_eq "no warn or fail" "" "$(at warn)$(at fail)"
check_eq "worst ok" ok "$(jq -r .worst "$WORK/doc.json")"
check_contains "the chain seen" "$(at ok)" "redirect-cni chained after ptp"
check_contains "ztunnel seen" "$(at ok)" "uid-$RUN-zt: enrolled on"
check_contains "pods seen" "$(at ok)" "2 enrolled"
check_contains "ztunnel's rp_filter read" "$(at ok)" "not strict in ztunnel's netns"
check_contains "ztunnel's policy routing read" "$(at ok)" "rules and local routes of table 100"
ctl doctor --cni-conf-dir "$CNI_DIR" >"$WORK/doc.txt"
check_contains "text output" "$(cat "$WORK/doc.txt")" "ok    cni"
case_end

case_begin "a foreign TCX program before ours on a pod's veth is named"
if kernel_has_tcx; then
	check "foreign program at the head of a's ingress" in_node \
		"$BUILD/tcxattach" "$BUILD/bpf/tests/foreign_ok.bpf.o" \
		"$(pod_host_veth a)" in "$PIN-cni-a" --head
	# the order watch finds it (a pod a second at least), doctor reports
	check "seen within the watch's sweeps" doctor_until 7
	doctor
	check_eq "exit 7" 7 "$(rc)"
	check_contains "a's order fails" "$(at fail)" "order uid-$RUN-a"
	check_contains "the program named" "$(at fail)" "foreign_ok"
	check_eq "b is fine" "" "$(at fail | grep "uid-$RUN-b")"
	check_contains "the fix says how" \
		"$(jq -r '.findings[] | select(.level == "fail") | .fix' "$WORK/doc.json")" \
		"--attach auto"
	rm -rf "$PIN-cni-a"
	check "gone: exit 0 again once the watch looked" doctor_until 0
	case_end
else
	case_skip "foreign TCX program" "TCX needs Linux 6.6+"
fi

case_begin "the CNI config: redirect-cni missing, first, without the capability"
conflist "$PTP"
doctor
check_eq "missing: exit 7" 7 "$(rc)"
check_contains "named" "$(at fail)" "redirect-cni is not in the chain"
conflist "$HOOK" "$PTP"
doctor
check_eq "first: exit 7" 7 "$(rc)"
check_contains "named" "$(at fail)" "redirect-cni comes first"
conflist "$PTP" "$(printf '%s' "$HOOK" | jq -c 'del(.capabilities)')"
doctor
check_eq "no capability: exit 6" 6 "$(rc)"
check_contains "named" "$(at warn)" "io.kubernetes.cri.pod-annotations"
echo '{"cniVersion": ' >"$CNI_DIR/10-$RUN.conflist"
doctor
check_contains "not JSON" "$(at fail)" "not JSON"
conflist "$PTP" "$HOOK"
case_end

case_begin "redirectd unreachable is a failure"
"$BUILD/redirectctl" --socket "$WORK/nothing.sock" -j doctor \
	--cni-conf-dir "$CNI_DIR" >"$WORK/doc.json" 2>/dev/null
check_eq "exit 7" 7 $?
check_contains "named" "$(at fail)" "redirectd $WORK/nothing.sock"
case_end

case_begin "ztunnel's policy routing missing is named"
check "its IPv4 rule removed" in_pod zt ip rule del fwmark 0x400/0xfff lookup 100
doctor
check_eq "exit 7" 7 "$(rc)"
check_contains "named, as the ip command that puts it back" "$(at fail)" \
	"ip rule fwmark 0x400/0xfff lookup 100"
check_eq "its IPv6 rule is still there" "" "$(at fail | grep 'ip -6 rule')"
case_end

case_begin "no ztunnel is a failure"
check "ztunnel removed" ctl ztunnel del "uid-$RUN-zt"
doctor
check_eq "exit 7" 7 "$(rc)"
check_contains "named" "$(at fail)" "no ztunnel enrolled"
case_end

results
