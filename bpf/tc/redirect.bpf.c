// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The tc programs that steer meshed pods' traffic through ztunnel.
 *
 *   app_outbound    pod host veth, tc ingress   (packets leaving a pod)
 *   app_inbound     pod host veth, tc egress    (packets entering a pod)
 *   ztunnel_host_in ztunnel host veth, tc ingress (packets leaving ztunnel)
 *   ztunnel_ingress ztunnel's own interface, tc ingress, in ztunnel's netns
 *   pod_guard       the pod's own interface, tc ingress, in the pod's netns
 *
 * Mechanism (see docs/datapath.md for the reasoning):
 * - pod -> ztunnel: bpf_redirect_peer straight into ztunnel's netns with a
 *   tag in skb->mark. From tc egress (app_inbound) redirect_peer is not
 *   allowed, so the packet takes one hop through ztunnel's host veth ingress
 *   (bpf_redirect BPF_F_INGRESS), where ztunnel_host_in forwards it on.
 * - ztunnel -> pod: bpf_redirect_peer straight into the pod's netns, so the
 *   packet never meets app_inbound again and needs no "from ztunnel" tag a
 *   pod could forge.
 * - in ztunnel's netns: bpf_sk_assign to the established socket of the flow,
 *   else to the transparent listener of its direction, plus a route mark
 *   that a policy rule turns into local delivery.
 * - pod_guard: what reaches a meshed pod without app_inbound (another
 *   program delivered it with bpf_redirect_peer) goes back out to the host
 *   veth with TAG_RETURNED, where app_outbound captures it inbound.
 * Every path with nothing to do returns PASS so later filters run.
 *
 * This file owns the five programs and the decisions only they make. What
 * several of them share sits beside it in bpf/tc: tc_maps.h (load-time
 * settings, this object's maps, counting), frag.h (fragments), deliver.h
 * (the way into ztunnel), sockets.h (socket lookups), nat.h (the node's
 * NAT, from conntrack).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "redirect_abi.h"
#include "parse.h"
#include "maps.h"
#include "capture.h"
#include "exclude.h"
#include "tc_maps.h"
#include "frag.h"
#include "deliver.h"
#include "sockets.h"
#include "nat.h"

/* --- exclusions (exclude.h asks the maps; docs/exclusions.md) --- */

/* The flow of p as excl_flows keys it; from_pod: p leaves the pod. */
static __always_inline void excl_flow_key(struct excl_flow_key *k,
					  const struct packet *p, bool from_pod)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->proto = p->proto;
	k->pod = from_pod ? p->saddr : p->daddr;
	k->peer = from_pod ? p->daddr : p->saddr;
	k->pod_port = from_pod ? p->sport : p->dport;
	k->peer_port = from_pod ? p->dport : p->sport;
}

/* A bare SYN: the only packet that opens a flow (UDP has none). */
static __always_inline bool tcp_opening(const struct packet *p)
{
	return p->proto == IPPROTO_TCP && (p->tcp_flags & TCP_FL_SYN) &&
	       !(p->tcp_flags & TCP_FL_ACK);
}

/* Who opened the flow of k, as remembered; 0: not known. */
static __always_inline __u8 excl_opener(const struct excl_flow_key *k)
{
	__u8 *v = bpf_map_lookup_elem(&excl_flows, k);

	return v ? *v : 0;
}

static __always_inline void excl_remember(const struct excl_flow_key *k,
					  __u8 opener)
{
	bpf_map_update_elem(&excl_flows, k, &opener, BPF_ANY);
}

/*
 * A packet leaving the pod, for a pod with exclusions: the pass counter
 * when an exclusion covers its flow, else 0 (the capture rules decide).
 * The pod opens flows to its excluded destinations (a bare SYN, or any
 * datagram: written then); it answers on flows peers opened to its
 * excluded ports only where the flow is remembered so. Without a record
 * (the LRU dropped it, or a flow older than the exclusion) a packet to an
 * excluded destination is the pod's own unless ztunnel holds a socket
 * with its ends: ztunnel dials with the pod's address, and answers for
 * the pod on connections it took in; that is remembered too, so such a
 * flow costs one lookup a packet. An excluded inbound port is no way out:
 * nothing the pod sends from it passes unremembered.
 */
