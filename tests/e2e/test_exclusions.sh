#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Per-pod exclusions (docs/exclusions.md) on a simulated node: a meshed
# pod's excluded destinations (CIDRs, ports) and inbound ports pass
# directly, the stand-in ztunnel's counters unchanged, while the rest of
# its traffic is still captured, IPv4 and IPv6; bypass of inbound capture;
# exclusions changed and removed on a live pod by re-sending PodAdd;
# malformed ones refused without touching the pod; kept over a restart;
# gone from the maps with the pod. ATTACH=tcx runs the same with TCX links
# (EXCL_CORE_ONLY=1: only the cases of real traffic both ways).
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
pod_create_chain c ptp none false || setup_failed "pod c"
pod_create_chain d ptp none false || setup_failed "pod d"
for p in a c d; do
	for port in 8080 5432 9000; do
		pod_serve "$p" --port "$port" || setup_failed "server $p:$port"
	done
	pod_serve "$p" --port 5353 --udp || setup_failed "udp server $p"
done
pod_serve d --port 53 --udp || setup_failed "dns server d"
pod_serve d --port 5432 --udp || setup_failed "udp server d:5432"
C4=$(pod_ip c 4) C6=$(pod_ip c 6) D4=$(pod_ip d 4) D6=$(pod_ip d 6)
A4=$(pod_ip a 4) A6=$(pod_ip a 6)

ZT=zt # the current ztunnel's stand-in
zt_out() { zt_count "$ZT" tcp15001 conns; }
zt_in() { zt_count "$ZT" tcp15006 conns; }
pod_field() {
	ctl -j pods | jq -c ".pods[] | select(.uid == \"uid-$RUN-$1\") | .$2"
}
# a's entries in the pinned exclusion maps (its host veth's ifindex)
excl_entries() {
	ifx=$(pod_field a host_ifindex)
	for m in excl_cidrs excl_ports; do
		bpftool -j map dump pinned "$PIN/$m" 2>/dev/null |
			jq -r ".[] | .formatted.key.ifindex // empty" |
			grep -cx "${ifx:-none}"
	done | awk '{ n += $1 } END { print n + 0 }'
}

# Re-sending PodAdd changes a live pod's exclusions (host bits of the
# second CIDR cleared, ports deduplicated and sorted).
case_begin "exclusions set on a live pod by re-sending PodAdd, shown by pods"
check "re-sent with exclusions" pod_enrol a \
	--exclude-outbound-cidr "$C4/32,$C6" \
	--exclude-outbound-cidr 203.0.113.77/24 \
	--exclude-outbound-port 5432,7654,6543,5432 --exclude-inbound-port 9001,9000
check_eq "cidrs, canonical" "[\"$C4/32\",\"$C6/128\",\"203.0.113.0/24\"]" \
	"$(pod_field a exclude_outbound_cidrs)"
check_eq "outbound ports" "[5432,6543,7654]" "$(pod_field a exclude_outbound_ports)"
check_eq "inbound ports" "[9000,9001]" "$(pod_field a exclude_inbound_ports)"
check_eq "no bypass" false "$(pod_field a bypass_inbound)"
check_contains "text listing" "$(ctl pods)" "excluded outbound ports 5432"
check_eq "entries in the maps: 3 cidrs, 5 ports" 8 "$(excl_entries)"
case_end

