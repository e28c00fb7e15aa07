// SPDX-License-Identifier: GPL-2.0
/*
 * redirectctl: the operator's view of redirectd. Its commands and their
 * options come from one table (commands[] below), which parses them and
 * prints the help; the global options (-j, --socket) go anywhere on the
 * line, before or after the command.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "cleanup.h"
#include "addr.h"
#include "client.h"
#include "ctl_doctor.h"
#include "ctl_output.h"
#include "defaults.h"
#include "wire.h"

#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 4
#define EXIT_OTHER 5

/* Every option a command may take; a command's table names its own. */
enum flag {
	F_NETNS,
	F_IP,
	F_NAME,
	F_NAMESPACE,
	F_IFNAME,
	F_HOST_VETH,
	F_DNS_CAPTURE,
	F_EXCL_CIDR,
	F_EXCL_OUT_PORT,
	F_EXCL_IN_PORT,
	F_BYPASS_INBOUND,
	F_CAPTURE_UDP,
	F_TO,
	F_FROM,
	F_IN,
	F_UDP,
	F_CNI_DIR,
	F_BPFFS,
	F_STATE,
	F_CGROUP,
	F_TC_PRIORITY,
	F_TC_HANDLE,
	F_FORCE,
	F_MAX
};

struct flag_def {
	enum flag id;
	const char *name;
	const char *arg; /* its value's name; NULL: a switch */
	const char *help;
};

static const struct flag_def flags[F_MAX] = {
	{ F_NETNS, "netns", "PATH", "the pod's network namespace" },
	{ F_IP, "ip", "ADDR", "an address of it (repeatable)" },
	{ F_NAME, "name", "N", "the pod's name" },
	{ F_NAMESPACE, "namespace", "NS", "the pod's namespace" },
	{ F_IFNAME, "ifname", "IF", "its interface (default eth0)" },
	{ F_HOST_VETH, "host-veth", "V",
	  "the veth's name in redirectd's netns" },
	{ F_DNS_CAPTURE, "dns-capture", NULL, "its DNS goes to ztunnel" },
	{ F_EXCL_CIDR, "exclude-outbound-cidr", "CIDR[,..]",
	  "destinations kept out of the mesh (repeatable)" },
	{ F_EXCL_OUT_PORT, "exclude-outbound-port", "PORT[,..]",
	  "destination ports kept out of the mesh (repeatable)" },
	{ F_EXCL_IN_PORT, "exclude-inbound-port", "PORT[,..]",
	  "its own ports that peers reach directly (repeatable)" },
	{ F_BYPASS_INBOUND, "bypass-inbound", NULL,
	  "no inbound capture at all" },
	{ F_CAPTURE_UDP, "capture-udp", NULL,
	  "all UDP to ztunnel, not only DNS" },
	{ F_TO, "to", "ADDR:PORT",
	  "destination ([ADDR]:PORT for IPv6; in: :PORT of the pod)" },
	{ F_FROM, "from", "ADDR:PORT",
	  "source (in: the peer; out: :PORT or ADDR:PORT of the pod)" },
	{ F_IN, "in", NULL, "a peer's flow into the pod (default: out)" },
	{ F_UDP, "udp", NULL, "UDP (default TCP)" },
	{ F_CNI_DIR, "cni-conf-dir", "DIR",
	  "the node's CNI configs (default /etc/cni/net.d)" },
	{ F_BPFFS, "bpffs", "DIR", "pin folder (default " DEFAULT_PIN_DIR ")" },
	{ F_STATE, "state", "FILE",
	  "journal (default " DEFAULT_STATE_FILE ")" },
	{ F_CGROUP, "cgroup", "DIR", "the cgroup sockmap was attached to" },
	{ F_TC_PRIORITY, "tc-priority", "N", "our filters' priority" },
	{ F_TC_HANDLE, "tc-handle", "N", "our filters' handle" },
	{ F_FORCE, "force", NULL, "even while a redirectd answers" },
};

/* One command line, parsed against its command's table. */
struct ctl {
	const char *socket_path;
	bool json;
	const char **pos; /* after the command's words: argc of them at most */
	size_t npos;
	const char *val[F_MAX]; /* each option's (last) value, or NULL */
	bool set[F_MAX];
	char *ips[WIRE_MAX_IPS]; /* --ip, in order */
	size_t nips;
	/* --exclude-*, every item of every comma list; the daemon checks */
	char *cidrs[EXCL_MAX_PER_POD + 1];
	size_t ncidrs;
	uint32_t out_ports[EXCL_MAX_PER_POD + 1],
		in_ports[EXCL_MAX_PER_POD + 1];
	size_t nout, nin;
	struct client c;
};

