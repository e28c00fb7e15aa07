// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel: ZtunnelAdd (check its links, then set up its netns and host
 * veth, publish in one map write; a refusal puts its netns back) and
 * ZtunnelDelete.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include "daemon_errors.h"
#include "daemon_hooks.h"
#include "daemon_maps.h"
#include "daemon_netns.h"
#include "daemon_ztunnel.h"
#include "log.h"

/* --- ztunnel --- */

void detach_ztunnel(struct daemon *d, struct ztunnel *zt)
{
	struct ztunnel_routing r = ztunnel_routing_default();
	struct ztunnel_devs zd;

	for (size_t i = 0; i < zt->naddrs; i++)
		sockmap_netns_del(&d->sm, &zt->addrs[i]);
	if (ztunnel_devs_open(d, zt, &zd))
		pr_info("ztunnel %s: its netns or interface is gone, nothing "
			"to detach there",
			zt->uid);
	detach_ztunnel_hooks(d, zt, &zd);
	if (zd.znl)
		note_kernel_error(d, ztunnel_routing_teardown(zd.znl, &r),
				  "remove ztunnel's rules and routes",
				  zt->host_ifindex);
	ztunnel_devs_close(&zd);
}

/* Our veths and the id our netns has for the netns of each one's peer. */
struct veth_nsids {
	struct link_info *links;
	size_t n, cap;
};

static int note_veth(const struct link_info *li, void *arg)
{
	struct veth_nsids *v = arg;

	if (!li->is_veth)
		return 0;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct link_info *more = realloc(v->links, cap * sizeof(*li));

		if (!more)
			return -ENOMEM;
		v->links = more;
		v->cap = cap;
	}
	v->links[v->n++] = *li;
	return 0;
}

