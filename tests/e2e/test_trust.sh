#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A control plane you can trust (issue 12): what a hostile but plausible
# client (an agent allowed by --allow-uid, a buggy CNI caller) can and
# cannot do to redirectd. Each case failed before its fix.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl ztunnel-sim
command -v setpriv >/dev/null || skip_suite "no setpriv to act as another uid"

AGENT=65534 # nobody: the uid let in by --allow-uid

node_init "$BUILD"
chmod 755 "$WORK" # the agent must reach the socket in it
node_start_redirectd --allow-uid "$AGENT" || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create a || setup_failed "pod a"
pod_enrol a >/dev/null || setup_failed "enrol a"
pod_create b || setup_failed "pod b"

# agent CMD...: redirectctl as the allowed non-root uid
agent() {
	setpriv --reuid="$AGENT" --regid="$AGENT" --clear-groups \
		"$BUILD/redirectctl" --socket "$SOCK" "$@" 2>&1
}

state() {
	ctl -j pods | jq -c '[[.pods[].uid], [.ztunnels[] | [.uid, .current]]]'
}

case_begin "an --allow-uid peer may read, and nothing else"
s0=$(state)
check "status" agent status
check "pods" agent pods
check "stats" agent stats
out=$(agent pod del "uid-$RUN-a")
check_contains "pod delete refused" "$out" "PERMISSION"
out=$(agent pod add "uid-$RUN-b" --netns "/var/run/netns/$RUN-b" --ip "$(pod_ip b 4)")
check_contains "pod add refused" "$out" "PERMISSION"
out=$(agent snapshot)
check_contains "snapshot (would un-mesh every pod) refused" "$out" "not granted"
out=$(agent ztunnel add evil --netns "/var/run/netns/$RUN-b")
check_contains "ztunnel add (would take all meshed traffic) refused" "$out" "PERMISSION"
check_contains "and says which grant is missing" "$out" "allow-ztunnel-writes"
out=$(agent ztunnel del "uid-$RUN-zt")
check_contains "ztunnel delete refused" "$out" "PERMISSION"
out=$(agent log-level debug)
check_contains "log level refused" "$out" "root only"
check_eq "nothing changed" "$s0" "$(state)"
check "root still does everything" ctl log-level info
case_end

case_begin "--allow-pod-writes grants pod changes, not ztunnel changes"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart" node_start_redirectd --allow-uid "$AGENT" --allow-pod-writes
check "pod add" agent pod add "uid-$RUN-b" --netns "/var/run/netns/$RUN-b" \
	--ip "$(pod_ip b 4)"
check "pod del" agent pod del "uid-$RUN-b"
out=$(agent ztunnel add evil --netns "/var/run/netns/$RUN-b")
check_contains "ztunnel add still refused" "$out" "PERMISSION"
check_eq "ztunnel unchanged" "uid-$RUN-zt" "$(ctl -j status | jq -r .ztunnel_uid)"
case_end

case_begin "PodAdd claims only addresses that are the pod's own"
pod_create c || fail "pod c"
B4=$(pod_ip b 4)
GW4=$(jq -r '.ips[] | select(.address | contains(":") | not) | .gateway' "$WORK/b.json")
npins() {
	bpftool map dump pinned "$PIN/pods" -j | jq length
}
p0=$(npins)
s0=$(state)
for bad in "$GW4" "$(pod_ip zt 4)" "$(pod_ip zt 6)" 0.0.0.0 :: 127.0.0.1 ::1 \
	224.0.0.1 ff02::1 255.255.255.255 169.254.1.1 fe80::1 \
	"$(pod_ip c 4)" 8.8.8.8; do
	out=$(ctl pod add "uid-$RUN-b" --netns "/var/run/netns/$RUN-b" \
		--ip "$B4" --ip "$bad" 2>&1)
	check_not "$bad refused" test "$(echo "$out" | grep -c 'enrolled')" -gt 0
	check_contains "$bad: says why" "$out" "address"
done
check_eq "nothing published" "$p0" "$(npins)"
check_eq "nothing enrolled" "$s0" "$(state)"
check "b's own addresses are fine" ctl pod add "uid-$RUN-b" \
	--netns "/var/run/netns/$RUN-b" --ip "$B4" --ip "$(pod_ip b 6)"
