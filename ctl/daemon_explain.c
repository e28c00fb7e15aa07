// SPDX-License-Identifier: GPL-2.0
/*
 * Explain (docs/explain.md): the first packet of one of a pod's flows,
 * built, through each program it would meet, hook after hook, run on the
 * explain instance of the loaded programs (ctl/lib/explain.h): the live
 * maps decide, nothing of the node's counters or caches moves. Only the
 * order of the hooks is known here; every decision is the programs'.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include "addr.h"
#include "daemon_errors.h"
#include "daemon_explain.h"
#include "daemon_netns.h"
#include "explain.h"
#include "log.h"
#include "netns.h"

#define MAX_STEPS 3
#define TEXT_LEN 160

/* The reply and everything it points to, freed as one block. */
struct explain_block {
	ExplainReply x; /* first: daemon_reply_release frees the block */
	ExplainStep steps[MAX_STEPS], around;
	ExplainStep *ptrs[MAX_STEPS];
	char why[MAX_STEPS + 1][TEXT_LEN];
	char flow[TEXT_LEN], outcome[TEXT_LEN];
};

/* The flow as asked, from the pod's side. */
struct flow {
	struct addr_key pod, peer;
	__u16 pod_port, peer_port;
	bool inbound, udp;
};

/* The pod's address: the one asked for, or its first of the peer's family. */
static int flow_of(const struct enrolled_pod *pod, const struct call *k,
		   struct flow *f)
{
	const struct wire_request *r = k->req;
	const ExplainRequest *x = r->msg->explain;
	bool v4 = addr_key_is_v4(&r->peer);

	f->peer = r->peer;
	f->peer_port = r->peer_port;
	f->pod_port = x->pod_port ? (__u16)x->pod_port : 40000;
	f->inbound = x->inbound;
	f->udp = x->udp;
	if (r->has_pod_addr) {
		f->pod = r->pod_addr;
		return addr_key_in(&f->pod, pod->addrs, pod->naddrs) ? 0 :
								       -ENOENT;
	}
	for (size_t i = 0; i < pod->naddrs; i++)
		if (addr_key_is_v4(&pod->addrs[i]) == v4) {
			f->pod = pod->addrs[i];
			return 0;
		}
	return -ENOENT;
}

/* Its first packet (a SYN for TCP), and the flow in words. */
static int build_packet(const struct flow *f, struct pkt *p, char *text,
			size_t len)
{
	char pa[ADDR_KEY_STRLEN], qa[ADDR_KEY_STRLEN], src[64], dst[64];
	struct pkt_spec s = {
		.family = addr_key_is_v4(&f->pod) ? AF_INET : AF_INET6,
		.proto = f->udp ? IPPROTO_UDP : IPPROTO_TCP,
		.payload_len = 64,
	};

	addr_key_format(&f->pod, pa, sizeof(pa));
	addr_key_format(&f->peer, qa, sizeof(qa));
	s.saddr = f->inbound ? qa : pa;
	s.daddr = f->inbound ? pa : qa;
	s.sport = f->inbound ? f->peer_port : f->pod_port;
	s.dport = f->inbound ? f->pod_port : f->peer_port;
	addr_port_format(f->inbound ? &f->peer : &f->pod, s.sport, src,
			 sizeof(src));
	addr_port_format(f->inbound ? &f->pod : &f->peer, s.dport, dst,
			 sizeof(dst));
	snprintf(text, len, "%s %s -> %s", f->udp ? "udp" : "tcp", src, dst);
	return pkt_build(p, &s);
}

/* Which exclusion names the flow, read from the live maps. */
static void excluded_why(struct daemon *d, const struct enrolled_pod *pod,
			 const struct flow *f, char *why, size_t len)
{
	__u32 ifx = (__u32)pod->host_ifindex;
	char text[ADDR_KEY_STRLEN + 8];
	struct excl_cidr c;
	int plen;

	if (f->inbound) {
		if (pod->excl && pod->excl->bypass_inbound)
			snprintf(why, len, "the pod bypasses inbound capture");
		else
			snprintf(why, len,
				 "port %u of the pod is excluded from "
				 "inbound capture",
				 f->pod_port);
		return;
	}
	plen = dp_excl_cidr_match(&d->dp, ifx, &f->peer);
	if (plen >= 0) {
		excl_cidr_init(&c, &f->peer, (__u8)plen);
		snprintf(why, len, "destination in the excluded %s",
			 excl_cidr_format(&c, text, sizeof(text)));
	} else if (dp_excl_port_has(&d->dp, ifx, f->peer_port, EXCL_DIR_OUT)) {
		snprintf(why, len, "destination port %u is excluded",
			 f->peer_port);
	} else {
		snprintf(why, len, "%s", explain_why(CNT_OUT_PASS_EXCLUDED));
	}
}

