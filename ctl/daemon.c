// SPDX-License-Identifier: GPL-2.0
/*
 * redirectd's core: the request path (decode, validate, roles, dispatch),
 * and what the handlers share (tc attach/detach, publishing). The
 * handlers are in daemon_pods.c, daemon_ztunnel.c, daemon_query.c;
 * start-up and reconciliation in daemon_reconcile.c. Every change follows
 * one order:
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
#include "daemon_int.h"
#include "requests.h"
#include "tcx.h"
#include "log.h"

ErrorCode answer(char *msg, size_t len, ErrorCode ec, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return ec;
}

ErrorCode kernel_error(int err)
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

/* --- tc attach / detach: ctl/lib/hooks.c, at our slot --- */

struct hook_slot hook_slot_of(const struct daemon *d)
{
	struct hook_slot hs = { .prio = d->opts.tc_priority,
				.handle = d->opts.tc_handle };
	return hs;
}

struct tc_slot slot_of(const struct daemon *d, int ifindex, enum tc_dir dir)
{
	struct hook_slot hs = hook_slot_of(d);

	return hook_slot_on(&hs, ifindex, dir);
}

void remove_qdisc_if_empty(struct nl *nl, int ifindex)
{
	hook_qdisc_drop_if_empty(nl, ifindex);
}

/*
 * A kernel operation whose failure nothing can refuse or undo (a detach,
 * a cleanup, a rollback, a resync): logged and counted (status and
 * metrics: kernel_errors). "Nothing there" (-ENOENT, -ENODEV) is success.
 */
void note_kernel_error(struct daemon *d, int err, const char *what, int ifindex)
{
	if (!err || err == -ENOENT || err == -ENODEV)
		return;
	d->kernel_errors++;
	pr_warn("%s (ifindex %d): %s", what, ifindex, strerror(-err));
}

void detach_filter(struct daemon *d, struct nl *nl, int ifindex,
		   enum tc_dir dir, enum dp_prog prog)
{
	struct hook_slot hs = hook_slot_of(d);

	note_kernel_error(d, hook_detach(nl, &hs, ifindex, dir, prog),
			  "detach a filter", ifindex);
}

int attach_filter(struct daemon *d, struct nl *nl, int ifindex, enum tc_dir dir,
		  enum dp_prog prog)
{
	struct hook_slot hs = hook_slot_of(d);

	return hook_attach(nl, &hs, ifindex, dir, &d->dp, prog);
}

/* Our cls_bpf filters only (the clsact stays: a pod moving to TCX). */
void detach_pod_filters_tc(struct daemon *d, int ifindex)
{
	struct hook_slot hs = hook_slot_of(d);

	note_kernel_error(d, hook_pod_detach(d->nl, &hs, ifindex, false, NULL),
			  "detach a pod's tc filters", ifindex);
}

/* Both kinds: whichever the pod had, nothing of ours stays. */
void detach_pod_filters(struct daemon *d, int ifindex, bool qdisc_ours)
{
	struct hook_slot hs = hook_slot_of(d);

	note_kernel_error(d, tcx_guard_detach(d->opts.bpffs, ifindex),
			  "unpin the guard's link", ifindex);
	note_kernel_error(d, tcx_detach(d->opts.bpffs, ifindex, TC_DIR_INGRESS),
			  "unpin a TCX link", ifindex);
	note_kernel_error(d, tcx_detach(d->opts.bpffs, ifindex, TC_DIR_EGRESS),
			  "unpin a TCX link", ifindex);
	note_kernel_error(
		d, hook_pod_detach(d->nl, &hs, ifindex, qdisc_ours, NULL),
		"detach a pod's tc filters", ifindex);
}

/*
 * --attach auto: TCX where the device already runs TCX programs (a CNI
 * such as Cilium 1.16+), whose verdict would otherwise end the chain
 * before any legacy filter of ours runs, or a foreign legacy filter at a
 * lower pref than ours, which could end it the same way.
 */
