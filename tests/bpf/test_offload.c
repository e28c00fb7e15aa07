// SPDX-License-Identifier: GPL-2.0
/*
 * What redirectd hands off its event loop (ctl/lib/closer.c, nsopen.c),
 * against the real kernel, in a private netns (unshare at start): a
 * close that blocks (a TCP socket lingering with unsent data) holds the
 * closer, not the caller; the untrusted bound is hit and lifted; netns
 * paths open off the calling thread, and an abandoned one is not handed
 * back.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "cunit_run.h"
#include "closer.h"
#include "log.h"
#include "net_helpers.h"
#include "netns.h"
#include "nsopen.h"

#define LINGER_S 2

static bool readable(int fd, int timeout_ms)
{
	return !wait_fd(fd, POLLIN, timeout_ms);
}

static int keep[2] = { -1, -1 }; /* the lingering socket's listener, peer */

/* A TCP socket whose close() waits LINGER_S: data its peer never reads. */
static int lingering_socket(void)
{
	const struct sock_opts small_rcv = { .rcvbuf = 4096 };
	const struct sock_opts small_snd = { .sndbuf = 4096 };
	struct linger lg = { .l_onoff = 1, .l_linger = LINGER_S };
	char buf[65536] = { 0 };
	int c;

	keep[0] =
		start_server(AF_INET, SOCK_STREAM, "127.0.0.1", 0, &small_rcv);
	if (keep[0] < 0)
		return -1;
	c = connect_to_server(keep[0], &small_snd);
	if (c < 0)
		return -1;
	keep[1] = accept_timeout(keep[0], 1000);
	while (send(c, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	return c;
}

static void test_close_off_thread(void)
{
	int p[2], s = lingering_socket();
	uint64_t t0;
	char c;

	CU_ASSERT_FATAL(s >= 0 && !pipe2(p, O_CLOEXEC));
	t0 = monotonic_ms();
	CU_ASSERT(!closer_put(s, true)); /* trusted: no bound */
	CU_ASSERT(!closer_put(p[1], true));
	CU_ASSERT(monotonic_ms() - t0 < 100); /* the put never waits */
	/* the pipe's close waits behind the lingering one, then comes */
	CU_ASSERT(!readable(p[0], LINGER_S * 1000 / 2));
	CU_ASSERT(readable(p[0], LINGER_S * 2000));
	CU_ASSERT(read(p[0], &c, 1) == 0);
	close(p[0]);
	CU_ASSERT(closer_pending() == 0);
}

static void test_untrusted_bound(void)
{
	int s = lingering_socket(), p[2];
	bool over = false;

	CU_ASSERT_FATAL(s >= 0);
	closer_put(s, false); /* holds the closer for LINGER_S */
	for (int i = 1; i < CLOSER_UNTRUSTED_MAX; i++) {
		CU_ASSERT_FATAL(!pipe2(p, O_CLOEXEC));
		close(p[0]);
		over = closer_put(p[1], false);
		CU_ASSERT(over == (i == CLOSER_UNTRUSTED_MAX - 1));
	}
	CU_ASSERT(over);
	CU_ASSERT(!readable(closer_event_fd(), 0));
	/* once the lingering close is over the rest go quickly */
	CU_ASSERT(readable(closer_event_fd(), LINGER_S * 2000));
	CU_ASSERT(closer_resumed());
}

static int open_result = -EINPROGRESS;

static void opened(void *owner, int fd, void *arg)
{
	(void)arg;
	CU_ASSERT(owner == &open_result);
	open_result = fd;
}

static void test_nsopen(void)
{
	char fifo[64] = "/tmp/test_offload.XXXXXX";
	struct nsopen_job *job;
	int fd;

	fd = nsopen_wait("/proc/self/ns/net", 1000);
	CU_ASSERT(fd >= 0 && netns_fd_is_net(fd));
	close(fd);
	CU_ASSERT(nsopen_wait("/nonexistent/netns", 1000) == -ENOENT);
	CU_ASSERT_FATAL(mkdtemp(fifo) != NULL);
	strcat(fifo, "/f");
	CU_ASSERT(!mkfifo(fifo, 0600));
	CU_ASSERT(nsopen_wait(fifo, 1000) == -EINVAL); /* never opened */
	unlink(fifo);
	*strrchr(fifo, '/') = '\0';
	rmdir(fifo);

	CU_ASSERT(
		!nsopen_submit("/proc/self/ns/net", false, &open_result, &job));
	CU_ASSERT(readable(nsopen_event_fd(), 1000));
	nsopen_reap(opened, NULL);
	CU_ASSERT(open_result >= 0 && netns_fd_is_net(open_result));
	close(open_result);

	/* abandoned: its result is closed, not handed back */
	open_result = -EINPROGRESS;
	CU_ASSERT(
		!nsopen_submit("/proc/self/ns/net", true, &open_result, &job));
	nsopen_abandon(job);
	usleep(100000);
	nsopen_reap(opened, NULL);
	CU_ASSERT(open_result == -EINPROGRESS);
}

int main(void)
{
	static const struct test_def tests[] = { T(test_close_off_thread),
						 T(test_untrusted_bound),
						 T(test_nsopen), T_END };
	static const struct suite_def suites[] = { { "offload", tests } };
	unsigned int run, failed;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0 || enter_private_netns()) {
		printf("skip: test_offload needs root and a netns of its own\n");
		printf("RESULT: passed=0 failed=0 skipped=3\n");
		return 0;
	}
	log_set_level(LOG_LVL_ERROR);
	if (closer_start() || nsopen_start()) {
		printf("RESULT: passed=0 failed=1 skipped=0\n");
		return 1;
	}
	failed = cunit_run(suites, 1, &run);
	closer_stop();
	nsopen_stop();
	return cunit_result(run, failed);
}
