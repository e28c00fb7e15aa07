// SPDX-License-Identifier: GPL-2.0
/*
 * tcxattach: a TEST FIXTURE standing in for a CNI's TCX program (Cilium
 * 1.16+ attaches with TCX). Loads a BPF object's first program, attaches
 * it as a TCX link at the tail of DEV's chain (where a CNI that came
 * first sits once ours is at the head), pins the link and the object's
 * maps under DIR, and exits; removing DIR/link detaches it.
 *
 *   tcxattach OBJ DEV in|eg DIR [--head]   (--head: before every other)
 *   tcxattach --list DEV in|eg     program names in chain order
 *
 * Run it in DEV's netns. libbpf 1.1 predates TCX: raw BPF_LINK_CREATE.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define ATTACH_TCX_INGRESS 46
#define ATTACH_TCX_EGRESS 47

static int die(const char *what)
{
	fprintf(stderr, "tcxattach: %s: %s\n", what, strerror(errno));
	return 1;
}

static int list(const char *dev, const char *dirname)
{
	__u32 ids[64], cnt = 64;
	int ifindex = (int)if_nametoindex(dev);

	if (!ifindex)
		return die(dev);
	if (bpf_prog_query(ifindex,
			   (enum bpf_attach_type)(!strcmp(dirname, "in") ?
							  ATTACH_TCX_INGRESS :
							  ATTACH_TCX_EGRESS),
			   0, NULL, ids, &cnt))
		return die("query");
	for (__u32 i = 0; i < cnt; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		memset(&info, 0, sizeof(info));
		if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
			return die("prog info");
		printf("%s\n", info.name);
		close(fd);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--list"))
		return list(argv[2], argv[3]);
	struct bpf_object *obj;
	struct bpf_program *prog;
	union bpf_attr attr;
	char path[512];
	int ifindex, fd;

	if (argc < 5 || argc > 6 ||
	    (strcmp(argv[3], "in") && strcmp(argv[3], "eg"))) {
		fprintf(stderr, "usage: tcxattach OBJ DEV in|eg DIR\n");
		return 2;
	}
	ifindex = (int)if_nametoindex(argv[2]);
	if (!ifindex)
		return die(argv[2]);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj))
		return die("load");
	prog = bpf_object__next_program(obj, NULL);
	mkdir(argv[4], 0700);
	snprintf(path, sizeof(path), "%s/maps", argv[4]);
	if (!prog || bpf_object__pin_maps(obj, path))
		return die("pin maps");
	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (__u32)bpf_program__fd(prog);
	attr.link_create.target_ifindex = (__u32)ifindex;
	attr.link_create.attach_type =
		!strcmp(argv[3], "in") ? ATTACH_TCX_INGRESS : ATTACH_TCX_EGRESS;
	if (argc == 6 && !strcmp(argv[5], "--head"))
		attr.link_create.flags = 1U << 3; /* BPF_F_BEFORE: first */
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		return die("link create");
	snprintf(path, sizeof(path), "%s/link", argv[4]);
	if (bpf_obj_pin(fd, path))
		return die("pin link");
	return 0;
}
