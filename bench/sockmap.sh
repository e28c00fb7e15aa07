#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Sockmap acceleration, measured: the ztunnel path (pod a -> ztunnel
# stand-in 15001 -> its own 15008 -> pod b, on one simulated node) with
# and without acceleration, side by side in one run.
#
#   sh bench/sockmap.sh [BUILD]     as root, after make
#   RUN_SECONDS=5 ROUNDS=3 SIZES="64 4096 65536" sh bench/sockmap.sh
#
# Configurations, one redirectd restart apart, interleaved round by round
# so that drift (other work on the machine) falls on all of them alike:
#   tcp    --no-sockmap: tc redirection only, every leg by TCP
#   loop   --sockmap-pods off: ztunnel's own loop accelerated (the default
#          when the kernel fails redirectd's self-test, as 6.18 does)
#   all    --sockmap-pods on: all three legs
# Loads (bench/sockmap_load.c, one connection): stream (B-byte writes for
# RUN_SECONDS, throughput as received) and rr (one B-byte request and its
# B-byte answer at a time). CPU of the path: utime+stime of the client
# (getrusage), ztunnel-sim, the server and the ksoftirqd threads
# (/proc/PID/stat; with tick accounting softirq time is charged to the task
# it interrupted, so this covers the network stack's work), per payload
# byte delivered (rr: both directions). The three processes share one CPU
# (PIN_CPU, default 1; empty: unpinned): on two CPUs where the scheduler
# puts them changes a run's result twofold, pinned a run measures the
# path's cost. The machine's busy time beyond that
# (/proc/stat) is other work on the machine: reported as noise. Before
# each run it waits (up to a minute) for the machine to be nearly idle
# (bench/lib.sh: bench_quiet), and a run during which other work took
# more than OTHERS_MAX % of the machine is done again (ATTEMPTS in all).
#
# Writes bench/results/sockmap.json (every run, the medians) and
# bench/results/sockmap.md (the table). Reports medians of ROUNDS runs.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
. tests/lib/node.sh
. bench/lib.sh

RUN_SECONDS=${RUN_SECONDS:-5}
# client, ztunnel-sim and server on one CPU (empty: wherever they run)
PIN_CPU=${PIN_CPU-1}
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-64 4096 65536}
MODES=${MODES:-stream rr}
ATTEMPTS=${ATTEMPTS:-3}
OTHERS_MAX=${OTHERS_MAX:-20}
CONFIGS="tcp loop all"
PORT=9100
OUT_JSON=${OUT_JSON:-bench/results/sockmap.json}
OUT_MD=${OUT_MD:-bench/results/sockmap.md}
HZ=$(getconf CLK_TCK)

die() {
	printf 'bench/sockmap: %s\n' "$*" >&2
	[ -n "${WORK:-}" ] && node_logs >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, BPF, cgroups)"
for b in redirectd redirectctl ztunnel-sim bench/sockmap_load; do
	[ -x "$BUILD/$b" ] || die "$BUILD/$b not built: run make"
done

# utime+stime of a process, in clock ticks
proc_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# utime+stime of the ksoftirqd threads, in clock ticks
ksoftirqd_ticks() {
	for p in $(pgrep -x 'ksoftirqd/[0-9]*'); do
		proc_ticks "$p"
	done | awk '{ t += $1 } END { print t + 0 }'
}

# ztunnel-sim's read and write calls, bytes read, voluntary context switches
# (its sleeps in epoll_wait, so its wake-ups)
# as a JSON array [rchar, syscr, syscw, wake-ups]
zt_io() {
	awk '/^(rchar|syscr|syscw):/ { printf "%s,", $2 }' "/proc/$ZT_PID/io"
	awk '/^voluntary_ctxt_switches:/ { print $2 }' "/proc/$ZT_PID/status"
}

# busy clock ticks of the whole machine
machine_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

counter() {
	ctl -j stats | jq -r ".counters[] | select(.program == \"$1\" and
		.decision == \"$2\") | .$3"
}

