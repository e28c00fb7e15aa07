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
MESH_LABELS='{"direct": "direct (no mesh)", "explicit": "explicit (proxy dialled, no interception)",
	"iptables": "node-level iptables (2023, nftables TPROXY)",
	"inpod": "Istio in-pod (iptables-nft in each pod)",
	"ebpf": "ours (eBPF, tc)", "sockmap": "ours + sockmap (default)",
	"sockmap_all": "ours + sockmap, all legs"}'
# jq helpers: a metric's label, one ratio cell
MESH_JQ='def mlabel: if startswith("rr") then (.[2:] | tonumber |
		if . >= 1024 then "\(. / 1024) KiB" else "\(.) B" end) + " RR"
	else (.[4:] | tonumber | if . == 1 then "1 stream" else "\(.) streams" end) end;
	def v: if . == null then "-" else . end;
	def cell: if . == null then "-" else "\(.median) (\(.min) to \(.max))" end;
	def pinlabel: if . == "pinned" then "pinned to one CPU (the cost of a transaction)"
		else "unpinned, all CPUs (what a node sees)" end;'

mesh_md() {
	f=$OUT/mesh.json
	echo "### The mesh path: pod -> proxy stand-in -> pod, one node"
	echo
	machine
	echo
	jq -r "$MESH_JQ"'"Request/response: bench/rr, one connection, one message in flight, \(.rr_seconds) s per measurement, given as the half round trip (0.5 s / transactions per second, us; lower is better). Throughput: iperf3 \(if .tput_bytes != "" then .tput_bytes + " bytes" else "\(.tput_seconds) s" end), \(.streams | map(tostring) | join(" and ")) stream(s) (Gbit/s). \(.rounds) round(s), configurations interleaved (order reversed every other round), medians over the rounds. Load average \(.load_avg.start) at the start, \(.load_avg.end) at the end; the run took \(.seconds) s."' "$f"
	for pin in $(jq -r '.pins[]' "$f"); do
		echo
		jq -r --arg p "$pin" "$MESH_JQ"'"#### \($p | pinlabel)"' "$f"
		echo
		jq -r --arg p "$pin" "$MESH_JQ"'"| configuration | family | " + ([.metrics[] | mlabel + (if startswith("rr") then " half-RTT us" else " Gbit/s" end)] | join(" | ")) + " | 64 B RR p50 / p99 RTT us |",
			"|---|---|" + ([.metrics[] | "---:"] | join("|")) + "|---|"' "$f"
		jq -r --arg p "$pin" --argjson l "$MESH_LABELS" "$MESH_JQ"'. as $m | .results[] | select(.pin == $p) |
			($l[.config] // .config) as $name |
			if .available then
			"| \($name) | \(.family) | " + ([$m.metrics[] as $k | .metrics[$k] |
				"\(.median | v)" + (if .failed > 0 then " (\(.failed) of \(.runs) failed)" else "" end)] | join(" | ")) +
			" | \(.metrics.rr64.p50_us | v) / \(.metrics.rr64.p99_us | v) |"
			else "| \($name) | \(.family) | not available: \(.unavailable_reason) |" end' "$f"
	done
	echo
	echo "#### Ours against the others, round by round"
	echo
	echo "Median of the per-round ratios (range over the rounds). Half round trips: ours / theirs, below 1 is faster; throughput: ours / theirs, above 1 is faster."
	echo
	jq -r "$MESH_JQ"'"| ours | against | run | family | " + ([.metrics[] | mlabel] | join(" | ")) + " |",
		"|---|---|---|---|" + ([.metrics[] | "---:"] | join("|")) + "|"' "$f"
	jq -r --argjson l "$MESH_LABELS" "$MESH_JQ"'. as $m |
		($m.ratios | map({key: "\(.pin)/\(.family)/\(.config)/\(.base)/\(.metric)", value: .}) | from_entries) as $r |
		["ebpf", "sockmap", "sockmap_all"][] as $c | select($m.configs | index($c)) |
		["iptables", "explicit", "inpod", "direct"][] as $b | select($m.configs | index($b)) |
		$m.pins[] as $p | $m.families[] as $f |
		"| \($l[$c] // $c) | \($l[$b] // $b) | \($p) | \($f) | " +
		([$m.metrics[] as $k | $r["\($p)/\($f)/\($c)/\($b)/\($k)"] | cell] | join(" | ")) + " |"' "$f"
	echo
	echo "#### Interception overhead: half round trip minus the explicit path's, us"
	echo
	jq -r "$MESH_JQ"'"| configuration | run | family | " + ([.metrics[] | select(startswith("rr")) | mlabel] | join(" | ")) + " |",
		"|---|---|---|" + ([.metrics[] | select(startswith("rr")) | "---:"] | join("|")) + "|"' "$f"
	jq -r --argjson l "$MESH_LABELS" "$MESH_JQ"'. as $m |
		($m.overhead | map({key: "\(.pin)/\(.family)/\(.config)/\(.metric)", value: .}) | from_entries) as $o |
		$m.configs[] as $c | select($c != "direct" and $c != "explicit") |
		$m.pins[] as $p | $m.families[] as $f |
		"| \($l[$c] // $c) | \($p) | \($f) | " +
		([$m.metrics[] | select(startswith("rr")) as $k | $o["\($p)/\($f)/\($c)/\($k)"] | cell] | join(" | ")) + " |"' "$f"
	echo
	echo "Targets (unpinned, median of the per-round ratios, each family):"
	echo
	jq -r --argjson l "$MESH_LABELS" "$MESH_JQ"'.targets | to_entries[] | .value as $t |
		"- \($l[$t.config]) vs \($l[$t.base]), \($t.metric | mlabel)\(if ($t.metric | startswith("rr")) then " half-RTT" else " throughput" end): want \(if $t.better == "lower" then "<=" else ">=" end) \($t.want)x; " +
		([$t.per_family | to_entries[] | "\(.key) \(.value | cell)"] | join(", ")) + ": " +
		(if $t.met == true then "**met**" elif $t.met == null then "n/a" else "**not met**" end)' "$f"
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
	jq -e '[.sizes[] | select(.inpod)] | length > 0' "$f" >/dev/null || return 0
	echo
	echo "#### Against Istio's in-pod setup, same pods, same run"
	echo
	echo "Per pod, one after another: ours is a PodAdd through redirectd; in-pod is entering the pod's netns and running \`iptables-restore\` and \`ip6tables-restore\` of the in-pod rule set there (what istio-cni does; its netlink routes not counted), or the same rule set as one \`nft -f\`. Median round of $(jq -r '.sizes[0].rounds' "$f"), both sides."
	echo
	echo "| pods | ours pods/s | ours p50 / p99 us | in-pod iptables-restore pods/s | p50 / p99 us | in-pod nft -f pods/s | p50 / p99 us | ours vs iptables-restore | ours vs nft |"
	echo "|---:|---:|---|---:|---|---:|---|---:|---:|"
	jq -r 'def n: if . == null then "-" else . end;
		.sizes[] | select(.inpod) | .inpod.iptables as $i | .inpod.nft as $t |
		"| \(.pods) | \(.add.per_s | round) | \(.add.p50_us) / \(.add.p99_us) | \($i.per_s)\(if $i.count < .pods then " [first \($i.count)]" else "" end) | \($i.p50_us) / \($i.p99_us) | \($t.per_s | n)\(if $t and $t.count < .pods then " [first \($t.count)]" else "" end) | \($t.p50_us | n) / \($t.p99_us | n) | **\(.add_speedup_vs_inpod)x** | \(.add_speedup_vs_inpod_nft | n)x |"' "$f"
	echo
	jq -r '.targets.add_vs_inpod | select(.) | "- pod add >= \(.want)x the in-pod setup rate at \(.pods) pods: \(.speedup)x (nft: \(.speedup_nft)x): " + (if .met then "met" else "not met" end)' "$f"
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

# gnuplot's input: index 0 throughput (one stream), index 1 the 64-byte
# half round trip, unpinned; one column per configuration ("-": not
# available), titles in the header.
mesh_dat() {
	jq -r --argjson l "$MESH_LABELS" '. as $m |
		def v($c; $f; $k): first($m.results[] | select(.config == $c and
			.family == $f and .pin == "unpinned"))
			| if .available and .metrics[$k].median != null then .metrics[$k].median else "-" end;
		def block($k): ([$m.configs[] | $l[.] // . | @json] | "family " + join(" ")),
			($m.families[] as $f
			 | ([$m.configs[] as $c | v($c; $f; $k) | tostring]
			    | "\($f | sub("ipv"; "IPv")) " + join(" ")));
		block("tput1"), "", "", block("rr64")' "$OUT/mesh.json"
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
