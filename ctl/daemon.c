// SPDX-License-Identifier: GPL-2.0
/*
 * Request handlers and reconciliation. Every change follows one order:
 * check everything that can be checked, change the kernel (rolling back
 * on failure, so nothing is left half done), write the journal, reply.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include "daemon.h"
#include "log.h"

#define ZT_RULE_PRIO 100

static ErrorCode fail(char *msg, size_t len, ErrorCode ec, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));

static ErrorCode fail(char *msg, size_t len, ErrorCode ec, const char *fmt,
		      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return ec;
}

static ErrorCode kernel_error(int err)
{
	switch (err) {
	case -EBUSY:
		return EC(CONFLICT);
	case -E2BIG:
	case -ENOSPC:
	case -ENOMEM:
		return EC(CAPACITY);
	default:
		return EC(KERNEL);
	}
}

static struct tc_slot slot_of(const struct daemon *d, int ifindex,
			      enum tc_dir dir)
{
	struct tc_slot s = { .ifindex = ifindex,
			     .dir = dir,
			     .prio = d->opts.tc_priority,
			     .handle = d->opts.tc_handle };
	return s;
}

/* --- tc attach / detach --- */

static void remove_qdisc_if_empty(struct nl *nl, int ifindex)
{
	struct tc_filter_info f;

	if (tc_filter_list(nl, ifindex, TC_DIR_INGRESS, &f, 1) == 0 &&
	    tc_filter_list(nl, ifindex, TC_DIR_EGRESS, &f, 1) == 0)
		tc_clsact_delete(nl, ifindex);
}

static void detach_filter(struct daemon *d, struct nl *nl, int ifindex,
			  enum tc_dir dir, enum dp_prog prog)
{
	struct tc_slot s = slot_of(d, ifindex, dir);
	int err = tc_filter_detach(nl, &s, datapath_prog_name(prog));

	if (err && err != -ENOENT && err != -ENODEV)
		pr_warn("detach %s from ifindex %d: %s",
			datapath_prog_name(prog), ifindex, strerror(-err));
}

static int attach_filter(struct daemon *d, struct nl *nl, int ifindex,
			 enum tc_dir dir, enum dp_prog prog)
{
	struct tc_slot s = slot_of(d, ifindex, dir);

	return tc_filter_attach(nl, &s, datapath_prog_fd(&d->dp, prog),
				datapath_prog_name(prog));
}

static void detach_pod_filters(struct daemon *d, int ifindex, bool qdisc_ours)
{
	detach_filter(d, d->nl, ifindex, TC_DIR_INGRESS, DP_APP_OUTBOUND);
	detach_filter(d, d->nl, ifindex, TC_DIR_EGRESS, DP_APP_INBOUND);
	if (qdisc_ours)
		remove_qdisc_if_empty(d->nl, ifindex);
}

/* tc qdisc add dev V clsact; tc filter add dev V {ingress,egress} ... */
static int attach_pod_filters(struct daemon *d, int ifindex, bool *created)
{
	int err = tc_clsact_ensure(d->nl, ifindex, created);

	if (err)
		return err;
	err = attach_filter(d, d->nl, ifindex, TC_DIR_INGRESS,
			    DP_APP_OUTBOUND);
	if (!err)
		err = attach_filter(d, d->nl, ifindex, TC_DIR_EGRESS,
				    DP_APP_INBOUND);
	return err;
}

static bool veth_alive(struct daemon *d, int ifindex, const char *name)
{
	struct link_info li;

	return ifindex > 0 && !link_get_by_index(d->nl, ifindex, &li) &&
	       !strcmp(li.name, name);
}

/* --- pods --- */

/* Delete the map entries of pod's addresses that still point at it. */
static void unpublish_addrs(struct daemon *d, const struct addr_key *addrs,
			    size_t n, int host_ifindex)
{
	struct pod_info pi;

	for (size_t i = 0; i < n; i++)
		if (!dp_pod_get(&d->dp, &addrs[i], &pi) &&
		    (int)pi.host_ifindex == host_ifindex) {
			dp_pod_del(&d->dp, &addrs[i]);
			sockmap_netns_del(&d->sm, &addrs[i]);
		}
}

/* --- sockmap: which netns owns which address --- */

/* 0 when acceleration is off or the cookie cannot be had. */
static __u64 netns_cookie_of(struct daemon *d, int netns_fd)
{
	__u64 cookie = 0;
	int err;

	if (!d->sm.active || netns_fd < 0)
		return 0;
	err = netns_cookie(netns_fd, &cookie);
	if (err)
		pr_warn("sockmap: netns cookie: %s; its connections are not "
			"accelerated", strerror(-err));
	return err ? 0 : cookie;
}

static void publish_netns(struct daemon *d, const struct addr_key *addrs,
			  size_t n, __u64 cookie)
{
	int err = 0;

	for (size_t i = 0; i < n && cookie && !err; i++)
		err = sockmap_netns_set(&d->sm, &addrs[i], cookie);
	if (err)
		pr_warn("sockmap: sk_netns update: %s; some connections are "
			"not accelerated", strerror(-err));
}

/*
 * The current ztunnel's netns, for sock_ops. One known by fd only (after
 * a restart, without a path) keeps what is pinned.
 */
static void publish_ztunnel_netns(struct daemon *d, const struct ztunnel *zt)
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

/*
 * Remove a pod entirely: the journal first (a pod it cannot forget stays
 * enrolled, whole), then the maps (its traffic fails closed), then tc.
 */
static int remove_pod(struct daemon *d, struct pod *pod)
{
	int err = state_journal_pod_delete(&d->st, pod->uid);

	if (err)
		return err;
	unpublish_addrs(d, pod->addrs, pod->naddrs, pod->host_ifindex);
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
		return fail(msg, len, EC(NETNS),
			    "no id for the pod's network namespace: %s",
			    strerror(-nsid));
	err = link_get_in_netns_id(d->nl, nsid, ifname, &pod);

	if (err == -ENODEV || err == -ENOENT || err == -EINVAL)
		return fail(msg, len, EC(INTERFACE),
			    "interface %s not found in the network namespace",
			    ifname);
	if (err)
		return fail(msg, len, EC(NETNS),
			    "cannot enter the network namespace: %s",
			    strerror(-err));
	if (!pod.is_veth || pod.peer_ifindex <= 0 || !pod.has_mac)
		return fail(msg, len, EC(INTERFACE),
			    "interface %s is not a veth with a peer", ifname);
	err = link_get_by_index(d->nl, pod.peer_ifindex, &host);
	if (err || !host.is_veth || host.peer_ifindex != pod.ifindex ||
	    host.link_netnsid != nsid)
		return fail(msg, len, EC(INTERFACE),
			    "the peer of %s (ifindex %d) is not in redirectd's "
			    "network namespace", ifname, pod.peer_ifindex);
	if (want_host && want_host[0] && strcmp(want_host, host.name))
		return fail(msg, len, EC(INTERFACE),
			    "host_veth %s does not match the peer of %s, %s",
			    want_host, ifname, host.name);
	t->host_ifindex = host.ifindex;
	strcpy(t->host_veth, host.name);
	memcpy(t->mac, pod.mac, 6);
	t->nsid = nsid;
	t->pod_ifindex = pod.ifindex;
	return EC(OK);
}

