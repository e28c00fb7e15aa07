// SPDX-License-Identifier: GPL-2.0
/*
 * sockmap_load: the load of bench/sockmap.sh. A server and a client that
 * measure what arrives, not what was written: with sockmap a write lands in
 * the next socket's queue at once, so a sender's own count says nothing.
 *
 *   sockmap_load server --port P [--ready FILE]
 *   sockmap_load stream --to ADDR --port P --size B --seconds S
 *   sockmap_load rr     --to ADDR --port P --size B --seconds S
 *
 * stream: the client writes B-byte messages for S seconds, then half-closes;
 * the server counts what it reads until EOF and answers with the count;
 * throughput is that count over the time until the answer came.
 * rr: one B-byte request, the B-byte answer, the next request (one
 * connection, one outstanding), for S seconds.
 * The client prints one JSON object, with its own CPU time (getrusage).
 * The server reads with epoll and non-blocking sockets, as ztunnel does;
 * both set TCP_NODELAY.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define MAX_SIZE 65536
#define HDR_MAX 64

struct opts {
	const char *to, *ready;
	unsigned int port, size, seconds;
};

/* Per connection on the server. */
struct conn {
	int fd;
	bool rr, header_done;
	unsigned int size, got;
	uint64_t bytes;
	char hdr[HDR_MAX];
	unsigned int hdr_len;
};

static uint8_t buf[MAX_SIZE];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, 1000);
			continue;
		}
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* ---- server ---- */

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* The first line: "stream" or "rr SIZE". */
static bool conn_header(struct conn *c, const uint8_t *p, size_t n,
			size_t *used)
{
	size_t i;

	for (i = 0; i < n && c->hdr_len < HDR_MAX - 1; i++) {
		c->hdr[c->hdr_len++] = (char)p[i];
		if (p[i] != '\n')
			continue;
		c->hdr[c->hdr_len] = '\0';
		c->header_done = true;
		c->rr = sscanf(c->hdr, "rr %u", &c->size) == 1 && c->size &&
			c->size <= MAX_SIZE;
		*used = i + 1;
		return true;
	}
	*used = i;
	return c->hdr_len < HDR_MAX - 1;
}

/* rr: answer every complete request with as many bytes. */
static int conn_rr(struct conn *c, size_t n)
{
	c->got += (unsigned int)n;
	while (c->got >= c->size) {
		c->got -= c->size;
		if (write_all(c->fd, buf, c->size))
			return -1;
	}
	return 0;
}

static void conn_event(int ep, struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		size_t used = 0;
		char line[64];

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == 0 && c->header_done && !c->rr) {
			snprintf(line, sizeof(line), "%" PRIu64 "\n", c->bytes);
			write_all(c->fd, line, strlen(line));
		}
		if (n <= 0) {
			conn_close(ep, c);
			return;
		}
		if (!c->header_done && !conn_header(c, buf, (size_t)n, &used)) {
			conn_close(ep, c);
			return;
		}
		n -= (ssize_t)used;
		c->bytes += (uint64_t)n;
		if (c->rr && n > 0 && conn_rr(c, (size_t)n)) {
			conn_close(ep, c);
			return;
		}
	}
}

