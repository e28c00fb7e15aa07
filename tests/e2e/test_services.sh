#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A meshed pod reaching Services the way a real cluster's plumbing offers
# them, all at addresses of the node: a ClusterIP on a kube-ipvs0-style
# dummy device with the node's NAT (nftables DNAT, as kube-proxy's nftables
# mode; IPVS is not in this kernel), a hostPort DNAT at the node's own
# address, and a server on a node-local address (a node-local DNS cache).
# Each goes through ztunnel's 15001 with its bytes intact and none of the
# pod's own packets reaching the node's stack (an nftables counter on its
# source port before any NAT), to an unmeshed backend and to a meshed one
# (ztunnel's connection NATed into a meshed pod is captured entering it,
# as Istio does, so the backend's inbound policy holds; ztunnel's answers
# from its inbound side go back through the node's reverse NAT). Node
# clients of those Services, and of a meshed pod from a link-local node
# address, pass as probes do; a pod reusing ztunnel's port from a node
# socket's TIME_WAIT is captured.
# IPv4 and IPv6. TOPOLOGY=bridge runs the same on the bridge plugin.
set -u
BUILD=${1:-build}
TOPOLOGY=${TOPOLOGY:-ptp}
NODE_TOPOLOGY=$TOPOLOGY
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/kernel.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl redirect-cni ztunnel-sim
if [ "${ATTACH:-}" = tcx ]; then
	kernel_has_tcx || skip_suite "TCX needs Linux 6.6+"
fi
[ -x "$CNI_PLUGIN_DIR/$TOPOLOGY" ] || skip_suite "no $TOPOLOGY CNI plugin"
command -v nft >/dev/null || skip_suite "no nft"

node_init "$BUILD"
node_start_redirectd || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create_chain a "$TOPOLOGY" ebpf false || setup_failed "pod a"
pod_create_chain b "$TOPOLOGY" ebpf false || setup_failed "pod b"
pod_create_chain c "$TOPOLOGY" none false || setup_failed "pod c"
pod_serve b --port 8080 --count-file "$WORK/b.conns" || setup_failed "server b"
pod_serve c --port 8080 --count-file "$WORK/c.conns" || setup_failed "server c"
touch "$WORK/b.conns" "$WORK/c.conns"
A4=$(pod_ip a 4) A6=$(pod_ip a 6)
B4=$(pod_ip b 4) B6=$(pod_ip b 6)
C4=$(pod_ip c 4) C6=$(pod_ip c 6)
GW4=$(jq -r '.ips[] | select(.address | contains(":") | not) | .gateway' "$WORK/a.json")
GW6=$(jq -r '.ips[] | select(.address | contains(":")) | .gateway' "$WORK/a.json")
# ClusterIPs: .10 and ::10 lead to c, .11 and ::11 to b.
VIPC4=10.96.0.10 VIPB4=10.96.0.11 VIPC6=fd96::10 VIPB6=fd96::11
LOCAL4=169.254.20.10 LOCAL6=fd20::10

# A dummy device, as kube-proxy makes; a veth pair kept in the node where
# the kernel has no dummy driver (the addresses are local all the same).
node_device() {
	in_node ip link add "$1" type dummy 2>/dev/null ||
		in_node ip link add "$1" type veth peer name "$1-p" || return 1
	in_node ip link set "$1-p" up 2>/dev/null
	in_node ip link set "$1" up
}
node_device kube-ipvs0 || setup_failed "kube-ipvs0"
node_device nodelocaldns || setup_failed "nodelocaldns"
for v in $VIPC4 $VIPB4; do in_node ip addr add "$v/32" dev kube-ipvs0; done
for v in $VIPC6 $VIPB6; do in_node ip addr add "$v/128" dev kube-ipvs0 nodad; done
in_node ip addr add "$LOCAL4/32" dev nodelocaldns
in_node ip addr add "$LOCAL6/128" dev nodelocaldns nodad
node_bg "$NODE_NS" python3 tests/tools/traffic.py serve --port 9053 \
	--ready "$WORK/local.ready"
