// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel-sim's listeners: which ones (ztunnel's ports, IPv4 and IPv6,
 * UDP only with --udp-capture), where (our netns, or in-pod each pod's),
 * the --explicit ones, and how each is opened: transparent, and handed
 * to relay.c (TCP) or udp.c (UDP) when ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "redirect_abi.h"
#include "ztsim.h"

static void listener_event(struct handler *h, uint32_t events)
{
	struct listener *l = container_of(h, struct listener, h);

	if (l->type == SOCK_DGRAM)
		udp_read(l);
	else
		tcp_accept(l);
}

static void listener_open(struct listener *l)
{
	struct sockaddr_storage ss = { .ss_family = l->family };
	bool v6 = l->family == AF_INET6;
	char a[ADDRSTR_LEN];
	int fd, err;

	/* Zeroed storage is already 0.0.0.0 / :: */
	sa_set_port(&ss, l->port);
	fd = socket_in(l->netns, l->family,
		       l->type | SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!err)
		err = set_transparent(fd, l->family);
	if (!err && v6) /* the IPv4 listener gets IPv4 */
		err = set_int(fd, SOL_IPV6, IPV6_V6ONLY, 1);
	if (!err && l->type == SOCK_DGRAM)
		err = v6 ? set_int(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, 1) :
			   set_int(fd, SOL_IP, IP_RECVORIGDSTADDR, 1);
	if (!err && bind(fd, (struct sockaddr *)&ss, sa_len(&ss)))
		err = -errno;
	if (!err && l->type == SOCK_STREAM && listen(fd, 1024))
		err = -errno;
	if (err)
		die("cannot listen on %s %s: %s (is another ztunnel running in this netns?)",
		    l->type == SOCK_STREAM ? "tcp" : "udp",
		    sa_str(&ss, a, sizeof(a)), strerror(-err));
	l->fd = fd;
	l->h.fn = listener_event;
	watch(fd, &l->h, EPOLLIN, EPOLL_CTL_ADD);
}

static const struct {
	int type;
	uint16_t port;
	enum role role;
	enum lid id;
} specs[] = {
	{ SOCK_STREAM, ZT_PORT_OUTBOUND, ROLE_OUTBOUND, L_TCP15001 },
	{ SOCK_STREAM, ZT_PORT_INBOUND, ROLE_INBOUND, L_TCP15006 },
	{ SOCK_STREAM, ZT_PORT_HBONE, ROLE_TUNNEL, L_TCP15008 },
	{ SOCK_STREAM, ZT_PORT_DNS, ROLE_DNS, L_DNS },
	{ SOCK_DGRAM, ZT_PORT_OUTBOUND, ROLE_UDP, L_UDP15001 },
	{ SOCK_DGRAM, ZT_PORT_INBOUND, ROLE_UDP, L_UDP15006 },
	{ SOCK_DGRAM, ZT_PORT_DNS, ROLE_DNS, L_DNS },
};

#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static struct listener listeners[2 * NSPECS];

static struct listener *listener_new(void)
{
	struct listener *l = calloc(1, sizeof(*l));

	if (!l)
		die("out of memory");
	l->netns = -1;
	return l;
}

/* In-pod: TCP 15001, 15006, 15008 and 15053 in every pod's netns. */
static void pod_listeners_open(void)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (unsigned int p = 0; p < npods; p++) {
		int ns = open(pod_netns[p], O_RDONLY | O_CLOEXEC);

		if (ns < 0)
			die("%s: %s", pod_netns[p], strerror(errno));
		for (size_t f = 0; f < 2; f++) {
			for (size_t i = 0; i < NSPECS; i++) {
				struct listener *l;

				if (specs[i].type != SOCK_STREAM)
					continue;
				l = listener_new();
				l->netns = ns;
				l->family = families[f];
				l->type = SOCK_STREAM;
				l->port = specs[i].port;
				l->role = specs[i].role;
				l->id = specs[i].id;
				listener_open(l);
			}
		}
	}
}

static void explicit_listeners_open(void)
{
	for (unsigned int i = 0; i < nexplicit; i++) {
		struct listener *l = listener_new();

		l->family = explicit_map[i].dest.ss_family;
		l->type = SOCK_STREAM;
		l->port = explicit_map[i].port;
		l->role = ROLE_EXPLICIT;
		l->id = L_EXPLICIT;
		l->dest = explicit_map[i].dest;
		listener_open(l);
	}
}

void listeners_open(void)
{
	static const int families[] = { AF_INET, AF_INET6 };

	explicit_listeners_open();
	if (npods) { /* in-pod: none in our own netns */
		pod_listeners_open();
		return;
	}
	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; i < NSPECS; i++) {
			struct listener *l = &listeners[f * NSPECS + i];

			l->netns = -1;
			if (specs[i].role == ROLE_UDP && !udp_capture) {
				l->fd = -1;
				continue;
			}
			l->family = families[f];
			l->type = specs[i].type;
			l->port = specs[i].port;
			l->role = specs[i].role;
			l->id = specs[i].id;
			listener_open(l);
		}
	}
}
