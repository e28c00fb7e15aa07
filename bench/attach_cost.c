// SPDX-License-Identifier: GPL-2.0
/*
 * What attaching one pod's two programs costs the kernel, per veth, for
 * the two ways a tc program can hang on a veth:
 *
 *   tc   clsact qdisc + cls_bpf filter on ingress and on egress, through
 *        the same netlink code redirectd uses (ctl/lib/tc.c)
 *   tcx  a BPF link per direction (BPF_TCX_INGRESS / BPF_TCX_EGRESS,
 *        kernel 6.6+), no qdisc
 *
 * and what detaching costs (deleting the clsact; closing the links). It
 * decides how redirectd attaches, so the numbers behind that decision are
 * reproducible: docs/performance.md.
 *
 * Runs in a private network namespace (unshare) holding N veth pairs, gone
 * when the program exits; the program is two raw instructions
 * (return TC_ACT_PIPE) loaded once.
 *
 *   attach_cost [--count N] [--json FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "log.h"
#include "nl.h"
#include "tc.h"

/* Not in Debian 12's headers (libbpf 1.1, linux-libc-dev 6.1). */
#define ATTACH_TCX_INGRESS 46
#define ATTACH_TCX_EGRESS 47
#define TC_PRIO 1
#define TC_HANDLE 1
#define PROG_NAME "attach_cost"

enum step { ST_CLSACT, ST_INGRESS, ST_EGRESS, ST_DETACH, ST_MAX };

struct way {
	const char *name;
	double us[ST_MAX]; /* sums over the veths */
	int failed_errno;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int pipe_prog(void)
{
	struct bpf_insn insns[] = {
		/* r0 = TC_ACT_PIPE; exit */
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 3 },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, PROG_NAME, "GPL", insns,
			     2, NULL);
}

/* N veth pairs ac<i>/ad<i> in this (private) netns, by one ip -batch. */
static int make_veths(unsigned int n)
{
	FILE *f = popen("ip -batch -", "w");

	if (!f)
		return -errno;
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, "link add ac%u type veth peer name ad%u\n", i, i);
	return pclose(f) == 0 ? 0 : -EIO;
}

static int ifindex_of(unsigned int i)
{
	char name[IF_NAMESIZE];

	snprintf(name, sizeof(name), "ac%u", i);
	return (int)if_nametoindex(name);
}

static double timed_step(double *sum, double t0)
{
	double t = now_us();

	*sum += t - t0;
	return t;
}

static int tc_attach(struct nl *nl, int prog, int ifindex, double *us)
{
	struct tc_slot s = { .ifindex = ifindex,
			     .dir = TC_DIR_INGRESS,
			     .prio = TC_PRIO,
			     .handle = TC_HANDLE };
	bool created;
	double t = now_us();
	int err = tc_clsact_ensure(nl, ifindex, &created);

	t = timed_step(&us[ST_CLSACT], t);
	if (!err)
		err = tc_filter_attach(nl, &s, prog, PROG_NAME);
	t = timed_step(&us[ST_INGRESS], t);
	s.dir = TC_DIR_EGRESS;
	if (!err)
		err = tc_filter_attach(nl, &s, prog, PROG_NAME);
	timed_step(&us[ST_EGRESS], t);
	return err;
}

static int tcx_attach(int prog, int ifindex, int *links, double *us)
{
	double t = now_us();

	links[0] = bpf_link_create(
		prog, ifindex, (enum bpf_attach_type)ATTACH_TCX_INGRESS, NULL);
	t = timed_step(&us[ST_INGRESS], t);
	if (links[0] < 0)
		return links[0];
	links[1] = bpf_link_create(
		prog, ifindex, (enum bpf_attach_type)ATTACH_TCX_EGRESS, NULL);
	timed_step(&us[ST_EGRESS], t);
	return links[1] < 0 ? links[1] : 0;
}

static int run_tc(struct nl *nl, int prog, unsigned int n, struct way *w)
{
	int err = 0;

	for (unsigned int i = 0; i < n && !err; i++)
		err = tc_attach(nl, prog, ifindex_of(i), w->us);
	for (unsigned int i = 0; i < n && !err; i++) {
		double t = now_us();

		err = tc_clsact_delete(nl, ifindex_of(i));
		timed_step(&w->us[ST_DETACH], t);
	}
	return err;
}

