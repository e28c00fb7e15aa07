// SPDX-License-Identifier: GPL-2.0
/*
 * ztunnel-sim's socket addresses (struct sockaddr_storage, IPv4 or IPv6):
 * length, port, address, comparison, and the IP:PORT / [IP]:PORT text of
 * the tunnel header and of --explicit, both ways.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ztsim.h"

socklen_t sa_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					   sizeof(struct sockaddr_in);
}

uint16_t sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

void sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
}

const void *sa_addr(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return &((const struct sockaddr_in6 *)ss)->sin6_addr;
	return &((const struct sockaddr_in *)ss)->sin_addr;
}

bool sa_equal(const struct sockaddr_storage *a,
	      const struct sockaddr_storage *b)
{
	size_t alen = a->ss_family == AF_INET6 ? 16 : 4;

	return a->ss_family == b->ss_family && sa_port(a) == sa_port(b) &&
	       !memcmp(sa_addr(a), sa_addr(b), alen);
}

/* "1.2.3.4:80" or "[fd00::1]:80", the form the tunnel header uses. */
const char *sa_str(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(ss->ss_family, sa_addr(ss), ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(out, len, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
		 sa_port(ss));
	return out;
}

int sa_parse(const char *s, struct sockaddr_storage *ss)
{
	const char *start = s, *end, *colon;
	char ip[INET6_ADDRSTRLEN], *ep;
	bool v6 = *s == '[';
	unsigned long port;
	size_t len;

	if (v6) {
		start = s + 1;
		end = strchr(start, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		end = colon;
	}
	len = end - start;
	if (!len || len >= sizeof(ip) || !colon[1])
		return -EINVAL;
	memcpy(ip, start, len);
	ip[len] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &ep, 10);
	if (errno || *ep || port > 65535)
		return -EINVAL;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = v6 ? AF_INET6 : AF_INET;
	if (inet_pton(ss->ss_family, ip, (void *)sa_addr(ss)) != 1)
		return -EINVAL;
	sa_set_port(ss, port);
	return 0;
}

bool sa_unspecified(const struct sockaddr_storage *ss)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (ss->ss_family == AF_INET6)
		return !memcmp(sa_addr(ss), &any6, sizeof(any6));
	return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == 0;
}
