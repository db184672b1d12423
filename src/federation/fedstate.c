/*
 * strait: what federation keeps beside the store, in <home>/peers.db; see
 * fedstate.h.
 *
 * The file belongs to the peer registry (peers.c), whose schema_version
 * table says which of its migrations ran. This file's tables have their
 * own version table, fedstate_schema, so that the two sets of migrations
 * never count each other's versions. fedstate_open opens the registry
 * first: a new file is made by peers.c (0600, no symlink), and a file that
 * is not a strait peers database is refused before anything is added.
 *
 * The released sets (fed_released) are kept in memory, one sorted array of
 * seqs per peer, loaded from the file on first use for that peer; so are
 * the senders' cursors (a sender reads them several times per version),
 * each a copy of its row, changed after the commit that changed the row.
 * Lock order: the connection's mutex, then the rwlock of the sets and
 * cursors. What is in memory is changed only with both held, so a copy
 * read from the file under the mutex is never older than the memory.
 */
#include "federation/fedstate.h"

#include "common/buf.h"
#include "common/hash.h"
#include "common/json.h"
#include "common/log.h"
#include "common/sqlschema.h"
#include "common/time.h"
#include "federation/peers.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INCARNATION_MAX 64   /* bytes of a store incarnation id */
#define COLLECTION_MAX 256   /* bytes of a remote collection id */
#define BLOB_MAX (16u << 20) /* a quarantined object or attestation */
#define LIST_PAGE 256	     /* rows read per lock hold in listings */

/* The seqs released to one peer, ascending. */
struct relset {
	char peer[PEER_NAME_MAX];
	uint64_t *v;
	size_t n, cap;
};

/* A sender's cursor as its row in the file holds it (present false: no
 * row). */
struct curmem {
	char peer[PEER_NAME_MAX];
	int kind;
	bool present;
	char inc[INCARNATION_MAX + 1];
	uint64_t seq;
};

/* A peer's health record as this process last wrote or read it. */
struct healthmem {
	struct fed_health h;
	bool in_file;	/* the file has a record (maybe older: dirty) */
	bool dirty;	/* newer than the file */
	double written; /* time_mono of the last write to the file */
};

#define STMT_CACHE 128
#define CURSOR_MEM 64	   /* cursors kept; past that, read from the file */
#define HEALTH_MEM 64	   /* health records kept */
#define HEALTH_EVERY_S 1.0 /* counts reach the file at least this often */

struct fedstate {
	sqlite3 *db;
	pthread_mutex_t mu;  /* the connection */
	pthread_rwlock_t rw; /* sets and cursors */
	struct relset *sets; /* loaded sets, any order */
	size_t nsets, capsets;
	struct curmem cur[CURSOR_MEM]; /* cursors read or written */
	size_t ncur;
	struct healthmem health[HEALTH_MEM];
	size_t nhealth;
	char path[PATH_MAX];
	/* Prepared statements, kept for the life of the connection: the
	 * queries are string literals, so the text's address is the key
	 * (preparing each call was a visible share of the sender's time). */
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	size_t ncache;
	/* Whether the writes of the caller holding mu may skip waiting for
	 * the disk (they are made again after a power cut), and what the
	 * connection was last told (PRAGMA synchronous: FULL or NORMAL). */
	bool relaxed;
	bool sync_full;
	/* Checkpoints apart (fedstate_checkpoints_apart): their own
	 * connection, and the WAL's length after the last commit. */
	sqlite3 *ck;
	atomic_int wal_pages;
};

/* Frames in the WAL before the checkpointer copies them back: SQLite's
 * own default for its automatic checkpoints. */
#define CKPT_PAGES 1000

/* Tables of this file; a change is a new row, never an edit. */
static const struct sql_migration migrations[] = {
    {1, "CREATE TABLE provenance(id TEXT NOT NULL,"
	" version INTEGER NOT NULL,"
	" origin TEXT NOT NULL,"
	" peer TEXT NOT NULL,"
	" attestation TEXT NOT NULL,"
	" relay_green INTEGER NOT NULL,"
	" red TEXT NOT NULL," /* JSON array of identity ids */
	" sha256 BLOB NOT NULL,"
	" PRIMARY KEY(id, version));"
	/* The first origin bound to an id: rowids only grow (no row of
	 * provenance is ever deleted), so the least is the earliest. */
	"CREATE INDEX provenance_origin ON provenance(id)"
	" WHERE origin <> '';"
	"CREATE TABLE attestations(id TEXT PRIMARY KEY, json BLOB NOT NULL);"
	"CREATE TABLE cursors(peer TEXT NOT NULL, kind INTEGER NOT NULL,"
	" incarnation TEXT NOT NULL, seq INTEGER NOT NULL,"
	" PRIMARY KEY(peer, kind)) WITHOUT ROWID;"
	"CREATE TABLE released(peer TEXT NOT NULL, seq INTEGER NOT NULL,"
	" PRIMARY KEY(peer, seq)) WITHOUT ROWID;"
	"CREATE TABLE sent(rowid INTEGER PRIMARY KEY, peer TEXT NOT NULL,"
	" at INTEGER NOT NULL, path TEXT NOT NULL, count INTEGER NOT NULL,"
	" digest TEXT NOT NULL, first_id TEXT NOT NULL);"
	"CREATE INDEX sent_peer ON sent(peer, at);"
	"CREATE TABLE catchup(peer TEXT NOT NULL, collection TEXT NOT NULL,"
	" after INTEGER NOT NULL, PRIMARY KEY(peer, collection))"
	" WITHOUT ROWID;"
	"CREATE TABLE quarantine(qid INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL, peer TEXT NOT NULL, id TEXT NOT NULL,"
	" version TEXT NOT NULL, reason TEXT NOT NULL, cid INTEGER NOT NULL,"
	" object BLOB NOT NULL, attestation BLOB);"
	"CREATE INDEX quarantine_peer ON quarantine(peer);"
	"CREATE TABLE deadletter(did INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL, peer TEXT NOT NULL, seq INTEGER NOT NULL,"
	" id TEXT NOT NULL, version INTEGER NOT NULL,"
	" reason TEXT NOT NULL, skipped INTEGER NOT NULL);"
	"CREATE INDEX deadletter_peer ON deadletter(peer);"
	"CREATE TABLE health(peer TEXT PRIMARY KEY, identity TEXT NOT NULL,"
	" last_success INTEGER NOT NULL, last_error_at INTEGER NOT NULL,"
	" last_error TEXT NOT NULL, down_since INTEGER NOT NULL,"
	" sent INTEGER NOT NULL, received INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE policy_hash(peer TEXT PRIMARY KEY,"
	" hash TEXT NOT NULL) WITHOUT ROWID;"},
    /* Heads of partners' audit logs, kept as witnesses for them. */
    {2, "CREATE TABLE witness(peer TEXT NOT NULL, seq INTEGER NOT NULL,"
	" hash BLOB NOT NULL, at INTEGER NOT NULL, key_id TEXT NOT NULL,"
	" sig BLOB NOT NULL, received INTEGER NOT NULL,"
	" PRIMARY KEY(peer, seq, at)) WITHOUT ROWID;"},
};
#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

static const char *const sent_paths[] = {"push",   "catch-up", "taxii",
					 "stream", "export",   "liaison"};

/* ---- checks of what callers hand in ---- */

/* A NUL within the cap bytes of a fixed-size field. */
static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static int check_text(const char *s, size_t cap, bool empty_ok,
		      const char *what, struct diag *d)
{
	if (s == NULL || (!empty_ok && s[0] == '\0') || strlen(s) >= cap)
		return diag_set(d, ST_EINVAL,
				"%s: missing, or %zu bytes or more", what, cap);
	return ST_OK;
}

static int check_peer(const char *peer, struct diag *d)
{
	return peer_name_check(peer, d);
}

/* ---- the connection ---- */

/* A prepared statement for sql (a string literal), from the cache; give
 * it back with unprep(), never finalize it. */
static int exec(struct fedstate *f, const char *sql, struct diag *d);

/* Whether sql begins a write (a transaction, or one autocommit change). */
static bool begins_write(const char *sql)
{
	static const char *const verbs[] = {"BEGIN", "INSERT", "DELETE",
					    "UPDATE", "REPLACE"};
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strncmp(sql, verbs[i], strlen(verbs[i])) == 0)
			return true;
	return false;
}

/*
 * Every statement is prepared here, so every write gets its durability
 * here: FULL (the commit returns once on disk) unless the caller set
 * relaxed. The connection is told only when that changes: a PRAGMA
 * synchronous is compiled again at each run (SQLite expires it), which
 * around every relaxed transaction was a visible share of a sender's time.
 */
static int prep(struct fedstate *f, const char *sql, sqlite3_stmt **st,
		struct diag *d)
{
	*st = NULL;
	if (begins_write(sql) && f->sync_full == f->relaxed) {
		int rc = exec(f,
			      f->relaxed ? "PRAGMA synchronous=NORMAL"
					 : "PRAGMA synchronous=FULL",
			      d);
		if (rc != ST_OK)
			return rc;
		f->sync_full = !f->relaxed;
	}
	for (size_t i = 0; i < f->ncache; i++) {
		if (f->cache[i].sql == sql) {
			*st = f->cache[i].st;
			return ST_OK;
		}
	}
	unsigned flags = f->ncache < STMT_CACHE ? SQLITE_PREPARE_PERSISTENT : 0;
	if (sqlite3_prepare_v3(f->db, sql, -1, flags, st, NULL) != SQLITE_OK)
		return sql_diag(f->db, d, "federation state");
	if (f->ncache < STMT_CACHE) {
		f->cache[f->ncache].sql = sql;
		f->cache[f->ncache].st = *st;
		f->ncache++;
	}
	return ST_OK;
}

/* Gives a statement from prep() back: reset for its next use (a
 * statement that did not fit in the cache is finalized). */
static void unprep(struct fedstate *f, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < f->ncache; i++) {
		if (f->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	}
	sqlite3_finalize(st);
}

/* Runs sql, one statement (a string literal), prepared once (BEGIN and
 * COMMIT run around every transaction). */
static int exec(struct fedstate *f, const char *sql, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(f, sql, &st, d);
	if (rc != ST_OK)
		return rc;
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (src != SQLITE_DONE)
		rc = sql_diag(f->db, d, "federation state");
	unprep(f, st);
	return rc;
}

