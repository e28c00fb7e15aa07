// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <time.h>
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

/* The old way, for a line longer than log_vmsg's buffer. */
static void vlog_parts(const char *head, const char *fmt, va_list ap)
{
	size_t len = strlen(fmt);

	fputs(head, stderr);
	vfprintf(stderr, fmt, ap);
	if (len && fmt[len - 1] != '\n')
		fputc('\n', stderr);
}

/*
 * One write per line: stderr is unbuffered, and vfprintf plus the prefix
 * and the newline made three writes a line, nine per pod redirectd enrolled.
 */
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	va_list again;
	int head, n;

	/*
	 * Refuse a NULL format before anything reads it. Reading fmt[] only
	 * after vfprintf made gcc's -fsanitize=null add a NULL branch there,
	 * on which it then warned "null format string" (-Werror): fmt comes
	 * through libbpf's callback too, so nothing proves it non-NULL.
	 */
	if (lvl > current || !fmt)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	head = snprintf(line, sizeof(line), "%lld.%03ld %-5s ",
			(long long)ts.tv_sec, ts.tv_nsec / 1000000, names[lvl]);
	va_copy(again, ap);
	n = vsnprintf(line + head, sizeof(line) - (size_t)head - 1, fmt, ap);
	if (n < 0 || (size_t)(head + n) >= sizeof(line) - 1) {
		line[head] = '\0';
		vlog_parts(line, fmt, again);
		va_end(again);
		return;
	}
	va_end(again);
	n += head;
	if (n > head && line[n - 1] != '\n')
		line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}
