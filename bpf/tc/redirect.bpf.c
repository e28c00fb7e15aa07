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
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "redirect_abi.h"
#include "parse.h"
#include "maps.h"
#include "capture.h"

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
/*
 * The node's conntrack (Linux 5.18+, nf_conntrack loaded when the object
 * is): weak, so a kernel without it loads the programs and only loses the
 * NAT check behind a bridge (see ztunnel_dialled_before_nat).
 */
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb,
					 struct bpf_sock_tuple *tuple,
					 __u32 tuple_len,
					 struct bpf_ct_opts *opts,
					 __u32 opts_len) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;

/* Set before load by the loader (rodata). */
const volatile __u32 route_mark = ZT_ROUTE_MARK_DEFAULT;
const volatile __u16 port_outbound = ZT_PORT_OUTBOUND;
const volatile __u16 port_inbound = ZT_PORT_INBOUND;
const volatile __u16 port_hbone = ZT_PORT_HBONE;
const volatile __u16 port_dns = ZT_PORT_DNS;
/*
 * "Nothing to do here, run whatever comes next": TC_ACT_PIPE for cls_bpf
 * filters (--attach tc), TCX_NEXT (-1) when any of ours may sit in a TCX
 * chain (--attach tcx|auto). cls_bpf in direct-action mode treats -1 like
 * TC_ACT_PIPE (an unknown opcode: continue with the next filter), TCX
 * ends the chain on TC_ACT_PIPE, so -1 serves both; tc mode keeps PIPE.
 */
const volatile int pass_verdict = TC_ACT_PIPE;
#define PASS pass_verdict
/*
 * The node netns's cookie: pod_guard lets in what a socket of the node
 * sent (probes), as app_inbound does. 0: unknown, nothing is let in so.
 */
const volatile __u64 node_netns_cookie = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ztunnel_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ztunnel SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DNS_FLOWS_DEFAULT);
	__type(key, struct dns_flow_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dns_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FRAGS_DEFAULT);
	__type(key, struct frag_key);
	__type(value, struct frag_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NAT_HINT_SLOTS);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat_clients SEC(".maps");

static __always_inline void count(__u32 id, const struct packet *p)
{
	count_add(id, p->len);
}

static __always_inline int count_ret(__u32 id, const struct packet *p, int ret)
{
	count(id, p);
	return ret;
}

static __always_inline struct ztunnel_value *current_ztunnel(void)
{
	__u32 zero = 0;
	struct ztunnel_value *zt = bpf_map_lookup_elem(&ztunnel, &zero);

	return zt && zt->present ? zt : NULL;
}

static __always_inline bool fail_open(void)
{
	__u32 zero = 0;
	struct settings *s = bpf_map_lookup_elem(&settings, &zero);

	return s && (s->flags & SET_F_FAIL_OPEN);
}

/*
 * A direct write, not bpf_skb_store_bytes: parse_packet left the Ethernet
 * header linear, and the verifier's prologue unclones a cloned skb first.
 */
static __always_inline void set_dst_mac(struct __sk_buff *skb, const __u8 *mac)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return;
	__builtin_memcpy(eth->h_dest, mac, 6);
}

/* --- fragments: later fragments follow the verdict of their first one --- */

/*
 * What a fragment gets when nothing else is known: TCP is captured, UDP
 * passes unless the ztunnel serves UDP. Only a first fragment that was
 * decided otherwise is remembered (see struct frag_key). A later fragment
 * sent the wrong way cannot escape the mesh: no datagram is reassembled
 * without its first fragment, which was classified with its ports.
 */
static __always_inline __u8 frag_default(const struct packet *p,
					 const struct ztunnel_value *zt)
{
	if (p->proto == IPPROTO_TCP)
		return FRAG_CAPTURE;
	return zt && (zt->flags & ZT_F_CAPTURE_UDP) ? FRAG_CAPTURE : FRAG_PASS;
}

static __always_inline void frag_key_of(const struct packet *p,
					struct frag_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->id = p->frag_id;
	k->proto = p->proto;
}

/* A first fragment's verdict, kept only when it is not the default. */
static __always_inline void frag_remember(const struct packet *p, __u8 verdict,
					  const struct ztunnel_value *zt)
{
	struct frag_key k;
	struct frag_value v = { .verdict = verdict };

	if (p->frag != FRAG_FIRST)
		return;
	frag_key_of(p, &k);
	if (verdict == frag_default(p, zt))
		bpf_map_delete_elem(&frags, &k); /* an older datagram's id */
	else
		bpf_map_update_elem(&frags, &k, &v, BPF_ANY);
}

static __always_inline __u8 frag_recall(const struct packet *p,
					const struct ztunnel_value *zt)
{
	struct frag_key k;
	struct frag_value *v;

	frag_key_of(p, &k);
	v = bpf_map_lookup_elem(&frags, &k);
	return v ? v->verdict : frag_default(p, zt);
}

