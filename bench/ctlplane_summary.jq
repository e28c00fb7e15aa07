# SPDX-License-Identifier: GPL-2.0
# bench/ctlplane.sh's samples (one object per size, slurped into an array)
# -> ctlplane.json: per size our add/delete against the per-pod commands,
# redirectd's memory, the restart, and the issue's targets.

def r1: (. * 10 | round) / 10;
def speedup($base; $ours): if $ours > 0 then ($base / $ours) | r1 else null end;

. as $s
| [$s[] | . + {
	add_speedup_vs_tc: speedup(.baseline_add.tc_only.mean_us; .add.mean_us),
	add_speedup_vs_tc_first_round:
		speedup(.baseline_add.tc_only.mean_us; .add.rounds_mean_us[0] // .add.mean_us),
	add_speedup_vs_tc_bpftool: speedup(.baseline_add.mean_us; .add.mean_us),
	del_speedup_vs_tc: speedup(.baseline_del.tc_only.mean_us; .del.mean_us),
	del_speedup_vs_tc_bpftool: speedup(.baseline_del.mean_us; .del.mean_us) }]
  as $sizes
| ($sizes | max_by(.pods)) as $big
| { benchmark: "ctlplane",
    kernel: $kernel,
    attach: $attach,
    method: "fake pods, each with its own netns holding eth0 and its veth peer in the node netns; bench/ctlplane: one connection to redirectd, sequential PodAdd/PodDelete, each timed, in rounds (add all, delete all), the median round reported; baseline: per pod `tc qdisc add clsact` + two `tc filter add ... bpf da pinned` (+ two `bpftool map update` of the pods map), each command spawned without a shell and waited for; RSS is VmRSS of redirectd; every process of the bench on one CPU (taskset), both sides alike",
    sizes: $sizes,
    restart: $big.restart,
    targets: {
      add_vs_tc: { want: 50,
        worst: ([$sizes[].add_speedup_vs_tc] | min),
        worst_first_round: ([$sizes[].add_speedup_vs_tc_first_round] | min),
        met: (([$sizes[].add_speedup_vs_tc] | min) >= 50) },
      pods: { want: 10000, enrolled: $big.pods, met: ($big.pods >= 10000) },
      rss_at_max: { want_kib: 16384, pods: $big.pods,
        kib: ([$big.rss_kib.enrolled, ($big.restart.rss_kib_after // 0)] | max),
        met: (([$big.rss_kib.enrolled, ($big.restart.rss_kib_after // 0)] | max) < 16384
              and $big.pods >= 10000) } } }
