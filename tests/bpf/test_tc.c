// SPDX-License-Identifier: GPL-2.0
/*
 * The tc programs under BPF_PROG_TEST_RUN, one test per decision of each
 * program, with crafted frames. Every test checks the verdict, the bytes
 * that come out (only the destination MAC may change), skb->mark, and that
 * exactly the counters of that decision moved, each by this one packet.
 *
 * Everything lives in a private network namespace: veth interfaces give
 * the ifindexes the programs compare against, and real sockets give
 * ztunnel_ingress something to look up. The maps are pinned in a per-run
 * bpffs folder that is removed at exit.
 *
 * What test-run cannot show: where a redirect goes (the target ifindex
 * stays in the kernel's per-CPU redirect state); tests/bpf/test_datapath.c
 * sends real traffic for that.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* unshare() */
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <CUnit/Basic.h>
#include "addr.h"
#include "redirect.skel.h"
#include "datapath.h"
#include "log.h"
#include "netns.h"
#include "packet.h"

#define IF_POD_A "ar-pod-a" /* host veth of pod A */
#define IF_POD_B "ar-pod-b" /* host veth of pod B (DNS capture on) */
#define IF_ZT_HOST "ar-zt-host" /* ztunnel's host veth */
#define IF_ZT "ar-zt" /* ztunnel's own interface, in its netns */
#define MAX_FDS 16
/* A set of counters: one bit per counter id (more than 64 of them). */
typedef unsigned __int128 counter_set;
#define C(id) ((counter_set)1 << CNT_##id)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const __u8 MAC_ZT[6] = { 0x02, 0x7a, 0x00, 0x00, 0x00, 0x01 };
static const __u8 MAC_POD_A[6] = { 0x02, 0xaa, 0x00, 0x00, 0x00, 0x02 };
static const __u8 MAC_POD_B[6] = { 0x02, 0xbb, 0x00, 0x00, 0x00, 0x03 };

enum host {
	POD_A, /* meshed pod on IF_POD_A */
	POD_B, /* meshed pod on IF_POD_B, DNS capture on */
	NOT_POD, /* an address in the pod range that is not in the map */
	REMOTE, /* some service off the node */
	NODE, /* the node's own address */
	DNS_SERVER,
	LOOPBACK,
	HOST_MAX
};

static const struct {
	const char *v4, *v6;
} hosts[HOST_MAX] = {
	[POD_A] = { "10.0.0.2", "fd00::2" },
	[POD_B] = { "10.0.0.3", "fd00::3" },
	[NOT_POD] = { "10.0.0.9", "fd00::9" },
	[REMOTE] = { "10.1.0.5", "fd01::5" },
	[NODE] = { "10.0.0.1", "fd00::1" },
	[DNS_SERVER] = { "10.96.0.10", "fd02::a" },
	[LOOPBACK] = { "127.0.0.1", "::1" },
};

static struct {
	struct datapath dp;
	bool loaded;
	char pin_dir[64];
	int if_pod_a, if_pod_b, if_zt_host, if_zt;
	int fds[MAX_FDS]; /* sockets of the current test, closed after it */
	int n_fds;
	bool reset_ok;
	/* test-run takes frames cut inside the IPv4 / IPv6 header */
	bool short_ip_frames[2];
	unsigned int skipped;
	int self_nsid; /* the id this netns has for itself */
	__u32 ingress_ifindex; /* where the next run's packet came in (0) */
} fx;

/* --- assertions that return bool, so a test can stop at the first miss --- */

static bool check_at(bool ok, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool check_at(bool ok, unsigned int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, __FILE__,
				"", CU_FALSE);
	return ok;
}

#define CHECK(cond, ...) check_at((cond), __LINE__, __VA_ARGS__)

/* A test that cannot run here says why and counts as skipped. */
static void skip_test(const char *why)
{
	CU_pTest t = CU_get_current_test();

	printf("\n    SKIP %s: %s\n", t ? t->pName : "?", why);
	fx.skipped++;
}

/* --- the network namespace and its sockets --- */

static const char *addr_of(int family, enum host h)
{
	return family == AF_INET ? hosts[h].v4 : hosts[h].v6;
}

static struct addr_key key_of(int family, enum host h)
{
	struct addr_key k;

	addr_key_parse(addr_of(family, h), &k);
	return k;
}

static int track_fd(int fd)
{
	if (fd >= 0 && fx.n_fds < MAX_FDS)
		fx.fds[fx.n_fds++] = fd;
	else if (fd >= 0)
		close(fd);
	return fd;
}

static void close_fds(void)
{
	while (fx.n_fds > 0)
		close(fx.fds[--fx.n_fds]);
}

static socklen_t sockaddr_of(int family, const char *ip, __u16 port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, ip, &sin->sin_addr);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &sin6->sin6_addr);
	return sizeof(*sin6);
}

static __u16 local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A socket bound to ip:port (port 0: any), tracked for closing. */
static int bound_socket(int family, int type, const char *ip, __u16 port)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(family, ip, port, &ss);
	int one = 1, fd = track_fd(socket(family, type, 0));

	if (!CHECK(fd >= 0, "socket: %s", strerror(errno)))
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (!CHECK(!bind(fd, (struct sockaddr *)&ss, len),
		   "bind %s port %u: %s", ip, port, strerror(errno)))
		return -1;
	return fd;
}

/*
 * One of ztunnel's listeners: transparent (so it may own connections to
 * any address), on the wildcard address; v6 ones are V6ONLY like ztunnel's.
 */
static bool listener(int family, int type, __u16 port)
{
	int one = 1, fd;

	fd = bound_socket(family, type,
			  family == AF_INET ? "0.0.0.0" : "::", port);
	if (fd < 0)
		return false;
	if (!CHECK(!setsockopt(fd, family == AF_INET ? SOL_IP : SOL_IPV6,
			       family == AF_INET ? IP_TRANSPARENT :
						   IPV6_TRANSPARENT,
			       &one, sizeof(one)),
		   "transparent: %s", strerror(errno)))
		return false;
	if (type == SOCK_STREAM)
		return CHECK(!listen(fd, 8), "listen: %s", strerror(errno));
	return true;
}

struct tcp_pair {
	int client, server; /* server: the accepted socket */
	__u16 client_port, server_port;
};

/* An established TCP connection over loopback. */
static bool tcp_pair(int family, struct tcp_pair *tp)
{
	const char *lo = addr_of(family, LOOPBACK);
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd;

	lfd = bound_socket(family, SOCK_STREAM, lo, 0);
	if (lfd < 0 || !CHECK(!listen(lfd, 1), "listen: %s", strerror(errno)))
		return false;
	tp->server_port = local_port(lfd);
	tp->client = track_fd(socket(family, SOCK_STREAM, 0));
	len = sockaddr_of(family, lo, tp->server_port, &ss);
	if (!CHECK(tp->client >= 0 &&
			   !connect(tp->client, (struct sockaddr *)&ss, len),
		   "connect: %s", strerror(errno)))
		return false;
	tp->server = track_fd(accept(lfd, NULL, NULL));
	tp->client_port = local_port(tp->client);
	return CHECK(tp->server >= 0, "accept: %s", strerror(errno));
}

/* Is there a TIME_WAIT socket with this local port in our netns? */
static bool time_wait_exists(int family, __u16 port)
{
	const char *path = family == AF_INET ? "/proc/net/tcp" :
					       "/proc/net/tcp6";
	unsigned int lport, rport, state;
	bool found = false;
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line,
			       " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x",
			       &lport, &rport, &state) == 3 &&
			lport == port && state == 6;
	fclose(f);
	return found;
}

/*
 * A TIME_WAIT socket: the client closes first, then the server; the
 * client's side is left in TIME_WAIT as client_port <- server_port.
 */
static bool tcp_time_wait(int family, struct tcp_pair *tp)
{
	char buf[16];
	struct timespec ms = { 0, 1000000 };

	if (!tcp_pair(family, tp))
		return false;
	shutdown(tp->client, SHUT_WR);
	if (!CHECK(read(tp->server, buf, sizeof(buf)) == 0, "no FIN seen"))
		return false;
	shutdown(tp->server, SHUT_WR);
	for (int i = 0; i < 1000; i++) {
		if (time_wait_exists(family, tp->client_port))
			return true;
		nanosleep(&ms, NULL);
	}
	return CHECK(false, "no TIME_WAIT socket for port %u", tp->client_port);
}

/* A UDP socket bound to local:lport and connected to peer:pport. */
static bool udp_connected(int family, enum host local, __u16 lport,
			  enum host peer, __u16 pport)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(family, addr_of(family, peer), pport, &ss);
	int fd =
		bound_socket(family, SOCK_DGRAM, addr_of(family, local), lport);

	return fd >= 0 && CHECK(!connect(fd, (struct sockaddr *)&ss, len),
				"connect udp: %s", strerror(errno));
}

/* --- map state --- */

/*
 * The test's one netns plays ztunnel's too: netns_id (-1: none) names it
 * for app_outbound's lookup of ztunnel's sockets.
 */
static bool set_ztunnel_as(bool present, __u8 flags, __s32 netns_id)
{
	struct ztunnel_value zt = {
		.host_ifindex = (__u32)fx.if_zt_host,
		.present = present,
		.flags = flags,
		.generation = 1,
		.netns_id = netns_id,
	};

	memcpy(zt.mac, MAC_ZT, 6);
	return CHECK(!dp_ztunnel_set(&fx.dp, &zt), "set ztunnel");
}

static bool set_ztunnel(bool present)
{
	return set_ztunnel_as(present, 0, -1);
}

/* A ztunnel enrolled with --capture-udp. */
static bool set_capture_udp(void)
{
	return set_ztunnel_as(true, ZT_F_CAPTURE_UDP, -1);
}

static bool set_fail_open(bool open)
{
	struct settings s = { .flags = open ? SET_F_FAIL_OPEN : 0 };

	return CHECK(!dp_settings_set(&fx.dp, &s), "set settings");
}

static int clear_map(struct bpf_map *m)
{
	__u8 key[128];
	int fd = bpf_map__fd(m);

	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			return -errno;
	return 0;
}

static bool dns_flow_known(int family, enum host pod, __u16 pod_port,
			   enum host server, __u8 proto)
{
	struct dns_flow_key k = {
		.pod = key_of(family, pod),
		.server = key_of(family, server),
		.pod_port = htons(pod_port),
		.proto = proto,
	};
	__u8 v;

