// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-datapath test: the real tc programs on real veths between real
 * network namespaces, with a stand-in ztunnel (transparent sockets) in its
 * own netns. Each case sends real TCP or UDP and checks which socket it
 * reached, what that socket saw as original destination and peer, that
 * bytes flow both ways, and which decision counters moved.
 *
 *   ar<pid>-a   meshed pod      eth0 10.211.1.2  fd00:211:1::2  <-> va
 *   ar<pid>-b   meshed pod      eth0 10.211.2.2  fd00:211:2::2  <-> vb
 *   ar<pid>-c   non-meshed pod  eth0 10.211.3.2  fd00:211:3::2  <-> vc
 *   ar<pid>-zt  ztunnel         eth0 10.211.9.2  fd00:211:9::2  <-> vz
 *   ar<pid>-node holds va/vb/vc/vz with .1 / ::1 of each /24 and /64 and
 *   forwards between them.
 *
 * Runs as root and touches only the namespaces and the bpffs folder it
 * creates. The process stays single-threaded: it setns()es into a netns to
 * create a socket or run a command there and comes straight back; sockets
 * keep their netns, so every socket is driven from here with poll().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <CUnit/Basic.h>
#include "addr.h"
#include "datapath.h"
#include "log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define PIN_DIR_FMT "/sys/fs/bpf/ar-test-dp-%d"
#define NETNS_DIR "/var/run/netns"
#define IO_TIMEOUT_MS 2000 /* an expected event that takes longer failed */
#define FAIL_CONNECT_MS 1000 /* how long a connect that must fail gets */
#define QUIET_MS 150 /* how long "nothing arrives" is watched */
#define SETTLE_US 30000 /* let the previous case's last packets land */
#define BULK_LEN (64 * 1024) /* several segments, GSO sized on veth */
#define PORT_APP 8080 /* B's real server */
#define PORT_UDP_APP 5353
#define PORT_NODE 9000 /* a server in the node netns */
#define FRAG_LEN 3000 /* one UDP datagram, fragmented at the 1500 MTU */
#define OUR_PRIO 1
#define FOREIGN_PRIO 2 /* after ours */

enum ns_id { NS_NODE, NS_A, NS_B, NS_C, NS_ZT, NS_MAX };
enum fam { V4, V6, FAM_MAX };
enum zt_tcp { ZT_OUT, ZT_IN, ZT_HBONE, ZT_TCP_MAX };
enum zt_udp { ZTU_OUT, ZTU_IN, ZTU_DNS, ZT_UDP_MAX };

static const int zt_tcp_port[ZT_TCP_MAX] = { ZT_PORT_OUTBOUND, ZT_PORT_INBOUND,
					     ZT_PORT_HBONE };
static const int zt_udp_port[ZT_UDP_MAX] = { ZT_PORT_OUTBOUND, ZT_PORT_INBOUND,
					     ZT_PORT_DNS };

/*
 * One pod-like endpoint: its netns, veth pair and addresses. `net` numbers
 * its subnet (10.211.<net>.0/24, fd00:211:<net>::/64) and its MACs:
 * 02:a7:00:00:<net>:02 for eth0, ...:01 for the host side.
 */
struct endpoint {
	const char *suffix; /* netns name: ar<pid>-<suffix> */
	const char *host_if; /* host-side veth, in the node netns */
	const char *addr[FAM_MAX]; /* eth0's addresses */
	const char *gw[FAM_MAX]; /* host veth's addresses, the default gw */
	__u8 net;
	bool meshed;
};

static const struct endpoint eps[NS_MAX] = {
	[NS_NODE] = { .suffix = "node" },
	[NS_A] = { .suffix = "a",
		   .host_if = "va",
		   .addr = { "10.211.1.2", "fd00:211:1::2" },
		   .gw = { "10.211.1.1", "fd00:211:1::1" },
		   .net = 1,
		   .meshed = true },
	[NS_B] = { .suffix = "b",
		   .host_if = "vb",
		   .addr = { "10.211.2.2", "fd00:211:2::2" },
		   .gw = { "10.211.2.1", "fd00:211:2::1" },
		   .net = 2,
		   .meshed = true },
	[NS_C] = { .suffix = "c",
		   .host_if = "vc",
		   .addr = { "10.211.3.2", "fd00:211:3::2" },
		   .gw = { "10.211.3.1", "fd00:211:3::1" },
		   .net = 3,
		   .meshed = false },
	[NS_ZT] = { .suffix = "zt",
		    .host_if = "vz",
		    .addr = { "10.211.9.2", "fd00:211:9::2" },
		    .gw = { "10.211.9.1", "fd00:211:9::1" },
		    .net = 9,
		    .meshed = false },
};

/* The endpoint's eth0 MAC, or with host set its host-side veth's. */
static void ep_mac(enum ns_id id, bool host, __u8 *mac)
{
	const __u8 m[6] = { 0x02, 0xa7, 0x00, 0x00, eps[id].net, host ? 1 : 2 };

	memcpy(mac, m, sizeof(m));
}

static struct {
	int root_ns; /* where we started; every step returns here */
	int ns_fd[NS_MAX];
	bool ns_made[NS_MAX];
	char ns_name[NS_MAX][32];
	int host_ifindex[NS_MAX]; /* host-side veths, node netns */
	struct datapath dp;
	bool dp_loaded;
	char pin_dir[64];
	int zt_tcp[ZT_TCP_MAX][FAM_MAX]; /* ztunnel's listeners */
	int zt_udp[ZT_UDP_MAX][FAM_MAX];
	int b_listen[FAM_MAX]; /* B's real server on PORT_APP */
	int node_listen[FAM_MAX]; /* node server on A's gateway address */
	int c_dns[FAM_MAX]; /* a DNS server (UDP 53) in non-meshed C */
	unsigned int skipped;
	char skip_reason[160];
} T;

/* ---------- assertions that return, so a case can stop and clean up ---- */

#define EXPECT(cond)                                                          \
	CU_assertImplementation((cond) ? CU_TRUE : CU_FALSE, __LINE__, #cond, \
				__FILE__, "", CU_FALSE)
#define EXPECT_OK(err, what) expect_ok((err), (what), __LINE__)

/* An errno-style result that must be 0; the message says what and why. */
static bool expect_ok(int err, const char *what, unsigned int line)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "%s: %s", what, err ? strerror(-err) : "ok");
	return CU_assertImplementation(err == 0 ? CU_TRUE : CU_FALSE, line, msg,
				       __FILE__, "", CU_FALSE);
}

static void skip(const char *why)
{
	printf("\n    SKIP: %s\n", why);
	T.skipped++;
}

/* ---------- network namespaces and commands ---------- */

static int af_of(enum fam f)
{
	return f == V4 ? AF_INET : AF_INET6;
}

static int ns_enter(enum ns_id id)
{
	return setns(T.ns_fd[id], CLONE_NEWNET) ? -errno : 0;
}

static void ns_return(void)
{
	if (setns(T.root_ns, CLONE_NEWNET))
		fprintf(stderr, "setns back to our netns: %s\n",
			strerror(errno));
}

static int vrun(const char *fmt, va_list ap)
{
	char cmd[512];
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "command failed: %s\n", cmd);
		return -EIO;
	}
	return 0;
}

static __attribute__((format(printf, 1, 2))) int run(const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vrun(fmt, ap);
	va_end(ap);
	return err;
}

/* Run a command inside netns id (like nsenter --net=... CMD). */
static __attribute__((format(printf, 2, 3))) int ns_run(enum ns_id id,
							const char *fmt, ...)
{
	va_list ap;
	int err = ns_enter(id);

	if (err)
		return err;
	va_start(ap, fmt);
	err = vrun(fmt, ap);
	va_end(ap);
	ns_return();
	return err;
}

/* nsenter --net=/var/run/netns/NS sysctl -w KEY=VAL (KEY with slashes) */
static int ns_sysctl(enum ns_id id, const char *key, const char *val)
{
	char path[160];
	int fd, err = ns_enter(id);

	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		err = -errno;
	if (fd >= 0)
		close(fd);
	ns_return();
	if (err)
		fprintf(stderr, "sysctl %s=%s in %s: %s\n", key, val,
			T.ns_name[id], strerror(-err));
	return err;
}