static __always_inline __u32 outbound_exclusion(struct __sk_buff *skb,
						const struct packet *p,
						const struct pod_value *pod,
						const struct ztunnel_value *zt)
{
	bool to_excluded = excluded_outbound(pod, &p->daddr, p->dport);
	bool from_excluded = (pod->flags & POD_F_EXCL_IN) &&
			     excluded_inbound(pod, p->sport);
	struct excl_flow_key k;
	__u8 opener;

	if (!to_excluded && !from_excluded)
		return 0;
	excl_flow_key(&k, p, true);
	if (tcp_opening(p)) {
		if (!to_excluded) { /* the pod's own, from an excluded port */
			excl_remember(&k, EXCL_OPENER_ZTUNNEL);
			return 0;
		}
		excl_remember(&k, EXCL_OPENER_POD);
		return CNT_OUT_PASS_EXCLUDED;
	}
	opener = excl_opener(&k);
	if (opener == EXCL_OPENER_POD && to_excluded)
		return CNT_OUT_PASS_EXCLUDED;
	if (opener == EXCL_OPENER_PEER && from_excluded)
		return CNT_OUT_PASS_EXCLUDED_REPLY;
	if (opener || !to_excluded)
		return 0;
	if (ztunnel_owns_flow(skb, p, zt)) {
		excl_remember(&k, EXCL_OPENER_ZTUNNEL);
		return 0;
	}
	excl_remember(&k, EXCL_OPENER_POD);
	return CNT_OUT_PASS_EXCLUDED;
}

/*
 * The same for a packet entering the pod (app_inbound, and pod_guard
 * inside the pod: in_pod_netns, where ztunnel's sockets cannot be asked).
 * Peers open flows to the pod's excluded ports (a bare SYN; without a
 * record, any packet no socket of ztunnel's owns: written then, which lets
 * only the pod's answers from that excluded port pass). An answer on a
 * flow the pod opened to an excluded destination passes where remembered
 * so; without a record a TCP segment that is no opening passes
 * (app_inbound only, unless ztunnel holds the flow) but is not
 * remembered: a peer never makes a record that passes the pod's packets
 * to a destination. A bare SYN the rules do not exclude marks its flow
 * ztunnel's, so no older record of the same ends outlives it.
 */
static __always_inline __u32 inbound_exclusion(struct __sk_buff *skb,
					       const struct packet *p,
					       const struct pod_value *pod,
					       const struct ztunnel_value *zt,
					       bool in_pod_netns)
{
	bool to_excluded = excluded_inbound(pod, p->dport);
	bool from_excluded = (pod->flags & POD_F_EXCL_OUT) &&
			     excluded_outbound(pod, &p->saddr, p->sport);
	struct excl_flow_key k;
	__u8 opener;

	if (!to_excluded && !from_excluded)
		return 0;
	excl_flow_key(&k, p, false);
	if (tcp_opening(p)) {
		if (!to_excluded) { /* from an excluded destination: captured */
			excl_remember(&k, EXCL_OPENER_ZTUNNEL);
			return 0;
		}
		excl_remember(&k, EXCL_OPENER_PEER);
		return CNT_IN_PASS_EXCLUDED;
	}
	opener = excl_opener(&k);
	if (opener == EXCL_OPENER_PEER && to_excluded)
		return CNT_IN_PASS_EXCLUDED;
	if (opener == EXCL_OPENER_POD && from_excluded)
		return CNT_IN_PASS_EXCLUDED_REPLY;
	if (opener)
		return 0;
	if (in_pod_netns) { /* a datagram opens; TCP opened with its SYN */
		if (!to_excluded || p->proto != IPPROTO_UDP)
			return 0;
		excl_remember(&k, EXCL_OPENER_PEER);
		return CNT_IN_PASS_EXCLUDED;
	}
	if (ztunnel_owns_flow(skb, p, zt))
		return 0;
	if (to_excluded) {
		excl_remember(&k, EXCL_OPENER_PEER);
		return CNT_IN_PASS_EXCLUDED;
	}
	return p->proto == IPPROTO_TCP ? CNT_IN_PASS_EXCLUDED_REPLY : 0;
}

/* --- app_outbound --- */

/* A DNS flow that passes outbound: its replies pass inbound (is_dns_reply). */
static __always_inline void remember_dns_flow(const struct packet *p)
{
	struct dns_flow_key k;
	__u8 one = 1;

	__builtin_memset(&k, 0, sizeof(k));
	k.pod = p->saddr;
	k.server = p->daddr;
	k.pod_port = p->sport;
	k.proto = p->proto;
	bpf_map_update_elem(&dns_flows, &k, &one, BPF_ANY);
}

