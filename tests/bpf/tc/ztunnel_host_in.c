// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel_host_in (ztunnel's host veth, tc ingress): what app_inbound sent
 * goes on into ztunnel, ztunnel's own packets to a meshed pod go straight
 * into it, the rest passes on.
 */
#include <string.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include "tc_fixture.h"

static bool zh_run(const struct pkt *p, __u32 mark, struct expect e)
{
	return expect_run(DP_ZTUNNEL_HOST_IN, p, fx.if_zt_host, mark, &e);
}

/* Sent here by app_inbound: on into ztunnel, frame and tag untouched. */
static void zh_inbound_tagged(int family)
{
	struct pkt p;
	struct pkt_spec s =
		flow(family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080);

	memcpy(s.dmac, MAC_ZT, 6);
	if (build(&p, &s))
		zh_run(&p, TAG_INBOUND,
		       redirect(TAG_INBOUND, NULL, C(ZH_INBOUND_TO_ZTUNNEL)));
}
PER_FAMILY(zh_inbound_tagged)

static void zh_inbound_tagged_no_ztunnel(int family)
{
	struct pkt p;
	struct expect e = drop(C(ZH_DROP_NO_ZTUNNEL));

	e.mark = TAG_INBOUND;
	if (set_ztunnel(false) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		zh_run(&p, TAG_INBOUND, e);
}
PER_FAMILY(zh_inbound_tagged_no_ztunnel)

/* ztunnel's own packet to a meshed pod goes straight into the pod. */
static void zh_to_pod(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, REMOTE, 15008, POD_A, 8080))
		zh_run(&p, 0,
		       redirect(TAG_FROM_ZTUNNEL, MAC_POD_A, C(ZH_TO_POD)));
}
PER_FAMILY_PROTO(zh_to_pod)

/* Any IP protocol, not only TCP and UDP. */
static void zh_icmp_to_pod(int family)
{
	struct pkt p;

	if (build_flow(&p, family, icmp_of(family), REMOTE, 0, POD_B, 0))
		zh_run(&p, 0,
		       redirect(TAG_FROM_ZTUNNEL, MAC_POD_B, C(ZH_TO_POD)));
}
PER_FAMILY(zh_icmp_to_pod)

/* ztunnel's sockets mark their packets: the pod gets the guard's tag. */
static void zh_socket_mark_to_pod(void)
{
	struct pkt p;

	if (build_flow(&p, AF_INET, IPPROTO_TCP, REMOTE, 15008, POD_A, 8080))
		zh_run(&p, ZT_SOCKET_MARK,
		       redirect(TAG_FROM_ZTUNNEL, MAC_POD_A, C(ZH_TO_POD)));
}

static void zh_not_pod(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		zh_run(&p, 0, pass(C(ZH_PASS_NOT_POD)));
}
PER_FAMILY(zh_not_pod)

static void zh_non_ip(void)
{
	struct pkt p;

	if (CHECK(!pkt_build_arp(&p, "10.0.0.1", "10.0.0.2"), "build arp"))
		zh_run(&p, 0, pass(C(ZH_PASS_NON_IP)));
}

/* Not this program's to judge: passed on to the stack. */
static void zh_malformed(int family)
{
	struct pkt p;

	if (!build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		return;
	pkt_set_len(&p, p.l4 + 8);
	zh_run(&p, 0, pass(C(ZH_PASS_MALFORMED)));
}
PER_FAMILY(zh_malformed)

const struct test_def tc_ztunnel_host_in_tests[] = {
	T_FAMILY(zh_inbound_tagged),
	T_FAMILY(zh_inbound_tagged_no_ztunnel),
	T_FAMILY_PROTO(zh_to_pod),
	T_FAMILY(zh_icmp_to_pod),
	T(zh_socket_mark_to_pod),
	T_FAMILY(zh_not_pod),
	T(zh_non_ip),
	T_FAMILY(zh_malformed),
	T_END,
};
