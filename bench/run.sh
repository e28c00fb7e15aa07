#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make bench: every benchmark, one after the other, results as JSON and
# Markdown under bench/results/ (and the mesh plot, mesh.png).
#
#   sh bench/run.sh BUILD
#   BENCH_SMOKE=1   tiny sizes, seconds (what tests/e2e/test_bench_smoke.sh
#                   runs); results in BUILD/bench-smoke unless BENCH_OUT
#   BENCH_OUT=DIR   write the results there instead
#   BENCH_ONLY="prog_cost mesh ctlplane attach_cost"   a subset
#
# Benchmarks are not tests: nothing here fails on a slow number, only on a
# benchmark that could not run or did not measure what it claims.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 1
. tests/lib/kernel.sh
SMOKE=${BENCH_SMOKE:-0}
# A smoke run never writes over the committed results.
if [ "$SMOKE" = 1 ]; then
	OUT=${BENCH_OUT:-$BUILD/bench-smoke}
else
	OUT=${BENCH_OUT:-bench/results}
fi
ONLY=${BENCH_ONLY:-prog_cost mesh ctlplane attach_cost}
failed=""

[ "$(id -u)" = 0 ] || { echo "make bench needs root (namespaces, BPF)" >&2; exit 1; }

# gnuplot draws the plot; installed on demand here, not for make test (a
# smoke run without it just has no plot).
have_gnuplot() {
	command -v gnuplot >/dev/null && return 0
	[ "$SMOKE" = 1 ] && return 1
	echo "bench: installing gnuplot-nox" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends gnuplot-nox >/dev/null 2>&1 ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends \
			gnuplot-nox >/dev/null; }
	command -v gnuplot >/dev/null
}

step() {
	name=$1
	shift
	case " $ONLY " in *" $name "*) ;; *) return 0 ;; esac
	echo "=== bench: $name" >&2
	t0=$(date +%s)
	"$@" || failed="$failed $name"
	echo "=== bench: $name done in $(($(date +%s) - t0)) s" >&2
}

prog_cost() {
	if [ "$SMOKE" = 1 ]; then
		set -- --repeat 2000 --rounds 3
	else
		set -- --repeat 1000000 --rounds 7
	fi
	"$BUILD/bench/prog_cost" "$@" --json "$OUT/prog_cost.json.tmp" &&
		mv "$OUT/prog_cost.json.tmp" "$OUT/prog_cost.json"
}

attach_cost() {
	if [ "$SMOKE" = 1 ]; then
		set -- --count 3
	else
		set -- --count 200
	fi
	"$BUILD/bench/attach_cost" "$@" --json "$OUT/attach_cost.json.tmp" &&
		mv "$OUT/attach_cost.json.tmp" "$OUT/attach_cost.json"
}

# Both attach modes: tc (cls_bpf filters) at every size, with Istio's
# in-pod setup beside it at 100 and 1000 pods, then TCX links (without
# the in-pod baseline, measured once) at the smaller sizes (a TCX attach costs an RCU grace period on some
# kernels: 24 ms per pod, two links, measured on one; docs/datapath.md,
# "Attach modes").
ctlplane() {
	CTL_ATTACH=tc sh bench/ctlplane.sh "$BUILD" "$OUT" || return 1
	if ! kernel_has_tcx
	then
		echo "bench: ctlplane with TCX skipped (needs Linux 6.6+)" >&2
	elif [ "$SMOKE" = 1 ]; then
		CTL_ATTACH=tcx CTL_NAME=ctlplane_tcx CTL_INPOD_SIZES="" \
			sh bench/ctlplane.sh "$BUILD" "$OUT"
	else
		CTL_ATTACH=tcx CTL_NAME=ctlplane_tcx CTL_INPOD_SIZES="" \
			CTL_SIZES=${CTL_TCX_SIZES:-100 1000} \
			sh bench/ctlplane.sh "$BUILD" "$OUT"
	fi
}

plot() {
	[ -f "$OUT/mesh.json" ] || return 0
	if ! have_gnuplot; then
		echo "bench: no gnuplot, no plot" >&2
		return 0
	fi
	sh bench/report.sh "$OUT" dat >"$SNAP/mesh.dat" &&
		gnuplot -e "data='$SNAP/mesh.dat'; out='$OUT/mesh.png'; title='mesh path, pod -> ztunnel stand-in -> pod on one node ($(uname -r))'" \
			bench/plot.gp
}

# A private copy of the binaries: a rebuild of BUILD during the run (other
# work on the tree) must not swap redirectd between two configurations.
snapshot() {
	SNAP=$(mktemp -d /tmp/bench-bin.XXXXXX) || return 1
	mkdir -p "$SNAP/bench"
	for b in redirectd redirectctl ztunnel-sim bench/prog_cost bench/rr \
		bench/ctlplane bench/attach_cost; do
		cp "$BUILD/$b" "$SNAP/$b" || return 1
	done
	BUILD=$SNAP
}

SNAP=""
trap '[ -n "$SNAP" ] && rm -rf "$SNAP"' EXIT
snapshot || { echo "bench: $BUILD is not built: run make" >&2; exit 1; }
mkdir -p "$OUT"
step prog_cost prog_cost
step mesh sh bench/mesh.sh "$BUILD" "$OUT"
step ctlplane ctlplane
step attach_cost attach_cost
sh bench/report.sh "$OUT"
plot || failed="$failed plot"
for f in "$OUT"/*.md; do
	[ -f "$f" ] && { echo; cat "$f"; }
done
if [ -n "$failed" ]; then
	echo "bench: failed:$failed" >&2
	exit 1
fi
echo "bench: results in $OUT" >&2