/* Link-local addresses of the node (a node-local DNS cache's) count too. */
static __always_inline bool is_link_local(const struct addr_key *a)
{
	if (!a->addr[0] && !a->addr[1] && a->addr[2] == bpf_htonl(0xffff))
		return (a->addr[3] & bpf_htonl(0xffff0000)) ==
		       bpf_htonl(0xa9fe0000);
	return (a->addr[0] & bpf_htonl(0xffc00000)) == bpf_htonl(0xfe800000);
}

/*
 * A pod's reply on a connection a node socket opened into it (kubelet
 * probes: the pod's SYN-ACK goes to a node address), directly or through
 * the node's NAT (a host-network client of a Service this pod backs: its
 * socket is connected to the Service address). A segment opening a
 * connection (SYN without ACK) is never a reply.
 */
static __always_inline bool node_reply(struct __sk_buff *skb,
				       const struct packet *p)
{
	struct addr_key osrc, odst;
	__u16 osport, odport;

	if (p->tcp_flags & TCP_FL_SYN && !(p->tcp_flags & TCP_FL_ACK))
		return false;
	if (!is_node_addr(&p->daddr) && !is_link_local(&p->daddr))
		return false;
	if (node_opened(skb, p, &p->saddr, p->sport, &p->daddr, p->dport))
		return true;
	return nat_original(skb, p, &osrc, &osport, &odst, &odport) &&
	       node_opened(skb, p, &odst, odport, &osrc, osport);
}

static __always_inline enum capture_rule
outbound_rule(struct __sk_buff *skb, const struct packet *p,
	      const struct pod_value *pod, const struct ztunnel_value *zt)
{
	return capture_outbound(p->proto, p->dport, node_reply(skb, p),
				pod->flags, zt ? zt->flags : 0);
}

static __always_inline int outbound_to_ztunnel(struct __sk_buff *skb,
					       const struct packet *p,
					       const struct ztunnel_value *zt,
					       enum capture_kind kind,
					       __u32 cnt_ok)
{
	return to_ztunnel(skb, p, zt, kind, cnt_ok, CNT_OUT_PASS_FAIL_OPEN,
			  CNT_OUT_DROP_NO_ZTUNNEL);
}

static __always_inline int
outbound_later_fragment(struct __sk_buff *skb, const struct packet *p,
			const struct ztunnel_value *zt)
{
	if (frag_recall(p, zt) == FRAG_PASS)
		return count_ret(CNT_OUT_PASS_FRAG, p, PASS);
	return outbound_to_ztunnel(skb, p, zt, CAPTURE_OUTBOUND,
				   CNT_OUT_TO_ZTUNNEL);
}

/*
 * Sent back out of a meshed pod by pod_guard: inbound traffic that reached
 * the pod without app_inbound. Captured inbound as app_inbound would have.
 * Only a program can set the tag (a veth crossing wipes the mark), and
 * only traffic addressed to the pod behind this veth is taken.
 */
static __always_inline int returned_inbound(struct __sk_buff *skb,
					    struct packet *p, int res)
{
	struct pod_value *pod;

	if (res != PARSE_OK)
		return count_ret(CNT_OUT_DROP_MALFORMED, p, TC_ACT_SHOT);
	pod = bpf_map_lookup_elem(&pods, &p->daddr);
	if (!pod || pod->host_ifindex != skb->ifindex)
		return count_ret(CNT_OUT_DROP_RETURNED, p, TC_ACT_SHOT);
	bpf_set_hash_invalid(skb); /* the guard's loop marker: taken */
	return outbound_to_ztunnel(skb, p, current_ztunnel(), CAPTURE_INBOUND,
				   CNT_OUT_RETURNED_TO_ZTUNNEL);
}

/*
 * IP in IP, IPv6 in IP, GRE: a node or CNI that decapsulates them (Calico
 * IPIP, a GRE device) would route the inner packet, TCP from any address,
 * around ztunnel. Pods have no use for them.
 */
static __always_inline bool is_tunnel(__u8 proto)
{
	return proto == IPPROTO_IPIP || proto == IPPROTO_IPV6 ||
	       proto == IPPROTO_GRE;
}

