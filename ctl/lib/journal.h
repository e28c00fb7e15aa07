/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The journal: the file that lets a restarted redirectd know its state
 * again, as records (a JournalEntry each) with their length and CRC-32,
 * only ever whole. It owns the file: appending, replaying (damage skipped
 * and counted), rewriting it as a fresh file, a failed write's retry. It
 * knows records, not what they mean: replay hands each entry to its
 * caller, and a rewrite takes whatever the caller appends between its
 * begin and end (state.c writes one put per live pod and ztunnel).
 *
 * Functions return 0 or a negative errno.
 */
#ifndef REDIRECT_JOURNAL_H
#define REDIRECT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "wire.h"

#define JOURNAL_MAGIC "ARJRNL2\n"
#define JOURNAL_MAGIC_LEN 8
#define JOURNAL_RECORD_HDR 8 /* u32 length, u32 CRC-32 */
/* The largest record written, and replayed: a request's record is bounded
 * by the request's own limits well below this. */
#define JOURNAL_MAX_RECORD (64 * 1024)

struct journal {
	int fd; /* -1: none (or degraded: see errors) */
	char *path; /* NULL: no journal at all */
	size_t size; /* bytes of whole records: where the next goes */
	size_t records; /* records in the file, for compaction */
	__u64 errors; /* writes that failed (nothing half written) */
	int last_error; /* -errno of the last one */
	bool dirty; /* a write failed: the file lags the memory */
	__u64 retry_ms; /* no rewrite retry before (CLOCK_MONOTONIC) */
	size_t damaged; /* damaged stretches skipped at replay */
};

/* No file yet: appends do nothing until journal_set_path. */
void journal_init(struct journal *j);
/* Close the file and forget it (journal_init's state again). */
void journal_close(struct journal *j);
/* Where the journal goes: a rewrite (or journal_keep_appending) opens it. */
int journal_set_path(struct journal *j, const char *path);

/*
 * Every whole record of the file at path, in order, to fn; damaged
 * stretches are logged, skipped and counted in j->damaged. A file without
 * the magic is the earlier format (length and payload, no CRC). Nothing
 * is written. -ENOENT when there is no file.
 */
int journal_replay(struct journal *j, const char *path,
		   void (*fn)(const JournalEntry *e, void *arg), void *arg);

/*
 * One record at the end of the file, in one write; one that fails is cut
 * off again, counted (j->errors) and leaves the journal dirty. 0 without
 * a path, -EBADF when degraded (no file to write).
 */
int journal_append(struct journal *j, const JournalEntry *e);

/*
 * A rewrite: begin switches j to a fresh file holding only the magic
 * (nothing changed on failure); the caller appends the records that say
 * everything; end with the first error of those appends puts the fresh
 * file in the journal's place, or drops it and keeps the old file as the
 * journal. A success makes a dirty journal whole; a dirty journal's
 * failure is not retried for a second (journal_due).
 */
struct journal_rewrite {
	char *tmp; /* PATH.tmp */
	int old_fd;
	size_t old_size, old_records;
	bool was_dirty;
};

int journal_rewrite_begin(struct journal *j, struct journal_rewrite *rw);
int journal_rewrite_end(struct journal *j, struct journal_rewrite *rw, int err);
/*
 * The journal's first rewrite failed (a full disk, say): go on appending
 * to the file as it is, if it is in our format; else run without one,
 * visibly (dirty, counted). why: the rewrite's error. Always 0.
 */
int journal_keep_appending(struct journal *j, int why);
/*
 * Whether to rewrite now: 1 when a failed write left it dirty or the file
 * holds far more records than live objects, 0 not, -EAGAIN while a dirty
 * journal waits for its retry.
 */
int journal_due(const struct journal *j, size_t live);

#endif
