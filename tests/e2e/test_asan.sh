#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The sanitizer run: build everything with ASan and UBSan (make asan, into
# BUILD/asan), then run the unit suites and the daemon's e2e suites against
# that build. Any sanitizer report fails the run: reports are written to
# files (log_path), since the daemon's stderr goes to a log that the e2e
# suite removes, and the daemon is stopped with SIGTERM, so LeakSanitizer
# checks it at exit.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh

need_root
command -v clang >/dev/null || skip_suite "clang missing"
SAN=$BUILD/asan
REPORTS=$(mktemp -d /tmp/asan-reports.XXXXXX)
LOG=$REPORTS/build.log
trap 'rm -rf "$REPORTS"' EXIT
# redirectctl also runs as nobody (SO_PEERCRED case): reports from anyone
chmod 1777 "$REPORTS"

case_begin "make asan builds everything with -fsanitize=address,undefined"
if ! make -s BUILD="$BUILD" asan >"$LOG" 2>&1; then
	fail "make asan failed"
	tail -n 30 "$LOG" | sed 's/^/  | /'
	case_end
	results
	exit 1
fi
check "redirectd is instrumented" grep -q __asan_init "$SAN/redirectd"
case_end

export ASAN_OPTIONS="log_path=$REPORTS/asan:detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:detect_invalid_pointer_pairs=1"
export UBSAN_OPTIONS="log_path=$REPORTS/ubsan:halt_on_error=1:print_stacktrace=1"

# Reports written since the last look, shown and counted as a failure.
seen=""
check_reports() {
	for f in "$REPORTS"/asan.* "$REPORTS"/ubsan.*; do
		[ -f "$f" ] || continue
		case " $seen " in *" $f "*) continue ;; esac
		seen="$seen $f"
		fail "sanitizer report $(basename "$f")"
		sed -n '1,40p' "$f" | sed 's/^/  | /'
	done
}

# run_suite NAME CMD...: a suite passes when it reports no failure, exits
# 0 and leaves no sanitizer report.
run_suite() {
	name=$1
	shift
	case_begin "$name under ASan/UBSan"
	"$@" >"$REPORTS/out" 2>&1
	rc=$?
	line=$(grep '^RESULT: ' "$REPORTS/out" | tail -n 1)
	echo "  $name: ${line:-no RESULT line} (exit $rc)"
	case $line in
	*failed=0*) [ "$rc" = 0 ] || fail "$name exited $rc" ;;
	*)
		fail "$name failed"
		grep -E '^(FAIL|  assertion)|failed' "$REPORTS/out" | head -n 20 |
			sed 's/^/  | /'
		;;
	esac
	check_reports
	case_end
}

for t in test_wire test_state test_cni test_nl test_offload; do
	[ -x "$SAN/tests/$t" ] && run_suite "$t" "$SAN/tests/$t"
done
run_suite "test_daemon.sh" sh tests/e2e/test_daemon.sh "$SAN"
run_suite "test_cni.sh" sh tests/e2e/test_cni.sh "$SAN"
# hostile peers: the closer, the netns path threads, parked requests
run_suite "test_peers.sh" sh tests/e2e/test_peers.sh "$SAN"

results
