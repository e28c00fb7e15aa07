// SPDX-License-Identifier: GPL-2.0
/*
 * sockcheck serve: listens on the wildcard address (IPv4 and IPv6), one
 * detached thread per connection doing what its first line asks (sink,
 * source, echo, fionread, late, wake, reset, rstwatch), a graceful close
 * after, and a --log of what the reads saw.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_helpers.h"
#include "sockcheck.h"

const char *log_path;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_line(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
	va_list ap;
	FILE *f;

	if (!log_path)
		return;
	pthread_mutex_lock(&log_lock);
	f = fopen(log_path, "a");
	if (f) {
		va_start(ap, fmt);
		vfprintf(f, fmt, ap);
		va_end(ap);
		fputc('\n', f);
		fclose(f);
	}
	pthread_mutex_unlock(&log_lock);
}

static void srv_sink(int fd, unsigned long reply, unsigned int delay,
		     unsigned int pause_us)
{
	struct hash h;
	char hex[65], line[128];
	int err;

	hash_init(&h);
	err = read_hash(fd, &h, UINT64_MAX, pause_us);
	hash_hex(&h, hex);
	if (err) {
		log_line("sink: read after %" PRIu64 " bytes: %s", h.n,
			 strerror(-err));
		return;
	}
	sleep_ms(delay);
	snprintf(line, sizeof(line), "%" PRIu64 " %s\n", h.n, hex);
	if (!send_all(fd, line, strlen(line)))
		send_data(fd, h.n + 1, reply, CHUNK, NULL);
}

static void srv_echo(int fd)
{
	char buf[CHUNK];

	for (;;) {
		ssize_t k = xrecv(fd, buf, sizeof(buf), 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || send_all(fd, buf, (size_t)k))
			return;
	}
}

/* Like nginx: ask how much is there, then read exactly that. */
static void srv_fionread(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[CHUNK], line[128];
	int first = -1, after = -1;
	ssize_t got = 0;

	if (send_all(fd, "ready\n", 6) || poll(&pfd, 1, 5000) != 1)
		return;
	sleep_ms(100);
	if (ioctl(fd, FIONREAD, &first) == 0 && first > 0)
		got = recv(fd, buf,
			   (size_t)first < sizeof(buf) ? (size_t)first :
							 sizeof(buf),
			   MSG_DONTWAIT);
	if (ioctl(fd, FIONREAD, &after))
		after = -1;
	snprintf(line, sizeof(line), "fionread %d read %zd after %d\n", first,
		 got, after);
	send_all(fd, line, strlen(line));
}

static void srv_late(int fd, unsigned int delay, unsigned int count)
{
	char msg[LATE_MSG];

	memset(msg, 'L', sizeof(msg));
	for (unsigned int i = 0; i < count; i++) {
		sleep_ms(delay);
		if (send_all(fd, msg, sizeof(msg)))
			return;
	}
}

/* Sleep in epoll_wait until the client's data arrives. */
static void srv_wake(int fd, unsigned int delay)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	uint64_t t0 = monotonic_ms();
	char line[64];
	int ep = epoll_create1(EPOLL_CLOEXEC), n = -1;

	if (ep >= 0 && !epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
		n = epoll_wait(ep, &ev, 1, (int)delay + 3000);
	if (ep >= 0)
		close(ep);
	snprintf(line, sizeof(line), "%s %" PRIu64 "\n",
		 n == 1 && (ev.events & EPOLLIN) ? "woke" : "timeout",
		 monotonic_ms() - t0);
	send_all(fd, line, strlen(line));
}

static void srv_rstwatch(int fd, const char *id)
{
	char buf[CHUNK];
	ssize_t k;

	do
		k = xrecv(fd, buf, sizeof(buf), 0);
	while (k > 0 || (k < 0 && errno == EINTR));
	log_line("rstwatch %s %s", id, k == 0 ? "EOF" : strerror(errno));
}

/*
 * Close gracefully: our FIN, then wait for the client's. Closing with
 * unread bytes would send a reset, which ztunnel passes on at once,
 * dropping what it has not relayed yet.
 */
static void close_graceful(int fd)
{
	char buf[CHUNK];

	shutdown(fd, SHUT_WR);
	while (xrecv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
}

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	unsigned long a = 0, b = 0, c = 0;
	char line[HDR_MAX], id[64];

	set_socket_timeouts(fd, 30 * 1000);
	if (read_line(fd, line, sizeof(line)))
		goto out;
	if (sscanf(line, "sink %lu %lu %lu", &a, &b, &c) >= 2) {
		srv_sink(fd, a, (unsigned int)b, (unsigned int)c);
	} else if (sscanf(line, "source %lu %lu", &a, &b) == 2) {
		send_data(fd, b, a, CHUNK, NULL);
	} else if (!strcmp(line, "echo")) {
		srv_echo(fd);
	} else if (!strcmp(line, "fionread")) {
		srv_fionread(fd);
	} else if (sscanf(line, "late %lu %lu", &a, &b) == 2) {
		srv_late(fd, (unsigned int)a, (unsigned int)b);
	} else if (sscanf(line, "wake %lu", &a) == 1) {
		srv_wake(fd, (unsigned int)a);
	} else if (!strcmp(line, "reset")) {
		if (xrecv(fd, id, 1, 0) == 1) {
			close_with_reset(fd);
			return NULL;
		}
	} else if (sscanf(line, "rstwatch %63s", id) == 1) {
		srv_rstwatch(fd, id);
	}
out:
	close_graceful(fd);
	return NULL;
}

/* A server on the wildcard address of family, as servers of a pod are. */
static int listen_on(int family, unsigned int port)
{
	const struct sock_opts o = { .backlog = 1024 };

	return start_server(family, SOCK_STREAM, NULL, (uint16_t)port, &o);
}

int serve(unsigned int port, const char *ready)
{
	struct pollfd pfd[2];
	pthread_attr_t attr;

	pfd[0].fd = listen_on(AF_INET, port);
	pfd[1].fd = listen_on(AF_INET6, port);
	if (pfd[0].fd < 0 || pfd[1].fd < 0) {
		perror("sockcheck: listen");
		return 1;
	}
	pfd[0].events = pfd[1].events = POLLIN;
	if (ready)
		close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < 2; i++) {
			pthread_t t;
			int fd;

			if (!(pfd[i].revents & POLLIN))
				continue;
			fd = accept4(pfd[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0 && pthread_create(&t, &attr, serve_conn,
						      (void *)(intptr_t)fd))
				close(fd);
		}
	}
}
