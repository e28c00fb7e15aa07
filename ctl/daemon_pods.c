// SPDX-License-Identifier: GPL-2.0
/*
 * Pods: PodAdd (find the veth, check every claimed address, publish,
 * attach, journal), PodDelete (guarded), and the snapshot exchange.
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
#include "daemon_errors.h"
#include "daemon_hooks.h"
#include "daemon_maps.h"
#include "daemon_netns.h"
#include "daemon_pods.h"
#include "log.h"

/* --- pods --- */

/* --- sockmap: which netns owns which address --- */

/*
 * Remove a pod entirely: the journal first (a pod it cannot forget stays
 * enrolled, whole), then the maps (its traffic fails closed), then tc.
 */
int remove_pod(struct daemon *d, struct enrolled_pod *pod)
{
	int err = state_journal_pod_delete(&d->st, pod->uid);

	if (err)
		return err;
	unpublish_addrs(d, pod->addrs, pod->naddrs, pod->host_ifindex);
	note_kernel_error(d, publish_exclusions(d, pod, NULL),
			  "delete its exclusions", pod->host_ifindex);
	if (veth_alive(d, pod->host_ifindex, pod->host_veth))
		detach_pod_filters(d, pod->host_ifindex, pod->qdisc_created);
	state_pod_remove(&d->st, pod->uid);
	pr_info("pod %s/%s (%s) removed", pod->ns, pod->name, pod->uid);
	pod_free(pod);
	return 0;
}

struct veth_target {
	int host_ifindex;
	char host_veth[IF_NAMESIZE];
	__u8 mac[6];
	int nsid; /* the pod's netns, as our netns knows it */
	int pod_ifindex; /* in the pod's netns */
};

/*
 * The pod's interface, its MAC, and its peer in our netns. The pair is
 * proven from our side: our link at the peer ifindex is a veth whose own
 * peer is in the pod's netns (by id) at the pod interface's ifindex;
 * ifindexes alone mean nothing across namespaces.
 */
static ErrorCode find_pod_veth(struct daemon *d, int netns_fd,
			       const char *ifname, const char *want_host,
			       struct veth_target *t, char *msg, size_t len)
{
	struct link_info pod, host;
	int nsid = netns_id_ensure(d->nl, netns_fd), err;

	if (nsid < 0)
		return answer(msg, len, EC(NETNS),
			      "no id for the pod's network namespace: %s",
			      strerror(-nsid));
	err = link_get_in_netns_id(d->nl, nsid, ifname, &pod);

	if (err == -ENODEV || err == -ENOENT || err == -EINVAL)
		return answer(msg, len, EC(INTERFACE),
			      "interface %s not found in the network namespace",
			      ifname);
	if (err)
		return answer(msg, len, EC(NETNS),
			      "cannot enter the network namespace: %s",
			      strerror(-err));
	if (!pod.is_veth || pod.peer_ifindex <= 0 || !pod.has_mac)
		return answer(msg, len, EC(INTERFACE),
			      "interface %s is not a veth with a peer", ifname);
	err = link_get_by_index(d->nl, pod.peer_ifindex, &host);
	if (err || !host.is_veth || host.peer_ifindex != pod.ifindex ||
	    host.link_netnsid != nsid)
		return answer(
			msg, len, EC(INTERFACE),
			"the peer of %s (ifindex %d) is not in redirectd's "
			"network namespace",
			ifname, pod.peer_ifindex);
	if (want_host && want_host[0] && strcmp(want_host, host.name))
		return answer(msg, len, EC(INTERFACE),
			      "host_veth %s does not match the peer of %s, %s",
			      want_host, ifname, host.name);
	t->host_ifindex = host.ifindex;
	strcpy(t->host_veth, host.name);
	memcpy(t->mac, pod.mac, 6);
	t->nsid = nsid;
	t->pod_ifindex = pod.ifindex;
	return EC(OK);
}

/* fd (and nsid, its id in our netns) is the netns of this ztunnel. */
static bool ztunnel_netns_is(struct daemon *d, const struct ztunnel *zt,
			     int netns_fd, int nsid)
{
	if (zt->netns_fd >= 0 && netns_same(zt->netns_fd, netns_fd) == 1)
		return true;
	return nsid >= 0 &&
	       veth_peer_nsid(d, zt->host_ifindex, zt->host_veth) == nsid;
}

