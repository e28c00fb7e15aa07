/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Everything the tc programs and user space must agree on: map layouts,
 * the tags carried in skb->mark, ports and counter identities.
 * Included by the BPF programs (after vmlinux.h) and by user space.
 */
#ifndef REDIRECT_ABI_H
#define REDIRECT_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Addresses are stored as 16 bytes: IPv6 as is, IPv4 as ::ffff:a.b.c.d
 * (RFC 4291 mapped form), so one map and one key type serve both families
 * and a dual-stack pod simply has two entries.
 */
struct addr_key {
	__u32 addr[4];
};

/* pods: one entry per pod address. */
#define POD_F_DNS_CAPTURE (1u << 0) /* send DNS (port 53) to ztunnel */
/*
 * Exclusions (docs/exclusions.md): the programs look at the exclusion maps
 * only for a pod with one of these set, so pods without exclusions pay a
 * flag test and nothing more.
 */
#define POD_F_EXCL_OUT (1u << 1) /* outbound CIDRs or ports excluded */
#define POD_F_EXCL_IN_PORTS (1u << 2) /* inbound ports excluded */
#define POD_F_BYPASS_INBOUND (1u << 3) /* no inbound capture at all */
#define POD_F_EXCL_IN (POD_F_EXCL_IN_PORTS | POD_F_BYPASS_INBOUND)
#define POD_F_EXCL_ANY (POD_F_EXCL_OUT | POD_F_EXCL_IN)

struct pod_value {
	__u32 host_ifindex; /* host-side veth in the node netns */
	__u8 mac[6]; /* the pod's own interface MAC */
	__u16 flags; /* POD_F_* */
};

/* ztunnel: a single slot (key 0); present == 0 means no ztunnel. */
#define ZT_F_CAPTURE_UDP (1u << 0) /* all UDP to 15001/15006, not only DNS */

struct ztunnel_value {
	__u32 host_ifindex; /* ztunnel's host-side veth */
	__u8 mac[6]; /* ztunnel's pod-side MAC */
	__u8 present;
	__u8 flags; /* ZT_F_* */
	__u32 generation; /* bumped by the control plane on each replacement */
	/*
	 * The id the node netns has for ztunnel's netns (RTM_GETNSID), so
	 * app_outbound can look up ztunnel's sockets; -1: none, no lookup.
	 */
	__s32 netns_id;
};

/* settings: a single slot (key 0), changeable at run time. */
#define SET_F_FAIL_OPEN (1u << 0) /* no ztunnel: pass instead of drop */

struct settings {
	__u32 flags; /* SET_F_* */
	__u32 pad;
};

/*
 * Tags. The capturing program writes one into skb->mark before it hands the
 * packet to ztunnel's netns with bpf_redirect_peer; the mark survives that
 * (scrub without netns change) but is wiped by any ordinary veth crossing,
 * so a pod can never make a packet arrive at ztunnel carrying one.
 */
#define TAG_OUTBOUND 0x5a7e0001u /* captured leaving a meshed pod */
#define TAG_INBOUND 0x5a7e0002u /* captured entering a meshed pod */
#define TAG_DNS 0x5a7e0003u /* a meshed pod's DNS, DNS capture on */
/*
 * Tags of the inbound guard (pod_guard, in the pod's netns). ztunnel_host_in
 * marks what it delivers into a pod; the guard sends other TCP back out of
 * the pod with TAG_RETURNED, both by bpf_redirect_peer, so both keep the
 * mark and neither can be forged across a veth.
 */
#define TAG_FROM_ZTUNNEL 0x5a7e0004u /* ztunnel -> pod, let in */
#define TAG_RETURNED 0x5a7e0005u /* pod_guard -> app_outbound: capture */
/*
 * The flow hash pod_guard gives a packet it returns. Unlike the mark, the
 * hash survives the veth crossing, so a returned packet that comes back
 * into the pod (no app_outbound took it: another owner's program ended
 * the chain first) is recognised and dropped instead of going round until
 * its TTL runs out. app_outbound clears it when it takes the packet.
 */
#define GUARD_RETURN_HASH 0x5a7e0006u

/* ztunnel's listeners. */
#define ZT_PORT_OUTBOUND 15001
#define ZT_PORT_INBOUND 15006
#define ZT_PORT_HBONE 15008
#define ZT_PORT_DNS 15053
#define DNS_PORT 53