	return !bpf_map__lookup_elem(fx.dp.skel->maps.dns_flows, &k, sizeof(k),
				     &v, sizeof(v), 0);
}

/* Before each test: ztunnel present, fail closed, no flow state. */
static void test_setup(void)
{
	fx.ingress_ifindex = 0;
	fx.reset_ok = set_ztunnel(true) && set_fail_open(false) &&
		      !clear_map(fx.dp.skel->maps.dns_flows) &&
		      !clear_map(fx.dp.skel->maps.frags);
}

static void test_teardown(void)
{
	close_fds();
}

/* --- running a program --- */

struct run {
	__u32 retval;
	struct pkt out;
	struct __sk_buff ctx;
	struct counter_value before[CNT_MAX];
	struct counter_value after[CNT_MAX];
};

struct expect {
	__u32 retval;
	__u32 mark; /* skb->mark after the run */
	const __u8 *dmac; /* new destination MAC; NULL: frame unchanged */
	counter_set counters; /* C(id) of every counter this packet must hit */
};

static int prog_fd(enum dp_prog prog)
{
	return dp_prog_fd(&fx.dp, prog);
}

static bool run_prog(enum dp_prog prog, const struct pkt *in, int ifindex,
		     __u32 mark, struct run *r)
{
	struct __sk_buff ctx_in = { .ifindex = (__u32)ifindex,
				    .ingress_ifindex = fx.ingress_ifindex,
				    .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in->data,
		    .data_size_in = (__u32)in->len, .data_out = r->out.data,
		    .data_size_out = sizeof(r->out.data), .ctx_in = &ctx_in,
		    .ctx_size_in = sizeof(ctx_in), .ctx_out = &r->ctx,
		    .ctx_size_out = sizeof(r->ctx), .repeat = 1);
	int err;

	if (!CHECK(fx.reset_ok, "resetting the maps before the test failed"))
		return false;
	memset(&r->out, 0, sizeof(r->out));
	memset(&r->ctx, 0, sizeof(r->ctx));
	if (!CHECK(!dp_counters_read(&fx.dp, r->before), "read counters"))
		return false;
	err = bpf_prog_test_run_opts(prog_fd(prog), &opts);
	if (!CHECK(!err, "test run of %s: %s", dp_prog_name(prog),
		   strerror(errno)))
		return false;
	r->retval = opts.retval;
	r->out.len = opts.data_size_out;
	return CHECK(!dp_counters_read(&fx.dp, r->after), "read counters");
}

static bool check_counters(const struct pkt *in, const struct run *r,
			   counter_set want)
{
	bool ok = true;

	for (int id = 0; id < CNT_MAX; id++) {
		bool hit = (want >> id) & 1;
		__u64 pkts = r->after[id].packets - r->before[id].packets;
		__u64 bytes = r->after[id].bytes - r->before[id].bytes;

		ok &= CHECK(pkts == (hit ? 1 : 0) &&
				    bytes == (hit ? in->len : 0),
			    "counter %s/%s moved by %llu packets %llu bytes, "
			    "expected %d packet(s) of %zu bytes",
			    counter_prog(id), counter_decision(id),
			    (unsigned long long)pkts, (unsigned long long)bytes,
			    hit, in->len);
	}
	return ok;
}

static bool check_frame(const struct pkt *in, const struct run *r,
			const __u8 *dmac)
{
	const __u8 *want_dmac = dmac ? dmac : in->data;

	if (!CHECK(r->out.len == in->len, "frame length %zu, expected %zu",
		   r->out.len, in->len))
		return false;
	return CHECK(!memcmp(r->out.data, want_dmac, 6),
		     "destination MAC %02x:%02x:%02x:%02x:%02x:%02x",
		     r->out.data[0], r->out.data[1], r->out.data[2],
		     r->out.data[3], r->out.data[4], r->out.data[5]) &&
	       CHECK(!memcmp(r->out.data + 6, in->data + 6, in->len - 6),
		     "bytes after the destination MAC changed");
}

static bool check_run(const struct pkt *in, const struct run *r,
		      const struct expect *e)
{
	bool ok = CHECK(r->retval == e->retval, "verdict %u, expected %u",
			r->retval, e->retval);

	ok &= CHECK(r->ctx.mark == e->mark, "mark %#x, expected %#x",
		    r->ctx.mark, e->mark);
	ok &= check_frame(in, r, e->dmac);
	ok &= check_counters(in, r, e->counters);
	return ok;
}

/* Run prog on the frame and check everything against e. */
static bool expect_run(enum dp_prog prog, const struct pkt *in, int ifindex,
		       __u32 mark, const struct expect *e)
{
	struct run r;

	return run_prog(prog, in, ifindex, mark, &r) && check_run(in, &r, e);
}

static bool build(struct pkt *p, const struct pkt_spec *s)
{
	return CHECK(!pkt_build(p, s), "build %s packet %s -> %s",
		     s->family == AF_INET ? "IPv4" : "IPv6", s->saddr,
		     s->daddr);
}

static struct pkt_spec flow(int family, __u8 proto, enum host src, __u16 sport,
			    enum host dst, __u16 dport)
{
	return (struct pkt_spec){
		.family = family,
		.proto = proto,
		.saddr = addr_of(family, src),
		.daddr = addr_of(family, dst),
		.sport = sport,
		.dport = dport,
		.payload_len = 32,
	};
}

static bool build_flow(struct pkt *p, int family, __u8 proto, enum host src,
		       __u16 sport, enum host dst, __u16 dport)
{
	struct pkt_spec s = flow(family, proto, src, sport, dst, dport);

	return build(p, &s);
}

static __u8 icmp_of(int family)
{
	return family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
}

/* The usual outcomes: pass on, drop, or redirect with a new MAC and mark. */
static struct expect pass(counter_set counters)
{
	return (struct expect){ .retval = TC_ACT_PIPE, .counters = counters };
}

static struct expect drop(counter_set counters)
{
	return (struct expect){ .retval = TC_ACT_SHOT, .counters = counters };
}

static struct expect redirect(__u32 mark, const __u8 *dmac,
			      counter_set counters)
{
	return (struct expect){ .retval = TC_ACT_REDIRECT,
				.mark = mark,
				.dmac = dmac,
				.counters = counters };
}

/* Test wrappers: one CUnit test per address family / L4 protocol. */
#define PER_FAMILY(fn)            \
	static void fn##_v4(void) \
	{                         \
		fn(AF_INET);      \
	}                         \
	static void fn##_v6(void) \
	{                         \
		fn(AF_INET6);     \
	}

#define PER_FAMILY_PROTO(fn)               \
	static void fn##_v4_tcp(void)      \
	{                                  \
		fn(AF_INET, IPPROTO_TCP);  \
	}                                  \
	static void fn##_v4_udp(void)      \
	{                                  \
		fn(AF_INET, IPPROTO_UDP);  \
	}                                  \
	static void fn##_v6_tcp(void)      \
	{                                  \
		fn(AF_INET6, IPPROTO_TCP); \
	}                                  \
	static void fn##_v6_udp(void)      \
	{                                  \
		fn(AF_INET6, IPPROTO_UDP); \
	}

/* ===================== app_outbound (pod veth, ingress) ================= */

static bool out_run(const struct pkt *p, int ifindex, struct expect e)
{
	return expect_run(DP_APP_OUTBOUND, p, ifindex, 0, &e);
}

static void out_non_ip(void)
{
	struct pkt p;

	if (CHECK(!pkt_build_arp(&p, "10.0.0.2", "10.0.0.1"), "build arp"))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_NON_IP)));
}

static void out_other_proto(int family)
{
	struct pkt p;

	if (build_flow(&p, family, icmp_of(family), POD_A, 0, REMOTE, 0))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_OTHER_PROTO)));
}
PER_FAMILY(out_other_proto)

/*
 * Other protocols pass from any source (neighbour discovery speaks from
 * link-local and unenrolled addresses; ICMP carries no connection).
 */
static void out_other_proto_any_source(int family)
{
	struct pkt p;

	if (build_flow(&p, family, icmp_of(family), NOT_POD, 0, REMOTE, 0))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_OTHER_PROTO)));
}
PER_FAMILY(out_other_proto_any_source)

/*
 * IP in IP, IPv6 in IP, GRE: whatever decapsulates them on the node would
 * route the inner packet around ztunnel.
 */
static void out_tunnel(int family)
{
	static const __u8 tunnels[] = { IPPROTO_IPIP, IPPROTO_IPV6,
					IPPROTO_GRE };
	struct pkt p;

	for (size_t i = 0; i < sizeof(tunnels); i++)
		if (!build_flow(&p, family, tunnels[i], POD_A, 0, REMOTE, 0) ||
		    !out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_TUNNEL))))
			return;
}
PER_FAMILY(out_tunnel)

/*
 * An IPv4-mapped address in an IPv6 header would be keyed as the IPv4
 * address in every map: malformed.
 */
static void out_v4_mapped(void)
{
	struct pkt_spec sp =
		flow(AF_INET6, IPPROTO_TCP, POD_A, 40000, REMOTE, 80);
	struct pkt p;

	sp.saddr = "::ffff:10.0.0.2";
	if (build(&p, &sp) &&
	    out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)))) {
		sp.saddr = addr_of(AF_INET6, POD_A);
		sp.daddr = "::ffff:10.1.0.5";
		if (build(&p, &sp))
			out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
	}
}

/* The common case: a pod's own flow leaves through ztunnel. */
static void out_capture(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_capture)

/* ztunnel serves no UDP but DNS: other UDP passes as if unmeshed. */
static void out_udp_pass(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_UDP, POD_A, 40000, REMOTE, 443))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_UDP)));
}
PER_FAMILY(out_udp_pass)

/* A ztunnel enrolled to capture all UDP gets it. */
static void out_udp_capture_all(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, IPPROTO_UDP, POD_A, 40000, REMOTE, 443))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_udp_capture_all)

/*
 * Frames with a VLAN tag (802.1Q, 802.1ad; one, or two as a pod sends
 * them after the outer is stripped) from a meshed pod: dropped, counted.
 */
