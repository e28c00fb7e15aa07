// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of redirectd's bookkeeping (ctl/lib/state.c): the pod table,
 * the ztunnel slots, the per-connection uid sets and the journal, which
 * lives in a temporary folder made for this run and removed at its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <CUnit/Basic.h>
#include "addr.h"
#include "../lib/cunit_run.h"
#include "datapath.h"
#include "log.h"
#include "state.h"

static char tmpdir[] = "/tmp/test_state.XXXXXX";

/* --- helpers --- */

/* A path in this run's folder. */
static const char *tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

static long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : (long)sb.st_size;
}

static void set_addr(struct addr_key *k, const char *s)
{
	CU_ASSERT_EQUAL_FATAL(addr_key_parse(s, k), 0);
}

/* The i-th address of pod i: IPv4 and IPv6 alternately, all distinct. */
static void pod_addr(int pod, size_t i, struct addr_key *k)
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
static struct enrolled_pod *make_pod(int i)
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
static bool pod_matches(const struct enrolled_pod *p, int i)
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

static struct ztunnel *make_zt(int i, bool current)
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
static bool zt_matches(const struct ztunnel *z, int i, bool current)
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

static struct enrolled_pod *find_pod(const struct state *st, int i)
{
	char uid[32];

	snprintf(uid, sizeof(uid), "pod-%d", i);
	return state_pod_find(st, uid);
}

static void count_pod(struct enrolled_pod *pod, void *arg)
{
	(*(size_t *)arg)++;
}

static size_t pods_visited(const struct state *st)
{
	size_t n = 0;

	state_pod_for_each(st, count_pod, &n);
	return n;
}

/* --- pods --- */

static void test_pod_put_find_remove(void)
{
	struct state st;
	struct enrolled_pod *p, *q;

	CU_ASSERT_EQUAL_FATAL(state_init(&st), 0);
	CU_ASSERT_PTR_NULL(find_pod(&st, 1));
	p = make_pod(2); /* 3 addresses */
	state_pod_put(&st, p);
	CU_ASSERT_PTR_EQUAL(find_pod(&st, 2), p);
	CU_ASSERT_PTR_NULL(find_pod(&st, 1));
	CU_ASSERT_PTR_NULL(state_pod_find(&st, "pod-"));
	CU_ASSERT_EQUAL(st.npods, 1);
	CU_ASSERT_EQUAL(st.naddrs, 3);
	CU_ASSERT_EQUAL(pods_visited(&st), 1);

	CU_ASSERT_PTR_NULL(state_pod_remove(&st, "pod-1"));
	CU_ASSERT_EQUAL(st.npods, 1);
	q = state_pod_remove(&st, "pod-2");
	CU_ASSERT_PTR_EQUAL(q, p);
	CU_ASSERT_EQUAL(st.npods, 0);
	CU_ASSERT_EQUAL(st.naddrs, 0);
	CU_ASSERT_PTR_NULL(find_pod(&st, 2));
	CU_ASSERT_PTR_NULL(state_pod_remove(&st, "pod-2"));
	CU_ASSERT_EQUAL(pods_visited(&st), 0);
	pod_free(q);
	state_free(&st);
}

static void test_pod_replace(void)
{
	struct state st;
	struct enrolled_pod *a1 = make_pod(1), *a2 = make_pod(1),
			    *b = make_pod(4);
	struct addr_key k;

	CU_ASSERT_EQUAL_FATAL(state_init(&st), 0);
	a2->naddrs = 5;
	for (size_t i = 0; i < a2->naddrs; i++)
		pod_addr(99, i, &a2->addrs[i]);
	state_pod_put(&st, a1); /* 2 addresses */
	state_pod_put(&st, b); /* 5 addresses */
	CU_ASSERT_EQUAL(st.npods, 2);
	CU_ASSERT_EQUAL(st.naddrs, 7);
	state_pod_put(&st, a2); /* frees a1 */
	CU_ASSERT_EQUAL(st.npods, 2);
	CU_ASSERT_EQUAL(st.naddrs, 10);
	CU_ASSERT_PTR_EQUAL(find_pod(&st, 1), a2);
	CU_ASSERT_PTR_EQUAL(find_pod(&st, 4), b);
	CU_ASSERT_EQUAL(pods_visited(&st), 2);
	/* the old addresses are gone with the old pod */
	pod_addr(1, 0, &k);
	CU_ASSERT_PTR_NULL(state_pod_by_addr(&st, &k));
	state_free(&st);
}

