#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# redirectctl as documented: every invocation of it that README.md and
# docs/ show runs against a live redirectd and is accepted (placeholders
# filled in with this node's pods; a synopsis both with its optional parts
# and without them), and the global options go before or after the
# command (`redirectctl status -j` as much as `redirectctl -j status`).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/assert.sh
. tests/lib/node.sh

need_root
need_built redirectd redirectctl ztunnel-sim

node_init "$BUILD"
node_start_redirectd || setup_failed redirectd
ztunnel_start zt || setup_failed ztunnel
for p in a b c zt2; do
	pod_create "$p" || setup_failed "pod $p"
done
pod_enrol a >/dev/null || setup_failed "enrol a"
pod_enrol b >/dev/null || setup_failed "enrol b"

# The documented lines: `redirectctl` then a command or a global option.
documented() {
	grep -rhoE 'redirectctl +(-|\[|status|pods|stats|pod |ztunnel |log-level|snapshot|cleanup|help|explain|doctor)[^`|;#)]*' \
		README.md docs/*.md deploy/README.md | sed 's/ *$//' | sort -u
}

# fill LINE: placeholders replaced by this node's values
fill() {
	p=c
	case "$1" in *"ztunnel "*) p=zt2 ;; *explain*) p=a ;; esac
	uid=uid-$RUN-$p ns=$RUN-$p
	case "$1" in
	*snapshot*) uid="uid-$RUN-a uid-$RUN-b" ;;
	esac
	printf '%s\n' "$1" | sed -e "s|ADDR:PORT|$(pod_ip b 4):8080|g" \
		-e "s|:PORT|:8080|g" -e "s|--cni-conf-dir DIR|--cni-conf-dir $WORK|" \
		-e "s|\\[--socket PATH\\]|--socket $SOCK|" \
		-e "s|UID|$uid|g" -e "s|--netns PATH|--netns /var/run/netns/$ns|" \
		-e "s|ADDR|$(pod_ip $p 4)|" -e "s|ADDR|$(pod_ip $p 6)|" \
		-e "s|LEVEL|info|" -e "s|--name N|--name c|" \
		-e "s|--namespace NS|--namespace default|" -e "s|--ifname IF|--ifname eth0|" \
		-e "s|--host-veth V|--host-veth $(pod_host_veth c)|" \
		-e "s|--bpffs DIR|--bpffs $PIN|" -e "s|--state FILE|--state $STATE|" \
		-e "s|--cgroup DIR||" -e "s|--tc-priority N|--tc-priority 23166|" \
		-e "s|--tc-handle N|--tc-handle 0xa3b1|"
}

# The synopsis without its optional parts, and with them.
without_options() {
	printf '%s\n' "$1" | sed -e 's/\[[^]]*\]\(\.\.\.\)\?//g' -e 's/  */ /g'
}
with_options() {
	# (but never cleanup's --force: it would uninstall under the daemon)
	printf '%s\n' "$1" | sed -e 's/\.\.\.//g' -e 's/[][]//g' \
		-e 's/ --force//'
}

# run LINE: exit 0 expected; cleanup refuses while redirectd serves (5)
run_line() {
	line=$1
	want=0
	case "$line" in *cleanup*) want=5 ;; esac
	# doctor's status is its worst finding: 0, 6 or 7 are answers
	case "$line" in *doctor*) want="0 6 7" ;; esac
	# shellcheck disable=SC2086
	"$BUILD"/$line --socket "$SOCK" >"$WORK/cli.out" 2>&1
	rc=$?
	case " $want " in *" $rc "*) want=$rc ;; esac
	check_eq "$line" "$want" "$rc"
	[ "$rc" = "$want" ] || sed 's/^/  | /' "$WORK/cli.out"
}

case_begin "every documented redirectctl invocation is accepted"
n=0
documented >"$WORK/documented"
check_gt "README and docs show some" "$(wc -l <"$WORK/documented")" 8
# ztunnel del last: it leaves zt2, which replaced zt, and no ztunnel
sort -s -k2,2 "$WORK/documented" | grep -v 'ztunnel del' >"$WORK/ordered"
grep 'ztunnel del' "$WORK/documented" >>"$WORK/ordered"
while read -r doc; do
	for variant in "$(without_options "$doc")" "$(with_options "$doc")"; do
		run_line "$(fill "$variant")"
		n=$((n + 1))
	done
done <"$WORK/ordered"
check_gt "invocations run" "$n" 16
case_end

case_begin "global options before or after the command"
check_eq "status -j is JSON" "$(ctl -j status | jq -r .version)" \
	"$("$BUILD/redirectctl" status -j --socket "$SOCK" | jq -r .version)"
check "--socket=PATH pods --json" sh -c \
	"'$BUILD/redirectctl' pods --socket=$SOCK --json | jq -e .pods >/dev/null"
check "stats -j between words and options" sh -c \
	"'$BUILD/redirectctl' --socket $SOCK stats -j | jq -e .counters >/dev/null"
check "pod add with -j after its options" sh -c "'$BUILD/redirectctl' \
	--socket $SOCK pod add uid-$RUN-c --netns /var/run/netns/$RUN-c \
	--ip $(pod_ip c 4) -j | jq -e .ok >/dev/null"
case_end

case_begin "snapshot takes as many uids as a node has pods"
# 5000 names (a node's pods and more): the enrolled ones named stay,
# the others go (the documented lines above removed a and b; c is back)
for p in a b; do
	ctl pod del "uid-$RUN-$p" >/dev/null 2>&1
	pod_enrol "$p" >/dev/null || fail "enrol $p"
done
check_eq "c enrolled before" 1 \
	"$(ctl -j pods | jq "[.pods[] | select(.uid == \"uid-$RUN-c\")] | length")"
many=$(seq 5000 | sed "s/^/uid-$RUN-x/")
# shellcheck disable=SC2086
check "snapshot of 5002 uids" "$BUILD/redirectctl" --socket "$SOCK" \
	snapshot $many "uid-$RUN-a" "uid-$RUN-b"
check_eq "a and b still enrolled, c removed" "uid-$RUN-a uid-$RUN-b" \
	"$(ctl -j pods | jq -r '[.pods[].uid] | sort | join(" ")')"
case_end

case_begin "usage errors exit 2 and say why"
"$BUILD/redirectctl" --socket "$SOCK" pod add 2>"$WORK/err.txt"
check_eq "pod add without a uid" 2 "$?"
"$BUILD/redirectctl" --socket "$SOCK" status --bogus 2>"$WORK/err.txt"
check_eq "an option status does not take" 2 "$?"
check_contains "named" "$(cat "$WORK/err.txt")" "--bogus"
"$BUILD/redirectctl" --socket "$SOCK" frobnicate 2>/dev/null
check_eq "an unknown command" 2 "$?"
check "COMMAND --help lists its options" sh -c \
	"'$BUILD/redirectctl' pod add --help | grep -q -- '--dns-capture'"
case_end

results
