/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the core writes into the datapath's maps from its state: a pod's
 * addresses (pods), ztunnel's slot, and for sockmap acceleration which
 * netns owns which address (sk_netns) and which is ztunnel's (sk_config).
 */
#ifndef REDIRECT_DAEMON_MAPS_H
#define REDIRECT_DAEMON_MAPS_H

#include "compiler.h"
#include "daemon_types.h"

/* Every address of pod into pods; on failure none of them. */
MUST_CHECK int publish_addrs(struct daemon *d, const struct enrolled_pod *pod);
/* Delete the entries of these addresses that still point at the veth. */
void unpublish_addrs(struct daemon *d, const struct addr_key *addrs, size_t n,
		     int host_ifindex);
/*
 * A pod's exclusions, from its previous record old (NULL: none) to pod
 * (NULL: removed): the entries only old has go first, then those only pod
 * has, so that no moment excludes more than either. Call it before
 * publish_addrs turns the pod's flags on, and after its entries are gone
 * on removal. The remembered flows of addresses old had and pod has not
 * (all of them on removal) are forgotten.
 */
MUST_CHECK int publish_exclusions(struct daemon *d,
				  const struct enrolled_pod *old,
				  const struct enrolled_pod *pod);
/* The current ztunnel's slot (NULL: none, meshed pods fail closed). */
MUST_CHECK int publish_ztunnel(struct daemon *d, const struct ztunnel *zt);
/* The cookie of a netns for sk_netns; 0 when acceleration is off. */
__u64 netns_cookie_of(struct daemon *d, int netns_fd);
void publish_netns(struct daemon *d, const struct addr_key *addrs, size_t n,
		   __u64 cookie);
void publish_ztunnel_netns(struct daemon *d, const struct ztunnel *zt);

#endif