static void test_pod_many(void)
{
	enum { N = 20000 };
	size_t missing = 0, wrong_owner = 0;
	struct state st;
	char uid[32];

	CU_ASSERT_EQUAL_FATAL(state_init(&st), 0);
	for (int i = 0; i < N; i++)
		state_pod_put(&st, make_pod(i));
	CU_ASSERT_EQUAL(st.npods, N);
	CU_ASSERT(st.nbuckets >= N); /* the table grew */
	CU_ASSERT_EQUAL(pods_visited(&st), N);
	for (int i = 0; i < N; i++) {
		struct enrolled_pod *p = find_pod(&st, i);

		if (!pod_matches(p, i))
			missing++;
		else if (i % 997 == 0 &&
			 state_pod_by_addr(&st, &p->addrs[p->naddrs - 1]) != p)
			wrong_owner++;
	}
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(wrong_owner, 0);

	for (int i = 0; i < N; i += 2) {
		snprintf(uid, sizeof(uid), "pod-%d", i);
		pod_free(state_pod_remove(&st, uid));
	}
	CU_ASSERT_EQUAL(st.npods, N / 2);
	for (int i = 0; i < N; i++)
		if (!find_pod(&st, i) != !(i % 2))
			missing++;
	CU_ASSERT_EQUAL(missing, 0);
	state_free(&st);
}

static void test_pod_by_addr(void)
{
	struct state st;
	struct enrolled_pod *a = make_pod(3), *b = make_pod(8);
	struct addr_key k;

	CU_ASSERT_EQUAL_FATAL(state_init(&st), 0);
	state_pod_put(&st, a);
	state_pod_put(&st, b);
	for (size_t i = 0; i < a->naddrs; i++)
		CU_ASSERT_PTR_EQUAL(state_pod_by_addr(&st, &a->addrs[i]), a);
	for (size_t i = 0; i < b->naddrs; i++)
		CU_ASSERT_PTR_EQUAL(state_pod_by_addr(&st, &b->addrs[i]), b);
	set_addr(&k, "192.0.2.1");
	CU_ASSERT_PTR_NULL(state_pod_by_addr(&st, &k));
	/* 10.0.3.1 belongs to pod 3; its IPv6 twin ::10.0.3.1 does not */
	set_addr(&k, "::ffff:10.0.3.1");
	CU_ASSERT_PTR_EQUAL(state_pod_by_addr(&st, &k), a);
	set_addr(&k, "::10.0.3.1");
	CU_ASSERT_PTR_NULL(state_pod_by_addr(&st, &k));

	k = a->addrs[0];
	pod_free(state_pod_remove(&st, a->uid));
	CU_ASSERT_PTR_NULL(state_pod_by_addr(&st, &k));
	CU_ASSERT_PTR_EQUAL(state_pod_by_addr(&st, &b->addrs[0]), b);
	state_free(&st);
}

/* --- ztunnels --- */

static void test_zt_put_find_remove(void)
{
	struct state st;
	struct ztunnel *a = make_zt(1, false), *b = make_zt(2, true), *z;

	CU_ASSERT_EQUAL_FATAL(state_init(&st), 0);
	CU_ASSERT_PTR_NULL(state_ztunnel_current(&st));
	CU_ASSERT_EQUAL(state_ztunnel_put(&st, a), 0);
	CU_ASSERT_PTR_NULL(state_ztunnel_current(&st));
	CU_ASSERT_EQUAL(state_ztunnel_put(&st, b), 0);
	CU_ASSERT_PTR_EQUAL(state_ztunnel_find(&st, "ztunnel-1"), a);
	CU_ASSERT_PTR_EQUAL(state_ztunnel_find(&st, "ztunnel-2"), b);
	CU_ASSERT_PTR_NULL(state_ztunnel_find(&st, "ztunnel-3"));
	CU_ASSERT_PTR_EQUAL(state_ztunnel_current(&st), b);

	z = state_ztunnel_remove(&st, "ztunnel-2");
	CU_ASSERT_PTR_EQUAL(z, b);
	CU_ASSERT_PTR_NULL(state_ztunnel_find(&st, "ztunnel-2"));
	CU_ASSERT_PTR_NULL(state_ztunnel_current(&st));
	CU_ASSERT_PTR_NULL(state_ztunnel_remove(&st, "ztunnel-2"));
	ztunnel_free(z);
	state_free(&st);
}

