/* SPDX-License-Identifier: GPL-2.0 */
/* Compiler attributes the code relies on, named for what they ask. */
#ifndef REDIRECT_COMPILER_H
#define REDIRECT_COMPILER_H

/*
 * A result the caller must look at: a failed journal write, map update or
 * detach is either the request's failure or logged and counted, never
 * dropped (gcc does not accept a (void) cast as looking).
 */
#define MUST_CHECK __attribute__((warn_unused_result))

#endif
