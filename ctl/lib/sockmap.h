/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sockmap acceleration: loading bpf/sockops/sockmap.bpf.c next to the tc
 * programs, attaching it to one cgroup v2 folder, and the maps that tell
 * it which network namespace owns which address.
 *
 * Attachments outlive redirectd like the tc filters do: the cgroup
 * attachment is a bpf_link pinned as "sockops_link" in the bpffs folder,
 * and the sk_msg program stays attached to the pinned sock_hash. A new
 * daemon swaps its programs in (bpf_link_update) instead of detaching.
 */
#ifndef REDIRECT_SOCKMAP_H
#define REDIRECT_SOCKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include "datapath.h"

#define SOCKMAP_LINK_PIN "sockops_link"

struct sockmap_bpf;

/* Whether meshed pods' sockets are accelerated too (legs 1 and 3). */
enum sockmap_pods {
	SOCKMAP_PODS_AUTO, /* when the kernel passes the self-test */
	SOCKMAP_PODS_ON, /* even when it does not */
	SOCKMAP_PODS_OFF, /* ztunnel's own loop only */
};

struct sockmap {
	struct sockmap_bpf *skel;
	int link_fd; /* the pinned cgroup attachment, -1: none */
	bool active;
	bool pods; /* pods' sockets too, not only ztunnel's loop */
	char reason[160]; /* why not active; empty when active */
	char pods_reason[224]; /* why pods are not (or a caveat) */
	char cgroup[256];
	char pin_dir[256];
};

/*
 * Load and attach to cgroup (a cgroup v2 folder, never a hierarchy's root)
 * reusing the maps of dp. On any failure acceleration stays off: *sm says
 * why (sm->reason) and 0 is returned; the tc datapath works without it.
 * Returns a negative errno only for a bad argument.
 */
int sockmap_start(struct sockmap *sm, const struct datapath *dp,
		  const char *cgroup, enum sockmap_pods pods);
/*
 * The kernel behaviour pods' applications rely on, checked on a pair of
 * loopback sockets in the caller's netns through the loaded programs:
 * 0 it behaves, 1 it does not (why says how), negative errno: not run.
 */
int sockmap_selftest(const struct sockmap *sm, char *why, size_t len);
/*
 * Acceleration not wanted (--no-sockmap, or no --cgroup): detach a cgroup
 * attachment a previous daemon pinned in pin_dir, so no new connection is
 * accelerated; connections accelerated already go on until they close.
 */
void sockmap_stop(struct sockmap *sm, const char *pin_dir, const char *reason);
/* Release our handles; the pinned attachment stays. */
void sockmap_close(struct sockmap *sm);

/* Which netns owns addr (a meshed pod's or ztunnel's address). */
int sockmap_netns_set(const struct sockmap *sm, const struct addr_key *addr,
		      __u64 cookie);
int sockmap_netns_del(const struct sockmap *sm, const struct addr_key *addr);
int sockmap_netns_for_each(const struct sockmap *sm,
			   int (*fn)(const struct addr_key *addr, void *arg),
			   void *arg);
/* The current ztunnel's netns; 0: no ztunnel. */
int sockmap_ztunnel_set(const struct sockmap *sm, __u64 cookie);

#endif
