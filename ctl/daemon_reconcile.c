// SPDX-License-Identifier: GPL-2.0
/*
 * Start-up and reconciliation: load, replay the journal, bring maps,
 * filters and the journal in line with each other; node addresses; pods
 * and ztunnels whose veth vanished.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include "addr.h"
#include "daemon_coverage.h"
#include "daemon_errors.h"
#include "daemon_hooks.h"
#include "daemon_maps.h"
#include "daemon_netns.h"
#include "daemon_pods.h"
#include "daemon_reconcile.h"
#include "daemon_watch.h"
#include "daemon_ztunnel.h"
#include "log.h"
#include "tcx.h"
#include "upgrade.h"

/* --- start-up and reconciliation --- */

static bool is_link_local(int family, const void *addr)
{
	const __u8 *b = addr;

	if (family == AF_INET)
		return b[0] == 169 && b[1] == 254;
	return b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
}

struct addr_sync {
	struct daemon *d;
	struct addr_key *seen;
	size_t n, cap;
};

static int note_node_addr(int family, const void *addr, int ifindex, void *arg)
{
	struct addr_sync *s = arg;
	struct addr_key k = { 0 };

	(void)ifindex;
	/* Link-local addresses exist per veth and only carry neighbour
	 * discovery; they are not the node's addresses for our purpose. */
	if (is_link_local(family, addr) || s->n == s->cap)
		return 0;
	addr_key_from_bytes(family, addr, &k);
	/* ptp puts the same gateway address on every host veth. */
	if (!addr_key_in(&k, s->seen, s->n))
		s->seen[s->n++] = k;
	return 0;
}

static int drop_stale_node_addr(const struct addr_key *addr, void *arg)
{
	struct addr_sync *s = arg;

	if (!addr_key_in(addr, s->seen, s->n))
		note_kernel_error(s->d, dp_node_addr_del(&s->d->dp, addr),
				  "delete a node address entry", 0);
	return 0;
}

int daemon_sync_node_addrs(struct daemon *d)
{
	struct addr_sync s = { .d = d, .cap = NODE_ADDRS_MAX };
	int err;

	s.seen = calloc(s.cap, sizeof(*s.seen));
	if (!s.seen)
		return -ENOMEM;
	for (size_t i = 0; i < d->opts.n_node_addrs; i++)
		if (!addr_key_in(&d->opts.node_addrs[i], s.seen, s.n))
			s.seen[s.n++] = d->opts.node_addrs[i];
	err = addr_for_each(d->nl, note_node_addr, &s);
	for (size_t i = 0; i < s.n && !err; i++)
		err = dp_node_addr_add(&d->dp, &s.seen[i]);
	/* The list after the additions, before the removals: an address
	 * that stays is in one of the two at every moment. */
	if (!err)
		err = dp_node_addr_list_set(&d->dp, s.seen, s.n);
	if (!err)
		err = dp_node_addr_for_each(&d->dp, drop_stale_node_addr, &s);
	if (s.n == s.cap)
		pr_warn("node has more than %d addresses; some are not known "
			"to the datapath",
			NODE_ADDRS_MAX);
	free(s.seen);
	return err;
}

struct pod_check {
	struct daemon *d;
	struct enrolled_pod **gone; /* veth vanished: to be removed */
	struct enrolled_pod **ready; /* published: to get this build's hooks */
	size_t ngone, nready;
	int err;
};

/* A guard for a pod enrolled without one (an older build, --no-guard). */
static int guard_attach_by_path(struct daemon *d,
				const struct enrolled_pod *pod)
{
	struct link_info li;
	int fd, err;

	if (!pod->netns_path[0])
		return -ENOENT; /* known by fd only, at enrolment */
	fd = daemon_netns_open(d, pod->netns_path);
	if (fd < 0)
		return fd;
	err = link_get_in_netns(d->nl, fd, pod->ifname, &li);
	if (!err)
		err = attach_pod_guard(d, fd, li.ifindex, pod->host_ifindex);
	close(fd);
	return err;
}

/* This build's pod_guard on the pod, or none when the guard is off. */
static void restore_guard(struct daemon *d, struct enrolled_pod *pod)
{
	int err;

	pod->guard = false;
	if (!d->guard_on) {
		note_kernel_error(
			d, tcx_guard_detach(d->opts.bpffs, pod->host_ifindex),
			"unpin the guard's link", pod->host_ifindex);
		return;
	}
	err = tcx_guard_update(d->opts.bpffs, pod->host_ifindex,
			       dp_prog_fd(&d->dp, DP_POD_GUARD));
	if (err == -ENOENT)
		err = guard_attach_by_path(d, pod);
	if (err)
		pr_warn("pod %s: no inbound guard: %s", pod->uid,
			strerror(-err));
	pod->guard = !err;
}

