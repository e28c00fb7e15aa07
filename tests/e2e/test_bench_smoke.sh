#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make bench with tiny sizes: every benchmark runs end to end and writes
# well-formed JSON with every key docs/performance.md's tables are made from.
# Benchmarks are not tests: no number is judged here, only that there is
# one. Results go to a temporary folder, never over bench/results/.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/kernel.sh

need_root
need_built redirectd redirectctl ztunnel-sim bench/prog_cost bench/rr \
	bench/ctlplane bench/attach_cost
for c in iperf3 nft jq tc bpftool iptables-restore ip6tables-restore; do
	command -v "$c" >/dev/null || skip_suite "$c missing"
done
grep -q ' cgroup2 ' /proc/mounts || skip_suite "no cgroup2 mount"

OUT=$(mktemp -d /tmp/bench-smoke.XXXXXX)
LOG=$OUT/run.log
trap 'rm -rf "$OUT"' EXIT

# has FILE JQ_EXPR: the expression holds (jq -e) on the file
has() {
	jq -e "$2" "$1" >/dev/null 2>&1
}

case_begin "make bench, smoke sizes, runs end to end"
if ! BENCH_SMOKE=1 BENCH_OUT=$OUT sh bench/run.sh "$BUILD" >"$LOG" 2>&1; then
	fail "bench/run.sh failed"
	tail -n 30 "$LOG" | sed 's/^/  | /'
fi
for f in prog_cost mesh ctlplane attach_cost; do
	check "$f.json is JSON" jq -e . "$OUT/$f.json"
	check "$f.md written" test -s "$OUT/$f.md"
done
case_end

case_begin "prog_cost.json: floor, every case, the target"
f=$OUT/prog_cost.json
check "floor" has "$f" '.floor_ns | numbers'
check "cases" has "$f" '.cases | length >= 10'
check "case keys" has "$f" '[.cases[] | has("program", "decision", "packet",
	"ns", "floor_ns", "ratio", "over_floor_ns")] | all'
check "every program" has "$f" '[.cases[].program] | unique ==
	["app_inbound", "app_outbound", "pod_guard", "ztunnel_host_in",
	 "ztunnel_ingress"]'
check "target" has "$f" '.target | has("redirect_max_ratio",
	"worst_redirect_ratio", "met")'
case_end

case_begin "mesh.json: every configuration, two families, targets"
f=$OUT/mesh.json
check "12 rows (6 configurations, 2 families, unpinned)" has "$f" \
	'.results | length == 12'
check "configurations" has "$f" '[.results[].config] | unique ==
	["direct", "ebpf", "explicit", "inpod", "iptables", "sockmap"]'
check "row keys" has "$f" '[.results[] | has("pin", "family", "available",
	"metrics", "proxy")] | all'
check "measured" has "$f" '[.results[] | select(.config != "sockmap") |
	.available and .metrics.rr64.median > 0 and .metrics.rr65536.median > 0
	and .metrics.tput1.median > 0 and .metrics.tput8.median > 0] | all' || {
	# what each run measured, and what the log says, for a failure
	jq -c '.results[] | {config, family, available, m: .metrics | map_values(.median),
		proxy}' "$f" | sed 's/^/    /'
	grep -i "fail\|error\|not available" "$LOG" | head -n 20 |
		sed 's/^/    log: /'
}
# every configuration routes the way it claims: the proxy's entry
# listener (tcp15001, or "explicit" for the explicit one) and its tunnel
# listener saw the connections, and none in direct
check "meshed ones went through the proxy, entry and tunnel" has "$f" \
	'[.results[] | select(.config != "direct" and .available) |
	  .proxy.entry_conns > 0 and .proxy.tunnel_conns > 0] | all'
check "direct did not" has "$f" '[.results[] | select(.config == "direct") |
	.proxy.entry_conns == 0 and .proxy.tunnel_conns == 0] | all'
check "each measurement's connections all seen by the proxy" has "$f" \
	'[.samples[] | select(.kind == "check" and .config != "direct") |
	  .entry_conns >= .connections_made and
	  .tunnel_conns >= .connections_made] | all'
check "sockmap measured or said why not" has "$f" '[.results[] |
	select(.config | startswith("sockmap")) |
	if .available then .metrics.rr64.runs > 0
	else (.unavailable_reason | length > 0) end] | all'
check "ratios round by round" has "$f" '[.ratios[] | select(.config ==
	"ebpf" and .base == "inpod" and .metric == "rr64")] | length == 2'
check "interception overhead" has "$f" '[.overhead[] | select(.config ==
	"inpod")] | length >= 2'
check "targets" has "$f" '.targets | has("ebpf_vs_iptables_rr64",
	"ebpf_vs_iptables_tput1", "ebpf_vs_explicit_rr64",
	"ebpf_vs_explicit_tput1", "ebpf_vs_inpod_rr64", "ebpf_vs_inpod_tput1")'
case_end

case_begin "ctlplane.json: add, delete, baseline, memory, restart"
f=$OUT/ctlplane.json
check "sizes" has "$f" '.sizes | length >= 1'
check "size keys" has "$f" '[.sizes[] | has("pods", "add", "del",
	"baseline_add", "baseline_del", "rss_kib", "add_speedup_vs_tc")] | all'
check "latency keys" has "$f" '[.sizes[] | .add, .del, .baseline_add |
	has("per_s", "p50_us", "p90_us", "p99_us")] | all'
