// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of redirectd's bookkeeping (ctl/lib/state.c): the pod table,
 * the ztunnel slots, the per-connection uid sets and the journal, which
 * lives in a temporary folder made for this run and removed at its end.
 * This file is the runner; the suites are in tests/unit/state/ (tables.c:
 * pods, ztunnels, uid sets; journal.c), with their fixture
 * (state_fixture.h).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <CUnit/Basic.h>
#include "../lib/cunit_run.h"
#include "log.h"
#include "state/state_fixture.h"

/* nftw's callback, depth first: removes the run's folder and its files. */
static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *f)
{
	return remove(path);
}

static const struct suite_def suites[] = {
	{ "pods", state_pod_tests },
	{ "ztunnels", state_zt_tests },
	{ "uid_set", state_uid_tests },
	{ "journal", state_journal_tests },
};

int main(void)
{
	unsigned int run = 0, failed = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_LVL_ERROR); /* torn records are expected here */
	if (!mkdtemp(state_tmpdir)) {
		perror("mkdtemp");
	} else {
		failed = cunit_run(suites, sizeof(suites) / sizeof(suites[0]),
				   &run);
		if (nftw(state_tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS)) {
			perror(state_tmpdir);
			failed++;
		}
	}
	return cunit_result(run, failed);
}