struct addr_check {
	const struct addr_key *want;
	size_t n;
	int ifindex;
	bool found[WIRE_MAX_IPS];
};

static int note_pod_addr(int family, const void *addr, int ifindex,
			 void *arg)
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
	struct addr_check c = { .want = addrs, .n = n,
				.ifindex = t->pod_ifindex };
	char text[INET6_ADDRSTRLEN];
	int err = addr_for_each_in_netns(d->nl, t->nsid, t->pod_ifindex,
					 note_pod_addr, &c);

	if (err)
		return fail(msg, len, EC(NETNS),
			    "reading the pod's addresses: %s", strerror(-err));
	for (size_t i = 0; i < n; i++)
		if (!c.found[i])
			return fail(msg, len, EC(BAD_REQUEST),
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

static bool is_node_address(struct daemon *d, const struct addr_key *a)
{
	struct addr_match m = { .a = a };
	struct node_addr_list l;

	if (!dp_node_addr_list_get(&d->dp, &l) && l.complete)
		return addr_key_in(a, l.addrs, l.n);
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

	for (size_t i = 0; i < n; i++) {
		const char *whose = is_node_address(d, &addrs[i]) ? "the node" :
				    is_ztunnel_address(d, &addrs[i]) ?
							     "a ztunnel" :
							     NULL;

		if (whose)
			return fail(msg, len, EC(CONFLICT),
				    "address %s is %s's, never a pod's",
				    addr_key_format(&addrs[i], text,
						    sizeof(text)),
				    whose);
	}
	return EC(OK);
}

/*
 * The request's netns: the fd it carried (SCM_RIGHTS), checked here as
 * netns_open checks a path, or the path opened; *opened: ours to close.
 */
/*
 * With a passed fd, a path (journaled, reopened at the next start) must
 * name that same namespace, or a request could journal a path that is
 * not what it enrolled.
 */
static int check_fd_path(const char *path, int given_fd)
{
	int fd, same;

	if (!path[0])
		return 0;
	fd = netns_open(path);
	if (fd < 0)
		return fd;
	same = netns_same(fd, given_fd);
	close(fd);
	return same == 1 ? 0 : same < 0 ? same : -EXDEV;
}

static int open_netns(const char *path, int given_fd, int *opened)
{
	int err;

	*opened = -1;
	if (given_fd >= 0) {
		err = netns_check_fd(given_fd);
		if (!err)
			err = check_fd_path(path, given_fd);
		return err ? err : given_fd;
	}
	*opened = netns_open(path);
	return *opened;
}

static const char *netns_error(int err)
{
	if (err == -EXDEV)
		return "not the namespace of the fd sent with it";
	if (err == -EINVAL)
		return "not a network namespace";
	return strerror(-err);
}

static const char *netns_name(const char *path)
{
	return path && path[0] ? path : "(passed as fd)";
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
	struct pod_info pi;

	for (size_t i = 0; i < n; i++) {
		struct pod *owner;

		if (dp_pod_get(&d->dp, &addrs[i], &pi))
			continue;
		owner = state_pod_by_addr(&d->st, &addrs[i]);
		if (!owner || !strcmp(owner->uid, uid))
			continue;
		if (veth_alive(d, owner->host_ifindex, owner->host_veth))
			return fail(msg, len, EC(CONFLICT),
				    "address %s belongs to pod %s/%s (uid %s)",
				    addr_key_format(&addrs[i], text,
						    sizeof(text)),
				    owner->ns, owner->name, owner->uid);
		pr_warn("pod %s: its veth is gone, handing its address on",
			owner->uid);
		if (remove_pod(d, owner))
			return fail(msg, len, EC(INTERNAL),
				    "journal: cannot forget stale pod %s",
				    owner->uid);
	}
	return EC(OK);
}

struct veth_owner {
	int ifindex;
	const char *uid;
	struct pod *found;
};

static void match_veth(struct pod *pod, void *arg)
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
			    const struct veth_target *t, char *msg,
			    size_t len)
{
	struct veth_owner o = { .ifindex = t->host_ifindex, .uid = uid };

	state_pod_for_each(&d->st, match_veth, &o);
	if (!o.found)
		return EC(OK);
	if (!veth_alive(d, o.found->host_ifindex, o.found->host_veth)) {
		pr_warn("pod %s: its veth is gone, its ifindex reused",
			o.found->uid);
		if (remove_pod(d, o.found))
			return fail(msg, len, EC(INTERNAL),
				    "journal: cannot forget stale pod %s",
				    o.found->uid);
		return EC(OK);
	}
	return fail(msg, len, EC(CONFLICT),
		    "%s is already enrolled as pod %s/%s (uid %s)",
		    t->host_veth, o.found->ns, o.found->name, o.found->uid);
}

static int publish_addrs(struct daemon *d, const struct pod *pod)
{
	struct pod_info pi = { .host_ifindex = (__u32)pod->host_ifindex,
			       .flags = pod->dns_capture ? POD_F_DNS_CAPTURE :
							   0 };
	int err = 0;
	size_t i;

	memcpy(pi.mac, pod->mac, 6);
	for (i = 0; i < pod->naddrs && !err; i++)
		err = dp_pod_put(&d->dp, &pod->addrs[i], &pi);
	if (err)
		unpublish_addrs(d, pod->addrs, i, pod->host_ifindex);
	return err;
}

/* After a re-add: drop what the old record had and the new one has not. */
static void retire_old(struct daemon *d, const struct pod *old,
		       const struct pod *pod)
{
	for (size_t i = 0; i < old->naddrs; i++)
		if (!addr_key_in(&old->addrs[i], pod->addrs, pod->naddrs))
			unpublish_addrs(d, &old->addrs[i], 1,
					old->host_ifindex);
	if (old->host_ifindex != pod->host_ifindex &&
	    veth_alive(d, old->host_ifindex, old->host_veth))
		detach_pod_filters(d, old->host_ifindex, old->qdisc_created);
}

static struct pod *pod_from_add(const PodAdd *a, const struct veth_target *t)
{
	struct pod *p = pod_new(a->uid);
	char msg[WIRE_MSG_LEN];

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
	wire_parse_ips(a->ips, a->n_ips, p->addrs, WIRE_MAX_IPS, msg,
		       sizeof(msg));
	p->naddrs = a->n_ips;
	return p;
}

