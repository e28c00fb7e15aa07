#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Upgrades in place (issue 13): redirectd restarted, while a long transfer
# between two meshed pods runs, first with another --pod-capacity (same
# layout: the pods map is replaced, its entries carried over), then as a
# build whose maps have another layout (build/redirectd-alt-layout: every
# map replaced and refilled from the journal), then back. The transfer
# must complete intact over the one connection ztunnel captured (a single
# packet around ztunnel breaks it: ztunnel's side of the connection uses
# other ports), and nothing may need `redirectctl cleanup`.
# tests/run.sh runs it again with --attach tcx (TCX links updated in place).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/kernel.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectd-alt-layout redirectctl ztunnel-sim
if [ "${ATTACH:-}" = tcx ]; then
	kernel_has_tcx ||
		skip_suite "TCX needs Linux 6.6+"
	need_built tcxattach
fi
[ -x "$CNI_PLUGIN_DIR/ptp" ] || skip_suite "no ptp CNI plugin"

node_init "$BUILD"
node_start_redirectd || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create_chain a ptp ebpf false || setup_failed "pod a"
pod_create_chain b ptp ebpf false || setup_failed "pod b"
pod_serve b --port 8080 || setup_failed "server b"
B4=$(pod_ip b 4)

zt() {
	zt_count zt "$1" conns
}
# restart_as BINARY [ARGS]: stop redirectd, start BINARY in its place
restart_as() {
	REDIRECTD_BIN=$1
	shift
	kill "$REDIRECTD_PID"
	wait "$REDIRECTD_PID" 2>/dev/null
	node_start_redirectd "$@"
}
node_log_has() {
	grep -q "$1" "$WORK/$NODE_NS.log"
}
capacity() {
	ctl -j status | jq -r .pod_capacity
}
# zt_links: "LINK_ID PROG_ID" of ztunnel's TCX links, host veth then its
# own interface (--attach tcx)
zt_links() {
	in_node "$BUILD/tcxattach" --list "$(pod_host_veth zt)" in --ids
	in_pod zt "$BUILD/tcxattach" --list eth0 in --ids
}

# this build's layout version
LAYOUT=$(sed -n 's/^#define REDIRECT_LAYOUT_VERSION \([0-9]*\)$/\1/p' \
	bpf/include/redirect_abi.h)
case_begin "a transfer runs on while redirectd changes capacity and layout"
links0=$(zt_links 2>/dev/null | awk '{ print $1 }')
progs0=$(zt_links 2>/dev/null | awk '{ print $2 }')
n=$(zt tcp15001)
in_pod a python3 tests/tools/traffic.py send --to "$B4" --port 8080 \
	--bytes 8000000 --rate 1000000 --timeout 40 >"$WORK/long.json" &
sender=$!
sleep 0.8
check "restart with --pod-capacity 4096" restart_as redirectd \
	--pod-capacity 4096
check_eq "capacity 4096" 4096 "$(capacity)"
check "pods map replaced, entries carried over" \
	node_log_has "map pods: entries carried over"
sleep 0.8
check "restart as a build of another layout, capacity 8192" \
	restart_as redirectd-alt-layout --pod-capacity 8192
check_eq "capacity 8192" 8192 "$(capacity)"
check "all maps replaced" node_log_has "pinned maps of layout $LAYOUT, this build's is 99"
sleep 0.8
check "back to this build" restart_as redirectd
check_eq "default capacity" 16384 "$(capacity)"
check "layout 99 replaced again" node_log_has "pinned maps of layout 99"
# (8 s at 1 MB/s: the three restarts and sleeps leave it running, which
# the guard's check after the last swap needs)
check "the transfer still runs after the last swap" kill -0 "$sender"
g0=$(dp_count pod_guard pass_from_ztunnel)
wait "$sender"
check_eq "transfer intact" true "$(jq -r .ok "$WORK/long.json")"
check_eq "over the one connection ztunnel captured" $((n + 1)) \
	"$(zt tcp15001)"
check_gt "b's guard let ztunnel's packets in after the last swap" \
	"$(dp_count pod_guard pass_from_ztunnel)" "$g0"
check_eq "nothing reached b around app_inbound" 0 \
	"$(dp_count pod_guard return_to_ztunnel)"
if [ "${ATTACH:-}" = tcx ]; then
	check_eq "ztunnel's two TCX links are the ones it had" "$links0" \
		"$(zt_links | awk '{ print $1 }')"
	check "running this build's programs" test "$progs0" != \
		"$(zt_links | awk '{ print $2 }')"
	check_eq "both of them" 2 "$(printf '%s\n' "$links0" | grep -c .)"
fi
case_end

case_begin "nothing was left to clean up"
check_eq "no maps set aside remain" "" "$(ls "$PIN" | grep -x old)"
check "the previous build's maps were unpinned" \
	node_log_has "maps of the previous build unpinned"
check_eq "both pods enrolled" 2 "$(ctl -j status | jq -r .pods)"
check_eq "layout pinned" "$LAYOUT" "$(bpftool map lookup pinned "$PIN/layout" \
	key 0 0 0 0 -j | jq .formatted.value)"
check "a new connection is captured" pod_send a --to "$B4" --port 8080 \
	--bytes 100000
check_eq "at ztunnel" $((n + 2)) "$(zt tcp15001)"
case_end

results
