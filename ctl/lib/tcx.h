/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCX (Linux 6.6+): BPF links on a device's ingress or egress that run
 * before every legacy clsact filter. Ours go to the head of the chain and
 * pass with TCX_NEXT, so a CNI's own TCX program still runs after them.
 * A link lives as long as its pin, so our programs stay when redirectd
 * restarts, as cls_bpf filters do. Pins, all in our bpffs folder and
 * named by the ifindex of a veth in redirectd's netns:
 *   tcx_<ifindex>_<in|eg>   on that veth (a pod's or ztunnel's host veth)
 *   tcx_<ifindex>_peer_in   on its peer (ztunnel's own interface)
 *   guard_<ifindex>         pod_guard, on its peer (the pod's interface)
 *   any of these + "_new"   a move cut short (see tcx_move_to_head)
 * libbpf 1.1 (Debian 12) predates TCX: raw bpf(2) calls.
 */
#ifndef REDIRECT_TCX_H
#define REDIRECT_TCX_H

#include <stdbool.h>
#include <stddef.h>
#include "tc.h"
#include "compiler.h"

/* The kernel has TCX (6.6+). */
bool tcx_supported(void);
/* Programs on the device's TCX chain of dir (0 none, -errno). */
int tcx_count(int ifindex, enum tc_dir dir);
/*
 * The ids of the programs on the chain, in run order: 0 and *n set, or
 * -errno. ids has room for max.
 */
int tcx_list(int ifindex, enum tc_dir dir, __u32 *ids, __u32 max, __u32 *n);

void tcx_pin_path(const char *pin_dir, int ifindex, enum tc_dir dir, char *buf,
		  size_t len);
void tcx_peer_pin_path(const char *pin_dir, int host_ifindex, enum tc_dir dir,
		       char *buf, size_t len);
void tcx_guard_pin_path(const char *pin_dir, int host_ifindex, char *buf,
			size_t len);
/*
 * One of our pin names: true, the ifindex it is named by and whether it
 * is a leftover of a move cut short (ours to unpin whoever owns it).
 */
bool tcx_pin_parse(const char *name, int *ifindex, bool *leftover);

/*
 * Our program at the head of the chain (ifindex in the caller's netns),
 * pinned at pin: a link already pinned there gets prog_fd instead (an
 * atomic swap, no moment without a program).
 */
MUST_CHECK int tcx_attach_head(const char *pin, int ifindex, enum tc_dir dir,
			       int prog_fd);
/*
 * Put ours back at the head, never leaving the hook without it: a new
 * link is made at the head and pinned first, then the old one detached.
 * A chain holds a program only once, so the new link starts with the
 * instance the old one does not run (prog_fd or spare_fd, the same
 * program loaded twice) and, once the old link is gone, runs prog_fd.
 * For the time of two syscalls ours runs twice on a packet it passes
 * (both decide the same). -ENOENT: no spare (spare_fd < 0), nothing done.
 */
MUST_CHECK int tcx_move_to_head(const char *pin, int ifindex, enum tc_dir dir,
				int prog_fd, int spare_fd);
/* The pinned link runs prog_fd from now on: 0, -ENOENT (no pin), -errno. */
MUST_CHECK int tcx_update(const char *pin, int prog_fd);
/* Unpin: the link, and so the program, goes at once. 0, or -ENOENT. */
MUST_CHECK int tcx_unpin(const char *pin);

/* pod_guard's link: tcx_update and tcx_unpin at its pin. */
MUST_CHECK int tcx_guard_update(const char *pin_dir, int host_ifindex,
				int prog_fd);
MUST_CHECK int tcx_guard_detach(const char *pin_dir, int host_ifindex);

#endif
