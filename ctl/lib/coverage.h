/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a pod's enrolment does not cover: addresses in its network
 * namespace that it was not enrolled with, on its own interface (a
 * secondary address, SLAAC) or on another one (a Multus-style secondary
 * network). The datapath refuses traffic to and from such addresses on
 * the enrolled interface; another interface carries no program of ours.
 * Either way the operator is told (redirectctl pods and status).
 */
#ifndef REDIRECT_COVERAGE_H
#define REDIRECT_COVERAGE_H

#include <stddef.h>
#include "redirect_abi.h"

struct nl;

/*
 * *gaps: NULL when everything is covered, else a malloc'd text, one
 * "IFNAME ADDRESS" per gap, comma separated. nsid: the pod's netns as nl's
 * netns knows it; pod_ifindex: its enrolled interface there.
 */
int coverage_gaps(struct nl *nl, int nsid, const struct addr_key *addrs,
		  size_t n, char **gaps);

#endif /* REDIRECT_COVERAGE_H */
