// SPDX-License-Identifier: GPL-2.0
/*
 * Links and their addresses (link.h): RTM_GETLINK and RTM_GETADDR, in our
 * netns or, by netns id (netns.h), in another; RTM_NEWLINK for up and
 * down. The equivalent ip command sits beside each request.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include "link.h"
#include "log.h"
#include "netns.h"
#include "nl_int.h"

static int parse_link(const struct nlmsghdr *nlh, struct link_info *li)
{
	const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	__u32 v;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nl_parse_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX))
		return -EBADMSG;
	memset(li, 0, sizeof(*li));
	li->ifindex = ifi->ifi_index;
	li->up = ifi->ifi_flags & IFF_UP;
	li->link_netnsid = -1;
	nl_attr_str(tb[IFLA_IFNAME], li->name, sizeof(li->name));
	if (tb[IFLA_ADDRESS] &&
	    mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == sizeof(li->mac)) {
		memcpy(li->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]),
		       sizeof(li->mac));
		li->has_mac = true;
	}
	/* Only sent when it differs from ifindex; for a veth, the peer. */
	if (nl_attr_u32(tb[IFLA_LINK], &v))
		li->peer_ifindex = (int)v;
	/* Only sent when the peer lives in another netns. */
	if (nl_attr_u32(tb[IFLA_LINK_NETNSID], &v))
		li->link_netnsid = (int)v;
	if (tb[IFLA_LINKINFO] &&
	    !nl_parse_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX))
		li->is_veth = nl_attr_str_eq(info[IFLA_INFO_KIND], "veth");
	return 0;
}

static int link_get_cb(const struct nlmsghdr *nlh, void *arg)
{
	return parse_link(nlh, arg);
}

static bool ifname_ok(const char *name)
{
	return name && *name && strlen(name) < IF_NAMESIZE;
}

/*
 * ip [-n NETNS] link show dev NAME (or the link at ifindex when name is
 * NULL), NETNS asked from nl's netns by its netns id; nsid < 0: nl's own.
 */
static int link_get(struct nl *nl, int nsid, const char *name, int ifindex,
		    struct link_info *li)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_GETLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int err;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = name ? 0 : ifindex;
	if (nsid >= 0)
		mnl_attr_put_u32(nlh, IFLA_TARGET_NETNSID, (__u32)nsid);
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	li->ifindex = 0;
	err = nl_talk(nl, nlh, link_get_cb, li);
	return !err && !li->ifindex ? -ENOENT : err;
}

int link_get_by_name(struct nl *nl, const char *name, struct link_info *li)
{
	if (!ifname_ok(name))
		return -EINVAL;
	return link_get(nl, -1, name, 0, li);
}

int link_get_by_index(struct nl *nl, int ifindex, struct link_info *li)
{
	if (ifindex <= 0)
		return -EINVAL;
	return link_get(nl, -1, NULL, ifindex, li);
}

/*
 * A veth's peer netns nearly always has an id in ours already (the kernel
 * gives it one when the veth pair is made across the two), and then two
 * requests on our own socket find the link, instead of entering the netns
 * and making a socket there, which redirectd paid on every pod add (about
 * 10 of its 33 us to find a pod's veth, measured in a trial build).
 * Without an id, that way still.
 */
int link_get_in_netns(struct nl *nl, int netns_fd, const char *name,
		      struct link_info *li)
{
	struct nl *pnl;
	int nsid, err;

	if (!ifname_ok(name))
		return -EINVAL;
	nsid = netns_id_of(nl, netns_fd);
	if (nsid >= 0)
		return link_get(nl, nsid, name, 0, li);
	err = nl_open_in_netns(netns_fd, &pnl);
	if (err)
		return err;
	err = link_get_by_name(pnl, name, li);
	nl_close(pnl);
	return err;
}

struct link_walk {
	int (*fn)(const struct link_info *li, void *arg);
	void *arg;
};

static int link_walk_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct link_walk *w = arg;
	struct link_info li;
	int err;

	err = parse_link(nlh, &li);
	return err ? err : w->fn(&li, w->arg);
}

/* ip link show */
int link_for_each(struct nl *nl,
		  int (*fn)(const struct link_info *li, void *arg), void *arg)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct link_walk w = { fn, arg };

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nl_talk(nl, nlh, link_walk_cb, &w);
}

