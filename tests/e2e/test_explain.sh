#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# redirectctl explain against real traffic: for each row of the capture
# table this node can show (README), explain names a decision and a path,
# then real traffic of the same flow must move that very counter and go
# through ztunnel exactly when explain said so; and explain itself moves
# none of the node's counters. ATTACH=tcx runs the same with TCX links
# (not in make test's TCX pass: explain runs the same programs either way).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/kernel.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl redirect-cni ztunnel-sim
if [ "${ATTACH:-}" = tcx ]; then
	kernel_has_tcx || skip_suite "TCX needs Linux 6.6+"
fi
[ -x "$CNI_PLUGIN_DIR/ptp" ] || skip_suite "no ptp CNI plugin"

node_init "$BUILD"
node_start_redirectd || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
pod_create_chain a ptp ebpf false || setup_failed "pod a"
pod_create_chain b ptp ebpf true || setup_failed "pod b"
pod_create_chain c ptp none false || setup_failed "pod c"
pod_create_chain d ptp none false || setup_failed "pod d"
for p in a b c d; do
	pod_serve "$p" --port 8080 || setup_failed "server $p"
	pod_serve "$p" --port 9000 || setup_failed "server $p:9000"
	pod_serve "$p" --port 5353 --udp || setup_failed "udp server $p"
done
pod_serve c --port 53 --udp || setup_failed "dns server c"
node_bg "$NODE_NS" python3 tests/tools/traffic.py serve --port 9090 \
	--ready "$WORK/node.ready"
for _ in $(seq 50); do [ -f "$WORK/node.ready" ] && break; sleep 0.05; done
B4=$(pod_ip b 4) B6=$(pod_ip b 6) C4=$(pod_ip c 4) C6=$(pod_ip c 6)
D4=$(pod_ip d 4)
GW4=$(jq -r '.ips[] | select(.address | contains(":") | not) | .gateway' "$WORK/a.json")
pod_enrol a --exclude-outbound-cidr "$D4" --exclude-inbound-port 9000 \
	>/dev/null || setup_failed "a's exclusions"

# Connections and datagrams ztunnel's listeners took, all together.
zt_total() {
	sleep 0.05 # the stand-in's status file is rewritten within 10 ms
	jq '[.listeners[] | (.conns // 0) + (.packets // 0)] | add // 0' \
		"$WORK/zt.status" 2>/dev/null || echo 0
}

# row DESC POD "EXPLAIN ARGS" SENDER SEND-ARGS...: explain the flow, then
# send it for real and compare.
row() {
	desc=$1 pod=$2 args=$3
	shift 3
	case_begin "explain agrees with real traffic: $desc"
	# shellcheck disable=SC2086
	ctl -j explain "uid-$RUN-$pod" $args >"$WORK/x.json" 2>"$WORK/x.err"
	check_eq "explained" 0 $?
	prog=$(jq -r '.steps[0].program' "$WORK/x.json")
	dec=$(jq -r '.steps[0].decision' "$WORK/x.json")
	through=$(jq -r '.outcome | startswith("through ztunnel")' "$WORK/x.json")
	n0=$(dp_count "$prog" "$dec") z0=$(zt_total)
	check "the same flow, for real" pod_send "$@"
	check_gt "real traffic took $prog $dec, as explained" \
		"$(dp_count "$prog" "$dec")" "${n0:-0}"
	if [ "$through" = true ]; then
		check_gt "through ztunnel, as explained" "$(zt_total)" "$z0"
	else
		check_eq "not through ztunnel, as explained" "$z0" "$(zt_total)"
	fi
	case_end
}

row "TCP out, IPv4" a "--to $B4:8080" a --to "$B4" --port 8080 --bytes 1000
row "TCP out, IPv6" a "--to [$B6]:8080" a --to "$B6" --port 8080 --bytes 1000
row "TCP out to a node address" a "--to $GW4:9090" a --to "$GW4" --port 9090 --bytes 1000
row "TCP in" a "--in --from $C4:40001 --to :8080" c --to "$(pod_ip a 4)" --port 8080 --bytes 1000 --sport 40001
row "TCP in, IPv6" a "--in --from [$C6]:40002 --to :8080" c --to "$(pod_ip a 6)" --port 8080 --bytes 1000 --sport 40002
row "UDP out passes" a "--udp --to $C4:5353" a --to "$C4" --port 5353 --udp --bytes 100
row "UDP in passes" a "--in --udp --from $C4:40003 --to :5353" c --to "$(pod_ip a 4)" --port 5353 --udp --bytes 100 --sport 40003
row "DNS without capture passes" a "--udp --to $C4:53" a --to "$C4" --port 53 --udp --bytes 100
row "DNS with capture goes to ztunnel" b "--udp --to $C4:53" b --to "$C4" --port 53 --udp --bytes 100
row "an excluded destination passes" a "--to $D4:8080" a --to "$D4" --port 8080 --bytes 1000
row "an excluded inbound port passes" a "--in --from $C4:40004 --to :9000" c --to "$(pod_ip a 4)" --port 9000 --bytes 1000 --sport 40004
row "a port not excluded is captured" a "--in --from $C4:40005 --to :8080" c --to "$(pod_ip a 4)" --port 8080 --bytes 1000 --sport 40005

