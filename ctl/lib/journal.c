// SPDX-License-Identifier: GPL-2.0
/*
 * The journal (journal.h). File: the 8-byte magic, then records: u32
 * payload length, u32 CRC-32 of the payload (both little endian), the
 * payload (a JournalEntry). A record goes out in one pwrite at the end;
 * one that fails is cut off again, so the file only ever holds whole
 * records. Replay checks every CRC and skips a damaged stretch up to the
 * next whole record. A file without the magic is the earlier format
 * (length and payload), still replayed. A rewrite goes to PATH.tmp,
 * renamed over PATH once whole and synced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "journal.h"
#include "log.h"

void journal_init(struct journal *j)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	journal_init(j);
}

int journal_set_path(struct journal *j, const char *path)
{
	char *copy = strdup(path);

	if (!copy)
		return -ENOMEM;
	free(j->path);
	j->path = copy;
	return 0;
}

/* --- records --- */

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * CRC-32 (IEEE 802.3, reflected, as zlib's crc32() and journals written
 * with it), table-driven; our own so the journal needs no zlib.
 */
static uint32_t record_crc(const uint8_t *payload, size_t len)
{
	static uint32_t table[256];
	uint32_t crc = 0xffffffffu;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ payload[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

static void note_write_error(struct journal *j, int err)
{
	j->dirty = true;
	j->errors++;
	j->last_error = err;
	pr_err("journal %s: write failed: %s", j->path, strerror(-err));
}

/* Append raw bytes at the end; on failure the file is cut back. */
static int journal_write(struct journal *j, const uint8_t *buf, size_t len)
{
	ssize_t n = pwrite(j->fd, buf, len, (off_t)j->size);

	if (n == (ssize_t)len) {
		j->size += len;
		return 0;
	}
	if (ftruncate(j->fd, (off_t)j->size))
		pr_warn("journal: cutting a partial record: %s",
			strerror(errno));
	return n < 0 ? -errno : -ENOSPC;
}

int journal_append(struct journal *j, const JournalEntry *e)
{
	size_t len = ambient_redirect__v1__journal_entry__get_packed_size(e);
	uint8_t *buf;
	int err;

	if (j->fd < 0)
		return j->path ? -EBADF : 0; /* degraded, or none */
	if (len > JOURNAL_MAX_RECORD)
		return -E2BIG;
	buf = malloc(len + JOURNAL_RECORD_HDR);
	if (!buf)
		return -ENOMEM;
	ambient_redirect__v1__journal_entry__pack(e, buf + JOURNAL_RECORD_HDR);
	put_le32(buf, (uint32_t)len);
	put_le32(buf + 4, record_crc(buf + JOURNAL_RECORD_HDR, len));
	err = journal_write(j, buf, len + JOURNAL_RECORD_HDR);
	free(buf);
	if (err) {
		note_write_error(j, err);
		return err;
	}
	j->records++;
	return 0;
}

/* --- replay --- */

/* What a replay hands each record to. */
struct replay {
	struct journal *j;
	void (*fn)(const JournalEntry *e, void *arg);
	void *arg;
};

/* One record's payload, whole and checked; false: not a record here. */
static bool replay_one(const struct replay *r, const uint8_t *p, size_t len)
{
	JournalEntry *e =
		ambient_redirect__v1__journal_entry__unpack(NULL, len, p);

	if (!e)
		return false;
	r->fn(e, r->arg);
	ambient_redirect__v1__journal_entry__free_unpacked(e, NULL);
	return true;
}

static bool record_at(const uint8_t *buf, size_t size, size_t pos, size_t *len)
{
	size_t n;

	if (size - pos < JOURNAL_RECORD_HDR)
		return false;
	n = get_le32(buf + pos);
	if (n > JOURNAL_MAX_RECORD || size - pos - JOURNAL_RECORD_HDR < n ||
	    get_le32(buf + pos + 4) !=
		    record_crc(buf + pos + JOURNAL_RECORD_HDR, n))
		return false;
	*len = n;
	return true;
}

/*
 * Every whole record, in order. A damaged stretch (a bad CRC, a length
 * that runs past the end, a torn last record) is logged and skipped: the
 * next byte offset where a whole record starts goes on.
 */
static void replay_checked(const struct replay *r, const uint8_t *buf,
			   size_t size)
{
	size_t pos = JOURNAL_MAGIC_LEN, len, records = 0, skipped = 0;
	size_t damage_at = 0;
	bool damaged = false;

	while (pos < size) {
		if (record_at(buf, size, pos, &len) &&
		    replay_one(r, buf + pos + JOURNAL_RECORD_HDR, len)) {
			if (damaged)
				pr_warn("journal: skipped %zu damaged bytes at "
					"offset %zu",
					pos - damage_at, damage_at);
			damaged = false;
			records++;
			pos += JOURNAL_RECORD_HDR + len;
			continue;
		}
		if (!damaged) {
			damaged = true;
			damage_at = pos;
			skipped++;
		}
		pos++;
	}
	if (damaged)
		pr_warn("journal: dropped %zu bytes at its end (a torn or "
			"damaged last record)",
			size - damage_at);
	pr_debug("journal: replayed %zu records, %zu damaged stretches",
		 records, skipped);
	r->j->damaged += skipped;
}

/* The earlier format: no magic, no CRC. */
static void replay_legacy(const struct replay *r, const uint8_t *buf,
			  size_t size)
{
	size_t pos = 0, len;

	while (size - pos >= 4) {
		len = get_le32(buf + pos);
		if (len > WIRE_MAX_MSG || size - pos - 4 < len) {
			pr_warn("journal: earlier format, unreadable from "
				"offset %zu on",
				pos);
			r->j->damaged++;
			return;
		}
		if (!replay_one(r, buf + pos + 4, len)) {
			pr_warn("journal: skipping an undecodable record at "
				"offset %zu",
				pos);
			r->j->damaged++;
		}
		pos += 4 + len;
	}
}

static int read_all(int fd, uint8_t **out, size_t *size)
{
	struct stat sb;
	uint8_t *buf;
	size_t got = 0;
	ssize_t n;

	if (fstat(fd, &sb))
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -EINVAL;
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		return -ENOMEM;
	while (got < (size_t)sb.st_size &&
	       (n = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	*out = buf;
	*size = got;
	return 0;
}

int journal_replay(struct journal *j, const char *path,
		   void (*fn)(const JournalEntry *e, void *arg), void *arg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct replay r = { j, fn, arg };
	uint8_t *buf = NULL;
	size_t size = 0;
	int err;

	if (fd < 0)
		return -errno;
	err = read_all(fd, &buf, &size);
	close(fd);
	if (err)
		return err;
	if (size >= JOURNAL_MAGIC_LEN &&
	    !memcmp(buf, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN))
		replay_checked(&r, buf, size);
	else
		replay_legacy(&r, buf, size);
	free(buf);
	return 0;
}

/* --- rewrites --- */

int journal_keep_appending(struct journal *j, int why)
{
	uint8_t magic[JOURNAL_MAGIC_LEN];
	struct stat sb;
	int fd;

	pr_warn("journal: cannot rewrite %s (%s); appending to it as it is",
		j->path, strerror(-why));
	fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fstat(fd, &sb) ||
	    (sb.st_size >= JOURNAL_MAGIC_LEN &&
	     (pread(fd, magic, sizeof(magic), 0) != sizeof(magic) ||
	      memcmp(magic, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN)))) {
		if (fd >= 0)
			close(fd);
		note_write_error(j, why);
		return 0;
	}
	j->fd = fd;
	j->size = (size_t)sb.st_size;
	if (!j->size && journal_write(j, (const uint8_t *)JOURNAL_MAGIC,
				      JOURNAL_MAGIC_LEN)) {
		close(fd);
		j->fd = -1;
		note_write_error(j, why);
		return 0;
	}
	note_write_error(j, why);
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, err = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return err;
}

/*
 * A fresh file, ours alone: an old STATE.tmp (from a crash, or a symlink
 * someone put there) is removed, never followed; mode 0600 whatever the
 * umask.
 */
static int create_tmp(const char *tmp)
{
	int fd;

	if (unlink(tmp) && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* A dirty journal's rewrite failed: a full disk, try again in a second. */
static int rewrite_failed(struct journal *j, bool was_dirty, int err)
{
	if (was_dirty)
		j->retry_ms = now_ms() + 1000;
	return err;
}

/* The old file, untouched, stays the journal. */
static int rewrite_drop(struct journal *j, struct journal_rewrite *rw, int err)
{
	close(j->fd);
	unlink(rw->tmp);
	j->fd = rw->old_fd;
	j->size = rw->old_size;
	j->records = rw->old_records;
	free(rw->tmp);
	rw->tmp = NULL;
	err = pr_ret(err, "journal: compacting %s: %s", j->path,
		     strerror(-err));
	return rewrite_failed(j, rw->was_dirty, err);
}

int journal_rewrite_begin(struct journal *j, struct journal_rewrite *rw)
{
	size_t plen = strlen(j->path);
	int fd, err;

	rw->was_dirty = j->dirty;
	rw->tmp = malloc(plen + 5);
	if (!rw->tmp)
		return rewrite_failed(j, rw->was_dirty, -ENOMEM);
	memcpy(rw->tmp, j->path, plen);
	memcpy(rw->tmp + plen, ".tmp", 5);
	fd = create_tmp(rw->tmp);
	if (fd < 0) {
		err = pr_ret(fd, "create %s: %s", rw->tmp, strerror(-fd));
		free(rw->tmp);
		rw->tmp = NULL;
		return rewrite_failed(j, rw->was_dirty, err);
	}
	rw->old_fd = j->fd;
	rw->old_size = j->size;
	rw->old_records = j->records;
	j->fd = fd;
	j->size = 0;
	j->records = 0;
	err = journal_write(j, (const uint8_t *)JOURNAL_MAGIC,
			    JOURNAL_MAGIC_LEN);
	return err ? rewrite_drop(j, rw, err) : 0;
}

int journal_rewrite_end(struct journal *j, struct journal_rewrite *rw, int err)
{
	if (!err && fsync(j->fd))
		err = -errno;
	if (!err && rename(rw->tmp, j->path))
		err = -errno;
	if (err)
		return rewrite_drop(j, rw, err);
	fsync_dir_of(j->path);
	if (rw->old_fd >= 0)
		close(rw->old_fd);
	free(rw->tmp);
	rw->tmp = NULL;
	if (j->dirty)
		pr_info("journal %s: whole again", j->path);
	j->dirty = false;
	return 0;
}

/*
 * Memory is the truth: after a failed write, the next successful rewrite
 * writes all of it and the file is whole again.
 */
int journal_due(const struct journal *j, size_t live)
{
	if (!j->path)
		return 0;
	if (j->dirty) /* a full disk: try again at most once a second */
		return now_ms() < j->retry_ms ? -EAGAIN : 1;
	return j->fd >= 0 && j->records > 2 * live + 1024;
}
