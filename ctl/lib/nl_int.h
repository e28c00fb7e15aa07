/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The netlink core as the netlink modules use it (netns.c, link.c, tc.c,
 * ztunnel_routing.c), and no one above them: build a request in the
 * handle's buffer, send it, read its replies until the kernel's ACK,
 * parse attributes.
 */
#ifndef REDIRECT_NL_INT_H
#define REDIRECT_NL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/netlink.h>
#include <linux/types.h>

struct nl; /* nl.h */

/* A reply handler: 0 to go on; anything else stops calls and is returned. */
typedef int (*nl_reply_fn)(const struct nlmsghdr *nlh, void *arg);

/* A new request of type in nl's buffer (NLM_F_REQUEST | flags). */
struct nlmsghdr *nl_msg(struct nl *nl, __u16 type, __u16 flags);
/* Send the request in nl's buffer and collect its replies. */
int nl_talk(struct nl *nl, struct nlmsghdr *nlh, nl_reply_fn fn, void *arg);
/* Log a failed request with the kernel's reason; returns err. */
__attribute__((format(printf, 3, 4))) int nl_fail(const struct nl *nl, int err,
						  const char *fmt, ...);
/* NETLINK_GET_STRICT_CHK on (1) or off (0) for the requests that follow. */
int nl_strict_check(struct nl *nl, int on);
/* The netns the handle's socket lives in (an fd the handle owns). */
int nl_netns_fd(const struct nl *nl);

/* Attributes after a hdrlen-byte header into tb[0..max]; newer ignored. */
int nl_parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
		   const struct nlattr **tb, unsigned int max);
int nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
		    unsigned int max);
/* A u32 attribute's value, if the attribute is there and long enough. */
bool nl_attr_u32(const struct nlattr *a, __u32 *v);
/* Copy a string attribute (truncating); returns its full length. */
size_t nl_attr_str(const struct nlattr *a, char *dst, size_t size);
bool nl_attr_str_eq(const struct nlattr *a, const char *s);

#endif
