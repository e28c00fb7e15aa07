/* SPDX-License-Identifier: GPL-2.0 */
/* What each pod's enrolment does not cover (ctl/lib/coverage.h). */
#ifndef REDIRECT_DAEMON_COVERAGE_H
#define REDIRECT_DAEMON_COVERAGE_H

#include "daemon_types.h"

/* Read the pod's netns addresses again; log what changed. */
void pod_check_coverage(struct daemon *d, struct enrolled_pod *pod);
/* Pods whose netns holds addresses they were not enrolled with. */
unsigned int pods_uncovered(const struct daemon *d);

#endif