static ErrorCode h_pod_add(struct daemon *d, struct conn_ctx *c,
			   const PodAdd *a, int netns_fd, char *msg,
			   size_t len)
{
	const char *ifname = a->interface[0] ? a->interface : "eth0";
	struct veth_target t;
	struct pod *pod, *old;
	bool created = false;
	int opened, fd, err;
	__u64 cookie;
	ErrorCode ec;

	fd = open_netns(a->netns_path, netns_fd, &opened);
	if (fd < 0)
		return fail(msg, len, EC(NETNS), "network namespace %s: %s",
			    netns_name(a->netns_path), netns_error(fd));
	ec = find_pod_veth(d, fd, ifname, a->host_veth, &t, msg, len);
	cookie = ec ? 0 : netns_cookie_of(d, fd);
	if (opened >= 0)
		close(opened);
	if (ec)
		return ec;
	ec = claim_veth(d, a->uid, &t, msg, len);
	if (ec)
		return ec;
	pod = pod_from_add(a, &t);
	if (!pod)
		return fail(msg, len, EC(INTERNAL), "out of memory");
	ec = refuse_infra_addrs(d, pod->addrs, pod->naddrs, msg, len);
	if (!ec)
		ec = verify_pod_addrs(d, &t, ifname, pod->addrs, pod->naddrs,
				      msg, len);
	if (!ec)
		ec = claim_addrs(d, a->uid, pod->addrs, pod->naddrs, msg, len);
	if (ec)
		goto fail_pod;
	old = state_pod_find(&d->st, a->uid);
	err = publish_addrs(d, pod);
	if (err) {
		ec = fail(msg, len, kernel_error(err),
			  "pods map update: %s", strerror(-err));
		goto fail_pod;
	}
	err = attach_pod_filters(d, pod->host_ifindex, &created);
	if (err) {
		ec = fail(msg, len, kernel_error(err),
			  "attach to %s: %s%s", t.host_veth, strerror(-err),
			  err == -EBUSY ? " (a foreign tc filter holds our "
					  "priority/handle)" : "");
		if (!old || old->host_ifindex != pod->host_ifindex) {
			unpublish_addrs(d, pod->addrs, pod->naddrs,
					pod->host_ifindex);
			detach_pod_filters(d, pod->host_ifindex, created);
		}
		goto fail_pod;
	}
	pod->qdisc_created = created;
	/* Journaled before it counts: a record that cannot be written fails
	 * the add and takes back what it did, as a failed attach does. */
	err = state_journal_pod_put(&d->st, pod);
	if (err) {
		ec = fail(msg, len, EC(INTERNAL),
			  "journal: %s; nothing enrolled", strerror(-err));
		if (!old || old->host_ifindex != pod->host_ifindex) {
			unpublish_addrs(d, pod->addrs, pod->naddrs,
					pod->host_ifindex);
			detach_pod_filters(d, pod->host_ifindex, created);
		} else {
			publish_addrs(d, old);
		}
		goto fail_pod;
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
		pod->ns, pod->name, pod->uid, pod->host_veth,
		pod->host_ifindex, pod->naddrs);
	return fail(msg, len, EC(OK), "enrolled on %s", pod->host_veth);
fail_pod:
	pod_free(pod);
	return ec;
}

/*
 * A guarded delete (a CNI DEL) names the sandbox it tears down; an
 * enrolment made by another sandbox, or one that cannot be told apart
 * (it recorded nothing to compare), is not its to remove.
 */
