// SPDX-License-Identifier: GPL-2.0
/*
 * app_outbound (a pod's host veth, tc ingress): what leaves a meshed pod,
 * one test per decision. The cases it shares with app_inbound and
 * pod_guard, packets that only change direction, are rows of mirror.c.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <linux/if_ether.h>
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

static void out_non_ip(void)
{
	struct pkt p;

	if (CHECK(!pkt_build_arp(&p, "10.0.0.2", "10.0.0.1"), "build arp"))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_NON_IP)));
}

static void out_other_proto(int family)
{
	struct pkt p;

	if (build_flow(&p, family, icmp_of(family), POD_A, 0, REMOTE, 0))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_OTHER_PROTO)));
}
PER_FAMILY(out_other_proto)

/*
 * Other protocols pass from any source (neighbour discovery speaks from
 * link-local and unenrolled addresses; ICMP carries no connection).
 */
static void out_other_proto_any_source(int family)
{
	struct pkt p;

	if (build_flow(&p, family, icmp_of(family), NOT_POD, 0, REMOTE, 0))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_OTHER_PROTO)));
}
PER_FAMILY(out_other_proto_any_source)

/*
 * IP in IP, IPv6 in IP, GRE: whatever decapsulates them on the node would
 * route the inner packet around ztunnel.
 */
static void out_tunnel(int family)
{
	static const __u8 tunnels[] = { IPPROTO_IPIP, IPPROTO_IPV6,
					IPPROTO_GRE };
	struct pkt p;

	for (size_t i = 0; i < sizeof(tunnels); i++)
		if (!build_flow(&p, family, tunnels[i], POD_A, 0, REMOTE, 0) ||
		    !out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_TUNNEL))))
			return;
}
PER_FAMILY(out_tunnel)

/*
 * An IPv4-mapped address in an IPv6 header would be keyed as the IPv4
 * address in every map: malformed.
 */
static void out_v4_mapped(void)
{
	struct pkt_spec sp =
		flow(AF_INET6, IPPROTO_TCP, POD_A, 40000, REMOTE, 80);
	struct pkt p;

	sp.saddr = "::ffff:10.0.0.2";
	if (build(&p, &sp) &&
	    out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)))) {
		sp.saddr = addr_of(AF_INET6, POD_A);
		sp.daddr = "::ffff:10.1.0.5";
		if (build(&p, &sp))
			out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
	}
}

/* The common case: a pod's own flow leaves through ztunnel. */
static void out_capture(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_capture)

/* ztunnel serves no UDP but DNS: other UDP passes as if unmeshed. */
static void out_udp_pass(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_UDP, POD_A, 40000, REMOTE, 443))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_UDP)));
}
PER_FAMILY(out_udp_pass)

/* A ztunnel enrolled to capture all UDP gets it. */
static void out_udp_capture_all(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_flow(&p, family, IPPROTO_UDP, POD_A, 40000, REMOTE, 443))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_udp_capture_all)

/*
 * Frames with a VLAN tag (802.1Q, 802.1ad; one, or two as a pod sends
 * them after the outer is stripped) from a meshed pod: dropped, counted.
 */
static bool add_vlan_tag(struct pkt *p, __u16 tpid)
{
	return CHECK(!pkt_push_vlan(p, tpid, 42), "no room for a tag");
}

static void out_vlan_tagged(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80) &&
	    add_vlan_tag(&p, ETH_P_8021Q) &&
	    out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_TAGGED))) &&
	    add_vlan_tag(&p, ETH_P_8021AD))
		out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_TAGGED)));
}
PER_FAMILY(out_vlan_tagged)

static void out_truncated_ip_header(int family)
{
	struct pkt p;

	if (!fx.short_ip_frames[family == AF_INET6]) {
		/* the program's own check stays for real traffic */
		skip_test("this kernel's BPF_PROG_TEST_RUN refuses frames "
			  "shorter than Ethernet + IP header (EINVAL)");
		return;
	}
	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		return;
	p.len = p.l3 + 10; /* half an IP header */
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}
PER_FAMILY(out_truncated_ip_header)

/* The L4 header is cut short while the IP lengths agree with the frame. */
static void out_truncated_l4_header(int family, __u8 proto)
{
	struct pkt p;
	struct pkt_spec s = flow(family, proto, POD_A, 40000, REMOTE, 80);

	s.payload_len = 0;
	if (!build(&p, &s))
		return;
	pkt_set_len(&p, p.l4 + (proto == IPPROTO_TCP ? 12 : 4));
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}
PER_FAMILY_PROTO(out_truncated_l4_header)

