// SPDX-License-Identifier: GPL-2.0
/* Kernel feature probe: see probe.h. */
#include <stdio.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "probe.h"

static const char *const names[PROBE_MAX] = {
	[PROBE_BTF] = "btf",
	[PROBE_SCHED_CLS] = "sched_cls",
	[PROBE_SK_ASSIGN] = "sk_assign",
	[PROBE_REDIRECT_PEER] = "redirect_peer",
	[PROBE_SOCKHASH] = "sockhash",
	[PROBE_NETNS_COOKIE] = "netns_cookie",
};

static const char *const consequences[PROBE_MAX] = {
	[PROBE_BTF] = "cannot run (CO-RE programs need the kernel's BTF)",
	[PROBE_SCHED_CLS] = "cannot run (no tc BPF programs)",
	[PROBE_SK_ASSIGN] = "cannot run (no delivery to ztunnel's sockets)",
	[PROBE_REDIRECT_PEER] = "cannot run (no redirect into pods' netns)",
	[PROBE_SOCKHASH] = "sockmap acceleration off",
	[PROBE_NETNS_COOKIE] = "sockmap acceleration off",
};

static bool helper(enum bpf_prog_type type, enum bpf_func_id id)
{
	return libbpf_probe_bpf_helper(type, id, NULL) == 1;
}

void probe_run(struct probe_result *r)
{
	r->have[PROBE_BTF] = !access("/sys/kernel/btf/vmlinux", R_OK);
	r->have[PROBE_SCHED_CLS] =
		libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL) == 1;
	r->have[PROBE_SK_ASSIGN] =
		helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_sk_assign);
	r->have[PROBE_REDIRECT_PEER] =
		helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_peer);
	r->have[PROBE_SOCKHASH] =
		libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SOCKHASH, NULL) == 1;
	r->have[PROBE_NETNS_COOKIE] =
		helper(BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_get_netns_cookie);
}

bool probe_required_ok(const struct probe_result *r)
{
	return r->have[PROBE_BTF] && r->have[PROBE_SCHED_CLS] &&
	       r->have[PROBE_SK_ASSIGN] && r->have[PROBE_REDIRECT_PEER];
}

const char *probe_name(enum probe_feature f)
{
	return f < PROBE_MAX ? names[f] : "?";
}

const char *probe_consequence(enum probe_feature f)
{
	return f < PROBE_MAX ? consequences[f] : "?";
}

void probe_format(const struct probe_result *r, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int f = 0; f < PROBE_MAX && off < len; f++) {
		int n = snprintf(buf + off, len - off, "%s%s=%s", f ? " " : "",
				 names[f], r->have[f] ? "yes" : "no");

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

void probe_log(const struct probe_result *r)
{
	for (int f = 0; f < PROBE_MAX; f++) {
		if (r->have[f])
			pr_info("feature %s: present", names[f]);
		else
			pr_warn("feature %s: MISSING: %s", names[f],
				consequences[f]);
	}
}