static bool add_vlan_tag(struct pkt *p, __u16 tpid)
{
	if (!CHECK(p->len + 4 <= sizeof(p->data), "no room for a tag"))
		return false;
	memmove(p->data + 16, p->data + 12, p->len - 12);
	p->data[12] = (__u8)(tpid >> 8);
	p->data[13] = (__u8)tpid;
	p->data[14] = 0;
	p->data[15] = 42; /* VLAN id */
	p->len += 4;
	p->l3 += 4;
	p->l4 += 4;
	return true;
}

static void out_vlan_tagged(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80) &&
	    add_vlan_tag(&p, ETH_P_8021Q) &&
	    out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_TAGGED))) &&
	    add_vlan_tag(&p, ETH_P_8021AD))
		out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_TAGGED)));
}
PER_FAMILY(out_vlan_tagged)

static void out_truncated_ip_header(int family)
{
	struct pkt p;

	if (!fx.short_ip_frames[family == AF_INET6]) {
		/* the program's own check stays for real traffic */
		skip_test("this kernel's BPF_PROG_TEST_RUN refuses frames "
			  "shorter than Ethernet + IP header (EINVAL)");
		return;
	}
	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		return;
	p.len = p.l3 + 10; /* half an IP header */
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}
PER_FAMILY(out_truncated_ip_header)

/* The L4 header is cut short while the IP lengths agree with the frame. */
static void out_truncated_l4_header(int family, __u8 proto)
{
	struct pkt p;
	struct pkt_spec s = flow(family, proto, POD_A, 40000, REMOTE, 80);

	s.payload_len = 0;
	if (!build(&p, &s))
		return;
	pkt_set_len(&p, p.l4 + (proto == IPPROTO_TCP ? 12 : 4));
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}
PER_FAMILY_PROTO(out_truncated_l4_header)

static void out_ipv4_bad_ihl(void)
{
	struct pkt p;
	struct iphdr *iph;

	if (!build_flow(&p, AF_INET, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		return;
	iph = (struct iphdr *)(p.data + p.l3);
	iph->ihl = 4; /* shorter than the fixed header */
	pkt_ipv4_csum(&p);
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

static void out_ipv4_ihl_beyond_packet(void)
{
	struct pkt p;
	struct iphdr *iph;
	struct pkt_spec s =
		flow(AF_INET, IPPROTO_UDP, POD_A, 40000, REMOTE, 80);

	s.payload_len = 0;
	if (!build(&p, &s))
		return;
	iph = (struct iphdr *)(p.data + p.l3);
	iph->ihl = 15; /* 60 bytes of header in a 28-byte datagram */
	pkt_ipv4_csum(&p);
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

/* The frame ends inside the IPv4 options: the closest to a truncated
 * header that every kernel's test-run accepts. */
static void out_ipv4_options_truncated(void)
{
	struct pkt p;
	struct iphdr *iph;
	struct pkt_spec s =
		flow(AF_INET, IPPROTO_UDP, POD_A, 40000, REMOTE, 80);

	s.payload_len = 0;
	if (!build(&p, &s))
		return;
	iph = (struct iphdr *)(p.data + p.l3);
	iph->ihl = 7; /* 8 bytes of options (the old UDP header, as NOPs) */
	memset(p.data + p.l3 + 20, 1, 8);
	pkt_set_len(&p, p.l3 + 28);
	p.len = p.l3 + 24; /* cut after 4 of them */
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

/* An IP length promising more bytes than the frame has. */
static void out_ip_length_beyond_frame(int family)
{
	struct pkt p;

	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		return;
	pkt_set_len(&p, p.len + 8);
	p.len -= 8;
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}
PER_FAMILY(out_ip_length_beyond_frame)

static void out_tcp_bad_doff(void)
{
	struct pkt p;
	struct tcphdr *th;

	if (!build_flow(&p, AF_INET, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		return;
	th = (struct tcphdr *)(p.data + p.l4);
	th->doff = 4;
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

static bool build_v6_ext(struct pkt *p, __u8 proto, const __u8 *ext, int n_ext)
{
	struct pkt_spec s = flow(AF_INET6, proto, POD_A, 40000, REMOTE, 80);

	memcpy(s.ext, ext, (size_t)n_ext);
	s.n_ext = n_ext;
	return build(p, &s);
}

/* Extension headers are walked to find the ports. */
static void out_ipv6_ext_headers(__u8 proto)
{
	static const __u8 ext[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS };
	struct pkt p;

	if (build_v6_ext(&p, proto, ext, 2))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}

static void out_ipv6_ext_headers_tcp(void)
{
	out_ipv6_ext_headers(IPPROTO_TCP);
}

static void out_ipv6_ext_headers_udp(void)
{
	if (set_capture_udp())
		out_ipv6_ext_headers(IPPROTO_UDP);
}

/* IP6_MAX_EXT_HDRS (6) extension headers are still followed. */
static void out_ipv6_max_ext_headers(void)
{
	static const __u8 ext[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
				    IPPROTO_ROUTING, IPPROTO_DSTOPTS,
				    IPPROTO_DSTOPTS, IPPROTO_DSTOPTS };
	struct pkt p;

	if (build_v6_ext(&p, IPPROTO_TCP, ext, 6))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}

/* One more than the parser follows: malformed, never guessed at. */
static void out_ipv6_too_many_ext_headers(void)
{
	static const __u8 ext[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
				    IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
				    IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
				    IPPROTO_DSTOPTS };
	struct pkt p;

	if (build_v6_ext(&p, IPPROTO_TCP, ext, 7))
		out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

/* An extension header running past the end of the frame. */
static void out_ipv6_truncated_ext_header(void)
{
	static const __u8 ext[] = { IPPROTO_HOPOPTS };
	struct pkt p;

	if (!build_v6_ext(&p, IPPROTO_TCP, ext, 1))
		return;
	pkt_set_len(&p, p.l3 + sizeof(struct ip6_hdr) + 4);
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

static bool build_frag_to(struct pkt *p, int family, __u8 proto, enum host src,
			  enum host dst, __u16 dport, enum pkt_frag frag,
			  __u32 id)
{
	struct pkt_spec s = flow(family, proto, src, 40000, dst, dport);

	s.frag = frag;
	s.frag_id = id;
	s.frag_offset = frag == PKT_FRAG_LATER ? 40 : 0;
	return build(p, &s);
}

static bool build_frag(struct pkt *p, int family, __u8 proto, enum host src,
		       enum host dst, enum pkt_frag frag, __u32 id)
{
	return build_frag_to(p, family, proto, src, dst, 80, frag, id);
}

/* A datagram's later fragment follows its first one into ztunnel. */
static void out_frag_capture(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_FIRST,
		       7) &&
	    out_run(&p, fx.if_pod_a,
		    redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL))) &&
	    build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_LATER,
		       7))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_frag_capture)

/* ... and past it when the first one passed (here: UDP). */
static void out_frag_pass(int family)
{
	struct pkt p;

	if (build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_FIRST,
		       8) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_UDP))) &&
	    build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_LATER,
		       8))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_FRAG)));
}
PER_FAMILY(out_frag_pass)

static unsigned int frags_held(void)
{
	struct frag_key k, next;
	unsigned int n = 0;
	int fd = bpf_map__fd(fx.dp.skel->maps.frags);

	for (int err = bpf_map_get_next_key(fd, NULL, &next); !err;
	     err = bpf_map_get_next_key(fd, &k, &next)) {
		k = next;
		n++;
	}
	return n;
}

/*
 * A later fragment whose first one is not remembered (never seen, or
 * evicted by another pod's flood) follows its protocol's default: TCP
 * captured, UDP passed (captured by a capture_udp ztunnel). No datagram is
 * reassembled without its first fragment, so none escapes this way.
 */
static void out_frag_unknown(int family, __u8 proto)
{
	struct pkt p;

	if (!build_frag(&p, family, proto, POD_A, REMOTE, PKT_FRAG_LATER, 10))
		return;
	if (proto == IPPROTO_TCP)
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
	else
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_FRAG)));
	if (proto == IPPROTO_UDP && set_capture_udp())
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY_PROTO(out_frag_unknown)

/* Default verdicts are never written: a flood of them takes no room. */
static void out_frag_default_not_kept(int family)
{
	struct pkt p;

	if (build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_FIRST,
		       12) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_UDP))) &&
	    build_frag(&p, family, IPPROTO_TCP, POD_A, REMOTE, PKT_FRAG_FIRST,
		       13) &&
	    out_run(&p, fx.if_pod_a,
		    redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL))))
		CHECK(frags_held() == 0, "%u default verdicts kept",
		      frags_held());
}
PER_FAMILY(out_frag_default_not_kept)

/*
 * Pod B's DNS (DNS capture on) is captured, unlike UDP's default, so its
 * verdict is kept for the later fragments. Once it is gone (evicted by a
 * flood of other kept verdicts) the rest of the datagram takes the
 * default way: that one datagram is lost, nothing escapes.
 */
static void out_frag_kept_and_flooded(int family)
{
	struct frag_key k;
	struct pkt first, later;
	int fd = bpf_map__fd(fx.dp.skel->maps.frags);

	if (!build_frag_to(&first, family, IPPROTO_UDP, POD_B, DNS_SERVER, 53,
			   PKT_FRAG_FIRST, 14) ||
	    !build_frag_to(&later, family, IPPROTO_UDP, POD_B, DNS_SERVER, 53,
			   PKT_FRAG_LATER, 14))
		return;
	if (!out_run(&first, fx.if_pod_b,
		     redirect(TAG_DNS, MAC_ZT, C(OUT_DNS_TO_ZTUNNEL))) ||
	    !CHECK(frags_held() == 1, "DNS verdict not kept") ||
	    !out_run(&later, fx.if_pod_b,
		     redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL))) ||
	    !CHECK(!bpf_map_get_next_key(fd, NULL, &k), "no key"))
		return;
	/* As an eviction would. */
	bpf_map_delete_elem(fd, &k);
	out_run(&later, fx.if_pod_b, pass(C(OUT_PASS_FRAG)));
}
PER_FAMILY(out_frag_kept_and_flooded)

/* Later fragments of ICMP are not ours to judge. */
static void out_frag_later_other_proto(int family)
{
	struct pkt p;

	if (build_frag(&p, family, icmp_of(family), POD_A, REMOTE,
		       PKT_FRAG_LATER, 11))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_OTHER_PROTO)));
}
PER_FAMILY(out_frag_later_other_proto)

