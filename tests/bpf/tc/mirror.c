// SPDX-License-Identifier: GPL-2.0
/*
 * The cases app_outbound, app_inbound and pod_guard share: one packet
 * that only changes direction. Leaving the pod (app_outbound on its host
 * veth) it goes from the pod's end of the flow to the peer's; entering it
 * (app_inbound on the host veth, pod_guard on the pod's own interface,
 * which sees what came around app_inbound) from the peer's end to the
 * pod's. A row says what each program does with it; a program without an
 * expectation in a row is not run on it. Every row runs on pod A's veth
 * (and interface), for each address family and L4 protocol it names, each
 * variant a test of that program's suite ("<row>_v4", "<row>_v6_udp").
 *
 * A new shared case is a row; a new way to break a frame is a mutator.
 */
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include "tc_fixture.h"

enum side { OUT, IN, GUARD, SIDES };

static const enum dp_prog side_prog[SIDES] = {
	[OUT] = DP_APP_OUTBOUND,
	[IN] = DP_APP_INBOUND,
	[GUARD] = DP_POD_GUARD,
};

/* Address families and protocols of a row. */
#define V4 (1u << 0)
#define V6 (1u << 1)
enum proto_bit { P_TCP, P_UDP, P_ICMP, P_IPIP, P_IPV6, P_GRE, P_ARP, P_MAX };
#define P(name) (1u << P_##name)

static const struct {
	const char *name;
	__u8 proto; /* 0: ICMP of the family; ARP is no IP protocol */
} protos[P_MAX] = {
	[P_TCP] = { "tcp", IPPROTO_TCP },
	[P_UDP] = { "udp", IPPROTO_UDP },
	[P_ICMP] = { "icmp", 0 },
	[P_IPIP] = { "ipip", IPPROTO_IPIP },
	[P_IPV6] = { "ipv6", IPPROTO_IPV6 },
	[P_GRE] = { "gre", IPPROTO_GRE },
	[P_ARP] = { "arp", 0 },
};

/* What a program does with the packet (constant initializers). */
/* clang-format off */
#define PASS(id) { .retval = TC_ACT_PIPE, .counters = C(id) }
#define DROP(id) { .retval = TC_ACT_SHOT, .counters = C(id) }
#define TO_ZTUNNEL(tag, id) \
	{ .retval = TC_ACT_REDIRECT, .mark = tag, .dmac = MAC_ZT, \
	  .counters = C(id) }
/* pod_guard is TCX-attached: it passes with TCX_NEXT in every mode. */
#define GUARD_PASS(id) { .retval = (__u32)-1, .counters = C(id) }
#define GUARD_RETURNS \
	{ .retval = TC_ACT_REDIRECT, .mark = TAG_RETURNED, \
	  .counters = C(GD_RETURN_TO_ZTUNNEL) }
/* The common rows' expectations, for the three programs. */
#define CAPTURED \
	[OUT] = TO_ZTUNNEL(TAG_OUTBOUND, OUT_TO_ZTUNNEL), \
	[IN] = TO_ZTUNNEL(TAG_INBOUND, IN_TO_ZTUNNEL), \
	[GUARD] = GUARD_RETURNS
#define MALFORMED \
	[OUT] = DROP(OUT_DROP_MALFORMED), [IN] = DROP(IN_DROP_MALFORMED), \
	[GUARD] = DROP(GD_DROP_MALFORMED)
#define OTHER_PROTO \
	[OUT] = PASS(OUT_PASS_OTHER_PROTO), [IN] = PASS(IN_PASS_OTHER_PROTO), \
	[GUARD] = GUARD_PASS(GD_PASS_NOT_CAPTURED)
/* clang-format on */

enum frags {
	WHOLE, /* not fragmented */
	FIRST_THEN_LATER, /* the first fragment (expect), then a later (later) */
	LATER_ONLY, /* a later fragment whose first one was never seen */
};

enum ztunnel_state { ZT_PRESENT, ZT_ABSENT, ZT_CAPTURE_UDP };

