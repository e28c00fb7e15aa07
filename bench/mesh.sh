#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The mesh path on the simulated node: pod a -> ztunnel stand-in -> pod b,
# all three on one node (tests/lib/node.sh, pods made by Debian's ptp CNI
# plugin). The same small proxy (tests/tools/ztunnel-sim/) in every meshed
# configuration, and in each the same hop: the proxy's outbound side sends
# the connection through a 15008 with a header line, and that side dials
# the destination. Only how the connection reaches the proxy differs:
#
#   direct    pods not enrolled: a talks to b straight through the node
#             netns (no mesh)
#   explicit  no interception: the client dials the proxy's address on a
#             port mapped to b (--explicit); the proxy dials b from its own
#             address. The cost of the proxy alone: the limit for any
#             interception
#   iptables  Istio ambient's node-level redirection of 2023, rebuilt with
#             nftables in the node and ztunnel netns (see iptables_up)
#   inpod     Istio ambient's in-pod redirection (1.21+): iptables rules
#             inside each meshed pod's netns (iptables-restore of the rule
#             set below, IPv4 and IPv6, with iptables-nft as Debian ships
#             it), the proxy's listeners opened inside the pods' netns
#             (--pod-netns); its tunnel hop goes to the destination pod's
#             15008, as ztunnel's HBONE does
#   ebpf      redirectd with ztunnel and both pods enrolled (our programs)
#   sockmap   ebpf plus redirectd's sockmap acceleration (--cgroup), as
#             redirectd chooses by default (on a kernel that fails its
#             self-test: ztunnel's own loop only)
#   sockmap_all  the same with --sockmap-pods on (not in the default set:
#             MESH_CONFIGS="... sockmap_all")
# A configuration this redirectd cannot run is reported "not available".
#
# Each configuration runs twice per round: "pinned", every process of the
# path on one CPU (taskset; the rate is the inverse of a transaction's CPU
# cost; a measurement during which the path got less than 80% of that CPU
# is taken again, up to three tries), and "unpinned", on all CPUs as a node
# runs them. Rounds interleave the configurations (the order reversed
# every other round), and the ratios are computed round by round.
#
# Measurements, IPv4 and IPv6: bench/rr request/response with 64 B, 4 KiB
# and 64 KiB messages (one connection, one message in flight), and iperf3
# throughput with one and with 8 streams (-P 8). Every meshed measurement
# must show up in the stand-in's counters (its entry listener: tcp15001,
# or "explicit"; and its tunnel listener tcp15008), the direct ones must
# not: a configuration that does not steer traffic the way it claims
# stops the run.
#
#   sh bench/mesh.sh BUILD OUT_DIR     writes OUT_DIR/mesh.json
# Sizes: BENCH_SMOKE=1 (seconds), or MESH_ROUNDS (3), MESH_TPUT_S (3),
# MESH_RR_S (2), MESH_RR_SIZES ("64 4096 65536"), MESH_STREAMS ("1 8"),
# MESH_PINS ("pinned unpinned"), MESH_CONFIGS, MESH_FAMILIES ("4 6").
#
# MESH_PROFILE=DIR: instead of the measurements, where the time goes, per
# configuration and family, into DIR (docs/performance.md, "Where our path
# loses"): a 64 B request/response run under `perf record -e cpu-clock`
# on the pinned CPU, or every CPU unpinned (perf report by symbol, and by
# kernel area; context switches and CPU migrations per transaction), our
# programs' run time per transaction (kernel.bpf_stats_enabled, set for
# the run and put back), and for a one-stream iperf3 run the sizes of the
# packets each interface received and sent (tracepoints
# net:netif_receive_skb and net:net_dev_xmit): whether GSO/GRO survive,
# and its CPU samples by area and by process. Around the request/response
# run also: every netns's TCP counters (nstat: tcp.txt) and the machine's
# dropped packets by location and reason, and TCP retransmissions
# (skb:kfree_skb, tcp:tcp_retransmit_skb: drops.txt; the whole host's,
# so a drop there is not necessarily on the mesh path).
# MESH_PINS=pinned or unpinned; MESH_PROFILE_RR=SIZE profiles that
# message size instead of 64 B.
set -u
BUILD=${1:-build}
OUT=${2:-bench/results}
cd "$(dirname "$0")/.." || exit 1
. tests/lib/node.sh
. bench/lib.sh

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	# a smoke run checks the plumbing, not the numbers
	ROUNDS=${MESH_ROUNDS:-1} RR_S=${MESH_RR_S:-0.2} WARMUP_MS=20
	TPUT_BYTES=${MESH_TPUT_BYTES:-8M} TPUT_S=1
	RR_SIZES=${MESH_RR_SIZES:-64 65536} PINS=${MESH_PINS:-unpinned}
	TRIES=1 QUIET_S=0
