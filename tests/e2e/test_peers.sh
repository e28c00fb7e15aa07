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

# agent CMD...: redirectctl as the allowed non-root uid
agent() {
	setpriv --reuid="$AGENT" --regid="$AGENT" --clear-groups \
		"$BUILD/redirectctl" --socket "$SOCK" "$@" 2>&1
}

state() {
	ctl -j pods | jq -c '[[.pods[].uid], [.ztunnels[] | [.uid, .current]]]'
}

uids() {
	ctl -j pods | jq -r '[.pods[].uid] | sort | join(" ")'
}

# gone PID: the process ended, or all that is left of it is a thread stuck
# for good in a FUSE request (see docs/redirectd.md): its main thread ended
gone() {
	! kill -0 "$1" 2>/dev/null ||
		[ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# A daemon stuck in a close() (the failure these cases look for) does not
# see SIGTERM: after 5 s, SIGKILL. Not waited for: a thread of it stuck in
# the FUSE server's requests lives until the end (fuse_down).
stop_redirectd() {
	kill "$REDIRECTD_PID"
	for _ in $(seq 50); do
		gone "$REDIRECTD_PID" && return 0
		sleep 0.1
	done
	kill -9 "$REDIRECTD_PID" 2>/dev/null
	for _ in $(seq 50); do
		gone "$REDIRECTD_PID" && return 0
		sleep 0.1
	done
}

restart() {
	stop_redirectd
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

# --- --pod-capacity ------------------------------------------------------
# extra_addrs POD N: N more IPv4 addresses on the pod's eth0, printed as
# --ip options
extra_addrs() {
	for i in $(seq "$2"); do
		in_pod "$1" ip addr add "10.250.$3.$i/32" dev eth0
		printf -- '--ip 10.250.%s.%s ' "$3" "$i"
	done
}

pods_map() {
	bpftool map show pinned "$PIN/pods" -j | jq -c '[.id, .max_entries]'
}

case_begin "a restart with a --pod-capacity too small for the journal refuses to start"
check "restart with room for 64" restart --allow-uid "$AGENT" --pod-capacity 64
pod_create c || fail "pod c"
pod_create d || fail "pod d"
# shellcheck disable=SC2046
check "c with 10 addresses" pod_enrol c $(extra_addrs c 8 1)
# shellcheck disable=SC2046
check "d with 10 addresses" pod_enrol d $(extra_addrs d 8 2)
check_eq "22 addresses" 22 "$(ctl -j status | jq .pod_addresses)"
stop_redirectd
before=$(pods_map)
n0=$(bpftool map dump pinned "$PIN/pods" -j | jq length)
out=$(timeout 10 nsenter --net="/var/run/netns/$NODE_NS" "$BUILD/redirectd" \
	--socket "$SOCK" --bpffs "$PIN" --state "$STATE" --pod-capacity 16 2>&1)
rc=$?
check "refused (rc $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check_contains "names what it needs" "$out" "--pod-capacity 22 or more"
check_eq "the pods map untouched (id, size)" "$before" "$(pods_map)"
check_eq "every entry still pinned" "$n0" \
	"$(bpftool map dump pinned "$PIN/pods" -j | jq length)"
check "meanwhile c's traffic is still captured: a serves, c sends" \
	pod_serve a --port 8081
z0=$(zt_count zt tcp15001 conns)
check "c -> a" pod_send c --to "$(pod_ip a 4)" --port 8081 --bytes 1000
check_eq "through ztunnel" $((z0 + 1)) "$(zt_count zt tcp15001 conns)"
check "a capacity that fits starts" node_start_redirectd \
	--allow-uid "$AGENT" --pod-capacity 22
check_eq "every pod there" "uid-$RUN-a uid-$RUN-c uid-$RUN-d" "$(uids)"
check_eq "every address published" 22 \
	"$(bpftool map dump pinned "$PIN/pods" -j | jq length)"
check "c and d deleted" ctl pod del "uid-$RUN-c"
check "d deleted" ctl pod del "uid-$RUN-d"
check "back to the default capacity" restart --allow-uid "$AGENT"
case_end

# --- ztunnel's netns and veth against a pod's ----------------------------
# TCX where the kernel has it: there nothing else refused ztunnel's veth
# as a pod's (with tc, only our filter slot, taken by ztunnel_host_in).
ATTACH=tc
kernel_has_tcx && ATTACH=tcx
Z4=$(pod_ip zt 4)
Z6=$(pod_ip zt 6)

case_begin "ztunnel's netns and veth are never a pod's, nor a pod's ztunnel's ($ATTACH)"
check "restart, pod and ztunnel writes granted" restart --allow-uid "$AGENT" \
	--allow-pod-writes --allow-ztunnel-writes --attach "$ATTACH"
# ztunnel known by its IPv4 only: its IPv6 is no "ztunnel address" then
check "ztunnel re-added with its IPv4 only" ctl ztunnel add "uid-$RUN-zt" \
	--netns "/var/run/netns/$RUN-zt" --ip "$Z4"
check "b enrolled" ctl pod add "uid-$RUN-b" --netns "/var/run/netns/$RUN-b" \
	--ip "$(pod_ip b 4)"
# a second veth in ztunnel's netns and in b's, each peer in the node
in_node ip link add ztx type veth peer name eth1 netns "$RUN-zt"
in_node ip link add pbx type veth peer name eth1 netns "$RUN-b"
for ns in zt b; do
	nsrun "$RUN-$ns" ip link set eth1 up
done
nsrun "$RUN-zt" ip addr add 10.251.0.1/32 dev eth1
in_node ip link set ztx up
in_node ip link set pbx up
s0=$(state)
p0=$(ls "$PIN" | sort | xargs)
out=$(agent pod add evil --netns "/var/run/netns/$RUN-zt" --ip "$Z6")
check_contains "ztunnel's veth as a pod: refused" "$out" "CONFLICT"
check_contains "and says why" "$out" "ztunnel uid-$RUN-zt's"
out=$(agent pod add evil --netns "/var/run/netns/$RUN-zt" --ifname eth1 \
	--ip 10.251.0.1)
check_contains "another veth in ztunnel's netns as a pod: refused" "$out" \
	"CONFLICT"
check_contains "and says why" "$out" "network namespace is ztunnel"
out=$(ctl pod add evil --netns "/var/run/netns/$RUN-zt" --ip "$Z6" 2>&1)
check_contains "root is refused the same" "$out" "never a pod's"
out=$(agent ztunnel add evil --netns "/var/run/netns/$RUN-b")
check_contains "pod b's veth as ztunnel's: refused" "$out" "CONFLICT"
check_contains "and says why" "$out" "(uid uid-$RUN-b), never ztunnel's"
out=$(agent ztunnel add evil --netns "/var/run/netns/$RUN-b" --ifname eth1)
check_contains "another veth in b's netns as ztunnel's: refused" "$out" \
	"CONFLICT"
check_contains "and says why" "$out" "network namespace of eth1 is pod"
check_eq "nothing enrolled, ztunnel unchanged" "$s0" "$(state)"
check_eq "no pin made" "$p0" "$(ls "$PIN" | sort | xargs)"
check_eq "no filter on ztunnel's second veth" "" \
	"$(in_node tc filter show dev ztx ingress)"
check_eq "no filter on b's second veth" "" \
	"$(in_node tc filter show dev pbx ingress)"
check "a serves" pod_serve a --port 8082
z0=$(zt_count zt tcp15001 conns)
check "b -> a" pod_send b --to "$(pod_ip a 4)" --port 8082 --bytes 1000
check_eq "still through ztunnel" $((z0 + 1)) "$(zt_count zt tcp15001 conns)"
in_node ip link del ztx
in_node ip link del pbx
check "b deleted" ctl pod del "uid-$RUN-b"
check "ztunnel whole again" ctl ztunnel add "uid-$RUN-zt" \
	--netns "/var/run/netns/$RUN-zt" --ip "$Z4" --ip "$Z6"
check "restart as before" restart --allow-uid "$AGENT"
case_end

# --- peers' descriptors and netns paths -----------------------------------
# A FUSE file system whose server answers what opening its one file needs
# and nothing else: every close() of that file blocks in FLUSH, every
# lookup of another name blocks (tests/tools/fusestall.py).
FUSE=$WORK/fuse
fuse_down() {
	[ -n "${FUSE_PID:-}" ] && kill "$FUSE_PID" 2>/dev/null
	umount -l "$FUSE" 2>/dev/null
}
# before node_cleanup removes $WORK: nothing may walk into the mount
trap 'fuse_down; node_cleanup' EXIT
mkdir -p "$FUSE" "$WORK/agent"
node_bg "$NODE_NS" python3 tests/tools/fusestall.py "$FUSE" "$WORK/fuse.ready"
FUSE_PID=$LAST_PID
settle test -f "$WORK/fuse.ready" || setup_failed "FUSE mount"

# hostile ARGS...: tests/tools/fdpeer.py as the agent, in the node netns,
# held in the background until the end; its lines in $PEER_OUT
NPEER=0
hostile() {
	NPEER=$((NPEER + 1))
	PEER_OUT=$WORK/agent/$NPEER.out
	node_bg "$NODE_NS" python3 tests/tools/fdpeer.py "$SOCK" \
		--out "$PEER_OUT" --as "$AGENT" "$@"
	for _ in $(seq 100); do
		grep -q '^held' "$PEER_OUT" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# answers_fast: root's status, and a CNI ADD as root, within a second each
status_fast() {
	timeout 1 "$BUILD/redirectctl" --socket "$SOCK" status
}
cni_add_fast() {
	pod_create "$1" || return 1
	t0=$(date +%s%N)
	cni_exec ADD "$1" "$(hook_conf ebpf false "$(cat "$WORK/$1.json")")" \
		"$BUILD/redirect-cni" >"$WORK/$1.hook.json" || return 1
	[ $((($(date +%s%N) - t0) / 1000000)) -lt 1000 ]
}

case_begin "a read-only peer's descriptors, before or after Hello, stall nothing"
check "restart: the agent may read only" restart --allow-uid "$AGENT"
for when in prehello status; do
	for fd in linger "$FUSE/file"; do
		what="$(basename "$fd") $when"
		check "$what: sent" hostile --fd "$fd" --when "$when" --wait 0.5
		check_contains "$what: the kernel refused it" "$(cat "$PEER_OUT")" \
			"send refused EPERM"
		check "$what: root's status within a second" status_fast
	done
done
check "a CNI ADD as root within a second" cni_add_fast e
check_contains "e enrolled" "$(uids)" "uid-$RUN-e"
case_end

case_begin "a pod-write peer's descriptors that are no netns: refused, closed off the loop"
check "restart: the agent may write pods" restart --allow-uid "$AGENT" \
	--allow-pod-writes
for fd in linger "$FUSE/file"; do
	what=$(basename "$fd")
	check "$what with a PodAdd: sent" hostile --fd "$fd" --when podadd \
		--uid "uid-$RUN-x" --ip "$(pod_ip b 4)" --wait 1
	out=$(cat "$PEER_OUT")
	check_contains "$what: taken (the peer may send a netns)" "$out" "send ok"
	check_contains "$what: refused" "$out" "reply 5 the descriptor sent with it is not a network namespace"
	check "$what: root's status within a second" status_fast
	check "$what with a StatusRequest: sent" hostile --fd "$fd" \
		--when status --wait 1
	check_contains "$what: refused" "$(cat "$PEER_OUT")" "reply 1"
	check "$what: root's status within a second" status_fast
done
check "a CNI ADD as root (its netns as an fd) within a second" cni_add_fast f
check_contains "f enrolled" "$(uids)" "uid-$RUN-f"
check_eq "nothing else enrolled" "" \
	"$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-x\") | .uid")"
case_end

case_begin "64 descriptors of non-root peers waiting to be closed: they may send no more"
# a FUSE server of this case's own: the closer is held by the first FLUSH
# until it goes; the other 63 wait behind it
F2=$WORK/fuse2
mkdir -p "$F2"
node_bg "$NODE_NS" python3 tests/tools/fusestall.py "$F2" "$WORK/fuse2.ready"
F2_PID=$LAST_PID
trap 'kill "$F2_PID" 2>/dev/null; umount -l "$F2" 2>/dev/null; fuse_down;
	node_cleanup' EXIT
check "a second FUSE mount" settle test -f "$WORK/fuse2.ready"
# a fresh closer: the last daemon's still waits for the first server
check "restart: the agent may write pods" restart --allow-uid "$AGENT" \
	--allow-pod-writes
check "64 FUSE files in one message" hostile --fd "$F2/file" --count 64 \
	--when status --wait 1
check "said so" settle grep -q "wait to be closed" "$WORK/$NODE_NS.log"
check "another pod-write peer's netns fd" hostile --when podadd \
	--fd "/var/run/netns/$RUN-b" --uid "uid-$RUN-b" --ip "$(pod_ip b 4)"
check_contains "refused by the kernel" "$(cat "$PEER_OUT")" "send refused EPERM"
pod_create i || fail "pod i"
out=$(printf '%s' "$(hook_conf ebpf false "$(cat "$WORK/i.json")")" |
	CNI_COMMAND=ADD CNI_CONTAINERID="$RUN-i" CNI_NETNS="/var/run/netns/$RUN-i" \
		CNI_IFNAME=eth0 CNI_PATH="$CNI_PLUGIN_DIR" \
		CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=i;K8S_POD_UID=uid-$RUN-i" \
		nsenter --net="/var/run/netns/$NODE_NS" setpriv --reuid="$AGENT" \
		--regid="$AGENT" --clear-groups "$BUILD/redirect-cni" 2>&1)
check "a CNI ADD as that uid: its netns by path alone" test $? -eq 0
check_contains "i enrolled" "$(uids)" "uid-$RUN-i"
check "root's CNI ADD (with its fd) all the same" cni_add_fast j
check "status within a second" status_fast
kill "$F2_PID"
umount -l "$F2"
check "once they are closed: said so" settle grep -q \
	"peers may send netns fds again" "$WORK/$NODE_NS.log"
check "a pod-write peer's netns fd" hostile --when podadd \
	--fd "/var/run/netns/$RUN-b" --uid "uid-$RUN-b" --ip "$(pod_ip b 4)"
check_contains "taken again" "$(cat "$PEER_OUT")" "reply 0 enrolled"
check "b deleted" ctl pod del "uid-$RUN-b"
case_end

case_begin "netns paths on a stalled FUSE mount stall nothing"
check "restart: the agent may write pods" restart --allow-uid "$AGENT" \
	--allow-pod-writes
# "file" is found, but the check that it is a netns (statfs) never
# returns; "stalled/x" is never found (the lookup never returns)
for path in "$FUSE/file" "$FUSE/stalled/x"; do
	check "PodAdd naming $path" hostile --when podadd --path "$path" \
		--uid "uid-$RUN-x" --ip "$(pod_ip b 4)" --wait 8
	check "meanwhile root's status within a second" status_fast
done
check "and a CNI ADD as root within a second" cni_add_fast g
# file: refused at once when its lookup is cached (it is on FUSE, not
# nsfs: told by its device, nothing asked of the server), else when the
# statfs timed out; stalled/x: when its lookup timed out
check_contains "file: refused" "$(cat "$WORK/agent/$((NPEER - 1)).out")" \
	"reply 5 network namespace"
check_contains "stalled/x: refused once its lookup timed out" \
	"$(cat "$WORK/agent/$NPEER.out")" "reply 5 network namespace"
check_contains "stalled/x: says why" "$(cat "$WORK/agent/$NPEER.out")" \
	"did not resolve in time"
check_eq "nothing else enrolled" "" \
	"$(ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-x\") | .uid")"
check_contains "g enrolled" "$(uids)" "uid-$RUN-g"
case_end

case_begin "a journaled ztunnel path that came to stall costs SIGHUP a second"
# ztunnel's netns bind-mounted at $ZNS/zt and added by that path; then a
# stalled FUSE file system mounted over $ZNS: the path's lookup never ends
ZNS=$WORK/zns
mkdir -p "$ZNS"
: >"$ZNS/zt"
check "bind mount" mount --bind "/var/run/netns/$RUN-zt" "$ZNS/zt"
check "ztunnel added by that path" ctl ztunnel add "uid-$RUN-zt" \
	--netns "$ZNS/zt" --ip "$Z4" --ip "$Z6"
# lazily: redirectd holds the netns open through it
umount -l "$ZNS/zt"
node_bg "$NODE_NS" python3 tests/tools/fusestall.py "$ZNS" "$WORK/zns.ready"
ZNS_PID=$LAST_PID
trap 'kill "$ZNS_PID" 2>/dev/null; umount -l "$ZNS" 2>/dev/null; fuse_down;
	node_cleanup' EXIT
check "the path stalls now" settle test -f "$WORK/zns.ready"
kill -HUP "$REDIRECTD_PID"
sleep 0.2
t0=$(date +%s%N)
check "root's status answers" timeout 3 "$BUILD/redirectctl" --socket "$SOCK" \
	status
check "within a second and a half of the SIGHUP" \
	test $((($(date +%s%N) - t0) / 1000000)) -lt 1300
check_eq "ztunnel still current (the netns held stays)" "uid-$RUN-zt" \
	"$(ctl -j status | jq -r .ztunnel_uid)"
check "b enrolled" ctl pod add "uid-$RUN-b" --netns "/var/run/netns/$RUN-b" \
	--ip "$(pod_ip b 4)"
check "a serves" pod_serve a --port 8083
z0=$(zt_count zt tcp15001 conns)
check "b -> a" pod_send b --to "$(pod_ip a 4)" --port 8083 --bytes 1000
check_eq "through ztunnel" $((z0 + 1)) "$(zt_count zt tcp15001 conns)"
check "b deleted" ctl pod del "uid-$RUN-b"
kill "$ZNS_PID"
umount -l "$ZNS"
check "ztunnel by its usual path again" ctl ztunnel add "uid-$RUN-zt" \
	--netns "/var/run/netns/$RUN-zt" --ip "$Z4" --ip "$Z6"
case_end

# The sweep drops peers that never said Hello. Peers that keep sending
# meanwhile have events waiting in the same batch as the sweep's: the
# daemon must not touch what it dropped (test_asan runs this too).
case_begin "peers dropped by the sweep while their requests are in flight"
python3 - "$SOCK" <<'PY' &
import socket, sys, time
socks = []
for _ in range(150):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    s.setblocking(False)
    socks.append(s)
end = time.time() + 7
while time.time() < end and socks:
    for s in list(socks):
        try:
            s.send(b"\x0a\x00")
            s.recv(65536)
        except BlockingIOError:
            pass
        except OSError:
            socks.remove(s)
    time.sleep(0.005)
PY
busy=$!
sleep 6.5
check "the daemon answers root meanwhile" ctl status
wait "$busy"
check "redirectd is still up" kill -0 "$REDIRECTD_PID"
check "and answers" ctl status
case_end

case_begin "once the hostile peers and the FUSE server are gone, all is well"
for pid in $NODE_PIDS; do
	[ "$pid" = "$REDIRECTD_PID" ] || [ "$pid" = "$ZT_PID" ] ||
		kill "$pid" 2>/dev/null
done
fuse_down
check "status" status_fast
check "a pod enrolled and deleted" cni_add_fast h
check "redirectd alive" kill -0 "$REDIRECTD_PID"
check "a clean stop" restart --allow-uid "$AGENT"
case_end

results