struct mirror_row {
	const char *name;
	unsigned int families; /* V4 | V6 */
	unsigned int protos; /* P(TCP) | ... */
	/* The flow's ends: POD_A and REMOTE when not given (pod A, the
	 * host enum's 0, is never a peer). Text instead, [0] v4, [1] v6. */
	enum host pod, peer;
	const char *pod_addr[2], *peer_addr[2];
	__u16 pod_port, peer_port; /* 40000 and 80 when not given */
	const __u8 *dmac[2]; /* the frame's destination MAC, [v6] */
	__u8 ext[PKT_MAX_EXT]; /* IPv6 extension headers */
	int n_ext;
	bool no_payload;
	enum frags frags;
	/* Break the frame once built; false after a failed CHECK. */
	bool (*mutate)(struct pkt *p, __u8 proto);
	/* Needs test-run to take a frame cut in the IP header. */
	bool short_ip_frame;
	enum ztunnel_state ztunnel;
	bool fail_open;
	struct expect expect[SIDES]; /* .counters 0: not run on this side */
	struct expect later[SIDES]; /* FIRST_THEN_LATER's later fragment */
};

/* --- mutators: each breaks one thing the parser checks --- */

/* Half an IP header. */
static bool cut_ip_header(struct pkt *p, __u8 proto)
{
	p->len = p->l3 + 10;
	return true;
}

/* The L4 header cut short while the IP lengths agree with the frame. */
static bool cut_l4_header(struct pkt *p, __u8 proto)
{
	pkt_set_len(p, p->l4 + (proto == IPPROTO_TCP ? 12 : 4));
	return true;
}

/* IHL shorter than the fixed header. */
static bool ipv4_ihl_4(struct pkt *p, __u8 proto)
{
	((struct iphdr *)(p->data + p->l3))->ihl = 4;
	pkt_ipv4_csum(p);
	return true;
}

/* 60 bytes of header in a 28-byte datagram. */
static bool ipv4_ihl_15(struct pkt *p, __u8 proto)
{
	((struct iphdr *)(p->data + p->l3))->ihl = 15;
	pkt_ipv4_csum(p);
	return true;
}

/* The frame ends inside the IPv4 options: the closest to a truncated
 * header that every kernel's test-run accepts. */
static bool ipv4_options_cut(struct pkt *p, __u8 proto)
{
	/* 8 bytes of options (the old UDP header, as NOPs) */
	((struct iphdr *)(p->data + p->l3))->ihl = 7;
	memset(p->data + p->l3 + 20, 1, 8);
	pkt_set_len(p, p->l3 + 28);
	p->len = p->l3 + 24; /* cut after 4 of them */
	return true;
}

/* An IP length promising more bytes than the frame has. */
static bool ip_length_beyond_frame(struct pkt *p, __u8 proto)
{
	pkt_set_len(p, p->len + 8);
	p->len -= 8;
	return true;
}

static bool tcp_doff_4(struct pkt *p, __u8 proto)
{
	((struct tcphdr *)(p->data + p->l4))->doff = 4;
	return true;
}

/* An extension header running past the end of the frame. */
static bool cut_in_ext_header(struct pkt *p, __u8 proto)
{
	pkt_set_len(p, p->l3 + sizeof(struct ip6_hdr) + 4);
	return true;
}

static bool vlan_tag(struct pkt *p, __u16 tpid)
{
	return CHECK(!pkt_push_vlan(p, tpid, 42), "no room for a tag");
}

static bool vlan_tagged(struct pkt *p, __u8 proto)
{
	return vlan_tag(p, ETH_P_8021Q);
}

/* Two tags, as a pod sends them after the outer one is stripped. */
static bool vlan_double_tagged(struct pkt *p, __u8 proto)
{
	return vlan_tag(p, ETH_P_8021Q) && vlan_tag(p, ETH_P_8021AD);
}

