// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet cost of each tc program and decision, as the kernel measures
 * it: BPF_PROG_TEST_RUN with a large repeat count reports the mean time of
 * one run in ns. Every measurement is paired with one of a floor program
 * (a tc program that only returns TC_ACT_PIPE, loaded from two raw
 * instructions) taken just before it, so drifting machine speed cancels
 * out of the ratio. Rounds go through every case in turn; medians are
 * reported.
 *
 * Before timing, each case runs once and must take the decision it is
 * named after (verdict and the decision's counter), so a table row never
 * measures some other path.
 *
 * Runs in a private network namespace (veths give the ifindexes the
 * programs compare against, sockets give ztunnel_ingress something to find)
 * with the maps pinned in a per-run bpffs folder removed at exit.
 *
 *   prog_cost [--repeat N] [--rounds R] [--json FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "redirect.skel.h"
#include "datapath.h"
#include "netns.h"
#include "log.h"
#include "packet.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ROUNDS 64
#define POD_A_IF "pc-pod-a"
#define ZT_HOST_IF "pc-zt-host"
#define ZT_IF "pc-zt"

static const __u8 MAC_ZT[6] = { 0x02, 0x7a, 0x00, 0x00, 0x00, 0x01 };
static const __u8 MAC_POD_A[6] = { 0x02, 0xaa, 0x00, 0x00, 0x00, 0x02 };

/* Addresses: pod A is meshed on POD_A_IF; the node's own; some remote. */
#define POD_A4 "10.0.0.2"
#define POD_A6 "fd00::2"
/* the same veth's pod with exclusions (10.9.0.0/16, port 5432 out, 9000 in) */
#define POD_X4 "10.0.0.3"
#define EXCLUDED4 "10.9.0.5"
#define NODE4 "10.0.0.1"
#define NODE6 "fd00::1"
#define REMOTE4 "10.1.0.5"
#define REMOTE6 "fd01::5"
#define OTHER4 "10.0.0.9" /* in the pod range, not enrolled */
#define LO4 "127.0.0.1"

enum bench_if { IF_POD_A, IF_ZT_HOST, IF_ZT, IF_MAX };

struct bench_case {
	enum dp_prog prog;
	const char *decision; /* counter name, as redirectctl stats shows it */
	const char *packet; /* what goes in, for the table */
	struct pkt_spec spec;
	bool arp;
	bool established; /* spec's ports come from a loopback TCP pair */
	enum bench_if iface;
	__u32 mark;
	__u32 retval;
	enum redirect_counter counter;
};

#define SPEC(fam, l4, s, sp, d, dp) \
	.spec = { .family = fam,    \
		  .proto = l4,      \
		  .saddr = s,       \
		  .daddr = d,       \
		  .sport = sp,      \
		  .dport = dp,      \
		  .payload_len = 64 }
#define V4_TCP(s, sp, d, dp) SPEC(AF_INET, IPPROTO_TCP, s, sp, d, dp)
#define V6_TCP(s, sp, d, dp) SPEC(AF_INET6, IPPROTO_TCP, s, sp, d, dp)
#define V4_UDP(s, sp, d, dp) SPEC(AF_INET, IPPROTO_UDP, s, sp, d, dp)
#define OUT(...) .prog = DP_APP_OUTBOUND, .iface = IF_POD_A, __VA_ARGS__
#define IN(...) .prog = DP_APP_INBOUND, .iface = IF_POD_A, __VA_ARGS__
#define ZH(...) .prog = DP_ZTUNNEL_HOST_IN, .iface = IF_ZT_HOST, __VA_ARGS__
#define ZI(...) .prog = DP_ZTUNNEL_INGRESS, .iface = IF_ZT, __VA_ARGS__
#define GD(...) .prog = DP_POD_GUARD, .iface = IF_POD_A, __VA_ARGS__
#define TCX_NEXT_RET ((__u32)-1) /* pod_guard passes with TCX_NEXT */

static struct bench_case cases[] = {
	{ OUT(.decision = "redirect_ztunnel",
	      .packet = "IPv4 TCP pod -> remote",
	      V4_TCP(POD_A4, 40000, REMOTE4, 80), .retval = TC_ACT_REDIRECT,
	      .counter = CNT_OUT_TO_ZTUNNEL) },
	{ OUT(.decision = "redirect_ztunnel",
	      .packet = "IPv6 TCP pod -> remote",
	      V6_TCP(POD_A6, 40000, REMOTE6, 80), .retval = TC_ACT_REDIRECT,
	      .counter = CNT_OUT_TO_ZTUNNEL) },
	{ OUT(.decision = "redirect_ztunnel",
	      .packet = "IPv4 TCP pod -> node address (socket lookup)",
	      V4_TCP(POD_A4, 40000, NODE4, 10250), .retval = TC_ACT_REDIRECT,
	      .counter = CNT_OUT_TO_ZTUNNEL) },
	{ OUT(.decision = "pass_udp", .packet = "IPv4 UDP pod -> DNS server",
	      V4_UDP(POD_A4, 40053, REMOTE4, 53), .retval = TC_ACT_PIPE,
	      .counter = CNT_OUT_PASS_UDP) },
	{ OUT(.decision = "drop_spoofed_source",
	      .packet = "IPv4 TCP, not the pod's source",
	      V4_TCP(OTHER4, 40000, REMOTE4, 80), .retval = TC_ACT_SHOT,
	      .counter = CNT_OUT_DROP_SPOOFED) },
	{ OUT(.decision = "pass_non_ip", .packet = "ARP request", .arp = true,
	      .retval = TC_ACT_PIPE, .counter = CNT_OUT_PASS_NON_IP) },
	{ IN(.decision = "redirect_ztunnel", .packet = "IPv4 TCP remote -> pod",
	     V4_TCP(REMOTE4, 40000, POD_A4, 8080), .retval = TC_ACT_REDIRECT,
	     .counter = CNT_IN_TO_ZTUNNEL) },
	{ IN(.decision = "redirect_ztunnel", .packet = "IPv6 TCP remote -> pod",
	     V6_TCP(REMOTE6, 40000, POD_A6, 8080), .retval = TC_ACT_REDIRECT,
	     .counter = CNT_IN_TO_ZTUNNEL) },
	{ IN(.decision = "redirect_ztunnel",
	     .packet = "IPv4 TCP node-sourced, forwarded -> pod",
	     V4_TCP(NODE4, 40000, POD_A4, 8080), .retval = TC_ACT_REDIRECT,
	     .counter = CNT_IN_TO_ZTUNNEL) },
	{ IN(.decision = "pass_udp", .packet = "IPv4 UDP remote -> pod",
	     V4_UDP(REMOTE4, 40000, POD_A4, 8080), .retval = TC_ACT_PIPE,
	     .counter = CNT_IN_PASS_UDP) },
	{ IN(.decision = "drop_not_enrolled_address",
	     .packet = "IPv4 TCP to another address",
	     V4_TCP(REMOTE4, 40000, OTHER4, 8080), .retval = TC_ACT_SHOT,
	     .counter = CNT_IN_DROP_NOT_ENROLLED) },
	{ OUT(.decision = "redirect_ztunnel_returned",
	      .packet = "IPv4 TCP returned by pod_guard",
	      V4_TCP(REMOTE4, 40000, POD_A4, 8080), .mark = TAG_RETURNED,
	      .retval = TC_ACT_REDIRECT,
	      .counter = CNT_OUT_RETURNED_TO_ZTUNNEL) },
	{ GD(.decision = "pass_from_ztunnel",
	     .packet = "IPv4 TCP ztunnel -> pod, tagged",
	     V4_TCP(REMOTE4, 15008, POD_A4, 8080), .mark = TAG_FROM_ZTUNNEL,
	     .retval = TCX_NEXT_RET, .counter = CNT_GD_PASS_ZTUNNEL) },
	{ GD(.decision = "pass_not_captured",
	     .packet = "IPv4 UDP remote -> pod, untagged",
	     V4_UDP(REMOTE4, 40000, POD_A4, 5353), .retval = TCX_NEXT_RET,
	     .counter = CNT_GD_PASS_NOT_CAPTURED) },
	{ GD(.decision = "return_to_ztunnel",
	     .packet = "IPv4 TCP remote -> pod, untagged",
	     V4_TCP(REMOTE4, 40000, POD_A4, 8080), .retval = TC_ACT_REDIRECT,
	     .counter = CNT_GD_RETURN_TO_ZTUNNEL) },
	{ ZH(.decision = "redirect_pod", .packet = "IPv4 TCP ztunnel -> pod",
	     V4_TCP(REMOTE4, 40000, POD_A4, 8080), .retval = TC_ACT_REDIRECT,
	     .counter = CNT_ZH_TO_POD) },
	{ ZH(.decision = "redirect_pod", .packet = "IPv6 TCP ztunnel -> pod",
	     V6_TCP(REMOTE6, 40000, POD_A6, 8080), .retval = TC_ACT_REDIRECT,
	     .counter = CNT_ZH_TO_POD) },
	{ ZH(.decision = "redirect_ztunnel",
	     .packet = "IPv4 TCP tagged inbound capture",
	     V4_TCP(REMOTE4, 40000, POD_A4, 8080), .mark = TAG_INBOUND,
	     .retval = TC_ACT_REDIRECT, .counter = CNT_ZH_INBOUND_TO_ZTUNNEL) },
	{ ZH(.decision = "pass_not_meshed",
	     .packet = "IPv4 TCP ztunnel -> elsewhere",
	     V4_TCP(REMOTE4, 40000, OTHER4, 8080), .retval = TC_ACT_PIPE,
	     .counter = CNT_ZH_PASS_NOT_POD) },
	/*
	 * bpf_sk_assign refuses outside real tc ingress (-EOPNOTSUPP under
	 * test-run), so these runs end in drop_assign_failed after the socket
	 * lookup and choice: the cost measured is the lookup, not delivery.
	 */
	{ ZI(.decision = "assign_established",
	     .packet = "IPv4 TCP tagged, flow's own socket",
	     V4_TCP(LO4, 0, LO4, 0), .established = true, .mark = TAG_OUTBOUND,
	     .retval = TC_ACT_SHOT, .counter = CNT_ZI_ASSIGN_ESTABLISHED) },
	{ ZI(.decision = "assign_outbound_listener",
	     .packet = "IPv4 TCP tagged, new flow -> 15001",
	     V4_TCP(POD_A4, 40000, REMOTE4, 80), .mark = TAG_OUTBOUND,
	     .retval = TC_ACT_SHOT, .counter = CNT_ZI_ASSIGN_OUTBOUND) },
	{ ZI(.decision = "assign_outbound_listener",
	     .packet = "IPv6 TCP tagged, new flow -> 15001",
	     V6_TCP(POD_A6, 40000, REMOTE6, 80), .mark = TAG_OUTBOUND,
	     .retval = TC_ACT_SHOT, .counter = CNT_ZI_ASSIGN_OUTBOUND) },
	{ ZI(.decision = "pass_untagged", .packet = "IPv4 TCP untagged",
	     V4_TCP(REMOTE4, 40000, POD_A4, 8080), .retval = TC_ACT_PIPE,
	     .counter = CNT_ZI_PASS_UNTAGGED) },
	/* a pod with exclusions: what they cost the flows they do not name */
	{ OUT(.decision = "redirect_ztunnel",
	      .packet = "IPv4 TCP pod with exclusions -> remote, not excluded",
	      V4_TCP(POD_X4, 40000, REMOTE4, 80), .retval = TC_ACT_REDIRECT,
	      .counter = CNT_OUT_TO_ZTUNNEL) },
	{ OUT(.decision = "pass_excluded",
	      .packet = "IPv4 TCP SYN pod -> excluded CIDR",
	      V4_TCP(POD_X4, 40000, EXCLUDED4, 80), .retval = TC_ACT_PIPE,
	      .counter = CNT_OUT_PASS_EXCLUDED) },
	{ IN(.decision = "redirect_ztunnel",
	     .packet = "IPv4 TCP remote -> pod with exclusions, not excluded",
	     V4_TCP(REMOTE4, 40000, POD_X4, 8080), .retval = TC_ACT_REDIRECT,
	     .counter = CNT_IN_TO_ZTUNNEL) },
	{ IN(.decision = "pass_excluded",
	     .packet = "IPv4 TCP SYN remote -> excluded inbound port",
	     V4_TCP(REMOTE4, 40000, POD_X4, 9000), .retval = TC_ACT_PIPE,
	     .counter = CNT_IN_PASS_EXCLUDED) },
};

#define N_CASES ARRAY_LEN(cases)

struct sample {
	__u32 ns; /* the kernel's mean per run */
	__u32 floor_ns; /* the floor's, measured just before */
	double wall_ns; /* syscall wall time / repeat: finer, a bit higher */
};

static struct {
	struct datapath dp;
	bool loaded;
	char pin_dir[64];
	int ifindex[IF_MAX];
	int floor_fd;
	struct pkt pkts[N_CASES];
	struct pkt floor_pkt;
	struct sample samples[N_CASES][MAX_ROUNDS];
	unsigned int repeat, rounds;
	const char *json_path;
	int fds[16];
	int n_fds;
} B = { .floor_fd = -1, .repeat = 1000000, .rounds = 9 };

/* --- set-up --- */

/* A veth pair NAME/NAME-p (there is no dummy here); NAME's ifindex. */
static int make_if(const char *name)
{
	char cmd[128];

	/* ip link add NAME type veth peer name NAME-p */
	snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %s-p",
		 name, name);
	if (system(cmd))
		return -1;
	return (int)if_nametoindex(name);
}

static int put_addr(const char *a, const struct pod_value *pi)
{
	struct addr_key k;

	return addr_key_parse(a, &k) ?: dp_pod_put(&B.dp, &k, pi);
}

static int node_addr(const char *a, struct addr_key *k)
{
	return addr_key_parse(a, k) ?: dp_node_addr_add(&B.dp, k);
}

/* POD_X4 on pod a's veth, with exclusions, as redirectd writes them. */
static int put_excluding_pod(const struct pod_value *a)
{
	struct pod_value pi = *a;
	struct addr_key net;
	__u32 ifx = pi.host_ifindex;

	pi.flags |= POD_F_EXCL_OUT | POD_F_EXCL_IN_PORTS;
	return addr_key_parse("10.9.0.0", &net)				      ?:
		       dp_excl_cidr_set(&B.dp, ifx, &net, 96 + 16, true)      ?:
		       dp_excl_port_set(&B.dp, ifx, 5432, EXCL_DIR_OUT, true) ?:
		       dp_excl_port_set(&B.dp, ifx, 9000, EXCL_DIR_IN, true)  ?:
		       put_addr(POD_X4, &pi);
}

static int fill_maps(void)
{
	struct pod_value pi = { .host_ifindex = (__u32)B.ifindex[IF_POD_A] };
	int self = netns_id_self();
	/*
	 * ztunnel's netns is this one, named by its id as redirectd publishes
	 * it: a packet to a node address pays the lookup of ztunnel's sockets
	 * (a miss here), as on a real node.
	 */
	struct ztunnel_value zt = {
		.host_ifindex = (__u32)B.ifindex[IF_ZT_HOST],
		.present = 1,
		.generation = 1,
		.netns_id = self < 0 ? -1 : self,
	};
	struct addr_key node[2];

	memcpy(pi.mac, MAC_POD_A, 6);
	memcpy(zt.mac, MAC_ZT, 6);
	/* As redirectd fills them: the set, then the list scanned first. */
	return put_addr(POD_A4, &pi)			     ?:
		       put_addr(POD_A6, &pi)		     ?:
		       put_excluding_pod(&pi)		     ?:
		       node_addr(NODE4, &node[0])	     ?:
		       node_addr(NODE6, &node[1])	     ?:
		       dp_node_addr_list_set(&B.dp, node, 2) ?:
		       dp_ztunnel_set(&B.dp, &zt);
}

static int keep_fd(int fd)
{
	if (fd >= 0 && B.n_fds < (int)ARRAY_LEN(B.fds))
		B.fds[B.n_fds++] = fd;
	return fd;
}

static int bind_any(int family, int type, __u16 port, bool transparent)
{
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	int one = 1, fd = keep_fd(socket(family, type, 0));

	if (fd < 0)
		return -1;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (transparent &&
	    setsockopt(fd, family == AF_INET ? SOL_IP : SOL_IPV6,
		       family == AF_INET ? IP_TRANSPARENT : IPV6_TRANSPARENT,
		       &one, sizeof(one)))
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, sizeof(ss)) ||
	    (type == SOCK_STREAM && listen(fd, 8)))
		return -1;
	return fd;
}

