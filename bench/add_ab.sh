#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# PodAdd before and after a change (docs/performance.md, "Enrolment"):
# the redirectd of two builds on the same N fake pods, alternating round
# by round, so the machine's slow spells hit both alike. Each round: a
# fresh redirectd (--attach tc), a warm-up add and delete of every pod,
# then the measured add (bench/ctlplane's timing) and a delete. Everything
# on one CPU, as bench/ctlplane.sh runs it. Not part of make bench.
#
#   sh bench/add_ab.sh BUILD_A BUILD_B [N] [ROUNDS]     (N: 1000, ROUNDS: 5)
# prints one JSON line per round and build, then the median of the
# per-round ratios B / A in pods per second.
set -u
A=$1 B=$2 N=${3:-1000} ROUNDS=${4:-5}
CPU=$(($(nproc) - 1))
if [ -z "${ADD_AB_PINNED:-}" ]; then
	ADD_AB_PINNED=1 exec taskset -c "$CPU" sh "$0" "$@"
fi
cd "$(dirname "$0")/.." || exit 1
. tests/lib/node.sh

[ "$(id -u)" = 0 ] || { echo "add_ab: needs root" >&2; exit 1; }
for b in "$A" "$B"; do
	[ -x "$b/redirectd" ] && [ -x "$b/bench/ctlplane" ] ||
		{ echo "add_ab: $b has no redirectd or bench/ctlplane" >&2; exit 1; }
done
node_init "$A"
trap node_cleanup EXIT
node_bulk_pods "$N" || exit 1
C="timeout 600 $A/bench/ctlplane"
LINES=$WORK/rounds.jsonl

# one_round BUILD NAME ROUND: that build's measured add, one JSON line
# appended to LINES (not in a pipeline: an exit here must reach the trap)
one_round() {
	BUILD=$1
	node_start_redirectd --attach tc --pod-capacity $((N * 2 + 100)) \
		--no-sockmap || exit 1
	$C add --socket "$SOCK" --count "$N" --netns-prefix "$RUN-cp" >/dev/null &&
		$C del --socket "$SOCK" --count "$N" >/dev/null || exit 1
	add=$($C add --socket "$SOCK" --count "$N" --netns-prefix "$RUN-cp") ||
		exit 1
	echo "$add" | jq -ce --arg b "$2" --argjson r "$3" \
		'{round: $r, build: $b, per_s, mean_us, p50_us, p99_us}' \
		>>"$LINES" || exit 1
	tail -n 1 "$LINES"
	$C del --socket "$SOCK" --count "$N" >/dev/null || exit 1
	kill "$REDIRECTD_PID"
	wait "$REDIRECTD_PID" 2>/dev/null
	rm -f "$STATE"
}

for r in $(seq "$ROUNDS"); do
	one_round "$A" A "$r"
	one_round "$B" B "$r"
done
jq -s 'group_by(.round) | map((.[] | select(.build == "B")).per_s /
	(.[] | select(.build == "A")).per_s) | sort |
	{ratio_b_over_a: .[length / 2 | floor], rounds: length,
	 b_faster: map(select(. > 1)) | length}' "$LINES"
