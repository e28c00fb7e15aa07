// SPDX-License-Identifier: GPL-2.0
/*
 * redirectd's core: the request path (decode, validate, roles, dispatch),
 * and what the handlers share. The handlers are in daemon_pods.c,
 * daemon_ztunnel.c, daemon_query.c; our hooks in daemon_hooks.c;
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
