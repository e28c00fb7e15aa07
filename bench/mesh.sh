#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The mesh path on the simulated node: pod a -> ztunnel stand-in -> pod b,
# all three on one node (tests/lib/node.sh, pods made by Debian's ptp CNI
# plugin). Four configurations, same pods, interleaved round by round:
#
#   direct    pods not enrolled: a talks to b straight through the node netns
#             (no mesh; the limit)
#   iptables  Istio ambient's iptables redirection, rebuilt with nftables in
#             the node and ztunnel netns only (see iptables_up below)
#   ebpf      redirectd with ztunnel and both pods enrolled (our tc programs)
#   sockmap   ebpf plus redirectd's sockmap acceleration (--cgroup), as
#             redirectd chooses by default (on a kernel that fails its
#             self-test: ztunnel's own loop only, not the pods' legs)
#   sockmap_all  the same with --sockmap-pods on: all legs accelerated
# A configuration this redirectd cannot run is reported "not available",
# with the reason; a measurement that fails is reported as failed.
#
# All processes of the path run on one CPU (see docs/performance.md) and in a per-run
# cgroup v2 folder: "plain", or "sockmap" (the one redirectd accelerates).
# Before each measurement the run waits (up to a minute) for the machine to
# be nearly idle; a measurement during which the path's processes got less
# than 80% of their CPU (someone else's work landed on it: shared machine)
# is taken again, up to three tries; the JSON keeps that share for each.
#
# In every configuration: iperf3 throughput (server in b, client in a, its
# control connection goes through the mesh too) and request/response rate
# and latency from bench/rr (64-byte ping-pong), IPv4 and IPv6. Every meshed
# measurement must show up in the stand-in's counters (connections and
# bytes), and direct ones must not: a configuration that does not steer
# traffic the way it claims stops the run.
#
#   sh bench/mesh.sh BUILD OUT_DIR     writes OUT_DIR/mesh.json
# Sizes: BENCH_SMOKE=1 (seconds), or MESH_ROUNDS, MESH_TPUT_S, MESH_RR_S,
# MESH_RR_CONNS.
set -u
BUILD=${1:-build}
OUT=${2:-bench/results}
cd "$(dirname "$0")/.." || exit 1
. tests/lib/node.sh
. bench/lib.sh

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	ROUNDS=${MESH_ROUNDS:-1} TPUT_S=${MESH_TPUT_S:-1} RR_S=${MESH_RR_S:-1}
	TRIES=1 QUIET_S=0 # a smoke run checks the plumbing, not the numbers
else
	ROUNDS=${MESH_ROUNDS:-5} TPUT_S=${MESH_TPUT_S:-5} RR_S=${MESH_RR_S:-5}
	TRIES=3 QUIET_S=60
fi
RR_CONNS=${MESH_RR_CONNS:-1}
RR_SIZE=64
PORT_IPERF=5201
PORT_RR=7000
CONFIGS="direct iptables ebpf sockmap sockmap_all"
# Marks and tables of the iptables configuration, apart from redirectd's.
IPT_MARK=0x100 IPT_TABLE=101 IPT_PRIO=101
TP_MARK=0x400 TP_TABLE=133 TP_PRIO=133

bench_need_root
for b in redirectd redirectctl ztunnel-sim bench/rr; do
	[ -x "$BUILD/$b" ] || bench_die "$BUILD/$b not built"
done
for c in iperf3 nft jq; do
	command -v "$c" >/dev/null || bench_die "$c missing"
done

SAMPLES=
PROCS="" # processes of the current configuration
CFG_CGROUP="" # the current configuration's processes go there
CG_PLAIN="" CG_SOCKMAP=""
UNAVAIL='{}' # configuration -> why it cannot run here
NOTES='{}' # configuration -> what redirectd's status said about sockmap
BENCH_CG=""
# All processes of the path on one CPU (the last): see docs/performance.md.
CPUS=${MESH_CPUS-$(($(nproc) - 1))}
[ "$CPUS" = 0 ] && [ "$(nproc)" = 1 ] && CPUS=""
# cgexec CGROUP CPUS CMD...: CMD in that cgroup (if not empty), on those
# CPUs (if not empty), keeping its pid.
CGEXEC='cg=$1 cpus=$2; shift 2
[ -z "$cg" ] || echo $$ >"$cg/cgroup.procs" || exit 1
[ -z "$cpus" ] || exec taskset -c "$cpus" "$@"
exec "$@"'

