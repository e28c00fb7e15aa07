// SPDX-License-Identifier: GPL-2.0
/*
 * Watching the order on our hooks: a program of another owner that runs
 * before ours and ends the chain unmeshes a pod without a word (on its
 * veth), or loses every meshed packet of the node (on ztunnel's). Every
 * sweep checks every ztunnel and a slice of the pods (so 10000 pods cost
 * the event loop a few ms at a time); reconcile checks them all:
 * - TCX links of ours no longer first go back to the head, a new link
 *   made there before the old one goes (tcx_move_to_head: never absent);
 * - cls_bpf filters of ours behind TCX programs (they run before every
 *   legacy filter) or behind a foreign filter at a lower pref (it may
 *   end the chain first; not ours to move): with --attach auto (or tcx,
 *   for one still on tc from an older run) ours move to TCX links at the
 *   head, made before the filters go; with --attach tc it is reported,
 *   as nothing safe can be done.
 * Counted in status and metrics, logged once per finding. The same sweep
 * checks each pod's coverage (daemon_coverage.c); reconcile leaves that
 * to the sweeps, as it may cost an address dump per pod.
 */
#include <errno.h>
#include <string.h>
#include "daemon_coverage.h"
#include "daemon_errors.h"
#include "daemon_hooks.h"
#include "daemon_watch.h"
#include "log.h"
#include "loop.h"

#define WATCH_SLICE 256 /* pods checked per sweep, at most */
#define WATCH_BUDGET_MS 20 /* and for about this long */

/* What one check covers: a pod's hooks, or a ztunnel's. */
struct watched {
	const char *kind; /* "pod", "ztunnel" */
	const char *uid;
	const char *veth; /* its host veth, for the log */
	bool *tcx; /* its attach mode, changed by a move */
	bool *reported; /* a finding ours cannot fix was logged */
	bool stuck; /* a device of it is out of reach: no move */
	const struct hook_dev *devs;
	size_t n;
};

static void restore_head(struct daemon *d, const struct watched *w,
			 const __u32 *ids)
{
	struct hooks h = hooks_of(d);
	unsigned int found = 0, moved = 0;

	for (size_t i = 0; i < w->n; i++)
		note_kernel_error(d,
				  hook_dev_restore_head(&h, &w->devs[i], ids,
							&found, &moved),
				  "move a TCX link of ours to the head",
				  w->devs[i].ifindex);
	d->order_violations += found;
	d->order_restored += moved;
	if (found && moved == found)
		pr_warn("%s %s: another TCX program ran before ours (%s); "
			"ours is back at the head",
			w->kind, w->uid, w->veth);
	else if (found && !*w->reported)
		pr_warn("%s %s: another TCX program runs before ours (%s) "
			"and ours could not be put back first",
			w->kind, w->uid, w->veth);
	*w->reported = found > moved;
}

static const char *why_stays(const struct daemon *d, const struct watched *w)
{
	if (d->opts.attach == ATTACH_TC)
		return ": run redirectd with --attach auto or tcx";
	if (!d->tcx_ok)
		return " (no TCX in this kernel to go first)";
	return w->stuck ? " (its netns is out of reach to move ours)" : "";
}

/* The TCX links on every device first, then the filters go. */
static int links_then_no_filters(struct daemon *d, const struct watched *w)
{
	struct hooks h = hooks_of(d);
	bool created;
	size_t i;
	int err = 0;

	for (i = 0; i < w->n && !err; i++)
		err = hook_dev_attach(&h, &w->devs[i], true, &created);
	if (err) {
		while (i--)
			note_kernel_error(d,
					  hook_dev_unpin(&h, &w->devs[i], NULL),
					  "unpin a TCX link of a failed move",
					  w->devs[i].ifindex);
		return err;
	}
	for (i = 0; i < w->n; i++)
		note_kernel_error(
			d, hook_dev_detach(&h, &w->devs[i], false, true, NULL),
			"detach our tc filters", w->devs[i].ifindex);
	return 0;
}

/*
 * cls_bpf filters of ours with another owner's program before them
 * (what: which kind): moved to the head of the TCX chains, which run
 * before every legacy filter, where the attach mode allows; else
 * reported. true: moved (its record changed).
 */
static bool move_to_tcx(struct daemon *d, const struct watched *w,
			const char *what)
{
	int err;

	d->order_violations++;
	if (d->opts.attach == ATTACH_TC || !d->tcx_ok || w->stuck) {
		if (!*w->reported)
			pr_warn("%s %s: %s on %s run before our tc filters "
				"and may end the chain%s",
				w->kind, w->uid, what, w->veth,
				why_stays(d, w));
		*w->reported = true;
		return false;
	}
	err = links_then_no_filters(d, w);
	if (err) {
		pr_warn("%s %s: moving to TCX on %s failed (%s); it stays on tc",
			w->kind, w->uid, w->veth, strerror(-err));
		return false;
	}
	pr_warn("%s %s: %s on %s; ours moved to the head of its TCX chain",
		w->kind, w->uid, what, w->veth);
	*w->tcx = true;
	*w->reported = false;
	d->order_restored++;
	return true;
}

