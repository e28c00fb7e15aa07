#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# redirect-cni chained after Debian's ptp and bridge plugins on a simulated
# node, each conflist run the way a runtime (libcni) runs it: ADD in order,
# every plugin given the previous one's result as prevResult; CHECK in order
# and DEL in reverse, given the cached ADD result.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl redirect-cni
for b in ptp bridge host-local; do
	[ -x "$CNI_PLUGIN_DIR/$b" ] || skip_suite "$CNI_PLUGIN_DIR/$b missing"
done
command -v jq >/dev/null || skip_suite "jq missing"

node_init "$BUILD"
node_start_redirectd || setup_failed redirectd

# CNI_PATH of this run: the reference plugins and ours, side by side.
CNIBIN=$WORK/cni-bin
mkdir -p "$CNIBIN"
for f in "$CNI_PLUGIN_DIR"/*; do
	ln -s "$f" "$CNIBIN/"
done
ln -s "$(realpath "$BUILD/redirect-cni")" "$CNIBIN/redirect-cni"

# conflist KIND HOOK_JSON [VERSION]: the primary plugin, then redirect-cni
# with HOOK_JSON merged into its entry.
conflist() {
	cl_conf=$(cni_conf "$1")
	if [ "$1" = bridge ]; then
		# a subnet of its own: cni0 must not hold the ptp pods' gateway
		cl_conf=$(printf '%s' "$cl_conf" | jq --arg d "$WORK/ipam-br" '
			.ipam.dataDir = $d |
			.ipam.ranges = [[{subnet: "10.245.0.0/24"}],
					[{subnet: "fd00:245::/64"}]]')
	fi
	printf '%s' "$cl_conf" | jq --arg sock "$SOCK" --argjson hook "$2" \
		--arg v "${3:-1.0.0}" '{
		cniVersion: $v, name: .name,
		plugins: [del(.cniVersion, .name),
			  ({type: "redirect-cni", redirectMode: "ebpf",
			    socketPath: $sock,
			    excludeNamespaces: ["kube-system"]} + $hook)]}'
}

# A pod's network namespace, made the way node.sh makes it, without ADD.
pod_netns() {
	ip netns add "$RUN-$1" || return 1
	NODE_PODS="$NODE_PODS $1"
	in_pod "$1" ip link set lo up
	in_pod "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0
	in_pod "$1" sysctl -qw net.ipv6.conf.default.accept_dad=0
}

# entry LIST I [PREV]: plugin I's network config, as libcni builds it.
entry() {
	if [ -n "${3:-}" ]; then
		jq -c --argjson i "$2" --slurpfile prev "$3" \
			'.plugins[$i] + {cniVersion, name, prevResult: $prev[0]}' "$1"
	else
		jq -c --argjson i "$2" '.plugins[$i] + {cniVersion, name}' "$1"
	fi | with_annotations
}

# The pod's annotations (POD_ANNOTATIONS, a JSON object, when set) in
# runtimeConfig, for a plugin that declares the capability: what
# containerd and CRI-O do (libcni passes a plugin only what it declares).
CAP=io.kubernetes.cri.pod-annotations
with_annotations() {
	if [ -z "${POD_ANNOTATIONS:-}" ]; then
		cat
		return
	fi
	jq -c --arg cap "$CAP" --argjson a "$POD_ANNOTATIONS" '
		if .capabilities[$cap] == true
		then .runtimeConfig = {($cap): $a} else . end'
}

# plugin_exec CMD POD CONF K8S_NAMESPACE NETNS: one plugin, found by its
# type in CNI_PATH, run in the node netns; its stderr goes to cni.log.
plugin_exec() {
	pe_type=$(jq -r .type "$3")
	CNI_COMMAND=$1 CNI_CONTAINERID="$RUN-$2" CNI_NETNS="$5" \
		CNI_IFNAME=eth0 CNI_PATH="$CNIBIN" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$4;K8S_POD_NAME=$2;K8S_POD_UID=uid-$RUN-$2" \
		nsenter --net="/var/run/netns/$NODE_NS" "$CNIBIN/$pe_type" \
		<"$3" 2>>"$WORK/cni.log"
}

# chain ADD|CHECK|DEL POD LIST [K8S_NAMESPACE]: prints what the runtime
# would get back: ADD the final result (cached in POD.cached) or the
# failing plugin's error; CHECK and DEL everything the plugins printed.
# Every plugin's output is kept in $WORK/POD.CMD.I.
chain() {
	c_cmd=$1 c_pod=$2 c_list=$3 c_kns=${4:-default}
	c_n=$(jq '.plugins | length' "$c_list")
	c_prev="" c_i=0 c_step=1 c_all=$WORK/$c_pod.$c_cmd.all
	[ "$c_cmd" = DEL ] && c_i=$((c_n - 1)) c_step=-1
	[ "$c_cmd" != ADD ] && [ -f "$WORK/$c_pod.cached" ] &&
		c_prev=$WORK/$c_pod.cached
	: >"$c_all"
	while [ "$c_i" -ge 0 ] && [ "$c_i" -lt "$c_n" ]; do
		c_out=$WORK/$c_pod.$c_cmd.$c_i
		entry "$c_list" "$c_i" "$c_prev" >"$WORK/$c_pod.conf"
		plugin_exec "$c_cmd" "$c_pod" "$WORK/$c_pod.conf" "$c_kns" \
			"/var/run/netns/$RUN-$c_pod" >"$c_out"
		c_rc=$?
		cat "$c_out" >>"$c_all"
		if [ "$c_rc" -ne 0 ]; then
			cat "$c_out"
			return "$c_rc"
		fi
		[ "$c_cmd" = ADD ] && c_prev=$c_out
		c_i=$((c_i + c_step))
	done
	case $c_cmd in
	ADD) cp "$c_prev" "$WORK/$c_pod.cached" && cat "$c_prev" ;;
	DEL) rm -f "$WORK/$c_pod.cached" && cat "$c_all" ;;
	*) cat "$c_all" ;;
	esac
}

# hook CMD POD LIST PREV [K8S_NAMESPACE [NETNS]]: redirect-cni alone, as
# the last plugin of LIST, given PREV (a file, or "" for none).
hook() {
	h_n=$(jq '.plugins | length' "$3")
	entry "$3" $((h_n - 1)) "$4" >"$WORK/$2.hook.conf"
	plugin_exec "$1" "$2" "$WORK/$2.hook.conf" "${5:-default}" \
		"${6-/var/run/netns/$RUN-$2}"
}

# raw CMD: redirect-cni with stdin from the caller and a minimal env.
raw() {
	CNI_COMMAND=$1 CNI_CONTAINERID="$RUN-raw" CNI_IFNAME=eth0 \
		CNI_NETNS="/var/run/netns/$NODE_NS" CNI_PATH="$CNIBIN" \
		"$CNIBIN/redirect-cni" 2>>"$WORK/cni.log"
}

pod_json() {
	ctl -j pods | jq -c --arg u "uid-$RUN-$1" '.pods[] | select(.uid == $u)'
}

enrolled() {
	[ -n "$(pod_json "$1")" ]
}

npods() {
	ctl -j status | jq -r .pods
}

# the pod's addresses, sorted: as redirectd has them, as a result has them
enrolled_ips() {
	pod_json "$1" | jq -r '.ips[]' | sort | tr '\n' ' '
}

result_ips() {
	jq -r '.ips[].address' "$1" | cut -d/ -f1 | sort | tr '\n' ' '
}

result_host_veth() {
	jq -r '.interfaces[] | select((.sandbox // "") == "") | .name' "$1" |
		grep -v '^cni0$'
}

same_json() {
	[ "$(jq -S -c . "$1")" = "$(jq -S -c . "$2")" ]
}

# one JSON document and nothing else on stdout; prints a field of it
json_field() {
	[ "$(printf '%s' "$1" | jq -s length 2>/dev/null)" = 1 ] || {
		echo "not-one-json-document"
		return
	}
	printf '%s' "$1" | jq -r "$2"
}

filter_on() {
	in_node tc filter show dev "$1" "$2"
}

PTP=$WORK/ptp.conflist
conflist ptp '{}' >"$PTP"

# --- the plugin's own surface ----------------------------------------
case_begin "VERSION"
out=$(raw VERSION </dev/null)
check_eq "exit 0" 0 $?
check_eq "versions" '{"cniVersion":"1.0.0","supportedVersions":["0.4.0","1.0.0"]}' \
	"$(printf '%s' "$out" | jq -c .)"
case_end

case_begin "malformed stdin and bad config get CNI error JSON, exit 1"
out=$(printf '{bad' | raw ADD)
check_eq "exit 1" 1 $?
check_eq "undecodable: code 6 (failed to decode content)" 6 "$(json_field "$out" .code)"
check_eq "cniVersion in the error" 1.0.0 "$(json_field "$out" .cniVersion)"
check_contains "msg" "$(json_field "$out" .msg)" "decode"
out=$(printf '' | raw DEL)
check_eq "empty stdin: code 6" 6 "$(json_field "$out" .code)"
out=$(printf '{"cniVersion":"1.0.0","redirectMode":"ebpf","dnsCapture":"yes"}' | raw ADD)
check_eq "bad field type: code 7 (invalid config)" 7 "$(json_field "$out" .code)"
check_contains "details name the field" "$(json_field "$out" .details)" dnsCapture
out=$(printf '{"cniVersion":"0.4.0","redirectMode":"ebpf","socketPath":"rel"}' | raw CHECK)
check_eq "relative socketPath: code 7" 7 "$(json_field "$out" .code)"
check_eq "error in the config's version" 0.4.0 "$(json_field "$out" .cniVersion)"
out=$(printf '{"cniVersion":"1.0.0","redirectMode":"ebpf","socketPath":"%s"}' "$SOCK" | raw ADD)
check_eq "ebpf ADD without prevResult: code 7" 7 "$(json_field "$out" .code)"
out=$(printf '{"cniVersion":"0.3.1"}' | raw ADD)
check_eq "unsupported version: code 1" 1 "$(json_field "$out" .code)"
out=$(printf '{"cniVersion":"1.0.0","redirectMode":"ebpf"}' | env -u CNI_NETNS \
	CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_IFNAME=eth0 "$CNIBIN/redirect-cni" 2>/dev/null)
check_eq "ebpf ADD without CNI_NETNS: code 4" 4 "$(json_field "$out" .code)"
out=$(printf '{"cniVersion":"1.0.0","redirectMode":"ebpf"}' | env CNI_COMMAND=DEL \
	CNI_CONTAINERID=x CNI_IFNAME=eth0 CNI_ARGS="K8S_POD_NAME" "$CNIBIN/redirect-cni" 2>/dev/null)
check_eq "ebpf DEL with a CNI_ARGS pair without '=': code 4" 4 "$(json_field "$out" .code)"
out=$(printf '{"cniVersion":"1.0.0"}' | raw GC)
check_eq "unknown command: code 4" 4 "$(json_field "$out" .code)"
out=$(printf '{"cniVersion":"1.0.0"}' | env CNI_COMMAND=DEL CNI_CONTAINERID=x \
	CNI_IFNAME=eth0 CNI_ARGS="K8S_POD_NAME" "$CNIBIN/redirect-cni" 2>/dev/null)
check_eq "pass-through DEL ignores CNI_ARGS" "" "$out"
check_eq "nothing enrolled" 0 "$(npods)"
case_end

# --- ptp --------------------------------------------------------------
case_begin "ptp + redirect-cni: ADD enrols the pod and passes the result on"
pod_netns a
out=$(chain ADD a "$PTP")
check_eq "ADD exit 0" 0 $?
check "ADD output is prevResult (ptp's result)" same_json "$WORK/a.ADD.1" "$WORK/a.ADD.0"
check_eq "cniVersion of the config" 1.0.0 "$(json_field "$out" .cniVersion)"
check "pod enrolled" enrolled a
check_eq "both addresses" "$(result_ips "$WORK/a.ADD.0")" "$(enrolled_ips a)"
check_eq "two addresses" 2 "$(pod_json a | jq '.ips | length')"
VA=$(result_host_veth "$WORK/a.ADD.0")
check_eq "host veth" "$VA" "$(pod_json a | jq -r .host_veth)"
check_eq "name" a "$(pod_json a | jq -r .name)"
check_eq "namespace" default "$(pod_json a | jq -r .namespace)"
check_eq "netns" "/var/run/netns/$RUN-a" "$(pod_json a | jq -r .netns)"
check_eq "interface" eth0 "$(pod_json a | jq -r .interface)"
check_eq "dns capture off by default" false "$(pod_json a | jq -r .dns_capture)"
check_contains "app_outbound on the host veth" "$(filter_on "$VA" ingress)" app_outbound
check_contains "app_inbound on the host veth" "$(filter_on "$VA" egress)" app_inbound
case_end

case_begin "CHECK succeeds for an enrolled pod"
out=$(chain CHECK a "$PTP")
check_eq "CHECK exit 0" 0 $?
check_eq "nothing printed" "" "$out"
case_end

case_begin "CHECK fails when the enrolment is gone or differs"
check "unenrol behind the plugin's back" ctl pod del "uid-$RUN-a"
out=$(chain CHECK a "$PTP")
check_eq "CHECK exit 1" 1 $?
check_eq "error code" 999 "$(json_field "$out" .code)"
check_contains "says why" "$(json_field "$out" .msg)" "not enrolled"
out=$(hook ADD a "$PTP" "$WORK/a.cached")
check_eq "re-enrol with redirect-cni alone" 0 $?
printf '%s' "$out" >"$WORK/a.re"
check "same result" same_json "$WORK/a.cached" "$WORK/a.re"
jq '.ips[0].address = "10.244.0.250/24"' "$WORK/a.cached" >"$WORK/a.other"
out=$(hook CHECK a "$PTP" "$WORK/a.other")
check_eq "other addresses: exit 1" 1 $?
check_contains "says why" "$(json_field "$out" .msg)" "other addresses"
check "CHECK with the real result" hook CHECK a "$PTP" "$WORK/a.cached"
case_end

case_begin "DEL removes the pod; a second DEL succeeds"
out=$(chain DEL a "$PTP")
check_eq "DEL exit 0" 0 $?
check_eq "nothing printed" "" "$out"
check_not "pod gone" enrolled a
check_eq "veth gone with ptp's DEL" 0 "$(in_node ip -o link show dev "$VA" 2>/dev/null | wc -l)"
out=$(chain DEL a "$PTP")
check_eq "second DEL exit 0" 0 $?
check_eq "nothing printed" "" "$out"
out=$(hook DEL a "$PTP" "" default "")
check_eq "DEL without prevResult or CNI_NETNS" 0 $?
check_eq "nothing printed" "" "$out"
out=$(hook CHECK a "$PTP" "$WORK/a.ADD.0")
check_eq "CHECK after DEL fails" 1 $?
check_eq "error code" 999 "$(json_field "$out" .code)"
case_end

case_begin "a late DEL from another sandbox leaves the pod enrolled"
pod_netns b
check "ADD b" chain ADD b "$PTP"
check "b enrolled" enrolled b
out=$(hook DEL b "$PTP" "$WORK/b.cached" default "/var/run/netns/$RUN-b-old")
check_eq "DEL exit 0" 0 $?
check "b still enrolled" enrolled b
check "DEL of b's own sandbox" chain DEL b "$PTP"
check_not "b gone" enrolled b
case_end

case_begin "redirectMode none (or missing, or iptables) passes through"
pod_netns c
for mode in none iptables missing; do
	conflist ptp "{\"redirectMode\": \"$mode\"}" |
		jq 'if .plugins[1].redirectMode == "missing"
		    then del(.plugins[1].redirectMode) else . end' \
		>"$WORK/pass.conflist"
	n0=$(npods)
	out=$(chain ADD c "$WORK/pass.conflist")
	check_eq "ADD exit 0 ($mode)" 0 $?
	check "output is ptp's result ($mode)" same_json "$WORK/c.ADD.1" "$WORK/c.ADD.0"
	check_eq "nothing enrolled ($mode)" "$n0" "$(npods)"
	check_not "c not enrolled ($mode)" enrolled c
	VC=$(result_host_veth "$WORK/c.ADD.0")
	check_eq "no filter ($mode)" 0 "$(filter_on "$VC" ingress | grep -c app_outbound)"
	check "CHECK exit 0 ($mode)" chain CHECK c "$WORK/pass.conflist"
	out=$(chain DEL c "$WORK/pass.conflist")
	check_eq "DEL exit 0 ($mode)" 0 $?
	check_eq "DEL prints nothing ($mode)" "" "$out"
done
case_end

case_begin "an excluded namespace passes through"
pod_netns d
out=$(chain ADD d "$PTP" kube-system)
check_eq "ADD exit 0" 0 $?
check "output is ptp's result" same_json "$WORK/d.ADD.1" "$WORK/d.ADD.0"
check_not "d not enrolled" enrolled d
check_eq "no filter" 0 "$(filter_on "$(result_host_veth "$WORK/d.ADD.0")" ingress | grep -c app_outbound)"
check "CHECK exit 0" chain CHECK d "$PTP" kube-system
out=$(chain DEL d "$PTP" kube-system)
check_eq "DEL exit 0" 0 $?
check_eq "DEL prints nothing" "" "$out"
case_end

case_begin "redirectd refusing the pod fails ADD (code 999)"
pod_netns e
pod_netns f
check "ADD e" chain ADD e "$PTP"
check "ADD f" chain ADD f "$PTP"
# f claims e's addresses, which f's eth0 does not have: refused
jq --slurpfile e "$WORK/e.cached" '.ips = $e[0].ips' "$WORK/f.cached" >"$WORK/f.conflict"
out=$(hook ADD f "$PTP" "$WORK/f.conflict")
check_eq "ADD exit 1" 1 $?
check_eq "code 999" 999 "$(json_field "$out" .code)"
check_contains "redirectd's reason" "$(json_field "$out" .details)" \
	"not configured on eth0"
check_eq "e keeps its addresses" "$(result_ips "$WORK/e.cached")" "$(enrolled_ips e)"
check_eq "f unchanged" "$(result_ips "$WORK/f.cached")" "$(enrolled_ips f)"
check "DEL e" chain DEL e "$PTP"
check "DEL f" chain DEL f "$PTP"
case_end

case_begin "a 0.4.0 chain enrols too"
conflist ptp '{}' 0.4.0 >"$WORK/v04.conflist"
pod_netns g
out=$(chain ADD g "$WORK/v04.conflist")
check_eq "ADD exit 0" 0 $?
check_eq "result in 0.4.0" 0.4.0 "$(json_field "$out" .cniVersion)"
check "output is ptp's result" same_json "$WORK/g.ADD.1" "$WORK/g.ADD.0"
check_eq "both addresses" "$(result_ips "$WORK/g.ADD.0")" "$(enrolled_ips g)"
check "CHECK" chain CHECK g "$WORK/v04.conflist"
check "DEL" chain DEL g "$WORK/v04.conflist"
check_not "g gone" enrolled g
case_end

# --- bridge -----------------------------------------------------------
case_begin "bridge + redirect-cni: ADD enrols on the right veth"
BR=$WORK/bridge.conflist
conflist bridge '{"dnsCapture": true}' >"$BR"
pod_netns h
pod_netns i
check "ADD h" chain ADD h "$BR"
out=$(chain ADD i "$BR")
check_eq "ADD i exit 0" 0 $?
check "output is bridge's result" same_json "$WORK/i.ADD.1" "$WORK/i.ADD.0"
check_eq "the result lists cni0 and a veth on the host" 2 \
	"$(jq '[.interfaces[] | select(.sandbox == null)] | length' "$WORK/i.ADD.0")"
for p in h i; do
	V=$(result_host_veth "$WORK/$p.cached")
	check_eq "$p: host veth, not cni0" "$V" "$(pod_json $p | jq -r .host_veth)"
	check_eq "$p: both addresses" "$(result_ips "$WORK/$p.cached")" "$(enrolled_ips $p)"
	check_eq "$p: dns capture" true "$(pod_json $p | jq -r .dns_capture)"
	check_contains "$p: app_outbound" "$(filter_on "$V" ingress)" app_outbound
done
check_eq "nothing on the bridge" 0 "$(filter_on cni0 ingress | grep -c app_outbound)"
check "CHECK i" chain CHECK i "$BR"
check "DEL i" chain DEL i "$BR"
check_not "i gone" enrolled i
check "h still enrolled" enrolled h
check "DEL h" chain DEL h "$BR"
case_end

# --- the pod's annotations (runtimeConfig) ------------------------------
ANN=$WORK/ann.conflist
conflist ptp "{\"capabilities\": {\"$CAP\": true}}" >"$ANN"
OUT_CIDRS=traffic.sidecar.istio.io/excludeOutboundIPRanges
OUT_PORTS=traffic.sidecar.istio.io/excludeOutboundPorts
IN_PORTS=traffic.sidecar.istio.io/excludeInboundPorts
BYPASS=ambient.istio.io/bypass-inbound-capture
DNS=ambient.istio.io/dns-capture

# annotations NAME VALUE...: a JSON object of the pairs
annotations() {
	a_json='{}'
	while [ $# -ge 2 ]; do
		a_json=$(printf '%s' "$a_json" | jq -c --arg k "$1" --arg v "$2" '.[$k] = $v')
		shift 2
	done
	printf '%s' "$a_json"
}

# refused ANNOTATION VALUE BAD: ADD of pod k with that annotation fails
# with code 7 naming the annotation and BAD; k is not enrolled; DEL, with
# the same annotations, succeeds.
refused() {
	POD_ANNOTATIONS=$(annotations "$1" "$2" sidecar.istio.io/inject false)
	r_n0=$(npods)
	r_out=$(chain ADD k "$ANN")
	check_eq "$1=$2: ADD exit 1" 1 $?
	check_eq "$1=$2: code 7 (invalid config)" 7 "$(json_field "$r_out" .code)"
	check_eq "$1=$2: msg" "invalid pod annotation" "$(json_field "$r_out" .msg)"
	check_contains "$1=$2: details name the annotation" \
		"$(json_field "$r_out" .details)" "$1"
	check_contains "$1=$2: details name the value" \
		"$(json_field "$r_out" .details)" "$3"
	check_not "$1=$2: k not enrolled" enrolled k
	check_eq "$1=$2: nothing enrolled" "$r_n0" "$(npods)"
	r_out=$(chain DEL k "$ANN")
	check_eq "$1=$2: DEL exit 0" 0 $?
	check_eq "$1=$2: DEL prints nothing" "" "$r_out"
	unset POD_ANNOTATIONS
}

case_begin "a malformed annotation fails ADD (code 7) and enrols nothing"
pod_netns k
refused "$OUT_CIDRS" "10.0.0.0/8, 10.0.0.0/33" 10.0.0.0/33
refused "$OUT_CIDRS" "fd00::/64,example.com" example.com
refused "$OUT_PORTS" "5432,http" http
refused "$OUT_PORTS" "0" '"0"'
refused "$IN_PORTS" "15020,65536" 65536
refused "$IN_PORTS" "*" "not supported"
refused "$BYPASS" "yes" yes
refused "$DNS" "maybe" maybe
refused "$OUT_PORTS" "$(seq -s, 1 65)" "more than 64"
refused "$OUT_CIDRS" "$(seq -s, 1 65 | sed 's/\([0-9]*\)/10.0.\1.0\/24/g')" \
	"more than 64"
case_end

case_begin "a config asking for annotations, none given: as without"
pod_netns l
check "ADD l" chain ADD l "$ANN"
check "l enrolled" enrolled l
check_eq "dns capture off" false "$(pod_json l | jq -r .dns_capture)"
check_eq "no outbound CIDRs" '[]' \
	"$(pod_json l | jq -c '.exclude_outbound_cidrs // []')"
check_eq "no outbound ports" '[]' \
	"$(pod_json l | jq -c '.exclude_outbound_ports // []')"
check_eq "no inbound ports" '[]' \
	"$(pod_json l | jq -c '.exclude_inbound_ports // []')"
check_eq "inbound captured" false \
	"$(pod_json l | jq -r '.bypass_inbound // false')"
check "DEL l" chain DEL l "$ANN"
case_end

# Needs redirectd to keep and show them (PodInfo's exclude_*, bypass_inbound).
case_begin "valid annotations enrol the pod with them"
pod_netns m
POD_ANNOTATIONS=$(annotations \
	"$OUT_CIDRS" " 10.1.2.3/8, 192.168.7.9 ,fd00:10::5/64,,10.0.0.0/8" \
	"$OUT_PORTS" "6379, 5432,5432" \
	"$IN_PORTS" "15020,8080 ,80" \
	"$BYPASS" "True" \
	"$DNS" "true" \
	sidecar.istio.io/inject false)
out=$(chain ADD m "$ANN")
check_eq "ADD exit 0" 0 $?
check "output is ptp's result" same_json "$WORK/m.ADD.1" "$WORK/m.ADD.0"
check "m enrolled" enrolled m
check_eq "outbound CIDRs, canonical" \
	'["10.0.0.0/8","192.168.7.9/32","fd00:10::/64"]' \
	"$(pod_json m | jq -c '.exclude_outbound_cidrs | if . then sort else . end')"
check_eq "outbound ports, sorted, once" '[5432,6379]' \
	"$(pod_json m | jq -c .exclude_outbound_ports)"
check_eq "inbound ports, sorted" '[80,8080,15020]' \
	"$(pod_json m | jq -c .exclude_inbound_ports)"
check_eq "inbound bypassed" true "$(pod_json m | jq -r .bypass_inbound)"
check_eq "dns capture from the annotation" true \
	"$(pod_json m | jq -r .dns_capture)"
check "CHECK m" chain CHECK m "$ANN"
check "DEL m" chain DEL m "$ANN"
check_not "m gone" enrolled m
# "*": every destination; the annotation turns the config's dnsCapture off
conflist ptp "{\"dnsCapture\": true, \"capabilities\": {\"$CAP\": true}}" \
	>"$WORK/ann-dns.conflist"
POD_ANNOTATIONS=$(annotations "$OUT_CIDRS" "*" "$DNS" "FALSE" "$BYPASS" false)
check "ADD m (*)" chain ADD m "$WORK/ann-dns.conflist"
check_eq "*: both families" '["0.0.0.0/0","::/0"]' \
	"$(pod_json m | jq -c '.exclude_outbound_cidrs | if . then sort else . end')"
check_eq "dns capture off by annotation" false \
	"$(pod_json m | jq -r .dns_capture)"
check_eq "inbound captured" false "$(pod_json m | jq -r .bypass_inbound)"
check "DEL m (*)" chain DEL m "$WORK/ann-dns.conflist"
unset POD_ANNOTATIONS
case_end

# --- redirectd down (last: it stays down) -------------------------------
case_begin "redirectd stopped: ADD fails with code 11, DEL still succeeds"
kill "$REDIRECTD_PID"
wait "$REDIRECTD_PID" 2>/dev/null
pod_netns j
out=$(chain ADD j "$PTP")
check_eq "ADD exit 1" 1 $?
check_eq "code 11 (try again later)" 11 "$(json_field "$out" .code)"
check_eq "cniVersion" 1.0.0 "$(json_field "$out" .cniVersion)"
check_contains "msg" "$(json_field "$out" .msg)" "unreachable"
check_contains "details name the socket" "$(json_field "$out" .details)" "$SOCK"
# the runtime cleans up a failed ADD with DEL
out=$(chain DEL j "$PTP")
check_eq "DEL exit 0" 0 $?
check_eq "DEL prints nothing" "" "$out"
check_contains "DEL logged the reason on stderr" "$(cat "$WORK/cni.log")" \
	"DEL uid-$RUN-j: redirectd is unreachable"
out=$(hook CHECK j "$PTP" "$WORK/j.ADD.0")
check_eq "CHECK exit 1" 1 $?
check_eq "CHECK: code 11" 11 "$(json_field "$out" .code)"
case_end

results
