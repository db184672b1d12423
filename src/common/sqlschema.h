/*
 * strait: what the SQLite databases (the store, auth.db) share: the error
 * mapping, one-value queries and the schema migrations.
 *
 * Each database keeps the versions applied in a schema_version table; a
 * change of schema is a new row of the caller's migration table, never an
 * edit of an old one. Everything runs in one IMMEDIATE transaction: a
 * failed migration leaves the file as it was.
 */
#ifndef STRAIT_COMMON_SQLSCHEMA_H
#define STRAIT_COMMON_SQLSCHEMA_H

#include "common/err.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sql_migration {
	int version; /* ascending, from 1 */
	const char *sql;
};

/*
 * Brings db to migration `upto` (the table's last for normal use). A file
 * without schema_version must be empty and create true, else "PATH: not a
 * strait KIND" (kind: "store", "accounts database"). A schema newer than
 * the table is refused. When the database was new, on_create (optional)
 * runs inside the same transaction, to write its first meta rows.
 * ST_OK, or ST_ESTORE/ST_EIO/ST_ENOMEM with d saying which migration.
 */
int sql_migrate(sqlite3 *db, const char *path, const char *kind,
		const struct sql_migration *m, size_t n, int upto, bool create,
		int (*on_create)(sqlite3 *db, void *ctx, struct diag *d),
		void *ctx, struct diag *d);

/*
 * Opens (or makes, mode 0600) the SQLite file at path as strait's private
 * state files are kept: no symlink followed, a 10 s busy timeout, WAL,
 * synchronous FULL, migrations up to the last of m[0..n) (kind names the
 * file in errors). *out is NULL on failure (and the file may exist).
 */
int sql_open_private(const char *path, const char *kind,
		     const struct sql_migration *m, size_t n, sqlite3 **out,
		     struct diag *d);

/* The error of db's last call as an st_err, with "WHAT: sqlite: msg". */
int sql_diag(sqlite3 *db, struct diag *d, const char *what);

/* Runs a one-row query returning an integer; *out = dflt when it returns
 * no row or NULL. */
int sql_query_int(sqlite3 *db, const char *sql, int64_t dflt, int64_t *out,
		  struct diag *d);

#endif
