/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of sockcheck share (what the tool is: main.c): the
 * deterministic data and its hashes, the reads and writes both ends use,
 * the client's options and result, and each file's entry points.
 *
 *   main.c           usage, options, which subcommand
 *   stream.c         data(seed), SHA-256, reads (poll then recv, or
 *                    --blocking) and writes
 *   server.c         sockcheck serve: one thread per connection, as its
 *                    header line says
 *   client.c         connect, header line, the content cases (sink,
 *                    source, echo, many) and run_case
 *   client_events.c  the wake-up and end cases (fionread, late, wake,
 *                    reset, rstwatch, blockedfin)
 *   keys.c           sockcheck keys: a pinned sockhash's keys
 */
#ifndef SOCKCHECK_H
#define SOCKCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <openssl/evp.h>

#define CHUNK 65536
#define HDR_MAX 128
#define LATE_MSG 100

/* ---- data, hashes, reads and writes (stream.c) ---- */

/* xorshift64*: the same seed gives the same bytes on both ends. */
struct prng {
	uint64_t s;
};

struct hash {
	EVP_MD_CTX *ctx;
	uint64_t n;
};

extern bool blocking; /* --blocking: plain blocking reads */
extern int io_timeout_ms;

void prng_init(struct prng *p, uint64_t seed);
uint64_t prng_next(struct prng *p);
void prng_fill(struct prng *p, unsigned char *buf, size_t n);
void hash_init(struct hash *h);
void hash_add(struct hash *h, const void *buf, size_t n);
void hash_hex(struct hash *h, char *hex);
void data_hex(uint64_t seed, uint64_t n, char *hex);
void sleep_ms(unsigned int ms);
ssize_t xrecv(int fd, void *buf, size_t len, int flags);
int send_data(int fd, uint64_t seed, uint64_t n, size_t max_write,
	      struct prng *sizes);
int read_line(int fd, char *line, size_t len);
int read_exact(int fd, void *buf, size_t n);
int read_hash(int fd, struct hash *h, uint64_t max, unsigned int pause_us);

/* ---- server (server.c) ---- */

extern const char *log_path; /* --log: what the server's reads saw */

int serve(unsigned int port, const char *ready);

/* ---- client (client.c, client_events.c) ---- */

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

bool fail_res(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int client_connect(const struct opts *o, struct result *r);
int send_header(int fd, struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool run_case(const char *name, const struct opts *o, struct result *r);

bool case_fionread(const struct opts *o, struct result *r);
bool case_late(const struct opts *o, struct result *r);
bool case_wake(const struct opts *o, struct result *r);
bool case_reset(const struct opts *o, struct result *r);
bool case_rstwatch(const struct opts *o, struct result *r);
bool case_blockedfin(const struct opts *o, struct result *r);

/* ---- keys of a pinned sockhash (keys.c) ---- */

int dump_keys(const char *pin);

#endif /* SOCKCHECK_H */