static void out_ipv4_bad_ihl(void)
{
	struct pkt p;
	struct iphdr *iph;

	if (!build_flow(&p, AF_INET, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		return;
	iph = (struct iphdr *)(p.data + p.l3);
	iph->ihl = 4; /* shorter than the fixed header */
	pkt_ipv4_csum(&p);
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

static void out_ipv4_ihl_beyond_packet(void)
{
	struct pkt p;
	struct iphdr *iph;
	struct pkt_spec s =
		flow(AF_INET, IPPROTO_UDP, POD_A, 40000, REMOTE, 80);

	s.payload_len = 0;
	if (!build(&p, &s))
		return;
	iph = (struct iphdr *)(p.data + p.l3);
	iph->ihl = 15; /* 60 bytes of header in a 28-byte datagram */
	pkt_ipv4_csum(&p);
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

/* The frame ends inside the IPv4 options: the closest to a truncated
 * header that every kernel's test-run accepts. */
static void out_ipv4_options_truncated(void)
{
	struct pkt p;
	struct iphdr *iph;
	struct pkt_spec s =
		flow(AF_INET, IPPROTO_UDP, POD_A, 40000, REMOTE, 80);

	s.payload_len = 0;
	if (!build(&p, &s))
		return;
	iph = (struct iphdr *)(p.data + p.l3);
	iph->ihl = 7; /* 8 bytes of options (the old UDP header, as NOPs) */
	memset(p.data + p.l3 + 20, 1, 8);
	pkt_set_len(&p, p.l3 + 28);
	p.len = p.l3 + 24; /* cut after 4 of them */
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

/* An IP length promising more bytes than the frame has. */
static void out_ip_length_beyond_frame(int family)
{
	struct pkt p;

	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		return;
	pkt_set_len(&p, p.len + 8);
	p.len -= 8;
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}
PER_FAMILY(out_ip_length_beyond_frame)

static void out_tcp_bad_doff(void)
{
	struct pkt p;
	struct tcphdr *th;

	if (!build_flow(&p, AF_INET, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		return;
	th = (struct tcphdr *)(p.data + p.l4);
	th->doff = 4;
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

static bool build_v6_ext(struct pkt *p, __u8 proto, const __u8 *ext, int n_ext)
{
	struct pkt_spec s = flow(AF_INET6, proto, POD_A, 40000, REMOTE, 80);

	memcpy(s.ext, ext, (size_t)n_ext);
	s.n_ext = n_ext;
	return build(p, &s);
}

/* Extension headers are walked to find the ports. */
static void out_ipv6_ext_headers(__u8 proto)
{
	static const __u8 ext[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS };
	struct pkt p;

	if (build_v6_ext(&p, proto, ext, 2))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}

static void out_ipv6_ext_headers_tcp(void)
{
	out_ipv6_ext_headers(IPPROTO_TCP);
}

static void out_ipv6_ext_headers_udp(void)
{
	if (set_capture_udp())
		out_ipv6_ext_headers(IPPROTO_UDP);
}

/* IP6_MAX_EXT_HDRS (6) extension headers are still followed. */
static void out_ipv6_max_ext_headers(void)
{
	static const __u8 ext[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
				    IPPROTO_ROUTING, IPPROTO_DSTOPTS,
				    IPPROTO_DSTOPTS, IPPROTO_DSTOPTS };
	struct pkt p;

	if (build_v6_ext(&p, IPPROTO_TCP, ext, 6))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}

/* One more than the parser follows: malformed, never guessed at. */
static void out_ipv6_too_many_ext_headers(void)
{
	static const __u8 ext[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS,
				    IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
				    IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
				    IPPROTO_DSTOPTS };
	struct pkt p;

	if (build_v6_ext(&p, IPPROTO_TCP, ext, 7))
		out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

/* An extension header running past the end of the frame. */
static void out_ipv6_truncated_ext_header(void)
{
	static const __u8 ext[] = { IPPROTO_HOPOPTS };
	struct pkt p;

	if (!build_v6_ext(&p, IPPROTO_TCP, ext, 1))
		return;
	pkt_set_len(&p, p.l3 + sizeof(struct ip6_hdr) + 4);
	out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_MALFORMED)));
}

/* A datagram's later fragment follows its first one into ztunnel. */
static void out_frag_capture(int family)
{
	struct pkt p;

	if (set_capture_udp() &&
	    build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_FIRST,
		       7) &&
	    out_run(&p, fx.if_pod_a,
		    redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL))) &&
	    build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_LATER,
		       7))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY(out_frag_capture)

/* ... and past it when the first one passed (here: UDP). */
static void out_frag_pass(int family)
{
	struct pkt p;

	if (build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_FIRST,
		       8) &&
	    out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_UDP))) &&
	    build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_LATER,
		       8))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_FRAG)));
}
PER_FAMILY(out_frag_pass)

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

/*
 * A later fragment whose first one is not remembered (never seen, or
 * evicted by another pod's flood) follows its protocol's default: TCP
 * captured, UDP passed (captured by a capture_udp ztunnel). No datagram is
 * reassembled without its first fragment, so none escapes this way.
 */
static void out_frag_unknown(int family, __u8 proto)
{
	struct pkt p;

	if (!build_frag(&p, family, proto, POD_A, REMOTE, PKT_FRAG_LATER, 10))
		return;
	if (proto == IPPROTO_TCP)
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
	else
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_FRAG)));
	if (proto == IPPROTO_UDP && set_capture_udp())
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}
PER_FAMILY_PROTO(out_frag_unknown)

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

