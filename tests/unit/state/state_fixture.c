// SPDX-License-Identifier: GPL-2.0
/*
 * The test_state fixture (state_fixture.h): pods and ztunnels made from a
 * number and checked against it, addresses, the run's folder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <CUnit/Basic.h>
#include "state_fixture.h"

char state_tmpdir[] = "/tmp/test_state.XXXXXX";

const char *tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", state_tmpdir, name);
	return buf;
}

long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : (long)sb.st_size;
}

void set_addr(struct addr_key *k, const char *s)
{
	CU_ASSERT_EQUAL_FATAL(addr_key_parse(s, k), 0);
}

/* The i-th address of pod i: IPv4 and IPv6 alternately, all distinct. */
void pod_addr(int pod, size_t i, struct addr_key *k)
{
	char s[INET6_ADDRSTRLEN];

	if (i % 2)
		snprintf(s, sizeof(s), "fd00:%x::%zx", pod, i);
	else
		snprintf(s, sizeof(s), "10.%d.%d.%zu", (pod >> 8) & 0xff,
			 pod & 0xff, i + 1);
	set_addr(k, s);
}

/* A pod whose every field derives from i, so pod_matches can check it. */
struct enrolled_pod *make_pod(int i)
{
	char s[128];
	struct enrolled_pod *p;

	snprintf(s, sizeof(s), "pod-%d", i);
	p = pod_new(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	free(p->name);
	free(p->ns);
	free(p->netns_path);
	snprintf(s, sizeof(s), "web-%d", i);
	p->name = strdup(s);
	snprintf(s, sizeof(s), "ns-%d", i % 7);
	p->ns = strdup(s);
	snprintf(s, sizeof(s), "/var/run/netns/cni-%08x", i * 2654435761u);
	p->netns_path = strdup(i % 5 ? s : "");
	CU_ASSERT_FATAL(p->name && p->ns && p->netns_path);
	snprintf(p->ifname, sizeof(p->ifname), "eth%d", i % 3);
	snprintf(p->host_veth, sizeof(p->host_veth), "veth%08x", i);
	p->host_ifindex = 1000 + i;
	for (int b = 0; b < 6; b++)
		p->mac[b] = (__u8)(i * 31 + b * 17 + 0x42);
	p->dns_capture = i % 2;
	p->qdisc_created = i % 3 == 0;
	p->naddrs = 1 + (size_t)i % WIRE_MAX_IPS;
	for (size_t a = 0; a < p->naddrs; a++)
		pod_addr(i, a, &p->addrs[a]);
	return p;
}

/* Every field of p is what make_pod(i) put there. */
bool pod_matches(const struct enrolled_pod *p, int i)
{
	struct enrolled_pod *want = make_pod(i);
	bool ok;

	ok = p && !strcmp(p->uid, want->uid) && !strcmp(p->name, want->name) &&
	     !strcmp(p->ns, want->ns) &&
	     !strcmp(p->netns_path, want->netns_path) &&
	     !strcmp(p->ifname, want->ifname) &&
	     !strcmp(p->host_veth, want->host_veth) &&
	     p->host_ifindex == want->host_ifindex &&
	     !memcmp(p->mac, want->mac, sizeof(p->mac)) &&
	     p->dns_capture == want->dns_capture &&
	     p->qdisc_created == want->qdisc_created &&
	     p->naddrs == want->naddrs &&
	     !memcmp(p->addrs, want->addrs, p->naddrs * sizeof(p->addrs[0]));
	pod_free(want);
	return ok;
}

struct ztunnel *make_zt(int i, bool current)
{
	char s[64];
	struct ztunnel *z;

	snprintf(s, sizeof(s), "ztunnel-%d", i);
	z = ztunnel_new(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	free(z->netns_path);
	snprintf(s, sizeof(s), "/proc/%d/ns/net", 4000 + i);
	z->netns_path = strdup(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z->netns_path);
	snprintf(z->ifname, sizeof(z->ifname), "eth%d", i);
	snprintf(z->host_veth, sizeof(z->host_veth), "vethzt%d", i);
	z->host_ifindex = 500 + i;
	for (int b = 0; b < 6; b++)
		z->mac[b] = (__u8)(0xa0 + i + b);
	z->current = current;
	z->qdisc_created = i % 2;
	z->host_qdisc_created = i % 2 == 0;
	z->naddrs = (size_t)i % 3; /* 0, 1 or 2 addresses */
	for (size_t a = 0; a < z->naddrs; a++)
		pod_addr(0x7700 + i, a, &z->addrs[a]);
	return z;
}

/*
 * What the journal keeps of a ztunnel. Not its ifindex inside its netns
 * nor its netns fd: ZtunnelInfo has no field for them, the daemon finds
 * them again.
 */
bool zt_matches(const struct ztunnel *z, int i, bool current)
{
	struct ztunnel *want = make_zt(i, current);
	bool ok;

	ok = z && !strcmp(z->uid, want->uid) &&
	     !strcmp(z->netns_path, want->netns_path) &&
	     !strcmp(z->ifname, want->ifname) &&
	     !strcmp(z->host_veth, want->host_veth) &&
	     z->host_ifindex == want->host_ifindex &&
	     !memcmp(z->mac, want->mac, sizeof(z->mac)) &&
	     z->current == want->current &&
	     z->qdisc_created == want->qdisc_created &&
	     z->host_qdisc_created == want->host_qdisc_created &&
	     z->naddrs == want->naddrs &&
	     !memcmp(z->addrs, want->addrs, z->naddrs * sizeof(z->addrs[0]));
	ztunnel_free(want);
	return ok;
}

struct enrolled_pod *find_pod(const struct state *st, int i)
{
	char uid[32];

	snprintf(uid, sizeof(uid), "pod-%d", i);
	return state_pod_find(st, uid);
}

static void count_pod(struct enrolled_pod *pod, void *arg)
{
	(*(size_t *)arg)++;
}

size_t pods_visited(const struct state *st)
{
	size_t n = 0;

	state_pod_for_each(st, count_pod, &n);
	return n;
}
