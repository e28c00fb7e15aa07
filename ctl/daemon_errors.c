// SPDX-License-Identifier: GPL-2.0
/* How the core says what went wrong: daemon_errors.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "daemon_errors.h"
#include "log.h"

ErrorCode answer(char *msg, size_t len, ErrorCode ec, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return ec;
}

ErrorCode kernel_error(int err)
{
	switch (err) {
	case -EBUSY:
		return EC(CONFLICT);
	case -E2BIG:
	case -ENOSPC:
	case -ENOMEM:
		return EC(CAPACITY);
	default:
		return EC(KERNEL);
	}
}

/*
 * A kernel operation whose failure nothing can refuse or undo (a detach,
 * a cleanup, a rollback, a resync): logged and counted (status and
 * metrics: kernel_errors). "Nothing there" (-ENOENT, -ENODEV) is success.
 */
void note_kernel_error(struct daemon *d, int err, const char *what, int ifindex)
{
	if (!err || err == -ENOENT || err == -ENODEV)
		return;
	d->kernel_errors++;
	pr_warn("%s (ifindex %d): %s", what, ifindex, strerror(-err));
}
