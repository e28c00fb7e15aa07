// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the socket API's codec (ctl/lib/wire.c) and of the address
 * keys it parses into (addr_key_* in ctl/lib/datapath.c). Pure logic: no
 * socket, no BPF, no privileges.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <CUnit/Basic.h>
#include "addr.h"
#include "../lib/cunit_run.h"
#include "datapath.h"
#include "log.h"
#include "wire.h"

/* --- helpers --- */

/*
 * Validate and check that a refusal always comes with a reason, and that
 * an accepted PodAdd or ZtunnelAdd carries its addresses parsed.
 */
static ErrorCode validate(const Request *req, bool has_fd)
{
	char msg[WIRE_MSG_LEN] = "";
	struct wire_request r = { .msg = (Request *)req };
	ErrorCode ec = wire_validate(&r, has_fd, msg, sizeof(msg));
	size_t n = req->body_case == REQ(POD_ADD) ? req->pod_add->n_ips :
		   req->body_case == REQ(ZTUNNEL_ADD) ?
						    req->ztunnel_add->n_ips :
						    0;
	char *const *ips = req->body_case == REQ(POD_ADD) ? req->pod_add->ips :
			   n ? req->ztunnel_add->ips :
			       NULL;
	struct addr_key k;

	if (ec != EC(OK)) {
		CU_ASSERT(msg[0] != '\0');
		return ec;
	}
	CU_ASSERT_EQUAL(r.naddrs, n);
	for (size_t i = 0; i < n && i < r.naddrs; i++)
		CU_ASSERT(!addr_key_parse(ips[i], &k) &&
			  !memcmp(&k, &r.addrs[i], sizeof(k)));
	return ec;
}

/* Decode buf, expecting a refusal with a reason and no Request. */
static void expect_bad_decode(const uint8_t *buf, size_t len, bool truncated)
{
	char msg[WIRE_MSG_LEN] = "";
	Request *req = (Request *)1;
	ErrorCode ec;

	ec = wire_decode_request(buf, len, truncated, &req, msg, sizeof(msg));
	CU_ASSERT_EQUAL(ec, EC(BAD_REQUEST));
	CU_ASSERT_PTR_NULL(req);
	CU_ASSERT(msg[0] != '\0');
	if (ec == EC(OK))
		wire_request_free(req);
}

/* n copies of c; static storage, the last two results stay valid. */
static char *repeat(char c, size_t n)
{
	static char buf[2][2048];
	static int which;
	char *s = buf[which++ & 1];

	if (n >= sizeof(buf[0]))
		n = sizeof(buf[0]) - 1;
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

struct pod_req {
	Request req;
	PodAdd add;
	char *ips[WIRE_MAX_IPS + 4];
	char ipbuf[WIRE_MAX_IPS + 4][INET6_ADDRSTRLEN];
};

/* A valid PodAdd with one IPv4 address; tests change one thing at a time. */
static void pod_req_init(struct pod_req *r)
{
	static const Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	static const PodAdd add = AMBIENT_REDIRECT__V1__POD_ADD__INIT;

	memset(r, 0, sizeof(*r));
	r->req = req;
	r->add = add;
	r->req.id = 1;
	r->req.body_case = REQ(POD_ADD);
	r->req.pod_add = &r->add;
	r->add.uid = "0b9d7c3e-4f7b-4e0e-9a41-7c1d2f3a4b5c";
	r->add.name = "web-0";
	r->add.namespace_ = "default";
	r->add.netns_path = "/var/run/netns/cni-1234";
	r->add.interface = "eth0";
	r->ips[0] = "10.244.1.5";
	r->add.ips = r->ips;
	r->add.n_ips = 1;
}

/* Fill ips[0..n) with distinct addresses, IPv4 and IPv6 alternately. */
static void pod_req_set_ips(struct pod_req *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i % 2)
			snprintf(r->ipbuf[i], sizeof(r->ipbuf[i]),
				 "fd00:10:244::%zx", i);
		else
			snprintf(r->ipbuf[i], sizeof(r->ipbuf[i]),
				 "10.244.1.%zu", i + 1);
		r->ips[i] = r->ipbuf[i];
	}
	r->add.n_ips = n;
}

