// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "addr.h"
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
	st->journal_fd = -1;
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
	if (st->journal_fd >= 0)
		close(st->journal_fd);
	free(st->journal_path);
	memset(st, 0, sizeof(*st));
	st->journal_fd = -1;
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
	info->ips = format_addrs(pod->addrs, pod->naddrs);
	info->n_ips = info->ips ? pod->naddrs : 0;
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

/* --- journal ---
 *
 * File: the 8-byte magic, then records: u32 payload length, u32 CRC-32 of
 * the payload (both little endian), the payload (a JournalEntry). A record
 * goes out in one pwrite at the end; one that fails is cut off again, so
 * the file only ever holds whole records. Replay checks every CRC and
 * skips a damaged stretch up to the next whole record. A file without the
 * magic is the earlier format (length and payload), still replayed.
 */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * CRC-32 (IEEE 802.3, reflected, as zlib's crc32() and journals written
 * with it), table-driven; our own so the state code needs no zlib.
 */
static uint32_t record_crc(const uint8_t *payload, size_t len)
{
	static uint32_t table[256];
	uint32_t crc = 0xffffffffu;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ payload[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

static void note_write_error(struct state *st, int err)
{
	st->journal_dirty = true;
	st->journal_errors++;
	st->journal_last_error = err;
	pr_err("journal %s: write failed: %s", st->journal_path,
	       strerror(-err));
}

/* Append raw bytes at the end; on failure the file is cut back. */
static int journal_write(struct state *st, const uint8_t *buf, size_t len)
{
	ssize_t n = pwrite(st->journal_fd, buf, len, (off_t)st->journal_size);

	if (n == (ssize_t)len) {
		st->journal_size += len;
		return 0;
	}
	if (ftruncate(st->journal_fd, (off_t)st->journal_size))
		pr_warn("journal: cutting a partial record: %s",
			strerror(errno));
	return n < 0 ? -errno : -ENOSPC;
}

static int journal_append(struct state *st, const JournalEntry *e)
{
	size_t len = ambient_redirect__v1__journal_entry__get_packed_size(e);
	uint8_t *buf;
	int err;

	if (st->journal_fd < 0)
		return st->journal_path ? -EBADF : 0; /* degraded, or none */
	if (len > JOURNAL_MAX_RECORD)
		return -E2BIG;
	buf = malloc(len + JOURNAL_RECORD_HDR);
	if (!buf)
		return -ENOMEM;
	ambient_redirect__v1__journal_entry__pack(e, buf + JOURNAL_RECORD_HDR);
	put_le32(buf, (uint32_t)len);
	put_le32(buf + 4, record_crc(buf + JOURNAL_RECORD_HDR, len));
	err = journal_write(st, buf, len + JOURNAL_RECORD_HDR);
	free(buf);
	if (err) {
		note_write_error(st, err);
		return err;
	}
	st->journal_records++;
	return 0;
}

/*
 * Memory is the truth: after a failed write, the next successful
 * compaction writes all of it and the file is whole again.
 */
static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

int state_journal_tidy(struct state *st)
{
	size_t live = st->npods + MAX_ZTUNNELS;
	int err;

	if (!st->journal_path)
		return 0;
	if (st->journal_dirty) {
		/* a full disk: try again at most once a second */
		if (now_ms() < st->journal_retry_ms)
			return -EAGAIN;
		err = state_journal_compact(st);
		if (err)
			st->journal_retry_ms = now_ms() + 1000;
		return err;
	}
	if (st->journal_fd >= 0 && st->journal_records > 2 * live + 1024)
		return state_journal_compact(st);
	return 0;
}

int state_journal_pod_put(struct state *st, const struct enrolled_pod *pod)
{
	JournalEntry e = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__INIT;
	PodInfo info;
	char mac[18];
	int err;

	pod_to_info(pod, &info, mac, sizeof(mac));
	if (pod->naddrs && !info.ips)
		return -ENOMEM;
	e.op_case = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_POD_PUT;
	e.pod_put = &info;
	err = journal_append(st, &e);
	info_release_ips(info.ips, info.n_ips);
	return err;
}

int state_journal_pod_delete(struct state *st, const char *uid)
{
	JournalEntry e = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__INIT;

	e.op_case = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_POD_DELETE;
	e.pod_delete = (char *)uid;
	return journal_append(st, &e);
}

int state_journal_zt_put(struct state *st, const struct ztunnel *zt)
{
	JournalEntry e = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__INIT;
	ZtunnelInfo info;
	char mac[18];
	int err;

	ztunnel_to_info(zt, &info, mac, sizeof(mac));
	if (zt->naddrs && !info.ips)
		return -ENOMEM;
	e.op_case = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_ZTUNNEL_PUT;
	e.ztunnel_put = &info;
	err = journal_append(st, &e);
	info_release_ips(info.ips, info.n_ips);
	return err;
}

int state_journal_zt_delete(struct state *st, const char *uid)
{
	JournalEntry e = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__INIT;

	e.op_case = AMBIENT_REDIRECT__V1__JOURNAL_ENTRY__OP_ZTUNNEL_DELETE;
	e.ztunnel_delete = (char *)uid;
	return journal_append(st, &e);
}

static void replay_entry(struct state *st, const JournalEntry *e)
{
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

/* One record's payload, whole and checked; false: not a record here. */
static bool replay_one(struct state *st, const uint8_t *p, size_t len)
{
	JournalEntry *e =
		ambient_redirect__v1__journal_entry__unpack(NULL, len, p);

	if (!e)
		return false;
	replay_entry(st, e);
	ambient_redirect__v1__journal_entry__free_unpacked(e, NULL);
	return true;
}

static bool record_at(const uint8_t *buf, size_t size, size_t pos, size_t *len)
{
	size_t n;

	if (size - pos < JOURNAL_RECORD_HDR)
		return false;
	n = get_le32(buf + pos);
	if (n > JOURNAL_MAX_RECORD || size - pos - JOURNAL_RECORD_HDR < n ||
	    get_le32(buf + pos + 4) !=
		    record_crc(buf + pos + JOURNAL_RECORD_HDR, n))
		return false;
	*len = n;
	return true;
}

/*
 * Every whole record, in order. A damaged stretch (a bad CRC, a length
 * that runs past the end, a torn last record) is logged and skipped: the
 * next byte offset where a whole record starts goes on.
 */
static void replay_checked(struct state *st, const uint8_t *buf, size_t size)
{
	size_t pos = JOURNAL_MAGIC_LEN, len, records = 0, skipped = 0;
	size_t damage_at = 0;
	bool damaged = false;

	while (pos < size) {
		if (record_at(buf, size, pos, &len) &&
		    replay_one(st, buf + pos + JOURNAL_RECORD_HDR, len)) {
			if (damaged)
				pr_warn("journal: skipped %zu damaged bytes at "
					"offset %zu",
					pos - damage_at, damage_at);
			damaged = false;
			records++;
			pos += JOURNAL_RECORD_HDR + len;
			continue;
		}
		if (!damaged) {
			damaged = true;
			damage_at = pos;
			skipped++;
		}
		pos++;
	}
	if (damaged)
		pr_warn("journal: dropped %zu bytes at its end (a torn or "
			"damaged last record)",
			size - damage_at);
	pr_debug("journal: replayed %zu records, %zu damaged stretches",
		 records, skipped);
	st->journal_damaged += skipped;
}

/* The earlier format: no magic, no CRC. */
static void replay_legacy(struct state *st, const uint8_t *buf, size_t size)
{
	size_t pos = 0, len;

	while (size - pos >= 4) {
		len = get_le32(buf + pos);
		if (len > WIRE_MAX_MSG || size - pos - 4 < len) {
			pr_warn("journal: earlier format, unreadable from "
				"offset %zu on",
				pos);
			st->journal_damaged++;
			return;
		}
		if (!replay_one(st, buf + pos + 4, len)) {
			pr_warn("journal: skipping an undecodable record at "
				"offset %zu",
				pos);
			st->journal_damaged++;
		}
		pos += 4 + len;
	}
}

static int read_all(int fd, uint8_t **out, size_t *size)
{
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &sb))
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -EINVAL;
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (got < (size_t)sb.st_size &&
	       (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	*out = buf;
	*size = got;
	return 0;
}

static int replay_file(struct state *st, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	uint8_t *buf = NULL;
	size_t size = 0;
	int err;

	if (fd < 0)
		return -errno;
	err = read_all(fd, &buf, &size);
	close(fd);
	if (err)
		return err;
	if (size >= JOURNAL_MAGIC_LEN &&
	    !memcmp(buf, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN))
		replay_checked(st, buf, size);
	else
		replay_legacy(st, buf, size);
	free(buf);
	return 0;
}

/*
 * Compaction failed (a full disk, say): keep appending to the journal as
 * it is, if it is in our format; else run without one, visibly.
 */
static int journal_keep_appending(struct state *st, int why)
{
	uint8_t magic[JOURNAL_MAGIC_LEN];
	struct stat sb;
	int fd;

	pr_warn("journal: cannot rewrite %s (%s); appending to it as it is",
		st->journal_path, strerror(-why));
	fd = open(st->journal_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || fstat(fd, &sb) ||
	    (sb.st_size >= JOURNAL_MAGIC_LEN &&
	     (pread(fd, magic, sizeof(magic), 0) != sizeof(magic) ||
	      memcmp(magic, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN)))) {
		if (fd >= 0)
			close(fd);
		note_write_error(st, why);
		return 0;
	}
	st->journal_fd = fd;
	st->journal_size = (size_t)sb.st_size;
	if (!st->journal_size &&
	    journal_write(st, (const uint8_t *)JOURNAL_MAGIC,
			  JOURNAL_MAGIC_LEN)) {
		close(fd);
		st->journal_fd = -1;
		note_write_error(st, why);
		return 0;
	}
	note_write_error(st, why);
	return 0;
}

int state_journal_replay(struct state *st, const char *path)
{
	int err = replay_file(st, path);

	if (err && err != -ENOENT)
		return pr_ret(err, "open %s: %s", path, strerror(-err));
	return 0;
}

int state_journal_begin(struct state *st, const char *path)
{
	int err;

	st->journal_path = strdup(path);
	if (!st->journal_path)
		return -ENOMEM;
	err = state_journal_compact(st);
	return err ? journal_keep_appending(st, err) : 0;
}

int state_journal_open(struct state *st, const char *path)
{
	int err = state_journal_replay(st, path);

	return err ? err : state_journal_begin(st, path);
}

int state_journal_read(struct state *st, const char *path)
{
	return replay_file(st, path);
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

static int fsync_dir_of(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, err = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

/*
 * A fresh file, ours alone: an old STATE.tmp (from a crash, or a symlink
 * someone put there) is removed, never followed; mode 0600 whatever the
 * umask.
 */
static int create_tmp(const char *tmp)
{
	int fd;

	if (unlink(tmp) && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Write the live set into fd (now st's journal); 0 or the first error. */
static int compact_into(struct state *st, int fd)
{
	struct compact_ctx c = { .st = st };

	st->journal_fd = fd;
	st->journal_size = 0;
	st->journal_records = 0;
	c.err = journal_write(st, (const uint8_t *)JOURNAL_MAGIC,
			      JOURNAL_MAGIC_LEN);
	if (!c.err)
		state_pod_for_each(st, put_pod_record, &c);
	for (int i = 0; i < MAX_ZTUNNELS && !c.err; i++)
		if (st->zts[i])
			c.err = state_journal_zt_put(st, st->zts[i]);
	if (!c.err && fsync(fd))
		c.err = -errno;
	return c.err;
}

int state_journal_compact(struct state *st)
{
	size_t plen = strlen(st->journal_path), old_size = st->journal_size;
	size_t old_records = st->journal_records;
	int old_fd = st->journal_fd, fd, err;
	char *tmp = malloc(plen + 5);

	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, st->journal_path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	fd = create_tmp(tmp);
	if (fd < 0) {
		err = pr_ret(fd, "create %s: %s", tmp, strerror(-fd));
		free(tmp);
		return err;
	}
	err = compact_into(st, fd);
	if (!err && rename(tmp, st->journal_path))
		err = -errno;
	if (err) {
		/* The old file, untouched, stays the journal. */
		close(fd);
		unlink(tmp);
		st->journal_fd = old_fd;
		st->journal_size = old_size;
		st->journal_records = old_records;
		free(tmp);
		return pr_ret(err, "journal: compacting %s: %s",
			      st->journal_path, strerror(-err));
	}
	fsync_dir_of(st->journal_path);
	if (old_fd >= 0)
		close(old_fd);
	free(tmp);
	if (st->journal_dirty)
		pr_info("journal %s: whole again", st->journal_path);
	st->journal_dirty = false;
	return 0;
}
