#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# redirectd driven through its socket on a simulated node: enrolment,
# chaining with other owners' filters, restarts, and bad input.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd ztunnel-sim tcxattach
# Chaining among cls_bpf filters at their prefs is what this suite checks:
# --attach tc, where a foreign filter before ours stays before ours (auto
# would move ours to TCX, ahead of it: test_tcx.sh covers that).
REDIRECTD_ARGS="--attach tc ${REDIRECTD_ARGS:-}"

node_init "$BUILD"
node_start_redirectd || setup_failed redirectd
pod_create a && pod_create b && pod_create c || exit 1
ztunnel_start zt || setup_failed ztunnel
pod_serve b --port 8080
VA=$(pod_host_veth a)
VB=$(pod_host_veth b)
B4=$(pod_ip b 4)
B6=$(pod_ip b 6)
NODE4=$(in_node ip -4 -o addr show dev "$VA" | awk '{print $4}' | cut -d/ -f1 | head -n1)

npods() {
	ctl -j status | jq -r .pods
}

filter_on() {
	in_node tc filter show dev "$1" "$2"
}

# --- enrolment --------------------------------------------------------
case_begin "pod add attaches both programs at our slot"
check "pod add a" pod_enrol a
check "pod add b" pod_enrol b
out=$(filter_on "$VA" ingress)
check_contains "ingress filter" "$out" "app_outbound"
check_contains "our pref" "$out" "pref 23166"
check_contains "our handle" "$out" "handle 0xa3b1"
check_contains "direct-action" "$out" "direct-action"
check_contains "egress filter" "$(filter_on "$VA" egress)" "app_inbound"
check_eq "pods enrolled" 2 "$(npods)"
case_end

case_begin "meshed pod to meshed pod goes through ztunnel (IPv4, IPv6)"
before=$(zt_count zt tcp15001 conns)
check "v4 transfer intact" pod_send a --to "$B4" --port 8080 --bytes 200000
check "v6 transfer intact" pod_send a --to "$B6" --port 8080 --bytes 200000
check_eq "ztunnel outbound connections" $((before + 2)) "$(zt_count zt tcp15001 conns)"
check_gt "app_outbound redirected" "$(dp_count app_outbound redirect_ztunnel)" 0
case_end

case_begin "a repeated add is harmless"
check "pod add a again" pod_enrol a
check_eq "pods enrolled" 2 "$(npods)"
check_eq "one ingress filter" 1 "$(filter_on "$VA" ingress | grep -c app_outbound)"
check "still works" pod_send a --to "$B4" --port 8080 --bytes 10000
case_end

case_begin "pod delete removes our filters and map entries; delete again is fine"
check "pod del a" ctl pod del "uid-$RUN-a"
check_eq "no ingress filter" 0 "$(filter_on "$VA" ingress | grep -c app_outbound)"
check_eq "no egress filter" 0 "$(filter_on "$VA" egress | grep -c app_inbound)"
check_eq "qdisc we created is gone" 0 "$(in_node tc qdisc show dev "$VA" | grep -c clsact)"
check "pod del a again" ctl pod del "uid-$RUN-a"
check_eq "pods enrolled" 1 "$(npods)"
# a is unmeshed now; b still is: a -> b is captured on b's side (inbound)
before=$(zt_count zt tcp15006 conns)
check "unmeshed a -> meshed b" pod_send a --to "$B4" --port 8080 --bytes 10000
check_eq "inbound capture at b" $((before + 1)) "$(zt_count zt tcp15006 conns)"
case_end

case_begin "re-add after delete"
check "pod add a" pod_enrol a
before=$(zt_count zt tcp15001 conns)
check "transfer" pod_send a --to "$B4" --port 8080 --bytes 10000
check_eq "through ztunnel again" $((before + 1)) "$(zt_count zt tcp15001 conns)"
case_end

# --- chaining ---------------------------------------------------------
foreign_load() {
	bpftool prog load "$BUILD/bpf/tests/foreign_counter.bpf.o" "$PIN/$1" \
		type classifier pinmaps "$PIN/${1}_maps"
}

foreign_hits() {
	bpftool map lookup pinned "$PIN/${1}_maps/hits" key 0 0 0 0 -j |
		jq -r '.formatted.value'
}

