// SPDX-License-Identifier: GPL-2.0
/*
 * The fake kernel behind fuzz_request: every function of the netlink
 * modules' headers (nl.h, netns.h, link.h, tc.h, ztunnel_routing.h), and the
 * BPF-touching functions of datapath.h as --wrap targets. See
 * fake_kernel.h for the world it simulates.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <arpa/inet.h>
#include "datapath.h"
#include "link.h"
#include "netns.h"
#include "nl.h"
#include "tc.h"
#include "ztunnel_routing.h"
#include "fake_kernel.h"

#define NS_LEN 64
#define MAX_QDISCS 256
#define MAX_FILTERS 512
#define MAX_NODE_ADDRS 64

struct nl {
	char ns[NS_LEN]; /* "" is the node's netns */
};

struct qdisc {
	bool used;
	char ns[NS_LEN];
	int ifindex;
};

struct filter {
	bool used;
	char ns[NS_LEN];
	int ifindex;
	enum tc_dir dir;
	__u16 prio;
	__u32 handle;
	char name[64];
};

struct pod_entry {
	bool used;
	struct addr_key key;
	struct pod_value info;
};

static struct {
	bool gone[FK_HOST_LINKS];
	struct qdisc qdiscs[MAX_QDISCS];
	struct filter filters[MAX_FILTERS];
	struct pod_entry pods[FK_POD_CAPACITY];
	struct ztunnel_value zt;
	struct addr_key node_addrs[MAX_NODE_ADDRS];
	size_t n_node_addrs;
	int handles; /* nl handles open */
	char nsids[32][NS_LEN]; /* netns id i+1 names this netns */
	int host_peer_nsid[FK_HOST_LINKS]; /* the netns of a host veth's peer */
} w;

void fk_reset(void)
{
	memset(&w, 0, sizeof(w));
}

int fk_open_handles(void)
{
	return w.handles;
}

static unsigned int hash(const char *a, const char *b)
{
	unsigned int h = 2166136261u;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 16777619u;
	return h;
}

static bool host_alive(int ifindex)
{
	int i = ifindex - FK_HOST_BASE;

	return i >= 0 && i < FK_HOST_LINKS && !w.gone[i];
}

static bool link_exists(const struct nl *nl, int ifindex)
{
	if (ifindex == 1)
		return true;
	return nl->ns[0] ? ifindex == 2 : host_alive(ifindex);
}

/* --- netns: memfds named after the netns --- */

static int fd_ns(int fd, char *ns)
{
	char path[64], target[NS_LEN + 32];
	const char *pre = "/memfd:";
	ssize_t n;
	char *end;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -EBADF;
	target[n] = '\0';
	if (strncmp(target, pre, strlen(pre)))
		return -EINVAL;
	end = strstr(target, " (deleted)");
	if (end)
		*end = '\0';
	snprintf(ns, NS_LEN, "%s", target + strlen(pre));
	return 0;
}

