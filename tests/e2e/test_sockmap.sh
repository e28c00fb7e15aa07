#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Sockmap acceleration of ztunnel's same-node connections, through the
# simulated node and the ztunnel stand-in: pods a and b meshed, c not,
# every process of theirs and ztunnel's inside a per-run cgroup v2 folder
# that redirectd's sock_ops program is attached to.
#
# A connection a -> b crosses three same-node legs, each accelerated:
#   a -> ztunnel (15001), ztunnel -> ztunnel (15008), ztunnel -> b
# so every payload byte is redirected three times. Every case checks the
# content (SHA-256, by tests/tools/sockcheck) and, from the sk_msg
# counters, that the bytes went socket to socket.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl ztunnel-sim sockcheck
grep -q ' cgroup2 ' /proc/mounts || skip_suite "no cgroup v2 mount"
[ -x "$CNI_PLUGIN_DIR/ptp" ] || skip_suite "no ptp CNI plugin"

PORT=8080

# counter PROGRAM DECISION [packets|bytes]
counter() {
	ctl -j stats | jq -r ".counters[] | select(.program == \"$1\" and
		.decision == \"$2\") | .${3:-packets}"
}

# snap: remember the sockmap counters; then moved NAME gives the change.
SNAP_NAMES="sockops/add_pod_socket sockops/add_ztunnel_to_pod
sockops/add_ztunnel_loop sockops/skip_not_meshed sockops/skip_pods_off
sockops/skip_peer_not_on_node sockops/add_failed sk_msg/redirect_peer
sk_msg/pass_no_peer sk_msg/pass_peer_backlog sk_msg/pass_started_unaccelerated"
snap() {
	ctl -j stats >"$WORK/snap.json"
}
moved() {
	prog=${1%/*} dec=${1#*/} field=${2:-packets}
	jq -n --slurpfile a "$WORK/snap.json" --argjson b "$(ctl -j stats)" \
		--arg p "$prog" --arg d "$dec" --arg f "$field" '
		def val(s): s.counters[] | select(.program == $p and
			.decision == $d) | .[$f];
		val($b) - val($a[0])'
}

# The whole change of the sockmap counters, to show on a failure.
show_moved() {
	for n in $SNAP_NAMES; do
		printf '    %s %s/%s\n' "$n" "$(moved "$n")" "$(moved "$n" bytes)"
	done
}

# accelerated DESC BYTES: since snap, at least BYTES were redirected and
# no message of an accelerated socket went the TCP way.
accelerated() {
	rb=$(moved sk_msg/redirect_peer bytes)
	if ! check_gt "$1: redirected bytes ($rb) >= $2" $((rb + 1)) "$2" ||
		! check_eq "$1: messages that missed their peer" 0 \
			"$(moved sk_msg/pass_no_peer)" ||
		! check_eq "$1: messages of sockets left on TCP" 0 \
			"$(moved sk_msg/pass_started_unaccelerated)" ||
		! check_eq "$1: messages sent by TCP for a backlog" 0 \
			"$(moved sk_msg/pass_peer_backlog)"; then
		show_moved
	fi
}

# sc POD CASE [ARGS]: a sockcheck client in a pod (inside the cgroup),
# to b's server unless --to is given; its JSON line in $WORK/sc.json
sc() {
	p=$1
	shift
	in_pod "$p" "$BUILD/sockcheck" "$@" --to "${TO:-$B4}" \
		--port "$PORT" >"$WORK/sc.json" 2>&1
	_rc=$?
	[ $_rc = 0 ] || sed 's/^/    sockcheck: /' "$WORK/sc.json"
	return $_rc
}

sent() {
	jq -r .sent "$WORK/sc.json"
}

restart_redirectd() {
	kill "$REDIRECTD_PID"
	wait "$REDIRECTD_PID" 2>/dev/null
	node_start_redirectd "$@"
}

status() {
	ctl -j status | jq -r ".$1"
}

# Is a sock_ops program attached to our cgroup folder?
cgroup_sockops() {
	bpftool cgroup show "$CGROUP" 2>/dev/null | grep -c sock_ops
}

node_init "$BUILD"
node_cgroup || setup_failed "cgroup folder"
node_start_redirectd --cgroup "$CGROUP" --no-sockmap || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
for p in a b c; do
	pod_create "$p" || setup_failed "pod $p"
done
pod_enrol a >/dev/null || setup_failed "enrol a"
pod_enrol b >/dev/null || setup_failed "enrol b"
node_bg "$RUN-b" "$BUILD/sockcheck" serve --port "$PORT" \
	--ready "$WORK/b.ready" --log "$WORK/b.events"
for _ in $(seq 100); do [ -f "$WORK/b.ready" ] && break; sleep 0.05; done
[ -f "$WORK/b.ready" ] || setup_failed "sockcheck server in b"
A4=$(pod_ip a 4)
B4=$(pod_ip b 4)
B6=$(pod_ip b 6)

