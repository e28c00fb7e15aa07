// SPDX-License-Identifier: GPL-2.0
/*
 * Control-plane timing: enrol and remove N fake pods, one at a time, and
 * time each. Pod i (1..N) has its own netns PREFIX<i> (under
 * /var/run/netns) holding eth0, whose peer cp<i> is in the node netns;
 * its addresses are 10.128.0.0/9 + i and fd00:cb::i, its MAC 02:cb:<i>.
 *
 *   ctlplane add|del --socket S --count N --netns-prefix P
 *       through redirectd: one connection, sequential PodAdd / PodDelete
 *       requests (ctl/lib/client.h, as redirectctl does)
 *   ctlplane tc-add|tc-del --count N --pins DIR --pref P --handle H
 *                         [--max-seconds S]
 *       the baseline, run in the node netns: what a naive agent shells out
 *       to per pod (see tc_add_cmds), each command started with
 *       posix_spawnp (no shell) and waited for
 *   ctlplane inpod-add|inpod-del --count N --netns-prefix P --cmd "CMD"...
 *                         [--max-seconds S]
 *       Istio's in-pod setup per pod: enter the pod's netns (setns, as
 *       istio-cni's agent does) and run each CMD there (split on blanks,
 *       spawned without a shell, waited for; e.g. "iptables-restore FILE"
 *       and "ip6tables-restore FILE6", or "nft -f FILE"), then come back
 *   ctlplane addrs --count N --netns-prefix P [--from K]
 *       set-up, not timed: put pod i's two addresses (K..N) on its eth0,
 *       as a CNI plugin leaves them (redirectd checks they are there);
 *       one process entering each netns, where a shell pays fork and exec
 *       of ip per pod (about 10 ms each on a small VM)
 *   ctlplane pin DIR [CAPACITY]
 *       load our programs and pin them (and their maps, the pods map with
 *       room for CAPACITY addresses) under DIR, for the baseline's
 *       `tc filter add ... bpf da pinned`
 *
 * --max-seconds: stop after the pod that crosses that much time (the
 * baseline's per-pod cost grows with the number of interfaces).
 *
 * Prints one JSON object: count (pods done), seconds, pods per second,
 * latency percentiles of one pod's requests (or commands) in microseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/wait.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <bpf/libbpf.h>
#include "addr.h"
#include "redirect.skel.h"
#include "client.h"
#include "datapath.h"
#include "log.h"
#include "wire.h"

extern char **environ;

struct opts {
	const char *socket_path;
	const char *netns_prefix;
	const char *pins;
	const char *pref, *handle; /* redirectd's tc slot, for the baseline */
	unsigned int count;
	double max_seconds; /* stop after the pod that crosses it; 0: never */
	unsigned int from; /* addrs: first pod */
	const char *cmds[4]; /* inpod: commands run in each pod's netns */
	unsigned int ncmds;
};

struct lat {
	double *us; /* per pod */
	double *tc_us; /* per pod, the tc commands' share (baseline) */
	unsigned int n;
	unsigned int errors;
	double seconds;
};

typedef int (*pod_fn)(struct client *c, const struct opts *o, unsigned int i,
		      double *tc_us);

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* --- the fake pods --- */

static void pod_ip4(unsigned int i, char *buf, size_t len)
{
	snprintf(buf, len, "10.%u.%u.%u", 128 + (i >> 16), (i >> 8) & 255,
		 i & 255);
}

static void pod_ip6(unsigned int i, char *buf, size_t len)
{
	snprintf(buf, len, "fd00:cb::%x", i);
}

static void pod_mac(unsigned int i, __u8 mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0xcb;
	mac[2] = (__u8)(i >> 24);
	mac[3] = (__u8)(i >> 16);
	mac[4] = (__u8)(i >> 8);
	mac[5] = (__u8)i;
}

/* --- through redirectd --- */

/* The reply of a typed call (ctl/lib/client.h): 0 only if it is OK. */
static int reply_ok(int err, Reply *reply)
{
	if (err)
		return err;
	if (reply->code) {
		fprintf(stderr, "ctlplane: %s: %s\n",
			wire_error_name(reply->code), reply->message);
		err = -EPROTO;
	}
	client_reply_free(reply);
	return err;
}

