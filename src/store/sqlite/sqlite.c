/*
 * strait: the SQLite backend. This file opens and closes the store, owns
 * the schema and its migrations, and serves meta, collections, statistics
 * and the check. The write path (writer and checkpointer threads) is in
 * writer.c, reads in read.c.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/log.h"
#include "common/uuid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CACHE_MB 16
/* The writer's cache, as a multiple of a reader's: a transaction's dirty
 * pages (its rows, and a random page of the key index for most of them)
 * must fit, or they spill into the WAL before the commit. */
#define WRITER_CACHE_FACTOR 4
/* Large groups amortise the random pages of the key index that every
 * transaction rewrites into the WAL: measured (bench/ceilings insert, 1M
 * rows) 70k rows/s with groups of 12k, 100-117k with groups of 100k+. */
#define DEFAULT_BATCH_MAX 131072
#define DEFAULT_CKPT_PAGES 10000
/* Measured against 2048 and 4096 (bench_store_insert, 1M rows): 8192 is
 * the smallest (1.25x the bodies, against 1.33x and 1.53x) and fastest. */
#define PAGE_SIZE 8192
#define BUSY_TIMEOUT_MS 10000
/* TAXII: status resources are kept at least 24 hours. */
#define STATUS_KEEP_HOURS 24
/* Idle readers are closed, and the writer's cache released, after this. */
#define DEFAULT_IDLE_MS 10000
#define DEFAULT_STATUS_SYNC_MS 100

/*
 * Schema migrations, applied in order in one transaction at open; each
 * applied version is a row of schema_version. The schema at version N is
 * migrations 1..N: a change is a new row here, never an edit of an old row.
 *
 * versions: the log. seq is assigned by the writer (never reused, even if
 *   rows are one day removed); uuid is the 16-byte UUID of the id and type
 *   a code from types, so the key index stays small; version is the version
 *   key in microseconds (modified/created, or date_added of the first
 *   storage for SCOs); body is the canonical JSON.
 * membership: a version's place in a collection, ordered by date_added,
 *   which is unique store-wide. membership_seq answers "already a member?"
 *   and joins from a version to its collections (covering, since a WITHOUT
 *   ROWID table's index holds the primary key).
 * types: code <-> name, with per-type counters kept by the writer so that
 *   statistics need no scans.
 * meta: "store.*" keys are the store's own (incarnation, high-water marks
 *   of seq and date_added, updated in every write transaction).
 *
 * Migration 2 (TAXII 2.1):
 * removals: one row per membership removed by store_remove (TAXII
 *   DELETE), so streams and federation can see removals: the log itself
 *   stays append-only. date comes from the date_added clock (unique
 *   per removal, shared by its rows); log_seq is the last seq of the log
 *   when it happened.
 * status: TAXII status resources of Add Objects, kept at least 24 h;
 *   lists is the JSON the handler made (successes, failures, pendings).
 * membership.mflags: MF_NOT_LAST / MF_NOT_FIRST (sqlite_int.h): another
 *   version of the same object with a greater / smaller version key is a
 *   member of the same collection. The writer keeps them whenever an
 *   object's memberships in a collection change, so that TAXII's
 *   version=last/first is a filter on the row being read, not a probe of
 *   the key index per row (a random read each: 4x slower at 1M rows).
 *
 * Migration 3 (the key index with locality):
 * keys_main, keys_recent: the key index, (uuid, type, version) -> seq, in
 *   two tables instead of an index on versions. STIX ids are random UUIDs,
 *   so each new version lands on a random leaf of the key index: a commit
 *   of a few hundred rows rewrote a few hundred random pages into the WAL,
 *   most of the writer's time when posters commit small groups. New keys
 *   go to keys_recent, small enough that a commit dirties few of its
 *   pages; the writer moves them to keys_main in one sorted pass once
 *   there are a 32nd of the log (writer.c, recent_limit), in the same
 *   transaction as the rows that filled it, so every key is in exactly
 *   one of the two. Every lookup by id reads both.
 */
