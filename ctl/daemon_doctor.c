// SPDX-License-Identifier: GPL-2.0
/*
 * Doctor (docs/doctor.md): what redirectd can see of the node's setup,
 * each finding ok, warn or fail with one line of what to do. It reads,
 * never repairs: the order watch and reconcile do that. redirectctl adds
 * what only the node's files show (the CNI conflist, mounts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include "daemon_doctor.h"
#include "findings.h"
#include "daemon_hooks.h"
#include "daemon_netns.h"
#include "netns.h"
#include "tc.h"
#include "tcx.h"
#include "ztunnel_routing.h"

/* Pods listed one by one at most; the rest are counted (a reply has to
 * fit one packet). */
#define DOCTOR_PODS_LISTED 20

/* "foreign_ok, app_outbound": the TCX chain of a hook, in order. */
static void chain_names(int ifindex, enum tc_dir dir, char *buf, size_t len)
{
	__u32 ids[64], n = 0;
	size_t at = 0;

	buf[0] = '\0';
	if (tcx_list(ifindex, dir, ids, 64, &n))
		return;
	for (__u32 i = 0; i < n && at < len; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 ilen = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &ilen))
			at += (size_t)snprintf(buf + at, len - at,
					       "%s%s (id %u)", i ? ", " : "",
					       info.name, ids[i]);
		if (fd >= 0)
			close(fd);
	}
}

/* "foo (pref 1), app_outbound (pref 23166)": a hook's tc filters. */
static void filter_names(struct nl *nl, int ifindex, enum tc_dir dir, char *buf,
			 size_t len)
{
	struct tc_filter_info f[16];
	int n = tc_filter_list(nl, ifindex, dir, f, 16);
	size_t at = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s (pref %u)",
				       i ? ", " : "",
				       f[i].name[0] ? f[i].name : "?",
				       f[i].prio);
}

static const char *order_fix(enum hook_order o)
{
	if (o == HOOK_ORDER_NOT_FIRST)
		return "the order watch puts ours back first within a second; "
		       "if this stays, see the log for why";
	return "run redirectd with --attach auto (the default) or tcx, so "
	       "ours go first in the TCX chain";
}

/*
 * What runs before ours on a device the order watch reported: its TCX
 * chains, or its tc filters when a foreign filter is first.
 */
static void report_order(struct daemon *d, struct findings *fs,
			 const char *subject, const struct hook_dev *dev,
			 bool tcx, const __u32 *ids)
{
	struct hooks h = hooks_of(d);
	char in[160], eg[160];
	enum hook_order o = hook_dev_order(&h, dev, tcx, ids);

	if (o == HOOK_ORDER_OK) {
		findings_add(
			fs, "warn", "order", subject,
			"nothing: the watch's next sweep clears it",
			"the order watch last saw another program before ours; "
			"gone now");
		return;
	}
	if (o == HOOK_ORDER_FILTER_FIRST) {
		filter_names(dev->nl, dev->ifindex, TC_DIR_INGRESS, in,
			     sizeof(in));
		filter_names(dev->nl, dev->ifindex, TC_DIR_EGRESS, eg,
			     sizeof(eg));
		findings_add(
			fs, "fail", "order", subject, order_fix(o),
			"%s (ours are cls_bpf filters): tc ingress [%s], egress "
			"[%s]",
			hook_order_name(o), in, eg);
		return;
	}
	chain_names(dev->ifindex, TC_DIR_INGRESS, in, sizeof(in));
	chain_names(dev->ifindex, TC_DIR_EGRESS, eg, sizeof(eg));
	findings_add(fs, "fail", "order", subject, order_fix(o),
		     "%s (ours are %s): TCX ingress [%s], egress [%s]",
		     hook_order_name(o), tcx ? "TCX links" : "cls_bpf filters",
		     in, eg);
}