static void test_zt_limit(void)
{
	struct ztunnel *zts[MAX_ZTUNNELS + 1], *again;
	struct state st;

	CU_ASSERT_EQUAL_FATAL(state_init(&st), 0);
	for (int i = 0; i <= MAX_ZTUNNELS; i++)
		zts[i] = make_zt(i, false);
	for (int i = 0; i < MAX_ZTUNNELS; i++)
		CU_ASSERT_EQUAL(state_ztunnel_put(&st, zts[i]), 0);
	CU_ASSERT_EQUAL(state_ztunnel_put(&st, zts[MAX_ZTUNNELS]), -ENOSPC);
	CU_ASSERT_PTR_NULL(state_ztunnel_find(&st, zts[MAX_ZTUNNELS]->uid));

	/* replacing a known uid needs no new slot */
	again = make_zt(0, true);
	CU_ASSERT_EQUAL(state_ztunnel_put(&st, again), 0);
	CU_ASSERT_PTR_EQUAL(state_ztunnel_find(&st, "ztunnel-0"), again);
	CU_ASSERT_PTR_EQUAL(state_ztunnel_current(&st), again);

	/* a freed slot is reused */
	ztunnel_free(state_ztunnel_remove(&st, "ztunnel-1"));
	CU_ASSERT_EQUAL(state_ztunnel_put(&st, zts[MAX_ZTUNNELS]), 0);
	CU_ASSERT_PTR_EQUAL(state_ztunnel_find(&st, zts[MAX_ZTUNNELS]->uid),
			    zts[MAX_ZTUNNELS]);
	state_free(&st);
}

/* ztunnel_free closes the netns fd the ztunnel kept open. */
static void test_zt_free_closes_fd(void)
{
	struct ztunnel *z = make_zt(0, false);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	CU_ASSERT_FATAL(fd >= 0);
	z->netns_fd = fd;
	ztunnel_free(z);
	CU_ASSERT_EQUAL(fcntl(fd, F_GETFD), -1);
	CU_ASSERT_EQUAL(errno, EBADF);
}

/* --- uid sets --- */

static void test_uid_set(void)
{
	struct uid_set set = { 0 };
	char uid[32];
	size_t missing = 0;

	CU_ASSERT_FALSE(uid_set_has(&set, "a"));
	CU_ASSERT_EQUAL(uid_set_add(&set, "c"), 0);
	CU_ASSERT_EQUAL(uid_set_add(&set, "a"), 0);
	CU_ASSERT_EQUAL(uid_set_add(&set, "b"), 0);
	CU_ASSERT_FALSE(set.sorted);
	CU_ASSERT_TRUE(uid_set_has(&set, "c"));
	CU_ASSERT_TRUE(set.sorted);
	CU_ASSERT_TRUE(uid_set_has(&set, "a"));
	CU_ASSERT_TRUE(uid_set_has(&set, "b"));
	CU_ASSERT_FALSE(uid_set_has(&set, "d"));
	CU_ASSERT_FALSE(uid_set_has(&set, ""));

	/* adding after a lookup: unsorted again, and still found */
	CU_ASSERT_EQUAL(uid_set_add(&set, "0"), 0);
	CU_ASSERT_FALSE(set.sorted);
	CU_ASSERT_TRUE(uid_set_has(&set, "0"));
	CU_ASSERT_TRUE(uid_set_has(&set, "c"));

	for (int i = 999; i >= 0; i--) {
		snprintf(uid, sizeof(uid), "uid-%d", i * 7919 % 1000);
		CU_ASSERT_EQUAL(uid_set_add(&set, uid), 0);
	}
	CU_ASSERT_EQUAL(set.n, 1004);
	for (int i = 0; i < 1000; i++) {
		snprintf(uid, sizeof(uid), "uid-%d", i);
		if (!uid_set_has(&set, uid))
			missing++;
	}
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_FALSE(uid_set_has(&set, "uid-1000"));
	uid_set_free(&set);
	CU_ASSERT_EQUAL(set.n, 0);
	CU_ASSERT_PTR_NULL(set.uids);
}

