// SPDX-License-Identifier: GPL-2.0
/* Our programs on tc hooks, pods' and ztunnel's alike: hooks.h. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "hooks.h"
#include "link.h"
#include "log.h"
#include "netns.h"
#include "tcx.h"

#define PIN_LEN 512
#define CHAIN_MAX 64 /* programs read from a TCX chain */

/* --- devices --- */

void hook_dev_pod(struct hook_dev *dev, struct nl *nl, int host_ifindex)
{
	memset(dev, 0, sizeof(*dev));
	dev->nl = nl;
	dev->netns_fd = -1;
	dev->ifindex = dev->host_ifindex = host_ifindex;
	dev->n = 2;
	dev->hook[0].dir = TC_DIR_INGRESS; /* leaving the pod */
	dev->hook[0].prog = DP_APP_OUTBOUND;
	dev->hook[1].dir = TC_DIR_EGRESS; /* entering it */
	dev->hook[1].prog = DP_APP_INBOUND;
}

void hook_dev_ztunnel_host(struct hook_dev *dev, struct nl *nl,
			   int host_ifindex)
{
	memset(dev, 0, sizeof(*dev));
	dev->nl = nl;
	dev->netns_fd = -1;
	dev->ifindex = dev->host_ifindex = host_ifindex;
	dev->n = 1;
	dev->hook[0].dir = TC_DIR_INGRESS; /* leaving ztunnel */
	dev->hook[0].prog = DP_ZTUNNEL_HOST_IN;
}

void hook_dev_ztunnel_own(struct hook_dev *dev, struct nl *znl, int netns_fd,
			  int ifindex, int host_ifindex)
{
	memset(dev, 0, sizeof(*dev));
	dev->nl = znl;
	dev->netns_fd = netns_fd;
	dev->ifindex = ifindex;
	dev->host_ifindex = host_ifindex;
	dev->peer = true;
	dev->n = 1;
	dev->hook[0].dir = TC_DIR_INGRESS; /* entering ztunnel */
	dev->hook[0].prog = DP_ZTUNNEL_INGRESS;
}

void hook_pin(const struct hooks *h, const struct hook_dev *dev, size_t i,
	      char *buf, size_t len)
{
	if (dev->peer)
		tcx_peer_pin_path(h->pin_dir, dev->host_ifindex,
				  dev->hook[i].dir, buf, len);
	else
		tcx_pin_path(h->pin_dir, dev->host_ifindex, dev->hook[i].dir,
			     buf, len);
}

/* TCX calls name a device by its ifindex in the calling thread's netns. */
static int enter(const struct hook_dev *dev, int *saved)
{
	*saved = -1;
	return dev->netns_fd < 0 ? 0 : netns_enter(dev->netns_fd, saved);
}

static int leave(int saved, int err)
{
	int lerr = saved < 0 ? 0 : netns_leave(saved);

	return err ? err : lerr;
}

/* --- single filters --- */

struct tc_slot hook_slot_on(const struct hook_slot *hs, int ifindex,
			    enum tc_dir dir)
{
	struct tc_slot s = { .ifindex = ifindex,
			     .dir = dir,
			     .prio = hs->prio,
			     .handle = hs->handle };
	return s;
}

static int filter_attach(const struct hooks *h, const struct hook_dev *dev,
			 size_t i)
{
	struct tc_slot s =
		hook_slot_on(&h->slot, dev->ifindex, dev->hook[i].dir);
	enum dp_prog prog = dev->hook[i].prog;

	return tc_filter_attach(dev->nl, &s, dp_prog_fd(h->dp, prog),
				dp_prog_name(prog));
}