static void restore_failed(struct pod_check *c, const struct enrolled_pod *pod,
			   int err)
{
	pr_err("pod %s: restore on %s failed: %s", pod->uid, pod->host_veth,
	       strerror(-err));
	c->err = err;
}

/* Pass 1: a pod's map entries (its hooks untouched), or it is gone. */
static void publish_pod(struct enrolled_pod *pod, void *arg)
{
	struct pod_check *c = arg;
	int err;

	if (!veth_alive(c->d, pod->host_ifindex, pod->host_veth)) {
		c->gone[c->ngone++] = pod;
		return;
	}
	err = publish_exclusions(c->d, NULL, pod);
	if (!err)
		err = publish_addrs(c->d, pod);
	if (err)
		restore_failed(c, pod, err);
	else
		c->ready[c->nready++] = pod;
}

/* Pass 2: this build's programs on the pod's hooks, swapped in place. */
static void reattach_pod(struct pod_check *c, struct enrolled_pod *pod)
{
	bool created = false;
	int err = attach_pod_hooks(c->d, pod->host_ifindex, pod->tcx, &created);

	if (err)
		restore_failed(c, pod, err);
	else
		restore_guard(c->d, pod);
}

static int drop_unknown_entry(const struct addr_key *addr,
			      const struct pod_value *info, void *arg)
{
	struct daemon *d = arg;
	struct enrolled_pod *owner = state_pod_by_addr(&d->st, addr);
	char text[INET6_ADDRSTRLEN];

	if (owner && owner->host_ifindex == (int)info->host_ifindex)
		return 0;
	pr_info("reconcile: removing map entry %s of no enrolled pod",
		addr_key_format(addr, text, sizeof(text)));
	note_kernel_error(d, dp_pod_del(&d->dp, addr),
			  "delete a pods map entry", (int)info->host_ifindex);
	return 0;
}

/* The host veths pods and ztunnels hold, sorted: the sweeps ask per link. */
struct owned_ifindexes {
	int *v;
	size_t n;
};

static int by_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int owned_collect(const struct daemon *d, struct owned_ifindexes *o)
{
	o->n = 0;
	o->v = malloc((d->st.npods + MAX_ZTUNNELS) * sizeof(*o->v));
	if (!o->v)
		return -ENOMEM;
	for (size_t i = 0; i < d->st.nbuckets; i++)
		for (struct enrolled_pod *p = d->st.buckets[i]; p; p = p->next)
			o->v[o->n++] = p->host_ifindex;
	for (int i = 0; i < MAX_ZTUNNELS; i++)
		if (d->st.zts[i])
			o->v[o->n++] = d->st.zts[i]->host_ifindex;
	qsort(o->v, o->n, sizeof(*o->v), by_int);
	return 0;
}

static bool ifindex_owned(int ifindex, void *arg)
{
	const struct owned_ifindexes *o = arg;

	return bsearch(&ifindex, o->v, o->n, sizeof(*o->v), by_int) != NULL;
}

/* Pods with exclusions by host veth, sorted: the sweep asks per entry. */
struct excl_owners {
	const struct enrolled_pod **v;
	size_t n;
};

static int by_host_ifindex(const void *a, const void *b)
{
	const struct enrolled_pod *x = *(const struct enrolled_pod *const *)a,
				  *y = *(const struct enrolled_pod *const *)b;

	return by_int(&x->host_ifindex, &y->host_ifindex);
}

static const struct pod_exclusions *excl_owner(struct excl_owners *o,
					       __u32 ifindex)
{
	struct enrolled_pod key = { .host_ifindex = (int)ifindex };
	const struct enrolled_pod *k = &key, **p;

	p = bsearch(&k, o->v, o->n, sizeof(*o->v), by_host_ifindex);
	return p ? (*p)->excl : NULL;
}

static bool keep_cidr(const struct excl_cidr_key *k, void *arg)
{
	const struct pod_exclusions *e = excl_owner(arg, k->ifindex);
	struct excl_cidr c = { .addr = k->addr,
			       .prefixlen = (__u8)(k->prefixlen -
						   EXCL_CIDR_KEY_FIXED_BITS) };

	return e && k->prefixlen >= EXCL_CIDR_KEY_FIXED_BITS &&
	       k->family == (addr_key_is_v4(&k->addr) ? 4u : 6u) &&
	       excl_has_cidr(e, &c);
}

static bool keep_port(const struct excl_port_key *k, void *arg)
{
	const struct pod_exclusions *e = excl_owner(arg, k->ifindex);

	return e && excl_has_port(e, ntohs(k->port), k->dir);
}

/*
 * Exclusion entries of no enrolled pod (it went while we were down):
 * a pod enrolled later on the same ifindex would inherit them.
 */
