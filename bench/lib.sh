#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the benchmark scripts (sourced after tests/lib/node.sh).

bench_die() {
	printf 'bench: %s\n' "$*" >&2
	command -v node_logs >/dev/null && [ -n "${WORK:-}" ] && node_logs >&2
	exit 1
}

bench_need_root() {
	[ "$(id -u)" = 0 ] || bench_die "needs root (network namespaces, BPF)"
}

# bench_stop PID [SIGNAL]: stop a background process we started and forget
# it, so the final cleanup never signals a pid that may have been reused.
bench_stop() {
	[ -n "$1" ] || return 0
	kill -s "${2:-TERM}" "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	NODE_PIDS=$(printf ' %s ' "$NODE_PIDS" | sed "s/ $1 / /")
}

# A per-run cgroup v2 folder under the cgroup2 mount (from /proc/mounts),
# in BENCH_CG. Not node.sh's CGROUP: a bench chooses per configuration
# which processes join it. Fails when there is no cgroup2.
bench_cgroup_make() {
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -n "$mnt" ] || return 1
	mkdir "$mnt/$RUN-bench" || return 1
	BENCH_CG=$mnt/$RUN-bench
}

# Only this run's processes were ever moved into BENCH_CG (or a child).
bench_cgroup_remove() {
	[ -n "${BENCH_CG:-}" ] && [ -d "$BENCH_CG" ] || return 0
	for cg in "$BENCH_CG"/*/ "$BENCH_CG"; do
		[ -f "$cg/cgroup.procs" ] || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			pids=$(cat "$cg/cgroup.procs" 2>/dev/null)
			[ -z "$pids" ] && break
			for pid in $pids; do kill "$pid" 2>/dev/null; done
			sleep 0.1
		done
		rmdir "$cg" 2>/dev/null
	done
}

# cg_usage_us CGROUP: CPU time used by the cgroup's processes so far
cg_usage_us() {
	awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat"
}

# now_ms: a monotonic-enough clock in milliseconds, for phase timings
now_ms() {
	date +%s%3N
}

now_us() {
	date +%s%6N
}

# How busy the whole machine was over half a second, in percent.
busy_pct() {
	s1=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	sleep 0.5
	s2=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	echo "$s1 $s2" | awk '{ b = $3 - $1; t = b + $4 - $2;
		print (t > 0 ? int(100 * b / t) : 0) }'
}

# bench_quiet [MAX_S]: before a measurement, wait (at most MAX_S, default
# 60) until the machine is nearly idle (under 15% busy), so that other
# work on a shared machine does not land in it; prints the last busy %.
bench_quiet() {
	t0=$(date +%s)
	while b=$(busy_pct) && [ "$b" -ge 15 ] &&
		[ $(($(date +%s) - t0)) -lt "${1:-60}" ]; do
		:
	done
	echo "$b"
}

