// SPDX-License-Identifier: GPL-2.0
/*
 * A small TCP request/response benchmark, netperf TCP_RR style.
 *
 *   rr server [--port P] [--ready FILE]
 *   rr client --to ADDR [--port P] [--conns N] [--size B] [--seconds S]
 *             [--warmup-ms MS]
 *
 * The server echoes every byte back on every connection it accepts (IPv4
 * and IPv6, one epoll loop). The client keeps N connections, each with one
 * B-byte request outstanding: send, wait for the B-byte echo, note the time
 * it took, send the next. After a warm-up that is not counted it runs for
 * S seconds and prints one JSON object: transactions per second and latency
 * percentiles from its own clock (CLOCK_MONOTONIC around each transaction).
 * Both sides set TCP_NODELAY, so no request waits for Nagle.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#define MAX_CONNS 1024
#define MAX_SIZE 65536
#define MAX_EVENTS 64
#define CONNECT_TIMEOUT_MS 5000

struct opts {
	const char *to;
	const char *ready;
	unsigned int port, conns, size, seconds_ms, warmup_ms;
};

struct conn {
	int fd;
	unsigned int got; /* bytes of the current echo received */
	uint64_t sent_ns; /* when the current request went out */
};

struct lat {
	uint32_t *ns; /* one entry per counted transaction */
	size_t n, cap;
};

static uint8_t buf[MAX_SIZE];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) __attribute__((noreturn));

static void die(const char *what)
{
	fprintf(stderr, "rr: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int epoll_watch(int ep, int fd, void *ptr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* --- server --- */

static int listen_any(unsigned int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int zero = 0, one = 1;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		die("socket");
	/* one dual-stack socket takes IPv4 and IPv6 */
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1024))
		die("bind/listen");
	return fd;
}

static void accept_all(int ep, int lfd)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
		nodelay(fd);
		if (epoll_watch(ep, fd, (void *)(intptr_t)(fd + 1)))
			close(fd);
	}
}

/*
 * Write all of it on a non-blocking socket, waiting for room when the send
 * buffer is full (4 KiB and 64 KiB messages need not fit at once).
 */
static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, 1000);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Echo what arrived; a write that cannot finish at once waits for room. */
static void echo(int fd)
{
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			close(fd); /* also leaves the epoll set */
		return;
	}
	if (write_all(fd, buf, (size_t)n))
		close(fd);
}

static int serve(const struct opts *o)
{
	struct epoll_event evs[MAX_EVENTS];
	int ep = epoll_create1(0), lfd = listen_any(o->port);

	if (ep < 0 || epoll_watch(ep, lfd, NULL))
		die("epoll");
	if (o->ready) {
		FILE *f = fopen(o->ready, "w");

		if (!f)
			die(o->ready);
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);

		for (int i = 0; i < n; i++) {
			if (!evs[i].data.ptr)
				accept_all(ep, lfd);
			else
				echo((int)(intptr_t)evs[i].data.ptr - 1);
		}
	}
	return 0;
}

/* --- client --- */

static socklen_t target(const struct opts *o, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, o->to, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)o->port);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, o->to, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)o->port);
		return sizeof(*s6);
	}
	fprintf(stderr, "rr: bad address %s\n", o->to);
	exit(2);
}

/* Blocking connect with a timeout, then non-blocking for the run. */
static int connect_one(const struct sockaddr_storage *ss, socklen_t len)
{
	struct timeval tv = { .tv_sec = CONNECT_TIMEOUT_MS / 1000 };
	int fd = socket(ss->ss_family, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)ss, len))
		die("connect");
	nodelay(fd);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void send_request(struct conn *c, unsigned int size)
{
	c->got = 0;
	c->sent_ns = now_ns();
	/* one request in flight: the echo of this one cannot block us */
	if (write_all(c->fd, buf, size))
		die("write");
}