static ErrorCode pod_add_with_ips(char *a, char *b)
{
	struct pod_req r;

	pod_req_init(&r);
	r.ips[0] = a;
	r.ips[1] = b;
	r.add.n_ips = b ? 2 : 1;
	return validate(&r.req, false);
}

/* --- decoding --- */

static void test_decode_roundtrip(void)
{
	struct pod_req r;
	char msg[WIRE_MSG_LEN] = "";
	uint8_t buf[1024];
	Request *out = NULL;
	size_t len;

	pod_req_init(&r);
	r.req.id = 0x1234567890ULL;
	r.ips[1] = "fd00::5";
	r.add.n_ips = 2;
	r.add.dns_capture = true;
	r.add.host_veth = "veth1a2b3c";
	len = ambient_redirect__v1__request__pack(&r.req, buf);
	CU_ASSERT_FATAL(len > 0 && len < sizeof(buf));

	CU_ASSERT_EQUAL_FATAL(wire_decode_request(buf, len, false, &out, msg,
						  sizeof(msg)),
			      EC(OK));
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(out->id, 0x1234567890ULL);
	CU_ASSERT_EQUAL_FATAL(out->body_case, REQ(POD_ADD));
	CU_ASSERT_STRING_EQUAL(out->pod_add->uid, r.add.uid);
	CU_ASSERT_STRING_EQUAL(out->pod_add->name, "web-0");
	CU_ASSERT_STRING_EQUAL(out->pod_add->namespace_, "default");
	CU_ASSERT_STRING_EQUAL(out->pod_add->netns_path, r.add.netns_path);
	CU_ASSERT_STRING_EQUAL(out->pod_add->interface, "eth0");
	CU_ASSERT_STRING_EQUAL(out->pod_add->host_veth, "veth1a2b3c");
	CU_ASSERT_TRUE(out->pod_add->dns_capture);
	CU_ASSERT_EQUAL_FATAL(out->pod_add->n_ips, 2);
	CU_ASSERT_STRING_EQUAL(out->pod_add->ips[0], "10.244.1.5");
	CU_ASSERT_STRING_EQUAL(out->pod_add->ips[1], "fd00::5");
	CU_ASSERT_STRING_EQUAL(wire_request_name(out), "pod_add");
	CU_ASSERT_EQUAL(validate(out, false), EC(OK));
	wire_request_free(out);
}

static void test_decode_empty(void)
{
	uint8_t buf[1] = { 0 };

	expect_bad_decode(buf, 0, false);
}

static void test_decode_truncated_flag(void)
{
	struct pod_req r;
	uint8_t buf[1024];
	size_t len;

	pod_req_init(&r);
	len = ambient_redirect__v1__request__pack(&r.req, buf);
	/* the same bytes decode when the kernel did not cut the packet */
	expect_bad_decode(buf, len, true);
}

static void test_decode_garbage(void)
{
	static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t varint_overflow[] = { 0x08, 0xff, 0xff, 0xff, 0xff,
						   0xff, 0xff, 0xff, 0xff, 0xff,
						   0xff, 0xff, 0x01 };
	/* field 1 with wire type 7, which does not exist */
	static const uint8_t bad_wire_type[] = { 0x0f, 0x00 };
	/* field 3 (pod_add) claiming 80 bytes, 1 present */
	static const uint8_t short_len[] = { 0x1a, 0x50, 0x0a };
	/* field 2 (hello) holding bytes that are not a Hello */
	static const uint8_t bad_nested[] = { 0x12, 0x02, 0xff, 0xff };

	expect_bad_decode(http, sizeof(http) - 1, false);
	expect_bad_decode(varint_overflow, sizeof(varint_overflow), false);
	expect_bad_decode(bad_wire_type, sizeof(bad_wire_type), false);
	expect_bad_decode(short_len, sizeof(short_len), false);
	expect_bad_decode(bad_nested, sizeof(bad_nested), false);
}

