// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture: a CNI with eBPF host routing (Cilium's BPF host routing,
 * Calico's eBPF dataplane), on the node's uplink, tc ingress. A packet
 * for an address in `routes` goes straight into that pod's netns with
 * bpf_redirect_peer on its host veth: the veth's egress hook, where
 * app_inbound sits, never sees it. Everything else takes the stack.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "kernel_defs.h"

/* An address as 16 bytes, IPv4 as ::ffff:a.b.c.d. */
struct route_key {
	__u32 addr[4];
};

struct route {
	__u32 host_ifindex; /* the pod's host veth */
	__u8 mac[6]; /* the pod's interface */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct route_key);
	__type(value, struct route);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} delivered SEC(".maps");

static __always_inline int dst_of(struct __sk_buff *skb, struct route_key *k)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return -1;
		k->addr[2] = bpf_htonl(0xffff);
		k->addr[3] = ip->daddr;
		return 0;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return -1;
		__builtin_memcpy(k->addr, &ip6->daddr, 16);
		return 0;
	}
	return -1;
}

SEC("tc")
int peer_deliver(struct __sk_buff *skb)
{
	struct route_key k = {};
	struct route *r;
	__u32 zero = 0;
	__u64 *n;

	if (dst_of(skb, &k))
		return TCX_NEXT;
	r = bpf_map_lookup_elem(&routes, &k);
	if (!r)
		return TCX_NEXT;
	if (bpf_skb_store_bytes(skb, 0, r->mac, 6, 0))
		return TC_ACT_SHOT;
	n = bpf_map_lookup_elem(&delivered, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	return bpf_redirect_peer(r->host_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
