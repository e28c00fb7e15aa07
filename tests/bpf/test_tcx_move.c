// SPDX-License-Identifier: GPL-2.0
/*
 * ctl/lib/tcx.c against the kernel: our TCX links moved to the head of a
 * chain without ever leaving it, the spare those moves need, pins that
 * outlive their device, our pin names. Everything happens in a private
 * netns (unshare at start) on a veth pair made there, with pins under a
 * bpffs folder of this run (ar<pid>-tcxmove), removed at exit.
 *
 * The move is proven by a reader thread that reads the chain over and
 * over (BPF_PROG_QUERY: one state of the chain between two changes, under
 * the rtnl lock) while the main thread moves ours hundreds of times: not
 * one read may find the chain without a program of ours. A move that
 * detached the old link before making the new one (the earlier
 * tcx_move_to_head) leaves a state without ours between its two
 * syscalls, which the reader sees in about one move in five here.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <net/if.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "cunit_run.h"
#include "datapath.h"
#include "log.h"
#include "net_helpers.h"
#include "packet.h"
#include "tcx.h"

#define ATTACH_TCX_INGRESS 46
#define F_BEFORE (1U << 3)
#define MOVES 300

static char pin_dir[64];
static struct datapath dp;
static bool dp_loaded;
static int ifindex; /* veth t0, in our netns */

static void pin_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", pin_dir, name);
}

/* --- the chain --- */

static __u32 prog_id(int prog_fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.id;
}

/* The chain's program ids in run order; an empty chain has none. */
static __u32 chain(int dev, __u32 *ids, __u32 max)
{
	__u32 n = max;

	if (bpf_prog_query(dev, (enum bpf_attach_type)ATTACH_TCX_INGRESS, 0,
			   NULL, ids, &n))
		return 0;
	return n;
}

static __u32 head(void)
{
	__u32 ids[16];

	return chain(ifindex, ids, 16) ? ids[0] : 0;
}

static int count_of(__u32 id)
{
	__u32 ids[16], n = chain(ifindex, ids, 16);
	int c = 0;

	for (__u32 i = 0; i < n; i++)
		c += ids[i] == id;
	return c;
}

/* Another owner's program: r0 = TCX_NEXT; exit. */
static int foreign_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "foreign", "GPL", insns,
			     2, NULL);
}

/* Its link before every other (as a CNI's that came later): the fd. */
static int foreign_at_head(int prog_fd)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (__u32)prog_fd;
	attr.link_create.target_ifindex = (__u32)ifindex;
	attr.link_create.attach_type = ATTACH_TCX_INGRESS;
	attr.link_create.flags = F_BEFORE;
	return (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}

/* At once: a link closed goes later, and its program could not come
 * back on the chain before. */
static void drop_link(int fd)
{
	bpf_link_detach(fd);
	close(fd);
}

/* --- the reader --- */

struct reader {
	pthread_t thread;
	__u32 ours[2]; /* the program and its spare */
	atomic_bool stop;
	unsigned long reads, absent;
};

static void *read_chain(void *arg)
{
	struct reader *r = arg;

	while (!atomic_load(&r->stop)) {
		__u32 ids[16], n = chain(ifindex, ids, 16);
		bool found = false;

		for (__u32 i = 0; i < n && !found; i++)
			found = ids[i] == r->ours[0] || ids[i] == r->ours[1];
		r->reads++;
		r->absent += !found;
	}
	return NULL;
}

/* --- tests --- */

static void test_pin_names(void)
{
	static const struct {
		const char *name;
		bool ours, leftover;
		int ifindex;
	} cases[] = {
		{ "tcx_5_in", true, false, 5 },
		{ "tcx_5_eg", true, false, 5 },
		{ "tcx_12_peer_in", true, false, 12 },
		{ "guard_7", true, false, 7 },
		{ "tcx_5_in_new", true, true, 5 },
		{ "tcx_12_peer_in_new", true, true, 12 },
		{ "guard_7_new", true, true, 7 },
		{ "tcx_5_out", false, false, 0 },
		{ "tcx_x_in", false, false, 0 },
		{ "tcx_0_in", false, false, 0 },
		{ "tcx_5_in_old", false, false, 0 },
		{ "guard_", false, false, 0 },
		{ "pods", false, false, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int idx = 0;
		bool leftover = false;
		bool ours = tcx_pin_parse(cases[i].name, &idx, &leftover);

		CU_ASSERT_EQUAL(ours, cases[i].ours);
		if (ours && cases[i].ours) {
			CU_ASSERT_EQUAL(idx, cases[i].ifindex);
			CU_ASSERT_EQUAL(leftover, cases[i].leftover);
		}
	}
}

/* Both instances pass a frame they leave alone with TCX_NEXT and count
 * it in the one counters map. */
static void test_spare_shares_maps(void)
{
	struct counter_value before[CNT_MAX], after[CNT_MAX];
	int fds[2] = { dp_prog_fd(&dp, DP_APP_OUTBOUND),
		       dp_spare_fd(&dp, DP_APP_OUTBOUND) };
	struct pkt p;

	CU_ASSERT_FATAL(fds[1] >= 0);
	CU_ASSERT(prog_id(fds[0]) != prog_id(fds[1]));
	CU_ASSERT_EQUAL(dp_spare_fd(&dp, DP_POD_GUARD), -ENOENT);
	for (int prog = DP_APP_OUTBOUND; prog <= DP_ZTUNNEL_INGRESS; prog++)
		CU_ASSERT(dp_spare_fd(&dp, prog) >= 0);
	CU_ASSERT_FATAL(!pkt_build_arp(&p, "10.0.0.1", "10.0.0.2"));
	CU_ASSERT_FATAL(!dp_counters_read(&dp, before));
	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.data,
			    .data_size_in = (__u32)p.len);

		CU_ASSERT_FATAL(!bpf_prog_test_run_opts(fds[i], &o));
		CU_ASSERT_EQUAL((int)o.retval, -1); /* TCX_NEXT */
	}
	CU_ASSERT_FATAL(!dp_counters_read(&dp, after));
	CU_ASSERT_EQUAL(after[CNT_OUT_PASS_NON_IP].packets -
				before[CNT_OUT_PASS_NON_IP].packets,
			2);
}

