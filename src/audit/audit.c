/*
 * strait: the audit log; see audit.h.
 *
 * One connection, behind a mutex: appends are serialised, each in its own
 * durable transaction. The hash of an event is computed here from the
 * stored fields, never read back and trusted: audit_verify recomputes
 * every one.
 */
#include "audit/audit.h"

#include "common/buf.h"
#include "common/hash.h"
#include "common/le.h"
#include "common/sqlschema.h"
#include "common/utf8.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EVENT_TAG "strait-audit-event-1"
#define HEAD_TAG "strait-audit-head-1"

struct audit {
	sqlite3 *db;
	pthread_mutex_t mu;
	char path[PATH_MAX];
	/* the last event: its seq and hash (seq 0: none yet) */
	uint64_t last_seq;
	uint8_t last_hash[AUDIT_HASH_BYTES];
};

static const struct sql_migration migrations[] = {
    {1, "CREATE TABLE events(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
	" kind TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL,"
	" prev BLOB NOT NULL, hash BLOB NOT NULL);"
	"CREATE TABLE heads(seq INTEGER NOT NULL, hash BLOB NOT NULL,"
	" at INTEGER NOT NULL, key_id TEXT NOT NULL, sig BLOB NOT NULL,"
	" PRIMARY KEY(seq, at));"},
    /* Rotation: the events up to a signed checkpoint move to an archive
     * file; the live log goes on from the latest checkpoint. */
    {2, "CREATE TABLE checkpoints(seq INTEGER PRIMARY KEY,"
	" hash BLOB NOT NULL, at INTEGER NOT NULL, key_id TEXT NOT NULL,"
	" sig BLOB NOT NULL, archive TEXT NOT NULL);"},
};
#define NMIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

static int add_u64(struct buf *b, uint64_t v)
{
	uint8_t x[8];
	le_put64(x, v);
	return buf_add(b, x, sizeof(x));
}

static int add_text(struct buf *b, const char *s, size_t n)
{
	uint8_t x[4];
	le_put32(x, (uint32_t)n);
	int rc = buf_add(b, x, sizeof(x));
	return rc == ST_OK ? buf_add(b, s, n) : rc;
}

/* The hash of an event (see audit.h). */
static int event_hash(const uint8_t prev[AUDIT_HASH_BYTES], uint64_t seq,
		      st_time at, const char *kind, size_t kl,
		      const char *actor, size_t al, const char *detail,
		      size_t dl, uint8_t out[AUDIT_HASH_BYTES])
{
	struct buf b = BUF_INIT(AUDIT_DETAIL_MAX + 1024);
	int rc = buf_add(&b, EVENT_TAG, strlen(EVENT_TAG));
	if (rc == ST_OK)
		rc = buf_add(&b, prev, AUDIT_HASH_BYTES);
	if (rc == ST_OK)
		rc = add_u64(&b, seq);
	if (rc == ST_OK)
		rc = add_u64(&b, (uint64_t)at);
	if (rc == ST_OK)
		rc = add_text(&b, kind, kl);
	if (rc == ST_OK)
		rc = add_text(&b, actor, al);
	if (rc == ST_OK)
		rc = add_text(&b, detail, dl);
	if (rc == ST_OK)
		hash_sha256(b.data, b.len, out);
	buf_free(&b);
	return rc;
}

/* What a head's signature covers. */
static void head_message(const struct audit_head *h,
			 uint8_t m[sizeof(HEAD_TAG) - 1 + 8 + 32 + 8])
{
	size_t o = sizeof(HEAD_TAG) - 1;
	memcpy(m, HEAD_TAG, o);
	le_put64(m + o, h->seq);
	memcpy(m + o + 8, h->hash, AUDIT_HASH_BYTES);
	le_put64(m + o + 8 + AUDIT_HASH_BYTES, (uint64_t)h->at);
}

/* The latest rotation checkpoint (the live log's base). ST_ENOTFOUND when
 * the log was never rotated. */
