// SPDX-License-Identifier: GPL-2.0
/*
 * Route netlink with libmnl. One request at a time per handle: build it in
 * nl->tx, send it with a fresh sequence number, then read replies until the
 * kernel's ACK (NLMSG_ERROR) or NLMSG_DONE, skipping anything that is not an
 * answer to that request. The equivalent ip/tc command sits beside each
 * request builder.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/fib_rules.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include "log.h"
#include "nl.h"

/*
 * Dump replies are built in skbs of up to 32 KiB once the kernel has seen a
 * reader with a buffer that large; a smaller buffer would truncate them.
 */
#define NL_RX_SIZE 32768
#define NL_TX_SIZE 4096
#define THREAD_NETNS "/proc/thread-self/ns/net"

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	int netns_fd; /* the netns the socket lives in, for sysctl writes */
	char ext_msg[256]; /* kernel's extack message for the last request */
	char tx[NL_TX_SIZE] __attribute__((aligned(8)));
	char rx[NL_RX_SIZE] __attribute__((aligned(8)));
};

/* A reply handler: 0 to go on; anything else stops calls and is returned. */
typedef int (*nl_reply_fn)(const struct nlmsghdr *nlh, void *arg);

/* --- network namespaces --- */

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
	char self[64];
	int pfd, fd, err;

	pfd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (pfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? -errno : -EAGAIN;
	if (!on_nsfs(pfd)) {
		close(pfd);
		return -EINVAL;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	err = fd < 0 ? -errno : netns_check_fd(fd);
	close(pfd);
	if (err && fd >= 0)
		close(fd);
	return err ? err : fd;
}

/*
 * Open a netns handle by path without ever opening anything else: an
 * O_PATH handle first (no open() of a FIFO, device or socket, which could
 * block the event loop or have side effects), checked to be an nsfs
 * file, and only then opened for real through /proc/self/fd.
 */
int netns_open(const char *path)
{
	char self[64];
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
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	err = fd < 0 ? -errno : netns_check_fd(fd);
	close(pfd);
	if (err) {
		if (fd >= 0)
			close(fd);
		return pr_ret(err, "netns: %s is not a network namespace: %s",
			      path, strerror(-err));
	}
	return fd;
}

int netns_same(int fd1, int fd2)
{
	struct stat a, b;

	if (fstat(fd1, &a) || fstat(fd2, &b))
		return -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

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

/* --- the socket --- */

/* netns_fd < 0: remember the calling thread's current netns. */
static int nl_open_here(int netns_fd, struct nl **out)
{
	struct nl *nl;
	int one = 1, err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->netns_fd = netns_fd >= 0 ? fcntl(netns_fd, F_DUPFD_CLOEXEC, 0) :
				       open(THREAD_NETNS, O_RDONLY | O_CLOEXEC);
	if (nl->netns_fd < 0) {
		err = -errno;
		pr_err("netlink: keep netns fd: %s", strerror(-err));
		goto cleanup;
	}
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID)) {
		err = -errno;
		pr_err("netlink: open socket: %s", strerror(-err));
		goto cleanup;
	}
	/* The kernel's own words on a failure; capped ACKs omit our request. */
	if (mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one)))
		pr_debug("netlink: no extended ACK: %s", strerror(errno));
	if (mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one)))
		pr_debug("netlink: no capped ACK: %s", strerror(errno));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)time(NULL);
	*out = nl;
	return 0;
cleanup:
	nl_close(nl);
	return err;
}

int nl_open(struct nl **out)
{
	return nl_open_here(-1, out);
}

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
	err = nl_open_here(netns_fd, &nl);
	lerr = netns_leave(saved);
	if (!err && lerr) {
		nl_close(nl);
		err = lerr;
	}
	if (!err)
		*out = nl;
	return err;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	if (nl->netns_fd >= 0)
		close(nl->netns_fd);
	free(nl);
}

/* --- request / reply --- */

static struct nlmsghdr *nl_msg(struct nl *nl, __u16 type, __u16 flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->tx);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

static int ext_ack_cb(const struct nlattr *a, void *data)
{
	struct nl *nl = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
		snprintf(nl->ext_msg, sizeof(nl->ext_msg), "%s",
			 mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* Extack TLVs start `offset` bytes into the payload of an ERROR or DONE. */
static void nl_read_ext_ack(struct nl *nl, const struct nlmsghdr *nlh,
			    size_t offset)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    mnl_nlmsg_size(MNL_ALIGN(offset)) > nlh->nlmsg_len)
		return;
	mnl_attr_parse(nlh, offset, ext_ack_cb, nl);
}

