/*
 * Tests only: a VFS that wraps SQLite's default one, to count the disk
 * syncs of a file and to make writes to a file fail as on a full disk.
 * Files are chosen by the end of their name ("peers.db-wal", "audit.db").
 */
#ifndef STRAIT_TESTS_TESTVFS_H
#define STRAIT_TESTS_TESTVFS_H

#include <stdbool.h>

/* Makes the wrapper the default VFS (on) or restores the real one. Only
 * connections opened while it is on go through it. */
void testvfs_use(bool on);
/* Counts xSync on files whose name ends with suffix (NULL: none). */
void testvfs_count_syncs(const char *suffix);
int testvfs_syncs(void);
/* While full is set, writes and syncs of files whose name ends with
 * suffix fail with SQLITE_FULL. */
void testvfs_full(const char *suffix, bool full);

#endif
