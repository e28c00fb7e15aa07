// SPDX-License-Identifier: GPL-2.0
/*
 * sockcheck keys PINNED_SOCKHASH: prints the keys of a pinned sockhash,
 * one a line (netns, local and remote address and port).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "sock_key.h"
#include "sockcheck.h"

int dump_keys(const char *pin)
{
	struct sock_key k, *prev = NULL;
	char l[INET6_ADDRSTRLEN], rm[INET6_ADDRSTRLEN];
	int fd = bpf_obj_get(pin);

	if (fd < 0) {
		perror("sockcheck: bpf_obj_get");
		return 1;
	}
	while (!bpf_map_get_next_key(fd, prev, &k)) {
		bool v4 = !k.local.addr[0] && !k.local.addr[1] &&
			  k.local.addr[2] == htonl(0xffff);

		inet_ntop(v4 ? AF_INET : AF_INET6,
			  v4 ? (void *)&k.local.addr[3] : k.local.addr, l,
			  sizeof(l));
		inet_ntop(v4 ? AF_INET : AF_INET6,
			  v4 ? (void *)&k.remote.addr[3] : k.remote.addr, rm,
			  sizeof(rm));
		printf("netns=%llu local=%s:%u remote=%s:%u\n",
		       (unsigned long long)k.netns, l, k.local_port, rm,
		       k.remote_port);
		prev = &k;
	}
	close(fd);
	return 0;
}
