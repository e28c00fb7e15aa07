// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The tc programs that steer meshed pods' traffic through ztunnel.
 *
 *   app_outbound    pod host veth, tc ingress   (packets leaving a pod)
 *   app_inbound     pod host veth, tc egress    (packets entering a pod)
 *   ztunnel_host_in ztunnel host veth, tc ingress (packets leaving ztunnel)
 *   ztunnel_ingress ztunnel's own interface, tc ingress, in ztunnel's netns
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
 * Every path with nothing to do returns TC_ACT_PIPE so later filters run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "redirect_abi.h"
#include "parse.h"

#define TC_ACT_OK_ 0
#define TC_ACT_SHOT_ 2
#define TC_ACT_PIPE_ 3
#define BPF_F_INGRESS_ (1ULL << 0)
#define BPF_F_CURRENT_NETNS_ (-1L)
#define TCP_LISTEN_ 10
#define TCP_TIME_WAIT_ 6
#define TCP_ESTABLISHED_ 1

/* Set before load by the loader (rodata). */
const volatile __u32 route_mark = ZT_ROUTE_MARK_DEFAULT;
const volatile __u16 port_outbound = ZT_PORT_OUTBOUND;
const volatile __u16 port_inbound = ZT_PORT_INBOUND;
const volatile __u16 port_hbone = ZT_PORT_HBONE;
const volatile __u16 port_dns = ZT_PORT_DNS;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POD_ADDRS_DEFAULT);
	__type(key, struct addr_key);
	__type(value, struct pod_info);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pods SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ztunnel_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ztunnel SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NODE_ADDRS_MAX);
	__type(key, struct addr_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct node_addr_list);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_addr_list SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, struct counter_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

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

static __always_inline void count(__u32 id, const struct packet *p)
{
	struct counter_value *v = bpf_map_lookup_elem(&counters, &id);

	if (v) {
		v->packets++;
		v->bytes += p->len;
	}
}

static __always_inline int count_ret(__u32 id, const struct packet *p,
				     int ret)
{
	count(id, p);
	return ret;
}

static __always_inline struct ztunnel_info *current_ztunnel(void)
{
	__u32 zero = 0;
	struct ztunnel_info *zt = bpf_map_lookup_elem(&ztunnel, &zero);

	return zt && zt->present ? zt : NULL;
}

static __always_inline bool fail_open(void)
{
	__u32 zero = 0;
	struct settings *s = bpf_map_lookup_elem(&settings, &zero);

	return s && (s->flags & SET_F_FAIL_OPEN);
}

static __always_inline bool addr_eq(const struct addr_key *x,
				    const struct addr_key *y)
{
	/* The last word first: it is where addresses of one node differ. */
	return x->addr[3] == y->addr[3] && x->addr[2] == y->addr[2] &&
	       x->addr[1] == y->addr[1] && x->addr[0] == y->addr[0];
}

/*
 * A scan of the short list (an inlined array lookup and a few compares)
 * costs about half of a hash lookup; the hash answers only when the list
 * does not hold every address.
 */
static __always_inline bool is_node_addr(const struct addr_key *a)
{
	__u32 zero = 0, i;
	struct node_addr_list *l = bpf_map_lookup_elem(&node_addr_list, &zero);

	if (!l || !l->complete)
		return bpf_map_lookup_elem(&node_addrs, a) != NULL;
	for (i = 0; i < NODE_ADDRS_INLINE && i < l->n; i++)
		if (addr_eq(&l->addrs[i], a))
			return true;
	return false;
}

static __always_inline bool is_dns(const struct packet *p, __u16 port)
{
	return port == bpf_htons(DNS_PORT) &&
	       (p->proto == IPPROTO_TCP_ || p->proto == IPPROTO_UDP_);
}

/*
 * A direct write, not bpf_skb_store_bytes: parse_packet left the Ethernet
 * header linear, and the verifier's prologue unclones a cloned skb first.
 */
static __always_inline void set_dst_mac(struct __sk_buff *skb,
					const __u8 *mac)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return;
	__builtin_memcpy(eth->h_dest, mac, 6);
}

/* --- fragments: later fragments follow the verdict of their first one --- */

static __always_inline void frag_key_of(const struct packet *p,
					struct frag_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->id = p->frag_id;
	k->proto = p->proto;
}

static __always_inline void frag_remember(const struct packet *p, __u8 verdict)
{
	struct frag_key k;
	struct frag_value v = { .verdict = verdict };

	if (p->frag != FRAG_FIRST)
		return;
	frag_key_of(p, &k);
	bpf_map_update_elem(&frags, &k, &v, BPF_ANY);
}

