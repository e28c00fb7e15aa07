// SPDX-License-Identifier: GPL-2.0
/*
 * The fake kernel behind fuzz_request, its BPF side: the functions of
 * datapath.h that touch BPF maps or programs, as --wrap targets (the
 * Makefile's FUZZ_WRAP), over a pods map of FK_POD_CAPACITY entries, the
 * ztunnel slot and the node's addresses; and what the harness reads of
 * them (fk_pod_entry, fk_pod_entries). See fake_kernel.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "datapath.h"
#include "fake_kernel.h"
#include "fake_kernel_int.h"

#define MAX_NODE_ADDRS 64

struct pod_entry {
	bool used;
	struct addr_key key;
	struct pod_value info;
};

/* This file's part of the world: the maps. */
static struct {
	struct pod_entry pods[FK_POD_CAPACITY];
	struct ztunnel_value zt;
	struct addr_key node_addrs[MAX_NODE_ADDRS];
	size_t n_node_addrs;
} w;

void fk_datapath_reset(void)
{
	memset(&w, 0, sizeof(w));
}

/* Called through the linker (--wrap): declared for -Wmissing-prototypes. */
int __wrap_dp_load(struct datapath *dp, const struct dp_opts *o);
void __wrap_dp_close(struct datapath *dp);
int __wrap_dp_prog_fd(const struct datapath *dp, enum dp_prog prog);
int __wrap_dp_spare_fd(const struct datapath *dp, enum dp_prog prog);
int __wrap_dp_unpin(const struct datapath *dp);
int __wrap_dp_pod_put(const struct datapath *dp, const struct addr_key *addr,
		      const struct pod_value *info);
int __wrap_dp_pod_get(const struct datapath *dp, const struct addr_key *addr,
		      struct pod_value *info);
int __wrap_dp_pod_del(const struct datapath *dp, const struct addr_key *addr);
int __wrap_dp_ztunnel_set(const struct datapath *dp,
			  const struct ztunnel_value *zt);
int __wrap_dp_ztunnel_get(const struct datapath *dp, struct ztunnel_value *zt);
int __wrap_dp_node_addr_add(const struct datapath *dp,
			    const struct addr_key *addr);
int __wrap_dp_node_addr_del(const struct datapath *dp,
			    const struct addr_key *addr);
int __wrap_dp_node_addr_list_set(const struct datapath *dp,
				 const struct addr_key *addrs, size_t n);
int __wrap_dp_node_addr_list_get(const struct datapath *dp,
				 struct node_addr_list *list);
int __wrap_dp_settings_set(const struct datapath *dp, const struct settings *s);
int __wrap_dp_pod_for_each(const struct datapath *dp,
			   int (*fn)(const struct addr_key *addr,
				     const struct pod_value *info, void *arg),
			   void *arg);
int __wrap_dp_node_addr_for_each(const struct datapath *dp,
				 int (*fn)(const struct addr_key *addr,
					   void *arg),
				 void *arg);
__u32 __wrap_dp_pod_capacity(const struct datapath *dp);
int __wrap_dp_counters_read(const struct datapath *dp,
			    struct counter_value *out);
int __wrap_dp_counters_reset(const struct datapath *dp);
int __wrap_bpffs_prepare(const char *dir);
int __wrap_dp_excl_cidr_set(const struct datapath *dp, __u32 ifindex,
			    const struct addr_key *addr, __u8 prefixlen,
			    bool put);
int __wrap_dp_excl_port_set(const struct datapath *dp, __u32 ifindex,
			    __u16 port, __u8 dir, bool put);
int __wrap_dp_excl_sweep(
	const struct datapath *dp,
	bool (*keep_cidr)(const struct excl_cidr_key *k, void *arg),
	bool (*keep_port)(const struct excl_port_key *k, void *arg), void *arg);
int __wrap_dp_excl_flows_forget(const struct datapath *dp,
				const struct addr_key *addrs, size_t naddrs);
int __wrap_dp_excl_cidr_match(const struct datapath *dp, __u32 ifindex,
			      const struct addr_key *addr);
bool __wrap_dp_excl_port_has(const struct datapath *dp, __u32 ifindex,
			     __u16 port, __u8 dir);
int __wrap_dp_explain_load(struct datapath *dp);

