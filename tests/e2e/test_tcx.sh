#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Living beside a CNI that attaches with TCX (issue 13). A TCX program on a
# pod's host veth runs before every legacy clsact filter, and one that
# returns anything but TCX_NEXT ends the chain: the stand-in here
# (tests/bpf/foreign_ok.bpf.c, attached by tests/tools/tcxattach.c)
# returns TC_ACT_OK, as Cilium's do, and counts what it sees. With --attach tc such a pod
# silently escapes the mesh; --attach auto puts ours at the head of the
# TCX chain, passing with TCX_NEXT so the CNI's program still runs.
# The same on ztunnel's host veth (issue 18), where such a program loses
# every meshed packet of the node instead, and on ztunnel's own interface.
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
zt_attach_of() {
	ctl -j pods | jq -r ".ztunnels[] | select(.uid == \"uid-$RUN-$1\") | .attach"
}
# chain DEV: the program names on DEV's TCX ingress in the node, one line
chain() {
	in_node "$BUILD/tcxattach" --list "$1" in | tr '\n' ' ' | sed 's/ $//'
}
# own_chain ZTUNNEL: the same on ztunnel's own eth0, inside its netns
own_chain() {
	in_pod "$1" "$BUILD/tcxattach" --list eth0 in | tr '\n' ' ' | sed 's/ $//'
}
# cni_zt ZTUNNEL: the CNI's TCX program on both hooks of its host veth
cni_zt() {
	cni_tcx "$1"
}
status_of() {
	ctl -j status | jq -r ".$1"
}
# metric NAME: its value from redirectd --metrics unix:$WORK/metrics.sock
metric() {
	python3 - "$WORK/metrics.sock" <<'PY' | awk -v m="ambient_redirect_$1" '$1 == m { print $2 }'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
sys.stdout.write(data.partition(b"\r\n\r\n")[2].decode())
PY
}

node_start_redirectd --attach tc || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create b || setup_failed "pod b"
pod_serve b --port 8080 || setup_failed "server b"
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
h0=$(cni_hits a)
# a's answers to a node socket's probe pass ours on
check "serve in a" pod_serve a --port 9091
check "node -> a (a probe)" in_node python3 tests/tools/traffic.py send \
	--to "$(pod_ip a 4)" --port 9091 --bytes 5000
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
r0=$(status_of order_restored)
check "a program at the head" in_node "$BUILD/tcxattach" \
	"$BUILD/bpf/tests/foreign_ok.bpf.o" "$(pod_host_veth c)" in \
	"$PIN-cni-c-head" --head
ours_first_c() {
	[ "$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth c)" in |
		head -n 1)" = app_outbound ]
}
check "ours first again within seconds" settle_long ours_first_c
check_gt "counted as restored" "$(status_of order_restored)" "$r0"
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
# read before the filter goes in: the order watch may count it before the
# next line runs
v0=$(ctl -j status | jq .order_violations)
bpftool prog load "$BUILD/bpf/tests/foreign_ok.bpf.o" "$PIN-cni-f-prog" \
	type classifier
in_node tc filter add dev "$(pod_host_veth f)" ingress pref 1 handle 7 bpf \
	da pinned "$PIN-cni-f-prog"
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

# --- ztunnel's hooks (issue 18) ---
# m: a meshed pod, b's server not meshed. Everything ztunnel sends leaves
# through its host veth, where ztunnel_host_in delivers what is for a
# meshed pod (its answers to m) and takes what app_inbound captured (b's
# answers) into ztunnel: a program that ends the chain before it loses
# both.

case_begin "--attach tc: a CNI's TCX program on ztunnel's host veth loses meshed traffic, and status says so"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart, tc" node_start_redirectd --attach tc \
	--metrics "unix:$WORK/metrics.sock"
pod_create m || fail "pod m"
check "m enrolled" pod_enrol m
pod_create zc || fail "ztunnel pod zc"
check "CNI TCX programs on zc's host veth" cni_zt zc
v0=$(status_of order_violations)
check "zc is ztunnel" ztunnel_start zc
check_eq "its hooks are tc filters" tc "$(zt_attach_of zc)"
check_contains "ztunnel_host_in a cls_bpf filter" \
	"$(in_node tc filter show dev "$(pod_host_veth zc)" ingress)" ztunnel_host_in