static const __u8 MAC_MCAST[2][6] = {
	{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb },
	{ 0x33, 0x33, 0x00, 0x00, 0x00, 0xfb },
};
static const __u8 MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* clang-format off */
static const struct mirror_row rows[] = {
	/* The usual: TCP to ztunnel, UDP straight unless ztunnel takes it. */
	{ "capture", V4 | V6, P(TCP), .expect = { CAPTURED } },
	{ "udp_pass", V4 | V6, P(UDP), .peer_port = 443,
	  .expect = { [OUT] = PASS(OUT_PASS_UDP), [IN] = PASS(IN_PASS_UDP),
		      [GUARD] = GUARD_PASS(GD_PASS_NOT_CAPTURED) } },
	{ "udp_capture_all", V4 | V6, P(UDP), .peer_port = 443,
	  .ztunnel = ZT_CAPTURE_UDP, .expect = { CAPTURED } },
	/*
	 * A node address is no exemption: Service addresses (kube-ipvs0),
	 * hostPorts and NodePorts live there. TCP is captured (a node
	 * source alone is none either: only a node socket's packets pass,
	 * and test-run's stand-in socket is none), UDP passes as all UDP.
	 */
	{ "node_addr_tcp", V4 | V6, P(TCP), .peer = NODE, .peer_port = 10250,
	  .expect = { CAPTURED } },
	{ "node_addr_udp", V4 | V6, P(UDP), .peer = NODE, .peer_port = 10250,
	  .expect = { [OUT] = PASS(OUT_PASS_UDP), [IN] = PASS(IN_PASS_UDP),
		      [GUARD] = GUARD_PASS(GD_PASS_NOT_CAPTURED) } },

	/* Not ours to judge: ARP, ICMP, other IP protocols. */
	{ "non_ip", V4, P(ARP), .peer = NODE,
	  .expect = { [OUT] = PASS(OUT_PASS_NON_IP),
		      [IN] = PASS(IN_PASS_NON_IP),
		      [GUARD] = GUARD_PASS(GD_PASS_NOT_CAPTURED) } },
	{ "other_proto", V4 | V6, P(ICMP), .expect = { OTHER_PROTO } },
	/* from any source: neighbour discovery speaks from link-local and
	 * unenrolled addresses, and ICMP carries no connection */
	{ "other_proto_unenrolled", V4 | V6, P(ICMP), .pod = NOT_POD,
	  .expect = { OTHER_PROTO } },
	/* IP in IP, IPv6 in IP, GRE: whatever decapsulates them on the node
	 * would route the inner packet around ztunnel. Into a pod they are
	 * just other protocols. */
	{ "tunnel", V4 | V6, P(IPIP) | P(IPV6) | P(GRE),
	  .expect = { [OUT] = DROP(OUT_DROP_TUNNEL),
		      [IN] = PASS(IN_PASS_OTHER_PROTO),
		      [GUARD] = GUARD_PASS(GD_PASS_NOT_CAPTURED) } },

	/* Addresses a pod was not enrolled with: they would pass uncaptured. */
	{ "not_enrolled", V4 | V6, P(TCP) | P(UDP), .pod = NOT_POD,
	  .expect = { [OUT] = DROP(OUT_DROP_SPOOFED),
		      [IN] = DROP(IN_DROP_NOT_ENROLLED),
		      [GUARD] = DROP(GD_DROP_NOT_ENROLLED) } },
	/* Pod B's address on pod A's veth (spoofed; a bridge's flood). The
	 * guard knows no veth: what it returns for another pod app_outbound
	 * drops (pod_guard.c: out_returned_other_pod). */
	{ "other_pods_address", V4 | V6, P(TCP) | P(UDP), .pod = POD_B,
	  .expect = { [OUT] = DROP(OUT_DROP_SPOOFED),
		      [IN] = DROP(IN_DROP_NOT_ENROLLED) } },
	/* Broadcast and multicast are addressed to no one pod: they pass... */
	{ "multicast", V4 | V6, P(UDP), .pod_port = 5353, .peer_port = 5353,
	  .pod_addr = { "224.0.0.251", "ff02::fb" },
	  .dmac = { MAC_MCAST[0], MAC_MCAST[1] },
	  .expect = { [IN] = PASS(IN_PASS_MULTICAST),
		      [GUARD] = GUARD_PASS(GD_PASS_NOT_CAPTURED) } },
	{ "broadcast", V4, P(UDP), .pod_port = 5353, .peer_port = 5353,
	  .pod_addr = { "255.255.255.255" }, .dmac = { MAC_BCAST },
	  .expect = { [IN] = PASS(IN_PASS_MULTICAST),
		      [GUARD] = GUARD_PASS(GD_PASS_NOT_CAPTURED) } },
	/* ... but a unicast address is one pod's, whatever the frame's MAC. */
	{ "unicast_in_broadcast_frame", V4 | V6, P(UDP), .pod = NOT_POD,
	  .pod_port = 5353, .peer_port = 5353, .dmac = { MAC_BCAST, MAC_BCAST },
	  .expect = { [IN] = DROP(IN_DROP_NOT_ENROLLED),
		      [GUARD] = DROP(GD_DROP_NOT_ENROLLED) } },

	/* Without ztunnel: fail closed, or open when set; open only then. */
	{ "no_ztunnel", V4 | V6, P(TCP), .ztunnel = ZT_ABSENT,
	  .expect = { [OUT] = DROP(OUT_DROP_NO_ZTUNNEL),
		      [IN] = DROP(IN_DROP_NO_ZTUNNEL),
		      [GUARD] = DROP(GD_DROP_NO_ZTUNNEL) } },
	{ "no_ztunnel_fail_open", V4 | V6, P(TCP), .ztunnel = ZT_ABSENT,
	  .fail_open = true,
	  .expect = { [OUT] = PASS(OUT_PASS_FAIL_OPEN),
		      [IN] = PASS(IN_PASS_FAIL_OPEN),
		      [GUARD] = GUARD_PASS(GD_PASS_FAIL_OPEN) } },
	{ "fail_open_with_ztunnel", V4 | V6, P(TCP), .fail_open = true,
	  .expect = { CAPTURED } },

	/* Fragments: a later one follows its first one's way... */
	{ "frag_capture", V4 | V6, P(UDP), .ztunnel = ZT_CAPTURE_UDP,
	  .frags = FIRST_THEN_LATER, .expect = { CAPTURED },
	  .later = { CAPTURED } },
	{ "frag_pass", V4 | V6, P(UDP), .frags = FIRST_THEN_LATER,
	  .expect = { [OUT] = PASS(OUT_PASS_UDP), [IN] = PASS(IN_PASS_UDP),
		      [GUARD] = GUARD_PASS(GD_PASS_NOT_CAPTURED) },
	  .later = { [OUT] = PASS(OUT_PASS_FRAG), [IN] = PASS(IN_PASS_FRAG),
		     [GUARD] = GUARD_PASS(GD_PASS_NOT_CAPTURED) } },
	/*
	 * ... and one whose first one is not remembered (never seen, or
	 * evicted by another pod's flood) its protocol's default: TCP
	 * captured, UDP passed (captured by a capture_udp ztunnel). No
	 * datagram is reassembled without its first fragment, so none
	 * escapes this way.
	 */
	{ "frag_unknown_tcp", V4 | V6, P(TCP), .frags = LATER_ONLY,
	  .expect = { CAPTURED } },
	{ "frag_unknown_udp", V4 | V6, P(UDP), .frags = LATER_ONLY,
	  .expect = { [OUT] = PASS(OUT_PASS_FRAG), [IN] = PASS(IN_PASS_FRAG),
		      [GUARD] = GUARD_PASS(GD_PASS_NOT_CAPTURED) } },
	{ "frag_unknown_udp_capture", V4 | V6, P(UDP), .frags = LATER_ONLY,
	  .ztunnel = ZT_CAPTURE_UDP, .expect = { CAPTURED } },
	/* Later fragments of ICMP are not ours to judge. */
	{ "frag_later_icmp", V4 | V6, P(ICMP), .frags = LATER_ONLY,
	  .expect = { OTHER_PROTO } },

	/* IPv6 extension headers are walked to find the ports, up to
	 * IP6_MAX_EXT_HDRS (6); one more is malformed, never guessed at. */
	{ "ipv6_ext_headers", V6, P(TCP) | P(UDP), .ztunnel = ZT_CAPTURE_UDP,
	  .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS }, .n_ext = 2,
	  .expect = { CAPTURED } },
	{ "ipv6_max_ext_headers", V6, P(TCP),
	  .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING,
		   IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS },
	  .n_ext = 6, .expect = { CAPTURED } },
	{ "ipv6_too_many_ext_headers", V6, P(TCP),
	  .ext = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
		   IPPROTO_DSTOPTS, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
		   IPPROTO_DSTOPTS },
	  .n_ext = 7, .expect = { MALFORMED } },

	/* Malformed, as every parser of ours sees it. */
	{ "ipv6_ext_header_cut", V6, P(TCP), .ext = { IPPROTO_HOPOPTS },
	  .n_ext = 1, .mutate = cut_in_ext_header, .expect = { MALFORMED } },
	/* An IPv4-mapped address in an IPv6 header would be keyed as the
	 * IPv4 address in every map. */
	{ "v4_mapped_pod_addr", V6, P(TCP),
	  .pod_addr = { NULL, "::ffff:10.0.0.2" }, .expect = { MALFORMED } },
	{ "v4_mapped_peer_addr", V6, P(TCP),
	  .peer_addr = { NULL, "::ffff:10.1.0.5" }, .expect = { MALFORMED } },
	{ "ip_header_cut", V4 | V6, P(TCP), .mutate = cut_ip_header,
	  .short_ip_frame = true, .expect = { MALFORMED } },
	{ "l4_header_cut", V4 | V6, P(TCP) | P(UDP), .no_payload = true,
	  .mutate = cut_l4_header, .expect = { MALFORMED } },
	{ "ip_length_beyond_frame", V4 | V6, P(TCP),
	  .mutate = ip_length_beyond_frame, .expect = { MALFORMED } },
	{ "ipv4_ihl_too_small", V4, P(TCP), .mutate = ipv4_ihl_4,
	  .expect = { MALFORMED } },
	{ "ipv4_ihl_beyond_packet", V4, P(UDP), .no_payload = true,
	  .mutate = ipv4_ihl_15, .expect = { MALFORMED } },
	{ "ipv4_options_cut", V4, P(UDP), .no_payload = true,
	  .mutate = ipv4_options_cut, .expect = { MALFORMED } },
	{ "tcp_doff_too_small", V4 | V6, P(TCP), .mutate = tcp_doff_4,
	  .expect = { MALFORMED } },
	/* VLAN-tagged frames (802.1Q, 802.1ad; one tag, or two): an inner
	 * packet would be routed uncaptured. */
	{ "vlan_tagged", V4 | V6, P(TCP), .mutate = vlan_tagged,
	  .expect = { [OUT] = DROP(OUT_DROP_TAGGED), [IN] = DROP(IN_DROP_TAGGED),
		      [GUARD] = DROP(GD_DROP_MALFORMED) } },
	{ "vlan_double_tagged", V4 | V6, P(TCP), .mutate = vlan_double_tagged,
	  .expect = { [OUT] = DROP(OUT_DROP_TAGGED), [IN] = DROP(IN_DROP_TAGGED),
		      [GUARD] = DROP(GD_DROP_MALFORMED) } },
};
/* clang-format on */