int netns_open(const char *path)
{
	char ns[NS_LEN];
	int fd;

	if (strncmp(path, "/fuzz/", 6) || !path[6])
		return -ENOENT;
	if (!strncmp(path + 6, "bad", 3))
		return -EINVAL; /* not a network namespace */
	snprintf(ns, sizeof(ns), "%s", path + 6);
	fd = memfd_create(ns, MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int netns_check_fd(int fd)
{
	char ns[NS_LEN];

	return fd_ns(fd, ns);
}

/* Two handles are the same netns when they carry the same name. */
int netns_same(int fd1, int fd2)
{
	char a[NS_LEN], b[NS_LEN];
	int err = fd_ns(fd1, a) ?: fd_ns(fd2, b);

	return err ? err : !strcmp(a, b);
}

int netns_enter(int netns_fd, int *saved)
{
	(void)netns_fd;
	*saved = -1;
	return -EOPNOTSUPP; /* the handlers never switch netns themselves */
}

int netns_leave(int saved)
{
	(void)saved;
	return -EOPNOTSUPP;
}

/* No netns cookies: sockmap acceleration and pod_guard stay off. */
int netns_cookie_self(__u64 *cookie)
{
	*cookie = 0;
	return -EOPNOTSUPP;
}

int netns_cookie(int netns_fd, __u64 *cookie)
{
	(void)netns_fd;
	return netns_cookie_self(cookie);
}

/* --- handles --- */

static int new_handle(const char *ns, struct nl **out)
{
	struct nl *nl = calloc(1, sizeof(*nl));

	if (!nl)
		return -ENOMEM;
	snprintf(nl->ns, sizeof(nl->ns), "%s", ns);
	w.handles++;
	*out = nl;
	return 0;
}

int nl_open(struct nl **out)
{
	return new_handle("", out);
}

int nl_open_in_netns(int netns_fd, struct nl **out)
{
	char ns[NS_LEN];
	int err = fd_ns(netns_fd, ns);

	return err ? err : new_handle(ns, out);
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	w.handles--;
	free(nl);
}

/* --- links --- */

static void fill_mac(__u8 *mac, unsigned int h)
{
	mac[0] = 0x02;
	mac[1] = 0x42;
	memcpy(mac + 2, &h, 4);
}

static void host_link(int ifindex, struct link_info *li)
{
	memset(li, 0, sizeof(*li));
	li->ifindex = ifindex;
	snprintf(li->name, sizeof(li->name), "veth%02d",
		 ifindex - FK_HOST_BASE);
	fill_mac(li->mac, (unsigned int)ifindex);
	li->has_mac = true;
	li->is_veth = true;
	li->up = true;
	li->peer_ifindex = 2;
	li->link_netnsid = w.host_peer_nsid[ifindex - FK_HOST_BASE];
}

static void lo_link(struct link_info *li)
{
	memset(li, 0, sizeof(*li));
	li->ifindex = 1;
	strcpy(li->name, "lo");
	li->up = true;
	li->link_netnsid = -1;
}

static void pod_link(const char *ns, const char *name, struct link_info *li)
{
	unsigned int h = hash(ns, name);

	memset(li, 0, sizeof(*li));
	li->ifindex = 2;
	snprintf(li->name, sizeof(li->name), "%s", name);
	fill_mac(li->mac, h);
	li->has_mac = true;
	li->up = true;
	li->link_netnsid = -1;
	if (name[0] == 'd')
		return; /* a dummy: not a veth */
	li->is_veth = true;
	li->peer_ifindex = FK_HOST_BASE + (int)(h % FK_HOST_LINKS);
	li->link_netnsid = 0;
}

int link_get_by_name(struct nl *nl, const char *name, struct link_info *li)
{
	if (!strcmp(name, "lo")) {
		lo_link(li);
		return 0;
	}
	if (!nl->ns[0]) {
		unsigned int i;
		char *end;

		if (strncmp(name, "veth", 4))
			return -ENODEV;
		i = (unsigned int)strtoul(name + 4, &end, 10);
		if (*end || end == name + 4 ||
		    !host_alive(FK_HOST_BASE + (int)i))
			return -ENODEV;
		host_link(FK_HOST_BASE + (int)i, li);
		return 0;
	}
	if (!name[0] || name[0] == 'x')
		return -ENODEV;
	pod_link(nl->ns, name, li);
	return 0;
}

/* Like the real one's fallback: a handle inside the netns, then by name. */
int link_get_in_netns(struct nl *nl, int netns_fd, const char *name,
		      struct link_info *li)
{
	struct nl *pnl;
	int err;

	(void)nl;
	if (!name || !*name || strlen(name) >= IF_NAMESIZE)
		return -EINVAL;
	err = nl_open_in_netns(netns_fd, &pnl);
	if (err)
		return err;
	err = link_get_by_name(pnl, name, li);
	nl_close(pnl);
	return err;
}

/* Ids are handed out per netns name, as the kernel does per netns. */
int netns_id_ensure(struct nl *nl, int netns_fd)
{
	char ns[NS_LEN];
	int err = fd_ns(netns_fd, ns);

	(void)nl;
	if (err)
		return err;
	for (int i = 0; i < 32; i++) {
		if (!w.nsids[i][0])
			snprintf(w.nsids[i], NS_LEN, "%s", ns);
		if (!strcmp(w.nsids[i], ns))
			return i + 1;
	}
	return -ENOSPC;
}

int link_get_in_netns_id(struct nl *nl, int nsid, const char *name,
			 struct link_info *li)
{
	struct nl pnl;

	(void)nl;
	if (nsid < 1 || nsid > 32 || !w.nsids[nsid - 1][0] || !name || !*name ||
	    strlen(name) >= IF_NAMESIZE)
		return -EINVAL;
	snprintf(pnl.ns, sizeof(pnl.ns), "%s", w.nsids[nsid - 1]);
	if (link_get_by_name(&pnl, name, li))
		return -ENODEV;
	/* the host end of this pair sees its peer in this netns */
	if (li->is_veth)
		w.host_peer_nsid[li->peer_ifindex - FK_HOST_BASE] = nsid;
	return 0;
}

int link_get_in_netns_id_at(struct nl *nl, int nsid, int ifindex,
			    struct link_info *li)
{
	return ifindex == 2 ? link_get_in_netns_id(nl, nsid, "eth0", li) :
			      -ENODEV;
}

/*
 * A pod netns holds every address the corpus's requests use (10.244.0.2-9,
 * fd00:244::2-9, 10.0.0.1-64, fd00::1-64), all on its eth0 (ifindex 2).
 */
int addr_for_each_in_netns(struct nl *nl, int nsid, int ifindex,
			   int (*fn)(int family, const void *addr, int ifindex,
				     void *arg),
			   void *arg)
{
	char text[32];
	__u8 buf[16];
	int err = 0;

	(void)nl;
	if (nsid < 1 || nsid > 32 || !w.nsids[nsid - 1][0])
		return -EINVAL;
	if (ifindex && ifindex != 2) /* 0: every interface */
		return 0;
	for (int i = 1; i <= 64 && !err; i++) {
		snprintf(text, sizeof(text), "10.0.0.%d", i);
		inet_pton(AF_INET, text, buf);
		err = fn(AF_INET, buf, 2, arg);
		snprintf(text, sizeof(text), "fd00::%d", i);
		inet_pton(AF_INET6, text, buf);
		err = err ?: fn(AF_INET6, buf, 2, arg);
		if (i < 2 || i > 9)
			continue;
		snprintf(text, sizeof(text), "10.244.0.%d", i);
		inet_pton(AF_INET, text, buf);
		err = err ?: fn(AF_INET, buf, 2, arg);
		snprintf(text, sizeof(text), "fd00:244::%d", i);
		inet_pton(AF_INET6, text, buf);
		err = err ?: fn(AF_INET6, buf, 2, arg);
	}
	return err;
}

int link_get_by_index(struct nl *nl, int ifindex, struct link_info *li)
{
	if (!link_exists(nl, ifindex))
		return -ENODEV;
	if (ifindex == 1)
		lo_link(li);
	else if (nl->ns[0])
		pod_link(nl->ns, "eth0", li);
	else
		host_link(ifindex, li);
	return 0;
}

int link_for_each(struct nl *nl,
		  int (*fn)(const struct link_info *li, void *arg), void *arg)
{
	struct link_info li;
	int err;

	lo_link(&li);
	err = fn(&li, arg);
	if (nl->ns[0]) {
		if (!err) {
			pod_link(nl->ns, "eth0", &li);
			err = fn(&li, arg);
		}
		return err;
	}
	for (int i = 0; i < FK_HOST_LINKS && !err; i++) {
		if (w.gone[i])
			continue;
		host_link(FK_HOST_BASE + i, &li);
		err = fn(&li, arg);
	}
	return err;
}

int addr_for_each(struct nl *nl,
		  int (*fn)(int family, const void *addr, int ifindex,
			    void *arg),
		  void *arg)
{
	static const char *const v4[] = { "10.0.0.1", "169.254.1.1" };
	static const char *const v6[] = { "fd00::1", "fe80::1" };
	__u8 buf[16];
	int err = 0;

	if (nl->ns[0])
		return 0;
	for (size_t i = 0; i < 2 && !err; i++) {
		inet_pton(AF_INET, v4[i], buf);
		err = fn(AF_INET, buf, FK_HOST_BASE, arg);
		if (!err) {
			inet_pton(AF_INET6, v6[i], buf);
			err = fn(AF_INET6, buf, FK_HOST_BASE, arg);
		}
	}
	return err;
}

/* --- tc --- */

static struct qdisc *qdisc_find(const struct nl *nl, int ifindex)
{
	for (int i = 0; i < MAX_QDISCS; i++)
		if (w.qdiscs[i].used && w.qdiscs[i].ifindex == ifindex &&
		    !strcmp(w.qdiscs[i].ns, nl->ns))
			return &w.qdiscs[i];
	return NULL;
}

static void drop_filters(const char *ns, int ifindex)
{
	for (int i = 0; i < MAX_FILTERS; i++)
		if (w.filters[i].used && w.filters[i].ifindex == ifindex &&
		    !strcmp(w.filters[i].ns, ns))
			w.filters[i].used = false;
}

int tc_clsact_ensure(struct nl *nl, int ifindex, bool *created)
{
	*created = false;
	if (!link_exists(nl, ifindex))
		return -ENODEV;
	if (qdisc_find(nl, ifindex))
		return 0;
	for (int i = 0; i < MAX_QDISCS; i++) {
		if (w.qdiscs[i].used)
			continue;
		w.qdiscs[i].used = true;
		snprintf(w.qdiscs[i].ns, NS_LEN, "%s", nl->ns);
		w.qdiscs[i].ifindex = ifindex;
		*created = true;
		return 0;
	}
	return -ENOMEM;
}

bool tc_clsact_exists(struct nl *nl, int ifindex)
{
	return qdisc_find(nl, ifindex) != NULL;
}

int tc_clsact_delete(struct nl *nl, int ifindex)
{
	struct qdisc *q = qdisc_find(nl, ifindex);

	if (!q)
		return -ENOENT;
	q->used = false;
	drop_filters(nl->ns, ifindex);
	return 0;
}

static struct filter *filter_find(const char *ns, const struct tc_slot *s)
{
	for (int i = 0; i < MAX_FILTERS; i++) {
		struct filter *f = &w.filters[i];

		if (f->used && f->ifindex == s->ifindex && f->dir == s->dir &&
		    f->prio == s->prio && f->handle == s->handle &&
		    !strcmp(f->ns, ns))
			return f;
	}
	return NULL;
}

static int filter_put(const char *ns, const struct tc_slot *s, const char *name)
{
	struct filter *f = filter_find(ns, s);

	if (f) {
		if (strcmp(f->name, name))
			return -EBUSY;
		return 0; /* ours: replaced in place */
	}
	for (int i = 0; i < MAX_FILTERS; i++) {
		f = &w.filters[i];
		if (f->used)
			continue;
		f->used = true;
		snprintf(f->ns, NS_LEN, "%s", ns);
		f->ifindex = s->ifindex;
		f->dir = s->dir;
		f->prio = s->prio;
		f->handle = s->handle;
		snprintf(f->name, sizeof(f->name), "%s", name);
		return 0;
	}
	return -ENOSPC;
}

int tc_filter_attach(struct nl *nl, const struct tc_slot *slot, int prog_fd,
		     const char *name)
{
	if (!slot->prio || !slot->handle || strlen(name) >= 64 || prog_fd < 0)
		return -EINVAL;
	if (!link_exists(nl, slot->ifindex))
		return -ENODEV;
	if (!qdisc_find(nl, slot->ifindex))
		return -EINVAL; /* no clsact: no hook to attach to */
	return filter_put(nl->ns, slot, name);
}

int tc_filter_get(struct nl *nl, const struct tc_slot *slot,
		  struct tc_filter_info *info)
{
	struct filter *f = filter_find(nl->ns, slot);

	if (!f)
		return -ENOENT;
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", f->name);
	info->prog_id = 1;
	info->prio = f->prio;
	info->handle = f->handle;
	info->direct_action = true;
	return 0;
}

int tc_filter_detach(struct nl *nl, const struct tc_slot *slot,
		     const char *expected_name)
{
	struct filter *f;

	if (!link_exists(nl, slot->ifindex))
		return -ENODEV;
	f = filter_find(nl->ns, slot);
	if (!f)
		return -ENOENT;
	if (strcmp(f->name, expected_name))
		return -EBUSY;
	f->used = false;
	return 0;
}

int tc_filter_list(struct nl *nl, int ifindex, enum tc_dir dir,
		   struct tc_filter_info *out, int max)
{
	int n = 0;

	if (!link_exists(nl, ifindex))
		return -ENODEV;
	for (int i = 0; i < MAX_FILTERS && n < max; i++) {
		struct filter *f = &w.filters[i];

		if (!f->used || f->ifindex != ifindex || f->dir != dir ||
		    strcmp(f->ns, nl->ns))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].name, sizeof(out[n].name), "%s", f->name);
		out[n].prio = f->prio;
		out[n].handle = f->handle;
		n++;
	}
	return n;
}

