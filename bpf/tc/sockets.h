/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket lookups for the tc programs: a flow's tuple, its established or
 * connected socket (in this netns or in ztunnel's), the node's own
 * sockets and servers, and the sending socket of a packet (is it one of
 * the node's?).
 */
#ifndef REDIRECT_TC_SOCKETS_H
#define REDIRECT_TC_SOCKETS_H

#include "kernel_defs.h"
#include "parse.h"
#include "tc_maps.h"

/* The skb behind a program's context: the sending socket, the device. */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* The socket tuple of p (from the packet's point of view), towards dport. */
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

/*
 * Sent by a socket of the node's own netns (kubelet probes, node agents,
 * replies of node servers): the only inbound traffic that skips capture.
 * A forwarded packet has no socket (the stack drops it on IP receive), so
 * a NodePort hop masqueraded to a node address or a spoofed node source is
 * captured like any other. The socket's netns is compared with the
 * device's, in case another program redirected a pod's own packet here.
 */
static __always_inline bool from_node_socket(struct __sk_buff *skb)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);
	struct net_device *dev = kskb->dev;
	struct sock *sk = ip_socket_of(kskb);

	return sk && dev && sk->__sk_common.skc_net.net == dev->nd_net.net;
}

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

#endif /* REDIRECT_TC_SOCKETS_H */
