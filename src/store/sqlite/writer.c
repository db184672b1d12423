/*
 * strait: the SQLite backend's write path. One writer thread owns the only
 * write connection. store_submit queues a batch; the writer takes what is
 * queued (from every caller, up to batch_max items), writes it in one
 * BEGIN IMMEDIATE ... COMMIT and only then marks those batches done, so a
 * batch is reported after its commit is durable (synchronous=FULL). A
 * group that fails is rolled back and its batches are retried one by one,
 * so one bad batch does not fail its neighbours.
 *
 * seq and date_added are assigned here, inside the transaction, from
 * high-water marks that are persisted in meta by the same transaction:
 * they never repeat or go backwards, whatever the clock does.
 *
 * A checkpointer thread with its own connection copies the WAL back into
 * the database when the writer's wal_hook says it grew past ckpt_pages.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/log.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const wsql[W_NSTMT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_DATA_VERSION] = "PRAGMA data_version",
    [W_FIND_ALL] = "SELECT seq, version FROM keys_main"
		   " WHERE uuid = ?1 AND type = ?2"
		   " UNION ALL SELECT seq, version FROM keys_recent"
		   " WHERE uuid = ?1 AND type = ?2 ORDER BY 2",
    [W_BODY] = "SELECT body FROM versions WHERE seq = ?1",
    [W_INSERT] = "INSERT INTO versions(seq, type, uuid, version, tlp,"
		 " flags, body, warnings, prov)"
		 " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [W_IS_MEMBER] = "SELECT 1 FROM membership WHERE seq = ?1 AND cid = ?2",
    [W_MEMBER] = "INSERT INTO membership(cid, date_added, seq)"
		 " VALUES(?1, ?2, ?3)",
    [W_HAS_COLL] = "SELECT 1 FROM collections WHERE cid = ?1",
    [W_TYPE_ADD] = "INSERT INTO types(name) VALUES(?1)",
    [W_TYPE_COUNT] = "UPDATE types SET versions = versions + ?2,"
		     " objects = objects + ?3 WHERE code = ?1",
    [W_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
		   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [W_MEMBERS_OF] = "SELECT k.seq, k.version, m.date_added, m.mflags"
		     " FROM (SELECT seq, version FROM keys_main"
		     " WHERE uuid = ?1 AND type = ?2"
		     " UNION ALL SELECT seq, version FROM keys_recent"
		     " WHERE uuid = ?1 AND type = ?2) k"
		     " CROSS JOIN membership m"
		     " ON m.seq = k.seq AND m.cid = ?3 ORDER BY k.version",
    [W_SET_MFLAGS] = "UPDATE membership SET mflags = ?3"
		     " WHERE cid = ?1 AND date_added = ?2",
    [W_UNMEMBER] = "DELETE FROM membership WHERE cid = ?1"
		   " AND date_added = ?2",
    [W_REMOVAL] = "INSERT INTO removals(date, log_seq, cid, seq,"
		  " date_added) VALUES(?1, ?2, ?3, ?4, ?5)",
    [W_STATUS_PUT] =
	"INSERT INTO status(id, owner, created, pending, total, success,"
	" failure, npending, lists) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
	" ON CONFLICT(id) DO UPDATE SET pending = excluded.pending,"
	" total = excluded.total, success = excluded.success,"
	" failure = excluded.failure, npending = excluded.npending,"
	" lists = excluded.lists WHERE owner = excluded.owner",
    [W_STATUS_PURGE] = "DELETE FROM status WHERE created < ?1",
    [W_KEY_ADD] = "INSERT INTO keys_recent(uuid, type, version, seq)"
		  " VALUES(?1, ?2, ?3, ?4)",
    [W_KEY_ADD_MAIN] = "INSERT INTO keys_main(uuid, type, version, seq)"
		       " VALUES(?1, ?2, ?3, ?4)",
    [W_KEYS_MERGE] = "INSERT INTO keys_main(uuid, type, version, seq)"
		     " SELECT uuid, type, version, seq FROM keys_recent"
		     " ORDER BY uuid, type, version",
    [W_KEYS_CLEAR] = "DELETE FROM keys_recent",
    [W_IDF_AFTER] = SQ_IDF_AFTER,
    [W_IDF_ALL] = SQ_IDF_ALL,
};

/* What each statement is, for messages. */
static const char *const wname[W_NSTMT] = {
    [W_BEGIN] = "begin",
    [W_COMMIT] = "commit",
    [W_ROLLBACK] = "rollback",
    [W_DATA_VERSION] = "data_version",
    [W_FIND_ALL] = "find",
    [W_BODY] = "read body",
    [W_INSERT] = "insert version",
    [W_IS_MEMBER] = "find membership",
    [W_MEMBER] = "insert membership",
    [W_HAS_COLL] = "find collection",
    [W_TYPE_ADD] = "add type",
    [W_TYPE_COUNT] = "count type",
    [W_META_SET] = "set meta",
    [W_MEMBERS_OF] = "find members",
    [W_SET_MFLAGS] = "set membership flags",
    [W_UNMEMBER] = "remove membership",
    [W_REMOVAL] = "record removal",
    [W_STATUS_PUT] = "put status",
    [W_STATUS_PURGE] = "purge status",
    [W_KEY_ADD] = "insert key",
    [W_KEY_ADD_MAIN] = "insert key",
    [W_KEYS_MERGE] = "merge keys",
    [W_KEYS_CLEAR] = "clear recent keys",
    [W_IDF_AFTER] = "id filter: new versions",
    [W_IDF_ALL] = "id filter: every key",
};

/* ------------------------------------------------------------------ */
/* The writer's type cache: name -> code, open addressing               */
/* ------------------------------------------------------------------ */