SEC("tc")
int app_outbound(struct __sk_buff *skb)
{
	const struct ztunnel_value *zt;
	struct packet p;
	struct pod_value *pod;
	enum capture_rule r;
	int res = parse_packet(skb, &p);

	if (skb->mark == TAG_RETURNED)
		return returned_inbound(skb, &p, res);
	if (res == PARSE_NON_IP)
		return count_ret(CNT_OUT_PASS_NON_IP, &p, PASS);
	if (res == PARSE_TAGGED)
		return count_ret(CNT_OUT_DROP_TAGGED, &p, TC_ACT_SHOT);
	if (res == PARSE_MALFORMED)
		return count_ret(CNT_OUT_DROP_MALFORMED, &p, TC_ACT_SHOT);

	/* No tunnel, which the node could unwrap into anything. */
	if (is_tunnel(p.proto))
		return count_ret(CNT_OUT_DROP_TUNNEL, &p, TC_ACT_SHOT);
	/*
	 * ICMP and the rest carry no connection to capture; neighbour
	 * discovery speaks from link-local and unenrolled addresses.
	 */
	if (res == PARSE_OTHER_PROTO)
		return count_ret(CNT_OUT_PASS_OTHER_PROTO, &p, PASS);

	/* Only the pod's own addresses may leave through its veth. */
	pod = bpf_map_lookup_elem(&pods, &p.saddr);
	if (!pod || pod->host_ifindex != skb->ifindex)
		return count_ret(CNT_OUT_DROP_SPOOFED, &p, TC_ACT_SHOT);
	zt = current_ztunnel();
	if (p.frag == FRAG_LATER)
		return outbound_later_fragment(skb, &p, zt);
	if (pod->flags & POD_F_EXCL_ANY) {
		__u32 cnt = outbound_exclusion(skb, &p, pod, zt);

		if (cnt) {
			frag_remember(&p, FRAG_PASS, zt);
			return count_ret(cnt, &p, PASS);
		}
	}

	r = outbound_rule(skb, &p, pod, zt);
	frag_remember(&p, rule_captures(r) ? FRAG_CAPTURE : FRAG_PASS, zt);
	switch (r) {
	case RULE_PASS_NODE_REPLY:
		return count_ret(CNT_OUT_PASS_NODE_REPLY, &p, PASS);
	case RULE_PASS_UDP:
		return count_ret(CNT_OUT_PASS_UDP, &p, PASS);
	case RULE_PASS_DNS:
		remember_dns_flow(&p);
		return count_ret(CNT_OUT_PASS_DNS, &p, PASS);
	case RULE_CAPTURE_DNS:
		return outbound_to_ztunnel(skb, &p, zt, CAPTURE_DNS,
					   CNT_OUT_DNS_TO_ZTUNNEL);
	default:
		return outbound_to_ztunnel(skb, &p, zt, CAPTURE_OUTBOUND,
					   CNT_OUT_TO_ZTUNNEL);
	}
}

/* --- app_inbound --- */

/* A DNS server's reply on a flow that passed outbound (remember_dns_flow). */
static __always_inline bool is_dns_reply(const struct packet *p)
{
	struct dns_flow_key k;

	if (p->sport != bpf_htons(DNS_PORT))
		return false;
	__builtin_memset(&k, 0, sizeof(k));
	k.pod = p->daddr;
	k.server = p->saddr;
	k.pod_port = p->dport;
	k.proto = p->proto;
	return bpf_map_lookup_elem(&dns_flows, &k) != NULL;
}

/*
 * The counter of this first packet's decision: a pass_* one lets it in,
 * a redirect_* one captures it. A node socket's packet passes, unless it
 * answers one of ztunnel's connections (made with this pod's address) to
 * a node server.
 */
static __always_inline __u32 inbound_decide(struct __sk_buff *skb,
					    const struct packet *p,
					    const struct pod_value *pod,
					    const struct ztunnel_value *zt)
{
	__u32 excl = pod->flags & POD_F_EXCL_ANY ?
			     inbound_exclusion(skb, p, pod, zt, false) :
			     0;

	if (excl)
		return excl;
	if (from_node_socket(skb))
		return ztunnel_owns_flow(skb, p, zt) ?
			       CNT_IN_ZT_FLOW_TO_ZTUNNEL :
			       CNT_IN_PASS_NODE_LOCAL;
	if (p->proto == IPPROTO_UDP && (!zt || !(zt->flags & ZT_F_CAPTURE_UDP)))
		return CNT_IN_PASS_UDP;
	if (p->proto == IPPROTO_UDP && is_dns_reply(p))
		return CNT_IN_PASS_DNS_REPLY;
	note_nat_client(skb, p);
	return CNT_IN_TO_ZTUNNEL;
}

