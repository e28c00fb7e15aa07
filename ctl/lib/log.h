/* SPDX-License-Identifier: GPL-2.0 */
/* One logging sink with levels, to stderr; libbpf's output too. */
#ifndef REDIRECT_LOG_H
#define REDIRECT_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
int log_level_from_name(const char *name); /* -EINVAL if unknown */
const char *log_level_name(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* libbpf's messages come here through log_route_libbpf (datapath.h). */

#define pr_err(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Log an error and return it, for `return pr_ret(-errno, "...")`. */
#define pr_ret(err, ...) (pr_err(__VA_ARGS__), (err))

#endif
