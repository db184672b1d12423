/*
 * strait: small secret files under <home>/keys (paging keys, the node's
 * signing keys). The directory is 0700 and each file 0600; a file that
 * group or others may read is refused, never silently fixed, because its
 * secret may already have leaked. Writes replace the file atomically
 * (temporary file, fsync, rename, fsync of the directory), so a crash
 * leaves the old file or the new one, never a mix.
 */
#ifndef STRAIT_COMMON_SECFILE_H
#define STRAIT_COMMON_SECFILE_H

#include "common/err.h"

#include <stddef.h>

/*
 * Makes <home>/keys (0700) if missing, tightens its mode if it is looser,
 * and writes its path into dir (cap bytes). ST_OK, or ST_ECONFIG (path too
 * long, not a directory) / ST_EIO with d.
 */
int secfile_dir(const char *home, char *dir, size_t cap, struct diag *d);

/*
 * Reads the whole file at path into buf (cap bytes) and sets *n. A file
 * larger than cap is refused. ST_ENOTFOUND when it does not exist; ST_OK;
 * else ST_ECONFIG (not a regular file, a symlink, readable by group or
 * others, too large) or ST_EIO, with d naming the file.
 */
int secfile_read(const char *path, void *buf, size_t cap, size_t *n,
		 struct diag *d);

/* Replaces path (in directory dir) with the n bytes at data, mode 0600,
 * durably. ST_OK or ST_EIO with d. */
int secfile_write(const char *dir, const char *path, const void *data, size_t n,
		  struct diag *d);

#endif