check_eq "the CNI's program runs first" foreign_ok "$(chain "$(pod_host_veth zc)")"
n=$(zt_count zc tcp15001 conns)
o0=$(dp_count app_outbound redirect_ztunnel)
check_not "m -> b does not work" pod_send m --to "$B4" --port 8080 \
	--bytes 2000 --timeout 2
check_gt "m's packets went to ztunnel" \
	"$(dp_count app_outbound redirect_ztunnel)" "$o0"
check_eq "but not even m's leg to ztunnel completed: ztunnel's answers went around ztunnel_host_in" \
	"$n" "$(zt_count zc tcp15001 conns)"
zc_reported() {
	[ "$(status_of ztunnel_foreign_first)" = true ]
}
check "status: a foreign program before ztunnel's" settle_long zc_reported
check_gt "counted in the order watch" "$(status_of order_violations)" "$v0"
check_contains "status text" "$(ctl status)" "ANOTHER OWNER'S PROGRAM RUNS BEFORE THEM"
check_eq "and the metric" 1 "$(metric ztunnel_foreign_first)"
check_eq "its hooks are not TCX links" 0 "$(metric ztunnel_tcx)"
check_contains "logged" "$(cat "$WORK/$NODE_NS.log")" \
	"ztunnel uid-$RUN-zc: TCX programs on $(pod_host_veth zc) run before our tc filters"
check_eq "still tc (nothing safe to do)" tc "$(zt_attach_of zc)"
check "zc deleted" ctl ztunnel del "uid-$RUN-zc"
check_eq "only the CNI's program left on zc's veth" foreign_ok \
	"$(chain "$(pod_host_veth zc)")"
case_end

case_begin "--attach auto: ztunnel added beside a CNI's TCX programs gets TCX links at the head"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart, auto" node_start_redirectd --attach auto
pod_create za || fail "ztunnel pod za"
check "CNI TCX programs on za's host veth" cni_zt za
check "za is ztunnel" ztunnel_start za
ZA=$(pod_host_veth za)
check_eq "its hooks are TCX links" tcx "$(zt_attach_of za)"
check_eq "status: ztunnel's hooks" tcx "$(status_of ztunnel_attach)"
check_contains "status text" "$(ctl status)" "hooks tcx"
check_contains "pods" "$(ctl pods)" "ztunnel uid-$RUN-za on eth0 (host $(pod_host_veth za)) current (tcx)"
check_eq "ours first on its host veth, the CNI's after" \
	"ztunnel_host_in foreign_ok" "$(chain "$ZA")"
check_eq "ztunnel_ingress first inside its netns" ztunnel_ingress \
	"$(own_chain za)"
check_eq "no cls_bpf filter of ours on its host veth" "" \
	"$(in_node tc filter show dev "$ZA" ingress)"
h0=$(cni_hits za)
n=$(zt_count za tcp15001 conns)
check "m -> b intact" pod_send m --to "$B4" --port 8080 --bytes 100000
check_eq "through ztunnel za" $((n + 1)) "$(zt_count za tcp15001 conns)"
check_gt "the CNI's program saw what ours passed" "$(cni_hits za)" "$h0"
check_eq "nothing reported" false "$(status_of ztunnel_foreign_first)"
ZAIDX=$(ctl -j pods | jq -r ".ztunnels[] | select(.uid == \"uid-$RUN-za\") | .host_ifindex")
check "its links are pinned" test -e "$PIN/tcx_${ZAIDX}_in"
check "and the one in its netns" test -e "$PIN/tcx_${ZAIDX}_peer_in"
check "za deleted" ctl ztunnel del "uid-$RUN-za"
check_not "its links unpinned" test -e "$PIN/tcx_${ZAIDX}_in"
check_not "both" test -e "$PIN/tcx_${ZAIDX}_peer_in"
check_eq "only the CNI's program left on its veth" foreign_ok "$(chain "$ZA")"
check_eq "nothing of ours left in its netns" "" "$(own_chain za)"
case_end

