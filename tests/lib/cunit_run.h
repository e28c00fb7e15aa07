/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the CUnit test programs share: a table of tests per suite, one
 * verbose run of them all (or of the suites named on the command line),
 * assertions with a message that return their verdict, and the RESULT
 * line tests/run.sh adds up. Header only, and stateless: a program of
 * several files keeps its own count of skipped tests.
 */
#ifndef TESTS_CUNIT_RUN_H
#define TESTS_CUNIT_RUN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
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

/* What runs before and after each test of a program, or NULL. */
struct cunit_fixture {
	CU_SetUpFunc setup;
	CU_TearDownFunc teardown;
};

/*
 * CHECK(cond, fmt, ...): a CUnit assertion whose message is printf'd;
 * returns cond, so a test can stop at the first miss.
 */
static inline bool cunit_check(bool ok, unsigned int line, const char *file,
			       const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline bool cunit_check(bool ok, unsigned int line, const char *file,
			       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, file, "",
				CU_FALSE);
	return ok;
}

#define CHECK(cond, ...) cunit_check(!!(cond), __LINE__, __FILE__, __VA_ARGS__)

static inline int cunit_add_suite(const struct suite_def *sd,
				  const struct cunit_fixture *fx)
{
	CU_pSuite s = CU_add_suite_with_setup_and_teardown(
		sd->name, NULL, NULL, fx ? fx->setup : NULL,
		fx ? fx->teardown : NULL);

	if (!s)
		return -1;
	for (const struct test_def *t = sd->tests; t->name; t++)
		if (!CU_add_test(s, t->name, t->fn))
			return -1;
	return 0;
}

/* Is suite name among names[0..n_names) (all are when n_names is 0)? */
static inline bool cunit_suite_named(const char *name, char *const *names,
				     int n_names)
{
	for (int i = 0; i < n_names; i++)
		if (!strcmp(names[i], name))
			return true;
	return n_names == 0;
}

/*
 * Run the suites named in names[0..n_names), every one when n_names is
 * 0 (a program's argv + 1, argc - 1), each test between fx's setup and
 * teardown (fx may be NULL). Returns how many tests failed (1 when CUnit
 * could not even start, or a name matches no suite); *run: how many ran.
 */
static inline unsigned int cunit_run_named(const struct suite_def *suites,
					   size_t n,
					   const struct cunit_fixture *fx,
					   char *const *names, int n_names,
					   unsigned int *run)
{
	unsigned int failed;

	*run = 0;
	for (int i = 0; i < n_names; i++) {
		size_t j = 0;

		while (j < n && strcmp(suites[j].name, names[i]))
			j++;
		if (j == n) {
			fprintf(stderr, "no suite %s\n", names[i]);
			return 1;
		}
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (size_t i = 0; i < n; i++) {
		if (!cunit_suite_named(suites[i].name, names, n_names))
			continue;
		if (cunit_add_suite(&suites[i], fx)) {
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

/* Run every suite. */
static inline unsigned int cunit_run(const struct suite_def *suites, size_t n,
				     unsigned int *run)
{
	return cunit_run_named(suites, n, NULL, NULL, 0, run);
}

/*
 * The RESULT line; returns the exit status. skipped: how many of the
 * tests that ran said they could not run here (counted as not passed).
 */
static inline int cunit_report(unsigned int run, unsigned int failed,
			       unsigned int skipped)
{
	unsigned int passed = run > failed + skipped ? run - failed - skipped :
						       0;

	printf("RESULT: passed=%u failed=%u skipped=%u\n", passed, failed,
	       skipped);
	return failed ? 1 : 0;
}

static inline int cunit_result(unsigned int run, unsigned int failed)
{
	return cunit_report(run, failed, 0);
}

#endif /* TESTS_CUNIT_RUN_H */
