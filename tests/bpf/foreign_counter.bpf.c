// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture: another owner's tc filter. It counts the TCP segments it
 * sees (neighbour discovery and ARP come and go with timers; a test would
 * count them by chance) and passes everything on (TC_ACT_PIPE), so a test
 * can prove that traffic our programs pass through still reaches filters
 * placed after ours, and that what we redirect does not.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "kernel_defs.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("tc")
int foreign_counter(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&hits, &zero);
	__u16 proto;
	__u8 l4 = 0;

	if (bpf_skb_load_bytes(skb, 12, &proto, 2))
		return TC_ACT_PIPE;
	if (proto == __builtin_bswap16(ETH_P_IP))
		bpf_skb_load_bytes(skb, ETH_HLEN + 9, &l4, 1);
	else if (proto == __builtin_bswap16(ETH_P_IPV6))
		bpf_skb_load_bytes(skb, ETH_HLEN + 6, &l4, 1);
	else
		return TC_ACT_PIPE;
	if (n && l4 == IPPROTO_TCP)
		__sync_fetch_and_add(n, 1);
	return TC_ACT_PIPE;
}

char LICENSE[] SEC("license") = "GPL";
