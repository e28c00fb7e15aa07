/* SPDX-License-Identifier: GPL-2.0 */
/* Explain: what the loaded datapath does with one of a pod's flows. */
#ifndef REDIRECT_DAEMON_EXPLAIN_H
#define REDIRECT_DAEMON_EXPLAIN_H

#include "daemon_types.h"

ErrorCode h_explain(struct daemon *d, struct call *k);

#endif
