// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel-sim's sockets: options, sockets made in a pod's netns (in-pod
 * mode), transparent sockets towards a destination and for UDP replies,
 * resets, and the one epoll set every socket is watched in.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "redirect_abi.h"
#include "ztsim.h"

int epfd = -1;
int home_netns = -1; /* ours, to come back to after a setns */

int set_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) ? -errno : 0;
}

/*
 * socket(2) in another netns (in-pod mode): a socket stays in the netns it
 * was made in, so enter it for the call and come back.
 */
int socket_in(int netns, int family, int type)
{
	int fd, err;

	if (netns < 0)
		return socket(family, type, 0);
	if (setns(netns, CLONE_NEWNET))
		return -1;
	fd = socket(family, type, 0);
	err = errno;
	if (setns(home_netns, CLONE_NEWNET))
		die("setns back home: %s", strerror(errno));
	errno = err;
	return fd;
}

/* Lets a socket bind to, and receive for, addresses that are not ours. */
int set_transparent(int fd, int family)
{
	if (family == AF_INET6)
		return set_int(fd, SOL_IPV6, IPV6_TRANSPARENT, 1);
	return set_int(fd, SOL_IP, IP_TRANSPARENT, 1);
}

int sock_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

/* Closing with linger 0 sends an RST instead of a FIN. */
void close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * A socket towards a destination, carrying ztunnel's mark. With src it is
 * transparent and bound to that foreign address, so the destination sees
 * the original client. SO_REUSEADDR: one client port may talk to several
 * destinations (UDP) and reply sockets share a destination's address.
 */
int open_upstream(int type, const struct sockaddr_storage *dst,
		  const struct sockaddr_storage *src, int netns)
{
	int fd, err;

	fd = socket_in(netns, dst->ss_family,
		       type | SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = set_int(fd, SOL_SOCKET, SO_MARK, ZT_SOCKET_MARK);
	/*
	 * As ztunnel: no Nagle. A relay writes what it read, often a short
	 * tail behind a full segment; Nagle would hold that tail until the
	 * peer's ACK, which a delayed ACK puts off by 40 ms or more.
	 */
	if (!err && type == SOCK_STREAM)
		err = set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
	if (!err && src) {
		err = set_transparent(fd, dst->ss_family);
		if (!err)
			err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
		/* Pick the port at connect time, per 4-tuple. */
		if (!err && type == SOCK_STREAM)
			set_int(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1);
		if (!err && bind(fd, (const struct sockaddr *)src, sa_len(src)))
			err = -errno;
	}
	if (!err && connect(fd, (const struct sockaddr *)dst, sa_len(dst)) &&
	    errno != EINPROGRESS)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Sends UDP replies from the address the client originally asked. */
int open_reply(const struct sockaddr_storage *from)
{
	int fd, err;

	fd = socket(from->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	err = set_int(fd, SOL_SOCKET, SO_MARK, ZT_SOCKET_MARK);
	if (!err)
		err = set_transparent(fd, from->ss_family);
	if (!err)
		err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!err && bind(fd, (const struct sockaddr *)from, sa_len(from)))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

void watch(int fd, struct handler *h, uint32_t ev, int op)
{
	struct epoll_event e = { .events = ev, .data.ptr = h };

	if (epoll_ctl(epfd, op, fd, &e))
		die("epoll_ctl: %s", strerror(errno));
}
