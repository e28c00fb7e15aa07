// SPDX-License-Identifier: GPL-2.0
/*
 * test_state's journal suite (ctl/lib/state.c's records over
 * ctl/lib/journal.c): round trips, torn and damaged files, garbage,
 * compaction, an unwritable folder, a planted symlink, the legacy format;
 * every file in this run's folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <CUnit/Basic.h>
#include "../../lib/cunit_run.h"
#include "state_fixture.h"

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

const struct test_def state_journal_tests[] = {
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
