/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network namespace paths opened by threads of their own, never by the
 * event loop. Resolving a path a peer names (PodAdd, ZtunnelAdd) or one
 * journaled earlier can reach a filesystem that peer controls: a FUSE
 * server that never answers a lookup or a statfs, a hung NFS mount. No
 * open flag keeps the kernel from asking the filesystem while it walks
 * the path (O_PATH only spares the file's own open), so the walk runs
 * off the loop and the loop only waits for it as long as it chooses.
 *
 * Each job gets a thread at once (idle ones are reused). A job that never
 * finishes keeps its thread: at most NSOPEN_THREADS_MAX run at a time,
 * of which non-root peers' jobs at most NSOPEN_UNTRUSTED_MAX, so root's
 * (the CNI plugin's) always find one. Past those bounds a job is refused
 * at once (-EBUSY).
 */
#ifndef REDIRECT_NSOPEN_H
#define REDIRECT_NSOPEN_H

#include <stdbool.h>

#define NSOPEN_THREADS_MAX 16
#define NSOPEN_UNTRUSTED_MAX 8

struct nsopen_job;

/* 0 or -errno (the event fd). */
int nsopen_start(void);
/* Readable when finished jobs wait for nsopen_reap. */
int nsopen_event_fd(void);
/*
 * Open path (netns_open, off this thread) for owner; *job to abandon it.
 * 0, -EBUSY (too many running for this kind of peer) or -ENOMEM.
 */
int nsopen_submit(const char *path, bool trusted, void *owner,
		  struct nsopen_job **job);
/* Each finished job: fn(owner, fd or -errno, arg); the fd is fn's. */
void nsopen_reap(void (*fn)(void *owner, int fd, void *arg), void *arg);
/* The owner gives up (timed out, gone): the result is closed when it comes. */
void nsopen_abandon(struct nsopen_job *job);
/* Open path waiting at most timeout_ms: an fd, -ETIMEDOUT, -errno. */
int nsopen_wait(const char *path, int timeout_ms);
/* At exit: idle threads end; stuck ones are left to the exit. */
void nsopen_stop(void);

#endif
