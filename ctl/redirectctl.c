// SPDX-License-Identifier: GPL-2.0
/*
 * redirectctl: the operator's view of redirectd.
 *
 * Exit codes: 0 ok; 2 usage or a request the daemon refused as malformed;
 * 3 not found; 4 daemon unreachable; 5 any other failure.
 *
 * cleanup works without the daemon (and refuses while one answers on the
 * socket, unless --force): 0 everything of ours is gone; 5 a redirectd is
 * running, something could not be removed, or the bpffs folder holds files
 * that are not ours (kept, listed on stderr); 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "cleanup.h"
#include "client.h"
#include "datapath.h"
#include "defaults.h"
#include "wire.h"

#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 4

struct ctl {
	const char *socket_path;
	bool json;
	struct client c;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: redirectctl [--socket PATH] [-j] COMMAND\n"
		"commands:\n"
		"  status                      daemon and datapath summary\n"
		"  pods                        enrolled pods and ztunnels\n"
		"  stats                       per-program decision counters\n"
		"  pod add UID --netns PATH --ip ADDR [--ip ADDR...]\n"
		"          [--name N] [--namespace NS] [--ifname IF]\n"
		"          [--host-veth V] [--dns-capture]\n"
		"  pod del UID\n"
		"  ztunnel add UID --netns PATH [--ifname IF] [--ip ADDR...]\n"
		"          [--capture-udp]     all UDP to ztunnel, not only DNS\n"
		"  ztunnel del UID\n"
		"  log-level LEVEL             error, warn, info, debug\n"
		"  snapshot [UID...]           reconcile: keep these pods, remove\n"
		"                              every other enrolled pod\n"
		"  cleanup [--bpffs DIR] [--state FILE] [--cgroup DIR]\n"
		"          [--tc-priority N] [--tc-handle N] [--force]\n"
		"                              uninstall: remove our filters, pins\n"
		"                              and attachments (redirectd stopped)\n"
		"default socket: %s\n",
		DEFAULT_SOCKET_PATH);
}

/* --- JSON output helpers --- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_strs(char **v, size_t n)
{
	putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			putchar(',');
		json_str(v[i]);
	}
	putchar(']');
}

static void json_kv_str(const char *k, const char *v, bool comma)
{
	printf("%s\"%s\":", comma ? "," : "", k);
	json_str(v);
}

/* --- calling the daemon --- */

static int connect_daemon(struct ctl *ctl)
{
	char msg[WIRE_MSG_LEN] = "";
	int err = client_connect(&ctl->c, ctl->socket_path, "redirectctl", msg,
				 sizeof(msg));

	if (err < 0) {
		fprintf(stderr,
			"redirectctl: cannot reach redirectd at %s: "
			"%s\n",
			ctl->socket_path, strerror(-err));
		return EXIT_UNREACHABLE;
	}
	if (err > 0) {
		fprintf(stderr, "redirectctl: redirectd refused us: %s\n", msg);
		return wire_exit_code((ErrorCode)err);
	}
	return 0;
}

/* Send req; on success *out holds the reply. Returns an exit code. */
static int call(struct ctl *ctl, Request *req, int fd, Reply **out)
{
	Reply *reply;
	int err = connect_daemon(ctl);

	if (err)
		return err;
	err = client_call(&ctl->c, req, fd, &reply);
	client_close(&ctl->c);
	if (err) {
		fprintf(stderr, "redirectctl: %s\n", strerror(-err));
		return EXIT_UNREACHABLE;
	}
	if (reply->code) {
		fprintf(stderr, "redirectctl: %s: %s\n",
			wire_error_name(reply->code), reply->message);
		err = wire_exit_code(reply->code);
		client_reply_free(reply);
		return err;
	}
	*out = reply;
	return 0;
}

/* For change requests: print the daemon's message and exit. */
static int call_simple(struct ctl *ctl, Request *req)
{
	Reply *reply;
	int err = call(ctl, req, -1, &reply);

	if (err)
		return err;
	if (ctl->json) {
		printf("{\"ok\":true");
		json_kv_str("message", reply->message, true);
		printf("}\n");
	} else if (reply->message[0]) {
		printf("%s\n", reply->message);
	}
	client_reply_free(reply);
	return 0;
}

