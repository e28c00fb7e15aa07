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

#define LEFTOVER "_new" /* a new link's pin before it replaces the old */

static int tcx_type(enum tc_dir dir)
{
	return dir == TC_DIR_INGRESS ? ATTACH_TCX_INGRESS : ATTACH_TCX_EGRESS;
}

bool tcx_supported(void)
{
	/* the loopback device, ifindex 1 in every netns */
	return tcx_count(1, TC_DIR_INGRESS) >= 0;
}

int tcx_count(int ifindex, enum tc_dir dir)
{
	__u32 cnt = 0;

	if (bpf_prog_query(ifindex, (enum bpf_attach_type)tcx_type(dir), 0,
			   NULL, NULL, &cnt))
		return -errno;
	return (int)cnt;
}

int tcx_list(int ifindex, enum tc_dir dir, __u32 *ids, __u32 max, __u32 *n)
{
	*n = max;
	if (bpf_prog_query(ifindex, (enum bpf_attach_type)tcx_type(dir), 0,
			   NULL, ids, n))
		return -errno;
	return 0;
}

/* --- pin names --- */

static const char *dir_name(enum tc_dir dir)
{
	return dir == TC_DIR_INGRESS ? "in" : "eg";
}

void tcx_pin_path(const char *pin_dir, int ifindex, enum tc_dir dir, char *buf,
		  size_t len)
{
	snprintf(buf, len, "%s/tcx_%d_%s", pin_dir, ifindex, dir_name(dir));
}

void tcx_peer_pin_path(const char *pin_dir, int host_ifindex, enum tc_dir dir,
		       char *buf, size_t len)
{
	snprintf(buf, len, "%s/tcx_%d_peer_%s", pin_dir, host_ifindex,
		 dir_name(dir));
}

void tcx_guard_pin_path(const char *pin_dir, int host_ifindex, char *buf,
			size_t len)
{
	snprintf(buf, len, "%s/guard_%d", pin_dir, host_ifindex);
}

/* prefix<ifindex>rest, rest one of tails: the ifindex, or 0. */
static int parse_name(const char *name, const char *prefix,
		      const char *const *tails)
{
	size_t plen = strlen(prefix);
	char *end;
	long v;

	if (strncmp(name, prefix, plen))
		return 0;
	v = strtol(name + plen, &end, 10);
	if (end == name + plen || v <= 0 || v > 0x7fffffff)
		return 0;
	for (; *tails; tails++)
		if (!strcmp(end, *tails))
			return (int)v;
	return 0;
}

bool tcx_pin_parse(const char *name, int *ifindex, bool *leftover)
{
	static const char *const tcx_tails[] = { "_in",
						 "_eg",
						 "_peer_in",
						 "_in" LEFTOVER,
						 "_eg" LEFTOVER,
						 "_peer_in" LEFTOVER,
						 NULL };
	static const char *const guard_tails[] = { "", LEFTOVER, NULL };
	size_t len = strlen(name);
	int v = parse_name(name, "tcx_", tcx_tails);

	if (!v)
		v = parse_name(name, "guard_", guard_tails);
	if (!v)
		return false;
	*ifindex = v;
	*leftover = len > strlen(LEFTOVER) &&
		    !strcmp(name + len - strlen(LEFTOVER), LEFTOVER);
	return true;
}

/* --- links --- */

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

/*
 * fd pinned at pin in one step, whatever was pinned there: pinned beside
 * it, then renamed over it (a bpffs rename replaces atomically; what the
 * old pin held loses that reference).
 */
static int pin_over(int fd, const char *pin)
{
	char tmp[512];
	int err = 0;

	snprintf(tmp, sizeof(tmp), "%s" LEFTOVER, pin);
	unlink(tmp); /* a leftover of a move cut short */
	if (bpf_obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, pin)) {
		err = -errno;
		unlink(tmp);
	}
	return err;
}

/* A new link at the head, pinned at pin (over: replacing a pin there). */
static int create_pinned(const char *pin, int ifindex, enum tc_dir dir,
			 int prog_fd, bool over)
{
	int fd = link_create_head(prog_fd, ifindex, dir), err = 0;

	if (fd < 0)
		return -errno;
	if (over)
		err = pin_over(fd, pin);
	else if (bpf_obj_pin(fd, pin))
		err = -errno;
	close(fd); /* pinned, the link stays; unpinned, it is gone */
	return err;
}

int tcx_update(const char *pin, int prog_fd)
{
	int fd = bpf_obj_get(pin), err = 0;

	if (fd < 0)
		return -errno;
	if (bpf_link_update(fd, prog_fd, NULL))
		err = -errno;
	close(fd);
	return err;
}

int tcx_attach_head(const char *pin, int ifindex, enum tc_dir dir, int prog_fd)
{
	/* ours already: the program of this build, atomically */
	int err = tcx_update(pin, prog_fd);

	if (err == -ENOENT) /* none pinned */
		err = create_pinned(pin, ifindex, dir, prog_fd, false);
	else if (err == -ENOLINK) /* its device went; the ifindex is reused */
		err = create_pinned(pin, ifindex, dir, prog_fd, true);
	return err;
}

static __u32 prog_id_of(int prog_fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.id;
}

static __u32 link_prog_id(int link_fd)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(link_fd, &info, &len) ? 0 : info.prog_id;
}

int tcx_move_to_head(const char *pin, int ifindex, enum tc_dir dir, int prog_fd,
		     int spare_fd)
{
	int old, fd, stand_in, err = 0;

	if (spare_fd < 0)
		return -ENOENT;
	old = bpf_obj_get(pin);
	/* the instance the old link does not run: the chain refuses a
	 * program it already holds */
	stand_in = old >= 0 && link_prog_id(old) == prog_id_of(spare_fd) ?
			   prog_fd :
			   spare_fd;
	/* 1. ours twice: at the head, and wherever the old link is */
	fd = link_create_head(stand_in, ifindex, dir);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	/* 2. the pin names the new link; the old one lives on in old */
	err = pin_over(fd, pin);
	if (err)
		goto out; /* the new link goes with fd; the old stays */
	/* 3. the old one goes; ours stays at the head */
	if (old >= 0 && bpf_link_detach(old))
		pr_warn("TCX: detach our old link on ifindex %d: %s", ifindex,
			strerror(errno));
	/* 4. the new link runs prog_fd from now on, in place */
	if (stand_in != prog_fd && bpf_link_update(fd, prog_fd, NULL))
		err = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (old >= 0)
		close(old);
	return err;
}

int tcx_unpin(const char *pin)
{
	int fd = bpf_obj_get(pin);

	/* detached now: an unpinned link goes only when the kernel gets to
	 * it, and until then the same program cannot come back there */
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	return unlink(pin) ? -errno : 0;
}

int tcx_guard_update(const char *pin_dir, int host_ifindex, int prog_fd)
{
	char pin[512];

	tcx_guard_pin_path(pin_dir, host_ifindex, pin, sizeof(pin));
	return tcx_update(pin, prog_fd);
}

int tcx_guard_detach(const char *pin_dir, int host_ifindex)
{
	char pin[512];

	tcx_guard_pin_path(pin_dir, host_ifindex, pin, sizeof(pin));
	return tcx_unpin(pin);
}
