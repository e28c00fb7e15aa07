#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The whole system on a simulated node: pods made by Debian's CNI plugins
# through a conflist that chains redirect-cni, redirectd, the ztunnel
# stand-in, real traffic. Every case checks from the stand-in's counters
# whether the traffic went through ztunnel, and that the bytes arrived
# intact. TOPOLOGY=bridge runs the same cases on the bridge plugin.
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
	need_built tcxattach
	kernel_has_tcx ||
		skip_suite "TCX needs Linux 6.6+"
fi
[ -x "$CNI_PLUGIN_DIR/$TOPOLOGY" ] || skip_suite "no $TOPOLOGY CNI plugin"

node_init "$BUILD"
node_start_redirectd || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create_chain a "$TOPOLOGY" ebpf false || setup_failed "pod a"
pod_create_chain b "$TOPOLOGY" ebpf true || setup_failed "pod b"
pod_create_chain c "$TOPOLOGY" none false || setup_failed "pod c"
pod_serve b --port 8080 || setup_failed "server b"
pod_serve b --port 5353 --udp || setup_failed "udp server b"
pod_serve c --port 8080 || setup_failed "server c"
pod_serve c --port 53 --udp || setup_failed "dns server c"
node_bg "$NODE_NS" python3 tests/tools/traffic.py serve --port 9090 \
	--ready "$WORK/node.ready"
A4=$(pod_ip a 4)
B4=$(pod_ip b 4)
B6=$(pod_ip b 6)
C4=$(pod_ip c 4)
GW4=$(jq -r '.ips[] | select(.address | contains(":") | not) | .gateway' "$WORK/a.json")
for _ in $(seq 50); do [ -f "$WORK/node.ready" ] && break; sleep 0.05; done

zt() {
	zt_count zt "$1" conns
}

case_begin "the CNI chain enrolled the meshed pods and passed prevResult on"
check_eq "a's hook output equals prevResult" "$(jq -S . "$WORK/a.json")" \
	"$(jq -S . "$WORK/a.hook.json")"
check_eq "enrolled: a and b, not c" "uid-$RUN-a uid-$RUN-b" \
	"$(ctl -j pods | jq -r '[.pods[].uid] | sort | join(" ")')"
if [ "${ATTACH:-}" = tcx ]; then
	check_eq "a's programs are TCX links" tcx \
		"$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-a\") | .attach")"
	check_eq "c's veth untouched" "" \
		"$(in_node "$BUILD/tcxattach" --list "$(pod_host_veth c)" in)"
else
	check_contains "a's veth" "$(in_node tc filter show dev "$(pod_host_veth a)" ingress)" app_outbound
	check_eq "c's veth untouched" 0 \
		"$(in_node tc filter show dev "$(pod_host_veth c)" ingress | grep -c app_outbound)"
fi
case_end

case_begin "meshed to meshed, IPv4 and IPv6, through ztunnel"
n=$(zt tcp15001)
check "v4 intact" pod_send a --to "$B4" --port 8080 --bytes 300000
check "v6 intact" pod_send a --to "$B6" --port 8080 --bytes 300000
check_eq "two outbound connections at ztunnel" $((n + 2)) "$(zt tcp15001)"
check_eq "nothing captured twice" 0 "$(zt tcp15006)"
case_end

case_begin "meshed to meshed over UDP passes untouched (ztunnel serves no UDP)"
p0=$(dp_count app_outbound pass_udp)
check "udp intact" pod_send a --to "$B4" --port 5353 --udp --bytes 5000
check_gt "passed as UDP" "$(dp_count app_outbound pass_udp)" "$p0"
case_end

case_begin "non-meshed to meshed: inbound capture"
n=$(zt tcp15006)
check "c -> b intact" pod_send c --to "$B4" --port 8080 --bytes 100000
check_eq "inbound connection at ztunnel" $((n + 1)) "$(zt tcp15006)"
case_end

case_begin "meshed to non-meshed: outbound capture"
n=$(zt tcp15001)
check "a -> c intact" pod_send a --to "$C4" --port 8080 --bytes 100000
check_eq "outbound connection at ztunnel" $((n + 1)) "$(zt tcp15001)"
case_end

# A node address is no exemption: Service addresses (kube-ipvs0), hostPorts
# and NodePorts are node addresses; test_services.sh has those.
case_begin "meshed to a server at the node's address goes through ztunnel"
n1=$(zt tcp15001)
check "a -> node intact" pod_send a --to "$GW4" --port 9090 --bytes 50000
check_eq "captured by 15001" $((n1 + 1)) "$(zt tcp15001)"
case_end

case_begin "DNS without capture goes straight to the server"
d=$(zt dns15053)
check "a -> c:53 intact" pod_send a --to "$C4" --port 53 --udp --bytes 300
check_eq "no DNS capture" "$d" "$(zt dns15053)"
case_end

case_begin "DNS with capture goes through ztunnel's DNS port"
d=$(zt dns15053)
check "b -> c:53 intact" pod_send b --to "$C4" --port 53 --udp --bytes 300
check_gt "DNS captured" "$(zt dns15053)" "$d"
case_end

