// SPDX-License-Identifier: GPL-2.0
/*
 * redirectd's core, its top: start and stop (daemon_init, daemon_fini),
 * and a client's request from packet to reply (decode, validate, the
 * session's Hello, roles, then the handler ctl/lib/requests.h names for
 * it). The handlers (daemon_pods.c, daemon_ztunnel.c, daemon_query.c) and
 * reconciliation (daemon_reconcile.c) sit below it, the pieces they share
 * (daemon_hooks.c, daemon_maps.c, daemon_netns.c, daemon_errors.c)
 * below them: docs/hacking.md draws the layers. Every change follows one
 * order: check everything that can be checked, change the kernel
 * (rolling back on failure, so nothing is left half done), write the
 * journal, reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "daemon.h"
#include "daemon_errors.h"
#include "daemon_pods.h"
#include "daemon_doctor.h"
#include "daemon_explain.h"
#include "daemon_query.h"
#include "daemon_ztunnel.h"
#include "requests.h"
#include "tcx.h"
#include "upgrade.h"
#include "log.h"

/* --- start and stop --- */

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

/* Ours (redirectd runs in the node netns): what pod_guard lets in. */
static __u64 node_netns_cookie(void)
{
	__u64 cookie;

	return netns_cookie_self(&cookie) ? 0 : cookie;
}

static void guard_decide(struct daemon *d, __u64 cookie)
{
	if (d->opts.no_guard)
		d->guard_off = "turned off with --no-guard";
	else if (!d->tcx_ok)
		d->guard_off = "the kernel has no TCX (Linux 6.6+)";
	else if (!cookie)
		d->guard_off = "the node netns cookie is unknown (Linux 5.14+)";
	else
		d->guard_on = true;
	if (!d->guard_on)
		pr_warn("inbound guard off: %s", d->guard_off);
}

/*
 * The journal's pods must all fit the pods map this start makes: a map
 * too small for them (a smaller --pod-capacity, or none given after a
 * larger one) would leave the pods that do not fit enrolled but without
 * working TCP (they fail closed). Refused before any pin or hook is
 * touched, so the datapath keeps running from the pins meanwhile.
 */
static int check_capacity(const struct daemon *d)
{
	__u32 cap = d->opts.pod_capacity ? d->opts.pod_capacity :
					   POD_ADDRS_DEFAULT;

	if (d->st.naddrs <= cap)
		return 0;
	pr_err("the journal %s holds %zu pod addresses, more than "
	       "--pod-capacity %u can hold: restart with --pod-capacity %zu "
	       "or more. Not starting; the datapath keeps running from the "
	       "pins in %s",
	       d->opts.state_file, d->st.naddrs, cap, d->st.naddrs,
	       d->opts.bpffs);
	return -ENOSPC;
}

int daemon_init(struct daemon *d, const struct daemon_opts *opts)
{
	struct dp_opts dpo = { .sz = sizeof(dpo),
			       .pin_dir = opts->bpffs,
			       .pod_addrs = opts->pod_capacity,
			       /* one build for both: TCX_NEXT also
				      * continues a cls_bpf chain */
			       .tcx_next = opts->attach != ATTACH_TC };
	struct settings set = { .flags = opts->fail_open ? SET_F_FAIL_OPEN :
							   0 };
	int err;

	memset(d, 0, sizeof(*d));
	d->opts = *opts;
	err = state_init(&d->st);
	if (err)
		return err;
	err = state_journal_replay(&d->st, opts->state_file);
	if (!err)
		err = check_capacity(d);
	if (err)
		goto fail_state;
	dpo.node_netns_cookie = node_netns_cookie();
	d->tcx_ok = tcx_supported();
	/* a TCX link of ours moves to the head through the spare, in any
	 * mode: journaled pods and ztunnels may have links from an earlier
	 * run */
	dpo.spare = d->tcx_ok;
	guard_decide(d, dpo.node_netns_cookie);
	err = dp_load(&d->dp, &dpo);
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
	err = state_journal_begin(&d->st, opts->state_file);
	if (err)
		goto fail_nl;
	return 0;
fail_nl:
	nl_close(d->nl);
fail_dp:
	sockmap_close(&d->sm);
	dp_close(&d->dp);
fail_state:
	state_free(&d->st);
	return err;
}

void daemon_fini(struct daemon *d)
{
	nl_close(d->nl);
	sockmap_close(&d->sm);
	dp_close(&d->dp);
	state_free(&d->st);
}

/* --- requests --- */

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
	case REPLY_BODY(EXPLAIN):
		free(reply->explain); /* first member of its block */
		break;
	case REPLY_BODY(DOCTOR):
		release_doctor(reply->doctor);
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