/* Every cut inside the body (after the 2-byte id field) is refused. */
static void test_decode_cut_mid_field(void)
{
	struct pod_req r;
	uint8_t buf[1024];
	size_t len;

	pod_req_init(&r);
	r.req.id = 7; /* encoded as 08 07 */
	len = ambient_redirect__v1__request__pack(&r.req, buf);
	CU_ASSERT_FATAL(len > 8);
	CU_ASSERT_EQUAL(buf[0], 0x08);
	expect_bad_decode(buf, 1, false);
	for (size_t cut = 3; cut < len; cut++)
		expect_bad_decode(buf, cut, false);
}

/* Fields a newer client adds are skipped, at both levels (proto3). */
static void test_decode_unknown_fields(void)
{
	/* clang-format off */
	static const uint8_t buf[] = {
		0x08, 0x2a,			/* id = 42 */
		0x12, 0x0a,			/* hello, 10 bytes: */
		  0x08, 0x01,			/*   version = 1 */
		  0x7a, 0x03, 'n', 'e', 'w',	/*   field 15, string */
		  0xa0, 0x06, 0x05,		/*   field 100, varint */
		0xaa, 0x06, 0x02, 'h', 'i',	/* field 101, string */
		0xb1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, /* field 102, fixed64 */
	};
	/* clang-format on */
	char msg[WIRE_MSG_LEN] = "";
	Request *out = NULL;

	CU_ASSERT_EQUAL_FATAL(wire_decode_request(buf, sizeof(buf), false, &out,
						  msg, sizeof(msg)),
			      EC(OK));
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(out->id, 42);
	CU_ASSERT_EQUAL_FATAL(out->body_case, REQ(HELLO));
	CU_ASSERT_EQUAL(out->hello->version, 1);
	CU_ASSERT_EQUAL(validate(out, false), EC(OK));
	wire_request_free(out);
}

/* --- validation: request kinds --- */

static void test_validate_missing_body(void)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;

	CU_ASSERT_EQUAL(validate(&req, false), EC(BAD_REQUEST));
	CU_ASSERT_STRING_EQUAL(wire_request_name(&req), "unknown");
}

static ErrorCode hello(uint32_t version, char *client)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	Hello h = AMBIENT_REDIRECT__V1__HELLO__INIT;

	h.version = version;
	h.client = client;
	req.body_case = REQ(HELLO);
	req.hello = &h;
	return validate(&req, false);
}

static void test_validate_hello(void)
{
	CU_ASSERT_EQUAL(hello(1, "redirect-cni"), EC(OK));
	CU_ASSERT_EQUAL(hello(1, ""), EC(OK));
	CU_ASSERT_EQUAL(hello(0, "redirect-cni"), EC(UNSUPPORTED_VERSION));
	CU_ASSERT_EQUAL(hello(2, "redirect-cni"), EC(UNSUPPORTED_VERSION));
	CU_ASSERT_EQUAL(hello(1, repeat('c', WIRE_MAX_NAME)), EC(OK));
	CU_ASSERT_EQUAL(hello(1, repeat('c', WIRE_MAX_NAME + 1)),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(hello(1, "cni\x1b[2J"), EC(BAD_REQUEST));
}

static void test_validate_no_body_kinds(void)
{
	static const int kinds[] = { REQ(SNAPSHOT_DONE), REQ(STATUS),
				     REQ(STATS) };
	AmbientRedirect__V1__StatusRequest status =
		AMBIENT_REDIRECT__V1__STATUS_REQUEST__INIT;
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		req.body_case = kinds[i];
		req.status = &status; /* any non-NULL body pointer */
		CU_ASSERT_EQUAL(validate(&req, false), EC(OK));
		/* none of them may carry a netns fd */
		CU_ASSERT_EQUAL(validate(&req, true), EC(BAD_REQUEST));
	}
}

