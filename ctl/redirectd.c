// SPDX-License-Identifier: GPL-2.0
/*
 * redirectd: the per-node redirection control plane. Runs in the node's
 * network namespace (where the pods' host-side veths live), in the
 * foreground, logging to stderr. One epoll loop serves every client.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <sys/un.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include "addr.h"
#include "closer.h"
#include "daemon.h"
#include "daemon_reconcile.h"
#include "daemon_watch.h"
#include "log.h"
#include "nsopen.h"
#include "probe.h"
#include "metrics.h"

#define ADDR_RESYNC_DELAY_MS 100

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
#define SWEEP_MS 1000
#define REFUSAL_LOG_MS 10000 /* at most one "refused" line per this */
#define SCRAPE_DEADLINE_MS 5000 /* a scrape's request and answer */
/* A request's netns path must open within this (see ctl/lib/nsopen.h). */
#define PATH_DEADLINE_MS 3000
/* One journaled path at start or SIGHUP: the loop waits this at most. */
#define JOURNALED_PATH_MS 1000

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

struct client_conn {
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
	 * all of them, to free at exit; once dropped, next chains the ones
	 * freed after the current batch of events (bury): an event of the
	 * batch may still name a connection another event dropped
	 */
	struct client_conn *prev, *next;
	bool gone;
};

/* A scrape in progress: the request is read before it is answered. */
struct metrics_conn {
	int fd;
	bool gone; /* closed, freed after the current batch (bury) */
	struct metrics_conn *next_gone;
	uint64_t since_ms;
	size_t len;
	char buf[1024];
};

#define MAX_METRICS_CONNS 32

struct server {
	struct daemon d;
	int metrics_fd; /* --metrics listener, or -1 */
	bool metrics_addr_unix;
	struct metrics_conn *scrapes[MAX_METRICS_CONNS];
	int epfd, listen_fd, sig_fd, addr_fd, timer_fd, sweep_fd;
	bool passrights; /* the kernel refuses descriptors where asked */
	bool rights_paused; /* too many non-root ones wait to be closed */
	unsigned int fd_roles; /* roles whose requests take a descriptor */
	unsigned int refused; /* connections refused since the last log */
	uint64_t refused_logged_ms;
	struct mnl_socket *addr_mon;
	unsigned int nclients;
	struct client_conn *clients;
	struct client_conn *gone_clients; /* dropped in this batch: bury */
	struct metrics_conn *gone_scrapes;
	uint8_t *buf;
	uint8_t *out;
	int spare_fd; /* /dev/null, given up to accept-and-close at EMFILE */
	bool fd_starved; /* logged once per burst */
	bool prune_pending; /* a link went away: look for vanished veths */
	bool stop;
};

/* epoll data: small tags for the fixed fds, pointers for clients. */
enum {
	EV_LISTEN = 1,
	EV_SIGNAL,
	EV_ADDR,
	EV_TIMER,
	EV_METRICS,
	EV_SWEEP,
	EV_CLOSER, /* the closer's backlog is low again */
	EV_NSOPEN, /* netns paths opened */
	EV_MAX
};
/* Scrapes are tagged by their (aligned) pointer with the low bit set. */
#define EV_SCRAPE_BIT 1u

static void usage(FILE *f)
{
	fprintf(f,
		"usage: redirectd [options]\n"
		"  --socket PATH        API socket (default %s)\n"
		"  --bpffs DIR          pin folder on bpffs (default %s)\n"
		"  --state FILE         journal of what we own (default %s)\n"
		"  --cgroup DIR         cgroup v2 folder for sockmap acceleration\n"
		"  --no-sockmap         do not accelerate with sockmap\n"
		"  --sockmap-pods WHEN  pods' connections too: auto (if the kernel\n"
		"                       passes the self-test), on, off\n"
		"  --tc-priority N      tc filter priority (default %d)\n"
		"  --tc-handle N        tc filter handle (default 0x%x)\n"
		"  --pod-capacity N     pod addresses the map holds (default %d)\n"
		"  --fail-open          pass meshed traffic when ztunnel is absent\n"
		"  --attach MODE        pods' programs: auto (TCX on devices that\n"
		"                       already run TCX programs), tc, tcx\n"
		"  --node-addr ADDR     an extra node address (repeatable)\n"
		"  --allow-uid N        serve this uid besides root: read-only\n"
		"  --allow-gid N        serve this gid besides root: read-only\n"
		"  --allow-pod-writes   let that peer enrol and delete pods\n"
		"  --allow-ztunnel-writes  let that peer add and delete ztunnels\n"
		"  --log-level LEVEL    error, warn, info (default), debug\n"
		"  --no-guard           no inbound guard inside pods (pod_guard)\n"
		"  --probe              print the kernel features found, exit\n"
		"                       0 if redirectd can run here, else 1\n"
		"  --metrics ADDR       serve Prometheus metrics at HOST:PORT or\n"
		"                       unix:PATH (GET /metrics)\n",
		DEFAULT_SOCKET_PATH, DEFAULT_PIN_DIR, DEFAULT_STATE_FILE,
		DEFAULT_TC_PRIORITY, DEFAULT_TC_HANDLE, POD_ADDRS_DEFAULT);
}

