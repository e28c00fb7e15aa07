/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exactly one redirectd owns a pin folder and a journal: both locked
 * (flock, not waiting) before anything is loaded, written, unlinked or
 * bound; the loser exits having touched nothing.
 */
#ifndef REDIRECT_OWNERSHIP_H
#define REDIRECT_OWNERSHIP_H

#include "daemon_types.h"

/* 0, or -EBUSY when another redirectd owns them (said on the log). */
int ownership_take(const struct daemon_opts *o);
/* Dropped by hand once nothing more is written (see ownership.c). */
void ownership_release(void);

#endif
