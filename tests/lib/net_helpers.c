// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets, network namespaces and veth pairs for the C tests and test
 * tools: see net_helpers.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include "net_helpers.h"

#define NETNS_RUN_DIR "/var/run/netns"

/* --- addresses --- */

int make_sockaddr(int family, const char *addr, uint16_t port,
		  struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		if (addr && inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			return -EINVAL;
		return 0;
	}
	if (family != AF_INET6)
		return -EAFNOSUPPORT;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	*len = sizeof(*s6);
	if (addr && inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
		return -EINVAL;
	return 0;
}

const char *format_sockaddr(const struct sockaddr_storage *ss, char *buf,
			    size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		port = ntohs(s->sin6_port);
	}
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", a,
		 port);
	return buf;
}

int get_local_addr(int fd, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);

	return getsockname(fd, (struct sockaddr *)ss, &len) ? -errno : 0;
}

int get_peer_addr(int fd, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);

	return getpeername(fd, (struct sockaddr *)ss, &len) ? -errno : 0;
}

int get_local_port(int fd)
{
	struct sockaddr_storage ss;
	int err = get_local_addr(fd, &ss);

	if (err)
		return err;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}

/* --- sockets --- */

static int set_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) ? -errno : 0;
}

int set_socket_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	return 0;
}

static int set_opts(int fd, int family, const struct sock_opts *o)
{
	bool v6 = family == AF_INET6;
	int err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);

	if (!err && v6)
		err = set_int(fd, SOL_IPV6, IPV6_V6ONLY, 1);
	if (err || !o)
		return err;
	if (o->transparent)
		err = v6 ? set_int(fd, SOL_IPV6, IPV6_TRANSPARENT, 1) :
			   set_int(fd, SOL_IP, IP_TRANSPARENT, 1);
	if (!err && o->recv_orig_dst)
		err = v6 ? set_int(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, 1) :
			   set_int(fd, SOL_IP, IP_RECVORIGDSTADDR, 1);
	if (!err && o->mark)
		err = set_int(fd, SOL_SOCKET, SO_MARK, (int)o->mark);
	if (!err && o->timeout_ms)
		err = set_socket_timeouts(fd, o->timeout_ms);
	if (!err && o->rcvbuf)
		err = set_int(fd, SOL_SOCKET, SO_RCVBUF, o->rcvbuf);
	if (!err && o->sndbuf)
		err = set_int(fd, SOL_SOCKET, SO_SNDBUF, o->sndbuf);
	return err;
}

int open_socket(int family, int type, const struct sock_opts *o)
{
	int err, fd = socket(family, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	err = set_opts(fd, family, o);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int bind_socket(int fd, int family, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int err = make_sockaddr(family, addr, port, &ss, &len);

	if (err)
		return err;
	return bind(fd, (struct sockaddr *)&ss, len) ? -errno : 0;
}

int open_bound_socket(int family, int type, const char *addr, uint16_t port,
		      const struct sock_opts *o)
{
	int err, fd = open_socket(family, type, o);

	if (fd < 0)
		return fd;
	err = bind_socket(fd, family, addr, port);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int start_server(int family, int type, const char *addr, uint16_t port,
		 const struct sock_opts *o)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	int backlog = o && o->backlog ? o->backlog : NET_BACKLOG;
	int err, fd = open_bound_socket(family, type, addr, port, o);

	if (fd < 0 || base != SOCK_STREAM)
		return fd;
	if (listen(fd, backlog)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int start_connect(int fd, int family, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int err = make_sockaddr(family, addr, port, &ss, &len);

	if (err)
		return err;
	if (!connect(fd, (struct sockaddr *)&ss, len))
		return 0;
	err = -errno;
	if (err != -EINPROGRESS)
		return err;
	/* a blocking connect says so when SO_SNDTIMEO ran out */
	return fcntl(fd, F_GETFL) & O_NONBLOCK ? 0 : -ETIMEDOUT;
}

int connect_to_server(int server_fd, const struct sock_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	int type, err, fd;

	if (getsockopt(server_fd, SOL_SOCKET, SO_TYPE, &type, &len))
		return -errno;
	err = get_local_addr(server_fd, &ss);
	if (err)
		return err;
	fd = open_socket(ss.ss_family, type, o);
	if (fd < 0)
		return fd;
	len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
					sizeof(struct sockaddr_in6);
	if (connect(fd, (struct sockaddr *)&ss, len)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

int wait_connected(int fd, int timeout_ms)
{
	int soerr = 0, err = wait_fd(fd, POLLOUT, timeout_ms);
	socklen_t len = sizeof(soerr);

	if (err)
		return err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return -errno;
	return -soerr;
}

int accept_timeout(int server_fd, int timeout_ms)
{
	int flags = fcntl(server_fd, F_GETFL);
	int fd, err = wait_fd(server_fd, POLLIN, timeout_ms);

	if (err)
		return err;
	if (flags < 0)
		return -errno;
	fd = accept4(server_fd, NULL, NULL,
		     SOCK_CLOEXEC | (flags & O_NONBLOCK ? SOCK_NONBLOCK : 0));
	return fd < 0 ? -errno : fd;
}

int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t send_to_addr(int fd, int family, const char *addr, uint16_t port,
		     const void *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int err = make_sockaddr(family, addr, port, &ss, &sslen);
	ssize_t n;

	if (err)
		return err;
	n = sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sslen);
	return n < 0 ? -errno : n;
}

ssize_t recv_with_orig_dst(int fd, void *buf, size_t len,
			   struct sockaddr_storage *from,
			   struct sockaddr_storage *orig)
{
	char ctrl[256];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_name = from,
			     .msg_namelen = sizeof(*from),
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctrl,
			     .msg_controllen = sizeof(ctrl) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &mh, 0);

	memset(orig, 0, sizeof(*orig));
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t got = cm->cmsg_len - CMSG_LEN(0);

		if ((cm->cmsg_level == SOL_IP &&
		     cm->cmsg_type == IP_ORIGDSTADDR) ||
		    (cm->cmsg_level == SOL_IPV6 &&
		     cm->cmsg_type == IPV6_ORIGDSTADDR))
			memcpy(orig, CMSG_DATA(cm),
			       got < sizeof(*orig) ? got : sizeof(*orig));
	}
	return n;
}

void close_with_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* --- time --- */

uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- commands, namespaces, links --- */

int run_cmd_va(const char *fmt, va_list ap)
{
	char cmd[512];
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	st = system(cmd);
	if (st != -1 && WIFEXITED(st) && !WEXITSTATUS(st))
		return 0;
	fprintf(stderr, "command failed (exit %d): %s\n",
		st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, cmd);
	return -EIO;
}

int run_cmd(const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = run_cmd_va(fmt, ap);
	va_end(ap);
	return err;
}

int set_link_up(const char *ifname)
{
	struct ifreq ifr;
	int err = 0, s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(s, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(s);
	return err;
}

int enter_private_netns(void)
{
	if (unshare(CLONE_NEWNET))
		return -errno;
	return set_link_up("lo");
}

int create_netns(const char *name)
{
	char path[128];
	int fd, err = run_cmd("ip netns add %s", name);

	if (err)
		return err;
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	err = -errno;
	remove_netns(name);
	return err;
}

int remove_netns(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name);
	umount2(path, MNT_DETACH);
	return unlink(path) ? -errno : 0;
}

int add_veth(const char *name, const char *peer)
{
	int err = run_cmd("ip link add %s type veth peer name %s", name, peer);
	unsigned int ifindex;

	if (err)
		return err;
	ifindex = if_nametoindex(name);
	return ifindex ? (int)ifindex : -errno;
}
