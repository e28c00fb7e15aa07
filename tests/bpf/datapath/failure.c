// SPDX-License-Identifier: GPL-2.0
/*
 * When things are missing: without ztunnel a meshed pod's connection is
 * dropped (fail closed) or goes straight (fail open) (8); a load of the
 * datapath that fails leaves no pin folder behind (12).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <netinet/in.h>
#include "dp_fixture.h"

/* Without ztunnel and fail-closed, A's connect to B must not complete. */
static void no_ztunnel_closed(void)
{
	struct counts c;
	int fd, err;

	counts_begin(&c);
	fd = ns_socket(NS_A, V4, SOCK_STREAM, NULL);
	if (!EXPECT_OK(fd < 0 ? fd : 0, "client socket"))
		return;
	err = start_connect(fd, af_of(V4), eps[NS_B].addr[V4], PORT_APP);
	if (!err)
		err = wait_connected(fd, FAIL_CONNECT_MS);
	EXPECT(err != 0);
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_OUT_DROP_NO_ZTUNNEL, 1);
	EXPECT_CNT_NONE(&c, CNT_OUT_TO_ZTUNNEL);
	EXPECT_QUIET(fx.b_listen[V4], "B's server");
	EXPECT_QUIET(fx.zt_tcp[ZT_OUT][V4], "ztunnel's outbound listener");
	counts_report(&c);
	close_with_reset(fd);
}

/* Fail-open: the same connection goes directly to B's server. */
static void no_ztunnel_open(void)
{
	struct settings open = { .flags = SET_F_FAIL_OPEN };
	struct flow fl = { .client = -1, .server = -1 };
	struct counts c;

	if (!EXPECT_OK(dp_settings_set(&fx.dp, &open), "set fail-open"))
		return;
	case_begin(&c);
	if (!flow_from(&fl, NS_A, V4, eps[NS_B].addr[V4], PORT_APP,
		       fx.b_listen[V4]))
		goto out;
	counts_end(&c);
	EXPECT_CNT_MIN(&c, CNT_OUT_PASS_FAIL_OPEN, 3);
	EXPECT_CNT_MIN(&c, CNT_IN_PASS_FAIL_OPEN, 3);
	EXPECT_CNT_NONE(&c, CNT_OUT_TO_ZTUNNEL);
	EXPECT_CNT_NONE(&c, CNT_IN_TO_ZTUNNEL);
	EXPECT_QUIET(fx.zt_tcp[ZT_OUT][V4], "ztunnel's outbound listener");
out:
	counts_end(&c);
	counts_report(&c);
	flow_close(&fl);
}

/* (8) ztunnel absent: fail-closed drops, fail-open goes direct. */
static void test_no_ztunnel(void)
{
	struct settings closed = { 0 };
	struct ztunnel_value zt, gone;

	if (!EXPECT_OK(dp_ztunnel_get(&fx.dp, &zt), "read ztunnel slot"))
		return;
	gone = zt;
	gone.present = 0;
	drain_all();
	usleep(SETTLE_US);
	if (EXPECT_OK(dp_ztunnel_set(&fx.dp, &gone), "mark ztunnel absent")) {
		no_ztunnel_closed();
		no_ztunnel_open();
	}
	/* later cases need ztunnel back whatever happened here */
	EXPECT_OK(dp_settings_set(&fx.dp, &closed), "restore fail-closed");
	EXPECT_OK(dp_ztunnel_set(&fx.dp, &zt), "restore ztunnel slot");
}

/* (12) A load that fails leaves no folder it made. */
static void test_failed_load(void)
{
	/* Buckets for 2^31 addresses: the kernel refuses the pods map. */
	struct dp_opts o = { .sz = sizeof(o), .pod_addrs = 0x7fffffff };
	struct datapath dp;
	char dir[64];

	snprintf(dir, sizeof(dir), PIN_DIR_FMT "-fail", (int)getpid());
	o.pin_dir = dir;
	EXPECT(access(dir, F_OK) != 0);
	EXPECT(dp_load(&dp, &o) < 0);
	EXPECT(access(dir, F_OK) != 0 && errno == ENOENT);
	rmdir(dir); /* only if the check above failed */
}

const struct test_def dp_failure_tests[] = {
	{ "8 no ztunnel: fail-closed drops, fail-open direct",
	  test_no_ztunnel },
	{ "12 a failed load leaves no pin folder behind", test_failed_load },
	T_END,
};