static bool probe_only; /* --probe */
static const char *metrics_addr; /* --metrics */

static int parse_u32(const char *s, unsigned long max, __u32 *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > max)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct daemon_opts *o)
{
	enum {
		O_SOCKET = 256,
		O_BPFFS,
		O_STATE,
		O_CGROUP,
		O_NO_SOCKMAP,
		O_SOCKMAP_PODS,
		O_PRIO,
		O_HANDLE,
		O_CAP,
		O_FAIL_OPEN,
		O_NODE_ADDR,
		O_UID,
		O_GID,
		O_LOG,
		O_HELP,
		O_PROBE,
		O_METRICS,
		O_ALLOW_POD,
		O_ALLOW_ZT,
		O_ATTACH,
		O_NO_GUARD
	};
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "bpffs", required_argument, NULL, O_BPFFS },
		{ "state", required_argument, NULL, O_STATE },
		{ "cgroup", required_argument, NULL, O_CGROUP },
		{ "no-sockmap", no_argument, NULL, O_NO_SOCKMAP },
		{ "sockmap-pods", required_argument, NULL, O_SOCKMAP_PODS },
		{ "tc-priority", required_argument, NULL, O_PRIO },
		{ "tc-handle", required_argument, NULL, O_HANDLE },
		{ "pod-capacity", required_argument, NULL, O_CAP },
		{ "fail-open", no_argument, NULL, O_FAIL_OPEN },
		{ "node-addr", required_argument, NULL, O_NODE_ADDR },
		{ "allow-uid", required_argument, NULL, O_UID },
		{ "allow-gid", required_argument, NULL, O_GID },
		{ "allow-pod-writes", no_argument, NULL, O_ALLOW_POD },
		{ "allow-ztunnel-writes", no_argument, NULL, O_ALLOW_ZT },
		{ "attach", required_argument, NULL, O_ATTACH },
		{ "no-guard", no_argument, NULL, O_NO_GUARD },
		{ "log-level", required_argument, NULL, O_LOG },
		{ "help", no_argument, NULL, O_HELP },
		{ "probe", no_argument, NULL, O_PROBE },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ 0 }
	};
	__u32 v;
	int c, lvl;

	o->socket_path = DEFAULT_SOCKET_PATH;
	o->bpffs = DEFAULT_PIN_DIR;
	o->state_file = DEFAULT_STATE_FILE;
	o->tc_priority = DEFAULT_TC_PRIORITY;
	o->tc_handle = DEFAULT_TC_HANDLE;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_SOCKET:
			o->socket_path = optarg;
			break;
		case O_BPFFS:
			o->bpffs = optarg;
			break;
		case O_STATE:
			o->state_file = optarg;
			break;
		case O_CGROUP:
			o->cgroup = optarg;
			break;
		case O_NO_SOCKMAP:
			o->no_sockmap = true;
			break;
		case O_NO_GUARD:
			o->no_guard = true;
			break;
		case O_SOCKMAP_PODS:
			if (!strcmp(optarg, "auto"))
				o->sockmap_pods = SOCKMAP_PODS_AUTO;
			else if (!strcmp(optarg, "on"))
				o->sockmap_pods = SOCKMAP_PODS_ON;
			else if (!strcmp(optarg, "off"))
				o->sockmap_pods = SOCKMAP_PODS_OFF;
			else
				goto bad;
			break;
		case O_PRIO:
			if (parse_u32(optarg, 0xffff, &v) || !v)
				goto bad;
			o->tc_priority = (__u16)v;
			break;
		case O_HANDLE:
			if (parse_u32(optarg, 0xffffffff, &v) || !v)
				goto bad;
			o->tc_handle = v;
			break;
		case O_CAP:
			if (parse_u32(optarg, 1 << 24, &v) || v < 16)
				goto bad;
			o->pod_capacity = v;
			break;
		case O_FAIL_OPEN:
			o->fail_open = true;
			break;
		case O_NODE_ADDR:
			if (o->n_node_addrs == MAX_EXTRA_NODE_ADDRS ||
			    addr_key_parse(optarg,
					   &o->node_addrs[o->n_node_addrs]))
				goto bad;
			o->n_node_addrs++;
			break;
		case O_UID:
			if (parse_u32(optarg, 0xfffffffe, &v))
				goto bad;
			o->allow_uid = v;
			o->allow_uid_set = true;
			break;
		case O_GID:
			if (parse_u32(optarg, 0xfffffffe, &v))
				goto bad;
			o->allow_gid = v;
			o->allow_gid_set = true;
			break;
		case O_ATTACH:
			if (!strcmp(optarg, "auto"))
				o->attach = ATTACH_AUTO;
			else if (!strcmp(optarg, "tc"))
				o->attach = ATTACH_TC;
			else if (!strcmp(optarg, "tcx"))
				o->attach = ATTACH_TCX;
			else
				goto bad;
			break;
		case O_ALLOW_POD:
			o->allow_grants |= WIRE_ROLE_POD_WRITE;
			break;
		case O_ALLOW_ZT:
			o->allow_grants |= WIRE_ROLE_ZTUNNEL_WRITE;
			break;
		case O_LOG:
			lvl = log_level_from_name(optarg);
			if (lvl < 0)
				goto bad;
			log_set_level(lvl);
			break;
		case O_METRICS:
			metrics_addr = optarg;
			break;
		case O_PROBE:
			probe_only = true;
			break;
		case O_HELP:
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "redirectd: bad value '%s' for --%s\n", optarg,
		opts[c - O_SOCKET].name);
	return -EINVAL;
}

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

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

