// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel-sim: a TEST FIXTURE that stands in for ztunnel on one node.
 * It is NOT ztunnel: no HBONE, no mTLS, no identities, no policy. It only
 * does what the datapath tests need from the socket side of the node proxy:
 *
 *   tcp 15001  outbound capture: re-enters itself through its own 15008
 *              with a plain-text header line, like ztunnel's HBONE hop
 *   tcp 15006  inbound plaintext capture: straight to the original destination
 *   tcp 15008  tunnel ("CONNECT dst=IP:PORT src=IP:PORT\n", then bytes)
 *   udp 15001, udp 15006  UDP capture, one pair of sockets per flow; only
 *              with --udp-capture: Istio's ztunnel has no UDP listener but
 *              DNS, and without one such UDP would be dropped here
 *   udp+tcp 15053  DNS capture: forwarded to the original server, port 53
 *
 * Two more modes, for the benchmarks (bench/mesh.sh), with the same relay
 * code and the same tunnel hop through a 15008:
 *
 *   --explicit PORT=DEST  no interception: a client dials the proxy on PORT
 *              on purpose; the connection takes the outbound path (our own
 *              15008, header, then DEST), and the tunnel dials DEST from
 *              the proxy's own address (the header's src is unspecified).
 *   --pod-netns PATH  Istio's in-pod mode: the listeners (tcp 15001, 15006,
 *              15008, 15053) are opened inside each pod's netns (setns)
 *              instead of our own, and every socket a connection needs is
 *              made in the netns of the listener that accepted it. 15001
 *              gets REDIRECTed connections: the original destination is
 *              SO_ORIGINAL_DST (IP6T_SO_ORIGINAL_DST); its tunnel hop goes
 *              to the destination's own 15008 (in the destination pod's
 *              netns, TPROXYed there), as ztunnel's HBONE does. 15006 and
 *              15008 get TPROXYed ones: the local address.
 *
 * Run it inside ztunnel's network namespace. Captured packets arrive with
 * their original destination (bpf_sk_assign, or TPROXY in tests), so every
 * listener is transparent and the original destination of a TCP connection
 * is simply getsockname(). Connections towards the destination are
 * transparent too, bound to the original client's address, so the server
 * sees the real client; they carry ztunnel's socket mark.
 *
 * Counters per listener go to stdout (one JSON line per SIGUSR1) and to the
 * --status file, rewritten atomically at most every 100 ms and at exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "redirect_abi.h"

#define BUF_SIZE (64 * 1024) /* per direction of a TCP relay */
#define HDR_MAX 512 /* longest tunnel header line accepted */
#define MAX_EVENTS 64
#define BATCH 64 /* accepts or datagrams per wake-up, so no socket starves */
#define STATUS_INTERVAL_MS 100
#define TICK_MS 100
#define MAX_FLOWS 4096
#define UDP_IDLE_MS_DEFAULT 5000
#define ADDRSTR_LEN (INET6_ADDRSTRLEN + 8)
#define MAX_EXPLICIT 16
#define MAX_PODS 64
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */
#endif

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

static const char *const lid_name[L_MAX] = {
	[L_TCP15001] = "tcp15001", [L_TCP15006] = "tcp15006",
	[L_TCP15008] = "tcp15008", [L_UDP15001] = "udp15001",
	[L_UDP15006] = "udp15006", [L_DNS] = "dns15053",
	[L_EXPLICIT] = "explicit",
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

struct buf {
	size_t off, len; /* pending bytes are data[off, len) */
	char data[BUF_SIZE];
};

enum { CLI = 0, SRV = 1 };

struct relay;

struct side {
	struct handler h;
	struct relay *r;
	int fd;
	uint32_t ev; /* events registered with epoll, 0: none yet */
	bool eof; /* read EOF: nothing more will come from this side */
	bool shut; /* we sent this side our FIN */
	bool connecting;
};

struct relay {
	struct side s[2];
	struct buf b[2]; /* b[i] was read from s[i] and goes to s[!i] */
	enum lid id;
	bool dead;
	bool want_header; /* tunnel: the first line names the destination */
	size_t uncounted; /* our own header at the front of b[CLI] */
	int netns; /* in-pod: the netns its sockets are made in; else -1 */
	bool explicit_src; /* the tunnel dials from our own address */
	struct sockaddr_storage client, orig;
	struct relay *next_dead;
};

struct udp_flow {
	struct handler h;
	struct udp_flow *next;
	enum lid id;
	struct sockaddr_storage client, orig;
	int fwd; /* connected to the destination */
	int reply; /* bound to the original destination, sends to the client */
	uint64_t last_ms;
};

static struct counters stats[L_MAX];
static bool stats_dirty;
static bool udp_capture; /* UDP listeners on 15001/15006 too */
static bool verbose;
static int epfd = -1;
static unsigned int udp_idle_ms = UDP_IDLE_MS_DEFAULT;
static const char *status_path;
static const char *ready_path;
static struct relay *graveyard; /* closed in this batch, freed after it */
static struct udp_flow *flows;
static unsigned int nflows;
static char pkt[65536]; /* one datagram at a time */
static int home_netns = -1; /* ours, to come back to after a setns */
static const char *pod_netns[MAX_PODS];
static unsigned int npods;
static struct {
	uint16_t port;
	struct sockaddr_storage dest;
} explicit_map[MAX_EXPLICIT];
static unsigned int nexplicit;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ztunnel-sim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void __attribute__((noreturn)) die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ztunnel-sim: fatal: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(uint64_t *field, uint64_t n)
{
	*field += n;
	stats_dirty = true;
}

/* ---- addresses ---- */

static socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					   sizeof(struct sockaddr_in);
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
}

