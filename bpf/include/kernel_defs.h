/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel's own names for the constants the BPF programs use that are
 * preprocessor macros in the kernel and therefore missing from vmlinux.h
 * (which holds types and enums only: IPPROTO_TCP, BPF_F_INGRESS,
 * TCP_LISTEN, SK_PASS, BPF_NOEXIST come from there). Same names, same
 * values as the kernel headers named beside each group.
 */
#ifndef REDIRECT_KERNEL_DEFS_H
#define REDIRECT_KERNEL_DEFS_H

/* include/uapi/linux/pkt_cls.h */
#ifndef TC_ACT_OK
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_PIPE 3
#endif

/* include/uapi/linux/if_ether.h */
#ifndef ETH_HLEN
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#endif

/* include/linux/socket.h */
#ifndef AF_INET
#define AF_INET 2
#define AF_INET6 10
#endif

/* include/net/ip.h */
#ifndef IP_MF
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF
#endif

/* include/net/ipv6.h */
#ifndef NEXTHDR_HOP
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60
#endif

#endif /* REDIRECT_KERNEL_DEFS_H */
