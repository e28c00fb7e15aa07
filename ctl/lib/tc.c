// SPDX-License-Identifier: GPL-2.0
/*
 * tc (tc.h): clsact qdiscs (RTM_*QDISC) and cls_bpf filters
 * (RTM_*TFILTER) at our slot, told from other owners' by slot and name.
 * The equivalent tc command sits beside each request.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include "log.h"
#include "nl_int.h"
#include "tc.h"

/* --- clsact qdisc --- */

static const char *tc_dir_name(enum tc_dir dir)
{
	return dir == TC_DIR_INGRESS ? "ingress" : "egress";
}

static __u32 tc_parent(enum tc_dir dir)
{
	return TC_H_MAKE(TC_H_CLSACT, dir == TC_DIR_INGRESS ? TC_H_MIN_INGRESS :
							      TC_H_MIN_EGRESS);
}

static struct nlmsghdr *tc_msg(struct nl *nl, __u16 type, __u16 flags,
			       int ifindex, __u32 parent, __u32 handle,
			       __u32 info)
{
	struct nlmsghdr *nlh = nl_msg(nl, type, flags);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	tcm->tcm_info = info;
	return nlh;
}

struct qdisc_kind {
	char kind[16];
	bool found;
};

static int qdisc_kind_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[TCA_MAX + 1];
	struct qdisc_kind *q = arg;

	if (nlh->nlmsg_type != RTM_NEWQDISC ||
	    nl_parse_attrs(nlh, sizeof(struct tcmsg), tb, TCA_MAX))
		return -EBADMSG;
	nl_attr_str(tb[TCA_KIND], q->kind, sizeof(q->kind));
	q->found = true;
	return 0;
}

/*
 * Kind of the qdisc with handle ffff: (clsact or ingress), -ENOENT if none.
 * tc qdisc show dev X handle ffff:
 */
static int tc_hook_qdisc(struct nl *nl, int ifindex, struct qdisc_kind *q)
{
	struct nlmsghdr *nlh;
	int err;

	/*
	 * Parent 0 + handle: the kernel looks the handle up, ingress included.
	 * A qdisc GET is answered as a notification: without NLM_F_ECHO the
	 * asker gets only the ACK.
	 */
	nlh = tc_msg(nl, RTM_GETQDISC, NLM_F_ACK | NLM_F_ECHO, ifindex, 0,
		     TC_H_MAKE(TC_H_CLSACT, 0), 0);
	memset(q, 0, sizeof(*q));
	err = nl_talk(nl, nlh, qdisc_kind_cb, q);
	if (!err && !q->found)
		err = -ENOENT;
	return err;
}

bool tc_clsact_exists(struct nl *nl, int ifindex)
{
	struct qdisc_kind q;

	return !tc_hook_qdisc(nl, ifindex, &q) && !strcmp(q.kind, "clsact");
}

/* tc qdisc add dev X clsact */
int tc_clsact_ensure(struct nl *nl, int ifindex, bool *created)
{
	struct nlmsghdr *nlh;
	struct qdisc_kind q;
	int err;

	*created = false;
	nlh = tc_msg(nl, RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
		     ifindex, TC_H_CLSACT, TC_H_MAKE(TC_H_CLSACT, 0), 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "clsact");
	err = nl_talk(nl, nlh, NULL, NULL);
	if (!err) {
		*created = true;
		pr_debug("tc: created clsact on ifindex %d", ifindex);
		return 0;
	}
	if (err != -EEXIST)
		return nl_fail(nl, err, "tc: add clsact on ifindex %d",
			       ifindex);
	/* EXCL made it fail; reuse what is there, if it is a clsact. */
	err = tc_hook_qdisc(nl, ifindex, &q);
	if (err)
		return nl_fail(nl, err, "tc: look at qdisc ffff: on ifindex %d",
			       ifindex);
	if (strcmp(q.kind, "clsact"))
		return pr_ret(
			-EBUSY,
			"tc: ifindex %d has a foreign '%s' qdisc at ffff:, not clsact; leaving it alone",
			ifindex, q.kind);
	pr_debug("tc: reusing the clsact on ifindex %d", ifindex);
	return 0;
}