static __u16 port_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len))
		return 0;
	return ntohs(sin.sin_port);
}

/*
 * ztunnel's outbound listeners, and one established loopback connection
 * whose 4-tuple the "flow's socket" case carries.
 */
static int make_sockets(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int lfd, cfd;

	if (bind_any(AF_INET, SOCK_STREAM, ZT_PORT_OUTBOUND, true) < 0 ||
	    bind_any(AF_INET6, SOCK_STREAM, ZT_PORT_OUTBOUND, true) < 0)
		return -1;
	lfd = bind_any(AF_INET, SOCK_STREAM, 0, false);
	cfd = keep_fd(socket(AF_INET, SOCK_STREAM, 0));
	if (lfd < 0 || cfd < 0)
		return -1;
	sin.sin_port = htons(port_of(lfd));
	inet_pton(AF_INET, LO4, &sin.sin_addr);
	if (connect(cfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    keep_fd(accept(lfd, NULL, NULL)) < 0)
		return -1;
	for (size_t i = 0; i < N_CASES; i++) {
		if (!cases[i].established)
			continue;
		/* as ztunnel's accepted socket sees it arrive */
		cases[i].spec.sport = port_of(cfd);
		cases[i].spec.dport = port_of(lfd);
	}
	return 0;
}

static int load_floor(void)
{
	static const struct bpf_insn ret_pipe[] = {
		/* r0 = TC_ACT_PIPE; exit */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_0,
		  .imm = TC_ACT_PIPE },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	B.floor_fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "floor", "GPL",
				   ret_pipe, ARRAY_LEN(ret_pipe), NULL);
	return B.floor_fd < 0 ? -1 : 0;
}