static const char *guard_mismatch(const struct pod *pod,
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

static ErrorCode h_pod_delete(struct daemon *d,
			      const AmbientRedirect__V1__PodDelete *del,
			      char *msg, size_t len)
{
	const char *uid = del->uid, *why;
	struct pod *pod = state_pod_find(&d->st, uid);
	int err;

	if (!pod)
		return fail(msg, len, EC(OK), "pod %s was not enrolled", uid);
	why = guard_mismatch(pod, del);
	if (why) {
		pr_info("pod %s: delete for container %s netns %s left alone "
			"(enrolled by %s)", uid, del->container_id,
			del->netns_path, why);
		return fail(msg, len, EC(OK),
			    "left alone: enrolled from %s (container %s, "
			    "netns %s)", why, pod->container_id,
			    pod->netns_path);
	}
	err = remove_pod(d, pod);
	if (err)
		return fail(msg, len, EC(INTERNAL),
			    "journal: %s; pod %s stays enrolled", strerror(-err),
			    uid);
	return EC(OK);
}

/*
 * A snapshot runs from its first PodKeep (or a bare SnapshotDone) to its
 * SnapshotDone, one at a time: two would each remove the other's pods.
 */
static ErrorCode snapshot_begin(struct daemon *d, struct conn_ctx *c,
				char *msg, size_t len)
{
	if (d->snapshot_conn && d->snapshot_conn != c)
		return fail(msg, len, EC(CONFLICT),
			    "a snapshot is in progress on another connection; "
			    "retry when it is done");
	if (!c->snapshot_active) {
		c->snapshot_active = true;
		c->snapshot_start = d->pod_seq;
		d->snapshot_conn = c;
	}
	return EC(OK);
}

static void snapshot_end(struct daemon *d, struct conn_ctx *c)
{
	if (d->snapshot_conn == c)
		d->snapshot_conn = NULL;
	c->snapshot_active = false;
	uid_set_free(&c->named);
}

static ErrorCode h_pod_keep(struct daemon *d, struct conn_ctx *c,
			    const char *uid, char *msg, size_t len)
{
	ErrorCode ec = snapshot_begin(d, c, msg, len);

	if (ec)
		return ec;
	if (!state_pod_find(&d->st, uid))
		return fail(msg, len, EC(NOT_FOUND), "pod %s is not enrolled",
			    uid);
	if (uid_set_add(&c->named, uid))
		return fail(msg, len, EC(INTERNAL), "out of memory");
	return EC(OK);
}

/*
 * Remove the pods the snapshot did not name, among those enrolled before
 * it began: a PodAdd that another connection made meanwhile is newer than
 * anything the snapshot's sender could have known.
 */
static ErrorCode h_snapshot_done(struct daemon *d, struct conn_ctx *c,
				 char *msg, size_t len)
{
	size_t n, removed = 0, kept = d->st.npods;
	ErrorCode ec = snapshot_begin(d, c, msg, len);
	char **gone;

	if (ec)
		return ec;
	gone = state_pods_not_in(&d->st, &c->named, &n);
	if (!gone) {
		snapshot_end(d, c);
		return fail(msg, len, EC(INTERNAL), "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		struct pod *pod = state_pod_find(&d->st, gone[i]);

		if (pod && pod->enrolled_seq <= c->snapshot_start &&
		    !remove_pod(d, pod))
			removed++;
		free(gone[i]);
	}
	free(gone);
	snapshot_end(d, c);
	return fail(msg, len, EC(OK), "snapshot: kept %zu, removed %zu",
		    kept - removed, removed);
}

/* --- ztunnel --- */

static struct zt_routing zt_routing_of(const struct daemon *d)
{
	struct zt_routing r = { .mark = ZT_ROUTE_MARK_DEFAULT,
				.mask = ZT_ROUTE_MASK_DEFAULT,
				.table = ZT_ROUTE_TABLE_DEFAULT,
				.rule_prio = ZT_RULE_PRIO };
	(void)d;
	return r;
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
		fd = opened = netns_open(zt->netns_path);
	id = fd < 0 ? fd : netns_id_ensure(d->nl, fd);
	if (opened >= 0)
		close(opened);
	if (id < 0) {
		pr_warn("ztunnel %s: no netns id for its netns (%s): replies "
			"to connections it makes from a node address will "
			"pass uncaptured", zt->uid, strerror(-id));
		return -1;
	}
	return id;
}

static int publish_ztunnel(struct daemon *d, const struct ztunnel *zt)
{
	struct ztunnel_info zi = { 0 };
	int err;

	zi.netns_id = -1;
	if (zt) {
		zi.host_ifindex = (__u32)zt->host_ifindex;
		memcpy(zi.mac, zt->mac, 6);
		zi.present = 1;
		zi.flags = zt->capture_udp ? ZT_F_CAPTURE_UDP : 0;
		zi.netns_id = ztunnel_netns_id(d, zt);
	}
	zi.generation = ++d->zt_generation;
	err = dp_ztunnel_set(&d->dp, &zi);
	if (!err)
		publish_ztunnel_netns(d, zt);
	return err;
}

static void detach_ztunnel(struct daemon *d, struct ztunnel *zt)
{
	struct zt_routing r = zt_routing_of(d);
	struct nl *znl;
	int fd = zt->netns_fd, opened = -1;

	for (size_t i = 0; i < zt->naddrs; i++)
		sockmap_netns_del(&d->sm, &zt->addrs[i]);

	if (veth_alive(d, zt->host_ifindex, zt->host_veth)) {
		detach_filter(d, d->nl, zt->host_ifindex, TC_DIR_INGRESS,
			      DP_ZTUNNEL_HOST_IN);
		if (zt->host_qdisc_created)
			remove_qdisc_if_empty(d->nl, zt->host_ifindex);
	}
	if (fd < 0 && zt->netns_path[0])
		fd = opened = netns_open(zt->netns_path);
	if (fd < 0 || nl_open_in_netns(fd, &znl)) {
		pr_info("ztunnel %s: its netns is gone, nothing to detach "
			"there", zt->uid);
		goto out;
	}
	detach_filter(d, znl, zt->ifindex, TC_DIR_INGRESS, DP_ZTUNNEL_INGRESS);
	if (zt->qdisc_created)
		remove_qdisc_if_empty(znl, zt->ifindex);
	zt_routing_teardown(znl, &r);
	nl_close(znl);
out:
	if (opened >= 0)
		close(opened);
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
		return fail(msg, len, EC(NETNS),
			    "no id for ztunnel's network namespace: %s",
			    strerror(-nsid));
	err = link_get_in_netns_id(d->nl, nsid, zt->ifname, &li);
	if (err || !li.is_veth || li.peer_ifindex <= 0 || !li.has_mac)
		return fail(msg, len, EC(INTERFACE),
			    "interface %s in ztunnel's netns: %s", zt->ifname,
			    err ? strerror(-err) : "not a veth with a peer");
	err = link_get_by_index(d->nl, li.peer_ifindex, &host);
	if (err || !host.is_veth || host.peer_ifindex != li.ifindex ||
	    host.link_netnsid != nsid)
		return fail(msg, len, EC(INTERFACE),
			    "the peer of ztunnel's %s is not in redirectd's "
			    "network namespace", zt->ifname);
	zt->ifindex = li.ifindex;
	memcpy(zt->mac, li.mac, 6);
	zt->host_ifindex = host.ifindex;
	strcpy(zt->host_veth, host.name);
	return EC(OK);
}

/* Routing and ztunnel_ingress inside its netns; *was: what it was. */
static ErrorCode setup_ztunnel_netns(struct daemon *d, struct ztunnel *zt,
				     struct zt_saved *was, char *msg,
				     size_t len)
{
	struct zt_routing r = zt_routing_of(d);
	struct nl *znl;
	int err = nl_open_in_netns(zt->netns_fd, &znl);

	if (err)
		return fail(msg, len, EC(NETNS),
			    "cannot enter ztunnel's network namespace: %s",
			    strerror(-err));
	err = zt_routing_setup(znl, &r, was);
	if (!err)
		err = tc_clsact_ensure(znl, zt->ifindex, &zt->qdisc_created);
	if (!err)
		err = attach_filter(d, znl, zt->ifindex, TC_DIR_INGRESS,
				    DP_ZTUNNEL_INGRESS);
	nl_close(znl);
	if (err)
		return fail(msg, len, kernel_error(err),
			    "ztunnel netns setup: %s", strerror(-err));
	return EC(OK);
}

/* A refused add leaves ztunnel's netns as the add found it. */
static void restore_ztunnel_netns(struct daemon *d, struct ztunnel *zt,
				  const struct zt_saved *was)
{
	struct zt_routing r = zt_routing_of(d);
	struct nl *znl;

	if (nl_open_in_netns(zt->netns_fd, &znl))
		return;
	if (zt_routing_restore(znl, &r, was))
		pr_warn("ztunnel %s: restoring its netns failed", zt->uid);
	nl_close(znl);
}

static ErrorCode setup_ztunnel_host(struct daemon *d, struct ztunnel *zt,
				    char *msg, size_t len)
{
	int err = tc_clsact_ensure(d->nl, zt->host_ifindex,
				   &zt->host_qdisc_created);

	if (!err)
		err = attach_filter(d, d->nl, zt->host_ifindex, TC_DIR_INGRESS,
				    DP_ZTUNNEL_HOST_IN);
	if (err)
		return fail(msg, len, kernel_error(err),
			    "attach to ztunnel's %s: %s%s", zt->host_veth,
			    strerror(-err),
			    err == -EBUSY ? " (a foreign tc filter holds our "
					    "priority/handle)" : "");
	return EC(OK);
}

/* All of ztunnel's side, checked first; *touched: something changed. */
static ErrorCode setup_ztunnel(struct daemon *d, struct ztunnel *zt,
			       struct zt_saved *was, bool *touched,
			       char *msg, size_t len)
{
	ErrorCode ec = check_ztunnel_links(d, zt, msg, len);

	*touched = false;
	if (ec)
		return ec;
	*touched = true;
	ec = setup_ztunnel_netns(d, zt, was, msg, len);
	return ec ? ec : setup_ztunnel_host(d, zt, msg, len);
}

static struct ztunnel *zt_from_add(const ZtunnelAdd *a, int fd)
{
	struct ztunnel *zt = zt_new(a->uid);
	char msg[WIRE_MSG_LEN];

	if (!zt)
		return NULL;
	free(zt->netns_path);
	zt->netns_path = strdup(a->netns_path);
	zt->netns_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (!zt->netns_path || zt->netns_fd < 0) {
		zt_free(zt);
		return NULL;
	}
	snprintf(zt->ifname, sizeof(zt->ifname), "%s",
		 a->interface[0] ? a->interface : "eth0");
	wire_parse_ips(a->ips, a->n_ips, zt->addrs, WIRE_MAX_IPS, msg,
		       sizeof(msg));
	zt->naddrs = a->n_ips;
	zt->capture_udp = a->capture_udp;
	return zt;
}

static ErrorCode h_ztunnel_add(struct daemon *d, const ZtunnelAdd *a,
			       int netns_fd, char *msg, size_t len)
{
	struct ztunnel *zt, *prev;
	struct zt_saved was;
	int opened, fd, err;
	bool touched;
	ErrorCode ec;

	fd = open_netns(a->netns_path, netns_fd, &opened);
	if (fd < 0)
		return fail(msg, len, EC(NETNS), "network namespace %s: %s",
			    netns_name(a->netns_path), netns_error(fd));
	zt = zt_from_add(a, fd);
	if (opened >= 0)
		close(opened);
	if (!zt)
		return fail(msg, len, EC(INTERNAL), "out of memory");
	ec = setup_ztunnel(d, zt, &was, &touched, msg, len);
	if (ec) {
		if (touched && !state_zt_find(&d->st, a->uid)) {
			detach_ztunnel(d, zt);
			restore_ztunnel_netns(d, zt, &was);
		}
		zt_free(zt);
		return ec;
	}
	/* One map write switches new traffic to this ztunnel. */
	err = publish_ztunnel(d, zt);
	if (err) {
		detach_ztunnel(d, zt);
		zt_free(zt);
		return fail(msg, len, EC(KERNEL), "ztunnel map update: %s",
			    strerror(-err));
	}
	prev = state_zt_current(&d->st);
	if (prev && strcmp(prev->uid, zt->uid)) {
		prev->current = false;
		state_journal_zt_put(&d->st, prev);
	}
	zt->current = true;
	if (state_zt_put(&d->st, zt)) {
		/* Full: the oldest replaced ones linger; refuse politely. */
		publish_ztunnel(d, prev);
		if (prev) {
			prev->current = true;
			state_journal_zt_put(&d->st, prev);
		}
		detach_ztunnel(d, zt);
		zt_free(zt);
		return fail(msg, len, EC(CAPACITY),
			    "%d ztunnels known; delete replaced ones first",
			    MAX_ZTUNNELS);
	}
	state_journal_zt_put(&d->st, zt);
	pr_info("ztunnel %s active on %s (host %s ifindex %d)", zt->uid,
		zt->ifname, zt->host_veth, zt->host_ifindex);
	return fail(msg, len, EC(OK), "ztunnel active, host veth %s",
		    zt->host_veth);
}

static ErrorCode h_ztunnel_delete(struct daemon *d, const char *uid,
				  char *msg, size_t len)
{
	struct ztunnel *zt = state_zt_find(&d->st, uid);

	if (!zt)
		return fail(msg, len, EC(OK), "ztunnel %s was not known", uid);
	if (zt->current) {
		/* Meshed pods now fail closed until a new ztunnel arrives. */
		publish_ztunnel(d, NULL);
	}
	detach_ztunnel(d, zt);
	state_zt_remove(&d->st, uid);
	state_journal_zt_delete(&d->st, uid);
	pr_info("ztunnel %s removed%s", uid,
		zt->current ? "; meshed pods fail closed" : "");
	zt_free(zt);
	return EC(OK);
}

/* --- queries --- */

/* A status reply and its node address strings, freed as one block. */
struct status_block {
	StatusReply s; /* first: daemon_reply_release frees the block */
	char *ptrs[NODE_ADDRS_MAX];
	char text[NODE_ADDRS_MAX][INET6_ADDRSTRLEN];
};

static int add_node_addr_text(const struct addr_key *addr, void *arg)
{
	struct status_block *b = arg;
	size_t i = b->s.n_node_addresses;

	if (i == NODE_ADDRS_MAX)
		return 0;
	b->ptrs[i] = b->text[i];
	addr_key_format(addr, b->text[i], sizeof(b->text[i]));
	b->s.n_node_addresses++;
	return 0;
}

/* As the datapath has them, not as redirectd meant to write them. */
static void status_node_addrs(struct daemon *d, struct status_block *b)
{
	struct node_addr_list l;

	b->s.node_addresses = b->ptrs;
	if (dp_node_addr_for_each(&d->dp, add_node_addr_text, b))
		pr_warn("status: reading node_addrs failed");
	b->s.node_addresses_inline =
		!dp_node_addr_list_get(&d->dp, &l) && l.complete;
}

static ErrorCode h_status(struct daemon *d, Reply *reply)
{
	struct status_block *b = calloc(1, sizeof(*b));
	struct ztunnel *zt = state_zt_current(&d->st);
	StatusReply *s;

	if (!b)
		return EC(INTERNAL);
	s = &b->s;
	ambient_redirect__v1__status_reply__init(s);
	status_node_addrs(d, b);
	s->version = REDIRECT_VERSION;
	s->api_version = API_VERSION;
	s->pods = (uint32_t)d->st.npods;
	s->pod_addresses = (uint32_t)d->st.naddrs;
	s->pod_capacity = dp_pod_capacity(&d->dp);
	s->ztunnel_present = zt != NULL;
	s->ztunnel_uid = zt ? zt->uid : "";
	s->ztunnel_capture_udp = zt && zt->capture_udp;
	s->bpffs = (char *)d->opts.bpffs;
	s->tc_priority = d->opts.tc_priority;
	s->tc_handle = d->opts.tc_handle;
	s->fail_open = d->opts.fail_open;
	s->requests = d->requests;
	s->request_errors = d->request_errors;
	s->journal_write_errors = d->st.journal_errors;
	s->journal_error = d->st.journal_dirty ?
				   (char *)strerror(-d->st.journal_last_error) :
				   "";
	s->journal_damaged = d->st.journal_damaged;
	s->clients = d->clients;
	s->log_level = (char *)log_level_name(log_get_level());
	s->sockmap_active = d->sm.active;
	s->sockmap_reason = d->sm.reason;
	s->sockmap_cgroup = d->sm.cgroup;
	s->sockmap_pods = d->sm.pods;
	s->sockmap_pods_reason = d->sm.pods_reason;
	s->features = d->features;
	reply->body_case = REPLY_BODY(STATUS);
	reply->status = s;
	return EC(OK);
}

/*
 * A pod list lives in one allocation: the PodList, the pointer arrays,
 * the infos and their MAC strings; only the ips arrays are separate.
 */
/*
 * A page of the pod list: as many pods, in uid order after the cursor, as
 * fit in one reply packet (or the request's limit).
 */
#define LIST_BUDGET (WIRE_MAX_MSG - 2048) /* header, message, margin */
#define LIST_MAX_PAGE 4096

struct list_block {
	PodList pl;
	PodInfo **pptr;
	PodInfo *pods;
	ZtunnelInfo *zptr[MAX_ZTUNNELS];
	ZtunnelInfo zts[MAX_ZTUNNELS];
	char (*macs)[18];
};

struct uid_collect {
	const char *after;
	const char **uids;
	size_t n;
};

static void collect_after(struct pod *pod, void *arg)
{
	struct uid_collect *c = arg;

	if (!c->after[0] || strcmp(pod->uid, c->after) > 0)
		c->uids[c->n++] = pod->uid;
}

static int cmp_uid(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A field's bytes in the packed reply: its size, a tag and a length. */
static size_t packed_pod(const PodInfo *pi)
{
	return ambient_redirect__v1__pod_info__get_packed_size(pi) + 6;
}

static size_t list_ztunnels(struct daemon *d, struct list_block *b,
			    char (*macs)[18])
{
	size_t used = 0;

	for (int i = 0; i < MAX_ZTUNNELS; i++) {
		size_t n = b->pl.n_ztunnels;

		if (!d->st.zts[i])
			continue;
		zt_to_info(d->st.zts[i], &b->zts[n], macs[n], 18);
		b->zptr[n] = &b->zts[n];
		b->pl.n_ztunnels++;
		used += ambient_redirect__v1__ztunnel_info__get_packed_size(
				&b->zts[n]) + 6;
	}
	return used;
}

static ErrorCode h_list(struct daemon *d, const Request *req, Reply *reply)
{
	const char *after = req->list_pods->after_uid;
	size_t limit = req->list_pods->limit, used = 0, k;
	struct uid_collect c = { .after = after };
	struct list_block *b;
	char *p;

	if (!limit || limit > LIST_MAX_PAGE)
		limit = LIST_MAX_PAGE;
	c.uids = malloc((d->st.npods + 1) * sizeof(*c.uids));
	if (!c.uids)
		return EC(INTERNAL);
	state_pod_for_each(&d->st, collect_after, &c);
	qsort(c.uids, c.n, sizeof(*c.uids), cmp_uid);
	k = c.n < limit ? c.n : limit;
	b = calloc(1, sizeof(*b) + k * (sizeof(PodInfo *) + sizeof(PodInfo)) +
			      (k + MAX_ZTUNNELS) * 18);
	if (!b) {
		free(c.uids);
		return EC(INTERNAL);
	}
	p = (char *)(b + 1);
	b->pptr = (PodInfo **)p;
	b->pods = (PodInfo *)(p + k * sizeof(PodInfo *));
	b->macs = (char(*)[18])(b->pods + k);
	ambient_redirect__v1__pod_list__init(&b->pl);
	b->pl.pods = b->pptr;
	b->pl.ztunnels = b->zptr;
	if (!after[0])
		used = list_ztunnels(d, b, b->macs + k);
	for (size_t i = 0; i < k; i++) {
		PodInfo *pi = &b->pods[i];

		pod_to_info(state_pod_find(&d->st, c.uids[i]), pi, b->macs[i],
			    18);
		if (i && used + packed_pod(pi) > LIST_BUDGET) {
			info_release_ips(pi->ips, pi->n_ips);
			break;
		}
		used += packed_pod(pi);
		b->pptr[b->pl.n_pods++] = pi;
	}
	/* uids point into the state, which stays as it is until the reply
	 * has been encoded and sent */
	if (b->pl.n_pods < c.n)
		b->pl.next_uid = (char *)c.uids[b->pl.n_pods - 1];
	free(c.uids);
	reply->body_case = REPLY_BODY(PODS);
	reply->pods = &b->pl;
	return EC(OK);
}

/* One pod's record, for CNI CHECK and the like: no list to page through. */
static ErrorCode h_pod_get(struct daemon *d, const char *uid, Reply *reply,
			   char *msg, size_t len)
{
	struct pod *pod = state_pod_find(&d->st, uid);
	struct {
		PodInfo pi; /* first: daemon_reply_release frees the block */
		char mac[18];
	} *b;

	if (!pod)
		return fail(msg, len, EC(NOT_FOUND), "pod %s is not enrolled",
			    uid);
	b = calloc(1, sizeof(*b));
	if (!b)
		return EC(INTERNAL);
	pod_to_info(pod, &b->pi, b->mac, sizeof(b->mac));
	reply->body_case = REPLY_BODY(POD);
	reply->pod = &b->pi;
	return EC(OK);
}

static void release_list(PodList *pl)
{
	for (size_t i = 0; i < pl->n_pods; i++)
		info_release_ips(pl->pods[i]->ips, pl->pods[i]->n_ips);
	for (size_t i = 0; i < pl->n_ztunnels; i++)
		info_release_ips(pl->ztunnels[i]->ips, pl->ztunnels[i]->n_ips);
	free(pl); /* first member of its list_block */
}

static ErrorCode h_stats(struct daemon *d, Reply *reply, char *msg,
			 size_t len)
{
	struct counter_value vals[CNT_MAX];
	StatsReply *sr = calloc(1, sizeof(*sr));
	Counter *cs = calloc(CNT_MAX, sizeof(*cs));
	Counter **ptrs = calloc(CNT_MAX, sizeof(*ptrs));
	int err;

	if (!sr || !cs || !ptrs) {
		free(sr);
		free(cs);
		free(ptrs);
		return EC(INTERNAL);
	}
	ambient_redirect__v1__stats_reply__init(sr);
	sr->counters = ptrs;
	reply->body_case = REPLY_BODY(STATS);
	reply->stats = sr;
	err = dp_counters_read(&d->dp, vals);
	if (err) {
		free(cs);
		return fail(msg, len, EC(KERNEL), "read counters: %s",
			    strerror(-err));
	}
	for (int i = 0; i < CNT_MAX; i++) {
		ambient_redirect__v1__counter__init(&cs[i]);
		cs[i].program = (char *)counter_prog(i);
		cs[i].decision = (char *)counter_decision(i);
		cs[i].packets = vals[i].packets;
		cs[i].bytes = vals[i].bytes;
		ptrs[i] = &cs[i];
	}
	sr->n_counters = CNT_MAX;
	return EC(OK);
}

static ErrorCode h_hello(struct conn_ctx *c, Reply *reply)
{
	Hello *h = malloc(sizeof(*h));

	if (!h)
		return EC(INTERNAL);
	ambient_redirect__v1__hello__init(h);
	h->version = API_VERSION;
	h->client = "redirectd " REDIRECT_VERSION;
	reply->body_case = REPLY_BODY(HELLO);
	reply->hello = h;
	c->hello_done = true;
	return EC(OK);
}

void daemon_reply_release(Reply *reply)
{
	switch (reply->body_case) {
	case REPLY_BODY(HELLO):
		free(reply->hello);
		break;
	case REPLY_BODY(STATUS):
		free(reply->status);
		break;
	case REPLY_BODY(PODS):
		release_list(reply->pods);
		break;
	case REPLY_BODY(POD):
		info_release_ips(reply->pod->ips, reply->pod->n_ips);
		free(reply->pod);
		break;
	case REPLY_BODY(STATS):
		if (reply->stats->n_counters)
			free(reply->stats->counters[0]);
		free(reply->stats->counters);
		free(reply->stats);
		break;
	default:
		break;
	}
	if (reply->message && reply->message != protobuf_c_empty_string)
		free(reply->message);
	reply->body_case = AMBIENT_REDIRECT__V1__REPLY__BODY__NOT_SET;
	reply->message = NULL;
}

static ErrorCode dispatch(struct daemon *d, struct conn_ctx *c,
			  const Request *req, int netns_fd, Reply *reply,
			  char *msg, size_t len)
{
	switch (req->body_case) {
	case REQ(HELLO):
		return h_hello(c, reply);
	case REQ(POD_ADD):
		return h_pod_add(d, c, req->pod_add, netns_fd, msg, len);
	case REQ(POD_DELETE):
		return h_pod_delete(d, req->pod_delete, msg, len);
	case REQ(POD_KEEP):
		return h_pod_keep(d, c, req->pod_keep->uid, msg, len);
	case REQ(SNAPSHOT_DONE):
		return h_snapshot_done(d, c, msg, len);
	case REQ(ZTUNNEL_ADD):
		return h_ztunnel_add(d, req->ztunnel_add, netns_fd, msg, len);
	case REQ(ZTUNNEL_DELETE):
		return h_ztunnel_delete(d, req->ztunnel_delete->uid, msg, len);
	case REQ(STATUS):
		return h_status(d, reply);
	case REQ(LIST_PODS):
		return h_list(d, req, reply);
	case REQ(POD_GET):
		return h_pod_get(d, req->pod_get->uid, reply, msg, len);
	case REQ(STATS):
		return h_stats(d, reply, msg, len);
	case REQ(SET_LOG_LEVEL):
		log_set_level(log_level_from_name(req->set_log_level->level));
		return fail(msg, len, EC(OK), "log level %s",
			    req->set_log_level->level);
	default:
		return fail(msg, len, EC(BAD_REQUEST), "unknown request");
	}
}

/* Root holds every role; other peers what redirectd's options grant. */
static ErrorCode check_role(const struct conn_ctx *c, const Request *req,
			    char *msg, size_t len)
{
	const struct wire_request_def *def = wire_request_def(req);

	if (!def->role || (c->grants & def->role))
		return EC(OK);
	if (def->role == WIRE_ROLE_ADMIN)
		return fail(msg, len, EC(PERMISSION),
			    "%s is for root only (peer uid %u)", def->name,
			    (unsigned int)c->uid);
	return fail(msg, len, EC(PERMISSION),
		    "%s needs %s, which uid %u was not granted (redirectd "
		    "--allow-%s)",
		    def->name, wire_role_name(def->role),
		    (unsigned int)c->uid,
		    def->role == WIRE_ROLE_POD_WRITE ? "pod-writes" :
		    def->role == WIRE_ROLE_ZTUNNEL_WRITE ? "ztunnel-writes" :
							    "uid");
}

void daemon_handle(struct daemon *d, struct conn_ctx *c, const uint8_t *buf,
		   size_t len, bool truncated, int netns_fd, Reply *reply)
{
	char msg[WIRE_MSG_LEN] = "";
	Request *req = NULL;
	ErrorCode ec;

	ambient_redirect__v1__reply__init(reply);
	d->requests++;
	ec = wire_decode_request(buf, len, truncated, &req, msg, sizeof(msg));
	if (!ec) {
		reply->id = req->id;
		ec = wire_validate(req, netns_fd >= 0, msg, sizeof(msg));
	}
	if (!ec && !c->hello_done && req->body_case != REQ(HELLO))
		ec = fail(msg, sizeof(msg), EC(HELLO_REQUIRED),
			  "send a Hello (version %d) first", API_VERSION);
	if (!ec)
		ec = check_role(c, req, msg, sizeof(msg));
	if (!ec)
		ec = dispatch(d, c, req, netns_fd, reply, msg, sizeof(msg));
	/* after every request: a lagging journal rewritten, a long one cut */
	state_journal_tidy(&d->st);
	if (ec && !msg[0])
		snprintf(msg, sizeof(msg), "%s", wire_error_name(ec));
	if (ec) {
		d->request_errors++;
		pr_warn("request %s failed: %s: %s",
			req ? wire_request_name(req) : "?", wire_error_name(ec),
			msg);
	} else if (req) {
		pr_debug("request %s ok", wire_request_name(req));
	}
	if (netns_fd >= 0)
		close(netns_fd);
	reply->code = ec;
	reply->message = strdup(msg);
	if (!reply->message)
		reply->message = (char *)protobuf_c_empty_string;
	wire_request_free(req);
}

void daemon_conn_close(struct daemon *d, struct conn_ctx *c)
{
	/* A snapshot whose sender went away is abandoned, nothing removed. */
	snapshot_end(d, c);
}

/* --- start-up and reconciliation --- */

/* On by default when the kernel supports it; off leaves tc alone at work. */
static void start_sockmap(struct daemon *d)
{
	if (d->opts.no_sockmap)
		sockmap_stop(&d->sm, d->opts.bpffs,
			     "turned off with --no-sockmap");
	else if (!d->opts.cgroup)
		sockmap_stop(&d->sm, d->opts.bpffs, "no --cgroup given");
	else
		sockmap_start(&d->sm, &d->dp, d->opts.cgroup,
			      d->opts.sockmap_pods);
}

int daemon_init(struct daemon *d, const struct daemon_opts *opts)
{
	struct datapath_opts dpo = { .sz = sizeof(dpo),
				     .pin_dir = opts->bpffs,
				     .pod_addrs = opts->pod_capacity };
	struct settings set = { .flags = opts->fail_open ? SET_F_FAIL_OPEN :
							   0 };
	int err;

	memset(d, 0, sizeof(*d));
	d->opts = *opts;
	err = state_init(&d->st);
	if (err)
		return err;
	err = datapath_load(&d->dp, &dpo);
	if (err)
		goto fail_state;
	start_sockmap(d);
	err = nl_open(&d->nl);
	if (err) {
		pr_err("netlink: %s", strerror(-err));
		goto fail_dp;
	}
	err = dp_settings_set(&d->dp, &set);
	if (err)
		goto fail_nl;
	err = state_journal_open(&d->st, opts->state_file);
	if (err)
		goto fail_nl;
	return 0;
fail_nl:
	nl_close(d->nl);
fail_dp:
	sockmap_close(&d->sm);
	datapath_close(&d->dp);
fail_state:
	state_free(&d->st);
	return err;
}

void daemon_fini(struct daemon *d)
{
	nl_close(d->nl);
	sockmap_close(&d->sm);
	datapath_close(&d->dp);
	state_free(&d->st);
}

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

static int note_node_addr(int family, const void *addr, int ifindex,
			  void *arg)
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
		dp_node_addr_del(&s->d->dp, addr);
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
			"to the datapath", NODE_ADDRS_MAX);
	free(s.seen);
	return err;
}

struct pod_check {
	struct daemon *d;
	struct pod **gone;
	size_t ngone;
	int err;
};

static void check_pod(struct pod *pod, void *arg)
{
	struct pod_check *c = arg;
	bool created = false;
	int err;

	if (!veth_alive(c->d, pod->host_ifindex, pod->host_veth)) {
		c->gone[c->ngone++] = pod;
		return;
	}
	/* Re-publish and re-attach: the filters then run this build's code. */
	err = publish_addrs(c->d, pod);
	if (!err)
		err = attach_pod_filters(c->d, pod->host_ifindex, &created);
	if (err) {
		pr_err("pod %s: restore on %s failed: %s", pod->uid,
		       pod->host_veth, strerror(-err));
		c->err = err;
	}
}

static int drop_unknown_entry(const struct addr_key *addr,
			      const struct pod_info *info, void *arg)
{
	struct daemon *d = arg;
	struct pod *owner = state_pod_by_addr(&d->st, addr);
	char text[INET6_ADDRSTRLEN];

	if (owner && owner->host_ifindex == (int)info->host_ifindex)
		return 0;
	pr_info("reconcile: removing map entry %s of no enrolled pod",
		addr_key_format(addr, text, sizeof(text)));
	dp_pod_del(&d->dp, addr);
	return 0;
}

static bool ifindex_owned(struct daemon *d, int ifindex)
{
	for (size_t i = 0; i < d->st.nbuckets; i++)
		for (struct pod *p = d->st.buckets[i]; p; p = p->next)
			if (p->host_ifindex == ifindex)
				return true;
	for (int i = 0; i < MAX_ZTUNNELS; i++)
		if (d->st.zts[i] && d->st.zts[i]->host_ifindex == ifindex)
			return true;
	return false;
}

struct link_list {
	struct link_info *links;
	size_t n, cap;
};

static int collect_link(const struct link_info *li, void *arg)
{
	struct link_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct link_info *bigger = realloc(l->links, cap * sizeof(*li));

		if (!bigger)
			return -ENOMEM;
		l->links = bigger;
		l->cap = cap;
	}
	l->links[l->n++] = *li;
	return 0;
}