struct cmd_def {
	const char *words[2]; /* "pod", "add"; one word: words[1] NULL */
	const char *alias; /* another second word ("delete" for "del") */
	const char *args; /* positional arguments, for the help */
	size_t min_pos, max_pos;
	enum flag opts[16]; /* F_MAX-terminated */
	const char *help;
	int (*run)(struct ctl *ctl);
};

static const struct cmd_def commands[];
static const size_t n_commands;

/* --- help, from the tables --- */

static void print_cmd_usage(FILE *f, const struct cmd_def *cmd, bool full)
{
	fprintf(f, "  %s%s%s%s%s", cmd->words[0], cmd->words[1] ? " " : "",
		cmd->words[1] ? cmd->words[1] : "", cmd->args[0] ? " " : "",
		cmd->args);
	for (const enum flag *o = cmd->opts; *o != F_MAX; o++)
		fprintf(f, " [--%s%s%s]", flags[*o].name,
			flags[*o].arg ? " " : "",
			flags[*o].arg ? flags[*o].arg : "");
	fprintf(f, "\n      %s\n", cmd->help);
	for (const enum flag *o = cmd->opts; full && *o != F_MAX; o++)
		fprintf(f, "      --%-22s %s\n", flags[*o].name,
			flags[*o].help);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: redirectctl [--socket PATH] [-j] COMMAND [ARGS]\n"
		   "commands:\n");
	for (size_t i = 0; i < n_commands; i++)
		print_cmd_usage(f, &commands[i], false);
	fprintf(f,
		"-j, --json: JSON output; --socket PATH (default %s);\n"
		"both anywhere on the line. COMMAND --help: its options.\n",
		DEFAULT_SOCKET_PATH);
}

/* --- the command line --- */

static bool cmd_named(const struct cmd_def *cmd, const char *w0, const char *w1)
{
	if (strcmp(cmd->words[0], w0))
		return false;
	if (!cmd->words[1])
		return true;
	return w1 && (!strcmp(cmd->words[1], w1) ||
		      (cmd->alias && !strcmp(cmd->alias, w1)));
}

static const struct cmd_def *find_cmd(const char *w0, const char *w1)
{
	for (size_t i = 0; i < n_commands; i++)
		if (cmd_named(&commands[i], w0, w1))
			return &commands[i];
	return NULL;
}

static bool cmd_takes(const struct cmd_def *cmd, enum flag f)
{
	for (const enum flag *o = cmd->opts; *o != F_MAX; o++)
		if (*o == f)
			return true;
	return false;
}

/* --NAME or --NAME=VALUE of cmd's table; *inline_val: after the '='. */
static const struct flag_def *
find_flag(const struct cmd_def *cmd, const char *arg, const char **inline_val)
{
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);

	*inline_val = eq ? eq + 1 : NULL;
	for (int f = 0; f < F_MAX; f++)
		if (cmd && cmd_takes(cmd, (enum flag)f) &&
		    strlen(flags[f].name) == len &&
		    !strncmp(flags[f].name, arg, len))
			return &flags[f];
	return NULL;
}

