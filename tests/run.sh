#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run every test suite and add up their results.
#
# Convention: each suite prints one line "RESULT: passed=N failed=N skipped=N"
# and exits non-zero when anything failed. A suite that crashes before
# printing that line counts as one failure.
set -u
BUILD=${1:-build}
. tests/lib/kernel.sh
pass=0 fail=0 skip=0 bad="" TIMES=""

run_suite() {
	name=$1
	shift
	echo "=== $name"
	out=$(mktemp)
	t0=$(date +%s)
	"$@" 2>&1 | tee "$out"
	TIMES="$TIMES$(($(date +%s) - t0)) $name
"
	rc=$(cat "$out.rc" 2>/dev/null || echo 0)
	line=$(grep '^RESULT: ' "$out" | tail -n 1)
	if [ -z "$line" ]; then
		fail=$((fail + 1))
		bad="$bad $name(no-result)"
	else
		p=$(echo "$line" | sed -n 's/.*passed=\([0-9]*\).*/\1/p')
		f=$(echo "$line" | sed -n 's/.*failed=\([0-9]*\).*/\1/p')
		s=$(echo "$line" | sed -n 's/.*skipped=\([0-9]*\).*/\1/p')
		pass=$((pass + p))
		fail=$((fail + f))
		skip=$((skip + s))
		[ "$f" -gt 0 ] && bad="$bad $name"
	fi
	rm -f "$out" "$out.rc"
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "$(basename "$t")" "$t"
done
for t in tests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	run_suite "$(basename "$t")" sh "$t" "$BUILD"
done

# The datapath's whole-system suites once more with redirectd --attach tcx
# (TCX links at the head of the chain instead of cls_bpf filters). The
# control-plane suites (test_daemon, test_cni, test_cleanup, test_faults)
# check where cls_bpf filters and clsact qdiscs sit and stay tc-only;
# test_tcx asks the same questions of TCX links. The _bridge variants stay
# tc-only too: the bridge changes the node's forwarding, not our hooks,
# which sit on the same veths in the same order (and make test has to
# stay within 20 minutes on two CPUs).
TCX_SUITES="test_mesh test_services test_boundary test_coverage test_exclusions
test_escape test_sockmap test_probe test_upgrade"
if kernel_has_tcx; then
	for s in $TCX_SUITES; do
		run_suite "$s[tcx]" env ATTACH=tcx REDIRECTD_ARGS="--attach tcx" \
			EXCL_CORE_ONLY=1 \
			sh "tests/e2e/$s.sh" "$BUILD"
	done
else
	echo "=== the --attach tcx pass: skipped, TCX needs Linux 6.6+"
fi

echo
echo "suites by time (seconds):"
printf '%s' "$TIMES" | sort -rn | sed 's/^/  /'
[ -n "$bad" ] && echo "failing suites:$bad"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