static void lat_add(struct lat *l, uint64_t ns)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 65536;
		l->ns = realloc(l->ns, l->cap * sizeof(*l->ns));
		if (!l->ns)
			die("realloc");
	}
	l->ns[l->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double pct_us(const struct lat *l, double p)
{
	size_t i;

	if (!l->n)
		return 0;
	i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
	return l->ns[i] / 1000.0;
}

static void report(const struct opts *o, struct lat *l, uint64_t ns)
{
	double s = (double)ns / 1e9;

	qsort(l->ns, l->n, sizeof(*l->ns), cmp_u32);
	printf("{\"to\": \"%s\", \"conns\": %u, \"size\": %u, "
	       "\"seconds\": %.3f, \"transactions\": %zu, \"tps\": %.1f, "
	       "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
	       "\"max_us\": %.1f}\n",
	       o->to, o->conns, o->size, s, l->n, (double)l->n / s,
	       pct_us(l, 50), pct_us(l, 90), pct_us(l, 99), pct_us(l, 100));
}

/* Read what arrived; a complete echo ends one transaction. */
static bool on_readable(struct conn *c, unsigned int size, uint64_t *done_ns)
{
	ssize_t n = read(c->fd, buf, size - c->got);

	if (n == 0) {
		fprintf(stderr, "rr: server closed a connection\n");
		exit(1);
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			die("read");
		return false;
	}
	c->got += (unsigned int)n;
	if (c->got < size)
		return false;
	*done_ns = now_ns();
	return true;
}

static int run_client(const struct opts *o)
{
	static struct conn conns[MAX_CONNS];
	struct epoll_event evs[MAX_EVENTS];
	struct sockaddr_storage ss;
	socklen_t len = target(o, &ss);
	struct lat lat = { 0 };
	uint64_t start, end, t;
	int ep = epoll_create1(0);

	if (ep < 0)
		die("epoll");
	memset(buf, 'r', sizeof(buf));
	for (unsigned int i = 0; i < o->conns; i++) {
		conns[i].fd = connect_one(&ss, len);
		if (epoll_watch(ep, conns[i].fd, &conns[i]))
			die("epoll_ctl");
	}
	start = now_ns() + (uint64_t)o->warmup_ms * 1000000ull;
	end = start + (uint64_t)o->seconds_ms * 1000000ull;
	for (unsigned int i = 0; i < o->conns; i++)
		send_request(&conns[i], o->size);
	while ((t = now_ns()) < end) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, 100);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!on_readable(c, o->size, &t))
				continue;
			if (c->sent_ns >= start && t <= end)
				lat_add(&lat, t - c->sent_ns);
			send_request(c, o->size);
		}
	}
	report(o, &lat, end - start);
	return lat.n ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rr server [--port P] [--ready FILE]\n"
		"       rr client --to ADDR [--port P] [--conns N] [--size B]\n"
		"                 [--seconds S] [--warmup-ms MS]\n");
	exit(2);
}

static unsigned int num(const char *s, unsigned int lo, unsigned int hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (*end || end == s || v < lo || v > hi)
		usage();
	return (unsigned int)v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 's' },
		{ "warmup-ms", required_argument, NULL, 'w' },
		{ "ready", required_argument, NULL, 'r' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			o->to = optarg;
			break;
		case 'p':
			o->port = num(optarg, 1, 65535);
			break;
		case 'c':
			o->conns = num(optarg, 1, MAX_CONNS);
			break;
		case 'b':
			o->size = num(optarg, 1, MAX_SIZE);
			break;
		case 's':
			/* seconds, with up to three decimals */
			o->seconds_ms =
				(unsigned int)(strtod(optarg, NULL) * 1000);
			break;
		case 'w':
			o->warmup_ms = num(optarg, 0, 60000);
			break;
		case 'r':
			o->ready = optarg;
			break;
		default:
			usage();
		}
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .port = 7000,
			  .conns = 1,
			  .size = 64,
			  .seconds_ms = 5000,
			  .warmup_ms = 200 };

	if (argc < 2)
		usage();
	parse(argc - 1, argv + 1, &o);
	if (!strcmp(argv[1], "server"))
		return serve(&o);
	if (strcmp(argv[1], "client") || !o.to || !o.seconds_ms)
		usage();
	return run_client(&o);
}
