// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the fuzzers' seed corpora (checked in under tests/fuzz/corpus/):
 * request scripts for fuzz_request (see its header for the record format),
 * journals written by the real state code for fuzz_journal, and CNI inputs
 * shaped like the reference plugins' results for fuzz_cni.
 *
 *   gen_corpus DIR     (make fuzz-corpus)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "addr.h"
#include "datapath.h"
#include "log.h"
#include "state.h"
#include "wire.h"

static const char *outdir;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void write_file(const char *harness, const char *name, const void *buf,
		       size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, harness);
	if (mkdir(path, 0755) && errno != EEXIST)
		die(path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, harness, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		die(path);
}

/* --- fuzz_request scripts --- */

struct script {
	uint8_t buf[8192];
	size_t len;
	uint64_t id;
};

static void record(struct script *s, uint8_t op, const void *p, size_t len)
{
	if (s->len + 3 + len > sizeof(s->buf))
		exit(2);
	s->buf[s->len++] = op;
	s->buf[s->len++] = (uint8_t)len;
	s->buf[s->len++] = (uint8_t)(len >> 8);
	memcpy(s->buf + s->len, p, len);
	s->len += len;
}

static void req(struct script *s, uint8_t op, Request *r)
{
	uint8_t buf[4096];
	size_t len;

	r->id = ++s->id;
	len = ambient_redirect__v1__request__pack(r, buf);
	record(s, op, buf, len);
}

static void hello(struct script *s, uint32_t version)
{
	Request r = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	Hello h = AMBIENT_REDIRECT__V1__HELLO__INIT;

	h.version = version;
	h.client = "gen_corpus";
	r.body_case = REQ(HELLO);
	r.hello = &h;
	req(s, 0, &r);
}

static void pod_add(struct script *s, const char *uid, const char *netns,
		    const char *ifname, char **ips, size_t n, bool with_fd)
{
	Request r = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	PodAdd a = AMBIENT_REDIRECT__V1__POD_ADD__INIT;

	a.uid = (char *)uid;
	a.name = (char *)uid;
	a.namespace_ = "default";
	a.netns_path = (char *)netns;
	a.interface = (char *)ifname;
	a.ips = ips;
	a.n_ips = n;
	a.dns_capture = n > 1;
	r.body_case = REQ(POD_ADD);
	r.pod_add = &a;
	req(s, with_fd ? 1 : 0, &r);
}

/* A PodAdd with every kind of exclusion, some of them malformed. */
static void pod_add_excluding(struct script *s, const char *uid, char **ips,
			      size_t n, bool good)
{
	static char *cidrs[] = { "10.96.0.0/12", "169.254.169.254", "fd00::/8",
				 "::/0" };
	static char *bad_cidrs[] = { "10.0.0.0/33", "::ffff:1.2.3.4/64" };
	static uint32_t out[] = { 5432, 443, 5432 }, in[] = { 9000, 0 };
	Request r = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	PodAdd a = AMBIENT_REDIRECT__V1__POD_ADD__INIT;

	a.uid = (char *)uid;
	a.netns_path = "/fuzz/pod-x";
	a.ips = ips;
	a.n_ips = n;
	a.exclude_outbound_cidrs = good ? cidrs : bad_cidrs;
	a.n_exclude_outbound_cidrs = good ? 4 : 2;
	a.exclude_outbound_ports = out;
	a.n_exclude_outbound_ports = 3;
	a.exclude_inbound_ports = in;
	a.n_exclude_inbound_ports = good ? 1 : 2;
	a.bypass_inbound = !good;
	r.body_case = REQ(POD_ADD);
	r.pod_add = &a;
	req(s, 0, &r);
}

static void explain(struct script *s, const char *uid, const char *peer,
		    bool inbound, uint32_t pod_port)
{
	Request r = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	ExplainRequest x = AMBIENT_REDIRECT__V1__EXPLAIN_REQUEST__INIT;

	x.uid = (char *)uid;
	x.peer = (char *)peer;
	x.inbound = inbound;
	x.pod_port = pod_port;
	r.body_case = REQ(EXPLAIN);
	r.explain = &x;
	req(s, 0, &r);
}

