#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernel feature probe: `redirectd --probe` by hand, and its result in
# `redirectctl status`.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd

FEATURES="btf sched_cls sk_assign redirect_peer sockhash netns_cookie"

case_begin "redirectd --probe lists each feature and exits 0 here"
out=$("$BUILD/redirectd" --probe 2>&1)
check_eq "exit code (output: $out)" 0 "$?"
for f in $FEATURES; do
	check_contains "$f present" "$out" "$(printf '%-14s present' "$f")"
done
check_contains "the bpf filesystem, as doctor checks it" "$out" \
	"$(printf '%-14s ok: a bpf filesystem' /sys/fs/bpf)"
check_contains "cgroup v2" "$out" "$(printf '%-14s ok: mounted' cgroup2)"
check_contains "verdict" "$out" "redirectd can run on this node"
case_end

node_init "$BUILD"
case_begin "the probe's result in redirectctl status"
if node_start_redirectd; then
	st=$(ctl -j status | jq -r .features)
	for f in $FEATURES; do
		check_contains "$f" "$st" "$f=yes"
	done
	check_contains "text status" "$(ctl status)" "features:"
	check_contains "logged at start" "$(cat "$WORK/$NODE_NS.log")" \
		"feature sk_assign: present"
else
	fail "redirectd did not start"
fi
case_end

results