/*
 * Mark set inside ztunnel's netns so that a policy rule (fwmark/mask ->
 * table) delivers the packet locally to the socket we assigned. Default
 * values; the control plane and the program agree through rodata.
 */
#define ZT_ROUTE_MARK_DEFAULT 0x400u
#define ZT_ROUTE_MASK_DEFAULT 0xfffu
#define ZT_ROUTE_TABLE_DEFAULT 100
#define ZT_SOCKET_MARK 0x539u /* ztunnel's own sockets (1337) */

/*
 * UDP DNS flows a pod opened without DNS capture while its ztunnel captures
 * all UDP (ZT_F_CAPTURE_UDP), so the server's replies may pass back in.
 * Without ZT_F_CAPTURE_UDP no UDP is captured inbound and nothing is kept.
 */
struct dns_flow_key {
	struct addr_key pod;
	struct addr_key server;
	__u16 pod_port; /* network order */
	__u8 proto;
	__u8 pad;
};

/*
 * nat_clients: a hint by host veth ifindex (modulo NAT_HINT_SLOTS), set by
 * app_inbound when a meshed pod of this node opened a connection that the
 * node's NAT sent on to another meshed pod here (ztunnel dialling a
 * Service address with that pod's address), never cleared: only
 * ztunnel's packets to such a pod ask the node's conntrack whether they
 * answer a NATed connection. A collision costs a lookup, never a wrong
 * verdict.
 */
#define NAT_HINT_SLOTS 65536

/*
 * Fragment tracking: a datagram's later fragments follow its first one.
 * Only a first fragment whose verdict differs from its protocol's default
 * (TCP captured; UDP passed, or captured by a capture_udp ztunnel) is
 * remembered, so a pod flooding fragments can only evict the rare
 * remembered ones, and a later fragment found nowhere follows the default.
 */
struct frag_key {
	struct addr_key saddr;
	struct addr_key daddr;
	__u32 id; /* IPv4: 16-bit id; IPv6: 32-bit identification */
	__u8 proto;
	__u8 pad[3];
};

enum frag_verdict {
	FRAG_PASS = 1,
	FRAG_CAPTURE = 2,
};

struct frag_value {
	__u8 verdict; /* enum frag_verdict */
	__u8 pad[3];
#ifdef REDIRECT_LAYOUT_TEST
	/* only in tests/e2e/test_upgrade.sh's build of another layout */
	__u32 layout_test;
#endif
};

/*
 * Counters: one per decision of each program. The X-macro keeps ids and
 * names (shown by redirectctl stats) in one place.
 * X(id, program, decision)
 */