static int nl_parse_error(struct nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	size_t offset = sizeof(*e);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EBADMSG;
	/* Without NLM_F_CAPPED our whole request is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
	    e->msg.nlmsg_len >= sizeof(struct nlmsghdr))
		offset += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	nl_read_ext_ack(nl, nlh, offset);
	if (e->error == 0 && nl->ext_msg[0])
		pr_warn("netlink: kernel warning: %s", nl->ext_msg);
	return e->error <= 0 ? e->error : -EPROTO;
}

/* A dump ends with NLMSG_DONE carrying the dump's own error code. */
static int nl_parse_done(struct nl *nl, const struct nlmsghdr *nlh)
{
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return 0;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	nl_read_ext_ack(nl, nlh, sizeof(int));
	return err <= 0 ? err : -EPROTO;
}

/*
 * Read every reply to request `seq`. Replies to older requests (left over
 * when a caller stopped a dump early) are skipped; once fn stops we still
 * drain the rest so the next request starts clean.
 */
static int nl_recv(struct nl *nl, unsigned int seq, nl_reply_fn fn, void *arg)
{
	int err = 0, fn_ret = 0;
	bool done = false;

	while (!done) {
		const struct nlmsghdr *nlh = (const void *)nl->rx;
		int len = mnl_socket_recvfrom(nl->sock, nl->rx, NL_RX_SIZE);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			/* ENOSPC: a message was larger than our buffer. */
			return -errno;
		}
		for (; !done && mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq ||
			    !mnl_nlmsg_portid_ok(nlh, nl->portid)) {
				pr_debug(
					"netlink: skip stale reply seq %u pid %u",
					nlh->nlmsg_seq, nlh->nlmsg_pid);
				continue;
			}
			switch (nlh->nlmsg_type) {
			case NLMSG_NOOP:
				break;
			case NLMSG_ERROR:
				err = nl_parse_error(nl, nlh);
				done = true;
				break;
			case NLMSG_DONE:
				err = nl_parse_done(nl, nlh);
				done = true;
				break;
			case NLMSG_OVERRUN:
				err = -EOVERFLOW;
				done = true;
				break;
			default:
				if (fn && !fn_ret)
					fn_ret = fn(nlh, arg);
			}
		}
	}
	if (err && nl->ext_msg[0])
		pr_debug("netlink: %s (kernel: %s)", strerror(-err),
			 nl->ext_msg);
	return err ? err : fn_ret;
}

/* Send the request in nl->tx and collect its replies. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, nl_reply_fn fn,
		   void *arg)
{
	if (++nl->seq == 0) /* 0 would turn off sequence checks */
		nl->seq = 1;
	nlh->nlmsg_seq = nl->seq;
	nlh->nlmsg_pid = 0;
	nl->ext_msg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	return nl_recv(nl, nlh->nlmsg_seq, fn, arg);
}

/* Log a failed request with the kernel's reason; returns err. */
__attribute__((format(printf, 3, 4))) static int
nl_fail(const struct nl *nl, int err, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (nl->ext_msg[0])
		pr_err("%s: %s (kernel: %s)", what, strerror(-err),
		       nl->ext_msg);
	else
		pr_err("%s: %s", what, strerror(-err));
	return err;
}

/* --- attribute helpers --- */

struct attr_tb {
	const struct nlattr **tb;
	unsigned int max;
};

static int attr_tb_cb(const struct nlattr *a, void *data)
{
	const struct attr_tb *t = data;
	unsigned int type = mnl_attr_get_type(a);

	/* Attributes newer than our headers are ignored. */
	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

static int parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen,
		       const struct nlattr **tb, unsigned int max)
{
	struct attr_tb t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_nlmsg_get_payload_len(nlh) < hdrlen)
		return -EBADMSG;
	return mnl_attr_parse(nlh, hdrlen, attr_tb_cb, &t) < 0 ? -EBADMSG : 0;
}

static int parse_nested(const struct nlattr *nest, const struct nlattr **tb,
			unsigned int max)
{
	struct attr_tb t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	return mnl_attr_parse_nested(nest, attr_tb_cb, &t) < 0 ? -EBADMSG : 0;
}

static bool attr_u32(const struct nlattr *a, __u32 *v)
{
	if (!a || mnl_attr_get_payload_len(a) < sizeof(__u32))
		return false;
	*v = mnl_attr_get_u32(a);
	return true;
}

/* Length of a string attribute, which need not be NUL-terminated. */
static size_t attr_strlen(const struct nlattr *a)
{
	return a ? strnlen(mnl_attr_get_payload(a),
			   mnl_attr_get_payload_len(a)) :
		   0;
}

/* Copy a string attribute (truncating); returns its full length. */
static size_t attr_str(const struct nlattr *a, char *dst, size_t size)
{
	size_t len = attr_strlen(a), n = len < size ? len : size - 1;

	if (a)
		memcpy(dst, mnl_attr_get_payload(a), n);
	dst[a ? n : 0] = '\0';
	return len;
}

static bool attr_str_eq(const struct nlattr *a, const char *s)
{
	size_t len = strlen(s);

	return a && attr_strlen(a) == len &&
	       !memcmp(mnl_attr_get_payload(a), s, len);
}

/* --- links --- */

static int parse_link(const struct nlmsghdr *nlh, struct link_info *li)
{
	const struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	__u32 v;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    parse_attrs(nlh, sizeof(*ifi), tb, IFLA_MAX))
		return -EBADMSG;
	memset(li, 0, sizeof(*li));
	li->ifindex = ifi->ifi_index;
	li->up = ifi->ifi_flags & IFF_UP;
	li->link_netnsid = -1;
	attr_str(tb[IFLA_IFNAME], li->name, sizeof(li->name));
	if (tb[IFLA_ADDRESS] &&
	    mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == sizeof(li->mac)) {
		memcpy(li->mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]),
		       sizeof(li->mac));
		li->has_mac = true;
	}
	/* Only sent when it differs from ifindex; for a veth, the peer. */
	if (attr_u32(tb[IFLA_LINK], &v))
		li->peer_ifindex = (int)v;
	/* Only sent when the peer lives in another netns. */
	if (attr_u32(tb[IFLA_LINK_NETNSID], &v))
		li->link_netnsid = (int)v;
	if (tb[IFLA_LINKINFO] &&
	    !parse_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX))
		li->is_veth = attr_str_eq(info[IFLA_INFO_KIND], "veth");
	return 0;
}