/*
 * A pod's findings: what the order watch reported (it checks every pod
 * in slices and puts ours back first where it can; doctor does not redo
 * that per pod on the event loop), its guard, its coverage.
 */
static bool check_pod(struct daemon *d, struct findings *fs,
		      struct enrolled_pod *pod, const __u32 *ids, bool list)
{
	struct hook_dev dev;
	bool bad = pod->order_reported || (d->guard_on && !pod->guard) ||
		   pod->uncovered;

	if (!bad || !list)
		return bad;
	if (pod->order_reported) {
		hook_dev_pod(&dev, d->nl, pod->host_ifindex);
		report_order(d, fs, pod->uid, &dev, pod->tcx, ids);
	}
	if (d->guard_on && !pod->guard)
		findings_add(
			fs, "warn", "guard", pod->uid,
			"re-enrol the pod (CNI ADD) to attach it",
			"no inbound guard in its netns: traffic another program "
			"delivers straight into it is not captured");
	if (pod->uncovered)
		findings_add(
			fs, "warn", "coverage", pod->uid,
			"enrol every address of the pod, or remove the others",
			"addresses of its netns it was not enrolled with: %s",
			pod->uncovered);
	return true;
}

static void check_pods(struct daemon *d, struct findings *fs)
{
	size_t bad = 0;
	__u32 ids[DP_PROG_MAX];

	hook_prog_ids(&d->dp, ids);
	for (size_t i = 0; i < d->st.nbuckets; i++)
		for (struct enrolled_pod *p = d->st.buckets[i]; p; p = p->next)
			bad += check_pod(d, fs, p, ids,
					 bad < DOCTOR_PODS_LISTED);
	if (bad > DOCTOR_PODS_LISTED)
		findings_add(fs, "fail", "pod", "pods",
			     "redirectctl pods and status; the log names each",
			     "%zu more pods with findings, not listed here",
			     bad - DOCTOR_PODS_LISTED);
	if (!bad)
		findings_add(
			fs, "ok", "pod", "pods", NULL,
			"%zu enrolled: no program found before ours by the order "
			"watch%s, every address covered",
			d->st.npods, d->guard_on ? ", guards in place" : "");
}

/* rp_filter in ztunnel's netns: strict drops what we hand ztunnel. */
static void check_rp_filter(struct daemon *d, struct findings *fs,
			    const struct ztunnel *zt)
{
	char path[128], v[2][8] = { "?", "?" };
	int saved, fd;

	if (zt->netns_fd < 0 || netns_enter(zt->netns_fd, &saved)) {
		findings_add(fs, "warn", "rp_filter", zt->uid,
			     "re-send its ZtunnelAdd with its netns path",
			     "ztunnel's netns cannot be entered: not checked");
		return;
	}
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path),
			 "/proc/sys/net/ipv4/conf/%s/rp_filter",
			 i ? zt->ifname : "all");
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t r = read(fd, v[i], sizeof(v[i]) - 1);

			v[i][r > 0 ? r : 0] = '\0';
			v[i][strcspn(v[i], "\n")] = '\0';
			close(fd);
		}
	}
	if (netns_leave(saved))
		abort(); /* on in ztunnel's netns, nothing would be right */
	/* the kernel applies the larger of the two: 1 strict, 2 loose */
	if ((!strcmp(v[0], "1") && strcmp(v[1], "2")) ||
	    (!strcmp(v[1], "1") && strcmp(v[0], "2")))
		findings_add(
			fs, "warn", "rp_filter", zt->uid,
			"sysctl -w net.ipv4.conf.all.rp_filter=0 (and on its "
			"interface) in ztunnel's netns",
			"strict rp_filter in ztunnel's netns (all=%s, %s=%s) "
			"drops captured packets whose source it would route "
			"elsewhere",
			v[0], zt->ifname, v[1]);
	else
		findings_add(fs, "ok", "rp_filter", zt->uid, NULL,
			     "not strict in ztunnel's netns (all=%s, %s=%s)",
			     v[0], zt->ifname, v[1]);
}

