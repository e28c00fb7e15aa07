// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel_ingress (ztunnel's own interface, in its netns, tc ingress): the
 * socket a tagged packet is assigned, among real sockets of this netns
 * (which plays ztunnel's): an established connection or connected UDP
 * socket of the flow first, then ztunnel's listener for the tag and port;
 * untagged traffic passes, fragments go to the stack.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include "net_helpers.h"
#include "tc_fixture.h"

/*
 * One of ztunnel's listeners: transparent (so it may own connections to
 * any address), on the wildcard address; v6 ones are V6ONLY like ztunnel's.
 */
static bool listener(int family, int type, __u16 port)
{
	const struct sock_opts o = { .transparent = true, .backlog = 8 };
	int fd = track_fd(start_server(family, type, NULL, port, &o));

	return CHECK(fd >= 0, "listener on port %u: %s", port, strerror(-fd));
}

struct tcp_pair {
	int client, server; /* server: the accepted socket */
	__u16 client_port, server_port;
};

/* An established TCP connection over loopback. */
static bool tcp_pair(int family, struct tcp_pair *tp)
{
	int lfd = start_server(family, SOCK_STREAM, addr_of(family, LOOPBACK),
			       0, NULL);

	if (!CHECK(lfd >= 0, "listen: %s", strerror(-lfd)))
		return false;
	tp->server_port = (__u16)get_local_port(lfd);
	tp->client = track_fd(connect_to_server(lfd, NULL));
	tp->server = track_fd(accept_timeout(lfd, 1000));
	close(lfd);
	tp->client_port = (__u16)get_local_port(tp->client);
	return CHECK(tp->client >= 0, "connect: %s", strerror(-tp->client)) &&
	       CHECK(tp->server >= 0, "accept: %s", strerror(-tp->server));
}

/* Is there a TIME_WAIT socket with this local port in our netns? */
static bool time_wait_exists(int family, __u16 port)
{
	const char *path = family == AF_INET ? "/proc/net/tcp" :
					       "/proc/net/tcp6";
	unsigned int lport, rport, state;
	bool found = false;
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line,
			       " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%x %x",
			       &lport, &rport, &state) == 3 &&
			lport == port && state == 6;
	fclose(f);
	return found;
}

/*
 * A TIME_WAIT socket: the client closes first, then the server; the
 * client's side is left in TIME_WAIT as client_port <- server_port.
 */
static bool tcp_time_wait(int family, struct tcp_pair *tp)
{
	char buf[16];
	struct timespec ms = { 0, 1000000 };

	if (!tcp_pair(family, tp))
		return false;
	shutdown(tp->client, SHUT_WR);
	if (!CHECK(read(tp->server, buf, sizeof(buf)) == 0, "no FIN seen"))
		return false;
	shutdown(tp->server, SHUT_WR);
	for (int i = 0; i < 1000; i++) {
		if (time_wait_exists(family, tp->client_port))
			return true;
		nanosleep(&ms, NULL);
	}
	return CHECK(false, "no TIME_WAIT socket for port %u", tp->client_port);
}

/* A UDP socket bound to local:lport and connected to peer:pport. */
static bool udp_connected(int family, enum host local, __u16 lport,
			  enum host peer, __u16 pport)
{
	int err, fd = track_fd(open_bound_socket(family, SOCK_DGRAM,
						 addr_of(family, local), lport,
						 NULL));

	if (!CHECK(fd >= 0, "bind udp: %s", strerror(-fd)))
		return false;
	err = start_connect(fd, family, addr_of(family, peer), pport);
	return CHECK(!err, "connect udp: %s", strerror(-err));
}

static bool zi_run(const struct pkt *p, __u32 tag, struct expect e)
{
	return expect_run(DP_ZTUNNEL_INGRESS, p, fx.if_zt, tag, &e);
}

/*
 * The outcome of a socket choice under BPF_PROG_TEST_RUN. bpf_sk_assign
 * only works at tc ingress (skb_at_tc_ingress()), and a test-run skb is
 * never at tc ingress, so the helper fails with -EOPNOTSUPP here: the
 * program counts the socket it chose, then drop_assign_failed, and drops
 * with the tag untouched. The choice is what these tests check; real
 * traffic (test_datapath) covers the successful assignment.
 */
static struct expect assigned(__u32 tag, counter_set counter)
{
	struct expect e = drop(counter | C(ZI_DROP_ASSIGN_FAILED));

	e.mark = tag;
	return e;
}

static struct expect no_listener(__u32 tag)
{
	struct expect e = drop(C(ZI_DROP_NO_LISTENER));

	e.mark = tag;
	return e;
}

/* All of ztunnel's listeners, TCP, of one family. */
static bool tcp_listeners(int family)
{
	return listener(family, SOCK_STREAM, ZT_PORT_OUTBOUND) &&
	       listener(family, SOCK_STREAM, ZT_PORT_INBOUND) &&
	       listener(family, SOCK_STREAM, ZT_PORT_HBONE) &&
	       listener(family, SOCK_STREAM, ZT_PORT_DNS);
}

