// SPDX-License-Identifier: GPL-2.0
/*
 * The fake kernel behind fuzz_request, its tc and routing: clsact qdiscs
 * and filter slots per (netns, ifindex, direction), the functions of tc.h
 * and ztunnel_routing.h, and the harness's foreign filter. See
 * fake_kernel.h for the world it simulates.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "tc.h"
#include "ztunnel_routing.h"
#include "fake_kernel.h"
#include "fake_kernel_int.h"

#define MAX_QDISCS 256
#define MAX_FILTERS 512

struct qdisc {
	bool used;
	char ns[NS_LEN];
	int ifindex;
};

struct filter {
	bool used;
	char ns[NS_LEN];
	int ifindex;
	enum tc_dir dir;
	__u16 prio;
	__u32 handle;
	char name[64];
};

/* This file's part of the world: qdiscs and filters. */
static struct {
	struct qdisc qdiscs[MAX_QDISCS];
	struct filter filters[MAX_FILTERS];
} w;

void fk_tc_reset(void)
{
	memset(&w, 0, sizeof(w));
}

static struct qdisc *qdisc_find(const struct nl *nl, int ifindex)
{
	for (int i = 0; i < MAX_QDISCS; i++)
		if (w.qdiscs[i].used && w.qdiscs[i].ifindex == ifindex &&
		    !strcmp(w.qdiscs[i].ns, nl->ns))
			return &w.qdiscs[i];
	return NULL;
}

static void drop_filters(const char *ns, int ifindex)
{
	for (int i = 0; i < MAX_FILTERS; i++)
		if (w.filters[i].used && w.filters[i].ifindex == ifindex &&
		    !strcmp(w.filters[i].ns, ns))
			w.filters[i].used = false;
}

/* The kernel takes a node device's qdisc and filters with it. */
void fk_tc_link_gone(int ifindex)
{
	for (int q = 0; q < MAX_QDISCS; q++)
		if (w.qdiscs[q].used && !w.qdiscs[q].ns[0] &&
		    w.qdiscs[q].ifindex == ifindex)
			w.qdiscs[q].used = false;
	drop_filters("", ifindex);
}

int tc_clsact_ensure(struct nl *nl, int ifindex, bool *created)
{
	*created = false;
	if (!fk_link_exists(nl, ifindex))
		return -ENODEV;
	if (qdisc_find(nl, ifindex))
		return 0;
	for (int i = 0; i < MAX_QDISCS; i++) {
		if (w.qdiscs[i].used)
			continue;
		w.qdiscs[i].used = true;
		snprintf(w.qdiscs[i].ns, NS_LEN, "%s", nl->ns);
		w.qdiscs[i].ifindex = ifindex;
		*created = true;
		return 0;
	}
	return -ENOMEM;
}

bool tc_clsact_exists(struct nl *nl, int ifindex)
{
	return qdisc_find(nl, ifindex) != NULL;
}

int tc_clsact_delete(struct nl *nl, int ifindex)
{
	struct qdisc *q = qdisc_find(nl, ifindex);

	if (!q)
		return -ENOENT;
	q->used = false;
	drop_filters(nl->ns, ifindex);
	return 0;
}

static struct filter *filter_find(const char *ns, const struct tc_slot *s)
{
	for (int i = 0; i < MAX_FILTERS; i++) {
		struct filter *f = &w.filters[i];

		if (f->used && f->ifindex == s->ifindex && f->dir == s->dir &&
		    f->prio == s->prio && f->handle == s->handle &&
		    !strcmp(f->ns, ns))
			return f;
	}
	return NULL;
}

static int filter_put(const char *ns, const struct tc_slot *s, const char *name)
{
	struct filter *f = filter_find(ns, s);

	if (f) {
		if (strcmp(f->name, name))
			return -EBUSY;
		return 0; /* ours: replaced in place */
	}
	for (int i = 0; i < MAX_FILTERS; i++) {
		f = &w.filters[i];
		if (f->used)
			continue;
		f->used = true;
		snprintf(f->ns, NS_LEN, "%s", ns);
		f->ifindex = s->ifindex;
		f->dir = s->dir;
		f->prio = s->prio;
		f->handle = s->handle;
		snprintf(f->name, sizeof(f->name), "%s", name);
		return 0;
	}
	return -ENOSPC;
}

