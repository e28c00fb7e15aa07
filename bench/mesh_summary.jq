# SPDX-License-Identifier: GPL-2.0
# bench/mesh.sh's samples (one object per measurement, slurped into an
# array) -> mesh.json: per pinning, family and configuration the medians
# over the rounds; ratios between configurations computed round by round
# (the two measured minutes apart at most); the interception overhead
# (a path's half round trip minus the explicit path's) round by round;
# and the issue's targets.
#
# Request/response is given as the half round trip, 0.5 s / transactions
# per second, in microseconds: lower is better. A ratio of half round
# trips (config / base) below 1 means config is faster; a throughput
# ratio above 1 means config is faster.

def median: sort | if length == 0 then null
	elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def r2: if . == null then null else (. * 100 | round) / 100 end;
def r1: if . == null then null else (. * 10 | round) / 10 end;
def stats: if length == 0 then null
	else { median: (median | r2), min: (min | r2), max: (max | r2),
	       rounds: length } end;

. as $s
| ($configs | split(" ") | map(select(. != ""))) as $cfgs
| ($pins | split(" ") | map(select(. != ""))) as $pinl
| ($families | split(" ") | map(select(. != "") | "ipv" + .)) as $fams
| ($rr_sizes | split(" ") | map(select(. != "") | tonumber)) as $sizes
| ($streams | split(" ") | map(select(. != "") | tonumber)) as $strl
# metrics: rr<size> (half round trip, us) and tput<streams> (Gbit/s)
| ([$sizes[] | "rr\(.)"] + [$strl[] | "tput\(.)"]) as $metrics
| def metric_of: if .kind == "rr" then "rr\(.n)" else "tput\(.n)" end;
  def value: if .kind == "rr" then
		(if .rr and .rr.tps > 0 then 5e5 / .rr.tps else null end)
	else (if .tput_bps then .tput_bps / 1e9 else null end) end;
  [$s[] | select(.kind == "rr" or .kind == "tput")
   | . + { metric: metric_of, value: value }] as $m
| def vals($p; $f; $c; $k):
	[$m[] | select(.pin == $p and .family == $f and .config == $c and
		       .metric == $k)];
  def row($p; $f; $c):
	{ pin: $p, family: $f, config: $c,
	  available: ($unavailable | has($c) | not),
	  unavailable_reason: $unavailable[$c] }
	+ (if $notes[$c] then { redirectd: $notes[$c] } else {} end)
	+ { metrics: ([$metrics[] as $k | vals($p; $f; $c; $k) as $v
		| { key: $k, value: ({
		    median: ([$v[].value | numbers] | median | r2),
		    runs: ($v | length),
		    failed: ([$v[] | select(.value == null)] | length) }
		  + (if ($k | startswith("rr")) then {
		    p50_us: ([$v[].rr.p50_us | numbers] | median),
		    p99_us: ([$v[].rr.p99_us | numbers] | median),
		    tps: ([$v[].rr.tps | numbers] | median |
			  if . then round else . end) } else {} end)) }]
		| from_entries),
	    proxy: ([$s[] | select(.kind == "check" and .pin == $p and
				   .family == $f and .config == $c)]
		| { entry_conns: (map(.entry_conns) | add // 0),
		    tunnel_conns: (map(.tunnel_conns) | add // 0) }) };
  # per round: a / b for one metric (half round trips: config / base,
  # so below 1 is faster; throughput: config / base, above 1 is faster)
  def paired($p; $f; $c; $b; $k):
	[vals($p; $f; $c; $k)[] as $x | vals($p; $f; $b; $k)[]
	 | select(.round == $x.round and .value != null and .value > 0 and
		  $x.value != null)
	 | $x.value / .value];
  def diffs($p; $f; $c; $b; $k):
	[vals($p; $f; $c; $k)[] as $x | vals($p; $f; $b; $k)[]
	 | select(.round == $x.round and .value != null and $x.value != null)
	 | $x.value - .value];
  def target($want; $le; $p; $c; $b; $k):
	([$fams[] as $f | { key: $f, value: (paired($p; $f; $c; $b; $k) | stats) }]
	 | from_entries) as $per
	| { want: $want, better: (if $le then "lower" else "higher" end),
	    pin: $p, config: $c, base: $b, metric: $k, per_family: $per,
	    met: (if ([$per[] | . == null] | any) then null
		  else [$per[] | .median | if $le then . <= $want else . >= $want end] | all
		  end) };
{ benchmark: "mesh",
  kernel: $kernel,
  method: "pod a -> ztunnel stand-in -> pod b on one simulated node; bench/rr request/response (one connection, one message in flight) given as half round trips, iperf3 throughput with 1 and 8 streams; every configuration pinned to one CPU and unpinned; medians over rounds; configurations interleaved round by round; ratios and overheads computed round by round",
  configs: $cfgs, pins: $pinl, families: $fams, rr_sizes: $sizes,
  streams: $strl, metrics: $metrics,
  rounds: $rounds, tput_seconds: $tput_s, tput_bytes: $tput_bytes,
  rr_seconds: ($rr_s | tonumber), pinned_cpu: $pin_cpu,
  load_avg: { start: $load0, end: $load1 }, seconds: $seconds,
  machine_busy_pct_before: ([$s[] | .machine_busy_pct | numbers] | stats),
  results: [$pinl[] as $p | $fams[] as $f | $cfgs[] as $c | row($p; $f; $c)],
  ratios: [$pinl[] as $p | $fams[] as $f
	| (["direct", "explicit", "iptables", "inpod"][] | select(. as $b | $cfgs | index($b))) as $b
	| $cfgs[] as $c | select($c != $b) | $metrics[] as $k
	| (paired($p; $f; $c; $b; $k) | stats) as $st | select($st)
	| { pin: $p, family: $f, config: $c, base: $b, metric: $k } + $st],
  # interception overhead: half round trip of a path minus the explicit
  # path's (us), round by round
  overhead: [$pinl[] as $p | $fams[] as $f
	| select($cfgs | index("explicit")) | $cfgs[] as $c
	| select($c != "explicit" and $c != "direct")
	| $metrics[] as $k | select($k | startswith("rr"))
	| (diffs($p; $f; $c; "explicit"; $k) | stats) as $st | select($st)
	| { pin: $p, family: $f, config: $c, metric: $k } + $st],
  targets: {
    ebpf_vs_iptables_rr64: target(0.8; true; "unpinned"; "ebpf"; "iptables"; "rr64"),
    ebpf_vs_iptables_tput1: target(1.15; false; "unpinned"; "ebpf"; "iptables"; "tput1"),
    ebpf_vs_explicit_rr64: target(1.0; true; "unpinned"; "ebpf"; "explicit"; "rr64"),
    ebpf_vs_explicit_tput1: target(1.0; false; "unpinned"; "ebpf"; "explicit"; "tput1"),
    ebpf_vs_inpod_rr64: target(1.0; true; "unpinned"; "ebpf"; "inpod"; "rr64"),
    ebpf_vs_inpod_tput1: target(1.0; false; "unpinned"; "ebpf"; "inpod"; "tput1") },
  samples: $s }