/* true: the owner's attach mode changed, to be journaled. */
static bool watch_one(struct daemon *d, const struct watched *w,
		      const __u32 *ids)
{
	struct hooks h = hooks_of(d);
	enum hook_order o = HOOK_ORDER_OK;

	d->order_checks++;
	if (*w->tcx) {
		restore_head(d, w, ids);
		return false;
	}
	for (size_t i = 0; i < w->n && !o; i++)
		o = hook_dev_order(&h, &w->devs[i], false, ids);
	if (!o) {
		*w->reported = false;
		return false;
	}
	return move_to_tcx(d, w, hook_order_name(o));
}

static void watch_pod(struct daemon *d, struct enrolled_pod *pod,
		      const __u32 *ids)
{
	struct hook_dev dev;
	struct watched w = { .kind = "pod",
			     .uid = pod->uid,
			     .veth = pod->host_veth,
			     .tcx = &pod->tcx,
			     .reported = &pod->order_reported,
			     .devs = &dev,
			     .n = 1 };

	if (!veth_alive(d, pod->host_ifindex, pod->host_veth))
		return;
	hook_dev_pod(&dev, d->nl, pod->host_ifindex);
	if (watch_one(d, &w, ids) && state_journal_pod_put(&d->st, pod))
		pr_warn("pod %s: journal: its move to TCX is not recorded yet",
			pod->uid);
}

/* Both its devices, its own interface inside its netns too. */
static void watch_ztunnel(struct daemon *d, struct ztunnel *zt,
			  const __u32 *ids)
{
	struct hook_dev devs[2];
	struct ztunnel_devs zd;
	struct watched w = { .kind = "ztunnel",
			     .uid = zt->uid,
			     .veth = zt->host_veth,
			     .tcx = &zt->tcx,
			     .reported = &zt->order_reported,
			     .devs = devs };

	ztunnel_devs_open(d, zt, &zd);
	if (zd.reach[1]) { /* its host veth gone: nothing left to watch */
		for (size_t i = 0; i < 2; i++)
			if (zd.reach[i])
				devs[w.n++] = zd.dev[i];
		w.stuck = !zd.reach[0];
		if (watch_one(d, &w, ids))
			journal_lag_tolerated(state_journal_zt_put(&d->st, zt));
	}
	ztunnel_devs_close(&zd);
}

/* Every pod once, order only: reconcile's pass (coverage waits for sweeps). */
static void watch_all_pods(struct daemon *d, const __u32 *ids)
{
	for (size_t b = 0; b < d->st.nbuckets; b++)
		for (struct enrolled_pod *p = d->st.buckets[b]; p; p = p->next)
			watch_pod(d, p, ids);
}

typedef void (*pod_check_fn)(struct daemon *d, struct enrolled_pod *pod,
			     const __u32 *ids);

/*
 * From *cursor on, up to WATCH_SLICE pods, a bucket at a time, each given
 * to check; past until (0: no limit) the slice ends at the bucket's end.
 * *cursor moves past the last bucket walked: the next sweep goes on there.
 */
static void pod_slice(struct daemon *d, size_t *cursor, uint64_t until,
		      pod_check_fn check, const __u32 *ids)
{
	size_t checked = 0, nb = d->st.nbuckets, next = *cursor;

	for (size_t k = 0; k < nb && checked < WATCH_SLICE; k++) {
		size_t b = (*cursor + k) % nb;

		for (struct enrolled_pod *p = d->st.buckets[b]; p;
		     p = p->next, checked++)
			check(d, p, ids);
		next = (b + 1) % nb;
		if (until && now_ms() >= until)
			break;
	}
	*cursor = next;
}

static void check_coverage(struct daemon *d, struct enrolled_pod *pod,
			   const __u32 *ids)
{
	(void)ids;
	pod_check_coverage(d, pod);
}

/*
 * The order and the coverage each from where the last sweep left them.
 * The order check is cheap and its findings urgent (a pod unmeshed): a
 * full slice every sweep. A coverage check dumps the pod netns' addresses,
 * which may be many (pods sharing a netns) or slow (the daemon under
 * valgrind): it has its own cursor and stops after WATCH_BUDGET_MS, so
 * neither the loop's requests nor the order watch wait behind it.
 */
static void watch_pod_slice(struct daemon *d, const __u32 *ids)
{
	pod_slice(d, &d->watch_cursor, 0, watch_pod, ids);
	pod_slice(d, &d->coverage_cursor, now_ms() + WATCH_BUDGET_MS,
		  check_coverage, ids);
}

void daemon_watch_order(struct daemon *d, bool all)
{
	__u32 ids[DP_PROG_MAX];

	hook_prog_ids(&d->dp, ids);
	for (int i = 0; i < MAX_ZTUNNELS; i++)
		if (d->st.zts[i])
			watch_ztunnel(d, d->st.zts[i], ids);
	if (all)
		watch_all_pods(d, ids);
	else
		watch_pod_slice(d, ids);
}