static const void *sa_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return &((const struct sockaddr_in *)ss)->sin_addr;
}

static bool sa_equal(const struct sockaddr_storage *a,
		     const struct sockaddr_storage *b)
{
	size_t alen = a->ss_family == AF_INET6 ? 16 : 4;

	return a->ss_family == b->ss_family && sa_port(a) == sa_port(b) &&
	       !memcmp(sa_addr(a), sa_addr(b), alen);
}

/* "1.2.3.4:80" or "[fd00::1]:80", the form the tunnel header uses. */
static const char *sa_str(const struct sockaddr_storage *ss, char *out,
			  size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(ss->ss_family, sa_addr(ss), ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(out, len, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		 sa_port(ss));
	return out;
}

static int sa_parse(const char *s, struct sockaddr_storage *ss)
{
	const char *start = s, *end, *colon;
	char ip[INET6_ADDRSTRLEN], *ep;
	bool v6 = *s == '[';
	unsigned long port;
	size_t len;

	if (v6) {
		start = s + 1;
		end = strchr(start, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		end = colon;
	}
	len = end - start;
	if (!len || len >= sizeof(ip) || !colon[1])
		return -EINVAL;
	memcpy(ip, start, len);
	ip[len] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &ep, 10);
	if (errno || *ep || port > 65535)
		return -EINVAL;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = v6 ? AF_INET6 : AF_INET;
	if (inet_pton(ss->ss_family, ip, (void *)sa_addr(ss)) != 1)
		return -EINVAL;
	sa_set_port(ss, port);
	return 0;
}

/* ---- sockets ---- */

static int set_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) ? -errno : 0;
}

/*
 * socket(2) in another netns (in-pod mode): a socket stays in the netns it
 * was made in, so enter it for the call and come back.
 */
static int socket_in(int netns, int family, int type)
{
	int fd, err;

	if (netns < 0)
		return socket(family, type, 0);
	if (setns(netns, CLONE_NEWNET))
		return -1;
	fd = socket(family, type, 0);
	err = errno;
	if (setns(home_netns, CLONE_NEWNET))
		die("setns back home: %s", strerror(errno));
	errno = err;
	return fd;
}

static bool sa_unspecified(const struct sockaddr_storage *ss)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (ss->ss_family == AF_INET6)
		return !memcmp(sa_addr(ss), &any6, sizeof(any6));
	return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == 0;
}

/* Lets a socket bind to, and receive for, addresses that are not ours. */
static int set_transparent(int fd, int family)
{
	if (family == AF_INET6)
		return set_int(fd, SOL_IPV6, IPV6_TRANSPARENT, 1);
	return set_int(fd, SOL_IP, IP_TRANSPARENT, 1);
}

static int sock_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

/* Closing with linger 0 sends an RST instead of a FIN. */
static void close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/*
 * A socket towards a destination, carrying ztunnel's mark. With src it is
 * transparent and bound to that foreign address, so the destination sees
 * the original client. SO_REUSEADDR: one client port may talk to several
 * destinations (UDP) and reply sockets share a destination's address.
 */
