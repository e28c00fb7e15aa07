// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel-sim: a TEST FIXTURE that stands in for ztunnel on one node.
 * It is NOT ztunnel: no HBONE, no mTLS, no identities, no policy. It only
 * does what the datapath tests need from the socket side of the node proxy:
 *
 *   tcp 15001  outbound capture: re-enters itself through its own 15008
 *              with a plain-text header line, like ztunnel's HBONE hop
 *   tcp 15006  inbound plaintext capture: straight to the original destination
 *   tcp 15008  tunnel ("CONNECT dst=IP:PORT src=IP:PORT\n", then bytes)
 *   udp 15001, udp 15006  UDP capture, one pair of sockets per flow; only
 *              with --udp-capture: Istio's ztunnel has no UDP listener but
 *              DNS, and without one such UDP would be dropped here
 *   udp+tcp 15053  DNS capture: forwarded to the original server, port 53
 *
 * Two more modes, for the benchmarks (bench/mesh.sh), with the same relay
 * code and the same tunnel hop through a 15008:
 *
 *   --explicit PORT=DEST  no interception: a client dials the proxy on PORT
 *              on purpose; the connection takes the outbound path (our own
 *              15008, header, then DEST), and the tunnel dials DEST from
 *              the proxy's own address (the header's src is unspecified).
 *   --pod-netns PATH  Istio's in-pod mode: the listeners (tcp 15001, 15006,
 *              15008, 15053) are opened inside each pod's netns (setns)
 *              instead of our own, and every socket a connection needs is
 *              made in the netns of the listener that accepted it. 15001
 *              gets REDIRECTed connections: the original destination is
 *              SO_ORIGINAL_DST (IP6T_SO_ORIGINAL_DST); its tunnel hop goes
 *              to the destination's own 15008 (in the destination pod's
 *              netns, TPROXYed there), as ztunnel's HBONE does. 15006 and
 *              15008 get TPROXYed ones: the local address.
 *
 * Run it inside ztunnel's network namespace. Captured packets arrive with
 * their original destination (bpf_sk_assign, or TPROXY in tests), so every
 * listener is transparent and the original destination of a TCP connection
 * is simply getsockname(). Connections towards the destination are
 * transparent too, bound to the original client's address, so the server
 * sees the real client; they carry ztunnel's socket mark.
 *
 * Counters per listener go to stdout (one JSON line per SIGUSR1) and to the
 * --status file, rewritten atomically within 10 ms of a change (the
 * tests read it right after their traffic) and at exit.
 *
 * This file: the options, the messages, the signals and the event loop;
 * ztsim.h says which file owns the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "ztsim.h"

#define MAX_EVENTS 64
#define STATUS_INTERVAL_MS 10
#define TICK_MS 100

bool udp_capture; /* UDP listeners on 15001/15006 too */
bool verbose;
unsigned int udp_idle_ms = UDP_IDLE_MS_DEFAULT;
const char *status_path;
static const char *ready_path;
const char *pod_netns[MAX_PODS];
unsigned int npods;
struct explicit_route explicit_map[MAX_EXPLICIT];
unsigned int nexplicit;

void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ztunnel-sim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ztunnel-sim: fatal: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- main loop ---- */

static bool stopping;

static void signal_event(struct handler *h, uint32_t events);

static struct {
	struct handler h;
	int fd;
} sig = { .h.fn = signal_event, .fd = -1 };

static void signal_event(struct handler *h, uint32_t events)
{
	struct signalfd_siginfo si;
	char json[2048];
	int n;

	while (read(sig.fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo != SIGUSR1) {
			stopping = true;
			continue;
		}
		n = stats_json(json, sizeof(json));
		if (n > 0) {
			fwrite(json, 1, n, stdout);
			fflush(stdout);
		}
	}
}