/* A socket that lives in netns id; non-blocking, driven with poll(). */
static int ns_socket(enum ns_id id, int af, int type)
{
	int fd, err = ns_enter(id);

	if (err)
		return err;
	fd = socket(af, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		err = -errno;
	ns_return();
	return fd < 0 ? err : fd;
}

static int ns_ifindex(enum ns_id id, const char *ifname)
{
	int idx, err = ns_enter(id);

	if (err)
		return err;
	idx = (int)if_nametoindex(ifname);
	err = idx ? 0 : -errno;
	ns_return();
	return idx ? idx : err;
}

/* ---------- addresses ---------- */

static socklen_t sa_make(enum fam f, const char *addr, int port,
			 struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (f == V4) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((__u16)port);
		if (addr)
			inet_pton(AF_INET, addr, &s4->sin_addr);
		return sizeof(*s4);
	}
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((__u16)port);
	if (addr)
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
	return sizeof(*s6);
}

static const char *sa_str(const struct sockaddr_storage *ss, char *buf,
			  size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		port = ntohs(s->sin6_port);
	}
	snprintf(buf, len, ss->ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", a,
		 port);
	return buf;
}

/* Does ss hold exactly addr:port? Says what it got when it does not. */
static bool expect_sa(const struct sockaddr_storage *ss, enum fam f,
		      const char *addr, int port, const char *what,
		      unsigned int line)
{
	struct sockaddr_storage want;
	char got_s[64], want_s[64], msg[200];
	bool same;

	sa_make(f, addr, port, &want);
	sa_str(ss, got_s, sizeof(got_s));
	sa_str(&want, want_s, sizeof(want_s));
	same = !strcmp(got_s, want_s);
	snprintf(msg, sizeof(msg), "%s is %s, want %s", what, got_s, want_s);
	return CU_assertImplementation(same ? CU_TRUE : CU_FALSE, line, msg,
				       __FILE__, "", CU_FALSE);
}

#define EXPECT_SA(ss, f, addr, port, what) \
	expect_sa((ss), (f), (addr), (port), (what), __LINE__)

static int sock_name(int fd, bool peer, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	int r = peer ? getpeername(fd, (struct sockaddr *)ss, &len) :
		       getsockname(fd, (struct sockaddr *)ss, &len);

	return r ? -errno : 0;
}

static int sock_port(int fd)
{
	struct sockaddr_storage ss;

	if (sock_name(fd, false, &ss))
		return -1;
	return ntohs(ss.ss_family == AF_INET ?
			     ((struct sockaddr_in *)&ss)->sin_port :
			     ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* ---------- socket I/O with deadlines ---------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

static int accept_within(int lfd, int ms)
{
	int fd, err = wait_fd(lfd, POLLIN, ms);

	if (err)
		return err;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int connect_start(int fd, enum fam f, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sa_make(f, addr, port, &ss);

	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		return -errno;
	return 0;
}

static int connected_within(int fd, int ms)
{
	int soerr = 0, err = wait_fd(fd, POLLOUT, ms);
	socklen_t len = sizeof(soerr);

	if (err)
		return err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return -errno;
	return -soerr;
}

/*
 * Send len pattern bytes from src and read them at dst in one poll loop
 * (one thread: neither side may block on the other).
 */
static int pump(int src, int dst, size_t len, __u8 seed)
{
	static __u8 out[BULK_LEN], in[BULK_LEN];
	long long deadline = now_ms() + IO_TIMEOUT_MS;
	size_t sent = 0, got = 0;

	if (len > BULK_LEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		out[i] = (__u8)(seed + i * 7 + (i >> 8));
	while (got < len) {
		struct pollfd p[2] = {
			{ .fd = src, .events = sent < len ? POLLOUT : 0 },
			{ .fd = dst, .events = POLLIN },
		};
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(p, 2, (int)left) == 0)
			return -ETIMEDOUT;
		if (p[0].revents & (POLLOUT | POLLERR)) {
			n = send(src, out + sent, len - sent, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN)
				return -errno;
			sent += n > 0 ? (size_t)n : 0;
		}
		if (p[1].revents & (POLLIN | POLLERR | POLLHUP)) {
			n = recv(dst, in + got, len - got, 0);
			if (n == 0)
				return -ECONNRESET;
			if (n < 0 && errno != EAGAIN)
				return -errno;
			got += n > 0 ? (size_t)n : 0;
		}
	}
	return memcmp(out, in, len) ? -EBADMSG : 0;
}

/* Close with RST: no FIN exchange or TIME_WAIT left for later cases. */
static void close_rst(int *fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (*fd < 0)
		return;
	setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(*fd);
	*fd = -1;
}

/* Nothing must arrive at fd for a while: it was not meant to see it. */
static bool expect_quiet(int fd, const char *what, unsigned int line)
{
	char msg[160];
	int err = wait_fd(fd, POLLIN, QUIET_MS);

	snprintf(msg, sizeof(msg), "%s received something it must not", what);
	return CU_assertImplementation(err == -ETIMEDOUT ? CU_TRUE : CU_FALSE,
				       line, msg, __FILE__, "", CU_FALSE);
}

#define EXPECT_QUIET(fd, what) expect_quiet((fd), (what), __LINE__)

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) ? -errno : 0;
}

/* IP_TRANSPARENT: bind and send with addresses that are not ours. */
static int set_transparent(int fd, enum fam f)
{
	return f == V4 ? set_int(fd, SOL_IP, IP_TRANSPARENT, 1) :
			 set_int(fd, SOL_IPV6, IPV6_TRANSPARENT, 1);
}

static int bind_to(int fd, enum fam f, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = sa_make(f, addr, port, &ss);

	return bind(fd, (struct sockaddr *)&ss, len) ? -errno : 0;
}

/*
 * A server socket in netns id on addr (NULL: wildcard) and port; ztunnel's
 * are transparent and its UDP ones report the original destination.
 */
static int open_server(enum ns_id id, enum fam f, int type, const char *addr,
		       int port, bool ztunnel)
{
	int fd = ns_socket(id, af_of(f), type), err = 0;

	if (fd < 0)
		return fd;
	err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!err && f == V6)
		err = set_int(fd, SOL_IPV6, IPV6_V6ONLY, 1);
	if (!err && ztunnel)
		err = set_transparent(fd, f);
	if (!err && ztunnel && type == SOCK_DGRAM)
		err = f == V4 ? set_int(fd, SOL_IP, IP_RECVORIGDSTADDR, 1) :
				set_int(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, 1);
	if (!err)
		err = bind_to(fd, f, addr, port);
	if (!err && type == SOCK_STREAM && listen(fd, 16))
		err = -errno;
	if (err) {
		fprintf(stderr, "server %s port %d in %s: %s\n",
			addr ? addr : "*", port, T.ns_name[id], strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

/* Throw away whatever an earlier case left queued at a server. */
static void drain(int fd, int type)
{
	char buf[2048];
	int c;

	if (fd < 0)
		return;
	if (type == SOCK_DGRAM) {
		while (recv(fd, buf, sizeof(buf), 0) >= 0)
			;
		return;
	}
	while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close_rst(&c);
}

static void drain_all(void)
{
	for (int f = 0; f < FAM_MAX; f++) {
		for (int p = 0; p < ZT_TCP_MAX; p++)
			drain(T.zt_tcp[p][f], SOCK_STREAM);
		for (int p = 0; p < ZT_UDP_MAX; p++)
			drain(T.zt_udp[p][f], SOCK_DGRAM);
		drain(T.b_listen[f], SOCK_STREAM);
		drain(T.node_listen[f], SOCK_STREAM);
		drain(T.c_dns[f], SOCK_DGRAM);
	}
}

/* ---------- decision counters ---------- */

struct counts {
	struct counter_value before[CNT_MAX];
	struct counter_value after[CNT_MAX];
	unsigned int failures; /* CUnit failures when the case began */
};

static void counts_begin(struct counts *c)
{
	memset(c, 0, sizeof(*c));
	c->failures = CU_get_number_of_failures();
	if (dp_counters_read(&T.dp, c->before))
		fprintf(stderr, "reading counters failed\n");
}

static void counts_end(struct counts *c)
{
	if (dp_counters_read(&T.dp, c->after))
		fprintf(stderr, "reading counters failed\n");
}

static __u64 cnt(const struct counts *c, enum redirect_counter id)
{
	return c->after[id].packets - c->before[id].packets;
}

/*
 * On a failed case (or always with DP_TEST_VERBOSE set), show every
 * decision that was taken meanwhile.
 */
static void counts_report(const struct counts *c)
{
	if (CU_get_number_of_failures() == c->failures &&
	    !getenv("DP_TEST_VERBOSE"))
		return;
	printf("\n    decisions taken during this case:\n");
	for (int id = 0; id < CNT_MAX; id++)
		if (cnt(c, id))
			printf("      %-16s %-28s +%llu\n", counter_prog(id),
			       counter_decision(id),
			       (unsigned long long)cnt(c, id));
}

static bool expect_count(const struct counts *c, enum redirect_counter id,
			 __u64 min, __u64 max, unsigned int line)
{
	char msg[200];
	__u64 n = cnt(c, id);

	if (max == min)
		snprintf(msg, sizeof(msg), "%s/%s rose by %llu, want %llu",
			 counter_prog(id), counter_decision(id),
			 (unsigned long long)n, (unsigned long long)min);
	else
		snprintf(msg, sizeof(msg), "%s/%s rose by %llu, want >= %llu",
			 counter_prog(id), counter_decision(id),
			 (unsigned long long)n, (unsigned long long)min);
	return CU_assertImplementation(n >= min && n <= max ? CU_TRUE :
							      CU_FALSE,
				       line, msg, __FILE__, "", CU_FALSE);
}

#define EXPECT_CNT_MIN(c, id, n) \
	expect_count((c), (id), (n), UINT64_MAX, __LINE__)
#define EXPECT_CNT_NONE(c, id) expect_count((c), (id), 0, 0, __LINE__)

/* Each case starts from drained servers and a quiet datapath. */
static void case_begin(struct counts *c)
{
	drain_all();
	usleep(SETTLE_US);
	drain_all();
	counts_begin(c);
}

/* ---------- one TCP connection, checked end to end ---------- */

struct flow {
	int client, server;
};

static void flow_close(struct flow *fl)
{
	close_rst(&fl->client);
	close_rst(&fl->server);
}

/*
 * fl->client (created and maybe bound by the caller) connects to dst:port.
 * The connection must come up at listener lfd, whose accepted socket sees
 * dst:port as its local address (the original destination) and peer:<the
 * client's port> as its peer; then BULK_LEN bytes go each way.
 */
static bool flow_run(struct flow *fl, enum fam f, const char *dst, int port,
		     int lfd, const char *peer)
{
	struct sockaddr_storage ss;

	if (!EXPECT_OK(connect_start(fl->client, f, dst, port), "connect"))
		return false;
	fl->server = accept_within(lfd, IO_TIMEOUT_MS);
	if (!EXPECT_OK(fl->server < 0 ? fl->server : 0,
		       "accept at the expected listener"))
		return false;
	if (!EXPECT_OK(sock_name(fl->server, false, &ss), "getsockname") ||
	    !EXPECT_SA(&ss, f, dst, port, "accepted socket's local address"))
		return false;
	if (!EXPECT_OK(sock_name(fl->server, true, &ss), "getpeername") ||
	    !EXPECT_SA(&ss, f, peer, sock_port(fl->client),
		       "accepted socket's peer"))
		return false;
	if (!EXPECT_OK(connected_within(fl->client, IO_TIMEOUT_MS),
		       "client connection established"))
		return false;
	return EXPECT_OK(pump(fl->client, fl->server, BULK_LEN, 1),
			 "bytes client -> server") &&
	       EXPECT_OK(pump(fl->server, fl->client, BULK_LEN, 2),
			 "bytes server -> client");
}

/* A plain client socket in netns `from`, connecting as that pod. */
static bool flow_from(struct flow *fl, enum ns_id from, enum fam f,
		      const char *dst, int port, int lfd)
{
	fl->client = ns_socket(from, af_of(f), SOCK_STREAM);
	if (!EXPECT_OK(fl->client < 0 ? fl->client : 0, "client socket"))
		return false;
	return flow_run(fl, f, dst, port, lfd, eps[from].addr[f]);
}

/* ---------- the cases ---------- */

/* (1)(2) A -> B:8080 is captured to ztunnel's outbound listener. */
static void outbound_tcp(enum fam f)
{
	struct flow fl = { .client = -1, .server = -1 };
	struct counts c;

	case_begin(&c);
	if (!flow_from(&fl, NS_A, f, eps[NS_B].addr[f], PORT_APP,
		       T.zt_tcp[ZT_OUT][f]))
		goto out;
	counts_end(&c);
	/* SYN to the listener, then the rest to the accepted socket */
	EXPECT_CNT_MIN(&c, CNT_OUT_TO_ZTUNNEL, 3);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_OUTBOUND, 1);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_ESTABLISHED, 2);
	/* replies went straight into A, never through A's veth egress */
	EXPECT_CNT_MIN(&c, CNT_ZH_TO_POD, 2);
	EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
	EXPECT_CNT_NONE(&c, CNT_ZI_DROP_NO_LISTENER);
	EXPECT_CNT_NONE(&c, CNT_ZI_DROP_ASSIGN_FAILED);
	EXPECT_CNT_NONE(&c, CNT_OUT_DROP_SPOOFED);
	EXPECT_QUIET(T.b_listen[f], "B's real server");
out:
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);
}

