/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Netlink (libmnl) for the control plane: clsact qdiscs and cls_bpf filters
 * that chain with other owners' filters, link and veth-peer discovery,
 * address dumps, and the policy routing ztunnel's netns needs for
 * socket-assign delivery. Network namespaces are entered with setns().
 *
 * Every function returns 0 or a negative errno. Kernel extended-ack
 * messages are logged. A netlink handle works in the netns it was opened in.
 */
#ifndef REDIRECT_NL_H
#define REDIRECT_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include <linux/types.h>

struct nl;

/* Open a route netlink socket in the calling thread's current netns. */
int nl_open(struct nl **out);
/* Open one in the netns behind netns_fd; the caller's netns is unchanged. */
int nl_open_in_netns(int netns_fd, struct nl **out);
void nl_close(struct nl *nl);
/* A handle is not thread-safe: one request at a time. */

/* --- network namespaces --- */

/* Open a netns file (/var/run/netns/X, /proc/PID/ns/net); checks its type. */
int netns_open(const char *path);
/*
 * The same from the kernel's caches alone, never blocking: -EAGAIN when
 * that cannot be done (a lookup a filesystem would have to answer, a
 * /proc magic link): then netns_open, where blocking does no harm.
 */
int netns_open_cached(const char *path);
/* 1: both fds are the same namespace, 0: not, -errno. */
int netns_same(int fd1, int fd2);
/* Check that fd refers to a network namespace. */
int netns_check_fd(int fd);
/*
 * The same for an fd a peer sent, without any call that can block on the
 * file's filesystem (a stalled FUSE server): safe on an event loop.
 */
bool netns_fd_is_net(int fd);
/* Switch the calling thread to netns_fd; *saved gets an fd of the old one. */
int netns_enter(int netns_fd, int *saved);
/* Go back to the saved netns and close it. */
int netns_leave(int saved);

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
/*
 * The id nl's netns has for the netns of netns_fd (what BPF socket lookups
 * and IFLA_TARGET_NETNSID take), assigning one when there is none.
 */
int netns_id_ensure(struct nl *nl, int netns_fd);
/* The id the calling thread's netns has for itself (assigned if none). */
int netns_id_self(void);

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

/* --- tc: clsact qdisc and cls_bpf filters --- */

enum tc_dir { TC_DIR_INGRESS, TC_DIR_EGRESS };

struct tc_slot {
	int ifindex;
	enum tc_dir dir;
	__u16 prio; /* tc "pref" */
	__u32 handle;
};

struct tc_filter_info {
	char name[64]; /* TCA_BPF_NAME */
	__u32 prog_id; /* TCA_BPF_ID */
	__u16 prio;
	__u32 handle;
	bool direct_action;
};

/* Create the clsact qdisc if missing; *created says whether we made it. */
int tc_clsact_ensure(struct nl *nl, int ifindex, bool *created);
bool tc_clsact_exists(struct nl *nl, int ifindex);
/* Delete the clsact qdisc (only call this for one we created). */
int tc_clsact_delete(struct nl *nl, int ifindex);

/*
 * Attach prog_fd as a direct-action cls_bpf filter named `name`, protocol
 * all, at slot. If our own filter (same name) already sits there it is
 * replaced in place; a foreign filter in the slot is never touched: -EBUSY.
 */
int tc_filter_attach(struct nl *nl, const struct tc_slot *slot, int prog_fd,
		     const char *name);
/*
 * Also -EBUSY when the slot is empty but its prio is held by a classifier of
 * another kind or protocol (the kernel keeps one per prio). Chain 0 only;
 * prio and handle must be non-zero (-EINVAL), name shorter than 64.
 */
/* Look at the filter in slot: 0 and *info filled, or -ENOENT. */
int tc_filter_get(struct nl *nl, const struct tc_slot *slot,
		  struct tc_filter_info *info);
/* Remove the filter in slot only if its name is expected_name. */
int tc_filter_detach(struct nl *nl, const struct tc_slot *slot,
		     const char *expected_name);
/* Detach: -ENOENT if the slot is empty, -EBUSY if it holds another's filter. */
/* List every filter on one hook of a device (at most max); returns count. */
int tc_filter_list(struct nl *nl, int ifindex, enum tc_dir dir,
		   struct tc_filter_info *out, int max);
/*
 * List: chain 0, in prio order, returns how many were stored. Non-bpf
 * filters get their kind as name ("u32"); a cls_bpf filter without a name
 * (classic BPF from tc) has "" and prog_id 0.
 */

/* --- policy routing for socket-assign delivery (in ztunnel's netns) --- */

struct ztunnel_routing {
	__u32 mark;
	__u32 mask;
	__u32 table;
	__u32 rule_prio;
};

/*
 * Idempotently: "ip rule add fwmark MARK/MASK lookup TABLE pref PRIO" and
 * "ip route add local 0.0.0.0/0 dev lo table TABLE", the same for IPv6,
 * loopback up, and rp_filter off (all, default) for IPv4.
 */
/* What ztunnel_routing_setup found before it changed anything. */
#define ZT_RP_FILTERS 2 /* all, default */
struct ztunnel_saved {
	bool lo_was_down;
	bool rp_filter_read;
	char rp_filter[ZT_RP_FILTERS][8];
};

int ztunnel_routing_setup(struct nl *nl, const struct ztunnel_routing *r,
			  struct ztunnel_saved *was);
int ztunnel_routing_teardown(struct nl *nl, const struct ztunnel_routing *r);
/* Teardown, then lo and rp_filter back as setup found them. */
int ztunnel_routing_restore(struct nl *nl, const struct ztunnel_routing *r,
			    const struct ztunnel_saved *was);
/*
 * Setup: an existing rule/route counts as done. Teardown deletes the rules
 * and routes (absent ones count as done) but leaves lo up and rp_filter off.
 * Without IPv6 in the kernel both do the IPv4 half and warn.
 */

#endif
