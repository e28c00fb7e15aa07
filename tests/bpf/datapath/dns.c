// SPDX-License-Identifier: GPL-2.0
/*
 * DNS (10): without DNS capture a pod's query passes (this suite's
 * ztunnel captures all UDP, so it is remembered) and the reply comes back
 * straight; something from port 53 that answers no query is captured as
 * inbound; with DNS capture the query lands on ztunnel's DNS socket.
 */
#include <unistd.h>
#include "addr.h"
#include "dp_fixture.h"

/* id's pod_value flags, both of its addresses of family f. */
static int set_pod_flags(enum ns_id id, enum fam f, __u16 flags)
{
	struct pod_value info;
	struct addr_key k;
	int err = addr_key_parse(eps[id].addr[f], &k);

	if (!err)
		err = dp_pod_get(&fx.dp, &k, &info);
	if (err)
		return err;
	info.flags = flags;
	return dp_pod_put(&fx.dp, &k, &info);
}

/* Without DNS capture: A's query goes to C directly, the reply comes back. */
static void dns_pass(enum fam f, int a)
{
	struct sockaddr_storage orig;
	struct counts c;

	case_begin(&c);
	if (udp_hop(a, f, eps[NS_C].addr[f], DNS_PORT, fx.c_dns[f],
		    eps[NS_A].addr[f], get_local_port(a), &orig) &&
	    udp_hop(fx.c_dns[f], f, eps[NS_A].addr[f], get_local_port(a), a,
		    eps[NS_C].addr[f], DNS_PORT, &orig)) {
		counts_end(&c);
		EXPECT_CNT_MIN(&c, CNT_OUT_PASS_DNS, 1);
		EXPECT_CNT_MIN(&c, CNT_IN_PASS_DNS_REPLY, 1);
		EXPECT_CNT_NONE(&c, CNT_OUT_DNS_TO_ZTUNNEL);
		EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
	}
	counts_end(&c);
	counts_report(&c);
}

/* From port 53 to a port of A that asked nothing: captured as inbound. */
static void dns_unsolicited(enum fam f, int a2)
{
	struct sockaddr_storage orig;
	struct counts c;

	case_begin(&c);
	if (udp_hop(fx.c_dns[f], f, eps[NS_A].addr[f], get_local_port(a2),
		    fx.zt_udp[ZTU_IN][f], eps[NS_C].addr[f], DNS_PORT, &orig) &&
	    EXPECT_SA(&orig, f, eps[NS_A].addr[f], get_local_port(a2),
		      "original destination")) {
		counts_end(&c);
		EXPECT_CNT_MIN(&c, CNT_IN_TO_ZTUNNEL, 1);
		EXPECT_CNT_NONE(&c, CNT_IN_PASS_DNS_REPLY);
		EXPECT_QUIET(a2, "A's socket that sent no query");
	}
	counts_end(&c);
	counts_report(&c);
}

/* With POD_F_DNS_CAPTURE: A's query lands on ztunnel's DNS socket. */
static void dns_capture(enum fam f, int a)
{
	struct sockaddr_storage orig;
	struct counts c;

	case_begin(&c);
	if (EXPECT_OK(set_pod_flags(NS_A, f, POD_F_DNS_CAPTURE),
		      "turn on DNS capture for A") &&
	    udp_hop(a, f, eps[NS_C].addr[f], DNS_PORT, fx.zt_udp[ZTU_DNS][f],
		    eps[NS_A].addr[f], get_local_port(a), &orig) &&
	    EXPECT_SA(&orig, f, eps[NS_C].addr[f], DNS_PORT,
		      "original destination")) {
		counts_end(&c);
		EXPECT_CNT_MIN(&c, CNT_OUT_DNS_TO_ZTUNNEL, 1);
		EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_DNS, 1);
		EXPECT_QUIET(fx.c_dns[f], "C's DNS server");
	}
	counts_end(&c);
	counts_report(&c);
	EXPECT_OK(set_pod_flags(NS_A, f, 0), "turn DNS capture off again");
}

static void dns(enum fam f)
{
	/*
	 * Bound first so their ports are known before they send; a2 never
	 * sends, so no reply may pass to it.
	 */
	int a = ns_bound_socket(NS_A, f, SOCK_DGRAM, NULL, 0, NULL);
	int a2 = ns_bound_socket(NS_A, f, SOCK_DGRAM, NULL, 0, NULL);

	if (EXPECT_OK(a < 0 ? a : 0, "A's socket, bound") &&
	    EXPECT_OK(a2 < 0 ? a2 : 0, "A's second socket, bound")) {
		dns_pass(f, a);
		dns_unsolicited(f, a2);
		dns_capture(f, a);
	}
	if (a >= 0)
		close(a);
	if (a2 >= 0)
		close(a2);
}

static void test_dns_v4(void)
{
	dns(V4);
}

static void test_dns_v6(void)
{
	dns(V6);
}

const struct test_def dp_dns_tests[] = {
	{ "10 DNS IPv4: pass + reply, unsolicited, capture", test_dns_v4 },
	{ "10 DNS IPv6: pass + reply, unsolicited, capture", test_dns_v6 },
	T_END,
};
