// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Sockmap acceleration of ztunnel's same-node connections.
 *
 *   sockops_add   cgroup sock_ops, attached only to the cgroup folder given
 *                 to redirectd (--cgroup): when a TCP connection of a meshed
 *                 pod with ztunnel, or of ztunnel with itself, is
 *                 established, files the socket in sock_hash
 *   msg_redirect  sk_msg on sock_hash: every sendmsg of a filed socket goes
 *                 straight into its peer's receive queue (BPF_F_INGRESS),
 *                 skipping TCP/IP, tc and the veths; no peer: normal path
 *
 * The legs (see docs/datapath.md):
 *   1. pod A (A:p -> B:80, A's netns) <-> ztunnel's accepted socket
 *      (B:80 -> A:p, ztunnel's netns)
 *   2. ztunnel 127.0.0.1:x <-> 127.0.0.1:15008, both in ztunnel's netns
 *   3. ztunnel's spoofed socket (A:q -> B:80, ztunnel's netns) <-> pod B's
 *      accepted socket (B:80 -> A:q, B's netns)
 * The netns each peer lives in comes from two maps the control plane
 * fills: sk_netns (address of a meshed pod or of ztunnel -> the cookie of
 * the netns that owns it) and sk_config (the current ztunnel's netns
 * cookie; whether legs 1 and 3, pods' sockets, are accelerated or only
 * leg 2). Keys: sock_key.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "redirect_abi.h"
#include "kernel_defs.h"
#include "maps.h"
#include "capture.h"
#include "exclude.h"
#include "sock_key.h"

/* sk->sk_user_data carries flag bits (SK_USER_DATA_* in net/sock.h). */
#define SK_USER_DATA_PTRMASK_ (~7ULL)

extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym;
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* Set before load (rodata). */
const volatile __u32 backlog_max = SOCKMAP_BACKLOG_DEFAULT;

/* Ours, pinned by name next to the tc programs' maps. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, SOCKS_DEFAULT);
	__type(key, struct sock_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sock_hash SEC(".maps");

/* Address of a meshed pod or of ztunnel -> cookie of its netns. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POD_ADDRS_DEFAULT);
	__type(key, struct addr_key);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sk_netns SEC(".maps");

/* The current ztunnel's netns cookie and what to accelerate. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sockmap_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sk_config SEC(".maps");

/*
 * Per socket, the path its messages take. Redirected bytes land in the
 * peer's psock queue, which recvmsg drains before the TCP receive queue,
 * so a socket may go from redirect to TCP, never back:
 * - one whose first message went the TCP way (its peer was not filed yet)
 *   keeps to TCP, or its later, redirected bytes could be read first;
 * - one whose peer has more than backlog_max bytes waiting goes to TCP for
 *   good: ingress redirection has no flow control, TCP's takes over.
 */
enum msg_path {
	PATH_UNDECIDED,
	PATH_REDIRECT,
	PATH_TCP, /* the first message found no peer */
	PATH_TCP_BACKLOG, /* the peer fell behind */
};

struct msg_state {
	__u32 path; /* enum msg_path */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct msg_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sk_msg_state SEC(".maps");

static __always_inline void count(__u32 id, __u64 bytes)
{
	count_add(id, bytes);
}

static __always_inline bool is_loopback(const struct addr_key *a)
{
	if (a->addr[0] || a->addr[1])
		return false;
	if (a->addr[2] == bpf_htonl(0xffff))
		return (bpf_ntohl(a->addr[3]) >> 24) == 127;
	return !a->addr[2] && a->addr[3] == bpf_htonl(1);
}

static __always_inline __u64 netns_of(const struct addr_key *a)
{
	__u64 *c = bpf_map_lookup_elem(&sk_netns, a);

	return c ? *c : 0;
}

/* A connection of an excluded flow, which tc lets pass (exclude.h). */
static __always_inline bool pod_conn_excluded(const struct pod_value *pod,
					      const struct sock_tuple *t,
					      bool passive)
{
	if (passive)
		return excluded_inbound(pod, bpf_htons(t->local_port));
	return excluded_outbound(pod, &t->remote, bpf_htons(t->remote_port));
}

/*
 * Would the tc programs send this pod connection through ztunnel? The one
 * capture rule (capture.h) answers, as app_outbound asks it. A node
 * address is no exemption there; only a connection a node socket opened
 * into the pod (a probe) is not captured, which tc tells by the node's
 * socket for the flow. sock_ops has no socket lookup: a connection the pod
 * accepted from a node address counts as such, even when ztunnel made it
 * (a NodePort hop it captured inbound); it is then merely not
 * accelerated. The pod's own addresses and loopback never leave the pod.
 */
static __always_inline bool
pod_conn_captured(__u64 netns, const struct sock_tuple *t, bool passive)
{
	struct pod_value *pod;
	bool node_reply;

	if (is_loopback(&t->remote) || netns_of(&t->remote) == netns)
		return false;
	pod = bpf_map_lookup_elem(&pods, &t->local);
	if (pod && pod_conn_excluded(pod, t, passive))
		return false;
	node_reply = passive && is_node_addr(&t->remote);
	return rule_captures(
		capture_outbound(IPPROTO_TCP, bpf_htons(t->remote_port),
				 node_reply, pod ? pod->flags : 0, 0));
}

/*
 * Decide whether a socket in netns is filed, and under which peer netns.
 * Returns the counter of the decision; *peer is set for the SO_ADD_* ones.
 */
static __always_inline __u32 choose_peer(__u64 netns,
					 const struct sock_tuple *t,
					 bool passive, __u64 *peer)
{
	__u32 zero = 0;
	struct sockmap_config *cfg = bpf_map_lookup_elem(&sk_config, &zero);
	__u64 zt = cfg ? cfg->ztunnel_netns : 0, owner;
	bool pods = cfg && (cfg->flags & SKF_PODS);

	if (zt && netns == zt) {
		/* ztunnel's own loop (15008), or a meshed pod on this node */
		owner = is_loopback(&t->remote) ? zt : netns_of(&t->remote);
		if (!owner)
			return CNT_SO_SKIP_PEER_OFF_NODE;
		*peer = owner;
		if (owner == zt)
			return CNT_SO_ADD_ZT_LOOP;
		return pods ? CNT_SO_ADD_ZT_POD : CNT_SO_SKIP_PODS_OFF;
	}
	/* A meshed pod's socket: its local address is one of the pod's. */
	if (!netns || netns_of(&t->local) != netns)
		return CNT_SO_SKIP_NOT_MESHED;
	if (!zt)
		return CNT_SO_SKIP_NO_ZTUNNEL;
	if (!pod_conn_captured(netns, t, passive))
		return CNT_SO_SKIP_NOT_CAPTURED;
	*peer = zt;
	return pods ? CNT_SO_ADD_POD : CNT_SO_SKIP_PODS_OFF;
}

SEC("sockops")
int sockops_add(struct bpf_sock_ops *skops)
{
	struct sock_tuple t;
	struct sock_key k;
	__u64 peer = 0;
	__u32 id;

	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB &&
	    skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	if (skops->family != SK_AF_INET && skops->family != AF_INET6)
		return 1;
	SOCK_TUPLE_READ(skops, &t);
	id = choose_peer(bpf_get_netns_cookie(skops), &t,
			 skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB,
			 &peer);
	if (id == CNT_SO_ADD_POD || id == CNT_SO_ADD_ZT_POD ||
	    id == CNT_SO_ADD_ZT_LOOP) {
		sock_key_build(&k, peer, &t, KEY_PEER_VIEW);
		/* An existing entry would make the key ambiguous: keep it. */
		if (bpf_sock_hash_update(skops, &sock_hash, &k, BPF_NOEXIST))
			id = CNT_SO_ADD_FAILED;
	}
	count(id, 0);
	return 1;
}

/*
 * Bytes waiting at the socket the message was just redirected to (what its
 * FIONREAD shows), read through the kernel's own types: the redirect helper
 * leaves its target in the kernel's struct sk_msg.
 */
static __always_inline __u32 target_backlog(struct sk_msg_md *msg)
{
	struct sk_msg *kmsg = bpf_cast_to_kern_ctx(msg);
	struct sk_psock *psock;
	struct sock *sk;
	__u64 ud;

	sk = kmsg->sk_redir;
	if (!sk)
		return 0;
	ud = (__u64)sk->sk_user_data;
	psock = bpf_rdonly_cast((void *)(ud & SK_USER_DATA_PTRMASK_),
				bpf_core_type_id_kernel(struct sk_psock));
	return psock->msg_tot_len;
}

SEC("sk_msg")
int msg_redirect(struct sk_msg_md *msg)
{
	struct msg_state *st;
	struct sock_tuple t;
	struct sock_key k;
	__u64 len = msg->size;

	if (!msg->sk)
		return SK_PASS;
	st = bpf_sk_storage_get(&sk_msg_state, msg->sk, 0,
				BPF_SK_STORAGE_GET_F_CREATE);
	if (!st || st->path == PATH_TCP) {
		count(CNT_MSG_PASS_UNACCELERATED, len);
		return SK_PASS;
	}
	if (st->path == PATH_TCP_BACKLOG) {
		count(CNT_MSG_PASS_BACKLOG, len);
		return SK_PASS;
	}
	SOCK_TUPLE_READ(msg, &t);
	sock_key_build(&k, bpf_get_netns_cookie(msg), &t, KEY_OWN_VIEW);
	if (bpf_msg_redirect_hash(msg, &sock_hash, &k, BPF_F_INGRESS) ==
	    SK_PASS) {
		/* This one goes; after it, TCP if the peer fell behind. */
		st->path = target_backlog(msg) > backlog_max ?
				   PATH_TCP_BACKLOG :
				   PATH_REDIRECT;
		count(CNT_MSG_REDIRECT, len);
		return SK_PASS;
	}
	/* No peer (gone, or never filed): the normal TCP path. */
	if (st->path == PATH_UNDECIDED)
		st->path = PATH_TCP;
	count(CNT_MSG_PASS_NO_PEER, len);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
