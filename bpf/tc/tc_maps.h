/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the tc programs alone share (the maps both objects use are in
 * bpf/include/maps.h): the settings the loader writes before load
 * (rodata), the maps of this object only, and their plain readers:
 * counting a decision, the ztunnel slot, the fail mode. Included once, by
 * bpf/tc/redirect.bpf.c: it defines what it declares.
 */
#ifndef REDIRECT_TC_MAPS_H
#define REDIRECT_TC_MAPS_H

#include "redirect_abi.h"
#include "parse.h"
#include "maps.h"

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

/* The ztunnel of this node (key 0), present or not. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ztunnel_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ztunnel SEC(".maps");

/* Node-wide settings (key 0): the fail mode. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct settings);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} settings SEC(".maps");

/* A pod's DNS flows that passed outbound: their replies pass inbound. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DNS_FLOWS_DEFAULT);
	__type(key, struct dns_flow_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dns_flows SEC(".maps");

/* The verdict of a first fragment that was not the default (frag.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FRAGS_DEFAULT);
	__type(key, struct frag_key);
	__type(value, struct frag_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} frags SEC(".maps");

/* Flows that passed as excluded, by who opened them (exclude.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EXCL_FLOWS_DEFAULT);
	__type(key, struct excl_flow_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} excl_flows SEC(".maps");

/* Client pods of connections the node's NAT took to ztunnel (nat.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NAT_HINT_SLOTS);
	__type(key, __u32);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat_clients SEC(".maps");

/* Count the packet p under the counter id. */
static __always_inline void count(__u32 id, const struct packet *p)
{
	count_add(id, p->len);
}

static __always_inline int count_ret(__u32 id, const struct packet *p, int ret)
{
	count(id, p);
	return ret;
}

/* The ztunnel slot, or NULL when no ztunnel is present. */
static __always_inline struct ztunnel_value *current_ztunnel(void)
{
	__u32 zero = 0;
	struct ztunnel_value *zt = bpf_map_lookup_elem(&ztunnel, &zero);

	return zt && zt->present ? zt : NULL;
}

/* Fail open (pass) rather than closed (drop) without a ztunnel. */
static __always_inline bool fail_open(void)
{
	__u32 zero = 0;
	struct settings *s = bpf_map_lookup_elem(&settings, &zero);

	return s && (s->flags & SET_F_FAIL_OPEN);
}

#endif /* REDIRECT_TC_MAPS_H */
