/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Doctor's findings (docs/inspect.md), as redirectd sends them and as
 * redirectctl adds its own: each ok, warn or fail, with what was found
 * and one line of what to do. One allocation per finding, so a list is
 * freed the same way wherever it was made.
 */
#ifndef REDIRECT_FINDINGS_H
#define REDIRECT_FINDINGS_H

#include <stdbool.h>
#include <stddef.h>
#include "wire.h"

struct findings {
	Finding **v;
	size_t n, cap;
	bool oom; /* a finding could not be added */
};

void findings_add(struct findings *fs, const char *level, const char *check,
		  const char *subject, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Free v[0..n) and v, as findings_add made them. */
void findings_free(Finding **v, size_t n);
/* The mounts redirectd and its sockmap acceleration need (doctor, and
 * redirectd --probe before anything runs). */
void findings_mounts(struct findings *fs);
/* 0 all ok, 1 a warning, 2 a failure: the worst of v[0..n). */
int findings_worst(Finding *const *v, size_t n);

#endif
