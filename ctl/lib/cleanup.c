// SPDX-License-Identifier: GPL-2.0
/*
 * Uninstall without the daemon. Order: the journal's pods and ztunnels
 * (filters and TCX links, the clsact qdiscs we created once empty,
 * ztunnel's policy routing), then filters of ours by name at our slot on
 * every link of this netns (orphans), then the pins (maps, TCX links left,
 * the cgroup link), then the journal.
 * Nothing we did not make is touched: foreign filters and qdiscs stay, and
 * unknown files in the bpffs folder are reported, not removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cleanup.h"
#include "defaults.h"
#include "hooks.h"
#include "tcx.h"
#include "upgrade.h"
#include "datapath.h"
#include "log.h"
#include "link.h"
#include "netns.h"
#include "nl.h"
#include "sockmap.h"
#include "state.h"
#include "tc.h"
#include "ztunnel_routing.h"
#include "redirect.skel.h"
#include "sockmap.skel.h"

struct cleaner {
	const struct cleanup_opts *o;
	struct cleanup_report *r;
	struct nl *nl;
};

static struct hooks cleaner_hooks(const struct cleaner *c)
{
	struct hooks h = { .slot = { .prio = c->o->tc_priority,
				     .handle = c->o->tc_handle },
			   .pin_dir = c->o->bpffs };
	return h;
}

/* Our filters and TCX links on dev, and our clsact once empty. */
static void detach_dev(struct cleaner *c, const struct hook_dev *dev,
		       bool qdisc_ours)
{
	struct hooks h = cleaner_hooks(c);
	unsigned int removed = 0;
	bool had_qdisc = qdisc_ours && tc_clsact_exists(dev->nl, dev->ifindex);

	if (hook_dev_detach(&h, dev, qdisc_ours, false, &removed))
		c->r->errors++;
	if (had_qdisc && !tc_clsact_exists(dev->nl, dev->ifindex))
		c->r->qdiscs++;
	c->r->filters += removed;
	if (removed)
		pr_info("removed %u of ours from ifindex %d", removed,
			dev->ifindex);
}

static void clean_pod(struct enrolled_pod *pod, void *arg)
{
	struct cleaner *c = arg;
	struct hook_dev dev;

	if (!hook_veth_alive(c->nl, pod->host_ifindex, pod->host_veth))
		return;
	hook_dev_pod(&dev, c->nl, pod->host_ifindex);
	detach_dev(c, &dev, pod->qdisc_created);
}

/* Inside ztunnel's netns: its hooks, our clsact, the rules and routes. */
static void clean_zt_netns(struct cleaner *c, const struct ztunnel *zt)
{
	struct ztunnel_routing r = { .mark = ZT_ROUTE_MARK_DEFAULT,
				     .mask = ZT_ROUTE_MASK_DEFAULT,
				     .table = ZT_ROUTE_TABLE_DEFAULT,
				     .rule_prio = DEFAULT_ZT_RULE_PRIO };
	struct hook_dev dev;
	struct link_info li;
	struct nl *znl;
	int fd, err;

	fd = zt->netns_path[0] ? netns_open(zt->netns_path) : -ENOENT;
	if (fd < 0 || nl_open_in_netns(fd, &znl)) {
		pr_info("ztunnel %s: its netns is gone, nothing to do there",
			zt->uid);
		if (fd >= 0)
			close(fd);
		return;
	}
	/* the journal keeps its name, not its ifindex in there */
	if (!link_get_by_name(znl, zt->ifname, &li)) {
		hook_dev_ztunnel_own(&dev, znl, fd, li.ifindex,
				     zt->host_ifindex);
		detach_dev(c, &dev, zt->qdisc_created);
	}
	close(fd);
	/* ip rule del fwmark M/K lookup T pref P; ip route del local ... */
	err = ztunnel_routing_teardown(znl, &r);
	if (err) {
		c->r->errors++;
		pr_warn("ztunnel %s: routing teardown: %s", zt->uid,
			strerror(-err));
	} else {
		c->r->routing++;
	}
	nl_close(znl);
}

static void clean_ztunnel(struct cleaner *c, const struct ztunnel *zt)
{
	struct hook_dev dev;

	if (hook_veth_alive(c->nl, zt->host_ifindex, zt->host_veth)) {
		hook_dev_ztunnel_host(&dev, c->nl, zt->host_ifindex);
		detach_dev(c, &dev, zt->host_qdisc_created);
	}
	clean_zt_netns(c, zt);
}

static int clean_journal(struct cleaner *c)
{
	struct state st;
	int err = state_init(&st);

	if (err)
		return err;
	err = state_journal_read(&st, c->o->state_file);
	if (err == -ENOENT) {
		pr_info("no journal at %s", c->o->state_file);
	} else if (err) {
		pr_warn("journal %s: %s", c->o->state_file, strerror(-err));
	} else {
		pr_info("journal: %zu pods", st.npods);
		state_pod_for_each(&st, clean_pod, c);
		for (int i = 0; i < MAX_ZTUNNELS; i++)
			if (st.zts[i])
				clean_ztunnel(c, st.zts[i]);
	}
	state_free(&st);
	return err == -ENOENT ? 0 : err;
}

/* --- orphans: ours by name at our slot, on every link --- */