int __wrap_dp_load(struct datapath *dp, const struct dp_opts *o)
{
	memset(dp, 0, sizeof(*dp));
	snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", o->pin_dir);
	return 0;
}

void __wrap_dp_close(struct datapath *dp)
{
	(void)dp;
}

int __wrap_dp_prog_fd(const struct datapath *dp, enum dp_prog prog)
{
	(void)dp;
	return 100 + (int)prog;
}

int __wrap_dp_spare_fd(const struct datapath *dp, enum dp_prog prog)
{
	(void)dp;
	return 200 + (int)prog;
}

int __wrap_dp_unpin(const struct datapath *dp)
{
	(void)dp;
	return 0;
}

static struct pod_entry *pod_find(const struct addr_key *addr)
{
	for (int i = 0; i < FK_POD_CAPACITY; i++)
		if (w.pods[i].used &&
		    !memcmp(&w.pods[i].key, addr, sizeof(*addr)))
			return &w.pods[i];
	return NULL;
}

bool fk_pod_entry(const struct addr_key *addr, struct pod_value *out)
{
	struct pod_entry *e = pod_find(addr);

	if (e && out)
		*out = e->info;
	return e != NULL;
}

size_t fk_pod_entries(void)
{
	size_t n = 0;

	for (int i = 0; i < FK_POD_CAPACITY; i++)
		n += w.pods[i].used;
	return n;
}

int __wrap_dp_pod_put(const struct datapath *dp, const struct addr_key *addr,
		      const struct pod_value *info)
{
	struct pod_entry *e = pod_find(addr);

	(void)dp;
	for (int i = 0; !e && i < FK_POD_CAPACITY; i++)
		if (!w.pods[i].used)
			e = &w.pods[i];
	if (!e)
		return -E2BIG; /* what a full hash map answers */
	e->used = true;
	e->key = *addr;
	e->info = *info;
	return 0;
}

int __wrap_dp_pod_get(const struct datapath *dp, const struct addr_key *addr,
		      struct pod_value *info)
{
	(void)dp;
	return fk_pod_entry(addr, info) ? 0 : -ENOENT;
}

int __wrap_dp_pod_del(const struct datapath *dp, const struct addr_key *addr)
{
	struct pod_entry *e = pod_find(addr);

	(void)dp;
	if (!e)
		return -ENOENT;
	e->used = false;
	return 0;
}

int __wrap_dp_ztunnel_set(const struct datapath *dp,
			  const struct ztunnel_value *zt)
{
	(void)dp;
	w.zt = *zt;
	return 0;
}

int __wrap_dp_ztunnel_get(const struct datapath *dp, struct ztunnel_value *zt)
{
	(void)dp;
	*zt = w.zt;
	return 0;
}

static int node_addr_find(const struct addr_key *addr)
{
	for (size_t i = 0; i < w.n_node_addrs; i++)
		if (!memcmp(&w.node_addrs[i], addr, sizeof(*addr)))
			return (int)i;
	return -1;
}

int __wrap_dp_node_addr_add(const struct datapath *dp,
			    const struct addr_key *addr)
{
	(void)dp;
	if (node_addr_find(addr) >= 0)
		return 0;
	if (w.n_node_addrs == MAX_NODE_ADDRS)
		return -E2BIG;
	w.node_addrs[w.n_node_addrs++] = *addr;
	return 0;
}

int __wrap_dp_node_addr_del(const struct datapath *dp,
			    const struct addr_key *addr)
{
	int i = node_addr_find(addr);

	(void)dp;
	if (i < 0)
		return -ENOENT;
	w.node_addrs[i] = w.node_addrs[--w.n_node_addrs];
	return 0;
}

/*
 * The list is a cache of the set above, which is what the fake checks;
 * like the real one it never refuses (past NODE_ADDRS_INLINE it says
 * incomplete, which __wrap_dp_node_addr_list_get derives from the set).
 */
int __wrap_dp_node_addr_list_set(const struct datapath *dp,
				 const struct addr_key *addrs, size_t n)
{
	(void)dp;
	(void)addrs;
	(void)n;
	return 0;
}

/* Complete when the set fits, as dp_node_addr_list_set makes it. */
int __wrap_dp_node_addr_list_get(const struct datapath *dp,
				 struct node_addr_list *list)
{
	(void)dp;
	memset(list, 0, sizeof(*list));
	list->complete = w.n_node_addrs <= NODE_ADDRS_INLINE;
	return 0;
}

