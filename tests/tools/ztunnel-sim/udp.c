// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel-sim's UDP flows: one per (listener, client, original
 * destination), found through IP_RECVORIGDSTADDR, forwarded from the
 * client's address (DNS: from ours, to port 53), answered from the
 * original destination's address, expired when idle.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "redirect_abi.h"
#include "ztsim.h"

#define MAX_FLOWS 4096

struct udp_flow {
	struct handler h;
	struct udp_flow *next;
	enum lid id;
	struct sockaddr_storage client, orig;
	int fwd; /* connected to the destination */
	int reply; /* bound to the original destination, sends to the client */
	uint64_t last_ms;
};

static struct udp_flow *flows;
static unsigned int nflows;
static char pkt[65536]; /* one datagram at a time */

static void flow_free(struct udp_flow *f)
{
	if (f->fwd >= 0)
		close(f->fwd);
	if (f->reply >= 0)
		close(f->reply);
	free(f);
}

static void flow_event(struct handler *h, uint32_t events)
{
	struct udp_flow *f = container_of(h, struct udp_flow, h);
	ssize_t n;

	for (int i = 0; i < BATCH; i++) {
		n = recv(f->fwd, pkt, sizeof(pkt), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			/* e.g. ECONNREFUSED from an ICMP error; it is consumed */
			count(&stats[f->id].errors, 1);
			continue;
		}
		f->last_ms = now_ms();
		if (sendto(f->reply, pkt, n, 0,
			   (const struct sockaddr *)&f->client,
			   sa_len(&f->client)) < 0)
			count(&stats[f->id].errors, 1);
		else
			count(&stats[f->id].bytes_down, n);
	}
}

static struct udp_flow *flow_new(const struct listener *l,
				 const struct sockaddr_storage *client,
				 const struct sockaddr_storage *orig)
{
	struct sockaddr_storage dst = *orig;
	bool dns = l->role == ROLE_DNS;
	struct udp_flow *f;
	char c[ADDRSTR_LEN], o[ADDRSTR_LEN];

	if (nflows >= MAX_FLOWS || !(f = calloc(1, sizeof(*f)))) {
		logmsg("%s: too many flows", lid_name[l->id]);
		return NULL;
	}
	f->h.fn = flow_event;
	f->id = l->id;
	f->client = *client;
	f->orig = *orig;
	if (dns)
		sa_set_port(&dst, DNS_PORT);
	/* DNS goes out from our own address, like a resolver would. */
	f->fwd = open_upstream(SOCK_DGRAM, &dst, dns ? NULL : client, -1);
	f->reply = f->fwd < 0 ? -1 : open_reply(orig);
	if (f->fwd < 0 || f->reply < 0) {
		logmsg("%s %s -> %s: flow sockets: %s", lid_name[l->id],
		       sa_str(client, c, sizeof(c)), sa_str(orig, o, sizeof(o)),
		       strerror(f->fwd < 0 ? -f->fwd : -f->reply));
		flow_free(f);
		return NULL;
	}
	watch(f->fwd, &f->h, EPOLLIN, EPOLL_CTL_ADD);
	f->next = flows;
	flows = f;
	nflows++;
	stats[l->id].active++;
	count(&stats[l->id].conns, 1);
	if (verbose)
		logmsg("%s %s -> %s: new flow", lid_name[l->id],
		       sa_str(client, c, sizeof(c)),
		       sa_str(orig, o, sizeof(o)));
	return f;
}

static struct udp_flow *flow_get(const struct listener *l,
				 const struct sockaddr_storage *client,
				 const struct sockaddr_storage *orig)
{
	struct udp_flow **pp, *f;

	for (pp = &flows; (f = *pp); pp = &f->next) {
		if (f->id != l->id || !sa_equal(&f->client, client) ||
		    !sa_equal(&f->orig, orig))
			continue;
		/* Move to front: a busy flow is found at once. */
		*pp = f->next;
		f->next = flows;
		flows = f;
		return f;
	}
	return flow_new(l, client, orig);
}

void flows_expire(uint64_t now)
{
	struct udp_flow **pp = &flows, *f;

	while ((f = *pp)) {
		if (now - f->last_ms < udp_idle_ms) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		nflows--;
		stats[f->id].active--;
		stats_dirty = true;
		if (verbose)
			logmsg("%s flow expired", lid_name[f->id]);
		flow_free(f);
	}
}

static int orig_dst(struct msghdr *mh, struct sockaddr_storage *orig)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR) {
			memset(orig, 0, sizeof(*orig));
			memcpy(orig, CMSG_DATA(c), sizeof(struct sockaddr_in));
			return 0;
		}
		if (c->cmsg_level == SOL_IPV6 &&
		    c->cmsg_type == IPV6_ORIGDSTADDR) {
			memset(orig, 0, sizeof(*orig));
			memcpy(orig, CMSG_DATA(c), sizeof(struct sockaddr_in6));
			return 0;
		}
	}
	return -ENOENT;
}

void udp_read(struct listener *l)
{
	char cbuf[CMSG_SPACE(sizeof(struct sockaddr_in6))];
	struct sockaddr_storage client, orig;
	struct iovec iov = { .iov_base = pkt, .iov_len = sizeof(pkt) };
	struct msghdr mh;
	struct udp_flow *f;
	ssize_t n;

	for (int i = 0; i < BATCH; i++) {
		mh = (struct msghdr){ .msg_name = &client,
				      .msg_namelen = sizeof(client),
				      .msg_iov = &iov,
				      .msg_iovlen = 1,
				      .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		n = recvmsg(l->fd, &mh, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0 || orig_dst(&mh, &orig)) {
			logmsg("%s: datagram without original destination",
			       lid_name[l->id]);
			count(&stats[l->id].errors, 1);
			if (n < 0)
				return;
			continue;
		}
		f = flow_get(l, &client, &orig);
		if (!f) {
			count(&stats[l->id].errors, 1);
			continue;
		}
		f->last_ms = now_ms();
		if (send(f->fwd, pkt, n, 0) < 0)
			count(&stats[l->id].errors, 1);
		else
			count(&stats[l->id].bytes_up, n);
	}
}