for _ in $(seq 50); do [ -f "$WORK/local.ready" ] && break; sleep 0.05; done

# The clients' own ports: a's packets must never reach the node's stack
# from these (ztunnel dials with ephemeral ports of its own).
in_node nft -f - <<NFT || setup_failed nftables
table inet $RUN-svc {
	counter escaped { }
	counter from_c { }
	chain raw { type filter hook prerouting priority raw;
		ip saddr $A4 tcp sport 20000-20099 counter name escaped
		ip6 saddr $A6 tcp sport 20000-20099 counter name escaped
		ip saddr $C4 tcp sport 20000-20099 counter name from_c
		ip6 saddr $C6 tcp sport 20000-20099 counter name from_c
	}
	chain out { type nat hook output priority -100;
		ip daddr $VIPB4 tcp dport 80 dnat ip to $B4:8080
		ip6 daddr $VIPB6 tcp dport 80 dnat ip6 to [$B6]:8080
	}
	chain pre { type nat hook prerouting priority dstnat;
		ip daddr $VIPC4 tcp dport 80 dnat ip to $C4:8080
		ip daddr $VIPB4 tcp dport 80 dnat ip to $B4:8080
		ip6 daddr $VIPC6 tcp dport 80 dnat ip6 to [$C6]:8080
		ip6 daddr $VIPB6 tcp dport 80 dnat ip6 to [$B6]:8080
		ip daddr $GW4 tcp dport 30443 dnat ip to $C4:8080
		ip daddr $GW4 tcp dport 30444 dnat ip to $B4:8080
		ip6 daddr $GW6 tcp dport 30443 dnat ip6 to [$C6]:8080
		ip6 daddr $GW6 tcp dport 30444 dnat ip6 to [$B6]:8080
	}
}
NFT

zt() {
	zt_count zt "$1" conns
}

counter() {
	in_node nft -j list counter inet "$RUN-svc" "$1" |
		jq '.nftables[] | select(.counter) | .counter.packets'
}

conns() {
	wc -l <"$WORK/$1.conns"
}

SPORT=20000
# via LABEL ADDR PORT BACKEND: a -> ADDR:PORT, NATed to BACKEND (b or c)
via() {
	label=$1 addr=$2 port=$3 backend=$4
	SPORT=$((SPORT + 1))
	case_begin "a -> $label ($addr:$port) -> $backend, through ztunnel"
	n1=$(zt tcp15001)
	n6=$(zt tcp15006)
	k=$(conns "$backend")
	e=$(counter escaped)
	nr=$(dp_count ztunnel_host_in pass_nat_reply)
	check "intact" pod_send a --to "$addr" --port "$port" --bytes 200000 \
		--sport "$SPORT"
	check_eq "captured by 15001" $((n1 + 1)) "$(zt tcp15001)"
	check_eq "none of a's packets reached the node's stack" "$e" \
		"$(counter escaped)"
	check_eq "one connection at $backend" $((k + 1)) "$(conns "$backend")"
	if [ "$backend" = b ]; then
		check_eq "captured again entering b (its inbound policy)" \
			$((n6 + 1)) "$(zt tcp15006)"
		check_gt "ztunnel's answers went back through the node's NAT" \
			"$(dp_count ztunnel_host_in pass_nat_reply)" "$nr"
	fi
	case_end
}

via "ClusterIP on kube-ipvs0" "$VIPC4" 80 c
via "ClusterIP on kube-ipvs0" "$VIPC6" 80 c
via "ClusterIP on kube-ipvs0" "$VIPB4" 80 b
via "ClusterIP on kube-ipvs0" "$VIPB6" 80 b
via "hostPort at the node address" "$GW4" 30443 c
via "hostPort at the node address" "$GW6" 30443 c
via "hostPort at the node address" "$GW4" 30444 b
via "hostPort at the node address" "$GW6" 30444 b

