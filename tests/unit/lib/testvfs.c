/*
 * Tests only: the wrapping VFS of testvfs.h. Every method passes through
 * to the real file; xWrite, xTruncate and xSync look at the file's name.
 */
#include "testvfs.h"

#include <assert.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

struct tfile {
	sqlite3_file base;
	sqlite3_file *real;
	const char *name; /* valid until xClose (SQLite's promise) */
};

static sqlite3_vfs *vfs_real;
static sqlite3_vfs vfs_test;
static char sync_suffix[64], full_suffix[64];
static int syncs, full;

#define TF(f) ((struct tfile *)(void *)(f))
#define REAL(f) (TF(f)->real)
#define RM(f) (REAL(f)->pMethods)

static bool ends_with(const char *name, const char *suffix)
{
	size_t nl = name != NULL ? strlen(name) : 0, sl = strlen(suffix);
	return sl > 0 && nl >= sl && strcmp(name + nl - sl, suffix) == 0;
}

static bool is_full(sqlite3_file *f)
{
	return __atomic_load_n(&full, __ATOMIC_SEQ_CST) &&
	       ends_with(TF(f)->name, full_suffix);
}

static int t_close(sqlite3_file *f)
{
	return RM(f)->xClose(REAL(f));
}
static int t_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
	return RM(f)->xRead(REAL(f), b, n, o);
}
static int t_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	if (is_full(f))
		return SQLITE_FULL;
	return RM(f)->xWrite(REAL(f), b, n, o);
}
static int t_truncate(sqlite3_file *f, sqlite3_int64 n)
{
	if (is_full(f))
		return SQLITE_FULL;
	return RM(f)->xTruncate(REAL(f), n);
}
static int t_sync(sqlite3_file *f, int flags)
{
	if (is_full(f))
		return SQLITE_FULL;
	if (ends_with(TF(f)->name, sync_suffix))
		__atomic_add_fetch(&syncs, 1, __ATOMIC_SEQ_CST);
	return RM(f)->xSync(REAL(f), flags);
}
static int t_size(sqlite3_file *f, sqlite3_int64 *n)
{
	return RM(f)->xFileSize(REAL(f), n);
}
static int t_lock(sqlite3_file *f, int l)
{
	return RM(f)->xLock(REAL(f), l);
}
static int t_unlock(sqlite3_file *f, int l)
{
	return RM(f)->xUnlock(REAL(f), l);
}
static int t_reserved(sqlite3_file *f, int *r)
{
	return RM(f)->xCheckReservedLock(REAL(f), r);
}
static int t_fcntl(sqlite3_file *f, int op, void *a)
{
	return RM(f)->xFileControl(REAL(f), op, a);
}
static int t_sector(sqlite3_file *f)
{
	return RM(f)->xSectorSize(REAL(f));
}
static int t_devchar(sqlite3_file *f)
{
	return RM(f)->xDeviceCharacteristics(REAL(f));
}
static int t_shmmap(sqlite3_file *f, int pg, int sz, int ext,
		    void volatile **pp)
{
	return RM(f)->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int t_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	return RM(f)->xShmLock(REAL(f), off, n, flags);
}
static void t_shmbarrier(sqlite3_file *f)
{
	RM(f)->xShmBarrier(REAL(f));
}
static int t_shmunmap(sqlite3_file *f, int del)
{
	return RM(f)->xShmUnmap(REAL(f), del);
}
static int t_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
	return RM(f)->xFetch(REAL(f), o, n, pp);
}
static int t_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
	return RM(f)->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods t_methods = {
    3,	       t_close,	 t_read,    t_write,	  t_truncate, t_sync,
    t_size,    t_lock,	 t_unlock,  t_reserved,	  t_fcntl,    t_sector,
    t_devchar, t_shmmap, t_shmlock, t_shmbarrier, t_shmunmap, t_fetch,
    t_unfetch,
};

static int t_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags,
		  int *out)
{
	(void)v;
	struct tfile *t = TF(f);
	t->real = (sqlite3_file *)(void *)(t + 1);
	t->name = name;
	int rc = vfs_real->xOpen(vfs_real, name, t->real, flags, out);
	t->base.pMethods = t->real->pMethods != NULL ? &t_methods : NULL;
	return rc;
}

void testvfs_use(bool on)
{
	if (on) {
		vfs_real = sqlite3_vfs_find(NULL);
		assert(vfs_real != NULL && vfs_real->iVersion >= 1);
		vfs_test = *vfs_real;
		vfs_test.zName = "strait-test";
		vfs_test.szOsFile =
		    (int)sizeof(struct tfile) + vfs_real->szOsFile;
		vfs_test.xOpen = t_open;
		sqlite3_vfs_register(&vfs_test, 1);
	} else {
		sqlite3_vfs_unregister(&vfs_test);
		sqlite3_vfs_register(vfs_real, 1);
	}
}

void testvfs_count_syncs(const char *suffix)
{
	snprintf(sync_suffix, sizeof(sync_suffix), "%s",
		 suffix != NULL ? suffix : "");
}

int testvfs_syncs(void)
{
	return __atomic_load_n(&syncs, __ATOMIC_SEQ_CST);
}

void testvfs_full(const char *suffix, bool on)
{
	snprintf(full_suffix, sizeof(full_suffix), "%s",
		 suffix != NULL ? suffix : "");
	__atomic_store_n(&full, on, __ATOMIC_SEQ_CST);
}
