// SPDX-License-Identifier: GPL-2.0
/*
 * sockcheck's client: the connection (--to, --port, --bind-port), the
 * header line, the cases about content (sink, source, echo, many: what
 * arrives is what was sent, SHA-256 checked, through half-closes) and
 * run_case, which picks a case by name.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_helpers.h"
#include "sockcheck.h"

bool fail_res(struct result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	r->ok = false;
	return false;
}

int client_connect(const struct opts *o, struct result *r)
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

int send_header(int fd, struct result *r, const char *fmt, ...)
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

bool run_case(const char *name, const struct opts *o, struct result *r)
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