config_args() {
	case $1 in
	tcp) echo "--no-sockmap" ;;
	loop) echo "--sockmap-pods off" ;;
	all) echo "--sockmap-pods on" ;;
	esac
}

use_config() {
	if [ -n "${REDIRECTD_PID:-}" ]; then
		kill "$REDIRECTD_PID"
		wait "$REDIRECTD_PID" 2>/dev/null
	fi
	# shellcheck disable=SC2046
	node_start_redirectd --cgroup "$CGROUP" $(config_args "$1") ||
		die "redirectd ($1)"
	[ "$1" = tcp ] && return 0
	[ "$(ctl -j status | jq -r .sockmap_active)" = true ] ||
		die "sockmap acceleration is off: $(ctl -j status | jq -r .sockmap_reason)"
}

# one_run CONFIG MODE SIZE ROUND: one measurement, one JSON line
one_run() {
	cfg=$1 mode=$2 size=$3 round=$4
	# a shared machine: wait (up to a minute) until other work is quiet
	busy=$(bench_quiet 60)
	z0=$(proc_ticks "$ZT_PID")
	s0=$(proc_ticks "$SRV_PID")
	k0=$(ksoftirqd_ticks)
	io0=$(zt_io)
	m0=$(machine_ticks)
	r0=$(counter sk_msg redirect_peer bytes)
	f0=$(counter sk_msg pass_peer_backlog bytes)
	# shellcheck disable=SC2086
	out=$(in_pod a ${PIN_CPU:+taskset -c $PIN_CPU} \
		"$BUILD/bench/sockmap_load" "$mode" --to "$B4" \
		--port "$PORT" --size "$size" --seconds "$RUN_SECONDS") ||
		die "$cfg $mode $size: $out"
	z1=$(proc_ticks "$ZT_PID")
	s1=$(proc_ticks "$SRV_PID")
	k1=$(ksoftirqd_ticks)
	io1=$(zt_io)
	m1=$(machine_ticks)
	r1=$(counter sk_msg redirect_peer bytes)
	f1=$(counter sk_msg pass_peer_backlog bytes)
	printf '%s\n' "$out" | jq -c --arg cfg "$cfg" --argjson round "$round" \
		--argjson cpus "$(nproc)" --argjson busy "$busy" \
		--argjson zt "$((z1 - z0))" --argjson srv "$((s1 - s0))" \
		--argjson ksoftirqd "$((k1 - k0))" \
		--argjson io0 "[$io0]" --argjson io1 "[$io1]" \
		--argjson machine "$((m1 - m0))" --argjson hz "$HZ" \
		--argjson redirected "$((r1 - r0))" \
		--argjson fallback "$((f1 - f0))" '
		. + {config: $cfg, round: $round, busy_before_pct: $busy,
		     payload: (if .mode == "stream" then .received
			       else 2 * .size * .transactions end)}
		| . + {rate: (if .mode == "stream"
				then .payload / .seconds / 1e6
				else .transactions / .seconds end),
		       cpu_path_s: (.cpu_s + ($zt + $srv + $ksoftirqd) / $hz),
		       cpu_ztunnel_s: ($zt / $hz),
		       cpu_machine_s: ($machine / $hz),
		       redirected_bytes: $redirected,
		       fallback_bytes: $fallback,
		       zt_bytes_per_read: (($io1[0] - $io0[0]) /
			   ([1, $io1[1] - $io0[1]] | max)),
		       zt_calls: ($io1[1] - $io0[1] + $io1[2] - $io0[2]),
		       zt_wakeups: ($io1[3] - $io0[3])}
		| . + {ns_per_byte: (.cpu_path_s * 1e9 / .payload),
		       zt_calls_per_unit: (.zt_calls / (if .mode == "rr"
			   then .transactions else .payload / 1e6 end)),
		       zt_wakeups_per_unit: (.zt_wakeups / (if .mode == "rr"
			   then .transactions else .payload / 1e6 end)),
		       others_cpu_share: ((.cpu_machine_s - .cpu_path_s
			| if . < 0 then 0 else . end) / .seconds / $cpus)}'
}

