// SPDX-License-Identifier: GPL-2.0
/*
 * sockcheck's client cases about wake-ups and ends: FIONREAD, late data
 * seen through poll, epoll and a blocking read, the server's epoll wake,
 * resets both ways, and a blocked reader across its own half-close.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_helpers.h"
#include "sockcheck.h"

bool case_fionread(const struct opts *o, struct result *r)
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

bool case_late(const struct opts *o, struct result *r)
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

bool case_wake(const struct opts *o, struct result *r)
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
bool case_reset(const struct opts *o, struct result *r)
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
bool case_rstwatch(const struct opts *o, struct result *r)
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
bool case_blockedfin(const struct opts *o, struct result *r)
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
