#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the benchmark scripts (sourced after tests/lib/node.sh).

bench_die() {
	printf 'bench: %s\n' "$*" >&2
	command -v node_logs >/dev/null && [ -n "${WORK:-}" ] && node_logs >&2
	exit 1
}

bench_need_root() {
	[ "$(id -u)" = 0 ] || bench_die "needs root (network namespaces, BPF)"
}

# bench_stop PID [SIGNAL]: stop a background process we started and forget
# it, so the final cleanup never signals a pid that may have been reused.
bench_stop() {
	[ -n "$1" ] || return 0
	kill -s "${2:-TERM}" "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	NODE_PIDS=$(printf ' %s ' "$NODE_PIDS" | sed "s/ $1 / /")
}

# A per-run cgroup v2 folder under the cgroup2 mount (from /proc/mounts),
# in BENCH_CG. Not node.sh's CGROUP: a bench chooses per configuration
# which processes join it. Fails when there is no cgroup2.
bench_cgroup_make() {
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -n "$mnt" ] || return 1
	mkdir "$mnt/$RUN-bench" || return 1
	BENCH_CG=$mnt/$RUN-bench
}

# Only this run's processes were ever moved into BENCH_CG (or a child).
bench_cgroup_remove() {
	[ -n "${BENCH_CG:-}" ] && [ -d "$BENCH_CG" ] || return 0
	for cg in "$BENCH_CG"/*/ "$BENCH_CG"; do
		[ -f "$cg/cgroup.procs" ] || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			pids=$(cat "$cg/cgroup.procs" 2>/dev/null)
			[ -z "$pids" ] && break
			for pid in $pids; do kill "$pid" 2>/dev/null; done
			sleep 0.1
		done
		rmdir "$cg" 2>/dev/null
	done
}

# cg_usage_us CGROUP: CPU time used by the cgroup's processes so far
cg_usage_us() {
	awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat"
}

# now_ms: a monotonic-enough clock in milliseconds, for phase timings
now_ms() {
	date +%s%3N
}

now_us() {
	date +%s%6N
}

# How busy the whole machine was over half a second, in percent.
busy_pct() {
	s1=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	sleep 0.5
	s2=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
	echo "$s1 $s2" | awk '{ b = $3 - $1; t = b + $4 - $2;
		print (t > 0 ? int(100 * b / t) : 0) }'
}

# bench_quiet [MAX_S]: before a measurement, wait (at most MAX_S, default
# 60) until the machine is nearly idle (under 15% busy), so that other
# work on a shared machine does not land in it; prints the last busy %.
bench_quiet() {
	t0=$(date +%s)
	while b=$(busy_pct) && [ "$b" -ge 15 ] &&
		[ $(($(date +%s) - t0)) -lt "${1:-60}" ]; do
		:
	done
	echo "$b"
}


# --- Istio ambient's in-pod redirection (1.21+), rebuilt ---
# Written from the description of istio-cni's in-pod rule set (see
# bench/mesh.sh, "inpod"), not copied. Marks: 0x111 (TPROXYed, and the
# connmark of ztunnel's connections), 0x539 (ztunnel's own sockets); the
# kubelet probes' SNAT address is let through.
# shellcheck disable=SC2034 # INPOD_TABLE, INPOD_PRIO: bench/mesh.sh
INPOD_MARK=0x111 INPOD_ZT_MARK=0x539 INPOD_TABLE=133 INPOD_PRIO=32764

# inpod_rules 4|6: the rule set for iptables-restore / ip6tables-restore
inpod_rules() {
	if [ "$1" = 6 ]; then
		lo=::1/128 probe=fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128
		any=::
	else
		lo=127.0.0.1/32 probe=169.254.7.127/32 any=0.0.0.0
	fi
	m=$INPOD_MARK/0xfff z=$INPOD_ZT_MARK/0xfff
	cat <<EOR
*mangle
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:AR_PRERT - [0:0]
:AR_OUTPUT - [0:0]
-A PREROUTING -j AR_PRERT
-A OUTPUT -j AR_OUTPUT
-A AR_OUTPUT -m connmark --mark $m -j CONNMARK --restore-mark --nfmask 0xfff --ctmask 0xfff
-A AR_PRERT -m mark --mark $z -j CONNMARK --set-xmark $m
-A AR_PRERT -s $probe -p tcp -j ACCEPT
-A AR_PRERT ! -d $lo -i lo -p tcp -j ACCEPT
-A AR_PRERT -p tcp -m tcp --dport 15008 -m mark ! --mark $z -j TPROXY --on-port 15008 --on-ip $any --tproxy-mark $m
-A AR_PRERT -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A AR_PRERT ! -d $lo -p tcp -m mark ! --mark $z -j TPROXY --on-port 15006 --on-ip $any --tproxy-mark $m
COMMIT
*nat
:OUTPUT ACCEPT [0:0]
:AR_OUTPUT - [0:0]
-A OUTPUT -j AR_OUTPUT
-A AR_OUTPUT -d $probe -p tcp -j ACCEPT
-A AR_OUTPUT -p tcp -m mark --mark $m -j ACCEPT
-A AR_OUTPUT ! -d $lo -o lo -j ACCEPT
-A AR_OUTPUT ! -d $lo -p tcp -m mark ! --mark $z -j REDIRECT --to-ports 15001
COMMIT
EOR
}


# The same rule set for nft -f, both families in one inet table (the
# enrolment bench times it against iptables-restore; nft's tproxy and
# redirect need a family per rule in an inet table).
inpod_nft_rules() {
	m=$INPOD_MARK z=$INPOD_ZT_MARK
	p4=169.254.7.127 p6=fd16:9254:7127:1337:ffff:ffff:ffff:ffff
	setm="meta mark set mark and 0xfffff000 or $m"
	notz="meta mark and 0xfff != $z"
	cat <<EOR
table inet ar_inpod {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		meta mark & 0xfff == $z ct mark set ct mark and 0xfffff000 or $m
		meta l4proto tcp ip saddr $p4 accept
		meta l4proto tcp ip6 saddr $p6 accept
		iifname "lo" meta l4proto tcp ip daddr != 127.0.0.1 accept
		iifname "lo" meta l4proto tcp ip6 daddr != ::1 accept
		$notz meta nfproto ipv4 tcp dport 15008 $setm tproxy ip to :15008 accept
		$notz meta nfproto ipv6 tcp dport 15008 $setm tproxy ip6 to :15008 accept
		meta l4proto tcp ct state related,established accept
		ip daddr != 127.0.0.1 meta l4proto tcp $notz $setm tproxy ip to :15006 accept
		ip6 daddr != ::1 meta l4proto tcp $notz $setm tproxy ip6 to :15006 accept
	}
	chain output {
		type route hook output priority mangle; policy accept;
		ct mark & 0xfff == $m $setm
	}
	chain output_nat {
		type nat hook output priority -100; policy accept;
		ip daddr $p4 meta l4proto tcp accept
		ip6 daddr $p6 meta l4proto tcp accept
		meta l4proto tcp meta mark & 0xfff == $m accept
		oifname "lo" ip daddr != 127.0.0.1 accept
		oifname "lo" ip6 daddr != ::1 accept
		ip daddr != 127.0.0.1 meta l4proto tcp $notz redirect to :15001
		ip6 daddr != ::1 meta l4proto tcp $notz redirect to :15001
	}
}
EOR
}
