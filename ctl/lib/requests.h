/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every request type of the API, one row each:
 *   X(BODY, name, takes_fd, role, validate, handle)
 * BODY: the Request oneof case (REQ(BODY)); name: for logs and errors;
 * takes_fd: may carry a netns fd (SCM_RIGHTS); role: who may send it
 * (enum wire_role); validate: the codec's check of its fields, which
 * keeps what it parsed (ctl/lib/wire.c; check_nothing for a request
 * without fields); handle: redirectd's handler (ctl/daemon_*.c, called by
 * ctl/daemon.c with the checked request). The codec uses the first five
 * columns, redirectd the first and the last.
 * A new request: a row here, its check in wire.c, its handler.
 */
#ifndef REDIRECT_REQUESTS_H
#define REDIRECT_REQUESTS_H

#define REDIRECT_REQUESTS(X)                                                 \
	X(HELLO, hello, false, WIRE_ROLE_ANY, check_hello, h_hello)          \
	X(POD_ADD, pod_add, true, WIRE_ROLE_POD_WRITE, check_pod_add,        \
	  h_pod_add)                                                         \
	X(POD_DELETE, pod_delete, false, WIRE_ROLE_POD_WRITE,                \
	  check_pod_delete, h_pod_delete)                                    \
	X(POD_KEEP, pod_keep, false, WIRE_ROLE_POD_WRITE, check_pod_keep,    \
	  h_pod_keep)                                                        \
	X(SNAPSHOT_DONE, snapshot_done, false, WIRE_ROLE_POD_WRITE,          \
	  check_nothing, h_snapshot_done)                                    \
	X(ZTUNNEL_ADD, ztunnel_add, true, WIRE_ROLE_ZTUNNEL_WRITE,           \
	  check_ztunnel_add, h_ztunnel_add)                                  \
	X(ZTUNNEL_DELETE, ztunnel_delete, false, WIRE_ROLE_ZTUNNEL_WRITE,    \
	  check_ztunnel_delete, h_ztunnel_delete)                            \
	X(STATUS, status, false, WIRE_ROLE_READ, check_nothing, h_status)    \
	X(LIST_PODS, list_pods, false, WIRE_ROLE_READ, check_list_pods,      \
	  h_list_pods)                                                       \
	X(POD_GET, pod_get, false, WIRE_ROLE_READ, check_pod_get, h_pod_get) \
	X(STATS, stats, false, WIRE_ROLE_READ, check_nothing, h_stats)       \
	X(EXPLAIN, explain, false, WIRE_ROLE_READ, check_explain, h_explain) \
	X(DOCTOR, doctor, false, WIRE_ROLE_READ, check_nothing, h_doctor)    \
	X(SET_LOG_LEVEL, set_log_level, false, WIRE_ROLE_ADMIN,              \
	  check_log_level, h_set_log_level)

#endif
