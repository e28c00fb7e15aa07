/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy routing ztunnel's netns needs for socket-assign delivery:
 * a fwmark rule to a table whose default route is local through lo, v4
 * and v6, loopback up and rp_filter off; undone on teardown, and put
 * back as it was found on restore.
 *
 * Every function returns 0 or a negative errno.
 */
#ifndef REDIRECT_ZTUNNEL_ROUTING_H
#define REDIRECT_ZTUNNEL_ROUTING_H

#include <stdbool.h>
#include <linux/types.h>
#include "nl.h"

struct ztunnel_routing {
	__u32 mark;
	__u32 mask;
	__u32 table;
	__u32 rule_prio;
};

/* The mark, mask, table and rule priority redirectd uses. */
struct ztunnel_routing ztunnel_routing_default(void);

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
 * Are the rules and routes there (doctor)? 0: all; -ENOENT with what is
 * missing, as ip commands, in missing; or another negative errno.
 */
int ztunnel_routing_check(struct nl *nl, const struct ztunnel_routing *r,
			  char *missing, size_t len);
/*
 * Setup: an existing rule/route counts as done. Teardown deletes the rules
 * and routes (absent ones count as done) but leaves lo up and rp_filter off.
 * Without IPv6 in the kernel both do the IPv4 half and warn.
 */

#endif
