#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# redirectctl cleanup on a simulated node: with redirectd stopped, every
# filter, pin, cgroup attachment and ztunnel route of ours goes; foreign
# filters and qdiscs stay; pods then talk directly.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd ztunnel-sim

node_init "$BUILD"
node_cgroup || setup_failed "cgroup folder"
node_start_redirectd --cgroup "$CGROUP" || setup_failed redirectd
pod_create a && pod_create b && pod_create c || setup_failed pods
ztunnel_start zt || setup_failed ztunnel
pod_serve b --port 8080 || setup_failed "echo server"
VA=$(pod_host_veth a)
VB=$(pod_host_veth b)
VC=$(pod_host_veth c)
B4=$(pod_ip b 4)

ours() {
	# every filter of ours, by name, on every link of the node netns
	for l in $(in_node ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
		in_node tc filter show dev "$l" ingress
		in_node tc filter show dev "$l" egress
	done 2>/dev/null | grep -cE 'app_outbound|app_inbound|ztunnel_host_in'
}

cleanup() {
	in_node "$BUILD/redirectctl" --socket "$SOCK" cleanup --bpffs "$PIN" \
		--state "$STATE" --cgroup "$CGROUP" "$@"
}

case_begin "set up: pods, ztunnel, a foreign filter and a foreign clsact"
check "foreign clsact on c" in_node tc qdisc add dev "$VC" clsact
check "pod add a" pod_enrol a
check "pod add b" pod_enrol b
check "pod add c" pod_enrol c
# after ours (a verdict-less u32: this kernel has no matchall nor gact)
check "foreign filter on b" in_node tc filter add dev "$VB" ingress \
	pref 40000 handle 800::3 protocol all u32 match u32 0 0 classid 1:1
check "through ztunnel" pod_send a --to "$B4" --port 8080 --bytes 10000
check_gt "our filters" "$(ours)" 4
check "sockops link pinned" test -e "$PIN/sockops_link"
check_contains "rule in ztunnel's netns" "$(in_pod zt ip rule show)" "lookup 100"
case_end

case_begin "cleanup refuses while redirectd serves the socket"
check_not "refused" cleanup
check_gt "our filters still there" "$(ours)" 4
case_end

case_begin "cleanup removes everything of ours, nothing else"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
out=$(cleanup 2>&1)
rc=$?
check_eq "exit code (output: $out)" 0 "$rc"
check_eq "no filter of ours" 0 "$(ours)"
check "bpffs folder gone" test ! -e "$PIN"
check "journal gone" test ! -e "$STATE"
check_eq "no sock_ops on the cgroup" "" \
	"$(bpftool cgroup show "$CGROUP" 2>/dev/null | grep -i sock_ops)"
check_eq "no fwmark rule in ztunnel's netns" 0 \
	"$(in_pod zt ip rule show | grep -c 'lookup 100')"
check_eq "no route in table 100 (v4)" "" "$(in_pod zt ip -4 route show table 100)"
check_eq "no route in table 100 (v6)" "" "$(in_pod zt ip -6 route show table 100 2>/dev/null)"
check_eq "no ztunnel_ingress" 0 \
	"$(in_pod zt tc filter show dev eth0 ingress | grep -c ztunnel_ingress)"
check_contains "foreign filter stays" "$(in_node tc filter show dev "$VB" ingress)" "pref 40000 u32"
check_contains "foreign clsact stays" "$(in_node tc qdisc show dev "$VC")" "clsact"
check_eq "our clsact on a is gone" 0 "$(in_node tc qdisc show dev "$VA" | grep -c clsact)"
case_end

case_begin "pods talk directly afterwards; a second cleanup is a no-op"
before=$(zt_count zt tcp15001 conns)
check "a -> b" pod_send a --to "$B4" --port 8080 --bytes 10000
check_eq "not through ztunnel" "$before" "$(zt_count zt tcp15001 conns)"
check "cleanup again" cleanup
case_end

results
