/* SPDX-License-Identifier: GPL-2.0 */
/* redirectd's helper threads (ctl/lib/closer.c, ctl/lib/nsopen.c). */
#ifndef REDIRECT_THREAD_H
#define REDIRECT_THREAD_H

#include <pthread.h>
#include <signal.h>

/*
 * A thread with every signal blocked: SIGTERM, SIGHUP and the others go
 * to redirectd's signalfd, never to a helper (whose default action would
 * end the process unannounced). 0 or a positive errno, as pthread_create.
 */
static inline int thread_start(pthread_t *t, void *(*fn)(void *))
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, NULL, fn, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

#endif
