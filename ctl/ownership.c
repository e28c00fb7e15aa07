// SPDX-License-Identifier: GPL-2.0
/* One redirectd per pin folder and journal: ownership.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include "datapath.h"
#include "log.h"
#include "ownership.h"
#include "paths.h"

/*
 * Exactly one redirectd owns a pin folder and a journal. A second one
 * would load, swap every hook and compact (rename over) the journal
 * before it finds the socket served, and the first would go on writing
 * to the file it renamed away: its later pods lost at its next start.
 * So both are locked (flock, not waiting) before anything is loaded,
 * written, unlinked or bound; the locks go with the process.
 */
static int lock_fd(int fd, const char *what, const char *path)
{
	if (fd < 0)
		return pr_ret(-errno, "lock %s %s: %s", what, path,
			      strerror(errno));
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	if (errno == EWOULDBLOCK)
		pr_err("another redirectd owns the %s %s; not starting "
		       "(nothing was touched)",
		       what, path);
	else
		pr_err("lock %s %s: %s", what, path, strerror(errno));
	close(fd);
	return -EBUSY;
}

/* The journal's lock: a file beside it (the journal itself is renamed). */
static int lock_journal(const char *state_file)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s.lock", state_file) >=
	    (int)sizeof(path))
		return pr_ret(-ENAMETOOLONG, "state path too long");
	return lock_fd(open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			    0600),
		       "journal", state_file);
}

/* The pin folder's lock: the folder itself (bpffs holds no plain files). */
static int lock_pins(const char *dir)
{
	int err = access(dir, F_OK) ? bpffs_prepare(dir) : 0;

	if (err)
		return err;
	return lock_fd(open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
		       "pin folder", dir);
}

static int owned[2] = { -1, -1 }; /* the locked journal and pin folder */

int ownership_take(const struct daemon_opts *o)
{
	int err = make_parent_dir(o->state_file), jfd, pfd;

	if (err)
		return pr_ret(err, "folder of %s: %s", o->state_file,
			      strerror(-err));
	jfd = lock_journal(o->state_file);
	if (jfd < 0)
		return jfd;
	pfd = lock_pins(o->bpffs);
	if (pfd < 0) {
		close(jfd);
		return pfd;
	}
	owned[0] = jfd;
	owned[1] = pfd;
	return 0;
}

/*
 * Dropped by hand once nothing more is written: a thread stuck for good
 * in a peer's FUSE file system (a close or a lookup that server never
 * answers) keeps the process from ending, and the next daemon must not
 * wait for that.
 */
void ownership_release(void)
{
	for (int i = 0; i < 2; i++)
		if (owned[i] >= 0)
			close(owned[i]);
}
