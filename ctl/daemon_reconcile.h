/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bringing maps, hooks and the journal in line with each other: at start
 * (and SIGHUP), when veths vanish, when the node's addresses change.
 */
#ifndef REDIRECT_DAEMON_RECONCILE_H
#define REDIRECT_DAEMON_RECONCILE_H

#include "daemon_types.h"

int daemon_reconcile(struct daemon *d);
/*
 * Forget pods whose host veth is gone (their netns was deleted without a
 * pod delete reaching us), and a current ztunnel whose veth is gone:
 * meshed pods then fail closed until a new one is added.
 */
void daemon_prune_gone(struct daemon *d);
/* Re-read the node's addresses into the node_addrs map. */
int daemon_sync_node_addrs(struct daemon *d);

#endif