static void by_uid(struct script *s, int body, const char *uid)
{
	Request r = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__PodDelete del =
		AMBIENT_REDIRECT__V1__POD_DELETE__INIT;
	AmbientRedirect__V1__PodKeep keep =
		AMBIENT_REDIRECT__V1__POD_KEEP__INIT;
	AmbientRedirect__V1__ZtunnelDelete zdel =
		AMBIENT_REDIRECT__V1__ZTUNNEL_DELETE__INIT;

	r.body_case = body;
	del.uid = keep.uid = zdel.uid = (char *)uid;
	if (body == REQ(POD_DELETE))
		r.pod_delete = &del;
	else if (body == REQ(POD_KEEP))
		r.pod_keep = &keep;
	else
		r.ztunnel_delete = &zdel;
	req(s, 0, &r);
}

static void ztunnel_add(struct script *s, const char *uid, const char *netns,
			char **ips, size_t n)
{
	Request r = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	ZtunnelAdd a = AMBIENT_REDIRECT__V1__ZTUNNEL_ADD__INIT;

	a.uid = (char *)uid;
	a.netns_path = (char *)netns;
	a.ips = ips;
	a.n_ips = n;
	r.body_case = REQ(ZTUNNEL_ADD);
	r.ztunnel_add = &a;
	req(s, 0, &r);
}

static void empty_body(struct script *s, int body)
{
	/* StatusRequest, ListPodsRequest, StatsRequest and SnapshotDone are
	 * all empty messages: any of their INITs packs the same. */
	AmbientRedirect__V1__StatusRequest e =
		AMBIENT_REDIRECT__V1__STATUS_REQUEST__INIT;
	Request r = AMBIENT_REDIRECT__V1__REQUEST__INIT;

	r.body_case = body;
	r.status = &e;
	req(s, 0, &r);
}

static void log_level(struct script *s, const char *level)
{
	Request r = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__SetLogLevel l =
		AMBIENT_REDIRECT__V1__SET_LOG_LEVEL__INIT;

	l.level = (char *)level;
	r.body_case = REQ(SET_LOG_LEVEL);
	r.set_log_level = &l;
	req(s, 0, &r);
}

static void emit(struct script *s, const char *name)
{
	write_file("fuzz_request", name, s->buf, s->len);
	memset(s, 0, sizeof(*s));
}

static void request_seeds(void)
{
	static char *ips_a[] = { "10.244.0.2", "fd00:244::2" };
	static char *ips_b[] = { "10.244.0.3" };
	static char *ips_zt[] = { "10.244.0.9", "fd00:244::9" };
	static struct script s;
	uint8_t byte[4] = { 0 };

	hello(&s, 1);
	empty_body(&s, REQ(STATUS));
	empty_body(&s, REQ(LIST_PODS));
	empty_body(&s, REQ(STATS));
	emit(&s, "queries");

	hello(&s, 1);
	pod_add(&s, "pod-a", "/fuzz/pod-a", "", ips_a, 2, false);
	pod_add(&s, "pod-a", "/fuzz/pod-a", "", ips_a, 2, false);
	empty_body(&s, REQ(LIST_PODS));
	by_uid(&s, REQ(POD_DELETE), "pod-a");
	by_uid(&s, REQ(POD_DELETE), "pod-a");
	emit(&s, "pod_lifecycle");

	hello(&s, 1);
	pod_add_excluding(&s, "pod-x", ips_a, 2, true);
	pod_add_excluding(&s, "pod-x", ips_a, 2, false);
	explain(&s, "pod-x", "10.96.0.10:443", false, 0);
	explain(&s, "pod-x", "[fd00::1]:80", true, 9000);
	explain(&s, "pod-x", "10.0.0.1", true, 0);
	empty_body(&s, REQ(DOCTOR));
	by_uid(&s, REQ(POD_DELETE), "pod-x");
	emit(&s, "exclusions_explain_doctor");

	hello(&s, 1);
	pod_add(&s, "pod-fd", "", "eth0", ips_b, 1, true);
	empty_body(&s, REQ(LIST_PODS));
	emit(&s, "pod_netns_fd");

	hello(&s, 1);
	ztunnel_add(&s, "zt-1", "/fuzz/zt-1", ips_zt, 2);
	pod_add(&s, "pod-b", "/fuzz/pod-b", "eth0", ips_b, 1, false);
	ztunnel_add(&s, "zt-2", "/fuzz/zt-2", NULL, 0);
	by_uid(&s, REQ(ZTUNNEL_DELETE), "zt-1");
	empty_body(&s, REQ(STATUS));
	by_uid(&s, REQ(ZTUNNEL_DELETE), "zt-2");
	emit(&s, "ztunnel_replace");

	hello(&s, 1);
	pod_add(&s, "pod-a", "/fuzz/pod-a", "", ips_a, 2, false);
	pod_add(&s, "pod-b", "/fuzz/pod-b", "", ips_b, 1, false);
	record(&s, 3, NULL, 0); /* reconnect */
	hello(&s, 1);
	by_uid(&s, REQ(POD_KEEP), "pod-a");
	empty_body(&s, REQ(SNAPSHOT_DONE));
	empty_body(&s, REQ(LIST_PODS));
	emit(&s, "snapshot");

	hello(&s, 1);
	ztunnel_add(&s, "zt-1", "/fuzz/zt-1", ips_zt, 2);
	pod_add(&s, "pod-a", "/fuzz/pod-a", "", ips_a, 2, false);
	pod_add(&s, "pod-b", "/fuzz/pod-b", "", ips_b, 1, false);
	for (uint8_t i = 0; i < 64; i += 9) {
		byte[0] = i;
		record(&s, 4, byte, 1); /* some host veths vanish */
	}
	record(&s, 6, NULL, 0); /* SIGHUP */
	record(&s, 7, NULL, 0); /* restart */
	hello(&s, 1);
	empty_body(&s, REQ(LIST_PODS));
	emit(&s, "restart");

	hello(&s, 1);
	pod_add(&s, "pod-a", "/fuzz/pod-a", "", ips_a, 2, false);
	pod_add(&s, "pod-c", "/fuzz/pod-c", "", ips_a, 1, false);
	byte[0] = 5;
	byte[1] = 2;
	record(&s, 5, byte, 2); /* a foreign filter in our slot */
	pod_add(&s, "pod-d", "/fuzz/pod-d", "", ips_b, 1, false);
	pod_add(&s, "pod-e", "/fuzz/pod-e", "dummy0", ips_b, 1, false);
	pod_add(&s, "pod-f", "/fuzz/bad", "", ips_b, 1, false);
	ztunnel_add(&s, "zt-x", "/fuzz/norules", NULL, 0);
	emit(&s, "conflicts");

	empty_body(&s, REQ(STATUS)); /* before hello */
	hello(&s, 2);
	hello(&s, 1);
	record(&s, 0, "\xff\xff\xff\xff", 4);
	record(&s, 2, "\x08\x01", 2); /* truncated */
	log_level(&s, "debug");
	log_level(&s, "loud");
	log_level(&s, "error");
	emit(&s, "bad_input");
}