static int open_upstream(int type, const struct sockaddr_storage *dst,
			 const struct sockaddr_storage *src, int netns)
{
	int fd, err;

	fd = socket_in(netns, dst->ss_family,
		       type | SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = set_int(fd, SOL_SOCKET, SO_MARK, ZT_SOCKET_MARK);
	if (!err && src) {
		err = set_transparent(fd, dst->ss_family);
		if (!err)
			err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
		/* Pick the port at connect time, per 4-tuple. */
		if (!err && type == SOCK_STREAM)
			set_int(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1);
		if (!err && bind(fd, (const struct sockaddr *)src, sa_len(src)))
			err = -errno;
	}
	if (!err && connect(fd, (const struct sockaddr *)dst, sa_len(dst)) &&
	    errno != EINPROGRESS)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Sends UDP replies from the address the client originally asked. */
static int open_reply(const struct sockaddr_storage *from)
{
	int fd, err;

	fd = socket(from->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	err = set_int(fd, SOL_SOCKET, SO_MARK, ZT_SOCKET_MARK);
	if (!err)
		err = set_transparent(fd, from->ss_family);
	if (!err)
		err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!err && bind(fd, (const struct sockaddr *)from, sa_len(from)))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static void watch(int fd, struct handler *h, uint32_t ev, int op)
{
	struct epoll_event e = { .events = ev, .data.ptr = h };

	if (epoll_ctl(epfd, op, fd, &e))
		die("epoll_ctl: %s", strerror(errno));
}

/* ---- TCP relays ---- */

static size_t buf_pending(const struct buf *b)
{
	return b->len - b->off;
}

static size_t buf_space(struct buf *b)
{
	if (b->off == b->len) {
		b->off = b->len = 0;
	} else if (b->len == BUF_SIZE && b->off) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	return BUF_SIZE - b->len;
}

static void relay_log(const struct relay *r, const char *what, int err)
{
	char c[ADDRSTR_LEN], o[ADDRSTR_LEN];

	logmsg("%s %s -> %s: %s%s%s", lid_name[r->id],
	       sa_str(&r->client, c, sizeof(c)), sa_str(&r->orig, o, sizeof(o)),
	       what, err ? ": " : "", err ? strerror(err) : "");
}

static void relay_close(struct relay *r, bool reset)
{
	for (int i = 0; i < 2; i++) {
		if (r->s[i].fd < 0)
			continue;
		if (reset)
			close_reset(r->s[i].fd);
		else
			close(r->s[i].fd); /* also leaves the epoll set */
		r->s[i].fd = -1;
	}
	r->dead = true;
	r->next_dead = graveyard;
	graveyard = r;
	stats[r->id].active--;
	stats_dirty = true;
	if (verbose && !reset)
		relay_log(r, "closed", 0);
}

/* Any failure resets both sides: the client learns the flow broke. */
static void relay_abort(struct relay *r, const char *what, int err)
{
	relay_log(r, what, err);
	count(&stats[r->id].errors, 1);
	relay_close(r, true);
}

static void relay_count(struct relay *r, int from, size_t n)
{
	size_t skip;

	if (from == SRV) {
		count(&stats[r->id].bytes_down, n);
		return;
	}
	skip = n < r->uncounted ? n : r->uncounted;
	r->uncounted -= skip;
	if (n > skip)
		count(&stats[r->id].bytes_up, n - skip);
}

/* Writes what was read from side `from` to the other side. */
static int relay_flush(struct relay *r, int from)
{
	struct side *to = &r->s[!from];
	struct buf *b = &r->b[from];
	ssize_t n;

	while (buf_pending(b) && to->fd >= 0 && !to->connecting) {
		n = write(to->fd, b->data + b->off, buf_pending(b));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			relay_abort(r,
				    to == &r->s[CLI] ? "write to client" :
						       "write to server",
				    errno);
			return -1;
		}
		b->off += n;
		relay_count(r, from, n);
	}
	return 0;
}

static int relay_connect(struct relay *r, const struct sockaddr_storage *dst,
			 const struct sockaddr_storage *src)
{
	struct sockaddr_storage bind_to;
	int fd;

	if (src) {
		bind_to = *src;
		sa_set_port(&bind_to, 0);
		src = &bind_to;
	}
	fd = open_upstream(SOCK_STREAM, dst, src, r->netns);
	if (fd < 0) {
		relay_abort(r, "connect", -fd);
		return -1;
	}
	r->s[SRV].fd = fd;
	r->s[SRV].connecting = true; /* writable once connected */
	if (verbose) {
		char d[ADDRSTR_LEN];

		logmsg("%s connecting to %s", lid_name[r->id],
		       sa_str(dst, d, sizeof(d)));
	}
	return 0;
}

/* "CONNECT dst=IP:PORT src=IP:PORT" */
static int parse_header(const char *line, struct sockaddr_storage *dst,
			struct sockaddr_storage *src)
{
	char d[64], s[64];
	int end = -1;

	if (sscanf(line, "CONNECT dst=%63s src=%63s %n", d, s, &end) != 2 ||
	    end < 0 || line[end])
		return -EINVAL;
	if (sa_parse(d, dst) || sa_parse(s, src))
		return -EINVAL;
	if (dst->ss_family != src->ss_family || !sa_port(dst))
		return -EINVAL;
	return 0;
}

/* Tunnel: once the header line is complete, connect where it says. */
static int tunnel_header(struct relay *r)
{
	struct buf *b = &r->b[CLI];
	char *line = b->data + b->off;
	struct sockaddr_storage dst, src;
	char *nl;

	nl = memchr(line, '\n', buf_pending(b));
	if (!nl) {
		if (buf_pending(b) < HDR_MAX)
			return 0;
		relay_abort(r, "tunnel header too long", 0);
		return -1;
	}
	*nl = '\0';
	if (nl > line && nl[-1] == '\r')
		nl[-1] = '\0';
	if (nl - line >= HDR_MAX || parse_header(line, &dst, &src)) {
		relay_abort(r, "bad tunnel header", 0);
		return -1;
	}
	b->off = nl + 1 - b->data;
	r->want_header = false;
	r->client = src;
	r->orig = dst;
	/* src unspecified: an explicit client, dialled from our address */
	return relay_connect(r, &dst, sa_unspecified(&src) ? NULL : &src);
}

static int relay_read(struct relay *r, int x)
{
	struct buf *b = &r->b[x];
	size_t space = buf_space(b);
	ssize_t n;

	if (!space)
		return 0;
	n = read(r->s[x].fd, b->data + b->len, space);
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		relay_abort(r,
			    x == CLI ? "read from client" : "read from server",
			    errno);
		return -1;
	}
	if (n == 0) {
		r->s[x].eof = true;
		if (!r->want_header)
			return 0;
		relay_abort(r, "EOF before tunnel header", 0);
		return -1;
	}
	b->len += n;
	return r->want_header ? tunnel_header(r) : 0;
}

static uint32_t side_wants(struct relay *r, int x)
{
	struct side *sd = &r->s[x];
	uint32_t ev = 0;

	if (sd->connecting)
		return EPOLLOUT;
	if (!sd->eof && buf_space(&r->b[x]))
		ev |= EPOLLIN;
	if (buf_pending(&r->b[!x]))
		ev |= EPOLLOUT;
	/*
	 * Nothing wanted: stay registered edge-triggered so an RST still
	 * shows up (as EPOLLERR) without a hang-up spinning the loop.
	 */
	return ev ? ev : EPOLLET;
}

static void side_watch(struct relay *r, int x)
{
	struct side *sd = &r->s[x];
	uint32_t ev;

	if (sd->fd < 0)
		return;
	ev = side_wants(r, x);
	if (ev == sd->ev)
		return;
	watch(sd->fd, &sd->h, ev, sd->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD);
	sd->ev = ev;
}

/* Moves bytes, propagates half-closes, finishes or re-arms the relay. */
static void relay_update(struct relay *r)
{
	for (int d = 0; d < 2; d++) {
		struct side *to = &r->s[!d];

		if (relay_flush(r, d))
			return;
		if (r->s[d].eof && !buf_pending(&r->b[d]) && to->fd >= 0 &&
		    !to->connecting && !to->shut) {
			shutdown(to->fd, SHUT_WR);
			to->shut = true;
		}
	}
	if (r->s[CLI].shut && r->s[SRV].shut && r->s[CLI].eof &&
	    r->s[SRV].eof) {
		relay_close(r, false);
		return;
	}
	side_watch(r, CLI);
	side_watch(r, SRV);
}

static void side_event(struct handler *h, uint32_t events)
{
	struct side *sd = container_of(h, struct side, h);
	struct relay *r = sd->r;
	int x = sd == &r->s[CLI] ? CLI : SRV;
	int err;

	if (r->dead)
		return;
	if (events & EPOLLERR) {
		err = sock_error(sd->fd);
		if (err) {
			relay_abort(r,
				    sd->connecting ? "connect" :
				    x == CLI	   ? "client socket" :
						     "server socket",
				    err);
			return;
		}
	}
	if (sd->connecting) {
		if (!(events & (EPOLLOUT | EPOLLHUP)))
			return;
		sd->connecting = false;
		if (verbose)
			relay_log(r, "connected", 0);
	} else if ((events & (EPOLLIN | EPOLLHUP)) && (sd->ev & EPOLLIN)) {
		if (relay_read(r, x))
			return;
	}
	relay_update(r);
}

/*
 * Outbound: like ztunnel, go through a 15008 with a header: our own (in
 * our netns), or in-pod the destination's.
 */
static int outbound_start(struct relay *r)
{
	struct sockaddr_storage tun = { .ss_family = r->orig.ss_family };
	char d[ADDRSTR_LEN], s[ADDRSTR_LEN];
	struct buf *b = &r->b[CLI];
	int n;

	struct sockaddr_storage src = r->client;

	if (r->netns >= 0) /* in-pod: the destination's own 15008 */
		tun = r->orig;
	else if (tun.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&tun)->sin6_addr = in6addr_loopback;
	else
		((struct sockaddr_in *)&tun)->sin_addr.s_addr =
			htonl(INADDR_LOOPBACK);
	sa_set_port(&tun, ZT_PORT_HBONE);
	if (r->explicit_src) { /* unspecified: from the proxy's address */
		memset(&src, 0, sizeof(src));
		src.ss_family = r->orig.ss_family;
	}
	n = snprintf(b->data, BUF_SIZE, "CONNECT dst=%s src=%s\n",
		     sa_str(&r->orig, d, sizeof(d)),
		     sa_str(&src, s, sizeof(s)));
	b->len = n;
	r->uncounted = n;
	return relay_connect(r, &tun, NULL);
}

static void relay_start(const struct listener *l, int fd,
			const struct sockaddr_storage *peer)
{
	socklen_t len = sizeof(struct sockaddr_storage);
	struct sockaddr_storage dst;
	struct relay *r;
	int err = 0;

	count(&stats[l->id].conns, 1);
	r = calloc(1, sizeof(*r));
	if (!r) {
		logmsg("%s: out of memory", lid_name[l->id]);
		count(&stats[l->id].errors, 1);
		close_reset(fd);
		return;
	}
	stats[l->id].active++;
	for (int i = 0; i < 2; i++) {
		r->s[i].h.fn = side_event;
		r->s[i].r = r;
		r->s[i].fd = -1;
	}
	r->s[CLI].fd = fd;
	r->id = l->id;
	r->netns = l->netns;
	r->client = *peer;
	if (l->role == ROLE_EXPLICIT) {
		r->orig = l->dest;
		r->explicit_src = true;
	} else if (l->netns >= 0 && l->role == ROLE_OUTBOUND) {
		/* REDIRECTed: the local address is the loopback's */
		bool v6 = peer->ss_family == AF_INET6;

		len = sa_len(peer);
		memset(&r->orig, 0, sizeof(r->orig));
		if (getsockopt(fd, v6 ? SOL_IPV6 : SOL_IP,
			       v6 ? IP6T_SO_ORIGINAL_DST : SO_ORIGINAL_DST,
			       &r->orig, &len)) {
			relay_abort(r, "SO_ORIGINAL_DST", errno);
			return;
		}
	} else if (getsockname(fd, (struct sockaddr *)&r->orig, &len)) {
		relay_abort(r, "getsockname", errno);
		return;
	}
	if (verbose)
		relay_log(r, "accepted", 0);
	switch (l->role) {
	case ROLE_OUTBOUND:
	case ROLE_EXPLICIT:
		err = outbound_start(r);
		break;
	case ROLE_INBOUND:
		err = relay_connect(r, &r->orig, &r->client);
		break;
	case ROLE_TUNNEL:
		r->want_header = true;
		break;
	case ROLE_DNS: /* from our own address, like a resolver */
		dst = r->orig;
		sa_set_port(&dst, DNS_PORT);
		err = relay_connect(r, &dst, NULL);
		break;
	case ROLE_UDP:
	default:
		break;
	}
	if (!err)
		relay_update(r);
}

static void tcp_accept(struct listener *l)
{
	struct sockaddr_storage peer;
	socklen_t len;
	int fd;

	for (int i = 0; i < BATCH; i++) {
		len = sizeof(peer);
		fd = accept4(l->fd, (struct sockaddr *)&peer, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ECONNABORTED)
				continue;
			logmsg("%s accept: %s", lid_name[l->id],
			       strerror(errno));
			count(&stats[l->id].errors, 1);
			return;
		}
		relay_start(l, fd, &peer);
	}
}