/* A source that is no pod's: dropped, it would otherwise be captured. */
static void out_spoofed_source(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, NOT_POD, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_SPOOFED)));
}
PER_FAMILY(out_spoofed_source)

/* Pod B's address arriving on pod A's veth is spoofed too. */
static void out_other_pods_source(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_UDP, POD_B, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_SPOOFED)));
}
PER_FAMILY(out_other_pods_source)

/*
 * A node address is no exemption: Service addresses (kube-ipvs0),
 * hostPorts and NodePorts live there. TCP is captured, UDP passes as all
 * UDP does.
 */
static void out_node_addr(int family, __u8 proto)
{
	struct pkt p;

	if (!build_flow(&p, family, proto, POD_A, 40000, NODE, 10250))
		return;
	if (proto == IPPROTO_TCP)
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
	else
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_UDP)));
}
PER_FAMILY_PROTO(out_node_addr)

/* A socket bound to an address that is not local, as ztunnel's are. */
static int transparent_socket(int family, int type, const char *ip, __u16 port)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(family, ip, port, &ss);
	int one = 1, fd = track_fd(socket(family, type, 0));

	if (!CHECK(fd >= 0, "socket: %s", strerror(errno)))
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one,
			   sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one));
	if (!CHECK(!bind(fd, (struct sockaddr *)&ss, len), "bind %s: %s", ip,
		   strerror(errno)))
		return -1;
	return fd;
}

/* Bind fd (options set) to ip:port and listen. */
static bool bind_listen(int fd, int family, const char *ip, __u16 port)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(family, ip, port, &ss);

	return CHECK(fd >= 0, "socket: %s", strerror(errno)) &&
	       CHECK(!bind(fd, (struct sockaddr *)&ss, len), "bind %s: %s", ip,
		     strerror(errno)) &&
	       CHECK(!listen(fd, 4), "listen: %s", strerror(errno));
}

/*
 * A socket of this netns (the node's, and ztunnel's when its id is
 * published) at NODE:10250 that opened a connection to POD_A:40000, as a
 * kubelet probe does: SYN_SENT (the SYN is lost) for TCP, connected for
 * UDP.
 */
static bool node_opened_to_pod_a(int family, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(family, addr_of(family, POD_A), 40000, &ss);
	int fd;

	/* A route to the pod, so connect() sends a SYN (lost, unanswered). */
	if (!CHECK(!system(family == AF_INET ?
				   "ip link set " IF_POD_A " up && "
				   "ip route replace 10.0.0.2/32 dev " IF_POD_A :
				   "ip link set " IF_POD_A " up && "
				   "ip -6 route replace fd00::2/128 dev " IF_POD_A),
		   "route to pod A"))
		return false;
	fd = transparent_socket(family, type, addr_of(family, NODE), 10250);
	if (fd < 0)
		return false;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return CHECK(!connect(fd, (struct sockaddr *)&ss, len) ||
			     errno == EINPROGRESS,
		     "connect: %s", strerror(errno));
}

/* A node server's listener: the pod's connection to it is captured. */
static void out_node_listener_captured(int family)
{
	struct pkt p;
	int fd;

	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, NODE, 10250))
		return;
	fd = transparent_socket(family, SOCK_STREAM, addr_of(family, NODE),
				10250);
	if (fd >= 0 && CHECK(!listen(fd, 4), "listen: %s", strerror(errno)))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_node_listener_captured)

/* Rewrite a built TCP segment's flags (built as a SYN). */
static void set_tcp_flags(struct pkt *p, __u8 flags)
{
	p->data[p->l4 + 13] = flags;
}

#define TCP_SYN_ACK 0x12
#define TCP_ACK 0x10

/* The pod's answer to a connection a node socket opened: straight. */
static void out_node_reply(int family, __u8 proto)
{
	struct pkt p;

	if (proto == IPPROTO_UDP && !set_capture_udp())
		return;
	if (!build_flow(&p, family, proto, POD_A, 40000, NODE, 10250))
		return;
	if (proto == IPPROTO_TCP)
		set_tcp_flags(&p, TCP_SYN_ACK);
	if (node_opened_to_pod_a(family, proto == IPPROTO_TCP ? SOCK_STREAM :
								SOCK_DGRAM))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_NODE_REPLY)));
}
PER_FAMILY_PROTO(out_node_reply)

/* A segment opening a connection is never a reply, whatever the node holds. */
static void out_node_syn_is_new(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, NODE, 10250) &&
	    node_opened_to_pod_a(family, SOCK_STREAM))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_node_syn_is_new)

/*
 * The node's socket for the flow sits on a port a node server listens on:
 * it was accepted (ztunnel's connection to that server, say, which the pod
 * could reuse from its TIME_WAIT), not opened by the node: captured.
 */
static void out_node_accepted_not_reply(int family)
{
	int one = 1, lfd;
	struct pkt p;

	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, NODE, 10250) ||
	    !node_opened_to_pod_a(family, SOCK_STREAM))
		return;
	set_tcp_flags(&p, TCP_ACK);
	if (!out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_NODE_REPLY))))
		return;
	lfd = track_fd(socket(family, SOCK_STREAM, 0));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(lfd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one,
			   sizeof(one));
	else
		setsockopt(lfd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one));
	if (bind_listen(lfd, family, addr_of(family, NODE), 10250))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_node_accepted_not_reply)

/*
 * The same flow when ztunnel's netns holds it (here the test's netns
 * plays both): ztunnel connected with the pod's address to a node
 * server, so the flow is ztunnel's, captured.
 */
static void out_node_addr_ztunnel_flow(int family)
{
	struct pkt p;

	if (CHECK(fx.self_nsid >= 0, "no netns id") &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, NODE, 10250) &&
	    set_ztunnel_as(true, 0, fx.self_nsid) &&
	    node_opened_to_pod_a(family, SOCK_STREAM))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_node_addr_ztunnel_flow)

/*
 * Without DNS capture a UDP query passes like all UDP, and nothing is
 * remembered: replies pass back in as UDP does.
 */
static void out_dns_udp_pass(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_UDP, POD_A, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_UDP))))
		CHECK(!dns_flow_known(family, POD_A, 40053, DNS_SERVER,
				      IPPROTO_UDP),
		      "DNS flow remembered");
}
PER_FAMILY(out_dns_udp_pass)

/* TCP to port 53 is TCP like any other: no escape hatch. */
static void out_dns_tcp_captured(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, POD_A, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_a,
		    redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL))))
		CHECK(!dns_flow_known(family, POD_A, 40053, DNS_SERVER,
				      IPPROTO_TCP),
		      "TCP DNS flow remembered");
}
PER_FAMILY(out_dns_tcp_captured)

/*
 * Under all-UDP capture, DNS without DNS capture still passes, and its
 * flow is remembered so the replies are not captured on the way back.
 */
static void out_dns_pass_capture_udp(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, IPPROTO_UDP, POD_A, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_DNS))))
		CHECK(dns_flow_known(family, POD_A, 40053, DNS_SERVER,
				     IPPROTO_UDP),
		      "DNS flow not remembered");
}
PER_FAMILY(out_dns_pass_capture_udp)

/* With DNS capture (pod B) the query goes to ztunnel, nothing remembered. */
static void out_dns_capture(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, POD_B, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_b,
		    redirect(TAG_DNS, MAC_ZT, C(OUT_DNS_TO_ZTUNNEL))))
		CHECK(!dns_flow_known(family, POD_B, 40053, DNS_SERVER, proto),
		      "captured DNS flow remembered");
}
PER_FAMILY_PROTO(out_dns_capture)

static void out_no_ztunnel_fail_closed(int family)
{
	struct pkt p;

	if (set_ztunnel(false) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_NO_ZTUNNEL)));
}
PER_FAMILY(out_no_ztunnel_fail_closed)

static void out_no_ztunnel_fail_open(int family)
{
	struct pkt p;

	if (set_ztunnel(false) && set_fail_open(true) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_FAIL_OPEN)));
}
PER_FAMILY(out_no_ztunnel_fail_open)

/* Fail open only matters without ztunnel. */
static void out_fail_open_with_ztunnel(void)
{
	struct pkt p;

	if (set_fail_open(true) &&
	    build_flow(&p, AF_INET, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}

static void out_dns_capture_no_ztunnel(void)
{
	struct pkt p;

	if (set_ztunnel(false) &&
	    build_flow(&p, AF_INET, IPPROTO_UDP, POD_B, 40053, DNS_SERVER, 53))
		out_run(&p, fx.if_pod_b, drop(C(OUT_DROP_NO_ZTUNNEL)));
}

/* ===================== app_inbound (pod veth, egress) =================== */

static bool in_run(const struct pkt *p, int ifindex, struct expect e)
{
	return expect_run(DP_APP_INBOUND, p, ifindex, 0, &e);
}

static struct expect in_captured(void)
{
	return redirect(TAG_INBOUND, MAC_ZT, C(IN_TO_ZTUNNEL));
}

static void in_non_ip(void)
{
	struct pkt p;

	if (CHECK(!pkt_build_arp(&p, "10.0.0.1", "10.0.0.2"), "build arp"))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_NON_IP)));
}

static void in_other_proto(int family)
{
	struct pkt p;

	if (build_flow(&p, family, icmp_of(family), REMOTE, 0, POD_A, 0))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_OTHER_PROTO)));
}
PER_FAMILY(in_other_proto)

static void in_malformed(int family)
{
	struct pkt p;

	if (!build_flow(&p, family, IPPROTO_TCP, REMOTE, 80, POD_A, 40000))
		return;
	pkt_set_len(&p, p.l4 + 8);
	in_run(&p, fx.if_pod_a, drop(C(IN_DROP_MALFORMED)));
}
PER_FAMILY(in_malformed)

static void in_capture(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY(in_capture)

static void in_udp_pass(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_UDP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_UDP)));
}
PER_FAMILY(in_udp_pass)

static void in_udp_capture_all(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, IPPROTO_UDP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY(in_udp_capture_all)

static void in_vlan_tagged(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080) &&
	    add_vlan_tag(&p, ETH_P_8021Q))
		in_run(&p, fx.if_pod_a, drop(C(IN_DROP_TAGGED)));
}
PER_FAMILY(in_vlan_tagged)