/* The policy routing that delivers assigned packets to ztunnel's sockets. */
static void check_routing(struct findings *fs, const struct ztunnel *zt,
			  struct nl *znl)
{
	struct ztunnel_routing r = ztunnel_routing_default();
	char missing[256];
	int err = ztunnel_routing_check(znl, &r, missing, sizeof(missing));

	if (!err)
		findings_add(
			fs, "ok", "routing", zt->uid, NULL,
			"fwmark 0x%x/0x%x rules and local routes of table %u in "
			"its netns",
			r.mark, r.mask, r.table);
	else if (err == -ENOENT)
		findings_add(
			fs, "fail", "routing", zt->uid,
			"re-send ZtunnelAdd (or restart redirectd): it puts "
			"them back",
			"missing in ztunnel's netns: %s; captured traffic is "
			"not delivered to its sockets",
			missing);
	else
		findings_add(fs, "warn", "routing", zt->uid, "see the log",
			     "could not read ztunnel's rules and routes: %s",
			     strerror(-err));
}

static void check_ztunnel(struct daemon *d, struct findings *fs)
{
	struct ztunnel *zt = state_ztunnel_current(&d->st);
	struct ztunnel_devs zd;
	__u32 ids[DP_PROG_MAX];

	if (!zt) {
		findings_add(
			fs, d->opts.fail_open ? "warn" : "fail", "ztunnel",
			"ztunnel",
			"start ztunnel; its CNI ADD or ZtunnelAdd enrols it",
			"no ztunnel enrolled: meshed pods' traffic is %s",
			d->opts.fail_open ? "passed unmeshed (fail open)" :
					    "dropped (fail closed)");
		return;
	}
	ztunnel_devs_open(d, zt, &zd);
	hook_prog_ids(&d->dp, ids);
	if (zt->order_reported)
		for (int i = 0; i < 2; i++)
			if (zd.reach[i])
				report_order(d, fs, zt->uid, &zd.dev[i],
					     zt->tcx, ids);
	if (!zd.reach[0] || !zd.reach[1])
		findings_add(
			fs, "warn", "ztunnel", zt->uid,
			"re-send its ZtunnelAdd with its netns path",
			"its %s cannot be reached (enrolled by a netns fd before "
			"a restart): not checked",
			zd.reach[1] ? "own interface" : "host veth");
	else if (!zt->order_reported)
		findings_add(
			fs, "ok", "ztunnel", zt->uid, NULL,
			"enrolled on %s, no program found before ours (%s)",
			zt->host_veth, zt->tcx ? "TCX" : "tc");
	if (zd.znl)
		check_routing(fs, zt, zd.znl);
	ztunnel_devs_close(&zd);
	check_rp_filter(d, fs, zt);
}

static void check_kernel(struct daemon *d, struct findings *fs)
{
	findings_add(fs, "ok", "kernel", "features", NULL, "%s", d->features);
	if (!d->tcx_ok)
		findings_add(
			fs, "warn", "kernel", "tcx",
			"a kernel of 6.6 or later, where CNIs attach with TCX",
			"no TCX links: beside a CNI that attaches with TCX "
			"(Cilium 1.16+) ours could not go first");
	findings_add(fs, "ok", "bpffs", d->opts.bpffs, NULL,
		     "programs and maps pinned here");
	if (d->sm.active)
		findings_add(fs, "ok", "sockmap", d->sm.cgroup, NULL,
			     "acceleration attached");
	else if (d->opts.cgroup && d->opts.cgroup[0])
		findings_add(fs, "warn", "sockmap", d->opts.cgroup,
			     "check the cgroup v2 folder given with --cgroup",
			     "acceleration asked for but off: %s",
			     d->sm.reason);
	else
		findings_add(fs, "ok", "sockmap", "sockmap", NULL,
			     "acceleration off (not asked for: --cgroup)");
	if (d->guard_on)
		findings_add(fs, "ok", "guard", "pod_guard", NULL,
			     "inbound guard inside meshed pods");
	else
		findings_add(
			fs, "warn", "guard", "pod_guard",
			"a kernel with TCX; see the log for why it is off",
			"no inbound guard (%s): traffic a CNI delivers straight "
			"into a pod (bpf_redirect_peer) is not captured",
			d->guard_off);
}