/* --- running a row --- */

/* One test: a row, for one program, family and protocol. */
struct variant {
	char name[48];
	const struct mirror_row *row;
	enum side side;
	int family;
	enum proto_bit proto;
};

#define MAX_VARIANTS 512
static struct variant variants[MAX_VARIANTS];
static size_t n_variants;

static const char *end_addr(const struct mirror_row *r, bool pod, int family)
{
	const char *text =
		(pod ? r->pod_addr : r->peer_addr)[family == AF_INET6];
	enum host h = pod ? r->pod : (r->peer ? r->peer : REMOTE);

	return text ? text : addr_of(family, h);
}

static bool build_variant(const struct variant *v, enum pkt_frag frag,
			  struct pkt *p)
{
	const struct mirror_row *r = v->row;
	bool out = v->side == OUT;
	const char *pod = end_addr(r, true, v->family);
	const char *peer = end_addr(r, false, v->family);
	__u16 pod_port = r->pod_port ? r->pod_port : 40000;
	__u16 peer_port = r->peer_port ? r->peer_port : 80;
	const __u8 *dmac = r->dmac[v->family == AF_INET6];
	__u8 proto = protos[v->proto].proto;
	struct pkt_spec s = {
		.family = v->family,
		.proto = proto ? proto : icmp_of(v->family),
		.saddr = out ? pod : peer,
		.daddr = out ? peer : pod,
		.sport = out ? pod_port : peer_port,
		.dport = out ? peer_port : pod_port,
		.payload_len = r->no_payload ? 0 : 32,
		.frag = frag,
		.frag_id = 7,
		.frag_offset = frag == PKT_FRAG_LATER ? 40 : 0,
		.n_ext = r->n_ext,
	};

