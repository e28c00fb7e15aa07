// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of redirect-cni's pure logic (cni-hook/cni.c): the network
 * config, CNI_ARGS, the previous plugin's result and the JSON we print.
 * The results below are verbatim what Debian's containernetworking-plugins
 * 1.1.1 ptp and bridge printed for a pod in a throwaway netns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>
#include "../lib/cunit_run.h"
#include "cni.h"

#define NETNS_PTP "/var/run/netns/cap17474-p1"
#define NETNS_BR "/var/run/netns/cap17474-b1"

static const char ptp_result[] =
	"{\n"
	"    \"cniVersion\": \"1.0.0\",\n"
	"    \"interfaces\": [\n"
	"        {\n"
	"            \"name\": \"vethca94e9bc\",\n"
	"            \"mac\": \"1e:50:71:9a:c6:90\"\n"
	"        },\n"
	"        {\n"
	"            \"name\": \"eth0\",\n"
	"            \"mac\": \"36:0f:2f:ca:ef:51\",\n"
	"            \"sandbox\": \"" NETNS_PTP "\"\n"
	"        }\n"
	"    ],\n"
	"    \"ips\": [\n"
	"        {\n"
	"            \"interface\": 1,\n"
	"            \"address\": \"10.244.0.2/24\",\n"
	"            \"gateway\": \"10.244.0.1\"\n"
	"        },\n"
	"        {\n"
	"            \"interface\": 1,\n"
	"            \"address\": \"fd00:244::2/64\",\n"
	"            \"gateway\": \"fd00:244::1\"\n"
	"        }\n"
	"    ],\n"
	"    \"routes\": [\n"
	"        {\n"
	"            \"dst\": \"0.0.0.0/0\"\n"
	"        },\n"
	"        {\n"
	"            \"dst\": \"::/0\"\n"
	"        }\n"
	"    ],\n"
	"    \"dns\": {}\n"
	"}";

static const char bridge_result[] =
	"{\n"
	"    \"cniVersion\": \"1.0.0\",\n"
	"    \"interfaces\": [\n"
	"        {\n"
	"            \"name\": \"cni0\",\n"
	"            \"mac\": \"ca:9d:33:93:2a:51\"\n"
	"        },\n"
	"        {\n"
	"            \"name\": \"vetha6fb8cfd\",\n"
	"            \"mac\": \"72:3a:74:f5:97:0e\"\n"
	"        },\n"
	"        {\n"
	"            \"name\": \"eth0\",\n"
	"            \"mac\": \"0e:9a:3c:7c:31:06\",\n"
	"            \"sandbox\": \"" NETNS_BR "\"\n"
	"        }\n"
	"    ],\n"
	"    \"ips\": [\n"
	"        {\n"
	"            \"interface\": 2,\n"
	"            \"address\": \"10.244.0.3/24\",\n"
	"            \"gateway\": \"10.244.0.1\"\n"
	"        },\n"
	"        {\n"
	"            \"interface\": 2,\n"
	"            \"address\": \"fd00:244::3/64\",\n"
	"            \"gateway\": \"fd00:244::1\"\n"
	"        }\n"
	"    ],\n"
	"    \"routes\": [\n"
	"        {\n"
	"            \"dst\": \"0.0.0.0/0\"\n"
	"        },\n"
	"        {\n"
	"            \"dst\": \"::/0\"\n"
	"        }\n"
	"    ],\n"
	"    \"dns\": {}\n"
	"}";

/* --- helpers --- */

static int conf_parse(const char *json, struct cni_conf *c, struct cni_err *e)
{
	memset(e, 0, sizeof(*e));
	return cni_conf_parse(json, strlen(json), c, e);
}

/* Parse a config that must be refused with code and a reason. */
static void expect_conf_error_len(const char *json, size_t len, int ret,
				  int code)
{
	struct cni_conf c;
	struct cni_err e = { 0 };

	CU_ASSERT_EQUAL(cni_conf_parse(json, len, &c, &e), ret);
	CU_ASSERT_EQUAL(e.code, code);
	CU_ASSERT(e.msg[0] != '\0');
	if (e.code != code)
		fprintf(stderr, "\n  %s -> code %d (%s: %s)\n", json, e.code,
			e.msg, e.details);
	cni_conf_free(&c);
}

static void expect_conf_error(const char *json, int ret, int code)
{
	expect_conf_error_len(json, strlen(json), ret, code);
}

static struct json_object *parse(const char *json)
{
	struct json_object *o = json_tokener_parse(json);

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	return o;
}

/* Parse a result and expect it to be refused as invalid. */
static void expect_result_error(const char *json, int ret)
{
	struct json_object *o = parse(json);
	struct cni_pod_net net;
	struct cni_err e = { 0 };

	CU_ASSERT_EQUAL(cni_result_parse(o, "/ns", "eth0", &net, &e), ret);
	CU_ASSERT_EQUAL(e.code, CNI_ERR_INVALID_CONFIG);
	CU_ASSERT(e.details[0] != '\0');
	json_object_put(o);
}

/* --- network config --- */

static void test_conf_ebpf(void)
{
	struct cni_conf c;
	struct cni_err e;
	const char *json =
		"{\"cniVersion\": \"1.0.0\", \"name\": \"k8s-pod-network\","
		" \"type\": \"redirect-cni\", \"redirectMode\": \"ebpf\","
		" \"socketPath\": \"/run/ar/r.sock\","
		" \"excludeNamespaces\": [\"kube-system\", \"istio-system\"],"
		" \"dnsCapture\": true, \"prevResult\": {\"ips\": []}}";

	CU_ASSERT_EQUAL_FATAL(conf_parse(json, &c, &e), 0);
	CU_ASSERT_STRING_EQUAL(c.cni_version, "1.0.0");
	CU_ASSERT_STRING_EQUAL(c.name, "k8s-pod-network");
	CU_ASSERT_STRING_EQUAL(c.mode, "ebpf");
	CU_ASSERT_TRUE(c.ebpf);
	CU_ASSERT_STRING_EQUAL(c.socket_path, "/run/ar/r.sock");
	CU_ASSERT_TRUE(c.dns_capture);
	CU_ASSERT_PTR_NOT_NULL(c.prev_result);
	CU_ASSERT_TRUE(cni_conf_excluded(&c, "kube-system"));
	CU_ASSERT_TRUE(cni_conf_excluded(&c, "istio-system"));
	CU_ASSERT_FALSE(cni_conf_excluded(&c, "default"));
	CU_ASSERT_FALSE(cni_conf_excluded(&c, "kube"));
	CU_ASSERT_FALSE(cni_conf_excluded(&c, NULL));
	cni_conf_free(&c);
}

