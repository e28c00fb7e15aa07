// SPDX-License-Identifier: GPL-2.0
/*
 * The fake kernel behind fuzz_request, its links and namespaces: the
 * functions of nl.h, netns.h and link.h, fk_reset (the whole world) and
 * the harness's removal of a host veth. tc and ztunnel routing are in
 * fake_tc.c, the BPF side of datapath.h in fake_datapath.c. See
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
#include "link.h"
#include "netns.h"
#include "nl.h"
#include "fake_kernel.h"
#include "fake_kernel_int.h"

/* This file's part of the world: host veths, handles, netns ids. */
static struct {
	bool gone[FK_HOST_LINKS];
	int handles; /* nl handles open */
	char nsids[32][NS_LEN]; /* netns id i+1 names this netns */
	int host_peer_nsid[FK_HOST_LINKS]; /* the netns of a host veth's peer */
} w;

void fk_reset(void)
{
	memset(&w, 0, sizeof(w));
	fk_tc_reset();
	fk_datapath_reset();
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

bool fk_link_exists(const struct nl *nl, int ifindex)
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
	if (!fk_link_exists(nl, ifindex))
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

/* --- world changes the harness makes --- */

void fk_remove_host_link(unsigned int i)
{
	i %= FK_HOST_LINKS;
	if (w.gone[i])
		return;
	w.gone[i] = true;
	/* the kernel takes the device's qdisc and filters with it */
	fk_tc_link_gone(FK_HOST_BASE + (int)i);
}
