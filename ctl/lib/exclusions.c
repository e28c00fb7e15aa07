// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "addr.h"
#include "exclusions.h"

static void clear_host_bits(struct addr_key *a, unsigned int prefixlen)
{
	for (unsigned int w = 0; w < 4; w++) {
		unsigned int first = w * 32;
		__u32 mask;

		if (prefixlen >= first + 32)
			continue;
		mask = prefixlen <= first ?
			       0 :
			       htonl(~0u << (32 - (prefixlen - first)));
		a->addr[w] &= mask;
	}
}

/* A prefix length: decimal digits only, no sign, no blank, no 0 first. */
static int prefix_parse(const char *s, unsigned int max, unsigned int *len)
{
	size_t n = strspn(s, "0123456789");

	if (!n || s[n] || n > 3 || (s[0] == '0' && n > 1))
		return -EINVAL;
	*len = (unsigned int)strtoul(s, NULL, 10);
	return *len <= max ? 0 : -EINVAL;
}

int excl_cidr_parse(const char *s, struct excl_cidr *c)
{
	char text[64], *slash;
	unsigned int len;
	bool v4, v6_text;

	memset(c, 0, sizeof(*c)); /* padding too: records compare whole */
	if (strlen(s) >= sizeof(text))
		return -EINVAL;
	strcpy(text, s);
	slash = strchr(text, '/');
	if (slash)
		*slash = '\0';
	if (addr_key_parse(text, &c->addr))
		return -EINVAL;
	v4 = addr_key_is_v4(&c->addr);
	/* ::ffff:a.b.c.d/n is the IPv4 a.b.c.d/(n - 96): n >= 96 */
	v6_text = strchr(text, ':') != NULL;
	len = v4 && !v6_text ? 32 : 128;
	if (slash && prefix_parse(slash + 1, len, &len))
		return -EINVAL;
	if (v4 && v6_text && len < 96)
		return -EINVAL;
	if (v4 && !v6_text)
		len += 96;
	excl_cidr_init(c, &c->addr, (__u8)len);
	return 0;
}

void excl_cidr_init(struct excl_cidr *c, const struct addr_key *a,
		    __u8 prefixlen)
{
	struct addr_key net = *a;

	clear_host_bits(&net, prefixlen);
	memset(c, 0, sizeof(*c));
	c->addr = net;
	c->prefixlen = prefixlen;
}

const char *excl_cidr_format(const struct excl_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	bool v4 = addr_key_is_v4(&c->addr);

	addr_key_format(&c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, v4 ? c->prefixlen - 96u : c->prefixlen);
	return buf;
}

static int cmp_port(const void *x, const void *y)
{
	return (int)*(const __u16 *)x - (int)*(const __u16 *)y;
}

/* Ports 1-65535 into out, sorted, duplicates dropped. */
static int ports_parse(const char *field, const uint32_t *in, size_t n,
		       __u16 *out, size_t *nout, char *msg, size_t msglen)
{
	size_t k = 0;

	if (n > EXCL_MAX_PER_POD) {
		snprintf(msg, msglen, "%s: %zu ports, at most %d", field, n,
			 EXCL_MAX_PER_POD);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (in[i] < 1 || in[i] > 65535) {
			snprintf(msg, msglen,
				 "%s[%zu]: %u is not a port (1-65535)", field,
				 i, in[i]);
			return -EINVAL;
		}
		out[k++] = (__u16)in[i];
	}
	qsort(out, k, sizeof(out[0]), cmp_port);
	*nout = 0;
	for (size_t i = 0; i < k; i++)
		if (!i || out[i] != out[i - 1])
			out[(*nout)++] = out[i];
	return 0;
}

static int cidrs_parse(struct pod_exclusions *e, char *const *cidrs, size_t n,
		       char *msg, size_t msglen)
{
	if (n > EXCL_MAX_PER_POD) {
		snprintf(msg, msglen,
			 "exclude_outbound_cidrs: %zu entries, at most %d", n,
			 EXCL_MAX_PER_POD);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		struct excl_cidr c;

		if (excl_cidr_parse(cidrs[i], &c)) {
			snprintf(msg, msglen,
				 "exclude_outbound_cidrs[%zu]: '%.64s' is not "
				 "an IPv4 or IPv6 CIDR or address",
				 i, cidrs[i]);
			return -EINVAL;
		}
		if (!excl_has_cidr(e, &c))
			e->cidrs[e->ncidrs++] = c;
	}
	return 0;
}

int excl_parse(struct pod_exclusions *e, char *const *cidrs, size_t ncidrs,
	       const uint32_t *out_ports, size_t nout, const uint32_t *in_ports,
	       size_t nin, bool bypass_inbound, char *msg, size_t msglen)
{
	memset(e, 0, sizeof(*e));
	e->bypass_inbound = bypass_inbound;
	if (cidrs_parse(e, cidrs, ncidrs, msg, msglen) ||
	    ports_parse("exclude_outbound_ports", out_ports, nout, e->out_ports,
			&e->nout, msg, msglen) ||
	    ports_parse("exclude_inbound_ports", in_ports, nin, e->in_ports,
			&e->nin, msg, msglen))
		return -EINVAL;
	return 0;
}

bool excl_none(const struct pod_exclusions *e)
{
	return !excl_pod_flags(e);
}

__u16 excl_pod_flags(const struct pod_exclusions *e)
{
	__u16 f = 0;

	if (!e)
		return 0;
	if (e->ncidrs || e->nout)
		f |= POD_F_EXCL_OUT;
	if (e->nin)
		f |= POD_F_EXCL_IN_PORTS;
	if (e->bypass_inbound)
		f |= POD_F_BYPASS_INBOUND;
	return f;
}

bool excl_has_cidr(const struct pod_exclusions *e, const struct excl_cidr *c)
{
	for (size_t i = 0; e && i < e->ncidrs; i++)
		if (e->cidrs[i].prefixlen == c->prefixlen &&
		    !memcmp(&e->cidrs[i].addr, &c->addr, sizeof(c->addr)))
			return true;
	return false;
}

bool excl_has_port(const struct pod_exclusions *e, __u16 port, __u8 dir)
{
	if (!e)
		return false;
	if (dir == EXCL_DIR_OUT)
		return bsearch(&port, e->out_ports, e->nout, sizeof(port),
			       cmp_port);
	return bsearch(&port, e->in_ports, e->nin, sizeof(port), cmp_port);
}
