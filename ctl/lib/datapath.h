/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading the tc programs and reading/writing their pinned maps. Shared by
 * redirectd, redirectctl and the tests.
 */
#ifndef REDIRECT_DATAPATH_H
#define REDIRECT_DATAPATH_H

#include <stddef.h>
#include <stdbool.h>
#include "redirect_abi.h"
#include "compiler.h"

struct dp_opts {
	size_t sz; /* sizeof(struct dp_opts), for growth */
	const char *pin_dir; /* bpffs folder the maps are pinned in */
	__u32 pod_addrs; /* capacity of the pods map; 0: default */
	__u32 dns_flows; /* 0: default */
	__u32 frags; /* 0: default */
	__u32 route_mark; /* 0: ZT_ROUTE_MARK_DEFAULT */
	bool tcx_next; /* pass with TCX_NEXT, not TC_ACT_PIPE (TCX chains) */
	__u64 node_netns_cookie; /* pod_guard lets this netns's sockets in */
	bool spare; /* also load the spare instance (dp_spare_fd) */
};

enum dp_prog {
	DP_APP_OUTBOUND,
	DP_APP_INBOUND,
	DP_ZTUNNEL_HOST_IN,
	DP_ZTUNNEL_INGRESS,
	DP_POD_GUARD,
	DP_PROG_MAX
};

struct redirect_bpf;

struct datapath {
	struct redirect_bpf *skel;
	/*
	 * The spare: the same programs loaded once more, sharing every map
	 * of skel, so that a TCX chain can briefly hold ours twice while a
	 * link of ours moves to the head (a chain refuses the same program
	 * twice). NULL unless dp_opts.spare.
	 */
	struct redirect_bpf *spare;
	/*
	 * The explain instance (dp_explain_load): the same programs once more,
	 * reading every map of skel but writing counters and flow caches of
	 * their own, for BPF_PROG_TEST_RUN. NULL until first asked for.
	 */
	struct redirect_bpf *explain;
	int explain_err; /* its load failed so: not tried again */
	char pin_dir[256];
	/* what the load found pinned and took over (ctl/lib/upgrade.h) */
	__u32 layout_found; /* 0: nothing was pinned */
	unsigned int maps_set_aside, maps_copied;
};

int dp_load(struct datapath *dp, const struct dp_opts *opts);
/* Load the explain instance if not loaded yet; 0 or a negative errno. */
int dp_explain_load(struct datapath *dp);
/* Its program prog, its private counters (PERCPU_ARRAY); -ENOENT unloaded. */
int dp_explain_fd(const struct datapath *dp, enum dp_prog prog);
int dp_explain_counters_fd(const struct datapath *dp);
/*
 * Empty its flow caches (not its counters): each explain starts as a
 * flow's first packet would, with nothing an earlier explain left.
 */
int dp_explain_reset(const struct datapath *dp);
/* The prefix length (mapped form) of the pod's excluded CIDR that holds
 * addr, or -ENOENT. */
int dp_excl_cidr_match(const struct datapath *dp, __u32 ifindex,
		       const struct addr_key *addr);
/* Is the pod's port (host order) excluded in direction dir? */
bool dp_excl_port_has(const struct datapath *dp, __u32 ifindex, __u16 port,
		      __u8 dir);
/*
 * A pod's exclusions (exclude.h), by its host veth's ifindex: put or
 * delete (a missing entry is no error) one excluded CIDR (prefixlen of the
 * mapped form) or port (host order, EXCL_DIR_*).
 */
int dp_excl_cidr_set(const struct datapath *dp, __u32 ifindex,
		     const struct addr_key *addr, __u8 prefixlen, bool put);
int dp_excl_port_set(const struct datapath *dp, __u32 ifindex, __u16 port,
		     __u8 dir, bool put);
/* Delete every exclusion entry the callbacks do not keep. */
int dp_excl_sweep(const struct datapath *dp,
		  bool (*keep_cidr)(const struct excl_cidr_key *k, void *arg),
		  bool (*keep_port)(const struct excl_port_key *k, void *arg),
		  void *arg);
/* Forget the excluded flows of these pod addresses (excl_flows). */
int dp_excl_flows_forget(const struct datapath *dp,
			 const struct addr_key *addrs, size_t naddrs);
void dp_close(struct datapath *dp);
int dp_prog_fd(const struct datapath *dp, enum dp_prog prog);
/* The spare instance of prog (not pod_guard, which never moves), or
 * -ENOENT when none was loaded. */
int dp_spare_fd(const struct datapath *dp, enum dp_prog prog);
const char *dp_prog_name(enum dp_prog prog);
/* Remove every map pin we made (after the filters are gone). */
int dp_unpin(const struct datapath *dp);

MUST_CHECK int dp_pod_put(const struct datapath *dp,
			  const struct addr_key *addr,
			  const struct pod_value *info);
int dp_pod_get(const struct datapath *dp, const struct addr_key *addr,
	       struct pod_value *info);
MUST_CHECK int dp_pod_del(const struct datapath *dp,
			  const struct addr_key *addr);
MUST_CHECK int dp_ztunnel_set(const struct datapath *dp,
			      const struct ztunnel_value *zt);
int dp_ztunnel_get(const struct datapath *dp, struct ztunnel_value *zt);
MUST_CHECK int dp_node_addr_add(const struct datapath *dp,
				const struct addr_key *addr);
MUST_CHECK int dp_node_addr_del(const struct datapath *dp,
				const struct addr_key *addr);
/*
 * Write the node's addresses (distinct; the same set node_addrs holds) into
 * node_addr_list, keeping each remaining address in its slot. More than
 * NODE_ADDRS_INLINE: the list says incomplete and programs use node_addrs.
 */
MUST_CHECK int dp_node_addr_list_set(const struct datapath *dp,
				     const struct addr_key *addrs, size_t n);
/* node_addr_list as the programs see it. */
int dp_node_addr_list_get(const struct datapath *dp,
			  struct node_addr_list *list);
/* The list dp_node_addr_list_set writes after cur, for addrs (pure). */
void node_addr_list_build(const struct node_addr_list *cur,
			  const struct addr_key *addrs, size_t n,
			  struct node_addr_list *next);
MUST_CHECK int dp_settings_set(const struct datapath *dp,
			       const struct settings *s);
/* Visit every entry of the pods / node_addrs maps (a snapshot of keys). */
int dp_pod_for_each(const struct datapath *dp,
		    int (*fn)(const struct addr_key *addr,
			      const struct pod_value *info, void *arg),
		    void *arg);
int dp_node_addr_for_each(const struct datapath *dp,
			  int (*fn)(const struct addr_key *addr, void *arg),
			  void *arg);
__u32 dp_pod_capacity(const struct datapath *dp);
/* Sum the per-CPU counters into out[CNT_MAX]. */
int dp_counters_read(const struct datapath *dp, struct counter_value *out);
int dp_counters_reset(const struct datapath *dp);

const char *counter_prog(enum redirect_counter id);
const char *counter_decision(enum redirect_counter id);

/* libbpf's messages into our log (log.h), by level. */
void log_route_libbpf(void);

/* Make dir (and parents) and check that it lies on a bpffs. */
int bpffs_prepare(const char *dir);

#endif
