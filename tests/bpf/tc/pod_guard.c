// SPDX-License-Identifier: GPL-2.0
/*
 * pod_guard (the pod's own interface, inside its netns, tc ingress): what
 * reached a meshed pod around app_inbound goes back out to ztunnel, and
 * app_outbound takes back what the guard returns. The cases it shares with
 * app_inbound are rows of mirror.c.
 */
#include <netinet/in.h>
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
	T_FAMILY(out_returned_captured),
	T_FAMILY(out_returned_other_pod),
	T_END,
};