#define REDIRECT_COUNTERS(X)                                                 \
	X(OUT_TO_ZTUNNEL, "app_outbound", "redirect_ztunnel")                \
	X(OUT_DNS_TO_ZTUNNEL, "app_outbound", "redirect_ztunnel_dns")        \
	X(OUT_PASS_NON_IP, "app_outbound", "pass_non_ip")                    \
	X(OUT_PASS_OTHER_PROTO, "app_outbound", "pass_other_proto")          \
	X(OUT_PASS_NODE_REPLY, "app_outbound", "pass_node_socket_reply")     \
	X(OUT_PASS_UDP, "app_outbound", "pass_udp")                          \
	X(OUT_PASS_DNS, "app_outbound", "pass_dns")                          \
	X(OUT_PASS_FRAG, "app_outbound", "pass_fragment")                    \
	X(OUT_PASS_EXCLUDED, "app_outbound", "pass_excluded")                \
	X(OUT_PASS_EXCLUDED_REPLY, "app_outbound", "pass_excluded_reply")    \
	X(OUT_PASS_FAIL_OPEN, "app_outbound", "pass_no_ztunnel_fail_open")   \
	X(OUT_DROP_NO_ZTUNNEL, "app_outbound", "drop_no_ztunnel")            \
	X(OUT_DROP_SPOOFED, "app_outbound", "drop_spoofed_source")           \
	X(OUT_DROP_MALFORMED, "app_outbound", "drop_malformed")              \
	X(OUT_DROP_TAGGED, "app_outbound", "drop_vlan_tagged")               \
	X(OUT_DROP_TUNNEL, "app_outbound", "drop_tunnel")                    \
	X(OUT_RETURNED_TO_ZTUNNEL, "app_outbound",                           \
	  "redirect_ztunnel_returned")                                       \
	X(OUT_DROP_RETURNED, "app_outbound", "drop_returned_not_pod")        \
	X(IN_TO_ZTUNNEL, "app_inbound", "redirect_ztunnel")                  \
	X(IN_PASS_NON_IP, "app_inbound", "pass_non_ip")                      \
	X(IN_PASS_OTHER_PROTO, "app_inbound", "pass_other_proto")            \
	X(IN_PASS_MULTICAST, "app_inbound", "pass_multicast")                \
	X(IN_PASS_NODE_LOCAL, "app_inbound", "pass_node_socket")             \
	X(IN_ZT_FLOW_TO_ZTUNNEL, "app_inbound", "redirect_ztunnel_flow")     \
	X(IN_PASS_UDP, "app_inbound", "pass_udp")                            \
	X(IN_PASS_DNS_REPLY, "app_inbound", "pass_dns_reply")                \
	X(IN_PASS_FRAG, "app_inbound", "pass_fragment")                      \
	X(IN_PASS_EXCLUDED, "app_inbound", "pass_excluded")                  \
	X(IN_PASS_EXCLUDED_REPLY, "app_inbound", "pass_excluded_reply")      \
	X(IN_PASS_FAIL_OPEN, "app_inbound", "pass_no_ztunnel_fail_open")     \
	X(IN_DROP_NO_ZTUNNEL, "app_inbound", "drop_no_ztunnel")              \
	X(IN_DROP_MALFORMED, "app_inbound", "drop_malformed")                \
	X(IN_DROP_TAGGED, "app_inbound", "drop_vlan_tagged")                 \
	X(IN_DROP_NOT_ENROLLED, "app_inbound", "drop_not_enrolled_address")  \
	X(ZH_TO_POD, "ztunnel_host_in", "redirect_pod")                      \
	X(ZH_INBOUND_TO_ZTUNNEL, "ztunnel_host_in", "redirect_ztunnel")      \
	X(ZH_PASS_NOT_POD, "ztunnel_host_in", "pass_not_meshed")             \
	X(ZH_PASS_NAT_REPLY, "ztunnel_host_in", "pass_nat_reply")            \
	X(ZH_PASS_NON_IP, "ztunnel_host_in", "pass_non_ip")                  \
	X(ZH_PASS_MALFORMED, "ztunnel_host_in", "pass_malformed")            \
	X(ZH_DROP_NO_ZTUNNEL, "ztunnel_host_in", "drop_no_ztunnel")          \
	X(GD_PASS_ZTUNNEL, "pod_guard", "pass_from_ztunnel")                 \
	X(GD_PASS_NODE_LOCAL, "pod_guard", "pass_node_socket")               \
	X(GD_PASS_NOT_CAPTURED, "pod_guard", "pass_not_captured")            \
	X(GD_RETURN_TO_ZTUNNEL, "pod_guard", "return_to_ztunnel")            \
	X(GD_PASS_EXCLUDED, "pod_guard", "pass_excluded")                    \
	X(GD_PASS_FAIL_OPEN, "pod_guard", "pass_no_ztunnel_fail_open")       \
	X(GD_DROP_NO_ZTUNNEL, "pod_guard", "drop_no_ztunnel")                \
	X(GD_DROP_MALFORMED, "pod_guard", "drop_malformed")                  \
	X(GD_DROP_NOT_ENROLLED, "pod_guard", "drop_not_enrolled_address")    \
	X(GD_DROP_RETURN_LOST, "pod_guard", "drop_returned_came_back")       \
	X(ZI_ASSIGN_ESTABLISHED, "ztunnel_ingress", "assign_established")    \
	X(ZI_ASSIGN_OUTBOUND, "ztunnel_ingress", "assign_outbound_listener") \
	X(ZI_ASSIGN_INBOUND, "ztunnel_ingress", "assign_inbound_listener")   \
	X(ZI_ASSIGN_HBONE, "ztunnel_ingress", "assign_hbone_listener")       \
	X(ZI_ASSIGN_DNS, "ztunnel_ingress", "assign_dns_listener")           \
	X(ZI_LOCAL_FRAG, "ztunnel_ingress", "deliver_fragment_local")        \
	X(ZI_PASS_UNTAGGED, "ztunnel_ingress", "pass_untagged")              \
	X(ZI_DROP_NO_LISTENER, "ztunnel_ingress", "drop_no_listener")        \
	X(ZI_DROP_ASSIGN_FAILED, "ztunnel_ingress", "drop_assign_failed")    \
	X(ZI_DROP_MALFORMED, "ztunnel_ingress", "drop_malformed")            \
	X(SO_ADD_POD, "sockops", "add_pod_socket")                           \
	X(SO_ADD_ZT_POD, "sockops", "add_ztunnel_to_pod")                    \
	X(SO_ADD_ZT_LOOP, "sockops", "add_ztunnel_loop")                     \
	X(SO_SKIP_NOT_MESHED, "sockops", "skip_not_meshed")                  \
	X(SO_SKIP_NOT_CAPTURED, "sockops", "skip_not_captured")              \
	X(SO_SKIP_PEER_OFF_NODE, "sockops", "skip_peer_not_on_node")         \
	X(SO_SKIP_NO_ZTUNNEL, "sockops", "skip_no_ztunnel")                  \
	X(SO_SKIP_PODS_OFF, "sockops", "skip_pods_off")                      \
	X(SO_ADD_FAILED, "sockops", "add_failed")                            \
	X(MSG_REDIRECT, "sk_msg", "redirect_peer")                           \
	X(MSG_PASS_NO_PEER, "sk_msg", "pass_no_peer")                        \
	X(MSG_PASS_BACKLOG, "sk_msg", "pass_peer_backlog")                   \
	X(MSG_PASS_UNACCELERATED, "sk_msg", "pass_started_unaccelerated")

