/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The network namespaces the core opens: a request's, named by the fd it
 * sent or by a path (opened off the event loop for it when
 * opts.defer_paths), and the journal's paths (opts.open_journaled, with a
 * time bound). Error texts for replies.
 */
#ifndef REDIRECT_DAEMON_NETNS_H
#define REDIRECT_DAEMON_NETNS_H

#include "daemon_types.h"

/* A netns path the daemon holds (journaled): opts.open_journaled. */
int daemon_netns_open(struct daemon *d, const char *path);
/*
 * The request's netns: the fd it carried (checked, and the same netns
 * as its path when it names one) or its path opened; *opened: ours to
 * close, or -1. A netns fd, or -errno.
 */
int open_netns(const struct conn_ctx *c, const char *path, int given_fd,
	       int *opened);
/* For a reply: why open_netns failed; the path, or that an fd came. */
const char *netns_error(int err);
const char *netns_name(const char *path);

#endif