/* --- commands --- */

/* The first few; redirectctl -j status lists them all. */
static void print_node_addrs(const StatusReply *s)
{
	size_t shown = s->n_node_addresses < 6 ? s->n_node_addresses : 6;

	printf("node addrs:  ");
	for (size_t i = 0; i < shown; i++)
		printf("%s%s", i ? ", " : "", s->node_addresses[i]);
	if (shown < s->n_node_addresses)
		printf(", ... (%zu in all)", s->n_node_addresses);
	printf("%s(%s)\n", shown ? " " : "",
	       s->node_addresses_inline ? "scanned inline" :
					  "hash lookup: more than 32");
}

static void print_status(const StatusReply *s, bool json)
{
	if (json) {
		printf("{\"version\":\"%s\",\"api_version\":%u,\"pods\":%u,"
		       "\"pod_addresses\":%u,\"pod_capacity\":%u,"
		       "\"ztunnel_present\":%s",
		       s->version, s->api_version, s->pods, s->pod_addresses,
		       s->pod_capacity, s->ztunnel_present ? "true" : "false");
		json_kv_str("ztunnel_uid", s->ztunnel_uid, true);
		printf(",\"ztunnel_capture_udp\":%s",
		       s->ztunnel_capture_udp ? "true" : "false");
		json_kv_str("ztunnel_attach", s->ztunnel_attach, true);
		printf(",\"ztunnel_foreign_first\":%s",
		       s->ztunnel_foreign_first ? "true" : "false");
		json_kv_str("bpffs", s->bpffs, true);
		printf(",\"tc_priority\":%u,\"tc_handle\":%u,\"fail_open\":%s,"
		       "\"requests\":%llu,\"request_errors\":%llu,"
		       "\"clients\":%u",
		       s->tc_priority, s->tc_handle,
		       s->fail_open ? "true" : "false",
		       (unsigned long long)s->requests,
		       (unsigned long long)s->request_errors, s->clients);
		json_kv_str("log_level", s->log_level, true);
		printf(",\"sockmap_active\":%s",
		       s->sockmap_active ? "true" : "false");
		json_kv_str("sockmap_reason", s->sockmap_reason, true);
		json_kv_str("sockmap_cgroup", s->sockmap_cgroup, true);
		printf(",\"sockmap_pods\":%s",
		       s->sockmap_pods ? "true" : "false");
		json_kv_str("sockmap_pods_reason", s->sockmap_pods_reason,
			    true);
		json_kv_str("features", s->features, true);
		printf(",\"node_addresses\":");
		json_strs(s->node_addresses, s->n_node_addresses);
		printf(",\"node_addresses_inline\":%s",
		       s->node_addresses_inline ? "true" : "false");
		printf(",\"journal_write_errors\":%llu,\"journal_damaged\":%llu",
		       (unsigned long long)s->journal_write_errors,
		       (unsigned long long)s->journal_damaged);
		printf(",\"order_checks\":%llu,\"order_violations\":%llu,"
		       "\"order_restored\":%llu",
		       (unsigned long long)s->order_checks,
		       (unsigned long long)s->order_violations,
		       (unsigned long long)s->order_restored);
		json_kv_str("attach_mode", s->attach_mode, true);
		json_kv_str("guard", s->guard, true);
		printf(",\"pods_uncovered\":%u", s->pods_uncovered);
		printf(",\"kernel_errors\":%llu",
		       (unsigned long long)s->kernel_errors);
		json_kv_str("journal_error", s->journal_error, true);
		printf("}\n");
		return;
	}
	printf("redirectd %s (API %u)\n", s->version, s->api_version);
	printf("pods:        %u (%u addresses, capacity %u)\n", s->pods,
	       s->pod_addresses, s->pod_capacity);
	printf("ztunnel:     %s%s%s%s%s%s%s\n",
	       s->ztunnel_present ? "present" : "ABSENT (meshed pods ",
	       s->ztunnel_present ? ", uid " :
				    (s->fail_open ? "pass)" : "fail closed)"),
	       s->ztunnel_present ? s->ztunnel_uid : "",
	       !s->ztunnel_present    ? "" :
	       s->ztunnel_capture_udp ? ", captures all UDP" :
					", UDP: DNS only",
	       s->ztunnel_present ? ", hooks " : "", s->ztunnel_attach,
	       s->ztunnel_foreign_first ?
		       "; ANOTHER OWNER'S PROGRAM RUNS BEFORE THEM (meshed "
		       "traffic may be lost; see the log)" :
		       "");
	printf("bpffs:       %s\n", s->bpffs);
	printf("tc:          pref %u handle 0x%x\n", s->tc_priority,
	       s->tc_handle);
	printf("requests:    %llu (%llu errors), %u clients\n",
	       (unsigned long long)s->requests,
	       (unsigned long long)s->request_errors, s->clients);
	printf("log level:   %s\n", s->log_level);
	printf("attach:      %s; order watch: %llu checks, %llu foreign "
	       "programs found before ours, %llu times ours put back first\n",
	       s->attach_mode, (unsigned long long)s->order_checks,
	       (unsigned long long)s->order_violations,
	       (unsigned long long)s->order_restored);
	printf("guard:       %s\n", s->guard);
	if (s->pods_uncovered)
		printf("coverage:    %u pods hold addresses they were not "
		       "enrolled with (redirectctl pods says which)\n",
		       s->pods_uncovered);
	if (s->kernel_errors)
		printf("kernel:      %llu operations failed that nothing could "
		       "refuse (see the log)\n",
		       (unsigned long long)s->kernel_errors);
	if (s->journal_error[0])
		printf("journal:     LAGGING (%s): state is in memory; the file "
		       "is rewritten once writes work; %llu writes failed\n",
		       s->journal_error,
		       (unsigned long long)s->journal_write_errors);
	else
		printf("journal:     whole (%llu writes failed so far, %llu "
		       "damaged stretches skipped at start)\n",
		       (unsigned long long)s->journal_write_errors,
		       (unsigned long long)s->journal_damaged);
	print_node_addrs(s);
	if (s->features[0])
		printf("features:    %s\n", s->features);
	if (!s->sockmap_active)
		printf("sockmap:     off (%s)\n", s->sockmap_reason);
	else if (s->sockmap_pods)
		printf("sockmap:     on, cgroup %s, pods and ztunnel%s%s\n",
		       s->sockmap_cgroup, s->sockmap_pods_reason[0] ? "; " : "",
		       s->sockmap_pods_reason);
	else
		printf("sockmap:     on, cgroup %s, ztunnel's own loop only "
		       "(pods: %s)\n",
		       s->sockmap_cgroup, s->sockmap_pods_reason);
}