static __always_inline bool inbound_captures(__u32 cnt)
{
	return cnt == CNT_IN_TO_ZTUNNEL || cnt == CNT_IN_ZT_FLOW_TO_ZTUNNEL;
}

/*
 * Multicast and broadcast destinations (224.0.0.0/4, 255.255.255.255,
 * ff00::/8): addressed to no one pod, never captured. By the IP address,
 * not the frame's MAC: a unicast address in a broadcast frame is still
 * one pod's.
 */
static __always_inline bool group_addr(const struct packet *p)
{
	__u32 a = bpf_ntohl(p->daddr.addr[3]);

	if (p->is_v6)
		return (p->daddr.addr[0] & bpf_htonl(0xff000000)) ==
		       bpf_htonl(0xff000000);
	return (a >> 28) == 0xe || a == 0xffffffff;
}

SEC("tc")
int app_inbound(struct __sk_buff *skb)
{
	const struct ztunnel_value *zt;
	struct packet p;
	struct pod_value *pod;
	__u32 cnt;
	int res = parse_packet(skb, &p);

	if (res == PARSE_NON_IP)
		return count_ret(CNT_IN_PASS_NON_IP, &p, PASS);
	if (res == PARSE_TAGGED)
		return count_ret(CNT_IN_DROP_TAGGED, &p, TC_ACT_SHOT);
	if (res == PARSE_MALFORMED)
		return count_ret(CNT_IN_DROP_MALFORMED, &p, TC_ACT_SHOT);
	if (res == PARSE_OTHER_PROTO)
		return count_ret(CNT_IN_PASS_OTHER_PROTO, &p, PASS);

	/*
	 * Only enrolled veths carry this program: TCP or UDP to an address
	 * the pod was not enrolled with (a secondary address, SLAAC) would
	 * reach it uncaptured, so it is refused, as its packets from such an
	 * address are (drop_spoofed_source).
	 */
	pod = bpf_map_lookup_elem(&pods, &p.daddr);
	if (!pod || pod->host_ifindex != skb->ifindex) {
		if (group_addr(&p))
			return count_ret(CNT_IN_PASS_MULTICAST, &p, PASS);
		return count_ret(CNT_IN_DROP_NOT_ENROLLED, &p, TC_ACT_SHOT);
	}

	zt = current_ztunnel();
	if (p.frag == FRAG_LATER) {
		if (frag_recall(&p, zt) == FRAG_PASS)
			return count_ret(CNT_IN_PASS_FRAG, &p, PASS);
		cnt = CNT_IN_TO_ZTUNNEL;
	} else {
		cnt = inbound_decide(skb, &p, pod, zt);
		frag_remember(&p,
			      inbound_captures(cnt) ? FRAG_CAPTURE : FRAG_PASS,
			      zt);
		if (!inbound_captures(cnt))
			return count_ret(cnt, &p, PASS);
	}
	return to_ztunnel(skb, &p, zt, CAPTURE_INBOUND, cnt,
			  CNT_IN_PASS_FAIL_OPEN, CNT_IN_DROP_NO_ZTUNNEL);
}

/* --- ztunnel_host_in --- */

