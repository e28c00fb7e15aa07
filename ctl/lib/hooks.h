/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Our programs on tc hooks, pods' and ztunnel's alike, in either form:
 * cls_bpf filters at our slot (pref, handle) on a clsact we may have
 * made, or TCX links at the head of the chain, pinned (tcx.h). Attach,
 * detach, the order check of the watch, and moving ours first. One
 * module for redirectd and for `redirectctl cleanup`, so both touch
 * exactly the same things and never a foreign filter, qdisc or link.
 */
#ifndef REDIRECT_HOOKS_H
#define REDIRECT_HOOKS_H

#include <stdbool.h>
#include "datapath.h"
#include "nl.h"
#include "tc.h"
#include "compiler.h"

/* Where our filters sit on every hook: tc "pref" and handle. */
struct hook_slot {
	__u16 prio;
	__u32 handle;
};

/* What every operation needs: our slot, our programs, our pin folder. */
struct hooks {
	struct hook_slot slot;
	const struct datapath *dp; /* NULL: detaching only (cleanup) */
	const char *pin_dir;
};

/*
 * A device and our programs on it: a pod's host veth (app_outbound on
 * ingress, app_inbound on egress), ztunnel's host veth (ztunnel_host_in)
 * or ztunnel's own interface inside its netns (ztunnel_ingress). Its
 * TCX links are pinned by the ifindex of the host veth (tcx.h).
 */
struct hook_dev {
	struct nl *nl; /* netlink in the device's netns */
	int netns_fd; /* -1: the caller's netns; else entered for TCX calls */
	int ifindex; /* in that netns */
	int host_ifindex; /* names the pins */
	bool peer; /* the host veth's far end: tcx_<n>_peer_* pins */
	size_t n;
	struct {
		enum tc_dir dir;
		enum dp_prog prog;
	} hook[2];
};

void hook_dev_pod(struct hook_dev *dev, struct nl *nl, int host_ifindex);
void hook_dev_ztunnel_host(struct hook_dev *dev, struct nl *nl,
			   int host_ifindex);
void hook_dev_ztunnel_own(struct hook_dev *dev, struct nl *znl, int netns_fd,
			  int ifindex, int host_ifindex);
/* The pin of the TCX link of hook i of dev. */
void hook_pin(const struct hooks *h, const struct hook_dev *dev, size_t i,
	      char *buf, size_t len);

/*
 * --attach auto's test: TCX programs, or a foreign legacy filter at a
 * lower pref than ours, on a hook of ours; either may end the chain
 * before a cls_bpf filter of ours runs.
 */
bool hook_dev_wants_tcx(const struct hooks *h, const struct hook_dev *dev);
/*
 * Ours on every hook of dev: TCX links at the head (tcx), or a clsact
 * (*created: we made it) and cls_bpf filters at our slot; an existing
 * one of ours gets this build's program in place.
 */
MUST_CHECK int hook_dev_attach(const struct hooks *h,
			       const struct hook_dev *dev, bool tcx,
			       bool *created);
/*
 * hook_dev_attach in two steps, for a caller with other work between
 * them: the clsact (tc only; *created: we made it), then ours on it. A
 * new clsact's first filter waits for an RCU grace period since the
 * qdisc was made (mini_qdisc_pair_swap), unless one passed meanwhile.
 */
MUST_CHECK int hook_dev_prepare(const struct hook_dev *dev, bool tcx,
				bool *created);
MUST_CHECK int hook_dev_attach_prepared(const struct hooks *h,
					const struct hook_dev *dev, bool tcx);
/*
 * The same, and then the other kind of ours goes (cls_bpf filters after
 * a move to TCX, TCX links after one to tc): the new ones run before the
 * old go, so ours never miss a packet.
 */
MUST_CHECK int hook_dev_attach_only(const struct hooks *h,
				    const struct hook_dev *dev, bool tcx,
				    bool *created);
/*
 * Our cls_bpf filters, then our clsact once empty (qdisc_ours); TCX
 * links too unless tc_only. *removed (may be NULL) counts what went.
 * 0, or the first error (nothing there is no error).
 */
MUST_CHECK int hook_dev_detach(const struct hooks *h,
			       const struct hook_dev *dev, bool qdisc_ours,
			       bool tc_only, unsigned int *removed);

/* Only our TCX links' pins, for a device we cannot reach (its netns or
 * the veth went): unpinned, a link goes whatever became of its device. */
MUST_CHECK int hook_dev_unpin(const struct hooks *h, const struct hook_dev *dev,
			      unsigned int *removed);

/* What the order watch finds on a device. */
enum hook_order {
	HOOK_ORDER_OK,
	HOOK_ORDER_NOT_FIRST, /* a program before a TCX link of ours */
	HOOK_ORDER_TCX_FIRST, /* ours are cls_bpf; TCX programs run first */
	HOOK_ORDER_FILTER_FIRST, /* ours are cls_bpf; a foreign one is first */
};
/* For the log: what runs before ours. */
const char *hook_order_name(enum hook_order o);
/* This build's program ids, by enum dp_prog (0: unknown). */
void hook_prog_ids(const struct datapath *dp, __u32 ids[DP_PROG_MAX]);
/* ids: hook_prog_ids. tcx: ours are TCX links, else cls_bpf filters. */
enum hook_order hook_dev_order(const struct hooks *h,
			       const struct hook_dev *dev, bool tcx,
			       const __u32 *ids);
/*
 * Every TCX link of ours that is not first goes back to the head
 * (tcx_move_to_head: ours never absent). *found: links not first,
 * *moved: put back. 0, or the first error.
 */
MUST_CHECK int hook_dev_restore_head(const struct hooks *h,
				     const struct hook_dev *dev,
				     const __u32 *ids, unsigned int *found,
				     unsigned int *moved);

/* --- single filters, and the sweep of orphans by name --- */

struct tc_slot hook_slot_on(const struct hook_slot *hs, int ifindex,
			    enum tc_dir dir);
/* 0: removed; -ENOENT/-ENODEV: nothing of ours there; else an error. */
MUST_CHECK int hook_filter_detach(struct nl *nl, const struct hook_slot *hs,
				  int ifindex, enum tc_dir dir,
				  enum dp_prog prog);
/* Our clsact, once no filter is left on it: 0 removed, -EBUSY foreign
 * filters remain (left in place), else an error. */
int hook_qdisc_drop_if_empty(struct nl *nl, int ifindex);
/* The link at ifindex still exists and has the name we knew. */
bool hook_veth_alive(struct nl *nl, int ifindex, const char *name);

/* Whether a device is one a pod or ztunnel of ours holds. */
typedef bool (*hook_owned_fn)(int ifindex, void *arg);
/*
 * Filters of ours (a program of ours by name, at our slot) on every link
 * of nl's netns that owned() does not claim (NULL: none is claimed): what
 * an unacknowledged add or a crash left. redirectd's reconcile and
 * `redirectctl cleanup` both sweep with it. *removed and *failed count
 * filters; returns 0, or the error of the link dump.
 */
int hook_orphans_drop(struct nl *nl, const struct hook_slot *hs,
		      hook_owned_fn owned, void *arg, unsigned int *removed,
		      unsigned int *failed);
/*
 * The same for TCX links pinned in pin_dir: those of a device owned()
 * does not claim, and every leftover of a move cut short (tcx.h).
 */
void hook_tcx_orphans_drop(const char *pin_dir, hook_owned_fn owned, void *arg,
			   unsigned int *removed, unsigned int *failed);

#endif