static size_t hash_name(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

static struct sq_type *type_slot(struct sq_type *tab, size_t cap,
				 const char *name, size_t len)
{
	size_t mask = cap - 1;
	for (size_t i = hash_name(name, len) & mask;; i = (i + 1) & mask) {
		struct sq_type *t = &tab[i];
		if (t->name == NULL ||
		    (t->len == len && memcmp(t->name, name, len) == 0))
			return t;
	}
}

void sq_types_free(struct sq_store *s)
{
	for (size_t i = 0; i < s->types_cap; i++)
		free(s->types[i].name);
	free(s->types);
	s->types = NULL;
	s->types_cap = s->ntypes = 0;
}

/* Adds name (not yet present) with code; keeps the load under 1/2. */
static int types_put(struct sq_store *s, const char *name, size_t len,
		     int64_t code)
{
	if ((s->ntypes + 1) * 2 > s->types_cap) {
		size_t ncap = s->types_cap ? s->types_cap * 2 : 64;
		struct sq_type *nt = calloc(ncap, sizeof(*nt));
		if (nt == NULL)
			return ST_ENOMEM;
		for (size_t i = 0; i < s->types_cap; i++) {
			struct sq_type *o = &s->types[i];
			if (o->name != NULL)
				*type_slot(nt, ncap, o->name, o->len) = *o;
		}
		free(s->types);
		s->types = nt;
		s->types_cap = ncap;
	}
	struct sq_type *t = type_slot(s->types, s->types_cap, name, len);
	t->name = malloc(len + 1);
	if (t->name == NULL)
		return ST_ENOMEM;
	memcpy(t->name, name, len);
	t->name[len] = '\0';
	t->len = len;
	t->code = code;
	t->dversions = t->dobjects = 0;
	s->ntypes++;
	return ST_OK;
}

/*
 * (Re)loads what the writer keeps in memory: the type cache and the
 * high-water marks. At open, after a rollback, and when another
 * connection (another process: the CLI beside a running node) wrote.
 */
int sq_load_state(struct sq_store *s, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	int64_t dv, seq_meta, seq_max, date, recent;
	int rc = sql_query_int(s->wdb, "PRAGMA data_version", 0, &dv, d);
	if (rc == ST_OK)
		rc = sql_query_int(s->wdb,
				   "SELECT value FROM meta"
				   " WHERE key = 'store.last_seq'",
				   0, &seq_meta, d);
	if (rc == ST_OK)
		rc = sql_query_int(s->wdb, "SELECT max(seq) FROM versions", 0,
				   &seq_max, d);
	if (rc == ST_OK)
		rc = sql_query_int(s->wdb,
				   "SELECT value FROM meta"
				   " WHERE key = 'store.last_date'",
				   0, &date, d);
	if (rc == ST_OK)
		rc = sql_query_int(s->wdb, "SELECT count(*) FROM keys_recent",
				   0, &recent, d);
	if (rc != ST_OK)
		return rc;
	sq_types_free(s);
	rc = sq_prepare(s->wdb, "SELECT code, name FROM types", &st, d);
	if (rc != ST_OK)
		return rc;
	int src;
	while (rc == ST_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
		rc = types_put(s, (const char *)sqlite3_column_text(st, 1),
			       (size_t)sqlite3_column_bytes(st, 1),
			       sqlite3_column_int64(st, 0));
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(s->wdb, d, "types");
	sqlite3_finalize(st);
	if (rc != ST_OK)
		return rc;
	s->data_version = dv;
	s->last_seq = (uint64_t)(seq_meta > seq_max ? seq_meta : seq_max);
	s->last_date = date;
	s->recent_keys = recent;
	return ST_OK;
}

/* The type's cache entry, adding the type to the store if it is new. */
static int type_get(struct sq_store *s, const char *name, size_t len,
		    struct sq_type **out, struct diag *d)
{
	struct sq_type *t = NULL;
	sqlite3_stmt *st = s->ws[W_TYPE_ADD];
	int rc;
	if (s->types_cap > 0) {
		t = type_slot(s->types, s->types_cap, name, len);
		if (t->name != NULL) {
			*out = t;
			return ST_OK;
		}
	}
	sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? ST_OK
					     : sql_diag(s->wdb, d, "types");
	sqlite3_reset(st);
	if (rc == ST_OK)
		rc = types_put(s, name, len, sqlite3_last_insert_rowid(s->wdb));
	if (rc == ST_OK)
		*out = type_slot(s->types, s->types_cap, name, len);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Transactions                                                         */
/* ------------------------------------------------------------------ */

static int step_done(struct sq_store *s, int which, struct diag *d)
{
	sqlite3_stmt *st = s->ws[which];
	int rc = ST_OK;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_diag(s->wdb, d, wname[which]);
	sqlite3_reset(st);
	return rc;
}

static int tx_begin(struct sq_store *s, struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_DATA_VERSION];
	int rc = step_done(s, W_BEGIN, d);
	if (rc != ST_OK)
		return rc;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = sql_diag(s->wdb, d, "data_version");
	} else if (sqlite3_column_int64(st, 0) != s->data_version) {
		sqlite3_reset(st);
		rc = sq_load_state(s, d);
	}
	sqlite3_reset(st);
	s->now = store_clock_now();
	return rc;
}

static int meta_put(struct sq_store *s, const char *key, int64_t v,
		    struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_META_SET];
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	return step_done(s, W_META_SET, d);
}

/*
 * How many keys a transaction writes straight into keys_main: one at least
 * as large as keys_recent may grow (a bulk import) gains nothing from it.
 * The limit grows with the log (a 32nd of it, at least KEYS_RECENT_MIN),
 * at most KEYS_DIRECT_MAX (and keys_recent_max).
 */
static int64_t direct_limit(const struct sq_store *s)
{
	int64_t lim = (int64_t)(s->last_seq / 32);
	if (lim < KEYS_RECENT_MIN)
		lim = KEYS_RECENT_MIN;
	if (lim > KEYS_DIRECT_MAX)
		lim = KEYS_DIRECT_MAX;
	return lim > (int64_t)s->keys_recent_max ? (int64_t)s->keys_recent_max
						 : lim;
}

/*
 * When keys_recent is merged into keys_main. A merge rewrites about every
 * page of keys_main; a commit rewrites up to one page of keys_recent per
 * row. With small commits (TAXII posters) each row costs its page in
 * keys_recent whatever its size, and a 32nd of the log keeps the merges a
 * small part of it. Large commits (a partner catching up, thousands of rows
 * each) dirty every page of keys_recent, so its size then costs in
 * proportion; the merges and the commits cost the same per row when it
 * holds sqrt(2 * rows per commit * log) keys, which is larger. At most
 * keys_recent_max.
 */
static int64_t recent_limit(const struct sq_store *s)
{
	int64_t lim = direct_limit(s);
	double balanced = sqrt(2.0 * s->commit_rows * (double)s->last_seq);
	if (balanced > (double)lim)
		lim = (int64_t)balanced;
	return lim > (int64_t)s->keys_recent_max ? (int64_t)s->keys_recent_max
						 : lim;
}

/* Persists the high-water marks and counters, then commits. */
static int tx_commit(struct sq_store *s, struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_TYPE_COUNT];
	int rc = ST_OK;
	if (s->recent_keys >= recent_limit(s)) {
		/* One sorted pass: each page of keys_main written once. */
		rc = step_done(s, W_KEYS_MERGE, d);
		if (rc == ST_OK)
			rc = step_done(s, W_KEYS_CLEAR, d);
		if (rc == ST_OK)
			s->recent_keys = 0;
	}
	for (size_t i = 0; rc == ST_OK && i < s->types_cap; i++) {
		struct sq_type *t = &s->types[i];
		if (t->name == NULL || (t->dversions == 0 && t->dobjects == 0))
			continue;
		sqlite3_bind_int64(st, 1, t->code);
		sqlite3_bind_int64(st, 2, t->dversions);
		sqlite3_bind_int64(st, 3, t->dobjects);
		rc = step_done(s, W_TYPE_COUNT, d);
		t->dversions = t->dobjects = 0;
	}
	if (rc == ST_OK)
		rc = meta_put(s, "store.last_seq", (int64_t)s->last_seq, d);
	if (rc == ST_OK)
		rc = meta_put(s, "store.last_date", s->last_date, d);
	if (rc == ST_OK)
		rc = step_done(s, W_COMMIT, d);
	return rc;
}

/* Undoes the transaction and what the writer had cached from it. */
static void tx_rollback(struct sq_store *s)
{
	struct diag d;
	for (int i = 0; i < W_NSTMT; i++)
		sqlite3_reset(s->ws[i]);
	if (!sqlite3_get_autocommit(s->wdb) &&
	    sqlite3_step(s->ws[W_ROLLBACK]) != SQLITE_DONE)
		log_error("store", "%s: rollback: %s", s->path,
			  sqlite3_errmsg(s->wdb));
	sqlite3_reset(s->ws[W_ROLLBACK]);
	if (sq_load_state(s, &d) != ST_OK) {
		/* Keep going on the old marks; the next BEGIN retries. */
		log_error("store", "%s: reload after rollback: %s", s->path,
			  d.msg);
		s->data_version = -1;
	}
}

/* Status resources expire: once a minute at most, the transaction that
 * is about to commit also deletes those past status_keep_hours (so the
 * purge costs no commit of its own). A failure is logged, never fails
 * the transaction's real work. */
#define PURGE_EVERY_S 60.0

static void purge_if_due(struct sq_store *s)
{
	struct diag d = {""};
	double now = time_mono();
	if (s->last_purge != 0 && now - s->last_purge < PURGE_EVERY_S)
		return;
	s->last_purge = now;
	st_time before =
	    time_now() - (st_time)s->status_keep_hours * 3600 * 1000000;
	if (sq_status_purge_tx(s, before, NULL, &d) != ST_OK)
		log_warn("store", "%s: status purge: %s", s->path, d.msg);
}