/* Filters of ours on links we do not know: left by an unacknowledged add. */
static void drop_orphan_filters(struct daemon *d, const struct link_info *li)
{
	struct tc_filter_info f;
	struct tc_slot in = slot_of(d, li->ifindex, TC_DIR_INGRESS);
	struct tc_slot out = slot_of(d, li->ifindex, TC_DIR_EGRESS);

	if (ifindex_owned(d, li->ifindex))
		return;
	if (!tc_filter_get(d->nl, &in, &f) &&
	    (!strcmp(f.name, "app_outbound") ||
	     !strcmp(f.name, "ztunnel_host_in"))) {
		pr_info("reconcile: removing orphan %s from %s", f.name,
			li->name);
		tc_filter_detach(d->nl, &in, f.name);
	}
	if (!tc_filter_get(d->nl, &out, &f) && !strcmp(f.name, "app_inbound")) {
		pr_info("reconcile: removing orphan %s from %s", f.name,
			li->name);
		tc_filter_detach(d->nl, &out, f.name);
	}
}

/* Walk the links first: no netlink request may run inside a dump. */
static void drop_all_orphan_filters(struct daemon *d)
{
	struct link_list l = { 0 };

	if (!link_for_each(d->nl, collect_link, &l))
		for (size_t i = 0; i < l.n; i++)
			drop_orphan_filters(d, &l.links[i]);
	free(l.links);
}

