#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# redirectd under valgrind (memcheck) on a simulated node: VALGRIND_PODS
# pods (default 1000) enrolled and removed, a snapshot, ztunnel added,
# replaced and deleted, every query (a pod list of many pages among
# them), SIGHUP, a client still connected at the end; then SIGTERM:
# valgrind must report no error and no definite or indirect leak.
#
# The pods share one "pods" netns, as interfaces pod0..podN-1 whose veth
# peers hv0..hvN-1 sit in the node netns: the API names a pod's interface,
# so a netns per pod is not needed (and 1000 of them would be slow).
# tests/tools/valgrind-bpf.supp silences valgrind's over-strict checks of
# the bpf() syscall (see there); nothing of ours is suppressed.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh
. tests/lib/kernel.sh

need_root
command -v valgrind >/dev/null || skip_suite "valgrind missing"
need_built redirectd tcxattach
NPODS=${VALGRIND_PODS:-1000}

node_init "$BUILD"
PODS_NS=$RUN-pods
ip netns add "$PODS_NS"
NODE_PODS="$NODE_PODS pods"
VGLOG=$WORK/valgrind.log
VG="valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect"
VG="$VG --error-exitcode=99 --num-callers=30 --log-file=$VGLOG"
VG="$VG --suppressions=tests/tools/valgrind-bpf.supp --gen-suppressions=all"

npods() {
	ctl -j status | jq -r .pods
}

pod_ip_of() {
	echo "10.200.$(($1 / 256)).$(($1 % 256))"
}

started() {
	echo "$(($(date +%s) - T0))s"
}
T0=$(date +%s)

case_begin "$NPODS veth pairs, redirectd starts under valgrind"
i=0
while [ "$i" -lt "$NPODS" ]; do
	# ip link add hvI type veth peer name podI netns PODS
	echo "link add hv$i type veth peer name pod$i netns $PODS_NS"
	i=$((i + 1))
done >"$WORK/veths"
check "veths created" in_node ip -batch "$WORK/veths"
# the address each PodAdd claims, on its interface (redirectd checks)
i=0
while [ "$i" -lt "$NPODS" ]; do
	echo "addr add $(pod_ip_of "$i")/32 dev pod$i"
	i=$((i + 1))
done >"$WORK/addrs"
check "addresses put" nsrun "$PODS_NS" ip -batch "$WORK/addrs"
if ! node_start_redirectd_under "$VG" --no-sockmap; then
	fail "redirectd did not start under valgrind"
	case_end
	tail -n 30 "$VGLOG"
	results
	exit 1
fi
echo "  up after $(started)"
case_end

case_begin "$NPODS pods enrolled"
i=0 bad=0
while [ "$i" -lt "$NPODS" ]; do
	ctl pod add "uid-$i" --netns "/var/run/netns/$PODS_NS" --ifname "pod$i" \
		--name "pod$i" --namespace default --ip "$(pod_ip_of "$i")" \
		>/dev/null 2>&1 || bad=$((bad + 1))
	i=$((i + 1))
done
check_eq "failed adds" 0 "$bad"
check_eq "pods enrolled" "$NPODS" "$(npods)"
check_contains "filter on the last veth" \
	"$(in_node tc filter show dev "hv$((NPODS - 1))" ingress)" "app_outbound"
echo "  enrolled after $(started)"
case_end

# The order watch must not wait behind the coverage checks: here every
# pod's netns holds all 1000 addresses, so under valgrind a coverage check
# takes tens of ms and their 20 ms budget a tick reaches about one pod a
# tick; a CNI's TCX program arriving on the last pod's veth must still be
# seen (and, with --attach auto, ours moved to the TCX head) in seconds.
last=$((NPODS - 1))
cni_pin=$PIN-cni-last
attach_of_last() {
	ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$last\") | .attach"
}
moved_to_tcx() {
	[ "$(attach_of_last)" = tcx ]
}
T_TCX_CASE="a TCX program arriving on one of $NPODS pods is seen in seconds"
if ! kernel_has_tcx; then
	case_skip "$T_TCX_CASE" "TCX links need Linux 6.6+"
else
	case_begin "$T_TCX_CASE"
fi
if kernel_has_tcx && check "the CNI's TCX program on hv$last" in_node "$BUILD/tcxattach" \
	"$BUILD/bpf/tests/foreign_ok.bpf.o" "hv$last" in "$cni_pin"; then
	t1=$(date +%s)
	i=0
	while ! moved_to_tcx && [ "$i" -lt 60 ]; do
		sleep 1
		i=$((i + 1))
	done
	check "moved to the TCX head within 60 s" moved_to_tcx
	echo "  seen after $(($(date +%s) - t1))s"
	rm -rf "$cni_pin"