/* --- fuzz_journal --- */

static struct enrolled_pod *make_pod(const char *uid, const char *ip,
				     int ifindex)
{
	struct enrolled_pod *p = pod_new(uid);

	if (!p)
		exit(2);
	snprintf(p->ifname, sizeof(p->ifname), "eth0");
	snprintf(p->host_veth, sizeof(p->host_veth), "veth%d", ifindex);
	p->host_ifindex = ifindex;
	p->mac[0] = 0x02;
	p->mac[5] = (uint8_t)ifindex;
	if (addr_key_parse(ip, &p->addrs[0]))
		exit(2);
	p->naddrs = 1;
	return p;
}

static void copy_journal(const char *path, const char *name, size_t cut)
{
	uint8_t buf[65536];
	FILE *f = fopen(path, "rb");
	size_t len;

	if (!f)
		die(path);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	write_file("fuzz_journal", name, buf, len > cut ? len - cut : 0);
}

static void journal_seeds(void)
{
	char path[] = "/tmp/gen_corpus.XXXXXX", file[64];
	struct ztunnel *z;
	struct state st;

	if (!mkdtemp(path))
		die("mkdtemp");
	snprintf(file, sizeof(file), "%s/state", path);
	if (state_init(&st) || state_journal_open(&st, file))
		exit(2);
	for (int i = 0; i < 4; i++) {
		char uid[16], ip[32];
		struct enrolled_pod *p;

		snprintf(uid, sizeof(uid), "pod-%d", i);
		snprintf(ip, sizeof(ip), i % 2 ? "fd00::%d" : "10.0.0.%d",
			 i + 2);
		p = make_pod(uid, ip, 10 + i);
		state_pod_put(&st, p);
		if (state_journal_pod_put(&st, p))
			exit(2);
	}
	state_pod_remove(&st, "pod-1");
	if (state_journal_pod_delete(&st, "pod-1"))
		exit(2);
	z = ztunnel_new("zt-1");
	if (!z)
		exit(2);
	snprintf(z->ifname, sizeof(z->ifname), "eth0");
	snprintf(z->host_veth, sizeof(z->host_veth), "vethzt");
	z->host_ifindex = 42;
	z->current = true;
	state_ztunnel_put(&st, z);
	if (state_journal_zt_put(&st, z))
		exit(2);
	copy_journal(file, "pods_and_ztunnel", 0);
	copy_journal(file, "torn_last_record", 3);
	if (state_journal_zt_delete(&st, "zt-1"))
		exit(2);
	state_ztunnel_remove(&st, "zt-1");
	ztunnel_free(z);
	copy_journal(file, "ztunnel_deleted", 0);
	state_free(&st);
	unlink(file);
	rmdir(path);
}

