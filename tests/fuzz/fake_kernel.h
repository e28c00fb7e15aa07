/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A fake kernel for fuzzing redirectd's request handlers (fuzz_request.c).
 *
 * The test seam is the link, not the code: the fuzzer is linked with
 * ctl/daemon.c and the real codec, state and journal, but not with
 * the netlink modules (fake_kernel.c and fake_tc.c define their functions
 * instead), and with -Wl,--wrap for every function of datapath.h that
 * touches BPF maps or programs (fake_datapath.c; the pure ones,
 * addr_key_parse and friends, stay real).
 * Nothing in the production sources knows about this.
 *
 * The fake world, rebuilt for every input:
 *   - netns_open("/fuzz/NAME") gives a memfd named NAME (its identity
 *     survives dup); other paths are ENOENT, "/fuzz/bad*" is EINVAL.
 *   - node netns: lo (1) and host veths 1000..1000+FK_HOST_LINKS-1,
 *     "vethNN", each the peer of ifindex 2 in some pod netns.
 *   - a pod netns: lo (1) and any other name at ifindex 2: a veth whose
 *     peer is a host veth chosen by hashing (netns, name); names starting
 *     with 'x' do not exist, with 'd' are not veths.
 *   - tc: clsact qdiscs and filter slots per (netns, ifindex, direction).
 *   - maps: pods (FK_POD_CAPACITY entries), ztunnel, node addresses.
 */
#ifndef FAKE_KERNEL_H
#define FAKE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include "redirect_abi.h"

#define FK_HOST_LINKS 64
#define FK_HOST_BASE 1000
#define FK_POD_CAPACITY 48

void fk_reset(void);
/* The host veth 1000 + i disappears (its pod was deleted behind our back). */
void fk_remove_host_link(unsigned int i);
/* Another owner's filter takes our slot on host veth 1000 + i. */
void fk_foreign_filter(unsigned int i, bool egress, __u16 prio, __u32 handle);
/* The pods map entry of addr, or false. */
bool fk_pod_entry(const struct addr_key *addr, struct pod_value *out);
size_t fk_pod_entries(void);
/* Netlink handles and netns fds of the fake still open (leak check). */
int fk_open_handles(void);

#endif
