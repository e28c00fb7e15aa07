// SPDX-License-Identifier: GPL-2.0
/*
 * sockcheck's byte streams, the same on both ends: data(seed) from a
 * PRNG, its SHA-256, and the reads and writes of the server and the
 * client (poll then recv, as event loops do, or --blocking; whole lines,
 * exact counts, to EOF while hashing).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net_helpers.h"
#include "sockcheck.h"

/* ---- data and hashes ---- */

void prng_init(struct prng *p, uint64_t seed)
{
	p->s = seed * 0x9e3779b97f4a7c15ULL + 1;
}

uint64_t prng_next(struct prng *p)
{
	p->s ^= p->s >> 12;
	p->s ^= p->s << 25;
	p->s ^= p->s >> 27;
	return p->s * 0x2545f4914f6cdd1dULL;
}

void prng_fill(struct prng *p, unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(prng_next(p) >> 56);
}

void hash_init(struct hash *h)
{
	h->ctx = EVP_MD_CTX_new();
	h->n = 0;
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL))
		abort();
}

void hash_add(struct hash *h, const void *buf, size_t n)
{
	EVP_DigestUpdate(h->ctx, buf, n);
	h->n += n;
}

/* Finish into hex (65 bytes). */
void hash_hex(struct hash *h, char *hex)
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
void data_hex(uint64_t seed, uint64_t n, char *hex)
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

void sleep_ms(unsigned int ms)
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
bool blocking;
int io_timeout_ms = 10000;

ssize_t xrecv(int fd, void *buf, size_t len, int flags)
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
int send_data(int fd, uint64_t seed, uint64_t n, size_t max_write,
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
int read_line(int fd, char *line, size_t len)
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

int read_exact(int fd, void *buf, size_t n)
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
int read_hash(int fd, struct hash *h, uint64_t max, unsigned int pause_us)
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
