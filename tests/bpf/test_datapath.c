// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-datapath test: the real tc programs on real veths between real
 * network namespaces, with a stand-in ztunnel (transparent sockets) in its
 * own netns. Each case sends real TCP or UDP and checks which socket it
 * reached, what that socket saw as original destination and peer, that
 * bytes flow both ways, and which decision counters moved. The node is
 * tests/bpf/datapath/dp_fixture.h's; the cases, numbered, are suites by
 * theme, one a file there:
 *
 *   test_datapath [SUITE...]   all suites, or the ones named (tcp, udp,
 *                              node_addr, failure, chaining, dns)
 *
 * Runs as root and touches only the namespaces and the bpffs folder it
 * creates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cunit_run.h"
#include "dp_fixture.h"
#include "log.h"

static const struct suite_def suites[] = {
	{ "tcp", dp_tcp_tests },
	{ "udp", dp_udp_tests },
	{ "node_addr", dp_node_addr_tests },
	{ "failure", dp_failure_tests },
	{ "chaining", dp_chaining_tests },
	{ "dns", dp_dns_tests },
};

static unsigned int count_tests(void)
{
	unsigned int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(suites); i++)
		for (const struct test_def *t = suites[i].tests; t->name; t++)
			n++;
	return n;
}

static int finish(unsigned int run, unsigned int failed, unsigned int skipped)
{
	dp_fixture_cleanup();
	return cunit_report(run, failed, skipped);
}

int main(int argc, char **argv)
{
	const unsigned int n = count_tests();
	unsigned int run, failed;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dp_fixture_init();
	log_route_libbpf();
	log_set_level(LOG_LVL_WARN);
	if (geteuid() != 0) {
		printf("SKIP: needs root (network namespaces, tc, BPF)\n");
		return finish(n, 0, n);
	}
	if (system("ip -V >/dev/null 2>&1")) {
		printf("SKIP: iproute2 'ip' not found\n");
		return finish(n, 0, n);
	}
	if (dp_make_netns()) {
		printf("SKIP: cannot create network namespaces\n");
		return finish(n, 0, n);
	}
	err = dp_fixture_setup();
	if (err) {
		printf("FAIL: setting up the node: %s\n", strerror(-err));
		return finish(n, n, 0);
	}
	failed = cunit_run_named(suites, ARRAY_SIZE(suites), NULL, argv + 1,
				 argc - 1, &run);
	return finish(run, failed, fx.skipped);
}