else
	ROUNDS=${MESH_ROUNDS:-3} RR_S=${MESH_RR_S:-2} WARMUP_MS=200
	TPUT_BYTES="" TPUT_S=${MESH_TPUT_S:-3}
	RR_SIZES=${MESH_RR_SIZES:-64 4096 65536}
	PINS=${MESH_PINS:-pinned unpinned}
	TRIES=3 QUIET_S=${MESH_QUIET_S:-20}
fi
STREAMS=${MESH_STREAMS:-1 8}
FAMILIES=${MESH_FAMILIES:-4 6}
CONFIGS=${MESH_CONFIGS:-direct explicit iptables inpod ebpf sockmap}
PORT_IPERF=5201
PORT_RR=7000
# explicit: the proxy's ports for b's iperf3 and rr servers
XPORT_IPERF=15201
XPORT_RR=17000
# Marks and tables of the node-level iptables configuration, apart from
# redirectd's.
IPT_MARK=0x100 IPT_TABLE=101 IPT_PRIO=101
TP_MARK=0x400 TP_TABLE=133 TP_PRIO=133

bench_need_root
for b in redirectd redirectctl ztunnel-sim bench/rr; do
	[ -x "$BUILD/$b" ] || bench_die "$BUILD/$b not built"
done
for c in iperf3 nft jq iptables-restore ip6tables-restore; do
	command -v "$c" >/dev/null || bench_die "$c missing"
done