static int build_packets(void)
{
	struct bench_case fc = { V4_TCP(POD_A4, 40000, REMOTE4, 80) };

	for (size_t i = 0; i < N_CASES; i++) {
		int err = cases[i].arp ?
				  pkt_build_arp(&B.pkts[i], POD_A4, NODE4) :
				  pkt_build(&B.pkts[i], &cases[i].spec);

		if (err)
			return err;
	}
	/* The floor gets the common packet: the outbound capture's. */
	return pkt_build(&B.floor_pkt, &fc.spec);
}

static int setup(void)
{
	static const char *const names[IF_MAX] = { POD_A_IF, ZT_HOST_IF,
						   ZT_IF };
	struct dp_opts opts = { .sz = sizeof(opts) };
	int err;

	if (system("ip link set lo up"))
		return -1;
	for (int i = 0; i < IF_MAX; i++) {
		B.ifindex[i] = make_if(names[i]);
		if (B.ifindex[i] <= 0)
			return pr_ret(-1, "creating veth %s failed", names[i]);
	}
	snprintf(B.pin_dir, sizeof(B.pin_dir), "/sys/fs/bpf/ar-bench-pc-%d",
		 (int)getpid());
	opts.pin_dir = B.pin_dir;
	err = dp_load(&B.dp, &opts);
	if (err)
		return err;
	B.loaded = true;
	if (fill_maps() || make_sockets() || load_floor() || build_packets())
		return pr_ret(-1, "set-up failed: %s", strerror(errno));
	return 0;
}