case_begin "--attach auto: a CNI's TCX program arriving on ztunnel's veth moves ztunnel to TCX"
pod_create zl || fail "ztunnel pod zl"
check "zl is ztunnel" ztunnel_start zl
check_eq "tc (nothing else there)" tc "$(zt_attach_of zl)"
check "the CNI's programs arrive" cni_zt zl
zl_tcx() {
	[ "$(zt_attach_of zl)" = tcx ]
}
check "moved to tcx within seconds" settle_long zl_tcx
check_eq "ours first" "ztunnel_host_in foreign_ok" "$(chain "$(pod_host_veth zl)")"
check_eq "its cls_bpf filters gone" "" \
	"$(in_node tc filter show dev "$(pod_host_veth zl)" ingress)"
check_eq "in its netns too" "" "$(in_pod zl tc filter show dev eth0 ingress)"
check_eq "ztunnel_ingress a TCX link there" ztunnel_ingress "$(own_chain zl)"
check_contains "logged" "$(cat "$WORK/$NODE_NS.log")" \
	"ztunnel uid-$RUN-zl: TCX programs on $(pod_host_veth zl); ours moved"
n=$(zt_count zl tcp15001 conns)
check "m -> b intact" pod_send m --to "$B4" --port 8080 --bytes 20000
check_eq "through ztunnel zl" $((n + 1)) "$(zt_count zl tcp15001 conns)"
check "zl deleted" ctl ztunnel del "uid-$RUN-zl"
case_end

case_begin "--attach tcx: ztunnel's links stay first when the CNI attaches later"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart, tcx" node_start_redirectd --attach tcx
pod_create zx || fail "ztunnel pod zx"
check "zx is ztunnel" ztunnel_start zx
ZX=$(pod_host_veth zx)
check_eq "its hooks are TCX links" tcx "$(zt_attach_of zx)"
check "the CNI's programs after ours" cni_zt zx
check_eq "ours still first" "ztunnel_host_in foreign_ok" "$(chain "$ZX")"
n=$(zt_count zx tcp15001 conns)
check "m -> b intact" pod_send m --to "$B4" --port 8080 --bytes 20000
check_eq "through ztunnel zx" $((n + 1)) "$(zt_count zx tcp15001 conns)"
case_end

# ztunnel's program is first on its host veth, on its own eth0
zx_host_first() {
	[ "$(in_node "$BUILD/tcxattach" --list "$ZX" in | head -n 1)" = ztunnel_host_in ]
}
zx_own_first() {
	[ "$(in_pod zx "$BUILD/tcxattach" --list eth0 in | head -n 1)" = ztunnel_ingress ]
}
# A reader of the chain runs the whole time: a move that took ours off
# the hook for a moment, however short, shows as reads without it.
case_begin "the order watch puts ztunnel's link back first, never leaving the hook without it"
r0=$(status_of order_restored)
nsenter --net="/var/run/netns/$NODE_NS" "$BUILD/tcxattach" --watch "$ZX" in \
	ztunnel_host_in >"$WORK/zx.reads" &
READER=$!
NODE_PIDS="$NODE_PIDS $READER"
for i in 1 2 3 4 5; do
	check "round $i: a program at the head" in_node "$BUILD/tcxattach" \
		"$BUILD/bpf/tests/foreign_ok.bpf.o" "$ZX" in "$PIN-cni-zx-head$i" --head
	check "round $i: ours first again within seconds" settle_long zx_host_first
	rm -rf "$PIN-cni-zx-head$i"
done
kill -TERM "$READER"
wait "$READER"
check_gt "counted as restored" "$(status_of order_restored)" $((r0 + 4))
check_contains "the reader read the chain" "$(cat "$WORK/zx.reads")" "snapshots"
check_eq "never without ztunnel_host_in" 0 "$(awk '{ print $4 }' "$WORK/zx.reads")"
zx_chain_is() {
	[ "$(chain "$ZX")" = "$1" ]
}
check "one link of ours, the first" settle_long zx_chain_is \
	"ztunnel_host_in foreign_ok"
n=$(zt_count zx tcp15001 conns)
check "m -> b intact" pod_send m --to "$B4" --port 8080 --bytes 20000
check_eq "through ztunnel zx" $((n + 1)) "$(zt_count zx tcp15001 conns)"
case_end

