/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Default paths and values, one place for redirectd, redirectctl (its
 * cleanup included) and redirect-cni: each can be overridden by a flag or
 * the CNI config, and they must agree when none is.
 */
#ifndef REDIRECT_DEFAULTS_H
#define REDIRECT_DEFAULTS_H

#define DEFAULT_SOCKET_PATH "/var/run/ambient-redirect/redirect.sock"
#define DEFAULT_STATE_FILE "/var/run/ambient-redirect/state"
#define DEFAULT_PIN_DIR "/sys/fs/bpf/ambient-redirect"
/* Our slot on every tc hook: not tc's default 49152, nor a round number. */
#define DEFAULT_TC_PRIORITY 23166
#define DEFAULT_TC_HANDLE 0xa3b1
/* The policy rule in ztunnel's netns (fwmark -> local table). */
#define DEFAULT_ZT_RULE_PRIO 100

#endif