static void reconcile_ztunnels(struct daemon *d)
{
	char msg[WIRE_MSG_LEN];
	bool have_current = false;

	for (int i = 0; i < MAX_ZTUNNELS; i++) {
		struct ztunnel *zt = d->st.zts[i];
		ErrorCode ec = EC(NETNS);
		struct zt_saved was;
		bool touched;

		if (!zt)
			continue;
		if (!zt->netns_path[0]) {
			/* Known by fd only: its netns cannot be reopened, but
			 * its filter there lives on; restore the node side. */
			ec = veth_alive(d, zt->host_ifindex, zt->host_veth) &&
					     !attach_filter(d, d->nl,
							    zt->host_ifindex,
							    TC_DIR_INGRESS,
							    DP_ZTUNNEL_HOST_IN) ?
				     EC(OK) :
				     EC(INTERFACE);
			snprintf(msg, sizeof(msg), "host veth %s missing",
				 zt->host_veth);
		} else {
			/* SIGHUP: the fd of the last pass is replaced */
			if (zt->netns_fd >= 0)
				close(zt->netns_fd);
			zt->netns_fd = netns_open(zt->netns_path);
			if (zt->netns_fd >= 0)
				ec = setup_ztunnel(d, zt, &was, &touched, msg,
						   sizeof(msg));
			else
				snprintf(msg, sizeof(msg), "netns %s: %s",
					 zt->netns_path,
					 strerror(-zt->netns_fd));
		}
		if (ec) {
			pr_warn("ztunnel %s is gone (%s); removing it",
				zt->uid, msg);
			detach_ztunnel(d, zt);
			state_zt_remove(&d->st, zt->uid);
			state_journal_zt_delete(&d->st, zt->uid);
			zt_free(zt);
			continue;
		}
		state_journal_zt_put(&d->st, zt);
		if (zt->current) {
			publish_ztunnel(d, zt);
			have_current = true;
		}
	}
	if (!have_current)
		publish_ztunnel(d, NULL);
}