static int link_get_cb(const struct nlmsghdr *nlh, void *arg)
{
	return parse_link(nlh, arg);
}

/* ip link show dev NAME | ip link show (by index) */
static int link_get(struct nl *nl, const char *name, int ifindex,
		    struct link_info *li)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_GETLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int err;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	li->ifindex = 0;
	err = nl_talk(nl, nlh, link_get_cb, li);
	return !err && !li->ifindex ? -ENOENT : err;
}

int link_get_by_name(struct nl *nl, const char *name, struct link_info *li)
{
	if (!name || !*name || strlen(name) >= IF_NAMESIZE)
		return -EINVAL;
	return link_get(nl, name, 0, li);
}

int link_get_by_index(struct nl *nl, int ifindex, struct link_info *li)
{
	if (ifindex <= 0)
		return -EINVAL;
	return link_get(nl, NULL, ifindex, li);
}

static int nsid_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[NETNSA_MAX + 1];
	__u32 v;

	if (nlh->nlmsg_type != RTM_NEWNSID ||
	    parse_attrs(nlh, sizeof(struct rtgenmsg), tb, NETNSA_MAX))
		return -EBADMSG;
	if (attr_u32(tb[NETNSA_NSID], &v))
		*(int *)arg = (int)v;
	return 0;
}

/* ip netns list-id: the id nl's netns has for netns_fd, -ENOENT if none. */
static int netns_id_of(struct nl *nl, int netns_fd)
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

/*
 * ip -n NETNS link show dev NAME (or the link at ifindex when name is
 * NULL), asked from nl's netns by netns id.
 */
static int link_get_by_nsid(struct nl *nl, int nsid, const char *name,
			    int ifindex, struct link_info *li)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_GETLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int err;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_TARGET_NETNSID, (__u32)nsid);
	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	else
		ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	li->ifindex = 0;
	err = nl_talk(nl, nlh, link_get_cb, li);
	return !err && !li->ifindex ? -ENOENT : err;
}

/*
 * A veth's peer netns nearly always has an id in ours already (the kernel
 * gives it one when the veth pair is made across the two), and then two
 * requests on our own socket find the link, instead of entering the netns
 * and making a socket there, which redirectd paid on every pod add (about
 * 10 of its 33 us to find a pod's veth, measured in a trial build).
 * Without an id, that way still.
 */
int link_get_in_netns(struct nl *nl, int netns_fd, const char *name,
		      struct link_info *li)
{
	struct nl *pnl;
	int nsid, err;

	if (!name || !*name || strlen(name) >= IF_NAMESIZE)
		return -EINVAL;
	nsid = netns_id_of(nl, netns_fd);
	if (nsid >= 0)
		return link_get_by_nsid(nl, nsid, name, 0, li);
	err = nl_open_in_netns(netns_fd, &pnl);
	if (err)
		return err;
	err = link_get_by_name(pnl, name, li);
	nl_close(pnl);
	return err;
}

struct link_walk {
	int (*fn)(const struct link_info *li, void *arg);
	void *arg;
};

static int link_walk_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct link_walk *w = arg;
	struct link_info li;
	int err;

	err = parse_link(nlh, &li);
	return err ? err : w->fn(&li, w->arg);
}

/* ip link show */
int link_for_each(struct nl *nl,
		  int (*fn)(const struct link_info *li, void *arg), void *arg)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct link_walk w = { fn, arg };

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	return nl_talk(nl, nlh, link_walk_cb, &w);
}

/* ip -n NETNS link show dev NAME, by the netns's id in nl's netns. */
int link_get_in_netns_id(struct nl *nl, int nsid, const char *name,
			 struct link_info *li)
{
	if (nsid < 0 || !name || !*name || strlen(name) >= IF_NAMESIZE)
		return -EINVAL;
	return link_get_by_nsid(nl, nsid, name, 0, li);
}

int link_get_in_netns_id_at(struct nl *nl, int nsid, int ifindex,
			    struct link_info *li)
{
	if (nsid < 0 || ifindex <= 0)
		return -EINVAL;
	return link_get_by_nsid(nl, nsid, NULL, ifindex, li);
}

/* ip link set dev X up */
static int link_set_up(struct nl *nl, int ifindex)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int err;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	err = nl_talk(nl, nlh, NULL, NULL);
	return err ? nl_fail(nl, err, "link: set ifindex %d up", ifindex) : 0;
}

/* --- addresses --- */

struct addr_walk {
	int (*fn)(int family, const void *addr, int ifindex, void *arg);
	void *arg;
};