/* ------------------------------------------------------------------ */
/* Appending one item                                                   */
/* ------------------------------------------------------------------ */

/* date_added = max(now, last + 1 us): unique and increasing store-wide. */
static st_time next_date(struct sq_store *s)
{
	st_time d = s->now > s->last_date ? s->now : s->last_date + 1;
	s->last_date = d;
	return d;
}

static int body_equal(struct sq_store *s, int64_t seq,
		      const struct store_item *it, bool *eq, struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_BODY];
	int rc = ST_OK;
	sqlite3_bind_int64(st, 1, seq);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		*eq = n == it->body_len &&
		      (n == 0 || memcmp(b, it->body, n) == 0);
	} else {
		rc = sql_diag(s->wdb, d, "body");
	}
	sqlite3_reset(st);
	return rc;
}

/*
 * Looks the item's key up: *found is the seq of the version it duplicates
 * or conflicts with (0 if none) and *exists whether the object has any
 * version at all. Versioned objects match on version, SCOs on content.
 * One probe of the key index answers both for a new object, the common
 * case; an object's versions are few (and only index entries are read).
 */
static int find_item(struct sq_store *s, const uint8_t uuid[16], int64_t code,
		     const struct store_item *it, int64_t *found,
		     st_time *fversion, bool *exists, struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_FIND_ALL];
	int rc = ST_OK, src;
	*found = 0;
	*exists = false;
	sqlite3_bind_blob(st, 1, uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, code);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		st_time ver = sqlite3_column_int64(st, 1);
		bool eq = false;
		*exists = true;
		if (it->versioned)
			eq = ver == it->version;
		else
			rc = body_equal(s, seq, it, &eq, d);
		if (rc != ST_OK || eq) {
			*found = seq;
			*fversion = ver;
			break;
		}
	}
	if (rc == ST_OK && src != SQLITE_ROW && src != SQLITE_DONE)
		rc = sql_diag(s->wdb, d, "find");
	sqlite3_reset(st);
	return rc;
}

static int add_member(struct sq_store *s, int64_t cid, int64_t seq,
		      st_time date, struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_MEMBER];
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int64(st, 2, date);
	sqlite3_bind_int64(st, 3, seq);
	return step_done(s, W_MEMBER, d);
}

static int is_member(struct sq_store *s, int64_t cid, int64_t seq, bool *yes,
		     struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_IS_MEMBER];
	int rc = ST_OK;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, cid);
	int src = sqlite3_step(st);
	*yes = src == SQLITE_ROW;
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = sql_diag(s->wdb, d, "membership");
	sqlite3_reset(st);
	return rc;
}

static void item_reset(struct store_item *it)
{
	it->result = STORE_PENDING;
	it->seq = 0;
	it->stored_version = 0;
	it->date_added = 0;
	it->added_to_collection = false;
}

/*
 * Loads the object's member versions in cid, by version key, into
 * s->mbuf; *n gets how many.
 */
static int members_load(struct sq_store *s, const uint8_t uuid[16],
			int64_t code, int64_t cid, size_t *n, struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_MEMBERS_OF];
	int rc = ST_OK, src;
	*n = 0;
	sqlite3_bind_blob(st, 1, uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, code);
	sqlite3_bind_int64(st, 3, cid);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == s->mbuf_cap) {
			size_t ncap = s->mbuf_cap ? s->mbuf_cap * 2 : 16;
			void *p = realloc(s->mbuf, ncap * sizeof(*s->mbuf));
			if (p == NULL) {
				rc = diag_set(d, ST_ENOMEM, "store: no memory");
				break;
			}
			s->mbuf = p;
			s->mbuf_cap = ncap;
		}
		struct sq_member *m = &s->mbuf[(*n)++];
		m->seq = sqlite3_column_int64(st, 0);
		m->version = sqlite3_column_int64(st, 1);
		m->date_added = sqlite3_column_int64(st, 2);
		m->mflags = sqlite3_column_int(st, 3);
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(s->wdb, d, wname[W_MEMBERS_OF]);
	sqlite3_reset(st);
	return rc;
}

/* Sets each loaded member's mflags from its place among the n. */
static int members_fix(struct sq_store *s, int64_t cid, size_t n,
		       struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_SET_MFLAGS];
	int rc = ST_OK;
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		int want =
		    (i + 1 < n ? MF_NOT_LAST : 0) | (i > 0 ? MF_NOT_FIRST : 0);
		if (s->mbuf[i].mflags == want)
			continue;
		sqlite3_bind_int64(st, 1, cid);
		sqlite3_bind_int64(st, 2, s->mbuf[i].date_added);
		sqlite3_bind_int(st, 3, want);
		rc = step_done(s, W_SET_MFLAGS, d);
		s->mbuf[i].mflags = want;
	}
	return rc;
}

/*
 * After the object's memberships in cid changed: which is last and which
 * is first may have moved. Only objects with more than one version pay:
 * a new object's only membership is both (mflags 0).
 */
static int members_refresh(struct sq_store *s, const uint8_t uuid[16],
			   int64_t code, int64_t cid, struct diag *d)
{
	size_t n;
	int rc = members_load(s, uuid, code, cid, &n, d);
	if (rc == ST_OK)
		rc = members_fix(s, cid, n, d);
	return rc;
}

static int write_item(struct sq_store *s, int64_t cid, struct store_item *it,
		      struct diag *d)
{
	uint8_t uuid[16];
	size_t tl;
	struct sq_type *t;
	int64_t found, seq;
	st_time ver = 0, date = 0;
	bool exists, eq = true;
	sqlite3_stmt *st;
	int rc;

	item_reset(it);
	if (store_id_split(it->id, &tl, uuid) != ST_OK)
		return diag_set(d, ST_EINVAL, "invalid id");
	rc = type_get(s, it->id, tl, &t, d);
	bool maybe = true;
	if (s->idf_use) {
		pthread_mutex_lock(&s->idf.mu);
		maybe = sq_idf_maybe_locked(&s->idf, uuid);
		pthread_mutex_unlock(&s->idf.mu);
	}
	found = 0;
	exists = false;
	if (rc == ST_OK && maybe)
		rc = find_item(s, uuid, t->code, it, &found, &ver, &exists, d);
	if (rc != ST_OK)
		return rc;
	if (found != 0) {
		it->seq = (uint64_t)found;
		it->stored_version = ver;
		if (it->versioned)
			rc = body_equal(s, found, it, &eq, d);
		if (rc != ST_OK)
			return rc;
		if (!eq) {
			it->result = STORE_CONFLICT;
			return ST_OK;
		}
		it->result = STORE_DUPLICATE;
		if (cid == 0)
			return ST_OK;
		bool member;
		rc = is_member(s, cid, found, &member, d);
		if (rc != ST_OK || member)
			return rc;
		date = next_date(s);
		rc = add_member(s, cid, found, date, d);
		if (rc == ST_OK)
			rc = members_refresh(s, uuid, t->code, cid, d);
		if (rc == ST_OK) {
			it->date_added = date;
			it->added_to_collection = true;
		}
		return rc;
	}