static void fill_step(struct daemon *d, const struct enrolled_pod *pod,
		      const struct flow *f, enum dp_prog prog,
		      const struct explain_result *r, ExplainStep *s, char *why)
{
	__u16 port = explain_listener_port(&d->dp, r->counter);

	ambient_redirect__v1__explain_step__init(s);
	s->program = (char *)dp_prog_name(prog);
	s->decision = (char *)(r->counter < 0 ? "(none)" :
						counter_decision(r->counter));
	s->verdict = (char *)(r->assign_untried ? "assign" :
						  explain_verdict(r->verdict));
	if (f->udp && (r->counter == CNT_OUT_TO_ZTUNNEL ||
		       r->counter == CNT_IN_TO_ZTUNNEL))
		snprintf(why, TEXT_LEN,
			 "all UDP of meshed pods goes to ztunnel (a ztunnel "
			 "enrolled with --capture-udp)");
	else if (r->counter == CNT_OUT_PASS_EXCLUDED ||
		 r->counter == CNT_IN_PASS_EXCLUDED ||
		 r->counter == CNT_GD_PASS_EXCLUDED)
		excluded_why(d, pod, f, why, TEXT_LEN);
	else if (port)
		snprintf(why, TEXT_LEN, "%s (%u)%s", explain_why(r->counter),
			 port,
			 r->assign_untried ? "; the assignment itself is not "
					     "tried in a test run" :
					     "");
	else
		snprintf(why, TEXT_LEN, "%s", explain_why(r->counter));
	s->why = why;
}

/* Where a decision sends the packet next; DP_PROG_MAX: nowhere of ours. */
static enum dp_prog next_hop(int counter)
{
	switch (counter) {
	case CNT_OUT_TO_ZTUNNEL:
	case CNT_OUT_DNS_TO_ZTUNNEL:
	case CNT_ZH_INBOUND_TO_ZTUNNEL:
		return DP_ZTUNNEL_INGRESS; /* bpf_redirect_peer into it */
	case CNT_IN_TO_ZTUNNEL:
	case CNT_IN_ZT_FLOW_TO_ZTUNNEL:
		return DP_ZTUNNEL_HOST_IN; /* one hop through its host veth */
	default:
		return DP_PROG_MAX;
	}
}

/*
 * Where each program runs: its netns (-1: ours) and device (ifindex, or
 * by name inside that netns). ztunnel's own interface is found by name in
 * its netns: its ifindex is not journaled. *opened: a netns fd opened
 * here, for the caller to close.
 */
static int hook_of(const struct enrolled_pod *pod, const struct ztunnel *zt,
		   enum dp_prog prog, int *netns, int *ifindex,
		   const char **ifname, int *opened)
{
	*netns = -1;
	*ifindex = pod->host_ifindex;
	*ifname = NULL;
	if (prog == DP_ZTUNNEL_HOST_IN) {
		*ifindex = zt->host_ifindex;
	} else if (prog == DP_ZTUNNEL_INGRESS) {
		*netns = zt->netns_fd;
		if (*netns < 0 && zt->netns_path[0])
			*netns = *opened = netns_open(zt->netns_path);
		if (*netns < 0)
			return -ENOENT;
		*ifindex = 0;
		*ifname = zt->ifname;
	}
	return 0;
}

static void outcome_of(const struct explain_result *last, enum dp_prog prog,
		       const struct flow *f, char *buf, size_t len)
{
	if (last->verdict == TC_ACT_SHOT)
		snprintf(buf, len, "dropped by %s", dp_prog_name(prog));
	else if (prog == DP_ZTUNNEL_INGRESS && last->verdict == TC_ACT_OK)
		snprintf(buf, len, "through ztunnel (%s)",
			 counter_decision(last->counter));
	else if (last->verdict == TC_ACT_REDIRECT)
		snprintf(buf, len, "redirected by %s", dp_prog_name(prog));
	else
		snprintf(buf, len, "not through ztunnel: straight %s",
			 f->inbound ? "into the pod" : "to the destination");
}

/* The chain from the pod's hook on; fills b's steps. */
static ErrorCode run_chain(struct daemon *d, const struct enrolled_pod *pod,
			   const struct flow *f, struct pkt *p,
			   struct explain_block *b, struct call *k)
{
	const struct ztunnel *zt = state_ztunnel_current(&d->st);
	enum dp_prog prog = f->inbound ? DP_APP_INBOUND : DP_APP_OUTBOUND;
	struct explain_result r = { 0 };
	__u32 mark = 0;
	int netns, ifindex, err;