static const struct sql_migration migrations[] = {
    {1, "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE types(code INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" versions INTEGER NOT NULL DEFAULT 0,"
	" objects INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE collections(cid INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" alias TEXT UNIQUE,"
	" title TEXT NOT NULL,"
	" description TEXT NOT NULL,"
	" media_types TEXT NOT NULL);"
	"CREATE TABLE versions(seq INTEGER PRIMARY KEY,"
	" type INTEGER NOT NULL,"
	" uuid BLOB NOT NULL,"
	" version INTEGER NOT NULL,"
	" tlp INTEGER NOT NULL,"
	" flags INTEGER NOT NULL,"
	" body TEXT NOT NULL,"
	" warnings TEXT);"
	"CREATE UNIQUE INDEX versions_key ON versions(uuid, type, version);"
	"CREATE TABLE membership(cid INTEGER NOT NULL,"
	" date_added INTEGER NOT NULL,"
	" seq INTEGER NOT NULL,"
	" PRIMARY KEY(cid, date_added)) WITHOUT ROWID;"
	"CREATE UNIQUE INDEX membership_seq ON membership(seq, cid);"},
    {2, "CREATE TABLE removals(rid INTEGER PRIMARY KEY,"
	" date INTEGER NOT NULL,"
	" log_seq INTEGER NOT NULL,"
	" cid INTEGER NOT NULL,"
	" seq INTEGER NOT NULL,"
	" date_added INTEGER NOT NULL);"
	"CREATE INDEX removals_cid ON removals(cid, date);"
	"CREATE TABLE status(id TEXT PRIMARY KEY,"
	" owner INTEGER NOT NULL,"
	" created INTEGER NOT NULL,"
	" pending INTEGER NOT NULL,"
	" total INTEGER NOT NULL,"
	" success INTEGER NOT NULL,"
	" failure INTEGER NOT NULL,"
	" npending INTEGER NOT NULL,"
	" lists TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX status_created ON status(created);"
	"ALTER TABLE membership ADD COLUMN mflags INTEGER NOT NULL DEFAULT 0;"
	"UPDATE membership SET mflags ="
	" EXISTS (SELECT 1 FROM versions v CROSS JOIN versions w"
	" INDEXED BY versions_key ON w.uuid = v.uuid AND w.type = v.type"
	" AND w.version > v.version CROSS JOIN membership mw"
	" ON mw.seq = w.seq AND mw.cid = membership.cid"
	" WHERE v.seq = membership.seq)"
	" | (EXISTS (SELECT 1 FROM versions v CROSS JOIN versions w"
	" INDEXED BY versions_key ON w.uuid = v.uuid AND w.type = v.type"
	" AND w.version < v.version CROSS JOIN membership mw"
	" ON mw.seq = w.seq AND mw.cid = membership.cid"
	" WHERE v.seq = membership.seq) << 1);"},
    {3, "CREATE TABLE keys_main(uuid BLOB NOT NULL,"
	" type INTEGER NOT NULL,"
	" version INTEGER NOT NULL,"
	" seq INTEGER NOT NULL,"
	" PRIMARY KEY(uuid, type, version)) WITHOUT ROWID;"
	"CREATE TABLE keys_recent(uuid BLOB NOT NULL,"
	" type INTEGER NOT NULL,"
	" version INTEGER NOT NULL,"
	" seq INTEGER NOT NULL,"
	" PRIMARY KEY(uuid, type, version)) WITHOUT ROWID;"
	"INSERT INTO keys_main SELECT uuid, type, version, seq FROM versions"
	" ORDER BY uuid, type, version;"
	"DROP INDEX versions_key;"},
    /* What a version's owner keeps with it (a received version's
     * provenance), written in the same commit as the version. */
    {4, "ALTER TABLE versions ADD COLUMN prov BLOB;"},
};

#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

int sq_schema_latest(void)
{
	return migrations[NMIGRATIONS - 1].version;
}

int sq_exec(sqlite3 *db, const char *sql, struct diag *d)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sql_diag(db, d, sql);
	return ST_OK;
}

int sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, struct diag *d)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
			       NULL) != SQLITE_OK)
		return sql_diag(db, d, "prepare");
	return ST_OK;
}

/* A new store's meta: a new node incarnation (inside the migration's
 * transaction). */
static int new_store_meta(sqlite3 *db, void *ctx, struct diag *d)
{
	(void)ctx;
	uint8_t u[16];
	char inc[UUID_STRLEN + 1];
	char sql[256];
	uuid_v4(u);
	uuid_format(u, inc);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO meta(key, value) VALUES"
		 " ('store.incarnation', '%s'),"
		 " ('store.last_seq', 0), ('store.last_date', 0),"
		 " ('store.created', %lld)",
		 inc, (long long)time_now());
	return sq_exec(db, sql, d);
}