check "no errors" has "$f" '[.sizes[] | .add.errors, .del.errors,
	.baseline_add.errors] | add == 0'
check "memory" has "$f" '[.sizes[].rss_kib.enrolled | numbers > 0] | all'
check "restart" has "$f" '.restart.reconcile_ms | numbers'
check "targets" has "$f" '.targets | has("add_vs_tc", "pods", "rss_at_max")'
check "rounds" has "$f" '[.sizes[] | .add.rounds_mean_us | length >= 2] | all'
check "in-pod setup measured, iptables-restore and nft" has "$f" \
	'[.sizes[] | select(.inpod) | .inpod.iptables.per_s > 0 and
	  .inpod.iptables.errors == 0 and (.inpod.nft == null or
	  .inpod.nft.per_s > 0)] | length >= 1 and all'
check "in-pod target" has "$f" '.targets.add_vs_inpod | has("want",
	"speedup", "met")'
case_end

case_begin "ctlplane_tcx.json: the same with redirectd --attach tcx"
if kernel_has_tcx; then
	f=$OUT/ctlplane_tcx.json
	check "attach mode recorded" has "$f" '.attach == "tcx"'
	check "no errors" has "$f" '[.sizes[] | .add.errors, .del.errors] |
		add == 0'
	check "latencies" has "$f" '[.sizes[].add.p50_us | numbers > 0] | all'
	check "md written" test -s "$OUT/ctlplane_tcx.md"
	check_eq "tc run recorded as tc" tc "$(jq -r .attach "$OUT/ctlplane.json")"
else
	case_skip "TCX needs Linux 6.6+"
fi
case_end

case_begin "attach_cost.json: tc measured, tcx measured or said why not"
f=$OUT/attach_cost.json
check "tc" has "$f" '.ways.tc | .available and .qdisc_us > 0 and
	.ingress_us > 0 and .egress_us > 0 and .attach_us > 0 and .detach_us > 0'
check "tcx" has "$f" '.ways.tcx | if .available then .attach_us > 0
	else (.error | length > 0) end'
case_end

# MESH_PROFILE (docs/performance.md, "Where our path loses"): every
# piece of the profile is written and holds what it is read for
profile_case() {
	p=$OUT/profile/ebpf-ipv4
	stats0=$(cat /proc/sys/kernel/bpf_stats_enabled)
	if ! BENCH_SMOKE=1 MESH_PROFILE=$OUT/profile MESH_CONFIGS=ebpf \
		MESH_PINS=unpinned MESH_FAMILIES=4 \
		sh bench/mesh.sh "$BUILD" "$OUT/profile-out" >"$OUT/profile.log" 2>&1; then
		fail "bench/mesh.sh with MESH_PROFILE failed"
		tail -n 30 "$OUT/profile.log" | sed 's/^/  | /'
	fi
	check "transactions" has "$p/rr.json" '.transactions > 0'
	check "our programs ran, per transaction" grep -Eq \
		'^app_outbound runs_per_transaction [0-9.]+ ns_per_run [1-9]' "$p/bpf.txt"
	check "switches and migrations" test "$(grep -c per_transaction "$p/sched.txt")" = 2
	check "pod a's TCP counters" grep -Eq '^a TcpOutSegs [1-9]' "$p/tcp.txt"
	check "ztunnel's TCP counters" grep -Eq '^zt TcpInSegs [1-9]' "$p/tcp.txt"
	for a in rr tput; do
		# most samples land in a named area, and the areas add up
		check "$a: CPU samples by area" awk '{ s += $1 }
			$2 == "other" { other = $1 + 0 }
			END { exit !(s > 95 && s < 105 && NR >= 5 && other < 50) }' \
			"$p/$a.areas.txt"
		check "$a: CPU samples by process, the proxy among them" \
			grep -q ' ztunnel-sim$' "$p/$a.processes.txt"
	done
	check "packet sizes per interface" grep -q '^net:netif_receive_skb' "$p/tput.sizes.txt"
	check "every perf started" sh -c '! grep -Eiq "error|invalid|not found|failed" "$1"' \
		sh "$p/perf.log"
	check_eq "bpf_stats_enabled put back" "$stats0" \
		"$(cat /proc/sys/kernel/bpf_stats_enabled)"
	check "no perf left running" no_perf_writing_to "$OUT/profile"
}

# no_perf_writing_to DIR: no perf process has DIR in its arguments
no_perf_writing_to() {
	for pid in $(pgrep -x perf); do
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$1" &&
			return 1
	done
	return 0
}

# the tracepoints the profile records
have_profile_events() {
	command -v perf >/dev/null || return 1
	events=$(perf list tracepoint 2>/dev/null)
	for e in net:netif_receive_skb net:net_dev_xmit skb:kfree_skb \
		tcp:tcp_retransmit_skb; do
		echo "$events" | grep -q "$e" || return 1
	done
}

if have_profile_events; then
	case_begin "MESH_PROFILE: where the time goes"
	profile_case
	case_end
else
	case_skip "MESH_PROFILE: where the time goes" \
		"no perf with the net, skb and tcp tracepoints (apt-get install linux-perf)"
fi

if command -v gnuplot >/dev/null; then
	case_begin "the plot"
	check "mesh.png written" test -s "$OUT/mesh.png"
	case_end
else
	case_skip "the plot" "no gnuplot (make bench installs it)"
fi

results