/* The session: a Hello answers with ours and opens the rest. */
static ErrorCode h_hello(struct daemon *d, struct call *k)
{
	Hello *h = malloc(sizeof(*h));

	if (!h)
		return EC(INTERNAL);
	ambient_redirect__v1__hello__init(h);
	h->version = API_VERSION;
	h->client = "redirectd " REDIRECT_VERSION;
	k->reply->body_case = REPLY_BODY(HELLO);
	k->reply->hello = h;
	k->conn->hello_done = true;
	return EC(OK);
}

static ErrorCode h_set_log_level(struct daemon *d, struct call *k)
{
	const char *level = k->req->msg->set_log_level->level;

	log_set_level(log_level_from_name(level));
	return answer(k->msg, k->len, EC(OK), "log level %s", level);
}

/* redirectd's column of ctl/lib/requests.h: the handlers. */
typedef ErrorCode handler_fn(struct daemon *d, struct call *k);
#define HANDLER_ROW(body, name, fd, role, validate, handle) \
	{ REQ(body), handle },
static const struct {
	int body_case;
	handler_fn *fn;
} handlers[] = { REDIRECT_REQUESTS(HANDLER_ROW) };
#undef HANDLER_ROW

static ErrorCode dispatch(struct daemon *d, struct call *k)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if ((int)k->req->msg->body_case == handlers[i].body_case)
			return handlers[i].fn(d, k);
	return answer(k->msg, k->len, EC(BAD_REQUEST), "unknown request");
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
			       struct wire_request *r, Reply *reply, char *msg,
			       size_t mlen)
{
	ErrorCode ec =
		wire_decode_request(buf, len, truncated, &r->msg, msg, mlen);

	if (!ec) {
		reply->id = r->msg->id;
		ec = wire_validate(r, netns_fd != -1, msg, mlen);
	}
	if (!ec && !c->hello_done && r->msg->body_case != REQ(HELLO))
		ec = answer(msg, mlen, EC(HELLO_REQUIRED),
			    "send a Hello (version %d) first", API_VERSION);
	if (!ec)
		ec = check_role(c, r->msg, msg, mlen);
	if (!ec && netns_fd == DAEMON_FD_REFUSED)
		ec = answer(msg, mlen, EC(NETNS),
			    "the descriptor sent with it is not a network "
			    "namespace (closed unused)");
	return ec;
}

/* Count and log the outcome; the reply gets its code and message. */
static void conclude(struct daemon *d, const Request *req, ErrorCode ec,
		     char *msg, size_t mlen, Reply *reply)
{
	if (ec && !msg[0])
		snprintf(msg, mlen, "%s", wire_error_name(ec));
	if (ec) {
		d->request_errors++;
		pr_warn("request %s failed: %s: %s",
			req ? wire_request_name(req) : "?", wire_error_name(ec),
			msg);
	} else if (req) {
		pr_debug("request %s ok", wire_request_name(req));
	}
	reply->code = ec;
	reply->message = strdup(msg);
	if (!reply->message)
		reply->message = (char *)protobuf_c_empty_string;
}

bool daemon_handle(struct daemon *d, struct conn_ctx *c, const uint8_t *buf,
		   size_t len, bool truncated, int netns_fd, Reply *reply)
{
	char msg[WIRE_MSG_LEN] = "";
	struct wire_request r = { 0 };
	struct call k = { .conn = c,
			  .req = &r,
			  .netns_fd = netns_fd,
			  .reply = reply,
			  .msg = msg,
			  .len = sizeof(msg) };
	ErrorCode ec;

	ambient_redirect__v1__reply__init(reply);
	ec = admit_request(c, buf, len, truncated, netns_fd, &r, reply, msg,
			   sizeof(msg));
	if (!ec && defer_for_path(d, c, r.msg)) {
		wire_request_free(r.msg);
		return false;
	}
	d->requests++;
	if (!ec)
		ec = dispatch(d, &k);
	/* after every request: a lagging journal rewritten, a long one cut */
	state_journal_tidy(&d->st);
	conclude(d, r.msg, ec, msg, sizeof(msg), reply);
	if (netns_fd >= 0)
		close(netns_fd); /* a netns: its close never blocks */
	path_release(c);
	wire_request_free(r.msg);
	return true;
}

void daemon_conn_close(struct daemon *d, struct conn_ctx *c)
{
	/* A snapshot whose sender went away is abandoned, nothing removed. */
	snapshot_end(d, c);
	path_release(c);
}
