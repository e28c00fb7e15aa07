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
# OUT_DIR/cpu.txt (redirectd's CPU time per add) and OUT_DIR/inclusive.txt
# (perf report, inclusive by symbol).
set -u
BUILD=${1:-build}
OUT=${2:-/tmp/add-profile}
N=${3:-1000}
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
perf_pid=""
trap '[ -n "$perf_pid" ] && kill "$perf_pid" 2>/dev/null; node_cleanup' EXIT
node_bulk_pods "$N" || exit 1
node_bg "$NODE_NS" "$BUILD/redirectd" --socket "$SOCK" --bpffs "$PIN" \
	--state "$STATE" --pod-capacity $((N * 2 + 100)) --no-sockmap
REDIRECTD_PID=$LAST_PID
for _ in $(seq 200); do
	ctl status >/dev/null 2>&1 && break
	sleep 0.05
done
C=$BUILD/bench/ctlplane
# round 1 warms up (the first round after the netns are made is slower)
"$C" add --socket "$SOCK" --count "$N" --netns-prefix "$RUN-cp" >/dev/null &&
	"$C" del --socket "$SOCK" --count "$N" >/dev/null || exit 1
perf record -q --call-graph dwarf,16384 -F 4999 -p "$REDIRECTD_PID" \
	-o "$OUT/add.perf" 2>"$OUT/perf.log" &
perf_pid=$!
sleep 0.5
"$C" add --socket "$SOCK" --count "$N" --netns-prefix "$RUN-cp" \
	>"$OUT/add.json" || exit 1
kill -INT "$perf_pid"
wait "$perf_pid"
perf_pid=""
"$C" del --socket "$SOCK" --count "$N" >/dev/null
# samples at 4999 Hz: redirectd's CPU time, per add
perf script -i "$OUT/add.perf" -F time 2>/dev/null | wc -l |
	awk -v n="$N" '{ printf "redirectd on the CPU: %.0f us per add (%d samples)\n",
		$1 / 4999 * 1e6 / n, $1 }' >"$OUT/cpu.txt"
perf report -i "$OUT/add.perf" --children --sort sym --stdio -g none \
	2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 120 >"$OUT/inclusive.txt"
rm -f "$OUT/add.perf"
cat "$OUT/add.json" "$OUT/cpu.txt"
echo "add_profile: $OUT/inclusive.txt" >&2