static void in_ipv6_ext_headers(void)
{
	struct pkt p;
	struct pkt_spec s =
		flow(AF_INET6, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080);

	s.ext[0] = IPPROTO_HOPOPTS;
	s.ext[1] = IPPROTO_DSTOPTS;
	s.n_ext = 2;
	if (build(&p, &s))
		in_run(&p, fx.if_pod_a, in_captured());
}

/*
 * An address the pod was not enrolled with (a secondary address, SLAAC)
 * is refused, TCP and UDP, as its packets from one are: it would reach
 * the pod uncaptured.
 */
static void in_not_enrolled(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, REMOTE, 40000, NOT_POD, 8080))
		in_run(&p, fx.if_pod_a, drop(C(IN_DROP_NOT_ENROLLED)));
}
PER_FAMILY_PROTO(in_not_enrolled)

/* Pod A's address on pod B's veth (a bridge's flood): not B's, refused. */
static void in_other_pods_veth(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_b, drop(C(IN_DROP_NOT_ENROLLED)));
}
PER_FAMILY(in_other_pods_veth)

/* Broadcast and multicast frames are addressed to no one pod: they pass. */
static void in_multicast(int family)
{
	static const __u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const __u8 mcast[2][6] = {
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0xfb },
	};
	struct pkt_spec sp =
		flow(family, IPPROTO_UDP, REMOTE, 5353, NOT_POD, 5353);
	struct pkt p;

	sp.daddr = family == AF_INET ? "224.0.0.251" : "ff02::fb";
	memcpy(sp.dmac, mcast[family == AF_INET6], 6);
	if (!build(&p, &sp) ||
	    !in_run(&p, fx.if_pod_a, pass(C(IN_PASS_MULTICAST))))
		return;
	/* a unicast address is one pod's, whatever the frame's MAC says */
	sp.daddr = family == AF_INET ? "10.0.0.9" : "fd00::9";
	memcpy(sp.dmac, bcast, 6);
	if (build(&p, &sp))
		in_run(&p, fx.if_pod_a, drop(C(IN_DROP_NOT_ENROLLED)));
	if (family == AF_INET) {
		sp.daddr = "255.255.255.255";
		if (build(&p, &sp))
			in_run(&p, fx.if_pod_a, pass(C(IN_PASS_MULTICAST)));
	}
}
PER_FAMILY(in_multicast)

/*
 * A node source address alone is no exemption: only packets of a node
 * socket pass (test_run's stand-in socket is none; real node sockets are
 * in the e2e tests). A masqueraded NodePort hop looks like this.
 */
static void in_node_source_captured(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, NODE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY(in_node_source_captured)

/* ====================== node_addr_list (the short list) ================ */

static int set_node_list(const struct addr_key *extra, size_t n_extra);

static struct addr_key nth_addr(__u32 i)
{
	struct addr_key k = { .addr = { 0, 0, htonl(0xffff),
					htonl(0xc0a80000u + i) } };

	return k;
}

static int list_slot(const struct node_addr_list *l, const struct addr_key *a)
{
	for (__u32 i = 0; i < l->n; i++)
		if (!memcmp(&l->addrs[i], a, sizeof(*a)))
			return (int)i;
	return -1;
}

/* Staying addresses keep their slots, so a torn read finds them. */
static void node_list_slots_stay(void)
{
	struct addr_key a = nth_addr(1), b = nth_addr(2), c = nth_addr(3),
			d = nth_addr(4);
	struct addr_key first[] = { a, b, c }, second[] = { c, d, a, a };
	struct addr_key third[] = { c };
	struct node_addr_list empty = { 0 }, l1, l2, l3;

	node_addr_list_build(&empty, first, 3, &l1);
	CU_ASSERT(l1.complete == 1 && l1.n == 3);
	CU_ASSERT(list_slot(&l1, &a) == 0 && list_slot(&l1, &b) == 1 &&
		  list_slot(&l1, &c) == 2);
	node_addr_list_build(&l1, second, 4, &l2);
	CU_ASSERT(l2.complete == 1 && l2.n == 3);
	CU_ASSERT(list_slot(&l2, &a) == 0 && list_slot(&l2, &c) == 2);
	CU_ASSERT(list_slot(&l2, &d) == 1); /* b's freed slot */
	CU_ASSERT(list_slot(&l2, &b) < 0);
	node_addr_list_build(&l2, third, 1, &l3);
	/* c stays in slot 2; the slots before it repeat c, never :: */
	CU_ASSERT(l3.complete == 1 && l3.n == 3);
	for (__u32 i = 0; i < 3; i++)
		CU_ASSERT(!memcmp(&l3.addrs[i], &c, sizeof(c)));
	node_addr_list_build(&l3, NULL, 0, &l1);
	CU_ASSERT(l1.complete == 1 && l1.n == 0);
}

static void node_list_overflow(void)
{
	struct addr_key many[NODE_ADDRS_INLINE + 1];
	struct node_addr_list empty = { 0 }, l;

	for (__u32 i = 0; i < ARRAY_LEN(many); i++)
		many[i] = nth_addr(i + 1);
	node_addr_list_build(&empty, many, NODE_ADDRS_INLINE, &l);
	CU_ASSERT(l.complete == 1 && l.n == NODE_ADDRS_INLINE);
	node_addr_list_build(&l, many, ARRAY_LEN(many), &l);
	CU_ASSERT(l.complete == 0 && l.n == 0);
}

/*
 * The programs believe a complete list (so redirectd must keep it whole)
 * and ask node_addrs when it is not.
 */
static void node_list_decides(int family)
{
	struct addr_key many[NODE_ADDRS_INLINE + 1];
	struct pkt p;

	for (__u32 i = 0; i < ARRAY_LEN(many); i++)
		many[i] = nth_addr(i + 1);
	/* A probe's reply passes only if NODE is known as a node address. */
	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, NODE, 10250) ||
	    !node_opened_to_pod_a(family, SOCK_STREAM))
		return;
	set_tcp_flags(&p, TCP_SYN_ACK);
	CU_ASSERT_FATAL(!dp_node_addr_list_set(&fx.dp, many, 1));
	out_run(&p, fx.if_pod_a,
		redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
	CU_ASSERT_FATAL(!dp_node_addr_list_set(&fx.dp, many, ARRAY_LEN(many)));
	out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_NODE_REPLY)));
	CU_ASSERT(!set_node_list(many, 5));
	out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_NODE_REPLY)));
	CU_ASSERT(!set_node_list(NULL, 0));
}
PER_FAMILY(node_list_decides)

/*
 * Under all-UDP capture, a reply to a query that passed uncaptured passes
 * back in.
 */
static void in_dns_reply_known(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, IPPROTO_UDP, POD_A, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_DNS))) &&
	    build_flow(&p, family, IPPROTO_UDP, DNS_SERVER, 53, POD_A, 40053))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_DNS_REPLY)));
}
PER_FAMILY(in_dns_reply_known)

/* "From port 53" alone is no reason to let a packet past ztunnel. */
static void in_dns_reply_unknown(int family, __u8 proto)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, proto, DNS_SERVER, 53, POD_A, 40053))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY_PROTO(in_dns_reply_unknown)

/* A remembered flow covers only its own pod port and protocol. */
static void in_dns_reply_other_flow(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, IPPROTO_UDP, POD_A, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_DNS))) &&
	    build_flow(&p, family, IPPROTO_UDP, DNS_SERVER, 53, POD_A, 40054) &&
	    in_run(&p, fx.if_pod_a, in_captured()) &&
	    build_flow(&p, family, IPPROTO_TCP, DNS_SERVER, 53, POD_A, 40053))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY(in_dns_reply_other_flow)

static void in_frag_capture(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_frag(&p, family, IPPROTO_UDP, REMOTE, POD_A, PKT_FRAG_FIRST,
		       21) &&
	    in_run(&p, fx.if_pod_a, in_captured()) &&
	    build_frag(&p, family, IPPROTO_UDP, REMOTE, POD_A, PKT_FRAG_LATER,
		       21))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY(in_frag_capture)

static void in_frag_pass(int family)
{
	struct pkt p;

	if (build_frag(&p, family, IPPROTO_UDP, REMOTE, POD_A, PKT_FRAG_FIRST,
		       22) &&
	    in_run(&p, fx.if_pod_a, pass(C(IN_PASS_UDP))) &&
	    build_frag(&p, family, IPPROTO_UDP, REMOTE, POD_A, PKT_FRAG_LATER,
		       22))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_FRAG)));
}
PER_FAMILY(in_frag_pass)

/* As outbound: a later fragment with no kept verdict takes the default. */
static void in_frag_unknown(int family, __u8 proto)
{
	struct pkt p;

	if (!build_frag(&p, family, proto, REMOTE, POD_A, PKT_FRAG_LATER, 23))
		return;
	if (proto == IPPROTO_TCP)
		in_run(&p, fx.if_pod_a, in_captured());
	else
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_FRAG)));
}
PER_FAMILY_PROTO(in_frag_unknown)

static void in_no_ztunnel_fail_closed(int family)
{
	struct pkt p;

	if (set_ztunnel(false) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, drop(C(IN_DROP_NO_ZTUNNEL)));
}
PER_FAMILY(in_no_ztunnel_fail_closed)

static void in_no_ztunnel_fail_open(int family)
{
	struct pkt p;

	if (set_ztunnel(false) && set_fail_open(true) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_FAIL_OPEN)));
}
PER_FAMILY(in_no_ztunnel_fail_open)

/* ================= ztunnel_host_in (ztunnel veth, ingress) =============== */

static bool zh_run(const struct pkt *p, __u32 mark, struct expect e)
{
	return expect_run(DP_ZTUNNEL_HOST_IN, p, fx.if_zt_host, mark, &e);
}

/* Sent here by app_inbound: on into ztunnel, frame and tag untouched. */
static void zh_inbound_tagged(int family)
{
	struct pkt p;
	struct pkt_spec s =
		flow(family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080);

	memcpy(s.dmac, MAC_ZT, 6);
	if (build(&p, &s))
		zh_run(&p, TAG_INBOUND,
		       redirect(TAG_INBOUND, NULL, C(ZH_INBOUND_TO_ZTUNNEL)));
}
PER_FAMILY(zh_inbound_tagged)