cfg_bg() {
	ns=$1
	shift
	node_bg "$ns" sh -c "$CGEXEC" cgexec "$CFG_CGROUP" "$CPUS" "$@"
	PROCS="$PROCS $LAST_PID"
}

cfg_stop() {
	for pid in $PROCS; do
		bench_stop "$pid"
	done
	PROCS=""
}

wait_file() {
	for _ in $(seq 100); do
		[ -f "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- processes of one configuration: servers in b, maybe the stand-in ---

servers_up() {
	rm -f "$WORK/rr.ready"
	cfg_bg "$RUN-b" iperf3 -s -p "$PORT_IPERF" --logfile "$WORK/iperf3.log"
	cfg_bg "$RUN-b" "$BUILD/bench/rr" server --port "$PORT_RR" \
		--ready "$WORK/rr.ready"
	wait_file "$WORK/rr.ready" || bench_die "rr server did not start"
	# iperf3 has no ready signal: wait until its port listens (a fixed
	# short sleep lost the race on a busy machine: tput 0 in a smoke run)
	for _ in $(seq 100); do
		nsenter --net="/var/run/netns/$RUN-b" ss -Hltn \
			"sport = :$PORT_IPERF" | grep -q . && return 0
		sleep 0.05
	done
	bench_die "iperf3 server did not start"
}

ZT="" # the stand-in of the current configuration (none: direct)
zt_up() {
	ZT=zt-$1
	rm -f "$WORK/$ZT.ready"
	cfg_bg "$RUN-zt" "$BUILD/ztunnel-sim" --status "$WORK/$ZT.status" \
		--ready "$WORK/$ZT.ready"
	wait_file "$WORK/$ZT.ready" || bench_die "ztunnel-sim did not start"
}

# --- iptables: Istio ambient's redirection, rebuilt with nftables ---
#
# Istio's ambient iptables mode (the shared ztunnel netns era): on the node,
# packets of meshed pods get a mark, and a policy rule sends marked packets
# to ztunnel; in ztunnel's netns, TPROXY hands them to 15001 (outbound),
# 15006 (inbound) or 15008 (HBONE), with mark 0x400/0xfff and a local route
# delivering them; packets of ztunnel's own (transparent) connections are
# recognised with the socket match. Istio carried the two directions in
# two geneve tunnels (istioout, istioin); here both arrive on ztunnel's
# veth and the direction comes from a set lookup of the source address,
# which is cheaper than geneve: if anything, the baseline is favoured.
# TCP only, as Istio's ambient iptables rules were.

node_addrs_set() {
	fam=$1
	in_node ip -o "-$fam" addr show scope global |
		awk '{ sub("/.*", "", $4); print $4 }' | paste -sd, -
}

iptables_node_rules() {
	va=$(pod_host_veth a) vb=$(pod_host_veth b) vz=$(pod_host_veth zt)
	cat <<EOF
table inet arbench {
	set meshed_if { type ifname; elements = { "$va", "$vb" } }
	set meshed4 { type ipv4_addr; elements = { $(pod_ip a 4), $(pod_ip b 4) } }
	set meshed6 { type ipv6_addr; elements = { $(pod_ip a 6), $(pod_ip b 6) } }
	set node4 { type ipv4_addr; elements = { $(node_addrs_set 4) } }
	set node6 { type ipv6_addr; elements = { $(node_addrs_set 6) } }
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		# ztunnel's own packets (mark 0x539 in its netns, scrubbed on
		# the veth) are known here by the interface they come from
		iifname "$vz" return
		meta l4proto != tcp return
		# outbound: leaving a meshed pod, not to the node
		iifname @meshed_if ip daddr != @node4 meta mark set $IPT_MARK return
		iifname @meshed_if ip6 daddr != @node6 meta mark set $IPT_MARK return
		# inbound: to a meshed pod, not from the node
		ip daddr @meshed4 ip saddr != @node4 meta mark set $IPT_MARK return
		ip6 daddr @meshed6 ip6 saddr != @node6 meta mark set $IPT_MARK return
	}
}
EOF
}

iptables_zt_rules() {
	cat <<EOF
table inet arbench {
	set meshed4 { type ipv4_addr; elements = { $(pod_ip a 4), $(pod_ip b 4) } }
	set meshed6 { type ipv6_addr; elements = { $(pod_ip a 6), $(pod_ip b 6) } }
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		iifname != "eth0" return
		meta l4proto != tcp return
		# packets of ztunnel's own connections (replies included)
		socket transparent 1 meta mark set $TP_MARK accept
		ip saddr @meshed4 meta l4proto tcp tproxy ip to :15001 meta mark set $TP_MARK accept
		ip6 saddr @meshed6 meta l4proto tcp tproxy ip6 to :15001 meta mark set $TP_MARK accept
		ip daddr @meshed4 tcp dport 15008 tproxy ip to :15008 meta mark set $TP_MARK accept
		ip6 daddr @meshed6 tcp dport 15008 tproxy ip6 to :15008 meta mark set $TP_MARK accept
		ip daddr @meshed4 meta l4proto tcp tproxy ip to :15006 meta mark set $TP_MARK accept
		ip6 daddr @meshed6 meta l4proto tcp tproxy ip6 to :15006 meta mark set $TP_MARK accept
	}
}
EOF
}

