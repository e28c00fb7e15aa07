/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every request type of the API, one row each:
 *   X(BODY, name, takes_fd, role)
 * BODY: the Request oneof case (REQ(BODY)); name: for logs and errors;
 * takes_fd: may carry a netns fd (SCM_RIGHTS); role: who may send it
 * (enum wire_role). The codec validates a request with v_<name>
 * (ctl/lib/wire.c), redirectd handles it with r_<name> (ctl/daemon.c).
 * A new request: a row here, v_<name>, r_<name> (docs/hacking.md).
 */
#ifndef REDIRECT_REQUESTS_H
#define REDIRECT_REQUESTS_H

#define REDIRECT_REQUESTS(X)                                             \
	X(HELLO, hello, false, WIRE_ROLE_ANY)                            \
	X(POD_ADD, pod_add, true, WIRE_ROLE_POD_WRITE)                   \
	X(POD_DELETE, pod_delete, false, WIRE_ROLE_POD_WRITE)            \
	X(POD_KEEP, pod_keep, false, WIRE_ROLE_POD_WRITE)                \
	X(SNAPSHOT_DONE, snapshot_done, false, WIRE_ROLE_POD_WRITE)      \
	X(ZTUNNEL_ADD, ztunnel_add, true, WIRE_ROLE_ZTUNNEL_WRITE)       \
	X(ZTUNNEL_DELETE, ztunnel_delete, false, WIRE_ROLE_ZTUNNEL_WRITE) \
	X(STATUS, status, false, WIRE_ROLE_READ)                         \
	X(LIST_PODS, list_pods, false, WIRE_ROLE_READ)                   \
	X(POD_GET, pod_get, false, WIRE_ROLE_READ)                       \
	X(STATS, stats, false, WIRE_ROLE_READ)                           \
	X(SET_LOG_LEVEL, set_log_level, false, WIRE_ROLE_ADMIN)

#endif