static void free_uids(char **uids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(uids[i]);
	free(uids);
}

static void test_pods_not_in(void)
{
	struct uid_set set = { 0 };
	struct state st;
	char **uids;
	size_t n = 99;

	CU_ASSERT_EQUAL_FATAL(state_init(&st), 0);
	uids = state_pods_not_in(&st, &set, &n);
	CU_ASSERT_PTR_NOT_NULL(uids);
	CU_ASSERT_EQUAL(n, 0);
	free_uids(uids, n);

	for (int i = 1; i <= 4; i++)
		state_pod_put(&st, make_pod(i));
	uids = state_pods_not_in(&st, &set, &n);
	CU_ASSERT_EQUAL(n, 4); /* nothing named: all of them */
	free_uids(uids, n);

	uid_set_add(&set, "pod-2");
	uid_set_add(&set, "pod-4");
	uid_set_add(&set, "pod-9"); /* named but not enrolled */
	uids = state_pods_not_in(&st, &set, &n);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(uids);
	if (strcmp(uids[0], uids[1]) > 0) {
		char *t = uids[0];

		uids[0] = uids[1];
		uids[1] = t;
	}
	CU_ASSERT_STRING_EQUAL(uids[0], "pod-1");
	CU_ASSERT_STRING_EQUAL(uids[1], "pod-3");
	/* the result is a copy: the pods stay enrolled */
	CU_ASSERT_EQUAL(st.npods, 4);
	free_uids(uids, n);
	uid_set_free(&set);
	state_free(&st);
}

/* --- journal --- */

static int journal_open(struct state *st, const char *path)
{
	int err;

	CU_ASSERT_EQUAL_FATAL(state_init(st), 0);
	err = state_journal_open(st, path);
	CU_ASSERT_EQUAL(err, 0);
	return err;
}

static void put_pod(struct state *st, int i)
{
	struct enrolled_pod *p = make_pod(i);

	state_pod_put(st, p);
	CU_ASSERT_EQUAL(state_journal_pod_put(st, p), 0);
	state_journal_tidy(st); /* as redirectd does after each request */
}

static void delete_pod(struct state *st, int i)
{
	struct enrolled_pod *p = find_pod(st, i);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	state_pod_remove(st, p->uid);
	CU_ASSERT_EQUAL(state_journal_pod_delete(st, p->uid), 0);
	state_journal_tidy(st);
	pod_free(p);
}

static void put_zt(struct state *st, int i, bool current)
{
	struct ztunnel *z = make_zt(i, current);

	CU_ASSERT_EQUAL_FATAL(state_ztunnel_put(st, z), 0);
	CU_ASSERT_EQUAL(state_journal_zt_put(st, z), 0);
}

static void test_journal_empty(void)
{
	char path[256];
	struct state st;

	tmp_path(path, sizeof(path), "empty.journal");
	journal_open(&st, path);
	CU_ASSERT_EQUAL(st.npods, 0);
	CU_ASSERT_EQUAL(file_size(path), JOURNAL_MAGIC_LEN);
	state_free(&st);
	journal_open(&st, path);
	CU_ASSERT_EQUAL(st.npods, 0);
	CU_ASSERT_PTR_NULL(state_ztunnel_current(&st));
	state_free(&st);
}