static int addr_walk_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFA_MAX + 1], *a;
	const struct addr_walk *w = arg;
	size_t len;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    parse_attrs(nlh, sizeof(*ifa), tb, IFA_MAX))
		return -EBADMSG;
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	/* With a peer (ptp), IFA_ADDRESS is the peer and IFA_LOCAL is ours. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	len = ifa->ifa_family == AF_INET ? 4 : 16;
	if (!a || mnl_attr_get_payload_len(a) != len)
		return 0;
	return w->fn(ifa->ifa_family, mnl_attr_get_payload(a),
		     (int)ifa->ifa_index, w->arg);
}

/* ip addr show */
int addr_for_each(struct nl *nl,
		  int (*fn)(int family, const void *addr, int ifindex,
			    void *arg),
		  void *arg)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct addr_walk w = { fn, arg };

	ifa->ifa_family = AF_UNSPEC;
	return nl_talk(nl, nlh, addr_walk_cb, &w);
}

static int strict_check(struct nl *nl, int on)
{
	return mnl_socket_setsockopt(nl->sock, NETLINK_GET_STRICT_CHK, &on,
				     sizeof(on)) ?
		       -errno :
		       0;
}

/*
 * ip -n NETNS addr show dev IFINDEX, NETNS named by its id in nl's netns.
 * The kernel reads IFA_TARGET_NETNSID (and filters by ifindex) only on a
 * socket with strict checking, so it is on for this one dump: the other
 * requests on this socket were written for the lenient parser.
 */
int addr_for_each_in_netns(struct nl *nl, int nsid, int ifindex,
			   int (*fn)(int family, const void *addr, int ifindex,
				     void *arg),
			   void *arg)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct addr_walk w = { fn, arg };
	int err;

	ifa->ifa_family = AF_UNSPEC;
	ifa->ifa_index = (__u32)ifindex;
	mnl_attr_put_u32(nlh, IFA_TARGET_NETNSID, (__u32)nsid);
	err = strict_check(nl, 1);
	if (err)
		return err;
	err = nl_talk(nl, nlh, addr_walk_cb, &w);
	strict_check(nl, 0);
	return err;
}

/* --- tc: clsact qdisc --- */

static const char *tc_dir_name(enum tc_dir dir)
{
	return dir == TC_DIR_INGRESS ? "ingress" : "egress";
}

static __u32 tc_parent(enum tc_dir dir)
{
	return TC_H_MAKE(TC_H_CLSACT, dir == TC_DIR_INGRESS ? TC_H_MIN_INGRESS :
							      TC_H_MIN_EGRESS);
}

static struct nlmsghdr *tc_msg(struct nl *nl, __u16 type, __u16 flags,
			       int ifindex, __u32 parent, __u32 handle,
			       __u32 info)
{
	struct nlmsghdr *nlh = nl_msg(nl, type, flags);
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));

	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	tcm->tcm_info = info;
	return nlh;
}

struct qdisc_kind {
	char kind[16];
	bool found;
};

static int qdisc_kind_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[TCA_MAX + 1];
	struct qdisc_kind *q = arg;

	if (nlh->nlmsg_type != RTM_NEWQDISC ||
	    parse_attrs(nlh, sizeof(struct tcmsg), tb, TCA_MAX))
		return -EBADMSG;
	attr_str(tb[TCA_KIND], q->kind, sizeof(q->kind));
	q->found = true;
	return 0;
}

/*
 * Kind of the qdisc with handle ffff: (clsact or ingress), -ENOENT if none.
 * tc qdisc show dev X handle ffff:
 */
static int tc_hook_qdisc(struct nl *nl, int ifindex, struct qdisc_kind *q)
{
	struct nlmsghdr *nlh;
	int err;

	/*
	 * Parent 0 + handle: the kernel looks the handle up, ingress included.
	 * A qdisc GET is answered as a notification: without NLM_F_ECHO the
	 * asker gets only the ACK.
	 */
	nlh = tc_msg(nl, RTM_GETQDISC, NLM_F_ACK | NLM_F_ECHO, ifindex, 0,
		     TC_H_MAKE(TC_H_CLSACT, 0), 0);
	memset(q, 0, sizeof(*q));
	err = nl_talk(nl, nlh, qdisc_kind_cb, q);
	if (!err && !q->found)
		err = -ENOENT;
	return err;
}

bool tc_clsact_exists(struct nl *nl, int ifindex)
{
	struct qdisc_kind q;

	return !tc_hook_qdisc(nl, ifindex, &q) && !strcmp(q.kind, "clsact");
}

/* tc qdisc add dev X clsact */
int tc_clsact_ensure(struct nl *nl, int ifindex, bool *created)
{
	struct nlmsghdr *nlh;
	struct qdisc_kind q;
	int err;

	*created = false;
	nlh = tc_msg(nl, RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
		     ifindex, TC_H_CLSACT, TC_H_MAKE(TC_H_CLSACT, 0), 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "clsact");
	err = nl_talk(nl, nlh, NULL, NULL);
	if (!err) {
		*created = true;
		pr_debug("tc: created clsact on ifindex %d", ifindex);
		return 0;
	}
	if (err != -EEXIST)
		return nl_fail(nl, err, "tc: add clsact on ifindex %d",
			       ifindex);
	/* EXCL made it fail; reuse what is there, if it is a clsact. */
	err = tc_hook_qdisc(nl, ifindex, &q);
	if (err)
		return nl_fail(nl, err, "tc: look at qdisc ffff: on ifindex %d",
			       ifindex);
	if (strcmp(q.kind, "clsact"))
		return pr_ret(
			-EBUSY,
			"tc: ifindex %d has a foreign '%s' qdisc at ffff:, not clsact; leaving it alone",
			ifindex, q.kind);
	pr_debug("tc: reusing the clsact on ifindex %d", ifindex);
	return 0;
}

