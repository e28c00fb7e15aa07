// SPDX-License-Identifier: GPL-2.0
/*
 * redirectd: the per-node redirection control plane. Runs in the node's
 * network namespace (where the pods' host-side veths live), in the
 * foreground, logging to stderr. One epoll loop serves every event: the
 * API's peers (peers.c), the metrics endpoint (metrics.c), signals, the
 * node's address and link changes, and a once-a-second sweep. The core
 * it drives (daemon.h) knows nothing of the loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include "closer.h"
#include "daemon.h"
#include "daemon_reconcile.h"
#include "daemon_watch.h"
#include "findings.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "nsopen.h"
#include "options.h"
#include "ownership.h"
#include "peers.h"
#include "probe.h"

#define ADDR_RESYNC_DELAY_MS 100
#define SWEEP_MS 1000
/* One journaled path at start or SIGHUP: the loop waits this at most. */
#define JOURNALED_PATH_MS 1000

struct server {
	struct daemon d;
	struct peers peers;
	struct scrapes scrapes;
	int epfd, sig_fd, timer_fd, sweep_fd;
	struct link_monitor addr_mon;
	bool prune_pending; /* a link went away: look for vanished veths */
	bool stop;
};

/*
 * epoll data: small tags for the fixed fds, a struct peer pointer for a
 * peer, a scrape's pointer with SCRAPE_TAG_BIT set for a scrape.
 */
enum {
	EV_LISTEN = 2,
	EV_SIGNAL = 4,
	EV_ADDR = 6,
	EV_TIMER = 8,
	EV_METRICS = 10,
	EV_SWEEP = 12,
	EV_CLOSER = 14, /* the closer's backlog is low again */
	EV_NSOPEN = 16, /* netns paths opened */
	EV_MAX
};

static int journaled_path_open(const char *path)
{
	static uint64_t stalled_ms;
	bool recent = stalled_ms && now_ms() - stalled_ms < 10000;
	int fd = netns_open_cached(path);

	if (fd != -EAGAIN)
		return fd;
	fd = nsopen_wait(path, recent ? 100 : JOURNALED_PATH_MS);
	if (fd == -ETIMEDOUT)
		stalled_ms = now_ms();
	return fd;
}

/* Address and link changes: resync node_addrs a little later, once per burst. */
static int open_addr_monitor(struct server *s)
{
	int err = link_monitor_open(&s->addr_mon);

	if (err)
		return err;
	s->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	return s->timer_fd < 0 ? -errno : 0;
}

static void on_addr_event(struct server *s)
{
	struct itimerspec its = {
		.it_value = { .tv_nsec = ADDR_RESYNC_DELAY_MS * 1000000L }
	};

	if (link_monitor_drain(&s->addr_mon))
		s->prune_pending = true;
	timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void on_timer(struct server *s)
{
	uint64_t ticks;
	int err;

	if (read(s->timer_fd, &ticks, sizeof(ticks)) < 0)
		return;
	err = daemon_sync_node_addrs(&s->d);
	if (err)
		pr_warn("node address resync: %s", strerror(-err));
	if (s->prune_pending) {
		s->prune_pending = false;
		daemon_prune_gone(&s->d);
	}
}

/* Once a second: deadlines of peers and scrapes, then the order watch. */
static void on_sweep(struct server *s)
{
	uint64_t ticks, now = now_ms();

	if (read(s->sweep_fd, &ticks, sizeof(ticks)) < 0)
		return;
	peers_sweep(&s->peers, now);
	scrapes_sweep(&s->scrapes, now);
	daemon_watch_order(&s->d, false);
}

static int setup_sweep(struct server *s)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = SWEEP_MS / 1000 },
		.it_interval = { .tv_sec = SWEEP_MS / 1000 },
	};

	s->sweep_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->sweep_fd < 0 || timerfd_settime(s->sweep_fd, 0, &its, NULL))
		return -errno;
	return epoll_add(s->epfd, s->sweep_fd, EV_SWEEP);
}

static int setup_signals(struct server *s)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return s->sig_fd < 0 ? -errno : 0;
}

static void on_signal(struct server *s)
{
	struct signalfd_siginfo si;

	if (read(s->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		pr_info("SIGHUP: reconciling");
		daemon_reconcile(&s->d);
		return;
	}
	pr_info("signal %u: stopping; the datapath stays in place",
		si.ssi_signo);
	s->stop = true;
}

static void dispatch_event(struct server *s, uint64_t tag)
{
	switch (tag) {
	case EV_LISTEN:
		peers_accept(&s->peers);
		break;
	case EV_SIGNAL:
		on_signal(s);
		break;
	case EV_ADDR:
		on_addr_event(s);
		break;
	case EV_TIMER:
		on_timer(s);
		break;
	case EV_METRICS:
		scrapes_accept(&s->scrapes);
		break;
	case EV_SWEEP:
		on_sweep(s);
		break;
	case EV_CLOSER:
		peers_on_closer(&s->peers);
		break;
	case EV_NSOPEN:
		peers_on_nsopen(&s->peers);
		break;
	default:
		if (tag & SCRAPE_TAG_BIT)
			scrapes_serve(&s->scrapes, tag);
		else
			peers_serve(&s->peers, (struct peer *)(uintptr_t)tag);
	}
}

static int run(struct server *s)
{
	struct epoll_event evs[64];

	pr_info("redirectd %s serving %s", REDIRECT_VERSION,
		s->d.opts.socket_path);
	while (!s->stop) {
		int n = epoll_wait(s->epfd, evs, 64, -1);

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++)
			dispatch_event(s, evs[i].data.u64);
		/* what this batch closed: no event of it can name it now */
		peers_bury(&s->peers);
		scrapes_bury(&s->scrapes);
	}
	return 0;
}

