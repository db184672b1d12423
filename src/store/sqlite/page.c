/*
 * strait: the SQLite backend's TAXII pages and log reads.
 *
 * A page walks one collection along its (cid, date_added) key in chunks.
 * Each chunk is one short read transaction: first the chunk's range is
 * fixed by reading up to `chunk` membership keys (index only), then the
 * rows of that range that pass the filters are read and offered to the
 * caller's visibility function. So every statement examines a bounded
 * number of memberships, whatever the filters, and the position reached is
 * known even when nothing in the chunk matched. Chunks grow geometrically
 * from limit + 1 (the probe for `more` is then usually in the first one).
 *
 * With match[id], the candidates are the ids' member versions, found
 * through the key index: one statement, bounded by those versions.
 *
 * "last" and "first" are decided by the membership's own mflags, which
 * the writer keeps (sqlite.c): no lookup per row.
 */
#include "store/sqlite/sqlite_int.h"

#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

#define BUDGET_FACTOR 10
#define BUDGET_MIN 10000
#define CHUNK_MIN 64
#define CHUNK_MAX 8192

/* Bind parameter numbers of the page statement. */
#define P_CID 1
#define P_FROM 2 /* date_added > ?2 */
#define P_UPTO 3 /* date_added <= ?3 */
#define P_TYPES 10
#define P_AT (P_TYPES + STORE_MATCH_MAX)
#define P_IDS (P_AT + STORE_MATCH_MAX) /* uuid, type pairs */

/* Result columns of the page statement. */
enum {
	C_DATE,
	C_SEQ,
	C_TYPE,
	C_UUID,
	C_VERSION,
	C_TLP,
	C_FLAGS,
	C_BODY,
	C_WARN,
	C_PROV
};

static int build_sql(struct buf *sql, const struct store_page_query *q,
		     size_t nids, size_t ncodes)
{
	buf_printf(sql,
		   "SELECT m.date_added, v.seq, v.type, v.uuid, v.version,"
		   " v.tlp, v.flags, %s, v.warnings, v.prov",
		   (q->flags & STORE_PAGE_NO_BODY) ? "NULL" : "v.body");
	if (nids > 0) {
		/* The ids' versions from both key tables (sqlite.c). */
		buf_adds(sql, " FROM (");
		for (int t = 0; t < 2; t++) {
			buf_printf(sql, "%sSELECT seq FROM %s WHERE ",
				   t ? " UNION ALL " : "",
				   t ? "keys_recent" : "keys_main");
			for (size_t i = 0; i < nids; i++)
				buf_printf(sql,
					   "%s(uuid = ?%zu AND type = ?%zu)",
					   i ? " OR " : "", P_IDS + 2 * i,
					   P_IDS + 2 * i + 1);
		}
		buf_adds(sql, ") k CROSS JOIN versions v ON v.seq = k.seq"
			      " CROSS JOIN membership m"
			      " ON m.seq = v.seq AND m.cid = ?1"
			      " WHERE m.date_added > ?2");
	} else {
		buf_adds(sql, " FROM membership m"
			      " CROSS JOIN versions v ON v.seq = m.seq"
			      " WHERE m.cid = ?1 AND m.date_added > ?2"
			      " AND m.date_added <= ?3");
	}
	if (ncodes > 0) {
		buf_adds(sql, " AND v.type IN (");
		for (size_t i = 0; i < ncodes; i++)
			buf_printf(sql, "%s?%zu", i ? ", " : "", P_TYPES + i);
		buf_adds(sql, ")");
	}
	unsigned sel = q->version.sel;
	if (sel == 0 && q->version.nat == 0)
		sel = STORE_VM_LAST;
	if (!(sel & STORE_VM_ALL)) {
		const char * or = "";
		buf_adds(sql, " AND (");
		if (sel & STORE_VM_LAST) {
			buf_printf(sql, "(m.mflags & %d) = 0", MF_NOT_LAST);
			or = " OR ";
		}
		if (sel & STORE_VM_FIRST) {
			buf_printf(sql, "%s(m.mflags & %d) = 0", or,
				   MF_NOT_FIRST);
			or = " OR ";
		}
		if (q->version.nat > 0) {
			buf_printf(sql, "%sv.version IN (", or);
			for (size_t i = 0; i < q->version.nat; i++)
				buf_printf(sql, "%s?%zu", i ? ", " : "",
					   P_AT + i);
			buf_adds(sql, ")");
		}
		buf_adds(sql, ")");
	}
	return buf_adds(sql, " ORDER BY m.date_added");
}