/* tc qdisc del dev X clsact */
int tc_clsact_delete(struct nl *nl, int ifindex)
{
	struct nlmsghdr *nlh;
	int err;

	nlh = tc_msg(nl, RTM_DELQDISC, NLM_F_ACK, ifindex, TC_H_CLSACT,
		     TC_H_MAKE(TC_H_CLSACT, 0), 0);
	/* The kernel refuses if the qdisc there is of another kind. */
	mnl_attr_put_strz(nlh, TCA_KIND, "clsact");
	err = nl_talk(nl, nlh, NULL, NULL);
	return err ? nl_fail(nl, err, "tc: delete clsact on ifindex %d",
			     ifindex) :
		     0;
}

/* --- tc: cls_bpf filters --- */

/* One RTM_NEWTFILTER as the kernel reports it. */
struct tc_entry {
	struct tc_filter_info info;
	char kind[16];
	size_t name_len; /* full TCA_BPF_NAME length, info.name may be cut */
	__u16 protocol; /* network byte order */
	__u32 chain;
};

static int parse_filter(const struct nlmsghdr *nlh, struct tc_entry *e)
{
	const struct nlattr *tb[TCA_MAX + 1], *opt[TCA_BPF_MAX + 1];
	const struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	__u32 v;

	if (nlh->nlmsg_type != RTM_NEWTFILTER ||
	    parse_attrs(nlh, sizeof(*tcm), tb, TCA_MAX))
		return -EBADMSG;
	memset(e, 0, sizeof(*e));
	e->info.prio = TC_H_MAJ(tcm->tcm_info) >> 16;
	e->info.handle = tcm->tcm_handle;
	e->protocol = TC_H_MIN(tcm->tcm_info);
	if (attr_u32(tb[TCA_CHAIN], &v))
		e->chain = v;
	attr_str(tb[TCA_KIND], e->kind, sizeof(e->kind));
	if (strcmp(e->kind, "bpf")) {
		snprintf(e->info.name, sizeof(e->info.name), "%s", e->kind);
		return 0;
	}
	/* The per-prio header entry of a dump carries no options. */
	if (!tb[TCA_OPTIONS] || parse_nested(tb[TCA_OPTIONS], opt, TCA_BPF_MAX))
		return 0;
	e->name_len =
		attr_str(opt[TCA_BPF_NAME], e->info.name, sizeof(e->info.name));
	attr_u32(opt[TCA_BPF_ID], &e->info.prog_id);
	if (attr_u32(opt[TCA_BPF_FLAGS], &v))
		e->info.direct_action = v & TCA_BPF_FLAG_ACT_DIRECT;
	return 0;
}

/* Is this the cls_bpf filter we installed under `name`? */
static bool tc_entry_is(const struct tc_entry *e, const char *name)
{
	return !strcmp(e->kind, "bpf") && e->name_len == strlen(name) &&
	       !strcmp(e->info.name, name);
}

/* tc filter show dev X ingress|egress [pref P] */
static int tc_dump_filters(struct nl *nl, int ifindex, enum tc_dir dir,
			   __u16 prio, nl_reply_fn fn, void *arg)
{
	struct nlmsghdr *nlh;

	/* A prio in tcm_info makes the kernel skip the other prios. */
	nlh = tc_msg(nl, RTM_GETTFILTER, NLM_F_DUMP, ifindex, tc_parent(dir), 0,
		     TC_H_MAKE((__u32)prio << 16, 0));
	return nl_talk(nl, nlh, fn, arg);
}

struct slot_scan {
	const struct tc_slot *slot;
	bool found;
	struct tc_entry hit;
	char prio_kind[16]; /* the classifier holding this prio, if any */
	__u16 prio_protocol;
};

static int slot_scan_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct slot_scan *s = arg;
	struct tc_entry e;
	int err;

	err = parse_filter(nlh, &e);
	if (err)
		return err;
	/* Only chain 0 is run from the hook; other chains are reached by goto. */
	if (e.chain || e.info.prio != s->slot->prio)
		return 0;
	memcpy(s->prio_kind, e.kind, sizeof(s->prio_kind));
	s->prio_protocol = e.protocol;
	if (e.info.handle == s->slot->handle) {
		s->hit = e;
		s->found = true;
	}
	return 0;
}

static int tc_slot_check(const struct tc_slot *slot)
{
	/* Handle 0 would make the kernel pick one, or delete a whole prio. */
	if (!slot || slot->ifindex <= 0 || !slot->prio || !slot->handle ||
	    (slot->dir != TC_DIR_INGRESS && slot->dir != TC_DIR_EGRESS))
		return -EINVAL;
	return 0;
}

static int tc_slot_scan(struct nl *nl, const struct tc_slot *slot,
			struct slot_scan *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	s->slot = slot;
	err = tc_dump_filters(nl, slot->ifindex, slot->dir, slot->prio,
			      slot_scan_cb, s);
	if (err)
		return nl_fail(nl, err, "tc: list filters on ifindex %d %s",
			       slot->ifindex, tc_dir_name(slot->dir));
	return 0;
}