static int by_ifindex(const void *a, const void *b)
{
	const struct link_info *x = a, *y = b;

	return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

struct pod_on {
	const struct veth_nsids *v;
	int host_ifindex, nsid;
	const struct enrolled_pod *veth, *netns; /* what matched */
};

static void match_pod_links(struct enrolled_pod *pod, void *arg)
{
	struct pod_on *m = arg;
	struct link_info key = { .ifindex = pod->host_ifindex };
	const struct link_info *li =
		bsearch(&key, m->v->links, m->v->n, sizeof(key), by_ifindex);

	if (!li || strcmp(li->name, pod->host_veth))
		return; /* its veth is gone: nothing of it to take */
	if (li->ifindex == m->host_ifindex)
		m->veth = pod;
	else if (li->link_netnsid >= 0 && li->link_netnsid == m->nsid)
		m->netns = pod;
}

/*
 * A pod's netns or veth is never ztunnel's: all meshed traffic would go
 * to the pod. Netns compared by identity: the id our netns has for it,
 * read from each pod's veth in one link dump (ZtunnelAdds are rare).
 */
static ErrorCode refuse_pod_links(struct daemon *d, const struct ztunnel *zt,
				  int nsid, char *msg, size_t len)
{
	struct veth_nsids v = { 0 };
	struct pod_on m = { .v = &v,
			    .host_ifindex = zt->host_ifindex,
			    .nsid = nsid };
	int err = link_for_each(d->nl, note_veth, &v);
	const struct enrolled_pod *p;

	if (err) {
		free(v.links);
		return answer(msg, len, EC(KERNEL), "listing links: %s",
			      strerror(-err));
	}
	qsort(v.links, v.n, sizeof(*v.links), by_ifindex);
	state_pod_for_each(&d->st, match_pod_links, &m);
	free(v.links);
	p = m.veth ? m.veth : m.netns;
	if (!p)
		return EC(OK);
	return answer(msg, len, EC(CONFLICT),
		      "%s %s is pod %s/%s's (uid %s), "
		      "never ztunnel's",
		      m.veth ? "veth" : "the network namespace of",
		      m.veth ? zt->host_veth : zt->ifname, p->ns, p->name,
		      p->uid);
}

/*
 * Everything a ZtunnelAdd names must hold before anything is changed:
 * its interface in its netns is a veth, and the peer in our netns is a
 * veth whose own peer is that interface in that netns (by netns id).
 */
static ErrorCode check_ztunnel_links(struct daemon *d, struct ztunnel *zt,
				     char *msg, size_t len)
{
	int nsid = netns_id_ensure(d->nl, zt->netns_fd), err;
	struct link_info li, host;

	if (nsid < 0)
		return answer(msg, len, EC(NETNS),
			      "no id for ztunnel's network namespace: %s",
			      strerror(-nsid));
	err = link_get_in_netns_id(d->nl, nsid, zt->ifname, &li);
	if (err || !li.is_veth || li.peer_ifindex <= 0 || !li.has_mac)
		return answer(msg, len, EC(INTERFACE),
			      "interface %s in ztunnel's netns: %s", zt->ifname,
			      err ? strerror(-err) : "not a veth with a peer");
	err = link_get_by_index(d->nl, li.peer_ifindex, &host);
	if (err || !host.is_veth || host.peer_ifindex != li.ifindex ||
	    host.link_netnsid != nsid)
		return answer(msg, len, EC(INTERFACE),
			      "the peer of ztunnel's %s is not in redirectd's "
			      "network namespace",
			      zt->ifname);
	zt->ifindex = li.ifindex;
	memcpy(zt->mac, li.mac, 6);
	zt->host_ifindex = host.ifindex;
	strcpy(zt->host_veth, host.name);
	return refuse_pod_links(d, zt, nsid, msg, len);
}

/* Routing inside its netns; *was: what it was. */
static ErrorCode setup_ztunnel_routing(struct daemon *d, struct ztunnel *zt,
				       struct ztunnel_saved *was, char *msg,
				       size_t len)
{
	struct ztunnel_routing r = ztunnel_routing_default();
	struct nl *znl;
	int err = nl_open_in_netns(zt->netns_fd, &znl);

	if (err)
		return answer(msg, len, EC(NETNS),
			      "cannot enter ztunnel's network namespace: %s",
			      strerror(-err));
	err = ztunnel_routing_setup(znl, &r, was);
	nl_close(znl);
	if (err)
		return answer(msg, len, kernel_error(err),
			      "ztunnel netns setup: %s", strerror(-err));
	return EC(OK);
}

/* A refused add leaves ztunnel's netns as the add found it. */
static void restore_ztunnel_netns(struct daemon *d, struct ztunnel *zt,
				  const struct ztunnel_saved *was)
{
	struct ztunnel_routing r = ztunnel_routing_default();
	struct nl *znl;

	if (nl_open_in_netns(zt->netns_fd, &znl))
		return;
	if (ztunnel_routing_restore(znl, &r, was))
		pr_warn("ztunnel %s: restoring its netns failed", zt->uid);
	nl_close(znl);
}

/*
 * ztunnel_ingress on its own interface, then ztunnel_host_in on its host
 * veth, as TCX links or cls_bpf filters: a fresh add decides which
 * (--attach; auto: TCX where either device already runs TCX programs or
 * a foreign filter before ours), a restart keeps the journaled one.
 */
static ErrorCode attach_ztunnel(struct daemon *d, struct ztunnel *zt,
				bool fresh, char *msg, size_t len)
{
	struct ztunnel_devs zd;
	int err = ztunnel_devs_open(d, zt, &zd);

	/* a fresh add drops the other kind of ours; a restart keeps what
	 * a move cut short left, for the order watch to finish */
	if (!err) {
		if (fresh)
			zt->tcx = wants_tcx(d, zd.dev, 2);
		err = attach_ztunnel_hooks(d, zt, &zd, fresh);
	}
	ztunnel_devs_close(&zd);
	if (err)
		return answer(msg, len, kernel_error(err),
			      "attach to ztunnel's %s: %s%s", zt->host_veth,
			      strerror(-err),
			      err == -EBUSY ? " (a foreign tc filter holds our "
					      "priority/handle)" :
					      "");
	return EC(OK);
}

/* All of ztunnel's side, checked first; *touched: something changed. */
ErrorCode setup_ztunnel(struct daemon *d, struct ztunnel *zt, bool fresh,
			struct ztunnel_saved *was, bool *touched, char *msg,
			size_t len)
{
	ErrorCode ec = check_ztunnel_links(d, zt, msg, len);

	*touched = false;
	if (ec)
		return ec;
	*touched = true;
	ec = setup_ztunnel_routing(d, zt, was, msg, len);
	return ec ? ec : attach_ztunnel(d, zt, fresh, msg, len);
}

/* The record of a checked ZtunnelAdd (its addresses parsed by the check). */
static struct ztunnel *ztunnel_from_add(const struct wire_request *r, int fd)
{
	const ZtunnelAdd *a = r->msg->ztunnel_add;
	struct ztunnel *zt = ztunnel_new(a->uid);

	if (!zt)
		return NULL;
	free(zt->netns_path);
	zt->netns_path = strdup(a->netns_path);
	zt->netns_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (!zt->netns_path || zt->netns_fd < 0) {
		ztunnel_free(zt);
		return NULL;
	}
	snprintf(zt->ifname, sizeof(zt->ifname), "%s",
		 a->interface[0] ? a->interface : "eth0");
	memcpy(zt->addrs, r->addrs, r->naddrs * sizeof(r->addrs[0]));
	zt->naddrs = r->naddrs;
	zt->capture_udp = a->capture_udp;
	return zt;
}

ErrorCode h_ztunnel_add(struct daemon *d, struct call *k)
{
	const ZtunnelAdd *a = k->req->msg->ztunnel_add;
	char *msg = k->msg;
	size_t len = k->len;
	struct ztunnel *zt, *prev;
	struct ztunnel_saved was;
	int opened, fd, err;
	bool touched;
	ErrorCode ec;

	fd = open_netns(k->conn, a->netns_path, k->netns_fd, &opened);
	if (fd < 0)
		return answer(msg, len, EC(NETNS), "network namespace %s: %s",
			      netns_name(a->netns_path), netns_error(fd));
	zt = ztunnel_from_add(k->req, fd);
	if (opened >= 0)
		close(opened);
	if (!zt)
		return answer(msg, len, EC(INTERNAL), "out of memory");
	ec = setup_ztunnel(d, zt, true, &was, &touched, msg, len);
	if (ec) {
		if (touched && !state_ztunnel_find(&d->st, a->uid)) {
			detach_ztunnel(d, zt);
			restore_ztunnel_netns(d, zt, &was);
		}
		ztunnel_free(zt);
		return ec;
	}
	/* One map write switches new traffic to this ztunnel. */
	err = publish_ztunnel(d, zt);
	if (err) {
		detach_ztunnel(d, zt);
		ztunnel_free(zt);
		return answer(msg, len, EC(KERNEL), "ztunnel map update: %s",
			      strerror(-err));
	}
	/*
	 * The journal records of a ztunnel add are bookkeeping its failure
	 * does not refuse: refusing would leave meshed pods with no ztunnel
	 * now, while a record lost costs, at worst, a re-add after a restart
	 * that comes before the journal is rewritten (pods fail closed
	 * meanwhile, never open). A delete is journaled first (below).
	 */
	prev = state_ztunnel_current(&d->st);
	if (prev && strcmp(prev->uid, zt->uid)) {
		prev->current = false;
		journal_lag_tolerated(state_journal_zt_put(&d->st, prev));
	}
	zt->current = true;
	if (state_ztunnel_put(&d->st, zt)) {
		/* Full: the oldest replaced ones linger; refuse politely. */
		note_kernel_error(d, publish_ztunnel(d, prev),
				  "put the previous ztunnel back",
				  prev ? prev->host_ifindex : 0);
		if (prev) {
			prev->current = true;
			journal_lag_tolerated(
				state_journal_zt_put(&d->st, prev));
		}
		detach_ztunnel(d, zt);
		ztunnel_free(zt);
		return answer(msg, len, EC(CAPACITY),
			      "%d ztunnels known; delete replaced ones first",
			      MAX_ZTUNNELS);
	}
	journal_lag_tolerated(state_journal_zt_put(&d->st, zt));
	pr_info("ztunnel %s active on %s (host %s ifindex %d)", zt->uid,
		zt->ifname, zt->host_veth, zt->host_ifindex);
	return answer(msg, len, EC(OK), "ztunnel active, host veth %s",
		      zt->host_veth);
}

ErrorCode h_ztunnel_delete(struct daemon *d, struct call *k)
{
	const char *uid = k->req->msg->ztunnel_delete->uid;
	char *msg = k->msg;
	size_t len = k->len;
	struct ztunnel *zt = state_ztunnel_find(&d->st, uid);
	int err;

	if (!zt)
		return answer(msg, len, EC(OK), "ztunnel %s was not known",
			      uid);
	/* Journaled first: a record left behind would bring it back at the
	 * next start while its netns lives on. */
	err = state_journal_zt_delete(&d->st, uid);
	if (err)
		return answer(msg, len, EC(INTERNAL),
			      "journal: %s; ztunnel %s not removed",
			      strerror(-err), uid);
	if (zt->current) {
		/* Meshed pods now fail closed until a new ztunnel arrives. */
		note_kernel_error(d, publish_ztunnel(d, NULL),
				  "clear the ztunnel slot", zt->host_ifindex);
	}
	detach_ztunnel(d, zt);
	state_ztunnel_remove(&d->st, uid);
	pr_info("ztunnel %s removed%s", uid,
		zt->current ? "; meshed pods fail closed" : "");
	ztunnel_free(zt);
	return EC(OK);
}