/* --- the way into ztunnel --- */

enum capture_kind { CAPTURE_OUTBOUND, CAPTURE_DNS, CAPTURE_INBOUND };

/*
 * Hand a captured packet to ztunnel (zt: the program's one read of the
 * slot), or apply the fail mode when there is none; each outcome is
 * counted in the calling program's own counter.
 */
static __always_inline int to_ztunnel(struct __sk_buff *skb,
				      const struct packet *p,
				      const struct ztunnel_value *zt,
				      enum capture_kind kind, __u32 cnt_ok,
				      __u32 cnt_open, __u32 cnt_closed)
{
	if (!zt) {
		if (fail_open())
			return count_ret(cnt_open, p, PASS);
		return count_ret(cnt_closed, p, TC_ACT_SHOT);
	}
	set_dst_mac(skb, zt->mac);
	count(cnt_ok, p);
	if (kind != CAPTURE_INBOUND) {
		skb->mark = kind == CAPTURE_DNS ? TAG_DNS : TAG_OUTBOUND;
		return bpf_redirect_peer(zt->host_ifindex, 0);
	}
	skb->mark = TAG_INBOUND;
	return bpf_redirect(zt->host_ifindex, BPF_F_INGRESS);
}

static __always_inline __u32 tuple_of(const struct packet *p,
				      struct bpf_sock_tuple *t, __u16 dport)
{
	if (!p->is_v6) {
		t->ipv4.saddr = p->saddr.addr[3];
		t->ipv4.daddr = p->daddr.addr[3];
		t->ipv4.sport = p->sport;
		t->ipv4.dport = dport;
		return sizeof(t->ipv4);
	}
	__builtin_memcpy(t->ipv6.saddr, p->saddr.addr, 16);
	__builtin_memcpy(t->ipv6.daddr, p->daddr.addr, 16);
	t->ipv6.sport = p->sport;
	t->ipv6.dport = dport;
	return sizeof(t->ipv6);
}

/*
 * The flow's own socket in netns (an id, or BPF_F_CURRENT_NETNS):
 * established TCP (also a connecting or pending request socket, never
 * TIME_WAIT or a listener) or connected UDP. TCP and UDP stay in
 * separate functions: the verifier will not let one load instruction read
 * from both a sock_common and a full sock pointer.
 */
static __always_inline struct bpf_sock *
lookup_established_tcp(struct __sk_buff *skb, struct bpf_sock_tuple *t,
		       __u32 len, __u32 netns)
{
	struct bpf_sock *sk;

	sk = bpf_skc_lookup_tcp(skb, t, len, netns, 0);
	if (sk &&
	    (sk->state == BPF_TCP_LISTEN || sk->state == BPF_TCP_TIME_WAIT)) {
		bpf_sk_release(sk);
		return NULL;
	}
	return sk;
}

static __always_inline struct bpf_sock *
lookup_connected_udp(struct __sk_buff *skb, struct bpf_sock_tuple *t, __u32 len,
		     __u32 netns)
{
	struct bpf_sock *sk;

	sk = bpf_sk_lookup_udp(skb, t, len, netns, 0);
	if (sk && sk->state != BPF_TCP_ESTABLISHED) {
		bpf_sk_release(sk);
		return NULL;
	}
	return sk;
}

/* --- the node's NAT, from its conntrack --- */

/* An address as conntrack holds it, as the maps key it. */
static __always_inline void ct_addr(const union nf_inet_addr *a, bool v6,
				    struct addr_key *k)
{
	if (v6)
		__builtin_memcpy(k->addr, a->all, 16);
	else
		addr_from_v4(k, a->ip);
}

/* A tuple (from the packet's point of view) of the given ends. */
static __always_inline __u32 tuple_between(const struct addr_key *src,
					   __u16 sport,
					   const struct addr_key *dst,
					   __u16 dport, bool v6,
					   struct bpf_sock_tuple *t)
{
	struct packet q = {
		.saddr = *src, .daddr = *dst, .sport = sport, .is_v6 = v6
	};

	return tuple_of(&q, t, dport);
}

/*
 * The connection this packet answers, as its initiator sent it before the
 * node's NAT: p travels the reply direction of a conntrack entry whose
 * original destination the node translated (a Service address, a hostPort,
 * a NodePort). orig_src, orig_sport: the initiator; orig_dst,
 * orig_dport: where it sent it. False without such an entry, or without
 * conntrack (the kfunc is weak).
 */