/* A page in progress. */
struct page {
	const struct store_page_query *q;
	store_row_fn fn;
	void *ctx;
	struct store_page_result *res;
	bool stop; /* the page is complete (or fn stopped it) */
	int fn_rc;
};

/*
 * Offers the rows of one statement to the caller; updates the result.
 * *seen receives the date_added of the last row read (0 if none).
 */
static int take_rows(struct sq_reader *r, sqlite3_stmt *qs, struct page *p,
		     size_t *nrows, st_time *seen, struct diag *d)
{
	const struct store_page_query *q = p->q;
	struct store_page_result *res = p->res;
	int rc = ST_OK, src;
	*nrows = 0;
	*seen = 0;
	while ((src = sqlite3_step(qs)) == SQLITE_ROW) {
		struct store_row row;
		row.id = sq_row_id(r, sqlite3_column_int64(qs, C_TYPE),
				   sqlite3_column_blob(qs, C_UUID),
				   sqlite3_column_bytes(qs, C_UUID));
		if (row.id == NULL) {
			rc = diag_set(
			    d, ST_ESTORE, "page: malformed row at seq %lld",
			    (long long)sqlite3_column_int64(qs, C_SEQ));
			break;
		}
		row.date_added = sqlite3_column_int64(qs, C_DATE);
		row.seq = (uint64_t)sqlite3_column_int64(qs, C_SEQ);
		row.version = sqlite3_column_int64(qs, C_VERSION);
		row.tlp = (uint8_t)sqlite3_column_int(qs, C_TLP);
		row.flags = (uint8_t)sqlite3_column_int(qs, C_FLAGS);
		if (q->flags & STORE_PAGE_NO_BODY) {
			row.body = NULL;
			row.body_len = 0;
		} else {
			row.body =
			    (const char *)sqlite3_column_text(qs, C_BODY);
			row.body_len = (size_t)sqlite3_column_bytes(qs, C_BODY);
		}
		row.warnings = (const char *)sqlite3_column_text(qs, C_WARN);
		row.prov = sqlite3_column_blob(qs, C_PROV);
		row.prov_len = (size_t)sqlite3_column_bytes(qs, C_PROV);
		row.spec_version = STORE_SPEC_VERSION;
		(*nrows)++;
		*seen = row.date_added;
		bool vis =
		    q->visible == NULL || q->visible(q->visible_ctx, &row);
		if (!vis)
			continue;
		if (res->rows == q->limit) {
			/* The probe: a further visible row exists. Resume
			 * just before it (skipping the hidden rows read). */
			res->more = true;
			res->next = row.date_added - 1;
			p->stop = true;
			break;
		}
		if (res->rows == 0)
			res->first = row.date_added;
		res->last = row.date_added;
		res->next = row.date_added;
		res->rows++;
		p->fn_rc = p->fn(p->ctx, &row);
		if (p->fn_rc != 0) {
			p->stop = true;
			break;
		}
	}
	if (rc == ST_OK && !p->stop && src != SQLITE_DONE)
		rc = sql_diag(r->db, d, "page");
	sqlite3_reset(qs);
	return rc;
}

/*
 * Fixes the next chunk: reads up to chunk membership keys after from;
 * *n gets how many, *upto the last one's date_added.
 */
static int chunk_range(struct sq_reader *r, int64_t cid, st_time from,
		       size_t chunk, size_t *n, st_time *upto, struct diag *d)
{
	sqlite3_stmt *st = sq_reader_stmt(r, R_PAGE_RANGE, d);
	int rc = ST_OK, src;
	if (st == NULL)
		return ST_ESTORE;
	*n = 0;
	*upto = from;
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, (int64_t)chunk);
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		*upto = sqlite3_column_int64(st, 0);
		(*n)++;
	}
	if (src != SQLITE_DONE)
		rc = sql_diag(r->db, d, "page range");
	sqlite3_reset(st);
	return rc;
}