bool pod_wants_tcx(struct daemon *d, int ifindex)
{
	if (d->opts.attach != ATTACH_AUTO)
		return d->opts.attach == ATTACH_TCX;
	if (!d->tcx_ok)
		return false;
	return tcx_count(ifindex, TC_DIR_INGRESS) > 0 ||
	       tcx_count(ifindex, TC_DIR_EGRESS) > 0 ||
	       foreign_filter_before_ours(d, ifindex);
}

static int attach_pod_tcx(struct daemon *d, int ifindex)
{
	int err = tcx_attach_head(d->opts.bpffs, ifindex, TC_DIR_INGRESS,
				  dp_prog_fd(&d->dp, DP_APP_OUTBOUND));

	if (!err)
		err = tcx_attach_head(d->opts.bpffs, ifindex, TC_DIR_EGRESS,
				      dp_prog_fd(&d->dp, DP_APP_INBOUND));
	if (err)
		pr_warn("TCX attach to ifindex %d: %s", ifindex,
			strerror(-err));
	return err;
}

/* tc qdisc add dev V clsact; tc filter add ... (or the TCX links) */
int attach_pod_hooks(struct daemon *d, int ifindex, bool tcx, bool *created)
{
	struct hook_slot hs = hook_slot_of(d);

	*created = false;
	if (tcx)
		return attach_pod_tcx(d, ifindex);
	return hook_pod_attach(d->nl, &hs, &d->dp, ifindex, created);
}

/*
 * pod_guard on the pod's own interface (tc ingress inside its netns), as
 * a TCX link made from in there and pinned in our folder: replacing or
 * removing it later takes only the pin. Alone on that hook, it is TCX in
 * every attach mode (see docs/datapath.md, "The inbound guard").
 */
int attach_pod_guard(struct daemon *d, int netns_fd, int pod_ifindex,
		     int host_ifindex)
{
	int fd = dp_prog_fd(&d->dp, DP_POD_GUARD);
	char pin[512];
	int saved, err, lerr;

	if (!d->guard_on)
		return 0;
	tcx_guard_pin_path(d->opts.bpffs, host_ifindex, pin, sizeof(pin));
	err = netns_enter(netns_fd, &saved);
	if (err)
		return err;
	err = tcx_attach_head_at(pin, pod_ifindex, TC_DIR_INGRESS, fd);
	lerr = netns_leave(saved);
	return err ? err : lerr;
}

bool veth_alive(struct daemon *d, int ifindex, const char *name)
{
	return hook_veth_alive(d->nl, ifindex, name);
}

