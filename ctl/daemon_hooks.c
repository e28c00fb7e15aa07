// SPDX-License-Identifier: GPL-2.0
/*
 * Our programs on pods' and ztunnels' hooks as the daemon drives them:
 * its slot, its attach mode (--attach), its pins, and what failed logged
 * and counted. The hooks themselves: ctl/lib/hooks.c.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "daemon_errors.h"
#include "daemon_hooks.h"
#include "daemon_netns.h"
#include "log.h"
#include "tcx.h"

struct hooks hooks_of(const struct daemon *d)
{
	struct hooks h = { .slot = { .prio = d->opts.tc_priority,
				     .handle = d->opts.tc_handle },
			   .dp = &d->dp,
			   .pin_dir = d->opts.bpffs };
	return h;
}

struct tc_slot slot_of(const struct daemon *d, int ifindex, enum tc_dir dir)
{
	struct hooks h = hooks_of(d);

	return hook_slot_on(&h.slot, ifindex, dir);
}

bool veth_alive(struct daemon *d, int ifindex, const char *name)
{
	return hook_veth_alive(d->nl, ifindex, name);
}

int veth_peer_nsid(struct daemon *d, int ifindex, const char *name)
{
	struct link_info li;

	if (ifindex <= 0 || link_get_by_index(d->nl, ifindex, &li) ||
	    strcmp(li.name, name) || !li.is_veth)
		return -1;
	return li.link_netnsid;
}

/*
 * --attach tcx: TCX. auto: TCX where a device already runs TCX programs
 * (a CNI such as Cilium 1.16+), whose verdict would otherwise end the
 * chain before any legacy filter of ours runs, or a foreign legacy
 * filter at a lower pref than ours, which could end it the same way.
 */
bool wants_tcx(struct daemon *d, const struct hook_dev *devs, size_t n)
{
	struct hooks h = hooks_of(d);

	if (d->opts.attach != ATTACH_AUTO)
		return d->opts.attach == ATTACH_TCX;
	if (!d->tcx_ok)
		return false;
	for (size_t i = 0; i < n; i++)
		if (hook_dev_wants_tcx(&h, &devs[i]))
			return true;
	return false;
}

/* --- pods --- */

bool pod_wants_tcx(struct daemon *d, int ifindex)
{
	struct hook_dev dev;

	hook_dev_pod(&dev, d->nl, ifindex);
	return wants_tcx(d, &dev, 1);
}

/* attach_pod_hooks in its two steps (hook_dev_prepare) */
int prepare_pod_hooks(struct daemon *d, int ifindex, bool tcx, bool *created)
{
	struct hook_dev dev;

	hook_dev_pod(&dev, d->nl, ifindex);
	return hook_dev_prepare(&dev, tcx, created);
}

int attach_prepared_pod_hooks(struct daemon *d, int ifindex, bool tcx)
{
	struct hooks h = hooks_of(d);
	struct hook_dev dev;

	hook_dev_pod(&dev, d->nl, ifindex);
	return hook_dev_attach_prepared(&h, &dev, tcx);
}

/* tc qdisc add dev V clsact; tc filter add ... (or the TCX links) */
int attach_pod_hooks(struct daemon *d, int ifindex, bool tcx, bool *created)
{
	int err = prepare_pod_hooks(d, ifindex, tcx, created);

	return err ? err : attach_prepared_pod_hooks(d, ifindex, tcx);
}

/* Our clsact, made by a failed attempt on a veth that keeps its hooks. */
void drop_pod_qdisc_if_empty(struct daemon *d, int ifindex)
{
	int err = hook_qdisc_drop_if_empty(d->nl, ifindex);

	if (err != -EBUSY)
		note_kernel_error(d, err, "drop an empty clsact", ifindex);
}

void detach_pod_guard(struct daemon *d, int ifindex)
{
	note_kernel_error(d, tcx_guard_detach(d->opts.bpffs, ifindex),
			  "unpin the guard's link", ifindex);
}

/* Both kinds, and the guard: whichever the pod had, nothing of ours stays. */
void detach_pod_filters(struct daemon *d, int ifindex, bool qdisc_ours)
{
	struct hooks h = hooks_of(d);
	struct hook_dev dev;

	hook_dev_pod(&dev, d->nl, ifindex);
	detach_pod_guard(d, ifindex);
	note_kernel_error(d, hook_dev_detach(&h, &dev, qdisc_ours, false, NULL),
			  "detach a pod's hooks", ifindex);
}

/*
 * pod_guard on the pod's own interface (tc ingress inside its netns), as
 * a TCX link made from in there and pinned in our folder: replacing or
 * removing it later takes only the pin. Alone on that hook, it is TCX in
 * every attach mode (see docs/datapath.md, "The inbound guard").
 */
