// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of a pod's exclusions as redirectd parses and keeps them
 * (ctl/lib/exclusions.c) and as its journal records them (PodInfo). The
 * datapath side is tests/e2e/test_exclusions.sh's, on real traffic.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <CUnit/Basic.h>
#include "../lib/cunit_run.h"
#include "addr.h"
#include "exclusions.h"
#include "log.h"
#include "state.h"

static struct pod_exclusions e;
static char msg[256];

static int parse(char **cidrs, size_t nc, uint32_t *out, size_t no,
		 uint32_t *in, size_t ni, bool bypass)
{
	msg[0] = '\0';
	return excl_parse(&e, cidrs, nc, out, no, in, ni, bypass, msg,
			  sizeof(msg));
}

static const char *cidr_text(size_t i)
{
	static char buf[64];

	return excl_cidr_format(&e.cidrs[i], buf, sizeof(buf));
}

static void cidrs_canonical(void)
{
	char *c[] = { "10.1.2.3/8", "fd00::1/64", "192.0.2.7", "2001:db8::1",
		      "0.0.0.0/0",  "::/0",	  "10.9.9.9/8" };

	CU_ASSERT_EQUAL_FATAL(parse(c, 7, NULL, 0, NULL, 0, false), 0);
	CHECK(e.ncidrs == 6, "the /8 given twice is kept once: %zu", e.ncidrs);
	CU_ASSERT_STRING_EQUAL(cidr_text(0), "10.0.0.0/8");
	CU_ASSERT_STRING_EQUAL(cidr_text(1), "fd00::/64");
	CU_ASSERT_STRING_EQUAL(cidr_text(2), "192.0.2.7/32");
	CU_ASSERT_STRING_EQUAL(cidr_text(3), "2001:db8::1/128");
	CU_ASSERT_STRING_EQUAL(cidr_text(4), "0.0.0.0/0");
	CU_ASSERT_STRING_EQUAL(cidr_text(5), "::/0");
	CHECK(e.cidrs[0].prefixlen == 96 + 8, "IPv4 in the mapped form: %u",
	      e.cidrs[0].prefixlen);
	CU_ASSERT_EQUAL(excl_pod_flags(&e), POD_F_EXCL_OUT);
}

/* IPv4 written in the mapped IPv6 form is that IPv4 prefix. */
static void cidrs_mapped(void)
{
	char *c[] = { "::ffff:10.1.2.3/104", "::ffff:192.0.2.1" };

	CU_ASSERT_EQUAL_FATAL(parse(c, 2, NULL, 0, NULL, 0, false), 0);
	CU_ASSERT_STRING_EQUAL(cidr_text(0), "10.0.0.0/8");
	CU_ASSERT_STRING_EQUAL(cidr_text(1), "192.0.2.1/32");
}

static void cidrs_malformed(void)
{
	const char *bad[] = {
		"10.0.0.0/33", "fd00::/129",  "10.0.0.0/",
		"10.0.0.0/x",  "10.0.0/8",    "",
		"10.0.0.0/-1", "10.0.0.0/08", "example.com",
		"10.0.0.0/+8", "10.0.0.0/ 8", "::ffff:1.2.3.4/64"
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *c[] = { "10.0.0.0/8", (char *)bad[i] };

		CHECK(parse(c, 2, NULL, 0, NULL, 0, false) == -EINVAL,
		      "'%s' refused", bad[i]);
		CHECK(strstr(msg, "exclude_outbound_cidrs[1]") != NULL,
		      "the entry is named: %s", msg);
	}
}

static void ports_sorted_unique(void)
{
	uint32_t out[] = { 5432, 80, 5432, 443 }, in[] = { 9000 };

	CU_ASSERT_EQUAL_FATAL(parse(NULL, 0, out, 4, in, 1, false), 0);
	CU_ASSERT_EQUAL_FATAL(e.nout, 3);
	CU_ASSERT_EQUAL(e.out_ports[0], 80);
	CU_ASSERT_EQUAL(e.out_ports[1], 443);
	CU_ASSERT_EQUAL(e.out_ports[2], 5432);
	CU_ASSERT_TRUE(excl_has_port(&e, 443, EXCL_DIR_OUT));
	CU_ASSERT_FALSE(excl_has_port(&e, 443, EXCL_DIR_IN));
	CU_ASSERT_TRUE(excl_has_port(&e, 9000, EXCL_DIR_IN));
	CU_ASSERT_EQUAL(excl_pod_flags(&e),
			POD_F_EXCL_OUT | POD_F_EXCL_IN_PORTS);
}