/* Later fragments of ICMP are not ours to judge. */
static void out_frag_later_other_proto(int family)
{
	struct pkt p;

	if (build_frag(&p, family, icmp_of(family), POD_A, REMOTE,
		       PKT_FRAG_LATER, 11))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_OTHER_PROTO)));
}
PER_FAMILY(out_frag_later_other_proto)

/* A source that is no pod's: dropped, it would otherwise be captured. */
static void out_spoofed_source(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_TCP, NOT_POD, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_SPOOFED)));
}
PER_FAMILY(out_spoofed_source)

/* Pod B's address arriving on pod A's veth is spoofed too. */
static void out_other_pods_source(int family)
{
	struct pkt p;

	if (build_flow(&p, family, IPPROTO_UDP, POD_B, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_SPOOFED)));
}
PER_FAMILY(out_other_pods_source)

/*
 * A node address is no exemption: Service addresses (kube-ipvs0),
 * hostPorts and NodePorts live there. TCP is captured, UDP passes as all
 * UDP does.
 */
static void out_node_addr(int family, __u8 proto)
{
	struct pkt p;

	if (!build_flow(&p, family, proto, POD_A, 40000, NODE, 10250))
		return;
	if (proto == IPPROTO_TCP)
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
	else
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_UDP)));
}
PER_FAMILY_PROTO(out_node_addr)

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

static void out_no_ztunnel_fail_closed(int family)
{
	struct pkt p;

	if (set_ztunnel(false) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a, drop(C(OUT_DROP_NO_ZTUNNEL)));
}
PER_FAMILY(out_no_ztunnel_fail_closed)

static void out_no_ztunnel_fail_open(int family)
{
	struct pkt p;

	if (set_ztunnel(false) && set_fail_open(true) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a, pass(C(OUT_PASS_FAIL_OPEN)));
}
PER_FAMILY(out_no_ztunnel_fail_open)

/* Fail open only matters without ztunnel. */
static void out_fail_open_with_ztunnel(void)
{
	struct pkt p;

	if (set_fail_open(true) &&
	    build_flow(&p, AF_INET, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		out_run(&p, fx.if_pod_a,
			redirect(TAG_OUTBOUND, MAC_ZT, C(OUT_TO_ZTUNNEL)));
}

static void out_dns_capture_no_ztunnel(void)
{
	struct pkt p;

	if (set_ztunnel(false) &&
	    build_flow(&p, AF_INET, IPPROTO_UDP, POD_B, 40053, DNS_SERVER, 53))
		out_run(&p, fx.if_pod_b, drop(C(OUT_DROP_NO_ZTUNNEL)));
}

const struct test_def tc_app_outbound_tests[] = {
	T(out_non_ip),
	T_FAMILY(out_other_proto),
	T_FAMILY(out_other_proto_any_source),
	T_FAMILY(out_tunnel),
	T(out_v4_mapped),
	T_FAMILY(out_capture),
	T_FAMILY(out_udp_pass),
	T_FAMILY(out_udp_capture_all),
	T_FAMILY(out_vlan_tagged),
	T_FAMILY(out_truncated_ip_header),
	T_FAMILY_PROTO(out_truncated_l4_header),
	T(out_ipv4_bad_ihl),
	T(out_ipv4_ihl_beyond_packet),
	T(out_ipv4_options_truncated),
	T_FAMILY(out_ip_length_beyond_frame),
	T(out_tcp_bad_doff),
	T(out_ipv6_ext_headers_tcp),
	T(out_ipv6_ext_headers_udp),
	T(out_ipv6_max_ext_headers),
	T(out_ipv6_too_many_ext_headers),
	T(out_ipv6_truncated_ext_header),
	T_FAMILY(out_frag_capture),
	T_FAMILY(out_frag_pass),
	T_FAMILY_PROTO(out_frag_unknown),
	T_FAMILY(out_frag_default_not_kept),
	T_FAMILY(out_frag_kept_and_flooded),
	T_FAMILY(out_frag_later_other_proto),
	T_FAMILY(out_spoofed_source),
	T_FAMILY(out_other_pods_source),
	T_FAMILY_PROTO(out_node_addr),
	T_FAMILY(out_node_listener_captured),
	T_FAMILY_PROTO(out_node_reply),
	T_FAMILY(out_node_syn_is_new),
	T_FAMILY(out_node_accepted_not_reply),
	T_FAMILY(out_node_addr_ztunnel_flow),
	T_FAMILY(out_dns_udp_pass),
	T_FAMILY(out_dns_tcp_captured),
	T_FAMILY(out_dns_pass_capture_udp),
	T_FAMILY_PROTO(out_dns_capture),
	T_FAMILY(out_no_ztunnel_fail_closed),
	T_FAMILY(out_no_ztunnel_fail_open),
	T(out_fail_open_with_ztunnel),
	T(out_dns_capture_no_ztunnel),
	T_END,
};