static void test_conf_defaults(void)
{
	struct cni_conf c;
	struct cni_err e;

	CU_ASSERT_EQUAL_FATAL(conf_parse("{\"cniVersion\": \"0.4.0\", "
					 "\"name\": \"n\", \"type\": "
					 "\"redirect-cni\"}",
					 &c, &e),
			      0);
	CU_ASSERT_STRING_EQUAL(c.cni_version, "0.4.0");
	CU_ASSERT_PTR_NULL(c.mode);
	CU_ASSERT_FALSE(c.ebpf);
	CU_ASSERT_STRING_EQUAL(c.socket_path, DEFAULT_SOCKET_PATH);
	CU_ASSERT_STRING_EQUAL(c.socket_path,
			       "/var/run/ambient-redirect/redirect.sock");
	CU_ASSERT_FALSE(c.dns_capture);
	CU_ASSERT_PTR_NULL(c.prev_result);
	CU_ASSERT_FALSE(cni_conf_excluded(&c, "kube-system"));
	cni_conf_free(&c);
}

/* JSON null is the same as leaving the key out. */
static void test_conf_nulls(void)
{
	struct cni_conf c;
	struct cni_err e;

	CU_ASSERT_EQUAL_FATAL(conf_parse("{\"cniVersion\": \"1.0.0\", "
					 "\"redirectMode\": null, "
					 "\"socketPath\": null, "
					 "\"excludeNamespaces\": null, "
					 "\"dnsCapture\": null, "
					 "\"prevResult\": null}",
					 &c, &e),
			      0);
	CU_ASSERT_FALSE(c.ebpf);
	CU_ASSERT_STRING_EQUAL(c.socket_path, DEFAULT_SOCKET_PATH);
	CU_ASSERT_FALSE(c.dns_capture);
	CU_ASSERT_PTR_NULL(c.prev_result);
	cni_conf_free(&c);
}

/* Only "ebpf" enrols; every other mode passes through. */
static void test_conf_modes(void)
{
	static const struct {
		const char *mode;
		bool ebpf;
	} cases[] = {
		{ "ebpf", true }, { "iptables", false }, { "none", false },
		{ "", false },	  { "EBPF", false },	 { "ebpf ", false },
	};
	char json[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cni_conf c;
		struct cni_err e;

		snprintf(json, sizeof(json),
			 "{\"cniVersion\": \"1.0.0\", "
			 "\"redirectMode\": \"%s\"}",
			 cases[i].mode);
		CU_ASSERT_EQUAL_FATAL(conf_parse(json, &c, &e), 0);
		CU_ASSERT_EQUAL(c.ebpf, cases[i].ebpf);
		CU_ASSERT_STRING_EQUAL(c.mode, cases[i].mode);
		cni_conf_free(&c);
	}
}

static void test_conf_versions(void)
{
	struct cni_conf c;
	struct cni_err e;

	CU_ASSERT_TRUE(cni_version_supported("0.4.0"));
	CU_ASSERT_TRUE(cni_version_supported("1.0.0"));
	CU_ASSERT_FALSE(cni_version_supported("0.3.1"));
	CU_ASSERT_FALSE(cni_version_supported("1.1.0"));
	CU_ASSERT_FALSE(cni_version_supported(NULL));
	expect_conf_error("{\"cniVersion\": \"0.3.1\"}", -EPROTONOSUPPORT,
			  CNI_ERR_INCOMPATIBLE_VERSION);
	expect_conf_error("{\"cniVersion\": \"1.1.0\"}", -EPROTONOSUPPORT,
			  CNI_ERR_INCOMPATIBLE_VERSION);
	/* no cniVersion is 0.1.0, as libcni reads it */
	expect_conf_error("{\"name\": \"n\"}", -EPROTONOSUPPORT,
			  CNI_ERR_INCOMPATIBLE_VERSION);
	CU_ASSERT_EQUAL(conf_parse("{\"cniVersion\": \"2.0.0\"}", &c, &e),
			-EPROTONOSUPPORT);
	CU_ASSERT(strstr(e.details, "2.0.0") != NULL);
	cni_conf_free(&c);
}

