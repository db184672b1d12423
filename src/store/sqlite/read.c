/*
 * strait: the SQLite backend's read side. Read-only connections live in a
 * pool: a call takes one (opening it on first need), runs one short read
 * transaction and gives it back, so each reading thread has a connection
 * of its own while it reads and nothing is held between calls. The pool
 * is LIFO, so a thread that reads again usually gets a warm page cache.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/buf.h"
#include "common/log.h"
#include "common/time.h"
#include "common/uuid.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Readers map the start of the database too. Mapped pages count in the
 * process's RSS once touched, per connection, until it closes (idle
 * readers are closed after idle_ms). Measured with bench_store_page
 * 200000 --threads 2 (168 MB store, 2 cores, noisy: two runs each):
 * mmap 0: paging 1.01-1.03M rows/s, pages of 100 12.0-15.1k/s (2
 * readers); 32 MB: 0.65-1.03M, 14.2-19.5k/s; 256 MB: 0.69M, 19.7k/s.
 * Paging is no faster with 256 MB; random pages of 100 are as fast with
 * 32 MB, about 20% slower without a map: 32 MB.
 */
#define READER_MMAP_BYTES (32ll * 1024 * 1024)

static const char *const rsql[R_NSTMT] = {
    [R_BEGIN] = "BEGIN",
    [R_COMMIT] = "COMMIT",
    [R_ROLLBACK] = "ROLLBACK",
    [R_TYPE_NAME] = "SELECT name FROM types WHERE code = ?1",
    [R_TYPE_CODE] = "SELECT code FROM types WHERE name = ?1",
    [R_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [R_COLL_FIND] = "SELECT cid, id, alias, title, description,"
		    " media_types FROM collections"
		    " WHERE id = ?1 OR alias = ?1",
    [R_COLL_LIST] = "SELECT cid, id, alias, title, description,"
		    " media_types FROM collections ORDER BY cid",
    [R_STATS_TYPES] = "SELECT coalesce(sum(versions), 0),"
		      " coalesce(sum(objects), 0) FROM types",
    [R_STATS_COLL] = "SELECT count(*) FROM collections",
    [R_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM versions",
    [R_COUNT_TYPES] = "SELECT name, versions FROM types"
		      " WHERE versions > 0 ORDER BY name",
    [R_MEMBERSHIPS] = "SELECT cid FROM membership WHERE seq = ?1"
		      " ORDER BY cid",
    [R_STATUS_GET] = "SELECT owner, created, pending, total, success,"
		     " failure, npending, lists FROM status WHERE id = ?1",
    [R_PAGE_RANGE] = "SELECT date_added FROM membership"
		     " WHERE cid = ?1 AND date_added > ?2"
		     " ORDER BY date_added LIMIT ?3",
    [R_LOG] = "SELECT seq, type, uuid, version, tlp, flags, body,"
	      " warnings, 0, prov FROM versions WHERE seq > ?1"
	      " ORDER BY seq LIMIT ?2",
    [R_LOG_COLL] = "SELECT v.seq, v.type, v.uuid, v.version, v.tlp,"
		   " v.flags, v.body, v.warnings, m.date_added, v.prov"
		   " FROM versions v LEFT JOIN membership m"
		   " ON m.seq = v.seq AND m.cid = ?3"
		   " WHERE v.seq > ?1 ORDER BY v.seq LIMIT ?2",
    [R_IDF_AFTER] = SQ_IDF_AFTER,
    [R_IDF_ALL] = SQ_IDF_ALL,
};

static void reader_free(struct sq_reader *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < R_NSTMT; i++)
		sqlite3_finalize(r->rs[i]);
	for (size_t i = 0; i < sizeof(r->cache) / sizeof(r->cache[0]); i++) {
		sqlite3_finalize(r->cache[i].st);
		free(r->cache[i].sql);
	}
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i]);
	free(r->names);
	sqlite3_close(r->db);
	free(r);
}

