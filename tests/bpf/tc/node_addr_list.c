// SPDX-License-Identifier: GPL-2.0
/*
 * node_addr_list, the short list of node addresses the programs read
 * before the node_addrs hash: how redirectd builds it (slots stay where
 * they were, so a torn read still finds a staying address; too many
 * addresses make it incomplete) and how app_outbound believes it.
 */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "tc_fixture.h"

/* A probe's reply through app_outbound on pod A's veth. */
static bool out_run(const struct pkt *p, struct expect e)
{
	return expect_run(DP_APP_OUTBOUND, p, fx.if_pod_a, 0, &e);
}

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
	pkt_set_tcp_flags(&p, TCP_SYN_ACK);
	CU_ASSERT_FATAL(!dp_node_addr_list_set(&fx.dp, many, 1));
	out_run(&p, redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
	CU_ASSERT_FATAL(!dp_node_addr_list_set(&fx.dp, many, ARRAY_LEN(many)));
	out_run(&p, pass(C(OUT_PASS_NODE_REPLY)));
	CU_ASSERT(!set_node_list(many, 5));
	out_run(&p, pass(C(OUT_PASS_NODE_REPLY)));
	CU_ASSERT(!set_node_list(NULL, 0));
}
PER_FAMILY(node_list_decides)

const struct test_def tc_node_addr_list_tests[] = {
	T(node_list_slots_stay),
	T(node_list_overflow),
	T_FAMILY(node_list_decides),
	T_END,
};