static void test_conf_bad_types(void)
{
	static const char *const bad[] = {
		"{\"cniVersion\": 1}",
		"{\"cniVersion\": \"1.0.0\", \"name\": 3}",
		"{\"cniVersion\": \"1.0.0\", \"redirectMode\": 1}",
		"{\"cniVersion\": \"1.0.0\", \"redirectMode\": true}",
		"{\"cniVersion\": \"1.0.0\", \"socketPath\": 5}",
		"{\"cniVersion\": \"1.0.0\", \"socketPath\": \"\"}",
		"{\"cniVersion\": \"1.0.0\", \"socketPath\": \"run/r.sock\"}",
		"{\"cniVersion\": \"1.0.0\", \"excludeNamespaces\": \"kube\"}",
		"{\"cniVersion\": \"1.0.0\", \"excludeNamespaces\": [1]}",
		("{\"cniVersion\": \"1.0.0\", \"excludeNamespaces\": [\"a\", "
		 "null]}"),
		"{\"cniVersion\": \"1.0.0\", \"dnsCapture\": \"true\"}",
		"{\"cniVersion\": \"1.0.0\", \"dnsCapture\": 1}",
		"{\"cniVersion\": \"1.0.0\", \"prevResult\": []}",
		"{\"cniVersion\": \"1.0.0\", \"prevResult\": \"{}\"}",
		"[{\"cniVersion\": \"1.0.0\"}]",
		"\"config\"",
		"42",
		"null",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_conf_error(bad[i], -EINVAL, CNI_ERR_INVALID_CONFIG);
}

/* Undecodable input is code 6, as the reference plugins report it. */
static void test_conf_decode(void)
{
	static const char *const bad[] = {
		"",
		"   \n",
		"{bad",
		"{\"cniVersion\": \"1.0.0\"",
		"{\"cniVersion\": \"1.0.0\"} {}",
		"{\"cniVersion\": \"1.0.0\"} x",
		"{\"cniVersion\": \"1.0.0\",}x",
		"\x01\x02",
		"{'cniVersion': '1.0.0'}",
	};
	static const char ok[] = "{\"cniVersion\": \"1.0.0\"}";
	static const char ok_garbage[] = "{\"cniVersion\": \"1.0.0\"}garbage";
	static const char ok_nul[] = "{\"cniVersion\": \"1.0.0\"}\0x";
	struct cni_conf c;
	struct cni_err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_conf_error(bad[i], -EBADMSG, CNI_ERR_DECODE);
	/* trailing whitespace is fine */
	CU_ASSERT_EQUAL(conf_parse("{\"cniVersion\": \"1.0.0\"}\n\n", &c, &e),
			0);
	cni_conf_free(&c);
	/* the length given wins: what follows is not read */
	memset(&e, 0, sizeof(e));
	CU_ASSERT_EQUAL(cni_conf_parse(ok_garbage, strlen(ok), &c, &e), 0);
	cni_conf_free(&c);
	/* a NUL inside the input is garbage, not an end */
	expect_conf_error_len(ok_nul, sizeof(ok_nul) - 1, -EBADMSG,
			      CNI_ERR_DECODE);
}

/* --- CNI_ARGS --- */

static void test_args_kubelet(void)
{
	struct cni_args a;

	CU_ASSERT_EQUAL_FATAL(
		cni_args_parse("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;"
			       "K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID="
			       "0123abcd;K8S_POD_UID=6f1a2b3c-0000-4d5e-8f90-"
			       "123456789abc",
			       &a),
		0);
	CU_ASSERT_TRUE(a.ignore_unknown);
	CU_ASSERT_STRING_EQUAL(a.pod_namespace, "default");
	CU_ASSERT_STRING_EQUAL(a.pod_name, "web-0");
	CU_ASSERT_STRING_EQUAL(a.pod_uid,
			       "6f1a2b3c-0000-4d5e-8f90-123456789abc");
	cni_args_free(&a);
	CU_ASSERT_PTR_NULL(a.pod_name);
}

static void test_args_missing(void)
{
	struct cni_args a;

	CU_ASSERT_EQUAL(cni_args_parse(NULL, &a), 0);
	CU_ASSERT_PTR_NULL(a.pod_uid);
	cni_args_free(&a);
	CU_ASSERT_EQUAL(cni_args_parse("", &a), 0);
	CU_ASSERT_PTR_NULL(a.pod_namespace);
	cni_args_free(&a);
	CU_ASSERT_EQUAL(cni_args_parse("IgnoreUnknown=1", &a), 0);
	CU_ASSERT_TRUE(a.ignore_unknown);
	CU_ASSERT_PTR_NULL(a.pod_namespace);
	CU_ASSERT_PTR_NULL(a.pod_name);
	CU_ASSERT_PTR_NULL(a.pod_uid);
	cni_args_free(&a);
	/* no uid: the caller falls back to CNI_CONTAINERID */
	CU_ASSERT_EQUAL(
		cni_args_parse("K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p", &a), 0);
	CU_ASSERT_STRING_EQUAL(a.pod_name, "p");
	CU_ASSERT_PTR_NULL(a.pod_uid);
	cni_args_free(&a);
}

/* Unknown keys are for other plugins: accepted with or without the flag. */
static void test_args_unknown(void)
{
	struct cni_args a;

	CU_ASSERT_EQUAL(cni_args_parse("FOO=bar;K8S_POD_NAME=x;MAC=aa:bb", &a),
			0);
	CU_ASSERT_FALSE(a.ignore_unknown);
	CU_ASSERT_STRING_EQUAL(a.pod_name, "x");
	cni_args_free(&a);
	CU_ASSERT_EQUAL(cni_args_parse("IgnoreUnknown=true;X=1", &a), 0);
	CU_ASSERT_TRUE(a.ignore_unknown);
	cni_args_free(&a);
	CU_ASSERT_EQUAL(cni_args_parse("IgnoreUnknown=0;X=1", &a), 0);
	CU_ASSERT_FALSE(a.ignore_unknown);
	cni_args_free(&a);
	/* keys are case-sensitive, as in the reference plugins */
	CU_ASSERT_EQUAL(cni_args_parse("k8s_pod_name=x", &a), 0);
	CU_ASSERT_PTR_NULL(a.pod_name);
	cni_args_free(&a);
}

static void test_args_odd(void)
{
	struct cni_args a;

	CU_ASSERT_EQUAL(cni_args_parse(";;K8S_POD_NAME = web ; "
				       "K8S_POD_NAMESPACE=ns;;",
				       &a),
			0);
	CU_ASSERT_STRING_EQUAL(a.pod_name, "web");
	CU_ASSERT_STRING_EQUAL(a.pod_namespace, "ns");
	cni_args_free(&a);
	/* a value may hold '=' */
	CU_ASSERT_EQUAL(cni_args_parse("K8S_POD_NAME=a=b", &a), 0);
	CU_ASSERT_STRING_EQUAL(a.pod_name, "a=b");
	cni_args_free(&a);
	/* an empty value is absent; a later duplicate wins */
	CU_ASSERT_EQUAL(cni_args_parse("K8S_POD_UID=;K8S_POD_NAME=a;"
				       "K8S_POD_NAME=b",
				       &a),
			0);
	CU_ASSERT_PTR_NULL(a.pod_uid);
	CU_ASSERT_STRING_EQUAL(a.pod_name, "b");
	cni_args_free(&a);
	CU_ASSERT_EQUAL(cni_args_parse("K8S_POD_UID=u;K8S_POD_UID=", &a), 0);
	CU_ASSERT_PTR_NULL(a.pod_uid);
	cni_args_free(&a);
	CU_ASSERT_EQUAL(cni_args_parse(" ; ", &a), 0);
	cni_args_free(&a);
}

static void test_args_invalid(void)
{
	static const char *const bad[] = {
		"K8S_POD_NAME", "K8S_POD_NAME=x;junk", "=x",
		" =x",		"K8S_POD_NAME=x;;=",
	};
	struct cni_args a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(cni_args_parse(bad[i], &a), -EINVAL);
		/* nothing half-parsed is left */
		CU_ASSERT_PTR_NULL(a.pod_name);
		cni_args_free(&a);
	}
}

/* --- the previous result --- */

static void test_result_ptp(void)
{
	struct json_object *o = parse(ptp_result);
	struct cni_pod_net net;
	struct cni_err e = { 0 };

	CU_ASSERT_EQUAL_FATAL(cni_result_parse(o, NETNS_PTP, "eth0", &net, &e),
			      0);
	CU_ASSERT_EQUAL(net.pod_if, 1);
	CU_ASSERT_EQUAL(net.n_host_ifs, 1);
	CU_ASSERT_STRING_EQUAL(net.host_veth, "vethca94e9bc");
	CU_ASSERT_EQUAL_FATAL(net.n_ips, 2);
	CU_ASSERT_STRING_EQUAL(net.ips[0], "10.244.0.2");
	CU_ASSERT_STRING_EQUAL(net.ips[1], "fd00:244::2");
	json_object_put(o);
}

