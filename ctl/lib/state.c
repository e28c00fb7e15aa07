// SPDX-License-Identifier: GPL-2.0
/*
 * What redirectd owns (state.h): the table of enrolled pods (hashed by
 * uid) and ztunnels, its lookups, the conversions to and from the wire's
 * records, and what the journal (journal.c) is told of each change and
 * replays into the table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "addr.h"
#include "journal.h"
#include "log.h"
#include "state.h"

#define INITIAL_BUCKETS 64
#define ADDR_STR 46

/* FNV-1a: short uids, no need for anything stronger. */
static size_t hash_uid(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

int state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
	journal_init(&st->journal);
	st->buckets = calloc(INITIAL_BUCKETS, sizeof(*st->buckets));
	if (!st->buckets)
		return -ENOMEM;
	st->nbuckets = INITIAL_BUCKETS;
	return 0;
}

void state_free(struct state *st)
{
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct enrolled_pod *p = st->buckets[i], *next;

		for (; p; p = next) {
			next = p->next;
			pod_free(p);
		}
	}
	free(st->buckets);
	for (int i = 0; i < MAX_ZTUNNELS; i++)
		ztunnel_free(st->zts[i]);
	journal_close(&st->journal);
	memset(st, 0, sizeof(*st));
	journal_init(&st->journal);
}

struct enrolled_pod *pod_new(const char *uid)
{
	struct enrolled_pod *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->uid = strdup(uid);
	p->name = strdup("");
	p->ns = strdup("");
	p->netns_path = strdup("");
	p->container_id = strdup("");
	if (!p->uid || !p->name || !p->ns || !p->netns_path ||
	    !p->container_id) {
		pod_free(p);
		return NULL;
	}
	return p;
}

void pod_free(struct enrolled_pod *p)
{
	if (!p)
		return;
	free(p->uid);
	free(p->name);
	free(p->ns);
	free(p->netns_path);
	free(p->container_id);
	free(p->uncovered);
	free(p->excl);
	free(p);
}

struct enrolled_pod *state_pod_find(const struct state *st, const char *uid)
{
	struct enrolled_pod *p = st->buckets[hash_uid(uid) % st->nbuckets];

	for (; p; p = p->next)
		if (!strcmp(p->uid, uid))
			return p;
	return NULL;
}

static void grow(struct state *st)
{
	size_t n = st->nbuckets * 2;
	struct enrolled_pod **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* keep the old table: slower, still correct */
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct enrolled_pod *p = st->buckets[i], *next;

		for (; p; p = next) {
			size_t h = hash_uid(p->uid) % n;

			next = p->next;
			p->next = b[h];
			b[h] = p;
		}
	}
	free(st->buckets);
	st->buckets = b;
	st->nbuckets = n;
}

void state_pod_put(struct state *st, struct enrolled_pod *pod)
{
	struct enrolled_pod *old = state_pod_remove(st, pod->uid);
	size_t h;

	pod_free(old);
	if (st->npods + 1 > st->nbuckets)
		grow(st);
	h = hash_uid(pod->uid) % st->nbuckets;
	pod->next = st->buckets[h];
	st->buckets[h] = pod;
	st->npods++;
	st->naddrs += pod->naddrs;
}

struct enrolled_pod *state_pod_remove(struct state *st, const char *uid)
{
	struct enrolled_pod **pp = &st->buckets[hash_uid(uid) % st->nbuckets];

	for (; *pp; pp = &(*pp)->next) {
		struct enrolled_pod *p = *pp;

		if (strcmp(p->uid, uid))
			continue;
		*pp = p->next;
		p->next = NULL;
		st->npods--;
		st->naddrs -= p->naddrs;
		return p;
	}
	return NULL;
}

void state_pod_for_each(const struct state *st,
			void (*fn)(struct enrolled_pod *pod, void *arg),
			void *arg)
{
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct enrolled_pod *p = st->buckets[i]; p; p = p->next)
			fn(p, arg);
}