int tc_filter_get(struct nl *nl, const struct tc_slot *slot,
		  struct tc_filter_info *info)
{
	struct slot_scan s;
	int err;

	err = tc_slot_check(slot);
	if (!err)
		err = tc_slot_scan(nl, slot, &s);
	if (err)
		return err;
	if (!s.found)
		return -ENOENT;
	*info = s.hit.info;
	return 0;
}

static int echo_cb(const struct nlmsghdr *nlh, void *arg)
{
	return parse_filter(nlh, arg);
}

/* tc filter add|replace dev X ingress|egress pref P handle H protocol all
 *	bpf direct-action fd F name N
 * Sends only; *prog_id: the new filter's program, from the kernel's echo.
 */
static int tc_filter_send(struct nl *nl, const struct tc_slot *slot,
			  int prog_fd, const char *name, bool replace,
			  __u32 *prog_id)
{
	__u16 flags = NLM_F_ACK | NLM_F_ECHO;
	struct tc_entry echo = { 0 };
	struct nlmsghdr *nlh;
	struct nlattr *opts;
	int err;

	/* Replace swaps ours in place, so the hook never runs without it. */
	flags |= replace ? NLM_F_REPLACE : NLM_F_CREATE | NLM_F_EXCL;
	nlh = tc_msg(nl, RTM_NEWTFILTER, flags, slot->ifindex,
		     tc_parent(slot->dir), slot->handle,
		     TC_H_MAKE((__u32)slot->prio << 16, htons(ETH_P_ALL)));
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);
	mnl_attr_put_u32(nlh, TCA_BPF_FD, (__u32)prog_fd);
	mnl_attr_put_strz(nlh, TCA_BPF_NAME, name);
	mnl_attr_put_u32(nlh, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
	mnl_attr_nest_end(nlh, opts);
	/* NLM_F_ECHO: the kernel sends the new filter back, prog id included. */
	err = nl_talk(nl, nlh, echo_cb, &echo);
	*prog_id = echo.info.prog_id;
	return err;
}

/*
 * A new attach is debug: redirectd says "enrolled" once per pod, and a
 * node enrolling thousands of pods need not log three lines for each.
 * A replacement (an upgrade's new program) stays visible.
 */
static void tc_filter_log(const struct tc_slot *slot, const char *name,
			  bool replace, __u32 prog_id)
{
	log_msg(replace ? LOG_LVL_INFO : LOG_LVL_DEBUG,
		"tc: %s '%s' (prog id %u) on ifindex %d %s pref %u handle %u",
		replace ? "replaced" : "attached", name, prog_id, slot->ifindex,
		tc_dir_name(slot->dir), slot->prio, slot->handle);
}

static int tc_filter_put(struct nl *nl, const struct tc_slot *slot, int prog_fd,
			 const char *name, bool replace)
{
	__u32 prog_id;
	int err = tc_filter_send(nl, slot, prog_fd, name, replace, &prog_id);

	if (err)
		return nl_fail(
			nl, err,
			"tc: %s filter '%s' on ifindex %d %s pref %u handle %u",
			replace ? "replace" : "add", name, slot->ifindex,
			tc_dir_name(slot->dir), slot->prio, slot->handle);
	tc_filter_log(slot, name, replace, prog_id);
	return 0;
}

int tc_filter_attach(struct nl *nl, const struct tc_slot *slot, int prog_fd,
		     const char *name)
{
	struct slot_scan s;
	__u32 prog_id;
	int err;

	err = tc_slot_check(slot);
	if (err)
		return err;
	if (!name || !*name ||
	    strlen(name) >= sizeof(((struct tc_filter_info *)0)->name) ||
	    prog_fd < 0)
		return -EINVAL;
	/*
	 * Create first, exclusively: on a free slot (every new pod) that is
	 * one request instead of a dump and a request. Whatever the kernel
	 * refuses (the slot taken, the prio held by another classifier kind
	 * or protocol) takes the careful way below, which tells our filter
	 * from a foreign one and never touches the latter.
	 */
	if (!tc_filter_send(nl, slot, prog_fd, name, false, &prog_id)) {
		tc_filter_log(slot, name, false, prog_id);
		return 0;
	}
	err = tc_slot_scan(nl, slot, &s);
	if (err)
		return err;
	if (s.found && !tc_entry_is(&s.hit, name))
		return pr_ret(
			-EBUSY,
			"tc: ifindex %d %s pref %u handle %u holds a foreign %s filter '%s'; not touching it",
			slot->ifindex, tc_dir_name(slot->dir), slot->prio,
			slot->handle, s.hit.kind, s.hit.info.name);
	/* A prio holds one classifier kind and protocol; ours is bpf/all. */
	if (!s.found && s.prio_kind[0] &&
	    (strcmp(s.prio_kind, "bpf") || s.prio_protocol != htons(ETH_P_ALL)))
		return pr_ret(
			-EBUSY,
			"tc: ifindex %d %s pref %u is used by a foreign %s classifier (protocol 0x%04x); not touching it",
			slot->ifindex, tc_dir_name(slot->dir), slot->prio,
			s.prio_kind, ntohs(s.prio_protocol));
	return tc_filter_put(nl, slot, prog_fd, name, s.found);
}