static void test_outbound_tcp_v4(void)
{
	outbound_tcp(V4);
}

static void test_outbound_tcp_v6(void)
{
	outbound_tcp(V6);
}

/* (3)(4) non-meshed C -> B:port is captured on B's side to `lsock`. */
static void inbound_tcp(enum fam f, int port, enum zt_tcp lsock,
			enum redirect_counter assigned)
{
	struct flow fl = { .client = -1, .server = -1 };
	struct counts c;

	case_begin(&c);
	if (!flow_from(&fl, NS_C, f, eps[NS_B].addr[f], port,
		       T.zt_tcp[lsock][f]))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_IN_TO_ZTUNNEL, 3);
	EXPECT_CNT_MIN(&c, CNT_ZH_INBOUND_TO_ZTUNNEL, 3);
	EXPECT_CNT_MIN(&c, assigned, 1);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_ESTABLISHED, 2);
	/* ztunnel's replies to C (not meshed) take the normal route */
	EXPECT_CNT_MIN(&c, CNT_ZH_PASS_NOT_POD, 2);
	EXPECT_CNT_NONE(&c, CNT_OUT_TO_ZTUNNEL);
	EXPECT_CNT_NONE(&c, CNT_ZI_DROP_NO_LISTENER);
	EXPECT_QUIET(T.b_listen[f], "B's real server");
out:
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);
}

static void test_inbound_tcp_v4(void)
{
	inbound_tcp(V4, PORT_APP, ZT_IN, CNT_ZI_ASSIGN_INBOUND);
}

static void test_inbound_tcp_v6(void)
{
	inbound_tcp(V6, PORT_APP, ZT_IN, CNT_ZI_ASSIGN_INBOUND);
}

static void test_inbound_hbone_v4(void)
{
	inbound_tcp(V4, ZT_PORT_HBONE, ZT_HBONE, CNT_ZI_ASSIGN_HBONE);
}

static void test_inbound_hbone_v6(void)
{
	inbound_tcp(V6, ZT_PORT_HBONE, ZT_HBONE, CNT_ZI_ASSIGN_HBONE);
}

/*
 * (5) ztunnel connects to B as A (transparent socket bound to A's address):
 * B's real server gets it with peer A, and nothing is captured on the way
 * in; B's replies are captured back to ztunnel's connecting socket.
 */
static void ztunnel_to_pod(enum fam f)
{
	struct flow fl = { .client = -1, .server = -1 };
	struct counts c;
	int err;

	case_begin(&c);
	fl.client = ns_socket(NS_ZT, af_of(f), SOCK_STREAM);
	if (!EXPECT_OK(fl.client < 0 ? fl.client : 0, "ztunnel socket"))
		goto out;
	err = set_transparent(fl.client, f);
	if (!err)
		err = set_int(fl.client, SOL_SOCKET, SO_MARK, ZT_SOCKET_MARK);
	if (!err)
		err = bind_to(fl.client, f, eps[NS_A].addr[f], 0);
	if (!EXPECT_OK(err, "transparent bind to A's address"))
		goto out;
	if (!flow_run(&fl, f, eps[NS_B].addr[f], PORT_APP, T.b_listen[f],
		      eps[NS_A].addr[f]))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_ZH_TO_POD, 3);
	EXPECT_CNT_MIN(&c, CNT_OUT_TO_ZTUNNEL, 2);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_ESTABLISHED, 2);
	EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
	EXPECT_CNT_NONE(&c, CNT_ZI_ASSIGN_INBOUND);
	EXPECT_CNT_NONE(&c, CNT_ZI_ASSIGN_OUTBOUND);
	EXPECT_QUIET(T.zt_tcp[ZT_IN][f], "ztunnel's inbound listener");
	EXPECT_QUIET(T.b_listen[f], "B's server (a second connection)");
out:
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);
}

