// SPDX-License-Identifier: GPL-2.0
/*
 * TCP through the node: a meshed pod's connection out goes to ztunnel's
 * outbound listener (1, 2), one into a meshed pod to the inbound or HBONE
 * listener (3, 4), and ztunnel's own connection as a pod goes straight
 * into the destination pod, its replies back to ztunnel (5).
 */
#include <netinet/in.h>
#include "dp_fixture.h"

/* (1)(2) A -> B:8080 is captured to ztunnel's outbound listener. */
static void outbound_tcp(enum fam f)
{
	struct flow fl = { .client = -1, .server = -1 };
	struct counts c;

	case_begin(&c);
	if (!flow_from(&fl, NS_A, f, eps[NS_B].addr[f], PORT_APP,
		       fx.zt_tcp[ZT_OUT][f]))
		goto out;
	counts_end(&c);
	/* SYN to the listener, then the rest to the accepted socket */
	EXPECT_CNT_MIN(&c, CNT_OUT_TO_ZTUNNEL, 3);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_OUTBOUND, 1);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_ESTABLISHED, 2);
	/* replies went straight into A, never through A's veth egress */
	EXPECT_CNT_MIN(&c, CNT_ZH_TO_POD, 2);
	EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
	EXPECT_CNT_NONE(&c, CNT_ZI_DROP_NO_LISTENER);
	EXPECT_CNT_NONE(&c, CNT_ZI_DROP_ASSIGN_FAILED);
	EXPECT_CNT_NONE(&c, CNT_OUT_DROP_SPOOFED);
	EXPECT_QUIET(fx.b_listen[f], "B's real server");
out:
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);
}

static void test_outbound_tcp_v4(void)
{
	outbound_tcp(V4);
}

static void test_outbound_tcp_v6(void)
{
	outbound_tcp(V6);
}

/* (3)(4) non-meshed C -> B:port is captured on B's side to `lsock`. */
static void inbound_tcp(enum fam f, int port, enum zt_tcp lsock,
			enum redirect_counter assigned)
{
	struct flow fl = { .client = -1, .server = -1 };
	struct counts c;

	case_begin(&c);
	if (!flow_from(&fl, NS_C, f, eps[NS_B].addr[f], port,
		       fx.zt_tcp[lsock][f]))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_IN_TO_ZTUNNEL, 3);
	EXPECT_CNT_MIN(&c, CNT_ZH_INBOUND_TO_ZTUNNEL, 3);
	EXPECT_CNT_MIN(&c, assigned, 1);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_ESTABLISHED, 2);
	/* ztunnel's replies to C (not meshed) take the normal route */
	EXPECT_CNT_MIN(&c, CNT_ZH_PASS_NOT_POD, 2);
	EXPECT_CNT_NONE(&c, CNT_OUT_TO_ZTUNNEL);
	EXPECT_CNT_NONE(&c, CNT_ZI_DROP_NO_LISTENER);
	EXPECT_QUIET(fx.b_listen[f], "B's real server");
out:
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);
}

static void test_inbound_tcp_v4(void)
{
	inbound_tcp(V4, PORT_APP, ZT_IN, CNT_ZI_ASSIGN_INBOUND);
}

static void test_inbound_tcp_v6(void)
{
	inbound_tcp(V6, PORT_APP, ZT_IN, CNT_ZI_ASSIGN_INBOUND);
}

static void test_inbound_hbone_v4(void)
{
	inbound_tcp(V4, ZT_PORT_HBONE, ZT_HBONE, CNT_ZI_ASSIGN_HBONE);
}

static void test_inbound_hbone_v6(void)
{
	inbound_tcp(V6, ZT_PORT_HBONE, ZT_HBONE, CNT_ZI_ASSIGN_HBONE);
}

/*
 * (5) ztunnel connects to B as A (transparent socket bound to A's address):
 * B's real server gets it with peer A, and nothing is captured on the way
 * in; B's replies are captured back to ztunnel's connecting socket.
 */
static void ztunnel_to_pod(enum fam f)
{
	const struct sock_opts zt_opts = { .transparent = true,
					   .mark = ZT_SOCKET_MARK };
	struct flow fl = { .client = -1, .server = -1 };
	struct counts c;

	case_begin(&c);
	fl.client = ns_bound_socket(NS_ZT, f, SOCK_STREAM, eps[NS_A].addr[f], 0,
				    &zt_opts);
	if (!EXPECT_OK(fl.client < 0 ? fl.client : 0,
		       "ztunnel socket, transparent, bound to A's address"))
		goto out;
	if (!flow_run(&fl, f, eps[NS_B].addr[f], PORT_APP, fx.b_listen[f],
		      eps[NS_A].addr[f]))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_ZH_TO_POD, 3);
	EXPECT_CNT_MIN(&c, CNT_OUT_TO_ZTUNNEL, 2);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_ESTABLISHED, 2);
	EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
	EXPECT_CNT_NONE(&c, CNT_ZI_ASSIGN_INBOUND);
	EXPECT_CNT_NONE(&c, CNT_ZI_ASSIGN_OUTBOUND);
	EXPECT_QUIET(fx.zt_tcp[ZT_IN][f], "ztunnel's inbound listener");
	EXPECT_QUIET(fx.b_listen[f], "B's server (a second connection)");
out:
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);
}

static void test_ztunnel_to_pod_v4(void)
{
	ztunnel_to_pod(V4);
}

static void test_ztunnel_to_pod_v6(void)
{
	ztunnel_to_pod(V6);
}

const struct test_def dp_tcp_tests[] = {
	{ "1 outbound TCP IPv4 A->B:8080 to ztunnel 15001",
	  test_outbound_tcp_v4 },
	{ "2 outbound TCP IPv6 A->B:8080 to ztunnel 15001",
	  test_outbound_tcp_v6 },
	{ "3 inbound TCP IPv4 C->B:8080 to ztunnel 15006",
	  test_inbound_tcp_v4 },
	{ "3 inbound TCP IPv6 C->B:8080 to ztunnel 15006",
	  test_inbound_tcp_v6 },
	{ "4 inbound IPv4 C->B:15008 to ztunnel 15008", test_inbound_hbone_v4 },
	{ "4 inbound IPv6 C->B:15008 to ztunnel 15008", test_inbound_hbone_v6 },
	{ "5 ztunnel as A -> B's server, IPv4", test_ztunnel_to_pod_v4 },
	{ "5 ztunnel as A -> B's server, IPv6", test_ztunnel_to_pod_v6 },
	T_END,
};