int hook_filter_detach(struct nl *nl, const struct hook_slot *hs, int ifindex,
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

bool hook_veth_alive(struct nl *nl, int ifindex, const char *name)
{
	struct link_info li;

	return ifindex > 0 && !link_get_by_index(nl, ifindex, &li) &&
	       !strcmp(li.name, name);
}

/* --- attach and detach --- */

static bool gone(int err)
{
	return !err || err == -ENOENT || err == -ENODEV;
}

static int attach_tc_filters(const struct hooks *h, const struct hook_dev *dev)
{
	int err = 0;

	for (size_t i = 0; i < dev->n && !err; i++)
		err = filter_attach(h, dev, i);
	return err;
}

static int attach_tcx(const struct hooks *h, const struct hook_dev *dev)
{
	char pin[PIN_LEN];
	int saved, err = enter(dev, &saved);

	for (size_t i = 0; i < dev->n && !err; i++) {
		hook_pin(h, dev, i, pin, sizeof(pin));
		err = tcx_attach_head(pin, dev->ifindex, dev->hook[i].dir,
				      dp_prog_fd(h->dp, dev->hook[i].prog));
	}
	err = leave(saved, err);
	if (err)
		pr_warn("TCX attach to ifindex %d: %s", dev->ifindex,
			strerror(-err));
	return err;
}

int hook_dev_prepare(const struct hook_dev *dev, bool tcx, bool *created)
{
	*created = false;
	return tcx ? 0 : tc_clsact_ensure(dev->nl, dev->ifindex, created);
}

int hook_dev_attach_prepared(const struct hooks *h, const struct hook_dev *dev,
			     bool tcx)
{
	return tcx ? attach_tcx(h, dev) : attach_tc_filters(h, dev);
}

int hook_dev_attach(const struct hooks *h, const struct hook_dev *dev, bool tcx,
		    bool *created)
{
	int err = hook_dev_prepare(dev, tcx, created);

	return err ? err : hook_dev_attach_prepared(h, dev, tcx);
}

static int detach_tc(const struct hooks *h, const struct hook_dev *dev,
		     bool qdisc_ours, unsigned int *removed)
{
	int first = 0, err;

	for (size_t i = 0; i < dev->n; i++) {
		err = hook_filter_detach(dev->nl, &h->slot, dev->ifindex,
					 dev->hook[i].dir, dev->hook[i].prog);
		if (!err && removed)
			(*removed)++;
		else if (!gone(err) && !first)
			first = err;
	}
	if (qdisc_ours &&
	    hook_qdisc_drop_if_empty(dev->nl, dev->ifindex) == -EBUSY)
		pr_info("ifindex %d: our clsact still holds foreign filters; "
			"left in place",
			dev->ifindex);
	return first;
}

/* Unpinned, a link goes; no netns needed. */
int hook_dev_unpin(const struct hooks *h, const struct hook_dev *dev,
		   unsigned int *removed)
{
	char pin[PIN_LEN];
	int first = 0, err;

	for (size_t i = 0; i < dev->n; i++) {
		hook_pin(h, dev, i, pin, sizeof(pin));
		err = tcx_unpin(pin);
		if (!err && removed)
			(*removed)++;
		else if (!gone(err) && !first)
			first = err;
	}
	return first;
}

int hook_dev_detach(const struct hooks *h, const struct hook_dev *dev,
		    bool qdisc_ours, bool tc_only, unsigned int *removed)
{
	int err = tc_only ? 0 : hook_dev_unpin(h, dev, removed);
	int terr = detach_tc(h, dev, qdisc_ours, removed);

	return err ? err : terr;
}

int hook_dev_attach_only(const struct hooks *h, const struct hook_dev *dev,
			 bool tcx, bool *created)
{
	int err = hook_dev_attach(h, dev, tcx, created);

	if (err)
		return err;
	/* the clsact stays either way: it may hold others' filters */
	return tcx ? detach_tc(h, dev, false, NULL) :
		     hook_dev_unpin(h, dev, NULL);
}

/* --- the order watch --- */

const char *hook_order_name(enum hook_order o)
{
	switch (o) {
	case HOOK_ORDER_NOT_FIRST:
		return "another TCX program before ours";
	case HOOK_ORDER_TCX_FIRST:
		return "TCX programs";
	case HOOK_ORDER_FILTER_FIRST:
		return "foreign tc filters at a lower pref";
	default:
		return "nothing";
	}
}

void hook_prog_ids(const struct datapath *dp, __u32 ids[DP_PROG_MAX])
{
	for (int p = 0; p < DP_PROG_MAX; p++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		ids[p] =
			bpf_obj_get_info_by_fd(dp_prog_fd(dp, p), &info, &len) ?
				0 :
				info.id;
	}
}

/* In dev's netns. An empty or unreadable chain: ours is not first. */
static bool ours_first(const struct hook_dev *dev, size_t i, const __u32 *ids)
{
	__u32 chain[CHAIN_MAX], n;

	return !tcx_list(dev->ifindex, dev->hook[i].dir, chain, CHAIN_MAX,
			 &n) &&
	       n && chain[0] == ids[dev->hook[i].prog];
}

/* Filters come in pref order: the first is the lowest. */
static bool foreign_filter_first(const struct hooks *h,
				 const struct hook_dev *dev, enum tc_dir dir)
{
	struct tc_filter_info f;

	return tc_filter_list(dev->nl, dev->ifindex, dir, &f, 1) == 1 &&
	       f.prio < h->slot.prio;
}

/* In dev's netns: what runs before cls_bpf filters of ours, if any. */
static enum hook_order tc_order(const struct hooks *h,
				const struct hook_dev *dev)
{
	for (size_t i = 0; i < dev->n; i++)
		if (tcx_count(dev->ifindex, dev->hook[i].dir) > 0)
			return HOOK_ORDER_TCX_FIRST;
	for (size_t i = 0; i < dev->n; i++)
		if (foreign_filter_first(h, dev, dev->hook[i].dir))
			return HOOK_ORDER_FILTER_FIRST;
	return HOOK_ORDER_OK;
}

enum hook_order hook_dev_order(const struct hooks *h,
			       const struct hook_dev *dev, bool tcx,
			       const __u32 *ids)
{
	enum hook_order o = HOOK_ORDER_OK;
	int saved;

	if (enter(dev, &saved))
		return HOOK_ORDER_OK; /* cannot look: nothing to report */
	if (!tcx)
		o = tc_order(h, dev);
	for (size_t i = 0; tcx && i < dev->n && !o; i++)
		if (!ours_first(dev, i, ids))
			o = HOOK_ORDER_NOT_FIRST;
	leave(saved, 0);
	return o;
}

bool hook_dev_wants_tcx(const struct hooks *h, const struct hook_dev *dev)
{
	return hook_dev_order(h, dev, false, NULL) != HOOK_ORDER_OK;
}

int hook_dev_restore_head(const struct hooks *h, const struct hook_dev *dev,
			  const __u32 *ids, unsigned int *found,
			  unsigned int *moved)
{
	char pin[PIN_LEN];
	int saved, first = 0, err = enter(dev, &saved);

	if (err)
		return err;
	for (size_t i = 0; i < dev->n; i++) {
		enum dp_prog prog = dev->hook[i].prog;

		if (ours_first(dev, i, ids))
			continue;
		(*found)++;
		hook_pin(h, dev, i, pin, sizeof(pin));
		err = tcx_move_to_head(pin, dev->ifindex, dev->hook[i].dir,
				       dp_prog_fd(h->dp, prog),
				       dp_spare_fd(h->dp, prog));
		if (!err)
			(*moved)++;
		else if (!first)
			first = err;
	}
	return leave(saved, first);
}

/* --- orphans --- */

struct ifindex_list {
	int *v;
	size_t n, cap;
};

static int collect_ifindex(const struct link_info *li, void *arg)
{
	struct ifindex_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		int *bigger = realloc(l->v, cap * sizeof(*bigger));

		if (!bigger)
			return -ENOMEM;
		l->v = bigger;
		l->cap = cap;
	}
	l->v[l->n++] = li->ifindex;
	return 0;
}