case_begin "explain names every program on the way, and moves no counter of the node's"
ctl -j stats | jq -c '.counters[] | select(.decision | test("redirect|assign|excluded"))' >"$WORK/c0"
ctl -j explain "uid-$RUN-a" --to "$B4:8080" >"$WORK/x.json"
check_eq "app_outbound then ztunnel_ingress" "app_outbound ztunnel_ingress" \
	"$(jq -r '[.steps[].program] | join(" ")' "$WORK/x.json")"
check_eq "to the outbound listener" assign_outbound_listener \
	"$(jq -r '.steps[1].decision' "$WORK/x.json")"
ctl -j explain "uid-$RUN-a" --in --from "$C4:40006" --to :8080 >"$WORK/x.json"
check_eq "app_inbound, ztunnel_host_in, ztunnel_ingress" \
	"app_inbound ztunnel_host_in ztunnel_ingress" \
	"$(jq -r '[.steps[].program] | join(" ")' "$WORK/x.json")"
check_eq "pod_guard would send it back to ztunnel" return_to_ztunnel \
	"$(jq -r '.around_app_inbound.decision' "$WORK/x.json")"
ctl -j explain "uid-$RUN-a" --to "$D4:8080" >"$WORK/x.json"
check_contains "the exclusion is named" "$(jq -r '.steps[0].why' "$WORK/x.json")" "$D4/32"
ctl explain "uid-$RUN-a" --to "$B4:8080" >"$WORK/x.txt"
check_contains "text output" "$(cat "$WORK/x.txt")" "outcome: through ztunnel"
ctl -j stats | jq -c '.counters[] | select(.decision | test("redirect|assign|excluded"))' >"$WORK/c1"
check_eq "no decision counter of the node moved" "$(cat "$WORK/c0")" "$(cat "$WORK/c1")"
case_end

# every pinned map but the counters, as the live programs see it
maps_dump() {
	for m in "$PIN"/*; do
		case $(basename "$m") in counters | layout) continue ;; esac
		bpftool -j map dump pinned "$m" 2>/dev/null
	done | md5sum
}

case_begin "explain changes no map the live datapath reads, and forgets between asks"
m0=$(maps_dump)
first=$(ctl -j explain "uid-$RUN-a" --in --udp --from "$D4:5353" --to :40000 |
	jq -r '.steps[0].decision')
ctl explain "uid-$RUN-a" --udp --to "$D4:5353" >/dev/null
ctl explain "uid-$RUN-a" --to "$D4:8080" >/dev/null
ctl explain "uid-$RUN-a" --in --from "$C4:40007" --to :9000 >/dev/null
check_eq "the same answer after an explain of the other direction" "$first" \
	"$(ctl -j explain "uid-$RUN-a" --in --udp --from "$D4:5353" --to :40000 |
		jq -r '.steps[0].decision')"
check_eq "no pinned map changed" "$m0" "$(maps_dump)"
case_end

case_begin "explain refuses what it cannot answer, clearly"
msg=$(ctl explain "uid-$RUN-nope" --to "$B4:8080" 2>&1)
check_contains "unknown pod" "$msg" "not enrolled"
msg=$(ctl explain "uid-$RUN-a" --to "$B4" 2>&1)
check_contains "no port" "$msg" "ADDR:PORT"
msg=$(ctl explain "uid-$RUN-a" --to "$B4:8080" --from 10.99.0.1:5 2>&1)
check_contains "an address not the pod's" "$msg" "no such address"
msg=$(ctl explain "uid-$RUN-a" --in --from "$C4:1" 2>&1)
check_contains "inbound needs the pod's port" "$msg" "--to :PORT"
case_end

# A ztunnel known by a netns fd alone, after a restart: its netns cannot
# be entered; explain says so (it once crashed redirectd here).
case_begin "explain with a ztunnel known only by fd after a restart: an error, no crash"
pod_create zt2 || fail "pod zt2"
check "ztunnel 2 enrolled by fd" sh -c "python3 tests/tools/rawreq.py '$SOCK' \
	--ztunneladd-fd /var/run/netns/$RUN-zt2 uid-$RUN-zt2 $(pod_ip zt2 4) |
	tail -n 1 | grep -q '^0 '"
kill -9 "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
check "restarted" node_start_redirectd
msg=$(ctl explain "uid-$RUN-a" --to "$B4:8080" 2>&1)
check_contains "ztunnel's netns is not known" "$msg" "netns is not known"
check "still serving" ctl status
check_eq "explain of a flow that stays out of ztunnel still answers" \
	pass_excluded "$(ctl -j explain "uid-$RUN-a" --to "$D4:8080" |
		jq -r '.steps[0].decision')"
case_end

results
