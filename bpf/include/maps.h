/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The maps both BPF objects read: the tc programs (bpf/tc) and sockmap
 * acceleration (bpf/sockops). Declared once, pinned by name: whichever
 * object loads second finds the first one's pins under the same folder and
 * reuses them (libbpf checks type, key, value, size and flags), so both
 * always see the same pods and node addresses. Maps only one object uses
 * stay in that object's source.
 */
#ifndef REDIRECT_MAPS_H
#define REDIRECT_MAPS_H

#include "redirect_abi.h"

/* A meshed pod's address -> its veth, MAC and flags. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POD_ADDRS_DEFAULT);
	__type(key, struct addr_key);
	__type(value, struct pod_value);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} pods SEC(".maps");

/* Every address of the node's netns (the full set). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NODE_ADDRS_MAX);
	__type(key, struct addr_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_addrs SEC(".maps");

/* The same addresses as a short list, scanned without a hash lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct node_addr_list);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_addr_list SEC(".maps");

/* Pods' excluded outbound destinations (exclude.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, EXCL_CIDRS_DEFAULT);
	__type(key, struct excl_cidr_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} excl_cidrs SEC(".maps");

/* Pods' excluded ports, outbound and inbound (exclude.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EXCL_PORTS_DEFAULT);
	__type(key, struct excl_port_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} excl_ports SEC(".maps");

/*
 * The layout version of the maps pinned beside it (key 0), written by the
 * control plane after each load: the next build reads it to decide which
 * pins it may take over (ctl/lib/upgrade.h). No program reads it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} layout SEC(".maps");

/* One counter per decision of every program (REDIRECT_COUNTERS). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, struct counter_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

static __always_inline void count_add(__u32 id, __u64 bytes)
{
	struct counter_value *v = bpf_map_lookup_elem(&counters, &id);

	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

#endif /* REDIRECT_MAPS_H */