/*
 * ztunnel's netns and veth are never a pod's: enrolled as one, ztunnel's
 * own traffic would be captured and sent back to it (with TCX nothing
 * else refuses it; with tc only our filter slot, already taken, did).
 */
static ErrorCode refuse_ztunnel_links(struct daemon *d, int netns_fd,
				      const struct veth_target *t, char *msg,
				      size_t len)
{
	for (int i = 0; i < MAX_ZTUNNELS; i++) {
		const struct ztunnel *zt = d->st.zts[i];

		if (!zt)
			continue;
		if (zt->host_ifindex == t->host_ifindex &&
		    !strcmp(zt->host_veth, t->host_veth))
			return answer(msg, len, EC(CONFLICT),
				      "%s is ztunnel %s's veth, never a pod's",
				      t->host_veth, zt->uid);
		if (ztunnel_netns_is(d, zt, netns_fd, t->nsid))
			return answer(msg, len, EC(CONFLICT),
				      "that network namespace is ztunnel "
				      "%s's, never a pod's",
				      zt->uid);
	}
	return EC(OK);
}

struct addr_check {
	const struct addr_key *want;
	size_t n;
	int ifindex;
	bool found[WIRE_MAX_IPS];
};

static int note_pod_addr(int family, const void *addr, int ifindex, void *arg)
{
	struct addr_check *c = arg;
	struct addr_key k;

	if (ifindex != c->ifindex)
		return 0;
	addr_key_from_bytes(family, addr, &k);
	for (size_t i = 0; i < c->n; i++)
		if (!memcmp(&k, &c->want[i], sizeof(k)))
			c->found[i] = true;
	return 0;
}

/*
 * Every address a PodAdd claims must be configured on the pod's interface:
 * ztunnel_host_in delivers traffic for a claimed address into the pod and
 * app_outbound lets the pod send as it, so a false claim intercepts.
 */
static ErrorCode verify_pod_addrs(struct daemon *d, const struct veth_target *t,
				  const char *ifname,
				  const struct addr_key *addrs, size_t n,
				  char *msg, size_t len)
{
	struct addr_check c = { .want = addrs,
				.n = n,
				.ifindex = t->pod_ifindex };
	char text[INET6_ADDRSTRLEN];
	int err = addr_for_each_in_netns(d->nl, t->nsid, t->pod_ifindex,
					 note_pod_addr, &c);

	if (err)
		return answer(msg, len, EC(NETNS),
			      "reading the pod's addresses: %s",
			      strerror(-err));
	for (size_t i = 0; i < n; i++)
		if (!c.found[i])
			return answer(msg, len, EC(BAD_REQUEST),
				      "address %s is not configured on %s in "
				      "the pod's network namespace",
				      addr_key_format(&addrs[i], text,
						      sizeof(text)),
				      ifname);
	return EC(OK);
}

struct addr_match {
	const struct addr_key *a;
	bool found;
};

static int match_addr(const struct addr_key *addr, void *arg)
{
	struct addr_match *m = arg;

	if (!memcmp(addr, m->a, sizeof(*addr)))
		m->found = true;
	return 0;
}

/* l: the node_addr_list, read once per request (complete 0: the hash). */
static bool is_node_address(struct daemon *d, const struct node_addr_list *l,
			    const struct addr_key *a)
{
	struct addr_match m = { .a = a };

	if (l->complete)
		return addr_key_in(a, l->addrs, l->n);
	dp_node_addr_for_each(&d->dp, match_addr, &m);
	return m.found;
}

static bool is_ztunnel_address(struct daemon *d, const struct addr_key *a)
{
	for (int i = 0; i < MAX_ZTUNNELS; i++) {
		struct ztunnel *zt = d->st.zts[i];

		if (zt && addr_key_in(a, zt->addrs, zt->naddrs))
			return true;
	}
	return false;
}