static int epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/*
 * Out of fds: the pending connection would wake epoll forever. Give up the
 * spare fd, accept the connection and close it (the client sees EOF), then
 * take the spare back.
 */
static void shed_connection(struct server *s)
{
	int fd;

	if (!s->fd_starved)
		pr_warn("out of file descriptors (%s); refusing clients",
			strerror(errno));
	s->fd_starved = true;
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One line per REFUSAL_LOG_MS at most, however many are refused. */
static void refused(struct server *s, const char *why, uid_t uid)
{
	uint64_t now = now_ms();

	s->refused++;
	if (s->refused_logged_ms && now - s->refused_logged_ms < REFUSAL_LOG_MS)
		return;
	pr_warn("refusing connections: %s (uid %u); %u refused since the "
		"last such line",
		why, (unsigned int)uid, s->refused);
	s->refused = 0;
	s->refused_logged_ms = now;
}

static unsigned int conns_of(const struct server *s, uid_t uid)
{
	unsigned int n = 0;

	for (const struct client_conn *c = s->clients; c; c = c->next)
		n += c->ctx.uid == uid;
	return n;
}

/* NULL if the peer may have another connection, else why not. */
static const char *over_limit(const struct server *s, uid_t uid)
{
	if (s->nclients >= MAX_CLIENTS)
		return "too many clients";
	if (!uid)
		return NULL;
	if (s->nclients >= MAX_CLIENTS - ROOT_RESERVED)
		return "only root's reserved slots are left";
	if (conns_of(s, uid) >= PER_UID_MAX)
		return "this uid holds its maximum of connections";
	return NULL;
}

static void accept_clients(struct server *s)
{
	unsigned int grants;
	const char *why;
	uid_t uid = 0;

	for (;;) {
		struct client_conn *c;
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			shed_connection(s);
			return;
		}
		if (fd < 0)
			return;
		s->fd_starved = false;
		grants = peer_grants(fd, &s->d.opts, &uid);
		why = grants ? over_limit(s, uid) : NULL;
		if (!grants || why) {
			if (why)
				refused(s, why, uid);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || epoll_add(s->epfd, fd, (uint64_t)(uintptr_t)c)) {
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
		c->next = s->clients;
		if (c->next)
			c->next->prev = c;
		s->clients = c;
		s->nclients++;
		s->d.clients = s->nclients;
	}
}

/* --- peers' descriptors --- */

static void set_rights(struct server *s, struct client_conn *c, bool on)
{
	int v = on;

	if (!s->passrights || c->rights == on)
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
static bool rights_due(const struct server *s, const struct client_conn *c)
{
	return c->ctx.hello_done && (c->ctx.grants & s->fd_roles) &&
	       !c->sent_junk && (!c->ctx.uid || !s->rights_paused);
}

static void rights_update_all(struct server *s)
{
	for (struct client_conn *c = s->clients; c; c = c->next)
		set_rights(s, c, rights_due(s, c));
}

/* The closer's bound is hit: non-root peers send no more for now. */
static void rights_pause(struct server *s)
{
	if (s->rights_paused)
		return;
	s->rights_paused = true;
	pr_warn("%zu descriptors sent by peers wait to be closed; non-root "
		"peers may send none until that is down to %d",
		closer_pending(), CLOSER_UNTRUSTED_MAX / 2);
	rights_update_all(s);
}

static void on_closer(struct server *s)
{
	if (!closer_resumed() || !s->rights_paused)
		return;
	s->rights_paused = false;
	pr_info("descriptors closed; peers may send netns fds again");
	rights_update_all(s);
}

/*
 * A descriptor redirectd does not keep. A netns is closed here (nsfs: its
 * close never blocks); anything else goes to the closer, and its sender
 * may send no more.
 */
static void drop_fd(struct server *s, struct client_conn *c, int fd)
{
	if (netns_fd_is_net(fd)) {
		close(fd);
		return;
	}
	c->sent_junk = true;
	if (closer_put(fd, !c->ctx.uid))
		rights_pause(s);
}

/*
 * The descriptors a message carried. The first goes with the request if
 * it is a netns (daemon_handle refuses it unless the request takes one,
 * from a peer allowed to send that request, after Hello), else the
 * request learns it was refused; every other one is dropped.
 */
static int take_fds(struct server *s, struct client_conn *c, struct msghdr *mh)
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
				drop_fd(s, c, f);
			else if (netns_fd_is_net(f))
				first = f;
			else {
				drop_fd(s, c, f);
				first = DAEMON_FD_REFUSED;
			}
		}
	}
	return first;
}