static int clean_orphans(struct cleaner *c)
{
	struct hooks h = cleaner_hooks(c);
	unsigned int removed = 0, failed = 0;
	int err = hook_orphans_drop(c->nl, &h.slot, NULL, NULL, &removed,
				    &failed);

	/* every TCX link of ours: unpinned, they detach */
	hook_tcx_orphans_drop(c->o->bpffs, NULL, NULL, &removed, &failed);
	c->r->filters += removed;
	c->r->errors += failed;
	return err;
}

/* --- pins --- */

static void unpin(struct cleaner *c, const char *path)
{
	if (!unlink(path)) {
		c->r->pins++;
		pr_info("unpinned %s", path);
	} else if (errno != ENOENT) {
		c->r->errors++;
		pr_warn("unpin %s: %s", path, strerror(errno));
	}
}

/* The pin names come from the objects themselves (pinning by name). */
static void unpin_maps(struct cleaner *c, struct bpf_object *obj)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		const char *path = bpf_map__pin_path(m);

		if (path)
			unpin(c, path);
	}
}

static int unpin_all_maps(struct cleaner *c)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = c->o->bpffs);
	struct redirect_bpf *rs = redirect_bpf__open_opts(&oo);
	struct sockmap_bpf *ss = sockmap_bpf__open_opts(&oo);
	int err = rs && ss ? 0 : -errno;

	if (rs)
		unpin_maps(c, rs->obj);
	if (ss)
		unpin_maps(c, ss->obj);
	sockmap_bpf__destroy(ss);
	redirect_bpf__destroy(rs);
	return err;
}

static bool prog_attached(int cg_fd, __u32 prog_id)
{
	__u32 ids[64], cnt = 64, flags = 0;

	if (bpf_prog_query(cg_fd, BPF_CGROUP_SOCK_OPS, 0, &flags, ids, &cnt))
		return false;
	for (__u32 i = 0; i < cnt; i++)
		if (ids[i] == prog_id)
			return true;
	return false;
}

/*
 * The sock_ops attachment is the link pinned as SOCKMAP_LINK_PIN. It is
 * detached explicitly (bpf_link_detach) rather than left to the last
 * reference, then unpinned; with --cgroup we check the program is no
 * longer attached there.
 */
static void detach_cgroup_link(struct cleaner *c)
{
	struct bpf_link_info info = { 0 };
	__u32 len = sizeof(info);
	char pin[PATH_MAX];
	int fd, cg;

	snprintf(pin, sizeof(pin), "%s/%s", c->o->bpffs, SOCKMAP_LINK_PIN);
	fd = bpf_obj_get(pin);
	if (fd < 0)
		return;
	bpf_obj_get_info_by_fd(fd, &info, &len);
	if (bpf_link_detach(fd) && errno != ENOLINK) {
		c->r->errors++;
		pr_warn("detach the cgroup link: %s", strerror(errno));
	} else {
		c->r->links++;
		pr_info("detached sock_ops (prog id %u) from cgroup id %llu",
			info.prog_id,
			(unsigned long long)info.cgroup.cgroup_id);
	}
	close(fd);
	unpin(c, pin);
	if (!c->o->cgroup)
		return;
	cg = open(c->o->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg >= 0 && prog_attached(cg, info.prog_id)) {
		c->r->errors++;
		pr_warn("sock_ops prog %u is still attached to %s",
			info.prog_id, c->o->cgroup);
	}
	if (cg >= 0)
		close(cg);
}

/* Whatever is left in the folder is not ours: report it, keep it. */
static void remove_pin_dir(struct cleaner *c)
{
	DIR *dir = opendir(c->o->bpffs);
	unsigned int dropped = 0;
	struct dirent *de;

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* maps an upgrade set aside and never got to unpin */
		if (!strcmp(de->d_name, UPGRADE_OLD_DIR) &&
		    !upgrade_drop_old(c->o->bpffs, &dropped)) {
			c->r->pins += dropped;
			pr_info("removed %u maps set aside by an upgrade",
				dropped);
			continue;
		}
		c->r->unknown++;
		pr_warn("%s/%s is not ours; left in place", c->o->bpffs,
			de->d_name);
	}
	closedir(dir);
	if (!c->r->unknown && rmdir(c->o->bpffs)) {
		c->r->errors++;
		pr_warn("rmdir %s: %s", c->o->bpffs, strerror(errno));
	}
}

static void remove_state(struct cleaner *c)
{
	char tmp[PATH_MAX];

	if (unlink(c->o->state_file) && errno != ENOENT) {
		c->r->errors++;
		pr_warn("remove %s: %s", c->o->state_file, strerror(errno));
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->o->state_file);
	unlink(tmp);
}

int cleanup_run(const struct cleanup_opts *o, struct cleanup_report *r)
{
	struct cleaner c = { .o = o, .r = r };
	int err;

	memset(r, 0, sizeof(*r));
	err = nl_open(&c.nl);
	if (err)
		return pr_ret(err, "netlink: %s", strerror(-err));
	if (clean_journal(&c))
		r->errors++;
	if (clean_orphans(&c))
		r->errors++;
	nl_close(c.nl);
	detach_cgroup_link(&c);
	if (unpin_all_maps(&c))
		r->errors++;
	remove_pin_dir(&c);
	/* Kept when something failed: a second run can use it again. */
	if (!r->errors)
		remove_state(&c);
	return r->errors || r->unknown ? -EAGAIN : 0;
}
