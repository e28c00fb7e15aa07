/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The types every part of redirectd's core shares: its options, its
 * state (struct daemon), a client connection as the handlers see it, and
 * one request on its way through a handler (struct call). No functions:
 * each part declares its own in its header (docs/hacking.md, the layers).
 */
#ifndef REDIRECT_DAEMON_TYPES_H
#define REDIRECT_DAEMON_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include "datapath.h"
#include "link.h"
#include "netns.h"
#include "nl.h"
#include "tc.h"
#include "ztunnel_routing.h"
#include "sockmap.h"
#include "state.h"
#include "wire.h"

#define REDIRECT_VERSION "0.1.0"
#define MAX_EXTRA_NODE_ADDRS 16

/* Where pod programs go (--attach): docs/datapath.md, "Attach modes". */
enum attach_mode {
	ATTACH_AUTO, /* TCX on a device that already has TCX programs */
	ATTACH_TC, /* clsact + cls_bpf, passing with TC_ACT_PIPE */
	ATTACH_TCX, /* TCX links at the head of the chain everywhere */
};

struct daemon_opts {
	const char *socket_path;
	const char *bpffs;
	const char *cgroup;
	const char *state_file;
	__u16 tc_priority;
	__u32 tc_handle;
	__u32 pod_capacity;
	bool fail_open;
	enum attach_mode attach;
	bool no_sockmap;
	bool no_guard; /* no pod_guard inside pods */
	enum sockmap_pods sockmap_pods;
	uid_t allow_uid; /* besides root: read-only queries ... */
	gid_t allow_gid;
	bool allow_uid_set, allow_gid_set;
	/* ... unless these grant that peer more (enum wire_role bits) */
	unsigned int allow_grants;
	size_t n_node_addrs;
	struct addr_key node_addrs[MAX_EXTRA_NODE_ADDRS];
	/*
	 * How the netns paths of requests and of the journal are opened
	 * (redirectd: off its event loop, see ctl/lib/nsopen.h). Unset
	 * (tests, the fuzzer): netns_open, here and now.
	 */
	bool defer_paths; /* a request's path: daemon_handle asks for it */
	int (*open_journaled)(const char *path); /* waits a bounded time */
};

/* A request's netns path, opened for it off the event loop. */
struct path_result {
	bool ready; /* this pass carries it */
	int fd; /* the netns, or -errno; closed after the request */
};

/* daemon_handle's netns_fd: a descriptor came that is not a netns. */
#define DAEMON_FD_REFUSED (-2)

/* One connected client, as the handlers see it. */
struct conn_ctx {
	unsigned int grants; /* enum wire_role bits: what it may ask */
	uid_t uid; /* the peer's, for messages */
	bool hello_done;
	/* defer_paths: the path daemon_handle wants opened, then the result */
	char *want_path;
	struct path_result path;
	bool snapshot_active;
	__u64 snapshot_start; /* pod_seq when it began */
	struct uid_set named; /* pods named during the snapshot */
};

struct daemon {
	struct daemon_opts opts;
	struct datapath dp;
	struct sockmap sm; /* acceleration; sm.active says whether it runs */
	struct state st;
	struct nl *nl; /* in the node netns (where redirectd runs) */
	uint64_t requests;
	uint64_t request_errors;
	unsigned int clients;
	__u64 pod_seq; /* PodAdds that succeeded, for snapshots */
	/* the order watch (daemon_watch.c) */
	__u64 order_checks, order_violations, order_restored;
	__u64 kernel_errors; /* note_kernel_error: failures nothing refused */
	size_t watch_cursor, coverage_cursor; /* where the sweeps go on */
	const struct conn_ctx *snapshot_conn; /* the one snapshot running */
	__u32 ztunnel_generation;
	char features[160]; /* the start-up probe, for status */
	bool tcx_ok; /* the kernel has TCX (probed once at start) */
	/* pod_guard attached inside pods; else guard_off says why */
	bool guard_on;
	const char *guard_off;
};

/*
 * One request on its way through its handler (ctl/lib/requests.h names
 * them): the connection, the checked request, a netns sent with it (or
 * -1), the reply to fill, and the reply's message (printf it with
 * answer()).
 */
struct call {
	struct conn_ctx *conn;
	const struct wire_request *req;
	int netns_fd;
	Reply *reply;
	char *msg;
	size_t len;
};

#endif