static int cmd_status(struct ctl *ctl)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__StatusRequest b =
		AMBIENT_REDIRECT__V1__STATUS_REQUEST__INIT;
	Reply *reply;
	int err;

	req.body_case = REQ(STATUS);
	req.status = &b;
	err = call(ctl, &req, -1, &reply);
	if (err)
		return err;
	if (reply->body_case != REPLY_BODY(STATUS)) {
		client_reply_free(reply);
		return 5;
	}
	print_status(reply->status, ctl->json);
	client_reply_free(reply);
	return 0;
}

static void print_pod_json(const PodInfo *p, bool comma)
{
	printf("%s{", comma ? "," : "");
	json_kv_str("uid", p->uid, false);
	json_kv_str("name", p->name, true);
	json_kv_str("namespace", p->namespace_, true);
	printf(",\"ips\":");
	json_strs(p->ips, p->n_ips);
	json_kv_str("host_veth", p->host_veth, true);
	printf(",\"host_ifindex\":%u", p->host_ifindex);
	json_kv_str("mac", p->mac, true);
	json_kv_str("netns", p->netns_path, true);
	json_kv_str("interface", p->interface, true);
	printf(",\"dns_capture\":%s,\"qdisc_created\":%s",
	       p->dns_capture ? "true" : "false",
	       p->qdisc_created ? "true" : "false");
	json_kv_str("attach", p->attach, true);
	json_kv_str("uncovered", p->uncovered, true);
	printf(",\"guard\":%s}", p->guard ? "true" : "false");
}

