// SPDX-License-Identifier: GPL-2.0
/*
 * test_state's suites of the in-memory tables (ctl/lib/state.c): pods
 * (put, find, replace, by address, many), the ztunnel slots and the
 * per-connection uid sets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include "../../lib/cunit_run.h"
#include "state_fixture.h"

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

const struct test_def state_pod_tests[] = {
	T(test_pod_put_find_remove), T(test_pod_replace), T(test_pod_many),
	T(test_pod_by_addr),	     { NULL, NULL },
};

const struct test_def state_zt_tests[] = {
	T(test_zt_put_find_remove),
	T(test_zt_limit),
	T(test_zt_free_closes_fd),
	{ NULL, NULL },
};

const struct test_def state_uid_tests[] = {
	T(test_uid_set),
	T(test_pods_not_in),
	{ NULL, NULL },
};
