/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel feature probe at redirectd start (and `redirectd --probe`).
 * Each probe loads a trivial program or creates a small map and throws it
 * away; nothing on the node is changed. clsact itself is not probed (that
 * would mean making a qdisc on some interface): a trivial SCHED_CLS
 * program is loaded instead, and a kernel without clsact says so at the
 * first attach, with the kernel's own message.
 */
#ifndef REDIRECT_PROBE_H
#define REDIRECT_PROBE_H

#include <stdbool.h>
#include <stddef.h>

enum probe_feature {
	PROBE_BTF, /* /sys/kernel/btf/vmlinux */
	PROBE_SCHED_CLS, /* BPF_PROG_TYPE_SCHED_CLS loads */
	PROBE_SK_ASSIGN, /* bpf_sk_assign from tc */
	PROBE_REDIRECT_PEER, /* bpf_redirect_peer from tc */
	PROBE_SOCKHASH, /* BPF_MAP_TYPE_SOCKHASH */
	PROBE_NETNS_COOKIE, /* bpf_get_netns_cookie from sock_ops */
	PROBE_MAX
};

struct probe_result {
	bool have[PROBE_MAX];
};

void probe_run(struct probe_result *r);
/* Without these redirectd cannot work: tc programs, sk_assign, redirect_peer. */
bool probe_required_ok(const struct probe_result *r);
const char *probe_name(enum probe_feature f);
/* What goes when the feature is missing ("cannot run", ...). */
const char *probe_consequence(enum probe_feature f);
/* "btf=yes sched_cls=yes ... " into buf. */
void probe_format(const struct probe_result *r, char *buf, size_t len);
/* One log line per feature. */
void probe_log(const struct probe_result *r);

#endif
