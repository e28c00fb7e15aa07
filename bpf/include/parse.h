/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing for the tc programs: Ethernet, IPv4, IPv6 with extension
 * headers and fragments, TCP and UDP ports. Every header access is bounds
 * checked against data_end; headers outside the linear area are pulled in
 * once with bpf_skb_pull_data, only when they are not linear already.
 */
#ifndef REDIRECT_PARSE_H
#define REDIRECT_PARSE_H

#include "redirect_abi.h"
#include "kernel_defs.h"

#define IP6_MAX_EXT_HDRS 6
/* Enough for Ethernet + IPv6 + 6 extension headers of common size + TCP. */
#define PARSE_PULL_LEN 256

enum parse_result {
	PARSE_OK = 0, /* IP with TCP or UDP ports known (or a later fragment) */
	PARSE_NON_IP, /* ARP and every other ethertype */
	PARSE_OTHER_PROTO, /* IP, but neither TCP nor UDP (ICMP, ESP, ...) */
	PARSE_MALFORMED, /* truncated or inconsistent headers */
	PARSE_TAGGED, /* an 802.1Q or 802.1ad frame: see parse_packet */
};

/* TCP flags (the 14th byte of the header). */
#define TCP_FL_SYN 0x02
#define TCP_FL_ACK 0x10

enum frag_kind {
	FRAG_NONE = 0,
	FRAG_FIRST, /* offset 0, more fragments follow: ports are present */
	FRAG_LATER, /* offset > 0: no L4 header, ports unknown */
};

struct packet {
	struct addr_key saddr;
	struct addr_key daddr;
	__u16 sport; /* network order; 0 for later fragments */
	__u16 dport; /* network order */
	__u8 proto; /* final L4 protocol */
	__u8 is_v6;
	__u8 frag; /* enum frag_kind */
	__u8 tcp_flags; /* TCP: the flags byte (TCP_FL_*); 0 otherwise */
	__u32 frag_id;
	__u32 len; /* skb->len, for byte counters */
};

static __always_inline void addr_from_v4(struct addr_key *k, __u32 v4)
{
	k->addr[0] = 0;
	k->addr[1] = 0;
	k->addr[2] = bpf_htonl(0x0000ffff);
	k->addr[3] = v4;
}

static __always_inline int parse_l4_ports(struct packet *p, void *l4,
					  void *data_end)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end || th->doff < 5)
			return PARSE_MALFORMED;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return PARSE_OK;
	}
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return PARSE_MALFORMED;
		p->sport = uh->source;
		p->dport = uh->dest;
		return PARSE_OK;
	}
	return PARSE_OTHER_PROTO;
}

static __always_inline int parse_ipv4(struct packet *p, void *data,
				      void *data_end)
{
	struct iphdr *iph = data + ETH_HLEN;
	__u32 hlen;
	__u16 frag_off;

	if ((void *)(iph + 1) > data_end)
		return PARSE_MALFORMED;
	hlen = iph->ihl * 4;
	if (iph->version != 4 || hlen < sizeof(*iph) ||
	    bpf_ntohs(iph->tot_len) < hlen ||
	    bpf_ntohs(iph->tot_len) + ETH_HLEN > p->len)
		return PARSE_MALFORMED;
	addr_from_v4(&p->saddr, iph->saddr);
	addr_from_v4(&p->daddr, iph->daddr);
	p->proto = iph->protocol;
	frag_off = bpf_ntohs(iph->frag_off);
	p->frag_id = bpf_ntohs(iph->id);
	if (frag_off & IP_OFFSET) {
		p->frag = FRAG_LATER;
		return p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ?
			       PARSE_OK :
			       PARSE_OTHER_PROTO;
	}
	if (frag_off & IP_MF)
		p->frag = FRAG_FIRST;
	/* hlen is 20..60: bound it so the verifier sees a constant range. */
	return parse_l4_ports(p, (void *)iph + (hlen & 0x3c), data_end);
}

static __always_inline bool ipv6_is_ext(__u8 proto)
{
	return proto == NEXTHDR_HOP || proto == NEXTHDR_ROUTING ||
	       proto == NEXTHDR_DEST || proto == NEXTHDR_AUTH ||
	       proto == NEXTHDR_FRAGMENT;
}

/* One IPv6 extension header; returns its length or a negative result. */
static __always_inline int ipv6_ext_len(struct packet *p, __u8 *hdr,
					void *data_end, __u8 *next)
{
	if ((void *)(hdr + 8) > data_end)
		return -PARSE_MALFORMED;
	*next = hdr[0];
	switch (p->proto) {
	case NEXTHDR_HOP:
	case NEXTHDR_ROUTING:
	case NEXTHDR_DEST:
		return (hdr[1] + 1) * 8;
	case NEXTHDR_AUTH:
		return (hdr[1] + 2) * 4;
	case NEXTHDR_FRAGMENT: {
		__u16 off = bpf_ntohs(*(__u16 *)(hdr + 2));

		p->frag_id = bpf_ntohl(*(__u32 *)(hdr + 4));
		if (off & 0xfff8)
			p->frag = FRAG_LATER;
		else if (off & 1)
			p->frag = FRAG_FIRST;
		return 8;
	}
	}
	return 0; /* not an extension header: p->proto is the L4 protocol */
}