static void free_graveyard(void)
{
	while (graveyard) {
		struct relay *r = graveyard;

		graveyard = r->next_dead;
		free(r);
	}
}

/* ---- UDP flows ---- */

static void flow_free(struct udp_flow *f)
{
	if (f->fwd >= 0)
		close(f->fwd);
	if (f->reply >= 0)
		close(f->reply);
	free(f);
}

static void flow_event(struct handler *h, uint32_t events)
{
	struct udp_flow *f = container_of(h, struct udp_flow, h);
	ssize_t n;

	for (int i = 0; i < BATCH; i++) {
		n = recv(f->fwd, pkt, sizeof(pkt), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			/* e.g. ECONNREFUSED from an ICMP error; it is consumed */
			count(&stats[f->id].errors, 1);
			continue;
		}
		f->last_ms = now_ms();
		if (sendto(f->reply, pkt, n, 0,
			   (const struct sockaddr *)&f->client,
			   sa_len(&f->client)) < 0)
			count(&stats[f->id].errors, 1);
		else
			count(&stats[f->id].bytes_down, n);
	}
}

static struct udp_flow *flow_new(const struct listener *l,
				 const struct sockaddr_storage *client,
				 const struct sockaddr_storage *orig)
{
	struct sockaddr_storage dst = *orig;
	bool dns = l->role == ROLE_DNS;
	struct udp_flow *f;
	char c[ADDRSTR_LEN], o[ADDRSTR_LEN];

	if (nflows >= MAX_FLOWS || !(f = calloc(1, sizeof(*f)))) {
		logmsg("%s: too many flows", lid_name[l->id]);
		return NULL;
	}
	f->h.fn = flow_event;
	f->id = l->id;
	f->client = *client;
	f->orig = *orig;
	if (dns)
		sa_set_port(&dst, DNS_PORT);
	/* DNS goes out from our own address, like a resolver would. */
	f->fwd = open_upstream(SOCK_DGRAM, &dst, dns ? NULL : client, -1);
	f->reply = f->fwd < 0 ? -1 : open_reply(orig);
	if (f->fwd < 0 || f->reply < 0) {
		logmsg("%s %s -> %s: flow sockets: %s", lid_name[l->id],
		       sa_str(client, c, sizeof(c)), sa_str(orig, o, sizeof(o)),
		       strerror(f->fwd < 0 ? -f->fwd : -f->reply));
		flow_free(f);
		return NULL;
	}
	watch(f->fwd, &f->h, EPOLLIN, EPOLL_CTL_ADD);
	f->next = flows;
	flows = f;
	nflows++;
	stats[l->id].active++;
	count(&stats[l->id].conns, 1);
	if (verbose)
		logmsg("%s %s -> %s: new flow", lid_name[l->id],
		       sa_str(client, c, sizeof(c)),
		       sa_str(orig, o, sizeof(o)));
	return f;
}

