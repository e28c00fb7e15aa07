// SPDX-License-Identifier: GPL-2.0
/*
 * The tc programs under BPF_PROG_TEST_RUN, one test per decision of each
 * program, with crafted frames: a suite a program, in tests/bpf/tc/ (one
 * file each, sharing tc_fixture.h). The cases app_outbound, app_inbound
 * and pod_guard share (a packet that only changes direction) are rows of
 * one table, tc/mirror.c, run as tests of each of their suites. Every
 * test checks the verdict, the bytes that come out (only the destination
 * MAC may change), skb->mark, and that exactly the counters of that
 * decision moved, each by this one packet.
 *
 *   test_tc [SUITE...]    all suites, or the ones named (app_outbound,
 *                         app_inbound, node_addr_list, ztunnel_host_in,
 *                         ztunnel_ingress, pod_guard)
 *
 * Everything lives in a private network namespace; the maps are pinned in
 * a per-run bpffs folder that is removed at exit.
 *
 * What test-run cannot show: where a redirect goes (the target ifindex
 * stays in the kernel's per-CPU redirect state); tests/bpf/test_datapath.c
 * sends real traffic for that.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cunit_run.h"
#include "log.h"
#include "net_helpers.h"
#include "tc_fixture.h"

/* A suite a program: the rows of mirror.c for it first, then its own. */
static const struct {
	const char *name;
	const struct test_def *own;
	bool mirrored; /* one of mirror.c's programs */
	enum dp_prog prog;
} programs[] = {
	{ .name = "app_outbound",
	  .own = tc_app_outbound_tests,
	  .mirrored = true,
	  .prog = DP_APP_OUTBOUND },
	{ .name = "app_inbound",
	  .own = tc_app_inbound_tests,
	  .mirrored = true,
	  .prog = DP_APP_INBOUND },
	{ .name = "node_addr_list", .own = tc_node_addr_list_tests },
	{ .name = "ztunnel_host_in", .own = tc_ztunnel_host_in_tests },
	{ .name = "ztunnel_ingress", .own = tc_ztunnel_ingress_tests },
	{ .name = "pod_guard",
	  .own = tc_pod_guard_tests,
	  .mirrored = true,
	  .prog = DP_POD_GUARD },
};

#define N_SUITES ARRAY_LEN(programs)
#define MAX_TESTS 256 /* of one suite */

static struct test_def tables[N_SUITES][MAX_TESTS + 1];
static struct suite_def suites[N_SUITES];

static const struct cunit_fixture per_test = {
	.setup = tc_test_setup,
	.teardown = tc_test_teardown,
};

/* The suites' tables; returns how many tests in all, 0 if too many. */
static unsigned int make_suites(void)
{
	unsigned int total = 0;

	for (size_t i = 0; i < N_SUITES; i++) {
		struct test_def *t = tables[i];
		size_t n = 0;

		if (programs[i].mirrored)
			n = tc_mirror_tests(programs[i].prog, t, MAX_TESTS);
		for (const struct test_def *own = programs[i].own;
		     n <= MAX_TESTS && own->name; own++)
			if (n < MAX_TESTS)
				t[n++] = *own;
			else
				n = MAX_TESTS + 1;
		if (n > MAX_TESTS)
			return 0;
		t[n] = (struct test_def)T_END;
		suites[i] = (struct suite_def){ programs[i].name, t };
		total += n;
	}
	return total;
}

static unsigned int n_tests;

static int skip_all(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int skip_all(const char *fmt, ...)
{
	va_list ap;

	printf("SKIP all BPF tc tests: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return cunit_report(n_tests, 0, n_tests);
}

static void on_signal(int sig)
{
	/* exit() runs the cleanup: the pins live outside our netns */
	exit(128 + sig);
}

int main(int argc, char **argv)
{
	unsigned int run, failed;
	const char *missing;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	n_tests = make_suites();
	if (!n_tests) {
		fprintf(stderr, "a suite has more than %d tests\n", MAX_TESTS);
		return cunit_report(0, 1, 0);
	}
	if (geteuid() != 0)
		return skip_all("needs root (BPF, netns, bpffs)");
	err = enter_private_netns();
	if (err)
		return skip_all("a netns of our own: %s", strerror(-err));
	missing = tc_probe_kernel();
	if (missing)
		return skip_all("kernel lacks: %s", missing);

	log_route_libbpf();
	atexit(tc_fixture_cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (tc_fixture_setup())
		return cunit_report(0, 1, 0);
	failed = cunit_run_named(suites, N_SUITES, &per_test, argv + 1,
				 argc - 1, &run);
	return cunit_report(run, failed, fx.skipped);
}
