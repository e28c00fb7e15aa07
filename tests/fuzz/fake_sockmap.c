// SPDX-License-Identifier: GPL-2.0
/*
 * sockmap.h for fuzz_request: acceleration is never active on the fake
 * kernel (the harness starts redirectd with no_sockmap), so sockmap.c is
 * left out of the link and these say so. The handlers' tc and map logic
 * is what the fuzzer exercises.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "sockmap.h"

static void off(struct sockmap *sm, const char *reason)
{
	memset(sm, 0, sizeof(*sm));
	sm->link_fd = -1;
	snprintf(sm->reason, sizeof(sm->reason), "%s", reason);
}

int sockmap_start(struct sockmap *sm, const struct datapath *dp,
		  const char *cgroup, enum sockmap_pods pods)
{
	(void)dp;
	(void)cgroup;
	(void)pods;
	off(sm, "fake kernel: no sockmap");
	return 0;
}

void sockmap_stop(struct sockmap *sm, const char *pin_dir, const char *reason)
{
	(void)pin_dir;
	off(sm, reason);
}

void sockmap_close(struct sockmap *sm)
{
	sm->active = false;
}

int sockmap_netns_set(const struct sockmap *sm, const struct addr_key *addr,
		      __u64 cookie)
{
	(void)addr;
	(void)cookie;
	return sm->active ? -EOPNOTSUPP : 0;
}

int sockmap_netns_del(const struct sockmap *sm, const struct addr_key *addr)
{
	(void)addr;
	return sm->active ? -EOPNOTSUPP : 0;
}

int sockmap_netns_for_each(const struct sockmap *sm,
			   int (*fn)(const struct addr_key *addr, void *arg),
			   void *arg)
{
	(void)sm;
	(void)fn;
	(void)arg;
	return 0;
}

int sockmap_ztunnel_set(const struct sockmap *sm, __u64 cookie)
{
	(void)cookie;
	return sm->active ? -EOPNOTSUPP : 0;
}
