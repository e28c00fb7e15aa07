/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A pod's exclusions (docs/exclusions.md) as redirectd keeps them: parsed
 * from a PodAdd, canonical (CIDRs with host bits cleared, ports sorted,
 * no duplicates), compared entry by entry so a re-sent PodAdd changes only
 * what changed. Pure logic, unit tested; the maps are daemon_maps.c's.
 */
#ifndef REDIRECT_EXCLUSIONS_H
#define REDIRECT_EXCLUSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include "redirect_abi.h"

struct excl_cidr {
	struct addr_key addr; /* host bits cleared */
	__u8 prefixlen; /* of the mapped form: IPv4 /n is 96 + n */
};

struct pod_exclusions {
	size_t ncidrs, nout, nin;
	struct excl_cidr cidrs[EXCL_MAX_PER_POD];
	__u16 out_ports[EXCL_MAX_PER_POD]; /* host order, ascending */
	__u16 in_ports[EXCL_MAX_PER_POD];
	bool bypass_inbound;
};

/*
 * Parse the lists of a PodAdd or PodInfo into *e (cleared first). Returns
 * 0, or -EINVAL with the reason, naming the field and entry, in msg.
 */
int excl_parse(struct pod_exclusions *e, char *const *cidrs, size_t ncidrs,
	       const uint32_t *out_ports, size_t nout, const uint32_t *in_ports,
	       size_t nin, bool bypass_inbound, char *msg, size_t msglen);
/* "addr/128": the longest text excl_cidr_format writes, with its NUL. */
#define EXCL_CIDR_STRLEN (46 + 4)

/*
 * "ADDR" or "ADDR/LEN" (an IPv4 /n is kept as /(96 + n), a bare address
 * is a /32 or /128), host bits cleared; 0 or -EINVAL. The one parser of
 * them: redirect-cni checks annotations with it too.
 */
int excl_cidr_parse(const char *s, struct excl_cidr *c);
/* c: the prefix of a (mapped form length) with host bits cleared. */
void excl_cidr_init(struct excl_cidr *c, const struct addr_key *a,
		    __u8 prefixlen);
/* "10.0.0.0/8", "fd00::/64": the canonical text of c. */
const char *excl_cidr_format(const struct excl_cidr *c, char *buf, size_t len);
/* Nothing excluded at all. */
bool excl_none(const struct pod_exclusions *e);
/* The pods map flags (POD_F_EXCL_*) that e needs; e may be NULL. */
__u16 excl_pod_flags(const struct pod_exclusions *e);
bool excl_has_cidr(const struct pod_exclusions *e, const struct excl_cidr *c);
bool excl_has_port(const struct pod_exclusions *e, __u16 port, __u8 dir);

#endif