/* Ours at the head with a fresh pin; the pin's link id. */
static __u32 attach_ours(const char *pin)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	int fd;

	unlink(pin);
	if (tcx_attach_head(pin, ifindex, TC_DIR_INGRESS,
			    dp_prog_fd(&dp, DP_APP_OUTBOUND)))
		return 0;
	fd = bpf_obj_get(pin);
	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	if (fd >= 0)
		close(fd);
	return info.id;
}

static bool leftover_in_dir(void)
{
	DIR *d = opendir(pin_dir);
	struct dirent *de;
	bool found = false, leftover;
	int idx;

	while (d && (de = readdir(d)))
		if (tcx_pin_parse(de->d_name, &idx, &leftover) && leftover)
			found = true;
	if (d)
		closedir(d);
	return found;
}

/*
 * The heart of it: hundreds of moves while the reader looks, ours back
 * at the head after each, never absent, the primary instance in place
 * afterwards, the pin naming the link at the head, no leftover pin.
 */
static void test_move_never_absent(void)
{
	int prog = dp_prog_fd(&dp, DP_APP_OUTBOUND);
	int spare = dp_spare_fd(&dp, DP_APP_OUTBOUND);
	int foreign = foreign_prog();
	struct reader r = { .ours = { prog_id(prog), prog_id(spare) } };
	unsigned int moved = 0, first_after = 0;
	char pin[128];

	CU_ASSERT_FATAL(foreign >= 0);
	pin_path("tcx_move_in", pin, sizeof(pin));
	CU_ASSERT_FATAL(attach_ours(pin) != 0);
	CU_ASSERT_FATAL(!pthread_create(&r.thread, NULL, read_chain, &r));
	for (int i = 0; i < MOVES; i++) {
		int f = foreign_at_head(foreign);

		if (f < 0 || head() == r.ours[0])
			break; /* the newcomer must have taken the head */
		if (!tcx_move_to_head(pin, ifindex, TC_DIR_INGRESS, prog,
				      spare))
			moved++;
		first_after += head() == r.ours[0] && count_of(r.ours[0]) == 1;
		drop_link(f); /* the newcomer goes, as a CNI's may */
	}
	atomic_store(&r.stop, true);
	pthread_join(r.thread, NULL);
	printf("\n    %u moves, %lu reads of the chain, %lu without ours ",
	       moved, r.reads, r.absent);
	CU_ASSERT_EQUAL(moved, MOVES);
	CU_ASSERT_EQUAL(first_after, MOVES);
	CU_ASSERT(r.reads > MOVES);
	CU_ASSERT_EQUAL(r.absent, 0);
	CU_ASSERT_EQUAL(count_of(r.ours[1]), 0); /* the spare stood in only */
	CU_ASSERT_FALSE(leftover_in_dir());
	CU_ASSERT(!tcx_unpin(pin));
	CU_ASSERT_EQUAL(count_of(r.ours[0]), 0); /* unpinned, it went */
	close(foreign);
}

/* A pinned link left running the spare (a move cut short before its
 * last step) moves with the primary standing in instead. */
static void test_move_from_spare(void)
{
	int prog = dp_prog_fd(&dp, DP_APP_OUTBOUND);
	int spare = dp_spare_fd(&dp, DP_APP_OUTBOUND);
	int foreign = foreign_prog(), f;
	char pin[128];

	pin_path("tcx_spare_in", pin, sizeof(pin));
	CU_ASSERT_FATAL(attach_ours(pin) != 0);
	CU_ASSERT_FATAL(!tcx_update(pin, spare));
	CU_ASSERT_EQUAL(head(), prog_id(spare));
	f = foreign_at_head(foreign);
	CU_ASSERT_FATAL(f >= 0);
	CU_ASSERT(!tcx_move_to_head(pin, ifindex, TC_DIR_INGRESS, prog, spare));
	CU_ASSERT_EQUAL(head(), prog_id(prog));
	CU_ASSERT_EQUAL(count_of(prog_id(spare)), 0);
	CU_ASSERT_EQUAL(count_of(prog_id(prog)), 1);
	drop_link(f);
	close(foreign);
	CU_ASSERT(!tcx_unpin(pin));
}

