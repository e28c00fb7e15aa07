// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for redirectd's request path: daemon_handle (decode,
 * validate, dispatch to the handlers, reply) with the real codec, state
 * and journal, on the fake kernel of fake_kernel.c, fake_tc.c and
 * fake_datapath.c.
 *
 * An input is a script of records, each [op][len lo][len hi][len bytes]:
 *
 *   op % 8 = 0  a request packet (the payload) on the current connection
 *            1  the same with a netns fd attached (SCM_RIGHTS)
 *            2  the same, flagged truncated (MSG_TRUNC)
 *            3  the client reconnects (a new connection context)
 *            4  host veth payload[0] vanishes (a pod deleted behind our back)
 *            5  another owner's tc filter appears (in our slot if
 *               payload[1] & 2)
 *            6  SIGHUP: daemon_reconcile
 *            7  restart: daemon_fini, daemon_init (journal replay), reconcile
 *
 * FUZZ_LOG=info shows the handlers' log for an input. Besides the
 * sanitizers' checks, after every input: the reply of every
 * request encodes and decodes back; no netlink handle or fd is leaked; every
 * enrolled pod with a live veth has its map entries and both filters; no
 * map entry belongs to no pod; and replaying the journal yields the pods
 * and ztunnels the daemon holds.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "daemon.h"
#include "daemon_reconcile.h"
#include "fake_kernel.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_LOG=info (or debug) shows what the handlers do with an input. */
static enum log_level level = LOG_LVL_ERROR;
static char workdir[256];
static char journal[300];
static uint8_t out[WIRE_MAX_MSG];

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_request: %s:%d: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

static void remove_workdir(void)
{
	char tmp[320];

	snprintf(tmp, sizeof(tmp), "%s.tmp", journal);
	unlink(tmp);
	unlink(journal);
	rmdir(workdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	const char *lvl = getenv("FUZZ_LOG");

	(void)argc;
	(void)argv;
	if (lvl && log_level_from_name(lvl) >= 0)
		level = (enum log_level)log_level_from_name(lvl);
	/* the journal is rewritten for every input: tmpfs if there is one */
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";
	snprintf(workdir, sizeof(workdir), "%s/fuzz_request.XXXXXX", tmp);
	if (!mkdtemp(workdir)) {
		perror("mkdtemp");
		abort();
	}
	snprintf(journal, sizeof(journal), "%s/state", workdir);
	atexit(remove_workdir);
	return 0;
}

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	int n = 0;

	REQUIRE(dir);
	while (readdir(dir))
		n++;
	closedir(dir);
	return n;
}

static void start(struct daemon *d)
{
	struct daemon_opts opts = { .socket_path = "/fuzz/redirect.sock",
				    .bpffs = "/fuzz/bpffs",
				    .state_file = journal,
				    .tc_priority = DEFAULT_TC_PRIORITY,
				    .tc_handle = DEFAULT_TC_HANDLE,
				    .pod_capacity = FK_POD_CAPACITY,
				    .no_sockmap = true };

	REQUIRE(daemon_init(d, &opts) == 0);
	daemon_reconcile(d);
}

static void request(struct daemon *d, struct conn_ctx *c, uint8_t op,
		    const uint8_t *buf, size_t len)
{
	AmbientRedirect__V1__Reply *back;
	Reply reply;
	size_t n;
	int fd = -1;

	if (op % 8 == 1) {
		char name[8];

		snprintf(name, sizeof(name), "fd%u", (unsigned int)(op >> 3));
		fd = memfd_create(name, MFD_CLOEXEC);
		REQUIRE(fd >= 0);
	}
	daemon_handle(d, c, buf, len, op % 8 == 2, fd, &reply);
	REQUIRE(reply.message != NULL);
	n = wire_encode_reply(&reply, out, sizeof(out));
	if (n) {
		back = ambient_redirect__v1__reply__unpack(NULL, n, out);
		REQUIRE(back != NULL);
		REQUIRE(back->id == reply.id);
		REQUIRE(back->code == reply.code);
		REQUIRE(back->body_case == reply.body_case);
		ambient_redirect__v1__reply__free_unpacked(back, NULL);
	}
	daemon_reply_release(&reply);
}

static bool has_filter(struct nl *nl, int ifindex, enum tc_dir dir,
		       const char *name)
{
	struct tc_slot s = { .ifindex = ifindex,
			     .dir = dir,
			     .prio = DEFAULT_TC_PRIORITY,
			     .handle = DEFAULT_TC_HANDLE };
	struct tc_filter_info f;

	return !tc_filter_get(nl, &s, &f) && !strcmp(f.name, name);
}

static void check_pod(struct enrolled_pod *pod, void *arg)
{
	struct daemon *d = arg;
	struct link_info li;
	struct pod_value pi;

	if (link_get_by_index(d->nl, pod->host_ifindex, &li) ||
	    strcmp(li.name, pod->host_veth))
		return; /* its veth is gone: reconcile will drop it */
	for (size_t i = 0; i < pod->naddrs; i++) {
		REQUIRE(fk_pod_entry(&pod->addrs[i], &pi));
		REQUIRE((int)pi.host_ifindex == pod->host_ifindex);
	}
	REQUIRE(has_filter(d->nl, pod->host_ifindex, TC_DIR_INGRESS,
			   "app_outbound"));
	REQUIRE(has_filter(d->nl, pod->host_ifindex, TC_DIR_EGRESS,
			   "app_inbound"));
}