static __always_inline __u8 frag_recall(const struct packet *p)
{
	struct frag_key k;
	struct frag_value *v;

	frag_key_of(p, &k);
	v = bpf_map_lookup_elem(&frags, &k);
	return v ? v->verdict : 0;
}

/* --- the way into ztunnel --- */

enum capture_kind { CAPTURE_OUTBOUND, CAPTURE_INBOUND };

/*
 * Hand a captured packet to ztunnel, or apply the fail mode when there is
 * none; each outcome is counted in the calling program's own counter.
 */
static __always_inline int to_ztunnel(struct __sk_buff *skb,
				      const struct packet *p,
				      enum capture_kind kind, __u32 cnt_ok,
				      __u32 cnt_open, __u32 cnt_closed)
{
	struct ztunnel_info *zt = current_ztunnel();

	if (!zt) {
		if (fail_open())
			return count_ret(cnt_open, p, TC_ACT_PIPE_);
		return count_ret(cnt_closed, p, TC_ACT_SHOT_);
	}
	set_dst_mac(skb, zt->mac);
	count(cnt_ok, p);
	if (kind == CAPTURE_OUTBOUND) {
		skb->mark = TAG_OUTBOUND;
		return bpf_redirect_peer(zt->host_ifindex, 0);
	}
	skb->mark = TAG_INBOUND;
	return bpf_redirect(zt->host_ifindex, BPF_F_INGRESS_);
}

/* --- app_outbound --- */

enum verdict { V_CAPTURE, V_PASS_NODE, V_PASS_DNS, V_CAPTURE_DNS };

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

static __always_inline enum verdict outbound_verdict(const struct packet *p,
						     const struct pod_info *pod)
{
	if (is_node_addr(&p->daddr))
		return V_PASS_NODE;
	if (is_dns(p, p->dport)) {
		if (pod->flags & POD_F_DNS_CAPTURE)
			return V_CAPTURE_DNS;
		return V_PASS_DNS;
	}
	return V_CAPTURE;
}

SEC("tc")
int app_outbound(struct __sk_buff *skb)
{
	struct packet p;
	struct pod_info *pod;
	enum verdict v;
	int res = parse_packet(skb, &p);

	if (res == PARSE_NON_IP)
		return count_ret(CNT_OUT_PASS_NON_IP, &p, TC_ACT_PIPE_);
	if (res == PARSE_MALFORMED)
		return count_ret(CNT_OUT_DROP_MALFORMED, &p, TC_ACT_SHOT_);
	if (res == PARSE_OTHER_PROTO)
		return count_ret(CNT_OUT_PASS_OTHER_PROTO, &p, TC_ACT_PIPE_);

	/* Only the pod's own addresses may leave through its veth. */
	pod = bpf_map_lookup_elem(&pods, &p.saddr);
	if (!pod || pod->host_ifindex != skb->ifindex)
		return count_ret(CNT_OUT_DROP_SPOOFED, &p, TC_ACT_SHOT_);

	if (p.frag == FRAG_LATER) {
		__u8 fv = frag_recall(&p);

		if (!fv)
			return count_ret(CNT_OUT_DROP_FRAG_UNKNOWN, &p,
					 TC_ACT_SHOT_);
		if (fv == FRAG_PASS)
			return count_ret(CNT_OUT_PASS_FRAG, &p, TC_ACT_PIPE_);
		return to_ztunnel(skb, &p, CAPTURE_OUTBOUND,
				  CNT_OUT_TO_ZTUNNEL, CNT_OUT_PASS_FAIL_OPEN,
				  CNT_OUT_DROP_NO_ZTUNNEL);
	}

	v = outbound_verdict(&p, pod);
	frag_remember(&p, v == V_PASS_NODE || v == V_PASS_DNS ? FRAG_PASS :
								 FRAG_CAPTURE);
	switch (v) {
	case V_PASS_NODE:
		return count_ret(CNT_OUT_PASS_NODE_ADDR, &p, TC_ACT_PIPE_);
	case V_PASS_DNS:
		remember_dns_flow(&p);
		return count_ret(CNT_OUT_PASS_DNS, &p, TC_ACT_PIPE_);
	case V_CAPTURE_DNS:
		return to_ztunnel(skb, &p, CAPTURE_OUTBOUND,
				  CNT_OUT_DNS_TO_ZTUNNEL,
				  CNT_OUT_PASS_FAIL_OPEN,
				  CNT_OUT_DROP_NO_ZTUNNEL);
	default:
		return to_ztunnel(skb, &p, CAPTURE_OUTBOUND,
				  CNT_OUT_TO_ZTUNNEL, CNT_OUT_PASS_FAIL_OPEN,
				  CNT_OUT_DROP_NO_ZTUNNEL);
	}
}

