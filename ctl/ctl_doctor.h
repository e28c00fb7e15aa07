/* SPDX-License-Identifier: GPL-2.0 */
/*
 * redirectctl doctor's own checks, of what only the node's files show
 * (the CNI conflist, mounts), and the findings' print-out with redirectd's
 * (docs/doctor.md).
 */
#ifndef REDIRECT_CTL_DOCTOR_H
#define REDIRECT_CTL_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include "findings.h"

#define DOCTOR_EXIT_WARN 6
#define DOCTOR_EXIT_FAIL 7

/* Findings of the node's files: the CNI config in cni_dir, the mounts. */
void doctor_local(struct findings *fs, const char *cni_dir,
		  const char *socket_path);
void doctor_print(Finding *const *v, size_t n, bool json);
/* 0 when all are ok, DOCTOR_EXIT_WARN, DOCTOR_EXIT_FAIL: by the worst. */
int doctor_exit_code(Finding *const *v, size_t n);

#endif