/* Addresses of the node or of ztunnel can never be a pod's. */
static ErrorCode refuse_infra_addrs(struct daemon *d,
				    const struct addr_key *addrs, size_t n,
				    char *msg, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	struct node_addr_list l = { 0 };

	if (dp_node_addr_list_get(&d->dp, &l))
		l.complete = 0;
	for (size_t i = 0; i < n; i++) {
		const char *whose = NULL;

		if (is_node_address(d, &l, &addrs[i]))
			whose = "the node";
		else if (is_ztunnel_address(d, &addrs[i]))
			whose = "a ztunnel";

		if (whose)
			return answer(msg, len, EC(CONFLICT),
				      "address %s is %s's, never a pod's",
				      addr_key_format(&addrs[i], text,
						      sizeof(text)),
				      whose);
	}
	return EC(OK);
}

/*
 * Make sure no other live pod owns one of the addresses. The owner of an
 * address whose veth is gone is stale (its delete never came): removed.
 */
static ErrorCode claim_addrs(struct daemon *d, const char *uid,
			     const struct addr_key *addrs, size_t n, char *msg,
			     size_t len)
{
	char text[INET6_ADDRSTRLEN];
	struct pod_value pi;

	for (size_t i = 0; i < n; i++) {
		struct enrolled_pod *owner;

		if (dp_pod_get(&d->dp, &addrs[i], &pi))
			continue;
		owner = state_pod_by_addr(&d->st, &addrs[i]);
		if (!owner || !strcmp(owner->uid, uid))
			continue;
		if (veth_alive(d, owner->host_ifindex, owner->host_veth))
			return answer(
				msg, len, EC(CONFLICT),
				"address %s belongs to pod %s/%s (uid %s)",
				addr_key_format(&addrs[i], text, sizeof(text)),
				owner->ns, owner->name, owner->uid);
		pr_warn("pod %s: its veth is gone, handing its address on",
			owner->uid);
		if (remove_pod(d, owner))
			return answer(msg, len, EC(INTERNAL),
				      "journal: cannot forget stale pod %s",
				      owner->uid);
	}
	return EC(OK);
}

struct veth_owner {
	int ifindex;
	const char *uid;
	struct enrolled_pod *found;
};

static void match_veth(struct enrolled_pod *pod, void *arg)
{
	struct veth_owner *o = arg;

	if (pod->host_ifindex == o->ifindex && strcmp(pod->uid, o->uid))
		o->found = pod;
}

/*
 * One veth belongs to one pod: a second uid on it would lose its filters
 * when the first is deleted.
 */
static ErrorCode claim_veth(struct daemon *d, const char *uid,
			    const struct veth_target *t, char *msg, size_t len)
{
	struct veth_owner o = { .ifindex = t->host_ifindex, .uid = uid };

	state_pod_for_each(&d->st, match_veth, &o);
	if (!o.found)
		return EC(OK);
	if (!veth_alive(d, o.found->host_ifindex, o.found->host_veth)) {
		pr_warn("pod %s: its veth is gone, its ifindex reused",
			o.found->uid);
		if (remove_pod(d, o.found))
			return answer(msg, len, EC(INTERNAL),
				      "journal: cannot forget stale pod %s",
				      o.found->uid);
		return EC(OK);
	}
	return answer(msg, len, EC(CONFLICT),
		      "%s is already enrolled as pod %s/%s (uid %s)",
		      t->host_veth, o.found->ns, o.found->name, o.found->uid);
}

/* After a re-add: drop what the old record had and the new one has not. */
static void retire_old(struct daemon *d, const struct enrolled_pod *old,
		       const struct enrolled_pod *pod)
{
	for (size_t i = 0; i < old->naddrs; i++)
		if (!addr_key_in(&old->addrs[i], pod->addrs, pod->naddrs))
			unpublish_addrs(d, &old->addrs[i], 1,
					old->host_ifindex);
	if (old->host_ifindex != pod->host_ifindex &&
	    veth_alive(d, old->host_ifindex, old->host_veth))
		detach_pod_filters(d, old->host_ifindex, old->qdisc_created);
}