struct enrolled_pod *state_pod_by_addr(const struct state *st,
				       const struct addr_key *addr)
{
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct enrolled_pod *p = st->buckets[i]; p; p = p->next)
			for (size_t a = 0; a < p->naddrs; a++)
				if (!memcmp(&p->addrs[a], addr, sizeof(*addr)))
					return p;
	return NULL;
}

struct ztunnel *ztunnel_new(const char *uid)
{
	struct ztunnel *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->netns_fd = -1;
	z->uid = strdup(uid);
	z->netns_path = strdup("");
	if (!z->uid || !z->netns_path) {
		ztunnel_free(z);
		return NULL;
	}
	return z;
}

void ztunnel_free(struct ztunnel *z)
{
	if (!z)
		return;
	if (z->netns_fd >= 0)
		close(z->netns_fd);
	free(z->uid);
	free(z->netns_path);
	free(z);
}

struct ztunnel *state_ztunnel_find(const struct state *st, const char *uid)
{
	for (int i = 0; i < MAX_ZTUNNELS; i++)
		if (st->zts[i] && !strcmp(st->zts[i]->uid, uid))
			return st->zts[i];
	return NULL;
}

struct ztunnel *state_ztunnel_current(const struct state *st)
{
	for (int i = 0; i < MAX_ZTUNNELS; i++)
		if (st->zts[i] && st->zts[i]->current)
			return st->zts[i];
	return NULL;
}

int state_ztunnel_put(struct state *st, struct ztunnel *zt)
{
	int free_slot = -1;

	for (int i = 0; i < MAX_ZTUNNELS; i++) {
		if (st->zts[i] && !strcmp(st->zts[i]->uid, zt->uid)) {
			ztunnel_free(st->zts[i]);
			st->zts[i] = zt;
			return 0;
		}
		if (!st->zts[i] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return -ENOSPC;
	st->zts[free_slot] = zt;
	return 0;
}

struct ztunnel *state_ztunnel_remove(struct state *st, const char *uid)
{
	for (int i = 0; i < MAX_ZTUNNELS; i++) {
		struct ztunnel *z = st->zts[i];

		if (z && !strcmp(z->uid, uid)) {
			st->zts[i] = NULL;
			return z;
		}
	}
	return NULL;
}

int uid_set_add(struct uid_set *set, const char *uid)
{
	char *copy;

	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 16;
		char **u = realloc(set->uids, cap * sizeof(*u));

		if (!u)
			return -ENOMEM;
		set->uids = u;
		set->cap = cap;
	}
	copy = strdup(uid);
	if (!copy)
		return -ENOMEM;
	set->uids[set->n++] = copy;
	set->sorted = false;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool uid_set_has(struct uid_set *set, const char *uid)
{
	if (!set->n)
		return false;
	if (!set->sorted) {
		qsort(set->uids, set->n, sizeof(char *), cmp_str);
		set->sorted = true;
	}
	return bsearch(&uid, set->uids, set->n, sizeof(char *), cmp_str);
}

void uid_set_free(struct uid_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->uids[i]);
	free(set->uids);
	memset(set, 0, sizeof(*set));
}

struct not_in {
	struct uid_set *set;
	char **uids;
	size_t n;
	bool oom;
};

static void collect_not_in(struct enrolled_pod *p, void *arg)
{
	struct not_in *c = arg;

	if (c->oom || uid_set_has(c->set, p->uid))
		return;
	c->uids[c->n] = strdup(p->uid);
	if (!c->uids[c->n])
		c->oom = true;
	else
		c->n++;
}

char **state_pods_not_in(const struct state *st, struct uid_set *set, size_t *n)
{
	struct not_in c = { .set = set,
			    .uids = calloc(st->npods + 1, sizeof(char *)) };

	*n = 0;
	if (!c.uids)
		return NULL;
	state_pod_for_each(st, collect_not_in, &c);
	*n = c.n;
	return c.uids;
}

/* --- conversions --- */

static char **format_addrs(const struct addr_key *addrs, size_t n)
{
	char **ips = malloc(n * (sizeof(char *) + ADDR_STR) + 1);
	char *text = (char *)(ips + n);

	if (!ips)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		ips[i] = text + i * ADDR_STR;
		addr_key_format(&addrs[i], ips[i], ADDR_STR);
	}
	return ips;
}

