// SPDX-License-Identifier: GPL-2.0
/*
 * Another owner's tc filter after ours (9): what we capture ends at our
 * filter, what we pass reaches it.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "dp_fixture.h"
#include "link.h"
#include "netns.h"
#include "nl.h"
#include "tc.h"
#include "ztunnel_routing.h"

#define FOREIGN_PRIO 2 /* after ours (1) */

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
	int saved, err = enter_ns(NS_NODE, &saved);

	if (err)
		return err;
	err = bpf_tc_attach(hook, opts);
	netns_leave(saved);
	return err;
}

/* tc filter del dev va ingress prio 2 handle 2 bpf */
static void foreign_detach(struct bpf_tc_hook *hook, struct bpf_tc_opts *opts)
{
	int saved;

	if (enter_ns(NS_NODE, &saved))
		return;
	opts->prog_fd = 0;
	opts->prog_id = 0;
	opts->flags = 0;
	if (bpf_tc_detach(hook, opts))
		fprintf(stderr, "detaching the foreign filter failed\n");
	netns_leave(saved);
}

/* A -> C:53, DNS capture off: a datagram that passes uncaptured. */
static bool udp_to_c_dns(enum fam f)
{
	char in[8];
	int a = ns_socket(NS_A, f, SOCK_DGRAM, NULL);
	bool ok;

	if (!EXPECT_OK(a < 0 ? a : 0, "A's UDP socket"))
		return false;
	ok = EXPECT_OK(sent_whole(send_to_addr(a, af_of(f), eps[NS_C].addr[f],
					       DNS_PORT, "query", 5),
				  5),
		       "sendto C:53") &&
	     EXPECT_OK(wait_fd(fx.c_dns[f], POLLIN, IO_TIMEOUT_MS),
		       "datagram at C's server") &&
	     EXPECT(recv(fx.c_dns[f], in, sizeof(in), 0) == 5);
	close(a);
	return ok;
}

/* Captured traffic ends at our filter; passed traffic reaches the next. */
static void chaining_flows(int map_fd)
{
	struct flow fl = { -1, -1 };
	struct counts c;
	__u64 before;

	case_begin(&c);
	before = foreign_count(map_fd);
	if (flow_from(&fl, NS_A, V4, eps[NS_B].addr[V4], PORT_APP,
		      fx.zt_tcp[ZT_OUT][V4])) {
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
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = fx.host_ifindex[NS_A],
			    .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FOREIGN_PRIO,
			    .priority = FOREIGN_PRIO);
	int map_fd, prog_fd = -1;

	map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "foreign_cnt",
				sizeof(__u32), sizeof(__u64), 1, NULL);
	if (map_fd >= 0)
		prog_fd = foreign_counter_load(map_fd);
	if (map_fd < 0 || prog_fd < 0) {
		snprintf(fx.skip_reason, sizeof(fx.skip_reason),
			 "cannot load the foreign filter: %s", strerror(errno));
		skip(fx.skip_reason);
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

const struct test_def dp_chaining_tests[] = {
	{ "9 foreign filter after ours", test_chaining },
	T_END,
};
