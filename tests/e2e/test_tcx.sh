#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Living beside a CNI that attaches with TCX (issue 13). A TCX program on a
# pod's host veth runs before every legacy clsact filter, and one that
# returns anything but TCX_NEXT ends the chain: the stand-in here
# (tests/bpf/foreign_ok.bpf.c, attached by tests/tools/tcxattach.c)
# returns TC_ACT_OK, as Cilium's do, and counts what it sees. With --attach tc such a pod
# silently escapes the mesh; --attach auto puts ours at the head of the
# TCX chain, passing with TCX_NEXT so the CNI's program still runs.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl ztunnel-sim tcxattach
[ -x "$CNI_PLUGIN_DIR/ptp" ] || skip_suite "no ptp CNI plugin"

node_init "$BUILD"
# the CNI stand-in's pins live beside ours: gone on any exit too
trap 'rm -rf "$PIN"-cni-* "$PIN-probe"; node_cleanup' EXIT

# settle_long CMD...: CMD until it succeeds, for up to 5 s (the order
# watch checks a slice of the pods every second)
settle_long() {
	for _ in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# the probe: can this kernel make a TCX link at all (6.6+)?
pod_create probe || setup_failed "probe pod"
in_node "$BUILD/tcxattach" "$BUILD/bpf/tests/foreign_ok.bpf.o" \
	"$(pod_host_veth probe)" in "$PIN-probe" 2>/dev/null ||
	skip_suite "no TCX links in this kernel (6.6+)"
rm -rf "$PIN-probe"

# cni_tcx POD: the CNI's TCX program on both hooks of the pod's veth
cni_tcx() {
	for d in in eg; do
		in_node "$BUILD/tcxattach" "$BUILD/bpf/tests/foreign_ok.bpf.o" \
			"$(pod_host_veth "$1")" "$d" "$PIN-cni-$1-$d" || return 1
	done
}
cni_hits() {
	bpftool map lookup pinned "$PIN-cni-$1-in/maps/hits" key 0 0 0 0 -j |
		jq .formatted.value
}
uncni() {
	rm -rf "$PIN-cni-$1-in" "$PIN-cni-$1-eg"
}
zt() {
	zt_count zt "$1" conns
}
attach_of() {
	ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-$1\") | .attach"
}

node_start_redirectd --attach tc || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create b || setup_failed "pod b"
pod_serve b --port 8080 || setup_failed "server b"
node_bg "$NODE_NS" python3 tests/tools/traffic.py serve --port 9090 \
	--ready "$WORK/node.ready"
B4=$(pod_ip b 4)

# a's packets leave around ztunnel; b's answers come back around
# app_inbound, and a's guard (inside a) returns them, but the CNI's program
# ends the chain before app_outbound can take them: they come back and the
# guard drops them, counted, instead of letting them in or circling.
case_begin "--attach tc: a CNI's TCX program ends the chain: a escapes, its guard stops what comes back"
pod_create a || fail "pod a"
check "CNI TCX programs on a's veth" cni_tcx a
check "a enrolled" pod_enrol a
check_eq "attached with tc" tc "$(attach_of a)"
n=$(zt tcp15001)
l0=$(dp_count pod_guard drop_returned_came_back)
check_not "a -> b does not work" pod_send a --to "$B4" --port 8080 \
	--bytes 20000 --timeout 2
check_eq "ztunnel never saw it (the hole)" "$n" "$(zt tcp15001)"
check_gt "a's guard dropped b's answers, counted" \
	"$(dp_count pod_guard drop_returned_came_back)" "$l0"
check "a deleted" ctl pod del "uid-$RUN-a"
case_end

case_begin "--attach auto: ours first in the TCX chain, the CNI's still runs"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart, auto" node_start_redirectd --attach auto
check "a enrolled" pod_enrol a
check_eq "attached with tcx (the device runs TCX programs)" tcx "$(attach_of a)"
check_eq "no cls_bpf filter of ours on a" "" \
	"$(in_node tc filter show dev "$(pod_host_veth a)" ingress)"
check_eq "ours first on ingress" app_outbound \
	"$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth a)" in | head -n 1)"
check_eq "ours first on egress" app_inbound \
	"$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth a)" eg | head -n 1)"
n=$(zt tcp15001)
check "a -> b intact" pod_send a --to "$B4" --port 8080 --bytes 200000
check_eq "through ztunnel" $((n + 1)) "$(zt tcp15001)"
GW4=$(jq -r '.ips[] | select(.address | contains(":") | not) | .gateway' "$WORK/a.json")
for _ in $(seq 50); do [ -f "$WORK/node.ready" ] && break; sleep 0.05; done
h0=$(cni_hits a)
check "a -> node (ours passes it on)" pod_send a --to "$GW4" --port 9090 --bytes 5000
check_gt "the CNI's program saw what we passed" "$(cni_hits a)" "$h0"
case_end

case_begin "--attach tcx: ours stays first when the CNI attaches later"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart, tcx" node_start_redirectd --attach tcx
pod_create c || fail "pod c"
check "c enrolled" pod_enrol c
check_eq "attached with tcx" tcx "$(attach_of c)"
check "the CNI's TCX programs after ours" cni_tcx c
check_eq "ours still first" "app_outbound foreign_ok" \
	"$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth c)" in | tr '\n' ' ' | sed 's/ $//')"
n=$(zt tcp15001)
check "c -> b intact" pod_send c --to "$B4" --port 8080 --bytes 100000
check_eq "through ztunnel" $((n + 1)) "$(zt tcp15001)"
case_end

