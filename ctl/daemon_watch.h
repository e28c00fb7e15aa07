/* SPDX-License-Identifier: GPL-2.0 */
/* The sweep over our hooks' order (and each pod's coverage). */
#ifndef REDIRECT_DAEMON_WATCH_H
#define REDIRECT_DAEMON_WATCH_H

#include "daemon_types.h"

/*
 * Check that our programs still run first on ztunnels' and pods' hooks,
 * a slice of the pods per call (all: every pod), and put them back where
 * that is safe.
 */
void daemon_watch_order(struct daemon *d, bool all);

#endif
