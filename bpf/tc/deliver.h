/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Handing a packet on: the destination MAC of the device it goes to, and
 * the way into ztunnel for a captured packet (the tag in skb->mark, the
 * redirect, the fail mode when no ztunnel is present).
 */
#ifndef REDIRECT_TC_DELIVER_H
#define REDIRECT_TC_DELIVER_H

#include "parse.h"
#include "tc_maps.h"

/*
 * A direct write, not bpf_skb_store_bytes: parse_packet left the Ethernet
 * header linear, and the verifier's prologue unclones a cloned skb first.
 */
static __always_inline void set_dst_mac(struct __sk_buff *skb, const __u8 *mac)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return;
	__builtin_memcpy(eth->h_dest, mac, 6);
}

enum capture_kind { CAPTURE_OUTBOUND, CAPTURE_DNS, CAPTURE_INBOUND };

/*
 * Hand a captured packet to ztunnel (zt: the program's one read of the
 * slot), or apply the fail mode when there is none; each outcome is
 * counted in the calling program's own counter.
 */
static __always_inline int to_ztunnel(struct __sk_buff *skb,
				      const struct packet *p,
				      const struct ztunnel_value *zt,
				      enum capture_kind kind, __u32 cnt_ok,
				      __u32 cnt_open, __u32 cnt_closed)
{
	if (!zt) {
		if (fail_open())
			return count_ret(cnt_open, p, PASS);
		return count_ret(cnt_closed, p, TC_ACT_SHOT);
	}
	set_dst_mac(skb, zt->mac);
	count(cnt_ok, p);
	if (kind != CAPTURE_INBOUND) {
		skb->mark = kind == CAPTURE_DNS ? TAG_DNS : TAG_OUTBOUND;
		return bpf_redirect_peer(zt->host_ifindex, 0);
	}
	skb->mark = TAG_INBOUND;
	return bpf_redirect(zt->host_ifindex, BPF_F_INGRESS);
}

#endif /* REDIRECT_TC_DELIVER_H */