static void ports_malformed(void)
{
	uint32_t zero[] = { 0 }, big[] = { 65536 };

	CU_ASSERT_EQUAL(parse(NULL, 0, zero, 1, NULL, 0, false), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "exclude_outbound_ports[0]"));
	CU_ASSERT_EQUAL(parse(NULL, 0, NULL, 0, big, 1, false), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "exclude_inbound_ports[0]"));
}

static void too_many(void)
{
	uint32_t ports[EXCL_MAX_PER_POD + 1];
	char *c[EXCL_MAX_PER_POD + 1];

	for (int i = 0; i <= EXCL_MAX_PER_POD; i++) {
		ports[i] = (uint32_t)(1000 + i);
		c[i] = "10.0.0.0/8";
	}
	CU_ASSERT_EQUAL(parse(NULL, 0, ports, EXCL_MAX_PER_POD, NULL, 0, false),
			0);
	CU_ASSERT_EQUAL(parse(NULL, 0, ports, EXCL_MAX_PER_POD + 1, NULL, 0,
			      false),
			-EINVAL);
	CU_ASSERT_EQUAL(parse(c, EXCL_MAX_PER_POD + 1, NULL, 0, NULL, 0, false),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "at most"));
}

static void nothing_and_bypass(void)
{
	CU_ASSERT_EQUAL_FATAL(parse(NULL, 0, NULL, 0, NULL, 0, false), 0);
	CU_ASSERT_TRUE(excl_none(&e));
	CU_ASSERT_PTR_NULL(pod_exclusions_copy(&e));
	CU_ASSERT_EQUAL(excl_pod_flags(NULL), 0);
	CU_ASSERT_EQUAL_FATAL(parse(NULL, 0, NULL, 0, NULL, 0, true), 0);
	CU_ASSERT_FALSE(excl_none(&e));
	CU_ASSERT_EQUAL(excl_pod_flags(&e), POD_F_BYPASS_INBOUND);
}

/* What the journal writes (pod_to_info) it reads back (pod_from_info). */
static void journal_round_trip(void)
{
	char *c[] = { "10.1.0.0/16", "fd00::/8" };
	uint32_t out[] = { 5432 }, in[] = { 9000, 8080 };
	struct enrolled_pod *p = pod_new("uid-1"), *back;
	PodInfo info;
	char mac[18];

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(parse(c, 2, out, 1, in, 2, true), 0);
	p->excl = pod_exclusions_copy(&e);
	addr_key_parse("10.244.0.5", &p->addrs[0]);
	p->naddrs = 1;
	strcpy(p->ifname, "eth0");
	strcpy(p->host_veth, "veth1");
	pod_to_info(p, &info, mac, sizeof(mac));
	CU_ASSERT_EQUAL(info.n_exclude_outbound_cidrs, 2);
	CU_ASSERT_STRING_EQUAL(info.exclude_outbound_cidrs[0], "10.1.0.0/16");
	CU_ASSERT_EQUAL(info.n_exclude_inbound_ports, 2);
	CU_ASSERT_EQUAL(info.exclude_inbound_ports[0], 8080);
	CU_ASSERT_TRUE(info.bypass_inbound);
	back = pod_from_info(&info);
	info_release_ips(info.ips, info.n_ips);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back->excl);
	CU_ASSERT_EQUAL(memcmp(back->excl, p->excl, sizeof(*p->excl)), 0);
	pod_free(back);
	pod_free(p);
}

static const struct test_def parse_tests[] = {
	T(cidrs_canonical),    T(cidrs_mapped),
	T(cidrs_malformed),    T(ports_sorted_unique),
	T(ports_malformed),    T(too_many),
	T(nothing_and_bypass), T_END,
};

static const struct test_def record_tests[] = {
	T(journal_round_trip),
	T_END,
};

static const struct suite_def suites[] = {
	{ "parse", parse_tests },
	{ "record", record_tests },
};

int main(void)
{
	unsigned int run, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_LVL_ERROR);
	failed = cunit_run(suites, sizeof(suites) / sizeof(suites[0]), &run);
	return cunit_result(run, failed);
}