	/* A new version. An SCO's version key is its first date_added. */
	if (it->versioned) {
		ver = it->version;
	} else {
		date = next_date(s);
		ver = date;
	}
	seq = (int64_t)s->last_seq + 1;
	st = s->ws[W_INSERT];
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, t->code);
	sqlite3_bind_blob(st, 3, uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ver);
	sqlite3_bind_int(st, 5, it->tlp);
	sqlite3_bind_int(st, 6, it->flags);
	sqlite3_bind_text(st, 7, it->body, (int)it->body_len, SQLITE_STATIC);
	if (it->warnings != NULL)
		sqlite3_bind_text(st, 8, it->warnings, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 8);
	if (it->prov != NULL && it->prov_len > 0)
		sqlite3_bind_blob(st, 9, it->prov, (int)it->prov_len,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 9);
	rc = step_done(s, W_INSERT, d);
	if (rc != ST_OK)
		return rc;
	int kw = s->keys_direct ? W_KEY_ADD_MAIN : W_KEY_ADD;
	st = s->ws[kw];
	sqlite3_bind_blob(st, 1, uuid, 16, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t->code);
	sqlite3_bind_int64(st, 3, ver);
	sqlite3_bind_int64(st, 4, seq);
	rc = step_done(s, kw, d);
	if (rc != ST_OK)
		return rc;
	if (!s->keys_direct)
		s->recent_keys++;
	if (s->idf_use) {
		pthread_mutex_lock(&s->idf.mu);
		sq_idf_add_locked(&s->idf, uuid);
		pthread_mutex_unlock(&s->idf.mu);
	}
	s->last_seq = (uint64_t)seq;
	t->dversions++;
	if (!exists)
		t->dobjects++;
	it->result = STORE_STORED;
	it->seq = (uint64_t)seq;
	it->stored_version = ver;
	if (cid == 0)
		return ST_OK;
	if (date == 0)
		date = next_date(s);
	rc = add_member(s, cid, seq, date, d);
	if (rc == ST_OK && exists)
		rc = members_refresh(s, uuid, t->code, cid, d);
	if (rc == ST_OK) {
		it->date_added = date;
		it->added_to_collection = true;
	}
	return rc;
}

/* A deadline ms from now on CLOCK_MONOTONIC (work_cv's and ck_cv's clock). */
static struct timespec deadline_in(uint32_t ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	return dl;
}

/* Names the calling thread, for top -H and perf. */
static void thread_name(const char *name)
{
#ifdef __linux__
	prctl(PR_SET_NAME, name, 0, 0, 0);
#else
	(void)name;
#endif
}

/* ------------------------------------------------------------------ */
/* Checkpoints                                                          */
/* ------------------------------------------------------------------ */

/* After each commit of the writer (in the writer thread). */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq_store *s = arg;
	(void)db;
	(void)name;
	s->wal_pages = (uint32_t)pages;
	if ((uint32_t)pages >= s->ckpt_pages) {
		pthread_mutex_lock(&s->ck_mu);
		s->ck_want = true;
		pthread_cond_signal(&s->ck_cv);
		pthread_mutex_unlock(&s->ck_mu);
	}
	return SQLITE_OK;
}

/*
 * PASSIVE checkpoints never block the writer, but under a writer that
 * never pauses they never finish: the WAL only restarts from its start
 * once every frame is copied back, so it would grow without end, and
 * every page-cache miss searches the WAL index of all of it. So when the
 * WAL has grown to twice the threshold, the writer pauses between two
 * transactions until the checkpointer has copied the rest (most of it is
 * already copied by then), and its next transaction restarts the WAL.
 */
static void writer_pause_for_checkpoint(struct sq_store *s)
{
	if (s->wal_pages < s->ckpt_pages) {
		s->stall_pages = 0;
		return;
	}
	if (s->wal_pages < 2 * s->ckpt_pages ||
	    s->wal_pages < s->stall_pages + s->ckpt_pages)
		return;
	/* (Readers holding old snapshots can keep the WAL from restarting:
	 * then pause again only once it has grown by another threshold.) */
	s->stall_pages = s->wal_pages;
	pthread_mutex_lock(&s->ck_mu);
	s->ck_stall = true;
	s->ck_want = true;
	pthread_cond_signal(&s->ck_cv);
	while (s->ck_stall)
		pthread_cond_wait(&s->ck_done_cv, &s->ck_mu);
	pthread_mutex_unlock(&s->ck_mu);
}

/*
 * How many readers are open (ck_mu held: lock order ck_mu, r_mu).
 */
static uint32_t readers_open(struct sq_store *s)
{
	pthread_mutex_lock(&s->r_mu);
	uint32_t n = s->r_open;
	pthread_mutex_unlock(&s->r_mu);
	return n;
}

/*
 * The checkpointer also closes idle readers: while some are open, it
 * wakes every idle_ms / 2 (at most 1 s apart) to close those unused for
 * idle_ms; with none open it sleeps until a reader is opened. Nothing of
 * this runs on a caller's path.
 */
static void ckpt_wait(struct sq_store *s)
{
	while (!s->ck_want && !s->ck_stop) {
		if (s->idle_ms == 0 || readers_open(s) == 0) {
			pthread_cond_wait(&s->ck_cv, &s->ck_mu);
			continue;
		}
		uint32_t tick = s->idle_ms / 2;
		tick = tick < 5 ? 5 : tick > 1000 ? 1000 : tick;
		struct timespec dl = deadline_in(tick);
		if (pthread_cond_timedwait(&s->ck_cv, &s->ck_mu, &dl) !=
		    ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&s->ck_mu);
		sq_readers_trim(s, s->idle_ms);
		pthread_mutex_lock(&s->ck_mu);
	}
}

static void *ckpt_main(void *arg)
{
	struct sq_store *s = arg;
	thread_name("strait-ckpt");
	pthread_mutex_lock(&s->ck_mu);
	for (;;) {
		ckpt_wait(s);
		if (s->ck_stop && !s->ck_stall)
			break;
		bool stall = s->ck_stall;
		s->ck_want = false;
		pthread_mutex_unlock(&s->ck_mu);

		int log = 0, done = 0;
		int rc = sqlite3_wal_checkpoint_v2(
		    s->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store", "%s: checkpoint: %s", s->path,
				 sqlite3_errmsg(s->cdb));
		sqlite3_db_release_memory(s->cdb);

		pthread_mutex_lock(&s->ck_mu);
		if (stall) {
			s->ck_stall = false;
			pthread_cond_broadcast(&s->ck_done_cv);
		}
	}
	pthread_mutex_unlock(&s->ck_mu);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Groups of batches                                                    */
/* ------------------------------------------------------------------ */

/* Items [from, to) of a batch; last when they end the batch. */
struct seg {
	struct store_batch *b;
	size_t from, to;
	bool last;
};

static void fail_items(struct store_batch *b, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		item_reset(&b->items[i]);
		b->items[i].result = STORE_FAILED;
	}
}

static void fail_seg(const struct seg *g, int rc, const struct diag *d)
{
	struct store_batch *b = g->b;
	if (b->rc == ST_OK) {
		b->rc = rc;
		memcpy(&b->diag, d, sizeof(b->diag));
	}
	fail_items(b, g->from, g->to);
}

static int has_collection(struct sq_store *s, int64_t cid, bool *yes,
			  struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_HAS_COLL];
	int rc = ST_OK;
	sqlite3_bind_int64(st, 1, cid);
	int src = sqlite3_step(st);
	*yes = src == SQLITE_ROW;
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		rc = sql_diag(s->wdb, d, "collection");
	sqlite3_reset(st);
	return rc;
}

/*
 * Writes segments in one transaction. A batch for a missing collection
 * fails alone, writing nothing; any other failure rolls the whole
 * transaction back and is returned (the caller retries one by one).
 */
/*
 * The id filter for the transaction just begun: complete for its snapshot
 * (the write lock held, nothing else commits), built when due, grown when
 * full. Used only if built now: a reader may build it meanwhile, from a
 * snapshot without this transaction's rows.
 */
