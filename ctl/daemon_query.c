// SPDX-License-Identifier: GPL-2.0
/*
 * Queries: status, the paged pod list, one pod, the datapath counters.
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
#include "daemon_query.h"
#include "log.h"

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

/* A pod's record for a reply: the journaled one, and what the sweep saw. */
static void pod_info_of(const struct enrolled_pod *pod, PodInfo *pi,
			char mac[18])
{
	pod_to_info(pod, pi, mac, 18);
	pi->uncovered = pod->uncovered ? pod->uncovered : "";
}

/* As the datapath has them, not as redirectd meant to write them. */
static void status_node_addrs(struct daemon *d, struct status_block *b)
{
	struct node_addr_list l;

	b->s.node_addresses = b->ptrs;
	if (dp_node_addr_for_each(&d->dp, add_node_addr_text, b))
		pr_warn("status: reading node_addrs failed");
	b->s.node_addresses_inline = !dp_node_addr_list_get(&d->dp, &l) &&
				     l.complete;
}

ErrorCode h_status(struct daemon *d, struct call *k)
{
	Reply *reply = k->reply;
	struct status_block *b = calloc(1, sizeof(*b));
	struct ztunnel *zt = state_ztunnel_current(&d->st);
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
	s->ztunnel_attach = !zt ? "" : zt->tcx ? "tcx" : "tc";
	s->ztunnel_foreign_first = zt && zt->order_reported;
	s->pods_uncovered = pods_uncovered(d);
	s->bpffs = (char *)d->opts.bpffs;
	s->tc_priority = d->opts.tc_priority;
	s->tc_handle = d->opts.tc_handle;
	s->fail_open = d->opts.fail_open;
	s->requests = d->requests;
	s->request_errors = d->request_errors;
	s->journal_write_errors = d->st.journal.errors;
	s->journal_error = d->st.journal.dirty ?
				   (char *)strerror(-d->st.journal.last_error) :
				   "";
	s->journal_damaged = d->st.journal.damaged;
	s->order_checks = d->order_checks;
	s->order_violations = d->order_violations;
	s->order_restored = d->order_restored;
	s->attach_mode = d->opts.attach == ATTACH_TC  ? "tc" :
			 d->opts.attach == ATTACH_TCX ? "tcx" :
							"auto";
	s->guard = d->guard_on ? "on" : (char *)d->guard_off;
	s->kernel_errors = d->kernel_errors;
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

static void collect_after(struct enrolled_pod *pod, void *arg)
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
		ztunnel_to_info(d->st.zts[i], &b->zts[n], macs[n], 18);
		b->zptr[n] = &b->zts[n];
		b->pl.n_ztunnels++;
		used += ambient_redirect__v1__ztunnel_info__get_packed_size(
				&b->zts[n]) +
			6;
	}
	return used;
}

ErrorCode h_list_pods(struct daemon *d, struct call *call)
{
	const Request *req = call->req->msg;
	Reply *reply = call->reply;
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

		pod_info_of(state_pod_find(&d->st, c.uids[i]), pi, b->macs[i]);
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
ErrorCode h_pod_get(struct daemon *d, struct call *k)
{
	const char *uid = k->req->msg->pod_get->uid;
	struct enrolled_pod *pod = state_pod_find(&d->st, uid);
	Reply *reply = k->reply;
	struct {
		PodInfo pi; /* first: daemon_reply_release frees the block */
		char mac[18];
	} * b;

	if (!pod)
		return answer(k->msg, k->len, EC(NOT_FOUND),
			      "pod %s is not enrolled", uid);
	b = calloc(1, sizeof(*b));
	if (!b)
		return EC(INTERNAL);
	pod_info_of(pod, &b->pi, b->mac);
	reply->body_case = REPLY_BODY(POD);
	reply->pod = &b->pi;
	return EC(OK);
}

void release_list(PodList *pl)
{
	for (size_t i = 0; i < pl->n_pods; i++)
		info_release_ips(pl->pods[i]->ips, pl->pods[i]->n_ips);
	for (size_t i = 0; i < pl->n_ztunnels; i++)
		info_release_ips(pl->ztunnels[i]->ips, pl->ztunnels[i]->n_ips);
	free(pl); /* first member of its list_block */
}

ErrorCode h_stats(struct daemon *d, struct call *k)
{
	Reply *reply = k->reply;
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
		return answer(k->msg, k->len, EC(KERNEL), "read counters: %s",
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
