#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The mesh boundary (issue 11): ztunnel gets exactly what it serves (TCP,
# and DNS when DNS capture is on), everything else passes untouched, and no
# pod can choose to skip ztunnel. The stand-in behaves like Istio's
# ztunnel here: TCP 15001/15006/15008, DNS 15053, no other UDP listener.
# Every case checks content integrity and the stand-in's and datapath's
# counters. TOPOLOGY=bridge runs the same cases on the bridge plugin.
set -u
BUILD=${1:-build}
TOPOLOGY=${TOPOLOGY:-ptp}
NODE_TOPOLOGY=$TOPOLOGY
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl redirect-cni ztunnel-sim
[ -x "$CNI_PLUGIN_DIR/$TOPOLOGY" ] || skip_suite "no $TOPOLOGY CNI plugin"
command -v nft >/dev/null || skip_suite "no nft (nftables) for the NodePort hop"

node_init "$BUILD"
node_start_redirectd || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create_chain a "$TOPOLOGY" ebpf false || setup_failed "pod a"
pod_create_chain b "$TOPOLOGY" ebpf false || setup_failed "pod b"
pod_create_chain c "$TOPOLOGY" none false || setup_failed "pod c"
pod_create_chain d "$TOPOLOGY" none false || setup_failed "pod d"
for p in b c; do
	pod_serve $p --port 8080 --count-file "$WORK/$p.conns" ||
		setup_failed "server $p"
	pod_serve $p --port 5353 --udp || setup_failed "udp server $p"
done
pod_serve d --port 53 || setup_failed "tcp server d:53"
A4=$(pod_ip a 4)
B4=$(pod_ip b 4)
B6=$(pod_ip b 6)
C4=$(pod_ip c 4)
C6=$(pod_ip c 6)
D4=$(pod_ip d 4)
GW4=$(jq -r '.ips[] | select(.address | contains(":") | not) | .gateway' "$WORK/b.json")
# a global IPv6 address of the node's netns (the pods' gateway side)
NODE6=$(in_node ip -6 -j addr show scope global |
	jq -r '[.[].addr_info[] | select(.family == "inet6") | .local][0]')

zt() {
	zt_count zt "$1" conns
}

case_begin "UDP between meshed and unmeshed pods passes untouched, both ways"
o=$(dp_count app_outbound pass_udp)
i=$(dp_count app_inbound pass_udp)
l=$(dp_count ztunnel_ingress drop_no_listener)
check "a -> c IPv4" pod_send a --to "$C4" --port 5353 --udp --bytes 4000
check "a -> c IPv6" pod_send a --to "$C6" --port 5353 --udp --bytes 4000
check "c -> b IPv4" pod_send c --to "$B4" --port 5353 --udp --bytes 4000
check "c -> b IPv6" pod_send c --to "$B6" --port 5353 --udp --bytes 4000
check_gt "a's datagrams passed as UDP" "$(dp_count app_outbound pass_udp)" "$((o + 1))"
check_gt "b's datagrams passed as UDP" "$(dp_count app_inbound pass_udp)" "$((i + 1))"
check_eq "none sent to ztunnel to die" "$l" \
	"$(dp_count ztunnel_ingress drop_no_listener)"
case_end

case_begin "TCP to port 53 with DNS capture off goes through ztunnel"
n=$(zt tcp15001)
d=$(zt dns15053)
check "a -> d:53 intact" pod_send a --to "$D4" --port 53 --bytes 20000
check_eq "captured by 15001" $((n + 1)) "$(zt tcp15001)"
check_eq "not DNS-captured" "$d" "$(zt dns15053)"
case_end

case_begin "a NodePort-style hop (DNAT + masquerade to a node address) is captured, replies too"
in_node nft -f - <<NFT
table ip $RUN-nodeport {
	chain pre { type nat hook prerouting priority dstnat;
		ip daddr $GW4 tcp dport 30080 dnat to $B4:8080; }
	chain post { type nat hook postrouting priority srcnat;
		ip daddr $B4 tcp dport 8080 ct status dnat masquerade; }
}
NFT
n=$(zt tcp15006)
r=$(dp_count app_outbound pass_node_socket_reply)
check "c -> node:30080 -> b intact" pod_send c --to "$GW4" --port 30080 --bytes 200000
check_eq "captured entering b" $((n + 1)) "$(zt tcp15006)"
check_eq "b's replies to the node address went back to ztunnel" \
	"$r" "$(dp_count app_outbound pass_node_socket_reply)"