iptables_up() {
	vz=$(pod_host_veth zt)
	iptables_node_rules | in_node nft -f - || return 1
	# ip rule add fwmark 0x100/0x100 lookup 101; default via ztunnel's pod
	for fam in 4 6; do
		in_node ip "-$fam" rule add fwmark "$IPT_MARK/$IPT_MARK" \
			lookup "$IPT_TABLE" pref "$IPT_PRIO" || return 1
		in_node ip "-$fam" route add default via "$(pod_ip zt "$fam")" \
			dev "$vz" onlink table "$IPT_TABLE" || return 1
	done
	iptables_zt_rules | in_pod zt nft -f - || return 1
	in_pod zt sysctl -qw net.ipv4.conf.all.rp_filter=0
	in_pod zt sysctl -qw net.ipv4.conf.eth0.rp_filter=0
	for fam in 4 6; do
		in_pod zt ip "-$fam" rule add fwmark "$TP_MARK/0xfff" \
			lookup "$TP_TABLE" pref "$TP_PRIO" || return 1
	done
	in_pod zt ip -4 route add local 0.0.0.0/0 dev lo table "$TP_TABLE" &&
		in_pod zt ip -6 route add local ::/0 dev lo table "$TP_TABLE"
}

iptables_down() {
	in_node nft delete table inet arbench 2>/dev/null
	in_pod zt nft delete table inet arbench 2>/dev/null
	for fam in 4 6; do
		in_node ip "-$fam" rule del pref "$IPT_PRIO" 2>/dev/null
		in_node ip "-$fam" route flush table "$IPT_TABLE" 2>/dev/null
		in_pod zt ip "-$fam" rule del pref "$TP_PRIO" 2>/dev/null
		in_pod zt ip "-$fam" route flush table "$TP_TABLE" 2>/dev/null
	done
	return 0
}

# --- ebpf and sockmap: redirectd ---

redirectd_restart() {
	bench_stop "${REDIRECTD_PID:-}"
	REDIRECTD_PID=""
	node_start_redirectd --log-level warn "$@" || bench_die "redirectd"
}

enrol_up() {
	ctl ztunnel add "uid-$RUN-zt" --netns "/var/run/netns/$RUN-zt" \
		--ip "$(pod_ip zt 4)" --ip "$(pod_ip zt 6)" >/dev/null &&
		pod_enrol a >/dev/null && pod_enrol b >/dev/null
}

enrol_down() {
	ctl pod del "uid-$RUN-a" >/dev/null
	ctl pod del "uid-$RUN-b" >/dev/null
	ctl ztunnel del "uid-$RUN-zt" >/dev/null
}

# Is redirectd's sockmap acceleration attached to our cgroup? Asked of the
# kernel (a sock_ops program on the cgroup) and of redirectd's status.
sockmap_active() {
	bpftool cgroup show "$CG_SOCKMAP" 2>/dev/null | grep -q sock_ops &&
		return 0
	ctl -j status 2>/dev/null | jq -e '.sockmap_active == true' \
		>/dev/null 2>&1
}

unavailable() {
	UNAVAIL=$(printf '%s' "$UNAVAIL" |
		jq -c --arg c "$1" --arg r "$2" '.[$c] = $r')
	node_log "  $1: not available: $2"
}

is_unavailable() {
	printf '%s' "$UNAVAIL" | jq -e --arg c "$1" 'has($c)' >/dev/null
}