/* Binds what every execution of the page statement shares. */
static void bind_common(sqlite3_stmt *qs, const struct store_page_query *q,
			const int64_t *codes, size_t ncodes,
			const uint8_t (*uuids)[16], const int64_t *idcodes,
			size_t nids)
{
	sqlite3_bind_int64(qs, P_CID, q->cid);
	for (size_t i = 0; i < ncodes; i++)
		sqlite3_bind_int64(qs, (int)(P_TYPES + i), codes[i]);
	for (size_t i = 0; i < q->version.nat; i++)
		sqlite3_bind_int64(qs, (int)(P_AT + i), q->version.at[i]);
	for (size_t i = 0; i < nids; i++) {
		sqlite3_bind_blob(qs, (int)(P_IDS + 2 * i), uuids[i], 16,
				  SQLITE_STATIC);
		sqlite3_bind_int64(qs, (int)(P_IDS + 2 * i + 1), idcodes[i]);
	}
}

int sq_page(struct store *st, const struct store_page_query *q, store_row_fn fn,
	    void *ctx, struct store_page_result *res, struct diag *d)
{
	struct sq_store *s = SQ(st);
	struct buf sql = BUF_INIT(16384);
	struct sq_reader *r = NULL;
	sqlite3_stmt *qs = NULL;
	int64_t codes[STORE_MATCH_MAX], idcodes[STORE_MATCH_MAX];
	uint8_t uuids[STORE_MATCH_MAX][16];
	size_t ncodes = 0, nids = 0;
	struct page p = {q, fn, ctx, res, false, 0};
	int rc;

	r = sq_reader_get(s, d);
	if (r == NULL)
		return ST_ESTORE;
	rc = sq_read_begin(r, d);
	if (rc != ST_OK)
		goto out;
	/* Names to codes. Codes are never removed or changed, so these
	 * hold in every later transaction of this page. */
	for (size_t i = 0; rc == ST_OK && i < q->nids; i++) {
		size_t tl;
		if (store_id_split(q->ids[i], &tl, uuids[nids]) != ST_OK) {
			rc = diag_set(d, ST_EINVAL, "page: invalid id");
			break;
		}
		rc = sq_type_code(r, q->ids[i], tl, &idcodes[nids], d);
		if (rc == ST_OK && idcodes[nids] != 0)
			nids++;
	}
	for (size_t i = 0; rc == ST_OK && i < q->ntypes; i++) {
		int64_t c;
		rc = sq_type_code(r, q->types[i], strlen(q->types[i]), &c, d);
		if (rc == ST_OK && c != 0)
			codes[ncodes++] = c;
	}
	sq_read_end(r);
	if (rc != ST_OK)
		goto out;
	/* An id or a type the store has never seen matches nothing. */
	if ((q->nids > 0 && nids == 0) || (q->ntypes > 0 && ncodes == 0))
		goto out;

	rc = build_sql(&sql, q, nids, ncodes);
	if (rc != ST_OK) {
		rc = diag_set(d, rc, "page: query too long");
		goto out;
	}
	qs = sq_shape_stmt(r, sql.data, d);
	if (qs == NULL) {
		rc = ST_ESTORE;
		goto out;
	}
	bind_common(qs, q, codes, ncodes, (const uint8_t(*)[16])uuids, idcodes,
		    nids);

	st_time from = res->next; /* max(after, added_after) */
	if (nids > 0) {
		/* Bounded by the ids' versions: one transaction. */
		size_t n;
		st_time seen;
		rc = sq_read_begin(r, d);
		if (rc != ST_OK)
			goto out;
		sqlite3_bind_int64(qs, P_FROM, from);
		rc = take_rows(r, qs, &p, &n, &seen, d);
		sq_read_end(r);
		res->examined = n;
		if (!p.stop && seen > res->next)
			res->next = seen;
		goto out;
	}

	size_t budget = q->budget;
	if (budget == 0) {
		budget = q->limit < SIZE_MAX / BUDGET_FACTOR
			     ? q->limit * BUDGET_FACTOR
			     : SIZE_MAX;
		if (budget < BUDGET_MIN)
			budget = BUDGET_MIN;
	}
	size_t chunk = q->limit < CHUNK_MAX ? q->limit + 1 : CHUNK_MAX;
	if (chunk < CHUNK_MIN)
		chunk = CHUNK_MIN;
	for (;;) {
		size_t n, nrows;
		st_time upto, seen;
		rc = sq_read_begin(r, d);
		if (rc != ST_OK)
			break;
		rc = chunk_range(r, q->cid, from, chunk, &n, &upto, d);
		if (rc == ST_OK && n > 0) {
			sqlite3_bind_int64(qs, P_FROM, from);
			sqlite3_bind_int64(qs, P_UPTO, upto);
			rc = take_rows(r, qs, &p, &nrows, &seen, d);
		}
		sq_read_end(r);
		if (rc != ST_OK || p.stop)
			break;
		res->examined += n;
		from = upto;
		res->next = upto;
		if (n < chunk) {
			/* The end of the collection. */
			res->more = false;
			break;
		}
		if (res->examined >= budget && res->rows > 0) {
			/* Out of budget: what we have, and go on later. */
			res->more = true;
			break;
		}
		if (q->scan_max != 0 && res->examined >= q->scan_max &&
		    res->rows == 0) {
			res->capped = true;
			break;
		}
		if (chunk < CHUNK_MAX)
			chunk = chunk * 2 < CHUNK_MAX ? chunk * 2 : CHUNK_MAX;
	}
out:
	if (qs != NULL)
		sqlite3_clear_bindings(qs);
	sq_reader_put(s, r);
	buf_free(&sql);
	if (rc == ST_OK && p.fn_rc != 0)
		rc = p.fn_rc;
	return rc;
}