/* Brings the schema to migration `upto` (normally the latest); makes a
 * new store's meta. */
static int migrate(struct sq_store *s, bool create, int upto, struct diag *d)
{
	return sql_migrate(s->wdb, s->path, "store", migrations, NMIGRATIONS,
			   upto, create, new_store_meta, NULL, d);
}

static int load_incarnation(struct sq_store *s, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = sq_prepare(s->wdb,
			    "SELECT value FROM meta"
			    " WHERE key = 'store.incarnation'",
			    &st, d);
	if (rc != ST_OK)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_bytes(st, 0) != UUID_STRLEN) {
		rc = diag_set(d, ST_ESTORE, "%s: no incarnation id", s->path);
		goto out;
	}
	memcpy(s->incarnation, sqlite3_column_text(st, 0), UUID_STRLEN);
	s->incarnation[UUID_STRLEN] = '\0';
out:
	sqlite3_finalize(st);
	return rc;
}

/* Settings every connection of the store shares. */
static int conn_setup(sqlite3 *db, uint32_t cache_kib, struct diag *d)
{
	char sql[128];
	sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
	snprintf(sql, sizeof(sql),
		 "PRAGMA cache_size = -%u; PRAGMA foreign_keys = OFF;"
		 " PRAGMA temp_store = MEMORY",
		 cache_kib);
	return sq_exec(db, sql, d);
}

int sq_open_conn(struct sq_store *s, int flags, uint32_t cache_kib,
		 sqlite3 **out, struct diag *d)
{
	sqlite3 *db = NULL;
	int rc = ST_OK;
	flags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	if (sqlite3_open_v2(s->path, &db, flags, NULL) != SQLITE_OK) {
		rc = db != NULL ? sql_diag(db, d, s->path)
				: diag_set(d, ST_ENOMEM, "sqlite: no memory");
		goto out;
	}
	rc = conn_setup(db, cache_kib, d);
out:
	if (rc != ST_OK) {
		sqlite3_close(db);
		db = NULL;
	}
	*out = db;
	return rc;
}

static int writer_setup(struct sq_store *s, struct diag *d)
{
	char sql[256];
	sqlite3_stmt *st = NULL;
	int rc;
	/* page_size only takes on a new, empty file: before WAL. */
	snprintf(sql, sizeof(sql), "PRAGMA page_size = %d", PAGE_SIZE);
	rc = sq_exec(s->wdb, sql, d);
	if (rc != ST_OK)
		return rc;
	rc = sq_prepare(s->wdb, "PRAGMA journal_mode = WAL", &st, d);
	if (rc != ST_OK)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
		rc = diag_set(d, ST_ESTORE, "%s: cannot use WAL mode", s->path);
	sqlite3_finalize(st);
	if (rc != ST_OK)
		return rc;
	/* Durable before acknowledged: FULL syncs the WAL on each commit.
	 * Checkpoints are the checkpointer's, never the writer's. The WAL
	 * cycles up to about twice ckpt_pages (writer.c); the file is cut
	 * back only when it grew well past that, not on every cycle. */
	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0;"
		 " PRAGMA journal_size_limit = %lld",
		 (long long)s->ckpt_pages * 4 * PAGE_SIZE);
	return sq_exec(s->wdb, sql, d);
}

static int file_exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static void sq_close(struct store *st);

/*
 * Process-wide SQLite settings, before its first use: no memory
 * statistics (they put a global mutex around every allocation).
 */
