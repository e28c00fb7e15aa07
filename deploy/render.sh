#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Render the Kubernetes manifests from install values (no Helm needed).
#
#   deploy/render.sh [-f VALUES]... [--set KEY=VALUE]... [--uninstall]
#
# Values start from deploy/values.yaml; each -f file and then each --set
# overrides them (KEY as in values.yaml, dotted: cni.ambient.redirectMode;
# a leading "values." is dropped, as istioctl spells it). Unknown keys and
# bad values are refused. The manifests go to stdout:
#
#   deploy/render.sh --set cni.ambient.redirectMode=ebpf | kubectl apply -f -
#
# --uninstall renders the DaemonSet that unchains redirect-cni from every
# node instead (deploy/README.md, "Uninstall").
#
# Templates are deploy/templates/*.yaml with {{key}} placeholders, filled
# with sed. Values go into double-quoted YAML strings or plain scalars, so
# they may not hold '"', '\', '{' or '}'.
set -eu

DIR=$(cd "$(dirname "$0")" && pwd)
TPL=$DIR/templates
WORK=$(mktemp -d "${TMPDIR:-/tmp}/render.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
VALS=$WORK/values

die() {
	printf 'render.sh: %s\n' "$*" >&2
	exit 1
}

# flatten FILE: "a.b.c=value" lines from the YAML subset values.yaml uses.
flatten() {
	awk '
	function fail(msg) {
		printf "render.sh: %s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
		bad = 1
		exit 1
	}
	{
		line = $0
		sub(/\r$/, "", line)
		if (line ~ /^[ ]*(#.*)?$/)
			next
		if (line ~ /\t/)
			fail("tabs are not allowed")
		match(line, /^ */)
		ind = RLENGTH
		if (ind % 2)
			fail("indent by two spaces")
		line = substr(line, ind + 1)
		if (line !~ /^[A-Za-z][A-Za-z0-9_-]*:/)
			fail("expected \"key: value\" or \"key:\"")
		key = line
		sub(/:.*/, "", key)
		val = line
		sub(/^[^:]*:[ ]*/, "", val)
		depth = ind / 2
		if (depth > top + 1 || (depth > 0 && !(depth - 1 in path)))
			fail("indented under a key that has a value")
		if (val ~ /^"/) {
			if (!match(val, /^"[^"]*"/))
				fail("unterminated string")
			rest = substr(val, RLENGTH + 1)
			val = substr(val, 2, RLENGTH - 2)
			if (rest !~ /^[ ]*(#.*)?$/)
				fail("text after a quoted string")
		} else {
			sub(/[ ]+#.*$/, "", val)
			sub(/[ ]+$/, "", val)
			if (val ~ /^[\[{&*!|>-]/ && val != "-")
				fail("only plain scalars are supported")
		}
		for (d in path)
			if (d + 0 >= depth)
				delete path[d]
		full = key
		for (d = depth - 1; d >= 0; d--)
			full = path[d] "." full
		if (val == "" && $0 !~ /: *""/) {
			path[depth] = key
			top = depth
		} else {
			print full "=" val
			top = depth - 1
		}
	}
	END { if (bad) exit 1 }' "$1"
}

get() {
	awk -v k="$1" 'index($0, k "=") == 1 {
		print substr($0, length(k) + 2); found = 1; exit }
		END { exit !found }' "$VALS" || die "no value for $1"
}

# set_value KEY VALUE: replace a known key's value (the last one wins).
set_value() {
	key=${1#values.}
	grep -q "^$(printf '%s' "$key" | sed 's/[.]/\\./g')=" "$VALS" ||
		die "unknown key '$key' (see deploy/values.yaml)"
	awk -v k="$key" -v v="$2" 'index($0, k "=") == 1 { print k "=" v; next }
		{ print }' "$VALS" >"$VALS.new"
	mv "$VALS.new" "$VALS"
}

# add_value KEY VALUE: a derived value for the templates.
add_value() {
	printf '%s=%s\n' "$1" "$2" >>"$VALS"
}

uninstall=0
flatten "$DIR/values.yaml" >"$VALS" || exit 1
while [ $# -gt 0 ]; do
	case $1 in
	-f | --values)
		[ $# -ge 2 ] || die "$1 needs a file"
		flatten "$2" >"$WORK/more" || exit 1
		while IFS= read -r kv; do
			set_value "${kv%%=*}" "${kv#*=}"
		done <"$WORK/more"
		shift 2
		;;
	--set)
		[ $# -ge 2 ] || die "--set needs KEY=VALUE"
		case $2 in
		*=*) set_value "${2%%=*}" "${2#*=}" ;;
		*) die "--set needs KEY=VALUE, not '$2'" ;;
		esac
		shift 2
		;;
	--set=*)
		kv=${1#--set=}
		set_value "${kv%%=*}" "${kv#*=}"
		shift
		;;
	--uninstall)
		uninstall=1
		shift
		;;
	-h | --help)
		sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		die "unknown argument '$1' (try --help)"
		;;
	esac
done

# --- checks -------------------------------------------------------------
grep -q '["\\{}]' "$VALS" &&
	die "values may not hold '\"', '\\\\', '{' or '}': $(grep '["\\{}]' "$VALS" | head -n 1)"

one_of() {
	v=$(get "$1")
	shift_key=$1
	shift
	for ok in "$@"; do
		[ "$v" = "$ok" ] && return 0
	done
	die "$shift_key must be one of: $*; not '$v'"
}

int_in() {
	v=$(get "$1")
	case $v in
	'' | *[!0-9]*) die "$1 must be a number, not '$v'" ;;
	esac
	[ "$v" -ge "$2" ] && [ "$v" -le "$3" ] ||
		die "$1 must be in $2..$3, not $v"
}

abs_path() {
	v=$(get "$1")
	case $v in
	/*) ;;
	*) die "$1 must be an absolute path, not '$v'" ;;
	esac
	case $v in
	*[[:space:]]*) die "$1 may not hold blanks" ;;
	esac
}

one_of cni.ambient.redirectMode ebpf iptables none
one_of cni.ambient.dnsCapture true false
one_of redirectd.failOpen true false
one_of redirectd.attach auto tc tcx
one_of redirectd.guard true false
one_of redirectd.sockmap.enabled true false
one_of createNamespace true false
one_of redirectd.logLevel error warn info debug
one_of image.pullPolicy Always IfNotPresent Never
int_in redirectd.tcPriority 1 65535
int_in redirectd.podCapacity 16 16777216
int_in cni.confWait 0 86400
abs_path cni.binDir
abs_path cni.confDir
abs_path redirectd.sockmap.cgroupRoot

ns=$(get namespace)
printf '%s' "$ns" | grep -Eq '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' ||
	die "namespace '$ns' is not a valid name"
case $ns in
kube-system | kube-public | default)
	[ "$(get createNamespace)" = false ] ||
		die "set createNamespace=false to install into $ns (never created or deleted by these manifests)"
	;;
esac
case $(get cni.excludeNamespaces) in
*[!-a-z0-9,]*) die "cni.excludeNamespaces: namespace names, comma-separated" ;;
esac
cg=$(get redirectd.sockmap.cgroup)
case $cg in
'' | /* | *..* | *[[:space:]]*)
	[ "$(get redirectd.sockmap.enabled)" = false ] ||
		die "redirectd.sockmap.cgroup must be a folder under cgroupRoot, not '$cg'"
	;;
esac
for k in image.repository image.tag; do
	v=$(get "$k")
	case $v in
	'' | *[[:space:]]*) die "$k may not be empty or hold blanks" ;;
	esac
done

# --- derived values -----------------------------------------------------
SOCK=/var/run/ambient-redirect/redirect.sock
args="--socket $SOCK --bpffs /sys/fs/bpf/ambient-redirect"
args="$args --state /var/run/ambient-redirect/state"
args="$args --log-level $(get redirectd.logLevel)"
args="$args --tc-priority $(get redirectd.tcPriority)"
args="$args --pod-capacity $(get redirectd.podCapacity)"
[ "$(get redirectd.failOpen)" = true ] && args="$args --fail-open"
args="$args --attach $(get redirectd.attach)"
[ "$(get redirectd.guard)" = false ] && args="$args --no-guard"
if [ "$(get redirectd.sockmap.enabled)" = true ]; then
	args="$args --cgroup /host/sys/fs/cgroup/$cg"
else
	args="$args --no-sockmap"
fi
extra=$(get redirectd.extraArgs)
[ -n "$extra" ] && args="$args $extra"
add_value redirectdArgs "$args"
add_value socketPath "$SOCK"
add_value image "$(get image.repository):$(get image.tag)"

# --- render -------------------------------------------------------------
# One sed script: s|{{key}}|value|g, with '\', '&' and '|' escaped.
sed_script() {
	while IFS= read -r kv; do
		k=${kv%%=*}
		v=$(printf '%s' "${kv#*=}" | sed 's/[\\&|]/\\&/g')
		printf 's|{{%s}}|%s|g\n' "$(printf '%s' "$k" | sed 's/[.]/\\./g')" "$v"
	done <"$VALS" >"$WORK/sed"
}

# The ConfigMap's checksum goes into the pod template, so that changed
# flags roll the DaemonSet (environment from a ConfigMap is read at start).
sed_script
sum=$(sed -f "$WORK/sed" "$TPL/configmap.yaml" | cksum | cut -d' ' -f1)
add_value configChecksum "$sum"
sed_script

if [ "$uninstall" = 1 ]; then
	templates="uninstall.yaml"
else
	templates="serviceaccount.yaml configmap.yaml daemonset.yaml"
	[ "$(get createNamespace)" = true ] &&
		templates="namespace.yaml $templates"
fi

{
	echo "# Rendered by deploy/render.sh: redirectMode=$(get cni.ambient.redirectMode)"
	for t in $templates; do
		echo "---"
		grep -v '^# SPDX-License-Identifier' "$TPL/$t" | sed -f "$WORK/sed"
	done
} >"$WORK/out"
if grep -n '{{' "$WORK/out" >&2; then
	die "placeholders without a value (above)"
fi
cat "$WORK/out"