/* "1,2" into ports; at most EXCL_MAX_PER_POD + 1, so the daemon says no. */
static int add_ports(const char *name, char *v, uint32_t *ports, size_t *n)
{
	for (char *save, *t = strtok_r(v, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long p = strtoul(t, &end, 10);

		if (*end || !*t || p > UINT32_MAX) {
			fprintf(stderr,
				"redirectctl: --%s: '%s' is not a port\n", name,
				t);
			return -EINVAL;
		}
		if (*n <= EXCL_MAX_PER_POD)
			ports[(*n)++] = (uint32_t)p;
	}
	return 0;
}

/* List options: comma lists, items kept as given (argv stays ours). */
static int set_list_flag(struct ctl *ctl, const struct flag_def *d, char *v)
{
	if (d->id == F_EXCL_OUT_PORT)
		return add_ports(d->name, v, ctl->out_ports, &ctl->nout);
	if (d->id == F_EXCL_IN_PORT)
		return add_ports(d->name, v, ctl->in_ports, &ctl->nin);
	for (char *save, *t = strtok_r(v, ",", &save); t;
	     t = strtok_r(NULL, ",", &save))
		if (ctl->ncidrs <= EXCL_MAX_PER_POD)
			ctl->cidrs[ctl->ncidrs++] = t;
	return 0;
}

static int set_flag(struct ctl *ctl, const struct flag_def *d, const char *v)
{
	if (d->id == F_EXCL_CIDR || d->id == F_EXCL_OUT_PORT ||
	    d->id == F_EXCL_IN_PORT) {
		int err = set_list_flag(ctl, d, (char *)v);

		if (err)
			return err;
	}
	if (d->id == F_IP) {
		if (ctl->nips == WIRE_MAX_IPS)
			return -E2BIG;
		ctl->ips[ctl->nips++] = (char *)v;
	}
	ctl->val[d->id] = v;
	ctl->set[d->id] = true;
	return 0;
}

/* A global option at argv[*i]: 1 taken, 0 not one, -EINVAL bad. */
static int global_opt(struct ctl *ctl, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
		ctl->json = true;
		return 1;
	}
	if (!strncmp(a, "--socket=", 9)) {
		ctl->socket_path = a + 9;
		return 1;
	}
	if (strcmp(a, "--socket"))
		return 0;
	if (*i + 1 == argc)
		return -EINVAL;
	ctl->socket_path = argv[++*i];
	return 1;
}

/* The command's words: the first one or two words that are not options. */
static const struct cmd_def *identify(int argc, char **argv)
{
	const char *w[2] = { NULL, NULL };
	int n = 0;

	for (int i = 1; i < argc && n < 2; i++) {
		if (!strcmp(argv[i], "--socket")) {
			i++;
			continue;
		}
		if (argv[i][0] != '-')
			w[n++] = argv[i];
	}
	return w[0] ? find_cmd(w[0], w[1]) : NULL;
}

/* One option of cmd at argv[*i]: 0, or -EINVAL with the reason said. */
static int command_opt(struct ctl *ctl, const struct cmd_def *cmd, int argc,
		       char **argv, int *i)
{
	const char *v, *a = argv[*i];
	const struct flag_def *d = a[1] == '-' ? find_flag(cmd, a + 2, &v) :
						 NULL;

	if (!d) {
		fprintf(stderr, "redirectctl: %s takes no option %s\n",
			cmd->words[0], a);
		return -EINVAL;
	}
	if (d->arg && !v) {
		if (*i + 1 == argc) {
			fprintf(stderr, "redirectctl: --%s needs %s\n", d->name,
				d->arg);
			return -EINVAL;
		}
		v = argv[++*i];
	}
	if (!d->arg && v) {
		fprintf(stderr, "redirectctl: --%s takes no value\n", d->name);
		return -EINVAL;
	}
	return set_flag(ctl, d, v ? v : "");
}

/* Everything after the program's name: 0, 1 (help printed), -EINVAL. */
static int parse(struct ctl *ctl, const struct cmd_def *cmd, int argc,
		 char **argv)
{
	size_t words = cmd->words[1] ? 2 : 1;

	for (int i = 1; i < argc; i++) {
		int g = global_opt(ctl, argc, argv, &i);

		if (g < 0)
			return g;
		if (g)
			continue;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			print_cmd_usage(stdout, cmd, true);
			return 1;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			if (command_opt(ctl, cmd, argc, argv, &i))
				return -EINVAL;
		} else if (words) {
			words--;
		} else {
			ctl->pos[ctl->npos++] = argv[i];
		}
	}
	if (ctl->npos < cmd->min_pos || ctl->npos > cmd->max_pos)
		return -EINVAL;
	return 0;
}

/* --- talking to redirectd --- */

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

/*
 * The outcome of one call: an exit code, the daemon's refusal said on
 * stderr. *reply stays set (for the caller to free) when it is 0.
 */
static int outcome(int err, Reply **reply)
{
	int code;

	if (err) {
		fprintf(stderr, "redirectctl: %s\n", strerror(-err));
		return EXIT_UNREACHABLE;
	}
	if (!(*reply)->code)
		return 0;
	fprintf(stderr, "redirectctl: %s: %s\n",
		wire_error_name((*reply)->code), (*reply)->message);
	code = wire_exit_code((*reply)->code);
	client_reply_free(*reply);
	*reply = NULL;
	return code;
}