static void sqlite_once(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const char *path, const struct store_options *opt,
		   struct store **out, struct diag *d)
{
	struct sq_store *s = NULL;
	int rc = ST_OK;
	if (path[0] == '\0')
		return diag_set(d, ST_EINVAL, "store: empty path");
	if (!opt->create && !file_exists(path))
		return diag_set(d, ST_ENOTFOUND, "%s: no store there", path);
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, sqlite_once);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return diag_set(d, ST_ENOMEM, "store: no memory");
	s->base.ops = &store_sqlite_ops;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->work_cv, &ca);
	pthread_cond_init(&s->done_cv, NULL);
	pthread_mutex_init(&s->f_mu, NULL);
	pthread_cond_init(&s->t_cv, &ca);
	s->wal_fd = -1;
	pthread_cond_init(&s->seq_cv, &ca);
	pthread_mutex_init(&s->ck_mu, NULL);
	pthread_cond_init(&s->ck_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&s->ck_done_cv, NULL);
	pthread_mutex_init(&s->r_mu, NULL);
	sq_idf_init(&s->idf);
	s->cache_kib =
	    (opt->cache_mb ? opt->cache_mb : DEFAULT_CACHE_MB) * 1024u;
	s->batch_max = opt->batch_max ? opt->batch_max : DEFAULT_BATCH_MAX;
	s->keys_recent_max =
	    opt->keys_recent_max ? opt->keys_recent_max : KEYS_RECENT_MAX;
	s->ckpt_pages =
	    opt->checkpoint_pages ? opt->checkpoint_pages : DEFAULT_CKPT_PAGES;
	s->status_keep_hours = opt->status_keep_hours > STATUS_KEEP_HOURS
				   ? opt->status_keep_hours
				   : STATUS_KEEP_HOURS;
	s->idle_ms = opt->idle_ms == 0		  ? DEFAULT_IDLE_MS
		     : opt->idle_ms == UINT32_MAX ? 0
						  : opt->idle_ms;
	s->status_sync_ms =
	    opt->status_sync_ms ? opt->status_sync_ms : DEFAULT_STATUS_SYNC_MS;
	s->path = strdup(path);
	if (s->path == NULL) {
		rc = diag_set(d, ST_ENOMEM, "store: no memory");
		goto out;
	}
	rc = sq_open_conn(
	    s, SQLITE_OPEN_READWRITE | (opt->create ? SQLITE_OPEN_CREATE : 0),
	    s->cache_kib * WRITER_CACHE_FACTOR, &s->wdb, d);
	if (rc == ST_OK)
		rc = writer_setup(s, d);
	if (rc == ST_OK)
		rc = migrate(s, opt->create, sq_schema_latest(), d);
	if (rc == ST_OK)
		rc = load_incarnation(s, d);
	if (rc == ST_OK)
		rc = sq_writer_start(s, d);
out:
	if (rc != ST_OK) {
		sq_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return ST_OK;
}

static void sq_close(struct store *st)
{
	struct sq_store *s = SQ(st);
	sq_writer_stop(s);
	sq_readers_close(s);
	if (s->wdb != NULL && s->writer_started) {
		/* Leave a short WAL behind: the next open starts fast. */
		if (sqlite3_wal_checkpoint_v2(s->wdb, NULL,
					      SQLITE_CHECKPOINT_TRUNCATE, NULL,
					      NULL) != SQLITE_OK)
			log_warn("store", "%s: final checkpoint: %s", s->path,
				 sqlite3_errmsg(s->wdb));
	}
	for (int i = 0; i < W_NSTMT; i++)
		sqlite3_finalize(s->ws[i]);
	sqlite3_close(s->cdb);
	sqlite3_close(s->wdb);
	sq_types_free(s);
	free(s->mbuf);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->done_cv);
	pthread_cond_destroy(&s->seq_cv);
	pthread_mutex_destroy(&s->f_mu);
	pthread_cond_destroy(&s->t_cv);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	pthread_mutex_destroy(&s->ck_mu);
	pthread_cond_destroy(&s->ck_cv);
	pthread_cond_destroy(&s->ck_done_cv);
	pthread_mutex_destroy(&s->r_mu);
	sq_idf_free(&s->idf);
	free(s->path);
	free(s);
}

int sq_create_at_schema_for_test(const char *path, int version, struct diag *d)
{
	struct sq_store s;
	int rc;
	memset(&s, 0, sizeof(s));
	s.path = strdup(path);
	if (s.path == NULL)
		return diag_set(d, ST_ENOMEM, "store: no memory");
	rc = sq_open_conn(&s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1024,
			  &s.wdb, d);
	if (rc == ST_OK)
		rc = writer_setup(&s, d);
	if (rc == ST_OK)
		rc = migrate(&s, true, version, d);
	sqlite3_close(s.wdb);
	free(s.path);
	return rc;
}

static const char *sq_incarnation(struct store *st)
{
	return SQ(st)->incarnation;
}

/* ------------------------------------------------------------------ */
/* Meta                                                                 */
/* ------------------------------------------------------------------ */

