// SPDX-License-Identifier: GPL-2.0
/*
 * The tc programs under BPF_PROG_TEST_RUN, one test per decision of each
 * program, with crafted frames: a suite a program, in tests/bpf/tc/ (one
 * file each, sharing tc_fixture.h). Every test checks the verdict, the
 * bytes that come out (only the destination MAC may change), skb->mark,
 * and that exactly the counters of that decision moved, each by this one
 * packet.
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

static const struct suite_def suites[] = {
	{ "app_outbound", tc_app_outbound_tests },
	{ "app_inbound", tc_app_inbound_tests },
	{ "node_addr_list", tc_node_addr_list_tests },
	{ "ztunnel_host_in", tc_ztunnel_host_in_tests },
	{ "ztunnel_ingress", tc_ztunnel_ingress_tests },
	{ "pod_guard", tc_pod_guard_tests },
};

static const struct cunit_fixture per_test = {
	.setup = tc_test_setup,
	.teardown = tc_test_teardown,
};

static unsigned int count_tests(void)
{
	unsigned int n = 0;

	for (size_t i = 0; i < ARRAY_LEN(suites); i++)
		for (const struct test_def *t = suites[i].tests; t->name; t++)
			n++;
	return n;
}

static int skip_all(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int skip_all(const char *fmt, ...)
{
	unsigned int n = count_tests();
	va_list ap;

	printf("SKIP all BPF tc tests: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return cunit_report(n, 0, n);
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
	failed = cunit_run_named(suites, ARRAY_LEN(suites), &per_test, argv + 1,
				 argc - 1, &run);
	return cunit_report(run, failed, fx.skipped);
}
