/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Taking over the pinned maps of another build in place: a map this build
 * cannot reuse (another layout version, type, key or value size, capacity
 * or flags) is moved aside into PIN_DIR/old before the load, so libbpf
 * makes a fresh one under the name; the old one keeps serving the programs
 * still attached until ours replace them, then it is unpinned. The rules
 * (which changes need REDIRECT_LAYOUT_VERSION bumped) are in
 * docs/datapath.md, "Upgrades in place".
 */
#ifndef REDIRECT_UPGRADE_H
#define REDIRECT_UPGRADE_H

#include <stdbool.h>
#include <linux/types.h>
#include "compiler.h"

struct bpf_object;

#define UPGRADE_OLD_DIR "old"

/* The layout version of the pins in pin_dir: 0 when none are there, 1 for
 * pins of a build before versions, else what the `layout` map says. */
__u32 upgrade_pinned_version(const char *pin_dir);
/* Another layout: every map pinned in pin_dir goes to pin_dir/old. */
int upgrade_set_aside_all(const char *pin_dir, unsigned int *moved);
/* Before obj's load: those of its pinned maps it cannot reuse. */
int upgrade_set_aside_incompatible(struct bpf_object *obj, const char *pin_dir,
				   unsigned int *moved);
/* A load that failed: what was set aside goes back where it was. */
void upgrade_restore(struct bpf_object *obj, const char *pin_dir);
/*
 * After obj's load, same layout version only: the entries of each map set
 * aside whose key and value sizes equal the new one's (a capacity or
 * flags change) are copied over. Per-CPU maps and socket maps are not.
 */
int upgrade_copy_old(struct bpf_object *obj, const char *pin_dir,
		     unsigned int *copied);
/* Anything set aside, once no program of the old build runs. */
bool upgrade_old_present(const char *pin_dir);
MUST_CHECK int upgrade_drop_old(const char *pin_dir, unsigned int *dropped);

#endif