fi
kernel_has_tcx && case_end

case_begin "queries: status, stats, the pod list (in pages), one pod"
check "status" ctl status
check "stats" ctl stats
check_eq "listed" "$NPODS" "$(ctl -j pods | jq '.pods | length')"
case_end

case_begin "exclusions, explain and doctor under valgrind"
check "a pod's exclusions set" ctl pod add uid-1 \
	--netns "/var/run/netns/$PODS_NS" --ifname pod1 \
	--ip "$(pod_ip_of 1)" --exclude-outbound-cidr 10.96.0.0/12,fd00::/8 \
	--exclude-outbound-port 5432 --exclude-inbound-port 9000
check "explained out" ctl explain uid-1 --to 10.96.0.10:443
check "explained in" ctl explain uid-1 --in --from 10.1.0.5:4000 --to :9000
ctl doctor --cni-conf-dir "$WORK" >/dev/null 2>&1
rc=$? # its worst finding: 0, 6 or 7
case $rc in 0 | 6 | 7) ;; *) fail "doctor exited $rc" ;; esac
check "exclusions cleared" ctl pod add uid-1 \
	--netns "/var/run/netns/$PODS_NS" --ifname pod1 --ip "$(pod_ip_of 1)"
case_end

case_begin "ztunnel added, replaced, deleted"
pod_create zt && pod_create zt2
check "ztunnel add" ctl ztunnel add uid-zt --netns "/var/run/netns/$RUN-zt" \
	--ip "$(pod_ip zt 4)"
check "ztunnel replaced" ctl ztunnel add uid-zt2 \
	--netns "/var/run/netns/$RUN-zt2" --ip "$(pod_ip zt2 4)"
check "old ztunnel deleted" ctl ztunnel del uid-zt
check_eq "ztunnel present" true "$(ctl -j status | jq -r .ztunnel_present)"
case_end

case_begin "SIGHUP reconciles, the daemon keeps serving"
check "SIGHUP" kill -HUP "$REDIRECTD_PID"
sleep 1
check "status after SIGHUP" ctl status
check_eq "pods kept" "$NPODS" "$(npods)"
case_end

case_begin "snapshot removes the pods not named"
keep=$((NPODS * 9 / 10))
uids=$(i=0; while [ "$i" -lt "$keep" ]; do echo "uid-$i"; i=$((i + 1)); done)
# shellcheck disable=SC2086
check "snapshot" ctl snapshot $uids
check_eq "pods kept" "$keep" "$(npods)"
case_end

case_begin "every pod removed"
i=0 bad=0
while [ "$i" -lt "$NPODS" ]; do
	ctl pod del "uid-$i" >/dev/null 2>&1 || bad=$((bad + 1))
	i=$((i + 1))
done
check_eq "failed deletes" 0 "$bad"
check_eq "pods enrolled" 0 "$(npods)"
check_eq "no map entry left" 0 \
	"$(bpftool map dump pinned "$PIN/pods" -j | jq length)"
check "ztunnel deleted" ctl ztunnel del uid-zt2
echo "  removed after $(started)"
case_end

case_begin "SIGTERM with a client connected: no error, no definite or indirect leak"
node_bg "$NODE_NS" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
open(sys.argv[2], "w").close()
time.sleep(300)' "$SOCK" "$WORK/client.ready"
for _ in $(seq 100); do [ -f "$WORK/client.ready" ] && break; sleep 0.05; done
check_eq "clients connected (that one and ours)" 2 \
	"$(ctl -j status | jq -r .clients)"
kill -TERM "$REDIRECTD_PID"
wait "$REDIRECTD_PID"
rc=$?
echo "  valgrind exit $rc after $(started)"
check_eq "valgrind exit status" 0 "$rc"
summary=$(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|All heap blocks' "$VGLOG")
echo "$summary" | sed 's/^==[0-9]*== /  /'
check_contains "no errors" "$summary" "ERROR SUMMARY: 0 errors"
case $summary in
*"All heap blocks were freed"*) ;;
*)
	check_contains "nothing definitely lost" "$summary" "definitely lost: 0 bytes"
	check_contains "nothing indirectly lost" "$summary" "indirectly lost: 0 bytes"
	;;
esac
if [ "$T_CASE_FAILED" = 1 ]; then
	sed -n '/^==[0-9]*== [A-Z]/,/^==[0-9]*== $/p' "$VGLOG" | head -n 80 |
		sed 's/^/  | /'
fi
case_end

results