/* Runs sql, any number of statements, compiled for this one use
 * (opening, migrations). */
static int exec_many(struct fedstate *f, const char *sql, struct diag *d)
{
	if (sqlite3_exec(f->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sql_diag(f->db, d, "federation state");
	return ST_OK;
}

/* Steps a statement that returns no row. */
static int step_done(struct fedstate *f, sqlite3_stmt *st, const char *what,
		     struct diag *d)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return sql_diag(f->db, d, what);
	sqlite3_reset(st);
	return ST_OK;
}

/* Ends the transaction begun with BEGIN IMMEDIATE: commits when rc is
 * ST_OK, else rolls back. Returns the outcome. */
static int end_tx(struct fedstate *f, int rc, struct diag *d)
{
	if (rc == ST_OK)
		rc = exec(f, "COMMIT", d);
	if (rc != ST_OK && !sqlite3_get_autocommit(f->db))
		sqlite3_exec(f->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", s != NULL ? s : "");
}

/* Brings this file's tables to the last migration, under their own
 * version table (schema_version is the registry's). */
static int migrate(struct fedstate *f, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int64_t cur = 0;
	/* Up to date already (every open but the first): no write lock,
	 * which a running server's writers would wait behind (a CLI
	 * command's open once held them up by a busy wait per call). */
	if (sql_query_int(f->db, "SELECT max(version) FROM fedstate_schema", 0,
			  &cur, NULL) == ST_OK &&
	    cur == migrations[NMIGRATIONS - 1].version)
		return ST_OK;
	cur = 0;
	int rc = exec(f, "BEGIN IMMEDIATE", d);
	if (rc != ST_OK)
		return rc;
	rc = exec_many(f,
		       "CREATE TABLE IF NOT EXISTS fedstate_schema("
		       "version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
		       d);
	if (rc == ST_OK)
		rc = sql_query_int(f->db,
				   "SELECT max(version) FROM fedstate_schema",
				   0, &cur, d);
	if (rc != ST_OK)
		goto out;
	int latest = migrations[NMIGRATIONS - 1].version;
	if (cur > latest) {
		rc = diag_set(d, ST_ESTORE,
			      "%s: federation state version %lld is newer "
			      "than this program's (%d)",
			      f->path, (long long)cur, latest);
		goto out;
	}
	if ((rc = prep(f,
		       "INSERT INTO fedstate_schema(version, applied)"
		       " VALUES(?1, ?2)",
		       &st, d)) != ST_OK)
		goto out;
	for (size_t i = 0; i < NMIGRATIONS; i++) {
		if (migrations[i].version <= cur)
			continue;
		if ((rc = exec_many(f, migrations[i].sql, d)) != ST_OK) {
			diag_prefix(d, "federation state migration %d",
				    migrations[i].version);
			goto out;
		}
		sqlite3_bind_int(st, 1, migrations[i].version);
		sqlite3_bind_int64(st, 2, time_now());
		if ((rc = step_done(f, st, "fedstate_schema", d)) != ST_OK)
			goto out;
	}
out:
	unprep(f, st);
	return end_tx(f, rc, d);
}

int fedstate_open(const char *home, struct fedstate **out, struct diag *d)
{
	if (out == NULL || home == NULL || home[0] == '\0')
		return diag_set(d, ST_EINVAL, "fedstate_open: no home");
	*out = NULL;
	if (sodium_init() < 0)
		return diag_set(d, ST_EIO, "libsodium did not start");
	/* The registry makes the file (0600) or checks it is one of ours. */
	struct peers *reg = NULL;
	int rc = peers_open(home, &reg, d);
	peers_close(reg);
	if (rc != ST_OK)
		return rc;
	struct fedstate *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	if (pthread_mutex_init(&f->mu, NULL) != 0) {
		free(f);
		return diag_set(d, ST_ENOMEM, "federation state: no mutex");
	}
	if (pthread_rwlock_init(&f->rw, NULL) != 0) {
		pthread_mutex_destroy(&f->mu);
		free(f);
		return diag_set(d, ST_ENOMEM, "federation state: no lock");
	}
	if ((size_t)snprintf(f->path, sizeof(f->path), "%s/peers.db", home) >=
	    sizeof(f->path)) {
		fedstate_close(f);
		return diag_set(d, ST_EINVAL, "%s: path too long", home);
	}
	/* No SQLITE_OPEN_CREATE: the registry made the file above. */
	if (sqlite3_open_v2(f->path, &f->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		rc = sql_diag(f->db, d, f->path);
		goto out;
	}
	sqlite3_busy_timeout(f->db, 5000);
	/* WAL lets the CLI read while serve writes; FULL makes each commit
	 * durable when it returns, WAL or not. */
	/* A page cache that holds the hot part of provenance (keyed by
	 * object id, so written all over the tree), and reads through mmap. */
	if ((rc = exec_many(f, "PRAGMA journal_mode=WAL", d)) != ST_OK ||
	    (rc = exec_many(f, "PRAGMA synchronous=FULL", d)) != ST_OK ||
	    (rc = exec_many(f, "PRAGMA cache_size=-65536", d)) != ST_OK ||
	    (rc = exec_many(f, "PRAGMA mmap_size=268435456", d)) != ST_OK)
		goto out;
	f->sync_full = true;
	rc = migrate(f, d);
	if (rc != ST_OK)
		diag_prefix(d, "%s", f->path);
out:
	if (rc != ST_OK) {
		fedstate_close(f);
		return rc;
	}
	*out = f;
	return ST_OK;
}

static void sets_clear(struct fedstate *f)
{
	for (size_t i = 0; i < f->nsets; i++)
		free(f->sets[i].v);
	free(f->sets);
	f->sets = NULL;
	f->nsets = f->capsets = 0;
}

void fedstate_close(struct fedstate *f)
{
	if (f == NULL)
		return;
	fed_health_flush(f, true);
	for (size_t i = 0; i < f->ncache; i++)
		sqlite3_finalize(f->cache[i].st);
	sqlite3_close(f->db);
	sqlite3_close(f->ck);
	sets_clear(f);
	pthread_rwlock_destroy(&f->rw);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

/* Called by SQLite after each commit of f->db, in place of its automatic
 * checkpoint. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	(void)db;
	(void)name;
	atomic_store(&((struct fedstate *)arg)->wal_pages, pages);
	return SQLITE_OK;
}

int fedstate_checkpoints_apart(struct fedstate *f, struct diag *d)
{
	if (f == NULL || f->ck != NULL)
		return f == NULL ? diag_set(d, ST_EINVAL, "no state") : ST_OK;
	/* journal_mode (WAL already): the connection reads the file, so a
	 * checkpoint then knows the WAL is there. */
	if (sqlite3_open_v2(f->path, &f->ck,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(f->ck, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) !=
		SQLITE_OK) {
		int rc = sql_diag(f->ck, d, f->path);
		sqlite3_close(f->ck);
		f->ck = NULL;
		return rc;
	}
	pthread_mutex_lock(&f->mu);
	sqlite3_wal_hook(f->db, wal_hook, f); /* no automatic checkpoint */
	pthread_mutex_unlock(&f->mu);
	return ST_OK;
}

void fedstate_checkpoint_due(struct fedstate *f)
{
	if (f == NULL || f->ck == NULL ||
	    atomic_load(&f->wal_pages) < CKPT_PAGES)
		return;
	/* The next commit restarts the WAL and tells its length again. */
	atomic_store(&f->wal_pages, 0);
	int rc = sqlite3_wal_checkpoint_v2(
	    f->ck, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warn("federation", "%s: checkpoint: %s", f->path,
			 sqlite3_errmsg(f->ck));
}

/* ---- released sets in memory (callers hold rw) ---- */

static struct relset *set_find(struct fedstate *f, const char *peer)
{
	for (size_t i = 0; i < f->nsets; i++)
		if (strcmp(f->sets[i].peer, peer) == 0)
			return &f->sets[i];
	return NULL;
}

/* Index of the first element >= seq. */
static size_t set_lower(const struct relset *s, uint64_t seq)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->v[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool set_has(const struct relset *s, uint64_t seq)
{
	size_t i = set_lower(s, seq);
	return i < s->n && s->v[i] == seq;
}

/* Adds seq, keeping the order; cheap for the usual ascending arrival. */
static int set_add(struct relset *s, uint64_t seq)
{
	size_t i = s->n;
	if (s->n > 0 && seq <= s->v[s->n - 1]) {
		i = set_lower(s, seq);
		if (i < s->n && s->v[i] == seq)
			return ST_OK;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *v = realloc(s->v, cap * sizeof(*v));
		if (v == NULL)
			return ST_ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	memmove(s->v + i + 1, s->v + i, (s->n - i) * sizeof(*s->v));
	s->v[i] = seq;
	s->n++;
	return ST_OK;
}

/* Forgets the set of peer (it is loaded again from the file on use). */
static void set_drop(struct fedstate *f, const char *peer)
{
	struct relset *s = set_find(f, peer);
	if (s == NULL)
		return;
	free(s->v);
	*s = f->sets[--f->nsets];
}

/* Empties the loaded set of peer (the file's set is empty too). */
static void set_empty(struct fedstate *f, const char *peer)
{
	struct relset *s = set_find(f, peer);
	if (s != NULL)
		s->n = 0;
}

static void health_drop(struct fedstate *f, const char *peer);

/* ---- cursors in memory (callers hold rw; writers mu too) ---- */

static struct curmem *cur_find(struct fedstate *f, const char *peer, int kind)
{
	for (size_t i = 0; i < f->ncur; i++)
		if (f->cur[i].kind == kind && strcmp(f->cur[i].peer, peer) == 0)
			return &f->cur[i];
	return NULL;
}

/* Keeps the copy of a row (inc NULL: the file has none); when the memory
 * is full the cursor is not kept, and is read from the file. */
static void cur_put(struct fedstate *f, const char *peer, int kind,
		    const char *inc, uint64_t seq)
{
	struct curmem *c = cur_find(f, peer, kind);
	if (c == NULL) {
		if (f->ncur == CURSOR_MEM)
			return;
		c = &f->cur[f->ncur++];
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		c->kind = kind;
	}
	c->present = inc != NULL;
	snprintf(c->inc, sizeof(c->inc), "%s", inc != NULL ? inc : "");
	c->seq = inc != NULL ? seq : 0;
}

/* Forgets the cursors of peer (NULL: of every peer): read from the file
 * on next use. */
static void cur_drop(struct fedstate *f, const char *peer)
{
	for (size_t i = 0; i < f->ncur;) {
		if (peer == NULL || strcmp(f->cur[i].peer, peer) == 0)
			f->cur[i] = f->cur[--f->ncur];
		else
			i++;
	}
}

/* Reads the released set of peer from the file and installs it, unless
 * another thread did first. Called with mu held. */
static int set_load(struct fedstate *f, const char *peer)
{
	struct relset s = {0};
	sqlite3_stmt *st = NULL;
	int rc =
	    prep(f, "SELECT seq FROM released WHERE peer = ?1 ORDER BY seq",
		 &st, NULL);
	if (rc != ST_OK)
		return rc;
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
	int src;
	while (rc == ST_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = set_add(&s, (uint64_t)sqlite3_column_int64(st, 0));
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = ST_ESTORE;
	unprep(f, st);
	if (rc == ST_OK) {
		pthread_rwlock_wrlock(&f->rw);
		if (set_find(f, peer) == NULL) {
			if (f->nsets == f->capsets) {
				size_t cap = f->capsets ? f->capsets * 2 : 8;
				struct relset *v =
				    realloc(f->sets, cap * sizeof(*v));
				if (v == NULL)
					rc = ST_ENOMEM;
				else {
					f->sets = v;
					f->capsets = cap;
				}
			}
			if (rc == ST_OK) {
				f->sets[f->nsets++] = s;
				s.v = NULL;
			}
		}
		pthread_rwlock_unlock(&f->rw);
	}
	free(s.v);
	return rc;
}

/* Finds the loaded set of peer (loading it on first use) and calls fn on
 * it under the read lock; false when it cannot be read. */
static bool with_set(struct fedstate *f, const char *peer,
		     bool (*fn)(const struct relset *, uint64_t, uint64_t *),
		     uint64_t seq, uint64_t *out)
{
	if (f == NULL || peer == NULL)
		return false;
	for (int pass = 0; pass < 2; pass++) {
		pthread_rwlock_rdlock(&f->rw);
		const struct relset *s = set_find(f, peer);
		bool known = s != NULL, has = known && fn(s, seq, out);
		pthread_rwlock_unlock(&f->rw);
		if (known)
			return has;
		if (pass == 1 || peer_name_check(peer, NULL) != ST_OK)
			break;
		pthread_mutex_lock(&f->mu);
		int rc = set_load(f, peer);
		pthread_mutex_unlock(&f->mu);
		if (rc != ST_OK)
			break; /* unreadable: nothing counts as released */
	}
	return false;
}

static bool has_fn(const struct relset *s, uint64_t seq, uint64_t *out)
{
	(void)out;
	return set_has(s, seq);
}

static bool next_fn(const struct relset *s, uint64_t after, uint64_t *out)
{
	if (after == UINT64_MAX)
		return false;
	size_t i = set_lower(s, after + 1);
	if (i == s->n)
		return false;
	*out = s->v[i];
	return true;
}

bool fed_released(struct fedstate *f, const char *peer, uint64_t seq)
{
	return with_set(f, peer, has_fn, seq, NULL);
}

bool fed_released_next(struct fedstate *f, const char *peer, uint64_t after,
		       uint64_t *next)
{
	return with_set(f, peer, next_fn, after, next);
}

/* ---- provenance ---- */

static int prov_check(const struct fed_prov *p, struct diag *d)
{
	int rc;
	if (!terminated(p->id, sizeof(p->id)) || p->id[0] == '\0')
		return diag_set(d, ST_EINVAL, "provenance: no id");
	if (!terminated(p->origin, sizeof(p->origin)) ||
	    !terminated(p->attestation, sizeof(p->attestation)))
		return diag_set(d, ST_EINVAL,
				"provenance of %s: origin or attestation "
				"too long",
				p->id);
	if (!terminated(p->peer, sizeof(p->peer)) ||
	    (rc = check_peer(p->peer, d)) != ST_OK)
		return diag_set(d, ST_EINVAL, "provenance of %s: bad peer name",
				p->id);
	if (p->n_red > FED_MAX_RED || (p->n_red > 0 && p->red == NULL))
		return diag_set(d, ST_EINVAL,
				"provenance of %s: %zu RED recipients (at "
				"most %d)",
				p->id, p->n_red, FED_MAX_RED);
	for (size_t i = 0; i < p->n_red; i++)
		if (!terminated(p->red[i], STIX_ID_MAX) || p->red[i][0] == '\0')
			return diag_set(d, ST_EINVAL,
					"provenance of %s: RED recipient %zu "
					"empty or too long",
					p->id, i);
	return ST_OK;
}

static int red_json(const struct fed_prov *p, struct buf *b, struct diag *d)
{
	struct jw w;
	buf_reset(b);
	jw_init(&w, b);
	jw_arr_open(&w);
	for (size_t i = 0; i < p->n_red; i++)
		jw_str(&w, p->red[i]);
	jw_arr_close(&w);
	int rc = jw_finish(&w);
	if (rc != ST_OK)
		return diag_set(d, rc, "provenance of %s: RED recipients: %s",
				p->id, st_strerror(rc));
	return ST_OK;
}

int fed_prov_put(struct fedstate *f, const struct fed_prov *p, size_t n,
		 const struct fed_attestation *att, size_t natt, struct diag *d)
{
	if (f == NULL || (n > 0 && p == NULL) || (natt > 0 && att == NULL))
		return diag_set(d, ST_EINVAL, "fed_prov_put: NULL argument");
	int rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = prov_check(&p[i], d)) != ST_OK)
			return rc;
	for (size_t i = 0; i < natt; i++)
		if (att[i].id == NULL || att[i].id[0] == '\0' ||
		    strlen(att[i].id) >= STIX_ID_MAX || att[i].json == NULL ||
		    att[i].len == 0 || att[i].len > BLOB_MAX)
			return diag_set(d, ST_EINVAL,
					"attestation %zu: no id, or no JSON, "
					"or more than %u bytes",
					i, BLOB_MAX);
	if (n == 0 && natt == 0)
		return ST_OK;
	struct buf red = BUF_INIT(1 << 20);
	sqlite3_stmt *ps = NULL, *as = NULL;
	pthread_mutex_lock(&f->mu);
	/* Not waiting for the disk: what was received is marked foreign
	 * in the store's own (durable) commit, so a record lost to a power
	 * cut leaves a version that still reads as another node's. */
	f->relaxed = true;
	if ((rc = exec(f, "BEGIN IMMEDIATE", d)) != ST_OK)
		goto unlock;
	rc = prep(f,
		  "INSERT OR IGNORE INTO provenance(id, version, origin, peer,"
		  " attestation, relay_green, red, sha256)"
		  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		  &ps, d);
	if (rc == ST_OK)
		rc = prep(f,
			  "INSERT OR IGNORE INTO attestations(id, json)"
			  " VALUES(?1, ?2)",
			  &as, d);
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		if ((rc = red_json(&p[i], &red, d)) != ST_OK)
			break;
		sqlite3_bind_text(ps, 1, p[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ps, 2, p[i].version);
		sqlite3_bind_text(ps, 3, p[i].origin, -1, SQLITE_STATIC);
		sqlite3_bind_text(ps, 4, p[i].peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(ps, 5, p[i].attestation, -1, SQLITE_STATIC);
		sqlite3_bind_int(ps, 6, p[i].relay_green);
		sqlite3_bind_text(ps, 7, red.data, (int)red.len, SQLITE_STATIC);
		sqlite3_bind_blob(ps, 8, p[i].sha256, sizeof(p[i].sha256),
				  SQLITE_STATIC);
		rc = step_done(f, ps, "provenance", d);
	}
	for (size_t i = 0; rc == ST_OK && i < natt; i++) {
		sqlite3_bind_text(as, 1, att[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(as, 2, att[i].json, (int)att[i].len,
				  SQLITE_STATIC);
		rc = step_done(f, as, "attestation", d);
	}
	unprep(f, ps);
	unprep(f, as);
	rc = end_tx(f, rc, d);
unlock:
	f->relaxed = false;
	pthread_mutex_unlock(&f->mu);
	buf_free(&red);
	return rc;
}

/* Parses the stored RED list into out->red. */
static int red_parse(const char *text, size_t len, struct fed_prov *out)
{
	struct json_doc *doc = json_doc_new();
	const struct json_val *root = NULL;
	int rc = doc != NULL ? ST_OK : ST_ENOMEM;
	if (rc == ST_OK)
		rc = json_parse(doc, text, len, 0, NULL, &root, NULL);
	if (rc == ST_OK && root->type != JSON_ARRAY)
		rc = ST_ESTORE;
	size_t n = rc == ST_OK ? root->len : 0;
	if (n > FED_MAX_RED)
		rc = ST_ESTORE;
	if (rc == ST_OK && n > 0 &&
	    (out->red = calloc(n, sizeof(*out->red))) == NULL)
		rc = ST_ENOMEM;
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		const struct json_val *v = &root->u.items[i];
		if (v->type != JSON_STRING || v->len >= STIX_ID_MAX) {
			rc = ST_ESTORE;
			break;
		}
		memcpy(out->red[i], v->u.str, v->len);
		out->red[i][v->len] = '\0';
		out->n_red++;
	}
	json_doc_free(doc);
	return rc;
}

int fed_prov_get(struct fedstate *f, const char *id, st_time version,
		 struct fed_prov *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (f == NULL || out == NULL || id == NULL || id[0] == '\0' ||
	    strlen(id) >= STIX_ID_MAX)
		return ST_EINVAL;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	int rc = prep(f,
		      "SELECT origin, peer, attestation, relay_green, red,"
		      " sha256 FROM provenance WHERE id = ?1 AND version = ?2",
		      &st, NULL);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, version);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			snprintf(out->id, sizeof(out->id), "%s", id);
			out->version = version;
			copy_col(out->origin, sizeof(out->origin), st, 0);
			copy_col(out->peer, sizeof(out->peer), st, 1);
			copy_col(out->attestation, sizeof(out->attestation), st,
				 2);
			out->relay_green = sqlite3_column_int(st, 3) != 0;
			if (sqlite3_column_bytes(st, 5) == 32)
				memcpy(out->sha256, sqlite3_column_blob(st, 5),
				       32);
			const char *red =
			    (const char *)sqlite3_column_text(st, 4);
			rc =
			    red_parse(red != NULL ? red : "[]",
				      (size_t)sqlite3_column_bytes(st, 4), out);
		} else {
			rc = src == SQLITE_DONE ? ST_ENOTFOUND : ST_ESTORE;
		}
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	if (rc != ST_OK)
		fed_prov_free(out);
	return rc;
}

void fed_prov_free(struct fed_prov *p)
{
	if (p == NULL)
		return;
	free(p->red);
	p->red = NULL;
	p->n_red = 0;
}

int fed_origin_of(struct fedstate *f, const char *id, char *origin)
{
	if (origin != NULL)
		origin[0] = '\0';
	if (f == NULL || id == NULL || origin == NULL || id[0] == '\0' ||
	    strlen(id) >= STIX_ID_MAX)
		return ST_EINVAL;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	int rc = prep(f,
		      "SELECT origin FROM provenance"
		      " WHERE id = ?1 AND origin <> '' ORDER BY rowid LIMIT 1",
		      &st, NULL);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			copy_col(origin, STIX_ID_MAX, st, 0);
		else
			rc = src == SQLITE_DONE ? ST_ENOTFOUND : ST_ESTORE;
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int fed_attestation_get(struct fedstate *f, const char *id, char **json,
			size_t *len)
{
	if (json != NULL)
		*json = NULL;
	if (len != NULL)
		*len = 0;
	if (f == NULL || id == NULL || json == NULL || len == NULL ||
	    id[0] == '\0' || strlen(id) >= STIX_ID_MAX)
		return ST_EINVAL;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	int rc =
	    prep(f, "SELECT json FROM attestations WHERE id = ?1", &st, NULL);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			size_t n = (size_t)sqlite3_column_bytes(st, 0);
			const void *b = sqlite3_column_blob(st, 0);
			if ((*json = malloc(n + 1)) == NULL) {
				rc = ST_ENOMEM;
			} else {
				if (n > 0)
					memcpy(*json, b, n);
				(*json)[n] = '\0';
				*len = n;
			}
		} else {
			rc = src == SQLITE_DONE ? ST_ENOTFOUND : ST_ESTORE;
		}
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* ---- cursors and the released sets ---- */

static int check_incarnation(const char *inc, struct diag *d)
{
	return check_text(inc, INCARNATION_MAX, false, "store incarnation", d);
}

int fed_cursor_get(struct fedstate *f, const char *peer,
		   const char *incarnation, enum fed_cursor which,
		   uint64_t *seq)
{
	if (seq != NULL)
		*seq = 0;
	if (f == NULL || seq == NULL || check_peer(peer, NULL) != ST_OK ||
	    check_incarnation(incarnation, NULL) != ST_OK ||
	    (which != FED_DECIDED && which != FED_DELIVERED))
		return ST_EINVAL;
	pthread_rwlock_rdlock(&f->rw);
	const struct curmem *c = cur_find(f, peer, (int)which);
	if (c != NULL && c->present && strcmp(c->inc, incarnation) == 0)
		*seq = c->seq;
	pthread_rwlock_unlock(&f->rw);
	if (c != NULL)
		return ST_OK;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	int rc = prep(f,
		      "SELECT incarnation, seq FROM cursors WHERE peer = ?1"
		      " AND kind = ?2",
		      &st, NULL);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)which);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW || src == SQLITE_DONE) {
			const char *inc =
			    src == SQLITE_ROW
				? (const char *)sqlite3_column_text(st, 0)
				: NULL;
			uint64_t v = src == SQLITE_ROW
					 ? (uint64_t)sqlite3_column_int64(st, 1)
					 : 0;
			if (src == SQLITE_ROW && inc == NULL)
				inc = "";
			if (inc != NULL && strcmp(inc, incarnation) == 0)
				*seq = v;
			pthread_rwlock_wrlock(&f->rw);
			cur_put(f, peer, (int)which, inc, v);
			pthread_rwlock_unlock(&f->rw);
		} else {
			rc = ST_ESTORE;
		}
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* Moves a cursor (inside the caller's transaction). */
static int cursor_set(struct fedstate *f, const char *peer,
		      const char *incarnation, enum fed_cursor which,
		      uint64_t seq, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(f,
		      "INSERT OR REPLACE INTO cursors(peer, kind, incarnation,"
		      " seq) VALUES(?1, ?2, ?3, ?4)",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, (int)which);
		sqlite3_bind_text(st, 3, incarnation, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)seq);
		rc = step_done(f, st, "cursor", d);
	}
	unprep(f, st);
	return rc;
}

/* Runs sql with ?1 bound to peer (a DELETE of the peer's rows). */
static int peer_exec(struct fedstate *f, const char *sql, const char *peer,
		     struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(f, sql, &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		rc = step_done(f, st, "federation state", d);
	}
	unprep(f, st);
	return rc;
}

/* Whether the peer's DECIDED cursor was kept for another incarnation (its
 * released set then names seqs of another log). */
static int other_incarnation(struct fedstate *f, const char *peer,
			     const char *incarnation, bool *other,
			     struct diag *d)
{
	sqlite3_stmt *st = NULL;
	*other = false;
	pthread_rwlock_rdlock(&f->rw);
	const struct curmem *c = cur_find(f, peer, FED_DECIDED);
	if (c != NULL)
		*other = c->present && strcmp(c->inc, incarnation) != 0;
	pthread_rwlock_unlock(&f->rw);
	if (c != NULL)
		return ST_OK; /* mu is held: the copy is the file's */
	int rc = prep(f,
		      "SELECT incarnation FROM cursors WHERE peer = ?1 AND"
		      " kind = ?2",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, FED_DECIDED);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			const char *inc =
			    (const char *)sqlite3_column_text(st, 0);
			*other = inc == NULL || strcmp(inc, incarnation) != 0;
		} else if (src != SQLITE_DONE) {
			rc = sql_diag(f->db, d, "cursor");
		}
	}
	unprep(f, st);
	return rc;
}

int fed_decided(struct fedstate *f, const char *peer, const char *incarnation,
		uint64_t cursor, const uint64_t *seqs, size_t n, struct diag *d)
{
	int rc;
	if (f == NULL || (n > 0 && seqs == NULL))
		return diag_set(d, ST_EINVAL, "fed_decided: NULL argument");
	if ((rc = check_peer(peer, d)) != ST_OK ||
	    (rc = check_incarnation(incarnation, d)) != ST_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	bool other = false;
	pthread_mutex_lock(&f->mu);
	/* Decisions and delivery cursors are re-made after a power loss
	 * (the sender decides and delivers again; receivers deduplicate):
	 * their commits need not wait for the disk. Provenance does (it is
	 * written with the default, FULL). */
	f->relaxed = true;
	if ((rc = exec(f, "BEGIN IMMEDIATE", d)) != ST_OK)
		goto unlock;
	rc = other_incarnation(f, peer, incarnation, &other, d);
	if (rc == ST_OK && other)
		rc = peer_exec(f, "DELETE FROM released WHERE peer = ?1", peer,
			       d);
	if (rc == ST_OK)
		rc = prep(f,
			  "INSERT OR IGNORE INTO released(peer, seq)"
			  " VALUES(?1, ?2)",
			  &st, d);
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)seqs[i]);
		rc = step_done(f, st, "released", d);
	}
	unprep(f, st);
	if (rc == ST_OK)
		rc = cursor_set(f, peer, incarnation, FED_DECIDED, cursor, d);
	rc = end_tx(f, rc, d);
	if (rc == ST_OK) {
		/* Durable: now the loaded set, if any, follows. */
		pthread_rwlock_wrlock(&f->rw);
		cur_put(f, peer, FED_DECIDED, incarnation, cursor);
		struct relset *s = set_find(f, peer);
		if (s != NULL && other)
			s->n = 0;
		for (size_t i = 0; s != NULL && i < n; i++)
			if (set_add(s, seqs[i]) != ST_OK) {
				set_drop(f, peer); /* reloaded on next use */
				break;
			}
		pthread_rwlock_unlock(&f->rw);
	}
unlock:
	f->relaxed = false;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int fed_adopt_incarnation(struct fedstate *f, const char *incarnation,
			  struct diag *d)
{
	if (f == NULL)
		return diag_set(d, ST_EINVAL, "fed_adopt_incarnation: NULL");
	int rc = check_incarnation(incarnation, d);
	if (rc != ST_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	if ((rc = exec(f, "BEGIN IMMEDIATE", d)) != ST_OK)
		goto unlock;
	rc = prep(f,
		  "DELETE FROM released WHERE peer IN (SELECT peer FROM"
		  " cursors WHERE kind = ?2 AND incarnation <> ?1)",
		  &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, incarnation, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, FED_DECIDED);
		rc = step_done(f, st, "released", d);
	}
	unprep(f, st);
	if (rc == ST_OK)
		rc = prep(f, "DELETE FROM cursors WHERE incarnation <> ?1", &st,
			  d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, incarnation, -1, SQLITE_STATIC);
		rc = step_done(f, st, "cursors", d);
		unprep(f, st);
	}
	rc = end_tx(f, rc, d);
	pthread_rwlock_wrlock(&f->rw);
	cur_drop(f, NULL);
	if (rc == ST_OK)
		sets_clear(f); /* loaded again on use */
	pthread_rwlock_unlock(&f->rw);
unlock:
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int fed_queue_depth(struct fedstate *f, const char *peer,
		    const char *incarnation, uint64_t *n, struct diag *d)
{
	if (n != NULL)
		*n = 0;
	if (f == NULL || n == NULL)
		return diag_set(d, ST_EINVAL, "fed_queue_depth: NULL");
	int rc;
	if ((rc = check_peer(peer, d)) != ST_OK ||
	    (rc = check_incarnation(incarnation, d)) != ST_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	rc = prep(f,
		  "SELECT count(*) FROM released WHERE peer = ?1"
		  " AND seq > coalesce((SELECT seq FROM cursors WHERE"
		  " peer = ?1 AND kind = ?3 AND incarnation = ?2), 0)"
		  " AND EXISTS (SELECT 1 FROM cursors WHERE peer = ?1"
		  " AND kind = ?4 AND incarnation = ?2)",
		  &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, incarnation, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, FED_DELIVERED);
		sqlite3_bind_int(st, 4, FED_DECIDED);
		if (sqlite3_step(st) == SQLITE_ROW)
			*n = (uint64_t)sqlite3_column_int64(st, 0);
		else
			rc = sql_diag(f->db, d, "queue");
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* ---- releases ---- */

static int check_path(const char *path, struct diag *d)
{
	for (size_t i = 0;
	     path != NULL && i < sizeof(sent_paths) / sizeof(sent_paths[0]);
	     i++)
		if (strcmp(path, sent_paths[i]) == 0)
			return ST_OK;
	return diag_set(d, ST_EINVAL,
			"release path '%.20s': push, catch-up, taxii, stream, "
			"export or liaison",
			path != NULL ? path : "");
}

static int check_items(const struct fed_sent_item *items, size_t n,
		       struct diag *d)
{
	if (n > 0 && items == NULL)
		return diag_set(d, ST_EINVAL, "release: no items");
	for (size_t i = 0; i < n; i++)
		if (items[i].id == NULL || items[i].id[0] == '\0' ||
		    strlen(items[i].id) >= STIX_ID_MAX)
			return diag_set(d, ST_EINVAL,
					"release: item %zu has no id, or an "
					"id too long",
					i);
	return ST_OK;
}

/* The digest of a release (see hash_versions_hex). */
static int digest(const struct fed_sent_item *items, size_t n, char hex[65],
		  struct diag *d)
{
	struct hash_version *v = malloc((n > 0 ? n : 1) * sizeof(*v));
	if (v == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = (struct hash_version){items[i].id, items[i].version};
	int rc = hash_versions_hex(v, n, hex);
	free(v);
	return rc == ST_OK ? ST_OK : diag_set(d, rc, "out of memory");
}

/* Records one release (inside the caller's transaction). */
static int sent_insert(struct fedstate *f, const char *peer, const char *path,
		       const struct fed_sent_item *items, size_t n,
		       const char *hex, st_time now, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int rc = prep(f,
		      "INSERT INTO sent(peer, at, path, count, digest,"
		      " first_id) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)n);
		sqlite3_bind_text(st, 5, hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, items[0].id, -1, SQLITE_STATIC);
		rc = step_done(f, st, "release record", d);
	}
	unprep(f, st);
	return rc;
}

int fed_delivered(struct fedstate *f, const char *peer, const char *incarnation,
		  uint64_t cursor, const struct fed_sent_item *items, size_t n,
		  const char *path, st_time now, struct diag *d)
{
	return fed_delivered_digest(f, peer, incarnation, cursor, items, n,
				    path, now, NULL, d);
}

int fed_delivered_digest(struct fedstate *f, const char *peer,
			 const char *incarnation, uint64_t cursor,
			 const struct fed_sent_item *items, size_t n,
			 const char *path, st_time now, char digest_out[65],
			 struct diag *d)
{
	int rc;
	char hex[65];
	if (f == NULL)
		return diag_set(d, ST_EINVAL, "fed_delivered: NULL");
	if ((rc = check_peer(peer, d)) != ST_OK ||
	    (rc = check_incarnation(incarnation, d)) != ST_OK ||
	    (rc = check_path(path, d)) != ST_OK ||
	    (rc = check_items(items, n, d)) != ST_OK ||
	    (rc = digest(items, n, hex, d)) != ST_OK)
		return rc;
	pthread_mutex_lock(&f->mu);
	/* As fed_decided: a lost cursor means a batch delivered again, and
	 * recorded again then. */
	f->relaxed = true;
	if ((rc = exec(f, "BEGIN IMMEDIATE", d)) == ST_OK) {
		rc = cursor_set(f, peer, incarnation, FED_DELIVERED, cursor, d);
		if (rc == ST_OK && n > 0)
			rc = sent_insert(f, peer, path, items, n, hex, now, d);
		rc = end_tx(f, rc, d);
		if (rc == ST_OK) {
			pthread_rwlock_wrlock(&f->rw);
			cur_put(f, peer, FED_DELIVERED, incarnation, cursor);
			pthread_rwlock_unlock(&f->rw);
		}
	}
	f->relaxed = false;
	pthread_mutex_unlock(&f->mu);
	if (rc == ST_OK && digest_out != NULL)
		memcpy(digest_out, hex, 65);
	return rc;
}

int fed_sent_record(struct fedstate *f, const char *peer, const char *path,
		    const struct fed_sent_item *items, size_t n, st_time now,
		    struct diag *d)
{
	int rc;
	char hex[65];
	if (f == NULL)
		return diag_set(d, ST_EINVAL, "fed_sent_record: NULL");
	if ((rc = check_peer(peer, d)) != ST_OK ||
	    (rc = check_path(path, d)) != ST_OK ||
	    (rc = check_items(items, n, d)) != ST_OK)
		return rc;
	if (n == 0)
		return ST_OK;
	if ((rc = digest(items, n, hex, d)) != ST_OK)
		return rc;
	pthread_mutex_lock(&f->mu);
	rc = sent_insert(f, peer, path, items, n, hex, now, d);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int fed_sent_list(struct fedstate *f, const char *peer, st_time since,
		  fed_sent_fn fn, void *ctx, struct diag *d)
{
	if (f == NULL || fn == NULL)
		return diag_set(d, ST_EINVAL, "fed_sent_list: NULL");
	int rc = check_peer(peer, d);
	if (rc != ST_OK)
		return rc;
	/* Pages of rows read under the lock, handed out without it, so
	 * that fn may call this module. */
	struct fed_sent *page = malloc(LIST_PAGE * sizeof(*page));
	int64_t *rowids = malloc(LIST_PAGE * sizeof(*rowids));
	if (page == NULL || rowids == NULL) {
		free(page);
		free(rowids);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	st_time at = since;
	int64_t after = -1; /* rowid after which rows at `at` follow */
	for (;;) {
		sqlite3_stmt *st = NULL;
		size_t k = 0;
		pthread_mutex_lock(&f->mu);
		rc = prep(f,
			  "SELECT at, path, count, digest, first_id, rowid"
			  " FROM sent WHERE peer = ?1 AND (at > ?2 OR"
			  " (at = ?2 AND rowid > ?3)) ORDER BY at, rowid"
			  " LIMIT ?4",
			  &st, d);
		if (rc == ST_OK) {
			sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, at);
			sqlite3_bind_int64(st, 3, after);
			sqlite3_bind_int(st, 4, LIST_PAGE);
			int src;
			while ((src = sqlite3_step(st)) == SQLITE_ROW) {
				struct fed_sent *s = &page[k];
				memset(s, 0, sizeof(*s));
				s->at = sqlite3_column_int64(st, 0);
				copy_col(s->path, sizeof(s->path), st, 1);
				s->count =
				    (uint64_t)sqlite3_column_int64(st, 2);
				copy_col(s->digest, sizeof(s->digest), st, 3);
				copy_col(s->first_id, sizeof(s->first_id), st,
					 4);
				rowids[k++] = sqlite3_column_int64(st, 5);
			}
			if (src != SQLITE_DONE)
				rc = sql_diag(f->db, d, "releases");
		}
		unprep(f, st);
		pthread_mutex_unlock(&f->mu);
		for (size_t i = 0; rc == ST_OK && i < k; i++)
			rc = fn(ctx, &page[i]);
		if (rc != ST_OK || k < LIST_PAGE)
			break;
		at = page[k - 1].at;
		after = rowids[k - 1];
	}
	free(page);
	free(rowids);
	return rc;
}

/* ---- policy hash ---- */

int fed_policy_hash_get(struct fedstate *f, const char *peer, char hash[65])
{
	if (hash != NULL)
		hash[0] = '\0';
	if (f == NULL || hash == NULL || check_peer(peer, NULL) != ST_OK)
		return ST_EINVAL;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	int rc =
	    prep(f, "SELECT hash FROM policy_hash WHERE peer = ?1", &st, NULL);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			copy_col(hash, 65, st, 0);
		else if (src != SQLITE_DONE)
			rc = ST_ESTORE;
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int fed_policy_reset(struct fedstate *f, const char *peer, const char *hash,
		     struct diag *d)
{
	if (f == NULL || hash == NULL)
		return diag_set(d, ST_EINVAL, "fed_policy_reset: NULL");
	int rc = check_peer(peer, d);
	if (rc != ST_OK)
		return rc;
	size_t hl = strlen(hash);
	if ((hl != 0 && hl != 64) || strspn(hash, "0123456789abcdef") != hl)
		return diag_set(d, ST_EINVAL,
				"policy hash: 64 lowercase hex digits, or "
				"\"\" for none");
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	if ((rc = exec(f, "BEGIN IMMEDIATE", d)) != ST_OK)
		goto unlock;
	rc = peer_exec(f, "DELETE FROM released WHERE peer = ?1", peer, d);
	if (rc == ST_OK)
		rc = peer_exec(f, "DELETE FROM cursors WHERE peer = ?1", peer,
			       d);
	if (rc == ST_OK)
		rc = prep(f,
			  "INSERT OR REPLACE INTO policy_hash(peer, hash)"
			  " VALUES(?1, ?2)",
			  &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
		rc = step_done(f, st, "policy hash", d);
	}
	unprep(f, st);
	rc = end_tx(f, rc, d);
	pthread_rwlock_wrlock(&f->rw);
	cur_drop(f, peer);
	if (rc == ST_OK)
		set_empty(f, peer);
	pthread_rwlock_unlock(&f->rw);
unlock:
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* ---- catch-up cursors ---- */

int fed_catchup_get(struct fedstate *f, const char *peer,
		    const char *collection, st_time *after)
{
	if (after != NULL)
		*after = 0;
	if (f == NULL || after == NULL || check_peer(peer, NULL) != ST_OK ||
	    check_text(collection, COLLECTION_MAX, false, "collection", NULL) !=
		ST_OK)
		return ST_EINVAL;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	int rc = prep(f,
		      "SELECT after FROM catchup WHERE peer = ?1 AND"
		      " collection = ?2",
		      &st, NULL);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, collection, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW)
			*after = sqlite3_column_int64(st, 0);
		else if (src != SQLITE_DONE)
			rc = ST_ESTORE;
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int fed_catchup_set(struct fedstate *f, const char *peer,
		    const char *collection, st_time after, struct diag *d)
{
	if (f == NULL)
		return diag_set(d, ST_EINVAL, "fed_catchup_set: NULL");
	int rc;
	if ((rc = check_peer(peer, d)) != ST_OK ||
	    (rc = check_text(collection, COLLECTION_MAX, false,
			     "remote collection", d)) != ST_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	rc = prep(f,
		  "INSERT OR REPLACE INTO catchup(peer, collection, after)"
		  " VALUES(?1, ?2, ?3)",
		  &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, collection, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, after);
		rc = step_done(f, st, "catch-up cursor", d);
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* ---- quarantine ---- */

int fed_quarantine_add(struct fedstate *f, const struct fed_quarantined *q,
		       int64_t *qid, struct diag *d)
{
	if (qid != NULL)
		*qid = 0;
	if (f == NULL || q == NULL)
		return diag_set(d, ST_EINVAL, "fed_quarantine_add: NULL");
	int rc;
	if (!terminated(q->peer, sizeof(q->peer)) ||
	    (rc = check_peer(q->peer, d)) != ST_OK)
		return diag_set(d, ST_EINVAL, "quarantine: bad peer name");
	if (!terminated(q->id, sizeof(q->id)) ||
	    !terminated(q->version, sizeof(q->version)) ||
	    !terminated(q->reason, sizeof(q->reason)))
		return diag_set(d, ST_EINVAL,
				"quarantine: id, version or reason not "
				"terminated");
	if (q->object == NULL || q->object_len == 0 || q->object_len > BLOB_MAX)
		return diag_set(d, ST_EINVAL,
				"quarantine: no object, or more than %u bytes",
				BLOB_MAX);
	if ((q->attestation == NULL) != (q->attestation_len == 0) ||
	    q->attestation_len > BLOB_MAX)
		return diag_set(d, ST_EINVAL,
				"quarantine: attestation and its length "
				"disagree, or more than %u bytes",
				BLOB_MAX);
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	rc = prep(f,
		  "INSERT INTO quarantine(at, peer, id, version, reason, cid,"
		  " object, attestation) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
		  " ?8)",
		  &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_int64(st, 1, q->at);
		sqlite3_bind_text(st, 2, q->peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, q->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, q->version, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, q->reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, q->cid);
		sqlite3_bind_blob(st, 7, q->object, (int)q->object_len,
				  SQLITE_STATIC);
		if (q->attestation != NULL)
			sqlite3_bind_blob(st, 8, q->attestation,
					  (int)q->attestation_len,
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 8);
		rc = step_done(f, st, "quarantine", d);
		if (rc == ST_OK && qid != NULL)
			*qid = sqlite3_last_insert_rowid(f->db);
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* A copy of a blob column (NUL-terminated, *len without it), or NULL for
 * SQL NULL. */
static int blob_dup(sqlite3_stmt *st, int col, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return ST_OK;
	const void *b = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col);
	if ((*out = malloc(n + 1)) == NULL)
		return ST_ENOMEM;
	if (n > 0)
		memcpy(*out, b, n);
	(*out)[n] = '\0';
	*len = n;
	return ST_OK;
}

#define Q_COLUMNS "qid, at, peer, id, version, reason, cid"

static void q_row(sqlite3_stmt *st, struct fed_quarantined *q)
{
	memset(q, 0, sizeof(*q));
	q->qid = sqlite3_column_int64(st, 0);
	q->at = sqlite3_column_int64(st, 1);
	copy_col(q->peer, sizeof(q->peer), st, 2);
	copy_col(q->id, sizeof(q->id), st, 3);
	copy_col(q->version, sizeof(q->version), st, 4);
	copy_col(q->reason, sizeof(q->reason), st, 5);
	q->cid = sqlite3_column_int64(st, 6);
}

int fed_quarantine_list(struct fedstate *f, fed_quarantine_fn fn, void *ctx,
			struct diag *d)
{
	if (f == NULL || fn == NULL)
		return diag_set(d, ST_EINVAL, "fed_quarantine_list: NULL");
	struct fed_quarantined *page = malloc(LIST_PAGE * sizeof(*page));
	if (page == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	int64_t after = 0;
	int rc;
	for (;;) {
		sqlite3_stmt *st = NULL;
		size_t k = 0;
		pthread_mutex_lock(&f->mu);
		rc = prep(f,
			  "SELECT " Q_COLUMNS " FROM quarantine WHERE qid > ?1"
			  " ORDER BY qid LIMIT ?2",
			  &st, d);
		if (rc == ST_OK) {
			sqlite3_bind_int64(st, 1, after);
			sqlite3_bind_int(st, 2, LIST_PAGE);
			int src;
			while ((src = sqlite3_step(st)) == SQLITE_ROW)
				q_row(st, &page[k++]);
			if (src != SQLITE_DONE)
				rc = sql_diag(f->db, d, "quarantine");
		}
		unprep(f, st);
		pthread_mutex_unlock(&f->mu);
		for (size_t i = 0; rc == ST_OK && i < k; i++)
			rc = fn(ctx, &page[i]);
		if (rc != ST_OK || k < LIST_PAGE)
			break;
		after = page[k - 1].qid;
	}
	free(page);
	return rc;
}

int fed_quarantine_get(struct fedstate *f, int64_t qid,
		       struct fed_quarantined *out, struct diag *d)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (f == NULL || out == NULL)
		return diag_set(d, ST_EINVAL, "fed_quarantine_get: NULL");
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	int rc = prep(f,
		      "SELECT " Q_COLUMNS ", object, attestation FROM"
		      " quarantine WHERE qid = ?1",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_int64(st, 1, qid);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			q_row(st, out);
			if (blob_dup(st, 7, &out->object, &out->object_len) !=
				ST_OK ||
			    blob_dup(st, 8, &out->attestation,
				     &out->attestation_len) != ST_OK)
				rc = diag_set(d, ST_ENOMEM, "out of memory");
		} else if (src == SQLITE_DONE) {
			rc = diag_set(d, ST_ENOTFOUND,
				      "no quarantined object %lld",
				      (long long)qid);
		} else {
			rc = sql_diag(f->db, d, "quarantine");
		}
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	if (rc != ST_OK)
		fed_quarantined_free(out);
	return rc;
}

void fed_quarantined_free(struct fed_quarantined *q)
{
	if (q == NULL)
		return;
	free(q->object);
	free(q->attestation);
	q->object = q->attestation = NULL;
	q->object_len = q->attestation_len = 0;
}

int fed_quarantine_remove(struct fedstate *f, int64_t qid, struct diag *d)
{
	if (f == NULL)
		return diag_set(d, ST_EINVAL, "fed_quarantine_remove: NULL");
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	int rc = prep(f, "DELETE FROM quarantine WHERE qid = ?1", &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_int64(st, 1, qid);
		rc = step_done(f, st, "quarantine", d);
		if (rc == ST_OK && sqlite3_changes(f->db) == 0)
			rc = diag_set(d, ST_ENOTFOUND,
				      "no quarantined object %lld",
				      (long long)qid);
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* A count query with ?1 bound to peer unless peer is NULL. 0 on error. */
static uint64_t count_rows(struct fedstate *f, const char *sql,
			   const char *peer)
{
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;
	pthread_mutex_lock(&f->mu);
	if (prep(f, sql, &st, NULL) == ST_OK) {
		if (peer != NULL)
			sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = (uint64_t)sqlite3_column_int64(st, 0);
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return n;
}

uint64_t fed_quarantine_count(struct fedstate *f, const char *peer)
{
	if (f == NULL)
		return 0;
	if (peer == NULL || peer[0] == '\0')
		return count_rows(f, "SELECT count(*) FROM quarantine", NULL);
	if (check_peer(peer, NULL) != ST_OK)
		return 0;
	return count_rows(f, "SELECT count(*) FROM quarantine WHERE peer = ?1",
			  peer);
}

/* ---- dead letters ---- */

int fed_deadletter_add(struct fedstate *f, const struct fed_deadletter *dl,
		       struct diag *d)
{
	if (f == NULL || dl == NULL)
		return diag_set(d, ST_EINVAL, "fed_deadletter_add: NULL");
	int rc;
	if (!terminated(dl->peer, sizeof(dl->peer)) ||
	    (rc = check_peer(dl->peer, d)) != ST_OK)
		return diag_set(d, ST_EINVAL, "dead letter: bad peer name");
	if (!terminated(dl->id, sizeof(dl->id)) || dl->id[0] == '\0' ||
	    !terminated(dl->reason, sizeof(dl->reason)))
		return diag_set(d, ST_EINVAL,
				"dead letter: no id, or id or reason not "
				"terminated");
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	rc = prep(f,
		  "INSERT INTO deadletter(at, peer, seq, id, version, reason,"
		  " skipped) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		  &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_int64(st, 1, dl->at);
		sqlite3_bind_text(st, 2, dl->peer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)dl->seq);
		sqlite3_bind_text(st, 4, dl->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, dl->version);
		sqlite3_bind_text(st, 6, dl->reason, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 7, dl->skipped);
		rc = step_done(f, st, "dead letter", d);
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int fed_deadletter_list(struct fedstate *f, const char *peer,
			fed_deadletter_fn fn, void *ctx, struct diag *d)
{
	if (f == NULL || fn == NULL)
		return diag_set(d, ST_EINVAL, "fed_deadletter_list: NULL");
	int rc = check_peer(peer, d);
	if (rc != ST_OK)
		return rc;
	struct fed_deadletter *page = malloc(LIST_PAGE * sizeof(*page));
	if (page == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	int64_t after = 0;
	for (;;) {
		sqlite3_stmt *st = NULL;
		size_t k = 0;
		pthread_mutex_lock(&f->mu);
		rc = prep(f,
			  "SELECT did, at, peer, seq, id, version, reason,"
			  " skipped FROM deadletter WHERE peer = ?1 AND"
			  " did > ?2 ORDER BY did LIMIT ?3",
			  &st, d);
		if (rc == ST_OK) {
			sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, after);
			sqlite3_bind_int(st, 3, LIST_PAGE);
			int src;
			while ((src = sqlite3_step(st)) == SQLITE_ROW) {
				struct fed_deadletter *x = &page[k++];
				memset(x, 0, sizeof(*x));
				x->did = sqlite3_column_int64(st, 0);
				x->at = sqlite3_column_int64(st, 1);
				copy_col(x->peer, sizeof(x->peer), st, 2);
				x->seq = (uint64_t)sqlite3_column_int64(st, 3);
				copy_col(x->id, sizeof(x->id), st, 4);
				x->version = sqlite3_column_int64(st, 5);
				copy_col(x->reason, sizeof(x->reason), st, 6);
				x->skipped = sqlite3_column_int(st, 7) != 0;
			}
			if (src != SQLITE_DONE)
				rc = sql_diag(f->db, d, "dead letters");
		}
		unprep(f, st);
		pthread_mutex_unlock(&f->mu);
		for (size_t i = 0; rc == ST_OK && i < k; i++)
			rc = fn(ctx, &page[i]);
		if (rc != ST_OK || k < LIST_PAGE)
			break;
		after = page[k - 1].did;
	}
	free(page);
	return rc;
}

int fed_deadletter_skip(struct fedstate *f, const char *peer, int64_t did,
			size_t *n, struct diag *d)
{
	if (n != NULL)
		*n = 0;
	if (f == NULL || did < 0)
		return diag_set(d, ST_EINVAL,
				"fed_deadletter_skip: bad "
				"argument");
	int rc = check_peer(peer, d);
	if (rc != ST_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	rc = prep(f,
		  did == 0 ? "UPDATE deadletter SET skipped = 1 WHERE"
			     " peer = ?1 AND skipped = 0"
			   : "UPDATE deadletter SET skipped = 1 WHERE"
			     " peer = ?1 AND did = ?2",
		  &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		if (did != 0)
			sqlite3_bind_int64(st, 2, did);
		rc = step_done(f, st, "dead letters", d);
		int changed = rc == ST_OK ? sqlite3_changes(f->db) : 0;
		if (rc == ST_OK && did != 0 && changed == 0)
			rc = diag_set(d, ST_ENOTFOUND,
				      "no dead letter %lld for peer %s",
				      (long long)did, peer);
		if (n != NULL)
			*n = (size_t)changed;
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

uint64_t fed_deadletter_count(struct fedstate *f, const char *peer,
			      bool include_skipped)
{
	if (f == NULL || check_peer(peer, NULL) != ST_OK)
		return 0;
	return count_rows(
	    f,
	    include_skipped ? "SELECT count(*) FROM deadletter WHERE peer = ?1"
			    : "SELECT count(*) FROM deadletter WHERE peer = ?1"
			      " AND skipped = 0",
	    peer);
}

/* ---- health ---- */

/* Callers hold rw. */
static struct healthmem *health_find(struct fedstate *f, const char *peer)
{
	for (size_t i = 0; i < f->nhealth; i++)
		if (strcmp(f->health[i].h.peer, peer) == 0)
			return &f->health[i];
	return NULL;
}

/* Keeps h in memory (callers hold mu and rw); NULL when the memory is
 * full (the record is then read from, and written to, the file). */
static struct healthmem *health_keep(struct fedstate *f,
				     const struct fed_health *h)
{
	struct healthmem *m = health_find(f, h->peer);
	if (m == NULL) {
		if (f->nhealth == HEALTH_MEM)
			return NULL;
		m = &f->health[f->nhealth++];
		memset(m, 0, sizeof(*m));
	}
	m->h = *h;
	return m;
}

/* Callers hold rw (write). */
static void health_drop(struct fedstate *f, const char *peer)
{
	for (size_t i = 0; i < f->nhealth;) {
		if (peer == NULL || strcmp(f->health[i].h.peer, peer) == 0)
			f->health[i] = f->health[--f->nhealth];
		else
			i++;
	}
}

/* Reads the record from the file (callers hold mu). */
static int health_read(struct fedstate *f, const char *peer,
		       struct fed_health *out, bool *found)
{
	sqlite3_stmt *st = NULL;
	*found = false;
	int rc = prep(f,
		      "SELECT identity, last_success, last_error_at,"
		      " last_error, down_since, sent, received FROM health"
		      " WHERE peer = ?1",
		      &st, NULL);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		int src = sqlite3_step(st);
		if (src == SQLITE_ROW) {
			*found = true;
			copy_col(out->identity, sizeof(out->identity), st, 0);
			out->last_success = sqlite3_column_int64(st, 1);
			out->last_error_at = sqlite3_column_int64(st, 2);
			copy_col(out->last_error, sizeof(out->last_error), st,
				 3);
			out->down_since = sqlite3_column_int64(st, 4);
			out->sent = (uint64_t)sqlite3_column_int64(st, 5);
			out->received = (uint64_t)sqlite3_column_int64(st, 6);
		} else if (src != SQLITE_DONE) {
			rc = ST_ESTORE;
		}
	}
	unprep(f, st);
	return rc;
}

/* Writes the record (callers hold mu): durably when durable. */
static int health_write(struct fedstate *f, const struct fed_health *h,
			bool durable, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	f->relaxed = !durable;
	int rc = prep(f,
		      "INSERT OR REPLACE INTO health(peer, identity,"
		      " last_success, last_error_at, last_error, down_since,"
		      " sent, received) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		      &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, h->peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, h->identity, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, h->last_success);
		sqlite3_bind_int64(st, 4, h->last_error_at);
		sqlite3_bind_text(st, 5, h->last_error, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, h->down_since);
		sqlite3_bind_int64(st, 7, (int64_t)h->sent);
		sqlite3_bind_int64(st, 8, (int64_t)h->received);
		rc = step_done(f, st, "health", d);
	}
	unprep(f, st);
	f->relaxed = false;
	return rc;
}

/* Writes the counts and last success alone (callers hold mu), without
 * waiting for the disk, and only into the record of the same identity:
 * a record that another process removed meanwhile (`strait peer remove`)
 * is not made again, nor one that names another identity now. */
static int health_counts_write(struct fedstate *f, const struct fed_health *h)
{
	sqlite3_stmt *st = NULL;
	f->relaxed = true;
	int rc = prep(f,
		      "UPDATE health SET last_success = ?3, sent = ?4,"
		      " received = ?5 WHERE peer = ?1 AND identity = ?2",
		      &st, NULL);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, h->peer, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, h->identity, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, h->last_success);
		sqlite3_bind_int64(st, 4, (int64_t)h->sent);
		sqlite3_bind_int64(st, 5, (int64_t)h->received);
		rc = step_done(f, st, "health", NULL);
	}
	unprep(f, st);
	f->relaxed = false;
	return rc;
}

int fed_health_get(struct fedstate *f, const char *peer, struct fed_health *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (f == NULL || out == NULL || check_peer(peer, NULL) != ST_OK)
		return ST_EINVAL;
	snprintf(out->peer, sizeof(out->peer), "%s", peer);
	pthread_rwlock_rdlock(&f->rw);
	const struct healthmem *m = health_find(f, peer);
	if (m != NULL)
		*out = m->h;
	pthread_rwlock_unlock(&f->rw);
	if (m != NULL)
		return ST_OK;
	pthread_mutex_lock(&f->mu);
	bool found;
	int rc = health_read(f, peer, out, &found);
	if (rc == ST_OK) {
		pthread_rwlock_wrlock(&f->rw);
		struct healthmem *k = health_find(f, peer);
		if (k == NULL && (k = health_keep(f, out)) != NULL)
			k->in_file = found;
		pthread_rwlock_unlock(&f->rw);
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int fed_health_put(struct fedstate *f, const struct fed_health *h,
		   struct diag *d)
{
	if (f == NULL || h == NULL)
		return diag_set(d, ST_EINVAL, "fed_health_put: NULL");
	int rc;
	if (!terminated(h->peer, sizeof(h->peer)) ||
	    (rc = check_peer(h->peer, d)) != ST_OK)
		return diag_set(d, ST_EINVAL, "health: bad peer name");
	if (!terminated(h->identity, sizeof(h->identity)) ||
	    !terminated(h->last_error, sizeof(h->last_error)))
		return diag_set(d, ST_EINVAL,
				"health of %s: identity or error text not "
				"terminated",
				h->peer);
	double now = time_mono();
	pthread_mutex_lock(&f->mu);
	pthread_rwlock_wrlock(&f->rw);
	struct healthmem *m = health_find(f, h->peer);
	/* Written at once: a record the file lacks, the partner's identity
	 * (learnt once, held to after, so durably), a change of state (up,
	 * down, an error). The counts and the time of the last success,
	 * written after every batch, wait up to HEALTH_EVERY_S (the
	 * supervisor flushes them, fedstate_close too): a batch then costs
	 * no write here. */
	bool learnt =
	    m == NULL || !m->in_file || strcmp(m->h.identity, h->identity) != 0;
	bool now_due = learnt || m->h.down_since != h->down_since ||
		       m->h.last_error_at != h->last_error_at ||
		       strcmp(m->h.last_error, h->last_error) != 0 ||
		       now - m->written >= HEALTH_EVERY_S;
	bool in_file = m != NULL && m->in_file;
	m = health_keep(f, h);
	if (m != NULL)
		m->dirty = !now_due;
	pthread_rwlock_unlock(&f->rw);
	rc = ST_OK;
	if (now_due || m == NULL) {
		/* the identity a record in the file holds already need not
		 * wait for the disk again */
		bool durable = true;
		if (in_file && !learnt) {
			durable = false;
		} else if (h->identity[0] != '\0') {
			struct fed_health old;
			bool found;
			memset(&old, 0, sizeof(old));
			durable =
			    health_read(f, h->peer, &old, &found) != ST_OK ||
			    !found || strcmp(old.identity, h->identity) != 0;
		}
		rc = health_write(f, h, durable, d);
		pthread_rwlock_wrlock(&f->rw);
		if ((m = health_find(f, h->peer)) != NULL) {
			m->written = now;
			m->in_file = rc == ST_OK;
			m->dirty = rc != ST_OK;
		}
		pthread_rwlock_unlock(&f->rw);
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

void fed_health_flush(struct fedstate *f, bool all)
{
	if (f == NULL)
		return;
	double now = time_mono();
	bool any = false;
	pthread_rwlock_rdlock(&f->rw);
	for (size_t i = 0; i < f->nhealth && !any; i++)
		any = f->health[i].dirty;
	pthread_rwlock_unlock(&f->rw);
	if (!any)
		return;
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0;; i++) {
		struct fed_health h;
		pthread_rwlock_wrlock(&f->rw);
		bool more = i < f->nhealth;
		bool due =
		    more && f->health[i].dirty &&
		    (all || now - f->health[i].written >= HEALTH_EVERY_S);
		if (due) {
			h = f->health[i].h;
			f->health[i].dirty = false;
			f->health[i].written = now;
		}
		pthread_rwlock_unlock(&f->rw);
		if (!more)
			break;
		if (due && health_counts_write(f, &h) != ST_OK) {
			pthread_rwlock_wrlock(&f->rw);
			struct healthmem *m = health_find(f, h.peer);
			if (m != NULL)
				m->dirty = true;
			pthread_rwlock_unlock(&f->rw);
		}
	}
	pthread_mutex_unlock(&f->mu);
}

/* ---- forgetting a peer ---- */

int fed_forget_peer(struct fedstate *f, const char *peer, struct diag *d)
{
	/* Provenance and attestations stay: they describe versions in the
	 * store, whatever became of the peer they came through. */
	static const char *const deletes[] = {
	    "DELETE FROM cursors WHERE peer = ?1",
	    "DELETE FROM released WHERE peer = ?1",
	    "DELETE FROM sent WHERE peer = ?1",
	    "DELETE FROM catchup WHERE peer = ?1",
	    "DELETE FROM quarantine WHERE peer = ?1",
	    "DELETE FROM deadletter WHERE peer = ?1",
	    "DELETE FROM health WHERE peer = ?1",
	    "DELETE FROM policy_hash WHERE peer = ?1",
	};
	if (f == NULL)
		return diag_set(d, ST_EINVAL, "fed_forget_peer: NULL");
	int rc = check_peer(peer, d);
	if (rc != ST_OK)
		return rc;
	pthread_mutex_lock(&f->mu);
	if ((rc = exec(f, "BEGIN IMMEDIATE", d)) == ST_OK) {
		for (size_t i = 0;
		     rc == ST_OK && i < sizeof(deletes) / sizeof(deletes[0]);
		     i++)
			rc = peer_exec(f, deletes[i], peer, d);
		rc = end_tx(f, rc, d);
	}
	pthread_rwlock_wrlock(&f->rw);
	cur_drop(f, peer);
	health_drop(f, peer);
	if (rc == ST_OK)
		set_empty(f, peer);
	pthread_rwlock_unlock(&f->rw);
	pthread_mutex_unlock(&f->mu);
	return rc;
}

void fed_peer_reread(struct fedstate *f, const char *peer)
{
	if (f == NULL || check_peer(peer, NULL) != ST_OK)
		return;
	pthread_mutex_lock(&f->mu);
	pthread_rwlock_wrlock(&f->rw);
	cur_drop(f, peer);
	health_drop(f, peer);
	set_drop(f, peer);
	pthread_rwlock_unlock(&f->rw);
	pthread_mutex_unlock(&f->mu);
}

/* ------------------------------------------------------------------ */
/* Provenance kept in the store's row                                   */
/* ------------------------------------------------------------------ */

#define PROV_FORMAT 1
#define PROV_HEAD 36 /* format, relay_green, n_red (2), sha256 (32) */

int fed_prov_encode(const struct fed_prov *p, struct buf *out)
{
	if (p->n_red > FED_MAX_RED)
		return ST_EINVAL;
	uint8_t head[PROV_HEAD];
	head[0] = PROV_FORMAT;
	head[1] = p->relay_green ? 1 : 0;
	head[2] = (uint8_t)(p->n_red & 0xff);
	head[3] = (uint8_t)(p->n_red >> 8);
	memcpy(head + 4, p->sha256, 32);
	buf_reset(out);
	int rc = buf_add(out, head, sizeof(head));
	const char *s[3] = {p->origin, p->peer, p->attestation};
	for (int i = 0; i < 3 && rc == ST_OK; i++)
		rc = buf_add(out, s[i], strlen(s[i]) + 1);
	for (size_t i = 0; i < p->n_red && rc == ST_OK; i++)
		rc = buf_add(out, p->red[i], strlen(p->red[i]) + 1);
	return rc;
}

/* The NUL-terminated string at *at in b[0..n), into out (cap bytes). */
static bool take_str(const uint8_t *b, size_t n, size_t *at, char *out,
		     size_t cap)
{
	const uint8_t *z = memchr(b + *at, '\0', n - *at);
	if (z == NULL)
		return false;
	size_t len = (size_t)(z - (b + *at));
	if (len >= cap)
		return false;
	memcpy(out, b + *at, len + 1);
	*at += len + 1;
	return true;
}

int fed_prov_decode(const void *bytes, size_t len, struct fed_prov *out)
{
	const uint8_t *b = bytes;
	memset(out, 0, sizeof(*out));
	if (b == NULL || len < PROV_HEAD || b[0] != PROV_FORMAT || b[1] > 1)
		return ST_ESTORE;
	size_t nred = (size_t)b[2] | (size_t)b[3] << 8;
	if (nred > FED_MAX_RED)
		return ST_ESTORE;
	out->relay_green = b[1] == 1;
	memcpy(out->sha256, b + 4, 32);
	size_t at = PROV_HEAD;
	if (!take_str(b, len, &at, out->origin, sizeof(out->origin)) ||
	    !take_str(b, len, &at, out->peer, sizeof(out->peer)) ||
	    !take_str(b, len, &at, out->attestation, sizeof(out->attestation)))
		return ST_ESTORE;
	if (nred > 0 && (out->red = calloc(nred, sizeof(*out->red))) == NULL)
		return ST_ENOMEM;
	for (size_t i = 0; i < nred; i++)
		if (!take_str(b, len, &at, out->red[i], STIX_ID_MAX)) {
			fed_prov_free(out);
			return ST_ESTORE;
		}
	out->n_red = nred;
	if (at != len) {
		fed_prov_free(out);
		return ST_ESTORE;
	}
	return ST_OK;
}

/* ---- audit witnesses ---- */

int fed_witness_put(struct fedstate *f, const char *peer,
		    const struct fed_witness *w, struct diag *d)
{
	if (f == NULL || w == NULL)
		return diag_set(d, ST_EINVAL, "fed_witness_put: NULL");
	int rc;
	if ((rc = check_peer(peer, d)) != ST_OK ||
	    (rc = check_text(w->key_id, sizeof(w->key_id), false, "key id",
			     d)) != ST_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&f->mu);
	if ((rc = exec(f, "BEGIN IMMEDIATE", d)) == ST_OK) {
		rc = prep(f,
			  "INSERT OR IGNORE INTO witness(peer, seq, hash, at,"
			  " key_id, sig, received) VALUES(?1, ?2, ?3, ?4, ?5,"
			  " ?6, ?7)",
			  &st, d);
		if (rc == ST_OK) {
			sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, (int64_t)w->seq);
			sqlite3_bind_blob(st, 3, w->hash, sizeof(w->hash),
					  SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, w->at);
			sqlite3_bind_text(st, 5, w->key_id, -1, SQLITE_STATIC);
			sqlite3_bind_blob(st, 6, w->sig, sizeof(w->sig),
					  SQLITE_STATIC);
			sqlite3_bind_int64(st, 7, time_now());
			rc = step_done(f, st, "witness", d);
		}
		unprep(f, st);
		st = NULL;
		/* the newest FED_WITNESS_KEEP of each partner */
		if (rc == ST_OK)
			rc = prep(f,
				  "DELETE FROM witness WHERE peer = ?1 AND"
				  " (seq, at) NOT IN (SELECT seq, at FROM"
				  " witness WHERE peer = ?1 ORDER BY seq DESC,"
				  " at DESC LIMIT ?2)",
				  &st, d);
		if (rc == ST_OK) {
			sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 2, FED_WITNESS_KEEP);
			rc = step_done(f, st, "witness", d);
		}
		unprep(f, st);
		rc = end_tx(f, rc, d);
	}
	pthread_mutex_unlock(&f->mu);
	return rc;
}

int fed_witness_list(struct fedstate *f, const char *peer,
		     struct fed_witness **out, size_t *n, struct diag *d)
{
	*out = NULL;
	*n = 0;
	if (f == NULL)
		return diag_set(d, ST_EINVAL, "fed_witness_list: NULL");
	int rc = check_peer(peer, d);
	if (rc != ST_OK)
		return rc;
	struct fed_witness *v = malloc(FED_WITNESS_KEEP * sizeof(*v));
	if (v == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	sqlite3_stmt *st = NULL;
	size_t k = 0;
	pthread_mutex_lock(&f->mu);
	rc = prep(f,
		  "SELECT seq, hash, at, key_id, sig FROM witness"
		  " WHERE peer = ?1 ORDER BY seq, at LIMIT ?2",
		  &st, d);
	if (rc == ST_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, FED_WITNESS_KEEP);
		int src;
		while ((src = sqlite3_step(st)) == SQLITE_ROW) {
			struct fed_witness *w = &v[k];
			memset(w, 0, sizeof(*w));
			w->seq = (uint64_t)sqlite3_column_int64(st, 0);
			w->at = sqlite3_column_int64(st, 2);
			copy_col(w->key_id, sizeof(w->key_id), st, 3);
			if (sqlite3_column_bytes(st, 1) != sizeof(w->hash) ||
			    sqlite3_column_bytes(st, 4) != sizeof(w->sig))
				continue; /* not ours to trust: skip it */
			memcpy(w->hash, sqlite3_column_blob(st, 1),
			       sizeof(w->hash));
			memcpy(w->sig, sqlite3_column_blob(st, 4),
			       sizeof(w->sig));
			k++;
		}
		if (src != SQLITE_DONE)
			rc = sql_diag(f->db, d, "witness");
	}
	unprep(f, st);
	pthread_mutex_unlock(&f->mu);
	if (rc != ST_OK) {
		free(v);
		return rc;
	}
	*out = v;
	*n = k;
	return ST_OK;
}