/* tc qdisc del dev X clsact */
int tc_clsact_delete(struct nl *nl, int ifindex)
{
	struct nlmsghdr *nlh;
	int err;

	nlh = tc_msg(nl, RTM_DELQDISC, NLM_F_ACK, ifindex, TC_H_CLSACT,
		     TC_H_MAKE(TC_H_CLSACT, 0), 0);
	/* The kernel refuses if the qdisc there is of another kind. */
	mnl_attr_put_strz(nlh, TCA_KIND, "clsact");
	err = nl_talk(nl, nlh, NULL, NULL);
	return err ? nl_fail(nl, err, "tc: delete clsact on ifindex %d",
			     ifindex) :
		     0;
}

/* --- cls_bpf filters --- */

/* One RTM_NEWTFILTER as the kernel reports it. */
struct tc_entry {
	struct tc_filter_info info;
	char kind[16];
	size_t name_len; /* full TCA_BPF_NAME length, info.name may be cut */
	__u16 protocol; /* network byte order */
	__u32 chain;
};

static int parse_filter(const struct nlmsghdr *nlh, struct tc_entry *e)
{
	const struct nlattr *tb[TCA_MAX + 1], *opt[TCA_BPF_MAX + 1];
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	__u32 v;

	if (nlh->nlmsg_type != RTM_NEWTFILTER ||
	    nl_parse_attrs(nlh, sizeof(*tcm), tb, TCA_MAX))
		return -EBADMSG;
	memset(e, 0, sizeof(*e));
	e->info.prio = TC_H_MAJ(tcm->tcm_info) >> 16;
	e->info.handle = tcm->tcm_handle;
	e->protocol = TC_H_MIN(tcm->tcm_info);
	if (nl_attr_u32(tb[TCA_CHAIN], &v))
		e->chain = v;
	nl_attr_str(tb[TCA_KIND], e->kind, sizeof(e->kind));
	if (strcmp(e->kind, "bpf")) {
		snprintf(e->info.name, sizeof(e->info.name), "%s", e->kind);
		return 0;
	}
	/* The per-prio header entry of a dump carries no options. */
	if (!tb[TCA_OPTIONS] ||
	    nl_parse_nested(tb[TCA_OPTIONS], opt, TCA_BPF_MAX))
		return 0;
	e->name_len = nl_attr_str(opt[TCA_BPF_NAME], e->info.name,
				  sizeof(e->info.name));
	nl_attr_u32(opt[TCA_BPF_ID], &e->info.prog_id);
	if (nl_attr_u32(opt[TCA_BPF_FLAGS], &v))
		e->info.direct_action = v & TCA_BPF_FLAG_ACT_DIRECT;
	return 0;
}

/* Is this the cls_bpf filter we installed under `name`? */
static bool tc_entry_is(const struct tc_entry *e, const char *name)
{
	return !strcmp(e->kind, "bpf") && e->name_len == strlen(name) &&
	       !strcmp(e->info.name, name);
}

/* tc filter show dev X ingress|egress [pref P] */
static int tc_dump_filters(struct nl *nl, int ifindex, enum tc_dir dir,
			   __u16 prio, nl_reply_fn fn, void *arg)
{
	struct nlmsghdr *nlh;

	/* A prio in tcm_info makes the kernel skip the other prios. */
	nlh = tc_msg(nl, RTM_GETTFILTER, NLM_F_DUMP, ifindex, tc_parent(dir), 0,
		     TC_H_MAKE((__u32)prio << 16, 0));
	return nl_talk(nl, nlh, fn, arg);
}

struct slot_scan {
	const struct tc_slot *slot;
	bool found;
	struct tc_entry hit;
	char prio_kind[16]; /* the classifier holding this prio, if any */
	__u16 prio_protocol;
};

static int slot_scan_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct slot_scan *s = arg;
	struct tc_entry e;
	int err;

	err = parse_filter(nlh, &e);
	if (err)
		return err;
	/* Only chain 0 is run from the hook; other chains are reached by goto. */
	if (e.chain || e.info.prio != s->slot->prio)
		return 0;
	memcpy(s->prio_kind, e.kind, sizeof(s->prio_kind));
	s->prio_protocol = e.protocol;
	if (e.info.handle == s->slot->handle) {
		s->hit = e;
		s->found = true;
	}
	return 0;
}

static int tc_slot_check(const struct tc_slot *slot)
{
	/* Handle 0 would make the kernel pick one, or delete a whole prio. */
	if (!slot || slot->ifindex <= 0 || !slot->prio || !slot->handle ||
	    (slot->dir != TC_DIR_INGRESS && slot->dir != TC_DIR_EGRESS))
		return -EINVAL;
	return 0;
}