/* ListPods pages by a cursor that must be a uid; PodGet names one. */
static void test_validate_list_and_get(void)
{
	AmbientRedirect__V1__ListPodsRequest list =
		AMBIENT_REDIRECT__V1__LIST_PODS_REQUEST__INIT;
	AmbientRedirect__V1__PodGetRequest get =
		AMBIENT_REDIRECT__V1__POD_GET_REQUEST__INIT;
	AmbientRedirect__V1__PodDelete del =
		AMBIENT_REDIRECT__V1__POD_DELETE__INIT;
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	static char ctl_chars[] = "a\x01b";

	req.body_case = REQ(LIST_PODS);
	req.list_pods = &list;
	CU_ASSERT_EQUAL(validate(&req, false), EC(OK));
	list.after_uid = "pod-7";
	list.limit = 50;
	CU_ASSERT_EQUAL(validate(&req, false), EC(OK));
	list.after_uid = ctl_chars;
	CU_ASSERT_EQUAL(validate(&req, false), EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(validate(&req, true), EC(BAD_REQUEST));
	req.body_case = REQ(POD_GET);
	req.pod_get = &get;
	CU_ASSERT_EQUAL(validate(&req, false), EC(BAD_REQUEST)); /* no uid */
	get.uid = "pod-7";
	CU_ASSERT_EQUAL(validate(&req, false), EC(OK));
	req.body_case = REQ(POD_DELETE);
	req.pod_delete = &del;
	del.uid = "pod-7";
	del.container_id = "abc123";
	del.netns_path = "/var/run/netns/x";
	CU_ASSERT_EQUAL(validate(&req, false), EC(OK));
	del.container_id = ctl_chars;
	CU_ASSERT_EQUAL(validate(&req, false), EC(BAD_REQUEST));
}

/* --- validation: PodAdd --- */

/* The valid PodAdd with one string field (at offset off) replaced. */
static ErrorCode pod_add_field(size_t off, char *value, bool has_fd)
{
	struct pod_req r;

	pod_req_init(&r);
	*(char **)((char *)&r.add + off) = value;
	return validate(&r.req, has_fd);
}

#define POD_FIELD(f) offsetof(PodAdd, f)

static void test_pod_add_valid(void)
{
	struct pod_req r;

	pod_req_init(&r);
	CU_ASSERT_EQUAL(validate(&r.req, false), EC(OK));
	/* the fd wins over the path */
	CU_ASSERT_EQUAL(validate(&r.req, true), EC(OK));
}

static void test_pod_add_uid(void)
{
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(uid), "", false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(uid), "a", false), EC(OK));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(uid), repeat('u', WIRE_MAX_UID),
				      false),
			EC(OK));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(uid),
				      repeat('u', WIRE_MAX_UID + 1), false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(uid), "pod\x01", false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(uid), "pod\n", false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(uid), "p\xc3\xa4\x64", false),
			EC(BAD_REQUEST));
}

static void test_pod_add_names(void)
{
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(name), "", false), EC(OK));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(name),
				      repeat('n', WIRE_MAX_NAME), false),
			EC(OK));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(name),
				      repeat('n', WIRE_MAX_NAME + 1), false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(namespace_), "kube\tsystem",
				      false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(namespace_),
				      repeat('s', WIRE_MAX_NAME + 1), false),
			EC(BAD_REQUEST));
}

static void test_pod_add_netns(void)
{
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(netns_path), "", false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(netns_path), "var/run/netns/x",
				      false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(netns_path), "./ns", false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(netns_path), "/proc/1/ns/net",
				      false),
			EC(OK));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(netns_path), "", true), EC(OK));
}

/* Interface names follow the kernel's dev_valid_name(). */
static void test_pod_add_ifnames(void)
{
	char *const bad[] = { "eth/0", ".",	"..",
			      "eth:0", "eth 0", repeat('i', IF_NAMESIZE) };

	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(interface), "", false), EC(OK));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(interface),
				      repeat('i', IF_NAMESIZE - 1), false),
			EC(OK));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(interface), "...", false),
			EC(OK));
	CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(host_veth), "veth12ab", false),
			EC(OK));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(interface), bad[i],
					      false),
				EC(BAD_REQUEST));
		CU_ASSERT_EQUAL(pod_add_field(POD_FIELD(host_veth), bad[i],
					      false),
				EC(BAD_REQUEST));
	}
}

static void test_pod_add_ip_count(void)
{
	struct pod_req r;

	pod_req_init(&r);
	r.add.n_ips = 0;
	CU_ASSERT_EQUAL(validate(&r.req, false), EC(BAD_REQUEST));
	pod_req_set_ips(&r, WIRE_MAX_IPS);
	CU_ASSERT_EQUAL(validate(&r.req, false), EC(OK));
	pod_req_set_ips(&r, WIRE_MAX_IPS + 1);
	CU_ASSERT_EQUAL(validate(&r.req, false), EC(BAD_REQUEST));
}

