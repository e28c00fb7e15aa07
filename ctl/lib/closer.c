// SPDX-License-Identifier: GPL-2.0
/* Closing descriptors that may block, off the event loop: closer.h. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "closer.h"
#include "log.h"
#include "thread.h"

struct closing {
	int fd;
	bool trusted;
	struct closing *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool started, stop;
	struct closing *head, *tail;
	size_t pending; /* queued, and the one being closed */
	size_t untrusted; /* of those, from non-root peers */
	bool over; /* the bound was hit and is not down to half yet */
	int event_fd;
} cl = { .lock = PTHREAD_MUTEX_INITIALIZER,
	 .wake = PTHREAD_COND_INITIALIZER,
	 .event_fd = -1 };

static struct closing *pop(void)
{
	struct closing *c = cl.head;

	cl.head = c->next;
	if (!cl.head)
		cl.tail = NULL;
	return c;
}

/* One closed: count it, and tell the loop once the backlog is low. */
static void done(bool trusted)
{
	uint64_t one = 1;

	cl.pending--;
	if (trusted)
		return;
	cl.untrusted--;
	if (cl.over && cl.untrusted <= CLOSER_UNTRUSTED_MAX / 2) {
		cl.over = false;
		if (write(cl.event_fd, &one, sizeof(one)) < 0)
			pr_warn("closer: notify: %s", strerror(errno));
	}
}

static void *closer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cl.lock);
	for (;;) {
		struct closing *c;

		while (!cl.head && !cl.stop)
			pthread_cond_wait(&cl.wake, &cl.lock);
		if (!cl.head)
			break;
		c = pop();
		pthread_mutex_unlock(&cl.lock);
		close(c->fd); /* may block: that is why we are here */
		pthread_mutex_lock(&cl.lock);
		done(c->trusted);
		free(c);
	}
	pthread_mutex_unlock(&cl.lock);
	return NULL;
}

int closer_start(void)
{
	int err;

	cl.event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cl.event_fd < 0)
		return -errno;
	err = thread_start(&cl.thread, closer_main);
	if (err) {
		close(cl.event_fd);
		cl.event_fd = -1;
		return -err;
	}
	cl.started = true;
	return 0;
}

bool closer_put(int fd, bool trusted)
{
	struct closing *c = malloc(sizeof(*c));
	bool over;

	if (!c || !cl.started) {
		/* no memory, no thread: the last resort is to close here */
		pr_warn("closer: closing fd %d on the event loop", fd);
		free(c);
		close(fd);
		return false;
	}
	c->fd = fd;
	c->trusted = trusted;
	c->next = NULL;
	pthread_mutex_lock(&cl.lock);
	if (cl.tail)
		cl.tail->next = c;
	else
		cl.head = c;
	cl.tail = c;
	cl.pending++;
	if (!trusted && ++cl.untrusted >= CLOSER_UNTRUSTED_MAX)
		cl.over = true;
	over = cl.over;
	pthread_cond_signal(&cl.wake);
	pthread_mutex_unlock(&cl.lock);
	return over;
}

int closer_event_fd(void)
{
	return cl.event_fd;
}

bool closer_resumed(void)
{
	uint64_t n;
	bool over;

	if (read(cl.event_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_warn("closer: read its event: %s", strerror(errno));
	pthread_mutex_lock(&cl.lock);
	over = cl.over;
	pthread_mutex_unlock(&cl.lock);
	return !over;
}

size_t closer_pending(void)
{
	size_t n;

	pthread_mutex_lock(&cl.lock);
	n = cl.pending;
	pthread_mutex_unlock(&cl.lock);
	return n;
}

/* The queue drained, the thread ends; one stuck in a close is left. */
void closer_stop(void)
{
	struct timespec until;

	if (!cl.started)
		return;
	pthread_mutex_lock(&cl.lock);
	cl.stop = true;
	pthread_cond_signal(&cl.wake);
	pthread_mutex_unlock(&cl.lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	if (pthread_timedjoin_np(cl.thread, NULL, &until)) {
		pr_warn("closer: %zu descriptors still closing at exit",
			closer_pending());
		pthread_detach(cl.thread);
		return;
	}
	cl.started = false;
	close(cl.event_fd);
	cl.event_fd = -1;
}