static void idf_begin(struct sq_store *s, size_t rows)
{
	struct sq_idf_stmts q = {s->ws[W_IDF_AFTER], s->ws[W_IDF_ALL]};
	struct diag d;
	pthread_mutex_lock(&s->idf.mu);
	int rc = sq_idf_sync_locked(&s->idf, s->wdb, &q, (int64_t)s->last_seq,
				    rows, true, &d);
	if (rc != ST_OK) /* the transaction goes on without it */
		log_warn("store", "%s: id filter: %s", s->path, d.msg);
	s->idf_use =
	    rc == ST_OK && sq_idf_covers_locked(&s->idf, (int64_t)s->last_seq);
	s->idf_from = (int64_t)s->last_seq;
	pthread_mutex_unlock(&s->idf.mu);
}

/* After the commit: this transaction's versions, added as they were
 * written, are in the filter. */
static void idf_committed(struct sq_store *s)
{
	if (!s->idf_use)
		return;
	pthread_mutex_lock(&s->idf.mu);
	if (s->idf.built && s->idf.through >= s->idf_from &&
	    s->idf.through < (int64_t)s->last_seq)
		s->idf.through = (int64_t)s->last_seq;
	pthread_mutex_unlock(&s->idf.mu);
}

static int write_segs(struct sq_store *s, struct seg *g, size_t n,
		      struct sq_astatus *as, bool one_status, struct diag *d)
{
	int rc = tx_begin(s, d);
	/* A transaction at least as large as keys_recent may grow gains
	 * nothing from it (a bulk import): its keys go to keys_main, sorted
	 * by nothing but as the old single index took them, written once. */
	size_t rows = 0;
	for (size_t i = 0; i < n; i++)
		rows += g[i].to - g[i].from;
	s->keys_direct = (int64_t)rows >= direct_limit(s);
	if (rows > 0) /* rows per commit, a moving average */
		s->commit_rows += ((double)rows - s->commit_rows) / 8;
	s->idf_use = false;
	if (rc == ST_OK)
		idf_begin(s, rows);
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		struct store_batch *b = g[i].b;
		if (b->rc != ST_OK) {
			/* An earlier part of this batch failed. */
			fail_items(b, g[i].from, g[i].to);
			continue;
		}
		if (b->cid != 0) {
			bool yes;
			struct diag nd;
			rc = has_collection(s, b->cid, &yes, d);
			if (rc == ST_OK && !yes) {
				diag_set(&nd, ST_ENOTFOUND,
					 "no collection %lld",
					 (long long)b->cid);
				fail_seg(&g[i], ST_ENOTFOUND, &nd);
				continue;
			}
		}
		for (size_t k = g[i].from; rc == ST_OK && k < g[i].to; k++) {
			rc = write_item(s, b->cid, &b->items[k], d);
			if (rc != ST_OK)
				diag_prefix(d, "%s", b->items[k].id);
		}
	}
	if (rc == ST_OK && as != NULL)
		rc = sq_status_write_tx(s, as, one_status, d);
	if (rc == ST_OK) {
		purge_if_due(s);
		rc = tx_commit(s, d);
	}
	if (rc == ST_OK)
		idf_committed(s);
	if (rc != ST_OK)
		tx_rollback(s);
	s->idf_use = false;
	return rc;
}

/*
 * Writes statuses that failed with a group: together, else each alone;
 * one that still fails gets its error (a sync caller sees it; an async
 * one is lost, and logged). Returns how many transactions committed.
 */
static uint64_t write_statuses_apart(struct sq_store *s, struct sq_astatus *as,
				     bool together)
{
	struct diag d = {""};
	uint64_t commits = 0;
	if (together && as->next != NULL &&
	    write_segs(s, NULL, 0, as, false, &d) == ST_OK)
		return 1;
	/* (The list is not changed: sq_status_get reads it.) */
	for (struct sq_astatus *a = as; a != NULL; a = a->next) {
		int rc = write_segs(s, NULL, 0, a, true, &d);
		if (rc == ST_OK) {
			commits++;
			continue;
		}
		a->rc = rc;
		if (a->sync && a->d != NULL)
			memcpy(a->d, &d, sizeof(d));
		else if (!a->sync)
			log_warn("store", "%s: status %s not stored: %s",
				 s->path, a->st.id, d.msg);
	}
	return commits;
}

/*
 * Writes a group of segments and the statuses as taken (either may be
 * empty); returns how many transactions committed.
 */
static uint64_t write_group(struct sq_store *s, struct seg *g, size_t n,
			    struct sq_astatus *as)
{
	struct diag d = {""};
	uint64_t commits = 0;
	int rc = write_segs(s, g, n, as, false, &d);
	if (rc == ST_OK)
		return 1;
	if (n == 0)
		return write_statuses_apart(s, as, false);
	if (n == 1 && as == NULL) {
		fail_seg(&g[0], rc, &d);
		return 0;
	}
	log_warn("store", "%s: group of %zu failed (%s), retrying each",
		 s->path, n, d.msg);
	for (size_t i = 0; i < n; i++) {
		rc = write_segs(s, &g[i], 1, NULL, false, &d);
		if (rc == ST_OK)
			commits++;
		else
			fail_seg(&g[i], rc, &d);
	}
	if (as != NULL)
		commits += write_statuses_apart(s, as, true);
	return commits;
}

/* Takes every queued status for the next transaction (mu held); *n gets
 * their count. They stay findable in as_busy until durable. */
static struct sq_astatus *take_statuses(struct sq_store *s, size_t *n)
{
	struct sq_astatus *as = s->as_head;
	*n = 0;
	if (as == NULL)
		return NULL;
	if (s->as_busy_tail != NULL)
		s->as_busy_tail->next = as;
	else
		s->as_busy = as;
	s->as_busy_tail = s->as_tail;
	for (struct sq_astatus *a = as; a != NULL; a = a->next)
		(*n)++;
	s->as_head = s->as_tail = NULL;
	return as;
}

/*
 * Once their commit is durable (mu held): the n oldest statuses written
 * leave the list that sq_status_get searches; sync callers are told (the
 * caller broadcasts done_cv), async ones are freed.
 */
static void statuses_done(struct sq_store *s, size_t n)
{
	struct sq_astatus *a = s->as_busy, *next;
	for (; a != NULL && n > 0; a = next, n--) {
		next = a->next;
		s->as_queued--;
		if (a->sync)
			a->done = true;
		else
			sq_astatus_free(a);
	}
	s->as_busy = a;
	if (a == NULL)
		s->as_busy_tail = NULL;
}

/*
 * The writer has been idle for idle_ms: releases its page cache (it is
 * out of any transaction, so every page is unpinned), asks for a
 * checkpoint of what the WAL still holds, and gives freed heap back.
 */
static void writer_release(struct sq_store *s)
{
	sqlite3_db_release_memory(s->wdb);
	pthread_mutex_lock(&s->ck_mu);
	s->ck_want = true;
	pthread_cond_signal(&s->ck_cv);
	pthread_mutex_unlock(&s->ck_mu);
	sq_heap_trim();
}

static int run_job_tx(struct sq_store *s, struct sq_job *j)
{
	int rc = tx_begin(s, j->d);
	if (rc == ST_OK)
		rc = j->fn(j);
	if (rc == ST_OK) {
		purge_if_due(s);
		rc = tx_commit(s, j->d);
	}
	if (rc != ST_OK)
		tx_rollback(s);
	return rc;
}

/*
 * Runs the queued jobs in one transaction (status resources from many
 * concurrent Add Objects share one commit); when that fails, rolls back
 * and runs each in a transaction of its own, so a job that fails (an
 * existing collection, say) fails alone. Jobs only write to the database
 * and their own outputs, so running one again is harmless. Returns how
 * many transactions committed.
 */