static __always_inline bool
nat_original(struct __sk_buff *skb, const struct packet *p,
	     struct addr_key *orig_src, __u16 *orig_sport,
	     struct addr_key *orig_dst, __u16 *orig_dport)
{
	struct bpf_ct_opts opts = { .netns_id = -1, .l4proto = p->proto };
	struct nf_conntrack_tuple *o, *r;
	struct bpf_sock_tuple t = {};
	struct addr_key rsrc, rdst;
	struct nf_conn *ct;
	bool answers;
	__u32 len;

	if (!bpf_skb_ct_lookup || p->frag == FRAG_LATER)
		return false;
	len = tuple_of(p, &t, p->dport);
	ct = bpf_skb_ct_lookup(skb, &t, len, &opts, sizeof(opts));
	if (!ct)
		return false;
	o = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	r = &ct->tuplehash[IP_CT_DIR_REPLY].tuple;
	ct_addr(&r->src.u3, p->is_v6, &rsrc);
	ct_addr(&r->dst.u3, p->is_v6, &rdst);
	ct_addr(&o->src.u3, p->is_v6, orig_src);
	ct_addr(&o->dst.u3, p->is_v6, orig_dst);
	*orig_sport = o->src.u.all;
	*orig_dport = o->dst.u.all;
	answers = addr_eq(&rsrc, &p->saddr) && r->src.u.all == p->sport &&
		  addr_eq(&rdst, &p->daddr) && r->dst.u.all == p->dport;
	bpf_ct_release(ct);
	/* translated: the answer does not come from where it was sent */
	return answers &&
	       (!addr_eq(orig_dst, &p->saddr) || *orig_dport != p->sport);
}

/*
 * nat_clients: a pod once seen opening, from this node, a connection
 * that the node's NAT sent on to a meshed pod here. Only ztunnel's
 * packets to such a pod ask conntrack whether they answer one.
 */
static __always_inline __u8 *nat_client_hint(__u32 host_ifindex)
{
	__u32 slot = host_ifindex & (NAT_HINT_SLOTS - 1);

	return bpf_map_lookup_elem(&nat_clients, &slot);
}

/* --- app_outbound --- */

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

/*
 * The flow's socket in ztunnel's netns, by the netns id the control plane
 * published: an established (or connecting) TCP socket, a connected UDP
 * one. ztunnel connects with the client pod's address, so a node server's
 * answer to one of ztunnel's connections is addressed to a pod, and a
 * pod's packet can belong to a connection ztunnel made to it.
 */
static __always_inline bool ztunnel_owns_flow(struct __sk_buff *skb,
					      const struct packet *p,
					      const struct ztunnel_value *zt)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len;

	if (!zt || zt->netns_id < 0 || p->frag == FRAG_LATER)
		return false;
	len = tuple_of(p, &t, p->dport);
	if (p->proto == IPPROTO_TCP)
		sk = lookup_established_tcp(skb, &t, len, (__u32)zt->netns_id);
	else
		sk = lookup_connected_udp(skb, &t, len, (__u32)zt->netns_id);
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

/*
 * A node server listening at addr:port (of this device's netns).
 * Asked with no source, so only a listener (TCP) or an unconnected
 * socket (UDP) can answer.
 */
