#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The results' JSON -> Markdown tables (OUT/*.md), or the plot's data.
#   sh bench/report.sh OUT_DIR          writes OUT_DIR/{prog_cost,mesh,ctlplane,attach_cost}.md
#   sh bench/report.sh OUT_DIR dat      prints gnuplot's input from mesh.json
# Each JSON file is optional: what is there is rendered.
set -u
OUT=${1:-bench/results}

# One line saying where and when the numbers were taken.
machine() {
	printf '_%s, %s vCPU (%s), kernel %s._\n' "$(date -u +%Y-%m-%d)" \
		"$(nproc)" \
		"$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		"$(uname -r)"
}

prog_cost_md() {
	f=$OUT/prog_cost.json
	echo "### Per-packet cost of each program and decision"
	echo
	machine
	echo
	jq -r '"BPF_PROG_TEST_RUN, \(.repeat) runs per measurement, \(.rounds) rounds, medians. Floor: a tc program that only returns TC_ACT_PIPE, **\(.floor_ns) ns** per run, measured just before each case."' "$f"
	echo
	echo "| program | decision | packet | ns per packet | x floor | ns over floor |"
	echo "|---|---|---|---:|---:|---:|"
	jq -r '.cases[] | "| \(.program) | \(.decision) | \(.packet) | \(.ns) | \(.ratio) | \(.over_floor_ns) |"' "$f"
	echo
	jq -r '"Target: a redirect decision costs at most \(.target.redirect_max_ratio)x the floor. Worst redirect decision: \(.target.worst_redirect_ratio)x: " + (if .target.met then "met" else "not met" end) + "."' "$f"
}

# Labels of the mesh configurations, in the tables and the plot.
MESH_LABELS='{"direct": "direct (no mesh)", "iptables": "iptables (nftables TPROXY)",
	"ebpf": "eBPF (tc)", "sockmap": "eBPF + sockmap (default)",
	"sockmap_all": "eBPF + sockmap, all legs"}'

