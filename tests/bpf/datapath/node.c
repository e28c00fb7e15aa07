// SPDX-License-Identifier: GPL-2.0
/*
 * Node addresses: a meshed pod's connection to one (a Service address on
 * kube-ipvs0, a hostPort) is captured like any other (7); a node socket's
 * connection into a pod (a kubelet probe) passes, and so do the pod's
 * replies to it (7b).
 */
#include "addr.h"
#include "dp_fixture.h"

/* The gateway address of id's veth (in the node netns) into node_addrs. */
static int add_node_addr_of(enum ns_id id, enum fam f)
{
	struct addr_key k;
	int err = addr_key_parse(eps[id].gw[f], &k);

	return err ? err : dp_node_addr_add(&fx.dp, &k);
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
		       fx.zt_tcp[ZT_OUT][f]))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_OUT_TO_ZTUNNEL, 3);
	EXPECT_CNT_NONE(&c, CNT_OUT_PASS_NODE_REPLY);
	EXPECT_QUIET(fx.node_listen[f], "the node's server");
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
	fl.client = ns_bound_socket(NS_NODE, f, SOCK_STREAM, eps[NS_B].gw[f], 0,
				    NULL);
	if (!EXPECT_OK(fl.client < 0 ? fl.client : 0,
		       "node socket bound to B's gateway") ||
	    !flow_run(&fl, f, eps[NS_B].addr[f], PORT_APP, fx.b_listen[f],
		      eps[NS_B].gw[f]))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_IN_PASS_NODE_LOCAL, 3);
	EXPECT_CNT_MIN(&c, CNT_OUT_PASS_NODE_REPLY, 3);
	EXPECT_CNT_NONE(&c, CNT_OUT_TO_ZTUNNEL);
	EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
	EXPECT_QUIET(fx.zt_tcp[ZT_OUT][f], "ztunnel's outbound listener");
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

const struct test_def dp_node_addr_tests[] = {
	{ "7 node address IPv4 captured", test_node_addr_v4 },
	{ "7 node address IPv6 captured", test_node_addr_v6 },
	{ "7b node probe IPv4 and its replies pass", test_node_probe_v4 },
	{ "7b node probe IPv6 and its replies pass", test_node_probe_v6 },
	T_END,
};
