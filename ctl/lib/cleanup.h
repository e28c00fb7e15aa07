/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Uninstall: remove every tc filter, pin and cgroup attachment redirectd
 * made, from its journal and by name at our tc slot, without the daemon.
 * Runs in the node netns (where the pods' host veths live).
 */
#ifndef REDIRECT_CLEANUP_H
#define REDIRECT_CLEANUP_H

#include <stddef.h>
#include <linux/types.h>

struct cleanup_opts {
	const char *bpffs;
	const char *state_file;
	const char *cgroup; /* optional: verify the sock_ops attachment left */
	__u16 tc_priority;
	__u32 tc_handle;
};

struct cleanup_report {
	unsigned int filters; /* tc filters removed */
	unsigned int qdiscs; /* clsact qdiscs removed (ours, then empty) */
	unsigned int pins; /* pins removed */
	unsigned int links; /* cgroup attachments detached */
	unsigned int routing; /* ztunnel netns whose rules/routes we removed */
	unsigned int unknown; /* files in the bpffs folder left alone */
	unsigned int errors;
};

/* 0 when everything of ours is gone; -EAGAIN something could not be. */
int cleanup_run(const struct cleanup_opts *o, struct cleanup_report *r);

#endif
