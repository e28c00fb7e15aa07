/* SPDX-License-Identifier: GPL-2.0 */
/*
 * redirectd's API socket and the peers connected to it: who may connect
 * and ask what (SO_PEERCRED, --allow-*), connection limits, the
 * descriptors a peer may send (SO_PASSRIGHTS, closed off the loop when
 * they are not a netns), requests whose netns path opens off the loop
 * (parked meanwhile), replies, and the deadlines (Hello, idleness).
 */
#ifndef REDIRECT_PEERS_H
#define REDIRECT_PEERS_H

#include <stdbool.h>
#include <stdint.h>
#include "daemon.h"

struct peer; /* one connection */

struct peers {
	struct daemon *d;
	int epfd; /* peers are registered with their struct peer as tag */
	int listen_fd;
	const char *socket_path;
	bool passrights; /* the kernel refuses descriptors where asked */
	bool rights_paused; /* too many non-root ones wait to be closed */
	unsigned int fd_roles; /* roles whose requests take a descriptor */
	unsigned int refused; /* connections refused since the last log */
	uint64_t refused_logged_ms;
	unsigned int n;
	struct peer *list;
	struct peer *gone; /* dropped in this batch of events: peers_bury */
	uint8_t *buf, *out; /* one request, one reply */
	int spare_fd; /* /dev/null, given up to accept-and-close at EMFILE */
	bool fd_starved; /* logged once per burst */
};

/* The socket at d->opts.socket_path, registered with tag listen_tag. */
int peers_open(struct peers *p, struct daemon *d, int epfd,
	       uint64_t listen_tag);
/* Every peer dropped, the socket closed and unlinked. */
void peers_close(struct peers *p);
/* The listening socket is readable: take the waiting connections. */
void peers_accept(struct peers *p);
/* A peer's socket is readable (its tag). */
void peers_serve(struct peers *p, struct peer *c);
/* Once a second: deadlines of parked requests, Hello, idle peers. */
void peers_sweep(struct peers *p, uint64_t now);
/* The closer's backlog went down; netns paths finished opening. */
void peers_on_closer(struct peers *p);
void peers_on_nsopen(struct peers *p);
/* After a batch of events: free the peers it dropped. */
void peers_bury(struct peers *p);

#endif