static void print_zt_json(const ZtunnelInfo *z, bool comma)
{
	printf("%s{", comma ? "," : "");
	json_kv_str("uid", z->uid, false);
	printf(",\"ips\":");
	json_strs(z->ips, z->n_ips);
	json_kv_str("host_veth", z->host_veth, true);
	printf(",\"host_ifindex\":%u", z->host_ifindex);
	json_kv_str("mac", z->mac, true);
	json_kv_str("netns", z->netns_path, true);
	json_kv_str("interface", z->interface, true);
	printf(",\"current\":%s,\"capture_udp\":%s",
	       z->current ? "true" : "false",
	       z->capture_udp ? "true" : "false");
	json_kv_str("attach", z->attach, true);
	printf("}");
}

static void print_pods_head(bool json)
{
	if (json)
		printf("{\"pods\":[");
	else
		printf("%-36s %-30s %-15s %s\n", "UID", "NAMESPACE/NAME",
		       "HOST VETH", "IPS");
}

static void print_pod_text(const PodInfo *p)
{
	char nsname[64];

	snprintf(nsname, sizeof(nsname), "%s/%s", p->namespace_, p->name);
	printf("%-36s %-30s %-15s", p->uid, nsname, p->host_veth);
	for (size_t j = 0; j < p->n_ips; j++)
		printf("%s%s", j ? "," : " ", p->ips[j]);
	printf("%s%s%s\n", p->dns_capture ? " (dns capture)" : "",
	       !strcmp(p->attach, "tcx") ? " (tcx)" : "",
	       p->guard ? "" : " (no guard)");
	if (p->uncovered[0])
		printf("%-36s not covered: %s\n", "", p->uncovered);
}

/* One page's pods; *n: pods printed so far (for the JSON commas). */
static void print_pod_page(const PodList *pl, bool json, size_t *n)
{
	for (size_t i = 0; i < pl->n_pods; i++, (*n)++) {
		if (json)
			print_pod_json(pl->pods[i], *n > 0);
		else
			print_pod_text(pl->pods[i]);
	}
}

static void print_ztunnels(const PodList *pl, bool json)
{
	if (json) {
		printf("],\"ztunnels\":[");
		for (size_t i = 0; i < pl->n_ztunnels; i++)
			print_zt_json(pl->ztunnels[i], i > 0);
		printf("]}\n");
		return;
	}
	for (size_t i = 0; i < pl->n_ztunnels; i++) {
		const ZtunnelInfo *z = pl->ztunnels[i];

		printf("ztunnel %s on %s (host %s)%s%s%s\n", z->uid,
		       z->interface, z->host_veth,
		       z->current ? " current" : " replaced",
		       z->capture_udp ? ", all UDP captured" : "",
		       !strcmp(z->attach, "tcx") ? " (tcx)" : "");
	}
}

static int page_error(Reply *reply)
{
	int err = wire_exit_code(reply->code);

	fprintf(stderr, "redirectctl: %s: %s\n", wire_error_name(reply->code),
		reply->message);
	client_reply_free(reply);
	return err;
}

/* Every pod, page after page on one connection (ztunnels: first page). */
static int cmd_pods(struct ctl *ctl)
{
	char after[WIRE_MAX_UID + 1] = "";
	Reply *first = NULL, *reply;
	size_t n = 0;
	int err = connect_daemon(ctl);

	if (err)
		return err;
	print_pods_head(ctl->json);
	for (;;) {
		err = client_list_page(&ctl->c, after, 0, &reply);
		if (err) {
			fprintf(stderr, "redirectctl: %s\n", strerror(-err));
			err = EXIT_UNREACHABLE;
			break;
		}
		if (reply->code || reply->body_case != REPLY_BODY(PODS)) {
			err = page_error(reply);
			break;
		}
		print_pod_page(reply->pods, ctl->json, &n);
		snprintf(after, sizeof(after), "%s", reply->pods->next_uid);
		if (!first)
			first = reply;
		else
			client_reply_free(reply);
		if (!after[0])
			break;
	}
	if (!err && first)
		print_ztunnels(first->pods, ctl->json);
	client_reply_free(first);
	client_close(&ctl->c);
	return err;
}