SAMPLES=
PROCS="" # processes of the current configuration
CFG_CGROUP="" # the current configuration's processes go there
CG_PLAIN="" CG_SOCKMAP=""
UNAVAIL='{}' # configuration -> why it cannot run here
NOTES='{}' # configuration -> what redirectd's status said about sockmap
BENCH_CG=""
# pinned: every process of the path on one CPU (the last); unpinned: none
PIN_CPU=${MESH_CPUS-$(($(nproc) - 1))}
[ "$(nproc)" = 1 ] && PIN_CPU=""
CPUS="" # of the current run: PIN_CPU or empty
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
# zt_up NAME [ARGS]: the stand-in, in ztunnel's netns
zt_up() {
	ZT=zt-$1
	shift
	rm -f "$WORK/$ZT.ready"
	cfg_bg "$RUN-zt" "$BUILD/ztunnel-sim" --status "$WORK/$ZT.status" \
		--ready "$WORK/$ZT.ready" "$@"
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

# --- inpod: Istio ambient's in-pod redirection (1.21+), rebuilt ---
#
# Written from the description of istio-cni's in-pod rule set, not copied:
# inside each meshed pod's netns, nat OUTPUT REDIRECTs the pod's TCP to
# 15001 (not to the loopback, not ztunnel's own sockets, marked
# 0x539/0xfff, not to the kubelet probe address); mangle PREROUTING
# TPROXYs TCP to 15008 to 15008 and other TCP to 15006 (mark 0x111/0xfff),
# except established flows, what arrives on the loopback and the probes'
# SNAT address; ztunnel's own packets (0x539) set connmark 0x111, which
# OUTPUT restores on the pod's replies, and `ip rule fwmark 0x111/0xfff
# lookup 133` with `local default dev lo` in table 133 hands those to
# ztunnel's transparent sockets. One iptables-restore per family per pod,
# as istio-cni does; here with Debian's iptables (nf_tables backend). The
# rule set: inpod_rules in bench/lib.sh (the enrolment bench uses it too).
INPOD_PODS="a b"
inpod_up() {
	for p in $INPOD_PODS; do
		in_pod "$p" sysctl -qw net.ipv4.conf.all.rp_filter=0
		in_pod "$p" sysctl -qw net.ipv4.conf.eth0.rp_filter=0
		inpod_rules 4 | in_pod "$p" iptables-restore || return 1
		inpod_rules 6 | in_pod "$p" ip6tables-restore || return 1
		for fam in 4 6; do
			in_pod "$p" ip "-$fam" rule add fwmark \
				"$INPOD_MARK/0xfff" lookup "$INPOD_TABLE" \
				pref "$INPOD_PRIO" || return 1
		done
		in_pod "$p" ip -4 route add local 0.0.0.0/0 dev lo \
			table "$INPOD_TABLE" &&
			in_pod "$p" ip -6 route add local ::/0 dev lo \
				table "$INPOD_TABLE" || return 1
	done
}

inpod_down() {
	for p in $INPOD_PODS; do
		[ -e "/var/run/netns/$RUN-$p" ] || continue
		for t in iptables ip6tables; do
			printf '*mangle\nCOMMIT\n*nat\nCOMMIT\n' |
				in_pod "$p" "$t-restore" 2>/dev/null
		done
		for fam in 4 6; do
			in_pod "$p" ip "-$fam" rule del pref "$INPOD_PRIO" \
				2>/dev/null
			in_pod "$p" ip "-$fam" route flush table \
				"$INPOD_TABLE" 2>/dev/null
		done
	done
	return 0
}

# Packets the in-pod REDIRECT rule took in pod a (IPv4 and IPv6): proof
# that the pod's own rules intercepted the connections.
inpod_redirected() {
	n=0
	for t in iptables ip6tables; do
		k=$(in_pod a "$t" -t nat -L AR_OUTPUT -v -x -n 2>/dev/null |
			awk '/REDIRECT/ { s += $1 } END { print s + 0 }')
		n=$((n + k))
	done
	echo "$n"
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

# explicit: the proxy listens on XPORT_* and maps them to b's servers
explicit_args() {
	b4=$(pod_ip b 4) b6=$(pod_ip b 6)
	echo "--explicit $XPORT_IPERF=$b4:$PORT_IPERF" \
		"--explicit $XPORT_IPERF=[$b6]:$PORT_IPERF" \
		"--explicit $XPORT_RR=$b4:$PORT_RR" \
		"--explicit $XPORT_RR=[$b6]:$PORT_RR"
}

cfg_up() {
	CFG_CGROUP=$CG_PLAIN
	case $1 in
	direct) ;;
	explicit)
		# shellcheck disable=SC2046
		zt_up "$1-$2" $(explicit_args)
		;;
	iptables)
		iptables_up || { iptables_down; bench_die "iptables rules"; }
		zt_up "$1-$2"
		;;
	inpod)
		inpod_up || { inpod_down; bench_die "in-pod rules"; }
		zt_up "$1-$2" --pod-netns "/var/run/netns/$RUN-a" \
			--pod-netns "/var/run/netns/$RUN-b"
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
	inpod) inpod_down ;;
	ebpf) enrol_down ;;
	sockmap | sockmap_all)
		enrol_down
		redirectd_restart --no-sockmap
		;;
	esac
	CFG_CGROUP=$CG_PLAIN
}

# --- measurements ---

# ztc LISTENER FIELD: a counter of the stand-in, as last written (it
# rewrites its status file at most every 100 ms)
ztc() {
	[ -n "$ZT" ] && [ -f "$WORK/$ZT.status" ] || { echo 0; return; }
	jq -r ".listeners.$1.$2 // 0" "$WORK/$ZT.status"
}

# in_a CMD...: a client in pod a, in the configuration's cgroup and CPUs
in_a() {
	in_pod a sh -c "$CGEXEC" cgexec "$CFG_CGROUP" "$CPUS" "$@"
}