/* The record of a checked PodAdd (its addresses parsed by the check). */
static struct enrolled_pod *pod_from_add(const struct wire_request *r,
					 const struct veth_target *t)
{
	const PodAdd *a = r->msg->pod_add;
	struct enrolled_pod *p = pod_new(a->uid);

	if (!p)
		return NULL;
	free(p->name);
	free(p->ns);
	free(p->netns_path);
	free(p->container_id);
	p->name = strdup(a->name);
	p->ns = strdup(a->namespace_);
	p->netns_path = strdup(a->netns_path);
	p->container_id = strdup(a->container_id);
	if (!p->name || !p->ns || !p->netns_path || !p->container_id) {
		pod_free(p);
		return NULL;
	}
	snprintf(p->ifname, sizeof(p->ifname), "%s",
		 a->interface[0] ? a->interface : "eth0");
	strcpy(p->host_veth, t->host_veth);
	p->host_ifindex = t->host_ifindex;
	memcpy(p->mac, t->mac, 6);
	p->dns_capture = a->dns_capture;
	p->excl = pod_exclusions_copy(&r->excl);
	if (!p->excl && !excl_none(&r->excl)) {
		pod_free(p);
		return NULL;
	}
	memcpy(p->addrs, r->addrs, r->naddrs * sizeof(r->addrs[0]));
	p->naddrs = r->naddrs;
	return p;
}

static ErrorCode pod_add_in(struct daemon *d, struct conn_ctx *c,
			    const struct wire_request *r, int fd, char *msg,
			    size_t len);

ErrorCode h_pod_add(struct daemon *d, struct call *k)
{
	const PodAdd *a = k->req->msg->pod_add;
	int opened, fd;
	ErrorCode ec;

	fd = open_netns(k->conn, a->netns_path, k->netns_fd, &opened);
	if (fd < 0)
		return answer(k->msg, k->len, EC(NETNS),
			      "network namespace %s: %s",
			      netns_name(a->netns_path), netns_error(fd));
	ec = pod_add_in(d, k->conn, k->req, fd, k->msg, k->len);
	if (opened >= 0)
		close(opened);
	return ec;
}

/*
 * Take back what a failed add did: the entries it published and, on a
 * veth the pod did not have before, our hooks; the entries of the pod's
 * previous enrolment (a re-add), which it overwrote, are put back.
 */
static void undo_pod_add(struct daemon *d, const struct enrolled_pod *old,
			 const struct enrolled_pod *pod, bool created)
{
	bool same_veth = old && old->host_ifindex == pod->host_ifindex;

	note_kernel_error(d, publish_exclusions(d, pod, old),
			  "put the previous exclusions back",
			  pod->host_ifindex);
	for (size_t i = 0; i < pod->naddrs; i++)
		if (!same_veth ||
		    !addr_key_in(&pod->addrs[i], old->addrs, old->naddrs))
			unpublish_addrs(d, &pod->addrs[i], 1,
					pod->host_ifindex);
	if (!same_veth) {
		detach_pod_filters(d, pod->host_ifindex, created);
	} else {
		/* the veth keeps the hooks it had: only what this attempt
		 * added to them goes */
		if (created)
			drop_pod_qdisc_if_empty(d, pod->host_ifindex);
		if (pod->guard && !old->guard)
			detach_pod_guard(d, pod->host_ifindex);
	}
	if (old)
		note_kernel_error(d, publish_addrs(d, old),
				  "put the previous entries back",
				  old->host_ifindex);
}

/*
 * The host veth's clsact, the guard inside the pod, then our programs on
 * the host veth. Attaching the guard's TCX link waits for an RCU grace
 * period (tcx_entry_sync); made before it, the new clsact's first filter
 * then has no expedited grace period of its own to wait for
 * (docs/performance.md, "Enrolment"). In between, the guard already
 * sends back inbound packets that did not come through ztunnel; with no
 * app_outbound to take them, the node routes them back in and the guard
 * drops them on their second arrival (drop_returned_came_back): a pod
 * being enrolled fails closed for those microseconds, never open. A
 * refused attempt (a foreign filter in our slot) does the same, once.
 */
