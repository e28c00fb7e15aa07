// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the sockhash key helper (bpf/include/sock_key.h), the one
 * both BPF programs of sockmap acceleration build their keys with. The
 * contexts are filled the way the kernel presents them: addresses in
 * network order, local_port in host order, remote_port the network-order
 * port in the upper half of a u32 (little-endian hosts). The e2e suite
 * (test_sockmap.sh) proves the same against the kernel.
 */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <CUnit/Basic.h>
#include "addr.h"
#include "../lib/cunit_run.h"
#include "datapath.h"
#include "log.h"
#include "sock_key.h"

#define NS_A 1001ULL /* pod A's netns cookie */
#define NS_B 1002ULL
#define NS_ZT 1003ULL /* ztunnel's */

/* remote_port as a bpf_sock_ops or sk_msg_md holds it. */
static __u32 ctx_remote_port(__u16 port)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u32)htons(port) << 16;
#else
	return htons(port);
#endif
}

static struct addr_key addr(const char *s)
{
	struct addr_key k;

	CU_ASSERT_EQUAL_FATAL(addr_key_parse(s, &k), 0);
	return k;
}

static struct bpf_sock_ops ops4(const char *l, __u16 lp, const char *r,
				__u16 rp)
{
	struct bpf_sock_ops o = { .family = AF_INET, .local_port = lp };

	inet_pton(AF_INET, l, &o.local_ip4);
	inet_pton(AF_INET, r, &o.remote_ip4);
	o.remote_port = ctx_remote_port(rp);
	/* what the kernel shows of an IPv4 socket's IPv6 fields */
	memset(o.local_ip6, 0xaa, sizeof(o.local_ip6));
	memset(o.remote_ip6, 0xbb, sizeof(o.remote_ip6));
	return o;
}

/* A socket's tuple, read as the programs read it. */
static struct sock_tuple tuple4(const char *l, __u16 lp, const char *r,
				__u16 rp)
{
	struct bpf_sock_ops o = ops4(l, lp, r, rp);
	struct sock_tuple t;

	SOCK_TUPLE_READ(&o, &t);
	return t;
}

static void test_tuple_v4(void)
{
	struct sock_tuple t = tuple4("10.244.0.5", 40000, "10.244.0.7", 8080);
	struct addr_key l = addr("10.244.0.5"), r = addr("10.244.0.7");

	CU_ASSERT_EQUAL(memcmp(&t.local, &l, sizeof(l)), 0);
	CU_ASSERT_EQUAL(memcmp(&t.remote, &r, sizeof(r)), 0);
	CU_ASSERT_EQUAL(t.local_port, 40000);
	CU_ASSERT_EQUAL(t.remote_port, 8080);
}

static void test_tuple_v6_sk_msg(void)
{
	struct sk_msg_md m = { .family = AF_INET6, .local_port = 15008 };
	struct addr_key l = addr("fd00:244::5"), r = addr("fd00:244::7");
	struct sock_tuple t;

	memcpy(m.local_ip6, l.addr, 16);
	memcpy(m.remote_ip6, r.addr, 16);
	m.remote_port = ctx_remote_port(443);
	SOCK_TUPLE_READ(&m, &t);
	CU_ASSERT_EQUAL(memcmp(&t.local, &l, sizeof(l)), 0);
	CU_ASSERT_EQUAL(memcmp(&t.remote, &r, sizeof(r)), 0);
	CU_ASSERT_EQUAL(t.local_port, 15008);
	CU_ASSERT_EQUAL(t.remote_port, 443);
}

/* An IPv6 socket talking to ::ffff:a.b.c.d gives the IPv4 socket's tuple. */
static void test_tuple_mapped(void)
{
	struct sock_tuple t4 = tuple4("10.0.0.1", 1, "10.0.0.2", 2), t6;
	struct bpf_sock_ops o = { .family = AF_INET6, .local_port = 1 };
	struct addr_key l = addr("::ffff:10.0.0.1"),
			r = addr("::ffff:10.0.0.2");

	memcpy(o.local_ip6, l.addr, 16);
	memcpy(o.remote_ip6, r.addr, 16);
	o.remote_port = ctx_remote_port(2);
	SOCK_TUPLE_READ(&o, &t6);
	CU_ASSERT_EQUAL(memcmp(&t4, &t6, sizeof(t4)), 0);
}