static void test_result_bridge(void)
{
	struct json_object *o = parse(bridge_result);
	struct cni_pod_net net;
	struct cni_err e = { 0 };

	CU_ASSERT_EQUAL_FATAL(cni_result_parse(o, NETNS_BR, "eth0", &net, &e),
			      0);
	CU_ASSERT_EQUAL(net.pod_if, 2);
	/* cni0 and the veth: ambiguous, redirectd finds the peer itself */
	CU_ASSERT_EQUAL(net.n_host_ifs, 2);
	CU_ASSERT_STRING_EQUAL(net.host_veth, "");
	CU_ASSERT_EQUAL_FATAL(net.n_ips, 2);
	CU_ASSERT_STRING_EQUAL(net.ips[0], "10.244.0.3");
	CU_ASSERT_STRING_EQUAL(net.ips[1], "fd00:244::3");
	json_object_put(o);
}

/* The runtime spelled the netns path differently: CNI_IFNAME decides. */
static void test_result_netns_spelling(void)
{
	struct json_object *o = parse(ptp_result);
	struct cni_pod_net net;
	struct cni_err e = { 0 };

	CU_ASSERT_EQUAL(cni_result_parse(o, "/run/netns/cap17474-p1", "eth0",
					 &net, &e),
			0);
	CU_ASSERT_EQUAL(net.pod_if, 1);
	CU_ASSERT_EQUAL(net.n_ips, 2);
	/* neither matches: the indexed addresses are not the pod's */
	CU_ASSERT_EQUAL(cni_result_parse(o, "/run/netns/x", "net1", &net, &e),
			-ENOENT);
	CU_ASSERT_EQUAL(net.pod_if, -1);
	CU_ASSERT_EQUAL(e.code, CNI_ERR_INVALID_CONFIG);
	json_object_put(o);
}

/* Two interfaces in the sandbox (a second network): only CNI_IFNAME's. */
static void test_result_two_pod_ifs(void)
{
	struct json_object *o = parse(
		"{\"cniVersion\": \"1.0.0\", \"interfaces\": ["
		"{\"name\": \"net1\", \"sandbox\": \"/ns\"},"
		"{\"name\": \"veth1\"},"
		"{\"name\": \"eth0\", \"sandbox\": \"/ns\"}],"
		"\"ips\": [{\"interface\": 0, \"address\": \"192.168.9.9/24\"},"
		"{\"interface\": 2, \"address\": \"10.1.0.7/24\"}]}");
	struct cni_pod_net net;
	struct cni_err e = { 0 };

	CU_ASSERT_EQUAL_FATAL(cni_result_parse(o, "/ns", "eth0", &net, &e), 0);
	CU_ASSERT_EQUAL(net.pod_if, 2);
	CU_ASSERT_STRING_EQUAL(net.host_veth, "veth1");
	CU_ASSERT_EQUAL_FATAL(net.n_ips, 1);
	CU_ASSERT_STRING_EQUAL(net.ips[0], "10.1.0.7");
	json_object_put(o);
}

/* Addresses without an interface index belong to the pod. */
static void test_result_no_index(void)
{
	struct json_object *o = parse(
		"{\"cniVersion\": \"0.4.0\", \"ips\": ["
		"{\"version\": \"4\", \"address\": \"10.0.0.5/32\"},"
		"{\"version\": \"6\", \"address\": \"FD00:0:0::0005/128\"}]}");
	struct cni_pod_net net;
	struct cni_err e = { 0 };

	CU_ASSERT_EQUAL_FATAL(cni_result_parse(o, "/ns", "eth0", &net, &e), 0);
	CU_ASSERT_EQUAL(net.pod_if, -1);
	CU_ASSERT_EQUAL(net.n_host_ifs, 0);
	CU_ASSERT_STRING_EQUAL(net.host_veth, "");
	CU_ASSERT_EQUAL_FATAL(net.n_ips, 2);
	CU_ASSERT_STRING_EQUAL(net.ips[0], "10.0.0.5");
	/* spelled as redirectd will print it */
	CU_ASSERT_STRING_EQUAL(net.ips[1], "fd00::5");
	json_object_put(o);
}

static void test_result_duplicates(void)
{
	struct json_object *o = parse(
		"{\"ips\": [{\"address\": \"10.0.0.5/24\"},"
		"{\"address\": \"10.0.0.5/32\"}, {\"address\": \"10.0.0.6\"}]}");
	struct cni_pod_net net;
	struct cni_err e = { 0 };

	CU_ASSERT_EQUAL_FATAL(cni_result_parse(o, "/ns", "eth0", &net, &e), 0);
	CU_ASSERT_EQUAL_FATAL(net.n_ips, 2);
	CU_ASSERT_STRING_EQUAL(net.ips[1], "10.0.0.6");
	json_object_put(o);
}

static void test_result_too_many(void)
{
	char json[2048];
	size_t n = (size_t)snprintf(json, sizeof(json), "{\"ips\": [");

	for (int i = 0; i <= CNI_MAX_IPS; i++)
		n += (size_t)snprintf(json + n, sizeof(json) - n,
				      "%s{\"address\": \"10.0.0.%d/24\"}",
				      i ? "," : "", i + 1);
	snprintf(json + n, sizeof(json) - n, "]}");
	expect_result_error(json, -E2BIG);
}

static void test_result_invalid(void)
{
	expect_result_error("[]", -EINVAL);
	expect_result_error("{\"interfaces\": {}, \"ips\": []}", -EINVAL);
	expect_result_error("{\"ips\": {}}", -EINVAL);
	expect_result_error("{\"ips\": [1]}", -EINVAL);
	expect_result_error("{\"ips\": []}", -ENOENT);
	expect_result_error("{}", -ENOENT);
	expect_result_error("{\"ips\": [{\"gateway\": \"10.0.0.1\"}]}",
			    -EINVAL);
	expect_result_error("{\"ips\": [{\"address\": \"10.0.0/24\"}]}",
			    -EINVAL);
	expect_result_error("{\"ips\": [{\"address\": 5}]}", -EINVAL);
	expect_result_error("{\"interfaces\": [{\"name\": \"eth0\"}], "
			    "\"ips\": [{\"interface\": 1, "
			    "\"address\": \"10.0.0.5/24\"}]}",
			    -EINVAL);
	expect_result_error("{\"interfaces\": [{\"name\": \"eth0\"}], "
			    "\"ips\": [{\"interface\": -1, "
			    "\"address\": \"10.0.0.5/24\"}]}",
			    -EINVAL);
	expect_result_error("{\"interfaces\": [{\"name\": \"eth0\"}], "
			    "\"ips\": [{\"interface\": \"0\", "
			    "\"address\": \"10.0.0.5/24\"}]}",
			    -EINVAL);
}

