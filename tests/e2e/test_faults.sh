#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Faults: redirectd killed at random points during churn, interfaces and
# namespaces vanishing behind its back, an ifindex reused, idle and
# numerous clients. After each, the node must be consistent: a pod is
# enrolled exactly when its filters and map entries exist.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl ztunnel-sim tcxattach
NPODS=${FAULT_PODS:-8}
ROUNDS=${FAULT_ROUNDS:-5}

node_init "$BUILD"
node_start_redirectd || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
for i in $(seq "$NPODS"); do
	pod_create "p$i" || setup_failed "pod p$i"
done

enrolled() {
	ctl -j pods | jq -r '.pods[].uid' | sort
}

# Every pod: enrolled <=> our filter on its veth <=> its map entries exist.
# Prints one line per inconsistency; nothing means consistent.
inconsistencies() {
	list=$(enrolled)
	entries=$(bpftool map dump pinned "$PIN/pods" -j | jq length)
	want_entries=0
	for i in $(seq "$NPODS"); do
		p=p$i
		[ -e "/var/run/netns/$RUN-$p" ] || continue
		uid=uid-$RUN-$p
		v=$(pod_host_veth "$p")
		f=$(in_node tc filter show dev "$v" ingress | grep -c app_outbound)
		e=$(in_node tc filter show dev "$v" egress | grep -c app_inbound)
		if echo "$list" | grep -qx "$uid"; then
			want_entries=$((want_entries + 2))
			[ "$f$e" = 11 ] || echo "$p enrolled but filters '$f$e'"
		else
			[ "$f$e" = 00 ] || echo "$p not enrolled but filters '$f$e'"
		fi
	done
	[ "$entries" = "$want_entries" ] ||
		echo "pods map has $entries entries, want $want_entries"
}

# churn SECONDS: random adds and deletes; records each request as it
# goes out ("try p3") and its acknowledged outcome ("add p3", "del p3")
churn() {
	end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -lt "$end" ]; do
		i=$(($(od -An -N1 -tu1 /dev/urandom) % NPODS + 1))
		echo "try p$i"
		if [ $(($(od -An -N1 -tu1 /dev/urandom) % 2)) = 0 ]; then
			pod_enrol "p$i" >/dev/null 2>&1 && echo "add p$i"
		else
			ctl pod del "uid-$RUN-p$i" >/dev/null 2>&1 && echo "del p$i"
		fi
	done
}

case_begin "killed at random points during churn: state matches what was acknowledged"
round=0
while [ "$round" -lt "$ROUNDS" ]; do
	round=$((round + 1))
	churn 3 >"$WORK/acks.$round" &
	churner=$!
	# a random moment within the churn
	sleep "0.$(($(od -An -N1 -tu1 /dev/urandom) % 9 + 1))"
	sleep 1
	kill -9 "$REDIRECTD_PID"
	wait "$REDIRECTD_PID" 2>/dev/null
	wait "$churner"
	node_start_redirectd || fail "restart in round $round"
	bad=$(inconsistencies)
	[ -z "$bad" ] || fail "round $round: $bad"
	# every acknowledged outcome that no later ack overrode must hold,
	# but for the pod of the request in flight when the kill came (done
	# or not, unacknowledged): it is one of those tried after the last
	# acknowledgement (the others failed: no daemon, or refused)
	for i in $(seq "$NPODS"); do
		last=$(grep -E "^(add|del) p$i\$" "$WORK/acks.$round" | tail -n 1 |
			cut -d' ' -f1)
		inflight=$(awk -v p="p$i" '
			$1 != "try" { hit = 0; next }
			$2 == p { hit = 1 }
			END { print hit + 0 }' "$WORK/acks.$round")
		[ -z "$last" ] && continue
		now=del
		enrolled | grep -qx "uid-$RUN-p$i" && now=add
		if [ "$last" != "$now" ] && [ "$inflight" = 0 ]; then
			fail "round $round: p$i last acknowledged '$last', now '$now'"
		fi
	done
done
case_end

case_begin "every enrolled pod still goes through ztunnel after the churn"
pod_enrol p1 >/dev/null
pod_enrol p2 >/dev/null
pod_serve p2 --port 8080
n=$(zt_count zt tcp15001 conns)
check "p1 -> p2 intact" pod_send p1 --to "$(pod_ip p2 4)" --port 8080 --bytes 20000
check_eq "through ztunnel" $((n + 1)) "$(zt_count zt tcp15001 conns)"
case_end

# An add attaches the host veth's clsact, then the guard in the pod, then
# our filters; the guard failing (here: something else at its pin) must
# take back the first step and everything before it.
GUARD=$(ctl -j status | jq -r .guard)
if [ "$GUARD" != on ]; then
	case_skip "an add whose guard cannot be attached" "the guard is off: $GUARD"
else
	case_begin "an add whose guard cannot be attached fails and leaves nothing"
	pod_create g1 || fail "pod g1"
	gv=$(pod_host_veth g1)
	gidx=$(node_ifindex "$gv")
	e0=$(bpftool map dump pinned "$PIN/pods" -j | jq length)
	bpftool map create "$PIN/guard_$gidx" type array key 4 value 4 \
		entries 1 name blocker
	out=$(pod_enrol g1 2>&1)
	check_not "the add fails" test $? = 0
	check_contains "and says where" "$out" "attach"
	check_contains "the guard's step failed" "$(cat "$WORK/$NODE_NS.log")" \
		"pod uid-$RUN-g1: inbound guard in its netns"
	check_eq "not enrolled" "" \
		"$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-g1\") | .uid")"
	check_eq "no clsact left on its veth" 0 \
		"$(in_node tc qdisc show dev "$gv" | grep -c clsact)"
	check_eq "no map entries left" "$e0" \
		"$(bpftool map dump pinned "$PIN/pods" -j | jq length)"
	check_eq "no guard in the pod" "" \
		"$(in_pod g1 "$BUILD/tcxattach" --list eth0 in)"
	# (the add's undo unpinned what sat at the guard's path already: the
	# path in our folder is ours)
	rm -f "$PIN/guard_$gidx"
	check "enrolled once the way is clear" pod_enrol g1
	check_eq "its guard in place" pod_guard \
		"$(in_pod g1 "$BUILD/tcxattach" --list eth0 in)"
	check_eq "its filters in place" 1 \
		"$(in_node tc filter show dev "$gv" ingress | grep -c app_outbound)"
	n=$(zt_count zt tcp15001 conns)
	check "g1 -> p2 intact" pod_send g1 --to "$(pod_ip p2 4)" --port 8080 \
		--bytes 20000
	check_eq "through ztunnel" $((n + 1)) "$(zt_count zt tcp15001 conns)"
	check "g1 deleted" ctl pod del "uid-$RUN-g1"
	case_end
