#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Where a PodAdd's time goes (docs/performance.md, "Enrolment"): N fake
# pods (tests/lib/node.sh's node_bulk_pods, as bench/ctlplane.sh makes
# them) enrolled one after another through one connection, twice; the
# second round runs under `perf record --call-graph dwarf` on redirectd
# alone. Everything on one CPU, as bench/ctlplane.sh runs it.
#
#   sh bench/add_profile.sh BUILD OUT_DIR [N]     (N: 1000)
# writes OUT_DIR/add.json (bench/ctlplane's timing of the profiled round),
# OUT_DIR/cpu.txt (redirectd's CPU time per add, perf stat's task-clock)
# and OUT_DIR/inclusive.txt (perf report, inclusive by symbol).
set -u
BUILD=${1:-build}
OUT=${2:-/tmp/add-profile}
N=${3:-1000}
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
CPU=$(($(nproc) - 1))
if [ -z "${ADD_PROFILE_PINNED:-}" ]; then
	ADD_PROFILE_PINNED=1 exec taskset -c "$CPU" sh "$0" "$@"
fi
cd "$(dirname "$0")/.." || exit 1
. tests/lib/node.sh

[ "$(id -u)" = 0 ] || { echo "add_profile: needs root" >&2; exit 1; }
command -v perf >/dev/null || { echo "add_profile: needs perf" >&2; exit 1; }
mkdir -p "$OUT"
node_init "$BUILD"
perf_pids=""
# shellcheck disable=SC2086
trap '[ -n "$perf_pids" ] && kill $perf_pids 2>/dev/null; rm -f "$OUT/add.perf"; node_cleanup' EXIT
# a stuck redirectd must not hold the script (and a profiler) forever
C="timeout 600 $BUILD/bench/ctlplane"
node_bulk_pods "$N" || exit 1
node_start_redirectd --pod-capacity $((N * 2 + 100)) --no-sockmap || exit 1
# round 1 warms up (the first round after the netns are made is slower)
# shellcheck disable=SC2086
$C add --socket "$SOCK" --count "$N" --netns-prefix "$RUN-cp" >/dev/null &&
	$C del --socket "$SOCK" --count "$N" >/dev/null || exit 1
perf record -q --call-graph dwarf,16384 -F 4999 -p "$REDIRECTD_PID" \
	-o "$OUT/add.perf" 2>"$OUT/perf.log" &
perf_pids=$!
# redirectd's CPU time, counted (not inferred from the sampling rate)
perf stat -x, -e task-clock -p "$REDIRECTD_PID" -o "$OUT/stat.csv" \
	2>>"$OUT/perf.log" &
perf_pids="$perf_pids $!"
sleep 0.5
# shellcheck disable=SC2086
$C add --socket "$SOCK" --count "$N" --netns-prefix "$RUN-cp" \
	>"$OUT/add.json" || exit 1
# shellcheck disable=SC2086
kill -INT $perf_pids
for pid in $perf_pids; do
	wait "$pid"
done
perf_pids=""
# shellcheck disable=SC2086
$C del --socket "$SOCK" --count "$N" >/dev/null
# task-clock in ms, over the profiled round (and the 0.5 s before it)
awk -F, -v n="$N" '$3 == "task-clock" {
	printf "redirectd on the CPU: %.0f us per add (task-clock %.1f ms)\n",
		$1 * 1000 / n, $1 }' "$OUT/stat.csv" >"$OUT/cpu.txt"
perf report -i "$OUT/add.perf" --children --sort sym --stdio -g none \
	2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 120 >"$OUT/inclusive.txt"
rm -f "$OUT/add.perf"
cat "$OUT/add.json" "$OUT/cpu.txt"
echo "add_profile: $OUT/inclusive.txt" >&2