/* What test_journal_roundtrip leaves: pods 0, 2, 3 (new), 4; ztunnel 2. */
static void check_roundtrip_state(const struct state *st)
{
	CU_ASSERT_EQUAL(st->npods, 4);
	CU_ASSERT_EQUAL(st->naddrs, 1 + 3 + 4 + 5);
	CU_ASSERT_TRUE(pod_matches(find_pod(st, 0), 0));
	CU_ASSERT_PTR_NULL(find_pod(st, 1));
	CU_ASSERT_TRUE(pod_matches(find_pod(st, 2), 2));
	CU_ASSERT_TRUE(pod_matches(find_pod(st, 3), 3));
	CU_ASSERT_TRUE(pod_matches(find_pod(st, 4), 4));
	CU_ASSERT_PTR_NULL(state_ztunnel_find(st, "ztunnel-1"));
	CU_ASSERT_TRUE(
		zt_matches(state_ztunnel_find(st, "ztunnel-2"), 2, true));
	CU_ASSERT_TRUE(zt_matches(state_ztunnel_current(st), 2, true));
	CU_ASSERT_TRUE(
		zt_matches(state_ztunnel_find(st, "ztunnel-3"), 3, false));
}

static void test_journal_roundtrip(void)
{
	char path[256];
	struct state st;
	struct enrolled_pod *p;

	tmp_path(path, sizeof(path), "roundtrip.journal");
	if (journal_open(&st, path))
		goto out;
	for (int i = 0; i < 5; i++)
		put_pod(&st, i);
	put_zt(&st, 1, true);
	put_zt(&st, 2, false);
	put_zt(&st, 3, false);
	delete_pod(&st, 1);
	/* pod 3 changes: a put over a put */
	p = make_pod(3);
	p->mac[0] ^= 0xff;
	state_pod_put(&st, p);
	CU_ASSERT_EQUAL(state_journal_pod_put(&st, p), 0);
	put_pod(&st, 3);
	/* ztunnel 1 leaves, 2 takes over */
	ztunnel_free(state_ztunnel_remove(&st, "ztunnel-1"));
	CU_ASSERT_EQUAL(state_journal_zt_delete(&st, "ztunnel-1"), 0);
	put_zt(&st, 2, true);
	check_roundtrip_state(&st);
	state_free(&st);

	if (!journal_open(&st, path))
		check_roundtrip_state(&st);
	state_free(&st);
	/* the open compacted the file; that must read back the same */
	if (!journal_open(&st, path))
		check_roundtrip_state(&st);
	CU_ASSERT_EQUAL(st.journal.records, 4 + 2);
out:
	state_free(&st);
}

/* A fresh journal holding pods 0..npods-1, one record each. */
static void write_journal(const char *path, int npods)
{
	struct state st;

	unlink(path);
	if (!journal_open(&st, path))
		for (int i = 0; i < npods; i++)
			put_pod(&st, i);
	state_free(&st);
}

static void check_torn(const char *path, long cut, int survivors)
{
	long size = file_size(path);
	struct state st;

	CU_ASSERT_FATAL(size > cut);
	CU_ASSERT_EQUAL_FATAL(truncate(path, size - cut), 0);
	if (!journal_open(&st, path)) {
		CU_ASSERT_EQUAL(st.npods, (size_t)survivors);
		for (int i = 0; i < survivors; i++)
			CU_ASSERT_TRUE(pod_matches(find_pod(&st, i), i));
		CU_ASSERT_PTR_NULL(find_pod(&st, survivors));
	}
	state_free(&st);
}

/* Killed mid-write: the unacknowledged last record is dropped. */
static void test_journal_torn(void)
{
	char path[256];
	long one, two;

	tmp_path(path, sizeof(path), "torn.journal");
	write_journal(path, 1);
	one = file_size(path);
	write_journal(path, 2);
	two = file_size(path);
	CU_ASSERT_FATAL(one > 4 && two > one);

	/* cut inside the last record's body */
	write_journal(path, 3);
	check_torn(path, 3, 2);
	/* cut inside the last record's 4-byte length */
	write_journal(path, 2);
	check_torn(path, (two - one) - 2, 1);
	/* only the length survives */
	write_journal(path, 2);
	check_torn(path, (two - one) - 4, 1);
}

