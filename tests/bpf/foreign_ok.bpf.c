// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixture: a CNI's TCX program as Cilium's are. It counts the packets
 * it sees and ends the chain with TC_ACT_OK (TCX_PASS): nothing after it
 * runs, legacy clsact filters included.
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
int foreign_ok(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&hits, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