static void drop_stale_exclusions(struct daemon *d)
{
	struct excl_owners o = { 0 };

	o.v = malloc((d->st.npods + 1) * sizeof(*o.v));
	if (!o.v) {
		pr_warn("reconcile: out of memory; exclusions not swept");
		return;
	}
	for (size_t i = 0; i < d->st.nbuckets; i++)
		for (struct enrolled_pod *p = d->st.buckets[i]; p; p = p->next)
			if (p->excl)
				o.v[o.n++] = p;
	qsort(o.v, o.n, sizeof(*o.v), by_host_ifindex);
	note_kernel_error(d, dp_excl_sweep(&d->dp, keep_cidr, keep_port, &o),
			  "sweep stale exclusions", 0);
	free(o.v);
}

/* Filters of ours on links we do not know: left by an unacknowledged add. */
static void drop_orphan_filters(struct daemon *d)
{
	struct hooks h = hooks_of(d);
	unsigned int removed = 0, failed = 0;
	struct owned_ifindexes o;
	int err;

	/* without the list every link would look unowned: sweep nothing */
	if (owned_collect(d, &o)) {
		pr_warn("reconcile: out of memory; orphans left in place");
		return;
	}
	err = hook_orphans_drop(d->nl, &h.slot, ifindex_owned, &o, &removed,
				&failed);
	note_kernel_error(d, err, "list links for orphan filters", 0);
	/* and TCX links pinned for them, or left by a move cut short */
	hook_tcx_orphans_drop(d->opts.bpffs, ifindex_owned, &o, &removed,
			      &failed);
	free(o.v);
	if (failed)
		pr_warn("reconcile: %u orphan hooks could not be removed",
			failed);
}

/*
 * SIGHUP: the fd of the last pass is replaced by the path's netns, unless
 * the path did not resolve in time (its filesystem stalls): then the
 * netns we hold stays ztunnel's, as for one known by fd only.
 */
static void reopen_ztunnel_netns(struct daemon *d, struct ztunnel *zt)
{
	int fd = daemon_netns_open(d, zt->netns_path);

	if ((fd == -ETIMEDOUT || fd == -EBUSY) && zt->netns_fd >= 0) {
		pr_warn("ztunnel %s: netns %s did not resolve in time; the "
			"netns held since its add stays",
			zt->uid, zt->netns_path);
		return;
	}
	if (zt->netns_fd >= 0)
		close(zt->netns_fd);
	zt->netns_fd = fd;
}

static void reconcile_ztunnels(struct daemon *d)
{
	char msg[WIRE_MSG_LEN];
	bool have_current = false;

	for (int i = 0; i < MAX_ZTUNNELS; i++) {
		struct ztunnel *zt = d->st.zts[i];
		ErrorCode ec = EC(NETNS);
		struct ztunnel_saved was;
		bool touched;

		if (!zt)
			continue;
		if (!zt->netns_path[0]) {
			/* Known by fd only: its netns cannot be reopened, but
			 * its hooks there live on; restore what we can. */
			ec = restore_ztunnel_known_by_fd(d, zt) ?
				     EC(INTERFACE) :
				     EC(OK);
			snprintf(msg, sizeof(msg), "host veth %s missing",
				 zt->host_veth);
		} else {
			reopen_ztunnel_netns(d, zt);
			if (zt->netns_fd >= 0)
				ec = setup_ztunnel(d, zt, false, &was, &touched,
						   msg, sizeof(msg));
			else
				snprintf(msg, sizeof(msg), "netns %s: %s",
					 zt->netns_path,
					 strerror(-zt->netns_fd));
		}
		if (ec) {
			pr_warn("ztunnel %s is gone (%s); removing it", zt->uid,
				msg);
			detach_ztunnel(d, zt);
			state_ztunnel_remove(&d->st, zt->uid);
			journal_lag_tolerated(
				state_journal_zt_delete(&d->st, zt->uid));
			ztunnel_free(zt);
			continue;
		}
		journal_lag_tolerated(state_journal_zt_put(&d->st, zt));
		if (zt->current) {
			note_kernel_error(d, publish_ztunnel(d, zt),
					  "publish the current ztunnel",
					  zt->host_ifindex);
			have_current = true;
		}
	}
	if (!have_current)
		note_kernel_error(d, publish_ztunnel(d, NULL),
				  "clear the ztunnel slot", 0);
}

/* Pods known by path get their netns cookie again (a netns may be new). */
static void refresh_pod_netns(struct enrolled_pod *pod, void *arg)
{
	struct daemon *d = arg;
	int fd;

	if (!pod->netns_path[0])
		return; /* known by fd only: the pinned entries stand */
	fd = daemon_netns_open(d, pod->netns_path);
	if (fd < 0)
		return;
	publish_netns(d, pod->addrs, pod->naddrs, netns_cookie_of(d, fd));
	close(fd);
}

