/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus text exposition (format 0.0.4) of redirectd's state and the
 * datapath's counters, and the tiny HTTP responder that serves it.
 */
#ifndef REDIRECT_METRICS_H
#define REDIRECT_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "daemon.h"

/* Render every metric family into buf; returns the length, or -ENOSPC. */
int metrics_render(struct daemon *d, char *buf, size_t cap);

/*
 * Listen on "HOST:PORT" ([v6]:PORT too) or "unix:/path". Returns a
 * non-blocking listening fd or a negative errno.
 */
int metrics_listen(const char *addr);

/*
 * The endpoint's connections: each scrape's request is read, then
 * answered; one that takes longer than a few seconds is closed, and when
 * all slots hold silent ones the oldest makes room.
 */
#define MAX_SCRAPES 32

struct scrape; /* one connection */

struct scrapes {
	struct daemon *d;
	int epfd; /* scrapes are registered with their pointer | 1 as tag */
	int listen_fd; /* -1: no --metrics */
	const char *addr;
	struct scrape *slot[MAX_SCRAPES];
	struct scrape *gone; /* closed in this batch of events */
};

/* The tag bit that tells a scrape's event from a peer's. */
#define SCRAPE_TAG_BIT 1u

/* Listen at addr (NULL: no endpoint), registered with listen_tag. */
int scrapes_open(struct scrapes *sc, struct daemon *d, int epfd,
		 const char *addr, uint64_t listen_tag);
void scrapes_close(struct scrapes *sc);
void scrapes_accept(struct scrapes *sc);
/* An event whose tag has SCRAPE_TAG_BIT. */
void scrapes_serve(struct scrapes *sc, uint64_t tag);
/* Once a second: scrapes that did not finish in time are closed. */
void scrapes_sweep(struct scrapes *sc, uint64_t now);
/* After a batch of events: free the scrapes it closed. */
void scrapes_bury(struct scrapes *sc);

/*
 * Answer one HTTP request held in req (len bytes, complete headers):
 * GET /metrics -> 200 with the exposition, anything else -> 404/405.
 * Writes the whole response to fd (non-blocking; a reader too slow for
 * one socket buffer of text is cut off). Returns 0 or a negative errno.
 */
int metrics_respond(struct daemon *d, int fd, const char *req, size_t len);

#endif