static int setup(struct server *s, const char *metrics_addr)
{
	int err;

	s->scrapes.listen_fd = -1;
	err = setup_signals(s);
	if (err)
		return err;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		return -errno;
	err = open_addr_monitor(s);
	if (err)
		return pr_ret(err, "address monitor: %s", strerror(-err));
	if ((err = peers_open(&s->peers, &s->d, s->epfd, EV_LISTEN)) ||
	    (err = epoll_add(s->epfd, s->sig_fd, EV_SIGNAL)) ||
	    (err = epoll_add(s->epfd, s->addr_mon.fd, EV_ADDR)) ||
	    (err = epoll_add(s->epfd, s->timer_fd, EV_TIMER)) ||
	    (err = epoll_add(s->epfd, closer_event_fd(), EV_CLOSER)) ||
	    (err = epoll_add(s->epfd, nsopen_event_fd(), EV_NSOPEN)) ||
	    (err = setup_sweep(s)))
		return err;
	return scrapes_open(&s->scrapes, &s->d, s->epfd, metrics_addr,
			    EV_METRICS);
}

static void close_fd(int fd)
{
	if (fd > 0)
		close(fd);
}

static void teardown(struct server *s)
{
	peers_close(&s->peers);
	scrapes_close(&s->scrapes);
	link_monitor_close(&s->addr_mon);
	close_fd(s->timer_fd);
	close_fd(s->sweep_fd);
	close_fd(s->sig_fd);
	close_fd(s->epfd);
	closer_stop();
	nsopen_stop();
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		pr_warn("RLIMIT_NOFILE: %s", strerror(errno));
}
/*
 * --probe: the kernel's features, then doctor's checks that need nothing
 * running (the mounts); redirectctl doctor has the rest.
 */
static int print_probe(const struct probe_result *r)
{
	bool ok = probe_required_ok(r);
	struct findings fs = { 0 };

	for (int f = 0; f < PROBE_MAX; f++)
		printf("%-14s %s%s%s\n", probe_name(f),
		       r->have[f] ? "present" : "MISSING",
		       r->have[f] ? "" : ": ",
		       r->have[f] ? "" : probe_consequence(f));
	findings_mounts(&fs);
	for (size_t i = 0; i < fs.n; i++)
		printf("%-14s %s: %s%s%s\n", fs.v[i]->subject, fs.v[i]->level,
		       fs.v[i]->detail, fs.v[i]->fix[0] ? "; " : "",
		       fs.v[i]->fix);
	ok = ok && findings_worst(fs.v, fs.n) < 2;
	findings_free(fs.v, fs.n);
	printf("redirectd %s run on this node\n", ok ? "can" : "cannot");
	return ok ? 0 : 1;
}

/* The kernel, the locks and the helper threads, before the core loads. */
static int prepare(const struct redirectd_opts *o)
{
	int err = ownership_take(&o->daemon);

	if (!err)
		err = closer_start();
	if (!err)
		err = nsopen_start();
	return err;
}

static int serve(struct server *s, const struct redirectd_opts *o)
{
	int err = daemon_reconcile(&s->d);

	if (err)
		pr_warn("reconcile finished with errors: %s", strerror(-err));
	err = setup(s, o->metrics_addr);
	if (!err)
		err = run(s);
	if (err)
		pr_err("redirectd: %s", strerror(-err));
	teardown(s);
	return err;
}

int main(int argc, char **argv)
{
	static struct server s;
	struct redirectd_opts o;
	struct probe_result pr;
	int err = options_parse(argc, argv, &o);

	if (err)
		return err > 0 ? 0 : 2;
	/* Off the event loop: netns paths, and closing peers' descriptors. */
	o.daemon.defer_paths = true;
	o.daemon.open_journaled = journaled_path_open;
	log_route_libbpf();
	raise_nofile();
	probe_run(&pr);
	if (o.probe_only)
		return print_probe(&pr);
	probe_log(&pr);
	if (!probe_required_ok(&pr)) {
		pr_err("this kernel lacks what redirectd needs (see above); "
		       "not starting");
		return 1;
	}
	err = prepare(&o);
	if (err == -EBUSY)
		return 1;
	if (!err)
		err = daemon_init(&s.d, &o.daemon);
	if (err) {
		pr_err("start failed: %s", strerror(-err));
		return 1;
	}
	probe_format(&pr, s.d.features, sizeof(s.d.features));
	err = serve(&s, &o);
	/* The datapath stays in place. */
	daemon_fini(&s.d);
	ownership_release();
	return err ? 1 : 0;
}
