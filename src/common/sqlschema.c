/* strait: schema migrations of the SQLite databases (see sqlschema.h). */
#include "common/sqlschema.h"

#include <sys/stat.h>

#include "common/time.h"

#include <stdint.h>

int sql_diag(sqlite3 *db, struct diag *d, const char *what)
{
	int code = sqlite3_extended_errcode(db);
	int rc = ST_ESTORE;
	if (code == SQLITE_CONSTRAINT_UNIQUE ||
	    code == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = ST_EEXIST;
	else if ((code & 0xff) == SQLITE_NOMEM)
		rc = ST_ENOMEM;
	else if ((code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_FULL)
		rc = ST_EIO;
	return diag_set(d, rc, "%s: sqlite: %s (%d)", what, sqlite3_errmsg(db),
			code);
}

static int exec(sqlite3 *db, const char *sql, struct diag *d)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sql_diag(db, d, sql);
	return ST_OK;
}

int sql_query_int(sqlite3 *db, const char *sql, int64_t dflt, int64_t *out,
		  struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = ST_OK;
	*out = dflt;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		rc = sql_diag(db, d, sql);
		goto out;
	}
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			*out = sqlite3_column_int64(st, 0);
	} else if (src != SQLITE_DONE) {
		rc = sql_diag(db, d, sql);
	}
out:
	sqlite3_finalize(st);
	return rc;
}

int sql_migrate(sqlite3 *db, const char *path, const char *kind,
		const struct sql_migration *m, size_t n, int upto, bool create,
		int (*on_create)(sqlite3 *db, void *ctx, struct diag *d),
		void *ctx, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int64_t have, ntables, cur = 0;
	/* Nothing to do (every open but the first and an upgrade): decided
	 * by reading only. The write lock below would make a running
	 * server's writers wait on each CLI command that opens the file. */
	int latest0 = n > 0 ? m[n - 1].version : 0;
	if (sql_query_int(db,
			  "SELECT count(*) FROM sqlite_master"
			  " WHERE type = 'table' AND name = 'schema_version'",
			  0, &have, NULL) == ST_OK &&
	    have &&
	    sql_query_int(db, "SELECT max(version) FROM schema_version", 0,
			  &cur, NULL) == ST_OK &&
	    cur >= upto && cur <= latest0)
		return ST_OK;
	cur = 0;
	int rc = exec(db, "BEGIN IMMEDIATE", d);
	if (rc != ST_OK)
		return rc;
	rc = sql_query_int(db,
			   "SELECT count(*) FROM sqlite_master"
			   " WHERE type = 'table' AND name = 'schema_version'",
			   0, &have, d);
	if (rc == ST_OK)
		rc = sql_query_int(db, "SELECT count(*) FROM sqlite_master", 0,
				   &ntables, d);
	if (rc != ST_OK)
		goto out;
	if (!have) {
		if (ntables > 0 || !create) {
			rc = diag_set(d, ST_ESTORE, "%s: not a strait %s", path,
				      kind);
			goto out;
		}
		rc = exec(db,
			  "CREATE TABLE schema_version("
			  "version INTEGER PRIMARY KEY,"
			  " applied INTEGER NOT NULL)",
			  d);
	} else {
		rc = sql_query_int(
		    db, "SELECT max(version) FROM schema_version", 0, &cur, d);
	}
	if (rc != ST_OK)
		goto out;
	int latest = n > 0 ? m[n - 1].version : 0;
	if (cur > latest) {
		rc = diag_set(d, ST_ESTORE,
			      "%s: schema version %lld is newer than this "
			      "program's (%d)",
			      path, (long long)cur, latest);
		goto out;
	}
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO schema_version(version, applied)"
			       " VALUES(?1, ?2)",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = sql_diag(db, d, "schema_version");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (m[i].version <= cur || m[i].version > upto)
			continue;
		if ((rc = exec(db, m[i].sql, d)) != ST_OK) {
			diag_prefix(d, "migration %d", m[i].version);
			goto out;
		}
		sqlite3_bind_int(st, 1, m[i].version);
		sqlite3_bind_int64(st, 2, time_now());
		if (sqlite3_step(st) != SQLITE_DONE) {
			rc = sql_diag(db, d, "schema_version");
			goto out;
		}
		sqlite3_reset(st);
	}
	if (cur == 0 && on_create != NULL)
		rc = on_create(db, ctx, d);
out:
	sqlite3_finalize(st);
	if (rc == ST_OK)
		rc = exec(db, "COMMIT", d);
	if (rc != ST_OK && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int sql_open_private(const char *path, const char *kind,
		     const struct sql_migration *m, size_t n, sqlite3 **out,
		     struct diag *d)
{
	sqlite3 *db = NULL;
	struct stat sb;
	bool create = stat(path, &sb) != 0;
	int rc = ST_OK;
	*out = NULL;
	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK)
		rc = sql_diag(db, d, path);
	if (rc == ST_OK && create && chmod(path, 0600) != 0)
		rc = diag_set(d, ST_EIO, "%s: cannot make it private", path);
	if (rc == ST_OK) {
		sqlite3_busy_timeout(db, 10000);
		if (sqlite3_exec(db,
				 "PRAGMA journal_mode=WAL;"
				 "PRAGMA synchronous=FULL",
				 NULL, NULL, NULL) != SQLITE_OK)
			rc = sql_diag(db, d, path);
	}
	if (rc == ST_OK)
		rc = sql_migrate(db, path, kind, m, n, m[n - 1].version, create,
				 NULL, NULL, d);
	if (rc != ST_OK) {
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return ST_OK;
}
