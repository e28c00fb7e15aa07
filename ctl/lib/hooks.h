/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Our programs on tc hooks: attach and detach at our slot (pref, handle),
 * the clsact qdisc we made, and whether a veth is still the one we knew.
 * One module for redirectd and for `redirectctl cleanup`, so both touch
 * exactly the same things and never a foreign filter or qdisc.
 */
#ifndef REDIRECT_HOOKS_H
#define REDIRECT_HOOKS_H

#include <stdbool.h>
#include "datapath.h"
#include "nl.h"
#include "compiler.h"

/* Where our filters sit on every hook: tc "pref" and handle. */
struct hook_slot {
	__u16 prio;
	__u32 handle;
};

struct tc_slot hook_slot_on(const struct hook_slot *hs, int ifindex,
			    enum tc_dir dir);
MUST_CHECK int hook_attach(struct nl *nl, const struct hook_slot *hs,
			   int ifindex, enum tc_dir dir,
			   const struct datapath *dp, enum dp_prog prog);
/* 0: removed; -ENOENT/-ENODEV: nothing of ours there; else an error. */
MUST_CHECK int hook_detach(struct nl *nl, const struct hook_slot *hs,
			   int ifindex, enum tc_dir dir, enum dp_prog prog);
/* Our clsact, once no filter is left on it: 0 removed, -EBUSY foreign
 * filters remain (left in place), else an error. */
int hook_qdisc_drop_if_empty(struct nl *nl, int ifindex);
/* A pod's veth: clsact (created: we made it) and both programs. */
MUST_CHECK int hook_pod_attach(struct nl *nl, const struct hook_slot *hs,
			       const struct datapath *dp, int ifindex,
			       bool *created);
/* Both programs, then our clsact if empty; *removed: filters removed. */
MUST_CHECK int hook_pod_detach(struct nl *nl, const struct hook_slot *hs,
			       int ifindex, bool qdisc_ours,
			       unsigned int *removed);
/* The link at ifindex still exists and has the name we knew. */
bool hook_veth_alive(struct nl *nl, int ifindex, const char *name);

#endif