struct sq_reader *sq_reader_get(struct sq_store *s, struct diag *d)
{
	struct sq_reader *r;
	char sql[64];
	pthread_mutex_lock(&s->r_mu);
	r = s->r_free;
	if (r != NULL)
		s->r_free = r->next;
	pthread_mutex_unlock(&s->r_mu);
	if (r != NULL)
		return r;

	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		diag_set(d, ST_ENOMEM, "store: no memory");
		return NULL;
	}
	if (sq_open_conn(s, SQLITE_OPEN_READONLY, s->cache_kib, &r->db, d) !=
	    ST_OK)
		goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA mmap_size = %lld",
		 READER_MMAP_BYTES);
	if (sq_exec(r->db, sql, d) != ST_OK)
		goto fail;
	pthread_mutex_lock(&s->r_mu);
	r->all_next = s->r_all;
	s->r_all = r;
	s->r_open++;
	pthread_mutex_unlock(&s->r_mu);
	/* The checkpointer closes it once idle: wake it to watch. (Opening
	 * a connection is the slow path already.) */
	pthread_mutex_lock(&s->ck_mu);
	pthread_cond_signal(&s->ck_cv);
	pthread_mutex_unlock(&s->ck_mu);
	return r;
fail:
	reader_free(r);
	return NULL;
}

void sq_reader_put(struct sq_store *s, struct sq_reader *r)
{
	if (r == NULL)
		return;
	r->idle_since = time_mono();
	pthread_mutex_lock(&s->r_mu);
	r->next = s->r_free;
	s->r_free = r;
	pthread_mutex_unlock(&s->r_mu);
}

void sq_readers_close(struct sq_store *s)
{
	struct sq_reader *r = s->r_all, *next;
	for (; r != NULL; r = next) {
		next = r->all_next;
		reader_free(r);
	}
	s->r_all = s->r_free = NULL;
	s->r_open = 0;
}

void sq_heap_trim(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

uint32_t sq_readers_trim(struct sq_store *s, uint32_t idle_ms)
{
	struct sq_reader *gone = NULL, **pp, *r;
	double cut = time_mono() - idle_ms / 1000.0;
	uint32_t left;
	pthread_mutex_lock(&s->r_mu);
	for (pp = &s->r_free; (r = *pp) != NULL;) {
		if (r->idle_since > cut) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		r->next = gone;
		gone = r;
		for (struct sq_reader **ap = &s->r_all; *ap != NULL;
		     ap = &(*ap)->all_next) {
			if (*ap == r) {
				*ap = r->all_next;
				break;
			}
		}
		s->r_open--;
		s->r_closed_idle++;
	}
	left = s->r_open;
	pthread_mutex_unlock(&s->r_mu);
	if (gone == NULL)
		return left;
	for (; gone != NULL; gone = r) {
		r = gone->next;
		reader_free(gone);
	}
	sq_heap_trim();
	return left;
}

sqlite3_stmt *sq_reader_stmt(struct sq_reader *r, int which, struct diag *d)
{
	if (r->rs[which] == NULL &&
	    sq_prepare(r->db, rsql[which], &r->rs[which], d) != ST_OK)
		return NULL;
	return r->rs[which];
}

static int step_plain(struct sq_reader *r, int which, struct diag *d)
{
	sqlite3_stmt *st = sq_reader_stmt(r, which, d);
	int rc = ST_OK;
	if (st == NULL)
		return ST_ESTORE;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_diag(r->db, d, rsql[which]);
	sqlite3_reset(st);
	return rc;
}

int sq_read_begin(struct sq_reader *r, struct diag *d)
{
	return step_plain(r, R_BEGIN, d);
}

void sq_read_end(struct sq_reader *r)
{
	/* Reading only: COMMIT cannot lose anything; ROLLBACK if it fails. */
	if (!sqlite3_get_autocommit(r->db) &&
	    step_plain(r, R_COMMIT, NULL) != ST_OK)
		step_plain(r, R_ROLLBACK, NULL);
}

/*
 * The name of a type code. Codes are only added, never changed, so the
 * cache never goes stale; a miss reads the types table within the
 * caller's read transaction, which sees every code its rows use.
 */
/* Keeps name as the name of code i in r's cache; the cached copy, or
 * NULL when out of memory. */
static const char *cache_name(struct sq_reader *r, size_t i, const char *name,
			      size_t len)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, name, len);
	copy[len] = '\0';
	if (i >= r->nnames) {
		size_t n = i + 16;
		char **p = realloc(r->names, n * sizeof(*p));
		if (p == NULL) {
			free(copy);
			return NULL;
		}
		memset(p + r->nnames, 0, (n - r->nnames) * sizeof(*p));
		r->names = p;
		r->nnames = n;
	}
	free(r->names[i]);
	r->names[i] = copy;
	return copy;
}