static void test_journal_compaction(void)
{
	enum { ROUNDS = 5000 };
	char path[256];
	struct state st;
	long one_record, bound;

	tmp_path(path, sizeof(path), "compact.journal");
	if (journal_open(&st, path))
		goto out;
	put_pod(&st, 7);
	one_record = file_size(path);
	CU_ASSERT_FATAL(one_record > 4);
	for (int i = 0; i < ROUNDS; i++) {
		delete_pod(&st, 7);
		put_pod(&st, 7);
	}
	/* compaction keeps at most 2 * live + 1024 records in the file */
	bound = 2 * (1 + MAX_ZTUNNELS) + 1024 + 1;
	CU_ASSERT(st.journal.records <= (size_t)bound);
	CU_ASSERT(file_size(path) <= bound * one_record);
	CU_ASSERT(file_size(path) < ROUNDS * one_record / 2);
	state_free(&st);

	if (!journal_open(&st, path))
		goto out;
	CU_ASSERT_EQUAL(st.npods, 1);
	CU_ASSERT_TRUE(pod_matches(find_pod(&st, 7), 7));
	CU_ASSERT_EQUAL(file_size(path), one_record);
out:
	state_free(&st);
}

static void write_bytes(const char *path, const char *mode, const void *buf,
			size_t len)
{
	FILE *f = fopen(path, mode);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(buf, 1, len, f), len);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

/* A file that is not a journal at all: open, keep nothing, start over. */
static void test_journal_garbage(void)
{
	uint8_t junk[4096];
	uint32_t x = 2463534242u;
	char path[256];
	struct state st;

	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		junk[i] = (uint8_t)x;
	}
	tmp_path(path, sizeof(path), "garbage.journal");
	write_bytes(path, "wb", junk, sizeof(junk));
	if (!journal_open(&st, path)) {
		CU_ASSERT_EQUAL(st.npods, 0);
		put_pod(&st, 5);
	}
	state_free(&st);
	/* the file was replaced by a journal that works */
	if (!journal_open(&st, path)) {
		CU_ASSERT_EQUAL(st.npods, 1);
		CU_ASSERT_TRUE(pod_matches(find_pod(&st, 5), 5));
	}
	state_free(&st);
}

/* Good records followed by garbage: the good ones are kept. */
static void test_journal_garbage_tail(void)
{
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0x7f, 1, 2, 3 };
	static const uint8_t undecodable[] = { 4,    0,	   0,	 0,
					       0xff, 0xff, 0xff, 0xff };
	char path[256];

	tmp_path(path, sizeof(path), "tail.journal");
	write_journal(path, 3);
	write_bytes(path, "ab", huge, sizeof(huge));
	check_torn(path, 0, 3);

	write_journal(path, 3);
	write_bytes(path, "ab", undecodable, sizeof(undecodable));
	check_torn(path, 0, 3);
}

/*
 * A journal where none can be written: the daemon starts (degraded,
 * counted), and every write says it failed.
 */
static void test_journal_unwritable(void)
{
	char path[256];
	struct state st;
	struct enrolled_pod *p = make_pod(1);

	tmp_path(path, sizeof(path), "no/such/dir/state.journal");
	CU_ASSERT_EQUAL_FATAL(state_init(&st), 0);
	CU_ASSERT_EQUAL(state_journal_open(&st, path), 0);
	CU_ASSERT(st.journal.errors > 0 && st.journal.dirty);
	CU_ASSERT(state_journal_pod_put(&st, p) < 0);
	CU_ASSERT(state_journal_tidy(&st) < 0);
	pod_free(p);
	state_free(&st);
}

