// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the state journal: the input is the content of
 * redirectd's state file, replayed by state_journal_open (which then
 * compacts it). Property checked besides the sanitizers': the compacted
 * journal replays to the same pods and ztunnels, field by field.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "state.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char workdir[256];
static char journal[300];

#define REQUIRE(cond)                                                          \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "fuzz_journal: %s:%d: %s\n", __FILE__, \
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

	(void)argc;
	(void)argv;
	/* the journal is rewritten for every input: tmpfs if there is one */
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";
	snprintf(workdir, sizeof(workdir), "%s/fuzz_journal.XXXXXX", tmp);
	if (!mkdtemp(workdir)) {
		perror("mkdtemp");
		abort();
	}
	snprintf(journal, sizeof(journal), "%s/state", workdir);
	atexit(remove_workdir);
	log_set_level(LOG_LVL_ERROR);
	return 0;
}

static void same_pod(struct enrolled_pod *a, void *arg)
{
	const struct state *other = arg;
	struct enrolled_pod *b = state_pod_find(other, a->uid);

	REQUIRE(b != NULL);
	REQUIRE(!strcmp(a->name, b->name));
	REQUIRE(!strcmp(a->ns, b->ns));
	REQUIRE(!strcmp(a->netns_path, b->netns_path));
	REQUIRE(!strcmp(a->ifname, b->ifname));
	REQUIRE(!strcmp(a->host_veth, b->host_veth));
	REQUIRE(a->host_ifindex == b->host_ifindex);
	REQUIRE(!memcmp(a->mac, b->mac, sizeof(a->mac)));
	REQUIRE(a->dns_capture == b->dns_capture);
	REQUIRE(a->qdisc_created == b->qdisc_created);
	REQUIRE(a->naddrs == b->naddrs);
	REQUIRE(!memcmp(a->addrs, b->addrs, a->naddrs * sizeof(a->addrs[0])));
}

static int count_zts(const struct state *st)
{
	int n = 0;

	for (int i = 0; i < MAX_ZTUNNELS; i++)
		n += st->zts[i] != NULL;
	return n;
}

static void same_zt(const struct ztunnel *a, const struct state *other)
{
	const struct ztunnel *b;

	if (!a)
		return;
	b = state_ztunnel_find(other, a->uid);
	REQUIRE(b != NULL);
	REQUIRE(!strcmp(a->netns_path, b->netns_path));
	REQUIRE(!strcmp(a->ifname, b->ifname));
	REQUIRE(!strcmp(a->host_veth, b->host_veth));
	REQUIRE(a->host_ifindex == b->host_ifindex);
	REQUIRE(!memcmp(a->mac, b->mac, sizeof(a->mac)));
	REQUIRE(a->current == b->current);
	REQUIRE(a->qdisc_created == b->qdisc_created);
	REQUIRE(a->host_qdisc_created == b->host_qdisc_created);
	REQUIRE(a->naddrs == b->naddrs);
	REQUIRE(!memcmp(a->addrs, b->addrs, a->naddrs * sizeof(a->addrs[0])));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state a, b;
	FILE *f = fopen(journal, "wb");

	REQUIRE(f);
	REQUIRE(fwrite(data, 1, size, f) == size);
	REQUIRE(fclose(f) == 0);

	REQUIRE(state_init(&a) == 0);
	REQUIRE(state_journal_open(&a, journal) == 0);
	/* the compacted journal must say the same */
	REQUIRE(state_init(&b) == 0);
	REQUIRE(state_journal_open(&b, journal) == 0);
	REQUIRE(a.npods == b.npods);
	REQUIRE(a.naddrs == b.naddrs);
	state_pod_for_each(&a, same_pod, &b);
	REQUIRE(count_zts(&a) == count_zts(&b));
	for (int i = 0; i < MAX_ZTUNNELS; i++)
		same_zt(a.zts[i], &b);
	state_free(&b);
	state_free(&a);
	return 0;
}