static int check_entry(const struct addr_key *addr,
		       const struct pod_value *info, void *arg)
{
	struct daemon *d = arg;
	struct enrolled_pod *owner = state_pod_by_addr(&d->st, addr);

	REQUIRE(owner != NULL);
	REQUIRE(owner->host_ifindex == (int)info->host_ifindex);
	return 0;
}

/* What the daemon holds, to compare with a replay of its journal. */
struct held {
	size_t n;
	struct enrolled_pod *pods[FK_POD_CAPACITY * 2];
	bool overflow;
};

static void hold_pod(struct enrolled_pod *pod, void *arg)
{
	struct held *h = arg;
	struct enrolled_pod *copy;

	if (h->n == sizeof(h->pods) / sizeof(h->pods[0])) {
		h->overflow = true;
		return;
	}
	copy = pod_new(pod->uid);
	REQUIRE(copy);
	copy->host_ifindex = pod->host_ifindex;
	copy->naddrs = pod->naddrs;
	memcpy(copy->addrs, pod->addrs, sizeof(pod->addrs));
	h->pods[h->n++] = copy;
}

static void check_replay(struct daemon *d)
{
	char zt_uids[MAX_ZTUNNELS][WIRE_MAX_UID + 1] = { { 0 } };
	bool zt_current[MAX_ZTUNNELS] = { 0 };
	struct held h = { 0 };
	struct state st;
	size_t nzt = 0;

	state_pod_for_each(&d->st, hold_pod, &h);
	for (int i = 0; i < MAX_ZTUNNELS; i++) {
		if (!d->st.zts[i])
			continue;
		snprintf(zt_uids[nzt], sizeof(zt_uids[nzt]), "%s",
			 d->st.zts[i]->uid);
		zt_current[nzt++] = d->st.zts[i]->current;
	}
	daemon_fini(d);

	REQUIRE(state_init(&st) == 0);
	REQUIRE(state_journal_open(&st, journal) == 0);
	REQUIRE(h.overflow || st.npods == h.n);
	for (size_t i = 0; i < h.n; i++) {
		struct enrolled_pod *p = state_pod_find(&st, h.pods[i]->uid);

		REQUIRE(p != NULL);
		REQUIRE(p->host_ifindex == h.pods[i]->host_ifindex);
		REQUIRE(p->naddrs == h.pods[i]->naddrs);
		REQUIRE(!memcmp(p->addrs, h.pods[i]->addrs,
				p->naddrs * sizeof(p->addrs[0])));
		pod_free(h.pods[i]);
	}
	for (size_t i = 0; i < nzt; i++) {
		struct ztunnel *z = state_ztunnel_find(&st, zt_uids[i]);

		REQUIRE(z != NULL);
		REQUIRE(z->current == zt_current[i]);
	}
	for (int i = 0; i < MAX_ZTUNNELS; i++)
		nzt -= st.zts[i] != NULL;
	REQUIRE(nzt == 0);
	state_free(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct daemon d;
	/* Mostly root; every 8th input a read-only peer, refused writes. */
	struct conn_ctx conn = {
		.grants = size && data[size - 1] % 8 == 7 ? WIRE_ROLE_READ :
							    WIRE_ROLES_ALL,
		.uid = 1000,
	};
	int fds = count_fds();

	unlink(journal);
	fk_reset();
	log_set_level(level);
	start(&d);
	while (size >= 3) {
		uint8_t op = data[0];
		size_t len = (size_t)data[1] | (size_t)data[2] << 8;
		const uint8_t *p = data + 3;

		size -= 3;
		if (len > size)
			len = size;
		data = p + len;
		size -= len;
		switch (op % 8) {
		case 0:
		case 1:
		case 2:
			request(&d, &conn, op, p, len);
			break;
		case 3:
			daemon_conn_close(&d, &conn);
			memset(&conn, 0, sizeof(conn));
			break;
		case 4:
			fk_remove_host_link(len ? p[0] : 0);
			break;
		case 5:
			if (len >= 2 && (p[1] & 2))
				fk_foreign_filter(p[0], p[1] & 1,
						  DEFAULT_TC_PRIORITY,
						  DEFAULT_TC_HANDLE);
			else if (len >= 4)
				fk_foreign_filter(p[0], p[1] & 1, p[2], p[3]);
			break;
		case 6:
			daemon_reconcile(&d);
			break;
		case 7:
			daemon_conn_close(&d, &conn);
			memset(&conn, 0, sizeof(conn));
			daemon_fini(&d);
			start(&d);
			break;
		}
	}
	daemon_conn_close(&d, &conn);
	state_pod_for_each(&d.st, check_pod, &d);
	dp_pod_for_each(&d.dp, check_entry, &d);
	check_replay(&d);
	REQUIRE(fk_open_handles() == 0);
	REQUIRE(count_fds() == fds);
	return 0;
}
