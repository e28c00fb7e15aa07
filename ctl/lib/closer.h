/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Descriptors whose close() may block are closed by a thread of their
 * own, never by the event loop: a peer's TCP socket with SO_LINGER and
 * unsent data blocks close() for as long as the peer likes, a file on a
 * FUSE server that stopped answering blocks it in FLUSH. What a peer
 * sends that redirectd does not keep goes here.
 *
 * Untrusted peers' descriptors (non-root) are counted against a bound:
 * once that many wait, closer_put says so and the caller stops taking
 * descriptors from them (SO_PASSRIGHTS off) until the backlog is down
 * to half (closer_resumed, after the event fd fired). Root's are not
 * bounded. The queue grows as needed: a descriptor already received
 * has to go somewhere, and the bound stops more from coming.
 */
#ifndef REDIRECT_CLOSER_H
#define REDIRECT_CLOSER_H

#include <stdbool.h>
#include <stddef.h>

/* Untrusted descriptors waiting before the caller should stop taking. */
#define CLOSER_UNTRUSTED_MAX 64

/* Start the thread; 0 or -errno. */
int closer_start(void);
/* Queue fd for closing (never blocks). true: the untrusted bound is hit. */
bool closer_put(int fd, bool trusted);
/* Fires (readable) when a hit bound is down to half again. */
int closer_event_fd(void);
/* After the event fd fired: true when untrusted descriptors may come. */
bool closer_resumed(void);
/* Descriptors waiting to be closed (status, logs). */
size_t closer_pending(void);
/* At exit: stop the thread if it is idle; a stuck one is left behind. */
void closer_stop(void);

#endif
