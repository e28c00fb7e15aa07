// SPDX-License-Identifier: GPL-2.0
/*
 * Watching the order on pods' hooks: a program of another owner that
 * runs before ours and ends the chain unmeshes the pod without a word.
 * A slice of the pods is checked on every sweep (so 10000 pods cost the
 * event loop a few ms at a time), all of them at reconcile:
 * - a TCX pod whose link is no longer first: ours is put back at the
 *   head (detached and made again there: absent for one syscall);
 * - a tc pod whose veth gained TCX programs (they run before every
 *   legacy filter): with --attach auto it moves to TCX at the head; with
 *   --attach tc it is reported, as nothing safe can be done;
 * - a foreign legacy filter at a lower pref than ours (it may end the
 *   chain before ours runs; it is not ours to move): with --attach auto
 *   ours move to TCX, which runs before it; else it is reported.
 * Counted in status and metrics, logged once per finding.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "daemon.h"
#include "daemon_int.h"
#include "log.h"
#include "tcx.h"

#define WATCH_SLICE 256 /* pods checked per sweep */

static __u32 prog_id_of(const struct daemon *d, enum dp_prog prog)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(dp_prog_fd(&d->dp, prog), &info, &len))
		return 0;
	return info.id;
}

static bool ours_first_tcx(int ifindex, enum tc_dir dir, __u32 our_id)
{
	__u32 ids[16], n;

	return !tcx_list(ifindex, dir, ids, 16, &n) && n && ids[0] == our_id;
}

static int tcx_programs(int ifindex)
{
	int in = tcx_count(ifindex, TC_DIR_INGRESS);
	int eg = tcx_count(ifindex, TC_DIR_EGRESS);

	return (in > 0 ? in : 0) + (eg > 0 ? eg : 0);
}

/* A legacy filter of another owner before ours on either hook. */
bool foreign_filter_before_ours(struct daemon *d, int ifindex)
{
	static const enum tc_dir dirs[] = { TC_DIR_INGRESS, TC_DIR_EGRESS };
	struct tc_filter_info f[8];

	for (int i = 0; i < 2; i++) {
		int n = tc_filter_list(d->nl, ifindex, dirs[i], f, 8);

		for (int j = 0; j < n; j++)
			if (f[j].prio < d->opts.tc_priority)
				return true;
	}
	return false;
}

/* Our two programs' ids, read once per watch pass. */
struct our_ids {
	__u32 id[2]; /* app_outbound (ingress), app_inbound (egress) */
};

static const struct {
	enum tc_dir dir;
	enum dp_prog prog;
} pod_hooks[] = { { TC_DIR_INGRESS, DP_APP_OUTBOUND },
		  { TC_DIR_EGRESS, DP_APP_INBOUND } };

static void restore_tcx(struct daemon *d, struct enrolled_pod *pod,
			const struct our_ids *ids)
{
	for (int i = 0; i < 2; i++) {
		enum tc_dir dir = pod_hooks[i].dir;
		int fd = dp_prog_fd(&d->dp, pod_hooks[i].prog);

		if (ours_first_tcx(pod->host_ifindex, dir, ids->id[i]))
			continue;
		d->order_violations++;
		pr_warn("pod %s: another TCX program runs before ours on %s; "
			"ours goes back to the head",
			pod->uid, pod->host_veth);
		if (!tcx_move_to_head(d->opts.bpffs, pod->host_ifindex, dir,
				      fd))
			d->order_restored++;
	}
}

/*
 * A tc pod with another owner's program before ours (what: which kind):
 * with --attach auto ours move to the head of the TCX chain, which runs
 * before every legacy filter; otherwise it is reported once.
 */
static void move_to_tcx(struct daemon *d, struct enrolled_pod *pod,
			const char *what)
{
	bool created;

	d->order_violations++;
	if (d->opts.attach != ATTACH_AUTO || !d->tcx_ok) {
		if (!pod->order_reported)
			pr_warn("pod %s: %s on %s run before our tc filters "
				"and may end the chain%s",
				pod->uid, what, pod->host_veth,
				d->opts.attach == ATTACH_AUTO ?
					" (no TCX in this kernel to go first)" :
					": run redirectd with --attach auto or "
					"tcx");
		pod->order_reported = true;
		return;
	}
	if (attach_pod_hooks(d, pod->host_ifindex, true, &created)) {
		pr_warn("pod %s: moving to TCX on %s failed; it stays on tc",
			pod->uid, pod->host_veth);
		return;
	}
	pr_warn("pod %s: %s on %s; ours moved to the head of its TCX chain",
		pod->uid, what, pod->host_veth);
	detach_pod_filters_tc(d, pod->host_ifindex);
	pod->tcx = true;
	if (state_journal_pod_put(&d->st, pod))
		pr_warn("pod %s: journal: its move to TCX is not recorded yet",
			pod->uid);
	d->order_restored++;
}

static void watch_pod(struct daemon *d, struct enrolled_pod *pod,
		      const struct our_ids *ids)
{
	if (!veth_alive(d, pod->host_ifindex, pod->host_veth))
		return;
	d->order_checks++;
	if (pod->tcx)
		restore_tcx(d, pod, ids);
	else if (tcx_programs(pod->host_ifindex) > 0)
		move_to_tcx(d, pod, "TCX programs");
	else if (foreign_filter_before_ours(d, pod->host_ifindex))
		move_to_tcx(d, pod, "foreign tc filters at a lower pref");
}

void daemon_watch_order(struct daemon *d, bool all)
{
	size_t checked = 0, nb = d->st.nbuckets;
	struct our_ids ids = { { prog_id_of(d, pod_hooks[0].prog),
				 prog_id_of(d, pod_hooks[1].prog) } };

	for (size_t k = 0; k < nb && (all || checked < WATCH_SLICE); k++) {
		size_t b = all ? k : (d->watch_cursor + k) % nb;

		for (struct enrolled_pod *p = d->st.buckets[b]; p;
		     p = p->next, checked++)
			watch_pod(d, p, &ids);
		if (!all)
			d->watch_next = (b + 1) % nb;
	}
	if (!all)
		d->watch_cursor = d->watch_next;
}