case_begin "--no-sockmap: traffic works, nothing is attached or accelerated"
check_eq "status says off" false "$(status sockmap_active)"
check_contains "and why" "$(status sockmap_reason)" "--no-sockmap"
check_eq "no sock_ops on the cgroup" 0 "$(cgroup_sockops)"
check "transfer intact" sc a sink --bytes 300000
for n in $SNAP_NAMES; do
	check_eq "counter $n" 0 "$(counter "${n%/*}" "${n#*/}")"
done
case_end

# A connection made now, before the programs are attached; it is used
# again once they are.
rm -f "$WORK/hold.ready" "$WORK/hold.go"
in_pod a "$BUILD/sockcheck" echo --bytes 200000 --seed 7 --to "$B4" \
	--port "$PORT" --ready "$WORK/hold.ready" --go "$WORK/hold.go" \
	--timeout 60 >"$WORK/hold.json" 2>&1 &
HOLD_PID=$!
for _ in $(seq 100); do [ -f "$WORK/hold.ready" ] && break; sleep 0.05; done

case_begin "the kernel self-test decides whether pods' sockets are accelerated"
restart_redirectd --cgroup "$CGROUP"
check_eq "status says on" true "$(status sockmap_active)"
check_eq "attached to our cgroup" "$CGROUP" "$(status sockmap_cgroup)"
check_eq "one sock_ops program on it" 1 "$(cgroup_sockops)"
check "the attachment is a pinned link" test -e "$PIN/sockops_link"
SELFTEST_PODS=$(status sockmap_pods)
SELFTEST_WHY=$(status sockmap_pods_reason)
echo "  self-test: pods $SELFTEST_PODS${SELFTEST_WHY:+ ($SELFTEST_WHY)}"
snap
check "transfer intact" sc a sink --bytes 200000
n=$(sent)
if [ "$SELFTEST_PODS" = true ]; then
	accelerated "all three legs" $((3 * n))
else
	check_eq "pods' sockets not filed" 0 "$(moved sockops/add_pod_socket)"
	check_eq "ztunnel's loop filed" 2 "$(moved sockops/add_ztunnel_loop)"
	check_eq "pods' legs skipped" 4 "$(moved sockops/skip_pods_off)"
	accelerated "ztunnel's loop" "$n"
fi
# A client blocked in recv while its own FIN is acknowledged: with the
# default it must work whatever the kernel does.
check "default: a blocked reader after half-close gets its answer" \
	sc a blockedfin --bytes 1000 --delay 300
case_end

case_begin "a connection made before the programs were attached still works"
restart_redirectd --cgroup "$CGROUP" --sockmap-pods on
check_eq "pods forced on" true "$(status sockmap_pods)"
snap
touch "$WORK/hold.go"
wait "$HOLD_PID"
check_eq "second round intact" true "$(jq -r .ok "$WORK/hold.json")"
check_eq "none of its bytes redirected" 0 "$(moved sk_msg/redirect_peer bytes)"
check_eq "none of its sockets filed" 0 "$(moved sockops/add_pod_socket)"
case_end

case_begin "transfers of random sizes arrive intact, socket to socket"
sizes="0 1 100 1448 4096 65535 65536 65537 1000000 $(shuf -i 1-3000000 -n 3 | tr '\n' ' ')"
total=0
snap
for n in $sizes; do
	w=$(shuf -i 1-65536 -n 1)
	check "$n bytes in writes of up to $w" \
		sc a sink --bytes "$n" --max-write "$w" --seed "$n" || break
	total=$((total + n))
done
TO=$B6
check "IPv6, 500000 bytes" sc a sink --bytes 500000 --seed 6
TO=
total=$((total + 500000))
accelerated "every leg" $((3 * total))
check_eq "each connection's four pod/ztunnel sockets filed" \
	$(($(echo "$sizes" | wc -w) * 2 + 2)) "$(moved sockops/add_pod_socket)"
echo "  sizes: $sizes"
case_end

case_begin "server to client: a 3 MB download"
snap
check "intact" sc a source --bytes 3000000 --seed 3
accelerated "every leg" 9000000
case_end

case_begin "half-close delivers EOF; the other direction keeps working"
snap
# b reads to EOF (our FIN, through ztunnel), then 300 ms later sends
# its verdict and 500 kB more.
check "both directions intact" sc a sink --bytes 200000 --reply 500000 \
	--delay 300
accelerated "both directions" $((3 * 700000))
case_end

case_begin "a reset is seen by the peer, both ways"
snap
check "b resets: a's read fails with ECONNRESET" sc a reset
check "a resets" sc a rstwatch --id r1
for _ in $(seq 50); do
	grep -q "^rstwatch r1 " "$WORK/b.events" 2>/dev/null && break
	sleep 0.1
