// SPDX-License-Identifier: GPL-2.0
/* redirectd's API socket and its peers: peers.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "closer.h"
#include "log.h"
#include "loop.h"
#include "nsopen.h"
#include "paths.h"
#include "peers.h"

/*
 * Connection limits, so that no peer can lock out the CNI plugin, the
 * liveness probe or root's redirectctl: the last ROOT_RESERVED slots are
 * root's, a non-root uid holds at most PER_UID_MAX, everyone must say
 * Hello within HELLO_DEADLINE_MS, and a non-root peer that stays silent
 * for IDLE_MS is let go (root's, the CNI plugin's, are short-lived).
 */
#define MAX_CLIENTS 4096
#define ROOT_RESERVED 64
#define PER_UID_MAX 256
#define HELLO_DEADLINE_MS 5000
#define IDLE_MS 60000
#define REFUSAL_LOG_MS 10000 /* at most one "refused" line per this */
/* A request's netns path must open within this (see ctl/lib/nsopen.h). */
#define PATH_DEADLINE_MS 3000

/*
 * Peers' descriptors (SCM_RIGHTS). The kernel refuses them at sendmsg
 * (EPERM) on a socket with SO_PASSRIGHTS off (Linux 6.16+; x86, arm64 and
 * the others on asm-generic/socket.h: 83). Closing one can block
 * redirectd (a TCP socket lingering with unsent data, a file on a FUSE
 * server that does not answer its FLUSH), so only peers that may send
 * one get it on: see set_rights.
 */
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif
#define PEER_MAX_FDS 253 /* SCM_MAX_FD: the most one message carries */

struct peer {
	int fd;
	struct conn_ctx ctx;
	uint64_t since_ms, last_ms; /* accepted, last request */
	bool rights; /* SO_PASSRIGHTS on: it may send descriptors */
	bool rights_ever; /* so its socket may hold some: see close_peer */
	bool sent_junk; /* it sent one that is not a netns: no more */
	/* parked: a request waits for its netns path (nsopen) */
	struct nsopen_job *job;
	uint8_t *held;
	size_t held_len;
	bool held_trunc;
	int held_fd;
	uint64_t parked_ms;
	/*
	 * all of them; once dropped, next chains the ones freed after the
	 * current batch of events (peers_bury): an event of the batch may
	 * still name a connection another event dropped
	 */
	struct peer *prev, *next;
	bool gone;
};

struct peer_msg {
	struct msghdr mh;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int) * PEER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
};

/* --- the socket --- */

/*
 * A socket file left by a dead daemon is replaced; one that still answers
 * belongs to a live daemon and is left alone.
 */