/* tc filter del dev X ingress|egress pref P handle H protocol all bpf */
int tc_filter_detach(struct nl *nl, const struct tc_slot *slot,
		     const char *expected_name)
{
	struct nlmsghdr *nlh;
	struct slot_scan s;
	int err;

	err = tc_slot_check(slot);
	if (err)
		return err;
	if (!expected_name)
		return -EINVAL;
	err = tc_slot_scan(nl, slot, &s);
	if (err)
		return err;
	if (!s.found)
		return -ENOENT;
	if (!tc_entry_is(&s.hit, expected_name))
		return pr_ret(
			-EBUSY,
			"tc: ifindex %d %s pref %u handle %u holds %s filter '%s', not '%s'; leaving it",
			slot->ifindex, tc_dir_name(slot->dir), slot->prio,
			slot->handle, s.hit.kind, s.hit.info.name,
			expected_name);
	nlh = tc_msg(nl, RTM_DELTFILTER, NLM_F_ACK, slot->ifindex,
		     tc_parent(slot->dir), slot->handle,
		     TC_H_MAKE((__u32)slot->prio << 16, s.hit.protocol));
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	err = nl_talk(nl, nlh, NULL, NULL);
	if (err == -ENOENT) /* someone removed it meanwhile */
		return err;
	if (err)
		return nl_fail(
			nl, err,
			"tc: delete filter '%s' on ifindex %d %s pref %u handle %u",
			expected_name, slot->ifindex, tc_dir_name(slot->dir),
			slot->prio, slot->handle);
	pr_info("tc: detached '%s' from ifindex %d %s pref %u handle %u",
		expected_name, slot->ifindex, tc_dir_name(slot->dir),
		slot->prio, slot->handle);
	return 0;
}

struct filter_list {
	struct tc_filter_info *out;
	int max;
	int count;
	int total;
};

static int filter_list_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct filter_list *l = arg;
	struct tc_entry e;
	int err;

	err = parse_filter(nlh, &e);
	if (err)
		return err;
	/* Skip per-prio header entries (handle 0) and chains other than 0. */
	if (!e.info.handle || e.chain)
		return 0;
	if (l->count < l->max)
		l->out[l->count++] = e.info;
	l->total++;
	return 0;
}

int tc_filter_list(struct nl *nl, int ifindex, enum tc_dir dir,
		   struct tc_filter_info *out, int max)
{
	struct filter_list l = { out, max, 0, 0 };
	int err;

	if (ifindex <= 0 || max < 0 || (max && !out))
		return -EINVAL;
	err = tc_dump_filters(nl, ifindex, dir, 0, filter_list_cb, &l);
	if (err)
		return nl_fail(nl, err, "tc: list filters on ifindex %d %s",
			       ifindex, tc_dir_name(dir));
	if (l.total > l.count)
		pr_debug("tc: ifindex %d %s has %d filters, listed %d", ifindex,
			 tc_dir_name(dir), l.total, l.count);
	return l.count;
}

/* --- policy routing for socket-assign delivery --- */

/* ip [-6] rule add|del fwmark MARK/MASK lookup TABLE pref PRIO */
static int ztunnel_rule(struct nl *nl, int family,
			const struct ztunnel_routing *r, bool add)
{
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;
	int err;

	/* EXCL: without it the kernel adds a duplicate rule each time. */
	nlh = nl_msg(nl, add ? RTM_NEWRULE : RTM_DELRULE,
		     NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0));
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = r->table < 256 ? r->table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, r->rule_prio);
	mnl_attr_put_u32(nlh, FRA_FWMARK, r->mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, r->mask);
	mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	err = nl_talk(nl, nlh, NULL, NULL);
	if ((add && err == -EEXIST) || (!add && err == -ENOENT))
		return 0;
	if (err == -EAFNOSUPPORT) /* booted with ipv6.disable=1 */
		return err;
	if (err)
		return nl_fail(
			nl, err,
			"route: %s %s rule fwmark 0x%x/0x%x lookup %u pref %u",
			add ? "add" : "delete",
			family == AF_INET ? "IPv4" : "IPv6", r->mark, r->mask,
			r->table, r->rule_prio);
	return 0;
}

/* ip [-6] route add|del local 0.0.0.0/0 (::/0) dev lo table TABLE */
static int ztunnel_route(struct nl *nl, int family, int lo, __u32 table,
			 bool add)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int err;

	nlh = nl_msg(nl, add ? RTM_NEWROUTE : RTM_DELROUTE,
		     NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0));
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
	rtm->rtm_type = RTN_LOCAL;
	/* As ip does: delete matches any scope and protocol. */
	rtm->rtm_protocol = add ? RTPROT_BOOT : RTPROT_UNSPEC;
	rtm->rtm_scope = add ? RT_SCOPE_HOST : RT_SCOPE_NOWHERE;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put_u32(nlh, RTA_OIF, (__u32)lo);
	err = nl_talk(nl, nlh, NULL, NULL);
	if ((add && err == -EEXIST) ||
	    (!add && (err == -ESRCH || err == -ENOENT)))
		return 0;
	if (err == -EAFNOSUPPORT)
		return err;
	if (err)
		return nl_fail(nl, err, "route: %s local %s dev lo table %u",
			       add ? "add" : "delete",
			       family == AF_INET ? "0.0.0.0/0" : "::/0", table);
	return 0;
}