static int sq_meta_get(struct store *st, const char *key, char *val, size_t cap)
{
	struct sq_store *s = SQ(st);
	struct sq_reader *r = sq_reader_get(s, NULL);
	sqlite3_stmt *q;
	int rc = ST_OK;
	if (r == NULL)
		return ST_ESTORE;
	q = sq_reader_stmt(r, R_META_GET, NULL);
	if (q == NULL) {
		rc = ST_ESTORE;
		goto out;
	}
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
	int src = sqlite3_step(q);
	if (src == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(q, 0);
		const unsigned char *v = sqlite3_column_text(q, 0);
		if (n + 1 > cap) {
			rc = ST_ELIMIT;
		} else {
			memcpy(val, v, n);
			val[n] = '\0';
		}
	} else {
		rc = src == SQLITE_DONE ? ST_ENOTFOUND : ST_ESTORE;
	}
	sqlite3_reset(q);
out:
	sq_reader_put(s, r);
	return rc;
}

struct kv {
	const char *key, *val;
};

static int meta_set_job(struct sq_job *j)
{
	const struct kv *kv = j->arg;
	sqlite3_stmt *st = j->s->ws[W_META_SET];
	int rc = ST_OK;
	sqlite3_bind_text(st, 1, kv->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kv->val, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_diag(j->s->wdb, j->d, "meta");
	sqlite3_reset(st);
	return rc;
}

static int sq_meta_set(struct store *st, const char *key, const char *val)
{
	struct kv kv = {key, val};
	return sq_run_job(SQ(st), meta_set_job, &kv, NULL);
}

/* ------------------------------------------------------------------ */
/* Collections                                                          */
/* ------------------------------------------------------------------ */

static int coll_add_job(struct sq_job *j)
{
	struct store_collection *c = j->arg;
	sqlite3 *db = j->s->wdb;
	sqlite3_stmt *st = NULL;
	int rc = sq_prepare(db,
			    "SELECT id, alias FROM collections"
			    " WHERE id = ?1 OR alias = ?2",
			    &st, j->d);
	if (rc != ST_OK)
		return rc;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	if (c->alias[0] != '\0')
		sqlite3_bind_text(st, 2, c->alias, -1, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (strcmp(id, c->id) == 0)
			rc = diag_set(j->d, ST_EEXIST,
				      "collection %s already exists", c->id);
		else
			rc = diag_set(j->d, ST_EEXIST,
				      "collection alias '%s' is already used "
				      "by collection %s",
				      c->alias, id);
		goto out;
	} else if (src != SQLITE_DONE) {
		rc = sql_diag(db, j->d, "collection");
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = sq_prepare(db,
			"INSERT INTO collections(id, alias, title,"
			" description, media_types) VALUES(?1, ?2, ?3, ?4, ?5)",
			&st, j->d);
	if (rc != ST_OK)
		goto out;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	if (c->alias[0] != '\0')
		sqlite3_bind_text(st, 2, c->alias, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->title, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->media_types, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = sql_diag(db, j->d, "collection");
		goto out;
	}
	c->cid = sqlite3_last_insert_rowid(db);
out:
	sqlite3_finalize(st);
	return rc;
}

static int sq_collection_add(struct store *st, struct store_collection *c,
			     struct diag *d)
{
	return sq_run_job(SQ(st), coll_add_job, c, d);
}

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t != NULL ? (const char *)t : "");
}

/* Columns: cid, id, alias, title, description, media_types. */
static void row_to_collection(sqlite3_stmt *st, struct store_collection *c)
{
	c->cid = sqlite3_column_int64(st, 0);
	copy_text(c->id, sizeof(c->id), st, 1);
	copy_text(c->alias, sizeof(c->alias), st, 2);
	copy_text(c->title, sizeof(c->title), st, 3);
	copy_text(c->description, sizeof(c->description), st, 4);
	copy_text(c->media_types, sizeof(c->media_types), st, 5);
}

static int sq_collection_find(struct store *st, const char *id_or_alias,
			      struct store_collection *out)
{
	struct sq_store *s = SQ(st);
	struct sq_reader *r = sq_reader_get(s, NULL);
	sqlite3_stmt *q;
	int rc = ST_OK;
	if (r == NULL)
		return ST_ESTORE;
	q = sq_reader_stmt(r, R_COLL_FIND, NULL);
	if (q == NULL) {
		rc = ST_ESTORE;
		goto out;
	}
	sqlite3_bind_text(q, 1, id_or_alias, -1, SQLITE_STATIC);
	int src = sqlite3_step(q);
	if (src == SQLITE_ROW)
		row_to_collection(q, out);
	else
		rc = src == SQLITE_DONE ? ST_ENOTFOUND : ST_ESTORE;
	sqlite3_reset(q);
out:
	sq_reader_put(s, r);
	return rc;
}

