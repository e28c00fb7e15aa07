/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of redirectd's core share (ctl/daemon*.c): not an API,
 * only the seams between daemon.c (the request path), daemon_hooks.c,
 * daemon_pods.c, daemon_ztunnel.c, daemon_query.c, daemon_reconcile.c
 * and daemon_watch.c.
 */
#ifndef REDIRECT_DAEMON_INT_H
#define REDIRECT_DAEMON_INT_H

#include "daemon.h"
#include "hooks.h"
#include "compiler.h"

/* daemon.c */
/* The reply: msg (printf style) and code ec, OK or an error. */
ErrorCode answer(char *msg, size_t len, ErrorCode ec, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
ErrorCode kernel_error(int err);
void note_kernel_error(struct daemon *d, int err, const char *what,
		       int ifindex);
/*
 * A journal write whose failure fails nothing (bookkeeping at start, a
 * vanished veth): the journal logged and counted it and rewrites the
 * whole file once writes work (status: journal LAGGING).
 */
static inline void journal_lag_tolerated(int err)
{
	(void)err;
}

/* daemon_hooks.c: our programs on pods' and ztunnels' hooks */
struct hooks hooks_of(const struct daemon *d);
struct tc_slot slot_of(const struct daemon *d, int ifindex, enum tc_dir dir);
bool veth_alive(struct daemon *d, int ifindex, const char *name);
/* The attach mode (--attach) for an owner of these devices' hooks. */
bool wants_tcx(struct daemon *d, const struct hook_dev *devs, size_t n);
bool pod_wants_tcx(struct daemon *d, int ifindex);
MUST_CHECK int attach_pod_hooks(struct daemon *d, int ifindex, bool tcx,
				bool *created);
void detach_pod_filters(struct daemon *d, int ifindex, bool qdisc_ours);
MUST_CHECK int attach_pod_guard(struct daemon *d, int netns_fd, int pod_ifindex,
				int host_ifindex);
/*
 * ztunnel's two devices: dev[0] its own interface, inside its netns
 * (reach[0]: that netns could be entered and the interface found),
 * dev[1] its host veth (reach[1]: still there).
 */
struct ztunnel_devs {
	struct hook_dev dev[2];
	bool reach[2];
	struct nl *znl; /* netlink in ztunnel's netns, or NULL */
	int opened; /* a netns fd opened for this, or -1 */
};
/* 0, or why its own interface cannot be reached (dev[1] is set anyway). */
int ztunnel_devs_open(struct daemon *d, const struct ztunnel *zt,
		      struct ztunnel_devs *zd);
void ztunnel_devs_close(struct ztunnel_devs *zd);
MUST_CHECK int attach_ztunnel_hooks(struct daemon *d, struct ztunnel *zt,
				    const struct ztunnel_devs *zd, bool only);
void detach_ztunnel_hooks(struct daemon *d, struct ztunnel *zt,
			  const struct ztunnel_devs *zd);
/* After a restart, for one whose netns is known by fd only: 0, -errno. */
int restore_ztunnel_known_by_fd(struct daemon *d, struct ztunnel *zt);
/* A netns path the daemon holds (journaled): opts.open_journaled. */
int daemon_netns_open(struct daemon *d, const char *path);
/*
 * The id our netns has for the netns at the other end of our veth
 * ifindex, still named name (an ifindex is reused), or -1: a netns
 * compared by identity, whatever path or fd named it.
 */
int veth_peer_nsid(struct daemon *d, int ifindex, const char *name);

/* daemon_pods.c */
__u64 netns_cookie_of(struct daemon *d, int netns_fd);
void publish_netns(struct daemon *d, const struct addr_key *addrs, size_t n,
		   __u64 cookie);
void publish_ztunnel_netns(struct daemon *d, const struct ztunnel *zt);
int remove_pod(struct daemon *d, struct enrolled_pod *pod);
int open_netns(const struct conn_ctx *c, const char *path, int given_fd,
	       int *opened);
const char *netns_error(int err);
const char *netns_name(const char *path);
MUST_CHECK int publish_addrs(struct daemon *d, const struct enrolled_pod *pod);
ErrorCode h_pod_add(struct daemon *d, struct conn_ctx *c, const PodAdd *a,
		    int netns_fd, char *msg, size_t len);
ErrorCode h_pod_delete(struct daemon *d,
		       const AmbientRedirect__V1__PodDelete *del, char *msg,
		       size_t len);
void snapshot_end(struct daemon *d, struct conn_ctx *c);
ErrorCode h_pod_keep(struct daemon *d, struct conn_ctx *c, const char *uid,
		     char *msg, size_t len);
ErrorCode h_snapshot_done(struct daemon *d, struct conn_ctx *c, char *msg,
			  size_t len);

/* daemon_ztunnel.c */
MUST_CHECK int publish_ztunnel(struct daemon *d, const struct ztunnel *zt);
void detach_ztunnel(struct daemon *d, struct ztunnel *zt);
/* fresh: a ZtunnelAdd, whose attach mode is decided now (else kept) */
ErrorCode setup_ztunnel(struct daemon *d, struct ztunnel *zt, bool fresh,
			struct ztunnel_saved *was, bool *touched, char *msg,
			size_t len);
ErrorCode h_ztunnel_add(struct daemon *d, const struct conn_ctx *c,
			const ZtunnelAdd *a, int netns_fd, char *msg,
			size_t len);
ErrorCode h_ztunnel_delete(struct daemon *d, const char *uid, char *msg,
			   size_t len);

/* daemon_query.c */
ErrorCode h_status(struct daemon *d, Reply *reply);
ErrorCode h_list(struct daemon *d, const Request *req, Reply *reply);
ErrorCode h_pod_get(struct daemon *d, const char *uid, Reply *reply, char *msg,
		    size_t len);
void release_list(PodList *pl);
ErrorCode h_stats(struct daemon *d, Reply *reply, char *msg, size_t len);

/* daemon_coverage.c */
void pod_check_coverage(struct daemon *d, struct enrolled_pod *pod);

#endif
