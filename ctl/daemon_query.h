/* SPDX-License-Identifier: GPL-2.0 */
/* Queries: status, the paged pod list, one pod, the datapath's counters. */
#ifndef REDIRECT_DAEMON_QUERY_H
#define REDIRECT_DAEMON_QUERY_H

#include "daemon_types.h"

ErrorCode h_status(struct daemon *d, struct call *k);
ErrorCode h_list_pods(struct daemon *d, struct call *k);
ErrorCode h_pod_get(struct daemon *d, struct call *k);
ErrorCode h_stats(struct daemon *d, struct call *k);
/* Free what h_list_pods put in a reply. */
void release_list(PodList *pl);

#endif