# measure CONFIG MODE SIZE ROUND: one_run, again (up to ATTEMPTS times in
# all) while other work kept more than OTHERS_MAX % of the machine busy
measure() {
	for attempt in $(seq "$ATTEMPTS"); do
		run=$(one_run "$@") || return 1
		printf '%s\n' "$run" | jq -e --argjson max "$OTHERS_MAX" \
			'.others_cpu_share * 100 <= $max' >/dev/null && break
	done
	printf '%s\n' "$run" | jq -c --argjson a "$attempt" '. + {attempts: $a}'
}

node_init "$BUILD"
node_cgroup || die "no cgroup v2"
mkdir -p "$(dirname "$OUT_JSON")"
REDIRECTD_PID=
use_config tcp
ztunnel_start zt || die ztunnel
for p in a b; do
	pod_create "$p" || die "pod $p"
	pod_enrol "$p" >/dev/null || die "enrol $p"
done
node_bg "$RUN-b" "$BUILD/bench/sockmap_load" server --port "$PORT" \
	--ready "$WORK/b.ready"
SRV_PID=$LAST_PID
for _ in $(seq 100); do [ -f "$WORK/b.ready" ] && break; sleep 0.05; done
[ -f "$WORK/b.ready" ] || die "load server"
if [ -n "$PIN_CPU" ]; then
	taskset -pc "$PIN_CPU" "$ZT_PID" >/dev/null &&
		taskset -pc "$PIN_CPU" "$SRV_PID" >/dev/null || die "taskset"
fi
B4=$(pod_ip b 4)

: >"$WORK/runs.json"
for round in $(seq "$ROUNDS"); do
	for cfg in $CONFIGS; do
		use_config "$cfg"
		for size in $SIZES; do
			for mode in $MODES; do
				measure "$cfg" "$mode" "$size" "$round" \
					>>"$WORK/runs.json" || exit 1
				printf 'round %s %-4s %-6s %6s B: %s\n' "$round" \
					"$cfg" "$mode" "$size" "$(tail -n 1 \
					"$WORK/runs.json" | jq -r '"\(.rate |
					. * 100 | round / 100) (others \(
					.others_cpu_share * 100 | round)%)"')" >&2
			done
		done
	done
done
SELFTEST=$(ctl -j status | jq -c '{pods: .sockmap_pods, note: .sockmap_pods_reason}')

# medians per mode, size and configuration, with the range
jq -s --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" \
	--argjson seconds "$RUN_SECONDS" --argjson rounds "$ROUNDS" \
	--arg pin "${PIN_CPU:-none}" \
	--argjson selftest "$SELFTEST" --arg date "$(date -u +%FT%TZ)" '
	def median: sort | if length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	. as $runs
	| [group_by([.mode, .size, .config])[] | {
		mode: .[0].mode, size: .[0].size, config: .[0].config,
		rate: ([.[].rate] | median),
		rate_min: ([.[].rate] | min), rate_max: ([.[].rate] | max),
		ns_per_byte: ([.[].ns_per_byte] | median),
		cpu_ztunnel_s: ([.[].cpu_ztunnel_s] | median),
		redirected_share: ([.[] | .redirected_bytes / .payload] | median),
		fallback_bytes: ([.[].fallback_bytes] | median),
		zt_bytes_per_read: ([.[].zt_bytes_per_read] | median),
		zt_calls_per_unit: ([.[].zt_calls_per_unit] | median),
		zt_wakeups_per_unit: ([.[].zt_wakeups_per_unit] | median),
		others_cpu_share: ([.[].others_cpu_share] | median)}] as $m
	| {date: $date, kernel: $kernel, cpus: $cpus,
	   seconds_per_run: $seconds, rounds: $rounds, pinned_cpu: $pin,
	   redirectd_selftest: $selftest,
	   units: {stream: "MB/s received", rr: "transactions/s",
		   ns_per_byte: "CPU ns per payload byte: client, ztunnel-sim, server, ksoftirqd",
		   others_cpu_share: "share of the machine busy with other work during the run"},
	   others_cpu_share: ([$runs[].others_cpu_share] | median),
	   medians: $m, runs: $runs}' "$WORK/runs.json" >"$OUT_JSON" ||
	die "summary"

