#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A simulated Kubernetes node, for the e2e tests, the demo and the benchmarks.
#
#   . tests/lib/node.sh
#   node_init [BUILD]            node netns, per-run work dir, bpffs folder, traps
#   node_start_redirectd [ARGS]  redirectd in the node netns
#   node_start_redirectd_under PREFIX [ARGS]  the same under valgrind & co
#   pod_create NAME [ptp|bridge] a pod netns made by Debian's CNI plugins
#   in_pod NAME CMD...           run a command in a pod
#   in_node CMD...               run a command in the node netns
#   node_cgroup                  a per-run cgroup v2 folder, $CGROUP: from
#                                then on in_pod and node_bg (pod netns) run
#                                their commands inside it (sockmap tests)
#   node_cleanup                 remove everything (also run by the trap)
#
# Everything lives in namespaces and folders named after this run ($RUN), so
# parallel runs cannot collide, and nothing touches the root namespace.
# `ip netns exec` and `ip -n` remount /sys and would hide bpffs, so commands
# that touch pins run under nsenter instead.

BUILD=${BUILD:-build}
CNI_PLUGIN_DIR=${CNI_PLUGIN_DIR:-/usr/lib/cni}
POD_SUBNET4=${POD_SUBNET4:-10.244.0.0/24}
POD_SUBNET6=${POD_SUBNET6:-fd00:244::/64}
# ptp or bridge: the primary plugin for every pod, ztunnel's included
NODE_TOPOLOGY=${NODE_TOPOLOGY:-ptp}
NODE_PIDS=""
NODE_PODS=""

node_log() {
	printf '%s\n' "$*" >&2
}

nsrun() {
	ns=$1
	shift
	nsenter --net="/var/run/netns/$ns" "$@"
}

in_node() {
	nsrun "$NODE_NS" "$@"
}

# Join $CGROUP, then exec the command: the PID stays the command's own.
CG_EXEC='echo $$ >"$0/cgroup.procs" && exec "$@"'

in_pod() {
	p=$1
	shift
	if [ -n "${CGROUP:-}" ]; then
		nsrun "$RUN-$p" sh -c "$CG_EXEC" "$CGROUP" "$@"
	else
		nsrun "$RUN-$p" "$@"
	fi
}

# node_bg NETNS CMD...: start CMD in a netns in the background and remember
# its PID for cleanup. nsenter execs CMD, so the PID is CMD's own.
node_bg() {
	ns=$1
	shift
	[ -n "${CGROUP:-}" ] && [ "$ns" != "$NODE_NS" ] &&
		set -- sh -c "$CG_EXEC" "$CGROUP" "$@"
	nsenter --net="/var/run/netns/$ns" "$@" 2>>"$WORK/$ns.log" &
	NODE_PIDS="$NODE_PIDS $!"
	LAST_PID=$!
}

node_init() {
	[ -n "${1:-}" ] && BUILD=$1
	RUN=${RUN:-ar$$}
	NODE_NS=$RUN-node
	WORK=$(mktemp -d "/tmp/$RUN.XXXXXX")
	PIN=/sys/fs/bpf/$RUN
	SOCK=$WORK/redirect.sock
	STATE=$WORK/state
	CGROUP=
	trap node_cleanup EXIT
	trap 'exit 130' INT TERM
	grep -q ' /sys/fs/bpf bpf ' /proc/mounts ||
		mount -t bpf bpf /sys/fs/bpf
	ip netns add "$NODE_NS"
	in_node ip link set lo up
	in_node sysctl -qw net.ipv4.ip_forward=1
	in_node sysctl -qw net.ipv6.conf.all.forwarding=1
	# rp_filter would drop replies that ztunnel sends on the client's behalf
	in_node sysctl -qw net.ipv4.conf.all.rp_filter=0
	in_node sysctl -qw net.ipv4.conf.default.rp_filter=0
	mkdir -p "$WORK/ipam"
}

node_cgroup() {
	_mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [ -z "$_mnt" ]; then
		node_log "node_cgroup: no cgroup2 mount in /proc/mounts"
		return 1
	fi
	CGROUP=$_mnt/$RUN
	mkdir "$CGROUP"
}

