#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Hold against hostile peers (issue 18): what a peer that redirectd lets in
# (an --allow-uid agent, read-only or with pod writes), a second redirectd
# on the same pins, or a restart with too small a --pod-capacity can do to
# the daemon and the pods. Each case failed before its fix.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh
. tests/lib/kernel.sh

need_root
need_built redirectd redirectctl redirect-cni ztunnel-sim
command -v setpriv >/dev/null || skip_suite "no setpriv to act as another uid"

AGENT=65534 # nobody: the uid let in by --allow-uid

node_init "$BUILD"
chmod 755 "$WORK" # the agent must reach the socket in it
node_start_redirectd --allow-uid "$AGENT" || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create a || setup_failed "pod a"
pod_enrol a >/dev/null || setup_failed "enrol a"
pod_create b || setup_failed "pod b"

# agent CMD...: redirectctl as the allowed non-root uid
agent() {
	setpriv --reuid="$AGENT" --regid="$AGENT" --clear-groups \
		"$BUILD/redirectctl" --socket "$SOCK" "$@" 2>&1
}

state() {
	ctl -j pods | jq -c '[[.pods[].uid], [.ztunnels[] | [.uid, .current]]]'
}

uids() {
	ctl -j pods | jq -r '[.pods[].uid] | sort | join(" ")'
}

restart() {
	kill "$REDIRECTD_PID"
	wait "$REDIRECTD_PID" 2>/dev/null
	node_start_redirectd "$@"
}

# What a second daemon could have touched: the journal's inode, the
# pinned pods map, our program on a's veth, the socket.
owned_look() {
	printf '%s %s %s %s\n' "$(stat -c %i "$STATE")" \
		"$(bpftool map show pinned "$PIN/pods" -j | jq .id)" \
		"$(in_node tc filter show dev "$(pod_host_veth a)" ingress |
			grep -o 'id [0-9]*' | head -n 1)" \
		"$(stat -c %i "$SOCK")"
}

# --- a second redirectd --------------------------------------------------
case_begin "a second redirectd on the same pins and journal exits, touching nothing"
before=$(owned_look)
for sock in "$SOCK" "$WORK/second.sock"; do
	out=$(timeout 10 nsenter --net="/var/run/netns/$NODE_NS" \
		"$BUILD/redirectd" --socket "$sock" --bpffs "$PIN" \
		--state "$STATE" 2>&1)
	rc=$?
	check "socket $sock: exits non-zero at once (rc $rc)" \
		test "$rc" -ne 0 -a "$rc" -ne 124
	check_contains "socket $sock: says why" "$out" "another redirectd owns"
	check_eq "socket $sock: journal, pins, hooks, socket untouched" \
		"$before" "$(owned_look)"
done
check "no second socket" test ! -e "$WORK/second.sock"
check "the first still serves" ctl status
check "it enrols b afterwards" ctl pod add "uid-$RUN-b" \
	--netns "/var/run/netns/$RUN-b" --ip "$(pod_ip b 4)"
kill -9 "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart after kill -9" node_start_redirectd --allow-uid "$AGENT"
check_eq "b survived in the journal" "uid-$RUN-a uid-$RUN-b" "$(uids)"
check "b deleted" ctl pod del "uid-$RUN-b"
case_end

# --- --pod-capacity ------------------------------------------------------
# extra_addrs POD N: N more IPv4 addresses on the pod's eth0, printed as
# --ip options
extra_addrs() {
	for i in $(seq "$2"); do
		in_pod "$1" ip addr add "10.250.$3.$i/32" dev eth0
		printf -- '--ip 10.250.%s.%s ' "$3" "$i"
	done
}

pods_map() {
	bpftool map show pinned "$PIN/pods" -j | jq -c '[.id, .max_entries]'
}

case_begin "a restart with a --pod-capacity too small for the journal refuses to start"
check "restart with room for 64" restart --allow-uid "$AGENT" --pod-capacity 64
pod_create c || fail "pod c"
pod_create d || fail "pod d"
# shellcheck disable=SC2046
check "c with 10 addresses" pod_enrol c $(extra_addrs c 8 1)
# shellcheck disable=SC2046
check "d with 10 addresses" pod_enrol d $(extra_addrs d 8 2)
check_eq "22 addresses" 22 "$(ctl -j status | jq .pod_addresses)"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
before=$(pods_map)
n0=$(bpftool map dump pinned "$PIN/pods" -j | jq length)
out=$(timeout 10 nsenter --net="/var/run/netns/$NODE_NS" "$BUILD/redirectd" \
	--socket "$SOCK" --bpffs "$PIN" --state "$STATE" --pod-capacity 16 2>&1)
rc=$?
check "refused (rc $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check_contains "names what it needs" "$out" "--pod-capacity 22 or more"
check_eq "the pods map untouched (id, size)" "$before" "$(pods_map)"
check_eq "every entry still pinned" "$n0" \
	"$(bpftool map dump pinned "$PIN/pods" -j | jq length)"
