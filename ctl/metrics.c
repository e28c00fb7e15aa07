// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "daemon_coverage.h"

#define PREFIX "ambient_redirect_"
#define BODY_MAX (64 * 1024)

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void emit(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

static void family(struct out *o, const char *name, const char *type,
		   const char *help)
{
	emit(o, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s %s\n", name, help,
	     name, type);
}

static void gauge(struct out *o, const char *name, const char *help,
		  unsigned long long v)
{
	family(o, name, "gauge", help);
	emit(o, PREFIX "%s %llu\n", name, v);
}

static void counter(struct out *o, const char *name, const char *help,
		    unsigned long long v)
{
	family(o, name, "counter", help);
	emit(o, PREFIX "%s %llu\n", name, v);
}

/* Program and decision names are [a-z_]: no label escaping needed. */
static void datapath_counters(struct out *o, struct daemon *d)
{
	struct counter_value vals[CNT_MAX];

	if (dp_counters_read(&d->dp, vals))
		return;
	family(o, "datapath_packets_total", "counter",
	       "Packets per BPF program and decision.");
	for (int i = 0; i < CNT_MAX; i++)
		emit(o,
		     PREFIX "datapath_packets_total{program=\"%s\","
			    "decision=\"%s\"} %llu\n",
		     counter_prog(i), counter_decision(i),
		     (unsigned long long)vals[i].packets);
	family(o, "datapath_bytes_total", "counter",
	       "Bytes per BPF program and decision.");
	for (int i = 0; i < CNT_MAX; i++)
		emit(o,
		     PREFIX "datapath_bytes_total{program=\"%s\","
			    "decision=\"%s\"} %llu\n",
		     counter_prog(i), counter_decision(i),
		     (unsigned long long)vals[i].bytes);
}

int metrics_render(struct daemon *d, char *buf, size_t cap)
{
	const struct ztunnel *zt = state_ztunnel_current(&d->st);
	struct out o = { .buf = buf, .cap = cap };

	gauge(&o, "pods", "Enrolled pods.", d->st.npods);
	gauge(&o, "pod_addresses", "Enrolled pod addresses.", d->st.naddrs);
	gauge(&o, "pod_capacity", "Pod addresses the datapath map holds.",
	      dp_pod_capacity(&d->dp));
	gauge(&o, "ztunnel_present",
	      "1 when a ztunnel receives meshed traffic, 0 when pods fail "
	      "closed.",
	      state_ztunnel_current(&d->st) != NULL);
	gauge(&o, "sockmap_active", "1 when sockmap acceleration runs.",
	      d->sm.active);
	gauge(&o, "guard_enabled",
	      "1 when pod_guard is attached inside "
	      "enrolled pods.",
	      d->guard_on);
	gauge(&o, "ztunnel_tcx",
	      "1 when the current ztunnel's programs are TCX links.",
	      zt && zt->tcx);
	gauge(&o, "ztunnel_foreign_first",
	      "1 when another owner's program runs before the current "
	      "ztunnel's and ours cannot go first (meshed traffic may be "
	      "lost).",
	      zt && zt->order_reported);
	gauge(&o, "pods_uncovered",
	      "Pods whose network namespace holds addresses they were not "
	      "enrolled with (refused on their interface, outside the mesh "
	      "on another).",
	      pods_uncovered(d));
	gauge(&o, "clients", "Connected API clients.", d->clients);
	counter(&o, "requests_total", "API requests handled.", d->requests);
	counter(&o, "request_errors_total",
		"API requests answered with an "
		"error.",
		d->request_errors);
	counter(&o, "journal_write_errors_total",
		"Journal writes that "
		"failed.",
		d->st.journal.errors);
	counter(&o, "order_violations_total",
		"Findings of another owner's "
		"program running before ours on a pod's or ztunnel's hook.",
		d->order_violations);
	counter(&o, "order_restored_total", "Times ours was put back first.",
		d->order_restored);
	counter(&o, "kernel_errors_total",
		"Kernel operations that failed "
		"where nothing could refuse or undo them (each is logged).",
		d->kernel_errors);
	gauge(&o, "journal_lagging",
	      "1 while the journal file lags the "
	      "daemon's state (a write failed; rewritten once writes work).",
	      d->st.journal.dirty);
	datapath_counters(&o, d);
	return o.full ? -ENOSPC : (int)o.len;
}

static int send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int reply_status(int fd, const char *status)
{
	char head[128];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %s\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n",
			 status);

	return send_all(fd, head, (size_t)n);
}

int metrics_respond(struct daemon *d, int fd, const char *req, size_t len)
{
	char head[160], *body;
	int n, err;

	if (len < 4 || memcmp(req, "GET ", 4))
		return reply_status(fd, "405 Method Not Allowed");
	if (strncmp(req + 4, "/metrics ", 9) &&
	    strncmp(req + 4, "/metrics?", 9))
		return reply_status(fd, "404 Not Found");
	body = malloc(BODY_MAX);
	if (!body)
		return -ENOMEM;
	n = metrics_render(d, body, BODY_MAX);
	if (n < 0) {
		free(body);
		return reply_status(fd, "500 Internal Server Error");
	}
	snprintf(head, sizeof(head),
		 "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4"
		 "\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
		 n);
	err = send_all(fd, head, strlen(head));
	if (!err)
		err = send_all(fd, body, (size_t)n);
	free(body);
	return err;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* "127.0.0.1:9464", "[::1]:9464" */
static int split_host_port(const char *addr, char *host, size_t hlen,
			   const char **port)
{
	const char *colon = strrchr(addr, ':');
	size_t n;

	if (!colon || !colon[1])
		return -EINVAL;
	n = (size_t)(colon - addr);
	if (addr[0] == '[' && n >= 2 && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n == 0 || n >= hlen)
		return -EINVAL;
	memcpy(host, addr, n);
	host[n] = '\0';
	*port = colon + 1;
	return 0;
}

static int listen_inet(const char *addr)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	char host[64];
	const char *port;
	int fd, one = 1, err = split_host_port(addr, host, sizeof(host), &port);

	if (err || getaddrinfo(host, port, &hints, &ai))
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
		err = -errno;
		close(fd);
		goto out;
	}
	err = fd;