static struct udp_flow *flow_get(const struct listener *l,
				 const struct sockaddr_storage *client,
				 const struct sockaddr_storage *orig)
{
	struct udp_flow **pp, *f;

	for (pp = &flows; (f = *pp); pp = &f->next) {
		if (f->id != l->id || !sa_equal(&f->client, client) ||
		    !sa_equal(&f->orig, orig))
			continue;
		/* Move to front: a busy flow is found at once. */
		*pp = f->next;
		f->next = flows;
		flows = f;
		return f;
	}
	return flow_new(l, client, orig);
}

static void flows_expire(uint64_t now)
{
	struct udp_flow **pp = &flows, *f;

	while ((f = *pp)) {
		if (now - f->last_ms < udp_idle_ms) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		nflows--;
		stats[f->id].active--;
		stats_dirty = true;
		if (verbose)
			logmsg("%s flow expired", lid_name[f->id]);
		flow_free(f);
	}
}

static int orig_dst(struct msghdr *mh, struct sockaddr_storage *orig)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR) {
			memset(orig, 0, sizeof(*orig));
			memcpy(orig, CMSG_DATA(c), sizeof(struct sockaddr_in));
			return 0;
		}
		if (c->cmsg_level == SOL_IPV6 &&
		    c->cmsg_type == IPV6_ORIGDSTADDR) {
			memset(orig, 0, sizeof(*orig));
			memcpy(orig, CMSG_DATA(c), sizeof(struct sockaddr_in6));
			return 0;
		}
	}
	return -ENOENT;
}