int tc_filter_attach(struct nl *nl, const struct tc_slot *slot, int prog_fd,
		     const char *name)
{
	if (!slot->prio || !slot->handle || strlen(name) >= 64 || prog_fd < 0)
		return -EINVAL;
	if (!fk_link_exists(nl, slot->ifindex))
		return -ENODEV;
	if (!qdisc_find(nl, slot->ifindex))
		return -EINVAL; /* no clsact: no hook to attach to */
	return filter_put(nl->ns, slot, name);
}

int tc_filter_get(struct nl *nl, const struct tc_slot *slot,
		  struct tc_filter_info *info)
{
	struct filter *f = filter_find(nl->ns, slot);

	if (!f)
		return -ENOENT;
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", f->name);
	info->prog_id = 1;
	info->prio = f->prio;
	info->handle = f->handle;
	info->direct_action = true;
	return 0;
}

int tc_filter_detach(struct nl *nl, const struct tc_slot *slot,
		     const char *expected_name)
{
	struct filter *f;

	if (!fk_link_exists(nl, slot->ifindex))
		return -ENODEV;
	f = filter_find(nl->ns, slot);
	if (!f)
		return -ENOENT;
	if (strcmp(f->name, expected_name))
		return -EBUSY;
	f->used = false;
	return 0;
}

int tc_filter_list(struct nl *nl, int ifindex, enum tc_dir dir,
		   struct tc_filter_info *out, int max)
{
	int n = 0;

	if (!fk_link_exists(nl, ifindex))
		return -ENODEV;
	for (int i = 0; i < MAX_FILTERS && n < max; i++) {
		struct filter *f = &w.filters[i];

		if (!f->used || f->ifindex != ifindex || f->dir != dir ||
		    strcmp(f->ns, nl->ns))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].name, sizeof(out[n].name), "%s", f->name);
		out[n].prio = f->prio;
		out[n].handle = f->handle;
		n++;
	}
	return n;
}

/* --- ztunnel_routing.h: refused in a netns named norule* --- */

int ztunnel_routing_setup(struct nl *nl, const struct ztunnel_routing *r,
			  struct ztunnel_saved *was)
{
	(void)r;
	memset(was, 0, sizeof(*was));
	return strncmp(nl->ns, "norule", 6) ? 0 : -EPERM;
}

int ztunnel_routing_restore(struct nl *nl, const struct ztunnel_routing *r,
			    const struct ztunnel_saved *was)
{
	(void)nl;
	(void)r;
	(void)was;
	return 0;
}

int ztunnel_routing_teardown(struct nl *nl, const struct ztunnel_routing *r)
{
	(void)nl;
	(void)r;
	return 0;
}

struct ztunnel_routing ztunnel_routing_default(void)
{
	struct ztunnel_routing r = { .mark = 0x400,
				     .mask = 0xfff,
				     .table = 100 };

	return r;
}

/* Missing where setup was refused (a netns named norule*). */
int ztunnel_routing_check(struct nl *nl, const struct ztunnel_routing *r,
			  char *missing, size_t len)
{
	(void)r;
	if (strncmp(nl->ns, "norule", 6))
		return 0;
	snprintf(missing, len, "every rule and route");
	return -ENOENT;
}

/* --- world changes the harness makes --- */

void fk_foreign_filter(unsigned int i, bool egress, __u16 prio, __u32 handle)
{
	struct nl node = { .ns = "" };
	struct tc_slot s = { .ifindex = FK_HOST_BASE + (int)(i % FK_HOST_LINKS),
			     .dir = egress ? TC_DIR_EGRESS : TC_DIR_INGRESS,
			     .prio = prio ? prio : 1,
			     .handle = handle ? handle : 1 };
	bool created;

	if (tc_clsact_ensure(&node, s.ifindex, &created))
		return;
	filter_put("", &s, "foreign");
}