done
check_eq "b's read saw the reset" "rstwatch r1 Connection reset by peer" \
	"$(grep "^rstwatch r1 " "$WORK/b.events")"
accelerated "the bytes before the reset" 33
case_end

case_begin "poll, epoll and a blocking read wake up for redirected data"
snap
check "a waits with poll, epoll and recv" sc a late --delay 200 --count 6
check "b waits in epoll_wait" sc a wake --delay 300
accelerated "the late messages" $((3 * 600))
case_end

case_begin "FIONREAD counts redirected bytes (a server reading like nginx)"
snap
check "FIONREAD right" sc a fionread --bytes 1000
check_contains "b saw" "$(jq -r .detail "$WORK/sc.json")" "fionread 1000 read 1000 after 0"
accelerated "the request" 3000
case_end

case_begin "100 concurrent connections"
snap
check "all intact" sc a many --conns 100 --max-bytes 300000 --seed 11
accelerated "every leg" $((3 * $(sent)))
check_eq "pods' sockets filed" 200 "$(moved sockops/add_pod_socket)"
check_eq "ztunnel's sockets towards pods filed" 200 \
	"$(moved sockops/add_ztunnel_to_pod)"
check_eq "ztunnel's loop sockets filed" 200 \
	"$(moved sockops/add_ztunnel_loop)"
check_eq "none refused" 0 "$(moved sockops/add_failed)"
case_end

case_begin "a fast sender and a slow reader: TCP's flow control takes over"
# Redirected bytes wait in the reader's queue with no flow control; once
# 4 MiB wait, the senders toward it go back to TCP for good.
snap
check "40 MB to a reader pausing after each read, intact" \
	sc a sink --bytes 40000000 --pause 500 --timeout 60
check_gt "senders fell back to TCP" "$(moved sk_msg/pass_peer_backlog)" 0
check_gt "after redirecting some" "$(moved sk_msg/redirect_peer bytes)" 0
echo "  redirected $(moved sk_msg/redirect_peer bytes) bytes," \
	"$(moved sk_msg/pass_peer_backlog bytes) by TCP after the fallback"
case_end

case_begin "the same 4-tuple in two netns: each socket gets its own peer's bytes"
# ztunnel connects to b from a's address; with one port left to pick from
# in its netns it also takes a's port, so a's socket and ztunnel's spoofed
# one share a 4-tuple, and so do b's and ztunnel's accepted one. Hold
# such a connection open and look at the sockhash.
old_range=$(in_pod zt sysctl -n net.ipv4.ip_local_port_range)
in_pod zt sysctl -qw net.ipv4.ip_local_port_range="40123 40123"
rm -f "$WORK/same.ready" "$WORK/same.go"
z0=$(zt_count zt tcp15008 bytes_up)
snap
in_pod a "$BUILD/sockcheck" echo --bytes 300000 --seed 21 --to "$B4" \
	--port "$PORT" --bind-port 40123 --ready "$WORK/same.ready" \
	--go "$WORK/same.go" >"$WORK/same.json" 2>&1 &
same_pid=$!
for _ in $(seq 100); do [ -f "$WORK/same.ready" ] && break; sleep 0.05; done
"$BUILD/sockcheck" keys "$PIN/sock_hash" | grep "$A4:40123" >"$WORK/keys"
sed 's/^/    /' "$WORK/keys"
check_eq "four sockets of this connection filed" 4 "$(wc -l <"$WORK/keys")"
check_eq "each 4-tuple twice, in two netns" \
	"2 2" "$(sed 's/^netns=[0-9]* //' "$WORK/keys" | sort | uniq -c |
		awk '{ print $1 }' | tr '\n' ' ' | sed 's/ $//')"
check_eq "under four distinct keys" 4 "$(sort -u "$WORK/keys" | wc -l)"
check_eq "three netns involved (a, ztunnel, b)" 3 \
	"$(sed 's/ .*//' "$WORK/keys" | sort -u | wc -l)"
check_contains "ports in host order" "$(cat "$WORK/keys")" "$B4:$PORT"
touch "$WORK/same.go"
wait "$same_pid"
in_pod zt sysctl -qw net.ipv4.ip_local_port_range="$old_range"
check_eq "both rounds intact" true "$(jq -r .ok "$WORK/same.json")"
accelerated "both directions" $((3 * 4 * 300000))
check_gt "ztunnel relayed the bytes (stand-in's counters)" \
	"$(zt_count zt tcp15008 bytes_up)" $((z0 + 599999))
case_end

