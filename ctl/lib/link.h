/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Links and their addresses, through netlink: a link by name or index, in
 * our netns or (through its netns id) in another, veth-peer discovery,
 * every link, up and down, and address dumps.
 *
 * Every function returns 0 or a negative errno.
 */
#ifndef REDIRECT_LINK_H
#define REDIRECT_LINK_H

#include <stdbool.h>
#include <net/if.h>
#include <linux/types.h>
#include "nl.h"

/* --- links --- */

struct link_info {
	int ifindex;
	char name[IF_NAMESIZE];
	__u8 mac[6];
	bool has_mac;
	bool is_veth; /* IFLA_INFO_KIND "veth" */
	bool up;
	int peer_ifindex; /* IFLA_LINK: the veth peer's ifindex, or 0 */
	int link_netnsid; /* IFLA_LINK_NETNSID, or -1 */
};

int link_get_by_name(struct nl *nl, const char *name, struct link_info *li);
int link_get_by_index(struct nl *nl, int ifindex, struct link_info *li);
/*
 * Link NAME in the netns of netns_fd, asked from nl's netns: by netns id
 * when that netns has one there, else through a socket made inside it.
 */
int link_get_in_netns(struct nl *nl, int netns_fd, const char *name,
		      struct link_info *li);
/* The same, the netns named by its id in nl's netns (netns_id_ensure). */
int link_get_in_netns_id(struct nl *nl, int nsid, const char *name,
			 struct link_info *li);
/* The same, the link at ifindex in that netns. */
int link_get_in_netns_id_at(struct nl *nl, int nsid, int ifindex,
			    struct link_info *li);
/* Both return -ENODEV when there is no such link (kernel's answer). */
/* Call fn for every link; a non-zero return from fn stops and is returned. */
int link_for_each(struct nl *nl,
		  int (*fn)(const struct link_info *li, void *arg), void *arg);
/* ip link set dev X up (a failure logged) | down (not logged). */
int link_set_up(struct nl *nl, int ifindex);
int link_set_down(struct nl *nl, int ifindex);

/* --- addresses --- */

/* Call fn(family, addr bytes (4 or 16), ifindex, arg) for every address. */
int addr_for_each(struct nl *nl,
		  int (*fn)(int family, const void *addr, int ifindex,
			    void *arg),
		  void *arg);

/* The same, for one link of the netns nl's netns knows by id nsid. */
int addr_for_each_in_netns(struct nl *nl, int nsid, int ifindex,
			   int (*fn)(int family, const void *addr, int ifindex,
				     void *arg),
			   void *arg);

/* --- changes --- */

/*
 * Link and address changes of the caller's netns as they happen (the
 * RTMGRP_LINK and IFADDR groups), on a non-blocking fd for epoll. Links
 * too: a pod's veth can vanish without a delete reaching the daemon.
 */
struct mnl_socket;
struct link_monitor {
	struct mnl_socket *sock;
	int fd;
};

int link_monitor_open(struct link_monitor *m);
/* Read what arrived: true when a link was deleted among it. */
bool link_monitor_drain(struct link_monitor *m);
void link_monitor_close(struct link_monitor *m);

#endif