# After cfg_up: is the sockmap configuration what it claims to be?
sockmap_check() {
	st=$(ctl -j status 2>/dev/null) || st='{}'
	NOTES=$(printf '%s' "$NOTES" | jq -c --arg c "$1" --argjson st "$st" \
		'.[$c] = ($st | {sockmap_active, sockmap_pods,
				sockmap_pods_reason} | with_entries(select(.value != null)))')
	if ! sockmap_active; then
		unavailable "$1" "$(printf '%s' "$st" | jq -r '.sockmap_reason //
			"redirectd has no sockmap acceleration"')"
		return 1
	fi
	if [ "$1" = sockmap_all ] &&
		! printf '%s' "$st" | jq -e '.sockmap_pods == true' >/dev/null; then
		unavailable "$1" "$(printf '%s' "$st" | jq -r '.sockmap_pods_reason //
			"pods\u0027 connections not accelerated"')"
		return 1
	fi
}

# --- one configuration up and down ---

cfg_up() {
	CFG_CGROUP=$CG_PLAIN
	case $1 in
	direct) ;;
	iptables)
		iptables_up || { iptables_down; bench_die "iptables rules"; }
		zt_up "$1-$2"
		;;
	ebpf)
		enrol_up || bench_die "enrolment"
		zt_up "$1-$2"
		;;
	sockmap | sockmap_all)
		CFG_CGROUP=$CG_SOCKMAP
		if [ "$1" = sockmap ]; then
			redirectd_restart --cgroup "$CG_SOCKMAP"
		else
			redirectd_restart --cgroup "$CG_SOCKMAP" --sockmap-pods on
		fi
		enrol_up || bench_die "enrolment"
		zt_up "$1-$2"
		;;
	esac
	servers_up
}

cfg_down() {
	cfg_stop
	ZT=""
	case $1 in
	iptables) iptables_down ;;
	ebpf) enrol_down ;;
	sockmap | sockmap_all)
		enrol_down
		redirectd_restart --no-sockmap
		;;
	esac
	CFG_CGROUP=$CG_PLAIN
}

# --- measurements ---

# A counter of the stand-in's outbound listener, as last written (the
# stand-in rewrites its status file at most every 100 ms).
ztc() {
	[ -n "$ZT" ] && [ -f "$WORK/$ZT.status" ] || { echo 0; return; }
	jq -r ".listeners.tcp15001.$1 // 0" "$WORK/$ZT.status"
}

# in_a CMD...: a client in pod a, in the configuration's cgroup
in_a() {
	in_pod a sh -c "$CGEXEC" cgexec "$CFG_CGROUP" "$CPUS" "$@"
}

# gated OUT_FILE CMD...: one measurement into OUT_FILE, once the machine
# is quiet; again (TRIES in all) when the path, pinned to one CPU,
# got less than 80% of it meanwhile. SHARE: the share it got, in percent.
gated() {
	f=$1
	shift
	for _ in $(seq "$TRIES"); do
		[ "$QUIET_S" -gt 0 ] && bench_quiet "$QUIET_S" >/dev/null
		u0=$(cg_usage_us "$CFG_CGROUP") w0=$(now_us)
		"$@" >"$f"
		rc=$?
		u1=$(cg_usage_us "$CFG_CGROUP") w1=$(now_us)
		SHARE=$((100 * (u1 - u0) / (w1 - w0)))
		case $CPUS in '' | *[!0-9]*) return $rc ;; esac
		[ "$SHARE" -ge 80 ] && return $rc
		node_log "  the path got ${SHARE}% of its CPU: again"
	done
	return $rc
}

iperf_run() {
	in_a timeout $((TPUT_S + 15)) iperf3 -c "$1" -p "$PORT_IPERF" \
		-t "$TPUT_S" -J | jq '.end.sum_received.bits_per_second |
			if . and . > 0 then . else null end' 2>/dev/null
}

rr_run() {
	in_a timeout $((RR_S + 15)) "$BUILD/bench/rr" client --to "$1" \
		--port "$PORT_RR" --conns "$RR_CONNS" --size "$RR_SIZE" \
		--seconds "$RR_S"
}

