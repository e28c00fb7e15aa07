/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pods: PodAdd (find the veth, check every claimed address, publish,
 * attach, journal), PodDelete (guarded), the snapshot exchange (PodKeep,
 * SnapshotDone), and removing a pod for good.
 */
#ifndef REDIRECT_DAEMON_PODS_H
#define REDIRECT_DAEMON_PODS_H

#include "daemon_types.h"

ErrorCode h_pod_add(struct daemon *d, struct call *k);
ErrorCode h_pod_delete(struct daemon *d, struct call *k);
ErrorCode h_pod_keep(struct daemon *d, struct call *k);
ErrorCode h_snapshot_done(struct daemon *d, struct call *k);
/* The connection's snapshot, if it runs one, ends: nothing removed. */
void snapshot_end(struct daemon *d, struct conn_ctx *c);
/* Journal, maps, hooks, state, in that order; 0 or the journal's error. */
int remove_pod(struct daemon *d, struct enrolled_pod *pod);

#endif
