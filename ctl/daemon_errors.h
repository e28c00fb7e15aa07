/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How the core says what went wrong: the reply's message and code, an
 * errno turned into an error code, and kernel failures nothing can refuse
 * or undo (logged and counted: status and metrics kernel_errors).
 */
#ifndef REDIRECT_DAEMON_ERRORS_H
#define REDIRECT_DAEMON_ERRORS_H

#include "daemon_types.h"

/* The reply: msg (printf style) and code ec, OK or an error. */
ErrorCode answer(char *msg, size_t len, ErrorCode ec, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
ErrorCode kernel_error(int err);
void note_kernel_error(struct daemon *d, int err, const char *what,
		       int ifindex);
/*
 * A journal write whose failure fails nothing (bookkeeping at start, a
 * vanished veth): the journal logged and counted it and rewrites the
 * whole file once writes work (status: journal LAGGING).
 */
static inline void journal_lag_tolerated(int err)
{
	(void)err;
}

#endif