static void print_stats(const StatsReply *s, bool json)
{
	if (json)
		printf("{\"counters\":[");
	else
		printf("%-16s %-28s %14s %16s\n", "PROGRAM", "DECISION",
		       "PACKETS", "BYTES");
	for (size_t i = 0; i < s->n_counters; i++) {
		const Counter *c = s->counters[i];

		if (json) {
			printf("%s{", i ? "," : "");
			json_kv_str("program", c->program, false);
			json_kv_str("decision", c->decision, true);
			printf(",\"packets\":%llu,\"bytes\":%llu}",
			       (unsigned long long)c->packets,
			       (unsigned long long)c->bytes);
		} else {
			printf("%-16s %-28s %14llu %16llu\n", c->program,
			       c->decision, (unsigned long long)c->packets,
			       (unsigned long long)c->bytes);
		}
	}
	if (json)
		printf("]}\n");
}

static int cmd_stats(struct ctl *ctl)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__StatsRequest b =
		AMBIENT_REDIRECT__V1__STATS_REQUEST__INIT;
	Reply *reply;
	int err;

	req.body_case = REQ(STATS);
	req.stats = &b;
	err = call(ctl, &req, -1, &reply);
	if (err)
		return err;
	if (reply->body_case == REPLY_BODY(STATS))
		print_stats(reply->stats, ctl->json);
	client_reply_free(reply);
	return 0;
}

struct add_args {
	const char *netns, *name, *ns, *ifname, *host_veth;
	char *ips[WIRE_MAX_IPS];
	size_t n_ips;
	bool dns_capture;
	bool capture_udp;
};

static int parse_add_args(int argc, char **argv, struct add_args *a)
{
	enum { A_NETNS = 300, A_IP, A_NAME, A_NS, A_IF, A_HOST, A_DNS, A_UDP };
	static const struct option opts[] = {
		{ "netns", required_argument, NULL, A_NETNS },
		{ "ip", required_argument, NULL, A_IP },
		{ "name", required_argument, NULL, A_NAME },
		{ "namespace", required_argument, NULL, A_NS },
		{ "ifname", required_argument, NULL, A_IF },
		{ "host-veth", required_argument, NULL, A_HOST },
		{ "dns-capture", no_argument, NULL, A_DNS },
		{ "capture-udp", no_argument, NULL, A_UDP },
		{ 0 }
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case A_NETNS:
			a->netns = optarg;
			break;
		case A_IP:
			if (a->n_ips == WIRE_MAX_IPS)
				return -E2BIG;
			a->ips[a->n_ips++] = optarg;
			break;
		case A_NAME:
			a->name = optarg;
			break;
		case A_NS:
			a->ns = optarg;
			break;
		case A_IF:
			a->ifname = optarg;
			break;
		case A_HOST:
			a->host_veth = optarg;
			break;
		case A_DNS:
			a->dns_capture = true;
			break;
		case A_UDP:
			a->capture_udp = true;
			break;
		default:
			return -EINVAL;
		}
	}
	return optind == argc && a->netns ? 0 : -EINVAL;
}

static char *or_empty(const char *s)
{
	return (char *)(s ? s : "");
}

static int cmd_pod_add(struct ctl *ctl, const char *uid, int argc, char **argv)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	PodAdd b = AMBIENT_REDIRECT__V1__POD_ADD__INIT;
	struct add_args a = { 0 };

	if (parse_add_args(argc, argv, &a) || !a.n_ips) {
		fprintf(stderr, "redirectctl: pod add needs UID, --netns and "
				"at least one --ip\n");
		return EXIT_USAGE;
	}
	b.uid = (char *)uid;
	b.netns_path = (char *)a.netns;
	b.name = or_empty(a.name);
	b.namespace_ = or_empty(a.ns);
	b.interface = or_empty(a.ifname);
	b.host_veth = or_empty(a.host_veth);
	b.ips = a.ips;
	b.n_ips = a.n_ips;
	b.dns_capture = a.dns_capture;
	req.body_case = REQ(POD_ADD);
	req.pod_add = &b;
	return call_simple(ctl, &req);
}