int attach_pod_guard(struct daemon *d, int netns_fd, int pod_ifindex,
		     int host_ifindex)
{
	int fd = dp_prog_fd(&d->dp, DP_POD_GUARD);
	char pin[512];
	int saved, err, lerr;

	if (!d->guard_on)
		return 0;
	tcx_guard_pin_path(d->opts.bpffs, host_ifindex, pin, sizeof(pin));
	err = netns_enter(netns_fd, &saved);
	if (err)
		return err;
	err = tcx_attach_head(pin, pod_ifindex, TC_DIR_INGRESS, fd);
	lerr = netns_leave(saved);
	return err ? err : lerr;
}

/* --- ztunnel: its own interface (in its netns), then its host veth --- */

/* Its own interface's ifindex in there: known since the add or by name. */
static int own_ifindex(const struct ztunnel *zt, struct nl *znl)
{
	struct link_info li;

	if (zt->ifindex > 0)
		return zt->ifindex;
	return link_get_by_name(znl, zt->ifname, &li) ? -ENODEV : li.ifindex;
}

int ztunnel_devs_open(struct daemon *d, const struct ztunnel *zt,
		      struct ztunnel_devs *zd)
{
	int fd = zt->netns_fd, ifindex = -ENOENT, err = -ENOENT;

	memset(zd, 0, sizeof(*zd));
	zd->opened = -1;
	if (fd < 0 && zt->netns_path[0])
		fd = zd->opened = daemon_netns_open(d, zt->netns_path);
	if (fd >= 0)
		err = nl_open_in_netns(fd, &zd->znl);
	if (!err)
		ifindex = own_ifindex(zt, zd->znl);
	hook_dev_ztunnel_own(&zd->dev[0], zd->znl, fd, ifindex,
			     zt->host_ifindex);
	zd->reach[0] = !err && ifindex > 0;
	hook_dev_ztunnel_host(&zd->dev[1], d->nl, zt->host_ifindex);
	zd->reach[1] = veth_alive(d, zt->host_ifindex, zt->host_veth);
	return err ? err : ifindex < 0 ? ifindex : 0;
}

void ztunnel_devs_close(struct ztunnel_devs *zd)
{
	if (zd->znl)
		nl_close(zd->znl);
	if (zd->opened >= 0)
		close(zd->opened);
	zd->znl = NULL;
	zd->opened = -1;
}

static bool *qdisc_flag(struct ztunnel *zt, const struct hook_dev *dev)
{
	return dev->peer ? &zt->qdisc_created : &zt->host_qdisc_created;
}

/*
 * In zt's attach mode (only: and the other kind of ours goes, which a
 * re-add may find there), its own interface first.
 */
int attach_ztunnel_hooks(struct daemon *d, struct ztunnel *zt,
			 const struct ztunnel_devs *zd, bool only)
{
	struct hooks h = hooks_of(d);
	bool created;
	int err = 0;

	for (size_t i = 0; i < 2 && !err; i++) {
		if (!zd->reach[i])
			return -ENODEV;
		err = only ? hook_dev_attach_only(&h, &zd->dev[i], zt->tcx,
						  &created) :
			     hook_dev_attach(&h, &zd->dev[i], zt->tcx,
					     &created);
		*qdisc_flag(zt, &zd->dev[i]) |= created;
	}
	return err;
}

void detach_ztunnel_hooks(struct daemon *d, struct ztunnel *zt,
			  const struct ztunnel_devs *zd)
{
	struct hooks h = hooks_of(d);

	for (size_t i = 0; i < 2; i++) {
		const struct hook_dev *dev = &zd->dev[i];

		if (zd->reach[i])
			note_kernel_error(
				d,
				hook_dev_detach(&h, dev, *qdisc_flag(zt, dev),
						false, NULL),
				"detach ztunnel's hooks", dev->ifindex);
		else
			note_kernel_error(d, hook_dev_unpin(&h, dev, NULL),
					  "unpin ztunnel's TCX links",
					  zt->host_ifindex);
	}
}

/*
 * A ztunnel known by fd only (enrolled with a netns fd, no path), after
 * a restart: its netns cannot be entered again. Its host veth gets this
 * build's program; inside its netns only a TCX link can be swapped,
 * through its pin (a cls_bpf filter there keeps the previous build's).
 */
int restore_ztunnel_known_by_fd(struct daemon *d, struct ztunnel *zt)
{
	struct hooks h = hooks_of(d);
	struct ztunnel_devs zd;
	bool created;
	char pin[512];
	int err = -ENODEV;

	ztunnel_devs_open(d, zt, &zd);
	if (zd.reach[1]) {
		err = hook_dev_attach(&h, &zd.dev[1], zt->tcx, &created);
		zt->host_qdisc_created |= created;
	}
	if (!err && zt->tcx) {
		hook_pin(&h, &zd.dev[0], 0, pin, sizeof(pin));
		note_kernel_error(
			d,
			tcx_update(pin, dp_prog_fd(&d->dp, DP_ZTUNNEL_INGRESS)),
			"swap ztunnel_ingress in place", zt->host_ifindex);
	}
	ztunnel_devs_close(&zd);
	return err;
}