check "b deleted again" ctl pod del "uid-$RUN-b"
case_end

case_begin "a veth whose peer is in another netns is not taken for the pod's"
# Ifindexes are per netns. x's eth0 (index M) pairs with y's yv (index
# I); in our netns, index I is hv, paired with z's eth0, also index M.
# Compared by ifindex alone, x's eth0 and hv look like a pair.
I=$((20000 + $$ % 10000))
M=$((I + 1))
for n in x y z; do
	ip netns add "$RUN-$n"
	NODE_PODS="$NODE_PODS $n"
done
in_node ip link add hv index "$I" type veth peer name eth0 index "$M" \
	netns "$RUN-z"
nsrun "$RUN-y" ip link add yv index "$I" type veth peer name eth0 \
	index "$M" netns "$RUN-x"
nsrun "$RUN-x" ip link set eth0 up
nsrun "$RUN-x" ip addr add 10.244.9.9/32 dev eth0
out=$(ctl pod add "uid-$RUN-x" --netns "/var/run/netns/$RUN-x" --ip 10.244.9.9 2>&1)
check_contains "refused" "$out" "not in redirectd's network namespace"
check_eq "no filter on hv" "" "$(in_node tc filter show dev hv ingress)"
case_end

# rp_filter (all, default) and lo's state in a netns, as one line
ns_look() {
	printf '%s %s %s\n' \
		"$(nsrun "$1" cat /proc/sys/net/ipv4/conf/all/rp_filter)" \
		"$(nsrun "$1" cat /proc/sys/net/ipv4/conf/default/rp_filter)" \
		"$(nsrun "$1" ip -j link show lo | jq -r '.[0].operstate')"
	nsrun "$1" ip rule show | grep -c fwmark
}

case_begin "a refused ZtunnelAdd leaves the netns it named as it was"
# x (previous case): its eth0's peer is not in our netns
nsrun "$RUN-x" sh -c 'echo 1 >/proc/sys/net/ipv4/conf/all/rp_filter;
	echo 2 >/proc/sys/net/ipv4/conf/default/rp_filter; ip link set lo down'
before=$(ns_look "$RUN-x")
out=$(ctl ztunnel add "uid-$RUN-zx" --netns "/var/run/netns/$RUN-x" 2>&1)
check_contains "refused before touching it" "$out" "not in redirectd's network namespace"
check_eq "x as it was" "$before" "$(ns_look "$RUN-x")"
# w is a proper ztunnel pod, but a foreign filter holds our tc slot on
# its host veth: refused after its netns was set up, then put back
pod_create w || fail "pod w"
WV=$(pod_host_veth w)
nsrun "$RUN-w" sh -c 'echo 1 >/proc/sys/net/ipv4/conf/all/rp_filter;
	echo 2 >/proc/sys/net/ipv4/conf/default/rp_filter; ip link set lo down'
bpftool prog load "$BUILD/bpf/tests/foreign_counter.bpf.o" "$PIN/foreign" \
	type classifier pinmaps "$PIN/foreign_maps"
in_node tc qdisc add dev "$WV" clsact
in_node tc filter add dev "$WV" ingress pref 23166 handle 0xa3b1 bpf da \
	pinned "$PIN/foreign"
before=$(ns_look "$RUN-w")
out=$(ctl ztunnel add "uid-$RUN-zw" --netns "/var/run/netns/$RUN-w" 2>&1)
check_contains "refused" "$out" "foreign tc filter"
check_eq "w as it was (rp_filter, lo, no rule)" "$before" "$(ns_look "$RUN-w")"
check_eq "no filter of ours left in w" "" \
	"$(nsrun "$RUN-w" tc filter show dev eth0 ingress)"
check_contains "the foreign filter untouched" \
	"$(in_node tc filter show dev "$WV" ingress)" "foreign"
check_eq "ztunnel unchanged" "uid-$RUN-zt" "$(ctl -j status | jq -r .ztunnel_uid)"
case_end

