// SPDX-License-Identifier: GPL-2.0
/*
 * ctl/lib/nl.c against the real kernel. Everything happens in a private
 * netns (unshare at start, gone when we exit) plus one named netns,
 * ar<pid>-nl, for veth peers and routing in another netns; an atexit
 * handler deletes it. Results are cross-checked with ip(8) and tc(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include "cunit_run.h"
#include "datapath.h"
#include "log.h"
#include "net_helpers.h"
#include "link.h"
#include "netns.h"
#include "nl.h"
#include "tc.h"
#include "ztunnel_routing.h"

#define THREAD_NETNS "/proc/thread-self/ns/net"
#define PROG_NAME "app_outbound"

static char ns_name[32];
static char ns_path[64];
static struct nl *nl;
static unsigned int skipped;

/* --- assertions that say what they got (each argument evaluated once) --- */

static bool check_eq(long got, long want, unsigned int line, const char *expr)
{
	return cunit_check(got == want, line, __FILE__,
			   "%s (got %ld, want %ld)", expr, got, want);
}

static bool check_str(const char *got, const char *want, unsigned int line,
		      const char *expr)
{
	return cunit_check(!strcmp(got, want), line, __FILE__,
			   "%s (got \"%s\", want \"%s\")", expr, got, want);
}

#define OK(cond) CHECK(cond, "%s", #cond)
#define EQ(got, want) \
	check_eq((long)(got), (long)(want), __LINE__, #got " == " #want)
#define STR(got, want) check_str(got, want, __LINE__, #got " == " #want)

static void skip(const char *test, const char *why)
{
	printf("    SKIP %s: %s\n", test, why);
	skipped++;
}

/* --- cross-checking with ip/tc --- */

/* Lines of a command's output that contain needle, or -1. */
__attribute__((format(printf, 2, 3))) static int
count_lines(const char *needle, const char *fmt, ...)
{
	char cmd[512], line[1024];
	int n = 0;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	return pclose(f) == 0 ? n : -1;
}

/* First integer a command prints, or -1. */
__attribute__((format(printf, 1, 2))) static long cmd_long(const char *fmt, ...)
{
	char cmd[512];
	long v = -1;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	pclose(f);
	return v;
}

/* The nsid our netns uses for ns_name ("ip netns list-id"), or -1. */
/* The id our netns has for the named netns NAME, -1 if none. */
static int nsid_of(const char *name)
{
	char line[256], want[64];
	int id = -1, v;
	FILE *f;

	snprintf(want, sizeof(want), "name: %s)", name);
	f = popen("ip netns list-id", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want) && sscanf(line, "nsid %d", &v) == 1)
			id = v;
	pclose(f);
	return id;
}

static int nsid_of_named_ns(void)
{
	return nsid_of(ns_name);
}

static ino_t netns_ino(void)
{
	struct stat st;

	return stat(THREAD_NETNS, &st) ? 0 : st.st_ino;
}

/* A veth with a clsact on its first end; returns that ifindex or 0. */
static int tc_dev(const char *a, const char *b)
{
	bool created;
	int ifindex = add_veth(a, b);

	if (ifindex <= 0 || tc_clsact_ensure(nl, ifindex, &created))
		return 0;
	return ifindex;
}

/* r0 = TC_ACT_PIPE; exit: does nothing, lets the next filter run. */
static int load_prog(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_0,
		  .imm = TC_ACT_PIPE },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, PROG_NAME, "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), NULL);
}

