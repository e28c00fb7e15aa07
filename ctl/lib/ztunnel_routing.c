// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel's policy routing (ztunnel_routing.h): fib rules and local
 * routes (RTM_*RULE, RTM_*ROUTE), loopback, and the rp_filter sysctls,
 * written from inside the handle's netns. The equivalent ip command sits
 * beside each request.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include "defaults.h"
#include "link.h"
#include "redirect_abi.h"
#include "log.h"
#include "netns.h"
#include "nl_int.h"
#include "ztunnel_routing.h"

/* ip [-6] rule add|del fwmark MARK/MASK lookup TABLE pref PRIO */
static int ztunnel_rule(struct nl *nl, int family,
			const struct ztunnel_routing *r, bool add)
{
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;
	int err;

	/* EXCL: without it the kernel adds a duplicate rule each time. */
	nlh = nl_msg(nl, add ? RTM_NEWRULE : RTM_DELRULE,
		     NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0));
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = r->table < 256 ? r->table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, r->rule_prio);
	mnl_attr_put_u32(nlh, FRA_FWMARK, r->mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, r->mask);
	mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	err = nl_talk(nl, nlh, NULL, NULL);
	if ((add && err == -EEXIST) || (!add && err == -ENOENT))
		return 0;
	if (err == -EAFNOSUPPORT) /* booted with ipv6.disable=1 */
		return err;
	if (err)
		return nl_fail(
			nl, err,
			"route: %s %s rule fwmark 0x%x/0x%x lookup %u pref %u",
			add ? "add" : "delete",
			family == AF_INET ? "IPv4" : "IPv6", r->mark, r->mask,
			r->table, r->rule_prio);
	return 0;
}

/* ip [-6] route add|del local 0.0.0.0/0 (::/0) dev lo table TABLE */
static int ztunnel_route(struct nl *nl, int family, int lo, __u32 table,
			 bool add)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int err;

	nlh = nl_msg(nl, add ? RTM_NEWROUTE : RTM_DELROUTE,
		     NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0));
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	rtm->rtm_type = RTN_LOCAL;
	/* As ip does: delete matches any scope and protocol. */
	rtm->rtm_protocol = add ? RTPROT_BOOT : RTPROT_UNSPEC;
	rtm->rtm_scope = add ? RT_SCOPE_HOST : RT_SCOPE_NOWHERE;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put_u32(nlh, RTA_OIF, (__u32)lo);
	err = nl_talk(nl, nlh, NULL, NULL);
	if ((add && err == -EEXIST) ||
	    (!add && (err == -ESRCH || err == -ENOENT)))
		return 0;
	if (err == -EAFNOSUPPORT)
		return err;
	if (err)
		return nl_fail(nl, err, "route: %s local %s dev lo table %u",
			       add ? "add" : "delete",
			       family == AF_INET ? "0.0.0.0/0" : "::/0", table);
	return 0;
}

static int write_file(const char *path, const char *val)
{
	ssize_t len = (ssize_t)strlen(val);
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, len) != len) {
		err = -errno;
		pr_err("write %s: %s", path, strerror(-err));
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/*
 * sysctl -w net.ipv4.conf.{all,default}.rp_filter=0, in the handle's netns:
 * packets assigned to a local socket arrive on an interface whose reverse
 * path does not point back at it. /proc/sys/net shows the writer's netns.
 */
static const char *const rp_filter_paths[ZT_RP_FILTERS] = {
	"/proc/sys/net/ipv4/conf/all/rp_filter",
	"/proc/sys/net/ipv4/conf/default/rp_filter",
};

static int read_small_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/*
 * Write vals[i] (NULL: leave it) to each rp_filter sysctl in the handle's
 * netns, reading the old values into old[] first when asked.
 */
static int ztunnel_rp_filter_set(struct nl *nl, const char *const *vals,
				 char (*old)[8])
{
	int saved, err, lerr;

	err = netns_enter(nl_netns_fd(nl), &saved);
	if (err)
		return err;
	for (size_t i = 0; !err && i < ZT_RP_FILTERS; i++) {
		if (old)
			err = read_small_file(rp_filter_paths[i], old[i], 8);
		if (!err && vals[i])
			err = write_file(rp_filter_paths[i], vals[i]);
	}
	lerr = netns_leave(saved);
	return err ? err : lerr;
}

static int ztunnel_rp_filter_off(struct nl *nl, struct ztunnel_saved *was)
{
	static const char *const zeros[ZT_RP_FILTERS] = { "0", "0" };
	int err = ztunnel_rp_filter_set(nl, zeros, was->rp_filter);

	was->rp_filter_read = !err;
	return err;
}

static int ztunnel_lo(struct nl *nl, int *lo)
{
	struct link_info li;
	int err;

	err = link_get_by_name(nl, "lo", &li);
	if (err)
		return nl_fail(nl, err, "route: look up lo");
	*lo = li.ifindex;
	return 0;
}

int ztunnel_routing_setup(struct nl *nl, const struct ztunnel_routing *r,
			  struct ztunnel_saved *was)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct link_info li;
	bool v6 = true;
	int lo = 0, err;

	memset(was, 0, sizeof(*was));
	err = ztunnel_lo(nl, &lo);
	if (!err && !link_get_by_index(nl, lo, &li))
		was->lo_was_down = !li.up;
	if (!err)
		err = link_set_up(nl, lo);
	for (size_t i = 0; !err && i < 2; i++) {
		err = ztunnel_rule(nl, families[i], r, true);
		if (!err)
			err = ztunnel_route(nl, families[i], lo, r->table,
					    true);
		if (err == -EAFNOSUPPORT && families[i] == AF_INET6) {
			pr_warn("route: no IPv6 in this kernel; IPv4 only");
			v6 = false;
			err = 0;
		}
	}
	if (!err)
		err = ztunnel_rp_filter_off(nl, was);
	if (err)
		return err;
	pr_info("route: fwmark 0x%x/0x%x lookup %u pref %u, local default dev lo (%s)",
		r->mark, r->mask, r->table, r->rule_prio,
		v6 ? "IPv4 and IPv6" : "IPv4");
	return 0;
}

