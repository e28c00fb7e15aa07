// SPDX-License-Identifier: GPL-2.0
/*
 * UDP through the node: with all-UDP capture (the fixture's ztunnel) a
 * pod's datagram lands on ztunnel's UDP listener with its original
 * destination, and ztunnel's answer as the destination reaches the pod
 * (6); later datagrams and the fragments of a large one reach ztunnel's
 * socket for the flow (11). Without it, UDP passes both ways (13).
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include "dp_fixture.h"

/* ztunnel's transparent UDP socket at B:5353, as a proxy answers as B. */
static int ztunnel_udp_as_b(enum fam f)
{
	const struct sock_opts transparent = { .transparent = true };

	return ns_bound_socket(NS_ZT, f, SOCK_DGRAM, eps[NS_B].addr[f],
			       PORT_UDP_APP, &transparent);
}

/* ---------- (6) a pod's datagram to ztunnel, and the answer ---------- */

/*
 * ztunnel answers as B:5353 (transparent socket bound to B's address); the
 * reply must reach A's socket straight from ztunnel_host_in.
 */
static bool udp_reply_as_b(enum fam f, int a_sock)
{
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	char buf[64];
	ssize_t n;
	int z = ztunnel_udp_as_b(f), err;

	if (!EXPECT_OK(z < 0 ? z : 0, "ztunnel UDP socket as B"))
		return false;
	err = sent_whole(send_to_addr(z, af_of(f), eps[NS_A].addr[f],
				      (uint16_t)get_local_port(a_sock),
				      "udp-reply", 9),
			 9);
	if (!err)
		err = wait_fd(a_sock, POLLIN, IO_TIMEOUT_MS);
	close(z);
	if (!EXPECT_OK(err, "reply from ztunnel as B reaches A"))
		return false;
	n = recvfrom(a_sock, buf, sizeof(buf), 0, (struct sockaddr *)&from,
		     &len);
	return EXPECT(n == 9 && !memcmp(buf, "udp-reply", 9)) &&
	       EXPECT_SA(&from, f, eps[NS_B].addr[f], PORT_UDP_APP,
			 "reply's source at A");
}

/* (6) UDP A -> B:5353 lands on ztunnel's UDP 15001 with orig dst B:5353. */
static void outbound_udp(enum fam f)
{
	struct sockaddr_storage from, orig;
	int a = -1, zfd = fx.zt_udp[ZTU_OUT][f];
	struct counts c;
	char buf[64];
	ssize_t n;

	case_begin(&c);
	a = ns_socket(NS_A, f, SOCK_DGRAM, NULL);
	if (!EXPECT_OK(a < 0 ? a : 0, "A's UDP socket"))
		goto out;
	n = send_to_addr(a, af_of(f), eps[NS_B].addr[f], PORT_UDP_APP,
			 "udp-probe", 9);
	if (!EXPECT_OK(sent_whole(n, 9), "sendto B") ||
	    !EXPECT_OK(wait_fd(zfd, POLLIN, IO_TIMEOUT_MS),
		       "datagram at ztunnel's UDP outbound socket"))
		goto out;
	n = recv_with_orig_dst(zfd, buf, sizeof(buf), &from, &orig);
	if (!EXPECT(n == 9 && !memcmp(buf, "udp-probe", 9)) ||
	    !EXPECT_SA(&orig, f, eps[NS_B].addr[f], PORT_UDP_APP,
		       "original destination") ||
	    !EXPECT_SA(&from, f, eps[NS_A].addr[f], get_local_port(a),
		       "datagram's source"))
		goto out;
	if (!udp_reply_as_b(f, a))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_OUT_TO_ZTUNNEL, 1);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_OUTBOUND, 1);
	EXPECT_CNT_MIN(&c, CNT_ZH_TO_POD, 1);
	EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
out:
	counts_end(&c);
	counts_report(&c);
	if (a >= 0)
		close(a);
}

static void test_outbound_udp_v4(void)
{
	outbound_udp(V4);
}

static void test_outbound_udp_v6(void)
{
	outbound_udp(V6);
}

/* ---------- (11) a UDP flow's own socket, also for fragments ---------- */

/*
 * What a proxy does after a flow's first datagram: a socket of its own for
 * the flow, bound to the original destination and connected to the client.
 */
static int ztunnel_flow_socket(enum fam f, int client_port)
{
	int z = ztunnel_udp_as_b(f), err;

	if (z < 0)
		return z;
	err = start_connect(z, af_of(f), eps[NS_A].addr[f],
			    (uint16_t)client_port);
	if (err) {
		close(z);
		return err;
	}
	return z;
}

/* len bytes from A's socket to B:5353 must arrive whole at fd. */
static bool udp_to(int a, enum fam f, size_t len, int fd)
{
	static char out[FRAG_LEN], in[FRAG_LEN + 1];
	ssize_t n;

	memset(out, 'f', len);
	n = send_to_addr(a, af_of(f), eps[NS_B].addr[f], PORT_UDP_APP, out,
			 len);
	if (!EXPECT_OK(sent_whole(n, len), "sendto B") ||
	    !EXPECT_OK(wait_fd(fd, POLLIN, IO_TIMEOUT_MS),
		       "datagram at ztunnel's socket for the flow"))
		return false;
	n = recv(fd, in, sizeof(in), 0);
	return EXPECT(n == (ssize_t)len && !memcmp(in, out, len));
}

