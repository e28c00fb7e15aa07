// SPDX-License-Identifier: GPL-2.0
/* What a pod's enrolment does not cover: coverage.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "addr.h"
#include "coverage.h"
#include "link.h"

#define MAX_GAPS 16 /* more are summed up as "and N more" */

struct gap_scan {
	const struct addr_key *addrs;
	size_t n;
	size_t ngaps, more;
	struct addr_key gap[MAX_GAPS];
	int gap_ifindex[MAX_GAPS];
};

/* Loopback, link-local and multicast addresses carry no pod traffic. */
static bool reachable_unicast(int family, const __u8 *a)
{
	if (family == AF_INET)
		return a[0] != 127 && !(a[0] == 169 && a[1] == 254) &&
		       a[0] < 224;
	if (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return false;
	for (int i = 0; i < 15; i++)
		if (a[i])
			return true;
	return a[15] > 1; /* :: and ::1 */
}

static bool enrolled(const struct gap_scan *g, const struct addr_key *k)
{
	for (size_t i = 0; i < g->n; i++)
		if (!memcmp(&g->addrs[i], k, sizeof(*k)))
			return true;
	return false;
}

static int note_gap(int family, const void *addr, int ifindex, void *arg)
{
	struct gap_scan *g = arg;
	struct addr_key k;

	if (!reachable_unicast(family, addr))
		return 0;
	addr_key_from_bytes(family, addr, &k);
	if (enrolled(g, &k))
		return 0;
	if (g->ngaps == MAX_GAPS) {
		g->more++;
		return 0;
	}
	g->gap[g->ngaps] = k;
	g->gap_ifindex[g->ngaps++] = ifindex;
	return 0;
}

static void gap_ifname(struct nl *nl, int nsid, int ifindex, char *name,
		       size_t len)
{
	struct link_info li;

	if (link_get_in_netns_id_at(nl, nsid, ifindex, &li))
		snprintf(name, len, "ifindex%d", ifindex);
	else
		snprintf(name, len, "%s", li.name);
}

static char *gaps_text(struct nl *nl, int nsid, const struct gap_scan *g)
{
	size_t len = (g->ngaps + 1) * (IF_NAMESIZE + INET6_ADDRSTRLEN + 4);
	char *out = malloc(len), name[IF_NAMESIZE], text[INET6_ADDRSTRLEN];
	size_t at = 0;

	if (!out)
		return NULL;
	out[0] = 0;
	for (size_t i = 0; i < g->ngaps; i++) {
		gap_ifname(nl, nsid, g->gap_ifindex[i], name, sizeof(name));
		at += (size_t)snprintf(
			out + at, len - at, "%s%s %s", i ? ", " : "", name,
			addr_key_format(&g->gap[i], text, sizeof(text)));
	}
	if (g->more)
		snprintf(out + at, len - at, ", and %zu more", g->more);
	return out;
}

int coverage_gaps(struct nl *nl, int nsid, const struct addr_key *addrs,
		  size_t n, char **gaps)
{
	struct gap_scan g = { .addrs = addrs, .n = n };
	int err;

	*gaps = NULL;
	err = addr_for_each_in_netns(nl, nsid, 0, note_gap, &g);
	if (err)
		return err;
	if (!g.ngaps)
		return 0;
	*gaps = gaps_text(nl, nsid, &g);
	return *gaps ? 0 : -ENOMEM;
}
