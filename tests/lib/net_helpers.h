/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C tests and test tools share for sockets, network namespaces
 * and veth pairs, as the kernel's BPF selftests share network_helpers.h.
 * Packets for BPF_PROG_TEST_RUN are built by packet.h.
 *
 * Every function returns 0, a descriptor, or a negative errno, and keeps
 * no state of its own. Sockets are made SOCK_CLOEXEC and SO_REUSEADDR,
 * IPv6 ones IPV6_V6ONLY (as ztunnel's); a socket type may carry
 * SOCK_NONBLOCK. An address is text of the family given; NULL is the
 * wildcard. Needs no library but libc: the tools link it alone.
 */
#ifndef TESTS_NET_HELPERS_H
#define TESTS_NET_HELPERS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define NET_BACKLOG 16 /* listen() backlog unless sock_opts says */

/* Options of a socket, set before it is bound. Zero: not set. */
struct sock_opts {
	bool transparent; /* IP(V6)_TRANSPARENT: bind to an address not ours */
	bool recv_orig_dst; /* IP(V6)_RECVORIGDSTADDR: see recv_with_orig_dst */
	uint32_t mark; /* SO_MARK */
	int backlog; /* listen() backlog of a server, 0: NET_BACKLOG */
	int timeout_ms; /* SO_RCVTIMEO and SO_SNDTIMEO (connect() too) */
	int rcvbuf, sndbuf; /* SO_RCVBUF, SO_SNDBUF */
};

/* --- addresses --- */

/* addr:port (NULL: the wildcard) as a sockaddr of family; *len its size. */
int make_sockaddr(int family, const char *addr, uint16_t port,
		  struct sockaddr_storage *ss, socklen_t *len);
/* "1.2.3.4:80" or "[fd00::1]:80" into buf; returns buf. */
const char *format_sockaddr(const struct sockaddr_storage *ss, char *buf,
			    size_t len);
int get_local_addr(int fd, struct sockaddr_storage *ss);
int get_peer_addr(int fd, struct sockaddr_storage *ss);
/* The port fd is bound to, host order. */
int get_local_port(int fd);

/* --- sockets --- */

/* A socket with o's options (o may be NULL), not bound. */
int open_socket(int family, int type, const struct sock_opts *o);
int bind_socket(int fd, int family, const char *addr, uint16_t port);
/* open_socket, then bound to addr:port (port 0: any). */
int open_bound_socket(int family, int type, const char *addr, uint16_t port,
		      const struct sock_opts *o);
/* A bound socket, listening when it is a stream one. */
int start_server(int family, int type, const char *addr, uint16_t port,
		 const struct sock_opts *o);
/*
 * Connect fd to addr:port. 0 once connected, and for a non-blocking
 * socket also while the connection is in progress (see wait_connected);
 * -ETIMEDOUT when a blocking one's SO_SNDTIMEO ran out.
 */
int start_connect(int fd, int family, const char *addr, uint16_t port);
/* A socket of server_fd's family and type, connected to it (blocking). */
int connect_to_server(int server_fd, const struct sock_opts *o);
/* The outcome of a non-blocking connect: 0, its error, or -ETIMEDOUT. */
int wait_connected(int fd, int timeout_ms);
/* SO_RCVTIMEO and SO_SNDTIMEO of a socket made elsewhere (accepted). */
int set_socket_timeouts(int fd, int timeout_ms);
/* A connection from server_fd's queue; it blocks as server_fd does. */
int accept_timeout(int server_fd, int timeout_ms);
/* 0 once fd has one of events (poll), -ETIMEDOUT after timeout_ms. */
int wait_fd(int fd, short events, int timeout_ms);
int send_all(int fd, const void *buf, size_t len);
/* sendto addr:port: the bytes sent, or -errno. */
ssize_t send_to_addr(int fd, int family, const char *addr, uint16_t port,
		     const void *buf, size_t len);
/*
 * recvfrom that also gives the original destination of a datagram that
 * was sent elsewhere (a socket with sock_opts.recv_orig_dst); *orig is
 * zeroed when there is none. The length received, or -errno.
 */
ssize_t recv_with_orig_dst(int fd, void *buf, size_t len,
			   struct sockaddr_storage *from,
			   struct sockaddr_storage *orig);
/* Close with RST: no FIN exchange, no TIME_WAIT left behind. */
void close_with_reset(int fd);

/* --- time --- */

uint64_t monotonic_ms(void);

/* --- commands, namespaces, links --- */

/*
 * Run a shell command (ip, tc, sysctl): 0 when it exits 0, else -EIO and
 * the command and its status on stderr.
 */
int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int run_cmd_va(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));
/* unshare(CLONE_NEWNET) and lo up: the caller's own netns from now on. */
int enter_private_netns(void);
/* ip netns add NAME; an fd of /var/run/netns/NAME (for setns). */
int create_netns(const char *name);
/*
 * What `ip netns del NAME` does, without forking: safe in a signal
 * handler. The netns lives on while something still holds it.
 */
int remove_netns(const char *name);
/* ip link set NAME up, in the calling thread's netns. */
int set_link_up(const char *ifname);
/* ip link add NAME type veth peer name PEER; NAME's ifindex. */
int add_veth(const char *name, const char *peer);

#endif /* TESTS_NET_HELPERS_H */
