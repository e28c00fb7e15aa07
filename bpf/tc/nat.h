/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The node's NAT, from its conntrack: the connection a packet answers as
 * its initiator sent it before the NAT, and the nat_clients hint that
 * sends ztunnel's answers on such connections back through the node's
 * stack (note_nat_client sets it, answers_nat reads it).
 */
#ifndef REDIRECT_TC_NAT_H
#define REDIRECT_TC_NAT_H

#include "parse.h"
#include "capture.h"
#include "tc_maps.h"
#include "sockets.h"

/*
 * The node's conntrack (Linux 5.18+, nf_conntrack loaded when the object
 * is): weak, so a kernel without it loads the programs and only loses the
 * NAT check behind a bridge (nat_original then answers false).
 */
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb,
					 struct bpf_sock_tuple *tuple,
					 __u32 tuple_len,
					 struct bpf_ct_opts *opts,
					 __u32 opts_len) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;

/* An address as conntrack holds it, as the maps key it. */
static __always_inline void ct_addr(const union nf_inet_addr *a, bool v6,
				    struct addr_key *k)
{
	if (v6)
		__builtin_memcpy(k->addr, a->all, 16);
	else
		addr_from_v4(k, a->ip);
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

#endif /* REDIRECT_TC_NAT_H */