static void udp_read(struct listener *l)
{
	char cbuf[CMSG_SPACE(sizeof(struct sockaddr_in6))];
	struct sockaddr_storage client, orig;
	struct iovec iov = { .iov_base = pkt, .iov_len = sizeof(pkt) };
	struct msghdr mh;
	struct udp_flow *f;
	ssize_t n;

	for (int i = 0; i < BATCH; i++) {
		mh = (struct msghdr){ .msg_name = &client,
				      .msg_namelen = sizeof(client),
				      .msg_iov = &iov,
				      .msg_iovlen = 1,
				      .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		n = recvmsg(l->fd, &mh, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0 || orig_dst(&mh, &orig)) {
			logmsg("%s: datagram without original destination",
			       lid_name[l->id]);
			count(&stats[l->id].errors, 1);
			if (n < 0)
				return;
			continue;
		}
		f = flow_get(l, &client, &orig);
		if (!f) {
			count(&stats[l->id].errors, 1);
			continue;
		}
		f->last_ms = now_ms();
		if (send(f->fwd, pkt, n, 0) < 0)
			count(&stats[l->id].errors, 1);
		else
			count(&stats[l->id].bytes_up, n);
	}
}

/* ---- listeners ---- */

static void listener_event(struct handler *h, uint32_t events)
{
	struct listener *l = container_of(h, struct listener, h);

	if (l->type == SOCK_DGRAM)
		udp_read(l);
	else
		tcp_accept(l);
}

static void listener_open(struct listener *l)
{
	struct sockaddr_storage ss = { .ss_family = l->family };
	bool v6 = l->family == AF_INET6;
	char a[ADDRSTR_LEN];
	int fd, err;

	/* Zeroed storage is already 0.0.0.0 / :: */
	sa_set_port(&ss, l->port);
	fd = socket_in(l->netns, l->family,
		       l->type | SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!err)
		err = set_transparent(fd, l->family);
	if (!err && v6) /* the IPv4 listener gets IPv4 */
		err = set_int(fd, SOL_IPV6, IPV6_V6ONLY, 1);
	if (!err && l->type == SOCK_DGRAM)
		err = v6 ? set_int(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, 1) :
			   set_int(fd, SOL_IP, IP_RECVORIGDSTADDR, 1);
	if (!err && bind(fd, (struct sockaddr *)&ss, sa_len(&ss)))
		err = -errno;
	if (!err && l->type == SOCK_STREAM && listen(fd, 1024))
		err = -errno;
	if (err)
		die("cannot listen on %s %s: %s (is another ztunnel running in this netns?)",
		    l->type == SOCK_STREAM ? "tcp" : "udp",
		    sa_str(&ss, a, sizeof(a)), strerror(-err));
	l->fd = fd;
	l->h.fn = listener_event;
	watch(fd, &l->h, EPOLLIN, EPOLL_CTL_ADD);
}

static const struct {
	int type;
	uint16_t port;
	enum role role;
	enum lid id;
} specs[] = {
	{ SOCK_STREAM, ZT_PORT_OUTBOUND, ROLE_OUTBOUND, L_TCP15001 },
	{ SOCK_STREAM, ZT_PORT_INBOUND, ROLE_INBOUND, L_TCP15006 },
	{ SOCK_STREAM, ZT_PORT_HBONE, ROLE_TUNNEL, L_TCP15008 },
	{ SOCK_STREAM, ZT_PORT_DNS, ROLE_DNS, L_DNS },
	{ SOCK_DGRAM, ZT_PORT_OUTBOUND, ROLE_UDP, L_UDP15001 },
	{ SOCK_DGRAM, ZT_PORT_INBOUND, ROLE_UDP, L_UDP15006 },
	{ SOCK_DGRAM, ZT_PORT_DNS, ROLE_DNS, L_DNS },
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static struct listener listeners[2 * NSPECS];

static struct listener *listener_new(void)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (!l)
		die("out of memory");
	l->netns = -1;
	return l;
}

/* In-pod: TCP 15001, 15006, 15008 and 15053 in every pod's netns. */
static void pod_listeners_open(void)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (unsigned int p = 0; p < npods; p++) {
		int ns = open(pod_netns[p], O_RDONLY | O_CLOEXEC);

		if (ns < 0)
			die("%s: %s", pod_netns[p], strerror(errno));
		for (size_t f = 0; f < 2; f++) {
			for (size_t i = 0; i < NSPECS; i++) {
				struct listener *l;

				if (specs[i].type != SOCK_STREAM)
					continue;
				l = listener_new();
				l->netns = ns;
				l->family = families[f];
				l->type = SOCK_STREAM;
				l->port = specs[i].port;
				l->role = specs[i].role;
				l->id = specs[i].id;
				listener_open(l);
			}
		}
	}
}