/* ------------------------------------------------------------------ */
/* The log in seq order                                                 */
/* ------------------------------------------------------------------ */

int sq_log_read(struct store *st, uint64_t after_seq, size_t limit, int64_t cid,
		store_row_fn fn, void *ctx, uint64_t *last_seq, struct diag *d)
{
	struct sq_store *s = SQ(st);
	struct sq_reader *r = sq_reader_get(s, d);
	sqlite3_stmt *qs;
	uint64_t last = after_seq;
	int rc, src;
	if (r == NULL)
		return ST_ESTORE;
	rc = sq_read_begin(r, d);
	if (rc != ST_OK)
		goto out;
	qs = sq_reader_stmt(r, cid != 0 ? R_LOG_COLL : R_LOG, d);
	if (qs == NULL) {
		rc = ST_ESTORE;
		goto end;
	}
	sqlite3_bind_int64(qs, 1, (int64_t)after_seq);
	sqlite3_bind_int64(qs, 2, limit < INT64_MAX ? (int64_t)limit : -1);
	if (cid != 0)
		sqlite3_bind_int64(qs, 3, cid);
	/* Columns: seq, type, uuid, version, tlp, flags, body, warnings,
	 * date_added (NULL: not a member of cid). */
	while ((src = sqlite3_step(qs)) == SQLITE_ROW) {
		struct store_row row;
		last = (uint64_t)sqlite3_column_int64(qs, 0);
		if (cid != 0 && sqlite3_column_type(qs, 8) == SQLITE_NULL)
			continue;
		row.id = sq_row_id(r, sqlite3_column_int64(qs, 1),
				   sqlite3_column_blob(qs, 2),
				   sqlite3_column_bytes(qs, 2));
		if (row.id == NULL) {
			rc = diag_set(d, ST_ESTORE,
				      "log: malformed row at seq %llu",
				      (unsigned long long)last);
			break;
		}
		sq_row_columns(qs, &row);
		rc = fn(ctx, &row);
		if (rc != 0)
			break;
	}
	if (rc == ST_OK && src != SQLITE_DONE)
		rc = sql_diag(r->db, d, "log");
	sqlite3_reset(qs);
end:
	sq_read_end(r);
out:
	sq_reader_put(s, r);
	if (last_seq != NULL)
		*last_seq = last;
	return rc;
}
