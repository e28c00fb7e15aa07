// SPDX-License-Identifier: GPL-2.0
/* Our programs on tc hooks, shared by redirectd and cleanup: hooks.h. */
#include <errno.h>
#include <string.h>
#include "hooks.h"
#include "log.h"

struct tc_slot hook_slot_on(const struct hook_slot *hs, int ifindex,
			    enum tc_dir dir)
{
	struct tc_slot s = { .ifindex = ifindex,
			     .dir = dir,
			     .prio = hs->prio,
			     .handle = hs->handle };
	return s;
}

int hook_attach(struct nl *nl, const struct hook_slot *hs, int ifindex,
		enum tc_dir dir, const struct datapath *dp, enum dp_prog prog)
{
	struct tc_slot s = hook_slot_on(hs, ifindex, dir);

	return tc_filter_attach(nl, &s, dp_prog_fd(dp, prog),
				dp_prog_name(prog));
}

int hook_detach(struct nl *nl, const struct hook_slot *hs, int ifindex,
		enum tc_dir dir, enum dp_prog prog)
{
	struct tc_slot s = hook_slot_on(hs, ifindex, dir);
	int err = tc_filter_detach(nl, &s, dp_prog_name(prog));

	if (err && err != -ENOENT && err != -ENODEV)
		pr_warn("detach %s from ifindex %d: %s", dp_prog_name(prog),
			ifindex, strerror(-err));
	return err;
}

int hook_qdisc_drop_if_empty(struct nl *nl, int ifindex)
{
	struct tc_filter_info f;

	if (tc_filter_list(nl, ifindex, TC_DIR_INGRESS, &f, 1) != 0 ||
	    tc_filter_list(nl, ifindex, TC_DIR_EGRESS, &f, 1) != 0)
		return -EBUSY;
	return tc_clsact_delete(nl, ifindex);
}

int hook_pod_attach(struct nl *nl, const struct hook_slot *hs,
		    const struct datapath *dp, int ifindex, bool *created)
{
	int err = tc_clsact_ensure(nl, ifindex, created);

	if (!err)
		err = hook_attach(nl, hs, ifindex, TC_DIR_INGRESS, dp,
				  DP_APP_OUTBOUND);
	if (!err)
		err = hook_attach(nl, hs, ifindex, TC_DIR_EGRESS, dp,
				  DP_APP_INBOUND);
	return err;
}

int hook_pod_detach(struct nl *nl, const struct hook_slot *hs, int ifindex,
		    bool qdisc_ours, unsigned int *removed)
{
	static const struct {
		enum tc_dir dir;
		enum dp_prog prog;
	} hooks[] = { { TC_DIR_INGRESS, DP_APP_OUTBOUND },
		      { TC_DIR_EGRESS, DP_APP_INBOUND } };
	int first = 0, err;

	for (size_t i = 0; i < 2; i++) {
		err = hook_detach(nl, hs, ifindex, hooks[i].dir, hooks[i].prog);
		if (!err && removed)
			(*removed)++;
		else if (err != -ENOENT && err != -ENODEV && !first)
			first = err;
	}
	if (qdisc_ours) {
		err = hook_qdisc_drop_if_empty(nl, ifindex);
		if (err == -EBUSY)
			pr_info("ifindex %d: our clsact still holds foreign "
				"filters; left in place",
				ifindex);
	}
	return first;
}

bool hook_veth_alive(struct nl *nl, int ifindex, const char *name)
{
	struct link_info li;

	return ifindex > 0 && !link_get_by_index(nl, ifindex, &li) &&
	       !strcmp(li.name, name);
}