	while (prog != DP_PROG_MAX && b->x.n_steps < MAX_STEPS) {
		const char *ifname;
		int opened = -1;

		if (prog != DP_APP_INBOUND && prog != DP_APP_OUTBOUND && !zt)
			break;
		if (hook_of(pod, zt, prog, &netns, &ifindex, &ifname, &opened))
			return answer(k->msg, k->len, EC(NETNS),
				      "ztunnel's netns is not known (enrolled "
				      "by a netns fd before a restart): "
				      "re-send its ZtunnelAdd with a path");
		err = explain_run(&d->dp, prog, netns, ifindex, ifname, p, mark,
				  &r);
		if (opened >= 0)
			close(opened);
		if (err)
			return answer(k->msg, k->len, EC(KERNEL),
				      "test run of %s: %s", dp_prog_name(prog),
				      strerror(-err));
		fill_step(d, pod, f, prog, &r, &b->steps[b->x.n_steps],
			  b->why[b->x.n_steps]);
		b->x.n_steps++;
		outcome_of(&r, prog, f, b->outcome, sizeof(b->outcome));
		*p = r.out;
		mark = r.mark;
		prog = next_hop(r.counter);
	}
	return EC(OK);
}

/*
 * pod_guard, inside the pod: what it does when another program (a CNI's
 * bpf_redirect_peer) delivers the packet around app_inbound.
 */
static void around_app_inbound(struct daemon *d, const struct enrolled_pod *pod,
			       const struct flow *f, const struct pkt *p,
			       struct explain_block *b)
{
	struct explain_result r = { 0 };
	char *why = b->why[MAX_STEPS];
	int fd = -1, err = -ENOENT;

	if (!pod->guard)
		return; /* nothing of ours runs there */
	ambient_redirect__v1__explain_step__init(&b->around);
	b->around.program = (char *)dp_prog_name(DP_POD_GUARD);
	b->around.decision = "(not run)";
	b->around.verdict = "";
	b->around.why = why;
	b->x.around_app_inbound = &b->around;
	if (pod->netns_path[0])
		fd = netns_open(pod->netns_path);
	if (fd >= 0)
		err = explain_run(&d->dp, DP_POD_GUARD, fd, 0, pod->ifname, p,
				  0, &r);
	if (fd >= 0)
		close(fd);
	if (!err)
		fill_step(d, pod, f, DP_POD_GUARD, &r, &b->around, why);
	else
		snprintf(why, TEXT_LEN, "%s",
			 fd < 0 ? "the pod's netns is known by no path "
				  "(enrolled by fd)" :
				  strerror(-err));
}

ErrorCode h_explain(struct daemon *d, struct call *k)
{
	const ExplainRequest *x = k->req->msg->explain;
	struct enrolled_pod *pod = state_pod_find(&d->st, x->uid);
	struct explain_block *b;
	struct flow f;
	struct pkt p, first;
	ErrorCode ec;
	int err;

	if (!pod)
		return answer(k->msg, k->len, EC(NOT_FOUND),
			      "pod %s is not enrolled", x->uid);
	if (flow_of(pod, k, &f))
		return answer(k->msg, k->len, EC(BAD_REQUEST),
			      "pod %s has no such address (of the peer's "
			      "family)",
			      x->uid);
	err = dp_explain_load(&d->dp);
	if (!err)
		err = dp_explain_reset(&d->dp);
	if (err)
		return answer(k->msg, k->len, EC(KERNEL),
			      "load the programs for explain: %s",
			      strerror(-err));
	b = calloc(1, sizeof(*b));
	if (!b)
		return EC(INTERNAL);
	ambient_redirect__v1__explain_reply__init(&b->x);
	for (int i = 0; i < MAX_STEPS; i++)
		b->ptrs[i] = &b->steps[i];
	b->x.steps = b->ptrs;
	b->x.inbound = f.inbound;
	b->x.flow = b->flow;
	b->x.outcome = b->outcome;
	if (build_packet(&f, &p, b->flow, sizeof(b->flow))) {
		free(b);
		return answer(k->msg, k->len, EC(INTERNAL), "build the packet");
	}
	first = p;
	ec = run_chain(d, pod, &f, &p, b, k);
	if (!ec && f.inbound)
		around_app_inbound(d, pod, &f, &first, b);
	if (ec) {
		free(b);
		return ec;
	}
	k->reply->body_case = REPLY_BODY(EXPLAIN);
	k->reply->explain = &b->x;
	return answer(k->msg, k->len, EC(OK), "%s: %s", b->flow, b->outcome);
}
