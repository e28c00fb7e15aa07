// SPDX-License-Identifier: GPL-2.0
/*
 * The test_datapath fixture: see dp_fixture.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "dp_fixture.h"
#include "link.h"
#include "netns.h"
#include "nl.h"
#include "tc.h"
#include "ztunnel_routing.h"

#define OUR_PRIO 1

static const int zt_tcp_port[ZT_TCP_MAX] = { ZT_PORT_OUTBOUND, ZT_PORT_INBOUND,
					     ZT_PORT_HBONE };
static const int zt_udp_port[ZT_UDP_MAX] = { ZT_PORT_OUTBOUND, ZT_PORT_INBOUND,
					     ZT_PORT_DNS };

const struct endpoint eps[NS_MAX] = {
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

struct dp_fixture fx;

/* The endpoint's eth0 MAC, or with host set its host-side veth's. */
static void ep_mac(enum ns_id id, bool host, __u8 *mac)
{
	const __u8 m[6] = { 0x02, 0xa7, 0x00, 0x00, eps[id].net, host ? 1 : 2 };

	memcpy(mac, m, sizeof(m));
}

/* --- assertions --- */

bool expect_ok(int err, const char *what, unsigned int line)
{
	return cunit_check(err == 0, line, __FILE__, "%s: %s", what,
			   err ? strerror(-err) : "ok");
}

bool expect_sa(const struct sockaddr_storage *ss, enum fam f, const char *addr,
	       int port, const char *what, unsigned int line)
{
	struct sockaddr_storage want;
	char got_s[64], want_s[64];
	socklen_t len;

	make_sockaddr(af_of(f), addr, (uint16_t)port, &want, &len);
	format_sockaddr(ss, got_s, sizeof(got_s));
	format_sockaddr(&want, want_s, sizeof(want_s));
	return cunit_check(!strcmp(got_s, want_s), line, __FILE__,
			   "%s is %s, want %s", what, got_s, want_s);
}

bool expect_quiet(int fd, const char *what, unsigned int line)
{
	return cunit_check(wait_fd(fd, POLLIN, QUIET_MS) == -ETIMEDOUT, line,
			   __FILE__, "%s received something it must not", what);
}

void skip(const char *why)
{
	printf("\n    SKIP: %s\n", why);
	fx.skipped++;
}

/* --- network namespaces, commands, sockets --- */

int af_of(enum fam f)
{
	return f == V4 ? AF_INET : AF_INET6;
}

int enter_ns(enum ns_id id, int *saved)
{
	return netns_enter(fx.ns_fd[id], saved);
}

/* Run a command inside netns id (like nsenter --net=... CMD). */
static __attribute__((format(printf, 2, 3))) int ns_run(enum ns_id id,
							const char *fmt, ...)
{
	va_list ap;
	int saved, err = enter_ns(id, &saved);

	if (err)
		return err;
	va_start(ap, fmt);
	err = run_cmd_va(fmt, ap);
	va_end(ap);
	netns_leave(saved);
	return err;
}

/* nsenter --net=/var/run/netns/NS sysctl -w KEY=VAL (KEY with slashes) */
static int ns_sysctl(enum ns_id id, const char *key, const char *val)
{
	char path[160];
	int fd, saved, err = enter_ns(id, &saved);

	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		err = -errno;
	if (fd >= 0)
		close(fd);
	netns_leave(saved);
	if (err)
		fprintf(stderr, "sysctl %s=%s in %s: %s\n", key, val,
			fx.ns_name[id], strerror(-err));
	return err;
}

static int ns_ifindex(enum ns_id id, const char *ifname)
{
	int idx, saved, err = enter_ns(id, &saved);

	if (err)
		return err;
	idx = (int)if_nametoindex(ifname);
	err = idx ? 0 : -errno;
	netns_leave(saved);
	return idx ? idx : err;
}

enum sock_kind { UNBOUND, BOUND, SERVER };

static int ns_make_socket(enum ns_id id, enum sock_kind kind, enum fam f,
			  int type, const char *addr, int port,
			  const struct sock_opts *o)
{
	int fd, saved, err = enter_ns(id, &saved);

	if (err)
		return err;
	type |= SOCK_NONBLOCK;
	if (kind == SERVER)
		fd = start_server(af_of(f), type, addr, (uint16_t)port, o);
	else if (kind == BOUND)
		fd = open_bound_socket(af_of(f), type, addr, (uint16_t)port, o);
	else
		fd = open_socket(af_of(f), type, o);
	netns_leave(saved);
	return fd;
}

