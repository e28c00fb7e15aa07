// SPDX-License-Identifier: GPL-2.0
/*
 * Network namespaces (netns.h): handles opened and checked without
 * opening anything else, entered and left, a netlink handle made inside
 * one, their cookies (a socket's SO_NETNS_COOKIE) and the ids our netns
 * gives others (RTM_GETNSID, RTM_NEWNSID).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/magic.h>
#include <linux/net_namespace.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include "log.h"
#include "netns.h"
#include "nl_int.h"

#define THREAD_NETNS "/proc/thread-self/ns/net"
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* --- handles --- */

/* An nsfs file: the only kind a namespace handle can be. */
static int is_nsfs(int fd)
{
	struct statfs st;

	if (fstatfs(fd, &st))
		return -errno;
	return st.f_type == NSFS_MAGIC ? 0 : -EINVAL;
}

int netns_check_fd(int fd)
{
	int type, err = is_nsfs(fd);

	if (err)
		return err;
	/* Only now the ioctl: its number means something else elsewhere. */
	type = ioctl(fd, NS_GET_NSTYPE, 0);
	if (type < 0)
		return errno == ENOTTY ? 0 : -errno; /* before 4.11 */
	return type == CLONE_NEWNET ? 0 : -EINVAL;
}

/* nsfs's device: every namespace file, bind mounts included, has it. */
static dev_t nsfs_dev(void)
{
	static dev_t dev;
	struct stat st;

	if (!dev && !stat("/proc/self/ns/net", &st))
		dev = st.st_dev;
	return dev;
}

/*
 * The fd is on nsfs: statx asking for no field and no sync answers from
 * the inode alone, whatever its filesystem (FUSE and NFS send nothing
 * then), and gives its device.
 */
static bool on_nsfs(int fd)
{
	struct statx sx;

	return !statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, 0, &sx) &&
	       makedev(sx.stx_dev_major, sx.stx_dev_minor) == nsfs_dev();
}

/*
 * A descriptor a peer sent: is it a network namespace? Found without a
 * call that reaches the file's filesystem, which a peer controls (a FUSE
 * server that never answers, a hung NFS mount): the fd's link in /proc
 * names a namespace opened through /proc/PID/ns ("net:[...]") or gives a
 * path (a socket, a pipe, an anonymous inode give neither). A path is a
 * netns bind mount (/var/run/netns/X) only if the file is on nsfs: statx
 * asking for no field and no sync answers from the inode alone (FUSE and
 * NFS send nothing then), giving its device. Only then the nsfs ioctl.
 */
bool netns_fd_is_net(int fd)
{
	char link[32], target[16];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	if (!strncmp(target, "net:[", 5))
		return true;
	if (target[0] != '/' || !on_nsfs(fd))
		return false;
	return ioctl(fd, NS_GET_NSTYPE, 0) == CLONE_NEWNET;
}

/*
 * The O_PATH handle pfd (closed here), already found on nsfs, opened for
 * real through /proc/self/fd and checked to be a network namespace.
 */
static int reopen_checked(int pfd)
{
	char self[64];
	int fd, err;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	err = fd < 0 ? -errno : netns_check_fd(fd);
	close(pfd);
	if (err && fd >= 0)
		close(fd);
	return err ? err : fd;
}

/*
 * netns_open when that cannot block, else -EAGAIN: the path is walked
 * from the kernel's caches alone (RESOLVE_CACHED, made for io_uring's
 * opens that must not block: every step that would ask a filesystem, a
 * FUSE lookup, a revalidation, an automount, a /proc magic link, fails
 * the walk instead), the O_PATH handle is checked to be on nsfs by its
 * device, and only then opened for real.
 */
int netns_open_cached(const char *path)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_CACHED };
	int pfd;

	pfd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (pfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? -errno : -EAGAIN;
	if (!on_nsfs(pfd)) {
		close(pfd);
		return -EINVAL;
	}
	return reopen_checked(pfd);
}

/*
 * Open a netns handle by path without ever opening anything else: an
 * O_PATH handle first (no open() of a FIFO, device or socket, which could
 * block the event loop or have side effects), checked to be an nsfs
 * file, and only then opened for real through /proc/self/fd.
 */
int netns_open(const char *path)
{
	int pfd, fd, err;

	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		err = -errno;
		return pr_ret(err, "netns: open %s: %s", path, strerror(-err));
	}
	err = is_nsfs(pfd);
	if (err) {
		close(pfd);
		return pr_ret(err, "netns: %s is not a namespace file", path);
	}
	fd = reopen_checked(pfd);
	if (fd < 0)
		return pr_ret(fd, "netns: %s is not a network namespace: %s",
			      path, strerror(-fd));
	return fd;
}

