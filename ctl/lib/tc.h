/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tc through netlink: clsact qdiscs and cls_bpf filters that chain with
 * other owners' filters. A filter is ours by its slot (pref, handle) and
 * its name; a foreign filter or qdisc is never touched.
 *
 * Every function returns 0 or a negative errno; failures are logged with
 * the kernel's extended-ack message.
 */
#ifndef REDIRECT_TC_H
#define REDIRECT_TC_H

#include <stdbool.h>
#include <linux/types.h>
#include "nl.h"

enum tc_dir { TC_DIR_INGRESS, TC_DIR_EGRESS };

struct tc_slot {
	int ifindex;
	enum tc_dir dir;
	__u16 prio; /* tc "pref" */
	__u32 handle;
};

struct tc_filter_info {
	char name[64]; /* TCA_BPF_NAME */
	__u32 prog_id; /* TCA_BPF_ID */
	__u16 prio;
	__u32 handle;
	bool direct_action;
};

/* --- clsact qdisc --- */

/* Create the clsact qdisc if missing; *created says whether we made it. */
int tc_clsact_ensure(struct nl *nl, int ifindex, bool *created);
bool tc_clsact_exists(struct nl *nl, int ifindex);
/* Delete the clsact qdisc (only call this for one we created). */
int tc_clsact_delete(struct nl *nl, int ifindex);

/* --- cls_bpf filters --- */

/*
 * Attach prog_fd as a direct-action cls_bpf filter named `name`, protocol
 * all, at slot. If our own filter (same name) already sits there it is
 * replaced in place; a foreign filter in the slot is never touched: -EBUSY.
 */
int tc_filter_attach(struct nl *nl, const struct tc_slot *slot, int prog_fd,
		     const char *name);
/*
 * Also -EBUSY when the slot is empty but its prio is held by a classifier of
 * another kind or protocol (the kernel keeps one per prio). Chain 0 only;
 * prio and handle must be non-zero (-EINVAL), name shorter than 64.
 */
/* Look at the filter in slot: 0 and *info filled, or -ENOENT. */
int tc_filter_get(struct nl *nl, const struct tc_slot *slot,
		  struct tc_filter_info *info);
/* Remove the filter in slot only if its name is expected_name. */
int tc_filter_detach(struct nl *nl, const struct tc_slot *slot,
		     const char *expected_name);
/* Detach: -ENOENT if the slot is empty, -EBUSY if it holds another's filter. */
/* List every filter on one hook of a device (at most max); returns count. */
int tc_filter_list(struct nl *nl, int ifindex, enum tc_dir dir,
		   struct tc_filter_info *out, int max);
/*
 * List: chain 0, in prio order, returns how many were stored. Non-bpf
 * filters get their kind as name ("u32"); a cls_bpf filter without a name
 * (classic BPF from tc) has "" and prog_id 0.
 */

#endif
