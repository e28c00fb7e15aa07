/* SPDX-License-Identifier: GPL-2.0 */
/*
 * redirectd's command line: one table of options (ctl/options.c) that
 * parses, checks and prints the help, so they cannot disagree.
 */
#ifndef REDIRECT_OPTIONS_H
#define REDIRECT_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>
#include "daemon_types.h"

struct redirectd_opts {
	struct daemon_opts daemon;
	bool probe_only; /* --probe */
	const char *metrics_addr; /* --metrics, or NULL */
};

/*
 * Fill *o from argv (defaults first). 0, 1 when --help was printed, or
 * -EINVAL after saying what is wrong on stderr.
 */
int options_parse(int argc, char **argv, struct redirectd_opts *o);
void options_usage(FILE *f);

#endif