static int sq_collection_list(struct store *st, store_collection_fn fn,
			      void *ctx)
{
	struct sq_store *s = SQ(st);
	struct store_collection *all = NULL;
	size_t n = 0, cap = 0;
	int rc = ST_OK, src;
	struct sq_reader *r = sq_reader_get(s, NULL);
	sqlite3_stmt *q;
	if (r == NULL)
		return ST_ESTORE;
	q = sq_reader_stmt(r, R_COLL_LIST, NULL);
	if (q == NULL) {
		rc = ST_ESTORE;
		goto out;
	}
	/* Copied out first: no read transaction is held while fn runs. */
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *p = realloc(all, ncap * sizeof(*all));
			if (p == NULL) {
				rc = ST_ENOMEM;
				break;
			}
			all = p;
			cap = ncap;
		}
		row_to_collection(q, &all[n++]);
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = ST_ESTORE;
	sqlite3_reset(q);
	sq_reader_put(s, r);
	r = NULL;
	for (size_t i = 0; rc == ST_OK && i < n; i++)
		rc = fn(ctx, &all[i]);
out:
	sq_reader_put(s, r);
	free(all);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Statistics and checks                                                */
/* ------------------------------------------------------------------ */

static uint64_t file_size(const char *path, const char *suffix)
{
	char p[4096];
	struct stat sb;
	snprintf(p, sizeof(p), "%s%s", path, suffix);
	if (stat(p, &sb) != 0)
		return 0;
	return (uint64_t)sb.st_size;
}

/* Steps a one-row statement, taking its first n columns as integers. */
static int step_ints(sqlite3_stmt *q, uint64_t *a, uint64_t *b)
{
	int rc = ST_OK;
	if (q == NULL)
		return ST_ESTORE;
	if (sqlite3_step(q) == SQLITE_ROW) {
		*a = (uint64_t)sqlite3_column_int64(q, 0);
		if (b != NULL)
			*b = (uint64_t)sqlite3_column_int64(q, 1);
	} else {
		rc = ST_ESTORE;
	}
	sqlite3_reset(q);
	return rc;
}

static int sq_stats(struct store *st, struct store_stats *out)
{
	struct sq_store *s = SQ(st);
	pthread_mutex_lock(&s->r_mu);
	out->readers = s->r_open; /* before this call takes one */
	out->readers_closed_idle = s->r_closed_idle;
	pthread_mutex_unlock(&s->r_mu);
	struct sq_reader *r = sq_reader_get(s, NULL);
	sqlite3_stmt *q = NULL;
	int rc;
	if (r == NULL)
		return ST_ESTORE;
	rc = sq_read_begin(r, NULL);
	if (rc != ST_OK)
		goto out;
	q = sq_reader_stmt(r, R_STATS_TYPES, NULL);
	rc = step_ints(q, &out->versions, &out->objects);
	if (rc == ST_OK)
		rc = step_ints(sq_reader_stmt(r, R_STATS_COLL, NULL),
			       &out->collections, NULL);
	if (rc == ST_OK)
		rc = step_ints(sq_reader_stmt(r, R_LAST_SEQ, NULL),
			       &out->last_seq, NULL);
	sq_read_end(r);
	out->db_bytes = file_size(s->path, "") + file_size(s->path, "-wal");
	pthread_mutex_lock(&s->mu);
	out->commits = s->commits;
	out->batches = s->batches;
	out->syncs = atomic_load(&s->syncs);
	out->status_uncommitted = s->as_queued;
	pthread_mutex_unlock(&s->mu);
out:
	sq_reader_put(s, r);
	return rc;
}

static int sq_memberships(struct store *st, uint64_t seq, int64_t *cids,
			  size_t cap, size_t *n, struct diag *d)
{
	struct sq_store *s = SQ(st);
	struct sq_reader *r = sq_reader_get(s, d);
	sqlite3_stmt *q;
	int rc = ST_OK, src;
	if (r == NULL)
		return ST_ESTORE;
	if ((q = sq_reader_stmt(r, R_MEMBERSHIPS, d)) == NULL) {
		sq_reader_put(s, r);
		return ST_ESTORE;
	}
	sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n < cap)
			cids[*n] = sqlite3_column_int64(q, 0);
		(*n)++;
	}
	if (src != SQLITE_DONE)
		rc = diag_set(d, ST_ESTORE, "memberships of seq %llu: %s",
			      (unsigned long long)seq, sqlite3_errmsg(r->db));
	sqlite3_reset(q);
	sq_reader_put(s, r);
	return rc;
}