void info_release_ips(char **ips, size_t n)
{
	(void)n;
	free(ips);
}

static void format_mac(const __u8 *mac, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
}

static int parse_mac(const char *s, __u8 *mac)
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (__u8)b[i];
	return 0;
}

#define CIDR_STR EXCL_CIDR_STRLEN

/*
 * info's ips and exclusion lists in one block, ips first, so that
 * info_release_ips frees them all: pointers, then ports, then text.
 */
static char **format_pod_lists(const struct enrolled_pod *pod, PodInfo *info)
{
	const struct pod_exclusions *e = pod->excl;
	size_t nc = e ? e->ncidrs : 0, no = e ? e->nout : 0,
	       ni = e ? e->nin : 0, n = pod->naddrs;
	char **ips = malloc((n + nc) * sizeof(char *) +
			    (no + ni) * sizeof(uint32_t) + n * ADDR_STR +
			    nc * CIDR_STR + 1);
	uint32_t *ports = (uint32_t *)(ips + n + nc);
	char *text = (char *)(ports + no + ni);

	if (!ips)
		return NULL;
	for (size_t i = 0; i < n; i++, text += ADDR_STR) {
		ips[i] = text;
		addr_key_format(&pod->addrs[i], text, ADDR_STR);
	}
	if (!e)
		return ips;
	info->exclude_outbound_cidrs = ips + n;
	info->n_exclude_outbound_cidrs = nc;
	for (size_t i = 0; i < nc; i++, text += CIDR_STR) {
		ips[n + i] = text;
		excl_cidr_format(&e->cidrs[i], text, CIDR_STR);
	}
	info->exclude_outbound_ports = ports;
	info->n_exclude_outbound_ports = no;
	for (size_t i = 0; i < no; i++)
		*ports++ = e->out_ports[i];
	info->exclude_inbound_ports = ports;
	info->n_exclude_inbound_ports = ni;
	for (size_t i = 0; i < ni; i++)
		*ports++ = e->in_ports[i];
	info->bypass_inbound = e->bypass_inbound;
	return ips;
}

/* The strings point into pod; buf (>= 18 bytes) receives the MAC text. */
void pod_to_info(const struct enrolled_pod *pod, PodInfo *info, char *buf,
		 size_t buflen)
{
	ambient_redirect__v1__pod_info__init(info);
	info->uid = pod->uid;
	info->name = pod->name;
	info->namespace_ = pod->ns;
	info->netns_path = pod->netns_path;
	info->container_id = pod->container_id;
	info->attach = pod->tcx ? "tcx" : "tc";
	info->guard = pod->guard;
	info->interface = (char *)pod->ifname;
	info->host_veth = (char *)pod->host_veth;
	info->host_ifindex = (uint32_t)pod->host_ifindex;
	info->dns_capture = pod->dns_capture;
	info->qdisc_created = pod->qdisc_created;
	format_mac(pod->mac, buf, buflen);
	info->mac = buf;
	info->ips = format_pod_lists(pod, info);
	info->n_ips = info->ips ? pod->naddrs : 0;
}

/* NULL: nothing excluded; *err -EINVAL for lists that do not parse. */
static struct pod_exclusions *excl_from_info(const PodInfo *info, int *err)
{
	struct pod_exclusions *e = malloc(sizeof(*e));
	char msg[WIRE_MSG_LEN];

	*err = 0;
	if (!e) {
		*err = -ENOMEM;
		return NULL;
	}
	if (excl_parse(e, info->exclude_outbound_cidrs,
		       info->n_exclude_outbound_cidrs,
		       info->exclude_outbound_ports,
		       info->n_exclude_outbound_ports,
		       info->exclude_inbound_ports,
		       info->n_exclude_inbound_ports, info->bypass_inbound, msg,
		       sizeof(msg)))
		*err = -EINVAL;
	if (*err || excl_none(e)) {
		free(e);
		return NULL;
	}
	return e;
}

struct pod_exclusions *pod_exclusions_copy(const struct pod_exclusions *e)
{
	struct pod_exclusions *c;