static int cmd_ztunnel_add(struct ctl *ctl, const char *uid, int argc,
			   char **argv)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	ZtunnelAdd b = AMBIENT_REDIRECT__V1__ZTUNNEL_ADD__INIT;
	struct add_args a = { 0 };

	if (parse_add_args(argc, argv, &a)) {
		fprintf(stderr, "redirectctl: ztunnel add needs UID and "
				"--netns\n");
		return EXIT_USAGE;
	}
	b.uid = (char *)uid;
	b.netns_path = (char *)a.netns;
	b.interface = or_empty(a.ifname);
	b.ips = a.ips;
	b.n_ips = a.n_ips;
	b.capture_udp = a.capture_udp;
	req.body_case = REQ(ZTUNNEL_ADD);
	req.ztunnel_add = &b;
	return call_simple(ctl, &req);
}

static int cmd_del(struct ctl *ctl, bool pod, const char *uid)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__PodDelete pd =
		AMBIENT_REDIRECT__V1__POD_DELETE__INIT;
	AmbientRedirect__V1__ZtunnelDelete zd =
		AMBIENT_REDIRECT__V1__ZTUNNEL_DELETE__INIT;

	if (pod) {
		pd.uid = (char *)uid;
		req.body_case = REQ(POD_DELETE);
		req.pod_delete = &pd;
	} else {
		zd.uid = (char *)uid;
		req.body_case = REQ(ZTUNNEL_DELETE);
		req.ztunnel_delete = &zd;
	}
	return call_simple(ctl, &req);
}

static int cmd_log_level(struct ctl *ctl, const char *level)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__SetLogLevel b =
		AMBIENT_REDIRECT__V1__SET_LOG_LEVEL__INIT;

	b.level = (char *)level;
	req.body_case = REQ(SET_LOG_LEVEL);
	req.set_log_level = &b;
	return call_simple(ctl, &req);
}

static int keep_one(struct ctl *ctl, const char *uid)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__PodKeep keep =
		AMBIENT_REDIRECT__V1__POD_KEEP__INIT;
	Reply *reply;
	int err;

	keep.uid = (char *)uid;
	req.body_case = REQ(POD_KEEP);
	req.pod_keep = &keep;
	err = client_call(&ctl->c, &req, -1, &reply);
	if (err) {
		fprintf(stderr, "redirectctl: %s\n", strerror(-err));
		return EXIT_UNREACHABLE;
	}
	if (reply->code)
		fprintf(stderr, "redirectctl: keep %s: %s\n", uid,
			reply->message);
	err = reply->code == EC(NOT_FOUND) ? 0 : wire_exit_code(reply->code);
	client_reply_free(reply);
	return err;
}

/*
 * The snapshot exchange on one connection: PodKeep for each uid, then
 * SnapshotDone. Uids that are not enrolled are reported and skipped.
 */
static int cmd_snapshot(struct ctl *ctl, int argc, char **argv)
{
	Request req = AMBIENT_REDIRECT__V1__REQUEST__INIT;
	AmbientRedirect__V1__SnapshotDone done =
		AMBIENT_REDIRECT__V1__SNAPSHOT_DONE__INIT;
	Reply *reply;
	int err = connect_daemon(ctl);

	for (int i = 1; i < argc && !err; i++)
		err = keep_one(ctl, argv[i]);
	if (err) {
		client_close(&ctl->c);
		return err;
	}
	req.body_case = REQ(SNAPSHOT_DONE);
	req.snapshot_done = &done;
	err = client_call(&ctl->c, &req, -1, &reply);
	client_close(&ctl->c);
	if (err) {
		fprintf(stderr, "redirectctl: %s\n", strerror(-err));
		return EXIT_UNREACHABLE;
	}
	printf("%s\n", reply->message);
	err = wire_exit_code(reply->code);
	client_reply_free(reply);
	return err;
}

/* Whether a redirectd answers on the socket. */
static bool daemon_serving(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	err = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return !err;
}