/* --- app_inbound --- */

static __always_inline bool is_dns_reply(const struct packet *p)
{
	struct dns_flow_key k;

	if (!is_dns(p, p->sport))
		return false;
	__builtin_memset(&k, 0, sizeof(k));
	k.pod = p->daddr;
	k.server = p->saddr;
	k.pod_port = p->dport;
	k.proto = p->proto;
	return bpf_map_lookup_elem(&dns_flows, &k) != NULL;
}

SEC("tc")
int app_inbound(struct __sk_buff *skb)
{
	struct packet p;
	struct pod_info *pod;
	int res = parse_packet(skb, &p);

	if (res == PARSE_NON_IP)
		return count_ret(CNT_IN_PASS_NON_IP, &p, TC_ACT_PIPE_);
	if (res == PARSE_MALFORMED)
		return count_ret(CNT_IN_DROP_MALFORMED, &p, TC_ACT_SHOT_);
	if (res == PARSE_OTHER_PROTO)
		return count_ret(CNT_IN_PASS_OTHER_PROTO, &p, TC_ACT_PIPE_);

	pod = bpf_map_lookup_elem(&pods, &p.daddr);
	if (!pod || pod->host_ifindex != skb->ifindex)
		return count_ret(CNT_IN_PASS_NOT_POD, &p, TC_ACT_PIPE_);

	if (p.frag == FRAG_LATER) {
		__u8 fv = frag_recall(&p);

		if (!fv)
			return count_ret(CNT_IN_DROP_FRAG_UNKNOWN, &p,
					 TC_ACT_SHOT_);
		if (fv == FRAG_PASS)
			return count_ret(CNT_IN_PASS_FRAG, &p, TC_ACT_PIPE_);
	} else if (is_node_addr(&p.saddr)) {
		/* kubelet probes and replies to the pod's node traffic */
		frag_remember(&p, FRAG_PASS);
		return count_ret(CNT_IN_PASS_NODE_ADDR, &p, TC_ACT_PIPE_);
	} else if (is_dns_reply(&p)) {
		frag_remember(&p, FRAG_PASS);
		return count_ret(CNT_IN_PASS_DNS_REPLY, &p, TC_ACT_PIPE_);
	} else {
		frag_remember(&p, FRAG_CAPTURE);
	}
	return to_ztunnel(skb, &p, CAPTURE_INBOUND, CNT_IN_TO_ZTUNNEL,
			  CNT_IN_PASS_FAIL_OPEN, CNT_IN_DROP_NO_ZTUNNEL);
}

/* --- ztunnel_host_in --- */

SEC("tc")
int ztunnel_host_in(struct __sk_buff *skb)
{
	struct packet p;
	struct pod_info *pod;
	int res;

	if (skb->mark == TAG_INBOUND) {
		/* Captured by app_inbound and sent here: on into ztunnel. */
		__builtin_memset(&p, 0, sizeof(p));
		p.len = skb->len;
		if (!current_ztunnel())
			return count_ret(CNT_ZH_DROP_NO_ZTUNNEL, &p,
					 TC_ACT_SHOT_);
		count(CNT_ZH_INBOUND_TO_ZTUNNEL, &p);
		return bpf_redirect_peer(skb->ifindex, 0);
	}

	res = parse_packet(skb, &p);
	if (res == PARSE_NON_IP)
		return count_ret(CNT_ZH_PASS_NON_IP, &p, TC_ACT_PIPE_);
	if (res == PARSE_MALFORMED)
		return count_ret(CNT_ZH_PASS_MALFORMED, &p, TC_ACT_PIPE_);

	/* Any IP packet from ztunnel to a meshed pod here goes straight in. */
	pod = bpf_map_lookup_elem(&pods, &p.daddr);
	if (!pod)
		return count_ret(CNT_ZH_PASS_NOT_POD, &p, TC_ACT_PIPE_);
	set_dst_mac(skb, pod->mac);
	count(CNT_ZH_TO_POD, &p);
	return bpf_redirect_peer(pod->host_ifindex, 0);
}

