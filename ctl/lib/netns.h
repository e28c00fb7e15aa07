/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network namespaces: opening and checking netns handles (never opening
 * anything else; the cached open and the check of a peer's fd never wait
 * on a filesystem), entering them with setns(), a netlink handle made
 * inside one, and their names as the kernel gives them: netns ids (what
 * our netns calls another, for IFLA_TARGET_NETNSID and BPF socket
 * lookups) and netns cookies (SO_NETNS_COOKIE, what sock_ops and
 * pod_guard compare).
 *
 * Every function returns 0 (or what it names) or a negative errno.
 */
#ifndef REDIRECT_NETNS_H
#define REDIRECT_NETNS_H

#include <stdbool.h>
#include <linux/types.h>
#include "nl.h"

/* --- handles --- */

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

/* --- entering one --- */

/* Switch the calling thread to netns_fd; *saved gets an fd of the old one. */
int netns_enter(int netns_fd, int *saved);
/* Go back to the saved netns and close it. */
int netns_leave(int saved);
/* A netlink handle in the netns behind netns_fd; the caller's is unchanged. */
int nl_open_in_netns(int netns_fd, struct nl **out);

/* --- netns cookies (SO_NETNS_COOKIE, Linux 5.14) --- */

/* The cookie of the netns the socket sock belongs to. */
int netns_cookie_of_sock(int sock, __u64 *cookie);
/* The cookie of the calling thread's netns. */
int netns_cookie_self(__u64 *cookie);
/* The cookie of the netns behind netns_fd. */
int netns_cookie(int netns_fd, __u64 *cookie);

/* --- netns ids: what nl's netns calls another --- */

/* The id nl's netns has for the netns of netns_fd, -ENOENT if none. */
int netns_id_of(struct nl *nl, int netns_fd);
/*
 * The same, assigning one when there is none (what BPF socket lookups
 * and IFLA_TARGET_NETNSID take).
 */
int netns_id_ensure(struct nl *nl, int netns_fd);
/* The id the calling thread's netns has for itself (assigned if none). */
int netns_id_self(void);

#endif
