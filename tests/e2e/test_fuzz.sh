#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run each libFuzzer harness of tests/fuzz for FUZZ_TIME seconds (default
# 15) from its seed corpus: a harness passes when it ends without a crash,
# a sanitizer report or a broken property. make fuzz runs this with
# FUZZ_TIME=600 and FUZZ_KEEP=1 (the grown corpus is kept in
# BUILD/fuzz/corpus/HARNESS and reused next time). Crash inputs are saved in
# BUILD/fuzz/artifacts; replay one with BUILD/fuzz/HARNESS FILE.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh

FUZZ_TIME=${FUZZ_TIME:-10} # make fuzz runs them for long
FUZZ_KEEP=${FUZZ_KEEP:-0}
command -v clang >/dev/null || skip_suite "clang missing"
[ -f "$BUILD/redirect.skel.h" ] || skip_suite "$BUILD not built (make)"

WORK=$(mktemp -d /tmp/fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ART=$BUILD/fuzz/artifacts
mkdir -p "$ART"

case_begin "the harnesses build (clang -fsanitize=fuzzer,address,undefined)"
if ! make -s BUILD="$BUILD" fuzz-build >"$WORK/build.log" 2>&1; then
	fail "make fuzz-build failed"
	tail -n 30 "$WORK/build.log" | sed 's/^/  | /'
fi
case_end

for h in fuzz_request fuzz_journal fuzz_cni; do
	case_begin "$h: ${FUZZ_TIME}s from tests/fuzz/corpus/$h, no crash"
	if [ ! -x "$BUILD/fuzz/$h" ]; then
		fail "$BUILD/fuzz/$h not built"
		case_end
		continue
	fi
	if [ "$FUZZ_KEEP" = 1 ]; then
		corpus=$BUILD/fuzz/corpus/$h
	else
		corpus=$WORK/corpus-$h
	fi
	mkdir -p "$corpus"
	# new inputs go to the first folder: the checked-in seeds stay as
	# they are
	"$BUILD/fuzz/$h" -max_total_time="$FUZZ_TIME" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$ART/$h-" "$corpus" "tests/fuzz/corpus/$h" \
		>"$WORK/$h.log" 2>&1
	rc=$?
	if [ "$rc" != 0 ]; then
		fail "$h exited $rc; the input is in $ART"
		grep -E 'ERROR|SUMMARY|fuzz_[a-z]*: |Test unit written' \
			"$WORK/$h.log" | head -n 10 | sed 's/^/  | /'
		grep -A 12 'ERROR' "$WORK/$h.log" | head -n 24 | sed 's/^/  | /'
	else
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$h.log")
		cov=$(grep -o 'cov: [0-9]*' "$WORK/$h.log" | tail -n 1)
		echo "  $h: ${runs:-?} runs, $cov, corpus $(ls "$corpus" | wc -l) inputs"
	fi
	case_end
done

results
