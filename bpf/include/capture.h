/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The capture rule: which of a meshed pod's outbound flows go through
 * ztunnel. Written once, used by app_outbound for every packet and by
 * sockops_add for every connection it might accelerate, so sockmap never
 * shortcuts a connection that tc does not send to ztunnel.
 * The table in docs/datapath.md says the same in words.
 */
#ifndef REDIRECT_CAPTURE_H
#define REDIRECT_CAPTURE_H

#include "maps.h"

enum capture_rule {
	RULE_CAPTURE, /* to ztunnel's outbound listener (15001) */
	RULE_CAPTURE_DNS, /* DNS, DNS capture on: ztunnel's DNS port (15053) */
	RULE_PASS_NODE_REPLY, /* a reply on a connection a node socket opened */
	RULE_PASS_UDP, /* UDP that ztunnel does not serve */
	RULE_PASS_DNS, /* UDP DNS, DNS capture off, all-UDP capture on */
};

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

/*
 * Istio ambient's rule: every TCP connection goes to ztunnel (port 53
 * too), whatever its destination: a node address is no exemption, since
 * Service addresses (kube-ipvs0), hostPorts and NodePorts are node
 * addresses behind which the node's NAT picks a pod. UDP only for DNS and
 * only with DNS capture, because ztunnel has no other UDP listener:
 * capturing the rest would black-hole it. A ztunnel enrolled with all-UDP
 * capture (ZT_F_CAPTURE_UDP) serves UDP on its listeners and gets all of
 * it, DNS without DNS capture excepted. node_reply: the flow belongs to a
 * connection a socket of the node opened into the pod (kubelet probes),
 * which was never captured inbound, so its replies are not either.
 * dport is in network order.
 */
static __always_inline enum capture_rule
capture_outbound(__u8 proto, __u16 dport, bool node_reply, __u16 pod_flags,
		 __u8 zt_flags)
{
	bool dns = dport == bpf_htons(DNS_PORT);

	if (node_reply)
		return RULE_PASS_NODE_REPLY;
	if (dns && (pod_flags & POD_F_DNS_CAPTURE))
		return RULE_CAPTURE_DNS;
	if (proto == IPPROTO_TCP)
		return RULE_CAPTURE;
	if (!(zt_flags & ZT_F_CAPTURE_UDP))
		return RULE_PASS_UDP;
	return dns ? RULE_PASS_DNS : RULE_CAPTURE;
}

static __always_inline bool rule_captures(enum capture_rule r)
{
	return r == RULE_CAPTURE || r == RULE_CAPTURE_DNS;
}

#endif /* REDIRECT_CAPTURE_H */