#define REDIRECT_COUNTER_ENUM(id, prog, decision) CNT_##id,
enum redirect_counter { REDIRECT_COUNTERS(REDIRECT_COUNTER_ENUM) CNT_MAX };
#undef REDIRECT_COUNTER_ENUM
/* tests/bpf/test_tc.c names the counters a packet must hit in a 128-bit set. */
_Static_assert(CNT_MAX <= 128, "more counters than test_tc's set holds");

struct counter_value {
	__u64 packets;
	__u64 bytes;
};

/*
 * sockops counters count sockets (packets) and no bytes; sk_msg counters
 * count messages (one per sendmsg verdict) and their bytes.
 */

/*
 * sockmap acceleration (sk_config, key 0), written by the control plane.
 * Without SKF_PODS only ztunnel's own loop (its connections to itself,
 * through 15008) is accelerated: a socket in the sockhash reads through
 * the kernel's tcp_bpf code, and the control plane turns pods' sockets
 * on only when the kernel passed its self-test (or when told to).
 */
#define SKF_PODS (1u << 0) /* meshed pods' connections with ztunnel too */

struct sockmap_config {
	__u64 ztunnel_netns; /* the current ztunnel's netns cookie; 0: none */
	__u32 flags; /* SKF_* */
	__u32 pad;
};

/*
 * node_addr_list (key 0): the node's addresses as a short list the tc
 * programs scan, so the per-packet check costs no hash. node_addrs stays the
 * full set (sockops uses it, and the programs fall back to it when the list
 * is not complete: more addresses than fit, or not written yet).
 * An address keeps its slot while it stays on the node and a freed slot
 * repeats another address, so a program reading the value while the
 * control plane rewrites it sees every unchanged address where it was.
 */
#define NODE_ADDRS_INLINE 32

struct node_addr_list {
	__u32 n; /* slots in use in addrs */
	__u32 complete; /* 1: addrs holds every node address */
	struct addr_key addrs[NODE_ADDRS_INLINE];
};

/*
 * excl_cidrs, an LPM trie: a pod's excluded outbound destinations, keyed
 * by the pod (its host veth's ifindex) and the address family, both
 * always matched whole, then the address, so one trie serves every pod
 * and an IPv6 prefix never covers an IPv4 address (which the mapped form
 * would let ::/0 do). prefixlen counts those 64 bits; an IPv4 prefix /n
 * is 64 + 96 + n. The value: the entry's own prefix length (mapped form),
 * for explain.
 */
struct excl_cidr_key {
	__u32 prefixlen;
	__u32 ifindex;
	__u32 family; /* 4 or 6 */
	struct addr_key addr;
};
#define EXCL_CIDR_KEY_FIXED_BITS 64