/* --- fuzz_cni --- */

#define ARGS                                                          \
	"IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;" \
	"K8S_POD_UID=0b4a5d1e-7c1f-4b7e-9d38-5f2c1e6a8b90\n"

static void cni(const char *name, const char *text)
{
	write_file("fuzz_cni", name, text, strlen(text));
}

static void cni_seeds(void)
{
	cni("ptp_chain",
	    ARGS "eth0\n"
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s-pod-network\","
		 "\"type\":\"redirect-cni\",\"redirectMode\":\"ebpf\","
		 "\"socketPath\":\"/var/run/ambient-redirect/redirect.sock\","
		 "\"excludeNamespaces\":[\"kube-system\"],\"dnsCapture\":false,"
		 "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"interfaces\":["
		 "{\"name\":\"veth1a2b3c4d\",\"mac\":\"f6:2a:7e:10:93:0c\"},"
		 "{\"name\":\"eth0\",\"mac\":\"2e:5c:0a:c4:11:7f\","
		 "\"sandbox\":\"/var/run/netns/fuzz\"}],"
		 "\"ips\":[{\"address\":\"10.244.0.5/24\",\"gateway\":"
		 "\"10.244.0.1\",\"interface\":1},{\"address\":"
		 "\"fd00:244::5/64\",\"interface\":1}],"
		 "\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{}}}");
	cni("bridge_040",
	    ARGS "eth0\n"
		 "{\"cniVersion\":\"0.4.0\",\"name\":\"cbr\","
		 "\"type\":\"redirect-cni\",\"redirectMode\":\"ebpf\","
		 "\"prevResult\":{\"cniVersion\":\"0.4.0\",\"interfaces\":["
		 "{\"name\":\"cni0\",\"mac\":\"6a:11:2b:3c:4d:5e\"},"
		 "{\"name\":\"veth99\",\"mac\":\"6a:11:2b:3c:4d:5f\"},"
		 "{\"name\":\"eth0\",\"mac\":\"0a:58:0a:f4:00:07\","
		 "\"sandbox\":\"/proc/4242/ns/net\"}],"
		 "\"ips\":[{\"version\":\"4\",\"address\":\"10.244.0.7/24\","
		 "\"interface\":2}]}}");
	cni("pass_through",
	    "K8S_POD_NAMESPACE=kube-system\n\n"
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"net\","
	    "\"type\":\"redirect-cni\",\"redirectMode\":\"none\"}");
	cni("no_interfaces",
	    ARGS "eth0\n"
		 "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"type\":"
		 "\"redirect-cni\",\"redirectMode\":\"ebpf\",\"prevResult\":"
		 "{\"ips\":[{\"address\":\"10.1.2.3/32\"},{\"address\":"
		 "\"10.1.2.3/32\"}]}}");
	cni("annotations", ARGS
	    "eth0\n"
	    "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",\"type\":"
	    "\"redirect-cni\",\"redirectMode\":\"ebpf\","
	    "\"capabilities\":{\"io.kubernetes.cri.pod-annotations\":true},"
	    "\"runtimeConfig\":{\"io.kubernetes.cri.pod-annotations\":{"
	    "\"traffic.sidecar.istio.io/excludeOutboundIPRanges\":"
	    "\"10.96.0.0/12, fd00::1/64,*\","
	    "\"traffic.sidecar.istio.io/excludeOutboundPorts\":\"5432,80,80\","
	    "\"traffic.sidecar.istio.io/excludeInboundPorts\":\"15020\","
	    "\"ambient.istio.io/bypass-inbound-capture\":\"False\","
	    "\"ambient.istio.io/dns-capture\":\"true\"}},"
	    "\"prevResult\":{\"ips\":[{\"address\":\"10.1.2.3/32\"}]}}");
	cni("trailing_comma", "K8S_POD_UID=x;;bad\neth0\n"
			      "{\"cniVersion\":\"1.0.0\",\"name\":\"net\",}");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	outdir = argv[1];
	log_set_level(LOG_LVL_ERROR);
	if (mkdir(outdir, 0755) && errno != EEXIST)
		die(outdir);
	request_seeds();
	journal_seeds();
	cni_seeds();
	return 0;
}