case_begin "the inbound guard inside meshed pods lets in what ztunnel and the node sent"
check_eq "a and b guarded, c not enrolled" "true true" \
	"$(ctl -j pods | jq -r '[.pods[].guard | tostring] | join(" ")')"
check_eq "status says the guard is on" on "$(ctl -j status | jq -r .guard)"
g0=$(dp_count pod_guard pass_from_ztunnel)
n=$(zt tcp15001)
check "a -> b intact" pod_send a --to "$B4" --port 8080 --bytes 50000
check_eq "through ztunnel" $((n + 1)) "$(zt tcp15001)"
check_gt "b's guard let ztunnel's packets in" \
	"$(dp_count pod_guard pass_from_ztunnel)" "$g0"
p0=$(dp_count pod_guard pass_node_socket)
n6=$(zt tcp15006)
check "node -> b (a probe) intact" in_node python3 tests/tools/traffic.py \
	send --to "$B4" --port 8080 --bytes 20000
check_eq "the probe was not captured" "$n6" "$(zt tcp15006)"
check_gt "b's guard let the node's socket in" \
	"$(dp_count pod_guard pass_node_socket)" "$p0"
check_eq "nothing reached a pod around app_inbound" 0 \
	"$(dp_count pod_guard return_to_ztunnel)"
case_end

case_begin "a foreign filter on a pod veth still sees pass-through traffic"
bpftool prog load "$BUILD/bpf/tests/foreign_counter.bpf.o" "$PIN/foreign" \
	type classifier pinmaps "$PIN/foreign_maps"
# its owner's clsact (ours made one in tc mode; in tcx mode there is none)
in_node tc qdisc add dev "$(pod_host_veth a)" clsact 2>/dev/null
in_node tc filter add dev "$(pod_host_veth a)" ingress pref 40000 handle 9 \
	bpf da pinned "$PIN/foreign"
h0=$(bpftool map lookup pinned "$PIN/foreign_maps/hits" key 0 0 0 0 -j | jq .formatted.value)
# a's answers to a node socket's probe pass ours
check "serve in a" pod_serve a --port 9091
check "node -> a (a probe)" in_node python3 tests/tools/traffic.py send \
	--to "$A4" --port 9091 --bytes 20000
sleep 0.3 # the probe's last segments
h1=$(bpftool map lookup pinned "$PIN/foreign_maps/hits" key 0 0 0 0 -j | jq .formatted.value)
check_gt "foreign filter after ours counted" "$h1" "$h0"
check "a -> b still captured" pod_send a --to "$B4" --port 8080 --bytes 20000
h2=$(bpftool map lookup pinned "$PIN/foreign_maps/hits" key 0 0 0 0 -j | jq .formatted.value)
check_eq "redirected packets never reached it" "$h1" "$h2"
in_node tc filter del dev "$(pod_host_veth a)" ingress pref 40000 handle 9 bpf
case_end

case_begin "redirectd killed and restarted while a transfer runs: no bytes lost"
n=$(zt tcp15001)
in_pod a python3 tests/tools/traffic.py send --to "$B4" --port 8080 \
	--bytes 2000000 --rate 1000000 --timeout 20 >"$WORK/long.json" &
sender=$!
sleep 0.7
kill -9 "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart" node_start_redirectd
wait "$sender"
check_eq "transfer intact" true "$(jq -r .ok "$WORK/long.json")"
check_eq "it went through ztunnel" $((n + 1)) "$(zt tcp15001)"
check_eq "pods known again" 2 "$(ctl -j status | jq -r .pods)"
case_end

case_begin "pod delete and re-add through the CNI chain"
check "DEL a" pod_delete_chain a "$TOPOLOGY"
check_eq "a gone" "uid-$RUN-b" "$(ctl -j pods | jq -r '[.pods[].uid] | join(" ")')"
check "DEL of a gone pod succeeds" cni_exec DEL a \
	"$(hook_conf ebpf false "$(cat "$WORK/a.json")")" "$BUILD/redirect-cni"
check "ADD a again" pod_create_chain a "$TOPOLOGY" ebpf false
n=$(zt tcp15001)
check "new a -> b intact" pod_send a --to "$B4" --port 8080 --bytes 50000
check_eq "through ztunnel" $((n + 1)) "$(zt tcp15001)"
case_end

case_begin "ztunnel absent: meshed pods fail closed"
check "ztunnel del" ctl ztunnel del "uid-$RUN-zt"
check_not "a -> b blocked" pod_send a --to "$B4" --port 8080 --bytes 1000 --timeout 1
check_not "c -> b blocked" pod_send c --to "$B4" --port 8080 --bytes 1000 --timeout 1
check_gt "drops counted" "$(dp_count app_outbound drop_no_ztunnel)" 0
case_end

case_begin "a new ztunnel takes over"
old_pid=$ZT_PID
check "ztunnel 2" ztunnel_start zt2
n=$(zt_count zt2 tcp15001 conns)
check "a -> b intact" pod_send a --to "$B4" --port 8080 --bytes 50000
check_eq "through the new ztunnel" $((n + 1)) "$(zt_count zt2 tcp15001 conns)"
ZT_PID=$old_pid
case_end

results