check "meanwhile c's traffic is still captured: a serves, c sends" \
	pod_serve a --port 8081
z0=$(zt_count zt tcp15001 conns)
check "c -> a" pod_send c --to "$(pod_ip a 4)" --port 8081 --bytes 1000
check_eq "through ztunnel" $((z0 + 1)) "$(zt_count zt tcp15001 conns)"
check "a capacity that fits starts" node_start_redirectd \
	--allow-uid "$AGENT" --pod-capacity 22
check_eq "every pod there" "uid-$RUN-a uid-$RUN-c uid-$RUN-d" "$(uids)"
check_eq "every address published" 22 \
	"$(bpftool map dump pinned "$PIN/pods" -j | jq length)"
check "c and d deleted" ctl pod del "uid-$RUN-c"
check "d deleted" ctl pod del "uid-$RUN-d"
check "back to the default capacity" restart --allow-uid "$AGENT"
case_end

# --- ztunnel's netns and veth against a pod's ----------------------------
# TCX where the kernel has it: there nothing else refused ztunnel's veth
# as a pod's (with tc, only our filter slot, taken by ztunnel_host_in).
ATTACH=tc
kernel_has_tcx && ATTACH=tcx
Z4=$(pod_ip zt 4)
Z6=$(pod_ip zt 6)

case_begin "ztunnel's netns and veth are never a pod's, nor a pod's ztunnel's ($ATTACH)"
check "restart, pod and ztunnel writes granted" restart --allow-uid "$AGENT" \
	--allow-pod-writes --allow-ztunnel-writes --attach "$ATTACH"
# ztunnel known by its IPv4 only: its IPv6 is no "ztunnel address" then
check "ztunnel re-added with its IPv4 only" ctl ztunnel add "uid-$RUN-zt" \
	--netns "/var/run/netns/$RUN-zt" --ip "$Z4"
check "b enrolled" ctl pod add "uid-$RUN-b" --netns "/var/run/netns/$RUN-b" \
	--ip "$(pod_ip b 4)"
# a second veth in ztunnel's netns and in b's, each peer in the node
in_node ip link add ztx type veth peer name eth1 netns "$RUN-zt"
in_node ip link add pbx type veth peer name eth1 netns "$RUN-b"
for ns in zt b; do
	nsrun "$RUN-$ns" ip link set eth1 up
done
nsrun "$RUN-zt" ip addr add 10.251.0.1/32 dev eth1
in_node ip link set ztx up
in_node ip link set pbx up
s0=$(state)
p0=$(ls "$PIN" | sort | xargs)
out=$(agent pod add evil --netns "/var/run/netns/$RUN-zt" --ip "$Z6")
check_contains "ztunnel's veth as a pod: refused" "$out" "CONFLICT"
check_contains "and says why" "$out" "ztunnel uid-$RUN-zt's"
out=$(agent pod add evil --netns "/var/run/netns/$RUN-zt" --ifname eth1 \
	--ip 10.251.0.1)
check_contains "another veth in ztunnel's netns as a pod: refused" "$out" \
	"CONFLICT"
check_contains "and says why" "$out" "network namespace is ztunnel"
out=$(ctl pod add evil --netns "/var/run/netns/$RUN-zt" --ip "$Z6" 2>&1)
check_contains "root is refused the same" "$out" "never a pod's"
out=$(agent ztunnel add evil --netns "/var/run/netns/$RUN-b")
check_contains "pod b's veth as ztunnel's: refused" "$out" "CONFLICT"
check_contains "and says why" "$out" "(uid uid-$RUN-b), never ztunnel's"
out=$(agent ztunnel add evil --netns "/var/run/netns/$RUN-b" --ifname eth1)
check_contains "another veth in b's netns as ztunnel's: refused" "$out" \
	"CONFLICT"
check_contains "and says why" "$out" "network namespace of eth1 is pod"
check_eq "nothing enrolled, ztunnel unchanged" "$s0" "$(state)"
check_eq "no pin made" "$p0" "$(ls "$PIN" | sort | xargs)"
check_eq "no filter on ztunnel's second veth" "" \
	"$(in_node tc filter show dev ztx ingress)"
check_eq "no filter on b's second veth" "" \
	"$(in_node tc filter show dev pbx ingress)"
check "a serves" pod_serve a --port 8082
z0=$(zt_count zt tcp15001 conns)
check "b -> a" pod_send b --to "$(pod_ip a 4)" --port 8082 --bytes 1000
check_eq "still through ztunnel" $((z0 + 1)) "$(zt_count zt tcp15001 conns)"
in_node ip link del ztx
in_node ip link del pbx
check "b deleted" ctl pod del "uid-$RUN-b"
check "ztunnel whole again" ctl ztunnel add "uid-$RUN-zt" \
	--netns "/var/run/netns/$RUN-zt" --ip "$Z4" --ip "$Z6"
check "restart as before" restart --allow-uid "$AGENT"
case_end

results
