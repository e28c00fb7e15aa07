/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Addresses as the maps key them (struct addr_key, redirect_abi.h): 16
 * bytes, IPv4 as ::ffff:a.b.c.d. Pure functions, no BPF: the CNI plugin
 * and the unit tests use them without libbpf.
 */
#ifndef REDIRECT_ADDR_H
#define REDIRECT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include "redirect_abi.h"

/* Longest text addr_key_format writes, with its NUL (INET6_ADDRSTRLEN). */
#define ADDR_KEY_STRLEN 46

/* "10.0.0.1" or "fd00::1" -> key; 0 or -EINVAL. */
int addr_key_parse(const char *s, struct addr_key *k);
/* key -> text in buf (ADDR_KEY_STRLEN bytes); NULL if it does not fit. */
const char *addr_key_format(const struct addr_key *k, char *buf, size_t len);
/* 4 (AF_INET) or 16 (AF_INET6) address bytes, network order. */
void addr_key_from_bytes(int family, const void *bytes, struct addr_key *k);
/* An IPv4 address in network order. */
void addr_key_from_v4(__u32 be_addr, struct addr_key *k);
/* "10.0.0.1:80" or "[fd00::1]:80" (port 1-65535); 0 or -EINVAL. */
int addr_port_parse(const char *s, struct addr_key *k, __u16 *port);
/* Its inverse: "10.0.0.1:80", "[fd00::1]:80" into buf. */
const char *addr_port_format(const struct addr_key *k, __u16 port, char *buf,
			     size_t len);
bool addr_key_is_v4(const struct addr_key *k);
/* Why a may not be a pod's address (unspecified, loopback, ...), or NULL. */
const char *addr_key_special(const struct addr_key *a);
/* a is one of set[0..n). */
bool addr_key_in(const struct addr_key *a, const struct addr_key *set,
		 size_t n);

#endif