static void zh_inbound_tagged_no_ztunnel(int family)
{
	struct pkt p;
	struct expect e = drop(C(ZH_DROP_NO_ZTUNNEL));

	e.mark = TAG_INBOUND;
	if (set_ztunnel(false) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		zh_run(&p, TAG_INBOUND, e);
}
PER_FAMILY(zh_inbound_tagged_no_ztunnel)

/* ztunnel's own packet to a meshed pod goes straight into the pod. */
static void zh_to_pod(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, REMOTE, 15008, POD_A, 8080))
		zh_run(&p, 0,
		       redirect(TAG_FROM_ZTUNNEL, MAC_POD_A, C(ZH_TO_POD)));
}
PER_FAMILY_PROTO(zh_to_pod)

/* Any IP protocol, not only TCP and UDP. */
static void zh_icmp_to_pod(int family)
{
	struct pkt p;

	if (build_flow(&p, family, icmp_of(family), REMOTE, 0, POD_B, 0))
		zh_run(&p, 0,
		       redirect(TAG_FROM_ZTUNNEL, MAC_POD_B, C(ZH_TO_POD)));
}
PER_FAMILY(zh_icmp_to_pod)

/* ztunnel's sockets mark their packets: the pod gets the guard's tag. */
static void zh_socket_mark_to_pod(void)
{
	struct pkt p;

	if (build_flow(&p, AF_INET, IPPROTO_TCP, REMOTE, 15008, POD_A, 8080))
		zh_run(&p, ZT_SOCKET_MARK,
		       redirect(TAG_FROM_ZTUNNEL, MAC_POD_A, C(ZH_TO_POD)));
}

static void zh_not_pod(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		zh_run(&p, 0, pass(C(ZH_PASS_NOT_POD)));
}
PER_FAMILY(zh_not_pod)

static void zh_non_ip(void)
{
	struct pkt p;

	if (CHECK(!pkt_build_arp(&p, "10.0.0.1", "10.0.0.2"), "build arp"))
		zh_run(&p, 0, pass(C(ZH_PASS_NON_IP)));
}

/* Not this program's to judge: passed on to the stack. */
static void zh_malformed(int family)
{
	struct pkt p;

	if (!build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		return;
	pkt_set_len(&p, p.l4 + 8);
	zh_run(&p, 0, pass(C(ZH_PASS_MALFORMED)));
}
PER_FAMILY(zh_malformed)

/* ================= ztunnel_ingress (ztunnel's netns) ==================== */

static bool zi_run(const struct pkt *p, __u32 tag, struct expect e)
{
	return expect_run(DP_ZTUNNEL_INGRESS, p, fx.if_zt, tag, &e);
}

/*
 * The outcome of a socket choice under BPF_PROG_TEST_RUN. bpf_sk_assign
 * only works at tc ingress (skb_at_tc_ingress()), and a test-run skb is
 * never at tc ingress, so the helper fails with -EOPNOTSUPP here: the
 * program counts the socket it chose, then drop_assign_failed, and drops
 * with the tag untouched. The choice is what these tests check; real
 * traffic (test_datapath) covers the successful assignment.
 */
static struct expect assigned(__u32 tag, counter_set counter)
{
	struct expect e = drop(counter | C(ZI_DROP_ASSIGN_FAILED));

	e.mark = tag;
	return e;
}

static struct expect no_listener(__u32 tag)
{
	struct expect e = drop(C(ZI_DROP_NO_LISTENER));

	e.mark = tag;
	return e;
}

/* All of ztunnel's listeners, TCP, of one family. */
static bool tcp_listeners(int family)
{
	return listener(family, SOCK_STREAM, ZT_PORT_OUTBOUND) &&
	       listener(family, SOCK_STREAM, ZT_PORT_INBOUND) &&
	       listener(family, SOCK_STREAM, ZT_PORT_HBONE) &&
	       listener(family, SOCK_STREAM, ZT_PORT_DNS);
}

static void zi_untagged(int family)
{
	struct pkt p;

	if (tcp_listeners(family) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		zi_run(&p, 0, pass(C(ZI_PASS_UNTAGGED)));
}
PER_FAMILY(zi_untagged)

static void zi_malformed(int family)
{
	struct pkt p;
	struct expect e = drop(C(ZI_DROP_MALFORMED));

	e.mark = TAG_OUTBOUND;
	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		return;
	pkt_set_len(&p, p.l4 + 8);
	zi_run(&p, TAG_OUTBOUND, e);
}
PER_FAMILY(zi_malformed)

/* Only TCP and UDP are ever tagged; anything else is not trusted. */
static void zi_tagged_other_proto(int family)
{
	struct pkt p;
	struct expect e = drop(C(ZI_DROP_MALFORMED));

	e.mark = TAG_INBOUND;
	if (build_flow(&p, family, icmp_of(family), REMOTE, 0, POD_A, 0))
		zi_run(&p, TAG_INBOUND, e);
}
PER_FAMILY(zi_tagged_other_proto)

/* Fragments are delivered locally for the stack to reassemble. */
static void zi_fragments(int family)
{
	struct pkt p;
	struct expect e = pass(C(ZI_LOCAL_FRAG));

	e.mark = ZT_ROUTE_MARK_DEFAULT;
	if (tcp_listeners(family) &&
	    build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_FIRST,
		       31) &&
	    zi_run(&p, TAG_OUTBOUND, e) &&
	    build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_LATER,
		       31))
		zi_run(&p, TAG_OUTBOUND, e);
}
PER_FAMILY(zi_fragments)

/*
 * An established connection wins over the listener: the packet carries
 * the connection's 4-tuple as the accepted socket sees it arriving
 * (client -> server), the way ztunnel's transparent socket sees the pod.
 */
static void zi_established_tcp(int family)
{
	struct tcp_pair tp;
	struct pkt p;

	if (tcp_listeners(family) && tcp_pair(family, &tp) &&
	    build_flow(&p, family, IPPROTO_TCP, LOOPBACK, tp.client_port,
		       LOOPBACK, tp.server_port))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_ESTABLISHED)));
}
PER_FAMILY(zi_established_tcp)

/* A TIME_WAIT socket is no owner: the flow goes to the listener. */
static void zi_time_wait_tcp(int family)
{
	struct tcp_pair tp;
	struct pkt p;

	if (access(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6",
		   R_OK)) {
		skip_test("no /proc/net/tcp{,6} to confirm the TIME_WAIT");
		return;
	}
	if (tcp_listeners(family) && tcp_time_wait(family, &tp) &&
	    build_flow(&p, family, IPPROTO_TCP, LOOPBACK, tp.server_port,
		       LOOPBACK, tp.client_port))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_OUTBOUND)));
}
PER_FAMILY(zi_time_wait_tcp)

/* A listener on the flow's own port is no owner either. */
static void zi_listener_on_dport_tcp(int family)
{
	struct pkt p;

	if (tcp_listeners(family) && listener(family, SOCK_STREAM, 80) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_OUTBOUND)));
}
PER_FAMILY(zi_listener_on_dport_tcp)

static void zi_outbound_listener(int family)
{
	struct pkt p;

	if (tcp_listeners(family) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_OUTBOUND)));
}
PER_FAMILY(zi_outbound_listener)

static void zi_inbound_listener(int family)
{
	struct pkt p;

	if (tcp_listeners(family) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		zi_run(&p, TAG_INBOUND,
		       assigned(TAG_INBOUND, C(ZI_ASSIGN_INBOUND)));
}
PER_FAMILY(zi_inbound_listener)

static void zi_hbone_listener(int family)
{
	struct pkt p;

	if (tcp_listeners(family) && build_flow(&p, family, IPPROTO_TCP, REMOTE,
						40000, POD_A, ZT_PORT_HBONE))
		zi_run(&p, TAG_INBOUND,
		       assigned(TAG_INBOUND, C(ZI_ASSIGN_HBONE)));
}
PER_FAMILY(zi_hbone_listener)

/* Port 15008 is HBONE only for inbound; outbound it is just a port. */
static void zi_outbound_to_15008(void)
{
	struct pkt p;

	if (tcp_listeners(AF_INET) &&
	    build_flow(&p, AF_INET, IPPROTO_TCP, POD_A, 40000, REMOTE,
		       ZT_PORT_HBONE))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_OUTBOUND)));
}

/* Captured DNS goes to ztunnel's DNS proxy, over UDP or TCP. */
static void zi_dns_listener(int family, __u8 proto)
{
	struct pkt p;

	/* tcp_listeners() has the TCP one on ZT_PORT_DNS */
	if (tcp_listeners(family) &&
	    (proto == IPPROTO_TCP ||
	     listener(family, SOCK_DGRAM, ZT_PORT_DNS)) &&
	    build_flow(&p, family, proto, POD_B, 40053, DNS_SERVER, 53))
		zi_run(&p, TAG_DNS, assigned(TAG_DNS, C(ZI_ASSIGN_DNS)));
}
PER_FAMILY_PROTO(zi_dns_listener)

/* Port 53 tagged as plain outbound (TCP DNS, no DNS capture): 15001. */
static void zi_port53_outbound(int family)
{
	struct pkt p;

	if (tcp_listeners(family) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40053, DNS_SERVER, 53))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_OUTBOUND)));
}
PER_FAMILY(zi_port53_outbound)

/*
 * A connected UDP socket owns its flow, ahead of the DNS listener: bound
 * to the server side (loopback:53) and connected to the client, as
 * ztunnel's transparent socket for a pod's query would be.
 */
static void zi_udp_connected(int family)
{
	struct pkt p;

	if (listener(family, SOCK_DGRAM, ZT_PORT_DNS) &&
	    udp_connected(family, LOOPBACK, 53, LOOPBACK, 40053) &&
	    build_flow(&p, family, IPPROTO_UDP, LOOPBACK, 40053, LOOPBACK, 53))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_ESTABLISHED)));
}
PER_FAMILY(zi_udp_connected)

/* An unconnected UDP socket on the flow's port does not own the flow. */
static void zi_udp_unconnected(int family)
{
	struct pkt p;

	if (listener(family, SOCK_DGRAM, ZT_PORT_DNS) &&
	    listener(family, SOCK_DGRAM, 53) &&
	    build_flow(&p, family, IPPROTO_UDP, POD_B, 40053, DNS_SERVER, 53))
		zi_run(&p, TAG_DNS, assigned(TAG_DNS, C(ZI_ASSIGN_DNS)));
}
PER_FAMILY(zi_udp_unconnected)