int veth_peer_nsid(struct daemon *d, int ifindex, const char *name)
{
	struct link_info li;

	if (ifindex <= 0 || link_get_by_index(d->nl, ifindex, &li) ||
	    strcmp(li.name, name) || !li.is_veth)
		return -1;
	return li.link_netnsid;
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

/*
 * The handlers, one per row of ctl/lib/requests.h, all of one shape:
 * each unpacks its body and calls the part of redirectd that does it.
 */
typedef ErrorCode (*handler_fn)(struct daemon *d, struct conn_ctx *c,
				const Request *req, int netns_fd, Reply *reply,
				char *msg, size_t len);

static ErrorCode r_hello(struct daemon *d, struct conn_ctx *c,
			 const Request *req, int fd, Reply *reply, char *msg,
			 size_t len)
{
	(void)d, (void)req, (void)fd, (void)msg, (void)len;
	return h_hello(c, reply);
}

static ErrorCode r_pod_add(struct daemon *d, struct conn_ctx *c,
			   const Request *req, int fd, Reply *reply, char *msg,
			   size_t len)
{
	(void)reply;
	return h_pod_add(d, c, req->pod_add, fd, msg, len);
}

static ErrorCode r_pod_delete(struct daemon *d, struct conn_ctx *c,
			      const Request *req, int fd, Reply *reply,
			      char *msg, size_t len)
{
	(void)c, (void)fd, (void)reply;
	return h_pod_delete(d, req->pod_delete, msg, len);
}

static ErrorCode r_pod_keep(struct daemon *d, struct conn_ctx *c,
			    const Request *req, int fd, Reply *reply, char *msg,
			    size_t len)
{
	(void)fd, (void)reply;
	return h_pod_keep(d, c, req->pod_keep->uid, msg, len);
}

static ErrorCode r_snapshot_done(struct daemon *d, struct conn_ctx *c,
				 const Request *req, int fd, Reply *reply,
				 char *msg, size_t len)
{
	(void)req, (void)fd, (void)reply;
	return h_snapshot_done(d, c, msg, len);
}

static ErrorCode r_ztunnel_add(struct daemon *d, struct conn_ctx *c,
			       const Request *req, int fd, Reply *reply,
			       char *msg, size_t len)
{
	(void)reply;
	return h_ztunnel_add(d, c, req->ztunnel_add, fd, msg, len);
}

static ErrorCode r_ztunnel_delete(struct daemon *d, struct conn_ctx *c,
				  const Request *req, int fd, Reply *reply,
				  char *msg, size_t len)
{
	(void)c, (void)fd, (void)reply;
	return h_ztunnel_delete(d, req->ztunnel_delete->uid, msg, len);
}

static ErrorCode r_status(struct daemon *d, struct conn_ctx *c,
			  const Request *req, int fd, Reply *reply, char *msg,
			  size_t len)
{
	(void)c, (void)req, (void)fd, (void)msg, (void)len;
	return h_status(d, reply);
}

static ErrorCode r_list_pods(struct daemon *d, struct conn_ctx *c,
			     const Request *req, int fd, Reply *reply,
			     char *msg, size_t len)
{
	(void)c, (void)fd, (void)msg, (void)len;
	return h_list(d, req, reply);
}

static ErrorCode r_pod_get(struct daemon *d, struct conn_ctx *c,
			   const Request *req, int fd, Reply *reply, char *msg,
			   size_t len)
{
	(void)c, (void)fd;
	return h_pod_get(d, req->pod_get->uid, reply, msg, len);
}

static ErrorCode r_stats(struct daemon *d, struct conn_ctx *c,
			 const Request *req, int fd, Reply *reply, char *msg,
			 size_t len)
{
	(void)c, (void)req, (void)fd;
	return h_stats(d, reply, msg, len);
}

static ErrorCode r_set_log_level(struct daemon *d, struct conn_ctx *c,
				 const Request *req, int fd, Reply *reply,
				 char *msg, size_t len)
{
	(void)d, (void)c, (void)fd, (void)reply;
	log_set_level(log_level_from_name(req->set_log_level->level));
	return answer(msg, len, EC(OK), "log level %s",
		      req->set_log_level->level);
}

/* redirectd's column of ctl/lib/requests.h. */
#define HANDLER_ROW(body, name, fd, role, validate) { REQ(body), r_##name },
static const struct {
	int body_case;
	handler_fn fn;
} handlers[] = { REDIRECT_REQUESTS(HANDLER_ROW) };
#undef HANDLER_ROW

static ErrorCode dispatch(struct daemon *d, struct conn_ctx *c,
			  const Request *req, int netns_fd, Reply *reply,
			  char *msg, size_t len)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if ((int)req->body_case == handlers[i].body_case)
			return handlers[i].fn(d, c, req, netns_fd, reply, msg,
					      len);
	return answer(msg, len, EC(BAD_REQUEST), "unknown request");
}

/* Root holds every role; other peers what redirectd's options grant. */
static ErrorCode check_role(const struct conn_ctx *c, const Request *req,
			    char *msg, size_t len)
{
	const struct wire_request_def *def = wire_request_def(req);

	if (!def->role || (c->grants & def->role))
		return EC(OK);
	if (def->role == WIRE_ROLE_ADMIN)
		return answer(msg, len, EC(PERMISSION),
			      "%s is for root only (peer uid %u)", def->name,
			      (unsigned int)c->uid);
	return answer(msg, len, EC(PERMISSION),
		      "%s needs %s, which uid %u was not granted (redirectd "
		      "--allow-%s)",
		      def->name, wire_role_name(def->role),
		      (unsigned int)c->uid,
		      def->role == WIRE_ROLE_POD_WRITE	   ? "pod-writes" :
		      def->role == WIRE_ROLE_ZTUNNEL_WRITE ? "ztunnel-writes" :
							     "uid");
}

