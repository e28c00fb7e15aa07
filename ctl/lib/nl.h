/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The route netlink socket (libmnl) every netlink module works through:
 * a handle opened in the calling thread's netns (netns.h opens one in
 * another netns). What it is asked is the modules' business: links and
 * addresses (link.h), network namespace ids (netns.h), tc (tc.h),
 * ztunnel's policy routing (ztunnel_routing.h).
 *
 * Every function returns 0 or a negative errno. Kernel extended-ack
 * messages are logged. A netlink handle works in the netns it was opened in.
 */
#ifndef REDIRECT_NL_H
#define REDIRECT_NL_H

struct nl;

/* Open a route netlink socket in the calling thread's current netns. */
int nl_open(struct nl **out);
void nl_close(struct nl *nl);
/* A handle is not thread-safe: one request at a time. */

#endif