const char *sq_type_name(struct sq_reader *r, int64_t code)
{
	if (code <= 0 || code > INT32_MAX)
		return NULL;
	size_t i = (size_t)code;
	if (i < r->nnames && r->names[i] != NULL)
		return r->names[i];
	sqlite3_stmt *st = sq_reader_stmt(r, R_TYPE_NAME, NULL);
	const char *name = NULL;
	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, code);
	if (sqlite3_step(st) == SQLITE_ROW)
		name =
		    cache_name(r, i, (const char *)sqlite3_column_text(st, 0),
			       (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_reset(st);
	return name;
}

/* Past this many codes a name is looked up in the table, not in the
 * cache: a scan must stay short however many custom types arrive. */
#define TYPE_SCAN_MAX 256

int sq_type_code(struct sq_reader *r, const char *name, size_t len,
		 int64_t *code, struct diag *d)
{
	/* The cache first: every id of an envelope is looked up by type,
	 * and a few types make most of them. Only codes found are cached
	 * (a type unknown now may be added by the next write). */
	if (r->nnames <= TYPE_SCAN_MAX) {
		for (size_t i = 1; i < r->nnames; i++) {
			const char *c = r->names[i];
			if (c != NULL && strlen(c) == len &&
			    memcmp(c, name, len) == 0) {
				*code = (int64_t)i;
				return ST_OK;
			}
		}
	}
	sqlite3_stmt *st = sq_reader_stmt(r, R_TYPE_CODE, d);
	int rc = ST_OK;
	if (st == NULL)
		return ST_ESTORE;
	*code = 0;
	sqlite3_bind_text(st, 1, name, (int)len, SQLITE_STATIC);
	int src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*code = sqlite3_column_int64(st, 0);
	else if (src != SQLITE_DONE)
		rc = sql_diag(r->db, d, "types");
	sqlite3_reset(st);
	if (*code > 0 && *code <= INT32_MAX &&
	    ((size_t)*code >= r->nnames || r->names[*code] == NULL))
		(void)cache_name(r, (size_t)*code, name, len);
	return rc;
}

const char *sq_row_id(struct sq_reader *r, int64_t type, const void *uuid,
		      int uuid_len)
{
	const char *tname = sq_type_name(r, type);
	if (tname == NULL || uuid == NULL || uuid_len != 16)
		return NULL;
	size_t n = strlen(tname);
	memcpy(r->idbuf, tname, n);
	r->idbuf[n] = r->idbuf[n + 1] = '-';
	uuid_format(uuid, r->idbuf + n + 2);
	return r->idbuf;
}

sqlite3_stmt *sq_shape_stmt(struct sq_reader *r, const char *sql,
			    struct diag *d)
{
	size_t n = sizeof(r->cache) / sizeof(r->cache[0]);
	for (size_t i = 0; i < n; i++) {
		if (r->cache[i].sql != NULL &&
		    strcmp(r->cache[i].sql, sql) == 0)
			return r->cache[i].st;
	}
	size_t i = r->cache_next;
	r->cache_next = (i + 1) % n;
	sqlite3_finalize(r->cache[i].st);
	free(r->cache[i].sql);
	r->cache[i].st = NULL;
	r->cache[i].sql = strdup(sql);
	if (r->cache[i].sql == NULL) {
		diag_set(d, ST_ENOMEM, "store: no memory");
		return NULL;
	}
	if (sq_prepare(r->db, sql, &r->cache[i].st, d) != ST_OK) {
		free(r->cache[i].sql);
		r->cache[i].sql = NULL;
		return NULL;
	}
	return r->cache[i].st;
}

/* The seqs of the versions of (?2 uuid, ?3 type), from both key tables. */
#define KEYS_OF_ID                                                 \
	"(SELECT seq FROM keys_main WHERE uuid = ?2 AND type = ?3" \
	" UNION ALL SELECT seq FROM keys_recent"                   \
	" WHERE uuid = ?2 AND type = ?3)"

/*
 * Query shapes. Parameters: ?1 after_seq, ?2 uuid, ?3 type, ?4 limit,
 * ?5 at, ?6 cid, ?7 added_after, ?10.. the type codes. Join orders are
 * fixed with CROSS JOIN and INDEXED BY so that a plan never depends on
 * statistics: by id, from the key index (its two tables, sqlite.c); by
 * collection, along the collection's (cid, date_added) key; otherwise
 * along seq.
 *
 * "Last" and "first" are decided per row: in a collection by the
 * membership's mflags (kept by the writer), over the whole log by a
 * probe of each key table for a greater (smaller) version. No scans,
 * whatever the page.
 */
static int build_sql(struct buf *sql, const struct store_query *q,
		     size_t ncodes)
{
	const char *cmp = q->vsel == STORE_V_LAST ? ">" : "<";
	buf_adds(sql, "SELECT v.seq, v.type, v.uuid, v.version, v.tlp,"
		      " v.flags, v.body, v.warnings, ");
	if (q->cid == 0 && q->id != NULL) {
		buf_adds(sql, "0, v.prov FROM " KEYS_OF_ID " k"
			      " CROSS JOIN versions v ON v.seq = k.seq"
			      " WHERE v.seq > ?1");
	} else if (q->cid == 0) {
		buf_adds(sql, "0, v.prov FROM versions v NOT INDEXED"
			      " WHERE v.seq > ?1");
	} else if (q->id != NULL) {
		buf_adds(sql, "m.date_added, v.prov FROM " KEYS_OF_ID " k"
			      " CROSS JOIN versions v ON v.seq = k.seq"
			      " CROSS JOIN membership m"
			      " ON m.seq = v.seq AND m.cid = ?6"
			      " WHERE v.seq > ?1 AND m.date_added > ?7");
	} else {
		buf_adds(sql, "m.date_added, v.prov FROM membership m"
			      " CROSS JOIN versions v ON v.seq = m.seq"
			      " WHERE m.cid = ?6 AND m.date_added > ?7"
			      " AND v.seq > ?1");
	}
	if (q->id != NULL)
		buf_adds(sql, " AND v.uuid = ?2 AND v.type = ?3");
	if (ncodes > 0) {
		buf_adds(sql, " AND v.type IN (");
		for (size_t i = 0; i < ncodes; i++)
			buf_printf(sql, "%s?%zu", i ? ", " : "", 10 + i);
		buf_adds(sql, ")");
	}
	switch (q->vsel) {
	case STORE_V_LAST:
	case STORE_V_FIRST:
		if (q->cid == 0)
			buf_printf(
			    sql,
			    " AND NOT EXISTS (SELECT 1 FROM keys_main w"
			    " WHERE w.uuid = v.uuid AND w.type = v.type"
			    " AND w.version %s v.version)"
			    " AND NOT EXISTS (SELECT 1 FROM keys_recent w"
			    " WHERE w.uuid = v.uuid AND w.type = v.type"
			    " AND w.version %s v.version)",
			    cmp, cmp);
		else
			buf_printf(sql, " AND (m.mflags & %d) = 0",
				   q->vsel == STORE_V_LAST ? MF_NOT_LAST
							   : MF_NOT_FIRST);
		break;
	case STORE_V_AT:
		buf_adds(sql, " AND v.version = ?5");
		break;
	case STORE_V_ALL:
		break;
	}
	buf_adds(sql,
		 q->cid == 0 ? " ORDER BY v.seq" : " ORDER BY m.date_added");
	return buf_adds(sql, " LIMIT ?4");
}

#define MAX_TYPES 64

void sq_row_columns(sqlite3_stmt *qs, struct store_row *row)
{
	row->seq = (uint64_t)sqlite3_column_int64(qs, 0);
	row->version = sqlite3_column_int64(qs, 3);
	row->tlp = (uint8_t)sqlite3_column_int(qs, 4);
	row->flags = (uint8_t)sqlite3_column_int(qs, 5);
	row->body = (const char *)sqlite3_column_text(qs, 6);
	row->body_len = (size_t)sqlite3_column_bytes(qs, 6);
	row->warnings = (const char *)sqlite3_column_text(qs, 7);
	row->date_added = sqlite3_column_int64(qs, 8);
	row->prov = sqlite3_column_blob(qs, 9);
	row->prov_len = (size_t)sqlite3_column_bytes(qs, 9);
	row->spec_version = STORE_SPEC_VERSION;
}

int sq_query(struct store *st, const struct store_query *q, store_row_fn fn,
	     void *ctx, size_t *count, struct diag *d)
{
	struct sq_store *s = SQ(st);
	struct buf sql = BUF_INIT(8192);
	struct sq_reader *r = NULL;
	sqlite3_stmt *qs = NULL;
	int64_t codes[MAX_TYPES];
	size_t ncodes = 0, ntypes = 0, rows = 0;
	uint8_t uuid[16];
	size_t tl = 0;
	int64_t idcode = 0;
	bool empty = false;
	int rc = ST_OK, src;

	if (q->id != NULL && store_id_split(q->id, &tl, uuid) != ST_OK)
		return diag_set(d, ST_EINVAL, "query: invalid id '%.80s'",
				q->id);
	for (; q->types != NULL && q->types[ntypes] != NULL; ntypes++)
		;
	if (ntypes > MAX_TYPES)
		return diag_set(d, ST_ELIMIT, "query: more than %d types",
				MAX_TYPES);
	if (q->after_seq > INT64_MAX)
		return diag_set(d, ST_ERANGE, "query: after_seq out of range");
	r = sq_reader_get(s, d);
	if (r == NULL)
		return ST_ESTORE;
	rc = sq_read_begin(r, d);
	if (rc != ST_OK)
		goto out;

	/* Names to codes, in the same snapshot as the rows. */
	if (q->id != NULL) {
		rc = sq_type_code(r, q->id, tl, &idcode, d);
		empty = idcode == 0;
	}
	for (size_t i = 0; rc == ST_OK && i < ntypes; i++) {
		int64_t c;
		rc = sq_type_code(r, q->types[i], strlen(q->types[i]), &c, d);
		if (c != 0)
			codes[ncodes++] = c;
	}
	if (ntypes > 0 && ncodes == 0)
		empty = true;
	if (rc != ST_OK || empty)
		goto end;

	rc = build_sql(&sql, q, ncodes);
	if (rc != ST_OK) {
		rc = diag_set(d, rc, "query: too long");
		goto end;
	}
	qs = sq_shape_stmt(r, sql.data, d);
	if (qs == NULL) {
		rc = ST_ESTORE;
		goto end;
	}
	sqlite3_bind_int64(qs, 1, (int64_t)q->after_seq);
	sqlite3_bind_int64(
	    qs, 4,
	    q->limit > 0 && q->limit < INT64_MAX ? (int64_t)q->limit : -1);
	if (q->id != NULL) {
		sqlite3_bind_blob(qs, 2, uuid, 16, SQLITE_STATIC);
		sqlite3_bind_int64(qs, 3, idcode);
	}
	if (q->vsel == STORE_V_AT)
		sqlite3_bind_int64(qs, 5, q->at);
	if (q->cid != 0) {
		sqlite3_bind_int64(qs, 6, q->cid);
		sqlite3_bind_int64(qs, 7, q->added_after);
	}
	for (size_t i = 0; i < ncodes; i++)
		sqlite3_bind_int64(qs, (int)(10 + i), codes[i]);

	while ((src = sqlite3_step(qs)) == SQLITE_ROW) {
		struct store_row row;
		row.id = sq_row_id(r, sqlite3_column_int64(qs, 1),
				   sqlite3_column_blob(qs, 2),
				   sqlite3_column_bytes(qs, 2));
		if (row.id == NULL) {
			rc = diag_set(d, ST_ESTORE,
				      "query: malformed row at seq %lld",
				      (long long)sqlite3_column_int64(qs, 0));
			break;
		}
		sq_row_columns(qs, &row);
		rows++;
		rc = fn(ctx, &row);
		if (rc != 0)
			break;
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(r->db, d, "query");
	sqlite3_reset(qs);
	sqlite3_clear_bindings(qs);
end:
	sq_read_end(r);
out:
	sq_reader_put(s, r);
	buf_free(&sql);
	if (count != NULL)
		*count = rows;
	return rc;
}

/* Ids tested against the id filter per hold of its lock. */
#define IDF_CHUNK 256

/* An id store_held looks up: its UUID, type length and index. */
struct held_key {
	uint8_t uuid[16];
	size_t tl, i;
};

static int cmp_held_key(const void *a, const void *b)
{
	const struct held_key *x = a, *y = b;
	int c = memcmp(x->uuid, y->uuid, 16);
	return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

/* Into keys (*nk of them), the ids that may be held, in the key index's
 * order (each lookup then walks near the last one, in pages still in
 * cache): the id filter, made complete for r's open transaction, rules
 * out the others (what is not an id is not held either). When the filter
 * cannot answer for this snapshot (not built, a sync that failed, a
 * reader with an older snapshot built it meanwhile), every id is looked
 * up. */
static int held_keys(struct sq_store *s, struct sq_reader *r,
		     const char *const *ids, size_t n, struct held_key *keys,
		     size_t *nk, struct diag *d)
{
	*nk = 0;
	sqlite3_stmt *ms = sq_reader_stmt(r, R_LAST_SEQ, d);
	struct sq_idf_stmts q = {sq_reader_stmt(r, R_IDF_AFTER, d),
				 sq_reader_stmt(r, R_IDF_ALL, d)};
	if (ms == NULL || q.after == NULL || q.all == NULL)
		return ST_ESTORE;
	int64_t max_seq = 0;
	int src = sqlite3_step(ms);
	if (src == SQLITE_ROW)
		max_seq = sqlite3_column_int64(ms, 0);
	sqlite3_reset(ms);
	if (src != SQLITE_ROW)
		return sql_diag(r->db, d, "held: last seq");
	struct diag fd;
	pthread_mutex_lock(&s->idf.mu);
	if (sq_idf_sync_locked(&s->idf, r->db, &q, max_seq, n, false, &fd) !=
	    ST_OK)
		log_warn("store", "%s: id filter: %s", s->path, fd.msg);
	pthread_mutex_unlock(&s->idf.mu);
	size_t nid = 0;
	for (size_t i = 0; i < n; i++) {
		struct held_key *k = &keys[nid];
		if (ids[i] != NULL &&
		    store_id_split(ids[i], &k->tl, k->uuid) == ST_OK)
			keys[nid++].i = i;
	}
	/* Tested a few at a time: the writer takes the same lock for each
	 * version it writes. Meanwhile the filter only gains UUIDs, or is
	 * rebuilt by the writer from a snapshot at least as recent as this
	 * one, or is built by a reader from an older one: hence the check
	 * of what it covers under each hold. */
	for (size_t c = 0; c < nid; c += IDF_CHUNK) {
		size_t end = nid - c < IDF_CHUNK ? nid : c + IDF_CHUNK;
		pthread_mutex_lock(&s->idf.mu);
		bool use = sq_idf_covers_locked(&s->idf, max_seq);
		for (size_t j = c; j < end; j++)
			if (!use || sq_idf_maybe_locked(&s->idf, keys[j].uuid))
				keys[(*nk)++] = keys[j];
		pthread_mutex_unlock(&s->idf.mu);
	}
	qsort(keys, *nk, sizeof(*keys), cmp_held_key);
	return ST_OK;
}

/* store_held: every version of each id, in one snapshot. The type codes
 * are looked up once per distinct type (an envelope holds few). */
int sq_held(struct store *st, const char *const *ids, size_t n, int64_t cid,
	    store_held_fn fn, void *ctx, struct diag *d)
{
	struct sq_store *s = SQ(st);
	struct sq_reader *r = sq_reader_get(s, d);
	if (r == NULL)
		return ST_ESTORE;
	struct held_key *keys = NULL;
	size_t nk = 0;
	int rc = sq_read_begin(r, d);
	if (rc != ST_OK)
		goto out;
	/* The id filter rules out most ids when a partner catches up or
	 * pushes what is new. */
	keys = malloc((n ? n : 1) * sizeof(*keys));
	if (keys == NULL) {
		rc = diag_set(d, ST_ENOMEM, "held: out of memory");
		goto end;
	}
	if ((rc = held_keys(s, r, ids, n, keys, &nk, d)) != ST_OK)
		goto end;
	sqlite3_stmt *qs = sq_shape_stmt(
	    r,
	    "SELECT v.seq, v.type, v.uuid, v.version, v.tlp, v.flags,"
	    " v.body, v.warnings,"
	    " (SELECT m.date_added FROM membership m"
	    " WHERE m.seq = v.seq AND m.cid = ?6), v.prov"
	    " FROM " KEYS_OF_ID " k CROSS JOIN versions v ON v.seq = k.seq",
	    d);
	if (qs == NULL) {
		rc = ST_ESTORE;
		goto end;
	}
	const char *last_type = NULL;
	size_t last_tl = 0;
	int64_t code = 0;
	sqlite3_bind_int64(qs, 6, cid);
	for (size_t k = 0; k < nk && rc == ST_OK; k++) {
		size_t i = keys[k].i, tl = keys[k].tl;
		const uint8_t *uuid = keys[k].uuid;
		if (last_type == NULL || tl != last_tl ||
		    memcmp(last_type, ids[i], tl) != 0) {
			rc = sq_type_code(r, ids[i], tl, &code, d);
			last_type = ids[i];
			last_tl = tl;
			if (rc != ST_OK)
				break;
		}
		if (code == 0)
			continue; /* a type never seen: nothing held */
		sqlite3_bind_blob(qs, 2, uuid, 16, SQLITE_STATIC);
		sqlite3_bind_int64(qs, 3, code);
		int src;
		while ((src = sqlite3_step(qs)) == SQLITE_ROW) {
			struct store_row row;
			sq_row_columns(qs, &row);
			row.id = ids[i];
			rc = fn(ctx, i, &row);
			if (rc != 0)
				break;
		}
		if (rc == ST_OK && src != SQLITE_DONE)
			rc = sql_diag(r->db, d, "held");
		sqlite3_reset(qs);
	}
	sqlite3_clear_bindings(qs);
end:
	sq_read_end(r);
out:
	free(keys);
	sq_reader_put(s, r);
	return rc;
}