for fam in 4 6; do
	eval "C=\$C$fam D=\$D$fam"
	case_begin "IPv$fam: an excluded destination is reached directly"
	o=$(zt_out) x=$(dp_count app_outbound pass_excluded)
	r=$(dp_count app_inbound pass_excluded_reply)
	check "a -> c:8080 (excluded CIDR) intact" pod_send a --to "$C" \
		--port 8080 --bytes 200000
	check "a -> d:5432 (excluded port) intact" pod_send a --to "$D" \
		--port 5432 --bytes 200000
	check_eq "ztunnel saw neither" "$o" "$(zt_out)"
	check_gt "counted as excluded" "$(dp_count app_outbound pass_excluded)" "$x"
	check_gt "replies let in" "$(dp_count app_inbound pass_excluded_reply)" "$r"
	case_end

	case_begin "IPv$fam: everything else of the pod is still captured"
	o=$(zt_out)
	check "a -> d:8080 intact" pod_send a --to "$D" --port 8080 --bytes 1000
	check "a -> d:9000 intact" pod_send a --to "$D" --port 9000 --bytes 1000
	check_eq "both through ztunnel" $((o + 2)) "$(zt_out)"
	case_end

	case_begin "IPv$fam: an excluded inbound port is reached directly"
	i=$(zt_in) x=$(dp_count app_inbound pass_excluded)
	check "d -> a:9000 intact" pod_send d --to "$(pod_ip a $fam)" \
		--port 9000 --bytes 200000
	check_eq "ztunnel did not see it" "$i" "$(zt_in)"
	check_gt "counted" "$(dp_count app_inbound pass_excluded)" "$x"
	check "d -> a:8080 intact" pod_send d --to "$(pod_ip a $fam)" \
		--port 8080 --bytes 1000
	check_eq "other ports captured inbound" $((i + 1)) "$(zt_in)"
	case_end

	# An excluded destination is no way in: c's connections to a go
	# through ztunnel, and a's answers on them back through it.
	case_begin "IPv$fam: a peer at an excluded destination is captured inbound"
	i=$(zt_in)
	check "c -> a:8080 intact" pod_send c --to "$(pod_ip a $fam)" \
		--port 8080 --bytes 200000
	check_eq "through ztunnel" $((i + 1)) "$(zt_in)"
	case_end
done

# An excluded inbound port is not a way out: a connection the pod opens
# from that port (9001: no listener holds it) is its own, and captured.
case_begin "a connection from an excluded inbound port is still captured"
o=$(zt_out)
check "a:9001 -> d:8080 intact" pod_send a --to "$D4" --port 8080 \
	--sport 9001 --bytes 1000
check_eq "through ztunnel" $((o + 1)) "$(zt_out)"
case_end

# What depends on the attach mode ends here: the rest is the same logic
# either way, run once (make test's TCX pass sets EXCL_CORE_ONLY=1).
if [ "${EXCL_CORE_ONLY:-0}" = 1 ]; then
	results
	exit $?
fi

# The rules name a direction: both may meet in one flow.
case_begin "peers at an excluded destination or port reach an excluded inbound port"
i=$(zt_in)
check "c (an excluded destination) -> a:9000 intact" pod_send c --to "$A4" \
	--port 9000 --bytes 100000
check "d from 7654 (an excluded port) -> a:9000 intact" pod_send d \
	--to "$A4" --port 9000 --bytes 100000 --sport 7654
check_eq "ztunnel saw neither" "$i" "$(zt_in)"
case_end

# A peer cannot forge a record that would pass a pod's packets later.
case_begin "a forged segment from an excluded port opens nothing"
in_pod d python3 tests/tools/rawtcp.py "$D4" 6543 "$A4" 8080
i=$(zt_in)
check "then d:6543 -> a:8080 intact" pod_send d --to "$A4" --port 8080 \
	--bytes 100000 --sport 6543
check_eq "through ztunnel" $((i + 1)) "$(zt_in)"
case_end

case_begin "malformed exclusions are refused and change nothing"
before=$(ctl -j pods | jq -c ".pods[] | select(.uid == \"uid-$RUN-a\")")
msg=$(pod_enrol a --exclude-outbound-cidr 10.0.0.0/33 2>&1)
check_not "a /33 refused" test $? = 0
check_contains "the field is named" "$msg" "exclude_outbound_cidrs"
msg=$(pod_enrol a --exclude-outbound-port 70000 2>&1)
check_contains "a port past 65535 refused, named" "$msg" "exclude_outbound_ports"
msg=$(pod_enrol a --exclude-inbound-port 0 2>&1)
check_contains "port 0 refused, named" "$msg" "exclude_inbound_ports"
msg=$(pod_enrol a --exclude-outbound-port http 2>&1)
check_contains "a name is no port" "$msg" "is not a port"
check_eq "a's record unchanged" "$before" \
	"$(ctl -j pods | jq -c ".pods[] | select(.uid == \"uid-$RUN-a\")")"
check_eq "its map entries unchanged" 8 "$(excl_entries)"
case_end

case_begin "exclusions survive a restart of redirectd (journaled)"
kill -9 "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
node_start_redirectd || setup_failed "redirectd again"
check_eq "still shown" "[5432,6543,7654]" "$(pod_field a exclude_outbound_ports)"
check_eq "still in the maps" 8 "$(excl_entries)"
o=$(zt_out)
check "a -> c:8080 intact" pod_send a --to "$C4" --port 8080 --bytes 1000
check_eq "still excluded" "$o" "$(zt_out)"
case_end

