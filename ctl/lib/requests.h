/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every request type of the API, one row each:
 *   X(BODY, name, takes_fd, role, validate)
 * BODY: the Request oneof case (REQ(BODY)); name: for logs and errors;
 * takes_fd: may carry a netns fd (SCM_RIGHTS); role: who may send it
 * (enum wire_role); validate: the codec's check of its fields
 * (ctl/lib/wire.c; check_nothing for a request without fields).
 * redirectd handles it with r_<name> (ctl/daemon.c).
 * A new request: a row here, its check in wire.c, r_<name> in daemon.c.
 */
#ifndef REDIRECT_REQUESTS_H
#define REDIRECT_REQUESTS_H

#define REDIRECT_REQUESTS(X)                                                \
	X(HELLO, hello, false, WIRE_ROLE_ANY, v_hello)                      \
	X(POD_ADD, pod_add, true, WIRE_ROLE_POD_WRITE, v_pod_add)           \
	X(POD_DELETE, pod_delete, false, WIRE_ROLE_POD_WRITE, v_pod_delete) \
	X(POD_KEEP, pod_keep, false, WIRE_ROLE_POD_WRITE, v_pod_keep)       \
	X(SNAPSHOT_DONE, snapshot_done, false, WIRE_ROLE_POD_WRITE,         \
	  check_nothing)                                                    \
	X(ZTUNNEL_ADD, ztunnel_add, true, WIRE_ROLE_ZTUNNEL_WRITE,          \
	  v_ztunnel_add)                                                    \
	X(ZTUNNEL_DELETE, ztunnel_delete, false, WIRE_ROLE_ZTUNNEL_WRITE,   \
	  v_ztunnel_delete)                                                 \
	X(STATUS, status, false, WIRE_ROLE_READ, check_nothing)             \
	X(LIST_PODS, list_pods, false, WIRE_ROLE_READ, v_list_pods)         \
	X(POD_GET, pod_get, false, WIRE_ROLE_READ, v_pod_get)               \
	X(STATS, stats, false, WIRE_ROLE_READ, check_nothing)               \
	X(SET_LOG_LEVEL, set_log_level, false, WIRE_ROLE_ADMIN, v_set_log_level)

#endif