static uint64_t run_jobs(struct sq_store *s, struct sq_job *j)
{
	struct diag d = {""};
	struct sq_job *k;
	uint64_t commits = 0;
	int rc;
	if (j->next != NULL) {
		rc = tx_begin(s, &d);
		for (k = j; rc == ST_OK && k != NULL; k = k->next)
			rc = k->fn(k);
		if (rc == ST_OK) {
			purge_if_due(s);
			rc = tx_commit(s, &d);
		}
		if (rc == ST_OK) {
			for (k = j; k != NULL; k = k->next)
				k->rc = ST_OK;
			return 1;
		}
		tx_rollback(s);
	}
	for (k = j; k != NULL; k = k->next) {
		k->rc = run_job_tx(s, k);
		commits += k->rc == ST_OK;
	}
	return commits;
}

/*
 * Called with mu held once a commit is durable, with the writer's marks
 * as of that commit (a rollback reloads them), so followers never see a
 * seq or date that is not committed and durable. Returns whether they
 * moved: then wake_followers, once posters have been told.
 */
static bool publish_marks(struct sq_store *s, uint64_t seq, st_time date)
{
	if (s->c_seq == seq && s->c_date == date)
		return false;
	pthread_mutex_lock(&s->f_mu);
	s->c_seq = seq;
	s->c_date = date;
	pthread_mutex_unlock(&s->f_mu);
	return true;
}

/* With mu held; releases it for the while: a thousand stream subscribers
 * take a while to wake, and new batches should not wait behind that. */
static void wake_followers(struct sq_store *s)
{
	pthread_mutex_unlock(&s->mu);
	pthread_cond_broadcast(&s->seq_cv);
	pthread_mutex_lock(&s->mu);
}

/* ------------------------------------------------------------------ */
/* Durability: the syncer                                               */
/* ------------------------------------------------------------------ */

/* One commit waiting to be durable. */
struct sq_ticket {
	struct sq_ticket *next;
	size_t n_as;	  /* statuses it wrote (the front of as_busy) */
	uint64_t commits; /* transactions it counts */
	uint64_t seq;	  /* the writer's marks after it */
	st_time date;
	bool lazy; /* only statuses nobody waits for: may wait for company */
	size_t nb;
	struct store_batch *b[]; /* batches it completes */
};

/* Makes every commit so far durable. ST_OK, or ST_EIO. */
static int wal_sync(struct sq_store *s)
{
	if (s->wal_fd < 0)
		return ST_OK; /* synchronous=FULL did it in the commit */
	if (fdatasync(s->wal_fd) == 0) {
		atomic_fetch_add(&s->syncs, 1);
		return ST_OK;
	}
	log_error("store", "%s-wal: fdatasync: %s", s->path, strerror(errno));
	return ST_EIO;
}

/* A ticket for the commit just written, or NULL (no syncer, or no memory:
 * the writer then syncs itself). */
static struct sq_ticket *ticket_new(struct sq_store *s, const struct seg *g,
				    size_t ng, size_t n_as, uint64_t commits)
{
	if (s->wal_fd < 0)
		return NULL;
	size_t nb = 0;
	for (size_t i = 0; i < ng; i++)
		nb += g[i].last;
	struct sq_ticket *t = malloc(sizeof(*t) + nb * sizeof(t->b[0]));
	if (t == NULL)
		return NULL;
	t->next = NULL;
	t->n_as = n_as;
	t->commits = commits;
	t->seq = s->last_seq;
	t->date = s->last_date;
	t->lazy = false;
	t->nb = 0;
	for (size_t i = 0; i < ng; i++)
		if (g[i].last)
			t->b[t->nb++] = g[i].b;
	return t;
}

/* mu held. */
static void ticket_push(struct sq_store *s, struct sq_ticket *t)
{
	if (s->t_tail != NULL)
		s->t_tail->next = t;
	else
		s->t_head = t;
	s->t_tail = t;
	pthread_cond_signal(&s->t_cv);
}

/* mu held: waits until every ticket queued is durable and told (a
 * syncer holding lazy tickets back is told not to wait). */
static void tickets_drain(struct sq_store *s)
{
	while (s->t_head != NULL || s->t_busy) {
		s->t_hurry = true;
		pthread_cond_signal(&s->t_cv);
		pthread_cond_wait(&s->done_cv, &s->mu);
	}
}

/* A segment's batch is done if this was its last segment (mu held). */
static void seg_done(struct sq_store *s, const struct seg *g, int src)
{
	if (!g->last)
		return;
	if (src != ST_OK && g->b->rc == ST_OK) {
		fail_items(g->b, 0, g->b->n);
		g->b->rc = diag_set(&g->b->diag, src,
				    "store: %s: the commit could not be made "
				    "durable",
				    s->path);
	}
	g->b->priv_done = true;
	s->batches++;
}

/* Whether none of the n statuses from as on has a caller waiting. */
static bool statuses_async(const struct sq_astatus *as, size_t n)
{
	for (; as != NULL && n > 0; as = as->next, n--)
		if (as->sync)
			return false;
	return true;
}