int ns_socket(enum ns_id id, enum fam f, int type, const struct sock_opts *o)
{
	return ns_make_socket(id, UNBOUND, f, type, NULL, 0, o);
}

int ns_bound_socket(enum ns_id id, enum fam f, int type, const char *addr,
		    int port, const struct sock_opts *o)
{
	return ns_make_socket(id, BOUND, f, type, addr, port, o);
}

int ns_server(enum ns_id id, enum fam f, int type, const char *addr, int port,
	      const struct sock_opts *o)
{
	int fd = ns_make_socket(id, SERVER, f, type, addr, port, o);

	if (fd < 0)
		fprintf(stderr, "server %s port %d in %s: %s\n",
			addr ? addr : "*", port, fx.ns_name[id], strerror(-fd));
	return fd;
}

/* --- socket I/O with deadlines --- */

/*
 * Send len pattern bytes from src and read them at dst in one poll loop
 * (one thread: neither side may block on the other).
 */
static int pump(int src, int dst, size_t len, __u8 seed)
{
	static __u8 out[BULK_LEN], in[BULK_LEN];
	uint64_t deadline = monotonic_ms() + IO_TIMEOUT_MS;
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
		int64_t left = (int64_t)(deadline - monotonic_ms());
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
		close_with_reset(c);
}

void drain_all(void)
{
	for (int f = 0; f < FAM_MAX; f++) {
		for (int p = 0; p < ZT_TCP_MAX; p++)
			drain(fx.zt_tcp[p][f], SOCK_STREAM);
		for (int p = 0; p < ZT_UDP_MAX; p++)
			drain(fx.zt_udp[p][f], SOCK_DGRAM);
		drain(fx.b_listen[f], SOCK_STREAM);
		drain(fx.node_listen[f], SOCK_STREAM);
		drain(fx.c_dns[f], SOCK_DGRAM);
	}
}

/* --- decision counters --- */

void counts_begin(struct counts *c)
{
	memset(c, 0, sizeof(*c));
	c->failures = CU_get_number_of_failures();
	if (dp_counters_read(&fx.dp, c->before))
		fprintf(stderr, "reading counters failed\n");
}

void counts_end(struct counts *c)
{
	if (dp_counters_read(&fx.dp, c->after))
		fprintf(stderr, "reading counters failed\n");
}

__u64 cnt(const struct counts *c, enum redirect_counter id)
{
	return c->after[id].packets - c->before[id].packets;
}

void counts_report(const struct counts *c)
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

bool expect_count(const struct counts *c, enum redirect_counter id, __u64 min,
		  __u64 max, unsigned int line)
{
	__u64 n = cnt(c, id);

	return cunit_check(n >= min && n <= max, line, __FILE__,
			   "%s/%s rose by %llu, want %s%llu", counter_prog(id),
			   counter_decision(id), (unsigned long long)n,
			   max == min ? "" : ">= ", (unsigned long long)min);
}

void case_begin(struct counts *c)
{
	drain_all();
	usleep(SETTLE_US);
	drain_all();
	counts_begin(c);
}

/* --- one TCP connection, checked end to end --- */

void flow_close(struct flow *fl)
{
	close_with_reset(fl->client);
	close_with_reset(fl->server);
	fl->client = fl->server = -1;
}

bool flow_run(struct flow *fl, enum fam f, const char *dst, int port, int lfd,
	      const char *peer)
{
	struct sockaddr_storage ss;

	if (!EXPECT_OK(start_connect(fl->client, af_of(f), dst, (uint16_t)port),
		       "connect"))
		return false;
	fl->server = accept_timeout(lfd, IO_TIMEOUT_MS);
	if (!EXPECT_OK(fl->server < 0 ? fl->server : 0,
		       "accept at the expected listener"))
		return false;
	if (!EXPECT_OK(get_local_addr(fl->server, &ss), "getsockname") ||
	    !EXPECT_SA(&ss, f, dst, port, "accepted socket's local address"))
		return false;
	if (!EXPECT_OK(get_peer_addr(fl->server, &ss), "getpeername") ||
	    !EXPECT_SA(&ss, f, peer, get_local_port(fl->client),
		       "accepted socket's peer"))
		return false;
	if (!EXPECT_OK(wait_connected(fl->client, IO_TIMEOUT_MS),
		       "client connection established"))
		return false;
	return EXPECT_OK(pump(fl->client, fl->server, BULK_LEN, 1),
			 "bytes client -> server") &&
	       EXPECT_OK(pump(fl->server, fl->client, BULK_LEN, 2),
			 "bytes server -> client");
}