static void check_health(struct daemon *d, struct findings *fs)
{
	const struct journal *j = &d->st.journal;

	if (j->dirty)
		findings_add(
			fs, "fail", "journal", d->opts.state_file,
			"free space or fix permissions where the journal lives",
			"writes fail (%s): changes since are not on disk",
			strerror(-j->last_error));
	else if (j->errors || j->damaged)
		findings_add(
			fs, "warn", "journal", d->opts.state_file,
			"see the log; the file is rewritten whole at compaction",
			"%llu writes failed, %llu damaged stretches skipped at "
			"start",
			(unsigned long long)j->errors,
			(unsigned long long)j->damaged);
	else
		findings_add(fs, "ok", "journal", d->opts.state_file, NULL,
			     "whole");
	if (d->kernel_errors)
		findings_add(
			fs, "warn", "kernel errors", "redirectd",
			"see the log: each failed operation is logged",
			"%llu kernel operations failed where nothing could "
			"refuse or undo them",
			(unsigned long long)d->kernel_errors);
	findings_add(
		fs, "ok", "order watch", "redirectd", NULL,
		"%llu checks, %llu found a program before ours, %llu put ours "
		"back first",
		(unsigned long long)d->order_checks,
		(unsigned long long)d->order_violations,
		(unsigned long long)d->order_restored);
}

/* What other owners of the node's networking show of themselves. */
static void check_neighbours(struct daemon *d, struct findings *fs)
{
	if (if_nametoindex("cilium_host")) {
		if (!d->guard_on)
			findings_add(
				fs, "fail", "cni", "cilium",
				"a kernel with TCX, so the guard can run",
				"Cilium delivers into pods with bpf_redirect_peer, "
				"around our hooks, and the guard is off");
		else if (d->opts.attach == ATTACH_TC)
			findings_add(
				fs, "warn", "cni", "cilium",
				"run redirectd with --attach auto (the default)",
				"Cilium attaches with TCX, which runs before "
				"--attach tc's filters");
		else
			findings_add(
				fs, "ok", "cni", "cilium", NULL,
				"seen (cilium_host); guard on, TCX available");
	}
	if (if_nametoindex("kube-ipvs0"))
		findings_add(
			fs, "ok", "cni", "kube-ipvs0", NULL,
			"Service addresses on kube-ipvs0 are node addresses: "
			"captured");
	if (if_nametoindex("tunl0"))
		findings_add(
			fs, "ok", "cni", "tunl0", NULL,
			"an IPIP device (Calico): meshed pods' IPIP is dropped");
}

ErrorCode h_doctor(struct daemon *d, struct call *k)
{
	struct findings fs = { 0 };
	DoctorReply *r = calloc(1, sizeof(*r));

	if (!r)
		return EC(INTERNAL);
	ambient_redirect__v1__doctor_reply__init(r);
	check_kernel(d, &fs);
	check_ztunnel(d, &fs);
	check_pods(d, &fs);
	check_health(d, &fs);
	check_neighbours(d, &fs);
	r->findings = fs.v;
	r->n_findings = fs.n;
	if (fs.oom) {
		release_doctor(r);
		return EC(INTERNAL);
	}
	k->reply->body_case = REPLY_BODY(DOCTOR);
	k->reply->doctor = r;
	return EC(OK);
}

void release_doctor(DoctorReply *r)
{
	findings_free(r->findings, r->n_findings);
	free(r);
}
