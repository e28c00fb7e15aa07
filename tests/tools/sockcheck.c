// SPDX-License-Identifier: GPL-2.0
/*
 * sockcheck: a TCP client and server that check the socket semantics
 * sockmap acceleration must keep: content (SHA-256), half-close, reset,
 * poll/epoll wake-ups, FIONREAD, many connections at once. Used by
 * tests/e2e/test_sockmap.sh through the simulated node and ztunnel-sim.
 *
 *   sockcheck serve --port P [--ready FILE] [--log FILE]
 *   sockcheck CASE --to ADDR --port P [options]    one JSON line; exit 0 ok
 *   sockcheck keys PINNED_SOCKHASH                  the keys, one a line
 *
 * The client's first line tells the server what to do:
 *   sink REPLY DELAY [PAUSE]  read to EOF (PAUSE us after each read);
 *                      after DELAY ms send "<n> <sha256>\n" and REPLY
 *                      bytes of data(seed n + 1), then close
 *   source N SEED      send N bytes of data(SEED), then close
 *   echo               send back everything until EOF, then close
 *   fionread           "ready\n"; wait until readable, 100 ms more, then
 *                      FIONREAD, read that many, FIONREAD again; report
 *   late DELAY COUNT   COUNT times: wait DELAY ms, send 100 bytes
 *   wake DELAY         epoll_wait up to DELAY + 3000 ms for data; report
 *   reset              read one byte, then reset the connection
 *   rstwatch ID        read until an error or EOF; log what it was
 * The header is read one byte at a time so no payload is consumed with it.
 *
 * Reads wait with poll and then recv without blocking, as event-loop
 * programs do; --blocking makes them plain blocking reads instead.
 * Client cases: sink (--reply: data back after our FIN), source, echo
 * (--ready/--go: a second round once told), fionread, late (poll, epoll
 * and blocking-read wake-ups), wake (the server's epoll), reset, rstwatch
 * (we reset; the server logs what its read saw), many (--conns at once),
 * blockedfin (a thread blocked in recv while our FIN is acknowledged).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <openssl/evp.h>

#include "net_helpers.h"
#include "sock_key.h"

#define CHUNK 65536
#define HDR_MAX 128
#define LATE_MSG 100

/* ---- data and hashes ---- */

/* xorshift64*: the same seed gives the same bytes on both ends. */
struct prng {
	uint64_t s;
};

static void prng_init(struct prng *p, uint64_t seed)
{
	p->s = seed * 0x9e3779b97f4a7c15ULL + 1;
}

static uint64_t prng_next(struct prng *p)
{
	p->s ^= p->s >> 12;
	p->s ^= p->s << 25;
	p->s ^= p->s >> 27;
	return p->s * 0x2545f4914f6cdd1dULL;
}

static void prng_fill(struct prng *p, unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(prng_next(p) >> 56);
}

struct hash {
	EVP_MD_CTX *ctx;
	uint64_t n;
};

static void hash_init(struct hash *h)
{
	h->ctx = EVP_MD_CTX_new();
	h->n = 0;
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL))
		abort();
}

static void hash_add(struct hash *h, const void *buf, size_t n)
{
	EVP_DigestUpdate(h->ctx, buf, n);
	h->n += n;
}

