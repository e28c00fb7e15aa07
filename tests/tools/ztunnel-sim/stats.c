// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel-sim's counters, one set per listener id, and how they are
 * reported: one JSON object, printed on SIGUSR1 (main.c) and written to
 * the --status file (a temp file renamed over it).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ztsim.h"

const char *const lid_name[L_MAX] = {
	[L_TCP15001] = "tcp15001", [L_TCP15006] = "tcp15006",
	[L_TCP15008] = "tcp15008", [L_UDP15001] = "udp15001",
	[L_UDP15006] = "udp15006", [L_DNS] = "dns15053",
	[L_EXPLICIT] = "explicit",
};

struct counters stats[L_MAX];
bool stats_dirty;

void count(uint64_t *field, uint64_t n)
{
	*field += n;
	stats_dirty = true;
}

/* ---- reporting ---- */

int stats_json(char *out, size_t len)
{
	size_t n;

	n = snprintf(out, len, "{\"pid\":%d,\"listeners\":{", (int)getpid());
	for (int i = 0; i < L_MAX && n < len; i++)
		n += snprintf(out + n, len - n,
			      "%s\"%s\":{\"conns\":%" PRIu64
			      ",\"bytes_up\":%" PRIu64
			      ",\"bytes_down\":%" PRIu64 ",\"errors\":%" PRIu64
			      ",\"active\":%" PRIu64 "}",
			      i ? "," : "", lid_name[i], stats[i].conns,
			      stats[i].bytes_up, stats[i].bytes_down,
			      stats[i].errors, stats[i].active);
	if (n < len)
		n += snprintf(out + n, len - n, "}}\n");
	return n < len ? (int)n : -ENOSPC;
}

int write_file(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	ssize_t n;
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len && !err) {
		n = write(fd, data, len);
		if (n < 0 && errno != EINTR)
			err = -errno;
		if (n > 0) {
			data += n;
			len -= n;
		}
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

void write_status(void)
{
	char json[2048];
	int n, err;

	stats_dirty = false;
	if (!status_path)
		return;
	n = stats_json(json, sizeof(json));
	err = n < 0 ? n : write_file(status_path, json, n);
	if (err)
		logmsg("status file %s: %s", status_path, strerror(-err));
}