case_begin "foreign filters before and after ours keep working"
check "load first" foreign_load first
check "load last" foreign_load last
check "attach before ours" in_node tc filter add dev "$VA" ingress pref 100 \
	handle 7 bpf da pinned "$PIN/first"
check "attach after ours" in_node tc filter add dev "$VA" ingress pref 40000 \
	handle 7 bpf da pinned "$PIN/last"
# pass-through traffic (a's answers to a node socket's probe) reaches the
# last filter (which counts TCP segments)
check "serve in a" pod_serve a --port 9090
ctl pod add "uid-$RUN-a" --netns "/var/run/netns/$RUN-a" --ip "$(pod_ip a 4)" \
	--ip "$(pod_ip a 6)" >/dev/null
first0=$(foreign_hits first)
last0=$(foreign_hits last)
check "node -> a (a probe)" in_node python3 tests/tools/traffic.py send \
	--to "$(pod_ip a 4)" --port 9090 --bytes 10000
first1=$(foreign_hits first)
last1=$(foreign_hits last)
check_gt "filter before ours saw it" "$first1" "$first0"
check_gt "filter after ours saw pass-through" "$last1" "$last0"
# redirected traffic: the filter before ours sees it, ours takes it
check "a -> b (redirected)" pod_send a --to "$B4" --port 8080 --bytes 10000
check_gt "filter before ours saw redirected traffic" "$(foreign_hits first)" "$first1"
case_end

case_begin "pod delete leaves other owners' filters and qdisc alone"
check "pod del a" ctl pod del "uid-$RUN-a"
out=$(filter_on "$VA" ingress)
check_contains "first survives" "$out" "pref 100"
check_contains "last survives" "$out" "pref 40000"
check_eq "our filter gone" 0 "$(echo "$out" | grep -c app_outbound)"
check_eq "qdisc kept (not empty)" 1 "$(in_node tc qdisc show dev "$VA" | grep -c clsact)"
check "pod add a" pod_enrol a
check_eq "ours back" 1 "$(filter_on "$VA" ingress | grep -c app_outbound)"
case_end

case_begin "a pre-existing foreign clsact qdisc survives our delete"
VC=$(pod_host_veth c)
check "foreign clsact" in_node tc qdisc add dev "$VC" clsact
check "foreign filter" in_node tc filter add dev "$VC" egress pref 5 handle 3 \
	bpf da pinned "$PIN/last"
check "pod add c" pod_enrol c
check "pod del c" ctl pod del "uid-$RUN-c"
check_eq "qdisc still there" 1 "$(in_node tc qdisc show dev "$VC" | grep -c clsact)"
check_contains "foreign filter still there" "$(filter_on "$VC" egress)" "pref 5"
case_end

case_begin "a foreign filter in our slot is never replaced"
check "foreign in our slot" in_node tc filter add dev "$VC" ingress pref 23166 \
	handle 0xa3b1 bpf da pinned "$PIN/first"
check_not "pod add c refused" pod_enrol c
out=$(ctl pod add "uid-$RUN-c" --netns "/var/run/netns/$RUN-c" --ip "$(pod_ip c 4)" 2>&1)
check_contains "conflict reported" "$out" "CONFLICT"
check_contains "foreign filter kept" "$(filter_on "$VC" ingress)" "pref 23166"
check_eq "nothing half-done: no app_inbound" 0 "$(filter_on "$VC" egress | grep -c app_inbound)"
# (the guard goes in before our filters: the refusal takes it back)
check_eq "nothing half-done: no guard left in c" "" \
	"$(in_pod c "$BUILD/tcxattach" --list eth0 in)"
check_eq "c not enrolled" 2 "$(npods)"
in_node tc filter del dev "$VC" ingress pref 23166 handle 0xa3b1 bpf
case_end

# --- restarts ---------------------------------------------------------
case_begin "kill -9 during a transfer: no bytes lost, state rebuilt"
in_pod a python3 tests/tools/traffic.py send --to "$B4" --port 8080 \
	--bytes 3000000 --rate 1000000 --timeout 20 >"$WORK/long.json" &
sender=$!
sleep 1
kill -9 "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "a new connection works while redirectd is down" \
	pod_send a --to "$B4" --port 8080 --bytes 10000