static void test_pod_add_bad_ip(void)
{
	char *const bad[] = {
		"",	     "10.0.0",	 "10.0.0.256",	 "10.0.0.1/24",
		"10.0.0.1 ", "fd00:::1", "fe80::1%eth0", "localhost",
		"0x0a000001"
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(pod_add_with_ips(bad[i], NULL),
				EC(BAD_REQUEST));
		/* also when it is not the first one */
		CU_ASSERT_EQUAL(pod_add_with_ips("10.0.0.1", bad[i]),
				EC(BAD_REQUEST));
	}
}

static void test_pod_add_duplicate_ip(void)
{
	CU_ASSERT_EQUAL(pod_add_with_ips("10.0.0.1", "10.0.0.1"),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_with_ips("10.0.0.1", "::ffff:10.0.0.1"),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_with_ips("fd00::1", "FD00:0:0::0001"),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(pod_add_with_ips("10.0.0.1", "10.0.0.2"), EC(OK));
}

static void test_pod_add_families(void)
{
	CU_ASSERT_EQUAL(pod_add_with_ips("fd00:10:244::5", NULL), EC(OK));
	CU_ASSERT_EQUAL(pod_add_with_ips("10.244.1.5", "fd00:10:244::5"),
			EC(OK));
	CU_ASSERT_EQUAL(pod_add_with_ips("fd00:10:244::5", "10.244.1.5"),
			EC(OK));
}

/* --- validation: the other requests --- */

static void test_fd_on_other_requests(void)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__PodDelete del =
		AMBIENT_REDIRECT__V1__POD_DELETE__INIT;
	Hello h = AMBIENT_REDIRECT__V1__HELLO__INIT;

	del.uid = "pod-1";
	req.body_case = REQ(POD_DELETE);
	req.pod_delete = &del;
	CU_ASSERT_EQUAL(validate(&req, false), EC(OK));
	CU_ASSERT_EQUAL(validate(&req, true), EC(BAD_REQUEST));

	h.version = API_VERSION;
	req.body_case = REQ(HELLO);
	req.hello = &h;
	CU_ASSERT_EQUAL(validate(&req, false), EC(OK));
	CU_ASSERT_EQUAL(validate(&req, true), EC(BAD_REQUEST));
}

/* Who may send a descriptor at all (redirectd's SO_PASSRIGHTS). */
static void test_fd_roles(void)
{
	CU_ASSERT_EQUAL(wire_fd_roles(),
			WIRE_ROLE_POD_WRITE | WIRE_ROLE_ZTUNNEL_WRITE);
	CU_ASSERT_FALSE(wire_fd_roles() & WIRE_ROLE_READ);
}

static ErrorCode ztunnel_add(char *uid, char *netns, char *ifname, char **ips,
			     size_t n, bool has_fd)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	ZtunnelAdd a = AMBIENT_REDIRECT__V1__ZTUNNEL_ADD__INIT;

	a.uid = uid;
	a.netns_path = netns;
	a.interface = ifname;
	a.ips = ips;
	a.n_ips = n;
	req.body_case = REQ(ZTUNNEL_ADD);
	req.ztunnel_add = &a;
	return validate(&req, has_fd);
}