# gated OUT_FILE CMD...: one measurement into OUT_FILE; pinned, again
# (TRIES in all) when the path got less than 80% of its CPU meanwhile.
# SHARE: the CPU time the path used, in percent of the wall time.
gated() {
	f=$1
	shift
	for _ in $(seq "$TRIES"); do
		u0=$(cg_usage_us "$CFG_CGROUP") w0=$(now_us)
		"$@" >"$f"
		rc=$?
		u1=$(cg_usage_us "$CFG_CGROUP") w1=$(now_us)
		SHARE=$((100 * (u1 - u0) / (w1 - w0)))
		[ -z "$CPUS" ] && return $rc
		[ "$SHARE" -ge 80 ] && return $rc
		node_log "  the path got ${SHARE}% of its CPU: again"
	done
	return $rc
}

# iperf_run DST PORT STREAMS: bits per second received, or null
iperf_run() {
	if [ -n "$TPUT_BYTES" ]; then
		set -- "$1" "$2" "$3" -n "$TPUT_BYTES"
	else
		set -- "$1" "$2" "$3" -t "$TPUT_S"
	fi
	in_a timeout $((TPUT_S + 15)) iperf3 -c "$1" -p "$2" -P "$3" "$4" "$5" \
		-J >"$WORK/iperf.json" 2>"$WORK/iperf.err"
	rc=$?
	bps=$(jq '.end.sum_received.bits_per_second |
		if . and . > 0 then . else null end' "$WORK/iperf.json" 2>/dev/null)
	echo "${bps:-null}"
	# a failed run says why in the log: iperf3's error, or the timeout
	case ${bps:-null} in null)
		node_log "  iperf3 -P $3 to $1 port $2 failed (exit $rc):" \
			"$(jq -r '.error // empty' "$WORK/iperf.json" 2>/dev/null)" \
			"$(head -c 300 "$WORK/iperf.err")" ;;
	esac
}

# rr_run DST PORT SIZE: bench/rr's JSON
rr_run() {
	in_a timeout 20 "$BUILD/bench/rr" client --to "$1" --port "$2" \
		--conns 1 --size "$3" --seconds "$RR_S" --warmup-ms "$WARMUP_MS"
}

# sample KEY VALUE...: one measurement's line in SAMPLES
sample() {
	jq -nc --arg cfg "$cfg" --arg pin "$pin" --arg fam "ipv$fam" \
		--argjson round "$round" --arg kind "$1" --argjson n "$2" \
		--argjson v "$3" --argjson share "$SHARE" --argjson busy "$BUSY" \
		'{config: $cfg, pin: $pin, family: $fam, round: $round,
		  kind: $kind, n: $n, cpu_share_pct: $share,
		  machine_busy_pct: $busy} +
		 (if $kind == "rr" then {rr: $v} else {tput_bps: $v} end)' \
		>>"$SAMPLES"
}

