/* SPDX-License-Identifier: GPL-2.0 */
/* Files redirectd makes where the user points it: their folders. */
#ifndef REDIRECT_PATHS_H
#define REDIRECT_PATHS_H

/* mkdir the folder path is in (0755), if missing: 0 or -errno. */
int make_parent_dir(const char *path);

#endif
