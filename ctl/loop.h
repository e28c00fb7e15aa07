/* SPDX-License-Identifier: GPL-2.0 */
/* What the parts of redirectd's event loop share: the clock, epoll. */
#ifndef REDIRECT_LOOP_H
#define REDIRECT_LOOP_H

#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <sys/epoll.h>

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Watch fd for input; tag comes back in the event's data. */
static inline int epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

#endif
