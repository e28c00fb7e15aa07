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
	del_speedup_vs_tc_bpftool: speedup(.baseline_del.mean_us; .del.mean_us),
	add_speedup_vs_inpod: (if .inpod then speedup(.inpod.iptables.mean_us; .add.mean_us) else null end),
	add_speedup_vs_inpod_nft: (if .inpod.nft then speedup(.inpod.nft.mean_us; .add.mean_us) else null end) }]
  as $sizes
| ($sizes | max_by(.pods)) as $big
| ([$sizes[] | select(.inpod)] | max_by(.pods)) as $bigin
| { benchmark: "ctlplane",
    kernel: $kernel,
    attach: $attach,
    method_inpod: "Istio in-pod setup per pod (the 1.21+ redirection): enter the pod netns (setns) and run iptables-restore and ip6tables-restore of the in-pod rule set there (bench/lib.sh inpod_rules; Debian iptables, nf_tables backend), each spawned without a shell and waited for; and the same rule set as one nft -f; one pod after another, same pods, same run, same CPU; the policy rules and routes istio-cni adds over netlink are not included (favours the baseline)",
    method: "fake pods, each with its own netns holding eth0 and its veth peer in the node netns; bench/ctlplane: one connection to redirectd, sequential PodAdd/PodDelete, each timed, in rounds (add all, delete all), the median round reported; baseline: per pod `tc qdisc add clsact` + two `tc filter add ... bpf da pinned` (+ two `bpftool map update` of the pods map), each command spawned without a shell and waited for; RSS is VmRSS of redirectd; every process of the bench on one CPU (taskset), both sides alike",
    sizes: $sizes,
    restart: $big.restart,
    targets: {
      add_vs_tc: { want: 50,
        worst: ([$sizes[].add_speedup_vs_tc] | min),
        worst_first_round: ([$sizes[].add_speedup_vs_tc_first_round] | min),
        met: (([$sizes[].add_speedup_vs_tc] | min) >= 50) },
      add_vs_inpod: (if $bigin then { want: 100, pods: $bigin.pods,
        speedup: $bigin.add_speedup_vs_inpod,
        speedup_nft: $bigin.add_speedup_vs_inpod_nft,
        met: ($bigin.add_speedup_vs_inpod >= 100) } else null end),
      pods: { want: 10000, enrolled: $big.pods, met: ($big.pods >= 10000) },
      rss_at_max: { want_kib: 16384, pods: $big.pods,
        kib: ([$big.rss_kib.enrolled, ($big.restart.rss_kib_after // 0)] | max),
        met: (([$big.rss_kib.enrolled, ($big.restart.rss_kib_after // 0)] | max) < 16384
              and $big.pods >= 10000) } } }
