// SPDX-License-Identifier: GPL-2.0
/*
 * The network namespaces the core opens: a request's (its fd, checked, or
 * its path, opened off the event loop for it) and the journal's paths
 * (opened with a time bound): daemon_netns.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "daemon_netns.h"

int daemon_netns_open(struct daemon *d, const char *path)
{
	return d->opts.open_journaled ? d->opts.open_journaled(path) :
					netns_open(path);
}

/*
 * The netns behind a request's path: opened for it off the event loop
 * (opts.defer_paths: c->path), or here and now (tests, the fuzzer).
 */
static int netns_by_path(const struct conn_ctx *c, const char *path)
{
	int fd;

	if (!c || !c->path.ready)
		return netns_open(path);
	if (c->path.fd < 0)
		return c->path.fd;
	fd = fcntl(c->path.fd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/*
 * With a passed fd, a path (journaled, reopened at the next start) must
 * name that same namespace, or a request could journal a path that is
 * not what it enrolled.
 */
static int check_fd_path(const struct conn_ctx *c, const char *path,
			 int given_fd)
{
	int fd, same;

	if (!path[0])
		return 0;
	fd = netns_by_path(c, path);
	if (fd < 0)
		return fd;
	same = netns_same(fd, given_fd);
	close(fd);
	return same == 1 ? 0 : same < 0 ? same : -EXDEV;
}

/*
 * The request's netns: the fd it carried (SCM_RIGHTS, found to be a netns
 * by redirectd before), checked as netns_open checks a path, or the path
 * opened; *opened: ours to close.
 */
int open_netns(const struct conn_ctx *c, const char *path, int given_fd,
	       int *opened)
{
	int err;

	*opened = -1;
	if (given_fd >= 0) {
		err = netns_check_fd(given_fd);
		if (!err)
			err = check_fd_path(c, path, given_fd);
		return err ? err : given_fd;
	}
	*opened = netns_by_path(c, path);
	return *opened;
}

const char *netns_error(int err)
{
	if (err == -EXDEV)
		return "not the namespace of the fd sent with it";
	if (err == -EINVAL)
		return "not a network namespace";
	if (err == -ETIMEDOUT)
		return "did not resolve in time (its filesystem does not "
		       "answer); nothing changed";
	if (err == -EBUSY)
		return "too many netns paths are being resolved; retry later";
	return strerror(-err);
}

const char *netns_name(const char *path)
{
	return path && path[0] ? path : "(passed as fd)";
}