static int pod_add(struct client *c, const struct opts *o, unsigned int i,
		   double *tc_us)
{
	char uid[32], netns[256], ip4[20], ip6[48];
	char *ips[2] = { ip4, ip6 };
	PodAdd b = AMBIENT_REDIRECT__V1__POD_ADD__INIT;
	Reply *reply = NULL;
	int err;

	snprintf(uid, sizeof(uid), "bench-%u", i);
	snprintf(netns, sizeof(netns), "/var/run/netns/%s%u", o->netns_prefix,
		 i);
	pod_ip4(i, ip4, sizeof(ip4));
	pod_ip6(i, ip6, sizeof(ip6));
	b.uid = uid;
	b.name = uid;
	b.namespace_ = "bench";
	b.netns_path = netns;
	b.interface = "eth0";
	b.host_veth = "";
	b.ips = ips;
	b.n_ips = 2;
	err = client_pod_add(c, &b, -1, &reply);
	return reply_ok(err, reply);
}

static int pod_del(struct client *c, const struct opts *o, unsigned int i,
		   double *tc_us)
{
	char uid[32];
	Reply *reply = NULL;
	int err;

	snprintf(uid, sizeof(uid), "bench-%u", i);
	err = client_pod_delete(c, uid, NULL, NULL, &reply);
	return reply_ok(err, reply);
}

/* --- the baseline: commands per pod --- */

#define MAX_ARGS 24

/* Run one command, no shell; 0 when it exited 0. */
static int spawn_wait(char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ))
		return -errno;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -ECHILD;
}

/* "hex b0 b1 ..." words of a buffer, for bpftool key / value */
static int hex_words(char **argv, int at, char (*words)[4], const void *buf,
		     size_t len)
{
	const __u8 *b = buf;

	argv[at++] = "hex";
	for (size_t i = 0; i < len; i++) {
		snprintf(words[i], 4, "%02x", b[i]);
		argv[at++] = words[i];
	}
	return at;
}

/* bpftool map update|delete pinned DIR/pods key hex ... [value hex ...] */
static int map_cmd(const struct opts *o, bool add, const char *addr,
		   const struct pod_value *pi)
{
	char path[256], kw[16][4], vw[sizeof(*pi)][4];
	char *argv[64] = { "bpftool", "map", add ? "update" : "delete",
			   "pinned",  path,  "key" };
	struct addr_key k;
	int at = 6;

	snprintf(path, sizeof(path), "%s/pods", o->pins);
	addr_key_parse(addr, &k);
	at = hex_words(argv, at, kw, &k, sizeof(k));
	if (add) {
		argv[at++] = "value";
		at = hex_words(argv, at, vw, pi, sizeof(*pi));
	}
	argv[at] = NULL;
	return spawn_wait(argv);
}

static int tc_cmd(const char *const *words)
{
	char *argv[MAX_ARGS];
	int n = 0;

	while (words[n] && n < MAX_ARGS - 1) {
		argv[n] = (char *)words[n];
		n++;
	}
	argv[n] = NULL;
	return spawn_wait(argv);
}

/*
 * What a naive agent runs per pod, P and H being redirectd's filter slot
 * (the caller asks redirectd for it). The interface's index and the pod's
 * MAC come free, untimed: that only favours the baseline.
 *   tc qdisc add dev cp<i> clsact
 *   tc filter add dev cp<i> ingress pref P handle H bpf da \
 *       pinned DIR/app_outbound
 *   tc filter add dev cp<i> egress pref P handle H bpf da \
 *       pinned DIR/app_inbound
 *   bpftool map update pinned DIR/pods key hex <IPv4> value hex <info>
 *   bpftool map update pinned DIR/pods key hex <IPv6> value hex <info>
 */
