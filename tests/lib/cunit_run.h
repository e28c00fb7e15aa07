/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the CUnit test programs share: a table of tests per suite, one
 * verbose run of them all, and the RESULT line tests/run.sh adds up.
 * Header only: each test program is a single file.
 */
#ifndef TESTS_CUNIT_RUN_H
#define TESTS_CUNIT_RUN_H

#include <stddef.h>
#include <stdio.h>
#include <CUnit/Basic.h>

struct test_def {
	const char *name;
	CU_TestFunc fn;
};

/* clang-format off */
#define T(fn) { #fn, fn }
#define T_END { NULL, NULL }
/* clang-format on */

struct suite_def {
	const char *name;
	const struct test_def *tests; /* ends with T_END */
};

static inline int cunit_add_suite(const struct suite_def *sd)
{
	CU_pSuite s = CU_add_suite(sd->name, NULL, NULL);

	if (!s)
		return -1;
	for (const struct test_def *t = sd->tests; t->name; t++)
		if (!CU_add_test(s, t->name, t->fn))
			return -1;
	return 0;
}

/*
 * Run every suite. Returns how many tests failed (1 when CUnit could not
 * even start); *run: how many ran.
 */
static inline unsigned int cunit_run(const struct suite_def *suites, size_t n,
				     unsigned int *run)
{
	unsigned int failed;

	*run = 0;
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (cunit_add_suite(&suites[i])) {
			CU_cleanup_registry();
			return 1;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	*run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed;
}

/* The RESULT line; returns the exit status. */
static inline int cunit_result(unsigned int run, unsigned int failed)
{
	printf("RESULT: passed=%u failed=%u skipped=0\n",
	       run > failed ? run - failed : 0, failed);
	return failed ? 1 : 0;
}

#endif /* TESTS_CUNIT_RUN_H */
