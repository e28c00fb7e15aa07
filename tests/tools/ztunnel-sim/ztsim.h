/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of ztunnel-sim share (what the fixture is: main.c):
 * the epoll handler every watched object starts with, the listeners and
 * their ids, the counters, the options, and the helpers each file offers
 * the others.
 *
 *   main.c       options, messages, signals, the event loop
 *   addr.c       socket addresses: compare, print, parse
 *   sockets.c    socket options, sockets in a pod's netns, upstream and
 *                reply sockets, the epoll set
 *   listeners.c  which listeners, opened in our netns or each pod's
 *   relay.c      TCP relays: outbound, inbound, tunnel (15008), DNS
 *   udp.c        UDP flows: capture and DNS
 *   stats.c      counters per listener, the JSON, the status file
 */
#ifndef ZTSIM_H
#define ZTSIM_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define BATCH 64 /* accepts or datagrams per wake-up, so no socket starves */
#define UDP_IDLE_MS_DEFAULT 5000
#define ADDRSTR_LEN (INET6_ADDRSTRLEN + 8)
#define MAX_EXPLICIT 16
#define MAX_PODS 64

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

/* Everything registered with epoll starts with one of these. */
struct handler {
	void (*fn)(struct handler *h, uint32_t events);
};

enum lid {
	L_TCP15001,
	L_TCP15006,
	L_TCP15008,
	L_UDP15001,
	L_UDP15006,
	L_DNS,
	L_EXPLICIT,
	L_MAX
};

struct counters {
	uint64_t conns; /* TCP connections accepted or UDP flows opened */
	uint64_t bytes_up; /* client -> server, as delivered */
	uint64_t bytes_down; /* server -> client, as delivered */
	uint64_t errors;
	uint64_t active; /* open now */
};

enum role {
	ROLE_OUTBOUND,
	ROLE_INBOUND,
	ROLE_TUNNEL,
	ROLE_DNS,
	ROLE_UDP,
	ROLE_EXPLICIT
};

struct listener {
	struct handler h;
	int fd;
	int family;
	int type;
	uint16_t port;
	enum role role;
	enum lid id;
	int netns; /* in-pod: the pod's netns, where it listens; else -1 */
	struct sockaddr_storage dest; /* explicit: where its clients go */
};

/* One --explicit PORT=DEST. */
struct explicit_route {
	uint16_t port;
	struct sockaddr_storage dest;
};

/* ---- options (main.c) ---- */

extern bool udp_capture; /* UDP listeners on 15001/15006 too */
extern bool verbose;
extern unsigned int udp_idle_ms;
extern const char *status_path;
extern const char *pod_netns[MAX_PODS];
extern unsigned int npods;
extern struct explicit_route explicit_map[MAX_EXPLICIT];
extern unsigned int nexplicit;

/* ---- messages and time (main.c) ---- */

void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void __attribute__((noreturn)) die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
uint64_t now_ms(void);

/* ---- addresses (addr.c) ---- */

socklen_t sa_len(const struct sockaddr_storage *ss);
uint16_t sa_port(const struct sockaddr_storage *ss);
void sa_set_port(struct sockaddr_storage *ss, uint16_t port);
const void *sa_addr(const struct sockaddr_storage *ss);
bool sa_equal(const struct sockaddr_storage *a,
	      const struct sockaddr_storage *b);
bool sa_unspecified(const struct sockaddr_storage *ss);
const char *sa_str(const struct sockaddr_storage *ss, char *out, size_t len);
int sa_parse(const char *s, struct sockaddr_storage *ss);

/* ---- sockets and the epoll set (sockets.c) ---- */

extern int epfd;
extern int home_netns; /* ours, to come back to after a setns */

int set_int(int fd, int level, int name, int val);
int socket_in(int netns, int family, int type);
int set_transparent(int fd, int family);
int sock_error(int fd);
void close_reset(int fd);
int open_upstream(int type, const struct sockaddr_storage *dst,
		  const struct sockaddr_storage *src, int netns);
int open_reply(const struct sockaddr_storage *from);
void watch(int fd, struct handler *h, uint32_t ev, int op);

/* ---- listeners (listeners.c) ---- */

void listeners_open(void);

/* ---- TCP relays (relay.c) ---- */

void tcp_accept(struct listener *l);
void free_graveyard(void);

/* ---- UDP flows (udp.c) ---- */

void udp_read(struct listener *l);
void flows_expire(uint64_t now);

/* ---- counters and status (stats.c) ---- */

extern const char *const lid_name[L_MAX];
extern struct counters stats[L_MAX];
extern bool stats_dirty;

void count(uint64_t *field, uint64_t n);
int stats_json(char *out, size_t len);
int write_file(const char *path, const char *data, size_t len);
void write_status(void);

#endif /* ZTSIM_H */
