#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Pod queries at the node's scale (issue 12): 10000 pods enrolled, the
# pod list comes in pages, CNI CHECK finds its pod with PodGet, and a DEL
# from an older sandbox (another container id, another netns, or none to
# compare) never removes the current enrolment.
set -u
BUILD=${1:-build}
N=${SCALE_PODS:-10000}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl redirect-cni bench/ctlplane
[ -x "$CNI_PLUGIN_DIR/ptp" ] || skip_suite "no ptp CNI plugin"

node_init "$BUILD"
node_start_redirectd --pod-capacity 32768 --no-sockmap || setup_failed redirectd
node_bulk_pods "$N" || setup_failed "$N pods"
"$BUILD/bench/ctlplane" add --socket "$SOCK" --count "$N" \
	--netns-prefix "$RUN-cp" >"$WORK/add.json" || setup_failed "enrol $N pods"
pod_create_chain k ptp ebpf false || setup_failed "pod k through the CNI chain"
K_CONF=$(hook_conf ebpf false "$(cat "$WORK/k.json")")

# cni CMD CONTAINER_ID [NETNS]: our plugin as a runtime would call it for k
cni() {
	printf '%s' "$K_CONF" | CNI_COMMAND=$1 CNI_CONTAINERID=$2 \
		CNI_NETNS=${3:-} CNI_IFNAME=eth0 CNI_PATH="$CNI_PLUGIN_DIR" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=k;K8S_POD_UID=uid-$RUN-k" \
		nsenter --net="/var/run/netns/$NODE_NS" "$BUILD/redirect-cni"
}
k_enrolled() {
	ctl -j pods | jq -r ".pods[] | select(.uid == \"uid-$RUN-k\") | .uid"
}

case_begin "$N pods: the pod list arrives whole, in pages"
check_eq "status counts them" $((N + 1)) "$(ctl -j status | jq .pods)"
check_eq "redirectctl pods -j lists every one" $((N + 1)) \
	"$(ctl -j pods | jq '.pods | length')"
check_eq "no uid twice" $((N + 1)) \
	"$(ctl -j pods | jq '[.pods[].uid] | unique | length')"
check_eq "redirectctl pods lists every one" $((N + 2)) "$(ctl pods | wc -l)"
case_end

case_begin "CNI CHECK finds its pod among $N"
check "CHECK" cni CHECK "$RUN-k" "/var/run/netns/$RUN-k"
case_end

case_begin "a late DEL from an older sandbox leaves the current enrolment"
cni DEL old-sandbox "/var/run/netns/$RUN-k" >/dev/null
check_eq "another container id: k stays" "uid-$RUN-k" "$(k_enrolled)"
cni DEL "$RUN-k" /var/run/netns/gone-sandbox >/dev/null
check_eq "another netns: k stays" "uid-$RUN-k" "$(k_enrolled)"
cni DEL old-sandbox >/dev/null
check_eq "no netns, another container id: k stays" "uid-$RUN-k" "$(k_enrolled)"
check "the right sandbox's DEL" cni DEL "$RUN-k" "/var/run/netns/$RUN-k"
check_eq "removes it" "" "$(k_enrolled)"
case_end

results