static void test_ztunnel_to_pod_v4(void)
{
	ztunnel_to_pod(V4);
}

static void test_ztunnel_to_pod_v6(void)
{
	ztunnel_to_pod(V6);
}

/* recvmsg with the original destination from IP(V6)_ORIGDSTADDR. */
static ssize_t recv_orig(int fd, char *buf, size_t len,
			 struct sockaddr_storage *from,
			 struct sockaddr_storage *orig)
{
	char ctrl[256];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_name = from,
			     .msg_namelen = sizeof(*from),
			     .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctrl,
			     .msg_controllen = sizeof(ctrl) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &mh, 0);

	memset(orig, 0, sizeof(*orig));
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if ((cm->cmsg_level == SOL_IP &&
		     cm->cmsg_type == IP_ORIGDSTADDR) ||
		    (cm->cmsg_level == SOL_IPV6 &&
		     cm->cmsg_type == IPV6_ORIGDSTADDR))
			memcpy(orig, CMSG_DATA(cm),
			       cm->cmsg_len - CMSG_LEN(0) < sizeof(*orig) ?
				       cm->cmsg_len - CMSG_LEN(0) :
				       sizeof(*orig));
	}
	return n;
}

/*
 * ztunnel answers as B:5353 (transparent socket bound to B's address); the
 * reply must reach A's socket straight from ztunnel_host_in.
 */
static bool udp_reply_as_b(enum fam f, int a_sock)
{
	struct sockaddr_storage to, from;
	socklen_t len = sizeof(from);
	char buf[64];
	ssize_t n;
	int z = ns_socket(NS_ZT, af_of(f), SOCK_DGRAM), err;

	if (!EXPECT_OK(z < 0 ? z : 0, "ztunnel UDP socket"))
		return false;
	err = set_transparent(z, f);
	if (!err)
		err = bind_to(z, f, eps[NS_B].addr[f], PORT_UDP_APP);
	if (!err &&
	    sendto(z, "udp-reply", 9, 0, (struct sockaddr *)&to,
		   sa_make(f, eps[NS_A].addr[f], sock_port(a_sock), &to)) != 9)
		err = -errno;
	if (!err)
		err = wait_fd(a_sock, POLLIN, IO_TIMEOUT_MS);
	close(z);
	if (!EXPECT_OK(err, "reply from ztunnel as B reaches A"))
		return false;
	n = recvfrom(a_sock, buf, sizeof(buf), 0, (struct sockaddr *)&from,
		     &len);
	return EXPECT(n == 9 && !memcmp(buf, "udp-reply", 9)) &&
	       EXPECT_SA(&from, f, eps[NS_B].addr[f], PORT_UDP_APP,
			 "reply's source at A");
}

/* (6) UDP A -> B:5353 lands on ztunnel's UDP 15001 with orig dst B:5353. */
static void outbound_udp(enum fam f)
{
	struct sockaddr_storage to, from, orig;
	int a = -1, zfd = T.zt_udp[ZTU_OUT][f];
	struct counts c;
	char buf[64];
	ssize_t n;

	case_begin(&c);
	a = ns_socket(NS_A, af_of(f), SOCK_DGRAM);
	if (!EXPECT_OK(a < 0 ? a : 0, "A's UDP socket"))
		goto out;
	n = sendto(a, "udp-probe", 9, 0, (struct sockaddr *)&to,
		   sa_make(f, eps[NS_B].addr[f], PORT_UDP_APP, &to));
	if (!EXPECT_OK(n == 9 ? 0 : -errno, "sendto B") ||
	    !EXPECT_OK(wait_fd(zfd, POLLIN, IO_TIMEOUT_MS),
		       "datagram at ztunnel's UDP outbound socket"))
		goto out;
	n = recv_orig(zfd, buf, sizeof(buf), &from, &orig);
	if (!EXPECT(n == 9 && !memcmp(buf, "udp-probe", 9)) ||
	    !EXPECT_SA(&orig, f, eps[NS_B].addr[f], PORT_UDP_APP,
		       "original destination") ||
	    !EXPECT_SA(&from, f, eps[NS_A].addr[f], sock_port(a),
		       "datagram's source"))
		goto out;
	if (!udp_reply_as_b(f, a))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_OUT_TO_ZTUNNEL, 1);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_OUTBOUND, 1);
	EXPECT_CNT_MIN(&c, CNT_ZH_TO_POD, 1);
	EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
out:
	counts_end(&c);
	counts_report(&c);
	if (a >= 0)
		close(a);
}

static void test_outbound_udp_v4(void)
{
	outbound_udp(V4);
}

static void test_outbound_udp_v6(void)
{
	outbound_udp(V6);
}

static int add_node_addr_of(enum ns_id id, enum fam f)
{
	struct addr_key k;
	int err = addr_key_parse(eps[id].gw[f], &k);

	return err ? err : dp_node_addr_add(&T.dp, &k);
}

static int add_node_addr(enum fam f)
{
	return add_node_addr_of(NS_A, f);
}

/*
 * (7) A node address is no exemption: A -> a server on its gateway (a node
 * address, as a Service address on kube-ipvs0 or a hostPort is) goes to
 * ztunnel's outbound listener, never straight to the node's server.
 */
static void node_addr(enum fam f)
{
	struct flow fl = { .client = -1, .server = -1 };
	struct counts c;

	case_begin(&c);
	if (!EXPECT_OK(add_node_addr(f), "node address into node_addrs"))
		goto out;
	if (!flow_from(&fl, NS_A, f, eps[NS_A].gw[f], PORT_NODE,
		       T.zt_tcp[ZT_OUT][f]))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_OUT_TO_ZTUNNEL, 3);
	EXPECT_CNT_NONE(&c, CNT_OUT_PASS_NODE_REPLY);
	EXPECT_QUIET(T.node_listen[f], "the node's server");
out:
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);
}

/*
 * (7b) A node socket's connection into B (a kubelet probe): in straight,
 * and B's replies to the node address straight back, told from a new
 * connection by the node's socket for the flow.
 */
static void node_probe(enum fam f)
{
	struct flow fl = { .client = -1, .server = -1 };
	struct counts c;

	case_begin(&c);
	if (!EXPECT_OK(add_node_addr_of(NS_B, f), "node address of B's veth"))
		goto out;
	fl.client = ns_socket(NS_NODE, af_of(f), SOCK_STREAM);
	if (!EXPECT_OK(fl.client < 0 ? fl.client : 0, "node socket") ||
	    !EXPECT_OK(bind_to(fl.client, f, eps[NS_B].gw[f], 0),
		       "bind to B's gateway") ||
	    !flow_run(&fl, f, eps[NS_B].addr[f], PORT_APP, T.b_listen[f],
		      eps[NS_B].gw[f]))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_IN_PASS_NODE_LOCAL, 3);
	EXPECT_CNT_MIN(&c, CNT_OUT_PASS_NODE_REPLY, 3);
	EXPECT_CNT_NONE(&c, CNT_OUT_TO_ZTUNNEL);
	EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
	EXPECT_QUIET(T.zt_tcp[ZT_OUT][f], "ztunnel's outbound listener");
out:
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);
}

static void test_node_probe_v4(void)
{
	node_probe(V4);
}

static void test_node_probe_v6(void)
{
	node_probe(V6);
}

static void test_node_addr_v4(void)
{
	node_addr(V4);
}

static void test_node_addr_v6(void)
{
	node_addr(V6);
}

/* Without ztunnel and fail-closed, A's connect to B must not complete. */
static void no_ztunnel_closed(void)
{
	struct counts c;
	int fd, err;

	counts_begin(&c);
	fd = ns_socket(NS_A, AF_INET, SOCK_STREAM);
	if (!EXPECT_OK(fd < 0 ? fd : 0, "client socket"))
		return;
	err = connect_start(fd, V4, eps[NS_B].addr[V4], PORT_APP);
	if (!err)
		err = connected_within(fd, FAIL_CONNECT_MS);
	EXPECT(err != 0);
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_OUT_DROP_NO_ZTUNNEL, 1);
	EXPECT_CNT_NONE(&c, CNT_OUT_TO_ZTUNNEL);
	EXPECT_QUIET(T.b_listen[V4], "B's server");
	EXPECT_QUIET(T.zt_tcp[ZT_OUT][V4], "ztunnel's outbound listener");
	counts_report(&c);
	close_rst(&fd);
}