case_begin "the same for ztunnel_ingress inside ztunnel's netns"
r0=$(status_of order_restored)
check "a program at the head of zx's eth0" in_pod zx "$BUILD/tcxattach" \
	"$BUILD/bpf/tests/foreign_ok.bpf.o" eth0 in "$PIN-cni-zx-own" --head
check "ours first again within seconds" settle_long zx_own_first
check_gt "counted as restored" "$(status_of order_restored)" "$r0"
check_eq "behind ours now" "ztunnel_ingress foreign_ok" "$(own_chain zx)"
n=$(zt_count zx tcp15001 conns)
check "m -> b intact" pod_send m --to "$B4" --port 8080 --bytes 20000
check_eq "through ztunnel zx" $((n + 1)) "$(zt_count zx tcp15001 conns)"
rm -rf "$PIN-cni-zx-own"
case_end

# ids DEV|own: "LINK_ID PROG_ID" of ztunnel's program on that hook
zx_ids() {
	if [ "$1" = own ]; then
		in_pod zx "$BUILD/tcxattach" --list eth0 in --ids
	else
		in_node "$BUILD/tcxattach" --list "$ZX" in --ids
	fi | awk '$3 ~ /^ztunnel_/ { print $1, $2 }'
}
case_begin "ztunnel's links survive a restart; the restart swaps its programs in place"
host0=$(zx_ids host)
own0=$(zx_ids own)
kill -9 "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
n=$(zt_count zx tcp15001 conns)
check "m -> b while redirectd is down" pod_send m --to "$B4" --port 8080 --bytes 20000
check_eq "through ztunnel zx" $((n + 1)) "$(zt_count zx tcp15001 conns)"
# what a move cut short between its pin and its rename leaves: a second
# link at the head, pinned beside ours as tcx_<ifindex>_in_new
ZXIDX=$(in_node ip -j link show "$ZX" | jq '.[0].ifindex')
check "a link at the head" in_node "$BUILD/tcxattach" \
	"$BUILD/bpf/tests/foreign_ok.bpf.o" "$ZX" in "$PIN-cni-zx-left" --head
check "pinned as a move's leftover" mv "$PIN-cni-zx-left/link" \
	"$PIN/tcx_${ZXIDX}_in_new"
check "restart" node_start_redirectd --attach tcx
check_eq "still tcx" tcx "$(zt_attach_of zx)"
check_not "the leftover unpinned" test -e "$PIN/tcx_${ZXIDX}_in_new"
check_contains "logged" "$(cat "$WORK/$NODE_NS.log")" \
	"removing a move's leftover TCX link tcx_${ZXIDX}_in_new"
check "and its link gone" settle_long zx_chain_is "ztunnel_host_in foreign_ok"
host1=$(zx_ids host)
own1=$(zx_ids own)
check_eq "the same link on its host veth" "${host0%% *}" "${host1%% *}"
check_eq "and in its netns" "${own0%% *}" "${own1%% *}"
check "with this daemon's programs" test "${host0#* }" != "${host1#* }"
check "in both" test "${own0#* }" != "${own1#* }"
check_eq "ours first" "ztunnel_host_in foreign_ok" "$(chain "$ZX")"
n=$(zt_count zx tcp15001 conns)
check "m -> b intact" pod_send m --to "$B4" --port 8080 --bytes 20000
check_eq "through ztunnel zx" $((n + 1)) "$(zt_count zx tcp15001 conns)"
case_end

case_begin "redirectctl cleanup removes our TCX links, not the CNI's"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "cleanup" in_node "$BUILD/redirectctl" --socket "$SOCK" cleanup \
	--bpffs "$PIN" --state "$STATE"
check_eq "only the CNI's program left on a" foreign_ok \
	"$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth a)" in | tr '\n' ' ' | sed 's/ $//')"
check_eq "only the CNI's program left on ztunnel's veth" foreign_ok "$(chain "$ZX")"
check_eq "nothing of ours in ztunnel's netns" "" "$(own_chain zx)"
check_not "pin folder gone" test -d "$PIN"
case_end

uncni a
results