static int remove_stale_socket(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, err;

	if (lstat(sa->sun_path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return pr_ret(-EEXIST, "%s exists and is not a socket",
			      sa->sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (!err)
		return pr_ret(-EADDRINUSE, "another redirectd serves %s",
			      sa->sun_path);
	pr_info("replacing stale socket %s", sa->sun_path);
	return unlink(sa->sun_path) ? -errno : 0;
}

/*
 * Accepted sockets inherit the listener's SO_PASSRIGHTS (and a peer can
 * send before we accept): off here, no peer can send a descriptor until
 * set_rights lets it. Without the option (before 6.16) every peer can;
 * what it sends is then closed off the loop (ctl/lib/closer.h).
 */
static bool refuse_rights(int fd)
{
	int off = 0;

	if (!setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof(off)))
		return true;
	pr_warn("this kernel has no SO_PASSRIGHTS (Linux 6.16+): any peer can "
		"send descriptors; they are closed off the event loop");
	return false;
}

static int listen_socket(const char *path, const struct daemon_opts *o,
			 bool *passrights)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old_umask;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return pr_ret(-ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	err = make_parent_dir(path);
	if (!err)
		err = remove_stale_socket(&sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	*passrights = refuse_rights(fd);
	/* Created 0600 (0660 with --allow-gid) from the first instant. */
	old_umask = umask(o->allow_gid_set ? 0117 : 0177);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (!err && o->allow_gid_set && chown(path, (uid_t)-1, o->allow_gid))
		err = -1;
	if (!err && o->allow_uid_set && chown(path, o->allow_uid, (gid_t)-1))
		err = -1;
	if (err || listen(fd, 128)) {
		err = pr_ret(-errno, "socket %s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

/* --- peers --- */

/*
 * What a peer may ask (enum wire_role bits), 0 if it may not connect:
 * root everything; the --allow-uid/--allow-gid peer read-only queries
 * plus what --allow-pod-writes / --allow-ztunnel-writes grant.
 */
static unsigned int peer_grants(int fd, const struct daemon_opts *o, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return 0;
	*uid = cred.uid;
	if (cred.uid == 0)
		return WIRE_ROLES_ALL;
	if ((o->allow_uid_set && cred.uid == o->allow_uid) ||
	    (o->allow_gid_set && cred.gid == o->allow_gid))
		return WIRE_ROLE_READ | o->allow_grants;
	pr_warn("refused client pid %d uid %u gid %u", cred.pid, cred.uid,
		cred.gid);
	return 0;
}

/*
 * Out of fds: the pending connection would wake epoll forever. Give up the
 * spare fd, accept the connection and close it (the client sees EOF), then
 * take the spare back.
 */
static void shed_connection(struct peers *p)
{
	int fd;

	if (!p->fd_starved)
		pr_warn("out of file descriptors (%s); refusing clients",
			strerror(errno));
	p->fd_starved = true;
	if (p->spare_fd >= 0)
		close(p->spare_fd);
	fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* One line per REFUSAL_LOG_MS at most, however many are refused. */
static void refused(struct peers *p, const char *why, uid_t uid)
{
	uint64_t now = now_ms();

	p->refused++;
	if (p->refused_logged_ms && now - p->refused_logged_ms < REFUSAL_LOG_MS)
		return;
	pr_warn("refusing connections: %s (uid %u); %u refused since the "
		"last such line",
		why, (unsigned int)uid, p->refused);
	p->refused = 0;
	p->refused_logged_ms = now;
}

static unsigned int conns_of(const struct peers *p, uid_t uid)
{
	unsigned int n = 0;

	for (const struct peer *c = p->list; c; c = c->next)
		n += c->ctx.uid == uid;
	return n;
}

/* NULL if the peer may have another connection, else why not. */
static const char *over_limit(const struct peers *p, uid_t uid)
{
	if (p->n >= MAX_CLIENTS)
		return "too many clients";
	if (!uid)
		return NULL;
	if (p->n >= MAX_CLIENTS - ROOT_RESERVED)
		return "only root's reserved slots are left";
	if (conns_of(p, uid) >= PER_UID_MAX)
		return "this uid holds its maximum of connections";
	return NULL;
}

void peers_accept(struct peers *p)
{
	unsigned int grants;
	const char *why;
	uid_t uid = 0;

	for (;;) {
		struct peer *c;
		int fd = accept4(p->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			shed_connection(p);
			return;
		}
		if (fd < 0)
			return;
		p->fd_starved = false;
		grants = peer_grants(fd, &p->d->opts, &uid);
		why = grants ? over_limit(p, uid) : NULL;
		if (!grants || why) {
			if (why)
				refused(p, why, uid);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || epoll_add(p->epfd, fd, (uint64_t)(uintptr_t)c)) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->held_fd = -1;
		c->ctx.path.fd = -1;
		c->ctx.grants = grants;
		c->ctx.uid = uid;
		c->since_ms = c->last_ms = now_ms();
		c->next = p->list;
		if (c->next)
			c->next->prev = c;
		p->list = c;
		p->n++;
		p->d->clients = p->n;
	}
}

static void set_rights(struct peers *p, struct peer *c, bool on)
{
	int v = on;

	if (!p->passrights || c->rights == on)
		return;
	if (setsockopt(c->fd, SOL_SOCKET, SO_PASSRIGHTS, &v, sizeof(v))) {
		pr_warn("SO_PASSRIGHTS: %s", strerror(errno));
		return;
	}
	c->rights = on;
	c->rights_ever |= on;
}

/*
 * A peer may send a descriptor once it said Hello, holds a role whose
 * requests take one (PodAdd, ZtunnelAdd), has sent none that was not a
 * netns, and, if not root, while few of those wait to be closed.
 */
static bool rights_due(const struct peers *p, const struct peer *c)
{
	return c->ctx.hello_done && (c->ctx.grants & p->fd_roles) &&
	       !c->sent_junk && (!c->ctx.uid || !p->rights_paused);
}

static void rights_update_all(struct peers *p)
{
	for (struct peer *c = p->list; c; c = c->next)
		set_rights(p, c, rights_due(p, c));
}

/* The closer's bound is hit: non-root peers send no more for now. */
static void rights_pause(struct peers *p)
{
	if (p->rights_paused)
		return;
	p->rights_paused = true;
	pr_warn("%zu descriptors sent by peers wait to be closed; non-root "
		"peers may send none until that is down to %d",
		closer_pending(), CLOSER_UNTRUSTED_MAX / 2);
	rights_update_all(p);
}

void peers_on_closer(struct peers *p)
{
	if (!closer_resumed() || !p->rights_paused)
		return;
	p->rights_paused = false;
	pr_info("descriptors closed; peers may send netns fds again");
	rights_update_all(p);
}

/*
 * A descriptor redirectd does not keep. A netns is closed here (nsfs: its
 * close never blocks); anything else goes to the closer, and its sender
 * may send no more.
 */
static void drop_fd(struct peers *p, struct peer *c, int fd)
{
	if (netns_fd_is_net(fd)) {
		close(fd);
		return;
	}
	c->sent_junk = true;
	if (closer_put(fd, !c->ctx.uid))
		rights_pause(p);
}

/*
 * The descriptors a message carried. The first goes with the request if
 * it is a netns (daemon_handle refuses it unless the request takes one,
 * from a peer allowed to send that request, after Hello), else the
 * request learns it was refused; every other one is dropped.
 */
static int take_fds(struct peers *p, struct peer *c, struct msghdr *mh)
{
	int first = -1;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
	     cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(f));
			if (first != -1)
				drop_fd(p, c, f);
			else if (netns_fd_is_net(f))
				first = f;
			else {
				drop_fd(p, c, f);
				first = DAEMON_FD_REFUSED;
			}
		}
	}
	return first;
}

/*
 * One message from a peer's socket, room for every descriptor it may
 * carry: one that did not fit would be closed by the kernel on this
 * thread, as the message is read.
 */
static ssize_t recv_msg(int fd, void *buf, size_t len, struct peer_msg *m)
{
	memset(&m->mh, 0, sizeof(m->mh));
	m->iov.iov_base = buf;
	m->iov.iov_len = len;
	m->mh.msg_iov = &m->iov;
	m->mh.msg_iovlen = 1;
	m->mh.msg_control = m->ctl.buf;
	m->mh.msg_controllen = sizeof(m->ctl.buf);
	return recvmsg(fd, &m->mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
}

/* Descriptors still queued in a socket (fdinfo "scm_fds"); -1: unknown. */
static long queued_fds(int fd)
{
	char path[48], buf[512], *at;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -1;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	at = strstr(buf, "scm_fds:");
	return at ? strtol(at + 8, NULL, 10) : -1;
}

/*
 * A peer's socket may hold descriptors it sent and we did not read yet:
 * closing it would close them on this thread. Shut it (no more can come),
 * read what is queued and drop what that carries, then close it; if that
 * does not empty it, the closer closes the socket itself.
 */
static void close_peer(struct peers *p, struct peer *c)
{
	struct peer_msg m;
	int tries = 64, f;

	if (p->passrights && !c->rights_ever) {
		close(c->fd); /* no descriptor ever reached it */
		return;
	}
	set_rights(p, c, false);
	shutdown(c->fd, SHUT_RDWR);
	while (queued_fds(c->fd) > 0 && tries--) {
		if (recv_msg(c->fd, p->buf, WIRE_MAX_MSG, &m) < 0)
			continue; /* ECONNRESET once, when it left unread data */
		f = take_fds(p, c, &m.mh);
		if (f >= 0)
			close(f); /* a netns */
	}
	if (queued_fds(c->fd))
		closer_put(c->fd, !c->ctx.uid);
	else
		close(c->fd);
}

static void drop_client(struct peers *p, struct peer *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		p->list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->job)
		nsopen_abandon(c->job);
	if (c->held_fd >= 0)
		close(c->held_fd); /* a netns */
	free(c->held);
	close_peer(p, c);
	daemon_conn_close(p->d, &c->ctx);
	c->gone = true;
	c->next = p->gone;
	p->gone = c;
	p->n--;
	p->d->clients = p->n;
}

static void send_reply(struct peers *p, struct peer *c, Reply *reply)
{
	size_t len = wire_encode_reply(reply, p->out, WIRE_MAX_MSG);

	daemon_reply_release(reply);
	if (!len) {
		/* Too large for one packet (huge pod list): say so instead. */
		Reply small = AMBIENT_REDIRECT__V1__REPLY__INIT;

		small.id = reply->id;
		small.code = EC(CAPACITY);
		small.message = "reply larger than one packet";
		len = wire_encode_reply(&small, p->out, WIRE_MAX_MSG);
	}
	/* Before the reply: a peer sends its PodAdd once Hello is answered. */
	set_rights(p, c, rights_due(p, c));
	if (send(c->fd, p->out, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* A client that does not read its replies is let go. */
		drop_client(p, c);
	}
}

static void run_request(struct peers *p, struct peer *c, uint8_t *buf,
			size_t len, bool trunc, int fd);

/*
 * The request's netns path: from the kernel's caches if that cannot
 * block (a CNI runtime's /var/run/netns/X, as a rule), else the request
 * waits, its connection unread, while the path opens off the loop
 * (nsopen); every other peer goes on being served.
 */
static void park(struct peers *p, struct peer *c, uint8_t *buf, size_t len,
		 bool trunc, int fd)
{
	int res = netns_open_cached(c->ctx.want_path);

	if (res == -EAGAIN) {
		c->held = malloc(len ? len : 1);
		res = c->held ? nsopen_submit(c->ctx.want_path, !c->ctx.uid, c,
					      &c->job) :
				-ENOMEM;
		if (!res) {
			memcpy(c->held, buf, len);
			c->held_len = len;
			c->held_trunc = trunc;
			c->held_fd = fd;
			c->parked_ms = now_ms();
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			return;
		}
		free(c->held);
		c->held = NULL;
	}
	/* res: the netns, opened from the caches, or why there is none */
	c->ctx.path.ready = true;
	c->ctx.path.fd = res;
	run_request(p, c, buf, len, trunc, fd);
}

static void run_request(struct peers *p, struct peer *c, uint8_t *buf,
			size_t len, bool trunc, int fd)
{
	Reply reply;

	if (daemon_handle(p->d, &c->ctx, buf, len, trunc, fd, &reply))
		send_reply(p, c, &reply);
	else
		park(p, c, buf, len, trunc, fd);
}

/* The path is open (or failed, or timed out): run the request now. */
static void unpark(struct peers *p, struct peer *c, int path_fd)
{
	uint8_t *held = c->held;
	int fd;

	c->job = NULL;
	c->held = NULL;
	c->ctx.path.ready = true;
	c->ctx.path.fd = path_fd;
	if (epoll_add(p->epfd, c->fd, (uint64_t)(uintptr_t)c))
		pr_warn("epoll: %s", strerror(errno));
	fd = c->held_fd;
	c->held_fd = -1; /* the request's from now on */
	run_request(p, c, held, c->held_len, c->held_trunc, fd);
	free(held); /* c may be gone: run_request drops a deaf peer */
}

static void path_opened(void *owner, int fd, void *arg)
{
	unpark(arg, owner, fd);
}

void peers_on_nsopen(struct peers *p)
{
	nsopen_reap(path_opened, p);
}

/* Requests whose path did not open in time are answered (NETNS). */
static void expire_parked(struct peers *p, uint64_t now)
{
	struct peer *c, *next;

	for (c = p->list; c; c = next) {
		next = c->next;
		if (!c->job || now - c->parked_ms <= PATH_DEADLINE_MS)
			continue;
		nsopen_abandon(c->job);
		unpark(p, c, -ETIMEDOUT);
	}
}

void peers_serve(struct peers *p, struct peer *c)
{
	struct peer_msg m;
	ssize_t n;
	int fd;

	if (c->gone)
		return;
	n = recv_msg(c->fd, p->buf, WIRE_MAX_MSG, &m);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(p, c);
		return;
	}
	fd = take_fds(p, c, &m.mh);
	if (c->sent_junk)
		set_rights(p, c, false);
	c->last_ms = now_ms();
	run_request(p, c, p->buf, (size_t)n,
		    (m.mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0, fd);
}

int peers_open(struct peers *p, struct daemon *d, int epfd, uint64_t listen_tag)
{
	p->d = d;
	p->epfd = epfd;
	p->socket_path = d->opts.socket_path;
	p->fd_roles = wire_fd_roles();
	p->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	p->buf = malloc(WIRE_MAX_MSG);
	p->out = malloc(WIRE_MAX_MSG);
	if (!p->buf || !p->out)
		return -ENOMEM;
	p->listen_fd = listen_socket(p->socket_path, &d->opts, &p->passrights);
	if (p->listen_fd < 0)
		return p->listen_fd;
	return epoll_add(epfd, p->listen_fd, listen_tag);
}

void peers_close(struct peers *p)
{
	/* peers still connected: close them, free what they hold */
	while (p->list)
		drop_client(p, p->list);
	peers_bury(p);
	if (p->listen_fd > 0) {
		close(p->listen_fd);
		unlink(p->socket_path);
	}
	if (p->spare_fd >= 0)
		close(p->spare_fd);
	free(p->buf);
	free(p->out);
}

void peers_sweep(struct peers *p, uint64_t now)
{
	unsigned int silent = 0, idle = 0;
	struct peer *c, *next;

	expire_parked(p, now);
	for (c = p->list; c; c = next) {
		next = c->next;
		if (!c->ctx.hello_done &&
		    now - c->since_ms > HELLO_DEADLINE_MS) {
			silent++;
			drop_client(p, c);
		} else if (c->ctx.uid && now - c->last_ms > IDLE_MS) {
			idle++;
			drop_client(p, c);
		}
	}
	if (silent || idle)
		pr_info("closed %u connections without a Hello in %d ms and "
			"%u idle for %d ms",
			silent, HELLO_DEADLINE_MS, idle, IDLE_MS);
}

void peers_bury(struct peers *p)
{
	while (p->gone) {
		struct peer *c = p->gone;

		p->gone = c->next;
		free(c);
	}
}