struct peer_msg {
	struct msghdr mh;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int) * PEER_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
};

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
static void close_peer(struct server *s, struct client_conn *c)
{
	struct peer_msg m;
	int tries = 64, f;

	if (s->passrights && !c->rights_ever) {
		close(c->fd); /* no descriptor ever reached it */
		return;
	}
	set_rights(s, c, false);
	shutdown(c->fd, SHUT_RDWR);
	while (queued_fds(c->fd) > 0 && tries--) {
		if (recv_msg(c->fd, s->buf, WIRE_MAX_MSG, &m) < 0)
			continue; /* ECONNRESET once, when it left unread data */
		f = take_fds(s, c, &m.mh);
		if (f >= 0)
			close(f); /* a netns */
	}
	if (queued_fds(c->fd))
		closer_put(c->fd, !c->ctx.uid);
	else
		close(c->fd);
}

static void drop_client(struct server *s, struct client_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->job)
		nsopen_abandon(c->job);
	if (c->held_fd >= 0)
		close(c->held_fd); /* a netns */
	free(c->held);
	close_peer(s, c);
	daemon_conn_close(&s->d, &c->ctx);
	c->gone = true;
	c->next = s->gone_clients;
	s->gone_clients = c;
	s->nclients--;
	s->d.clients = s->nclients;
}

/* --- requests --- */

static void send_reply(struct server *s, struct client_conn *c, Reply *reply)
{
	size_t len = wire_encode_reply(reply, s->out, WIRE_MAX_MSG);

	daemon_reply_release(reply);
	if (!len) {
		/* Too large for one packet (huge pod list): say so instead. */
		Reply small = AMBIENT_REDIRECT__V1__REPLY__INIT;

		small.id = reply->id;
		small.code = EC(CAPACITY);
		small.message = "reply larger than one packet";
		len = wire_encode_reply(&small, s->out, WIRE_MAX_MSG);
	}
	/* Before the reply: a peer sends its PodAdd once Hello is answered. */
	set_rights(s, c, rights_due(s, c));
	if (send(c->fd, s->out, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* A client that does not read its replies is let go. */
		drop_client(s, c);
	}
}

static void run_request(struct server *s, struct client_conn *c, uint8_t *buf,
			size_t len, bool trunc, int fd);

/*
 * The request's netns path: from the kernel's caches if that cannot
 * block (a CNI runtime's /var/run/netns/X, as a rule), else the request
 * waits, its connection unread, while the path opens off the loop
 * (nsopen); every other peer goes on being served.
 */
static void park(struct server *s, struct client_conn *c, uint8_t *buf,
		 size_t len, bool trunc, int fd)
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
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			return;
		}
		free(c->held);
		c->held = NULL;
	}
	/* res: the netns, opened from the caches, or why there is none */
	c->ctx.path.ready = true;
	c->ctx.path.fd = res;
	run_request(s, c, buf, len, trunc, fd);
}