/*
 * An IPv4-mapped address (::ffff:a.b.c.d) in an IPv6 header would collide
 * with the IPv4 keys of every map: no such packet is legitimate.
 */
static __always_inline bool ipv6_is_v4_mapped(const struct addr_key *a)
{
	return !a->addr[0] && !a->addr[1] && a->addr[2] == bpf_htonl(0xffff);
}

static __always_inline int parse_ipv6(struct packet *p, void *data,
				      void *data_end)
{
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	__u32 off = ETH_HLEN + sizeof(*ip6);
	__u8 next;
	int i, len;

	if ((void *)(ip6 + 1) > data_end)
		return PARSE_MALFORMED;
	if (ip6->version != 6 || bpf_ntohs(ip6->payload_len) + off > p->len)
		return PARSE_MALFORMED;
	__builtin_memcpy(&p->saddr, &ip6->saddr, sizeof(p->saddr));
	__builtin_memcpy(&p->daddr, &ip6->daddr, sizeof(p->daddr));
	if (ipv6_is_v4_mapped(&p->saddr) || ipv6_is_v4_mapped(&p->daddr))
		return PARSE_MALFORMED;
	p->is_v6 = 1;
	p->proto = ip6->nexthdr;

	for (i = 0; i < IP6_MAX_EXT_HDRS; i++) {
		if (off > PARSE_PULL_LEN)
			return PARSE_MALFORMED;
		len = ipv6_ext_len(p, data + off, data_end, &next);
		if (len < 0)
			return -len;
		if (len == 0)
			break;
		off += len;
		p->proto = next;
		if (p->frag == FRAG_LATER)
			break;
	}
	/* Another extension header after the last one we follow. */
	if (i == IP6_MAX_EXT_HDRS && ipv6_is_ext(p->proto))
		return PARSE_MALFORMED;
	if (p->frag == FRAG_LATER)
		return p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ?
			       PARSE_OK :
			       PARSE_OTHER_PROTO;
	if (off > PARSE_PULL_LEN)
		return PARSE_MALFORMED;
	return parse_l4_ports(p, data + off, data_end);
}

static __always_inline bool is_vlan_proto(__u16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) ||
	       proto == bpf_htons(ETH_P_8021AD);
}

/*
 * How much of the packet parse_packet reads, judged from the fixed headers
 * when they are linear: Ethernet, IPv4 without options or IPv6 without
 * extension headers, and a TCP or UDP header. Anything else (options,
 * extension headers, fragments, other protocols, headers not linear yet)
 * gets PARSE_PULL_LEN, enough for every header parse_packet follows.
 */
static __always_inline __u32 parse_needs(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	struct iphdr *iph = data + ETH_HLEN;
	__u8 proto;
	__u32 l3;

	if ((void *)(eth + 1) > data_end)
		return PARSE_PULL_LEN;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if ((void *)(ip6 + 1) > data_end)
			return PARSE_PULL_LEN;
		proto = ip6->nexthdr;
		l3 = sizeof(*ip6);
	} else if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		if ((void *)(iph + 1) > data_end || iph->ihl != 5 ||
		    (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
			return PARSE_PULL_LEN;
		proto = iph->protocol;
		l3 = sizeof(*iph);
	} else {
		return ETH_HLEN; /* not IP: only the Ethernet header is read */
	}
	if (proto == IPPROTO_TCP)
		return ETH_HLEN + l3 + sizeof(struct tcphdr);
	if (proto == IPPROTO_UDP)
		return ETH_HLEN + l3 + sizeof(struct udphdr);
	return PARSE_PULL_LEN;
}

/*
 * Parse skb's headers into p. A header that is not in the linear area yet
 * is pulled in (up to PARSE_PULL_LEN bytes) and the packet pointers are
 * reloaded; one that already is costs no pull: a local socket's TCP
 * segment has its headers linear and its payload in page frags, and
 * pulling payload into the head would copy it, and reallocate the head of
 * TCP's transmit clones, on every segment of every flow.
 *
 * VLAN-tagged frames are reported as such, not parsed: the stack strips an
 * outer tag before tc (skb->vlan_present) and may then route an inner IP
 * packet, so a tagged frame is never "not IP"; pods have no use for tags,
 * and the callers drop them rather than follow every stacking of them.
 */
static __always_inline int parse_packet(struct __sk_buff *skb, struct packet *p)
{
	void *data, *data_end;
	struct ethhdr *eth;
	__u32 need;

	__builtin_memset(p, 0, sizeof(*p));
	p->len = skb->len;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	need = parse_needs(data, data_end);
	if (need > skb->len)
		need = skb->len;
	if (data + (need & 0x1ff) > data_end) {
		need = skb->len < PARSE_PULL_LEN ? skb->len : PARSE_PULL_LEN;
		bpf_skb_pull_data(skb, need);
		/* Keep clang from reusing a ctx pointer it computed above. */
		asm volatile("" ::: "memory");
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return PARSE_MALFORMED;
	if (skb->vlan_present || is_vlan_proto(eth->h_proto))
		return PARSE_TAGGED;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(p, data, data_end);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(p, data, data_end);
	return PARSE_NON_IP;
}

#endif /* REDIRECT_PARSE_H */