static void *syncer_main(void *arg)
{
	struct sq_store *s = arg;
	thread_name("strait-sync");
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->t_head == NULL && !s->t_stop)
			pthread_cond_wait(&s->t_cv, &s->mu);
		if (s->t_head == NULL)
			break; /* stopping, and nothing left */
		struct sq_ticket *t = s->t_head, *next;
		s->t_head = s->t_tail = NULL;
		s->t_busy = true;
		/* Statuses alone, that nobody waits for (each TAXII Add
		 * Objects puts one after its objects are durable): they wait
		 * up to status_sync_ms for the next commit, to share its
		 * sync, rather than double the syncs. Committed, they are
		 * readable meanwhile (the crash window store.h states). */
		bool lazy = true;
		struct sq_ticket *last = t;
		for (struct sq_ticket *x = t; x != NULL; x = x->next) {
			lazy = lazy && x->lazy;
			last = x;
		}
		struct timespec dl = deadline_in(s->status_sync_ms);
		/* Lazy tickets that come meanwhile (statuses of other
		 * requests) join the wait; the first other ticket, or the
		 * deadline, ends it. */
		while (lazy && !s->t_hurry && !s->t_stop) {
			if (s->t_head != NULL) {
				last->next = s->t_head;
				s->t_head = s->t_tail = NULL;
				for (; last->next != NULL; last = last->next)
					lazy = lazy && last->next->lazy;
				continue;
			}
			if (pthread_cond_timedwait(&s->t_cv, &s->mu, &dl) != 0)
				break;
		}
		s->t_hurry = false;
		pthread_mutex_unlock(&s->mu);
		int src = wal_sync(s);
		pthread_mutex_lock(&s->mu);
		uint64_t seq = s->c_seq;
		st_time date = s->c_date;
		for (; t != NULL; t = next) {
			next = t->next;
			s->commits += t->commits;
			statuses_done(s, t->n_as);
			for (size_t i = 0; i < t->nb; i++) {
				struct seg one = {t->b[i], 0, 0, true};
				seg_done(s, &one, src);
			}
			seq = t->seq;
			date = t->date;
			free(t);
		}
		s->t_busy = false;
		bool moved = publish_marks(s, seq, date);
		pthread_cond_broadcast(&s->done_cv);
		if (moved)
			wake_followers(s);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void *writer_main(void *arg)
{
	struct sq_store *s = arg;
	struct seg *g = NULL;
	size_t ng, gcap = 0;

	thread_name("strait-writer");
	pthread_mutex_lock(&s->mu);
	for (;;) {
		bool timed_out = false;
		struct timespec dl = deadline_in(s->idle_ms);
		while (s->q_head == NULL && s->j_head == NULL &&
		       s->as_head == NULL && !s->stopping) {
			if (s->w_released || s->idle_ms == 0) {
				pthread_cond_wait(&s->work_cv, &s->mu);
			} else if (pthread_cond_timedwait(&s->work_cv, &s->mu,
							  &dl) == ETIMEDOUT) {
				timed_out = true;
				break;
			}
		}
		if (timed_out) {
			s->w_released = true;
			pthread_mutex_unlock(&s->mu);
			writer_release(s);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		s->w_released = false;
		if (s->j_head != NULL) {
			/* Jobs are rare (removals, collections, purges): they
			 * run once everything before them is durable, and are
			 * made durable before their callers hear. */
			tickets_drain(s);
			struct sq_job *j = s->j_head, *next;
			s->j_head = s->j_tail = NULL;
			/* The statuses queued before these jobs are written
			 * first (a purge sees them). */
			size_t n_as;
			struct sq_astatus *as = take_statuses(s, &n_as);
			pthread_mutex_unlock(&s->mu);
			uint64_t commits =
			    as != NULL ? write_group(s, NULL, 0, as) : 0;
			commits += run_jobs(s, j);
			int src = wal_sync(s);
			writer_pause_for_checkpoint(s);
			pthread_mutex_lock(&s->mu);
			for (; j != NULL; j = next) {
				next = j->next;
				if (src != ST_OK && j->rc == ST_OK)
					j->rc =
					    diag_set(j->d, src,
						     "store: %s: the commit "
						     "could not be made "
						     "durable",
						     s->path);
				j->done = true;
			}
			s->commits += commits;
			bool moved =
			    publish_marks(s, s->last_seq, s->last_date);
			statuses_done(s, n_as);
			pthread_cond_broadcast(&s->done_cv);
			if (moved)
				wake_followers(s);
			continue;
		}
		if (s->q_head == NULL && s->as_head == NULL)
			break; /* stopping, and nothing left */

		/* Take what is queued, up to batch_max items. */
		size_t budget = s->batch_max;
		ng = 0;
		while (s->q_head != NULL && budget > 0) {
			struct store_batch *b = s->q_head;
			size_t rem = b->n - s->head_off;
			size_t take = rem < budget ? rem : budget;
			if (ng == gcap) {
				size_t ncap = gcap ? gcap * 2 : 64;
				void *p = realloc(g, ncap * sizeof(*g));
				if (p == NULL)
					break;
				g = p;
				gcap = ncap;
			}
			g[ng++] = (struct seg){b, s->head_off,
					       s->head_off + take, take == rem};
			budget -= take;
			if (take == rem) {
				s->q_head = b->priv_next;
				if (s->q_head == NULL)
					s->q_tail = NULL;
				s->head_off = 0;
			} else {
				s->head_off += take;
			}
		}
		if (ng == 0 && s->q_head != NULL) {
			/* No memory for even one segment: fail the head. */
			struct store_batch *b = s->q_head;
			s->q_head = b->priv_next;
			if (s->q_head == NULL)
				s->q_tail = NULL;
			fail_items(b, s->head_off, b->n);
			s->head_off = 0;
			if (b->rc == ST_OK)
				b->rc = diag_set(&b->diag, ST_ENOMEM,
						 "store: no memory");
			b->priv_done = true;
			s->batches++;
			pthread_cond_broadcast(&s->done_cv);
			continue;
		}
		/* And every status queued: they share the commit. */
		size_t n_as;
		struct sq_astatus *as = take_statuses(s, &n_as);
		pthread_mutex_unlock(&s->mu);

		uint64_t commits = write_group(s, g, ng, as);
		struct sq_ticket *t = ticket_new(s, g, ng, n_as, commits);
		if (t != NULL && ng == 0 && statuses_async(as, n_as)) {
			/* counted now: its sync may wait (see syncer_main) */
			t->lazy = true;
			t->commits = 0;
		}
		int src = t == NULL ? wal_sync(s) : ST_OK;
		writer_pause_for_checkpoint(s);

		pthread_mutex_lock(&s->mu);
		if (t != NULL) {
			/* The syncer tells the callers once it is durable. */
			if (t->lazy)
				s->commits += commits;
			ticket_push(s, t);
			continue;
		}
		/* No ticket (no memory, or no syncer): durable already. */
		s->commits += commits;
		bool moved = publish_marks(s, s->last_seq, s->last_date);
		statuses_done(s, n_as);
		for (size_t i = 0; i < ng; i++)
			seg_done(s, &g[i], src);
		pthread_cond_broadcast(&s->done_cv);
		if (moved)
			wake_followers(s);
	}
	tickets_drain(s);
	pthread_mutex_unlock(&s->mu);
	free(g);
	return NULL;
}

/*
 * Starts the syncer when the WAL file can be opened for fdatasync; then
 * the writer's commits stop syncing themselves. Otherwise everything
 * stays as synchronous=FULL makes it: slower, as durable.
 */
static void syncer_start(struct sq_store *s)
{
	char path[4096];
	struct diag d;
	if (snprintf(path, sizeof(path), "%s-wal", s->path) >=
	    (int)sizeof(path))
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_warn("store", "%s: %s: each commit syncs itself", path,
			 strerror(errno));
		return;
	}
	s->wal_fd = fd;
	if (pthread_create(&s->syncer, NULL, syncer_main, s) != 0) {
		s->wal_fd = -1;
		close(fd);
		return;
	}
	s->syncer_started = true;
	/* From the next transaction on: the writer is not started yet. */
	if (sq_exec(s->wdb, "PRAGMA synchronous = NORMAL", &d) != ST_OK)
		log_warn("store", "%s: %s", s->path, d.msg);
}

int sq_writer_start(struct sq_store *s, struct diag *d)
{
	int rc = ST_OK;
	for (int i = 0; rc == ST_OK && i < W_NSTMT; i++)
		rc = sq_prepare(s->wdb, wsql[i], &s->ws[i], d);
	if (rc == ST_OK)
		rc = sq_load_state(s, d);
	if (rc != ST_OK)
		return rc;
	s->c_seq = s->last_seq;
	s->c_date = s->last_date;
	rc = sq_open_conn(s, SQLITE_OPEN_READWRITE, 1024, &s->cdb, d);
	if (rc == ST_OK)
		rc = sq_exec(s->cdb, "PRAGMA synchronous = FULL", d);
	if (rc != ST_OK)
		return rc;
	sqlite3_wal_hook(s->wdb, wal_hook, s);
	if (pthread_create(&s->ckpt, NULL, ckpt_main, s) != 0)
		return diag_set(d, ST_ENOMEM, "store: cannot start a thread");
	s->ckpt_started = true;
	syncer_start(s);
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
		return diag_set(d, ST_ENOMEM, "store: cannot start a thread");
	s->writer_started = true;
	return ST_OK;
}

void sq_writer_stop(struct sq_store *s)
{
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_lock(&s->f_mu);
	s->f_stopping = true;
	pthread_cond_broadcast(&s->seq_cv);
	pthread_mutex_unlock(&s->f_mu);
	if (s->writer_started)
		pthread_join(s->writer, NULL);
	if (s->syncer_started) {
		pthread_mutex_lock(&s->mu);
		s->t_stop = true;
		pthread_cond_signal(&s->t_cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->syncer, NULL);
		s->syncer_started = false;
	}
	pthread_mutex_lock(&s->ck_mu);
	s->ck_stop = true;
	pthread_cond_signal(&s->ck_cv);
	pthread_mutex_unlock(&s->ck_mu);
	if (s->ckpt_started)
		pthread_join(s->ckpt, NULL);
}

/* ------------------------------------------------------------------ */
/* Callers' side                                                        */
/* ------------------------------------------------------------------ */