struct type_count {
	char *name;
	uint64_t n;
};

static int sq_count_by_type(struct store *st, store_type_count_fn fn, void *ctx)
{
	struct sq_store *s = SQ(st);
	struct type_count *all = NULL;
	size_t n = 0, cap = 0;
	int rc = ST_OK, src;
	struct sq_reader *r = sq_reader_get(s, NULL);
	sqlite3_stmt *q;
	if (r == NULL)
		return ST_ESTORE;
	q = sq_reader_stmt(r, R_COUNT_TYPES, NULL);
	if (q == NULL) {
		rc = ST_ESTORE;
		goto out;
	}
	while ((src = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			void *p = realloc(all, ncap * sizeof(*all));
			if (p == NULL) {
				rc = ST_ENOMEM;
				break;
			}
			all = p;
			cap = ncap;
		}
		all[n].name = strdup((const char *)sqlite3_column_text(q, 0));
		all[n].n = (uint64_t)sqlite3_column_int64(q, 1);
		if (all[n++].name == NULL) {
			rc = ST_ENOMEM;
			break;
		}
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = ST_ESTORE;
	sqlite3_reset(q);
	sq_reader_put(s, r);
	r = NULL;
	for (size_t i = 0; rc == ST_OK && i < n; i++)
		rc = fn(ctx, all[i].name, all[i].n);
out:
	sq_reader_put(s, r);
	for (size_t i = 0; i < n; i++)
		free(all[i].name);
	free(all);
	return rc;
}

/* Invariants of the log; each query returns a row only on a violation. */
static const struct {
	const char *what;
	const char *sql;
} checks[] = {
    {"membership without a version",
     "SELECT m.seq FROM membership m"
     " WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.seq = m.seq)"
     " LIMIT 1"},
    {"membership in a missing collection",
     "SELECT m.cid FROM membership m WHERE NOT EXISTS"
     " (SELECT 1 FROM collections c WHERE c.cid = m.cid) LIMIT 1"},
    {"version of an unknown type",
     "SELECT v.seq FROM versions v WHERE NOT EXISTS"
     " (SELECT 1 FROM types t WHERE t.code = v.type) LIMIT 1"},
    {"type counters differ from the rows",
     "WITH c AS (SELECT type, count(*) AS nv, count(DISTINCT uuid) AS no"
     " FROM versions GROUP BY type)"
     " SELECT t.name FROM types t LEFT JOIN c ON c.type = t.code"
     " WHERE t.versions != coalesce(c.nv, 0)"
     " OR t.objects != coalesce(c.no, 0) LIMIT 1"},
    {"seq above its high-water mark",
     "SELECT 1 FROM meta WHERE key = 'store.last_seq'"
     " AND CAST(value AS INTEGER) <"
     " (SELECT coalesce(max(seq), 0) FROM versions)"},
    {"date_added above its high-water mark",
     "SELECT 1 FROM meta WHERE key = 'store.last_date'"
     " AND CAST(value AS INTEGER) <"
     " (SELECT coalesce(max(date_added), 0) FROM membership)"},
    {"removal date above the date_added high-water mark",
     "SELECT 1 FROM meta WHERE key = 'store.last_date'"
     " AND CAST(value AS INTEGER) <"
     " (SELECT coalesce(max(date), 0) FROM removals)"},
    {"removal of a version that is not in the log",
     "SELECT r.seq FROM removals r"
     " WHERE NOT EXISTS (SELECT 1 FROM versions v WHERE v.seq = r.seq)"
     " LIMIT 1"},
    {"membership flags differ from the versions",
     "SELECT m.seq FROM membership m CROSS JOIN versions v ON v.seq = m.seq"
     " WHERE m.mflags != (("
     " EXISTS (SELECT 1 FROM keys_main w CROSS JOIN membership mw"
     " ON mw.seq = w.seq AND mw.cid = m.cid WHERE w.uuid = v.uuid"
     " AND w.type = v.type AND w.version > v.version)"
     " OR"
     " EXISTS (SELECT 1 FROM keys_recent w CROSS JOIN membership mw"
     " ON mw.seq = w.seq AND mw.cid = m.cid WHERE w.uuid = v.uuid"
     " AND w.type = v.type AND w.version > v.version)"
     ") | (("
     " EXISTS (SELECT 1 FROM keys_main w CROSS JOIN membership mw"
     " ON mw.seq = w.seq AND mw.cid = m.cid WHERE w.uuid = v.uuid"
     " AND w.type = v.type AND w.version < v.version)"
     " OR"
     " EXISTS (SELECT 1 FROM keys_recent w CROSS JOIN membership mw"
     " ON mw.seq = w.seq AND mw.cid = m.cid WHERE w.uuid = v.uuid"
     " AND w.type = v.type AND w.version < v.version)"
     ") << 1)) LIMIT 1"},
    {"version without its key",
     "SELECT v.seq FROM versions v WHERE NOT EXISTS (SELECT 1 FROM keys_main k"
     " WHERE k.uuid = v.uuid AND k.type = v.type AND k.version = v.version"
     " AND k.seq = v.seq) AND NOT EXISTS (SELECT 1 FROM keys_recent k"
     " WHERE k.uuid = v.uuid AND k.type = v.type AND k.version = v.version"
     " AND k.seq = v.seq) LIMIT 1"},
    {"key without its version, or in both key tables",
     "SELECT k.seq FROM keys_main k WHERE NOT EXISTS (SELECT 1 FROM versions v"
     " WHERE v.seq = k.seq AND v.uuid = k.uuid AND v.type = k.type"
     " AND v.version = k.version) OR EXISTS (SELECT 1 FROM keys_recent r"
     " WHERE r.uuid = k.uuid AND r.type = k.type AND r.version = k.version)"
     " UNION ALL SELECT k.seq FROM keys_recent k WHERE NOT EXISTS"
     " (SELECT 1 FROM versions v WHERE v.seq = k.seq AND v.uuid = k.uuid"
     " AND v.type = k.type AND v.version = k.version) LIMIT 1"},
    {"a removed membership is still there",
     "SELECT r.seq FROM removals r JOIN membership m"
     " ON m.cid = r.cid AND m.date_added = r.date_added LIMIT 1"},
};

static int sq_check(struct store *st, struct diag *d)
{
	struct sq_store *s = SQ(st);
	struct sq_reader *r = sq_reader_get(s, d);
	sqlite3_stmt *q = NULL;
	int rc;
	if (r == NULL)
		return ST_ESTORE;
	rc = sq_read_begin(r, d);
	if (rc != ST_OK)
		goto out;
	rc = sq_prepare(r->db, "PRAGMA integrity_check(10)", &q, d);
	if (rc != ST_OK)
		goto end;
	if (sqlite3_step(q) != SQLITE_ROW) {
		rc = sql_diag(r->db, d, "integrity_check");
		goto end;
	}
	const char *res = (const char *)sqlite3_column_text(q, 0);
	if (strcmp(res, "ok") != 0) {
		rc = diag_set(d, ST_ESTORE, "%s: integrity: %s", s->path, res);
		goto end;
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		sqlite3_finalize(q);
		q = NULL;
		rc = sq_prepare(r->db, checks[i].sql, &q, d);
		if (rc != ST_OK)
			goto end;
		int src = sqlite3_step(q);
		if (src == SQLITE_ROW) {
			rc = diag_set(d, ST_ESTORE, "%s: %s (%s)", s->path,
				      checks[i].what,
				      (const char *)sqlite3_column_text(q, 0));
			goto end;
		}
		if (src != SQLITE_DONE) {
			rc = sql_diag(r->db, d, checks[i].what);
			goto end;
		}
	}
end:
	sqlite3_finalize(q);
	sq_read_end(r);
out:
	sq_reader_put(s, r);
	return rc;
}

const struct store_ops store_sqlite_ops = {
    .scheme = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .incarnation = sq_incarnation,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .collection_add = sq_collection_add,
    .collection_find = sq_collection_find,
    .collection_list = sq_collection_list,
    .submit = sq_submit,
    .wait = sq_wait,
    .query = sq_query,
    .stats = sq_stats,
    .count_by_type = sq_count_by_type,
    .held = sq_held,
    .memberships = sq_memberships,
    .check = sq_check,
    .page = sq_page,
    .remove = sq_remove,
    .status_put = sq_status_put,
    .status_put_async = sq_status_put_async,
    .status_get = sq_status_get,
    .status_purge = sq_status_purge,
    .wait_seq = sq_wait_seq,
    .wait_added = sq_wait_added,
    .log_read = sq_log_read,
};