static int tc_add(struct client *c, const struct opts *o, unsigned int i,
		  double *tc_us)
{
	char dev[IF_NAMESIZE], out[256], in[256], ip4[20], ip6[48];
	struct pod_value pi = { 0 };
	const char *qdisc[] = {
		"tc", "qdisc", "add", "dev", dev, "clsact", NULL
	};
	const char *f_in[] = { "tc",	 "filter",  "add",  "dev",
			       dev,	 "ingress", "pref", o->pref,
			       "handle", o->handle, "bpf",  "da",
			       "pinned", out,	    NULL };
	const char *f_eg[] = { "tc",	 "filter",  "add",  "dev",
			       dev,	 "egress",  "pref", o->pref,
			       "handle", o->handle, "bpf",  "da",
			       "pinned", in,	    NULL };

	snprintf(dev, sizeof(dev), "cp%u", i);
	snprintf(out, sizeof(out), "%s/app_outbound", o->pins);
	snprintf(in, sizeof(in), "%s/app_inbound", o->pins);
	pod_ip4(i, ip4, sizeof(ip4));
	pod_ip6(i, ip6, sizeof(ip6));
	double t0;
	int err;

	pi.host_ifindex = if_nametoindex(dev);
	pod_mac(i, pi.mac);
	if (!pi.host_ifindex)
		return -ENODEV;
	t0 = now_us();
	err = tc_cmd(qdisc) ?: tc_cmd(f_in) ?: tc_cmd(f_eg);
	*tc_us = now_us() - t0;
	return err ?: map_cmd(o, true, ip4, &pi) ?: map_cmd(o, true, ip6, &pi);
}

/* tc qdisc del dev cp<i> clsact (both filters go with it); map deletes */
static int tc_del(struct client *c, const struct opts *o, unsigned int i,
		  double *tc_us)
{
	char dev[IF_NAMESIZE], ip4[20], ip6[48];
	const char *qdisc[] = {
		"tc", "qdisc", "del", "dev", dev, "clsact", NULL
	};

	double t0 = now_us();
	int err;

	snprintf(dev, sizeof(dev), "cp%u", i);
	pod_ip4(i, ip4, sizeof(ip4));
	pod_ip6(i, ip6, sizeof(ip6));
	err = tc_cmd(qdisc);
	*tc_us = now_us() - t0;
	return err				    ?:
		       map_cmd(o, false, ip4, NULL) ?:
		       map_cmd(o, false, ip6, NULL);
}

/* --- the in-pod baseline: rules installed inside each pod's netns --- */

static int self_netns = -1;

/* One command of --cmd, split on blanks, run in the current netns. */
static int inpod_cmd(const char *cmd)
{
	char copy[512], *argv[MAX_ARGS], *save = NULL;
	int n = 0;

	snprintf(copy, sizeof(copy), "%s", cmd);
	for (char *w = strtok_r(copy, " ", &save); w && n < MAX_ARGS - 1;
	     w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	return n ? spawn_wait(argv) : -EINVAL;
}

/*
 * What istio-cni does for a pod in in-pod mode, the rule part: enter the
 * pod's netns and iptables-restore the rule set there (one per family).
 * Its policy rules and routes (done over netlink by the agent) are not
 * included: that only favours the baseline.
 */
static int inpod_run(struct client *c, const struct opts *o, unsigned int i,
		     double *tc_us)
{
	char path[256];
	double t0 = now_us();
	int fd, err = 0;

	snprintf(path, sizeof(path), "/var/run/netns/%s%u", o->netns_prefix, i);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		close(fd);
		return err;
	}
	for (unsigned int k = 0; k < o->ncmds && !err; k++)
		err = inpod_cmd(o->cmds[k]);
	if (setns(self_netns, CLONE_NEWNET)) {
		fprintf(stderr, "ctlplane: setns back: %s\n", strerror(errno));
		exit(1);
	}
	close(fd);
	*tc_us = now_us() - t0;
	return err;
}

/* --- pinning our programs for the baseline --- */

static int pin_progs(const char *dir, __u32 capacity)
{
	struct dp_opts dopts = { .sz = sizeof(dopts),
				 .pin_dir = dir,
				 .pod_addrs = capacity };
	struct datapath dp;
	char path[256];
	int err = dp_load(&dp, &dopts);

	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/app_outbound", dir);
	err = bpf_program__pin(dp.skel->progs.app_outbound, path);
	snprintf(path, sizeof(path), "%s/app_inbound", dir);
	if (!err)
		err = bpf_program__pin(dp.skel->progs.app_inbound, path);
	dp_close(&dp);
	return err;
}