static void run_request(struct server *s, struct client_conn *c, uint8_t *buf,
			size_t len, bool trunc, int fd)
{
	Reply reply;

	if (daemon_handle(&s->d, &c->ctx, buf, len, trunc, fd, &reply))
		send_reply(s, c, &reply);
	else
		park(s, c, buf, len, trunc, fd);
}

/* The path is open (or failed, or timed out): run the request now. */
static void unpark(struct server *s, struct client_conn *c, int path_fd)
{
	uint8_t *held = c->held;
	int fd;

	c->job = NULL;
	c->held = NULL;
	c->ctx.path.ready = true;
	c->ctx.path.fd = path_fd;
	if (epoll_add(s->epfd, c->fd, (uint64_t)(uintptr_t)c))
		pr_warn("epoll: %s", strerror(errno));
	fd = c->held_fd;
	c->held_fd = -1; /* the request's from now on */
	run_request(s, c, held, c->held_len, c->held_trunc, fd);
	free(held); /* c may be gone: run_request drops a deaf peer */
}

static void path_opened(void *owner, int fd, void *arg)
{
	unpark(arg, owner, fd);
}

static void on_nsopen(struct server *s)
{
	nsopen_reap(path_opened, s);
}

/* Requests whose path did not open in time are answered (NETNS). */
static void expire_parked(struct server *s, uint64_t now)
{
	struct client_conn *c, *next;

	for (c = s->clients; c; c = next) {
		next = c->next;
		if (!c->job || now - c->parked_ms <= PATH_DEADLINE_MS)
			continue;
		nsopen_abandon(c->job);
		unpark(s, c, -ETIMEDOUT);
	}
}

/*
 * A path the daemon journaled, at start or SIGHUP (daemon_reconcile): the
 * loop waits for it a second at most, and once one did not resolve, the
 * next ones for 10 s only a little, so a pass over many stalled paths
 * stays short (and past NSOPEN_THREADS_MAX stuck ones, none is tried).
 */
static int journaled_path_open(const char *path)
{
	static uint64_t stalled_ms;
	bool recent = stalled_ms && now_ms() - stalled_ms < 10000;
	int fd = netns_open_cached(path);

	if (fd != -EAGAIN)
		return fd;
	fd = nsopen_wait(path, recent ? 100 : JOURNALED_PATH_MS);
	if (fd == -ETIMEDOUT)
		stalled_ms = now_ms();
	return fd;
}

static void serve_client(struct server *s, struct client_conn *c)
{
	struct peer_msg m;
	ssize_t n;
	int fd;

	if (c->gone)
		return;
	n = recv_msg(c->fd, s->buf, WIRE_MAX_MSG, &m);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(s, c);
		return;
	}
	fd = take_fds(s, c, &m.mh);
	if (c->sent_junk)
		set_rights(s, c, false);
	c->last_ms = now_ms();
	run_request(s, c, s->buf, (size_t)n,
		    (m.mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0, fd);
}

/* Address changes: resync node_addrs a little later, once per burst. */
static int open_addr_monitor(struct server *s)
{
	/* links too: a pod's veth can vanish without a delete reaching us */
	unsigned int groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
			      RTMGRP_LINK;

	s->addr_mon =
		mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!s->addr_mon || mnl_socket_bind(s->addr_mon, groups, 0))
		return -errno;
	s->addr_fd = mnl_socket_get_fd(s->addr_mon);
	s->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timer_fd < 0)
		return -errno;
	return 0;
}