static void explicit_listeners_open(void)
{
	for (unsigned int i = 0; i < nexplicit; i++) {
		struct listener *l = listener_new();

		l->family = explicit_map[i].dest.ss_family;
		l->type = SOCK_STREAM;
		l->port = explicit_map[i].port;
		l->role = ROLE_EXPLICIT;
		l->id = L_EXPLICIT;
		l->dest = explicit_map[i].dest;
		listener_open(l);
	}
}

static void listeners_open(void)
{
	static const int families[] = { AF_INET, AF_INET6 };

	explicit_listeners_open();
	if (npods) { /* in-pod: none in our own netns */
		pod_listeners_open();
		return;
	}
	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; i < NSPECS; i++) {
			struct listener *l = &listeners[f * NSPECS + i];

			l->netns = -1;
			if (specs[i].role == ROLE_UDP && !udp_capture) {
				l->fd = -1;
				continue;
			}
			l->family = families[f];
			l->type = specs[i].type;
			l->port = specs[i].port;
			l->role = specs[i].role;
			l->id = specs[i].id;
			listener_open(l);
		}
	}
}

/* ---- reporting ---- */

static int stats_json(char *out, size_t len)
{
	size_t n;

	n = snprintf(out, len, "{\"pid\":%d,\"listeners\":{", (int)getpid());
	for (int i = 0; i < L_MAX && n < len; i++)
		n += snprintf(out + n, len - n,
			      "%s\"%s\":{\"conns\":%" PRIu64
			      ",\"bytes_up\":%" PRIu64
			      ",\"bytes_down\":%" PRIu64 ",\"errors\":%" PRIu64
			      ",\"active\":%" PRIu64 "}",
			      i ? "," : "", lid_name[i], stats[i].conns,
			      stats[i].bytes_up, stats[i].bytes_down,
			      stats[i].errors, stats[i].active);
	if (n < len)
		n += snprintf(out + n, len - n, "}}\n");
	return n < len ? (int)n : -ENOSPC;
}

