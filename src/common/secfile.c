/* strait: small secret files under <home>/keys; see secfile.h. */
#include "common/secfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int secfile_dir(const char *home, char *dir, size_t cap, struct diag *d)
{
	struct stat st;
	if ((size_t)snprintf(dir, cap, "%s/keys", home) >= cap)
		return diag_set(d, ST_ECONFIG, "%s: path too long", home);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return diag_set(d, ST_EIO, "%s: %s", dir, strerror(errno));
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return diag_set(d, ST_ECONFIG, "%s: not a directory", dir);
	if ((st.st_mode & 077) && chmod(dir, 0700) != 0)
		return diag_set(d, ST_EIO, "%s: %s", dir, strerror(errno));
	return ST_OK;
}

int secfile_read(const char *path, void *buf, size_t cap, size_t *n,
		 struct diag *d)
{
	struct stat st;
	int rc = ST_OK;
	*n = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return diag_set(d, ST_ENOTFOUND, "%s: missing", path);
		if (errno == ELOOP)
			return diag_set(d, ST_ECONFIG, "%s: a symbolic link",
					path);
		return diag_set(d, ST_EIO, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = diag_set(d, ST_ECONFIG, "%s: not a regular file", path);
	} else if (st.st_mode & 077) {
		rc = diag_set(d, ST_ECONFIG,
			      "%s: readable by group or others (mode %03o); "
			      "it must be 0600",
			      path, (unsigned)(st.st_mode & 0777));
	} else if ((size_t)st.st_size > cap) {
		rc = diag_set(d, ST_ECONFIG, "%s: larger than %zu bytes", path,
			      cap);
	} else {
		size_t got = 0;
		while (got < cap) {
			ssize_t r = read(fd, (char *)buf + got, cap - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc = diag_set(d, ST_EIO, "%s: %s", path,
					      strerror(errno));
				break;
			}
			if (r == 0)
				break;
			got += (size_t)r;
		}
		*n = got;
	}
	close(fd);
	return rc;
}

int secfile_write(const char *dir, const char *path, const void *data, size_t n,
		  struct diag *d)
{
	char tmp[PATH_MAX];
	int rc = ST_OK;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return diag_set(d, ST_EIO, "%s: path too long", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		      0600);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n || fsync(fd) != 0) {
		rc = diag_set(d, ST_EIO, "%s: %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return rc;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		rc = diag_set(d, ST_EIO, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return rc;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return ST_OK;
}