int netns_same(int fd1, int fd2)
{
	struct stat a, b;

	if (fstat(fd1, &a) || fstat(fd2, &b))
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* --- entering one --- */

int netns_enter(int netns_fd, int *saved)
{
	int old, err;

	old = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (old < 0) {
		err = -errno;
		return pr_ret(err, "netns: open %s: %s", THREAD_NETNS,
			      strerror(-err));
	}
	if (setns(netns_fd, CLONE_NEWNET)) {
		err = -errno;
		close(old);
		return pr_ret(err, "netns: setns: %s", strerror(-err));
	}
	*saved = old;
	return 0;
}

int netns_leave(int saved)
{
	int err = 0;

	if (setns(saved, CLONE_NEWNET)) {
		err = -errno;
		pr_err("netns: cannot return to the saved netns: %s",
		       strerror(-err));
	}
	close(saved);
	return err;
}

/* --- a netlink handle inside one --- */

/* Made in there, the handle remembers that netns as its own. */
int nl_open_in_netns(int netns_fd, struct nl **out)
{
	struct nl *nl = NULL;
	int saved, err, lerr;

	err = netns_check_fd(netns_fd);
	if (err)
		return pr_ret(err, "netlink: fd %d is not a network namespace",
			      netns_fd);
	err = netns_enter(netns_fd, &saved);
	if (err)
		return err;
	/* A socket stays in the netns it was created in. */
	err = nl_open(&nl);
	lerr = netns_leave(saved);
	if (!err && lerr) {
		nl_close(nl);
		err = lerr;
	}
	if (!err)
		*out = nl;
	return err;
}

/* --- netns cookies --- */

int netns_cookie_of_sock(int sock, __u64 *cookie)
{
	socklen_t len = sizeof(*cookie);

	return getsockopt(sock, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len) ?
		       -errno :
		       0;
}

/* A socket belongs to the netns it is created in. */
int netns_cookie_self(__u64 *cookie)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	err = netns_cookie_of_sock(fd, cookie);
	close(fd);
	return err;
}

int netns_cookie(int netns_fd, __u64 *cookie)
{
	int saved, err, lerr;

	err = netns_enter(netns_fd, &saved);
	if (err)
		return err;
	err = netns_cookie_self(cookie);
	lerr = netns_leave(saved);
	return err ? err : lerr;
}

/* --- netns ids --- */

static int nsid_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[NETNSA_MAX + 1];
	__u32 v;

	if (nlh->nlmsg_type != RTM_NEWNSID ||
	    nl_parse_attrs(nlh, sizeof(struct rtgenmsg), tb, NETNSA_MAX))
		return -EBADMSG;
	if (nl_attr_u32(tb[NETNSA_NSID], &v))
		*(int *)arg = (int)v;
	return 0;
}

/* ip netns list-id */
int netns_id_of(struct nl *nl, int netns_fd)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_GETNSID, NLM_F_ACK);
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	int id = -1, err;

	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (__u32)netns_fd);
	err = nl_talk(nl, nlh, nsid_cb, &id);
	if (err)
		return err;
	return id >= 0 ? id : -ENOENT;
}

/* ip netns set NAME auto: the kernel picks a free id. */
static int netns_id_assign(struct nl *nl, int netns_fd)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_NEWNSID, NLM_F_ACK);
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (__u32)netns_fd);
	mnl_attr_put_u32(nlh, NETNSA_NSID, (__u32)-1);
	return nl_talk(nl, nlh, NULL, NULL);
}

int netns_id_ensure(struct nl *nl, int netns_fd)
{
	int id = netns_id_of(nl, netns_fd), err;

	if (id != -ENOENT)
		return id;
	err = netns_id_assign(nl, netns_fd);
	/* EEXIST: someone else gave it one meanwhile. */
	if (err && err != -EEXIST)
		return err;
	return netns_id_of(nl, netns_fd);
}

int netns_id_self(void)
{
	int fd = open(THREAD_NETNS, O_RDONLY | O_CLOEXEC), id;
	struct nl *nl;

	if (fd < 0)
		return -errno;
	id = nl_open(&nl);
	if (!id) {
		id = netns_id_ensure(nl, fd);
		nl_close(nl);
	}
	close(fd);
	return id;
}