wait "$sender"
check_eq "long transfer intact" true "$(jq -r .ok "$WORK/long.json")"
check "restart" node_start_redirectd
check_eq "pods known again" 2 "$(npods)"
check_eq "ztunnel present" true "$(ctl -j status | jq -r .ztunnel_present)"
check_eq "one ingress filter" 1 "$(filter_on "$VA" ingress | grep -c app_outbound)"
before=$(zt_count zt tcp15001 conns)
check "traffic after restart" pod_send a --to "$B4" --port 8080 --bytes 10000
check_eq "still through ztunnel" $((before + 1)) "$(zt_count zt tcp15001 conns)"
case_end

case_begin "restart removes pods whose veth vanished"
pod_create d
check "pod add d" pod_enrol d
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
v=$(pod_host_veth d)
ip netns del "$RUN-d"
check "d's veth gone" settle_long node_veth_gone "$v"
check "restart" node_start_redirectd
check_eq "d forgotten" 2 "$(npods)"
check_eq "map entries: a and b, two each" 4 \
	"$(bpftool map dump pinned "$PIN/pods" -j | jq length)"
case_end

# --- bad input --------------------------------------------------------
raw() {
	python3 tests/tools/rawreq.py "$SOCK" "$@"
}

case_begin "malformed requests get error replies; the daemon stays up"
n0=$(npods)
check_contains "garbage" "$(raw --hello ffffffff0102)" "1 "
check_contains "status before hello" "$(raw 08014a00)" "3 "
check_contains "unsupported version" "$(raw 080112020863)" "2 "
check_contains "oversize" "$(raw --hello big)" "1 "
check_contains "empty body" "$(raw --hello 0802)" "1 "
out=$(ctl pod add x --netns /nonexistent --ip 10.9.9.9 2>&1)
check_contains "missing netns" "$out" "NETNS"
out=$(ctl pod add x --netns "/var/run/netns/$RUN-a" --ifname nope0 --ip 10.9.9.9 2>&1)
check_contains "missing interface" "$out" "INTERFACE"
out=$(ctl pod add x --netns "/var/run/netns/$RUN-a" --ip 10.9.9 2>&1)
check_contains "bad address" "$out" "BAD_REQUEST"
out=$(ctl pod add x --netns "/var/run/netns/$RUN-c" --ip "$B4" 2>&1)
check_contains "address of another pod, not on this one" "$out" "not configured"
in_pod c ip addr add "$B4/32" dev eth0
out=$(ctl pod add x --netns "/var/run/netns/$RUN-c" --ip "$B4" 2>&1)
check_contains "address of another live pod" "$out" "CONFLICT"
in_pod c ip addr del "$B4/32" dev eth0
out=$(ctl pod add other-uid --netns "/var/run/netns/$RUN-a" --ip 10.244.0.250 2>&1)
check_contains "a second uid on an enrolled veth" "$out" "already enrolled as pod"
ctl pod del unknown-uid >/dev/null
check_eq "unknown delete is fine (exit 0)" 0 $?
check_eq "nothing changed" "$n0" "$(npods)"
check "daemon alive" kill -0 "$REDIRECTD_PID"
check "still serving" ctl status
case_end

case_begin "peers that are not allowed are refused"
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$BUILD/redirectctl" --socket "$SOCK" status >/dev/null 2>&1
	check_eq "nobody refused (exit 4)" 4 $?
else
	fail "setpriv missing"
fi
check "root still served" ctl status
case_end

case_begin "the socket is private to root"
check_eq "mode" "srw-------" "$(stat -c %A "$SOCK")"
case_end

case_begin "the netns may travel as an fd (SCM_RIGHTS) instead of a path"
pod_create e
out=$(raw --podadd-fd "/var/run/netns/$RUN-e" "uid-$RUN-e" "$(pod_ip e 4)")
check_contains "hello ok, add ok" "$out" "0 enrolled on"
check_contains "filter attached" "$(filter_on "$(pod_host_veth e)" ingress)" "app_outbound"
check_eq "path empty in the record" "" \
	"$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-e\") | .netns")"
case_end

case_begin "snapshot exchange removes the pods not named"
n0=$(npods)
out=$(ctl snapshot "uid-$RUN-a" "uid-$RUN-b")
check_contains "reply" "$out" "removed 1"
check_eq "e removed" $((n0 - 1)) "$(npods)"
check_eq "e's filter removed" 0 "$(filter_on "$(pod_host_veth e)" ingress | grep -c app_outbound)"
check "a still works" pod_send a --to "$B4" --port 8080 --bytes 10000
case_end