check_eq "b saw the node address (masquerade)" "$GW4" "$(tail -n 1 "$WORK/b.conns")"
in_node nft delete table ip "$RUN-nodeport"
case_end

# The spoofer never completes a handshake (ztunnel's SYN-ACK goes to the
# node, whose address it is): what counts is where its SYNs were taken.
case_begin "an unmeshed pod spoofing the node's IPv6 address is captured"
r=$(dp_count app_inbound redirect_ztunnel)
l=$(dp_count ztunnel_ingress assign_inbound_listener)
s=$(dp_count app_inbound pass_node_socket)
k=$(wc -l <"$WORK/b.conns")
check "the node has a global IPv6 address" test -n "$NODE6"
check_not "c as $NODE6 -> b (its replies go to the node)" pod_send c \
	--to "$B6" --port 8080 --bytes 100 --timeout 1 --bind-src "$NODE6"
check_gt "captured entering b" "$(dp_count app_inbound redirect_ztunnel)" "$r"
check_gt "handed to ztunnel's 15006" \
	"$(dp_count ztunnel_ingress assign_inbound_listener)" "$l"
check_eq "not taken for a node socket" "$s" "$(dp_count app_inbound pass_node_socket)"
check_eq "b's server never reached" "$k" "$(wc -l <"$WORK/b.conns")"
case_end

case_begin "VLAN-tagged frames from a meshed pod are dropped, never routed"
in_pod c nft -f - <<NFT
table inet $RUN-syn {
	chain in { type filter hook input priority 0;
		tcp dport 8080 tcp flags syn counter; }
}
NFT
syns() {
	in_pod c nft -j list table inet "$RUN-syn" |
		jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add'
}
# one datagram to the gateway, so a knows its MAC (no ping here)
pod_send a --to "$GW4" --port 9 --udp --bytes 1 --timeout 0.3 >/dev/null 2>&1
GWMAC=$(in_pod a ip -j neigh show "$GW4" | jq -r '.[0].lladdr')
t=$(dp_count app_outbound drop_vlan_tagged)
s0=$(syns)
check "untagged SYN sent" in_pod a python3 tests/tools/rawframe.py \
	--dst-mac "$GWMAC" --src "$A4" --dst "$C4" --dport 8080
for tags in "--tag 0x8100:42" "--tag 0x8100:42 --tag 0x8100:7" \
	"--tag 0x88a8:42 --tag 0x8100:7"; do
	# shellcheck disable=SC2086
	check "tagged SYN sent ($tags)" in_pod a python3 tests/tools/rawframe.py \
		--dst-mac "$GWMAC" --src "$A4" --dst "$C4" --dport 8080 $tags
done
sleep 0.3
check_eq "three tagged frames dropped" $((t + 3)) "$(dp_count app_outbound drop_vlan_tagged)"
check_eq "no SYN reached c uncaptured" "$s0" "$(syns)"
case_end

case_begin "kubelet-style probes from a node process stay exempt"
n=$(zt tcp15006)
s=$(dp_count app_inbound pass_node_socket)
r=$(dp_count app_outbound pass_node_socket_reply)
check "node -> b IPv4 intact" in_node python3 tests/tools/traffic.py send \
	--to "$B4" --port 8080 --bytes 5000
check "node -> b IPv6 intact" in_node python3 tests/tools/traffic.py send \
	--to "$B6" --port 8080 --bytes 5000
check_eq "ztunnel saw none" "$n" "$(zt tcp15006)"
check_gt "passed as a node socket's" "$(dp_count app_inbound pass_node_socket)" "$s"
check_gt "b's replies to the node passed too" \
	"$(dp_count app_outbound pass_node_socket_reply)" "$r"
case_end

case_begin "a ztunnel enrolled with --capture-udp gets all UDP (opt-in)"
old_pid=$ZT_PID
check "ztunnel 2, capturing UDP" ztunnel_start zt2 udp
check_eq "status says so" true "$(ctl -j status | jq -r .ztunnel_capture_udp)"
u=$(zt_count zt2 udp15001 conns)
v=$(zt_count zt2 udp15006 conns)
check "a -> c UDP intact" pod_send a --to "$C4" --port 5353 --udp --bytes 3000
check "c -> b UDP intact" pod_send c --to "$B4" --port 5353 --udp --bytes 3000
check_eq "outbound UDP at ztunnel" $((u + 1)) "$(zt_count zt2 udp15001 conns)"
check_eq "inbound UDP at ztunnel" $((v + 1)) "$(zt_count zt2 udp15006 conns)"
ZT_PID=$old_pid
case_end

results