/* A host interface name too long for the kernel is never sent. */
static void test_result_long_host_name(void)
{
	struct json_object *o = parse(
		"{\"interfaces\": [{\"name\": \"a-very-long-veth-name\"},"
		"{\"name\": \"eth0\", \"sandbox\": \"/ns\"}],"
		"\"ips\": [{\"interface\": 1, \"address\": \"10.0.0.5/24\"}]}");
	struct cni_pod_net net;
	struct cni_err e = { 0 };

	CU_ASSERT_EQUAL(cni_result_parse(o, "/ns", "eth0", &net, &e), 0);
	CU_ASSERT_EQUAL(net.n_host_ifs, 1);
	CU_ASSERT_STRING_EQUAL(net.host_veth, "");
	json_object_put(o);
}

static void test_ips_equal(void)
{
	char *a[] = { "10.244.0.2", "fd00:244::2" };
	char *b[] = { "fd00:244:0::2", "10.244.0.2" };
	char *c[] = { "10.244.0.2" };
	char *d[] = { "10.244.0.2", "fd00:244::3" };
	char *bad[] = { "10.244.0.2", "nope" };
	char *mapped[] = { "::ffff:10.244.0.2" };

	CU_ASSERT_TRUE(cni_ips_equal(a, 2, b, 2));
	CU_ASSERT_TRUE(cni_ips_equal(a, 0, b, 0));
	CU_ASSERT_FALSE(cni_ips_equal(a, 2, c, 1));
	CU_ASSERT_FALSE(cni_ips_equal(c, 1, a, 2));
	CU_ASSERT_FALSE(cni_ips_equal(a, 2, d, 2));
	CU_ASSERT_FALSE(cni_ips_equal(a, 2, bad, 2));
	/* redirectd keys IPv4 as mapped addresses: the same address */
	CU_ASSERT_TRUE(cni_ips_equal(c, 1, mapped, 1));
}

/* --- output --- */

static void test_result_json_passes_through(void)
{
	struct json_object *prev = parse(ptp_result), *out;
	char *s = cni_result_json(prev, "0.4.0");

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* one line, cniVersion first and set to the config's */
	CU_ASSERT(strncmp(s, "{\"cniVersion\":\"0.4.0\",", 22) == 0);
	CU_ASSERT_PTR_NULL(strchr(s, '\n'));
	out = parse(s);
	for (struct json_object_iterator it = json_object_iter_begin(prev),
					 end = json_object_iter_end(prev);
	     !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		struct json_object *got = NULL;

		if (!strcmp(key, "cniVersion"))
			continue;
		CU_ASSERT_TRUE(json_object_object_get_ex(out, key, &got));
		CU_ASSERT_TRUE(json_object_equal(
			json_object_iter_peek_value(&it), got));
	}
	CU_ASSERT_EQUAL(json_object_object_length(out),
			json_object_object_length(prev));
	/* paths are not escaped: the output reads like the input */
	CU_ASSERT_PTR_NOT_NULL(strstr(s, NETNS_PTP));
	free(s);
	json_object_put(out);
	/* and the input is left alone */
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(
				       prev, "cniVersion")),
			       "1.0.0");
	json_object_put(prev);
}

static void test_result_json_empty(void)
{
	char *s = cni_result_json(NULL, "1.0.0");

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{\"cniVersion\":\"1.0.0\"}");
	free(s);
}

static void test_error_json(void)
{
	struct cni_err e;
	char *s;

	CU_ASSERT_EQUAL(cni_fail(&e, -ECONNREFUSED, CNI_ERR_TRY_AGAIN,
				 "redirectd is unreachable", "%s: %s",
				 "/run/r.sock", "Connection refused"),
			-ECONNREFUSED);
	s = cni_error_json("1.0.0", &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{\"cniVersion\":\"1.0.0\",\"code\":11,"
				  "\"msg\":\"redirectd is unreachable\","
				  "\"details\":\"/run/r.sock: Connection "
				  "refused\"}");
	free(s);
	/* no details: no key; quotes and control characters escaped */
	cni_fail(&e, -EINVAL, CNI_ERR_INVALID_CONFIG, "bad \"x\"\n", NULL);
	s = cni_error_json("0.4.0", &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{\"cniVersion\":\"0.4.0\",\"code\":7,"
				  "\"msg\":\"bad \\\"x\\\"\\n\"}");
	free(s);
}

static void test_error_truncated(void)
{
	char long_text[2000];
	struct cni_err e;
	struct json_object *o;
	char *s;

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	cni_fail(&e, -EINVAL, CNI_ERR_INTERNAL, long_text, "%s", long_text);
	CU_ASSERT_EQUAL(strlen(e.msg), sizeof(e.msg) - 1);
	CU_ASSERT_EQUAL(strlen(e.details), sizeof(e.details) - 1);
	s = cni_error_json("1.0.0", &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	o = parse(s);
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(o, "code")),
			999);
	json_object_put(o);
	free(s);
}

static void test_version_json(void)
{
	char *s = cni_version_json();

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "{\"cniVersion\":\"1.0.0\","
				  "\"supportedVersions\":[\"0.4.0\","
				  "\"1.0.0\"]}");
	free(s);
}

/* --- the pod's annotations (runtimeConfig) --- */

#define OUT_CIDRS "traffic.sidecar.istio.io/excludeOutboundIPRanges"
#define OUT_PORTS "traffic.sidecar.istio.io/excludeOutboundPorts"
#define IN_PORTS "traffic.sidecar.istio.io/excludeInboundPorts"
#define BYPASS_IN "ambient.istio.io/bypass-inbound-capture"
#define DNS "ambient.istio.io/dns-capture"

/*
 * Parse a config whose runtimeConfig is runtime_config (NULL: none) and
 * the pod options from it; the config itself must be accepted.
 */
static int opts_from(const char *dns, const char *runtime_config,
		     struct cni_pod_opts *o, struct cni_err *e)
{
	struct cni_conf c;
	char *json;
	int err;

	CU_ASSERT_FATAL(asprintf(&json,
				 "{\"cniVersion\": \"1.0.0\", "
				 "\"redirectMode\": \"ebpf\", "
				 "\"dnsCapture\": %s%s%s}",
				 dns,
				 runtime_config ? ", \"runtimeConfig\": " : "",
				 runtime_config ? runtime_config : "") > 0);
	CU_ASSERT_EQUAL_FATAL(conf_parse(json, &c, e), 0);
	err = cni_pod_opts_parse(&c, o, e);
	cni_conf_free(&c);
	free(json);
	return err;
}

