// SPDX-License-Identifier: GPL-2.0
/* Map-keyed addresses: see addr.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "addr.h"

void addr_key_from_v4(__u32 be_addr, struct addr_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr[2] = htonl(0xffff);
	k->addr[3] = be_addr;
}

void addr_key_from_bytes(int family, const void *bytes, struct addr_key *k)
{
	__u32 v4;

	if (family == AF_INET) {
		memcpy(&v4, bytes, 4);
		addr_key_from_v4(v4, k);
	} else {
		memcpy(k->addr, bytes, 16);
	}
}

int addr_key_parse(const char *s, struct addr_key *k)
{
	struct in_addr v4;

	memset(k, 0, sizeof(*k));
	if (inet_pton(AF_INET, s, &v4) == 1) {
		addr_key_from_v4(v4.s_addr, k);
		return 0;
	}
	if (inet_pton(AF_INET6, s, k->addr) == 1)
		return 0;
	return -EINVAL;
}

int addr_port_parse(const char *s, struct addr_key *k, __u16 *port)
{
	char text[ADDR_KEY_STRLEN + 8], *colon, *end, *a = text;
	unsigned long p;

	if (strlen(s) >= sizeof(text))
		return -EINVAL;
	strcpy(text, s);
	colon = strrchr(text, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (text[0] == '[') {
		if (colon == text || colon[-1] != ']')
			return -EINVAL;
		colon[-1] = '\0';
		a = text + 1;
	} else if (strchr(text, ':')) {
		return -EINVAL; /* IPv6 goes in brackets */
	}
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || p < 1 || p > 65535 ||
	    addr_key_parse(a, k))
		return -EINVAL;
	*port = (__u16)p;
	return 0;
}

const char *addr_port_format(const struct addr_key *k, __u16 port, char *buf,
			     size_t len)
{
	char a[ADDR_KEY_STRLEN];
	bool v4 = addr_key_is_v4(k);

	addr_key_format(k, a, sizeof(a));
	snprintf(buf, len, "%s%s%s:%u", v4 ? "" : "[", a, v4 ? "" : "]", port);
	return buf;
}

bool addr_key_is_v4(const struct addr_key *k)
{
	return !k->addr[0] && !k->addr[1] && k->addr[2] == htonl(0xffff);
}

const char *addr_key_format(const struct addr_key *k, char *buf, size_t len)
{
	if (addr_key_is_v4(k))
		return inet_ntop(AF_INET, &k->addr[3], buf, (socklen_t)len);
	return inet_ntop(AF_INET6, k->addr, buf, (socklen_t)len);
}

static const char *v4_special(__u32 v4)
{
	if (v4 == 0)
		return "unspecified";
	if (v4 >> 24 == 127)
		return "loopback";
	if (v4 >> 28 == 0xe)
		return "multicast";
	if (v4 == 0xffffffffu)
		return "broadcast";
	if (v4 >> 16 == 0xa9fe)
		return "link-local";
	return NULL;
}

const char *addr_key_special(const struct addr_key *a)
{
	static const __u8 zero[16];
	const __u8 *b = (const __u8 *)a->addr;

	if (addr_key_is_v4(a))
		return v4_special(ntohl(a->addr[3]));
	if (!memcmp(b, zero, 16))
		return "unspecified";
	if (!memcmp(b, zero, 15) && b[15] == 1)
		return "loopback";
	if (b[0] == 0xff)
		return "multicast";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "link-local";
	return NULL;
}

bool addr_key_in(const struct addr_key *a, const struct addr_key *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(a, &set[i], sizeof(*a)))
			return true;
	return false;
}
