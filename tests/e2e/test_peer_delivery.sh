#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A CNI with eBPF host routing delivers inbound traffic into a pod with
# bpf_redirect_peer from another device, so the pod's host veth egress,
# where app_inbound sits, never sees it (issue 13). A "remote node" netns
# sends to a meshed pod through the node's uplink, where the stand-in
# (tests/bpf/peer_deliver.bpf.c, TCX) peer-delivers it straight into the
# pod. pod_guard, inside the pod, must send that TCP back to ztunnel as
# inbound capture, let non-DNS UDP and the node's own probes through.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl ztunnel-sim tcxattach
[ -x "$CNI_PLUGIN_DIR/ptp" ] || skip_suite "no ptp CNI plugin"

node_init "$BUILD"
trap 'rm -rf "$PIN-cni"; node_cleanup' EXIT

# The remote node: its eth0, the node's uplink, routes to the pods.
remote_create() {
	ip netns add "$RUN-remote" || return 1
	NODE_PODS="$NODE_PODS remote"
	in_node ip link add uplink type veth peer name eth0 \
		netns "$RUN-remote" || return 1
	in_node ip addr add 192.0.2.1/24 dev uplink
	in_node ip addr add fd99:2::1/64 dev uplink nodad
	in_node ip link set uplink up
	in_pod remote ip link set lo up
	in_pod remote ip addr add 192.0.2.2/24 dev eth0
	in_pod remote ip addr add fd99:2::2/64 dev eth0 nodad
	in_pod remote ip link set eth0 up
	in_pod remote ip route add "$POD_SUBNET4" via 192.0.2.1
	in_pod remote ip -6 route add "$POD_SUBNET6" via fd99:2::1
}

# addr_bytes ADDR: the 16 bytes of the address (IPv4 as ::ffff:a.b.c.d)
addr_bytes() {
	python3 -c 'import ipaddress, sys
a = ipaddress.ip_address(sys.argv[1])
b = a.packed if a.version == 6 else bytes(10) + b"\xff\xff" + a.packed
print(" ".join(str(x) for x in b))' "$1"
}

# route_add POD ADDR: the stand-in delivers ADDR into POD with a peer
# redirect on its host veth, with the pod's MAC as destination
route_add() {
	_veth=$(pod_host_veth "$1")
	_idx=$(in_node ip -j link show "$_veth" | jq '.[0].ifindex')
	_mac=$(in_pod "$1" ip -j link show eth0 | jq -r '.[0].address' |
		sed 's/:/ 0x/g; s/^/0x/')
	# shellcheck disable=SC2046,SC2086
	bpftool map update pinned "$PIN-cni/maps/routes" \
		key $(addr_bytes "$2") \
		value $((_idx & 255)) $((_idx >> 8 & 255)) $((_idx >> 16 & 255)) \
		$((_idx >> 24)) $_mac 0 0
}
delivered() {
	bpftool map lookup pinned "$PIN-cni/maps/delivered" key 0 0 0 0 -j |
		jq .formatted.value
}
zt() {
	zt_count zt "$1" conns
}
remote_send() {
	in_pod remote python3 tests/tools/traffic.py send "$@"
}

node_start_redirectd --no-guard || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create a || setup_failed "pod a"
pod_enrol a >/dev/null || setup_failed "enrol a"
remote_create || setup_failed "remote node"
in_node "$BUILD/tcxattach" "$BUILD/bpf/tests/peer_deliver.bpf.o" uplink in \
	"$PIN-cni" 2>/dev/null || skip_suite "no TCX links in this kernel (6.6+)"
A4=$(pod_ip a 4)
A6=$(pod_ip a 6)
route_add a "$A4" || setup_failed "route to a (v4)"
route_add a "$A6" || setup_failed "route to a (v6)"
pod_serve a --port 8080 || setup_failed "server a"
pod_serve a --port 5353 --udp || setup_failed "udp server a"

# Without the guard the SYN reaches the pod around ztunnel; the pod's
# answer leaves through app_outbound, which hands it to ztunnel, where no
# socket owns it: the connection breaks instead of being meshed.
case_begin "without the guard, peer-delivered TCP reaches the pod around ztunnel"
check_eq "status says why the guard is off" "turned off with --no-guard" \
	"$(ctl -j status | jq -r .guard)"
n=$(zt tcp15006)
d=$(delivered)
check_not "remote -> a does not work" remote_send --to "$A4" --port 8080 \
	--bytes 20000 --timeout 2
check_gt "the stand-in delivered it into the pod" "$(delivered)" "$d"
check_eq "ztunnel's inbound listener never saw it" "$n" "$(zt tcp15006)"
case_end

case_begin "restarted with the guard, redirectd puts it into the enrolled pod"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart" node_start_redirectd
check_eq "a guarded now" true \
	"$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-a\") | .guard")"
check_eq "status" on "$(ctl -j status | jq -r .guard)"
case_end

case_begin "peer-delivered TCP is captured inbound, IPv4 and IPv6"
n=$(zt tcp15006)
d=$(delivered)
r0=$(dp_count pod_guard return_to_ztunnel)
o0=$(dp_count app_outbound redirect_ztunnel_returned)
check "v4 intact" remote_send --to "$A4" --port 8080 --bytes 300000
check "v6 intact" remote_send --to "$A6" --port 8080 --bytes 300000
check_gt "the stand-in delivered it into the pod" "$(delivered)" "$d"
check_eq "two inbound connections at ztunnel" $((n + 2)) "$(zt tcp15006)"
check_gt "the guard sent it back out" \
	"$(dp_count pod_guard return_to_ztunnel)" "$r0"
check_gt "app_outbound took it to ztunnel" \
	"$(dp_count app_outbound redirect_ztunnel_returned)" "$o0"
case_end

case_begin "peer-delivered UDP that ztunnel does not serve still passes"
u=$(dp_count pod_guard pass_not_captured)
d=$(delivered)
n=$(zt tcp15006)
check "v4 udp intact" remote_send --to "$A4" --port 5353 --udp --bytes 3000
check "v6 udp intact" remote_send --to "$A6" --port 5353 --udp --bytes 3000
check_gt "the stand-in delivered it into the pod" "$(delivered)" "$d"
check_gt "the guard let it in" "$(dp_count pod_guard pass_not_captured)" "$u"
check_eq "ztunnel saw no connection" "$n" "$(zt tcp15006)"
case_end

case_begin "probes from a node process still pass, IPv4 and IPv6"
n=$(zt tcp15006)
p0=$(dp_count pod_guard pass_node_socket)
check "node -> a v4 intact" in_node python3 tests/tools/traffic.py send \
	--to "$A4" --port 8080 --bytes 20000
check "node -> a v6 intact" in_node python3 tests/tools/traffic.py send \
	--to "$A6" --port 8080 --bytes 20000
check_eq "not captured" "$n" "$(zt tcp15006)"
check_gt "the guard let the node's sockets in" \
	"$(dp_count pod_guard pass_node_socket)" "$p0"
case_end

case_begin "pod delete removes the guard's link"
check "delete" ctl pod delete "uid-$RUN-a"
check_eq "no guard pin left" "" "$(ls "$PIN" | grep '^guard_')"
check_eq "no program left on a's interface" "" \
	"$(in_pod a "$BUILD/tcxattach" --list eth0 in)"
case_end

results