static void drop_orphan_at(struct nl *nl, const struct hook_slot *hs,
			   int ifindex, enum tc_dir dir, unsigned int *removed,
			   unsigned int *failed)
{
	struct tc_slot s = hook_slot_on(hs, ifindex, dir);
	struct tc_filter_info f;
	int err;

	if (tc_filter_get(nl, &s, &f))
		return;
	for (int p = 0; p < DP_PROG_MAX; p++) {
		if (strcmp(f.name, dp_prog_name(p)))
			continue;
		err = hook_filter_detach(nl, hs, ifindex, dir, p);
		if (!err) {
			(*removed)++;
			pr_info("removed orphan %s from ifindex %d", f.name,
				ifindex);
		} else if (err != -ENOENT && err != -ENODEV) {
			(*failed)++;
		}
	}
}

/* The links first: no netlink request may run inside a dump. */
int hook_orphans_drop(struct nl *nl, const struct hook_slot *hs,
		      hook_owned_fn owned, void *arg, unsigned int *removed,
		      unsigned int *failed)
{
	struct ifindex_list l = { 0 };
	int err = link_for_each(nl, collect_ifindex, &l);

	for (size_t i = 0; i < l.n && !err; i++) {
		if (owned && owned(l.v[i], arg))
			continue;
		drop_orphan_at(nl, hs, l.v[i], TC_DIR_INGRESS, removed, failed);
		drop_orphan_at(nl, hs, l.v[i], TC_DIR_EGRESS, removed, failed);
	}
	free(l.v);
	return err;
}

void hook_tcx_orphans_drop(const char *pin_dir, hook_owned_fn owned, void *arg,
			   unsigned int *removed, unsigned int *failed)
{
	DIR *dir = opendir(pin_dir);
	char pin[PATH_MAX];
	struct dirent *de;
	bool leftover;
	int ifindex, err;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (!tcx_pin_parse(de->d_name, &ifindex, &leftover) ||
		    (!leftover && owned && owned(ifindex, arg)))
			continue;
		pr_info("removing %s TCX link %s",
			leftover ? "a move's leftover" : "orphan", de->d_name);
		snprintf(pin, sizeof(pin), "%s/%s", pin_dir, de->d_name);
		err = tcx_unpin(pin);
		if (err) {
			(*failed)++;
			pr_warn("unpin TCX link %s: %s", pin, strerror(-err));
		} else {
			(*removed)++;
		}
	}
	closedir(dir);
}