int sq_run_job(struct sq_store *s, int (*fn)(struct sq_job *j), void *arg,
	       struct diag *d)
{
	struct sq_job j = {fn, s, arg, d, ST_OK, false, NULL};
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		return diag_set(d, ST_ECLOSED, "store: closing");
	}
	if (s->j_tail != NULL)
		s->j_tail->next = &j;
	else
		s->j_head = &j;
	s->j_tail = &j;
	pthread_cond_signal(&s->work_cv);
	while (!j.done)
		pthread_cond_wait(&s->done_cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return j.rc;
}

int sq_submit(struct store *st, struct store_batch *b)
{
	struct sq_store *s = SQ(st);
	int rc = ST_OK;
	if (b == NULL || (b->n > 0 && b->items == NULL))
		return ST_EINVAL;
	b->rc = ST_OK;
	b->diag.msg[0] = '\0';
	b->priv_next = NULL;
	b->priv_done = false;
	if (b->cid < 0) {
		rc = diag_set(&b->diag, ST_EINVAL, "invalid collection %lld",
			      (long long)b->cid);
		goto out;
	}
	for (size_t i = 0; i < b->n; i++) {
		struct store_item *it = &b->items[i];
		uint8_t u[16];
		size_t tl;
		item_reset(it);
		if (store_id_split(it->id, &tl, u) != ST_OK) {
			rc = diag_set(&b->diag, ST_EINVAL,
				      "item %zu: invalid id '%.80s'", i,
				      it->id != NULL ? it->id : "(null)");
			goto out;
		}
		if (it->body == NULL || it->body_len == 0 ||
		    it->body_len > INT32_MAX) {
			rc = diag_set(&b->diag, ST_EINVAL,
				      "item %zu (%s): no body", i, it->id);
			goto out;
		}
	}
	pthread_mutex_lock(&s->mu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->mu);
		rc = diag_set(&b->diag, ST_ECLOSED, "store: closing");
		goto out;
	}
	if (s->q_tail != NULL)
		s->q_tail->priv_next = b;
	else
		s->q_head = b;
	s->q_tail = b;
	pthread_cond_signal(&s->work_cv);
	pthread_mutex_unlock(&s->mu);
out:
	if (rc != ST_OK) {
		b->rc = rc;
		fail_items(b, 0, b->n);
		b->priv_done = true;
	}
	return rc;
}

int sq_wait(struct store *st, struct store_batch *b)
{
	struct sq_store *s = SQ(st);
	pthread_mutex_lock(&s->mu);
	while (!b->priv_done)
		pthread_cond_wait(&s->done_cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return b->rc;
}

/* ------------------------------------------------------------------ */
/* Removing memberships (TAXII DELETE)                                  */
/* ------------------------------------------------------------------ */

struct remove_arg {
	int64_t cid;
	const char *id;
	const struct store_vmatch *v;
	size_t removed;
};

/* Is member i of n (by version key) selected by v? */
static bool selected(const struct store_vmatch *v, const struct sq_member *m,
		     size_t i, size_t n)
{
	if (v->sel & STORE_VM_ALL)
		return true;
	if ((v->sel & STORE_VM_FIRST) && i == 0)
		return true;
	if ((v->sel & STORE_VM_LAST) && i == n - 1)
		return true;
	for (size_t k = 0; k < v->nat; k++)
		if (v->at[k] == m->version)
			return true;
	return false;
}

static int remove_job(struct sq_job *j)
{
	struct sq_store *s = j->s;
	struct remove_arg *a = j->arg;
	size_t n = 0, tl, kept = 0;
	uint8_t uuid[16];
	sqlite3_stmt *st;
	bool yes;
	int rc;

	a->removed = 0;
	if (store_id_split(a->id, &tl, uuid) != ST_OK)
		return diag_set(j->d, ST_EINVAL, "remove: invalid id");
	rc = has_collection(s, a->cid, &yes, j->d);
	if (rc != ST_OK)
		return rc;
	if (!yes)
		return diag_set(j->d, ST_ENOTFOUND, "no collection %lld",
				(long long)a->cid);
	if (s->types_cap == 0)
		return ST_OK;
	struct sq_type *t = type_slot(s->types, s->types_cap, a->id, tl);
	if (t->name == NULL)
		return ST_OK; /* a type never stored: nothing to remove */
	rc = members_load(s, uuid, t->code, a->cid, &n, j->d);

	st_time date = 0;
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		struct sq_member m = s->mbuf[i];
		if (!selected(a->v, &m, i, n)) {
			s->mbuf[kept++] = m; /* stays: compacted in place */
			continue;
		}
		if (date == 0)
			date = next_date(s); /* one per removal */
		st = s->ws[W_UNMEMBER];
		sqlite3_bind_int64(st, 1, a->cid);
		sqlite3_bind_int64(st, 2, m.date_added);
		rc = step_done(s, W_UNMEMBER, j->d);
		if (rc != ST_OK)
			break;
		st = s->ws[W_REMOVAL];
		sqlite3_bind_int64(st, 1, date);
		sqlite3_bind_int64(st, 2, (int64_t)s->last_seq);
		sqlite3_bind_int64(st, 3, a->cid);
		sqlite3_bind_int64(st, 4, m.seq);
		sqlite3_bind_int64(st, 5, m.date_added);
		rc = step_done(s, W_REMOVAL, j->d);
		a->removed++;
	}
	/* The remaining members have a new last or first. */
	if (rc == ST_OK && a->removed > 0)
		rc = members_fix(s, a->cid, kept, j->d);
	return rc;
}

int sq_remove(struct store *st, int64_t cid, const char *id,
	      const struct store_vmatch *v, const char *const *spec_versions,
	      size_t nspec, size_t *removed, struct diag *d)
{
	/* strait stores only 2.1: store_remove has applied spec_versions. */
	(void)spec_versions;
	(void)nspec;
	struct remove_arg a = {cid, id, v, 0};
	int rc = sq_run_job(SQ(st), remove_job, &a, d);
	*removed = rc == ST_OK ? a.removed : 0;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Following the log                                                    */
/* ------------------------------------------------------------------ */

/* Waits on seq_cv until done(s) or timeout_ms (< 0: none); f_mu held. */
static void wait_marks(struct sq_store *s,
		       bool (*done)(struct sq_store *s, const void *arg),
		       const void *arg, int timeout_ms)
{
	struct timespec dl;
	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	while (!done(s, arg) && !s->f_stopping && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&s->seq_cv, &s->f_mu);
		else if (pthread_cond_timedwait(&s->seq_cv, &s->f_mu, &dl) ==
			 ETIMEDOUT)
			break;
	}
}

static bool seq_past(struct sq_store *s, const void *arg)
{
	return s->c_seq > *(const uint64_t *)arg;
}

static bool date_past(struct sq_store *s, const void *arg)
{
	return s->c_date > *(const st_time *)arg;
}

uint64_t sq_wait_seq(struct store *st, uint64_t after_seq, int timeout_ms)
{
	struct sq_store *s = SQ(st);
	if (timeout_ms == 0 || s->c_seq > after_seq)
		return s->c_seq;
	pthread_mutex_lock(&s->f_mu);
	wait_marks(s, seq_past, &after_seq, timeout_ms);
	uint64_t v = s->c_seq;
	pthread_mutex_unlock(&s->f_mu);
	return v;
}

st_time sq_wait_added(struct store *st, st_time after, int timeout_ms)
{
	struct sq_store *s = SQ(st);
	if (timeout_ms == 0 || s->c_date > after)
		return s->c_date;
	pthread_mutex_lock(&s->f_mu);
	wait_marks(s, date_past, &after, timeout_ms);
	st_time v = s->c_date;
	pthread_mutex_unlock(&s->f_mu);
	return v;
}