static void cleanup(void)
{
	while (B.n_fds > 0)
		close(B.fds[--B.n_fds]);
	if (B.floor_fd >= 0)
		close(B.floor_fd);
	B.floor_fd = -1;
	if (B.loaded) {
		dp_unpin(&B.dp);
		dp_close(&B.dp);
		B.loaded = false;
	}
}

static void on_signal(int sig)
{
	exit(128 + sig); /* runs cleanup(): the pins outlive our netns */
}

/* --- running --- */

struct run_out {
	__u32 retval;
	__u32 ns;
	double wall_ns;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int test_run(int fd, const struct pkt *p, int ifindex, __u32 mark,
		    unsigned int repeat, struct run_out *out)
{
	struct __sk_buff ctx = { .ifindex = (__u32)ifindex, .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->data,
		    .data_size_in = (__u32)p->len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	double t0 = now_ns();

	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	out->wall_ns = (now_ns() - t0) / repeat;
	out->retval = opts.retval;
	out->ns = opts.duration;
	return 0;
}

static int run_case(size_t i, unsigned int repeat, struct run_out *out)
{
	const struct bench_case *c = &cases[i];

	return test_run(dp_prog_fd(&B.dp, c->prog), &B.pkts[i],
			B.ifindex[c->iface], c->mark, repeat, out);
}

/* One run of the case must take its decision: verdict and counter. */
static int check_case(size_t i)
{
	struct counter_value before[CNT_MAX], after[CNT_MAX];
	const struct bench_case *c = &cases[i];
	struct run_out o;

	if (dp_counters_read(&B.dp, before) || run_case(i, 1, &o) ||
	    dp_counters_read(&B.dp, after))
		return pr_ret(-1, "case %zu: test run failed", i);
	if (o.retval != c->retval ||
	    after[c->counter].packets != before[c->counter].packets + 1)
		return pr_ret(-1,
			      "%s %s (%s): verdict %u, expected %u, or "
			      "its counter did not move",
			      dp_prog_name(c->prog), c->decision, c->packet,
			      o.retval, c->retval);
	return 0;
}

static int measure_round(unsigned int r)
{
	struct run_out f, o;

	for (size_t i = 0; i < N_CASES; i++) {
		if (test_run(B.floor_fd, &B.floor_pkt, B.ifindex[IF_POD_A], 0,
			     B.repeat, &f) ||
		    run_case(i, B.repeat, &o))
			return pr_ret(-1, "test run: %s", strerror(errno));
		B.samples[i][r] = (struct sample){ .ns = o.ns,
						   .floor_ns = f.ns,
						   .wall_ns = o.wall_ns };
	}
	return 0;
}

/* --- statistics and output --- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

enum sample_stat { ST_NS, ST_FLOOR, ST_RATIO, ST_WALL };

static double value_of(const struct sample *s, enum sample_stat st)
{
	switch (st) {
	case ST_NS:
		return s->ns;
	case ST_FLOOR:
		return s->floor_ns;
	case ST_RATIO:
		/* a 0 ns floor (a very fast machine) would divide by 0 */
		return (double)s->ns / (s->floor_ns ? s->floor_ns : 1);
	default:
		return s->wall_ns;
	}
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double case_median(size_t i, enum sample_stat st)
{
	double v[MAX_ROUNDS];

	for (unsigned int r = 0; r < B.rounds; r++)
		v[r] = value_of(&B.samples[i][r], st);
	return median_of(v, B.rounds);
}

/* The floor over every pair of the run. */
static double floor_median(void)
{
	static double v[N_CASES * MAX_ROUNDS];
	size_t n = 0;

	for (size_t i = 0; i < N_CASES; i++)
		for (unsigned int r = 0; r < B.rounds; r++)
			v[n++] = B.samples[i][r].floor_ns;
	return median_of(v, n);
}

static const char *family_of(const struct bench_case *c)
{
	if (c->arp)
		return "arp";
	return c->spec.family == AF_INET ? "ipv4" : "ipv6";
}

static bool is_redirect(const struct bench_case *c)
{
	return c->retval == TC_ACT_REDIRECT;
}

static void write_case(FILE *f, size_t i, bool comma)
{
	const struct bench_case *c = &cases[i];
	double ns = case_median(i, ST_NS);
	double fl = case_median(i, ST_FLOOR);

	fprintf(f,
		"%s\n    {\"program\": \"%s\", \"decision\": \"%s\", "
		"\"packet\": \"%s\", \"family\": \"%s\", \"redirect\": %s, "
		"\"ns\": %.1f, \"floor_ns\": %.1f, \"ratio\": %.2f, "
		"\"over_floor_ns\": %.1f, \"wall_ns\": %.2f}",
		comma ? "," : "", dp_prog_name(c->prog), c->decision, c->packet,
		family_of(c), is_redirect(c) ? "true" : "false", ns, fl,
		case_median(i, ST_RATIO), ns - fl, case_median(i, ST_WALL));
}

/* The target: a redirect decision costs at most 1.5x the floor. */
static double worst_redirect_ratio(void)
{
	double worst = 0;

	for (size_t i = 0; i < N_CASES; i++) {
		double r = case_median(i, ST_RATIO);

		if (is_redirect(&cases[i]) && r > worst)
			worst = r;
	}
	return worst;
}

static int write_json(FILE *f)
{
	struct utsname u;
	double worst = worst_redirect_ratio();

	uname(&u);
	fprintf(f,
		"{\n  \"benchmark\": \"prog_cost\",\n  \"kernel\": \"%s\",\n"
		"  \"method\": \"BPF_PROG_TEST_RUN, duration = kernel mean ns "
		"per run; each case paired with the floor run just before it; "
		"medians over rounds\",\n"
		"  \"repeat\": %u,\n  \"rounds\": %u,\n  \"floor_ns\": %.1f,\n"
		"  \"cases\": [",
		u.release, B.repeat, B.rounds, floor_median());
	for (size_t i = 0; i < N_CASES; i++)
		write_case(f, i, i > 0);
	fprintf(f,
		"\n  ],\n  \"target\": {\"redirect_max_ratio\": 1.5, "
		"\"worst_redirect_ratio\": %.2f, \"met\": %s}\n}\n",
		worst, worst <= 1.5 ? "true" : "false");
	return ferror(f) ? -EIO : 0;
}

static int output(void)
{
	FILE *f = B.json_path ? fopen(B.json_path, "w") : stdout;
	int err;

	if (!f)
		return pr_ret(-errno, "%s: %s", B.json_path, strerror(errno));
	err = write_json(f);
	if (f != stdout && fclose(f))
		err = -errno;
	return err;
}

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repeat", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "json", required_argument, NULL, 'j' },
		{ 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			B.repeat = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			B.rounds = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'j':
			B.json_path = optarg;
			break;
		default:
			return -1;
		}
	}
	if (!B.repeat || !B.rounds || B.rounds > MAX_ROUNDS) {
		fprintf(stderr, "prog_cost: --repeat >= 1, --rounds 1..%d\n",
			MAX_ROUNDS);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv)) {
		fprintf(stderr, "usage: prog_cost [--repeat N] [--rounds R] "
				"[--json FILE]\n");
		return 2;
	}
	if (geteuid() != 0 || unshare(CLONE_NEWNET)) {
		fprintf(stderr, "prog_cost: needs root (netns, BPF, bpffs)\n");
		return 1;
	}
	log_route_libbpf();
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (setup())
		return 1;
	for (size_t i = 0; i < N_CASES; i++)
		if (check_case(i))
			return 1;
	for (unsigned int r = 0; r < B.rounds; r++)
		if (measure_round(r))
			return 1;
	return output() ? 1 : 0;
}