static void zi_untagged(int family)
{
	struct pkt p;

	if (tcp_listeners(family) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		zi_run(&p, 0, pass(C(ZI_PASS_UNTAGGED)));
}
PER_FAMILY(zi_untagged)

static void zi_malformed(int family)
{
	struct pkt p;
	struct expect e = drop(C(ZI_DROP_MALFORMED));

	e.mark = TAG_OUTBOUND;
	if (!build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		return;
	pkt_set_len(&p, p.l4 + 8);
	zi_run(&p, TAG_OUTBOUND, e);
}
PER_FAMILY(zi_malformed)

/* Only TCP and UDP are ever tagged; anything else is not trusted. */
static void zi_tagged_other_proto(int family)
{
	struct pkt p;
	struct expect e = drop(C(ZI_DROP_MALFORMED));

	e.mark = TAG_INBOUND;
	if (build_flow(&p, family, icmp_of(family), REMOTE, 0, POD_A, 0))
		zi_run(&p, TAG_INBOUND, e);
}
PER_FAMILY(zi_tagged_other_proto)

/* Fragments are delivered locally for the stack to reassemble. */
static void zi_fragments(int family)
{
	struct pkt p;
	struct expect e = pass(C(ZI_LOCAL_FRAG));

	e.mark = ZT_ROUTE_MARK_DEFAULT;
	if (tcp_listeners(family) &&
	    build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_FIRST,
		       31) &&
	    zi_run(&p, TAG_OUTBOUND, e) &&
	    build_frag(&p, family, IPPROTO_UDP, POD_A, REMOTE, PKT_FRAG_LATER,
		       31))
		zi_run(&p, TAG_OUTBOUND, e);
}
PER_FAMILY(zi_fragments)

/*
 * An established connection wins over the listener: the packet carries
 * the connection's 4-tuple as the accepted socket sees it arriving
 * (client -> server), the way ztunnel's transparent socket sees the pod.
 */
static void zi_established_tcp(int family)
{
	struct tcp_pair tp;
	struct pkt p;

	if (tcp_listeners(family) && tcp_pair(family, &tp) &&
	    build_flow(&p, family, IPPROTO_TCP, LOOPBACK, tp.client_port,
		       LOOPBACK, tp.server_port))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_ESTABLISHED)));
}
PER_FAMILY(zi_established_tcp)

/* A TIME_WAIT socket is no owner: the flow goes to the listener. */
static void zi_time_wait_tcp(int family)
{
	struct tcp_pair tp;
	struct pkt p;

	if (access(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6",
		   R_OK)) {
		skip_test("no /proc/net/tcp{,6} to confirm the TIME_WAIT");
		return;
	}
	if (tcp_listeners(family) && tcp_time_wait(family, &tp) &&
	    build_flow(&p, family, IPPROTO_TCP, LOOPBACK, tp.server_port,
		       LOOPBACK, tp.client_port))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_OUTBOUND)));
}
PER_FAMILY(zi_time_wait_tcp)

/* A listener on the flow's own port is no owner either. */
static void zi_listener_on_dport_tcp(int family)
{
	struct pkt p;

	if (tcp_listeners(family) && listener(family, SOCK_STREAM, 80) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_OUTBOUND)));
}
PER_FAMILY(zi_listener_on_dport_tcp)

static void zi_outbound_listener(int family)
{
	struct pkt p;

	if (tcp_listeners(family) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_OUTBOUND)));
}
PER_FAMILY(zi_outbound_listener)

static void zi_inbound_listener(int family)
{
	struct pkt p;

	if (tcp_listeners(family) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		zi_run(&p, TAG_INBOUND,
		       assigned(TAG_INBOUND, C(ZI_ASSIGN_INBOUND)));
}
PER_FAMILY(zi_inbound_listener)

static void zi_hbone_listener(int family)
{
	struct pkt p;

	if (tcp_listeners(family) && build_flow(&p, family, IPPROTO_TCP, REMOTE,
						40000, POD_A, ZT_PORT_HBONE))
		zi_run(&p, TAG_INBOUND,
		       assigned(TAG_INBOUND, C(ZI_ASSIGN_HBONE)));
}
PER_FAMILY(zi_hbone_listener)

/* Port 15008 is HBONE only for inbound; outbound it is just a port. */
static void zi_outbound_to_15008(void)
{
	struct pkt p;

	if (tcp_listeners(AF_INET) &&
	    build_flow(&p, AF_INET, IPPROTO_TCP, POD_A, 40000, REMOTE,
		       ZT_PORT_HBONE))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_OUTBOUND)));
}