/* Fail-open: the same connection goes directly to B's server. */
static void no_ztunnel_open(void)
{
	struct settings open = { .flags = SET_F_FAIL_OPEN };
	struct flow fl = { .client = -1, .server = -1 };
	struct counts c;

	if (!EXPECT_OK(dp_settings_set(&T.dp, &open), "set fail-open"))
		return;
	case_begin(&c);
	if (!flow_from(&fl, NS_A, V4, eps[NS_B].addr[V4], PORT_APP,
		       T.b_listen[V4]))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_OUT_PASS_FAIL_OPEN, 3);
	EXPECT_CNT_MIN(&c, CNT_IN_PASS_FAIL_OPEN, 3);
	EXPECT_CNT_NONE(&c, CNT_OUT_TO_ZTUNNEL);
	EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
	EXPECT_QUIET(T.zt_tcp[ZT_OUT][V4], "ztunnel's outbound listener");
out:
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);
}

/* (8) ztunnel absent: fail-closed drops, fail-open goes direct. */
static void test_no_ztunnel(void)
{
	struct settings closed = { 0 };
	struct ztunnel_value zt, gone;

	if (!EXPECT_OK(dp_ztunnel_get(&T.dp, &zt), "read ztunnel slot"))
		return;
	gone = zt;
	gone.present = 0;
	drain_all();
	usleep(SETTLE_US);
	if (EXPECT_OK(dp_ztunnel_set(&T.dp, &gone), "mark ztunnel absent")) {
		no_ztunnel_closed();
		no_ztunnel_open();
	}
	/* later cases need ztunnel back whatever happened here */
	EXPECT_OK(dp_settings_set(&T.dp, &closed), "restore fail-closed");
	EXPECT_OK(dp_ztunnel_set(&T.dp, &zt), "restore ztunnel slot");
}

/* ---------- (9) a foreign filter after ours ---------- */

#define INSN(c, d, s, o, i)                 \
	((struct bpf_insn){ .code = (c),    \
			    .dst_reg = (d), \
			    .src_reg = (s), \
			    .off = (o),     \
			    .imm = (i) })

/*
 * A stand-in for another product's tc filter, from raw instructions:
 * count IPv4 packets in map[0], then TC_ACT_OK.
 *   if (skb->protocol == htons(ETH_P_IP)) map[0]++; return TC_ACT_OK;
 */
static int foreign_counter_load(int map_fd)
{
	struct bpf_insn insns[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
		INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_6,
		     offsetof(struct __sk_buff, protocol), 0),
		INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 10,
		     htons(ETH_P_IP)),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 0),
		INSN(BPF_STX | BPF_W | BPF_MEM, BPF_REG_10, BPF_REG_1, -4, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4),
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0,
		     map_fd),
		INSN(0, 0, 0, 0, 0),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 0),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0, 1),
		INSN(BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_0, BPF_REG_1, 0,
		     BPF_ADD),
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "foreign_count", "GPL",
			     insns, ARRAY_SIZE(insns), NULL);
}

static __u64 foreign_count(int map_fd)
{
	__u32 zero = 0;
	__u64 v = 0;

	bpf_map_lookup_elem(map_fd, &zero, &v);
	return v;
}

/* tc filter add dev va ingress prio 2 handle 2 bpf da fd PROG */
static int foreign_attach(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	int err = ns_enter(NS_NODE);

	if (err)
		return err;
	err = bpf_tc_attach(hook, opts);
	ns_return();
	return err;
}

/* tc filter del dev va ingress prio 2 handle 2 bpf */
static void foreign_detach(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	if (ns_enter(NS_NODE))
		return;
	opts->prog_fd = 0;
	opts->prog_id = 0;
	opts->flags = 0;
	if (bpf_tc_detach(hook, opts))
		fprintf(stderr, "detaching the foreign filter failed\n");
	ns_return();
}

/* Captured traffic ends at our filter; passed traffic reaches the next. */
/* A -> C:53, DNS capture off: a datagram that passes uncaptured. */
static bool udp_to_c_dns(enum fam f)
{
	struct sockaddr_storage to;
	char in[8];
	int a = ns_socket(NS_A, af_of(f), SOCK_DGRAM);
	bool ok;

	if (!EXPECT_OK(a < 0 ? a : 0, "A's UDP socket"))
		return false;
	ok = EXPECT_OK(sendto(a, "query", 5, 0, (struct sockaddr *)&to,
			      sa_make(f, eps[NS_C].addr[f], DNS_PORT, &to)) ==
				       5 ?
			       0 :
			       -errno,
		       "sendto C:53") &&
	     EXPECT_OK(wait_fd(T.c_dns[f], POLLIN, IO_TIMEOUT_MS),
		       "datagram at C's server") &&
	     EXPECT(recv(T.c_dns[f], in, sizeof(in), 0) == 5);
	close(a);
	return ok;
}

static void chaining_flows(int map_fd)
{
	struct flow fl = { -1, -1 };
	struct counts c;
	__u64 before;

	case_begin(&c);
	before = foreign_count(map_fd);
	if (flow_from(&fl, NS_A, V4, eps[NS_B].addr[V4], PORT_APP,
		      T.zt_tcp[ZT_OUT][V4])) {
		counts_end(&c);
		EXPECT_CNT_MIN(&c, CNT_OUT_TO_ZTUNNEL, 3);
		EXPECT(foreign_count(map_fd) == before);
	}
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);

	/*
	 * DNS without DNS capture passes ours (pass_dns: this suite's
	 * ztunnel captures all UDP): the foreign filter after ours sees it.
	 */
	case_begin(&c);
	before = foreign_count(map_fd);
	if (udp_to_c_dns(V4)) {
		counts_end(&c);
		EXPECT_CNT_MIN(&c, CNT_OUT_PASS_DNS, 1);
		EXPECT(foreign_count(map_fd) - before >=
		       cnt(&c, CNT_OUT_PASS_DNS));
	}
	counts_end(&c);
	counts_report(&c);
}

/* (9) a foreign counting filter placed after ours on A's veth ingress. */
static void test_chaining(void)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = T.host_ifindex[NS_A],
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FOREIGN_PRIO,
			    .priority = FOREIGN_PRIO);
	int map_fd, prog_fd = -1;

	map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "foreign_cnt",
				sizeof(__u32), sizeof(__u64), 1, NULL);
	if (map_fd >= 0)
		prog_fd = foreign_counter_load(map_fd);
	if (map_fd < 0 || prog_fd < 0) {
		snprintf(T.skip_reason, sizeof(T.skip_reason),
			 "cannot load the foreign filter: %s", strerror(errno));
		skip(T.skip_reason);
		goto out;
	}
	opts.prog_fd = prog_fd;
	if (EXPECT_OK(foreign_attach(&hook, &opts),
		      "attach foreign filter after ours")) {
		chaining_flows(map_fd);
		foreign_detach(&hook, &opts);
	}
out:
	if (prog_fd >= 0)
		close(prog_fd);
	if (map_fd >= 0)
		close(map_fd);
}

/* ---------- (10) DNS: the exceptions and their memory ---------- */

static int set_pod_flags(enum ns_id id, enum fam f, __u16 flags)
{
	struct pod_value info;
	struct addr_key k;
	int err = addr_key_parse(eps[id].addr[f], &k);

	if (!err)
		err = dp_pod_get(&T.dp, &k, &info);
	if (err)
		return err;
	info.flags = flags;
	return dp_pod_put(&T.dp, &k, &info);
}

/* Send msg from fd to addr:port; it must arrive at `at` from src:sport. */
static bool udp_hop(int fd, enum fam f, const char *addr, int port, int at,
		    const char *src, int sport, struct sockaddr_storage *orig)
{
	struct sockaddr_storage to, from;
	char buf[64];
	ssize_t n;

	n = sendto(fd, "dns-msg", 7, 0, (struct sockaddr *)&to,
		   sa_make(f, addr, port, &to));
	if (!EXPECT_OK(n == 7 ? 0 : -errno, "sendto") ||
	    !EXPECT_OK(wait_fd(at, POLLIN, IO_TIMEOUT_MS),
		       "datagram at the expected socket"))
		return false;
	n = recv_orig(at, buf, sizeof(buf), &from, orig);
	return EXPECT(n == 7 && !memcmp(buf, "dns-msg", 7)) &&
	       EXPECT_SA(&from, f, src, sport, "datagram's source");
}

