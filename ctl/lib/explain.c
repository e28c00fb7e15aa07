// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "redirect.skel.h"
#include "explain.h"
#include "netns.h"

/* Packets per counter id of the explain instance, summed over CPUs. */
static int read_counts(int fd, __u64 *packets)
{
	int ncpu = libbpf_num_possible_cpus();
	struct counter_value *v;
	int err = 0;

	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (__u32 id = 0; id < CNT_MAX && !err; id++) {
		packets[id] = 0;
		if (bpf_map_lookup_elem(fd, &id, v))
			err = -errno;
		for (int c = 0; c < ncpu && !err; c++)
			packets[id] += v[c].packets;
	}
	free(v);
	return err;
}

/*
 * The decision's counter. A test run has no tc ingress, where alone
 * bpf_sk_assign works: ztunnel_ingress counts the socket it chose, then
 * drop_assign_failed. That pair is the choice, not a drop.
 */
static int moved_counter(const __u64 *before, const __u64 *after,
			 bool *assign_untried)
{
	int first = -1;

	*assign_untried = false;
	for (int id = 0; id < CNT_MAX; id++) {
		if (after[id] == before[id])
			continue;
		if (id == CNT_ZI_DROP_ASSIGN_FAILED && first >= 0)
			*assign_untried = true;
		else if (first < 0)
			first = id;
	}
	return first;
}