static void test_ztunnel_add(void)
{
	char *ips[] = { "10.244.1.2", "fd00::2" };
	char *dup[] = { "10.244.1.2", "::ffff:10.244.1.2" };
	char *bad[] = { "10.244.1.300" };
	char *ns = "/var/run/netns/zt";

	CU_ASSERT_EQUAL(ztunnel_add("zt", ns, "eth0", NULL, 0, false), EC(OK));
	CU_ASSERT_EQUAL(ztunnel_add("zt", ns, "", ips, 2, false), EC(OK));
	CU_ASSERT_EQUAL(ztunnel_add("zt", "", "eth0", ips, 2, true), EC(OK));
	CU_ASSERT_EQUAL(ztunnel_add("zt", "", "eth0", ips, 2, false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(ztunnel_add("zt", "netns/zt", "eth0", ips, 2, false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(ztunnel_add("", ns, "eth0", ips, 2, false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(ztunnel_add(repeat('z', WIRE_MAX_UID + 1), ns, "eth0",
				    ips, 2, false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(ztunnel_add("zt", ns, "a/b", ips, 2, false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(ztunnel_add("zt", ns, "eth0", dup, 2, false),
			EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(ztunnel_add("zt", ns, "eth0", bad, 1, false),
			EC(BAD_REQUEST));
}

static ErrorCode set_log_level(char *level)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__SetLogLevel s =
		AMBIENT_REDIRECT__V1__SET_LOG_LEVEL__INIT;

	s.level = level;
	req.body_case = REQ(SET_LOG_LEVEL);
	req.set_log_level = &s;
	return validate(&req, false);
}

static void test_set_log_level(void)
{
	CU_ASSERT_EQUAL(set_log_level("error"), EC(OK));
	CU_ASSERT_EQUAL(set_log_level("warn"), EC(OK));
	CU_ASSERT_EQUAL(set_log_level("info"), EC(OK));
	CU_ASSERT_EQUAL(set_log_level("debug"), EC(OK));
	CU_ASSERT_EQUAL(set_log_level("verbose"), EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(set_log_level("DEBUG"), EC(BAD_REQUEST));
	CU_ASSERT_EQUAL(set_log_level(""), EC(BAD_REQUEST));
}

/* PodDelete, PodKeep and ZtunnelDelete carry only a uid. */
static ErrorCode uid_request(int kind, char *uid)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__PodDelete pd =
		AMBIENT_REDIRECT__V1__POD_DELETE__INIT;
	AmbientRedirect__V1__PodKeep pk = AMBIENT_REDIRECT__V1__POD_KEEP__INIT;
	AmbientRedirect__V1__ZtunnelDelete zd =
		AMBIENT_REDIRECT__V1__ZTUNNEL_DELETE__INIT;

	pd.uid = pk.uid = zd.uid = uid;
	req.body_case = kind;
	if (kind == REQ(POD_DELETE))
		req.pod_delete = &pd;
	else if (kind == REQ(POD_KEEP))
		req.pod_keep = &pk;
	else
		req.ztunnel_delete = &zd;
	return validate(&req, false);
}

static void test_uid_requests(void)
{
	static const int kinds[] = { REQ(POD_DELETE), REQ(POD_KEEP),
				     REQ(ZTUNNEL_DELETE) };

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		CU_ASSERT_EQUAL(uid_request(kinds[i], "pod-1"), EC(OK));
		CU_ASSERT_EQUAL(uid_request(kinds[i],
					    repeat('u', WIRE_MAX_UID)),
				EC(OK));
		CU_ASSERT_EQUAL(uid_request(kinds[i], ""), EC(BAD_REQUEST));
		CU_ASSERT_EQUAL(uid_request(kinds[i],
					    repeat('u', WIRE_MAX_UID + 1)),
				EC(BAD_REQUEST));
		CU_ASSERT_EQUAL(uid_request(kinds[i], "a\x7f"),
				EC(BAD_REQUEST));
	}
}

/* --- replies and names --- */

static void test_encode_reply(void)
{
	Reply reply = AMBIENT_REDIRECT__V1__REPLY__INIT;
	uint8_t buf[256];
	Reply *back;
	size_t need, len;

	reply.id = 99;
	reply.code = EC(NOT_FOUND);
	reply.message = "pod 'x' is not enrolled";
	need = ambient_redirect__v1__reply__get_packed_size(&reply);
	CU_ASSERT_FATAL(need > 0 && need < sizeof(buf));

	CU_ASSERT_EQUAL(wire_encode_reply(&reply, buf, need - 1), 0);
	CU_ASSERT_EQUAL(wire_encode_reply(&reply, buf, 0), 0);
	len = wire_encode_reply(&reply, buf, need);
	CU_ASSERT_EQUAL_FATAL(len, need);

	back = ambient_redirect__v1__reply__unpack(NULL, len, buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_EQUAL(back->id, 99);
	CU_ASSERT_EQUAL(back->code, EC(NOT_FOUND));
	CU_ASSERT_STRING_EQUAL(back->message, reply.message);
	ambient_redirect__v1__reply__free_unpacked(back, NULL);
}

/* A pod list bigger than one packet is refused, not cut. */
static void test_encode_reply_too_big(void)
{
	enum { NPODS = 2000 };
	Reply reply = AMBIENT_REDIRECT__V1__REPLY__INIT;
	PodList list = AMBIENT_REDIRECT__V1__POD_LIST__INIT;
	PodInfo *infos = calloc(NPODS, sizeof(*infos));
	PodInfo **ptrs = calloc(NPODS, sizeof(*ptrs));
	uint8_t *buf = malloc(WIRE_MAX_MSG);

	CU_ASSERT_FATAL(infos && ptrs && buf);
	for (size_t i = 0; i < NPODS; i++) {
		ambient_redirect__v1__pod_info__init(&infos[i]);
		infos[i].uid = "0b9d7c3e-4f7b-4e0e-9a41-7c1d2f3a4b5c";
		ptrs[i] = &infos[i];
	}
	list.n_pods = NPODS;
	list.pods = ptrs;
	reply.body_case = REPLY_BODY(PODS);
	reply.pods = &list;
	CU_ASSERT(ambient_redirect__v1__reply__get_packed_size(&reply) >
		  WIRE_MAX_MSG);
	CU_ASSERT_EQUAL(wire_encode_reply(&reply, buf, WIRE_MAX_MSG), 0);
	list.n_pods = 10;
	CU_ASSERT(wire_encode_reply(&reply, buf, WIRE_MAX_MSG) > 0);
	free(buf);
	free(ptrs);
	free(infos);
}

static void test_error_names(void)
{
	CU_ASSERT_STRING_EQUAL(wire_error_name(EC(OK)), "OK");
	CU_ASSERT_STRING_EQUAL(wire_error_name(EC(BAD_REQUEST)), "BAD_REQUEST");
	CU_ASSERT_STRING_EQUAL(wire_error_name(EC(UNSUPPORTED_VERSION)),
			       "UNSUPPORTED_VERSION");
	CU_ASSERT_STRING_EQUAL(wire_error_name(EC(NOT_FOUND)), "NOT_FOUND");
	CU_ASSERT_STRING_EQUAL(wire_error_name(EC(CAPACITY)), "CAPACITY");
	CU_ASSERT_STRING_EQUAL(wire_error_name((ErrorCode)999), "UNKNOWN");
	CU_ASSERT_STRING_EQUAL(wire_error_name((ErrorCode)-1), "UNKNOWN");
}

static void test_exit_codes(void)
{
	static const ErrorCode other[] = { EC(NETNS),	   EC(INTERFACE),
					   EC(KERNEL),	   EC(CONFLICT),
					   EC(PERMISSION), EC(INTERNAL),
					   EC(CAPACITY),   (ErrorCode)999 };

	CU_ASSERT_EQUAL(wire_exit_code(EC(OK)), 0);
	CU_ASSERT_EQUAL(wire_exit_code(EC(BAD_REQUEST)), 2);
	CU_ASSERT_EQUAL(wire_exit_code(EC(UNSUPPORTED_VERSION)), 2);
	CU_ASSERT_EQUAL(wire_exit_code(EC(HELLO_REQUIRED)), 2);
	CU_ASSERT_EQUAL(wire_exit_code(EC(NOT_FOUND)), 3);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		CU_ASSERT_EQUAL(wire_exit_code(other[i]), 5);
}

/* --- address keys --- */

static void expect_roundtrip(const char *in, const char *out, bool v4)
{
	struct addr_key k;
	char buf[INET6_ADDRSTRLEN];

	CU_ASSERT_EQUAL_FATAL(addr_key_parse(in, &k), 0);
	CU_ASSERT_EQUAL(addr_key_is_v4(&k), v4);
	CU_ASSERT_PTR_EQUAL(addr_key_format(&k, buf, sizeof(buf)), buf);
	CU_ASSERT_STRING_EQUAL(buf, out);
}

static void test_addr_v4(void)
{
	struct addr_key k, mapped;

	memset(&k, 0xaa, sizeof(k));
	CU_ASSERT_EQUAL_FATAL(addr_key_parse("10.1.2.3", &k), 0);
	/* stored as ::ffff:10.1.2.3, network order */
	CU_ASSERT_EQUAL(k.addr[0], 0);
	CU_ASSERT_EQUAL(k.addr[1], 0);
	CU_ASSERT_EQUAL(k.addr[2], htonl(0xffff));
	CU_ASSERT_EQUAL(k.addr[3], htonl(0x0a010203));
	CU_ASSERT_EQUAL_FATAL(addr_key_parse("::ffff:10.1.2.3", &mapped), 0);
	CU_ASSERT_EQUAL(memcmp(&k, &mapped, sizeof(k)), 0);

	expect_roundtrip("10.1.2.3", "10.1.2.3", true);
	expect_roundtrip("0.0.0.0", "0.0.0.0", true);
	expect_roundtrip("255.255.255.255", "255.255.255.255", true);
	expect_roundtrip("::ffff:192.168.0.1", "192.168.0.1", true);
}

static void test_addr_v6(void)
{
	struct addr_key k;

	CU_ASSERT_EQUAL_FATAL(addr_key_parse("fd00::1", &k), 0);
	CU_ASSERT_EQUAL(k.addr[0], htonl(0xfd000000));
	CU_ASSERT_EQUAL(k.addr[3], htonl(1));

	expect_roundtrip("fd00::1", "fd00::1", false);
	expect_roundtrip("FD00:0:0:0::1", "fd00::1", false);
	expect_roundtrip("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6", false);
	expect_roundtrip("::", "::", false);
	expect_roundtrip("::1", "::1", false);
	/* IPv4-compatible (not mapped) stays IPv6 */
	expect_roundtrip("::10.1.2.3", "::10.1.2.3", false);
}

static void test_addr_bad(void)
{
	static const char *const bad[] = {
		"",
		" ",
		"10.0.0",
		"10.0.0.1.1",
		"256.0.0.1",
		"10.0.0.1 ",
		" 10.0.0.1",
		"10.0.0.1/32",
		"fd00:::1",
		"fd00::1::2",
		"fe80::1%lo",
		"12345::1",
		"localhost",
		"::ffff:10.0.0.256",
		"1:2:3:4:5:6:7:8:9",
	};
	struct addr_key k;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(addr_key_parse(bad[i], &k), -EINVAL);
}

/* --- runner --- */

static const struct test_def decode_tests[] = {
	T(test_decode_roundtrip),
	T(test_decode_empty),
	T(test_decode_truncated_flag),
	T(test_decode_garbage),
	T(test_decode_cut_mid_field),
	T(test_decode_unknown_fields),
	{ NULL, NULL },
};

static const struct test_def validate_tests[] = {
	T(test_validate_missing_body),
	T(test_validate_hello),
	T(test_validate_no_body_kinds),
	T(test_validate_list_and_get),
	T(test_pod_add_valid),
	T(test_pod_add_uid),
	T(test_pod_add_names),
	T(test_pod_add_netns),
	T(test_pod_add_ifnames),
	T(test_pod_add_ip_count),
	T(test_pod_add_bad_ip),
	T(test_pod_add_duplicate_ip),
	T(test_pod_add_families),
	T(test_fd_on_other_requests),
	T(test_fd_roles),
	T(test_ztunnel_add),
	T(test_set_log_level),
	T(test_uid_requests),
	{ NULL, NULL },
};

static const struct test_def reply_tests[] = {
	T(test_encode_reply), T(test_encode_reply_too_big),
	T(test_error_names),  T(test_exit_codes),
	{ NULL, NULL },
};

static const struct test_def addr_tests[] = {
	T(test_addr_v4),
	T(test_addr_v6),
	T(test_addr_bad),
	{ NULL, NULL },
};

static const struct suite_def suites[] = {
	{ "decode", decode_tests },
	{ "validate", validate_tests },
	{ "reply", reply_tests },
	{ "addr_key", addr_tests },
};

int main(void)
{
	unsigned int run, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_set_level(LOG_LVL_ERROR);
	failed = cunit_run(suites, sizeof(suites) / sizeof(suites[0]), &run);
	return cunit_result(run, failed);
}
