/*
 * strait: the SQLite backend's TAXII status resources. Puts are queued for
 * the writer, which writes them in its next transaction together with the
 * batches it takes (one commit for both); sq_status_put waits for that
 * commit, sq_status_put_async does not. Reads look at the statuses not
 * yet committed first, then take a pooled read connection and copy the
 * row out.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes one status; *taken false when the id belongs to another owner. */
static int status_write(struct sq_store *s, const struct store_status *in,
			bool *taken, struct diag *d)
{
	sqlite3_stmt *st = s->ws[W_STATUS_PUT];
	int rc = ST_OK;
	sqlite3_bind_text(st, 1, in->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, in->owner);
	sqlite3_bind_int64(st, 3, in->created);
	sqlite3_bind_int(st, 4, in->pending ? 1 : 0);
	sqlite3_bind_int64(st, 5, (int64_t)in->total);
	sqlite3_bind_int64(st, 6, (int64_t)in->success);
	sqlite3_bind_int64(st, 7, (int64_t)in->failure);
	sqlite3_bind_int64(st, 8, (int64_t)in->npending);
	sqlite3_bind_text(st, 9, in->lists != NULL ? in->lists : "",
			  (int)in->lists_len, SQLITE_STATIC);
	*taken = true;
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_diag(s->wdb, d, "put status");
	else if (sqlite3_changes(s->wdb) == 0)
		*taken = false; /* the id exists with another owner */
	sqlite3_reset(st);
	return rc;
}

int sq_status_write_tx(struct sq_store *s, struct sq_astatus *as, bool one,
		       struct diag *d)
{
	for (struct sq_astatus *a = as; a != NULL; a = one ? NULL : a->next) {
		bool ok;
		int rc = status_write(s, &a->st, &ok, d);
		if (rc != ST_OK) {
			diag_prefix(d, "status %s", a->st.id);
			return rc;
		}
		a->rc = ok ? ST_OK : ST_EEXIST;
		if (!ok && a->sync)
			diag_set(a->d, ST_EEXIST,
				 "status %s belongs to another account",
				 a->st.id);
		else if (!ok)
			log_warn("store",
				 "%s: status %s belongs to another account:"
				 " not stored",
				 s->path, a->st.id);
	}
	return ST_OK;
}

void sq_astatus_free(struct sq_astatus *a)
{
	if (a == NULL || a->sync)
		return;
	free(a->st.lists);
	free(a);
}

/* Queues a (mu held); false when closing. */
static bool status_enqueue(struct sq_store *s, struct sq_astatus *a)
{
	if (s->stopping)
		return false;
	a->next = NULL;
	if (s->as_tail != NULL)
		s->as_tail->next = a;
	else
		s->as_head = a;
	s->as_tail = a;
	s->as_queued++;
	pthread_cond_signal(&s->work_cv);
	return true;
}

int sq_status_put(struct store *st, const struct store_status *in,
		  struct diag *d)
{
	struct sq_store *s = SQ(st);
	struct sq_astatus a;
	memset(&a, 0, sizeof(a));
	a.st = *in; /* lists: the caller's, valid until we return */
	if (a.st.created == 0)
		a.st.created = time_now();
	a.sync = true;
	a.d = d;
	a.rc = ST_ESTORE;
	pthread_mutex_lock(&s->mu);
	if (!status_enqueue(s, &a)) {
		pthread_mutex_unlock(&s->mu);
		return diag_set(d, ST_ECLOSED, "store: closing");
	}
	while (!a.done)
		pthread_cond_wait(&s->done_cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	return a.rc;
}

int sq_status_put_async(struct store *st, const struct store_status *in,
			struct diag *d)
{
	struct sq_store *s = SQ(st);
	struct sq_astatus *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return diag_set(d, ST_ENOMEM, "store: no memory");
	a->st = *in;
	a->st.lists = malloc(in->lists_len + 1);
	if (a->st.lists == NULL) {
		free(a);
		return diag_set(d, ST_ENOMEM, "store: no memory");
	}
	if (in->lists_len > 0)
		memcpy(a->st.lists, in->lists, in->lists_len);
	a->st.lists[in->lists_len] = '\0';
	if (a->st.created == 0)
		a->st.created = time_now();
	a->rc = ST_ESTORE;
	pthread_mutex_lock(&s->mu);
	bool ok = status_enqueue(s, a);
	pthread_mutex_unlock(&s->mu);
	if (!ok) {
		sq_astatus_free(a);
		return diag_set(d, ST_ECLOSED, "store: closing");
	}
	return ST_OK;
}

/* The newest status with id in list l, or NULL. */
static const struct store_status *find_in(const struct sq_astatus *l,
					  const char *id)
{
	const struct store_status *found = NULL;
	for (; l != NULL; l = l->next)
		if (strcmp(l->st.id, id) == 0)
			found = &l->st;
	return found;
}

/*
 * A status not yet committed: copied to out (ST_OK), ST_ENOTFOUND when
 * there is none. Under mu: the writer removes a status from its list
 * only after the commit that stored it, so a status is always either
 * here or in the database for a read that starts after this one.
 */
static int get_uncommitted(struct sq_store *s, const char *id,
			   struct store_status *out, struct diag *d)
{
	int rc = ST_ENOTFOUND;
	pthread_mutex_lock(&s->mu);
	if (s->as_queued > 0) {
		const struct store_status *f = find_in(s->as_head, id);
		if (f == NULL)
			f = find_in(s->as_busy, id);
		if (f != NULL) {
			*out = *f;
			out->lists = malloc(f->lists_len + 1);
			if (out->lists == NULL) {
				rc = diag_set(d, ST_ENOMEM, "store: no memory");
			} else {
				if (f->lists_len > 0)
					memcpy(out->lists, f->lists,
					       f->lists_len);
				out->lists[f->lists_len] = '\0';
				rc = ST_OK;
			}
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int sq_status_get(struct store *st, const char *id, struct store_status *out,
		  struct diag *d)
{
	struct sq_store *s = SQ(st);
	int rc = get_uncommitted(s, id, out, d);
	if (rc != ST_ENOTFOUND)
		return rc;
	rc = ST_OK;
	struct sq_reader *r = sq_reader_get(s, d);
	sqlite3_stmt *q;
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
		rc = sql_diag(r->db, d, "status");
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
		rc = sql_diag(s->wdb, d, "purge status");
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