/* What a change request answered: its message, or {"ok":true,...}. */
static void print_done(const struct ctl *ctl, const Reply *reply)
{
	if (ctl->json) {
		printf("{\"ok\":true");
		json_kv_str("message", reply->message, true);
		printf("}\n");
	} else if (reply->message[0]) {
		printf("%s\n", reply->message);
	}
}

/* Connect, one request (made by call), its outcome, print it. */
static int one_call(struct ctl *ctl,
		    int (*call)(struct ctl *ctl, Reply **reply),
		    void (*print)(const struct ctl *ctl, const Reply *reply))
{
	Reply *reply = NULL;
	int err = connect_daemon(ctl);

	if (err)
		return err;
	err = outcome(call(ctl, &reply), &reply);
	client_close(&ctl->c);
	if (err)
		return err;
	print(ctl, reply);
	client_reply_free(reply);
	return 0;
}

/* --- the commands --- */

static int call_status(struct ctl *ctl, Reply **reply)
{
	return client_status(&ctl->c, reply);
}

static void show_status(const struct ctl *ctl, const Reply *reply)
{
	if (reply->body_case == REPLY_BODY(STATUS))
		print_status(reply->status, ctl->json);
}

static int cmd_status(struct ctl *ctl)
{
	return one_call(ctl, call_status, show_status);
}

static int call_stats(struct ctl *ctl, Reply **reply)
{
	return client_stats(&ctl->c, reply);
}

static void show_stats(const struct ctl *ctl, const Reply *reply)
{
	if (reply->body_case == REPLY_BODY(STATS))
		print_stats(reply->stats, ctl->json);
}

static int cmd_stats(struct ctl *ctl)
{
	return one_call(ctl, call_stats, show_stats);
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
	do {
		err = outcome(client_list_page(&ctl->c, after, 0, &reply),
			      &reply);
		if (err || reply->body_case != REPLY_BODY(PODS)) {
			client_reply_free(reply);
			err = err ? err : EXIT_OTHER;
			break;
		}
		print_pod_page(reply->pods, ctl->json, &n);
		snprintf(after, sizeof(after), "%s", reply->pods->next_uid);
		if (!first)
			first = reply;
		else
			client_reply_free(reply);
	} while (after[0]);
	if (!err && first)
		print_ztunnels(first->pods, ctl->json);
	client_reply_free(first);
	client_close(&ctl->c);
	return err;
}

static char *or_empty(const char *s)
{
	return (char *)(s ? s : "");
}

static int call_pod_add(struct ctl *ctl, Reply **reply)
{
	PodAdd b = AMBIENT_REDIRECT__V1__POD_ADD__INIT;

	b.uid = (char *)ctl->pos[0];
	b.netns_path = or_empty(ctl->val[F_NETNS]);
	b.name = or_empty(ctl->val[F_NAME]);
	b.namespace_ = or_empty(ctl->val[F_NAMESPACE]);
	b.interface = or_empty(ctl->val[F_IFNAME]);
	b.host_veth = or_empty(ctl->val[F_HOST_VETH]);
	b.ips = ctl->ips;
	b.n_ips = ctl->nips;
	b.dns_capture = ctl->set[F_DNS_CAPTURE];
	b.exclude_outbound_cidrs = ctl->cidrs;
	b.n_exclude_outbound_cidrs = ctl->ncidrs;
	b.exclude_outbound_ports = ctl->out_ports;
	b.n_exclude_outbound_ports = ctl->nout;
	b.exclude_inbound_ports = ctl->in_ports;
	b.n_exclude_inbound_ports = ctl->nin;
	b.bypass_inbound = ctl->set[F_BYPASS_INBOUND];
	return client_pod_add(&ctl->c, &b, -1, reply);
}

static int cmd_pod_add(struct ctl *ctl)
{
	if (!ctl->set[F_NETNS] || !ctl->nips) {
		fprintf(stderr, "redirectctl: pod add needs UID, --netns and "
				"at least one --ip\n");
		return EXIT_USAGE;
	}
	return one_call(ctl, call_pod_add, print_done);
}