# One configuration, one family: every size. A measurement that fails
# (the tool errs or times out) is logged with the tool's error and tried
# once more (an iperf3 -P 8 -n run failed once in about thirty smoke
# rounds, not reproduced since); failing twice, it is kept as failed
# (null) and the run goes on. One that bypasses the proxy, or a direct
# one that does not, stops it.
measure() {
	dst=$(pod_ip b "$fam") p_iperf=$PORT_IPERF p_rr=$PORT_RR entry=tcp15001
	if [ "$cfg" = explicit ]; then
		dst=$(pod_ip zt "$fam") p_iperf=$XPORT_IPERF p_rr=$XPORT_RR
		entry=explicit
	fi
	c0=$(ztc "$entry" conns) t0=$(ztc tcp15008 conns)
	b0=$(ztc "$entry" bytes_up)
	want=0
	line=""
	for size in $RR_SIZES; do
		for try in 1 2; do
			gated "$WORK/rr.out" rr_run "$dst" "$p_rr" "$size"
			rr=$(jq -c 'select(.tps > 0)' "$WORK/rr.out" 2>/dev/null)
			[ -n "$rr" ] && break
			node_log "  rr $size B to $dst port $p_rr failed (try $try):" \
				"$(head -c 300 "$WORK/rr.out")"
		done
		sample rr "$size" "${rr:-null}"
		want=$((want + 1))
		line="$line rr$size $(echo "${rr:-null}" |
			jq 'if . then 5e5 / .tps * 10 | round / 10 else "FAILED" end')us"
	done
	for np in $STREAMS; do
		for try in 1 2; do
			gated "$WORK/tput.out" iperf_run "$dst" "$p_iperf" "$np"
			tput=$(cat "$WORK/tput.out")
			# (a failed try's connections are not counted in want:
			# it is the least the proxy must have seen)
			[ -n "$tput" ] && [ "$tput" != null ] && break
		done
		sample tput "$np" "${tput:-null}"
		want=$((want + np + 1)) # and iperf3's control connection
		line="$line x$np $(echo "${tput:-null}" |
			jq 'if . then . / 1e9 * 100 | round / 100 else "FAILED" end')G"
	done
	sleep 0.25 # the stand-in's last status write
	through=$(($(ztc "$entry" conns) - c0))
	tunnel=$(($(ztc tcp15008 conns) - t0))
	bytes=$(($(ztc "$entry" bytes_up) - b0))
	if [ "$cfg" = direct ]; then
		[ "$through" -eq 0 ] && [ "$tunnel" -eq 0 ] ||
			bench_die "direct IPv$fam went through the proxy"
	elif [ "$through" -lt "$want" ] || [ "$tunnel" -lt "$want" ] ||
		[ "$bytes" -lt 1000000 ]; then
		bench_die "$cfg IPv$fam: $through connections at $entry, $tunnel at tcp15008 (want $want), $bytes bytes"
	fi
	jq -nc --arg cfg "$cfg" --arg pin "$pin" --arg fam "ipv$fam" \
		--argjson round "$round" --argjson c "$through" \
		--argjson t "$tunnel" --argjson b "$bytes" --argjson w "$want" \
		'{config: $cfg, pin: $pin, family: $fam, round: $round,
		  kind: "check", entry_conns: $c, tunnel_conns: $t,
		  entry_bytes_up: $b, connections_made: $w}' >>"$SAMPLES"
	printf '  %-9s %-8s IPv%s round %s:%s\n' "$cfg" "$pin" "$fam" \
		"$round" "$line" >&2
}

# --- profile (MESH_PROFILE) ---

# bpftool's view of our programs: name run_time_ns run_cnt
bpf_runs() {
	bpftool prog show -j 2>/dev/null | jq -r '.[] |
		select(.name | test("^(app_outbound|app_inbound|ztunnel_host_in|ztunnel_ingres|ztunnel_ingress|pod_guard|sockops_add|msg_redirect)$")) |
		"\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"' |
		awk '{ t[$1] += $2; c[$1] += $3 } END { for (n in t) print n, t[n], c[n] }' |
		sort
}

# interface names of the run: which pod's host veth is which
if_names() {
	for p in a b zt; do
		echo "$(pod_host_veth "$p") node-side-veth-of-$p"
	done
}

# TCP's and the IP layers' counters in every netns of the run: mark now,
# then print what changed since (nstat's history in the profile folder)
tcp_counters_mark() {
	for ns in "$NODE_NS" "$RUN-a" "$RUN-b" "$RUN-zt"; do
		nsrun "$ns" env NSTAT_HISTORY="$1/.nstat-$ns" nstat -n
	done
}

tcp_counters_since() {
	for ns in "$NODE_NS" "$RUN-a" "$RUN-b" "$RUN-zt"; do
		nsrun "$ns" env NSTAT_HISTORY="$1/.nstat-$ns" nstat |
			awk -v ns="${ns#"$RUN"-}" 'NR > 1 { print ns, $1, $2 }'
		rm -f "$1/.nstat-$ns"
	done
}

