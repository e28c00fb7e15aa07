// SPDX-License-Identifier: GPL-2.0
/*
 * app_inbound (a pod's host veth, tc egress): what enters a meshed pod,
 * one test per decision. The cases it shares with app_outbound and
 * pod_guard, packets that only change direction, are rows of mirror.c.
 */
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include "tc_fixture.h"

static bool in_run(const struct pkt *p, int ifindex, struct expect e)
{
	return expect_run(DP_APP_INBOUND, p, ifindex, 0, &e);
}

/* The query whose reply app_inbound is asked about, through app_outbound. */
static bool out_run(const struct pkt *p, int ifindex, struct expect e)
{
	return expect_run(DP_APP_OUTBOUND, p, ifindex, 0, &e);
}

static struct expect in_captured(void)
{
	return redirect(TAG_INBOUND, MAC_ZT, C(IN_TO_ZTUNNEL));
}

/*
 * Under all-UDP capture, a reply to a query that passed uncaptured passes
 * back in.
 */
static void in_dns_reply_known(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, IPPROTO_UDP, POD_A, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_DNS))) &&
	    build_flow(&p, family, IPPROTO_UDP, DNS_SERVER, 53, POD_A, 40053))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_DNS_REPLY)));
}
PER_FAMILY(in_dns_reply_known)

/* "From port 53" alone is no reason to let a packet past ztunnel. */
static void in_dns_reply_unknown(int family, __u8 proto)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, proto, DNS_SERVER, 53, POD_A, 40053))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY_PROTO(in_dns_reply_unknown)

/* A remembered flow covers only its own pod port and protocol. */
static void in_dns_reply_other_flow(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, IPPROTO_UDP, POD_A, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_DNS))) &&
	    build_flow(&p, family, IPPROTO_UDP, DNS_SERVER, 53, POD_A, 40054) &&
	    in_run(&p, fx.if_pod_a, in_captured()) &&
	    build_flow(&p, family, IPPROTO_TCP, DNS_SERVER, 53, POD_A, 40053))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY(in_dns_reply_other_flow)

const struct test_def tc_app_inbound_tests[] = {
	T_FAMILY(in_dns_reply_known),
	T_FAMILY_PROTO(in_dns_reply_unknown),
	T_FAMILY(in_dns_reply_other_flow),
	T_END,
};
