// SPDX-License-Identifier: GPL-2.0
/*
 * app_outbound (a pod's host veth, tc ingress): what leaves a meshed pod,
 * one test per decision. The cases it shares with app_inbound and
 * pod_guard, packets that only change direction, are rows of mirror.c.
 */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "net_helpers.h"
#include "redirect.skel.h"
#include "tc_fixture.h"

static bool out_run(const struct pkt *p, int ifindex, struct expect e)
{
	return expect_run(DP_APP_OUTBOUND, p, ifindex, 0, &e);
}

/* A node server's transparent listener at NODE:10250, for this test. */
static int node_listener(int family)
{
	const struct sock_opts transparent = { .transparent = true };

	return track_fd(start_server(family, SOCK_STREAM, addr_of(family, NODE),
				     10250, &transparent));
}

static bool dns_flow_known(int family, enum host pod, __u16 pod_port,
			   enum host server, __u8 proto)
{
	struct dns_flow_key k = {
		.pod = key_of(family, pod),
		.server = key_of(family, server),
		.pod_port = htons(pod_port),
		.proto = proto,
	};
	__u8 v;

	return !bpf_map__lookup_elem(fx.dp.skel->maps.dns_flows, &k, sizeof(k),
				     &v, sizeof(v), 0);
}

static unsigned int frags_held(void)
{
	struct frag_key k, next;
	unsigned int n = 0;
	int fd = bpf_map__fd(fx.dp.skel->maps.frags);

	for (int err = bpf_map_get_next_key(fd, NULL, &next); !err;
	     err = bpf_map_get_next_key(fd, &k, &next)) {
		k = next;
		n++;
	}
	return n;
}

/* Default verdicts are never written: a flood of them takes no room. */
static void out_frag_default_not_kept(int family)
{
	struct pkt p;

	if (build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_FIRST,
		       12) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_UDP))) &&
	    build_frag(&p, family, IPPROTO_TCP, POD_A, REMOTE, PKT_FRAG_FIRST,
		       13) &&
	    out_run(&p, fx.if_pod_a,
		    redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL))))
		CHECK(frags_held() == 0, "%u default verdicts kept",
		      frags_held());
}
PER_FAMILY(out_frag_default_not_kept)

/*
 * Pod B's DNS (DNS capture on) is captured, unlike UDP's default, so its
 * verdict is kept for the later fragments. Once it is gone (evicted by a
 * flood of other kept verdicts) the rest of the datagram takes the
 * default way: that one datagram is lost, nothing escapes.
 */
static void out_frag_kept_and_flooded(int family)
{
	struct frag_key k;
	struct pkt first, later;
	int fd = bpf_map__fd(fx.dp.skel->maps.frags);

	if (!build_frag_to(&first, family, IPPROTO_UDP, POD_B, DNS_SERVER, 53,
			   PKT_FRAG_FIRST, 14) ||
	    !build_frag_to(&later, family, IPPROTO_UDP, POD_B, DNS_SERVER, 53,
			   PKT_FRAG_LATER, 14))
		return;
	if (!out_run(&first, fx.if_pod_b,
		     redirect(TAG_DNS, MAC_ZT, C(OUT_DNS_TO_ZTUNNEL))) ||
	    !CHECK(frags_held() == 1, "DNS verdict not kept") ||
	    !out_run(&later, fx.if_pod_b,
		     redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL))) ||
	    !CHECK(!bpf_map_get_next_key(fd, NULL, &k), "no key"))
		return;
	/* As an eviction would. */
	bpf_map_delete_elem(fd, &k);
	out_run(&later, fx.if_pod_b, pass(C(OUT_PASS_FRAG)));
}
PER_FAMILY(out_frag_kept_and_flooded)

/* A node server's listener: the pod's connection to it is captured. */
static void out_node_listener_captured(int family)
{
	struct pkt p;
	int fd;

	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, NODE, 10250))
		return;
	fd = node_listener(family);
	if (CHECK(fd >= 0, "listen at %s: %s", addr_of(family, NODE),
		  strerror(-fd)))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_node_listener_captured)

/* The pod's answer to a connection a node socket opened: straight. */
static void out_node_reply(int family, __u8 proto)
{
	struct pkt p;

	if (proto == IPPROTO_UDP && !set_capture_udp())
		return;
	if (!build_flow(&p, family, proto, POD_A, 40000, NODE, 10250))
		return;
	if (proto == IPPROTO_TCP)
		pkt_set_tcp_flags(&p, TCP_SYN_ACK);
	if (node_opened_to_pod_a(family, proto == IPPROTO_TCP ? SOCK_STREAM :
								SOCK_DGRAM))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_NODE_REPLY)));
}
PER_FAMILY_PROTO(out_node_reply)