mesh_md() {
	f=$OUT/mesh.json
	echo "### The mesh path: pod -> ztunnel stand-in -> pod, one node"
	echo
	machine
	echo
	jq -r '"iperf3 \(.tput_seconds) s, one connection; request/response: bench/rr, \(.rr_conns) connection(s), \(.rr_size)-byte ping-pong, \(.rr_seconds) s; \(.rounds) rounds, configurations interleaved, medians. All processes of the path on CPU(s) \(.cpus)."' "$f"
	echo
	echo "| configuration | family | Gbit/s | vs iptables | vs direct | RR/s | vs iptables | vs direct | p50 us | p90 us | p99 us |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	jq -r --argjson l "$MESH_LABELS" '
		def failed($k): if .[$k] > 0 then " (\(.[$k]) of \(.runs) failed)" else "" end;
		def v: if . == null then "-" else . end;
		.results[] | ($l[.config] // .config) as $name |
		if .available then
		"| \($name) | \(.family) | \(.tput_gbps | v)\(failed("tput_failed")) | \(.tput_vs_iptables | v) | \(.tput_vs_direct | v) | \(.rr_tps | v)\(failed("rr_failed")) | \(.rr_vs_iptables | v) | \(.rr_vs_direct | v) | \(.p50_us | v) | \(.p90_us | v) | \(.p99_us | v) |"
		else "| \($name) | \(.family) | not available: \(.unavailable_reason) | | | | | | | | |" end' "$f"
	echo
	echo "Targets, judged on the median of the per-round ratios (range over the rounds; ratio of the medians after the slash):"
	echo
	jq -r 'def x: if . == null then "n/a" else "\(.)x" end;
		def fam($t; $f): if $t.paired[$f] then "\($t.paired[$f].median)x (\($t.paired[$f].min)-\($t.paired[$f].max)) / \($t.ratio_of_medians[$f] | x)" else "n/a" end;
		.targets | to_entries[] | .value as $t | "- \(.key): want >= \($t.want)x; IPv4 \(fam($t; "ipv4")), IPv6 \(fam($t; "ipv6")): " +
		(if $t.met == true then "met" elif $t.met == null then "n/a" else "not met" end)' "$f"
	jq -r '[.results[] | select(.redirectd) | {config, redirectd}] | unique_by(.config)[] |
		"- redirectd on \(.config): sockmap_pods \(.redirectd.sockmap_pods)" +
		(if .redirectd.sockmap_pods_reason then " (\(.redirectd.sockmap_pods_reason))" else "" end)' "$f"
}

ctlplane_md() {
	f=$OUT/${1:-ctlplane}.json
	echo "### Control plane: enrolling pods (redirectd --attach $(jq -r '.attach // "auto"' "$f"))"
	echo
	machine
	echo
	jq -r '"Each size: \(.sizes[0].rounds // 1) rounds of adding every pod and deleting them again, then as many of the baseline; the round with the median mean is shown, and every round'"'"'s mean add latency in run order."' "$f"
	echo
	echo "| pods | add pods/s | add p50 / p90 / p99 us | add mean us, each round | delete pods/s | delete p50 / p90 / p99 us | tc baseline add pods/s (p50 us) | tc + bpftool add pods/s | add speed-up vs tc | redirectd RSS KiB (empty / enrolled) |"
	echo "|---:|---:|---|---|---:|---|---:|---:|---:|---|"
	jq -r '.sizes[] | "| \(.pods) | \(.add.per_s | round) | \(.add.p50_us) / \(.add.p90_us) / \(.add.p99_us) | \(.add.rounds_mean_us // [.add.mean_us] | map(round | tostring) | join(", ")) | \(.del.per_s | round) | \(.del.p50_us) / \(.del.p90_us) / \(.del.p99_us) | \(.baseline_add.tc_only.per_s) (\(.baseline_add.tc_only.p50_us))\(if .baseline_pods < .pods then " [first \(.baseline_pods) pods]" else "" end) | \(.baseline_add.per_s) | \(.add_speedup_vs_tc)x | \(.rss_kib.empty) / \(.rss_kib.enrolled) |"' "$f"
	echo
	jq -r 'if .restart then "Restart and reconcile with \(.restart.pods) pods enrolled (kill -9, start, until `redirectctl status` answers): **\(.restart.reconcile_ms) ms**; RSS after: \(.restart.rss_kib_after) KiB." else empty end' "$f"
	echo
	jq -r '.targets | "- pod add >= \(.add_vs_tc.want)x faster than tc commands: worst size \(.add_vs_tc.worst)x (first rounds alone, run just after the pods'"'"' namespaces were made: \(.add_vs_tc.worst_first_round)x): " + (if .add_vs_tc.met then "met" else "not met" end),
		"- \(.pods.want) pods enrolled: \(.pods.enrolled): " + (if .pods.met then "met" else "not met" end),
		"- redirectd under \(.rss_at_max.want_kib) KiB resident at \(.rss_at_max.pods) pods: \(.rss_at_max.kib) KiB: " + (if .rss_at_max.met then "met" else "not met" end)' "$f"
}

attach_cost_md() {
	f=$OUT/attach_cost.json
	echo "### Attaching one pod's programs: tc (clsact + cls_bpf) against TCX links"
	echo
	machine
	echo
	jq -r '"\(.veths) veths; \(.method)."' "$f"
	echo
	echo "| way | qdisc us | ingress us | egress us | attach us | detach us |"
	echo "|---|---:|---:|---:|---:|---:|"
	jq -r '.ways | to_entries[] | .value as $w | if $w.available then
		"| \(.key) | \($w.qdisc_us) | \($w.ingress_us) | \($w.egress_us) | **\($w.attach_us)** | \($w.detach_us) |"
		else "| \(.key) | not available: \($w.error) | | | | |" end' "$f"
}

# gnuplot's input: index 0 throughput, index 1 request/response; one
# column per configuration ("-": not available), titles in the header.
mesh_dat() {
	jq -r --argjson l "$MESH_LABELS" '. as $m |
		def v($c; $f; $k): first($m.results[] | select(.config == $c and .family == $f))
			| if .available and .[$k] != null then .[$k] else "-" end;
		def block($k): ([$m.configs[] | $l[.] // . | @json] | "family " + join(" ")),
			(["ipv4", "ipv6"][] as $f
			 | ([$m.configs[] as $c | v($c; $f; $k) | tostring]
			    | "\($f | sub("ipv"; "IPv")) " + join(" ")));
		block("tput_gbps"), "", "", block("rr_tps")' "$OUT/mesh.json"
}

if [ "${2:-}" = dat ]; then
	mesh_dat
	exit
fi
for b in prog_cost mesh ctlplane attach_cost; do
	[ -f "$OUT/$b.json" ] || continue
	"${b}_md" >"$OUT/$b.md.tmp" && mv "$OUT/$b.md.tmp" "$OUT/$b.md"
done
if [ -f "$OUT/ctlplane_tcx.json" ]; then
	ctlplane_md ctlplane_tcx >"$OUT/ctlplane_tcx.md.tmp" &&
		mv "$OUT/ctlplane_tcx.md.tmp" "$OUT/ctlplane_tcx.md"
fi
exit 0
