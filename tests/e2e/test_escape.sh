#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A pod must not escape or hijack the mesh. Each attempt a pod could make
# is a case: it must fail, and the stand-in's and the datapath's counters
# must show the traffic still went through ztunnel (or was dropped).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl redirect-cni ztunnel-sim

node_init "$BUILD"
node_start_redirectd || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create_chain a ptp ebpf false || setup_failed "pod a"
pod_create_chain b ptp ebpf false || setup_failed "pod b"
pod_create_chain c ptp none false || setup_failed "pod c"
pod_serve b --port 8080 || setup_failed "server b"
pod_create_chain d ptp none false || setup_failed "pod d"
pod_serve d --port 53 || setup_failed "server d:53"
B4=$(pod_ip b 4)
C4=$(pod_ip c 4)
D4=$(pod_ip d 4)
Z4=$(pod_ip zt 4)

zt() {
	zt_count zt "$1" conns
}

case_begin "a pod listening on ztunnel's ports catches nothing"
pod_serve a --port 15001 --count-file "$WORK/a15001.conns"
pod_serve b --port 15006 --count-file "$WORK/b15006.conns"
n1=$(zt tcp15001)
n6=$(zt tcp15006)
check "a -> b still intact" pod_send a --to "$B4" --port 8080 --bytes 20000
check "c -> b still intact" pod_send c --to "$B4" --port 8080 --bytes 20000
check_eq "ztunnel got a's connection" $((n1 + 1)) "$(zt tcp15001)"
check_eq "ztunnel got c's connection" $((n6 + 1)) "$(zt tcp15006)"
check_eq "a's own 15001 saw nothing" 0 "$(cat "$WORK/a15001.conns" 2>/dev/null | wc -l)"
check_eq "b's own 15006 saw nothing" 0 "$(cat "$WORK/b15006.conns" 2>/dev/null | wc -l)"
case_end

case_begin "a forged capture tag in the socket mark is wiped at the veth"
for mark in 0x5a7e0001 0x5a7e0002 0x539 0x400; do
	n=$(zt tcp15006)
	check "c (mark $mark) -> b intact" pod_send c --to "$B4" --port 8080 \
		--bytes 5000 --mark "$mark"
	check_eq "still captured inbound (mark $mark)" $((n + 1)) "$(zt tcp15006)"
done
n=$(zt tcp15001)
check "a (mark ztunnel's 0x539) -> b" pod_send a --to "$B4" --port 8080 \
	--bytes 5000 --mark 0x539
check_eq "still captured outbound" $((n + 1)) "$(zt tcp15001)"
case_end

case_begin "a forged tag aimed at ztunnel's address is not socket-assigned"
u0=$(dp_count ztunnel_ingress pass_untagged)
a0=$(dp_count ztunnel_ingress assign_outbound_listener)
check_not "c (tag outbound) -> ztunnel:9 refused" pod_send c --to "$Z4" \
	--port 9 --bytes 10 --timeout 1 --mark 0x5a7e0001
check_gt "arrived untagged" "$(dp_count ztunnel_ingress pass_untagged)" "$u0"
check_eq "never handed to a listener" "$a0" \
	"$(dp_count ztunnel_ingress assign_outbound_listener)"
case_end

case_begin "a meshed pod cannot send from an address that is not its own"
s0=$(dp_count app_outbound drop_spoofed_source)
check_not "a as c -> b" pod_send a --to "$B4" --port 8080 --bytes 100 \
	--timeout 1 --bind-src "$C4"
check_not "a as 10.244.0.250 -> b" pod_send a --to "$B4" --port 8080 \
	--bytes 100 --timeout 1 --bind-src 10.244.0.250
check_gt "dropped as spoofed" "$(dp_count app_outbound drop_spoofed_source)" "$s0"
case_end

case_begin "source port 53 does not pass as a DNS reply"
n=$(zt tcp15006)
check "c from port 53 -> b intact" pod_send c --to "$B4" --port 8080 \
	--bytes 5000 --sport 53
check_eq "captured inbound" $((n + 1)) "$(zt tcp15006)"
case_end

case_begin "TCP to port 53 is no path around ztunnel"
pod_serve b --port 53
n=$(zt tcp15001)
check "a -> b:53 intact" pod_send a --to "$B4" --port 53 --bytes 1000
check "a -> d:53 (unmeshed) intact" pod_send a --to "$D4" --port 53 --bytes 1000
check_eq "both captured leaving a" $((n + 2)) "$(zt tcp15001)"
case_end

results