/* The netns path a request has redirectd open, or NULL. */
static const char *request_netns_path(const Request *req)
{
	switch (req->body_case) {
	case REQ(POD_ADD):
		return req->pod_add->netns_path;
	case REQ(ZTUNNEL_ADD):
		return req->ztunnel_add->netns_path;
	default:
		return NULL;
	}
}

/*
 * opts.defer_paths: a request that names a netns path (and passed every
 * check) runs once that path was opened off the event loop, which can
 * take as long as the path's filesystem likes. Without memory for that,
 * it fails rather than open the path here.
 */
static bool defer_for_path(struct daemon *d, struct conn_ctx *c,
			   const Request *req)
{
	const char *path = request_netns_path(req);

	if (!d->opts.defer_paths || c->path.ready || !path || !path[0])
		return false;
	free(c->want_path);
	c->want_path = strdup(path);
	if (c->want_path)
		return true;
	c->path.ready = true;
	c->path.fd = -ENOMEM;
	return false;
}

static void path_release(struct conn_ctx *c)
{
	if (c->path.ready && c->path.fd >= 0)
		close(c->path.fd);
	c->path.ready = false;
	c->path.fd = -1;
	free(c->want_path);
	c->want_path = NULL;
}

/* Decode and every check before a request may run: OK, or why not. */
static ErrorCode admit_request(struct conn_ctx *c, const uint8_t *buf,
			       size_t len, bool truncated, int netns_fd,
			       Request **req, Reply *reply, char *msg,
			       size_t mlen)
{
	ErrorCode ec = wire_decode_request(buf, len, truncated, req, msg, mlen);

	if (!ec) {
		reply->id = (*req)->id;
		ec = wire_validate(*req, netns_fd != -1, msg, mlen);
	}
	if (!ec && !c->hello_done && (*req)->body_case != REQ(HELLO))
		ec = answer(msg, mlen, EC(HELLO_REQUIRED),
			    "send a Hello (version %d) first", API_VERSION);
	if (!ec)
		ec = check_role(c, *req, msg, mlen);
	if (!ec && netns_fd == DAEMON_FD_REFUSED)
		ec = answer(msg, mlen, EC(NETNS),
			    "the descriptor sent with it is not a network "
			    "namespace (closed unused)");
	return ec;
}

bool daemon_handle(struct daemon *d, struct conn_ctx *c, const uint8_t *buf,
		   size_t len, bool truncated, int netns_fd, Reply *reply)
{
	char msg[WIRE_MSG_LEN] = "";
	Request *req = NULL;
	ErrorCode ec;

	ambient_redirect__v1__reply__init(reply);
	ec = admit_request(c, buf, len, truncated, netns_fd, &req, reply, msg,
			   sizeof(msg));
	if (!ec && defer_for_path(d, c, req)) {
		wire_request_free(req);
		return false;
	}
	d->requests++;
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
		close(netns_fd); /* a netns: its close never blocks */
	path_release(c);
	reply->code = ec;
	reply->message = strdup(msg);
	if (!reply->message)
		reply->message = (char *)protobuf_c_empty_string;
	wire_request_free(req);
	return true;
}

void daemon_conn_close(struct daemon *d, struct conn_ctx *c)
{
	/* A snapshot whose sender went away is abandoned, nothing removed. */
	snapshot_end(d, c);
	path_release(c);
}

int daemon_netns_open(struct daemon *d, const char *path)
{
	return d->opts.open_journaled ? d->opts.open_journaled(path) :
					netns_open(path);
}