/* Finish into hex (65 bytes). */
static void hash_hex(struct hash *h, char *hex)
{
	unsigned char md[32];
	unsigned int len = 0;

	EVP_DigestFinal_ex(h->ctx, md, &len);
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
	for (unsigned int i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
}

/* The hash of n bytes of data(seed), as the other end must see it. */
static void data_hex(uint64_t seed, uint64_t n, char *hex)
{
	unsigned char buf[CHUNK];
	struct prng p;
	struct hash h;

	prng_init(&p, seed);
	hash_init(&h);
	while (n) {
		size_t k = n < CHUNK ? n : CHUNK;

		prng_fill(&p, buf, k);
		hash_add(&h, buf, k);
		n -= k;
	}
	hash_hex(&h, hex);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- socket helpers ---- */

/*
 * Read the way event-loop programs do (ztunnel, nginx, Go, Node): wait
 * for readiness with poll, then a non-blocking recv, again on EAGAIN.
 * With --blocking, a plain blocking recv (bounded by SO_RCVTIMEO).
 */
static bool blocking;
static int io_timeout_ms = 10000;

static ssize_t xrecv(int fd, void *buf, size_t len, int flags)
{
	int64_t deadline = (int64_t)monotonic_ms() + io_timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	if (blocking)
		return recv(fd, buf, len, flags);
	for (;;) {
		int64_t left = deadline - (int64_t)monotonic_ms();
		ssize_t k;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -1;
		k = recv(fd, buf, len, flags | MSG_DONTWAIT);
		if (k >= 0 || (errno != EAGAIN && errno != EINTR))
			return k;
	}
}

/* Send n bytes of data(seed) in writes of 1..max_write bytes. */
static int send_data(int fd, uint64_t seed, uint64_t n, size_t max_write,
		     struct prng *sizes)
{
	unsigned char buf[CHUNK];
	struct prng p;
	int err = 0;

	prng_init(&p, seed);
	if (max_write > CHUNK || !max_write)
		max_write = CHUNK;
	while (n && !err) {
		size_t k = sizes ? 1 + prng_next(sizes) % max_write : max_write;

		if (k > n)
			k = n;
		prng_fill(&p, buf, k);
		err = send_all(fd, buf, k);
		n -= k;
	}
	return err;
}

/* Read a line one byte at a time (never past it). */
static int read_line(int fd, char *line, size_t len)
{
	size_t i = 0;

	while (i + 1 < len) {
		ssize_t k = xrecv(fd, line + i, 1, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ENODATA;
		if (line[i] == '\n') {
			line[i] = '\0';
			return 0;
		}
		i++;
	}
	return -E2BIG;
}

static int read_exact(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t k = xrecv(fd, p, n, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k ? -errno : -ENODATA;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * Read to EOF (or max bytes), hashing, pausing pause_us after each read
 * (a slow reader); returns 0 or -errno.
 */
static int read_hash(int fd, struct hash *h, uint64_t max,
		     unsigned int pause_us)
{
	unsigned char buf[CHUNK];

	while (h->n < max) {
		uint64_t want = max - h->n;
		ssize_t k = xrecv(fd, buf, want < CHUNK ? want : CHUNK, 0);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return 0;
		hash_add(h, buf, (size_t)k);
		if (pause_us)
			usleep(pause_us);
	}
	return 0;
}

/* ---- server ---- */

static const char *log_path;
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

static int serve(unsigned int port, const char *ready)
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

/* ---- client ---- */

struct opts {
	const char *to;
	unsigned int port, bind_port, conns, delay, count, timeout, pause;
	uint64_t bytes, reply, seed, max_bytes;
	size_t max_write;
	const char *ready, *go, *id;
};

struct result {
	bool ok;
	uint64_t sent, received;
	char detail[256];
};

static bool fail_res(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static bool fail_res(struct result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	r->ok = false;
	return false;
}

static int client_connect(const struct opts *o, struct result *r)
{
	const struct sock_opts so = { .timeout_ms = (int)o->timeout * 1000 };
	int family = strchr(o->to, ':') ? AF_INET6 : AF_INET;
	int err, fd = open_socket(family, SOCK_STREAM, &so);

	err = fd < 0 ? fd : 0;
	if (!err && o->bind_port)
		err = bind_socket(fd, family, NULL, (uint16_t)o->bind_port);
	if (!err)
		err = start_connect(fd, family, o->to, (uint16_t)o->port);
	if (!err)
		return fd;
	fail_res(r, "connect: %s", strerror(-err));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int send_header(int fd, struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int send_header(int fd, struct result *r, const char *fmt, ...)
{
	char line[HDR_MAX];
	va_list ap;
	int err;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	err = send_all(fd, line, strlen(line));
	if (err)
		fail_res(r, "send header: %s", strerror(-err));
	return err;
}

/* Data out, SHUT_WR, then the server's verdict and its reply after EOF. */
static bool case_sink(const struct opts *o, uint64_t bytes, uint64_t seed,
		      struct result *r)
{
	char line[HDR_MAX], want[65], got[65];
	struct prng sizes;
	struct hash h;
	uint64_t n;
	int fd = client_connect(o, r), err;

	if (fd < 0)
		return false;
	prng_init(&sizes, seed ^ 0x5eed);
	if (send_header(fd, r, "sink %" PRIu64 " %u %u\n", o->reply, o->delay,
			o->pause))
		goto out;
	err = send_data(fd, seed, bytes, o->max_write, &sizes);
	r->sent = bytes;
	if (err || shutdown(fd, SHUT_WR)) {
		fail_res(r, "send: %s", strerror(err ? -err : errno));
		goto out;
	}
	err = read_line(fd, line, sizeof(line));
	if (err || sscanf(line, "%" SCNu64 " %64s", &n, got) != 2) {
		fail_res(r, "verdict: %s", err ? strerror(-err) : line);
		goto out;
	}
	data_hex(seed, bytes, want);
	if (n != bytes || strcmp(got, want)) {
		fail_res(r, "server got %" PRIu64 " bytes, hash %s", n,
			 strcmp(got, want) ? "differs" : "same");
		goto out;
	}
	hash_init(&h);
	err = read_hash(fd, &h, UINT64_MAX, 0);
	r->received = h.n;
	hash_hex(&h, got);
	data_hex(bytes + 1, o->reply, want);
	if (err || h.n != o->reply || strcmp(got, want))
		fail_res(r,
			 "reply after our FIN: %" PRIu64 " of %" PRIu64
			 " bytes, %s",
			 h.n, o->reply, err ? strerror(-err) : "hash differs");
	else
		r->ok = true;
out:
	close(fd);
	return r->ok;
}

static bool case_source(const struct opts *o, struct result *r)
{
	char want[65], got[65];
	struct hash h;
	int fd = client_connect(o, r), err;

	if (fd < 0 || send_header(fd, r, "source %" PRIu64 " %" PRIu64 "\n",
				  o->bytes, o->seed))
		goto out;
	hash_init(&h);
	err = read_hash(fd, &h, UINT64_MAX, 0);
	r->received = h.n;
	hash_hex(&h, got);
	data_hex(o->seed, o->bytes, want);
	if (err || h.n != o->bytes || strcmp(got, want))
		fail_res(r, "got %" PRIu64 " of %" PRIu64 " bytes, %s", h.n,
			 o->bytes, err ? strerror(-err) : "hash differs");
	else
		r->ok = true;
out:
	if (fd >= 0)
		close(fd);
	return r->ok;
}

/* Send and read at once (the echo would fill the buffers otherwise). */
static int echo_round(int fd, uint64_t seed, uint64_t n, struct result *r)
{
	unsigned char out[CHUNK], in[CHUNK];
	struct pollfd pfd = { .fd = fd };
	uint64_t sent = 0, got = 0;
	struct prng p;
	struct hash h;
	char want[65], hex[65];
	size_t pending = 0, off = 0;

	prng_init(&p, seed);
	hash_init(&h);
	while (got < n) {
		pfd.events = POLLIN | (sent < n ? POLLOUT : 0);
		if (poll(&pfd, 1, 10000) <= 0) {
			hash_hex(&h, hex);
			fail_res(r, "echo stalled at %" PRIu64 " of %" PRIu64,
				 got, n);
			return -1;
		}
		if ((pfd.revents & POLLOUT) && sent < n) {
			ssize_t k;

			if (!pending) {
				pending = n - sent < CHUNK ? n - sent : CHUNK;
				off = 0;
				prng_fill(&p, out, pending);
			}
			k = send(fd, out + off, pending, MSG_DONTWAIT);
			if (k > 0) {
				sent += k;
				off += k;
				pending -= k;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t k = recv(fd, in, sizeof(in), MSG_DONTWAIT);

			if (k <= 0 && !(k < 0 && errno == EAGAIN)) {
				hash_hex(&h, hex);
				fail_res(r, "echo: %s",
					 k ? strerror(errno) : "EOF");
				return -1;
			}
			if (k > 0) {
				hash_add(&h, in, k);
				got += k;
			}
		}
	}
	r->sent += sent;
	r->received += got;
	hash_hex(&h, hex);
	data_hex(seed, n, want);
	if (strcmp(hex, want)) {
		fail_res(r, "echo content differs");
		return -1;
	}
	return 0;
}

static bool wait_file(const char *path, unsigned int secs)
{
	for (unsigned int i = 0; i < secs * 20; i++) {
		if (!access(path, F_OK))
			return true;
		sleep_ms(50);
	}
	return false;
}

static bool case_echo(const struct opts *o, struct result *r)
{
	int fd = client_connect(o, r);
	char c;

	if (fd < 0 || send_header(fd, r, "echo\n") ||
	    echo_round(fd, o->seed, o->bytes, r))
		goto out;
	/* hold: a second round once the test says go */
	if (o->ready) {
		close(open(o->ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		if (!wait_file(o->go, 60)) {
			fail_res(r, "no go file");
			goto out;
		}
		if (echo_round(fd, o->seed + 1, o->bytes, r))
			goto out;
	}
	shutdown(fd, SHUT_WR);
	if (xrecv(fd, &c, 1, 0) != 0)
		fail_res(r, "no EOF after the echo");
	else
		r->ok = true;
out:
	if (fd >= 0)
		close(fd);
	return r->ok;
}

static bool case_fionread(const struct opts *o, struct result *r)
{
	unsigned char buf[CHUNK];
	char line[HDR_MAX];
	int first, after, fd = client_connect(o, r);
	long got;
	struct prng p;

	if (fd < 0 || send_header(fd, r, "fionread\n"))
		goto out;
	if (read_line(fd, line, sizeof(line)) || strcmp(line, "ready")) {
		fail_res(r, "no ready");
		goto out;
	}
	prng_init(&p, o->seed);
	prng_fill(&p, buf, o->bytes < CHUNK ? o->bytes : CHUNK);
	if (o->bytes > CHUNK ||
	    send_all(fd, buf, o->bytes)) { /* one write: one message */
		fail_res(r, "send (at most %d bytes)", CHUNK);
		goto out;
	}
	r->sent = o->bytes;
	if (read_line(fd, line, sizeof(line)) ||
	    sscanf(line, "fionread %d read %ld after %d", &first, &got,
		   &after) != 3) {
		fail_res(r, "no report");
		goto out;
	}
	snprintf(r->detail, sizeof(r->detail), "%s", line);
	r->ok = first == (int)o->bytes && got == (long)o->bytes && !after;
out:
	if (fd >= 0)
		close(fd);
	return r->ok;
}

/* Wait for readability one way or another; false on timeout. */
static bool wait_readable(int fd, int how, int ep, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct epoll_event ev;
	char c;

	switch (how) {
	case 0:
		return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
	case 1:
		return epoll_wait(ep, &ev, 1, ms) == 1 && (ev.events & EPOLLIN);
	default: /* a blocking read that peeks */
		return recv(fd, &c, 1, MSG_PEEK) == 1;
	}
}

static bool case_late(const struct opts *o, struct result *r)
{
	static const char *const how[] = { "poll", "epoll", "blocking recv" };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	int fd = client_connect(o, r), ep = epoll_create1(EPOLL_CLOEXEC);
	char buf[LATE_MSG];

	if (fd < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ||
	    send_header(fd, r, "late %u %u\n", o->delay, o->count))
		goto out;
	for (unsigned int i = 0; i < o->count; i++) {
		uint64_t t0 = monotonic_ms();
		int k = (int)(i % 3);

		if (!wait_readable(fd, k, ep, (int)o->delay + 3000)) {
			fail_res(r, "message %u: %s did not wake up", i,
				 how[k]);
			goto out;
		}
		if (read_exact(fd, buf, sizeof(buf))) {
			fail_res(r, "message %u: short read", i);
			goto out;
		}
		r->received += sizeof(buf);
		if (monotonic_ms() - t0 > o->delay + 1000) {
			fail_res(r, "message %u: %s woke after %" PRIu64 " ms",
				 i, how[k], monotonic_ms() - t0);
			goto out;
		}
	}
	r->ok = true;
out:
	if (ep >= 0)
		close(ep);
	if (fd >= 0)
		close(fd);
	return r->ok;
}

static bool case_wake(const struct opts *o, struct result *r)
{
	char line[HDR_MAX];
	uint64_t ms;
	int fd = client_connect(o, r);

	if (fd < 0 || send_header(fd, r, "wake %u\n", o->delay))
		goto out;
	sleep_ms(o->delay);
	if (send_all(fd, "0123456789", 10) ||
	    read_line(fd, line, sizeof(line))) {
		fail_res(r, "no report");
		goto out;
	}
	snprintf(r->detail, sizeof(r->detail), "server: %s", line);
	r->ok = sscanf(line, "woke %" SCNu64, &ms) == 1 && ms < o->delay + 1000;
out:
	if (fd >= 0)
		close(fd);
	return r->ok;
}

/* The server resets: our read must fail with ECONNRESET, not see EOF. */
static bool case_reset(const struct opts *o, struct result *r)
{
	int fd = client_connect(o, r);
	char buf[64];
	ssize_t k;

	if (fd < 0 || send_header(fd, r, "reset\n") || send_all(fd, "x", 1))
		goto out;
	k = xrecv(fd, buf, sizeof(buf), 0);
	if (k < 0 && errno == ECONNRESET)
		r->ok = true;
	else
		fail_res(r, "read returned %zd (%s), not ECONNRESET", k,
			 k < 0 ? strerror(errno) : "data or EOF");
out:
	if (fd >= 0)
		close(fd);
	return r->ok;
}

/* We reset; the server logs what its blocked read saw. */
static bool case_rstwatch(const struct opts *o, struct result *r)
{
	int fd = client_connect(o, r);

	if (fd < 0 || send_header(fd, r, "rstwatch %s\n", o->id) ||
	    send_all(fd, "0123456789", 10)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	sleep_ms(300);
	close_with_reset(fd);
	r->ok = true;
	return true;
}

struct blocked_read {
	int fd;
	ssize_t n;
	int err;
};

static void *blocked_read(void *arg)
{
	struct blocked_read *b = arg;
	char c;

	b->n = recv(b->fd, &c, 1, 0);
	b->err = errno;
	return NULL;
}

/*
 * A reader blocked in recv while its own half-close is acknowledged must
 * go on waiting for the answer, whatever the read style chosen.
 */
static bool case_blockedfin(const struct opts *o, struct result *r)
{
	struct blocked_read b = { .fd = -1 };
	char line[HDR_MAX];
	pthread_t t;
	int fd = client_connect(o, r);

	if (fd < 0 || send_header(fd, r, "sink 0 %u\n", o->delay) ||
	    send_data(fd, o->seed, o->bytes, CHUNK, NULL))
		goto out;
	r->sent = o->bytes;
	b.fd = fd;
	if (pthread_create(&t, NULL, blocked_read, &b)) {
		fail_res(r, "thread");
		goto out;
	}
	sleep_ms(50);
	shutdown(fd, SHUT_WR);
	pthread_join(t, NULL);
	if (b.n == 1)
		r->ok = true;
	else
		fail_res(r, "the blocked read returned %s",
			 b.n ? (b.err == EAGAIN ? "EAGAIN" : strerror(b.err)) :
			       "EOF");
	/* the rest of the answer either way, so the connection ends cleanly */
	read_line(fd, line, sizeof(line));
out:
	if (fd >= 0)
		close(fd);
	return r->ok;
}

struct many_arg {
	const struct opts *o;
	uint64_t seed;
	struct result r;
};

static void *many_one(void *arg)
{
	struct many_arg *m = arg;
	struct prng p;

	prng_init(&p, m->seed);
	case_sink(m->o, prng_next(&p) % (m->o->max_bytes + 1), m->seed, &m->r);
	return NULL;
}

static bool case_many(const struct opts *o, struct result *r)
{
	struct many_arg *m = calloc(o->conns, sizeof(*m));
	pthread_t *t = calloc(o->conns, sizeof(*t));
	unsigned int started = 0, ok = 0;

	if (!m || !t)
		return fail_res(r, "out of memory");
	for (unsigned int i = 0; i < o->conns; i++) {
		m[i].o = o;
		m[i].seed = o->seed + i;
		if (pthread_create(&t[i], NULL, many_one, &m[i]))
			break;
		started++;
	}
	for (unsigned int i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		ok += m[i].r.ok;
		r->sent += m[i].r.sent;
		r->received += m[i].r.received;
		if (!m[i].r.ok && !r->detail[0])
			snprintf(r->detail, sizeof(r->detail), "conn %u: %s", i,
				 m[i].r.detail);
	}
	r->ok = ok == o->conns;
	if (r->ok)
		snprintf(r->detail, sizeof(r->detail), "%u connections", ok);
	free(m);
	free(t);
	return r->ok;
}

/* ---- keys of a pinned sockhash ---- */

static int dump_keys(const char *pin)
{
	struct sock_key k, *prev = NULL;
	char l[INET6_ADDRSTRLEN], rm[INET6_ADDRSTRLEN];
	int fd = bpf_obj_get(pin);

	if (fd < 0) {
		perror("sockcheck: bpf_obj_get");
		return 1;
	}
	while (!bpf_map_get_next_key(fd, prev, &k)) {
		bool v4 = !k.local.addr[0] && !k.local.addr[1] &&
			  k.local.addr[2] == htonl(0xffff);

		inet_ntop(v4 ? AF_INET : AF_INET6,
			  v4 ? (void *)&k.local.addr[3] : k.local.addr, l,
			  sizeof(l));
		inet_ntop(v4 ? AF_INET : AF_INET6,
			  v4 ? (void *)&k.remote.addr[3] : k.remote.addr, rm,
			  sizeof(rm));
		printf("netns=%llu local=%s:%u remote=%s:%u\n",
		       (unsigned long long)k.netns, l, k.local_port, rm,
		       k.remote_port);
		prev = &k;
	}
	close(fd);
	return 0;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sockcheck serve --port P [--ready FILE] [--log FILE]\n"
		"       sockcheck CASE --to ADDR --port P [--bind-port P]\n"
		"                 [--bytes N] [--reply N] [--delay MS] [--count N]\n"
		"                 [--seed N] [--max-write N] [--conns N]\n"
		"                 [--max-bytes N] [--id ID] [--ready F --go F]\n"
		"                 [--timeout S] [--blocking] [--pause US]\n"
		"       sockcheck keys PINNED_SOCKHASH\n"
		"cases: sink source echo fionread late wake reset rstwatch many\n"
		"       blockedfin\n");
}

static int parse(int argc, char **argv, struct opts *o, const char **ready,
		 const char **logf)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "bind-port", required_argument, NULL, 'B' },
		{ "bytes", required_argument, NULL, 'n' },
		{ "reply", required_argument, NULL, 'R' },
		{ "delay", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 's' },
		{ "max-write", required_argument, NULL, 'w' },
		{ "conns", required_argument, NULL, 'C' },
		{ "max-bytes", required_argument, NULL, 'M' },
		{ "id", required_argument, NULL, 'i' },
		{ "ready", required_argument, NULL, 'r' },
		{ "go", required_argument, NULL, 'g' },
		{ "log", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "blocking", no_argument, NULL, 'b' },
		{ "pause", required_argument, NULL, 'P' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		unsigned long long v = optarg ? strtoull(optarg, NULL, 0) : 0;

		switch (c) {
		case 't':
			o->to = optarg;
			break;
		case 'p':
			o->port = (unsigned int)v;
			break;
		case 'B':
			o->bind_port = (unsigned int)v;
			break;
		case 'n':
			o->bytes = v;
			break;
		case 'R':
			o->reply = v;
			break;
		case 'd':
			o->delay = (unsigned int)v;
			break;
		case 'c':
			o->count = (unsigned int)v;
			break;
		case 's':
			o->seed = v;
			break;
		case 'w':
			o->max_write = (size_t)v;
			break;
		case 'C':
			o->conns = (unsigned int)v;
			break;
		case 'M':
			o->max_bytes = v;
			break;
		case 'i':
			o->id = optarg;
			break;
		case 'r':
			*ready = optarg;
			break;
		case 'g':
			o->go = optarg;
			break;
		case 'l':
			*logf = optarg;
			break;
		case 'T':
			o->timeout = (unsigned int)v;
			break;
		case 'b':
			blocking = true;
			break;
		case 'P':
			o->pause = (unsigned int)v;
			break;
		default:
			return -1;
		}
	}
	o->ready = *ready;
	io_timeout_ms = (int)o->timeout * 1000;
	return optind == argc ? 0 : -1;
}

static bool run_case(const char *name, const struct opts *o, struct result *r)
{
	if (!strcmp(name, "sink"))
		return case_sink(o, o->bytes, o->seed, r);
	if (!strcmp(name, "source"))
		return case_source(o, r);
	if (!strcmp(name, "echo"))
		return case_echo(o, r);
	if (!strcmp(name, "fionread"))
		return case_fionread(o, r);
	if (!strcmp(name, "late"))
		return case_late(o, r);
	if (!strcmp(name, "wake"))
		return case_wake(o, r);
	if (!strcmp(name, "reset"))
		return case_reset(o, r);
	if (!strcmp(name, "rstwatch"))
		return case_rstwatch(o, r);
	if (!strcmp(name, "many"))
		return case_many(o, r);
	if (!strcmp(name, "blockedfin"))
		return case_blockedfin(o, r);
	return fail_res(r, "unknown case %s", name);
}

int main(int argc, char **argv)
{
	struct opts o = { .count = 3,
			  .delay = 300,
			  .seed = 1,
			  .timeout = 10,
			  .conns = 50,
			  .max_bytes = 200000,
			  .id = "-" };
	const char *ready = NULL;
	struct result r = { 0 };

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "keys"))
		return argc == 3 ? dump_keys(argv[2]) : 2;
	if (parse(argc - 1, argv + 1, &o, &ready, &log_path) || !o.port) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "serve"))
		return serve(o.port, ready);
	if (!o.to) {
		usage(stderr);
		return 2;
	}
	run_case(argv[1], &o, &r);
	printf("{\"case\":\"%s\",\"ok\":%s,\"sent\":%" PRIu64
	       ",\"received\":%" PRIu64 ",\"detail\":\"%s\"}\n",
	       argv[1], r.ok ? "true" : "false", r.sent, r.received, r.detail);
	return r.ok ? 0 : 1;
}
