/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Crafting Ethernet frames for BPF_PROG_TEST_RUN (the tests, the benches
 * and redirectd's explain): IPv4/IPv6 with TCP, UDP
 * or ICMP, optional IPv6 extension headers and fragments. The offsets of
 * the L3 and L4 headers are kept so a test can break a packet on purpose.
 */
#ifndef REDIRECT_PACKET_H
#define REDIRECT_PACKET_H

#include <stddef.h>
#include <linux/types.h>

#define PKT_MAX 512
#define PKT_MAX_EXT 8
#define PKT_TCP_HLEN 20
#define PKT_UDP_HLEN 8
#define PKT_ICMP_HLEN 8

enum pkt_frag {
	PKT_FRAG_NONE = 0,
	PKT_FRAG_FIRST, /* offset 0, more fragments: carries the L4 header */
	PKT_FRAG_LATER, /* offset > 0, last fragment: payload only */
};

struct pkt_spec {
	int family; /* AF_INET or AF_INET6 */
	__u8 proto; /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP(V6), ... */
	const char *saddr; /* text form, of the spec's family */
	const char *daddr;
	__u16 sport; /* host order */
	__u16 dport;
	__u8 smac[6]; /* all zero: PKT_DEFAULT_SMAC */
	__u8 dmac[6]; /* all zero: PKT_DEFAULT_DMAC */
	enum pkt_frag frag;
	__u32 frag_id; /* IPv4 uses the low 16 bits */
	__u16 frag_offset; /* bytes, a multiple of 8, PKT_FRAG_LATER only */
	/* IPv6 extension headers (IPPROTO_HOPOPTS, _DSTOPTS, _ROUTING), in
	 * order, before the fragment header (if any) and the L4 header. */
	__u8 ext[PKT_MAX_EXT];
	int n_ext;
	size_t payload_len; /* bytes after the L4 header */
};

struct pkt {
	__u8 data[PKT_MAX];
	size_t len; /* frame length */
	size_t l3; /* offset of the IP header */
	size_t l4; /* offset of the L4 header, or of a later fragment's data */
};

extern const __u8 PKT_DEFAULT_SMAC[6];
extern const __u8 PKT_DEFAULT_DMAC[6];

/* Build a frame from s; returns 0 or -EINVAL (bad address, no room). */
int pkt_build(struct pkt *p, const struct pkt_spec *s);
/* An ARP request "who has target, tell sender" (IPv4 text addresses). */
int pkt_build_arp(struct pkt *p, const char *sender, const char *target);
/* Recompute the IPv4 header checksum after editing the header. */
void pkt_ipv4_csum(struct pkt *p);
/* Cut (or extend) the frame to len bytes and make the IP length fields
 * agree, so only the layer under test looks broken. */
void pkt_set_len(struct pkt *p, size_t len);
/* Push a VLAN tag (tpid ETH_P_8021Q or ETH_P_8021AD) in front of the
 * frame's EtherType, outside any tag it has; -ENOSPC: no room. */
int pkt_push_vlan(struct pkt *p, __u16 tpid, __u16 vid);
/* Rewrite the flags of a built TCP segment (built as a SYN). */
void pkt_set_tcp_flags(struct pkt *p, __u8 flags);

#endif