/* Pods known by path get their netns cookie again (a netns may be new). */
static void refresh_pod_netns(struct pod *pod, void *arg)
{
	struct daemon *d = arg;
	int fd;

	if (!pod->netns_path[0])
		return; /* known by fd only: the pinned entries stand */
	fd = open(pod->netns_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	publish_netns(d, pod->addrs, pod->naddrs, netns_cookie_of(d, fd));
	close(fd);
}

static bool zt_owns(struct daemon *d, const struct addr_key *addr)
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

	if (!state_pod_by_addr(&d->st, addr) && !zt_owns(d, addr))
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
	struct pod **gone;
	size_t n;
};

static void collect_gone(struct pod *pod, void *arg)
{
	struct gone_pods *g = arg;

	if (!veth_alive(g->d, pod->host_ifindex, pod->host_veth))
		g->gone[g->n++] = pod;
}

void daemon_prune_gone(struct daemon *d)
{
	struct gone_pods g = { .d = d };
	struct ztunnel *zt = state_zt_current(&d->st);

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
		publish_ztunnel(d, NULL);
		zt->current = false;
		state_journal_zt_put(&d->st, zt);
	}
}

int daemon_reconcile(struct daemon *d)
{
	struct pod_check c = { .d = d };
	int err;

	err = daemon_sync_node_addrs(d);
	if (err)
		pr_warn("node addresses: %s", strerror(-err));
	c.gone = calloc(d->st.npods + 1, sizeof(*c.gone));
	if (!c.gone)
		return -ENOMEM;
	state_pod_for_each(&d->st, check_pod, &c);
	for (size_t i = 0; i < c.ngone; i++) {
		pr_info("reconcile: pod %s lost its veth %s", c.gone[i]->uid,
			c.gone[i]->host_veth);
		remove_pod(d, c.gone[i]);
	}
	free(c.gone);
	dp_pod_for_each(&d->dp, drop_unknown_entry, d);
	reconcile_ztunnels(d);
	reconcile_sockmap(d);
	drop_all_orphan_filters(d);
	pr_info("reconciled: %zu pods, %zu addresses, ztunnel %s",
		d->st.npods, d->st.naddrs,
		state_zt_current(&d->st) ? "present" : "absent");
	return c.err;
}
