/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ztunnels: ZtunnelAdd (check its links, set up its netns and hooks,
 * publish it), ZtunnelDelete, and setting one up again at start.
 */
#ifndef REDIRECT_DAEMON_ZTUNNEL_H
#define REDIRECT_DAEMON_ZTUNNEL_H

#include "daemon_types.h"

ErrorCode h_ztunnel_add(struct daemon *d, struct call *k);
ErrorCode h_ztunnel_delete(struct daemon *d, struct call *k);
void detach_ztunnel(struct daemon *d, struct ztunnel *zt);
/* fresh: a ZtunnelAdd, whose attach mode is decided now (else kept) */
ErrorCode setup_ztunnel(struct daemon *d, struct ztunnel *zt, bool fresh,
			struct ztunnel_saved *was, bool *touched, char *msg,
			size_t len);

#endif
