// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "log.h"

static enum log_level current = LOG_LVL_INFO;
static const char *const names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level lvl)
{
	current = lvl;
}

enum log_level log_get_level(void)
{
	return current;
}

const char *log_level_name(enum log_level lvl)
{
	return lvl <= LOG_LVL_DEBUG ? names[lvl] : "?";
}

int log_level_from_name(const char *name)
{
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return (int)i;
	return -EINVAL;
}

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	struct timespec ts;
	size_t len;

	/*
	 * Refuse a NULL format before anything reads it. Reading fmt[] only
	 * after vfprintf made gcc's -fsanitize=null add a NULL branch there,
	 * on which it then warned "null format string" (-Werror): fmt comes
	 * through libbpf's callback too, so nothing proves it non-NULL.
	 */
	if (lvl > current || !fmt)
		return;
	len = strlen(fmt);
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "%lld.%03ld %-5s ", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000, names[lvl]);
	vfprintf(stderr, fmt, ap);
	if (len && fmt[len - 1] != '\n')
		fputc('\n', stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	enum log_level lvl = level == LIBBPF_WARN ? LOG_LVL_INFO :
						    LOG_LVL_DEBUG;

	vlog(lvl, fmt, ap);
	return 0;
}

void log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
