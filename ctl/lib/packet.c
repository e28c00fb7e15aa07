// SPDX-License-Identifier: GPL-2.0
/*
 * Frame builder for the BPF tests. The programs under test never verify L4
 * checksums, so only the IPv4 header checksum is filled in (a packet that
 * looks real to a reader of a capture, and to the stack if ever sent).
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include "packet.h"

const __u8 PKT_DEFAULT_SMAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
const __u8 PKT_DEFAULT_DMAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe };

static const __u8 zero_mac[6];

static size_t l4_hlen(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return PKT_TCP_HLEN;
	case IPPROTO_UDP:
		return PKT_UDP_HLEN;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return PKT_ICMP_HLEN;
	default:
		return 0;
	}
}

static void put_eth(struct pkt *p, const struct pkt_spec *s, __u16 type)
{
	struct ether_header *eth = (struct ether_header *)p->data;

	memcpy(eth->ether_dhost,
	       memcmp(s->dmac, zero_mac, 6) ? s->dmac : PKT_DEFAULT_DMAC, 6);
	memcpy(eth->ether_shost,
	       memcmp(s->smac, zero_mac, 6) ? s->smac : PKT_DEFAULT_SMAC, 6);
	eth->ether_type = htons(type);
	p->l3 = sizeof(*eth);
}

/* L4 header (unless a later fragment) and a recognisable payload. */
static void put_l4(struct pkt *p, const struct pkt_spec *s, size_t l4_len)
{
	__u8 *l4 = p->data + p->l4;
	size_t hlen = s->frag == PKT_FRAG_LATER ? 0 : l4_hlen(s->proto);

	if (s->proto == IPPROTO_TCP && hlen) {
		struct tcphdr *th = (struct tcphdr *)l4;

		th->source = htons(s->sport);
		th->dest = htons(s->dport);
		th->seq = htonl(1);
		th->doff = PKT_TCP_HLEN / 4;
		th->syn = 1;
		th->window = htons(65535);
	} else if (s->proto == IPPROTO_UDP && hlen) {
		struct udphdr *uh = (struct udphdr *)l4;

		uh->source = htons(s->sport);
		uh->dest = htons(s->dport);
		uh->len = htons((__u16)l4_len);
	} else if (hlen) {
		l4[0] = s->proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
	}
	for (size_t i = hlen; i < l4_len; i++)
		l4[i] = (__u8)i;
}

static __u16 csum16(const void *buf, size_t len)
{
	const __u8 *b = buf;
	__u32 sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (__u32)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (__u32)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
}

void pkt_ipv4_csum(struct pkt *p)
{
	struct iphdr *iph = (struct iphdr *)(p->data + p->l3);

	iph->check = 0;
	iph->check = csum16(iph, (size_t)iph->ihl * 4);
}

static int build_v4(struct pkt *p, const struct pkt_spec *s, size_t l4_len)
{
	struct iphdr *iph;

	put_eth(p, s, ETHERTYPE_IP);
	iph = (struct iphdr *)(p->data + p->l3);
	p->l4 = p->l3 + sizeof(*iph);
	p->len = p->l4 + l4_len;
	if (p->len > PKT_MAX)
		return -EINVAL;
	iph->version = 4;
	iph->ihl = sizeof(*iph) / 4;
	iph->tot_len = htons((__u16)(p->len - p->l3));
	iph->id = htons((__u16)s->frag_id);
	if (s->frag == PKT_FRAG_FIRST)
		iph->frag_off = htons(IP_MF);
	else if (s->frag == PKT_FRAG_LATER)
		iph->frag_off = htons((s->frag_offset / 8) & IP_OFFMASK);
	iph->ttl = 64;
	iph->protocol = s->proto;
	if (inet_pton(AF_INET, s->saddr, &iph->saddr) != 1 ||
	    inet_pton(AF_INET, s->daddr, &iph->daddr) != 1)
		return -EINVAL;
	pkt_ipv4_csum(p);
	return 0;
}

/* An 8-byte hop-by-hop/destination/routing header: next, len 0, PadN. */
static void put_v6_ext(__u8 *h, __u8 type, __u8 next)
{
	h[0] = next;
	h[1] = 0;
	if (type == IPPROTO_ROUTING) {
		h[2] = 0; /* type 0, segments left 0: nothing to route */
		h[3] = 0;
		return;
	}
	h[2] = 1; /* PadN option covering the 4 remaining bytes */
	h[3] = 4;
}

static void put_v6_frag(__u8 *h, const struct pkt_spec *s)
{
	struct ip6_frag *fh = (struct ip6_frag *)h;

	fh->ip6f_nxt = s->proto;
	if (s->frag == PKT_FRAG_FIRST)
		fh->ip6f_offlg = IP6F_MORE_FRAG;
	else
		fh->ip6f_offlg = htons(s->frag_offset & 0xfff8);
	fh->ip6f_ident = htonl(s->frag_id);
}

