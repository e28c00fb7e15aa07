#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make demo: a simulated node, pods enrolled through the CNI chain, real
# traffic, and the evidence that it went through ztunnel. Tears down at the
# end (and on failure or Ctrl-C).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
. tests/lib/node.sh

[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces, BPF)"; exit 1; }

step=0
say() {
	step=$((step + 1))
	printf '\n\033[1m== %d. %s\033[0m\n' "$step" "$*"
}

show() {
	printf '$ %s\n' "$*"
	"$@" 2>&1 | sed 's/^/    /'
}

zt_line() {
	jq -r --arg l "$1" '.listeners[$l] |
		"\($l): \(.conns) connections, \(.bytes_up) bytes up, \(.bytes_down) bytes down"' \
		"$WORK/zt.status"
}

send() {
	from=$1 to=$2 port=$3
	shift 3
	printf '%s -> %s:%s  ' "$from" "$to" "$port"
	pod_send "$from" --to "$to" --port "$port" "$@"
}

node_init "$BUILD"
say "A node: network namespace $RUN-node, redirectd in it"
node_start_redirectd --log-level warn || exit 1
echo "redirectd pid $REDIRECTD_PID, socket $SOCK, pins under $PIN"

say "ztunnel: a pod of its own running the stand-in, enrolled with redirectd"
ztunnel_start zt || exit 1
echo "ztunnel pod $(pod_ip zt 4) / $(pod_ip zt 6); listeners 15001 15006 15008 15053"

say "Pods created by Debian's CNI plugins, chained with redirect-cni"
echo "conflist entry of our hook (after the ptp plugin):"
hook_conf ebpf false '{}' | jq 'del(.prevResult)' | sed 's/^/    /'
pod_create_chain a ptp ebpf false || exit 1
pod_create_chain b ptp ebpf false || exit 1
pod_create_chain c ptp none false || exit 1
echo "a $(pod_ip a 4) meshed | b $(pod_ip b 4) meshed | c $(pod_ip c 4) not meshed (redirectMode none)"
show "$BUILD/redirectctl" --socket "$SOCK" pods

say "The filters on pod a's host veth: ours, at its own priority and handle"
VA=$(pod_host_veth a)
show in_node tc filter show dev "$VA" ingress
show in_node tc filter show dev "$VA" egress
echo "and inside pod a, the inbound guard on eth0 (a TCX link, pinned as guard_<ifindex>):"
show in_pod a "$BUILD/tcxattach" --list eth0 in

say "Real traffic (echo servers in b and on the node; bytes checked by SHA-256)"
pod_serve b --port 8080
pod_serve c --port 5353 --udp
node_bg "$NODE_NS" python3 tests/tools/traffic.py serve --port 9090 --ready "$WORK/node.ready"
sleep 0.3
GW=$(jq -r '.ips[] | select(.address | contains(":") | not) | .gateway' "$WORK/a.json")
send a "$(pod_ip b 4)" 8080 --bytes 1000000
send a "$(pod_ip b 6)" 8080 --bytes 1000000
send c "$(pod_ip b 4)" 8080 --bytes 200000
send a "$GW" 9090 --bytes 100000
send a "$(pod_ip c 4)" 5353 --udp --bytes 1200
sleep 0.3

say "What ztunnel saw (the stand-in's counters)"
zt_line tcp15001
echo "    ^ a -> b over IPv4 and IPv6: captured leaving a (outbound, then ztunnel's own 15008 hop)"
zt_line tcp15006
echo "    ^ c -> b: c is not meshed, captured entering b (inbound)"
echo "    a -> node address $GW: not captured (ztunnel saw no connection for it)"
echo "    a -> c UDP 5353: passed untouched, like Istio's ztunnel only DNS is UDP"
echo "    it serves (app_outbound pass_udp: $(dp_count app_outbound pass_udp) datagrams;"
echo "    app_inbound pass_udp on the way back: $(dp_count app_inbound pass_udp))"
echo "    inside b, pod_guard let in $(dp_count pod_guard pass_from_ztunnel) packets ztunnel delivered and"
echo "    sent $(dp_count pod_guard return_to_ztunnel) back (none came around app_inbound)"

say "What the datapath decided (per-program counters, non-zero rows)"
"$BUILD/redirectctl" --socket "$SOCK" stats | awk 'NR == 1 || $3 > 0' | sed 's/^/    /'

say "redirectd's view"
show "$BUILD/redirectctl" --socket "$SOCK" status

say "ztunnel goes away: meshed pods fail closed"
"$BUILD/redirectctl" --socket "$SOCK" ztunnel del "uid-$RUN-zt"
send a "$(pod_ip b 4)" 8080 --bytes 1000 --timeout 1
echo "drop_no_ztunnel: $(dp_count app_outbound drop_no_ztunnel) packets"

say "Tear down"
node_cleanup
echo "namespaces, pins, processes and files of $RUN removed"