static void on_addr_event(struct server *s)
{
	struct itimerspec its = {
		.it_value = { .tv_nsec = ADDR_RESYNC_DELAY_MS * 1000000L }
	};

	ssize_t n;

	while ((n = mnl_socket_recvfrom(s->addr_mon, s->buf, WIRE_MAX_MSG)) >
	       0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)s->buf;
		int len = (int)n;

		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			if (nlh->nlmsg_type == RTM_DELLINK)
				s->prune_pending = true;
	}
	timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void on_timer(struct server *s)
{
	uint64_t ticks;
	int err;

	if (read(s->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	err = daemon_sync_node_addrs(&s->d);
	if (err)
		pr_warn("node address resync: %s", strerror(-err));
	if (s->prune_pending) {
		s->prune_pending = false;
		daemon_prune_gone(&s->d);
	}
}

static void scrape_close(struct server *s, struct metrics_conn *m)
{
	for (int i = 0; i < MAX_METRICS_CONNS; i++)
		if (s->scrapes[i] == m)
			s->scrapes[i] = NULL;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, m->fd, NULL);
	close(m->fd);
	m->gone = true;
	m->next_gone = s->gone_scrapes;
	s->gone_scrapes = m;
}

/* Free what this batch of events closed: no event can name it any more. */
static void bury(struct server *s)
{
	while (s->gone_clients) {
		struct client_conn *c = s->gone_clients;

		s->gone_clients = c->next;
		free(c);
	}
	while (s->gone_scrapes) {
		struct metrics_conn *m = s->gone_scrapes;

		s->gone_scrapes = m->next_gone;
		free(m);
	}
}

static int oldest_scrape(const struct server *s)
{
	int old = 0;

	for (int i = 1; i < MAX_METRICS_CONNS; i++)
		if (s->scrapes[i]->since_ms < s->scrapes[old]->since_ms)
			old = i;
	return old;
}

static int scrape_slot(struct server *s)
{
	for (int i = 0; i < MAX_METRICS_CONNS; i++)
		if (!s->scrapes[i])
			return i;
	return -1;
}

static void accept_scrapes(struct server *s)
{
	for (;;) {
		int fd = accept4(s->metrics_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		int slot;
		struct metrics_conn *m;

		if (fd < 0)
			return;
		slot = scrape_slot(s);
		if (slot < 0) {
			/* full of silent ones: the oldest makes room */
			scrape_close(s, s->scrapes[oldest_scrape(s)]);
			slot = scrape_slot(s);
		}
		m = slot < 0 ? NULL : calloc(1, sizeof(*m));
		if (!m ||
		    epoll_add(s->epfd, fd, (uintptr_t)m | EV_SCRAPE_BIT)) {
			/* busy: scrapers retry; never let them pile up */
			free(m);
			close(fd);
			continue;
		}
		m->fd = fd;
		m->since_ms = now_ms();
		s->scrapes[slot] = m;
	}
}

/* Answer once the request's headers are in (or the buffer is full). */
static void serve_scrape(struct server *s, struct metrics_conn *m)
{
	ssize_t n;

	if (m->gone)
		return;
	n = recv(m->fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len,
		 MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		scrape_close(s, m);
		return;
	}
	m->len += (size_t)n;
	m->buf[m->len] = '\0';
	if (!strstr(m->buf, "\r\n\r\n") && !strstr(m->buf, "\n\n") &&
	    m->len < sizeof(m->buf) - 1)
		return;
	metrics_respond(&s->d, m->fd, m->buf, m->len);
	scrape_close(s, m);
}

/*
 * Once a second: connections that never said Hello, non-root ones idle
 * too long, and scrapes that did not finish in time are closed.
 */
static void on_sweep(struct server *s)
{
	uint64_t ticks, now = now_ms();
	unsigned int silent = 0, idle = 0;
	struct client_conn *c, *next;

	if (read(s->sweep_fd, &ticks, sizeof(ticks)) < 0)
		return;
	expire_parked(s, now);
	for (c = s->clients; c; c = next) {
		next = c->next;
		if (!c->ctx.hello_done &&
		    now - c->since_ms > HELLO_DEADLINE_MS) {
			silent++;
			drop_client(s, c);
		} else if (c->ctx.uid && now - c->last_ms > IDLE_MS) {
			idle++;
			drop_client(s, c);
		}
	}
	for (int i = 0; i < MAX_METRICS_CONNS; i++)
		if (s->scrapes[i] &&
		    now - s->scrapes[i]->since_ms > SCRAPE_DEADLINE_MS)
			scrape_close(s, s->scrapes[i]);
	daemon_watch_order(&s->d, false);
	if (silent || idle)
		pr_info("closed %u connections without a Hello in %d ms and "
			"%u idle for %d ms",
			silent, HELLO_DEADLINE_MS, idle, IDLE_MS);
}

static int setup_sweep(struct server *s)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = SWEEP_MS / 1000 },
		.it_interval = { .tv_sec = SWEEP_MS / 1000 },
	};

	s->sweep_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->sweep_fd < 0 || timerfd_settime(s->sweep_fd, 0, &its, NULL))
		return -errno;
	return epoll_add(s->epfd, s->sweep_fd, EV_SWEEP);
}

