// SPDX-License-Identifier: GPL-2.0
/* TCX links at the head of a device's chain: see tcx.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "log.h"
#include "tcx.h"

/* From the kernel's uapi (6.6), newer than the headers Debian 12 has. */
#define ATTACH_TCX_INGRESS 46
#define ATTACH_TCX_EGRESS 47
#define F_BEFORE (1U << 3)

static int tcx_type(enum tc_dir dir)
{
	return dir == TC_DIR_INGRESS ? ATTACH_TCX_INGRESS : ATTACH_TCX_EGRESS;
}

int tcx_count(int ifindex, enum tc_dir dir)
{
	__u32 cnt = 0;

	if (bpf_prog_query(ifindex, (enum bpf_attach_type)tcx_type(dir), 0,
			   NULL, NULL, &cnt))
		return -errno;
	return (int)cnt;
}

void tcx_pin_path(const char *pin_dir, int ifindex, enum tc_dir dir, char *buf,
		  size_t len)
{
	snprintf(buf, len, "%s/tcx_%d_%s", pin_dir, ifindex,
		 dir == TC_DIR_INGRESS ? "in" : "eg");
}

bool tcx_pin_parse(const char *name, int *ifindex, enum tc_dir *dir)
{
	char *end;
	long v;

	if (strncmp(name, "tcx_", 4))
		return false;
	v = strtol(name + 4, &end, 10);
	if (end == name + 4 || v <= 0 || *end != '_')
		return false;
	if (!strcmp(end, "_in"))
		*dir = TC_DIR_INGRESS;
	else if (!strcmp(end, "_eg"))
		*dir = TC_DIR_EGRESS;
	else
		return false;
	*ifindex = (int)v;
	return true;
}

/*
 * BPF_LINK_CREATE with link_create.tcx: the relative fd (0) and flags
 * sit where libbpf 1.1's union has target_btf_id and iter_info.
 */
static int link_create_head(int prog_fd, int ifindex, enum tc_dir dir)
{
	union bpf_attr attr;
	__u32 rel = 0;

	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (__u32)prog_fd;
	attr.link_create.target_ifindex = (__u32)ifindex;
	attr.link_create.attach_type = (__u32)tcx_type(dir);
	attr.link_create.flags = F_BEFORE; /* before all: the head */
	memcpy(&attr.link_create.target_btf_id, &rel, sizeof(rel));
	return (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
}

int tcx_attach_head(const char *pin_dir, int ifindex, enum tc_dir dir,
		    int prog_fd)
{
	char pin[512];

	tcx_pin_path(pin_dir, ifindex, dir, pin, sizeof(pin));
	return tcx_attach_head_at(pin, ifindex, dir, prog_fd);
}

int tcx_attach_head_at(const char *pin, int ifindex, enum tc_dir dir,
		       int prog_fd)
{
	int fd, err = 0;

	fd = bpf_obj_get(pin);
	if (fd >= 0) {
		/* ours already: the program of this build, atomically */
		if (bpf_link_update(fd, prog_fd, NULL))
			err = -errno;
		close(fd);
		return err;
	}
	fd = link_create_head(prog_fd, ifindex, dir);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, pin))
		err = -errno;
	close(fd); /* pinned, the link stays; unpinned, it is gone */
	return err;
}

int tcx_detach(const char *pin_dir, int ifindex, enum tc_dir dir)
{
	char pin[512];

	tcx_pin_path(pin_dir, ifindex, dir, pin, sizeof(pin));
	return unlink(pin) ? -errno : 0;
}

int tcx_list(int ifindex, enum tc_dir dir, __u32 *ids, __u32 max, __u32 *n)
{
	*n = max;
	if (bpf_prog_query(ifindex, (enum bpf_attach_type)tcx_type(dir), 0,
			   NULL, ids, n))
		return -errno;
	return 0;
}

int tcx_move_to_head(const char *pin_dir, int ifindex, enum tc_dir dir,
		     int prog_fd)
{
	char pin[512];
	int old, fd, err = 0;

	/*
	 * A chain holds a program once: the old link is detached (at once,
	 * BPF_LINK_DETACH) before the new one is made at the head. Between
	 * the two, for the time of one syscall, ours is absent.
	 */
	tcx_pin_path(pin_dir, ifindex, dir, pin, sizeof(pin));
	old = bpf_obj_get(pin);
	if (old >= 0) {
		bpf_link_detach(old);
		close(old);
	}
	fd = link_create_head(prog_fd, ifindex, dir);
	if (fd < 0)
		return -errno;
	unlink(pin);
	if (bpf_obj_pin(fd, pin))
		err = -errno;
	close(fd);
	return err;
}

bool tcx_supported(void)
{
	/* the loopback device, ifindex 1 in every netns */
	return tcx_count(1, TC_DIR_INGRESS) >= 0;
}

void tcx_guard_pin_path(const char *pin_dir, int host_ifindex, char *buf,
			size_t len)
{
	snprintf(buf, len, "%s/guard_%d", pin_dir, host_ifindex);
}

bool tcx_guard_pin_parse(const char *name, int *host_ifindex)
{
	char *end;
	long v;

	if (strncmp(name, "guard_", 6))
		return false;
	v = strtol(name + 6, &end, 10);
	if (end == name + 6 || v <= 0 || *end)
		return false;
	*host_ifindex = (int)v;
	return true;
}

int tcx_guard_update(const char *pin_dir, int host_ifindex, int prog_fd)
{
	char pin[512];
	int fd, err = 0;

	tcx_guard_pin_path(pin_dir, host_ifindex, pin, sizeof(pin));
	fd = bpf_obj_get(pin);
	if (fd < 0)
		return -errno;
	if (bpf_link_update(fd, prog_fd, NULL))
		err = -errno;
	close(fd);
	return err;
}

int tcx_guard_detach(const char *pin_dir, int host_ifindex)
{
	char pin[512];

	tcx_guard_pin_path(pin_dir, host_ifindex, pin, sizeof(pin));
	return unlink(pin) ? -errno : 0;
}