static void zi_no_listener(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, POD_A, 40000, REMOTE, 80))
		zi_run(&p, TAG_OUTBOUND, no_listener(TAG_OUTBOUND));
}
PER_FAMILY_PROTO(zi_no_listener)

/* Only the other direction's listener exists. */
static void zi_no_listener_this_direction(int family)
{
	struct pkt p;

	if (listener(family, SOCK_STREAM, ZT_PORT_OUTBOUND) &&
	    listener(family, SOCK_STREAM, ZT_PORT_HBONE) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		zi_run(&p, TAG_INBOUND, no_listener(TAG_INBOUND));
}
PER_FAMILY(zi_no_listener_this_direction)

/* A V6ONLY listener does not take IPv4, and TCP listeners not UDP. */
static void zi_no_listener_other_family(void)
{
	struct pkt p;

	if (tcp_listeners(AF_INET6) &&
	    build_flow(&p, AF_INET, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		zi_run(&p, TAG_OUTBOUND, no_listener(TAG_OUTBOUND));
}

static void zi_udp_no_udp_listener(void)
{
	struct pkt p;

	if (tcp_listeners(AF_INET) &&
	    build_flow(&p, AF_INET, IPPROTO_UDP, POD_A, 40000, REMOTE, 80))
		zi_run(&p, TAG_OUTBOUND, no_listener(TAG_OUTBOUND));
}

/* ============================ the suite ================================= */

struct test_def {
	const char *name;
	CU_TestFunc fn;
};

/* --- pod_guard, and app_outbound taking back what it returns --- */

/* The guard passes with TCX_NEXT in every mode: it is TCX-attached. */
static struct expect guard_pass(counter_set counters)
{
	return (struct expect){ .retval = (__u32)-1, .counters = counters };
}

static bool gd_run(const struct pkt *p, __u32 mark, struct expect e)
{
	return expect_run(DP_POD_GUARD, p, fx.if_pod_a, mark, &e);
}

/* Delivered by ztunnel_host_in: in, with our tag taken off. */
static void gd_from_ztunnel(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, REMOTE, 15008, POD_A, 8080))
		gd_run(&p, TAG_FROM_ZTUNNEL, guard_pass(C(GD_PASS_ZTUNNEL)));
}
PER_FAMILY_PROTO(gd_from_ztunnel)

/* TCP that came around app_inbound goes back out, tagged. */
static void gd_tcp_returned(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		gd_run(&p, 0,
		       redirect(TAG_RETURNED, NULL, C(GD_RETURN_TO_ZTUNNEL)));
}
PER_FAMILY(gd_tcp_returned)

static void gd_udp_not_captured(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_UDP, REMOTE, 40000, POD_A, 5353))
		gd_run(&p, 0, guard_pass(C(GD_PASS_NOT_CAPTURED)));
}
PER_FAMILY(gd_udp_not_captured)

/* A ztunnel that captures UDP gets it back as app_inbound would send it. */
static void gd_udp_captured_returned(int family)
{
	struct pkt p;

	if (set_ztunnel_as(true, ZT_F_CAPTURE_UDP, -1) &&
	    build_flow(&p, family, IPPROTO_UDP, REMOTE, 40000, POD_A, 5353))
		gd_run(&p, 0,
		       redirect(TAG_RETURNED, NULL, C(GD_RETURN_TO_ZTUNNEL)));
}
PER_FAMILY(gd_udp_captured_returned)

/* As app_inbound: an address the pod was not enrolled with, refused. */
static void gd_not_enrolled(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, REMOTE, 40000, NOT_POD, 8080))
		gd_run(&p, 0, drop(C(GD_DROP_NOT_ENROLLED)));
}
PER_FAMILY_PROTO(gd_not_enrolled)

static void gd_multicast(int family)
{
	static const __u8 mcast[2][6] = {
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0xfb },
	};
	struct pkt_spec sp =
		flow(family, IPPROTO_UDP, REMOTE, 5353, NOT_POD, 5353);
	struct pkt p;

	sp.daddr = family == AF_INET ? "224.0.0.251" : "ff02::fb";
	memcpy(sp.dmac, mcast[family == AF_INET6], 6);
	if (build(&p, &sp))
		gd_run(&p, 0, guard_pass(C(GD_PASS_NOT_CAPTURED)));
}
PER_FAMILY(gd_multicast)

static void gd_other_proto(int family)
{
	struct pkt p;

	if (build_flow(&p, family, icmp_of(family), REMOTE, 0, POD_A, 0))
		gd_run(&p, 0, guard_pass(C(GD_PASS_NOT_CAPTURED)));
}
PER_FAMILY(gd_other_proto)

static void gd_no_ztunnel(int family)
{
	struct pkt p;

	if (set_ztunnel(false) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		gd_run(&p, 0, drop(C(GD_DROP_NO_ZTUNNEL)));
}
PER_FAMILY(gd_no_ztunnel)

static void gd_no_ztunnel_fail_open(int family)
{
	struct pkt p;

	if (set_ztunnel(false) && set_fail_open(true) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		gd_run(&p, 0, guard_pass(C(GD_PASS_FAIL_OPEN)));
}
PER_FAMILY(gd_no_ztunnel_fail_open)

/* A later fragment whose first one the guard never saw: the default. */
static void gd_fragment_unknown(int family, __u8 proto)
{
	struct pkt p;

	if (!build_frag(&p, family, proto, REMOTE, POD_A, PKT_FRAG_LATER, 9))
		return;
	if (proto == IPPROTO_TCP)
		gd_run(&p, 0,
		       redirect(TAG_RETURNED, NULL, C(GD_RETURN_TO_ZTUNNEL)));
	else
		gd_run(&p, 0, guard_pass(C(GD_PASS_NOT_CAPTURED)));
}
PER_FAMILY_PROTO(gd_fragment_unknown)

/* Returned by the guard behind this veth: captured inbound. */
static void out_returned_captured(int family)
{
	struct pkt p;
	struct expect e =
		redirect(TAG_INBOUND, MAC_ZT, C(OUT_RETURNED_TO_ZTUNNEL));

	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		expect_run(DP_APP_OUTBOUND, &p, fx.if_pod_a, TAG_RETURNED, &e);
}
PER_FAMILY(out_returned_captured)

/* The tag on a packet for another pod than the one behind the veth. */
static void out_returned_other_pod(int family)
{
	struct pkt p;
	struct expect e = drop(C(OUT_DROP_RETURNED));

	e.mark = TAG_RETURNED; /* dropped as it came */
	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_B, 8080))
		expect_run(DP_APP_OUTBOUND, &p, fx.if_pod_a, TAG_RETURNED, &e);
}
PER_FAMILY(out_returned_other_pod)

#define T(fn)           \
	{               \
#fn, fn \
	}