/*
 * The first datagram goes to the listener; later ones, and the fragments
 * of a large one (which cannot be assigned a socket and are delivered for
 * the stack to reassemble), must reach ztunnel's socket for the flow.
 */
static void udp_flow(enum fam f)
{
	int a = -1, z = -1;
	struct counts c;

	case_begin(&c);
	a = ns_socket(NS_A, f, SOCK_DGRAM, NULL);
	if (!EXPECT_OK(a < 0 ? a : 0, "A's UDP socket") ||
	    !udp_to(a, f, 16, fx.zt_udp[ZTU_OUT][f]))
		goto out;
	z = ztunnel_flow_socket(f, get_local_port(a));
	if (!EXPECT_OK(z < 0 ? z : 0, "ztunnel's socket for the flow") ||
	    !udp_to(a, f, 16, z) || !udp_to(a, f, FRAG_LEN, z))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_OUTBOUND, 1);
	EXPECT_CNT_MIN(&c, CNT_ZI_ASSIGN_ESTABLISHED, 1);
	EXPECT_CNT_MIN(&c, CNT_ZI_LOCAL_FRAG, 2);
	EXPECT_QUIET(fx.zt_udp[ZTU_OUT][f], "ztunnel's UDP listener");
out:
	counts_end(&c);
	counts_report(&c);
	if (z >= 0)
		close(z);
	if (a >= 0)
		close(a);
}

static void test_udp_flow_v4(void)
{
	udp_flow(V4);
}

static void test_udp_flow_v6(void)
{
	udp_flow(V6);
}

/* ---------- (13) UDP that ztunnel does not serve passes ---------- */

static int set_ztunnel_flags(__u8 flags)
{
	struct ztunnel_value zt;
	int err = dp_ztunnel_get(&fx.dp, &zt);

	if (err)
		return err;
	zt.flags = flags;
	return dp_ztunnel_set(&fx.dp, &zt);
}

/*
 * Without all-UDP capture (a ztunnel like Istio's, no UDP listener but
 * DNS): A's datagram to C and C's answer go straight, and so does a
 * datagram C sends A unasked; ztunnel's UDP sockets hear nothing.
 */
static void udp_passes(enum fam f)
{
	int a = ns_bound_socket(NS_A, f, SOCK_DGRAM, NULL, 0, NULL);
	struct sockaddr_storage orig;
	struct counts c;

	case_begin(&c);
	if (!EXPECT_OK(a < 0 ? a : 0, "A's UDP socket, bound") ||
	    !EXPECT_OK(set_ztunnel_flags(0), "all-UDP capture off"))
		goto out;
	if (udp_hop(a, f, eps[NS_C].addr[f], DNS_PORT, fx.c_dns[f],
		    eps[NS_A].addr[f], get_local_port(a), &orig) &&
	    udp_hop(fx.c_dns[f], f, eps[NS_A].addr[f], get_local_port(a), a,
		    eps[NS_C].addr[f], DNS_PORT, &orig) &&
	    udp_hop(fx.c_dns[f], f, eps[NS_A].addr[f], get_local_port(a), a,
		    eps[NS_C].addr[f], DNS_PORT, &orig)) {
		counts_end(&c);
		EXPECT_CNT_MIN(&c, CNT_OUT_PASS_UDP, 1);
		EXPECT_CNT_MIN(&c, CNT_IN_PASS_UDP, 2);
		EXPECT_CNT_NONE(&c, CNT_OUT_TO_ZTUNNEL);
		EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
		EXPECT_QUIET(fx.zt_udp[ZTU_OUT][f], "ztunnel's UDP 15001");
		EXPECT_QUIET(fx.zt_udp[ZTU_IN][f], "ztunnel's UDP 15006");
	}
out:
	EXPECT_OK(set_ztunnel_flags(ZT_F_CAPTURE_UDP), "all-UDP capture on");
	counts_end(&c);
	counts_report(&c);
	if (a >= 0)
		close(a);
}

static void test_udp_passes_v4(void)
{
	udp_passes(V4);
}

static void test_udp_passes_v6(void)
{
	udp_passes(V6);
}

const struct test_def dp_udp_tests[] = {
	{ "6 outbound UDP IPv4 A->B:5353 to ztunnel 15001",
	  test_outbound_udp_v4 },
	{ "6 outbound UDP IPv6 A->B:5353 to ztunnel 15001",
	  test_outbound_udp_v6 },
	{ "11 UDP flow socket IPv4, also for fragments", test_udp_flow_v4 },
	{ "11 UDP flow socket IPv6, also for fragments", test_udp_flow_v6 },
	{ "13 UDP IPv4 without all-UDP capture passes both ways",
	  test_udp_passes_v4 },
	{ "13 UDP IPv6 without all-UDP capture passes both ways",
	  test_udp_passes_v6 },
	T_END,
};
