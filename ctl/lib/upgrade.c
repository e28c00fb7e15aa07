// SPDX-License-Identifier: GPL-2.0
/* Taking over another build's pinned maps in place: see upgrade.h. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "log.h"
#include "upgrade.h"

#define LAYOUT_PIN "layout"

/* A pin is a map (not a link or program): its fd says map_type. */
static bool pin_is_map(const char *path)
{
	char fdinfo[64], line[128];
	bool map = false;
	FILE *f;
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return false;
	snprintf(fdinfo, sizeof(fdinfo), "/proc/self/fdinfo/%d", fd);
	f = fopen(fdinfo, "re");
	while (f && !map && fgets(line, sizeof(line), f))
		map = !strncmp(line, "map_type:", 9);
	if (f)
		fclose(f);
	close(fd);
	return map;
}

/* fn(pin_dir, name) for every map pinned directly in pin_dir. */
static int for_each_map_pin(const char *pin_dir,
			    int (*fn)(const char *dir, const char *name,
				      void *arg),
			    void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(pin_dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!err && (de = readdir(d))) {
		if (de->d_type != DT_REG)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
		if (pin_is_map(path))
			err = fn(pin_dir, de->d_name, arg);
	}
	closedir(d);
	return err;
}

static int note_map(const char *dir, const char *name, void *arg)
{
	(void)dir;
	(void)name;
	*(bool *)arg = true;
	return 1; /* one is enough */
}

__u32 upgrade_pinned_version(const char *pin_dir)
{
	char path[PATH_MAX];
	__u32 zero = 0, v = 0;
	bool any = false;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, LAYOUT_PIN);
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		if (bpf_map_lookup_elem(fd, &zero, &v))
			v = 0;
		close(fd);
		/* 0: made, never written (a start cut short): unknown */
		return v ? v : 1;
	}
	for_each_map_pin(pin_dir, note_map, &any);
	return any ? 1 : 0;
}

static int move_aside(const char *dir, const char *name, void *arg)
{
	char from[PATH_MAX], to[PATH_MAX];
	unsigned int *moved = arg;

	snprintf(to, sizeof(to), "%s/%s", dir, UPGRADE_OLD_DIR);
	if (mkdir(to, 0700) && errno != EEXIST)
		return pr_ret(-errno, "mkdir %s: %s", to, strerror(errno));
	snprintf(from, sizeof(from), "%s/%s", dir, name);
	snprintf(to, sizeof(to), "%s/%s/%s", dir, UPGRADE_OLD_DIR, name);
	if (rename(from, to))
		return pr_ret(-errno, "move %s aside: %s", from,
			      strerror(errno));
	if (moved)
		(*moved)++;
	return 0;
}

int upgrade_set_aside_all(const char *pin_dir, unsigned int *moved)
{
	return for_each_map_pin(pin_dir, move_aside, moved);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Why the pinned map at path cannot serve as m, or NULL. */
static const char *incompatible(const struct bpf_map *m, const char *path,
				char *why, size_t len)
{
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return NULL; /* nothing pinned: libbpf makes it */
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		close(fd);
		return NULL; /* let libbpf's own check speak */
	}
	close(fd);
	if (info.type == bpf_map__type(m) &&
	    info.key_size == bpf_map__key_size(m) &&
	    info.value_size == bpf_map__value_size(m) &&
	    info.max_entries == bpf_map__max_entries(m) &&
	    info.map_flags == bpf_map__map_flags(m))
		return NULL;
	snprintf(why, len,
		 "pinned type %u key %u value %u entries %u flags 0x%x, "
		 "this build's %u/%u/%u/%u/0x%x",
		 info.type, info.key_size, info.value_size, info.max_entries,
		 info.map_flags, bpf_map__type(m), bpf_map__key_size(m),
		 bpf_map__value_size(m), bpf_map__max_entries(m),
		 bpf_map__map_flags(m));
	return why;
}

int upgrade_set_aside_incompatible(struct bpf_object *obj, const char *pin_dir,
				   unsigned int *moved)
{
	struct bpf_map *m;
	char why[160];
	int err;

	bpf_object__for_each_map(m, obj) {
		const char *path = bpf_map__pin_path(m);

		if (!path || !incompatible(m, path, why, sizeof(why)))
			continue;
		pr_info("map %s: %s; set aside, a new one takes its place",
			bpf_map__name(m), why);
		err = move_aside(pin_dir, base_name(path), moved);
		if (err)
			return err;
	}
	return 0;
}

static const char *old_path(const char *pin_dir, const char *name, char *buf,
			    size_t len)
{
	snprintf(buf, len, "%s/%s/%s", pin_dir, UPGRADE_OLD_DIR, name);
	return buf;
}

void upgrade_restore(struct bpf_object *obj, const char *pin_dir)
{
	char old[PATH_MAX];
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		const char *path = bpf_map__pin_path(m);

		if (!path ||
		    access(old_path(pin_dir, base_name(path), old, sizeof(old)),
			   F_OK) ||
		    !access(path, F_OK))
			continue;
		if (rename(old, path))
			pr_warn("put %s back: %s", path, strerror(errno));
	}
}

static bool copyable(const struct bpf_map_info *from, const struct bpf_map *to)
{
	enum bpf_map_type t = bpf_map__type(to);

	return from->type == (__u32)t &&
	       (t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
		t == BPF_MAP_TYPE_ARRAY) &&
	       from->key_size == bpf_map__key_size(to) &&
	       from->value_size == bpf_map__value_size(to);
}

/* Every entry of from into to; one the new map cannot hold is skipped. */
static int copy_entries(int from, int to, __u32 key_size, __u32 value_size)
{
	char *key = calloc(2, key_size), *next = key + key_size;
	char *val = malloc(value_size);
	int err = 0, skipped = 0;
	void *prev = NULL;

	if (!key || !val) {
		free(key);
		free(val);
		return -ENOMEM;
	}
	while (!bpf_map_get_next_key(from, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(from, key, val))
			continue; /* gone meanwhile */
		if (bpf_map_update_elem(to, key, val, BPF_ANY))
			skipped++;
	}
	if (errno != ENOENT)
		err = -errno;
	if (skipped)
		pr_warn("%d entries did not fit the new map", skipped);
	free(key);
	free(val);
	return err;
}

int upgrade_copy_old(struct bpf_object *obj, const char *pin_dir,
		     unsigned int *copied)
{
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
	char old[PATH_MAX];
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		const char *path = bpf_map__pin_path(m);
		int fd;

		if (!path)
			continue;
		old_path(pin_dir, base_name(path), old, sizeof(old));
		fd = bpf_obj_get(old);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		ilen = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &ilen) &&
		    copyable(&info, m) &&
		    !copy_entries(fd, bpf_map__fd(m), info.key_size,
				  info.value_size)) {
			pr_info("map %s: entries carried over",
				bpf_map__name(m));
			if (copied)
				(*copied)++;
		}
		close(fd);
	}
	return 0;
}

bool upgrade_old_present(const char *pin_dir)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s", pin_dir, UPGRADE_OLD_DIR);
	return access(dir, F_OK) == 0;
}

int upgrade_drop_old(const char *pin_dir, unsigned int *dropped)
{
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(dir, sizeof(dir), "%s/%s", pin_dir, UPGRADE_OLD_DIR);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path))
			err = -errno;
		else if (dropped)
			(*dropped)++;
	}
	closedir(d);
	if (rmdir(dir) && !err)
		err = -errno;
	return err;
}