/* The pod options from annotations given as an object's members. */
static int opts_ann(const char *members, struct cni_pod_opts *o,
		    struct cni_err *e)
{
	char *rc;
	int err;

	CU_ASSERT_FATAL(asprintf(&rc,
				 "{\"io.kubernetes.cri.pod-annotations\": "
				 "{%s}}",
				 members) > 0);
	err = opts_from("false", rc, o, e);
	free(rc);
	return err;
}

/* One annotation ann = value (a JSON string, quotes included). */
static int opts_one(const char *ann, const char *value, struct cni_pod_opts *o,
		    struct cni_err *e)
{
	char *members;
	int err;

	CU_ASSERT_FATAL(asprintf(&members, "\"%s\": %s", ann, value) > 0);
	err = opts_ann(members, o, e);
	free(members);
	return err;
}

/* Refused with code 7, the details naming the annotation and bad. */
static void expect_ann_error(const char *ann, const char *value, int ret,
			     const char *bad)
{
	struct cni_pod_opts o;
	struct cni_err e = { 0 };

	CHECK(opts_one(ann, value, &o, &e) == ret, "%s: %s accepted", ann,
	      value);
	CU_ASSERT_EQUAL(e.code, CNI_ERR_INVALID_CONFIG);
	CU_ASSERT_STRING_EQUAL(e.msg, "invalid pod annotation");
	CHECK(strstr(e.details, ann) != NULL, "details '%s' lack %s", e.details,
	      ann);
	CHECK(!bad || strstr(e.details, bad) != NULL, "details '%s' lack '%s'",
	      e.details, bad);
}

static void expect_defaults(const struct cni_pod_opts *o, bool dns)
{
	CU_ASSERT_EQUAL(o->out_cidrs.n, 0);
	CU_ASSERT_EQUAL(o->out_ports.n, 0);
	CU_ASSERT_EQUAL(o->in_ports.n, 0);
	CU_ASSERT_FALSE(o->bypass_inbound);
	CU_ASSERT_EQUAL(o->dns_capture, dns);
}

/* No runtimeConfig, none of ours in it: the config's defaults. */
static void test_ann_absent(void)
{
	static const char *const rcs[] = {
		NULL,
		"null",
		"{}",
		"{\"io.kubernetes.cri.pod-annotations\": null}",
		"{\"io.kubernetes.cri.pod-annotations\": {}}",
		"{\"portMappings\": [], \"io.kubernetes.cri.pod-annotations\": "
		"{\"kubectl.kubernetes.io/default-container\": \"app\", "
		"\"sidecar.istio.io/inject\": \"false\", \"odd\": 7, "
		"\"traffic.sidecar.istio.io/excludeOutboundIPRange\": \"x\"}}",
	};
	struct cni_pod_opts o;
	struct cni_err e;

	for (size_t i = 0; i < sizeof(rcs) / sizeof(rcs[0]); i++) {
		CU_ASSERT_EQUAL(opts_from("true", rcs[i], &o, &e), 0);
		expect_defaults(&o, true);
		CU_ASSERT_EQUAL(opts_from("false", rcs[i], &o, &e), 0);
		expect_defaults(&o, false);
	}
}

static void expect_cidrs(const struct cni_pod_opts *o, const char *const *want,
			 size_t n)
{
	CHECK(o->out_cidrs.n == n, "%zu CIDRs, want %zu", o->out_cidrs.n, n);
	for (size_t i = 0; i < n && i < o->out_cidrs.n; i++)
		CHECK(!strcmp(o->out_cidrs.cidr[i], want[i]),
		      "[%zu] %s, want %s", i, o->out_cidrs.cidr[i], want[i]);
}