case_begin "the order watch: a program inserted before ours is put back behind it"
in_node "$BUILD/tcxattach" "$BUILD/bpf/tests/foreign_ok.bpf.o" \
	"$(pod_host_veth c)" in "$PIN-cni-c-head" --head
check_eq "the newcomer took the head" foreign_ok \
	"$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth c)" in | head -n 1)"
ours_first_c() {
	[ "$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth c)" in |
		head -n 1)" = app_outbound ]
}
check "ours first again within seconds" settle_long ours_first_c
check_gt "counted as restored" "$(ctl -j status | jq .order_restored)" 0
n=$(zt tcp15001)
check "c -> b intact" pod_send c --to "$B4" --port 8080 --bytes 20000
check_eq "through ztunnel" $((n + 1)) "$(zt tcp15001)"
rm -rf "$PIN-cni-c-head"
case_end

case_begin "--attach auto: a TCX program that arrives after enrolment moves the pod to TCX"
pod_create e || fail "pod e"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart, auto" node_start_redirectd --attach auto
check "e enrolled (no TCX program yet)" pod_enrol e
check_eq "attached with tc" tc "$(attach_of e)"
check "the CNI's TCX programs arrive" cni_tcx e
e_tcx() {
	[ "$(attach_of e)" = tcx ]
}
check "moved to tcx within seconds" settle_long e_tcx
check_eq "ours first" app_outbound \
	"$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth e)" in | head -n 1)"
n=$(zt tcp15001)
check "e -> b intact" pod_send e --to "$B4" --port 8080 --bytes 20000
check_eq "through ztunnel" $((n + 1)) "$(zt tcp15001)"
check "e deleted" ctl pod del "uid-$RUN-e"
uncni e
case_end

case_begin "a foreign legacy filter at pref 1: reported, and with auto ours go first via TCX"
pod_create f || fail "pod f"
check "f enrolled" pod_enrol f
check_eq "attached with tc (nothing else there yet)" tc "$(attach_of f)"
bpftool prog load "$BUILD/bpf/tests/foreign_ok.bpf.o" "$PIN-cni-f-prog" \
	type classifier
in_node tc filter add dev "$(pod_host_veth f)" ingress pref 1 handle 7 bpf \
	da pinned "$PIN-cni-f-prog"
v0=$(ctl -j status | jq .order_violations)
violations_grew() {
	[ "$(ctl -j status | jq .order_violations)" -gt "$v0" ]
}
f_tcx() {
	[ "$(attach_of f)" = tcx ]
}
check "reported" settle_long violations_grew
check_contains "and logged" "$(cat "$WORK/$NODE_NS.log")" \
	"foreign tc filters at a lower pref"
check "moved to tcx" settle_long f_tcx
n=$(zt tcp15001)
check "f -> b intact" pod_send f --to "$B4" --port 8080 --bytes 20000
check_eq "through ztunnel, the pref-1 filter notwithstanding" $((n + 1)) \
	"$(zt tcp15001)"
in_node tc filter del dev "$(pod_host_veth f)" ingress pref 1 handle 7 bpf
check "f deleted" ctl pod del "uid-$RUN-f"
# the same filter already there when a pod is enrolled: TCX from the start
pod_create g || fail "pod g"
in_node tc qdisc add dev "$(pod_host_veth g)" clsact
in_node tc filter add dev "$(pod_host_veth g)" ingress pref 1 handle 7 bpf \
	da pinned "$PIN-cni-f-prog"
check "g enrolled" pod_enrol g
check_eq "g attached with tcx at once" tcx "$(attach_of g)"
n=$(zt tcp15001)
check "g -> b intact" pod_send g --to "$B4" --port 8080 --bytes 20000
check_eq "through ztunnel" $((n + 1)) "$(zt tcp15001)"
in_node tc filter del dev "$(pod_host_veth g)" ingress pref 1 handle 7 bpf
rm -f "$PIN-cni-f-prog"
check "g deleted" ctl pod del "uid-$RUN-g"
case_end

case_begin "links survive a restart, and delete removes them"
kill -9 "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
n=$(zt tcp15001)
check "c -> b while redirectd is down" pod_send c --to "$B4" --port 8080 --bytes 20000
check_eq "still through ztunnel" $((n + 1)) "$(zt tcp15001)"
check "restart" node_start_redirectd --attach tcx
check_eq "c still tcx" tcx "$(attach_of c)"
CIDX=$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-c\") | .host_ifindex")
check "c's links are pinned" test -e "$PIN/tcx_${CIDX}_in"
check "c deleted" ctl pod del "uid-$RUN-c"
check_not "c's links unpinned" test -e "$PIN/tcx_${CIDX}_in"
check_eq "only the CNI's program left on c" foreign_ok \
	"$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth c)" in | tr '\n' ' ' | sed 's/ $//')"
uncni c
n=$(zt tcp15001)
check "c -> b after delete (unmeshed)" pod_send c --to "$B4" --port 8080 --bytes 2000
check_eq "ztunnel not involved" "$n" "$(zt tcp15001)"
case_end

case_begin "redirectctl cleanup removes our TCX links, not the CNI's"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "cleanup" in_node "$BUILD/redirectctl" --socket "$SOCK" cleanup \
	--bpffs "$PIN" --state "$STATE"
check_eq "only the CNI's program left on a" foreign_ok \
	"$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth a)" in | tr '\n' ' ' | sed 's/ $//')"
check_not "pin folder gone" test -d "$PIN"
case_end

uncni a
results