/* Without DNS capture: A's query goes to C directly, the reply comes back. */
static void dns_pass(enum fam f, int a)
{
	struct sockaddr_storage orig;
	struct counts c;

	case_begin(&c);
	if (udp_hop(a, f, eps[NS_C].addr[f], DNS_PORT, T.c_dns[f],
		    eps[NS_A].addr[f], sock_port(a), &orig) &&
	    udp_hop(T.c_dns[f], f, eps[NS_A].addr[f], sock_port(a), a,
		    eps[NS_C].addr[f], DNS_PORT, &orig)) {
		counts_end(&c);
		EXPECT_CNT_MIN(&c, CNT_OUT_PASS_DNS, 1);
		EXPECT_CNT_MIN(&c, CNT_IN_PASS_DNS_REPLY, 1);
		EXPECT_CNT_NONE(&c, CNT_OUT_DNS_TO_ZTUNNEL);
		EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
	}
	counts_end(&c);
	counts_report(&c);
}

/* From port 53 to a port of A that asked nothing: captured as inbound. */
static void dns_unsolicited(enum fam f, int a2)
{
	struct sockaddr_storage orig;
	struct counts c;

	case_begin(&c);
	if (udp_hop(T.c_dns[f], f, eps[NS_A].addr[f], sock_port(a2),
		    T.zt_udp[ZTU_IN][f], eps[NS_C].addr[f], DNS_PORT, &orig) &&
	    EXPECT_SA(&orig, f, eps[NS_A].addr[f], sock_port(a2),
		      "original destination")) {
		counts_end(&c);
		EXPECT_CNT_MIN(&c, CNT_IN_TO_ZTUNNEL, 1);
		EXPECT_CNT_NONE(&c, CNT_IN_PASS_DNS_REPLY);
		EXPECT_QUIET(a2, "A's socket that sent no query");
	}
	counts_end(&c);
	counts_report(&c);
}

/* With POD_F_DNS_CAPTURE: A's query lands on ztunnel's DNS socket. */
static void dns_capture(enum fam f, int a)
{
	struct sockaddr_storage orig;
	struct counts c;

	case_begin(&c);
	if (EXPECT_OK(set_pod_flags(NS_A, f, POD_F_DNS_CAPTURE),
		      "turn on DNS capture for A") &&
	    udp_hop(a, f, eps[NS_C].addr[f], DNS_PORT, T.zt_udp[ZTU_DNS][f],
		    eps[NS_A].addr[f], sock_port(a), &orig) &&
	    EXPECT_SA(&orig, f, eps[NS_C].addr[f], DNS_PORT,
		      "original destination")) {
		counts_end(&c);
		EXPECT_CNT_MIN(&c, CNT_OUT_DNS_TO_ZTUNNEL, 1);
		EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_DNS, 1);
		EXPECT_QUIET(T.c_dns[f], "C's DNS server");
	}
	counts_end(&c);
	counts_report(&c);
	EXPECT_OK(set_pod_flags(NS_A, f, 0), "turn DNS capture off again");
}

static void dns(enum fam f)
{
	int a = ns_socket(NS_A, af_of(f), SOCK_DGRAM);
	int a2 = ns_socket(NS_A, af_of(f), SOCK_DGRAM);

	/*
	 * Bound first so their ports are known before they send; a2 never
	 * sends, so no reply may pass to it.
	 */
	if (EXPECT(a >= 0 && a2 >= 0) &&
	    EXPECT_OK(bind_to(a, f, NULL, 0), "bind A's socket") &&
	    EXPECT_OK(bind_to(a2, f, NULL, 0), "bind A's second socket")) {
		dns_pass(f, a);
		dns_unsolicited(f, a2);
		dns_capture(f, a);
	}
	if (a >= 0)
		close(a);
	if (a2 >= 0)
		close(a2);
}

static void test_dns_v4(void)
{
	dns(V4);
}

static void test_dns_v6(void)
{
	dns(V6);
}

/* ---------- (11) a UDP flow's own socket, also for fragments ---------- */

/*
 * What a proxy does after a flow's first datagram: a socket of its own for
 * the flow, bound to the original destination and connected to the client.
 */
static int ztunnel_flow_socket(enum fam f, int client_port)
{
	struct sockaddr_storage to;
	int z = ns_socket(NS_ZT, af_of(f), SOCK_DGRAM), err;

	if (z < 0)
		return z;
	err = set_transparent(z, f);
	if (!err)
		err = bind_to(z, f, eps[NS_B].addr[f], PORT_UDP_APP);
	if (!err && connect(z, (struct sockaddr *)&to,
			    sa_make(f, eps[NS_A].addr[f], client_port, &to)))
		err = -errno;
	if (err) {
		close(z);
		return err;
	}
	return z;
}

/* len bytes from A's socket to B:5353 must arrive whole at fd. */
static bool udp_to(int a, enum fam f, size_t len, int fd)
{
	static char out[FRAG_LEN], in[FRAG_LEN + 1];
	struct sockaddr_storage to;
	ssize_t n;

	memset(out, 'f', len);
	n = sendto(a, out, len, 0, (struct sockaddr *)&to,
		   sa_make(f, eps[NS_B].addr[f], PORT_UDP_APP, &to));
	if (!EXPECT_OK(n == (ssize_t)len ? 0 : -errno, "sendto B") ||
	    !EXPECT_OK(wait_fd(fd, POLLIN, IO_TIMEOUT_MS),
		       "datagram at ztunnel's socket for the flow"))
		return false;
	n = recv(fd, in, sizeof(in), 0);
	return EXPECT(n == (ssize_t)len && !memcmp(in, out, len));
}

/*
 * The first datagram goes to the listener; later ones, and the fragments
 * of a large one (which cannot be assigned a socket and are delivered for
 * the stack to reassemble), must reach ztunnel's socket for the flow.
 */
static void udp_flow(enum fam f)
{
	int a = -1, z = -1;
	struct counts c;

	case_begin(&c);
	a = ns_socket(NS_A, af_of(f), SOCK_DGRAM);
	if (!EXPECT_OK(a < 0 ? a : 0, "A's UDP socket") ||
	    !udp_to(a, f, 16, T.zt_udp[ZTU_OUT][f]))
		goto out;
	z = ztunnel_flow_socket(f, sock_port(a));
	if (!EXPECT_OK(z < 0 ? z : 0, "ztunnel's socket for the flow") ||
	    !udp_to(a, f, 16, z) || !udp_to(a, f, FRAG_LEN, z))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_OUTBOUND, 1);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_ESTABLISHED, 1);
	EXPECT_CNT_MIN(&c, CNT_ZI_LOCAL_FRAG, 2);
	EXPECT_QUIET(T.zt_udp[ZTU_OUT][f], "ztunnel's UDP listener");
out:
	counts_end(&c);
	counts_report(&c);
	if (z >= 0)
		close(z);
	if (a >= 0)
		close(a);
}

static void test_udp_flow_v4(void)
{
	udp_flow(V4);
}

static void test_udp_flow_v6(void)
{
	udp_flow(V6);
}

/* ---------- (13) UDP that ztunnel does not serve passes ---------- */

static int set_ztunnel_flags(__u8 flags)
{
	struct ztunnel_value zt;
	int err = dp_ztunnel_get(&T.dp, &zt);

	if (err)
		return err;
	zt.flags = flags;
	return dp_ztunnel_set(&T.dp, &zt);
}

/*
 * Without all-UDP capture (a ztunnel like Istio's, no UDP listener but
 * DNS): A's datagram to C and C's answer go straight, and so does a
 * datagram C sends A unasked; ztunnel's UDP sockets hear nothing.
 */
static void udp_passes(enum fam f)
{
	int a = ns_socket(NS_A, af_of(f), SOCK_DGRAM);
	struct sockaddr_storage orig;
	struct counts c;

	case_begin(&c);
	if (!EXPECT(a >= 0) || !EXPECT_OK(bind_to(a, f, NULL, 0), "bind A") ||
	    !EXPECT_OK(set_ztunnel_flags(0), "all-UDP capture off"))
		goto out;
	if (udp_hop(a, f, eps[NS_C].addr[f], DNS_PORT, T.c_dns[f],
		    eps[NS_A].addr[f], sock_port(a), &orig) &&
	    udp_hop(T.c_dns[f], f, eps[NS_A].addr[f], sock_port(a), a,
		    eps[NS_C].addr[f], DNS_PORT, &orig) &&
	    udp_hop(T.c_dns[f], f, eps[NS_A].addr[f], sock_port(a), a,
		    eps[NS_C].addr[f], DNS_PORT, &orig)) {
		counts_end(&c);
		EXPECT_CNT_MIN(&c, CNT_OUT_PASS_UDP, 1);
		EXPECT_CNT_MIN(&c, CNT_IN_PASS_UDP, 2);
		EXPECT_CNT_NONE(&c, CNT_OUT_TO_ZTUNNEL);
		EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
		EXPECT_QUIET(T.zt_udp[ZTU_OUT][f], "ztunnel's UDP 15001");
		EXPECT_QUIET(T.zt_udp[ZTU_IN][f], "ztunnel's UDP 15006");
	}
out:
	EXPECT_OK(set_ztunnel_flags(ZT_F_CAPTURE_UDP), "all-UDP capture on");
	counts_end(&c);
	counts_report(&c);
	if (a >= 0)
		close(a);
}