static int parse_cleanup_args(int argc, char **argv, struct cleanup_opts *o,
			      bool *force)
{
	enum { C_BPFFS = 300, C_STATE, C_CGROUP, C_PRIO, C_HANDLE, C_FORCE };
	static const struct option opts[] = {
		{ "bpffs", required_argument, NULL, C_BPFFS },
		{ "state", required_argument, NULL, C_STATE },
		{ "cgroup", required_argument, NULL, C_CGROUP },
		{ "tc-priority", required_argument, NULL, C_PRIO },
		{ "tc-handle", required_argument, NULL, C_HANDLE },
		{ "force", no_argument, NULL, C_FORCE },
		{ 0 }
	};
	unsigned long v;
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case C_BPFFS:
			o->bpffs = optarg;
			break;
		case C_STATE:
			o->state_file = optarg;
			break;
		case C_CGROUP:
			o->cgroup = optarg;
			break;
		case C_PRIO:
		case C_HANDLE:
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || *end || !v ||
			    v > (c == C_PRIO ? 0xffffUL : 0xffffffffUL))
				return -EINVAL;
			if (c == C_PRIO)
				o->tc_priority = (__u16)v;
			else
				o->tc_handle = (__u32)v;
			break;
		case C_FORCE:
			*force = true;
			break;
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

static int cmd_cleanup(struct ctl *ctl, int argc, char **argv)
{
	struct cleanup_opts o = { .bpffs = DEFAULT_PIN_DIR,
				  .state_file = DEFAULT_STATE_FILE,
				  .tc_priority = DEFAULT_TC_PRIORITY,
				  .tc_handle = DEFAULT_TC_HANDLE };
	struct cleanup_report r;
	bool force = false;
	int err;

	if (parse_cleanup_args(argc, argv, &o, &force)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!force && daemon_serving(ctl->socket_path)) {
		fprintf(stderr,
			"redirectctl: redirectd serves %s; stop it "
			"first (or --force)\n",
			ctl->socket_path);
		return 5;
	}
	err = cleanup_run(&o, &r);
	printf("cleanup: %u filters, %u qdiscs, %u pins, %u cgroup links, "
	       "%u ztunnel routing tables removed; %u unknown files kept, "
	       "%u errors\n",
	       r.filters, r.qdiscs, r.pins, r.links, r.routing, r.unknown,
	       r.errors);
	return err ? 5 : 0;
}

/* "pod add UID ...", "ztunnel del UID" */
static int cmd_object(struct ctl *ctl, bool pod, int argc, char **argv)
{
	if (argc < 3) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "add"))
		return pod ? cmd_pod_add(ctl, argv[2], argc - 2, argv + 2) :
			     cmd_ztunnel_add(ctl, argv[2], argc - 2, argv + 2);
	if (!strcmp(argv[1], "del") || !strcmp(argv[1], "delete"))
		return argc == 3 ? cmd_del(ctl, pod, argv[2]) : EXIT_USAGE;
	usage(stderr);
	return EXIT_USAGE;
}

static int dispatch(struct ctl *ctl, int argc, char **argv)
{
	const char *cmd = argv[0];

	if (!strcmp(cmd, "status") && argc == 1)
		return cmd_status(ctl);
	if (!strcmp(cmd, "pods") && argc == 1)
		return cmd_pods(ctl);
	if (!strcmp(cmd, "stats") && argc == 1)
		return cmd_stats(ctl);
	if (!strcmp(cmd, "pod"))
		return cmd_object(ctl, true, argc, argv);
	if (!strcmp(cmd, "ztunnel"))
		return cmd_object(ctl, false, argc, argv);
	if (!strcmp(cmd, "snapshot"))
		return cmd_snapshot(ctl, argc, argv);
	if (!strcmp(cmd, "cleanup"))
		return cmd_cleanup(ctl, argc, argv);
	if (!strcmp(cmd, "log-level") && argc == 2)
		return cmd_log_level(ctl, argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct ctl ctl = { .socket_path = DEFAULT_SOCKET_PATH };
	int i;

	/* Global options come before the command. */
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json")) {
			ctl.json = true;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			ctl.socket_path = argv[++i];
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	return dispatch(&ctl, argc - i, argv + i);
}