int ztunnel_routing_restore(struct nl *nl, const struct ztunnel_routing *r,
			    const struct ztunnel_saved *was)
{
	const char *vals[ZT_RP_FILTERS] = { NULL, NULL };
	int err = ztunnel_routing_teardown(nl, r), lo = 0, e2;

	if (was->rp_filter_read) {
		for (size_t i = 0; i < ZT_RP_FILTERS; i++)
			vals[i] = was->rp_filter[i];
		e2 = ztunnel_rp_filter_set(nl, vals, NULL);
		err = err ?: e2;
	}
	if (was->lo_was_down && !ztunnel_lo(nl, &lo)) {
		e2 = link_set_down(nl, lo);
		err = err ?: e2;
	}
	return err;
}

/*
 * Loopback stays up and rp_filter stays off: we do not know what they were
 * before, and neither harms a netns that no longer gets our traffic.
 */
int ztunnel_routing_teardown(struct nl *nl, const struct ztunnel_routing *r)
{
	static const int families[] = { AF_INET, AF_INET6 };
	int lo = 0, err, first = 0;

	err = ztunnel_lo(nl, &lo);
	if (err)
		return err;
	/* Best effort: remove all we can, report the first failure. */
	for (size_t i = 0; i < 2; i++) {
		err = ztunnel_rule(nl, families[i], r, false);
		if (err && err != -EAFNOSUPPORT && !first)
			first = err;
		err = ztunnel_route(nl, families[i], lo, r->table, false);
		if (err && err != -EAFNOSUPPORT && !first)
			first = err;
	}
	return first;
}

struct ztunnel_routing ztunnel_routing_default(void)
{
	struct ztunnel_routing r = { .mark = ZT_ROUTE_MARK_DEFAULT,
				     .mask = ZT_ROUTE_MASK_DEFAULT,
				     .table = ZT_ROUTE_TABLE_DEFAULT,
				     .rule_prio = DEFAULT_ZT_RULE_PRIO };

	return r;
}

/* --- checking what is there (redirectctl doctor) --- */

struct routing_seen {
	const struct ztunnel_routing *r;
	int lo;
	bool rule, route;
};

/* ip [-6] rule show: ours is fwmark MARK/MASK lookup TABLE. */
static int rule_seen_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[FRA_MAX + 1];
	struct routing_seen *s = arg;
	__u32 mark = 0, mask = 0, table = frh->table;

	if (nlh->nlmsg_type != RTM_NEWRULE ||
	    nl_parse_attrs(nlh, sizeof(*frh), tb, FRA_MAX))
		return 0;
	nl_attr_u32(tb[FRA_FWMARK], &mark);
	nl_attr_u32(tb[FRA_FWMASK], &mask);
	nl_attr_u32(tb[FRA_TABLE], &table);
	s->rule |= frh->action == FR_ACT_TO_TBL && mark == s->r->mark &&
		   mask == s->r->mask && table == s->r->table;
	return 0;
}

/* ip [-6] route show table TABLE: ours is local default dev lo. */
static int route_seen_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1];
	struct routing_seen *s = arg;
	__u32 table = rtm->rtm_table, oif = 0;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nl_parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX))
		return 0;
	nl_attr_u32(tb[RTA_TABLE], &table);
	nl_attr_u32(tb[RTA_OIF], &oif);
	s->route |= table == s->r->table && rtm->rtm_type == RTN_LOCAL &&
		    rtm->rtm_dst_len == 0 && (int)oif == s->lo;
	return 0;
}

static int routing_family_check(struct nl *nl, int family,
				struct routing_seen *s)
{
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;
	struct rtmsg *rtm;
	int err;

	s->rule = s->route = false;
	nlh = nl_msg(nl, RTM_GETRULE, NLM_F_DUMP);
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	err = nl_talk(nl, nlh, rule_seen_cb, s);
	if (err)
		return err;
	nlh = nl_msg(nl, RTM_GETROUTE, NLM_F_DUMP);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	return nl_talk(nl, nlh, route_seen_cb, s);
}

int ztunnel_routing_check(struct nl *nl, const struct ztunnel_routing *r,
			  char *missing, size_t len)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct routing_seen s = { .r = r };
	size_t at = 0;
	int err = ztunnel_lo(nl, &s.lo);

	missing[0] = '\0';
	for (size_t i = 0; i < 2 && !err; i++) {
		const char *v = families[i] == AF_INET ? "" : "-6 ";

		err = routing_family_check(nl, families[i], &s);
		if (err == -EAFNOSUPPORT && families[i] == AF_INET6)
			return 0; /* booted with ipv6.disable=1 */
		if (!err && !s.rule && at < len)
			at += (size_t)snprintf(
				missing + at, len - at,
				"%sip %srule fwmark 0x%x/0x%x lookup %u",
				at ? "; " : "", v, r->mark, r->mask, r->table);
		if (!err && !s.route && at < len)
			at += (size_t)snprintf(missing + at, len - at,
					       "%sip %sroute local default dev "
					       "lo table %u",
					       at ? "; " : "", v, r->table);
	}
	return err ? err : at ? -ENOENT : 0;
}
