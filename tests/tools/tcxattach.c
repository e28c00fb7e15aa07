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
#include <signal.h>
#include <stdbool.h>
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

static __u32 tcx_type(const char *dirname)
{
	return !strcmp(dirname, "in") ? ATTACH_TCX_INGRESS : ATTACH_TCX_EGRESS;
}

/* BPF_PROG_QUERY as Linux 6.6 lays it out (Debian 12's headers are 6.1). */
struct tcx_query {
	__u32 target_ifindex;
	__u32 attach_type;
	__u32 query_flags;
	__u32 attach_flags;
	__aligned_u64 prog_ids;
	__u32 count;
	__u32 pad;
	__aligned_u64 prog_attach_flags;
	__aligned_u64 link_ids;
	__aligned_u64 link_attach_flags;
	__aligned_u64 revision;
};

/* The chain's program ids (and link ids) in run order; -1 on error. */
static int chain(int ifindex, const char *dirname, __u32 *ids, __u32 *links,
		 __u32 *cnt)
{
	struct tcx_query q = { .target_ifindex = (__u32)ifindex,
			       .attach_type = tcx_type(dirname),
			       .prog_ids = (__u64)(unsigned long)ids,
			       .link_ids = (__u64)(unsigned long)links,
			       .count = *cnt };

	if (syscall(__NR_bpf, BPF_PROG_QUERY, &q, sizeof(q)))
		return errno == ENOENT ? (*cnt = 0, 0) : -1;
	*cnt = q.count;
	return 0;
}

static int prog_name(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info;
	__u32 ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(name, len, "%s", info.name);
	close(fd);
	return 0;
}

static int list(const char *dev, const char *dirname, bool with_ids)
{
	__u32 ids[64], links[64], cnt = 64;
	int ifindex = (int)if_nametoindex(dev);
	char name[BPF_OBJ_NAME_LEN];

	if (!ifindex)
		return die(dev);
	if (chain(ifindex, dirname, ids, links, &cnt))
		return die("query");
	for (__u32 i = 0; i < cnt; i++) {
		if (prog_name(ids[i], name, sizeof(name)))
			return die("prog info");
		if (with_ids)
			printf("%u %u %s\n", links[i], ids[i], name);
		else
			printf("%s\n", name);
	}
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* Program ids seen so far and whether each is called name. */
struct id_cache {
	__u32 id[256];
	bool named[256];
	unsigned int n;
};

static bool is_named(struct id_cache *c, __u32 id, const char *name)
{
	char got[BPF_OBJ_NAME_LEN];

	for (unsigned int i = 0; i < c->n; i++)
		if (c->id[i] == id)
			return c->named[i];
	if (prog_name(id, got, sizeof(got)))
		return false; /* gone already: not the one we look for */
	if (c->n < 256) {
		c->id[c->n] = id;
		c->named[c->n++] = !strcmp(got, name);
	}
	return !strcmp(got, name);
}

static int watch(const char *dev, const char *dirname, const char *name)
{
	struct sigaction sa = { .sa_handler = on_term };
	unsigned long long snapshots = 0, absent = 0;
	int ifindex = (int)if_nametoindex(dev);
	static struct id_cache cache;

	if (!ifindex)
		return die(dev);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		__u32 ids[64], cnt = 64;
		bool found = false;

		if (chain(ifindex, dirname, ids, NULL, &cnt))
			return die("query");
		for (__u32 i = 0; i < cnt && !found; i++)
			found = is_named(&cache, ids[i], name);
		snapshots++;
		absent += !found;
	}
	printf("snapshots %llu absent %llu\n", snapshots, absent);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "--list"))
		return list(argv[2], argv[3],
			    argc == 5 && !strcmp(argv[4], "--ids"));
	if (argc == 5 && !strcmp(argv[1], "--watch"))
		return watch(argv[2], argv[3], argv[4]);
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