# The Markdown tables, from the JSON.
jq -r '
	def r(x): if x >= 100 then (x | round | tostring)
		else (x * 10 | round / 10 | tostring) end;
	def pct(a; b): ((a / b - 1) * 100 | round) as $p
		| (if $p > 0 then "+" else "" end) + ($p | tostring) + "%";
	def rng(c): "\(r(c.rate)) (\(r(c.rate_min))-\(r(c.rate_max)))";
	def cells: group_by([.mode, .size])
		| sort_by(.[0].mode == "rr", .[0].size)[]
		| map({key: .config, value: .}) | from_entries;
	"Measured \(.date), Linux \(.kernel), \(.cpus) CPUs, one connection pod a -> ztunnel stand-in (15001 -> its 15008) -> pod b, the three processes \(if .pinned_cpu == "none" then "unpinned" else "on CPU \(.pinned_cpu)" end); median (min-max) of \(.rounds) runs of \(.seconds_per_run) s per cell, the three configurations interleaved. Other work kept \(.others_cpu_share * 100 | round)% of the machine busy during the runs (median).",
	"",
	"| load | size | TCP (tc only) | sockmap, ztunnel loop | sockmap, all legs | loop vs TCP | all vs TCP |",
	"|---|---:|---:|---:|---:|---:|---:|",
	(.medians | cells
	 | "| \(.tcp.mode)\(if .tcp.mode == "stream" then ", MB/s" else ", trans/s" end) | \(.tcp.size) B | \(rng(.tcp)) | \(rng(.loop)) | \(rng(.all)) | \(pct(.loop.rate; .tcp.rate)) | \(pct(.all.rate; .tcp.rate)) |"),
	"",
	"CPU time of the path per payload byte (ns; client, ztunnel stand-in, server, ksoftirqd), the payload share redirected (1 = one leg, 3 = all three) and the bytes sent by TCP after a backlog fallback:",
	"",
	"| load | size | ns/B TCP | ns/B loop | ns/B all | redirected, loop | redirected, all | fallback bytes, all |",
	"|---|---:|---:|---:|---:|---:|---:|---:|",
	(.medians | cells
	 | "| \(.tcp.mode) | \(.tcp.size) B | \(r(.tcp.ns_per_byte)) | \(r(.loop.ns_per_byte)) | \(r(.all.ns_per_byte)) | \(.loop.redirected_share * 100 | round / 100) | \(.all.redirected_share * 100 | round / 100) | \(.all.fallback_bytes) |"),
	"",
	"The ztunnel stand-in (/proc/PID/io, /proc/PID/status): bytes per read, read+write calls and wake-ups per MB (stream) or per transaction (rr):",
	"",
	"| load | size | bytes/read TCP | loop | all | calls TCP | loop | all | wake-ups TCP | loop | all |",
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
	(.medians | cells
	 | "| \(.tcp.mode) | \(.tcp.size) B | \(r(.tcp.zt_bytes_per_read)) | \(r(.loop.zt_bytes_per_read)) | \(r(.all.zt_bytes_per_read)) | \(r(.tcp.zt_calls_per_unit)) | \(r(.loop.zt_calls_per_unit)) | \(r(.all.zt_calls_per_unit)) | \(r(.tcp.zt_wakeups_per_unit)) | \(r(.loop.zt_wakeups_per_unit)) | \(r(.all.zt_wakeups_per_unit)) |")
	' "$OUT_JSON" >"$OUT_MD" || die "table"
cat "$OUT_MD"