static int write_file(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	ssize_t n;
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len && !err) {
		n = write(fd, data, len);
		if (n < 0 && errno != EINTR)
			err = -errno;
		if (n > 0) {
			data += n;
			len -= n;
		}
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static void write_status(void)
{
	char json[2048];
	int n, err;

	stats_dirty = false;
	if (!status_path)
		return;
	n = stats_json(json, sizeof(json));
	err = n < 0 ? n : write_file(status_path, json, n);
	if (err)
		logmsg("status file %s: %s", status_path, strerror(-err));
}

/* ---- main loop ---- */

static bool stopping;

static void signal_event(struct handler *h, uint32_t events);

static struct {
	struct handler h;
	int fd;
} sig = { .h.fn = signal_event, .fd = -1 };

static void signal_event(struct handler *h, uint32_t events)
{
	struct signalfd_siginfo si;
	char json[2048];
	int n;

	while (read(sig.fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGUSR1) {
			stopping = true;
			continue;
		}
		n = stats_json(json, sizeof(json));
		if (n > 0) {
			fwrite(json, 1, n, stdout);
			fflush(stdout);
		}
	}
}

static void signals_setup(void)
{
	sigset_t set;

	/* Writes to a reset peer must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		die("sigprocmask: %s", strerror(errno));
	sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig.fd < 0)
		die("signalfd: %s", strerror(errno));
	watch(sig.fd, &sig.h, EPOLLIN, EPOLL_CTL_ADD);
}

static void run(void)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now, last_status = 0, last_sweep = 0;
	int n;

	while (!stopping) {
		n = epoll_wait(epfd, evs, MAX_EVENTS, TICK_MS);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct handler *h = evs[i].data.ptr;

			h->fn(h, evs[i].events);
		}
		free_graveyard();
		now = now_ms();
		if (now - last_sweep >= TICK_MS) {
			flows_expire(now);
			last_sweep = now;
		}
		if (stats_dirty && now - last_status >= STATUS_INTERVAL_MS) {
			write_status();
			last_status = now;
		}
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ztunnel-sim [--status FILE] [--ready FILE] [--udp-idle-ms N] [-v]\n"
		"                   [--explicit PORT=DEST]... [--pod-netns PATH]...\n"
		"A test fixture standing in for ztunnel; run it in ztunnel's netns.\n"
		"  --status FILE     JSON counters, rewritten at most every 100 ms and at exit\n"
		"  --ready FILE      created once every listener is bound\n"
		"  --udp-idle-ms N   UDP flows expire after N ms idle (default %d)\n"
		"  --udp-capture     also UDP listeners on 15001/15006 (a ztunnel\n"
		"                    enrolled with --capture-udp)\n"
		"  --explicit PORT=DEST  also listen on PORT (DEST's family) for clients that\n"
		"                    dial the proxy on purpose; they go to DEST (IP:PORT or\n"
		"                    [IP]:PORT) through our 15008, from our own address\n"
		"  --pod-netns PATH  in-pod mode: TCP listeners inside that netns (repeat for\n"
		"                    each pod) and none in ours; 15001 takes REDIRECTed\n"
		"                    connections, tunnels to the destination's 15008\n"
		"  -v, --verbose     log every connection and flow to stderr\n"
		"SIGUSR1 prints the counters as one JSON line on stdout.\n",
		UDP_IDLE_MS_DEFAULT);
}

/* PORT=DEST */
static void explicit_arg(const char *arg)
{
	unsigned long port;
	char *end;

	if (nexplicit >= MAX_EXPLICIT)
		die("more than %d --explicit", MAX_EXPLICIT);
	errno = 0;
	port = strtoul(arg, &end, 10);
	if (errno || *end != '=' || !port || port > 65535 ||
	    sa_parse(end + 1, &explicit_map[nexplicit].dest) ||
	    !sa_port(&explicit_map[nexplicit].dest))
		die("bad --explicit %s (want PORT=IP:PORT or PORT=[IP]:PORT)",
		    arg);
	explicit_map[nexplicit++].port = (uint16_t)port;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "ready", required_argument, NULL, 'r' },
		{ "udp-idle-ms", required_argument, NULL, 'u' },
		{ "udp-capture", no_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "explicit", required_argument, NULL, 'e' },
		{ "pod-netns", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			status_path = optarg;
			break;
		case 'r':
			ready_path = optarg;
			break;
		case 'u':
			udp_idle_ms = strtoul(optarg, &end, 10);
			if (*end || !udp_idle_ms)
				die("bad --udp-idle-ms: %s", optarg);
			break;
		case 'U':
			udp_capture = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'e':
			explicit_arg(optarg);
			break;
		case 'p':
			if (npods >= MAX_PODS)
				die("more than %d --pod-netns", MAX_PODS);
			pod_netns[npods++] = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	char line[32];
	int err;

	parse_args(argc, argv);
	/* A stale ready file from an earlier run must not fool a test. */
	if (ready_path)
		unlink(ready_path);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	home_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_netns < 0)
		die("/proc/self/ns/net: %s", strerror(errno));
	signals_setup();
	listeners_open();
	write_status();
	if (ready_path) {
		snprintf(line, sizeof(line), "%d\n", (int)getpid());
		err = write_file(ready_path, line, strlen(line));
		if (err)
			die("ready file %s: %s", ready_path, strerror(-err));
	}
	logmsg("listening (pid %d)", (int)getpid());

	run();

	write_status();
	if (ready_path)
		unlink(ready_path);
	logmsg("stopped");
	return 0;
}
