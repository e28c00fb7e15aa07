#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Control-plane speed: enrol N fake pods in redirectd and remove them again,
# one request at a time on one connection (bench/ctlplane.c times each),
# for each size; against the same attach done by running tc (and bpftool,
# for the map entries) per pod. Also redirectd's resident memory at each
# size and, at the largest, how long a restart takes until it answers
# again with every pod reconciled.
#
# The fake pods: each has a network namespace of its own ($RUN-cp<i>)
# holding eth0, whose veth peer cp<i> sits in the node netns, as CNI
# plugins leave them. Made in batches (ip -batch): at 10000 pods that
# takes about 20 s and 3.3 GB of kernel memory on the 2-vCPU machine the
# published numbers (docs/performance.md) come from, so redirectd does the real work per pod:
# entering the pod's netns, finding eth0 and its peer.
#
#   sh bench/ctlplane.sh BUILD OUT_DIR     writes OUT_DIR/ctlplane.json
#   (CTL_NAME=ctlplane_tcx: OUT_DIR/ctlplane_tcx.json instead)
# The baseline's cost per pod grows with the number of interfaces in the
# node netns (each tc command first dumps every link: about 0.8 s per
# command with 10000), so it runs for at most CTL_BASELINE_S seconds
# (default 60) per size, on the first pods, with all the size's interfaces
# present: its per-pod figures hold for the size, its total for the size
# would be an extrapolation and is not given.
#
# Against Istio's in-pod setup too (Istio ambient 1.21+): per pod, enter
# its netns and iptables-restore the in-pod rule set, IPv4 and IPv6
# (inpod_rules, bench/lib.sh), as istio-cni's agent does; and the same rule
# set as one `nft -f` (inpod_nft_rules). At the sizes in CTL_INPOD_SIZES
# (default "100 1000"; smoke "10"; "" for none), the same rounds, on the same pods, in
# the same run, each round allowed CTL_INPOD_S / ROUNDS seconds (default
# 150 s per size and variant).
#
# Sizes: CTL_SIZES (default "100 1000 10000"), BENCH_SMOKE=1: "10".
# CTL_ATTACH: redirectd's --attach (default auto: tc on these veths;
# CTL_ATTACH=tcx measures TCX links, see docs/datapath.md, "Attach modes").
# Rounds per size: CTL_ROUNDS (default 5, smoke 2); the median round is
# reported, with every round's mean beside it.
set -u
BUILD=${1:-build}
OUT=${2:-bench/results}
# Every process here (redirectd, the client, the baseline's tc and bpftool)
# on one CPU, the last, as bench/mesh.sh does: on two vCPUs the cross-CPU
# wake-ups of a request were the noisiest part of a 100 us round trip.
# Both sides get the same CPU. CTL_CPUS="" leaves the scheduler free.
CPUS=${CTL_CPUS-$(($(nproc) - 1))}
if [ -n "$CPUS" ] && [ "$(nproc)" -gt 1 ] && [ -z "${CTL_PINNED:-}" ]; then
	CTL_PINNED=$CPUS exec taskset -c "$CPUS" sh "$0" "$@"
fi
cd "$(dirname "$0")/.." || exit 1
. tests/lib/node.sh
. bench/lib.sh

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
	SIZES=${CTL_SIZES:-10}
	INPOD_SIZES=${CTL_INPOD_SIZES-10}
else
	SIZES=${CTL_SIZES:-100 1000 10000}
	INPOD_SIZES=${CTL_INPOD_SIZES-100 1000}
fi
INPOD_S=${CTL_INPOD_S:-150}
MAX=$(echo "$SIZES" | tr ' ' '\n' | sort -n | tail -n 1)
BASE_S=${CTL_BASELINE_S:-60}
ROUNDS=${CTL_ROUNDS:-5}
[ "${BENCH_SMOKE:-0}" = 1 ] && ROUNDS=${CTL_ROUNDS:-2}
CAPACITY=32768 # pod addresses: two per pod, 10000 pods
CTLP=$BUILD/bench/ctlplane

bench_need_root
for b in redirectd redirectctl bench/ctlplane; do
	[ -x "$BUILD/$b" ] || bench_die "$BUILD/$b not built"
done
command -v tc >/dev/null && command -v bpftool >/dev/null ||
	bench_die "tc and bpftool needed for the baseline"
for c in iptables-restore ip6tables-restore; do
	command -v "$c" >/dev/null || bench_die "$c needed for the in-pod baseline"
done

# make_pods N, remove_pods: tests/lib/node.sh (node_bulk_pods)
make_pods() {
	node_bulk_pods "$1"
}