/* Without a spare nothing is done: never a gap. */
static void test_no_spare_no_move(void)
{
	int prog = dp_prog_fd(&dp, DP_APP_OUTBOUND);
	int foreign = foreign_prog(), f;
	__u32 link;
	char pin[128];

	pin_path("tcx_nospare_in", pin, sizeof(pin));
	link = attach_ours(pin);
	CU_ASSERT_FATAL(link != 0);
	f = foreign_at_head(foreign);
	CU_ASSERT_FATAL(f >= 0);
	CU_ASSERT_EQUAL(tcx_move_to_head(pin, ifindex, TC_DIR_INGRESS, prog,
					 -1),
			-ENOENT);
	CU_ASSERT_EQUAL(head(), prog_id(foreign));
	CU_ASSERT_EQUAL(count_of(prog_id(prog)), 1);
	drop_link(f);
	close(foreign);
	CU_ASSERT(!tcx_unpin(pin));
}

/*
 * A pin whose device went, and a new device with the same ifindex (the
 * kernel reuses them): the attach makes a new link there instead of
 * failing on the dead one.
 */
static void test_attach_over_dead_pin(void)
{
	int prog = dp_prog_fd(&dp, DP_APP_OUTBOUND);
	char pin[128];
	int idx;

	if (run_cmd("ip link add t8 index 4242 type veth peer name t9"))
		CU_FAIL_FATAL("ip link add");
	idx = (int)if_nametoindex("t8");
	CU_ASSERT_FATAL(idx == 4242);
	pin_path("tcx_dead_in", pin, sizeof(pin));
	unlink(pin);
	CU_ASSERT_FATAL(!tcx_attach_head(pin, idx, TC_DIR_INGRESS, prog));
	run_cmd("ip link del t8");
	CU_ASSERT_EQUAL(tcx_update(pin, prog), -ENOLINK);
	if (run_cmd("ip link add t8 index 4242 type veth peer name t9"))
		CU_FAIL_FATAL("ip link add again");
	CU_ASSERT(!tcx_attach_head(pin, idx, TC_DIR_INGRESS, prog));
	{
		__u32 ids[4], n = chain(idx, ids, 4);

		CU_ASSERT_EQUAL(n, 1);
		CU_ASSERT_EQUAL(n ? ids[0] : 0, prog_id(prog));
	}
	CU_ASSERT_FALSE(leftover_in_dir());
	CU_ASSERT(!tcx_unpin(pin));
	run_cmd("ip link del t8");
}

/* --- setup --- */

static void remove_pins(void)
{
	DIR *d;
	struct dirent *de;
	char path[400];

	if (dp_loaded) {
		dp_unpin(&dp);
		dp_close(&dp);
		dp_loaded = false;
	}
	d = opendir(pin_dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(pin_dir);
}

static void on_signal(int sig)
{
	exit(128 + sig); /* runs the atexit cleanup */
}

/* The kernel has no TCX: 0 tests run, the skip said. */
static int setup(void)
{
	struct dp_opts o = { .sz = sizeof(o),
			     .pin_dir = pin_dir,
			     .tcx_next = true,
			     .spare = true };
	int err;

	ifindex = add_veth("t0", "t1");
	if (ifindex < 0 || set_link_up("t0") || set_link_up("t1"))
		return -1;
	err = dp_load(&dp, &o);
	if (err) {
		fprintf(stderr, "dp_load: %s\n", strerror(-err));
		return -1;
	}
	dp_loaded = true;
	return 0;
}

static const struct test_def tcx_tests[] = {
	T(test_pin_names),
	T(test_spare_shares_maps),
	T(test_move_never_absent),
	T(test_move_from_spare),
	T(test_no_spare_no_move),
	T(test_attach_over_dead_pin),
	T_END,
};

static int skip_all(const char *why)
{
	printf("skip: %s\n", why);
	printf("RESULT: passed=0 failed=0 skipped=6\n");
	return 0;
}

int main(void)
{
	static const struct suite_def suites[] = { { "tcx", tcx_tests } };
	unsigned int run, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		return skip_all("test_tcx_move needs root (netns, veth, BPF)");
	/* Never touch the root netns: everything happens in our own. */
	if (enter_private_netns())
		return skip_all("unshare(CLONE_NEWNET) failed");
	if (!tcx_supported())
		return skip_all("no TCX in this kernel (6.6+)");
	log_set_level(getenv("V") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	log_route_libbpf();
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/ar%d-tcxmove",
		 (int)getpid());
	atexit(remove_pins);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (setup())
		return cunit_result(0, 1);
	failed = cunit_run(suites, 1, &run);
	return cunit_result(run, failed);
}
