#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Minimal test harness for the shell e2e suites: named cases, assertions
# that report what they saw, and the RESULT line tests/run.sh reads.
# Variables here start with _t_ or T_: sh has no locals, and tests use
# short names of their own.

T_PASS=0
T_FAIL=0
T_SKIP=0
T_CASE=""
T_CASE_FAILED=0

case_begin() {
	T_CASE=$1
	T_CASE_FAILED=0
	printf -- '--- %s\n' "$T_CASE"
}

case_end() {
	if [ "$T_CASE_FAILED" -eq 0 ]; then
		T_PASS=$((T_PASS + 1))
		printf 'ok   %s\n' "$T_CASE"
	else
		T_FAIL=$((T_FAIL + 1))
		printf 'FAIL %s\n' "$T_CASE"
		command -v node_logs >/dev/null && node_logs
	fi
}

case_skip() {
	T_SKIP=$((T_SKIP + 1))
	printf 'skip %s: %s\n' "$1" "$2"
}

fail() {
	T_CASE_FAILED=1
	printf '  assertion failed: %s\n' "$*"
}

# check DESCRIPTION CMD...: the command must succeed
check() {
	_t_desc=$1
	shift
	if ! "$@" >/dev/null 2>&1; then
		fail "$_t_desc"
		return 1
	fi
	return 0
}

# check_not DESCRIPTION CMD...: the command must fail
check_not() {
	_t_desc=$1
	shift
	if "$@" >/dev/null 2>&1; then
		fail "$_t_desc"
		return 1
	fi
	return 0
}

# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" != "$3" ]; then
		fail "$1: expected '$2', got '$3'"
		return 1
	fi
	return 0
}

# check_gt DESCRIPTION A B: A > B (integers)
check_gt() {
	if ! [ "${2:-0}" -gt "${3:-0}" ] 2>/dev/null; then
		fail "$1: expected $2 > $3"
		return 1
	fi
	return 0
}

# check_contains DESCRIPTION HAYSTACK NEEDLE
check_contains() {
	case "$2" in
	*"$3"*) return 0 ;;
	esac
	fail "$1: '$3' not found in: $2"
	return 1
}

results() {
	echo "RESULT: passed=$T_PASS failed=$T_FAIL skipped=$T_SKIP"
	[ "$T_FAIL" -eq 0 ]
}

# Skip the whole suite (not root, feature missing) with a reason.
skip_suite() {
	echo "skipping suite: $1"
	echo "RESULT: passed=0 failed=0 skipped=1"
	exit 0
}

# poll TRIES SECONDS CMD...: CMD until it succeeds, trying up to TRIES
# times SECONDS apart; fails if it never did.
poll() {
	_t_tries=$1 _t_pause=$2
	shift 2
	for _t_i in $(seq "$_t_tries"); do
		"$@" && return 0
		sleep "$_t_pause"
	done
	return 1
}

# settle CMD...: for up to 2 s (a daemon's debounced work).
settle() {
	poll 40 0.05 "$@"
}

# settle_long CMD...: for up to 5 s (the daemon's once-a-second sweeps,
# which check a slice of the pods a tick, and the kernel's work in the
# background, such as a deleted netns's veth).
settle_long() {
	poll 50 0.1 "$@"
}

# need_root: the suite is skipped unless it runs as root.
need_root() {
	[ "$(id -u)" = 0 ] || skip_suite "needs root"
}

# need_built BIN...: the suite is skipped unless every $BUILD/BIN is built.
need_built() {
	for _t_bin in "$@"; do
		[ -x "$BUILD/$_t_bin" ] || skip_suite "$BUILD/$_t_bin not built"
	done
}

# setup_failed WHY: the suite could not set up; that is one failure. The
# simulated node's logs (tests/lib/node.sh), when there is one, are shown.
setup_failed() {
	echo "setup failed: $*"
	command -v node_logs >/dev/null 2>&1 && [ -n "${WORK:-}" ] && node_logs
	echo "RESULT: passed=0 failed=1 skipped=0"
	exit 1
}