# A measurement that fails (the tool errs or times out) is kept as failed
# (null) and the run goes on; one that bypasses ztunnel, or a direct one
# that does not, stops the run.
measure() {
	cfg=$1 fam=$2 round=$3
	dst=$(pod_ip b "$fam")
	c0=$(ztc conns) b0=$(ztc bytes_up)
	gated "$WORK/tput.out" iperf_run "$dst"
	q1=$SHARE tput=$(cat "$WORK/tput.out")
	gated "$WORK/rr.out" rr_run "$dst"
	q2=$SHARE rr=$(cat "$WORK/rr.out")
	sleep 0.25 # the stand-in's last status write
	c1=$(ztc conns) b1=$(ztc bytes_up)
	through=$((c1 - c0)) bytes=$((b1 - b0))
	if [ "$cfg" = direct ] && [ "$through" -ne 0 ]; then
		bench_die "direct IPv$fam went through ztunnel"
	fi
	# iperf3's bytes went through ztunnel (1 MB: a second at 10 Mbit/s)
	if [ "$cfg" != direct ] && { [ "$through" -lt 1 ] ||
		{ [ "${tput:-null}" != null ] && [ "$bytes" -lt 1000000 ]; }; }; then
		bench_die "$cfg IPv$fam: $through connections, $bytes bytes at ztunnel"
	fi
	jq -nc --arg cfg "$cfg" --arg fam "ipv$fam" --argjson round "$round" \
		--argjson tput "${tput:-null}" --argjson rr "${rr:-null}" \
		--argjson conns "$through" --argjson bytes "$bytes" \
		--argjson q1 "$q1" --argjson q2 "$q2" \
		'{config: $cfg, family: $fam, round: $round, tput_bps: $tput,
		  rr: $rr, ztunnel_conns: $conns, ztunnel_bytes_up: $bytes,
		  cpu_share_pct: [$q1, $q2]}' \
		>>"$SAMPLES"
	printf '  %-11s IPv%s round %s: %s Gbit/s, %s RR/s, p50 %s us (CPU %s%% %s%%)\n' \
		"$cfg" "$fam" "$round" \
		"$(echo "${tput:-null}" | jq 'if . then . / 1e9 * 100 | round / 100 else "FAILED" end')" \
		"$(echo "${rr:-null}" | jq '.tps // "FAILED"')" \
		"$(echo "${rr:-null}" | jq '.p50_us // "-"')" "$q1" "$q2" >&2
}

run_config() {
	cfg=$1 round=$2
	is_unavailable "$cfg" && return
	cfg_up "$cfg" "$round"
	case $cfg in
	sockmap*)
		if ! sockmap_check "$cfg"; then
			cfg_down "$cfg"
			return
		fi
		;;
	esac
	for fam in 4 6; do
		measure "$cfg" "$fam" "$round"
	done
	cfg_down "$cfg"
}

# --- summary ---

summarise() {
	jq -s --argjson unavailable "$UNAVAIL" --argjson notes "$NOTES" \
		--arg configs "$CONFIGS" \
		--arg cpus "${CPUS:-all}" --argjson rounds "$ROUNDS" \
		--argjson tput_s "$TPUT_S" --argjson rr_s "$RR_S" \
		--argjson conns "$RR_CONNS" --argjson size "$RR_SIZE" \
		--arg kernel "$(uname -r)" -f bench/mesh_summary.jq "$SAMPLES"
}

node_init "$BUILD"
SAMPLES=$WORK/samples.jsonl
: >"$SAMPLES"
trap 'cfg_stop; iptables_down; bench_cgroup_remove; node_cleanup' EXIT
if bench_cgroup_make && mkdir "$BENCH_CG/plain" "$BENCH_CG/sockmap"; then
	CG_PLAIN=$BENCH_CG/plain CG_SOCKMAP=$BENCH_CG/sockmap
else
	bench_die "no cgroup2 mount"
fi
"$BUILD/redirectd" --help 2>&1 | grep -q -- --sockmap-pods ||
	is_unavailable sockmap_all ||
	unavailable sockmap_all "redirectd has no --sockmap-pods"
redirectd_restart --no-sockmap
for p in a b zt; do
	pod_create "$p" ptp || bench_die "pod $p"
done
for round in $(seq "$ROUNDS"); do
	for cfg in $CONFIGS; do
		run_config "$cfg" "$round"
	done
done
mkdir -p "$OUT"
summarise >"$OUT/mesh.json.tmp" && mv "$OUT/mesh.json.tmp" "$OUT/mesh.json" ||
	bench_die "summary"
echo "mesh: wrote $OUT/mesh.json" >&2