/* The next-header value in front of header i of the chain. */
static __u8 v6_next(const struct pkt_spec *s, int i)
{
	if (i < s->n_ext)
		return s->ext[i];
	return s->frag ? IPPROTO_FRAGMENT : s->proto;
}

static int build_v6(struct pkt *p, const struct pkt_spec *s, size_t l4_len)
{
	size_t ext_len = (size_t)s->n_ext * 8 + (s->frag ? 8 : 0);
	struct ip6_hdr *ip6;
	__u8 *h;

	if (s->n_ext < 0 || s->n_ext > PKT_MAX_EXT)
		return -EINVAL;
	put_eth(p, s, ETHERTYPE_IPV6);
	ip6 = (struct ip6_hdr *)(p->data + p->l3);
	p->l4 = p->l3 + sizeof(*ip6) + ext_len;
	p->len = p->l4 + l4_len;
	if (p->len > PKT_MAX)
		return -EINVAL;
	ip6->ip6_flow = htonl(6u << 28);
	ip6->ip6_plen = htons((__u16)(p->len - p->l3 - sizeof(*ip6)));
	ip6->ip6_hlim = 64;
	if (inet_pton(AF_INET6, s->saddr, &ip6->ip6_src) != 1 ||
	    inet_pton(AF_INET6, s->daddr, &ip6->ip6_dst) != 1)
		return -EINVAL;

	/* Chain: ext[0] .. ext[n-1], then the fragment header, then L4. */
	h = (__u8 *)(ip6 + 1);
	ip6->ip6_nxt = v6_next(s, 0);
	for (int i = 0; i < s->n_ext; i++, h += 8)
		put_v6_ext(h, s->ext[i], v6_next(s, i + 1));
	if (s->frag)
		put_v6_frag(h, s);
	return 0;
}

int pkt_build(struct pkt *p, const struct pkt_spec *s)
{
	size_t hlen = s->frag == PKT_FRAG_LATER ? 0 : l4_hlen(s->proto);
	size_t l4_len = hlen + s->payload_len;
	int err;

	memset(p, 0, sizeof(*p));
	if (s->family == AF_INET)
		err = build_v4(p, s, l4_len);
	else if (s->family == AF_INET6)
		err = build_v6(p, s, l4_len);
	else
		err = -EINVAL;
	if (err)
		return err;
	put_l4(p, s, l4_len);
	return 0;
}

int pkt_build_arp(struct pkt *p, const char *sender, const char *target)
{
	static const struct pkt_spec bcast = {
		.dmac = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	struct ether_arp *arp;

	memset(p, 0, sizeof(*p));
	put_eth(p, &bcast, ETHERTYPE_ARP);
	arp = (struct ether_arp *)(p->data + p->l3);
	arp->arp_hrd = htons(ARPHRD_ETHER);
	arp->arp_pro = htons(ETHERTYPE_IP);
	arp->arp_hln = 6;
	arp->arp_pln = 4;
	arp->arp_op = htons(ARPOP_REQUEST);
	memcpy(arp->arp_sha, PKT_DEFAULT_SMAC, 6);
	if (inet_pton(AF_INET, sender, arp->arp_spa) != 1 ||
	    inet_pton(AF_INET, target, arp->arp_tpa) != 1)
		return -EINVAL;
	p->l4 = p->l3 + sizeof(*arp);
	p->len = p->l4;
	return 0;
}

void pkt_set_len(struct pkt *p, size_t len)
{
	__u8 *l3 = p->data + p->l3;

	p->len = len;
	if ((l3[0] >> 4) == 4 && len >= p->l3 + sizeof(struct iphdr)) {
		struct iphdr *iph = (struct iphdr *)l3;

		iph->tot_len = htons((__u16)(len - p->l3));
		pkt_ipv4_csum(p);
	} else if ((l3[0] >> 4) == 6 && len >= p->l3 + sizeof(struct ip6_hdr)) {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)l3;

		ip6->ip6_plen = htons((__u16)(len - p->l3 - sizeof(*ip6)));
	}
}

int pkt_push_vlan(struct pkt *p, __u16 tpid, __u16 vid)
{
	if (p->len + 4 > sizeof(p->data))
		return -ENOSPC;
	memmove(p->data + 16, p->data + 12, p->len - 12);
	p->data[12] = (__u8)(tpid >> 8);
	p->data[13] = (__u8)tpid;
	p->data[14] = (__u8)(vid >> 8 & 0x0f);
	p->data[15] = (__u8)vid;
	p->len += 4;
	p->l3 += 4;
	p->l4 += 4;
	return 0;
}

void pkt_set_tcp_flags(struct pkt *p, __u8 flags)
{
	p->data[p->l4 + 13] = flags;
}