/* excl_ports: a pod's excluded ports, by direction. */
#define EXCL_DIR_OUT 1 /* a destination port of the pod's connections */
#define EXCL_DIR_IN 2 /* a port of the pod's own, that peers connect to */

struct excl_port_key {
	__u32 ifindex; /* the pod's host veth */
	__u16 port; /* network order */
	__u8 dir; /* EXCL_DIR_* */
	__u8 pad;
};

/*
 * excl_flows: flows the exclusions let pass, by who opened them (value:
 * EXCL_OPENER_*), so the other direction's packets of the same flow pass
 * too: an excluded connection's answers are not captured, and a flow is
 * excluded only in the direction its rule names (a pod's connection from
 * an excluded inbound port is its own, and captured). Written from the
 * opening side only (bare SYN; a datagram of UDP); docs/exclusions.md.
 */
#define EXCL_OPENER_POD 1 /* to an excluded destination */
#define EXCL_OPENER_PEER 2 /* to an excluded port of the pod */
#define EXCL_OPENER_ZTUNNEL 3 /* ztunnel's flow with the pod's ends */
struct excl_flow_key {
	struct addr_key pod;
	struct addr_key peer;
	__u16 pod_port; /* network order */
	__u16 peer_port;
	__u8 proto;
	__u8 pad[3];
};

/* Default map sizes; the loader may change them before load. */
#define POD_ADDRS_DEFAULT 16384
#define NODE_ADDRS_MAX 1024
#define DNS_FLOWS_DEFAULT 16384
#define FRAGS_DEFAULT 8192
#define SOCKS_DEFAULT 65536 /* sockets the sockhash holds */
#define EXCL_CIDRS_DEFAULT 16384 /* excluded CIDRs, all pods together */
#define EXCL_PORTS_DEFAULT 16384 /* excluded ports, all pods together */
#define EXCL_FLOWS_DEFAULT 32768 /* flows that passed as excluded */
#define EXCL_MAX_PER_POD 64 /* entries per list of one pod */
/*
 * Redirected bytes a socket may have waiting before its senders fall back
 * to TCP for good: ingress redirection has no flow control of its own.
 */
#define SOCKMAP_BACKLOG_DEFAULT (4u << 20)

/*
 * The layout version of the pinned maps. Bump it with any change of what
 * a map's bytes mean: a key or value struct changed, counter ids
 * renumbered, a tag or flag bit redefined. A new build then takes over no
 * map of the old one's and refills every map from redirectd's state;
 * capacity or flag changes need no bump (docs/datapath.md, "Upgrades in
 * place"). 1: builds before the version existed. 2: pod_guard's counters
 * and tags. 3: node addresses captured, NAT answers, fragments by default.
 * 4: exclusions (pod flags, counters).
 */
#ifndef REDIRECT_LAYOUT_VERSION
#define REDIRECT_LAYOUT_VERSION 4
#endif

/*
 * The layout of every map key and value shared with user space, pinned
 * and so shared with whichever build runs next: a change here changes
 * the pinned maps' layout (docs/datapath.md says which changes redirectd
 * can take over in place). The asserts make such a change deliberate.
 */
_Static_assert(sizeof(struct addr_key) == 16, "addr_key layout");
_Static_assert(sizeof(struct pod_value) == 12, "pod_value layout");
_Static_assert(sizeof(struct ztunnel_value) == 20, "ztunnel_value layout");
_Static_assert(sizeof(struct settings) == 8, "settings layout");
_Static_assert(sizeof(struct dns_flow_key) == 36, "dns_flow_key layout");
_Static_assert(sizeof(struct frag_key) == 40, "frag_key layout");
#ifndef REDIRECT_LAYOUT_TEST
_Static_assert(sizeof(struct frag_value) == 4, "frag_value layout");
#endif
_Static_assert(sizeof(struct counter_value) == 16, "counter_value layout");
_Static_assert(sizeof(struct node_addr_list) == 8 + 16 * NODE_ADDRS_INLINE,
	       "node_addr_list layout");
_Static_assert(sizeof(struct sockmap_config) == 16, "sockmap_config layout");
_Static_assert(sizeof(struct excl_cidr_key) == 28, "excl_cidr_key layout");
_Static_assert(sizeof(struct excl_port_key) == 8, "excl_port_key layout");
_Static_assert(sizeof(struct excl_flow_key) == 40, "excl_flow_key layout");

#endif /* REDIRECT_ABI_H */
