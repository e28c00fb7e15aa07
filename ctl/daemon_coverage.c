// SPDX-License-Identifier: GPL-2.0
/*
 * What each pod's enrolment does not cover (ctl/lib/coverage.h): checked
 * by the sweep, a slice of the pods at a time, and at enrolment; shown by
 * `redirectctl pods` and counted in status and the metrics. An address
 * that appears later (SLAAC, a secondary address) is found on the next
 * pass over that pod; the datapath refuses its traffic meanwhile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "coverage.h"
#include "daemon_coverage.h"
#include "log.h"

/* Keep the finding; log it when it appears or changes. */
static void note_gaps(struct enrolled_pod *pod, char *gaps)
{
	bool changed = !gaps != !pod->uncovered ||
		       (gaps && strcmp(gaps, pod->uncovered));

	if (changed && gaps)
		pr_warn("pod %s/%s (%s): not covered by its enrolment: %s "
			"(refused on %s, outside the mesh on other interfaces)",
			pod->ns, pod->name, pod->uid, gaps, pod->ifname);
	else if (changed)
		pr_info("pod %s/%s (%s): every address covered again", pod->ns,
			pod->name, pod->uid);
	free(pod->uncovered);
	pod->uncovered = gaps;
}

void pod_check_coverage(struct daemon *d, struct enrolled_pod *pod)
{
	struct link_info host;
	char *gaps;
	int err = link_get_by_index(d->nl, pod->host_ifindex, &host);

	/* the pod's netns as ours knows it: its veth peer's */
	if (err || host.link_netnsid < 0)
		return;
	err = coverage_gaps(d->nl, host.link_netnsid, pod->addrs, pod->naddrs,
			    &gaps);
	if (err)
		pr_debug("pod %s: reading its addresses: %s", pod->uid,
			 strerror(-err));
	else
		note_gaps(pod, gaps);
}

unsigned int pods_uncovered(const struct daemon *d)
{
	unsigned int n = 0;

	for (size_t b = 0; b < d->st.nbuckets; b++)
		for (struct enrolled_pod *p = d->st.buckets[b]; p; p = p->next)
			n += p->uncovered != NULL;
	return n;
}
