/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus text exposition (format 0.0.4) of redirectd's state and the
 * datapath's counters, and the tiny HTTP responder that serves it.
 */
#ifndef REDIRECT_METRICS_H
#define REDIRECT_METRICS_H

#include <stddef.h>
#include "daemon.h"

/* Render every metric family into buf; returns the length, or -ENOSPC. */
int metrics_render(struct daemon *d, char *buf, size_t cap);

/*
 * Listen on "HOST:PORT" ([v6]:PORT too) or "unix:/path". Returns a
 * non-blocking listening fd or a negative errno.
 */
int metrics_listen(const char *addr);

/*
 * Answer one HTTP request held in req (len bytes, complete headers):
 * GET /metrics -> 200 with the exposition, anything else -> 404/405.
 * Writes the whole response to fd (non-blocking; a reader too slow for
 * one socket buffer of text is cut off). Returns 0 or a negative errno.
 */
int metrics_respond(struct daemon *d, int fd, const char *req, size_t len);

#endif