/* --- ztunnel_ingress (inside ztunnel's netns) --- */

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
 * The flow's own socket: established TCP (also a pending request socket,
 * never TIME_WAIT or a listener) or connected UDP. TCP and UDP stay in
 * separate functions: the verifier will not let one load instruction read
 * from both a sock_common and a full sock pointer.
 */
static __always_inline struct bpf_sock *
lookup_established_tcp(struct __sk_buff *skb, struct bpf_sock_tuple *t,
		       __u32 len)
{
	struct bpf_sock *sk;

	sk = bpf_skc_lookup_tcp(skb, t, len, BPF_F_CURRENT_NETNS_, 0);
	if (sk && (sk->state == TCP_LISTEN_ || sk->state == TCP_TIME_WAIT_)) {
		bpf_sk_release(sk);
		return NULL;
	}
	return sk;
}

static __always_inline struct bpf_sock *
lookup_connected_udp(struct __sk_buff *skb, struct bpf_sock_tuple *t,
		     __u32 len)
{
	struct bpf_sock *sk;

	sk = bpf_sk_lookup_udp(skb, t, len, BPF_F_CURRENT_NETNS_, 0);
	if (sk && sk->state != TCP_ESTABLISHED_) {
		bpf_sk_release(sk);
		return NULL;
	}
	return sk;
}

static __always_inline struct bpf_sock *
lookup_established(struct __sk_buff *skb, const struct packet *p)
{
	struct bpf_sock_tuple t = {};
	__u32 len = tuple_of(p, &t, p->dport);

	if (p->proto == IPPROTO_TCP_)
		return lookup_established_tcp(skb, &t, len);
	return lookup_connected_udp(skb, &t, len);
}

static __always_inline struct bpf_sock *
lookup_listener(struct __sk_buff *skb, const struct packet *p, __u16 port)
{
	struct bpf_sock_tuple t = {};
	__u32 len = tuple_of(p, &t, bpf_htons(port));
	struct bpf_sock *sk;

	if (p->proto == IPPROTO_TCP_) {
		sk = bpf_sk_lookup_tcp(skb, &t, len, BPF_F_CURRENT_NETNS_, 0);
		if (sk && sk->state != TCP_LISTEN_) {
			bpf_sk_release(sk);
			return NULL;
		}
		return sk;
	}
	return bpf_sk_lookup_udp(skb, &t, len, BPF_F_CURRENT_NETNS_, 0);
}

/* Which listener a new flow belongs to, and the counter for it. */
static __always_inline __u16 listener_port(const struct packet *p, __u32 tag,
					   __u32 *cnt)
{
	if (tag == TAG_OUTBOUND) {
		if (p->dport == bpf_htons(DNS_PORT)) {
			*cnt = CNT_ZI_ASSIGN_DNS;
			return port_dns;
		}
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
		return count_ret(CNT_ZI_DROP_ASSIGN_FAILED, p, TC_ACT_SHOT_);
	skb->mark = route_mark;
	/* Our decision is final for this packet: end classification. */
	return TC_ACT_OK_;
}

SEC("tc")
int ztunnel_ingress(struct __sk_buff *skb)
{
	__u32 tag = skb->mark, cnt = 0;
	struct bpf_sock *sk;
	struct packet p;
	int res;

	if (tag != TAG_OUTBOUND && tag != TAG_INBOUND) {
		__builtin_memset(&p, 0, sizeof(p));
		p.len = skb->len;
		return count_ret(CNT_ZI_PASS_UNTAGGED, &p, TC_ACT_PIPE_);
	}
	res = parse_packet(skb, &p);
	if (res != PARSE_OK)
		return count_ret(CNT_ZI_DROP_MALFORMED, &p, TC_ACT_SHOT_);
	if (p.frag != FRAG_NONE) {
		/*
		 * No socket can be assigned to a fragment: deliver locally,
		 * the stack reassembles and finds the flow's socket itself.
		 */
		skb->mark = route_mark;
		return count_ret(CNT_ZI_LOCAL_FRAG, &p, TC_ACT_PIPE_);
	}

	sk = lookup_established(skb, &p);
	if (sk)
		return assign(skb, sk, &p, CNT_ZI_ASSIGN_ESTABLISHED);
	sk = lookup_listener(skb, &p, listener_port(&p, tag, &cnt));
	if (!sk)
		return count_ret(CNT_ZI_DROP_NO_LISTENER, &p, TC_ACT_SHOT_);
	return assign(skb, sk, &p, cnt);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