case_begin "a snapshot keeps pods another connection enrolled while it ran"
check "c enrolled (before the snapshot, not named by it)" pod_enrol c
rm -f "$WORK/snap.go"
python3 tests/tools/rawreq.py "$SOCK" --snapshot-hold "$WORK/snap.go" \
	"uid-$RUN-a" >"$WORK/snap.out" 2>&1 &
SNAP=$!
# both replies in (the Hello's and the PodKeep's): the snapshot is running
snapshot_started() {
	[ "$(grep -c "^0 " "$WORK/snap.out")" -ge 2 ]
}
check "the snapshot started" settle_long snapshot_started
check "b enrolled during the snapshot" ctl pod add "uid-$RUN-b" \
	--netns "/var/run/netns/$RUN-b" --ip "$(pod_ip b 4)"
out=$(ctl snapshot "uid-$RUN-b" 2>&1)
check_contains "a second snapshot meanwhile: refused" "$out" "in progress"
touch "$WORK/snap.go"
wait "$SNAP"
check_contains "snapshot done" "$(tail -n 1 "$WORK/snap.out")" "removed 1"
check_eq "a kept, b survived, c removed" "uid-$RUN-a uid-$RUN-b" \
	"$(ctl -j pods | jq -r '[.pods[].uid] | sort | join(" ")')"
check "b deleted" ctl pod del "uid-$RUN-b"
case_end

# A journal on a tiny tmpfs of this run's own, filled up on purpose.
JDIR=$WORK/jfs
mkdir "$JDIR"
trap 'umount "$JDIR" 2>/dev/null; node_cleanup' EXIT
case_begin "a full disk: pod changes fail whole, nothing is lost once space returns"
check "tmpfs" mount -t tmpfs -o size=64k,mode=0700 tmpfs "$JDIR"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restart on the tmpfs journal" node_start_redirectd --allow-uid "$AGENT" \
	--state "$JDIR/state"
uids() {
	ctl -j pods | jq -r '[.pods[].uid] | sort | join(" ")'
}
check "enrol a" pod_enrol a
before=$(uids)
dd if=/dev/zero of="$JDIR/fill" bs=4k count=100 2>/dev/null
# appends fill the journal's last page first: repeat an add and a delete
# until one needs a page the full tmpfs does not have (which one depends
# on the records' sizes); the refused one must have changed nothing
refused=""
for _ in $(seq 60); do
	out=$(ctl pod add "uid-$RUN-b" --netns "/var/run/netns/$RUN-b" \
		--ip "$(pod_ip b 4)" 2>&1) || { refused=add; break; }
	out=$(ctl pod del "uid-$RUN-b" 2>&1) || { refused=del; break; }
done
check_contains "a change refused, says why" "$out" "journal"
if [ "$refused" = del ]; then
	# b was enrolled; its refused delete leaves it enrolled
	before=$(printf '%s\n' $before "uid-$RUN-b" | sort | xargs)
fi
check_eq "the refused $refused changed nothing" "$before" "$(uids)"
check_gt "status counts the failures" \
	"$(ctl -j status | jq -r .journal_write_errors)" 0
check_contains "and says the file lags" "$(ctl status)" "LAGGING"
rm -f "$JDIR/fill"
check "once space is back, the next request goes through" \
	ctl pod add "uid-$RUN-b" --netns "/var/run/netns/$RUN-b" --ip "$(pod_ip b 4)"
# a failed rewrite is retried at most once a second, on the next request
journal_whole() {
	[ -z "$(ctl -j status | jq -r .journal_error)" ]
}
check "the journal is whole again" settle journal_whole
after=$(uids)
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
dd if=/dev/zero of="$JDIR/fill" bs=4k count=100 2>/dev/null
check "a full disk at start: it starts" node_start_redirectd \
	--allow-uid "$AGENT" --state "$JDIR/state"
check_eq "every pod known again" "$after" "$(uids)"
rm -f "$JDIR/fill"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
umount "$JDIR"
check "back on the usual journal" node_start_redirectd --allow-uid "$AGENT"
case_end

case_begin "5000 idle connections from an allowed uid lock nobody out"
mkdir -p "$WORK/agent" && chmod 777 "$WORK/agent"
python3 tests/tools/holdconns.py "unix:$SOCK" 5000 "$WORK/agent/hold.ready" \
	--uid "$AGENT" &
