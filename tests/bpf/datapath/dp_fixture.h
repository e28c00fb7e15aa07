/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the test_datapath suites share: a simulated node of real network
 * namespaces, veths between them, the real tc programs attached, a
 * stand-in ztunnel (transparent sockets) in its own netns, servers, and
 * the checks of a case (sockets reached, addresses seen, counters moved).
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
 * keep their netns, so every socket is driven from here with poll(). One
 * case runs at a time: the fixture's state is the global fx.
 */
#ifndef TESTS_DP_FIXTURE_H
#define TESTS_DP_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "cunit_run.h"
#include "datapath.h"
#include "net_helpers.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define PIN_DIR_FMT "/sys/fs/bpf/ar-test-dp-%d"
#define IO_TIMEOUT_MS 2000 /* an expected event that takes longer failed */
#define FAIL_CONNECT_MS 1000 /* how long a connect that must fail gets */
#define QUIET_MS 150 /* how long "nothing arrives" is watched */
#define SETTLE_US 30000 /* let the previous case's last packets land */
#define BULK_LEN (64 * 1024) /* several segments, GSO sized on veth */
#define PORT_APP 8080 /* B's real server */
#define PORT_UDP_APP 5353
#define PORT_NODE 9000 /* a server in the node netns */
#define FRAG_LEN 3000 /* one UDP datagram, fragmented at the 1500 MTU */

enum ns_id { NS_NODE, NS_A, NS_B, NS_C, NS_ZT, NS_MAX };
enum fam { V4, V6, FAM_MAX };
enum zt_tcp { ZT_OUT, ZT_IN, ZT_HBONE, ZT_TCP_MAX };
enum zt_udp { ZTU_OUT, ZTU_IN, ZTU_DNS, ZT_UDP_MAX };

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

extern const struct endpoint eps[NS_MAX];

struct dp_fixture {
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
};

extern struct dp_fixture fx;

/* --- the run --- */

/* Before anything: every fd -1, signals and exit clean up. */
void dp_fixture_init(void);
/* The namespaces; -errno when they cannot be made (the run is skipped). */
int dp_make_netns(void);
/* The node, the datapath loaded and attached, the servers. */
int dp_fixture_setup(void);
/* Everything this run made, once, on every way out. */
void dp_fixture_cleanup(void);

/* A case that cannot run here says why and counts as skipped. */
void skip(const char *why);

/* --- assertions that return, so a case can stop and clean up --- */

#define EXPECT(cond) CHECK(cond, "%s", #cond)
/* An errno-style result that must be 0; the message says what and why. */
#define EXPECT_OK(err, what) expect_ok((err), (what), __LINE__)
bool expect_ok(int err, const char *what, unsigned int line);
/* Does ss hold exactly addr:port? Says what it got when it does not. */
#define EXPECT_SA(ss, f, addr, port, what) \
	expect_sa((ss), (f), (addr), (port), (what), __LINE__)
bool expect_sa(const struct sockaddr_storage *ss, enum fam f, const char *addr,
	       int port, const char *what, unsigned int line);
/* Nothing must arrive at fd for a while: it was not meant to see it. */
#define EXPECT_QUIET(fd, what) expect_quiet((fd), (what), __LINE__)
bool expect_quiet(int fd, const char *what, unsigned int line);

/* --- namespaces and sockets --- */

int af_of(enum fam f);
/* Switch to netns id; netns_leave(*saved) comes back. */
int enter_ns(enum ns_id id, int *saved);
/*
 * Sockets that live in netns id (net_helpers.h's, made there): all
 * non-blocking, driven with poll(). addr NULL: the wildcard.
 */
int ns_socket(enum ns_id id, enum fam f, int type, const struct sock_opts *o);
int ns_bound_socket(enum ns_id id, enum fam f, int type, const char *addr,
		    int port, const struct sock_opts *o);
int ns_server(enum ns_id id, enum fam f, int type, const char *addr, int port,
	      const struct sock_opts *o);

/* --- decision counters --- */

struct counts {
	struct counter_value before[CNT_MAX];
	struct counter_value after[CNT_MAX];
	unsigned int failures; /* CUnit failures when the case began */
};

void counts_begin(struct counts *c);
void counts_end(struct counts *c);
__u64 cnt(const struct counts *c, enum redirect_counter id);
/*
 * On a failed case (or always with DP_TEST_VERBOSE set), show every
 * decision that was taken meanwhile.
 */
void counts_report(const struct counts *c);
bool expect_count(const struct counts *c, enum redirect_counter id, __u64 min,
		  __u64 max, unsigned int line);
#define EXPECT_CNT_MIN(c, id, n) \
	expect_count((c), (id), (n), UINT64_MAX, __LINE__)
#define EXPECT_CNT_NONE(c, id) expect_count((c), (id), 0, 0, __LINE__)

/* Throw away whatever an earlier case left queued at the servers. */
void drain_all(void);
/* Each case starts from drained servers and a quiet datapath. */
void case_begin(struct counts *c);

/* --- one TCP connection, checked end to end --- */

struct flow {
	int client, server;
};

void flow_close(struct flow *fl);
/*
 * fl->client (created and maybe bound by the caller) connects to dst:port.
 * The connection must come up at listener lfd, whose accepted socket sees
 * dst:port as its local address (the original destination) and peer:<the
 * client's port> as its peer; then BULK_LEN bytes go each way.
 */
bool flow_run(struct flow *fl, enum fam f, const char *dst, int port, int lfd,
	      const char *peer);
/* A plain client socket in netns `from`, connecting as that pod. */
bool flow_from(struct flow *fl, enum ns_id from, enum fam f, const char *dst,
	       int port, int lfd);

/* --- UDP --- */

/* n, what a send of len bytes returned: 0 if it sent them all, or -errno. */
int sent_whole(ssize_t n, size_t len);
/* Send a message from fd to addr:port; it must arrive at `at` from
 * src:sport; *orig: its original destination there. */
bool udp_hop(int fd, enum fam f, const char *addr, int port, int at,
	     const char *src, int sport, struct sockaddr_storage *orig);

/* --- the suites, one a theme (each in its own file) --- */

extern const struct test_def dp_tcp_tests[];
extern const struct test_def dp_udp_tests[];
extern const struct test_def dp_node_addr_tests[];
extern const struct test_def dp_failure_tests[];
extern const struct test_def dp_chaining_tests[];
extern const struct test_def dp_dns_tests[];

#endif /* TESTS_DP_FIXTURE_H */
