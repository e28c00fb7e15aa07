// SPDX-License-Identifier: GPL-2.0
/* redirectd's command line, from one table: options.h. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "defaults.h"
#include "log.h"
#include "options.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static int parse_u32(const char *s, unsigned long max, __u32 *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > max)
		return -EINVAL;
	*out = (__u32)v;
	return 0;
}

/* --- what each option sets: 0, or -EINVAL for a bad value --- */

static int set_socket(struct redirectd_opts *o, const char *v)
{
	o->daemon.socket_path = v;
	return 0;
}

static int set_bpffs(struct redirectd_opts *o, const char *v)
{
	o->daemon.bpffs = v;
	return 0;
}

static int set_state(struct redirectd_opts *o, const char *v)
{
	o->daemon.state_file = v;
	return 0;
}

static int set_cgroup(struct redirectd_opts *o, const char *v)
{
	o->daemon.cgroup = v;
	return 0;
}

static int set_no_sockmap(struct redirectd_opts *o, const char *v)
{
	o->daemon.no_sockmap = true;
	return 0;
}

static int set_sockmap_pods(struct redirectd_opts *o, const char *v)
{
	if (!strcmp(v, "auto"))
		o->daemon.sockmap_pods = SOCKMAP_PODS_AUTO;
	else if (!strcmp(v, "on"))
		o->daemon.sockmap_pods = SOCKMAP_PODS_ON;
	else if (!strcmp(v, "off"))
		o->daemon.sockmap_pods = SOCKMAP_PODS_OFF;
	else
		return -EINVAL;
	return 0;
}

static int set_tc_priority(struct redirectd_opts *o, const char *v)
{
	__u32 n;

	if (parse_u32(v, 0xffff, &n) || !n)
		return -EINVAL;
	o->daemon.tc_priority = (__u16)n;
	return 0;
}

static int set_tc_handle(struct redirectd_opts *o, const char *v)
{
	return parse_u32(v, 0xffffffff, &o->daemon.tc_handle) ||
			       !o->daemon.tc_handle ?
		       -EINVAL :
		       0;
}

static int set_pod_capacity(struct redirectd_opts *o, const char *v)
{
	return parse_u32(v, 1 << 24, &o->daemon.pod_capacity) ||
			       o->daemon.pod_capacity < 16 ?
		       -EINVAL :
		       0;
}

static int set_fail_open(struct redirectd_opts *o, const char *v)
{
	o->daemon.fail_open = true;
	return 0;
}

static int set_attach(struct redirectd_opts *o, const char *v)
{
	if (!strcmp(v, "auto"))
		o->daemon.attach = ATTACH_AUTO;
	else if (!strcmp(v, "tc"))
		o->daemon.attach = ATTACH_TC;
	else if (!strcmp(v, "tcx"))
		o->daemon.attach = ATTACH_TCX;
	else
		return -EINVAL;
	return 0;
}

static int set_no_guard(struct redirectd_opts *o, const char *v)
{
	o->daemon.no_guard = true;
	return 0;
}

static int set_node_addr(struct redirectd_opts *o, const char *v)
{
	struct daemon_opts *d = &o->daemon;

	if (d->n_node_addrs == MAX_EXTRA_NODE_ADDRS ||
	    addr_key_parse(v, &d->node_addrs[d->n_node_addrs]))
		return -EINVAL;
	d->n_node_addrs++;
	return 0;
}

static int set_allow_uid(struct redirectd_opts *o, const char *v)
{
	__u32 n;

	if (parse_u32(v, 0xfffffffe, &n))
		return -EINVAL;
	o->daemon.allow_uid = n;
	o->daemon.allow_uid_set = true;
	return 0;
}

static int set_allow_gid(struct redirectd_opts *o, const char *v)
{
	__u32 n;

	if (parse_u32(v, 0xfffffffe, &n))
		return -EINVAL;
	o->daemon.allow_gid = n;
	o->daemon.allow_gid_set = true;
	return 0;
}

static int set_allow_pod_writes(struct redirectd_opts *o, const char *v)
{
	o->daemon.allow_grants |= WIRE_ROLE_POD_WRITE;
	return 0;
}

static int set_allow_ztunnel_writes(struct redirectd_opts *o, const char *v)
{
	o->daemon.allow_grants |= WIRE_ROLE_ZTUNNEL_WRITE;
	return 0;
}

static int set_log_level(struct redirectd_opts *o, const char *v)
{
	int lvl = log_level_from_name(v);

	if (lvl < 0)
		return -EINVAL;
	log_set_level(lvl);
	return 0;
}

static int set_metrics(struct redirectd_opts *o, const char *v)
{
	o->metrics_addr = v;
	return 0;
}

static int set_probe(struct redirectd_opts *o, const char *v)
{
	o->probe_only = true;
	return 0;
}

/* --- the table --- */