static void signals_setup(void)
{
	sigset_t set;

	/* Writes to a reset peer must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		die("sigprocmask: %s", strerror(errno));
	sig.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig.fd < 0)
		die("signalfd: %s", strerror(errno));
	watch(sig.fd, &sig.h, EPOLLIN, EPOLL_CTL_ADD);
}

static void run(void)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t now, last_status = 0, last_sweep = 0;
	int n;

	while (!stopping) {
		/* a change waits at most STATUS_INTERVAL_MS to be written */
		n = epoll_wait(epfd, evs, MAX_EVENTS,
			       stats_dirty ? STATUS_INTERVAL_MS : TICK_MS);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct handler *h = evs[i].data.ptr;

			h->fn(h, evs[i].events);
		}
		free_graveyard();
		now = now_ms();
		if (now - last_sweep >= TICK_MS) {
			flows_expire(now);
			last_sweep = now;
		}
		if (stats_dirty && now - last_status >= STATUS_INTERVAL_MS) {
			write_status();
			last_status = now;
		}
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ztunnel-sim [--status FILE] [--ready FILE] [--udp-idle-ms N] [-v]\n"
		"                   [--explicit PORT=DEST]... [--pod-netns PATH]...\n"
		"A test fixture standing in for ztunnel; run it in ztunnel's netns.\n"
		"  --status FILE     JSON counters, rewritten within 10 ms of a change and at exit\n"
		"  --ready FILE      created once every listener is bound\n"
		"  --udp-idle-ms N   UDP flows expire after N ms idle (default %d)\n"
		"  --udp-capture     also UDP listeners on 15001/15006 (a ztunnel\n"
		"                    enrolled with --capture-udp)\n"
		"  --explicit PORT=DEST  also listen on PORT (DEST's family) for clients that\n"
		"                    dial the proxy on purpose; they go to DEST (IP:PORT or\n"
		"                    [IP]:PORT) through our 15008, from our own address\n"
		"  --pod-netns PATH  in-pod mode: TCP listeners inside that netns (repeat for\n"
		"                    each pod) and none in ours; 15001 takes REDIRECTed\n"
		"                    connections, tunnels to the destination's 15008\n"
		"  -v, --verbose     log every connection and flow to stderr\n"
		"SIGUSR1 prints the counters as one JSON line on stdout.\n",
		UDP_IDLE_MS_DEFAULT);
}

/* PORT=DEST */
static void explicit_arg(const char *arg)
{
	unsigned long port;
	char *end;

	if (nexplicit >= MAX_EXPLICIT)
		die("more than %d --explicit", MAX_EXPLICIT);
	errno = 0;
	port = strtoul(arg, &end, 10);
	if (errno || *end != '=' || !port || port > 65535 ||
	    sa_parse(end + 1, &explicit_map[nexplicit].dest) ||
	    !sa_port(&explicit_map[nexplicit].dest))
		die("bad --explicit %s (want PORT=IP:PORT or PORT=[IP]:PORT)",
		    arg);
	explicit_map[nexplicit++].port = (uint16_t)port;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "ready", required_argument, NULL, 'r' },
		{ "udp-idle-ms", required_argument, NULL, 'u' },
		{ "udp-capture", no_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "explicit", required_argument, NULL, 'e' },
		{ "pod-netns", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			status_path = optarg;
			break;
		case 'r':
			ready_path = optarg;
			break;
		case 'u':
			udp_idle_ms = strtoul(optarg, &end, 10);
			if (*end || !udp_idle_ms)
				die("bad --udp-idle-ms: %s", optarg);
			break;
		case 'U':
			udp_capture = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'e':
			explicit_arg(optarg);
			break;
		case 'p':
			if (npods >= MAX_PODS)
				die("more than %d --pod-netns", MAX_PODS);
			pod_netns[npods++] = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	char line[32];
	int err;

	parse_args(argc, argv);
	/* A stale ready file from an earlier run must not fool a test. */
	if (ready_path)
		unlink(ready_path);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	home_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_netns < 0)
		die("/proc/self/ns/net: %s", strerror(errno));
	signals_setup();
	listeners_open();
	write_status();
	if (ready_path) {
		snprintf(line, sizeof(line), "%d\n", (int)getpid());
		err = write_file(ready_path, line, strlen(line));
		if (err)
			die("ready file %s: %s", ready_path, strerror(-err));
	}
	logmsg("listening (pid %d)", (int)getpid());

	run();

	write_status();
	if (ready_path)
		unlink(ready_path);
	logmsg("stopped");
	return 0;
}