static int setup_metrics(struct server *s)
{
	s->metrics_fd = -1;
	if (!metrics_addr)
		return 0;
	s->metrics_fd = metrics_listen(metrics_addr);
	if (s->metrics_fd < 0)
		return pr_ret(s->metrics_fd, "metrics on %s: %s", metrics_addr,
			      strerror(-s->metrics_fd));
	s->metrics_addr_unix = !strncmp(metrics_addr, "unix:", 5);
	pr_info("metrics at %s/metrics", metrics_addr);
	return epoll_add(s->epfd, s->metrics_fd, EV_METRICS);
}

static int setup_signals(struct server *s)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return s->sig_fd < 0 ? -errno : 0;
}

static void on_signal(struct server *s)
{
	struct signalfd_siginfo si;

	if (read(s->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		pr_info("SIGHUP: reconciling");
		daemon_reconcile(&s->d);
		return;
	}
	pr_info("signal %u: stopping; the datapath stays in place",
		si.ssi_signo);
	s->stop = true;
}

static int run(struct server *s)
{
	struct epoll_event evs[64];

	pr_info("redirectd %s serving %s", REDIRECT_VERSION,
		s->d.opts.socket_path);
	while (!s->stop) {
		int n = epoll_wait(s->epfd, evs, 64, -1);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == EV_LISTEN)
				accept_clients(s);
			else if (tag == EV_SIGNAL)
				on_signal(s);
			else if (tag == EV_ADDR)
				on_addr_event(s);
			else if (tag == EV_TIMER)
				on_timer(s);
			else if (tag == EV_METRICS)
				accept_scrapes(s);
			else if (tag == EV_SWEEP)
				on_sweep(s);
			else if (tag == EV_CLOSER)
				on_closer(s);
			else if (tag == EV_NSOPEN)
				on_nsopen(s);
			else if (tag & EV_SCRAPE_BIT)
				serve_scrape(
					s,
					(struct metrics_conn
						 *)(uintptr_t)(tag &
							       ~(uint64_t)
								       EV_SCRAPE_BIT));
			else
				serve_client(
					s,
					(struct client_conn *)(uintptr_t)tag);
		}
		bury(s);
	}
	return 0;
}

static int setup(struct server *s)
{
	int err;

	s->metrics_fd = -1;
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->buf = malloc(WIRE_MAX_MSG);
	s->out = malloc(WIRE_MAX_MSG);
	if (!s->buf || !s->out)
		return -ENOMEM;
	err = setup_signals(s);
	if (err)
		return err;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	err = open_addr_monitor(s);
	if (err)
		return pr_ret(err, "address monitor: %s", strerror(-err));
	s->listen_fd = listen_socket(s->d.opts.socket_path, &s->d.opts,
				     &s->passrights);
	if (s->listen_fd < 0)
		return s->listen_fd;
	if ((err = epoll_add(s->epfd, s->listen_fd, EV_LISTEN)) ||
	    (err = epoll_add(s->epfd, s->sig_fd, EV_SIGNAL)) ||
	    (err = epoll_add(s->epfd, s->addr_fd, EV_ADDR)) ||
	    (err = epoll_add(s->epfd, s->timer_fd, EV_TIMER)) ||
	    (err = epoll_add(s->epfd, closer_event_fd(), EV_CLOSER)) ||
	    (err = epoll_add(s->epfd, nsopen_event_fd(), EV_NSOPEN)) ||
	    (err = setup_sweep(s)))
		return err;
	err = setup_metrics(s);
	if (err)
		return err;
	return 0;
}

static void teardown(struct server *s)
{
	/* clients still connected: close them, free what they hold */
	while (s->clients)
		drop_client(s, s->clients);
	if (s->listen_fd > 0) {
		close(s->listen_fd);
		unlink(s->d.opts.socket_path);
	}
	if (s->addr_mon)
		mnl_socket_close(s->addr_mon);
	if (s->timer_fd > 0)
		close(s->timer_fd);
	if (s->sweep_fd > 0)
		close(s->sweep_fd);
	if (s->sig_fd > 0)
		close(s->sig_fd);
	if (s->epfd > 0)
		close(s->epfd);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	for (int i = 0; i < MAX_METRICS_CONNS; i++)
		if (s->scrapes[i])
			scrape_close(s, s->scrapes[i]);
	if (s->metrics_fd > 0)
		close(s->metrics_fd);
	if (s->metrics_addr_unix)
		unlink(metrics_addr + 5);
	bury(s);
	free(s->buf);
	free(s->out);
	closer_stop();
	nsopen_stop();
}

