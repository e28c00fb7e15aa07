/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One built packet through one of the datapath's programs, as loaded
 * (BPF_PROG_TEST_RUN on the explain instance, datapath.h: the live maps,
 * private counters and flow caches), and what it decided: the counter it
 * moved, its verdict, the mark and frame it left. redirectd's explain
 * (ctl/daemon_explain.c) chains these from hook to hook.
 */
#ifndef REDIRECT_EXPLAIN_H
#define REDIRECT_EXPLAIN_H

#include <stdbool.h>
#include "datapath.h"
#include "packet.h"

struct explain_result {
	int verdict; /* the program's return value */
	__u32 mark; /* skb->mark after it */
	int counter; /* enum redirect_counter it moved; -1: none */
	/* a socket chosen, but bpf_sk_assign cannot run in a test run (it
	 * needs tc ingress): verdict is what it returns after assigning */
	bool assign_untried;
	struct pkt out; /* the frame after it */
};

/*
 * Run prog on in, in the netns netns_fd (-1: ours), as if it arrived on
 * ifindex (0: the device ifname names in that netns) with mark.
 */
int explain_run(const struct datapath *dp, enum dp_prog prog, int netns_fd,
		int ifindex, const char *ifname, const struct pkt *in,
		__u32 mark, struct explain_result *r);
/* "pass", "redirect", "drop", "deliver" for a tc verdict. */
const char *explain_verdict(int verdict);
/* Why a decision is taken, in one line (the capture table in words). */
const char *explain_why(int counter);
/* The ztunnel listener port an assign_* decision chose; 0: none. */
__u16 explain_listener_port(const struct datapath *dp, int counter);

#endif