HOLD=$!
settle test -f "$WORK/agent/hold.ready" || sleep 5
check "the holder got going" test -f "$WORK/agent/hold.ready"
echo "  $(cat "$WORK/agent/hold.ready" 2>/dev/null)"
check "root's status answers" ctl status
check "a CNI ADD as root enrols" pod_create_chain h
check_eq "h enrolled" "uid-$RUN-h" \
	"$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-h\") | .uid")"
check_gt "redirectd kept its per-uid share (256), plus this query" 258 \
	"$(ctl -j status | jq .clients)"
nref=$(grep -c 'refusing connections' "$WORK/$NODE_NS.log")
check "refusals logged" test "$nref" -ge 1
check "and throttled (4744 refusals, at most 2 lines)" test "$nref" -le 2
kill "$HOLD"
wait "$HOLD" 2>/dev/null
case_end

case_begin "connections that never say Hello are closed after 5 s"
rm -f "$WORK/hold.ready"
python3 tests/tools/holdconns.py "unix:$SOCK" 20 "$WORK/hold.ready" &
HOLD=$!
settle test -f "$WORK/hold.ready"
c0=$(ctl -j status | jq .clients)
check_gt "held (root's 20)" "$c0" 19
sleep 6.5
check_gt "closed" 5 "$(ctl -j status | jq .clients)"
kill "$HOLD"
wait "$HOLD" 2>/dev/null
case_end

case_begin "netns paths that are not network namespaces are answered at once"
mkfifo "$WORK/fifo"
: >"$WORK/file"
LONG=/$(head -c 65535 /dev/zero | tr '\0' a)
for p in "$WORK/fifo" "$WORK/file" "$SOCK" /dev/null; do
	out=$(timeout 5 "$BUILD/redirectctl" --socket "$SOCK" pod add \
		"uid-$RUN-x" --netns "$p" --ip "$B4" 2>&1)
	check_contains "pod add, netns $p: refused" "$out" "NETNS"
	out=$(timeout 5 "$BUILD/redirectctl" --socket "$SOCK" ztunnel add \
		"uid-$RUN-x" --netns "$p" 2>&1)
	check_contains "ztunnel add, netns $p: refused" "$out" "NETNS"
	# with the real netns passed as an fd, the journaled path must be it
	out=$(RAWREQ_NETNS_PATH=$p timeout 5 python3 tests/tools/rawreq.py \
		"$SOCK" --podadd-fd "/var/run/netns/$RUN-b" "uid-$RUN-x" "$B4")
	check_contains "pod add with an fd, path $p: refused" \
		"$(echo "$out" | tail -n 1)" "not"
done
out=$(RAWREQ_NETNS_PATH=/var/run/netns/$RUN-a timeout 5 python3 \
	tests/tools/rawreq.py "$SOCK" --podadd-fd "/var/run/netns/$RUN-b" \
	"uid-$RUN-x" "$B4")
check_contains "an fd with another netns's path: refused" "$out" \
	"not the namespace of the fd"
out=$(RAWREQ_NETNS_PATH=$LONG timeout 5 python3 tests/tools/rawreq.py \
	"$SOCK" --podadd-fd "/var/run/netns/$RUN-b" "uid-$RUN-x" "$B4")
check_not "a 64 KiB path with an fd: refused" \
	test "$(echo "$out" | tail -n 1 | cut -d' ' -f1)" = 0
check_eq "nothing enrolled" "" \
	"$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-x\") | .uid")"
check "still serving" ctl status
case_end

case_begin "a journaled netns that became a FIFO does not hang the next start"
pod_create e || fail "pod e"
check "enrol e" pod_enrol e
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
v=$(pod_host_veth e)
ip netns del "$RUN-e"
check "e's veth gone" settle_long node_veth_gone "$v"
mkfifo "/var/run/netns/$RUN-e"
check "restart answers" node_start_redirectd --allow-uid "$AGENT"
check_eq "e forgotten" "" \
	"$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-e\") | .uid")"
check "a still enrolled" test -n \
	"$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-a\") | .uid")"
rm -f "/var/run/netns/$RUN-e"
case_end

results