remove_pods() {
	node_bulk_remove
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# Start redirectd; START_MS: how long until it answered. Its start-up
# reconciliation runs before it serves, so that is restart-and-reconcile.
# (Not in $(...): the daemon must stay this shell's child.)
daemon_start() {
	t0=$(now_ms)
	node_bg "$NODE_NS" "$BUILD/redirectd" --socket "$SOCK" --bpffs "$PIN" \
		--state "$STATE" --pod-capacity "$CAPACITY" --no-sockmap \
		--attach "${CTL_ATTACH:-auto}"
	REDIRECTD_PID=$LAST_PID
	while ! ctl status >/dev/null 2>&1; do
		kill -0 "$REDIRECTD_PID" 2>/dev/null ||
			bench_die "redirectd exited"
		[ $(($(now_ms) - t0)) -lt 600000 ] ||
			bench_die "redirectd did not answer in 10 minutes"
		sleep 0.01
	done
	START_MS=$(($(now_ms) - t0))
}

enrolled() {
	ctl -j status | jq .pods
}

# The round with the median mean latency, and every round's mean in run
# order: a 100-pod round lasts under 10 ms, so one disturbance can skew it.
# median_round FILE (one JSON result per line)
median_round() {
	jq -sc '. as $all | sort_by(.mean_us) | .[(length / 2 | floor)] +
		{ rounds_mean_us: [$all[].mean_us] }' "$1"
}

# One size: ROUNDS of ours (add, then delete: the first also measures
# memory and, at the largest size, the restart), then ROUNDS of the
# baseline, each allowed BASE_S / ROUNDS seconds.
run_size() {
	n=$1
	t0=$(now_ms)
	make_pods "$n" || bench_die "creating $n pods"
	setup_ms=$(($(now_ms) - t0))
	bench_stop "$REDIRECTD_PID"
	rm -f "$STATE"
	daemon_start
	rss_empty=$(rss_kib "$REDIRECTD_PID")
	restart=null
	: >"$WORK/add.jsonl"
	: >"$WORK/del.jsonl"
	: >"$WORK/tc_add.jsonl"
	: >"$WORK/tc_del.jsonl"
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		"$CTLP" add --socket "$SOCK" --count "$n" \
			--netns-prefix "$RUN-cp" >>"$WORK/add.jsonl" ||
			bench_die "add $n (round $r)"
		[ "$(enrolled)" = "$n" ] ||
			bench_die "$n pods: $(enrolled) enrolled"
		if [ "$r" = 1 ]; then
			rss_full=$(rss_kib "$REDIRECTD_PID")
			[ "$n" = "$MAX" ] && measure_restart "$n"
		fi
		"$CTLP" del --socket "$SOCK" --count "$n" >>"$WORK/del.jsonl" ||
			bench_die "del $n (round $r)"
		[ "$(enrolled)" = 0 ] ||
			bench_die "$(enrolled) pods left after delete"
		r=$((r + 1))
	done
	# the same filter slot as redirectd's
	slot="--pref $(ctl -j status | jq .tc_priority)"
	slot="$slot --handle $(ctl -j status | jq .tc_handle)"
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		# shellcheck disable=SC2086
		tc_add=$(in_node "$CTLP" tc-add --count "$n" \
			--pins "$PIN/baseline" \
			--max-seconds "$((BASE_S / ROUNDS + 1))" $slot) ||
			bench_die "baseline add: $tc_add"
		echo "$tc_add" >>"$WORK/tc_add.jsonl"
		k=$(echo "$tc_add" | jq .count)
		# shellcheck disable=SC2086
		in_node "$CTLP" tc-del --count "$k" --pins "$PIN/baseline" \
			$slot >>"$WORK/tc_del.jsonl" ||
			bench_die "baseline del $k"
		r=$((r + 1))
	done
	inpod=null
	case " $INPOD_SIZES " in *" $n "*) inpod_size "$n" ;; esac
	add=$(median_round "$WORK/add.jsonl")
	del=$(median_round "$WORK/del.jsonl")
	tc_add=$(median_round "$WORK/tc_add.jsonl")
	tc_del=$(median_round "$WORK/tc_del.jsonl")
	k=$(echo "$tc_add" | jq .count)
	jq -nc --argjson n "$n" --argjson setup "$setup_ms" --argjson k "$k" \
		--argjson add "$add" --argjson del "$del" \
		--argjson tc_add "$tc_add" --argjson tc_del "$tc_del" \
		--argjson e "$rss_empty" --argjson f "$rss_full" \
		--argjson restart "$restart" --argjson rounds "$ROUNDS" \
		--argjson inpod "$inpod" \
		'{pods: $n, rounds: $rounds, setup_ms: $setup, add: $add,
		  del: $del, baseline_pods: $k, baseline_add: $tc_add,
		  baseline_del: $tc_del, rss_kib: {empty: $e, enrolled: $f},
		  restart: $restart, inpod: $inpod}' \
		>>"$SAMPLES"
	printf '  %5d pods: add %6.0f/s (p50 %s us), del %6.0f/s; tc %4.0f/s; rss %s KiB\n' \
		"$n" "$(echo "$add" | jq .per_s)" "$(echo "$add" | jq .p50_us)" \
		"$(echo "$del" | jq .per_s)" \
		"$(echo "$tc_add" | jq .tc_only.per_s)" "$rss_full" >&2
}

