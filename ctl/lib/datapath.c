// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "redirect.skel.h"
#include "datapath.h"
#include "addr.h"
#include "upgrade.h"
#include "log.h"

#define COUNTER_PROG(id, prog, decision) [CNT_##id] = prog,
#define COUNTER_DECISION(id, prog, decision) [CNT_##id] = decision,
static const char *const counter_progs[] = { REDIRECT_COUNTERS(COUNTER_PROG) };
static const char *const counter_decisions[] = { REDIRECT_COUNTERS(
	COUNTER_DECISION) };

static const char *const prog_names[DP_PROG_MAX] = {
	[DP_APP_OUTBOUND] = "app_outbound",
	[DP_APP_INBOUND] = "app_inbound",
	[DP_ZTUNNEL_HOST_IN] = "ztunnel_host_in",
	[DP_ZTUNNEL_INGRESS] = "ztunnel_ingress",
	[DP_POD_GUARD] = "pod_guard",
};

const char *counter_prog(enum redirect_counter id)
{
	return id < CNT_MAX ? counter_progs[id] : "?";
}

const char *counter_decision(enum redirect_counter id)
{
	return id < CNT_MAX ? counter_decisions[id] : "?";
}

const char *dp_prog_name(enum dp_prog prog)
{
	return prog < DP_PROG_MAX ? prog_names[prog] : "?";
}

