/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The sockhash key of sockmap acceleration, built by one helper for both
 * programs (sock_ops files sockets in the sockhash, sk_msg looks up the
 * peer of the sending socket) and for the unit test.
 *
 * Why the key holds a network namespace cookie: the same 4-tuple exists
 * twice on a node. ztunnel's transparent socket towards a pod is bound to
 * the client's address and port, so pod A's socket (A:p -> B:80, in A's
 * netns) and ztunnel's (A:p -> B:80, in ztunnel's netns) have equal
 * tuples; so have ztunnel's accepted socket (B:80 -> A:p) and pod B's.
 *
 * Which cookie: a sending socket looks its peer up under its OWN view,
 * {own netns, own local, own remote}. sock_ops therefore files each socket
 * under the view its peer will use: {the peer's netns, remote, local}.
 * sock_ops decides once per socket which netns the peer lives in (it has
 * the maps to do so); sk_msg, which runs on every sendmsg, needs nothing
 * but its own netns cookie and tuple.
 */
#ifndef REDIRECT_SOCK_KEY_H
#define REDIRECT_SOCK_KEY_H

#include "redirect_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "=r"(var) : "0"(var))
#endif

#define SK_AF_INET 2

struct sock_key {
	__u64 netns; /* cookie of the netns of the socket that looks it up */
	struct addr_key local; /* that socket's local address */
	struct addr_key remote;
	__u16 local_port; /* host order */
	__u16 remote_port; /* host order */
	__u32 pad;
};

_Static_assert(sizeof(struct sock_key) == 48, "sock_key layout (pinned)");

/* A socket's 4-tuple as it sees it: addresses in addr_key form. */
struct sock_tuple {
	struct addr_key local;
	struct addr_key remote;
	__u16 local_port; /* host order */
	__u16 remote_port; /* host order */
};

/*
 * Read the tuple of a struct bpf_sock_ops or struct sk_msg_md: both have
 * the same fields with the same byte orders. Addresses are network order;
 * local_port is host order; remote_port is the network-order port in the
 * upper 16 bits of a u32 on little-endian hosts (the low 16 on big-endian),
 * so a 32-bit ntohl gives the port on both. IPv4 becomes ::ffff:a.b.c.d,
 * so an IPv4 socket and an IPv6 socket using a mapped address agree.
 */
#define SOCK_TUPLE_READ(ctx, t)                                                 \
	do {                                                                    \
		__u32 l4_ = (ctx)->local_ip4, r4_ = (ctx)->remote_ip4;          \
		/* else the compiler may merge the v4 and v6 loads into one   \
		 * load at a computed ctx offset, which the verifier refuses */ \
		barrier_var(l4_);                                               \
		barrier_var(r4_);                                               \
		__builtin_memset((t), 0, sizeof(*(t)));                         \
		if ((ctx)->family == SK_AF_INET) {                              \
			(t)->local.addr[2] = bpf_htonl(0xffff);                 \
			(t)->local.addr[3] = l4_;                               \
			(t)->remote.addr[2] = bpf_htonl(0xffff);                \
			(t)->remote.addr[3] = r4_;                              \
		} else {                                                        \
			(t)->local.addr[0] = (ctx)->local_ip6[0];               \
			(t)->local.addr[1] = (ctx)->local_ip6[1];               \
			(t)->local.addr[2] = (ctx)->local_ip6[2];               \
			(t)->local.addr[3] = (ctx)->local_ip6[3];               \
			(t)->remote.addr[0] = (ctx)->remote_ip6[0];             \
			(t)->remote.addr[1] = (ctx)->remote_ip6[1];             \
			(t)->remote.addr[2] = (ctx)->remote_ip6[2];             \
			(t)->remote.addr[3] = (ctx)->remote_ip6[3];             \
		}                                                               \
		(t)->local_port = (__u16)(ctx)->local_port;                     \
		(t)->remote_port = (__u16)bpf_ntohl((ctx)->remote_port);        \
	} while (0)

enum sock_key_view {
	KEY_OWN_VIEW, /* the key a socket looks its peer up with */
	KEY_PEER_VIEW, /* the key a socket is filed under: its peer's view */
};

/* The one place keys are made. netns: the cookie of the viewing socket. */
static __always_inline void sock_key_build(struct sock_key *k, __u64 netns,
					   const struct sock_tuple *t,
					   enum sock_key_view view)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->netns = netns;
	if (view == KEY_OWN_VIEW) {
		k->local = t->local;
		k->remote = t->remote;
		k->local_port = t->local_port;
		k->remote_port = t->remote_port;
	} else {
		k->local = t->remote;
		k->remote = t->local;
		k->local_port = t->remote_port;
		k->remote_port = t->local_port;
	}
}

#endif /* REDIRECT_SOCK_KEY_H */