# The in-pod rule files, once.
inpod_files() {
	[ -f "$WORK/inpod4.rules" ] && return 0
	inpod_rules 4 >"$WORK/inpod4.rules"
	inpod_rules 6 >"$WORK/inpod6.rules"
	inpod_nft_rules >"$WORK/inpod.nft"
	printf '*mangle\nCOMMIT\n*nat\nCOMMIT\n' >"$WORK/flush.rules"
	echo "delete table inet ar_inpod" >"$WORK/flush.nft"
}

# inpod_rounds NAME N CMD...: ROUNDS of setting up the first N pods with
# CMDs, each round undone (all the pods it reached) before the next;
# prints the median round, with every round's mean, and "pods": how
# many pods each round reached at most
inpod_rounds() {
	name=$1 n=$2
	shift 2
	: >"$WORK/inpod_$name.jsonl"
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		out=$("$CTLP" inpod-add --count "$n" --netns-prefix "$RUN-cp" \
			--max-seconds "$((INPOD_S / ROUNDS + 1))" "$@") ||
			bench_die "in-pod $name add: $out"
		echo "$out" >>"$WORK/inpod_$name.jsonl"
		k=$(echo "$out" | jq .count)
		if [ "$name" = nft ]; then
			"$CTLP" inpod-del --count "$k" --netns-prefix "$RUN-cp" \
				--cmd "nft -f $WORK/flush.nft" >/dev/null
		else
			"$CTLP" inpod-del --count "$k" --netns-prefix "$RUN-cp" \
				--cmd "iptables-restore $WORK/flush.rules" \
				--cmd "ip6tables-restore $WORK/flush.rules" >/dev/null
		fi || bench_die "in-pod $name flush"
		r=$((r + 1))
	done
	median_round "$WORK/inpod_$name.jsonl"
}

# One size against Istio's in-pod setup: iptables-restore per family,
# and nft -f, inside each pod's netns. Sets $inpod.
inpod_size() {
	inpod_files
	ipt=$(inpod_rounds iptables "$1" \
		--cmd "iptables-restore $WORK/inpod4.rules" \
		--cmd "ip6tables-restore $WORK/inpod6.rules")
	nftr=null
	if command -v nft >/dev/null; then
		nftr=$(inpod_rounds nft "$1" --cmd "nft -f $WORK/inpod.nft")
	fi
	inpod=$(jq -nc --argjson i "$ipt" --argjson f "$nftr" \
		'{iptables: $i, nft: $f}')
	printf '  %5d pods, in-pod setup: iptables-restore %6.1f/s (p50 %s us, first %s pods), nft %s/s\n' \
		"$1" "$(echo "$ipt" | jq .per_s)" "$(echo "$ipt" | jq .p50_us)" \
		"$(echo "$ipt" | jq .count)" "$(echo "$nftr" | jq '.per_s // "-"')" >&2
}

# kill -9 with N pods enrolled, start again: restart-and-reconcile.
measure_restart() {
	bench_stop "$REDIRECTD_PID" KILL
	daemon_start
	[ "$(enrolled)" = "$1" ] ||
		bench_die "after restart: $(enrolled) of $1 pods"
	restart=$(jq -nc --argjson ms "$START_MS" --argjson n "$1" \
		--argjson rss "$(rss_kib "$REDIRECTD_PID")" \
		'{pods: $n, reconcile_ms: $ms, rss_kib_after: $rss}')
}

node_init "$BUILD"
SAMPLES=$WORK/samples.jsonl
: >"$SAMPLES"
trap 'remove_pods; node_cleanup' EXIT
REDIRECTD_PID=""
daemon_start
"$CTLP" pin "$PIN/baseline" "$CAPACITY" || bench_die "pinning the baseline"
for n in $(echo "$SIZES" | tr ' ' '\n' | sort -n); do
	run_size "$n"
done
mkdir -p "$OUT"
NAME=${CTL_NAME:-ctlplane}
jq -s --arg kernel "$(uname -r)" --argjson max "$MAX" \
	--arg attach "${CTL_ATTACH:-auto}" \
	-f bench/ctlplane_summary.jq "$SAMPLES" >"$OUT/$NAME.json.tmp" &&
	mv "$OUT/$NAME.json.tmp" "$OUT/$NAME.json" || bench_die "summary"
echo "ctlplane: wrote $OUT/$NAME.json" >&2