static int mkdir_p(const char *dir)
{
	char tmp[256];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, dir, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * bpffs is not always mounted on a fresh node; like other node agents we
 * mount it at its usual place when our folder lives there.
 */
int bpffs_prepare(const char *dir)
{
	struct statfs st;
	int err;

	if (!strncmp(dir, "/sys/fs/bpf/", 12) &&
	    (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC) &&
	    mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return pr_ret(-errno, "mount bpffs at /sys/fs/bpf: %s",
			      strerror(errno));
	err = mkdir_p(dir);
	if (err)
		return pr_ret(err, "create %s: %s", dir, strerror(-err));
	if (statfs(dir, &st))
		return pr_ret(-errno, "statfs %s: %s", dir, strerror(errno));
	if (st.f_type != BPF_FS_MAGIC)
		return pr_ret(-ENOTSUP, "%s is not on a bpf filesystem", dir);
	return 0;
}

static int set_sizes(struct redirect_bpf *skel, const struct dp_opts *o)
{
	int err = 0;

	if (o->pod_addrs)
		err = bpf_map__set_max_entries(skel->maps.pods, o->pod_addrs);
	if (!err && o->dns_flows)
		err = bpf_map__set_max_entries(skel->maps.dns_flows,
					       o->dns_flows);
	if (!err && o->frags)
		err = bpf_map__set_max_entries(skel->maps.frags, o->frags);
	if (o->route_mark)
		skel->rodata->route_mark = o->route_mark;
	if (o->tcx_next)
		skel->rodata->pass_verdict = -1; /* TCX_NEXT */
	skel->rodata->node_netns_cookie = o->node_netns_cookie;
	return err;
}

/*
 * Pins of another build that this one cannot reuse go aside (the old
 * programs, still attached, keep them): all of them for another layout
 * version, else those whose type, sizes or flags differ.
 */
static int take_over_pins(struct datapath *dp)
{
	int err;

	dp->layout_found = upgrade_pinned_version(dp->pin_dir);
	if (dp->layout_found && dp->layout_found != REDIRECT_LAYOUT_VERSION) {
		pr_warn("pinned maps of layout %u, this build's is %u: all are "
			"replaced and refilled from redirectd's state",
			dp->layout_found, REDIRECT_LAYOUT_VERSION);
		err = upgrade_set_aside_all(dp->pin_dir, &dp->maps_set_aside);
		if (err)
			return err;
	}
	return upgrade_set_aside_incompatible(dp->skel->obj, dp->pin_dir,
					      &dp->maps_set_aside);
}

/* Same layout: entries of maps that only grew or shrank carry over. */
static int after_load(struct datapath *dp)
{
	__u32 zero = 0, version = REDIRECT_LAYOUT_VERSION;

	if (dp->maps_set_aside && dp->layout_found == REDIRECT_LAYOUT_VERSION)
		upgrade_copy_old(dp->skel->obj, dp->pin_dir, &dp->maps_copied);
	if (bpf_map__update_elem(dp->skel->maps.layout, &zero, sizeof(zero),
				 &version, sizeof(version), BPF_ANY))
		return pr_ret(-errno, "write the layout version: %s",
			      strerror(errno));
	return 0;
}

/*
 * The spare shares every map with the first load, the read-only
 * configuration (pass_verdict and the rest) included, by fd: the same
 * object, so the maps come in the same order. Nothing of it is pinned.
 */
static int share_maps(struct redirect_bpf *spare,
		      const struct redirect_bpf *first,
		      bool (*private)(const struct bpf_map *m))
{
	struct bpf_map *m = bpf_object__next_map(spare->obj, NULL);
	const struct bpf_map *f = bpf_object__next_map(first->obj, NULL);
	int err = 0;

	for (; m && f && !err; m = bpf_object__next_map(spare->obj, m),
			       f = bpf_object__next_map(first->obj, f)) {
		err = bpf_map__set_pin_path(m, NULL);
		if (!err && private && private(m))
			continue;
		if (!err)
			err = bpf_map__reuse_fd(m, bpf_map__fd(f));
	}
	return err ? err : (m || f) ? -EINVAL : 0;
}

static int load_spare(struct datapath *dp)
{
	int err;

	dp->spare = redirect_bpf__open();
	if (!dp->spare)
		return pr_ret(-errno, "open the spare programs: %s",
			      strerror(errno));
	/* alone on its hook, the guard is never moved */
	bpf_program__set_autoload(dp->spare->progs.pod_guard, false);
	err = share_maps(dp->spare, dp->skel, NULL);
	if (!err)
		err = redirect_bpf__load(dp->spare);
	if (err) {
		redirect_bpf__destroy(dp->spare);
		dp->spare = NULL;
		return pr_ret(err,
			      "load the spare programs: %s; a TCX link of "
			      "ours cannot be moved to the head",
			      strerror(-err));
	}
	return 0;
}

int dp_load(struct datapath *dp, const struct dp_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	bool made_dir;
	int err;

	memset(dp, 0, sizeof(*dp));
	if (!o || o->sz < sizeof(*o) || !o->pin_dir)
		return -EINVAL;
	if (strlen(o->pin_dir) >= sizeof(dp->pin_dir))
		return -ENAMETOOLONG;
	strcpy(dp->pin_dir, o->pin_dir);
	made_dir = access(dp->pin_dir, F_OK) != 0;
	err = bpffs_prepare(dp->pin_dir);
	if (err)
		return err;
	open_opts.pin_root_path = dp->pin_dir;
	dp->skel = redirect_bpf__open_opts(&open_opts);
	if (!dp->skel)
		return pr_ret(-errno, "open BPF object: %s", strerror(errno));
	err = set_sizes(dp->skel, o);
	if (!err)
		err = take_over_pins(dp);
	if (!err)
		err = redirect_bpf__load(dp->skel);
	if (err) {
		pr_err("load BPF programs (pins in %s): %s", dp->pin_dir,
		       strerror(-err));
		upgrade_restore(dp->skel->obj, dp->pin_dir);
		dp_close(dp);
		/* libbpf unpinned what it pinned: a folder we made is empty. */
		if (made_dir)
			rmdir(dp->pin_dir);
		return err;
	}
	err = after_load(dp);
	if (err) {
		dp_close(dp);
		return err;
	}
	/* without it ours still run; they just cannot be moved (tcx.h) */
	if (o->spare)
		load_spare(dp);
	return 0;
}

static struct bpf_program *prog_of(const struct redirect_bpf *skel,
				   enum dp_prog prog);
static int map_keys(struct bpf_map *m, size_t klen, void **keys, size_t *n);
static int map_err(int ret);

/*
 * The maps a program writes as it decides (counters, flow caches): the
 * explain instance has its own, so that its runs move nothing of the
 * node's. The rest, what the decisions read, it shares.
 */
static bool explain_private(const struct bpf_map *m)
{
	static const char *const names[] = { "counters", "excl_flows",
					     "dns_flows", "frags",
					     "nat_clients" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(bpf_map__name(m), names[i]))
			return true;
	return false;
}

static int shrink_private(struct redirect_bpf *x)
{
	struct bpf_map *m;
	int err = 0;

	bpf_object__for_each_map(m, x->obj)
		if (!err && explain_private(m) && m != x->maps.counters)
			err = bpf_map__set_max_entries(m, 64);
	return err;
}

int dp_explain_load(struct datapath *dp)
{
	int err;

	if (dp->explain)
		return 0;
	if (dp->explain_err) /* the same object would fail the same way */
		return dp->explain_err;
	dp->explain = redirect_bpf__open();
	if (!dp->explain)
		return -errno;
	/* the same load-time settings as the programs attached */
	memcpy(dp->explain->rodata, dp->skel->rodata,
	       sizeof(*dp->explain->rodata));
	err = share_maps(dp->explain, dp->skel, explain_private);
	if (!err)
		err = shrink_private(dp->explain);
	if (!err)
		err = redirect_bpf__load(dp->explain);
	if (err) {
		redirect_bpf__destroy(dp->explain);
		dp->explain = NULL;
		dp->explain_err = err;
	}
	return err;
}

/* An array's entries zeroed; a hash's deleted. */
static int empty_map(struct bpf_map *m)
{
	size_t ksize = bpf_map__key_size(m), vsize = bpf_map__value_size(m);
	void *keys = NULL, *zero = calloc(1, vsize);
	size_t n;
	int err = zero ? map_keys(m, ksize, &keys, &n) : -ENOMEM;

	for (size_t i = 0; !err && i < n; i++) {
		const char *k = (const char *)keys + i * ksize;

		if (bpf_map__type(m) == BPF_MAP_TYPE_ARRAY)
			err = map_err(bpf_map__update_elem(m, k, ksize, zero,
							   vsize, BPF_ANY));
		else
			err = map_err(bpf_map__delete_elem(m, k, ksize, 0));
	}
	free(keys);
	free(zero);
	return err == -ENOENT ? 0 : err;
}

int dp_explain_reset(const struct datapath *dp)
{
	struct bpf_map *m;
	int err = 0;

	if (!dp->explain)
		return -ENOENT;
	bpf_object__for_each_map(m, dp->explain->obj)
		if (!err && explain_private(m) &&
		    m != dp->explain->maps.counters)
			err = empty_map(m);
	return err;
}

int dp_explain_fd(const struct datapath *dp, enum dp_prog prog)
{
	struct bpf_program *p = dp->explain ? prog_of(dp->explain, prog) : NULL;

	return p ? bpf_program__fd(p) : -ENOENT;
}

int dp_explain_counters_fd(const struct datapath *dp)
{
	return dp->explain ? bpf_map__fd(dp->explain->maps.counters) : -ENOENT;
}

void dp_close(struct datapath *dp)
{
	redirect_bpf__destroy(dp->explain);
	dp->explain = NULL;
	redirect_bpf__destroy(dp->spare);
	redirect_bpf__destroy(dp->skel);
	dp->spare = NULL;
	dp->skel = NULL;
}

static struct bpf_program *prog_of(const struct redirect_bpf *skel,
				   enum dp_prog prog)
{
	switch (prog) {
	case DP_APP_OUTBOUND:
		return skel->progs.app_outbound;
	case DP_APP_INBOUND:
		return skel->progs.app_inbound;
	case DP_ZTUNNEL_HOST_IN:
		return skel->progs.ztunnel_host_in;
	case DP_ZTUNNEL_INGRESS:
		return skel->progs.ztunnel_ingress;
	case DP_POD_GUARD:
		return skel->progs.pod_guard;
	default:
		return NULL;
	}
}

int dp_prog_fd(const struct datapath *dp, enum dp_prog prog)
{
	struct bpf_program *p = prog_of(dp->skel, prog);

	return p ? bpf_program__fd(p) : -EINVAL;
}

int dp_spare_fd(const struct datapath *dp, enum dp_prog prog)
{
	struct bpf_program *p;

	if (!dp->spare || prog == DP_POD_GUARD)
		return -ENOENT;
	p = prog_of(dp->spare, prog);
	return p ? bpf_program__fd(p) : -EINVAL;
}

int dp_unpin(const struct datapath *dp)
{
	struct bpf_map *m;
	int err = 0;

	bpf_object__for_each_map(m, dp->skel->obj) {
		if (!bpf_map__is_pinned(m))
			continue;
		if (bpf_map__unpin(m, NULL))
			err = -errno;
	}
	if (rmdir(dp->pin_dir) && errno != ENOENT && !err)
		err = -errno;
	return err;
}

static int map_err(int ret)
{
	return ret < 0 ? -errno : 0;
}

int dp_pod_put(const struct datapath *dp, const struct addr_key *addr,
	       const struct pod_value *info)
{
	return map_err(bpf_map__update_elem(dp->skel->maps.pods, addr,
					    sizeof(*addr), info, sizeof(*info),
					    BPF_ANY));
}

int dp_pod_get(const struct datapath *dp, const struct addr_key *addr,
	       struct pod_value *info)
{
	return map_err(bpf_map__lookup_elem(dp->skel->maps.pods, addr,
					    sizeof(*addr), info, sizeof(*info),
					    0));
}

int dp_pod_del(const struct datapath *dp, const struct addr_key *addr)
{
	int err = map_err(bpf_map__delete_elem(dp->skel->maps.pods, addr,
					       sizeof(*addr), 0));

	return err == -ENOENT ? 0 : err;
}

/* put key (value v) or delete it; a missing key is no error */
static int update_or_delete(struct bpf_map *m, const void *key, size_t klen,
			    bool put, __u8 v)
{
	int err;

	if (put)
		return map_err(bpf_map__update_elem(m, key, klen, &v, sizeof(v),
						    BPF_ANY));
	err = map_err(bpf_map__delete_elem(m, key, klen, 0));
	return err == -ENOENT ? 0 : err;
}

int dp_excl_cidr_set(const struct datapath *dp, __u32 ifindex,
		     const struct addr_key *addr, __u8 prefixlen, bool put)
{
	struct excl_cidr_key k = { .prefixlen =
					   EXCL_CIDR_KEY_FIXED_BITS + prefixlen,
				   .ifindex = ifindex,
				   .family = addr_key_is_v4(addr) ? 4 : 6,
				   .addr = *addr };

	/* the value names the entry, for explain: its prefix length */
	return update_or_delete(dp->skel->maps.excl_cidrs, &k, sizeof(k), put,
				prefixlen);
}

int dp_excl_port_set(const struct datapath *dp, __u32 ifindex, __u16 port,
		     __u8 dir, bool put)
{
	struct excl_port_key k = { .ifindex = ifindex,
				   .port = htons(port),
				   .dir = dir };

	return update_or_delete(dp->skel->maps.excl_ports, &k, sizeof(k), put,
				1);
}

int dp_excl_cidr_match(const struct datapath *dp, __u32 ifindex,
		       const struct addr_key *addr)
{
	struct excl_cidr_key k = { .prefixlen = EXCL_CIDR_KEY_FIXED_BITS + 128,
				   .ifindex = ifindex,
				   .family = addr_key_is_v4(addr) ? 4 : 6,
				   .addr = *addr };
	__u8 v;

	if (bpf_map__lookup_elem(dp->skel->maps.excl_cidrs, &k, sizeof(k), &v,
				 sizeof(v), 0))
		return -ENOENT;
	return v;
}

bool dp_excl_port_has(const struct datapath *dp, __u32 ifindex, __u16 port,
		      __u8 dir)
{
	struct excl_port_key k = { .ifindex = ifindex,
				   .port = htons(port),
				   .dir = dir };
	__u8 v;

	return !bpf_map__lookup_elem(dp->skel->maps.excl_ports, &k, sizeof(k),
				     &v, sizeof(v), 0);
}

/*
 * Every key of m (keys of klen bytes), collected first: deleting while
 * walking would restart the walk.
 */
static int map_keys(struct bpf_map *m, size_t klen, void **keys, size_t *n)
{
	size_t cap = 64;
	char *k = malloc(cap * klen), *bigger;

	*n = 0;
	if (!k)
		return -ENOMEM;
	for (;;) {
		if (*n == cap) {
			cap *= 2;
			bigger = realloc(k, cap * klen);
			if (!bigger) {
				free(k);
				return -ENOMEM;
			}
			k = bigger;
		}
		if (bpf_map__get_next_key(m, *n ? k + (*n - 1) * klen : NULL,
					  k + *n * klen, klen))
			break;
		(*n)++;
	}
	*keys = k;
	return errno == ENOENT ? 0 : -errno;
}

int dp_excl_sweep(const struct datapath *dp,
		  bool (*keep_cidr)(const struct excl_cidr_key *k, void *arg),
		  bool (*keep_port)(const struct excl_port_key *k, void *arg),
		  void *arg)
{
	struct bpf_map *cm = dp->skel->maps.excl_cidrs,
		       *pm = dp->skel->maps.excl_ports;
	void *keys;
	size_t n;
	int err = map_keys(cm, sizeof(struct excl_cidr_key), &keys, &n);

	for (size_t i = 0; !err && i < n; i++) {
		struct excl_cidr_key *k = (struct excl_cidr_key *)keys + i;

		if (!keep_cidr(k, arg))
			err = update_or_delete(cm, k, sizeof(*k), false, 0);
	}
	free(keys);
	if (err)
		return err;
	err = map_keys(pm, sizeof(struct excl_port_key), &keys, &n);
	for (size_t i = 0; !err && i < n; i++) {
		struct excl_port_key *k = (struct excl_port_key *)keys + i;

		if (!keep_port(k, arg))
			err = update_or_delete(pm, k, sizeof(*k), false, 0);
	}
	free(keys);
	return err;
}

int dp_excl_flows_forget(const struct datapath *dp,
			 const struct addr_key *addrs, size_t naddrs)
{
	struct bpf_map *m = dp->skel->maps.excl_flows;
	void *keys;
	size_t n;
	int err = map_keys(m, sizeof(struct excl_flow_key), &keys, &n);

	for (size_t i = 0; !err && i < n; i++) {
		struct excl_flow_key *k = (struct excl_flow_key *)keys + i;

		for (size_t j = 0; j < naddrs; j++)
			if (!memcmp(&k->pod, &addrs[j], sizeof(addrs[j])))
				err = update_or_delete(m, k, sizeof(*k), false,
						       0);
	}
	free(keys);
	return err;
}

int dp_ztunnel_set(const struct datapath *dp, const struct ztunnel_value *zt)
{
	__u32 zero = 0;

	return map_err(bpf_map__update_elem(dp->skel->maps.ztunnel, &zero,
					    sizeof(zero), zt, sizeof(*zt),
					    BPF_ANY));
}

int dp_ztunnel_get(const struct datapath *dp, struct ztunnel_value *zt)
{
	__u32 zero = 0;

	return map_err(bpf_map__lookup_elem(dp->skel->maps.ztunnel, &zero,
					    sizeof(zero), zt, sizeof(*zt), 0));
}

int dp_node_addr_add(const struct datapath *dp, const struct addr_key *addr)
{
	__u8 one = 1;

	return map_err(bpf_map__update_elem(dp->skel->maps.node_addrs, addr,
					    sizeof(*addr), &one, sizeof(one),
					    BPF_ANY));
}

int dp_node_addr_del(const struct datapath *dp, const struct addr_key *addr)
{
	int err = map_err(bpf_map__delete_elem(dp->skel->maps.node_addrs, addr,
					       sizeof(*addr), 0));

	return err == -ENOENT ? 0 : err;
}

static int first_free(const bool *filled)
{
	for (int i = 0; i < NODE_ADDRS_INLINE; i++)
		if (!filled[i])
			return i;
	return -1;
}

/*
 * Addresses that stay keep their slots (a repeat kept as a filler counts
 * once), new ones take the first free slot, inner free slots repeat a
 * present address: never all zeros, which would make :: a node address.
 */
void node_addr_list_build(const struct node_addr_list *cur,
			  const struct addr_key *addrs, size_t n,
			  struct node_addr_list *next)
{
	__u32 kept = cur->complete && cur->n <= NODE_ADDRS_INLINE ? cur->n : 0;
	bool filled[NODE_ADDRS_INLINE] = { false };
	__u32 end = 0;
	int first = -1;

	memset(next, 0, sizeof(*next));
	for (__u32 i = 0; i < kept; i++) {
		if (!addr_key_in(&cur->addrs[i], addrs, n) ||
		    addr_key_in(&cur->addrs[i], cur->addrs, i))
			continue;
		next->addrs[i] = cur->addrs[i];
		filled[i] = true;
		end = i + 1;
	}
	for (size_t j = 0; j < n; j++) {
		int slot;

		if (addr_key_in(&addrs[j], addrs, j) ||
		    addr_key_in(&addrs[j], next->addrs, end))
			continue;
		slot = first_free(filled);
		if (slot < 0) {
			/* More than fit: incomplete, node_addrs answers. */
			memset(next, 0, sizeof(*next));
			return;
		}
		next->addrs[slot] = addrs[j];
		filled[slot] = true;
		if ((__u32)slot + 1 > end)
			end = (__u32)slot + 1;
	}
	next->n = end;
	next->complete = 1;
	for (__u32 i = 0; i < end; i++)
		if (filled[i] && first < 0)
			first = (int)i;
	for (__u32 i = 0; i < end; i++)
		if (!filled[i])
			next->addrs[i] = next->addrs[first];
}

int dp_node_addr_list_get(const struct datapath *dp,
			  struct node_addr_list *list)
{
	__u32 zero = 0;

	return map_err(bpf_map__lookup_elem(dp->skel->maps.node_addr_list,
					    &zero, sizeof(zero), list,
					    sizeof(*list), 0));
}

int dp_node_addr_list_set(const struct datapath *dp,
			  const struct addr_key *addrs, size_t n)
{
	struct node_addr_list cur = { 0 }, next;
	__u32 zero = 0;
	int err = dp_node_addr_list_get(dp, &cur);

	if (err)
		return err;
	node_addr_list_build(&cur, addrs, n, &next);
	return map_err(bpf_map__update_elem(dp->skel->maps.node_addr_list,
					    &zero, sizeof(zero), &next,
					    sizeof(next), BPF_ANY));
}

int dp_settings_set(const struct datapath *dp, const struct settings *s)
{
	__u32 zero = 0;

	return map_err(bpf_map__update_elem(dp->skel->maps.settings, &zero,
					    sizeof(zero), s, sizeof(*s),
					    BPF_ANY));
}

int dp_pod_for_each(const struct datapath *dp,
		    int (*fn)(const struct addr_key *addr,
			      const struct pod_value *info, void *arg),
		    void *arg)
{
	struct addr_key *keys;
	struct pod_value info;
	size_t n;
	int err = map_keys(dp->skel->maps.pods, sizeof(*keys), (void **)&keys,
			   &n);

	for (size_t i = 0; i < n && !err; i++)
		if (!dp_pod_get(dp, &keys[i], &info))
			err = fn(&keys[i], &info, arg);
	free(keys);
	return err;
}

int dp_node_addr_for_each(const struct datapath *dp,
			  int (*fn)(const struct addr_key *addr, void *arg),
			  void *arg)
{
	struct addr_key *keys;
	size_t n;
	int err = map_keys(dp->skel->maps.node_addrs, sizeof(*keys),
			   (void **)&keys, &n);

	for (size_t i = 0; i < n && !err; i++)
		err = fn(&keys[i], arg);
	free(keys);
	return err;
}

__u32 dp_pod_capacity(const struct datapath *dp)
{
	return bpf_map__max_entries(dp->skel->maps.pods);
}

int dp_counters_read(const struct datapath *dp, struct counter_value *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct counter_value *percpu;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	percpu = calloc((size_t)ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 id = 0; id < CNT_MAX && !err; id++) {
		err = map_err(bpf_map__lookup_elem(dp->skel->maps.counters, &id,
						   sizeof(id), percpu,
						   sizeof(*percpu) * ncpu, 0));
		out[id].packets = out[id].bytes = 0;
		for (int c = 0; c < ncpu && !err; c++) {
			out[id].packets += percpu[c].packets;
			out[id].bytes += percpu[c].bytes;
		}
	}
	free(percpu);
	return err;
}

int dp_counters_reset(const struct datapath *dp)
{
	int ncpu = libbpf_num_possible_cpus();
	struct counter_value *zero;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	zero = calloc((size_t)ncpu, sizeof(*zero));
	if (!zero)
		return -ENOMEM;
	for (__u32 id = 0; id < CNT_MAX && !err; id++)
		err = map_err(bpf_map__update_elem(
			dp->skel->maps.counters, &id, sizeof(id), zero,
			sizeof(*zero) * ncpu, BPF_ANY));
	free(zero);
	return err;
}

/* libbpf's own messages through our log: its warnings at info. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	enum log_level lvl = level == LIBBPF_WARN ? LOG_LVL_INFO :
						    LOG_LVL_DEBUG;

	log_vmsg(lvl, fmt, ap);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