	if (v->proto == P_ARP)
		return CHECK(!pkt_build_arp(p, s.saddr, s.daddr), "build arp");
	memcpy(s.ext, r->ext, sizeof(s.ext));
	if (dmac)
		memcpy(s.dmac, dmac, 6);
	if (!build(p, &s))
		return false;
	return !r->mutate || r->mutate(p, s.proto);
}

static bool set_state(const struct mirror_row *r)
{
	if (r->ztunnel == ZT_ABSENT && !set_ztunnel(false))
		return false;
	if (r->ztunnel == ZT_CAPTURE_UDP && !set_capture_udp())
		return false;
	return !r->fail_open || set_fail_open(true);
}

static void run_variant(const struct variant *v)
{
	const struct mirror_row *r = v->row;
	enum dp_prog prog = side_prog[v->side];
	struct pkt p;

	if (r->short_ip_frame && !fx.short_ip_frames[v->family == AF_INET6]) {
		/* the programs' own check stays for real traffic */
		skip_test("this kernel's BPF_PROG_TEST_RUN refuses frames "
			  "shorter than Ethernet + IP header (EINVAL)");
		return;
	}
	if (!set_state(r))
		return;
	switch (r->frags) {
	case WHOLE:
		if (build_variant(v, PKT_FRAG_NONE, &p))
			expect_run(prog, &p, fx.if_pod_a, 0,
				   &r->expect[v->side]);
		break;
	case FIRST_THEN_LATER:
		if (build_variant(v, PKT_FRAG_FIRST, &p) &&
		    expect_run(prog, &p, fx.if_pod_a, 0, &r->expect[v->side]) &&
		    build_variant(v, PKT_FRAG_LATER, &p))
			expect_run(prog, &p, fx.if_pod_a, 0,
				   &r->later[v->side]);
		break;
	case LATER_ONLY:
		if (build_variant(v, PKT_FRAG_LATER, &p))
			expect_run(prog, &p, fx.if_pod_a, 0,
				   &r->expect[v->side]);
		break;
	}
}