/* The test run itself, in whatever netns this thread is in. */
static int run_here(int fd, int ifindex, const char *ifname,
		    const struct pkt *in, __u32 mark, struct explain_result *r)
{
	struct __sk_buff ctx = { .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	if (!ifindex && !ifname)
		return -EINVAL;
	ctx.ifindex = (__u32)(ifindex ? ifindex : (int)if_nametoindex(ifname));
	if (!ctx.ifindex)
		return -ENODEV;
	opts.data_in = in->data;
	opts.data_size_in = (__u32)in->len;
	opts.data_out = r->out.data;
	opts.data_size_out = sizeof(r->out.data);
	opts.ctx_in = &ctx;
	opts.ctx_size_in = sizeof(ctx);
	opts.ctx_out = &ctx;
	opts.ctx_size_out = sizeof(ctx);
	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	r->verdict = (int)opts.retval;
	r->mark = ctx.mark;
	r->out.len = opts.data_size_out;
	r->out.l3 = in->l3;
	r->out.l4 = in->l4;
	return 0;
}

int explain_run(const struct datapath *dp, enum dp_prog prog, int netns_fd,
		int ifindex, const char *ifname, const struct pkt *in,
		__u32 mark, struct explain_result *r)
{
	int fd = dp_explain_fd(dp, prog), cfd = dp_explain_counters_fd(dp);
	__u64 before[CNT_MAX], after[CNT_MAX];
	int saved = -1, err;

	if (fd < 0 || cfd < 0)
		return -ENOENT;
	err = read_counts(cfd, before);
	if (!err && netns_fd >= 0)
		err = netns_enter(netns_fd, &saved);
	if (err)
		return err;
	err = run_here(fd, ifindex, ifname, in, mark, r);
	if (saved >= 0 && netns_leave(saved))
		abort(); /* on in a pod's netns, nothing would be right */
	if (!err)
		err = read_counts(cfd, after);
	r->counter = err ? -1 :
			   moved_counter(before, after, &r->assign_untried);
	if (r->assign_untried)
		r->verdict = TC_ACT_OK; /* what the assignment returns */
	return err;
}

const char *explain_verdict(int verdict)
{
	switch (verdict) {
	case TC_ACT_REDIRECT:
		return "redirect";
	case TC_ACT_SHOT:
		return "drop";
	case TC_ACT_OK:
		return "deliver"; /* ends classification: to the socket */
	default: /* TC_ACT_PIPE, TCX_NEXT */
		return "pass";
	}
}

/* Why each decision is taken; README's capture table says the same. */
static const char *const whys[CNT_MAX] = {
	[CNT_OUT_TO_ZTUNNEL] = "every TCP connection of a meshed pod goes to "
			       "ztunnel (a node address is no exemption)",
	[CNT_OUT_DNS_TO_ZTUNNEL] = "DNS of a pod with DNS capture goes to "
				   "ztunnel's DNS proxy",
	[CNT_OUT_PASS_NON_IP] = "not IP",
	[CNT_OUT_PASS_OTHER_PROTO] = "not TCP or UDP: nothing to proxy",
	[CNT_OUT_PASS_NODE_REPLY] = "a reply on a connection a node socket "
				    "opened into the pod (probes)",
	[CNT_OUT_PASS_UDP] = "UDP other than captured DNS: ztunnel serves "
			     "no other UDP",
	[CNT_OUT_PASS_DNS] = "DNS without DNS capture, beside an all-UDP "
			     "ztunnel",
	[CNT_OUT_PASS_EXCLUDED] = "an exclusion of the pod names this flow",
	[CNT_OUT_PASS_EXCLUDED_REPLY] = "an answer on a flow a peer opened "
					"to an excluded port of the pod",
	[CNT_OUT_PASS_FAIL_OPEN] = "no ztunnel, and the node fails open",
	[CNT_OUT_DROP_NO_ZTUNNEL] = "no ztunnel: a meshed pod fails closed",
	[CNT_OUT_DROP_SPOOFED] = "the source is not an address the pod was "
				 "enrolled with",
	[CNT_OUT_DROP_MALFORMED] = "malformed",
	[CNT_OUT_DROP_TAGGED] = "VLAN-tagged",
	[CNT_OUT_DROP_TUNNEL] = "a tunnel (IPIP, GRE) from a meshed pod",
	[CNT_IN_TO_ZTUNNEL] = "every TCP connection into a meshed pod goes "
			      "to ztunnel first",
	[CNT_IN_ZT_FLOW_TO_ZTUNNEL] = "a node socket's answer on one of "
				      "ztunnel's connections",
	[CNT_IN_PASS_NON_IP] = "not IP",
	[CNT_IN_PASS_OTHER_PROTO] = "not TCP or UDP: nothing to proxy",
	[CNT_IN_PASS_MULTICAST] = "multicast or broadcast: no one pod's",
	[CNT_IN_PASS_NODE_LOCAL] = "sent by a socket of the node (probes)",
	[CNT_IN_PASS_UDP] = "UDP: ztunnel serves none but DNS",
	[CNT_IN_PASS_DNS_REPLY] = "a DNS answer on a flow that passed out",
	[CNT_IN_PASS_EXCLUDED] = "the pod excludes this port from inbound "
				 "capture",
	[CNT_IN_PASS_EXCLUDED_REPLY] = "an answer on an excluded flow the "
				       "pod opened",
	[CNT_IN_PASS_FAIL_OPEN] = "no ztunnel, and the node fails open",
	[CNT_IN_DROP_NO_ZTUNNEL] = "no ztunnel: a meshed pod fails closed",
	[CNT_IN_DROP_MALFORMED] = "malformed",
	[CNT_IN_DROP_TAGGED] = "VLAN-tagged",
	[CNT_IN_DROP_NOT_ENROLLED] = "to an address the pod was not "
				     "enrolled with",
	[CNT_ZH_INBOUND_TO_ZTUNNEL] = "captured inbound: on into ztunnel",
	[CNT_ZH_TO_POD] = "from ztunnel to a meshed pod: straight in",
	[CNT_ZH_PASS_NOT_POD] = "not to a meshed pod",
	[CNT_ZH_DROP_NO_ZTUNNEL] = "no ztunnel",
	[CNT_GD_PASS_ZTUNNEL] = "delivered by ztunnel",
	[CNT_GD_PASS_NODE_LOCAL] = "sent by a socket of the node (probes)",
	[CNT_GD_PASS_NOT_CAPTURED] = "not captured inbound (UDP, ICMP, ...)",
	[CNT_GD_PASS_EXCLUDED] = "an exclusion of the pod names this flow",
	[CNT_GD_RETURN_TO_ZTUNNEL] = "reached the pod around app_inbound: "
				     "sent back out, to ztunnel",
	[CNT_GD_DROP_NO_ZTUNNEL] = "no ztunnel: a meshed pod fails closed",
	[CNT_GD_DROP_NOT_ENROLLED] = "to an address the pod was not "
				     "enrolled with",
	[CNT_ZI_ASSIGN_ESTABLISHED] = "the flow's own socket in ztunnel",
	[CNT_ZI_ASSIGN_OUTBOUND] = "a new outbound flow: ztunnel's outbound "
				   "listener",
	[CNT_ZI_ASSIGN_INBOUND] = "a new inbound flow: ztunnel's inbound "
				  "listener",
	[CNT_ZI_ASSIGN_HBONE] = "a new HBONE flow: ztunnel's HBONE listener",
	[CNT_ZI_ASSIGN_DNS] = "DNS: ztunnel's DNS proxy",
	[CNT_ZI_DROP_NO_LISTENER] = "ztunnel has no listener for it",
	[CNT_ZI_DROP_ASSIGN_FAILED] = "the kernel refused the socket",
	[CNT_ZI_PASS_UNTAGGED] = "not captured by us",
};

const char *explain_why(int counter)
{
	if (counter < 0 || counter >= CNT_MAX)
		return "no decision counted";
	return whys[counter] ? whys[counter] : "";
}

__u16 explain_listener_port(const struct datapath *dp, int counter)
{
	switch (counter) {
	case CNT_ZI_ASSIGN_OUTBOUND:
		return dp->skel->rodata->port_outbound;
	case CNT_ZI_ASSIGN_INBOUND:
		return dp->skel->rodata->port_inbound;
	case CNT_ZI_ASSIGN_HBONE:
		return dp->skel->rodata->port_hbone;
	case CNT_ZI_ASSIGN_DNS:
		return dp->skel->rodata->port_dns;
	default:
		return 0;
	}
}