/* --- timing and output --- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const double *v, unsigned int n, double p)
{
	return n ? v[(size_t)(p / 100.0 * (n - 1) + 0.5)] : 0;
}

static double sum(const double *v, unsigned int n)
{
	double t = 0;

	for (unsigned int i = 0; i < n; i++)
		t += v[i];
	return t;
}

/* {"per_s": .., "mean_us": .., "p50_us": .., ...} of one series */
static void print_series(double *v, unsigned int n)
{
	double total = sum(v, n);

	qsort(v, n, sizeof(*v), cmp_double);
	printf("\"per_s\": %.1f, \"mean_us\": %.1f, \"p50_us\": %.1f, "
	       "\"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f",
	       total > 0 ? n / (total / 1e6) : 0, n ? total / n : 0,
	       pct(v, n, 50), pct(v, n, 90), pct(v, n, 99), pct(v, n, 100));
}

static void report(const char *op, struct lat *l, bool baseline)
{
	printf("{\"op\": \"%s\", \"count\": %u, \"errors\": %u, "
	       "\"seconds\": %.3f, ",
	       op, l->n, l->errors, l->seconds);
	print_series(l->us, l->n);
	if (baseline) {
		printf(", \"tc_only\": {");
		print_series(l->tc_us, l->n);
		printf("}");
	}
	printf("}\n");
}

/*
 * Time fn for pods 1..count, or as many as fit in max_seconds; the first
 * failure stops the run.
 */
static int time_each(const struct opts *o, struct client *c, pod_fn fn,
		     struct lat *l)
{
	double t0 = now_us();

	l->us = calloc(o->count, sizeof(*l->us));
	l->tc_us = calloc(o->count, sizeof(*l->tc_us));
	if (!l->us || !l->tc_us)
		return -ENOMEM;
	for (unsigned int i = 1; i <= o->count; i++) {
		double t = now_us();
		int err = fn(c, o, i, &l->tc_us[l->n]);

		l->us[l->n++] = now_us() - t;
		if (err) {
			l->errors++;
			fprintf(stderr, "ctlplane: pod %u: %s\n", i,
				strerror(-err));
			break;
		}
		if (o->max_seconds > 0 && now_us() - t0 > o->max_seconds * 1e6)
			break;
	}
	l->seconds = (now_us() - t0) / 1e6;
	return l->errors ? -EIO : 0;
}

static int run(const char *op, const struct opts *o)
{
	struct client c = { .fd = -1 };
	struct lat l = { 0 };
	char msg[WIRE_MSG_LEN] = "";
	bool daemon_op = !strcmp(op, "add") || !strcmp(op, "del");
	bool inpod = !strncmp(op, "inpod-", 6);
	int err;

	if (daemon_op) {
		err = client_connect(&c, o->socket_path, "ctlplane-bench", msg,
				     sizeof(msg));
		if (err) {
			fprintf(stderr, "ctlplane: connect %s: %s %s\n",
				o->socket_path, err < 0 ? strerror(-err) : "",
				msg);
			return 1;
		}
	}
	if (!strcmp(op, "add"))
		err = time_each(o, &c, pod_add, &l);
	else if (!strcmp(op, "del"))
		err = time_each(o, &c, pod_del, &l);
	else if (!strcmp(op, "tc-add"))
		err = time_each(o, &c, tc_add, &l);
	else if (inpod)
		err = time_each(o, &c, inpod_run, &l);
	else
		err = time_each(o, &c, tc_del, &l);
	client_close(&c);
	report(op, &l, !daemon_op && !inpod);
	free(l.us);
	free(l.tc_us);
	return err ? 1 : 0;
}

/* ip addr add ADDR/PLEN dev IFINDEX [nodad], on an rtnetlink socket */
static int addr_add(struct mnl_socket *nl, int family, const char *text,
		    int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	unsigned char a[16];
	int n;

	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (unsigned char)family;
	ifa->ifa_prefixlen = family == AF_INET ? 32 : 128;
	ifa->ifa_index = (unsigned int)ifindex;
	ifa->ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	if (inet_pton(family, text, a) != 1)
		return -EINVAL;
	mnl_attr_put(nlh, IFA_LOCAL, family == AF_INET ? 4 : 16, a);
	mnl_attr_put(nlh, IFA_ADDRESS, family == AF_INET ? 4 : 16, a);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)n, 0, 0, NULL, NULL) < 0 ? -errno : 0;
}