	if (!e || excl_none(e))
		return NULL;
	c = malloc(sizeof(*c));
	if (c)
		*c = *e;
	return c;
}

static int copy_ifname(char *dst, const char *src)
{
	if (strlen(src) >= IF_NAMESIZE)
		return -EINVAL;
	strcpy(dst, src);
	return 0;
}

static int replace_str(char **dst, const char *src)
{
	char *s = strdup(src);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

struct enrolled_pod *pod_from_info(const PodInfo *info)
{
	struct enrolled_pod *p = pod_new(info->uid);
	char msg[WIRE_MSG_LEN];
	int err;

	if (!p)
		return NULL;
	if (replace_str(&p->name, info->name) ||
	    replace_str(&p->ns, info->namespace_) ||
	    replace_str(&p->netns_path, info->netns_path) ||
	    replace_str(&p->container_id, info->container_id) ||
	    copy_ifname(p->ifname, info->interface) ||
	    copy_ifname(p->host_veth, info->host_veth) ||
	    parse_mac(info->mac, p->mac) ||
	    wire_parse_ips(info->ips, info->n_ips, p->addrs, WIRE_MAX_IPS, msg,
			   sizeof(msg))) {
		pod_free(p);
		return NULL;
	}
	p->excl = excl_from_info(info, &err);
	if (err) {
		pod_free(p);
		return NULL;
	}
	p->naddrs = info->n_ips;
	p->host_ifindex = (int)info->host_ifindex;
	p->dns_capture = info->dns_capture;
	p->tcx = !strcmp(info->attach, "tcx");
	p->qdisc_created = info->qdisc_created;
	return p;
}

void ztunnel_to_info(const struct ztunnel *zt, ZtunnelInfo *info, char *buf,
		     size_t buflen)
{
	ambient_redirect__v1__ztunnel_info__init(info);
	info->uid = zt->uid;
	info->netns_path = zt->netns_path;
	info->interface = (char *)zt->ifname;
	info->host_veth = (char *)zt->host_veth;
	info->host_ifindex = (uint32_t)zt->host_ifindex;
	info->current = zt->current;
	info->qdisc_created = zt->qdisc_created;
	info->host_qdisc_created = zt->host_qdisc_created;
	info->capture_udp = zt->capture_udp;
	info->attach = zt->tcx ? "tcx" : "tc";
	format_mac(zt->mac, buf, buflen);
	info->mac = buf;
	info->ips = format_addrs(zt->addrs, zt->naddrs);
	info->n_ips = info->ips ? zt->naddrs : 0;
}

struct ztunnel *ztunnel_from_info(const ZtunnelInfo *info)
{
	struct ztunnel *z = ztunnel_new(info->uid);
	char msg[WIRE_MSG_LEN];

	if (!z)
		return NULL;
	if (replace_str(&z->netns_path, info->netns_path) ||
	    copy_ifname(z->ifname, info->interface) ||
	    copy_ifname(z->host_veth, info->host_veth) ||
	    parse_mac(info->mac, z->mac) ||
	    wire_parse_ips(info->ips, info->n_ips, z->addrs, WIRE_MAX_IPS, msg,
			   sizeof(msg))) {
		ztunnel_free(z);
		return NULL;
	}
	z->naddrs = info->n_ips;
	z->host_ifindex = (int)info->host_ifindex;
	z->current = info->current;
	z->qdisc_created = info->qdisc_created;
	z->host_qdisc_created = info->host_qdisc_created;
	z->capture_udp = info->capture_udp;
	z->tcx = !strcmp(info->attach, "tcx"); /* older records: tc */
	return z;
}

/* --- its journal: each change as a record, replayed into the table --- */

/* A put's record, info's ips (n_ips of naddrs) from format_addrs. */
static int append_put(struct state *st, const JournalEntry *e, char **ips,
		      size_t n_ips, size_t naddrs)
{
	int err;

	if (naddrs && !ips)
		return -ENOMEM;
	err = journal_append(&st->journal, e);
	info_release_ips(ips, n_ips);
	return err;
}

int state_journal_pod_put(struct state *st, const struct enrolled_pod *pod)
{
	JournalEntry e = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__INIT;
	PodInfo info;
	char mac[18];

	pod_to_info(pod, &info, mac, sizeof(mac));
	e.op_case = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_POD_PUT;
	e.pod_put = &info;
	return append_put(st, &e, info.ips, info.n_ips, pod->naddrs);
}

int state_journal_pod_delete(struct state *st, const char *uid)
{
	JournalEntry e = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__INIT;

	e.op_case = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_POD_DELETE;
	e.pod_delete = (char *)uid;
	return journal_append(&st->journal, &e);
}

int state_journal_zt_put(struct state *st, const struct ztunnel *zt)
{
	JournalEntry e = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__INIT;
	ZtunnelInfo info;
	char mac[18];

	ztunnel_to_info(zt, &info, mac, sizeof(mac));
	e.op_case = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_ZTUNNEL_PUT;
	e.ztunnel_put = &info;
	return append_put(st, &e, info.ips, info.n_ips, zt->naddrs);
}

int state_journal_zt_delete(struct state *st, const char *uid)
{
	JournalEntry e = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__INIT;

	e.op_case = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_ZTUNNEL_DELETE;
	e.ztunnel_delete = (char *)uid;
	return journal_append(&st->journal, &e);
}

static void replay_entry(const JournalEntry *e, void *arg)
{
	struct state *st = arg;
	struct enrolled_pod *p;
	struct ztunnel *z;

	switch (e->op_case) {
	case AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_POD_PUT:
		p = pod_from_info(e->pod_put);
		if (p)
			state_pod_put(st, p);
		else
			pr_warn("journal: skipping an unreadable pod record");
		break;
	case AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_POD_DELETE:
		pod_free(state_pod_remove(st, e->pod_delete));
		break;
	case AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_ZTUNNEL_PUT:
		z = ztunnel_from_info(e->ztunnel_put);
		if (!z || state_ztunnel_put(st, z)) {
			pr_warn("journal: skipping a ztunnel record");
			ztunnel_free(z);
		}
		break;
	case AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_ZTUNNEL_DELETE:
		ztunnel_free(state_ztunnel_remove(st, e->ztunnel_delete));
		break;
	default:
		break;
	}
}

int state_journal_replay(struct state *st, const char *path)
{
	int err = journal_replay(&st->journal, path, replay_entry, st);

	if (err && err != -ENOENT)
		return pr_ret(err, "open %s: %s", path, strerror(-err));
	return 0;
}

int state_journal_begin(struct state *st, const char *path)
{
	int err = journal_set_path(&st->journal, path);

	if (err)
		return err;
	err = state_journal_compact(st);
	return err ? journal_keep_appending(&st->journal, err) : 0;
}

int state_journal_open(struct state *st, const char *path)
{
	int err = state_journal_replay(st, path);

	return err ? err : state_journal_begin(st, path);
}

int state_journal_read(struct state *st, const char *path)
{
	return journal_replay(&st->journal, path, replay_entry, st);
}

struct compact_ctx {
	struct state *st;
	int err;
};

static void put_pod_record(struct enrolled_pod *p, void *arg)
{
	struct compact_ctx *c = arg;

	if (!c->err)
		c->err = state_journal_pod_put(c->st, p);
}

/* One put per live pod and ztunnel: all a rewritten journal holds. */
static int put_live(struct state *st)
{
	struct compact_ctx c = { .st = st };

	state_pod_for_each(st, put_pod_record, &c);
	for (int i = 0; i < MAX_ZTUNNELS && !c.err; i++)
		if (st->zts[i])
			c.err = state_journal_zt_put(st, st->zts[i]);
	return c.err;
}

int state_journal_compact(struct state *st)
{
	struct journal_rewrite rw;
	int err = journal_rewrite_begin(&st->journal, &rw);

	return err ? err : journal_rewrite_end(&st->journal, &rw, put_live(st));
}

int state_journal_tidy(struct state *st)
{
	int due = journal_due(&st->journal, st->npods + MAX_ZTUNNELS);

	return due > 0 ? state_journal_compact(st) : due;
}
