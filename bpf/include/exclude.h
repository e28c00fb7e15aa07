/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A pod's exclusions (docs/exclusions.md): which of its flows stay out of
 * the mesh. The maps are asked only for a pod whose flags say it has
 * exclusions (POD_F_EXCL_*). Used by the tc programs for every packet and
 * by sockops_add for every connection, so sockmap never shortcuts a flow
 * tc lets pass.
 */
#ifndef REDIRECT_EXCLUDE_H
#define REDIRECT_EXCLUDE_H

#include "maps.h"
#include "parse.h"

/* Is dst (dport, network order) an excluded destination of the pod? */
static __always_inline bool excluded_outbound(const struct pod_value *pod,
					      const struct addr_key *dst,
					      __u16 dport)
{
	struct excl_port_key pk = {
		.ifindex = pod->host_ifindex,
		.port = dport,
		.dir = EXCL_DIR_OUT,
	};
	struct excl_cidr_key ck = {
		.prefixlen = EXCL_CIDR_KEY_FIXED_BITS + 128,
		.ifindex = pod->host_ifindex,
		.family = ipv6_is_v4_mapped(dst) ? 4 :
						   6, /* the IPv4 key form */
		.addr = *dst,
	};

	if (!(pod->flags & POD_F_EXCL_OUT))
		return false;
	if (bpf_map_lookup_elem(&excl_ports, &pk))
		return true;
	return bpf_map_lookup_elem(&excl_cidrs, &ck) != NULL;
}

/* Do flows peers open to the pod's port (network order) pass? */
static __always_inline bool excluded_inbound(const struct pod_value *pod,
					     __u16 port)
{
	struct excl_port_key pk = {
		.ifindex = pod->host_ifindex,
		.port = port,
		.dir = EXCL_DIR_IN,
	};

	if (pod->flags & POD_F_BYPASS_INBOUND)
		return true;
	if (!(pod->flags & POD_F_EXCL_IN_PORTS))
		return false;
	return bpf_map_lookup_elem(&excl_ports, &pk) != NULL;
}

#endif /* REDIRECT_EXCLUDE_H */