/* Blanks, empty items, host bits, bare addresses, duplicates. */
static void test_ann_cidrs(void)
{
	static const char *const want[] = {
		"10.0.0.0/8",	   "192.168.1.7/32", "fd00::/8",
		"2001:db8::/64",   "0.0.0.0/0",	     "172.16.0.0/12",
		"2001:db8::1/128", "10.1.0.0/16",
	};
	struct cni_pod_opts o;
	struct cni_err e;

	CU_ASSERT_EQUAL_FATAL(
		opts_one(OUT_CIDRS,
			 "\" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,,10.1.2.3/8, "
			 "2001:db8::1:2/64,\\t0.0.0.0/0 ,172.31.255.255/12,"
			 "2001:DB8:0::1,10.1.0.0/16, 10.1.0.0/16 ,\"",
			 &o, &e),
		0);
	expect_cidrs(&o, want, sizeof(want) / sizeof(want[0]));
	CU_ASSERT_EQUAL(o.out_ports.n, 0);
	CU_ASSERT_EQUAL(o.in_ports.n, 0);
	/* blank or empty: nothing excluded */
	CU_ASSERT_EQUAL(opts_one(OUT_CIDRS, "\"\"", &o, &e), 0);
	CU_ASSERT_EQUAL(o.out_cidrs.n, 0);
	CU_ASSERT_EQUAL(opts_one(OUT_CIDRS, "\" , ,\"", &o, &e), 0);
	CU_ASSERT_EQUAL(o.out_cidrs.n, 0);
	/* the longest spelling fits */
	CU_ASSERT_EQUAL(opts_one(OUT_CIDRS,
				 "\"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255."
				 "255/128\"",
				 &o, &e),
			0);
	CU_ASSERT_STRING_EQUAL(o.out_cidrs.cidr[0],
			       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	CU_ASSERT_EQUAL(opts_one(OUT_CIDRS, "\"::ffff:10.1.2.3/104\"", &o, &e),
			0);
	/* the mapped form is its IPv4 address, as redirectd keys it */
	CU_ASSERT_STRING_EQUAL(o.out_cidrs.cidr[0], "10.0.0.0/8");
}

/* "*": every destination, both families; with others, once each. */
static void test_ann_cidrs_star(void)
{
	static const char *const both[] = { "0.0.0.0/0", "::/0" };
	static const char *const more[] = { "10.0.0.0/8", "0.0.0.0/0", "::/0" };
	struct cni_pod_opts o;
	struct cni_err e;

	CU_ASSERT_EQUAL(opts_one(OUT_CIDRS, "\"*\"", &o, &e), 0);
	expect_cidrs(&o, both, 2);
	CU_ASSERT_EQUAL(opts_one(OUT_CIDRS, "\" * \"", &o, &e), 0);
	expect_cidrs(&o, both, 2);
	CU_ASSERT_EQUAL(
		opts_one(OUT_CIDRS, "\"10.0.0.0/8,*,0.0.0.0/0,*\"", &o, &e), 0);
	expect_cidrs(&o, more, 3);
	CU_ASSERT_EQUAL(opts_one(OUT_CIDRS, "\"0.0.0.0/0,::/0,*\"", &o, &e), 0);
	expect_cidrs(&o, both, 2);
}

static void test_ann_cidrs_invalid(void)
{
	static const char *const bad[] = {
		"10.0.0.0/33",
		"fd00::/129",
		"10.0.0.256",
		"10.0.0.0/",
		"10.0.0.0/-1",
		"10.0.0.0/+8",
		"10.0.0.0/8/8",
		"10.0.0.0 /8",
		"10.0.0.0/ 8",
		"10.0.0.0/0x8",
		"10.0.0.0/0008",
		"example.com",
		"1.2.3",
		"10.0.0.1 10.0.0.2",
		"fd00:::1",
		"/8",
		"**",
		"0.0.0.0/0*",
		"10.0.0.0/8;",
		"fd00::/64%eth0",
	};
	char value[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(value, sizeof(value), "\"10.0.0.0/8, %s\"", bad[i]);
		expect_ann_error(OUT_CIDRS, value, -EINVAL, bad[i]);
	}
	/* an item too long for any address, named (cut short) */
	expect_ann_error(OUT_CIDRS,
			 "\"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/"
			 "0128\"",
			 -EINVAL, "ffff:ffff");
}

static void expect_ports(const struct cni_ports *p, const uint32_t *want,
			 size_t n)
{
	CHECK(p->n == n, "%zu ports, want %zu", p->n, n);
	for (size_t i = 0; i < n && i < p->n; i++)
		CHECK(p->port[i] == want[i], "[%zu] %u, want %u", i, p->port[i],
		      want[i]);
}

/* Each list on its own; blanks, empty items, duplicates, bounds. */
static void test_ann_ports(void)
{
	static const uint32_t want[] = { 5432, 80, 443, 8080, 1, 65535 };
	static const char value[] =
		"\" 5432, 80,,443 ,80, 08080,\\t1,65535,5432,\"";
	struct cni_pod_opts o;
	struct cni_err e;

	CU_ASSERT_EQUAL_FATAL(opts_one(OUT_PORTS, value, &o, &e), 0);
	expect_ports(&o.out_ports, want, 6);
	CU_ASSERT_EQUAL(o.in_ports.n, 0);
	CU_ASSERT_EQUAL(o.out_cidrs.n, 0);
	CU_ASSERT_EQUAL_FATAL(opts_one(IN_PORTS, value, &o, &e), 0);
	expect_ports(&o.in_ports, want, 6);
	CU_ASSERT_EQUAL(o.out_ports.n, 0);
	CU_ASSERT_EQUAL(opts_one(IN_PORTS, "\" \"", &o, &e), 0);
	CU_ASSERT_EQUAL(o.in_ports.n, 0);
}

static void test_ann_ports_invalid(void)
{
	static const char *const bad[] = {
		"0",	 "65536", "-1",	 "+80",	   "80a",
		"8 0",	 "0x50",  "1.5", "000080", "99999999999999999999",
		"80-90", "http",  "**",
	};
	static const char *const anns[] = { OUT_PORTS, IN_PORTS };
	char value[128];

	for (size_t a = 0; a < 2; a++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(value, sizeof(value), "\"443,%s,8080\"",
				 bad[i]);
			expect_ann_error(anns[a], value, -EINVAL, bad[i]);
		}
		/* Istio's "every port" is not ours: said plainly */
		expect_ann_error(anns[a], "\"*\"", -EINVAL, "not supported");
		expect_ann_error(anns[a], "\"80, *\"", -EINVAL, "\"*\"");
	}
}

/* A JSON string of n items "prefix<i>suffix", and more. */
static char *items(size_t n, const char *fmt, const char *more)
{
	size_t cap = n * 32 + strlen(more) + 3, len = 1;
	char *s = malloc(cap);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	s[0] = '"';
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(s + len, cap - len, fmt, i + 1);
		s[len++] = ',';
	}
	snprintf(s + len, cap - len, "%s\"", more);
	return s;
}

/* At most 64 distinct entries a list, as redirectd takes. */
static void test_ann_too_many(void)
{
	static const struct {
		const char *ann, *fmt;
	} lists[] = {
		{ OUT_PORTS, "%zu" },
		{ IN_PORTS, "%zu" },
		{ OUT_CIDRS, "10.0.%zu.0/24" },
	};
	struct cni_pod_opts o;
	struct cni_err e;
	char *v;

	CU_ASSERT_EQUAL(EXCL_MAX_PER_POD, 64);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		v = items(64, lists[i].fmt, "");
		CHECK(opts_one(lists[i].ann, v, &o, &e) == 0, "64 in %s",
		      lists[i].ann);
		free(v);
		/* duplicates do not count */
		v = items(64, lists[i].fmt, i < 2 ? "1, 64" : "10.0.1.0/24");
		CHECK(opts_one(lists[i].ann, v, &o, &e) == 0,
		      "64 and duplicates in %s", lists[i].ann);
		free(v);
		v = items(65, lists[i].fmt, "");
		expect_ann_error(lists[i].ann, v, -E2BIG, "more than 64");
		free(v);
	}
	/* "*" is two entries */
	v = items(62, "10.0.%zu.0/24", "*");
	CU_ASSERT_EQUAL(opts_one(OUT_CIDRS, v, &o, &e), 0);
	CU_ASSERT_EQUAL(o.out_cidrs.n, 64);
	free(v);
	v = items(63, "10.0.%zu.0/24", "*");
	expect_ann_error(OUT_CIDRS, v, -E2BIG, "more than 64");
	free(v);
}

static void test_ann_bools(void)
{
	static const struct {
		const char *value;
		bool want;
	} good[] = {
		{ "\"true\"", true },
		{ "\"TRUE\"", true },
		{ "\" True \"", true },
		{ "\"false\"", false },
		{ "\"FaLsE\"", false },
		{ "\"\\tfalse\"", false },
		{ "\"true                    \"", true },
	};
	static const char *const bad[] = {
		"\"yes\"", "\"1\"", "\"\"", "\"truee\"", "\"t rue\"", "true",
	};
	struct cni_pod_opts o;
	struct cni_err e;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CU_ASSERT_EQUAL(opts_one(BYPASS_IN, good[i].value, &o, &e), 0);
		CU_ASSERT_EQUAL(o.bypass_inbound, good[i].want);
		CU_ASSERT_FALSE(o.dns_capture);
		CU_ASSERT_EQUAL(opts_one(DNS, good[i].value, &o, &e), 0);
		CU_ASSERT_EQUAL(o.dns_capture, good[i].want);
		CU_ASSERT_FALSE(o.bypass_inbound);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_ann_error(BYPASS_IN, bad[i], -EINVAL, NULL);
		expect_ann_error(DNS, bad[i], -EINVAL, NULL);
	}
	expect_ann_error(BYPASS_IN, "\"yes\"", -EINVAL, "\"yes\"");
}

