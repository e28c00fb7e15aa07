// SPDX-License-Identifier: GPL-2.0
/*
 * What the core writes into the datapath's maps from its state: a pod's
 * addresses (pods), ztunnel's slot, and for sockmap acceleration which
 * netns owns which address (sk_netns, sk_config): daemon_maps.h.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "addr.h"
#include "daemon_errors.h"
#include "daemon_maps.h"
#include "daemon_netns.h"
#include "log.h"

/* Delete the map entries of pod's addresses that still point at it. */
void unpublish_addrs(struct daemon *d, const struct addr_key *addrs, size_t n,
		     int host_ifindex)
{
	struct pod_value pi;

	for (size_t i = 0; i < n; i++)
		if (!dp_pod_get(&d->dp, &addrs[i], &pi) &&
		    (int)pi.host_ifindex == host_ifindex) {
			note_kernel_error(d, dp_pod_del(&d->dp, &addrs[i]),
					  "delete a pods map entry",
					  host_ifindex);
			sockmap_netns_del(&d->sm, &addrs[i]);
		}
}

/* 0 when acceleration is off or the cookie cannot be had. */
__u64 netns_cookie_of(struct daemon *d, int netns_fd)
{
	__u64 cookie = 0;
	int err;

	if (!d->sm.active || netns_fd < 0)
		return 0;
	err = netns_cookie(netns_fd, &cookie);
	if (err)
		pr_warn("sockmap: netns cookie: %s; its connections are not "
			"accelerated",
			strerror(-err));
	return err ? 0 : cookie;
}

void publish_netns(struct daemon *d, const struct addr_key *addrs, size_t n,
		   __u64 cookie)
{
	int err = 0;

	for (size_t i = 0; i < n && cookie && !err; i++)
		err = sockmap_netns_set(&d->sm, &addrs[i], cookie);
	if (err)
		pr_warn("sockmap: sk_netns update: %s; some connections are "
			"not accelerated",
			strerror(-err));
}

/*
 * The current ztunnel's netns, for sock_ops. One known by fd only (after
 * a restart, without a path) keeps what is pinned.
 */
void publish_ztunnel_netns(struct daemon *d, const struct ztunnel *zt)
{
	__u64 cookie;
	int err;

	if (zt && zt->netns_fd < 0)
		return;
	cookie = zt ? netns_cookie_of(d, zt->netns_fd) : 0;
	if (zt)
		publish_netns(d, zt->addrs, zt->naddrs, cookie);
	err = sockmap_ztunnel_set(&d->sm, cookie);
	if (err)
		pr_warn("sockmap: sk_ztunnel update: %s", strerror(-err));
}

int publish_addrs(struct daemon *d, const struct enrolled_pod *pod)
{
	struct pod_value pi = { .host_ifindex = (__u32)pod->host_ifindex,
				.flags = excl_pod_flags(pod->excl) };
	int err = 0;
	size_t i;

	if (pod->dns_capture)
		pi.flags |= POD_F_DNS_CAPTURE;
	memcpy(pi.mac, pod->mac, 6);
	for (i = 0; i < pod->naddrs && !err; i++)
		err = dp_pod_put(&d->dp, &pod->addrs[i], &pi);
	if (err)
		unpublish_addrs(d, pod->addrs, i, pod->host_ifindex);
	return err;
}

/*
 * The id our netns has for ztunnel's, given one if it has none yet, so
 * app_outbound can find ztunnel's sockets (replies of the connections it
 * makes to pods from a node address). Without one that lookup is off:
 * such replies would pass uncaptured, so say so.
 */
static __s32 ztunnel_netns_id(struct daemon *d, const struct ztunnel *zt)
{
	int fd = zt->netns_fd, opened = -1, id;

	if (fd < 0 && zt->netns_path[0])
		fd = opened = daemon_netns_open(d, zt->netns_path);
	id = fd < 0 ? fd : netns_id_ensure(d->nl, fd);
	if (opened >= 0)
		close(opened);
	if (id < 0) {
		pr_warn("ztunnel %s: no netns id for its netns (%s): replies "
			"to connections it makes from a node address will "
			"pass uncaptured",
			zt->uid, strerror(-id));
		return -1;
	}
	return id;
}

int publish_ztunnel(struct daemon *d, const struct ztunnel *zt)
{
	struct ztunnel_value zi = { 0 };
	int err;

	zi.netns_id = -1;
	if (zt) {
		zi.host_ifindex = (__u32)zt->host_ifindex;
		memcpy(zi.mac, zt->mac, 6);
		zi.present = 1;
		zi.flags = zt->capture_udp ? ZT_F_CAPTURE_UDP : 0;
		zi.netns_id = ztunnel_netns_id(d, zt);
	}
	zi.generation = ++d->ztunnel_generation;
	err = dp_ztunnel_set(&d->dp, &zi);
	if (!err)
		publish_ztunnel_netns(d, zt);
	return err;
}

/* --- exclusions --- */

static const struct pod_exclusions no_exclusions;

static const struct pod_exclusions *excl_of(const struct enrolled_pod *pod)
{
	return pod && pod->excl ? pod->excl : &no_exclusions;
}

/* The entries of `from` that `to` lacks: put (or delete) them. */
static int excl_apply(struct daemon *d, const struct enrolled_pod *from,
		      const struct enrolled_pod *to, bool put)
{
	const struct pod_exclusions *f = excl_of(from), *t = excl_of(to);
	bool same_veth = from && to && from->host_ifindex == to->host_ifindex;
	__u32 ifindex = from ? (__u32)from->host_ifindex : 0;
	int err = 0;

	for (size_t i = 0; i < f->ncidrs && !err; i++)
		if (!same_veth || !excl_has_cidr(t, &f->cidrs[i]))
			err = dp_excl_cidr_set(&d->dp, ifindex,
					       &f->cidrs[i].addr,
					       f->cidrs[i].prefixlen, put);
	for (size_t i = 0; i < f->nout && !err; i++)
		if (!same_veth ||
		    !excl_has_port(t, f->out_ports[i], EXCL_DIR_OUT))
			err = dp_excl_port_set(&d->dp, ifindex, f->out_ports[i],
					       EXCL_DIR_OUT, put);
	for (size_t i = 0; i < f->nin && !err; i++)
		if (!same_veth ||
		    !excl_has_port(t, f->in_ports[i], EXCL_DIR_IN))
			err = dp_excl_port_set(&d->dp, ifindex, f->in_ports[i],
					       EXCL_DIR_IN, put);
	return err;
}

/*
 * The remembered flows of old's addresses that pod (NULL: none) no longer
 * has: a pod that takes such an address over must not inherit them.
 */
static int forget_dropped_flows(struct daemon *d,
				const struct enrolled_pod *old,
				const struct enrolled_pod *pod)
{
	struct addr_key gone[WIRE_MAX_IPS];
	size_t n = 0;

	for (size_t i = 0; i < old->naddrs; i++)
		if (!pod ||
		    !addr_key_in(&old->addrs[i], pod->addrs, pod->naddrs))
			gone[n++] = old->addrs[i];
	return n ? dp_excl_flows_forget(&d->dp, gone, n) : 0;
}

int publish_exclusions(struct daemon *d, const struct enrolled_pod *old,
		       const struct enrolled_pod *pod)
{
	int err = excl_apply(d, old, pod, false);

	if (!err)
		err = excl_apply(d, pod, old, true);
	if (!err && old && old->excl)
		err = forget_dropped_flows(d, old, pod);
	return err;
}