bool flow_from(struct flow *fl, enum ns_id from, enum fam f, const char *dst,
	       int port, int lfd)
{
	fl->client = ns_socket(from, f, SOCK_STREAM, NULL);
	if (!EXPECT_OK(fl->client < 0 ? fl->client : 0, "client socket"))
		return false;
	return flow_run(fl, f, dst, port, lfd, eps[from].addr[f]);
}

/* --- UDP --- */

int sent_whole(ssize_t n, size_t len)
{
	return n == (ssize_t)len ? 0 : n < 0 ? (int)n : -EMSGSIZE;
}

bool udp_hop(int fd, enum fam f, const char *addr, int port, int at,
	     const char *src, int sport, struct sockaddr_storage *orig)
{
	struct sockaddr_storage from;
	char buf[64];
	ssize_t n;

	n = send_to_addr(fd, af_of(f), addr, (uint16_t)port, "dns-msg", 7);
	if (!EXPECT_OK(sent_whole(n, 7), "sendto") ||
	    !EXPECT_OK(wait_fd(at, POLLIN, IO_TIMEOUT_MS),
		       "datagram at the expected socket"))
		return false;
	n = recv_with_orig_dst(at, buf, sizeof(buf), &from, orig);
	return EXPECT(n == 7 && !memcmp(buf, "dns-msg", 7)) &&
	       EXPECT_SA(&from, f, src, sport, "datagram's source");
}

/* --- topology --- */

/* ip netns add ar<pid>-<suffix> (and keep an fd to setns() into it) */
int dp_make_netns(void)
{
	for (int i = 0; i < NS_MAX; i++) {
		snprintf(fx.ns_name[i], sizeof(fx.ns_name[i]), "ar%d-%s",
			 (int)getpid(), eps[i].suffix);
		fx.ns_fd[i] = create_netns(fx.ns_name[i]);
		if (fx.ns_fd[i] < 0)
			return fx.ns_fd[i];
		fx.ns_made[i] = true;
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
		   fx.ns_name[id]) ||
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
	fx.host_ifindex[id] = ns_ifindex(NS_NODE, e->host_if);
	return fx.host_ifindex[id] > 0 ? 0 : -ENODEV;
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

/* --- datapath: load, fill maps, attach --- */

static int fill_maps(void)
{
	/*
	 * All-UDP capture, so the cases of UDP and DNS exercise the UDP paths
	 * into ztunnel; case 13 turns it off (the default of a real
	 * enrolment).
	 */
	struct ztunnel_value zt = { .host_ifindex = fx.host_ifindex[NS_ZT],
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
		info.host_ifindex = fx.host_ifindex[id];
		ep_mac(id, false, info.mac);
		for (int f = 0; f < FAM_MAX; f++) {
			err = addr_key_parse(eps[id].addr[f], &k);
			if (!err)
				err = dp_pod_put(&fx.dp, &k, &info);
			if (err)
				return err;
		}
	}
	ep_mac(NS_ZT, false, zt.mac);
	return dp_ztunnel_set(&fx.dp, &zt);
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
			    .prog_fd = dp_prog_fd(&fx.dp, prog));
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
		err = tc_attach(fx.host_ifindex[id], BPF_TC_INGRESS,
				DP_APP_OUTBOUND);
		if (!err)
			err = tc_attach(fx.host_ifindex[id], BPF_TC_EGRESS,
					DP_APP_INBOUND);
	}
	if (!err)
		err = tc_attach(fx.host_ifindex[NS_ZT], BPF_TC_INGRESS,
				DP_ZTUNNEL_HOST_IN);
	return err;
}

static int attach_all(void)
{
	int idx, saved, err = enter_ns(NS_NODE, &saved);

	if (err)
		return err;
	err = attach_node_side();
	netns_leave(saved);
	if (err)
		return err;
	idx = ns_ifindex(NS_ZT, "eth0");
	if (idx < 0)
		return idx;
	err = enter_ns(NS_ZT, &saved);
	if (err)
		return err;
	err = tc_attach(idx, BPF_TC_INGRESS, DP_ZTUNNEL_INGRESS);
	netns_leave(saved);
	return err;
}