static bool ztunnel_owns(struct daemon *d, const struct addr_key *addr)
{
	for (int i = 0; i < MAX_ZTUNNELS; i++) {
		const struct ztunnel *zt = d->st.zts[i];

		if (zt && addr_key_in(addr, zt->addrs, zt->naddrs))
			return true;
	}
	return false;
}

static int drop_unowned_netns(const struct addr_key *addr, void *arg)
{
	struct daemon *d = arg;

	if (!state_pod_by_addr(&d->st, addr) && !ztunnel_owns(d, addr))
		sockmap_netns_del(&d->sm, addr);
	return 0;
}

/* sk_netns lists exactly the addresses of known pods and ztunnels. */
static void reconcile_sockmap(struct daemon *d)
{
	if (!d->sm.active)
		return;
	state_pod_for_each(&d->st, refresh_pod_netns, d);
	sockmap_netns_for_each(&d->sm, drop_unowned_netns, d);
}

struct gone_pods {
	struct daemon *d;
	struct enrolled_pod **gone;
	size_t n;
};

static void collect_gone(struct enrolled_pod *pod, void *arg)
{
	struct gone_pods *g = arg;

	if (!veth_alive(g->d, pod->host_ifindex, pod->host_veth))
		g->gone[g->n++] = pod;
}

void daemon_prune_gone(struct daemon *d)
{
	struct gone_pods g = { .d = d };
	struct ztunnel *zt = state_ztunnel_current(&d->st);

	g.gone = calloc(d->st.npods + 1, sizeof(*g.gone));
	if (!g.gone)
		return;
	state_pod_for_each(&d->st, collect_gone, &g);
	for (size_t i = 0; i < g.n; i++) {
		pr_info("pod %s: veth %s is gone", g.gone[i]->uid,
			g.gone[i]->host_veth);
		remove_pod(d, g.gone[i]);
	}
	free(g.gone);
	if (zt && !veth_alive(d, zt->host_ifindex, zt->host_veth)) {
		pr_warn("ztunnel %s: veth %s is gone; meshed pods fail closed",
			zt->uid, zt->host_veth);
		note_kernel_error(d, publish_ztunnel(d, NULL),
				  "clear the ztunnel slot", zt->host_ifindex);
		zt->current = false;
		journal_lag_tolerated(state_journal_zt_put(&d->st, zt));
	}
}

/*
 * Maps an upgrade set aside, once every hook runs this build's programs:
 * unpinned, they go with the last old program that holds them.
 */
static void drop_old_maps(struct daemon *d)
{
	unsigned int n = 0;
	int err;

	if (!upgrade_old_present(d->opts.bpffs))
		return;
	err = upgrade_drop_old(d->opts.bpffs, &n);
	if (err)
		pr_warn("unpin the maps set aside: %s", strerror(-err));
	else
		pr_info("upgrade: %u maps of the previous build unpinned", n);
}

int daemon_reconcile(struct daemon *d)
{
	struct pod_check c = { .d = d };
	int err;

	err = daemon_sync_node_addrs(d);
	if (err)
		pr_warn("node addresses: %s", strerror(-err));
	c.gone = calloc(d->st.npods + 1, sizeof(*c.gone));
	c.ready = calloc(d->st.npods + 1, sizeof(*c.ready));
	if (!c.gone || !c.ready) {
		free(c.gone);
		free(c.ready);
		return -ENOMEM;
	}
	/*
	 * Maps first, programs after: after an upgrade the maps are new and
	 * our programs of this build must find every pod and ztunnel there
	 * from their first packet. The old build's programs, until replaced,
	 * keep using the old maps, which stay whole.
	 */
	state_pod_for_each(&d->st, publish_pod, &c);
	reconcile_ztunnels(d);
	for (size_t i = 0; i < c.nready; i++)
		reattach_pod(&c, c.ready[i]);
	free(c.ready);
	for (size_t i = 0; i < c.ngone; i++) {
		pr_info("reconcile: pod %s lost its veth %s", c.gone[i]->uid,
			c.gone[i]->host_veth);
		remove_pod(d, c.gone[i]);
	}
	free(c.gone);
	dp_pod_for_each(&d->dp, drop_unknown_entry, d);
	drop_stale_exclusions(d);
	reconcile_sockmap(d);
	drop_orphan_filters(d);
	daemon_watch_order(d, true);
	drop_old_maps(d);
	pr_info("reconciled: %zu pods, %zu addresses, ztunnel %s", d->st.npods,
		d->st.naddrs,
		state_ztunnel_current(&d->st) ? "present" : "absent");
	return c.err;
}
