/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the fake kernel's files share, and no one else (fake_kernel.h is
 * the harness's view): a netlink handle, which names its netns, and the
 * calls from one part of the fake world into another. Each file keeps its
 * own part of the world (a static w): links and netns in fake_kernel.c,
 * qdiscs and filters in fake_tc.c, the maps in fake_datapath.c.
 */
#ifndef FAKE_KERNEL_INT_H
#define FAKE_KERNEL_INT_H

#include <stdbool.h>

#define NS_LEN 64

struct nl {
	char ns[NS_LEN]; /* "" is the node's netns */
};

/* fake_kernel.c: lo, a live host veth, or a pod's eth0 in nl's netns. */
bool fk_link_exists(const struct nl *nl, int ifindex);

/* fake_tc.c: no qdisc, no filter. */
void fk_tc_reset(void);
/* fake_tc.c: the node's device ifindex is gone, with its qdisc and filters. */
void fk_tc_link_gone(int ifindex);

/* fake_datapath.c: empty maps. */
void fk_datapath_reset(void);

#endif