static int load_datapath(void)
{
	struct dp_opts o = { .sz = sizeof(o), .pin_dir = fx.pin_dir };
	int err;

	snprintf(fx.pin_dir, sizeof(fx.pin_dir), PIN_DIR_FMT, (int)getpid());
	err = dp_load(&fx.dp, &o);
	if (err)
		return err;
	fx.dp_loaded = true;
	err = fill_maps();
	return err ? err : attach_all();
}

/* ztunnel's transparent listeners, B's real server, a node server. */
static int open_servers(void)
{
	/* ztunnel's; its UDP ones report the original destination */
	const struct sock_opts zt_tcp = { .transparent = true };
	const struct sock_opts zt_udp = { .transparent = true,
					  .recv_orig_dst = true };

	for (int f = 0; f < FAM_MAX; f++) {
		for (int p = 0; p < ZT_TCP_MAX; p++)
			if ((fx.zt_tcp[p][f] = ns_server(NS_ZT, f, SOCK_STREAM,
							 NULL, zt_tcp_port[p],
							 &zt_tcp)) < 0)
				return fx.zt_tcp[p][f];
		for (int p = 0; p < ZT_UDP_MAX; p++)
			if ((fx.zt_udp[p][f] = ns_server(NS_ZT, f, SOCK_DGRAM,
							 NULL, zt_udp_port[p],
							 &zt_udp)) < 0)
				return fx.zt_udp[p][f];
		fx.b_listen[f] =
			ns_server(NS_B, f, SOCK_STREAM, NULL, PORT_APP, NULL);
		if (fx.b_listen[f] < 0)
			return fx.b_listen[f];
		fx.node_listen[f] = ns_server(NS_NODE, f, SOCK_STREAM,
					      eps[NS_A].gw[f], PORT_NODE, NULL);
		if (fx.node_listen[f] < 0)
			return fx.node_listen[f];
		fx.c_dns[f] =
			ns_server(NS_C, f, SOCK_DGRAM, NULL, DNS_PORT, NULL);
		if (fx.c_dns[f] < 0)
			return fx.c_dns[f];
	}
	return 0;
}

int dp_fixture_setup(void)
{
	int err = make_topology();

	if (!err)
		err = load_datapath();
	if (!err)
		err = open_servers();
	return err;
}

/* --- cleanup, on every way out --- */

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
			close_fd(&fx.zt_tcp[p][f]);
		for (int p = 0; p < ZT_UDP_MAX; p++)
			close_fd(&fx.zt_udp[p][f]);
		close_fd(&fx.b_listen[f]);
		close_fd(&fx.node_listen[f]);
		close_fd(&fx.c_dns[f]);
	}
}

/*
 * Deleting the namespaces takes the veths, their tc filters and every
 * socket's netns with them; then the pins go. Only what we made. Every
 * namespace switch came back already: the thread is in its own netns.
 */
void dp_fixture_cleanup(void)
{
	static volatile sig_atomic_t done;

	if (done)
		return;
	done = 1;
	close_servers();
	for (int i = NS_MAX - 1; i >= 0; i--) {
		close_fd(&fx.ns_fd[i]);
		if (!fx.ns_made[i])
			continue;
		if (remove_netns(fx.ns_name[i]))
			fprintf(stderr, "remove netns %s: %s\n", fx.ns_name[i],
				strerror(errno));
		fx.ns_made[i] = false;
	}
	if (fx.dp_loaded) {
		if (dp_unpin(&fx.dp))
			fprintf(stderr, "unpin %s failed\n", fx.pin_dir);
		dp_close(&fx.dp);
		fx.dp_loaded = false;
	} else if (fx.pin_dir[0]) {
		rmdir(fx.pin_dir);
	}
}

static void on_signal(int sig)
{
	dp_fixture_cleanup();
	_exit(128 + sig);
}

void dp_fixture_init(void)
{
	static const int sigs[] = { SIGINT,  SIGTERM, SIGHUP,
				    SIGQUIT, SIGABRT, SIGSEGV };
	struct sigaction sa = { .sa_handler = on_signal };

	for (int i = 0; i < NS_MAX; i++)
		fx.ns_fd[i] = -1;
	for (int f = 0; f < FAM_MAX; f++) {
		for (int p = 0; p < ZT_TCP_MAX; p++)
			fx.zt_tcp[p][f] = -1;
		for (int p = 0; p < ZT_UDP_MAX; p++)
			fx.zt_udp[p][f] = -1;
		fx.b_listen[f] = fx.node_listen[f] = fx.c_dns[f] = -1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(dp_fixture_cleanup);
}
