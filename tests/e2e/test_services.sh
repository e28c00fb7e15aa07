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
# (ztunnel's connection NATed into a meshed pod: let in once, not captured
# a second time, its replies back through the node's reverse NAT).
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
	pi=$(dp_count app_inbound pass_ztunnel_nat)
	po=$(dp_count app_outbound pass_ztunnel_nat_reply)
	check "intact" pod_send a --to "$addr" --port "$port" --bytes 200000 \
		--sport "$SPORT"
	check_eq "captured by 15001" $((n1 + 1)) "$(zt tcp15001)"
	check_eq "none of a's packets reached the node's stack" "$e" \
		"$(counter escaped)"
	check_eq "one connection at $backend" $((k + 1)) "$(conns "$backend")"
	if [ "$backend" = b ]; then
		check_eq "not captured a second time entering b" "$n6" \
			"$(zt tcp15006)"
		check_gt "b let ztunnel's NATed connection in" \
			"$(dp_count app_inbound pass_ztunnel_nat)" "$pi"
		check_gt "b's replies went back through the node's NAT" \
			"$(dp_count app_outbound pass_ztunnel_nat_reply)" "$po"
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
	pi=$(dp_count app_inbound pass_ztunnel_nat)
	check "intact" pod_send c --to "$v" --port 80 --bytes 100000 \
		--sport "$SPORT"
	check_gt "c's packets went through the node (control)" \
		"$(counter from_c)" "$fc"
	check_eq "captured by 15006" $((n6 + 1)) "$(zt tcp15006)"
	check_eq "not taken for ztunnel's" "$pi" \
		"$(dp_count app_inbound pass_ztunnel_nat)"
	case_end
done

in_node nft delete table inet "$RUN-svc"
results