# The last lines each background process logged, to explain a failure.
node_logs() {
	for f in "$WORK"/*.log; do
		[ -f "$f" ] || continue
		echo "  --- last lines of $(basename "$f")"
		tail -n "${1:-15}" "$f" | sed 's/^/  | /'
	done
}

BULK=0 # pods 1..BULK exist
BULK_TO=0 # pods 1..BULK_TO may exist (a batch may have failed)
START_MS=0
SAMPLES=""

# node_bulk_pods N: pods 1..N as fast as ip -batch makes them, for the
# scale tests and the control-plane benchmark: netns $RUN-cp<i> holding
# eth0 (MAC 02:cb:..), its veth peer cp<i> in the node netns, and on eth0
# the addresses 10.(128 + i/65536).(i/256 % 256).(i % 256)/32 and
# fd00:cb::<i hex>/128 (bench/ctlplane.c's pod_ip4/6 claim them).
node_bulk_pods() {
	n=$1
	[ "$n" -le "$BULK" ] && return 0
	seq $((BULK + 1)) "$n" | sed "s/^/netns add $RUN-cp/" \
		>"$WORK/netns.batch"
	# ip link add cp<i> type veth peer name eth0 address 02:cb:.. netns ..
	seq $((BULK + 1)) "$n" | awk -v ns="$RUN-cp" '{
		printf "link add cp%d type veth peer name eth0 address " \
		       "02:cb:%02x:%02x:%02x:%02x netns %s%d\n", $1,
		       int($1 / 16777216) % 256, int($1 / 65536) % 256,
		       int($1 / 256) % 256, $1 % 256, ns, $1 }' \
		>"$WORK/links.batch"
	BULK_TO=$n
	ip -batch "$WORK/netns.batch" >/dev/null &&
		in_node ip -batch "$WORK/links.batch" >/dev/null || return 1
	# The addresses PodAdd will claim, on eth0 as a CNI plugin leaves
	# them (redirectd checks they are there): one process enters each.
	"$BUILD/bench/ctlplane" addrs --count "$n" --from $((BULK + 1)) \
		--netns-prefix "$RUN-cp" || return 1
	BULK=$n
}

node_bulk_remove() {
	[ "$BULK_TO" -gt 0 ] || return 0
	seq 1 "$BULK_TO" | sed "s/^/netns del $RUN-cp/" |
		ip -force -batch - >/dev/null 2>&1
	BULK=0 BULK_TO=0
}

node_cleanup() {
	set +e
	node_bulk_remove
	for pid in $NODE_PIDS; do
		kill "$pid" 2>/dev/null
	done
	for pid in $NODE_PIDS; do
		wait "$pid" 2>/dev/null
	done
	for p in $NODE_PODS; do
		ip netns del "$RUN-$p" 2>/dev/null
	done
	[ -n "${NODE_NS:-}" ] && ip netns del "$NODE_NS" 2>/dev/null
	if [ -n "${PIN:-}" ] && [ -d "$PIN" ]; then
		find "$PIN" -mindepth 1 -delete 2>/dev/null
		rmdir "$PIN" 2>/dev/null
	fi
	if [ -n "${CGROUP:-}" ] && [ -d "$CGROUP" ]; then
		# only this run's processes were ever moved in there
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			pids=$(cat "$CGROUP/cgroup.procs" 2>/dev/null)
			[ -z "$pids" ] && break
			for pid in $pids; do kill "$pid" 2>/dev/null; done
			sleep 0.1
		done
		rmdir "$CGROUP" 2>/dev/null
	fi
	[ -n "${WORK:-}" ] && rm -rf "$WORK"
	NODE_PIDS=""
	NODE_PODS=""
}

# The CNI network config: ptp (a veth per pod, routed) or bridge.
cni_conf() {
	kind=$1
	extra=""
	[ "$kind" = bridge ] &&
		extra='"bridge": "cni0", "isGateway": true, "hairpinMode": false,'
	cat <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$RUN-net",
  "type": "$kind",
  $extra
  "ipMasq": false,
  "ipam": {
    "type": "host-local",
    "dataDir": "$WORK/ipam",
    "ranges": [[{ "subnet": "$POD_SUBNET4" }], [{ "subnet": "$POD_SUBNET6" }]],
    "routes": [{ "dst": "0.0.0.0/0" }, { "dst": "::/0" }]
  }
}
EOF
}

# Run a CNI plugin as the kubelet would, inside the node netns.
cni_exec() {
	cmd=$1 p=$2 conf=$3 plugin=$4
	printf '%s' "$conf" | CNI_COMMAND=$cmd CNI_CONTAINERID="$RUN-$p" \
		CNI_NETNS="/var/run/netns/$RUN-$p" CNI_IFNAME=eth0 \
		CNI_PATH="$CNI_PLUGIN_DIR" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$p;K8S_POD_UID=uid-$RUN-$p" \
		nsenter --net="/var/run/netns/$NODE_NS" "$plugin"
}

# pod_create NAME [ptp|bridge]: writes the CNI result JSON to $WORK/NAME.json
pod_create() {
	p=$1
	kind=${2:-$NODE_TOPOLOGY}
	ip netns add "$RUN-$p"
	NODE_PODS="$NODE_PODS $p"
	in_pod "$p" ip link set lo up
	# addresses must be usable at once: no duplicate address detection
	in_pod "$p" sysctl -qw net.ipv6.conf.all.accept_dad=0
	in_pod "$p" sysctl -qw net.ipv6.conf.default.accept_dad=0
	cni_exec ADD "$p" "$(cni_conf "$kind")" "$CNI_PLUGIN_DIR/$kind" \
		>"$WORK/$p.json" || {
		node_log "pod_create $p: CNI ADD failed: $(cat "$WORK/$p.json")"
		return 1
	}
}

# pod_ip NAME 4|6: the pod's address from its CNI result
pod_ip() {
	if [ "$2" = 6 ]; then
		jq -r '.ips[].address | select(contains(":"))' "$WORK/$1.json" | cut -d/ -f1
	else
		jq -r '.ips[].address | select(contains(":") | not)' "$WORK/$1.json" | cut -d/ -f1
	fi
}

# The host-side veth of a pod: the result's interface without a sandbox.
pod_host_veth() {
	jq -r '.interfaces[] | select(.sandbox == null or .sandbox == "") | .name' \
		"$WORK/$1.json" | grep -v '^cni0$' | head -n 1
}

# node_ifindex DEV: DEV's ifindex in the node's netns.
node_ifindex() {
	in_node ip -o link show dev "$1" | cut -d: -f1
}

# node_veth_gone VETH: VETH no longer exists in the node's netns. A deleted
# netns takes its veths with it in the background, after ip netns del
# returns: wait for this before relying on them being gone.
node_veth_gone() {
	! in_node ip link show dev "$1" >/dev/null 2>&1
}

# Our entry of the conflist, chained after the primary plugin.
hook_conf() {
	mode=$1 dns=$2 prev=$3
	jq -n --arg name "$RUN-net" --arg mode "$mode" --arg sock "$SOCK" \
		--argjson dns "$dns" --argjson prev "$prev" \
		'{cniVersion: "1.0.0", name: $name, type: "redirect-cni",
		  redirectMode: $mode, socketPath: $sock, dnsCapture: $dns,
		  excludeNamespaces: ["kube-system"], prevResult: $prev}'
}

# pod_create_chain NAME [ptp|bridge] [ebpf|none] [true|false]: what a
# runtime does with a conflist [primary, redirect-cni]: ADD the primary,
# then ADD redirect-cni with the primary's result as prevResult. The hook's
# output (which must equal prevResult) lands in $WORK/NAME.hook.json.
pod_create_chain() {
	p=$1 kind=${2:-$NODE_TOPOLOGY} mode=${3:-ebpf} dns=${4:-false}
	pod_create "$p" "$kind" || return 1
	cni_exec ADD "$p" "$(hook_conf "$mode" "$dns" "$(cat "$WORK/$p.json")")" \
		"$BUILD/redirect-cni" >"$WORK/$p.hook.json"
}

# pod_delete_chain NAME [ptp|bridge]: DEL in reverse order, then the netns.
pod_delete_chain() {
	p=$1 kind=${2:-$NODE_TOPOLOGY}
	cni_exec DEL "$p" "$(hook_conf ebpf false "$(cat "$WORK/$p.json")")" \
		"$BUILD/redirect-cni" || return 1
	cni_exec DEL "$p" "$(cni_conf "$kind")" "$CNI_PLUGIN_DIR/$kind" ||
		return 1
	ip netns del "$RUN-$p"
}

# REDIRECTD_ARGS: more options for every start (a suite run in another
# attach mode, say); REDIRECTD_BIN: another binary of BUILD to start
# (test_upgrade.sh starts a build of another map layout).
node_start_redirectd() {
	# shellcheck disable=SC2086
	node_bg "$NODE_NS" "$BUILD/${REDIRECTD_BIN:-redirectd}" --socket "$SOCK" --bpffs "$PIN" \
		--state "$STATE" --log-level info ${REDIRECTD_ARGS:-} "$@"
	REDIRECTD_PID=$LAST_PID
	# A socket file may be left by a killed daemon: wait for an answer.
	for _ in $(seq 200); do
		ctl status >/dev/null 2>&1 && return 0
		kill -0 "$REDIRECTD_PID" 2>/dev/null || break
		sleep 0.05
	done
	node_log "redirectd did not start"
	return 1
}

# node_start_redirectd_under "PREFIX" [ARGS]: the same, run under a command
# prefix split on blanks (valgrind ...); REDIRECTD_PID is the prefix's PID,
# which is redirectd's when the prefix execs it or runs it in-process as
# valgrind does. Waits up to a minute: such tools start slowly.
node_start_redirectd_under() {
	_prefix=$1
	shift
	# shellcheck disable=SC2086
	node_bg "$NODE_NS" $_prefix "$BUILD/redirectd" --socket "$SOCK" \
		--bpffs "$PIN" --state "$STATE" --log-level info "$@"
	REDIRECTD_PID=$LAST_PID
	for _ in $(seq 600); do
		ctl status >/dev/null 2>&1 && return 0
		kill -0 "$REDIRECTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	node_log "redirectd did not start under $_prefix"
	return 1
}

ctl() {
	"$BUILD/redirectctl" --socket "$SOCK" "$@"
}

# Enrol a pod by hand (the CNI hook does this in the e2e tests).
pod_enrol() {
	p=$1
	shift
	ctl pod add "uid-$RUN-$p" --netns "/var/run/netns/$RUN-$p" \
		--name "$p" --namespace default \
		--ip "$(pod_ip "$p" 4)" --ip "$(pod_ip "$p" 6)" "$@"
}

# ztunnel: a pod of its own, enrolled as ztunnel, running the stand-in.
# ztunnel_start [NAME] [udp]: with udp, enrolled with --capture-udp and
# the stand-in serving UDP on 15001/15006; without, like Istio's ztunnel
# (UDP only for DNS).
ztunnel_start() {
	z=${1:-zt}
	_zt_add="" _zt_sim=""
	[ "${2:-}" = udp ] && _zt_add=--capture-udp _zt_sim=--udp-capture
	[ -e "/var/run/netns/$RUN-$z" ] || pod_create "$z" || return 1
	# shellcheck disable=SC2086
	ctl ztunnel add "uid-$RUN-$z" --netns "/var/run/netns/$RUN-$z" \
		--ip "$(pod_ip "$z" 4)" --ip "$(pod_ip "$z" 6)" $_zt_add \
		>/dev/null || return 1
	rm -f "$WORK/$z.ready"
	# shellcheck disable=SC2086
	node_bg "$RUN-$z" "$BUILD/ztunnel-sim" --status "$WORK/$z.status" \
		--ready "$WORK/$z.ready" $_zt_sim
	ZT_PID=$LAST_PID
	for _ in $(seq 100); do
		[ -f "$WORK/$z.ready" ] && return 0
		sleep 0.05
	done
	node_log "ztunnel-sim did not become ready"
	return 1
}

# zt_count NAME LISTENER FIELD: a counter from the stand-in's status file
zt_count() {
	sleep 0.05 # the stand-in rewrites its status file within 10 ms
	jq -r ".listeners.\"$2\".\"$3\" // 0" "$WORK/$1.status" 2>/dev/null || echo 0
}

# An echo server in a pod.
pod_serve() {
	p=$1
	shift
	rm -f "$WORK/$p.serve.ready"
	node_bg "$RUN-$p" python3 tests/tools/traffic.py serve --ready "$WORK/$p.serve.ready" "$@"
	for _ in $(seq 100); do
		[ -f "$WORK/$p.serve.ready" ] && return 0
		sleep 0.05
	done
	return 1
}

pod_send() {
	p=$1
	shift
	in_pod "$p" python3 tests/tools/traffic.py send "$@"
}

# A counter of the datapath, from redirectctl stats -j.
dp_count() {
	ctl -j stats | jq -r ".counters[] | select(.program == \"$1\" and .decision == \"$2\") | .packets"
}