/* A segment opening a connection is never a reply, whatever the node holds. */
static void out_node_syn_is_new(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, NODE, 10250) &&
	    node_opened_to_pod_a(family, SOCK_STREAM))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_node_syn_is_new)

/*
 * The node's socket for the flow sits on a port a node server listens on:
 * it was accepted (ztunnel's connection to that server, say, which the pod
 * could reuse from its TIME_WAIT), not opened by the node: captured.
 */
static void out_node_accepted_not_reply(int family)
{
	struct pkt p;
	int fd;

	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, NODE, 10250) ||
	    !node_opened_to_pod_a(family, SOCK_STREAM))
		return;
	pkt_set_tcp_flags(&p, TCP_ACK);
	if (!out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_NODE_REPLY))))
		return;
	fd = node_listener(family);
	if (CHECK(fd >= 0, "listen at %s: %s", addr_of(family, NODE),
		  strerror(-fd)))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_node_accepted_not_reply)

/*
 * The same flow when ztunnel's netns holds it (here the test's netns
 * plays both): ztunnel connected with the pod's address to a node
 * server, so the flow is ztunnel's, captured.
 */
static void out_node_addr_ztunnel_flow(int family)
{
	struct pkt p;

	if (CHECK(fx.self_nsid >= 0, "no netns id") &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, NODE, 10250) &&
	    set_ztunnel_as(true, 0, fx.self_nsid) &&
	    node_opened_to_pod_a(family, SOCK_STREAM))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_node_addr_ztunnel_flow)

/*
 * Without DNS capture a UDP query passes like all UDP, and nothing is
 * remembered: replies pass back in as UDP does.
 */
static void out_dns_udp_pass(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_UDP, POD_A, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_UDP))))
		CHECK(!dns_flow_known(family, POD_A, 40053, DNS_SERVER,
				      IPPROTO_UDP),
		      "DNS flow remembered");
}
PER_FAMILY(out_dns_udp_pass)

/* TCP to port 53 is TCP like any other: no escape hatch. */
static void out_dns_tcp_captured(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, POD_A, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_a,
		    redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL))))
		CHECK(!dns_flow_known(family, POD_A, 40053, DNS_SERVER,
				      IPPROTO_TCP),
		      "TCP DNS flow remembered");
}
PER_FAMILY(out_dns_tcp_captured)

/*
 * Under all-UDP capture, DNS without DNS capture still passes, and its
 * flow is remembered so the replies are not captured on the way back.
 */
static void out_dns_pass_capture_udp(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, IPPROTO_UDP, POD_A, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_DNS))))
		CHECK(dns_flow_known(family, POD_A, 40053, DNS_SERVER,
				     IPPROTO_UDP),
		      "DNS flow not remembered");
}
PER_FAMILY(out_dns_pass_capture_udp)

/* With DNS capture (pod B) the query goes to ztunnel, nothing remembered. */
static void out_dns_capture(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, POD_B, 40053, DNS_SERVER, 53) &&
	    out_run(&p, fx.if_pod_b,
		    redirect(TAG_DNS, MAC_ZT, C(OUT_DNS_TO_ZTUNNEL))))
		CHECK(!dns_flow_known(family, POD_B, 40053, DNS_SERVER, proto),
		      "captured DNS flow remembered");
}
PER_FAMILY_PROTO(out_dns_capture)

static void out_dns_capture_no_ztunnel(void)
{
	struct pkt p;

	if (set_ztunnel(false) &&
	    build_flow(&p, AF_INET, IPPROTO_UDP, POD_B, 40053, DNS_SERVER, 53))
		out_run(&p, fx.if_pod_b, drop(C(OUT_DROP_NO_ZTUNNEL)));
}

const struct test_def tc_app_outbound_tests[] = {
	T_FAMILY(out_frag_default_not_kept),
	T_FAMILY(out_frag_kept_and_flooded),
	T_FAMILY(out_node_listener_captured),
	T_FAMILY_PROTO(out_node_reply),
	T_FAMILY(out_node_syn_is_new),
	T_FAMILY(out_node_accepted_not_reply),
	T_FAMILY(out_node_addr_ztunnel_flow),
	T_FAMILY(out_dns_udp_pass),
	T_FAMILY(out_dns_tcp_captured),
	T_FAMILY(out_dns_pass_capture_udp),
	T_FAMILY_PROTO(out_dns_capture),
	T(out_dns_capture_no_ztunnel),
	T_END,
};