case_begin "a non-meshed client: only ztunnel's leg to the meshed pod is filed"
snap
check "c -> b intact" sc c sink --bytes 100000
check_eq "b's socket filed, not c's" 1 "$(moved sockops/add_pod_socket)"
check_gt "c's socket seen and skipped" "$(moved sockops/skip_not_meshed)" 0
check_eq "ztunnel -> b filed" 1 "$(moved sockops/add_ztunnel_to_pod)"
accelerated "ztunnel -> b" 100000
case_end

case_begin "a process outside the cgroup is not touched"
snap
check "transfer intact" nsenter --net="/var/run/netns/$RUN-a" \
	"$BUILD/sockcheck" sink --bytes 100000 --to "$B4" --port "$PORT"
# b's socket is filed (b's server runs in the cgroup); a's is not seen
check_eq "b's socket filed, not a's" 1 "$(moved sockops/add_pod_socket)"
case_end

case_begin "the self-test's verdict matches what a blocked reader sees"
# Pods are forced on here: blockedfin hits the kernel's behaviour.
if sc a blockedfin --bytes 1000 --delay 300; then
	check_eq "the self-test passed too" true "$SELFTEST_PODS"
else
	check_contains "the self-test saw it too" "$SELFTEST_WHY" \
		"$(jq -r .detail "$WORK/sc.json" | sed 's/.*returned //')"
	echo "  kernel: $(jq -r .detail "$WORK/sc.json"); see docs/sockmap.md"
fi
case_end

case_begin "redirectd killed: attachments stay, new connections accelerated"
snap
kill -9 "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "transfer without redirectd" sc a sink --bytes 100000
# the counters live in a pinned map: read them once it is back
check "restart" node_start_redirectd --cgroup "$CGROUP" --sockmap-pods on
accelerated "every leg, while it was down" 300000
check_eq "still one sock_ops program on the cgroup" 1 "$(cgroup_sockops)"
snap
check "transfer after restart" sc a sink --bytes 100000
accelerated "every leg, after the restart" 300000
case_end

# One capture rule (bpf/include/capture.h) for tc and sock_ops: the same
# connections from meshed pod a, and both must agree on each.
case_begin "sock_ops and app_outbound take the same capture decisions"
GW4=$(jq -r '.ips[] | select(.address | contains(":") | not) | .gateway' "$WORK/a.json")
node_bg "$NODE_NS" python3 tests/tools/traffic.py serve --port 9090 \
	--ready "$WORK/node9090.ready"
pod_serve c --port 53 || check false "server c:53"
pod_serve c --port 9999 || check false "server c:9999"
for _ in $(seq 50); do [ -f "$WORK/node9090.ready" ] && break; sleep 0.05; done
# decide TO PORT: the tc verdict and sock_ops's for a's connection
decide() {
	snap
	t0=$(counter app_outbound redirect_ztunnel)
	pod_send a --to "$1" --port "$2" --bytes 2000 >/dev/null || echo failed
	t=$(($(counter app_outbound redirect_ztunnel) - t0))
	[ "$t" -gt 0 ] && t=captured || t=passed
	[ "$(moved sockops/add_pod_socket)" -gt 0 ] && o=captured || o=passed
	[ "$(moved sockops/skip_not_captured)" -gt 0 ] && o="$o+skipped"
	echo "tc=$t sockops=$o"
}
check_eq "a -> node:9090 (no exemption)" "tc=captured sockops=captured" \
	"$(decide "$GW4" 9090)"
# the one connection neither captures: a node socket's into a (a probe)
pod_serve a --port 9091 || check false "server a:9091"
snap
r0=$(counter app_outbound pass_node_socket_reply)
check "node -> a (a probe)" in_node python3 tests/tools/traffic.py send \
	--to "$(pod_ip a 4)" --port 9091 --bytes 2000
check_gt "tc passed a's replies" "$(counter app_outbound pass_node_socket_reply)" "$r0"
check_gt "sock_ops skipped a's socket" "$(moved sockops/skip_not_captured)" 0
check_eq "and filed nothing" 0 "$(moved sockops/add_pod_socket)"
check_eq "a -> c:53 (TCP, DNS capture off)" "tc=captured sockops=captured" \
	"$(decide "$(pod_ip c 4)" 53)"
check_eq "a -> c:9999" "tc=captured sockops=captured" \
	"$(decide "$(pod_ip c 4)" 9999)"
case_end

case_begin "--no-sockmap again: detached, new connections take TCP"
restart_redirectd --cgroup "$CGROUP" --no-sockmap
check_eq "no sock_ops on the cgroup" 0 "$(cgroup_sockops)"
check_not "link unpinned" test -e "$PIN/sockops_link"
snap
check "transfer intact" sc a sink --bytes 100000
check_eq "nothing filed" 0 "$(moved sockops/add_pod_socket)"
check_eq "nothing redirected" 0 "$(moved sk_msg/redirect_peer)"
case_end

results
