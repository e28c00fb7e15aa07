/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What redirectd owns: enrolled pods and ztunnels, indexed by uid, and
 * what its journal (journal.h) records of them, so that a restarted
 * daemon knows them again. Pure bookkeeping: no netlink, no BPF, so it is
 * unit tested on its own.
 */
#ifndef REDIRECT_STATE_H
#define REDIRECT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>
#include "journal.h"
#include "redirect_abi.h"
#include "wire.h"
#include "exclusions.h"
#include "compiler.h"

struct enrolled_pod {
	char *uid;
	char *name;
	char *ns;
	char *netns_path; /* may be empty when the netns came as an fd */
	char *container_id; /* the sandbox that enrolled it; may be empty */
	char ifname[IF_NAMESIZE]; /* in the pod */
	char host_veth[IF_NAMESIZE]; /* in the node netns */
	int host_ifindex;
	__u8 mac[6];
	bool dns_capture;
	struct pod_exclusions *excl; /* NULL: nothing excluded */
	bool qdisc_created; /* the clsact on host_veth is ours to remove */
	bool tcx; /* its programs are TCX links, not cls_bpf filters */
	bool guard; /* pod_guard runs in its netns (our pin exists) */
	bool order_reported; /* a foreign program before ours was logged */
	/* what of its netns it does not cover (coverage.h), NULL: nothing;
	 * found by the sweep, not journaled */
	char *uncovered;
	/* when it was (re-)enrolled, by the daemon's PodAdd count; 0: before
	 * this run (replayed). A snapshot removes only older pods. */
	__u64 enrolled_seq;
	size_t naddrs;
	struct addr_key addrs[WIRE_MAX_IPS];
	struct enrolled_pod *next; /* hash chain */
};

#define MAX_ZTUNNELS 4

struct ztunnel {
	char *uid;
	char *netns_path;
	int netns_fd; /* kept open while we run; -1 if unknown */
	char ifname[IF_NAMESIZE];
	char host_veth[IF_NAMESIZE];
	int ifindex; /* inside its netns */
	int host_ifindex;
	__u8 mac[6];
	bool current;
	bool qdisc_created; /* clsact on its own interface */
	bool host_qdisc_created; /* clsact on its host veth */
	bool capture_udp; /* all UDP to its listeners, not only DNS */
	bool tcx; /* its programs are TCX links, not cls_bpf filters */
	/* another owner's program runs before ours and ours cannot go
	 * first (--attach tc): logged once, in status until it is gone */
	bool order_reported;
	size_t naddrs;
	struct addr_key addrs[WIRE_MAX_IPS];
};

struct state {
	struct enrolled_pod **buckets;
	size_t nbuckets;
	size_t npods;
	size_t naddrs; /* pod addresses in total */
	struct ztunnel *zts[MAX_ZTUNNELS];
	struct journal journal;
};

int state_init(struct state *st);
void state_free(struct state *st);

struct enrolled_pod *state_pod_find(const struct state *st, const char *uid);
/* Insert or replace (same uid); takes ownership of pod. */
void state_pod_put(struct state *st, struct enrolled_pod *pod);
/* Unlink and return the pod (caller frees), or NULL. */
struct enrolled_pod *state_pod_remove(struct state *st, const char *uid);
/* The enrolled pod that owns addr, or NULL. */
struct enrolled_pod *state_pod_by_addr(const struct state *st,
				       const struct addr_key *addr);
/* Visit every pod; fn may not add or remove pods. */
void state_pod_for_each(const struct state *st,
			void (*fn)(struct enrolled_pod *pod, void *arg),
			void *arg);
struct enrolled_pod *pod_new(const char *uid);
/* A copy for a pod record, NULL for nothing excluded (or no memory). */
struct pod_exclusions *pod_exclusions_copy(const struct pod_exclusions *e);
void pod_free(struct enrolled_pod *pod);

struct ztunnel *state_ztunnel_find(const struct state *st, const char *uid);
struct ztunnel *state_ztunnel_current(const struct state *st);
/* Add; -ENOSPC when MAX_ZTUNNELS are known. Takes ownership. */
int state_ztunnel_put(struct state *st, struct ztunnel *zt);
struct ztunnel *state_ztunnel_remove(struct state *st, const char *uid);
struct ztunnel *ztunnel_new(const char *uid);
void ztunnel_free(struct ztunnel *zt);

/*
 * The uids one connection named during a snapshot exchange. Kept per
 * connection so that two clients reconciling at once cannot disturb each
 * other.
 */
struct uid_set {
	char **uids;
	size_t n, cap;
	bool sorted;
};

int uid_set_add(struct uid_set *set, const char *uid);
bool uid_set_has(struct uid_set *set, const char *uid);
void uid_set_free(struct uid_set *set);
/* Uids of enrolled pods not in set; caller frees the array and strings. */
char **state_pods_not_in(const struct state *st, struct uid_set *set,
			 size_t *n);

/* Conversions to and from the wire's PodInfo/ZtunnelInfo. */
void pod_to_info(const struct enrolled_pod *pod, PodInfo *info, char *buf,
		 size_t buflen);
struct enrolled_pod *pod_from_info(const PodInfo *info);
void ztunnel_to_info(const struct ztunnel *zt, ZtunnelInfo *info, char *buf,
		     size_t buflen);
struct ztunnel *ztunnel_from_info(const ZtunnelInfo *info);
/* Free what pod_to_info/ztunnel_to_info allocated (the ips array). */
void info_release_ips(char **ips, size_t n);

/*
 * The journal: open (creating) path and replay it into st, then compact
 * it. Returns 0, or a negative errno; a torn last record is dropped.
 */
int state_journal_open(struct state *st, const char *path);
/* The two halves: replay (a missing file is empty), then start writing. */
int state_journal_replay(struct state *st, const char *path);
int state_journal_begin(struct state *st, const char *path);
/* Replay path into st without writing anything (no journal file kept). */
int state_journal_read(struct state *st, const char *path);
MUST_CHECK int state_journal_pod_put(struct state *st,
				     const struct enrolled_pod *pod);
MUST_CHECK int state_journal_pod_delete(struct state *st, const char *uid);
MUST_CHECK int state_journal_zt_put(struct state *st, const struct ztunnel *zt);
MUST_CHECK int state_journal_zt_delete(struct state *st, const char *uid);
/* Rewrite the journal as one put per live object. */
int state_journal_compact(struct state *st);
/* Compact when the file holds far more records than live objects. */
int state_journal_tidy(struct state *st);

#endif