static int attach_pod(struct daemon *d, struct enrolled_pod *pod, int netns_fd,
		      int pod_ifindex, bool *created)
{
	int err;

	pod->tcx = pod_wants_tcx(d, pod->host_ifindex);
	err = prepare_pod_hooks(d, pod->host_ifindex, pod->tcx, created);
	if (err)
		return err;
	err = attach_pod_guard(d, netns_fd, pod_ifindex, pod->host_ifindex);
	if (err) {
		pr_warn("pod %s: inbound guard in its netns: %s", pod->uid,
			strerror(-err));
		return err;
	}
	pod->guard = d->guard_on;
	return attach_prepared_pod_hooks(d, pod->host_ifindex, pod->tcx);
}

/* The pod in the netns behind fd (open for the whole add). */
static ErrorCode pod_add_in(struct daemon *d, struct conn_ctx *c,
			    const struct wire_request *r, int fd, char *msg,
			    size_t len)
{
	const PodAdd *a = r->msg->pod_add;
	const char *ifname = a->interface[0] ? a->interface : "eth0";
	struct veth_target t;
	struct enrolled_pod *pod, *old;
	bool created = false;
	__u64 cookie;
	int err;
	ErrorCode ec;

	ec = find_pod_veth(d, fd, ifname, a->host_veth, &t, msg, len);
	if (!ec)
		ec = refuse_ztunnel_links(d, fd, &t, msg, len);
	if (ec)
		return ec;
	cookie = netns_cookie_of(d, fd);
	ec = claim_veth(d, a->uid, &t, msg, len);
	if (ec)
		return ec;
	pod = pod_from_add(r, &t);
	if (!pod)
		return answer(msg, len, EC(INTERNAL), "out of memory");
	ec = refuse_infra_addrs(d, pod->addrs, pod->naddrs, msg, len);
	if (!ec)
		ec = verify_pod_addrs(d, &t, ifname, pod->addrs, pod->naddrs,
				      msg, len);
	if (!ec)
		ec = claim_addrs(d, a->uid, pod->addrs, pod->naddrs, msg, len);
	if (ec)
		goto fail_pod;
	old = state_pod_find(&d->st, a->uid);
	err = publish_exclusions(d, old, pod);
	if (err) {
		ec = answer(msg, len, kernel_error(err),
			    "exclusion maps update: %s", strerror(-err));
		goto fail_undo;
	}
	err = publish_addrs(d, pod);
	if (err) {
		ec = answer(msg, len, kernel_error(err), "pods map update: %s",
			    strerror(-err));
		goto fail_undo;
	}
	err = attach_pod(d, pod, fd, t.pod_ifindex, &created);
	if (err) {
		ec = answer(msg, len, kernel_error(err), "attach to %s: %s%s",
			    t.host_veth, strerror(-err),
			    err == -EBUSY ? " (a foreign tc filter holds our "
					    "priority/handle)" :
					    "");
		goto fail_undo;
	}
	pod->qdisc_created = created;
	/* Journaled before it counts: a record that cannot be written fails
	 * the add and takes back what it did, as a failed attach does. */
	err = state_journal_pod_put(&d->st, pod);
	if (err) {
		ec = answer(msg, len, EC(INTERNAL),
			    "journal: %s; nothing enrolled", strerror(-err));
		goto fail_undo;
	}
	if (old) {
		if (old->host_ifindex == pod->host_ifindex)
			pod->qdisc_created |= old->qdisc_created;
		retire_old(d, old, pod);
	}
	publish_netns(d, pod->addrs, pod->naddrs, cookie);
	pod->enrolled_seq = ++d->pod_seq;
	state_pod_put(&d->st, pod);
	uid_set_add(&c->named, a->uid);
	pr_info("pod %s/%s (%s) enrolled on %s ifindex %d, %zu addresses",
		pod->ns, pod->name, pod->uid, pod->host_veth, pod->host_ifindex,
		pod->naddrs);
	return answer(msg, len, EC(OK), "enrolled on %s", pod->host_veth);
fail_undo:
	undo_pod_add(d, old, pod, created);
fail_pod:
	pod_free(pod);
	return ec;
}

/*
 * A guarded delete (a CNI DEL) names the sandbox it tears down; an
 * enrolment made by another sandbox, or one that cannot be told apart
 * (it recorded nothing to compare), is not its to remove.
 */