SEC("tc")
int ztunnel_host_in(struct __sk_buff *skb)
{
	struct packet p;
	struct pod_value *pod;
	int res;

	if (skb->mark == TAG_INBOUND) {
		/* Captured by app_inbound and sent here: on into ztunnel. */
		__builtin_memset(&p, 0, sizeof(p));
		p.len = skb->len;
		if (!current_ztunnel())
			return count_ret(CNT_ZH_DROP_NO_ZTUNNEL, &p,
					 TC_ACT_SHOT);
		count(CNT_ZH_INBOUND_TO_ZTUNNEL, &p);
		return bpf_redirect_peer(skb->ifindex, 0);
	}

	res = parse_packet(skb, &p);
	if (res == PARSE_NON_IP || res == PARSE_TAGGED)
		return count_ret(CNT_ZH_PASS_NON_IP, &p, PASS);
	if (res == PARSE_MALFORMED)
		return count_ret(CNT_ZH_PASS_MALFORMED, &p, PASS);

	/* Any IP packet from ztunnel to a meshed pod here goes straight in, */
	pod = bpf_map_lookup_elem(&pods, &p.daddr);
	if (!pod)
		return count_ret(CNT_ZH_PASS_NOT_POD, &p, PASS);
	/* but an answer on a connection the node's NAT took to ztunnel. */
	if (answers_nat(skb, &p, pod))
		return count_ret(CNT_ZH_PASS_NAT_REPLY, &p, PASS);
	set_dst_mac(skb, pod->mac);
	count(CNT_ZH_TO_POD, &p);
	skb->mark = TAG_FROM_ZTUNNEL; /* pod_guard lets it in */
	return bpf_redirect_peer(pod->host_ifindex, 0);
}

/* --- pod_guard (the pod's own interface, tc ingress, in its netns) --- */

/* Which counter lets this first packet in; 0: it must go to ztunnel. */
static __always_inline __u32 guard_pass(struct __sk_buff *skb,
					const struct packet *p,
					const struct pod_value *pod,
					const struct ztunnel_value *zt)
{
	if (pod->flags & POD_F_EXCL_ANY &&
	    inbound_exclusion(skb, p, pod, zt, true))
		return CNT_GD_PASS_EXCLUDED;
	if (from_node_netns_socket(skb))
		return CNT_GD_PASS_NODE_LOCAL;
	if (p->proto == IPPROTO_UDP &&
	    (!zt || !(zt->flags & ZT_F_CAPTURE_UDP) || is_dns_reply(p)))
		return CNT_GD_PASS_NOT_CAPTURED;
	return 0;
}

/* Back out through the pod's veth, tagged, to app_outbound. */
static __always_inline int guard_return(struct __sk_buff *skb,
					const struct packet *p,
					const struct ztunnel_value *zt)
{
	if (!zt) {
		if (fail_open())
			return count_ret(CNT_GD_PASS_FAIL_OPEN, p, TCX_NEXT);
		return count_ret(CNT_GD_DROP_NO_ZTUNNEL, p, TC_ACT_SHOT);
	}
	if (skb->hash == GUARD_RETURN_HASH)
		return count_ret(CNT_GD_DROP_RETURN_LOST, p, TC_ACT_SHOT);
	count(CNT_GD_RETURN_TO_ZTUNNEL, p);
	skb->mark = TAG_RETURNED;
	bpf_set_hash(skb, GUARD_RETURN_HASH);
	return bpf_redirect_peer(skb->ifindex, 0);
}

/*
 * Alone on the pod's interface, attached as TCX, so it passes with
 * TCX_NEXT in every attach mode (cls_bpf continues on it too).
 */
SEC("tc")
int pod_guard(struct __sk_buff *skb)
{
	const struct ztunnel_value *zt;
	const struct pod_value *pod;
	struct packet p;
	__u32 pass;
	int res;

	if (skb->mark == TAG_FROM_ZTUNNEL) {
		skb->mark = 0; /* ours, not the pod's to see */
		__builtin_memset(&p, 0, sizeof(p));
		p.len = skb->len;
		return count_ret(CNT_GD_PASS_ZTUNNEL, &p, TCX_NEXT);
	}
	res = parse_packet(skb, &p);
	if (res == PARSE_NON_IP || res == PARSE_OTHER_PROTO)
		return count_ret(CNT_GD_PASS_NOT_CAPTURED, &p, TCX_NEXT);
	if (res != PARSE_OK)
		return count_ret(CNT_GD_DROP_MALFORMED, &p, TC_ACT_SHOT);
	/* As app_inbound: an address the pod was not enrolled with. */
	pod = bpf_map_lookup_elem(&pods, &p.daddr);
	if (!pod) {
		if (group_addr(&p))
			return count_ret(CNT_GD_PASS_NOT_CAPTURED, &p,
					 TCX_NEXT);
		return count_ret(CNT_GD_DROP_NOT_ENROLLED, &p, TC_ACT_SHOT);
	}

	zt = current_ztunnel();
	if (p.frag == FRAG_LATER) {
		if (frag_recall(&p, zt) == FRAG_PASS)
			return count_ret(CNT_GD_PASS_NOT_CAPTURED, &p,
					 TCX_NEXT);
		return guard_return(skb, &p, zt);
	}
	pass = guard_pass(skb, &p, pod, zt);
	frag_remember(&p, pass ? FRAG_PASS : FRAG_CAPTURE, zt);
	if (pass)
		return count_ret(pass, &p, TCX_NEXT);
	return guard_return(skb, &p, zt);
}