/* Captured DNS goes to ztunnel's DNS proxy, over UDP or TCP. */
static void zi_dns_listener(int family, __u8 proto)
{
	struct pkt p;

	/* tcp_listeners() has the TCP one on ZT_PORT_DNS */
	if (tcp_listeners(family) &&
	    (proto == IPPROTO_TCP ||
	     listener(family, SOCK_DGRAM, ZT_PORT_DNS)) &&
	    build_flow(&p, family, proto, POD_B, 40053, DNS_SERVER, 53))
		zi_run(&p, TAG_DNS, assigned(TAG_DNS, C(ZI_ASSIGN_DNS)));
}
PER_FAMILY_PROTO(zi_dns_listener)

/* Port 53 tagged as plain outbound (TCP DNS, no DNS capture): 15001. */
static void zi_port53_outbound(int family)
{
	struct pkt p;

	if (tcp_listeners(family) &&
	    build_flow(&p, family, IPPROTO_TCP, POD_A, 40053, DNS_SERVER, 53))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_OUTBOUND)));
}
PER_FAMILY(zi_port53_outbound)

/*
 * A connected UDP socket owns its flow, ahead of the DNS listener: bound
 * to the server side (loopback:53) and connected to the client, as
 * ztunnel's transparent socket for a pod's query would be.
 */
static void zi_udp_connected(int family)
{
	struct pkt p;

	if (listener(family, SOCK_DGRAM, ZT_PORT_DNS) &&
	    udp_connected(family, LOOPBACK, 53, LOOPBACK, 40053) &&
	    build_flow(&p, family, IPPROTO_UDP, LOOPBACK, 40053, LOOPBACK, 53))
		zi_run(&p, TAG_OUTBOUND,
		       assigned(TAG_OUTBOUND, C(ZI_ASSIGN_ESTABLISHED)));
}
PER_FAMILY(zi_udp_connected)

/* An unconnected UDP socket on the flow's port does not own the flow. */
static void zi_udp_unconnected(int family)
{
	struct pkt p;

	if (listener(family, SOCK_DGRAM, ZT_PORT_DNS) &&
	    listener(family, SOCK_DGRAM, 53) &&
	    build_flow(&p, family, IPPROTO_UDP, POD_B, 40053, DNS_SERVER, 53))
		zi_run(&p, TAG_DNS, assigned(TAG_DNS, C(ZI_ASSIGN_DNS)));
}
PER_FAMILY(zi_udp_unconnected)

static void zi_no_listener(int family, __u8 proto)
{
	struct pkt p;

	if (build_flow(&p, family, proto, POD_A, 40000, REMOTE, 80))
		zi_run(&p, TAG_OUTBOUND, no_listener(TAG_OUTBOUND));
}
PER_FAMILY_PROTO(zi_no_listener)

/* Only the other direction's listener exists. */
static void zi_no_listener_this_direction(int family)
{
	struct pkt p;

	if (listener(family, SOCK_STREAM, ZT_PORT_OUTBOUND) &&
	    listener(family, SOCK_STREAM, ZT_PORT_HBONE) &&
	    build_flow(&p, family, IPPROTO_TCP, REMOTE, 40000, POD_A, 8080))
		zi_run(&p, TAG_INBOUND, no_listener(TAG_INBOUND));
}
PER_FAMILY(zi_no_listener_this_direction)

/* A V6ONLY listener does not take IPv4, and TCP listeners not UDP. */
static void zi_no_listener_other_family(void)
{
	struct pkt p;

	if (tcp_listeners(AF_INET6) &&
	    build_flow(&p, AF_INET, IPPROTO_TCP, POD_A, 40000, REMOTE, 80))
		zi_run(&p, TAG_OUTBOUND, no_listener(TAG_OUTBOUND));
}

static void zi_udp_no_udp_listener(void)
{
	struct pkt p;

	if (tcp_listeners(AF_INET) &&
	    build_flow(&p, AF_INET, IPPROTO_UDP, POD_A, 40000, REMOTE, 80))
		zi_run(&p, TAG_OUTBOUND, no_listener(TAG_OUTBOUND));
}

const struct test_def tc_ztunnel_ingress_tests[] = {
	T_FAMILY(zi_untagged),
	T_FAMILY(zi_malformed),
	T_FAMILY(zi_tagged_other_proto),
	T_FAMILY(zi_fragments),
	T_FAMILY(zi_established_tcp),
	T_FAMILY(zi_time_wait_tcp),
	T_FAMILY(zi_listener_on_dport_tcp),
	T_FAMILY(zi_outbound_listener),
	T_FAMILY(zi_inbound_listener),
	T_FAMILY(zi_hbone_listener),
	T(zi_outbound_to_15008),
	T_FAMILY_PROTO(zi_dns_listener),
	T_FAMILY(zi_port53_outbound),
	T_FAMILY(zi_udp_connected),
	T_FAMILY(zi_udp_unconnected),
	T_FAMILY_PROTO(zi_no_listener),
	T_FAMILY(zi_no_listener_this_direction),
	T(zi_no_listener_other_family),
	T(zi_udp_no_udp_listener),
	T_END,
};