/* The pod's end of an explained flow: ":PORT" or "ADDR:PORT". */
static int pod_end(const char *v, char *addr, size_t len, uint32_t *port)
{
	struct addr_key k;
	__u16 p;
	char *end;
	unsigned long n;

	addr[0] = '\0';
	if (v[0] == ':') {
		n = strtoul(v + 1, &end, 10);
		if (!v[1] || *end || n < 1 || n > 65535)
			return -EINVAL;
		*port = (uint32_t)n;
		return 0;
	}
	if (addr_port_parse(v, &k, &p))
		return -EINVAL;
	addr_key_format(&k, addr, len);
	*port = p;
	return 0;
}

static int call_explain(struct ctl *ctl, Reply **reply)
{
	ExplainRequest b = AMBIENT_REDIRECT__V1__EXPLAIN_REQUEST__INIT;
	bool in = ctl->set[F_IN];
	const char *peer = in ? ctl->val[F_FROM] : ctl->val[F_TO];
	const char *mine = in ? ctl->val[F_TO] : ctl->val[F_FROM];
	char addr[ADDR_KEY_STRLEN];

	b.uid = (char *)ctl->pos[0];
	b.inbound = in;
	b.udp = ctl->set[F_UDP];
	b.peer = (char *)peer;
	b.pod_addr = addr;
	addr[0] = '\0';
	if (mine && pod_end(mine, addr, sizeof(addr), &b.pod_port)) {
		fprintf(stderr,
			"redirectctl: --%s %s: not :PORT or ADDR:PORT\n",
			in ? "to" : "from", mine);
		return -EINVAL;
	}
	return client_explain(&ctl->c, &b, reply);
}

static void show_explain(const struct ctl *ctl, const Reply *reply)
{
	if (reply->body_case == REPLY_BODY(EXPLAIN))
		print_explain(reply->explain, ctl->json);
}

static int cmd_explain(struct ctl *ctl)
{
	bool in = ctl->set[F_IN];

	if (!ctl->set[F_TO] || (in && !ctl->set[F_FROM])) {
		fprintf(stderr, "redirectctl: explain needs UID and --to "
				"ADDR:PORT (out), or --in, --from ADDR:PORT "
				"and --to :PORT\n");
		return EXIT_USAGE;
	}
	return one_call(ctl, call_explain, show_explain);
}

/*
 * The node's files, then redirectd's findings (unreachable: a finding
 * too); exit code by the worst.
 */
static int cmd_doctor(struct ctl *ctl)
{
	struct findings fs = { 0 };
	char msg[WIRE_MSG_LEN] = "";
	Reply *reply = NULL;
	int code, err;

	doctor_local(&fs,
		     ctl->set[F_CNI_DIR] ? ctl->val[F_CNI_DIR] :
					   "/etc/cni/net.d",
		     ctl->socket_path);
	err = client_connect(&ctl->c, ctl->socket_path, "redirectctl", msg,
			     sizeof(msg));
	if (err < 0)
		findings_add(&fs, "fail", "redirectd", ctl->socket_path,
			     "start redirectd (systemctl start redirectd, "
			     "or its DaemonSet)",
			     "not reachable (%s): nothing is enrolled or kept "
			     "up to date",
			     strerror(-err));
	else if (err > 0)
		findings_add(&fs, "fail", "redirectd", ctl->socket_path,
			     "ask as root, or as a user redirectd allows",
			     "refused us: %s", msg);
	else if ((err = client_doctor(&ctl->c, &reply)) || reply->code ||
		 reply->body_case != REPLY_BODY(DOCTOR))
		findings_add(&fs, "fail", "redirectd", ctl->socket_path,
			     "see redirectd's log", "no findings: %s",
			     err ? strerror(-err) : reply->message);
	else
		for (size_t i = 0; i < reply->doctor->n_findings; i++) {
			Finding *f = reply->doctor->findings[i];

			findings_add(&fs, f->level, f->check, f->subject,
				     f->fix, "%s", f->detail);
		}
	client_reply_free(reply);
	client_close(&ctl->c);
	doctor_print(fs.v, fs.n, ctl->json);
	code = doctor_exit_code(fs.v, fs.n);
	findings_free(fs.v, fs.n);
	return code;
}

static int call_ztunnel_add(struct ctl *ctl, Reply **reply)
{
	ZtunnelAdd b = AMBIENT_REDIRECT__V1__ZTUNNEL_ADD__INIT;

	b.uid = (char *)ctl->pos[0];
	b.netns_path = or_empty(ctl->val[F_NETNS]);
	b.interface = or_empty(ctl->val[F_IFNAME]);
	b.ips = ctl->ips;
	b.n_ips = ctl->nips;
	b.capture_udp = ctl->set[F_CAPTURE_UDP];
	return client_ztunnel_add(&ctl->c, &b, -1, reply);
}