/* --- ztunnel_ingress (inside ztunnel's netns) --- */

static __always_inline struct bpf_sock *
lookup_established(struct __sk_buff *skb, const struct packet *p)
{
	struct bpf_sock_tuple t = {};
	__u32 len = tuple_of(p, &t, p->dport);

	if (p->proto == IPPROTO_TCP)
		return lookup_established_tcp(skb, &t, len,
					      BPF_F_CURRENT_NETNS);
	return lookup_connected_udp(skb, &t, len, BPF_F_CURRENT_NETNS);
}

static __always_inline struct bpf_sock *
lookup_listener(struct __sk_buff *skb, const struct packet *p, __u16 port)
{
	struct bpf_sock_tuple t = {};
	__u32 len = tuple_of(p, &t, bpf_htons(port));
	struct bpf_sock *sk;

	if (p->proto == IPPROTO_TCP) {
		sk = bpf_sk_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
		if (sk && sk->state != BPF_TCP_LISTEN) {
			bpf_sk_release(sk);
			return NULL;
		}
		return sk;
	}
	return bpf_sk_lookup_udp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
}

/* Which listener a new flow belongs to, and the counter for it. */
static __always_inline __u16 listener_port(const struct packet *p, __u32 tag,
					   __u32 *cnt)
{
	if (tag == TAG_DNS) {
		*cnt = CNT_ZI_ASSIGN_DNS;
		return port_dns;
	}
	if (tag == TAG_OUTBOUND) {
		*cnt = CNT_ZI_ASSIGN_OUTBOUND;
		return port_outbound;
	}
	if (p->dport == bpf_htons(port_hbone)) {
		*cnt = CNT_ZI_ASSIGN_HBONE;
		return port_hbone;
	}
	*cnt = CNT_ZI_ASSIGN_INBOUND;
	return port_inbound;
}

/*
 * The socket choice is counted before the assignment, so the counters show
 * which socket a packet was meant for even when assigning it fails.
 */
static __always_inline int assign(struct __sk_buff *skb, struct bpf_sock *sk,
				  const struct packet *p, __u32 cnt)
{
	long err;

	count(cnt, p);
	err = bpf_sk_assign(skb, sk, 0);
	bpf_sk_release(sk);
	if (err)
		return count_ret(CNT_ZI_DROP_ASSIGN_FAILED, p, TC_ACT_SHOT);
	skb->mark = route_mark;
	/* Our decision is final for this packet: end classification. */
	return TC_ACT_OK;
}

SEC("tc")
int ztunnel_ingress(struct __sk_buff *skb)
{
	__u32 tag = skb->mark, cnt = 0;
	struct bpf_sock *sk;
	struct packet p;
	int res;

	if (tag != TAG_OUTBOUND && tag != TAG_DNS && tag != TAG_INBOUND) {
		__builtin_memset(&p, 0, sizeof(p));
		p.len = skb->len;
		return count_ret(CNT_ZI_PASS_UNTAGGED, &p, PASS);
	}
	res = parse_packet(skb, &p);
	if (res != PARSE_OK)
		return count_ret(CNT_ZI_DROP_MALFORMED, &p, TC_ACT_SHOT);
	if (p.frag != FRAG_NONE) {
		/*
		 * No socket can be assigned to a fragment: deliver locally,
		 * the stack reassembles and finds the flow's socket itself.
		 */
		skb->mark = route_mark;
		return count_ret(CNT_ZI_LOCAL_FRAG, &p, PASS);
	}

	sk = lookup_established(skb, &p);
	if (sk)
		return assign(skb, sk, &p, CNT_ZI_ASSIGN_ESTABLISHED);
	sk = lookup_listener(skb, &p, listener_port(&p, tag, &cnt));
	if (!sk)
		return count_ret(CNT_ZI_DROP_NO_LISTENER, &p, TC_ACT_SHOT);
	return assign(skb, sk, &p, cnt);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";