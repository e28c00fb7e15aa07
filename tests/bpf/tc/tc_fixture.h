/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the test_tc suites share: the datapath loaded under a per-run
 * bpffs folder, the interfaces the programs compare against, the maps
 * reset before each test, running a program under BPF_PROG_TEST_RUN and
 * checking everything that came out, the hosts of the crafted flows.
 *
 * Everything lives in the private network namespace test_tc made: veth
 * interfaces give the ifindexes the programs compare against, and real
 * sockets give ztunnel_ingress (and app_outbound's node socket lookups)
 * something to find. One test of one suite runs at a time: the fixture's
 * state is the global fx.
 */
#ifndef TESTS_TC_FIXTURE_H
#define TESTS_TC_FIXTURE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/types.h>
#include <sys/socket.h>
#include "addr.h"
#include "cunit_run.h"
#include "datapath.h"
#include "packet.h"

#define IF_POD_A "ar-pod-a" /* host veth of pod A */
#define IF_POD_B "ar-pod-b" /* host veth of pod B (DNS capture on) */
#define IF_ZT_HOST "ar-zt-host" /* ztunnel's host veth */
#define IF_ZT "ar-zt" /* ztunnel's own interface, in its netns */
#define TC_MAX_FDS 16
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A set of counters: one bit per counter id (more than 64 of them). */
typedef unsigned __int128 counter_set;
#define C(id) ((counter_set)1 << CNT_##id)

extern const __u8 MAC_ZT[6];
extern const __u8 MAC_POD_A[6];
extern const __u8 MAC_POD_B[6];

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

struct tc_fixture {
	struct datapath dp;
	bool loaded;
	char pin_dir[64];
	int if_pod_a, if_pod_b, if_zt_host, if_zt;
	int fds[TC_MAX_FDS]; /* sockets of the current test, closed after it */
	int n_fds;
	bool reset_ok;
	/* test-run takes frames cut inside the IPv4 / IPv6 header */
	bool short_ip_frames[2];
	unsigned int skipped;
	int self_nsid; /* the id this netns has for itself */
	__u32 ingress_ifindex; /* where the next run's packet came in (0) */
};

extern struct tc_fixture fx;

/* --- the run: set-up, per-test reset, tear-down --- */

/*
 * Can this kernel test-run a tc program and does it have the helpers the
 * programs call? NULL or what is missing. Notes fx.short_ip_frames.
 */
const char *tc_probe_kernel(void);
/* In the private netns: lo up, the veths, the datapath loaded, the maps. */
int tc_fixture_setup(void);
void tc_fixture_cleanup(void);
/* Before each test: ztunnel present, fail closed, no flow state. */
void tc_test_setup(void);
/* After each test: its sockets closed. */
void tc_test_teardown(void);

/* A test that cannot run here says why and counts as skipped. */
void skip_test(const char *why);

/* --- hosts, sockets, map state --- */

const char *addr_of(int family, enum host h);
struct addr_key key_of(int family, enum host h);
/* Keep fd (a socket of this test) for closing after it; returns fd. */
int track_fd(int fd);
/* ztunnel's record: netns_id (-1: none) names this netns as ztunnel's. */
bool set_ztunnel_as(bool present, __u8 flags, __s32 netns_id);
bool set_ztunnel(bool present);
/* A ztunnel enrolled with --capture-udp. */
bool set_capture_udp(void);
bool set_fail_open(bool open);
/* The node's list as redirectd writes it: NODE's two addresses + extra. */
int set_node_list(const struct addr_key *extra, size_t n_extra);
/*
 * A socket of this netns (the node's, and ztunnel's when its id is
 * published) at NODE:10250 that opened a connection to POD_A:40000, as a
 * kubelet probe does: SYN_SENT (the SYN is lost) for TCP, connected for
 * UDP.
 */
bool node_opened_to_pod_a(int family, int type);

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

bool run_prog(enum dp_prog prog, const struct pkt *in, int ifindex, __u32 mark,
	      struct run *r);
/*
 * Run prog on the frame and check everything against e: the verdict,
 * skb->mark, the bytes that come out (only the destination MAC may
 * change), and that exactly e's counters moved, each by this one packet.
 */
bool expect_run(enum dp_prog prog, const struct pkt *in, int ifindex,
		__u32 mark, const struct expect *e);

/* The usual outcomes: pass on, drop, or redirect with a new MAC and mark. */
struct expect pass(counter_set counters);
struct expect drop(counter_set counters);
struct expect redirect(__u32 mark, const __u8 *dmac, counter_set counters);

/* --- building packets --- */

bool build(struct pkt *p, const struct pkt_spec *s);
/* family, proto, src:sport -> dst:dport, 32 bytes of payload */
struct pkt_spec flow(int family, __u8 proto, enum host src, __u16 sport,
		     enum host dst, __u16 dport);
bool build_flow(struct pkt *p, int family, __u8 proto, enum host src,
		__u16 sport, enum host dst, __u16 dport);
/* A fragment of src:40000 -> dst:dport (a later one at offset 40). */
bool build_frag_to(struct pkt *p, int family, __u8 proto, enum host src,
		   enum host dst, __u16 dport, enum pkt_frag frag, __u32 id);
bool build_frag(struct pkt *p, int family, __u8 proto, enum host src,
		enum host dst, enum pkt_frag frag, __u32 id);
__u8 icmp_of(int family);

#define TCP_SYN_ACK 0x12
#define TCP_ACK 0x10

/* --- one CUnit test per address family / L4 protocol --- */

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

#define T_FAMILY(fn) T(fn##_v4), T(fn##_v6)
#define T_FAMILY_PROTO(fn) \
	T(fn##_v4_tcp), T(fn##_v4_udp), T(fn##_v6_tcp), T(fn##_v6_udp)

/* --- the suites, one a program (each in its own file) --- */

extern const struct test_def tc_app_outbound_tests[];
extern const struct test_def tc_app_inbound_tests[];
extern const struct test_def tc_node_addr_list_tests[];
extern const struct test_def tc_ztunnel_host_in_tests[];
extern const struct test_def tc_ztunnel_ingress_tests[];
extern const struct test_def tc_pod_guard_tests[];

/*
 * The cases app_outbound, app_inbound and pod_guard share, one row of
 * mirror.c each, as prog's tests: up to max written into tests, how many
 * (SIZE_MAX: more than max); none for the other programs. Once a program.
 */
size_t tc_mirror_tests(enum dp_prog prog, struct test_def *tests, size_t max);

#endif /* TESTS_TC_FIXTURE_H */