/* The test running now is a variant of this side: which one. */
static void run_current(enum side side)
{
	CU_pTest t = CU_get_current_test();

	for (size_t i = 0; t && i < n_variants; i++)
		if (variants[i].side == side &&
		    !strcmp(variants[i].name, t->pName)) {
			run_variant(&variants[i]);
			return;
		}
	CU_FAIL("no row of the mirror table for this test");
}

static void mirror_out(void)
{
	run_current(OUT);
}

static void mirror_in(void)
{
	run_current(IN);
}

static void mirror_guard(void)
{
	run_current(GUARD);
}

static const CU_TestFunc side_fn[SIDES] = {
	[OUT] = mirror_out,
	[IN] = mirror_in,
	[GUARD] = mirror_guard,
};

static int count_bits(unsigned int x)
{
	return __builtin_popcount(x);
}

size_t tc_mirror_tests(enum dp_prog prog, struct test_def *tests, size_t max)
{
	enum side side = SIDES;
	size_t n = 0;

	for (int s = 0; s < SIDES; s++)
		if (side_prog[s] == prog)
			side = s;
	if (side == SIDES)
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		const struct mirror_row *r = &rows[i];

		if (!r->expect[side].counters)
			continue;
		for (int f = 0; f < 2; f++) {
			if (!(r->families & (f ? V6 : V4)))
				continue;
			for (int pb = 0; pb < P_MAX; pb++) {
				struct variant *v = &variants[n_variants];

				if (!(r->protos & (1u << pb)))
					continue;
				if (n >= max || n_variants >= MAX_VARIANTS)
					return (size_t)-1;
				v->row = r;
				v->side = side;
				v->family = f ? AF_INET6 : AF_INET;
				v->proto = pb;
				snprintf(v->name, sizeof(v->name), "%s_%s%s%s",
					 r->name, f ? "v6" : "v4",
					 count_bits(r->protos) > 1 ? "_" : "",
					 count_bits(r->protos) > 1 ?
						 protos[pb].name :
						 "");
				tests[n].name = v->name;
				tests[n].fn = side_fn[side];
				n++;
				n_variants++;
			}
		}
	}
	return n;
}