static int write_file(const char *path, const char *val)
{
	ssize_t len = (ssize_t)strlen(val);
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, len) != len) {
		err = -errno;
		pr_err("write %s: %s", path, strerror(-err));
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/*
 * sysctl -w net.ipv4.conf.{all,default}.rp_filter=0, in the handle's netns:
 * packets assigned to a local socket arrive on an interface whose reverse
 * path does not point back at it. /proc/sys/net shows the writer's netns.
 */
static const char *const rp_filter_paths[ZT_RP_FILTERS] = {
	"/proc/sys/net/ipv4/conf/all/rp_filter",
	"/proc/sys/net/ipv4/conf/default/rp_filter",
};

static int read_small_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/*
 * Write vals[i] (NULL: leave it) to each rp_filter sysctl in the handle's
 * netns, reading the old values into old[] first when asked.
 */
static int ztunnel_rp_filter_set(struct nl *nl, const char *const *vals,
				 char (*old)[8])
{
	int saved, err, lerr;

	err = netns_enter(nl->netns_fd, &saved);
	if (err)
		return err;
	for (size_t i = 0; !err && i < ZT_RP_FILTERS; i++) {
		if (old)
			err = read_small_file(rp_filter_paths[i], old[i], 8);
		if (!err && vals[i])
			err = write_file(rp_filter_paths[i], vals[i]);
	}
	lerr = netns_leave(saved);
	return err ? err : lerr;
}

static int ztunnel_rp_filter_off(struct nl *nl, struct ztunnel_saved *was)
{
	static const char *const zeros[ZT_RP_FILTERS] = { "0", "0" };
	int err = ztunnel_rp_filter_set(nl, zeros, was->rp_filter);

	was->rp_filter_read = !err;
	return err;
}

static int ztunnel_lo(struct nl *nl, int *lo)
{
	struct link_info li;
	int err;

	err = link_get_by_name(nl, "lo", &li);
	if (err)
		return nl_fail(nl, err, "route: look up lo");
	*lo = li.ifindex;
	return 0;
}

int ztunnel_routing_setup(struct nl *nl, const struct ztunnel_routing *r,
			  struct ztunnel_saved *was)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct link_info li;
	bool v6 = true;
	int lo = 0, err;

	memset(was, 0, sizeof(*was));
	err = ztunnel_lo(nl, &lo);
	if (!err && !link_get_by_index(nl, lo, &li))
		was->lo_was_down = !li.up;
	if (!err)
		err = link_set_up(nl, lo);
	for (size_t i = 0; !err && i < 2; i++) {
		err = ztunnel_rule(nl, families[i], r, true);
		if (!err)
			err = ztunnel_route(nl, families[i], lo, r->table,
					    true);
		if (err == -EAFNOSUPPORT && families[i] == AF_INET6) {
			pr_warn("route: no IPv6 in this kernel; IPv4 only");
			v6 = false;
			err = 0;
		}
	}
	if (!err)
		err = ztunnel_rp_filter_off(nl, was);
	if (err)
		return err;
	pr_info("route: fwmark 0x%x/0x%x lookup %u pref %u, local default dev lo (%s)",
		r->mark, r->mask, r->table, r->rule_prio,
		v6 ? "IPv4 and IPv6" : "IPv4");
	return 0;
}

/* ip link set dev X down */
static int link_set_down(struct nl *nl, int ifindex)
{
	struct nlmsghdr *nlh = nl_msg(nl, RTM_NEWLINK, NLM_F_ACK);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_change = IFF_UP;
	return nl_talk(nl, nlh, NULL, NULL);
}

int ztunnel_routing_restore(struct nl *nl, const struct ztunnel_routing *r,
			    const struct ztunnel_saved *was)
{
	const char *vals[ZT_RP_FILTERS] = { NULL, NULL };
	int err = ztunnel_routing_teardown(nl, r), lo = 0, e2;

	if (was->rp_filter_read) {
		for (size_t i = 0; i < ZT_RP_FILTERS; i++)
			vals[i] = was->rp_filter[i];
		e2 = ztunnel_rp_filter_set(nl, vals, NULL);
		err = err ?: e2;
	}
	if (was->lo_was_down && !ztunnel_lo(nl, &lo)) {
		e2 = link_set_down(nl, lo);
		err = err ?: e2;
	}
	return err;
}

/*
 * Loopback stays up and rp_filter stays off: we do not know what they were
 * before, and neither harms a netns that no longer gets our traffic.
 */
int ztunnel_routing_teardown(struct nl *nl, const struct ztunnel_routing *r)
{
	static const int families[] = { AF_INET, AF_INET6 };
	int lo = 0, err, first = 0;

	err = ztunnel_lo(nl, &lo);
	if (err)
		return err;
	/* Best effort: remove all we can, report the first failure. */
	for (size_t i = 0; i < 2; i++) {
		err = ztunnel_rule(nl, families[i], r, false);
		if (err && err != -EAFNOSUPPORT && !first)
			first = err;
		err = ztunnel_route(nl, families[i], lo, r->table, false);
		if (err && err != -EAFNOSUPPORT && !first)
			first = err;
	}
	return first;
}