for l in "$LOCAL4" "$LOCAL6"; do
	case_begin "a -> a node-local server ($l), through ztunnel"
	n1=$(zt tcp15001)
	f=$(dp_count app_inbound redirect_ztunnel_flow)
	SPORT=$((SPORT + 1))
	check "intact" pod_send a --to "$l" --port 9053 --bytes 100000 \
		--sport "$SPORT"
	check_eq "captured by 15001" $((n1 + 1)) "$(zt tcp15001)"
	check_gt "the node server's answers went back to ztunnel" \
		"$(dp_count app_inbound redirect_ztunnel_flow)" "$f"
	case_end
done

# Not ztunnel's: an unmeshed client's connection NATed into a meshed pod is
# captured entering it, as any other inbound connection.
for v in "$VIPB4" "$VIPB6"; do
	SPORT=$((SPORT + 1))
	case_begin "unmeshed c -> ClusterIP ($v) -> meshed b: captured entering b"
	n6=$(zt tcp15006)
	fc=$(counter from_c)
	nr=$(dp_count ztunnel_host_in pass_nat_reply)
	check "intact" pod_send c --to "$v" --port 80 --bytes 100000 \
		--sport "$SPORT"
	check_gt "c's packets went through the node (control)" \
		"$(counter from_c)" "$fc"
	check_eq "captured by 15006" $((n6 + 1)) "$(zt tcp15006)"
	check_eq "answered straight (no NAT on ztunnel's side)" "$nr" \
		"$(dp_count ztunnel_host_in pass_nat_reply)"
	case_end
done

for v in "$VIPB4" "$VIPB6"; do
	case_begin "a node client of a ClusterIP ($v) backed by meshed b: passes like a probe"
	n6=$(zt tcp15006)
	r=$(dp_count app_outbound pass_node_socket_reply)
	check "intact" in_node python3 tests/tools/traffic.py send --to "$v" \
		--port 80 --bytes 50000
	check_eq "not captured" "$n6" "$(zt tcp15006)"
	check_gt "b's replies through the NAT known as the node's" \
		"$(dp_count app_outbound pass_node_socket_reply)" "$r"
	case_end
done

case_begin "a node client at a link-local node address ($LOCAL4) -> meshed b: passes"
n6=$(zt tcp15006)
check "intact" in_node python3 tests/tools/traffic.py send --to "$B4" \
	--port 8080 --bytes 50000 --bind-src "$LOCAL4"
check_eq "not captured" "$n6" "$(zt tcp15006)"
case_end

# The node server closes first: its socket of ztunnel's connection (to
# ztunnel's port q, with a's address) waits in TIME_WAIT. a connecting
# from q itself must not pass for the node's own connection.
case_begin "a pod reusing ztunnel's port from a node socket's TIME_WAIT is captured"
node_bg "$NODE_NS" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000)); s.listen(8)
while True:
    c, _ = s.accept(); c.sendall(b"hello"); c.close()
'
node_listens_7000() {
	[ -n "$(in_node ss -Hltn "( sport = :7000 )")" ]
}
check "the node server listens" settle_long node_listens_7000
check "a -> node:7000 (through ztunnel)" in_pod a python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7000), 3)
assert s.recv(5) == b"hello"
' "$GW4"
# ztunnel's port once the node's socket is in TIME_WAIT: that takes the
# FINs' trip through ztunnel, after the client has returned
time_wait_port() {
	q=$(in_node ss -Htan state time-wait "( sport = :7000 )" |
		awk '{ print $NF }' | sed -n "s/^$A4:\([0-9]*\)$/\1/p" | head -n 1)
	[ -n "$q" ]
}
check "the node holds ztunnel's connection in TIME_WAIT" settle_long time_wait_port
n1=$(zt tcp15001)
r=$(dp_count app_outbound pass_node_socket_reply)
in_pod a python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[2]))); s.settimeout(3)
s.connect((sys.argv[1], 7000)); s.recv(5)
' "$GW4" "$q" 2>/dev/null
check_eq "captured by 15001" $((n1 + 1)) "$(zt tcp15001)"
check_eq "never taken for the node's own connection" "$r" \
	"$(dp_count app_outbound pass_node_socket_reply)"
case_end

in_node nft delete table inet "$RUN-svc"
results
