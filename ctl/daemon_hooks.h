/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Our programs on pods' and ztunnels' hooks, as the core applies
 * ctl/lib/hooks.h with its options: the attach mode, attach, detach, the
 * guard inside a pod, ztunnel's two devices; veths that are still there.
 */
#ifndef REDIRECT_DAEMON_HOOKS_H
#define REDIRECT_DAEMON_HOOKS_H

#include "compiler.h"
#include "daemon_types.h"
#include "hooks.h"

struct hooks hooks_of(const struct daemon *d);
struct tc_slot slot_of(const struct daemon *d, int ifindex, enum tc_dir dir);
bool veth_alive(struct daemon *d, int ifindex, const char *name);
/* The attach mode (--attach) for an owner of these devices' hooks. */
bool wants_tcx(struct daemon *d, const struct hook_dev *devs, size_t n);
bool pod_wants_tcx(struct daemon *d, int ifindex);
MUST_CHECK int attach_pod_hooks(struct daemon *d, int ifindex, bool tcx,
				bool *created);
MUST_CHECK int prepare_pod_hooks(struct daemon *d, int ifindex, bool tcx,
				 bool *created);
MUST_CHECK int attach_prepared_pod_hooks(struct daemon *d, int ifindex,
					 bool tcx);
void detach_pod_filters(struct daemon *d, int ifindex, bool qdisc_ours);
void drop_pod_qdisc_if_empty(struct daemon *d, int ifindex);
void detach_pod_guard(struct daemon *d, int ifindex);
MUST_CHECK int attach_pod_guard(struct daemon *d, int netns_fd, int pod_ifindex,
				int host_ifindex);
/*
 * ztunnel's two devices: dev[0] its own interface, inside its netns
 * (reach[0]: that netns could be entered and the interface found),
 * dev[1] its host veth (reach[1]: still there).
 */
struct ztunnel_devs {
	struct hook_dev dev[2];
	bool reach[2];
	struct nl *znl; /* netlink in ztunnel's netns, or NULL */
	int opened; /* a netns fd opened for this, or -1 */
};
/* 0, or why its own interface cannot be reached (dev[1] is set anyway). */
int ztunnel_devs_open(struct daemon *d, const struct ztunnel *zt,
		      struct ztunnel_devs *zd);
void ztunnel_devs_close(struct ztunnel_devs *zd);
MUST_CHECK int attach_ztunnel_hooks(struct daemon *d, struct ztunnel *zt,
				    const struct ztunnel_devs *zd, bool only);
void detach_ztunnel_hooks(struct daemon *d, struct ztunnel *zt,
			  const struct ztunnel_devs *zd);
/* After a restart, for one whose netns is known by fd only: 0, -errno. */
int restore_ztunnel_known_by_fd(struct daemon *d, struct ztunnel *zt);
/*
 * The id our netns has for the netns at the other end of our veth
 * ifindex, still named name (an ifindex is reused), or -1: a netns
 * compared by identity, whatever path or fd named it.
 */
int veth_peer_nsid(struct daemon *d, int ifindex, const char *name);

#endif