static __u32 prog_id(int fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/* --- network namespaces --- */

static void test_netns_files(void)
{
	ino_t before, inside = 0;
	struct stat target;
	int fd, saved;

	fd = netns_open(ns_path);
	if (!OK(fd >= 0))
		return;
	EQ(netns_check_fd(fd), 0);
	EQ(netns_open("/etc/hostname"), -EINVAL);
	EQ(netns_open("/proc/self/ns/mnt"), -EINVAL); /* nsfs, wrong type */
	EQ(netns_open("/nonexistent/netns"), -ENOENT);
	EQ(netns_check_fd(-1), -EBADF);

	before = netns_ino();
	OK(!fstat(fd, &target) && target.st_ino != before);
	if (OK(!netns_enter(fd, &saved))) {
		inside = netns_ino();
		EQ(netns_leave(saved), 0);
	}
	OK(inside == target.st_ino);
	OK(netns_ino() == before);
	close(fd);
}

/*
 * A peer's descriptor told apart without reaching its filesystem: netns
 * files by /proc path (net:[...]) and by bind mount (/var/run/netns/X,
 * found on nsfs by its device) are; sockets, pipes, plain files and
 * other namespaces are not.
 */
static void test_netns_fd_is_net(void)
{
	int p[2], sock, fd;

	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	OK(fd >= 0 && netns_fd_is_net(fd));
	close(fd);
	fd = open(ns_path, O_RDONLY | O_CLOEXEC); /* a bind mount */
	OK(fd >= 0 && netns_fd_is_net(fd));
	close(fd);
	fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	OK(fd >= 0 && !netns_fd_is_net(fd));
	close(fd);
	fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
	OK(fd >= 0 && !netns_fd_is_net(fd));
	close(fd);
	if (OK(!pipe2(p, O_CLOEXEC))) {
		OK(!netns_fd_is_net(p[0]));
		close(p[0]);
		close(p[1]);
	}
	sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	OK(sock >= 0 && !netns_fd_is_net(sock));
	close(sock);
	OK(!netns_fd_is_net(-1));
}

/*
 * From the caches alone: a bind-mounted netns once its path was walked;
 * a /proc magic link never (it needs a walk that may sleep): -EAGAIN.
 */
static void test_netns_open_cached(void)
{
	struct stat st;
	int fd;

	OK(!stat(ns_path, &st)); /* the walk is in the caches now */
	fd = netns_open_cached(ns_path);
	OK(fd >= 0 && netns_fd_is_net(fd));
	close(fd);
	EQ(netns_open_cached("/proc/self/ns/net"), -EAGAIN);
	OK(!stat("/etc/hostname", &st));
	EQ(netns_open_cached("/etc/hostname"), -EINVAL);
	OK(stat("/nonexistent", &st));
	EQ(netns_open_cached("/nonexistent"), -ENOENT);
}

/* --- links --- */

static void test_link_lookup(void)
{
	const __u8 mac[6] = { 0x02, 0, 0, 0, 0x01, 0x0a };
	struct link_info a, b, x;

	if (!OK(add_veth("nl1a", "nl1b") > 0) ||
	    !OK(!run_cmd("ip link set dev nl1a address 02:00:00:00:01:0a up")))
		goto cleanup;
	if (!OK(!link_get_by_name(nl, "nl1a", &a)) ||
	    !OK(!link_get_by_name(nl, "nl1b", &b)))
		goto cleanup;
	STR(a.name, "nl1a");
	EQ(a.ifindex, if_nametoindex("nl1a"));
	OK(a.is_veth && b.is_veth);
	EQ(a.peer_ifindex, b.ifindex);
	EQ(b.peer_ifindex, a.ifindex);
	EQ(a.link_netnsid, -1); /* peer in the same netns */
	OK(a.up);
	OK(!b.up);
	OK(a.has_mac && !memcmp(a.mac, mac, sizeof(mac)));

	if (OK(!link_get_by_index(nl, a.ifindex, &x)))
		STR(x.name, "nl1a");
	if (OK(!link_get_by_name(nl, "lo", &x))) {
		OK(!x.is_veth);
		EQ(x.peer_ifindex, 0);
	}
	EQ(link_get_by_name(nl, "nosuchdev", &x), -ENODEV);
	EQ(link_get_by_index(nl, 99999, &x), -ENODEV);
	EQ(link_get_by_name(nl, "name-too-long-for-a-link", &x), -EINVAL);
cleanup:
	run_cmd("ip link del nl1a 2>/dev/null");
}

static void test_veth_peer_other_netns(void)
{
	struct link_info a, b, x;
	struct nl *peer = NULL;
	ino_t before;
	int fd = -1;

	if (!OK(!run_cmd("ip link add nl2a type veth peer name nl2b netns %s",
			 ns_name)))
		return;
	if (!OK(!link_get_by_name(nl, "nl2a", &a)))
		goto cleanup;
	OK(a.is_veth);
	OK(a.peer_ifindex > 0);
	OK(a.link_netnsid >= 0);
	EQ(a.link_netnsid, nsid_of_named_ns());
	EQ(link_get_by_name(nl, "nl2b", &x), -ENODEV); /* not here */

	fd = netns_open(ns_path);
	before = netns_ino();
	if (!OK(fd >= 0) || !OK(!nl_open_in_netns(fd, &peer)))
		goto cleanup;
	OK(netns_ino() == before); /* the caller stays where it was */
	if (OK(!link_get_by_name(peer, "nl2b", &b))) {
		EQ(b.ifindex, a.peer_ifindex);
		EQ(b.peer_ifindex, a.ifindex);
		OK(b.is_veth);
		OK(b.link_netnsid >= 0);
	}
	if (OK(!link_get_by_index(peer, a.peer_ifindex, &x)))
		STR(x.name, "nl2b");
cleanup:
	nl_close(peer);
	if (fd >= 0)
		close(fd);
	run_cmd("ip link del nl2a 2>/dev/null");
}

/*
 * link_get_in_netns: by netns id when ours has one for the netns, else
 * through a socket inside it; both must find the same link.
 */
static void test_link_in_netns(void)
{
	struct link_info a, b, lo;
	int fd = -1, ofd = -1;
	char other[48];

	snprintf(other, sizeof(other), "%s-noid", ns_name);
	if (!OK(!run_cmd("ip link add nl8a type veth peer name nl8b netns %s",
			 ns_name)) ||
	    !OK((ofd = create_netns(other)) >= 0))
		goto cleanup;
	fd = netns_open(ns_path);
	if (!OK(fd >= 0) || !OK(!netns_check_fd(ofd)) ||
	    !OK(!link_get_by_name(nl, "nl8a", &a)))
		goto cleanup;
	/* The veth gave the named netns an id here: the netlink way. */
	OK(nsid_of_named_ns() >= 0);
	if (OK(!link_get_in_netns(nl, fd, "nl8b", &b))) {
		EQ(b.ifindex, a.peer_ifindex);
		EQ(b.peer_ifindex, a.ifindex);
		OK(b.is_veth && b.has_mac);
	}
	EQ(link_get_in_netns(nl, fd, "nl8-none", &b), -ENODEV);
	EQ(link_get_in_netns(nl, fd, "", &b), -EINVAL);
	/* No id for the other netns here: through a socket inside it. */
	EQ(nsid_of(other), -1);
	if (OK(!link_get_in_netns(nl, ofd, "lo", &lo)))
		EQ(lo.ifindex, 1);
	EQ(link_get_in_netns(nl, ofd, "nl8b", &b), -ENODEV);
	/* Given an id, the netlink way finds the same. */
	if (OK(!run_cmd("ip netns set %s 77", other)) &&
	    EQ(nsid_of(other), 77) &&
	    OK(!link_get_in_netns(nl, ofd, "lo", &lo)))
		EQ(lo.ifindex, 1);
	EQ(link_get_in_netns(nl, ofd, "nl8b", &b), -ENODEV);
cleanup:
	if (fd >= 0)
		close(fd);
	if (ofd >= 0)
		close(ofd);
	run_cmd("ip link del nl8a 2>/dev/null");
	remove_netns(other);
}

struct link_seen {
	int lo, veth, total;
};

static int link_seen_fn(const struct link_info *li, void *arg)
{
	struct link_seen *s = arg;

	s->total++;
	if (!strcmp(li->name, "lo"))
		s->lo++;
	if (!strcmp(li->name, "nl3a") && li->is_veth)
		s->veth++;
	return 0;
}

static int stop_fn(const struct link_info *li, void *arg)
{
	(*(int *)arg)++;
	return 42;
}

static void test_link_for_each(void)
{
	struct link_seen seen = { 0 };
	struct link_info x;
	int calls = 0;

	if (!OK(add_veth("nl3a", "nl3b") > 0))
		return;
	EQ(link_for_each(nl, link_seen_fn, &seen), 0);
	EQ(seen.lo, 1);
	EQ(seen.veth, 1);
	EQ(seen.total, cmd_long("ip -o link show | wc -l"));
	/* A stop is returned, and the rest of the dump does not leak. */
	EQ(link_for_each(nl, stop_fn, &calls), 42);
	EQ(calls, 1);
	EQ(link_get_by_name(nl, "nl3b", &x), 0);
	run_cmd("ip link del nl3a");
}

/* --- addresses --- */

struct addr_seen {
	int ifindex;
	int v4, v4_ptp_local, v4_ptp_peer, v6;
};

static int addr_seen_fn(int family, const void *addr, int ifindex, void *arg)
{
	struct addr_seen *s = arg;
	char txt[INET6_ADDRSTRLEN];

	if (ifindex != s->ifindex)
		return 0;
	inet_ntop(family, addr, txt, sizeof(txt));
	s->v4 += family == AF_INET && !strcmp(txt, "10.44.0.1");
	s->v4_ptp_local += family == AF_INET && !strcmp(txt, "10.44.1.1");
	s->v4_ptp_peer += family == AF_INET && !strcmp(txt, "10.44.1.2");
	s->v6 += family == AF_INET6 && !strcmp(txt, "fd00:44::1");
	return 0;
}

static int addr_stop_fn(int family, const void *addr, int ifindex, void *arg)
{
	return -EINTR;
}

static void test_addr_for_each(void)
{
	struct addr_seen s = { 0 };

	s.ifindex = add_veth("nl4a", "nl4b");
	if (!OK(s.ifindex > 0) ||
	    !OK(!run_cmd("ip addr add 10.44.0.1/24 dev nl4a && "
			 "ip addr add 10.44.1.1 peer 10.44.1.2 dev nl4a && "
			 "ip -6 addr add fd00:44::1/64 dev nl4a nodad")))
		goto cleanup;
	EQ(addr_for_each(nl, addr_seen_fn, &s), 0);
	EQ(s.v4, 1);
	EQ(s.v4_ptp_local, 1); /* IFA_LOCAL, not the peer in IFA_ADDRESS */
	EQ(s.v4_ptp_peer, 0);
	EQ(s.v6, 1);
	EQ(addr_for_each(nl, addr_stop_fn, NULL), -EINTR);
cleanup:
	run_cmd("ip link del nl4a 2>/dev/null");
}

/* --- tc: clsact --- */

static void test_clsact(void)
{
	int a = add_veth("nl5a", "nl5b"), c = add_veth("nl5c", "nl5d");
	int b = (int)if_nametoindex("nl5b");
	bool created = true;

	if (!OK(a > 0 && b > 0 && c > 0))
		goto cleanup;
	OK(!tc_clsact_exists(nl, a));
	EQ(tc_clsact_ensure(nl, a, &created), 0);
	OK(created);
	OK(tc_clsact_exists(nl, a));
	EQ(tc_clsact_ensure(nl, a, &created), 0);
	OK(!created);
	EQ(count_lines("qdisc clsact", "tc qdisc show dev nl5a"), 1);
	EQ(tc_clsact_delete(nl, a), 0);
	OK(!tc_clsact_exists(nl, a));
	EQ(count_lines("qdisc clsact", "tc qdisc show dev nl5a"), 0);

	/* Made by someone else: reused, reported as not ours. */
	OK(!run_cmd("tc qdisc add dev nl5b clsact"));
	created = true;
	EQ(tc_clsact_ensure(nl, b, &created), 0);
	OK(!created);
	OK(tc_clsact_exists(nl, b));

	/* An ingress qdisc holds ffff: but has no egress hook: refuse. */
	OK(!run_cmd("tc qdisc add dev nl5c ingress"));
	created = true;
	EQ(tc_clsact_ensure(nl, c, &created), -EBUSY);
	OK(!created);
	OK(!tc_clsact_exists(nl, c));
	OK(tc_clsact_delete(nl, c) < 0);
	EQ(count_lines("qdisc ingress", "tc qdisc show dev nl5c"), 1);
cleanup:
	run_cmd("ip link del nl5a 2>/dev/null; ip link del nl5c 2>/dev/null");
}

/* --- tc: filters --- */

static void test_filter_lifecycle(void)
{
	struct tc_slot slot = { .dir = TC_DIR_INGRESS,
				.prio = 10,
				.handle = 1 };
	struct tc_slot eslot = { .dir = TC_DIR_EGRESS, .prio = 1, .handle = 1 };
	struct tc_filter_info fi, list[4];
	int p1 = load_prog(), p2 = load_prog();
	bool created;

	if (p1 < 0 || p2 < 0) {
		skip(__func__, "cannot load a SCHED_CLS program");
		goto cleanup;
	}
	slot.ifindex = add_veth("nl6a", "nl6b");
	eslot.ifindex = slot.ifindex;
	if (!OK(slot.ifindex > 0))
		goto cleanup;
	/* No clsact yet: nothing in the slot, and nowhere to attach. */
	EQ(tc_filter_get(nl, &slot, &fi), -ENOENT);
	OK(tc_filter_attach(nl, &slot, p1, PROG_NAME) < 0);
	if (!OK(!tc_clsact_ensure(nl, slot.ifindex, &created)))
		goto cleanup;

	EQ(tc_filter_get(nl, &slot, &fi), -ENOENT);
	EQ(tc_filter_detach(nl, &slot, PROG_NAME), -ENOENT);
	EQ(tc_filter_attach(nl, &slot, p1, PROG_NAME), 0);
	if (OK(!tc_filter_get(nl, &slot, &fi))) {
		STR(fi.name, PROG_NAME);
		EQ(fi.prog_id, prog_id(p1));
		EQ(fi.prio, 10);
		EQ(fi.handle, 1);
		OK(fi.direct_action);
	}
	EQ(count_lines(PROG_NAME " direct-action",
		       "tc filter show dev nl6a ingress"),
	   1);

	/* Ours again: replaced in place with the new program. */
	EQ(tc_filter_attach(nl, &slot, p2, PROG_NAME), 0);
	if (OK(!tc_filter_get(nl, &slot, &fi)))
		EQ(fi.prog_id, prog_id(p2));
	if (EQ(tc_filter_list(nl, slot.ifindex, TC_DIR_INGRESS, list, 4), 1))
		EQ(list[0].prog_id, prog_id(p2));
	EQ(tc_filter_list(nl, slot.ifindex, TC_DIR_EGRESS, list, 4), 0);

	/* The other hook is a different place. */
	EQ(tc_filter_attach(nl, &eslot, p1, "app_inbound"), 0);
	EQ(tc_filter_list(nl, slot.ifindex, TC_DIR_EGRESS, list, 4), 1);
	EQ(tc_filter_list(nl, slot.ifindex, TC_DIR_INGRESS, list, 4), 1);
	EQ(count_lines("app_inbound", "tc filter show dev nl6a egress"), 1);
	EQ(tc_filter_detach(nl, &eslot, "app_inbound"), 0);

	/* The wrong name refuses and leaves the filter alone. */
	EQ(tc_filter_detach(nl, &slot, "app_inbound"), -EBUSY);
	EQ(tc_filter_get(nl, &slot, &fi), 0);
	EQ(tc_filter_detach(nl, &slot, PROG_NAME), 0);
	EQ(tc_filter_get(nl, &slot, &fi), -ENOENT);
	EQ(tc_filter_detach(nl, &slot, PROG_NAME), -ENOENT);
	EQ(tc_filter_list(nl, slot.ifindex, TC_DIR_INGRESS, list, 4), 0);
	EQ(count_lines("filter", "tc filter show dev nl6a ingress"), 0);

	/* Slots the kernel would treat as wildcards are refused. */
	slot.handle = 0;
	EQ(tc_filter_attach(nl, &slot, p1, PROG_NAME), -EINVAL);
	EQ(tc_filter_detach(nl, &slot, PROG_NAME), -EINVAL);
	slot.handle = 1;
	slot.prio = 0;
	EQ(tc_filter_get(nl, &slot, &fi), -EINVAL);
cleanup:
	if (p1 >= 0)
		close(p1);
	if (p2 >= 0)
		close(p2);
	run_cmd("ip link del nl6a 2>/dev/null");
}

static void test_filter_foreign_slot(void)
{
	struct tc_slot slot = { .dir = TC_DIR_INGRESS,
				.prio = 10,
				.handle = 1 };
	struct tc_filter_info fi, list[8];
	int p = load_prog(), n, u32 = 0;

	if (p < 0) {
		skip(__func__, "cannot load a SCHED_CLS program");
		return;
	}
	slot.ifindex = tc_dev("nl7a", "nl7b");
	if (!OK(slot.ifindex))
		goto cleanup;

	/* A classic-BPF cls_bpf filter with no name, made by tc. */
	OK(!run_cmd(
		"tc filter add dev nl7a ingress pref 10 handle 1 protocol all "
		"bpf bytecode '1,6 0 0 0'"));
	EQ(tc_filter_attach(nl, &slot, p, PROG_NAME), -EBUSY);
	EQ(tc_filter_detach(nl, &slot, PROG_NAME), -EBUSY);
	if (OK(!tc_filter_get(nl, &slot, &fi)))
		STR(fi.name, "");
	EQ(count_lines("bytecode", "tc filter show dev nl7a ingress"), 1);

	/* Another owner's named eBPF filter. */
	slot.prio = 20;
	EQ(tc_filter_attach(nl, &slot, p, "other_owner"), 0);
	EQ(tc_filter_attach(nl, &slot, p, PROG_NAME), -EBUSY);
	if (OK(!tc_filter_get(nl, &slot, &fi))) {
		STR(fi.name, "other_owner");
		EQ(fi.prog_id, prog_id(p));
	}

	/* A u32 classifier holds pref 30: our slot there is not free. */
	OK(!run_cmd("tc filter add dev nl7a ingress pref 30 protocol all "
		    "u32 match u32 0 0"));
	slot.prio = 30;
	EQ(tc_filter_get(nl, &slot, &fi), -ENOENT);
	EQ(tc_filter_attach(nl, &slot, p, PROG_NAME), -EBUSY);

	n = tc_filter_list(nl, slot.ifindex, TC_DIR_INGRESS, list, 8);
	OK(n >= 3);
	for (int i = 0; i < n; i++)
		u32 += list[i].prio == 30 && !strcmp(list[i].name, "u32");
	OK(u32 >= 1);
	EQ(count_lines(" " PROG_NAME " direct-action",
		       "tc filter show dev nl7a ingress"),
	   0);
	EQ(count_lines("pref 10 bpf", "tc filter show dev nl7a ingress"), 2);
	EQ(count_lines("other_owner", "tc filter show dev nl7a ingress"), 1);
cleanup:
	close(p);
	run_cmd("ip link del nl7a 2>/dev/null");
}

static void test_filter_chaining(void)
{
	struct tc_slot slot = { .dir = TC_DIR_INGRESS,
				.prio = 10,
				.handle = 1 };
	struct tc_filter_info list[8];
	int p = load_prog(), n, ours = 0, prio5 = 0, prio10 = 0, prio20 = 0;

	if (p < 0) {
		skip(__func__, "cannot load a SCHED_CLS program");
		return;
	}
	slot.ifindex = tc_dev("nl8a", "nl8b");
	if (!OK(slot.ifindex))
		goto cleanup;
	/* Others before, after, and beside us at our own pref. */
	OK(!run_cmd("tc filter add dev nl8a ingress pref 5 protocol all "
		    "u32 match u32 0 0"));
	OK(!run_cmd(
		"tc filter add dev nl8a ingress pref 20 handle 1 protocol all "
		"bpf bytecode '1,6 0 0 0'"));
	EQ(tc_filter_attach(nl, &slot, p, PROG_NAME), 0);
	OK(!run_cmd(
		"tc filter add dev nl8a ingress pref 10 handle 2 protocol all "
		"bpf bytecode '1,6 0 0 0'"));

	n = tc_filter_list(nl, slot.ifindex, TC_DIR_INGRESS, list, 8);
	EQ(n, 5); /* u32 adds its hash table 800: and its node 800::800 */
	EQ(tc_filter_list(nl, slot.ifindex, TC_DIR_INGRESS, list, 2), 2);

	EQ(tc_filter_detach(nl, &slot, PROG_NAME), 0);
	n = tc_filter_list(nl, slot.ifindex, TC_DIR_INGRESS, list, 8);
	EQ(n, 4);
	for (int i = 0; i < n; i++) {
		ours += !strcmp(list[i].name, PROG_NAME);
		prio5 += list[i].prio == 5 && !strcmp(list[i].name, "u32");
		prio10 += list[i].prio == 10 && list[i].handle == 2;
		prio20 += list[i].prio == 20 && list[i].handle == 1;
	}
	EQ(ours, 0);
	EQ(prio5, 2);
	EQ(prio10, 1);
	EQ(prio20, 1);
	EQ(count_lines("handle 0x2", "tc filter show dev nl8a ingress"), 1);
cleanup:
	close(p);
	run_cmd("ip link del nl8a 2>/dev/null");
}

/* --- policy routing --- */

static void test_zt_routing(void)
{
	const struct ztunnel_routing r = {
		.mark = 0x400, .mask = 0xfff, .table = 100, .rule_prio = 101
	};
	const char *rule = "101:\tfrom all fwmark 0x400/0xfff lookup 100";
	const char *own_rpf = "/proc/sys/net/ipv4/conf/all/rp_filter";
	struct nl *zn = NULL;
	struct ztunnel_saved was, again;
	struct link_info lo;
	int fd;

	fd = netns_open(ns_path);
	if (!OK(fd >= 0) || !OK(!nl_open_in_netns(fd, &zn)))
		goto cleanup;
	OK(!run_cmd("ip netns exec %s sh -c 'for f in all default; do "
		    "echo 1 > /proc/sys/net/ipv4/conf/$f/rp_filter; done'",
		    ns_name));
	/* Our own netns must not be touched. */
	OK(!run_cmd("echo 2 > %s", own_rpf));

	/* lo down first, so restore has something to give back */
	OK(!run_cmd("ip -n %s link set lo down", ns_name));
	EQ(ztunnel_routing_setup(zn, &r, &was), 0);
	OK(was.lo_was_down && was.rp_filter_read);
	OK(!strcmp(was.rp_filter[0], "1") && !strcmp(was.rp_filter[1], "1"));
	EQ(ztunnel_routing_setup(zn, &r, &again), 0); /* idempotent */
	EQ(count_lines(rule, "ip -n %s rule show", ns_name), 1);
	EQ(count_lines(rule, "ip -n %s -6 rule show", ns_name), 1);
	EQ(count_lines("lookup main", "ip -n %s rule show", ns_name), 1);
	EQ(count_lines("local default dev lo scope host",
		       "ip -n %s route show table 100", ns_name),
	   1);
	EQ(count_lines("local default dev lo",
		       "ip -n %s -6 route show table 100", ns_name),
	   1);
	if (OK(!link_get_by_name(zn, "lo", &lo)))
		OK(lo.up);
	EQ(cmd_long("ip netns exec %s cat /proc/sys/net/ipv4/conf/all/rp_filter",
		    ns_name),
	   0);
	EQ(cmd_long("ip netns exec %s cat "
		    "/proc/sys/net/ipv4/conf/default/rp_filter",
		    ns_name),
	   0);
	EQ(cmd_long("cat %s", own_rpf), 2);
	EQ(count_lines("fwmark", "ip rule show"), 0);

	EQ(ztunnel_routing_teardown(zn, &r), 0);
	EQ(count_lines("fwmark", "ip -n %s rule show", ns_name), 0);
	EQ(count_lines("fwmark", "ip -n %s -6 rule show", ns_name), 0);
	EQ(count_lines("lookup main", "ip -n %s rule show", ns_name), 1);
	EQ(count_lines("local", "ip -n %s route show table 100", ns_name), 0);
	EQ(count_lines("local", "ip -n %s -6 route show table 100", ns_name),
	   0);
	EQ(ztunnel_routing_teardown(zn, &r), 0); /* nothing left: still fine */

	/* A refused ztunnel add restores what setup found: lo, rp_filter. */
	EQ(ztunnel_routing_setup(zn, &r, &again), 0);
	EQ(ztunnel_routing_restore(zn, &r, &was), 0);
	EQ(count_lines("fwmark", "ip -n %s rule show", ns_name), 0);
	if (OK(!link_get_by_name(zn, "lo", &lo)))
		OK(!lo.up);
	EQ(cmd_long("ip netns exec %s cat /proc/sys/net/ipv4/conf/all/rp_filter",
		    ns_name),
	   1);
	EQ(cmd_long("ip netns exec %s cat "
		    "/proc/sys/net/ipv4/conf/default/rp_filter",
		    ns_name),
	   1);
cleanup:
	nl_close(zn);
	if (fd >= 0)
		close(fd);
}

/* --- runner --- */

static const struct test_def nl_tests[] = {
	T(test_netns_files),
	T(test_netns_fd_is_net),
	T(test_netns_open_cached),
	T(test_link_lookup),
	T(test_veth_peer_other_netns),
	T(test_link_in_netns),
	T(test_link_for_each),
	T(test_addr_for_each),
	T(test_clsact),
	T(test_filter_lifecycle),
	T(test_filter_foreign_slot),
	T(test_filter_chaining),
	T(test_zt_routing),
	T_END,
};

static void delete_named_netns(void)
{
	char other[48];

	nl_close(nl);
	nl = NULL;
	if (!ns_name[0])
		return;
	snprintf(other, sizeof(other), "%s-noid", ns_name);
	remove_netns(ns_name);
	remove_netns(other); /* test_link_in_netns's, if it failed */
	ns_name[0] = '\0';
}

static void on_signal(int sig)
{
	exit(128 + sig); /* runs the atexit cleanup */
}

int main(void)
{
	static const struct suite_def suites[] = { { "nl", nl_tests } };
	const unsigned int n_tests = sizeof(nl_tests) / sizeof(nl_tests[0]) - 1;
	unsigned int run, failed;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("skip: test_nl needs root (netns, veth, tc)\n");
		return cunit_report(n_tests, 0, n_tests);
	}
	/* Never touch the root netns: everything below happens in our own. */
	if (enter_private_netns()) {
		printf("skip: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return cunit_report(n_tests, 0, n_tests);
	}
	log_set_level(getenv("V") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	log_route_libbpf();
	snprintf(ns_name, sizeof(ns_name), "ar%d-nl", (int)getpid());
	snprintf(ns_path, sizeof(ns_path), "/var/run/netns/%s", ns_name);
	atexit(delete_named_netns);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	fd = create_netns(ns_name);
	if (fd < 0 || nl_open(&nl)) {
		printf("FAIL: setting up: netns %s, netlink\n", ns_name);
		return cunit_report(0, 1, 0);
	}
	close(fd);
	failed = cunit_run(suites, 1, &run);
	return cunit_report(run, failed, skipped);
}