/*
 * Exactly one redirectd owns a pin folder and a journal. A second one
 * would load, swap every hook and compact (rename over) the journal
 * before it finds the socket served, and the first would go on writing
 * to the file it renamed away: its later pods lost at its next start.
 * So both are locked (flock, not waiting) before anything is loaded,
 * written, unlinked or bound; the locks go with the process.
 */
static int lock_fd(int fd, const char *what, const char *path)
{
	if (fd < 0)
		return pr_ret(-errno, "lock %s %s: %s", what, path,
			      strerror(errno));
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	if (errno == EWOULDBLOCK)
		pr_err("another redirectd owns the %s %s; not starting "
		       "(nothing was touched)",
		       what, path);
	else
		pr_err("lock %s %s: %s", what, path, strerror(errno));
	close(fd);
	return -EBUSY;
}

/* The journal's lock: a file beside it (the journal itself is renamed). */
static int lock_journal(const char *state_file)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s.lock", state_file) >=
	    (int)sizeof(path))
		return pr_ret(-ENAMETOOLONG, "state path too long");
	return lock_fd(open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			    0600),
		       "journal", state_file);
}

/* The pin folder's lock: the folder itself (bpffs holds no plain files). */
static int lock_pins(const char *dir)
{
	int err = access(dir, F_OK) ? bpffs_prepare(dir) : 0;

	if (err)
		return err;
	return lock_fd(open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
		       "pin folder", dir);
}

static int owned[2] = { -1, -1 }; /* the locked journal and pin folder */

static int take_ownership(const struct daemon_opts *o)
{
	int jfd = lock_journal(o->state_file), pfd;

	if (jfd < 0)
		return jfd;
	pfd = lock_pins(o->bpffs);
	if (pfd < 0) {
		close(jfd);
		return pfd;
	}
	owned[0] = jfd;
	owned[1] = pfd;
	return 0;
}

/*
 * Dropped by hand once nothing more is written: a thread stuck for good
 * in a peer's FUSE file system (a close or a lookup that server never
 * answers) keeps the process from ending, and the next daemon must not
 * wait for that.
 */
static void release_ownership(void)
{
	for (int i = 0; i < 2; i++)
		if (owned[i] >= 0)
			close(owned[i]);
}

/* One fd per client and per ztunnel netns: take what the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		pr_warn("RLIMIT_NOFILE: %s", strerror(errno));
}

/* `redirectd --probe`: one line per feature on stdout. */
static int print_probe(const struct probe_result *r)
{
	bool ok = probe_required_ok(r);

	for (int f = 0; f < PROBE_MAX; f++)
		printf("%-14s %s%s%s\n", probe_name(f),
		       r->have[f] ? "present" : "MISSING",
		       r->have[f] ? "" : ": ",
		       r->have[f] ? "" : probe_consequence(f));
	printf("redirectd %s run on this kernel\n", ok ? "can" : "cannot");
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct server s;
	struct daemon_opts opts = { 0 };
	struct probe_result pr;
	int err;

	if (parse_args(argc, argv, &opts))
		return 2;
	/* Off the event loop: netns paths, and closing peers' descriptors. */
	opts.defer_paths = true;
	opts.open_journaled = journaled_path_open;
	s.fd_roles = wire_fd_roles();
	log_route_libbpf();
	raise_nofile();
	probe_run(&pr);
	if (probe_only)
		return print_probe(&pr);
	probe_log(&pr);
	if (!probe_required_ok(&pr)) {
		pr_err("this kernel lacks what redirectd needs (see above); "
		       "not starting");
		return 1;
	}
	err = make_parent_dir(opts.state_file);
	if (!err)
		err = take_ownership(&opts);
	if (!err)
		err = closer_start();
	if (!err)
		err = nsopen_start();
	if (err == -EBUSY)
		return 1;
	if (!err)
		err = daemon_init(&s.d, &opts);
	if (err) {
		pr_err("start failed: %s", strerror(-err));
		return 1;
	}
	probe_format(&pr, s.d.features, sizeof(s.d.features));
	err = daemon_reconcile(&s.d);
	if (err)
		pr_warn("reconcile finished with errors: %s", strerror(-err));
	err = setup(&s);
	if (!err)
		err = run(&s);
	if (err)
		pr_err("redirectd: %s", strerror(-err));
	teardown(&s);
	/* The datapath stays in place. */
	daemon_fini(&s.d);
	release_ownership();
	return err ? 1 : 0;
}