/* ip -n NETNS link show dev NAME, by the netns's id in nl's netns. */
int link_get_in_netns_id(struct nl *nl, int nsid, const char *name,
			 struct link_info *li)
{
	if (nsid < 0 || !ifname_ok(name))
		return -EINVAL;
	return link_get(nl, nsid, name, 0, li);
}

int link_get_in_netns_id_at(struct nl *nl, int nsid, int ifindex,
			    struct link_info *li)
{
	if (nsid < 0 || ifindex <= 0)
		return -EINVAL;
	return link_get(nl, nsid, NULL, ifindex, li);
}

/* ip link set dev X up|down */
static int link_set(struct nl *nl, int ifindex, bool up)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = up ? IFF_UP : 0;
	ifi->ifi_change = IFF_UP;
	return nl_talk(nl, nlh, NULL, NULL);
}

int link_set_up(struct nl *nl, int ifindex)
{
	int err = link_set(nl, ifindex, true);

	return err ? nl_fail(nl, err, "link: set ifindex %d up", ifindex) : 0;
}

int link_set_down(struct nl *nl, int ifindex)
{
	return link_set(nl, ifindex, false);
}

/* --- addresses --- */

struct addr_walk {
	int (*fn)(int family, const void *addr, int ifindex, void *arg);
	void *arg;
};

static int addr_walk_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1], *a;
	const struct addr_walk *w = arg;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    nl_parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX))
		return -EBADMSG;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	/* With a peer (ptp), IFA_ADDRESS is the peer and IFA_LOCAL is ours. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	len = ifa->ifa_family == AF_INET ? 4 : 16;
	if (!a || mnl_attr_get_payload_len(a) != len)
		return 0;
	return w->fn(ifa->ifa_family, mnl_attr_get_payload(a),
		     (int)ifa->ifa_index, w->arg);
}

/*
 * ip addr show, or (nsid >= 0) ip -n NETNS addr show dev IFINDEX, NETNS
 * named by its id in nl's netns. The kernel reads IFA_TARGET_NETNSID (and
 * filters by ifindex) only on a socket with strict checking, so it is on
 * for that one dump: the other requests on this socket were written for
 * the lenient parser.
 */
static int addr_dump(struct nl *nl, int nsid, int ifindex,
		     const struct addr_walk *w)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	int err;

	ifa->ifa_family = AF_UNSPEC;
	if (nsid < 0)
		return nl_talk(nl, nlh, addr_walk_cb, (void *)w);
	ifa->ifa_index = (__u32)ifindex;
	mnl_attr_put_u32(nlh, IFA_TARGET_NETNSID, (__u32)nsid);
	err = nl_strict_check(nl, 1);
	if (err)
		return err;
	err = nl_talk(nl, nlh, addr_walk_cb, (void *)w);
	nl_strict_check(nl, 0);
	return err;
}

int addr_for_each(struct nl *nl,
		  int (*fn)(int family, const void *addr, int ifindex,
			    void *arg),
		  void *arg)
{
	struct addr_walk w = { fn, arg };

	return addr_dump(nl, -1, 0, &w);
}

int addr_for_each_in_netns(struct nl *nl, int nsid, int ifindex,
			   int (*fn)(int family, const void *addr, int ifindex,
				     void *arg),
			   void *arg)
{
	struct addr_walk w = { fn, arg };

	if (nsid < 0) /* the kernel's answer too */
		return -EINVAL;
	return addr_dump(nl, nsid, ifindex, &w);
}

/* --- changes --- */

int link_monitor_open(struct link_monitor *m)
{
	unsigned int groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			      RTMGRP_LINK;

	m->fd = -1;
	m->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!m->sock)
		return -errno;
	if (mnl_socket_bind(m->sock, groups, 0)) {
		int err = -errno;

		link_monitor_close(m);
		return err;
	}
	m->fd = mnl_socket_get_fd(m->sock);
	return 0;
}

bool link_monitor_drain(struct link_monitor *m)
{
	uint8_t buf[8192];
	bool link_gone = false;
	ssize_t n;

	while ((n = mnl_socket_recvfrom(m->sock, buf, sizeof(buf))) > 0) {
		const struct nlmsghdr *nlh = (const void *)buf;
		int len = (int)n;

		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			link_gone |= nlh->nlmsg_type == RTM_DELLINK;
	}
	return link_gone;
}

void link_monitor_close(struct link_monitor *m)
{
	if (m->sock)
		mnl_socket_close(m->sock);
	m->sock = NULL;
	m->fd = -1;
}
