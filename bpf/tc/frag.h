/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fragments for the tc programs: later fragments (no ports) follow the
 * verdict of their datagram's first fragment, remembered in the frags map
 * when it is not the default one.
 */
#ifndef REDIRECT_TC_FRAG_H
#define REDIRECT_TC_FRAG_H

#include "parse.h"
#include "tc_maps.h"

/*
 * What a fragment gets when nothing else is known: TCP is captured, UDP
 * passes unless the ztunnel serves UDP. Only a first fragment that was
 * decided otherwise is remembered (see struct frag_key). A later fragment
 * sent the wrong way cannot escape the mesh: no datagram is reassembled
 * without its first fragment, which was classified with its ports.
 */
static __always_inline __u8 frag_default(const struct packet *p,
					 const struct ztunnel_value *zt)
{
	if (p->proto == IPPROTO_TCP)
		return FRAG_CAPTURE;
	return zt && (zt->flags & ZT_F_CAPTURE_UDP) ? FRAG_CAPTURE : FRAG_PASS;
}

static __always_inline void frag_key_of(const struct packet *p,
					struct frag_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = p->saddr;
	k->daddr = p->daddr;
	k->id = p->frag_id;
	k->proto = p->proto;
}

/* A first fragment's verdict, kept only when it is not the default. */
static __always_inline void frag_remember(const struct packet *p, __u8 verdict,
					  const struct ztunnel_value *zt)
{
	struct frag_key k;
	struct frag_value v = { .verdict = verdict };

	if (p->frag != FRAG_FIRST)
		return;
	frag_key_of(p, &k);
	if (verdict == frag_default(p, zt))
		bpf_map_delete_elem(&frags, &k); /* an older datagram's id */
	else
		bpf_map_update_elem(&frags, &k, &v, BPF_ANY);
}

static __always_inline __u8 frag_recall(const struct packet *p,
					const struct ztunnel_value *zt)
{
	struct frag_key k;
	struct frag_value *v;

	frag_key_of(p, &k);
	v = bpf_map_lookup_elem(&frags, &k);
	return v ? v->verdict : frag_default(p, zt);
}

#endif /* REDIRECT_TC_FRAG_H */