static int tc_slot_scan(struct nl *nl, const struct tc_slot *slot,
			struct slot_scan *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->slot = slot;
	err = tc_dump_filters(nl, slot->ifindex, slot->dir, slot->prio,
			      slot_scan_cb, s);
	if (err)
		return nl_fail(nl, err, "tc: list filters on ifindex %d %s",
			       slot->ifindex, tc_dir_name(slot->dir));
	return 0;
}

int tc_filter_get(struct nl *nl, const struct tc_slot *slot,
		  struct tc_filter_info *info)
{
	struct slot_scan s;
	int err;

	err = tc_slot_check(slot);
	if (!err)
		err = tc_slot_scan(nl, slot, &s);
	if (err)
		return err;
	if (!s.found)
		return -ENOENT;
	*info = s.hit.info;
	return 0;
}

static int echo_cb(const struct nlmsghdr *nlh, void *arg)
{
	return parse_filter(nlh, arg);
}

/* tc filter add|replace dev X ingress|egress pref P handle H protocol all
 *	bpf direct-action fd F name N
 * Sends only; *prog_id: the new filter's program, from the kernel's echo.
 */
static int tc_filter_send(struct nl *nl, const struct tc_slot *slot,
			  int prog_fd, const char *name, bool replace,
			  __u32 *prog_id)
{
	__u16 flags = NLM_F_ACK | NLM_F_ECHO;
	struct tc_entry echo = { 0 };
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	int err;

	/* Replace swaps ours in place, so the hook never runs without it. */
	flags |= replace ? NLM_F_REPLACE : NLM_F_CREATE | NLM_F_EXCL;
	nlh = tc_msg(nl, RTM_NEWTFILTER, flags, slot->ifindex,
		     tc_parent(slot->dir), slot->handle,
		     TC_H_MAKE((__u32)slot->prio << 16, htons(ETH_P_ALL)));
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put_u32(nlh, TCA_BPF_FD, (__u32)prog_fd);
	mnl_attr_put_strz(nlh, TCA_BPF_NAME, name);
	mnl_attr_put_u32(nlh, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
	mnl_attr_nest_end(nlh, opts);
	/* NLM_F_ECHO: the kernel sends the new filter back, prog id included. */
	err = nl_talk(nl, nlh, echo_cb, &echo);
	*prog_id = echo.info.prog_id;
	return err;
}

/*
 * A new attach is debug: redirectd says "enrolled" once per pod, and a
 * node enrolling thousands of pods need not log three lines for each.
 * A replacement (an upgrade's new program) stays visible.
 */
static void tc_filter_log(const struct tc_slot *slot, const char *name,
			  bool replace, __u32 prog_id)
{
	log_msg(replace ? LOG_LVL_INFO : LOG_LVL_DEBUG,
		"tc: %s '%s' (prog id %u) on ifindex %d %s pref %u handle %u",
		replace ? "replaced" : "attached", name, prog_id, slot->ifindex,
		tc_dir_name(slot->dir), slot->prio, slot->handle);
}

static int tc_filter_put(struct nl *nl, const struct tc_slot *slot, int prog_fd,
			 const char *name, bool replace)
{
	__u32 prog_id;
	int err = tc_filter_send(nl, slot, prog_fd, name, replace, &prog_id);

	if (err)
		return nl_fail(
			nl, err,
			"tc: %s filter '%s' on ifindex %d %s pref %u handle %u",
			replace ? "replace" : "add", name, slot->ifindex,
			tc_dir_name(slot->dir), slot->prio, slot->handle);
	tc_filter_log(slot, name, replace, prog_id);
	return 0;
}

int tc_filter_attach(struct nl *nl, const struct tc_slot *slot, int prog_fd,
		     const char *name)
{
	struct slot_scan s;
	__u32 prog_id;
	int err;

	err = tc_slot_check(slot);
	if (err)
		return err;
	if (!name || !*name ||
	    strlen(name) >= sizeof(((struct tc_filter_info *)0)->name) ||
	    prog_fd < 0)
		return -EINVAL;
	/*
	 * Create first, exclusively: on a free slot (every new pod) that is
	 * one request instead of a dump and a request. Whatever the kernel
	 * refuses (the slot taken, the prio held by another classifier kind
	 * or protocol) takes the careful way below, which tells our filter
	 * from a foreign one and never touches the latter.
	 */
	if (!tc_filter_send(nl, slot, prog_fd, name, false, &prog_id)) {
		tc_filter_log(slot, name, false, prog_id);
		return 0;
	}
	err = tc_slot_scan(nl, slot, &s);
	if (err)
		return err;
	if (s.found && !tc_entry_is(&s.hit, name))
		return pr_ret(
			-EBUSY,
			"tc: ifindex %d %s pref %u handle %u holds a foreign %s filter '%s'; not touching it",
			slot->ifindex, tc_dir_name(slot->dir), slot->prio,
			slot->handle, s.hit.kind, s.hit.info.name);
	/* A prio holds one classifier kind and protocol; ours is bpf/all. */
	if (!s.found && s.prio_kind[0] &&
	    (strcmp(s.prio_kind, "bpf") || s.prio_protocol != htons(ETH_P_ALL)))
		return pr_ret(
			-EBUSY,
			"tc: ifindex %d %s pref %u is used by a foreign %s classifier (protocol 0x%04x); not touching it",
			slot->ifindex, tc_dir_name(slot->dir), slot->prio,
			s.prio_kind, ntohs(s.prio_protocol));
	return tc_filter_put(nl, slot, prog_fd, name, s.found);
}

/* tc filter del dev X ingress|egress pref P handle H protocol all bpf */
int tc_filter_detach(struct nl *nl, const struct tc_slot *slot,
		     const char *expected_name)
{
	struct nlmsghdr *nlh;
	struct slot_scan s;
	int err;

	err = tc_slot_check(slot);
	if (err)
		return err;
	if (!expected_name)
		return -EINVAL;
	err = tc_slot_scan(nl, slot, &s);
	if (err)
		return err;
	if (!s.found)
		return -ENOENT;
	if (!tc_entry_is(&s.hit, expected_name))
		return pr_ret(
			-EBUSY,
			"tc: ifindex %d %s pref %u handle %u holds %s filter '%s', not '%s'; leaving it",
			slot->ifindex, tc_dir_name(slot->dir), slot->prio,
			slot->handle, s.hit.kind, s.hit.info.name,
			expected_name);
	nlh = tc_msg(nl, RTM_DELTFILTER, NLM_F_ACK, slot->ifindex,
		     tc_parent(slot->dir), slot->handle,
		     TC_H_MAKE((__u32)slot->prio << 16, s.hit.protocol));
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	err = nl_talk(nl, nlh, NULL, NULL);
	if (err == -ENOENT) /* someone removed it meanwhile */
		return err;
	if (err)
		return nl_fail(
			nl, err,
			"tc: delete filter '%s' on ifindex %d %s pref %u handle %u",
			expected_name, slot->ifindex, tc_dir_name(slot->dir),
			slot->prio, slot->handle);
	pr_info("tc: detached '%s' from ifindex %d %s pref %u handle %u",
		expected_name, slot->ifindex, tc_dir_name(slot->dir),
		slot->prio, slot->handle);
	return 0;
}

struct filter_list {
	struct tc_filter_info *out;
	int max;
	int count;
	int total;
};

static int filter_list_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct filter_list *l = arg;
	struct tc_entry e;
	int err;

	err = parse_filter(nlh, &e);
	if (err)
		return err;
	/* Skip per-prio header entries (handle 0) and chains other than 0. */
	if (!e.info.handle || e.chain)
		return 0;
	if (l->count < l->max)
		l->out[l->count++] = e.info;
	l->total++;
	return 0;
}

int tc_filter_list(struct nl *nl, int ifindex, enum tc_dir dir,
		   struct tc_filter_info *out, int max)
{
	struct filter_list l = { out, max, 0, 0 };
	int err;

	if (ifindex <= 0 || max < 0 || (max && !out))
		return -EINVAL;
	err = tc_dump_filters(nl, ifindex, dir, 0, filter_list_cb, &l);
	if (err)
		return nl_fail(nl, err, "tc: list filters on ifindex %d %s",
			       ifindex, tc_dir_name(dir));
	if (l.total > l.count)
		pr_debug("tc: ifindex %d %s has %d filters, listed %d", ifindex,
			 tc_dir_name(dir), l.total, l.count);
	return l.count;
}