static void test_udp_passes_v4(void)
{
	udp_passes(V4);
}

static void test_udp_passes_v6(void)
{
	udp_passes(V6);
}

/* ---------- topology ---------- */

/* ip netns add ar<pid>-<suffix> (and keep an fd to setns() into it) */
static int make_netns(void)
{
	char path[128];

	for (int i = 0; i < NS_MAX; i++) {
		snprintf(T.ns_name[i], sizeof(T.ns_name[i]), "ar%d-%s",
			 (int)getpid(), eps[i].suffix);
		if (run("ip netns add %s", T.ns_name[i]))
			return -EIO;
		T.ns_made[i] = true;
		snprintf(path, sizeof(path), NETNS_DIR "/%s", T.ns_name[i]);
		T.ns_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (T.ns_fd[i] < 0)
			return -errno;
	}
	return 0;
}

static int ns_basics(enum ns_id id)
{
	/* fresh IPv6 addresses are usable at once, not tentative for ~1 s */
	if (ns_sysctl(id, "net/ipv6/conf/all/accept_dad", "0") ||
	    ns_sysctl(id, "net/ipv6/conf/default/accept_dad", "0") ||
	    /* ztunnel sends as pods, the node sees those from vz */
	    ns_sysctl(id, "net/ipv4/conf/all/rp_filter", "0") ||
	    ns_sysctl(id, "net/ipv4/conf/default/rp_filter", "0"))
		return -EIO;
	return ns_run(id, "ip link set lo up");
}

static const char *mac_str(enum ns_id id, bool host, char *buf)
{
	__u8 m[6];

	ep_mac(id, host, m);
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		m[4], m[5]);
	return buf;
}

/* Veth pair: host side in the node netns, eth0 in the endpoint's netns. */
static int make_endpoint(enum ns_id id)
{
	const struct endpoint *e = &eps[id];
	char mac[18], hmac[18];

	if (ns_run(NS_NODE,
		   "ip link add %s address %s type veth peer name eth0 "
		   "address %s netns %s",
		   e->host_if, mac_str(id, true, hmac), mac_str(id, false, mac),
		   T.ns_name[id]) ||
	    ns_run(NS_NODE, "ip addr add %s/24 dev %s", e->gw[V4],
		   e->host_if) ||
	    ns_run(NS_NODE, "ip -6 addr add %s/64 dev %s nodad", e->gw[V6],
		   e->host_if) ||
	    ns_run(NS_NODE, "ip link set %s up", e->host_if) ||
	    ns_run(id, "ip addr add %s/24 dev eth0", e->addr[V4]) ||
	    ns_run(id, "ip -6 addr add %s/64 dev eth0 nodad", e->addr[V6]) ||
	    ns_run(id, "ip link set eth0 up") ||
	    ns_run(id, "ip route add default via %s", e->gw[V4]) ||
	    ns_run(id, "ip -6 route add default via %s", e->gw[V6]))
		return -EIO;
	T.host_ifindex[id] = ns_ifindex(NS_NODE, e->host_if);
	return T.host_ifindex[id] > 0 ? 0 : -ENODEV;
}

/* Packets with the route mark are delivered locally, as ztunnel needs. */
static int ztunnel_routing(void)
{
	const unsigned int mark = ZT_ROUTE_MARK_DEFAULT;
	const unsigned int mask = ZT_ROUTE_MASK_DEFAULT;
	const int table = ZT_ROUTE_TABLE_DEFAULT;

	if (ns_run(NS_ZT, "ip rule add fwmark 0x%x/0x%x lookup %d", mark, mask,
		   table) ||
	    ns_run(NS_ZT, "ip route add local 0.0.0.0/0 dev lo table %d",
		   table) ||
	    ns_run(NS_ZT, "ip -6 rule add fwmark 0x%x/0x%x lookup %d", mark,
		   mask, table) ||
	    ns_run(NS_ZT, "ip -6 route add local ::/0 dev lo table %d", table))
		return -EIO;
	return 0;
}

static int make_topology(void)
{
	int err;

	for (int i = 0; i < NS_MAX; i++) {
		err = ns_basics(i);
		if (err)
			return err;
	}
	if (ns_sysctl(NS_NODE, "net/ipv4/ip_forward", "1") ||
	    ns_sysctl(NS_NODE, "net/ipv6/conf/all/forwarding", "1"))
		return -EIO;
	for (int i = NS_A; i < NS_MAX; i++) {
		err = make_endpoint(i);
		if (err)
			return err;
	}
	return ztunnel_routing();
}

/* ---------- datapath: load, fill maps, attach ---------- */

static int fill_maps(void)
{
	/*
	 * All-UDP capture, so cases 6, 10 and 11 exercise the UDP paths into
	 * ztunnel; case 13 turns it off (the default of a real enrolment).
	 */
	struct ztunnel_value zt = { .host_ifindex = T.host_ifindex[NS_ZT],
				    .present = 1,
				    .flags = ZT_F_CAPTURE_UDP,
				    .generation = 1,
				    .netns_id = -1 };
	struct pod_value info;
	struct addr_key k;
	int err;

	for (int id = NS_A; id < NS_MAX; id++) {
		if (!eps[id].meshed)
			continue;
		memset(&info, 0, sizeof(info));
		info.host_ifindex = T.host_ifindex[id];
		ep_mac(id, false, info.mac);
		for (int f = 0; f < FAM_MAX; f++) {
			err = addr_key_parse(eps[id].addr[f], &k);
			if (!err)
				err = dp_pod_put(&T.dp, &k, &info);
			if (err)
				return err;
		}
	}
	ep_mac(NS_ZT, false, zt.mac);
	return dp_ztunnel_set(&T.dp, &zt);
}

/*
 * tc qdisc add dev IF clsact
 * tc filter add dev IF {ingress|egress} prio 1 handle 1 bpf da fd PROG
 * (in whatever netns the caller entered)
 */
static int tc_attach(int ifindex, enum bpf_tc_attach_point where,
		     enum dp_prog prog)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = where);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = OUR_PRIO,
			    .priority = OUR_PRIO,
			    .prog_fd = dp_prog_fd(&T.dp, prog));
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		fprintf(stderr, "attach %s to ifindex %d: %s\n",
			dp_prog_name(prog), ifindex, strerror(-err));
	return err;
}

static int attach_node_side(void)
{
	int err = 0;

	for (int id = NS_A; id < NS_ZT && !err; id++) {
		if (!eps[id].meshed)
			continue;
		err = tc_attach(T.host_ifindex[id], BPF_TC_INGRESS,
				DP_APP_OUTBOUND);
		if (!err)
			err = tc_attach(T.host_ifindex[id], BPF_TC_EGRESS,
					DP_APP_INBOUND);
	}
	if (!err)
		err = tc_attach(T.host_ifindex[NS_ZT], BPF_TC_INGRESS,
				DP_ZTUNNEL_HOST_IN);
	return err;
}

static int attach_all(void)
{
	int idx, err = ns_enter(NS_NODE);

	if (err)
		return err;
	err = attach_node_side();
	ns_return();
	if (err)
		return err;
	idx = ns_ifindex(NS_ZT, "eth0");
	if (idx < 0)
		return idx;
	err = ns_enter(NS_ZT);
	if (err)
		return err;
	err = tc_attach(idx, BPF_TC_INGRESS, DP_ZTUNNEL_INGRESS);
	ns_return();
	return err;
}

static int load_datapath(void)
{
	struct dp_opts o = { .sz = sizeof(o), .pin_dir = T.pin_dir };
	int err;

	snprintf(T.pin_dir, sizeof(T.pin_dir), PIN_DIR_FMT, (int)getpid());
	err = dp_load(&T.dp, &o);
	if (err)
		return err;
	T.dp_loaded = true;
	err = fill_maps();
	return err ? err : attach_all();
}

