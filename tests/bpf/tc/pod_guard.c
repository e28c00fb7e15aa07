// SPDX-License-Identifier: GPL-2.0
/*
 * pod_guard (the pod's own interface, inside its netns, tc ingress): what
 * reached a meshed pod around app_inbound goes back out to ztunnel, and
 * app_outbound takes back what the guard returns. The cases it shares with
 * app_inbound are rows of mirror.c.
 */
#include <string.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include "tc_fixture.h"

/* The guard passes with TCX_NEXT in every mode: it is TCX-attached. */
static struct expect guard_pass(counter_set counters)
{
	return (struct expect){ .retval = (__u32)-1, .counters = counters };
}

static bool gd_run(const struct pkt *p, __u32 mark, struct expect e)
{
	return expect_run(DP_POD_GUARD, p, fx.if_pod_a, mark, &e);
}

/* Delivered by ztunnel_host_in: in, with our tag taken off. */
static void gd_from_ztunnel(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, REMOTE, 15008, POD_A, 8080))
		gd_run(&p, TAG_FROM_ZTUNNEL, guard_pass(C(GD_PASS_ZTUNNEL)));
}
PER_FAMILY_PROTO(gd_from_ztunnel)

/* TCP that came around app_inbound goes back out, tagged. */
static void gd_tcp_returned(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		gd_run(&p, 0,
		       redirect(TAG_RETURNED, NULL, C(GD_RETURN_TO_ZTUNNEL)));
}
PER_FAMILY(gd_tcp_returned)

static void gd_udp_not_captured(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_UDP, REMOTE, 40000, POD_A, 5353))
		gd_run(&p, 0, guard_pass(C(GD_PASS_NOT_CAPTURED)));
}
PER_FAMILY(gd_udp_not_captured)

/* A ztunnel that captures UDP gets it back as app_inbound would send it. */
static void gd_udp_captured_returned(int family)
{
	struct pkt p;

	if (set_ztunnel_as(true, ZT_F_CAPTURE_UDP, -1) &&
	    build_flow(&p, family, IPPROTO_UDP, REMOTE, 40000, POD_A, 5353))
		gd_run(&p, 0,
		       redirect(TAG_RETURNED, NULL, C(GD_RETURN_TO_ZTUNNEL)));
}
PER_FAMILY(gd_udp_captured_returned)

/* As app_inbound: an address the pod was not enrolled with, refused. */
static void gd_not_enrolled(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, REMOTE, 40000, NOT_POD, 8080))
		gd_run(&p, 0, drop(C(GD_DROP_NOT_ENROLLED)));
}
PER_FAMILY_PROTO(gd_not_enrolled)

static void gd_multicast(int family)
{
	static const __u8 mcast[2][6] = {
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0xfb },
	};
	struct pkt_spec sp =
		flow(family, IPPROTO_UDP, REMOTE, 5353, NOT_POD, 5353);
	struct pkt p;

	sp.daddr = family == AF_INET ? "224.0.0.251" : "ff02::fb";
	memcpy(sp.dmac, mcast[family == AF_INET6], 6);
	if (build(&p, &sp))
		gd_run(&p, 0, guard_pass(C(GD_PASS_NOT_CAPTURED)));
}
PER_FAMILY(gd_multicast)

static void gd_other_proto(int family)
{
	struct pkt p;

	if (build_flow(&p, family, icmp_of(family), REMOTE, 0, POD_A, 0))
		gd_run(&p, 0, guard_pass(C(GD_PASS_NOT_CAPTURED)));
}
PER_FAMILY(gd_other_proto)

static void gd_no_ztunnel(int family)
{
	struct pkt p;

	if (set_ztunnel(false) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		gd_run(&p, 0, drop(C(GD_DROP_NO_ZTUNNEL)));
}
PER_FAMILY(gd_no_ztunnel)

static void gd_no_ztunnel_fail_open(int family)
{
	struct pkt p;

	if (set_ztunnel(false) && set_fail_open(true) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		gd_run(&p, 0, guard_pass(C(GD_PASS_FAIL_OPEN)));
}
PER_FAMILY(gd_no_ztunnel_fail_open)

/* A later fragment whose first one the guard never saw: the default. */
static void gd_fragment_unknown(int family, __u8 proto)
{
	struct pkt p;

	if (!build_frag(&p, family, proto, REMOTE, POD_A, PKT_FRAG_LATER, 9))
		return;
	if (proto == IPPROTO_TCP)
		gd_run(&p, 0,
		       redirect(TAG_RETURNED, NULL, C(GD_RETURN_TO_ZTUNNEL)));
	else
		gd_run(&p, 0, guard_pass(C(GD_PASS_NOT_CAPTURED)));
}
PER_FAMILY_PROTO(gd_fragment_unknown)

/* Returned by the guard behind this veth: captured inbound. */
static void out_returned_captured(int family)
{
	struct pkt p;
	struct expect e =
		redirect(TAG_INBOUND, MAC_ZT, C(OUT_RETURNED_TO_ZTUNNEL));

	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		expect_run(DP_APP_OUTBOUND, &p, fx.if_pod_a, TAG_RETURNED, &e);
}
PER_FAMILY(out_returned_captured)

/* The tag on a packet for another pod than the one behind the veth. */
static void out_returned_other_pod(int family)
{
	struct pkt p;
	struct expect e = drop(C(OUT_DROP_RETURNED));

	e.mark = TAG_RETURNED; /* dropped as it came */
	if (build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_B, 8080))
		expect_run(DP_APP_OUTBOUND, &p, fx.if_pod_a, TAG_RETURNED, &e);
}
PER_FAMILY(out_returned_other_pod)

const struct test_def tc_pod_guard_tests[] = {
	T_FAMILY_PROTO(gd_from_ztunnel),
	T_FAMILY(gd_tcp_returned),
	T_FAMILY(gd_udp_not_captured),
	T_FAMILY(gd_udp_captured_returned),
	T_FAMILY_PROTO(gd_not_enrolled),
	T_FAMILY(gd_multicast),
	T_FAMILY(gd_other_proto),
	T_FAMILY(gd_no_ztunnel),
	T_FAMILY(gd_no_ztunnel_fail_open),
	T_FAMILY_PROTO(gd_fragment_unknown),
	T_FAMILY(out_returned_captured),
	T_FAMILY(out_returned_other_pod),
	T_END,
};