static int checkpoint_base(struct audit *a, struct audit_head *out,
			   struct diag *d)
{
	sqlite3_stmt *st = NULL;
	memset(out, 0, sizeof(*out));
	int rc = ST_ENOTFOUND;
	if (sqlite3_prepare_v2(a->db,
			       "SELECT seq, hash, at, key_id, sig FROM"
			       " checkpoints ORDER BY seq DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_diag(a->db, d, a->path);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->seq = (uint64_t)sqlite3_column_int64(st, 0);
		out->at = sqlite3_column_int64(st, 2);
		const char *kid = (const char *)sqlite3_column_text(st, 3);
		snprintf(out->key_id, sizeof(out->key_id), "%s",
			 kid ? kid : "");
		if (sqlite3_column_bytes(st, 1) == AUDIT_HASH_BYTES &&
		    sqlite3_column_bytes(st, 4) == NODEKEY_SIG_BYTES) {
			memcpy(out->hash, sqlite3_column_blob(st, 1),
			       AUDIT_HASH_BYTES);
			memcpy(out->sig, sqlite3_column_blob(st, 4),
			       NODEKEY_SIG_BYTES);
			rc = ST_OK;
		} else {
			rc = diag_set(d, ST_ESTORE,
				      "%s: the checkpoint of event %llu is "
				      "unreadable",
				      a->path, (unsigned long long)out->seq);
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Reads the last event's seq and hash into a. */
static int load_last(struct audit *a, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	a->last_seq = 0;
	memset(a->last_hash, 0, sizeof(a->last_hash));
	if (sqlite3_prepare_v2(a->db,
			       "SELECT seq, hash FROM events ORDER BY seq DESC"
			       " LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return sql_diag(a->db, d, a->path);
	int rc = ST_OK, src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		a->last_seq = (uint64_t)sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == AUDIT_HASH_BYTES)
			memcpy(a->last_hash, sqlite3_column_blob(st, 1),
			       AUDIT_HASH_BYTES);
		else
			rc = diag_set(d, ST_ESTORE,
				      "%s: event %llu has no readable hash",
				      a->path, (unsigned long long)a->last_seq);
	} else if (src != SQLITE_DONE) {
		rc = sql_diag(a->db, d, a->path);
	}
	sqlite3_finalize(st);
	if (rc != ST_OK || a->last_seq != 0)
		return rc;
	/* every event archived: the log goes on from the checkpoint */
	struct audit_head cp;
	if (checkpoint_base(a, &cp, NULL) == ST_OK) {
		a->last_seq = cp.seq;
		memcpy(a->last_hash, cp.hash, AUDIT_HASH_BYTES);
	}
	return rc;
}

int audit_open(const char *home, struct audit **out, struct diag *d)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/audit.db", home) >=
	    sizeof(path))
		return diag_set(d, ST_EINVAL, "%s: path too long", home);
	return audit_open_path(path, out, d);
}

int audit_open_path(const char *path, struct audit **out, struct diag *d)
{
	*out = NULL;
	struct audit *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	pthread_mutex_init(&a->mu, NULL);
	if ((size_t)snprintf(a->path, sizeof(a->path), "%s", path) >=
	    sizeof(a->path)) {
		audit_close(a);
		return diag_set(d, ST_EINVAL, "%s: path too long", path);
	}
	/* WAL: `strait audit` reads while serve appends; FULL: an event is
	 * on disk before the action it records goes on. */
	int rc = sql_open_private(a->path, "audit log", migrations, NMIGRATIONS,
				  &a->db, d);
	if (rc == ST_OK)
		rc = load_last(a, d);
	if (rc != ST_OK) {
		audit_close(a);
		return rc;
	}
	*out = a;
	return ST_OK;
}

int audit_set_max_bytes(struct audit *a, uint64_t bytes, struct diag *d)
{
	/* SQLite counts pages; its largest count stands for "no cap". */
	char sql[96];
	sqlite3_stmt *st = NULL;
	uint64_t page = 4096;
	pthread_mutex_lock(&a->mu);
	if (sqlite3_prepare_v2(a->db, "PRAGMA page_size", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0)
		page = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	uint64_t pages = bytes / page;
	if (bytes == 0 || pages > 4294967294ull)
		pages = 4294967294ull;
	if (pages < 1)
		pages = 1;
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%llu",
		 (unsigned long long)pages);
	int rc = sqlite3_exec(a->db, sql, NULL, NULL, NULL) == SQLITE_OK
		     ? ST_OK
		     : sql_diag(a->db, d, a->path);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

void audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	sqlite3_close(a->db);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

static int check_field(const char *s, size_t max, bool empty_ok,
		       const char *what, size_t *len, struct diag *d)
{
	if (s == NULL)
		return diag_set(d, ST_EINVAL, "audit: no %s", what);
	*len = strnlen(s, max + 1);
	if (*len > max)
		return diag_set(d, ST_EINVAL, "audit: %s longer than %zu bytes",
				what, max);
	if (*len == 0 && !empty_ok)
		return diag_set(d, ST_EINVAL, "audit: empty %s", what);
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0, n; i < *len; i += n)
		if ((n = utf8_seq_len(u + i, *len - i)) == 0)
			return diag_set(d, ST_EINVAL,
					"audit: %s: not UTF-8 at byte %zu",
					what, i);
	return ST_OK;
}

int audit_check_event(const char *kind, const char *actor, const char *detail,
		      struct diag *d)
{
	size_t n;
	int rc = check_field(kind, AUDIT_KIND_MAX, false, "kind", &n, d);
	if (rc == ST_OK)
		rc = check_field(actor, AUDIT_ACTOR_MAX, false, "actor", &n, d);
	if (rc == ST_OK)
		rc = check_field(detail, AUDIT_DETAIL_MAX, true, "detail", &n,
				 d);
	return rc;
}

int audit_append_batch(struct audit *a, const struct audit_new *ev, size_t n,
		       uint64_t *first, struct diag *d)
{
	int rc;
	if (n == 0)
		return diag_set(d, ST_EINVAL, "audit: no event to append");
	size_t(*len)[3] = calloc(n, sizeof(*len));
	if (len == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if ((rc = check_field(ev[i].kind, AUDIT_KIND_MAX, false, "kind",
				      &len[i][0], d)) != ST_OK ||
		    (rc = check_field(ev[i].actor, AUDIT_ACTOR_MAX, false,
				      "actor", &len[i][1], d)) != ST_OK ||
		    (rc = check_field(ev[i].detail, AUDIT_DETAIL_MAX, true,
				      "detail", &len[i][2], d)) != ST_OK) {
			free(len);
			return rc;
		}
	pthread_mutex_lock(&a->mu);
	/* Another process may have appended since (the CLI records what
	 * it does too): the head is read inside the write transaction. */
	sqlite3_stmt *st = NULL;
	uint8_t prev[AUDIT_HASH_BYTES], h[AUDIT_HASH_BYTES];
	uint64_t seq = 0;
	if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		rc = sql_diag(a->db, d, a->path);
		goto unlock;
	}
	rc = load_last(a, d);
	seq = a->last_seq;
	memcpy(prev, a->last_hash, AUDIT_HASH_BYTES);
	if (rc == ST_OK &&
	    sqlite3_prepare_v2(
		a->db,
		"INSERT INTO events(seq, at, kind, actor, detail,"
		" prev, hash) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		-1, &st, NULL) != SQLITE_OK)
		rc = sql_diag(a->db, d, a->path);
	for (size_t i = 0; rc == ST_OK && i < n; i++) {
		seq++;
		rc = event_hash(prev, seq, ev[i].at, ev[i].kind, len[i][0],
				ev[i].actor, len[i][1], ev[i].detail, len[i][2],
				h);
		if (rc != ST_OK)
			break;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, (int64_t)seq);
		sqlite3_bind_int64(st, 2, ev[i].at);
		sqlite3_bind_text(st, 3, ev[i].kind, (int)len[i][0],
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 4, ev[i].actor, (int)len[i][1],
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 5, ev[i].detail, (int)len[i][2],
				  SQLITE_STATIC);
		sqlite3_bind_blob(st, 6, prev, AUDIT_HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 7, h, AUDIT_HASH_BYTES, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sql_diag(a->db, d, a->path);
		memcpy(prev, h, AUDIT_HASH_BYTES);
	}
	sqlite3_finalize(st);
	if (rc == ST_OK &&
	    sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = sql_diag(a->db, d, a->path);
	if (rc != ST_OK) {
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		load_last(a, NULL);
	} else {
		if (first != NULL)
			*first = a->last_seq + 1;
		a->last_seq = seq;
		memcpy(a->last_hash, prev, AUDIT_HASH_BYTES);
	}
unlock:
	if (rc != ST_OK)
		rc = ST_EIO; /* the caller refuses the action */
	pthread_mutex_unlock(&a->mu);
	free(len);
	return rc;
}

int audit_append(struct audit *a, st_time at, const char *kind,
		 const char *actor, const char *detail, uint64_t *seq,
		 struct diag *d)
{
	struct audit_new ev = {at, kind, actor, detail};
	return audit_append_batch(a, &ev, 1, seq, d);
}

/* Writes head h with sql (?1..?5: seq, hash, at, key id, signature; ?6:
 * archive when not NULL). The caller holds mu. */
static int put_head(struct audit *a, const char *sql,
		    const struct audit_head *h, const char *archive,
		    struct diag *d)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(a->db, sql, -1, &st, NULL) != SQLITE_OK)
		return sql_diag(a->db, d, a->path);
	sqlite3_bind_int64(st, 1, (int64_t)h->seq);
	sqlite3_bind_blob(st, 2, h->hash, AUDIT_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, h->at);
	sqlite3_bind_text(st, 4, h->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, h->sig, NODEKEY_SIG_BYTES, SQLITE_STATIC);
	if (archive != NULL)
		sqlite3_bind_text(st, 6, archive, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? ST_OK
						 : sql_diag(a->db, d, a->path);
	sqlite3_finalize(st);
	return rc;
}

/* A head of the last event (a->last_*), signed with the current key.
 * The caller holds mu. */
static int sign_last(struct audit *a, const struct nodekeys *keys, st_time at,
		     struct audit_head *h, struct diag *d)
{
	const struct nodekey_pub *cur = nodekeys_current(keys);
	memset(h, 0, sizeof(*h));
	h->seq = a->last_seq;
	memcpy(h->hash, a->last_hash, AUDIT_HASH_BYTES);
	h->at = at;
	snprintf(h->key_id, sizeof(h->key_id), "%s", cur->id);
	uint8_t m[sizeof(HEAD_TAG) - 1 + 8 + 32 + 8];
	head_message(h, m);
	int rc = nodekeys_sign(keys, m, sizeof(m), h->sig);
	return rc == ST_OK ? ST_OK
			   : diag_set(d, rc, "audit: cannot sign the head");
}

int audit_sign_head(struct audit *a, const struct nodekeys *keys, st_time at,
		    struct audit_head *out, struct diag *d)
{
	struct audit_head h;
	memset(&h, 0, sizeof(h));
	pthread_mutex_lock(&a->mu);
	int rc = load_last(a, d);
	if (rc == ST_OK && a->last_seq == 0)
		rc = diag_set(d, ST_ENOTFOUND, "audit: no event to sign yet");
	if (rc == ST_OK)
		rc = sign_last(a, keys, at, &h, d);
	if (rc == ST_OK)
		rc = put_head(a,
			      "INSERT OR REPLACE INTO heads(seq, hash, at,"
			      " key_id, sig) VALUES(?1, ?2, ?3, ?4, ?5)",
			      &h, NULL, d);
	pthread_mutex_unlock(&a->mu);
	if (rc == ST_OK && out != NULL)
		*out = h;
	return rc;
}

int audit_last_head(struct audit *a, struct audit_head *out, struct diag *d)
{
	sqlite3_stmt *st = NULL;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&a->mu);
	int rc = ST_OK;
	if (sqlite3_prepare_v2(a->db,
			       "SELECT seq, hash, at, key_id, sig FROM heads"
			       " ORDER BY seq DESC, at DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK) {
		rc = sql_diag(a->db, d, a->path);
	} else if (sqlite3_step(st) != SQLITE_ROW) {
		rc = diag_set(d, ST_ENOTFOUND, "audit: no signed head yet");
	} else if (sqlite3_column_bytes(st, 1) != AUDIT_HASH_BYTES ||
		   sqlite3_column_bytes(st, 4) != NODEKEY_SIG_BYTES) {
		rc =
		    diag_set(d, ST_ESTORE, "%s: a head is unreadable", a->path);
	} else {
		out->seq = (uint64_t)sqlite3_column_int64(st, 0);
		memcpy(out->hash, sqlite3_column_blob(st, 1), AUDIT_HASH_BYTES);
		out->at = sqlite3_column_int64(st, 2);
		const char *kid = (const char *)sqlite3_column_text(st, 3);
		snprintf(out->key_id, sizeof(out->key_id), "%s",
			 kid != NULL ? kid : "");
		memcpy(out->sig, sqlite3_column_blob(st, 4), NODEKEY_SIG_BYTES);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

int audit_tail(struct audit *a, uint64_t n, audit_event_fn fn, void *ctx,
	       struct diag *d)
{
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&a->mu);
	int rc = ST_OK;
	if (sqlite3_prepare_v2(a->db,
			       "SELECT seq, at, kind, actor, detail, hash FROM"
			       " events WHERE seq > (SELECT coalesce(max(seq),"
			       " 0) FROM events) - ?1 ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK)
		rc = sql_diag(a->db, d, a->path);
	if (rc == ST_OK)
		sqlite3_bind_int64(st, 1,
				   n > INT64_MAX ? INT64_MAX : (int64_t)n);
	int src = SQLITE_DONE;
	while (rc == ST_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		struct audit_event e;
		memset(&e, 0, sizeof(e));
		e.seq = (uint64_t)sqlite3_column_int64(st, 0);
		e.at = sqlite3_column_int64(st, 1);
		e.kind = (const char *)sqlite3_column_text(st, 2);
		e.actor = (const char *)sqlite3_column_text(st, 3);
		e.detail = (const char *)sqlite3_column_text(st, 4);
		if (sqlite3_column_bytes(st, 5) == AUDIT_HASH_BYTES)
			memcpy(e.hash, sqlite3_column_blob(st, 5),
			       AUDIT_HASH_BYTES);
		if (e.kind == NULL || e.actor == NULL || e.detail == NULL) {
			rc = diag_set(d, ST_ESTORE, "%s: event %llu unreadable",
				      a->path, (unsigned long long)e.seq);
			break;
		}
		rc = fn(ctx, &e);
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(a->db, d, a->path);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* Sets the first fault of the report (later ones are not kept). */
static void fault(struct audit_report *r, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fault(struct audit_report *r, uint64_t seq, const char *fmt, ...)
{
	if (!r->ok)
		return;
	r->ok = false;
	r->bad_seq = seq;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->fault, sizeof(r->fault), fmt, ap);
	va_end(ap);
}

/* Whether the head's signature is good by the key it names. */
bool audit_head_verify(const struct audit_head *h,
		       const uint8_t pk[NODEKEY_PUB_BYTES])
{
	uint8_t m[sizeof(HEAD_TAG) - 1 + 8 + 32 + 8];
	head_message(h, m);
	return nodekey_verify(pk, m, sizeof(m), h->sig);
}

static bool head_signed(const struct nodekeys *keys, const struct audit_head *h)
{
	const struct nodekey_pub *k = nodekeys_find(keys, h->key_id);
	return k != NULL && audit_head_verify(h, k->pk);
}

/* The hash the log holds for event seq, into out; false when the log has
 * no such event. (Callers hold mu.) */
static bool hash_at(struct audit *a, uint64_t seq,
		    uint8_t out[AUDIT_HASH_BYTES])
{
	sqlite3_stmt *st = NULL;
	bool found = false;
	if (sqlite3_prepare_v2(a->db, "SELECT hash FROM events WHERE seq = ?1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (int64_t)seq);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_bytes(st, 0) == AUDIT_HASH_BYTES) {
			memcpy(out, sqlite3_column_blob(st, 0),
			       AUDIT_HASH_BYTES);
			found = true;
		}
	}
	sqlite3_finalize(st);
	return found;
}

/* Checks one head against the chain as verified: the event it names must
 * be there with the same hash. */
static void check_head(struct audit *a, const struct audit_head *h,
		       uint64_t last, const char *whose, struct audit_report *r)
{
	uint8_t have[AUDIT_HASH_BYTES];
	if (r->base > 0 && h->seq <= r->base) {
		/* archived: only the checkpoint itself is still here */
		struct audit_head cp;
		if (h->seq == r->base &&
		    checkpoint_base(a, &cp, NULL) == ST_OK &&
		    memcmp(cp.hash, h->hash, AUDIT_HASH_BYTES) != 0)
			fault(r, h->seq,
			      "%s head of event %llu has another hash than the "
			      "checkpoint: the log was rewritten up to there",
			      whose, (unsigned long long)h->seq);
		else
			r->archived++;
		return;
	}
	if (h->seq > last || !hash_at(a, h->seq, have))
		fault(r, h->seq,
		      "%s head names event %llu, which the log no longer "
		      "holds (it ends at %llu): its tail was cut",
		      whose, (unsigned long long)h->seq,
		      (unsigned long long)last);
	else if (memcmp(have, h->hash, AUDIT_HASH_BYTES) != 0)
		fault(r, h->seq,
		      "%s head of event %llu has another hash than the log: "
		      "the log was rewritten up to there",
		      whose, (unsigned long long)h->seq);
}

int audit_verify(struct audit *a, const struct nodekeys *keys,
		 const struct audit_head *witnesses, size_t nwitnesses,
		 struct audit_report *r, struct diag *d)
{
	memset(r, 0, sizeof(*r));
	r->ok = true;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&a->mu);
	/* one read transaction: a consistent view while serve appends */
	int rc = ST_OK;
	if (sqlite3_exec(a->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		rc = sql_diag(a->db, d, a->path);
	if (rc == ST_OK &&
	    sqlite3_prepare_v2(a->db,
			       "SELECT seq, at, kind, actor, detail, prev, hash"
			       " FROM events WHERE seq > ?1 ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK)
		rc = sql_diag(a->db, d, a->path);
	uint8_t prev[AUDIT_HASH_BYTES] = {0};
	uint64_t expect = 1, last = 0;
	int src = SQLITE_DONE;
	/* A rotated log goes on from its latest checkpoint, whose signature
	 * vouches for what was archived before it. */
	struct audit_head cp;
	bool rotated = false;
	if (rc == ST_OK) {
		int crc = checkpoint_base(a, &cp, d);
		if (crc == ST_OK) {
			rotated = true;
			r->base = cp.seq;
			memcpy(prev, cp.hash, AUDIT_HASH_BYTES);
			expect = cp.seq + 1;
			last = cp.seq;
			if (!head_signed(keys, &cp))
				fault(
				    r, cp.seq,
				    "the checkpoint of event %llu has no good "
				    "signature by a key of this node",
				    (unsigned long long)cp.seq);
		} else if (crc != ST_ENOTFOUND) {
			rc = crc;
		}
	}
	if (rc == ST_OK)
		sqlite3_bind_int64(st, 1, rotated ? (int64_t)cp.seq : 0);
	while (rc == ST_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		st_time at = sqlite3_column_int64(st, 1);
		const char *kind = (const char *)sqlite3_column_text(st, 2);
		const char *actor = (const char *)sqlite3_column_text(st, 3);
		const char *detail = (const char *)sqlite3_column_text(st, 4);
		size_t kl = (size_t)sqlite3_column_bytes(st, 2);
		size_t al = (size_t)sqlite3_column_bytes(st, 3);
		size_t dl = (size_t)sqlite3_column_bytes(st, 4);
		const void *sp = sqlite3_column_blob(st, 5);
		const void *sh = sqlite3_column_blob(st, 6);
		r->events++;
		last = seq;
		if (seq > expect)
			fault(r, expect, "events %llu to %llu are missing",
			      (unsigned long long)expect,
			      (unsigned long long)seq - 1);
		uint8_t h[AUDIT_HASH_BYTES];
		if (kind == NULL || actor == NULL || detail == NULL ||
		    sp == NULL || sh == NULL ||
		    sqlite3_column_bytes(st, 5) != AUDIT_HASH_BYTES ||
		    sqlite3_column_bytes(st, 6) != AUDIT_HASH_BYTES) {
			fault(r, seq, "event %llu is unreadable",
			      (unsigned long long)seq);
			memset(h, 0, sizeof(h));
		} else if (event_hash(prev, seq, at, kind, kl, actor, al,
				      detail, dl, h) != ST_OK) {
			fault(r, seq, "event %llu is too large",
			      (unsigned long long)seq);
		} else if (memcmp(sp, prev, AUDIT_HASH_BYTES) != 0) {
			fault(r, seq,
			      "event %llu does not follow event %llu (its "
			      "link to it is broken)",
			      (unsigned long long)seq,
			      (unsigned long long)seq - 1);
		} else if (memcmp(sh, h, AUDIT_HASH_BYTES) != 0) {
			fault(r, seq,
			      "event %llu was changed after it was written",
			      (unsigned long long)seq);
		}
		/* go on from what the log holds, so one change is located
		 * once, not at every event after it */
		memcpy(prev,
		       sh != NULL &&
			       sqlite3_column_bytes(st, 6) == AUDIT_HASH_BYTES
			   ? sh
			   : h,
		       AUDIT_HASH_BYTES);
		expect = seq + 1;
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(a->db, d, a->path);
	sqlite3_finalize(st);
	st = NULL;
	/* The node's own signed heads. */
	if (rc == ST_OK &&
	    sqlite3_prepare_v2(a->db,
			       "SELECT seq, hash, at, key_id, sig FROM heads"
			       " ORDER BY seq, at",
			       -1, &st, NULL) != SQLITE_OK)
		rc = sql_diag(a->db, d, a->path);
	while (rc == ST_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		struct audit_head h;
		memset(&h, 0, sizeof(h));
		h.seq = (uint64_t)sqlite3_column_int64(st, 0);
		h.at = sqlite3_column_int64(st, 2);
		const char *kid = (const char *)sqlite3_column_text(st, 3);
		snprintf(h.key_id, sizeof(h.key_id), "%s", kid ? kid : "");
		r->heads++;
		if (sqlite3_column_bytes(st, 1) != AUDIT_HASH_BYTES ||
		    sqlite3_column_bytes(st, 4) != NODEKEY_SIG_BYTES) {
			fault(r, h.seq,
			      "the signed head of event %llu is "
			      "unreadable",
			      (unsigned long long)h.seq);
			continue;
		}
		memcpy(h.hash, sqlite3_column_blob(st, 1), AUDIT_HASH_BYTES);
		memcpy(h.sig, sqlite3_column_blob(st, 4), NODEKEY_SIG_BYTES);
		if (!head_signed(keys, &h))
			fault(r, h.seq,
			      "the signed head of event %llu has no good "
			      "signature by a key of this node",
			      (unsigned long long)h.seq);
		check_head(a, &h, last, "the node's", r);
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(a->db, d, a->path);
	sqlite3_finalize(st);
	/* Heads kept elsewhere. */
	for (size_t i = 0; rc == ST_OK && i < nwitnesses; i++) {
		const struct audit_head *w = &witnesses[i];
		r->heads++;
		if (w->key_id[0] != '\0' && !head_signed(keys, w))
			fault(r, w->seq,
			      "a witness's head of event %llu has no good "
			      "signature by a key of this node",
			      (unsigned long long)w->seq);
		check_head(a, w, last, "a witness's", r);
	}
	sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

static int exec_bind(sqlite3 *db, const char *sql, int64_t n)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, n);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	return rc;
}

int audit_rotate(struct audit *a, const struct nodekeys *keys, st_time at,
		 const char *dir, struct audit_head *cp, char *path, size_t cap,
		 struct diag *d)
{
	struct audit_head base, h;
	memset(&h, 0, sizeof(h));
	pthread_mutex_lock(&a->mu);
	int rc = load_last(a, d);
	uint64_t first = 1;
	if (rc == ST_OK && checkpoint_base(a, &base, NULL) == ST_OK)
		first = base.seq + 1;
	if (rc == ST_OK && a->last_seq < first)
		rc = diag_set(d, ST_ENOTFOUND,
			      "audit: no event since the last rotation");
	if (rc == ST_OK)
		rc = sign_last(a, keys, at, &h, d);
	if (rc == ST_OK && mkdir(dir, 0700) != 0 && errno != EEXIST)
		rc = diag_set(d, ST_EIO, "%s: %s", dir, strerror(errno));
	struct stat sb;
	if (rc == ST_OK && ((size_t)snprintf(path, cap, "%s/audit-%llu-%llu.db",
					     dir, (unsigned long long)first,
					     (unsigned long long)h.seq) >= cap))
		rc = diag_set(d, ST_EINVAL, "%s: path too long", dir);
	if (rc == ST_OK && stat(path, &sb) == 0)
		rc = diag_set(d, ST_EEXIST, "%s exists already: not replaced",
			      path);
	/* the archive: its schema, then what moves into it */
	struct audit *arc = NULL;
	bool made = false;
	if (rc == ST_OK) {
		rc = audit_open_path(path, &arc, d);
		made = rc == ST_OK;
	}
	audit_close(arc);
	bool attached = false;
	if (rc == ST_OK) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(a->db, "ATTACH ?1 AS arc", -1, &st,
				       NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
			attached = sqlite3_step(st) == SQLITE_DONE;
		}
		sqlite3_finalize(st);
		if (!attached)
			rc = sql_diag(a->db, d, path);
	}
	if (rc == ST_OK &&
	    (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
		 SQLITE_OK ||
	     exec_bind(a->db,
		       "INSERT INTO arc.events SELECT * FROM main.events"
		       " WHERE seq <= ?1",
		       (int64_t)h.seq) != SQLITE_OK ||
	     exec_bind(a->db,
		       "INSERT OR REPLACE INTO arc.heads SELECT * FROM"
		       " main.heads WHERE seq <= ?1",
		       (int64_t)h.seq) != SQLITE_OK ||
	     exec_bind(a->db,
		       "INSERT INTO arc.checkpoints SELECT * FROM"
		       " main.checkpoints WHERE seq < ?1",
		       (int64_t)h.seq) != SQLITE_OK))
		rc = sql_diag(a->db, d, path);
	/* the closing head, in the archive; the checkpoint in the live log,
	 * and the archived events out of it */
	if (rc == ST_OK)
		rc = put_head(a,
			      "INSERT OR REPLACE INTO arc.heads(seq, hash, at,"
			      " key_id, sig) VALUES(?1, ?2, ?3, ?4, ?5)",
			      &h, NULL, d);
	if (rc == ST_OK)
		rc = put_head(a,
			      "INSERT INTO main.checkpoints(seq, hash, at,"
			      " key_id, sig, archive) VALUES(?1, ?2, ?3, ?4,"
			      " ?5, ?6)",
			      &h, path, d);
	if (rc == ST_OK &&
	    (exec_bind(a->db, "DELETE FROM main.events WHERE seq <= ?1",
		       (int64_t)h.seq) != SQLITE_OK ||
	     exec_bind(a->db, "DELETE FROM main.heads WHERE seq <= ?1",
		       (int64_t)h.seq) != SQLITE_OK))
		rc = sql_diag(a->db, d, a->path);
	/* one transaction over both files: SQLite's super-journal makes
	 * the commit atomic across them */
	if (rc == ST_OK &&
	    sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = sql_diag(a->db, d, a->path);
	if (rc != ST_OK && attached)
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	if (attached)
		sqlite3_exec(a->db, "DETACH arc", NULL, NULL, NULL);
	/* nothing was moved: the archive file made for it is not left */
	if (rc != ST_OK && made)
		unlink(path);
	pthread_mutex_unlock(&a->mu);
	if (rc == ST_OK && cp != NULL)
		*cp = h;
	return rc;
}