out:
	freeaddrinfo(ai);
	return err;
}

int metrics_listen(const char *addr)
{
	if (!strncmp(addr, "unix:", 5))
		return listen_unix(addr + 5);
	return listen_inet(addr);
}

/* --- the endpoint's connections --- */

#define SCRAPE_DEADLINE_MS 5000 /* a scrape's request and answer */

struct scrape {
	int fd;
	bool gone; /* closed, freed after the current batch */
	struct scrape *next_gone;
	uint64_t since_ms;
	size_t len;
	char buf[1024];
};

static void scrape_close(struct scrapes *sc, struct scrape *m)
{
	for (int i = 0; i < MAX_SCRAPES; i++)
		if (sc->slot[i] == m)
			sc->slot[i] = NULL;
	epoll_ctl(sc->epfd, EPOLL_CTL_DEL, m->fd, NULL);
	close(m->fd);
	m->gone = true;
	m->next_gone = sc->gone;
	sc->gone = m;
}

void scrapes_bury(struct scrapes *sc)
{
	while (sc->gone) {
		struct scrape *m = sc->gone;

		sc->gone = m->next_gone;
		free(m);
	}
}

static int oldest_scrape(const struct scrapes *sc)
{
	int old = 0;

	for (int i = 1; i < MAX_SCRAPES; i++)
		if (sc->slot[i]->since_ms < sc->slot[old]->since_ms)
			old = i;
	return old;
}

static int free_slot(const struct scrapes *sc)
{
	for (int i = 0; i < MAX_SCRAPES; i++)
		if (!sc->slot[i])
			return i;
	return -1;
}

void scrapes_accept(struct scrapes *sc)
{
	for (;;) {
		int fd = accept4(sc->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		int slot;
		struct scrape *m;

		if (fd < 0)
			return;
		slot = free_slot(sc);
		if (slot < 0) {
			/* full of silent ones: the oldest makes room */
			scrape_close(sc, sc->slot[oldest_scrape(sc)]);
			slot = free_slot(sc);
		}
		m = slot < 0 ? NULL : calloc(1, sizeof(*m));
		if (!m ||
		    epoll_add(sc->epfd, fd, (uintptr_t)m | SCRAPE_TAG_BIT)) {
			/* busy: scrapers retry; never let them pile up */
			free(m);
			close(fd);
			continue;
		}
		m->fd = fd;
		m->since_ms = now_ms();
		sc->slot[slot] = m;
	}
}

/* Answer once the request's headers are in (or the buffer is full). */
void scrapes_serve(struct scrapes *sc, uint64_t tag)
{
	struct scrape *m =
		(struct scrape *)(uintptr_t)(tag & ~(uint64_t)SCRAPE_TAG_BIT);
	ssize_t n;

	if (m->gone)
		return;
	n = recv(m->fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		scrape_close(sc, m);
		return;
	}
	m->len += (size_t)n;
	m->buf[m->len] = '\0';
	if (!strstr(m->buf, "\r\n\r\n") && !strstr(m->buf, "\n\n") &&
	    m->len < sizeof(m->buf) - 1)
		return;
	metrics_respond(sc->d, m->fd, m->buf, m->len);
	scrape_close(sc, m);
}

void scrapes_sweep(struct scrapes *sc, uint64_t now)
{
	for (int i = 0; i < MAX_SCRAPES; i++)
		if (sc->slot[i] &&
		    now - sc->slot[i]->since_ms > SCRAPE_DEADLINE_MS)
			scrape_close(sc, sc->slot[i]);
}

int scrapes_open(struct scrapes *sc, struct daemon *d, int epfd,
		 const char *addr, uint64_t listen_tag)
{
	memset(sc, 0, sizeof(*sc));
	sc->d = d;
	sc->epfd = epfd;
	sc->addr = addr;
	sc->listen_fd = -1;
	if (!addr)
		return 0;
	sc->listen_fd = metrics_listen(addr);
	if (sc->listen_fd < 0)
		return pr_ret(sc->listen_fd, "metrics on %s: %s", addr,
			      strerror(-sc->listen_fd));
	pr_info("metrics at %s/metrics", addr);
	return epoll_add(epfd, sc->listen_fd, listen_tag);
}

void scrapes_close(struct scrapes *sc)
{
	for (int i = 0; i < MAX_SCRAPES; i++)
		if (sc->slot[i])
			scrape_close(sc, sc->slot[i]);
	scrapes_bury(sc);
	if (sc->listen_fd >= 0)
		close(sc->listen_fd);
	if (sc->addr && !strncmp(sc->addr, "unix:", 5))
		unlink(sc->addr + 5);
}