int __wrap_dp_settings_set(const struct datapath *dp, const struct settings *s)
{
	(void)dp;
	(void)s;
	return 0;
}

/* Like the real one: visit a snapshot of the keys; fn may delete. */
int __wrap_dp_pod_for_each(const struct datapath *dp,
			   int (*fn)(const struct addr_key *addr,
				     const struct pod_value *info, void *arg),
			   void *arg)
{
	struct addr_key keys[FK_POD_CAPACITY];
	size_t n = 0;
	int err = 0;

	(void)dp;
	for (int i = 0; i < FK_POD_CAPACITY; i++)
		if (w.pods[i].used)
			keys[n++] = w.pods[i].key;
	for (size_t i = 0; i < n && !err; i++) {
		struct pod_entry *e = pod_find(&keys[i]);
		struct pod_value info;

		if (!e)
			continue;
		info = e->info;
		err = fn(&keys[i], &info, arg);
	}
	return err;
}

int __wrap_dp_node_addr_for_each(const struct datapath *dp,
				 int (*fn)(const struct addr_key *addr,
					   void *arg),
				 void *arg)
{
	struct addr_key keys[MAX_NODE_ADDRS];
	size_t n = w.n_node_addrs;
	int err = 0;

	(void)dp;
	memcpy(keys, w.node_addrs, n * sizeof(keys[0]));
	for (size_t i = 0; i < n && !err; i++)
		err = fn(&keys[i], arg);
	return err;
}

__u32 __wrap_dp_pod_capacity(const struct datapath *dp)
{
	(void)dp;
	return FK_POD_CAPACITY;
}

int __wrap_dp_counters_read(const struct datapath *dp,
			    struct counter_value *out)
{
	(void)dp;
	memset(out, 0, sizeof(*out) * CNT_MAX);
	return 0;
}

int __wrap_dp_counters_reset(const struct datapath *dp)
{
	(void)dp;
	return 0;
}

int __wrap_bpffs_prepare(const char *dir)
{
	(void)dir;
	return 0;
}
/*
 * Exclusion entries: counted, not kept (the harness checks that requests
 * with any lists neither crash nor leak); a put fails once the fake
 * maps would be full, as the kernel's would.
 */
static size_t excl_entries;

int __wrap_dp_excl_cidr_set(const struct datapath *dp, __u32 ifindex,
			    const struct addr_key *addr, __u8 prefixlen,
			    bool put)
{
	(void)dp, (void)ifindex, (void)addr, (void)prefixlen;
	if (put && excl_entries >= 4 * FK_POD_CAPACITY)
		return -E2BIG;
	excl_entries += put ? 1 : excl_entries ? (size_t)-1 : 0;
	return 0;
}

int __wrap_dp_excl_port_set(const struct datapath *dp, __u32 ifindex,
			    __u16 port, __u8 dir, bool put)
{
	(void)port, (void)dir;
	return __wrap_dp_excl_cidr_set(dp, ifindex, NULL, 0, put);
}

int __wrap_dp_excl_sweep(
	const struct datapath *dp,
	bool (*keep_cidr)(const struct excl_cidr_key *k, void *arg),
	bool (*keep_port)(const struct excl_port_key *k, void *arg), void *arg)
{
	(void)dp, (void)keep_cidr, (void)keep_port, (void)arg;
	return 0;
}

int __wrap_dp_excl_flows_forget(const struct datapath *dp,
				const struct addr_key *addrs, size_t naddrs)
{
	(void)dp, (void)addrs, (void)naddrs;
	return 0;
}

int __wrap_dp_excl_cidr_match(const struct datapath *dp, __u32 ifindex,
			      const struct addr_key *addr)
{
	(void)dp, (void)ifindex, (void)addr;
	return -ENOENT;
}

bool __wrap_dp_excl_port_has(const struct datapath *dp, __u32 ifindex,
			     __u16 port, __u8 dir)
{
	(void)dp, (void)ifindex, (void)port, (void)dir;
	return false;
}

/* No programs to run here: explain answers with the kernel's refusal. */
int __wrap_dp_explain_load(struct datapath *dp)
{
	(void)dp;
	return -EOPNOTSUPP;
}
