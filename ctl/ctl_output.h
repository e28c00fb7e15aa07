/* SPDX-License-Identifier: GPL-2.0 */
/* What redirectctl prints of redirectd's replies, as text or JSON (-j). */
#ifndef REDIRECT_CTL_OUTPUT_H
#define REDIRECT_CTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include "wire.h"

void print_status(const StatusReply *s, bool json);
/* The pod list, page by page: the head, each page, then the ztunnels. */
void print_pods_head(bool json);
/* n: pods printed so far (JSON commas), advanced by the page's. */
void print_pod_page(const PodList *pl, bool json, size_t *n);
void print_ztunnels(const PodList *pl, bool json);
void print_stats(const StatsReply *s, bool json);
void print_explain(const ExplainReply *x, bool json);
/* "k":"v" with JSON escaping, after a comma when comma. */
void json_kv_str(const char *k, const char *v, bool comma);

#endif
