// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "findings.h"

/* A finding and its text, allocated together. */
struct finding_block {
	Finding f; /* first: findings_free frees the block */
	char level[8], check[24], subject[128], detail[512], fix[200];
};

static bool grow(struct findings *fs)
{
	size_t cap = fs->cap ? 2 * fs->cap : 32;
	Finding **v;

	if (fs->n < fs->cap)
		return true;
	v = realloc(fs->v, cap * sizeof(*v));
	if (!v)
		return false;
	fs->v = v;
	fs->cap = cap;
	return true;
}

void findings_add(struct findings *fs, const char *level, const char *check,
		  const char *subject, const char *fix, const char *fmt, ...)
{
	struct finding_block *b;
	va_list ap;

	b = grow(fs) ? calloc(1, sizeof(*b)) : NULL;
	if (!b) {
		fs->oom = true;
		return;
	}
	ambient_redirect__v1__finding__init(&b->f);
	snprintf(b->level, sizeof(b->level), "%s", level);
	snprintf(b->check, sizeof(b->check), "%s", check);
	snprintf(b->subject, sizeof(b->subject), "%s", subject);
	snprintf(b->fix, sizeof(b->fix), "%s", fix ? fix : "");
	va_start(ap, fmt);
	vsnprintf(b->detail, sizeof(b->detail), fmt, ap);
	va_end(ap);
	b->f.level = b->level;
	b->f.check = b->check;
	b->f.subject = b->subject;
	b->f.detail = b->detail;
	b->f.fix = b->fix;
	fs->v[fs->n++] = &b->f;
}

void findings_free(Finding **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]); /* first member of its block */
	free(v);
}

int findings_worst(Finding *const *v, size_t n)
{
	int worst = 0;

	for (size_t i = 0; i < n; i++) {
		int r = !strcmp(v[i]->level, "fail") ? 2 :
			!strcmp(v[i]->level, "warn") ? 1 :
						       0;

		if (r > worst)
			worst = r;
	}
	return worst;
}

/* The mounts redirectd and its sockmap acceleration need. */
void findings_mounts(struct findings *l)
{
	FILE *f = fopen("/proc/mounts", "r");
	char dev[256], dir[256], type[64];
	bool bpf = false, cg2 = false;

	while (f &&
	       fscanf(f, "%255s %255s %63s %*[^\n]", dev, dir, type) == 3) {
		bpf |= !strcmp(type, "bpf") && !strcmp(dir, "/sys/fs/bpf");
		cg2 |= !strcmp(type, "cgroup2");
	}
	if (f)
		fclose(f);
	if (bpf)
		findings_add(l, "ok", "mounts", "/sys/fs/bpf", NULL,
			     "a bpf filesystem");
	else
		findings_add(l, "fail", "mounts", "/sys/fs/bpf",
			     "mount -t bpf bpf /sys/fs/bpf",
			     "no bpf filesystem: nothing of ours survives a "
			     "restart of redirectd");
	if (cg2)
		findings_add(l, "ok", "mounts", "cgroup2", NULL, "mounted");
	else
		findings_add(l, "warn", "mounts", "cgroup2",
			     "mount cgroup v2 to use sockmap acceleration",
			     "no cgroup v2 mount: sockmap acceleration cannot "
			     "attach");
}