#define T_FAMILY(fn) T(fn##_v4), T(fn##_v6)
#define T_FAMILY_PROTO(fn) \
	T(fn##_v4_tcp), T(fn##_v4_udp), T(fn##_v6_tcp), T(fn##_v6_udp)

static const struct test_def outbound_tests[] = {
	T(out_non_ip),
	T_FAMILY(out_other_proto),
	T_FAMILY(out_other_proto_any_source),
	T_FAMILY(out_tunnel),
	T(out_v4_mapped),
	T_FAMILY(out_capture),
	T_FAMILY(out_udp_pass),
	T_FAMILY(out_udp_capture_all),
	T_FAMILY(out_vlan_tagged),
	T_FAMILY(out_truncated_ip_header),
	T_FAMILY_PROTO(out_truncated_l4_header),
	T(out_ipv4_bad_ihl),
	T(out_ipv4_ihl_beyond_packet),
	T(out_ipv4_options_truncated),
	T_FAMILY(out_ip_length_beyond_frame),
	T(out_tcp_bad_doff),
	T(out_ipv6_ext_headers_tcp),
	T(out_ipv6_ext_headers_udp),
	T(out_ipv6_max_ext_headers),
	T(out_ipv6_too_many_ext_headers),
	T(out_ipv6_truncated_ext_header),
	T_FAMILY(out_frag_capture),
	T_FAMILY(out_frag_pass),
	T_FAMILY_PROTO(out_frag_unknown),
	T_FAMILY(out_frag_default_not_kept),
	T_FAMILY(out_frag_kept_and_flooded),
	T_FAMILY(out_frag_later_other_proto),
	T_FAMILY(out_spoofed_source),
	T_FAMILY(out_other_pods_source),
	T_FAMILY_PROTO(out_node_addr),
	T_FAMILY(out_node_listener_captured),
	T_FAMILY_PROTO(out_node_reply),
	T_FAMILY(out_node_syn_is_new),
	T_FAMILY(out_node_accepted_not_reply),
	T_FAMILY(out_node_addr_ztunnel_flow),
	T_FAMILY(out_dns_udp_pass),
	T_FAMILY(out_dns_tcp_captured),
	T_FAMILY(out_dns_pass_capture_udp),
	T_FAMILY_PROTO(out_dns_capture),
	T_FAMILY(out_no_ztunnel_fail_closed),
	T_FAMILY(out_no_ztunnel_fail_open),
	T(out_fail_open_with_ztunnel),
	T(out_dns_capture_no_ztunnel),
};

static const struct test_def inbound_tests[] = {
	T(in_non_ip),
	T_FAMILY(in_other_proto),
	T_FAMILY(in_malformed),
	T_FAMILY(in_capture),
	T_FAMILY(in_udp_pass),
	T_FAMILY(in_udp_capture_all),
	T_FAMILY(in_vlan_tagged),
	T(in_ipv6_ext_headers),
	T_FAMILY_PROTO(in_not_enrolled),
	T_FAMILY(in_other_pods_veth),
	T_FAMILY(in_multicast),
	T_FAMILY(in_node_source_captured),
	T_FAMILY(in_dns_reply_known),
	T_FAMILY_PROTO(in_dns_reply_unknown),
	T_FAMILY(in_dns_reply_other_flow),
	T_FAMILY(in_frag_capture),
	T_FAMILY(in_frag_pass),
	T_FAMILY_PROTO(in_frag_unknown),
	T_FAMILY(in_no_ztunnel_fail_closed),
	T_FAMILY(in_no_ztunnel_fail_open),
};

static const struct test_def node_list_tests[] = {
	T(node_list_slots_stay),
	T(node_list_overflow),
	T_FAMILY(node_list_decides),
};

static const struct test_def host_in_tests[] = {
	T_FAMILY(zh_inbound_tagged),
	T_FAMILY(zh_inbound_tagged_no_ztunnel),
	T_FAMILY_PROTO(zh_to_pod),
	T_FAMILY(zh_icmp_to_pod),
	T(zh_socket_mark_to_pod),
	T_FAMILY(zh_not_pod),
	T(zh_non_ip),
	T_FAMILY(zh_malformed),
};

static const struct test_def guard_tests[] = {
	T_FAMILY_PROTO(gd_from_ztunnel),   T_FAMILY(gd_tcp_returned),
	T_FAMILY(gd_udp_not_captured),	   T_FAMILY(gd_udp_captured_returned),
	T_FAMILY_PROTO(gd_not_enrolled),   T_FAMILY(gd_multicast),
	T_FAMILY(gd_other_proto),	   T_FAMILY(gd_no_ztunnel),
	T_FAMILY(gd_no_ztunnel_fail_open), T_FAMILY_PROTO(gd_fragment_unknown),
	T_FAMILY(out_returned_captured),   T_FAMILY(out_returned_other_pod),
};

static const struct test_def ingress_tests[] = {
	T_FAMILY(zi_untagged),
	T_FAMILY(zi_malformed),
	T_FAMILY(zi_tagged_other_proto),
	T_FAMILY(zi_fragments),
	T_FAMILY(zi_established_tcp),
	T_FAMILY(zi_time_wait_tcp),
	T_FAMILY(zi_listener_on_dport_tcp),
	T_FAMILY(zi_outbound_listener),
	T_FAMILY(zi_inbound_listener),
	T_FAMILY(zi_hbone_listener),
	T(zi_outbound_to_15008),
	T_FAMILY_PROTO(zi_dns_listener),
	T_FAMILY(zi_port53_outbound),
	T_FAMILY(zi_udp_connected),
	T_FAMILY(zi_udp_unconnected),
	T_FAMILY_PROTO(zi_no_listener),
	T_FAMILY(zi_no_listener_this_direction),
	T(zi_no_listener_other_family),
	T(zi_udp_no_udp_listener),
};

static const struct {
	const char *name;
	const struct test_def *tests;
	size_t n;
} suites[] = {
	{ "app_outbound", outbound_tests, ARRAY_LEN(outbound_tests) },
	{ "app_inbound", inbound_tests, ARRAY_LEN(inbound_tests) },
	{ "node_addr_list", node_list_tests, ARRAY_LEN(node_list_tests) },
	{ "ztunnel_host_in", host_in_tests, ARRAY_LEN(host_in_tests) },
	{ "ztunnel_ingress", ingress_tests, ARRAY_LEN(ingress_tests) },
	{ "pod_guard", guard_tests, ARRAY_LEN(guard_tests) },
};

static unsigned int count_tests(void)
{
	unsigned int n = 0;

	for (size_t i = 0; i < ARRAY_LEN(suites); i++)
		n += (unsigned int)suites[i].n;
	return n;
}

static int register_tests(void)
{
	for (size_t i = 0; i < ARRAY_LEN(suites); i++) {
		CU_pSuite s = CU_add_suite_with_setup_and_teardown(
			suites[i].name, NULL, NULL, test_setup, test_teardown);

		if (!s)
			return -1;
		for (size_t j = 0; j < suites[i].n; j++)
			if (!CU_add_test(s, suites[i].tests[j].name,
					 suites[i].tests[j].fn))
				return -1;
	}
	return 0;
}

/* --- set-up and tear-down of the whole run --- */

static void cleanup(void)
{
	close_fds();
	if (fx.loaded) {
		dp_unpin(&fx.dp);
		dp_close(&fx.dp);
		fx.loaded = false;
	}
}

static void on_signal(int sig)
{
	/* exit() runs cleanup(): the pins live outside our netns */
	exit(128 + sig);
}

static int result(unsigned int passed, unsigned int failed,
		  unsigned int skipped)
{
	printf("RESULT: passed=%u failed=%u skipped=%u\n", passed, failed,
	       skipped);
	return failed ? 1 : 0;
}

static int skip_all(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int skip_all(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP all BPF tc tests: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return result(0, 0, count_tests());
}

static int probe_run(int fd, const void *frame, __u32 len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame,
		    .data_size_in = len, .repeat = 1);
	int err = bpf_prog_test_run_opts(fd, &opts);

	return err ?: opts.retval == TC_ACT_PIPE ? 0 : -EPROTO;
}

/*
 * Can this kernel test-run a tc program and does it have the helpers the
 * programs call? Returns NULL or what is missing. Also notes whether it
 * takes a frame that ends inside the IP header (newer kernels refuse).
 */
static const char *probe_kernel(void)
{
	static const struct bpf_insn ret_pipe[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_0,
		  .imm = TC_ACT_PIPE },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static const struct {
		enum bpf_func_id id;
		const char *name;
	} helpers[] = {
		{ BPF_FUNC_redirect_peer, "bpf_redirect_peer" },
		{ BPF_FUNC_skc_lookup_tcp, "bpf_skc_lookup_tcp" },
		{ BPF_FUNC_sk_assign, "bpf_sk_assign" },
	};
	/* Ethernet header, then the start of an IPv4 / IPv6 header */
	__u8 frame[64] = { [12] = 0x08, [13] = 0x00, [14] = 0x45 };
	__u8 frame6[64] = { [12] = 0x86, [13] = 0xdd, [14] = 0x60 };
	int fd, err;

	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "probe", "GPL", ret_pipe,
			   ARRAY_LEN(ret_pipe), NULL);
	if (fd < 0)
		return "cannot load a tc program";
	err = probe_run(fd, frame, sizeof(frame));
	fx.short_ip_frames[0] = !probe_run(fd, frame, 14 + 10);
	fx.short_ip_frames[1] = !probe_run(fd, frame6, 14 + 20);
	close(fd);
	if (err)
		return "BPF_PROG_TEST_RUN of a tc program does not work";
	for (size_t i = 0; i < ARRAY_LEN(helpers); i++)
		if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS,
					    helpers[i].id, NULL) != 1)
			return helpers[i].name;
	return NULL;
}

/* A veth pair NAME/NAME-p (this kernel has no dummy); NAME's ifindex. */
static int ifindex_of(const char *name)
{
	char cmd[128];

	/* ip link add NAME type veth peer name NAME-p */
	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %s-p",
		 name, name);
	if (system(cmd))
		return -1;
	return (int)if_nametoindex(name);
}

static int put_pod(enum host h, int ifindex, const __u8 *mac, __u16 flags)
{
	struct pod_value info = { .host_ifindex = (__u32)ifindex,
				  .flags = flags };
	struct addr_key k4 = key_of(AF_INET, h), k6 = key_of(AF_INET6, h);

	memcpy(info.mac, mac, 6);
	return dp_pod_put(&fx.dp, &k4, &info) ?: dp_pod_put(&fx.dp, &k6, &info);
}

/* The node's list as redirectd writes it: NODE's two addresses + extra. */
static int set_node_list(const struct addr_key *extra, size_t n_extra)
{
	struct addr_key all[2 + NODE_ADDRS_INLINE + 1];

	if (n_extra > NODE_ADDRS_INLINE - 1)
		return -E2BIG;
	all[0] = key_of(AF_INET, NODE);
	all[1] = key_of(AF_INET6, NODE);
	memcpy(&all[2], extra, n_extra * sizeof(*extra));
	return dp_node_addr_list_set(&fx.dp, all, 2 + n_extra);
}

static int setup_maps(void)
{
	struct addr_key node4 = key_of(AF_INET, NODE);
	struct addr_key node6 = key_of(AF_INET6, NODE);

	return put_pod(POD_A, fx.if_pod_a, MAC_POD_A, 0) ?:
		       put_pod(POD_B, fx.if_pod_b, MAC_POD_B, POD_F_DNS_CAPTURE) ?:
		       dp_node_addr_add(&fx.dp, &node4) ?:
		       dp_node_addr_add(&fx.dp, &node6) ?:
							  set_node_list(NULL, 0);
}

static int setup(void)
{
	struct dp_opts opts = { .sz = sizeof(opts) };
	int err;

	if (system("ip link set lo up"))
		return -1;
	fx.if_pod_a = ifindex_of(IF_POD_A);
	fx.if_pod_b = ifindex_of(IF_POD_B);
	fx.if_zt_host = ifindex_of(IF_ZT_HOST);
	fx.if_zt = ifindex_of(IF_ZT);
	if (fx.if_pod_a <= 0 || fx.if_pod_b <= 0 || fx.if_zt_host <= 0 ||
	    fx.if_zt <= 0) {
		fprintf(stderr, "creating veth interfaces failed\n");
		return -1;
	}
	snprintf(fx.pin_dir, sizeof(fx.pin_dir), "/sys/fs/bpf/ar-test-tc-%d",
		 (int)getpid());
	opts.pin_dir = fx.pin_dir;
	err = dp_load(&fx.dp, &opts);
	if (err) {
		fprintf(stderr, "dp_load: %s\n", strerror(-err));
		return err;
	}
	fx.loaded = true;
	fx.self_nsid = netns_id_self();
	err = setup_maps();
	if (err)
		fprintf(stderr, "filling the maps: %s\n", strerror(-err));
	return err;
}

int main(void)
{
	unsigned int run, failed;
	const char *missing;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		return skip_all("needs root (BPF, netns, bpffs)");
	if (unshare(CLONE_NEWNET))
		return skip_all("unshare(CLONE_NEWNET): %s", strerror(errno));
	missing = probe_kernel();
	if (missing)
		return skip_all("kernel lacks: %s", missing);

	log_route_libbpf();
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (setup())
		return result(0, 1, 0);

	if (CU_initialize_registry() != CUE_SUCCESS)
		return result(0, 1, 0);
	if (register_tests()) {
		CU_cleanup_registry();
		return result(0, 1, 0);
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return result(run - failed - fx.skipped, failed, fx.skipped);
}