/* ztunnel's transparent listeners, B's real server, a node server. */
static int open_servers(void)
{
	for (int f = 0; f < FAM_MAX; f++) {
		for (int p = 0; p < ZT_TCP_MAX; p++)
			if ((T.zt_tcp[p][f] = open_server(NS_ZT, f, SOCK_STREAM,
							  NULL, zt_tcp_port[p],
							  true)) < 0)
				return T.zt_tcp[p][f];
		for (int p = 0; p < ZT_UDP_MAX; p++)
			if ((T.zt_udp[p][f] = open_server(NS_ZT, f, SOCK_DGRAM,
							  NULL, zt_udp_port[p],
							  true)) < 0)
				return T.zt_udp[p][f];
		T.b_listen[f] = open_server(NS_B, f, SOCK_STREAM, NULL,
					    PORT_APP, false);
		if (T.b_listen[f] < 0)
			return T.b_listen[f];
		T.node_listen[f] = open_server(NS_NODE, f, SOCK_STREAM,
					       eps[NS_A].gw[f], PORT_NODE,
					       false);
		if (T.node_listen[f] < 0)
			return T.node_listen[f];
		T.c_dns[f] =
			open_server(NS_C, f, SOCK_DGRAM, NULL, DNS_PORT, false);
		if (T.c_dns[f] < 0)
			return T.c_dns[f];
	}
	return 0;
}

/* ---------- cleanup, on every way out ---------- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_servers(void)
{
	for (int f = 0; f < FAM_MAX; f++) {
		for (int p = 0; p < ZT_TCP_MAX; p++)
			close_fd(&T.zt_tcp[p][f]);
		for (int p = 0; p < ZT_UDP_MAX; p++)
			close_fd(&T.zt_udp[p][f]);
		close_fd(&T.b_listen[f]);
		close_fd(&T.node_listen[f]);
		close_fd(&T.c_dns[f]);
	}
}

/*
 * Deleting the namespaces takes the veths, their tc filters and every
 * socket's netns with them; then the pins go. Only what we made.
 */
static void cleanup(void)
{
	static volatile sig_atomic_t done;
	char path[128];

	if (done)
		return;
	done = 1;
	if (T.root_ns >= 0 && setns(T.root_ns, CLONE_NEWNET))
		fprintf(stderr, "setns back: %s\n", strerror(errno));
	close_servers();
	for (int i = NS_MAX - 1; i >= 0; i--) {
		close_fd(&T.ns_fd[i]);
		if (!T.ns_made[i])
			continue;
		/* ip netns del NAME */
		snprintf(path, sizeof(path), NETNS_DIR "/%s", T.ns_name[i]);
		umount2(path, MNT_DETACH);
		if (unlink(path))
			fprintf(stderr, "remove %s: %s\n", path,
				strerror(errno));
		T.ns_made[i] = false;
	}
	if (T.dp_loaded) {
		if (dp_unpin(&T.dp))
			fprintf(stderr, "unpin %s failed\n", T.pin_dir);
		dp_close(&T.dp);
		T.dp_loaded = false;
	} else if (T.pin_dir[0]) {
		rmdir(T.pin_dir);
	}
}

static void on_signal(int sig)
{
	cleanup();
	_exit(128 + sig);
}

static void init_state(void)
{
	static const int sigs[] = { SIGINT,  SIGTERM, SIGHUP,
				    SIGQUIT, SIGABRT, SIGSEGV };
	struct sigaction sa = { .sa_handler = on_signal };

	T.root_ns = -1;
	for (int i = 0; i < NS_MAX; i++)
		T.ns_fd[i] = -1;
	for (int f = 0; f < FAM_MAX; f++) {
		for (int p = 0; p < ZT_TCP_MAX; p++)
			T.zt_tcp[p][f] = -1;
		for (int p = 0; p < ZT_UDP_MAX; p++)
			T.zt_udp[p][f] = -1;
		T.b_listen[f] = T.node_listen[f] = T.c_dns[f] = -1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(cleanup);
}

/* ---------- main ---------- */

/* ---------- (12) a load that fails leaves no folder it made ---------- */

static void test_failed_load(void)
{
	/* Buckets for 2^31 addresses: the kernel refuses the pods map. */
	struct dp_opts o = { .sz = sizeof(o), .pod_addrs = 0x7fffffff };
	struct datapath dp;
	char dir[64];

	snprintf(dir, sizeof(dir), PIN_DIR_FMT "-fail", (int)getpid());
	o.pin_dir = dir;
	EXPECT(access(dir, F_OK) != 0);
	EXPECT(dp_load(&dp, &o) < 0);
	EXPECT(access(dir, F_OK) != 0 && errno == ENOENT);
	rmdir(dir); /* only if the check above failed */
}

static const struct {
	const char *name;
	CU_TestFunc fn;
} cases[] = {
	{ "1 outbound TCP IPv4 A->B:8080 to ztunnel 15001",
	  test_outbound_tcp_v4 },
	{ "2 outbound TCP IPv6 A->B:8080 to ztunnel 15001",
	  test_outbound_tcp_v6 },
	{ "3 inbound TCP IPv4 C->B:8080 to ztunnel 15006",
	  test_inbound_tcp_v4 },
	{ "3 inbound TCP IPv6 C->B:8080 to ztunnel 15006",
	  test_inbound_tcp_v6 },
	{ "4 inbound IPv4 C->B:15008 to ztunnel 15008", test_inbound_hbone_v4 },
	{ "4 inbound IPv6 C->B:15008 to ztunnel 15008", test_inbound_hbone_v6 },
	{ "5 ztunnel as A -> B's server, IPv4", test_ztunnel_to_pod_v4 },
	{ "5 ztunnel as A -> B's server, IPv6", test_ztunnel_to_pod_v6 },
	{ "6 outbound UDP IPv4 A->B:5353 to ztunnel 15001",
	  test_outbound_udp_v4 },
	{ "6 outbound UDP IPv6 A->B:5353 to ztunnel 15001",
	  test_outbound_udp_v6 },
	{ "7 node address IPv4 captured", test_node_addr_v4 },
	{ "7 node address IPv6 captured", test_node_addr_v6 },
	{ "7b node probe IPv4 and its replies pass", test_node_probe_v4 },
	{ "7b node probe IPv6 and its replies pass", test_node_probe_v6 },
	{ "8 no ztunnel: fail-closed drops, fail-open direct",
	  test_no_ztunnel },
	{ "9 foreign filter after ours", test_chaining },
	{ "10 DNS IPv4: pass + reply, unsolicited, capture", test_dns_v4 },
	{ "10 DNS IPv6: pass + reply, unsolicited, capture", test_dns_v6 },
	{ "11 UDP flow socket IPv4, also for fragments", test_udp_flow_v4 },
	{ "11 UDP flow socket IPv6, also for fragments", test_udp_flow_v6 },
	{ "12 a failed load leaves no pin folder behind", test_failed_load },
	{ "13 UDP IPv4 without all-UDP capture passes both ways",
	  test_udp_passes_v4 },
	{ "13 UDP IPv6 without all-UDP capture passes both ways",
	  test_udp_passes_v6 },
};

static int finish(unsigned int passed, unsigned int failed,
		  unsigned int skipped)
{
	cleanup();
	printf("RESULT: passed=%u failed=%u skipped=%u\n", passed, failed,
	       skipped);
	return failed ? 1 : 0;
}

static int run_cases(void)
{
	unsigned int run, failed;
	CU_pSuite suite;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return finish(0, 1, 0);
	suite = CU_add_suite("datapath (real traffic between netns)", NULL,
			     NULL);
	for (size_t i = 0; suite && i < ARRAY_SIZE(cases); i++)
		if (!CU_add_test(suite, cases[i].name, cases[i].fn))
			suite = NULL;
	if (!suite) {
		CU_cleanup_registry();
		return finish(0, 1, 0);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return finish(run - failed - T.skipped, failed, T.skipped);
}

int main(void)
{
	const unsigned int n = ARRAY_SIZE(cases);
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	init_state();
	log_route_libbpf();
	log_set_level(LOG_LVL_WARN);
	if (geteuid() != 0) {
		printf("SKIP: needs root (network namespaces, tc, BPF)\n");
		return finish(0, 0, n);
	}
	if (system("ip -V >/dev/null 2>&1")) {
		printf("SKIP: iproute2 'ip' not found\n");
		return finish(0, 0, n);
	}
	T.root_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (T.root_ns < 0 || make_netns()) {
		printf("SKIP: cannot create network namespaces\n");
		return finish(0, 0, n);
	}
	err = make_topology();
	if (!err)
		err = load_datapath();
	if (!err)
		err = open_servers();
	if (err) {
		printf("FAIL: setting up the node: %s\n", strerror(-err));
		return finish(0, n, 0);
	}
	return run_cases();
}