/* Filed under the peer's view: what the peer looks up with its own. */
static void test_pairing(void)
{
	struct sock_tuple a = tuple4("10.244.0.5", 40000, "10.244.0.7", 80);
	struct sock_tuple zt = tuple4("10.244.0.7", 80, "10.244.0.5", 40000);
	struct sock_key filed, lookup;

	sock_key_build(&filed, NS_ZT, &a, KEY_PEER_VIEW);
	sock_key_build(&lookup, NS_ZT, &zt, KEY_OWN_VIEW);
	CU_ASSERT_EQUAL(memcmp(&filed, &lookup, sizeof(filed)), 0);
	/* and not from the wrong netns */
	sock_key_build(&lookup, NS_B, &zt, KEY_OWN_VIEW);
	CU_ASSERT_NOT_EQUAL(memcmp(&filed, &lookup, sizeof(filed)), 0);
}

/*
 * The same 4-tuple twice on the node: pod A's socket and ztunnel's spoofed
 * one (A:p -> B:80), ztunnel's accepted one and pod B's (B:80 -> A:p).
 * Every socket's lookup finds exactly its own peer's entry.
 */
static void test_same_tuple_two_netns(void)
{
	struct {
		__u64 own, peer;
		struct sock_tuple t;
		int peer_idx;
	} s[4] = {
		/* 0: pod A's client, peer: ztunnel's accepted socket */
		{ NS_A, NS_ZT, tuple4("10.244.0.5", 40000, "10.244.0.7", 80),
		  1 },
		/* 1: ztunnel's accepted socket (15001), peer: pod A */
		{ NS_ZT, NS_A, tuple4("10.244.0.7", 80, "10.244.0.5", 40000),
		  0 },
		/* 2: ztunnel's spoofed socket, peer: pod B */
		{ NS_ZT, NS_B, tuple4("10.244.0.5", 40000, "10.244.0.7", 80),
		  3 },
		/* 3: pod B's accepted socket, peer: ztunnel's spoofed one */
		{ NS_B, NS_ZT, tuple4("10.244.0.7", 80, "10.244.0.5", 40000),
		  2 },
	};
	struct sock_key filed[4], lookup, bare[4];

	for (int i = 0; i < 4; i++) {
		sock_key_build(&filed[i], s[i].peer, &s[i].t, KEY_PEER_VIEW);
		sock_key_build(&bare[i], 0, &s[i].t, KEY_PEER_VIEW);
	}
	for (int i = 0; i < 4; i++) {
		sock_key_build(&lookup, s[i].own, &s[i].t, KEY_OWN_VIEW);
		for (int j = 0; j < 4; j++) {
			bool same = !memcmp(&lookup, &filed[j], sizeof(lookup));

			CU_ASSERT_EQUAL(same, j == s[i].peer_idx);
		}
	}
	/* Without the netns, pod A's entry and ztunnel's would collide. */
	CU_ASSERT_EQUAL(memcmp(&bare[0], &bare[2], sizeof(bare[0])), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(&filed[0], &filed[2], sizeof(filed[0])), 0);
}

/* Keys are compared as bytes: nothing but the fields may vary. */
static void test_padding(void)
{
	struct sock_tuple t = tuple4("10.0.0.1", 1, "10.0.0.2", 2);
	struct sock_key k1, k2;

	memset(&k1, 0xff, sizeof(k1));
	memset(&k2, 0x00, sizeof(k2));
	sock_key_build(&k1, NS_A, &t, KEY_OWN_VIEW);
	sock_key_build(&k2, NS_A, &t, KEY_OWN_VIEW);
	CU_ASSERT_EQUAL(memcmp(&k1, &k2, sizeof(k1)), 0);
	CU_ASSERT_EQUAL(k1.pad, 0);
	CU_ASSERT_EQUAL(sizeof(struct sock_key), 48);
}

static const struct test_def key_tests[] = {
	T(test_tuple_v4), T(test_tuple_v6_sk_msg),	T(test_tuple_mapped),
	T(test_pairing),  T(test_same_tuple_two_netns), T(test_padding),
	{ NULL, NULL },
};

static const struct suite_def suites[] = {
	{ "sock_key", key_tests },
};

int main(void)
{
	unsigned int run, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_LVL_ERROR);
	failed = cunit_run(suites, sizeof(suites) / sizeof(suites[0]), &run);
	return cunit_result(run, failed);
}