# drops by where they were freed and why ("location=... reason: X"),
# retransmissions by state
drops_summary() {
	perf script -i "$1" -F event,trace 2>/dev/null |
		awk '{ ev = $1; what = ""
		for (i = 2; i <= NF; i++) {
			if ($i ~ /^(location|state)=/) what = what " " $i
			if ($i == "reason:") what = what " reason=" $(i + 1)
		}
		n[ev what]++ }
		END { for (k in n) printf "%7d %s\n", n[k], k }' | sort -rn
}

# The profile's perf processes: stopped (SIGINT, so they write their
# data) at the end of each run, and by the exit trap if the run stops.
PERF_PIDS=""
perf_stop() {
	[ -n "$PERF_PIDS" ] || return 0
	# shellcheck disable=SC2086
	kill -INT $PERF_PIDS 2>/dev/null
	for pid in $PERF_PIDS; do
		wait "$pid"
	done
	PERF_PIDS=""
}

# perf samples by process (comm): which one the CPUs were busy with
perf_by_process() {
	perf report -q -i "$1" --sort comm --stdio 2>/dev/null |
		awk 'NF >= 2 { print $1, $2 }'
}

# perf report's samples by symbol (file $1) summed by kernel area: a
# symbol's first match decides
perf_areas() {
	awk '{ gsub("%", "", $1); pct = $1; sym = $NF
		a = "other kernel"
		if ($2 == "[.]") a = "user space"
		else if (sym ~ /(safe_halt|default_idle|cpuidle|do_idle|poll_idle)/) a = "idle"
		else if (sym ~ /irq_enable|irq_restore/) a = "irqs re-enabled (samples of irq-off time land here)"
		else if (sym ~ /(pvclock|kvm_clock|read_tsc|ktime_get|sched_clock)/) a = "clock reads"
		else if (sym ~ /^(nft_|nf_|ipt_|xt_|ip6t_|__nf_|nf_hook|ipv4_conntrack|ipv6_conntrack|tproxy|nf_tproxy|nf_nat|nf_ct|ct_|__nft)/) a = "netfilter"
		else if (sym ~ /^(bpf_|__bpf|sk_assign|tcx_|cls_bpf|tc_run|sch_handle|skb_do_redirect)/) a = "bpf and tc"
		else if (sym ~ /^(tcp_|__tcp|inet_csk|inet_ehash|__inet_lookup|inet6_|__inet6_lookup|tcp6_|tcp4_)/) a = "tcp"
		else if (sym ~ /^(ip_|ip6_|__ip|ipv6_|fib_|fib6_|rt6_|__ip6|dst_|icmp|raw_|inet_gro|ipv6_gro)/) a = "ip and routing"
		else if (sym ~ /^(veth_|__dev|dev_|netif_|__netif|net_rx|napi_|__napi|process_backlog|gro_|skb_|__skb|kfree_skb|consume_skb|__alloc_skb|kmalloc_reserve|sk_)/) a = "devices and skbs"
		else if (sym ~ /^(schedule|__schedule|try_to_wake|ttwu|enqueue|dequeue|pick_next|finish_task|update_|select_task|psi_|__switch|switch_)/) a = "scheduler"
		else if (sym ~ /^(ep_|do_epoll|__x64_sys|do_syscall|entry_SYSCALL|syscall_|__sys_|sock_|__sock|fput|fget|__fget|ksys_|vfs_|rw_verify|security_|apparmor)/) a = "syscalls, sockets, epoll"
		else if (sym ~ /^(copy_|_copy|__copy|rep_movs|memcpy|memset|csum|__check_object|check_heap)/) a = "copies"
		s[a] += pct }
		END { for (k in s) printf "%6.2f%% %s\n", s[k], k }' "$1" | sort -rn
}

# cpu_summaries PERF PREFIX: the cpu-clock samples in PERF by symbol
# (PREFIX.syms.txt), by area and by process
cpu_summaries() {
	perf report -q -i "$1" --sort sym --stdio >"$2.syms.txt" 2>/dev/null
	perf_areas "$2.syms.txt" >"$2.areas.txt"
	perf_by_process "$1" >"$2.processes.txt"
}

