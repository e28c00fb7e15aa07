// SPDX-License-Identifier: GPL-2.0
/*
 * app_inbound (a pod's host veth, tc egress): what enters a meshed pod,
 * one test per decision. The cases it shares with app_outbound and
 * pod_guard, packets that only change direction, are rows of mirror.c.
 */
#include <string.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
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

static void in_non_ip(void)
{
	struct pkt p;

	if (CHECK(!pkt_build_arp(&p, "10.0.0.1", "10.0.0.2"), "build arp"))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_NON_IP)));
}

static void in_other_proto(int family)
{
	struct pkt p;

	if (build_flow(&p, family, icmp_of(family), REMOTE, 0, POD_A, 0))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_OTHER_PROTO)));
}
PER_FAMILY(in_other_proto)

static void in_malformed(int family)
{
	struct pkt p;

	if (!build_flow(&p, family, IPPROTO_TCP, REMOTE, 80, POD_A, 40000))
		return;
	pkt_set_len(&p, p.l4 + 8);
	in_run(&p, fx.if_pod_a, drop(C(IN_DROP_MALFORMED)));
}
PER_FAMILY(in_malformed)

static void in_capture(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY(in_capture)

static void in_udp_pass(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_UDP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_UDP)));
}
PER_FAMILY(in_udp_pass)

static void in_udp_capture_all(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, IPPROTO_UDP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY(in_udp_capture_all)

static void in_vlan_tagged(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080) &&
	    CHECK(!pkt_push_vlan(&p, ETH_P_8021Q, 42), "no room for a tag"))
		in_run(&p, fx.if_pod_a, drop(C(IN_DROP_TAGGED)));
}
PER_FAMILY(in_vlan_tagged)

static void in_ipv6_ext_headers(void)
{
	struct pkt p;
	struct pkt_spec s =
		flow(AF_INET6, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080);

	s.ext[0] = IPPROTO_HOPOPTS;
	s.ext[1] = IPPROTO_DSTOPTS;
	s.n_ext = 2;
	if (build(&p, &s))
		in_run(&p, fx.if_pod_a, in_captured());
}

/*
 * An address the pod was not enrolled with (a secondary address, SLAAC)
 * is refused, TCP and UDP, as its packets from one are: it would reach
 * the pod uncaptured.
 */
static void in_not_enrolled(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, REMOTE, 40000, NOT_POD, 8080))
		in_run(&p, fx.if_pod_a, drop(C(IN_DROP_NOT_ENROLLED)));
}
PER_FAMILY_PROTO(in_not_enrolled)

/* Pod A's address on pod B's veth (a bridge's flood): not B's, refused. */
static void in_other_pods_veth(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_b, drop(C(IN_DROP_NOT_ENROLLED)));
}
PER_FAMILY(in_other_pods_veth)

/* Broadcast and multicast frames are addressed to no one pod: they pass. */
static void in_multicast(int family)
{
	static const __u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const __u8 mcast[2][6] = {
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0xfb },
	};
	struct pkt_spec sp =
		flow(family, IPPROTO_UDP, REMOTE, 5353, NOT_POD, 5353);
	struct pkt p;

	sp.daddr = family == AF_INET ? "224.0.0.251" : "ff02::fb";
	memcpy(sp.dmac, mcast[family == AF_INET6], 6);
	if (!build(&p, &sp) ||
	    !in_run(&p, fx.if_pod_a, pass(C(IN_PASS_MULTICAST))))
		return;
	/* a unicast address is one pod's, whatever the frame's MAC says */
	sp.daddr = family == AF_INET ? "10.0.0.9" : "fd00::9";
	memcpy(sp.dmac, bcast, 6);
	if (build(&p, &sp))
		in_run(&p, fx.if_pod_a, drop(C(IN_DROP_NOT_ENROLLED)));
	if (family == AF_INET) {
		sp.daddr = "255.255.255.255";
		if (build(&p, &sp))
			in_run(&p, fx.if_pod_a, pass(C(IN_PASS_MULTICAST)));
	}
}
PER_FAMILY(in_multicast)

/*
 * A node source address alone is no exemption: only packets of a node
 * socket pass (test_run's stand-in socket is none; real node sockets are
 * in the e2e tests). A masqueraded NodePort hop looks like this.
 */
static void in_node_source_captured(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, NODE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY(in_node_source_captured)

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

static void in_frag_capture(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_frag(&p, family, IPPROTO_UDP, REMOTE, POD_A, PKT_FRAG_FIRST,
		       21) &&
	    in_run(&p, fx.if_pod_a, in_captured()) &&
	    build_frag(&p, family, IPPROTO_UDP, REMOTE, POD_A, PKT_FRAG_LATER,
		       21))
		in_run(&p, fx.if_pod_a, in_captured());
}
PER_FAMILY(in_frag_capture)

static void in_frag_pass(int family)
{
	struct pkt p;

	if (build_frag(&p, family, IPPROTO_UDP, REMOTE, POD_A, PKT_FRAG_FIRST,
		       22) &&
	    in_run(&p, fx.if_pod_a, pass(C(IN_PASS_UDP))) &&
	    build_frag(&p, family, IPPROTO_UDP, REMOTE, POD_A, PKT_FRAG_LATER,
		       22))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_FRAG)));
}
PER_FAMILY(in_frag_pass)

/* As outbound: a later fragment with no kept verdict takes the default. */
static void in_frag_unknown(int family, __u8 proto)
{
	struct pkt p;

	if (!build_frag(&p, family, proto, REMOTE, POD_A, PKT_FRAG_LATER, 23))
		return;
	if (proto == IPPROTO_TCP)
		in_run(&p, fx.if_pod_a, in_captured());
	else
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_FRAG)));
}
PER_FAMILY_PROTO(in_frag_unknown)

static void in_no_ztunnel_fail_closed(int family)
{
	struct pkt p;

	if (set_ztunnel(false) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, drop(C(IN_DROP_NO_ZTUNNEL)));
}
PER_FAMILY(in_no_ztunnel_fail_closed)

static void in_no_ztunnel_fail_open(int family)
{
	struct pkt p;

	if (set_ztunnel(false) && set_fail_open(true) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		in_run(&p, fx.if_pod_a, pass(C(IN_PASS_FAIL_OPEN)));
}
PER_FAMILY(in_no_ztunnel_fail_open)

const struct test_def tc_app_inbound_tests[] = {
	T(in_non_ip),
	T_FAMILY(in_other_proto),
	T_FAMILY(in_malformed),
	T_FAMILY(in_capture),
	T_FAMILY(in_udp_pass),
	T_FAMILY(in_udp_capture_all),
	T_FAMILY(in_vlan_tagged),
	T(in_ipv6_ext_headers),
	T_FAMILY_PROTO(in_not_enrolled),
	T_FAMILY(in_other_pods_veth),
	T_FAMILY(in_multicast),
	T_FAMILY(in_node_source_captured),
	T_FAMILY(in_dns_reply_known),
	T_FAMILY_PROTO(in_dns_reply_unknown),
	T_FAMILY(in_dns_reply_other_flow),
	T_FAMILY(in_frag_capture),
	T_FAMILY(in_frag_pass),
	T_FAMILY_PROTO(in_frag_unknown),
	T_FAMILY(in_no_ztunnel_fail_closed),
	T_FAMILY(in_no_ztunnel_fail_open),
	T_END,
};