static __always_inline bool node_serves(struct __sk_buff *skb,
					const struct packet *p,
					const struct addr_key *addr, __u16 port)
{
	struct addr_key none = {};
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 len = tuple_between(&none, 0, addr, port, p->is_v6, &t);

	if (p->proto == IPPROTO_TCP)
		sk = bpf_sk_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(skb, &t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

/*
 * The node's socket for the tuple t (from the packet's point of view),
 * any state but a listener's; TIME_WAIT too, for the last segments of a
 * probe the node closed. Two functions: the verifier will not let one
 * load read both a sock_common and a full sock.
 */
static __always_inline bool node_tcp_socket(struct __sk_buff *skb,
					    struct bpf_sock_tuple *t, __u32 len)
{
	struct bpf_sock *sk;
	bool found;

	sk = bpf_skc_lookup_tcp(skb, t, len, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return false;
	found = sk->state != BPF_TCP_LISTEN;
	bpf_sk_release(sk);
	return found;
}

static __always_inline bool node_udp_socket(struct __sk_buff *skb,
					    struct bpf_sock_tuple *t, __u32 len)
{
	struct bpf_sock *sk =
		lookup_connected_udp(skb, t, len, BPF_F_CURRENT_NETNS);

	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

/*
 * Did a socket of the node open the connection whose end node:node_port
 * is, with the pod's end at peer:peer_port? The node's socket for it, and
 * no node server at node:node_port: a socket the node accepted sits on a
 * listener's port (ztunnel's connection to a node server, say, which a
 * pod could otherwise reuse from its TIME_WAIT), one it opened on an
 * ephemeral port no server holds.
 */
static __always_inline bool
node_opened(struct __sk_buff *skb, const struct packet *p,
	    const struct addr_key *peer, __u16 peer_port,
	    const struct addr_key *node, __u16 node_port)
{
	struct bpf_sock_tuple t = {};
	__u32 len =
		tuple_between(peer, peer_port, node, node_port, p->is_v6, &t);
	bool found = p->proto == IPPROTO_TCP ? node_tcp_socket(skb, &t, len) :
					       node_udp_socket(skb, &t, len);

	return found && !node_serves(skb, p, node, node_port);
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

/*
 * Sent by a socket of the node's own netns (kubelet probes, node agents,
 * replies of node servers): the only inbound traffic that skips capture.
 * A forwarded packet has no socket (the stack drops it on IP receive), so
 * a NodePort hop masqueraded to a node address or a spoofed node source is
 * captured like any other. The socket's netns is compared with the
 * device's, in case another program redirected a pod's own packet here.
 */
/* The sending socket of skb when it is an IP socket, else NULL. */
static __always_inline struct sock *ip_socket_of(struct sk_buff *kskb)
{
	struct sock *sk = kskb->sk;
	__u16 family;
	__u8 state;

	if (!sk)
		return NULL;
	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	/*
	 * TIME_WAIT and request sockets are only a sock_common; every full
	 * socket has a type, test_run's stand-in (sock_init_data without a
	 * socket) has none.
	 */
	state = sk->__sk_common.skc_state;
	if (state != TCP_TIME_WAIT && state != TCP_NEW_SYN_RECV && !sk->sk_type)
		return NULL;
	return sk;
}

static __always_inline bool from_node_socket(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct net_device *dev = kskb->dev;
	struct sock *sk = ip_socket_of(kskb);

	return sk && dev && sk->__sk_common.skc_net.net == dev->nd_net.net;
}

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
 * A connection from a meshed pod of this node that the node's NAT sent on
 * to this pod (typically ztunnel's, which dialled a Service address or a
 * hostPort with its client's address). It is captured like any inbound
 * connection, so this pod's inbound policy holds; ztunnel's answers from
 * its inbound side must then go back through the node's NAT, not straight
 * into the client pod (ztunnel_host_in): the client is marked for that.
 */
static __always_inline void note_nat_client(struct __sk_buff *skb,
					    const struct packet *p)
{
	struct packet answer = *p;
	struct addr_key osrc, odst;
	__u16 osport, odport;
	struct pod_value *client;
	__u8 *hint;

	client = bpf_map_lookup_elem(&pods, &p->saddr);
	if (!client)
		return;
	hint = nat_client_hint(client->host_ifindex);
	if (!hint || *hint)
		return;
	answer.saddr = p->daddr;
	answer.sport = p->dport;
	answer.daddr = p->saddr;
	answer.dport = p->sport;
	if (nat_original(skb, &answer, &osrc, &osport, &odst, &odport))
		*hint = 1;
}

/*
 * The counter of this first packet's decision: a pass_* one lets it in,
 * a redirect_* one captures it. A node socket's packet passes, unless it
 * answers one of ztunnel's connections (made with this pod's address) to
 * a node server.
 */
static __always_inline __u32 inbound_decide(struct __sk_buff *skb,
					    const struct packet *p,
					    const struct ztunnel_value *zt)
{
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
		cnt = inbound_decide(skb, &p, zt);
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

/*
 * ztunnel's inbound side answering a connection that came to it through
 * the node's NAT (see note_nat_client): back through the node's stack,
 * which reverses the NAT and routes it to the client pod, where it is
 * captured to the ztunnel socket that made the connection.
 */
static __always_inline bool answers_nat(struct __sk_buff *skb,
					const struct packet *p,
					const struct pod_value *client)
{
	struct addr_key osrc, odst;
	__u16 osport, odport;
	__u8 *hint = nat_client_hint(client->host_ifindex);

	return hint && *hint &&
	       nat_original(skb, p, &osrc, &osport, &odst, &odport);
}

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

/*
 * Sent by a socket of the node netns and not forwarded on the way (IP
 * receive drops the socket; a veth crossing keeps it): what app_inbound
 * lets through as node-local, seen from inside the pod.
 */
static __always_inline bool from_node_netns_socket(struct __sk_buff *skb)
{
	struct sock *sk = ip_socket_of(bpf_cast_to_kern_ctx(skb));

	return sk && node_netns_cookie &&
	       sk->__sk_common.skc_net.net->net_cookie == node_netns_cookie;
}

/* Which counter lets this first packet in; 0: it must go to ztunnel. */
static __always_inline __u32 guard_pass(struct __sk_buff *skb,
					const struct packet *p,
					const struct ztunnel_value *zt)
{
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
	if (!bpf_map_lookup_elem(&pods, &p.daddr)) {
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
	pass = guard_pass(skb, &p, zt);
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