fi

case_begin "a veth deleted behind redirectd's back, and its ifindex reused"
pod_enrol p3 >/dev/null
v=$(pod_host_veth p3)
idx=$(node_ifindex "$v")
ip netns del "$RUN-p3"
check "p3's veth gone" settle_long node_veth_gone "$v"
# a new interface takes the same ifindex: never confuse it with p3's veth
in_node ip link add name reuse0 index "$idx" type veth peer name reuse1
check "ifindex reused" in_node ip link show dev reuse0
check_eq "no filter of ours on the newcomer" 0 \
	"$(in_node tc filter show dev reuse0 ingress | grep -c app_outbound)"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart" node_start_redirectd
check_not "p3 forgotten" sh -c "$BUILD/redirectctl --socket $SOCK -j pods | grep -q uid-$RUN-p3"
check_eq "newcomer untouched" 0 \
	"$(in_node tc qdisc show dev reuse0 | grep -c clsact)"
check_eq "consistent" "" "$(inconsistencies)"
in_node ip link del reuse0
case_end

case_begin "a pod whose netns vanishes is forgotten without a restart"
pod_enrol p5 >/dev/null
check "p5 enrolled" sh -c "$BUILD/redirectctl --socket $SOCK -j pods | grep -q uid-$RUN-p5"
ip netns del "$RUN-p5"
p5_forgotten() {
	! ctl -j pods | grep -q "uid-$RUN-p5"
}
# the kernel removes the veth after ip netns del returns, then redirectd
# waits 100 ms for the burst of link events to end
check "p5 forgotten" settle_long p5_forgotten
check_eq "consistent" "" "$(inconsistencies)"
case_end

case_begin "ztunnel's netns vanishing: meshed pods fail closed, a new ztunnel recovers"
# redirectd keeps ztunnel's netns open (to clean up there later), so the
# netns outlives its name; the veth going away is what it must notice.
ZT_VETH=$(pod_host_veth zt)
kill "$ZT_PID"
wait "$ZT_PID" 2>/dev/null
ip netns del "$RUN-zt"
in_node ip link del "$ZT_VETH"
sleep 0.6
check_not "p1 -> p2 fails closed" pod_send p1 --to "$(pod_ip p2 4)" \
	--port 8080 --bytes 1000 --timeout 1
zt_absent() {
	[ "$(ctl -j status | jq -r .ztunnel_present)" = false ]
}
check "noticed without a restart" settle_long zt_absent
check "ztunnel del of a vanished netns" ctl ztunnel del "uid-$RUN-zt"
check "new ztunnel" ztunnel_start zt2
check "p1 -> p2 again" pod_send p1 --to "$(pod_ip p2 4)" --port 8080 --bytes 1000
case_end

case_begin "a client that connects and never sends does not block others"
python3 -c "
import socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect('$SOCK')
time.sleep(5)
" &
idle=$!
sleep 0.3
check "status served meanwhile" ctl status
check "pod add served meanwhile" pod_enrol p4
kill "$idle" 2>/dev/null
wait "$idle" 2>/dev/null
case_end

case_begin "thousands of clients at once"
python3 - "$SOCK" >"$WORK/many.txt" 2>&1 <<'EOF' &
import socket, sys, time
socks = []
for i in range(3000):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(sys.argv[1])
        socks.append(s)
    except OSError as e:
        print("connect %d failed: %s" % (i, e))
        break
print("open", len(socks))
sys.stdout.flush()
time.sleep(3)
EOF
many=$!
sleep 2
check "status served with thousands connected" ctl status
wait "$many"
check_contains "clients connected" "$(cat "$WORK/many.txt")" "open "
sleep 0.5
check "still serving after they left" ctl status
check "daemon alive" kill -0 "$REDIRECTD_PID"
case_end

results