profile() {
	pd=$MESH_PROFILE/$cfg-ipv$fam
	mkdir -p "$pd"
	dst=$(pod_ip b "$fam") p_iperf=$PORT_IPERF p_rr=$PORT_RR
	if [ "$cfg" = explicit ]; then
		dst=$(pod_ip zt "$fam") p_iperf=$XPORT_IPERF p_rr=$XPORT_RR
	fi
	if_names >"$pd/interfaces.txt"
	# 1. 64 B RR under perf, with our programs' run time
	bpf_runs >"$pd/bpf0.txt"
	# pinned: the one CPU everything runs on; unpinned: all of them
	target="-C ${PIN_CPU:-0}"
	[ -z "$CPUS" ] && target=-a
	# shellcheck disable=SC2086
	perf record -q -e cpu-clock -F 2999 $target -o "$pd/rr.perf" \
		2>"$pd/perf.log" &
	PERF_PIDS="$PERF_PIDS $!"
	# wake-ups and moves between CPUs, the whole machine
	perf stat -a -x, -e context-switches,cpu-migrations -o "$pd/rr.stat" \
		2>>"$pd/perf.log" &
	PERF_PIDS="$PERF_PIDS $!"
	# what TCP did (retransmissions, loss probes, delayed ACKs) and
	# where packets were dropped, and why
	perf record -q -a -e skb:kfree_skb -e tcp:tcp_retransmit_skb \
		-o "$pd/drops.perf" 2>>"$pd/perf.log" &
	PERF_PIDS="$PERF_PIDS $!"
	tcp_counters_mark "$pd"
	sleep 0.5
	rr_run "$dst" "$p_rr" "${MESH_PROFILE_RR:-64}" >"$pd/rr.json"
	perf_stop
	tcp_counters_since "$pd" >"$pd/tcp.txt"
	drops_summary "$pd/drops.perf" >"$pd/drops.txt"
	rm -f "$pd/drops.perf"
	bpf_runs >"$pd/bpf1.txt"
	tps=$(jq .transactions "$pd/rr.json")
	awk -F, -v n="$tps" '$3 ~ /context-switches|cpu-migrations/ && n > 0 {
		printf "%s per_transaction %.2f\n", $3, $1 / n }' "$pd/rr.stat" \
		>"$pd/sched.txt"
	join "$pd/bpf0.txt" "$pd/bpf1.txt" | awk -v n="$tps" '{
		dt = $4 - $2; dc = $5 - $3
		if (dc > 0) printf "%s runs_per_transaction %.2f ns_per_run %.1f ns_per_transaction %.1f\n",
			$1, dc / n, dt / dc, dt / n }' >"$pd/bpf.txt"
	cpu_summaries "$pd/rr.perf" "$pd/rr"
	head -n 40 "$pd/rr.syms.txt" >"$pd/rr.top.txt"
	# 2. one-stream throughput: packet sizes per interface
	perf record -q -e net:netif_receive_skb -e net:net_dev_xmit -a \
		-o "$pd/tput.perf" 2>>"$pd/perf.log" &
	PERF_PIDS="$PERF_PIDS $!"
	# and where a stream's CPU time goes, by area as for the RR run
	# shellcheck disable=SC2086
	perf record -q -e cpu-clock -F 2999 $target -o "$pd/tput.cpu.perf" \
		2>>"$pd/perf.log" &
	PERF_PIDS="$PERF_PIDS $!"
	sleep 0.5
	TPUT_S=1 TPUT_BYTES="" iperf_run "$dst" "$p_iperf" 1 >"$pd/tput.txt"
	perf_stop
	cpu_summaries "$pd/tput.cpu.perf" "$pd/tput"
	rm -f "$pd/tput.cpu.perf"
	perf script -i "$pd/tput.perf" -F event,trace 2>/dev/null |
		awk '{ ev = $1; dev = ""; len = 0
		for (i = 2; i <= NF; i++) {
			if ($i ~ /^dev=/) dev = substr($i, 5)
			if ($i ~ /^len=/) len = substr($i, 5) + 0 }
		k = ev " " dev; n[k]++
		if (len > 200) { d[k]++; b[k] += len; if (len > 1600) big[k]++ } }
		END { for (k in n) printf "%-24s %-14s packets %7d data %7d data_mean_len %6.0f data_over_1600 %5.1f%%\n",
			substr(k, 1, index(k, " ") - 1), substr(k, index(k, " ") + 1),
			n[k], d[k], d[k] ? b[k] / d[k] : 0, d[k] ? 100 * big[k] / d[k] : 0 }' |
		sort >"$pd/tput.sizes.txt"
	rm -f "$pd/tput.perf"
	node_log "  profile $cfg IPv$fam: $pd"
}

