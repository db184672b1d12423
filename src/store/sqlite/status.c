/*
 * strait: the SQLite backend's TAXII status resources. Writes are jobs of
 * the writer thread (durable when they return); reads take a pooled read
 * connection and copy the row out.
 */
#include "store/sqlite/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int status_put_job(struct sq_job *j)
{
	const struct store_status *in = j->arg;
	struct sq_store *s = j->s;
	sqlite3_stmt *st = s->ws[W_STATUS_PUT];
	int rc = ST_OK;
	st_time created = in->created != 0 ? in->created : time_now();
	sqlite3_bind_text(st, 1, in->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, in->owner);
	sqlite3_bind_int64(st, 3, created);
	sqlite3_bind_int(st, 4, in->pending ? 1 : 0);
	sqlite3_bind_int64(st, 5, (int64_t)in->total);
	sqlite3_bind_int64(st, 6, (int64_t)in->success);
	sqlite3_bind_int64(st, 7, (int64_t)in->failure);
	sqlite3_bind_int64(st, 8, (int64_t)in->npending);
	sqlite3_bind_text(st, 9, in->lists != NULL ? in->lists : "",
			  (int)in->lists_len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sq_diag(s->wdb, j->d, "put status");
	else if (sqlite3_changes(s->wdb) == 0)
		/* The id exists and belongs to another account. */
		rc = diag_set(j->d, ST_EEXIST,
			      "status %s belongs to another account", in->id);
	sqlite3_reset(st);
	return rc;
}

int sq_status_put(struct store *st, const struct store_status *in,
		  struct diag *d)
{
	/* const only for the caller: the job reads it. */
	union {
		const struct store_status *c;
		void *p;
	} arg = {.c = in};
	return sq_run_job(SQ(st), status_put_job, arg.p, d);
}

int sq_status_get(struct store *st, const char *id, struct store_status *out,
		  struct diag *d)
{
	struct sq_store *s = SQ(st);
	struct sq_reader *r = sq_reader_get(s, d);
	sqlite3_stmt *q;
	int rc = ST_OK;
	if (r == NULL)
		return ST_ESTORE;
	q = sq_reader_stmt(r, R_STATUS_GET, d);
	if (q == NULL) {
		rc = ST_ESTORE;
		goto out;
	}
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	int src = sqlite3_step(q);
	if (src == SQLITE_ROW) {
		/* Columns: owner, created, pending, total, success,
		 * failure, npending, lists. */
		size_t n = (size_t)sqlite3_column_bytes(q, 7);
		const unsigned char *l = sqlite3_column_text(q, 7);
		out->lists = malloc(n + 1);
		if (out->lists == NULL) {
			rc = diag_set(d, ST_ENOMEM, "store: no memory");
		} else {
			if (n > 0)
				memcpy(out->lists, l, n);
			out->lists[n] = '\0';
			out->lists_len = n;
			snprintf(out->id, sizeof(out->id), "%s", id);
			out->owner = sqlite3_column_int64(q, 0);
			out->created = sqlite3_column_int64(q, 1);
			out->pending = sqlite3_column_int(q, 2) != 0;
			out->total = (uint64_t)sqlite3_column_int64(q, 3);
			out->success = (uint64_t)sqlite3_column_int64(q, 4);
			out->failure = (uint64_t)sqlite3_column_int64(q, 5);
			out->npending = (uint64_t)sqlite3_column_int64(q, 6);
		}
	} else if (src == SQLITE_DONE) {
		rc = diag_set(d, ST_ENOTFOUND, "status %s: not found", id);
	} else {
		rc = sq_diag(r->db, d, "status");
	}
	sqlite3_reset(q);
out:
	sq_reader_put(s, r);
	return rc;
}

int sq_status_purge_tx(struct sq_store *s, st_time before, size_t *purged,
		       struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_STATUS_PURGE];
	int rc = ST_OK;
	sqlite3_bind_int64(st, 1, before);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sq_diag(s->wdb, d, "purge status");
	else if (purged != NULL)
		*purged = (size_t)sqlite3_changes(s->wdb);
	sqlite3_reset(st);
	return rc;
}

struct purge_arg {
	st_time before;
	size_t purged;
};

static int status_purge_job(struct sq_job *j)
{
	struct purge_arg *a = j->arg;
	return sq_status_purge_tx(j->s, a->before, &a->purged, j->d);
}

int sq_status_purge(struct store *st, st_time before, size_t *purged,
		    struct diag *d)
{
	struct purge_arg a = {before, 0};
	int rc = sq_run_job(SQ(st), status_purge_job, &a, d);
	*purged = rc == ST_OK ? a.purged : 0;
	return rc;
}
