// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel-sim's TCP relays: one per accepted connection, two sides and a
 * buffer per direction, half-closes passed on, any failure a reset of
 * both sides. What a listener's role decides: outbound (and --explicit)
 * re-enters through a 15008 with a header line, inbound goes straight to
 * the original destination, the tunnel reads the header first, DNS goes
 * to port 53 from our own address.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "redirect_abi.h"
#include "ztsim.h"

#define BUF_SIZE (64 * 1024) /* per direction of a TCP relay */
#define HDR_MAX 512 /* longest tunnel header line accepted */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */
#endif

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

static struct relay *graveyard; /* closed in this batch, freed after it */

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

void tcp_accept(struct listener *l)
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
		/* ztunnel turns Nagle off on every socket (istio/ztunnel#1062) */
		set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
		relay_start(l, fd, &peer);
	}
}

void free_graveyard(void)
{
	while (graveyard) {
		struct relay *r = graveyard;

		graveyard = r->next_dead;
		free(r);
	}
}