/* The annotation wins over the config's dnsCapture, either way. */
static void test_ann_dns_override(void)
{
	static const char on[] =
		"{\"io.kubernetes.cri.pod-annotations\": "
		"{\"ambient.istio.io/dns-capture\": \"true\"}}";
	static const char off[] =
		"{\"io.kubernetes.cri.pod-annotations\": "
		"{\"ambient.istio.io/dns-capture\": \"false\"}}";
	static const char other[] =
		"{\"io.kubernetes.cri.pod-annotations\": "
		"{\"ambient.istio.io/bypass-inbound-capture\": \"true\"}}";
	struct cni_pod_opts o;
	struct cni_err e;

	CU_ASSERT_EQUAL(opts_from("true", off, &o, &e), 0);
	CU_ASSERT_FALSE(o.dns_capture);
	CU_ASSERT_EQUAL(opts_from("false", on, &o, &e), 0);
	CU_ASSERT_TRUE(o.dns_capture);
	CU_ASSERT_EQUAL(opts_from("null", on, &o, &e), 0);
	CU_ASSERT_TRUE(o.dns_capture);
	CU_ASSERT_EQUAL(opts_from("true", other, &o, &e), 0);
	CU_ASSERT_TRUE(o.dns_capture);
	CU_ASSERT_TRUE(o.bypass_inbound);
}

/* Every annotation at once, and the unknown ones beside them ignored. */
static void test_ann_all(void)
{
	static const uint32_t out[] = { 5432, 6379 }, in[] = { 15020 };
	static const char *const cidrs[] = { "10.96.0.0/12", "fd00:96::/108" };
	struct cni_pod_opts o;
	struct cni_err e;

	CU_ASSERT_EQUAL_FATAL(
		opts_ann("\"app\": \"x\", "
			 "\"" OUT_CIDRS "\": \"10.96.0.1/12,fd00:96::1/108\", "
			 "\"" OUT_PORTS "\": \"5432,6379\", "
			 "\"" IN_PORTS "\": \"15020\", "
			 "\"" BYPASS_IN "\": \"true\", "
			 "\"" DNS "\": \"true\", "
			 "\"sidecar.istio.io/interceptionMode\": \"TPROXY\"",
			 &o, &e),
		0);
	expect_cidrs(&o, cidrs, 2);
	expect_ports(&o.out_ports, out, 2);
	expect_ports(&o.in_ports, in, 1);
	CU_ASSERT_TRUE(o.bypass_inbound);
	CU_ASSERT_TRUE(o.dns_capture);
}

/*
 * runtimeConfig or its annotations of the wrong shape, a known annotation
 * not a string: refused by ADD, yet the config parses (DEL goes on).
 */
static void test_ann_bad_shapes(void)
{
	static const struct {
		const char *rc, *named;
	} bad[] = {
		{ "[]", "runtimeConfig" },
		{ "\"annotations\"", "runtimeConfig" },
		{ "{\"io.kubernetes.cri.pod-annotations\": []}",
		  "io.kubernetes.cri.pod-annotations" },
		{ "{\"io.kubernetes.cri.pod-annotations\": \"a=b\"}",
		  "io.kubernetes.cri.pod-annotations" },
		{ "{\"io.kubernetes.cri.pod-annotations\": {\"" OUT_PORTS
		  "\": 80}}",
		  OUT_PORTS },
		{ "{\"io.kubernetes.cri.pod-annotations\": {\"" OUT_CIDRS
		  "\": [\"10.0.0.0/8\"]}}",
		  OUT_CIDRS },
		{ "{\"io.kubernetes.cri.pod-annotations\": {\"" BYPASS_IN
		  "\": true}}",
		  BYPASS_IN },
	};
	struct cni_pod_opts o;
	struct cni_err e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		CHECK(opts_from("false", bad[i].rc, &o, &e) == -EINVAL,
		      "runtimeConfig %s accepted", bad[i].rc);
		CU_ASSERT_EQUAL(e.code, CNI_ERR_INVALID_CONFIG);
		CHECK(strstr(e.details, bad[i].named) != NULL,
		      "details '%s' lack %s", e.details, bad[i].named);
	}
}

/* --- runner --- */

static const struct test_def conf_tests[] = {
	T(test_conf_ebpf),   T(test_conf_defaults), T(test_conf_nulls),
	T(test_conf_modes),  T(test_conf_versions), T(test_conf_bad_types),
	T(test_conf_decode), { NULL, NULL },
};

static const struct test_def args_tests[] = {
	T(test_args_kubelet), T(test_args_missing), T(test_args_unknown),
	T(test_args_odd),     T(test_args_invalid), { NULL, NULL },
};

static const struct test_def result_tests[] = {
	T(test_result_ptp),
	T(test_result_bridge),
	T(test_result_netns_spelling),
	T(test_result_two_pod_ifs),
	T(test_result_no_index),
	T(test_result_duplicates),
	T(test_result_too_many),
	T(test_result_invalid),
	T(test_result_long_host_name),
	T(test_ips_equal),
	{ NULL, NULL },
};

static const struct test_def output_tests[] = {
	T(test_result_json_passes_through),
	T(test_result_json_empty),
	T(test_error_json),
	T(test_error_truncated),
	T(test_version_json),
	{ NULL, NULL },
};

static const struct test_def annotation_tests[] = {
	T(test_ann_absent),	  T(test_ann_cidrs),
	T(test_ann_cidrs_star),	  T(test_ann_cidrs_invalid),
	T(test_ann_ports),	  T(test_ann_ports_invalid),
	T(test_ann_too_many),	  T(test_ann_bools),
	T(test_ann_dns_override), T(test_ann_all),
	T(test_ann_bad_shapes),	  { NULL, NULL },
};

static const struct suite_def suites[] = {
	{ "conf", conf_tests },
	{ "args", args_tests },
	{ "result", result_tests },
	{ "output", output_tests },
	{ "annotations", annotation_tests },
};

int main(void)
{
	unsigned int run, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	failed = cunit_run(suites, sizeof(suites) / sizeof(suites[0]), &run);
	return cunit_result(run, failed);
}