static int cmd_ztunnel_add(struct ctl *ctl)
{
	if (!ctl->set[F_NETNS]) {
		fprintf(stderr, "redirectctl: ztunnel add needs UID and "
				"--netns\n");
		return EXIT_USAGE;
	}
	return one_call(ctl, call_ztunnel_add, print_done);
}

static int call_pod_del(struct ctl *ctl, Reply **reply)
{
	return client_pod_delete(&ctl->c, ctl->pos[0], NULL, NULL, reply);
}

static int cmd_pod_del(struct ctl *ctl)
{
	return one_call(ctl, call_pod_del, print_done);
}

static int call_ztunnel_del(struct ctl *ctl, Reply **reply)
{
	return client_ztunnel_delete(&ctl->c, ctl->pos[0], reply);
}

static int cmd_ztunnel_del(struct ctl *ctl)
{
	return one_call(ctl, call_ztunnel_del, print_done);
}

static int call_log_level(struct ctl *ctl, Reply **reply)
{
	return client_set_log_level(&ctl->c, ctl->pos[0], reply);
}

static int cmd_log_level(struct ctl *ctl)
{
	return one_call(ctl, call_log_level, print_done);
}

/* A uid that is not enrolled is said and skipped; else the exit code. */
static int keep_one(struct ctl *ctl, const char *uid)
{
	Reply *reply = NULL;
	int err = client_pod_keep(&ctl->c, uid, &reply);

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

/* The snapshot exchange on one connection: PodKeep each, SnapshotDone. */
static int cmd_snapshot(struct ctl *ctl)
{
	Reply *reply = NULL;
	int err = connect_daemon(ctl);

	for (size_t i = 0; i < ctl->npos && !err; i++)
		err = keep_one(ctl, ctl->pos[i]);
	if (!err)
		err = outcome(client_snapshot_done(&ctl->c, &reply), &reply);
	client_close(&ctl->c);
	if (!err)
		print_done(ctl, reply);
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

static int number(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	return errno || *end || !*out || *out > max ? -EINVAL : 0;
}

static int cleanup_opts_of(const struct ctl *ctl, struct cleanup_opts *o)
{
	unsigned long v;

	o->bpffs = ctl->set[F_BPFFS] ? ctl->val[F_BPFFS] : DEFAULT_PIN_DIR;
	o->state_file = ctl->set[F_STATE] ? ctl->val[F_STATE] :
					    DEFAULT_STATE_FILE;
	o->cgroup = ctl->val[F_CGROUP];
	o->tc_priority = DEFAULT_TC_PRIORITY;
	o->tc_handle = DEFAULT_TC_HANDLE;
	if (ctl->set[F_TC_PRIORITY]) {
		if (number(ctl->val[F_TC_PRIORITY], 0xffff, &v))
			return -EINVAL;
		o->tc_priority = (__u16)v;
	}
	if (ctl->set[F_TC_HANDLE]) {
		if (number(ctl->val[F_TC_HANDLE], 0xffffffff, &v))
			return -EINVAL;
		o->tc_handle = (__u32)v;
	}
	return 0;
}

static int cmd_cleanup(struct ctl *ctl)
{
	struct cleanup_opts o = { 0 };
	struct cleanup_report r;
	int err;

	if (cleanup_opts_of(ctl, &o)) {
		fprintf(stderr, "redirectctl: cleanup: bad --tc-priority or "
				"--tc-handle\n");
		return EXIT_USAGE;
	}
	if (!ctl->set[F_FORCE] && daemon_serving(ctl->socket_path)) {
		fprintf(stderr,
			"redirectctl: redirectd serves %s; stop it "
			"first (or --force)\n",
			ctl->socket_path);
		return EXIT_OTHER;
	}
	err = cleanup_run(&o, &r);
	printf("cleanup: %u filters, %u qdiscs, %u pins, %u cgroup links, "
	       "%u ztunnel routing tables removed; %u unknown files kept, "
	       "%u errors\n",
	       r.filters, r.qdiscs, r.pins, r.links, r.routing, r.unknown,
	       r.errors);
	return err ? EXIT_OTHER : 0;
}

static int cmd_help(struct ctl *ctl)
{
	usage(stdout);
	return 0;
}

#define POD_OPTS                                                           \
	{                                                                  \
		F_NETNS, F_IP, F_NAME, F_NAMESPACE, F_IFNAME, F_HOST_VETH, \
			F_DNS_CAPTURE, F_EXCL_CIDR, F_EXCL_OUT_PORT,       \
			F_EXCL_IN_PORT, F_BYPASS_INBOUND, F_MAX            \
	}
#define CLEANUP_OPTS                                                    \
	{                                                               \
		F_BPFFS, F_STATE, F_CGROUP, F_TC_PRIORITY, F_TC_HANDLE, \
			F_FORCE, F_MAX                                  \
	}

static const struct cmd_def commands[] = {
	{ { "status", NULL },
	  NULL,
	  "",
	  0,
	  0,
	  { F_MAX },
	  "daemon and datapath summary",
	  cmd_status },
	{ { "pods", NULL },
	  NULL,
	  "",
	  0,
	  0,
	  { F_MAX },
	  "enrolled pods and ztunnels",
	  cmd_pods },
	{ { "stats", NULL },
	  NULL,
	  "",
	  0,
	  0,
	  { F_MAX },
	  "per-program decision counters",
	  cmd_stats },
	{ { "pod", "add" },
	  NULL,
	  "UID",
	  1,
	  1,
	  POD_OPTS,
	  "enrol a pod (--netns and at least one --ip)",
	  cmd_pod_add },
	{ { "pod", "del" },
	  "delete",
	  "UID",
	  1,
	  1,
	  { F_MAX },
	  "remove a pod",
	  cmd_pod_del },
	{ { "explain", NULL },
	  NULL,
	  "UID",
	  1,
	  1,
	  { F_TO, F_FROM, F_IN, F_UDP, F_MAX },
	  "what the loaded datapath does with a flow of the pod",
	  cmd_explain },
	{ { "doctor", NULL },
	  NULL,
	  "",
	  0,
	  0,
	  { F_CNI_DIR, F_MAX },
	  "is this node set up right? exit 0 ok, 6 warn, 7 fail",
	  cmd_doctor },
	{ { "ztunnel", "add" },
	  NULL,
	  "UID",
	  1,
	  1,
	  { F_NETNS, F_IFNAME, F_IP, F_CAPTURE_UDP, F_MAX },
	  "add ztunnel (--netns); new meshed traffic goes to it",
	  cmd_ztunnel_add },
	{ { "ztunnel", "del" },
	  "delete",
	  "UID",
	  1,
	  1,
	  { F_MAX },
	  "remove a ztunnel",
	  cmd_ztunnel_del },
	{ { "log-level", NULL },
	  NULL,
	  "LEVEL",
	  1,
	  1,
	  { F_MAX },
	  "error, warn, info, debug",
	  cmd_log_level },
	{ { "snapshot", NULL },
	  NULL,
	  "[UID]...",
	  0,
	  SIZE_MAX, /* a node's every pod */
	  { F_MAX },
	  "keep these pods, remove every other enrolled pod",
	  cmd_snapshot },
	{ { "cleanup", NULL },
	  NULL,
	  "",
	  0,
	  0,
	  CLEANUP_OPTS,
	  "uninstall: our filters, pins and attachments (redirectd stopped)",
	  cmd_cleanup },
	{ { "help", NULL }, NULL, "", 0, 0, { F_MAX }, "this help", cmd_help },
};
static const size_t n_commands = sizeof(commands) / sizeof(commands[0]);

int main(int argc, char **argv)
{
	struct ctl ctl = { .socket_path = DEFAULT_SOCKET_PATH };
	const struct cmd_def *cmd = identify(argc, argv);
	int err;

	if (!cmd) {
		bool help = argc == 2 && (!strcmp(argv[1], "-h") ||
					  !strcmp(argv[1], "--help"));

		usage(help ? stdout : stderr);
		return help ? 0 : EXIT_USAGE;
	}
	ctl.pos = calloc((size_t)argc, sizeof(*ctl.pos));
	if (!ctl.pos)
		return EXIT_FAILURE;
	err = parse(&ctl, cmd, argc, argv);
	if (!err)
		err = cmd->run(&ctl);
	else if (err < 0) {
		print_cmd_usage(stderr, cmd, true);
		err = EXIT_USAGE;
	} else {
		err = 0; /* help printed */
	}
	free(ctl.pos);
	return err;
}