static int listen_on(int family, unsigned int port)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t len = family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					     sizeof(struct sockaddr_in);
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET6) {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	} else {
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int serve(const struct opts *o)
{
	int lst[2] = { listen_on(AF_INET, o->port),
		       listen_on(AF_INET6, o->port) };
	struct epoll_event ev, evs[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (lst[0] < 0 || lst[1] < 0 || ep < 0) {
		perror("sockmap_load: listen");
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		ev.events = EPOLLIN;
		ev.data.ptr = NULL;
		ev.data.u64 = (uint64_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, lst[i], &ev);
	}
	if (o->ready)
		close(open(o->ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c;
			int fd;

			if (evs[i].data.u64 > 1) {
				conn_event(ep, evs[i].data.ptr);
				continue;
			}
			fd = accept4(lst[evs[i].data.u64], NULL, NULL,
				     SOCK_NONBLOCK | SOCK_CLOEXEC);
			c = fd < 0 ? NULL : calloc(1, sizeof(*c));
			if (!c) {
				if (fd >= 0)
					close(fd);
				continue;
			}
			c->fd = fd;
			nodelay(fd);
			ev.events = EPOLLIN;
			ev.data.ptr = c;
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		}
	}
}

/* ---- client ---- */

static int client_connect(const struct opts *o)
{
	struct sockaddr_storage ss = { 0 };
	bool v6 = strchr(o->to, ':') != NULL;
	socklen_t len = v6 ? sizeof(struct sockaddr_in6) :
			     sizeof(struct sockaddr_in);
	int fd;

	ss.ss_family = v6 ? AF_INET6 : AF_INET;
	if (v6) {
		inet_pton(AF_INET6, o->to,
			  &((struct sockaddr_in6 *)&ss)->sin6_addr);
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(o->port);
	} else {
		inet_pton(AF_INET, o->to,
			  &((struct sockaddr_in *)&ss)->sin_addr);
		((struct sockaddr_in *)&ss)->sin_port = htons(o->port);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len)) {
		perror("sockmap_load: connect");
		exit(1);
	}
	nodelay(fd);
	return fd;
}

/* Wait with poll, then read without blocking: an event loop's read. */
static ssize_t read_some(int fd, void *p, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		ssize_t k;

		if (poll(&pfd, 1, 10000) <= 0)
			return -1;
		k = recv(fd, p, n, MSG_DONTWAIT);
		if (k >= 0 || (errno != EAGAIN && errno != EINTR))
			return k;
	}
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int run_stream(const struct opts *o)
{
	int fd = client_connect(o);
	uint64_t t0, t_end, sent = 0, got = 0;
	char line[64];
	size_t len = 0;
	double c0 = cpu_s();

	write_all(fd, "stream\n", 7);
	t0 = now_ns();
	t_end = t0 + (uint64_t)o->seconds * 1000000000ULL;
	while (now_ns() < t_end) {
		if (write_all(fd, buf, o->size))
			return 1;
		sent += o->size;
	}
	shutdown(fd, SHUT_WR);
	while (len < sizeof(line) - 1) {
		ssize_t k = read_some(fd, line + len, sizeof(line) - 1 - len);

		if (k <= 0)
			break;
		len += (size_t)k;
	}
	line[len] = '\0';
	if (sscanf(line, "%" SCNu64, &got) != 1) {
		fprintf(stderr, "sockmap_load: no count from the server\n");
		return 1;
	}
	t_end = now_ns();
	printf("{\"mode\":\"stream\",\"size\":%u,\"sent\":%" PRIu64
	       ",\"received\":%" PRIu64 ",\"seconds\":%.6f,\"cpu_s\":%.6f}\n",
	       o->size, sent, got, (double)(t_end - t0) / 1e9, cpu_s() - c0);
	close(fd);
	return got == sent ? 0 : 1;
}

static int run_rr(const struct opts *o)
{
	int fd = client_connect(o);
	uint64_t t0, t_end, n = 0;
	double c0 = cpu_s();
	char hdr[HDR_MAX];

	snprintf(hdr, sizeof(hdr), "rr %u\n", o->size);
	write_all(fd, hdr, strlen(hdr));
	t0 = now_ns();
	t_end = t0 + (uint64_t)o->seconds * 1000000000ULL;
	while (now_ns() < t_end) {
		size_t got = 0;

		if (write_all(fd, buf, o->size))
			return 1;
		while (got < o->size) {
			ssize_t k = read_some(fd, buf, o->size - got);

			if (k <= 0) {
				fprintf(stderr,
					"sockmap_load: rr read failed\n");
				return 1;
			}
			got += (size_t)k;
		}
		n++;
	}
	t_end = now_ns();
	printf("{\"mode\":\"rr\",\"size\":%u,\"transactions\":%" PRIu64
	       ",\"seconds\":%.6f,\"cpu_s\":%.6f}\n",
	       o->size, n, (double)(t_end - t0) / 1e9, cpu_s() - c0);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "ready", required_argument, NULL, 'r' },
		{ 0 }
	};
	struct opts o = { .port = 9100, .size = 64, .seconds = 3 };
	int c;

	if (argc < 2)
		goto usage;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			o.to = optarg;
			break;
		case 'p':
			o.port = (unsigned int)atoi(optarg);
			break;
		case 's':
			o.size = (unsigned int)atoi(optarg);
			break;
		case 'S':
			o.seconds = (unsigned int)atoi(optarg);
			break;
		case 'r':
			o.ready = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (!o.size || o.size > MAX_SIZE)
		goto usage;
	memset(buf, 'x', sizeof(buf));
	if (!strcmp(argv[1], "server"))
		return serve(&o);
	if (!o.to)
		goto usage;
	if (!strcmp(argv[1], "stream"))
		return run_stream(&o);
	if (!strcmp(argv[1], "rr"))
		return run_rr(&o);
usage:
	fprintf(stderr, "usage: sockmap_load server --port P [--ready FILE]\n"
			"       sockmap_load stream|rr --to ADDR --port P "
			"--size B --seconds S\n");
	return 2;
}