struct option_def {
	const char *name;
	const char *arg; /* its value's name; NULL: a flag */
	int (*set)(struct redirectd_opts *o, const char *v);
	const char *help; /* lines after the first start with \n */
};

static const struct option_def table[] = {
	{ "socket", "PATH", set_socket,
	  "API socket (default " DEFAULT_SOCKET_PATH ")" },
	{ "bpffs", "DIR", set_bpffs,
	  "pin folder on bpffs (default " DEFAULT_PIN_DIR ")" },
	{ "state", "FILE", set_state,
	  "journal of what we own (default " DEFAULT_STATE_FILE ")" },
	{ "cgroup", "DIR", set_cgroup,
	  "cgroup v2 folder for sockmap acceleration" },
	{ "no-sockmap", NULL, set_no_sockmap,
	  "do not accelerate with sockmap" },
	{ "sockmap-pods", "WHEN", set_sockmap_pods,
	  "pods' connections too: auto (if the kernel\npasses the self-test), "
	  "on, off" },
	{ "tc-priority", "N", set_tc_priority,
	  "tc filter priority (default " STR(DEFAULT_TC_PRIORITY) ")" },
	{ "tc-handle", "N", set_tc_handle,
	  "tc filter handle (default " STR(DEFAULT_TC_HANDLE) ")" },
	{ "pod-capacity", "N", set_pod_capacity,
	  "pod addresses the map holds (default " STR(POD_ADDRS_DEFAULT) ")" },
	{ "fail-open", NULL, set_fail_open,
	  "pass meshed traffic when ztunnel is absent" },
	{ "attach", "MODE", set_attach,
	  "pods' and ztunnel's programs: auto (TCX on\ndevices that already "
	  "run TCX programs), tc, tcx" },
	{ "no-guard", NULL, set_no_guard,
	  "no inbound guard inside pods (pod_guard)" },
	{ "node-addr", "ADDR", set_node_addr,
	  "an extra node address (repeatable)" },
	{ "allow-uid", "N", set_allow_uid,
	  "serve this uid besides root: read-only" },
	{ "allow-gid", "N", set_allow_gid,
	  "serve this gid besides root: read-only" },
	{ "allow-pod-writes", NULL, set_allow_pod_writes,
	  "let that peer enrol and delete pods" },
	{ "allow-ztunnel-writes", NULL, set_allow_ztunnel_writes,
	  "let that peer add and delete ztunnels" },
	{ "log-level", "LEVEL", set_log_level,
	  "error, warn, info (default), debug" },
	{ "metrics", "ADDR", set_metrics,
	  "serve Prometheus metrics at HOST:PORT or\nunix:PATH (GET /metrics)" },
	{ "probe", NULL, set_probe,
	  "print the kernel features found, exit\n0 if redirectd can run "
	  "here, else 1" },
};

#define N_OPTS (sizeof(table) / sizeof(table[0]))
#define HELP_COLUMN 24

void options_usage(FILE *f)
{
	fprintf(f, "usage: redirectd [options]\n");
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct option_def *d = &table[i];
		int w = fprintf(f, "  --%s%s%s", d->name, d->arg ? " " : "",
				d->arg ? d->arg : "");

		fprintf(f, "%*s", w < HELP_COLUMN ? HELP_COLUMN - w : 2, "");
		for (const char *c = d->help; *c; c++)
			if (*c == '\n')
				fprintf(f, "\n%*s", HELP_COLUMN, "");
			else
				fputc(*c, f);
		fputc('\n', f);
	}
	fprintf(f, "  --help                this help\n");
}

static void set_defaults(struct redirectd_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->daemon.socket_path = DEFAULT_SOCKET_PATH;
	o->daemon.bpffs = DEFAULT_PIN_DIR;
	o->daemon.state_file = DEFAULT_STATE_FILE;
	o->daemon.tc_priority = DEFAULT_TC_PRIORITY;
	o->daemon.tc_handle = DEFAULT_TC_HANDLE;
}

int options_parse(int argc, char **argv, struct redirectd_opts *o)
{
	struct option longs[N_OPTS + 2] = { 0 };
	int c;

	set_defaults(o);
	for (size_t i = 0; i < N_OPTS; i++) {
		longs[i].name = table[i].name;
		longs[i].has_arg = table[i].arg ? required_argument :
						  no_argument;
		longs[i].val = 256 + (int)i;
	}
	longs[N_OPTS] = (struct option){ "help", no_argument, NULL, 'h' };
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		const struct option_def *d;

		if (c == 'h') {
			options_usage(stdout);
			return 1;
		}
		if (c < 256 || c >= 256 + (int)N_OPTS) {
			options_usage(stderr);
			return -EINVAL;
		}
		d = &table[c - 256];
		if (d->set(o, optarg)) {
			fprintf(stderr, "redirectd: bad value '%s' for --%s\n",
				optarg, d->name);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		options_usage(stderr);
		return -EINVAL;
	}
	return 0;
}