int ztunnel_routing_setup(struct nl *nl, const struct ztunnel_routing *r,
			  struct ztunnel_saved *was)
{
	(void)r;
	memset(was, 0, sizeof(*was));
	return strncmp(nl->ns, "norule", 6) ? 0 : -EPERM;
}

int ztunnel_routing_restore(struct nl *nl, const struct ztunnel_routing *r,
			    const struct ztunnel_saved *was)
{
	(void)nl;
	(void)r;
	(void)was;
	return 0;
}

int ztunnel_routing_teardown(struct nl *nl, const struct ztunnel_routing *r)
{
	(void)nl;
	(void)r;
	return 0;
}

/* --- world changes the harness makes --- */

void fk_remove_host_link(unsigned int i)
{
	i %= FK_HOST_LINKS;
	if (w.gone[i])
		return;
	w.gone[i] = true;
	/* the kernel takes the device's qdisc and filters with it */
	for (int q = 0; q < MAX_QDISCS; q++)
		if (w.qdiscs[q].used && !w.qdiscs[q].ns[0] &&
		    w.qdiscs[q].ifindex == FK_HOST_BASE + (int)i)
			w.qdiscs[q].used = false;
	drop_filters("", FK_HOST_BASE + (int)i);
}

void fk_foreign_filter(unsigned int i, bool egress, __u16 prio, __u32 handle)
{
	struct nl node = { .ns = "" };
	struct tc_slot s = { .ifindex = FK_HOST_BASE + (int)(i % FK_HOST_LINKS),
			     .dir = egress ? TC_DIR_EGRESS : TC_DIR_INGRESS,
			     .prio = prio ? prio : 1,
			     .handle = handle ? handle : 1 };
	bool created;

	if (tc_clsact_ensure(&node, s.ifindex, &created))
		return;
	filter_put("", &s, "foreign");
}

/* --- the BPF side of datapath.h, as --wrap targets --- */

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