static int pod_addrs_in(int netns, unsigned int i)
{
	char ip4[20], ip6[48];
	struct mnl_socket *nl;
	int ifindex, err;

	if (setns(netns, CLONE_NEWNET))
		return -errno;
	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID))
		return -errno;
	ifindex = (int)if_nametoindex("eth0");
	pod_ip4(i, ip4, sizeof(ip4));
	pod_ip6(i, ip6, sizeof(ip6));
	err = !ifindex ? -ENODEV : addr_add(nl, AF_INET, ip4, ifindex);
	if (!err)
		err = addr_add(nl, AF_INET6, ip6, ifindex);
	mnl_socket_close(nl);
	return err;
}

static int cmd_addrs(const struct opts *o)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), err = 0;
	char path[256];

	for (unsigned int i = o->from ? o->from : 1; i <= o->count && !err;
	     i++) {
		int fd;

		snprintf(path, sizeof(path), "/var/run/netns/%s%u",
			 o->netns_prefix, i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		err = fd < 0 ? -errno : pod_addrs_in(fd, i);
		if (fd >= 0)
			close(fd);
		if (err)
			fprintf(stderr, "ctlplane: addresses of %s: %s\n", path,
				strerror(-err));
	}
	if (self >= 0 && setns(self, CLONE_NEWNET))
		err = err ?: -errno;
	if (self >= 0)
		close(self);
	return err ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ctlplane add|del --socket S --count N "
		"--netns-prefix P\n"
		"       ctlplane tc-add|tc-del --count N --pins DIR --pref P "
		"--handle H [--max-seconds S]\n"
		"       ctlplane inpod-add|inpod-del --count N --netns-prefix P "
		"--cmd CMD... [--max-seconds S]\n"
		"       ctlplane addrs --count N --netns-prefix P [--from K]\n"
		"       ctlplane pin DIR [POD_ADDRESS_CAPACITY]\n");
	exit(2);
}

static int cmd_pin(int argc, char **argv)
{
	__u32 capacity = 0;

	if (argc < 3 || argc > 4)
		usage();
	if (argc == 4)
		capacity = (__u32)strtoul(argv[3], NULL, 0);
	log_route_libbpf();
	return pin_progs(argv[2], capacity) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "netns-prefix", required_argument, NULL, 'p' },
		{ "pins", required_argument, NULL, 'd' },
		{ "pref", required_argument, NULL, 'P' },
		{ "handle", required_argument, NULL, 'H' },
		{ "max-seconds", required_argument, NULL, 'm' },
		{ "from", required_argument, NULL, 'f' },
		{ "cmd", required_argument, NULL, 'c' },
		{ 0 }
	};
	struct opts o = { .socket_path = DEFAULT_SOCKET_PATH };
	const char *op;
	int c;

	if (argc < 2)
		usage();
	op = argv[1];
	if (!strcmp(op, "pin"))
		return cmd_pin(argc, argv);
	while ((c = getopt_long(argc - 1, argv + 1, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o.socket_path = optarg;
			break;
		case 'n':
			o.count = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'p':
			o.netns_prefix = optarg;
			break;
		case 'd':
			o.pins = optarg;
			break;
		case 'P':
			o.pref = optarg;
			break;
		case 'H':
			o.handle = optarg;
			break;
		case 'm':
			o.max_seconds = strtod(optarg, NULL);
			break;
		case 'f':
			o.from = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'c':
			if (o.ncmds == sizeof(o.cmds) / sizeof(o.cmds[0]))
				usage();
			o.cmds[o.ncmds++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (!strcmp(op, "addrs"))
		return o.count && o.netns_prefix ? cmd_addrs(&o) : 2;
	if (!strncmp(op, "inpod-", 6)) {
		if (!o.count || !o.netns_prefix || !o.ncmds ||
		    (strcmp(op, "inpod-add") && strcmp(op, "inpod-del")))
			usage();
		self_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self_netns < 0)
			return 1;
		return run(op, &o);
	}
	if (!o.count || (strcmp(op, "add") && strcmp(op, "del") &&
			 strcmp(op, "tc-add") && strcmp(op, "tc-del")))
		usage();
	if ((!strncmp(op, "tc-", 3) && (!o.pins || !o.pref || !o.handle)) ||
	    (strncmp(op, "tc-", 3) && !o.netns_prefix && !strcmp(op, "add")))
		usage();
	return run(op, &o);
}
