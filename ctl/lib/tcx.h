/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCX (Linux 6.6+): BPF links on a device's ingress or egress that run
 * before every legacy clsact filter. Ours go to the head of the chain and
 * pass with TCX_NEXT, so a CNI's own TCX program still runs after them.
 * A link lives as long as its pin (PIN_DIR/tcx_<ifindex>_<in|eg>), so
 * our programs stay when redirectd restarts, as cls_bpf filters do.
 * libbpf 1.1 (Debian 12) predates TCX: raw bpf(2) calls.
 */
#ifndef REDIRECT_TCX_H
#define REDIRECT_TCX_H

#include <stdbool.h>
#include <stddef.h>
#include "nl.h"
#include "compiler.h"

/* Programs on the device's TCX chain of dir (0 none, -errno). */
int tcx_count(int ifindex, enum tc_dir dir);
/* The pin path of our link on ifindex/dir. */
void tcx_pin_path(const char *pin_dir, int ifindex, enum tc_dir dir, char *buf,
		  size_t len);
/*
 * Our program at the head of the chain, pinned: a link already pinned
 * there gets prog_fd (an atomic swap, no moment without a program).
 */
MUST_CHECK int tcx_attach_head(const char *pin_dir, int ifindex,
			       enum tc_dir dir, int prog_fd);
/*
 * The ids of the programs on the chain, in run order: 0 and *n set, or
 * -errno. ids has room for max.
 */
int tcx_list(int ifindex, enum tc_dir dir, __u32 *ids, __u32 max, __u32 *n);
/*
 * Put ours back at the head: the old link detached, a new one made at
 * the head and pinned in its place (a chain holds a program only once,
 * so ours is absent for the time of one syscall).
 */
MUST_CHECK int tcx_move_to_head(const char *pin_dir, int ifindex,
				enum tc_dir dir, int prog_fd);
/* The same at an explicit pin path (ifindex in the caller's netns). */
MUST_CHECK int tcx_attach_head_at(const char *pin, int ifindex, enum tc_dir dir,
				  int prog_fd);
/* The kernel has TCX (6.6+). */
bool tcx_supported(void);
/*
 * pod_guard's link, on the pod's own interface inside the pod's netns,
 * pinned as PIN_DIR/guard_<ifindex of the pod's host veth>: the pin is
 * all we need to replace or remove it, never the pod's netns again.
 */
void tcx_guard_pin_path(const char *pin_dir, int host_ifindex, char *buf,
			size_t len);
bool tcx_guard_pin_parse(const char *name, int *host_ifindex);
/* This build's program on the pinned guard link: 0, -ENOENT, -errno. */
MUST_CHECK int tcx_guard_update(const char *pin_dir, int host_ifindex,
				int prog_fd);
MUST_CHECK int tcx_guard_detach(const char *pin_dir, int host_ifindex);
/* Unpin ours: the link, and so the program, goes. 0, or -ENOENT. */
MUST_CHECK int tcx_detach(const char *pin_dir, int ifindex, enum tc_dir dir);
/* Our pin names: true and the ifindex/dir for tcx_<ifindex>_<in|eg>. */
bool tcx_pin_parse(const char *name, int *ifindex, enum tc_dir *dir);

#endif
