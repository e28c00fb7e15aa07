/* SPDX-License-Identifier: GPL-2.0 */
/* Talking to redirectd: connect, greet, one request and one reply at a time. */
#ifndef REDIRECT_CLIENT_H
#define REDIRECT_CLIENT_H

#include <stdint.h>
#include "wire.h"

struct client {
	int fd;
	uint64_t next_id;
	int timeout_ms;
};

/*
 * Connect to the daemon's socket and exchange Hello. Returns 0, a negative
 * errno for transport failures, or a positive ErrorCode the daemon sent
 * (message in msg).
 */
int client_connect(struct client *c, const char *path, const char *name,
		   char *msg, size_t msglen);
/*
 * Send req (with netns_fd attached when >= 0) and wait for the reply.
 * Returns 0 with *reply set (free with client_reply_free), or -errno.
 */
int client_call(struct client *c, Request *req, int netns_fd, Reply **reply);
void client_reply_free(Reply *reply);
void client_close(struct client *c);

/*
 * Typed calls. Each returns 0 with *reply set (its code may still be an
 * error: check reply->code), or -errno for the transport.
 */
/* PodAdd / ZtunnelAdd; netns_fd >= 0 travels with it (SCM_RIGHTS). */
int client_pod_add(struct client *c, const PodAdd *add, int netns_fd,
		   Reply **reply);
int client_ztunnel_add(struct client *c, const ZtunnelAdd *add, int netns_fd,
		       Reply **reply);
/* One page of the pod list, uids after `after` ("" to start). */
int client_list_page(struct client *c, const char *after, uint32_t limit,
		     Reply **reply);
int client_pod_get(struct client *c, const char *uid, Reply **reply);
int client_explain(struct client *c, const ExplainRequest *x, Reply **reply);
int client_doctor(struct client *c, Reply **reply);
int client_status(struct client *c, Reply **reply);
int client_stats(struct client *c, Reply **reply);
/* container_id, netns: the guards of PodDelete ("" or NULL: none). */
int client_pod_delete(struct client *c, const char *uid,
		      const char *container_id, const char *netns,
		      Reply **reply);
int client_ztunnel_delete(struct client *c, const char *uid, Reply **reply);
/* The snapshot exchange: a PodKeep per pod named, then SnapshotDone. */
int client_pod_keep(struct client *c, const char *uid, Reply **reply);
int client_snapshot_done(struct client *c, Reply **reply);
int client_set_log_level(struct client *c, const char *level, Reply **reply);

#endif