static const char *guard_mismatch(const struct enrolled_pod *pod,
				  const AmbientRedirect__V1__PodDelete *del)
{
	if (del->container_id[0] &&
	    strcmp(del->container_id, pod->container_id))
		return pod->container_id[0] ? "another container" :
					      "no container id to compare";
	if (del->netns_path[0] && strcmp(del->netns_path, pod->netns_path))
		return pod->netns_path[0] ? "another netns" :
					    "no netns path to compare";
	return NULL;
}

ErrorCode h_pod_delete(struct daemon *d, struct call *k)
{
	const AmbientRedirect__V1__PodDelete *del = k->req->msg->pod_delete;
	const char *uid = del->uid, *why;
	char *msg = k->msg;
	size_t len = k->len;
	struct enrolled_pod *pod = state_pod_find(&d->st, uid);
	int err;

	if (!pod)
		return answer(msg, len, EC(OK), "pod %s was not enrolled", uid);
	why = guard_mismatch(pod, del);
	if (why) {
		pr_info("pod %s: delete for container %s netns %s left alone "
			"(enrolled by %s)",
			uid, del->container_id, del->netns_path, why);
		return answer(msg, len, EC(OK),
			      "left alone: enrolled from %s (container %s, "
			      "netns %s)",
			      why, pod->container_id, pod->netns_path);
	}
	err = remove_pod(d, pod);
	if (err)
		return answer(msg, len, EC(INTERNAL),
			      "journal: %s; pod %s stays enrolled",
			      strerror(-err), uid);
	return EC(OK);
}

/*
 * A snapshot runs from its first PodKeep (or a bare SnapshotDone) to its
 * SnapshotDone, one at a time: two would each remove the other's pods.
 */
static ErrorCode snapshot_begin(struct daemon *d, struct conn_ctx *c, char *msg,
				size_t len)
{
	if (d->snapshot_conn && d->snapshot_conn != c)
		return answer(
			msg, len, EC(CONFLICT),
			"a snapshot is in progress on another connection; "
			"retry when it is done");
	if (!c->snapshot_active) {
		c->snapshot_active = true;
		c->snapshot_start = d->pod_seq;
		d->snapshot_conn = c;
	}
	return EC(OK);
}

void snapshot_end(struct daemon *d, struct conn_ctx *c)
{
	if (d->snapshot_conn == c)
		d->snapshot_conn = NULL;
	c->snapshot_active = false;
	uid_set_free(&c->named);
}

ErrorCode h_pod_keep(struct daemon *d, struct call *k)
{
	const char *uid = k->req->msg->pod_keep->uid;
	struct conn_ctx *c = k->conn;
	char *msg = k->msg;
	size_t len = k->len;
	ErrorCode ec = snapshot_begin(d, c, msg, len);

	if (ec)
		return ec;
	if (!state_pod_find(&d->st, uid))
		return answer(msg, len, EC(NOT_FOUND), "pod %s is not enrolled",
			      uid);
	if (uid_set_add(&c->named, uid))
		return answer(msg, len, EC(INTERNAL), "out of memory");
	return EC(OK);
}

/*
 * Remove the pods the snapshot did not name, among those enrolled before
 * it began: a PodAdd that another connection made meanwhile is newer than
 * anything the snapshot's sender could have known.
 */
ErrorCode h_snapshot_done(struct daemon *d, struct call *k)
{
	struct conn_ctx *c = k->conn;
	char *msg = k->msg;
	size_t len = k->len;
	size_t n, removed = 0, kept = d->st.npods;
	ErrorCode ec = snapshot_begin(d, c, msg, len);
	char **gone;

	if (ec)
		return ec;
	gone = state_pods_not_in(&d->st, &c->named, &n);
	if (!gone) {
		snapshot_end(d, c);
		return answer(msg, len, EC(INTERNAL), "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct enrolled_pod *pod = state_pod_find(&d->st, gone[i]);

		if (pod && pod->enrolled_seq <= c->snapshot_start &&
		    !remove_pod(d, pod))
			removed++;
		free(gone[i]);
	}
	free(gone);
	snapshot_end(d, c);
	return answer(msg, len, EC(OK), "snapshot: kept %zu, removed %zu",
		      kept - removed, removed);
}
