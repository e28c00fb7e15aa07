// SPDX-License-Identifier: GPL-2.0
/* Network namespace paths opened off the event loop: nsopen.h. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "log.h"
#include "thread.h"
#include "netns.h"
#include "nsopen.h"

struct nsopen_job {
	char *path;
	bool trusted;
	void *owner; /* NULL once abandoned */
	bool waiter; /* nsopen_wait sleeps on it (not reaped) */
	bool done;
	int result; /* an fd or -errno */
	struct nsopen_job *next; /* in the queue or the done list */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work; /* threads wait for jobs */
	pthread_cond_t finished; /* nsopen_wait waits for its job */
	struct nsopen_job *queue, *queue_tail, *done;
	unsigned int threads, idle, queued;
	unsigned int running, untrusted; /* admitted, not finished */
	bool stop;
	int event_fd;
} ns = { .lock = PTHREAD_MUTEX_INITIALIZER,
	 .work = PTHREAD_COND_INITIALIZER,
	 .finished = PTHREAD_COND_INITIALIZER,
	 .event_fd = -1 };

static void job_free(struct nsopen_job *job)
{
	if (job->result >= 0)
		close(job->result);
	free(job->path);
	free(job);
}

/* Under the lock: hand the result to whoever still wants it. */
static void finish(struct nsopen_job *job)
{
	uint64_t one = 1;

	ns.running--;
	if (!job->trusted)
		ns.untrusted--;
	job->done = true;
	if (!job->owner) {
		job_free(job);
	} else if (job->waiter) {
		pthread_cond_broadcast(&ns.finished);
	} else {
		job->next = ns.done;
		ns.done = job;
		/* after nsopen_stop the fd is closed (its number maybe reused) */
		if (!ns.stop && write(ns.event_fd, &one, sizeof(one)) < 0)
			pr_warn("nsopen: notify: %s", strerror(errno));
	}
}

static void *nsopen_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ns.lock);
	for (;;) {
		struct nsopen_job *job;

		while (!ns.queue && !ns.stop) {
			ns.idle++;
			pthread_cond_wait(&ns.work, &ns.lock);
			ns.idle--;
		}
		if (!ns.queue)
			break;
		job = ns.queue;
		ns.queue = job->next;
		if (!ns.queue)
			ns.queue_tail = NULL;
		ns.queued--;
		pthread_mutex_unlock(&ns.lock);
		job->result = netns_open(job->path); /* may block */
		pthread_mutex_lock(&ns.lock);
		finish(job);
	}
	ns.threads--;
	pthread_mutex_unlock(&ns.lock);
	return NULL;
}

int nsopen_start(void)
{
	ns.event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return ns.event_fd < 0 ? -errno : 0;
}

int nsopen_event_fd(void)
{
	return ns.event_fd;
}

/* Under the lock: one more thread (an idle one is reused otherwise). */
static int new_thread(void)
{
	pthread_t t;
	int err = thread_start(&t, nsopen_main);

	if (err)
		return -err;
	pthread_detach(t);
	ns.threads++;
	return 0;
}

/* Under the lock: refused when a stuck job could keep it waiting. */
static int admit(bool trusted)
{
	if (ns.stop || ns.event_fd < 0)
		return -ESHUTDOWN;
	if (ns.running >= NSOPEN_THREADS_MAX ||
	    (!trusted && ns.untrusted >= NSOPEN_UNTRUSTED_MAX))
		return -EBUSY;
	return 0;
}

/* Every job admitted has a thread at once: none waits behind a stuck one. */
static int queue_job(struct nsopen_job *job)
{
	int err;

	pthread_mutex_lock(&ns.lock);
	err = admit(job->trusted);
	if (!err && ns.idle <= ns.queued)
		err = new_thread();
	if (!err) {
		if (ns.queue_tail)
			ns.queue_tail->next = job;
		else
			ns.queue = job;
		ns.queue_tail = job;
		ns.queued++;
		ns.running++;
		ns.untrusted += !job->trusted;
		pthread_cond_signal(&ns.work);
	}
	pthread_mutex_unlock(&ns.lock);
	return err;
}

static struct nsopen_job *job_new(const char *path, bool trusted, void *owner)
{
	struct nsopen_job *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->path = strdup(path);
	if (!job->path) {
		free(job);
		return NULL;
	}
	job->trusted = trusted;
	job->owner = owner;
	job->result = -EINPROGRESS;
	return job;
}

int nsopen_submit(const char *path, bool trusted, void *owner,
		  struct nsopen_job **out)
{
	struct nsopen_job *job = job_new(path, trusted, owner);
	int err;

	if (!job)
		return -ENOMEM;
	err = queue_job(job);
	if (err) {
		job_free(job);
		return err;
	}
	*out = job;
	return 0;
}

void nsopen_reap(void (*fn)(void *owner, int fd, void *arg), void *arg)
{
	struct nsopen_job *list, *job;
	uint64_t n;

	if (read(ns.event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_warn("nsopen: read its event: %s", strerror(errno));
	pthread_mutex_lock(&ns.lock);
	list = ns.done;
	ns.done = NULL;
	pthread_mutex_unlock(&ns.lock);
	while ((job = list)) {
		list = job->next;
		/* fn may abandon jobs further down the list: owner NULL */
		if (job->owner) {
			fn(job->owner, job->result, arg);
			job->result = -1;
		}
		job_free(job);
	}
}

void nsopen_abandon(struct nsopen_job *job)
{
	pthread_mutex_lock(&ns.lock);
	job->owner = NULL;
	pthread_mutex_unlock(&ns.lock);
}

int nsopen_wait(const char *path, int timeout_ms)
{
	struct nsopen_job *job = job_new(path, true, &job);
	struct timespec until;
	int err = 0;

	if (!job)
		return -ENOMEM;
	job->waiter = true;
	err = queue_job(job);
	if (err) {
		job_free(job);
		return err;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ns.lock);
	while (!job->done && !err)
		err = pthread_cond_timedwait(&ns.finished, &ns.lock, &until);
	if (!job->done) {
		job->owner = NULL; /* its thread frees it when it is done */
		pthread_mutex_unlock(&ns.lock);
		pr_warn("netns: %s did not resolve within %d ms", path,
			timeout_ms);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&ns.lock);
	err = job->result;
	job->result = -1;
	job_free(job);
	return err;
}

void nsopen_stop(void)
{
	struct nsopen_job *job;

	pthread_mutex_lock(&ns.lock);
	ns.stop = true;
	pthread_cond_broadcast(&ns.work);
	while ((job = ns.done)) {
		ns.done = job->next;
		job_free(job);
	}
	pthread_mutex_unlock(&ns.lock);
	/* idle threads end now; give them a moment to leave their stacks */
	for (int i = 0; i < 100; i++) {
		unsigned int left;

		pthread_mutex_lock(&ns.lock);
		left = ns.threads - (ns.running - ns.queued);
		pthread_mutex_unlock(&ns.lock);
		if (!left)
			break;
		usleep(10000);
	}
	if (ns.event_fd >= 0)
		close(ns.event_fd);
	ns.event_fd = -1;
}