case_begin "an IPv6 prefix never covers IPv4 addresses"
check "re-sent with ::/0" pod_enrol a --exclude-outbound-cidr ::/0
o=$(zt_out)
check "a -> d over IPv6 intact" pod_send a --to "$D6" --port 8080 --bytes 1000
check_eq "IPv6 excluded" "$o" "$(zt_out)"
check "a -> d over IPv4 intact" pod_send a --to "$D4" --port 8080 --bytes 1000
check_eq "IPv4 still captured" $((o + 1)) "$(zt_out)"
case_end

# UDP has no opening packet: an exclusion of one direction must not pass
# the other's datagrams, nor turn DNS capture off.
case_begin "UDP: exclusions pass only their own direction (all-UDP ztunnel)"
old_pid=$ZT_PID
check "ztunnel 2, capturing UDP" ztunnel_start zt2 udp
ZT=zt2
check "a re-sent: out port 5432, in port 9001, DNS capture" pod_enrol a \
	--exclude-outbound-port 5432,6543 --exclude-inbound-port 9001 --dns-capture
u=$(zt_count zt2 udp15001 conns) v=$(zt_count zt2 udp15006 conns)
check "a from 9001 (excluded in) -> d:5353 intact" pod_send a --to "$D4" \
	--port 5353 --udp --bytes 100 --sport 9001
check_eq "captured out" $((u + 1)) "$(zt_count zt2 udp15001 conns)"
check "d from 6543 (excluded out) -> a:5353 intact" pod_send d --to "$A4" \
	--port 5353 --udp --bytes 100 --sport 6543
check_eq "captured in" $((v + 1)) "$(zt_count zt2 udp15006 conns)"
u=$(zt_count zt2 udp15001 conns)
check "a -> d:5432 (excluded out) intact" pod_send a --to "$D4" \
	--port 5432 --udp --bytes 100
check_eq "excluded, not captured" "$u" "$(zt_count zt2 udp15001 conns)"
check "a re-sent: bypass inbound, DNS capture" pod_enrol a --bypass-inbound \
	--dns-capture
q=$(zt_count zt2 dns15053 conns)
check "a -> d:53 intact" pod_send a --to "$D4" --port 53 --udp --bytes 100
check_gt "DNS still captured with bypass" "$(zt_count zt2 dns15053 conns)" "$q"
ZT_PID=$old_pid
case_end

case_begin "bypass of inbound capture: peers reach every port directly"
check "re-sent with --bypass-inbound only" pod_enrol a --bypass-inbound
check_eq "shown" true "$(pod_field a bypass_inbound)"
check_eq "the other exclusions are gone" "[]" \
	"$(pod_field a exclude_outbound_cidrs)"
check_eq "and their map entries" 0 "$(excl_entries)"
i=$(zt_in) o=$(zt_out)
check "d -> a:8080 intact" pod_send d --to "$A4" --port 8080 --bytes 100000
check "d -> a:8080 over IPv6 intact" pod_send d --to "$A6" --port 8080 \
	--bytes 100000
check_eq "ztunnel saw no inbound" "$i" "$(zt_in)"
check "a -> c:8080 intact" pod_send a --to "$C4" --port 8080 --bytes 1000
check_eq "outbound captured again (c no longer excluded)" $((o + 1)) "$(zt_out)"
case_end

case_begin "no exclusions: the pod is fully captured again"
check "re-sent without exclusions" pod_enrol a
check_eq "no bypass" false "$(pod_field a bypass_inbound)"
i=$(zt_in)
check "d -> a:9000 intact" pod_send d --to "$A4" --port 9000 --bytes 1000
check_eq "captured inbound" $((i + 1)) "$(zt_in)"
case_end

case_begin "a pod's exclusion entries go with it"
check "exclusions again" pod_enrol a --exclude-outbound-cidr "$C4" \
	--exclude-inbound-port 9000
check_eq "in the maps" 2 "$(excl_entries)"
ifx=$(pod_field a host_ifindex)
check "pod deleted" ctl pod del "uid-$RUN-a"
left=$(for m in excl_cidrs excl_ports; do
	bpftool -j map dump pinned "$PIN/$m" | jq -r '.[] | .formatted.key.ifindex'
done | grep -cx "$ifx")
check_eq "none left for its veth" 0 "$left"
case_end

results