run_config() {
	cfg=$1 pin=$2 round=$3
	is_unavailable "$cfg" && return
	CPUS=""
	[ "$pin" = pinned ] && CPUS=$PIN_CPU
	BUSY=0
	[ "$QUIET_S" -gt 0 ] && BUSY=$(bench_quiet "$QUIET_S")
	cfg_up "$cfg" "$round-$pin"
	case $cfg in
	sockmap*)
		if ! sockmap_check "$cfg"; then
			cfg_down "$cfg"
			return
		fi
		;;
	esac
	r0=0
	[ "$cfg" = inpod ] && r0=$(inpod_redirected)
	for fam in $FAMILIES; do
		if [ -n "${MESH_PROFILE:-}" ]; then
			profile
		else
			measure
		fi
	done
	if [ "$cfg" = inpod ] && [ -z "${MESH_PROFILE:-}" ]; then
		r1=$(inpod_redirected)
		[ "$r1" -gt "$r0" ] ||
			bench_die "inpod: pod a's REDIRECT rules took no packet"
	fi
	cfg_down "$cfg"
}

# --- summary ---

summarise() {
	jq -s --argjson unavailable "$UNAVAIL" --argjson notes "$NOTES" \
		--arg configs "$CONFIGS" --arg pins "$PINS" \
		--arg pin_cpu "${PIN_CPU:-none}" --argjson rounds "$ROUNDS" \
		--argjson tput_s "$TPUT_S" --arg tput_bytes "$TPUT_BYTES" \
		--arg rr_s "$RR_S" --arg rr_sizes "$RR_SIZES" \
		--arg streams "$STREAMS" --arg families "$FAMILIES" \
		--arg kernel "$(uname -r)" --arg load0 "$LOAD0" \
		--arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" \
		--argjson seconds "$(($(date +%s) - T0))" \
		-f bench/mesh_summary.jq "$SAMPLES"
}

T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
node_init "$BUILD"
SAMPLES=$WORK/samples.jsonl
: >"$SAMPLES"
trap 'cfg_stop; iptables_down; inpod_down; bench_cgroup_remove; node_cleanup' EXIT
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
if [ -n "${MESH_PROFILE:-}" ]; then
	old_stats=$(cat /proc/sys/kernel/bpf_stats_enabled)
	trap 'perf_stop; sysctl -qw kernel.bpf_stats_enabled="$old_stats"; cfg_stop; iptables_down; inpod_down; bench_cgroup_remove; node_cleanup' EXIT
	sysctl -qw kernel.bpf_stats_enabled=1
fi
for round in $(seq "$ROUNDS"); do
	order=$CONFIGS
	[ $((round % 2)) = 0 ] &&
		order=$(echo "$CONFIGS" | tr ' ' '\n' | tac | tr '\n' ' ')
	for pin in $PINS; do
		for cfg in $order; do
			run_config "$cfg" "$pin" "$round"
		done
	done
done
[ -n "${MESH_PROFILE:-}" ] && exit 0
mkdir -p "$OUT"
summarise >"$OUT/mesh.json.tmp" && mv "$OUT/mesh.json.tmp" "$OUT/mesh.json" ||
	bench_die "summary"
echo "mesh: wrote $OUT/mesh.json ($(($(date +%s) - T0)) s)" >&2