/* A record damaged in the middle: the records after it still count. */
static void test_journal_damaged_middle(void)
{
	char path[256];
	long one, two;
	struct state st;
	FILE *f;

	tmp_path(path, sizeof(path), "damaged.journal");
	write_journal(path, 1);
	one = file_size(path);
	write_journal(path, 2);
	two = file_size(path);
	write_journal(path, 3);
	/* a byte inside pod 1's payload (the second record) */
	f = fopen(path, "r+b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, one + (two - one) / 2, SEEK_SET);
	fputc(fgetc(f) ^ 0x5a, f);
	fclose(f);
	if (!journal_open(&st, path)) {
		CU_ASSERT_EQUAL(st.npods, 2);
		CU_ASSERT_TRUE(pod_matches(find_pod(&st, 0), 0));
		CU_ASSERT_PTR_NULL(find_pod(&st, 1));
		CU_ASSERT_TRUE(pod_matches(find_pod(&st, 2), 2));
		CU_ASSERT_EQUAL(st.journal.damaged, 1);
	}
	state_free(&st);
	/* a length word damaged: the same */
	write_journal(path, 3);
	f = fopen(path, "r+b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fseek(f, one + 2, SEEK_SET);
	fputc(0x7f, f);
	fclose(f);
	if (!journal_open(&st, path)) {
		CU_ASSERT_EQUAL(st.npods, 2);
		CU_ASSERT_TRUE(pod_matches(find_pod(&st, 2), 2));
	}
	state_free(&st);
}

/* STATE.tmp is never followed, and the journal is 0600 whatever the umask. */
static void test_journal_tmp_symlink(void)
{
	char path[256], tmp[270], victim[256];
	mode_t old = umask(0);
	struct stat sb;
	struct state st;

	tmp_path(path, sizeof(path), "sym.journal");
	tmp_path(victim, sizeof(victim), "victim");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	write_bytes(victim, "wb", "keep", 4);
	unlink(tmp);
	CU_ASSERT_EQUAL_FATAL(symlink(victim, tmp), 0);
	if (!journal_open(&st, path))
		put_pod(&st, 1);
	CU_ASSERT_EQUAL(state_journal_compact(&st), 0);
	state_free(&st);
	umask(old);
	CU_ASSERT_EQUAL(file_size(victim), 4);
	CU_ASSERT_EQUAL(lstat(tmp, &sb), -1);
	CU_ASSERT_EQUAL(stat(path, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	CU_ASSERT_TRUE(S_ISREG(sb.st_mode));
}

/* A journal of the earlier format (length, payload) replays. */
static void test_journal_legacy(void)
{
	JournalEntry e = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__INIT;
	char path[256];
	uint8_t buf[512];
	struct state st;
	size_t len;

	tmp_path(path, sizeof(path), "legacy.journal");
	e.op_case = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_POD_DELETE;
	e.pod_delete = "nobody";
	len = ambient_redirect__v1__journal_entry__pack(&e, buf + 4);
	buf[0] = (uint8_t)len;
	buf[1] = buf[2] = buf[3] = 0;
	write_journal(path, 0);
	write_bytes(path, "wb", buf, len + 4);
	if (!journal_open(&st, path)) {
		CU_ASSERT_EQUAL(st.npods, 0);
		CU_ASSERT_EQUAL(st.journal.damaged, 0);
	}
	state_free(&st);
	/* rewritten in the current format */
	CU_ASSERT_EQUAL(file_size(path), JOURNAL_MAGIC_LEN);
}

/* --- runner --- */

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *f)
{
	return remove(path);
}

static const struct test_def pod_tests[] = {
	T(test_pod_put_find_remove), T(test_pod_replace), T(test_pod_many),
	T(test_pod_by_addr),	     { NULL, NULL },
};

static const struct test_def zt_tests[] = {
	T(test_zt_put_find_remove),
	T(test_zt_limit),
	T(test_zt_free_closes_fd),
	{ NULL, NULL },
};

static const struct test_def uid_tests[] = {
	T(test_uid_set),
	T(test_pods_not_in),
	{ NULL, NULL },
};

static const struct test_def journal_tests[] = {
	T(test_journal_empty),
	T(test_journal_roundtrip),
	T(test_journal_torn),
	T(test_journal_compaction),
	T(test_journal_garbage),
	T(test_journal_garbage_tail),
	T(test_journal_unwritable),
	T(test_journal_damaged_middle),
	T(test_journal_tmp_symlink),
	T(test_journal_legacy),
	{ NULL, NULL },
};

static const struct suite_def suites[] = {
	{ "pods", pod_tests },
	{ "ztunnels", zt_tests },
	{ "uid_set", uid_tests },
	{ "journal", journal_tests },
};

int main(void)
{
	unsigned int run = 0, failed = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_LVL_ERROR); /* torn records are expected here */
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
	} else {
		failed = cunit_run(suites, sizeof(suites) / sizeof(suites[0]),
				   &run);
		if (nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS)) {
			perror(tmpdir);
			failed++;
		}
	}
	return cunit_result(run, failed);
}
