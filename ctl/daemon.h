/* SPDX-License-Identifier: GPL-2.0 */
/*
 * redirectd's core as its event loop (ctl/redirectd.c) and the fuzzer see
 * it: start and stop, and one client's request from packet to reply.
 * Independent of the socket loop, so tests and a fuzzer can drive it.
 * The core's parts and their layers: docs/hacking.md.
 */
#ifndef REDIRECT_DAEMON_H
#define REDIRECT_DAEMON_H

#include "daemon_types.h"

/* Load, replay the journal, open netlink; then daemon_reconcile. */
int daemon_init(struct daemon *d, const struct daemon_opts *opts);
void daemon_fini(struct daemon *d);

/*
 * Handle one packet from a client: decode, validate, act, and fill *reply
 * (whose allocated parts are released by daemon_reply_release); true.
 * netns_fd: a netns sent with it (SCM_RIGHTS), consumed (closed), or -1,
 * or DAEMON_FD_REFUSED. truncated: the packet did not fit.
 * With opts.defer_paths, false for a request whose netns path must be
 * opened first: no reply, netns_fd not consumed, conn->want_path names
 * the path; call again with the same packet and fd once conn->path
 * holds the result.
 */
bool daemon_handle(struct daemon *d, struct conn_ctx *conn, const uint8_t *buf,
		   size_t len, bool truncated, int netns_fd, Reply *reply);
void daemon_reply_release(Reply *reply);
void daemon_conn_close(struct daemon *d, struct conn_ctx *conn);

#endif