static int run_tcx(int prog, unsigned int n, struct way *w)
{
	int *links = calloc(2 * (size_t)n, sizeof(int));
	int err = links ? 0 : -ENOMEM;

	for (unsigned int i = 0; i < n && !err; i++)
		err = tcx_attach(prog, ifindex_of(i), &links[2 * i], w->us);
	for (unsigned int i = 0; i < n && !err; i++) {
		double t = now_us();

		close(links[2 * i]);
		close(links[2 * i + 1]);
		timed_step(&w->us[ST_DETACH], t);
	}
	free(links);
	return err;
}

static void print_way(FILE *f, const struct way *w, unsigned int n, bool last)
{
	double total = w->us[ST_CLSACT] + w->us[ST_INGRESS] + w->us[ST_EGRESS];

	fprintf(f, "    \"%s\": ", w->name);
	if (w->failed_errno) {
		fprintf(f, "{\"available\": false, \"error\": \"%s\"}%s\n",
			strerror(w->failed_errno), last ? "" : ",");
		return;
	}
	fprintf(f,
		"{\"available\": true, \"qdisc_us\": %.1f, "
		"\"ingress_us\": %.1f, \"egress_us\": %.1f, "
		"\"attach_us\": %.1f, \"detach_us\": %.1f}%s\n",
		w->us[ST_CLSACT] / n, w->us[ST_INGRESS] / n,
		w->us[ST_EGRESS] / n, total / n, w->us[ST_DETACH] / n,
		last ? "" : ",");
}

static void print_json(FILE *f, unsigned int n, const struct way *tc,
		       const struct way *tcx)
{
	struct utsname u;

	uname(&u);
	fprintf(f, "{\n  \"benchmark\": \"attach_cost\",\n");
	fprintf(f, "  \"kernel\": \"%s\",\n  \"veths\": %u,\n", u.release, n);
	fprintf(f, "  \"method\": \"per veth, means over the veths of one "
		   "private netns: tc = clsact + cls_bpf ingress + egress "
		   "through redirectd's netlink code, detach = clsact delete; "
		   "tcx = BPF_LINK_CREATE TCX ingress + egress, detach = "
		   "closing both links\",\n");
	fprintf(f, "  \"ways\": {\n");
	print_way(f, tc, n, false);
	print_way(f, tcx, n, true);
	fprintf(f, "  }\n}\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "json", required_argument, NULL, 'j' },
		{ 0 },
	};
	struct way tc = { .name = "tc" }, tcx = { .name = "tcx" };
	const char *json = NULL;
	unsigned int n = 200;
	struct nl *nl = NULL;
	int c, prog, err;
	FILE *out = stdout;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			n = (unsigned int)strtoul(optarg, NULL, 10);
		else if (c == 'j')
			json = optarg;
		else
			return 2;
	}
	if (!n || n > 100000) {
		fprintf(stderr, "attach_cost: --count 1..100000\n");
		return 2;
	}
	log_set_level(LOG_LVL_WARN);
	if (unshare(CLONE_NEWNET)) {
		perror("attach_cost: unshare(CLONE_NEWNET)");
		return 1;
	}
	prog = pipe_prog();
	err = prog < 0 ? prog : make_veths(n);
	if (!err)
		err = nl_open(&nl);
	if (err) {
		fprintf(stderr, "attach_cost: set-up: %s\n", strerror(-err));
		return 1;
	}
	err = run_tc(nl, prog, n, &tc);
	if (err) {
		fprintf(stderr, "attach_cost: tc: %s\n", strerror(-err));
		return 1;
	}
	/* Absent TCX (before 6.6) is a finding, not a failure. */
	err = run_tcx(prog, n, &tcx);
	if (err)
		tcx.failed_errno = -err;
	nl_close(nl);
	if (json && !(out = fopen(json, "w"))) {
		perror(json);
		return 1;
	}
	print_json(out, n, &tc, &tcx);
	return out != stdout && fclose(out) ? 1 : 0;
}
