/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the test_state suites share: pods and ztunnels whose every field
 * derives from a number (make_pod, make_zt), the checks that one came back
 * whole (pod_matches, zt_matches), lookups by that number, addresses by
 * text or by pod, and this run's temporary folder (made and removed by
 * test_state.c's main).
 */
#ifndef TESTS_STATE_FIXTURE_H
#define TESTS_STATE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include "../../lib/cunit_run.h"
#include "addr.h"
#include "state.h"

/* This run's folder: a mkdtemp template until main makes it. */
extern char state_tmpdir[];

/* A path in this run's folder. */
const char *tmp_path(char *buf, size_t len, const char *name);
/* The size of the file at path, -1 if there is none. */
long file_size(const char *path);
/* The address s (text) in k; a test stops on a bad one. */
void set_addr(struct addr_key *k, const char *s);
/* The i-th address of pod i: IPv4 and IPv6 alternately, all distinct. */
void pod_addr(int pod, size_t i, struct addr_key *k);
/* A pod whose every field derives from i, so pod_matches can check it. */
struct enrolled_pod *make_pod(int i);
/* Every field of p is what make_pod(i) put there. */
bool pod_matches(const struct enrolled_pod *p, int i);
/* A ztunnel whose every field derives from i (and current). */
struct ztunnel *make_zt(int i, bool current);
/* What the journal keeps of make_zt(i, current) (see state_fixture.c). */
bool zt_matches(const struct ztunnel *z, int i, bool current);
/* The pod of make_pod(i) in st, or NULL. */
struct enrolled_pod *find_pod(const struct state *st, int i);
/* How many pods state_pod_for_each visits. */
size_t pods_visited(const struct state *st);

/* The suites: tests/unit/state/, one file each. */
extern const struct test_def state_pod_tests[];
extern const struct test_def state_zt_tests[];
extern const struct test_def state_uid_tests[];
extern const struct test_def state_journal_tests[];

#endif