case_begin "a replacing ztunnel takes new connections at once"
pod_create zt2
old_pid=$ZT_PID
check "ztunnel 2 up" ztunnel_start zt2
old=$(zt_count zt tcp15001 conns)
ZT_PID=$old_pid
new0=$(jq -r '.listeners.tcp15001.conns' "$WORK/zt2.status")
check "a -> b" pod_send a --to "$B4" --port 8080 --bytes 10000
sleep 0.3
check_eq "new ztunnel took it" $((new0 + 1)) "$(jq -r '.listeners.tcp15001.conns' "$WORK/zt2.status")"
check_eq "old ztunnel did not" "$old" "$(jq -r '.listeners.tcp15001.conns' "$WORK/zt.status")"
check_eq "zt2 is current" true \
	"$(ctl -j pods | jq -r ".ztunnels[] | select(.uid == \"uid-$RUN-zt2\") | .current")"
check "old ztunnel deleted" ctl ztunnel del "uid-$RUN-zt"
check "still works" pod_send a --to "$B4" --port 8080 --bytes 10000
check "back to zt" ctl ztunnel add "uid-$RUN-zt" --netns "/var/run/netns/$RUN-zt"
check "zt2 deleted" ctl ztunnel del "uid-$RUN-zt2"
case_end

# status lists the node addresses the datapath holds, kept current
# has_node_addr ADDR: redirectctl -j status lists ADDR
has_node_addr() {
	ctl -j status | jq -e --arg a "$1" '.node_addresses | index($a)' \
		>/dev/null
}

lacks_node_addr() {
	! has_node_addr "$1"
}

# node_list_inline true|false: what status says of the programs' scan
node_list_inline() {
	[ "$(ctl -j status | jq -r .node_addresses_inline)" = "$1" ]
}

case_begin "status shows the node's addresses as the datapath has them"
check "the pods' gateway ($NODE4)" has_node_addr "$NODE4"
check "loopback" has_node_addr 127.0.0.1
check "scanned inline" node_list_inline true
check "an address added on the node" in_node ip addr add 192.0.2.77/32 dev lo
check "appears" settle has_node_addr 192.0.2.77
check "text output" sh -c "'$BUILD/redirectctl' --socket '$SOCK' status | grep -q '^node addrs: .*192.0.2.77.*scanned inline'"
check "removed again" in_node ip addr del 192.0.2.77/32 dev lo
check "gone" settle lacks_node_addr 192.0.2.77
case_end

case_begin "more node addresses than the list holds: the hash answers"
seq 100 139 | sed 's|^|addr add 192.0.2.|; s|$|/32 dev lo|' >"$WORK/addrs.batch"
check "40 addresses on the node" in_node ip -batch "$WORK/addrs.batch"
check "no longer inline" settle node_list_inline false
# (a resync may run while ip -batch is half done: wait for the last one)
check "the last one is known" settle has_node_addr 192.0.2.139
n6=$(zt_count zt tcp15006 conns)
p0=$(dp_count app_outbound pass_node_socket_reply)
# a probe from that address: b's replies to it are known as a node's
check "node (192.0.2.139) -> b intact" in_node python3 tests/tools/traffic.py \
	send --to "$B4" --port 8080 --bytes 5000 --bind-src 192.0.2.139
check_gt "b's replies passed to the node" \
	"$(dp_count app_outbound pass_node_socket_reply)" "$p0"
check_eq "ztunnel saw nothing" "$n6" "$(zt_count zt tcp15006 conns)"
sed -i 's|^addr add|addr del|' "$WORK/addrs.batch"
check "removed" in_node ip -batch "$WORK/addrs.batch"
check "inline again" settle node_list_inline true
check "gone" settle lacks_node_addr 192.0.2.139
case_end

case_begin "ztunnel delete: meshed pods fail closed; a new ztunnel takes over"
check "ztunnel del" ctl ztunnel del "uid-$RUN-zt"
check_not "a -> b fails closed" pod_send a --to "$B4" --port 8080 --bytes 1000 --timeout 1
check_gt "drop counted" "$(dp_count app_outbound drop_no_ztunnel)" 0
kill "$ZT_PID"
wait "$ZT_PID" 2>/dev/null
check "ztunnel back" ztunnel_start zt
check "a -> b works again" pod_send a --to "$B4" --port 8080 --bytes 10000
case_end

results
